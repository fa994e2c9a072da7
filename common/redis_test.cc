#include "common/redis.h"

#include <gtest/gtest.h>

namespace contactcentre::common {
namespace {

TEST(RedisErrorTest, ScriptsChooseTheCodeByPrefix) {
  absl::Status status = StatusFromRedisError("FAILED_PRECONDITION operator is offline");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "operator is offline");
  status = StatusFromRedisError("NOT_FOUND: no such call");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such call");
  EXPECT_EQ(StatusFromRedisError("ABORTED").code(), absl::StatusCode::kAborted);
}

TEST(RedisErrorTest, TransientErrorsAreUnavailable) {
  for (const char* error :
       {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
        "READONLY You can't write against a read only replica.",
        "MASTERDOWN Link with MASTER is down"}) {
    EXPECT_EQ(StatusFromRedisError(error).code(), absl::StatusCode::kUnavailable) << error;
  }
  EXPECT_EQ(StatusFromRedisError("OOM command not allowed").code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RedisErrorTest, OtherErrorsAreInternalAndKeepTheText) {
  absl::Status status = StatusFromRedisError("WRONGTYPE Operation against a key");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("WRONGTYPE"), std::string::npos);
  // A code name must be a whole word to count.
  EXPECT_EQ(StatusFromRedisError("NOT_FOUNDATION x").code(), absl::StatusCode::kInternal);
}

TEST(RedisAddressTest, Parses) {
  absl::StatusOr<RedisOptions> options = ParseRedisAddress("10.0.0.5:7000");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->host, "10.0.0.5");
  EXPECT_EQ(options->port, 7000);
  options = ParseRedisAddress("redis.internal");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->port, 6379);
  EXPECT_FALSE(ParseRedisAddress("host:notaport").ok());
  EXPECT_FALSE(ParseRedisAddress("host:70000").ok());
  EXPECT_FALSE(ParseRedisAddress(":6379").ok());
}

}  // namespace
}  // namespace contactcentre::common

namespace contactcentre::common {
namespace {

TEST(RedisErrorTest, PermanentErrorsThatShareAPrefixStayPermanent) {
  EXPECT_EQ(StatusFromRedisError("BUSYGROUP Consumer Group name already exists").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(StatusFromRedisError("BUSYKEY Target key name already exists.").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(StatusFromRedisError("UNAVAILABLE queue store is down").code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace contactcentre::common
