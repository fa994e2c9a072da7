// The live side's hashes (calls, operators, help requests in Redis, as the scripts return
// them) turned into the contract's messages.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "contactcentre/calls/v1/calls.pb.h"

namespace contactcentre::calls {

// A string field of a snapshot ("" when absent).
std::string Field(const google::protobuf::Struct& snapshot, absl::string_view name);
// An integer field (`fallback` when absent or empty).
int64_t IntField(const google::protobuf::Struct& snapshot, absl::string_view name,
                 int64_t fallback = 0);

std::string CallName(absl::string_view id);
std::string OperatorName(absl::string_view id);
std::string QueueName(absl::string_view id);
std::string TeamName(absl::string_view id);
std::string HelpRequestName(absl::string_view id);
// The id of "<collection>/{id}" or "" when `name` is not of that collection.
std::string IdOf(absl::string_view name, absl::string_view collection);

v1::Call CallFromSnapshot(absl::string_view call_id, const google::protobuf::Struct& snapshot);
v1::OperatorPresence PresenceFromSnapshot(absl::string_view operator_id,
                                          const google::protobuf::Struct& snapshot);
v1::HelpRequest HelpRequestFromSnapshot(absl::string_view help_id,
                                        const google::protobuf::Struct& snapshot);

// A Redis hash read with HGETALL, as a snapshot.
google::protobuf::Struct SnapshotFromPairs(const std::vector<std::string>& flat);

}  // namespace contactcentre::calls
