#include "common/pg_pool.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace contactcentre::common {
namespace {

// SQLSTATE classes and codes that mean the server or connection went away.
bool IsConnectionLoss(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "08") ||  // connection exception
         sqlstate == "57P01" ||               // admin_shutdown
         sqlstate == "57P02" ||               // crash_shutdown
         sqlstate == "57P03" ||               // cannot_connect_now (starting up)
         sqlstate == "25006";  // read_only_sql_transaction: a standby after a failover
}

}  // namespace

absl::Status StatusFromCurrentException() {
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(
        absl::StrCat("PostgreSQL connection lost during commit, outcome unknown: ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("PostgreSQL unreachable: ", e.what()));
  } catch (const pqxx::unique_violation& e) {
    return absl::AlreadyExistsError(e.what());
  } catch (const pqxx::integrity_constraint_violation& e) {
    return absl::FailedPreconditionError(e.what());
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError(absl::StrCat("transaction lost a race, retry: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string sqlstate = e.sqlstate();
    if (IsConnectionLoss(sqlstate)) {
      return absl::UnavailableError(absl::StrCat("PostgreSQL unreachable: ", e.what()));
    }
    if (sqlstate == "55P03") {
      return absl::AbortedError(absl::StrCat("lock not available, retry: ", e.what()));
    }
    if (sqlstate == "57014") {
      return absl::DeadlineExceededError(absl::StrCat("statement timed out: ", e.what()));
    }
    return absl::InternalError(absl::StrCat("SQL error ", sqlstate, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("database error: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(PgPoolOptions options) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("PostgreSQL DSN is empty");
  if (options.size < 1 || options.size > 1000) {
    return absl::InvalidArgumentError("PostgreSQL pool size must be within 1..1000");
  }
  return std::unique_ptr<PgPool>(new PgPool(std::move(options)));
}

std::string WithConnectionParameters(
    absl::string_view dsn, const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string result(dsn);
  const bool uri = absl::StartsWith(dsn, "postgres://") || absl::StartsWith(dsn, "postgresql://");
  for (const auto& [key, value] : parameters) {
    if (uri) {
      // URI query parameters: percent-encode everything but unreserved characters.
      absl::StrAppend(&result, result.find('?') == std::string::npos ? "?" : "&", key, "=");
      for (unsigned char c : value) {
        if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          result.push_back(static_cast<char>(c));
        } else {
          absl::StrAppendFormat(&result, "%%%02X", c);
        }
      }
    } else {
      // Later keywords win in a key=value string, so only these values are overridden.
      absl::StrAppend(&result, " ", key, "='");
      for (char c : value) {
        if (c == '\'' || c == '\\') result.push_back('\\');
        result.push_back(c);
      }
      result.push_back('\'');
    }
  }
  return result;
}

PgPool::PgPool(PgPoolOptions options) : options_(std::move(options)) {
  const int64_t connect_seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout));
  full_dsn_ =
      WithConnectionParameters(options_.dsn, {{"connect_timeout", absl::StrCat(connect_seconds)},
                                              {"application_name", options_.application_name}});
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Connect() const {
  try {
    auto connection = std::make_unique<pqxx::connection>(full_dsn_);
    if (options_.statement_timeout > absl::ZeroDuration()) {
      // Set after connecting rather than in the DSN's `options`, which would replace a user's
      // own and which PgBouncer refuses.
      pqxx::nontransaction txn(*connection);
      txn.exec(absl::StrCat("SET statement_timeout = ",
                            absl::ToInt64Milliseconds(options_.statement_timeout)));
    }
    for (const auto& [name, sql] : options_.prepared_statements) connection->prepare(name, sql);
    return connection;
  } catch (...) {
    absl::Status status = StatusFromCurrentException();
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", status.message()));
  }
}

PgPool::~PgPool() {
  absl::MutexLock lock(&mutex_);
  idle_.clear();
}

PgPool::Lease::Lease(PgPool* pool, std::unique_ptr<pqxx::connection> connection,
                     uint64_t generation)
    : pool_(pool), connection_(std::move(connection)), generation_(generation) {}

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      connection_(std::move(other.connection_)),
      generation_(other.generation_),
      broken_(other.broken_) {
  other.pool_ = nullptr;
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) {
    pool_->Release(std::move(connection_), generation_, broken_);
  }
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  uint64_t generation;
  {
    absl::MutexLock lock(&mutex_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&can_proceed), options_.acquire_timeout)) {
      return absl::UnavailableError(absl::StrCat("no PostgreSQL connection free within ",
                                                 absl::FormatDuration(options_.acquire_timeout),
                                                 " (pool size ", options_.size, ")"));
    }
    generation = generation_;
    if (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection), generation);
    }
    ++open_;  // reserve the slot, then connect without holding the lock
  }
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = Connect();
  if (!connection.ok()) {
    absl::MutexLock lock(&mutex_);
    --open_;
    return connection.status();
  }
  return Lease(this, std::move(*connection), generation);
}

void PgPool::Release(std::unique_ptr<pqxx::connection> connection, uint64_t generation,
                     bool broken) {
  absl::MutexLock lock(&mutex_);
  if (broken || !connection->is_open() || generation < generation_) {
    if (broken && generation == generation_) {
      ++generation_;
      open_ -= static_cast<int>(idle_.size());
      idle_.clear();
    }
    --open_;
    connection.reset();
    return;
  }
  idle_.push_back(std::move(connection));
}

absl::Status PgPool::RunTransaction(const std::function<absl::Status(pqxx::work&)>& work) {
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    bool commit_sent = false;
    absl::Status status;
    try {
      pqxx::work txn(lease->connection());
      status = work(txn);
      if (status.ok()) {
        commit_sent = true;
        txn.commit();
      }
    } catch (...) {
      status = StatusFromCurrentException();
      // Only a database exception says the connection is gone; UNAVAILABLE returned by the
      // work itself (say, another service is down) is the caller's to handle.
      if (status.code() == absl::StatusCode::kUnavailable) lease->MarkBroken();
    }
    if (status.code() != absl::StatusCode::kUnavailable || !lease->broken()) return status;
    if (commit_sent || attempt >= 2) return status;
    LogWarning("PostgreSQL connection broken; retrying on a fresh connection", {{"error", status}});
  }
}

absl::Status PgPool::RunQuery(const std::function<absl::Status(pqxx::nontransaction&)>& work) {
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    absl::Status status;
    try {
      pqxx::nontransaction query(lease->connection());
      status = work(query);
    } catch (...) {
      status = StatusFromCurrentException();
      if (status.code() == absl::StatusCode::kUnavailable) lease->MarkBroken();
    }
    if (status.code() != absl::StatusCode::kUnavailable || !lease->broken() || attempt >= 2) {
      return status;
    }
  }
}

absl::Status PgPool::Ping() {
  // A connection of its own: a pool busy with slow queries must not look like a database that
  // is down (readiness would take every replica out of service under load).
  absl::MutexLock lock(&probe_mutex_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (probe_ == nullptr) {
      absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = Connect();
      if (!connection.ok()) return connection.status();
      probe_ = std::move(*connection);
    }
    try {
      pqxx::nontransaction txn(*probe_);
      txn.exec("SELECT 1");
      return absl::OkStatus();
    } catch (...) {
      probe_.reset();
      absl::Status status = StatusFromCurrentException();
      if (status.code() != absl::StatusCode::kUnavailable || attempt == 1) return status;
    }
  }
  return absl::UnavailableError("PostgreSQL unreachable");
}

int PgPool::open_connections() const {
  absl::MutexLock lock(&mutex_);
  return open_;
}

}  // namespace contactcentre::common
