#include "services/calls/customers_client.h"

#include "common/grpc_client.h"
#include "common/status.h"

namespace contactcentre::calls {

GrpcCustomersClient::GrpcCustomersClient(const std::string& target, absl::Duration lookup_deadline)
    : stub_(customers::v1::CustomersService::NewStub(common::MakeChannel(target))),
      lookup_deadline_(lookup_deadline) {}

CallerCard GrpcCustomersClient::LookUpCaller(const std::string& number) {
  CallerCard card;
  if (number.empty()) {
    card.result = v1::CUSTOMER_LOOKUP_RESULT_NOT_FOUND;
    return card;
  }
  customers::v1::LookupByPhoneRequest request;
  request.set_phone_number(number);
  customers::v1::LookupByPhoneResponse response;
  auto context = common::ContextWithTimeout(lookup_deadline_);
  grpc::Status status = stub_->LookupByPhone(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
      status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    card.result = v1::CUSTOMER_LOOKUP_RESULT_NOT_FOUND;
  } else if (!status.ok()) {
    card.result = v1::CUSTOMER_LOOKUP_RESULT_UNAVAILABLE;
  } else {
    card.result = v1::CUSTOMER_LOOKUP_RESULT_FOUND;
    card.customer = response.customer().name();
    card.vip = response.customer().flags().vip().value();
    card.abusive = response.customer().flags().abusive().value();
  }
  return card;
}

absl::StatusOr<customers::v1::ContactPermission> GrpcCustomersClient::CheckContact(
    const std::string& customer, const std::string& number, customers::v1::ContactPurpose purpose) {
  customers::v1::CheckContactPermissionRequest request;
  request.set_customer(customer);
  request.set_phone_number(number);
  request.set_purpose(purpose);
  customers::v1::ContactPermission response;
  auto context = common::ContextWithTimeout(absl::Seconds(2));
  grpc::Status status = stub_->CheckContactPermission(context.get(), request, &response);
  if (!status.ok()) {
    absl::Status mapped = common::FromGrpcStatus(status);
    if (absl::IsNotFound(mapped) || absl::IsInvalidArgument(mapped)) return mapped;
    return absl::UnavailableError(
        absl::StrCat("the customers service cannot confirm consent: ", status.error_message()));
  }
  return response;
}

absl::StatusOr<std::string> GrpcCustomersClient::FirstPhone(const std::string& customer) {
  customers::v1::GetCustomerRequest request;
  request.set_name(customer);
  customers::v1::Customer card;
  auto context = common::ContextWithTimeout(absl::Seconds(2));
  grpc::Status status = stub_->GetCustomer(context.get(), request, &card);
  if (!status.ok()) {
    absl::Status mapped = common::FromGrpcStatus(status);
    if (absl::IsNotFound(mapped) || absl::IsInvalidArgument(mapped)) return mapped;
    return absl::UnavailableError(
        absl::StrCat("the customers service cannot give the card: ", status.error_message()));
  }
  for (const auto& phone : card.phones()) {
    if (!phone.number().e164().empty()) return phone.number().e164();
  }
  return absl::NotFoundError(absl::StrCat(customer, " has no phone"));
}

absl::StatusOr<customers::v1::ListCustomersResponse> GrpcCustomersClient::ListCustomers(
    const customers::v1::ListCustomersRequest& request) {
  customers::v1::ListCustomersResponse page;
  auto context = common::ContextWithTimeout(absl::Seconds(20));
  grpc::Status status = stub_->ListCustomers(context.get(), request, &page);
  if (!status.ok()) {
    absl::Status mapped = common::FromGrpcStatus(status);
    if (absl::IsInvalidArgument(mapped)) return mapped;
    return absl::UnavailableError(
        absl::StrCat("the customers service cannot list customers: ", status.error_message()));
  }
  return page;
}

}  // namespace contactcentre::calls
