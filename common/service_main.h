// The common main() of every service: configuration, logging, PostgreSQL pool, migrations,
// Redis, event publisher, gRPC server, readiness and graceful shutdown. A service's main.cc
// only names itself and builds its module:
//
//   int main(int argc, char** argv) {
//     return common::RunService(argc, argv, kSpec, [](common::ServiceContext& context) {
//       return CallsModule::Create(context);
//     });
//   }
//
// Start-up order: flags (and CC_* environment) are read and checked, then the server listens at
// once with health NOT_SERVING ("liveness" SERVING). A readiness loop applies the migrations
// (retrying while PostgreSQL is unreachable), starts the outbox relay, calls the module's
// OnReady once, and from then on
// reports SERVING exactly while PostgreSQL and Redis both answer. SIGTERM or SIGINT starts the
// graceful shutdown: NOT_SERVING, the module's OnShutdown, no new calls, in-flight calls drain,
// exit 0.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_stream.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "common/redis.h"

namespace contactcentre::common {

// What a service is, for RunService.
struct ServiceSpec {
  // Short name: "calls", "customers", "surveys", "knowledge", "analytics".
  std::string name;
  // One line for --help.
  std::string description;
  // Port used when --listen is not given.
  int default_port = 0;
  // The service's own schema (services/<name>/schema), applied at start after the common
  // bookkeeping tables (common/schema); null while the service has none.
  const std::vector<Migration>* migrations = nullptr;
  // Statements prepared on every PostgreSQL connection: (name, SQL).
  std::vector<std::pair<std::string, std::string>> prepared_statements;
};

// Validated configuration common to every service.
struct ServiceConfig {
  std::string service;
  std::string listen_address;
  std::string postgres_dsn;
  RedisOptions redis;
  std::string site;
  int pg_pool_size = 0;
  absl::Duration shutdown_grace;
  absl::Duration drain_delay;
  absl::Duration max_connection_age;
  absl::Duration readiness_interval;
  int max_message_bytes = 0;
};

// Reads the configuration flags (after ParseFlagsWithEnvironment); INVALID_ARGUMENT naming the
// flag for a bad value.
absl::StatusOr<ServiceConfig> LoadServiceConfig(const ServiceSpec& spec);

// What a service's module is built from; valid for the life of the process.
struct ServiceContext {
  const ServiceConfig& config;
  PgPool& pg;
  RedisClient& redis;
  // Publishes directly to the stream (for changes that live in Redis).
  EventPublisher& events;
  // Publishes events enqueued in PostgreSQL transactions (common/outbox.h); runs from the
  // first readiness until shutdown. Call Notify() after a commit that enqueued events.
  OutboxRelay& outbox;
};

// A service's handlers and background work.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  // The gRPC services to register; owned by the module.
  virtual std::vector<grpc::Service*> GrpcServices() = 0;
  // Fully qualified names of those services, reported by the health service.
  virtual std::vector<std::string> HealthServiceNames() = 0;
  // Called once, after migrations, when PostgreSQL and Redis first answer: start consumers,
  // sweepers and caches here.
  virtual void OnReady() {}
  // Called when shutdown begins: stop background work and end long-lived streams.
  virtual void OnShutdown() {}
};

// The module of a service whose contract is served but not implemented yet: every method of
// `Services` (generated gRPC service classes) answers UNIMPLEMENTED, while health, reflection,
// migrations and readiness work as in a finished service. Each service replaces it with its
// own module when its issue lands.
template <typename... Services>
class SkeletonModule final : public ServiceModule {
 public:
  std::vector<grpc::Service*> GrpcServices() override {
    return std::apply([](auto&... services) { return std::vector<grpc::Service*>{&services...}; },
                      services_);
  }
  std::vector<std::string> HealthServiceNames() override {
    return {Services::service_full_name()...};
  }

 private:
  std::tuple<typename Services::CallbackService...> services_;
};

using ModuleFactory =
    std::function<absl::StatusOr<std::unique_ptr<ServiceModule>>(ServiceContext& context)>;

// Runs the service until SIGTERM or SIGINT; returns the process exit code (0 after a clean
// shutdown, 1 when start-up fails, including a schema that cannot be applied (an edited
// migration, failing SQL), 2 for bad flags).
int RunService(int argc, char** argv, const ServiceSpec& spec, const ModuleFactory& factory);

}  // namespace contactcentre::common
