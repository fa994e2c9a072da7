#include "common/service_main.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/idempotency.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/status.h"

ABSL_FLAG(std::string, listen, "",
          "host:port to serve gRPC on (default 0.0.0.0:<the service's port>: calls 50051, "
          "customers 50052, surveys 50053, knowledge 50054, analytics 50055)");
ABSL_FLAG(std::string, postgres, "",
          "libpq connection string of the service's database (default "
          "\"host=127.0.0.1 port=25432 user=cc dbname=cc_<service>\", the private server of "
          "deploy/local-servers.sh)");
ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port");
ABSL_FLAG(std::string, site, "main",
          "contact-centre site whose Redis keys and event stream this process uses");
ABSL_FLAG(int, pg_pool_size, 8, "most PostgreSQL connections open at once");
ABSL_FLAG(int, redis_pool_size, 16, "most Redis connections open at once");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long in-flight calls may take to finish after SIGTERM");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(),
          "how long health reports NOT_SERVING before the server stops accepting calls (set "
          "to a few seconds behind a Kubernetes Service)");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "close each client connection gracefully after about this long (0: never), so that "
          "clients re-resolve and spread over replicas added since (e.g. 5m in Kubernetes)");
ABSL_FLAG(absl::Duration, readiness_interval, absl::Seconds(1),
          "how often PostgreSQL and Redis are checked for the readiness health status");
ABSL_FLAG(int, max_message_bytes, 16 * 1024 * 1024, "largest gRPC message accepted or sent");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "check every Mutex acquisition against a global lock-order graph and abort on a "
          "cycle (a debugging aid: Debian's Abseil has it on by default, at a few per cent of "
          "the CPU; tests keep it on)");

namespace contactcentre::common {

absl::StatusOr<ServiceConfig> LoadServiceConfig(const ServiceSpec& spec) {
  ServiceConfig config;
  config.service = spec.name;
  config.listen_address = absl::GetFlag(FLAGS_listen);
  if (config.listen_address.empty()) {
    config.listen_address = absl::StrCat("0.0.0.0:", spec.default_port);
  }
  if (config.listen_address.find(':') == std::string::npos) {
    return InvalidArgumentError("--listen", "must be host:port");
  }
  config.postgres_dsn = absl::GetFlag(FLAGS_postgres);
  if (config.postgres_dsn.empty()) {
    config.postgres_dsn = absl::StrCat("host=127.0.0.1 port=25432 user=cc dbname=cc_", spec.name);
  }
  absl::StatusOr<RedisOptions> redis = ParseRedisAddress(absl::GetFlag(FLAGS_redis));
  if (!redis.ok()) return InvalidArgumentError("--redis", redis.status().message());
  config.redis = *redis;
  config.redis.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  if (config.redis.pool_size < 1) return InvalidArgumentError("--redis_pool_size", "must be >= 1");
  config.site = absl::GetFlag(FLAGS_site);
  if (config.site.empty() || config.site.find_first_of("{}: ") != std::string::npos) {
    return InvalidArgumentError("--site", "must be a non-empty name without {, }, : or spaces");
  }
  config.pg_pool_size = absl::GetFlag(FLAGS_pg_pool_size);
  if (config.pg_pool_size < 1) return InvalidArgumentError("--pg_pool_size", "must be >= 1");
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  config.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  config.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  if (config.max_connection_age < absl::ZeroDuration()) {
    return InvalidArgumentError("--max_connection_age", "must not be negative");
  }
  config.readiness_interval = absl::GetFlag(FLAGS_readiness_interval);
  if (config.readiness_interval <= absl::ZeroDuration()) {
    return InvalidArgumentError("--readiness_interval", "must be positive");
  }
  config.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (config.max_message_bytes < 1024) {
    return InvalidArgumentError("--max_message_bytes", "must be at least 1024");
  }
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return InvalidArgumentError("--log_level", "must be debug, info, warning or error");
  }
  SetLogLevel(level);
  return config;
}

namespace {

// Applies migrations until they succeed, then keeps readiness in step with the dependencies.
class ReadinessLoop {
 public:
  ReadinessLoop(const ServiceSpec& spec, const ServiceConfig& config, PgPool& pg,
                RedisClient& redis, OutboxRelay& outbox, GrpcServer& server, ServiceModule& module)
      : spec_(spec),
        config_(config),
        pg_(pg),
        redis_(redis),
        outbox_(outbox),
        server_(server),
        module_(module) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }

  // True when start-up failed for good (the process must exit non-zero).
  bool fatal() const { return fatal_.load(); }

 private:
  absl::Status Migrate() {
    std::vector<std::pair<std::string, const std::vector<Migration>*>> components = {
        {"common", &SchemaMigrations()}};
    if (spec_.migrations != nullptr) components.emplace_back(spec_.name, spec_.migrations);
    for (const auto& [component, migrations] : components) {
      CC_ASSIGN_OR_RETURN(
          MigrationReport report,
          ApplyMigrations(config_.postgres_dsn, component, *migrations, absl::Minutes(2),
                          [this] { return stop_.HasBeenNotified(); }));
      LogInfo("schema up to date", {{"component", component},
                                    {"version", report.newest_version},
                                    {"applied", report.applied}});
    }
    return absl::OkStatus();
  }

  void Run() {
    bool migrated = false;
    bool module_ready = false;
    absl::Status last_problem;
    absl::Time next_prune = absl::InfinitePast();
    while (!stop_.HasBeenNotified()) {
      absl::Status problem;
      if (!migrated) {
        problem = Annotate(Migrate(), "migrations");
        migrated = problem.ok();
        // An edited migration or SQL that fails will fail the same way every time: stop the
        // process (exit 1) instead of retrying it forever behind a NOT_SERVING health.
        if (problem.code() == absl::StatusCode::kFailedPrecondition ||
            problem.code() == absl::StatusCode::kInternal) {
          LogError("cannot apply the schema; stopping", {{"error", problem}});
          fatal_.store(true);
          kill(getpid(), SIGTERM);
          return;
        }
      }
      if (problem.ok()) problem = Annotate(pg_.Ping(), "PostgreSQL");
      if (problem.ok()) problem = Annotate(redis_.Ping(), "Redis");
      if (problem.ok() && !module_ready) {
        outbox_.Start();
        module_.OnReady();
        module_ready = true;
      }
      if (problem.ok() != last_problem.ok() || problem.message() != last_problem.message()) {
        if (!problem.ok()) LogWarning("dependency check failed", {{"error", problem}});
        last_problem = problem;
      }
      server_.SetReady(problem.ok());
      if (problem.ok() && absl::Now() >= next_prune) {
        // Request answers are promised for 24 hours; event ids are kept a week, longer than
        // any consumer stays behind the stream.
        absl::Status pruned = pg_.Transact([](pqxx::work& txn) {
          return PruneBookkeeping(txn, absl::Hours(24), absl::Hours(24 * 7));
        });
        if (!pruned.ok()) LogWarning("pruning bookkeeping tables failed", {{"error", pruned}});
        next_prune = absl::Now() + absl::Minutes(10);
      }
      stop_.WaitForNotificationWithTimeout(config_.readiness_interval);
    }
  }

  const ServiceSpec& spec_;
  const ServiceConfig& config_;
  PgPool& pg_;
  RedisClient& redis_;
  OutboxRelay& outbox_;
  GrpcServer& server_;
  ServiceModule& module_;
  absl::Notification stop_;
  std::atomic<bool> fatal_{false};
  std::thread thread_;
};

}  // namespace

int RunService(int argc, char** argv, const ServiceSpec& spec, const ModuleFactory& factory) {
  ShutdownSignals::Block();
  ParseFlagsWithEnvironment(
      argc, argv,
      absl::StrCat(spec.description, "\n\nUsage: ", argv[0], " [flags]\nServes gRPC (health, ",
                   "reflection) on --listen; needs PostgreSQL (--postgres) and Redis (--redis)."));
  SetLogService(spec.name);
  // Every lock (gRPC's too) otherwise updates a global lock graph: about 5 % of the analytics
  // replica's CPU with 10,000 WatchMetrics streams.
  absl::SetMutexDeadlockDetectionMode(absl::GetFlag(FLAGS_mutex_deadlock_detection)
                                          ? absl::OnDeadlockCycle::kAbort
                                          : absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<ServiceConfig> config = LoadServiceConfig(spec);
  if (!config.ok()) {
    LogError("bad configuration", {{"error", config.status()}});
    return 2;
  }
  LogInfo("starting", {{"listen", config->listen_address},
                       {"redis", absl::StrCat(config->redis.host, ":", config->redis.port)},
                       {"site", config->site}});

  absl::StatusOr<std::unique_ptr<PgPool>> pg =
      PgPool::Create({.dsn = config->postgres_dsn,
                      .size = config->pg_pool_size,
                      .application_name = spec.name,
                      .prepared_statements = spec.prepared_statements});
  RedisOptions redis_options = config->redis;
  redis_options.client_name = absl::StrCat("cc-", spec.name);
  absl::StatusOr<std::unique_ptr<RedisClient>> redis = RedisClient::Create(redis_options);
  if (!pg.ok() || !redis.ok()) {
    LogError("cannot create clients", {{"error", pg.ok() ? redis.status() : pg.status()}});
    return 2;
  }
  EventPublisher events(redis->get(),
                        {.site = config->site, .producer = absl::StrCat("services/", spec.name)});
  OutboxRelay outbox(pg->get(), &events, {});
  ServiceContext context{*config, **pg, **redis, events, outbox};
  absl::StatusOr<std::unique_ptr<ServiceModule>> module = factory(context);
  if (!module.ok()) {
    LogError("cannot build the service", {{"error", module.status()}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start({.listen_address = config->listen_address,
                         .health_service_names = (*module)->HealthServiceNames(),
                         .max_message_bytes = config->max_message_bytes,
                         .shutdown_grace = config->shutdown_grace,
                         .drain_delay = config->drain_delay,
                         .max_connection_age = config->max_connection_age},
                        (*module)->GrpcServices());
  if (!server.ok()) {
    LogError("cannot start the gRPC server", {{"error", server.status()}});
    return 1;
  }
  (*server)->OnShutdown([&module] { (*module)->OnShutdown(); });

  ReadinessLoop readiness(spec, *config, **pg, **redis, outbox, **server, **module);
  readiness.Start();
  ShutdownSignals::Wait();
  readiness.Stop();
  (*server)->Shutdown();
  // Events of the calls that just drained go out now rather than with the next replica.
  outbox.Stop();
  if (absl::StatusOr<int> relayed = outbox.RelayOnce(); !relayed.ok()) {
    LogWarning("outbox not flushed; another replica will publish it",
               {{"error", relayed.status()}});
  }
  LogInfo("stopped");
  return readiness.fatal() ? 1 : 0;
}

}  // namespace contactcentre::common
