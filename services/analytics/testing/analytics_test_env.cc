#include "services/analytics/testing/analytics_test_env.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/status.h"
#include "services/analytics/schema.h"

namespace contactcentre::analytics::testing {

absl::StatusOr<std::unique_ptr<AnalyticsTestEnv>> AnalyticsTestEnv::Start(
    AnalyticsModuleOptions options) {
  std::unique_ptr<AnalyticsTestEnv> env(new AnalyticsTestEnv());
  env->site_ = common::testing::UniqueTestSite();
  const std::string& dsn = env->database_.dsn();
  CC_RETURN_IF_ERROR(common::ApplyMigrations(dsn, "common", common::SchemaMigrations()).status());
  CC_RETURN_IF_ERROR(common::ApplyMigrations(dsn, "analytics", SchemaMigrations()).status());
  const common::testing::TestServers& servers = common::testing::TestServers::Get();
  env->config_.service = "analytics";
  env->config_.site = env->site_;
  env->config_.postgres_dsn = dsn;
  env->config_.redis = servers.Redis();
  CC_ASSIGN_OR_RETURN(env->pg_, common::PgPool::Create({.dsn = dsn, .size = 4}));
  CC_ASSIGN_OR_RETURN(env->redis_, common::RedisClient::Create(servers.Redis()));
  env->publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/analytics"});
  env->calls_publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/calls"});
  env->outbox_ = std::make_unique<common::OutboxRelay>(
      env->pg_.get(), env->publisher_.get(),
      common::OutboxRelay::Options{.poll_interval = absl::Milliseconds(50)});
  env->context_ = std::make_unique<common::ServiceContext>(common::ServiceContext{
      env->config_, *env->pg_, *env->redis_, *env->publisher_, *env->outbox_});
  env->module_ = std::make_unique<AnalyticsModule>(*env->context_, std::move(options));
  CC_RETURN_IF_ERROR(env->module_->consumer().EnsureGroup());
  CC_ASSIGN_OR_RETURN(env->server_, common::GrpcServer::Start({.listen_address = "127.0.0.1:0",
                                                               .shutdown_grace = absl::Seconds(2)},
                                                              env->module_->GrpcServices()));
  env->server_->SetReady(true);
  env->module_->watcher().Start();
  env->channel_ = common::MakeChannel(absl::StrCat("127.0.0.1:", env->server_->port()));
  env->analytics_ = v1::AnalyticsService::NewStub(env->channel_);
  return env;
}

absl::StatusOr<int> AnalyticsTestEnv::Drain() {
  int total = 0;
  for (;;) {
    CC_ASSIGN_OR_RETURN(int applied, module_->consumer().PollOnce(/*force_claim=*/true));
    if (applied == 0) return total;
    total += applied;
  }
}

AnalyticsTestEnv::~AnalyticsTestEnv() {
  // Clients first: the server's shutdown waits for open connections to close.
  analytics_.reset();
  channel_.reset();
  if (server_) server_->Shutdown();
  if (module_) module_->OnShutdown();
  module_.reset();
  common::testing::DeleteSiteKeys(site_);
}

std::string AnalyticsTestEnv::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::unique_ptr<grpc::ClientContext> Context() {
  return common::ContextWithTimeout(absl::Seconds(10));
}

}  // namespace contactcentre::analytics::testing
