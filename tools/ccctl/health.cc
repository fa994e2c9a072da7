#include "tools/ccctl/health.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_client.h"
#include "common/log.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace contactcentre::ccctl {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthResult CheckOne(const ServiceAddress& address, absl::Duration timeout) {
  HealthResult result{.service = address.service, .target = address.target};
  // Without client-side health checking: a NOT_SERVING replica must answer, not be skipped.
  auto stub = grpc::health::v1::Health::NewStub(
      common::MakeChannel(address.target, common::HealthChecking::kOff));
  auto context = common::ContextWithTimeout(timeout);
  // Wait for the connection within the deadline instead of failing at once while it opens.
  context->set_wait_for_ready(true);
  HealthCheckRequest request;
  HealthCheckResponse response;
  const absl::Time started = absl::Now();
  grpc::Status status = stub->Check(context.get(), request, &response);
  result.latency = absl::Now() - started;
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
      status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    result.status = "UNREACHABLE";
    result.detail = status.error_message();
  } else if (!status.ok()) {
    result.status = "ERROR";
    result.detail = absl::StrCat(status.error_code(), ": ", status.error_message());
  } else {
    result.status = HealthCheckResponse::ServingStatus_Name(response.status());
  }
  return result;
}

}  // namespace

std::vector<HealthResult> CheckHealth(const std::vector<ServiceAddress>& services,
                                      absl::Duration timeout) {
  std::vector<std::future<HealthResult>> pending;
  for (const ServiceAddress& address : services) {
    pending.push_back(
        std::async(std::launch::async, [&address, timeout] { return CheckOne(address, timeout); }));
  }
  std::vector<HealthResult> results;
  for (auto& result : pending) results.push_back(result.get());
  return results;
}

std::string FormatHealthTable(const std::vector<HealthResult>& results) {
  std::string out = absl::StrFormat("%-10s %-28s %-12s %9s  %s\n", "SERVICE", "ADDRESS", "STATUS",
                                    "LATENCY", "DETAIL");
  for (const HealthResult& result : results) {
    absl::StrAppendFormat(&out, "%-10s %-28s %-12s %7.1fms  %s\n", result.service, result.target,
                          result.status, absl::ToDoubleMilliseconds(result.latency), result.detail);
  }
  return out;
}

std::string FormatHealthJson(const std::vector<HealthResult>& results) {
  std::string out = "[";
  for (size_t i = 0; i < results.size(); ++i) {
    const HealthResult& result = results[i];
    if (i > 0) out.append(",");
    out.append("{\"service\":");
    common::AppendJsonString(out, result.service);
    out.append(",\"address\":");
    common::AppendJsonString(out, result.target);
    out.append(",\"status\":");
    common::AppendJsonString(out, result.status);
    absl::StrAppendFormat(
        &out, ",\"latency_ms\":%.3f,\"detail\":", absl::ToDoubleMilliseconds(result.latency));
    common::AppendJsonString(out, result.detail);
    out.append("}");
  }
  out.append("]\n");
  return out;
}

}  // namespace contactcentre::ccctl
