// WatchMetrics on gRPC's callback API, for 10,000 subscribers per replica.
//
// One refresher per replica recomputes the counts of every entity over every live window
// (MetricsStore::Count, whatever the number of subscribers) shortly after events were applied
// (Notify) and at least every `idle_refresh` (rolling windows move with time alone). Subscribers
// with the same filter share a *view*: it is rendered once per refresh, and the UPDATE from one
// rendering to the latest is computed once and shared by every subscriber that last sent that
// rendering. One pump thread starts, for each subscriber whose min_interval has passed and
// whose previous write completed, one write of what changed (or a heartbeat). A subscriber holds
// no queue: at most one message in flight and a pointer to the rendering it last sent, so a
// client that does not read costs one message, and its next message merges everything it
// missed (`skipped_updates` counts the periods its write was blocked).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "services/analytics/metrics_store.h"

namespace contactcentre::analytics {

struct WatchOptions {
  // Least time between two recomputations of the counts after events were applied (raised to
  // three times what the last recomputation took).
  absl::Duration refresh_interval = absl::Milliseconds(100);
  // Recompute at least this often without events (rolling windows move).
  absl::Duration idle_refresh = absl::Seconds(1);
  // Default, floor and ceiling of a subscriber's min_interval.
  absl::Duration default_min_interval = absl::Seconds(1);
  absl::Duration min_interval_floor = absl::Milliseconds(250);
  absl::Duration max_min_interval = absl::Seconds(60);
  // A HEARTBEAT is sent after this long without a message.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // How often the pump looks for subscribers due a message.
  absl::Duration pump_tick = absl::Milliseconds(20);
  // Concurrent subscribers per replica; more are refused with RESOURCE_EXHAUSTED.
  int max_subscribers = 10000;
};

// Counters for the benchmark and logs.
struct WatchStats {
  int subscribers = 0;
  int views = 0;
  uint64_t refreshes = 0;
  uint64_t messages_sent = 0;
  uint64_t skipped_updates = 0;
};

class MetricsWatcher {
 public:
  MetricsWatcher(MetricsStore* store, WatchOptions options);
  ~MetricsWatcher();

  // Starts the refresher and the pump (once); Stop ends them and every open stream
  // (UNAVAILABLE).
  void Start();
  void Stop();

  // Events were applied: recompute soon.
  void Notify();

  // The reactor of one WatchMetrics stream (deletes itself when done); request and messages
  // as bytes (WatchMetricsRequest, WatchMetricsResponse), so that a message shared by many
  // subscribers is serialized once.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request);

  int subscribers();
  WatchStats stats();

 private:
  class Subscriber;
  struct View;
  struct Latest {
    std::shared_ptr<const LiveCounts> counts;
    uint64_t version = 0;
  };

  void RefreshLoop();
  void PumpLoop();
  // Renders every view from the latest counts (refresher thread).
  void RenderViews(const Latest& latest);
  std::shared_ptr<View> ViewFor(const v1::MetricsFilter& filter, Selection selection);
  // Adds a stream; false when the replica holds its maximum or is stopping.
  bool Add(const std::shared_ptr<Subscriber>& subscriber);
  void Remove(Subscriber* subscriber);

  MetricsStore& store_;
  const WatchOptions options_;

  absl::Mutex mutex_;
  Latest latest_ ABSL_GUARDED_BY(mutex_);
  bool dirty_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t refreshes_ ABSL_GUARDED_BY(mutex_) = 0;
  // Views by their filter's bytes.
  std::map<std::string, std::weak_ptr<View>> views_ ABSL_GUARDED_BY(mutex_);

  // Open streams; the pump copies the list under this lock and serves them outside it; a
  // stream removes itself when done.
  absl::Mutex subscribers_mutex_;
  std::map<Subscriber*, std::shared_ptr<Subscriber>> subscribers_
      ABSL_GUARDED_BY(subscribers_mutex_);
  std::atomic<uint64_t> messages_sent_{0};
  // Incremented after every rendering of the views.
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> skipped_updates_{0};

  std::thread refresher_;
  std::thread pump_;
};

}  // namespace contactcentre::analytics
