// End-to-end tests of the five service binaries as real processes against the private
// PostgreSQL and Redis: start-up with migrations, health and readiness, the served contract,
// configuration errors, and graceful shutdown on SIGTERM.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_client.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/testing/child_process.h"
#include "common/testing/health.h"
#include "common/testing/test_servers.h"

namespace contactcentre {
namespace {

using common::testing::ChildProcess;
using common::testing::HealthStatus;
using common::testing::TestDatabase;
using common::testing::TestServers;
using common::testing::WaitForHealth;

struct ServiceCase {
  std::string name;
  // Every gRPC service of its contract, fully qualified.
  std::vector<std::string> grpc_services;
  // One unary method of it, as "/package.Service/Method".
  std::string method;
  // What that method answers to an empty request: UNIMPLEMENTED until the service's issue
  // lands, then the implemented method's own answer.
  grpc::StatusCode empty_request_code = grpc::StatusCode::UNIMPLEMENTED;
};

void PrintTo(const ServiceCase& service, std::ostream* out) { *out << service.name; }

const ServiceCase kServices[] = {
    {"calls",
     {"contactcentre.calls.v1.CallsAdminService", "contactcentre.calls.v1.CallsService",
      "contactcentre.calls.v1.CampaignsService"},
     "/contactcentre.calls.v1.CallsService/GetCall",
     // A call name is required.
     grpc::StatusCode::INVALID_ARGUMENT},
    {"customers",
     {"contactcentre.customers.v1.CustomersService"},
     "/contactcentre.customers.v1.CustomersService/LookupByPhone",
     // An empty phone number is refused.
     grpc::StatusCode::INVALID_ARGUMENT},
    {"surveys",
     {"contactcentre.surveys.v1.SurveyService", "contactcentre.surveys.v1.CampaignService",
      "contactcentre.surveys.v1.QualityService"},
     "/contactcentre.surveys.v1.SurveyService/GetSurvey",
     // A survey name is required.
     grpc::StatusCode::INVALID_ARGUMENT},
    {"knowledge",
     {"contactcentre.knowledge.v1.ArticlesService", "contactcentre.knowledge.v1.PrecedentsService",
      "contactcentre.knowledge.v1.DirectoryService", "contactcentre.knowledge.v1.FeedbackService"},
     "/contactcentre.knowledge.v1.ArticlesService/SearchArticles",
     // An empty query is refused.
     grpc::StatusCode::INVALID_ARGUMENT},
    {"analytics",
     {"contactcentre.analytics.v1.AnalyticsService"},
     "/contactcentre.analytics.v1.AnalyticsService/ForecastStaffing",
     // A workload is required.
     grpc::StatusCode::INVALID_ARGUMENT},
};

class ServiceProcess {
 public:
  ServiceProcess(const std::string& service, const std::string& dsn, int port,
                 std::map<std::string, std::string> extra = {})
      : port_(port) {
    const TestServers& servers = TestServers::Get();
    std::map<std::string, std::string> environment = {
        {"CC_LISTEN", absl::StrCat("127.0.0.1:", port)},
        {"CC_POSTGRES", dsn},
        {"CC_REDIS", absl::StrCat(servers.redis_host, ":", servers.redis_port)},
        {"CC_SITE", common::testing::UniqueTestSite()},
        {"CC_READINESS_INTERVAL", "100ms"},
        {"CC_SHUTDOWN_GRACE", "3s"},
    };
    for (auto& [key, value] : extra) environment[key] = value;
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            absl::StrCat(common::testing::BinaryDir(), "/services/", service, "/cc-", service)},
        environment);
    // Connect only once the server listens: a channel that failed to connect backs off for
    // seconds before trying again.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!common::testing::PortIsListening(port) && process_->running() &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    channel_ = common::MakeChannel(absl::StrCat("127.0.0.1:", port));
  }

  ChildProcess& process() { return *process_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

grpc::Status CallWithEmptyRequest(const std::shared_ptr<grpc::Channel>& channel,
                                  const std::string& method) {
  grpc::GenericStub stub(channel);
  auto context = common::ContextWithTimeout(absl::Seconds(5));
  // An empty message is valid proto3 for any request type (but a ByteBuffer needs a slice).
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10))) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the call never completed");
  }
  return result;
}

void SetConnectionsAllowed(const std::string& database, bool allowed) {
  pqxx::connection admin(TestServers::Get().Dsn("postgres"));
  pqxx::nontransaction txn(admin);
  txn.exec(absl::StrCat("ALTER DATABASE ", txn.quote_name(database), " ALLOW_CONNECTIONS ",
                        allowed ? "true" : "false"));
  if (!allowed) {
    txn.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    database);
  }
}

class ServiceE2eTest : public ::testing::TestWithParam<ServiceCase> {};

TEST_P(ServiceE2eTest, StartsServesReadinessAndShutsDownCleanly) {
  const ServiceCase& service = GetParam();
  TestDatabase db;
  ServiceProcess process(service.name, db.dsn(), common::testing::FreePort());

  ASSERT_TRUE(WaitForHealth(process.channel(), "SERVING", absl::Seconds(30)))
      << service.name << " never became ready";
  for (const std::string& name : service.grpc_services) {
    EXPECT_EQ(HealthStatus(process.channel(), name), "SERVING") << name;
  }
  EXPECT_EQ(HealthStatus(process.channel(), "liveness"), "SERVING");

  // The contract is served: its methods exist and, until implemented, say so.
  grpc::Status status = CallWithEmptyRequest(process.channel(), service.method);
  EXPECT_EQ(status.error_code(), service.empty_request_code) << status.error_message();
  // A method outside the contract is refused the same way by gRPC itself.
  EXPECT_EQ(CallWithEmptyRequest(process.channel(), "/no.Such/Method").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  // The migrations ran and were recorded.
  {
    pqxx::connection connection(db.dsn());
    pqxx::nontransaction txn(connection);
    EXPECT_EQ(txn.exec1("SELECT max(version) FROM schema_migrations WHERE component = 'common'")[0]
                  .as<size_t>(),
              common::SchemaMigrations().size());
    EXPECT_EQ(txn.exec1("SELECT count(*) FROM pg_tables WHERE tablename IN "
                        "('request_log', 'processed_events')")[0]
                  .as<int>(),
              2);
  }

  // Readiness follows the database: NOT_SERVING while it refuses connections, liveness stays.
  SetConnectionsAllowed(db.name(), false);
  EXPECT_TRUE(WaitForHealth(process.channel(), "NOT_SERVING", absl::Seconds(10)));
  EXPECT_EQ(HealthStatus(process.channel(), "liveness"), "SERVING");
  SetConnectionsAllowed(db.name(), true);
  EXPECT_TRUE(WaitForHealth(process.channel(), "SERVING", absl::Seconds(10)));

  // SIGTERM: a clean exit, and the port is free again.
  process.process().Signal(SIGTERM);
  std::optional<int> exit_status = process.process().WaitForExit(absl::Seconds(15));
  ASSERT_TRUE(exit_status.has_value()) << service.name << " did not exit after SIGTERM";
  EXPECT_EQ(*exit_status, 0);
  EXPECT_FALSE(common::testing::PortIsListening(process.port()));
}

TEST_P(ServiceE2eTest, WaitsNotServingUntilTheDatabaseAppears) {
  const ServiceCase& service = GetParam();
  // A database that does not exist yet: the service listens, reports NOT_SERVING, keeps trying
  // its migrations, and becomes ready once the database is there.
  const std::string name = absl::StrCat("late_", common::testing::UniqueTestSite());
  ServiceProcess process(service.name, TestServers::Get().Dsn(name), common::testing::FreePort());
  ASSERT_TRUE(WaitForHealth(process.channel(), "NOT_SERVING", absl::Seconds(15)));
  EXPECT_EQ(HealthStatus(process.channel(), "liveness"), "SERVING");
  {
    pqxx::connection admin(TestServers::Get().Dsn("postgres"));
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + txn.quote_name(name));
  }
  EXPECT_TRUE(WaitForHealth(process.channel(), "SERVING", absl::Seconds(15)));
  process.process().Signal(SIGINT);  // Ctrl-C in a terminal
  EXPECT_EQ(process.process().WaitForExit(absl::Seconds(15)), std::optional<int>(0));
  pqxx::connection admin(TestServers::Get().Dsn("postgres"));
  pqxx::nontransaction txn(admin);
  txn.exec("DROP DATABASE " + txn.quote_name(name) + " WITH (FORCE)");
}

INSTANTIATE_TEST_SUITE_P(AllServices, ServiceE2eTest, ::testing::ValuesIn(kServices),
                         [](const auto& info) { return info.param.name; });

TEST(ServiceConfigE2eTest, BadConfigurationStopsBeforeListening) {
  const int port = common::testing::FreePort();
  ServiceProcess process("calls", "host=127.0.0.1 dbname=x", port, {{"CC_PG_POOL_SIZE", "0"}});
  EXPECT_EQ(process.process().WaitForExit(absl::Seconds(10)), std::optional<int>(2));
  ServiceProcess bad_env("calls", "host=127.0.0.1 dbname=x", port, {{"CC_SHUTDOWN_GRACE", "soon"}});
  EXPECT_EQ(bad_env.process().WaitForExit(absl::Seconds(10)), std::optional<int>(2));
  EXPECT_FALSE(common::testing::PortIsListening(port));
}

TEST(ServiceConfigE2eTest, AnEditedMigrationStopsTheServiceWithExitCode1) {
  TestDatabase db;
  ASSERT_TRUE(common::ApplyMigrations(db.dsn(), "common", common::SchemaMigrations()).ok());
  {
    pqxx::connection connection(db.dsn());
    pqxx::nontransaction txn(connection);
    txn.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
  }
  ServiceProcess process("surveys", db.dsn(), common::testing::FreePort());
  EXPECT_EQ(process.process().WaitForExit(absl::Seconds(15)), std::optional<int>(1));
}

TEST(ServiceConfigE2eTest, ASecondServerOnTheSamePortFailsInsteadOfSharingIt) {
  TestDatabase db;
  const int port = common::testing::FreePort();
  ServiceProcess first("knowledge", db.dsn(), port);
  ASSERT_TRUE(WaitForHealth(first.channel(), "SERVING", absl::Seconds(30)));
  ServiceProcess second("knowledge", db.dsn(), port);
  EXPECT_EQ(second.process().WaitForExit(absl::Seconds(10)), std::optional<int>(1));
  EXPECT_TRUE(first.process().running());
}

}  // namespace
}  // namespace contactcentre
