// The gRPC face of the customers service: thin adapters from CustomersService to
// CustomerStore and Importer. Unary methods run on the sync API (each blocks on PostgreSQL);
// the import stream runs on the callback API.
#pragma once

#include "contactcentre/customers/v1/customers_service.grpc.pb.h"
#include "services/customers/customer_store.h"
#include "services/customers/importer.h"

namespace contactcentre::customers {

class CustomersGrpcService final : public v1::CustomersService::WithCallbackMethod_ImportCustomers<
                                       v1::CustomersService::Service> {
 public:
  CustomersGrpcService(CustomerStore* store, Importer* importer)
      : store_(store), importer_(importer) {}

  grpc::Status CreateCustomer(grpc::ServerContext* context,
                              const v1::CreateCustomerRequest* request,
                              v1::Customer* response) override;
  grpc::Status GetCustomer(grpc::ServerContext* context, const v1::GetCustomerRequest* request,
                           v1::Customer* response) override;
  grpc::Status ListCustomers(grpc::ServerContext* context, const v1::ListCustomersRequest* request,
                             v1::ListCustomersResponse* response) override;
  grpc::Status UpdateCustomer(grpc::ServerContext* context,
                              const v1::UpdateCustomerRequest* request,
                              v1::Customer* response) override;
  grpc::Status DeleteCustomer(grpc::ServerContext* context,
                              const v1::DeleteCustomerRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::Status LookupByPhone(grpc::ServerContext* context, const v1::LookupByPhoneRequest* request,
                             v1::LookupByPhoneResponse* response) override;
  grpc::Status SearchCustomers(grpc::ServerContext* context,
                               const v1::SearchCustomersRequest* request,
                               v1::SearchCustomersResponse* response) override;
  grpc::Status SetConsent(grpc::ServerContext* context, const v1::SetConsentRequest* request,
                          v1::Customer* response) override;
  grpc::Status ListConsentHistory(grpc::ServerContext* context,
                                  const v1::ListConsentHistoryRequest* request,
                                  v1::ListConsentHistoryResponse* response) override;
  grpc::Status SetFlag(grpc::ServerContext* context, const v1::SetFlagRequest* request,
                       v1::Customer* response) override;
  grpc::Status ListFlagHistory(grpc::ServerContext* context,
                               const v1::ListFlagHistoryRequest* request,
                               v1::ListFlagHistoryResponse* response) override;
  grpc::Status AddNote(grpc::ServerContext* context, const v1::AddNoteRequest* request,
                       v1::Note* response) override;
  grpc::Status ListNotes(grpc::ServerContext* context, const v1::ListNotesRequest* request,
                         v1::ListNotesResponse* response) override;
  grpc::Status ListContactHistory(grpc::ServerContext* context,
                                  const v1::ListContactHistoryRequest* request,
                                  v1::ListContactHistoryResponse* response) override;
  grpc::Status MergeCustomers(grpc::ServerContext* context,
                              const v1::MergeCustomersRequest* request,
                              v1::Customer* response) override;
  grpc::Status EraseCustomer(grpc::ServerContext* context, const v1::EraseCustomerRequest* request,
                             v1::ErasureRecord* response) override;
  grpc::Status CheckContactPermission(grpc::ServerContext* context,
                                      const v1::CheckContactPermissionRequest* request,
                                      v1::ContactPermission* response) override;
  grpc::Status BatchCheckContactPermissions(
      grpc::ServerContext* context, const v1::BatchCheckContactPermissionsRequest* request,
      v1::BatchCheckContactPermissionsResponse* response) override;
  grpc::ServerBidiReactor<v1::ImportCustomersRequest, v1::ImportCustomersResponse>* ImportCustomers(
      grpc::CallbackServerContext* context) override;

 private:
  CustomerStore* store_;
  Importer* importer_;
};

}  // namespace contactcentre::customers
