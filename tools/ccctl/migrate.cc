#include "tools/ccctl/migrate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/status.h"
#include "services/analytics/schema.h"
#include "services/calls/schema.h"
#include "services/customers/schema.h"
#include "services/knowledge/schema.h"
#include "services/surveys/schema.h"

namespace contactcentre::ccctl {
namespace {

const std::vector<common::Migration>& ServiceMigrations(const std::string& service) {
  if (service == "calls") return calls::SchemaMigrations();
  if (service == "customers") return customers::SchemaMigrations();
  if (service == "surveys") return surveys::SchemaMigrations();
  if (service == "knowledge") return knowledge::SchemaMigrations();
  return analytics::SchemaMigrations();
}

}  // namespace

const std::vector<std::string>& MigratedServices() {
  static const std::vector<std::string> services = {"calls", "customers", "surveys", "knowledge",
                                                    "analytics"};
  return services;
}

absl::StatusOr<std::vector<MigrateTarget>> MigrateTargets(
    const std::string& base, const std::map<std::string, std::string>& overrides,
    const std::vector<std::string>& only) {
  for (const std::string& name : only) {
    const auto& all = MigratedServices();
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no service named \"", name, "\""));
    }
  }
  std::vector<MigrateTarget> targets;
  for (const std::string& service : MigratedServices()) {
    if (!only.empty() && std::find(only.begin(), only.end(), service) == only.end()) continue;
    auto override_dsn = overrides.find(service);
    if (override_dsn != overrides.end() && !override_dsn->second.empty()) {
      targets.push_back({service, override_dsn->second});
    } else {
      targets.push_back({service, absl::StrCat(base, " dbname=cc_", service)});
    }
  }
  return targets;
}

absl::StatusOr<std::vector<MigrateResult>> RunMigrations(const std::vector<MigrateTarget>& targets,
                                                         absl::Duration lock_timeout) {
  std::vector<MigrateResult> results;
  for (const MigrateTarget& target : targets) {
    const std::vector<std::pair<std::string, const std::vector<common::Migration>*>> components = {
        {"common", &common::SchemaMigrations()},
        {target.service, &ServiceMigrations(target.service)}};
    for (const auto& [component, migrations] : components) {
      absl::StatusOr<common::MigrationReport> report =
          common::ApplyMigrations(target.dsn, component, *migrations, lock_timeout);
      if (!report.ok()) {
        return common::Annotate(report.status(),
                                absl::StrCat(target.service, " (", component, ")"));
      }
      results.push_back({target.service, component, *report});
    }
  }
  return results;
}

std::string FormatMigrateResults(const std::vector<MigrateResult>& results, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out = "[";
    for (size_t i = 0; i < results.size(); ++i) {
      const MigrateResult& result = results[i];
      if (i > 0) out.append(",");
      out.append("\n  {\"service\": ");
      common::AppendJsonString(out, result.service);
      out.append(", \"component\": ");
      common::AppendJsonString(out, result.component);
      absl::StrAppend(&out, ", \"version\": ", result.report.newest_version,
                      ", \"applied\": ", result.report.applied,
                      ", \"alreadyApplied\": ", result.report.already_applied, "}");
    }
    out.append(results.empty() ? "]\n" : "\n]\n");
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const MigrateResult& result : results) {
    rows.push_back({result.service, result.component, absl::StrCat(result.report.newest_version),
                    absl::StrCat(result.report.applied),
                    absl::StrCat(result.report.already_applied)});
  }
  return FormatTable({"SERVICE", "COMPONENT", "VERSION", "APPLIED", "ALREADY_APPLIED"}, rows);
}

}  // namespace contactcentre::ccctl
