// What every gRPC handler of the calls service does with its input and its answer: statuses to
// gRPC (internal errors logged), resource names to ids, request ids checked.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/log.h"
#include "common/status.h"
#include "services/calls/snapshot.h"

namespace contactcentre::calls {

inline grpc::Status Reply(const absl::Status& status, absl::string_view method) {
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    common::LogError("request failed", {{"method", method}, {"error", status}});
  }
  return common::ToGrpcStatus(status);
}

template <typename Message>
grpc::Status Reply(absl::StatusOr<Message> result, Message* response, absl::string_view method) {
  if (!result.ok()) return Reply(result.status(), method);
  *response = std::move(*result);
  return grpc::Status::OK;
}

// The id of a required "<collection>/{id}"; INVALID_ARGUMENT naming `field` otherwise.
inline absl::StatusOr<std::string> RequiredId(absl::string_view name, absl::string_view collection,
                                              absl::string_view field) {
  if (name.empty()) return common::InvalidArgumentError(field, "required");
  std::string id = IdOf(name, collection);
  if (id.empty()) {
    return common::InvalidArgumentError(field, absl::StrCat("must be ", collection, "/{id}"));
  }
  return id;
}

inline absl::Status CheckRequestId(absl::string_view request_id) {
  if (request_id.size() > 64) {
    return common::InvalidArgumentError("request_id", "at most 64 characters");
  }
  return absl::OkStatus();
}

}  // namespace contactcentre::calls
