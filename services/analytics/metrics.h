// Live figures of the analytics service without a database: the built-in catalogue of metric
// definitions, the counts kept per entity and window, and the values computed from them
// (definitions as ARCHITECTURE §9 and proto/contactcentre/analytics/v1/metrics.proto).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
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
};

// One metric of the catalogue that live figures compute so far.
struct BuiltMetric {
  const char* key;
  v1::MetricDefinition definition;
};

// Every definition of the catalogue, in key order. Metrics of the contract not computed yet
// (gauges, occupancy, CSAT, NPS, the other service level variants) are not listed.
const std::vector<BuiltMetric>& BuiltMetrics();

// True for metric keys the contract names (metrics.proto), computed or not.
bool IsContractMetric(const std::string& key);

// "metricDefinitions/{key}.standard.v1".
std::string DefinitionName(const std::string& key);

// The value of metric `key` from `counts` (key must be one of BuiltMetrics()), with window,
// window_start and data_time left for the caller.
v1::MetricValue ValueOf(const std::string& key, const WindowCounts& counts,
                        const QueueThresholds& thresholds);

}  // namespace contactcentre::analytics
