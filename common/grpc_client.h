// Channels to the suite's services, balanced over every replica.
//
// A target is one of:
//   "dns:///calls.contactcentre.svc.cluster.local:50051"  every address of a headless Service
//   "127.0.0.1:50051,127.0.0.1:50061"                      a list of replicas (local runs)
//   "localhost:50051"                                      one address
// and the channel spreads calls over all resolved addresses with gRPC's round_robin policy, so
// one busy replica does not get every call of a long-lived HTTP/2 connection.
//
// A channel over several replicas (a list, or a resolver such as dns:///) also watches each
// replica's gRPC health (service "") and sends calls only to replicas that report SERVING: a
// replica that is draining after SIGTERM (NOT_SERVING for --drain_delay before it stops
// accepting) or that lost PostgreSQL or Redis gets no new calls, so a rolling restart fails no
// call. Readiness probes in Kubernetes do the same for endpoints, but a client keeps its
// connections to a pod that left the endpoints; only the health watch stops it using them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/status.h"

namespace contactcentre::common {

// Turns a target as above into a gRPC target string; a comma-separated list of IPv4
// host:port becomes "ipv4:a,b" ("localhost" counts as 127.0.0.1).
std::string NormalizeTarget(absl::string_view target);

// Whether a channel sends calls only to replicas whose health is SERVING.
enum class HealthChecking {
  // On for targets of several replicas (lists, resolver schemes), off for one address.
  kAuto,
  kOn,
  // Off: health probes themselves (ccctl health) must reach NOT_SERVING replicas.
  kOff,
};

// True when `target` may name several replicas (what kAuto turns health checking on for).
bool NamesSeveralReplicas(absl::string_view target);

// An insecure channel (mutual TLS is planned) with round_robin balancing and keepalive.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target,
                                           HealthChecking health = HealthChecking::kAuto);

// A client context whose deadline is `timeout` from now; every call of the suite has one.
std::unique_ptr<grpc::ClientContext> ContextWithTimeout(absl::Duration timeout);

// One unary call of a generated stub with a deadline `timeout` from now; a failed call's
// status as absl::Status (FromGrpcStatus), e.g.
//   absl::StatusOr<v1::Call> call = UnaryCall(*stub, &Stub::GetCall, request);
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, absl::Duration timeout = absl::Seconds(10)) {
  auto context = ContextWithTimeout(timeout);
  Response response;
  grpc::Status status = (stub.*method)(context.get(), request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace contactcentre::common
