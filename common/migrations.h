// Numbered SQL migrations per component, applied once under an advisory lock.
//
// A component keeps its schema as <folder>/schema/NNNN_snake_case.sql, embedded into the binary
// by cc_migrations() in CMake: "common" (common/schema: the bookkeeping tables every service's
// database has) and each service (services/<name>/schema). On start every replica calls
// ApplyMigrations for each component: the first takes a PostgreSQL advisory lock and applies
// what is missing, each migration in its own transaction together with its row in
// `schema_migrations` (component, version); the others wait for the lock and then find nothing
// left to do. So replicas started together never race, and a process that dies mid-way leaves
// either a whole migration or none.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace contactcentre::common {

struct Migration {
  int version;             // 1, 2, ... without gaps
  absl::string_view name;  // "init"
  absl::string_view sql;   // one or more statements
};

struct MigrationReport {
  int applied = 0;          // migrations applied by this call
  int already_applied = 0;  // found applied before
  int newest_version = 0;   // the schema version after the call
};

// Applies the missing migrations of `component` to the database at `dsn`. Errors:
//   UNAVAILABLE        the database cannot be reached
//   DEADLINE_EXCEEDED  another runner held the lock for longer than `lock_timeout`
//   CANCELLED          `cancelled` returned true while waiting for the lock (shutdown)
//   ABORTED            a migration waited more than 30 s for a table lock (retry later)
//   FAILED_PRECONDITION an applied migration's SQL changed since (checksums differ)
//   INTERNAL           a migration's SQL failed (nothing of it is applied)
// A database newer than the binary (versions it does not know) is accepted with a warning, so
// that an older replica keeps running during a rolling update.
absl::StatusOr<MigrationReport> ApplyMigrations(absl::string_view dsn, absl::string_view component,
                                                const std::vector<Migration>& migrations,
                                                absl::Duration lock_timeout = absl::Minutes(2),
                                                const std::function<bool()>& cancelled = {});

}  // namespace contactcentre::common
