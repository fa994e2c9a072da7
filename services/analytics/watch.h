// WatchMetrics: one refresher per replica recomputes the counts of every queue and the site
// over every live window (MetricsStore::Count, whatever the number of subscribers) and each
// subscriber renders its own filter out of the latest counts, sending what changed at most once
// per its min_interval. A subscriber keeps only the values it last sent (never a queue of
// messages): a slow reader's next message merges everything it missed.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "services/analytics/metrics_store.h"

namespace contactcentre::analytics {

struct WatchOptions {
  // How often the counts are recomputed.
  absl::Duration refresh_interval = absl::Milliseconds(500);
  // Default, floor and ceiling of a subscriber's min_interval.
  absl::Duration default_min_interval = absl::Seconds(1);
  absl::Duration min_interval_floor = absl::Milliseconds(250);
  absl::Duration max_min_interval = absl::Seconds(60);
  // A HEARTBEAT is sent after this long without a message.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // Concurrent subscribers per replica; more are refused with RESOURCE_EXHAUSTED.
  int max_subscribers = 10000;
};

class MetricsWatcher {
 public:
  MetricsWatcher(MetricsStore* store, WatchOptions options);
  ~MetricsWatcher();

  // Starts the refresher (once); Stop ends it and every open stream (UNAVAILABLE).
  void Start();
  void Stop();

  // Serves one WatchMetrics stream until the client cancels or the watcher stops.
  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchMetricsRequest& request,
                     grpc::ServerWriter<v1::WatchMetricsResponse>* writer);

  int subscribers();

 private:
  struct Latest {
    std::shared_ptr<const LiveCounts> counts;
    uint64_t version = 0;
  };
  Latest latest();
  // Waits until `deadline` or stop; true when stopping.
  bool WaitUntil(absl::Time deadline);
  void RefreshLoop();

  MetricsStore& store_;
  const WatchOptions options_;
  absl::Mutex mutex_;
  std::shared_ptr<const LiveCounts> counts_ ABSL_GUARDED_BY(mutex_);
  uint64_t version_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  int subscribers_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread refresher_;
};

}  // namespace contactcentre::analytics
