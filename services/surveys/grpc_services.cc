#include "services/surveys/grpc_services.h"

#include "common/log.h"
#include "common/status.h"

namespace contactcentre::surveys {
namespace {

template <typename Response>
grpc::Status Respond(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInternal ||
        result.status().code() == absl::StatusCode::kUnknown) {
      common::LogError("request failed", {{"error", result.status()}});
    }
    return common::ToGrpcStatus(result.status());
  }
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

// A unary method that tags its log lines with the request_id (mutating) or not (reads).
#define CC_MUTATING(Class, Method, Request, Response, call)                    \
  grpc::Status Class::Method(grpc::ServerContext*, const v1::Request* request, \
                             Response* response) {                             \
    common::ScopedRequestId scope(request->request_id());                      \
    return Respond(store_.call(*request), response);                           \
  }
#define CC_READING(Class, Method, Request, Response, call)                     \
  grpc::Status Class::Method(grpc::ServerContext*, const v1::Request* request, \
                             Response* response) {                             \
    return Respond(store_.call(*request), response);                           \
  }

CC_MUTATING(SurveyGrpcService, CreateSurvey, CreateSurveyRequest, v1::Survey, CreateSurvey)
CC_READING(SurveyGrpcService, GetSurvey, GetSurveyRequest, v1::Survey, GetSurvey)
CC_READING(SurveyGrpcService, ListSurveys, ListSurveysRequest, v1::ListSurveysResponse, ListSurveys)
CC_MUTATING(SurveyGrpcService, UpdateSurvey, UpdateSurveyRequest, v1::Survey, UpdateSurvey)
CC_MUTATING(SurveyGrpcService, DeleteSurvey, DeleteSurveyRequest, v1::Survey, DeleteSurvey)
CC_MUTATING(SurveyGrpcService, UndeleteSurvey, UndeleteSurveyRequest, v1::Survey, UndeleteSurvey)
CC_MUTATING(SurveyGrpcService, PublishSurvey, PublishSurveyRequest, v1::SurveyVersion,
            PublishSurvey)
CC_READING(SurveyGrpcService, GetSurveyVersion, GetSurveyVersionRequest, v1::SurveyVersion,
           GetSurveyVersion)
CC_READING(SurveyGrpcService, ListSurveyVersions, ListSurveyVersionsRequest,
           v1::ListSurveyVersionsResponse, ListSurveyVersions)
CC_MUTATING(SurveyGrpcService, StartResponse, StartResponseRequest, v1::StartResponseResponse,
            StartResponse)
CC_MUTATING(SurveyGrpcService, SubmitResponse, SubmitResponseRequest, v1::SurveyResponse,
            SubmitResponse)
CC_READING(SurveyGrpcService, GetResponse, GetResponseRequest, v1::SurveyResponse, GetResponse)
CC_READING(SurveyGrpcService, ListResponses, ListResponsesRequest, v1::ListResponsesResponse,
           ListResponses)
CC_READING(SurveyGrpcService, GetSurveyResults, GetSurveyResultsRequest, v1::SurveyResults,
           GetSurveyResults)

grpc::Status SurveyGrpcService::ExportSurveyResults(
    grpc::ServerContext* context, const v1::ExportSurveyResultsRequest* request,
    grpc::ServerWriter<v1::ExportSurveyResultsResponse>* writer) {
  absl::Status status =
      store_.ExportSurveyResults(*request, [&](const v1::ExportSurveyResultsResponse& chunk) {
        return !context->IsCancelled() && writer->Write(chunk);
      });
  if (!status.ok() && status.code() == absl::StatusCode::kInternal) {
    common::LogError("export failed", {{"error", status}});
  }
  return common::ToGrpcStatus(status);
}

CC_MUTATING(CampaignGrpcService, CreateCampaign, CreateCampaignRequest, v1::Campaign,
            CreateCampaign)
CC_READING(CampaignGrpcService, GetCampaign, GetCampaignRequest, v1::Campaign, GetCampaign)
CC_READING(CampaignGrpcService, ListCampaigns, ListCampaignsRequest, v1::ListCampaignsResponse,
           ListCampaigns)
CC_MUTATING(CampaignGrpcService, UpdateCampaign, UpdateCampaignRequest, v1::Campaign,
            UpdateCampaign)
CC_MUTATING(CampaignGrpcService, StartCampaign, StartCampaignRequest, v1::Campaign, StartCampaign)
CC_MUTATING(CampaignGrpcService, PauseCampaign, PauseCampaignRequest, v1::Campaign, PauseCampaign)
CC_MUTATING(CampaignGrpcService, StopCampaign, StopCampaignRequest, v1::Campaign, StopCampaign)
CC_MUTATING(CampaignGrpcService, DeleteCampaign, DeleteCampaignRequest, google::protobuf::Empty,
            DeleteCampaign)
CC_MUTATING(CampaignGrpcService, BatchCreateInvitations, BatchCreateInvitationsRequest,
            v1::BatchCreateInvitationsResponse, BatchCreateInvitations)
CC_READING(CampaignGrpcService, GetInvitation, GetInvitationRequest, v1::Invitation, GetInvitation)
CC_READING(CampaignGrpcService, ListInvitations, ListInvitationsRequest,
           v1::ListInvitationsResponse, ListInvitations)
CC_MUTATING(CampaignGrpcService, NextInvitation, NextInvitationRequest, v1::NextInvitationResponse,
            NextInvitation)
CC_MUTATING(CampaignGrpcService, UpdateInvitation, UpdateInvitationRequest, v1::Invitation,
            UpdateInvitation)
CC_READING(CampaignGrpcService, GetPostCallSurveySettings, GetPostCallSurveySettingsRequest,
           v1::PostCallSurveySettings, GetPostCallSurveySettings)
CC_READING(CampaignGrpcService, ListPostCallSurveySettings, ListPostCallSurveySettingsRequest,
           v1::ListPostCallSurveySettingsResponse, ListPostCallSurveySettings)
CC_MUTATING(CampaignGrpcService, UpdatePostCallSurveySettings, UpdatePostCallSurveySettingsRequest,
            v1::PostCallSurveySettings, UpdatePostCallSurveySettings)
CC_MUTATING(CampaignGrpcService, OfferPostCallSurvey, OfferPostCallSurveyRequest,
            v1::OfferPostCallSurveyResponse, OfferPostCallSurvey)

CC_MUTATING(QualityGrpcService, CreateScorecard, CreateScorecardRequest, v1::Scorecard,
            CreateScorecard)
CC_READING(QualityGrpcService, GetScorecard, GetScorecardRequest, v1::Scorecard, GetScorecard)
CC_READING(QualityGrpcService, ListScorecards, ListScorecardsRequest, v1::ListScorecardsResponse,
           ListScorecards)
CC_MUTATING(QualityGrpcService, UpdateScorecard, UpdateScorecardRequest, v1::Scorecard,
            UpdateScorecard)
CC_MUTATING(QualityGrpcService, DeleteScorecard, DeleteScorecardRequest, v1::Scorecard,
            DeleteScorecard)
CC_MUTATING(QualityGrpcService, EvaluateCall, EvaluateCallRequest, v1::Evaluation, EvaluateCall)
CC_READING(QualityGrpcService, GetEvaluation, GetEvaluationRequest, v1::Evaluation, GetEvaluation)
CC_READING(QualityGrpcService, ListEvaluations, ListEvaluationsRequest, v1::ListEvaluationsResponse,
           ListEvaluations)
CC_MUTATING(QualityGrpcService, UpdateEvaluation, UpdateEvaluationRequest, v1::Evaluation,
            UpdateEvaluation)
CC_MUTATING(QualityGrpcService, DeleteEvaluation, DeleteEvaluationRequest, google::protobuf::Empty,
            DeleteEvaluation)
CC_READING(QualityGrpcService, GetQualitySummary, GetQualitySummaryRequest, v1::QualitySummary,
           GetQualitySummary)

#undef CC_MUTATING
#undef CC_READING

}  // namespace contactcentre::surveys
