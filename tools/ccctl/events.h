// `ccctl events tail`: follows the suite's event stream (Redis stream cc:{site}:events, see
// common/event_stream.h) and prints one line per event, without joining any consumer group (it
// takes nothing from the services' consumers).
#pragma once

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "contactcentre/events/v1/event.pb.h"
#include "tools/ccctl/output.h"

namespace contactcentre::ccctl {

struct TailOptions {
  common::RedisOptions redis;
  std::string site = "main";
  // Where to start: "$" (only events from now on), "0" (everything the stream retains), a stream
  // entry id ("1764316800000-0", exclusive), or a duration ("10m": the last ten minutes).
  std::string from = "$";
  OutputFormat format = OutputFormat::kTable;
  // Stop after this long (0: until stopped) or after this many events (0: no limit).
  absl::Duration duration = absl::ZeroDuration();
  int64_t max_events = 0;
  // Only events of these payload types ("customer_created"); empty: all.
  std::vector<std::string> types;
};

// The exclusive stream id to read after, for --from; "$" is resolved by the caller.
absl::StatusOr<std::string> StartIdFor(absl::string_view from, absl::Time now);

// "1764316800000-0  2026-11-28T09:00:00.123Z  customer_created  services/customers  {...}" (the
// payload as compact JSON), or with kJson the Event's JSON on one line.
std::string FormatEvent(absl::string_view entry_id, const events::v1::Event& event,
                        OutputFormat format);

// Prints events to `out` until `stop` becomes true (Ctrl-C), the duration passes or max_events
// were printed. Returns how many were printed.
absl::StatusOr<int64_t> TailEvents(const TailOptions& options, const std::atomic<bool>& stop,
                                   std::FILE* out);

}  // namespace contactcentre::ccctl
