#include "common/migrations.h"

#include <map>
#include <memory>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/pg_pool.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

constexpr char kLockKey[] = "contactcentre.schema_migrations";

absl::StatusOr<MigrationReport> ApplyLocked(pqxx::connection& connection,
                                            absl::string_view component,
                                            const std::vector<Migration>& migrations) {
  MigrationReport report;
  {
    pqxx::work txn(connection);
    txn.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " component text NOT NULL,"
        " version integer NOT NULL,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (component, version))");
    txn.commit();
  }
  std::map<int, std::string> applied_checksums;
  {
    pqxx::read_transaction txn(connection);
    for (const auto& row :
         txn.exec_params("SELECT version, checksum FROM schema_migrations WHERE component = $1",
                         std::string(component))) {
      applied_checksums[row[0].as<int>()] = row[1].as<std::string>();
    }
  }
  for (const Migration& migration : migrations) {
    const std::string label = absl::StrFormat("%04d_%s", migration.version, migration.name);
    pqxx::work txn(connection);
    const std::string checksum =
        txn.exec_params1("SELECT md5($1)", std::string(migration.sql))[0].as<std::string>();
    if (auto it = applied_checksums.find(migration.version); it != applied_checksums.end()) {
      if (it->second != checksum) {
        return absl::FailedPreconditionError(
            absl::StrCat("migration ", label, " of ", component,
                         " was edited after it was applied; add a new migration instead"));
      }
      ++report.already_applied;
      report.newest_version = migration.version;
      continue;
    }
    const absl::Time started = absl::Now();
    // A migration queued behind a long transaction would stall every query on its table
    // while it waits: give up after 30 s and try again later instead.
    txn.exec("SET LOCAL lock_timeout = '30s'");
    try {
      txn.exec(std::string(migration.sql));
    } catch (...) {
      return Annotate(StatusFromCurrentException(),
                      absl::StrCat("migration ", label, " of ", component, " failed"));
    }
    txn.exec_params(
        "INSERT INTO schema_migrations (component, version, name, checksum) "
        "VALUES ($1, $2, $3, $4)",
        std::string(component), migration.version, std::string(migration.name), checksum);
    txn.commit();
    ++report.applied;
    report.newest_version = migration.version;
    LogInfo("migration applied",
            {{"component", component}, {"migration", label}, {"took_s", absl::Now() - started}});
  }
  if (!applied_checksums.empty() && applied_checksums.rbegin()->first > report.newest_version) {
    LogWarning("database schema is newer than this binary",
               {{"database_version", applied_checksums.rbegin()->first},
                {"binary_version", report.newest_version}});
    report.newest_version = applied_checksums.rbegin()->first;
  }
  return report;
}

}  // namespace

absl::StatusOr<MigrationReport> ApplyMigrations(absl::string_view dsn, absl::string_view component,
                                                const std::vector<Migration>& migrations,
                                                absl::Duration lock_timeout,
                                                const std::function<bool()>& cancelled) {
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = std::make_unique<pqxx::connection>(WithConnectionParameters(
        dsn, {{"connect_timeout", "3"}, {"application_name", "migrations"}}));
  } catch (...) {
    return StatusFromCurrentException();
  }
  try {
    // A session-level lock (not a transaction's) spans the separate transactions of the
    // migrations. Polling with try-lock lets the wait have a deadline and a progress line.
    const absl::Time deadline = absl::Now() + lock_timeout;
    absl::Time next_notice = absl::Now() + absl::Seconds(5);
    while (true) {
      if (cancelled && cancelled()) {
        return absl::CancelledError("stopped while waiting for the migration lock");
      }
      pqxx::nontransaction query(*connection);
      if (query.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", kLockKey)[0].as<bool>()) {
        break;
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("another process held the migration lock of ", component,
                         " for longer than ", absl::FormatDuration(lock_timeout)));
      }
      if (absl::Now() >= next_notice) {
        LogInfo("waiting for another replica to finish migrations");
        next_notice = absl::Now() + absl::Seconds(5);
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::StatusOr<MigrationReport> report = ApplyLocked(*connection, component, migrations);
    pqxx::nontransaction unlock(*connection);
    unlock.exec_params("SELECT pg_advisory_unlock(hashtext($1))", kLockKey);
    return report;
  } catch (...) {
    // Closing the connection releases the lock.
    return StatusFromCurrentException();
  }
}

}  // namespace contactcentre::common
