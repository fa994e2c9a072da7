#include "tools/ccctl/import.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_client.h"
#include "common/ids.h"
#include "common/status.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "tools/ccctl/csv.h"
#include "tools/ccctl/fields.h"
#include "tools/ccctl/progress.h"
#include "tools/ccctl/verbs.h"

namespace contactcentre::ccctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// A client-and-server stream of one bulk import method, over its generated stub.
class BulkStream {
 public:
  virtual ~BulkStream() = default;
  virtual bool Write(const Message& request) = 0;
  virtual bool Read(Message* response) = 0;
  virtual bool WritesDone() = 0;
  virtual grpc::Status Finish() = 0;
};

template <typename Service, typename Request, typename Response>
class TypedBulkStream final : public BulkStream {
 public:
  using Opener = std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> (Service::Stub::*)(
      grpc::ClientContext*);
  TypedBulkStream(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* context,
                  Opener open)
      : stub_(Service::NewStub(channel)), stream_(((*stub_).*open)(context)) {}
  bool Write(const Message& request) override {
    return stream_->Write(static_cast<const Request&>(request));
  }
  bool Read(Message* response) override { return stream_->Read(static_cast<Response*>(response)); }
  bool WritesDone() override { return stream_->WritesDone(); }
  grpc::Status Finish() override { return stream_->Finish(); }

 private:
  std::unique_ptr<typename Service::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
};

std::unique_ptr<BulkStream> OpenBulk(const std::string& method,
                                     const std::shared_ptr<grpc::Channel>& channel,
                                     grpc::ClientContext* context) {
  if (method == "ImportCustomers") {
    return std::make_unique<
        TypedBulkStream<customers::v1::CustomersService, customers::v1::ImportCustomersRequest,
                        customers::v1::ImportCustomersResponse>>(
        channel, context, &customers::v1::CustomersService::Stub::ImportCustomers);
  }
  if (method == "ImportArticles") {
    return std::make_unique<
        TypedBulkStream<knowledge::v1::ArticlesService, knowledge::v1::ImportArticlesRequest,
                        knowledge::v1::ImportArticlesResponse>>(
        channel, context, &knowledge::v1::ArticlesService::Stub::ImportArticles);
  }
  if (method == "ImportDirectoryEntries") {
    return std::make_unique<TypedBulkStream<knowledge::v1::DirectoryService,
                                            knowledge::v1::ImportDirectoryEntriesRequest,
                                            knowledge::v1::ImportDirectoryEntriesResponse>>(
        channel, context, &knowledge::v1::DirectoryService::Stub::ImportDirectoryEntries);
  }
  return nullptr;
}

const FieldDescriptor* RepeatedMessageField(const Descriptor& descriptor) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor* field = descriptor.field(i);
    if (field->is_repeated() && field->message_type() != nullptr && !field->is_map()) return field;
  }
  return nullptr;
}

const FieldDescriptor* FieldOfType(const Descriptor& descriptor, const Descriptor& type) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->message_type() == &type) return descriptor.field(i);
  }
  return nullptr;
}

std::string ItemErrorText(const Message& error) {
  const Descriptor& d = *error.GetDescriptor();
  const auto& r = *error.GetReflection();
  const int code = r.GetInt32(error, d.FindFieldByName("code"));
  const std::string field = r.GetString(error, d.FindFieldByName("field"));
  const std::string message = r.GetString(error, d.FindFieldByName("message"));
  std::string text = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  absl::StrAppend(&text, ": ");
  // Messages usually name the field already ("invalid customer.phones[0]...: ...").
  if (!field.empty() && message.find(field) == std::string::npos) {
    absl::StrAppend(&text, field, ": ");
  }
  absl::StrAppend(&text, message);
  return text;
}

void Count(ImportReport& report, const std::string& outcome) {
  if (outcome == "CREATED") {
    ++report.created;
  } else if (outcome == "UPDATED") {
    ++report.updated;
  } else if (outcome == "UNCHANGED") {
    ++report.unchanged;
  } else if (outcome == "DUPLICATE") {
    ++report.duplicates;
  } else if (outcome == "ALREADY_IMPORTED") {
    ++report.already_imported;
  } else {
    ++report.failed;
  }
}

absl::Status ImportByStream(Clients& clients, const Resource& resource,
                            std::vector<ImportRow>& rows, const ImportOptions& options,
                            ImportReport& report, Progress& progress) {
  const MethodDescriptor* method = resource.method(resource.import_method);
  if (method == nullptr) return absl::InternalError("no import method");
  const Descriptor& request_type = *method->input_type();
  const FieldDescriptor* rows_field = RepeatedMessageField(request_type);
  const FieldDescriptor* results_field = RepeatedMessageField(*method->output_type());
  if (rows_field == nullptr || results_field == nullptr) {
    return absl::InternalError(absl::StrCat(method->full_name(), " is not a bulk stream"));
  }
  const Descriptor& row_type = *rows_field->message_type();
  const FieldDescriptor* number_field = row_type.field(0);
  const FieldDescriptor* item_field = FieldOfType(row_type, resource.type());
  if (item_field == nullptr) return absl::InternalError("bulk rows carry no item");

  CC_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, clients.Connected(resource.service));
  auto context = common::ContextWithTimeout(options.timeout);
  std::unique_ptr<BulkStream> stream = OpenBulk(resource.import_method, channel, context.get());
  if (stream == nullptr) return absl::InternalError("no stub for the import method");

  auto request = NewMessage(request_type);
  auto& reflection = *request->GetReflection();
  reflection.SetString(request.get(), request_type.FindFieldByName("request_id"),
                       options.request_id);
  if (options.create_only) {
    CC_RETURN_IF_ERROR(SetFieldByPath(*request, "options.mode", "CREATE_ONLY"));
  }
  if (!options.region.empty() && CheckFieldPath(request_type, "options.region").ok()) {
    CC_RETURN_IF_ERROR(SetFieldByPath(*request, "options.region", options.region));
  }
  // Results arrive while rows are still being sent.
  int64_t done = report.failed;
  std::thread reader([&] {
    auto response = NewMessage(*method->output_type());
    while (stream->Read(response.get())) {
      const auto& r = *response->GetReflection();
      for (int i = 0; i < r.FieldSize(*response, results_field); ++i) {
        const Message& result = r.GetRepeatedMessage(*response, results_field, i);
        const Descriptor& d = *result.GetDescriptor();
        const int64_t line = result.GetReflection()->GetInt64(result, d.field(0));
        const std::string outcome = FieldText(result, "outcome");
        Count(report, outcome);
        if (outcome == "FAILED") {
          std::string reason = "failed";
          const FieldDescriptor* error = d.FindFieldByName("error");
          if (error != nullptr && result.GetReflection()->HasField(result, error)) {
            reason = ItemErrorText(result.GetReflection()->GetMessage(result, error));
          }
          progress.Message(absl::StrCat("line ", line, ": ", reason));
        }
        ++done;
        progress.Update(done, report.failed);
      }
      response->Clear();
    }
  });

  bool write_failed = false;
  int in_batch = 0;
  auto flush = [&] {
    if (!write_failed && !stream->Write(*request)) write_failed = true;
    request->Clear();
    in_batch = 0;
  };
  bool first = true;
  for (ImportRow& row : rows) {
    if (row.item == nullptr) continue;
    Message* element = reflection.AddMessage(request.get(), rows_field);
    element->GetReflection()->SetInt64(element, number_field, row.line);
    element->GetReflection()->MutableMessage(element, item_field)->CopyFrom(*row.item);
    if (++in_batch >= resource.import_batch) {
      flush();
      first = false;
    }
    if (write_failed) break;
  }
  if (in_batch > 0 || first) flush();
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

absl::Status ImportByCreates(Clients& clients, const Resource& resource,
                             std::vector<ImportRow>& rows, const ImportOptions& options,
                             ImportReport& report, Progress& progress) {
  const MethodDescriptor* method = resource.method(resource.create_method);
  if (method == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(resource.plural, " cannot be imported"));
  }
  const FieldDescriptor* item_field = FieldOfType(*method->input_type(), resource.type());
  int64_t done = report.failed;
  for (ImportRow& row : rows) {
    if (row.item == nullptr) continue;
    auto request = NewMessage(*method->input_type());
    if (row.request != nullptr) request->CopyFrom(*row.request);
    request->GetReflection()->MutableMessage(request.get(), item_field)->CopyFrom(*row.item);
    const FieldDescriptor* request_id = method->input_type()->FindFieldByName("request_id");
    if (request_id != nullptr) {
      request->GetReflection()->SetString(request.get(), request_id,
                                          absl::StrCat(options.request_id, "-", row.line));
    }
    auto response = NewMessage(*method->output_type());
    const absl::Status status = clients.Unary(resource.service, *method, *request, *response);
    if (status.ok()) {
      ++report.created;
    } else if (status.code() == absl::StatusCode::kUnavailable ||
               status.code() == absl::StatusCode::kDeadlineExceeded) {
      // The service is gone: the remaining rows would fail the same way.
      return status;
    } else {
      ++report.failed;
      progress.Message(absl::StrCat("line ", row.line, ": ", ErrorText(status)));
    }
    progress.Update(++done, report.failed);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ImportRow>> RowsFromCsv(const Resource& resource,
                                                   absl::string_view csv) {
  CC_ASSIGN_OR_RETURN(std::vector<CsvRecord> records, ParseCsv(csv));
  if (records.empty()) return absl::InvalidArgumentError("the file has no header row");
  // Rows created one by one may also carry fields of the create request.
  const MethodDescriptor* create =
      resource.import_method.empty() ? resource.method(resource.create_method) : nullptr;
  std::vector<std::string> paths;
  std::vector<bool> on_request;
  for (const std::string& raw : records[0].fields) {
    std::string header(absl::StripAsciiWhitespace(raw));
    auto alias = resource.csv_aliases.find(header);
    const std::string path = alias == resource.csv_aliases.end() ? header : alias->second;
    if (header.empty()) return absl::InvalidArgumentError("line 1: an empty column name");
    absl::Status valid = CheckFieldPath(resource.type(), path);
    const bool request_field =
        !valid.ok() && create != nullptr && CheckFieldPath(*create->input_type(), path).ok();
    if (!valid.ok() && !request_field) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", records[0].line, ": column \"", header, "\": ", valid.message()));
    }
    paths.push_back(path);
    on_request.push_back(request_field);
  }
  std::vector<ImportRow> rows;
  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& record = records[i];
    ImportRow row{.line = record.line};
    if (record.fields.size() != paths.size()) {
      row.error =
          absl::StrFormat("%d fields where the header has %d", record.fields.size(), paths.size());
      rows.push_back(std::move(row));
      continue;
    }
    auto item = NewMessage(resource.type());
    std::unique_ptr<Message> request;
    for (size_t c = 0; c < paths.size(); ++c) {
      if (on_request[c] && request == nullptr) request = NewMessage(*create->input_type());
      absl::Status status =
          SetFieldByPath(on_request[c] ? *request : *item, paths[c], record.fields[c]);
      if (!status.ok()) {
        row.error = std::string(status.message());
        break;
      }
    }
    if (row.error.empty()) {
      row.item = std::move(item);
      row.request = std::move(request);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<ImportReport> ImportVerb(Clients& clients, const Resource& resource,
                                        const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  CC_ASSIGN_OR_RETURN(std::vector<ImportRow> rows, RowsFromCsv(resource, buffer.str()));
  ImportOptions effective = options;
  if (effective.request_id.empty()) effective.request_id = common::NewId();
  for (ImportRow& row : rows) {
    if (row.item != nullptr) FillDefaultSite(*row.item, options.site);
  }

  ImportReport report;
  report.rows = static_cast<int64_t>(rows.size());
  Progress progress(stderr, options.tty, report.rows, absl::StrCat("import ", resource.plural));
  for (const ImportRow& row : rows) {
    if (row.item == nullptr) {
      ++report.failed;
      progress.Message(absl::StrCat("line ", row.line, ": ", row.error));
    }
  }
  progress.Update(report.failed, report.failed);
  absl::Status status = resource.import_method.empty()
                            ? ImportByCreates(clients, resource, rows, effective, report, progress)
                            : ImportByStream(clients, resource, rows, effective, report, progress);
  progress.Finish();
  if (!status.ok()) return status;
  return report;
}

std::string FormatImportReport(const Resource& resource, const ImportReport& report) {
  std::string text =
      absl::StrFormat("%s: %d rows, %d created, %d updated, %d unchanged", resource.plural,
                      report.rows, report.created, report.updated, report.unchanged);
  if (report.duplicates > 0) absl::StrAppendFormat(&text, ", %d duplicates", report.duplicates);
  if (report.already_imported > 0) {
    absl::StrAppendFormat(&text, ", %d already imported", report.already_imported);
  }
  absl::StrAppendFormat(&text, ", %d failed\n", report.failed);
  return text;
}

}  // namespace contactcentre::ccctl
