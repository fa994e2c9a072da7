#include "services/calls/snapshot.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/pg_util.h"
#include "services/calls/json.h"

namespace contactcentre::calls {
namespace {

google::protobuf::Timestamp Millis(int64_t ms) { return common::TimestampFromMicros(ms * 1000); }

void SetDuration(google::protobuf::Duration* duration, int64_t ms) {
  if (ms < 0) ms = 0;
  duration->set_seconds(ms / 1000);
  duration->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

// A JSON field of a snapshot, parsed into a generic value.
google::protobuf::Value JsonField(const google::protobuf::Struct& snapshot,
                                  absl::string_view name) {
  const std::string text = Field(snapshot, name);
  if (text.empty()) return google::protobuf::Value();
  return ParseJsonValue(text);
}

int64_t Int(const google::protobuf::Value& value, absl::string_view name) {
  auto it = value.struct_value().fields().find(std::string(name));
  if (it == value.struct_value().fields().end()) return 0;
  return static_cast<int64_t>(it->second.number_value());
}

std::string Str(const google::protobuf::Value& value, absl::string_view name) {
  auto it = value.struct_value().fields().find(std::string(name));
  if (it == value.struct_value().fields().end()) return "";
  return it->second.string_value();
}

v1::CallState State(absl::string_view text) {
  v1::CallState state = v1::CALL_STATE_UNSPECIFIED;
  v1::CallState_Parse(absl::StrCat("CALL_STATE_", text), &state);
  return state;
}

}  // namespace

std::string Field(const google::protobuf::Struct& snapshot, absl::string_view name) {
  auto it = snapshot.fields().find(std::string(name));
  if (it == snapshot.fields().end()) return "";
  if (it->second.has_number_value()) {
    return absl::StrCat(static_cast<int64_t>(it->second.number_value()));
  }
  return it->second.string_value();
}

int64_t IntField(const google::protobuf::Struct& snapshot, absl::string_view name,
                 int64_t fallback) {
  int64_t value;
  const std::string text = Field(snapshot, name);
  if (text.empty() || !absl::SimpleAtoi(text, &value)) return fallback;
  return value;
}

std::string CallName(absl::string_view id) { return absl::StrCat("calls/", id); }
std::string OperatorName(absl::string_view id) {
  return id.empty() ? "" : absl::StrCat("operators/", id);
}
std::string QueueName(absl::string_view id) {
  return id.empty() ? "" : absl::StrCat("queues/", id);
}
std::string TeamName(absl::string_view id) { return id.empty() ? "" : absl::StrCat("teams/", id); }
std::string HelpRequestName(absl::string_view id) { return absl::StrCat("helpRequests/", id); }

std::string IdOf(absl::string_view name, absl::string_view collection) {
  const std::string prefix = absl::StrCat(collection, "/");
  if (!absl::StartsWith(name, prefix) || name.size() == prefix.size()) return "";
  const absl::string_view id = name.substr(prefix.size());
  if (id.find('/') != absl::string_view::npos || id.size() > 64) return "";
  return std::string(id);
}

v1::Call CallFromSnapshot(absl::string_view call_id, const google::protobuf::Struct& snap) {
  v1::Call call;
  call.set_name(CallName(call_id));
  call.set_site(Field(snap, "site"));
  call.set_direction(Field(snap, "dir") == "OUTBOUND" ? v1::CALL_DIRECTION_OUTBOUND
                                                      : v1::CALL_DIRECTION_INBOUND);
  call.set_state(State(Field(snap, "state")));
  call.set_queue(QueueName(Field(snap, "queue")));
  // Only when overflow moved the call elsewhere (the contract's "original_queue").
  if (!Field(snap, "orig_queue").empty() && Field(snap, "orig_queue") != Field(snap, "queue")) {
    call.set_original_queue(QueueName(Field(snap, "orig_queue")));
  }
  call.set_operator_(OperatorName(Field(snap, "op")));
  call.set_team(TeamName(Field(snap, "team")));
  call.set_customer(Field(snap, "customer"));
  call.set_customer_lookup(static_cast<v1::CustomerLookupResult>(IntField(snap, "lookup")));
  call.mutable_customer_number()->set_e164(Field(snap, "cnum"));
  call.mutable_dialled_number()->set_e164(Field(snap, "dnum"));
  call.set_priority(static_cast<int32_t>(IntField(snap, "prio")));
  call.set_requested_priority(static_cast<int32_t>(IntField(snap, "rprio")));
  call.set_vip(Field(snap, "vip") == "1");
  call.set_abusive(Field(snap, "abusive") == "1");
  const google::protobuf::Value attributes = JsonField(snap, "attrs");
  for (const auto& [key, value] : attributes.struct_value().fields()) {
    (*call.mutable_attributes())[key] = value.string_value();
  }
  call.set_campaign(Field(snap, "campaign"));
  call.set_chain_root(CallName(Field(snap, "chain_root").empty() ? std::string(call_id)
                                                                 : Field(snap, "chain_root")));
  if (!Field(snap, "prev").empty()) call.set_previous_call(CallName(Field(snap, "prev")));
  if (!Field(snap, "next").empty()) call.set_next_call(CallName(Field(snap, "next")));
  const google::protobuf::Value transfer = JsonField(snap, "transfer");
  if (transfer.has_struct_value()) {
    v1::TransferDetails* details = call.mutable_transfer();
    details->set_from_operator(OperatorName(Str(transfer, "from")));
    details->set_mode(Str(transfer, "mode") == "WARM" ? v1::TRANSFER_MODE_WARM
                                                      : v1::TRANSFER_MODE_COLD);
    details->set_to_queue(QueueName(Str(transfer, "to_queue")));
    details->set_to_operator(OperatorName(Str(transfer, "to_op")));
    details->set_notes(Str(transfer, "notes"));
  }
  call.set_telephony_adapter(Field(snap, "adapter"));
  call.set_telephony_call_id(Field(snap, "tel_id"));
  // Takes the setter, not the field: mutable_x() would mark an unset time as present.
  const auto set_time = [&](const char* field,
                            google::protobuf::Timestamp* (v1::Call::*mutable_time)()) {
    const int64_t ms = IntField(snap, field);
    if (ms > 0) *(call.*mutable_time)() = Millis(ms);
  };
  set_time("t_offer", &v1::Call::mutable_offer_time);
  set_time("t_queue", &v1::Call::mutable_queue_time);
  set_time("t_reserve", &v1::Call::mutable_reserve_time);
  set_time("t_accept", &v1::Call::mutable_accept_time);
  set_time("t_connect", &v1::Call::mutable_connect_time);
  set_time("t_end", &v1::Call::mutable_end_time);
  set_time("t_wrapdl", &v1::Call::mutable_wrap_up_deadline);
  set_time("t_wrap", &v1::Call::mutable_wrap_up_time);

  int64_t held_ms = 0;
  const google::protobuf::Value holds = JsonField(snap, "holds");
  for (const auto& hold : holds.list_value().values()) {
    v1::Hold* added = call.add_holds();
    *added->mutable_start_time() = Millis(Int(hold, "s"));
    *added->mutable_end_time() = Millis(Int(hold, "e"));
    held_ms += Int(hold, "e") - Int(hold, "s");
  }
  if (IntField(snap, "hold_start") > 0) {
    *call.add_holds()->mutable_start_time() = Millis(IntField(snap, "hold_start"));
  }
  const std::string current_reservation = Field(snap, "res");
  const google::protobuf::Value offers_json = JsonField(snap, "offers");
  const auto& offers = offers_json.list_value().values();
  for (int i = 0; i < offers.size(); ++i) {
    const auto& offer = offers[i];
    v1::Reservation* reservation = call.add_reservations();
    const int64_t attempt = Int(offer, "attempt");
    reservation->set_name(absl::StrCat("calls/", call_id, "/reservations/", attempt));
    reservation->set_operator_(OperatorName(Str(offer, "op")));
    reservation->set_attempt(static_cast<int32_t>(attempt));
    *reservation->mutable_offer_time() = Millis(Int(offer, "at"));
    *reservation->mutable_expire_time() = Millis(Int(offer, "exp"));
    const bool current = i == offers.size() - 1 &&
                         current_reservation == absl::StrCat(call_id, "/reservations/", attempt);
    const std::string outcome = Str(offer, "out");
    if (!outcome.empty()) {
      reservation->set_state(outcome == "REJECTED"    ? v1::RESERVATION_STATE_REJECTED
                             : outcome == "CANCELLED" ? v1::RESERVATION_STATE_CANCELLED
                                                      : v1::RESERVATION_STATE_EXPIRED);
      if (Int(offer, "closed") > 0)
        *reservation->mutable_close_time() = Millis(Int(offer, "closed"));
      reservation->set_reason(Str(offer, "reason"));
    } else if (current && Field(snap, "state") == "RESERVED") {
      reservation->set_state(Field(snap, "accepted") == "1" ? v1::RESERVATION_STATE_ACCEPTED
                                                            : v1::RESERVATION_STATE_PENDING);
    } else if (i == offers.size() - 1 && IntField(snap, "t_accept") > 0) {
      reservation->set_state(v1::RESERVATION_STATE_ACCEPTED);
    } else {
      reservation->set_state(v1::RESERVATION_STATE_EXPIRED);
    }
  }
  const int64_t queued = IntField(snap, "t_queue");
  const int64_t connected = IntField(snap, "t_connect");
  const int64_t ended = IntField(snap, "t_end");
  if (queued > 0 && (connected > 0 || ended > 0)) {
    SetDuration(call.mutable_wait_duration(), (connected > 0 ? connected : ended) - queued);
  }
  if (IntField(snap, "t_accept") > 0) {
    SetDuration(call.mutable_ring_duration(),
                IntField(snap, "t_accept") - IntField(snap, "t_reserve"));
  }
  if (connected > 0 && ended > 0) {
    SetDuration(call.mutable_talk_duration(), ended - connected - held_ms);
    SetDuration(call.mutable_hold_duration(), held_ms);
  }
  if (ended > 0 && IntField(snap, "t_wrap") > 0) {
    SetDuration(call.mutable_wrap_up_duration(), IntField(snap, "t_wrap") - ended);
  }
  v1::CallEndReason end_reason = v1::CALL_END_REASON_UNSPECIFIED;
  if (!Field(snap, "end_reason").empty()) {
    v1::CallEndReason_Parse(absl::StrCat("CALL_END_REASON_", Field(snap, "end_reason")),
                            &end_reason);
  }
  if (call.state() == v1::CALL_STATE_TRANSFERRED) end_reason = v1::CALL_END_REASON_TRANSFERRED;
  call.set_end_reason(end_reason);
  if (!Field(snap, "abandoned_in").empty())
    call.set_abandoned_in(State(Field(snap, "abandoned_in")));
  call.set_short_abandon(Field(snap, "short") == "1");
  call.set_failure_reason(Field(snap, "fail_reason"));
  if (!Field(snap, "dial_outcome").empty()) {
    v1::DialOutcome outcome = v1::DIAL_OUTCOME_UNSPECIFIED;
    v1::DialOutcome_Parse(absl::StrCat("DIAL_OUTCOME_", Field(snap, "dial_outcome")), &outcome);
    call.set_dial_outcome(outcome);
  }
  const google::protobuf::Value wrap = JsonField(snap, "wrap");
  if (wrap.has_struct_value()) {
    v1::WrapUp* wrap_up = call.mutable_wrap_up();
    wrap_up->set_disposition(Str(wrap, "disposition"));
    wrap_up->set_topic(Str(wrap, "topic"));
    wrap_up->set_notes(Str(wrap, "notes"));
    wrap_up->set_precedent(Str(wrap, "precedent"));
    wrap_up->set_author(Str(wrap, "author"));
    *wrap_up->mutable_write_time() = Millis(Int(wrap, "at"));
    auto late = wrap.struct_value().fields().find("late");
    wrap_up->set_late(late != wrap.struct_value().fields().end() && late->second.bool_value());
    auto draft = wrap.struct_value().fields().find("new_precedent");
    if (draft != wrap.struct_value().fields().end() && draft->second.has_struct_value()) {
      v1::PrecedentDraft* precedent = wrap_up->mutable_new_precedent();
      precedent->set_problem(Str(draft->second, "problem"));
      precedent->set_solution(Str(draft->second, "solution"));
      precedent->set_product(Str(draft->second, "product"));
      precedent->set_language(Str(draft->second, "language"));
      auto tags = draft->second.struct_value().fields().find("tags");
      if (tags != draft->second.struct_value().fields().end()) {
        for (const auto& tag : tags->second.list_value().values()) {
          precedent->add_tags(tag.string_value());
        }
      }
    }
  }
  call.set_missing_wrap_up(Field(snap, "missing_wrap") == "1");
  int64_t last = 0;
  for (const char* field :
       {"t_offer", "t_queue", "t_reserve", "t_accept", "t_connect", "t_end", "t_wrap"}) {
    last = std::max(last, IntField(snap, field));
  }
  if (last > 0) *call.mutable_update_time() = Millis(last);
  return call;
}

v1::OperatorPresence PresenceFromSnapshot(absl::string_view operator_id,
                                          const google::protobuf::Struct& snap) {
  v1::OperatorPresence presence;
  presence.set_operator_(OperatorName(operator_id));
  presence.set_display_name(Field(snap, "display"));
  presence.set_site(Field(snap, "site"));
  presence.set_team(TeamName(Field(snap, "team")));
  v1::OperatorState state = v1::OPERATOR_STATE_OFFLINE;
  if (!Field(snap, "state").empty()) {
    v1::OperatorState_Parse(absl::StrCat("OPERATOR_STATE_", Field(snap, "state")), &state);
  }
  presence.set_state(state);
  presence.set_reason_code(Field(snap, "reason"));
  presence.set_changed_by(Field(snap, "by"));
  if (IntField(snap, "since") > 0)
    *presence.mutable_state_start_time() = Millis(IntField(snap, "since"));
  presence.set_session_id(Field(snap, "session"));
  if (!Field(snap, "call").empty()) presence.set_current_call(CallName(Field(snap, "call")));
  if (!Field(snap, "res").empty())
    presence.set_reservation(absl::StrCat("calls/", Field(snap, "res")));
  if (!Field(snap, "pending_state").empty()) {
    v1::OperatorState pending = v1::OPERATOR_STATE_UNSPECIFIED;
    v1::OperatorState_Parse(absl::StrCat("OPERATOR_STATE_", Field(snap, "pending_state")),
                            &pending);
    presence.set_pending_state(pending);
    presence.set_pending_reason_code(Field(snap, "pending_reason"));
  }
  presence.set_consecutive_misses(static_cast<int32_t>(IntField(snap, "misses")));
  if (IntField(snap, "hb") > 0)
    *presence.mutable_last_heartbeat_time() = Millis(IntField(snap, "hb"));
  const int64_t today = IntField(snap, "handled_day", -1);
  const int64_t day_now = absl::ToUnixMillis(absl::Now()) / 86400000;
  presence.set_calls_handled_today(
      today == day_now ? static_cast<int32_t>(IntField(snap, "handled")) : 0);
  if (!Field(snap, "help").empty()) presence.set_help_request(HelpRequestName(Field(snap, "help")));
  const google::protobuf::Value memberships = JsonField(snap, "queues");
  for (const auto& membership : memberships.list_value().values()) {
    presence.add_queues(QueueName(Str(membership, "q")));
  }
  if (IntField(snap, "wrap_dl") > 0)
    *presence.mutable_wrap_up_deadline() = Millis(IntField(snap, "wrap_dl"));
  return presence;
}

v1::HelpRequest HelpRequestFromSnapshot(absl::string_view help_id,
                                        const google::protobuf::Struct& snap) {
  v1::HelpRequest help;
  help.set_name(HelpRequestName(help_id));
  help.set_operator_(OperatorName(Field(snap, "op")));
  help.set_team(TeamName(Field(snap, "team")));
  help.set_site(Field(snap, "site"));
  if (!Field(snap, "call").empty()) help.set_call(CallName(Field(snap, "call")));
  help.set_reason(Field(snap, "reason"));
  help.set_urgent(Field(snap, "urgent") == "1");
  v1::HelpRequestState state = v1::HELP_REQUEST_STATE_UNSPECIFIED;
  v1::HelpRequestState_Parse(absl::StrCat("HELP_REQUEST_STATE_", Field(snap, "state")), &state);
  help.set_state(state);
  if (IntField(snap, "t_create") > 0)
    *help.mutable_create_time() = Millis(IntField(snap, "t_create"));
  help.set_supervisor(OperatorName(Field(snap, "supervisor")));
  v1::HelpAction action = v1::HELP_ACTION_UNSPECIFIED;
  if (!Field(snap, "action").empty()) v1::HelpAction_Parse(Field(snap, "action"), &action);
  help.set_action(action);
  help.set_answer_note(Field(snap, "note"));
  if (IntField(snap, "t_close") > 0) *help.mutable_close_time() = Millis(IntField(snap, "t_close"));
  return help;
}

google::protobuf::Struct SnapshotFromPairs(const std::vector<std::string>& flat) {
  google::protobuf::Struct snapshot;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) {
    (*snapshot.mutable_fields())[flat[i]].set_string_value(flat[i + 1]);
  }
  return snapshot;
}

}  // namespace contactcentre::calls
