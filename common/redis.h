// A Redis client on hiredis 0.14: a bounded connection pool with reconnects, pipelining, and
// Lua scripts run by EVALSHA with a reload on NOSCRIPT (the script cache is empty after a Redis
// restart or failover, and that must never fail a call).
//
//   CC_ASSIGN_OR_RETURN(auto redis, common::RedisClient::Create({.host = "127.0.0.1", .port =
//   6379})); static const common::RedisScript kClaim("claim", R"lua( ... )lua");
//   CC_ASSIGN_OR_RETURN(common::RedisReply reply, redis->Eval(kClaim, {key}, {arg}));
//
// Error replies become statuses. A script can choose the code by starting its error with a
// gRPC code name: redis.error_reply("FAILED_PRECONDITION operator is offline") arrives as
// FAILED_PRECONDITION "operator is offline". Connection loss, timeouts, LOADING, BUSY, READONLY
// and MASTERDOWN are UNAVAILABLE; OOM is RESOURCE_EXHAUSTED; any other error is INTERNAL.
//
// A connection that fails at the I/O level is dropped together with every idle connection of
// the pool (after a Redis restart all of them are dead); READONLY and MASTERDOWN drop the
// connection too, so that after a failover the next connection reaches the new master.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct redisContext;

namespace contactcentre::common {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Most connections open at once.
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(2);
  // Limit for one command or pipeline; a timed-out connection is dropped (its reply may still
  // arrive and would be mistaken for the next command's).
  absl::Duration command_timeout = absl::Seconds(2);
  // How long a caller waits for a free connection.
  absl::Duration acquire_timeout = absl::Seconds(2);
  // CLIENT SETNAME of every connection (shown by CLIENT LIST), e.g. "cc-calls"; empty: none.
  std::string client_name;
};

// Parses "host:port" (port defaults to 6379) into options.
absl::StatusOr<RedisOptions> ParseRedisAddress(absl::string_view address);

// A reply, copied out of hiredis. Error replies are statuses, never RedisReply values.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString and kStatus
  int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
};

// Maps a Redis error reply text to a status (see the header comment).
absl::Status StatusFromRedisError(absl::string_view error);

// One connection; not thread-safe. Most code uses RedisClient; blocking reads (XREADGROUP
// BLOCK) take a dedicated connection with a longer timeout.
class RedisConnection {
 public:
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  absl::StatusOr<RedisReply> Command(absl::Span<const absl::string_view> args);
  // Sends every command, then reads every reply: one round trip. The outer status fails only
  // when the connection does; each command's own error is in its entry.
  absl::StatusOr<std::vector<absl::StatusOr<RedisReply>>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // True once an I/O error or timeout has made the connection unusable.
  bool broken() const { return broken_; }

 private:
  explicit RedisConnection(redisContext* context) : context_(context) {}
  absl::Status ConnectionError();
  absl::StatusOr<RedisReply> Checked(void* raw);
  absl::StatusOr<RedisReply> ReadReply();

  redisContext* context_;
  bool broken_ = false;
};

// A Lua script, registered by name. Its SHA1 is learned from SCRIPT LOAD on first use and the
// script is loaded again whenever Redis answers NOSCRIPT.
class RedisScript {
 public:
  RedisScript(std::string name, std::string source)
      : name_(std::move(name)), source_(std::move(source)) {}
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }

 private:
  friend class RedisClient;
  std::string sha() const;
  void set_sha(std::string sha) const;

  const std::string name_;
  const std::string source_;
  mutable absl::Mutex mutex_;
  mutable std::string sha_ ABSL_GUARDED_BY(mutex_);
};

class RedisClient {
 public:
  // Does not connect; connections open on first use. INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(RedisOptions options);
  ~RedisClient();

  absl::StatusOr<RedisReply> Command(absl::Span<const absl::string_view> args);
  absl::StatusOr<std::vector<absl::StatusOr<RedisReply>>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // EVALSHA with `keys` and `args`; on NOSCRIPT, SCRIPT LOAD and one retry.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script,
                                  absl::Span<const absl::string_view> keys,
                                  absl::Span<const absl::string_view> args);
  absl::Status Ping();

  // A connection outside the pool, for blocking commands.
  absl::StatusOr<std::unique_ptr<RedisConnection>> NewDedicatedConnection(
      absl::Duration command_timeout) const;

  int open_connections() const;
  const RedisOptions& options() const { return options_; }

 private:
  explicit RedisClient(RedisOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::unique_ptr<RedisConnection>> Acquire();
  void Release(std::unique_ptr<RedisConnection> connection);
  absl::StatusOr<RedisReply> EvalOnce(RedisConnection& connection, const RedisScript& script,
                                      absl::Span<const absl::string_view> keys,
                                      absl::Span<const absl::string_view> args);

  const RedisOptions options_;
  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace contactcentre::common
