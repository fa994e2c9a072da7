// The gRPC adapter of the analytics service: each implemented method converts its request to a
// call of the staffing functions or the metrics store and the absl::Status to a grpc::Status.
// Methods not implemented yet (see docs/analytics.md) answer UNIMPLEMENTED.
#pragma once

#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "services/analytics/metrics_store.h"
#include "services/analytics/rebuild.h"
#include "services/analytics/watch.h"

namespace contactcentre::analytics {

// WatchMetrics runs on gRPC's callback API (no thread per stream) with messages as bytes (see
// watch.h); the other methods on the synchronous API.
class AnalyticsGrpcService final : public v1::AnalyticsService::WithRawCallbackMethod_WatchMetrics<
                                       v1::AnalyticsService::Service> {
 public:
  AnalyticsGrpcService(MetricsStore* metrics, MetricsWatcher* watcher, IntervalRebuilder* rebuilder)
      : metrics_(*metrics), watcher_(*watcher), rebuilder_(*rebuilder) {}

  grpc::Status ForecastStaffing(grpc::ServerContext* context,
                                const v1::ForecastStaffingRequest* request,
                                v1::ForecastStaffingResponse* response) override;
  grpc::Status ListMetricDefinitions(grpc::ServerContext* context,
                                     const v1::ListMetricDefinitionsRequest* request,
                                     v1::ListMetricDefinitionsResponse* response) override;
  grpc::Status GetMetricDefinition(grpc::ServerContext* context,
                                   const v1::GetMetricDefinitionRequest* request,
                                   v1::MetricDefinition* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchMetrics(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;
  grpc::Status GetCurrentMetrics(grpc::ServerContext* context,
                                 const v1::GetCurrentMetricsRequest* request,
                                 v1::GetCurrentMetricsResponse* response) override;
  grpc::Status GetReport(grpc::ServerContext* context, const v1::GetReportRequest* request,
                         v1::GetReportResponse* response) override;
  grpc::Status RebuildIntervals(grpc::ServerContext* context,
                                const v1::RebuildIntervalsRequest* request,
                                v1::IntervalRebuild* response) override;
  grpc::Status GetIntervalRebuild(grpc::ServerContext* context,
                                  const v1::GetIntervalRebuildRequest* request,
                                  v1::IntervalRebuild* response) override;
  grpc::Status ListIntervalRebuilds(grpc::ServerContext* context,
                                    const v1::ListIntervalRebuildsRequest* request,
                                    v1::ListIntervalRebuildsResponse* response) override;
  grpc::Status CancelIntervalRebuild(grpc::ServerContext* context,
                                     const v1::CancelIntervalRebuildRequest* request,
                                     v1::IntervalRebuild* response) override;
  grpc::Status GetMetricSettings(grpc::ServerContext* context,
                                 const v1::GetMetricSettingsRequest* request,
                                 v1::MetricSettings* response) override;
  grpc::Status ListMetricSettings(grpc::ServerContext* context,
                                  const v1::ListMetricSettingsRequest* request,
                                  v1::ListMetricSettingsResponse* response) override;
  grpc::Status UpdateMetricSettings(grpc::ServerContext* context,
                                    const v1::UpdateMetricSettingsRequest* request,
                                    v1::MetricSettings* response) override;

 private:
  // An `observed` workload as per-interval workloads from the queue's stored intervals (calls
  // offered, each interval's AHT), with the queue's service level goal when none is given.
  absl::StatusOr<v1::ForecastStaffingRequest> ObservedWorkload(
      const v1::ForecastStaffingRequest& request);

  MetricsStore& metrics_;
  MetricsWatcher& watcher_;
  IntervalRebuilder& rebuilder_;
};

}  // namespace contactcentre::analytics
