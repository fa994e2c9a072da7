#include "common/outbox.h"

#include "common/log.h"
#include "common/status.h"

namespace contactcentre::common {

absl::Status EnqueueEvent(pqxx::work& txn, const EventPublisher& publisher,
                          events::v1::Event& event) {
  std::vector<events::v1::Event> events;
  events.push_back(std::move(event));
  absl::Status status = EnqueueEvents(txn, publisher, events);
  event = std::move(events.front());
  return status;
}

absl::Status EnqueueEvents(pqxx::work& txn, const EventPublisher& publisher,
                           std::vector<events::v1::Event>& events) {
  if (events.empty()) return absl::OkStatus();
  try {
    // COPY is the cheapest way in for many rows (imports enqueue one event per row).
    pqxx::stream_to stream(txn, "outbox", std::vector<std::string>{"type", "event"});
    for (events::v1::Event& event : events) {
      CC_ASSIGN_OR_RETURN(std::string serialized, publisher.Prepare(event));
      // COPY text format takes bytea as its hex form.
      stream << std::make_tuple(
          EventTypeName(event),
          txn.esc_raw(reinterpret_cast<const unsigned char*>(serialized.data()),
                      serialized.size()));
    }
    stream.complete();
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException();
  }
}

OutboxRelay::OutboxRelay(PgPool* pg, const EventPublisher* publisher, Options options)
    : pg_(pg), publisher_(publisher), options_(options) {}

OutboxRelay::~OutboxRelay() { Stop(); }

absl::StatusOr<int> OutboxRelay::RelayOnce() {
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<int> {
    pqxx::result rows = txn.exec_params(
        "SELECT seq, type, event FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        options_.batch_size);
    if (rows.empty()) return 0;
    std::vector<std::vector<std::string>> commands;
    commands.reserve(rows.size());
    std::string sequence_list = "{";
    for (const auto& row : rows) {
      events::v1::Event event;
      const pqxx::binarystring serialized(row[2]);
      // The type column spares a parse, but the XADD carries the stored bytes unchanged.
      event.ParseFromString(serialized.str());
      commands.push_back(publisher_->XaddCommand(event, serialized.str()));
      if (sequence_list.size() > 1) sequence_list.push_back(',');
      sequence_list.append(row[0].c_str());
    }
    sequence_list.push_back('}');
    CC_ASSIGN_OR_RETURN(auto replies, publisher_->redis()->Pipeline(commands));
    for (const auto& reply : replies) CC_RETURN_IF_ERROR(reply.status());
    txn.exec_params("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", sequence_list);
    return static_cast<int>(rows.size());
  });
}

void OutboxRelay::Start() {
  thread_ = std::thread([this] {
    absl::Duration backoff = options_.poll_interval;
    while (true) {
      absl::StatusOr<int> relayed = RelayOnce();
      if (!relayed.ok()) {
        LogWarning("outbox relay failed; retrying", {{"error", relayed.status()}});
        backoff = std::min(backoff * 2, absl::Seconds(5));
      } else {
        backoff = options_.poll_interval;
      }
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      // A full batch means more may be waiting: go again at once.
      if (relayed.ok() && *relayed == options_.batch_size) continue;
      auto woken = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return notified_ || stopping_; };
      mutex_.AwaitWithTimeout(absl::Condition(&woken), backoff);
      notified_ = false;
      if (stopping_) return;
    }
  });
}

void OutboxRelay::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void OutboxRelay::Notify() {
  absl::MutexLock lock(&mutex_);
  notified_ = true;
}

}  // namespace contactcentre::common
