#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace contactcentre::common {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
// Written once in main before other threads start; read-only afterwards.
std::string& ServiceName() {
  static auto* const name = new std::string("contactcentre");
  return *name;
}
thread_local std::string current_request_id;

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length;
  uint32_t minimum;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  uint32_t code_point = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3f);
  }
  if (code_point < minimum || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // Error texts from drivers may carry arbitrary bytes; a JSON line must stay valid UTF-8.
      if (const size_t length = Utf8SequenceLength(text, i); length > 0) {
        out.append(text.data() + i, length);
        i += length;
      } else {
        out.append("\\ufffd");
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

LogField::LogField(absl::string_view key, absl::string_view value) : key_(key) {
  AppendJsonString(json_value_, value);
}
LogField::LogField(absl::string_view key, int64_t value)
    : key_(key), json_value_(absl::StrCat(value)) {}
LogField::LogField(absl::string_view key, uint64_t value)
    : key_(key), json_value_(absl::StrCat(value)) {}
LogField::LogField(absl::string_view key, double value) : key_(key) {
  // JSON has no NaN or infinity.
  json_value_ = std::isfinite(value) ? absl::StrFormat("%.6g", value) : "null";
}
LogField::LogField(absl::string_view key, bool value)
    : key_(key), json_value_(value ? "true" : "false") {}
LogField::LogField(absl::string_view key, absl::Duration value)
    : LogField(key, absl::ToDoubleSeconds(value)) {}
LogField::LogField(absl::string_view key, const absl::Status& status) : key_(key) {
  AppendJsonString(json_value_, status.ToString());
}

void SetLogService(absl::string_view service) { ServiceName() = std::string(service); }
void SetLogLevel(LogLevel level) { min_level.store(static_cast<int>(level)); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel candidate :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

std::string FormatLogLine(absl::Time time, LogLevel level, absl::string_view service,
                          absl::string_view request_id, absl::string_view message,
                          std::initializer_list<LogField> fields) {
  std::string line = "{\"ts\":";
  AppendJsonString(line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()));
  absl::StrAppend(&line, ",\"level\":\"", LevelName(level), "\",\"service\":");
  AppendJsonString(line, service);
  line.append(",\"msg\":");
  AppendJsonString(line, message);
  if (!request_id.empty()) {
    line.append(",\"request_id\":");
    AppendJsonString(line, request_id);
  }
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(line, field.key());
    line.push_back(':');
    line.append(field.json_value());
  }
  line.append("}\n");
  return line;
}

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  const std::string line =
      FormatLogLine(absl::Now(), level, ServiceName(), current_request_id, message, fields);
  // One write(2) per line keeps lines whole when several threads log at once.
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    written += static_cast<size_t>(n);
  }
}

ScopedRequestId::ScopedRequestId(absl::string_view request_id)
    : previous_(std::move(current_request_id)) {
  current_request_id = std::string(request_id);
}

ScopedRequestId::~ScopedRequestId() { current_request_id = std::move(previous_); }

}  // namespace contactcentre::common
