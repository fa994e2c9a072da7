#include "tools/ccctl/verbs.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "tools/ccctl/fields.h"

namespace contactcentre::ccctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

absl::StatusOr<const MethodDescriptor*> RequireMethod(const Resource& resource,
                                                      const std::string& name,
                                                      absl::string_view verb) {
  const MethodDescriptor* method = resource.method(name);
  if (method == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(resource.plural, " cannot be ", verb, " with ccctl"));
  }
  return method;
}

// The field of `descriptor` of message type `type` (repeated or not as asked).
const FieldDescriptor* FieldOfType(const Descriptor& descriptor, const Descriptor& type,
                                   bool repeated) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor* field = descriptor.field(i);
    if (field->message_type() == &type && field->is_repeated() == repeated) return field;
  }
  return nullptr;
}

void SetStringIfPresent(Message& message, const std::string& field_name, const std::string& value) {
  const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(field_name);
  if (field != nullptr && field->type() == FieldDescriptor::TYPE_STRING && !field->is_repeated()) {
    message.GetReflection()->SetString(&message, field, value);
  }
}

absl::Status ApplyAll(Message& message, const std::vector<std::string>& assignments) {
  for (const std::string& assignment : assignments) {
    CC_RETURN_IF_ERROR(ApplyAssignment(message, assignment));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status ParseJson(absl::string_view json, Message& message, absl::string_view what) {
  google::protobuf::util::JsonParseOptions options;
  const auto status =
      google::protobuf::util::JsonStringToMessage(std::string(json), &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", std::string(status.message().data(), status.message().size())));
  }
  return absl::OkStatus();
}

}  // namespace

void SetRequestId(Message& request) {
  const FieldDescriptor* field = request.GetDescriptor()->FindFieldByName("request_id");
  if (field != nullptr && request.GetReflection()->GetString(request, field).empty()) {
    request.GetReflection()->SetString(&request, field, common::NewId());
  }
}

void FillDefaultSite(Message& item, const std::string& site) {
  const FieldDescriptor* field = item.GetDescriptor()->FindFieldByName("site");
  if (site.empty() || field == nullptr || field->type() != FieldDescriptor::TYPE_STRING ||
      field->is_repeated()) {
    return;
  }
  if (item.GetReflection()->GetString(item, field).empty()) {
    item.GetReflection()->SetString(&item, field, site);
  }
}

void PrintMessages(const Resource& resource, const std::vector<const Message*>& messages,
                   OutputFormat format, bool as_list) {
  std::string out;
  switch (format) {
    case OutputFormat::kTable:
      out = MessagesTable(messages, resource.columns);
      break;
    case OutputFormat::kJson:
      out = as_list || messages.size() != 1 ? MessagesJson(messages) : MessageJson(*messages[0]);
      break;
    case OutputFormat::kName:
      for (const Message* message : messages) {
        absl::StrAppend(&out, FieldText(*message, "name"), "\n");
      }
      break;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

absl::Status GetVerb(Clients& clients, const Resource& resource, const std::string& id,
                     const VerbOptions& options) {
  CC_ASSIGN_OR_RETURN(const MethodDescriptor* method,
                      RequireMethod(resource, resource.get_method, "read"));
  auto request = NewMessage(*method->input_type());
  SetStringIfPresent(*request, "name", resource.FullName(id));
  CC_RETURN_IF_ERROR(ApplyAll(*request, options.assignments));
  auto response = NewMessage(*method->output_type());
  CC_RETURN_IF_ERROR(clients.Unary(resource.service, *method, *request, *response));
  PrintMessages(resource, {response.get()}, options.format, false);
  return absl::OkStatus();
}

absl::Status ListVerb(Clients& clients, const Resource& resource, const VerbOptions& options) {
  CC_ASSIGN_OR_RETURN(const MethodDescriptor* method,
                      RequireMethod(resource, resource.list_method, "listed"));
  const FieldDescriptor* items =
      FieldOfType(*method->output_type(), resource.type(), /*repeated=*/true);
  const FieldDescriptor* page_size = method->input_type()->FindFieldByName("page_size");
  const FieldDescriptor* page_token = method->input_type()->FindFieldByName("page_token");
  const FieldDescriptor* next_token = method->output_type()->FindFieldByName("next_page_token");
  if (items == nullptr || page_size == nullptr || page_token == nullptr || next_token == nullptr) {
    return absl::InternalError(absl::StrCat(method->full_name(), " does not page as expected"));
  }
  if (options.limit < 0) return absl::InvalidArgumentError("--limit must not be negative");
  std::vector<std::unique_ptr<Message>> pages;
  std::vector<const Message*> messages;
  std::string token;
  while (true) {
    auto request = NewMessage(*method->input_type());
    CC_RETURN_IF_ERROR(ApplyAll(*request, resource.list_defaults));
    CC_RETURN_IF_ERROR(ApplyAll(*request, options.assignments));
    int size = options.page_size > 0 ? options.page_size : 100;
    if (options.limit > 0) {
      size = std::min<int>(size, options.limit - static_cast<int>(messages.size()));
    }
    request->GetReflection()->SetInt32(request.get(), page_size, size);
    request->GetReflection()->SetString(request.get(), page_token, token);
    auto response = NewMessage(*method->output_type());
    CC_RETURN_IF_ERROR(clients.Unary(resource.service, *method, *request, *response));
    const auto& reflection = *response->GetReflection();
    const int count = reflection.FieldSize(*response, items);
    for (int i = 0; i < count; ++i) {
      if (options.limit > 0 && static_cast<int>(messages.size()) >= options.limit) break;
      messages.push_back(&reflection.GetRepeatedMessage(*response, items, i));
    }
    token = reflection.GetString(*response, next_token);
    pages.push_back(std::move(response));
    if (token.empty() ||
        (options.limit > 0 && static_cast<int>(messages.size()) >= options.limit)) {
      break;
    }
  }
  PrintMessages(resource, messages, options.format, true);
  return absl::OkStatus();
}

absl::Status CreateVerb(Clients& clients, const Resource& resource, const VerbOptions& options) {
  CC_ASSIGN_OR_RETURN(const MethodDescriptor* method,
                      RequireMethod(resource, resource.create_method, "created"));
  const FieldDescriptor* item_field =
      FieldOfType(*method->input_type(), resource.type(), /*repeated=*/false);
  if (item_field == nullptr) {
    return absl::InternalError(absl::StrCat(method->full_name(), " takes no ", resource.plural));
  }
  // The items: from the file (one object or an array), else one empty item; then assignments.
  std::vector<std::unique_ptr<Message>> items;
  if (!options.file.empty()) {
    CC_ASSIGN_OR_RETURN(const std::string json, ReadFile(options.file));
    const absl::string_view trimmed = absl::StripAsciiWhitespace(json);
    if (absl::StartsWith(trimmed, "[")) {
      const MethodDescriptor* list = resource.method(resource.list_method);
      const FieldDescriptor* list_items =
          list == nullptr ? nullptr : FieldOfType(*list->output_type(), resource.type(), true);
      if (list_items == nullptr) return absl::InvalidArgumentError("-f: expected one object");
      auto wrapper = NewMessage(*list->output_type());
      CC_RETURN_IF_ERROR(
          ParseJson(absl::StrCat("{\"", list_items->json_name(), "\":", trimmed, "}"), *wrapper,
                    options.file));
      const auto& reflection = *wrapper->GetReflection();
      for (int i = 0; i < reflection.FieldSize(*wrapper, list_items); ++i) {
        auto item = NewMessage(resource.type());
        item->CopyFrom(reflection.GetRepeatedMessage(*wrapper, list_items, i));
        items.push_back(std::move(item));
      }
    } else {
      auto item = NewMessage(resource.type());
      CC_RETURN_IF_ERROR(ParseJson(trimmed, *item, options.file));
      items.push_back(std::move(item));
    }
  } else {
    items.push_back(NewMessage(resource.type()));
  }
  std::vector<std::unique_ptr<Message>> created;
  for (auto& item : items) {
    auto request = NewMessage(*method->input_type());
    for (const std::string& assignment : options.assignments) {
      const std::string field = assignment.substr(0, assignment.find_first_of("=."));
      const bool on_item = resource.type().FindFieldByName(field) != nullptr ||
                           method->input_type()->FindFieldByName(field) == nullptr;
      CC_RETURN_IF_ERROR(ApplyAssignment(on_item ? *item : *request, assignment));
    }
    FillDefaultSite(*item, options.site);
    request->GetReflection()->MutableMessage(request.get(), item_field)->CopyFrom(*item);
    SetRequestId(*request);
    auto response = NewMessage(*method->output_type());
    CC_RETURN_IF_ERROR(clients.Unary(resource.service, *method, *request, *response));
    created.push_back(std::move(response));
  }
  std::vector<const Message*> views;
  for (const auto& message : created) views.push_back(message.get());
  PrintMessages(resource, views, options.format, items.size() > 1);
  return absl::OkStatus();
}

absl::Status UpdateVerb(Clients& clients, const Resource& resource, const std::string& id,
                        const VerbOptions& options) {
  CC_ASSIGN_OR_RETURN(const MethodDescriptor* method,
                      RequireMethod(resource, resource.update_method, "updated"));
  const FieldDescriptor* item_field =
      FieldOfType(*method->input_type(), resource.type(), /*repeated=*/false);
  const FieldDescriptor* mask_field = method->input_type()->FindFieldByName("update_mask");
  if (item_field == nullptr || mask_field == nullptr) {
    return absl::InternalError(absl::StrCat(method->full_name(), " takes no field mask"));
  }
  if (options.assignments.empty()) {
    return absl::InvalidArgumentError("update needs field=value pairs to change");
  }
  auto request = NewMessage(*method->input_type());
  Message& item = *request->GetReflection()->MutableMessage(request.get(), item_field);
  std::vector<std::string> mask;
  for (const std::string& assignment : options.assignments) {
    const std::string field = assignment.substr(0, assignment.find_first_of("=."));
    const FieldDescriptor* on_item = resource.type().FindFieldByName(field);
    if (on_item == nullptr) {
      for (int i = 0; i < resource.type().field_count(); ++i) {
        if (resource.type().field(i)->json_name() == field) on_item = resource.type().field(i);
      }
    }
    if (on_item == nullptr && method->input_type()->FindFieldByName(field) != nullptr) {
      CC_RETURN_IF_ERROR(ApplyAssignment(*request, assignment));
      continue;
    }
    CC_RETURN_IF_ERROR(ApplyAssignment(item, assignment));
    // The etag makes the update conditional; it is not a field to change.
    if (on_item != nullptr && on_item->name() != "etag" &&
        std::find(mask.begin(), mask.end(), on_item->name()) == mask.end()) {
      mask.push_back(on_item->name());
    }
  }
  if (mask.empty()) {
    // An empty mask could mean "every field" to a service: never send one.
    return absl::InvalidArgumentError("update needs at least one field of the item to change");
  }
  SetStringIfPresent(item, "name", resource.FullName(id));
  Message* update_mask = request->GetReflection()->MutableMessage(request.get(), mask_field);
  const FieldDescriptor* paths = update_mask->GetDescriptor()->FindFieldByName("paths");
  for (const std::string& path : mask)
    update_mask->GetReflection()->AddString(update_mask, paths, path);
  SetRequestId(*request);
  auto response = NewMessage(*method->output_type());
  CC_RETURN_IF_ERROR(clients.Unary(resource.service, *method, *request, *response));
  PrintMessages(resource, {response.get()}, options.format, false);
  return absl::OkStatus();
}

absl::Status DeleteVerb(Clients& clients, const Resource& resource, const std::string& id,
                        const VerbOptions& options) {
  CC_ASSIGN_OR_RETURN(const MethodDescriptor* method,
                      RequireMethod(resource, resource.delete_method, "deleted"));
  auto request = NewMessage(*method->input_type());
  const std::string name = resource.FullName(id);
  SetStringIfPresent(*request, "name", name);
  CC_RETURN_IF_ERROR(ApplyAll(*request, options.assignments));
  SetRequestId(*request);
  auto response = NewMessage(*method->output_type());
  CC_RETURN_IF_ERROR(clients.Unary(resource.service, *method, *request, *response));
  if (options.format == OutputFormat::kJson) {
    std::printf("{\"name\": \"%s\", \"deleted\": true}\n", name.c_str());
  } else {
    std::printf("%s deleted\n", name.c_str());
  }
  return absl::OkStatus();
}

}  // namespace contactcentre::ccctl
