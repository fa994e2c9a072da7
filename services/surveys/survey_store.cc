#include "services/surveys/survey_store.h"

#include <google/protobuf/util/field_mask_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "services/surveys/survey_logic.h"

namespace contactcentre::surveys {
namespace {

using google::protobuf::util::FieldMaskUtil;

absl::Status SaveSurvey(pqxx::work& txn, v1::Survey& survey, const std::string& id, bool insert) {
  survey.clear_etag();
  const std::string data = common::DeterministicBytes(survey);
  pqxx::result rows;
  if (insert) {
    rows = txn.exec_params(
        "INSERT INTO surveys (id, state, display_name, latest_version, create_time, data) "
        "VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1e6), $6) RETURNING revision",
        id, static_cast<int>(survey.state()), survey.display_name(), survey.latest_version(),
        common::MicrosFromTimestamp(survey.create_time()), common::PgBytes(data));
  } else {
    rows = txn.exec_params(
        "UPDATE surveys SET state = $2, display_name = $3, latest_version = $4, data = $5, "
        "revision = revision + 1 WHERE id = $1 RETURNING revision",
        id, static_cast<int>(survey.state()), survey.display_name(), survey.latest_version(),
        common::PgBytes(data));
  }
  survey.set_etag(rows[0][0].c_str());
  return absl::OkStatus();
}

// Whether the draft differs from the latest published version.
absl::StatusOr<bool> DraftModified(pqxx::transaction_base& txn, VersionCache& versions,
                                   const std::string& id, const v1::Survey& survey) {
  if (survey.latest_version() == 0) return true;
  CC_ASSIGN_OR_RETURN(auto latest, versions.Get(txn, id, survey.latest_version()));
  return common::DeterministicBytes(latest->definition()) !=
         common::DeterministicBytes(survey.draft());
}

bool ListsChannel(const v1::SurveyDefinition& definition, v1::SurveyChannel channel) {
  for (int listed : definition.channels()) {
    if (listed == channel) return true;
  }
  return false;
}

std::vector<v1::Answer> HeadlineScores(const v1::SurveyDefinition& definition,
                                       const v1::SurveyResponse& response,
                                       events::v1::SurveyResponseSubmitted& event,
                                       const std::string& survey_id) {
  std::vector<v1::Answer> scores;
  for (const v1::Question& question : definition.questions()) {
    const bool csat = question.has_rating() && question.rating().headline_csat();
    const bool nps = question.has_nps() && question.nps().headline_nps();
    if (!csat && !nps) continue;
    for (const v1::Answer& answer : response.answers()) {
      if (answer.question_id() == question.question_id() &&
          answer.value_case() == v1::Answer::kScore) {
        events::v1::ScoredAnswer& scored = *event.add_scores();
        scored.set_question(
            absl::StrCat("surveys/", survey_id, "/questions/", question.question_id()));
        scored.set_scale(csat ? events::v1::SCORE_SCALE_RATING_1_5
                              : events::v1::SCORE_SCALE_NPS_0_10);
        scored.set_value(answer.score());
      }
    }
  }
  return scores;
}

}  // namespace

SurveyStore::SurveyStore(common::PgPool* pg, const common::EventPublisher* events,
                         common::OutboxRelay* outbox, VersionCache* versions,
                         SurveysOptions options)
    : pg_(pg),
      events_(events),
      outbox_(outbox),
      versions_(versions),
      options_(std::move(options)) {}

absl::StatusOr<v1::Survey> SurveyStore::CreateSurvey(const v1::CreateSurveyRequest& request) {
  if (request.survey().display_name().empty()) {
    return common::InvalidArgumentError("survey.display_name", "must not be empty");
  }
  if (!request.survey_id().empty() && !IsValidResourceId(request.survey_id())) {
    return common::InvalidArgumentError(
        "survey_id", "must be 1-63 characters of [a-z0-9-] starting with a letter");
  }
  CC_RETURN_IF_ERROR(ValidateDraft(request.survey().draft(), "survey.draft"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Survey> {
    return Idempotent<v1::Survey>(
        txn, "CreateSurvey", request.request_id(), request, [&]() -> absl::StatusOr<v1::Survey> {
          const std::string id =
              request.survey_id().empty() ? common::NewId() : request.survey_id();
          if (!txn.exec_params("SELECT 1 FROM surveys WHERE id = $1", id).empty()) {
            return absl::AlreadyExistsError(absl::StrCat("surveys/", id, " already exists"));
          }
          v1::Survey survey;
          survey.set_name(absl::StrCat("surveys/", id));
          survey.set_display_name(request.survey().display_name());
          *survey.mutable_draft() = request.survey().draft();
          *survey.mutable_labels() = request.survey().labels();
          survey.set_state(v1::SURVEY_STATE_DRAFT);
          survey.set_draft_modified(true);
          const auto now = common::TimestampFromTime(absl::Now());
          *survey.mutable_create_time() = now;
          *survey.mutable_update_time() = now;
          CC_RETURN_IF_ERROR(SaveSurvey(txn, survey, id, true));
          return survey;
        });
  });
}

absl::StatusOr<v1::Survey> SurveyStore::GetSurvey(const v1::GetSurveyRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveys", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) { return LoadSurvey(txn, id, false); });
}

absl::StatusOr<v1::ListSurveysResponse> SurveyStore::ListSurveys(
    const v1::ListSurveysRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::vector<std::string> states;
  for (int state : request.states()) states.push_back(absl::StrCat(state));
  if (states.empty()) states = {"1", "2"};
  const std::string scope = absl::StrCat("ListSurveys/", request.text_query(), "/",
                                         absl::StrJoin(states, ","), "/", request.channel());
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListSurveysResponse> {
    // Newest first; the cursor is "<create micros>/<id>" of the last survey of the page.
    pqxx::result rows = txn.exec_params(
        "SELECT data, revision, (extract(epoch FROM create_time) * 1e6)::bigint, id "
        "FROM surveys WHERE state::text = ANY($1::text[]) "
        "AND ($2 = '' OR (create_time, id) < (to_timestamp(split_part($2, '/', 1)::float8 / "
        "1e6), split_part($2, '/', 2))) "
        "ORDER BY create_time DESC, id DESC",
        common::PgTextArray(states), cursor);
    v1::ListSurveysResponse response;
    for (const auto& row : rows) {
      v1::Survey survey;
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(row[0]), survey));
      survey.set_etag(row[1].c_str());
      bool labels_match = true;
      for (const auto& [key, value] : request.labels()) {
        auto it = survey.labels().find(key);
        labels_match = labels_match && it != survey.labels().end() && it->second == value;
      }
      if (!labels_match) continue;
      if (!request.text_query().empty()) {
        const std::string query = absl::AsciiStrToLower(request.text_query());
        if (!absl::StrContains(absl::AsciiStrToLower(survey.display_name()), query) &&
            !absl::StrContains(absl::AsciiStrToLower(survey.draft().title()), query)) {
          continue;
        }
      }
      if (request.channel() != v1::SURVEY_CHANNEL_UNSPECIFIED) {
        const v1::SurveyDefinition* definition = &survey.draft();
        std::shared_ptr<const v1::SurveyVersion> latest;
        if (survey.latest_version() > 0) {
          CC_ASSIGN_OR_RETURN(latest, versions_->Get(txn, row[3].c_str(), survey.latest_version()));
          definition = &latest->definition();
        }
        if (!ListsChannel(*definition, request.channel())) continue;
      }
      if (response.surveys_size() == page_size) {
        const v1::Survey& last = response.surveys(page_size - 1);
        response.set_next_page_token(common::EncodePageToken(
            scope, absl::StrCat(common::MicrosFromTimestamp(last.create_time()), "/",
                                last.name().substr(8))));
        break;
      }
      *response.add_surveys() = std::move(survey);
    }
    return response;
  });
}

absl::StatusOr<v1::Survey> SurveyStore::UpdateSurvey(const v1::UpdateSurveyRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.survey().name(), "surveys", "survey.name"));
  google::protobuf::FieldMask mask = request.update_mask();
  if (mask.paths().empty()) {
    mask.add_paths("display_name");
    mask.add_paths("labels");
    mask.add_paths("draft");
  }
  for (const std::string& path : mask.paths()) {
    if (!(path == "display_name" || path == "labels" || path == "draft" ||
          absl::StartsWith(path, "draft.")) ||
        !FieldMaskUtil::GetFieldDescriptors(v1::Survey::descriptor(), path, nullptr)) {
      return common::InvalidArgumentError("update_mask",
                                          absl::StrCat("\"", path, "\" is not a writable field"));
    }
  }
  if (FieldMaskUtil::IsPathInFieldMask("display_name", mask) &&
      request.survey().display_name().empty()) {
    return common::InvalidArgumentError("survey.display_name", "must not be empty");
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Survey> {
    return Idempotent<v1::Survey>(
        txn, "UpdateSurvey", request.request_id(), request, [&]() -> absl::StatusOr<v1::Survey> {
          CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.survey().etag(), std::stoll(survey.etag())));
          if (survey.state() == v1::SURVEY_STATE_ARCHIVED) {
            return absl::FailedPreconditionError(
                absl::StrCat(survey.name(), " is archived; undelete it first"));
          }
          FieldMaskUtil::MergeOptions options;
          options.set_replace_message_fields(true);
          options.set_replace_repeated_fields(true);
          FieldMaskUtil::MergeMessageTo(request.survey(), mask, options, &survey);
          CC_RETURN_IF_ERROR(ValidateDraft(survey.draft(), "survey.draft"));
          CC_ASSIGN_OR_RETURN(bool modified, DraftModified(txn, *versions_, id, survey));
          survey.set_draft_modified(modified);
          *survey.mutable_update_time() = common::TimestampFromTime(absl::Now());
          CC_RETURN_IF_ERROR(SaveSurvey(txn, survey, id, false));
          return survey;
        });
  });
}

absl::StatusOr<v1::Survey> SurveyStore::DeleteSurvey(const v1::DeleteSurveyRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveys", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Survey> {
    return Idempotent<v1::Survey>(
        txn, "DeleteSurvey", request.request_id(), request, [&]() -> absl::StatusOr<v1::Survey> {
          CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(survey.etag())));
          pqxx::result users = txn.exec_params(
              "SELECT 'surveyCampaigns/' || id FROM campaigns WHERE survey_id = $1 "
              "AND state NOT IN (5, 6) UNION ALL SELECT 'postCallSurveySettings/' || queue_id "
              "FROM post_call_settings WHERE survey_id = $1 AND enabled LIMIT 1",
              id);
          if (!users.empty()) {
            return absl::FailedPreconditionError(
                absl::StrCat(survey.name(), " is used by ", users[0][0].c_str()));
          }
          if (survey.state() == v1::SURVEY_STATE_DRAFT) {
            txn.exec_params("DELETE FROM campaigns WHERE survey_id = $1", id);
            txn.exec_params("DELETE FROM surveys WHERE id = $1", id);
            return survey;
          }
          if (survey.state() == v1::SURVEY_STATE_ARCHIVED) return survey;
          survey.set_state(v1::SURVEY_STATE_ARCHIVED);
          *survey.mutable_delete_time() = common::TimestampFromTime(absl::Now());
          CC_RETURN_IF_ERROR(SaveSurvey(txn, survey, id, false));
          return survey;
        });
  });
}

absl::StatusOr<v1::Survey> SurveyStore::UndeleteSurvey(const v1::UndeleteSurveyRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveys", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Survey> {
    return Idempotent<v1::Survey>(
        txn, "UndeleteSurvey", request.request_id(), request, [&]() -> absl::StatusOr<v1::Survey> {
          CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, id, true));
          if (survey.state() != v1::SURVEY_STATE_ARCHIVED) {
            return absl::FailedPreconditionError(absl::StrCat(survey.name(), " is not archived"));
          }
          survey.set_state(v1::SURVEY_STATE_PUBLISHED);
          survey.clear_delete_time();
          CC_RETURN_IF_ERROR(SaveSurvey(txn, survey, id, false));
          return survey;
        });
  });
}

absl::StatusOr<v1::SurveyVersion> SurveyStore::PublishSurvey(
    const v1::PublishSurveyRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "surveys", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::SurveyVersion> {
    return Idempotent<v1::SurveyVersion>(
        txn, "PublishSurvey", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::SurveyVersion> {
          CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(survey.etag())));
          if (survey.state() == v1::SURVEY_STATE_ARCHIVED) {
            return absl::FailedPreconditionError(absl::StrCat(survey.name(), " is archived"));
          }
          CC_RETURN_IF_ERROR(ValidatePublishable(survey.draft(), "draft"));
          CC_ASSIGN_OR_RETURN(bool modified, DraftModified(txn, *versions_, id, survey));
          if (!modified) {
            return absl::FailedPreconditionError(
                absl::StrCat("the draft of ", survey.name(), " equals its latest version ",
                             survey.latest_version(), "; nothing to publish"));
          }
          const auto now = common::TimestampFromTime(absl::Now());
          v1::SurveyVersion version;
          version.set_version(survey.latest_version() + 1);
          version.set_name(VersionName(id, version.version()));
          *version.mutable_definition() = survey.draft();
          version.set_release_note(request.release_note());
          *version.mutable_publish_time() = now;
          txn.exec_params(
              "INSERT INTO survey_versions (survey_id, version, data) VALUES ($1, $2, $3)", id,
              version.version(), common::PgBytes(common::DeterministicBytes(version)));
          survey.set_latest_version(version.version());
          survey.set_state(v1::SURVEY_STATE_PUBLISHED);
          survey.set_draft_modified(false);
          *survey.mutable_publish_time() = now;
          *survey.mutable_update_time() = now;
          CC_RETURN_IF_ERROR(SaveSurvey(txn, survey, id, false));
          return version;
        });
  });
}

absl::StatusOr<v1::SurveyVersion> SurveyStore::GetSurveyVersion(
    const v1::GetSurveyVersionRequest& request) {
  CC_ASSIGN_OR_RETURN(auto name, ParseVersionName(request.name(), "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::SurveyVersion> {
    CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, name.first, name.second));
    return *version;
  });
}

absl::StatusOr<v1::ListSurveyVersionsResponse> SurveyStore::ListSurveyVersions(
    const v1::ListSurveyVersionsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.parent(), "surveys", "parent"));
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  const std::string scope = absl::StrCat("ListSurveyVersions/", id);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query(
      [&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListSurveyVersionsResponse> {
        CC_RETURN_IF_ERROR(LoadSurvey(txn, id, false).status());
        pqxx::result rows = txn.exec_params(
            "SELECT data, version FROM survey_versions WHERE survey_id = $1 "
            "AND ($2 = '' OR version < $2::integer) ORDER BY version DESC LIMIT $3",
            id, cursor, page_size + 1);
        v1::ListSurveyVersionsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[i][0]), *response.add_versions()));
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(
              common::EncodePageToken(scope, rows[page_size - 1][1].c_str()));
        }
        return response;
      });
}

absl::StatusOr<v1::StartResponseResponse> SurveyStore::StartResponse(
    const v1::StartResponseRequest& request) {
  const int sources = !request.invitation().empty() + !request.invitation_token().empty() +
                      !request.survey_version().empty() + !request.survey().empty();
  if (sources != 1) {
    return common::InvalidArgumentError(
        "invitation", "set exactly one of invitation, invitation_token, survey_version, survey");
  }
  if (request.channel() == v1::SURVEY_CHANNEL_UNSPECIFIED ||
      !v1::SurveyChannel_IsValid(request.channel())) {
    return common::InvalidArgumentError("channel", "must be set");
  }
  absl::StatusOr<v1::StartResponseResponse> result =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::StartResponseResponse> {
        return Idempotent<v1::StartResponseResponse>(
            txn, "StartResponse", request.request_id(), request,
            [&] { return StartInTransaction(txn, request); });
      });
  return result;
}

absl::StatusOr<v1::StartResponseResponse> SurveyStore::StartInTransaction(
    pqxx::work& txn, const v1::StartResponseRequest& request) {
  const absl::Time now = absl::Now();
  v1::SurveyResponse response;
  std::optional<v1::Invitation> invitation;
  std::string survey_id;
  int version_number = 0;
  if (!request.invitation().empty() || !request.invitation_token().empty()) {
    if (!request.invitation().empty()) {
      CC_ASSIGN_OR_RETURN(std::string invitation_id,
                          ParseName(request.invitation(), "surveyInvitations", "invitation"));
      CC_ASSIGN_OR_RETURN(invitation, LoadInvitation(txn, invitation_id, true));
    } else {
      CC_ASSIGN_OR_RETURN(invitation, LoadInvitationByToken(txn, request.invitation_token(), true));
    }
    if (IsFinal(invitation->status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          invitation->name(), " is final (", v1::InvitationStatus_Name(invitation->status()), ")"));
    }
    if (invitation->has_expire_time() &&
        common::TimeFromTimestamp(invitation->expire_time()) < now) {
      return absl::FailedPreconditionError(absl::StrCat(invitation->name(), " has expired"));
    }
    if (!invitation->response().empty()) {
      CC_ASSIGN_OR_RETURN(auto names, ParseResponseName(invitation->response(), "response"));
      CC_ASSIGN_OR_RETURN(v1::SurveyResponse existing, LoadResponse(txn, names.second, false));
      if (existing.state() == v1::RESPONSE_STATE_IN_PROGRESS) {
        CC_ASSIGN_OR_RETURN(auto pinned, ParseVersionName(existing.survey_version(), "version"));
        CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, pinned.first, pinned.second));
        v1::StartResponseResponse resumed;
        *resumed.mutable_response() = std::move(existing);
        *resumed.mutable_survey_version() = *version;
        resumed.set_resumed(true);
        return resumed;
      }
    }
    CC_ASSIGN_OR_RETURN(survey_id, ParseName(invitation->survey(), "surveys", "survey"));
    if (!invitation->survey_version().empty()) {
      CC_ASSIGN_OR_RETURN(auto pinned, ParseVersionName(invitation->survey_version(), "version"));
      version_number = pinned.second;
    }
    response.set_invitation(invitation->name());
    response.set_campaign(invitation->campaign());
    response.set_customer(invitation->customer());
    response.set_call(invitation->call());
    response.set_queue(invitation->queue());
    response.set_operator_(invitation->operator_());
  } else {
    if (!request.survey_version().empty()) {
      CC_ASSIGN_OR_RETURN(auto pinned,
                          ParseVersionName(request.survey_version(), "survey_version"));
      survey_id = pinned.first;
      version_number = pinned.second;
    } else {
      CC_ASSIGN_OR_RETURN(survey_id, ParseName(request.survey(), "surveys", "survey"));
    }
    response.set_customer(request.customer());
    response.set_call(request.call());
    response.set_queue(request.queue());
    response.set_operator_(request.operator_());
  }
  CC_ASSIGN_OR_RETURN(v1::Survey survey, LoadSurvey(txn, survey_id, false));
  if (survey.state() != v1::SURVEY_STATE_PUBLISHED) {
    return absl::FailedPreconditionError(absl::StrCat(
        survey.name(),
        survey.state() == v1::SURVEY_STATE_ARCHIVED ? " is archived" : " was never published"));
  }
  CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, survey_id, version_number));
  if (!ListsChannel(version->definition(), request.channel())) {
    return absl::FailedPreconditionError(absl::StrCat(version->name(), " is not offered on ",
                                                      v1::SurveyChannel_Name(request.channel())));
  }
  if (!invitation && request.channel() == v1::SURVEY_CHANNEL_LINK &&
      !version->definition().public_link()) {
    return common::InvalidArgumentError(
        "survey", "this survey is not a public link: LINK responses need an invitation");
  }
  const std::string response_id = common::NewId();
  response.set_name(absl::StrCat("surveys/", survey_id, "/responses/", response_id));
  response.set_survey_version(version->name());
  response.set_state(v1::RESPONSE_STATE_IN_PROGRESS);
  response.set_channel(request.channel());
  response.set_interviewer(request.interviewer());
  *response.mutable_attributes() = request.attributes();
  *response.mutable_start_time() = common::TimestampFromTime(now);
  *response.mutable_update_time() = common::TimestampFromTime(now);
  *response.mutable_expire_time() =
      common::TimestampFromTime(now + ResumeWindow(version->definition()));
  FillComputedFields(version->definition(), response);
  CC_RETURN_IF_ERROR(SaveResponse(txn, response, true));
  if (invitation) {
    invitation->set_status(v1::INVITATION_STATUS_IN_PROGRESS);
    invitation->set_response(response.name());
    invitation->set_survey_version(version->name());
    *invitation->mutable_update_time() = common::TimestampFromTime(now);
    CC_RETURN_IF_ERROR(SaveInvitation(txn, *invitation, false));
  }
  v1::StartResponseResponse started;
  *started.mutable_response() = std::move(response);
  *started.mutable_survey_version() = *version;
  return started;
}

absl::StatusOr<v1::SurveyResponse> SurveyStore::SubmitResponse(
    const v1::SubmitResponseRequest& request) {
  CC_ASSIGN_OR_RETURN(auto names, ParseResponseName(request.name(), "name"));
  bool published = false;
  absl::StatusOr<v1::SurveyResponse> result =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::SurveyResponse> {
        published = false;
        return Idempotent<v1::SurveyResponse>(
            txn, "SubmitResponse", request.request_id(), request,
            [&]() -> absl::StatusOr<v1::SurveyResponse> {
              CC_ASSIGN_OR_RETURN(v1::SurveyResponse response,
                                  LoadResponse(txn, names.second, true));
              CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(response.etag())));
              if (response.state() != v1::RESPONSE_STATE_IN_PROGRESS) {
                return absl::FailedPreconditionError(
                    absl::StrCat(response.name(), " is ", v1::ResponseState_Name(response.state()),
                                 ": no more changes"));
              }
              CC_ASSIGN_OR_RETURN(auto pinned,
                                  ParseVersionName(response.survey_version(), "survey_version"));
              CC_ASSIGN_OR_RETURN(auto version, versions_->Get(txn, pinned.first, pinned.second));
              const absl::Time now = absl::Now();
              CC_RETURN_IF_ERROR(ApplySubmission(version->definition(), request, now, response));
              *response.mutable_update_time() = common::TimestampFromTime(now);
              if (response.state() == v1::RESPONSE_STATE_IN_PROGRESS) {
                *response.mutable_expire_time() =
                    common::TimestampFromTime(now + ResumeWindow(version->definition()));
              }
              CC_RETURN_IF_ERROR(SaveResponse(txn, response, false));
              const bool complete = response.state() == v1::RESPONSE_STATE_COMPLETED;
              if (complete && !response.invitation().empty()) {
                CC_ASSIGN_OR_RETURN(
                    std::string invitation_id,
                    ParseName(response.invitation(), "surveyInvitations", "invitation"));
                CC_ASSIGN_OR_RETURN(v1::Invitation invitation,
                                    LoadInvitation(txn, invitation_id, true));
                invitation.set_status(v1::INVITATION_STATUS_COMPLETED);
                invitation.clear_claimant();
                invitation.clear_claim_expire_time();
                *invitation.mutable_finish_time() = common::TimestampFromTime(now);
                *invitation.mutable_update_time() = common::TimestampFromTime(now);
                CC_RETURN_IF_ERROR(SaveInvitation(txn, invitation, false));
                if (!invitation.campaign().empty()) {
                  CC_RETURN_IF_ERROR(CompleteOnQuota(txn, invitation.campaign(), now));
                }
              }
              events::v1::Event event;
              event.set_request_id(request.request_id());
              events::v1::SurveyResponseSubmitted& submitted =
                  *event.mutable_survey_response_submitted();
              submitted.set_response(response.name());
              submitted.set_survey(absl::StrCat("surveys/", pinned.first));
              submitted.set_survey_version(pinned.second);
              submitted.set_customer(response.customer());
              submitted.set_call(response.call());
              submitted.set_queue(response.queue());
              submitted.set_operator_(response.operator_());
              submitted.set_campaign(response.campaign());
              submitted.set_complete(complete);
              HeadlineScores(version->definition(), response, submitted, pinned.first);
              CC_RETURN_IF_ERROR(common::EnqueueEvent(txn, *events_, event));
              published = true;
              return response;
            });
      });
  if (result.ok() && published) outbox_->Notify();
  return result;
}

absl::StatusOr<v1::SurveyResponse> SurveyStore::GetResponse(const v1::GetResponseRequest& request) {
  CC_ASSIGN_OR_RETURN(auto names, ParseResponseName(request.name(), "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::SurveyResponse> {
    CC_ASSIGN_OR_RETURN(v1::SurveyResponse response, LoadResponse(txn, names.second, false));
    if (!absl::StartsWith(response.name(), absl::StrCat("surveys/", names.first, "/"))) {
      return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
    }
    return response;
  });
}

absl::StatusOr<v1::ListResponsesResponse> SurveyStore::ListResponses(
    const v1::ListResponsesRequest& request) {
  std::string survey_id;
  if (request.parent() != "surveys/-") {
    CC_ASSIGN_OR_RETURN(survey_id, ParseName(request.parent(), "surveys", "parent"));
  }
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  v1::ListResponsesRequest scope_request = request;
  scope_request.clear_page_token();
  scope_request.clear_page_size();
  const std::string scope =
      absl::StrCat("ListResponses/", common::DeterministicBytes(scope_request).size(), "/",
                   std::hash<std::string>()(common::DeterministicBytes(scope_request)));
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  std::vector<std::string> states;
  for (int state : request.states()) states.push_back(absl::StrCat(state));
  std::vector<std::string> queues(request.filter().queues().begin(),
                                  request.filter().queues().end());
  std::vector<std::string> operators(request.filter().operators().begin(),
                                     request.filter().operators().end());
  std::vector<std::string> campaigns;
  for (const std::string& campaign : request.filter().campaigns()) {
    CC_ASSIGN_OR_RETURN(std::string id, ParseName(campaign, "surveyCampaigns", "filter.campaigns"));
    campaigns.push_back(id);
  }
  std::vector<std::string> channels;
  for (int channel : request.filter().channels()) channels.push_back(absl::StrCat(channel));
  std::vector<std::string> versions;
  for (int i = 0; i < request.filter().survey_versions_size(); ++i) {
    const std::string field = absl::StrCat("filter.survey_versions[", i, "]");
    CC_ASSIGN_OR_RETURN(auto version, ParseVersionName(request.filter().survey_versions(i), field));
    if ((!survey_id.empty() && version.first != survey_id) || version.second == 0) {
      return common::InvalidArgumentError(field, "must be a numbered version of the parent survey");
    }
    versions.push_back(absl::StrCat(version.first, "/", version.second));
  }
  int64_t start = 0;
  int64_t end = 253402300799000000;
  if (request.filter().period().has_start_time()) {
    start = common::MicrosFromTimestamp(request.filter().period().start_time());
  }
  if (request.filter().period().has_end_time()) {
    end = common::MicrosFromTimestamp(request.filter().period().end_time());
  }
  if (end < start) {
    return common::InvalidArgumentError("filter.period", "end_time is before start_time");
  }
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListResponsesResponse> {
    if (!survey_id.empty()) CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
    pqxx::result rows = txn.exec_params(
        "SELECT data, revision, state = 1 AND expire_time < now(), id FROM responses "
        "WHERE ($1 = '' OR survey_id = $1) AND ($2 = '' OR id < $2) "
        "AND (cardinality($3::text[]) = 0 OR (CASE WHEN state = 1 AND expire_time < now() "
        "THEN 3 ELSE state END)::text = ANY($3::text[])) "
        "AND ($4 = '' OR customer = $4) AND ($5 = '' OR call = $5) "
        "AND ($6 = '' OR invitation_id = split_part($6, '/', 2)) "
        "AND (cardinality($7::text[]) = 0 OR queue = ANY($7::text[])) "
        "AND (cardinality($8::text[]) = 0 OR operator = ANY($8::text[])) "
        "AND (cardinality($9::text[]) = 0 OR campaign_id = ANY($9::text[])) "
        "AND (cardinality($10::text[]) = 0 OR channel::text = ANY($10::text[])) "
        "AND (cardinality($12::text[]) = 0 OR survey_id || '/' || version = ANY($12::text[])) "
        "AND result_time >= to_timestamp($13::float8 / 1e6) "
        "AND result_time < to_timestamp($14::float8 / 1e6) "
        "ORDER BY id DESC LIMIT $11",
        survey_id, cursor, common::PgTextArray(states), request.customer(), request.call(),
        request.invitation(), common::PgTextArray(queues), common::PgTextArray(operators),
        common::PgTextArray(campaigns), common::PgTextArray(channels), page_size + 1,
        common::PgTextArray(versions), start, end);
    v1::ListResponsesResponse response;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
      v1::SurveyResponse& item = *response.add_responses();
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[i][0]), item));
      item.set_etag(rows[i][1].c_str());
      if (rows[i][2].as<bool>()) item.set_state(v1::RESPONSE_STATE_EXPIRED);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      response.set_next_page_token(common::EncodePageToken(scope, rows[page_size - 1][3].c_str()));
    }
    return response;
  });
}

}  // namespace contactcentre::surveys
