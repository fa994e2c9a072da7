#include "tools/sim/scheduler.h"

namespace contactcentre::sim {

Scheduler::Scheduler(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::At(absl::Time when, std::function<void()> task) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return;
  queue_.push(Item{when, next_sequence_++, std::move(task)});
  changed_.SignalAll();
}

void Scheduler::RunPendingNow() {
  absl::MutexLock lock(&mutex_);
  std::vector<Item> items;
  while (!queue_.empty()) {
    items.push_back(std::move(const_cast<Item&>(queue_.top())));
    queue_.pop();
  }
  const absl::Time now = absl::Now();
  for (Item& item : items) {
    item.when = std::min(item.when, now);
    queue_.push(std::move(item));
  }
  changed_.SignalAll();
}

bool Scheduler::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  while (!queue_.empty() || running_ > 0) {
    if (changed_.WaitWithDeadline(&mutex_, deadline)) {
      return queue_.empty() && running_ == 0;
    }
  }
  return true;
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    while (!queue_.empty()) queue_.pop();
    changed_.SignalAll();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void Scheduler::Work() {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      changed_.Wait(&mutex_);
      continue;
    }
    const absl::Time when = queue_.top().when;
    if (when > absl::Now()) {
      changed_.WaitWithDeadline(&mutex_, when);
      continue;
    }
    std::function<void()> task = std::move(const_cast<Item&>(queue_.top()).task);
    queue_.pop();
    ++running_;
    mutex_.Unlock();
    task();
    mutex_.Lock();
    --running_;
    changed_.SignalAll();
  }
}

}  // namespace contactcentre::sim
