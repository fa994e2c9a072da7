// ccctl: the contact-centre suite's admin CLI, in the manner of kubectl.
//
//   ccctl health [-o table|json] [--wait 60s]   readiness of every service
//
// Service addresses come from --<service>_address flags or CC_<SERVICE>_ADDRESS variables; an
// address may be host:port, a comma-separated list of replicas, or dns:///name:port.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "tools/ccctl/health.h"

ABSL_FLAG(std::string, calls_address, "127.0.0.1:50051", "calls service address");
ABSL_FLAG(std::string, customers_address, "127.0.0.1:50052", "customers service address");
ABSL_FLAG(std::string, surveys_address, "127.0.0.1:50053", "surveys service address");
ABSL_FLAG(std::string, knowledge_address, "127.0.0.1:50054", "knowledge service address");
ABSL_FLAG(std::string, analytics_address, "127.0.0.1:50055", "analytics service address");
ABSL_FLAG(std::string, o, "table", "output format: table or json");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(3), "deadline of each health check");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "keep checking until every service is SERVING or this much time has passed");

namespace contactcentre::ccctl {
namespace {

constexpr char kUsage[] = R"(ccctl: admin CLI of the contact-centre suite.

Usage:
  ccctl health [-o table|json] [--wait 60s] [--timeout 3s]
      Readiness of every service over gRPC's health protocol. Exits 0 when all are SERVING,
      1 otherwise.)";

int Health() {
  const std::vector<ServiceAddress> services = {
      {"calls", absl::GetFlag(FLAGS_calls_address)},
      {"customers", absl::GetFlag(FLAGS_customers_address)},
      {"surveys", absl::GetFlag(FLAGS_surveys_address)},
      {"knowledge", absl::GetFlag(FLAGS_knowledge_address)},
      {"analytics", absl::GetFlag(FLAGS_analytics_address)},
  };
  const std::string format = absl::GetFlag(FLAGS_o);
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "ccctl: -o must be table or json\n");
    return 2;
  }
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_wait);
  std::vector<HealthResult> results;
  while (true) {
    results = CheckHealth(services, absl::GetFlag(FLAGS_timeout));
    int serving = 0;
    for (const HealthResult& result : results) serving += result.status == "SERVING";
    if (serving == static_cast<int>(results.size()) || absl::Now() >= deadline) break;
    std::fprintf(stderr, "ccctl: %d of %zu services SERVING; waiting\n", serving, results.size());
    absl::SleepFor(absl::Milliseconds(500));
  }
  const std::string out = format == "json" ? FormatHealthJson(results) : FormatHealthTable(results);
  std::fputs(out.c_str(), stdout);
  for (const HealthResult& result : results) {
    if (result.status != "SERVING") return 1;
  }
  return 0;
}

}  // namespace
}  // namespace contactcentre::ccctl

int main(int argc, char** argv) {
  std::vector<char*> args =
      contactcentre::common::ParseFlagsWithEnvironment(argc, argv, contactcentre::ccctl::kUsage);
  const std::string command = args.size() > 1 ? args[1] : "";
  if (command == "health") return contactcentre::ccctl::Health();
  std::fprintf(stderr, "%s\n\nRun ccctl --help for the flags.\n", contactcentre::ccctl::kUsage);
  return 2;
}
