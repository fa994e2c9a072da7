// gRPC health checks for tests, over the wire as a Kubernetes probe would do them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"

namespace contactcentre::common::testing {

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" (the server does not know the name) or
// "UNREACHABLE".
std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service = "",
                         absl::Duration timeout = absl::Seconds(2));

// Polls until HealthStatus returns `expected` or `timeout` passes; true on success.
bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& expected,
                   absl::Duration timeout, const std::string& service = "");

}  // namespace contactcentre::common::testing
