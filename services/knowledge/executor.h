// A small fixed pool of threads for blocking work started from gRPC callbacks (the import
// streams' database work), which must not run on gRPC's own callback threads.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace contactcentre::knowledge {

class Executor {
 public:
  explicit Executor(int threads);
  // Runs the queued work, then joins the threads.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `work`; it runs on one of the pool's threads, in submission order per thread.
  void Run(std::function<void()> work);

 private:
  void Loop();

  absl::Mutex mutex_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace contactcentre::knowledge
