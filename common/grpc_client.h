// Channels to the suite's services, balanced over every replica.
//
// A target is one of:
//   "dns:///calls.contactcentre.svc.cluster.local:50051"  every address of a headless Service
//   "127.0.0.1:50051,127.0.0.1:50061"                      a list of replicas (local runs)
//   "localhost:50051"                                      one address
// and the channel spreads calls over all resolved addresses with gRPC's round_robin policy, so
// one busy replica does not get every call of a long-lived HTTP/2 connection.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace contactcentre::common {

// Turns a target as above into a gRPC target string; a comma-separated list of IPv4
// host:port becomes "ipv4:a,b" ("localhost" counts as 127.0.0.1).
std::string NormalizeTarget(absl::string_view target);

// An insecure channel (mutual TLS is planned) with round_robin balancing and keepalive.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target);

// A client context whose deadline is `timeout` from now; every call of the suite has one.
std::unique_ptr<grpc::ClientContext> ContextWithTimeout(absl::Duration timeout);

}  // namespace contactcentre::common
