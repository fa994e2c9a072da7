#include "common/idempotency.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/migrations.h"
#include "common/pg_pool.h"
#include "common/schema.h"
#include "common/status.h"
#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ApplyMigrations(db_.dsn(), "common", SchemaMigrations()).ok());
    pool_ = std::move(*PgPool::Create({.dsn = db_.dsn(), .size = 4}));
    ASSERT_TRUE(pool_
                    ->Transact([](pqxx::work& txn) {
                      txn.exec("CREATE TABLE effects (n int);");
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // A request whose effect is one row in `effects`; returns the number it was answered with.
  // The request message is `body` (the same body stands for the same request).
  absl::StatusOr<int64_t> Create(const std::string& request_id, int64_t value,
                                 const std::string& body = "same body") {
    google::protobuf::StringValue request;
    request.set_value(body);
    return pool_->Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      CC_ASSIGN_OR_RETURN(auto earlier, FindRequestResponse(txn, "Create", request_id, request));
      if (earlier) {
        google::protobuf::Int64Value stored;
        stored.ParseFromString(*earlier);
        return stored.value();
      }
      absl::SleepFor(absl::Milliseconds(50));  // widen the race window
      txn.exec("INSERT INTO effects VALUES (1)");
      google::protobuf::Int64Value response;
      response.set_value(value);
      CC_RETURN_IF_ERROR(SaveRequestResponse(txn, "Create", request_id, request, response));
      return value;
    });
  }

  int64_t Effects() {
    return *pool_->Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec1("SELECT count(*) FROM effects")[0].as<int64_t>();
    });
  }

  testing::TestDatabase db_;
  std::unique_ptr<PgPool> pool_;
};

TEST_F(IdempotencyTest, ARepeatedRequestGetsTheFirstAnswerAndNoSecondEffect) {
  EXPECT_EQ(*Create("r-1", 10), 10);
  EXPECT_EQ(*Create("r-1", 99), 10);
  EXPECT_EQ(Effects(), 1);
  EXPECT_EQ(*Create("r-2", 20), 20);
  EXPECT_EQ(Effects(), 2);
}

TEST_F(IdempotencyTest, AReusedRequestIdWithAnotherRequestIsRefused) {
  EXPECT_EQ(*Create("r-1", 10, "first body"), 10);
  absl::StatusOr<int64_t> reused = Create("r-1", 10, "another body");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(reused.status().message().find("request_id"), std::string::npos);
  EXPECT_EQ(Effects(), 1);
}

TEST_F(IdempotencyTest, PruningForgetsOldAnswersOnly) {
  EXPECT_EQ(*Create("old", 1), 1);
  ASSERT_TRUE(pool_
                  ->Transact([](pqxx::work& txn) {
                    txn.exec("UPDATE request_log SET created_at = now() - interval '2 days'");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(*Create("new", 2), 2);
  ASSERT_TRUE(pool_
                  ->Transact([](pqxx::work& txn) {
                    return PruneBookkeeping(txn, absl::Hours(24), absl::Hours(24 * 7));
                  })
                  .ok());
  EXPECT_EQ(*Create("new", 3), 2);  // still remembered
  EXPECT_EQ(*Create("old", 4), 4);  // forgotten: runs again
  EXPECT_EQ(Effects(), 3);
}

TEST_F(IdempotencyTest, ConcurrentDuplicatesHaveOneEffect) {
  std::vector<std::future<absl::StatusOr<int64_t>>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [this, i] { return Create("same", i); }));
  }
  std::set<int64_t> answers;
  for (auto& call : calls) {
    absl::StatusOr<int64_t> answer = call.get();
    ASSERT_TRUE(answer.ok()) << answer.status();
    answers.insert(*answer);
  }
  EXPECT_EQ(answers.size(), 1u);  // every caller saw the same answer
  EXPECT_EQ(Effects(), 1);
}

TEST_F(IdempotencyTest, EmptyRequestIdOptsOut) {
  EXPECT_EQ(*Create("", 1), 1);
  EXPECT_EQ(*Create("", 2), 2);
  EXPECT_EQ(Effects(), 2);
}

TEST_F(IdempotencyTest, EventsApplyOnce) {
  auto apply = [&](const std::string& event_id) {
    return pool_->Transact([&](pqxx::work& txn) -> absl::StatusOr<bool> {
      CC_ASSIGN_OR_RETURN(bool first, MarkEventApplied(txn, event_id));
      if (first) txn.exec("INSERT INTO effects VALUES (1)");
      return first;
    });
  };
  EXPECT_TRUE(*apply("e-1"));
  EXPECT_FALSE(*apply("e-1"));
  EXPECT_TRUE(*apply("e-2"));
  EXPECT_EQ(Effects(), 2);
}

}  // namespace
}  // namespace contactcentre::common
