#include "common/testing/health.h"

#include "common/grpc_client.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace contactcentre::common::testing {

std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = ContextWithTimeout(timeout);
  grpc::Status status = stub->Check(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return "SERVICE_UNKNOWN";
  if (!status.ok()) return "UNREACHABLE";
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& expected,
                   absl::Duration timeout, const std::string& service) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (HealthStatus(channel, service) == expected) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

}  // namespace contactcentre::common::testing
