// An analytics service for integration tests: a fresh database of the `servers` fixture with the
// migrations applied, a site of its own on the fixture's Redis, the real module behind a gRPC
// server on a free port, a publisher of call events and a stub.
//
// The event consumer is not started: tests call Drain() (or the consumer's PollOnce) so that
// what was applied when is deterministic. The WatchMetrics refresher runs.
//
//   auto env = AnalyticsTestEnv::Start();
//   ASSERT_TRUE(env.ok()) << env.status();
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/grpc_server.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "common/redis.h"
#include "common/service_main.h"
#include "common/testing/test_servers.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "services/analytics/module.h"

namespace contactcentre::analytics::testing {

class AnalyticsTestEnv {
 public:
  static absl::StatusOr<std::unique_ptr<AnalyticsTestEnv>> Start(
      AnalyticsModuleOptions options = {.metrics = {.site_time_zone = absl::UTCTimeZone()},
                                        .event_read_block = absl::Milliseconds(50),
                                        .claim_min_idle = absl::Milliseconds(200),
                                        .watch = {.refresh_interval = absl::Milliseconds(125),
                                                  .heartbeat_interval = absl::Seconds(1)}});
  ~AnalyticsTestEnv();

  v1::AnalyticsService::Stub& analytics() { return *analytics_; }
  AnalyticsModule& module() { return *module_; }
  // The services' context, e.g. for a second replica's module on the same database and site.
  common::ServiceContext& context() { return *context_; }
  common::RedisClient& redis() { return *redis_; }
  // Publishes to the test's site as the calls service would.
  common::EventPublisher& calls_publisher() { return *calls_publisher_; }
  const std::string& site() const { return site_; }
  // The gRPC server's address, "127.0.0.1:port" (for clients with their own channel).
  std::string address() const;
  // Polls the consumer (claiming stale entries too) until a poll applies nothing; returns how
  // many events were applied.
  absl::StatusOr<int> Drain();

 private:
  AnalyticsTestEnv() = default;

  common::testing::TestDatabase database_;
  std::string site_;
  common::ServiceConfig config_;
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<common::RedisClient> redis_;
  std::unique_ptr<common::EventPublisher> publisher_;
  std::unique_ptr<common::EventPublisher> calls_publisher_;
  std::unique_ptr<common::OutboxRelay> outbox_;
  std::unique_ptr<common::ServiceContext> context_;
  std::unique_ptr<AnalyticsModule> module_;
  std::unique_ptr<common::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AnalyticsService::Stub> analytics_;
};

// A client context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Context();

}  // namespace contactcentre::analytics::testing
