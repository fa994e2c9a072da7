#include "services/calls/heartbeats.h"

#include "absl/strings/str_cat.h"
#include "common/redis.h"

namespace contactcentre::calls {

HeartbeatBatcher::HeartbeatBatcher(Router* router, HeartbeatBatcherOptions options)
    : router_(router), options_(options) {
  if (options_.window > absl::ZeroDuration()) thread_ = std::thread([this] { Loop(); });
}

HeartbeatBatcher::~HeartbeatBatcher() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void HeartbeatBatcher::Beat(std::string operator_id, std::string session_id, Done done) {
  Pending beat{std::move(operator_id), std::move(session_id), std::move(done)};
  if (!thread_.joinable()) {
    std::vector<Pending> alone;
    alone.push_back(std::move(beat));
    Run(std::move(alone));
    return;
  }
  absl::MutexLock lock(&mutex_);
  if (pending_.empty()) first_pending_at_ = absl::Now();
  pending_.push_back(std::move(beat));
}

void HeartbeatBatcher::Loop() {
  const size_t max_batch = static_cast<size_t>(std::max(options_.max_batch, 1));
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mutex_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !pending_.empty() || stopping_;
      };
      mutex_.Await(absl::Condition(&has_work));
      if (pending_.empty()) return;  // stopping, nothing left to answer
      auto full = [this, max_batch]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return pending_.size() >= max_batch || stopping_;
      };
      mutex_.AwaitWithDeadline(absl::Condition(&full), first_pending_at_ + options_.window);
      if (pending_.size() <= max_batch) {
        batch.swap(pending_);
      } else {
        batch.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.begin() + max_batch));
        pending_.erase(pending_.begin(), pending_.begin() + max_batch);
        first_pending_at_ = absl::Now();
      }
    }
    Run(std::move(batch));
  }
}

void HeartbeatBatcher::Run(std::vector<Pending> batch) {
  std::vector<std::string> operators;
  std::vector<std::string> sessions;
  operators.reserve(batch.size());
  sessions.reserve(batch.size());
  for (const Pending& beat : batch) {
    operators.push_back(beat.operator_id);
    sessions.push_back(beat.session_id);
  }
  ScriptArgs args;
  args.SetList("ops", operators)
      .SetList("sessions", sessions)
      .Set("heartbeat_ms", absl::ToInt64Milliseconds(options_.heartbeat_timeout));
  absl::StatusOr<google::protobuf::Struct> answer = router_->Run(Script::kHeartbeat, args);
  const google::protobuf::ListValue* beats = nullptr;
  if (answer.ok()) {
    auto it = answer->fields().find("beats");
    if (it != answer->fields().end() && it->second.has_list_value() &&
        it->second.list_value().values_size() == static_cast<int>(batch.size())) {
      beats = &it->second.list_value();
    } else {
      answer = absl::InternalError(
          absl::StrCat("the heartbeat script answered other than one result for each of ",
                       batch.size(), " heartbeats"));
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (beats == nullptr) {
      batch[i].done(answer.status());
      continue;
    }
    const google::protobuf::Struct& result = beats->values(static_cast<int>(i)).struct_value();
    auto error = result.fields().find("error");
    if (error != result.fields().end()) {
      batch[i].done(common::StatusFromRedisError(error->second.string_value()));
    } else {
      batch[i].done(result);
    }
  }
}

}  // namespace contactcentre::calls
