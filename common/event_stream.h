// The suite's event stream on Redis: a producer and a consumer-group consumer.
//
// Events (contactcentre.events.v1.Event) go to one stream per site, "cc:{site}:events" (the
// braces are a Redis Cluster hash tag: every key of a site lives in one slot, so Lua scripts
// may touch the stream together with the site's other keys). Each entry has two fields:
// "type" (the payload case, e.g. "call_offered") and "event" (the serialized Event).
//
// Delivery is at least once: a consumer acknowledges an entry only after its handler applied
// it, entries left pending by a consumer that died are claimed by another after
// `claim_min_idle`, and an entry that fails `max_deliveries` times moves to the dead-letter
// stream "cc:{site}:events:dead" so it cannot block the group. Handlers make the effect exactly
// once by deduplicating on Event.id (see common/processed_events.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "contactcentre/events/v1/event.pb.h"

namespace contactcentre::common {

// "cc:{site}:events".
std::string EventStreamKey(absl::string_view site);
// "cc:{site}:events:dead".
std::string DeadLetterStreamKey(absl::string_view site);
// The payload case name of `event`, e.g. "call_offered"; "" when no payload is set.
std::string EventTypeName(const events::v1::Event& event);

class EventPublisher {
 public:
  struct Options {
    std::string site;
    // e.g. "services/calls".
    std::string producer;
    // The stream is trimmed to about this many entries (XADD MAXLEN ~), so it cannot fill
    // Redis; consumers must keep up within that many events.
    int64_t max_length = 1'000'000;
  };

  EventPublisher(RedisClient* redis, Options options);

  // Fills id (a new UUIDv7), occurred_at (now), site and producer where unset; INVALID_ARGUMENT
  // when no payload is set. Returns the serialized event.
  absl::StatusOr<std::string> Prepare(events::v1::Event& event) const;

  // The XADD command for a prepared event, for callers that publish inside their own pipeline
  // or Lua script so that the event and the state change are one atomic step.
  std::vector<std::string> XaddCommand(const events::v1::Event& event,
                                       const std::string& serialized) const;

  // Prepares and appends one event; returns the stream entry id.
  absl::StatusOr<std::string> Publish(events::v1::Event& event) const;

  // Prepares and appends several events in one round trip.
  absl::Status PublishBatch(std::vector<events::v1::Event>& events) const;

  const std::string& stream_key() const { return stream_key_; }
  RedisClient* redis() const { return redis_; }

 private:
  RedisClient* redis_;
  const Options options_;
  const std::string stream_key_;
};

struct EventConsumerOptions {
  std::string site;
  // The consumer group: one per consuming service, e.g. "analytics".
  std::string group;
  // This consumer's name within the group; default "<host>-<pid>-<random>".
  std::string consumer;
  int batch_size = 100;
  // How long one read blocks waiting for new entries.
  absl::Duration block = absl::Seconds(1);
  // Entries pending longer than this are taken over from their consumer.
  absl::Duration claim_min_idle = absl::Seconds(30);
  // How often to look for such entries.
  absl::Duration claim_interval = absl::Seconds(5);
  // Deliveries after which an entry goes to the dead-letter stream.
  int max_deliveries = 10;
  // Where a new group starts: "0" (the whole retained history) or "$" (only new events).
  std::string start_id = "0";
  // Other consumers of the group with nothing pending and idle this long are deleted (each
  // restarted process joins under a new name).
  absl::Duration forget_idle_consumers_after = absl::Hours(1);
};

class EventConsumer {
 public:
  // Applies one event. OK acknowledges it; an error leaves it pending for a retry.
  using Handler = std::function<absl::Status(const events::v1::Event& event)>;

  EventConsumer(RedisClient* redis, EventConsumerOptions options, Handler handler);
  ~EventConsumer();
  EventConsumer(const EventConsumer&) = delete;
  EventConsumer& operator=(const EventConsumer&) = delete;

  // Creates the stream and the group if missing.
  absl::Status EnsureGroup();

  // Claims stale pending entries (when `claim_interval` has passed since the last look, or
  // always if `force_claim`), then reads new entries, blocking up to `block`; applies each and
  // acknowledges the applied ones. Returns how many were applied.
  absl::StatusOr<int> PollOnce(bool force_claim = false);

  // Runs EnsureGroup and PollOnce in a background thread until Stop, backing off on errors.
  // Start once; do not call PollOnce while the thread runs. A stopped consumer stays stopped.
  void Start();
  void Stop();

  const std::string& consumer_name() const { return options_.consumer; }

 private:
  absl::StatusOr<int> ClaimStale();
  absl::Status ForgetIdleConsumers();
  absl::StatusOr<int> ApplyEntries(const RedisReply& entries);
  absl::Status DeadLetter(absl::string_view entry_id, absl::string_view reason,
                          const RedisReply* fields);

  RedisClient* redis_;
  EventConsumerOptions options_;
  const Handler handler_;
  const std::string stream_key_;
  std::unique_ptr<RedisConnection> blocking_connection_;
  absl::Time next_claim_ = absl::InfinitePast();
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace contactcentre::common
