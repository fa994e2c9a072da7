#include <gtest/gtest.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "common/redis.h"
#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

using testing::TestServers;

class RedisIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisOptions options = TestServers::Get().Redis();
    options.pool_size = 4;
    client_ = std::move(*RedisClient::Create(options));
    key_ = absl::StrCat("cc:{", site_, "}:counter");
  }
  void TearDown() override { testing::DeleteSiteKeys(site_); }

  const std::string site_ = testing::UniqueTestSite();
  std::string key_;
  std::unique_ptr<RedisClient> client_;
};

// Increments KEYS[1] by ARGV[1] unless the result would pass ARGV[2].
const RedisScript kBoundedIncrement("bounded_increment", R"lua(
local next = (tonumber(redis.call('GET', KEYS[1])) or 0) + tonumber(ARGV[1])
if next > tonumber(ARGV[2]) then
  return redis.error_reply('FAILED_PRECONDITION counter would pass ' .. ARGV[2])
end
redis.call('SET', KEYS[1], next)
return next
)lua");

TEST_F(RedisIntegrationTest, CommandsAndReplyTypes) {
  ASSERT_TRUE(client_->Ping().ok());
  EXPECT_EQ(client_->Command({"SET", key_, "5"})->str, "OK");
  EXPECT_EQ(client_->Command({"GET", key_})->str, "5");
  EXPECT_EQ(client_->Command({"INCRBY", key_, "2"})->integer, 7);
  EXPECT_TRUE(client_->Command({"GET", key_ + ":missing"})->is_nil());
  absl::StatusOr<RedisReply> wrong = client_->Command({"LPUSH", key_, "x"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(wrong.status().message().find("WRONGTYPE"), std::string::npos);
  // Binary-safe values.
  const std::string binary("a\0b\r\nc", 6);
  ASSERT_TRUE(client_->Command({"SET", key_ + ":bin", binary}).ok());
  EXPECT_EQ(client_->Command({"GET", key_ + ":bin"})->str, binary);
}

TEST_F(RedisIntegrationTest, PipelineIsOneBatchWithPerCommandErrors) {
  auto replies =
      client_->Pipeline({{"SET", key_, "1"}, {"INCR", key_}, {"LPUSH", key_, "x"}, {"GET", key_}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[1]->integer, 2);
  EXPECT_FALSE((*replies)[2].ok());
  EXPECT_EQ((*replies)[3]->str, "2");
}

TEST_F(RedisIntegrationTest, ScriptsRunAndChooseTheirErrorCode) {
  absl::StatusOr<RedisReply> reply = client_->Eval(kBoundedIncrement, {key_}, {"3", "5"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->integer, 3);
  reply = client_->Eval(kBoundedIncrement, {key_}, {"3", "5"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reply.status().message(), "counter would pass 5");
  EXPECT_EQ(client_->Command({"GET", key_})->str, "3");  // unchanged by the refused step
}

TEST_F(RedisIntegrationTest, EvalShaSurvivesScriptFlush) {
  ASSERT_TRUE(client_->Eval(kBoundedIncrement, {key_}, {"1", "100"}).ok());
  // Every pooled connection must cope, not just the one that sees NOSCRIPT first.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
    std::vector<std::future<absl::StatusOr<RedisReply>>> calls;
    for (int i = 0; i < 8; ++i) {
      calls.push_back(std::async(std::launch::async, [&] {
        return client_->Eval(kBoundedIncrement, {key_}, {"1", "100"});
      }));
    }
    for (auto& call : calls) {
      absl::StatusOr<RedisReply> reply = call.get();
      EXPECT_TRUE(reply.ok()) << reply.status();
    }
  }
  EXPECT_EQ(client_->Command({"GET", key_})->str, "25");
}

TEST_F(RedisIntegrationTest, PoolReconnectsAfterItsConnectionsAreKilled) {
  ASSERT_TRUE(client_->Command({"CLIENT", "SETNAME", site_}).ok());
  ASSERT_TRUE(client_->Ping().ok());
  // Kill this test's connections (named or not, by address they are ours; kill by name).
  auto killed = client_->Command({"CLIENT", "KILL", "SKIPME", "no", "USER", "default"});
  (void)killed;  // our own connection may be among them, so the reply itself may be lost
  bool recovered = false;
  for (int attempt = 0; attempt < 5 && !recovered; ++attempt) {
    recovered = client_->Ping().ok();
  }
  EXPECT_TRUE(recovered);
  EXPECT_LE(client_->open_connections(), 4);
}

TEST_F(RedisIntegrationTest, UnreachableServerIsUnavailable) {
  RedisOptions options;
  options.port = 1;
  auto client = *RedisClient::Create(options);
  absl::Status status = client->Ping();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(client->open_connections(), 0);
}

}  // namespace
}  // namespace contactcentre::common
