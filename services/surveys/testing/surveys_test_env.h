// A surveys service for integration tests: a fresh database of the `servers` fixture with the
// migrations applied, a site of its own on the fixture's Redis, the real module behind a gRPC
// server on a free port, fakes of the customers and calls services, and stubs.
//
//   auto env = SurveysTestEnv::Start();
//   ASSERT_TRUE(env.ok()) << env.status();
//   env->customers().Put({.found = true, .name = "customers/1", .phone_e164 = "+79990000001"});
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/event_stream.h"
#include "common/grpc_server.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "common/redis.h"
#include "common/service_main.h"
#include "common/testing/test_servers.h"
#include "services/surveys/module.h"

namespace contactcentre::surveys::testing {

// Customers held in memory; unknown names are "not found". `Fail` makes every call UNAVAILABLE.
class FakeCustomers final : public CustomersClient {
 public:
  void Put(CustomerFacts facts);
  void SetUnavailable(bool unavailable);
  std::vector<std::string> opted_out();
  int get_calls();

  absl::StatusOr<CustomerFacts> GetCustomer(const std::string& customer) override;
  absl::StatusOr<std::vector<CustomerFacts>> ListByTags(
      const std::vector<std::string>& tags) override;
  absl::Status RecordSurveyOptOut(const std::string& customer,
                                  const std::string& request_id) override;

 private:
  absl::Mutex mutex_;
  std::map<std::string, CustomerFacts> customers_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> opted_out_ ABSL_GUARDED_BY(mutex_);
  bool unavailable_ ABSL_GUARDED_BY(mutex_) = false;
  int get_calls_ ABSL_GUARDED_BY(mutex_) = 0;
};

class FakeCalls final : public CallsClient {
 public:
  void Put(CallFacts facts);
  absl::StatusOr<CallFacts> GetCall(const std::string& call) override;

 private:
  absl::Mutex mutex_;
  std::map<std::string, CallFacts> calls_ ABSL_GUARDED_BY(mutex_);
};

class SurveysTestEnv {
 public:
  static absl::StatusOr<std::unique_ptr<SurveysTestEnv>> Start(
      SurveysModuleOptions options = {.event_read_block = absl::Milliseconds(100)});
  ~SurveysTestEnv();

  v1::SurveyService::Stub& surveys() { return *surveys_; }
  v1::CampaignService::Stub& campaigns() { return *campaigns_; }
  v1::QualityService::Stub& quality() { return *quality_; }
  FakeCustomers& customers() { return *customers_; }
  FakeCalls& calls() { return *calls_; }
  SurveysModule& module() { return *module_; }
  common::PgPool& pg() { return *pg_; }
  common::RedisClient& redis() { return *redis_; }
  // Publishes to the test's site as the calls service would.
  common::EventPublisher& calls_publisher() { return *calls_publisher_; }
  const std::string& site() const { return site_; }
  // Every event of the site's stream so far.
  std::vector<events::v1::Event> Events();

 private:
  SurveysTestEnv() = default;

  common::testing::TestDatabase database_;
  std::string site_;
  common::ServiceConfig config_;
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<common::RedisClient> redis_;
  std::unique_ptr<common::EventPublisher> publisher_;
  std::unique_ptr<common::EventPublisher> calls_publisher_;
  std::unique_ptr<common::OutboxRelay> outbox_;
  std::unique_ptr<common::ServiceContext> context_;
  FakeCustomers* customers_ = nullptr;
  FakeCalls* calls_ = nullptr;
  std::unique_ptr<SurveysModule> module_;
  std::unique_ptr<common::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SurveyService::Stub> surveys_;
  std::unique_ptr<v1::CampaignService::Stub> campaigns_;
  std::unique_ptr<v1::QualityService::Stub> quality_;
};

// Calls a unary method of a stub with a fresh context (10 s deadline).
template <typename Stub, typename Request, typename Response>
grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  Stub& stub, const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return (stub.*method)(&context, request, response);
}

}  // namespace contactcentre::surveys::testing
