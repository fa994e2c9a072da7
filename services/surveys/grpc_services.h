// The gRPC adapters of the surveys service: each method converts its request to a store call
// and the store's absl::Status to a grpc::Status.
#pragma once

#include "contactcentre/surveys/v1/campaign_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"
#include "services/surveys/campaign_store.h"
#include "services/surveys/quality_store.h"
#include "services/surveys/survey_store.h"

namespace contactcentre::surveys {

#define CC_SURVEYS_UNARY(Method, Request, Response)                             \
  grpc::Status Method(grpc::ServerContext* context, const v1::Request* request, \
                      Response* response) override;

class SurveyGrpcService final : public v1::SurveyService::Service {
 public:
  explicit SurveyGrpcService(SurveyStore* store) : store_(*store) {}
  CC_SURVEYS_UNARY(CreateSurvey, CreateSurveyRequest, v1::Survey)
  CC_SURVEYS_UNARY(GetSurvey, GetSurveyRequest, v1::Survey)
  CC_SURVEYS_UNARY(ListSurveys, ListSurveysRequest, v1::ListSurveysResponse)
  CC_SURVEYS_UNARY(UpdateSurvey, UpdateSurveyRequest, v1::Survey)
  CC_SURVEYS_UNARY(DeleteSurvey, DeleteSurveyRequest, v1::Survey)
  CC_SURVEYS_UNARY(UndeleteSurvey, UndeleteSurveyRequest, v1::Survey)
  CC_SURVEYS_UNARY(PublishSurvey, PublishSurveyRequest, v1::SurveyVersion)
  CC_SURVEYS_UNARY(GetSurveyVersion, GetSurveyVersionRequest, v1::SurveyVersion)
  CC_SURVEYS_UNARY(ListSurveyVersions, ListSurveyVersionsRequest, v1::ListSurveyVersionsResponse)
  CC_SURVEYS_UNARY(StartResponse, StartResponseRequest, v1::StartResponseResponse)
  CC_SURVEYS_UNARY(SubmitResponse, SubmitResponseRequest, v1::SurveyResponse)
  CC_SURVEYS_UNARY(GetResponse, GetResponseRequest, v1::SurveyResponse)
  CC_SURVEYS_UNARY(ListResponses, ListResponsesRequest, v1::ListResponsesResponse)
  CC_SURVEYS_UNARY(GetSurveyResults, GetSurveyResultsRequest, v1::SurveyResults)
  grpc::Status ExportSurveyResults(
      grpc::ServerContext* context, const v1::ExportSurveyResultsRequest* request,
      grpc::ServerWriter<v1::ExportSurveyResultsResponse>* writer) override;

 private:
  SurveyStore& store_;
};

class CampaignGrpcService final : public v1::CampaignService::Service {
 public:
  explicit CampaignGrpcService(CampaignStore* store) : store_(*store) {}
  CC_SURVEYS_UNARY(CreateCampaign, CreateCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(GetCampaign, GetCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(ListCampaigns, ListCampaignsRequest, v1::ListCampaignsResponse)
  CC_SURVEYS_UNARY(UpdateCampaign, UpdateCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(StartCampaign, StartCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(PauseCampaign, PauseCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(StopCampaign, StopCampaignRequest, v1::Campaign)
  CC_SURVEYS_UNARY(DeleteCampaign, DeleteCampaignRequest, google::protobuf::Empty)
  CC_SURVEYS_UNARY(BatchCreateInvitations, BatchCreateInvitationsRequest,
                   v1::BatchCreateInvitationsResponse)
  CC_SURVEYS_UNARY(GetInvitation, GetInvitationRequest, v1::Invitation)
  CC_SURVEYS_UNARY(ListInvitations, ListInvitationsRequest, v1::ListInvitationsResponse)
  CC_SURVEYS_UNARY(NextInvitation, NextInvitationRequest, v1::NextInvitationResponse)
  CC_SURVEYS_UNARY(UpdateInvitation, UpdateInvitationRequest, v1::Invitation)
  CC_SURVEYS_UNARY(GetPostCallSurveySettings, GetPostCallSurveySettingsRequest,
                   v1::PostCallSurveySettings)
  CC_SURVEYS_UNARY(ListPostCallSurveySettings, ListPostCallSurveySettingsRequest,
                   v1::ListPostCallSurveySettingsResponse)
  CC_SURVEYS_UNARY(UpdatePostCallSurveySettings, UpdatePostCallSurveySettingsRequest,
                   v1::PostCallSurveySettings)
  CC_SURVEYS_UNARY(OfferPostCallSurvey, OfferPostCallSurveyRequest, v1::OfferPostCallSurveyResponse)

 private:
  CampaignStore& store_;
};

class QualityGrpcService final : public v1::QualityService::Service {
 public:
  explicit QualityGrpcService(QualityStore* store) : store_(*store) {}
  CC_SURVEYS_UNARY(CreateScorecard, CreateScorecardRequest, v1::Scorecard)
  CC_SURVEYS_UNARY(GetScorecard, GetScorecardRequest, v1::Scorecard)
  CC_SURVEYS_UNARY(ListScorecards, ListScorecardsRequest, v1::ListScorecardsResponse)
  CC_SURVEYS_UNARY(UpdateScorecard, UpdateScorecardRequest, v1::Scorecard)
  CC_SURVEYS_UNARY(DeleteScorecard, DeleteScorecardRequest, v1::Scorecard)
  CC_SURVEYS_UNARY(EvaluateCall, EvaluateCallRequest, v1::Evaluation)
  CC_SURVEYS_UNARY(GetEvaluation, GetEvaluationRequest, v1::Evaluation)
  CC_SURVEYS_UNARY(ListEvaluations, ListEvaluationsRequest, v1::ListEvaluationsResponse)
  CC_SURVEYS_UNARY(UpdateEvaluation, UpdateEvaluationRequest, v1::Evaluation)
  CC_SURVEYS_UNARY(DeleteEvaluation, DeleteEvaluationRequest, google::protobuf::Empty)
  CC_SURVEYS_UNARY(GetQualitySummary, GetQualitySummaryRequest, v1::QualitySummary)

 private:
  QualityStore& store_;
};

#undef CC_SURVEYS_UNARY

}  // namespace contactcentre::surveys
