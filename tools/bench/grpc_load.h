// A closed-loop gRPC load generator on the callback API: keeps `in_flight` unary calls of one
// method outstanding for `duration` and reports throughput and latency. Used by cc-load and
// the benchmarks; the method is called generically (any request bytes), so it needs no stubs.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace contactcentre::bench {

struct LoadOptions {
  std::string method;   // "/grpc.health.v1.Health/Check"
  std::string request;  // serialized request message
  // When not empty, calls cycle through these serialized requests instead of `request`.
  std::vector<std::string> requests;
  int in_flight = 64;  // calls outstanding at once
  int channels = 4;    // HTTP/2 connections the calls are spread over
  absl::Duration duration = absl::Seconds(5);
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration call_timeout = absl::Seconds(5);
};

struct LoadResult {
  int64_t calls = 0;   // completed OK within the measured period
  int64_t errors = 0;  // completed with an error
  std::string first_error;
  double calls_per_second = 0;
  absl::Duration p50;
  absl::Duration p99;
  double cpu_seconds = 0;  // of this process (client side) during the measured period
};

LoadResult RunUnaryLoad(const std::string& target, const LoadOptions& options);

// "68,123 calls/s, p50 0.91 ms, p99 2.10 ms (0 errors)".
std::string DescribeLoad(const LoadResult& result);

// CPU seconds used so far by this process (user + system).
double ProcessCpuSeconds();

}  // namespace contactcentre::bench
