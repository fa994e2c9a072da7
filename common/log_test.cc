#include "common/log.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace contactcentre::common {
namespace {

google::protobuf::Struct ParseLine(const std::string& line) {
  EXPECT_EQ(line.back(), '\n');
  google::protobuf::Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(line, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return parsed;
}

TEST(LogTest, LineIsOneJsonObjectWithTheFields) {
  const std::string line = FormatLogLine(
      absl::FromUnixMillis(1'764'288'123'456), LogLevel::kWarning, "calls", "req-1", "call queued",
      {{"call", "calls/1"}, {"position", 3}, {"vip", true}, {"wait", absl::Milliseconds(1500)}});
  const google::protobuf::Struct parsed = ParseLine(line);
  const auto& fields = parsed.fields();
  EXPECT_EQ(fields.at("ts").string_value(), "2025-11-28T00:02:03.456Z");
  EXPECT_EQ(fields.at("level").string_value(), "warning");
  EXPECT_EQ(fields.at("service").string_value(), "calls");
  EXPECT_EQ(fields.at("request_id").string_value(), "req-1");
  EXPECT_EQ(fields.at("msg").string_value(), "call queued");
  EXPECT_EQ(fields.at("call").string_value(), "calls/1");
  EXPECT_EQ(fields.at("position").number_value(), 3);
  EXPECT_TRUE(fields.at("vip").bool_value());
  EXPECT_DOUBLE_EQ(fields.at("wait").number_value(), 1.5);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(LogTest, EscapesWhatWouldBreakTheLine) {
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \a Привет";
  const std::string line =
      FormatLogLine(absl::UnixEpoch(), LogLevel::kInfo, "svc", "", nasty, {{"k\"ey", nasty}});
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  const google::protobuf::Struct parsed = ParseLine(line);
  EXPECT_EQ(parsed.fields().at("msg").string_value(), nasty);
  EXPECT_EQ(parsed.fields().at("k\"ey").string_value(), nasty);
  EXPECT_FALSE(parsed.fields().contains("request_id"));
}

TEST(LogTest, StatusAndNonFiniteNumbers) {
  const std::string line = FormatLogLine(absl::UnixEpoch(), LogLevel::kError, "svc", "", "m",
                                         {{"error", absl::NotFoundError("no queue")},
                                          {"ratio", std::numeric_limits<double>::infinity()}});
  const google::protobuf::Struct parsed = ParseLine(line);
  EXPECT_EQ(parsed.fields().at("error").string_value(), "NOT_FOUND: no queue");
  EXPECT_TRUE(parsed.fields().at("ratio").has_null_value());
}

TEST(LogTest, ParsesLevels) {
  LogLevel level;
  ASSERT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  ASSERT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
}

}  // namespace
}  // namespace contactcentre::common

namespace contactcentre::common {
namespace {

TEST(LogTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string bytes = std::string("ok \xff\xfe end \xd0\x9f\xd1\x80 cut \xd0", 20);
  std::string json;
  AppendJsonString(json, bytes);
  EXPECT_EQ(json, "\"ok \\ufffd\\ufffd end Пр cut \\ufffd\"");
  google::protobuf::Struct parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(absl::StrCat("{\"k\":", json, "}"), &parsed)
          .ok());
}

}  // namespace
}  // namespace contactcentre::common
