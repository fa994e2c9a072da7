#include "services/surveys/rows.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/pg_util.h"

namespace contactcentre::surveys {
namespace {

std::string Micros(const google::protobuf::Timestamp& time) {
  return absl::StrCat(common::MicrosFromTimestamp(time));
}

}  // namespace

absl::StatusOr<std::string> ParseName(absl::string_view name, absl::string_view collection,
                                      absl::string_view field) {
  const std::string prefix = absl::StrCat(collection, "/");
  if (!absl::StartsWith(name, prefix) || name.size() == prefix.size() ||
      name.substr(prefix.size()).find('/') != absl::string_view::npos) {
    return common::InvalidArgumentError(
        field, absl::StrCat("must be \"", collection, "/{id}\", not \"", name, "\""));
  }
  return std::string(name.substr(prefix.size()));
}

absl::StatusOr<std::pair<std::string, int>> ParseVersionName(absl::string_view name,
                                                             absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  int version = 0;
  if (parts.size() != 4 || parts[0] != "surveys" || parts[1].empty() || parts[2] != "versions" ||
      !(parts[3] == "latest" || (absl::SimpleAtoi(parts[3], &version) && version > 0))) {
    return common::InvalidArgumentError(
        field,
        absl::StrCat("must be \"surveys/{survey_id}/versions/{version}\", not \"", name, "\""));
  }
  return std::make_pair(std::string(parts[1]), version);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseResponseName(absl::string_view name,
                                                                      absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "surveys" || parts[1].empty() || parts[2] != "responses" ||
      parts[3].empty()) {
    return common::InvalidArgumentError(
        field, absl::StrCat("must be \"surveys/{survey_id}/responses/{response_id}\", not \"", name,
                            "\""));
  }
  return std::make_pair(std::string(parts[1]), std::string(parts[3]));
}

std::string VersionName(absl::string_view survey_id, int version) {
  return absl::StrCat("surveys/", survey_id, "/versions/", version);
}

absl::Status ParseStored(const std::string& bytes, google::protobuf::Message& message) {
  if (!message.ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("stored ", message.GetTypeName(), " does not parse"));
  }
  return absl::OkStatus();
}

absl::Status CheckEtag(absl::string_view etag, int64_t revision) {
  if (!etag.empty() && etag != absl::StrCat(revision)) {
    return absl::AbortedError(
        absl::StrCat("etag: \"", etag, "\" is stale (the resource changed since it was read)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Survey> LoadSurvey(pqxx::transaction_base& txn, const std::string& id,
                                      bool lock) {
  pqxx::result rows =
      txn.exec_params(lock ? "SELECT data, revision FROM surveys WHERE id = $1 FOR UPDATE"
                           : "SELECT data, revision FROM surveys WHERE id = $1",
                      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("surveys/", id, " not found"));
  v1::Survey survey;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), survey));
  survey.set_etag(rows[0][1].c_str());
  return survey;
}

absl::StatusOr<v1::SurveyResponse> LoadResponse(pqxx::transaction_base& txn, const std::string& id,
                                                bool lock) {
  pqxx::result rows = txn.exec_params(
      lock ? "SELECT data, revision, state = 1 AND expire_time < now() FROM responses "
             "WHERE id = $1 FOR UPDATE"
           : "SELECT data, revision, state = 1 AND expire_time < now() FROM responses "
             "WHERE id = $1",
      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("response ", id, " not found"));
  v1::SurveyResponse response;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), response));
  response.set_etag(rows[0][1].c_str());
  if (rows[0][2].as<bool>()) response.set_state(v1::RESPONSE_STATE_EXPIRED);
  return response;
}

absl::Status SaveResponse(pqxx::work& txn, v1::SurveyResponse& response, bool insert) {
  CC_ASSIGN_OR_RETURN(auto names, ParseResponseName(response.name(), "name"));
  CC_ASSIGN_OR_RETURN(auto version, ParseVersionName(response.survey_version(), "survey_version"));
  response.clear_etag();
  const std::string data = common::DeterministicBytes(response);
  v1::SurveyResponse answers_only;
  *answers_only.mutable_answers() = response.answers();
  for (v1::Answer& answer : *answers_only.mutable_answers()) answer.clear_answer_time();
  const std::string answers = common::DeterministicBytes(answers_only);
  const std::string result_time =
      Micros(response.has_complete_time() ? response.complete_time() : response.start_time());
  const std::string expire_time =
      response.has_expire_time() ? Micros(response.expire_time()) : "253402300799000000";
  auto optional = [](const std::string& value) -> const char* {
    return value.empty() ? nullptr : value.c_str();
  };
  // The id columns hold ids, as every filter compares them.
  std::string invitation_id;
  if (!response.invitation().empty()) {
    CC_ASSIGN_OR_RETURN(invitation_id,
                        ParseName(response.invitation(), "surveyInvitations", "invitation"));
  }
  std::string campaign_id;
  if (!response.campaign().empty()) {
    CC_ASSIGN_OR_RETURN(campaign_id, ParseName(response.campaign(), "surveyCampaigns", "campaign"));
  }
  pqxx::result rows;
  if (insert) {
    rows = txn.exec_params(
        "INSERT INTO responses (id, survey_id, version, state, channel, invitation_id, "
        "campaign_id, customer, call, queue, operator, start_time, result_time, expire_time, "
        "data, answers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "to_timestamp($12::float8 / 1e6), to_timestamp($13::float8 / 1e6), "
        "to_timestamp($14::float8 / 1e6), $15, $16) RETURNING revision",
        names.second, names.first, version.second, static_cast<int>(response.state()),
        static_cast<int>(response.channel()), optional(invitation_id), optional(campaign_id),
        response.customer(), response.call(), response.queue(), response.operator_(),
        Micros(response.start_time()), result_time, expire_time, common::PgBytes(data),
        common::PgBytes(answers));
  } else {
    rows = txn.exec_params(
        "UPDATE responses SET state = $2, result_time = to_timestamp($3::float8 / 1e6), "
        "expire_time = to_timestamp($4::float8 / 1e6), data = $5, answers = $6, "
        "revision = revision + 1 "
        "WHERE id = $1 RETURNING revision",
        names.second, static_cast<int>(response.state()), result_time, expire_time,
        common::PgBytes(data), common::PgBytes(answers));
  }
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(response.name(), " not found"));
  response.set_etag(rows[0][0].c_str());
  return absl::OkStatus();
}

namespace {

absl::StatusOr<v1::Invitation> InvitationFrom(const pqxx::result& rows, absl::string_view what) {
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(what, " not found"));
  v1::Invitation invitation;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), invitation));
  invitation.set_etag(rows[0][1].c_str());
  return invitation;
}

}  // namespace

absl::StatusOr<v1::Invitation> LoadInvitation(pqxx::transaction_base& txn, const std::string& id,
                                              bool lock) {
  return InvitationFrom(
      txn.exec_params(lock ? "SELECT data, revision FROM invitations WHERE id = $1 FOR UPDATE"
                           : "SELECT data, revision FROM invitations WHERE id = $1",
                      id),
      absl::StrCat("surveyInvitations/", id));
}

absl::StatusOr<v1::Invitation> LoadInvitationByToken(pqxx::transaction_base& txn,
                                                     const std::string& token, bool lock) {
  return InvitationFrom(
      txn.exec_params(
          lock ? "SELECT data, revision FROM invitations WHERE link_token = $1 FOR UPDATE"
               : "SELECT data, revision FROM invitations WHERE link_token = $1",
          token),
      "invitation_token: no invitation");
}

absl::Status SaveInvitation(pqxx::work& txn, v1::Invitation& invitation, bool insert) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(invitation.name(), "surveyInvitations", "name"));
  CC_ASSIGN_OR_RETURN(std::string survey_id, ParseName(invitation.survey(), "surveys", "survey"));
  std::string campaign_id;
  if (!invitation.campaign().empty()) {
    CC_ASSIGN_OR_RETURN(campaign_id,
                        ParseName(invitation.campaign(), "surveyCampaigns", "campaign"));
  }
  invitation.clear_etag();
  const std::string data = common::DeterministicBytes(invitation);
  auto optional = [](const std::string& value) -> const char* {
    return value.empty() ? nullptr : value.c_str();
  };
  // The column holds when the invitation is next due: the next attempt while PENDING, the lapse
  // of the claim while claimed (a lapsed claim is due again).
  std::string next_attempt;
  if (invitation.status() == v1::INVITATION_STATUS_PENDING && invitation.has_next_attempt_time()) {
    next_attempt = Micros(invitation.next_attempt_time());
  } else if (invitation.status() == v1::INVITATION_STATUS_IN_PROGRESS &&
             invitation.has_claim_expire_time()) {
    next_attempt = Micros(invitation.claim_expire_time());
  }
  const std::string expire_time =
      invitation.has_expire_time() ? Micros(invitation.expire_time()) : "";
  pqxx::result rows;
  if (insert) {
    rows = txn.exec_params(
        "INSERT INTO invitations (id, source, survey_id, campaign_id, customer, call, queue, "
        "channel, status, exclusion_reason, next_attempt_time, claimant, link_token, "
        "create_time, data, expire_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "to_timestamp($11::float8 / 1e6), $12, $13, to_timestamp($14::float8 / 1e6), $15, "
        "to_timestamp($16::float8 / 1e6)) RETURNING revision",
        id, static_cast<int>(invitation.source()), survey_id, optional(campaign_id),
        invitation.customer(), optional(invitation.call()), invitation.queue(),
        static_cast<int>(invitation.channel()), static_cast<int>(invitation.status()),
        static_cast<int>(invitation.exclusion_reason()), optional(next_attempt),
        invitation.claimant(), optional(invitation.link_token()), Micros(invitation.create_time()),
        common::PgBytes(data), optional(expire_time));
  } else {
    rows = txn.exec_params(
        "UPDATE invitations SET status = $2, exclusion_reason = $3, "
        "next_attempt_time = to_timestamp($4::float8 / 1e6), claimant = $5, data = $6, "
        "expire_time = to_timestamp($7::float8 / 1e6), revision = revision + 1 WHERE id = $1 "
        "RETURNING revision",
        id, static_cast<int>(invitation.status()), static_cast<int>(invitation.exclusion_reason()),
        optional(next_attempt), invitation.claimant(), common::PgBytes(data),
        optional(expire_time));
  }
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(invitation.name(), " not found"));
  invitation.set_etag(rows[0][0].c_str());
  return absl::OkStatus();
}

absl::StatusOr<v1::Campaign> LoadCampaign(pqxx::transaction_base& txn, const std::string& id,
                                          bool lock) {
  pqxx::result rows =
      txn.exec_params(lock ? "SELECT data, revision FROM campaigns WHERE id = $1 FOR UPDATE"
                           : "SELECT data, revision FROM campaigns WHERE id = $1",
                      id);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("surveyCampaigns/", id, " not found"));
  }
  v1::Campaign campaign;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), campaign));
  campaign.set_etag(rows[0][1].c_str());
  return campaign;
}

absl::Status SaveCampaign(pqxx::work& txn, v1::Campaign& campaign, bool insert) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(campaign.name(), "surveyCampaigns", "name"));
  CC_ASSIGN_OR_RETURN(std::string survey_id,
                      ParseName(campaign.survey(), "surveys", "campaign.survey"));
  campaign.clear_etag();
  campaign.clear_stats();
  const std::string data = common::DeterministicBytes(campaign);
  pqxx::result rows;
  if (insert) {
    rows = txn.exec_params(
        "INSERT INTO campaigns (id, state, survey_id, channel, create_time, data) "
        "VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1e6), $6) RETURNING revision",
        id, static_cast<int>(campaign.state()), survey_id, static_cast<int>(campaign.channel()),
        Micros(campaign.create_time()), common::PgBytes(data));
  } else {
    rows = txn.exec_params(
        "UPDATE campaigns SET state = $2, data = $3, revision = revision + 1 WHERE id = $1 "
        "RETURNING revision",
        id, static_cast<int>(campaign.state()), common::PgBytes(data));
  }
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(campaign.name(), " not found"));
  campaign.set_etag(rows[0][0].c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const v1::SurveyVersion>> VersionCache::Get(
    pqxx::transaction_base& txn, const std::string& survey_id, int version) {
  if (version > 0) {
    absl::MutexLock lock(&mutex_);
    auto it = versions_.find(absl::StrCat(survey_id, "/", version));
    if (it != versions_.end()) return it->second;
  }
  pqxx::result rows =
      version > 0 ? txn.exec_params(
                        "SELECT data FROM survey_versions WHERE survey_id = $1 AND version = $2",
                        survey_id, version)
                  : txn.exec_params(
                        "SELECT data FROM survey_versions WHERE survey_id = $1 "
                        "ORDER BY version DESC LIMIT 1",
                        survey_id);
  if (rows.empty()) {
    return absl::NotFoundError(
        version > 0 ? absl::StrCat(VersionName(survey_id, version), " not found")
                    : absl::StrCat("surveys/", survey_id, " has no published version"));
  }
  auto parsed = std::make_shared<v1::SurveyVersion>();
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), *parsed));
  absl::MutexLock lock(&mutex_);
  versions_[absl::StrCat(survey_id, "/", parsed->version())] = parsed;
  return std::shared_ptr<const v1::SurveyVersion>(parsed);
}

absl::Status CompleteOnQuota(pqxx::work& txn, const std::string& campaign_name, absl::Time now) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(campaign_name, "surveyCampaigns", "campaign"));
  CC_ASSIGN_OR_RETURN(v1::Campaign campaign, LoadCampaign(txn, id, true));
  if (campaign.quota() <= 0 || campaign.state() == v1::CAMPAIGN_STATE_COMPLETED ||
      campaign.state() == v1::CAMPAIGN_STATE_STOPPED) {
    return absl::OkStatus();
  }
  pqxx::result completed =
      txn.exec_params("SELECT count(*) FROM invitations WHERE campaign_id = $1 AND status = 3", id);
  if (completed[0][0].as<int64_t>() < campaign.quota()) return absl::OkStatus();
  pqxx::result pending = txn.exec_params(
      "SELECT id FROM invitations WHERE campaign_id = $1 AND status = 1 FOR UPDATE", id);
  for (const auto& row : pending) {
    CC_ASSIGN_OR_RETURN(v1::Invitation invitation, LoadInvitation(txn, row[0].c_str(), false));
    invitation.set_status(v1::INVITATION_STATUS_CANCELLED);
    invitation.set_status_detail("the campaign reached its quota");
    *invitation.mutable_finish_time() = common::TimestampFromTime(now);
    *invitation.mutable_update_time() = common::TimestampFromTime(now);
    CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
  }
  campaign.set_state(v1::CAMPAIGN_STATE_COMPLETED);
  campaign.set_state_reason("quota reached");
  *campaign.mutable_finished_time() = common::TimestampFromTime(now);
  *campaign.mutable_update_time() = common::TimestampFromTime(now);
  return SaveCampaign(txn, campaign, false);
}

bool IsFinal(v1::InvitationStatus status) {
  return status != v1::INVITATION_STATUS_PENDING && status != v1::INVITATION_STATUS_IN_PROGRESS;
}

}  // namespace contactcentre::surveys
