#include "common/outbox.h"

#include <gtest/gtest.h>

#include <future>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/testing/test_servers.h"

namespace contactcentre::common {
namespace {

using testing::TestServers;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ApplyMigrations(db_.dsn(), "common", SchemaMigrations()).ok());
    pool_ = std::move(*PgPool::Create({.dsn = db_.dsn(), .size = 4}));
    redis_ = std::move(*RedisClient::Create(TestServers::Get().Redis()));
    publisher_ = std::make_unique<EventPublisher>(
        redis_.get(), EventPublisher::Options{.site = site_, .producer = "services/test"});
  }
  void TearDown() override { testing::DeleteSiteKeys(site_); }

  absl::Status Enqueue(int count, bool commit) {
    return pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      std::vector<events::v1::Event> events(count);
      for (int i = 0; i < count; ++i) {
        events[i].mutable_customer_created()->set_customer(absl::StrCat("customers/", i));
      }
      absl::Status status = EnqueueEvents(txn, *publisher_, events);
      if (!status.ok()) return status;
      return commit ? absl::OkStatus() : absl::AbortedError("roll back");
    });
  }

  int64_t StreamLength() { return redis_->Command({"XLEN", EventStreamKey(site_)})->integer; }
  int64_t OutboxRows() {
    return *pool_->Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec1("SELECT count(*) FROM outbox")[0].as<int64_t>();
    });
  }

  testing::TestDatabase db_;
  const std::string site_ = testing::UniqueTestSite();
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<EventPublisher> publisher_;
};

TEST_F(OutboxTest, CommittedEventsReachTheStreamInOrderOnce) {
  ASSERT_TRUE(Enqueue(3, true).ok());
  EXPECT_EQ(StreamLength(), 0);  // nothing is published before the relay runs
  OutboxRelay relay(pool_.get(), publisher_.get(), {.batch_size = 2});
  EXPECT_EQ(*relay.RelayOnce(), 2);
  EXPECT_EQ(*relay.RelayOnce(), 1);
  EXPECT_EQ(*relay.RelayOnce(), 0);
  EXPECT_EQ(OutboxRows(), 0);
  auto entries = redis_->Command({"XRANGE", EventStreamKey(site_), "-", "+"});
  ASSERT_EQ(entries->elements.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const RedisReply& fields = entries->elements[i].elements[1];
    EXPECT_EQ(fields.elements[1].str, "customer_created");
    events::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(fields.elements[3].str));
    EXPECT_EQ(event.customer_created().customer(), absl::StrCat("customers/", i));
    EXPECT_EQ(event.site(), site_);
    EXPECT_FALSE(event.id().empty());
  }
}

TEST_F(OutboxTest, RolledBackEventsAreNeverPublished) {
  EXPECT_EQ(Enqueue(2, false).code(), absl::StatusCode::kAborted);
  OutboxRelay relay(pool_.get(), publisher_.get(), {});
  EXPECT_EQ(*relay.RelayOnce(), 0);
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(OutboxTest, RowsStayWhileRedisIsDown) {
  ASSERT_TRUE(Enqueue(2, true).ok());
  RedisOptions unreachable;
  unreachable.port = 1;
  auto down = *RedisClient::Create(unreachable);
  EventPublisher broken(down.get(), {.site = site_, .producer = "services/test"});
  OutboxRelay relay(pool_.get(), &broken, {});
  EXPECT_EQ(relay.RelayOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(OutboxRows(), 2);
  OutboxRelay working(pool_.get(), publisher_.get(), {});
  EXPECT_EQ(*working.RelayOnce(), 2);
  EXPECT_EQ(StreamLength(), 2);
}

TEST_F(OutboxTest, ConcurrentRelaysPublishEachEventOnce) {
  ASSERT_TRUE(Enqueue(1000, true).ok());
  OutboxRelay a(pool_.get(), publisher_.get(), {.batch_size = 50});
  OutboxRelay b(pool_.get(), publisher_.get(), {.batch_size = 50});
  auto drain = [](OutboxRelay* relay) {
    int total = 0;
    for (int i = 0; i < 100; ++i) total += *relay->RelayOnce();
    return total;
  };
  auto first = std::async(std::launch::async, drain, &a);
  auto second = std::async(std::launch::async, drain, &b);
  EXPECT_EQ(first.get() + second.get(), 1000);
  EXPECT_EQ(StreamLength(), 1000);
  auto entries = redis_->Command({"XRANGE", EventStreamKey(site_), "-", "+"});
  std::set<std::string> ids;
  for (const RedisReply& entry : entries->elements) {
    events::v1::Event event;
    event.ParseFromString(entry.elements[1].elements[3].str);
    ids.insert(event.id());
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST_F(OutboxTest, BackgroundRelayPublishesSoonAfterNotify) {
  OutboxRelay relay(pool_.get(), publisher_.get(), {.poll_interval = absl::Seconds(30)});
  relay.Start();
  ASSERT_TRUE(Enqueue(1, true).ok());
  relay.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (StreamLength() < 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  relay.Stop();
  EXPECT_EQ(StreamLength(), 1);
}

}  // namespace
}  // namespace contactcentre::common
