// One unary call with a deadline, its status as absl::Status.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_client.h"
#include "common/status.h"

namespace contactcentre::sim {

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Rpc(Stub& stub,
                             grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                             const Request& request, absl::Duration timeout = absl::Seconds(10)) {
  auto context = common::ContextWithTimeout(timeout);
  Response response;
  grpc::Status status = (stub.*method)(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return response;
}

}  // namespace contactcentre::sim
