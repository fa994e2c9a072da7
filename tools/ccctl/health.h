// Health of the suite's services over gRPC's standard health protocol.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace contactcentre::ccctl {

struct ServiceAddress {
  std::string service;  // "calls"
  std::string target;   // "127.0.0.1:50051" or a list or dns:/// name
};

struct HealthResult {
  std::string service;
  std::string target;
  // SERVING, NOT_SERVING, UNREACHABLE (no answer within the timeout) or ERROR.
  std::string status;
  std::string detail;
  absl::Duration latency;
};

// Checks the readiness ("") of every service concurrently, each within `timeout`.
std::vector<HealthResult> CheckHealth(const std::vector<ServiceAddress>& services,
                                      absl::Duration timeout);

// Renders results as an aligned table or as a JSON array.
std::string FormatHealthTable(const std::vector<HealthResult>& results);
std::string FormatHealthJson(const std::vector<HealthResult>& results);

}  // namespace contactcentre::ccctl
