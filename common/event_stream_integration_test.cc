#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_stream.h"
#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

using testing::TestServers;

events::v1::Event Abandoned(int n) {
  events::v1::Event event;
  event.mutable_call_abandoned()->mutable_call()->set_call(absl::StrCat("calls/", n));
  return event;
}

class EventStreamIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::move(*RedisClient::Create(TestServers::Get().Redis()));
    publisher_ = std::make_unique<EventPublisher>(
        redis_.get(), EventPublisher::Options{.site = site_, .producer = "services/test"});
  }
  void TearDown() override { testing::DeleteSiteKeys(site_); }

  EventConsumerOptions Options(const std::string& consumer) {
    return {.site = site_,
            .group = "testers",
            .consumer = consumer,
            .batch_size = 10,
            .block = absl::Milliseconds(50),
            .claim_min_idle = absl::Milliseconds(200),
            .claim_interval = absl::ZeroDuration(),
            .max_deliveries = 3};
  }

  int64_t Pending() {
    auto reply = redis_->Command({"XPENDING", EventStreamKey(site_), "testers"});
    return reply.ok() ? reply->elements[0].integer : -1;
  }

  const std::string site_ = testing::UniqueTestSite();
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<EventPublisher> publisher_;
};

TEST_F(EventStreamIntegrationTest, PublishedEventsReachTheGroupOnceAndAreAcknowledged) {
  std::vector<std::string> seen;
  EventConsumer consumer(redis_.get(), Options("a"), [&](const events::v1::Event& event) {
    seen.push_back(event.call_abandoned().call().call());
    return absl::OkStatus();
  });
  ASSERT_TRUE(consumer.EnsureGroup().ok());
  ASSERT_TRUE(consumer.EnsureGroup().ok());  // idempotent
  std::vector<events::v1::Event> batch = {Abandoned(1), Abandoned(2), Abandoned(3)};
  ASSERT_TRUE(publisher_->PublishBatch(batch).ok());
  events::v1::Event single = Abandoned(4);
  ASSERT_TRUE(publisher_->Publish(single).ok());
  int applied = 0;
  for (int i = 0; i < 5 && applied < 4; ++i) applied += *consumer.PollOnce();
  EXPECT_EQ(applied, 4);
  EXPECT_EQ(seen, (std::vector<std::string>{"calls/1", "calls/2", "calls/3", "calls/4"}));
  EXPECT_EQ(Pending(), 0);
  EXPECT_EQ(*consumer.PollOnce(), 0);  // nothing is delivered twice
}

TEST_F(EventStreamIntegrationTest, AnotherConsumerReclaimsWhatADeadConsumerLeftPending) {
  EventConsumer survivor(redis_.get(), Options("survivor"),
                         [](const events::v1::Event&) { return absl::OkStatus(); });
  ASSERT_TRUE(survivor.EnsureGroup().ok());
  events::v1::Event event = Abandoned(7);
  ASSERT_TRUE(publisher_->Publish(event).ok());

  // A consumer reads the entry and dies before acknowledging it: the child process is killed.
  const std::string read_command = absl::StrCat(
      "redis-cli -h ", TestServers::Get().redis_host, " -p ", TestServers::Get().redis_port,
      " XREADGROUP GROUP testers doomed COUNT 10 STREAMS '", EventStreamKey(site_),
      "' '>' >/dev/null && kill -9 $$");
  ASSERT_NE(std::system(("sh -c \"" + read_command + "\"").c_str()), 0);
  ASSERT_EQ(Pending(), 1);

  std::vector<std::string> seen;
  EventConsumer reclaimer(redis_.get(), Options("reclaimer"), [&](const events::v1::Event& e) {
    seen.push_back(e.id());
    return absl::OkStatus();
  });
  EXPECT_EQ(*reclaimer.PollOnce(true), 0);  // not idle long enough yet: not taken over
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_EQ(*reclaimer.PollOnce(true), 1);
  EXPECT_EQ(seen, std::vector<std::string>{event.id()});
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventStreamIntegrationTest, FailedEventsAreRetriedThenDeadLettered) {
  int attempts_on_bad = 0;
  std::set<std::string> applied;
  EventConsumer consumer(redis_.get(), Options("c"), [&](const events::v1::Event& event) {
    if (event.call_abandoned().call().call() == "calls/bad") {
      ++attempts_on_bad;
      return absl::InternalError("cannot apply");
    }
    applied.insert(event.call_abandoned().call().call());
    return absl::OkStatus();
  });
  ASSERT_TRUE(consumer.EnsureGroup().ok());
  events::v1::Event bad;
  bad.mutable_call_abandoned()->mutable_call()->set_call("calls/bad");
  std::vector<events::v1::Event> batch = {Abandoned(1), bad, Abandoned(2)};
  ASSERT_TRUE(publisher_->PublishBatch(batch).ok());
  ASSERT_TRUE(consumer.PollOnce().ok());
  EXPECT_EQ(applied,
            (std::set<std::string>{"calls/1", "calls/2"}));  // one bad event blocks nothing
  for (int i = 0; i < 6; ++i) {
    absl::SleepFor(absl::Milliseconds(220));
    ASSERT_TRUE(consumer.PollOnce(true).ok());
  }
  EXPECT_EQ(attempts_on_bad, 3);  // max_deliveries
  EXPECT_EQ(Pending(), 0);
  auto dead = redis_->Command({"XLEN", DeadLetterStreamKey(site_)});
  EXPECT_EQ(dead->integer, 1);
}

TEST_F(EventStreamIntegrationTest, GarbageEntriesGoStraightToTheDeadLetterStream) {
  EventConsumer consumer(redis_.get(), Options("c"),
                         [](const events::v1::Event&) { return absl::OkStatus(); });
  ASSERT_TRUE(consumer.EnsureGroup().ok());
  ASSERT_TRUE(
      redis_->Command({"XADD", EventStreamKey(site_), "*", "type", "x", "event", "\xff\xff"}).ok());
  EXPECT_EQ(*consumer.PollOnce(), 0);
  EXPECT_EQ(Pending(), 0);
  EXPECT_EQ(redis_->Command({"XLEN", DeadLetterStreamKey(site_)})->integer, 1);
}

TEST_F(EventStreamIntegrationTest, TwoConsumersShareTheWorkWithoutOverlap) {
  absl::Mutex mutex;
  std::multiset<std::string> seen;
  auto handler = [&](const events::v1::Event& event) {
    absl::MutexLock lock(&mutex);
    seen.insert(event.id());
    return absl::OkStatus();
  };
  EventConsumer a(redis_.get(), Options("a"), handler);
  EventConsumer b(redis_.get(), Options("b"), handler);
  ASSERT_TRUE(a.EnsureGroup().ok());
  a.Start();
  b.Start();
  std::vector<events::v1::Event> batch;
  for (int i = 0; i < 500; ++i) batch.push_back(Abandoned(i));
  ASSERT_TRUE(publisher_->PublishBatch(batch).ok());
  for (int i = 0; i < 100; ++i) {
    {
      absl::MutexLock lock(&mutex);
      if (seen.size() >= 500) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  a.Stop();
  b.Stop();
  absl::MutexLock lock(&mutex);
  EXPECT_EQ(seen.size(), 500u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 500u);
  EXPECT_EQ(Pending(), 0);
}

}  // namespace
}  // namespace contactcentre::common

namespace contactcentre::common {
namespace {

TEST(EventStreamForgetTest, IdleConsumersWithNothingPendingAreForgotten) {
  auto redis = *RedisClient::Create(testing::TestServers::Get().Redis());
  const std::string site = testing::UniqueTestSite();
  EventConsumerOptions options{.site = site,
                               .group = "g",
                               .consumer = "current",
                               .block = absl::Milliseconds(10),
                               .claim_interval = absl::ZeroDuration(),
                               .forget_idle_consumers_after = absl::Milliseconds(100)};
  EventConsumer consumer(redis.get(), options,
                         [](const events::v1::Event&) { return absl::OkStatus(); });
  ASSERT_TRUE(consumer.EnsureGroup().ok());
  ASSERT_TRUE(redis->Command({"XGROUP", "CREATECONSUMER", EventStreamKey(site), "g", "gone"}).ok());
  absl::SleepFor(absl::Milliseconds(150));
  ASSERT_TRUE(consumer.PollOnce(true).ok());
  auto consumers = redis->Command({"XINFO", "CONSUMERS", EventStreamKey(site), "g"});
  ASSERT_TRUE(consumers.ok());
  for (const RedisReply& entry : consumers->elements) {
    EXPECT_NE(entry.elements[1].str, "gone");
  }
  testing::DeleteSiteKeys(site);
}

}  // namespace
}  // namespace contactcentre::common
