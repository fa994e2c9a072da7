// Test support for integration tests against the private PostgreSQL and Redis that the CTest
// fixture `servers` starts once per run (deploy/local-servers.sh --fast). Each test isolates its
// data in its own database and its own site (Redis key prefix), so tests run in parallel.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "common/redis.h"

namespace contactcentre::common::testing {

struct TestServers {
  std::string pg_host;
  int pg_port = 0;
  std::string pg_user;
  std::string pg_bindir;
  std::string redis_host;
  int redis_port = 0;

  // Read from the file named by CC_TEST_SERVERS_ENV; aborts with a clear message when the
  // tests were not started through ctest (which runs the fixture).
  static const TestServers& Get();

  std::string Dsn(absl::string_view database) const;
  RedisOptions Redis() const;
};

// A new, empty database for one test, dropped when the object is destroyed.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& dsn() const { return dsn_; }

 private:
  std::string name_;
  std::string dsn_;
};

// A site name no other test uses, e.g. "t0193b7a25c1e"; its Redis keys are "cc:{<site>}:...".
std::string UniqueTestSite();

// Deletes every Redis key of `site`.
void DeleteSiteKeys(absl::string_view site);

// The checkout and build folders (CC_SOURCE_DIR, CC_BINARY_DIR set by CTest).
std::string SourceDir();
std::string BinaryDir();

}  // namespace contactcentre::common::testing
