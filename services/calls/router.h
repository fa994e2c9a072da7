// The live side of the calls service: each operation is one Lua script (services/calls/
// scripts) run by EVALSHA in one round trip, which changes the state, makes the routing
// decision it causes, remembers the answer for its request_id and appends its changes to the
// site's change log, atomically.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/redis.h"
#include "services/calls/routing_config.h"

namespace contactcentre::calls {

enum class Script {
  kOfferCall,
  kSetPresence,
  kHeartbeat,
  kAcceptReservation,
  kRejectReservation,
  kConnectCall,
  kHangUp,
  kHoldCall,
  kCompleteWrapUp,
  kTransferCall,
  kSweep,
  kConfigureOperator,
  kConfigureQueue,
  kHelp,
  kPlaceOutbound,
  kDialAnswered,
  kPreview,
  kTelephony,
  kWarmTransfer,
};

// Arguments of a script, as the JSON object it decodes.
class ScriptArgs {
 public:
  ScriptArgs& Set(absl::string_view name, absl::string_view value);
  ScriptArgs& Set(absl::string_view name, const char* value) {
    return Set(name, absl::string_view(value));
  }
  ScriptArgs& Set(absl::string_view name, const std::string& value) {
    return Set(name, absl::string_view(value));
  }
  ScriptArgs& Set(absl::string_view name, int64_t value);
  ScriptArgs& Set(absl::string_view name, int value) { return Set(name, int64_t{value}); }
  ScriptArgs& Set(absl::string_view name, bool value);
  ScriptArgs& SetStruct(absl::string_view name, google::protobuf::Struct value);
  ScriptArgs& SetList(absl::string_view name, const std::vector<std::string>& values);
  // Idempotency: the method, the request_id and the request's fingerprint.
  ScriptArgs& Request(absl::string_view method, absl::string_view request_id,
                      const google::protobuf::Message& request);
  const google::protobuf::Struct& values() const { return values_; }

 private:
  google::protobuf::Struct values_;
};

class Router {
 public:
  Router(common::RedisClient* redis, std::string site);

  // Runs a script. Errors are the script's ("FAILED_PRECONDITION RESERVATION_CLOSED: ..."
  // arrives as FAILED_PRECONDITION "RESERVATION_CLOSED: ..."), or UNAVAILABLE.
  absl::StatusOr<google::protobuf::Struct> Run(Script script, const ScriptArgs& args) const;

  // A live hash ("call", "op", "queue", "help"); empty when it does not exist.
  absl::StatusOr<google::protobuf::Struct> Read(absl::string_view kind, absl::string_view id) const;

  const std::string& site() const { return site_; }
  // "cc:{<site>}", the prefix of every key of the site.
  const std::string& prefix() const { return prefix_; }
  common::RedisClient* redis() const { return redis_; }

 private:
  common::RedisClient* redis_;
  const std::string site_;
  const std::string prefix_;
};

// RoutingConfigWriter over the configure scripts. Each operator and queue is written under
// its own site's keys (the admin side holds every site; a replica routes one).
class RedisRoutingConfigWriter final : public RoutingConfigWriter {
 public:
  explicit RedisRoutingConfigWriter(common::RedisClient* redis) : redis_(redis) {}
  absl::Status WriteOperator(const OperatorRouting& routing) override;
  absl::Status WriteQueue(const QueueRouting& routing) override;

 private:
  common::RedisClient* redis_;
};

}  // namespace contactcentre::calls
