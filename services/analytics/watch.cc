#include "services/analytics/watch.h"

#include <algorithm>
#include <limits>
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

// What was sent of one value: whether set, value, numerator, denominator, definition/mixed.
using Sent = std::tuple<bool, double, double, double, bool>;
// entity -> (metric, definition, window) -> what was sent; plus the operator status bytes.
struct SentEntity {
  std::map<std::tuple<std::string, std::string, int>, Sent> values;
  std::string operator_status;
};
using SentState = std::map<std::string, SentEntity>;

Sent SentOf(const v1::MetricValue& value) {
  return {value.has_value(), value.has_value() ? value.value() : 0, value.numerator(),
          value.denominator(), value.mixed()};
}

SentState StateOf(const v1::GetCurrentMetricsResponse& view) {
  SentState state;
  for (const v1::EntityMetrics& entity : view.entities()) {
    SentEntity& sent = state[entity.entity()];
    for (const v1::MetricValue& value : entity.values()) {
      sent.values[{value.metric(), value.definition(), value.window()}] = SentOf(value);
    }
    if (entity.has_operator_status()) {
      sent.operator_status = entity.operator_status().SerializeAsString();
    }
  }
  return state;
}

// The UPDATE from `sent` to `view`: per entity the values that changed (all of a new
// entity's) and its operator status when changed, and the entities that left.
v1::WatchMetricsResponse UpdateOf(const SentState& sent,
                                  const v1::GetCurrentMetricsResponse& view) {
  v1::WatchMetricsResponse update;
  update.set_kind(v1::WATCH_MESSAGE_KIND_UPDATE);
  for (const v1::EntityMetrics& entity : view.entities()) {
    auto before = sent.find(entity.entity());
    v1::EntityMetrics changed;
    for (const v1::MetricValue& value : entity.values()) {
      if (before != sent.end()) {
        auto old = before->second.values.find({value.metric(), value.definition(), value.window()});
        if (old != before->second.values.end() && old->second == SentOf(value)) continue;
      }
      *changed.add_values() = value;
    }
    if (entity.has_operator_status() &&
        (before == sent.end() ||
         before->second.operator_status != entity.operator_status().SerializeAsString())) {
      *changed.mutable_operator_status() = entity.operator_status();
    }
    if (changed.values_size() == 0 && !changed.has_operator_status()) continue;
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
  *update.mutable_data_time() = view.data_time();
  return update;
}

using Rendering = std::shared_ptr<const v1::GetCurrentMetricsResponse>;
// A serialized message part shared by many subscribers' writes (no copy per subscriber).
using Bytes = std::shared_ptr<const std::string>;

// A slice over shared bytes, holding a reference until gRPC is done with it.
grpc::Slice SharedSlice(const Bytes& bytes) {
  auto* hold = new Bytes(bytes);
  return grpc::Slice(
      const_cast<char*>(bytes->data()), bytes->size(),
      [](void* held) { delete static_cast<Bytes*>(held); }, hold);
}

// The message a subscriber writes: the shared part, then its own fields (sequence, ...).
// Serialized protobuf messages concatenate into their merge, and the shared part sets none of
// the subscriber's fields.
grpc::ByteBuffer Compose(const Bytes& shared, const v1::WatchMetricsResponse& own) {
  const std::string tail = own.SerializeAsString();
  if (shared == nullptr) {
    grpc::Slice slice(tail);
    return grpc::ByteBuffer(&slice, 1);
  }
  grpc::Slice slices[2] = {SharedSlice(shared), grpc::Slice(tail)};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace

// One distinct filter: its latest rendering and the updates to it, serialized once and shared
// by its subscribers.
struct MetricsWatcher::View {
  explicit View(Selection s) : selection(std::move(s)) {}
  const Selection selection;

  absl::Mutex mutex;
  Rendering rendered ABSL_GUARDED_BY(mutex);
  uint64_t version ABSL_GUARDED_BY(mutex) = 0;
  int64_t tick ABSL_GUARDED_BY(mutex) = 0;
  // The UPDATE from an earlier rendering (by its version) to `rendered`, serialized; null
  // when nothing changed.
  std::map<uint64_t, Bytes> updates ABSL_GUARDED_BY(mutex);
  // The SNAPSHOT of `rendered` (part 0 of 1), serialized on first use.
  Bytes snapshot ABSL_GUARDED_BY(mutex);

  void Set(Rendering rendering, uint64_t new_version, int64_t new_tick) {
    absl::MutexLock lock(&mutex);
    rendered = std::move(rendering);
    version = new_version;
    tick = new_tick;
    updates.clear();
    snapshot = nullptr;
  }
  std::tuple<Rendering, uint64_t, int64_t> Get() {
    absl::MutexLock lock(&mutex);
    return {rendered, version, tick};
  }
  static Bytes SnapshotOf(const v1::GetCurrentMetricsResponse& rendering) {
    v1::WatchMetricsResponse message;
    message.set_kind(v1::WATCH_MESSAGE_KIND_SNAPSHOT);
    message.set_part(0);
    message.set_part_count(1);
    *message.mutable_entities() = rendering.entities();
    *message.mutable_data_time() = rendering.data_time();
    return std::make_shared<const std::string>(message.SerializeAsString());
  }
  // The snapshot of `rendering` (cached when it is the latest).
  Bytes SnapshotBytes(const Rendering& rendering) {
    absl::MutexLock lock(&mutex);
    if (rendering != rendered) return SnapshotOf(*rendering);
    if (snapshot == nullptr) snapshot = SnapshotOf(*rendered);
    return snapshot;
  }
  // The latest rendering, its version, and the update to it from `from` (null when nothing
  // changed).
  std::tuple<Rendering, uint64_t, Bytes> UpdateFrom(uint64_t from_version, const Rendering& from) {
    absl::MutexLock lock(&mutex);
    if (from_version == version || rendered == nullptr) return {rendered, version, nullptr};
    auto [it, inserted] = updates.try_emplace(from_version);
    if (inserted) {
      v1::WatchMetricsResponse update = UpdateOf(StateOf(*from), *rendered);
      if (update.entities_size() > 0 || update.removed_entities_size() > 0) {
        it->second = std::make_shared<const std::string>(update.SerializeAsString());
      }
    }
    return {rendered, version, it->second};
  }
};

// One stream: its state, shared by the reactor and the pump. The reactor stays alive while a
// write is in flight (Finish waits for it), so the pump may start a write after checking
// `in_flight` and `finishing` under the lock. Messages go out as bytes: the view's shared
// serialized part and this stream's own fields.
class MetricsWatcher::Subscriber : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // `interval_ticks` refreshes make its min_interval.
  Subscriber(MetricsWatcher* watcher, int64_t interval_ticks, absl::Duration tick)
      : watcher_(*watcher), interval_ticks_(interval_ticks), min_interval_(interval_ticks * tick) {}

  // Sends the snapshot (first message), standing for the settled tick `tick`.
  void Begin(std::shared_ptr<View> view, Rendering rendering, uint64_t version, int64_t tick,
             const std::vector<v1::MetricDefinition>& definitions) {
    {
      absl::MutexLock lock(&mutex_);
      view_ = std::move(view);
      v1::WatchMetricsResponse own;
      own.set_sequence(++sequence_);
      *own.mutable_min_interval() = ProtoDuration(min_interval_);
      for (const v1::MetricDefinition& definition : definitions) {
        *own.add_definitions() = definition;
      }
      out_ = Compose(view_->SnapshotBytes(rendering), own);
      sent_ = std::move(rendering);
      sent_version_ = version;
      sent_tick_ = tick;
      in_flight_ = true;
      due_tick_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
      write_started_ = absl::Now();
    }
    StartWrite(&out_);
  }

  // Whether Pump may have work, from lock-free hints: no write in flight, and its due tick
  // settled (rendered, or passed without a refresh) since it last looked, or a heartbeat due.
  bool MaybeDue(int64_t now_micros, int64_t settled_tick, uint64_t generation,
                int64_t heartbeat_micros) const {
    const int64_t due_tick = due_tick_.load(std::memory_order_relaxed);
    if (due_tick == std::numeric_limits<int64_t>::max()) return false;  // a write in flight
    return (settled_tick >= due_tick &&
            checked_generation_.load(std::memory_order_relaxed) != generation) ||
           now_micros >= last_message_micros_.load(std::memory_order_relaxed) + heartbeat_micros;
  }

  // Called by the pump: starts a write when the previous one is done and there is something to
  // send: the changes up to the latest rendering, once the tick min_interval after the last
  // message has settled, or a heartbeat.
  void Pump(absl::Time now, absl::Duration heartbeat, uint64_t generation, int64_t settled_tick) {
    {
      absl::MutexLock lock(&mutex_);
      if (view_ == nullptr || in_flight_ || finishing_) return;
      checked_generation_.store(generation, std::memory_order_relaxed);
      auto [rendered, version, update] = view_->UpdateFrom(sent_version_, sent_);
      v1::WatchMetricsResponse own;
      if (settled_tick < sent_tick_ + interval_ticks_) {
        // Too soon after the last message: only a heartbeat may go.
        if (now - last_message_ < heartbeat) return;
        own.set_kind(v1::WATCH_MESSAGE_KIND_HEARTBEAT);
        *own.mutable_data_time() =
            sent_ != nullptr ? sent_->data_time() : common::TimestampFromTime(now);
        update = nullptr;
      } else if (update == nullptr) {
        // Nothing changed for this filter: follow the rendering without a message.
        if (rendered != nullptr) {
          sent_ = std::move(rendered);
          sent_version_ = version;
        }
        if (now - last_message_ < heartbeat) return;
        own.set_kind(v1::WATCH_MESSAGE_KIND_HEARTBEAT);
        *own.mutable_data_time() =
            sent_ != nullptr ? sent_->data_time() : common::TimestampFromTime(now);
      } else {
        sent_ = std::move(rendered);
        sent_version_ = version;
        sent_tick_ = settled_tick;
      }
      own.set_sequence(++sequence_);
      own.set_skipped_updates(static_cast<uint32_t>(skipped_));
      if (skipped_ > 0) watcher_.skipped_updates_ += static_cast<uint64_t>(skipped_);
      out_ = Compose(update, own);
      in_flight_ = true;
      due_tick_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
      write_started_ = now;
    }
    StartWrite(&out_);
  }

  // Ends the stream with `status` (after the write in flight, if any).
  void End(const grpc::Status& status) {
    bool finish_now = false;
    {
      absl::MutexLock lock(&mutex_);
      if (finishing_) return;
      finishing_ = true;
      end_status_ = status;
      finish_now = !in_flight_;
    }
    if (finish_now) Finish(status);
  }

  void OnWriteDone(bool ok) override {
    grpc::Status finish_with;
    bool finish_now = false;
    {
      absl::MutexLock lock(&mutex_);
      in_flight_ = false;
      out_.Clear();
      ++watcher_.messages_sent_;
      const absl::Time now = absl::Now();
      last_message_ = now;
      // Periods the write was blocked for (the client did not read): the next message merges
      // what they would have carried.
      skipped_ = (now - write_started_) / min_interval_;
      last_message_micros_.store(absl::ToUnixMicros(now), std::memory_order_relaxed);
      due_tick_.store(sent_tick_ + interval_ticks_, std::memory_order_relaxed);
      if (!ok && !finishing_) {
        finishing_ = true;  // the client went away
        end_status_ = grpc::Status::OK;
      }
      if (finishing_) {
        finish_now = true;
        finish_with = end_status_;
      }
    }
    if (finish_now) Finish(finish_with);
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    watcher_.Remove(this);  // the watcher's reference
    self_.reset();          // may delete this
  }

  // The stream holds itself until OnDone.
  void Hold(std::shared_ptr<Subscriber> self) { self_ = std::move(self); }

 private:
  MetricsWatcher& watcher_;
  const int64_t interval_ticks_;
  const absl::Duration min_interval_;
  std::shared_ptr<Subscriber> self_;
  absl::Mutex mutex_;
  std::shared_ptr<View> view_ ABSL_GUARDED_BY(mutex_);
  grpc::ByteBuffer out_;  // the message in flight
  Rendering sent_ ABSL_GUARDED_BY(mutex_);
  uint64_t sent_version_ ABSL_GUARDED_BY(mutex_) = 0;
  // The settled tick when the last update (or the snapshot) was sent; a silent follow or a
  // heartbeat does not move it.
  int64_t sent_tick_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  bool in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  bool finishing_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mutex_);
  absl::Time write_started_ ABSL_GUARDED_BY(mutex_);
  absl::Time last_message_ ABSL_GUARDED_BY(mutex_) = absl::Now();
  int64_t skipped_ ABSL_GUARDED_BY(mutex_) = 0;
  // Lock-free hints for the pump (the truth is under mutex_): the tick from which the next
  // update may go, the largest value while a write is in flight.
  std::atomic<int64_t> due_tick_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> last_message_micros_{absl::ToUnixMicros(absl::Now())};
  std::atomic<uint64_t> checked_generation_{0};
};

MetricsWatcher::MetricsWatcher(MetricsStore* store, WatchOptions options)
    : store_(*store), options_(options) {}

MetricsWatcher::~MetricsWatcher() { Stop(); }

int64_t MetricsWatcher::TickOf(absl::Time time) const {
  return absl::ToUnixMicros(time) / absl::ToInt64Microseconds(options_.refresh_interval);
}

absl::Time MetricsWatcher::TimeOfTick(int64_t tick) const {
  return absl::FromUnixMicros(tick * absl::ToInt64Microseconds(options_.refresh_interval));
}

void MetricsWatcher::Start() {
  absl::MutexLock lock(&mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  refresher_ = std::thread([this] { RefreshLoop(); });
  pump_ = std::thread([this] { PumpLoop(); });
}

void MetricsWatcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
  if (pump_.joinable()) pump_.join();
  std::vector<std::shared_ptr<Subscriber>> open;
  {
    absl::MutexLock lock(&subscribers_mutex_);
    for (const auto& [unused, subscriber] : subscribers_) open.push_back(subscriber);
  }
  for (const std::shared_ptr<Subscriber>& subscriber : open) {
    subscriber->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  }
}

void MetricsWatcher::Notify() {
  absl::MutexLock lock(&mutex_);
  dirty_ = true;
}

int MetricsWatcher::subscribers() {
  absl::MutexLock lock(&subscribers_mutex_);
  return static_cast<int>(subscribers_.size());
}

WatchStats MetricsWatcher::stats() {
  WatchStats stats;
  {
    absl::MutexLock lock(&subscribers_mutex_);
    stats.subscribers = static_cast<int>(subscribers_.size());
  }
  {
    absl::MutexLock lock(&mutex_);
    stats.refreshes = refreshes_;
    for (const auto& [unused, view] : views_) stats.views += view.expired() ? 0 : 1;
  }
  stats.messages_sent = messages_sent_;
  stats.skipped_updates = skipped_updates_;
  return stats;
}

bool MetricsWatcher::Add(const std::shared_ptr<Subscriber>& subscriber) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return false;
  }
  absl::MutexLock lock(&subscribers_mutex_);
  if (static_cast<int>(subscribers_.size()) >= options_.max_subscribers) return false;
  subscribers_[subscriber.get()] = subscriber;
  return true;
}

void MetricsWatcher::Remove(Subscriber* subscriber) {
  absl::MutexLock lock(&subscribers_mutex_);
  subscribers_.erase(subscriber);
}

std::shared_ptr<MetricsWatcher::View> MetricsWatcher::ViewFor(const v1::MetricsFilter& filter,
                                                              Selection selection) {
  const std::string key = filter.SerializeAsString();
  absl::MutexLock lock(&mutex_);
  if (std::shared_ptr<View> existing = views_[key].lock()) return existing;
  auto view = std::make_shared<View>(std::move(selection));
  views_[key] = view;
  return view;
}

void MetricsWatcher::RenderViews(const Latest& latest) {
  std::vector<std::shared_ptr<View>> views;
  {
    absl::MutexLock lock(&mutex_);
    for (auto it = views_.begin(); it != views_.end();) {
      if (std::shared_ptr<View> view = it->second.lock()) {
        views.push_back(std::move(view));
        ++it;
      } else {
        it = views_.erase(it);
      }
    }
  }
  for (const std::shared_ptr<View>& view : views) {
    view->Set(std::make_shared<const v1::GetCurrentMetricsResponse>(
                  store_.Render(*latest.counts, view->selection, false)),
              latest.version, latest.tick);
  }
  Settle(latest.tick);
  absl::MutexLock lock(&mutex_);
  ++renderings_;  // wakes the pump
}

void MetricsWatcher::Settle(int64_t tick) {
  if (tick <= settled_tick_.load()) return;
  settled_tick_.store(tick);
  ++generation_;
}

void MetricsWatcher::RefreshLoop() {
  int64_t last_tick = std::numeric_limits<int64_t>::min() / 2;
  // The least ticks between two refreshes after events: one, or twice what the last refresh
  // took, so that the queries never take more than half of the time (their cost grows with the
  // calls in the windows).
  int64_t spacing_ticks = 1;
  const int64_t idle_ticks =
      std::max<int64_t>(1, absl::ToInt64Microseconds(options_.idle_refresh) /
                               absl::ToInt64Microseconds(options_.refresh_interval));
  for (;;) {
    int64_t tick = 0;
    {
      absl::MutexLock lock(&mutex_);
      // Refresh at the first tick `spacing_ticks` after the last one when events were applied,
      // or `idle_ticks` after it anyway (rolling windows move).
      for (;;) {
        if (stopping_) return;
        tick = TickOf(absl::Now());
        // Nothing to recompute: the latest rendering stands for this tick too.
        if (!dirty_) Settle(tick);
        const int64_t due =
            last_tick + (dirty_ ? spacing_ticks : std::max(idle_ticks, spacing_ticks));
        if (tick >= due) break;
        // Not dirty: look again soon, events may come.
        const absl::Time wake =
            dirty_ ? TimeOfTick(due)
                   : std::min(TimeOfTick(due), absl::Now() + absl::Milliseconds(10));
        mutex_.AwaitWithDeadline(absl::Condition(&stopping_), wake);
      }
      dirty_ = false;
    }
    last_tick = tick;
    const absl::Time started = absl::Now();
    // The counts as of the tick's time (a few milliseconds before now), so that data times are
    // whole ticks apart.
    absl::StatusOr<LiveCounts> counts = store_.Count(TimeOfTick(tick), LiveWindows());
    const absl::Duration took = absl::Now() - started;
    spacing_ticks = std::max<int64_t>(1, (2 * took) / options_.refresh_interval + 1);
    if (!counts.ok()) {
      common::LogWarning("refreshing live figures failed", {{"error", counts.status()}});
      continue;
    }
    Latest latest;
    {
      absl::MutexLock lock(&mutex_);
      latest_.counts = std::make_shared<const LiveCounts>(*std::move(counts));
      ++latest_.version;
      latest_.tick = tick;
      ++refreshes_;
      latest = latest_;
    }
    RenderViews(latest);
  }
}

void MetricsWatcher::PumpLoop() {
  std::vector<std::shared_ptr<Subscriber>> due;
  const int64_t heartbeat_micros = absl::ToInt64Microseconds(options_.heartbeat_interval);
  uint64_t seen_renderings = 0;
  for (;;) {
    {
      // Wake after each rendering, or after pump_tick (writes that completed since, heartbeats).
      absl::MutexLock lock(&mutex_);
      auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || renderings_ != seen_renderings;
      };
      mutex_.AwaitWithTimeout(absl::Condition(&woken), options_.pump_tick);
      if (stopping_) return;
      seen_renderings = renderings_;
    }
    // Only the subscribers that may have work (hints without their locks), served outside the
    // list's lock.
    due.clear();
    const absl::Time now = absl::Now();
    const int64_t now_micros = absl::ToUnixMicros(now);
    const uint64_t generation = generation_.load();
    const int64_t settled_tick = settled_tick_.load();
    {
      absl::MutexLock lock(&subscribers_mutex_);
      for (const auto& [raw, subscriber] : subscribers_) {
        if (raw->MaybeDue(now_micros, settled_tick, generation, heartbeat_micros)) {
          due.push_back(subscriber);
        }
      }
    }
    // Large bursts (thousands of subscribers due at once) are served by two threads.
    auto serve = [&](size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) {
        due[i]->Pump(now, options_.heartbeat_interval, generation, settled_tick);
      }
    };
    if (due.size() >= 2000) {
      std::thread helper(serve, due.size() / 2, due.size());
      serve(0, due.size() / 2);
      helper.join();
    } else {
      serve(0, due.size());
    }
  }
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* MetricsWatcher::Watch(
    grpc::CallbackServerContext* /*context*/, const grpc::ByteBuffer* raw_request) {
  // Refusals end the stream at once with their status.
  auto refuse = [](const grpc::Status& status) {
    class Refusal : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refusal(const grpc::Status& status) { Finish(status); }
      void OnDone() override { delete this; }
    };
    return new Refusal(status);
  };
  v1::WatchMetricsRequest parsed;
  {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (raw_request != nullptr && raw_request->Dump(&slices).ok()) {
      for (const grpc::Slice& slice : slices) {
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
    }
    if (!parsed.ParseFromString(bytes)) {
      return refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "request: malformed"));
    }
  }
  const v1::WatchMetricsRequest* request = &parsed;
  absl::StatusOr<Selection> selection = ParseFilter(request->filter(), store_.site());
  if (!selection.ok()) return refuse(common::ToGrpcStatus(selection.status()));
  absl::Duration min_interval = options_.default_min_interval;
  if (request->has_min_interval()) {
    min_interval = absl::Seconds(request->min_interval().seconds()) +
                   absl::Nanoseconds(request->min_interval().nanos());
    if (min_interval < absl::ZeroDuration()) {
      return refuse(
          common::ToGrpcStatus(absl::InvalidArgumentError("min_interval: must not be negative")));
    }
  }
  min_interval = std::clamp(min_interval, options_.min_interval_floor, options_.max_min_interval);
  // A whole number of ticks (rounded up: never more often than asked).
  const int64_t interval_ticks =
      std::max<int64_t>(1, (absl::ToInt64Microseconds(min_interval) +
                            absl::ToInt64Microseconds(options_.refresh_interval) - 1) /
                               absl::ToInt64Microseconds(options_.refresh_interval));
  std::vector<v1::MetricDefinition> definitions;
  if (request->include_definitions()) {
    for (const BuiltMetric* metric : selection->metrics) definitions.push_back(metric->definition);
  }
  std::shared_ptr<View> view = ViewFor(request->filter(), *selection);

  // The snapshot: the view's latest rendering, or rendered now from the latest counts (counted
  // now when there are none yet).
  auto [rendering, version, tick] = view->Get();
  if (rendering == nullptr) {
    Latest latest;
    {
      absl::MutexLock lock(&mutex_);
      latest = latest_;
    }
    if (latest.counts == nullptr) {
      latest.tick = TickOf(absl::Now());
      absl::StatusOr<LiveCounts> counts = store_.Count(TimeOfTick(latest.tick), LiveWindows());
      if (!counts.ok()) return refuse(common::ToGrpcStatus(counts.status()));
      latest.counts = std::make_shared<const LiveCounts>(*std::move(counts));
    }
    rendering = std::make_shared<const v1::GetCurrentMetricsResponse>(
        store_.Render(*latest.counts, view->selection, false));
    version = latest.version;
    tick = latest.tick;
  }
  auto subscriber = std::make_shared<Subscriber>(this, interval_ticks, options_.refresh_interval);
  if (!Add(subscriber)) {
    bool stopping = false;
    {
      absl::MutexLock lock(&mutex_);
      stopping = stopping_;
    }
    return refuse(stopping
                      ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down")
                      : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     absl::StrCat("this replica holds its maximum of ",
                                                  options_.max_subscribers,
                                                  " subscribers; retry later with backoff")));
  }
  subscriber->Hold(subscriber);
  subscriber->Begin(std::move(view), std::move(rendering), version,
                    std::max(tick, settled_tick_.load()), definitions);
  return subscriber.get();
}

}  // namespace contactcentre::analytics
