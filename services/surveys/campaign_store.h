// Survey campaigns, invitations and post-call surveys (CampaignService) on PostgreSQL, and the
// consumer side of CallCompleted events. Consent (survey opt-out, do-not-call, abusive flag,
// erased customers, contacts) comes from the customers service before an invitation is
// created and again when it is claimed; a customer who fails is invited EXCLUDED with the
// reason, never contacted.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/events/v1/event.pb.h"
#include "contactcentre/surveys/v1/campaign_service.pb.h"
#include "services/surveys/clients.h"
#include "services/surveys/rows.h"
#include "services/surveys/survey_store.h"

namespace contactcentre::surveys {

class CampaignStore {
 public:
  CampaignStore(common::PgPool* pg, const common::EventPublisher* events,
                common::OutboxRelay* outbox, CustomersClient* customers, VersionCache* versions,
                SurveysOptions options);

  absl::StatusOr<v1::Campaign> CreateCampaign(const v1::CreateCampaignRequest& request);
  absl::StatusOr<v1::Campaign> GetCampaign(const v1::GetCampaignRequest& request);
  absl::StatusOr<v1::ListCampaignsResponse> ListCampaigns(const v1::ListCampaignsRequest& request);
  absl::StatusOr<v1::Campaign> UpdateCampaign(const v1::UpdateCampaignRequest& request);
  absl::StatusOr<v1::Campaign> StartCampaign(const v1::StartCampaignRequest& request);
  absl::StatusOr<v1::Campaign> PauseCampaign(const v1::PauseCampaignRequest& request);
  absl::StatusOr<v1::Campaign> StopCampaign(const v1::StopCampaignRequest& request);
  absl::StatusOr<google::protobuf::Empty> DeleteCampaign(const v1::DeleteCampaignRequest& request);
  absl::StatusOr<v1::BatchCreateInvitationsResponse> BatchCreateInvitations(
      const v1::BatchCreateInvitationsRequest& request);
  absl::StatusOr<v1::Invitation> GetInvitation(const v1::GetInvitationRequest& request);
  absl::StatusOr<v1::ListInvitationsResponse> ListInvitations(
      const v1::ListInvitationsRequest& request);
  absl::StatusOr<v1::NextInvitationResponse> NextInvitation(
      const v1::NextInvitationRequest& request);
  absl::StatusOr<v1::Invitation> UpdateInvitation(const v1::UpdateInvitationRequest& request);
  absl::StatusOr<v1::PostCallSurveySettings> GetPostCallSurveySettings(
      const v1::GetPostCallSurveySettingsRequest& request);
  absl::StatusOr<v1::ListPostCallSurveySettingsResponse> ListPostCallSurveySettings(
      const v1::ListPostCallSurveySettingsRequest& request);
  absl::StatusOr<v1::PostCallSurveySettings> UpdatePostCallSurveySettings(
      const v1::UpdatePostCallSurveySettingsRequest& request);
  absl::StatusOr<v1::OfferPostCallSurveyResponse> OfferPostCallSurvey(
      const v1::OfferPostCallSurveyRequest& request);

  // Applies one event of the stream: a CallCompleted in a queue with LINK or OPERATOR post-call
  // surveys may invite the customer. Exactly once per event id and at most one invitation per
  // call. UNAVAILABLE (the event is retried) when the customers service cannot be asked.
  absl::Status ApplyEvent(const events::v1::Event& event);

  // Moves what lapsed by time to its final state, up to `limit` rows of each kind: responses not
  // completed within their resume window to EXPIRED (and their invitations), invitations past
  // their validity to EXPIRED, campaigns past their end time to COMPLETED (pending invitations
  // CANCELLED). Safe on every replica at once (rows locked with SKIP LOCKED). Returns how many
  // rows changed.
  absl::StatusOr<int> SweepOnce(int limit = 500);

  // The share 0..1 of a call id in the sampling (a stable hash of the name).
  static double SamplingPoint(absl::string_view call);

 private:
  struct PostCall {
    std::string call;
    std::string queue;
    std::string customer;
    std::string operator_name;
    absl::Duration talk_time;
    std::string disposition;
    bool keypad_offer = false;
    std::string event_id;
  };
  absl::StatusOr<v1::OfferPostCallSurveyResponse> DecidePostCall(const PostCall& call);
  absl::StatusOr<v1::Campaign> WithStats(pqxx::transaction_base& txn, v1::Campaign campaign);

  common::PgPool* pg_;
  const common::EventPublisher* events_;
  common::OutboxRelay* outbox_;
  CustomersClient* customers_;
  VersionCache* versions_;
  const SurveysOptions options_;
};

}  // namespace contactcentre::surveys
