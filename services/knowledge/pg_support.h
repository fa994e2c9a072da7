// Small pieces the knowledge stores share on top of common/pg_pool.h: array and time
// conversions libpqxx 6 does not do, read-only queries without a transaction, etags, and the
// scopes of page tokens.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/pg_pool.h"

namespace contactcentre::knowledge {

// SQL for a timestamptz column as microseconds since the epoch (exact, unlike float seconds).
#define KNOWLEDGE_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// A PostgreSQL array literal of texts, e.g. {"a","b \"c\""}; pass it as a parameter and cast
// it in SQL ($1::text[]).
std::string PgTextArray(const std::vector<std::string>& values);

// A PostgreSQL array literal of integers, e.g. {1,2}.
std::string PgIntArray(const std::vector<int>& values);

// The elements of a text[] field (NULL elements are skipped).
std::vector<std::string> TextArrayField(const pqxx::field& field);

google::protobuf::Timestamp TimestampFromMicros(int64_t micros);

// Microseconds of a timestamp, for parameters (SQL: to_timestamp is inexact; use
// `timestamptz 'epoch' + $n * interval '1 microsecond'`).
int64_t MicrosFromTimestamp(const google::protobuf::Timestamp& timestamp);

// An etag is the resource's revision number in quotes, as HTTP writes entity tags; clients
// treat it as opaque.
std::string FormatEtag(int64_t revision);

// ABORTED "ETAG_MISMATCH: ..." when `given` is not the etag of `revision`.
absl::Status CheckEtag(absl::string_view given, int64_t revision, absl::string_view resource);

// A page-token scope for `method` and the filters of `request` (its deterministic bytes with
// the paging fields cleared by the caller), stable across processes and replicas.
std::string PageScope(absl::string_view method, const google::protobuf::Message& filters);

// Runs read-only `work(query)` on a pooled connection without a transaction: one round trip
// per statement. Retried once on a fresh connection when the connection broke. Exceptions map
// to statuses as in PgPool::Transact.
absl::Status RunReadOnly(common::PgPool& pg,
                         const std::function<absl::Status(pqxx::nontransaction&)>& work);

template <typename Work>
auto ReadOnly(common::PgPool& pg, Work&& work)
    -> std::invoke_result_t<Work&, pqxx::nontransaction&> {
  using Result = std::invoke_result_t<Work&, pqxx::nontransaction&>;
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return RunReadOnly(pg, [&](pqxx::nontransaction& query) { return work(query); });
  } else {
    Result result = absl::UnknownError("query did not run");
    absl::Status status = RunReadOnly(pg, [&](pqxx::nontransaction& query) {
      result = work(query);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }
}

}  // namespace contactcentre::knowledge
