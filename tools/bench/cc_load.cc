// cc-load: the suite's own gRPC load client for end-to-end figures against running services.
//
//   cc-load --target 127.0.0.1:50051 --in_flight 64 --duration 10s
//           --method /contactcentre.calls.v1.CallsService/GetCall --request_hex 0a03616263
//
// Every run first measures the baseline on the same server: gRPC health checks (an empty call
// through the same stack), then the method; it prints both and their ratio.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/config.h"
#include "tools/bench/grpc_load.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address (host:port, list, dns:///)");
ABSL_FLAG(std::string, method, "/grpc.health.v1.Health/Check", "full method name to call");
ABSL_FLAG(std::string, request_hex, "", "the serialized request message, hex-encoded");
ABSL_FLAG(int, in_flight, 64, "calls outstanding at once");
ABSL_FLAG(int, channels, 4, "connections to spread the calls over");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "measured period of each run");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "unmeasured period before each run");

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv,
      "cc-load: closed-loop gRPC load on one method of a running service, next to the same "
      "server's empty-call baseline (gRPC health Check).");
  using contactcentre::bench::LoadOptions;
  LoadOptions options{.in_flight = absl::GetFlag(FLAGS_in_flight),
                      .channels = absl::GetFlag(FLAGS_channels),
                      .duration = absl::GetFlag(FLAGS_duration),
                      .warmup = absl::GetFlag(FLAGS_warmup)};
  const std::string target = absl::GetFlag(FLAGS_target);

  options.method = "/grpc.health.v1.Health/Check";
  auto baseline = contactcentre::bench::RunUnaryLoad(target, options);
  std::printf("baseline  %-50s %s\n", options.method.c_str(),
              contactcentre::bench::DescribeLoad(baseline).c_str());

  options.method = absl::GetFlag(FLAGS_method);
  options.request = absl::HexStringToBytes(absl::GetFlag(FLAGS_request_hex));
  auto measured = contactcentre::bench::RunUnaryLoad(target, options);
  std::printf("measured  %-50s %s\n", options.method.c_str(),
              contactcentre::bench::DescribeLoad(measured).c_str());
  if (baseline.calls_per_second > 0) {
    std::printf("ratio     method/baseline calls per second: %.2f\n",
                measured.calls_per_second / baseline.calls_per_second);
  }
  return measured.calls > 0 && measured.errors == 0 ? 0 : 1;
}
