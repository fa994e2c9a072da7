#include "services/analytics/grpc_service.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/analytics/metrics.h"
#include "services/analytics/report.h"
#include "services/analytics/staffing.h"

namespace contactcentre::analytics {

namespace {

template <typename Response>
grpc::Status Reply(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

absl::StatusOr<v1::ForecastStaffingRequest> AnalyticsGrpcService::ObservedWorkload(
    const v1::ForecastStaffingRequest& request) {
  const v1::ObservedWorkload& observed = request.observed();
  if (!absl::StartsWith(observed.queue(), "queues/") || observed.queue().size() <= 7) {
    return absl::InvalidArgumentError("observed.queue: must be queues/{queue_id}");
  }
  if (!observed.has_start_time()) {
    return absl::InvalidArgumentError("observed.start_time: required");
  }
  const absl::Time start = common::TimeFromTimestamp(observed.start_time());
  if (FloorToInterval(start) != start) {
    return absl::InvalidArgumentError("observed.start_time: must be aligned to 15 minutes");
  }
  const int count = observed.interval_count() == 0 ? 1 : observed.interval_count();
  if (count < 1 || count > 672) {
    return absl::InvalidArgumentError("observed.interval_count: must be 1..672");
  }
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> settings,
                      metrics_.settings().Snapshot());
  // The queue's stored intervals: offered calls and handle time of each.
  std::map<int64_t, std::pair<int64_t, std::pair<int64_t, double>>> stored;
  CC_RETURN_IF_ERROR(metrics_.pg().Query([&](pqxx::nontransaction& query) -> absl::Status {
    pqxx::result rows = query.exec_params(
        "SELECT (extract(epoch FROM interval_start) * 1e6)::bigint, offered, handled, "
        "handle_seconds FROM interval_counts WHERE site = $1 AND entity = $2 AND interval_start "
        ">= to_timestamp($3::float8 / 1e6) AND interval_start < to_timestamp($4::float8 / 1e6)",
        metrics_.site(), observed.queue(), absl::ToUnixMicros(start),
        absl::ToUnixMicros(start + count * absl::Minutes(15)));
    for (const pqxx::row& row : rows) {
      stored[row[0].as<int64_t>()] = {row[1].as<int64_t>(),
                                      {row[2].as<int64_t>(), row[3].as<double>()}};
    }
    return absl::OkStatus();
  }));
  if (stored.empty()) {
    return absl::NotFoundError(
        absl::StrCat(observed.queue(), " has no stored intervals in the range"));
  }
  // Each interval's own AHT where it handled calls; otherwise the request's, or the range's.
  int64_t handled = 0;
  double handle_seconds = 0;
  for (const auto& [unused, interval] : stored) {
    handled += interval.second.first;
    handle_seconds += interval.second.second;
  }
  v1::ForecastStaffingRequest forecast = request;
  forecast.clear_observed();
  if (!forecast.has_average_handle_time()) {
    if (handled == 0) {
      return absl::InvalidArgumentError(
          "average_handle_time: required (the observed intervals handled no call)");
    }
    const double aht = handle_seconds / static_cast<double>(handled);
    forecast.mutable_average_handle_time()->set_seconds(static_cast<int64_t>(aht));
    forecast.mutable_average_handle_time()->set_nanos(
        static_cast<int32_t>((aht - static_cast<double>(static_cast<int64_t>(aht))) * 1e9));
  }
  if (!forecast.has_service_level_goal() && !forecast.has_target_asa()) {
    // The queue's settings give the goal.
    const EffectiveSettings effective = settings->Effective(observed.queue());
    forecast.mutable_service_level_goal()->set_target(effective.service_level_target);
    forecast.mutable_service_level_goal()->mutable_threshold()->set_seconds(
        absl::ToInt64Seconds(effective.thresholds.service_level));
  }
  v1::IntervalWorkload* workload = forecast.mutable_intervals();
  workload->mutable_interval_length()->set_seconds(15 * 60);
  for (int i = 0; i < count; ++i) {
    const absl::Time at = start + i * absl::Minutes(15);
    v1::WorkloadInterval* interval = workload->add_intervals();
    *interval->mutable_start_time() = common::TimestampFromTime(at);
    auto found = stored.find(absl::ToUnixMicros(at));
    if (found == stored.end()) continue;
    interval->set_forecast_calls(static_cast<double>(found->second.first));
    if (found->second.second.first > 0) {
      const double aht =
          found->second.second.second / static_cast<double>(found->second.second.first);
      interval->mutable_average_handle_time()->set_seconds(static_cast<int64_t>(aht));
      interval->mutable_average_handle_time()->set_nanos(
          static_cast<int32_t>((aht - static_cast<double>(static_cast<int64_t>(aht))) * 1e9));
    }
  }
  return forecast;
}

grpc::Status AnalyticsGrpcService::ForecastStaffing(grpc::ServerContext* /*context*/,
                                                    const v1::ForecastStaffingRequest* request,
                                                    v1::ForecastStaffingResponse* response) {
  if (request->has_observed()) {
    absl::StatusOr<v1::ForecastStaffingRequest> forecast = ObservedWorkload(*request);
    if (!forecast.ok()) return common::ToGrpcStatus(forecast.status());
    return Reply(analytics::ForecastStaffing(*forecast), response);
  }
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
