// WatchMetrics on gRPC's callback API, for 10,000 subscribers per replica.
//
// One refresher per replica recomputes the counts of every entity over every live window
// (MetricsStore::Count, whatever the number of subscribers) on a grid of *ticks* (multiples of
// `refresh_interval` since the Unix epoch): at the first tick after events were applied
// (Notify) and at least every `idle_refresh` (rolling windows move with time alone). Subscribers
// with the same filter share a *view*: it is rendered once per refresh, and the UPDATE from one
// rendering to the latest is computed once and shared by every subscriber that last sent that
// rendering. A subscriber's min_interval is a whole number of ticks, and it is due again that
// many ticks after the rendering it last sent: so its messages go out right after the refresh
// they carry (the lag does not include waiting for the subscriber's own slot) and their data
// times are exactly min_interval apart or more. One pump thread, woken by each refresh, starts
// one write of what changed (or a heartbeat) for each subscriber that is due and whose previous
// write completed. A subscriber holds no queue: at most one message in flight and a pointer to
// the rendering it last sent, so a client that does not read costs one message, and its next
// message merges everything it missed (`skipped_updates` counts the periods its write was
// blocked).
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
  // The tick: counts are recomputed at multiples of it, at least this far apart after events
  // were applied (raised to twice what the last recomputation took), and subscribers'
  // min_interval is rounded up to a multiple of it. 125 ms divides the usual periods (250 ms,
  // 500 ms, 1 s) and keeps the wait for the next refresh short.
  absl::Duration refresh_interval = absl::Milliseconds(125);
  // Recompute at least this often without events (rolling windows move).
  absl::Duration idle_refresh = absl::Seconds(1);
  // Default, floor and ceiling of a subscriber's min_interval.
  absl::Duration default_min_interval = absl::Seconds(1);
  absl::Duration min_interval_floor = absl::Milliseconds(250);
  absl::Duration max_min_interval = absl::Seconds(60);
  // A HEARTBEAT is sent after this long without a message.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // How often the pump looks for subscribers due a message besides after each refresh (writes
  // that completed late, heartbeats).
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
    // The refresh's tick (its counts are as of the tick's time).
    int64_t tick = 0;
  };

  int64_t TickOf(absl::Time time) const;
  // Moves the settled tick forward to `tick` (refresher thread).
  void Settle(int64_t tick);
  absl::Time TimeOfTick(int64_t tick) const;

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
  // Renderings of the views so far (wakes the pump).
  uint64_t renderings_ ABSL_GUARDED_BY(mutex_) = 0;
  // Views by their filter's bytes.
  std::map<std::string, std::weak_ptr<View>> views_ ABSL_GUARDED_BY(mutex_);

  // Open streams; the pump copies the list under this lock and serves them outside it; a
  // stream removes itself when done.
  absl::Mutex subscribers_mutex_;
  std::map<Subscriber*, std::shared_ptr<Subscriber>> subscribers_
      ABSL_GUARDED_BY(subscribers_mutex_);
  std::atomic<uint64_t> messages_sent_{0};
  // The latest tick that will get no newer rendering than the latest: the tick of the latest
  // refresh, or a later one that passed without events. Subscribers are due when their tick
  // has settled. `generation_` counts its moves.
  std::atomic<int64_t> settled_tick_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> skipped_updates_{0};

  std::thread refresher_;
  std::thread pump_;
};

}  // namespace contactcentre::analytics
