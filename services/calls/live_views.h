// The live views: WatchOperatorEvents (one operator's desktop), WatchOperators and WatchQueues
// (supervisors, wallboards). Every replica tails the site's change log (the scripts append
// every change to it) and feeds its own subscribers, so a stream may be opened on any replica.
//
// Each stream starts with a snapshot read from Redis, then follows the log. Operator event
// streams queue their events (bounded: a desktop that stops reading gets a fresh snapshot
// instead of a backlog); supervisor views coalesce: they hold the latest state of each changed
// operator or queue and send it at most once per min_update_interval.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "contactcentre/calls/v1/calls_service.pb.h"
#include "services/calls/relay.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

class LiveViews;

// Reads the live state the views show.
class LiveState {
 public:
  explicit LiveState(const Router* router) : router_(router) {}
  absl::StatusOr<v1::OperatorPresence> Presence(absl::string_view operator_id) const;
  // "teams/{id}" of the teams whose help requests the operator's desktop follows: those whose
  // supervisors list them, and their own team when their role is SUPERVISOR or ADMIN.
  absl::StatusOr<std::vector<std::string>> SupervisedTeams(absl::string_view operator_id) const;
  absl::StatusOr<v1::Call> LiveCall(absl::string_view call_id) const;
  // The queue's live status with up to `head` waiting calls; NOT_FOUND for an unknown queue.
  // `open_change_ms`, when given, is set to when `open` changes next by the opening hours
  // (Unix ms; 0 when it does not within the known horizon).
  absl::StatusOr<v1::QueueStatus> QueueStatus(absl::string_view queue_id, int head,
                                              int64_t* open_change_ms = nullptr) const;
  // Every operator of the site with a presence hash, and every queue.
  absl::StatusOr<std::vector<std::string>> OperatorIds() const;
  absl::StatusOr<std::vector<std::string>> QueueIds() const;

 private:
  const Router* router_;
};

// A subscriber of the change log.
class LiveSubscriber {
 public:
  virtual ~LiveSubscriber() = default;
  virtual void OnChange(const Change& change) = 0;
  // Called every tick (about 50 ms) on the views' thread, for coalescing subscribers.
  virtual void OnTick() {}
  // Ends the subscriber's stream (the replica is shutting down).
  virtual void End(const grpc::Status& status) = 0;
};

class LiveViews {
 public:
  LiveViews(const Router* router, std::string site);
  ~LiveViews();

  void Start();
  // Ends every stream (UNAVAILABLE: the client reconnects to another replica) and the tail.
  void Stop();

  void Subscribe(LiveSubscriber* subscriber);
  void Unsubscribe(LiveSubscriber* subscriber);

  const LiveState& state() const { return state_; }
  bool stopping() const { return stopping_.load(); }

  grpc::ServerWriteReactor<v1::OperatorEvent>* WatchOperatorEvents(
      grpc::CallbackServerContext* context, const v1::WatchOperatorEventsRequest& request);
  grpc::ServerWriteReactor<v1::WatchOperatorsResponse>* WatchOperators(
      grpc::CallbackServerContext* context, const v1::WatchOperatorsRequest& request);
  grpc::ServerWriteReactor<v1::WatchQueuesResponse>* WatchQueues(
      grpc::CallbackServerContext* context, const v1::WatchQueuesRequest& request);

 private:
  void Tail();

  const Router* router_;
  const std::string log_key_;
  LiveState state_;
  absl::Mutex mutex_;
  std::set<LiveSubscriber*> subscribers_ ABSL_GUARDED_BY(mutex_);
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace contactcentre::calls
