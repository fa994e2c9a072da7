// GetReport: figures over a time range from the stored 15-minute intervals (interval_counts),
// grouped by interval, hour or day and/or by queue, team, operator or site, as rows or CSV.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "services/analytics/metrics.h"
#include "services/analytics/settings.h"

namespace contactcentre::analytics {

struct ReportOptions {
  // The replica's site: reports cover its intervals.
  std::string site;
  // Default time zone of HOUR and DAY rows and CSV times.
  absl::TimeZone site_time_zone = absl::UTCTimeZone();
  // Thresholds of rows that judged no call (shown as parameters only).
  QueueThresholds thresholds;
  // The settings in force: "service_level" by key is each queue's chosen definition (the
  // site's for other rows). Null: the default definition.
  std::shared_ptr<const SettingsSnapshot> settings;
};

// The report at `now` (intervals that ended by `now` are closed). Errors as the contract says:
// INVALID_ARGUMENT naming the field ("range", "range.end_time", "group_by", "entities.queues[0]",
// "metrics[1]", "time_zone", "page_token", "page_size").
absl::StatusOr<v1::GetReportResponse> GetReport(common::PgPool& pg, const ReportOptions& options,
                                                const v1::GetReportRequest& request,
                                                absl::Time now);

// RFC 4180 field: quoted when it holds a comma, quote or line break.
std::string CsvField(absl::string_view text);

// The start of the UTC-aligned 15-minute interval holding `time`.
absl::Time FloorToInterval(absl::Time time);

}  // namespace contactcentre::analytics
