// Opening hours of directory entries: validation and "is it open at this moment".
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/common/v1/common.pb.h"
#include "contactcentre/knowledge/v1/directory.pb.h"

namespace contactcentre::knowledge {

// INVALID_ARGUMENT naming the offending part of `field` (e.g. "entry.opening_hours.windows[2]")
// for an unknown time zone, a window with an unspecified day or minutes outside
// 0 <= start < end <= 1440, or a closed date that is not "YYYY-MM-DD".
absl::Status CheckSchedule(const common::v1::WeeklySchedule& schedule, absl::string_view field);

// Whether `schedule` is open at `at`, read in the schedule's time zone (`default_zone` when it
// names none): CLOSED on a closed date or outside every window of that weekday.
v1::OpenStatus OpenStatusAt(const common::v1::WeeklySchedule& schedule, absl::Time at,
                            const absl::TimeZone& default_zone);

}  // namespace contactcentre::knowledge
