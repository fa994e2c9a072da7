#include "services/analytics/watch.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::analytics {
namespace {

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration out;
  out.set_seconds(absl::ToInt64Seconds(duration));
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(out.seconds()))));
  return out;
}

// What a subscriber last sent of one value: whether set, value, numerator, denominator.
using Sent = std::tuple<bool, double, double, double>;
// entity -> (definition, window) -> what was sent.
using SentState = std::map<std::string, std::map<std::pair<std::string, int>, Sent>>;

Sent SentOf(const v1::MetricValue& value) {
  return {value.has_value(), value.has_value() ? value.value() : 0, value.numerator(),
          value.denominator()};
}

SentState StateOf(const v1::GetCurrentMetricsResponse& view) {
  SentState state;
  for (const v1::EntityMetrics& entity : view.entities()) {
    auto& values = state[entity.entity()];
    for (const v1::MetricValue& value : entity.values()) {
      values[{value.definition(), value.window()}] = SentOf(value);
    }
  }
  return state;
}

// The UPDATE from `sent` to `view`: per entity the values that changed (all of a new
// entity's), and the entities that left.
v1::WatchMetricsResponse UpdateOf(const SentState& sent,
                                  const v1::GetCurrentMetricsResponse& view) {
  v1::WatchMetricsResponse update;
  update.set_kind(v1::WATCH_MESSAGE_KIND_UPDATE);
  for (const v1::EntityMetrics& entity : view.entities()) {
    auto before = sent.find(entity.entity());
    v1::EntityMetrics changed;
    for (const v1::MetricValue& value : entity.values()) {
      if (before != sent.end()) {
        auto old = before->second.find({value.definition(), value.window()});
        if (old != before->second.end() && old->second == SentOf(value)) continue;
      }
      *changed.add_values() = value;
    }
    if (changed.values_size() == 0) continue;
    changed.set_entity(entity.entity());
    changed.set_scope(entity.scope());
    changed.set_site(entity.site());
    *update.add_entities() = std::move(changed);
  }
  std::set<std::string> now;
  for (const v1::EntityMetrics& entity : view.entities()) now.insert(entity.entity());
  for (const auto& [entity, unused] : sent) {
    if (!now.contains(entity)) update.add_removed_entities(entity);
  }
  return update;
}

}  // namespace

MetricsWatcher::MetricsWatcher(MetricsStore* store, WatchOptions options)
    : store_(*store), options_(options) {}

MetricsWatcher::~MetricsWatcher() { Stop(); }

void MetricsWatcher::Start() {
  absl::MutexLock lock(&mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  refresher_ = std::thread([this] { RefreshLoop(); });
}

void MetricsWatcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
}

int MetricsWatcher::subscribers() {
  absl::MutexLock lock(&mutex_);
  return subscribers_;
}

MetricsWatcher::Latest MetricsWatcher::latest() {
  absl::MutexLock lock(&mutex_);
  return {counts_, version_};
}

bool MetricsWatcher::WaitUntil(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithDeadline(absl::Condition(&stopping_), deadline);
  return stopping_;
}

void MetricsWatcher::RefreshLoop() {
  for (;;) {
    const absl::Time started = absl::Now();
    absl::StatusOr<LiveCounts> counts = store_.Count(started, LiveWindows());
    if (counts.ok()) {
      auto shared = std::make_shared<const LiveCounts>(*std::move(counts));
      absl::MutexLock lock(&mutex_);
      counts_ = std::move(shared);
      ++version_;
    } else {
      common::LogWarning("refreshing live figures failed", {{"error", counts.status()}});
    }
    if (WaitUntil(started + options_.refresh_interval)) return;
  }
}

grpc::Status MetricsWatcher::Watch(grpc::ServerContext* context,
                                   const v1::WatchMetricsRequest& request,
                                   grpc::ServerWriter<v1::WatchMetricsResponse>* writer) {
  absl::StatusOr<Selection> selection = ParseFilter(request.filter(), store_.site());
  if (!selection.ok()) return common::ToGrpcStatus(selection.status());
  absl::Duration min_interval = options_.default_min_interval;
  if (request.has_min_interval()) {
    min_interval = absl::Seconds(request.min_interval().seconds()) +
                   absl::Nanoseconds(request.min_interval().nanos());
    if (min_interval < absl::ZeroDuration()) {
      return common::ToGrpcStatus(absl::InvalidArgumentError("min_interval: must not be negative"));
    }
    min_interval = std::clamp(min_interval, options_.min_interval_floor, options_.max_min_interval);
  }
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
    if (subscribers_ >= options_.max_subscribers) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("this replica holds its maximum of ", options_.max_subscribers,
                       " subscribers; retry later with backoff"));
    }
    ++subscribers_;
  }
  struct Leave {
    MetricsWatcher* watcher;
    ~Leave() {
      absl::MutexLock lock(&watcher->mutex_);
      --watcher->subscribers_;
    }
  } leave{this};

  // The snapshot: from the refresher's latest counts, or counted now when there are none yet.
  Latest current = latest();
  if (current.counts == nullptr) {
    absl::StatusOr<LiveCounts> counts = store_.Count(absl::Now(), LiveWindows());
    if (!counts.ok()) return common::ToGrpcStatus(counts.status());
    current.counts = std::make_shared<const LiveCounts>(*std::move(counts));
  }
  v1::GetCurrentMetricsResponse view =
      store_.Render(*current.counts, *selection, request.include_definitions());
  uint64_t sequence = 0;
  v1::WatchMetricsResponse snapshot;
  snapshot.set_kind(v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  snapshot.set_sequence(++sequence);
  snapshot.set_part(0);
  snapshot.set_part_count(1);
  *snapshot.mutable_entities() = std::move(*view.mutable_entities());
  *snapshot.mutable_data_time() = view.data_time();
  *snapshot.mutable_min_interval() = ProtoDuration(min_interval);
  *snapshot.mutable_definitions() = std::move(*view.mutable_definitions());
  SentState sent;
  for (const v1::EntityMetrics& entity : snapshot.entities()) {
    auto& values = sent[entity.entity()];
    for (const v1::MetricValue& value : entity.values()) {
      values[{value.definition(), value.window()}] = SentOf(value);
    }
  }
  if (!writer->Write(snapshot)) return grpc::Status::OK;
  uint64_t sent_version = current.version;
  absl::Time last_message = absl::Now();
  absl::Time next_look = last_message + min_interval;
  // Periods the previous write blocked for (the client was not reading): the next message
  // merges what they would have carried.
  int64_t skipped = 0;

  for (;;) {
    while (absl::Now() < next_look) {
      if (context->IsCancelled()) return grpc::Status::OK;
      if (WaitUntil(std::min(next_look, absl::Now() + absl::Milliseconds(100)))) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
      }
    }
    if (context->IsCancelled()) return grpc::Status::OK;
    current = latest();
    v1::WatchMetricsResponse message;
    if (current.counts != nullptr && current.version != sent_version) {
      sent_version = current.version;
      view = store_.Render(*current.counts, *selection, false);
      v1::WatchMetricsResponse update = UpdateOf(sent, view);
      if (update.entities_size() > 0 || update.removed_entities_size() > 0) {
        message = std::move(update);
        sent = StateOf(view);
        *message.mutable_data_time() = view.data_time();
      }
    }
    const absl::Time now = absl::Now();
    if (message.kind() == v1::WATCH_MESSAGE_KIND_UNSPECIFIED) {
      if (now - last_message < options_.heartbeat_interval) {
        // Nothing changed: look again after the next refresh.
        next_look = now + std::min(min_interval, options_.refresh_interval);
        continue;
      }
      message.set_kind(v1::WATCH_MESSAGE_KIND_HEARTBEAT);
      *message.mutable_data_time() =
          common::TimestampFromTime(current.counts != nullptr ? current.counts->now : now);
    }
    message.set_skipped_updates(static_cast<uint32_t>(std::max<int64_t>(skipped, 0)));
    message.set_sequence(++sequence);
    const absl::Time write_start = absl::Now();
    if (!writer->Write(message)) return grpc::Status::OK;
    last_message = absl::Now();
    skipped = (last_message - write_start) / min_interval;
    next_look = last_message + min_interval;
  }
}

}  // namespace contactcentre::analytics
