#include "services/knowledge/testing/knowledge_test_env.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/status.h"
#include "services/knowledge/schema.h"

namespace contactcentre::knowledge::testing {

absl::StatusOr<std::unique_ptr<KnowledgeTestEnv>> KnowledgeTestEnv::Start(
    KnowledgeOptions options) {
  std::unique_ptr<KnowledgeTestEnv> env(new KnowledgeTestEnv());
  env->site_ = common::testing::UniqueTestSite();
  CC_RETURN_IF_ERROR(
      common::ApplyMigrations(env->dsn(), "common", common::SchemaMigrations()).status());
  CC_RETURN_IF_ERROR(common::ApplyMigrations(env->dsn(), "knowledge", SchemaMigrations()).status());
  const common::testing::TestServers& servers = common::testing::TestServers::Get();
  env->config_.service = "knowledge";
  env->config_.site = env->site_;
  env->config_.postgres_dsn = env->dsn();
  env->config_.redis = servers.Redis();
  CC_ASSIGN_OR_RETURN(env->pg_, common::PgPool::Create({.dsn = env->dsn(), .size = 4}));
  CC_ASSIGN_OR_RETURN(env->redis_, common::RedisClient::Create(servers.Redis()));
  env->publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/knowledge"});
  env->calls_publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/calls"});
  env->outbox_ = std::make_unique<common::OutboxRelay>(
      env->pg_.get(), env->publisher_.get(),
      common::OutboxRelay::Options{.poll_interval = absl::Milliseconds(50)});
  env->context_ = std::make_unique<common::ServiceContext>(common::ServiceContext{
      env->config_, *env->pg_, *env->redis_, *env->publisher_, *env->outbox_});
  CC_ASSIGN_OR_RETURN(env->module_, KnowledgeModule::Create(*env->context_, options));
  CC_ASSIGN_OR_RETURN(env->server_, common::GrpcServer::Start({.listen_address = "127.0.0.1:0",
                                                               .shutdown_grace = absl::Seconds(2)},
                                                              env->module_->GrpcServices()));
  env->server_->SetReady(true);
  env->outbox_->Start();
  env->module_->OnReady();
  env->channel_ = common::MakeChannel(absl::StrCat("127.0.0.1:", env->server_->port()));
  env->articles_ = v1::ArticlesService::NewStub(env->channel_);
  env->precedents_ = v1::PrecedentsService::NewStub(env->channel_);
  env->directory_ = v1::DirectoryService::NewStub(env->channel_);
  env->feedback_ = v1::FeedbackService::NewStub(env->channel_);
  return env;
}

KnowledgeTestEnv::~KnowledgeTestEnv() {
  // Clients first: the server's shutdown waits for open connections to close.
  articles_.reset();
  precedents_.reset();
  directory_.reset();
  feedback_.reset();
  channel_.reset();
  if (server_) server_->Shutdown();
  if (module_) module_->OnShutdown();
  if (outbox_) outbox_->Stop();
  module_.reset();
  common::testing::DeleteSiteKeys(site_);
}

std::unique_ptr<grpc::ClientContext> Context() {
  return common::ContextWithTimeout(absl::Seconds(10));
}

}  // namespace contactcentre::knowledge::testing
