#include "services/surveys/campaign_store.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/time_util.h>

#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "services/surveys/survey_logic.h"

namespace contactcentre::surveys {
namespace {

using google::protobuf::util::FieldMaskUtil;

absl::Duration DurationOf(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

bool IsCallChannel(v1::SurveyChannel channel) {
  return channel == v1::SURVEY_CHANNEL_OPERATOR || channel == v1::SURVEY_CHANNEL_KEYPAD;
}

bool ListsChannel(const v1::SurveyDefinition& definition, v1::SurveyChannel channel) {
  for (int listed : definition.channels()) {
    if (listed == channel) return true;
  }
  return false;
}

bool CampaignFinal(v1::CampaignState state) {
  return state == v1::CAMPAIGN_STATE_COMPLETED || state == v1::CAMPAIGN_STATE_STOPPED;
}

// The exclusion a customer's facts call for on a channel; UNSPECIFIED when none.
v1::ExclusionReason ExclusionFor(const CustomerFacts& facts, v1::SurveyChannel channel,
                                 bool do_not_call_applies, std::string* detail) {
  if (!facts.found) {
    *detail = "the customer does not exist or was erased";
    return v1::EXCLUSION_REASON_CUSTOMER_UNAVAILABLE;
  }
  if (facts.survey_opt_out) {
    *detail = "the customer opted out of surveys";
    return v1::EXCLUSION_REASON_SURVEY_OPT_OUT;
  }
  if (do_not_call_applies && facts.do_not_call) {
    *detail = "the customer must not be called (do-not-call)";
    return v1::EXCLUSION_REASON_DO_NOT_CALL;
  }
  if (facts.abusive) {
    *detail = "the customer is flagged abusive";
    return v1::EXCLUSION_REASON_ABUSIVE;
  }
  const bool contact = channel == v1::SURVEY_CHANNEL_LINK
                           ? (!facts.phone_e164.empty() || facts.has_email)
                           : !facts.phone_e164.empty();
  if (!contact) {
    *detail = "no contact usable for the channel";
    return v1::EXCLUSION_REASON_NO_CONTACT;
  }
  return v1::EXCLUSION_REASON_UNSPECIFIED;
}

// Whether `now` falls inside the schedule (its zone, else `fallback_zone`); closed dates never.
bool InCallingWindow(const common::v1::WeeklySchedule& schedule, absl::Time now,
                     const std::string& fallback_zone) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(schedule.time_zone().empty() ? fallback_zone : schedule.time_zone(),
                          &zone)) {
    return false;
  }
  const absl::CivilSecond local = absl::ToCivilSecond(now, zone);
  const absl::CivilDay day(local);
  const std::string date = absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
  for (const std::string& closed : schedule.closed_dates()) {
    if (closed == date) return false;
  }
  // absl::Weekday counts from Monday = 0; DayOfWeek from Monday = 1.
  const int weekday = static_cast<int>(absl::GetWeekday(day)) + 1;
  const int minute = local.hour() * 60 + local.minute();
  for (const auto& window : schedule.windows()) {
    if (static_cast<int>(window.day()) == weekday && minute >= window.start_minute() &&
        minute < window.end_minute()) {
      return true;
    }
  }
  return false;
}

calls::v1::DialOutcome DialOutcomeOf(v1::InvitationOutcome outcome) {
  switch (outcome) {
    case v1::INVITATION_OUTCOME_NO_ANSWER:
      return calls::v1::DIAL_OUTCOME_NO_ANSWER;
    case v1::INVITATION_OUTCOME_BUSY:
      return calls::v1::DIAL_OUTCOME_BUSY;
    case v1::INVITATION_OUTCOME_ANSWERING_MACHINE:
      return calls::v1::DIAL_OUTCOME_ANSWERING_MACHINE;
    case v1::INVITATION_OUTCOME_CALL_FAILED:
      return calls::v1::DIAL_OUTCOME_FAILED;
    case v1::INVITATION_OUTCOME_INVALID_NUMBER:
      return calls::v1::DIAL_OUTCOME_INVALID_NUMBER;
    case v1::INVITATION_OUTCOME_CALLBACK_REQUESTED:
    case v1::INVITATION_OUTCOME_INTERRUPTED:
    case v1::INVITATION_OUTCOME_REFUSED:
    case v1::INVITATION_OUTCOME_OPTED_OUT:
      return calls::v1::DIAL_OUTCOME_ANSWERED_HUMAN;
    default:  // released or excluded: no call was made
      return calls::v1::DIAL_OUTCOME_SKIPPED;
  }
}

// CampaignAttemptFinished of a campaign invitation after UpdateInvitation.
absl::Status EnqueueAttemptFinished(pqxx::work& txn, const common::EventPublisher& events,
                                    const v1::Invitation& invitation,
                                    const v1::UpdateInvitationRequest& request) {
  events::v1::Event event;
  event.set_request_id(request.request_id());
  events::v1::CampaignAttemptFinished& finished = *event.mutable_campaign_attempt_finished();
  finished.set_campaign(invitation.campaign());
  finished.set_entry(invitation.name());
  finished.set_call(request.call());
  finished.set_attempt_number(invitation.attempt_count());
  finished.set_outcome(DialOutcomeOf(request.outcome()));
  finished.set_entry_final(IsFinal(invitation.status()));
  return common::EnqueueEvent(txn, events, event);
}

// The next time the schedule opens after `now` (within 8 days), or `now` + 1 day when it never
// does (an empty schedule); `now` itself when it is open.
absl::Time NextWindowOpening(const common::v1::WeeklySchedule& schedule, absl::Time now,
                             const std::string& fallback_zone) {
  if (InCallingWindow(schedule, now, fallback_zone)) return now;
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(schedule.time_zone().empty() ? fallback_zone : schedule.time_zone(),
                          &zone)) {
    return now + absl::Hours(24);
  }
  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  for (int offset = 0; offset <= 8; ++offset) {
    const absl::CivilDay day = today + offset;
    const int weekday = static_cast<int>(absl::GetWeekday(day)) + 1;
    std::optional<absl::Time> earliest;
    for (const auto& window : schedule.windows()) {
      if (static_cast<int>(window.day()) != weekday) continue;
      const absl::Time opening =
          absl::FromCivil(absl::CivilMinute(day) + window.start_minute(), zone);
      if (opening > now && (!earliest || opening < *earliest)) earliest = opening;
    }
    if (earliest && InCallingWindow(schedule, *earliest, fallback_zone)) return *earliest;
  }
  return now + absl::Hours(24);
}

absl::Status ValidateCap(const v1::FrequencyCap& cap, absl::string_view field) {
  if (cap.max_invitations() < 0) {
    return common::InvalidArgumentError(absl::StrCat(field, ".max_invitations"),
                                        "must not be negative");
  }
  if (cap.max_invitations() > 0) {
    const absl::Duration period = DurationOf(cap.period());
    if (period <= absl::ZeroDuration() || period > absl::Hours(24 * 366)) {
      return common::InvalidArgumentError(absl::StrCat(field, ".period"),
                                          "must be positive and at most 366 days");
    }
  }
  return absl::OkStatus();
}

// True when the customer already has as many counting invitations as the cap allows. Holds a
// transaction lock on the customer so that two concurrent invitations cannot both pass.
absl::StatusOr<bool> CapReached(pqxx::work& txn, const v1::FrequencyCap& cap,
                                const std::string& customer, const std::string& survey_id,
                                absl::Time now) {
  if (cap.max_invitations() <= 0 || customer.empty()) return false;
  txn.exec_params("SELECT pg_advisory_xact_lock(hashtext('surveys-cap:' || $1))", customer);
  const bool same_survey = cap.scope() == v1::FREQUENCY_CAP_SCOPE_SAME_SURVEY;
  pqxx::result rows = txn.exec_params(
      "SELECT count(*) FROM invitations WHERE customer = $1 AND status NOT IN (6, 7) "
      "AND create_time > to_timestamp($2::float8 / 1e6) AND (NOT $3 OR survey_id = $4)",
      customer, absl::ToUnixMicros(now - DurationOf(cap.period())), same_survey, survey_id);
  return rows[0][0].as<int64_t>() >= cap.max_invitations();
}

std::string NewLinkToken() {
  return absl::StrReplaceAll(absl::StrCat(common::NewId(), common::NewId()), {{"-", ""}});
}

absl::StatusOr<v1::PostCallSurveySettings> LoadSettings(pqxx::transaction_base& txn,
                                                        const std::string& queue_id) {
  pqxx::result rows = txn.exec_params(
      "SELECT data, revision FROM post_call_settings WHERE queue_id = $1", queue_id);
  v1::PostCallSurveySettings settings;
  if (rows.empty()) {
    settings.set_name(absl::StrCat("postCallSurveySettings/", queue_id));
    settings.set_queue(absl::StrCat("queues/", queue_id));
    return settings;
  }
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), settings));
  settings.set_etag(rows[0][1].c_str());
  return settings;
}

absl::Status ValidateCampaign(const v1::Campaign& campaign) {
  if (campaign.display_name().empty()) {
    return common::InvalidArgumentError("campaign.display_name", "must not be empty");
  }
  CC_RETURN_IF_ERROR(ParseName(campaign.survey(), "surveys", "campaign.survey").status());
  if (!campaign.survey_version().empty()) {
    CC_ASSIGN_OR_RETURN(auto version,
                        ParseVersionName(campaign.survey_version(), "campaign.survey_version"));
    if (absl::StrCat("surveys/", version.first) != campaign.survey() || version.second == 0) {
      return common::InvalidArgumentError("campaign.survey_version",
                                          "must be a numbered version of campaign.survey");
    }
  }
  if (campaign.channel() == v1::SURVEY_CHANNEL_UNSPECIFIED ||
      !v1::SurveyChannel_IsValid(campaign.channel())) {
    return common::InvalidArgumentError("campaign.channel", "must be set");
  }
  if (campaign.max_attempts() < 0 || campaign.max_attempts() > 10) {
    return common::InvalidArgumentError("campaign.max_attempts", "must be 1..10 (0 means 3)");
  }
  if (campaign.quota() < 0) {
    return common::InvalidArgumentError("campaign.quota", "must not be negative");
  }
  if (campaign.has_start_time() && campaign.has_end_time() &&
      common::TimeFromTimestamp(campaign.end_time()) <=
          common::TimeFromTimestamp(campaign.start_time())) {
    return common::InvalidArgumentError("campaign.end_time", "must be after start_time");
  }
  if (campaign.target().customer_list().customers_size() > 10000) {
    return common::InvalidArgumentError("campaign.target.customer_list.customers",
                                        "at most 10,000 customers; add more with "
                                        "BatchCreateInvitations");
  }
  for (int i = 0; i < campaign.target().customer_list().customers_size(); ++i) {
    CC_RETURN_IF_ERROR(ParseName(campaign.target().customer_list().customers(i), "customers",
                                 absl::StrCat("campaign.target.customer_list.customers[", i, "]"))
                           .status());
  }
  if (!campaign.calling_window().time_zone().empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(campaign.calling_window().time_zone(), &zone)) {
      return common::InvalidArgumentError("campaign.calling_window.time_zone",
                                          "unknown IANA time zone");
    }
  }
  for (const auto& window : campaign.calling_window().windows()) {
    if (window.day() == common::v1::DAY_OF_WEEK_UNSPECIFIED ||
        !common::v1::DayOfWeek_IsValid(window.day())) {
      return common::InvalidArgumentError("campaign.calling_window.windows",
                                          "each window needs its day");
    }
    if (window.start_minute() < 0 || window.end_minute() > 24 * 60 ||
        window.start_minute() >= window.end_minute()) {
      return common::InvalidArgumentError("campaign.calling_window.windows",
                                          "each window needs 0 <= start_minute < end_minute <= "
                                          "1440");
    }
  }
  return ValidateCap(campaign.frequency_cap(), "campaign.frequency_cap");
}

}  // namespace

CampaignStore::CampaignStore(common::PgPool* pg, const common::EventPublisher* events,
                             common::OutboxRelay* outbox, CustomersClient* customers,
                             VersionCache* versions, SurveysOptions options)
    : pg_(pg),
      events_(events),
      outbox_(outbox),
      customers_(customers),
      versions_(versions),
      options_(std::move(options)) {}

double CampaignStore::SamplingPoint(absl::string_view call) {
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : call) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  // Final mix so that ids differing in their last characters spread over the whole range.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  return static_cast<double>(hash >> 11) / static_cast<double>(1ULL << 53);
}

absl::StatusOr<v1::Campaign> CampaignStore::WithStats(pqxx::transaction_base& txn,
                                                      v1::Campaign campaign) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(campaign.name(), "surveyCampaigns", "name"));
  pqxx::result rows = txn.exec_params(
      "SELECT status, count(*) FROM invitations WHERE campaign_id = $1 GROUP BY status", id);
  v1::CampaignStats& stats = *campaign.mutable_stats();
  for (const auto& row : rows) {
    const int64_t count = row[1].as<int64_t>();
    stats.set_invitation_count(stats.invitation_count() + count);
    switch (row[0].as<int>()) {
      case v1::INVITATION_STATUS_PENDING:
        stats.set_pending_count(count);
        break;
      case v1::INVITATION_STATUS_IN_PROGRESS:
        stats.set_in_progress_count(count);
        break;
      case v1::INVITATION_STATUS_COMPLETED:
        stats.set_completed_count(count);
        break;
      case v1::INVITATION_STATUS_REFUSED:
        stats.set_refused_count(count);
        break;
      case v1::INVITATION_STATUS_UNREACHABLE:
        stats.set_unreachable_count(count);
        break;
      case v1::INVITATION_STATUS_EXCLUDED:
        stats.set_excluded_count(count);
        break;
      case v1::INVITATION_STATUS_CANCELLED:
        stats.set_cancelled_count(count);
        break;
      case v1::INVITATION_STATUS_EXPIRED:
        stats.set_expired_count(count);
        break;
      default:
        break;
    }
  }
  stats.set_target_resolved(campaign.state() != v1::CAMPAIGN_STATE_DRAFT);
  return campaign;
}

absl::StatusOr<v1::Campaign> CampaignStore::CreateCampaign(
    const v1::CreateCampaignRequest& request) {
  CC_RETURN_IF_ERROR(ValidateCampaign(request.campaign()));
  if (!request.campaign_id().empty() && !IsValidResourceId(request.campaign_id())) {
    return common::InvalidArgumentError(
        "campaign_id", "must be 1-63 characters of [a-z0-9-] starting with a letter");
  }
  CC_ASSIGN_OR_RETURN(std::string survey_id,
                      ParseName(request.campaign().survey(), "surveys", "campaign.survey"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
    return Idempotent<v1::Campaign>(
        txn, "CreateCampaign", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Campaign> {
          CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
          if (!request.campaign().survey_version().empty()) {
            CC_ASSIGN_OR_RETURN(auto pinned,
                                ParseVersionName(request.campaign().survey_version(), "version"));
            CC_RETURN_IF_ERROR(versions_->Get(txn, survey_id, pinned.second).status());
          }
          const std::string id =
              request.campaign_id().empty() ? common::NewId() : request.campaign_id();
          if (!txn.exec_params("SELECT 1 FROM campaigns WHERE id = $1", id).empty()) {
            return absl::AlreadyExistsError(
                absl::StrCat("surveyCampaigns/", id, " already exists"));
          }
          v1::Campaign campaign = request.campaign();
          campaign.set_name(absl::StrCat("surveyCampaigns/", id));
          campaign.set_state(v1::CAMPAIGN_STATE_DRAFT);
          campaign.clear_state_reason();
          campaign.clear_started_time();
          campaign.clear_finished_time();
          const auto now = common::TimestampFromTime(absl::Now());
          *campaign.mutable_create_time() = now;
          *campaign.mutable_update_time() = now;
          CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, true));
          return WithStats(txn, campaign);
        });
  });
}

absl::StatusOr<v1::Campaign> CampaignStore::UpdateCampaign(
    const v1::UpdateCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseName(request.campaign().name(), "surveyCampaigns", "campaign.name"));
  static const std::set<std::string> kAlways = {"display_name",   "description",    "labels",
                                                "end_time",       "calling_window", "max_attempts",
                                                "retry_interval", "quota",          "frequency_cap",
                                                "link_validity",  "teams",          "operators"};
  static const std::set<std::string> kDraftOnly = {"survey", "survey_version", "channel", "target",
                                                   "start_time"};
  for (const std::string& path : request.update_mask().paths()) {
    if (!kAlways.count(path) && !kDraftOnly.count(path)) {
      return common::InvalidArgumentError("update_mask",
                                          absl::StrCat("\"", path, "\" is not a writable field"));
    }
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
    return Idempotent<v1::Campaign>(
        txn, "UpdateCampaign", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Campaign> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.campaign().etag(), std::stoll(campaign.etag())));
          if (CampaignFinal(campaign.state())) {
            return absl::FailedPreconditionError(absl::StrCat(campaign.name(), " is final"));
          }
          const bool draft = campaign.state() == v1::CAMPAIGN_STATE_DRAFT;
          google::protobuf::FieldMask mask = request.update_mask();
          if (mask.paths().empty()) {
            for (const std::string& path : kAlways) mask.add_paths(path);
            if (draft) {
              for (const std::string& path : kDraftOnly) mask.add_paths(path);
            }
          }
          for (const std::string& path : mask.paths()) {
            if (!draft && kDraftOnly.count(path)) {
              return absl::FailedPreconditionError(absl::StrCat(
                  path, " is fixed once the campaign started (", campaign.name(), ")"));
            }
          }
          FieldMaskUtil::MergeOptions options;
          options.set_replace_message_fields(true);
          options.set_replace_repeated_fields(true);
          FieldMaskUtil::MergeMessageTo(request.campaign(), mask, options, &campaign);
          CC_RETURN_IF_ERROR(ValidateCampaign(campaign));
          if (draft) {
            CC_ASSIGN_OR_RETURN(std::string survey_id,
                                ParseName(campaign.survey(), "surveys", "campaign.survey"));
            CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
          }
          *campaign.mutable_update_time() = common::TimestampFromTime(absl::Now());
          CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
          return WithStats(txn, campaign);
        });
  });
}

absl::StatusOr<v1::Campaign> CampaignStore::GetCampaign(const v1::GetCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyCampaigns", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::Campaign> {
    CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, false));
    return WithStats(txn, std::move(campaign));
  });
}

absl::StatusOr<v1::ListCampaignsResponse> CampaignStore::ListCampaigns(
    const v1::ListCampaignsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::string survey_id;
  if (!request.survey().empty()) {
    CC_ASSIGN_OR_RETURN(survey_id, ParseName(request.survey(), "surveys", "survey"));
  }
  std::vector<std::string> states;
  for (int state : request.states()) states.push_back(absl::StrCat(state));
  const std::string scope = absl::StrCat("ListCampaigns/", survey_id, "/", request.channel(), "/",
                                         absl::StrJoin(states, ","));
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListCampaignsResponse> {
    pqxx::result rows = txn.exec_params(
        "SELECT id, (extract(epoch FROM create_time) * 1e6)::bigint || '/' || id FROM campaigns "
        "WHERE ($1 = '' OR survey_id = $1) AND ($2 = 0 OR channel = $2) "
        "AND (cardinality($3::text[]) = 0 OR state::text = ANY($3::text[])) "
        "AND ($4 = '' OR (create_time, id) < (to_timestamp(split_part($4, '/', 1)::float8 / "
        "1e6), split_part($4, '/', 2))) ORDER BY create_time DESC, id DESC LIMIT $5",
        survey_id, static_cast<int>(request.channel()), common::PgTextArray(states), cursor,
        page_size + 1);
    v1::ListCampaignsResponse response;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
      CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, rows[i][0].c_str(), false));
      CC_ASSIGN_OR_RETURN(*response.add_campaigns(), WithStats(txn, std::move(campaign)));
    }
    if (static_cast<int>(rows.size()) > page_size) {
      response.set_next_page_token(common::EncodePageToken(scope, rows[page_size - 1][1].c_str()));
    }
    return response;
  });
}

namespace {

// Creates the invitation of one customer of a campaign, or returns the existing one.
absl::StatusOr<v1::InvitationResult> InviteOne(pqxx::work& txn, const v1::Campaign& campaign,
                                               const CustomerFacts& facts, bool check,
                                               const std::string& requested, absl::Time now,
                                               const SurveysOptions& options) {
  CC_ASSIGN_OR_RETURN(std::string campaign_id,
                      ParseName(campaign.name(), "surveyCampaigns", "name"));
  CC_ASSIGN_OR_RETURN(std::string survey_id, ParseName(campaign.survey(), "surveys", "survey"));
  const std::string customer = facts.name.empty() ? requested : facts.name;
  v1::InvitationResult result;
  result.set_customer(requested);
  pqxx::result existing = txn.exec_params(
      "SELECT id FROM invitations WHERE campaign_id = $1 AND customer = $2", campaign_id, customer);
  if (!existing.empty()) {
    CC_ASSIGN_OR_RETURN(*result.mutable_invitation(),
                        LoadInvitation(txn, existing[0][0].c_str(), false));
    result.mutable_invitation()->clear_link_token();
    result.set_already_invited(true);
    return result;
  }
  v1::Invitation invitation;
  invitation.set_name(absl::StrCat("surveyInvitations/", common::NewId()));
  invitation.set_source(v1::INVITATION_SOURCE_CAMPAIGN);
  invitation.set_survey(campaign.survey());
  invitation.set_survey_version(campaign.survey_version());
  invitation.set_campaign(campaign.name());
  invitation.set_customer(customer);
  invitation.set_channel(campaign.channel());
  invitation.set_status(v1::INVITATION_STATUS_PENDING);
  const absl::Time start = campaign.has_start_time()
                               ? std::max(now, common::TimeFromTimestamp(campaign.start_time()))
                               : now;
  *invitation.mutable_next_attempt_time() = common::TimestampFromTime(start);
  *invitation.mutable_create_time() = common::TimestampFromTime(now);
  *invitation.mutable_update_time() = common::TimestampFromTime(now);
  if (check) {
    std::string detail;
    v1::ExclusionReason reason =
        ExclusionFor(facts, campaign.channel(), IsCallChannel(campaign.channel()), &detail);
    if (reason == v1::EXCLUSION_REASON_UNSPECIFIED) {
      CC_ASSIGN_OR_RETURN(bool capped,
                          CapReached(txn, campaign.frequency_cap(), customer, survey_id, now));
      if (capped) {
        reason = v1::EXCLUSION_REASON_FREQUENCY_CAP;
        detail = "surveyed too recently under the campaign's frequency cap";
      }
    }
    if (reason != v1::EXCLUSION_REASON_UNSPECIFIED) {
      invitation.set_status(v1::INVITATION_STATUS_EXCLUDED);
      invitation.set_exclusion_reason(reason);
      invitation.set_status_detail(detail);
      invitation.clear_next_attempt_time();
      *invitation.mutable_finish_time() = common::TimestampFromTime(now);
    }
  }
  if (campaign.channel() == v1::SURVEY_CHANNEL_LINK &&
      invitation.status() == v1::INVITATION_STATUS_PENDING) {
    invitation.set_link_token(NewLinkToken());
    invitation.set_link_url(absl::StrCat(options.link_base_url, invitation.link_token()));
    const absl::Duration validity =
        campaign.has_link_validity() ? DurationOf(campaign.link_validity()) : absl::Hours(24 * 7);
    *invitation.mutable_expire_time() = common::TimestampFromTime(start + validity);
  }
  CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, true));
  invitation.clear_link_token();
  *result.mutable_invitation() = std::move(invitation);
  return result;
}

absl::StatusOr<std::vector<CustomerFacts>> FactsOf(CustomersClient& customers,
                                                   const std::vector<std::string>& names) {
  std::vector<CustomerFacts> facts;
  facts.reserve(names.size());
  for (const std::string& name : names) {
    CC_ASSIGN_OR_RETURN(CustomerFacts one, customers.GetCustomer(name));
    if (one.name.empty()) one.name = name;
    facts.push_back(std::move(one));
  }
  return facts;
}

}  // namespace

absl::StatusOr<v1::Campaign> CampaignStore::StartCampaign(const v1::StartCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyCampaigns", "name"));
  // Resolve the target first, outside any transaction (the customers service may be slow).
  CC_ASSIGN_OR_RETURN(v1::Campaign peek, pg_->Query([&](pqxx::nontransaction& txn) {
    return LoadCampaign(txn, id, false);
  }));
  std::vector<CustomerFacts> targets;
  if (peek.state() == v1::CAMPAIGN_STATE_DRAFT) {
    if (peek.target().has_customer_list()) {
      std::vector<std::string> names;
      std::set<std::string> seen;
      for (const std::string& name : peek.target().customer_list().customers()) {
        if (seen.insert(name).second) names.push_back(name);
      }
      CC_ASSIGN_OR_RETURN(targets, FactsOf(*customers_, names));
    } else if (peek.target().has_tag_filter()) {
      const v1::CustomerTagFilter& filter = peek.target().tag_filter();
      std::map<std::string, CustomerFacts> found;
      const auto add = [&](const std::vector<std::string>& tags) -> absl::Status {
        CC_ASSIGN_OR_RETURN(std::vector<CustomerFacts> listed, customers_->ListByTags(tags));
        for (CustomerFacts& facts : listed) found.emplace(facts.name, std::move(facts));
        return absl::OkStatus();
      };
      std::vector<std::string> all(filter.all_tags().begin(), filter.all_tags().end());
      if (filter.any_tags().empty()) {
        CC_RETURN_IF_ERROR(add(all));
      } else {
        for (const std::string& tag : filter.any_tags()) {
          std::vector<std::string> tags = all;
          tags.push_back(tag);
          CC_RETURN_IF_ERROR(add(tags));
        }
      }
      for (auto& [name, facts] : found) {
        bool excluded_by_tag = false;
        for (const std::string& none : filter.none_tags()) {
          for (const std::string& tag : facts.tags) {
            excluded_by_tag =
                excluded_by_tag || absl::AsciiStrToLower(tag) == absl::AsciiStrToLower(none);
          }
        }
        if (!excluded_by_tag) targets.push_back(std::move(facts));
      }
    }
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
    return Idempotent<v1::Campaign>(
        txn, "StartCampaign", request.request_id(), request, [&]() -> absl::StatusOr<v1::Campaign> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(campaign.etag())));
          const absl::Time now = absl::Now();
          if (CampaignFinal(campaign.state())) {
            return absl::FailedPreconditionError(absl::StrCat(campaign.name(), " is final"));
          }
          if (campaign.state() == v1::CAMPAIGN_STATE_SCHEDULED ||
              campaign.state() == v1::CAMPAIGN_STATE_RUNNING) {
            return WithStats(txn, campaign);
          }
          if (campaign.state() == v1::CAMPAIGN_STATE_PAUSED) {
            campaign.set_state(v1::CAMPAIGN_STATE_RUNNING);
            campaign.clear_state_reason();
            *campaign.mutable_update_time() = common::TimestampFromTime(now);
            CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
            return WithStats(txn, campaign);
          }
          if (peek.state() != v1::CAMPAIGN_STATE_DRAFT) {
            return absl::AbortedError("the campaign changed while starting; retry");
          }
          if (campaign.target().source_case() == v1::CampaignTarget::SOURCE_NOT_SET) {
            return absl::FailedPreconditionError(absl::StrCat(campaign.name(), " has no target"));
          }
          if (campaign.has_end_time() && common::TimeFromTimestamp(campaign.end_time()) <= now) {
            return absl::FailedPreconditionError(
                absl::StrCat(campaign.name(), ": end_time has passed"));
          }
          if (IsCallChannel(campaign.channel()) && campaign.calling_window().windows().empty()) {
            return absl::FailedPreconditionError(
                "calling_window: a call channel needs a calling window");
          }
          CC_ASSIGN_OR_RETURN(std::string survey_id,
                              ParseName(campaign.survey(), "surveys", "survey"));
          CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, survey_id, false));
          if (survey.state() != v1::SURVEY_STATE_PUBLISHED) {
            return absl::FailedPreconditionError(
                absl::StrCat(survey.name(), " is not published (or is archived)"));
          }
          int pinned = 0;
          if (!campaign.survey_version().empty()) {
            CC_ASSIGN_OR_RETURN(auto name, ParseVersionName(campaign.survey_version(), "version"));
            pinned = name.second;
          }
          CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, survey_id, pinned));
          if (!ListsChannel(version->definition(), campaign.channel())) {
            return absl::FailedPreconditionError(
                absl::StrCat(version->name(), " does not list the channel ",
                             v1::SurveyChannel_Name(campaign.channel())));
          }
          campaign.set_survey_version(version->name());
          for (const CustomerFacts& facts : targets) {
            CC_RETURN_IF_ERROR(
                InviteOne(txn, campaign, facts, true, facts.name, now, options_).status());
          }
          const bool later =
              campaign.has_start_time() && common::TimeFromTimestamp(campaign.start_time()) > now;
          campaign.set_state(later ? v1::CAMPAIGN_STATE_SCHEDULED : v1::CAMPAIGN_STATE_RUNNING);
          *campaign.mutable_started_time() = common::TimestampFromTime(now);
          *campaign.mutable_update_time() = common::TimestampFromTime(now);
          CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
          return WithStats(txn, campaign);
        });
  });
}

absl::StatusOr<v1::Campaign> CampaignStore::PauseCampaign(const v1::PauseCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyCampaigns", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
    return Idempotent<v1::Campaign>(
        txn, "PauseCampaign", request.request_id(), request, [&]() -> absl::StatusOr<v1::Campaign> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(campaign.etag())));
          if (campaign.state() == v1::CAMPAIGN_STATE_DRAFT || CampaignFinal(campaign.state())) {
            return absl::FailedPreconditionError(
                absl::StrCat(campaign.name(), " is ", v1::CampaignState_Name(campaign.state())));
          }
          if (campaign.state() != v1::CAMPAIGN_STATE_PAUSED) {
            campaign.set_state(v1::CAMPAIGN_STATE_PAUSED);
            campaign.set_state_reason(request.reason());
            *campaign.mutable_update_time() = common::TimestampFromTime(absl::Now());
            CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
          }
          return WithStats(txn, campaign);
        });
  });
}

absl::StatusOr<v1::Campaign> CampaignStore::StopCampaign(const v1::StopCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyCampaigns", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Campaign> {
    return Idempotent<v1::Campaign>(
        txn, "StopCampaign", request.request_id(), request, [&]() -> absl::StatusOr<v1::Campaign> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(campaign.etag())));
          if (campaign.state() == v1::CAMPAIGN_STATE_STOPPED) return WithStats(txn, campaign);
          if (campaign.state() == v1::CAMPAIGN_STATE_DRAFT ||
              campaign.state() == v1::CAMPAIGN_STATE_COMPLETED) {
            return absl::FailedPreconditionError(
                absl::StrCat(campaign.name(), " is ", v1::CampaignState_Name(campaign.state())));
          }
          const absl::Time now = absl::Now();
          pqxx::result pending = txn.exec_params(
              "SELECT id FROM invitations WHERE campaign_id = $1 AND status = 1 FOR UPDATE", id);
          for (const auto& row : pending) {
            CC_ASSIGN_OR_RETURN(v1::Invitation invitation,
                                LoadInvitation(txn, row[0].c_str(), false));
            invitation.set_status(v1::INVITATION_STATUS_CANCELLED);
            invitation.set_status_detail("the campaign was stopped");
            *invitation.mutable_finish_time() = common::TimestampFromTime(now);
            *invitation.mutable_update_time() = common::TimestampFromTime(now);
            CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
          }
          campaign.set_state(v1::CAMPAIGN_STATE_STOPPED);
          campaign.set_state_reason(request.reason());
          *campaign.mutable_finished_time() = common::TimestampFromTime(now);
          *campaign.mutable_update_time() = common::TimestampFromTime(now);
          CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
          return WithStats(txn, campaign);
        });
  });
}

absl::StatusOr<google::protobuf::Empty> CampaignStore::DeleteCampaign(
    const v1::DeleteCampaignRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyCampaigns", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
    return Idempotent<google::protobuf::Empty>(
        txn, "DeleteCampaign", request.request_id(), request,
        [&]() -> absl::StatusOr<google::protobuf::Empty> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(campaign.etag())));
          if (campaign.state() != v1::CAMPAIGN_STATE_DRAFT) {
            return absl::FailedPreconditionError(
                absl::StrCat(campaign.name(), " was started; stop it instead"));
          }
          txn.exec_params("DELETE FROM invitations WHERE campaign_id = $1", id);
          txn.exec_params("DELETE FROM campaigns WHERE id = $1", id);
          return google::protobuf::Empty();
        });
  });
}

absl::StatusOr<v1::BatchCreateInvitationsResponse> CampaignStore::BatchCreateInvitations(
    const v1::BatchCreateInvitationsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.parent(), "surveyCampaigns", "parent"));
  if (request.customers().empty() || request.customers_size() > 1000) {
    return common::InvalidArgumentError("customers", "must hold 1 to 1,000 customers");
  }
  for (int i = 0; i < request.customers_size(); ++i) {
    CC_RETURN_IF_ERROR(
        ParseName(request.customers(i), "customers", absl::StrCat("customers[", i, "]")).status());
  }
  CC_ASSIGN_OR_RETURN(v1::Campaign peek, pg_->Query([&](pqxx::nontransaction& txn) {
    return LoadCampaign(txn, id, false);
  }));
  const bool check = peek.state() != v1::CAMPAIGN_STATE_DRAFT;
  std::vector<CustomerFacts> facts;
  if (check) {
    std::vector<std::string> names(request.customers().begin(), request.customers().end());
    CC_ASSIGN_OR_RETURN(facts, FactsOf(*customers_, names));
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::BatchCreateInvitationsResponse> {
    return Idempotent<v1::BatchCreateInvitationsResponse>(
        txn, "BatchCreateInvitations", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::BatchCreateInvitationsResponse> {
          CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
          if (CampaignFinal(campaign.state())) {
            return absl::FailedPreconditionError(absl::StrCat(campaign.name(), " is final"));
          }
          if ((campaign.state() != v1::CAMPAIGN_STATE_DRAFT) != check) {
            return absl::AbortedError("the campaign changed meanwhile; retry");
          }
          const absl::Time now = absl::Now();
          v1::BatchCreateInvitationsResponse response;
          for (int i = 0; i < request.customers_size(); ++i) {
            CustomerFacts one;
            if (check) {
              one = facts[i];
            } else {
              one.name = request.customers(i);
              one.found = true;
            }
            CC_ASSIGN_OR_RETURN(
                *response.add_results(),
                InviteOne(txn, campaign, one, check, request.customers(i), now, options_));
          }
          return response;
        });
  });
}

absl::StatusOr<v1::Invitation> CampaignStore::GetInvitation(
    const v1::GetInvitationRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyInvitations", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) { return LoadInvitation(txn, id, false); });
}

absl::StatusOr<v1::ListInvitationsResponse> CampaignStore::ListInvitations(
    const v1::ListInvitationsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::string campaign_id;
  if (!request.campaign().empty()) {
    CC_ASSIGN_OR_RETURN(campaign_id, ParseName(request.campaign(), "surveyCampaigns", "campaign"));
  }
  std::string survey_id;
  if (!request.survey().empty()) {
    CC_ASSIGN_OR_RETURN(survey_id, ParseName(request.survey(), "surveys", "survey"));
  }
  std::vector<std::string> statuses;
  for (int status : request.statuses()) statuses.push_back(absl::StrCat(status));
  std::vector<std::string> reasons;
  for (int reason : request.exclusion_reasons()) reasons.push_back(absl::StrCat(reason));
  v1::ListInvitationsRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = absl::StrCat(
      "ListInvitations/", std::hash<std::string>()(common::DeterministicBytes(scope_request)));
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  int64_t start = 0;
  int64_t end = 253402300799000000;
  if (request.create_time_range().has_start_time()) {
    start = common::MicrosFromTimestamp(request.create_time_range().start_time());
  }
  if (request.create_time_range().has_end_time()) {
    end = common::MicrosFromTimestamp(request.create_time_range().end_time());
  }
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListInvitationsResponse> {
    pqxx::result rows = txn.exec_params(
        "SELECT data, revision, (extract(epoch FROM create_time) * 1e6)::bigint || '/' || id "
        "FROM invitations WHERE ($1 = '' OR campaign_id = $1) "
        "AND (cardinality($2::text[]) = 0 OR status::text = ANY($2::text[])) "
        "AND (cardinality($3::text[]) = 0 OR exclusion_reason::text = ANY($3::text[])) "
        "AND ($4 = 0 OR source = $4) AND ($5 = '' OR customer = $5) AND ($6 = '' OR queue = $6) "
        "AND ($7 = '' OR survey_id = $7) AND create_time >= to_timestamp($8::float8 / 1e6) "
        "AND create_time < to_timestamp($9::float8 / 1e6) "
        "AND ($10 = '' OR (create_time, id) < (to_timestamp(split_part($10, '/', 1)::float8 / "
        "1e6), split_part($10, '/', 2))) ORDER BY create_time DESC, id DESC LIMIT $11",
        campaign_id, common::PgTextArray(statuses), common::PgTextArray(reasons),
        static_cast<int>(request.source()), request.customer(), request.queue(), survey_id, start,
        end, cursor, page_size + 1);
    v1::ListInvitationsResponse response;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
      v1::Invitation& invitation = *response.add_invitations();
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[i][0]), invitation));
      invitation.set_etag(rows[i][1].c_str());
      invitation.clear_link_token();
    }
    if (static_cast<int>(rows.size()) > page_size) {
      response.set_next_page_token(common::EncodePageToken(scope, rows[page_size - 1][2].c_str()));
    }
    return response;
  });
}

absl::StatusOr<v1::NextInvitationResponse> CampaignStore::NextInvitation(
    const v1::NextInvitationRequest& request) {
  if (request.claimant().empty()) {
    return common::InvalidArgumentError("claimant", "must not be empty");
  }
  if (request.channel() == v1::SURVEY_CHANNEL_UNSPECIFIED ||
      !v1::SurveyChannel_IsValid(request.channel())) {
    return common::InvalidArgumentError("channel", "must be set");
  }
  const absl::Duration claim =
      request.has_claim_duration() ? DurationOf(request.claim_duration()) : absl::Minutes(5);
  if (claim <= absl::ZeroDuration() || claim > absl::Hours(1)) {
    return common::InvalidArgumentError("claim_duration", "must be positive and at most 1 h");
  }
  std::string campaign_id;
  if (!request.campaign().empty()) {
    CC_ASSIGN_OR_RETURN(campaign_id, ParseName(request.campaign(), "surveyCampaigns", "campaign"));
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::NextInvitationResponse> {
    return Idempotent<v1::NextInvitationResponse>(
        txn, "NextInvitation", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::NextInvitationResponse> {
          const absl::Time now = absl::Now();
          if (!campaign_id.empty()) {
            CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, campaign_id, false));
            if (campaign.state() != v1::CAMPAIGN_STATE_RUNNING) {
              return absl::FailedPreconditionError(
                  absl::StrCat(campaign.name(), " is not RUNNING"));
            }
            if (campaign.channel() != request.channel()) {
              return absl::FailedPreconditionError(
                  absl::StrCat(campaign.name(), " uses another channel"));
            }
          }
          v1::NextInvitationResponse response;
          // An operator holds at most one claim.
          pqxx::result held = txn.exec_params(
              "SELECT id FROM invitations WHERE claimant = $1 AND status = 2 LIMIT 1",
              request.claimant());
          if (!held.empty()) {
            CC_ASSIGN_OR_RETURN(*response.mutable_invitation(),
                                LoadInvitation(txn, held[0][0].c_str(), false));
            return response;
          }
          for (int tries = 0; tries < 50; ++tries) {
            pqxx::result due = txn.exec_params(
                "SELECT i.id FROM invitations i LEFT JOIN campaigns c ON c.id = i.campaign_id "
                "WHERE i.status IN (1, 2) AND i.next_attempt_time IS NOT NULL "
                "AND i.channel = $1 AND i.next_attempt_time <= now() "
                "AND (c.state IN (2, 3) OR (i.campaign_id IS NULL AND $2 = '')) "
                "AND ($2 = '' OR i.campaign_id = $2) "
                "ORDER BY i.next_attempt_time LIMIT 1 FOR UPDATE OF i SKIP LOCKED",
                static_cast<int>(request.channel()), campaign_id);
            if (due.empty()) break;
            CC_ASSIGN_OR_RETURN(v1::Invitation invitation,
                                LoadInvitation(txn, due[0][0].c_str(), false));
            if (invitation.status() == v1::INVITATION_STATUS_IN_PROGRESS) {
              // A lapsed claim: back to PENDING, its attempt not counted.
              if (!invitation.attempts().empty()) invitation.mutable_attempts()->RemoveLast();
              invitation.set_status(v1::INVITATION_STATUS_PENDING);
              invitation.clear_claimant();
              invitation.clear_claim_expire_time();
            }
            if (!invitation.campaign().empty()) {
              CC_ASSIGN_OR_RETURN(std::string id,
                                  ParseName(invitation.campaign(), "surveyCampaigns", "campaign"));
              CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, false));
              const bool ended =
                  campaign.has_end_time() && common::TimeFromTimestamp(campaign.end_time()) <= now;
              const bool closed =
                  IsCallChannel(campaign.channel()) &&
                  !InCallingWindow(campaign.calling_window(), now, options_.site_time_zone);
              if (ended || closed) {
                // Not now: due again when the window opens (the sweeper ends the campaign).
                *invitation.mutable_next_attempt_time() = common::TimestampFromTime(
                    ended ? now + absl::Hours(24)
                          : NextWindowOpening(campaign.calling_window(), now,
                                              options_.site_time_zone));
                CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
                continue;
              }
            }
            CustomerFacts facts;
            facts.found = true;
            if (!invitation.customer().empty()) {
              CC_ASSIGN_OR_RETURN(facts, customers_->GetCustomer(invitation.customer()));
            }
            std::string detail;
            const v1::ExclusionReason reason =
                invitation.customer().empty()
                    ? v1::EXCLUSION_REASON_UNSPECIFIED
                    : ExclusionFor(facts, invitation.channel(), IsCallChannel(invitation.channel()),
                                   &detail);
            if (reason != v1::EXCLUSION_REASON_UNSPECIFIED) {
              invitation.set_status(v1::INVITATION_STATUS_EXCLUDED);
              invitation.set_exclusion_reason(reason);
              invitation.set_status_detail(detail);
              *invitation.mutable_finish_time() = common::TimestampFromTime(now);
              *invitation.mutable_update_time() = common::TimestampFromTime(now);
              CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
              continue;
            }
            invitation.set_status(v1::INVITATION_STATUS_IN_PROGRESS);
            invitation.set_claimant(request.claimant());
            *invitation.mutable_claim_expire_time() = common::TimestampFromTime(now + claim);
            v1::InvitationAttempt& attempt = *invitation.add_attempts();
            attempt.set_attempt_number(invitation.attempt_count() + 1);
            *attempt.mutable_start_time() = common::TimestampFromTime(now);
            attempt.set_claimant(request.claimant());
            *invitation.mutable_update_time() = common::TimestampFromTime(now);
            CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
            *response.mutable_invitation() = std::move(invitation);
            if (IsCallChannel(request.channel())) {
              response.mutable_phone_number()->set_e164(facts.phone_e164);
            }
            if (request.channel() == v1::SURVEY_CHANNEL_OPERATOR) {
              response.set_customer_display_name(facts.display_name);
            }
            return response;
          }
          pqxx::result next = txn.exec_params(
              "SELECT (extract(epoch FROM min(next_attempt_time)) * 1e6)::bigint FROM "
              "invitations WHERE status = 1 AND channel = $1",
              static_cast<int>(request.channel()));
          if (!next[0][0].is_null()) {
            *response.mutable_next_due_time() = common::TimestampFromMicros(
                std::max(next[0][0].as<int64_t>(), absl::ToUnixMicros(now)));
          }
          return response;
        });
  });
}

absl::StatusOr<v1::Invitation> CampaignStore::UpdateInvitation(
    const v1::UpdateInvitationRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveyInvitations", "name"));
  if (request.outcome() == v1::INVITATION_OUTCOME_UNSPECIFIED ||
      !v1::InvitationOutcome_IsValid(request.outcome())) {
    return common::InvalidArgumentError("outcome", "must be set");
  }
  const absl::Time now = absl::Now();
  if (request.outcome() == v1::INVITATION_OUTCOME_CALLBACK_REQUESTED &&
      (!request.has_callback_time() || common::TimeFromTimestamp(request.callback_time()) <= now)) {
    return common::InvalidArgumentError("callback_time", "must be in the future");
  }
  std::string opted_out;
  bool published = false;
  absl::StatusOr<v1::Invitation> result =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Invitation> {
        opted_out.clear();
        published = false;
        return Idempotent<v1::Invitation>(
            txn, "UpdateInvitation", request.request_id(), request,
            [&]() -> absl::StatusOr<v1::Invitation> {
              CC_ASSIGN_OR_RETURN(v1::Invitation invitation, LoadInvitation(txn, id, true));
              CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(invitation.etag())));
              if (IsFinal(invitation.status())) {
                return absl::FailedPreconditionError(absl::StrCat(invitation.name(), " is final"));
              }
              const auto finish = [&](v1::InvitationStatus status) {
                invitation.set_status(status);
                invitation.clear_claimant();
                invitation.clear_claim_expire_time();
                invitation.clear_next_attempt_time();
                *invitation.mutable_finish_time() = common::TimestampFromTime(now);
              };
              *invitation.mutable_update_time() = common::TimestampFromTime(now);
              if (request.outcome() == v1::INVITATION_OUTCOME_EXCLUDE) {
                finish(v1::INVITATION_STATUS_EXCLUDED);
                invitation.set_exclusion_reason(v1::EXCLUSION_REASON_MANUAL);
                invitation.set_status_detail(request.note());
                CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
                if (!invitation.campaign().empty()) {
                  CC_RETURN_IF_ERROR(EnqueueAttemptFinished(txn, *events_, invitation, request));
                  published = true;
                }
                return invitation;
              }
              if (invitation.status() == v1::INVITATION_STATUS_IN_PROGRESS &&
                  invitation.claimant() != request.claimant()) {
                for (const v1::InvitationAttempt& attempt : invitation.attempts()) {
                  if (attempt.claimant() == request.claimant()) {
                    return absl::AbortedError(
                        absl::StrCat("the claim of ", request.claimant(), " on ", invitation.name(),
                                     " lapsed and the invitation was claimed again"));
                  }
                }
              }
              if (invitation.status() != v1::INVITATION_STATUS_IN_PROGRESS ||
                  invitation.claimant() != request.claimant()) {
                return absl::FailedPreconditionError(absl::StrCat(
                    invitation.name(), " is not claimed by \"", request.claimant(), "\""));
              }
              int max_attempts = 3;
              absl::Duration retry = absl::Hours(4);
              if (!invitation.campaign().empty()) {
                CC_ASSIGN_OR_RETURN(
                    std::string campaign_id,
                    ParseName(invitation.campaign(), "surveyCampaigns", "campaign"));
                CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, campaign_id, false));
                if (campaign.max_attempts() > 0) max_attempts = campaign.max_attempts();
                if (campaign.has_retry_interval()) retry = DurationOf(campaign.retry_interval());
              }
              if (request.outcome() == v1::INVITATION_OUTCOME_RELEASE) {
                if (!invitation.attempts().empty()) invitation.mutable_attempts()->RemoveLast();
                invitation.set_status(v1::INVITATION_STATUS_PENDING);
                invitation.clear_claimant();
                invitation.clear_claim_expire_time();
                *invitation.mutable_next_attempt_time() = common::TimestampFromTime(now);
                CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
                if (!invitation.campaign().empty()) {
                  CC_RETURN_IF_ERROR(EnqueueAttemptFinished(txn, *events_, invitation, request));
                  published = true;
                }
                return invitation;
              }
              if (!invitation.attempts().empty()) {
                v1::InvitationAttempt& attempt =
                    *invitation.mutable_attempts(invitation.attempts_size() - 1);
                *attempt.mutable_end_time() = common::TimestampFromTime(now);
                attempt.set_outcome(request.outcome());
                attempt.set_call(request.call());
                attempt.set_note(request.note());
              }
              invitation.set_attempt_count(invitation.attempt_count() + 1);
              switch (request.outcome()) {
                case v1::INVITATION_OUTCOME_INVALID_NUMBER:
                  finish(v1::INVITATION_STATUS_UNREACHABLE);
                  invitation.set_status_detail("invalid number");
                  break;
                case v1::INVITATION_OUTCOME_REFUSED:
                  finish(v1::INVITATION_STATUS_REFUSED);
                  break;
                case v1::INVITATION_OUTCOME_OPTED_OUT:
                  finish(v1::INVITATION_STATUS_EXCLUDED);
                  invitation.set_exclusion_reason(v1::EXCLUSION_REASON_SURVEY_OPT_OUT);
                  invitation.set_status_detail("the customer asked never to be surveyed");
                  opted_out = invitation.customer();
                  break;
                case v1::INVITATION_OUTCOME_CALLBACK_REQUESTED:
                  invitation.set_status(v1::INVITATION_STATUS_PENDING);
                  invitation.clear_claimant();
                  invitation.clear_claim_expire_time();
                  *invitation.mutable_callback_time() = request.callback_time();
                  *invitation.mutable_next_attempt_time() = request.callback_time();
                  break;
                default:  // no answer, busy, machine, failed, interrupted
                  if (invitation.attempt_count() >= max_attempts) {
                    finish(v1::INVITATION_STATUS_UNREACHABLE);
                    invitation.set_status_detail(
                        absl::StrCat("not reached in ", max_attempts, " attempts"));
                  } else {
                    invitation.set_status(v1::INVITATION_STATUS_PENDING);
                    invitation.clear_claimant();
                    invitation.clear_claim_expire_time();
                    *invitation.mutable_next_attempt_time() =
                        common::TimestampFromTime(now + retry);
                  }
              }
              CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
              if (!invitation.campaign().empty()) {
                CC_RETURN_IF_ERROR(EnqueueAttemptFinished(txn, *events_, invitation, request));
                published = true;
              }
              return invitation;
            });
      });
  if (result.ok() && published) outbox_->Notify();
  if (result.ok() && !opted_out.empty()) {
    // Recorded after the commit; the invitation is excluded whatever the customers service says.
    if (absl::Status recorded =
            customers_->RecordSurveyOptOut(opted_out, absl::StrCat("survey-opt-out-", id));
        !recorded.ok()) {
      common::LogWarning("survey opt-out not recorded in the customers service",
                         {{"customer", opted_out}, {"error", recorded}});
    }
  }
  return result;
}

absl::StatusOr<v1::PostCallSurveySettings> CampaignStore::GetPostCallSurveySettings(
    const v1::GetPostCallSurveySettingsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string queue_id,
                      ParseName(request.name(), "postCallSurveySettings", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) { return LoadSettings(txn, queue_id); });
}

absl::StatusOr<v1::ListPostCallSurveySettingsResponse> CampaignStore::ListPostCallSurveySettings(
    const v1::ListPostCallSurveySettingsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::string survey_id;
  if (!request.survey().empty()) {
    CC_ASSIGN_OR_RETURN(survey_id, ParseName(request.survey(), "surveys", "survey"));
  }
  const std::string scope =
      absl::StrCat("ListPostCallSurveySettings/", request.enabled_only(), "/", survey_id);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query(
      [&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListPostCallSurveySettingsResponse> {
        pqxx::result rows = txn.exec_params(
            "SELECT data, revision, queue_id FROM post_call_settings WHERE (NOT $1 OR enabled) "
            "AND ($2 = '' OR survey_id = $2) AND queue_id > $3 ORDER BY queue_id LIMIT $4",
            request.enabled_only(), survey_id, cursor, page_size + 1);
        v1::ListPostCallSurveySettingsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          v1::PostCallSurveySettings& settings = *response.add_settings();
          CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[i][0]), settings));
          settings.set_etag(rows[i][1].c_str());
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(
              common::EncodePageToken(scope, rows[page_size - 1][2].c_str()));
        }
        return response;
      });
}

absl::StatusOr<v1::PostCallSurveySettings> CampaignStore::UpdatePostCallSurveySettings(
    const v1::UpdatePostCallSurveySettingsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string queue_id, ParseName(request.settings().name(),
                                                      "postCallSurveySettings", "settings.name"));
  static const std::set<std::string> kWritable = {"enabled",
                                                  "survey",
                                                  "channel",
                                                  "sampling_rate",
                                                  "frequency_cap",
                                                  "min_talk_time",
                                                  "excluded_dispositions",
                                                  "delay",
                                                  "validity",
                                                  "include_unidentified_callers"};
  google::protobuf::FieldMask mask = request.update_mask();
  if (mask.paths().empty()) {
    for (const std::string& path : kWritable) mask.add_paths(path);
  }
  for (const std::string& path : mask.paths()) {
    if (!kWritable.count(path)) {
      return common::InvalidArgumentError("update_mask",
                                          absl::StrCat("\"", path, "\" is not a writable field"));
    }
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::PostCallSurveySettings> {
    return Idempotent<v1::PostCallSurveySettings>(
        txn, "UpdatePostCallSurveySettings", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::PostCallSurveySettings> {
          txn.exec_params("SELECT pg_advisory_xact_lock(hashtext('surveys-settings:' || $1))",
                          queue_id);
          CC_ASSIGN_OR_RETURN(v1::PostCallSurveySettings settings, LoadSettings(txn, queue_id));
          const bool exists = !settings.etag().empty();
          if (exists) {
            CC_RETURN_IF_ERROR(CheckEtag(request.settings().etag(), std::stoll(settings.etag())));
          }
          FieldMaskUtil::MergeOptions options;
          options.set_replace_repeated_fields(true);
          options.set_replace_message_fields(true);
          FieldMaskUtil::MergeMessageTo(request.settings(), mask, options, &settings);
          if (!(settings.sampling_rate() >= 0 && settings.sampling_rate() <= 1)) {
            return common::InvalidArgumentError("settings.sampling_rate", "must be 0..1");
          }
          CC_RETURN_IF_ERROR(ValidateCap(settings.frequency_cap(), "settings.frequency_cap"));
          std::string survey_id;
          if (!settings.survey().empty()) {
            CC_ASSIGN_OR_RETURN(survey_id,
                                ParseName(settings.survey(), "surveys", "settings.survey"));
          }
          if (settings.enabled()) {
            if (survey_id.empty()) {
              return common::InvalidArgumentError("settings.survey", "required when enabled");
            }
            if (settings.channel() == v1::SURVEY_CHANNEL_UNSPECIFIED) {
              return common::InvalidArgumentError("settings.channel", "required when enabled");
            }
            CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, survey_id, false));
            if (survey.state() != v1::SURVEY_STATE_PUBLISHED) {
              return absl::FailedPreconditionError(
                  absl::StrCat(survey.name(), " is not published (or is archived)"));
            }
            CC_ASSIGN_OR_RETURN(auto latest, versions_->Get(txn, survey_id, 0));
            if (!ListsChannel(latest->definition(), settings.channel())) {
              return absl::FailedPreconditionError(absl::StrCat(
                  latest->name(), " does not list ", v1::SurveyChannel_Name(settings.channel())));
            }
          } else if (!survey_id.empty()) {
            CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
          }
          settings.set_name(absl::StrCat("postCallSurveySettings/", queue_id));
          settings.set_queue(absl::StrCat("queues/", queue_id));
          *settings.mutable_update_time() = common::TimestampFromTime(absl::Now());
          settings.clear_etag();
          pqxx::result rows = txn.exec_params(
              "INSERT INTO post_call_settings (queue_id, enabled, survey_id, data) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (queue_id) DO UPDATE SET enabled = $2, "
              "survey_id = $3, data = $4, revision = post_call_settings.revision + 1 "
              "RETURNING revision",
              queue_id, settings.enabled(), survey_id,
              common::PgBytes(common::DeterministicBytes(settings)));
          settings.set_etag(rows[0][0].c_str());
          return settings;
        });
  });
}

absl::StatusOr<v1::OfferPostCallSurveyResponse> CampaignStore::OfferPostCallSurvey(
    const v1::OfferPostCallSurveyRequest& request) {
  CC_RETURN_IF_ERROR(ParseName(request.call(), "calls", "call").status());
  CC_RETURN_IF_ERROR(ParseName(request.queue(), "queues", "queue").status());
  if (!request.customer().empty()) {
    CC_RETURN_IF_ERROR(ParseName(request.customer(), "customers", "customer").status());
  }
  PostCall call;
  call.call = request.call();
  call.queue = request.queue();
  call.customer = request.customer();
  call.operator_name = request.operator_();
  call.talk_time = DurationOf(request.talk_time());
  call.keypad_offer = true;
  return DecidePostCall(call);
}

absl::StatusOr<int> CampaignStore::SweepOnce(int limit) {
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<int> {
    const absl::Time now = absl::Now();
    int changed = 0;
    const auto expire_invitation = [&](v1::Invitation& invitation,
                                       const std::string& detail) -> absl::Status {
      invitation.set_status(v1::INVITATION_STATUS_EXPIRED);
      invitation.set_status_detail(detail);
      invitation.clear_claimant();
      invitation.clear_claim_expire_time();
      invitation.clear_next_attempt_time();
      *invitation.mutable_finish_time() = common::TimestampFromTime(now);
      *invitation.mutable_update_time() = common::TimestampFromTime(now);
      ++changed;
      return SaveInvitation(txn, invitation, false);
    };
    pqxx::result responses = txn.exec_params(
        "SELECT id FROM responses WHERE state = 1 AND expire_time < now() "
        "ORDER BY expire_time LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit);
    for (const auto& row : responses) {
      CC_ASSIGN_OR_RETURN(v1::SurveyResponse response, LoadResponse(txn, row[0].c_str(), false));
      response.set_state(v1::RESPONSE_STATE_EXPIRED);
      CC_RETURN_IF_ERROR(SaveResponse(txn, response, false));
      ++changed;
      if (response.invitation().empty()) continue;
      CC_ASSIGN_OR_RETURN(std::string id,
                          ParseName(response.invitation(), "surveyInvitations", "invitation"));
      pqxx::result locked = txn.exec_params(
          "SELECT 1 FROM invitations WHERE id = $1 AND status = 2 FOR UPDATE SKIP LOCKED", id);
      if (locked.empty()) continue;
      CC_ASSIGN_OR_RETURN(v1::Invitation invitation, LoadInvitation(txn, id, false));
      CC_RETURN_IF_ERROR(expire_invitation(invitation, "the partial response expired"));
    }
    // Lapsed invitations without a response in progress (that one's own window decides).
    pqxx::result invitations = txn.exec_params(
        "SELECT id FROM invitations WHERE status IN (1, 2) AND expire_time < now() "
        "ORDER BY expire_time LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit);
    for (const auto& row : invitations) {
      CC_ASSIGN_OR_RETURN(v1::Invitation invitation, LoadInvitation(txn, row[0].c_str(), false));
      if (!invitation.response().empty()) continue;
      CC_RETURN_IF_ERROR(expire_invitation(invitation, "not answered within its validity"));
    }
    // Campaigns past their end time.
    pqxx::result campaigns =
        txn.exec("SELECT id FROM campaigns WHERE state IN (2, 3, 4) FOR UPDATE SKIP LOCKED");
    for (const auto& row : campaigns) {
      CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, row[0].c_str(), false));
      if (!campaign.has_end_time() || common::TimeFromTimestamp(campaign.end_time()) > now) {
        continue;
      }
      pqxx::result pending = txn.exec_params(
          "SELECT id FROM invitations WHERE campaign_id = $1 AND status = 1 FOR UPDATE",
          row[0].c_str());
      for (const auto& entry : pending) {
        CC_ASSIGN_OR_RETURN(v1::Invitation invitation,
                            LoadInvitation(txn, entry[0].c_str(), false));
        invitation.set_status(v1::INVITATION_STATUS_CANCELLED);
        invitation.set_status_detail("the campaign's end time passed");
        invitation.clear_next_attempt_time();
        *invitation.mutable_finish_time() = common::TimestampFromTime(now);
        *invitation.mutable_update_time() = common::TimestampFromTime(now);
        CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
      }
      campaign.set_state(v1::CAMPAIGN_STATE_COMPLETED);
      campaign.set_state_reason("end time passed");
      *campaign.mutable_finished_time() = common::TimestampFromTime(now);
      *campaign.mutable_update_time() = common::TimestampFromTime(now);
      CC_RETURN_IF_ERROR(SaveCampaign(txn, campaign, false));
      ++changed;
    }
    return changed;
  });
}

absl::Status CampaignStore::ApplyEvent(const events::v1::Event& event) {
  if (!event.has_call_completed()) return absl::OkStatus();
  const events::v1::CallCompleted& completed = event.call_completed();
  if (completed.call().queue().empty() || completed.call().call().empty()) {
    return absl::OkStatus();
  }
  PostCall call;
  call.call = completed.call().call();
  call.queue = completed.call().queue();
  call.customer = completed.call().customer();
  call.operator_name = completed.call().operator_();
  call.talk_time = DurationOf(completed.talk_time());
  call.disposition = completed.disposition();
  call.event_id = event.id();
  absl::StatusOr<v1::OfferPostCallSurveyResponse> decided = DecidePostCall(call);
  if (!decided.ok() &&
      (absl::IsInvalidArgument(decided.status()) || absl::IsNotFound(decided.status()))) {
    common::LogWarning("call-completed event skipped",
                       {{"event", event.id()}, {"error", decided.status()}});
    return absl::OkStatus();
  }
  return decided.status();
}

absl::StatusOr<v1::OfferPostCallSurveyResponse> CampaignStore::DecidePostCall(
    const PostCall& call) {
  CC_ASSIGN_OR_RETURN(std::string queue_id, ParseName(call.queue, "queues", "queue"));
  v1::OfferPostCallSurveyResponse skip;
  // A read first: most calls are decided without asking the customers service.
  CC_ASSIGN_OR_RETURN(
      v1::PostCallSurveySettings settings,
      pg_->Query([&](pqxx::nontransaction& txn) { return LoadSettings(txn, queue_id); }));
  const bool keypad = settings.channel() == v1::SURVEY_CHANNEL_KEYPAD;
  if (!settings.enabled() || keypad != call.keypad_offer) {
    skip.set_skip_reason(v1::POST_CALL_SKIP_REASON_NOT_ENABLED);
    return skip;
  }
  if (SamplingPoint(call.call) >= settings.sampling_rate()) {
    skip.set_skip_reason(v1::POST_CALL_SKIP_REASON_NOT_SAMPLED);
    return skip;
  }
  if (settings.has_min_talk_time() && call.talk_time < DurationOf(settings.min_talk_time())) {
    skip.set_skip_reason(v1::POST_CALL_SKIP_REASON_TOO_SHORT);
    return skip;
  }
  for (const std::string& disposition : settings.excluded_dispositions()) {
    if (!call.disposition.empty() && disposition == call.disposition) {
      skip.set_skip_reason(v1::POST_CALL_SKIP_REASON_NOT_ENABLED);
      return skip;
    }
  }
  if (call.customer.empty() && !(keypad && settings.include_unidentified_callers())) {
    skip.set_skip_reason(v1::POST_CALL_SKIP_REASON_UNIDENTIFIED);
    return skip;
  }
  CustomerFacts facts;
  facts.found = true;
  if (!call.customer.empty()) {
    CC_ASSIGN_OR_RETURN(facts, customers_->GetCustomer(call.customer));
  }
  const v1::SurveyChannel channel = settings.channel();
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::OfferPostCallSurveyResponse> {
    v1::OfferPostCallSurveyResponse answer;
    if (!call.event_id.empty()) {
      CC_ASSIGN_OR_RETURN(bool first, common::MarkEventApplied(txn, call.event_id));
      if (!first) return answer;
    }
    const absl::Time now = absl::Now();
    pqxx::result existing =
        txn.exec_params("SELECT id FROM invitations WHERE call = $1", call.call);
    v1::Invitation invitation;
    if (!existing.empty()) {
      CC_ASSIGN_OR_RETURN(invitation, LoadInvitation(txn, existing[0][0].c_str(), false));
    } else {
      CC_ASSIGN_OR_RETURN(std::string survey_id, ParseName(settings.survey(), "surveys", "survey"));
      CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, survey_id, 0));
      invitation.set_name(absl::StrCat("surveyInvitations/", common::NewId()));
      invitation.set_source(v1::INVITATION_SOURCE_POST_CALL);
      invitation.set_survey(settings.survey());
      invitation.set_survey_version(version->name());
      invitation.set_customer(
          call.customer.empty() ? "" : (facts.name.empty() ? call.customer : facts.name));
      invitation.set_call(call.call);
      invitation.set_queue(call.queue);
      invitation.set_operator_(call.operator_name);
      invitation.set_channel(channel);
      *invitation.mutable_create_time() = common::TimestampFromTime(now);
      *invitation.mutable_update_time() = common::TimestampFromTime(now);
      std::string detail;
      v1::ExclusionReason reason =
          call.customer.empty()
              ? v1::EXCLUSION_REASON_UNSPECIFIED
              : ExclusionFor(facts, channel, channel == v1::SURVEY_CHANNEL_OPERATOR, &detail);
      if (reason == v1::EXCLUSION_REASON_NO_CONTACT && keypad) {
        reason = v1::EXCLUSION_REASON_UNSPECIFIED;  // the caller is on the line
      }
      if (reason == v1::EXCLUSION_REASON_UNSPECIFIED) {
        CC_ASSIGN_OR_RETURN(bool capped, CapReached(txn, settings.frequency_cap(),
                                                    invitation.customer(), survey_id, now));
        if (capped) {
          reason = v1::EXCLUSION_REASON_FREQUENCY_CAP;
          detail = "surveyed too recently under the queue's frequency cap";
        }
      }
      const absl::Duration validity =
          settings.has_validity() ? DurationOf(settings.validity()) : absl::Hours(72);
      const absl::Time due =
          now + (settings.has_delay() ? DurationOf(settings.delay()) : absl::ZeroDuration());
      if (reason != v1::EXCLUSION_REASON_UNSPECIFIED) {
        invitation.set_status(v1::INVITATION_STATUS_EXCLUDED);
        invitation.set_exclusion_reason(reason);
        invitation.set_status_detail(detail);
        *invitation.mutable_finish_time() = common::TimestampFromTime(now);
      } else if (keypad) {
        invitation.set_status(v1::INVITATION_STATUS_IN_PROGRESS);
        invitation.set_claimant("services/ivr");
        *invitation.mutable_expire_time() = common::TimestampFromTime(now + validity);
      } else {
        invitation.set_status(v1::INVITATION_STATUS_PENDING);
        *invitation.mutable_next_attempt_time() = common::TimestampFromTime(due);
        *invitation.mutable_expire_time() = common::TimestampFromTime(due + validity);
        if (channel == v1::SURVEY_CHANNEL_LINK) {
          invitation.set_link_token(NewLinkToken());
          invitation.set_link_url(absl::StrCat(options_.link_base_url, invitation.link_token()));
        }
      }
      CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, true));
    }
    if (invitation.status() == v1::INVITATION_STATUS_EXCLUDED) {
      answer.set_skip_reason(invitation.exclusion_reason() == v1::EXCLUSION_REASON_FREQUENCY_CAP
                                 ? v1::POST_CALL_SKIP_REASON_FREQUENCY_CAP
                                 : v1::POST_CALL_SKIP_REASON_CONSENT);
      return answer;
    }
    answer.set_selected(true);
    CC_ASSIGN_OR_RETURN(auto pinned, ParseVersionName(invitation.survey_version(), "version"));
    CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, pinned.first, pinned.second));
    *answer.mutable_survey_version() = *version;
    *answer.mutable_invitation() = std::move(invitation);
    return answer;
  });
}

}  // namespace contactcentre::surveys
