// ccctl: the contact-centre suite's admin CLI, in the manner of kubectl. See kUsageHead below and
// docs/ccctl.md.
//
// Service addresses come from --<service>_address flags or CC_<SERVICE>_ADDRESS variables; an
// address may be host:port, a comma-separated list of replicas, or dns:///name:port.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/log.h"
#include "tools/ccctl/events.h"
#include "tools/ccctl/health.h"
#include "tools/ccctl/import.h"
#include "tools/ccctl/migrate.h"
#include "tools/ccctl/resources.h"
#include "tools/ccctl/rpc.h"
#include "tools/ccctl/verbs.h"

ABSL_FLAG(std::string, calls_address, "127.0.0.1:50051", "calls service address");
ABSL_FLAG(std::string, customers_address, "127.0.0.1:50052", "customers service address");
ABSL_FLAG(std::string, surveys_address, "127.0.0.1:50053", "surveys service address");
ABSL_FLAG(std::string, knowledge_address, "127.0.0.1:50054", "knowledge service address");
ABSL_FLAG(std::string, analytics_address, "127.0.0.1:50055", "analytics service address");
ABSL_FLAG(std::string, o, "table", "output format: table, json or name (names only)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(3), "deadline of each health check");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "health: keep checking until every service is SERVING or this much time has passed");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(30),
          "deadline of each get/list/create/delete call (imports: --import_timeout)");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5),
          "how long to wait for a connection to a service before failing UNAVAILABLE");
ABSL_FLAG(std::string, f, "",
          "create: a JSON file (protobuf JSON mapping) of one resource or an array of them");
ABSL_FLAG(int, limit, 0, "list: at most this many items (0: all, following every page)");
ABSL_FLAG(int, page_size, 100, "list: items asked for per page");
ABSL_FLAG(std::string, request_id, "",
          "import: names the import; repeating it with the same id applies no row twice "
          "(default: a new id)");
ABSL_FLAG(bool, create_only, false,
          "import: only create; rows matching an existing item are reported as duplicates "
          "(default: upsert where the service supports it)");
ABSL_FLAG(std::string, region, "", "import: region of phone numbers without country code");
ABSL_FLAG(absl::Duration, import_timeout, absl::Minutes(30), "import: deadline of the import");
ABSL_FLAG(std::string, redis, "", "events: Redis host:port (default: --redis_host:--redis_port)");
ABSL_FLAG(std::string, redis_host, "127.0.0.1", "events: Redis host when --redis is empty");
ABSL_FLAG(int, redis_port, 26379, "events: Redis port when --redis is empty");
ABSL_FLAG(std::string, site, "main",
          "the contact-centre site: of created or imported items that have a site field left "
          "empty, and whose event stream `events tail` follows");
ABSL_FLAG(std::string, from, "$",
          "events tail: $ (new events only), 0 (everything retained), a stream entry id, or a "
          "duration such as 10m (the last ten minutes)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "events tail: stop after this long (0: until Ctrl-C)");
ABSL_FLAG(std::vector<std::string>, types, {},
          "events tail: only these payload types, comma-separated (customer_created,call_offered)");
ABSL_FLAG(int64_t, max_events, 0, "events tail: stop after this many events (0: no limit)");
ABSL_FLAG(std::string, postgres, "",
          "migrate: libpq connection string without dbname (dbname=cc_<service> is appended); "
          "default \"host=--pg_host port=--pg_port user=--pg_user\"");
ABSL_FLAG(std::string, pg_host, "127.0.0.1", "migrate: PostgreSQL host when --postgres is empty");
ABSL_FLAG(int, pg_port, 25432, "migrate: PostgreSQL port when --postgres is empty");
ABSL_FLAG(std::string, pg_user, "cc", "migrate: PostgreSQL user when --postgres is empty");
ABSL_FLAG(std::string, postgres_calls, "", "migrate: full connection string of calls' database");
ABSL_FLAG(std::string, postgres_customers, "",
          "migrate: full connection string of customers' database");
ABSL_FLAG(std::string, postgres_surveys, "",
          "migrate: full connection string of surveys' database");
ABSL_FLAG(std::string, postgres_knowledge, "",
          "migrate: full connection string of knowledge's database");
ABSL_FLAG(std::string, postgres_analytics, "",
          "migrate: full connection string of analytics' database");
ABSL_FLAG(std::vector<std::string>, services, {},
          "migrate: only these services (comma-separated; default all five)");
ABSL_FLAG(bool, verbose, false, "migrate: log each migration applied (JSON lines on stderr)");
ABSL_FLAG(absl::Duration, lock_timeout, absl::Minutes(2),
          "migrate: how long to wait for another runner's migration lock");

namespace contactcentre::ccctl {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

constexpr char kUsageHead[] = R"(ccctl: admin CLI of the contact-centre suite.

Usage:
  ccctl <resource> get <id>            one item (an id, or a full name such as queues/<id>)
  ccctl <resource> list [field=value]  every item, following pages (--limit N); field=value
                                       pairs are filters of the list request (site=main)
  ccctl <resource> create [field=value ...] [--set field=value] [-f item.json]
  ccctl <resource> update <id> field=value ...   change those fields (update_mask = their
                                       names; etag=... makes it conditional)
  ccctl <resource> delete <id> [force=true]
  ccctl get|list|create|update|delete <resource> ...   the same, kubectl's word order
  ccctl import <resource> file.csv     one item per CSV row; errors as "line N: <reason>"
  ccctl health [--wait 60s]            readiness of every service (exit 1 unless all SERVING)
  ccctl events tail [--from 0|$|<id>|10m] [--types call_offered,...] [--duration 30s]
                   [--max_events N]
  ccctl migrate [--services calls,customers]   apply every service's database migrations

Output: -o table (default; aligned columns), -o json (protobuf JSON mapping: one object for
get and create, an array for list), -o name (resource names only).

Field values (create, filters, CSV cells): strings as given; enums by value name without the
type's prefix (strategy=LONGEST_IDLE); durations 20s, 1m30s; times 2026-11-28T09:00:00Z;
repeated fields as a ;-separated list (languages=ru;en); maps as key=value;key=value; JSON
('{...}' or '[...]') for any message or repeated field. Nested paths use dots
(phones.number.raw=+74951234567).

Exit status: 0 success; 1 an error from a service (printed as "ccctl: <CODE>: <message>") or
any failed import row; 2 a usage error.

Examples:
  ccctl queues create display_name=Sales strategy=LONGEST_IDLE ring_timeout=20s \
      disposition_codes='[{"code":"resolved","label":"Resolved"}]' -o name
  ccctl skills create display_name=English -o name
  ccctl queues update 0193b7a2-... ring_timeout=30s strategy=ROUND_ROBIN
  ccctl operators create display_name="Anna Petrova" login=anna role=OPERATOR \
      endpoint=sip:anna@pbx.example skills='[{"skill":"skills/0193...","level":5}]'
  ccctl memberships create parent=queues/0193... operator=operators/0193... tier=1
  ccctl get queues -o json
  ccctl customers list tags=vip --limit 20
  ccctl customers get 0193b7a2-5c1e-7000-8000-000000000001 -o json
  ccctl create articles -f article.json
  ccctl calls list states=COMPLETED --limit 50
  ccctl import customers customers.csv
  ccctl events tail --from 10m -o json
  CC_CALLS_ADDRESS=10.0.0.5:50051 ccctl queues list

Addresses: --calls_address, --customers_address, --surveys_address, --knowledge_address,
--analytics_address or CC_CALLS_ADDRESS etc. (host:port, a comma-separated list of replicas,
or dns:///name:port). events reads --redis (CC_REDIS) or --redis_host/--redis_port
(CC_REDIS_HOST, CC_REDIS_PORT) and --site (CC_SITE); migrate reads --postgres (CC_POSTGRES,
dbname appended per service) or --pg_host/--pg_port/--pg_user (CC_PG_HOST, CC_PG_PORT,
CC_PG_USER: `set -a; . .cc-run/env` configures both), or --postgres_<service>.

Resources and their CSV columns (header row = field names):
)";

std::string Usage() {
  std::string usage = kUsageHead;
  for (const Resource& resource : AllResources()) {
    std::string verbs;
    for (const auto& [verb, method] :
         std::vector<std::pair<std::string, std::string>>{{"get", resource.get_method},
                                                          {"list", resource.list_method},
                                                          {"create", resource.create_method},
                                                          {"update", resource.update_method},
                                                          {"delete", resource.delete_method}}) {
      if (!method.empty()) absl::StrAppend(&verbs, verbs.empty() ? "" : ", ", verb);
    }
    if (!resource.csv_help.empty()) absl::StrAppend(&verbs, ", import");
    absl::StrAppend(&usage, "  ", resource.plural, " (", resource.service, "; ", verbs, ")\n");
    if (!resource.csv_help.empty()) {
      absl::StrAppend(&usage, "      CSV: ", resource.csv_help, "\n");
    }
  }
  return usage;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "ccctl: %s\n", ErrorText(status).c_str());
  return 1;
}

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "ccctl: %.*s\nRun ccctl --help for usage.\n",
               static_cast<int>(message.size()), message.data());
  return 2;
}

int Health() {
  const std::vector<ServiceAddress> services = {
      {"calls", absl::GetFlag(FLAGS_calls_address)},
      {"customers", absl::GetFlag(FLAGS_customers_address)},
      {"surveys", absl::GetFlag(FLAGS_surveys_address)},
      {"knowledge", absl::GetFlag(FLAGS_knowledge_address)},
      {"analytics", absl::GetFlag(FLAGS_analytics_address)},
  };
  const std::string format = absl::GetFlag(FLAGS_o);
  if (format != "table" && format != "json") return UsageError("-o must be table or json");
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_wait);
  std::vector<HealthResult> results;
  while (true) {
    results = CheckHealth(services, absl::GetFlag(FLAGS_timeout));
    int serving = 0;
    for (const HealthResult& result : results) serving += result.status == "SERVING";
    if (serving == static_cast<int>(results.size()) || absl::Now() >= deadline) break;
    std::fprintf(stderr, "ccctl: %d of %zu services SERVING; waiting\n", serving, results.size());
    absl::SleepFor(absl::Milliseconds(500));
  }
  const std::string out = format == "json" ? FormatHealthJson(results) : FormatHealthTable(results);
  std::fputs(out.c_str(), stdout);
  for (const HealthResult& result : results) {
    if (result.status != "SERVING") return 1;
  }
  return 0;
}

Clients MakeClients() {
  ServiceTargets targets;
  targets.addresses = {
      {"calls", absl::GetFlag(FLAGS_calls_address)},
      {"customers", absl::GetFlag(FLAGS_customers_address)},
      {"surveys", absl::GetFlag(FLAGS_surveys_address)},
      {"knowledge", absl::GetFlag(FLAGS_knowledge_address)},
      {"analytics", absl::GetFlag(FLAGS_analytics_address)},
  };
  targets.timeout = absl::GetFlag(FLAGS_rpc_timeout);
  targets.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  return Clients(std::move(targets));
}

int Events(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[1] != "tail") return UsageError("usage: ccctl events tail");
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(absl::GetFlag(FLAGS_o));
  if (!format.ok()) return UsageError(format.status().message());
  TailOptions options;
  std::string redis = absl::GetFlag(FLAGS_redis);
  if (redis.empty()) {
    redis = absl::StrCat(absl::GetFlag(FLAGS_redis_host), ":", absl::GetFlag(FLAGS_redis_port));
  }
  absl::StatusOr<common::RedisOptions> redis_options = common::ParseRedisAddress(redis);
  if (!redis_options.ok())
    return UsageError(absl::StrCat("--redis: ", redis_options.status().message()));
  options.redis = *redis_options;
  options.redis.client_name = "ccctl";
  options.site = absl::GetFlag(FLAGS_site);
  options.from = absl::GetFlag(FLAGS_from);
  options.format = *format;
  options.duration = absl::GetFlag(FLAGS_duration);
  options.max_events = absl::GetFlag(FLAGS_max_events);
  options.types = absl::GetFlag(FLAGS_types);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  absl::StatusOr<int64_t> printed = TailEvents(options, g_stop, stdout);
  if (!printed.ok()) return Fail(printed.status());
  return 0;
}

int Migrate() {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(absl::GetFlag(FLAGS_o));
  if (!format.ok()) return UsageError(format.status().message());
  std::string base = absl::GetFlag(FLAGS_postgres);
  if (base.empty()) {
    base =
        absl::StrCat("host=", absl::GetFlag(FLAGS_pg_host), " port=", absl::GetFlag(FLAGS_pg_port),
                     " user=", absl::GetFlag(FLAGS_pg_user));
  }
  const std::map<std::string, std::string> overrides = {
      {"calls", absl::GetFlag(FLAGS_postgres_calls)},
      {"customers", absl::GetFlag(FLAGS_postgres_customers)},
      {"surveys", absl::GetFlag(FLAGS_postgres_surveys)},
      {"knowledge", absl::GetFlag(FLAGS_postgres_knowledge)},
      {"analytics", absl::GetFlag(FLAGS_postgres_analytics)},
  };
  absl::StatusOr<std::vector<MigrateTarget>> targets =
      MigrateTargets(base, overrides, absl::GetFlag(FLAGS_services));
  if (!targets.ok()) return UsageError(targets.status().message());
  // The table says what was applied; the migration runner's own log lines only with --verbose.
  if (!absl::GetFlag(FLAGS_verbose)) common::SetLogLevel(common::LogLevel::kWarning);
  absl::StatusOr<std::vector<MigrateResult>> results =
      RunMigrations(*targets, absl::GetFlag(FLAGS_lock_timeout));
  if (!results.ok()) return Fail(results.status());
  std::fputs(FormatMigrateResults(*results, *format).c_str(), stdout);
  return 0;
}

int Import(const std::vector<std::string>& args) {
  if (args.size() != 3) return UsageError("usage: ccctl import <resource> <file.csv>");
  const Resource* resource = FindResource(args[1]);
  if (resource == nullptr) return UsageError(absl::StrCat("unknown resource \"", args[1], "\""));
  if (resource->csv_help.empty()) {
    return UsageError(absl::StrCat(resource->plural, " cannot be imported"));
  }
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(absl::GetFlag(FLAGS_o));
  if (!format.ok()) return UsageError(format.status().message());
  ImportOptions options;
  options.request_id = absl::GetFlag(FLAGS_request_id);
  options.create_only = absl::GetFlag(FLAGS_create_only);
  options.site = absl::GetFlag(FLAGS_site);
  options.region = absl::GetFlag(FLAGS_region);
  options.tty = isatty(fileno(stderr)) != 0;
  options.timeout = absl::GetFlag(FLAGS_import_timeout);
  Clients clients = MakeClients();
  absl::StatusOr<ImportReport> report = ImportVerb(clients, *resource, args[2], options);
  if (!report.ok()) return Fail(report.status());
  if (*format == OutputFormat::kJson) {
    std::printf(
        "{\"resource\": \"%s\", \"rows\": %lld, \"created\": %lld, \"updated\": %lld, "
        "\"unchanged\": %lld, \"duplicates\": %lld, \"alreadyImported\": %lld, \"failed\": "
        "%lld}\n",
        resource->plural.c_str(), static_cast<long long>(report->rows),
        static_cast<long long>(report->created), static_cast<long long>(report->updated),
        static_cast<long long>(report->unchanged), static_cast<long long>(report->duplicates),
        static_cast<long long>(report->already_imported), static_cast<long long>(report->failed));
  } else {
    std::fputs(FormatImportReport(*resource, *report).c_str(), stdout);
  }
  return report->failed > 0 ? 1 : 0;
}

bool IsVerb(absl::string_view word) {
  return word == "get" || word == "list" || word == "create" || word == "update" ||
         word == "delete";
}

int ResourceCommand(const std::vector<std::string>& args, std::vector<std::string> assignments) {
  // args[0] and args[1] are a verb and a resource in either order.
  const bool verb_first = IsVerb(args[0]);
  std::string verb = verb_first ? args[0] : args[1];
  const std::string resource_name = verb_first ? args[1] : args[0];
  const Resource* resource = FindResource(resource_name);
  if (resource == nullptr) {
    return UsageError(absl::StrCat("unknown resource \"", resource_name, "\""));
  }
  if (!IsVerb(verb)) return UsageError(absl::StrCat("unknown verb \"", verb, "\""));
  std::vector<std::string> ids;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i].find('=') != std::string::npos) {
      assignments.push_back(args[i]);
    } else {
      ids.push_back(args[i]);
    }
  }
  if (verb == "get" && ids.empty()) verb = "list";  // kubectl: `get queues` lists them
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(absl::GetFlag(FLAGS_o));
  if (!format.ok()) return UsageError(format.status().message());
  VerbOptions options{.format = *format,
                      .assignments = std::move(assignments),
                      .file = absl::GetFlag(FLAGS_f),
                      .limit = absl::GetFlag(FLAGS_limit),
                      .page_size = absl::GetFlag(FLAGS_page_size),
                      .site = absl::GetFlag(FLAGS_site)};
  Clients clients = MakeClients();
  absl::Status status;
  if (verb == "update") {
    if (ids.size() != 1) return UsageError("update needs one id, then field=value pairs");
    status = UpdateVerb(clients, *resource, ids[0], options);
  } else if (verb == "get" || verb == "delete") {
    if (ids.empty()) return UsageError(absl::StrCat(verb, " needs an id"));
    // Several ids: each in turn, stopping at the first error.
    for (const std::string& id : ids) {
      status = verb == "get" ? GetVerb(clients, *resource, id, options)
                             : DeleteVerb(clients, *resource, id, options);
      if (!status.ok()) break;
    }
  } else {
    if (!ids.empty()) {
      return UsageError(absl::StrCat("unexpected \"", ids[0], "\" (", verb,
                                     " takes field=value pairs, not an id)"));
    }
    status = verb == "list" ? ListVerb(clients, *resource, options)
                            : CreateVerb(clients, *resource, options);
  }
  return status.ok() ? 0 : Fail(status);
}

// Takes every --set value out of argv (absl flags hold one value per flag; --set repeats).
std::vector<std::string> ExtractSetFlags(int& argc, char** argv) {
  std::vector<std::string> values;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") {
      while (i < argc) argv[out++] = argv[i++];
      break;
    }
    if ((arg == "--set" || arg == "-set") && i + 1 < argc) {
      values.emplace_back(argv[++i]);
      continue;
    }
    if (absl::StartsWith(arg, "--set=") || absl::StartsWith(arg, "-set=")) {
      values.emplace_back(arg.substr(arg.find('=') + 1));
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  return values;
}

int Main(int argc, char** argv) {
  std::vector<std::string> assignments = ExtractSetFlags(argc, argv);
  const std::string usage = Usage();
  std::vector<char*> positional = common::ParseFlagsWithEnvironment(argc, argv, usage);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) {
    std::fprintf(stderr, "%s\nRun ccctl --help for the flags.\n", usage.c_str());
    return 2;
  }
  const std::string& command = args[0];
  if (command == "health") return Health();
  if (command == "migrate") return Migrate();
  if (command == "events") return Events(args);
  if (command == "import") return Import(args);
  if (command == "help") {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  if (args.size() >= 2 && (IsVerb(command) || FindResource(command) != nullptr)) {
    return ResourceCommand(args, std::move(assignments));
  }
  return UsageError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace contactcentre::ccctl

int main(int argc, char** argv) { return contactcentre::ccctl::Main(argc, argv); }
