// Reading and writing protobuf fields by path ("display_name", "phones.number.raw") through
// reflection: the columns of `-o table`, the `--set field=value` assignments of create and list,
// and the columns of CSV imports all go through here.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace contactcentre::ccctl {

// Assigns `value` to the field at `path` (dot-separated field names, proto or JSON spelling):
//   strings as given; numbers and bools parsed; enums by value name with or without the enum's
//   prefix ("LONGEST_IDLE" for QUEUE_STRATEGY_LONGEST_IDLE), case-insensitive;
//   repeated scalars from a ';'-separated list (each item added);
//   a repeated message met mid-path gets one new element per ';'-separated item, the rest of the
//   path applied to each ("phones.number.raw=8 495 1234567;+7 916 000-00-00" adds two phones);
//   maps from "key=value;key2=value2";
//   repeated messages whose first fields are a string and an int32 (SkillLevel {skill, level})
//   from "name:number" items ("skills/x:5;skills/y:3"; the number may be left out);
//   any message-typed field (including google.protobuf.Duration "20s" and Timestamp
//   "2026-11-28T09:00:00Z") from its protobuf JSON form; a value starting with '{' or '[' is taken
//   as JSON for any message, repeated or map field, also when the path goes on past it
//   ("required_skills.skill" given '[{"skill":"skills/x","level":3}]' sets whole elements).
// An empty value sets nothing. INVALID_ARGUMENT "<path>: <problem>" when the field does not exist
// or the value does not parse.
absl::Status SetFieldByPath(google::protobuf::Message& message, absl::string_view path,
                            absl::string_view value);

// OK when `path` names a field of `descriptor` (INVALID_ARGUMENT "<path>: no field ..." if not).
absl::Status CheckFieldPath(const google::protobuf::Descriptor& descriptor, absl::string_view path);

// Parses "path=value" and applies SetFieldByPath.
absl::Status ApplyAssignment(google::protobuf::Message& message, absl::string_view assignment);

// The text of the field at `path` for a table cell: enums without their prefix, timestamps as
// "2026-11-28 09:00:05" (UTC), durations as "20s", other messages as compact JSON, repeated values
// (anywhere along the path) joined with ",". Empty when unset or when the path names no field.
std::string FieldText(const google::protobuf::Message& message, absl::string_view path);

// The enum value name without the prefix its type's values share ("QUEUE_STRATEGY_").
std::string ShortEnumName(const google::protobuf::EnumValueDescriptor& value);

// Protobuf JSON mapping of `message`; `pretty` indents it over several lines.
std::string MessageToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace contactcentre::ccctl
