// A transactional outbox: events that describe a PostgreSQL change are written in the same
// transaction as the change and published to the Redis stream after commit by a relay. A
// process that dies between commit and publish loses nothing: any replica's relay publishes
// the rows later. Delivery is at least once (a relay that dies after publishing and before
// deleting publishes again); consumers deduplicate by event id, as they must anyway.
//
//   pool.Transact([&](pqxx::work& txn) {
//     ... the change ...
//     return EnqueueEvent(txn, publisher, event);
//   });
//   relay.Notify();  // publish now rather than at the next poll
#pragma once

#include <atomic>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/event_stream.h"
#include "common/pg_pool.h"

namespace contactcentre::common {

// Prepares `event` (id, time, site, producer; see EventPublisher::Prepare) and adds it to the
// outbox within `txn`.
absl::Status EnqueueEvent(pqxx::work& txn, const EventPublisher& publisher,
                          events::v1::Event& event);

// Adds many events with one statement.
absl::Status EnqueueEvents(pqxx::work& txn, const EventPublisher& publisher,
                           std::vector<events::v1::Event>& events);

class OutboxRelay {
 public:
  struct Options {
    int batch_size = 500;
    // How often to look for rows when not notified (rows of other replicas, retries).
    absl::Duration poll_interval = absl::Milliseconds(200);
  };

  OutboxRelay(PgPool* pg, const EventPublisher* publisher, Options options);
  ~OutboxRelay();

  // Publishes up to one batch of rows in order and deletes them, in one transaction (rows
  // locked by another replica's relay are skipped). Returns how many were published.
  absl::StatusOr<int> RelayOnce();

  // Runs RelayOnce in a background thread until Stop: at once after Notify, else every poll.
  void Start();
  void Stop();
  void Notify();

 private:
  PgPool* pg_;
  const EventPublisher* publisher_;
  const Options options_;
  absl::Mutex mutex_;
  bool notified_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace contactcentre::common
