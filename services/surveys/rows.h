// Shared plumbing of the surveys stores: resource names, request_id idempotency, and the rows
// that keep each resource as a serialized message beside its query columns.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/idempotency.h"
#include "common/status.h"
#include "contactcentre/surveys/v1/campaign.pb.h"
#include "contactcentre/surveys/v1/response.pb.h"
#include "contactcentre/surveys/v1/survey.pb.h"

namespace contactcentre::surveys {

namespace v1 = ::contactcentre::surveys::v1;

// The id of `name` = "<collection>/<id>" (no further slash); INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> ParseName(absl::string_view name, absl::string_view collection,
                                      absl::string_view field);

// "surveys/{survey_id}/versions/{n|latest}": the survey id and the version (0 for latest).
absl::StatusOr<std::pair<std::string, int>> ParseVersionName(absl::string_view name,
                                                             absl::string_view field);
// "surveys/{survey_id}/responses/{response_id}".
absl::StatusOr<std::pair<std::string, std::string>> ParseResponseName(absl::string_view name,
                                                                      absl::string_view field);

std::string VersionName(absl::string_view survey_id, int version);

// Runs `effect` once per (method, request_id): a repeat returns the stored answer.
template <typename Response, typename Effect>
absl::StatusOr<Response> Idempotent(pqxx::work& txn, absl::string_view method,
                                    absl::string_view request_id,
                                    const google::protobuf::Message& request, Effect&& effect) {
  CC_ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                      common::FindRequestResponse(txn, method, request_id, request));
  if (earlier) {
    Response response;
    if (!response.ParseFromString(*earlier)) {
      return absl::InternalError("stored request answer does not parse");
    }
    return response;
  }
  CC_ASSIGN_OR_RETURN(Response response, effect());
  CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, method, request_id, request, response));
  return response;
}

// Parses `bytes` into `message`; INTERNAL when they do not parse.
absl::Status ParseStored(const std::string& bytes, google::protobuf::Message& message);

// ABORTED when `etag` is set and differs from `revision`.
absl::Status CheckEtag(absl::string_view etag, int64_t revision);

// Rows. Load* take the row FOR UPDATE when `lock`; NOT_FOUND names the resource.
absl::StatusOr<v1::Survey> LoadSurvey(pqxx::transaction_base& txn, const std::string& id,
                                      bool lock);
absl::StatusOr<v1::SurveyResponse> LoadResponse(pqxx::transaction_base& txn, const std::string& id,
                                                bool lock);
absl::Status SaveResponse(pqxx::work& txn, v1::SurveyResponse& response, bool insert);
absl::StatusOr<v1::Invitation> LoadInvitation(pqxx::transaction_base& txn, const std::string& id,
                                              bool lock);
absl::StatusOr<v1::Invitation> LoadInvitationByToken(pqxx::transaction_base& txn,
                                                     const std::string& token, bool lock);
absl::Status SaveInvitation(pqxx::work& txn, v1::Invitation& invitation, bool insert);
absl::StatusOr<v1::Campaign> LoadCampaign(pqxx::transaction_base& txn, const std::string& id,
                                          bool lock);
absl::Status SaveCampaign(pqxx::work& txn, v1::Campaign& campaign, bool insert);

// Immutable published versions, cached in memory after the first read.
class VersionCache {
 public:
  // The version (0: the latest published one); NOT_FOUND when there is none.
  absl::StatusOr<std::shared_ptr<const v1::SurveyVersion>> Get(pqxx::transaction_base& txn,
                                                               const std::string& survey_id,
                                                               int version);

 private:
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<const v1::SurveyVersion>> versions_
      ABSL_GUARDED_BY(mutex_);
};

// Completes the campaign (reason "quota reached", pending invitations CANCELLED) when its quota
// of completed invitations is reached; called after an invitation completed.
absl::Status CompleteOnQuota(pqxx::work& txn, const std::string& campaign, absl::Time now);

// True when the invitation status is final.
bool IsFinal(v1::InvitationStatus status);

}  // namespace contactcentre::surveys
