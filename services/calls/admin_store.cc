#include "services/calls/admin_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/calls/admin_validation.h"

namespace contactcentre::calls {
namespace {

using common::InvalidArgumentError;
using common::PgTextArray;

constexpr int kQueueKind = 1;
constexpr int kOperatorKind = 2;

constexpr char kZeroUuid[] = "00000000-0000-0000-0000-000000000000";

// A timestamptz column as exact microseconds since the epoch.
#define CALLS_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// An exact microsecond time as an SQL expression of parameter n (no floating point).
std::string MicrosParam(int n) {
  return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')");
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// The etag is the row's revision; clients treat it as opaque.
std::string Etag(int64_t revision) { return absl::StrCat(revision); }

// ABORTED "ETAG_MISMATCH" when an etag was given and is not the stored one.
absl::Status CheckEtag(absl::string_view given, absl::string_view stored,
                       absl::string_view resource) {
  if (given.empty() || given == stored) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("ETAG_MISMATCH: ", resource,
                                         " changed since it was read (etag ", given, ", now ",
                                         stored, "); read it again and reapply the change"));
}

std::string PgIntArray(const std::vector<int>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

// The elements of a one-dimensional array field as text (NULL elements skipped).
std::vector<std::string> ArrayField(const pqxx::field& field) {
  std::vector<std::string> values;
  if (field.is_null()) return values;
  pqxx::array_parser parser = field.as_array();
  for (;;) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::juncture::done) break;
    if (juncture == pqxx::array_parser::juncture::string_value) values.push_back(std::move(value));
  }
  return values;
}

std::vector<int> IntArrayField(const pqxx::field& field) {
  std::vector<int> values;
  for (const std::string& text : ArrayField(field)) {
    int value = 0;
    if (absl::SimpleAtoi(text, &value)) values.push_back(value);
  }
  return values;
}

google::protobuf::Duration DurationFromMillis(int64_t millis) {
  google::protobuf::Duration duration;
  duration.set_seconds(millis / 1000);
  duration.set_nanos(static_cast<int32_t>((millis % 1000) * 1000000));
  return duration;
}

int64_t MillisOf(const google::protobuf::Duration& duration) {
  return duration.seconds() * 1000 + duration.nanos() / 1000000;
}

template <typename Message>
absl::StatusOr<Message> Replay(const std::string& bytes) {
  Message message;
  if (!message.ParseFromString(bytes)) return absl::InternalError("stored answer is corrupt");
  return message;
}

// A page-token scope for `method` and the filters of a list request (with the paging fields
// cleared by the caller), stable across processes and replicas (FNV-1a, unlike std::hash).
std::string PageScope(absl::string_view method, const google::protobuf::Message& filters) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : common::DeterministicBytes(filters)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return absl::StrCat(method, ":", absl::Hex(hash));
}

// Keyset cursor of lists ordered by display name: "<id>|<display_name>".
struct NameCursor {
  bool first_page = true;
  std::string id = kZeroUuid;
  std::string display_name;
};

absl::StatusOr<NameCursor> ParseNameCursor(absl::string_view cursor) {
  NameCursor parsed;
  if (cursor.empty()) return parsed;
  const size_t bar = cursor.find('|');
  if (bar == absl::string_view::npos || !common::IsCanonicalUuid(cursor.substr(0, bar))) {
    return InvalidArgumentError("page_token", "malformed");
  }
  parsed.first_page = false;
  parsed.id = std::string(cursor.substr(0, bar));
  parsed.display_name = std::string(cursor.substr(bar + 1));
  return parsed;
}

std::string NameCursorOf(absl::string_view id, absl::string_view display_name) {
  return absl::StrCat(id, "|", display_name);
}

// The id of a resource name already checked by ParseResourceId.
std::string IdOf(absl::string_view name) { return std::string(name.substr(name.find('/') + 1)); }

std::string RoleName(int role) {
  switch (role) {
    case v1::OPERATOR_ROLE_SUPERVISOR:
      return "SUPERVISOR";
    case v1::OPERATOR_ROLE_ADMIN:
      return "ADMIN";
    default:
      return "OPERATOR";
  }
}

// ---- Rows to resources -------------------------------------------------------------------

constexpr char kSkillColumns[] =
    "k.id::text, k.display_name, k.description, k.revision, " CALLS_MICROS(
        "k.create_time") ", " CALLS_MICROS("k.update_time");

v1::Skill ReadSkill(const pqxx::row& row) {
  v1::Skill skill;
  skill.set_name(ResourceName(kSkills, row[0].as<std::string>()));
  skill.set_display_name(row[1].as<std::string>());
  skill.set_description(row[2].as<std::string>());
  skill.set_etag(Etag(row[3].as<int64_t>()));
  *skill.mutable_create_time() = common::TimestampFromMicros(row[4].as<int64_t>());
  *skill.mutable_update_time() = common::TimestampFromMicros(row[5].as<int64_t>());
  return skill;
}

constexpr char kTeamColumns[] =
    "t.id::text, t.site, t.display_name, t.revision, " CALLS_MICROS(
        "t.create_time") ", " CALLS_MICROS("t.update_time") ", "
                             "ARRAY(SELECT ts.operator_id::text FROM team_supervisors ts "
                             "WHERE ts.team_id = t.id ORDER BY ts.position)";

v1::Team ReadTeam(const pqxx::row& row) {
  v1::Team team;
  team.set_name(ResourceName(kTeams, row[0].as<std::string>()));
  team.set_site(row[1].as<std::string>());
  team.set_display_name(row[2].as<std::string>());
  team.set_etag(Etag(row[3].as<int64_t>()));
  *team.mutable_create_time() = common::TimestampFromMicros(row[4].as<int64_t>());
  *team.mutable_update_time() = common::TimestampFromMicros(row[5].as<int64_t>());
  for (const std::string& id : ArrayField(row[6]))
    team.add_supervisors(ResourceName(kOperators, id));
  return team;
}

constexpr char kOperatorColumns[] =
    "o.id::text, o.site, o.login, o.display_name, o.role, coalesce(o.team_id::text, ''), "
    "o.endpoint, o.languages, o.disabled, o.revision, " CALLS_MICROS(
        "o.create_time") ", " CALLS_MICROS("o.update_time") ", "
                             "coalesce(" CALLS_MICROS("o.delete_time") ", 0), "
                             "o.delete_time IS NOT NULL, "
                             "ARRAY(SELECT s.skill_id::text FROM operator_skills s "
                             "WHERE s.operator_id = o.id ORDER BY s.position), "
                             "ARRAY(SELECT s.level FROM operator_skills s "
                             "WHERE s.operator_id = o.id ORDER BY s.position)";

v1::Operator ReadOperator(const pqxx::row& row) {
  v1::Operator op;
  op.set_name(ResourceName(kOperators, row[0].as<std::string>()));
  op.set_site(row[1].as<std::string>());
  op.set_login(row[2].as<std::string>());
  op.set_display_name(row[3].as<std::string>());
  op.set_role(static_cast<v1::OperatorRole>(row[4].as<int>()));
  if (const std::string team = row[5].as<std::string>(); !team.empty()) {
    op.set_team(ResourceName(kTeams, team));
  }
  op.set_endpoint(row[6].as<std::string>());
  for (std::string& language : ArrayField(row[7])) op.add_languages(std::move(language));
  op.set_disabled(row[8].as<bool>());
  op.set_etag(Etag(row[9].as<int64_t>()));
  *op.mutable_create_time() = common::TimestampFromMicros(row[10].as<int64_t>());
  *op.mutable_update_time() = common::TimestampFromMicros(row[11].as<int64_t>());
  if (row[13].as<bool>()) {
    *op.mutable_delete_time() = common::TimestampFromMicros(row[12].as<int64_t>());
  }
  const std::vector<std::string> skills = ArrayField(row[14]);
  const std::vector<int> levels = IntArrayField(row[15]);
  for (size_t i = 0; i < skills.size() && i < levels.size(); ++i) {
    v1::SkillLevel* skill = op.add_skills();
    skill->set_skill(ResourceName(kSkills, skills[i]));
    skill->set_level(levels[i]);
  }
  return op;
}

constexpr char kQueueColumns[] =
    "q.id::text, q.site, q.display_name, q.description, q.strategy, q.ring_timeout_ms, "
    "q.wrap_up_time_limit_ms, q.max_misses_before_not_ready, q.service_level_threshold_ms, "
    "q.service_level_target_percent, q.short_abandon_threshold_ms, "
    "coalesce(q.de_escalation_skill_id::text, ''), q.de_escalation_min_level, q.opening_hours, "
    "q.default_priority, q.vip_priority_boost, q.tier_wait_ms, "
    "coalesce(q.overflow_max_wait_ms, -1), q.overflow_max_waiting_calls, "
    "coalesce(q.overflow_target_queue_id::text, ''), q.overflow_forward_e164, "
    "q.overflow_forward_raw, q.overflow_announcement, q.revision, " CALLS_MICROS(
        "q.create_time") ", " CALLS_MICROS("q.update_time") ", "
                             "coalesce(" CALLS_MICROS("q.delete_time") ", 0), "
                             "q.delete_time IS NOT NULL, "
                             "ARRAY(SELECT r.skill_id::text FROM queue_required_skills r "
                             "WHERE r.queue_id = q.id ORDER BY r.position), "
                             "ARRAY(SELECT r.level FROM queue_required_skills r "
                             "WHERE r.queue_id = q.id ORDER BY r.position), "
                             "ARRAY(SELECT d.e164 FROM queue_dialled_numbers d "
                             "WHERE d.queue_id = q.id ORDER BY d.position), "
                             "ARRAY(SELECT d.raw FROM queue_dialled_numbers d "
                             "WHERE d.queue_id = q.id ORDER BY d.position), "
                             "ARRAY(SELECT c.code FROM queue_disposition_codes c "
                             "WHERE c.queue_id = q.id ORDER BY c.position), "
                             "ARRAY(SELECT c.label FROM queue_disposition_codes c "
                             "WHERE c.queue_id = q.id ORDER BY c.position), "
                             "ARRAY(SELECT c.effect FROM queue_disposition_codes c "
                             "WHERE c.queue_id = q.id ORDER BY c.position), "
                             "ARRAY(SELECT c.disabled::int FROM queue_disposition_codes c "
                             "WHERE c.queue_id = q.id ORDER BY c.position)";

v1::Queue ReadQueue(const pqxx::row& row) {
  v1::Queue queue;
  queue.set_name(ResourceName(kQueues, row[0].as<std::string>()));
  queue.set_site(row[1].as<std::string>());
  queue.set_display_name(row[2].as<std::string>());
  queue.set_description(row[3].as<std::string>());
  queue.set_strategy(static_cast<v1::QueueStrategy>(row[4].as<int>()));
  *queue.mutable_ring_timeout() = DurationFromMillis(row[5].as<int64_t>());
  *queue.mutable_wrap_up_time_limit() = DurationFromMillis(row[6].as<int64_t>());
  queue.set_max_misses_before_not_ready(row[7].as<int>());
  *queue.mutable_service_level_threshold() = DurationFromMillis(row[8].as<int64_t>());
  queue.set_service_level_target_percent(row[9].as<int>());
  *queue.mutable_short_abandon_threshold() = DurationFromMillis(row[10].as<int64_t>());
  if (const std::string skill = row[11].as<std::string>(); !skill.empty()) {
    queue.set_de_escalation_skill(ResourceName(kSkills, skill));
  }
  queue.set_de_escalation_min_level(row[12].as<int>());
  if (!row[13].is_null()) queue.mutable_opening_hours()->ParseFromString(common::BytesOf(row[13]));
  queue.set_default_priority(row[14].as<int>());
  queue.set_vip_priority_boost(row[15].as<int>());
  *queue.mutable_tier_wait() = DurationFromMillis(row[16].as<int64_t>());
  v1::QueueOverflow overflow;
  if (const int64_t max_wait = row[17].as<int64_t>(); max_wait >= 0) {
    *overflow.mutable_max_wait_time() = DurationFromMillis(max_wait);
  }
  overflow.set_max_waiting_calls(row[18].as<int>());
  if (const std::string target = row[19].as<std::string>(); !target.empty()) {
    overflow.set_target_queue(ResourceName(kQueues, target));
  }
  if (const std::string e164 = row[20].as<std::string>(); !e164.empty()) {
    overflow.mutable_forward_number()->set_e164(e164);
    overflow.mutable_forward_number()->set_raw(row[21].as<std::string>());
  }
  overflow.set_announcement(row[22].as<std::string>());
  if (overflow.ByteSizeLong() > 0) *queue.mutable_overflow() = std::move(overflow);
  queue.set_etag(Etag(row[23].as<int64_t>()));
  *queue.mutable_create_time() = common::TimestampFromMicros(row[24].as<int64_t>());
  *queue.mutable_update_time() = common::TimestampFromMicros(row[25].as<int64_t>());
  if (row[27].as<bool>()) {
    *queue.mutable_delete_time() = common::TimestampFromMicros(row[26].as<int64_t>());
  }
  const std::vector<std::string> skills = ArrayField(row[28]);
  const std::vector<int> levels = IntArrayField(row[29]);
  for (size_t i = 0; i < skills.size() && i < levels.size(); ++i) {
    v1::SkillLevel* skill = queue.add_required_skills();
    skill->set_skill(ResourceName(kSkills, skills[i]));
    skill->set_level(levels[i]);
  }
  const std::vector<std::string> numbers = ArrayField(row[30]);
  const std::vector<std::string> raws = ArrayField(row[31]);
  for (size_t i = 0; i < numbers.size(); ++i) {
    common::v1::PhoneNumber* number = queue.add_dialled_numbers();
    number->set_e164(numbers[i]);
    if (i < raws.size()) number->set_raw(raws[i]);
  }
  const std::vector<std::string> codes = ArrayField(row[32]);
  const std::vector<std::string> labels = ArrayField(row[33]);
  const std::vector<int> effects = IntArrayField(row[34]);
  const std::vector<int> disabled = IntArrayField(row[35]);
  for (size_t i = 0;
       i < codes.size() && i < labels.size() && i < effects.size() && i < disabled.size(); ++i) {
    v1::DispositionCode* code = queue.add_disposition_codes();
    code->set_code(codes[i]);
    code->set_label(labels[i]);
    code->set_effect(static_cast<v1::DispositionEffect>(effects[i]));
    code->set_disabled(disabled[i] != 0);
  }
  return queue;
}

constexpr char kMembershipColumns[] =
    "m.queue_id::text, m.operator_id::text, m.tier, m.penalty, m.skill_level, m.paused, "
    "m.revision, " CALLS_MICROS("m.create_time") ", " CALLS_MICROS("m.update_time");

v1::QueueMembership ReadMembership(const pqxx::row& row) {
  v1::QueueMembership membership;
  const std::string queue_id = row[0].as<std::string>();
  const std::string operator_id = row[1].as<std::string>();
  membership.set_name(MembershipName(queue_id, operator_id));
  membership.set_operator_(ResourceName(kOperators, operator_id));
  membership.set_tier(row[2].as<int>());
  membership.set_penalty(row[3].as<int>());
  membership.set_skill_level(row[4].as<int>());
  membership.set_paused(row[5].as<bool>());
  membership.set_etag(Etag(row[6].as<int64_t>()));
  *membership.mutable_create_time() = common::TimestampFromMicros(row[7].as<int64_t>());
  *membership.mutable_update_time() = common::TimestampFromMicros(row[8].as<int64_t>());
  return membership;
}

// ---- Loading by id -----------------------------------------------------------------------

absl::Status NotFound(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat(name, " does not exist"));
}

absl::StatusOr<v1::Skill> LoadSkill(pqxx::transaction_base& txn, const std::string& id,
                                    bool for_update) {
  pqxx::result rows =
      txn.exec_params(absl::StrCat("SELECT ", kSkillColumns, " FROM skills k WHERE k.id = $1::uuid",
                                   for_update ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty()) return NotFound(ResourceName(kSkills, id));
  return ReadSkill(rows[0]);
}

absl::StatusOr<v1::Team> LoadTeam(pqxx::transaction_base& txn, const std::string& id,
                                  bool for_update) {
  pqxx::result rows =
      txn.exec_params(absl::StrCat("SELECT ", kTeamColumns, " FROM teams t WHERE t.id = $1::uuid",
                                   for_update ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty()) return NotFound(ResourceName(kTeams, id));
  return ReadTeam(rows[0]);
}

absl::StatusOr<v1::Operator> LoadOperator(pqxx::transaction_base& txn, const std::string& id,
                                          bool for_update) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kOperatorColumns, " FROM operators o WHERE o.id = $1::uuid",
                   for_update ? " FOR UPDATE" : ""),
      id);
  if (rows.empty()) return NotFound(ResourceName(kOperators, id));
  return ReadOperator(rows[0]);
}

absl::StatusOr<v1::Queue> LoadQueue(pqxx::transaction_base& txn, const std::string& id,
                                    bool for_update) {
  pqxx::result rows =
      txn.exec_params(absl::StrCat("SELECT ", kQueueColumns, " FROM queues q WHERE q.id = $1::uuid",
                                   for_update ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty()) return NotFound(ResourceName(kQueues, id));
  return ReadQueue(rows[0]);
}

absl::StatusOr<v1::QueueMembership> LoadMembership(pqxx::transaction_base& txn,
                                                   const MembershipKey& key, bool for_update) {
  pqxx::result rows =
      txn.exec_params(absl::StrCat("SELECT ", kMembershipColumns,
                                   " FROM queue_memberships m WHERE m.queue_id = $1::uuid AND "
                                   "m.operator_id = $2::uuid",
                                   for_update ? " FOR UPDATE" : ""),
                      key.queue_id, key.operator_id);
  if (rows.empty()) return NotFound(MembershipName(key.queue_id, key.operator_id));
  return ReadMembership(rows[0]);
}

// ---- Reference checks --------------------------------------------------------------------

// Every skill of `skills` exists (locked against a concurrent DeleteSkill); NOT_FOUND naming the
// first that does not.
absl::Status CheckSkillsExist(pqxx::work& txn,
                              const google::protobuf::RepeatedPtrField<v1::SkillLevel>& skills,
                              absl::string_view path, absl::string_view field) {
  if (skills.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  for (const v1::SkillLevel& skill : skills) ids.push_back(IdOf(skill.skill()));
  std::set<std::string> found;
  for (const pqxx::row& row :
       txn.exec_params("SELECT id::text FROM skills WHERE id = ANY($1::uuid[]) ORDER BY id "
                       "FOR SHARE",
                       PgTextArray(ids))) {
    found.insert(row[0].as<std::string>());
  }
  for (int i = 0; i < skills.size(); ++i) {
    if (found.count(ids[i]) == 0) {
      return absl::NotFoundError(absl::StrCat(path, ".", field, "[", i,
                                              "].skill: ", skills[i].skill(), " does not exist"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSkillExists(pqxx::work& txn, absl::string_view name, absl::string_view field) {
  if (txn.exec_params("SELECT 1 FROM skills WHERE id = $1::uuid FOR SHARE", IdOf(name)).empty()) {
    return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
  }
  return absl::OkStatus();
}

absl::Status SiteMismatch(absl::string_view what, absl::string_view what_site,
                          absl::string_view other, absl::string_view other_site) {
  return absl::FailedPreconditionError(absl::StrCat("SITE_MISMATCH: ", what, " belongs to site \"",
                                                    what_site, "\", ", other, " to site \"",
                                                    other_site, "\""));
}

// The operator's team exists (locked against a concurrent DeleteTeam) and is of its site.
absl::Status CheckTeam(pqxx::work& txn, const v1::Operator& op, absl::string_view path) {
  if (op.team().empty()) return absl::OkStatus();
  pqxx::result rows =
      txn.exec_params("SELECT site FROM teams WHERE id = $1::uuid FOR SHARE", IdOf(op.team()));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat(path, ".team: ", op.team(), " does not exist"));
  }
  const std::string site = rows[0][0].as<std::string>();
  if (site != op.site()) return SiteMismatch(op.team(), site, "the operator", op.site());
  return absl::OkStatus();
}

absl::Status CheckLoginFree(pqxx::work& txn, const v1::Operator& op, absl::string_view self_id,
                            absl::string_view path) {
  pqxx::result rows = txn.exec_params(
      "SELECT id::text FROM operators WHERE login = $1 AND delete_time IS NULL AND id <> $2::uuid",
      op.login(), std::string(self_id));
  if (!rows.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(path, ".login: \"", op.login(), "\" is taken by ",
                                                 ResourceName(kOperators, rows[0][0].c_str())));
  }
  return absl::OkStatus();
}

// Each supervisor exists, is live, has the supervisor or admin role and is of the team's site;
// the rows are locked against a concurrent change of role or deletion.
absl::Status CheckSupervisors(pqxx::work& txn, const v1::Team& team, absl::string_view path) {
  for (int i = 0; i < team.supervisors_size(); ++i) {
    const std::string& name = team.supervisors(i);
    const std::string field = absl::StrCat(path, ".supervisors[", i, "]");
    pqxx::result rows = txn.exec_params(
        "SELECT site, role, delete_time IS NOT NULL FROM operators WHERE id = $1::uuid FOR SHARE",
        IdOf(name));
    if (rows.empty())
      return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
    if (rows[0][2].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("OPERATOR_DELETED: ", field, ": ", name, " was deleted"));
    }
    const int role = rows[0][1].as<int>();
    if (role != v1::OPERATOR_ROLE_SUPERVISOR && role != v1::OPERATOR_ROLE_ADMIN) {
      return absl::FailedPreconditionError(
          absl::StrCat("NOT_A_SUPERVISOR: ", field, ": ", name, " has the role ", RoleName(role),
                       "; supervisors need the role SUPERVISOR or ADMIN"));
    }
    const std::string site = rows[0][0].as<std::string>();
    if (site != team.site()) return SiteMismatch(name, site, "the team", team.site());
  }
  return absl::OkStatus();
}

absl::Status CheckTeamNameFree(pqxx::work& txn, const v1::Team& team, absl::string_view self_id,
                               absl::string_view path) {
  pqxx::result rows = txn.exec_params(
      "SELECT id::text FROM teams WHERE site = $1 AND lower(display_name) = lower($2) "
      "AND id <> $3::uuid",
      team.site(), team.display_name(), std::string(self_id));
  if (!rows.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(path, ".display_name: \"", team.display_name(),
                                                 "\" is taken in site \"", team.site(), "\" by ",
                                                 ResourceName(kTeams, rows[0][0].c_str())));
  }
  return absl::OkStatus();
}

absl::Status CheckSkillNameFree(pqxx::work& txn, const v1::Skill& skill, absl::string_view self_id,
                                absl::string_view path) {
  pqxx::result rows = txn.exec_params(
      "SELECT id::text FROM skills WHERE lower(display_name) = lower($1) AND id <> $2::uuid",
      skill.display_name(), std::string(self_id));
  if (!rows.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(path, ".display_name: \"", skill.display_name(),
                                                 "\" is taken by ",
                                                 ResourceName(kSkills, rows[0][0].c_str())));
  }
  return absl::OkStatus();
}

// The queue's name is free in its site, its skills exist, its overflow target is valid and its
// dialled numbers are not claimed by another queue.
absl::Status CheckQueueReferences(pqxx::work& txn, const v1::Queue& queue,
                                  absl::string_view self_id, absl::string_view path) {
  // A new queue (no id yet) compares with an id no queue has.
  const std::string self = self_id.empty() ? std::string(kZeroUuid) : std::string(self_id);
  pqxx::result taken = txn.exec_params(
      "SELECT id::text FROM queues WHERE site = $1 AND lower(display_name) = lower($2) "
      "AND delete_time IS NULL AND id <> $3::uuid",
      queue.site(), queue.display_name(), self);
  if (!taken.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(path, ".display_name: \"", queue.display_name(),
                                                 "\" is taken in site \"", queue.site(), "\" by ",
                                                 ResourceName(kQueues, taken[0][0].c_str())));
  }
  CC_RETURN_IF_ERROR(CheckSkillsExist(txn, queue.required_skills(), path, "required_skills"));
  if (!queue.de_escalation_skill().empty()) {
    CC_RETURN_IF_ERROR(CheckSkillExists(txn, queue.de_escalation_skill(),
                                        absl::StrCat(path, ".de_escalation_skill")));
  }
  if (!queue.overflow().target_queue().empty()) {
    const std::string& target_name = queue.overflow().target_queue();
    const std::string target = IdOf(target_name);
    const std::string field = absl::StrCat(path, ".overflow.target_queue");
    if (target == self_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("OVERFLOW_CYCLE: ", field, ": a queue cannot overflow into itself"));
    }
    // Two updates that each add one edge of a cycle would not see each other's; the lock makes
    // them take turns, so the second sees the first's committed edge.
    txn.exec("SELECT pg_advisory_xact_lock(hashtext('calls.queue_overflow'))");
    pqxx::result rows = txn.exec_params(
        "SELECT site, delete_time IS NOT NULL FROM queues WHERE id = $1::uuid FOR SHARE", target);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat(field, ": ", target_name, " does not exist"));
    }
    if (rows[0][1].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("QUEUE_DELETED: ", field, ": ", target_name, " was deleted"));
    }
    const std::string site = rows[0][0].as<std::string>();
    if (site != queue.site()) {
      return absl::FailedPreconditionError(
          absl::StrCat("SITE_MISMATCH: ", field, ": ", target_name, " belongs to site \"", site,
                       "\", this queue to site \"", queue.site(), "\""));
    }
    if (!self_id.empty()) {
      const bool cycle = txn.exec_params1(
                                "WITH RECURSIVE chain (id, depth) AS ("
                                "  SELECT $1::uuid, 0"
                                "  UNION ALL"
                                "  SELECT q.overflow_target_queue_id, c.depth + 1 FROM chain c"
                                "  JOIN queues q ON q.id = c.id"
                                "  WHERE q.overflow_target_queue_id IS NOT NULL AND c.depth < 1000)"
                                "SELECT EXISTS (SELECT 1 FROM chain WHERE id = $2::uuid)",
                                target, self)[0]
                             .as<bool>();
      if (cycle) {
        return absl::FailedPreconditionError(absl::StrCat(
            "OVERFLOW_CYCLE: ", field, ": ", target_name, " overflows back into this queue"));
      }
    }
  }
  std::vector<std::string> numbers;
  for (const common::v1::PhoneNumber& number : queue.dialled_numbers()) {
    numbers.push_back(number.e164());
  }
  if (!numbers.empty()) {
    pqxx::result claimed = txn.exec_params(
        "SELECT e164, queue_id::text FROM queue_dialled_numbers "
        "WHERE e164 = ANY($1::text[]) AND queue_id <> $2::uuid ORDER BY e164 LIMIT 1",
        PgTextArray(numbers), self);
    if (!claimed.empty()) {
      const std::string e164 = claimed[0][0].as<std::string>();
      const size_t index = std::find(numbers.begin(), numbers.end(), e164) - numbers.begin();
      return absl::AlreadyExistsError(absl::StrCat(path, ".dialled_numbers[", index, "]: ", e164,
                                                   " is already dialled for ",
                                                   ResourceName(kQueues, claimed[0][1].c_str())));
    }
  }
  return absl::OkStatus();
}

// ---- Writing resources -------------------------------------------------------------------

void WriteSkillLevels(pqxx::work& txn, absl::string_view table, absl::string_view owner_column,
                      const std::string& owner_id,
                      const google::protobuf::RepeatedPtrField<v1::SkillLevel>& skills) {
  txn.exec_params(absl::StrCat("DELETE FROM ", table, " WHERE ", owner_column, " = $1::uuid"),
                  owner_id);
  std::vector<std::string> ids;
  std::vector<int> levels;
  for (const v1::SkillLevel& skill : skills) {
    ids.push_back(IdOf(skill.skill()));
    levels.push_back(skill.level());
  }
  txn.exec_params(absl::StrCat("INSERT INTO ", table, " (", owner_column,
                               ", skill_id, level, position) "
                               "SELECT $1::uuid, u.skill_id, u.level, u.position - 1 "
                               "FROM unnest($2::uuid[], $3::smallint[]) WITH ORDINALITY "
                               "AS u (skill_id, level, position)"),
                  owner_id, PgTextArray(ids), PgIntArray(levels));
}

void WriteOperator(pqxx::work& txn, const std::string& id, const v1::Operator& op, bool create,
                   bool write_skills) {
  const std::vector<std::string> languages(op.languages().begin(), op.languages().end());
  const std::string team = op.team().empty() ? "" : IdOf(op.team());
  if (create) {
    txn.exec_params(
        absl::StrCat("INSERT INTO operators (id, site, login, display_name, role, team_id, "
                     "endpoint, languages, disabled, revision, create_time, update_time) "
                     "VALUES ($1::uuid, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8::text[], $9, "
                     "1, ",
                     MicrosParam(10), ", ", MicrosParam(10), ")"),
        id, op.site(), op.login(), op.display_name(), static_cast<int>(op.role()), team,
        op.endpoint(), PgTextArray(languages), op.disabled(), NowMicros());
  } else {
    txn.exec_params(
        absl::StrCat("UPDATE operators SET login = $2, display_name = $3, role = $4, "
                     "team_id = NULLIF($5, '')::uuid, endpoint = $6, languages = $7::text[], "
                     "disabled = $8, revision = revision + 1, update_time = ",
                     MicrosParam(9), " WHERE id = $1::uuid"),
        id, op.login(), op.display_name(), static_cast<int>(op.role()), team, op.endpoint(),
        PgTextArray(languages), op.disabled(), NowMicros());
  }
  if (create || write_skills) {
    WriteSkillLevels(txn, "operator_skills", "operator_id", id, op.skills());
  }
}

// Replaces the team's supervisors; the routing of the old and the new ones changes (it lists
// the teams an operator supervises, whose help requests their desktop follows).
void WriteTeamSupervisors(pqxx::work& txn, const std::string& id, const v1::Team& team,
                          std::set<std::pair<int, std::string>>& keys) {
  for (const pqxx::row& row :
       txn.exec_params("DELETE FROM team_supervisors WHERE team_id = $1::uuid "
                       "RETURNING operator_id::text",
                       id)) {
    keys.emplace(kOperatorKind, row[0].as<std::string>());
  }
  std::vector<std::string> ids;
  for (const std::string& name : team.supervisors()) ids.push_back(IdOf(name));
  for (const std::string& supervisor : ids) keys.emplace(kOperatorKind, supervisor);
  txn.exec_params(
      "INSERT INTO team_supervisors (team_id, operator_id, position) "
      "SELECT $1::uuid, u.operator_id, u.position - 1 "
      "FROM unnest($2::uuid[]) WITH ORDINALITY AS u (operator_id, position)",
      id, PgTextArray(ids));
}

void WriteQueue(pqxx::work& txn, const std::string& id, const v1::Queue& queue, bool create) {
  const v1::QueueOverflow& overflow = queue.overflow();
  const std::string opening_hours =
      queue.has_opening_hours() ? queue.opening_hours().SerializeAsString() : "";
  const std::string de_escalation_skill =
      queue.de_escalation_skill().empty() ? "" : IdOf(queue.de_escalation_skill());
  const std::string overflow_target =
      overflow.target_queue().empty() ? "" : IdOf(overflow.target_queue());
  const int64_t overflow_max_wait =
      overflow.has_max_wait_time() ? MillisOf(overflow.max_wait_time()) : -1;
  // $1 id, $2 site (insert only), $3.. the writable fields, $25 the time.
  const std::string values =
      "$3, $4, $5, $6, $7, $8, $9, $10, $11, NULLIF($12, '')::uuid, $13, "
      "NULLIF($14::bytea, ''::bytea), $15, $16, $17, NULLIF($18::bigint, -1), $19, "
      "NULLIF($20, '')::uuid, $21, $22, $23";
  std::string sql;
  if (create) {
    sql = absl::StrCat(
        "INSERT INTO queues (id, site, display_name, description, strategy, ring_timeout_ms, "
        "wrap_up_time_limit_ms, max_misses_before_not_ready, service_level_threshold_ms, "
        "service_level_target_percent, short_abandon_threshold_ms, de_escalation_skill_id, "
        "de_escalation_min_level, opening_hours, default_priority, vip_priority_boost, "
        "tier_wait_ms, overflow_max_wait_ms, overflow_max_waiting_calls, "
        "overflow_target_queue_id, overflow_forward_e164, overflow_forward_raw, "
        "overflow_announcement, revision, create_time, update_time) "
        "SELECT $1::uuid, $2, ",
        values, ", 1, ", MicrosParam(24), ", ", MicrosParam(24));
  } else {
    sql = absl::StrCat(
        "UPDATE queues SET (display_name, description, strategy, ring_timeout_ms, "
        "wrap_up_time_limit_ms, max_misses_before_not_ready, service_level_threshold_ms, "
        "service_level_target_percent, short_abandon_threshold_ms, de_escalation_skill_id, "
        "de_escalation_min_level, opening_hours, default_priority, vip_priority_boost, "
        "tier_wait_ms, overflow_max_wait_ms, overflow_max_waiting_calls, "
        "overflow_target_queue_id, overflow_forward_e164, overflow_forward_raw, "
        "overflow_announcement, revision, update_time) = (",
        values, ", revision + 1, ", MicrosParam(24),
        // The site is immutable; matching it as well guards that.
        ") WHERE id = $1::uuid AND site = $2");
  }
  txn.exec_params(sql, id, queue.site(), queue.display_name(), queue.description(),
                  static_cast<int>(queue.strategy()), MillisOf(queue.ring_timeout()),
                  MillisOf(queue.wrap_up_time_limit()), queue.max_misses_before_not_ready(),
                  MillisOf(queue.service_level_threshold()), queue.service_level_target_percent(),
                  MillisOf(queue.short_abandon_threshold()), de_escalation_skill,
                  queue.de_escalation_min_level(), common::PgBytes(opening_hours),
                  queue.default_priority(), queue.vip_priority_boost(), MillisOf(queue.tier_wait()),
                  overflow_max_wait, overflow.max_waiting_calls(), overflow_target,
                  overflow.forward_number().e164(), overflow.forward_number().raw(),
                  overflow.announcement(), NowMicros());

  WriteSkillLevels(txn, "queue_required_skills", "queue_id", id, queue.required_skills());

  txn.exec_params("DELETE FROM queue_dialled_numbers WHERE queue_id = $1::uuid", id);
  std::vector<std::string> e164s;
  std::vector<std::string> raws;
  for (const common::v1::PhoneNumber& number : queue.dialled_numbers()) {
    e164s.push_back(number.e164());
    raws.push_back(number.raw());
  }
  txn.exec_params(
      "INSERT INTO queue_dialled_numbers (e164, queue_id, raw, position) "
      "SELECT u.e164, $1::uuid, u.raw, u.position - 1 "
      "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u (e164, raw, position)",
      id, PgTextArray(e164s), PgTextArray(raws));

  txn.exec_params("DELETE FROM queue_disposition_codes WHERE queue_id = $1::uuid", id);
  std::vector<std::string> codes;
  std::vector<std::string> labels;
  std::vector<int> effects;
  std::vector<int> disabled;
  for (const v1::DispositionCode& code : queue.disposition_codes()) {
    codes.push_back(code.code());
    labels.push_back(code.label());
    effects.push_back(code.effect());
    disabled.push_back(code.disabled() ? 1 : 0);
  }
  txn.exec_params(
      "INSERT INTO queue_disposition_codes (queue_id, code, label, effect, disabled, position) "
      "SELECT $1::uuid, u.code, u.label, u.effect, u.disabled <> 0, u.position - 1 "
      "FROM unnest($2::text[], $3::text[], $4::smallint[], $5::smallint[]) WITH ORDINALITY "
      "AS u (code, label, effect, disabled, position)",
      id, PgTextArray(codes), PgTextArray(labels), PgIntArray(effects), PgIntArray(disabled));
}

// ---- Who a change affects ----------------------------------------------------------------

std::vector<std::string> Ids(const pqxx::result& rows) {
  std::vector<std::string> ids;
  for (const pqxx::row& row : rows) ids.push_back(row[0].as<std::string>());
  return ids;
}

std::vector<std::string> MembersOf(pqxx::work& txn, const std::string& queue_id) {
  return Ids(txn.exec_params(
      "SELECT operator_id::text FROM queue_memberships WHERE queue_id = $1::uuid", queue_id));
}

// Live operators of `site` holding `skill_id` at any level: whose de-escalation eligibility a
// queue change can alter.
std::vector<std::string> HoldersOf(pqxx::work& txn, absl::string_view site,
                                   const std::string& skill_id) {
  if (skill_id.empty()) return {};
  return Ids(txn.exec_params(
      "SELECT o.id::text FROM operators o JOIN operator_skills s ON s.operator_id = o.id "
      "WHERE s.skill_id = $1::uuid AND o.site = $2 AND o.delete_time IS NULL",
      skill_id, std::string(site)));
}

// ---- Routing -----------------------------------------------------------------------------

// What qualification needs of the live queues.
struct QueueRequirements {
  std::map<std::string, std::vector<std::pair<std::string, int>>> required_skills;
  struct DeEscalation {
    std::string queue_id;
    std::string site;
    std::string skill_id;
    int min_level = 1;
  };
  std::vector<DeEscalation> de_escalation;
};

// The routing of the operators `ids` (deleted ones too; missing ones are left out), ordered by
// id.
std::vector<OperatorRouting> LoadOperatorRoutings(pqxx::transaction_base& txn,
                                                  const std::vector<std::string>& ids) {
  const std::string id_array = PgTextArray(ids);
  std::vector<OperatorRouting> routings;
  std::map<std::string, OperatorRouting*> by_id;
  std::set<std::string> sites;
  pqxx::result operators = txn.exec_params(
      "SELECT id::text, site, coalesce(team_id::text, ''), display_name, endpoint, role, "
      "disabled, delete_time IS NOT NULL FROM operators WHERE id = ANY($1::uuid[]) ORDER BY id",
      id_array);
  routings.reserve(operators.size());
  for (const pqxx::row& row : operators) {
    OperatorRouting& routing = routings.emplace_back();
    routing.operator_id = row[0].as<std::string>();
    routing.site = row[1].as<std::string>();
    routing.team_id = row[2].as<std::string>();
    routing.display_name = row[3].as<std::string>();
    routing.endpoint = row[4].as<std::string>();
    routing.role = RoleName(row[5].as<int>());
    routing.disabled = row[6].as<bool>();
    routing.deleted = row[7].as<bool>();
    sites.insert(routing.site);
  }
  for (OperatorRouting& routing : routings) by_id[routing.operator_id] = &routing;

  for (const pqxx::row& row :
       txn.exec_params("SELECT operator_id::text, team_id::text FROM team_supervisors "
                       "WHERE operator_id = ANY($1::uuid[]) ORDER BY operator_id, team_id",
                       id_array)) {
    by_id[row[0].as<std::string>()]->supervised_team_ids.push_back(row[1].as<std::string>());
  }

  std::map<std::string, std::map<std::string, int>> skills;  // operator -> skill -> level
  for (const pqxx::row& row :
       txn.exec_params("SELECT operator_id::text, skill_id::text, level FROM operator_skills "
                       "WHERE operator_id = ANY($1::uuid[])",
                       id_array)) {
    skills[row[0].as<std::string>()][row[1].as<std::string>()] = row[2].as<int>();
  }
  pqxx::result memberships = txn.exec_params(
      "SELECT m.operator_id::text, m.queue_id::text, m.tier, m.penalty, m.skill_level, m.paused, "
      "m.round_robin_order FROM queue_memberships m JOIN queues q ON q.id = m.queue_id "
      "WHERE q.delete_time IS NULL AND m.operator_id = ANY($1::uuid[]) "
      "ORDER BY m.operator_id, m.queue_id",
      id_array);
  std::set<std::string> member_queues;
  for (const pqxx::row& row : memberships) member_queues.insert(row[1].as<std::string>());

  QueueRequirements requirements;
  for (const pqxx::row& row :
       txn.exec_params("SELECT queue_id::text, skill_id::text, level FROM queue_required_skills "
                       "WHERE queue_id = ANY($1::uuid[]) ORDER BY queue_id, position",
                       PgTextArray({member_queues.begin(), member_queues.end()}))) {
    requirements.required_skills[row[0].as<std::string>()].emplace_back(row[1].as<std::string>(),
                                                                        row[2].as<int>());
  }
  for (const pqxx::row& row : txn.exec_params(
           "SELECT id::text, site, de_escalation_skill_id::text, de_escalation_min_level "
           "FROM queues WHERE delete_time IS NULL AND de_escalation_skill_id IS NOT NULL "
           "AND site = ANY($1::text[]) ORDER BY id",
           PgTextArray({sites.begin(), sites.end()}))) {
    requirements.de_escalation.push_back({.queue_id = row[0].as<std::string>(),
                                          .site = row[1].as<std::string>(),
                                          .skill_id = row[2].as<std::string>(),
                                          .min_level = std::max(1, row[3].as<int>())});
  }

  for (const pqxx::row& row : memberships) {
    OperatorRouting& routing = *by_id[row[0].as<std::string>()];
    if (routing.deleted) continue;
    const std::map<std::string, int>& held = skills[routing.operator_id];
    const std::string queue_id = row[1].as<std::string>();
    const auto& required = requirements.required_skills[queue_id];
    const bool qualified =
        std::all_of(required.begin(), required.end(), [&](const std::pair<std::string, int>& r) {
          auto it = held.find(r.first);
          return it != held.end() && it->second >= r.second;
        });
    if (!qualified) continue;
    int level = row[4].as<int>();
    if (level == 0) level = required.empty() ? 1 : held.at(required.front().first);
    routing.memberships.push_back({.queue_id = queue_id,
                                   .tier = row[2].as<int>(),
                                   .penalty = row[3].as<int>(),
                                   .level = level,
                                   .order = row[6].as<int64_t>(),
                                   .paused = row[5].as<bool>()});
  }
  for (OperatorRouting& routing : routings) {
    if (routing.deleted) continue;
    const std::map<std::string, int>& held = skills[routing.operator_id];
    for (const QueueRequirements::DeEscalation& queue : requirements.de_escalation) {
      if (queue.site != routing.site) continue;
      auto it = held.find(queue.skill_id);
      if (it != held.end() && it->second >= queue.min_level) {
        routing.de_escalation_queues.push_back(queue.queue_id);
      }
    }
  }
  return routings;
}

// The routing of the queues `ids` (deleted ones too), ordered by id.
std::vector<QueueRouting> LoadQueueRoutings(pqxx::transaction_base& txn,
                                            const std::vector<std::string>& ids) {
  std::vector<QueueRouting> routings;
  for (const pqxx::row& row : txn.exec_params(
           "SELECT q.id::text, q.site, q.display_name, q.strategy, q.ring_timeout_ms, "
           "q.wrap_up_time_limit_ms, q.max_misses_before_not_ready, "
           "q.service_level_threshold_ms, q.short_abandon_threshold_ms, "
           "coalesce(q.de_escalation_skill_id::text, ''), q.vip_priority_boost, "
           "q.default_priority, q.tier_wait_ms, q.delete_time IS NOT NULL, "
           "ARRAY(SELECT DISTINCT m.tier FROM queue_memberships m WHERE m.queue_id = q.id "
           "ORDER BY m.tier), "
           "ARRAY(SELECT c.code FROM queue_disposition_codes c "
           "WHERE c.queue_id = q.id AND NOT c.disabled ORDER BY c.position), "
           "q.opening_hours, coalesce(q.overflow_max_wait_ms, -1), q.overflow_max_waiting_calls, "
           "coalesce(q.overflow_target_queue_id::text, ''), q.overflow_forward_e164, "
           "q.overflow_announcement "
           "FROM queues q WHERE q.id = ANY($1::uuid[]) ORDER BY q.id",
           PgTextArray(ids))) {
    QueueRouting& routing = routings.emplace_back();
    routing.queue_id = row[0].as<std::string>();
    routing.site = row[1].as<std::string>();
    routing.display_name = row[2].as<std::string>();
    routing.strategy = row[3].as<int>();
    routing.ring_timeout = absl::Milliseconds(row[4].as<int64_t>());
    routing.wrap_up_time_limit = absl::Milliseconds(row[5].as<int64_t>());
    routing.max_misses_before_not_ready = row[6].as<int>();
    routing.service_level_threshold = absl::Milliseconds(row[7].as<int64_t>());
    routing.short_abandon_threshold = absl::Milliseconds(row[8].as<int64_t>());
    routing.de_escalation_skill = row[9].as<std::string>();
    routing.vip_priority_boost = row[10].as<int>();
    routing.default_priority = row[11].as<int>();
    routing.tier_wait = absl::Milliseconds(row[12].as<int64_t>());
    routing.deleted = row[13].as<bool>();
    routing.tiers = IntArrayField(row[14]);
    if (routing.deleted) {
      routing.tiers = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    } else if (routing.tiers.empty()) {
      routing.tiers = {1};
    }
    routing.dispositions = ArrayField(row[15]);
    if (!row[16].is_null()) {
      routing.has_opening_hours = routing.opening_hours.ParseFromString(common::BytesOf(row[16])) &&
                                  !routing.opening_hours.time_zone().empty();
    }
    const int64_t max_wait_ms = row[17].as<int64_t>();
    routing.has_overflow_max_wait = max_wait_ms >= 0;
    if (max_wait_ms >= 0) routing.overflow_max_wait = absl::Milliseconds(max_wait_ms);
    routing.overflow_max_waiting_calls = row[18].as<int>();
    routing.overflow_target_queue_id = row[19].as<std::string>();
    routing.overflow_forward_e164 = row[20].as<std::string>();
    routing.overflow_announcement = row[21].as<std::string>();
  }
  return routings;
}

bool SameSkillLevels(const google::protobuf::RepeatedPtrField<v1::SkillLevel>& a,
                     const google::protobuf::RepeatedPtrField<v1::SkillLevel>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const v1::SkillLevel& x, const v1::SkillLevel& y) {
                      return x.skill() == y.skill() && x.level() == y.level();
                    });
}

void AddKeys(std::set<std::pair<int, std::string>>& keys, int kind,
             const std::vector<std::string>& ids) {
  for (const std::string& id : ids) keys.emplace(kind, id);
}

// Marks the routing of `keys` as pending, in their order (the order every flush locks them in,
// so that a change and a flush never wait for each other in a cycle).
void EnqueueRouting(pqxx::work& txn, const std::set<std::pair<int, std::string>>& keys) {
  if (keys.empty()) return;
  std::vector<int> kinds;
  std::vector<std::string> ids;
  for (const auto& [kind, id] : keys) {
    kinds.push_back(kind);
    ids.push_back(id);
  }
  txn.exec_params(
      "INSERT INTO routing_pending (kind, id, enqueue_time) "
      "SELECT u.kind, u.id, now() FROM unnest($1::smallint[], $2::uuid[]) AS u (kind, id) "
      "ORDER BY u.kind, u.id "
      "ON CONFLICT (kind, id) DO UPDATE SET enqueue_time = excluded.enqueue_time",
      PgIntArray(kinds), PgTextArray(ids));
}

}  // namespace

AdminStore::AdminStore(common::PgPool* pg, RoutingConfigWriter* routing, DeletionGuard* guard,
                       AdminStoreOptions options)
    : pg_(pg), routing_(routing), guard_(guard), options_(std::move(options)) {}

// ---- Mutation and routing machinery ------------------------------------------------------

template <typename Response, typename Effect>
absl::StatusOr<Response> AdminStore::Mutate(absl::string_view method,
                                            const google::protobuf::Message& request,
                                            absl::string_view request_id, Effect&& effect) {
  CC_RETURN_IF_ERROR(CheckRequestId(request_id));
  RoutingKeys keys;
  bool replayed = false;
  absl::StatusOr<Response> result = pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<Response> {
    keys.clear();
    replayed = false;
    CC_ASSIGN_OR_RETURN(auto earlier,
                        common::FindRequestResponse(txn, method, request_id, request));
    if (earlier) {
      replayed = true;
      return Replay<Response>(*earlier);
    }
    CC_ASSIGN_OR_RETURN(Response response, effect(txn, keys));
    EnqueueRouting(txn, keys);
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, method, request_id, request, response));
    return response;
  });
  if (!result.ok()) return result;
  // A repeat does not know which rows its first attempt left pending, so it writes them all.
  absl::Status routed = replayed ? FlushPendingRouting() : FlushRouting(keys);
  if (!routed.ok()) {
    return common::Annotate(routed,
                            "the change is saved but live routing is not updated yet; repeat the "
                            "request with the same request_id");
  }
  return result;
}

absl::Status AdminStore::WriteRoutingRows(pqxx::work& txn, const pqxx::result& rows) {
  std::vector<std::string> queue_ids;
  std::vector<std::string> operator_ids;
  for (const pqxx::row& row : rows) {
    (row[0].as<int>() == kQueueKind ? queue_ids : operator_ids).push_back(row[1].as<std::string>());
  }
  absl::Status first_error;
  std::vector<int> written_kinds;
  std::vector<std::string> written_ids;
  auto record = [&](int kind, const std::string& id, const absl::Status& status) {
    if (status.ok()) {
      written_kinds.push_back(kind);
      written_ids.push_back(id);
    } else {
      common::LogWarning(
          "routing write failed; the change stays pending",
          {{"kind", kind == kQueueKind ? "queue" : "operator"}, {"id", id}, {"error", status}});
      if (first_error.ok()) first_error = status;
    }
  };
  std::set<std::string> found;
  for (const QueueRouting& routing : LoadQueueRoutings(txn, queue_ids)) {
    found.insert(routing.queue_id);
    record(kQueueKind, routing.queue_id, routing_->WriteQueue(routing));
  }
  for (const OperatorRouting& routing : LoadOperatorRoutings(txn, operator_ids)) {
    found.insert(routing.operator_id);
    record(kOperatorKind, routing.operator_id, routing_->WriteOperator(routing));
  }
  // Rows of resources that never existed (not made by this store) have nothing to write.
  for (const pqxx::row& row : rows) {
    const std::string id = row[1].as<std::string>();
    if (found.count(id) == 0) record(row[0].as<int>(), id, absl::OkStatus());
  }
  txn.exec_params(
      "DELETE FROM routing_pending p USING unnest($1::smallint[], $2::uuid[]) AS u (kind, id) "
      "WHERE p.kind = u.kind AND p.id = u.id",
      PgIntArray(written_kinds), PgTextArray(written_ids));
  return first_error;
}

absl::Status AdminStore::FlushRouting(const RoutingKeys& keys) {
  const std::vector<std::pair<int, std::string>> all(keys.begin(), keys.end());
  const size_t batch = std::max(1, options_.routing_batch);
  absl::Status first_error;
  for (size_t start = 0; start < all.size(); start += batch) {
    std::vector<int> kinds;
    std::vector<std::string> ids;
    for (size_t i = start; i < std::min(all.size(), start + batch); ++i) {
      kinds.push_back(all[i].first);
      ids.push_back(all[i].second);
    }
    absl::Status write_error;
    absl::Status status = pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      // Waits for a flush that holds a row; a row it wrote and deleted meanwhile is skipped.
      pqxx::result rows = txn.exec_params(
          "SELECT p.kind, p.id::text FROM routing_pending p "
          "WHERE (p.kind, p.id) IN (SELECT * FROM unnest($1::smallint[], $2::uuid[])) "
          "ORDER BY p.kind, p.id FOR UPDATE",
          PgIntArray(kinds), PgTextArray(ids));
      write_error = WriteRoutingRows(txn, rows);
      return absl::OkStatus();
    });
    if (status.ok()) status = write_error;
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

absl::Status AdminStore::FlushPendingRouting() {
  const int batch = std::max(1, options_.routing_batch);
  int after_kind = 0;
  std::string after_id = kZeroUuid;
  absl::Status first_error;
  for (;;) {
    absl::Status write_error;
    size_t count = 0;
    absl::Status status = pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      // Rows another replica is writing are skipped: it writes a state at least as new.
      pqxx::result rows = txn.exec_params(
          "SELECT kind, id::text FROM routing_pending WHERE (kind, id) > ($1, $2::uuid) "
          "ORDER BY kind, id LIMIT $3 FOR UPDATE SKIP LOCKED",
          after_kind, after_id, batch);
      count = rows.size();
      if (rows.empty()) return absl::OkStatus();
      after_kind = rows.back()[0].as<int>();
      after_id = rows.back()[1].as<std::string>();
      write_error = WriteRoutingRows(txn, rows);
      return absl::OkStatus();
    });
    if (!status.ok()) return first_error.ok() ? status : first_error;
    if (!write_error.ok() && first_error.ok()) first_error = write_error;
    if (count < static_cast<size_t>(batch)) break;
  }
  return first_error;
}

absl::Status AdminStore::RepublishAll() {
  // Going through routing_pending (rather than writing directly) keeps the guarantee that an
  // older state never overwrites a newer one while other replicas change the configuration.
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec(
        "INSERT INTO routing_pending (kind, id) "
        "SELECT kind, id FROM ("
        "  SELECT 1 AS kind, id FROM queues WHERE delete_time IS NULL"
        "  UNION ALL SELECT 2, id FROM operators WHERE delete_time IS NULL) AS live "
        "ORDER BY kind, id "
        "ON CONFLICT (kind, id) DO UPDATE SET enqueue_time = excluded.enqueue_time");
    return absl::OkStatus();
  }));
  return FlushPendingRouting();
}

absl::Status AdminStore::RefreshOpeningHours() {
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec(
        "INSERT INTO routing_pending (kind, id) "
        "SELECT 1, id FROM queues WHERE delete_time IS NULL AND opening_hours IS NOT NULL "
        "AND length(opening_hours) > 0 ORDER BY id "
        "ON CONFLICT (kind, id) DO UPDATE SET enqueue_time = excluded.enqueue_time");
    return absl::OkStatus();
  }));
  return FlushPendingRouting();
}

absl::StatusOr<OperatorRouting> AdminStore::ReadOperatorRouting(absl::string_view operator_id) {
  if (!common::IsCanonicalUuid(operator_id)) return InvalidArgumentError("id", "not a UUID");
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<OperatorRouting> {
    std::vector<OperatorRouting> routings = LoadOperatorRoutings(query, {std::string(operator_id)});
    if (routings.empty()) return NotFound(ResourceName(kOperators, operator_id));
    return std::move(routings.front());
  });
}

absl::StatusOr<QueueRouting> AdminStore::ReadQueueRouting(absl::string_view queue_id) {
  if (!common::IsCanonicalUuid(queue_id)) return InvalidArgumentError("id", "not a UUID");
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<QueueRouting> {
    std::vector<QueueRouting> routings = LoadQueueRoutings(query, {std::string(queue_id)});
    if (routings.empty()) return NotFound(ResourceName(kQueues, queue_id));
    return std::move(routings.front());
  });
}

// ---- Reads for the live side -------------------------------------------------------------

absl::StatusOr<v1::Queue> AdminStore::GetQueueById(absl::string_view queue_id) {
  if (!common::IsCanonicalUuid(queue_id)) return InvalidArgumentError("id", "not a UUID");
  return pg_->Query(
      [&](pqxx::nontransaction& query) { return LoadQueue(query, std::string(queue_id), false); });
}

absl::StatusOr<v1::Operator> AdminStore::GetOperatorById(absl::string_view operator_id) {
  if (!common::IsCanonicalUuid(operator_id)) return InvalidArgumentError("id", "not a UUID");
  return pg_->Query([&](pqxx::nontransaction& query) {
    return LoadOperator(query, std::string(operator_id), false);
  });
}

absl::StatusOr<v1::Team> AdminStore::GetTeamById(absl::string_view team_id) {
  if (!common::IsCanonicalUuid(team_id)) return InvalidArgumentError("id", "not a UUID");
  return pg_->Query(
      [&](pqxx::nontransaction& query) { return LoadTeam(query, std::string(team_id), false); });
}

absl::StatusOr<std::string> AdminStore::FindQueueIdByDialledNumber(absl::string_view e164) {
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<std::string> {
    pqxx::result rows = query.exec_params(
        "SELECT queue_id::text FROM queue_dialled_numbers WHERE e164 = $1", std::string(e164));
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("no queue is dialled at ", e164));
    }
    return rows[0][0].as<std::string>();
  });
}

// ---- Skills ------------------------------------------------------------------------------

absl::StatusOr<v1::Skill> AdminStore::CreateSkill(const v1::CreateSkillRequest& request) {
  v1::Skill skill = request.skill();
  CC_RETURN_IF_ERROR(NormalizeSkill(skill, "skill"));
  auto change = [&](pqxx::work& txn, RoutingKeys&) -> absl::StatusOr<v1::Skill> {
    const std::string id = common::NewId();
    CC_RETURN_IF_ERROR(CheckSkillNameFree(txn, skill, id, "skill"));
    txn.exec_params(absl::StrCat("INSERT INTO skills (id, display_name, description, revision, "
                                 "create_time, update_time) VALUES ($1::uuid, $2, $3, 1, ",
                                 MicrosParam(4), ", ", MicrosParam(4), ")"),
                    id, skill.display_name(), skill.description(), NowMicros());
    return LoadSkill(txn, id, false);
  };
  return Mutate<v1::Skill>("CreateSkill", request, request.request_id(), change);
}

absl::StatusOr<v1::Skill> AdminStore::GetSkill(const v1::GetSkillRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kSkills, "name"));
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadSkill(query, id, false); });
}

absl::StatusOr<v1::ListSkillsResponse> AdminStore::ListSkills(
    const v1::ListSkillsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 100, 1000));
  v1::ListSkillsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string scope = PageScope("ListSkills", filters);
  CC_ASSIGN_OR_RETURN(std::string token, common::DecodePageToken(request.page_token(), scope));
  CC_ASSIGN_OR_RETURN(NameCursor cursor, ParseNameCursor(token));
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListSkillsResponse> {
    pqxx::result rows = query.exec_params(
        absl::StrCat("SELECT ", kSkillColumns,
                     " FROM skills k WHERE ($1 OR (k.display_name, k.id) > ($2, $3::uuid)) "
                     "ORDER BY k.display_name, k.id LIMIT $4"),
        cursor.first_page, cursor.display_name, cursor.id, page_size + 1);
    v1::ListSkillsResponse response;
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      *response.add_skills() = ReadSkill(rows[i]);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const pqxx::row last = rows[page_size - 1];
      response.set_next_page_token(common::EncodePageToken(
          scope, NameCursorOf(last[0].as<std::string>(), last[1].as<std::string>())));
    }
    return response;
  });
}

absl::StatusOr<v1::Skill> AdminStore::UpdateSkill(const v1::UpdateSkillRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseResourceId(request.skill().name(), kSkills, "skill.name"));
  CC_ASSIGN_OR_RETURN(
      std::vector<std::string> paths,
      UpdatePaths(request.update_mask(), SkillMaskRules(), *v1::Skill::descriptor()));
  auto change = [&](pqxx::work& txn, RoutingKeys&) -> absl::StatusOr<v1::Skill> {
    CC_ASSIGN_OR_RETURN(v1::Skill skill, LoadSkill(txn, id, true));
    CC_RETURN_IF_ERROR(CheckEtag(request.skill().etag(), skill.etag(), request.skill().name()));
    ApplyPaths(request.skill(), paths, skill);
    CC_RETURN_IF_ERROR(NormalizeSkill(skill, "skill"));
    CC_RETURN_IF_ERROR(CheckSkillNameFree(txn, skill, id, "skill"));
    txn.exec_params(absl::StrCat("UPDATE skills SET display_name = $2, description = $3, "
                                 "revision = revision + 1, update_time = ",
                                 MicrosParam(4), " WHERE id = $1::uuid"),
                    id, skill.display_name(), skill.description(), NowMicros());
    // Routing refers to skills by id only: a new name or description changes nothing there.
    return LoadSkill(txn, id, false);
  };
  return Mutate<v1::Skill>("UpdateSkill", request, request.request_id(), change);
}

absl::Status AdminStore::DeleteSkill(const v1::DeleteSkillRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kSkills, "name"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(v1::Skill skill, LoadSkill(txn, id, true));
    CC_RETURN_IF_ERROR(CheckEtag(request.etag(), skill.etag(), request.name()));
    // Only live operators and queues count as users; deleted ones are history and lose the
    // skill with it.
    const std::vector<std::string> holders = Ids(txn.exec_params(
        "SELECT o.id::text FROM operators o JOIN operator_skills s "
        "ON s.operator_id = o.id WHERE s.skill_id = $1::uuid AND o.delete_time IS NULL "
        "ORDER BY o.id",
        id));
    const std::vector<std::string> queues = Ids(txn.exec_params(
        "SELECT q.id::text FROM queues q WHERE q.delete_time IS NULL AND "
        "(q.de_escalation_skill_id = $1::uuid OR EXISTS (SELECT 1 FROM "
        "queue_required_skills r WHERE r.queue_id = q.id AND r.skill_id = $1::uuid)) "
        "ORDER BY q.id",
        id));
    if (!request.force() && (!holders.empty() || !queues.empty())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "SKILL_IN_USE: ", request.name(), " is held by ", holders.size(), " operator(s)",
          holders.empty() ? "" : absl::StrCat(" (e.g. ", ResourceName(kOperators, holders[0]), ")"),
          " and used by ", queues.size(), " queue(s)",
          queues.empty() ? "" : absl::StrCat(" (e.g. ", ResourceName(kQueues, queues[0]), ")"),
          "; remove it from them first, or delete with force"));
    }
    AddKeys(keys, kOperatorKind, holders);
    AddKeys(keys, kQueueKind, queues);
    for (const std::string& queue_id : queues) {
      AddKeys(keys, kOperatorKind, MembersOf(txn, queue_id));
    }
    txn.exec_params(absl::StrCat("UPDATE operators SET revision = revision + 1, "
                                 "update_time = ",
                                 MicrosParam(2),
                                 " WHERE id IN (SELECT operator_id FROM "
                                 "operator_skills WHERE skill_id = $1::uuid)"),
                    id, NowMicros());
    txn.exec_params(
        absl::StrCat("UPDATE queues SET revision = revision + 1, update_time = ", MicrosParam(2),
                     ", de_escalation_skill_id = CASE WHEN de_escalation_skill_id = "
                     "$1::uuid THEN NULL ELSE de_escalation_skill_id END, "
                     "de_escalation_min_level = CASE WHEN de_escalation_skill_id = "
                     "$1::uuid THEN 0 ELSE de_escalation_min_level END "
                     "WHERE de_escalation_skill_id = $1::uuid OR id IN (SELECT "
                     "queue_id FROM queue_required_skills WHERE skill_id = $1::uuid)"),
        id, NowMicros());
    txn.exec_params("DELETE FROM operator_skills WHERE skill_id = $1::uuid", id);
    txn.exec_params("DELETE FROM queue_required_skills WHERE skill_id = $1::uuid", id);
    txn.exec_params("DELETE FROM skills WHERE id = $1::uuid", id);
    return google::protobuf::Empty();
  };
  return Mutate<google::protobuf::Empty>("DeleteSkill", request, request.request_id(), change)
      .status();
}

// ---- Teams -------------------------------------------------------------------------------

absl::StatusOr<v1::Team> AdminStore::CreateTeam(const v1::CreateTeamRequest& request) {
  v1::Team team = request.team();
  CC_RETURN_IF_ERROR(NormalizeTeam(team, "team"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Team> {
    const std::string id = common::NewId();
    CC_RETURN_IF_ERROR(CheckTeamNameFree(txn, team, id, "team"));
    CC_RETURN_IF_ERROR(CheckSupervisors(txn, team, "team"));
    txn.exec_params(absl::StrCat("INSERT INTO teams (id, site, display_name, revision, "
                                 "create_time, update_time) VALUES ($1::uuid, $2, $3, "
                                 "1, ",
                                 MicrosParam(4), ", ", MicrosParam(4), ")"),
                    id, team.site(), team.display_name(), NowMicros());
    WriteTeamSupervisors(txn, id, team, keys);
    return LoadTeam(txn, id, false);
  };
  return Mutate<v1::Team>("CreateTeam", request, request.request_id(), change);
}

absl::StatusOr<v1::Team> AdminStore::GetTeam(const v1::GetTeamRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kTeams, "name"));
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadTeam(query, id, false); });
}

absl::StatusOr<v1::ListTeamsResponse> AdminStore::ListTeams(const v1::ListTeamsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 100, 1000));
  std::string supervisor = kZeroUuid;
  if (!request.supervisor().empty()) {
    CC_ASSIGN_OR_RETURN(supervisor,
                        ParseResourceId(request.supervisor(), kOperators, "supervisor"));
  }
  v1::ListTeamsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string scope = PageScope("ListTeams", filters);
  CC_ASSIGN_OR_RETURN(std::string token, common::DecodePageToken(request.page_token(), scope));
  CC_ASSIGN_OR_RETURN(NameCursor cursor, ParseNameCursor(token));
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListTeamsResponse> {
    pqxx::result rows = query.exec_params(
        absl::StrCat(
            "SELECT ", kTeamColumns,
            " FROM teams t WHERE ($1 = '' OR t.site = $1) AND (NOT $2 OR EXISTS (SELECT 1 FROM "
            "team_supervisors ts WHERE ts.team_id = t.id AND ts.operator_id = $3::uuid)) "
            "AND ($4 OR (t.display_name, t.id) > ($5, $6::uuid)) "
            "ORDER BY t.display_name, t.id LIMIT $7"),
        request.site(), !request.supervisor().empty(), supervisor, cursor.first_page,
        cursor.display_name, cursor.id, page_size + 1);
    v1::ListTeamsResponse response;
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      *response.add_teams() = ReadTeam(rows[i]);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const pqxx::row last = rows[page_size - 1];
      response.set_next_page_token(common::EncodePageToken(
          scope, NameCursorOf(last[0].as<std::string>(), last[2].as<std::string>())));
    }
    return response;
  });
}

absl::StatusOr<v1::Team> AdminStore::UpdateTeam(const v1::UpdateTeamRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.team().name(), kTeams, "team.name"));
  CC_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                      UpdatePaths(request.update_mask(), TeamMaskRules(), *v1::Team::descriptor()));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Team> {
    CC_ASSIGN_OR_RETURN(v1::Team team, LoadTeam(txn, id, true));
    CC_RETURN_IF_ERROR(CheckEtag(request.team().etag(), team.etag(), request.team().name()));
    ApplyPaths(request.team(), paths, team);
    CC_RETURN_IF_ERROR(NormalizeTeam(team, "team"));
    CC_RETURN_IF_ERROR(CheckTeamNameFree(txn, team, id, "team"));
    CC_RETURN_IF_ERROR(CheckSupervisors(txn, team, "team"));
    txn.exec_params(absl::StrCat("UPDATE teams SET display_name = $2, revision = revision + 1, "
                                 "update_time = ",
                                 MicrosParam(3), " WHERE id = $1::uuid"),
                    id, team.display_name(), NowMicros());
    WriteTeamSupervisors(txn, id, team, keys);
    return LoadTeam(txn, id, false);
  };
  return Mutate<v1::Team>("UpdateTeam", request, request.request_id(), change);
}

absl::Status AdminStore::DeleteTeam(const v1::DeleteTeamRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kTeams, "name"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(v1::Team team, LoadTeam(txn, id, true));
    CC_RETURN_IF_ERROR(CheckEtag(request.etag(), team.etag(), request.name()));
    // Its supervisors no longer supervise it.
    for (const std::string& supervisor : team.supervisors()) {
      keys.emplace(kOperatorKind, IdOf(supervisor));
    }
    pqxx::result members = txn.exec_params(
        "SELECT count(*), min(id::text) FROM operators WHERE team_id = $1::uuid "
        "AND delete_time IS NULL",
        id);
    if (const int64_t count = members[0][0].as<int64_t>(); count > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "TEAM_NOT_EMPTY: ", count, " operator(s) belong to ", request.name(), " (e.g. ",
          ResourceName(kOperators, members[0][1].c_str()), "); move them to another team first"));
    }
    // Deleted operators keep no team (operators.team_id ON DELETE SET NULL).
    txn.exec_params("DELETE FROM teams WHERE id = $1::uuid", id);
    return google::protobuf::Empty();
  };
  return Mutate<google::protobuf::Empty>("DeleteTeam", request, request.request_id(), change)
      .status();
}

// ---- Operators ---------------------------------------------------------------------------

absl::StatusOr<v1::Operator> AdminStore::CreateOperator(const v1::CreateOperatorRequest& request) {
  v1::Operator op = request.operator_();
  CC_RETURN_IF_ERROR(NormalizeOperator(op, "operator"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Operator> {
    const std::string id = common::NewId();
    CC_RETURN_IF_ERROR(CheckTeam(txn, op, "operator"));
    CC_RETURN_IF_ERROR(CheckSkillsExist(txn, op.skills(), "operator", "skills"));
    CC_RETURN_IF_ERROR(CheckLoginFree(txn, op, id, "operator"));
    WriteOperator(txn, id, op, /*create=*/true, /*write_skills=*/true);
    keys.emplace(kOperatorKind, id);
    return LoadOperator(txn, id, false);
  };
  return Mutate<v1::Operator>("CreateOperator", request, request.request_id(), change);
}

absl::StatusOr<v1::Operator> AdminStore::GetOperator(const v1::GetOperatorRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kOperators, "name"));
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadOperator(query, id, false); });
}

absl::StatusOr<v1::ListOperatorsResponse> AdminStore::ListOperators(
    const v1::ListOperatorsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 100, 1000));
  std::string team = kZeroUuid;
  if (!request.team().empty()) {
    CC_ASSIGN_OR_RETURN(team, ParseResourceId(request.team(), kTeams, "team"));
  }
  std::string skill = kZeroUuid;
  if (!request.skill().empty()) {
    CC_ASSIGN_OR_RETURN(skill, ParseResourceId(request.skill(), kSkills, "skill"));
  }
  if (!v1::OperatorRole_IsValid(request.role())) {
    return InvalidArgumentError("role", "unknown role");
  }
  if (CodePoints(request.query()) > kMaxListQuery) {
    return InvalidArgumentError("query", absl::StrCat("at most ", kMaxListQuery, " characters"));
  }
  v1::ListOperatorsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string scope = PageScope("ListOperators", filters);
  CC_ASSIGN_OR_RETURN(std::string token, common::DecodePageToken(request.page_token(), scope));
  CC_ASSIGN_OR_RETURN(NameCursor cursor, ParseNameCursor(token));
  // $1..$8 are the filters, shared by the page and the count.
  const std::string where =
      "($1 = '' OR o.site = $1) AND (NOT $2 OR o.team_id = $3::uuid) AND ($4 = 0 OR o.role = $4) "
      "AND (NOT $5 OR EXISTS (SELECT 1 FROM operator_skills s WHERE s.operator_id = o.id AND "
      "s.skill_id = $6::uuid)) AND ($7 = '' OR strpos(lower(o.display_name), lower($7)) > 0 OR "
      "strpos(o.login, lower($7)) > 0) AND ($8 OR o.delete_time IS NULL)";
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListOperatorsResponse> {
    pqxx::result rows = query.exec_params(
        absl::StrCat("SELECT ", kOperatorColumns, " FROM operators o WHERE ", where,
                     " AND ($9 OR (o.display_name, o.id) > ($10, $11::uuid)) "
                     "ORDER BY o.display_name, o.id LIMIT $12"),
        request.site(), !request.team().empty(), team, static_cast<int>(request.role()),
        !request.skill().empty(), skill, request.query(), request.show_deleted(), cursor.first_page,
        cursor.display_name, cursor.id, page_size + 1);
    v1::ListOperatorsResponse response;
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      *response.add_operators() = ReadOperator(rows[i]);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const pqxx::row last = rows[page_size - 1];
      response.set_next_page_token(common::EncodePageToken(
          scope, NameCursorOf(last[0].as<std::string>(), last[3].as<std::string>())));
    }
    response.set_total_size(
        query
            .exec_params1(absl::StrCat("SELECT count(*) FROM operators o WHERE ", where),
                          request.site(), !request.team().empty(), team,
                          static_cast<int>(request.role()), !request.skill().empty(), skill,
                          request.query(), request.show_deleted())[0]
            .as<int32_t>());
    return response;
  });
}

absl::StatusOr<v1::Operator> AdminStore::UpdateOperator(const v1::UpdateOperatorRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseResourceId(request.operator_().name(), kOperators, "operator.name"));
  CC_ASSIGN_OR_RETURN(
      std::vector<std::string> paths,
      UpdatePaths(request.update_mask(), OperatorMaskRules(), *v1::Operator::descriptor()));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Operator> {
    CC_ASSIGN_OR_RETURN(v1::Operator op, LoadOperator(txn, id, true));
    if (op.has_delete_time()) {
      return absl::FailedPreconditionError(
          absl::StrCat("OPERATOR_DELETED: ", op.name(), " was deleted"));
    }
    CC_RETURN_IF_ERROR(CheckEtag(request.operator_().etag(), op.etag(), op.name()));
    const v1::Operator before = op;
    ApplyPaths(request.operator_(), paths, op);
    CC_RETURN_IF_ERROR(NormalizeOperator(op, "operator"));
    if (op.team() != before.team()) CC_RETURN_IF_ERROR(CheckTeam(txn, op, "operator"));
    CC_RETURN_IF_ERROR(CheckSkillsExist(txn, op.skills(), "operator", "skills"));
    if (op.login() != before.login()) CC_RETURN_IF_ERROR(CheckLoginFree(txn, op, id, "operator"));
    if (op.role() == v1::OPERATOR_ROLE_OPERATOR) {
      pqxx::result supervised = txn.exec_params(
          "SELECT team_id::text FROM team_supervisors WHERE operator_id = $1::uuid "
          "ORDER BY team_id LIMIT 1",
          id);
      if (!supervised.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("SUPERVISES_TEAMS: ", op.name(), " supervises ",
                         ResourceName(kTeams, supervised[0][0].c_str()),
                         "; remove them from the supervisors of their teams before giving the role "
                         "OPERATOR"));
      }
    }
    const bool skills_changed = std::find(paths.begin(), paths.end(), "skills") != paths.end();
    WriteOperator(txn, id, op, /*create=*/false, skills_changed);
    keys.emplace(kOperatorKind, id);
    return LoadOperator(txn, id, false);
  };
  return Mutate<v1::Operator>("UpdateOperator", request, request.request_id(), change);
}

absl::StatusOr<v1::Operator> AdminStore::DeleteOperator(const v1::DeleteOperatorRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kOperators, "name"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Operator> {
    CC_ASSIGN_OR_RETURN(v1::Operator op, LoadOperator(txn, id, true));
    if (op.has_delete_time()) {
      return absl::FailedPreconditionError(
          absl::StrCat("OPERATOR_DELETED: ", op.name(), " is already deleted"));
    }
    CC_RETURN_IF_ERROR(CheckEtag(request.etag(), op.etag(), op.name()));
    if (guard_ != nullptr) CC_RETURN_IF_ERROR(guard_->CheckOperatorRemovable(op.site(), id));
    keys.emplace(kOperatorKind, id);
    AddKeys(keys, kQueueKind,
            Ids(txn.exec_params("SELECT queue_id::text FROM queue_memberships "
                                "WHERE operator_id = $1::uuid",
                                id)));
    txn.exec_params("DELETE FROM queue_memberships WHERE operator_id = $1::uuid", id);
    const int64_t now = NowMicros();
    txn.exec_params(
        absl::StrCat("UPDATE teams SET revision = revision + 1, update_time = ", MicrosParam(2),
                     " WHERE id IN (SELECT team_id FROM team_supervisors "
                     "WHERE operator_id = $1::uuid)"),
        id, now);
    txn.exec_params("DELETE FROM team_supervisors WHERE operator_id = $1::uuid", id);
    txn.exec_params(
        absl::StrCat("UPDATE operators SET revision = revision + 1, "
                     "update_time = ",
                     MicrosParam(2), ", delete_time = ", MicrosParam(2), " WHERE id = $1::uuid"),
        id, now);
    return LoadOperator(txn, id, false);
  };
  return Mutate<v1::Operator>("DeleteOperator", request, request.request_id(), change);
}

// ---- Queues ------------------------------------------------------------------------------

absl::StatusOr<v1::Queue> AdminStore::CreateQueue(const v1::CreateQueueRequest& request) {
  v1::Queue queue = request.queue();
  CC_RETURN_IF_ERROR(NormalizeQueue(queue, "queue", options_.default_region));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Queue> {
    const std::string id = common::NewId();
    CC_RETURN_IF_ERROR(CheckQueueReferences(txn, queue, "", "queue"));
    WriteQueue(txn, id, queue, /*create=*/true);
    keys.emplace(kQueueKind, id);
    if (!queue.de_escalation_skill().empty()) {
      AddKeys(keys, kOperatorKind, HoldersOf(txn, queue.site(), IdOf(queue.de_escalation_skill())));
    }
    return LoadQueue(txn, id, false);
  };
  return Mutate<v1::Queue>("CreateQueue", request, request.request_id(), change);
}

absl::StatusOr<v1::Queue> AdminStore::GetQueue(const v1::GetQueueRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kQueues, "name"));
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadQueue(query, id, false); });
}

absl::StatusOr<v1::ListQueuesResponse> AdminStore::ListQueues(
    const v1::ListQueuesRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 100, 1000));
  v1::ListQueuesRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string scope = PageScope("ListQueues", filters);
  CC_ASSIGN_OR_RETURN(std::string token, common::DecodePageToken(request.page_token(), scope));
  CC_ASSIGN_OR_RETURN(NameCursor cursor, ParseNameCursor(token));
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListQueuesResponse> {
    pqxx::result rows = query.exec_params(
        absl::StrCat("SELECT ", kQueueColumns,
                     " FROM queues q WHERE ($1 = '' OR q.site = $1) AND ($2 OR q.delete_time IS "
                     "NULL) AND ($3 OR (q.display_name, q.id) > ($4, $5::uuid)) "
                     "ORDER BY q.display_name, q.id LIMIT $6"),
        request.site(), request.show_deleted(), cursor.first_page, cursor.display_name, cursor.id,
        page_size + 1);
    v1::ListQueuesResponse response;
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      *response.add_queues() = ReadQueue(rows[i]);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const pqxx::row last = rows[page_size - 1];
      response.set_next_page_token(common::EncodePageToken(
          scope, NameCursorOf(last[0].as<std::string>(), last[2].as<std::string>())));
    }
    return response;
  });
}

absl::StatusOr<v1::Queue> AdminStore::UpdateQueue(const v1::UpdateQueueRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseResourceId(request.queue().name(), kQueues, "queue.name"));
  CC_ASSIGN_OR_RETURN(
      std::vector<std::string> paths,
      UpdatePaths(request.update_mask(), QueueMaskRules(), *v1::Queue::descriptor()));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Queue> {
    CC_ASSIGN_OR_RETURN(v1::Queue queue, LoadQueue(txn, id, true));
    if (queue.has_delete_time()) {
      return absl::FailedPreconditionError(
          absl::StrCat("QUEUE_DELETED: ", queue.name(), " was deleted"));
    }
    CC_RETURN_IF_ERROR(CheckEtag(request.queue().etag(), queue.etag(), queue.name()));
    const v1::Queue before = queue;
    ApplyPaths(request.queue(), paths, queue);
    CC_RETURN_IF_ERROR(NormalizeQueue(queue, "queue", options_.default_region));
    CC_RETURN_IF_ERROR(CheckQueueReferences(txn, queue, id, "queue"));
    WriteQueue(txn, id, queue, /*create=*/false);
    keys.emplace(kQueueKind, id);
    // Members' routing depends on the queue's requirements only; de-escalation eligibility
    // on its skill and level.
    if (!SameSkillLevels(before.required_skills(), queue.required_skills())) {
      AddKeys(keys, kOperatorKind, MembersOf(txn, id));
    }
    if (before.de_escalation_skill() != queue.de_escalation_skill() ||
        before.de_escalation_min_level() != queue.de_escalation_min_level()) {
      for (const std::string& skill : {before.de_escalation_skill(), queue.de_escalation_skill()}) {
        if (!skill.empty()) AddKeys(keys, kOperatorKind, HoldersOf(txn, queue.site(), IdOf(skill)));
      }
    }
    return LoadQueue(txn, id, false);
  };
  return Mutate<v1::Queue>("UpdateQueue", request, request.request_id(), change);
}

absl::StatusOr<v1::Queue> AdminStore::DeleteQueue(const v1::DeleteQueueRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(request.name(), kQueues, "name"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::Queue> {
    CC_ASSIGN_OR_RETURN(v1::Queue queue, LoadQueue(txn, id, true));
    if (queue.has_delete_time()) {
      return absl::FailedPreconditionError(
          absl::StrCat("QUEUE_DELETED: ", queue.name(), " is already deleted"));
    }
    CC_RETURN_IF_ERROR(CheckEtag(request.etag(), queue.etag(), queue.name()));
    pqxx::result sources = txn.exec_params(
        "SELECT id::text FROM queues WHERE overflow_target_queue_id = $1::uuid "
        "AND delete_time IS NULL ORDER BY id LIMIT 1",
        id);
    if (!sources.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("QUEUE_IS_OVERFLOW_TARGET: ", ResourceName(kQueues, sources[0][0].c_str()),
                       " overflows into ", queue.name(), "; change its overflow first"));
    }
    if (guard_ != nullptr) CC_RETURN_IF_ERROR(guard_->CheckQueueRemovable(queue.site(), id));
    keys.emplace(kQueueKind, id);
    AddKeys(keys, kOperatorKind, MembersOf(txn, id));
    if (!queue.de_escalation_skill().empty()) {
      AddKeys(keys, kOperatorKind, HoldersOf(txn, queue.site(), IdOf(queue.de_escalation_skill())));
    }
    txn.exec_params("DELETE FROM queue_memberships WHERE queue_id = $1::uuid", id);
    txn.exec_params("DELETE FROM queue_dialled_numbers WHERE queue_id = $1::uuid", id);
    const int64_t now = NowMicros();
    txn.exec_params(
        absl::StrCat("UPDATE queues SET revision = revision + 1, update_time = ", MicrosParam(2),
                     ", delete_time = ", MicrosParam(2), " WHERE id = $1::uuid"),
        id, now);
    return LoadQueue(txn, id, false);
  };
  return Mutate<v1::Queue>("DeleteQueue", request, request.request_id(), change);
}

// ---- Queue memberships -------------------------------------------------------------------

absl::StatusOr<v1::QueueMembership> AdminStore::CreateQueueMembership(
    const v1::CreateQueueMembershipRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string queue_id, ParseResourceId(request.parent(), kQueues, "parent"));
  v1::QueueMembership membership = request.membership();
  CC_RETURN_IF_ERROR(NormalizeMembership(membership, "membership"));
  const std::string operator_id = IdOf(membership.operator_());
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::QueueMembership> {
    // Shared locks: a concurrent DeleteQueue or DeleteOperator (FOR UPDATE) waits for this
    // membership and then removes it, or this waits and finds the resource deleted.
    pqxx::result queue = txn.exec_params(
        "SELECT site, delete_time IS NOT NULL FROM queues WHERE id = $1::uuid FOR SHARE", queue_id);
    if (queue.empty())
      return absl::NotFoundError(absl::StrCat("parent: ", request.parent(), " does not exist"));
    pqxx::result op = txn.exec_params(
        "SELECT site, delete_time IS NOT NULL FROM operators WHERE id = $1::uuid FOR SHARE",
        operator_id);
    if (op.empty()) {
      return absl::NotFoundError(
          absl::StrCat("membership.operator: ", membership.operator_(), " does not exist"));
    }
    if (queue[0][1].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("QUEUE_DELETED: ", request.parent(), " was deleted"));
    }
    if (op[0][1].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("OPERATOR_DELETED: ", membership.operator_(), " was deleted"));
    }
    const std::string queue_site = queue[0][0].as<std::string>();
    const std::string operator_site = op[0][0].as<std::string>();
    if (queue_site != operator_site) {
      return SiteMismatch(membership.operator_(), operator_site, request.parent(), queue_site);
    }
    pqxx::result inserted = txn.exec_params(
        absl::StrCat("INSERT INTO queue_memberships (queue_id, operator_id, tier, penalty, "
                     "skill_level, paused, revision, create_time, update_time) "
                     "VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, 1, ",
                     MicrosParam(7), ", ", MicrosParam(7),
                     ") ON CONFLICT (queue_id, operator_id) DO NOTHING RETURNING 1"),
        queue_id, operator_id, membership.tier(), membership.penalty(), membership.skill_level(),
        membership.paused(), NowMicros());
    if (inserted.empty()) {
      return absl::AlreadyExistsError(absl::StrCat(
          membership.operator_(), " is already a member: ", MembershipName(queue_id, operator_id)));
    }
    keys.emplace(kQueueKind, queue_id);
    keys.emplace(kOperatorKind, operator_id);
    return LoadMembership(txn, {.queue_id = queue_id, .operator_id = operator_id}, false);
  };
  return Mutate<v1::QueueMembership>("CreateQueueMembership", request, request.request_id(),
                                     change);
}

absl::StatusOr<v1::QueueMembership> AdminStore::GetQueueMembership(
    const v1::GetQueueMembershipRequest& request) {
  CC_ASSIGN_OR_RETURN(MembershipKey key, ParseMembershipName(request.name(), "name"));
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadMembership(query, key, false); });
}

absl::StatusOr<v1::ListQueueMembershipsResponse> AdminStore::ListQueueMemberships(
    const v1::ListQueueMembershipsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string queue_id, ParseMembershipParent(request.parent(), "parent"));
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 100, 1000));
  std::string operator_id = kZeroUuid;
  if (!request.operator_().empty()) {
    CC_ASSIGN_OR_RETURN(operator_id, ParseResourceId(request.operator_(), kOperators, "operator"));
  }
  v1::ListQueueMembershipsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const std::string scope = PageScope("ListQueueMemberships", filters);
  CC_ASSIGN_OR_RETURN(std::string token, common::DecodePageToken(request.page_token(), scope));
  // Cursor "tier|penalty|operator_id|queue_id" of the last membership of the previous page.
  int tier = 0;
  int penalty = 0;
  std::string after_operator = kZeroUuid;
  std::string after_queue = kZeroUuid;
  if (!token.empty()) {
    const std::vector<std::string> parts = absl::StrSplit(token, '|');
    if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &tier) ||
        !absl::SimpleAtoi(parts[1], &penalty) || !common::IsCanonicalUuid(parts[2]) ||
        !common::IsCanonicalUuid(parts[3])) {
      return InvalidArgumentError("page_token", "malformed");
    }
    after_operator = parts[2];
    after_queue = parts[3];
  }
  return pg_->Query(
      [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListQueueMembershipsResponse> {
        if (!queue_id.empty() &&
            query.exec_params("SELECT 1 FROM queues WHERE id = $1::uuid", queue_id).empty()) {
          return NotFound(request.parent());
        }
        pqxx::result rows = query.exec_params(
            absl::StrCat("SELECT ", kMembershipColumns,
                         " FROM queue_memberships m WHERE ($1 OR m.queue_id = $2::uuid) "
                         "AND (NOT $3 OR m.operator_id = $4::uuid) "
                         "AND ($5 OR (m.tier, m.penalty, m.operator_id, m.queue_id) > "
                         "($6, $7, $8::uuid, $9::uuid)) "
                         "ORDER BY m.tier, m.penalty, m.operator_id, m.queue_id LIMIT $10"),
            queue_id.empty(), queue_id.empty() ? std::string(kZeroUuid) : queue_id,
            !request.operator_().empty(), operator_id, token.empty(), tier, penalty, after_operator,
            after_queue, page_size + 1);
        v1::ListQueueMembershipsResponse response;
        for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
          *response.add_memberships() = ReadMembership(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          const pqxx::row last = rows[page_size - 1];
          response.set_next_page_token(common::EncodePageToken(
              scope, absl::StrCat(last[2].as<int>(), "|", last[3].as<int>(), "|",
                                  last[1].as<std::string>(), "|", last[0].as<std::string>())));
        }
        return response;
      });
}

absl::StatusOr<v1::QueueMembership> AdminStore::UpdateQueueMembership(
    const v1::UpdateQueueMembershipRequest& request) {
  CC_ASSIGN_OR_RETURN(MembershipKey key,
                      ParseMembershipName(request.membership().name(), "membership.name"));
  CC_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                      UpdatePaths(request.update_mask(), MembershipMaskRules(),
                                  *v1::QueueMembership::descriptor()));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<v1::QueueMembership> {
    CC_ASSIGN_OR_RETURN(v1::QueueMembership membership, LoadMembership(txn, key, true));
    CC_RETURN_IF_ERROR(
        CheckEtag(request.membership().etag(), membership.etag(), membership.name()));
    ApplyPaths(request.membership(), paths, membership);
    CC_RETURN_IF_ERROR(NormalizeMembership(membership, "membership"));
    txn.exec_params(
        absl::StrCat("UPDATE queue_memberships SET tier = $3, penalty = $4, "
                     "skill_level = $5, paused = $6, revision = revision + 1, "
                     "update_time = ",
                     MicrosParam(7), " WHERE queue_id = $1::uuid AND operator_id = $2::uuid"),
        key.queue_id, key.operator_id, membership.tier(), membership.penalty(),
        membership.skill_level(), membership.paused(), NowMicros());
    keys.emplace(kQueueKind, key.queue_id);
    keys.emplace(kOperatorKind, key.operator_id);
    return LoadMembership(txn, key, false);
  };
  return Mutate<v1::QueueMembership>("UpdateQueueMembership", request, request.request_id(),
                                     change);
}

absl::Status AdminStore::DeleteQueueMembership(const v1::DeleteQueueMembershipRequest& request) {
  CC_ASSIGN_OR_RETURN(MembershipKey key, ParseMembershipName(request.name(), "name"));
  auto change = [&](pqxx::work& txn, RoutingKeys& keys) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(v1::QueueMembership membership, LoadMembership(txn, key, true));
    CC_RETURN_IF_ERROR(CheckEtag(request.etag(), membership.etag(), request.name()));
    txn.exec_params(
        "DELETE FROM queue_memberships WHERE queue_id = $1::uuid AND "
        "operator_id = $2::uuid",
        key.queue_id, key.operator_id);
    keys.emplace(kQueueKind, key.queue_id);
    keys.emplace(kOperatorKind, key.operator_id);
    return google::protobuf::Empty();
  };
  return Mutate<google::protobuf::Empty>("DeleteQueueMembership", request, request.request_id(),
                                         change)
      .status();
}

}  // namespace contactcentre::calls
