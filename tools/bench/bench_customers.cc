// cc-bench-customers: the customers service's import and phone lookup, each next to its
// baseline, measured in one run on the real PostgreSQL and Redis:
//
//   import      ImportCustomers over gRPC (streams of 1,000-row messages)
//               vs a plain COPY (pqxx::stream_to) of the same rows into a plain table
//   lookup      LookupByPhone over gRPC, at a tenth of the customers and at all of them
//               vs an empty gRPC call (health Check) to the same server
//
//   cc-bench-customers --servers_env build/test-servers/env --customers 1000000
//   cc-bench-customers --servers_env build/test-servers/env --smoke        (CI)
//
// The service runs in this process (real gRPC over loopback) on a fresh database that the
// benchmark creates and drops.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "services/customers/customers_module.h"
#include "services/customers/schema.h"
#include "services/customers/validation.h"
#include "tools/bench/grpc_load.h"

ABSL_FLAG(std::string, servers_env, "",
          "env file of deploy/local-servers.sh naming the PostgreSQL and Redis to use");
ABSL_FLAG(std::string, pg_admin, "host=127.0.0.1 port=25432 user=cc dbname=postgres",
          "libpq connection string of a database from which to create the benchmark's own");
ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port");
ABSL_FLAG(int, customers, 1000000, "customers to import");
ABSL_FLAG(int, streams, 2, "import streams in parallel");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "measured period of each lookup figure");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");

namespace contactcentre::bench {
namespace {

using customers::v1::CustomerImportRow;
using customers::v1::ImportCustomersRequest;
using customers::v1::ImportCustomersResponse;

const char* const kFamilies[] = {"Иванов", "Смирнов", "Кузнецов", "Попов",   "Васильев",
                                 "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
                                 "Smith",  "Johnson", "Brown",    "Taylor",  "Wilson"};
const char* const kGiven[] = {"Иван",  "Алексей", "Мария", "Анна", "Сергей",
                              "Ольга", "Дмитрий", "Елена", "John", "Mary"};

std::string Phone(int i) {
  return absl::StrFormat("+7 9%02d %03d-%02d-%02d", 10 + i / 10000000 % 90, i / 10000 % 1000,
                         i / 100 % 100, i % 100);
}

CustomerImportRow MakeRow(int i) {
  CustomerImportRow row;
  row.set_row_number(i + 1);
  auto* card = row.mutable_customer();
  card->set_family_name(kFamilies[i % 15]);
  card->set_given_name(kGiven[(i / 15) % 10]);
  card->add_phones()->mutable_number()->set_raw(Phone(i));
  card->add_emails()->set_address(absl::StrCat("client", i, "@example.org"));
  card->add_tags(i % 3 == 0 ? "debtor" : "retail");
  card->set_external_id(absl::StrCat("CRM-", i));
  return row;
}

std::map<std::string, std::string> ReadEnv(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (auto eq = line.find('='); eq != std::string::npos)
      env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// CPU seconds used so far by this process.
double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by a local PostgreSQL whose data directory is `data_dir`: the
// postmaster, its live processes and those that have exited. -1 when it cannot be read.
double PgCpuSeconds(const std::string& data_dir) {
  if (data_dir.empty()) return -1;
  std::ifstream pid_file(data_dir + "/postmaster.pid");
  int postmaster = 0;
  if (!(pid_file >> postmaster)) return -1;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  // utime, stime, cutime, cstime of /proc/<pid>/stat (fields 14-17).
  auto times = [&](int pid, bool children) -> double {
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    if (!std::getline(stat, line)) return 0;
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::vector<std::string> values;
    for (std::string value; fields >> value;) values.push_back(value);
    if (values.size() < 15) return 0;
    double total = std::stod(values[11]) + std::stod(values[12]);
    if (children) total += std::stod(values[13]) + std::stod(values[14]);
    return total / tick;
  };
  double total = times(postmaster, true);
  std::ifstream tasks(absl::StrCat("/proc/", postmaster, "/task/", postmaster, "/children"));
  for (int child; tasks >> child;) total += times(child, false);
  return total;
}

// Plain COPY of the same rows into a plain table: the ceiling for any import.
double CopyBaseline(const std::string& dsn, int count) {
  pqxx::connection connection(dsn);
  {
    pqxx::work txn(connection);
    txn.exec(
        "CREATE TABLE plain_rows (row_number bigint, family text, given text, phone text, "
        "email text, tag text, external_id text)");
    txn.commit();
  }
  const absl::Time started = absl::Now();
  pqxx::work txn(connection);
  pqxx::stream_to stream(txn, "plain_rows");
  for (int i = 0; i < count; ++i) {
    const CustomerImportRow row = MakeRow(i);
    const auto& card = row.customer();
    stream << std::make_tuple(row.row_number(), card.family_name(), card.given_name(),
                              card.phones(0).number().raw(), card.emails(0).address(), card.tags(0),
                              card.external_id());
  }
  stream.complete();
  txn.commit();
  return count / absl::ToDoubleSeconds(absl::Now() - started);
}

// The floor of any import into the service's tables: rows [begin, end) written straight into
// copies of them (same columns, same indexes) by COPY in transactions of 1,000 rows (a card,
// its phone and email rows, its CustomerCreated event in the outbox), with no matching, no
// validation and no gRPC. The values are those the service writes.
void FloorRange(const std::string& dsn, int begin, int end) {
  pqxx::connection connection(dsn);
  const std::string time =
      absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::Now(), absl::UTCTimeZone());
  for (int start = begin; start < end; start += 1000) {
    pqxx::work txn(connection);
    std::vector<std::string> ids;
    std::vector<CustomerImportRow> rows;
    for (int i = start; i < std::min(end, start + 1000); ++i) {
      rows.push_back(MakeRow(i));
      auto* card = rows.back().mutable_customer();
      std::string e164 = "+";
      for (char c : card->phones(0).number().raw()) {
        if (c >= '0' && c <= '9') e164.push_back(c);
      }
      card->mutable_phones(0)->mutable_number()->set_e164(e164);
      card->mutable_phones(0)->set_kind(customers::v1::PHONE_KIND_MOBILE);
      ids.push_back(common::NewId());
    }
    {
      pqxx::stream_to cards(
          txn, "floor.customers",
          std::vector<std::string>{"id", "state", "card", "search_name", "tags", "external_id",
                                   "version", "note_count", "create_time", "update_time"});
      for (size_t r = 0; r < rows.size(); ++r) {
        const auto& card = rows[r].customer();
        const std::string bytes = card.SerializeAsString();
        cards << std::make_tuple(
            ids[r], 1,
            txn.esc_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
            customers::NameSearchKey(card), absl::StrCat("{", card.tags(0), "}"),
            card.external_id(), 1, 0, time, time);
      }
      cards.complete();
    }
    {
      pqxx::stream_to phones(txn, "floor.customer_phones",
                             std::vector<std::string>{"e164", "customer_id"});
      for (size_t r = 0; r < rows.size(); ++r) {
        phones << std::make_tuple(rows[r].customer().phones(0).number().e164(), ids[r]);
      }
      phones.complete();
    }
    {
      pqxx::stream_to emails(txn, "floor.customer_emails",
                             std::vector<std::string>{"address", "customer_id"});
      for (size_t r = 0; r < rows.size(); ++r) {
        emails << std::make_tuple(rows[r].customer().emails(0).address(), ids[r]);
      }
      emails.complete();
    }
    {
      pqxx::stream_to outbox(txn, "floor.outbox", std::vector<std::string>{"type", "event"});
      for (size_t r = 0; r < rows.size(); ++r) {
        events::v1::Event event;
        event.set_id(common::NewId());
        event.mutable_customer_created()->set_customer(absl::StrCat("customers/", ids[r]));
        event.mutable_customer_created()->set_source("import");
        const std::string bytes = event.SerializeAsString();
        outbox << std::make_tuple(
            "customer_created",
            txn.esc_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
      }
      outbox.complete();
    }
    txn.commit();
  }
}

// Imports rows [begin, end) over one stream with up to `window` messages in flight.
int64_t ImportRange(customers::v1::CustomersService::Stub* stub, int begin, int end,
                    int stream_index) {
  grpc::ClientContext context;
  auto stream = stub->ImportCustomers(&context);
  std::atomic<int64_t> failed{0};
  std::thread reader([&] {
    ImportCustomersResponse response;
    while (stream->Read(&response)) {
      for (const auto& result : response.results()) {
        if (result.outcome() != customers::v1::IMPORT_OUTCOME_CREATED) ++failed;
      }
    }
  });
  bool first = true;
  for (int start = begin; start < end; start += 1000) {
    ImportCustomersRequest request;
    if (first) {
      request.set_request_id(absl::StrCat("bench-import-", stream_index));
      first = false;
    }
    for (int i = start; i < std::min(end, start + 1000); ++i) *request.add_rows() = MakeRow(i);
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  reader.join();
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    std::fprintf(stderr, "import stream failed: %s\n", status.error_message().c_str());
    return -1;
  }
  return failed.load();
}

int Run() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int count = smoke ? 3000 : absl::GetFlag(FLAGS_customers);
  const int streams = std::max(1, absl::GetFlag(FLAGS_streams));
  const absl::Duration duration = smoke ? absl::Milliseconds(300) : absl::GetFlag(FLAGS_duration);
  std::string admin_dsn = absl::GetFlag(FLAGS_pg_admin);
  std::string redis_address = absl::GetFlag(FLAGS_redis);
  std::string pg_data;
  if (const std::string path = absl::GetFlag(FLAGS_servers_env); !path.empty()) {
    auto env = ReadEnv(path);
    admin_dsn = absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                             " user=", env["CC_PG_USER"], " dbname=postgres");
    redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
    pg_data = env["CC_PG_DATA"];
  }
  common::SetLogLevel(common::LogLevel::kWarning);
  const std::string database =
      absl::StrCat("bench_customers_", absl::StrReplaceAll(common::NewId(), {{"-", ""}}));
  {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + database);
  }
  const std::string dsn = absl::StrCat(admin_dsn, " dbname=", database);
  std::atomic<int> failures{0};
  {
    std::printf("cc-bench-customers: %d customers, %d import streams, %u cores\n", count, streams,
                std::thread::hardware_concurrency());
    const double copy_rate = CopyBaseline(dsn, count);
    std::printf("  %-52s %10.0f rows/s\n", "plain COPY of the same rows (baseline)", copy_rate);

    if (!common::ApplyMigrations(dsn, "common", common::SchemaMigrations()).ok() ||
        !common::ApplyMigrations(dsn, "customers", customers::SchemaMigrations()).ok()) {
      std::fprintf(stderr, "migrations failed\n");
      return 1;
    }
    auto pg = *common::PgPool::Create(
        {.dsn = dsn,
         .size = 8,
         .prepared_statements = {{"lookup_by_phone", customers::LookupByPhoneSql()}}});
    auto redis_options = *common::ParseRedisAddress(redis_address);
    auto redis = *common::RedisClient::Create(redis_options);
    const std::string site = absl::StrCat("bench", database.substr(16, 12));
    common::EventPublisher publisher(redis.get(), {.site = site, .producer = "services/customers"});
    common::OutboxRelay outbox(pg.get(), &publisher, {.batch_size = 2000});
    customers::CustomersModule module(pg.get(), redis.get(), &publisher, &outbox, site, {});
    auto server =
        *common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, module.GrpcServices());
    server->SetReady(true);
    const std::string target = absl::StrCat("127.0.0.1:", server->port());
    auto stub = customers::v1::CustomersService::NewStub(common::MakeChannel(target));

    auto measure_lookups = [&](int loaded, const char* label) {
      LoadOptions baseline_options{.method = "/grpc.health.v1.Health/Check",
                                   .in_flight = smoke ? 4 : 32,
                                   .duration = duration,
                                   .warmup = smoke ? absl::Milliseconds(50) : absl::Seconds(1)};
      LoadResult baseline = RunUnaryLoad(target, baseline_options);
      LoadOptions lookup_options = baseline_options;
      lookup_options.method = "/contactcentre.customers.v1.CustomersService/LookupByPhone";
      for (int i = 0; i < 10000; ++i) {
        customers::v1::LookupByPhoneRequest request;
        request.set_phone_number(Phone((i * 7919) % loaded));
        lookup_options.requests.push_back(request.SerializeAsString());
      }
      LoadResult lookups = RunUnaryLoad(target, lookup_options);
      std::printf("  %-52s %s\n", absl::StrCat("empty gRPC call (baseline), ", label).c_str(),
                  DescribeLoad(baseline).c_str());
      std::printf("  %-52s %s  %.2fx baseline rate\n",
                  absl::StrCat("LookupByPhone over gRPC, ", label).c_str(),
                  DescribeLoad(lookups).c_str(),
                  lookups.calls_per_second / std::max(1.0, baseline.calls_per_second));
      failures += lookups.calls == 0 || lookups.errors > 0 || baseline.errors > 0;
    };

    // A tenth first, to show that lookups do not slow down as the customers grow.
    const int tenth = count / 10;
    const absl::Time import_started = absl::Now();
    int64_t not_created = 0;
    std::vector<std::thread> importers;
    std::vector<int64_t> results(streams, 0);
    auto import_all = [&](int begin, int end) {
      importers.clear();
      const int share = (end - begin + streams - 1) / streams;
      for (int s = 0; s < streams; ++s) {
        const int from = begin + s * share;
        const int to = std::min(end, from + share);
        importers.emplace_back(
            [&, s, from, to] { results[s] = ImportRange(stub.get(), from, to, s); });
      }
      for (auto& importer : importers) importer.join();
      for (int64_t result : results) not_created += result < 0 ? 1'000'000'000 : result;
    };
    double own_cpu = -OwnCpuSeconds();
    double pg_cpu = -PgCpuSeconds(pg_data);
    import_all(0, tenth);
    own_cpu += OwnCpuSeconds();
    pg_cpu += PgCpuSeconds(pg_data);
    const absl::Duration first_part = absl::Now() - import_started;
    measure_lookups(tenth, absl::StrCat(tenth, " customers").c_str());
    const absl::Time rest_started = absl::Now();
    own_cpu -= OwnCpuSeconds();
    pg_cpu -= PgCpuSeconds(pg_data);
    // Streams resume by request_id: use new ids for the second part by offsetting the index.
    importers.clear();
    {
      const int share = (count - tenth + streams - 1) / streams;
      for (int s = 0; s < streams; ++s) {
        const int from = tenth + s * share;
        const int to = std::min(count, from + share);
        importers.emplace_back(
            [&, s, from, to] { results[s] = ImportRange(stub.get(), from, to, streams + s); });
      }
      for (auto& importer : importers) importer.join();
      for (int64_t result : results) not_created += result < 0 ? 1'000'000'000 : result;
    }
    const absl::Duration import_time = first_part + (absl::Now() - rest_started);
    own_cpu += OwnCpuSeconds();
    pg_cpu += PgCpuSeconds(pg_data);
    const double import_rate = count / absl::ToDoubleSeconds(import_time);
    std::printf("  %-52s %10.0f rows/s  %.2f of COPY (goal >= 0.25)%s\n",
                "ImportCustomers over gRPC, end to end", import_rate, import_rate / copy_rate,
                not_created > 0 ? absl::StrCat("  NOT CREATED: ", not_created).c_str() : "");
    failures += not_created > 0;
    std::printf("  %-52s %10.1f us in this process (client, gRPC, service, outbox relay)%s\n",
                "  CPU per imported row", own_cpu * 1e6 / count,
                pg_data.empty()
                    ? ""
                    : absl::StrFormat(", %.1f us in PostgreSQL", pg_cpu * 1e6 / count).c_str());
    measure_lookups(count, absl::StrCat(count, " customers").c_str());

    // The floor: the same rows straight into copies of the tables, as many connections as
    // import streams.
    {
      pqxx::connection connection(dsn);
      pqxx::work txn(connection);
      txn.exec(
          "CREATE SCHEMA floor; "
          "CREATE TABLE floor.customers (LIKE public.customers INCLUDING ALL); "
          "CREATE TABLE floor.customer_phones (LIKE public.customer_phones INCLUDING ALL); "
          "CREATE TABLE floor.customer_emails (LIKE public.customer_emails INCLUDING ALL); "
          "CREATE TABLE floor.outbox (LIKE public.outbox INCLUDING ALL)");
      txn.commit();
    }
    const absl::Time floor_started = absl::Now();
    double floor_own_cpu = -OwnCpuSeconds();
    double floor_pg_cpu = -PgCpuSeconds(pg_data);
    {
      std::vector<std::thread> writers;
      const int share = (count + streams - 1) / streams;
      for (int s = 0; s < streams; ++s) {
        writers.emplace_back([&, s] {
          try {
            FloorRange(dsn, s * share, std::min(count, (s + 1) * share));
          } catch (const std::exception& e) {
            std::fprintf(stderr, "floor writer failed: %s\n", e.what());
            ++failures;
          }
        });
      }
      for (auto& writer : writers) writer.join();
    }
    const double floor_rate = count / absl::ToDoubleSeconds(absl::Now() - floor_started);
    floor_own_cpu += OwnCpuSeconds();
    floor_pg_cpu += PgCpuSeconds(pg_data);
    std::printf("  %-52s %10.0f rows/s  %.2f of COPY; import / floor: %.2f\n",
                "floor: COPY into the service's tables (no service)", floor_rate,
                floor_rate / copy_rate, import_rate / floor_rate);
    std::printf(
        "  %-52s %10.1f us in this process%s\n", "  CPU per row", floor_own_cpu * 1e6 / count,
        pg_data.empty()
            ? ""
            : absl::StrFormat(", %.1f us in PostgreSQL", floor_pg_cpu * 1e6 / count).c_str());
    module.OnShutdown();
    server->Shutdown();
    outbox.Stop();
    (void)redis->Command({"DEL", common::EventStreamKey(site)});
  }
  {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE " + database + " WITH (FORCE)");
  }
  if (failures > 0) std::printf("FAILED: %d figures had errors\n", failures.load());
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv,
      "cc-bench-customers: ImportCustomers next to a plain COPY, and LookupByPhone next to an "
      "empty gRPC call, on the real servers.");
  return contactcentre::bench::Run();
}
