// Quality scorecards and evaluations of operators' calls (QualityService) on PostgreSQL.
// Evaluations read the call's operator, team, queue and time from the calls service and are
// published as EvaluationRecorded events through the outbox.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/surveys/v1/quality_service.pb.h"
#include "services/surveys/clients.h"

namespace contactcentre::surveys {

namespace v1 = ::contactcentre::surveys::v1;

class QualityStore {
 public:
  QualityStore(common::PgPool* pg, const common::EventPublisher* events,
               common::OutboxRelay* outbox, CallsClient* calls, std::string site_time_zone);

  absl::StatusOr<v1::Scorecard> CreateScorecard(const v1::CreateScorecardRequest& request);
  absl::StatusOr<v1::Scorecard> GetScorecard(const v1::GetScorecardRequest& request);
  absl::StatusOr<v1::ListScorecardsResponse> ListScorecards(
      const v1::ListScorecardsRequest& request);
  absl::StatusOr<v1::Scorecard> UpdateScorecard(const v1::UpdateScorecardRequest& request);
  absl::StatusOr<v1::Scorecard> DeleteScorecard(const v1::DeleteScorecardRequest& request);
  absl::StatusOr<v1::Evaluation> EvaluateCall(const v1::EvaluateCallRequest& request);
  absl::StatusOr<v1::Evaluation> GetEvaluation(const v1::GetEvaluationRequest& request);
  absl::StatusOr<v1::ListEvaluationsResponse> ListEvaluations(
      const v1::ListEvaluationsRequest& request);
  absl::StatusOr<v1::Evaluation> UpdateEvaluation(const v1::UpdateEvaluationRequest& request);
  absl::StatusOr<google::protobuf::Empty> DeleteEvaluation(
      const v1::DeleteEvaluationRequest& request);
  absl::StatusOr<v1::QualitySummary> GetQualitySummary(const v1::GetQualitySummaryRequest& request);

 private:
  common::PgPool* pg_;
  const common::EventPublisher* events_;
  common::OutboxRelay* outbox_;
  CallsClient* calls_;
  const std::string site_time_zone_;
};

}  // namespace contactcentre::surveys
