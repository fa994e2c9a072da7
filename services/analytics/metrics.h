// Live figures of the analytics service without a database: the built-in catalogue of metric
// definitions, the counts kept per entity and window, and the values computed from them
// (definitions as ARCHITECTURE §9 and proto/contactcentre/analytics/v1/metrics.proto).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "contactcentre/analytics/v1/metrics.pb.h"

namespace contactcentre::analytics {

// Thresholds a queue's figures are computed with.
struct QueueThresholds {
  // Service level threshold T: answered with wait <= T is answered in time.
  absl::Duration service_level = absl::Seconds(20);
  // Abandons with wait < this are short abandons; zero disables the exclusion.
  absl::Duration short_abandon = absl::Seconds(5);
};

// What is counted for one entity over one window.
struct WindowCounts {
  int64_t offered = 0;
  int64_t answered = 0;
  int64_t answered_within_threshold = 0;
  double answer_wait_seconds = 0;  // sum over answered calls
  int64_t abandoned = 0;           // short abandons excluded
  int64_t short_abandoned = 0;
  int64_t abandoned_within_threshold = 0;  // not short, wait <= T
  int64_t abandoned_after_threshold = 0;   // not short, wait > T
  int64_t handled = 0;
  double handle_seconds = 0;  // talk + hold + wrap-up, summed over handled calls
  int64_t transfers = 0;
  int64_t missing_wrap_ups = 0;
  // Headline survey answers submitted in the window.
  int64_t csat_answers = 0;
  int64_t csat_satisfied = 0;  // 4 or 5 on 1-5
  int64_t nps_answers = 0;
  int64_t nps_promoters = 0;   // 9 or 10
  int64_t nps_detractors = 0;  // 0 to 6
  // Operator time of the states that ended in the window: on call or wrap-up; available or
  // reserved.
  double handling_seconds = 0;
  double available_seconds = 0;
};

// Gauges now, for one entity (site, queue or team): operators by state, calls waiting.
struct OperatorGauges {
  int64_t logged_in = 0;
  int64_t available = 0;
  int64_t reserved = 0;
  int64_t on_call = 0;
  int64_t wrap_up = 0;
  int64_t not_ready = 0;
  // Calls in the queue now (not for teams) and how long the oldest has waited.
  int64_t calls_waiting = 0;
  double longest_wait_seconds = 0;
};

// Adds one answered call that waited `wait_seconds` to `counts` (answered, within T, wait), as
// the live figures count it.
void JudgeAnswered(double wait_seconds, const QueueThresholds& thresholds, WindowCounts* counts);
// Adds one abandoned call that waited `wait_seconds`: a short abandon below the short abandon
// threshold, else abandoned within or after T.
void JudgeAbandoned(double wait_seconds, const QueueThresholds& thresholds, WindowCounts* counts);

// One definition of the catalogue that live figures compute so far.
struct BuiltMetric {
  // The metric key, e.g. "service_level".
  std::string key;
  // The variant, e.g. "standard", "answered", "offered".
  std::string variant;
  v1::MetricDefinition definition;
};

// Every definition computed so far, ordered by metric key, then variant, then version. Metrics
// of the contract not computed yet (gauges, occupancy, CSAT, NPS) are not listed.
const std::vector<BuiltMetric>& BuiltMetrics();

// The definition named `name` ("metricDefinitions/{metric}.{variant}.v{version}"), or nullptr.
const BuiltMetric* FindDefinition(absl::string_view name);

// The default definition of metric `key`, or nullptr when it is not computed (yet).
const BuiltMetric* DefaultDefinition(absl::string_view key);

// True for metric keys the contract names (metrics.proto), computed or not.
bool IsContractMetric(absl::string_view key);

// "metricDefinitions/{key}.{variant}.v1".
std::string DefinitionName(absl::string_view key, absl::string_view variant = "standard");

// The value of `metric` from `counts`, with window, window_start and data_time left for the
// caller.
v1::MetricValue ValueOf(const BuiltMetric& metric, const WindowCounts& counts,
                        const QueueThresholds& thresholds);

// The value of a gauge (kind GAUGE, window CURRENT), without window_start and data_time.
v1::MetricValue GaugeValueOf(const BuiltMetric& metric, const OperatorGauges& gauges);

// The catalogue methods.
absl::StatusOr<v1::ListMetricDefinitionsResponse> ListMetricDefinitions(
    const v1::ListMetricDefinitionsRequest& request);
absl::StatusOr<v1::MetricDefinition> GetMetricDefinition(
    const v1::GetMetricDefinitionRequest& request);

}  // namespace contactcentre::analytics
