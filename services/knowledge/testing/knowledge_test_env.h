// A knowledge service for integration tests: a fresh database of the `servers` fixture with
// the migrations applied, a site of its own on the fixture's Redis, the real module (stores,
// gRPC services, event consumer, outbox relay) behind a gRPC server on a free port, and stubs.
//
//   auto env = KnowledgeTestEnv::Start();
//   ASSERT_TRUE(env.ok()) << env.status();
//   v1::Article article;
//   grpc::ClientContext context;
//   (*env)->articles().CreateArticle(&context, request, &article);
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
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "contactcentre/knowledge/v1/feedback.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"
#include "services/knowledge/module.h"

namespace contactcentre::knowledge::testing {

class KnowledgeTestEnv {
 public:
  static absl::StatusOr<std::unique_ptr<KnowledgeTestEnv>> Start(
      KnowledgeOptions options = {.event_read_block = absl::Milliseconds(100)});
  ~KnowledgeTestEnv();

  v1::ArticlesService::Stub& articles() { return *articles_; }
  v1::PrecedentsService::Stub& precedents() { return *precedents_; }
  v1::DirectoryService::Stub& directory() { return *directory_; }
  v1::FeedbackService::Stub& feedback() { return *feedback_; }

  KnowledgeModule& module() { return *module_; }
  common::PgPool& pg() { return *pg_; }
  common::RedisClient& redis() { return *redis_; }
  // Publishes to the test's site as the calls service would.
  common::EventPublisher& calls_publisher() { return *calls_publisher_; }
  const std::string& site() const { return site_; }
  const std::string& dsn() const { return database_.dsn(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  KnowledgeTestEnv() = default;

  common::testing::TestDatabase database_;
  std::string site_;
  common::ServiceConfig config_;
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<common::RedisClient> redis_;
  std::unique_ptr<common::EventPublisher> publisher_;
  std::unique_ptr<common::EventPublisher> calls_publisher_;
  std::unique_ptr<common::OutboxRelay> outbox_;
  std::unique_ptr<common::ServiceContext> context_;
  std::unique_ptr<KnowledgeModule> module_;
  std::unique_ptr<common::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ArticlesService::Stub> articles_;
  std::unique_ptr<v1::PrecedentsService::Stub> precedents_;
  std::unique_ptr<v1::DirectoryService::Stub> directory_;
  std::unique_ptr<v1::FeedbackService::Stub> feedback_;
};

// A client context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Context();

}  // namespace contactcentre::knowledge::testing

namespace contactcentre::knowledge::testing {

// Calls a unary method of a stub with a fresh context:
//   Call(&v1::ArticlesService::Stub::GetArticle, env->articles(), request, &article)
template <typename Stub, typename Request, typename Response>
grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  Stub& stub, const Request& request, Response* response) {
  std::unique_ptr<grpc::ClientContext> context = Context();
  return (stub.*method)(context.get(), request, response);
}

}  // namespace contactcentre::knowledge::testing
