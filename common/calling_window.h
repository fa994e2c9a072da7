// When a customer may be called: weekly windows in the customer's time zone.
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "contactcentre/common/v1/common.pb.h"

namespace contactcentre::common {

// The contract's day of the week (weekly schedules: calling windows, opening hours).
common::v1::DayOfWeek DayOfWeekOf(absl::Weekday weekday);

// Every day 09:00-21:00, the window that applies when a customer has none.
common::v1::WeeklySchedule DefaultCallingWindow();

// Checks a window: days set, 0 <= start < end <= 1440, closed dates "YYYY-MM-DD", and a time
// zone that is empty or equal to `customer_time_zone`. INVALID_ARGUMENT naming `field`.
absl::Status ValidateCallingWindow(const common::v1::WeeklySchedule& window,
                                   absl::string_view field, absl::string_view customer_time_zone);

struct WindowState {
  bool open = false;
  // When closed: the next moment it opens, within the next 8 days; nullopt when it never does.
  std::optional<absl::Time> next_open;
};

// Whether `window` is open at `at` in `time_zone`.
WindowState EvaluateCallingWindow(const common::v1::WeeklySchedule& window,
                                  const absl::TimeZone& time_zone, absl::Time at);

}  // namespace contactcentre::common
