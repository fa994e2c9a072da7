// Exactly-once effects on PostgreSQL: requests repeated with the same request_id, and events
// delivered more than once by the stream. Both work inside the caller's transaction, so the
// record and the effect commit together or not at all.
//
// Tables (created by every service's first migration):
//   request_log(method, request_id, response, created_at)  PRIMARY KEY (method, request_id)
//   processed_events(event_id, applied_at)                   PRIMARY KEY (event_id)
//
//   return pool.Transact([&](pqxx::work& txn) -> absl::StatusOr<Customer> {
//     CC_ASSIGN_OR_RETURN(auto earlier, FindRequestResponse(txn, "CreateCustomer", request));
//     if (earlier) return ParseAs<Customer>(*earlier);
//     Customer created = ...;  // the effect
//     CC_RETURN_IF_ERROR(SaveRequestResponse(txn, "CreateCustomer", request, created));
//     return created;
//   });
#pragma once

#include <google/protobuf/message.h>

#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace contactcentre::common {

// The response stored for an earlier request with this method and request_id, if any. Takes a
// transaction-scoped advisory lock on the pair first, so a concurrent duplicate waits for the
// first to commit and then finds its response instead of repeating the effect. An empty
// request_id opts out: nothing is locked and nullopt is returned. INVALID_ARGUMENT
// "request_id" when the id was used before with a different request.
absl::StatusOr<std::optional<std::string>> FindRequestResponse(
    pqxx::work& txn, absl::string_view method, absl::string_view request_id,
    const google::protobuf::Message& request);

// Stores the response of a request (no-op for an empty request_id).
absl::Status SaveRequestResponse(pqxx::work& txn, absl::string_view method,
                                 absl::string_view request_id,
                                 const google::protobuf::Message& request,
                                 const google::protobuf::Message& response);

// The deterministic serialization of `message` (map entries in key order), so that equal
// messages give equal bytes.
std::string DeterministicBytes(const google::protobuf::Message& message);

// Deletes request answers older than `answer_ttl` and processed-event ids older than
// `event_ttl`; run now and then by every service.
absl::Status PruneBookkeeping(pqxx::work& txn, absl::Duration answer_ttl, absl::Duration event_ttl);

// Records that the event was applied; false when it had been applied before (the caller then
// skips the effect and still acknowledges the event).
absl::StatusOr<bool> MarkEventApplied(pqxx::work& txn, absl::string_view event_id);

}  // namespace contactcentre::common
