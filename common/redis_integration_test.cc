#include <gtest/gtest.h>

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// Kills every connection named `name` (only this test's, not other tests' on the shared Redis).
void KillConnectionsNamed(const std::string& name) {
  auto admin = *RedisClient::Create(TestServers::Get().Redis());
  auto list = admin->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(list.ok());
  for (absl::string_view line : absl::StrSplit(list->str, '\n')) {
    if (!absl::StrContains(line, absl::StrCat(" name=", name, " "))) continue;
    const size_t start = line.find("id=") + 3;
    const std::string id(line.substr(start, line.find(' ', start) - start));
    ASSERT_TRUE(admin->Command({"CLIENT", "KILL", "ID", id}).ok());
  }
}

TEST_F(RedisIntegrationTest, PoolDropsEveryStaleConnectionAfterAFailure) {
  RedisOptions options = TestServers::Get().Redis();
  options.pool_size = 4;
  options.client_name = site_;
  auto client = *RedisClient::Create(options);
  // Four idle connections, as after a busy moment.
  std::vector<std::future<bool>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      return client->Command({"BLPOP", key_ + ":nothing", "0.2"}).ok();
    }));
  }
  for (auto& call : calls) ASSERT_TRUE(call.get());
  ASSERT_EQ(client->open_connections(), 4);

  KillConnectionsNamed(site_);  // as a Redis restart would
  // At most the first command meets a dead connection; it takes the other idle ones with it.
  int failures = 0;
  for (int i = 0; i < 4; ++i) failures += !client->Command({"INCR", key_}).ok();
  EXPECT_LE(failures, 1);
  EXPECT_EQ(client->open_connections(), 1);
}

TEST_F(RedisIntegrationTest, PingSurvivesKilledConnections) {
  RedisOptions options = TestServers::Get().Redis();
  options.client_name = site_;
  auto client = *RedisClient::Create(options);
  ASSERT_TRUE(client->Ping().ok());
  KillConnectionsNamed(site_);
  EXPECT_TRUE(client->Ping().ok());  // the readiness probe does not flap
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
