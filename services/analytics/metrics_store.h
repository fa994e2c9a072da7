// Live figures kept in PostgreSQL: the per-call facts applied from the event stream (each event
// once, by id) and the figures per queue and site computed from them over the live windows.
// Every replica shares the table, so any replica answers with every replica's events.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "contactcentre/events/v1/event.pb.h"
#include "services/analytics/metrics.h"

namespace contactcentre::analytics {

struct MetricsStoreOptions {
  // The site this replica consumes and answers for (the event stream's site).
  std::string site;
  // Time zone of the TODAY window (local midnight).
  absl::TimeZone site_time_zone = absl::UTCTimeZone();
  // Thresholds of every queue until per-queue settings are built.
  QueueThresholds thresholds;
};

class MetricsStore {
 public:
  MetricsStore(common::PgPool* pg, MetricsStoreOptions options);

  // Applies one event of the stream: call events update the call's facts, in one transaction
  // with the record of the event id, so a repeated delivery changes nothing. Other events are
  // ignored (OK).
  absl::Status ApplyEvent(const events::v1::Event& event);

  // GetCurrentMetrics at `now` (the data time).
  absl::StatusOr<v1::GetCurrentMetricsResponse> CurrentMetrics(
      const v1::GetCurrentMetricsRequest& request, absl::Time now) const;

 private:
  common::PgPool& pg_;
  const MetricsStoreOptions options_;
};

}  // namespace contactcentre::analytics
