// Integration tests of the PostgreSQL pool against the real private server, including a
// server restart on a private server of the test's own.
#include "common/pg_pool.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

using testing::TestDatabase;
using testing::TestServers;

std::unique_ptr<PgPool> MakePool(const std::string& dsn, int size,
                                 absl::Duration acquire_timeout = absl::Seconds(5)) {
  auto pool = PgPool::Create({.dsn = dsn,
                              .size = size,
                              .acquire_timeout = acquire_timeout,
                              .application_name = "pool_test"});
  EXPECT_TRUE(pool.ok()) << pool.status();
  return std::move(*pool);
}

TEST(PgPoolTest, RejectsBadOptions) {
  EXPECT_EQ(PgPool::Create({.dsn = ""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgPool::Create({.dsn = "host=x", .size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PgPoolTest, TransactCommitsOnOkAndRollsBackOnError) {
  TestDatabase db;
  auto pool = MakePool(db.dsn(), 2);
  ASSERT_TRUE(pool->Transact([](pqxx::work& txn) {
                    txn.exec("CREATE TABLE t (id int PRIMARY KEY, name text)");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(pool->Transact([](pqxx::work& txn) {
                    txn.exec_params("INSERT INTO t VALUES ($1, $2)", 1, "one");
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Status failed = pool->Transact([](pqxx::work& txn) {
    txn.exec_params("INSERT INTO t VALUES ($1, $2)", 2, "two");
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<int64_t> count = pool->Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec1("SELECT count(*) FROM t")[0].as<int64_t>();
  });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);  // the second insert was rolled back
}

TEST(PgPoolTest, MapsDatabaseErrorsToCodes) {
  TestDatabase db;
  auto pool = MakePool(db.dsn(), 2);
  ASSERT_TRUE(pool->Transact([](pqxx::work& txn) {
                    txn.exec("CREATE TABLE t (id int PRIMARY KEY CHECK (id > 0))");
                    txn.exec("INSERT INTO t VALUES (1)");
                    return absl::OkStatus();
                  })
                  .ok());
  auto run = [&](const std::string& sql) {
    return pool->Transact([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    });
  };
  EXPECT_EQ(run("INSERT INTO t VALUES (1)").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(run("INSERT INTO t VALUES (-1)").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(run("SELEC 1").code(), absl::StatusCode::kInternal);
  EXPECT_EQ(run("SET LOCAL statement_timeout = 50; SELECT pg_sleep(2)").code(),
            absl::StatusCode::kDeadlineExceeded);
  // The pool is still usable after every failure.
  EXPECT_TRUE(pool->Ping().ok());
}

TEST(PgPoolTest, NeverOpensMoreThanItsSizeAndTimesOutWaiting) {
  TestDatabase db;
  auto pool = MakePool(db.dsn(), 2, absl::Milliseconds(300));
  absl::StatusOr<PgPool::Lease> first = pool->Acquire();
  absl::StatusOr<PgPool::Lease> second = pool->Acquire();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(pool->open_connections(), 2);
  const absl::Time started = absl::Now();
  absl::StatusOr<PgPool::Lease> third = pool->Acquire();
  EXPECT_EQ(third.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(absl::Now() - started, absl::Milliseconds(250));

  // A waiter gets the connection as soon as one is returned.
  std::future<bool> waiter = std::async(std::launch::async, [&] { return pool->Acquire().ok(); });
  absl::SleepFor(absl::Milliseconds(50));
  { PgPool::Lease returned = std::move(*first); }
  EXPECT_TRUE(waiter.get());
  EXPECT_EQ(pool->open_connections(), 2);
}

TEST(PgPoolTest, ManyThreadsShareABoundedPool) {
  TestDatabase db;
  auto pool = MakePool(db.dsn(), 3);
  ASSERT_TRUE(pool->Transact([](pqxx::work& txn) {
                    txn.exec("CREATE TABLE hits (n int)");
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<std::future<absl::Status>> workers;
  for (int i = 0; i < 12; ++i) {
    workers.push_back(std::async(std::launch::async, [&] {
      for (int j = 0; j < 20; ++j) {
        absl::Status status = pool->Transact([](pqxx::work& txn) {
          txn.exec("INSERT INTO hits VALUES (1)");
          return absl::OkStatus();
        });
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }));
  }
  for (auto& worker : workers) EXPECT_TRUE(worker.get().ok());
  EXPECT_LE(pool->open_connections(), 3);
  auto count = pool->Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec1("SELECT count(*) FROM hits")[0].as<int64_t>();
  });
  EXPECT_EQ(*count, 240);
  auto backends = pool->Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pool_test' "
            "AND datname = current_database()")[0]
        .as<int64_t>();
  });
  EXPECT_LE(*backends, 3);
}

// A PostgreSQL of this test's own, so that restarting it disturbs no other test.
class PrivatePostgres {
 public:
  PrivatePostgres() {
    dir_ = absl::StrCat(testing::BinaryDir(), "/test-servers-", testing::UniqueTestSite());
    Script("start --only postgres --fast");
    std::ifstream env(dir_ + "/env");
    for (std::string line; std::getline(env, line);) {
      if (line.rfind("CC_PG_PORT=", 0) == 0) port_ = std::stoi(line.substr(11));
      if (line.rfind("CC_PG_DATA=", 0) == 0) data_ = line.substr(11);
      if (line.rfind("CC_PG_BINDIR=", 0) == 0) bindir_ = line.substr(13);
    }
  }
  ~PrivatePostgres() {
    Script("stop --only postgres --purge");
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string Dsn() const {
    return absl::StrCat("host=127.0.0.1 port=", port_, " user=cc dbname=postgres");
  }
  void Stop() { Script("stop --only postgres"); }
  void Start() { Script("start --only postgres --fast"); }

 private:
  void Script(const std::string& arguments) {
    const std::string command = absl::StrCat(testing::SourceDir(), "/deploy/local-servers.sh ",
                                             arguments, " --dir '", dir_, "' >/dev/null 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  std::string dir_;
  std::string data_;
  std::string bindir_;
  int port_ = 0;
};

TEST(PgPoolTest, SurvivesAServerRestart) {
  PrivatePostgres postgres;
  auto pool = MakePool(postgres.Dsn(), 3, absl::Milliseconds(500));
  auto backend_pid = [&]() -> absl::StatusOr<int> {
    return pool->Transact([](pqxx::work& txn) -> absl::StatusOr<int> {
      return txn.exec1("SELECT pg_backend_pid()")[0].as<int>();
    });
  };
  // Fill the pool with three idle connections, all of which the restart will break.
  {
    std::vector<PgPool::Lease> leases;
    for (int i = 0; i < 3; ++i) leases.push_back(*pool->Acquire());
  }
  ASSERT_TRUE(backend_pid().ok());
  EXPECT_EQ(pool->open_connections(), 3);

  postgres.Stop();
  // Another pool sees the outage; this one is left alone, so all three of its idle
  // connections are stale when the server is back.
  auto observer = MakePool(postgres.Dsn(), 1);
  absl::Status while_down = observer->Ping();
  EXPECT_EQ(while_down.code(), absl::StatusCode::kUnavailable) << while_down;
  postgres.Start();

  // The first call after the restart succeeds: it meets one stale connection, retries once on
  // a fresh one, and the other stale idle connections are dropped rather than handed out.
  absl::StatusOr<int> after = backend_pid();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(pool->open_connections(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(pool->Ping().ok());
}

TEST(PgPoolTest, UnreachableServerIsUnavailableQuickly) {
  auto pool = MakePool("host=127.0.0.1 port=1 user=cc dbname=none", 2);
  const absl::Time started = absl::Now();
  absl::Status status = pool->Ping();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_LT(absl::Now() - started, absl::Seconds(4));
  EXPECT_EQ(pool->open_connections(), 0);
}

}  // namespace
}  // namespace contactcentre::common

namespace contactcentre::common {
namespace {

TEST(PgConnectionStringTest, ParametersWinInBothForms) {
  EXPECT_EQ(WithConnectionParameters("host=db dbname=x", {{"application_name", "it's"}}),
            "host=db dbname=x application_name='it\\'s'");
  EXPECT_EQ(WithConnectionParameters("postgresql://cc@db/cc_calls",
                                     {{"connect_timeout", "3"}, {"application_name", "a b"}}),
            "postgresql://cc@db/cc_calls?connect_timeout=3&application_name=a%20b");
  EXPECT_EQ(WithConnectionParameters("postgres://db/x?sslmode=disable", {{"k", "v"}}),
            "postgres://db/x?sslmode=disable&k=v");
}

TEST(PgPoolTest, AcceptsAUriDsn) {
  testing::TestDatabase db;
  const testing::TestServers& servers = testing::TestServers::Get();
  const std::string uri = absl::StrCat("postgresql://", servers.pg_user, "@", servers.pg_host, ":",
                                       servers.pg_port, "/", db.name());
  auto pool = *PgPool::Create({.dsn = uri, .size = 1, .application_name = "uri test"});
  auto name = pool->Transact([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    return txn
        .exec1(
            "SELECT current_database() || '|' || current_setting('application_name') || "
            "'|' || current_setting('statement_timeout')")[0]
        .as<std::string>();
  });
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, absl::StrCat(db.name(), "|uri test|30s"));
}

}  // namespace
}  // namespace contactcentre::common
