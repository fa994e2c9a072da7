#include "services/calls/opening_hours.h"

#include <gtest/gtest.h>

namespace contactcentre::calls {
namespace {

int64_t Ms(const char* rfc3339) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error)) << error;
  return absl::ToUnixMillis(time);
}

absl::Time At(const char* rfc3339) { return absl::FromUnixMillis(Ms(rfc3339)); }

void AddWindow(common::v1::WeeklySchedule& schedule, common::v1::DayOfWeek day, int start,
               int end) {
  common::v1::DailyWindow* window = schedule.add_windows();
  window->set_day(day);
  window->set_start_minute(start);
  window->set_end_minute(end);
}

TEST(OpenIntervals, WindowsAreInTheQueuesZone) {
  common::v1::WeeklySchedule schedule;
  schedule.set_time_zone("Europe/Moscow");  // UTC+3
  AddWindow(schedule, common::v1::DAY_OF_WEEK_MONDAY, 9 * 60, 18 * 60);
  // Monday 2 March 2026.
  absl::StatusOr<OpenIntervals> open =
      ComputeOpenIntervals(schedule, At("2026-03-01T00:00:00Z"), At("2026-03-08T00:00:00Z"));
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->intervals.size(), 1u);
  EXPECT_EQ(open->intervals[0].first, Ms("2026-03-02T06:00:00Z"));
  EXPECT_EQ(open->intervals[0].second, Ms("2026-03-02T15:00:00Z"));
  const std::string oh = EncodeOpenIntervals(*open);
  const std::string until = std::to_string(open->horizon_ms);
  int64_t next = 0;
  EXPECT_FALSE(OpenAt("1", oh, until, Ms("2026-03-02T05:59:59Z"), &next));
  EXPECT_EQ(next, Ms("2026-03-02T06:00:00Z"));
  EXPECT_TRUE(OpenAt("1", oh, until, Ms("2026-03-02T06:00:00Z"), &next));
  EXPECT_EQ(next, Ms("2026-03-02T15:00:00Z"));
  EXPECT_FALSE(OpenAt("1", oh, until, Ms("2026-03-02T15:00:00Z")));
  // Without opening hours always open; past the horizon open rather than refusing calls.
  EXPECT_TRUE(OpenAt("", "", "", Ms("2026-03-02T03:00:00Z")));
  EXPECT_TRUE(OpenAt("1", oh, until, Ms("2026-03-09T03:00:00Z")));
  // A schedule without windows is always closed.
  EXPECT_FALSE(OpenAt("1", "", until, Ms("2026-03-02T10:00:00Z")));
}

TEST(OpenIntervals, DaylightSavingClosedDatesAndMidnight) {
  common::v1::WeeklySchedule schedule;
  schedule.set_time_zone("Europe/Berlin");  // CET, CEST from 29 March 2026 02:00
  AddWindow(schedule, common::v1::DAY_OF_WEEK_SUNDAY, 60, 4 * 60);
  AddWindow(schedule, common::v1::DAY_OF_WEEK_MONDAY, 22 * 60, 1440);
  AddWindow(schedule, common::v1::DAY_OF_WEEK_TUESDAY, 0, 6 * 60);
  AddWindow(schedule, common::v1::DAY_OF_WEEK_TUESDAY, 5 * 60, 7 * 60);
  schedule.add_closed_dates("2026-03-22");  // the Sunday before
  absl::StatusOr<OpenIntervals> open =
      ComputeOpenIntervals(schedule, At("2026-03-21T00:00:00Z"), At("2026-04-01T00:00:00Z"));
  ASSERT_TRUE(open.ok()) << open.status();
  std::vector<std::pair<int64_t, int64_t>> expected = {
      // Mon 23 22:00 CET to Tue 24 07:00 CET, merged.
      {Ms("2026-03-23T21:00:00Z"), Ms("2026-03-24T06:00:00Z")},
      // Sun 29 01:00 CET to 04:00 CEST: two hours.
      {Ms("2026-03-29T00:00:00Z"), Ms("2026-03-29T02:00:00Z")},
      {Ms("2026-03-30T20:00:00Z"), Ms("2026-03-31T05:00:00Z")},
  };
  EXPECT_EQ(open->intervals, expected);
}

TEST(OpenIntervals, UnknownZone) {
  common::v1::WeeklySchedule schedule;
  schedule.set_time_zone("Mars/Olympus");
  EXPECT_FALSE(ComputeOpenIntervals(schedule, absl::Now(), absl::Now() + absl::Hours(1)).ok());
}

}  // namespace
}  // namespace contactcentre::calls
