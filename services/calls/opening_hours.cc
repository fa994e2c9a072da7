#include "services/calls/opening_hours.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/calling_window.h"

namespace contactcentre::calls {

absl::StatusOr<OpenIntervals> ComputeOpenIntervals(const common::v1::WeeklySchedule& schedule,
                                                   absl::Time from, absl::Time to) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(schedule.time_zone(), &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("opening_hours.time_zone: unknown zone \"", schedule.time_zone(), "\""));
  }
  const std::set<std::string> closed(schedule.closed_dates().begin(),
                                     schedule.closed_dates().end());
  std::vector<std::pair<int64_t, int64_t>> all;
  // A day before and after: windows of the neighbouring local days may reach into [from, to).
  const absl::CivilDay first = absl::ToCivilDay(from, zone) - 1;
  const absl::CivilDay last = absl::ToCivilDay(to, zone) + 1;
  for (absl::CivilDay day = first; day <= last; ++day) {
    if (closed.count(absl::FormatCivilTime(day)) > 0) continue;
    const int weekday = common::DayOfWeekOf(absl::GetWeekday(day));
    const absl::CivilMinute midnight(day);
    for (const common::v1::DailyWindow& window : schedule.windows()) {
      if (window.day() != weekday || window.end_minute() <= window.start_minute()) continue;
      const int64_t start =
          absl::ToUnixMillis(absl::FromCivil(midnight + window.start_minute(), zone));
      const int64_t end = absl::ToUnixMillis(absl::FromCivil(midnight + window.end_minute(), zone));
      if (end > start) all.emplace_back(start, end);
    }
  }
  std::sort(all.begin(), all.end());
  OpenIntervals open;
  open.horizon_ms = absl::ToUnixMillis(to);
  const int64_t from_ms = absl::ToUnixMillis(from);
  for (const auto& [start, end] : all) {
    if (!open.intervals.empty() && start <= open.intervals.back().second) {
      open.intervals.back().second = std::max(open.intervals.back().second, end);
    } else {
      open.intervals.emplace_back(start, end);
    }
  }
  std::vector<std::pair<int64_t, int64_t>> kept;
  for (const auto& interval : open.intervals) {
    if (interval.second > from_ms && interval.first < open.horizon_ms) kept.push_back(interval);
  }
  open.intervals = std::move(kept);
  return open;
}

std::string EncodeOpenIntervals(const OpenIntervals& open) {
  std::string text;
  for (const auto& [start, end] : open.intervals) {
    absl::StrAppend(&text, text.empty() ? "" : ",", start, "-", end);
  }
  return text;
}

bool OpenAt(absl::string_view oh_on, absl::string_view oh, absl::string_view oh_until,
            int64_t now_ms, int64_t* next_change_ms) {
  if (next_change_ms != nullptr) *next_change_ms = 0;
  if (oh_on != "1") return true;
  int64_t horizon = 0;
  if (!absl::SimpleAtoi(oh_until, &horizon) || now_ms >= horizon) return true;
  for (absl::string_view item : absl::StrSplit(oh, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> bounds = absl::StrSplit(item, '-');
    int64_t start = 0;
    int64_t end = 0;
    if (!absl::SimpleAtoi(bounds.first, &start) || !absl::SimpleAtoi(bounds.second, &end)) {
      continue;
    }
    if (now_ms < start) {
      if (next_change_ms != nullptr) *next_change_ms = start;
      return false;
    }
    if (now_ms < end) {
      if (next_change_ms != nullptr) *next_change_ms = end;
      return true;
    }
  }
  if (next_change_ms != nullptr) *next_change_ms = horizon;
  return false;
}

}  // namespace contactcentre::calls
