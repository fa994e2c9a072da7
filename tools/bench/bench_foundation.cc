// cc-bench-foundation: what the shared library costs on the real servers, each figure next to
// the baseline it should be compared with, measured in the same run on the same machine.
//
//   gRPC     health Check through common::GrpcServer      (the empty-call floor of a service)
//   Redis    PING on raw hiredis   -> PING, EVALSHA script, event publish via common::RedisClient
//   Postgres SELECT 1 on raw libpqxx -> SELECT 1, 1-row INSERT, 1000-row INSERT via common::PgPool
//
//   cc-bench-foundation --redis 127.0.0.1:26379 --duration 5s
//       --postgres "host=127.0.0.1 port=25432 user=cc dbname=postgres"
//   cc-bench-foundation --servers_env build/test-servers/env --smoke    (CI)
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/config.h"
#include "common/event_stream.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/pg_pool.h"
#include "common/redis.h"
#include "tools/bench/grpc_load.h"

ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port");
ABSL_FLAG(std::string, postgres, "host=127.0.0.1 port=25432 user=cc dbname=postgres",
          "libpq connection string of a database the benchmark may create a table in");
ABSL_FLAG(std::string, servers_env, "",
          "read Redis and PostgreSQL addresses from this env file of deploy/local-servers.sh");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(3), "measured period of each figure");
ABSL_FLAG(int, threads, 16, "concurrent callers for the Redis and PostgreSQL figures");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");

namespace contactcentre::bench {
namespace {

struct Figure {
  double ops_per_second = 0;
  absl::Duration p50;
  absl::Duration p99;
  int64_t errors = 0;
};

// Runs `op` from `threads` threads for `duration`; each thread gets its own state from
// `make_state` (a connection, say).
template <typename State>
Figure Measure(int threads, absl::Duration duration, std::function<State()> make_state,
               std::function<bool(State&)> op) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<absl::Duration>> latencies(threads);
  std::vector<int64_t> errors(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      State state = make_state();
      while (!stop.load(std::memory_order_relaxed)) {
        const absl::Time started = absl::Now();
        if (op(state)) {
          latencies[t].push_back(absl::Now() - started);
        } else {
          ++errors[t];
        }
      }
    });
  }
  const absl::Time started = absl::Now();
  absl::SleepFor(duration);
  stop.store(true);
  for (auto& worker : workers) worker.join();
  const absl::Duration elapsed = absl::Now() - started;
  std::vector<absl::Duration> all;
  Figure figure;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    figure.errors += errors[t];
  }
  std::sort(all.begin(), all.end());
  figure.ops_per_second = static_cast<double>(all.size()) / absl::ToDoubleSeconds(elapsed);
  if (!all.empty()) {
    figure.p50 = all[all.size() / 2];
    figure.p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return figure;
}

void Print(const std::string& name, const Figure& figure, const Figure* baseline,
           const char* unit = "ops/s") {
  std::string ratio;
  if (baseline != nullptr && baseline->ops_per_second > 0) {
    ratio = absl::StrFormat("  %.2fx baseline", figure.ops_per_second / baseline->ops_per_second);
  }
  std::printf("  %-46s %10.0f %-6s p50 %7.3f ms  p99 %7.3f ms%s%s\n", name.c_str(),
              figure.ops_per_second, unit, absl::ToDoubleMilliseconds(figure.p50),
              absl::ToDoubleMilliseconds(figure.p99), ratio.c_str(),
              figure.errors > 0 ? absl::StrCat("  ERRORS: ", figure.errors).c_str() : "");
}

// Five commands, as a small routing step would run: read a hash, bump a counter, move a
// member between sorted sets, and return.
const common::RedisScript kFiveCommands("bench_five", R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'state', ARGV[2])
return state
)lua");

int Run() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const absl::Duration duration = smoke ? absl::Milliseconds(200) : absl::GetFlag(FLAGS_duration);
  const int threads = smoke ? 2 : absl::GetFlag(FLAGS_threads);
  std::string redis_address = absl::GetFlag(FLAGS_redis);
  std::string dsn = absl::GetFlag(FLAGS_postgres);
  if (const std::string env_path = absl::GetFlag(FLAGS_servers_env); !env_path.empty()) {
    std::map<std::string, std::string> env;
    std::ifstream file(env_path);
    for (std::string line; std::getline(file, line);) {
      if (auto eq = line.find('='); eq != std::string::npos)
        env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
    dsn = absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                       " user=", env["CC_PG_USER"], " dbname=postgres");
  }
  std::printf("cc-bench-foundation: %s per figure, %d threads for Redis and PostgreSQL, %u cores\n",
              absl::FormatDuration(duration).c_str(), threads, std::thread::hardware_concurrency());
  int failures = 0;

  // gRPC: the empty-call floor of every service.
  {
    auto server = common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, {});
    if (!server.ok()) {
      std::fprintf(stderr, "cannot start a gRPC server: %s\n", server.status().ToString().c_str());
      return 1;
    }
    (*server)->SetReady(true);
    LoadOptions options{.method = "/grpc.health.v1.Health/Check",
                        .in_flight = smoke ? 4 : 64,
                        .duration = duration,
                        .warmup = smoke ? absl::Milliseconds(50) : absl::Seconds(1)};
    LoadResult result = RunUnaryLoad(absl::StrCat("127.0.0.1:", (*server)->port()), options);
    std::printf("gRPC (client and server in this process, %d in flight)\n", options.in_flight);
    std::printf("  %-46s %s\n", "health Check (empty-call floor)", DescribeLoad(result).c_str());
    std::printf("  %-46s %.1f us CPU per call (client + server)\n", "",
                1e6 * result.cpu_seconds / std::max<double>(1, result.calls));
    failures += result.calls == 0 || result.errors > 0;
  }

  // Redis.
  {
    auto options = common::ParseRedisAddress(redis_address);
    if (!options.ok()) return 2;
    options->pool_size = threads;
    auto client = *common::RedisClient::Create(*options);
    const std::string site =
        absl::StrCat("bench", absl::StrReplaceAll(common::NewId(), {{"-", ""}}).substr(0, 12));
    std::printf("Redis at %s\n", redis_address.c_str());
    using Raw = std::unique_ptr<redisContext, decltype(&redisFree)>;
    Figure raw = Measure<Raw>(
        threads, duration,
        [&] { return Raw(redisConnect(options->host.c_str(), options->port), &redisFree); },
        [](Raw& context) {
          auto* reply = static_cast<redisReply*>(redisCommand(context.get(), "PING"));
          const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
          if (reply != nullptr) freeReplyObject(reply);
          return ok;
        });
    Print("PING, raw hiredis (baseline)", raw, nullptr);
    Figure ping = Measure<int>(
        threads, duration, [] { return 0; }, [&](int&) { return client->Ping().ok(); });
    Print("PING via RedisClient pool", ping, &raw);
    const std::string hash = absl::StrCat("cc:{", site, "}:h");
    const std::string zset = absl::StrCat("cc:{", site, "}:z");
    Figure eval = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          return client->Eval(kFiveCommands, {hash, zset}, {"1", "member"}).ok();
        });
    Print("EVALSHA 5-command script", eval, &raw);
    common::EventPublisher publisher(client.get(),
                                     {.site = site, .producer = "bench", .max_length = 100000});
    Figure publish = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          events::v1::Event event;
          event.mutable_call_queued()->mutable_call()->set_call("calls/bench");
          return publisher.Publish(event).ok();
        });
    Print("event publish (XADD, one per call)", publish, &raw, "ev/s");
    Figure batch = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          std::vector<events::v1::Event> events(100);
          for (auto& event : events)
            event.mutable_call_queued()->mutable_call()->set_call("calls/bench");
          return publisher.PublishBatch(events).ok();
        });
    batch.ops_per_second *= 100;
    Print("event publish (100 per pipeline), per event", batch, &raw, "ev/s");
    for (const Figure* figure : {&raw, &ping, &eval, &publish, &batch}) {
      failures += figure->ops_per_second == 0 || figure->errors > 0;
    }
    (void)client->Command({"DEL", hash, zset, common::EventStreamKey(site)});
  }

  // PostgreSQL.
  {
    std::printf("PostgreSQL (%s)\n", dsn.c_str());
    const std::string table =
        absl::StrCat("bench_", absl::StrReplaceAll(common::NewId(), {{"-", ""}}));
    auto pool = *common::PgPool::Create({.dsn = dsn, .size = threads});
    absl::Status created = pool->Transact([&](pqxx::work& txn) {
      txn.exec("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, call text, at timestamptz)");
      return absl::OkStatus();
    });
    if (!created.ok()) {
      std::fprintf(stderr, "cannot create the benchmark table: %s\n", created.ToString().c_str());
      return 1;
    }
    Figure raw = Measure<std::unique_ptr<pqxx::connection>>(
        threads, duration, [&] { return std::make_unique<pqxx::connection>(dsn); },
        [](std::unique_ptr<pqxx::connection>& connection) {
          pqxx::nontransaction txn(*connection);
          return txn.exec("SELECT 1").size() == 1;
        });
    Print("SELECT 1, raw libpqxx, no transaction", raw, nullptr);
    // The fair baseline of the pool: the same transaction (BEGIN, SELECT, COMMIT) on a
    // connection of the thread's own.
    Figure raw_txn = Measure<std::unique_ptr<pqxx::connection>>(
        threads, duration, [&] { return std::make_unique<pqxx::connection>(dsn); },
        [](std::unique_ptr<pqxx::connection>& connection) {
          pqxx::work txn(*connection);
          const bool ok = txn.exec("SELECT 1").size() == 1;
          txn.commit();
          return ok;
        });
    Print("SELECT 1 in a raw libpqxx transaction (baseline)", raw_txn, &raw);
    Figure select = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          return pool
              ->Transact([](pqxx::work& txn) {
                txn.exec("SELECT 1");
                return absl::OkStatus();
              })
              .ok();
        });
    Print("SELECT 1 in a PgPool transaction", select, &raw_txn);
    Figure single = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          return pool
              ->Transact([&](pqxx::work& txn) {
                txn.exec_params("INSERT INTO " + table + " (call, at) VALUES ($1, now())",
                                "calls/x");
                return absl::OkStatus();
              })
              .ok();
        });
    Print("1-row INSERT per transaction", single, &raw_txn, "rows/s");
    const int rows = smoke ? 10 : 1000;
    Figure batched = Measure<int>(
        threads, duration, [] { return 0; },
        [&](int&) {
          return pool
              ->Transact([&](pqxx::work& txn) {
                txn.exec_params("INSERT INTO " + table +
                                    " (call, at) SELECT 'calls/' || g, now() FROM "
                                    "generate_series(1, $1) g",
                                rows);
                return absl::OkStatus();
              })
              .ok();
        });
    batched.ops_per_second *= rows;
    Print(absl::StrCat(rows, "-row INSERT per transaction, per row"), batched, &raw_txn, "rows/s");
    for (const Figure* figure : {&raw, &raw_txn, &select, &single, &batched}) {
      failures += figure->ops_per_second == 0 || figure->errors > 0;
    }
    (void)pool->Transact([&](pqxx::work& txn) {
      txn.exec("DROP TABLE " + table);
      return absl::OkStatus();
    });
  }
  if (failures > 0) std::printf("FAILED: %d figures had errors or no operations\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv,
      "cc-bench-foundation: costs of the shared library (gRPC server, Redis client, event "
      "stream, PostgreSQL pool) next to raw baselines, on the real servers.");
  return contactcentre::bench::Run();
}
