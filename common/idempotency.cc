#include "common/idempotency.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "common/pg_pool.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

pqxx::binarystring Bytes(const std::string& bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

}  // namespace

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

absl::StatusOr<std::optional<std::string>> FindRequestResponse(
    pqxx::work& txn, absl::string_view method, absl::string_view request_id,
    const google::protobuf::Message& request) {
  if (request_id.empty()) return std::nullopt;
  try {
    const std::string method_text(method);
    const std::string request_text(request_id);
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))",
                    method_text, request_text);
    pqxx::result rows = txn.exec_params(
        "SELECT response, request_md5 = md5($3::bytea) FROM request_log "
        "WHERE method = $1 AND request_id = $2",
        method_text, request_text, Bytes(DeterministicBytes(request)));
    if (rows.empty()) return std::nullopt;
    if (!rows[0][1].as<bool>()) {
      return InvalidArgumentError("request_id", "was used before with a different request");
    }
    return pqxx::binarystring(rows[0][0]).str();
  } catch (...) {
    return StatusFromCurrentException();
  }
}

absl::Status SaveRequestResponse(pqxx::work& txn, absl::string_view method,
                                 absl::string_view request_id,
                                 const google::protobuf::Message& request,
                                 const google::protobuf::Message& response) {
  if (request_id.empty()) return absl::OkStatus();
  try {
    txn.exec_params(
        "INSERT INTO request_log (method, request_id, response, request_md5) "
        "VALUES ($1, $2, $3, md5($4::bytea))",
        std::string(method), std::string(request_id), Bytes(response.SerializeAsString()),
        Bytes(DeterministicBytes(request)));
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

absl::Status PruneBookkeeping(pqxx::work& txn, absl::Duration answer_ttl,
                              absl::Duration event_ttl) {
  try {
    txn.exec_params("DELETE FROM request_log WHERE created_at < now() - make_interval(secs => $1)",
                    absl::ToDoubleSeconds(answer_ttl));
    txn.exec_params(
        "DELETE FROM processed_events WHERE applied_at < now() - make_interval(secs => $1)",
        absl::ToDoubleSeconds(event_ttl));
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException();
  }
}

}  // namespace contactcentre::common
