// The command side of a telephony adapter in tests: its WatchTelephonyCommands stream read on a
// thread of its own, every command kept for the test to look at.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"

namespace contactcentre::calls::testing {

class TelephonyAdapter {
 public:
  TelephonyAdapter(v1::CallsService::Stub& stub, const std::string& name) {
    v1::WatchTelephonyCommandsRequest request;
    request.set_telephony_adapter(name);
    reader_ = stub.WatchTelephonyCommands(&context_, request);
    thread_ = std::thread([this] {
      v1::TelephonyCommand command;
      while (reader_->Read(&command)) {
        absl::MutexLock lock(&mutex_);
        commands_.push_back(command);
      }
      grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mutex_);
      status_ = status;
    });
  }
  ~TelephonyAdapter() { Close(); }

  void Close() {
    if (!thread_.joinable()) return;
    context_.TryCancel();
    thread_.join();
  }

  // Waits up to 10 s for the `index`-th command received (0-based).
  std::optional<v1::TelephonyCommand> Next(size_t index) {
    absl::MutexLock lock(&mutex_);
    auto arrived = [this, index]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return commands_.size() > index || status_.has_value();
    };
    mutex_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(10));
    if (commands_.size() <= index) return std::nullopt;
    return commands_[index];
  }

  // Every command received so far, in order.
  std::vector<v1::TelephonyCommand> Commands() {
    absl::MutexLock lock(&mutex_);
    return commands_;
  }

  size_t Count() {
    absl::MutexLock lock(&mutex_);
    return commands_.size();
  }

  // The stream's final status, once it ended (waits up to `timeout`).
  std::optional<grpc::Status> Ended(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mutex_);
    auto ended = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return status_.has_value(); };
    mutex_.AwaitWithTimeout(absl::Condition(&ended), timeout);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::TelephonyCommand>> reader_;
  absl::Mutex mutex_;
  std::vector<v1::TelephonyCommand> commands_ ABSL_GUARDED_BY(mutex_);
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace contactcentre::calls::testing
