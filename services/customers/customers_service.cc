#include "services/customers/customers_service.h"

#include "common/log.h"
#include "common/status.h"

namespace contactcentre::customers {
namespace {

// Copies a result into the response, or maps its error; INTERNAL errors are logged, since the
// client's message is all anyone else would see of them.
template <typename Response>
grpc::Status Respond(absl::StatusOr<Response> result, Response* response,
                     absl::string_view method) {
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInternal ||
        result.status().code() == absl::StatusCode::kUnknown) {
      common::LogError("request failed", {{"method", method}, {"error", result.status()}});
    }
    return common::ToGrpcStatus(result.status());
  }
  *response = std::move(*result);
  return grpc::Status::OK;
}

// One import stream: read a message, apply it, answer it, read the next; after the client
// half-closes, answer the summary and end the call.
class ImportReactor final
    : public grpc::ServerBidiReactor<v1::ImportCustomersRequest, v1::ImportCustomersResponse> {
 public:
  explicit ImportReactor(Importer* importer) : importer_(importer) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      response_.Clear();
      *response_.mutable_summary() = stream_.summary;
      finishing_ = true;
      common::LogInfo("import finished", {{"request_id", stream_.request_id},
                                          {"rows", stream_.summary.rows_received()},
                                          {"created", stream_.summary.created()},
                                          {"updated", stream_.summary.updated()},
                                          {"failed", stream_.summary.failed()}});
      StartWrite(&response_);
      return;
    }
    absl::StatusOr<v1::ImportCustomersResponse> result = importer_->Process(stream_, request_);
    if (!result.ok()) {
      common::LogWarning("import stream ended",
                         {{"request_id", stream_.request_id}, {"error", result.status()}});
      Finish(common::ToGrpcStatus(result.status()));
      return;
    }
    response_ = std::move(*result);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    if (finishing_) {
      Finish(grpc::Status::OK);
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  Importer* importer_;
  Importer::Stream stream_;
  v1::ImportCustomersRequest request_;
  v1::ImportCustomersResponse response_;
  bool finishing_ = false;
};

}  // namespace

grpc::Status CustomersGrpcService::CreateCustomer(grpc::ServerContext*,
                                                  const v1::CreateCustomerRequest* request,
                                                  v1::Customer* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->Create(*request), response, "CreateCustomer");
}

grpc::Status CustomersGrpcService::GetCustomer(grpc::ServerContext*,
                                               const v1::GetCustomerRequest* request,
                                               v1::Customer* response) {
  return Respond(store_->Get(*request), response, "GetCustomer");
}

grpc::Status CustomersGrpcService::ListCustomers(grpc::ServerContext*,
                                                 const v1::ListCustomersRequest* request,
                                                 v1::ListCustomersResponse* response) {
  return Respond(store_->List(*request), response, "ListCustomers");
}

grpc::Status CustomersGrpcService::UpdateCustomer(grpc::ServerContext*,
                                                  const v1::UpdateCustomerRequest* request,
                                                  v1::Customer* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->Update(*request), response, "UpdateCustomer");
}

grpc::Status CustomersGrpcService::DeleteCustomer(grpc::ServerContext*,
                                                  const v1::DeleteCustomerRequest* request,
                                                  google::protobuf::Empty*) {
  common::ScopedRequestId scope(request->request_id());
  return common::ToGrpcStatus(store_->Delete(*request));
}

grpc::Status CustomersGrpcService::LookupByPhone(grpc::ServerContext*,
                                                 const v1::LookupByPhoneRequest* request,
                                                 v1::LookupByPhoneResponse* response) {
  return Respond(store_->LookupByPhone(*request), response, "LookupByPhone");
}

grpc::Status CustomersGrpcService::SearchCustomers(grpc::ServerContext*,
                                                   const v1::SearchCustomersRequest* request,
                                                   v1::SearchCustomersResponse* response) {
  return Respond(store_->Search(*request), response, "SearchCustomers");
}

grpc::Status CustomersGrpcService::SetConsent(grpc::ServerContext*,
                                              const v1::SetConsentRequest* request,
                                              v1::Customer* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->SetConsent(*request), response, "SetConsent");
}

grpc::Status CustomersGrpcService::ListConsentHistory(grpc::ServerContext*,
                                                      const v1::ListConsentHistoryRequest* request,
                                                      v1::ListConsentHistoryResponse* response) {
  return Respond(store_->ListConsentHistory(*request), response, "ListConsentHistory");
}

grpc::Status CustomersGrpcService::SetFlag(grpc::ServerContext*, const v1::SetFlagRequest* request,
                                           v1::Customer* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->SetFlag(*request), response, "SetFlag");
}

grpc::Status CustomersGrpcService::ListFlagHistory(grpc::ServerContext*,
                                                   const v1::ListFlagHistoryRequest* request,
                                                   v1::ListFlagHistoryResponse* response) {
  return Respond(store_->ListFlagHistory(*request), response, "ListFlagHistory");
}

grpc::Status CustomersGrpcService::AddNote(grpc::ServerContext*, const v1::AddNoteRequest* request,
                                           v1::Note* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->AddNote(*request), response, "AddNote");
}

grpc::Status CustomersGrpcService::ListNotes(grpc::ServerContext*,
                                             const v1::ListNotesRequest* request,
                                             v1::ListNotesResponse* response) {
  return Respond(store_->ListNotes(*request), response, "ListNotes");
}

grpc::Status CustomersGrpcService::ListContactHistory(grpc::ServerContext*,
                                                      const v1::ListContactHistoryRequest* request,
                                                      v1::ListContactHistoryResponse* response) {
  return Respond(store_->ListContactHistory(*request), response, "ListContactHistory");
}

grpc::Status CustomersGrpcService::MergeCustomers(grpc::ServerContext*,
                                                  const v1::MergeCustomersRequest* request,
                                                  v1::Customer* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->Merge(*request), response, "MergeCustomers");
}

grpc::Status CustomersGrpcService::EraseCustomer(grpc::ServerContext*,
                                                 const v1::EraseCustomerRequest* request,
                                                 v1::ErasureRecord* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_->Erase(*request), response, "EraseCustomer");
}

grpc::Status CustomersGrpcService::CheckContactPermission(
    grpc::ServerContext*, const v1::CheckContactPermissionRequest* request,
    v1::ContactPermission* response) {
  return Respond(store_->CheckContactPermission(*request), response, "CheckContactPermission");
}

grpc::Status CustomersGrpcService::BatchCheckContactPermissions(
    grpc::ServerContext*, const v1::BatchCheckContactPermissionsRequest* request,
    v1::BatchCheckContactPermissionsResponse* response) {
  return Respond(store_->BatchCheckContactPermissions(*request), response,
                 "BatchCheckContactPermissions");
}

grpc::ServerBidiReactor<v1::ImportCustomersRequest, v1::ImportCustomersResponse>*
CustomersGrpcService::ImportCustomers(grpc::CallbackServerContext*) {
  return new ImportReactor(importer_);
}

}  // namespace contactcentre::customers
