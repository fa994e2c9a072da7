// RebuildIntervals and its jobs (GetIntervalRebuild, ListIntervalRebuilds,
// CancelIntervalRebuild): the call columns of stored 15-minute intervals recomputed from the
// calls service's records (calls.v1.ListCalls) with the settings in force now.
//
// A call record gives the same facts as its events: offered at its queue_time, answered at
// connect_time after wait_duration, abandoned at end_time after wait_duration, handled at
// wrap_up_time (state COMPLETED) with talk + hold + wrap-up, transferred at end_time, wrap-up
// timed out at wrap_up_time (missing_wrap_up); counted for its first queue (original_queue),
// team and operator, inbound calls only. Operator time (occupancy) and survey answers are not in
// call records and stay as they are.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "services/analytics/metrics_store.h"

namespace contactcentre::analytics {

struct RebuildOptions {
  // The calls service (host:port, a list of replicas or dns:///name:port).
  std::string calls_address = "127.0.0.1:50051";
  // Calls offered this long before the range are read too (their facts may fall in it).
  absl::Duration lookback = absl::Hours(24);
  // Rebuilds running at once on this replica.
  int max_running = 4;
};

class IntervalRebuilder {
 public:
  IntervalRebuilder(MetricsStore* store, RebuildOptions options);
  ~IntervalRebuilder();

  absl::StatusOr<v1::IntervalRebuild> Start(const v1::RebuildIntervalsRequest& request,
                                            absl::Time now);
  absl::StatusOr<v1::IntervalRebuild> Get(const v1::GetIntervalRebuildRequest& request);
  absl::StatusOr<v1::ListIntervalRebuildsResponse> List(
      const v1::ListIntervalRebuildsRequest& request);
  absl::StatusOr<v1::IntervalRebuild> Cancel(const v1::CancelIntervalRebuildRequest& request);

  // Stops the running jobs (they end FAILED with UNAVAILABLE; nothing of theirs is stored) and
  // waits for their threads.
  void Stop();
  // Blocks until no job of this replica runs (tests).
  void AwaitIdle();

 private:
  void Run(const std::string& id);
  absl::Status Execute(const std::string& id);
  absl::StatusOr<v1::IntervalRebuild> Load(const std::string& id);

  MetricsStore& store_;
  const RebuildOptions options_;
  std::unique_ptr<calls::v1::CallsService::Stub> calls_;
  absl::Mutex mutex_;
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace contactcentre::analytics
