#include "services/calls/admin_validation.h"

#include <google/protobuf/descriptor.h>

#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/ids.h"
#include "common/phone.h"
#include "common/status.h"

namespace contactcentre::calls {
namespace {

using common::InvalidArgumentError;

std::string Path(absl::string_view parent, absl::string_view field) {
  return absl::StrCat(parent, ".", field);
}

std::string Indexed(absl::string_view parent, absl::string_view field, int index) {
  return absl::StrCat(parent, ".", field, "[", index, "]");
}

// Trims `text` and checks it has 1..max_chars characters (or 0.. when not required).
absl::Status CheckText(std::string* text, absl::string_view field, int max_chars, bool required) {
  *text = std::string(absl::StripAsciiWhitespace(*text));
  if (required && text->empty()) return InvalidArgumentError(field, "required");
  if (CodePoints(*text) > max_chars) {
    return InvalidArgumentError(field, absl::StrCat("at most ", max_chars, " characters"));
  }
  for (char c : *text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError(field, "must not contain control characters");
    }
  }
  return absl::OkStatus();
}

bool IsLoginChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '@' ||
         c == '-';
}

// An IETF language tag in the simple form people write: "ru", "en-GB", "zh-Hant-TW".
bool IsLanguageTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 35) return false;
  bool first = true;
  for (absl::string_view part : absl::StrSplit(tag, '-')) {
    if (part.empty() || part.size() > 8) return false;
    for (char c : part) {
      if (first ? !absl::ascii_isalpha(c) : !absl::ascii_isalnum(c)) return false;
    }
    first = false;
  }
  return true;
}

bool IsDispositionCodeChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
}

// A well-formed Duration as absl::Duration; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::Duration> DurationOf(const google::protobuf::Duration& duration,
                                          absl::string_view field) {
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  if (seconds < -315576000000 || seconds > 315576000000 || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return InvalidArgumentError(field, "not a valid duration");
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration proto;
  const int64_t millis = absl::ToInt64Milliseconds(duration);
  proto.set_seconds(millis / 1000);
  proto.set_nanos(static_cast<int32_t>((millis % 1000) * 1000000));
  return proto;
}

// Checks an optional duration field against [min, max] and stores it with millisecond
// precision (the precision of the schema), or `fallback` when it is unset.
absl::Status NormalizeDuration(google::protobuf::Duration* duration, bool present,
                               absl::string_view field, absl::Duration min, absl::Duration max,
                               absl::Duration fallback) {
  absl::Duration value = fallback;
  if (present) {
    CC_ASSIGN_OR_RETURN(value, DurationOf(*duration, field));
    if (value < min || value > max) {
      return InvalidArgumentError(field, absl::StrCat("must be between ", absl::FormatDuration(min),
                                                      " and ", absl::FormatDuration(max)));
    }
  }
  *duration = ProtoDuration(value);
  return absl::OkStatus();
}

absl::Status CheckLevel(int level, absl::string_view field, int min) {
  if (level < min || level > 10)
    return InvalidArgumentError(field, absl::StrCat("must be ", min, "..10"));
  return absl::OkStatus();
}

// Skill levels of an operator or a queue: each a "skills/{id}" at most once, level 1..10.
absl::Status CheckSkillLevels(const google::protobuf::RepeatedPtrField<v1::SkillLevel>& skills,
                              absl::string_view parent, absl::string_view field, int max_count) {
  if (skills.size() > max_count) {
    return InvalidArgumentError(Path(parent, field),
                                absl::StrCat("at most ", max_count, " skills"));
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < skills.size(); ++i) {
    const std::string item = Indexed(parent, field, i);
    CC_ASSIGN_OR_RETURN(std::string id,
                        ParseResourceId(skills[i].skill(), kSkills, Path(item, "skill")));
    if (auto [it, inserted] = seen.emplace(id, i); !inserted) {
      return InvalidArgumentError(Path(item, "skill"),
                                  absl::StrCat("listed twice (also at index ", it->second, ")"));
    }
    CC_RETURN_IF_ERROR(CheckLevel(skills[i].level(), Path(item, "level"), 1));
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalName(absl::string_view name, absl::string_view collection,
                               absl::string_view field) {
  if (name.empty()) return absl::OkStatus();
  return ParseResourceId(name, collection, field).status();
}

// Normalises a phone number given as `raw` (or, when empty, as `e164`) into E.164.
absl::Status NormalizeNumber(common::v1::PhoneNumber* number, absl::string_view field,
                             absl::string_view default_region) {
  const bool use_raw = !number->raw().empty();
  const std::string input = use_raw ? number->raw() : number->e164();
  const std::string input_field = Path(field, use_raw ? "raw" : "e164");
  if (input.empty()) return InvalidArgumentError(Path(field, "raw"), "required");
  CC_ASSIGN_OR_RETURN(common::NormalizedPhone normalized,
                      common::NormalizePhone(input, default_region, input_field));
  if (!normalized.extension.empty()) {
    return InvalidArgumentError(input_field, "must not carry an extension");
  }
  number->set_e164(normalized.e164);
  return absl::OkStatus();
}

bool ParseDate(absl::string_view text) {
  absl::CivilDay day;
  // ParseCivilTime accepts normalisable dates such as 2026-02-30; a date must round-trip.
  return text.size() == 10 && absl::ParseCivilTime(text, &day) &&
         absl::FormatCivilTime(day) == text;
}

}  // namespace

int CodePoints(absl::string_view text) {
  int count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string ResourceName(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

std::string MembershipName(absl::string_view queue_id, absl::string_view operator_id) {
  return absl::StrCat(kQueues, "/", queue_id, "/memberships/", operator_id);
}

absl::StatusOr<std::string> ParseResourceId(absl::string_view name, absl::string_view collection,
                                            absl::string_view field) {
  const std::string form =
      absl::StrCat(collection, "/{", collection.substr(0, collection.size() - 1), "_id}");
  if (name.empty()) return InvalidArgumentError(field, absl::StrCat("required: ", form));
  const std::string prefix = absl::StrCat(collection, "/");
  if (!absl::StartsWith(name, prefix) || !common::IsCanonicalUuid(name.substr(prefix.size()))) {
    return InvalidArgumentError(
        field, absl::StrCat("\"", name, "\" is not of the form ", form, " with a lower-case UUID"));
  }
  return std::string(name.substr(prefix.size()));
}

absl::StatusOr<MembershipKey> ParseMembershipName(absl::string_view name, absl::string_view field) {
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != kQueues || parts[2] != "memberships" ||
      !common::IsCanonicalUuid(parts[1]) || !common::IsCanonicalUuid(parts[3])) {
    return InvalidArgumentError(
        field, absl::StrCat("\"", name,
                            "\" is not of the form queues/{queue_id}/memberships/{operator_id}"));
  }
  return MembershipKey{.queue_id = std::string(parts[1]), .operator_id = std::string(parts[3])};
}

absl::StatusOr<std::string> ParseMembershipParent(absl::string_view parent,
                                                  absl::string_view field) {
  if (parent == "queues/-") return std::string();
  return ParseResourceId(parent, kQueues, field);
}

absl::Status CheckRequestId(absl::string_view request_id) {
  if (request_id.empty()) {
    return InvalidArgumentError("request_id", "required: a client-chosen key, e.g. a UUID");
  }
  if (request_id.size() > kMaxRequestId) {
    return InvalidArgumentError("request_id",
                                absl::StrCat("at most ", kMaxRequestId, " characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckSite(absl::string_view site, absl::string_view field) {
  if (site.empty()) return InvalidArgumentError(field, "required");
  if (CodePoints(site) > kMaxSite) {
    return InvalidArgumentError(field, absl::StrCat("at most ", kMaxSite, " characters"));
  }
  for (char c : site) {
    if (c == '{' || c == '}' || c == ':' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return InvalidArgumentError(field, "must not contain {, }, :, spaces or control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeOperator(v1::Operator& op, absl::string_view path) {
  CC_RETURN_IF_ERROR(
      CheckText(op.mutable_display_name(), Path(path, "display_name"), kMaxDisplayName, true));
  if (op.login().empty()) return InvalidArgumentError(Path(path, "login"), "required");
  if (CodePoints(op.login()) > kMaxLogin) {
    return InvalidArgumentError(Path(path, "login"),
                                absl::StrCat("at most ", kMaxLogin, " characters"));
  }
  for (char c : op.login()) {
    if (!IsLoginChar(c)) {
      return InvalidArgumentError(Path(path, "login"), "only characters of [a-z0-9._@-]");
    }
  }
  if (!v1::OperatorRole_IsValid(op.role())) {
    return InvalidArgumentError(Path(path, "role"), "unknown role");
  }
  if (op.role() == v1::OPERATOR_ROLE_UNSPECIFIED) op.set_role(v1::OPERATOR_ROLE_OPERATOR);
  CC_RETURN_IF_ERROR(CheckOptionalName(op.team(), kTeams, Path(path, "team")));
  CC_RETURN_IF_ERROR(CheckSite(op.site(), Path(path, "site")));
  CC_RETURN_IF_ERROR(CheckSkillLevels(op.skills(), path, "skills", kMaxOperatorSkills));
  CC_RETURN_IF_ERROR(CheckText(op.mutable_endpoint(), Path(path, "endpoint"), kMaxEndpoint, false));
  if (absl::StrContains(op.endpoint(), ' ')) {
    return InvalidArgumentError(Path(path, "endpoint"), "must not contain spaces");
  }
  // Operators take calls by definition; supervisors and admins may or may not, so for them the
  // endpoint stays optional (an operator without one is written to routing as it is).
  if (op.role() == v1::OPERATOR_ROLE_OPERATOR && op.endpoint().empty()) {
    return InvalidArgumentError(Path(path, "endpoint"),
                                "required for operators: the SIP URI or extension of their phone");
  }
  if (op.languages_size() > kMaxLanguages) {
    return InvalidArgumentError(Path(path, "languages"),
                                absl::StrCat("at most ", kMaxLanguages, " languages"));
  }
  std::set<std::string> languages;
  for (int i = 0; i < op.languages_size(); ++i) {
    if (!IsLanguageTag(op.languages(i))) {
      return InvalidArgumentError(
          Indexed(path, "languages", i),
          absl::StrCat("\"", op.languages(i),
                       "\" is not a language tag such as \"ru\" or \"en-GB\""));
    }
    if (!languages.insert(absl::AsciiStrToLower(op.languages(i))).second) {
      return InvalidArgumentError(Indexed(path, "languages", i), "listed twice");
    }
  }
  op.clear_name();
  op.clear_create_time();
  op.clear_update_time();
  op.clear_delete_time();
  op.clear_etag();
  return absl::OkStatus();
}

absl::Status NormalizeTeam(v1::Team& team, absl::string_view path) {
  CC_RETURN_IF_ERROR(
      CheckText(team.mutable_display_name(), Path(path, "display_name"), kMaxDisplayName, true));
  CC_RETURN_IF_ERROR(CheckSite(team.site(), Path(path, "site")));
  if (team.supervisors_size() > kMaxSupervisors) {
    return InvalidArgumentError(Path(path, "supervisors"),
                                absl::StrCat("at most ", kMaxSupervisors, " supervisors"));
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < team.supervisors_size(); ++i) {
    const std::string field = Indexed(path, "supervisors", i);
    CC_ASSIGN_OR_RETURN(std::string id, ParseResourceId(team.supervisors(i), kOperators, field));
    if (auto [it, inserted] = seen.emplace(id, i); !inserted) {
      return InvalidArgumentError(field,
                                  absl::StrCat("listed twice (also at index ", it->second, ")"));
    }
  }
  team.clear_name();
  team.clear_create_time();
  team.clear_update_time();
  team.clear_etag();
  return absl::OkStatus();
}

absl::Status NormalizeSkill(v1::Skill& skill, absl::string_view path) {
  CC_RETURN_IF_ERROR(
      CheckText(skill.mutable_display_name(), Path(path, "display_name"), kMaxDisplayName, true));
  // Descriptions may span lines, so only their length is checked.
  if (CodePoints(skill.description()) > kMaxDescription) {
    return InvalidArgumentError(Path(path, "description"),
                                absl::StrCat("at most ", kMaxDescription, " characters"));
  }
  skill.clear_name();
  skill.clear_create_time();
  skill.clear_update_time();
  skill.clear_etag();
  return absl::OkStatus();
}

absl::Status CheckSchedule(const common::v1::WeeklySchedule& schedule, absl::string_view field) {
  if (schedule.time_zone().empty()) {
    return InvalidArgumentError(Path(field, "time_zone"),
                                "required: the IANA zone of the windows, e.g. \"Europe/Moscow\"");
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(schedule.time_zone(), &zone)) {
    return InvalidArgumentError(Path(field, "time_zone"),
                                absl::StrCat("unknown zone \"", schedule.time_zone(), "\""));
  }
  if (schedule.windows_size() > kMaxScheduleWindows) {
    return InvalidArgumentError(Path(field, "windows"),
                                absl::StrCat("at most ", kMaxScheduleWindows, " windows"));
  }
  for (int i = 0; i < schedule.windows_size(); ++i) {
    const common::v1::DailyWindow& window = schedule.windows(i);
    const std::string item = Indexed(field, "windows", i);
    if (window.day() == common::v1::DAY_OF_WEEK_UNSPECIFIED ||
        !common::v1::DayOfWeek_IsValid(window.day())) {
      return InvalidArgumentError(Path(item, "day"), "must be a day of the week");
    }
    if (window.start_minute() < 0 || window.start_minute() > 1439) {
      return InvalidArgumentError(Path(item, "start_minute"), "must be 0..1439");
    }
    if (window.end_minute() <= window.start_minute() || window.end_minute() > 1440) {
      return InvalidArgumentError(Path(item, "end_minute"),
                                  "must be greater than start_minute and at most 1440");
    }
  }
  if (schedule.closed_dates_size() > kMaxClosedDates) {
    return InvalidArgumentError(Path(field, "closed_dates"),
                                absl::StrCat("at most ", kMaxClosedDates, " dates"));
  }
  for (int i = 0; i < schedule.closed_dates_size(); ++i) {
    if (!ParseDate(schedule.closed_dates(i))) {
      return InvalidArgumentError(Indexed(field, "closed_dates", i), "must be a date YYYY-MM-DD");
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeQueue(v1::Queue& queue, absl::string_view path,
                            absl::string_view default_region) {
  CC_RETURN_IF_ERROR(
      CheckText(queue.mutable_display_name(), Path(path, "display_name"), kMaxDisplayName, true));
  if (CodePoints(queue.description()) > kMaxDescription) {
    return InvalidArgumentError(Path(path, "description"),
                                absl::StrCat("at most ", kMaxDescription, " characters"));
  }
  CC_RETURN_IF_ERROR(CheckSite(queue.site(), Path(path, "site")));
  if (!v1::QueueStrategy_IsValid(queue.strategy())) {
    return InvalidArgumentError(Path(path, "strategy"), "unknown strategy");
  }
  if (queue.strategy() == v1::QUEUE_STRATEGY_UNSPECIFIED) {
    queue.set_strategy(v1::QUEUE_STRATEGY_LONGEST_IDLE);
  }
  CC_RETURN_IF_ERROR(NormalizeDuration(queue.mutable_ring_timeout(), queue.has_ring_timeout(),
                                       Path(path, "ring_timeout"), absl::Seconds(5),
                                       absl::Minutes(5), kDefaultRingTimeout));
  CC_RETURN_IF_ERROR(NormalizeDuration(
      queue.mutable_wrap_up_time_limit(), queue.has_wrap_up_time_limit(),
      Path(path, "wrap_up_time_limit"), absl::Seconds(5), absl::Hours(1), kDefaultWrapUpTimeLimit));
  if (!queue.has_max_misses_before_not_ready()) {
    queue.set_max_misses_before_not_ready(kDefaultMaxMisses);
  }
  if (queue.max_misses_before_not_ready() < 0 || queue.max_misses_before_not_ready() > 100) {
    return InvalidArgumentError(Path(path, "max_misses_before_not_ready"),
                                "must be 0 (never) .. 100");
  }

  const std::string codes_path = Path(path, "disposition_codes");
  if (queue.disposition_codes_size() > kMaxDispositionCodes) {
    return InvalidArgumentError(codes_path,
                                absl::StrCat("at most ", kMaxDispositionCodes, " codes"));
  }
  std::map<std::string, int> codes;
  bool any_enabled = false;
  for (int i = 0; i < queue.disposition_codes_size(); ++i) {
    v1::DispositionCode& code = *queue.mutable_disposition_codes(i);
    const std::string item = Indexed(path, "disposition_codes", i);
    if (code.code().empty() || code.code().size() > 64) {
      return InvalidArgumentError(Path(item, "code"), "1..64 characters of [a-z0-9_]");
    }
    for (char c : code.code()) {
      if (!IsDispositionCodeChar(c)) {
        return InvalidArgumentError(Path(item, "code"), "1..64 characters of [a-z0-9_]");
      }
    }
    if (auto [it, inserted] = codes.emplace(code.code(), i); !inserted) {
      return InvalidArgumentError(
          Path(item, "code"),
          absl::StrCat("\"", code.code(), "\" listed twice (also at index ", it->second, ")"));
    }
    CC_RETURN_IF_ERROR(CheckText(code.mutable_label(), Path(item, "label"), kMaxDisplayName, true));
    if (!v1::DispositionEffect_IsValid(code.effect())) {
      return InvalidArgumentError(Path(item, "effect"), "unknown effect");
    }
    any_enabled = any_enabled || !code.disabled();
  }
  if (!any_enabled) return InvalidArgumentError(codes_path, "at least one enabled code");

  CC_RETURN_IF_ERROR(NormalizeDuration(queue.mutable_service_level_threshold(),
                                       queue.has_service_level_threshold(),
                                       Path(path, "service_level_threshold"), absl::Seconds(1),
                                       absl::Hours(1), kDefaultServiceLevelThreshold));
  if (queue.service_level_target_percent() == 0) {
    queue.set_service_level_target_percent(kDefaultServiceLevelTargetPercent);
  }
  if (queue.service_level_target_percent() < 1 || queue.service_level_target_percent() > 100) {
    return InvalidArgumentError(Path(path, "service_level_target_percent"), "must be 1..100");
  }
  CC_RETURN_IF_ERROR(NormalizeDuration(queue.mutable_short_abandon_threshold(),
                                       queue.has_short_abandon_threshold(),
                                       Path(path, "short_abandon_threshold"), absl::ZeroDuration(),
                                       absl::Minutes(5), kDefaultShortAbandonThreshold));

  if (queue.de_escalation_skill().empty()) {
    if (queue.de_escalation_min_level() != 0) {
      return InvalidArgumentError(Path(path, "de_escalation_min_level"),
                                  "must be unset when de_escalation_skill is empty");
    }
  } else {
    CC_RETURN_IF_ERROR(
        ParseResourceId(queue.de_escalation_skill(), kSkills, Path(path, "de_escalation_skill"))
            .status());
    CC_RETURN_IF_ERROR(
        CheckLevel(queue.de_escalation_min_level(), Path(path, "de_escalation_min_level"), 0));
    if (queue.de_escalation_min_level() == 0) queue.set_de_escalation_min_level(1);
  }

  if (queue.has_opening_hours() && queue.opening_hours().ByteSizeLong() == 0) {
    queue.clear_opening_hours();  // an empty schedule is read as "always open", like unset
  }
  if (queue.has_opening_hours()) {
    CC_RETURN_IF_ERROR(CheckSchedule(queue.opening_hours(), Path(path, "opening_hours")));
  }
  CC_RETURN_IF_ERROR(
      CheckSkillLevels(queue.required_skills(), path, "required_skills", kMaxRequiredSkills));

  if (queue.dialled_numbers_size() > kMaxDialledNumbers) {
    return InvalidArgumentError(Path(path, "dialled_numbers"),
                                absl::StrCat("at most ", kMaxDialledNumbers, " numbers"));
  }
  std::map<std::string, int> numbers;
  for (int i = 0; i < queue.dialled_numbers_size(); ++i) {
    const std::string item = Indexed(path, "dialled_numbers", i);
    CC_RETURN_IF_ERROR(NormalizeNumber(queue.mutable_dialled_numbers(i), item, default_region));
    if (auto [it, inserted] = numbers.emplace(queue.dialled_numbers(i).e164(), i); !inserted) {
      return InvalidArgumentError(
          item, absl::StrCat(it->first, " listed twice (also at index ", it->second, ")"));
    }
  }

  if (queue.default_priority() < 0 || queue.default_priority() > 9) {
    return InvalidArgumentError(Path(path, "default_priority"), "must be 0..9");
  }
  if (!queue.has_vip_priority_boost()) queue.set_vip_priority_boost(kDefaultVipPriorityBoost);
  if (queue.vip_priority_boost() < 0 || queue.vip_priority_boost() > 9) {
    return InvalidArgumentError(Path(path, "vip_priority_boost"), "must be 0..9");
  }
  CC_RETURN_IF_ERROR(NormalizeDuration(queue.mutable_tier_wait(), queue.has_tier_wait(),
                                       Path(path, "tier_wait"), absl::ZeroDuration(),
                                       absl::Hours(1), absl::ZeroDuration()));

  if (queue.has_overflow()) {
    v1::QueueOverflow& overflow = *queue.mutable_overflow();
    const std::string item = Path(path, "overflow");
    if (overflow.has_max_wait_time()) {
      CC_RETURN_IF_ERROR(NormalizeDuration(overflow.mutable_max_wait_time(), true,
                                           Path(item, "max_wait_time"), absl::Seconds(1),
                                           absl::Hours(24), absl::ZeroDuration()));
    }
    if (overflow.max_waiting_calls() < 0 || overflow.max_waiting_calls() > 1000000) {
      return InvalidArgumentError(Path(item, "max_waiting_calls"),
                                  "must be 0 (no limit) .. 1000000");
    }
    CC_RETURN_IF_ERROR(
        CheckOptionalName(overflow.target_queue(), kQueues, Path(item, "target_queue")));
    if (overflow.has_forward_number() && overflow.forward_number().ByteSizeLong() == 0) {
      overflow.clear_forward_number();
    }
    if (overflow.has_forward_number()) {
      CC_RETURN_IF_ERROR(NormalizeNumber(overflow.mutable_forward_number(),
                                         Path(item, "forward_number"), default_region));
    }
    CC_RETURN_IF_ERROR(CheckText(overflow.mutable_announcement(), Path(item, "announcement"),
                                 kMaxDisplayName, false));
    if (overflow.ByteSizeLong() == 0) queue.clear_overflow();
  }
  queue.clear_name();
  queue.clear_create_time();
  queue.clear_update_time();
  queue.clear_delete_time();
  queue.clear_etag();
  return absl::OkStatus();
}

absl::Status NormalizeMembership(v1::QueueMembership& membership, absl::string_view path) {
  CC_RETURN_IF_ERROR(
      ParseResourceId(membership.operator_(), kOperators, Path(path, "operator")).status());
  if (membership.tier() == 0) membership.set_tier(1);
  if (membership.tier() < 1 || membership.tier() > 9) {
    return InvalidArgumentError(Path(path, "tier"), "must be 1..9");
  }
  if (membership.penalty() < 0 || membership.penalty() > 100) {
    return InvalidArgumentError(Path(path, "penalty"), "must be 0..100");
  }
  CC_RETURN_IF_ERROR(CheckLevel(membership.skill_level(), Path(path, "skill_level"), 0));
  membership.clear_name();
  membership.clear_create_time();
  membership.clear_update_time();
  membership.clear_etag();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> UpdatePaths(const google::protobuf::FieldMask& mask,
                                                     const MaskRules& rules,
                                                     const google::protobuf::Descriptor& resource) {
  if (mask.paths().empty()) {
    return InvalidArgumentError("update_mask", "required: name the fields to change, or \"*\"");
  }
  std::set<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (path == "*") {
      paths.insert(rules.writable.begin(), rules.writable.end());
    } else if (rules.immutable.count(path) > 0) {
      return InvalidArgumentError("update_mask", absl::StrCat(path, " is immutable"));
    } else if (absl::StrContains(path, '.')) {
      return InvalidArgumentError(
          "update_mask",
          absl::StrCat(path, ": name the top-level field; messages are replaced whole"));
    } else if (resource.FindFieldByName(path) == nullptr) {
      return InvalidArgumentError("update_mask",
                                  absl::StrCat(path, " is not a field of ", resource.name()));
    } else if (rules.writable.count(path) == 0) {
      return InvalidArgumentError("update_mask", absl::StrCat(path, " is output only"));
    } else {
      paths.insert(path);
    }
  }
  return std::vector<std::string>(paths.begin(), paths.end());
}

void ApplyPaths(const google::protobuf::Message& source, const std::vector<std::string>& paths,
                google::protobuf::Message& target) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  for (const std::string& path : paths) {
    fields.push_back(target.GetDescriptor()->FindFieldByName(path));
  }
  std::unique_ptr<google::protobuf::Message> copy(source.New());
  copy->CopyFrom(source);
  // Swapping moves presence along with the values, so an unset field clears the target's.
  target.GetReflection()->SwapFields(copy.get(), &target, fields);
}

const MaskRules& OperatorMaskRules() {
  static const MaskRules* const rules =
      new MaskRules{.writable = {"display_name", "login", "role", "team", "skills", "endpoint",
                                 "languages", "disabled"},
                    .immutable = {"site"}};
  return *rules;
}

const MaskRules& TeamMaskRules() {
  static const MaskRules* const rules =
      new MaskRules{.writable = {"display_name", "supervisors"}, .immutable = {"site"}};
  return *rules;
}

const MaskRules& SkillMaskRules() {
  static const MaskRules* const rules =
      new MaskRules{.writable = {"display_name", "description"}, .immutable = {}};
  return *rules;
}

const MaskRules& QueueMaskRules() {
  static const MaskRules* const rules = new MaskRules{
      .writable = {"display_name", "description", "strategy", "ring_timeout", "wrap_up_time_limit",
                   "max_misses_before_not_ready", "disposition_codes", "service_level_threshold",
                   "service_level_target_percent", "short_abandon_threshold", "de_escalation_skill",
                   "de_escalation_min_level", "opening_hours", "required_skills", "dialled_numbers",
                   "default_priority", "vip_priority_boost", "tier_wait", "overflow"},
      .immutable = {"site"}};
  return *rules;
}

const MaskRules& MembershipMaskRules() {
  static const MaskRules* const rules = new MaskRules{
      .writable = {"tier", "penalty", "skill_level", "paused"}, .immutable = {"operator"}};
  return *rules;
}

}  // namespace contactcentre::calls
