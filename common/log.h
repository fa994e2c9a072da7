// Structured logging: one JSON object a line on stderr, e.g.
//   {"ts":"2026-11-28T01:02:03.456Z","level":"info","service":"calls",
//    "msg":"call queued","request_id":"r-17","call":"calls/0193...","position":3}
//
//   common::LogInfo("call queued", {{"call", name}, {"position", 3}});
//   common::ScopedRequestId scope(request.request_id());  // tags every line of this thread
//
// Abseil 20220623 has no absl/log, so this small facade is the suite's logger.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace contactcentre::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// One key and its value, already encoded as JSON.
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value);
  LogField(absl::string_view key, const char* value) : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, int64_t value);
  LogField(absl::string_view key, int value) : LogField(key, static_cast<int64_t>(value)) {}
  LogField(absl::string_view key, uint64_t value);
  LogField(absl::string_view key, double value);
  LogField(absl::string_view key, bool value);
  LogField(absl::string_view key, absl::Duration value);  // as seconds, e.g. 0.125
  LogField(absl::string_view key, const absl::Status& status);

  const std::string& key() const { return key_; }
  const std::string& json_value() const { return json_value_; }

 private:
  std::string key_;
  std::string json_value_;
};

// Process-wide settings, set once in main before threads start.
void SetLogService(absl::string_view service);
void SetLogLevel(LogLevel level);
// Parses "debug", "info", "warning", "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
inline void LogDebug(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarning(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, message, fields);
}
inline void LogError(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, message, fields);
}

// Builds the JSON line without writing it; exposed for tests.
std::string FormatLogLine(absl::Time time, LogLevel level, absl::string_view service,
                          absl::string_view request_id, absl::string_view message,
                          std::initializer_list<LogField> fields);

// Appends `text` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, absl::string_view text);

// Tags every log line written by this thread with `request_id` while in scope.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(absl::string_view request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

}  // namespace contactcentre::common
