// JSON to and from google::protobuf::Struct on RapidJSON: the scripts' arguments, answers and
// change log are JSON, and protobuf's own JSON converter costs several times more CPU than the
// script it talks to.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::calls {

// A JSON object; INTERNAL for text that is not one.
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view json);
// Any JSON value; null for text that is not JSON.
google::protobuf::Value ParseJsonValue(absl::string_view json);

std::string ToJson(const google::protobuf::Struct& object);
std::string ToJson(const google::protobuf::Value& value);

}  // namespace contactcentre::calls
