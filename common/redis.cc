#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

RedisReply Convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(Convert(reply->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

// Error replies nested in arrays (EXEC, script results) flatten to their text here; top-level
// errors become statuses before this is reached.
absl::StatusOr<RedisReply> ConvertTopLevel(redisReply* reply) {
  if (reply->type == REDIS_REPLY_ERROR) {
    return StatusFromRedisError(absl::string_view(reply->str, reply->len));
  }
  return Convert(reply);
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

constexpr std::pair<absl::string_view, absl::StatusCode> kScriptCodes[] = {
    {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
    {"NOT_FOUND", absl::StatusCode::kNotFound},
    {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists},
    {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition},
    {"ABORTED", absl::StatusCode::kAborted},
    {"OUT_OF_RANGE", absl::StatusCode::kOutOfRange},
    {"RESOURCE_EXHAUSTED", absl::StatusCode::kResourceExhausted},
    {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
    {"DEADLINE_EXCEEDED", absl::StatusCode::kDeadlineExceeded},
    {"UNAVAILABLE", absl::StatusCode::kUnavailable},
    {"INTERNAL", absl::StatusCode::kInternal},
    {"UNAUTHENTICATED", absl::StatusCode::kUnauthenticated},
    {"CANCELLED", absl::StatusCode::kCancelled},
    {"UNIMPLEMENTED", absl::StatusCode::kUnimplemented},
};

// True when `error` starts with the word `word` (followed by the end, a space or a colon).
bool StartsWithWord(absl::string_view error, absl::string_view word) {
  return absl::StartsWith(error, word) &&
         (error.size() == word.size() || error[word.size()] == ' ' || error[word.size()] == ':');
}

}  // namespace

absl::Status StatusFromRedisError(absl::string_view error) {
  for (const auto& [name, code] : kScriptCodes) {
    if (StartsWithWord(error, name)) {
      absl::string_view message = error.substr(name.size());
      while (!message.empty() && (message.front() == ' ' || message.front() == ':')) {
        message.remove_prefix(1);
      }
      return absl::Status(code, message);
    }
  }
  for (absl::string_view transient :
       {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (StartsWithWord(error, transient)) {
      return absl::UnavailableError(absl::StrCat("Redis: ", error));
    }
  }
  if (StartsWithWord(error, "OOM")) {
    return absl::ResourceExhaustedError(absl::StrCat("Redis: ", error));
  }
  return absl::InternalError(absl::StrCat("Redis: ", error));
}

absl::StatusOr<RedisOptions> ParseRedisAddress(absl::string_view address) {
  RedisOptions options;
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    options.host = std::string(address);
  } else {
    options.host = std::string(address.substr(0, colon));
    if (!absl::SimpleAtoi(address.substr(colon + 1), &options.port) || options.port <= 0 ||
        options.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad Redis address \"", address, "\""));
    }
  }
  if (options.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad Redis address \"", address, "\""));
  }
  return options;
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisOptions& options) {
  redisContext* context = redisConnectWithTimeout(options.host.c_str(), options.port,
                                                  absl::ToTimeval(options.connect_timeout));
  if (context == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis context");
  if (context->err != 0) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "cannot connect to Redis at ", options.host, ":", options.port, ": ", context->errstr));
    redisFree(context);
    return status;
  }
  redisSetTimeout(context, absl::ToTimeval(options.command_timeout));
  auto connection = std::unique_ptr<RedisConnection>(new RedisConnection(context));
  if (!options.client_name.empty()) {
    CC_RETURN_IF_ERROR(connection->Command({"CLIENT", "SETNAME", options.client_name}).status());
  }
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

absl::Status RedisConnection::ConnectionError() {
  broken_ = true;
  return absl::UnavailableError(absl::StrCat("Redis connection failed: ", context_->errstr));
}

absl::StatusOr<RedisReply> RedisConnection::Checked(void* raw) {
  if (raw == nullptr) return ConnectionError();
  ReplyPtr reply(static_cast<redisReply*>(raw));
  absl::StatusOr<RedisReply> result = ConvertTopLevel(reply.get());
  // A demoted master (failover) answers READONLY or MASTERDOWN on every write while PING still
  // passes: drop the connection so the next one resolves the new master.
  if (!result.ok() && (absl::StrContains(result.status().message(), "Redis: READONLY") ||
                       absl::StrContains(result.status().message(), "Redis: MASTERDOWN"))) {
    broken_ = true;
  }
  return result;
}

absl::StatusOr<RedisReply> RedisConnection::ReadReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK) return ConnectionError();
  return Checked(raw);
}

absl::StatusOr<RedisReply> RedisConnection::Command(absl::Span<const absl::string_view> args) {
  if (broken_) return absl::UnavailableError("Redis connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (absl::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Checked(
      redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()));
}

absl::StatusOr<std::vector<absl::StatusOr<RedisReply>>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return absl::UnavailableError("Redis connection is broken");
  for (const auto& command : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(command.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return ConnectionError();
    }
  }
  std::vector<absl::StatusOr<RedisReply>> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReply> reply = ReadReply();
    if (broken_) return reply.status();
    replies.push_back(std::move(reply));
  }
  return replies;
}

std::string RedisScript::sha() const {
  absl::MutexLock lock(&mutex_);
  return sha_;
}

void RedisScript::set_sha(std::string sha) const {
  absl::MutexLock lock(&mutex_);
  sha_ = std::move(sha);
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(RedisOptions options) {
  if (options.pool_size < 1) return absl::InvalidArgumentError("Redis pool size must be >= 1");
  if (options.host.empty()) return absl::InvalidArgumentError("Redis host is empty");
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(options)));
}

RedisClient::~RedisClient() {
  absl::MutexLock lock(&mutex_);
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisClient::Acquire() {
  {
    absl::MutexLock lock(&mutex_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&can_proceed), options_.acquire_timeout)) {
      return absl::UnavailableError(absl::StrCat("no Redis connection free within ",
                                                 absl::FormatDuration(options_.acquire_timeout)));
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;
  }
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection = RedisConnection::Connect(options_);
  if (!connection.ok()) {
    absl::MutexLock lock(&mutex_);
    --open_;
  }
  return connection;
}

void RedisClient::Release(std::unique_ptr<RedisConnection> connection) {
  absl::MutexLock lock(&mutex_);
  if (connection->broken()) {
    // Connections idle since before the failure (a restart, a failover) are most likely dead
    // too: drop them all rather than fail one caller with each.
    open_ -= static_cast<int>(idle_.size()) + 1;
    idle_.clear();
    return;
  }
  idle_.push_back(std::move(connection));
}

absl::StatusOr<RedisReply> RedisClient::Command(absl::Span<const absl::string_view> args) {
  CC_ASSIGN_OR_RETURN(auto connection, Acquire());
  absl::StatusOr<RedisReply> reply = connection->Command(args);
  Release(std::move(connection));
  return reply;
}

absl::StatusOr<std::vector<absl::StatusOr<RedisReply>>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  CC_ASSIGN_OR_RETURN(auto connection, Acquire());
  auto replies = connection->Pipeline(commands);
  Release(std::move(connection));
  return replies;
}

absl::StatusOr<RedisReply> RedisClient::EvalOnce(RedisConnection& connection,
                                                 const RedisScript& script,
                                                 absl::Span<const absl::string_view> keys,
                                                 absl::Span<const absl::string_view> args) {
  std::string sha = script.sha();
  if (sha.empty()) {
    CC_ASSIGN_OR_RETURN(RedisReply loaded, connection.Command({"SCRIPT", "LOAD", script.source()}));
    sha = loaded.str;
    script.set_sha(sha);
  }
  const std::string key_count = absl::StrCat(keys.size());
  std::vector<absl::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(key_count);
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return connection.Command(argv);
}

absl::StatusOr<RedisReply> RedisClient::Eval(const RedisScript& script,
                                             absl::Span<const absl::string_view> keys,
                                             absl::Span<const absl::string_view> args) {
  CC_ASSIGN_OR_RETURN(auto connection, Acquire());
  absl::StatusOr<RedisReply> reply = EvalOnce(*connection, script, keys, args);
  if (!reply.ok() && absl::StartsWith(reply.status().message(), "Redis: NOSCRIPT")) {
    // The script cache was flushed (restart, failover, SCRIPT FLUSH): load it again.
    script.set_sha("");
    reply = EvalOnce(*connection, script, keys, args);
  }
  Release(std::move(connection));
  return reply;
}

absl::Status RedisClient::Ping() {
  absl::Status status = Command({"PING"}).status();
  // PING is idempotent: a failure on a connection that died while idle gets one fresh try.
  if (status.code() == absl::StatusCode::kUnavailable) status = Command({"PING"}).status();
  return status;
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisClient::NewDedicatedConnection(
    absl::Duration command_timeout) const {
  RedisOptions options = options_;
  options.command_timeout = command_timeout;
  return RedisConnection::Connect(options);
}

int RedisClient::open_connections() const {
  absl::MutexLock lock(&mutex_);
  return open_;
}

}  // namespace contactcentre::common
