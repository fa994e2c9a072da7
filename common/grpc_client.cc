#include "common/grpc_client.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace contactcentre::common {

std::string NormalizeTarget(absl::string_view target) {
  if (absl::StrContains(target, ":///") || absl::StartsWith(target, "ipv4:") ||
      absl::StartsWith(target, "ipv6:") || absl::StartsWith(target, "unix:")) {
    return std::string(target);
  }
  std::vector<std::string> addresses = absl::StrSplit(target, ',', absl::SkipWhitespace());
  if (addresses.size() <= 1) return std::string(target);
  for (std::string& address : addresses) {
    if (absl::StartsWith(address, "localhost:")) address = "127.0.0.1" + address.substr(9);
  }
  return "ipv4:" + absl::StrJoin(addresses, ",");
}

bool NamesSeveralReplicas(absl::string_view target) {
  const std::string normalized = NormalizeTarget(target);
  if (absl::StartsWith(normalized, "ipv4:") || absl::StartsWith(normalized, "ipv6:")) {
    return absl::StrContains(normalized, ',');
  }
  return absl::StrContains(normalized, ":///") && !absl::StartsWith(normalized, "unix:");
}

std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target, HealthChecking health) {
  grpc::ChannelArguments arguments;
  const bool health_checked = health == HealthChecking::kOn ||
                              (health == HealthChecking::kAuto && NamesSeveralReplicas(target));
  arguments.SetServiceConfigJSON(
      health_checked
          ? R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}})"
          : R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  arguments.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  return grpc::CreateCustomChannel(NormalizeTarget(target), grpc::InsecureChannelCredentials(),
                                   arguments);
}

std::unique_ptr<grpc::ClientContext> ContextWithTimeout(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

}  // namespace contactcentre::common
