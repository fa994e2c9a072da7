// End-to-end test of ccctl against the real cc-calls, cc-customers, cc-surveys and
// cc-knowledge binaries on the private PostgreSQL and Redis: ccctl runs as a process, the way an
// operator or a script runs it, and its output, errors and exit codes are checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/grpc_client.h"
#include "common/testing/child_process.h"
#include "common/testing/health.h"
#include "common/testing/test_servers.h"
#include "contactcentre/calls/v1/admin_service.pb.h"
#include "contactcentre/customers/v1/customers_service.pb.h"
#include "google/protobuf/util/json_util.h"

namespace contactcentre {
namespace {

using common::testing::ChildProcess;
using common::testing::TestDatabase;
using common::testing::TestServers;
using ::testing::HasSubstr;
using ::testing::Not;

const char* const kServices[] = {"calls", "customers", "surveys", "knowledge"};

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

template <typename T>
T ParseJson(const std::string& json) {
  T message;
  google::protobuf::util::JsonParseOptions options;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message, options);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return message;
}

class CcctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const TestServers& servers = TestServers::Get();
    site_ = new std::string(common::testing::UniqueTestSite());
    ports_ = new std::map<std::string, int>();
    for (const char* service : kServices) (*ports_)[service] = common::testing::FreePort();
    std::map<std::string, std::string> addresses;
    for (const auto& [service, port] : *ports_) {
      std::string upper = service;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      addresses[absl::StrCat("CC_", upper, "_ADDRESS")] = absl::StrCat("127.0.0.1:", port);
    }
    environment_ = new std::map<std::string, std::string>(addresses);
    (*environment_)["CC_REDIS"] = absl::StrCat(servers.redis_host, ":", servers.redis_port);
    (*environment_)["CC_SITE"] = *site_;
    for (const char* service : kServices) {
      auto database = std::make_unique<TestDatabase>();
      std::map<std::string, std::string> environment = *environment_;
      environment["CC_LISTEN"] = absl::StrCat("127.0.0.1:", (*ports_)[service]);
      environment["CC_POSTGRES"] = database->dsn();
      environment["CC_READINESS_INTERVAL"] = "100ms";
      environment["CC_SHUTDOWN_GRACE"] = "2s";
      databases().push_back(std::move(database));
      processes().push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{
              absl::StrCat(common::testing::BinaryDir(), "/services/", service, "/cc-", service)},
          environment));
    }
    for (const char* service : kServices) {
      const int port = (*ports_)[service];
      const absl::Time deadline = absl::Now() + absl::Seconds(20);
      while (!common::testing::PortIsListening(port) && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      ASSERT_TRUE(common::testing::WaitForHealth(
          common::MakeChannel(absl::StrCat("127.0.0.1:", port)), "SERVING", absl::Seconds(60)))
          << service << " never became SERVING";
    }
  }

  static void TearDownTestSuite() {
    for (auto& process : processes()) {
      process->Signal(SIGTERM);
      process->WaitForExit(absl::Seconds(10));
    }
    processes().clear();
    databases().clear();
    common::testing::DeleteSiteKeys(*site_);
  }

  static std::vector<std::unique_ptr<TestDatabase>>& databases() {
    static auto* list = new std::vector<std::unique_ptr<TestDatabase>>();
    return *list;
  }
  static std::vector<std::unique_ptr<ChildProcess>>& processes() {
    static auto* list = new std::vector<std::unique_ptr<ChildProcess>>();
    return *list;
  }

  static std::string Ccctl() { return absl::StrCat(common::testing::BinaryDir(), "/tools/ccctl"); }

  // Runs ccctl with `args` and the services' addresses in its environment.
  static Result Run(const std::vector<std::string>& args) {
    static int counter = 0;
    const std::string base =
        absl::StrCat(::testing::TempDir(), "/ccctl-", getpid(), "-", ++counter);
    std::string command = "env";
    for (const auto& [key, value] : *environment_) {
      absl::StrAppend(&command, " ", key, "=", ShellQuote(value));
    }
    absl::StrAppend(&command, " ", ShellQuote(Ccctl()));
    for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
    absl::StrAppend(&command, " >", base, ".out 2>", base, ".err </dev/null");
    const int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = ReadAll(base + ".out");
    result.err = ReadAll(base + ".err");
    return result;
  }

  static std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/", getpid(), "-", name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::string* site_;
  static std::map<std::string, int>* ports_;
  static std::map<std::string, std::string>* environment_;
};

std::string* CcctlTest::site_ = nullptr;
std::map<std::string, int>* CcctlTest::ports_ = nullptr;
std::map<std::string, std::string>* CcctlTest::environment_ = nullptr;

constexpr char kDispositions[] = R"(disposition_codes=[{"code":"resolved","label":"Resolved"}])";

TEST_F(CcctlTest, QueueCreateGetListPageDelete) {
  Result created = Run({"queues", "create", "display_name=Продажи", "strategy=LONGEST_IDLE",
                        "ring_timeout=25s", kDispositions, "-o", "json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto queue = ParseJson<calls::v1::Queue>(created.out);
  ASSERT_THAT(queue.name(), ::testing::StartsWith("queues/"));
  EXPECT_EQ(queue.display_name(), "Продажи");
  EXPECT_EQ(queue.strategy(), calls::v1::QUEUE_STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(queue.ring_timeout().seconds(), 25);
  const std::string id = queue.name().substr(std::string("queues/").size());

  // A second queue through kubectl's word order and --set.
  Result second = Run({"create", "queue", "--set", "display_name=Support", "--set",
                       "strategy=ROUND_ROBIN", kDispositions, "-o", "name"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out, ::testing::MatchesRegex("queues/[0-9a-f-]+\n"));

  Result got = Run({"queues", "get", id});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("DISPLAY_NAME"));
  EXPECT_THAT(got.out, HasSubstr(id));
  EXPECT_THAT(got.out, HasSubstr("Продажи"));
  EXPECT_THAT(got.out, HasSubstr("25s"));

  Result updated = Run(
      {"queues", "update", id, "ring_timeout=40s", "description=Звонки о покупке", "-o", "json"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  const auto changed = ParseJson<calls::v1::Queue>(updated.out);
  EXPECT_EQ(changed.ring_timeout().seconds(), 40);
  EXPECT_EQ(changed.description(), "Звонки о покупке");
  EXPECT_EQ(changed.display_name(), "Продажи");  // not in the mask: kept
  Result stale = Run({"queues", "update", id, "ring_timeout=50s", "etag=not-the-etag"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("ccctl: ABORTED: "));

  // One per page: ccctl follows next_page_token to the end, or stops at --limit.
  Result all = Run({"get", "queues", "--page_size", "1", "-o", "json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const auto listed =
      ParseJson<calls::v1::ListQueuesResponse>(absl::StrCat("{\"queues\":", all.out, "}"));
  EXPECT_EQ(listed.queues_size(), 2);
  Result limited = Run({"queues", "list", "--page_size", "1", "--limit", "1", "-o", "json"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  EXPECT_EQ(ParseJson<calls::v1::ListQueuesResponse>(absl::StrCat("{\"queues\":", limited.out, "}"))
                .queues_size(),
            1);

  Result deleted = Run({"queues", "delete", id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, absl::StrCat("queues/", id, " deleted\n"));
  Result after = Run({"queues", "list", "-o", "name"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, Not(HasSubstr(id)));
  EXPECT_EQ(after.out, second.out);
}

TEST_F(CcctlTest, OperatorLifecycleAndErrors) {
  Result created = Run({"operators", "create", "display_name=Анна Петрова", "login=anna",
                        "role=OPERATOR", "endpoint=sip:anna@pbx", "languages=ru;en", "-o", "json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto op = ParseJson<calls::v1::Operator>(created.out);
  EXPECT_EQ(op.login(), "anna");
  EXPECT_EQ(op.languages_size(), 2);

  Result listed = Run({"operators", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("Анна Петрова"));
  EXPECT_THAT(listed.out, HasSubstr("ru,en"));

  Result got = Run({"operator", "get", op.name(), "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(ParseJson<calls::v1::Operator>(got.out).name(), op.name());

  // Operators from CSV, skills as name:level.
  Result skill = Run({"skills", "create", "display_name=Тарифы", "-o", "name"});
  ASSERT_EQ(skill.exit_code, 0) << skill.err;
  const std::string skill_name(absl::StripSuffix(skill.out, "\n"));
  const std::string csv =
      WriteFile("operators.csv", absl::StrCat("display_name,login,role,endpoint,skills,languages\n",
                                              "Ольга,olga,OPERATOR,sip:olga@pbx,", skill_name,
                                              ":7,ru\n", "Без телефона,nophone,OPERATOR,,,\n"));
  Result imported = Run({"import", "operators", csv});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_THAT(imported.err, HasSubstr("line 3: INVALID_ARGUMENT: "));
  EXPECT_THAT(imported.out, HasSubstr("2 rows, 1 created"));
  Result olga = Run({"operators", "list", "query=olga", "-o", "json"});
  ASSERT_EQ(olga.exit_code, 0) << olga.err;
  const auto olgas =
      ParseJson<calls::v1::ListOperatorsResponse>(absl::StrCat("{\"operators\":", olga.out, "}"));
  ASSERT_EQ(olgas.operators_size(), 1);
  ASSERT_EQ(olgas.operators(0).skills_size(), 1);
  EXPECT_EQ(olgas.operators(0).skills(0).skill(), skill_name);
  EXPECT_EQ(olgas.operators(0).skills(0).level(), 7);

  Result deleted = Run({"delete", "operator", op.name()});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;

  // Service errors: the code and message, exit 1.
  Result missing = Run({"operators", "get", "01a2210e-0000-7000-8000-000000000000"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, ::testing::StartsWith("ccctl: NOT_FOUND: "));
  Result invalid = Run({"operators", "create", "display_name=No endpoint", "login=x"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.err, ::testing::StartsWith("ccctl: INVALID_ARGUMENT: "));
  // Usage errors: exit 2.
  EXPECT_EQ(Run({"operators", "create", "role=KING"}).exit_code, 1);
  EXPECT_EQ(Run({"frobnicate", "operators"}).exit_code, 2);
  EXPECT_EQ(Run({"calls", "create"}).exit_code, 1);  // calls are read-only
}

TEST_F(CcctlTest, MembershipsCreatedListedImportedAndDeleted) {
  Result queue = Run({"queues", "create", "display_name=Members", kDispositions, "-o", "name"});
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  const std::string queue_name(absl::StripSuffix(queue.out, "\n"));
  std::vector<std::string> operators;
  for (const char* login : {"m1", "m2"}) {
    Result op = Run({"operators", "create", absl::StrCat("display_name=Member ", login),
                     absl::StrCat("login=", login), "endpoint=sip:m@pbx", "-o", "name"});
    ASSERT_EQ(op.exit_code, 0) << op.err;
    operators.emplace_back(absl::StripSuffix(op.out, "\n"));
  }
  Result created = Run({"memberships", "create", absl::StrCat("parent=", queue_name),
                        absl::StrCat("operator=", operators[0]), "tier=2", "-o", "json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto membership = ParseJson<calls::v1::QueueMembership>(created.out);
  EXPECT_EQ(membership.tier(), 2);
  // The second through a CSV whose `queue` column is the create request's parent.
  const std::string csv =
      WriteFile("memberships.csv",
                absl::StrCat("queue,operator,penalty\n", queue_name, ",", operators[1], ",5\n",
                             queue_name, ",operators/01a2210e-0000-7000-8000-000000000000,1\n"));
  Result imported = Run({"import", "memberships", csv});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_THAT(imported.err, HasSubstr("line 3: NOT_FOUND: "));
  EXPECT_THAT(imported.out, HasSubstr("2 rows, 1 created"));

  // Without a parent: every queue's ("queues/-").
  Result listed = Run({"memberships", "list", "-o", "name"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(membership.name()));
  Result table = Run({"memberships", "list", absl::StrCat("parent=", queue_name)});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(operators[0]));
  EXPECT_THAT(table.out, HasSubstr(operators[1]));

  ASSERT_EQ(Run({"memberships", "delete", membership.name()}).exit_code, 0);
  Result after = Run({"memberships", "list", absl::StrCat("parent=", queue_name), "-o", "name"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, Not(HasSubstr(membership.name())));
  EXPECT_EQ(std::count(after.out.begin(), after.out.end(), '\n'), 1);
}

TEST_F(CcctlTest, ImportCustomersReportsTheBadRowAndTheGoodRowsAreFound) {
  const std::string csv = WriteFile("customers.csv",
                                    "display_name,phones,tags,attributes\n"
                                    "\"Иванов, Иван\",,vip,segment=retail\n"
                                    "Bad Phone,12,,\n"
                                    "\"Пётр \"\"Сидоров\"\"\nмл.\",,retail;new,\n");
  Result imported = Run({"import", "customers", csv});
  EXPECT_EQ(imported.exit_code, 1) << imported.err;  // a row failed
  EXPECT_THAT(imported.err, HasSubstr("line 3: INVALID_ARGUMENT: "));
  EXPECT_THAT(imported.err, HasSubstr("phones[0]"));
  EXPECT_THAT(imported.err, Not(HasSubstr("line 2:")));
  EXPECT_THAT(imported.err, Not(HasSubstr("line 4:")));
  EXPECT_THAT(imported.out, HasSubstr("3 rows, 2 created"));
  EXPECT_THAT(imported.out, HasSubstr("1 failed"));

  Result listed = Run({"customers", "list", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto customers = ParseJson<customers::v1::ListCustomersResponse>(
      absl::StrCat("{\"customers\":", listed.out, "}"));
  std::map<std::string, std::string> by_display_name;
  for (const auto& customer : customers.customers()) {
    by_display_name[customer.display_name()] = customer.name();
  }
  ASSERT_TRUE(by_display_name.count("Иванов, Иван"));
  ASSERT_TRUE(by_display_name.count("Пётр \"Сидоров\"\nмл."));
  EXPECT_FALSE(by_display_name.count("Bad Phone"));

  Result got = Run({"customers", "get", by_display_name["Пётр \"Сидоров\"\nмл."], "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const auto customer = ParseJson<customers::v1::Customer>(got.out);
  EXPECT_THAT(customer.tags(), ::testing::ElementsAre("retail", "new"));
  Result table = Run({"customers", "get", by_display_name["Иванов, Иван"]});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Иванов, Иван"));
  EXPECT_THAT(table.out, HasSubstr("vip"));

  // Queues by repeated creates: the same line-numbered errors.
  const std::string queues =
      WriteFile("queues.csv",
                "display_name,strategy,disposition_codes\n"
                "Imported,RANDOM,\"[{\"\"code\"\":\"\"ok\"\",\"\"label\"\":\"\"OK\"\"}]\"\n"
                "No codes,RANDOM,\n");
  Result queue_import = Run({"import", "queues", queues});
  EXPECT_EQ(queue_import.exit_code, 1);
  EXPECT_THAT(queue_import.err, HasSubstr("line 3: INVALID_ARGUMENT: "));
  EXPECT_THAT(queue_import.out, HasSubstr("2 rows, 1 created"));
}

// Rows with phone numbers and external ids, the keys an import matches cards by (numbers as
// people type them, normalised by the service).
TEST_F(CcctlTest, ImportCustomersWithPhonesAndExternalIds) {
  const std::string csv = WriteFile("keyed.csv",
                                    "display_name,phones,external_id\n"
                                    "Keyed One,8 (495) 123-45-67,imp-1\n"
                                    "Keyed Bad,12,imp-2\n"
                                    "Keyed Two,+7 916 000 00 00;8 812 555 12 34,imp-3\n");
  Result imported = Run({"import", "customers", csv});
  EXPECT_EQ(imported.exit_code, 1) << imported.err;
  EXPECT_THAT(imported.err, HasSubstr("line 3: INVALID_ARGUMENT: "));
  EXPECT_THAT(imported.out, HasSubstr("3 rows, 2 created"));
  Result listed = Run({"customers", "list", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto customers = ParseJson<customers::v1::ListCustomersResponse>(
      absl::StrCat("{\"customers\":", listed.out, "}"));
  std::map<std::string, std::string> by_external_id;
  for (const auto& customer : customers.customers()) {
    by_external_id[customer.external_id()] = customer.name();
  }
  ASSERT_TRUE(by_external_id.count("imp-3"));
  EXPECT_FALSE(by_external_id.count("imp-2"));
  Result got = Run({"customers", "get", by_external_id["imp-3"], "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const auto customer = ParseJson<customers::v1::Customer>(got.out);
  ASSERT_EQ(customer.phones_size(), 2);
  EXPECT_EQ(customer.phones(0).number().e164(), "+79160000000");
  EXPECT_EQ(customer.phones(1).number().e164(), "+78125551234");
}

TEST_F(CcctlTest, EventsTailFollowsTheStreamAndStopsOnCtrlC) {
  const std::string log = absl::StrCat(::testing::TempDir(), "/", getpid(), "-tail.log");
  std::map<std::string, std::string> environment = *environment_;
  // From the start of this suite's own stream (its site is unique): nothing depends on how
  // soon the process starts.
  ChildProcess tail({Ccctl(), "events", "tail", "-o", "json", "--from", "0"}, environment, log);
  absl::SleepFor(absl::Milliseconds(300));  // following before the create, usually

  Result created = Run({"customers", "create", "display_name=Событие", "-o", "name"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string name(absl::StripSuffix(created.out, "\n"));
  std::string seen;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline && seen.find(name) == std::string::npos) {
    absl::SleepFor(absl::Milliseconds(100));
    seen = ReadAll(log);
  }
  EXPECT_THAT(seen, HasSubstr("\"customerCreated\""));
  EXPECT_THAT(seen, HasSubstr(name));
  tail.Signal(SIGINT);
  EXPECT_EQ(tail.WaitForExit(absl::Seconds(5)), std::optional<int>(0));

  // Table lines from the beginning of the stream, bounded by --max_events.
  Result replay = Run({"events", "tail", "--from", "0", "--types", "customer_created",
                       "--max_events", "1", "--duration", "10s"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(std::count(replay.out.begin(), replay.out.end(), '\n'), 1);
  EXPECT_THAT(replay.out, HasSubstr("customer_created  services/customers  {"));
  Result none =
      Run({"events", "tail", "--from", "0", "--types", "call_offered", "--duration", "1s"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
}

TEST_F(CcctlTest, DirectoryImportThroughTheBulkStream) {
  const std::string csv =
      WriteFile("directory.csv",
                "display_name,category,city,phones,address\n"
                "Городская больница №1,HOSPITAL,Москва,8 (495) 111-22-33,\"ул. Ленина, 1\"\n"
                "Nowhere,NOT_A_CATEGORY,X,,\n"
                "Аптека,PHARMACY,Москва,+7 495 222 33 44;8 800 100 20 30,пр. Мира 5\n");
  Result imported = Run({"import", "directory", csv, "-o", "json"});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_THAT(imported.err, HasSubstr("line 3: category: \"NOT_A_CATEGORY\" is not one of"));
  EXPECT_THAT(imported.out, HasSubstr("\"created\": 2"));
  EXPECT_THAT(imported.out, HasSubstr("\"failed\": 1"));
  Result listed = Run({"directory", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("Городская больница №1"));
  EXPECT_THAT(listed.out, HasSubstr("+74952223344,+78001002030"));
}

TEST_F(CcctlTest, HealthAndAServiceThatIsDown) {
  // Analytics does not run in this test.
  Result health = Run({"health", "--timeout", "2s", "-o", "json"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_EQ(std::count(health.out.begin(), health.out.end(), '{'), 5);
  EXPECT_THAT(health.out, HasSubstr("\"service\":\"analytics\""));
  EXPECT_THAT(health.out, HasSubstr("UNREACHABLE"));
  const std::string serving = "\"status\":\"SERVING\"";
  size_t count = 0;
  for (size_t at = health.out.find(serving); at != std::string::npos;
       at = health.out.find(serving, at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 4u);

  Result down =
      Run({"queues", "list", "--calls_address",
           absl::StrCat("127.0.0.1:", common::testing::FreePort()), "--connect_timeout", "1s"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, ::testing::StartsWith("ccctl: UNAVAILABLE: no connection to the calls"));
}

TEST_F(CcctlTest, MigrateAppliesEverythingOnceThenNothing) {
  std::vector<std::unique_ptr<TestDatabase>> fresh;
  std::vector<std::string> args = {"migrate", "-o", "json"};
  for (const char* service : {"calls", "customers", "surveys", "knowledge", "analytics"}) {
    fresh.push_back(std::make_unique<TestDatabase>());
    args.push_back(absl::StrCat("--postgres_", service, "=", fresh.back()->dsn()));
  }
  Result first = Run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("\"component\": \"analytics\""));
  EXPECT_THAT(first.out, Not(HasSubstr("\"applied\": 0,")));
  Result second = Run(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out, Not(::testing::ContainsRegex("\"applied\": [1-9]")));
  EXPECT_EQ(std::count(second.out.begin(), second.out.end(), '{'), 10);  // 5 services x 2

  // The services' own databases, migrated at their start: nothing to do.
  std::vector<std::string> live = {"migrate", "--services", "calls,customers,surveys,knowledge"};
  for (size_t i = 0; i < databases().size(); ++i) {
    live.push_back(absl::StrCat("--postgres_", kServices[i], "=", databases()[i]->dsn()));
  }
  Result again = Run(live);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("APPLIED"));

  // An unreachable server is an error, not a hang.
  Result down = Run({"migrate", "--services", "calls", "--postgres", "host=127.0.0.1 port=1",
                     "--lock_timeout", "5s"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("ccctl: UNAVAILABLE"));
}

}  // namespace
}  // namespace contactcentre
