#include "services/calls/campaigns.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <optional>
#include <pqxx/pqxx>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/calling_window.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/calls/handler_util.h"
#include "services/calls/json.h"
#include "services/calls/snapshot.h"

namespace contactcentre::calls {
namespace {

using common::InvalidArgumentError;
using google::protobuf::util::FieldMaskUtil;

constexpr char kCampaigns[] = "campaigns";
constexpr int kMaxBatch = 1000;
constexpr int kMaxRefusalsKept = 20;

#define MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// A page of a list read by offset; the token is bound to the request's filters.
struct OffsetPage {
  int32_t size = 0;
  int64_t offset = 0;
  std::string scope;
};

template <typename Request>
absl::StatusOr<OffsetPage> StartPage(absl::string_view method, const Request& request) {
  OffsetPage page;
  CC_ASSIGN_OR_RETURN(page.size, common::PageSize(request.page_size(), 100, 1000));
  Request filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  page.scope = absl::StrCat(method, "|", filters.ShortDebugString());
  CC_ASSIGN_OR_RETURN(std::string cursor,
                      common::DecodePageToken(request.page_token(), page.scope));
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &page.offset)) {
    return InvalidArgumentError("page_token", "malformed");
  }
  return page;
}

// Enum values as a PostgreSQL int[] literal, e.g. "{1,2}".
template <typename Values>
std::string IntArray(const Values& values) {
  std::vector<std::string> text;
  for (int value : values) text.push_back(absl::StrCat(value));
  return absl::StrCat("{", absl::StrJoin(text, ","), "}");
}

// Campaign resources have UUID ids: anything else cannot name one.
absl::StatusOr<std::string> RequiredUuid(absl::string_view name, absl::string_view collection,
                                         absl::string_view field) {
  CC_ASSIGN_OR_RETURN(std::string id, RequiredId(name, collection, field));
  if (!common::IsCanonicalUuid(id)) {
    return InvalidArgumentError(field, absl::StrCat("must be ", collection, "/{id}"));
  }
  return id;
}

struct EntryKey {
  std::string campaign_id;
  std::string entry_id;
};

// "campaigns/{c}/entries/{e}"; `allow_any` accepts "-" as the entry.
absl::StatusOr<EntryKey> ParseEntryName(absl::string_view name, absl::string_view field,
                                        bool allow_any = false) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != kCampaigns || parts[2] != "entries" ||
      !common::IsCanonicalUuid(parts[1]) ||
      !(common::IsCanonicalUuid(parts[3]) || (allow_any && parts[3] == "-"))) {
    return InvalidArgumentError(field, "must be campaigns/{campaign_id}/entries/{entry_id}");
  }
  return EntryKey{parts[1], parts[3] == "-" ? "" : parts[3]};
}

std::string CampaignName(absl::string_view id) { return absl::StrCat(kCampaigns, "/", id); }
std::string EntryName(absl::string_view campaign, absl::string_view entry) {
  return absl::StrCat(kCampaigns, "/", campaign, "/entries/", entry);
}
std::string CallbackName(absl::string_view id) { return absl::StrCat("callbacks/", id); }

absl::Duration DurationOf(const google::protobuf::Duration& value, absl::Duration fallback) {
  if (value.seconds() == 0 && value.nanos() == 0) return fallback;
  return absl::Seconds(value.seconds()) + absl::Nanoseconds(value.nanos());
}

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration proto;
  proto.set_seconds(absl::ToInt64Seconds(duration));
  return proto;
}

bool IsFinalEntryState(int state) { return state >= v1::CAMPAIGN_ENTRY_STATE_COMPLETED; }

template <typename Message>
Message Parse(const pqxx::field& field) {
  Message message;
  message.ParseFromString(common::BytesOf(field));
  return message;
}

v1::Campaign CampaignFromRow(const pqxx::row& row) {
  // id, body, state, etag, site
  v1::Campaign campaign = Parse<v1::Campaign>(row[1]);
  campaign.set_name(CampaignName(row[0].as<std::string>()));
  campaign.set_state(static_cast<v1::CampaignState>(row[2].as<int>()));
  campaign.set_etag(row[3].as<std::string>());
  campaign.set_site(row[4].as<std::string>());
  return campaign;
}
constexpr char kCampaignColumns[] = "id::text, body, state, etag, site";

v1::CampaignAttempt AttemptFromRow(const pqxx::row& row) {
  // campaign_id, entry_id, attempt_number, call_id, phone, operator_id, dial, answer, end,
  // outcome, disposition, ring_ms, adapter
  v1::CampaignAttempt attempt;
  attempt.set_name(absl::StrCat(EntryName(row[0].as<std::string>(), row[1].as<std::string>()),
                                "/attempts/", row[2].as<int>()));
  attempt.set_attempt_number(row[2].as<int>());
  attempt.set_call(CallName(row[3].as<std::string>()));
  attempt.mutable_phone_number()->set_e164(row[4].as<std::string>());
  if (!row[5].as<std::string>().empty())
    attempt.set_operator_(OperatorName(row[5].as<std::string>()));
  *attempt.mutable_dial_time() = common::TimestampFromMicros(row[6].as<int64_t>());
  if (!row[7].is_null()) {
    *attempt.mutable_answer_time() = common::TimestampFromMicros(row[7].as<int64_t>());
  }
  if (!row[8].is_null())
    *attempt.mutable_end_time() = common::TimestampFromMicros(row[8].as<int64_t>());
  attempt.set_outcome(static_cast<v1::DialOutcome>(row[9].as<int>()));
  attempt.set_disposition(row[10].as<std::string>());
  *attempt.mutable_ring_duration() = ProtoDuration(absl::Milliseconds(row[11].as<int64_t>()));
  attempt.set_telephony_adapter(row[12].as<std::string>());
  return attempt;
}
constexpr char kAttemptColumns[] =
    "campaign_id::text, entry_id::text, attempt_number, call_id::text, phone, "
    "operator_id, " MICROS("coalesce(sent_time, create_time)") ", " MICROS(
        "answer_time") ", " MICROS("end_time") ", outcome, disposition, ring_ms, adapter";

v1::CampaignEntry EntryFromRow(const pqxx::row& row) {
  // id, campaign_id, body, state, attempt_count, last_outcome, next_attempt, update, etag,
  // customer_id, phone, external_id, priority
  v1::CampaignEntry entry = Parse<v1::CampaignEntry>(row[2]);
  entry.set_name(EntryName(row[1].as<std::string>(), row[0].as<std::string>()));
  entry.set_state(static_cast<v1::CampaignEntryState>(row[3].as<int>()));
  entry.set_attempt_count(row[4].as<int>());
  entry.set_last_outcome(static_cast<v1::DialOutcome>(row[5].as<int>()));
  *entry.mutable_next_attempt_time() = common::TimestampFromMicros(row[6].as<int64_t>());
  *entry.mutable_update_time() = common::TimestampFromMicros(row[7].as<int64_t>());
  entry.set_etag(row[8].as<std::string>());
  if (!row[9].as<std::string>().empty())
    entry.set_customer(absl::StrCat("customers/", row[9].as<std::string>()));
  if (!row[10].as<std::string>().empty())
    entry.mutable_phone_number()->set_e164(row[10].as<std::string>());
  entry.set_external_id(row[11].as<std::string>());
  entry.set_priority(row[12].as<int>());
  if (!row[13].as<std::string>().empty()) {
    entry.set_assigned_operator(OperatorName(row[13].as<std::string>()));
  }
  return entry;
}
constexpr char kEntryColumns[] =
    "id::text, campaign_id::text, body, state, attempt_count, last_outcome, " MICROS(
        "next_attempt_time") ", " MICROS("update_time") ", etag, customer_id, phone, external_id, "
                                                        "priority, held_by";

v1::Callback CallbackFromRow(const pqxx::row& row) {
  // id, body, state, etag, update
  v1::Callback callback = Parse<v1::Callback>(row[1]);
  callback.set_name(CallbackName(row[0].as<std::string>()));
  callback.set_state(static_cast<v1::CallbackState>(row[2].as<int>()));
  callback.set_etag(row[3].as<std::string>());
  *callback.mutable_update_time() = common::TimestampFromMicros(row[4].as<int64_t>());
  return callback;
}
constexpr char kCallbackColumns[] = "id::text, body, state, etag, " MICROS("update_time");

absl::StatusOr<std::string> NormalizedNumber(const common::v1::PhoneNumber& number,
                                             absl::string_view region, absl::string_view field) {
  const std::string& raw = number.raw().empty() ? number.e164() : number.raw();
  CC_ASSIGN_OR_RETURN(common::NormalizedPhone phone, common::NormalizePhone(raw, region, field));
  return phone.e164;
}

// A zone for the region of a number, for raw numbers without a zone of their own: the region's
// most populous zone (libphonenumber's C++ API maps numbers to regions, not to zones).
std::string ZoneOfNumber(absl::string_view e164) {
  static const auto* const kZones = new absl::flat_hash_map<std::string, std::string>{
      {"+7", "Europe/Moscow"},    {"+375", "Europe/Minsk"},  {"+380", "Europe/Kyiv"},
      {"+44", "Europe/London"},   {"+49", "Europe/Berlin"},  {"+33", "Europe/Paris"},
      {"+1", "America/New_York"}, {"+998", "Asia/Tashkent"}, {"+996", "Asia/Bishkek"},
      {"+374", "Asia/Yerevan"},   {"+995", "Asia/Tbilisi"},  {"+371", "Europe/Riga"},
      {"+370", "Europe/Vilnius"}, {"+372", "Europe/Tallinn"}};
  for (int length = 4; length >= 2; --length) {
    if (static_cast<int>(e164.size()) < length) continue;
    auto it = kZones->find(std::string(e164.substr(0, length)));
    if (it != kZones->end()) {
      // Kazakhstan shares +7 with Russia: +76 and +77.
      if (it->first == "+7" && e164.size() > 2 && (e164[2] == '6' || e164[2] == '7')) {
        return "Asia/Almaty";
      }
      return it->second;
    }
  }
  return "";
}

absl::Status ValidateCampaign(const v1::Campaign& campaign, absl::string_view prefix) {
  auto at = [&](absl::string_view field) { return absl::StrCat(prefix, ".", field); };
  if (campaign.display_name().empty()) return InvalidArgumentError(at("display_name"), "required");
  if (campaign.display_name().size() > 200) {
    return InvalidArgumentError(at("display_name"), "at most 200 bytes");
  }
  if (campaign.purpose() == v1::CAMPAIGN_PURPOSE_UNSPECIFIED) {
    return InvalidArgumentError(at("purpose"), "required");
  }
  if (campaign.dial_mode() == v1::DIAL_MODE_UNSPECIFIED) {
    return InvalidArgumentError(at("dial_mode"), "required");
  }
  if (campaign.queue().empty()) return InvalidArgumentError(at("queue"), "required");
  if (IdOf(campaign.queue(), "queues").empty()) {
    return InvalidArgumentError(at("queue"), "must be queues/{queue_id}");
  }
  for (int i = 0; i < campaign.operators_size(); ++i) {
    if (!common::IsCanonicalUuid(IdOf(campaign.operators(i), "operators"))) {
      return InvalidArgumentError(at(absl::StrCat("operators[", i, "]")),
                                  "must be operators/{operator_id}");
    }
  }
  if (campaign.script().size() > 65536) return InvalidArgumentError(at("script"), "at most 64 KiB");
  if (campaign.operator_notes().size() > 65536) {
    return InvalidArgumentError(at("operator_notes"), "at most 64 KiB");
  }
  bool has_done = false;
  absl::flat_hash_map<std::string, int> codes;
  for (int i = 0; i < campaign.dispositions_size(); ++i) {
    const v1::DispositionCode& code = campaign.dispositions(i);
    const std::string field = at(absl::StrCat("dispositions[", i, "].code"));
    if (code.code().empty() || code.code().size() > 64 ||
        !std::all_of(code.code().begin(), code.code().end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      return InvalidArgumentError(field, "1..64 characters of [a-z0-9_]");
    }
    if (!codes.emplace(code.code(), i).second) {
      return InvalidArgumentError(field, absl::StrCat("duplicate code ", code.code()));
    }
    if (code.effect() == v1::DISPOSITION_EFFECT_UNSPECIFIED) {
      return InvalidArgumentError(at(absl::StrCat("dispositions[", i, "].effect")), "required");
    }
    has_done |= !code.disabled() && code.effect() == v1::DISPOSITION_EFFECT_DONE;
  }
  if (!has_done) {
    return InvalidArgumentError(at("dispositions"), "at least one enabled code with effect DONE");
  }
  if (campaign.has_schedule()) {
    CC_RETURN_IF_ERROR(common::ValidateCallingWindow(campaign.schedule(), at("schedule"),
                                                     campaign.schedule().time_zone()));
  }
  if (campaign.has_customer_calling_window()) {
    CC_RETURN_IF_ERROR(common::ValidateCallingWindow(
        campaign.customer_calling_window(), at("customer_calling_window"),
        campaign.customer_calling_window().time_zone()));
  }
  const v1::PacingSettings& pacing = campaign.pacing();
  if (pacing.max_drop_rate() < 0 || pacing.max_drop_rate() > 0.1) {
    return InvalidArgumentError(at("pacing.max_drop_rate"), "must be in (0, 0.1]");
  }
  if (pacing.max_dial_ratio() != 0 &&
      (pacing.max_dial_ratio() < 1 || pacing.max_dial_ratio() > 10)) {
    return InvalidArgumentError(at("pacing.max_dial_ratio"), "must be 1.0 .. 10.0");
  }
  if (pacing.initial_dial_ratio() != 0 &&
      (pacing.initial_dial_ratio() < 1 || pacing.initial_dial_ratio() > 10)) {
    return InvalidArgumentError(at("pacing.initial_dial_ratio"), "must be 1.0 .. 10.0");
  }
  if (pacing.has_adjust_interval()) {
    const absl::Duration interval = DurationOf(pacing.adjust_interval(), absl::Seconds(5));
    if (interval < absl::Seconds(1) || interval > absl::Seconds(60)) {
      return InvalidArgumentError(at("pacing.adjust_interval"), "must be 1 s .. 60 s");
    }
  }
  if (pacing.max_concurrent_dials() < 0) {
    return InvalidArgumentError(at("pacing.max_concurrent_dials"), "must not be negative");
  }
  const v1::AttemptPolicy& policy = campaign.attempt_policy();
  if (policy.max_attempts_per_entry() < 0 || policy.max_attempts_per_entry() > 100) {
    return InvalidArgumentError(at("attempt_policy.max_attempts_per_entry"), "must be 0..100");
  }
  if (policy.max_attempts_per_number_per_day() < 0 ||
      policy.max_attempts_per_number_per_day() > 100) {
    return InvalidArgumentError(at("attempt_policy.max_attempts_per_number_per_day"),
                                "must be 0..100");
  }
  absl::flat_hash_map<int, int> outcomes;
  for (int i = 0; i < policy.retry_rules_size(); ++i) {
    const v1::RetryRule& rule = policy.retry_rules(i);
    const std::string field = at(absl::StrCat("attempt_policy.retry_rules[", i, "]"));
    if (rule.outcome() == v1::DIAL_OUTCOME_UNSPECIFIED ||
        rule.outcome() == v1::DIAL_OUTCOME_SKIPPED) {
      return InvalidArgumentError(absl::StrCat(field, ".outcome"), "required, not SKIPPED");
    }
    if (!outcomes.emplace(rule.outcome(), i).second) {
      return InvalidArgumentError(
          field,
          absl::StrCat("duplicate outcome ",
                       absl::StripPrefix(v1::DialOutcome_Name(rule.outcome()), "DIAL_OUTCOME_")));
    }
    if (rule.backoff_multiplier() < 0 || rule.backoff_multiplier() > 10) {
      return InvalidArgumentError(absl::StrCat(field, ".backoff_multiplier"), "must be 0..10");
    }
    if (rule.delay().seconds() < 0) {
      return InvalidArgumentError(absl::StrCat(field, ".delay"), "must not be negative");
    }
  }
  if (campaign.has_call_priority() &&
      (campaign.call_priority() < 0 || campaign.call_priority() > 9)) {
    return InvalidArgumentError(at("call_priority"), "must be 0..9");
  }
  return absl::OkStatus();
}

// Checks the queue and the operators of a campaign; returns the queue's site.
absl::StatusOr<std::string> CheckQueueAndOperators(pqxx::work& txn, const v1::Campaign& campaign) {
  const std::string queue_id = IdOf(campaign.queue(), "queues");
  pqxx::result queue = txn.exec_params(
      "SELECT site, delete_time IS NOT NULL FROM queues WHERE id = $1::uuid", queue_id);
  if (queue.empty()) return absl::NotFoundError(absl::StrCat("queue ", campaign.queue()));
  if (queue[0][1].as<bool>()) {
    return absl::FailedPreconditionError(
        absl::StrCat("QUEUE_DELETED: ", campaign.queue(), " is deleted"));
  }
  for (const std::string& name : campaign.operators()) {
    const std::string id = IdOf(name, "operators");
    pqxx::result found = txn.exec_params(
        "SELECT EXISTS (SELECT 1 FROM operators WHERE id = $1::uuid AND delete_time IS NULL), "
        "EXISTS (SELECT 1 FROM queue_memberships WHERE queue_id = $2::uuid AND "
        "operator_id = $1::uuid)",
        id, queue_id);
    if (!found[0][0].as<bool>()) return absl::NotFoundError(absl::StrCat("operator ", name));
    if (!found[0][1].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("NOT_A_MEMBER: ", name, " is not a member of ", campaign.queue()));
    }
  }
  return queue[0][0].as<std::string>();
}

template <typename Response>
absl::StatusOr<std::optional<Response>> Earlier(pqxx::work& txn, absl::string_view method,
                                                absl::string_view request_id,
                                                const google::protobuf::Message& request) {
  CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, method, request_id, request));
  if (!earlier) return std::optional<Response>();
  Response response;
  response.ParseFromString(*earlier);
  return std::optional<Response>(std::move(response));
}

absl::StatusOr<v1::Campaign> LoadCampaignTx(pqxx::transaction_base& txn, absl::string_view id,
                                            bool lock) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kCampaignColumns, " FROM campaigns WHERE id = $1::uuid",
                   lock ? " FOR UPDATE" : ""),
      std::string(id));
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("campaign ", CampaignName(id)));
  return CampaignFromRow(rows[0]);
}

absl::Status CheckEtag(absl::string_view given, absl::string_view stored) {
  if (!given.empty() && given != stored) {
    return absl::AbortedError(absl::StrCat("etag ", given, " is stale (now ", stored, ")"));
  }
  return absl::OkStatus();
}

absl::Time Now() { return absl::Now(); }

int64_t Micros(absl::Time time) { return absl::ToUnixMicros(time); }

const v1::DispositionCode* FindCode(const v1::Campaign& campaign, absl::string_view code) {
  for (const v1::DispositionCode& candidate : campaign.dispositions()) {
    if (candidate.code() == code) return &candidate;
  }
  return nullptr;
}

}  // namespace

struct CampaignsGrpcService::DialPlan {
  std::string call_id;
  std::string number;
  std::string customer;  // "customers/{id}" or ""
  std::string op;        // the operator it is dialled for (preview), or ""
  bool pick = false;     // choose an operator now
  std::vector<std::string> candidates;
  std::string queue_id;
  std::string campaign_id;
  std::string entry_id;
  std::string callback_id;
  int priority = 9;
  std::string codes_json;
  v1::DialRequest request;
};

CampaignsGrpcService::CampaignsGrpcService(Router* router, common::PgPool* pg,
                                           CustomersClient* customers,
                                           const common::EventPublisher* events,
                                           common::OutboxRelay* outbox, CampaignsOptions options)
    : router_(router),
      pg_(pg),
      customers_(customers),
      events_(events),
      outbox_(outbox),
      options_(std::move(options)),
      lease_owner_(common::NewId()) {}

CampaignsGrpcService::~CampaignsGrpcService() { Stop(); }

absl::Status CampaignsGrpcService::Publish(pqxx::work& txn, events::v1::Event event) const {
  if (events_ == nullptr) return absl::OkStatus();
  return common::EnqueueEvent(txn, *events_, event);
}

void CampaignsGrpcService::Start() {
  dialler_ = std::thread([this] {
    while (!stopping_.load()) {
      if (absl::Status status = DialOnce(); !status.ok()) {
        common::LogWarning("campaign dialler pass failed", {{"error", status}});
      }
      absl::SleepFor(options_.dial_interval);
    }
  });
}

void CampaignsGrpcService::Stop() {
  stopping_.store(true);
  if (dialler_.joinable()) dialler_.join();
}

absl::StatusOr<v1::Campaign> CampaignsGrpcService::LoadCampaign(absl::string_view id) {
  return pg_->Query([&](pqxx::nontransaction& query) { return LoadCampaignTx(query, id, false); });
}

// ---- Campaigns ------------------------------------------------------------------------------

grpc::Status CampaignsGrpcService::CreateCampaign(grpc::ServerContext*,
                                                  const v1::CreateCampaignRequest* request,
                                                  v1::Campaign* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Campaign> {
    CC_RETURN_IF_ERROR(ValidateCampaign(request->campaign(), "campaign"));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
      CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Campaign>(txn, "CreateCampaign",
                                                              request->request_id(), *request));
      if (earlier) return *earlier;
      CC_ASSIGN_OR_RETURN(std::string site, CheckQueueAndOperators(txn, request->campaign()));
      if (!txn.exec_params("SELECT 1 FROM campaigns WHERE site = $1 AND lower(display_name) = "
                           "lower($2)",
                           site, request->campaign().display_name())
               .empty()) {
        return absl::AlreadyExistsError(absl::StrCat("campaign.display_name: '",
                                                     request->campaign().display_name(),
                                                     "' is taken in site ", site));
      }
      v1::Campaign campaign = request->campaign();
      const std::string id = common::NewId();
      campaign.clear_start_time();
      campaign.clear_end_time();
      campaign.clear_name();
      campaign.clear_etag();
      campaign.set_state(v1::CAMPAIGN_STATE_DRAFT);
      campaign.set_site(site);
      *campaign.mutable_create_time() = common::TimestampFromTime(Now());
      *campaign.mutable_update_time() = campaign.create_time();
      txn.exec_params(
          "INSERT INTO campaigns (id, site, display_name, state, queue_id, dial_mode, purpose, "
          "body, create_time) VALUES ($1::uuid, $2, $3, 1, $4, $5, $6, $7, now())",
          id, site, campaign.display_name(), IdOf(campaign.queue(), "queues"),
          static_cast<int>(campaign.dial_mode()), static_cast<int>(campaign.purpose()),
          common::PgBytes(campaign.SerializeAsString()));
      campaign.set_name(CampaignName(id));
      campaign.set_etag("1");
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreateCampaign", request->request_id(),
                                                     *request, campaign));
      return campaign;
    });
  }();
  return Reply(std::move(result), response, "CreateCampaign");
}

grpc::Status CampaignsGrpcService::GetCampaign(grpc::ServerContext*,
                                               const v1::GetCampaignRequest* request,
                                               v1::Campaign* response) {
  auto result = [&]() -> absl::StatusOr<v1::Campaign> {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(request->name(), kCampaigns, "name"));
    return LoadCampaign(id);
  }();
  return Reply(std::move(result), response, "GetCampaign");
}

grpc::Status CampaignsGrpcService::ListCampaigns(grpc::ServerContext*,
                                                 const v1::ListCampaignsRequest* request,
                                                 v1::ListCampaignsResponse* response) {
  auto result = [&]() -> absl::StatusOr<v1::ListCampaignsResponse> {
    CC_ASSIGN_OR_RETURN(OffsetPage paging, StartPage("ListCampaigns", *request));
    const int32_t page_size = paging.size;
    const int64_t offset = paging.offset;
    const std::string& scope = paging.scope;
    const std::string states = IntArray(request->states());
    return pg_->Query(
        [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListCampaignsResponse> {
          pqxx::result rows = query.exec_params(
              absl::StrCat("SELECT ", kCampaignColumns,
                           " FROM campaigns WHERE ($1 = '' OR site = $1) "
                           "AND (cardinality($2::int[]) = 0 OR state = ANY($2::int[])) AND "
                           "($3 = 0 OR purpose = $3) AND ($4 = '' OR queue_id = $4) "
                           "ORDER BY create_time DESC, id LIMIT $5 OFFSET $6"),
              request->site(), states, static_cast<int>(request->purpose()),
              IdOf(request->queue(), "queues"), page_size + 1, offset);
          v1::ListCampaignsResponse page;
          const std::string op = request->operator_();
          for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
            v1::Campaign campaign = CampaignFromRow(rows[i]);
            if (!op.empty() && !campaign.operators().empty() &&
                std::find(campaign.operators().begin(), campaign.operators().end(), op) ==
                    campaign.operators().end()) {
              continue;
            }
            *page.add_campaigns() = std::move(campaign);
          }
          if (static_cast<int>(rows.size()) > page_size) {
            page.set_next_page_token(
                common::EncodePageToken(scope, absl::StrCat(offset + page_size)));
          }
          return page;
        });
  }();
  return Reply(std::move(result), response, "ListCampaigns");
}

grpc::Status CampaignsGrpcService::UpdateCampaign(grpc::ServerContext*,
                                                  const v1::UpdateCampaignRequest* request,
                                                  v1::Campaign* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Campaign> {
    CC_ASSIGN_OR_RETURN(std::string id,
                        RequiredUuid(request->campaign().name(), kCampaigns, "campaign.name"));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    static const auto* const kOutputOnly = new absl::flat_hash_set<std::string>{
        "name", "state", "site", "create_time", "update_time", "start_time", "end_time", "etag"};
    if (request->update_mask().paths().empty()) {
      return InvalidArgumentError("update_mask", "required");
    }
    for (const std::string& path : request->update_mask().paths()) {
      const std::string top = path.substr(0, path.find('.'));
      if (kOutputOnly->contains(top)) {
        return InvalidArgumentError("update_mask", absl::StrCat(path, " is output only"));
      }
      if (!FieldMaskUtil::GetFieldDescriptors(v1::Campaign::descriptor(), path, nullptr)) {
        return InvalidArgumentError("update_mask", absl::StrCat("unknown path ", path));
      }
    }
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
      CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Campaign>(txn, "UpdateCampaign",
                                                              request->request_id(), *request));
      if (earlier) return *earlier;
      CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, id, true));
      CC_RETURN_IF_ERROR(CheckEtag(request->campaign().etag(), campaign.etag()));
      if (campaign.state() == v1::CAMPAIGN_STATE_STOPPED ||
          campaign.state() == v1::CAMPAIGN_STATE_COMPLETED) {
        return absl::FailedPreconditionError(
            absl::StrCat("CAMPAIGN_ENDED: ", campaign.name(), " has ended"));
      }
      for (const std::string& path : request->update_mask().paths()) {
        if ((path == "queue" || path == "dial_mode") &&
            campaign.state() == v1::CAMPAIGN_STATE_RUNNING) {
          return absl::FailedPreconditionError(
              absl::StrCat("CAMPAIGN_RUNNING: pause ", campaign.name(), " to change ", path));
        }
      }
      FieldMaskUtil::MergeOptions options;
      options.set_replace_repeated_fields(true);
      options.set_replace_message_fields(true);
      v1::Campaign updated = campaign;
      FieldMaskUtil::MergeMessageTo(request->campaign(), request->update_mask(), options, &updated);
      CC_RETURN_IF_ERROR(ValidateCampaign(updated, "campaign"));
      CC_RETURN_IF_ERROR(CheckQueueAndOperators(txn, updated).status());
      *updated.mutable_update_time() = common::TimestampFromTime(Now());
      pqxx::result rows = txn.exec_params(
          "UPDATE campaigns SET display_name = $2, queue_id = $3, dial_mode = $4, purpose = $5, "
          "body = $6, etag = etag + 1 WHERE id = $1::uuid RETURNING etag",
          id, updated.display_name(), IdOf(updated.queue(), "queues"),
          static_cast<int>(updated.dial_mode()), static_cast<int>(updated.purpose()),
          common::PgBytes(updated.SerializeAsString()));
      updated.set_etag(rows[0][0].as<std::string>());
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "UpdateCampaign", request->request_id(),
                                                     *request, updated));
      return updated;
    });
  }();
  return Reply(std::move(result), response, "UpdateCampaign");
}

grpc::Status CampaignsGrpcService::DeleteCampaign(grpc::ServerContext*,
                                                  const v1::DeleteCampaignRequest* request,
                                                  google::protobuf::Empty*) {
  common::ScopedRequestId scope(request->request_id());
  absl::Status status = [&]() -> absl::Status {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(request->name(), kCampaigns, "name"));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      CC_ASSIGN_OR_RETURN(
          auto earlier,
          Earlier<google::protobuf::Empty>(txn, "DeleteCampaign", request->request_id(), *request));
      if (earlier) return absl::OkStatus();
      CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, id, true));
      CC_RETURN_IF_ERROR(CheckEtag(request->etag(), campaign.etag()));
      if (campaign.state() == v1::CAMPAIGN_STATE_RUNNING ||
          campaign.state() == v1::CAMPAIGN_STATE_PAUSED) {
        return absl::FailedPreconditionError(
            absl::StrCat("CAMPAIGN_ACTIVE: stop ", campaign.name(), " first"));
      }
      // Dials keep their rows for the per-number limits; only the link goes.
      txn.exec_params("UPDATE dials SET campaign_id = NULL WHERE campaign_id = $1::uuid", id);
      txn.exec_params("DELETE FROM campaigns WHERE id = $1::uuid", id);
      return common::SaveRequestResponse(txn, "DeleteCampaign", request->request_id(), *request,
                                         google::protobuf::Empty());
    });
  }();
  return Reply(status, "DeleteCampaign");
}

absl::StatusOr<v1::Campaign> CampaignsGrpcService::ChangeState(
    absl::string_view method, absl::string_view name, absl::string_view etag,
    absl::string_view request_id, const google::protobuf::Message& request,
    v1::CampaignState target) {
  CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(name, kCampaigns, "name"));
  CC_RETURN_IF_ERROR(CheckRequestId(request_id));
  bool cancel_dials = false;
  absl::StatusOr<v1::Campaign> result = pg_->Transact([&](pqxx::work& txn)
                                                          -> absl::StatusOr<v1::Campaign> {
    cancel_dials = false;
    CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Campaign>(txn, method, request_id, request));
    if (earlier) return *earlier;
    CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, id, true));
    CC_RETURN_IF_ERROR(CheckEtag(etag, campaign.etag()));
    const v1::CampaignState state = campaign.state();
    const bool ended = state == v1::CAMPAIGN_STATE_STOPPED || state == v1::CAMPAIGN_STATE_COMPLETED;
    if (state == target) return campaign;
    switch (target) {
      case v1::CAMPAIGN_STATE_RUNNING: {
        if (ended) {
          return absl::FailedPreconditionError(
              absl::StrCat("CAMPAIGN_ENDED: ", campaign.name(), " has ended"));
        }
        CC_RETURN_IF_ERROR(CheckQueueAndOperators(txn, campaign).status());
        if (txn.exec_params("SELECT 1 FROM campaign_entries WHERE campaign_id = $1::uuid "
                            "LIMIT 1",
                            id)
                .empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("NO_ENTRIES: the contact list of ", campaign.name(), " is empty"));
        }
        if (!campaign.has_start_time()) {
          *campaign.mutable_start_time() = common::TimestampFromTime(Now());
        }
        break;
      }
      case v1::CAMPAIGN_STATE_PAUSED:
        if (state != v1::CAMPAIGN_STATE_RUNNING) {
          return absl::FailedPreconditionError(absl::StrCat(
              "CAMPAIGN_NOT_RUNNING: ", campaign.name(), " is ", v1::CampaignState_Name(state)));
        }
        cancel_dials = true;
        break;
      case v1::CAMPAIGN_STATE_STOPPED:
        if (state == v1::CAMPAIGN_STATE_COMPLETED) {
          return absl::FailedPreconditionError(
              absl::StrCat("CAMPAIGN_ENDED: ", campaign.name(), " is completed"));
        }
        if (state == v1::CAMPAIGN_STATE_DRAFT) {
          return absl::FailedPreconditionError(
              absl::StrCat("CAMPAIGN_DRAFT: delete the draft ", campaign.name(), " instead"));
        }
        *campaign.mutable_end_time() = common::TimestampFromTime(Now());
        txn.exec_params(
            "UPDATE campaign_entries SET state = $2, update_time = now(), etag = etag + 1 "
            "WHERE campaign_id = $1::uuid AND state IN (1, 2)",
            id, static_cast<int>(v1::CAMPAIGN_ENTRY_STATE_CANCELLED));
        cancel_dials = true;
        break;
      default:
        return absl::InternalError("unexpected target state");
    }
    events::v1::Event event;
    auto* changed = event.mutable_campaign_state_changed();
    changed->set_campaign(campaign.name());
    changed->set_previous_state(state);
    changed->set_state(target);
    changed->set_changed_by(method == "StopCampaign" && request_id.empty() ? "services/calls" : "");
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    if (cancel_dials) {
      // In this transaction: an adapter holding a dial hears of it even if this replica dies
      // right after the commit (ready dials are no longer streamed either).
      txn.exec_params(
          "UPDATE dials SET cancel_requested = true WHERE campaign_id = $1::uuid AND state = "
          "'sent'",
          id);
    }
    campaign.set_state(target);
    *campaign.mutable_update_time() = common::TimestampFromTime(Now());
    pqxx::result rows = txn.exec_params(
        "UPDATE campaigns SET state = $2, body = $3, etag = etag + 1 WHERE id = $1::uuid "
        "RETURNING etag",
        id, static_cast<int>(target), common::PgBytes(campaign.SerializeAsString()));
    campaign.set_etag(rows[0][0].as<std::string>());
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, method, request_id, request, campaign));
    return campaign;
  });
  if (result.ok() && outbox_ != nullptr) outbox_->Notify();
  if (result.ok() && cancel_dials) {
    if (absl::Status cancelled = CancelPendingDials(id); !cancelled.ok()) {
      common::LogWarning("cancelling a campaign's dials", {{"error", cancelled}});
    }
  }
  if (result.ok()) {
    common::LogInfo("campaign state", {{"campaign", result->name()},
                                       {"state", v1::CampaignState_Name(result->state())}});
  }
  return result;
}

grpc::Status CampaignsGrpcService::StartCampaign(grpc::ServerContext*,
                                                 const v1::StartCampaignRequest* request,
                                                 v1::Campaign* response) {
  common::ScopedRequestId scope(request->request_id());
  return Reply(ChangeState("StartCampaign", request->name(), request->etag(), request->request_id(),
                           *request, v1::CAMPAIGN_STATE_RUNNING),
               response, "StartCampaign");
}

grpc::Status CampaignsGrpcService::PauseCampaign(grpc::ServerContext*,
                                                 const v1::PauseCampaignRequest* request,
                                                 v1::Campaign* response) {
  common::ScopedRequestId scope(request->request_id());
  return Reply(ChangeState("PauseCampaign", request->name(), request->etag(), request->request_id(),
                           *request, v1::CAMPAIGN_STATE_PAUSED),
               response, "PauseCampaign");
}

grpc::Status CampaignsGrpcService::StopCampaign(grpc::ServerContext*,
                                                const v1::StopCampaignRequest* request,
                                                v1::Campaign* response) {
  common::ScopedRequestId scope(request->request_id());
  return Reply(ChangeState("StopCampaign", request->name(), request->etag(), request->request_id(),
                           *request, v1::CAMPAIGN_STATE_STOPPED),
               response, "StopCampaign");
}

absl::Status CampaignsGrpcService::CancelPendingDials(absl::string_view campaign_id) {
  CC_ASSIGN_OR_RETURN(
      pqxx::result rows,
      pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::result> {
        return query.exec_params(
            "SELECT call_id::text FROM dials WHERE campaign_id = $1::uuid AND state IN ('new', "
            "'ready')",
            std::string(campaign_id));
      }));
  for (const pqxx::row& row : rows) {
    CC_RETURN_IF_ERROR(UndoClaim(row[0].as<std::string>(), "campaign paused or stopped"));
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE dials SET cancel_requested = true WHERE campaign_id = $1::uuid AND state = 'sent'",
        std::string(campaign_id));
    return absl::OkStatus();
  });
}

// ---- Entries --------------------------------------------------------------------------------

namespace {

struct EntryInsert {
  v1::CampaignEntry entry;
  std::string customer_id;
  std::string phone;
};

absl::StatusOr<EntryInsert> PrepareEntry(const v1::CampaignEntry& given, absl::string_view prefix,
                                         absl::string_view region) {
  auto at = [&](absl::string_view field) { return absl::StrCat(prefix, ".", field); };
  EntryInsert insert;
  if (given.customer().empty() && given.phone_number().raw().empty() &&
      given.phone_number().e164().empty()) {
    return InvalidArgumentError(prefix, "set customer or phone_number");
  }
  if (!given.customer().empty()) {
    insert.customer_id = IdOf(given.customer(), "customers");
    if (insert.customer_id.empty() || insert.customer_id.size() > 64) {
      return InvalidArgumentError(at("customer"), "must be customers/{customer_id}");
    }
  }
  if (!given.phone_number().raw().empty() || !given.phone_number().e164().empty()) {
    absl::StatusOr<std::string> phone =
        NormalizedNumber(given.phone_number(), region, at("phone_number"));
    if (!phone.ok()) return InvalidArgumentError(at("phone_number"), "not a valid number");
    insert.phone = *phone;
  }
  if (given.priority() < 0 || given.priority() > 9) {
    return InvalidArgumentError(at("priority"), "must be 0..9");
  }
  if (given.external_id().size() > 128) {
    return InvalidArgumentError(at("external_id"), "at most 128 bytes");
  }
  if (given.display_name().size() > 200) {
    return InvalidArgumentError(at("display_name"), "at most 200 bytes");
  }
  if (given.display_attributes_size() > 50 || given.attributes_size() > 50) {
    return InvalidArgumentError(at("attributes"), "at most 50 attributes");
  }
  if (!given.time_zone().empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(given.time_zone(), &zone)) {
      return InvalidArgumentError(at("time_zone"), "not an IANA time zone");
    }
  }
  insert.entry.set_display_name(given.display_name());
  *insert.entry.mutable_display_attributes() = given.display_attributes();
  *insert.entry.mutable_attributes() = given.attributes();
  insert.entry.set_time_zone(given.time_zone());
  *insert.entry.mutable_create_time() = common::TimestampFromTime(Now());
  return insert;
}

// Inserts an entry unless it duplicates one (external id, customer or number): then the
// duplicate's description.
absl::StatusOr<std::optional<std::string>> InsertEntry(pqxx::work& txn,
                                                       absl::string_view campaign_id,
                                                       const EntryInsert& insert,
                                                       const v1::CampaignEntry& given,
                                                       std::string* id_out) {
  pqxx::result duplicate = txn.exec_params(
      "SELECT CASE WHEN $2 <> '' AND external_id = $2 THEN 'external_id ' || $2 "
      "WHEN $3 <> '' AND customer_id = $3 THEN 'customer customers/' || $3 "
      "ELSE 'number ' || phone END FROM campaign_entries WHERE campaign_id = $1::uuid AND "
      "(($2 <> '' AND external_id = $2) OR ($3 <> '' AND customer_id = $3) OR "
      "($4 <> '' AND phone = $4)) LIMIT 1",
      std::string(campaign_id), given.external_id(), insert.customer_id, insert.phone);
  if (!duplicate.empty()) return std::optional<std::string>(duplicate[0][0].as<std::string>());
  const std::string id = common::NewId();
  txn.exec_params(
      "INSERT INTO campaign_entries (id, campaign_id, customer_id, phone, external_id, priority, "
      "state, next_attempt_time, body, update_time) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, "
      "1, now(), $7, now())",
      id, std::string(campaign_id), insert.customer_id, insert.phone, given.external_id(),
      given.priority(), common::PgBytes(insert.entry.SerializeAsString()));
  *id_out = id;
  return std::optional<std::string>();
}

absl::StatusOr<v1::CampaignEntry> LoadEntryTx(pqxx::transaction_base& txn,
                                              absl::string_view campaign_id,
                                              absl::string_view entry_id, bool with_history) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kEntryColumns,
                   " FROM campaign_entries WHERE id = $1::uuid AND campaign_id = $2::uuid"),
      std::string(entry_id), std::string(campaign_id));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("entry ", EntryName(campaign_id, entry_id)));
  }
  v1::CampaignEntry entry = EntryFromRow(rows[0]);
  if (!with_history) {
    entry.clear_attempts();
    entry.clear_refusals();
    return entry;
  }
  pqxx::result attempts = txn.exec_params(
      absl::StrCat("SELECT ", kAttemptColumns,
                   " FROM dials WHERE entry_id = $1::uuid AND state <> 'cancelled' ORDER BY "
                   "attempt_number"),
      std::string(entry_id));
  for (const pqxx::row& row : attempts) *entry.add_attempts() = AttemptFromRow(row);
  return entry;
}

absl::StatusOr<v1::Campaign> CampaignForEntries(pqxx::work& txn, absl::string_view campaign_id) {
  // Shared lock: the dialler's completion (FOR UPDATE) waits for entries being added.
  txn.exec_params("SELECT 1 FROM campaigns WHERE id = $1::uuid FOR SHARE",
                  std::string(campaign_id));
  CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, campaign_id, false));
  if (campaign.state() == v1::CAMPAIGN_STATE_STOPPED ||
      campaign.state() == v1::CAMPAIGN_STATE_COMPLETED) {
    return absl::FailedPreconditionError(
        absl::StrCat("CAMPAIGN_ENDED: ", campaign.name(), " has ended"));
  }
  return campaign;
}

}  // namespace

grpc::Status CampaignsGrpcService::CreateCampaignEntry(
    grpc::ServerContext*, const v1::CreateCampaignEntryRequest* request,
    v1::CampaignEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::CampaignEntry> {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->parent(), kCampaigns, "parent"));
    CC_ASSIGN_OR_RETURN(EntryInsert insert,
                        PrepareEntry(request->entry(), "entry", options_.default_region));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::CampaignEntry> {
      CC_ASSIGN_OR_RETURN(
          auto earlier,
          Earlier<v1::CampaignEntry>(txn, "CreateCampaignEntry", request->request_id(), *request));
      if (earlier) return *earlier;
      CC_RETURN_IF_ERROR(CampaignForEntries(txn, campaign_id).status());
      std::string id;
      CC_ASSIGN_OR_RETURN(auto duplicate,
                          InsertEntry(txn, campaign_id, insert, request->entry(), &id));
      if (duplicate) {
        return absl::AlreadyExistsError(
            absl::StrCat("the campaign already has an entry with ", *duplicate));
      }
      CC_ASSIGN_OR_RETURN(v1::CampaignEntry entry, LoadEntryTx(txn, campaign_id, id, true));
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreateCampaignEntry",
                                                     request->request_id(), *request, entry));
      return entry;
    });
  }();
  return Reply(std::move(result), response, "CreateCampaignEntry");
}

absl::StatusOr<v1::ImportCampaignEntriesResponse> CampaignsGrpcService::ImportByFilter(
    absl::string_view campaign_id, const v1::ImportCampaignEntriesRequest& request) {
  const v1::CustomerFilter& filter = request.customer_filter();
  if (filter.all_tags().empty() && filter.any_tags().empty()) {
    return InvalidArgumentError("customer_filter", "set all_tags or any_tags");
  }
  if (filter.all_tags_size() > 10) {
    return InvalidArgumentError("customer_filter.all_tags", "at most 10 tags");
  }
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  auto lower = [](absl::string_view tag) { return absl::AsciiStrToLower(tag); };
  absl::flat_hash_set<std::string> any;
  absl::flat_hash_set<std::string> excluded;
  for (const std::string& tag : filter.any_tags()) any.insert(lower(tag));
  for (const std::string& tag : filter.excluded_tags()) excluded.insert(lower(tag));
  // A repeat of a finished import answers what it did.
  CC_ASSIGN_OR_RETURN(auto earlier, pg_->Transact([&](pqxx::work& txn) {
    return Earlier<v1::ImportCampaignEntriesResponse>(txn, "ImportCampaignEntries",
                                                      request.request_id(), request);
  }));
  if (earlier) return *earlier;
  CC_RETURN_IF_ERROR(pg_->Query([&](pqxx::nontransaction& query) -> absl::Status {
    return LoadCampaignTx(query, campaign_id, false).status();
  }));
  v1::ImportCampaignEntriesResponse answer;
  customers::v1::ListCustomersRequest list;
  list.set_page_size(1000);
  *list.mutable_tags() = filter.all_tags();
  do {
    CC_ASSIGN_OR_RETURN(customers::v1::ListCustomersResponse page, customers_->ListCustomers(list));
    // Each page commits on its own: an interrupted import is resumed by its repeat, which
    // skips what is already in the list.
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      CC_RETURN_IF_ERROR(CampaignForEntries(txn, campaign_id).status());
      for (const customers::v1::Customer& card : page.customers()) {
        bool has_any = any.empty();
        bool has_excluded = false;
        for (const std::string& tag : card.tags()) {
          has_any |= any.contains(lower(tag));
          has_excluded |= excluded.contains(lower(tag));
        }
        if (!has_any || has_excluded) continue;
        answer.set_matched_customers(answer.matched_customers() + 1);
        std::string phone;
        for (const auto& number : card.phones()) {
          if (!number.number().e164().empty()) {
            phone = number.number().e164();
            break;
          }
        }
        if (phone.empty()) {
          v1::ImportRowError* error = answer.add_errors();
          error->set_index(-1);
          error->set_customer(card.name());
          error->set_message("customer: no phone");
          continue;
        }
        v1::CampaignEntry given = request.entry_template();
        given.clear_external_id();
        given.set_customer(card.name());
        given.mutable_phone_number()->set_e164(phone);
        if (given.display_name().empty()) given.set_display_name(card.display_name());
        absl::StatusOr<EntryInsert> insert = PrepareEntry(given, "entry", options_.default_region);
        if (!insert.ok()) {
          v1::ImportRowError* error = answer.add_errors();
          error->set_index(-1);
          error->set_customer(card.name());
          error->set_message(std::string(insert.status().message()));
          continue;
        }
        std::string id;
        CC_ASSIGN_OR_RETURN(auto duplicate, InsertEntry(txn, campaign_id, *insert, given, &id));
        if (duplicate) {
          answer.set_duplicate_count(answer.duplicate_count() + 1);
        } else {
          answer.set_created_count(answer.created_count() + 1);
        }
      }
      return absl::OkStatus();
    }));
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) {
    return common::SaveRequestResponse(txn, "ImportCampaignEntries", request.request_id(), request,
                                       answer);
  }));
  common::LogInfo("campaign entries imported by filter", {{"campaign", CampaignName(campaign_id)},
                                                          {"matched", answer.matched_customers()},
                                                          {"created", answer.created_count()}});
  return answer;
}

grpc::Status CampaignsGrpcService::ImportCampaignEntries(
    grpc::ServerContext*, const v1::ImportCampaignEntriesRequest* request,
    v1::ImportCampaignEntriesResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::ImportCampaignEntriesResponse> {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->parent(), kCampaigns, "parent"));
    if (request->has_customer_filter()) return ImportByFilter(campaign_id, *request);
    if (!request->has_entries()) return InvalidArgumentError("source", "set entries");
    if (request->entries().entries_size() > kMaxBatch) {
      return InvalidArgumentError("entries", "at most 1,000 entries");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ImportCampaignEntriesResponse> {
      CC_ASSIGN_OR_RETURN(auto earlier,
                          Earlier<v1::ImportCampaignEntriesResponse>(
                              txn, "ImportCampaignEntries", request->request_id(), *request));
      if (earlier) return *earlier;
      CC_RETURN_IF_ERROR(CampaignForEntries(txn, campaign_id).status());
      v1::ImportCampaignEntriesResponse answer;
      for (int i = 0; i < request->entries().entries_size(); ++i) {
        const v1::CampaignEntry& given = request->entries().entries(i);
        absl::StatusOr<EntryInsert> insert =
            PrepareEntry(given, absl::StrCat("entries[", i, "]"), options_.default_region);
        if (!insert.ok()) {
          v1::ImportRowError* error = answer.add_errors();
          error->set_index(i);
          error->set_message(std::string(insert.status().message()));
          continue;
        }
        std::string id;
        CC_ASSIGN_OR_RETURN(auto duplicate, InsertEntry(txn, campaign_id, *insert, given, &id));
        if (duplicate) {
          answer.set_duplicate_count(answer.duplicate_count() + 1);
        } else {
          answer.set_created_count(answer.created_count() + 1);
        }
      }
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "ImportCampaignEntries",
                                                     request->request_id(), *request, answer));
      return answer;
    });
  }();
  return Reply(std::move(result), response, "ImportCampaignEntries");
}

grpc::Status CampaignsGrpcService::GetCampaignEntry(grpc::ServerContext*,
                                                    const v1::GetCampaignEntryRequest* request,
                                                    v1::CampaignEntry* response) {
  auto result = [&]() -> absl::StatusOr<v1::CampaignEntry> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->name(), "name"));
    return pg_->Query([&](pqxx::nontransaction& query) {
      return LoadEntryTx(query, key.campaign_id, key.entry_id, true);
    });
  }();
  return Reply(std::move(result), response, "GetCampaignEntry");
}

grpc::Status CampaignsGrpcService::ListCampaignEntries(
    grpc::ServerContext*, const v1::ListCampaignEntriesRequest* request,
    v1::ListCampaignEntriesResponse* response) {
  auto result = [&]() -> absl::StatusOr<v1::ListCampaignEntriesResponse> {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->parent(), kCampaigns, "parent"));
    CC_ASSIGN_OR_RETURN(OffsetPage paging, StartPage("ListCampaignEntries", *request));
    const int32_t page_size = paging.size;
    const int64_t offset = paging.offset;
    const std::string& scope = paging.scope;
    const std::string states = IntArray(request->states());
    return pg_->Query([&](pqxx::nontransaction& query)
                          -> absl::StatusOr<v1::ListCampaignEntriesResponse> {
      CC_RETURN_IF_ERROR(LoadCampaignTx(query, campaign_id, false).status());
      const std::string where =
          "campaign_id = $1::uuid AND (cardinality($2::int[]) = 0 OR state = ANY($2::int[])) "
          "AND ($3 = 0 OR last_outcome = $3) AND ($4 = '' OR customer_id = $4) AND "
          "($5 = '' OR external_id = $5)";
      const std::string state_array = states;
      const std::string customer = IdOf(request->customer(), "customers");
      pqxx::result rows =
          query.exec_params(absl::StrCat("SELECT ", kEntryColumns, " FROM campaign_entries WHERE ",
                                         where, " ORDER BY priority DESC, seq LIMIT $6 OFFSET $7"),
                            campaign_id, state_array, static_cast<int>(request->last_outcome()),
                            customer, request->external_id(), page_size + 1, offset);
      v1::ListCampaignEntriesResponse page;
      for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
        if (request->omit_history()) {
          v1::CampaignEntry entry = EntryFromRow(rows[i]);
          entry.clear_refusals();
          *page.add_entries() = std::move(entry);
        } else {
          CC_ASSIGN_OR_RETURN(*page.add_entries(),
                              LoadEntryTx(query, campaign_id, rows[i][0].as<std::string>(), true));
        }
      }
      if (static_cast<int>(rows.size()) > page_size) {
        page.set_next_page_token(common::EncodePageToken(scope, absl::StrCat(offset + page_size)));
      }
      page.set_total_size(query
                              .exec_params(absl::StrCat("SELECT count(*) FROM campaign_entries "
                                                        "WHERE ",
                                                        where),
                                           campaign_id, state_array,
                                           static_cast<int>(request->last_outcome()), customer,
                                           request->external_id())[0][0]
                              .as<int>());
      return page;
    });
  }();
  return Reply(std::move(result), response, "ListCampaignEntries");
}

grpc::Status CampaignsGrpcService::UpdateCampaignEntry(
    grpc::ServerContext*, const v1::UpdateCampaignEntryRequest* request,
    v1::CampaignEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::CampaignEntry> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->entry().name(), "entry.name"));
    static const auto* const kChangeable = new absl::flat_hash_set<std::string>{
        "phone_number", "display_name", "display_attributes", "attributes",
        "time_zone",    "priority",     "next_attempt_time"};
    if (request->update_mask().paths().empty()) {
      return InvalidArgumentError("update_mask", "required");
    }
    for (const std::string& path : request->update_mask().paths()) {
      if (!kChangeable->contains(path)) {
        return InvalidArgumentError(
            "update_mask", absl::StrCat(path, " cannot be changed (output only or unknown)"));
      }
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::CampaignEntry> {
      CC_ASSIGN_OR_RETURN(
          auto earlier,
          Earlier<v1::CampaignEntry>(txn, "UpdateCampaignEntry", request->request_id(), *request));
      if (earlier) return *earlier;
      pqxx::result rows = txn.exec_params(
          "SELECT state, etag FROM campaign_entries WHERE id = $1::uuid AND campaign_id = "
          "$2::uuid FOR UPDATE",
          key.entry_id, key.campaign_id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("entry ", request->entry().name()));
      CC_RETURN_IF_ERROR(CheckEtag(request->entry().etag(), rows[0][1].as<std::string>()));
      const int state = rows[0][0].as<int>();
      if (state == v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS) {
        return absl::FailedPreconditionError(
            absl::StrCat("ENTRY_IN_PROGRESS: ", request->entry().name(), " is being dialled"));
      }
      if (IsFinalEntryState(state)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "ENTRY_FINAL: ", request->entry().name(), " is ", v1::CampaignEntryState_Name(state)));
      }
      CC_ASSIGN_OR_RETURN(v1::CampaignEntry current,
                          LoadEntryTx(txn, key.campaign_id, key.entry_id, false));
      pqxx::result body_row =
          txn.exec_params("SELECT body FROM campaign_entries WHERE id = $1::uuid", key.entry_id);
      v1::CampaignEntry body = Parse<v1::CampaignEntry>(body_row[0][0]);
      v1::CampaignEntry merged = current;
      FieldMaskUtil::MergeOptions options;
      options.set_replace_repeated_fields(true);
      options.set_replace_message_fields(true);
      FieldMaskUtil::MergeMessageTo(request->entry(), request->update_mask(), options, &merged);
      CC_ASSIGN_OR_RETURN(EntryInsert checked,
                          PrepareEntry(merged, "entry", options_.default_region));
      if (checked.phone != current.phone_number().e164() && !checked.phone.empty() &&
          !txn.exec_params("SELECT 1 FROM campaign_entries WHERE campaign_id = $1::uuid AND "
                           "phone = $2 AND id <> $3::uuid",
                           key.campaign_id, checked.phone, key.entry_id)
               .empty()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "entry.phone_number: the campaign already has an entry with ", checked.phone));
      }
      body.set_display_name(merged.display_name());
      *body.mutable_display_attributes() = merged.display_attributes();
      *body.mutable_attributes() = merged.attributes();
      body.set_time_zone(merged.time_zone());
      const int64_t next = merged.has_next_attempt_time()
                               ? common::MicrosFromTimestamp(merged.next_attempt_time())
                               : Micros(Now());
      txn.exec_params(
          "UPDATE campaign_entries SET phone = $2, priority = $3, next_attempt_time = "
          "to_timestamp($4::bigint / 1e6), body = $5, update_time = now(), etag = etag + 1 "
          "WHERE id = $1::uuid",
          key.entry_id, checked.phone, merged.priority(), next,
          common::PgBytes(body.SerializeAsString()));
      CC_ASSIGN_OR_RETURN(v1::CampaignEntry updated,
                          LoadEntryTx(txn, key.campaign_id, key.entry_id, true));
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "UpdateCampaignEntry",
                                                     request->request_id(), *request, updated));
      return updated;
    });
  }();
  return Reply(std::move(result), response, "UpdateCampaignEntry");
}

grpc::Status CampaignsGrpcService::DeleteCampaignEntry(
    grpc::ServerContext*, const v1::DeleteCampaignEntryRequest* request,
    v1::CampaignEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::CampaignEntry> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->name(), "name"));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::CampaignEntry> {
      CC_ASSIGN_OR_RETURN(
          auto earlier,
          Earlier<v1::CampaignEntry>(txn, "DeleteCampaignEntry", request->request_id(), *request));
      if (earlier) return *earlier;
      pqxx::result rows = txn.exec_params(
          "SELECT state, etag FROM campaign_entries WHERE id = $1::uuid AND campaign_id = "
          "$2::uuid FOR UPDATE",
          key.entry_id, key.campaign_id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("entry ", request->name()));
      CC_RETURN_IF_ERROR(CheckEtag(request->etag(), rows[0][1].as<std::string>()));
      if (IsFinalEntryState(rows[0][0].as<int>())) {
        return absl::FailedPreconditionError(
            absl::StrCat("ENTRY_FINAL: ", request->name(), " is ",
                         v1::CampaignEntryState_Name(rows[0][0].as<int>())));
      }
      txn.exec_params(
          "UPDATE campaign_entries SET state = $2, update_time = now(), etag = etag + 1 WHERE "
          "id = $1::uuid",
          key.entry_id, static_cast<int>(v1::CAMPAIGN_ENTRY_STATE_CANCELLED));
      CC_ASSIGN_OR_RETURN(v1::CampaignEntry entry,
                          LoadEntryTx(txn, key.campaign_id, key.entry_id, true));
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "DeleteCampaignEntry",
                                                     request->request_id(), *request, entry));
      return entry;
    });
  }();
  return Reply(std::move(result), response, "DeleteCampaignEntry");
}

grpc::Status CampaignsGrpcService::ListCampaignAttempts(
    grpc::ServerContext*, const v1::ListCampaignAttemptsRequest* request,
    v1::ListCampaignAttemptsResponse* response) {
  auto result = [&]() -> absl::StatusOr<v1::ListCampaignAttemptsResponse> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->parent(), "parent", true));
    CC_ASSIGN_OR_RETURN(OffsetPage paging, StartPage("ListCampaignAttempts", *request));
    const int32_t page_size = paging.size;
    const int64_t offset = paging.offset;
    const std::string& scope = paging.scope;
    const std::string outcomes = IntArray(request->outcomes());
    const int64_t from = request->dial_time_range().has_start_time()
                             ? common::MicrosFromTimestamp(request->dial_time_range().start_time())
                             : 0;
    const int64_t to = request->dial_time_range().has_end_time()
                           ? common::MicrosFromTimestamp(request->dial_time_range().end_time())
                           : std::numeric_limits<int64_t>::max();
    return pg_->Query([&](pqxx::nontransaction& query)
                          -> absl::StatusOr<v1::ListCampaignAttemptsResponse> {
      CC_RETURN_IF_ERROR(LoadCampaignTx(query, key.campaign_id, false).status());
      if (!key.entry_id.empty()) {
        CC_RETURN_IF_ERROR(LoadEntryTx(query, key.campaign_id, key.entry_id, false).status());
      }
      pqxx::result rows = query.exec_params(
          absl::StrCat(
              "SELECT ", kAttemptColumns,
              " FROM dials WHERE campaign_id = $1::uuid AND entry_id IS NOT NULL AND "
              "($2 = '' OR entry_id::text = $2) AND state <> 'cancelled' AND "
              "(cardinality($3::int[]) = 0 OR outcome = ANY($3::int[])) AND "
              "create_time >= to_timestamp($4::bigint / 1e6) AND "
              "($5::bigint = 9223372036854775807 OR create_time < to_timestamp($5::bigint / 1e6)) "
              "ORDER BY create_time DESC, call_id LIMIT $6 OFFSET $7"),
          key.campaign_id, key.entry_id, outcomes, from, to, page_size + 1, offset);
      v1::ListCampaignAttemptsResponse page;
      for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
        *page.add_attempts() = AttemptFromRow(rows[i]);
      }
      if (static_cast<int>(rows.size()) > page_size) {
        page.set_next_page_token(common::EncodePageToken(scope, absl::StrCat(offset + page_size)));
      }
      return page;
    });
  }();
  return Reply(std::move(result), response, "ListCampaignAttempts");
}

// ---- Do-not-call lists ----------------------------------------------------------------------

grpc::Status CampaignsGrpcService::AddDoNotCallNumbers(
    grpc::ServerContext* context, const v1::AddDoNotCallNumbersRequest* request,
    v1::AddDoNotCallNumbersResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::AddDoNotCallNumbersResponse> {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->campaign(), kCampaigns, "campaign"));
    if (request->phone_numbers().empty()) return InvalidArgumentError("phone_numbers", "required");
    if (request->phone_numbers_size() > kMaxBatch) {
      return InvalidArgumentError("phone_numbers", "at most 1,000 numbers");
    }
    if (request->reason().size() > 500) return InvalidArgumentError("reason", "at most 500 bytes");
    std::vector<std::string> numbers;
    for (int i = 0; i < request->phone_numbers_size(); ++i) {
      absl::StatusOr<std::string> number =
          NormalizedNumber(request->phone_numbers(i), options_.default_region, "");
      if (!number.ok()) {
        return InvalidArgumentError(absl::StrCat("phone_numbers[", i, "]"), "not a valid number");
      }
      numbers.push_back(*number);
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    std::string peer = context != nullptr ? context->peer() : "";
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::AddDoNotCallNumbersResponse> {
      CC_ASSIGN_OR_RETURN(
          auto earlier, Earlier<v1::AddDoNotCallNumbersResponse>(txn, "AddDoNotCallNumbers",
                                                                 request->request_id(), *request));
      if (earlier) return *earlier;
      CC_RETURN_IF_ERROR(LoadCampaignTx(txn, campaign_id, false).status());
      v1::AddDoNotCallNumbersResponse answer;
      for (const std::string& number : numbers) {
        v1::DoNotCallNumber listed;
        listed.mutable_phone_number()->set_e164(number);
        listed.set_reason(request->reason());
        *listed.mutable_add_time() = common::TimestampFromTime(Now());
        pqxx::result added = txn.exec_params(
            "INSERT INTO campaign_do_not_call (campaign_id, phone, body, add_time) VALUES "
            "($1::uuid, $2, $3, now()) ON CONFLICT DO NOTHING RETURNING 1",
            campaign_id, number, common::PgBytes(listed.SerializeAsString()));
        answer.set_added_count(answer.added_count() + static_cast<int>(added.size()));
        pqxx::result stopped = txn.exec_params(
            "UPDATE campaign_entries SET state = $3, update_time = now(), etag = etag + 1 WHERE "
            "campaign_id = $1::uuid AND phone = $2 AND state IN (1, 2) RETURNING 1",
            campaign_id, number, static_cast<int>(v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL));
        answer.set_entries_stopped(answer.entries_stopped() + static_cast<int>(stopped.size()));
      }
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "AddDoNotCallNumbers",
                                                     request->request_id(), *request, answer));
      return answer;
    });
  }();
  return Reply(std::move(result), response, "AddDoNotCallNumbers");
}

grpc::Status CampaignsGrpcService::RemoveDoNotCallNumbers(
    grpc::ServerContext*, const v1::RemoveDoNotCallNumbersRequest* request,
    google::protobuf::Empty*) {
  common::ScopedRequestId scope(request->request_id());
  absl::Status status = [&]() -> absl::Status {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->campaign(), kCampaigns, "campaign"));
    if (request->phone_numbers_size() > kMaxBatch) {
      return InvalidArgumentError("phone_numbers", "at most 1,000 numbers");
    }
    std::vector<std::string> numbers;
    for (int i = 0; i < request->phone_numbers_size(); ++i) {
      absl::StatusOr<std::string> number =
          NormalizedNumber(request->phone_numbers(i), options_.default_region, "");
      if (!number.ok()) {
        return InvalidArgumentError(absl::StrCat("phone_numbers[", i, "]"), "not a valid number");
      }
      numbers.push_back(*number);
    }
    return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      CC_RETURN_IF_ERROR(LoadCampaignTx(txn, campaign_id, false).status());
      txn.exec_params(
          "DELETE FROM campaign_do_not_call WHERE campaign_id = $1::uuid AND phone = "
          "ANY($2::text[])",
          campaign_id, common::PgTextArray(numbers));
      return absl::OkStatus();
    });
  }();
  return Reply(status, "RemoveDoNotCallNumbers");
}

grpc::Status CampaignsGrpcService::ListDoNotCallNumbers(
    grpc::ServerContext*, const v1::ListDoNotCallNumbersRequest* request,
    v1::ListDoNotCallNumbersResponse* response) {
  auto result = [&]() -> absl::StatusOr<v1::ListDoNotCallNumbersResponse> {
    CC_ASSIGN_OR_RETURN(std::string campaign_id,
                        RequiredUuid(request->campaign(), kCampaigns, "campaign"));
    CC_ASSIGN_OR_RETURN(OffsetPage paging, StartPage("ListDoNotCallNumbers", *request));
    const int32_t page_size = paging.size;
    const int64_t offset = paging.offset;
    const std::string& scope = paging.scope;
    return pg_->Query(
        [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListDoNotCallNumbersResponse> {
          CC_RETURN_IF_ERROR(LoadCampaignTx(query, campaign_id, false).status());
          pqxx::result rows = query.exec_params(
              "SELECT body FROM campaign_do_not_call WHERE campaign_id = $1::uuid ORDER BY "
              "add_time DESC, phone LIMIT $2 OFFSET $3",
              campaign_id, page_size + 1, offset);
          v1::ListDoNotCallNumbersResponse page;
          for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
            *page.add_numbers() = Parse<v1::DoNotCallNumber>(rows[i][0]);
          }
          if (static_cast<int>(rows.size()) > page_size) {
            page.set_next_page_token(
                common::EncodePageToken(scope, absl::StrCat(offset + page_size)));
          }
          return page;
        });
  }();
  return Reply(std::move(result), response, "ListDoNotCallNumbers");
}

// ---- Telephony ------------------------------------------------------------------------------

grpc::Status CampaignsGrpcService::StreamDialRequests(
    grpc::ServerContext* context, const v1::StreamDialRequestsRequest* request,
    grpc::ServerWriter<v1::DialInstruction>* writer) {
  if (request->telephony_adapter().empty() || request->telephony_adapter().size() > 128) {
    return Reply(InvalidArgumentError("telephony_adapter", "required, at most 128 bytes"),
                 "StreamDialRequests");
  }
  if (request->max_concurrent_dials() < 1 || request->max_concurrent_dials() > 10000) {
    return Reply(InvalidArgumentError("max_concurrent_dials", "must be 1..10000"),
                 "StreamDialRequests");
  }
  const std::string adapter = request->telephony_adapter();
  const std::string owner_key = absl::StrCat(router_->prefix(), ":adapter:", adapter);
  const std::string token = common::NewId();
  common::RedisClient* redis = router_->redis();
  if (absl::Status claimed = redis->Command({"SET", owner_key, token, "EX", "10"}).status();
      !claimed.ok()) {
    return Reply(claimed, "StreamDialRequests");
  }
  common::LogInfo("telephony adapter connected", {{"adapter", adapter}});
  // When this stream ends, the adapter counts as gone (unless a newer stream took over), so
  // that dials it never reports can be failed.
  struct Goodbye {
    common::RedisClient* redis;
    std::string key;
    std::string token;
    ~Goodbye() {
      static constexpr char kDeleteIfOurs[] =
          "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0";
      (void)redis->Command({"EVAL", kDeleteIfOurs, "1", key, token});
    }
  } goodbye{redis, owner_key, token};
  auto write_requests = [&](const pqxx::result& rows) {
    for (const pqxx::row& row : rows) {
      v1::DialInstruction instruction;
      *instruction.mutable_dial() = Parse<v1::DialRequest>(row[0]);
      if (!writer->Write(instruction)) return false;
    }
    return true;
  };
  // First the dials given to this adapter before and not reported: it deduplicates by call.
  absl::StatusOr<pqxx::result> resend =
      pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::result> {
        return query.exec_params(
            "SELECT request FROM dials WHERE adapter = $1 AND state = 'sent' ORDER BY sent_time",
            adapter);
      });
  if (!resend.ok()) return Reply(resend.status(), "StreamDialRequests");
  if (!write_requests(*resend)) return grpc::Status::OK;
  while (!context->IsCancelled() && !stopping_.load()) {
    absl::StatusOr<common::RedisReply> owner = redis->Command({"GET", owner_key});
    if (owner.ok() && owner->str != token) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "a newer stream of this telephony adapter replaced this one");
    }
    (void)redis->Command({"EXPIRE", owner_key, "10"});
    absl::StatusOr<std::pair<pqxx::result, pqxx::result>> batch = pg_->Transact(
        [&](pqxx::work& txn) -> absl::StatusOr<std::pair<pqxx::result, pqxx::result>> {
          pqxx::result cancellations = txn.exec_params(
              "UPDATE dials SET cancel_sent = true WHERE adapter = $1 AND state = 'sent' AND "
              "cancel_requested AND NOT cancel_sent RETURNING call_id::text",
              adapter);
          const int outstanding =
              txn.exec_params("SELECT count(*) FROM dials WHERE adapter = $1 AND state = 'sent'",
                              adapter)[0][0]
                  .as<int>();
          const int room = request->max_concurrent_dials() - outstanding;
          pqxx::result dials;
          if (room > 0) {
            dials = txn.exec_params(
                "UPDATE dials SET state = 'sent', adapter = $1, sent_time = now() WHERE call_id IN "
                "(SELECT d.call_id FROM dials d WHERE d.state = 'ready' AND ($2 = '' OR d.site = "
                "$2) "
                "AND (d.campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaigns c WHERE c.id = "
                "d.campaign_id AND c.state = 2)) ORDER BY d.create_time LIMIT $3 FOR UPDATE OF d "
                "SKIP LOCKED) RETURNING request",
                adapter, request->site(), room);
          }
          return std::make_pair(cancellations, dials);
        });
    if (!batch.ok()) {
      common::LogWarning("dial stream", {{"adapter", adapter}, {"error", batch.status()}});
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    for (const pqxx::row& row : batch->first) {
      v1::DialInstruction instruction;
      instruction.mutable_cancellation()->set_call(CallName(row[0].as<std::string>()));
      instruction.mutable_cancellation()->set_reason("campaign paused or stopped");
      if (!writer->Write(instruction)) return grpc::Status::OK;
    }
    if (!write_requests(batch->second)) return grpc::Status::OK;
    if (batch->second.empty() && batch->first.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  return grpc::Status::OK;
}

grpc::Status CampaignsGrpcService::ReportDialOutcome(grpc::ServerContext*,
                                                     const v1::ReportDialOutcomeRequest* request,
                                                     v1::ReportDialOutcomeResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::ReportDialOutcomeResponse> {
    CC_ASSIGN_OR_RETURN(std::string call_id, RequiredUuid(request->call(), "calls", "call"));
    if (request->outcome() == v1::DIAL_OUTCOME_UNSPECIFIED) {
      return InvalidArgumentError("outcome", "required");
    }
    if (request->outcome() == v1::DIAL_OUTCOME_DROPPED) {
      return InvalidArgumentError("outcome", "DROPPED is decided by the service");
    }
    if (request->telephony_adapter().empty()) {
      return InvalidArgumentError("telephony_adapter", "required");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    CC_ASSIGN_OR_RETURN(pqxx::result rows, pg_->Query([&](pqxx::nontransaction& query)
                                                          -> absl::StatusOr<pqxx::result> {
      return query.exec_params(
          "SELECT d.state, d.adapter, d.outcome, coalesce(c.body, ''::bytea), d.operator_id "
          "FROM dials d LEFT JOIN campaigns c ON c.id = d.campaign_id WHERE d.call_id = $1::uuid",
          call_id);
    }));
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("dial ", request->call()));
    const std::string state = rows[0][0].as<std::string>();
    const std::string adapter = rows[0][1].as<std::string>();
    if (!adapter.empty() && adapter != request->telephony_adapter()) {
      return absl::FailedPreconditionError(
          absl::StrCat("WRONG_ADAPTER: ", request->call(), " was given to ", adapter));
    }
    const v1::Campaign campaign = Parse<v1::Campaign>(rows[0][3]);
    const absl::Duration drop_timeout =
        DurationOf(campaign.pacing().drop_timeout(), absl::Seconds(2));
    auto answer_with_call = [&]() -> absl::StatusOr<v1::ReportDialOutcomeResponse> {
      CC_ASSIGN_OR_RETURN(google::protobuf::Struct snapshot, router_->Read("call", call_id));
      v1::ReportDialOutcomeResponse answer;
      *answer.mutable_call() = CallFromSnapshot(call_id, snapshot);
      if (request->outcome() == v1::DIAL_OUTCOME_ANSWERED_HUMAN &&
          rows[0][4].as<std::string>().empty()) {
        *answer.mutable_drop_timeout() = ProtoDuration(drop_timeout);
      }
      return answer;
    };
    if (state == "reported" || state == "cancelled") {
      const int reported = rows[0][2].as<int>();
      const bool same = reported == request->outcome() ||
                        (reported == v1::DIAL_OUTCOME_DROPPED &&
                         request->outcome() == v1::DIAL_OUTCOME_ANSWERED_HUMAN) ||
                        (state == "cancelled" && request->outcome() == v1::DIAL_OUTCOME_SKIPPED);
      if (!same) {
        return absl::FailedPreconditionError(
            absl::StrCat("OUTCOME_ALREADY_REPORTED: ", request->call(), " ended ",
                         v1::DialOutcome_Name(reported)));
      }
      return answer_with_call();
    }
    if (state != "sent") {
      return absl::FailedPreconditionError(
          absl::StrCat("NOT_SENT: ", request->call(), " was not given to an adapter"));
    }
    // The live call first (each script is idempotent), then the record.
    const bool answered = request->outcome() == v1::DIAL_OUTCOME_ANSWERED_HUMAN;
    ScriptArgs args;
    args.Set("call", call_id);
    if (answered) {
      args.Set("adapter", request->telephony_adapter())
          .Set("tel_id", request->telephony_call_id())
          .Set("drop_ms", absl::ToInt64Milliseconds(drop_timeout));
      CC_RETURN_IF_ERROR(router_->Run(Script::kDialAnswered, args).status());
    } else {
      args.Set("end_reason", "FAILED")
          .Set("dial_outcome", std::string(absl::StripPrefix(
                                   v1::DialOutcome_Name(request->outcome()), "DIAL_OUTCOME_")))
          .Set("failure_reason", request->failure_reason().substr(0, 500));
      CC_RETURN_IF_ERROR(router_->Run(Script::kHangUp, args).status());
    }
    const int64_t ring_ms =
        absl::ToInt64Milliseconds(DurationOf(request->ring_duration(), absl::ZeroDuration()));
    const int64_t answer_micros = request->has_answer_time()
                                      ? common::MicrosFromTimestamp(request->answer_time())
                                      : Micros(Now());
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      pqxx::result locked =
          txn.exec_params("SELECT state FROM dials WHERE call_id = $1::uuid FOR UPDATE", call_id);
      if (locked.empty() || locked[0][0].as<std::string>() != "sent") return absl::OkStatus();
      txn.exec_params(
          "UPDATE dials SET state = 'reported', outcome = $2, ring_ms = $3, adapter = $4, "
          "answer_time = CASE WHEN $5 THEN to_timestamp($6::bigint / 1e6) END, "
          "end_time = CASE WHEN $5 THEN NULL ELSE now() END, resolved = NOT $5 "
          "WHERE call_id = $1::uuid",
          call_id, static_cast<int>(request->outcome()), ring_ms, request->telephony_adapter(),
          answered, answer_micros);
      // The entry moves on in the same transaction: a crash leaves both or neither.
      if (!answered) return ApplyOutcome(txn, call_id, request->outcome(), "");
      return absl::OkStatus();
    }));
    if (outbox_ != nullptr) outbox_->Notify();
    return answer_with_call();
  }();
  return Reply(std::move(result), response, "ReportDialOutcome");
}

// ---- Call-backs -----------------------------------------------------------------------------

grpc::Status CampaignsGrpcService::CreateCallback(grpc::ServerContext*,
                                                  const v1::CreateCallbackRequest* request,
                                                  v1::Callback* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Callback> {
    const v1::Callback& given = request->callback();
    CC_ASSIGN_OR_RETURN(std::string queue_id,
                        RequiredUuid(given.queue(), "queues", "callback.queue"));
    std::string operator_id;
    if (!given.operator_().empty()) {
      CC_ASSIGN_OR_RETURN(operator_id,
                          RequiredUuid(given.operator_(), "operators", "callback.operator"));
    }
    if (given.phone_number().raw().empty() && given.phone_number().e164().empty()) {
      return InvalidArgumentError("callback.phone_number", "required");
    }
    CC_ASSIGN_OR_RETURN(
        std::string number,
        NormalizedNumber(given.phone_number(), options_.default_region, "callback.phone_number"));
    const absl::Time due = common::TimeFromTimestamp(given.due_time());
    if (!given.has_due_time() || due <= Now() || due > Now() + absl::Hours(24 * 90)) {
      return InvalidArgumentError("callback.due_time", "must be in the future and within 90 days");
    }
    if (given.note().size() > 2000)
      return InvalidArgumentError("callback.note", "at most 2000 bytes");
    if (given.max_attempts() < 0 || given.max_attempts() > 20) {
      return InvalidArgumentError("callback.max_attempts", "must be 0..20");
    }
    if (given.grace_period().seconds() < 0 || given.grace_period().seconds() > 7 * 86400) {
      return InvalidArgumentError("callback.grace_period", "must be 0 .. 7 days");
    }
    if (given.retry_interval().seconds() < 0 || given.retry_interval().seconds() > 7 * 86400) {
      return InvalidArgumentError("callback.retry_interval", "must be 0 .. 7 days");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Callback> {
      CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Callback>(txn, "CreateCallback",
                                                              request->request_id(), *request));
      if (earlier) return *earlier;
      v1::Campaign probe;
      probe.set_queue(given.queue());
      if (!operator_id.empty()) probe.add_operators(given.operator_());
      CC_ASSIGN_OR_RETURN(std::string site, CheckQueueAndOperators(txn, probe));
      v1::Callback callback = given;
      const std::string id = common::NewId();
      callback.mutable_phone_number()->set_e164(number);
      callback.set_state(v1::CALLBACK_STATE_SCHEDULED);
      callback.clear_calls();
      callback.clear_campaign_entry();
      *callback.mutable_create_time() = common::TimestampFromTime(Now());
      txn.exec_params(
          "INSERT INTO callbacks (id, site, queue_id, operator_id, customer, state, due_time, "
          "next_time, body, update_time) VALUES ($1::uuid, $2, $3, $4, $5, 1, "
          "to_timestamp($6::bigint / 1e6), to_timestamp($6::bigint / 1e6), $7, now())",
          id, site, queue_id, operator_id, IdOf(given.customer(), "customers"), Micros(due),
          common::PgBytes(callback.SerializeAsString()));
      pqxx::result rows = txn.exec_params(
          absl::StrCat("SELECT ", kCallbackColumns, " FROM callbacks WHERE id = $1::uuid"), id);
      v1::Callback created = CallbackFromRow(rows[0]);
      events::v1::Event event;
      auto* scheduled = event.mutable_callback_scheduled();
      scheduled->set_callback(created.name());
      scheduled->set_customer(created.customer());
      scheduled->set_queue(created.queue());
      *scheduled->mutable_due_at() = created.due_time();
      scheduled->set_call(created.origin_call());
      CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreateCallback", request->request_id(),
                                                     *request, created));
      return created;
    });
  }();
  if (result.ok() && outbox_ != nullptr) outbox_->Notify();
  return Reply(std::move(result), response, "CreateCallback");
}

grpc::Status CampaignsGrpcService::GetCallback(grpc::ServerContext*,
                                               const v1::GetCallbackRequest* request,
                                               v1::Callback* response) {
  auto result = [&]() -> absl::StatusOr<v1::Callback> {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(request->name(), "callbacks", "name"));
    return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::Callback> {
      pqxx::result rows = query.exec_params(
          absl::StrCat("SELECT ", kCallbackColumns, " FROM callbacks WHERE id = $1::uuid"), id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("call-back ", request->name()));
      return CallbackFromRow(rows[0]);
    });
  }();
  return Reply(std::move(result), response, "GetCallback");
}

grpc::Status CampaignsGrpcService::ListCallbacks(grpc::ServerContext*,
                                                 const v1::ListCallbacksRequest* request,
                                                 v1::ListCallbacksResponse* response) {
  auto result = [&]() -> absl::StatusOr<v1::ListCallbacksResponse> {
    CC_ASSIGN_OR_RETURN(OffsetPage paging, StartPage("ListCallbacks", *request));
    const int32_t page_size = paging.size;
    const int64_t offset = paging.offset;
    const std::string& scope = paging.scope;
    const std::string states = IntArray(request->states());
    return pg_->Query(
        [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListCallbacksResponse> {
          pqxx::result rows = query.exec_params(
              absl::StrCat("SELECT ", kCallbackColumns,
                           " FROM callbacks WHERE ($1 = '' OR operator_id = $1) AND "
                           "($2 = '' OR queue_id = $2) AND ($3 = '' OR customer = $3) AND "
                           "(cardinality($4::int[]) = 0 OR state = ANY($4::int[])) "
                           "ORDER BY due_time, id LIMIT $5 OFFSET $6"),
              IdOf(request->operator_(), "operators"), IdOf(request->queue(), "queues"),
              IdOf(request->customer(), "customers"), states, page_size + 1, offset);
          v1::ListCallbacksResponse page;
          for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
            *page.add_callbacks() = CallbackFromRow(rows[i]);
          }
          if (static_cast<int>(rows.size()) > page_size) {
            page.set_next_page_token(
                common::EncodePageToken(scope, absl::StrCat(offset + page_size)));
          }
          return page;
        });
  }();
  return Reply(std::move(result), response, "ListCallbacks");
}

grpc::Status CampaignsGrpcService::UpdateCallback(grpc::ServerContext*,
                                                  const v1::UpdateCallbackRequest* request,
                                                  v1::Callback* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Callback> {
    CC_ASSIGN_OR_RETURN(std::string id,
                        RequiredUuid(request->callback().name(), "callbacks", "callback.name"));
    static const auto* const kChangeable = new absl::flat_hash_set<std::string>{
        "due_time", "operator",     "grace_period",  "phone_number",
        "note",     "max_attempts", "retry_interval"};
    if (request->update_mask().paths().empty()) {
      return InvalidArgumentError("update_mask", "required");
    }
    for (const std::string& path : request->update_mask().paths()) {
      if (!kChangeable->contains(path)) {
        return InvalidArgumentError("update_mask", absl::StrCat(path, " cannot be changed"));
      }
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Callback> {
      CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Callback>(txn, "UpdateCallback",
                                                              request->request_id(), *request));
      if (earlier) return *earlier;
      pqxx::result rows = txn.exec_params(absl::StrCat("SELECT ", kCallbackColumns,
                                                       ", body FROM callbacks WHERE id = $1::uuid "
                                                       "FOR UPDATE"),
                                          id);
      if (rows.empty())
        return absl::NotFoundError(absl::StrCat("call-back ", request->callback().name()));
      v1::Callback current = CallbackFromRow(rows[0]);
      CC_RETURN_IF_ERROR(CheckEtag(request->callback().etag(), current.etag()));
      if (current.state() == v1::CALLBACK_STATE_IN_PROGRESS) {
        return absl::FailedPreconditionError(
            absl::StrCat("CALLBACK_IN_PROGRESS: ", current.name(), " is being dialled"));
      }
      if (current.state() >= v1::CALLBACK_STATE_COMPLETED) {
        return absl::FailedPreconditionError(absl::StrCat(
            "CALLBACK_FINAL: ", current.name(), " is ", v1::CallbackState_Name(current.state())));
      }
      v1::Callback merged = current;
      FieldMaskUtil::MergeOptions options;
      options.set_replace_message_fields(true);
      FieldMaskUtil::MergeMessageTo(request->callback(), request->update_mask(), options, &merged);
      std::string operator_id;
      if (!merged.operator_().empty()) {
        CC_ASSIGN_OR_RETURN(operator_id,
                            RequiredUuid(merged.operator_(), "operators", "callback.operator"));
        v1::Campaign probe;
        probe.set_queue(merged.queue());
        probe.add_operators(merged.operator_());
        CC_RETURN_IF_ERROR(CheckQueueAndOperators(txn, probe).status());
      }
      CC_ASSIGN_OR_RETURN(std::string number,
                          NormalizedNumber(merged.phone_number(), options_.default_region,
                                           "callback.phone_number"));
      merged.mutable_phone_number()->set_e164(number);
      const absl::Time due = common::TimeFromTimestamp(merged.due_time());
      const bool due_changed =
          std::find(request->update_mask().paths().begin(), request->update_mask().paths().end(),
                    "due_time") != request->update_mask().paths().end();
      if (due_changed && (due <= Now() || due > Now() + absl::Hours(24 * 90))) {
        return InvalidArgumentError("callback.due_time",
                                    "must be in the future and within 90 days");
      }
      if (merged.note().size() > 2000)
        return InvalidArgumentError("callback.note", "at most 2000 bytes");
      if (merged.max_attempts() < 0 || merged.max_attempts() > 20) {
        return InvalidArgumentError("callback.max_attempts", "must be 0..20");
      }
      if (merged.grace_period().seconds() < 0 || merged.grace_period().seconds() > 7 * 86400) {
        return InvalidArgumentError("callback.grace_period", "must be 0 .. 7 days");
      }
      if (merged.retry_interval().seconds() < 0 || merged.retry_interval().seconds() > 7 * 86400) {
        return InvalidArgumentError("callback.retry_interval", "must be 0 .. 7 days");
      }
      txn.exec_params(
          "UPDATE callbacks SET operator_id = $2, due_time = to_timestamp($3::bigint / 1e6), "
          "next_time = CASE WHEN $4 THEN to_timestamp($3::bigint / 1e6) ELSE next_time END, "
          "body = $5, update_time = now(), etag = etag + 1 WHERE id = $1::uuid",
          id, operator_id, Micros(due), due_changed, common::PgBytes(merged.SerializeAsString()));
      pqxx::result updated = txn.exec_params(
          absl::StrCat("SELECT ", kCallbackColumns, " FROM callbacks WHERE id = $1::uuid"), id);
      v1::Callback answer = CallbackFromRow(updated[0]);
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "UpdateCallback", request->request_id(),
                                                     *request, answer));
      return answer;
    });
  }();
  return Reply(std::move(result), response, "UpdateCallback");
}

grpc::Status CampaignsGrpcService::CancelCallback(grpc::ServerContext*,
                                                  const v1::CancelCallbackRequest* request,
                                                  v1::Callback* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Callback> {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(request->name(), "callbacks", "name"));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Callback> {
      CC_ASSIGN_OR_RETURN(auto earlier, Earlier<v1::Callback>(txn, "CancelCallback",
                                                              request->request_id(), *request));
      if (earlier) return *earlier;
      pqxx::result rows =
          txn.exec_params(absl::StrCat("SELECT ", kCallbackColumns,
                                       " FROM callbacks WHERE id = $1::uuid FOR UPDATE"),
                          id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("call-back ", request->name()));
      v1::Callback callback = CallbackFromRow(rows[0]);
      CC_RETURN_IF_ERROR(CheckEtag(request->etag(), callback.etag()));
      if (callback.state() >= v1::CALLBACK_STATE_COMPLETED) {
        return absl::FailedPreconditionError(absl::StrCat(
            "CALLBACK_FINAL: ", request->name(), " is ", v1::CallbackState_Name(callback.state())));
      }
      txn.exec_params(
          "UPDATE callbacks SET state = $2, update_time = now(), etag = etag + 1 WHERE id = "
          "$1::uuid",
          id, static_cast<int>(v1::CALLBACK_STATE_CANCELLED));
      pqxx::result updated = txn.exec_params(
          absl::StrCat("SELECT ", kCallbackColumns, " FROM callbacks WHERE id = $1::uuid"), id);
      v1::Callback cancelled = CallbackFromRow(updated[0]);
      CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CancelCallback", request->request_id(),
                                                     *request, cancelled));
      return cancelled;
    });
  }();
  return Reply(std::move(result), response, "CancelCallback");
}

// ---- Figures --------------------------------------------------------------------------------

grpc::Status CampaignsGrpcService::GetCampaignStats(grpc::ServerContext*,
                                                    const v1::GetCampaignStatsRequest* request,
                                                    v1::CampaignStats* response) {
  auto result = [&]() -> absl::StatusOr<v1::CampaignStats> {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredUuid(request->campaign(), kCampaigns, "campaign"));
    const auto& interval = request->interval();
    if (interval.has_start_time() && interval.has_end_time() &&
        common::MicrosFromTimestamp(interval.end_time()) <
            common::MicrosFromTimestamp(interval.start_time())) {
      return InvalidArgumentError("interval", "end before start");
    }
    const int64_t from =
        interval.has_start_time() ? common::MicrosFromTimestamp(interval.start_time()) : 0;
    const int64_t to = interval.has_end_time() ? common::MicrosFromTimestamp(interval.end_time())
                                               : Micros(Now()) + 1;
    CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(id));
    v1::CampaignStats stats;
    CC_RETURN_IF_ERROR(pg_->Query([&](pqxx::nontransaction& query) -> absl::Status {
      stats.set_campaign(campaign.name());
      stats.set_state(campaign.state());
      for (const pqxx::row& row : query.exec_params(
               "SELECT state, count(*) FROM campaign_entries WHERE campaign_id = $1::uuid GROUP "
               "BY state ORDER BY state",
               id)) {
        v1::EntryStateCount* count = stats.add_entries_by_state();
        count->set_state(static_cast<v1::CampaignEntryState>(row[0].as<int>()));
        count->set_count(row[1].as<int>());
        stats.set_entries_total(stats.entries_total() + count->count());
        if (!IsFinalEntryState(count->state())) {
          stats.set_entries_remaining(stats.entries_remaining() + count->count());
        }
      }
      const std::string window =
          "campaign_id = $1::uuid AND create_time >= to_timestamp($2::bigint / 1e6) AND "
          "create_time < to_timestamp($3::bigint / 1e6)";
      int64_t finished = 0;
      for (const pqxx::row& row : query.exec_params(
               absl::StrCat("SELECT outcome, count(*) FROM dials WHERE ", window,
                            " AND state = 'reported' GROUP BY outcome ORDER BY outcome"),
               id, from, to)) {
        const auto outcome = static_cast<v1::DialOutcome>(row[0].as<int>());
        const int64_t count = row[1].as<int64_t>();
        v1::OutcomeCount* counted = stats.add_outcomes();
        counted->set_outcome(outcome);
        counted->set_count(count);
        if (outcome != v1::DIAL_OUTCOME_SKIPPED) {
          stats.set_dialled(stats.dialled() + count);
          finished += count;
        }
        if (outcome == v1::DIAL_OUTCOME_ANSWERED_HUMAN)
          stats.set_answered(stats.answered() + count);
        if (outcome == v1::DIAL_OUTCOME_DROPPED) {
          stats.set_drops(count);
          stats.set_answered(stats.answered() + count);
        }
        if (outcome == v1::DIAL_OUTCOME_ANSWERING_MACHINE) stats.set_answering_machines(count);
      }
      stats.set_completed(query
                              .exec_params(absl::StrCat("SELECT count(*) FROM dials WHERE ", window,
                                                        " AND disposition <> ''"),
                                           id, from, to)[0][0]
                              .as<int64_t>());
      for (const pqxx::row& row : query.exec_params(
               "SELECT reason, count(*) FROM campaign_refusals WHERE campaign_id = $1::uuid AND "
               "refuse_time >= to_timestamp($2::bigint / 1e6) AND refuse_time < "
               "to_timestamp($3::bigint / 1e6) GROUP BY reason ORDER BY reason",
               id, from, to)) {
        v1::RefusalCount* count = stats.add_refusals();
        count->set_reason(static_cast<v1::DialRefusalReason>(row[0].as<int>()));
        count->set_count(row[1].as<int64_t>());
      }
      // Drops count among answered calls: answered by a person, connected or not.
      const int64_t answered_connected = stats.answered() - stats.drops();
      stats.set_answered(answered_connected);
      if (finished > 0)
        stats.set_answer_rate(static_cast<double>(answered_connected + stats.drops()) / finished);
      if (answered_connected + stats.drops() > 0) {
        stats.set_drop_rate(static_cast<double>(stats.drops()) /
                            static_cast<double>(answered_connected + stats.drops()));
      }
      pqxx::row contact = query.exec_params1(
          "SELECT count(DISTINCT entry_id) FILTER (WHERE outcome IN (1, 7)), "
          "count(DISTINCT entry_id) FROM dials WHERE campaign_id = $1::uuid AND state = "
          "'reported' AND outcome <> 8",
          id);
      if (contact[1].as<int64_t>() > 0) {
        stats.set_contact_rate(static_cast<double>(contact[0].as<int64_t>()) /
                               static_cast<double>(contact[1].as<int64_t>()));
      }
      pqxx::row handling = query.exec_params1(
          "SELECT coalesce(avg(extract(epoch FROM end_time - answer_time)), 0)::float8 FROM dials "
          "WHERE " +
              window + " AND outcome = 1 AND end_time IS NOT NULL AND answer_time IS NOT NULL",
          id, from, to);
      *stats.mutable_average_handle_time() = ProtoDuration(absl::Seconds(handling[0].as<double>()));
      stats.set_dials_in_progress(
          query
              .exec_params1("SELECT count(*) FROM dials WHERE campaign_id = $1::uuid AND state "
                            "IN ('new', 'ready', 'sent')",
                            id)[0]
              .as<int>());
      return absl::OkStatus();
    }));
    const common::v1::WeeklySchedule& schedule = campaign.schedule();
    absl::TimeZone zone;
    stats.set_within_schedule(
        !campaign.has_schedule() ||
        (absl::LoadTimeZone(
             schedule.time_zone().empty() ? options_.default_time_zone : schedule.time_zone(),
             &zone) &&
         common::EvaluateCallingWindow(schedule, zone, Now()).open));
    {
      absl::MutexLock lock(&mutex_);
      auto it = pacing_.find(id);
      stats.set_current_dial_ratio(campaign.dial_mode() != v1::DIAL_MODE_PREDICTIVE
                                       ? 1.0
                                       : (it != pacing_.end()
                                              ? it->second->ratio()
                                              : PacingConfigOf(campaign.pacing()).initial_ratio));
    }
    stats.set_operators_available(FreeOperators(campaign, IdOf(campaign.queue(), "queues")));
    *stats.mutable_update_time() = common::TimestampFromTime(Now());
    return stats;
  }();
  return Reply(std::move(result), response, "GetCampaignStats");
}

// ---- The dialler ----------------------------------------------------------------------------

bool CampaignsGrpcService::HoldLease(absl::string_view campaign_id) {
  static constexpr char kRenew[] =
      "local owner = redis.call('GET', KEYS[1]) "
      "if owner == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
      "if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
      "return 0";
  absl::StatusOr<common::RedisReply> reply = router_->redis()->Command(
      {"EVAL", kRenew, "1", absl::StrCat(router_->prefix(), ":campaign:", campaign_id, ":lease"),
       lease_owner_, "3000"});
  return reply.ok() && reply->integer == 1;
}

int CampaignsGrpcService::FreeOperators(const v1::Campaign& campaign, absl::string_view queue_id) {
  common::RedisClient* redis = router_->redis();
  absl::StatusOr<common::RedisReply> tiers =
      redis->Command({"HGET", absl::StrCat(router_->prefix(), ":queue:", queue_id), "tiers"});
  std::vector<int> tier_list = {1};
  if (tiers.ok() && !tiers->str.empty()) {
    tier_list.clear();
    for (absl::string_view part :
         absl::StrSplit(absl::StripPrefix(absl::StripSuffix(tiers->str, "]"), "["), ',')) {
      int tier = 0;
      if (absl::SimpleAtoi(part, &tier)) tier_list.push_back(tier);
    }
  }
  absl::flat_hash_set<std::string> wanted;
  for (const std::string& name : campaign.operators()) wanted.insert(IdOf(name, "operators"));
  absl::flat_hash_set<std::string> free;
  for (int tier : tier_list) {
    absl::StatusOr<common::RedisReply> members = redis->Command(
        {"ZRANGE", absl::StrCat(router_->prefix(), ":q:", queue_id, ":ops:", tier), "0", "-1"});
    if (!members.ok()) continue;
    for (const common::RedisReply& member : members->elements) {
      if (wanted.empty() || wanted.contains(member.str)) free.insert(member.str);
    }
  }
  return static_cast<int>(free.size());
}

int CampaignsGrpcService::WrappingUp(const v1::Campaign& campaign, absl::string_view queue_id) {
  // Read in one step on the Redis side: the queue's logged-in operators in WRAP_UP, limited to
  // the campaign's own when it names them.
  static constexpr char kCount[] =
      "local wanted = {} local any = #ARGV == 1 "
      "for i = 2, #ARGV do wanted[ARGV[i]] = true end "
      "local count = 0 "
      "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
      "  if (any or wanted[id]) and redis.call('HGET', ARGV[1] .. id, 'state') == 'WRAP_UP' then "
      "    count = count + 1 end end "
      "return count";
  std::vector<std::string> args = {"EVAL", kCount, "1",
                                   absl::StrCat(router_->prefix(), ":q:", queue_id, ":staff"),
                                   absl::StrCat(router_->prefix(), ":op:")};
  for (const std::string& name : campaign.operators()) args.push_back(IdOf(name, "operators"));
  std::vector<absl::string_view> views(args.begin(), args.end());
  absl::StatusOr<common::RedisReply> reply = router_->redis()->Command(views);
  return reply.ok() ? static_cast<int>(reply->integer) : 0;
}

absl::Status CampaignsGrpcService::DialOnce() {
  CC_ASSIGN_OR_RETURN(pqxx::result campaigns,
                      pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::result> {
                        return query.exec_params(
                            absl::StrCat("SELECT ", kCampaignColumns,
                                         " FROM campaigns WHERE site = $1 AND state = 2"),
                            router_->site());
                      }));
  absl::Status first_error;
  for (const pqxx::row& row : campaigns) {
    const std::string id = row[0].as<std::string>();
    v1::Campaign campaign = CampaignFromRow(row);
    if (!HoldLease(id)) continue;
    absl::Status status = DialCampaign(campaign, id);
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  // The rest needs no 200 ms precision: once a second is enough and keeps an idle site quiet.
  if (Now() >= next_maintenance_) {
    next_maintenance_ = Now() + options_.maintenance_interval;
    for (absl::Status status : {DialCallbacks(), ResolveAnsweredCalls(), UndoStaleClaims(),
                                ExpirePreviewHolds(), FailOrphanedDials()}) {
      if (!status.ok() && first_error.ok()) first_error = status;
    }
  }
  if (outbox_ != nullptr) outbox_->Notify();
  return first_error;
}

absl::Status CampaignsGrpcService::DialCampaign(const v1::Campaign& campaign,
                                                absl::string_view campaign_id) {
  const absl::Time now = Now();
  if (campaign.has_expire_time() && common::TimeFromTimestamp(campaign.expire_time()) <= now) {
    v1::StopCampaignRequest stop;
    stop.set_name(campaign.name());
    return ChangeState("StopCampaign", campaign.name(), "", "", stop, v1::CAMPAIGN_STATE_STOPPED)
        .status();
  }
  // Finished: nothing left to dial and nothing in progress.
  CC_ASSIGN_OR_RETURN(pqxx::row open, pg_->Query([&](pqxx::nontransaction& query)
                                                     -> absl::StatusOr<pqxx::row> {
    return query.exec_params1(
        "SELECT count(*) FILTER (WHERE state IN (1, 2, 3)), (SELECT count(*) FROM dials WHERE "
        "campaign_id = $1::uuid AND (state IN ('new', 'ready', 'sent') OR (state = 'reported' AND "
        "NOT resolved))) FROM campaign_entries WHERE campaign_id = $1::uuid",
        std::string(campaign_id));
  }));
  if (open[0].as<int64_t>() == 0) {
    return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      CC_ASSIGN_OR_RETURN(v1::Campaign locked, LoadCampaignTx(txn, campaign_id, true));
      if (locked.state() != v1::CAMPAIGN_STATE_RUNNING) return absl::OkStatus();
      // Counted again under the lock: entries added since the first count keep it running.
      if (txn.exec_params1(
                 "SELECT count(*) FROM campaign_entries WHERE campaign_id = $1::uuid AND state IN "
                 "(1, 2, 3)",
                 std::string(campaign_id))[0]
              .as<int64_t>() > 0) {
        return absl::OkStatus();
      }
      events::v1::Event event;
      auto* changed = event.mutable_campaign_state_changed();
      changed->set_campaign(locked.name());
      changed->set_previous_state(locked.state());
      changed->set_state(v1::CAMPAIGN_STATE_COMPLETED);
      changed->set_changed_by("services/calls");
      CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
      locked.set_state(v1::CAMPAIGN_STATE_COMPLETED);
      *locked.mutable_end_time() = common::TimestampFromTime(now);
      txn.exec_params(
          "UPDATE campaigns SET state = 5, body = $2, etag = etag + 1 WHERE id = $1::uuid",
          std::string(campaign_id), common::PgBytes(locked.SerializeAsString()));
      common::LogInfo("campaign completed", {{"campaign", locked.name()}});
      return absl::OkStatus();
    });
  }
  if (campaign.has_schedule()) {
    absl::TimeZone zone;
    const std::string zone_name = campaign.schedule().time_zone().empty()
                                      ? options_.default_time_zone
                                      : campaign.schedule().time_zone();
    if (!absl::LoadTimeZone(zone_name, &zone) ||
        !common::EvaluateCallingWindow(campaign.schedule(), zone, now).open) {
      return absl::OkStatus();
    }
  }
  const std::string queue_id = IdOf(campaign.queue(), "queues");
  const int free_operators = FreeOperators(campaign, queue_id);
  CC_ASSIGN_OR_RETURN(
      pqxx::row counts, pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::row> {
        return query.exec_params1(
            "SELECT count(*) FILTER (WHERE state IN ('new', 'ready', 'sent')), "
            "count(*) FILTER (WHERE state IN ('new', 'ready', 'sent') AND operator_id = '') "
            "FROM dials WHERE campaign_id = $1::uuid",
            std::string(campaign_id));
      }));
  const int open_dials = counts[0].as<int>();
  const int ringing_without_operator = counts[1].as<int>();
  int to_dial = 0;
  switch (campaign.dial_mode()) {
    case v1::DIAL_MODE_PROGRESSIVE:
      to_dial = free_operators;
      break;
    case v1::DIAL_MODE_PREDICTIVE: {
      const PacingConfig config = PacingConfigOf(campaign.pacing());
      // Answers and drops come from every replica's reports: measured in PostgreSQL.
      const absl::Time since =
          config.window == absl::InfiniteDuration() ? absl::UnixEpoch() : now - config.window;
      CC_ASSIGN_OR_RETURN(
          pqxx::result outcomes,
          pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::result> {
            return query.exec_params(
                "SELECT outcome FROM dials WHERE campaign_id = $1::uuid AND state = 'reported' AND "
                "outcome NOT IN (0, 8) AND create_time >= to_timestamp($2::bigint / 1e6) ORDER BY "
                "create_time DESC LIMIT 2000",
                std::string(campaign_id), Micros(since));
          }));
      absl::MutexLock lock(&mutex_);
      // A fresh controller per pass, fed with the measured outcomes, keeps its ratio across
      // passes in `pacing_`.
      auto& controller = pacing_[std::string(campaign_id)];
      PacingConfig seeded = config;
      if (controller != nullptr) seeded.initial_ratio = controller->ratio();
      auto measured = std::make_unique<PacingController>(seeded);
      for (const pqxx::row& row : outcomes) {
        const int outcome = row[0].as<int>();
        measured->RecordDial(
            now, outcome == v1::DIAL_OUTCOME_ANSWERED_HUMAN || outcome == v1::DIAL_OUTCOME_DROPPED,
            outcome == v1::DIAL_OUTCOME_DROPPED);
      }
      if (controller == nullptr ||
          now - last_adjust_[std::string(campaign_id)] >= config.adjust_interval) {
        measured->Adjust(now);
        last_adjust_[std::string(campaign_id)] = now;
        controller = std::move(measured);
      }
      to_dial = controller->DialsToStart(free_operators, WrappingUp(campaign, queue_id),
                                         ringing_without_operator);
      break;
    }
    default:
      return absl::OkStatus();  // preview: operators ask for entries themselves
  }
  if (campaign.pacing().max_concurrent_dials() > 0) {
    to_dial = std::min(to_dial, campaign.pacing().max_concurrent_dials() - open_dials);
  }
  if (to_dial <= 0) return absl::OkStatus();
  to_dial = std::min(to_dial, 100);

  // Claim due entries and check each against every rule, in one transaction.
  std::vector<DialPlan> plans;
  std::vector<std::string> operator_candidates;
  for (const std::string& name : campaign.operators()) {
    operator_candidates.push_back(IdOf(name, "operators"));
  }
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    plans.clear();
    // Paused or stopped meanwhile? The share lock orders this claim with ChangeState's update:
    // a pause either sees these dials (and cancels them) or this claim sees the pause.
    pqxx::result running =
        txn.exec_params("SELECT 1 FROM campaigns WHERE id = $1::uuid AND state = 2 FOR SHARE",
                        std::string(campaign_id));
    if (running.empty()) return absl::OkStatus();
    pqxx::result entries = txn.exec_params(
        "SELECT id::text, customer_id, phone, attempt_count, body, state FROM campaign_entries "
        "WHERE campaign_id = $1::uuid AND state IN (1, 2) AND next_attempt_time <= now() ORDER "
        "BY priority DESC, seq LIMIT $2 FOR UPDATE SKIP LOCKED",
        std::string(campaign_id), to_dial);
    for (const pqxx::row& row : entries) {
      const std::string entry_id = row[0].as<std::string>();
      const std::string customer_id = row[1].as<std::string>();
      std::string number = row[2].as<std::string>();
      const int attempts = row[3].as<int>();
      v1::CampaignEntry body = Parse<v1::CampaignEntry>(row[4]);
      CC_ASSIGN_OR_RETURN(EntryCheck check, CheckEntry(txn, campaign, campaign_id, entry_id,
                                                       customer_id, number, attempts, body, now));
      if (check.refused) continue;
      number = check.number;
      const bool customer_vip = check.vip;
      DialPlan plan =
          PlanFor(campaign, campaign_id, entry_id, customer_id, number, body, customer_vip, now);
      plan.candidates = operator_candidates;
      txn.exec_params(
          "INSERT INTO dials (call_id, site, campaign_id, entry_id, attempt_number, phone, state, "
          "request, create_time) VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6, 'new', $7, "
          "clock_timestamp())",
          plan.call_id, router_->site(), std::string(campaign_id), entry_id, attempts + 1, number,
          common::PgBytes(plan.request.SerializeAsString()));
      txn.exec_params(
          "UPDATE campaign_entries SET state = 3, attempt_count = attempt_count + 1, "
          "update_time = now(), etag = etag + 1 WHERE id = $1::uuid",
          entry_id);
      plans.push_back(std::move(plan));
    }
    return absl::OkStatus();
  }));
  for (const DialPlan& plan : plans) {
    absl::StatusOr<bool> live = MakeLive(plan);
    if (!live.ok()) {
      common::LogWarning("campaign dial", {{"call", plan.call_id}, {"error", live.status()}});
    }
    if (!live.ok() || !*live) {
      CC_RETURN_IF_ERROR(UndoClaim(plan.call_id, live.ok() ? "no operator free" : "error"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CampaignsGrpcService::EntryCheck> CampaignsGrpcService::CheckEntry(
    pqxx::work& txn, const v1::Campaign& campaign, absl::string_view campaign_id,
    const std::string& entry_id, const std::string& customer_id, std::string number, int attempts,
    v1::CampaignEntry body, absl::Time now) {
  const v1::AttemptPolicy& policy = campaign.attempt_policy();
  const int max_per_entry =
      policy.max_attempts_per_entry() > 0 ? policy.max_attempts_per_entry() : 5;
  const int max_per_day =
      policy.max_attempts_per_number_per_day() > 0 ? policy.max_attempts_per_number_per_day() : 3;
  const absl::Duration min_interval = DurationOf(policy.min_attempt_interval(), absl::Hours(1));
  struct Refusal {
    v1::DialRefusalReason reason;
    std::string detail;
    v1::CampaignEntryState final_state = v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED;
    absl::Time next = absl::InfinitePast();
  };
  std::optional<Refusal> refusal;
  std::string zone_name = body.time_zone();
  if (attempts >= max_per_entry) {
    refusal = Refusal{v1::DIAL_REFUSAL_REASON_MAX_ATTEMPTS_PER_ENTRY,
                      absl::StrCat("all ", max_per_entry, " attempts made"),
                      v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED};
  }
  bool customer_vip = false;
  if (!refusal && number.empty() && !customer_id.empty()) {
    // The card's first phone, before consent is asked, so that the number itself is checked
    // too (the suppression list is per number).
    absl::StatusOr<std::string> phone =
        customers_->FirstPhone(absl::StrCat("customers/", customer_id));
    if (phone.ok()) {
      number = *phone;
    } else if (absl::IsNotFound(phone.status()) &&
               !absl::StrContains(absl::string_view(phone.status().message()), "no phone")) {
      refusal = Refusal{v1::DIAL_REFUSAL_REASON_CUSTOMER_GONE,
                        std::string(phone.status().message()), v1::CAMPAIGN_ENTRY_STATE_CANCELLED};
    } else if (!absl::IsNotFound(phone.status())) {
      refusal =
          Refusal{v1::DIAL_REFUSAL_REASON_CONSENT_UNKNOWN, std::string(phone.status().message()),
                  v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED, now + absl::Minutes(1)};
    }
  }
  if (!refusal && !number.empty()) {
    // Every dial of one number is claimed under this lock, whichever campaign, call-back or
    // replica makes it, so that two claims cannot both pass the per-number limits below.
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", number);
  }
  if (!refusal) {
    // Consent: the customers service knows the card and the number's owner alike.
    absl::StatusOr<customers::v1::ContactPermission> permission = customers_->CheckOutboundCall(
        customer_id.empty() ? "" : absl::StrCat("customers/", customer_id), number);
    if (absl::IsNotFound(permission.status())) {
      refusal =
          Refusal{v1::DIAL_REFUSAL_REASON_CUSTOMER_GONE, std::string(permission.status().message()),
                  v1::CAMPAIGN_ENTRY_STATE_CANCELLED};
    } else if (!permission.ok()) {
      refusal = Refusal{v1::DIAL_REFUSAL_REASON_CONSENT_UNKNOWN,
                        std::string(permission.status().message()),
                        v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED, now + absl::Minutes(1)};
    } else {
      if (number.empty()) number = permission->e164();
      if (zone_name.empty()) zone_name = permission->time_zone();
      customer_vip = permission->vip();
      bool do_not_call = false;
      bool window_only = false;
      for (int denial : permission->denial_reasons()) {
        if (denial != customers::v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW) {
          do_not_call = true;
        } else if (!permission->customer().empty()) {
          // A card's own window applies besides the campaign's; a number without a card
          // has only the campaign's.
          window_only = true;
        }
      }
      if (do_not_call) window_only = false;
      if (do_not_call) {
        refusal =
            Refusal{v1::DIAL_REFUSAL_REASON_CUSTOMER_DO_NOT_CALL,
                    "the customer asked not to be called", v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL};
      } else if (window_only) {
        refusal = Refusal{
            v1::DIAL_REFUSAL_REASON_OUTSIDE_CALLING_WINDOW,
            absl::StrCat("outside the customer's calling window (", permission->time_zone(), ")"),
            v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED,
            permission->has_next_allowed_time()
                ? common::TimeFromTimestamp(permission->next_allowed_time())
                : now + absl::Hours(1)};
      } else if (number.empty()) {
        refusal = Refusal{v1::DIAL_REFUSAL_REASON_INVALID_NUMBER, "the customer has no phone",
                          v1::CAMPAIGN_ENTRY_STATE_INVALID_NUMBER};
      }
    }
  }
  if (!refusal && !txn.exec_params("SELECT 1 FROM campaign_do_not_call WHERE campaign_id = "
                                   "$1::uuid AND phone = $2",
                                   std::string(campaign_id), number)
                       .empty()) {
    refusal = Refusal{v1::DIAL_REFUSAL_REASON_CAMPAIGN_DO_NOT_CALL,
                      "the number is on the campaign's do-not-call list",
                      v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL};
  }
  absl::TimeZone zone;
  if (zone_name.empty()) zone_name = ZoneOfNumber(number);
  if (zone_name.empty()) zone_name = campaign.customer_calling_window().time_zone();
  if (zone_name.empty()) zone_name = options_.default_time_zone;
  if (!absl::LoadTimeZone(zone_name, &zone)) zone = absl::UTCTimeZone();
  if (!refusal) {
    const common::v1::WeeklySchedule window = campaign.has_customer_calling_window()
                                                  ? campaign.customer_calling_window()
                                                  : common::DefaultCallingWindow();
    const common::WindowState state = common::EvaluateCallingWindow(window, zone, now);
    if (!state.open) {
      refusal = Refusal{v1::DIAL_REFUSAL_REASON_OUTSIDE_CALLING_WINDOW,
                        absl::StrCat("customer local time ", absl::FormatTime("%H:%M", now, zone),
                                     " ", zone_name),
                        v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED,
                        state.next_open.value_or(now + absl::Hours(24))};
    }
  }
  if (!refusal) {
    const absl::Time day_start = absl::FromCivil(absl::ToCivilDay(now, zone), zone);
    pqxx::row usage = txn.exec_params1(
        "SELECT count(*) FILTER (WHERE create_time >= to_timestamp($2::bigint / 1e6)), "
        "coalesce(" MICROS("max(create_time)") ", 0) FROM dials WHERE phone = $1 AND state "
        "<> 'cancelled' AND outcome <> 8",
        number, Micros(day_start));
    const absl::Time last = absl::FromUnixMicros(usage[1].as<int64_t>());
    if (usage[0].as<int>() >= max_per_day) {
      refusal = Refusal{v1::DIAL_REFUSAL_REASON_MAX_ATTEMPTS_PER_NUMBER_PER_DAY,
                        absl::StrCat(usage[0].as<int>(), " dials of ", number, " today"),
                        v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED,
                        absl::FromCivil(absl::ToCivilDay(now, zone) + 1, zone)};
    } else if (usage[1].as<int64_t>() > 0 && last + min_interval > now) {
      refusal = Refusal{
          v1::DIAL_REFUSAL_REASON_MIN_INTERVAL,
          absl::StrCat(number, " was dialled at ", absl::FormatTime("%H:%M:%S", last, zone)),
          v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED, last + min_interval};
    }
  }
  if (refusal) {
    common::LogInfo("dial refused", {{"entry", EntryName(campaign_id, entry_id)},
                                     {"reason", v1::DialRefusalReason_Name(refusal->reason)},
                                     {"detail", refusal->detail}});
    v1::DialRefusal* recorded = body.add_refusals();
    *recorded->mutable_refuse_time() = common::TimestampFromTime(now);
    recorded->set_reason(refusal->reason);
    recorded->set_detail(refusal->detail);
    recorded->mutable_phone_number()->set_e164(number);
    if (body.refusals_size() > kMaxRefusalsKept) {
      body.mutable_refusals()->DeleteSubrange(0, body.refusals_size() - kMaxRefusalsKept);
    }
    const bool final = refusal->final_state != v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED;
    if (final) body.set_state_reason(refusal->detail);
    txn.exec_params(
        "UPDATE campaign_entries SET state = $2, next_attempt_time = "
        "to_timestamp($3::bigint / 1e6), body = $4, update_time = now(), etag = etag + 1 "
        "WHERE id = $1::uuid",
        entry_id,
        final ? static_cast<int>(refusal->final_state)
              : static_cast<int>(v1::CAMPAIGN_ENTRY_STATE_SCHEDULED),
        Micros(final ? now : refusal->next), common::PgBytes(body.SerializeAsString()));
    txn.exec_params(
        "INSERT INTO campaign_refusals (campaign_id, entry_id, reason, refuse_time) VALUES "
        "($1::uuid, $2::uuid, $3, now())",
        std::string(campaign_id), entry_id, static_cast<int>(refusal->reason));
    events::v1::Event event;
    auto* refused = event.mutable_campaign_dial_refused();
    refused->set_campaign(campaign.name());
    refused->set_entry(EntryName(campaign_id, entry_id));
    refused->set_customer(customer_id.empty() ? "" : absl::StrCat("customers/", customer_id));
    refused->set_reason(refusal->reason);
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    return EntryCheck{true, number, false};
  }
  return EntryCheck{false, number, customer_vip, v1::DIAL_REFUSAL_REASON_UNSPECIFIED, ""};
}

CampaignsGrpcService::DialPlan CampaignsGrpcService::PlanFor(
    const v1::Campaign& campaign, absl::string_view campaign_id, absl::string_view entry_id,
    const std::string& customer_id, const std::string& number, const v1::CampaignEntry& body,
    bool vip, absl::Time now) {
  DialPlan plan;
  plan.call_id = common::NewId();
  plan.number = number;
  plan.customer = customer_id.empty() ? "" : absl::StrCat("customers/", customer_id);
  plan.pick = campaign.dial_mode() == v1::DIAL_MODE_PROGRESSIVE;
  plan.queue_id = IdOf(campaign.queue(), "queues");
  plan.campaign_id = std::string(campaign_id);
  plan.entry_id = std::string(entry_id);
  plan.priority = campaign.has_call_priority() ? campaign.call_priority() : 9;
  if (vip) plan.priority = 9;
  google::protobuf::Value codes;
  for (const v1::DispositionCode& code : campaign.dispositions()) {
    if (!code.disabled()) codes.mutable_list_value()->add_values()->set_string_value(code.code());
  }
  plan.codes_json = ToJson(codes);
  v1::DialRequest& dial = plan.request;
  dial.set_call(CallName(plan.call_id));
  dial.set_phone_number(number);
  dial.set_caller_id(campaign.caller_id().e164());
  *dial.mutable_ring_timeout() =
      ProtoDuration(DurationOf(campaign.pacing().ring_timeout(), absl::Seconds(25)));
  dial.set_detect_answering_machine(campaign.detect_answering_machine());
  *dial.mutable_expire_time() = common::TimestampFromTime(now + options_.dial_expiry);
  dial.set_campaign(campaign.name());
  dial.set_entry(EntryName(campaign_id, entry_id));
  *dial.mutable_attributes() = body.attributes();
  return plan;
}

bool CampaignsGrpcService::WorksCampaign(pqxx::transaction_base& txn, const v1::Campaign& campaign,
                                         absl::string_view operator_id) {
  if (!campaign.operators().empty()) {
    const std::string name = OperatorName(operator_id);
    return std::find(campaign.operators().begin(), campaign.operators().end(), name) !=
           campaign.operators().end();
  }
  return !txn.exec_params(
                 "SELECT 1 FROM queue_memberships WHERE queue_id = $1::uuid AND "
                 "operator_id = $2::uuid",
                 IdOf(campaign.queue(), "queues"), std::string(operator_id))
              .empty();
}

absl::Status CampaignsGrpcService::HoldOperator(absl::string_view operator_id, bool hold) {
  ScriptArgs args;
  args.Set("op", operator_id).Set("action", hold ? "hold" : "release");
  args.Set("changed_by", "services/calls");
  return router_->Run(Script::kPreview, args).status();
}

grpc::Status CampaignsGrpcService::GetNextPreviewEntry(
    grpc::ServerContext*, const v1::GetNextPreviewEntryRequest* request,
    v1::GetNextPreviewEntryResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::GetNextPreviewEntryResponse> {
    CC_ASSIGN_OR_RETURN(std::string op,
                        RequiredUuid(request->operator_(), "operators", "operator"));
    std::string only;
    if (!request->campaign().empty()) {
      CC_ASSIGN_OR_RETURN(only, RequiredUuid(request->campaign(), kCampaigns, "campaign"));
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    const absl::Time now = Now();
    // Which campaigns, checked before the operator is taken out of routing.
    absl::flat_hash_map<std::string, v1::Campaign> campaigns;
    std::optional<v1::GetNextPreviewEntryResponse> replay;
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      campaigns.clear();
      CC_ASSIGN_OR_RETURN(
          auto earlier, Earlier<v1::GetNextPreviewEntryResponse>(txn, "GetNextPreviewEntry",
                                                                 request->request_id(), *request));
      if (earlier) {
        replay = *earlier;
        return absl::OkStatus();
      }
      if (txn.exec_params("SELECT 1 FROM operators WHERE id = $1::uuid", op).empty()) {
        return absl::NotFoundError(absl::StrCat("operator ", request->operator_()));
      }
      pqxx::result held = txn.exec_params(
          "SELECT id::text, campaign_id::text FROM campaign_entries WHERE held_by = $1 AND "
          "state = 3 LIMIT 1",
          op);
      if (!held.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("PREVIEW_HELD: ", request->operator_(), " holds ",
                         EntryName(held[0][1].as<std::string>(), held[0][0].as<std::string>())));
      }
      if (!only.empty()) {
        CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, only, false));
        if (campaign.state() != v1::CAMPAIGN_STATE_RUNNING) {
          return absl::FailedPreconditionError(
              absl::StrCat("CAMPAIGN_NOT_RUNNING: ", campaign.name(), " is ",
                           v1::CampaignState_Name(campaign.state())));
        }
        if (campaign.dial_mode() != v1::DIAL_MODE_PREVIEW) {
          return absl::FailedPreconditionError(
              absl::StrCat("NOT_PREVIEW: ", campaign.name(), " dials ",
                           v1::DialMode_Name(campaign.dial_mode())));
        }
        if (!WorksCampaign(txn, campaign, op)) {
          return absl::FailedPreconditionError(
              absl::StrCat("NOT_A_CAMPAIGN_OPERATOR: ", request->operator_(), " does not work ",
                           campaign.name()));
        }
        campaigns[only] = campaign;
        return absl::OkStatus();
      }
      for (const pqxx::row& row : txn.exec_params(
               absl::StrCat("SELECT ", kCampaignColumns,
                            " FROM campaigns WHERE site = $1 AND state = 2 AND dial_mode = 1"),
               router_->site())) {
        v1::Campaign campaign = CampaignFromRow(row);
        if (WorksCampaign(txn, campaign, op)) campaigns[row[0].as<std::string>()] = campaign;
      }
      return absl::OkStatus();
    }));
    if (replay) return *replay;
    // Campaigns whose own schedule is closed now offer nothing.
    for (auto it = campaigns.begin(); it != campaigns.end();) {
      const v1::Campaign& campaign = it->second;
      absl::TimeZone zone;
      const std::string zone_name = campaign.schedule().time_zone().empty()
                                        ? options_.default_time_zone
                                        : campaign.schedule().time_zone();
      const bool open = !campaign.has_schedule() ||
                        (absl::LoadTimeZone(zone_name, &zone) &&
                         common::EvaluateCallingWindow(campaign.schedule(), zone, now).open);
      if (open) {
        ++it;
      } else {
        campaigns.erase(it++);
      }
    }
    v1::GetNextPreviewEntryResponse answer;
    *answer.mutable_retry_after() = ProtoDuration(absl::Seconds(30));
    if (campaigns.empty()) return answer;
    CC_RETURN_IF_ERROR(HoldOperator(op, true));
    std::vector<std::string> ids;
    for (const auto& [id, campaign] : campaigns) ids.push_back(id);
    absl::StatusOr<v1::GetNextPreviewEntryResponse> chosen =
        pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::GetNextPreviewEntryResponse> {
          v1::GetNextPreviewEntryResponse found = answer;
          for (int tries = 0; tries < 20; ++tries) {
            pqxx::result rows = txn.exec_params(
                "SELECT id::text, campaign_id::text, customer_id, phone, attempt_count, body "
                "FROM campaign_entries WHERE campaign_id = ANY($1::uuid[]) AND state IN (1, 2) "
                "AND next_attempt_time <= now() ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE "
                "SKIP LOCKED",
                common::PgTextArray(ids));
            if (rows.empty()) break;
            const std::string entry_id = rows[0][0].as<std::string>();
            const std::string campaign_id = rows[0][1].as<std::string>();
            const v1::Campaign& campaign = campaigns[campaign_id];
            CC_ASSIGN_OR_RETURN(
                EntryCheck check,
                CheckEntry(txn, campaign, campaign_id, entry_id, rows[0][2].as<std::string>(),
                           rows[0][3].as<std::string>(), rows[0][4].as<int>(),
                           Parse<v1::CampaignEntry>(rows[0][5]), now));
            if (check.refused) continue;
            const absl::Time until =
                now + DurationOf(campaign.pacing().preview_timeout(), absl::Minutes(2));
            txn.exec_params(
                "UPDATE campaign_entries SET state = 3, held_by = $2, hold_until = "
                "to_timestamp($3::bigint / 1e6), update_time = now(), etag = etag + 1 WHERE id "
                "= $1::uuid",
                entry_id, op, Micros(until));
            CC_ASSIGN_OR_RETURN(*found.mutable_entry(),
                                LoadEntryTx(txn, campaign_id, entry_id, true));
            found.mutable_entry()->set_assigned_operator(OperatorName(op));
            found.set_campaign(CampaignName(campaign_id));
            *found.mutable_expire_time() = common::TimestampFromTime(until);
            found.clear_retry_after();
            break;
          }
          CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "GetNextPreviewEntry",
                                                         request->request_id(), *request, found));
          return found;
        });
    if (!chosen.ok() || !chosen->has_entry()) {
      if (absl::Status released = HoldOperator(op, false); !released.ok()) {
        common::LogWarning("releasing a previewing operator", {{"error", released}});
      }
    }
    if (outbox_ != nullptr) outbox_->Notify();
    return chosen;
  }();
  return Reply(std::move(result), response, "GetNextPreviewEntry");
}

absl::StatusOr<v1::Call> CampaignsGrpcService::DialHeldEntry(absl::string_view campaign_id,
                                                             absl::string_view entry_id,
                                                             absl::string_view operator_id,
                                                             absl::string_view number_override) {
  const absl::Time now = Now();
  std::optional<DialPlan> plan;
  std::optional<EntryCheck> refused;
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    plan.reset();
    refused.reset();
    pqxx::result rows = txn.exec_params(
        "SELECT customer_id, phone, attempt_count, body, held_by, state FROM campaign_entries "
        "WHERE id = $1::uuid AND campaign_id = $2::uuid FOR UPDATE",
        std::string(entry_id), std::string(campaign_id));
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("entry ", EntryName(campaign_id, entry_id)));
    }
    if (rows[0][5].as<int>() != v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS ||
        rows[0][4].as<std::string>() != operator_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("NOT_HELD_BY_OPERATOR: ", EntryName(campaign_id, entry_id),
                       " is not held for ", OperatorName(operator_id)));
    }
    // Ordered with a pause or stop as in DialCampaign.
    txn.exec_params("SELECT 1 FROM campaigns WHERE id = $1::uuid FOR SHARE",
                    std::string(campaign_id));
    CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, campaign_id, false));
    if (campaign.state() != v1::CAMPAIGN_STATE_RUNNING) {
      return absl::FailedPreconditionError(absl::StrCat("CAMPAIGN_NOT_RUNNING: ", campaign.name(),
                                                        " is ",
                                                        v1::CampaignState_Name(campaign.state())));
    }
    const std::string customer_id = rows[0][0].as<std::string>();
    const int attempts = rows[0][2].as<int>();
    const v1::CampaignEntry body = Parse<v1::CampaignEntry>(rows[0][3]);
    const std::string number =
        number_override.empty() ? rows[0][1].as<std::string>() : std::string(number_override);
    // The operator is waiting: when consent cannot be confirmed now, the hold is kept and the
    // caller told UNAVAILABLE (nothing is dialled unchecked, nothing is recorded).
    absl::StatusOr<customers::v1::ContactPermission> reachable = customers_->CheckOutboundCall(
        customer_id.empty() ? "" : absl::StrCat("customers/", customer_id), number);
    if (absl::IsUnavailable(reachable.status())) return reachable.status();
    CC_ASSIGN_OR_RETURN(EntryCheck check,
                        CheckEntry(txn, campaign, campaign_id, std::string(entry_id), customer_id,
                                   number, attempts, body, now));
    txn.exec_params(
        "UPDATE campaign_entries SET held_by = '', hold_until = NULL WHERE id = "
        "$1::uuid",
        std::string(entry_id));
    if (check.refused) {
      refused = check;
      return absl::OkStatus();
    }
    DialPlan made =
        PlanFor(campaign, campaign_id, entry_id, customer_id, check.number, body, check.vip, now);
    made.op = std::string(operator_id);
    made.pick = false;
    txn.exec_params(
        "INSERT INTO dials (call_id, site, campaign_id, entry_id, attempt_number, phone, state, "
        "request, create_time) VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6, 'new', $7, "
        "clock_timestamp())",
        made.call_id, router_->site(), std::string(campaign_id), std::string(entry_id),
        attempts + 1, check.number, common::PgBytes(made.request.SerializeAsString()));
    txn.exec_params(
        "UPDATE campaign_entries SET attempt_count = attempt_count + 1, update_time = now(), "
        "etag = etag + 1 WHERE id = $1::uuid",
        std::string(entry_id));
    plan = std::move(made);
    return absl::OkStatus();
  }));
  if (refused) {
    CC_RETURN_IF_ERROR(HoldOperator(operator_id, false));
    return absl::FailedPreconditionError(
        absl::StrCat(v1::DialRefusalReason_Name(refused->reason), ": ", refused->detail));
  }
  absl::StatusOr<bool> live = MakeLive(*plan);
  if (!live.ok() || !*live) {
    CC_RETURN_IF_ERROR(UndoClaim(plan->call_id, "the operator could not be reserved"));
    (void)HoldOperator(operator_id, false);
    if (!live.ok()) return live.status();
    return absl::FailedPreconditionError(absl::StrCat(
        "OPERATOR_NOT_AVAILABLE: ", OperatorName(operator_id), " cannot take the call"));
  }
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct snapshot, router_->Read("call", plan->call_id));
  return CallFromSnapshot(plan->call_id, snapshot);
}

grpc::Status CampaignsGrpcService::DialPreviewEntry(grpc::ServerContext*,
                                                    const v1::DialPreviewEntryRequest* request,
                                                    v1::Call* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->entry(), "entry"));
    CC_ASSIGN_OR_RETURN(std::string op,
                        RequiredUuid(request->operator_(), "operators", "operator"));
    std::string number;
    if (!request->phone_number().raw().empty() || !request->phone_number().e164().empty()) {
      CC_ASSIGN_OR_RETURN(number, NormalizedNumber(request->phone_number(), options_.default_region,
                                                   "phone_number"));
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    CC_ASSIGN_OR_RETURN(
        auto earlier,
        pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<std::optional<v1::Call>> {
          return Earlier<v1::Call>(txn, "DialPreviewEntry", request->request_id(), *request);
        }));
    if (earlier) return *earlier;
    CC_ASSIGN_OR_RETURN(v1::Call call, DialHeldEntry(key.campaign_id, key.entry_id, op, number));
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      return common::SaveRequestResponse(txn, "DialPreviewEntry", request->request_id(), *request,
                                         call);
    }));
    return call;
  }();
  return Reply(std::move(result), response, "DialPreviewEntry");
}

grpc::Status CampaignsGrpcService::SkipPreviewEntry(grpc::ServerContext*,
                                                    const v1::SkipPreviewEntryRequest* request,
                                                    v1::CampaignEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  auto result = [&]() -> absl::StatusOr<v1::CampaignEntry> {
    CC_ASSIGN_OR_RETURN(EntryKey key, ParseEntryName(request->entry(), "entry"));
    CC_ASSIGN_OR_RETURN(std::string op,
                        RequiredUuid(request->operator_(), "operators", "operator"));
    if (request->reason().size() > 500) return InvalidArgumentError("reason", "at most 500 bytes");
    const absl::Duration delay = DurationOf(request->retry_delay(), absl::Hours(1));
    if (delay < absl::ZeroDuration() || delay > absl::Hours(24 * 90)) {
      return InvalidArgumentError("retry_delay", "must be 0 .. 90 days");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    CC_ASSIGN_OR_RETURN(
        v1::CampaignEntry entry,
        pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::CampaignEntry> {
          CC_ASSIGN_OR_RETURN(
              auto earlier,
              Earlier<v1::CampaignEntry>(txn, "SkipPreviewEntry", request->request_id(), *request));
          if (earlier) return *earlier;
          pqxx::result rows = txn.exec_params(
              "SELECT held_by, state, attempt_count, body FROM campaign_entries WHERE id = "
              "$1::uuid AND campaign_id = $2::uuid FOR UPDATE",
              key.entry_id, key.campaign_id);
          if (rows.empty()) return absl::NotFoundError(absl::StrCat("entry ", request->entry()));
          if (rows[0][1].as<int>() != v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS ||
              rows[0][0].as<std::string>() != op) {
            return absl::FailedPreconditionError(
                absl::StrCat("NOT_HELD_BY_OPERATOR: ", request->entry(), " is not held for ",
                             request->operator_()));
          }
          v1::CampaignEntry body = Parse<v1::CampaignEntry>(rows[0][3]);
          int state = rows[0][2].as<int>() == 0 ? v1::CAMPAIGN_ENTRY_STATE_PENDING
                                                : v1::CAMPAIGN_ENTRY_STATE_SCHEDULED;
          if (request->cancel_entry()) {
            state = v1::CAMPAIGN_ENTRY_STATE_CANCELLED;
            body.set_state_reason(request->reason().empty()
                                      ? absl::StrCat("skipped for good by ", request->operator_())
                                      : request->reason());
          }
          txn.exec_params(
              "UPDATE campaign_entries SET state = $2, held_by = '', hold_until = NULL, "
              "next_attempt_time = to_timestamp($3::bigint / 1e6), body = $4, update_time = "
              "now(), etag = etag + 1 WHERE id = $1::uuid",
              key.entry_id, state, Micros(Now() + delay),
              common::PgBytes(body.SerializeAsString()));
          CC_ASSIGN_OR_RETURN(v1::CampaignEntry skipped,
                              LoadEntryTx(txn, key.campaign_id, key.entry_id, true));
          CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "SkipPreviewEntry",
                                                         request->request_id(), *request, skipped));
          return skipped;
        }));
    CC_RETURN_IF_ERROR(HoldOperator(op, false));
    return entry;
  }();
  return Reply(std::move(result), response, "SkipPreviewEntry");
}

absl::Status CampaignsGrpcService::FailOrphanedDials() {
  // Dials an adapter took and never reported, with no stream of that adapter open any more:
  // past their expiry plus the ring timeout they can no longer be made, so they end FAILED and
  // the entry is retried by its rules.
  CC_ASSIGN_OR_RETURN(pqxx::result rows, pg_->Query([&](pqxx::nontransaction& query)
                                                        -> absl::StatusOr<pqxx::result> {
    return query.exec_params(
        "SELECT call_id::text, adapter, request FROM dials WHERE site = $1 AND state = 'sent' AND "
        "sent_time < now() - make_interval(secs => $2) LIMIT 100",
        router_->site(), absl::ToDoubleSeconds(options_.dial_expiry));
  }));
  for (const pqxx::row& row : rows) {
    const std::string call_id = row[0].as<std::string>();
    const std::string adapter = row[1].as<std::string>();
    const v1::DialRequest dial = Parse<v1::DialRequest>(row[2]);
    if (common::TimeFromTimestamp(dial.expire_time()) +
            DurationOf(dial.ring_timeout(), absl::Seconds(25)) >
        Now()) {
      continue;
    }
    absl::StatusOr<common::RedisReply> open = router_->redis()->Command(
        {"EXISTS", absl::StrCat(router_->prefix(), ":adapter:", adapter)});
    if (!open.ok() || open->integer != 0) continue;  // its adapter is connected: it will report
    ScriptArgs args;
    args.Set("call", call_id)
        .Set("end_reason", "FAILED")
        .Set("dial_outcome", "FAILED")
        .Set("failure_reason", absl::StrCat("adapter ", adapter, " never reported the dial"));
    absl::StatusOr<google::protobuf::Struct> ended = router_->Run(Script::kHangUp, args);
    if (!ended.ok() && !absl::IsNotFound(ended.status())) return ended.status();
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      pqxx::result updated = txn.exec_params(
          "UPDATE dials SET state = 'reported', outcome = $2, end_time = now(), resolved = true "
          "WHERE call_id = $1::uuid AND state = 'sent' RETURNING 1",
          call_id, static_cast<int>(v1::DIAL_OUTCOME_FAILED));
      if (updated.empty()) return absl::OkStatus();
      common::LogWarning("dial never reported",
                         {{"call", CallName(call_id)}, {"adapter", adapter}});
      return ApplyOutcome(txn, call_id, v1::DIAL_OUTCOME_FAILED, "");
    }));
  }
  return absl::OkStatus();
}

absl::Status CampaignsGrpcService::ExpirePreviewHolds() {
  CC_ASSIGN_OR_RETURN(pqxx::result rows, pg_->Query([&](pqxx::nontransaction& query)
                                                        -> absl::StatusOr<pqxx::result> {
    return query.exec_params(
        "SELECT e.id::text, e.campaign_id::text, e.held_by, c.body FROM campaign_entries e JOIN "
        "campaigns c ON c.id = e.campaign_id WHERE c.site = $1 AND e.state = 3 AND e.held_by "
        "<> '' AND (e.hold_until < now() OR c.state <> 2) ORDER BY e.hold_until LIMIT 50",
        router_->site());
  }));
  for (const pqxx::row& row : rows) {
    const std::string entry_id = row[0].as<std::string>();
    const std::string campaign_id = row[1].as<std::string>();
    const std::string op = row[2].as<std::string>();
    const v1::Campaign campaign = Parse<v1::Campaign>(row[3]);
    const bool running = campaign.state() == v1::CAMPAIGN_STATE_RUNNING;
    if (running && campaign.pacing().preview_auto_dial()) {
      absl::StatusOr<v1::Call> dialled = DialHeldEntry(campaign_id, entry_id, op, "");
      if (dialled.ok() || absl::IsFailedPrecondition(dialled.status())) continue;
      return dialled.status();
    }
    bool released = false;
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      pqxx::result updated = txn.exec_params(
          "UPDATE campaign_entries SET state = CASE WHEN $3 THEN 8 WHEN attempt_count = 0 THEN 1 "
          "ELSE 2 END, held_by = '', hold_until = NULL, update_time = now(), etag = etag + 1 "
          "WHERE id = $1::uuid AND state = 3 AND held_by = $2 RETURNING 1",
          entry_id, op, !running && campaign.state() != v1::CAMPAIGN_STATE_PAUSED);
      released = !updated.empty();
      return absl::OkStatus();
    }));
    if (released) {
      common::LogInfo("preview hold expired", {{"entry", EntryName(campaign_id, entry_id)},
                                               {"operator", OperatorName(op)}});
      CC_RETURN_IF_ERROR(HoldOperator(op, false));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CampaignsGrpcService::MakeLive(const DialPlan& plan) {
  ScriptArgs args;
  google::protobuf::Struct attributes;
  for (const auto& [key, value] : plan.request.attributes()) {
    (*attributes.mutable_fields())[key].set_string_value(value);
  }
  args.Set("call_id", plan.call_id)
      .Set("op", plan.op)
      .Set("pick", plan.pick)
      .Set("queue", plan.queue_id)
      .Set("customer", plan.customer)
      .Set("number", plan.number)
      .Set("caller_id", plan.request.caller_id())
      .Set("priority", plan.priority)
      .Set("attrs", ToJson(attributes))
      .Set("campaign", plan.campaign_id.empty() ? "" : CampaignName(plan.campaign_id))
      .Set("entry", plan.entry_id.empty() ? "" : EntryName(plan.campaign_id, plan.entry_id))
      .Set("callback", plan.callback_id.empty() ? "" : CallbackName(plan.callback_id))
      .Set("codes", plan.codes_json)
      .Set("placed_by", "services/campaigns")
      .Set("site", router_->site());
  args.SetList("candidates", plan.candidates);
  v1::DialRequest request_id_source;
  request_id_source.set_call(plan.call_id);
  // The call id is the idempotency key: a repeat finds the first answer.
  args.Request("CampaignDial", plan.call_id, request_id_source);
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct result, router_->Run(Script::kPlaceOutbound, args));
  auto none = result.fields().find("none");
  if (none != result.fields().end() && none->second.bool_value()) return false;
  auto snap_it = result.fields().find("snap");
  const google::protobuf::Struct snapshot = snap_it == result.fields().end()
                                                ? google::protobuf::Struct()
                                                : snap_it->second.struct_value();
  const std::string op = Field(snapshot, "op");
  v1::DialRequest dial = plan.request;
  if (!op.empty()) {
    dial.set_operator_(OperatorName(op));
    absl::StatusOr<google::protobuf::Struct> operator_hash = router_->Read("op", op);
    if (operator_hash.ok()) dial.set_endpoint(Field(*operator_hash, "endpoint"));
  }
  CC_ASSIGN_OR_RETURN(bool updated, pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    pqxx::result rows = txn.exec_params(
        "UPDATE dials SET state = 'ready', operator_id = $2, request = $3 WHERE call_id = "
        "$1::uuid AND state = 'new' RETURNING attempt_number",
        plan.call_id, op, common::PgBytes(dial.SerializeAsString()));
    if (rows.empty()) return false;
    if (!plan.entry_id.empty()) {
      events::v1::Event event;
      auto* started = event.mutable_campaign_attempt_started();
      started->set_campaign(CampaignName(plan.campaign_id));
      started->set_entry(EntryName(plan.campaign_id, plan.entry_id));
      started->set_call(CallName(plan.call_id));
      started->set_attempt_number(rows[0][0].as<int>());
      started->set_customer(plan.customer);
      started->set_operator_(dial.operator_());
      CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    }
    return true;
  }));
  if (outbox_ != nullptr) outbox_->Notify();
  if (!updated) {
    // Undone meanwhile (this replica was too slow): the live call must not stay.
    ScriptArgs hang_up;
    hang_up.Set("call", plan.call_id).Set("end_reason", "FAILED").Set("dial_outcome", "SKIPPED");
    (void)router_->Run(Script::kHangUp, hang_up);
  }
  return true;
}

absl::Status CampaignsGrpcService::UndoClaim(absl::string_view call_id, absl::string_view why) {
  return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    // The row first: a dial an adapter has taken meanwhile is not undone (the stream claims
    // rows with SKIP LOCKED, so it cannot take this one while it is locked here).
    pqxx::result rows = txn.exec_params(
        "SELECT entry_id::text, callback_id::text FROM dials WHERE call_id = $1::uuid AND state "
        "IN ('new', 'ready') FOR UPDATE",
        std::string(call_id));
    if (rows.empty()) return absl::OkStatus();
    // The live call, if it was created, ends without a dial (its operator is freed).
    ScriptArgs hang_up;
    hang_up.Set("call", call_id).Set("end_reason", "FAILED").Set("dial_outcome", "SKIPPED");
    absl::StatusOr<google::protobuf::Struct> ended = router_->Run(Script::kHangUp, hang_up);
    if (!ended.ok() && !absl::IsNotFound(ended.status())) return ended.status();
    txn.exec_params(
        "UPDATE dials SET state = 'cancelled', outcome = 8, end_time = now() WHERE "
        "call_id = $1::uuid",
        std::string(call_id));
    if (!rows[0][0].is_null()) {
      // Not an attempt: the entry goes back where it was in the list.
      txn.exec_params(
          "UPDATE campaign_entries SET state = CASE WHEN attempt_count <= 1 THEN 1 ELSE 2 END, "
          "attempt_count = greatest(attempt_count - 1, 0), held_by = '', hold_until = NULL, "
          "update_time = now(), etag = etag + 1 WHERE id = $1::uuid AND state = 3",
          rows[0][0].as<std::string>());
    }
    if (!rows[0][1].is_null()) {
      txn.exec_params(
          "UPDATE callbacks SET state = 1, update_time = now(), etag = etag + 1 WHERE id = "
          "$1::uuid AND state = 2",
          rows[0][1].as<std::string>());
    }
    common::LogDebug("dial undone", {{"call", call_id}, {"why", why}});
    return absl::OkStatus();
  });
}

absl::Status CampaignsGrpcService::ApplyOutcome(pqxx::work& txn, absl::string_view call_id,
                                                v1::DialOutcome outcome,
                                                absl::string_view disposition) {
  {
    pqxx::result dial = txn.exec_params(
        "SELECT entry_id::text, callback_id::text, campaign_id::text, phone FROM dials WHERE "
        "call_id = $1::uuid",
        std::string(call_id));
    if (dial.empty()) return absl::OkStatus();
    const absl::Time now = Now();
    if (!dial[0][1].is_null()) {
      const std::string callback_id = dial[0][1].as<std::string>();
      pqxx::result rows =
          txn.exec_params(absl::StrCat("SELECT ", kCallbackColumns,
                                       " FROM callbacks WHERE id = $1::uuid FOR UPDATE"),
                          callback_id);
      if (rows.empty()) return absl::OkStatus();
      v1::Callback callback = CallbackFromRow(rows[0]);
      if (callback.state() != v1::CALLBACK_STATE_IN_PROGRESS) return absl::OkStatus();
      v1::CallbackState state = v1::CALLBACK_STATE_SCHEDULED;
      absl::Time next = now;
      if (outcome == v1::DIAL_OUTCOME_ANSWERED_HUMAN && !disposition.empty()) {
        state = v1::CALLBACK_STATE_COMPLETED;
      } else if (outcome != v1::DIAL_OUTCOME_SKIPPED) {
        const int dials = txn.exec_params1(
                                 "SELECT count(*) FROM dials WHERE callback_id = "
                                 "$1::uuid AND state = 'reported' AND outcome <> 8",
                                 callback_id)[0]
                              .as<int>();
        const int max_attempts = callback.max_attempts() > 0 ? callback.max_attempts() : 3;
        if (dials >= max_attempts) {
          state = v1::CALLBACK_STATE_FAILED;
        } else {
          next = now + DurationOf(callback.retry_interval(), absl::Minutes(15));
        }
      }
      txn.exec_params(
          "UPDATE callbacks SET state = $2, next_time = to_timestamp($3::bigint / 1e6), "
          "update_time = now(), etag = etag + 1 WHERE id = $1::uuid",
          callback_id, static_cast<int>(state), Micros(next));
      return absl::OkStatus();
    }
    if (dial[0][0].is_null() || dial[0][2].is_null()) return absl::OkStatus();
    const std::string entry_id = dial[0][0].as<std::string>();
    const std::string campaign_id = dial[0][2].as<std::string>();
    CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaignTx(txn, campaign_id, false));
    pqxx::result rows = txn.exec_params(
        "SELECT state, attempt_count, body FROM campaign_entries WHERE id = $1::uuid FOR UPDATE",
        entry_id);
    if (rows.empty()) return absl::OkStatus();
    int state = rows[0][0].as<int>();
    const int attempts = rows[0][1].as<int>();
    v1::CampaignEntry body = Parse<v1::CampaignEntry>(rows[0][2]);
    absl::Time next = now;
    int attempt_change = 0;
    std::string reason;
    absl::TimeZone zone;
    std::string zone_name = body.time_zone();
    if (zone_name.empty()) zone_name = ZoneOfNumber(dial[0][3].as<std::string>());
    if (zone_name.empty() || !absl::LoadTimeZone(zone_name, &zone)) zone = absl::UTCTimeZone();
    if (outcome == v1::DIAL_OUTCOME_SKIPPED) {
      attempt_change = -1;
      state = attempts <= 1 ? v1::CAMPAIGN_ENTRY_STATE_PENDING : v1::CAMPAIGN_ENTRY_STATE_SCHEDULED;
      next = now + absl::Seconds(30);
    } else {
      const v1::DispositionCode* code = FindCode(campaign, disposition);
      const v1::DispositionEffect effect =
          code != nullptr ? code->effect() : v1::DISPOSITION_EFFECT_UNSPECIFIED;
      if (effect == v1::DISPOSITION_EFFECT_DONE) {
        state = v1::CAMPAIGN_ENTRY_STATE_COMPLETED;
        reason = absl::StrCat("completed: ", disposition);
      } else if (effect == v1::DISPOSITION_EFFECT_DO_NOT_CALL_AGAIN) {
        state = v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL;
        reason = "the customer asked not to be called again";
        v1::DoNotCallNumber listed;
        listed.mutable_phone_number()->set_e164(dial[0][3].as<std::string>());
        listed.set_reason(absl::StrCat("customer asked during ", CallName(call_id)));
        *listed.mutable_add_time() = common::TimestampFromTime(now);
        txn.exec_params(
            "INSERT INTO campaign_do_not_call (campaign_id, phone, body, add_time) VALUES "
            "($1::uuid, $2, $3, now()) ON CONFLICT DO NOTHING",
            campaign_id, dial[0][3].as<std::string>(), common::PgBytes(listed.SerializeAsString()));
      } else if (effect == v1::DISPOSITION_EFFECT_FAILED) {
        state = v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
        reason = absl::StrCat("failed: ", disposition);
      } else {
        const int with_outcome = txn.exec_params1(
                                        "SELECT count(*) FROM dials WHERE entry_id = $1::uuid "
                                        "AND state = 'reported' AND outcome = $2",
                                        entry_id, static_cast<int>(outcome))[0]
                                     .as<int>();
        const RetryDecision decision = DecideRetry(campaign.attempt_policy(), outcome, attempts,
                                                   std::max(with_outcome, 1), now, zone);
        if (decision.final) {
          state = decision.final_state;
          reason = decision.reason;
        } else {
          state = v1::CAMPAIGN_ENTRY_STATE_SCHEDULED;
          next = decision.next_attempt;
        }
      }
    }
    // A stopped campaign retries nothing.
    if (!IsFinalEntryState(state) && (campaign.state() == v1::CAMPAIGN_STATE_STOPPED ||
                                      campaign.state() == v1::CAMPAIGN_STATE_COMPLETED)) {
      state = v1::CAMPAIGN_ENTRY_STATE_CANCELLED;
      reason = "campaign stopped";
    }
    if (rows[0][0].as<int>() != v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS) {
      // Cancelled or stopped meanwhile: the outcome is kept, the state stays.
      state = rows[0][0].as<int>();
    }
    if (!reason.empty()) body.set_state_reason(reason);
    if (!disposition.empty()) body.set_last_disposition(std::string(disposition));
    if (outcome != v1::DIAL_OUTCOME_SKIPPED) {
      pqxx::row attempt =
          txn.exec_params1("SELECT attempt_number, ring_ms FROM dials WHERE call_id = $1::uuid",
                           std::string(call_id));
      events::v1::Event event;
      auto* finished = event.mutable_campaign_attempt_finished();
      finished->set_campaign(CampaignName(campaign_id));
      finished->set_entry(EntryName(campaign_id, entry_id));
      finished->set_call(CallName(call_id));
      finished->set_attempt_number(attempt[0].as<int>());
      finished->set_outcome(outcome);
      *finished->mutable_ring_time() = ProtoDuration(absl::Milliseconds(attempt[1].as<int64_t>()));
      finished->set_entry_final(IsFinalEntryState(state));
      CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    }
    txn.exec_params(
        "UPDATE campaign_entries SET state = $2, attempt_count = attempt_count + $3, "
        "last_outcome = $4, next_attempt_time = to_timestamp($5::bigint / 1e6), body = $6, "
        "update_time = now(), etag = etag + 1 WHERE id = $1::uuid",
        entry_id, state, attempt_change,
        outcome == v1::DIAL_OUTCOME_SKIPPED ? static_cast<int>(body.last_outcome())
                                            : static_cast<int>(outcome),
        Micros(next), common::PgBytes(body.SerializeAsString()));
    return absl::OkStatus();
  }
}

absl::Status CampaignsGrpcService::DialCallbacks() {
  std::vector<DialPlan> plans;
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    plans.clear();
    pqxx::result rows = txn.exec_params(
        absl::StrCat("SELECT ", kCallbackColumns,
                     ", queue_id, operator_id FROM callbacks WHERE site = $1 AND state = 1 AND "
                     "next_time <= now() ORDER BY next_time LIMIT 100 FOR UPDATE SKIP LOCKED"),
        router_->site());
    const absl::Time now = Now();
    for (const pqxx::row& row : rows) {
      v1::Callback callback = CallbackFromRow(row);
      const std::string id = row[0].as<std::string>();
      const std::string operator_id = row[6].as<std::string>();
      DialPlan plan;
      plan.call_id = common::NewId();
      plan.number = callback.phone_number().e164();
      plan.customer = callback.customer();
      plan.pick = true;
      // The promised operator during the grace period, then anyone of the queue.
      const absl::Time grace_end = common::TimeFromTimestamp(callback.due_time()) +
                                   DurationOf(callback.grace_period(), absl::Minutes(15));
      if (!operator_id.empty() && now < grace_end) plan.candidates.push_back(operator_id);
      plan.queue_id = row[5].as<std::string>();
      // Nobody to take it now: it waits, unclaimed, for the next pass (no dial row each time).
      v1::Campaign who;
      who.set_queue(QueueName(plan.queue_id));
      for (const std::string& candidate : plan.candidates)
        who.add_operators(OperatorName(candidate));
      if (FreeOperators(who, plan.queue_id) == 0) continue;
      // The customer asked for the call: do-not-call does not stop it, the suppression list
      // and the card's own calling window do.
      absl::StatusOr<customers::v1::ContactPermission> permission = customers_->CheckContact(
          callback.customer(), plan.number, customers::v1::CONTACT_PURPOSE_REQUESTED_CALLBACK);
      if (absl::IsUnavailable(permission.status())) continue;  // nothing dialled unchecked
      if (permission.ok() && !permission->allowed()) {
        bool window_only = true;
        for (int denial : permission->denial_reasons()) {
          window_only &= denial == customers::v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW;
        }
        if (!window_only) {
          txn.exec_params(
              "UPDATE callbacks SET state = $2, update_time = now(), etag = etag + 1 "
              "WHERE id = $1::uuid",
              id, static_cast<int>(v1::CALLBACK_STATE_FAILED));
          common::LogInfo("call-back refused", {{"callback", CallbackName(id)}});
          continue;
        }
        if (!permission->customer().empty()) {
          const absl::Time next = permission->has_next_allowed_time()
                                      ? common::TimeFromTimestamp(permission->next_allowed_time())
                                      : now + absl::Hours(1);
          txn.exec_params(
              "UPDATE callbacks SET next_time = to_timestamp($2::bigint / 1e6), update_time = "
              "now() WHERE id = $1::uuid",
              id, Micros(next));
          continue;
        }
      }
      plan.callback_id = id;
      plan.priority = 9;
      v1::DialRequest& dial = plan.request;
      dial.set_call(CallName(plan.call_id));
      dial.set_phone_number(plan.number);
      *dial.mutable_ring_timeout() = ProtoDuration(absl::Seconds(25));
      *dial.mutable_expire_time() = common::TimestampFromTime(now + options_.dial_expiry);
      dial.set_callback(CallbackName(id));
      callback.add_calls(CallName(plan.call_id));
      txn.exec_params(
          "INSERT INTO dials (call_id, site, callback_id, phone, state, request, create_time) "
          "VALUES ($1::uuid, $2, $3::uuid, $4, 'new', $5, clock_timestamp())",
          plan.call_id, router_->site(), id, plan.number,
          common::PgBytes(dial.SerializeAsString()));
      txn.exec_params(
          "UPDATE callbacks SET state = 2, body = $2, update_time = now(), etag = etag + 1 WHERE "
          "id = $1::uuid",
          id, common::PgBytes(callback.SerializeAsString()));
      plans.push_back(std::move(plan));
    }
    return absl::OkStatus();
  }));
  for (const DialPlan& plan : plans) {
    absl::StatusOr<bool> live = MakeLive(plan);
    if (!live.ok() || !*live) {
      CC_RETURN_IF_ERROR(UndoClaim(plan.call_id, "no operator free for the call-back"));
      // The call made for it is not one of its calls.
      CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
        pqxx::result rows = txn.exec_params(
            "SELECT body FROM callbacks WHERE id = $1::uuid FOR UPDATE", plan.callback_id);
        if (rows.empty()) return absl::OkStatus();
        v1::Callback callback = Parse<v1::Callback>(rows[0][0]);
        auto* calls = callback.mutable_calls();
        calls->erase(std::remove(calls->begin(), calls->end(), CallName(plan.call_id)),
                     calls->end());
        txn.exec_params("UPDATE callbacks SET body = $2 WHERE id = $1::uuid", plan.callback_id,
                        common::PgBytes(callback.SerializeAsString()));
        return absl::OkStatus();
      }));
    }
  }
  return absl::OkStatus();
}

absl::Status CampaignsGrpcService::ResolveAnsweredCalls() {
  CC_ASSIGN_OR_RETURN(pqxx::result rows, pg_->Query([&](pqxx::nontransaction& query)
                                                        -> absl::StatusOr<pqxx::result> {
    return query.exec_params(
        "SELECT call_id::text FROM dials WHERE site = $1 AND state = 'reported' AND NOT resolved "
        "ORDER BY create_time LIMIT 500",
        router_->site());
  }));
  for (const pqxx::row& row : rows) {
    const std::string call_id = row[0].as<std::string>();
    CC_ASSIGN_OR_RETURN(google::protobuf::Struct snapshot, router_->Read("call", call_id));
    const std::string state = Field(snapshot, "state");
    v1::DialOutcome outcome = v1::DIAL_OUTCOME_ANSWERED_HUMAN;
    std::string disposition;
    if (state == "COMPLETED" || state == "TRANSFERRED") {
      disposition = CallFromSnapshot(call_id, snapshot).wrap_up().disposition();
      // A transferred leg's wrap-up may still come, unless its limit has passed.
      if (disposition.empty() && state == "TRANSFERRED" && Field(snapshot, "missing_wrap") != "1") {
        continue;
      }
    } else if (state == "FAILED") {
      if (Field(snapshot, "dial_outcome") == "DROPPED") outcome = v1::DIAL_OUTCOME_DROPPED;
    } else if (state == "ABANDONED" || state.empty()) {
      // Hung up before an operator took it, or long gone: retried as answered.
    } else {
      continue;  // still live
    }
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      pqxx::result updated = txn.exec_params(
          "UPDATE dials SET resolved = true, outcome = $2, disposition = $3, end_time = now() "
          "WHERE call_id = $1::uuid AND NOT resolved RETURNING 1",
          call_id, static_cast<int>(outcome), disposition);
      if (updated.empty()) return absl::OkStatus();  // another replica did it
      return ApplyOutcome(txn, call_id, outcome, disposition);
    }));
  }
  return absl::OkStatus();
}

absl::Status CampaignsGrpcService::UndoStaleClaims() {
  CC_ASSIGN_OR_RETURN(
      pqxx::result rows,
      pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<pqxx::result> {
        return query.exec_params(
            "(SELECT call_id::text FROM dials WHERE site = $1 AND state = 'new' AND create_time < "
            "now() - make_interval(secs => $2) LIMIT 100) UNION ALL (SELECT d.call_id::text FROM "
            "dials d JOIN campaigns c ON c.id = d.campaign_id WHERE d.site = $1 AND d.state = "
            "'ready' AND c.state <> 2 LIMIT 100)",
            router_->site(), absl::ToDoubleSeconds(options_.stale_claim));
      }));
  for (const pqxx::row& row : rows) {
    common::LogInfo("undoing a dial left half-made", {{"call", row[0].as<std::string>()}});
    CC_RETURN_IF_ERROR(UndoClaim(row[0].as<std::string>(), "stale claim"));
  }
  return absl::OkStatus();
}

}  // namespace contactcentre::calls
