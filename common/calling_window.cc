#include "common/calling_window.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

common::v1::DayOfWeek DayOf(absl::CivilDay day) { return DayOfWeekOf(absl::GetWeekday(day)); }

bool IsClosedDate(const common::v1::WeeklySchedule& window, absl::CivilDay day) {
  const std::string date = absl::FormatCivilTime(day);
  return std::find(window.closed_dates().begin(), window.closed_dates().end(), date) !=
         window.closed_dates().end();
}

}  // namespace

common::v1::DayOfWeek DayOfWeekOf(absl::Weekday weekday) {
  switch (weekday) {
    case absl::Weekday::monday:
      return common::v1::DAY_OF_WEEK_MONDAY;
    case absl::Weekday::tuesday:
      return common::v1::DAY_OF_WEEK_TUESDAY;
    case absl::Weekday::wednesday:
      return common::v1::DAY_OF_WEEK_WEDNESDAY;
    case absl::Weekday::thursday:
      return common::v1::DAY_OF_WEEK_THURSDAY;
    case absl::Weekday::friday:
      return common::v1::DAY_OF_WEEK_FRIDAY;
    case absl::Weekday::saturday:
      return common::v1::DAY_OF_WEEK_SATURDAY;
    case absl::Weekday::sunday:
      return common::v1::DAY_OF_WEEK_SUNDAY;
  }
  return common::v1::DAY_OF_WEEK_UNSPECIFIED;
}

common::v1::WeeklySchedule DefaultCallingWindow() {
  common::v1::WeeklySchedule window;
  for (int day = common::v1::DAY_OF_WEEK_MONDAY; day <= common::v1::DAY_OF_WEEK_SUNDAY; ++day) {
    common::v1::DailyWindow* daily = window.add_windows();
    daily->set_day(static_cast<common::v1::DayOfWeek>(day));
    daily->set_start_minute(9 * 60);
    daily->set_end_minute(21 * 60);
  }
  return window;
}

absl::Status ValidateCallingWindow(const common::v1::WeeklySchedule& window,
                                   absl::string_view field, absl::string_view customer_time_zone) {
  if (!window.time_zone().empty() && window.time_zone() != customer_time_zone) {
    return common::InvalidArgumentError(
        absl::StrCat(field, ".time_zone"),
        "must be empty or the customer's time_zone (the customer's zone applies)");
  }
  if (window.windows_size() > 50) {
    return common::InvalidArgumentError(absl::StrCat(field, ".windows"), "at most 50 windows");
  }
  for (int i = 0; i < window.windows_size(); ++i) {
    const common::v1::DailyWindow& daily = window.windows(i);
    const std::string path = absl::StrCat(field, ".windows[", i, "]");
    if (daily.day() < common::v1::DAY_OF_WEEK_MONDAY ||
        daily.day() > common::v1::DAY_OF_WEEK_SUNDAY) {
      return common::InvalidArgumentError(absl::StrCat(path, ".day"), "must be a day of the week");
    }
    if (daily.start_minute() < 0 || daily.end_minute() > 1440 ||
        daily.start_minute() >= daily.end_minute()) {
      return common::InvalidArgumentError(path, "needs 0 <= start_minute < end_minute <= 1440");
    }
  }
  if (window.closed_dates_size() > 366) {
    return common::InvalidArgumentError(absl::StrCat(field, ".closed_dates"), "at most 366 dates");
  }
  for (int i = 0; i < window.closed_dates_size(); ++i) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(window.closed_dates(i), &day) ||
        absl::FormatCivilTime(day) != window.closed_dates(i)) {
      return common::InvalidArgumentError(absl::StrCat(field, ".closed_dates[", i, "]"),
                                          "must be a date YYYY-MM-DD");
    }
  }
  return absl::OkStatus();
}

WindowState EvaluateCallingWindow(const common::v1::WeeklySchedule& window,
                                  const absl::TimeZone& time_zone, absl::Time at) {
  const absl::CivilMinute now = absl::ToCivilMinute(at, time_zone);
  const absl::CivilDay today(now);
  const int minute_of_day = static_cast<int>(now - absl::CivilMinute(today));
  WindowState state;
  if (!IsClosedDate(window, today)) {
    for (const common::v1::DailyWindow& daily : window.windows()) {
      if (daily.day() == DayOf(today) && daily.start_minute() <= minute_of_day &&
          minute_of_day < daily.end_minute()) {
        state.open = true;
        return state;
      }
    }
  }
  for (int offset = 0; offset <= 8; ++offset) {
    const absl::CivilDay day = today + offset;
    if (IsClosedDate(window, day)) continue;
    std::optional<int> first_start;
    for (const common::v1::DailyWindow& daily : window.windows()) {
      if (daily.day() != DayOf(day)) continue;
      if (offset == 0 && daily.start_minute() <= minute_of_day) continue;
      if (!first_start || daily.start_minute() < *first_start) first_start = daily.start_minute();
    }
    if (first_start) {
      state.next_open = absl::FromCivil(absl::CivilMinute(day) + *first_start, time_zone);
      return state;
    }
  }
  return state;
}

}  // namespace contactcentre::common
