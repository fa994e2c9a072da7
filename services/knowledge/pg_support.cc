#include "services/knowledge/pg_support.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/idempotency.h"
#include "common/log.h"
#include "common/page_token.h"

namespace contactcentre::knowledge {

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal.push_back(',');
    literal.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal.push_back('\\');
      literal.push_back(c);
    }
    literal.push_back('"');
  }
  literal.push_back('}');
  return literal;
}

std::string PgIntArray(const std::vector<int>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

std::vector<std::string> TextArrayField(const pqxx::field& field) {
  std::vector<std::string> values;
  if (field.is_null()) return values;
  pqxx::array_parser parser = field.as_array();
  for (;;) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::juncture::done) break;
    if (juncture == pqxx::array_parser::juncture::string_value) values.push_back(std::move(value));
  }
  return values;
}

google::protobuf::Timestamp TimestampFromMicros(int64_t micros) {
  google::protobuf::Timestamp timestamp;
  int64_t seconds = micros / 1'000'000;
  int64_t remainder = micros % 1'000'000;
  if (remainder < 0) {
    remainder += 1'000'000;
    --seconds;
  }
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(static_cast<int32_t>(remainder * 1000));
  return timestamp;
}

int64_t MicrosFromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() * 1'000'000 + timestamp.nanos() / 1000;
}

std::string FormatEtag(int64_t revision) { return absl::StrCat("\"", revision, "\""); }

absl::Status CheckEtag(absl::string_view given, int64_t revision, absl::string_view resource) {
  if (given == FormatEtag(revision)) return absl::OkStatus();
  return absl::AbortedError(
      absl::StrCat("ETAG_MISMATCH: ", resource, " changed since it was read (etag ", given,
                   ", current ", FormatEtag(revision), "); read it again and reapply the change"));
}

std::string PageScope(absl::string_view method, const google::protobuf::Message& filters) {
  // FNV-1a: stable across processes, unlike std::hash and absl::Hash.
  uint64_t hash = 14695981039346656037ull;
  for (char c : common::DeterministicBytes(filters)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return absl::StrCat(method, ":", absl::Hex(hash));
}

absl::Status RunReadOnly(common::PgPool& pg,
                         const std::function<absl::Status(pqxx::nontransaction&)>& work) {
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<common::PgPool::Lease> lease = pg.Acquire();
    if (!lease.ok()) return lease.status();
    absl::Status status;
    try {
      pqxx::nontransaction query(lease->connection());
      status = work(query);
    } catch (...) {
      status = common::StatusFromCurrentException();
      if (status.code() == absl::StatusCode::kUnavailable) lease->MarkBroken();
    }
    if (status.code() != absl::StatusCode::kUnavailable || !lease->broken() || attempt >= 2) {
      return status;
    }
    common::LogWarning("PostgreSQL connection broken; retrying the read on a fresh connection",
                       {{"error", status}});
  }
}

}  // namespace contactcentre::knowledge
