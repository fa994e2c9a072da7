#include "common/testing/test_servers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/ids.h"

namespace contactcentre::common::testing {
namespace {

std::string RequiredEnvironment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr,
                 "%s is not set: run integration tests through ctest, whose `servers` fixture "
                 "starts the private PostgreSQL and Redis (see tests/README.md)\n",
                 name);
    std::abort();
  }
  return value;
}

}  // namespace

const TestServers& TestServers::Get() {
  static const TestServers* const servers = [] {
    const std::string path = RequiredEnvironment("CC_TEST_SERVERS_ENV");
    std::ifstream file(path);
    if (!file) {
      std::fprintf(stderr, "cannot read %s: did the servers fixture start?\n", path.c_str());
      std::abort();
    }
    std::map<std::string, std::string> values;
    for (std::string line; std::getline(file, line);) {
      const size_t equals = line.find('=');
      if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
    }
    auto* result = new TestServers();
    result->pg_host = values["CC_PG_HOST"];
    result->pg_user = values["CC_PG_USER"];
    result->pg_bindir = values["CC_PG_BINDIR"];
    result->redis_host = values["CC_REDIS_HOST"];
    if (!absl::SimpleAtoi(values["CC_PG_PORT"], &result->pg_port) ||
        !absl::SimpleAtoi(values["CC_REDIS_PORT"], &result->redis_port)) {
      std::fprintf(stderr, "%s lacks CC_PG_PORT or CC_REDIS_PORT\n", path.c_str());
      std::abort();
    }
    return result;
  }();
  return *servers;
}

std::string TestServers::Dsn(absl::string_view database) const {
  return absl::StrCat("host=", pg_host, " port=", pg_port, " user=", pg_user, " dbname=", database);
}

RedisOptions TestServers::Redis() const {
  RedisOptions options;
  options.host = redis_host;
  options.port = redis_port;
  return options;
}

TestDatabase::TestDatabase() {
  name_ = absl::StrCat("test_", absl::StrReplaceAll(NewId(), {{"-", ""}}));
  const TestServers& servers = TestServers::Get();
  dsn_ = servers.Dsn(name_);
  pqxx::connection admin(servers.Dsn("postgres"));
  pqxx::nontransaction txn(admin);
  txn.exec("CREATE DATABASE " + txn.quote_name(name_) + " TEMPLATE template0 ENCODING 'UTF8'");
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(TestServers::Get().Dsn("postgres"));
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    // The test's own result matters more than the cleanup; the run's servers are discarded.
    std::fprintf(stderr, "could not drop %s: %s\n", name_.c_str(), e.what());
  }
}

std::string UniqueTestSite() {
  std::string id = absl::StrReplaceAll(NewId(), {{"-", ""}});
  return absl::StrCat("t", id.substr(0, 12), id.substr(20));
}

void DeleteSiteKeys(absl::string_view site) {
  auto client = RedisClient::Create(TestServers::Get().Redis());
  if (!client.ok()) return;
  const std::string pattern = absl::StrCat("cc:{", site, "}:*");
  std::string cursor = "0";
  do {
    auto reply = (*client)->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply.ok() || reply->elements.size() != 2) return;
    cursor = reply->elements[0].str;
    for (const RedisReply& key : reply->elements[1].elements) {
      (void)(*client)->Command({"DEL", key.str});
    }
  } while (cursor != "0");
}

std::string SourceDir() { return RequiredEnvironment("CC_SOURCE_DIR"); }
std::string BinaryDir() { return RequiredEnvironment("CC_BINARY_DIR"); }

}  // namespace contactcentre::common::testing
