// The gRPC face of CallsService: thin adapters from the contract to the live side's scripts
// (Router), the customers service, the admin store and the call records. Unary methods run on
// the sync API; the streams on the callback API (live_views.h).
#pragma once

#include <memory>

#include "common/pg_pool.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "services/calls/customers_client.h"
#include "services/calls/heartbeats.h"
#include "services/calls/live_views.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

struct CallsServiceOptions {
  absl::Duration heartbeat_interval = absl::Seconds(5);
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  absl::Duration short_abandon_threshold = absl::Seconds(5);
  // A telephony adapter with no WatchTelephonyCommands stream open for this long is presumed
  // dead: its waiting and reserved calls end FAILED.
  absl::Duration telephony_adapter_timeout = absl::Seconds(60);
  // Heartbeats arriving within this window share one script (heartbeats.h); zero: one each.
  absl::Duration heartbeat_batch_window = absl::Milliseconds(20);
};

// Resolves a queue given by dialled number (telephony's OfferCall without a queue).
using DialledNumberResolver = std::function<absl::StatusOr<std::string>(const std::string& e164)>;

// The streams run on the callback API, and so do the unary methods of the call and presence
// flow that only run one script (accept, reject, connect, hold, resume, hang up, wrap-up): they
// answer inline on gRPC's own threads, a Redis round trip being shorter than the sync API's
// hand-off of each call between its polling and worker threads. Heartbeats are answered from
// the HeartbeatBatcher's thread, a few milliseconds later, gathered into one script. The rest
// (OfferCall asks the customers service, reads of PostgreSQL) stay on the sync API.
using CallsServiceBase = v1::CallsService::WithCallbackMethod_WatchOperatorEvents<
    v1::CallsService::WithCallbackMethod_WatchOperators<
        v1::CallsService::WithCallbackMethod_WatchQueues<
            v1::CallsService::WithCallbackMethod_WatchTelephonyCommands<
                v1::CallsService::WithCallbackMethod_Heartbeat<
                    v1::CallsService::WithCallbackMethod_AcceptReservation<
                        v1::CallsService::WithCallbackMethod_RejectReservation<
                            v1::CallsService::WithCallbackMethod_ConnectCall<
                                v1::CallsService::WithCallbackMethod_HoldCall<
                                    v1::CallsService::WithCallbackMethod_ResumeCall<
                                        v1::CallsService::WithCallbackMethod_HangUp<
                                            v1::CallsService::WithCallbackMethod_CompleteWrapUp<
                                                v1::CallsService::Service>>>>>>>>>>>>;

class CallsGrpcService final : public CallsServiceBase {
 public:
  CallsGrpcService(Router* router, common::PgPool* pg, CustomersClient* customers,
                   DialledNumberResolver resolve_dialled_number, LiveViews* views,
                   CallsServiceOptions options);

  grpc::Status SetPresence(grpc::ServerContext*, const v1::SetPresenceRequest*,
                           v1::OperatorPresence*) override;
  // The inline callback forms of the script-only methods (see CallsServiceBase).
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext*, const v1::HeartbeatRequest*,
                                      v1::HeartbeatResponse*) override;
  grpc::ServerUnaryReactor* AcceptReservation(grpc::CallbackServerContext*,
                                              const v1::AcceptReservationRequest*,
                                              v1::Call*) override;
  grpc::ServerUnaryReactor* RejectReservation(grpc::CallbackServerContext*,
                                              const v1::RejectReservationRequest*,
                                              v1::OperatorPresence*) override;
  grpc::ServerUnaryReactor* ConnectCall(grpc::CallbackServerContext*, const v1::ConnectCallRequest*,
                                        v1::Call*) override;
  grpc::ServerUnaryReactor* HoldCall(grpc::CallbackServerContext*, const v1::HoldCallRequest*,
                                     v1::Call*) override;
  grpc::ServerUnaryReactor* ResumeCall(grpc::CallbackServerContext*, const v1::ResumeCallRequest*,
                                       v1::Call*) override;
  grpc::ServerUnaryReactor* HangUp(grpc::CallbackServerContext*, const v1::HangUpRequest*,
                                   v1::Call*) override;
  grpc::ServerUnaryReactor* CompleteWrapUp(grpc::CallbackServerContext*,
                                           const v1::CompleteWrapUpRequest*, v1::Call*) override;
  grpc::Status GetOperatorPresence(grpc::ServerContext*, const v1::GetOperatorPresenceRequest*,
                                   v1::OperatorPresence*) override;
  grpc::Status ListOperatorPresences(grpc::ServerContext*, const v1::ListOperatorPresencesRequest*,
                                     v1::ListOperatorPresencesResponse*) override;
  grpc::Status ForceOperatorState(grpc::ServerContext*, const v1::ForceOperatorStateRequest*,
                                  v1::OperatorPresence*) override;
  grpc::Status OfferCall(grpc::ServerContext*, const v1::OfferCallRequest*,
                         v1::OfferCallResponse*) override;
  grpc::Status ConnectCall(grpc::ServerContext*, const v1::ConnectCallRequest*, v1::Call*) override;
  grpc::Status HangUp(grpc::ServerContext*, const v1::HangUpRequest*, v1::Call*) override;
  grpc::Status HoldCall(grpc::ServerContext*, const v1::HoldCallRequest*, v1::Call*) override;
  grpc::Status ResumeCall(grpc::ServerContext*, const v1::ResumeCallRequest*, v1::Call*) override;
  grpc::Status GetQueuePosition(grpc::ServerContext*, const v1::GetQueuePositionRequest*,
                                v1::QueuePosition*) override;
  grpc::Status AcknowledgeTelephonyCommand(grpc::ServerContext*,
                                           const v1::AcknowledgeTelephonyCommandRequest*,
                                           google::protobuf::Empty*) override;
  grpc::Status AcceptReservation(grpc::ServerContext*, const v1::AcceptReservationRequest*,
                                 v1::Call*) override;
  grpc::Status RejectReservation(grpc::ServerContext*, const v1::RejectReservationRequest*,
                                 v1::OperatorPresence*) override;
  grpc::Status CompleteWrapUp(grpc::ServerContext*, const v1::CompleteWrapUpRequest*,
                              v1::Call*) override;
  grpc::Status TransferCall(grpc::ServerContext*, const v1::TransferCallRequest*,
                            v1::TransferCallResponse*) override;
  grpc::Status CompleteTransfer(grpc::ServerContext*, const v1::CompleteTransferRequest*,
                                v1::TransferCallResponse*) override;
  grpc::Status CancelTransfer(grpc::ServerContext*, const v1::CancelTransferRequest*,
                              v1::TransferCallResponse*) override;
  grpc::Status PlaceOutboundCall(grpc::ServerContext*, const v1::PlaceOutboundCallRequest*,
                                 v1::Call*) override;
  grpc::Status RequestHelp(grpc::ServerContext*, const v1::RequestHelpRequest*,
                           v1::HelpRequest*) override;
  grpc::Status CancelHelpRequest(grpc::ServerContext*, const v1::CancelHelpRequestRequest*,
                                 v1::HelpRequest*) override;
  grpc::Status AnswerHelpRequest(grpc::ServerContext*, const v1::AnswerHelpRequestRequest*,
                                 v1::HelpRequest*) override;
  grpc::Status GetHelpRequest(grpc::ServerContext*, const v1::GetHelpRequestRequest*,
                              v1::HelpRequest*) override;
  grpc::Status ListHelpRequests(grpc::ServerContext*, const v1::ListHelpRequestsRequest*,
                                v1::ListHelpRequestsResponse*) override;
  grpc::Status GetCall(grpc::ServerContext*, const v1::GetCallRequest*, v1::Call*) override;
  grpc::Status ListCalls(grpc::ServerContext*, const v1::ListCallsRequest*,
                         v1::ListCallsResponse*) override;
  grpc::Status GetQueueStatus(grpc::ServerContext*, const v1::GetQueueStatusRequest*,
                              v1::QueueStatus*) override;

  grpc::ServerWriteReactor<v1::OperatorEvent>* WatchOperatorEvents(
      grpc::CallbackServerContext* context, const v1::WatchOperatorEventsRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchOperatorsResponse>* WatchOperators(
      grpc::CallbackServerContext* context, const v1::WatchOperatorsRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchQueuesResponse>* WatchQueues(
      grpc::CallbackServerContext* context, const v1::WatchQueuesRequest* request) override;
  grpc::ServerWriteReactor<v1::TelephonyCommand>* WatchTelephonyCommands(
      grpc::CallbackServerContext* context,
      const v1::WatchTelephonyCommandsRequest* request) override;

 private:
  absl::StatusOr<v1::Call> CallResult(const absl::StatusOr<google::protobuf::Struct>& result);
  // CompleteTransfer ("complete") and CancelTransfer ("cancel").
  absl::StatusOr<v1::TransferCallResponse> EndWarmTransfer(
      absl::string_view action, absl::string_view method, const std::string& call,
      const std::string& request_id, const google::protobuf::Message& request);

  Router* router_;
  common::PgPool* pg_;
  CustomersClient* customers_;
  DialledNumberResolver resolve_dialled_number_;
  LiveViews* views_;
  const CallsServiceOptions options_;
  HeartbeatBatcher heartbeats_;
};

}  // namespace contactcentre::calls
