#include "services/calls/calls_service.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/phone.h"
#include "common/status.h"
#include "contactcentre/calls/v1/campaigns_service.pb.h"
#include "services/calls/handler_util.h"
#include "services/calls/json.h"
#include "services/calls/snapshot.h"
#include "services/calls/telephony_commands.h"

namespace contactcentre::calls {
namespace {

using common::InvalidArgumentError;

const google::protobuf::Struct& Sub(const google::protobuf::Struct& result, const char* name) {
  static const auto* const kEmpty = new google::protobuf::Struct();
  auto it = result.fields().find(name);
  return it == result.fields().end() ? *kEmpty : it->second.struct_value();
}

v1::Call CallOf(const google::protobuf::Struct& result) {
  return CallFromSnapshot(Field(result, "call"), Sub(result, "snap"));
}

v1::OperatorPresence PresenceOf(const google::protobuf::Struct& result) {
  return PresenceFromSnapshot(Field(result, "op"), Sub(result, "snap"));
}

std::string StateName(v1::OperatorState state) {
  switch (state) {
    case v1::OPERATOR_STATE_AVAILABLE:
      return "AVAILABLE";
    case v1::OPERATOR_STATE_NOT_READY:
      return "NOT_READY";
    case v1::OPERATOR_STATE_OFFLINE:
      return "OFFLINE";
    default:
      return "";
  }
}

absl::Status CheckReasonCode(absl::string_view reason) {
  if (reason.size() > 64 || reason.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                absl::string_view::npos) {
    return InvalidArgumentError("reason_code", "1..64 characters of [a-z0-9_]");
  }
  return absl::OkStatus();
}

// "calls/{call}/reservations/{n}" -> the call id.
absl::StatusOr<std::string> CallOfReservation(absl::string_view reservation) {
  std::vector<std::string> parts = absl::StrSplit(reservation, '/');
  if (parts.size() != 4 || parts[0] != "calls" || parts[2] != "reservations" || parts[1].empty()) {
    return InvalidArgumentError("reservation", "must be calls/{id}/reservations/{n}");
  }
  return parts[1];
}

}  // namespace

CallsGrpcService::CallsGrpcService(Router* router, common::PgPool* pg, CustomersClient* customers,
                                   DialledNumberResolver resolve_dialled_number, LiveViews* views,
                                   CallsServiceOptions options)
    : router_(router),
      pg_(pg),
      customers_(customers),
      resolve_dialled_number_(std::move(resolve_dialled_number)),
      views_(views),
      options_(options),
      heartbeats_(router, {.window = options.heartbeat_batch_window,
                           .heartbeat_timeout = options.heartbeat_timeout}) {}

grpc::Status CallsGrpcService::SetPresence(grpc::ServerContext*,
                                           const v1::SetPresenceRequest* request,
                                           v1::OperatorPresence* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::OperatorPresence> result = [&]() -> absl::StatusOr<v1::OperatorPresence> {
    CC_ASSIGN_OR_RETURN(std::string op, RequiredId(request->operator_(), "operators", "operator"));
    const std::string state = StateName(request->state());
    if (state.empty())
      return InvalidArgumentError("state", "must be AVAILABLE, NOT_READY or OFFLINE");
    CC_RETURN_IF_ERROR(CheckReasonCode(request->reason_code()));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    ScriptArgs args;
    args.Set("op", op)
        .Set("state", state)
        .Set("reason", request->reason_code())
        .Set("session", request->session_id())
        .Set("new_session", common::NewId())
        .Set("take_over", request->take_over())
        .Set("heartbeat_ms", absl::ToInt64Milliseconds(options_.heartbeat_timeout))
        .Set("changed_by", request->operator_())
        .Request("SetPresence", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kSetPresence, args));
    return PresenceOf(answer);
  }();
  return Reply(std::move(result), response, "SetPresence");
}

namespace {

// A callback unary call answered at once with what the sync form computed.
grpc::ServerUnaryReactor* AnsweredInline(grpc::CallbackServerContext* context,
                                         const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// The sync form of a method, called from its callback form (none uses its context).
grpc::ServerContext* const kNoSyncContext = nullptr;

}  // namespace

grpc::ServerUnaryReactor* CallsGrpcService::AcceptReservation(
    grpc::CallbackServerContext* context, const v1::AcceptReservationRequest* request,
    v1::Call* response) {
  return AnsweredInline(context, AcceptReservation(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::RejectReservation(
    grpc::CallbackServerContext* context, const v1::RejectReservationRequest* request,
    v1::OperatorPresence* response) {
  return AnsweredInline(context, RejectReservation(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::ConnectCall(grpc::CallbackServerContext* context,
                                                        const v1::ConnectCallRequest* request,
                                                        v1::Call* response) {
  return AnsweredInline(context, ConnectCall(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::HoldCall(grpc::CallbackServerContext* context,
                                                     const v1::HoldCallRequest* request,
                                                     v1::Call* response) {
  return AnsweredInline(context, HoldCall(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::ResumeCall(grpc::CallbackServerContext* context,
                                                       const v1::ResumeCallRequest* request,
                                                       v1::Call* response) {
  return AnsweredInline(context, ResumeCall(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::HangUp(grpc::CallbackServerContext* context,
                                                   const v1::HangUpRequest* request,
                                                   v1::Call* response) {
  return AnsweredInline(context, HangUp(kNoSyncContext, request, response));
}
grpc::ServerUnaryReactor* CallsGrpcService::CompleteWrapUp(grpc::CallbackServerContext* context,
                                                           const v1::CompleteWrapUpRequest* request,
                                                           v1::Call* response) {
  return AnsweredInline(context, CompleteWrapUp(kNoSyncContext, request, response));
}

grpc::ServerUnaryReactor* CallsGrpcService::Heartbeat(grpc::CallbackServerContext* context,
                                                      const v1::HeartbeatRequest* request,
                                                      v1::HeartbeatResponse* response) {
  absl::StatusOr<std::string> op = RequiredId(request->operator_(), "operators", "operator");
  if (!op.ok()) return AnsweredInline(context, Reply(op.status(), "Heartbeat"));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  heartbeats_.Beat(*std::move(op), request->session_id(),
                   [this, reactor, response](absl::StatusOr<google::protobuf::Struct> answer) {
                     absl::StatusOr<v1::HeartbeatResponse> result =
                         [&]() -> absl::StatusOr<v1::HeartbeatResponse> {
                       CC_RETURN_IF_ERROR(answer.status());
                       v1::HeartbeatResponse heartbeat;
                       *heartbeat.mutable_presence() = PresenceOf(*answer);
                       heartbeat.mutable_heartbeat_interval()->set_seconds(
                           absl::ToInt64Seconds(options_.heartbeat_interval));
                       heartbeat.mutable_heartbeat_timeout()->set_seconds(
                           absl::ToInt64Seconds(options_.heartbeat_timeout));
                       *heartbeat.mutable_presence()->mutable_heartbeat_expire_time() =
                           common::TimestampFromTime(absl::Now() + options_.heartbeat_timeout);
                       return heartbeat;
                     }();
                     reactor->Finish(Reply(std::move(result), response, "Heartbeat"));
                   });
  return reactor;
}

grpc::Status CallsGrpcService::GetOperatorPresence(grpc::ServerContext*,
                                                   const v1::GetOperatorPresenceRequest* request,
                                                   v1::OperatorPresence* response) {
  absl::StatusOr<v1::OperatorPresence> result = [&]() -> absl::StatusOr<v1::OperatorPresence> {
    CC_ASSIGN_OR_RETURN(std::string op, RequiredId(request->operator_(), "operators", "operator"));
    return views_->state().Presence(op);
  }();
  return Reply(std::move(result), response, "GetOperatorPresence");
}

grpc::Status CallsGrpcService::ListOperatorPresences(
    grpc::ServerContext*, const v1::ListOperatorPresencesRequest* request,
    v1::ListOperatorPresencesResponse* response) {
  absl::StatusOr<v1::ListOperatorPresencesResponse> result =
      [&]() -> absl::StatusOr<v1::ListOperatorPresencesResponse> {
    if (request->site().empty()) return InvalidArgumentError("site", "required");
    CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request->page_size(), 100, 1000));
    const std::string scope = absl::StrCat("ListOperatorPresences|", request->site(), "|",
                                           request->team(), "|", request->queue());
    CC_ASSIGN_OR_RETURN(std::string after, common::DecodePageToken(request->page_token(), scope));
    CC_ASSIGN_OR_RETURN(std::vector<std::string> ids, views_->state().OperatorIds());
    std::vector<v1::OperatorPresence> presences;
    for (const std::string& id : ids) {
      absl::StatusOr<v1::OperatorPresence> presence = views_->state().Presence(id);
      if (!presence.ok()) continue;
      if (!request->team().empty() && presence->team() != request->team()) continue;
      if (!request->queue().empty() &&
          std::find(presence->queues().begin(), presence->queues().end(), request->queue()) ==
              presence->queues().end()) {
        continue;
      }
      if (!request->states().empty() &&
          std::find(request->states().begin(), request->states().end(), presence->state()) ==
              request->states().end()) {
        continue;
      }
      presences.push_back(std::move(*presence));
    }
    std::sort(presences.begin(), presences.end(), [](const auto& a, const auto& b) {
      return std::tie(a.display_name(), a.operator_()) < std::tie(b.display_name(), b.operator_());
    });
    v1::ListOperatorPresencesResponse page;
    for (const v1::OperatorPresence& presence : presences) {
      const std::string key = absl::StrCat(presence.display_name(), "\n", presence.operator_());
      if (!after.empty() && key <= after) continue;
      if (page.presences_size() == page_size) {
        const auto& last = *page.presences().rbegin();
        page.set_next_page_token(common::EncodePageToken(
            scope, absl::StrCat(last.display_name(), "\n", last.operator_())));
        break;
      }
      *page.add_presences() = presence;
    }
    return page;
  }();
  return Reply(std::move(result), response, "ListOperatorPresences");
}

grpc::Status CallsGrpcService::ForceOperatorState(grpc::ServerContext*,
                                                  const v1::ForceOperatorStateRequest* request,
                                                  v1::OperatorPresence* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::OperatorPresence> result = [&]() -> absl::StatusOr<v1::OperatorPresence> {
    CC_ASSIGN_OR_RETURN(std::string op, RequiredId(request->operator_(), "operators", "operator"));
    const std::string state = StateName(request->state());
    if (state.empty())
      return InvalidArgumentError("state", "must be AVAILABLE, NOT_READY or OFFLINE");
    CC_RETURN_IF_ERROR(CheckReasonCode(request->reason_code()));
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    if (!request->supervisor().empty()) {
      CC_ASSIGN_OR_RETURN(std::string supervisor,
                          RequiredId(request->supervisor(), "operators", "supervisor"));
      CC_ASSIGN_OR_RETURN(google::protobuf::Struct snap, router_->Read("op", supervisor));
      if (Field(snap, "role") != "SUPERVISOR" && Field(snap, "role") != "ADMIN") {
        return absl::FailedPreconditionError(
            absl::StrCat("NOT_SUPERVISOR: ", request->supervisor(), " is not a supervisor"));
      }
    }
    ScriptArgs args;
    args.Set("op", op)
        .Set("state", state)
        .Set("reason", request->reason_code().empty() && state == "NOT_READY"
                           ? std::string("forced")
                           : request->reason_code())
        .Set("force", true)
        .Set("new_session", "")
        .Set("changed_by", request->supervisor())
        .Set("heartbeat_ms", absl::ToInt64Milliseconds(options_.heartbeat_timeout))
        .Request("ForceOperatorState", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kSetPresence, args));
    return PresenceOf(answer);
  }();
  return Reply(std::move(result), response, "ForceOperatorState");
}

grpc::Status CallsGrpcService::OfferCall(grpc::ServerContext*, const v1::OfferCallRequest* request,
                                         v1::OfferCallResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::OfferCallResponse> result = [&]() -> absl::StatusOr<v1::OfferCallResponse> {
    if (request->telephony_call_id().empty()) {
      return InvalidArgumentError("telephony_call_id", "required");
    }
    if (request->priority() < 0 || request->priority() > 9) {
      return InvalidArgumentError("priority", "must be 0..9");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    std::string caller;
    if (!request->caller_number().raw().empty() || !request->caller_number().e164().empty()) {
      absl::StatusOr<common::NormalizedPhone> phone = common::NormalizePhone(
          request->caller_number().raw().empty() ? request->caller_number().e164()
                                                 : request->caller_number().raw(),
          "RU", "caller_number");
      // An unparseable caller id (withheld, internal extension) is kept as given.
      caller = phone.ok()
                   ? phone->e164
                   : (request->caller_number().raw().empty() ? request->caller_number().e164()
                                                             : request->caller_number().raw());
    }
    std::string dialled = request->dialled_number().e164();
    if (dialled.empty() && !request->dialled_number().raw().empty()) {
      absl::StatusOr<common::NormalizedPhone> phone =
          common::NormalizePhone(request->dialled_number().raw(), "RU", "dialled_number");
      dialled = phone.ok() ? phone->e164 : request->dialled_number().raw();
    }
    std::string queue;
    if (!request->queue().empty()) {
      CC_ASSIGN_OR_RETURN(queue, RequiredId(request->queue(), "queues", "queue"));
    } else if (!dialled.empty()) {
      CC_ASSIGN_OR_RETURN(queue, resolve_dialled_number_(dialled));
    } else {
      return InvalidArgumentError("queue", "set queue or dialled_number");
    }
    const CallerCard card = customers_->LookUpCaller(caller);
    google::protobuf::Struct attributes;
    for (const auto& [key, value] : request->attributes()) {
      (*attributes.mutable_fields())[key].set_string_value(value);
    }
    const std::string attributes_json = ToJson(attributes);
    ScriptArgs args;
    args.Set("call_id", common::NewId())
        .Set("queue", queue)
        .Set("priority", request->has_priority() ? request->priority() : -1)
        .Set("vip", card.vip)
        .Set("abusive", card.abusive)
        .Set("customer", card.customer)
        .Set("lookup", static_cast<int>(card.result))
        .Set("caller", caller)
        .Set("dialled", dialled)
        .Set("attrs", attributes_json)
        .Set("adapter", request->telephony_adapter())
        .Set("tel_id", request->telephony_call_id())
        .Set("site", router_->site())
        .Set("direction", "INBOUND")
        .Request("OfferCall", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kOfferCall, args));
    v1::OfferCallResponse offered;
    *offered.mutable_call() = CallOf(answer);
    offered.set_position(static_cast<int32_t>(IntField(answer, "position")));
    // Unset when the call is not waiting (overflowed and ended).
    if (offered.call().state() != v1::CALL_STATE_FAILED) {
      offered.mutable_estimated_wait()->set_seconds(IntField(answer, "ewt_ms") / 1000);
    }
    return offered;
  }();
  return Reply(std::move(result), response, "OfferCall");
}

absl::StatusOr<v1::Call> CallsGrpcService::CallResult(
    const absl::StatusOr<google::protobuf::Struct>& result) {
  if (!result.ok()) return result.status();
  return CallOf(*result);
}

grpc::Status CallsGrpcService::ConnectCall(grpc::ServerContext*,
                                           const v1::ConnectCallRequest* request,
                                           v1::Call* response) {
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call, RequiredId(request->call(), "calls", "call"));
    ScriptArgs args;
    args.Set("call", call).Request("ConnectCall", request->request_id(), *request);
    return CallResult(router_->Run(Script::kConnectCall, args));
  }();
  return Reply(std::move(result), response, "ConnectCall");
}

grpc::Status CallsGrpcService::HangUp(grpc::ServerContext*, const v1::HangUpRequest* request,
                                      v1::Call* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call, RequiredId(request->call(), "calls", "call"));
    std::string reason;
    switch (request->end_reason()) {
      case v1::CALL_END_REASON_CUSTOMER_HUNG_UP:
        reason = "CUSTOMER_HUNG_UP";
        break;
      case v1::CALL_END_REASON_OPERATOR_HUNG_UP:
        reason = "OPERATOR_HUNG_UP";
        break;
      case v1::CALL_END_REASON_FAILED:
        reason = "FAILED";
        break;
      default:
        return InvalidArgumentError("end_reason",
                                    "must be CUSTOMER_HUNG_UP, OPERATOR_HUNG_UP or FAILED");
    }
    std::string outcome;
    if (request->dial_outcome() != v1::DIAL_OUTCOME_UNSPECIFIED) {
      outcome = v1::DialOutcome_Name(request->dial_outcome()).substr(strlen("DIAL_OUTCOME_"));
    }
    ScriptArgs args;
    args.Set("call", call)
        .Set("end_reason", reason)
        .Set("failure_reason", request->failure_reason())
        .Set("dial_outcome", outcome)
        .Set("short_ms", absl::ToInt64Milliseconds(options_.short_abandon_threshold))
        .Set("command", !request->applied_by_telephony())
        .Request("HangUp", request->request_id(), *request);
    return CallResult(router_->Run(Script::kHangUp, args));
  }();
  return Reply(std::move(result), response, "HangUp");
}

grpc::Status CallsGrpcService::HoldCall(grpc::ServerContext*, const v1::HoldCallRequest* request,
                                        v1::Call* response) {
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call, RequiredId(request->call(), "calls", "call"));
    ScriptArgs args;
    args.Set("call", call)
        .Set("on_hold", true)
        .Set("command", !request->applied_by_telephony())
        .Request("HoldCall", request->request_id(), *request);
    return CallResult(router_->Run(Script::kHoldCall, args));
  }();
  return Reply(std::move(result), response, "HoldCall");
}

grpc::Status CallsGrpcService::ResumeCall(grpc::ServerContext*,
                                          const v1::ResumeCallRequest* request,
                                          v1::Call* response) {
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call, RequiredId(request->call(), "calls", "call"));
    ScriptArgs args;
    args.Set("call", call)
        .Set("on_hold", false)
        .Set("command", !request->applied_by_telephony())
        .Request("ResumeCall", request->request_id(), *request);
    return CallResult(router_->Run(Script::kHoldCall, args));
  }();
  return Reply(std::move(result), response, "ResumeCall");
}

grpc::Status CallsGrpcService::GetQueuePosition(grpc::ServerContext*,
                                                const v1::GetQueuePositionRequest* request,
                                                v1::QueuePosition* response) {
  absl::StatusOr<v1::QueuePosition> result = [&]() -> absl::StatusOr<v1::QueuePosition> {
    CC_ASSIGN_OR_RETURN(std::string call_id, RequiredId(request->call(), "calls", "call"));
    CC_ASSIGN_OR_RETURN(v1::Call call, views_->state().LiveCall(call_id));
    if (call.state() != v1::CALL_STATE_QUEUED && call.state() != v1::CALL_STATE_RESERVED) {
      return absl::FailedPreconditionError(absl::StrCat("NOT_WAITING: call ", request->call(),
                                                        " is ", v1::CallState_Name(call.state())));
    }
    const std::string queue_id = IdOf(call.queue(), "queues");
    CC_ASSIGN_OR_RETURN(
        auto replies,
        router_->redis()->Pipeline(
            {{"ZRANK", absl::StrCat(router_->prefix(), ":q:", queue_id, ":calls"), call_id},
             {"ZCARD", absl::StrCat(router_->prefix(), ":q:", queue_id, ":calls")}}));
    v1::QueuePosition position;
    position.set_call(call.name());
    position.set_queue(call.queue());
    position.set_state(call.state());
    const int rank = (*replies[0]).is_nil() ? -1 : static_cast<int>((*replies[0]).integer);
    position.set_position(rank + 1);
    position.set_waiting_calls(static_cast<int32_t>((*replies[1]).integer));
    CC_ASSIGN_OR_RETURN(v1::QueueStatus status, views_->state().QueueStatus(queue_id, 0));
    const int staff = std::max(1, status.operators_logged_in());
    const int64_t per_call =
        status.estimated_wait().seconds() * staff / std::max(1, status.waiting_calls() + staff);
    position.mutable_estimated_wait()->set_seconds(
        rank < 0 ? 0 : (rank / staff + 1) * std::max<int64_t>(per_call, 1));
    position.mutable_waited()->set_seconds(
        absl::ToInt64Seconds(absl::Now() - common::TimeFromTimestamp(call.queue_time())));
    return position;
  }();
  return Reply(std::move(result), response, "GetQueuePosition");
}

grpc::Status CallsGrpcService::AcknowledgeTelephonyCommand(
    grpc::ServerContext*, const v1::AcknowledgeTelephonyCommandRequest* request,
    google::protobuf::Empty* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<google::protobuf::Empty> result =
      [&]() -> absl::StatusOr<google::protobuf::Empty> {
    if (request->telephony_adapter().empty()) {
      return InvalidArgumentError("telephony_adapter", "required");
    }
    if (request->telephony_adapter().size() > 200) {
      return InvalidArgumentError("telephony_adapter", "at most 200 characters");
    }
    if (request->command_id().empty()) return InvalidArgumentError("command_id", "required");
    if (request->command_id().size() > 100) {
      return InvalidArgumentError("command_id", "at most 100 characters");
    }
    if (request->failure_reason().size() > 1000) {
      return InvalidArgumentError("failure_reason", "at most 1000 characters");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    ScriptArgs args;
    args.Set("action", "ack")
        .Set("adapter", request->telephony_adapter())
        .Set("command", request->command_id())
        .Set("success", request->success())
        .Set("failure_reason", request->failure_reason())
        .Request("AcknowledgeTelephonyCommand", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kTelephony, args));
    if (!request->success()) {
      common::LogWarning("telephony command failed", {{"adapter", request->telephony_adapter()},
                                                      {"command", request->command_id()},
                                                      {"reason", request->failure_reason()}});
    }
    return google::protobuf::Empty();
  }();
  return Reply(std::move(result), response, "AcknowledgeTelephonyCommand");
}

grpc::Status CallsGrpcService::AcceptReservation(grpc::ServerContext*,
                                                 const v1::AcceptReservationRequest* request,
                                                 v1::Call* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call, CallOfReservation(request->reservation()));
    ScriptArgs args;
    args.Set("op", "")
        .Set("call", call)
        .Set("reservation", absl::string_view(request->reservation()).substr(strlen("calls/")))
        .Request("AcceptReservation", request->request_id(), *request);
    return CallResult(router_->Run(Script::kAcceptReservation, args));
  }();
  return Reply(std::move(result), response, "AcceptReservation");
}

grpc::Status CallsGrpcService::RejectReservation(grpc::ServerContext*,
                                                 const v1::RejectReservationRequest* request,
                                                 v1::OperatorPresence* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::OperatorPresence> result = [&]() -> absl::StatusOr<v1::OperatorPresence> {
    CC_ASSIGN_OR_RETURN(std::string call, CallOfReservation(request->reservation()));
    if (request->reason().size() > 200)
      return InvalidArgumentError("reason", "at most 200 characters");
    ScriptArgs args;
    args.Set("op", "")
        .Set("call", call)
        .Set("reservation", absl::string_view(request->reservation()).substr(strlen("calls/")))
        .Set("reason", request->reason())
        .Request("RejectReservation", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kRejectReservation, args));
    return PresenceOf(answer);
  }();
  return Reply(std::move(result), response, "RejectReservation");
}

grpc::Status CallsGrpcService::CompleteWrapUp(grpc::ServerContext*,
                                              const v1::CompleteWrapUpRequest* request,
                                              v1::Call* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string call_id, RequiredId(request->call(), "calls", "call"));
    const v1::WrapUp& wrap_up = request->wrap_up();
    if (wrap_up.disposition().empty())
      return InvalidArgumentError("wrap_up.disposition", "required");
    if (wrap_up.topic().empty()) return InvalidArgumentError("wrap_up.topic", "required");
    if (wrap_up.topic().size() > 200)
      return InvalidArgumentError("wrap_up.topic", "at most 200 bytes");
    if (wrap_up.notes().size() > 8000)
      return InvalidArgumentError("wrap_up.notes", "at most 8000 bytes");
    if (!wrap_up.precedent().empty() && IdOf(wrap_up.precedent(), "precedents").empty()) {
      return InvalidArgumentError("wrap_up.precedent", "must be precedents/{id}");
    }
    if (wrap_up.has_new_precedent() &&
        (wrap_up.new_precedent().problem().empty() || wrap_up.new_precedent().solution().empty())) {
      return InvalidArgumentError("wrap_up.new_precedent", "problem and solution are required");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    // The wrap-up as the call keeps it; the operator is the call's own (no authentication yet).
    CC_ASSIGN_OR_RETURN(google::protobuf::Struct live, router_->Read("call", call_id));
    if (Field(live, "state").empty()) {
      return absl::NotFoundError(absl::StrCat("call ", request->call(), " is not live"));
    }
    const std::string op = Field(live, "tr_from").empty() || Field(live, "state") != "TRANSFERRED"
                               ? Field(live, "op")
                               : Field(live, "tr_from");
    google::protobuf::Struct wrap;
    auto& f = *wrap.mutable_fields();
    f["disposition"].set_string_value(wrap_up.disposition());
    f["topic"].set_string_value(wrap_up.topic());
    f["notes"].set_string_value(wrap_up.notes());
    f["precedent"].set_string_value(wrap_up.precedent());
    f["author"].set_string_value(OperatorName(op));
    if (wrap_up.has_new_precedent()) {
      google::protobuf::Struct draft;
      auto& d = *draft.mutable_fields();
      d["problem"].set_string_value(wrap_up.new_precedent().problem());
      d["solution"].set_string_value(wrap_up.new_precedent().solution());
      d["product"].set_string_value(wrap_up.new_precedent().product());
      d["language"].set_string_value(wrap_up.new_precedent().language());
      for (const std::string& tag : wrap_up.new_precedent().tags()) {
        d["tags"].mutable_list_value()->add_values()->set_string_value(tag);
      }
      *f["new_precedent"].mutable_struct_value() = draft;
    }
    const std::string wrap_json = ToJson(wrap);
    ScriptArgs args;
    args.Set("op", op)
        .Set("call", call_id)
        .Set("disposition", wrap_up.disposition())
        .Set("wrap", wrap_json)
        .Request("CompleteWrapUp", request->request_id(), *request);
    return CallResult(router_->Run(Script::kCompleteWrapUp, args));
  }();
  return Reply(std::move(result), response, "CompleteWrapUp");
}

grpc::Status CallsGrpcService::TransferCall(grpc::ServerContext*,
                                            const v1::TransferCallRequest* request,
                                            v1::TransferCallResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::TransferCallResponse> result =
      [&]() -> absl::StatusOr<v1::TransferCallResponse> {
    CC_ASSIGN_OR_RETURN(std::string call_id, RequiredId(request->call(), "calls", "call"));
    if (request->mode() != v1::TRANSFER_MODE_COLD && request->mode() != v1::TRANSFER_MODE_WARM) {
      return InvalidArgumentError("mode", "must be COLD or WARM");
    }
    if (request->has_priority() && (request->priority() < 0 || request->priority() > 9)) {
      return InvalidArgumentError("priority", "must be 0..9");
    }
    if (request->notes().size() > 2000) return InvalidArgumentError("notes", "at most 2000 bytes");
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    std::string to_queue;
    std::string to_operator;
    if (request->has_to_queue()) {
      CC_ASSIGN_OR_RETURN(to_queue, RequiredId(request->to_queue(), "queues", "to_queue"));
    } else if (request->has_to_operator()) {
      CC_ASSIGN_OR_RETURN(to_operator,
                          RequiredId(request->to_operator(), "operators", "to_operator"));
    } else {
      return InvalidArgumentError("to_queue", "set to_queue or to_operator");
    }
    CC_ASSIGN_OR_RETURN(google::protobuf::Struct live, router_->Read("call", call_id));
    if (Field(live, "state").empty()) {
      return absl::NotFoundError(absl::StrCat("call ", request->call(), " is not live"));
    }
    if (!to_operator.empty() && to_operator == Field(live, "op")) {
      return InvalidArgumentError("to_operator", "cannot transfer to yourself");
    }
    ScriptArgs args;
    args.Set("op", Field(live, "op"))
        .Set("call", call_id)
        .Set("new_call", common::NewId())
        .Set("mode", request->mode() == v1::TRANSFER_MODE_WARM ? "WARM" : "COLD")
        .Set("priority", request->has_priority() ? request->priority() : -1)
        .Set("to_queue", to_queue)
        .Set("to_operator", to_operator)
        .Set("notes", request->notes())
        .Request("TransferCall", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kTransferCall, args));
    v1::TransferCallResponse transferred;
    *transferred.mutable_call() = CallOf(answer);
    *transferred.mutable_new_call() =
        CallFromSnapshot(Field(answer, "new_call"), Sub(answer, "new_snap"));
    return transferred;
  }();
  return Reply(std::move(result), response, "TransferCall");
}

absl::StatusOr<v1::TransferCallResponse> CallsGrpcService::EndWarmTransfer(
    absl::string_view action, absl::string_view method, const std::string& call,
    const std::string& request_id, const google::protobuf::Message& request) {
  CC_ASSIGN_OR_RETURN(std::string call_id, RequiredId(call, "calls", "call"));
  CC_RETURN_IF_ERROR(CheckRequestId(request_id));
  ScriptArgs args;
  // The old leg's own operator acts (no authentication yet).
  args.Set("action", action)
      .Set("call", call_id)
      .Set("op", "")
      .Request(method, request_id, request);
  CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kWarmTransfer, args));
  v1::TransferCallResponse ended;
  *ended.mutable_call() = CallOf(answer);
  *ended.mutable_new_call() = CallFromSnapshot(Field(answer, "new_call"), Sub(answer, "new_snap"));
  return ended;
}

grpc::Status CallsGrpcService::CompleteTransfer(grpc::ServerContext*,
                                                const v1::CompleteTransferRequest* request,
                                                v1::TransferCallResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  return Reply(EndWarmTransfer("complete", "CompleteTransfer", request->call(),
                               request->request_id(), *request),
               response, "CompleteTransfer");
}

grpc::Status CallsGrpcService::CancelTransfer(grpc::ServerContext*,
                                              const v1::CancelTransferRequest* request,
                                              v1::TransferCallResponse* response) {
  common::ScopedRequestId scope(request->request_id());
  return Reply(
      EndWarmTransfer("cancel", "CancelTransfer", request->call(), request->request_id(), *request),
      response, "CancelTransfer");
}

grpc::Status CallsGrpcService::PlaceOutboundCall(grpc::ServerContext*,
                                                 const v1::PlaceOutboundCallRequest* request,
                                                 v1::Call* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    std::string op;
    std::string queue;
    if (!request->operator_().empty()) {
      CC_ASSIGN_OR_RETURN(op, RequiredId(request->operator_(), "operators", "operator"));
    }
    if (!request->queue().empty()) {
      CC_ASSIGN_OR_RETURN(queue, RequiredId(request->queue(), "queues", "queue"));
    }
    if (op.empty() && queue.empty())
      return InvalidArgumentError("operator", "set operator or queue");
    if (queue.empty()) {
      // The operator's first membership by tier.
      CC_ASSIGN_OR_RETURN(v1::OperatorPresence presence, views_->state().Presence(op));
      if (presence.queues().empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("NO_QUEUE: operator ", request->operator_(), " belongs to no queue"));
      }
      queue = IdOf(presence.queues(0), "queues");
    }
    if (request->priority() < 0 || request->priority() > 9) {
      return InvalidArgumentError("priority", "must be 0..9");
    }
    if (!request->customer().empty() && IdOf(request->customer(), "customers").empty()) {
      return InvalidArgumentError("customer", "must be customers/{id}");
    }
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    const std::string raw = request->phone_number().raw().empty() ? request->phone_number().e164()
                                                                  : request->phone_number().raw();
    if (raw.empty() && request->customer().empty()) {
      return InvalidArgumentError("phone_number", "required without a customer");
    }
    std::string number;
    if (!raw.empty()) {
      CC_ASSIGN_OR_RETURN(common::NormalizedPhone phone,
                          common::NormalizePhone(raw, "RU", "phone_number"));
      number = phone.e164;
    }
    // Nothing is dialled unchecked: consent and the calling window come first.
    CC_ASSIGN_OR_RETURN(customers::v1::ContactPermission permission,
                        customers_->CheckOutboundCall(request->customer(), number));
    if (number.empty()) number = permission.e164();
    if (number.empty()) {
      CC_ASSIGN_OR_RETURN(number, customers_->FirstPhone(request->customer()));
    }
    if (!permission.allowed()) {
      std::string reason = "DIAL_REFUSAL_REASON_CUSTOMER_DO_NOT_CALL";
      std::string detail = "the customer asked not to be called";
      for (int denial : permission.denial_reasons()) {
        if (denial == customers::v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW &&
            permission.denial_reasons_size() == 1) {
          reason = "DIAL_REFUSAL_REASON_OUTSIDE_CALLING_WINDOW";
          detail =
              absl::StrCat("outside the customer's calling window (", permission.time_zone(), ")");
        } else if (denial == customers::v1::CONTACT_DENIAL_REASON_SUPPRESSED) {
          reason = "DIAL_REFUSAL_REASON_SUPPRESSED";
          detail = "the number is on the suppression list";
        }
      }
      return absl::FailedPreconditionError(absl::StrCat(reason, ": ", detail));
    }
    google::protobuf::Struct attributes;
    for (const auto& [key, value] : request->attributes()) {
      (*attributes.mutable_fields())[key].set_string_value(value);
    }
    const std::string attributes_json = ToJson(attributes);
    ScriptArgs args;
    args.Set("call_id", common::NewId())
        .Set("op", op)
        .Set("queue", queue)
        .Set("customer",
             permission.customer().empty() ? request->customer() : permission.customer())
        .Set("number", number)
        .Set("caller_id", request->caller_id().e164())
        .Set("priority", request->has_priority() ? request->priority() : -1)
        .Set("attrs", attributes_json)
        .Set("campaign", request->campaign())
        .Set("placed_by",
             request->placed_by().empty() ? request->operator_() : request->placed_by())
        .Set("site", router_->site())
        .Request("PlaceOutboundCall", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(v1::Call call, CallResult(router_->Run(Script::kPlaceOutbound, args)));
    // The dial goes to the telephony adapters' stream (CampaignsService.StreamDialRequests)
    // through the dials table; a repeat of the request finds the row there.
    v1::DialRequest dial;
    dial.set_call(call.name());
    dial.set_phone_number(number);
    dial.set_caller_id(request->caller_id().e164());
    dial.set_operator_(call.operator_());
    if (!op.empty()) {
      absl::StatusOr<google::protobuf::Struct> operator_hash = router_->Read("op", op);
      if (operator_hash.ok()) dial.set_endpoint(Field(*operator_hash, "endpoint"));
    }
    dial.mutable_ring_timeout()->set_seconds(25);
    *dial.mutable_expire_time() = common::TimestampFromTime(absl::Now() + absl::Minutes(1));
    dial.set_campaign(request->campaign());
    *dial.mutable_attributes() = request->attributes();
    CC_RETURN_IF_ERROR(pg_->Transact([&](pqxx::work& txn) -> absl::Status {
      txn.exec_params(
          "INSERT INTO dials (call_id, site, phone, operator_id, state, request, create_time) "
          "VALUES ($1::uuid, $2, $3, $4, 'ready', $5, now()) ON CONFLICT DO NOTHING",
          IdOf(call.name(), "calls"), router_->site(), number, IdOf(call.operator_(), "operators"),
          common::PgBytes(dial.SerializeAsString()));
      return absl::OkStatus();
    }));
    return call;
  }();
  return Reply(std::move(result), response, "PlaceOutboundCall");
}

grpc::Status CallsGrpcService::RequestHelp(grpc::ServerContext*,
                                           const v1::RequestHelpRequest* request,
                                           v1::HelpRequest* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::HelpRequest> result = [&]() -> absl::StatusOr<v1::HelpRequest> {
    CC_ASSIGN_OR_RETURN(std::string op, RequiredId(request->operator_(), "operators", "operator"));
    std::string call;
    if (!request->call().empty()) {
      CC_ASSIGN_OR_RETURN(call, RequiredId(request->call(), "calls", "call"));
    }
    if (request->reason().size() > 500) return InvalidArgumentError("reason", "at most 500 bytes");
    CC_RETURN_IF_ERROR(CheckRequestId(request->request_id()));
    const std::string help = common::NewId();
    ScriptArgs args;
    args.Set("action", "request")
        .Set("help", help)
        .Set("op", op)
        .Set("call", call)
        .Set("reason", request->reason())
        .Set("urgent", request->urgent())
        .Request("RequestHelp", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kHelp, args));
    return HelpRequestFromSnapshot(Field(answer, "help"), Sub(answer, "snap"));
  }();
  return Reply(std::move(result), response, "RequestHelp");
}

grpc::Status CallsGrpcService::CancelHelpRequest(grpc::ServerContext*,
                                                 const v1::CancelHelpRequestRequest* request,
                                                 v1::HelpRequest* response) {
  absl::StatusOr<v1::HelpRequest> result = [&]() -> absl::StatusOr<v1::HelpRequest> {
    CC_ASSIGN_OR_RETURN(std::string help, RequiredId(request->name(), "helpRequests", "name"));
    ScriptArgs args;
    args.Set("action", "cancel")
        .Set("help", help)
        .Request("CancelHelpRequest", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kHelp, args));
    return HelpRequestFromSnapshot(Field(answer, "help"), Sub(answer, "snap"));
  }();
  return Reply(std::move(result), response, "CancelHelpRequest");
}

grpc::Status CallsGrpcService::AnswerHelpRequest(grpc::ServerContext*,
                                                 const v1::AnswerHelpRequestRequest* request,
                                                 v1::HelpRequest* response) {
  common::ScopedRequestId scope(request->request_id());
  absl::StatusOr<v1::HelpRequest> result = [&]() -> absl::StatusOr<v1::HelpRequest> {
    CC_ASSIGN_OR_RETURN(std::string help, RequiredId(request->name(), "helpRequests", "name"));
    CC_ASSIGN_OR_RETURN(std::string supervisor,
                        RequiredId(request->supervisor(), "operators", "supervisor"));
    if (request->action() == v1::HELP_ACTION_UNSPECIFIED) {
      return InvalidArgumentError("action", "required");
    }
    if (request->note().size() > 2000) return InvalidArgumentError("note", "at most 2000 bytes");
    ScriptArgs args;
    args.Set("action", "answer")
        .Set("help", help)
        .Set("supervisor", supervisor)
        .Set("help_action", v1::HelpAction_Name(request->action()))
        .Set("note", request->note())
        .Request("AnswerHelpRequest", request->request_id(), *request);
    CC_ASSIGN_OR_RETURN(auto answer, router_->Run(Script::kHelp, args));
    return HelpRequestFromSnapshot(Field(answer, "help"), Sub(answer, "snap"));
  }();
  return Reply(std::move(result), response, "AnswerHelpRequest");
}

grpc::Status CallsGrpcService::GetHelpRequest(grpc::ServerContext*,
                                              const v1::GetHelpRequestRequest* request,
                                              v1::HelpRequest* response) {
  absl::StatusOr<v1::HelpRequest> result = [&]() -> absl::StatusOr<v1::HelpRequest> {
    CC_ASSIGN_OR_RETURN(std::string help, RequiredId(request->name(), "helpRequests", "name"));
    CC_ASSIGN_OR_RETURN(google::protobuf::Struct snap, router_->Read("help", help));
    if (!Field(snap, "state").empty()) return HelpRequestFromSnapshot(help, snap);
    return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::HelpRequest> {
      if (!common::IsCanonicalUuid(help)) return absl::NotFoundError("no such help request");
      pqxx::result rows =
          query.exec_params("SELECT record FROM help_requests WHERE id = $1::uuid", help);
      if (rows.empty())
        return absl::NotFoundError(absl::StrCat("no help request ", request->name()));
      v1::HelpRequest record;
      record.ParseFromString(common::BytesOf(rows[0][0]));
      return record;
    });
  }();
  return Reply(std::move(result), response, "GetHelpRequest");
}

grpc::Status CallsGrpcService::ListHelpRequests(grpc::ServerContext*,
                                                const v1::ListHelpRequestsRequest* request,
                                                v1::ListHelpRequestsResponse* response) {
  absl::StatusOr<v1::ListHelpRequestsResponse> result =
      [&]() -> absl::StatusOr<v1::ListHelpRequestsResponse> {
    CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request->page_size(), 50, 1000));
    const std::string scope = absl::StrCat("ListHelpRequests|", request->site(), "|",
                                           request->team(), "|", request->operator_());
    CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request->page_token(), scope));
    std::string before = cursor.empty() ? "ffffffff-ffff-ffff-ffff-ffffffffffff" : cursor;
    if (!common::IsCanonicalUuid(before)) return InvalidArgumentError("page_token", "malformed");
    std::vector<std::string> states;
    for (int state : request->states()) states.push_back(absl::StrCat(state));
    return pg_->Query(
        [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListHelpRequestsResponse> {
          pqxx::result rows = query.exec_params(
              "SELECT id::text, record FROM help_requests WHERE ($1 = '' OR site = $1) AND "
              "($2 = '' OR team_id = $2) AND ($3 = '' OR operator_id = $3) AND "
              "(cardinality($4::int[]) = 0 OR state = ANY($4::int[])) AND id < $5::uuid "
              "ORDER BY id DESC LIMIT $6",
              request->site(), IdOf(request->team(), "teams"),
              IdOf(request->operator_(), "operators"),
              absl::StrCat("{", absl::StrJoin(states, ","), "}"), before, page_size + 1);
          v1::ListHelpRequestsResponse page;
          for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
            page.add_help_requests()->ParseFromString(common::BytesOf(rows[i][1]));
          }
          if (static_cast<int>(rows.size()) > page_size) {
            page.set_next_page_token(
                common::EncodePageToken(scope, rows[page_size - 1][0].as<std::string>()));
          }
          return page;
        });
  }();
  return Reply(std::move(result), response, "ListHelpRequests");
}

grpc::Status CallsGrpcService::GetCall(grpc::ServerContext*, const v1::GetCallRequest* request,
                                       v1::Call* response) {
  absl::StatusOr<v1::Call> result = [&]() -> absl::StatusOr<v1::Call> {
    CC_ASSIGN_OR_RETURN(std::string id, RequiredId(request->name(), "calls", "name"));
    absl::StatusOr<v1::Call> live = views_->state().LiveCall(id);
    if (live.ok() || !absl::IsNotFound(live.status())) return live;
    if (!common::IsCanonicalUuid(id))
      return absl::NotFoundError(absl::StrCat("no call ", request->name()));
    return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::Call> {
      pqxx::result rows =
          query.exec_params("SELECT record FROM call_records WHERE id = $1::uuid", id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("no call ", request->name()));
      v1::Call call;
      call.ParseFromString(common::BytesOf(rows[0][0]));
      return call;
    });
  }();
  return Reply(std::move(result), response, "GetCall");
}

grpc::Status CallsGrpcService::ListCalls(grpc::ServerContext*, const v1::ListCallsRequest* request,
                                         v1::ListCallsResponse* response) {
  absl::StatusOr<v1::ListCallsResponse> result = [&]() -> absl::StatusOr<v1::ListCallsResponse> {
    CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request->page_size(), 50, 1000));
    if (!request->order_by().empty() && request->order_by() != "offer_time desc") {
      return InvalidArgumentError("order_by", "unsupported; only \"offer_time desc\"");
    }
    int64_t from = -62135596800000000;
    int64_t to = 253402300799000000;
    if (request->offer_time_range().has_start_time()) {
      from = common::MicrosFromTimestamp(request->offer_time_range().start_time());
    }
    if (request->offer_time_range().has_end_time()) {
      to = common::MicrosFromTimestamp(request->offer_time_range().end_time());
    }
    if (from > to) return InvalidArgumentError("offer_time_range", "end before start");
    std::vector<std::string> queues;
    for (const std::string& queue : request->queues()) queues.push_back(IdOf(queue, "queues"));
    std::vector<std::string> states;
    for (int state : request->states()) states.push_back(absl::StrCat(state));
    std::vector<std::string> dispositions(request->dispositions().begin(),
                                          request->dispositions().end());
    const std::string scope = absl::StrCat(
        "ListCalls|", from, "|", to, "|", request->site(), "|", absl::StrJoin(queues, ","), "|",
        request->operator_(), "|", request->team(), "|", request->customer(), "|",
        request->customer_number(), "|", absl::StrJoin(dispositions, ","), "|",
        request->direction(), "|", absl::StrJoin(states, ","), "|", request->missing_wrap_up(), "|",
        request->campaign(), "|", request->chain_root());
    CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request->page_token(), scope));
    int64_t before_micros = 253402300799000000;
    std::string before_id = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    if (!cursor.empty()) {
      std::vector<std::string> parts = absl::StrSplit(cursor, '|');
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &before_micros) ||
          !common::IsCanonicalUuid(parts[1])) {
        return InvalidArgumentError("page_token", "malformed");
      }
      before_id = parts[1];
    }
    return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListCallsResponse> {
      pqxx::result rows = query.exec_params(
          "SELECT record, id::text, (extract(epoch FROM offer_time) * 1000000)::bigint "
          "FROM call_records WHERE offer_time >= timestamptz 'epoch' + $1::bigint * interval "
          "'1 microsecond' AND offer_time < timestamptz 'epoch' + $2::bigint * interval "
          "'1 microsecond' AND ($3 = '' OR site = $3) AND (cardinality($4::text[]) = 0 OR "
          "queue_id = ANY($4::text[])) AND ($5 = '' OR operator_id = $5) AND ($6 = '' OR "
          "team_id = $6) AND ($7 = '' OR customer = $7) AND ($8 = '' OR customer_number = $8) "
          "AND (cardinality($9::text[]) = 0 OR disposition = ANY($9::text[])) AND ($10 = 0 OR "
          "direction = $10) AND (cardinality($11::int[]) = 0 OR state = ANY($11::int[])) AND "
          "(NOT $12 OR missing_wrap_up) AND ($13 = '' OR campaign = $13) AND ($14 = '' OR "
          "chain_root = $14) AND (offer_time, id) < (timestamptz 'epoch' + $15::bigint * "
          "interval '1 microsecond', $16::uuid) ORDER BY offer_time DESC, id DESC LIMIT $17",
          from, to, request->site(), common::PgTextArray(queues),
          IdOf(request->operator_(), "operators"), IdOf(request->team(), "teams"),
          request->customer(), request->customer_number(), common::PgTextArray(dispositions),
          static_cast<int>(request->direction()),
          absl::StrCat("{", absl::StrJoin(states, ","), "}"), request->missing_wrap_up(),
          request->campaign(), IdOf(request->chain_root(), "calls"), before_micros, before_id,
          page_size + 1);
      v1::ListCallsResponse page;
      for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
        page.add_calls()->ParseFromString(common::BytesOf(rows[i][0]));
      }
      if (static_cast<int>(rows.size()) > page_size) {
        const auto& last = rows[page_size - 1];
        page.set_next_page_token(common::EncodePageToken(
            scope, absl::StrCat(last[2].as<int64_t>(), "|", last[1].as<std::string>())));
      }
      return page;
    });
  }();
  return Reply(std::move(result), response, "ListCalls");
}

grpc::Status CallsGrpcService::GetQueueStatus(grpc::ServerContext*,
                                              const v1::GetQueueStatusRequest* request,
                                              v1::QueueStatus* response) {
  absl::StatusOr<v1::QueueStatus> result = [&]() -> absl::StatusOr<v1::QueueStatus> {
    CC_ASSIGN_OR_RETURN(std::string queue, RequiredId(request->queue(), "queues", "queue"));
    return views_->state().QueueStatus(queue, std::clamp(request->max_waiting_calls(), 0, 50));
  }();
  return Reply(std::move(result), response, "GetQueueStatus");
}

grpc::ServerWriteReactor<v1::OperatorEvent>* CallsGrpcService::WatchOperatorEvents(
    grpc::CallbackServerContext* context, const v1::WatchOperatorEventsRequest* request) {
  return views_->WatchOperatorEvents(context, *request);
}

grpc::ServerWriteReactor<v1::WatchOperatorsResponse>* CallsGrpcService::WatchOperators(
    grpc::CallbackServerContext* context, const v1::WatchOperatorsRequest* request) {
  return views_->WatchOperators(context, *request);
}

grpc::ServerWriteReactor<v1::WatchQueuesResponse>* CallsGrpcService::WatchQueues(
    grpc::CallbackServerContext* context, const v1::WatchQueuesRequest* request) {
  return views_->WatchQueues(context, *request);
}

grpc::ServerWriteReactor<v1::TelephonyCommand>* CallsGrpcService::WatchTelephonyCommands(
    grpc::CallbackServerContext*, const v1::WatchTelephonyCommandsRequest* request) {
  return OpenTelephonyCommandStream(views_, router_, *request, options_.telephony_adapter_timeout);
}

}  // namespace contactcentre::calls
