#include "services/surveys/testing/surveys_test_env.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/status.h"
#include "services/surveys/schema.h"

namespace contactcentre::surveys::testing {

void FakeCustomers::Put(CustomerFacts facts) {
  absl::MutexLock lock(&mutex_);
  customers_[facts.name] = std::move(facts);
}

void FakeCustomers::SetUnavailable(bool unavailable) {
  absl::MutexLock lock(&mutex_);
  unavailable_ = unavailable;
}

std::vector<std::string> FakeCustomers::opted_out() {
  absl::MutexLock lock(&mutex_);
  return opted_out_;
}

int FakeCustomers::get_calls() {
  absl::MutexLock lock(&mutex_);
  return get_calls_;
}

absl::StatusOr<CustomerFacts> FakeCustomers::GetCustomer(const std::string& customer) {
  absl::MutexLock lock(&mutex_);
  ++get_calls_;
  if (unavailable_) return absl::UnavailableError("the customers service cannot be asked");
  auto it = customers_.find(customer);
  if (it == customers_.end()) {
    CustomerFacts missing;
    missing.name = customer;
    return missing;
  }
  return it->second;
}

absl::StatusOr<std::vector<CustomerFacts>> FakeCustomers::ListByTags(
    const std::vector<std::string>& tags) {
  absl::MutexLock lock(&mutex_);
  if (unavailable_) return absl::UnavailableError("the customers service cannot be asked");
  std::vector<CustomerFacts> found;
  for (const auto& [name, facts] : customers_) {
    bool all = true;
    for (const std::string& tag : tags) {
      all = all && std::find(facts.tags.begin(), facts.tags.end(), tag) != facts.tags.end();
    }
    if (all) found.push_back(facts);
  }
  return found;
}

absl::Status FakeCustomers::RecordSurveyOptOut(const std::string& customer, const std::string&) {
  absl::MutexLock lock(&mutex_);
  opted_out_.push_back(customer);
  customers_[customer].survey_opt_out = true;
  return absl::OkStatus();
}

void FakeCalls::Put(CallFacts facts) {
  absl::MutexLock lock(&mutex_);
  calls_[facts.name] = std::move(facts);
}

absl::StatusOr<CallFacts> FakeCalls::GetCall(const std::string& call) {
  absl::MutexLock lock(&mutex_);
  auto it = calls_.find(call);
  if (it == calls_.end()) return absl::NotFoundError(absl::StrCat(call, " not found"));
  return it->second;
}

absl::StatusOr<std::unique_ptr<SurveysTestEnv>> SurveysTestEnv::Start(
    SurveysModuleOptions options) {
  std::unique_ptr<SurveysTestEnv> env(new SurveysTestEnv());
  env->site_ = common::testing::UniqueTestSite();
  const std::string dsn = env->database_.dsn();
  CC_RETURN_IF_ERROR(common::ApplyMigrations(dsn, "common", common::SchemaMigrations()).status());
  CC_RETURN_IF_ERROR(common::ApplyMigrations(dsn, "surveys", SchemaMigrations()).status());
  const common::testing::TestServers& servers = common::testing::TestServers::Get();
  env->config_.service = "surveys";
  env->config_.site = env->site_;
  env->config_.postgres_dsn = dsn;
  env->config_.redis = servers.Redis();
  CC_ASSIGN_OR_RETURN(env->pg_, common::PgPool::Create({.dsn = dsn, .size = 4}));
  CC_ASSIGN_OR_RETURN(env->redis_, common::RedisClient::Create(servers.Redis()));
  env->publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/surveys"});
  env->calls_publisher_ = std::make_unique<common::EventPublisher>(
      env->redis_.get(),
      common::EventPublisher::Options{.site = env->site_, .producer = "services/calls"});
  env->outbox_ = std::make_unique<common::OutboxRelay>(
      env->pg_.get(), env->publisher_.get(),
      common::OutboxRelay::Options{.poll_interval = absl::Milliseconds(50)});
  env->context_ = std::make_unique<common::ServiceContext>(common::ServiceContext{
      env->config_, *env->pg_, *env->redis_, *env->publisher_, *env->outbox_});
  auto customers = std::make_unique<FakeCustomers>();
  auto calls = std::make_unique<FakeCalls>();
  env->customers_ = customers.get();
  env->calls_ = calls.get();
  env->module_ = std::make_unique<SurveysModule>(*env->context_, std::move(customers),
                                                 std::move(calls), std::move(options));
  CC_ASSIGN_OR_RETURN(env->server_, common::GrpcServer::Start({.listen_address = "127.0.0.1:0",
                                                               .shutdown_grace = absl::Seconds(2)},
                                                              env->module_->GrpcServices()));
  env->server_->SetReady(true);
  env->outbox_->Start();
  env->module_->OnReady();
  env->channel_ = common::MakeChannel(absl::StrCat("127.0.0.1:", env->server_->port()));
  env->surveys_ = v1::SurveyService::NewStub(env->channel_);
  env->campaigns_ = v1::CampaignService::NewStub(env->channel_);
  env->quality_ = v1::QualityService::NewStub(env->channel_);
  return env;
}

SurveysTestEnv::~SurveysTestEnv() {
  surveys_.reset();
  campaigns_.reset();
  quality_.reset();
  channel_.reset();
  if (server_) server_->Shutdown();
  if (module_) module_->OnShutdown();
  if (outbox_) outbox_->Stop();
  module_.reset();
  common::testing::DeleteSiteKeys(site_);
}

std::vector<events::v1::Event> SurveysTestEnv::Events() {
  std::vector<events::v1::Event> out;
  auto reply = redis_->Command({"XRANGE", common::EventStreamKey(site_), "-", "+"});
  if (!reply.ok()) return out;
  for (const common::RedisReply& entry : reply->elements) {
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      events::v1::Event event;
      if (fields[i].str == "event" && event.ParseFromString(fields[i + 1].str)) {
        out.push_back(std::move(event));
      }
    }
  }
  return out;
}

}  // namespace contactcentre::surveys::testing
