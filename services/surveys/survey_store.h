// Surveys, their published versions and responses on PostgreSQL, and the results computed
// from them (SurveyService). Every mutating method is idempotent by request_id; events
// (SurveyResponseSubmitted) go through the transactional outbox.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/surveys/v1/survey_service.pb.h"
#include "services/surveys/rows.h"

namespace contactcentre::surveys {

struct SurveysOptions {
  // IANA zone of DAY/WEEK/MONTH groups when the request names none.
  std::string site_time_zone = "Europe/Moscow";
  // Base URL of survey links; the token is appended.
  std::string link_base_url = "https://survey.example.com/s/";
  // Rows fetched per round trip while computing results or exporting.
  int scan_batch = 5000;
};

class SurveyStore {
 public:
  SurveyStore(common::PgPool* pg, const common::EventPublisher* events, common::OutboxRelay* outbox,
              VersionCache* versions, SurveysOptions options);

  absl::StatusOr<v1::Survey> CreateSurvey(const v1::CreateSurveyRequest& request);
  absl::StatusOr<v1::Survey> GetSurvey(const v1::GetSurveyRequest& request);
  absl::StatusOr<v1::ListSurveysResponse> ListSurveys(const v1::ListSurveysRequest& request);
  absl::StatusOr<v1::Survey> UpdateSurvey(const v1::UpdateSurveyRequest& request);
  absl::StatusOr<v1::Survey> DeleteSurvey(const v1::DeleteSurveyRequest& request);
  absl::StatusOr<v1::Survey> UndeleteSurvey(const v1::UndeleteSurveyRequest& request);
  absl::StatusOr<v1::SurveyVersion> PublishSurvey(const v1::PublishSurveyRequest& request);
  absl::StatusOr<v1::SurveyVersion> GetSurveyVersion(const v1::GetSurveyVersionRequest& request);
  absl::StatusOr<v1::ListSurveyVersionsResponse> ListSurveyVersions(
      const v1::ListSurveyVersionsRequest& request);

  absl::StatusOr<v1::StartResponseResponse> StartResponse(const v1::StartResponseRequest& request);
  absl::StatusOr<v1::SurveyResponse> SubmitResponse(const v1::SubmitResponseRequest& request);
  absl::StatusOr<v1::SurveyResponse> GetResponse(const v1::GetResponseRequest& request);
  absl::StatusOr<v1::ListResponsesResponse> ListResponses(const v1::ListResponsesRequest& request);

  // Results and export (results.cc).
  absl::StatusOr<v1::SurveyResults> GetSurveyResults(const v1::GetSurveyResultsRequest& request);
  // Calls `write` with each chunk in order; stops early when it returns false (client gone).
  absl::Status ExportSurveyResults(
      const v1::ExportSurveyResultsRequest& request,
      const std::function<bool(const v1::ExportSurveyResultsResponse&)>& write);

  const SurveysOptions& options() const { return options_; }

 private:
  absl::StatusOr<v1::StartResponseResponse> StartInTransaction(
      pqxx::work& txn, const v1::StartResponseRequest& request);

  common::PgPool* pg_;
  const common::EventPublisher* events_;
  common::OutboxRelay* outbox_;
  VersionCache* versions_;
  const SurveysOptions options_;
};

}  // namespace contactcentre::surveys
