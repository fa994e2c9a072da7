// A timer wheel in its simplest form: tasks run at their time on a few worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace contactcentre::sim {

class Scheduler {
 public:
  explicit Scheduler(int threads);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void At(absl::Time when, std::function<void()> task);
  void After(absl::Duration delay, std::function<void()> task) {
    At(absl::Now() + delay, std::move(task));
  }
  // Makes every queued task due now (the run is ending: what was planned happens at once).
  void RunPendingNow();
  // Waits until no task is queued or running, or `deadline` passes; true when idle.
  bool WaitIdle(absl::Time deadline);
  // Drops what is queued and joins the workers (a running task finishes first).
  void Stop();

 private:
  struct Item {
    absl::Time when;
    uint64_t sequence;
    std::function<void()> task;
    bool operator>(const Item& other) const {
      return when != other.when ? when > other.when : sequence > other.sequence;
    }
  };
  void Work();

  absl::Mutex mutex_;
  absl::CondVar changed_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace contactcentre::sim
