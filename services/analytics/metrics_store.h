// Live figures kept in PostgreSQL: the per-call facts applied from the event stream (each event
// once, by id) and the figures per queue and site computed from them over the live windows.
// Every replica shares the table, so any replica answers with every replica's events.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "contactcentre/events/v1/event.pb.h"
#include "services/analytics/metrics.h"
#include "services/analytics/settings.h"

namespace contactcentre::analytics {

struct MetricsStoreOptions {
  // The site this replica consumes and answers for (the event stream's site).
  std::string site;
  // Time zone of the TODAY window (local midnight).
  absl::TimeZone site_time_zone = absl::UTCTimeZone();
  // Thresholds of queues and the site without own settings (the service's flags).
  QueueThresholds thresholds;
};

// What a MetricsFilter asks for.
struct Selection {
  // The site's own figures.
  bool site = false;
  // Named queues, teams and operators ("queues/q1").
  std::set<std::string> named;
  // Every entity with facts today whose name starts with one of these ("queues/", "teams/",
  // "operators/").
  std::set<std::string> wildcards;
  // Teams (or "teams/-") whose operators are included (include_team_operators).
  std::set<std::string> team_operators_of;
  std::vector<const BuiltMetric*> metrics;  // in the catalogue's order
  // True when service_level was asked by key (or every metric was): each entity then gets its
  // queue's chosen definition instead of the default.
  bool service_level_by_key = false;
  // Rolling windows and TODAY.
  std::vector<v1::MetricWindow> windows;
  // Whether gauges (window CURRENT) are wanted.
  bool current = false;
};

// The selection of `filter` on the replica of `site`. INVALID_ARGUMENT naming the field
// ("filter.metrics[2]", "filter.entities.queues[0]", "filter.windows[0]"); UNIMPLEMENTED for
// metrics not computed yet.
absl::StatusOr<Selection> ParseFilter(const v1::MetricsFilter& filter, const std::string& site);

// The counts of every queue, team and operator of the site ("" for the site itself) over some
// windows, at `now`.
struct LiveCounts {
  absl::Time now;
  // Entity name -> window -> counts.
  std::map<std::string, std::map<int, WindowCounts>> by_entity;
  // Operator -> the teams it handled calls for today or belongs to now (for
  // include_team_operators).
  std::map<std::string, std::set<std::string>> operator_teams;
  // Operators by state now per site (""), team and served queue.
  std::map<std::string, OperatorGauges> gauges;
  // The status of every operator not OFFLINE.
  std::map<std::string, v1::OperatorStatus> operators;
  // The metric settings the counts were judged with (null: the service's flags).
  std::shared_ptr<const SettingsSnapshot> settings;
};

// Every live window, in the order figures list them.
const std::vector<v1::MetricWindow>& LiveWindows();

class MetricsStore {
 public:
  MetricsStore(common::PgPool* pg, MetricsStoreOptions options);

  // Applies one event of the stream: call events update the call's facts, in one transaction
  // with the record of the event id, so a repeated delivery changes nothing. Other events are
  // ignored (OK).
  absl::Status ApplyEvent(const events::v1::Event& event);

  // Deletes the facts of calls of the site unchanged for `keep` (longer than the longest live
  // window, TODAY), and the operators' teams of intervals older than that; returns how many
  // facts.
  absl::StatusOr<int64_t> Prune(absl::Duration keep);

  // GetCurrentMetrics at `now` (the data time).
  absl::StatusOr<v1::GetCurrentMetricsResponse> CurrentMetrics(
      const v1::GetCurrentMetricsRequest& request, absl::Time now) const;

  // The counts of every queue, team, operator and the site over `windows` at `now`, and the
  // gauges: three queries per window (calls, occupancy, survey scores) and two for the gauges.
  absl::StatusOr<LiveCounts> Count(absl::Time now,
                                   const std::vector<v1::MetricWindow>& windows) const;

  // The figures `selection` asks for out of `counts` (named queues without facts with zero
  // counts); the site first, then queues by name.
  v1::GetCurrentMetricsResponse Render(const LiveCounts& counts, const Selection& selection,
                                       bool include_definitions) const;

  const std::string& site() const { return options_.site; }
  const MetricsStoreOptions& options() const { return options_; }
  common::PgPool& pg() const { return pg_; }
  SettingsStore& settings() const { return settings_; }

  // The thresholds calls of `queue` ("queues/q1") are judged with now.
  QueueThresholds ThresholdsFor(absl::string_view queue) const;

 private:
  absl::Status ApplyOperatorState(const events::v1::Event& event);
  absl::Status ApplySurveyResponse(const events::v1::Event& event);

  common::PgPool& pg_;
  const MetricsStoreOptions options_;
  mutable SettingsStore settings_;
};

}  // namespace contactcentre::analytics
