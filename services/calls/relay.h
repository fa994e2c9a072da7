// The change relay: reads the live side's change log (Redis stream "cc:{site}:calls:log",
// JSON written by the scripts) in the consumer group "calls-relay", and for each batch
//   1. writes the call records and help requests to PostgreSQL (one transaction, each row
//      only replaced by a later change),
//   2. publishes the public events (contactcentre.events.v1.Event) to the site's event stream,
//      with ids derived from the change's log position, so a replay publishes the same ids,
//   3. acknowledges the batch.
// A relay that dies anywhere in between leaves the batch pending; another replica's relay
// claims it and repeats it with the same effect.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_stream.h"
#include "common/pg_pool.h"
#include "common/redis.h"
#include "contactcentre/events/v1/event.pb.h"

namespace contactcentre::calls {

// One change of the log: its position and its JSON decoded.
// A script's changes share one entry of the log, which carries each changed call's snapshot
// (as the script left it) once; every change of that call shares it (SnapshotOf).
struct Change {
  std::string entry_id;  // "1795835074759-3"
  int sub = 0;           // the change's place within its entry
  google::protobuf::Struct fields;
  // The call's snapshot from its entry; null for changes that carry their own "snap" field
  // (help requests) or none.
  std::shared_ptr<const google::protobuf::Struct> call_snapshot;
};

// The snapshot a change carries: its call's, its own "snap" field, or an empty one.
const google::protobuf::Struct& SnapshotOf(const Change& change);

// The changes of a reply of XREADGROUP, XREAD or XAUTOCLAIM (its entries), in log order.
std::vector<Change> ParseChanges(const common::RedisReply& entries);

// The public events a change stands for (none for internal steps such as an accepted offer).
std::vector<events::v1::Event> EventsOfChange(const Change& change, absl::string_view site);

// The deterministic event id of the `index`-th event of the change at `entry_id`.
std::string EventIdOf(absl::string_view site, absl::string_view entry_id, int index);

class ChangeRelay {
 public:
  struct Options {
    std::string site;
    std::string consumer;  // this replica's name in the group
    int batch_size = 500;
    absl::Duration block = absl::Milliseconds(200);
    absl::Duration claim_min_idle = absl::Seconds(10);
  };

  ChangeRelay(common::PgPool* pg, common::RedisClient* redis,
              const common::EventPublisher* publisher, Options options);
  ~ChangeRelay();

  absl::Status EnsureGroup();
  // Takes over stale pending changes, then reads new ones (blocking up to `block`), and
  // applies them. Returns how many changes were applied.
  absl::StatusOr<int> PollOnce();
  void Start();
  void Stop();

 private:
  absl::Status Apply(const std::vector<Change>& changes);
  // Drops the log entries the relay is done with (a minute of history is kept for the views).
  absl::Status TrimLog();

  common::PgPool* pg_;
  common::RedisClient* redis_;
  const common::EventPublisher* publisher_;
  const Options options_;
  const std::string log_key_;
  std::unique_ptr<common::RedisConnection> blocking_;
  absl::Time next_claim_ = absl::InfinitePast();
  absl::Time next_trim_ = absl::InfinitePast();
  // Set when a poll failed: its batch may be pending on this consumer (only the relay's thread
  // touches it).
  bool retry_own_pending_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace contactcentre::calls
