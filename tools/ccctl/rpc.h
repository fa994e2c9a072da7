// Calls of any unary method of the suite's contracts by its descriptor (gRPC's generic stub
// with protobuf reflection), so that get/list/create/delete are written once for every resource.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace contactcentre::ccctl {

// Where the services listen ("calls" -> "127.0.0.1:50051"), and the deadline of each call.
struct ServiceTargets {
  std::map<std::string, std::string> addresses;
  absl::Duration timeout = absl::Seconds(30);
  // How long the first call to a service waits for a connection before failing UNAVAILABLE
  // (a service that is starting gets this long; one that is down fails fast).
  absl::Duration connect_timeout = absl::Seconds(5);
};

// Channels to the services, one per service, made when first used.
class Clients {
 public:
  explicit Clients(ServiceTargets targets) : targets_(std::move(targets)) {}

  std::shared_ptr<grpc::Channel> Channel(const std::string& service);
  // Channel(), connected: UNAVAILABLE naming the service and address when no connection opens
  // within the connect timeout.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Connected(const std::string& service);
  absl::Duration timeout() const { return targets_.timeout; }

  // Calls `method` of `service` with `request`; the answer is parsed into `response` (of the
  // method's output type). Errors keep the gRPC code and message.
  absl::Status Unary(const std::string& service, const google::protobuf::MethodDescriptor& method,
                     const google::protobuf::Message& request, google::protobuf::Message& response);

 private:
  ServiceTargets targets_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::map<std::string, bool> connected_;
};

// A new message of `descriptor`'s generated type.
std::unique_ptr<google::protobuf::Message> NewMessage(
    const google::protobuf::Descriptor& descriptor);

// "NOT_FOUND: queue queues/x does not exist": how ccctl prints an error after "ccctl: ".
std::string ErrorText(const absl::Status& status);

// gRPC's status as Abseil's (same code and message).
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace contactcentre::ccctl
