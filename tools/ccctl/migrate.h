// `ccctl migrate`: applies every service's database migrations, the same embedded migrations
// and the same code (common/migrations.h) the services run at start-up, so a database can be
// brought up to date before the services start (or checked: a second run applies nothing).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/migrations.h"
#include "tools/ccctl/output.h"

namespace contactcentre::ccctl {

struct MigrateTarget {
  std::string service;  // "calls"
  std::string dsn;
};

// The services with migrations, in order: calls, customers, surveys, knowledge, analytics.
const std::vector<std::string>& MigratedServices();

// The database of each service: `overrides[service]` when given, else `base` with
// " dbname=cc_<service>" appended (libpq takes the last dbname). `only` (if not empty) limits
// the services; INVALID_ARGUMENT for an unknown name.
absl::StatusOr<std::vector<MigrateTarget>> MigrateTargets(
    const std::string& base, const std::map<std::string, std::string>& overrides,
    const std::vector<std::string>& only);

struct MigrateResult {
  std::string service;
  std::string component;  // "common" or the service
  common::MigrationReport report;
};

// Applies the "common" and then the service's own migrations to each target, in order; stops at
// the first failure (the error names the service and component).
absl::StatusOr<std::vector<MigrateResult>> RunMigrations(const std::vector<MigrateTarget>& targets,
                                                         absl::Duration lock_timeout);

std::string FormatMigrateResults(const std::vector<MigrateResult>& results, OutputFormat format);

}  // namespace contactcentre::ccctl
