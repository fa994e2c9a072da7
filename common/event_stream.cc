#include "common/event_stream.h"

#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

std::string DefaultConsumerName() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  absl::BitGen random;
  return absl::StrCat(host, "-", getpid(), "-", absl::Uniform<uint32_t>(random, 0, 1 << 16));
}

// The value of `name` in an entry's flat [field, value, field, value...] array, or null.
const std::string* FieldValue(const RedisReply& fields, absl::string_view name) {
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == name) return &fields.elements[i + 1].str;
  }
  return nullptr;
}

}  // namespace

std::string EventStreamKey(absl::string_view site) {
  return absl::StrCat("cc:{", site, "}:events");
}

std::string DeadLetterStreamKey(absl::string_view site) {
  return absl::StrCat(EventStreamKey(site), ":dead");
}

std::string EventTypeName(const events::v1::Event& event) {
  if (event.payload_case() == events::v1::Event::PAYLOAD_NOT_SET) return "";
  return std::string(
      events::v1::Event::GetDescriptor()->FindFieldByNumber(event.payload_case())->name());
}

EventPublisher::EventPublisher(RedisClient* redis, Options options)
    : redis_(redis), options_(std::move(options)), stream_key_(EventStreamKey(options_.site)) {}

absl::StatusOr<std::string> EventPublisher::Prepare(events::v1::Event& event) const {
  if (event.payload_case() == events::v1::Event::PAYLOAD_NOT_SET) {
    return InvalidArgumentError("event.payload", "an event must carry a payload");
  }
  if (event.id().empty()) event.set_id(NewId());
  if (!event.has_occurred_at()) {
    *event.mutable_occurred_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(absl::Now()));
  }
  if (event.site().empty()) event.set_site(options_.site);
  if (event.producer().empty()) event.set_producer(options_.producer);
  return event.SerializeAsString();
}

std::vector<std::string> EventPublisher::XaddCommand(const events::v1::Event& event,
                                                     const std::string& serialized) const {
  return {"XADD", stream_key_,          "MAXLEN", "~",       absl::StrCat(options_.max_length), "*",
          "type", EventTypeName(event), "event",  serialized};
}

absl::StatusOr<std::string> EventPublisher::Publish(events::v1::Event& event) const {
  CC_ASSIGN_OR_RETURN(std::string serialized, Prepare(event));
  const std::vector<std::string> command = XaddCommand(event, serialized);
  std::vector<absl::string_view> args(command.begin(), command.end());
  CC_ASSIGN_OR_RETURN(RedisReply reply, redis_->Command(args));
  return reply.str;
}

absl::Status EventPublisher::PublishBatch(std::vector<events::v1::Event>& events) const {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(events.size());
  for (events::v1::Event& event : events) {
    CC_ASSIGN_OR_RETURN(std::string serialized, Prepare(event));
    commands.push_back(XaddCommand(event, serialized));
  }
  CC_ASSIGN_OR_RETURN(auto replies, redis_->Pipeline(commands));
  for (const auto& reply : replies) CC_RETURN_IF_ERROR(reply.status());
  return absl::OkStatus();
}

EventConsumer::EventConsumer(RedisClient* redis, EventConsumerOptions options, Handler handler)
    : redis_(redis),
      options_(std::move(options)),
      handler_(std::move(handler)),
      stream_key_(EventStreamKey(options_.site)) {
  if (options_.consumer.empty()) options_.consumer = DefaultConsumerName();
}

EventConsumer::~EventConsumer() { Stop(); }

absl::Status EventConsumer::EnsureGroup() {
  absl::StatusOr<RedisReply> reply = redis_->Command(
      {"XGROUP", "CREATE", stream_key_, options_.group, options_.start_id, "MKSTREAM"});
  if (!reply.ok() && !absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return reply.status();
  }
  return absl::OkStatus();
}

absl::Status EventConsumer::DeadLetter(absl::string_view entry_id, absl::string_view reason,
                                       const RedisReply* fields) {
  LogError("event moved to the dead-letter stream",
           {{"group", options_.group}, {"entry", entry_id}, {"reason", reason}});
  std::vector<std::string> xadd = {"XADD",
                                   DeadLetterStreamKey(options_.site),
                                   "*",
                                   "group",
                                   options_.group,
                                   "entry",
                                   std::string(entry_id),
                                   "reason",
                                   std::string(reason)};
  if (fields != nullptr) {
    for (const RedisReply& element : fields->elements) xadd.push_back(element.str);
  }
  // Acknowledge only once the copy is stored (XADD is refused under maxmemory, XACK is not):
  // a failed copy leaves the entry pending, to be dead-lettered at the next claim.
  std::vector<absl::string_view> xadd_args(xadd.begin(), xadd.end());
  CC_RETURN_IF_ERROR(redis_->Command(xadd_args).status());
  return redis_->Command({"XACK", stream_key_, options_.group, entry_id}).status();
}

absl::StatusOr<int> EventConsumer::ApplyEntries(const RedisReply& entries) {
  int applied = 0;
  std::vector<std::string> acks = {"XACK", stream_key_, options_.group};
  for (const RedisReply& entry : entries.elements) {
    if (entry.type != RedisReply::Type::kArray || entry.elements.size() < 2) continue;
    const std::string& entry_id = entry.elements[0].str;
    const RedisReply& fields = entry.elements[1];
    if (fields.is_nil()) {
      // Trimmed away (MAXLEN) while pending: nothing is left to apply. The stream is too short
      // for how far this group fell behind; say so loudly.
      LogError("pending event was trimmed from the stream before it was applied",
               {{"group", options_.group}, {"entry", entry_id}});
      acks.push_back(entry_id);
      continue;
    }
    const std::string* payload = FieldValue(fields, "event");
    events::v1::Event event;
    if (payload == nullptr || !event.ParseFromString(*payload)) {
      CC_RETURN_IF_ERROR(DeadLetter(entry_id, "not a contactcentre.events.v1.Event", &fields));
      continue;
    }
    absl::Status status = handler_(event);
    if (!status.ok()) {
      LogWarning("event handler failed; the event stays pending for a retry",
                 {{"group", options_.group}, {"event_id", event.id()}, {"error", status}});
      continue;
    }
    acks.push_back(entry_id);
    ++applied;
  }
  if (acks.size() > 3) {
    std::vector<absl::string_view> args(acks.begin(), acks.end());
    CC_RETURN_IF_ERROR(redis_->Command(args).status());
  }
  return applied;
}

absl::Status EventConsumer::ForgetIdleConsumers() {
  CC_ASSIGN_OR_RETURN(RedisReply consumers,
                      redis_->Command({"XINFO", "CONSUMERS", stream_key_, options_.group}));
  for (const RedisReply& consumer : consumers.elements) {
    std::string name;
    int64_t pending = -1;
    int64_t idle_ms = 0;
    for (size_t i = 0; i + 1 < consumer.elements.size(); i += 2) {
      const std::string& field = consumer.elements[i].str;
      if (field == "name") name = consumer.elements[i + 1].str;
      if (field == "pending") pending = consumer.elements[i + 1].integer;
      if (field == "idle") idle_ms = consumer.elements[i + 1].integer;
    }
    // Every restarted process joins under a new name; the old names would pile up forever.
    if (name != options_.consumer && pending == 0 &&
        absl::Milliseconds(idle_ms) > options_.forget_idle_consumers_after) {
      CC_RETURN_IF_ERROR(
          redis_->Command({"XGROUP", "DELCONSUMER", stream_key_, options_.group, name}).status());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> EventConsumer::ClaimStale() {
  CC_RETURN_IF_ERROR(ForgetIdleConsumers());
  const std::string min_idle = absl::StrCat(absl::ToInt64Milliseconds(options_.claim_min_idle));
  CC_ASSIGN_OR_RETURN(RedisReply pending,
                      redis_->Command({"XPENDING", stream_key_, options_.group, "IDLE", min_idle,
                                       "-", "+", absl::StrCat(options_.batch_size)}));
  std::vector<std::string> claim = {"XCLAIM", stream_key_, options_.group, options_.consumer,
                                    min_idle};
  for (const RedisReply& row : pending.elements) {
    // [entry id, consumer, idle ms, deliveries]
    if (row.elements.size() < 4) continue;
    if (row.elements[3].integer >= options_.max_deliveries) {
      CC_ASSIGN_OR_RETURN(
          RedisReply entry,
          redis_->Command({"XRANGE", stream_key_, row.elements[0].str, row.elements[0].str}));
      const RedisReply* fields = entry.elements.empty() ? nullptr : &entry.elements[0].elements[1];
      CC_RETURN_IF_ERROR(DeadLetter(row.elements[0].str,
                                    absl::StrCat("failed ", row.elements[3].integer, " deliveries"),
                                    fields));
      continue;
    }
    claim.push_back(row.elements[0].str);
  }
  if (claim.size() == 5) return 0;
  std::vector<absl::string_view> args(claim.begin(), claim.end());
  CC_ASSIGN_OR_RETURN(RedisReply claimed, redis_->Command(args));
  if (!claimed.elements.empty()) {
    LogInfo("claimed events left pending by another consumer",
            {{"group", options_.group}, {"count", static_cast<int64_t>(claimed.elements.size())}});
  }
  return ApplyEntries(claimed);
}

absl::StatusOr<int> EventConsumer::PollOnce(bool force_claim) {
  int applied = 0;
  if (force_claim || absl::Now() >= next_claim_) {
    next_claim_ = absl::Now() + options_.claim_interval;
    CC_ASSIGN_OR_RETURN(applied, ClaimStale());
  }
  if (blocking_connection_ == nullptr || blocking_connection_->broken()) {
    CC_ASSIGN_OR_RETURN(blocking_connection_,
                        redis_->NewDedicatedConnection(options_.block + absl::Seconds(5)));
  }
  const std::string count = absl::StrCat(options_.batch_size);
  const std::string block = absl::StrCat(absl::ToInt64Milliseconds(options_.block));
  CC_ASSIGN_OR_RETURN(
      RedisReply reply,
      blocking_connection_->Command({"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                     "COUNT", count, "BLOCK", block, "STREAMS", stream_key_, ">"}));
  if (reply.is_nil()) return applied;
  for (const RedisReply& stream : reply.elements) {
    if (stream.elements.size() < 2) continue;
    CC_ASSIGN_OR_RETURN(int n, ApplyEntries(stream.elements[1]));
    applied += n;
  }
  return applied;
}

void EventConsumer::Start() {
  if (thread_.joinable()) return;  // already running
  thread_ = std::thread([this] {
    absl::Duration backoff = absl::Milliseconds(100);
    bool group_ready = false;
    while (!stopping_.load()) {
      absl::Status status = group_ready ? PollOnce().status() : EnsureGroup();
      if (status.ok()) {
        group_ready = true;
        backoff = absl::Milliseconds(100);
        continue;
      }
      if (absl::StrContains(status.message(), "NOGROUP")) group_ready = false;
      LogWarning("event consumer error; retrying",
                 {{"group", options_.group}, {"error", status}, {"retry_in_s", backoff}});
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  });
}

void EventConsumer::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace contactcentre::common
