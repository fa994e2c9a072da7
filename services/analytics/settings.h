// Metric settings per queue and site (GetMetricSettings, ListMetricSettings,
// UpdateMetricSettings): the service level threshold T, the short abandon threshold, the named,
// versioned service level definition, the service level and ASA goals. A queue's unset field
// inherits its site's, a site's the service's flags. Live figures read the settings in force
// (a snapshot at most `cache_ttl` old on other replicas, at once on the replica that changed
// them); interval rows keep the thresholds they were written with.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "services/analytics/metrics.h"

namespace contactcentre::analytics {

// The own (not inherited) values of one queue or site.
struct OwnSettings {
  std::optional<absl::Duration> service_level_threshold;
  std::optional<absl::Duration> short_abandon_threshold;
  std::optional<std::string> service_level_definition;  // "metricDefinitions/service_level..."
  std::optional<double> service_level_target;
  std::optional<absl::Duration> asa_target;
  int64_t version = 0;
  absl::Time update_time = absl::InfinitePast();
};

// The values in force for a queue (or the site).
struct EffectiveSettings {
  QueueThresholds thresholds;
  const BuiltMetric* service_level = nullptr;  // the chosen service level definition
  double service_level_target = 0.8;
  std::optional<absl::Duration> asa_target;

  bool SameFormula(const EffectiveSettings& other) const {
    return thresholds.service_level == other.thresholds.service_level &&
           thresholds.short_abandon == other.thresholds.short_abandon &&
           service_level == other.service_level;
  }
};

// Every own setting of the site's queues and the site, at one time.
struct SettingsSnapshot {
  std::string site;  // "sites/msk"
  QueueThresholds defaults;
  // "queues/q1" or "sites/msk" -> own values.
  std::map<std::string, OwnSettings> own;

  // The settings of `queue` ("queues/q1"), or of the site for "".
  EffectiveSettings Effective(const std::string& queue) const;
  // True when some queue with own settings differs from the site in T, the short abandon
  // threshold or the service level definition.
  bool AnyQueueDiffers() const;
};

class SettingsStore {
 public:
  SettingsStore(common::PgPool* pg, std::string site, QueueThresholds defaults,
                absl::Duration cache_ttl = absl::Seconds(1));

  // The settings in force (reloaded when older than the cache time).
  absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> Snapshot();

  absl::StatusOr<v1::MetricSettings> Get(const v1::GetMetricSettingsRequest& request);
  absl::StatusOr<v1::ListMetricSettingsResponse> List(const v1::ListMetricSettingsRequest& request);
  absl::StatusOr<v1::MetricSettings> Update(const v1::UpdateMetricSettingsRequest& request);

 private:
  absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> Load();
  v1::MetricSettings ToProto(const std::string& entity, const OwnSettings* own,
                             const SettingsSnapshot& snapshot) const;

  common::PgPool& pg_;
  const std::string site_;  // "sites/msk"
  const QueueThresholds defaults_;
  const absl::Duration cache_ttl_;
  absl::Mutex mutex_;
  std::shared_ptr<const SettingsSnapshot> cached_ ABSL_GUARDED_BY(mutex_);
  absl::Time loaded_at_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace contactcentre::analytics
