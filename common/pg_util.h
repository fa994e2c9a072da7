// Small conversions between libpqxx 6 and the suite's types, which libpqxx does not know:
// arrays, protobuf timestamps, bytea.
//
// Times cross the wire as microseconds since the epoch: in SQL read them with
// `(extract(epoch FROM t) * 1e6)::bigint` and write them with `to_timestamp($n::float8 / 1e6)`.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace contactcentre::common {

// A PostgreSQL array literal of texts, e.g. {"a","b \"c\""}; pass it as a parameter and cast
// it in SQL ($1::text[]).
std::string PgTextArray(const std::vector<std::string>& values);

// A bytea parameter holding `bytes`.
inline pqxx::binarystring PgBytes(const std::string& bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

// The bytes of a bytea field.
inline std::string BytesOf(const pqxx::field& field) { return pqxx::binarystring(field).str(); }

google::protobuf::Timestamp TimestampFromMicros(int64_t micros);
int64_t MicrosFromTimestamp(const google::protobuf::Timestamp& timestamp);
absl::Time TimeFromTimestamp(const google::protobuf::Timestamp& timestamp);
google::protobuf::Timestamp TimestampFromTime(absl::Time time);

}  // namespace contactcentre::common
