#include "services/calls/json.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "absl/strings/str_cat.h"

namespace contactcentre::calls {
namespace {

void Convert(const rapidjson::Value& from, google::protobuf::Value* to);

void ConvertObject(const rapidjson::Value& from, google::protobuf::Struct* to) {
  auto& fields = *to->mutable_fields();
  for (auto it = from.MemberBegin(); it != from.MemberEnd(); ++it) {
    Convert(it->value, &fields[std::string(it->name.GetString(), it->name.GetStringLength())]);
  }
}

void Convert(const rapidjson::Value& from, google::protobuf::Value* to) {
  switch (from.GetType()) {
    case rapidjson::kNullType:
      to->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case rapidjson::kFalseType:
      to->set_bool_value(false);
      break;
    case rapidjson::kTrueType:
      to->set_bool_value(true);
      break;
    case rapidjson::kNumberType:
      to->set_number_value(from.GetDouble());
      break;
    case rapidjson::kStringType:
      to->set_string_value(std::string(from.GetString(), from.GetStringLength()));
      break;
    case rapidjson::kArrayType: {
      auto* list = to->mutable_list_value();
      for (const rapidjson::Value& item : from.GetArray()) Convert(item, list->add_values());
      break;
    }
    case rapidjson::kObjectType:
      ConvertObject(from, to->mutable_struct_value());
      break;
  }
}

void Write(const google::protobuf::Value& value, rapidjson::Writer<rapidjson::StringBuffer>& out);

void WriteObject(const google::protobuf::Struct& object,
                 rapidjson::Writer<rapidjson::StringBuffer>& out) {
  out.StartObject();
  for (const auto& [name, value] : object.fields()) {
    out.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    Write(value, out);
  }
  out.EndObject();
}

void Write(const google::protobuf::Value& value, rapidjson::Writer<rapidjson::StringBuffer>& out) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const double number = value.number_value();
      // Whole numbers as integers: Lua reads "1.0e+12" and 1000000000000 alike, people do not.
      if (number > -9e15 && number < 9e15 &&
          number == static_cast<double>(static_cast<int64_t>(number))) {
        out.Int64(static_cast<int64_t>(number));
      } else {
        out.Double(number);
      }
      break;
    }
    case google::protobuf::Value::kStringValue:
      out.String(value.string_value().data(),
                 static_cast<rapidjson::SizeType>(value.string_value().size()));
      break;
    case google::protobuf::Value::kBoolValue:
      out.Bool(value.bool_value());
      break;
    case google::protobuf::Value::kStructValue:
      WriteObject(value.struct_value(), out);
      break;
    case google::protobuf::Value::kListValue:
      out.StartArray();
      for (const auto& item : value.list_value().values()) Write(item, out);
      out.EndArray();
      break;
    default:
      out.Null();
  }
}

}  // namespace

absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) {
    return absl::InternalError(absl::StrCat("not a JSON object: ", json.substr(0, 80)));
  }
  google::protobuf::Struct object;
  ConvertObject(document, &object);
  return object;
}

google::protobuf::Value ParseJsonValue(absl::string_view json) {
  google::protobuf::Value value;
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    value.set_null_value(google::protobuf::NULL_VALUE);
  } else {
    Convert(document, &value);
  }
  return value;
}

std::string ToJson(const google::protobuf::Struct& object) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  WriteObject(object, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ToJson(const google::protobuf::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  Write(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace contactcentre::calls
