#include "services/calls/live_views.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/calls/opening_hours.h"
#include "services/calls/snapshot.h"

namespace contactcentre::calls {
namespace {

// A server stream fed from the views' thread: messages wait in a queue and are written one at
// a time, as the callback API requires.
template <typename Message>
class QueuedStream : public grpc::ServerWriteReactor<Message>, public LiveSubscriber {
 public:
  explicit QueuedStream(LiveViews* views) : views_(views) {}

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    if (subscribed_) views_->Unsubscribe(this);
    delete this;
  }

  void End(const grpc::Status& status) override { Fail(status); }

 protected:
  // Starts the stream: `first` messages (a snapshot), then the changes.
  void Begin(std::vector<Message> first) {
    {
      absl::MutexLock lock(&mutex_);
      for (Message& message : first) queue_.push_back(std::move(message));
      if (!writing_) WriteNextLocked();
    }
    subscribed_ = true;
    views_->Subscribe(this);
  }

  void Fail(const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    FinishLocked(status);
  }

  void Send(Message message) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    if (finished_) return;
    queue_.push_back(std::move(message));
    // One write at a time: a write in flight continues with the queue from OnWriteDone.
    if (!writing_) WriteNextLocked();
  }

  // After the queued messages are written.
  void FinishAfterQueue(const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    finish_after_queue_ = status;
    finish_pending_ = true;
    if (!writing_) FinishLocked(status);
  }

  size_t Queued() {
    absl::MutexLock lock(&mutex_);
    return queue_.size();
  }

  void ClearQueue() {
    absl::MutexLock lock(&mutex_);
    queue_.clear();
  }

  LiveViews* views_;

 private:
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    if (queue_.empty()) {
      writing_ = false;
      if (finish_pending_) FinishLocked(finish_after_queue_);
      return;
    }
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    this->StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    this->Finish(status);
  }

  absl::Mutex mutex_;
  std::deque<Message> queue_ ABSL_GUARDED_BY(mutex_);
  Message current_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status finish_after_queue_ ABSL_GUARDED_BY(mutex_);
  bool subscribed_ = false;
};

constexpr size_t kMaxQueuedOperatorEvents = 1000;

class OperatorEventsStream final : public QueuedStream<v1::OperatorEvent> {
 public:
  OperatorEventsStream(LiveViews* views, const v1::WatchOperatorEventsRequest& request)
      : QueuedStream(views), operator_id_(IdOf(request.operator_(), "operators")) {
    if (operator_id_.empty()) {
      Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "invalid operator: must be operators/{id}"));
      return;
    }
    absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(operator_id_);
    if (!presence.ok()) {
      Fail(common::ToGrpcStatus(presence.status()));
      return;
    }
    if (presence->state() == v1::OPERATOR_STATE_OFFLINE ||
        presence->session_id() != request.session_id()) {
      Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "SESSION_MISMATCH: the session is not live: log in with SetPresence "
                        "first"));
      return;
    }
    session_ = request.session_id();
    // A supervisor's desktop also follows the help requests of their team.
    if (auto teams = views_->state().SupervisedTeams(operator_id_); teams.ok()) {
      supervised_teams_ = *std::move(teams);
    }
    Begin({Snapshot(*presence)});
  }

  void OnChange(const Change& change) override {
    const std::string kind = Field(change.fields, "t");
    const std::string op = Field(change.fields, "op");
    const google::protobuf::Struct& snap = SnapshotOf(change);
    v1::OperatorEvent event;
    event.set_event_id(absl::StrCat(change.entry_id, "/", change.sub));
    *event.mutable_occur_time() = common::TimestampFromMicros(IntField(change.fields, "at") * 1000);
    if (kind == "operator_state" && op == operator_id_) {
      absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(operator_id_);
      if (!presence.ok()) return;
      *event.mutable_presence_changed() = *presence;
      Deliver(std::move(event));
      if (presence->state() == v1::OPERATOR_STATE_OFFLINE) {
        FinishAfterQueue(grpc::Status::OK);
      } else if (presence->session_id() != session_) {
        FinishAfterQueue(grpc::Status(grpc::StatusCode::ABORTED,
                                      "SESSION_TAKEN_OVER: another session of the operator "
                                      "logged in"));
      }
      return;
    }
    if (kind == "call_reserved" && op == operator_id_) {
      const v1::Call call = CallFromSnapshot(Field(change.fields, "call"), snap);
      auto* offered = event.mutable_reservation_offered();
      if (!call.reservations().empty()) {
        *offered->mutable_reservation() = *call.reservations().rbegin();
      }
      *offered->mutable_call() = call;
      Deliver(std::move(event));
      return;
    }
    if ((kind == "reservation_cancelled" || kind == "reservation_timed_out") &&
        op == operator_id_) {
      v1::Reservation reservation;
      reservation.set_name(CallName(Field(change.fields, "res")));
      reservation.set_operator_(OperatorName(op));
      reservation.set_state(kind == "reservation_cancelled" ? v1::RESERVATION_STATE_CANCELLED
                                                            : v1::RESERVATION_STATE_EXPIRED);
      reservation.set_reason(Field(change.fields, "reason"));
      if (kind == "reservation_cancelled") {
        *event.mutable_reservation_cancelled() = reservation;
      } else {
        *event.mutable_reservation_expired() = reservation;
      }
      Deliver(std::move(event));
      return;
    }
    if (kind.rfind("help_", 0) == 0) {
      const v1::HelpRequest help = HelpRequestFromSnapshot(Field(change.fields, "help"), snap);
      if (op == operator_id_ || std::find(supervised_teams_.begin(), supervised_teams_.end(),
                                          help.team()) != supervised_teams_.end()) {
        *event.mutable_help_request_updated() = help;
        Deliver(std::move(event));
      }
      return;
    }
    if (kind != "operator_state" && Field(snap, "op") == operator_id_ && kind != "call_reserved") {
      *event.mutable_call_updated() = CallFromSnapshot(Field(change.fields, "call"), snap);
      Deliver(std::move(event));
    }
  }

 private:
  v1::OperatorEvent Snapshot(const v1::OperatorPresence& presence) {
    v1::OperatorEvent event;
    event.set_event_id("snapshot");
    *event.mutable_occur_time() = common::TimestampFromTime(absl::Now());
    v1::OperatorSnapshot* snapshot = event.mutable_snapshot();
    *snapshot->mutable_presence() = presence;
    const std::string call_id = IdOf(presence.current_call(), "calls");
    if (!call_id.empty()) {
      absl::StatusOr<v1::Call> call = views_->state().LiveCall(call_id);
      if (call.ok()) {
        if (presence.state() == v1::OPERATOR_STATE_RESERVED) {
          auto* pending = snapshot->mutable_pending_reservation();
          if (!call->reservations().empty())
            *pending->mutable_reservation() = *call->reservations().rbegin();
          *pending->mutable_call() = *call;
        } else {
          *snapshot->mutable_current_call() = *call;
        }
      }
    }
    return event;
  }

  // A desktop that stops reading gets one fresh snapshot instead of an unbounded backlog.
  void Deliver(v1::OperatorEvent event) {
    if (Queued() >= kMaxQueuedOperatorEvents) {
      ClearQueue();
      absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(operator_id_);
      if (presence.ok()) Send(Snapshot(*presence));
      return;
    }
    Send(std::move(event));
  }

  const std::string operator_id_;
  std::string session_;
  std::vector<std::string> supervised_teams_;  // "teams/{id}", read when the stream opens
};

absl::Duration UpdateInterval(const google::protobuf::Duration& requested) {
  if (requested.seconds() == 0 && requested.nanos() == 0) return absl::Seconds(1);
  return std::max(absl::Milliseconds(100),
                  absl::Seconds(requested.seconds()) + absl::Nanoseconds(requested.nanos()));
}

// Supervisor views: the latest state of each changed item, at most once per interval.
template <typename Message>
class CoalescingStream : public QueuedStream<Message> {
 public:
  CoalescingStream(LiveViews* views, absl::Duration interval)
      : QueuedStream<Message>(views), interval_(interval) {}

  void OnTick() override {
    if (dirty_.empty() || absl::Now() < next_flush_) return;
    // A slow client is sent the newest state only: while earlier updates wait, new ones are
    // held back as dirty marks, never queued behind them.
    if (this->Queued() > 0) return;
    std::set<std::string> dirty;
    dirty.swap(dirty_);
    for (const std::string& id : dirty) Flush(id);
    next_flush_ = absl::Now() + interval_;
  }

 protected:
  void MarkDirty(const std::string& id) { dirty_.insert(id); }
  virtual void Flush(const std::string& id) = 0;

 private:
  const absl::Duration interval_;
  absl::Time next_flush_ = absl::InfinitePast();
  std::set<std::string> dirty_;  // touched only on the views' thread
};

class OperatorsStream final : public CoalescingStream<v1::WatchOperatorsResponse> {
 public:
  OperatorsStream(LiveViews* views, const v1::WatchOperatorsRequest& request,
                  const std::string& site)
      : CoalescingStream(views, UpdateInterval(request.min_update_interval())), request_(request) {
    if (request.site().empty()) {
      Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid site: required"));
      return;
    }
    if (request.site() != site) {
      Fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("this replica serves site ", site)));
      return;
    }
    absl::StatusOr<std::vector<std::string>> ids = views_->state().OperatorIds();
    if (!ids.ok()) {
      Fail(common::ToGrpcStatus(ids.status()));
      return;
    }
    std::vector<v1::WatchOperatorsResponse> snapshot;
    snapshot.emplace_back();
    for (const std::string& id : *ids) {
      absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(id);
      if (!presence.ok() || !Matches(*presence)) continue;
      shown_.insert(id);
      if (snapshot.back().snapshot().presences_size() >= 200) snapshot.emplace_back();
      *snapshot.back().mutable_snapshot()->add_presences() = *presence;
    }
    snapshot.back().mutable_snapshot()->set_last(true);
    Begin(std::move(snapshot));
  }

  void OnChange(const Change& change) override {
    if (Field(change.fields, "t") == "operator_state") MarkDirty(Field(change.fields, "op"));
  }

 private:
  bool Matches(const v1::OperatorPresence& presence) const {
    if (!request_.include_offline() && presence.state() == v1::OPERATOR_STATE_OFFLINE) return false;
    if (!request_.team().empty() && presence.team() != request_.team()) return false;
    if (!request_.queue().empty() && std::find(presence.queues().begin(), presence.queues().end(),
                                               request_.queue()) == presence.queues().end()) {
      return false;
    }
    return true;
  }

  void Flush(const std::string& id) override {
    absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(id);
    if (!presence.ok()) return;
    v1::WatchOperatorsResponse update;
    if (Matches(*presence)) {
      shown_.insert(id);
      *update.mutable_changed() = *presence;
    } else if (shown_.erase(id) > 0) {
      update.set_removed(OperatorName(id));
    } else {
      return;
    }
    Send(std::move(update));
  }

  const v1::WatchOperatorsRequest request_;
  std::set<std::string> shown_;
};

class QueuesStream final : public CoalescingStream<v1::WatchQueuesResponse> {
 public:
  QueuesStream(LiveViews* views, const v1::WatchQueuesRequest& request, const std::string& site)
      : CoalescingStream(views, UpdateInterval(request.min_update_interval())),
        head_(std::clamp(request.max_waiting_calls(), 0, 50)) {
    if (request.site().empty()) {
      Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid site: required"));
      return;
    }
    if (request.site() != site) {
      Fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("this replica serves site ", site)));
      return;
    }
    std::vector<std::string> ids;
    if (request.queues().empty()) {
      absl::StatusOr<std::vector<std::string>> all = views_->state().QueueIds();
      if (!all.ok()) {
        Fail(common::ToGrpcStatus(all.status()));
        return;
      }
      ids = *all;
    } else {
      for (const std::string& name : request.queues()) ids.push_back(IdOf(name, "queues"));
    }
    v1::WatchQueuesResponse snapshot;
    for (const std::string& id : ids) {
      absl::StatusOr<v1::QueueStatus> status =
          views_->state().QueueStatus(id, head_, &open_changes_[id]);
      if (!status.ok()) {
        Fail(common::ToGrpcStatus(status.status()));
        return;
      }
      watched_.insert(id);
      *snapshot.mutable_snapshot()->add_queues() = *status;
    }
    snapshot.mutable_snapshot()->set_last(true);
    Begin({snapshot});
  }

  // A queue opening or closing by its opening hours changes no state in Redis: it is sent
  // when the time comes.
  void OnTick() override {
    const int64_t now = absl::ToUnixMillis(absl::Now());
    for (auto& [id, at] : open_changes_) {
      if (at > 0 && now >= at) {
        at = 0;
        MarkDirty(id);
      }
    }
    CoalescingStream::OnTick();
  }

  void OnChange(const Change& change) override {
    const std::string queue = Field(SnapshotOf(change), "queue");
    if (watched_.count(queue) > 0) MarkDirty(queue);
    if (Field(change.fields, "t") == "operator_state") {
      for (const std::string& id : watched_) MarkDirty(id);  // staffing figures changed
    }
  }

 private:
  void Flush(const std::string& id) override {
    absl::StatusOr<v1::QueueStatus> status =
        views_->state().QueueStatus(id, head_, &open_changes_[id]);
    if (!status.ok()) return;
    v1::WatchQueuesResponse update;
    *update.mutable_changed() = *status;
    Send(std::move(update));
  }

  const int head_;
  std::set<std::string> watched_;
  std::map<std::string, int64_t> open_changes_;  // queue id -> next opening or closing (ms)
};

}  // namespace

absl::StatusOr<v1::OperatorPresence> LiveState::Presence(absl::string_view operator_id) const {
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct snap, router_->Read("op", operator_id));
  if (Field(snap, "team").empty() && Field(snap, "state").empty()) {
    return absl::NotFoundError(absl::StrCat("operator operators/", operator_id, " does not exist"));
  }
  return PresenceFromSnapshot(operator_id, snap);
}

absl::StatusOr<std::vector<std::string>> LiveState::SupervisedTeams(
    absl::string_view operator_id) const {
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct snap, router_->Read("op", operator_id));
  std::vector<std::string> teams;
  for (absl::string_view team : absl::StrSplit(Field(snap, "supervises"), ',', absl::SkipEmpty())) {
    teams.push_back(TeamName(team));
  }
  const std::string role = Field(snap, "role");
  if ((role == "SUPERVISOR" || role == "ADMIN") && !Field(snap, "team").empty()) {
    teams.push_back(TeamName(Field(snap, "team")));
  }
  return teams;
}

absl::StatusOr<v1::Call> LiveState::LiveCall(absl::string_view call_id) const {
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct snap, router_->Read("call", call_id));
  if (Field(snap, "state").empty()) {
    return absl::NotFoundError(absl::StrCat("call calls/", call_id, " is not live"));
  }
  return CallFromSnapshot(call_id, snap);
}

absl::StatusOr<v1::QueueStatus> LiveState::QueueStatus(absl::string_view queue_id, int head,
                                                       int64_t* open_change_ms) const {
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct queue, router_->Read("queue", queue_id));
  if (Field(queue, "strategy").empty()) {
    return absl::NotFoundError(absl::StrCat("queue queues/", queue_id, " does not exist"));
  }
  const std::string prefix = router_->prefix();
  const std::string calls_key = absl::StrCat(prefix, ":q:", queue_id, ":calls");
  const int64_t day = absl::ToUnixMillis(absl::Now()) / 86400000;
  v1::QueueStatus status;
  status.set_queue(QueueName(queue_id));
  status.set_display_name(Field(queue, "display"));
  status.set_site(Field(queue, "site"));
  // Open by its opening hours now: the same intervals routing uses (opening_hours.h).
  status.set_open(Field(queue, "deleted") != "1" &&
                  OpenAt(Field(queue, "oh_on"), Field(queue, "oh"), Field(queue, "oh_until"),
                         absl::ToUnixMillis(absl::Now()), open_change_ms));
  status.set_offered_today(static_cast<int32_t>(IntField(queue, absl::StrCat("offered:", day))));
  status.set_answered_today(static_cast<int32_t>(IntField(queue, absl::StrCat("answered:", day))));
  status.set_answered_within_threshold_today(
      static_cast<int32_t>(IntField(queue, absl::StrCat("answered_in_sl:", day))));
  status.set_abandoned_today(
      static_cast<int32_t>(IntField(queue, absl::StrCat("abandoned:", day))));
  CC_ASSIGN_OR_RETURN(
      auto replies,
      router_->redis()->Pipeline({{"ZCARD", calls_key},
                                  {"ZRANGE", calls_key, "0", absl::StrCat(std::max(head, 1) - 1)},
                                  {"SMEMBERS", absl::StrCat(prefix, ":q:", queue_id, ":staff")}}));
  for (const auto& reply : replies) CC_RETURN_IF_ERROR(reply.status());
  status.set_waiting_calls(static_cast<int32_t>(replies[0]->integer));
  const absl::Time now = absl::Now();
  int position = 0;
  for (const common::RedisReply& id : replies[1]->elements) {
    absl::StatusOr<v1::Call> call = LiveCall(id.str);
    if (!call.ok()) continue;
    ++position;
    if (position == 1) {
      const absl::Duration waited = now - common::TimeFromTimestamp(call->queue_time());
      status.mutable_longest_wait()->set_seconds(absl::ToInt64Seconds(waited));
    }
    if (position > head) continue;
    v1::WaitingCall* waiting = status.add_head();
    waiting->set_call(call->name());
    waiting->set_position(position);
    waiting->set_priority(call->priority());
    *waiting->mutable_queue_time() = call->queue_time();
    waiting->set_customer(call->customer());
    *waiting->mutable_customer_number() = call->customer_number();
    waiting->set_vip(call->vip());
    waiting->set_abusive(call->abusive());
    waiting->set_campaign(call->campaign());
  }
  for (const common::RedisReply& op : replies[2]->elements) {
    absl::StatusOr<v1::OperatorPresence> presence = Presence(op.str);
    if (!presence.ok()) continue;
    status.set_operators_logged_in(status.operators_logged_in() + 1);
    switch (presence->state()) {
      case v1::OPERATOR_STATE_AVAILABLE:
        status.set_operators_available(status.operators_available() + 1);
        break;
      case v1::OPERATOR_STATE_RESERVED:
        status.set_operators_reserved(status.operators_reserved() + 1);
        break;
      case v1::OPERATOR_STATE_ON_CALL:
        status.set_operators_on_call(status.operators_on_call() + 1);
        break;
      case v1::OPERATOR_STATE_WRAP_UP:
        status.set_operators_wrap_up(status.operators_wrap_up() + 1);
        break;
      case v1::OPERATOR_STATE_NOT_READY:
        status.set_operators_not_ready(status.operators_not_ready() + 1);
        break;
      default:
        break;
    }
  }
  status.set_reserved_calls(status.operators_reserved());
  status.set_connected_calls(status.operators_on_call());
  const int staff = std::max(1, status.operators_logged_in());
  const int64_t aht_ms = IntField(queue, "aht_ms", 180000);
  const int64_t ewt_ms = (status.waiting_calls() + staff) / staff * aht_ms;
  status.mutable_estimated_wait()->set_seconds(ewt_ms / 1000);
  *status.mutable_update_time() = common::TimestampFromTime(now);
  return status;
}

absl::StatusOr<std::vector<std::string>> LiveState::OperatorIds() const {
  CC_ASSIGN_OR_RETURN(
      common::RedisReply reply,
      router_->redis()->Command({"SMEMBERS", absl::StrCat(router_->prefix(), ":operators")}));
  std::vector<std::string> ids;
  for (const auto& element : reply.elements) ids.push_back(element.str);
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<std::string>> LiveState::QueueIds() const {
  CC_ASSIGN_OR_RETURN(
      common::RedisReply reply,
      router_->redis()->Command({"SMEMBERS", absl::StrCat(router_->prefix(), ":queues")}));
  std::vector<std::string> ids;
  for (const auto& element : reply.elements) ids.push_back(element.str);
  std::sort(ids.begin(), ids.end());
  return ids;
}

LiveViews::LiveViews(const Router* router, std::string site)
    : router_(router), log_key_(absl::StrCat("cc:{", site, "}:calls:log")), state_(router) {}

LiveViews::~LiveViews() { Stop(); }

void LiveViews::Subscribe(LiveSubscriber* subscriber) {
  absl::MutexLock lock(&mutex_);
  subscribers_.insert(subscriber);
}

void LiveViews::Unsubscribe(LiveSubscriber* subscriber) {
  absl::MutexLock lock(&mutex_);
  subscribers_.erase(subscriber);
}

void LiveViews::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Tail(); });
}

void LiveViews::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  // Open streams end now rather than when the server's grace runs out; clients reconnect to
  // another replica and start from a fresh snapshot.
  absl::MutexLock lock(&mutex_);
  for (LiveSubscriber* subscriber : subscribers_) {
    subscriber->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the replica is shutting down"));
  }
}

void LiveViews::Tail() {
  std::unique_ptr<common::RedisConnection> connection;
  std::string last_id = "$";
  while (!stopping_.load()) {
    if (connection == nullptr || connection->broken()) {
      auto fresh = router_->redis()->NewDedicatedConnection(absl::Seconds(2));
      if (!fresh.ok()) {
        absl::SleepFor(absl::Milliseconds(200));
        continue;
      }
      connection = std::move(*fresh);
    }
    // Short blocks keep the coalescing ticks regular.
    absl::StatusOr<common::RedisReply> reply = connection->Command(
        {"XREAD", "COUNT", "1000", "BLOCK", "50", "STREAMS", log_key_, last_id});
    std::vector<Change> changes;
    if (reply.ok() && !reply->is_nil()) {
      bool listened;
      {
        absl::MutexLock lock(&mutex_);
        listened = !subscribers_.empty();
      }
      for (const common::RedisReply& stream : reply->elements) {
        if (stream.elements.size() < 2 || stream.elements[1].elements.empty()) continue;
        const common::RedisReply& entries = stream.elements[1];
        last_id = entries.elements.back().elements[0].str;
        // Nobody watches this replica: the changes are not even decoded.
        if (!listened) continue;
        for (Change& change : ParseChanges(entries)) changes.push_back(std::move(change));
      }
    } else if (!reply.ok()) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    // Dispatch under the lock, so that a stream ending meanwhile (Unsubscribe) waits.
    absl::MutexLock lock(&mutex_);
    for (const Change& change : changes) {
      for (LiveSubscriber* subscriber : subscribers_) subscriber->OnChange(change);
    }
    for (LiveSubscriber* subscriber : subscribers_) subscriber->OnTick();
  }
}

grpc::ServerWriteReactor<v1::OperatorEvent>* LiveViews::WatchOperatorEvents(
    grpc::CallbackServerContext*, const v1::WatchOperatorEventsRequest& request) {
  return new OperatorEventsStream(this, request);
}

grpc::ServerWriteReactor<v1::WatchOperatorsResponse>* LiveViews::WatchOperators(
    grpc::CallbackServerContext*, const v1::WatchOperatorsRequest& request) {
  return new OperatorsStream(this, request, router_->site());
}

grpc::ServerWriteReactor<v1::WatchQueuesResponse>* LiveViews::WatchQueues(
    grpc::CallbackServerContext*, const v1::WatchQueuesRequest& request) {
  return new QueuesStream(this, request, router_->site());
}

}  // namespace contactcentre::calls
