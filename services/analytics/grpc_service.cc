#include "services/analytics/grpc_service.h"

#include "common/status.h"
#include "services/analytics/metrics.h"
#include "services/analytics/report.h"
#include "services/analytics/staffing.h"

namespace contactcentre::analytics {

grpc::Status AnalyticsGrpcService::ForecastStaffing(grpc::ServerContext* /*context*/,
                                                    const v1::ForecastStaffingRequest* request,
                                                    v1::ForecastStaffingResponse* response) {
  absl::StatusOr<v1::ForecastStaffingResponse> result = analytics::ForecastStaffing(*request);
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

namespace {

template <typename Response>
grpc::Status Answer(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status AnalyticsGrpcService::ListMetricDefinitions(
    grpc::ServerContext* /*context*/, const v1::ListMetricDefinitionsRequest* request,
    v1::ListMetricDefinitionsResponse* response) {
  return Answer(analytics::ListMetricDefinitions(*request), response);
}

grpc::Status AnalyticsGrpcService::GetMetricDefinition(
    grpc::ServerContext* /*context*/, const v1::GetMetricDefinitionRequest* request,
    v1::MetricDefinition* response) {
  return Answer(analytics::GetMetricDefinition(*request), response);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* AnalyticsGrpcService::WatchMetrics(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  return watcher_.Watch(context, request);
}

grpc::Status AnalyticsGrpcService::GetCurrentMetrics(grpc::ServerContext* /*context*/,
                                                     const v1::GetCurrentMetricsRequest* request,
                                                     v1::GetCurrentMetricsResponse* response) {
  absl::StatusOr<v1::GetCurrentMetricsResponse> result =
      metrics_.CurrentMetrics(*request, absl::Now());
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status AnalyticsGrpcService::GetReport(grpc::ServerContext* /*context*/,
                                             const v1::GetReportRequest* request,
                                             v1::GetReportResponse* response) {
  const MetricsStoreOptions& options = metrics_.options();
  absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> settings = metrics_.settings().Snapshot();
  if (!settings.ok()) return common::ToGrpcStatus(settings.status());
  return Answer(analytics::GetReport(metrics_.pg(),
                                     ReportOptions{.site = options.site,
                                                   .site_time_zone = options.site_time_zone,
                                                   .thresholds = options.thresholds,
                                                   .settings = *settings},
                                     *request, absl::Now()),
                response);
}

grpc::Status AnalyticsGrpcService::RebuildIntervals(grpc::ServerContext* /*context*/,
                                                    const v1::RebuildIntervalsRequest* request,
                                                    v1::IntervalRebuild* response) {
  return Answer(rebuilder_.Start(*request, absl::Now()), response);
}

grpc::Status AnalyticsGrpcService::GetIntervalRebuild(grpc::ServerContext* /*context*/,
                                                      const v1::GetIntervalRebuildRequest* request,
                                                      v1::IntervalRebuild* response) {
  return Answer(rebuilder_.Get(*request), response);
}

grpc::Status AnalyticsGrpcService::ListIntervalRebuilds(
    grpc::ServerContext* /*context*/, const v1::ListIntervalRebuildsRequest* request,
    v1::ListIntervalRebuildsResponse* response) {
  return Answer(rebuilder_.List(*request), response);
}

grpc::Status AnalyticsGrpcService::CancelIntervalRebuild(
    grpc::ServerContext* /*context*/, const v1::CancelIntervalRebuildRequest* request,
    v1::IntervalRebuild* response) {
  return Answer(rebuilder_.Cancel(*request), response);
}

grpc::Status AnalyticsGrpcService::GetMetricSettings(grpc::ServerContext* /*context*/,
                                                     const v1::GetMetricSettingsRequest* request,
                                                     v1::MetricSettings* response) {
  return Answer(metrics_.settings().Get(*request), response);
}

grpc::Status AnalyticsGrpcService::ListMetricSettings(grpc::ServerContext* /*context*/,
                                                      const v1::ListMetricSettingsRequest* request,
                                                      v1::ListMetricSettingsResponse* response) {
  return Answer(metrics_.settings().List(*request), response);
}

grpc::Status AnalyticsGrpcService::UpdateMetricSettings(
    grpc::ServerContext* /*context*/, const v1::UpdateMetricSettingsRequest* request,
    v1::MetricSettings* response) {
  return Answer(metrics_.settings().Update(*request), response);
}

}  // namespace contactcentre::analytics
