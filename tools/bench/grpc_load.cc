#include "tools/bench/grpc_load.h"

#include <grpcpp/generic/generic_stub.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_client.h"

namespace contactcentre::bench {
namespace {

// One slot: issues a call, and on completion records it and issues the next, until stopped.
class Slot {
 public:
  Slot(grpc::GenericStub* stub, const LoadOptions& options, std::atomic<bool>* measuring,
       std::atomic<bool>* stopping, absl::Notification* done, std::atomic<int>* live)
      : stub_(stub),
        options_(options),
        measuring_(measuring),
        stopping_(stopping),
        done_(done),
        live_(live) {
    if (options.requests.empty()) {
      grpc::Slice slice(options.request);
      fixed_request_ = grpc::ByteBuffer(&slice, 1);
    }
  }

  void Start() { Issue(); }

  std::vector<absl::Duration> latencies;
  int64_t errors = 0;
  std::string first_error;

 private:
  void Issue() {
    if (stopping_->load()) {
      if (live_->fetch_sub(1) == 1) done_->Notify();
      return;
    }
    if (!options_.requests.empty()) {
      // Each slot walks the list from its own starting point.
      next_request_ = (next_request_ + 7919) % options_.requests.size();
      grpc::Slice slice(options_.requests[next_request_]);
      request_ = grpc::ByteBuffer(&slice, 1);
    } else {
      request_ = fixed_request_;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    started_ = absl::Now();
    stub_->UnaryCall(context_.get(), options_.method, grpc::StubOptions(), &request_, &response_,
                     [this](grpc::Status status) {
                       const absl::Duration latency = absl::Now() - started_;
                       if (measuring_->load()) {
                         if (status.ok()) {
                           latencies.push_back(latency);
                         } else {
                           if (errors++ == 0) first_error = status.error_message();
                         }
                       }
                       Issue();
                     });
  }

  grpc::GenericStub* stub_;
  const LoadOptions& options_;
  std::atomic<bool>* measuring_;
  std::atomic<bool>* stopping_;
  absl::Notification* done_;
  std::atomic<int>* live_;
  grpc::ByteBuffer fixed_request_;
  grpc::ByteBuffer request_;
  size_t next_request_ = static_cast<size_t>(reinterpret_cast<uintptr_t>(this) >> 6);
  grpc::ByteBuffer response_;
  std::unique_ptr<grpc::ClientContext> context_;
  absl::Time started_;
};

}  // namespace

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

LoadResult RunUnaryLoad(const std::string& target, const LoadOptions& options) {
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    // Distinct channel arguments give distinct connections instead of one shared subchannel.
    grpc::ChannelArguments arguments;
    arguments.SetInt("contactcentre.bench.channel", i);
    stubs.push_back(std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
        common::NormalizeTarget(target), grpc::InsecureChannelCredentials(), arguments)));
  }
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<int> live{options.in_flight};
  absl::Notification done;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.in_flight; ++i) {
    slots.push_back(std::make_unique<Slot>(stubs[i % stubs.size()].get(), options, &measuring,
                                           &stopping, &done, &live));
  }
  for (auto& slot : slots) slot->Start();
  absl::SleepFor(options.warmup);
  const double cpu_before = ProcessCpuSeconds();
  const absl::Time measure_start = absl::Now();
  measuring.store(true);
  absl::SleepFor(options.duration);
  measuring.store(false);
  const absl::Duration measured = absl::Now() - measure_start;
  const double cpu_after = ProcessCpuSeconds();
  stopping.store(true);
  done.WaitForNotificationWithTimeout(options.call_timeout + absl::Seconds(5));

  LoadResult result;
  std::vector<absl::Duration> all;
  for (auto& slot : slots) {
    all.insert(all.end(), slot->latencies.begin(), slot->latencies.end());
    result.errors += slot->errors;
    if (result.first_error.empty()) result.first_error = slot->first_error;
  }
  std::sort(all.begin(), all.end());
  result.calls = static_cast<int64_t>(all.size());
  result.calls_per_second = static_cast<double>(all.size()) / absl::ToDoubleSeconds(measured);
  if (!all.empty()) {
    result.p50 = all[all.size() / 2];
    result.p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  result.cpu_seconds = cpu_after - cpu_before;
  return result;
}

std::string DescribeLoad(const LoadResult& result) {
  std::string text =
      absl::StrFormat("%.0f calls/s, p50 %.3f ms, p99 %.3f ms (%d errors)", result.calls_per_second,
                      absl::ToDoubleMilliseconds(result.p50),
                      absl::ToDoubleMilliseconds(result.p99), result.errors);
  if (!result.first_error.empty()) absl::StrAppend(&text, " first error: ", result.first_error);
  return text;
}

}  // namespace contactcentre::bench
