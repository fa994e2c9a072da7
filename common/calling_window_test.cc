#include "common/calling_window.h"

#include <gtest/gtest.h>

namespace contactcentre::common {
namespace {

absl::TimeZone Moscow() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Moscow", &zone));
  return zone;
}

absl::Time At(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), Moscow());
}

TEST(CallingWindowTest, DefaultIsNineToNineEveryDay) {
  const auto window = DefaultCallingWindow();
  // 2026-11-28 is a Saturday.
  EXPECT_TRUE(EvaluateCallingWindow(window, Moscow(), At(2026, 11, 28, 9, 0)).open);
  EXPECT_TRUE(EvaluateCallingWindow(window, Moscow(), At(2026, 11, 28, 20, 59)).open);
  WindowState late = EvaluateCallingWindow(window, Moscow(), At(2026, 11, 28, 21, 0));
  EXPECT_FALSE(late.open);
  ASSERT_TRUE(late.next_open.has_value());
  EXPECT_EQ(*late.next_open, At(2026, 11, 29, 9, 0));
  WindowState early = EvaluateCallingWindow(window, Moscow(), At(2026, 11, 28, 7, 30));
  EXPECT_EQ(*early.next_open, At(2026, 11, 28, 9, 0));
}

TEST(CallingWindowTest, WeekdaysOnlyAndClosedDates) {
  common::v1::WeeklySchedule window;
  for (auto day : {common::v1::DAY_OF_WEEK_MONDAY, common::v1::DAY_OF_WEEK_FRIDAY}) {
    auto* daily = window.add_windows();
    daily->set_day(day);
    daily->set_start_minute(10 * 60);
    daily->set_end_minute(12 * 60);
  }
  window.add_closed_dates("2026-11-30");  // a Monday
  WindowState saturday = EvaluateCallingWindow(window, Moscow(), At(2026, 11, 28, 11, 0));
  EXPECT_FALSE(saturday.open);
  // Monday the 30th is closed: the next opening is Friday 4 December.
  EXPECT_EQ(*saturday.next_open, At(2026, 12, 4, 10, 0));
  EXPECT_FALSE(EvaluateCallingWindow(window, Moscow(), At(2026, 11, 30, 11, 0)).open);
  EXPECT_TRUE(EvaluateCallingWindow(window, Moscow(), At(2026, 12, 4, 11, 59)).open);
}

TEST(CallingWindowTest, AnEmptyWindowNeverOpens) {
  WindowState never = EvaluateCallingWindow(common::v1::WeeklySchedule(), Moscow(), absl::Now());
  EXPECT_FALSE(never.open);
  EXPECT_FALSE(never.next_open.has_value());
}

TEST(CallingWindowTest, ValidationNamesTheField) {
  common::v1::WeeklySchedule window;
  auto* daily = window.add_windows();
  daily->set_day(common::v1::DAY_OF_WEEK_MONDAY);
  daily->set_start_minute(600);
  daily->set_end_minute(500);
  absl::Status status = ValidateCallingWindow(window, "customer.calling_window", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("customer.calling_window.windows[0]"), std::string::npos);
  daily->set_end_minute(700);
  EXPECT_TRUE(ValidateCallingWindow(window, "w", "").ok());
  window.add_closed_dates("2026-13-01");
  EXPECT_FALSE(ValidateCallingWindow(window, "w", "").ok());
  window.clear_closed_dates();
  window.set_time_zone("Asia/Tokyo");
  EXPECT_FALSE(ValidateCallingWindow(window, "w", "Europe/Moscow").ok());
}

}  // namespace
}  // namespace contactcentre::common
