// Error plumbing shared by every service: absl::Status inside, grpc::Status at the edge.
//
//   absl::StatusOr<Call> GetCall(absl::string_view id) {
//     if (id.empty()) return common::InvalidArgumentError("name", "must not be empty");
//     CC_ASSIGN_OR_RETURN(auto row, store.Find(id));
//     ...
//   }
//   grpc::Status Handler(...) { return common::ToGrpcStatus(DoWork()); }
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::common {

// INVALID_ARGUMENT whose message names the offending field path first, e.g.
// "invalid caller_number: not a possible phone number", as the contracts promise.
absl::Status InvalidArgumentError(absl::string_view field_path, absl::string_view problem);

// Maps an absl::Status to the grpc::Status of the same code and message. Codes share numbers;
// an OK status maps to grpc::Status::OK.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for clients of other services: keeps code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Prefixes a status message with context, keeping the code: "loading queue 7: <message>".
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace contactcentre::common

// Abseil 20220623 ships no status macros; these two are the whole set the suite uses.
#define CC_STATUS_CONCAT_INNER_(a, b) a##b
#define CC_STATUS_CONCAT_(a, b) CC_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define CC_RETURN_IF_ERROR(expr)                                \
  do {                                                          \
    if (::absl::Status cc_status_ = (expr); !cc_status_.ok()) { \
      return cc_status_;                                        \
    }                                                           \
  } while (false)

// Declares `lhs` from a StatusOr `rexpr`, or returns its status if it is an error.
#define CC_ASSIGN_OR_RETURN(lhs, rexpr) \
  CC_ASSIGN_OR_RETURN_IMPL_(CC_STATUS_CONCAT_(cc_statusor_, __LINE__), lhs, rexpr)
#define CC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = *std::move(statusor)
