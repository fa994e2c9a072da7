// Heartbeats gathered into one script per short window. Ten thousand operators beating every
// 5 s are 2,000 heartbeats a second; run one by one, each costs the replica a Redis round trip
// (a blocking read: two context switches) and Redis a command of its own. Gathered for a few
// milliseconds (nothing of a heartbeat's answer is urgent: the desktop beats again seconds later)
// they share one EVALSHA, and each is answered with its own result.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

struct HeartbeatBatcherOptions {
  // How long the first heartbeat of a batch waits for others to join it. Zero runs each alone.
  absl::Duration window = absl::Milliseconds(20);
  // A batch this large goes at once (one script must not hold Redis for long).
  int max_batch = 256;
  // How far each heartbeat moves the operator's deadline.
  absl::Duration heartbeat_timeout = absl::Seconds(30);
};

class HeartbeatBatcher {
 public:
  // The script's answer for one heartbeat ({op, snap}, as the single script gave), or its error
  // (NOT_FOUND for an unknown operator, FAILED_PRECONDITION SESSION_MISMATCH, UNAVAILABLE).
  using Done = std::function<void(absl::StatusOr<google::protobuf::Struct>)>;

  HeartbeatBatcher(Router* router, HeartbeatBatcherOptions options);
  // Answers every heartbeat still waiting, then stops.
  ~HeartbeatBatcher();
  HeartbeatBatcher(const HeartbeatBatcher&) = delete;
  HeartbeatBatcher& operator=(const HeartbeatBatcher&) = delete;

  // `done` runs once, on the batcher's thread (or this one, with a zero window).
  void Beat(std::string operator_id, std::string session_id, Done done);

 private:
  struct Pending {
    std::string operator_id;
    std::string session_id;
    Done done;
  };

  void Loop();
  void Run(std::vector<Pending> batch);

  Router* const router_;
  const HeartbeatBatcherOptions options_;
  absl::Mutex mutex_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mutex_);
  absl::Time first_pending_at_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace contactcentre::calls
