#include "common/migrations.h"

#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>

#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

using testing::TestDatabase;

// The second migration counts its own runs: applied twice, the count would be 2.
const std::vector<Migration> kMigrations = {
    {1, "init", "CREATE TABLE things (id int PRIMARY KEY); CREATE TABLE runs (n int);"},
    {2, "count_runs", "INSERT INTO runs VALUES (1); SELECT pg_sleep(0.2);"},
    {3, "more", "ALTER TABLE things ADD COLUMN name text;"},
};

int64_t Query(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::nontransaction txn(connection);
  return txn.exec1(sql)[0].as<int64_t>();
}

TEST(MigrationsTest, AppliesEachOnceAndRecordsThem) {
  TestDatabase db;
  absl::StatusOr<MigrationReport> first = ApplyMigrations(db.dsn(), "test", kMigrations);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->applied, 3);
  EXPECT_EQ(first->newest_version, 3);
  absl::StatusOr<MigrationReport> again = ApplyMigrations(db.dsn(), "test", kMigrations);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->already_applied, 3);
  EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM schema_migrations"), 3);
}

TEST(MigrationsTest, TwoConcurrentRunnersApplyEachMigrationOnce) {
  for (int round = 0; round < 3; ++round) {
    TestDatabase db;
    auto run = [&] { return ApplyMigrations(db.dsn(), "test", kMigrations); };
    std::future<absl::StatusOr<MigrationReport>> a = std::async(std::launch::async, run);
    std::future<absl::StatusOr<MigrationReport>> b = std::async(std::launch::async, run);
    absl::StatusOr<MigrationReport> report_a = a.get();
    absl::StatusOr<MigrationReport> report_b = b.get();
    ASSERT_TRUE(report_a.ok()) << report_a.status();
    ASSERT_TRUE(report_b.ok()) << report_b.status();
    // One runner applied all three, the other found them applied.
    EXPECT_EQ(report_a->applied + report_b->applied, 3);
    EXPECT_EQ(report_a->newest_version, 3);
    EXPECT_EQ(report_b->newest_version, 3);
    EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM runs"), 1);
  }
}

TEST(MigrationsTest, AFailingMigrationLeavesNothingOfItself) {
  TestDatabase db;
  std::vector<Migration> broken = kMigrations;
  broken.push_back({4, "broken", "CREATE TABLE half (id int); SELECT no_such_function();"});
  absl::StatusOr<MigrationReport> report = ApplyMigrations(db.dsn(), "test", broken);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("0004_broken"), std::string::npos) << report.status();
  EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM schema_migrations"), 3);
  EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);
}

TEST(MigrationsTest, AnEditedMigrationIsRefused) {
  TestDatabase db;
  ASSERT_TRUE(ApplyMigrations(db.dsn(), "test", kMigrations).ok());
  std::vector<Migration> edited = kMigrations;
  edited[0].sql = "CREATE TABLE things (id bigint PRIMARY KEY); CREATE TABLE runs (n int);";
  absl::StatusOr<MigrationReport> report = ApplyMigrations(db.dsn(), "test", edited);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
}

TEST(MigrationsTest, AnOlderBinaryAcceptsANewerSchema) {
  TestDatabase db;
  ASSERT_TRUE(ApplyMigrations(db.dsn(), "test", kMigrations).ok());
  std::vector<Migration> older(kMigrations.begin(), kMigrations.begin() + 2);
  absl::StatusOr<MigrationReport> report = ApplyMigrations(db.dsn(), "test", older);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->newest_version, 3);
}

TEST(MigrationsTest, ComponentsKeepTheirOwnVersions) {
  TestDatabase db;
  ASSERT_TRUE(ApplyMigrations(db.dsn(), "test", kMigrations).ok());
  const std::vector<Migration> other = {{1, "init", "CREATE TABLE other (id int);"}};
  absl::StatusOr<MigrationReport> report = ApplyMigrations(db.dsn(), "other", other);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->applied, 1);  // version 1 of "other" is not version 1 of "test"
  EXPECT_EQ(report->newest_version, 1);
  EXPECT_EQ(Query(db.dsn(), "SELECT count(*) FROM schema_migrations"), 4);
}

TEST(MigrationsTest, UnreachableDatabaseIsUnavailable) {
  absl::StatusOr<MigrationReport> report =
      ApplyMigrations("host=127.0.0.1 port=1 user=cc dbname=x", "test", kMigrations);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
}

}  // namespace
}  // namespace contactcentre::common
