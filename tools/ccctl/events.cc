#include "tools/ccctl/events.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/event_stream.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "tools/ccctl/fields.h"

namespace contactcentre::ccctl {
namespace {

bool IsEntryId(absl::string_view text) {
  const size_t dash = text.find('-');
  uint64_t part;
  if (dash == absl::string_view::npos) return absl::SimpleAtoi(text, &part);
  return absl::SimpleAtoi(text.substr(0, dash), &part) &&
         absl::SimpleAtoi(text.substr(dash + 1), &part);
}

// The field/value pairs of one stream entry: [id, [f1, v1, f2, v2, ...]].
const std::string* EntryField(const common::RedisReply& entry, absl::string_view name) {
  if (entry.elements.size() < 2) return nullptr;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == name) return &fields[i + 1].str;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::string> StartIdFor(absl::string_view from, absl::Time now) {
  from = absl::StripAsciiWhitespace(from);
  if (from == "$") return std::string("$");
  if (from == "0" || from == "-" || from == "beginning") return std::string("0-0");
  if (IsEntryId(from)) return std::string(from);
  absl::Duration ago;
  if (absl::ParseDuration(from, &ago) && ago >= absl::ZeroDuration()) {
    return absl::StrCat(absl::ToUnixMillis(now - ago), "-0");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--from: \"", from, "\" is not $, 0, a stream entry id or a duration such as 10m"));
}

std::string FormatEvent(absl::string_view entry_id, const events::v1::Event& event,
                        OutputFormat format) {
  if (format == OutputFormat::kJson) return MessageToJson(event, false);
  const google::protobuf::OneofDescriptor* payload =
      event.GetDescriptor()->FindOneofByName("payload");
  std::string payload_json = "{}";
  if (payload != nullptr) {
    const google::protobuf::FieldDescriptor* field =
        event.GetReflection()->GetOneofFieldDescriptor(event, payload);
    if (field != nullptr) {
      payload_json = MessageToJson(event.GetReflection()->GetMessage(event, field), false);
    }
  }
  const std::string type = common::EventTypeName(event);
  return absl::StrCat(
      entry_id, "  ", google::protobuf::util::TimeUtil::ToString(event.occurred_at()), "  ",
      type.empty() ? "(no payload)" : type, "  ", event.producer(), "  ", payload_json);
}

absl::StatusOr<int64_t> TailEvents(const TailOptions& options, const std::atomic<bool>& stop,
                                   std::FILE* out) {
  common::RedisOptions redis = options.redis;
  // A blocking read waits up to half a second, so Ctrl-C is noticed quickly.
  redis.command_timeout = std::max(redis.command_timeout, absl::Seconds(5));
  CC_ASSIGN_OR_RETURN(auto connection, common::RedisConnection::Connect(redis));
  const std::string key = common::EventStreamKey(options.site);
  CC_ASSIGN_OR_RETURN(std::string last_id, StartIdFor(options.from, absl::Now()));
  if (last_id == "$") {
    // Resolve "now" to the stream's newest id once, so nothing between two reads is missed.
    CC_ASSIGN_OR_RETURN(common::RedisReply newest,
                        connection->Command({"XREVRANGE", key, "+", "-", "COUNT", "1"}));
    last_id = newest.elements.empty() || newest.elements[0].elements.empty()
                  ? "0-0"
                  : newest.elements[0].elements[0].str;
  }
  const absl::Time deadline = options.duration > absl::ZeroDuration()
                                  ? absl::Now() + options.duration
                                  : absl::InfiniteFuture();
  int64_t printed = 0;
  while (!stop.load() && absl::Now() < deadline) {
    const int64_t block_ms = std::max<int64_t>(
        1, std::min<int64_t>(500, absl::ToInt64Milliseconds(deadline - absl::Now())));
    CC_ASSIGN_OR_RETURN(common::RedisReply reply,
                        connection->Command({"XREAD", "COUNT", "100", "BLOCK",
                                             absl::StrCat(block_ms), "STREAMS", key, last_id}));
    if (reply.is_nil() || reply.elements.empty() || reply.elements[0].elements.size() < 2) {
      continue;
    }
    for (const common::RedisReply& entry : reply.elements[0].elements[1].elements) {
      if (entry.elements.empty()) continue;
      last_id = entry.elements[0].str;
      const std::string* bytes = EntryField(entry, "event");
      events::v1::Event event;
      std::string line;
      if (bytes == nullptr || !event.ParseFromString(*bytes)) {
        line = absl::StrCat(last_id, "  (not a contactcentre.events.v1.Event)");
        if (options.format == OutputFormat::kJson) {
          line = absl::StrCat("{\"streamId\":\"", last_id, "\",\"undecodable\":true}");
        }
      } else {
        if (!options.types.empty() &&
            std::find(options.types.begin(), options.types.end(), common::EventTypeName(event)) ==
                options.types.end()) {
          continue;
        }
        line = FormatEvent(last_id, event, options.format);
      }
      std::fprintf(out, "%s\n", line.c_str());
      std::fflush(out);
      ++printed;
      if (options.max_events > 0 && printed >= options.max_events) return printed;
    }
  }
  return printed;
}

}  // namespace contactcentre::ccctl
