#include "services/knowledge/opening_hours.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/calling_window.h"
#include "common/status.h"

namespace contactcentre::knowledge {
namespace {

bool ParseDate(absl::string_view text, absl::CivilDay* day) {
  // ParseCivilTime accepts normalisable dates such as 2026-02-30; a date must round-trip.
  return text.size() == 10 && absl::ParseCivilTime(text, day) &&
         absl::FormatCivilTime(*day) == text;
}

}  // namespace

absl::Status CheckSchedule(const common::v1::WeeklySchedule& schedule, absl::string_view field) {
  if (!schedule.time_zone().empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(schedule.time_zone(), &zone)) {
      return common::InvalidArgumentError(
          absl::StrCat(field, ".time_zone"),
          absl::StrCat("unknown time zone \"", schedule.time_zone(), "\""));
    }
  }
  for (int i = 0; i < schedule.windows_size(); ++i) {
    const common::v1::DailyWindow& window = schedule.windows(i);
    const std::string path = absl::StrCat(field, ".windows[", i, "]");
    if (window.day() == common::v1::DAY_OF_WEEK_UNSPECIFIED ||
        !common::v1::DayOfWeek_IsValid(window.day())) {
      return common::InvalidArgumentError(absl::StrCat(path, ".day"), "must be a day of the week");
    }
    if (window.start_minute() < 0 || window.start_minute() > 1439 || window.end_minute() < 1 ||
        window.end_minute() > 1440 || window.end_minute() <= window.start_minute()) {
      return common::InvalidArgumentError(
          path, absl::StrFormat("minutes %d..%d: need 0 <= start < end <= 1440",
                                window.start_minute(), window.end_minute()));
    }
  }
  for (int i = 0; i < schedule.closed_dates_size(); ++i) {
    absl::CivilDay day;
    if (!ParseDate(schedule.closed_dates(i), &day)) {
      return common::InvalidArgumentError(absl::StrCat(field, ".closed_dates[", i, "]"),
                                          "must be a date \"YYYY-MM-DD\"");
    }
  }
  return absl::OkStatus();
}

v1::OpenStatus OpenStatusAt(const common::v1::WeeklySchedule& schedule, absl::Time at,
                            const absl::TimeZone& default_zone) {
  absl::TimeZone zone = default_zone;
  if (!schedule.time_zone().empty() && !absl::LoadTimeZone(schedule.time_zone(), &zone)) {
    zone = default_zone;
  }
  const absl::CivilSecond local = absl::ToCivilSecond(at, zone);
  const std::string date = absl::FormatCivilTime(absl::CivilDay(local));
  for (const std::string& closed : schedule.closed_dates()) {
    if (closed == date) return v1::OPEN_STATUS_CLOSED;
  }
  const common::v1::DayOfWeek day = common::DayOfWeekOf(absl::GetWeekday(local));
  const int minute = local.hour() * 60 + local.minute();
  for (const common::v1::DailyWindow& window : schedule.windows()) {
    if (window.day() == day && window.start_minute() <= minute && minute < window.end_minute()) {
      return v1::OPEN_STATUS_OPEN;
    }
  }
  return v1::OPEN_STATUS_CLOSED;
}

}  // namespace contactcentre::knowledge
