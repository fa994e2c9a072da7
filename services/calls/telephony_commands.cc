#include "services/calls/telephony_commands.h"

#include <deque>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/calls/json.h"
#include "services/calls/snapshot.h"

namespace contactcentre::calls {
namespace {

const google::protobuf::Struct& StructField(const google::protobuf::Struct& object,
                                            const char* name) {
  static const auto* const kEmpty = new google::protobuf::Struct();
  auto it = object.fields().find(name);
  return it == object.fields().end() ? *kEmpty : it->second.struct_value();
}

// Commands a stream holds for an adapter that does not read them before it ends the stream.
constexpr size_t kMaxQueued = 10000;
// How long a stream waits to see its own open in the change log before it stops relying on it.
constexpr absl::Duration kOwnOpenWait = absl::Seconds(5);

class TelephonyCommandStream final : public grpc::ServerWriteReactor<v1::TelephonyCommand>,
                                     public LiveSubscriber {
 public:
  TelephonyCommandStream(LiveViews* views, const Router* router, std::string adapter,
                         absl::Duration adapter_timeout)
      : views_(views),
        router_(router),
        adapter_(std::move(adapter)),
        stream_id_(common::NewId()),
        timeout_(adapter_timeout),
        alive_interval_(std::max(absl::Milliseconds(100), adapter_timeout / 6)) {}

  void Start() {
    if (adapter_.empty()) {
      Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "telephony_adapter: required"));
      return;
    }
    // Subscribed before the open, so that no command issued after it is missed. The open reads
    // the pending commands and logs this stream's own change in one script: in the log, the
    // commands before that change are the re-sent ones (or acknowledged), those after it new, so
    // none is sent twice however far the replica's log tail lags (OnChange).
    subscribed_ = true;
    views_->Subscribe(this);
    absl::StatusOr<google::protobuf::Struct> opened = Run("open");
    if (!opened.ok()) {
      Fail(common::ToGrpcStatus(opened.status()));
      return;
    }
    absl::MutexLock lock(&mutex_);
    generation_ = IntField(*opened, "generation");
    common::LogInfo("telephony adapter connected",
                    {{"adapter", adapter_}, {"stream", stream_id_}, {"generation", generation_}});
    // A newer stream of the adapter opened while this one was opening.
    if (replaced_by_ > generation_) {
      FinishLocked(Replaced());
      return;
    }
    auto list = opened->fields().find("commands");
    if (list != opened->fields().end()) {
      for (const google::protobuf::Value& item : list->second.list_value().values()) {
        const std::string id = Field(item.struct_value(), "id");
        resent_.insert(id);
        queue_.push_back(
            TelephonyCommandFromSnapshot(id, StructField(item.struct_value(), "body")));
      }
    }
    for (v1::TelephonyCommand& command : fresh_) queue_.push_back(std::move(command));
    fresh_.clear();
    opened_ = true;
    opened_at_ = absl::Now();
    keeper_ = std::thread([this] { KeepAlive(); });
    if (!writing_) WriteNextLocked();
  }

  // On the views' thread.
  void OnChange(const Change& change) override {
    if (Field(change.fields, "adapter") != adapter_) return;
    const std::string kind = Field(change.fields, "t");
    if (kind == "tel_stream" && Field(change.fields, "stream") != stream_id_) {
      // Only a newer open replaces this stream: the change of an older one may reach a replica
      // whose log tail lags after this stream opened.
      const int64_t generation = IntField(change.fields, "generation");
      absl::MutexLock lock(&mutex_);
      if (!opened_) {
        replaced_by_ = std::max(replaced_by_, generation);
      } else if (generation > generation_) {
        FinishLocked(Replaced());
      }
      return;
    }
    if (kind == "tel_stream") {
      // This stream's own open, in log order: every command before it was in the pending set
      // the open read (re-sent) or acknowledged already; every one after it is new.
      absl::MutexLock lock(&mutex_);
      seen_own_open_ = true;
      early_.clear();
      return;
    }
    if (kind != "tel_command") return;
    v1::TelephonyCommand command = TelephonyCommandFromSnapshot(Field(change.fields, "cmd"),
                                                                StructField(change.fields, "body"));
    absl::MutexLock lock(&mutex_);
    if (finished_) return;
    if (!seen_own_open_) {
      // Before the open in the log (the tail may lag behind it): held only in case the open's
      // own change never shows (KeepAlive's fallback).
      if (early_.size() < kMaxQueued) early_.push_back(std::move(command));
      return;
    }
    if (!opened_) {
      // After the open in the log, before its re-sent commands are queued: they go first.
      fresh_.push_back(std::move(command));
      return;
    }
    // An adapter that stops reading must not make the replica hold its commands without bound:
    // they stay in Redis and come again when it reconnects.
    if (queue_.size() >= kMaxQueued) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("telephony adapter ", adapter_, " has ", kMaxQueued,
                                             " commands unread; reconnect to get them again")));
      return;
    }
    queue_.push_back(std::move(command));
    if (!writing_) WriteNextLocked();
  }

  void End(const grpc::Status& status) override { Fail(status); }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the adapter went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override { Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    if (subscribed_) views_->Unsubscribe(this);
    bool opened;
    {
      absl::MutexLock lock(&mutex_);
      opened = opened_;
    }
    // finished_ is set: the keeper ends after its Redis call. (Should gRPC run OnDone on the
    // keeper's own thread, from its Fail, it touches nothing of the stream after that.)
    if (keeper_.joinable()) {
      if (keeper_.get_id() == std::this_thread::get_id()) {
        keeper_.detach();
      } else {
        keeper_.join();
      }
    }
    if (opened) {
      // The adapter has the adapter timeout to reconnect (to any replica).
      absl::StatusOr<google::protobuf::Struct> closed = Run("close");
      if (!closed.ok()) {
        common::LogWarning("closing a telephony command stream",
                           {{"adapter", adapter_}, {"error", closed.status()}});
      }
      common::LogInfo("telephony adapter disconnected",
                      {{"adapter", adapter_}, {"stream", stream_id_}});
    }
    delete this;
  }

 private:
  absl::StatusOr<google::protobuf::Struct> Run(const char* action) const {
    ScriptArgs args;
    args.Set("action", action)
        .Set("adapter", adapter_)
        .Set("stream", stream_id_)
        .Set("timeout_ms", absl::ToInt64Milliseconds(timeout_));
    return router_->Run(Script::kTelephony, args);
  }

  grpc::Status Replaced() const {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        absl::StrCat("STREAM_REPLACED: another WatchTelephonyCommands stream of "
                                     "telephony adapter ",
                                     adapter_, " opened"));
  }

  // Its own thread, while the stream is open: keeps the adapter alive in Redis every
  // alive_interval_ (never on the views' thread, whose lock every live stream shares: a slow
  // Redis must not hold them all up).
  void KeepAlive() {
    for (;;) {
      {
        absl::MutexLock lock(&mutex_);
        if (mutex_.AwaitWithTimeout(absl::Condition(&finished_),
                                    std::min(alive_interval_, kOwnOpenWait))) {
          return;
        }
        if (!seen_own_open_ && absl::Now() - opened_at_ >= kOwnOpenWait) {
          // The log tail never showed this stream's open (trimmed while it lagged): what it
          // showed of commands is sent, less those the open re-sent.
          common::LogWarning("telephony command stream: its open never showed in the change log",
                             {{"adapter", adapter_}, {"stream", stream_id_}});
          seen_own_open_ = true;
          for (v1::TelephonyCommand& command : early_) {
            if (!resent_.contains(command.command_id())) queue_.push_back(std::move(command));
          }
          early_.clear();
          if (!writing_) WriteNextLocked();
        }
        if (absl::Now() < next_alive_) continue;
        next_alive_ = absl::Now() + alive_interval_;
      }
      absl::StatusOr<google::protobuf::Struct> alive = Run("alive");
      if (!alive.ok()) {
        common::LogWarning("keeping a telephony adapter alive",
                           {{"adapter", adapter_}, {"error", alive.status()}});
        continue;
      }
      auto current = alive->fields().find("current");
      if (current != alive->fields().end() && !current->second.bool_value()) {
        Fail(Replaced());
        return;
      }
    }
  }

  void Fail(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    FinishLocked(status);
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    if (queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    early_.clear();
    fresh_.clear();
    Finish(status);
  }

  LiveViews* const views_;
  const Router* const router_;
  const std::string adapter_;
  const std::string stream_id_;
  const absl::Duration timeout_;
  const absl::Duration alive_interval_;
  bool subscribed_ = false;  // set before any other thread sees the stream

  absl::Mutex mutex_;
  // Unacknowledged commands are kept in Redis, so an adapter that stops reading loses nothing
  // when the stream ends; the queue holds what is announced while a write is in flight.
  std::deque<v1::TelephonyCommand> queue_ ABSL_GUARDED_BY(mutex_);
  // Commands the log tail showed before this stream's own open (see OnChange), and the ids the
  // open re-sent.
  std::vector<v1::TelephonyCommand> early_ ABSL_GUARDED_BY(mutex_);
  std::set<std::string> resent_ ABSL_GUARDED_BY(mutex_);
  // Commands after the open in the log that came before the open's answer.
  std::vector<v1::TelephonyCommand> fresh_ ABSL_GUARDED_BY(mutex_);
  bool seen_own_open_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time opened_at_ ABSL_GUARDED_BY(mutex_);
  absl::Time next_alive_ ABSL_GUARDED_BY(mutex_);
  v1::TelephonyCommand current_ ABSL_GUARDED_BY(mutex_);
  bool opened_ ABSL_GUARDED_BY(mutex_) = false;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  // This stream's generation (from its open), and the highest generation of another open seen
  // before it (a newer stream replaced this one while it opened).
  int64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t replaced_by_ ABSL_GUARDED_BY(mutex_) = 0;
  // Keeps the adapter alive while the stream is open (KeepAlive).
  std::thread keeper_;
};

}  // namespace

v1::TelephonyCommand TelephonyCommandFromSnapshot(absl::string_view command_id,
                                                  const google::protobuf::Struct& body) {
  v1::TelephonyCommand command;
  command.set_command_id(std::string(command_id));
  command.set_call(CallName(Field(body, "call")));
  command.set_telephony_call_id(Field(body, "tel_id"));
  *command.mutable_create_time() = common::TimestampFromMicros(IntField(body, "at") * 1000);
  const std::string kind = Field(body, "kind");
  if (kind == "bridge") {
    v1::BridgeCommand* bridge = command.mutable_bridge();
    bridge->set_operator_(OperatorName(Field(body, "op")));
    bridge->set_endpoint(Field(body, "endpoint"));
    bridge->set_consult(Field(body, "consult") == "1");
    const google::protobuf::Value display = ParseJsonValue(Field(body, "display"));
    for (const auto& [name, value] : display.struct_value().fields()) {
      (*bridge->mutable_display())[name] = value.string_value();
    }
  } else if (kind == "hold") {
    command.mutable_hold()->set_on_hold(Field(body, "on_hold") == "1");
  } else if (kind == "hang_up") {
    v1::HangUpCommand* hang_up = command.mutable_hang_up();
    v1::CallEndReason reason = v1::CALL_END_REASON_UNSPECIFIED;
    v1::CallEndReason_Parse(absl::StrCat("CALL_END_REASON_", Field(body, "reason")), &reason);
    hang_up->set_reason(reason);
    hang_up->set_consult_only(Field(body, "consult_only") == "1");
    hang_up->set_announcement(Field(body, "announcement"));
  } else if (kind == "overflow") {
    v1::OverflowCommand* overflow = command.mutable_overflow();
    overflow->set_queue(QueueName(Field(body, "queue")));
    overflow->set_reason(Field(body, "reason"));
    overflow->set_announcement(Field(body, "announcement"));
    if (!Field(body, "forward").empty()) {
      overflow->mutable_forward_number()->set_e164(Field(body, "forward"));
    }
  } else if (kind == "monitor") {
    v1::MonitorCommand* monitor = command.mutable_monitor();
    monitor->set_supervisor(OperatorName(Field(body, "supervisor")));
    monitor->set_endpoint(Field(body, "endpoint"));
    v1::HelpAction mode = v1::HELP_ACTION_UNSPECIFIED;
    v1::HelpAction_Parse(Field(body, "mode"), &mode);
    monitor->set_mode(mode);
  }
  return command;
}

grpc::ServerWriteReactor<v1::TelephonyCommand>* OpenTelephonyCommandStream(
    LiveViews* views, const Router* router, const v1::WatchTelephonyCommandsRequest& request,
    absl::Duration adapter_timeout) {
  auto* stream =
      new TelephonyCommandStream(views, router, request.telephony_adapter(), adapter_timeout);
  stream->Start();
  return stream;
}

}  // namespace contactcentre::calls
