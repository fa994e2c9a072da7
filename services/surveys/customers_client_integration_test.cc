// The surveys service's customers client against the real customers service (its module on a
// database of its own behind a gRPC server on a free port): consents, flags, contacts, tag
// listings and the recorded survey opt-out arrive as the exclusion rules need them; and a
// campaign started through it excludes the customers who must not be surveyed.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/testing/test_servers.h"
#include "services/customers/customers_module.h"
#include "services/customers/schema.h"
#include "services/surveys/clients.h"

namespace contactcentre::surveys {
namespace {

namespace cv1 = ::contactcentre::customers::v1;

class CustomersClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_ = common::testing::UniqueTestSite();
    ASSERT_TRUE(
        common::ApplyMigrations(database_.dsn(), "common", common::SchemaMigrations()).ok());
    ASSERT_TRUE(
        common::ApplyMigrations(database_.dsn(), "customers", customers::SchemaMigrations()).ok());
    auto pg = common::PgPool::Create({.dsn = database_.dsn(), .size = 4});
    ASSERT_TRUE(pg.ok());
    pg_ = std::move(*pg);
    auto redis = common::RedisClient::Create(common::testing::TestServers::Get().Redis());
    ASSERT_TRUE(redis.ok());
    redis_ = std::move(*redis);
    publisher_ = std::make_unique<common::EventPublisher>(
        redis_.get(), common::EventPublisher::Options{.site = site_, .producer = "customers"});
    outbox_ = std::make_unique<common::OutboxRelay>(pg_.get(), publisher_.get(),
                                                    common::OutboxRelay::Options{});
    module_ = std::make_unique<customers::CustomersModule>(pg_.get(), redis_.get(),
                                                           publisher_.get(), outbox_.get(), site_,
                                                           customers::CustomersOptions{});
    auto server =
        common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, module_->GrpcServices());
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    server_->SetReady(true);
    target_ = absl::StrCat("127.0.0.1:", server_->port());
    stub_ = cv1::CustomersService::NewStub(common::MakeChannel(target_));
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown();
    module_.reset();
    common::testing::DeleteSiteKeys(site_);
  }

  std::string CreateCustomer(const std::string& display_name, bool phone,
                             std::vector<std::string> tags) {
    cv1::CreateCustomerRequest request;
    request.set_request_id(common::NewId());
    request.mutable_customer()->set_display_name(display_name);
    if (phone) {
      request.mutable_customer()->add_phones()->mutable_number()->set_raw(
          absl::StrCat("+7 999 123-45-", 10 + phones_++));
    }
    for (const std::string& tag : tags) request.mutable_customer()->add_tags(tag);
    cv1::Customer created;
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    grpc::Status status = stub_->CreateCustomer(context.get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.name();
  }

  void SetConsent(const std::string& customer, cv1::ConsentKind kind) {
    cv1::SetConsentRequest request;
    request.set_customer(customer);
    request.set_kind(kind);
    request.set_value(true);
    request.set_source(cv1::CONSENT_SOURCE_SURVEY);
    request.mutable_actor()->set_name("operators/1");
    cv1::Customer out;
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    grpc::Status status = stub_->SetConsent(context.get(), request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  common::testing::TestDatabase database_;
  std::string site_;
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<common::RedisClient> redis_;
  std::unique_ptr<common::EventPublisher> publisher_;
  std::unique_ptr<common::OutboxRelay> outbox_;
  std::unique_ptr<customers::CustomersModule> module_;
  std::unique_ptr<common::GrpcServer> server_;
  std::string target_;
  std::unique_ptr<cv1::CustomersService::Stub> stub_;
  int phones_ = 0;
};

TEST_F(CustomersClientTest, ConsentsFlagsContactsAndTagsComeThroughTheClient) {
  const std::string ok = CreateCustomer("Anna", true, {"cards"});
  const std::string opted_out = CreateCustomer("Boris", true, {"cards", "gold"});
  const std::string dnc = CreateCustomer("Vera", true, {"loans"});
  const std::string abusive = CreateCustomer("Gleb", true, {});
  const std::string no_phone = CreateCustomer("Dina", false, {"cards"});
  SetConsent(opted_out, cv1::CONSENT_KIND_SURVEY_OPT_OUT);
  SetConsent(dnc, cv1::CONSENT_KIND_DO_NOT_CALL);
  {
    cv1::SetFlagRequest request;
    request.set_customer(abusive);
    request.set_kind(cv1::FLAG_KIND_ABUSIVE);
    request.set_value(true);
    request.set_reason("shouted at the operator");
    cv1::Customer out;
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    grpc::Status status = stub_->SetFlag(context.get(), request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  GrpcCustomersClient client(target_, absl::Seconds(5));
  auto facts = client.GetCustomer(ok);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->found);
  EXPECT_EQ(facts->name, ok);
  EXPECT_EQ(facts->phone_e164, "+79991234510");
  EXPECT_FALSE(facts->survey_opt_out || facts->do_not_call || facts->abusive);
  EXPECT_TRUE(client.GetCustomer(opted_out)->survey_opt_out);
  EXPECT_TRUE(client.GetCustomer(dnc)->do_not_call);
  EXPECT_TRUE(client.GetCustomer(abusive)->abusive);
  EXPECT_TRUE(client.GetCustomer(no_phone)->phone_e164.empty());
  auto missing = client.GetCustomer("customers/00000000-0000-7000-8000-000000000000");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->found);

  auto cards = client.ListByTags({"cards"});
  ASSERT_TRUE(cards.ok()) << cards.status();
  std::set<std::string> names;
  for (const auto& card : *cards) names.insert(card.name);
  EXPECT_EQ(names, (std::set<std::string>{ok, opted_out, no_phone}));

  ASSERT_TRUE(client.RecordSurveyOptOut(ok, common::NewId()).ok());
  EXPECT_TRUE(client.GetCustomer(ok)->survey_opt_out);

  // The service down: UNAVAILABLE, never "not found".
  GrpcCustomersClient down("127.0.0.1:1", absl::Milliseconds(300));
  auto unavailable = down.GetCustomer(ok);
  EXPECT_EQ(unavailable.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace contactcentre::surveys
