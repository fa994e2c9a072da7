#include "services/calls/router.h"

#include <google/protobuf/util/json_util.h>

#include <deque>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/status.h"
#include "services/calls/json.h"
#include "services/calls/opening_hours.h"
#include "services/calls/scripts.h"

namespace contactcentre::calls {
namespace {

const common::RedisScript& ScriptOf(Script script) {
  // RedisScript holds a mutex (its cached SHA1), so the scripts are built in place.
  static const auto* const kScripts = [] {
    auto* list = new std::deque<common::RedisScript>();
    list->emplace_back("offer_call", scripts::kOfferCall);
    list->emplace_back("set_presence", scripts::kSetPresence);
    list->emplace_back("heartbeat", scripts::kHeartbeat);
    list->emplace_back("accept_reservation", scripts::kAcceptReservation);
    list->emplace_back("reject_reservation", scripts::kRejectReservation);
    list->emplace_back("connect_call", scripts::kConnectCall);
    list->emplace_back("hang_up", scripts::kHangUp);
    list->emplace_back("hold_call", scripts::kHoldCall);
    list->emplace_back("complete_wrap_up", scripts::kCompleteWrapUp);
    list->emplace_back("transfer_call", scripts::kTransferCall);
    list->emplace_back("sweep", scripts::kSweep);
    list->emplace_back("configure_operator", scripts::kConfigureOperator);
    list->emplace_back("configure_queue", scripts::kConfigureQueue);
    list->emplace_back("help", scripts::kHelp);
    list->emplace_back("place_outbound", scripts::kPlaceOutbound);
    list->emplace_back("dial_answered", scripts::kDialAnswered);
    list->emplace_back("preview", scripts::kPreview);
    list->emplace_back("telephony", scripts::kTelephony);
    list->emplace_back("warm_transfer", scripts::kWarmTransfer);
    return list;
  }();
  return (*kScripts)[static_cast<size_t>(script)];
}

// FNV-1a: stable across processes and builds, unlike std::hash and absl::Hash.
std::string Fingerprint(const google::protobuf::Message& request) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : common::DeterministicBytes(request)) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return absl::StrFormat("%016x", hash);
}

std::string MillisText(absl::Duration duration) {
  return absl::StrCat(absl::ToInt64Milliseconds(duration));
}

}  // namespace

ScriptArgs& ScriptArgs::Set(absl::string_view name, absl::string_view value) {
  (*values_.mutable_fields())[std::string(name)].set_string_value(std::string(value));
  return *this;
}

ScriptArgs& ScriptArgs::Set(absl::string_view name, int64_t value) {
  (*values_.mutable_fields())[std::string(name)].set_number_value(static_cast<double>(value));
  return *this;
}

ScriptArgs& ScriptArgs::Set(absl::string_view name, bool value) {
  (*values_.mutable_fields())[std::string(name)].set_bool_value(value);
  return *this;
}

ScriptArgs& ScriptArgs::SetList(absl::string_view name, const std::vector<std::string>& values) {
  google::protobuf::ListValue* list =
      (*values_.mutable_fields())[std::string(name)].mutable_list_value();
  for (const std::string& value : values) list->add_values()->set_string_value(value);
  return *this;
}

ScriptArgs& ScriptArgs::SetStruct(absl::string_view name, google::protobuf::Struct value) {
  *(*values_.mutable_fields())[std::string(name)].mutable_struct_value() = std::move(value);
  return *this;
}

ScriptArgs& ScriptArgs::Request(absl::string_view method, absl::string_view request_id,
                                const google::protobuf::Message& request) {
  Set("method", method);
  Set("request_id", request_id);
  if (!request_id.empty()) Set("fingerprint", Fingerprint(request));
  return *this;
}

Router::Router(common::RedisClient* redis, std::string site)
    : redis_(redis), site_(std::move(site)), prefix_(absl::StrCat("cc:{", site_, "}")) {}

absl::StatusOr<google::protobuf::Struct> Router::Run(Script script, const ScriptArgs& args) const {
  google::protobuf::Struct values = args.values();
  // Scripts cannot draw random numbers of their own (Redis seeds them identically).
  static thread_local absl::BitGen random;
  (*values.mutable_fields())["random"].set_number_value(
      static_cast<double>(absl::Uniform<uint32_t>(random)));
  // Nor unique ids: the telephony commands a script issues are named after this one.
  (*values.mutable_fields())["nonce"].set_string_value(common::NewId());
  const std::string json = ToJson(values);
  CC_ASSIGN_OR_RETURN(common::RedisReply reply, redis_->Eval(ScriptOf(script), {prefix_}, {json}));
  absl::StatusOr<google::protobuf::Struct> result = ParseJsonObject(reply.str);
  if (!result.ok()) {
    return absl::InternalError(absl::StrCat("decoding the answer of ", ScriptOf(script).name(),
                                            ": ", result.status().message()));
  }
  return result;
}

absl::StatusOr<google::protobuf::Struct> Router::Read(absl::string_view kind,
                                                      absl::string_view id) const {
  CC_ASSIGN_OR_RETURN(common::RedisReply reply,
                      redis_->Command({"HGETALL", absl::StrCat(prefix_, ":", kind, ":", id)}));
  google::protobuf::Struct snapshot;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    (*snapshot.mutable_fields())[reply.elements[i].str].set_string_value(reply.elements[i + 1].str);
  }
  return snapshot;
}

absl::Status RedisRoutingConfigWriter::WriteOperator(const OperatorRouting& routing) {
  std::vector<std::string> memberships;
  for (const auto& m : routing.memberships) {
    google::protobuf::Struct membership;
    auto& fields = *membership.mutable_fields();
    fields["q"].set_string_value(m.queue_id);
    fields["tier"].set_number_value(m.tier);
    fields["penalty"].set_number_value(m.penalty);
    fields["level"].set_number_value(m.level);
    fields["ord"].set_number_value(static_cast<double>(m.order));
    fields["paused"].set_bool_value(m.paused);
    memberships.push_back(ToJson(membership));
  }
  std::vector<std::string> deesc;
  for (const std::string& queue : routing.de_escalation_queues) {
    deesc.push_back(absl::StrCat("\"", queue, "\""));
  }
  ScriptArgs args;
  args.Set("op", routing.operator_id)
      .Set("team", routing.team_id)
      .Set("site", routing.site)
      .Set("display", routing.display_name)
      .Set("endpoint", routing.endpoint)
      .Set("role", routing.role)
      .Set("disabled", routing.disabled)
      .Set("deleted", routing.deleted)
      .Set("queues", absl::StrCat("[", absl::StrJoin(memberships, ","), "]"))
      .Set("deesc", absl::StrCat("[", absl::StrJoin(deesc, ","), "]"))
      .Set("supervises", absl::StrJoin(routing.supervised_team_ids, ","));
  return Router(redis_, routing.site).Run(Script::kConfigureOperator, args).status();
}

absl::Status RedisRoutingConfigWriter::WriteQueue(const QueueRouting& routing) {
  std::vector<std::string> codes;
  for (const std::string& code : routing.dispositions) {
    google::protobuf::Value value;
    value.set_string_value(code);
    codes.push_back(ToJson(value));
  }
  google::protobuf::Struct fields;
  auto& f = *fields.mutable_fields();
  f["strategy"].set_number_value(routing.strategy == 0 ? 1 : routing.strategy);
  f["ring_ms"].set_string_value(MillisText(routing.ring_timeout));
  f["wrap_ms"].set_string_value(MillisText(routing.wrap_up_time_limit));
  f["max_miss"].set_number_value(routing.max_misses_before_not_ready);
  f["sl_ms"].set_string_value(MillisText(routing.service_level_threshold));
  f["short_ms"].set_string_value(MillisText(routing.short_abandon_threshold));
  f["deesc"].set_string_value(routing.de_escalation_skill);
  f["vip_boost"].set_number_value(routing.vip_priority_boost);
  f["def_prio"].set_number_value(routing.default_priority);
  f["tier_wait_ms"].set_string_value(MillisText(routing.tier_wait));
  f["tiers"].set_string_value(absl::StrCat("[", absl::StrJoin(routing.tiers, ","), "]"));
  f["dispos"].set_string_value(absl::StrCat("[", absl::StrJoin(codes, ","), "]"));
  f["deleted"].set_number_value(routing.deleted ? 1 : 0);
  f["display"].set_string_value(routing.display_name);
  f["site"].set_string_value(routing.site);
  // Opening hours as absolute open intervals of the coming days (opening_hours.h): from an hour
  // ago (a replica whose clock is a little behind still finds the present) to 8 days ahead;
  // every replica rewrites them hourly, so a week of margin is left.
  std::string intervals;
  std::string horizon;
  if (routing.has_opening_hours && !routing.deleted) {
    const absl::Time now = absl::Now();
    CC_ASSIGN_OR_RETURN(OpenIntervals open,
                        ComputeOpenIntervals(routing.opening_hours, now - absl::Hours(1),
                                             now + absl::Hours(24 * 8)));
    intervals = EncodeOpenIntervals(open);
    horizon = absl::StrCat(open.horizon_ms);
  }
  f["oh_on"].set_string_value(horizon.empty() ? "" : "1");
  f["oh"].set_string_value(intervals);
  f["oh_until"].set_string_value(horizon);
  f["ovf_wait_ms"].set_string_value(
      routing.has_overflow_max_wait ? MillisText(routing.overflow_max_wait) : "");
  f["ovf_max"].set_number_value(routing.overflow_max_waiting_calls);
  f["ovf_target"].set_string_value(routing.overflow_target_queue_id);
  f["ovf_fwd"].set_string_value(routing.overflow_forward_e164);
  f["ovf_ann"].set_string_value(routing.overflow_announcement);
  ScriptArgs args;
  args.Set("queue", routing.queue_id).SetStruct("fields", std::move(fields));
  return Router(redis_, routing.site).Run(Script::kConfigureQueue, args).status();
}

}  // namespace contactcentre::calls
