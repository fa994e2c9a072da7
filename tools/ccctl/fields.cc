#include "tools/ccctl/fields.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/json_util.h"

namespace contactcentre::ccctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const FieldDescriptor* FindField(const Descriptor& descriptor, absl::string_view name) {
  const FieldDescriptor* field = descriptor.FindFieldByName(std::string(name));
  if (field != nullptr) return field;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == name) return descriptor.field(i);
  }
  return nullptr;
}

std::string EnumPrefix(const google::protobuf::EnumDescriptor& type) {
  const EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero == nullptr) return "";
  const std::string& name = zero->name();
  if (!absl::EndsWith(name, "UNSPECIFIED")) return "";
  return name.substr(0, name.size() - std::string("UNSPECIFIED").size());
}

const EnumValueDescriptor* FindEnumValue(const google::protobuf::EnumDescriptor& type,
                                         absl::string_view text) {
  const std::string upper = absl::AsciiStrToUpper(text);
  if (const EnumValueDescriptor* value = type.FindValueByName(upper)) return value;
  if (const EnumValueDescriptor* value = type.FindValueByName(EnumPrefix(type) + upper)) {
    return value;
  }
  int number = 0;
  if (absl::SimpleAtoi(text, &number)) return type.FindValueByNumber(number);
  return nullptr;
}

std::vector<std::string> ListItems(absl::string_view value) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(value, ';')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

absl::Status Problem(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

std::string JsonString(absl::string_view text) {
  std::string out;
  common::AppendJsonString(out, text);
  return out;
}

// Merges {"<field>": <json>} into `message`.
absl::Status MergeJson(Message& message, const FieldDescriptor& field, absl::string_view json,
                       absl::string_view path) {
  std::unique_ptr<Message> part(message.New());
  const std::string document = absl::StrCat("{", JsonString(field.name()), ":", json, "}");
  google::protobuf::util::JsonParseOptions options;
  const auto status = google::protobuf::util::JsonStringToMessage(document, part.get(), options);
  if (!status.ok()) {
    return Problem(path, std::string(status.message().data(), status.message().size()));
  }
  message.MergeFrom(*part);
  return absl::OkStatus();
}

absl::Status SetScalar(Message& message, const FieldDescriptor& field, absl::string_view text,
                       absl::string_view path) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  auto bad = [&](absl::string_view what) {
    return Problem(path, absl::StrCat("\"", text, "\" is not ", what));
  };
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? reflection.AddString(&message, &field, std::string(text))
               : reflection.SetString(&message, &field, std::string(text));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("a 32-bit integer");
      repeated ? reflection.AddInt32(&message, &field, v)
               : reflection.SetInt32(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
      repeated ? reflection.AddInt64(&message, &field, v)
               : reflection.SetInt64(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned integer");
      repeated ? reflection.AddUInt32(&message, &field, v)
               : reflection.SetUInt32(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned integer");
      repeated ? reflection.AddUInt64(&message, &field, v)
               : reflection.SetUInt64(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad("a number");
      repeated ? reflection.AddDouble(&message, &field, v)
               : reflection.SetDouble(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(text, &v)) return bad("a number");
      repeated ? reflection.AddFloat(&message, &field, v)
               : reflection.SetFloat(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(text, &v)) return bad("true or false");
      repeated ? reflection.AddBool(&message, &field, v) : reflection.SetBool(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = FindEnumValue(*field.enum_type(), text);
      if (v == nullptr) {
        std::vector<std::string> names;
        for (int i = 1; i < field.enum_type()->value_count(); ++i) {
          names.push_back(ShortEnumName(*field.enum_type()->value(i)));
        }
        return bad(absl::StrCat("one of ", absl::StrJoin(names, ", ")));
      }
      repeated ? reflection.AddEnum(&message, &field, v) : reflection.SetEnum(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Problem(path, "not a scalar field");
}

absl::Status SetPath(Message& message, const std::vector<absl::string_view>& segments, size_t k,
                     absl::string_view value, absl::string_view path) {
  const FieldDescriptor* field = FindField(*message.GetDescriptor(), segments[k]);
  if (field == nullptr) {
    return Problem(
        path, absl::StrCat("no field \"", segments[k], "\" in ", message.GetDescriptor()->name()));
  }
  const Reflection& reflection = *message.GetReflection();
  const bool last = k + 1 == segments.size();
  const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  const bool json = absl::StartsWith(trimmed, "{") || absl::StartsWith(trimmed, "[");
  if (!last && is_message && json) {
    // JSON for the field met mid-path ("required_skills.skill" given [{"skill":...,"level":3}]).
    return MergeJson(message, *field, trimmed, path);
  }
  if (!last) {
    if (!is_message || field->is_map()) {
      return Problem(path, absl::StrCat("\"", field->name(), "\" has no fields"));
    }
    if (field->is_repeated()) {
      for (const std::string& item : ListItems(value)) {
        CC_RETURN_IF_ERROR(
            SetPath(*reflection.AddMessage(&message, field), segments, k + 1, item, path));
      }
      return absl::OkStatus();
    }
    return SetPath(*reflection.MutableMessage(&message, field), segments, k + 1, value, path);
  }
  if ((is_message || field->is_repeated()) && json) {
    return MergeJson(message, *field, trimmed, path);
  }
  if (field->is_map()) {
    std::vector<std::string> entries;
    for (const std::string& item : ListItems(value)) {
      std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
      entries.push_back(absl::StrCat(JsonString(absl::StripAsciiWhitespace(kv.first)), ":",
                                     JsonString(absl::StripAsciiWhitespace(kv.second))));
    }
    return MergeJson(message, *field, absl::StrCat("{", absl::StrJoin(entries, ","), "}"), path);
  }
  if (is_message) {
    if (field->is_repeated()) {
      const Descriptor& type = *field->message_type();
      const bool pair = type.field_count() >= 2 &&
                        type.field(0)->type() == FieldDescriptor::TYPE_STRING &&
                        type.field(1)->cpp_type() == FieldDescriptor::CPPTYPE_INT32;
      for (const std::string& item : ListItems(value)) {
        std::string json = JsonString(item);
        if (pair) {
          // "name:number" for messages like SkillLevel {skill, level}: "skills/x:5".
          const size_t colon = item.rfind(':');
          int32_t number = 0;
          if (colon != std::string::npos &&
              absl::SimpleAtoi(absl::string_view(item).substr(colon + 1), &number)) {
            json = absl::StrCat("{", JsonString(type.field(0)->json_name()), ":",
                                JsonString(item.substr(0, colon)), ",",
                                JsonString(type.field(1)->json_name()), ":", number, "}");
          } else {
            json = absl::StrCat("{", JsonString(type.field(0)->json_name()), ":", json, "}");
          }
        }
        CC_RETURN_IF_ERROR(MergeJson(message, *field, absl::StrCat("[", json, "]"), path));
      }
      return absl::OkStatus();
    }
    return MergeJson(message, *field, JsonString(trimmed), path);
  }
  if (field->is_repeated()) {
    for (const std::string& item : ListItems(value)) {
      CC_RETURN_IF_ERROR(SetScalar(message, *field, item, path));
    }
    return absl::OkStatus();
  }
  return SetScalar(message, *field, value, path);
}

std::string ScalarText(const Message& message, const FieldDescriptor& field, int index) {
  const Reflection& r = *message.GetReflection();
  const bool rep = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r.GetRepeatedString(message, &field, index) : r.GetString(message, &field);
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r.GetRepeatedInt32(message, &field, index)
                              : r.GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r.GetRepeatedInt64(message, &field, index)
                              : r.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r.GetRepeatedUInt32(message, &field, index)
                              : r.GetUInt32(message, &field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r.GetRepeatedUInt64(message, &field, index)
                              : r.GetUInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r.GetRepeatedDouble(message, &field, index)
                              : r.GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r.GetRepeatedFloat(message, &field, index)
                              : r.GetFloat(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* value =
          rep ? r.GetRepeatedEnum(message, &field, index) : r.GetEnum(message, &field);
      return value->number() == 0 ? "" : ShortEnumName(*value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

std::string MessageText(const Message& message) {
  const Descriptor& descriptor = *message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  if (descriptor.full_name() == "google.protobuf.Timestamp" ||
      descriptor.full_name() == "google.protobuf.Duration") {
    const int64_t seconds = r.GetInt64(message, descriptor.FindFieldByName("seconds"));
    const int32_t nanos = r.GetInt32(message, descriptor.FindFieldByName("nanos"));
    if (descriptor.full_name() == "google.protobuf.Duration") {
      return absl::FormatDuration(absl::Seconds(seconds) + absl::Nanoseconds(nanos));
    }
    return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(seconds),
                            absl::UTCTimeZone());
  }
  if (descriptor.options().map_entry()) {
    const Message& entry = message;
    std::string key = ScalarText(entry, *descriptor.FindFieldByName("key"), -1);
    const FieldDescriptor* value = descriptor.FindFieldByName("value");
    std::string text = value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                           ? MessageText(r.GetMessage(entry, value))
                           : ScalarText(entry, *value, -1);
    return absl::StrCat(key, "=", text);
  }
  return MessageToJson(message, false);
}

void Collect(const Message& message, const std::vector<absl::string_view>& segments, size_t k,
             std::vector<std::string>& out) {
  const FieldDescriptor* field = FindField(*message.GetDescriptor(), segments[k]);
  if (field == nullptr) return;
  const Reflection& r = *message.GetReflection();
  const bool last = k + 1 == segments.size();
  const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  if (field->is_repeated()) {
    const int size = r.FieldSize(message, field);
    for (int i = 0; i < size; ++i) {
      if (!is_message) {
        if (last) out.push_back(ScalarText(message, *field, i));
      } else if (last) {
        out.push_back(MessageText(r.GetRepeatedMessage(message, field, i)));
      } else {
        Collect(r.GetRepeatedMessage(message, field, i), segments, k + 1, out);
      }
    }
    return;
  }
  if (is_message) {
    if (!r.HasField(message, field)) return;
    if (last) {
      out.push_back(MessageText(r.GetMessage(message, field)));
    } else {
      Collect(r.GetMessage(message, field), segments, k + 1, out);
    }
    return;
  }
  if (!last) return;
  if (field->has_presence() && !r.HasField(message, field)) return;
  out.push_back(ScalarText(message, *field, -1));
}

}  // namespace

std::string ShortEnumName(const EnumValueDescriptor& value) {
  const std::string prefix = EnumPrefix(*value.type());
  if (!prefix.empty() && absl::StartsWith(value.name(), prefix) &&
      value.name().size() > prefix.size()) {
    return value.name().substr(prefix.size());
  }
  return value.name();
}

absl::Status SetFieldByPath(Message& message, absl::string_view path, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  const std::vector<absl::string_view> segments = absl::StrSplit(path, '.');
  for (absl::string_view segment : segments) {
    if (segment.empty()) return Problem(path, "not a field path");
  }
  return SetPath(message, segments, 0, value, path);
}

absl::Status CheckFieldPath(const Descriptor& descriptor, absl::string_view path) {
  const Descriptor* current = &descriptor;
  for (absl::string_view segment : absl::StrSplit(path, '.')) {
    if (current == nullptr) {
      return Problem(path, "a field that is not a message has no fields");
    }
    const FieldDescriptor* field = FindField(*current, segment);
    if (field == nullptr) {
      return Problem(path, absl::StrCat("no field \"", segment, "\" in ", current->name()));
    }
    current = field->is_map() ? nullptr : field->message_type();
  }
  return absl::OkStatus();
}

absl::Status ApplyAssignment(Message& message, absl::string_view assignment) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos || equals == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", assignment, "\": expected field=value (e.g. display_name=Sales)"));
  }
  return SetFieldByPath(message, absl::StripAsciiWhitespace(assignment.substr(0, equals)),
                        assignment.substr(equals + 1));
}

std::string FieldText(const Message& message, absl::string_view path) {
  const std::vector<absl::string_view> segments = absl::StrSplit(path, '.');
  std::vector<std::string> values;
  Collect(message, segments, 0, values);
  return absl::StrJoin(values, ",");
}

std::string MessageToJson(const Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\":", JsonString(status.ToString()), "}");
  if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace contactcentre::ccctl
