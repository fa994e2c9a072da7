// The analytics service as a ServiceModule (common/service_main.h): the gRPC service, the
// metrics store, the WatchMetrics hub and the consumer of the site's event stream (group
// "analytics").
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/event_stream.h"
#include "common/service_main.h"
#include "services/analytics/grpc_service.h"
#include "services/analytics/metrics_store.h"
#include "services/analytics/rebuild.h"
#include "services/analytics/watch.h"

namespace contactcentre::analytics {

struct AnalyticsModuleOptions {
  // Time zone of the TODAY window; thresholds of every queue.
  MetricsStoreOptions metrics;
  // How long one read of the event stream blocks (and so how long stopping may take).
  absl::Duration event_read_block = absl::Seconds(1);
  // Consumers of the group in this process, each applying its own entries in parallel (events
  // are order-independent: facts are upserts, each fact counts once, the latest state wins).
  int consumer_threads = 4;
  // Entries pending this long with a consumer are taken over (a dead replica's work).
  absl::Duration claim_min_idle = absl::Seconds(30);
  // WatchMetrics: refresh period, coalescing bounds, subscriber limit.
  WatchOptions watch;
  // RebuildIntervals: the calls service and the job limits.
  RebuildOptions rebuild;
  // How often call facts unchanged for `keep_facts` are deleted; zero disables the pruner.
  absl::Duration prune_interval = absl::Minutes(10);
  absl::Duration keep_facts = absl::Hours(48);
};

class AnalyticsModule final : public common::ServiceModule {
 public:
  // options.metrics.site is taken from the context.
  AnalyticsModule(common::ServiceContext& context, AnalyticsModuleOptions options);
  ~AnalyticsModule() override;

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> HealthServiceNames() override;
  // Starts the consumer of the site's event stream, the refresher of live figures and the
  // pruner of old call facts.
  void OnReady() override;
  void OnShutdown() override;

  MetricsStore& metrics() { return metrics_; }
  // The first consumer (tests poll it by hand; the others only run after OnReady).
  common::EventConsumer& consumer() { return *consumers_.front(); }
  MetricsWatcher& watcher() { return watcher_; }
  IntervalRebuilder& rebuilder() { return rebuilder_; }

 private:
  MetricsStore metrics_;
  MetricsWatcher watcher_;
  IntervalRebuilder rebuilder_;
  AnalyticsGrpcService service_;
  std::vector<std::unique_ptr<common::EventConsumer>> consumers_;
  const absl::Duration prune_interval_;
  const absl::Duration keep_facts_;
  absl::Mutex prune_mutex_;
  bool stopping_ ABSL_GUARDED_BY(prune_mutex_) = false;
  std::thread pruner_;
};

}  // namespace contactcentre::analytics
