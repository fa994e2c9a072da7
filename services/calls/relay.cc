#include "services/calls/relay.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/calls/json.h"
#include "services/calls/snapshot.h"

namespace contactcentre::calls {
namespace {

constexpr char kGroup[] = "calls-relay";

google::protobuf::Timestamp Millis(int64_t ms) { return common::TimestampFromMicros(ms * 1000); }

void SetDuration(google::protobuf::Duration* duration, int64_t ms) {
  if (ms < 0) ms = 0;
  duration->set_seconds(ms / 1000);
  duration->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

events::v1::CallContext Context(const Change& change) {
  const google::protobuf::Struct& snap = SnapshotOf(change);
  events::v1::CallContext context;
  context.set_call(CallName(Field(change.fields, "call")));
  context.set_queue(QueueName(Field(snap, "queue")));
  context.set_operator_(OperatorName(Field(snap, "op")));
  context.set_team(TeamName(Field(snap, "team")));
  context.set_customer(Field(snap, "customer"));
  context.set_direction(Field(snap, "dir") == "OUTBOUND" ? calls::v1::CALL_DIRECTION_OUTBOUND
                                                         : calls::v1::CALL_DIRECTION_INBOUND);
  context.set_priority(static_cast<int32_t>(IntField(snap, "prio")));
  context.set_campaign(Field(snap, "campaign"));
  const std::string root = Field(snap, "chain_root");
  context.set_chain_root(CallName(root.empty() ? Field(change.fields, "call") : root));
  return context;
}

// The version of a change: its log position as one sortable number (ms * 10^4 + sequence).
int64_t VersionOf(absl::string_view entry_id) {
  std::vector<std::string> parts = absl::StrSplit(entry_id, '-');
  int64_t ms = 0;
  int64_t sequence = 0;
  if (parts.size() == 2) {
    (void)absl::SimpleAtoi(parts[0], &ms);
    (void)absl::SimpleAtoi(parts[1], &sequence);
  }
  return ms * 10000 + std::min<int64_t>(sequence, 9999);
}

bool IsCallChange(absl::string_view kind) {
  return kind != "operator_state" && kind != "help_requested" && kind != "help_answered" &&
         kind != "help_cancelled";
}

}  // namespace

std::string EventIdOf(absl::string_view site, absl::string_view entry_id, int index) {
  std::vector<std::string> parts = absl::StrSplit(entry_id, '-');
  uint64_t ms = 0;
  uint64_t sequence = 0;
  if (parts.size() == 2) {
    (void)absl::SimpleAtoi(parts[0], &ms);
    (void)absl::SimpleAtoi(parts[1], &sequence);
  }
  // FNV-1a of the site keeps the ids of different sites apart.
  uint64_t site_hash = 1469598103934665603ULL;
  for (unsigned char c : site) {
    site_hash ^= c;
    site_hash *= 1099511628211ULL;
  }
  const uint64_t high = (ms << 16) | 0x7000u | (sequence & 0xfff);
  const uint64_t low = ((site_hash ^ ((sequence >> 12) << 8) ^ static_cast<uint64_t>(index)) &
                        0x3fffffffffffffffULL) |
                       0x8000000000000000ULL;
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
                         high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

std::vector<events::v1::Event> EventsOfChange(const Change& change, absl::string_view site) {
  const std::string kind = Field(change.fields, "t");
  const google::protobuf::Struct& snap = SnapshotOf(change);
  const int64_t at = IntField(change.fields, "at");
  std::vector<events::v1::Event> events;
  auto next = [&]() -> events::v1::Event& {
    events::v1::Event& event = events.emplace_back();
    // At most 16 events per change, and changes share their entry.
    event.set_id(
        EventIdOf(site, change.entry_id, change.sub * 16 + static_cast<int>(events.size()) - 1));
    *event.mutable_occurred_at() = Millis(at);
    event.set_site(std::string(site));
    event.set_producer("services/calls");
    return event;
  };
  if (kind == "call_offered") {
    auto* offered = next().mutable_call_offered();
    *offered->mutable_call() = Context(change);
    offered->set_customer_number(Field(snap, "cnum"));
    offered->set_dialled_number(Field(snap, "dnum"));
    offered->set_vip(Field(snap, "vip") == "1");
    offered->set_abusive(Field(snap, "abusive") == "1");
  } else if (kind == "call_queued") {
    auto* queued = next().mutable_call_queued();
    *queued->mutable_call() = Context(change);
    queued->set_position(static_cast<int32_t>(IntField(change.fields, "position")));
    SetDuration(queued->mutable_estimated_wait(), IntField(change.fields, "ewt"));
    queued->set_requeued(change.fields.fields().count("requeued") > 0);
  } else if (kind == "call_reserved") {
    auto* reserved = next().mutable_call_reserved();
    *reserved->mutable_call() = Context(change);
    *reserved->mutable_expires_at() = Millis(IntField(change.fields, "exp"));
    reserved->set_attempt(static_cast<int32_t>(IntField(change.fields, "attempt")));
    SetDuration(reserved->mutable_wait_time(), at - IntField(snap, "t_queue", at));
    reserved->set_reservation(CallName(Field(change.fields, "res")));
  } else if (kind == "reservation_rejected") {
    auto* rejected = next().mutable_reservation_rejected();
    *rejected->mutable_call() = Context(change);
    rejected->mutable_call()->set_operator_(OperatorName(Field(change.fields, "op")));
    rejected->set_reason(Field(change.fields, "reason"));
    rejected->set_operator_misses(static_cast<int32_t>(IntField(change.fields, "misses")));
    rejected->set_reservation(CallName(Field(change.fields, "res")));
  } else if (kind == "reservation_timed_out") {
    auto* timed_out = next().mutable_reservation_timed_out();
    *timed_out->mutable_call() = Context(change);
    timed_out->mutable_call()->set_operator_(OperatorName(Field(change.fields, "op")));
    timed_out->set_operator_misses(static_cast<int32_t>(IntField(change.fields, "misses")));
    timed_out->set_reservation(CallName(Field(change.fields, "res")));
  } else if (kind == "reservation_cancelled") {
    auto* cancelled = next().mutable_reservation_cancelled();
    *cancelled->mutable_call() = Context(change);
    cancelled->mutable_call()->set_operator_(OperatorName(Field(change.fields, "op")));
    cancelled->set_reservation(CallName(Field(change.fields, "res")));
    cancelled->set_reason(Field(change.fields, "reason"));
  } else if (kind == "call_connected") {
    auto* connected = next().mutable_call_connected();
    *connected->mutable_call() = Context(change);
    SetDuration(connected->mutable_wait_time(),
                IntField(snap, "t_connect") - IntField(snap, "t_queue"));
    SetDuration(connected->mutable_ring_time(),
                IntField(snap, "t_accept") - IntField(snap, "t_reserve"));
  } else if (kind == "call_held") {
    auto* held = next().mutable_call_held();
    *held->mutable_call() = Context(change);
    auto it = change.fields.fields().find("on_hold");
    held->set_on_hold(it != change.fields.fields().end() && it->second.bool_value());
    SetDuration(held->mutable_hold_time(), IntField(change.fields, "held_ms"));
  } else if (kind == "call_transferred") {
    auto* transferred = next().mutable_call_transferred();
    *transferred->mutable_call() = Context(change);
    transferred->set_new_call(CallName(Field(change.fields, "new_call")));
    transferred->set_to_queue(QueueName(Field(change.fields, "to_queue")));
    transferred->set_to_operator(OperatorName(Field(change.fields, "to_op")));
  } else if (kind == "call_abandoned") {
    auto* abandoned = next().mutable_call_abandoned();
    *abandoned->mutable_call() = Context(change);
    SetDuration(abandoned->mutable_wait_time(), IntField(change.fields, "waited"));
    v1::CallState in = v1::CALL_STATE_QUEUED;
    v1::CallState_Parse(absl::StrCat("CALL_STATE_", Field(snap, "abandoned_in")), &in);
    abandoned->set_abandoned_in(in);
  } else if (kind == "call_failed") {
    auto* failed = next().mutable_call_failed();
    *failed->mutable_call() = Context(change);
    failed->set_reason(Field(snap, "fail_reason"));
  } else if (kind == "wrap_up_written") {
    const v1::Call call = CallFromSnapshot(Field(change.fields, "call"), snap);
    auto* written = next().mutable_wrap_up_written();
    *written->mutable_call() = Context(change);
    written->mutable_call()->set_operator_(OperatorName(Field(change.fields, "op")));
    written->set_disposition(call.wrap_up().disposition());
    written->set_topic(call.wrap_up().topic());
    written->set_notes(call.wrap_up().notes());
    written->set_precedent(call.wrap_up().precedent());
    if (call.wrap_up().has_new_precedent()) {
      const v1::PrecedentDraft& draft = call.wrap_up().new_precedent();
      auto* precedent = written->mutable_new_precedent();
      precedent->set_problem(draft.problem());
      precedent->set_solution(draft.solution());
      precedent->set_product(draft.product());
      *precedent->mutable_tags() = draft.tags();
      precedent->set_language(draft.language());
      precedent->set_outcome(call.wrap_up().disposition());
    }
    *written->mutable_wrap_up_time() = call.wrap_up_duration();
  } else if (kind == "wrap_up_timed_out") {
    auto* timed_out = next().mutable_wrap_up_timed_out();
    *timed_out->mutable_call() = Context(change);
    SetDuration(timed_out->mutable_limit(), IntField(snap, "t_wrapdl") - IntField(snap, "t_end"));
  } else if (kind == "call_completed") {
    const v1::Call call = CallFromSnapshot(Field(change.fields, "call"), snap);
    auto* completed = next().mutable_call_completed();
    *completed->mutable_call() = Context(change);
    *completed->mutable_offered_at() = call.offer_time();
    *completed->mutable_connected_at() = call.connect_time();
    *completed->mutable_ended_at() = call.end_time();
    *completed->mutable_wait_time() = call.wait_duration();
    *completed->mutable_talk_time() = call.talk_duration();
    *completed->mutable_hold_time() = call.hold_duration();
    *completed->mutable_wrap_up_time() = call.wrap_up_duration();
    completed->set_end_reason(call.end_reason());
    completed->set_disposition(call.wrap_up().disposition());
    completed->set_topic(call.wrap_up().topic());
  } else if (kind == "operator_state") {
    auto* changed = next().mutable_operator_state_changed();
    changed->set_operator_(OperatorName(Field(change.fields, "op")));
    changed->set_team(TeamName(Field(change.fields, "team")));
    v1::OperatorState previous = v1::OPERATOR_STATE_OFFLINE;
    v1::OperatorState_Parse(absl::StrCat("OPERATOR_STATE_", Field(change.fields, "prev")),
                            &previous);
    changed->set_previous_state(previous);
    SetDuration(changed->mutable_previous_state_duration(), IntField(change.fields, "prev_ms"));
    v1::OperatorState state = v1::OPERATOR_STATE_OFFLINE;
    v1::OperatorState_Parse(absl::StrCat("OPERATOR_STATE_", Field(change.fields, "state")), &state);
    changed->set_state(state);
    changed->set_reason_code(Field(change.fields, "reason"));
    if (!Field(change.fields, "call").empty())
      changed->set_call(CallName(Field(change.fields, "call")));
    changed->set_changed_by(Field(change.fields, "by"));
    const google::protobuf::Value queues = ParseJsonValue(Field(change.fields, "queues"));
    {
      for (const auto& membership : queues.list_value().values()) {
        auto q = membership.struct_value().fields().find("q");
        if (q != membership.struct_value().fields().end()) {
          changed->add_queues(QueueName(q->second.string_value()));
        }
      }
    }
  } else if (kind == "help_requested") {
    const v1::HelpRequest help = HelpRequestFromSnapshot(Field(change.fields, "help"), snap);
    auto* requested = next().mutable_help_requested();
    requested->set_help_request(help.name());
    requested->set_operator_(help.operator_());
    requested->set_team(help.team());
    requested->set_call(help.call());
    requested->set_reason(help.reason());
    requested->set_urgent(help.urgent());
  } else if (kind == "help_answered") {
    const v1::HelpRequest help = HelpRequestFromSnapshot(Field(change.fields, "help"), snap);
    auto* answered = next().mutable_help_answered();
    answered->set_help_request(help.name());
    answered->set_supervisor(help.supervisor());
    answered->set_operator_(help.operator_());
    answered->set_action(help.action());
    SetDuration(answered->mutable_response_time(),
                IntField(snap, "t_close") - IntField(snap, "t_create"));
  }
  return events;
}

const google::protobuf::Struct& SnapshotOf(const Change& change) {
  static const auto* const kEmpty = new google::protobuf::Struct();
  if (change.call_snapshot != nullptr) return *change.call_snapshot;
  auto it = change.fields.fields().find("snap");
  return it == change.fields.fields().end() ? *kEmpty : it->second.struct_value();
}

std::vector<Change> ParseChanges(const common::RedisReply& entries) {
  std::vector<Change> changes;
  for (const common::RedisReply& entry : entries.elements) {
    if (entry.elements.size() < 2) continue;
    const std::string& entry_id = entry.elements[0].str;
    const common::RedisReply& fields = entry.elements[1];
    for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      if (fields.elements[i].str != "c") continue;
      absl::StatusOr<google::protobuf::Struct> parsed = ParseJsonObject(fields.elements[i + 1].str);
      if (!parsed.ok()) {
        common::LogError("unreadable change in the calls log", {{"entry", entry_id}});
        continue;
      }
      auto& top = *parsed->mutable_fields();
      auto list = top.find("c");
      if (list == top.end()) continue;
      // Each call's snapshot is moved out of the entry once and shared by its changes: a
      // snapshot is some forty fields, and a script logs several changes of one call.
      absl::flat_hash_map<std::string, std::shared_ptr<const google::protobuf::Struct>> snapshots;
      if (auto s = top.find("s"); s != top.end()) {
        for (auto& [call_id, snapshot] : *s->second.mutable_struct_value()->mutable_fields()) {
          snapshots[call_id] = std::make_shared<const google::protobuf::Struct>(
              std::move(*snapshot.mutable_struct_value()));
        }
      }
      int sub = 0;
      for (google::protobuf::Value& item : *list->second.mutable_list_value()->mutable_values()) {
        Change change;
        change.entry_id = entry_id;
        change.sub = sub++;
        change.fields = std::move(*item.mutable_struct_value());
        const auto& change_fields = change.fields.fields();
        if (!change_fields.contains("snap")) {
          if (auto call = change_fields.find("call"); call != change_fields.end()) {
            auto snapshot = snapshots.find(call->second.string_value());
            if (snapshot != snapshots.end()) change.call_snapshot = snapshot->second;
          }
        }
        changes.push_back(std::move(change));
      }
    }
  }
  return changes;
}

ChangeRelay::ChangeRelay(common::PgPool* pg, common::RedisClient* redis,
                         const common::EventPublisher* publisher, Options options)
    : pg_(pg),
      redis_(redis),
      publisher_(publisher),
      options_(std::move(options)),
      log_key_(absl::StrCat("cc:{", options_.site, "}:calls:log")) {}

ChangeRelay::~ChangeRelay() { Stop(); }

absl::Status ChangeRelay::EnsureGroup() {
  absl::StatusOr<common::RedisReply> reply =
      redis_->Command({"XGROUP", "CREATE", log_key_, kGroup, "0", "MKSTREAM"});
  if (!reply.ok() && !absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return reply.status();
  }
  return absl::OkStatus();
}

absl::Status ChangeRelay::Apply(const std::vector<Change>& changes) {
  if (changes.empty()) return absl::OkStatus();
  // The latest snapshot of every call and help request the batch touched.
  struct Latest {
    int64_t version;
    const google::protobuf::Struct* snapshot;  // in `changes`
  };
  std::map<std::string, Latest> calls;
  std::map<std::string, Latest> helps;
  std::vector<events::v1::Event> events;
  for (const Change& change : changes) {
    const std::string kind = Field(change.fields, "t");
    const int64_t version = VersionOf(change.entry_id);
    if (kind.rfind("help_", 0) == 0) {
      helps[Field(change.fields, "help")] = {version, &SnapshotOf(change)};
    } else if (IsCallChange(kind) && !Field(change.fields, "call").empty()) {
      calls[Field(change.fields, "call")] = {version, &SnapshotOf(change)};
    }
    for (events::v1::Event& event : EventsOfChange(change, options_.site)) {
      events.push_back(std::move(event));
    }
  }
  CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    // One statement for the batch's calls: a round trip per call was most of the relay's wait
    // and a good part of its CPU. Values are quoted by the connection (PQescapeStringConn).
    std::string rows;
    for (const auto& [id, latest] : calls) {
      const v1::Call call = CallFromSnapshot(id, *latest.snapshot);
      if (!call.has_offer_time()) continue;  // a snapshot without the call's data
      const std::string record = call.SerializeAsString();
      const std::string end_time =
          call.has_end_time()
              ? absl::StrCat("timestamptz 'epoch' + ", common::MicrosFromTimestamp(call.end_time()),
                             " * interval '1 microsecond'")
              : "NULL::timestamptz";
      absl::StrAppend(
          &rows, rows.empty() ? "(" : ", (", txn.quote(id), "::uuid, ", txn.quote(call.site()),
          ", ", static_cast<int>(call.direction()), ", ", static_cast<int>(call.state()), ", ",
          txn.quote(IdOf(call.queue(), "queues")), ", ",
          txn.quote(IdOf(call.operator_(), "operators")), ", ",
          txn.quote(IdOf(call.team(), "teams")), ", ", txn.quote(call.customer()), ", ",
          txn.quote(call.customer_number().e164()), ", ", txn.quote(call.wrap_up().disposition()),
          ", ", txn.quote(call.campaign()), ", ", txn.quote(IdOf(call.chain_root(), "calls")), ", ",
          call.missing_wrap_up() ? "true" : "false", ", timestamptz 'epoch' + ",
          common::MicrosFromTimestamp(call.offer_time()), " * interval '1 microsecond', ", end_time,
          ", ", txn.quote_raw(reinterpret_cast<const unsigned char*>(record.data()), record.size()),
          ", ", latest.version, ")");
    }
    if (!rows.empty()) {
      txn.exec(absl::StrCat(
          "INSERT INTO call_records (id, site, direction, state, queue_id, operator_id, team_id, "
          "customer, customer_number, disposition, campaign, chain_root, missing_wrap_up, "
          "offer_time, end_time, record, version) VALUES ",
          rows,
          " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, "
          "queue_id = EXCLUDED.queue_id, operator_id = EXCLUDED.operator_id, "
          "team_id = EXCLUDED.team_id, customer = EXCLUDED.customer, "
          "disposition = EXCLUDED.disposition, missing_wrap_up = EXCLUDED.missing_wrap_up, "
          "end_time = EXCLUDED.end_time, record = EXCLUDED.record, version = EXCLUDED.version, "
          "update_time = now() WHERE call_records.version < EXCLUDED.version"));
    }
    for (const auto& [id, latest] : helps) {
      const v1::HelpRequest help = HelpRequestFromSnapshot(id, *latest.snapshot);
      txn.exec_params(
          "INSERT INTO help_requests (id, site, operator_id, team_id, state, create_time, "
          "record, version) VALUES ($1::uuid, $2, $3, $4, $5, timestamptz 'epoch' + "
          "$6::bigint * interval '1 microsecond', $7, $8) ON CONFLICT (id) DO UPDATE SET "
          "state = EXCLUDED.state, record = EXCLUDED.record, version = EXCLUDED.version "
          "WHERE help_requests.version < EXCLUDED.version",
          id, help.site(), IdOf(help.operator_(), "operators"), IdOf(help.team(), "teams"),
          static_cast<int>(help.state()), common::MicrosFromTimestamp(help.create_time()),
          common::PgBytes(help.SerializeAsString()), latest.version);
    }
    return absl::OkStatus();
  }));
  if (!events.empty()) {
    std::vector<std::vector<std::string>> commands;
    commands.reserve(events.size());
    for (const events::v1::Event& event : events) {
      commands.push_back(publisher_->XaddCommand(event, event.SerializeAsString()));
    }
    CC_ASSIGN_OR_RETURN(auto replies, redis_->Pipeline(commands));
    for (const auto& reply : replies) CC_RETURN_IF_ERROR(reply.status());
  }
  std::vector<std::string> ack = {"XACK", log_key_, kGroup};
  for (const Change& change : changes) {
    if (ack.back() != change.entry_id) ack.push_back(change.entry_id);
  }
  std::vector<absl::string_view> args(ack.begin(), ack.end());
  return redis_->Command(args).status();
}

absl::Status ChangeRelay::TrimLog() {
  // What the relay still needs starts at its oldest pending entry, or after everything it has
  // been given; the live views need the last minute at most.
  std::string keep_from;
  CC_ASSIGN_OR_RETURN(common::RedisReply pending, redis_->Command({"XPENDING", log_key_, kGroup}));
  if (pending.elements.size() >= 2 && pending.elements[0].integer > 0) {
    keep_from = pending.elements[1].str;
  } else {
    CC_ASSIGN_OR_RETURN(common::RedisReply groups, redis_->Command({"XINFO", "GROUPS", log_key_}));
    for (const common::RedisReply& group : groups.elements) {
      bool ours = false;
      std::string last_delivered;
      for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
        if (group.elements[i].str == "name") ours = group.elements[i + 1].str == kGroup;
        if (group.elements[i].str == "last-delivered-id")
          last_delivered = group.elements[i + 1].str;
      }
      if (ours) keep_from = last_delivered;
    }
  }
  if (keep_from.empty()) return absl::OkStatus();
  const int64_t minute_ago = absl::ToUnixMillis(absl::Now() - absl::Minutes(1));
  int64_t keep_ms = 0;
  (void)absl::SimpleAtoi(keep_from.substr(0, keep_from.find('-')), &keep_ms);
  if (keep_ms > minute_ago) keep_from = absl::StrCat(minute_ago, "-0");
  return redis_->Command({"XTRIM", log_key_, "MINID", "~", keep_from}).status();
}

absl::StatusOr<int> ChangeRelay::PollOnce() {
  int applied = 0;
  if (absl::Now() >= next_claim_) {
    next_claim_ = absl::Now() + absl::Seconds(2);
    CC_ASSIGN_OR_RETURN(
        common::RedisReply claimed,
        redis_->Command({"XAUTOCLAIM", log_key_, kGroup, options_.consumer,
                         absl::StrCat(absl::ToInt64Milliseconds(options_.claim_min_idle)), "0-0",
                         "COUNT", absl::StrCat(options_.batch_size)}));
    if (claimed.elements.size() >= 2) {
      std::vector<Change> stale = ParseChanges(claimed.elements[1]);
      if (!stale.empty()) {
        common::LogInfo("relaying changes left pending by another replica",
                        {{"count", static_cast<int64_t>(stale.size())}});
        CC_RETURN_IF_ERROR(Apply(stale));
        applied += static_cast<int>(stale.size());
      }
    }
  }
  // A batch this relay could not apply is still pending on it: it is retried first, after the
  // thread's back-off, instead of waiting out claim_min_idle for some replica to claim it.
  if (retry_own_pending_) {
    CC_ASSIGN_OR_RETURN(
        common::RedisReply own,
        redis_->Command({"XREADGROUP", "GROUP", kGroup, options_.consumer, "COUNT",
                         absl::StrCat(options_.batch_size), "STREAMS", log_key_, "0"}));
    size_t entries = 0;
    for (const common::RedisReply& stream : own.elements) {
      if (stream.elements.size() < 2) continue;
      entries += stream.elements[1].elements.size();
      std::vector<Change> pending = ParseChanges(stream.elements[1]);
      CC_RETURN_IF_ERROR(Apply(pending));
      applied += static_cast<int>(pending.size());
    }
    retry_own_pending_ = entries >= static_cast<size_t>(options_.batch_size);
  }
  if (absl::Now() >= next_trim_) {
    next_trim_ = absl::Now() + absl::Seconds(5);
    if (absl::Status trimmed = TrimLog(); !trimmed.ok()) {
      common::LogWarning("trimming the calls log", {{"error", trimmed}});
    }
  }
  if (blocking_ == nullptr || blocking_->broken()) {
    CC_ASSIGN_OR_RETURN(blocking_,
                        redis_->NewDedicatedConnection(options_.block + absl::Seconds(5)));
  }
  CC_ASSIGN_OR_RETURN(common::RedisReply reply,
                      blocking_->Command({"XREADGROUP", "GROUP", kGroup, options_.consumer, "COUNT",
                                          absl::StrCat(options_.batch_size), "BLOCK",
                                          absl::StrCat(absl::ToInt64Milliseconds(options_.block)),
                                          "STREAMS", log_key_, ">"}));
  if (reply.is_nil()) return applied;
  for (const common::RedisReply& stream : reply.elements) {
    if (stream.elements.size() < 2) continue;
    std::vector<Change> changes = ParseChanges(stream.elements[1]);
    CC_RETURN_IF_ERROR(Apply(changes));
    applied += static_cast<int>(changes.size());
  }
  return applied;
}

void ChangeRelay::Start() {
  if (thread_.joinable()) return;
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
      retry_own_pending_ = true;
      common::LogWarning("change relay error; retrying", {{"error", status}});
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  });
}

void ChangeRelay::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace contactcentre::calls
