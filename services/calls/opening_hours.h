// Opening hours of a queue (contactcentre.common.v1.WeeklySchedule) as the live side uses them.
//
// The Lua scripts cannot do time-zone arithmetic, so the service does it: whenever a queue's
// routing is written to Redis (every change, start-up, and a refresh every hour) the schedule
// is turned into the absolute open intervals of the coming days, computed with Abseil's time
// zones (daylight-saving changes and closed dates included). The scripts and the live views
// then only compare the current time with those intervals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/common/v1/common.pb.h"

namespace contactcentre::calls {

// Open intervals [start, end) as Unix milliseconds, ascending, neither overlapping nor touching.
struct OpenIntervals {
  std::vector<std::pair<int64_t, int64_t>> intervals;
  int64_t horizon_ms = 0;  // the intervals are complete up to this time (not after it)
};

// The open intervals of `schedule` that overlap [from, to). Windows of one day that overlap or
// touch, and windows running up to midnight followed by one from midnight, are merged. A local
// time that occurs twice (clocks going back) is taken at its first occurrence; one that does not
// exist (clocks going forward) is shifted by the jump. INVALID_ARGUMENT for an unknown zone.
absl::StatusOr<OpenIntervals> ComputeOpenIntervals(const common::v1::WeeklySchedule& schedule,
                                                   absl::Time from, absl::Time to);

// The intervals as the queue hash keeps them: "start-end,start-end,..." (ms).
std::string EncodeOpenIntervals(const OpenIntervals& open);

// Whether a queue is open at `now_ms` by the fields its hash holds (`oh_on`, `oh`, `oh_until`):
// always open without opening hours; open (rather than refusing calls) past the horizon, which
// only a week without any replica refreshing it would reach. `next_change_ms`, when given, is
// set to the next time the answer changes (0 when it never does within the horizon).
bool OpenAt(absl::string_view oh_on, absl::string_view oh, absl::string_view oh_until,
            int64_t now_ms, int64_t* next_change_ms = nullptr);

}  // namespace contactcentre::calls
