#include "common/idempotency.h"

#include "absl/strings/str_cat.h"
#include "common/pg_pool.h"

namespace contactcentre::common {

absl::StatusOr<std::optional<std::string>> FindRequestResponse(pqxx::work& txn,
                                                               absl::string_view method,
                                                               absl::string_view request_id) {
  if (request_id.empty()) return std::nullopt;
  try {
    const std::string method_text(method);
    const std::string request_text(request_id);
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))",
                    method_text, request_text);
    pqxx::result rows =
        txn.exec_params("SELECT response FROM request_log WHERE method = $1 AND request_id = $2",
                        method_text, request_text);
    if (rows.empty()) return std::nullopt;
    pqxx::binarystring response(rows[0][0]);
    return response.str();
  } catch (...) {
    return StatusFromCurrentException();
  }
}

absl::Status SaveRequestResponse(pqxx::work& txn, absl::string_view method,
                                 absl::string_view request_id,
                                 const google::protobuf::Message& response) {
  if (request_id.empty()) return absl::OkStatus();
  try {
    const std::string serialized = response.SerializeAsString();
    txn.exec_params("INSERT INTO request_log (method, request_id, response) VALUES ($1, $2, $3)",
                    std::string(method), std::string(request_id),
                    pqxx::binarystring(serialized.data(), serialized.size()));
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException();
  }
}

absl::StatusOr<bool> MarkEventApplied(pqxx::work& txn, absl::string_view event_id) {
  try {
    pqxx::result result = txn.exec_params(
        "INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
        std::string(event_id));
    return result.affected_rows() == 1;
  } catch (...) {
    return StatusFromCurrentException();
  }
}

}  // namespace contactcentre::common
