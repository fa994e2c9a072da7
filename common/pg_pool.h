// A bounded pool of PostgreSQL connections on libpqxx 6.4.
//
//   CC_ASSIGN_OR_RETURN(auto pool, common::PgPool::Create({.dsn = dsn, .size = 8}));
//   absl::StatusOr<int64_t> count = pool->Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t>
//   {
//     return txn.exec_params1("SELECT count(*) FROM calls WHERE queue_id = $1", queue_id)[0]
//         .as<int64_t>();
//   });
//
// At most `size` connections are open; a caller waits up to `acquire_timeout` for one, then
// gets UNAVAILABLE. Connections are opened lazily, so a service starts while PostgreSQL is
// down and reports NOT_SERVING until Ping() succeeds. A broken connection (server restart,
// network) is dropped together with every idle connection of the same age, and the next
// acquire opens a fresh one; Transact retries its work once on a fresh connection when the
// connection broke before the commit was sent (the transaction had no effect, so the retry is
// safe). A break during the commit gives UNAVAILABLE with "outcome unknown".
//
// libpqxx exceptions never escape Transact; they map to status codes:
//   broken connection, admin shutdown, too many connections, read-only standby -> UNAVAILABLE
//   unique violation -> ALREADY_EXISTS; other integrity violations -> FAILED_PRECONDITION
//   serialization failure, deadlock -> ABORTED; statement timeout -> DEADLINE_EXCEEDED
//   anything else -> INTERNAL (with the SQLSTATE and the server's message)
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace contactcentre::common {

struct PgPoolOptions {
  // libpq connection string, e.g. "host=127.0.0.1 port=25432 user=cc dbname=cc_calls".
  std::string dsn;
  // Most connections open at once.
  int size = 8;
  // How long Acquire waits for a free connection.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // How long opening a connection may take (libpq connect_timeout, whole seconds, at least 1).
  absl::Duration connect_timeout = absl::Seconds(3);
  // Server-side limit per statement; zero means none.
  absl::Duration statement_timeout = absl::Seconds(30);
  // Shown in pg_stat_activity.application_name.
  std::string application_name = "contactcentre";
  // Statements prepared on every connection: (name, SQL). Use with txn.exec_prepared(name, ...).
  std::vector<std::pair<std::string, std::string>> prepared_statements;
};

// Converts the exception in flight (call inside a catch block) to a status; see the table above.
absl::Status StatusFromCurrentException();

// `dsn` (a key=value string or a postgres:// URI) with `parameters` added so that they win
// over the DSN's own values of the same keys.
std::string WithConnectionParameters(
    absl::string_view dsn, const std::vector<std::pair<std::string, std::string>>& parameters);

class PgPool {
 public:
  // INVALID_ARGUMENT for a bad size or an empty DSN. Does not connect.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(PgPoolOptions options);

  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // One connection, returned to the pool when the lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& connection() { return *connection_; }
    // Drops the connection instead of returning it (it is broken or in an unknown state).
    void MarkBroken() { broken_ = true; }
    bool broken() const { return broken_; }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<pqxx::connection> connection, uint64_t generation);
    PgPool* pool_;
    std::unique_ptr<pqxx::connection> connection_;
    uint64_t generation_;
    bool broken_ = false;
  };

  // A connection within acquire_timeout, else UNAVAILABLE; UNAVAILABLE also when a new
  // connection cannot be opened.
  absl::StatusOr<Lease> Acquire();

  // Runs `work(txn)` in a read-write transaction and commits if it returns OK (or a value);
  // rolls back otherwise. `work` returns absl::Status or absl::StatusOr<T>; the result is the
  // same type. `work` may run twice (see the class comment), so it must not have effects
  // outside the transaction.
  template <typename Work>
  auto Transact(Work&& work) -> std::invoke_result_t<Work&, pqxx::work&>;

  // Runs read-only `work(query)` without a transaction (each statement commits by itself):
  // one round trip per statement instead of three, for hot single-statement reads. Retried
  // once on a fresh connection when the connection broke, which is safe for reads only.
  template <typename Work>
  auto Query(Work&& work) -> std::invoke_result_t<Work&, pqxx::nontransaction&>;

  // SELECT 1 on a connection of its own (not a pooled one, so that a busy pool does not look
  // like a dead database); the readiness probe.
  absl::Status Ping();

  // Connections currently open (idle and leased).
  int open_connections() const;

  const PgPoolOptions& options() const { return options_; }

 private:
  explicit PgPool(PgPoolOptions options);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  void Release(std::unique_ptr<pqxx::connection> connection, uint64_t generation, bool broken);
  absl::Status RunTransaction(const std::function<absl::Status(pqxx::work&)>& work);
  absl::Status RunQuery(const std::function<absl::Status(pqxx::nontransaction&)>& work);

  const PgPoolOptions options_;
  std::string full_dsn_;
  absl::Mutex probe_mutex_;
  std::unique_ptr<pqxx::connection> probe_ ABSL_GUARDED_BY(probe_mutex_);
  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;
  // Raised whenever a connection breaks; idle connections from an older generation are
  // dropped, since a restart breaks all of them at once.
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
};

template <typename Work>
auto PgPool::Transact(Work&& work) -> std::invoke_result_t<Work&, pqxx::work&> {
  using Result = std::invoke_result_t<Work&, pqxx::work&>;
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return RunTransaction([&](pqxx::work& txn) { return work(txn); });
  } else {
    Result result = absl::UnknownError("transaction did not run");
    absl::Status status = RunTransaction([&](pqxx::work& txn) {
      result = work(txn);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }
}

template <typename Work>
auto PgPool::Query(Work&& work) -> std::invoke_result_t<Work&, pqxx::nontransaction&> {
  using Result = std::invoke_result_t<Work&, pqxx::nontransaction&>;
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return RunQuery([&](pqxx::nontransaction& query) { return work(query); });
  } else {
    Result result = absl::UnknownError("query did not run");
    absl::Status status = RunQuery([&](pqxx::nontransaction& query) {
      result = work(query);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }
}

}  // namespace contactcentre::common
