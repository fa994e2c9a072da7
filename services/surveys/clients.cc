#include "services/surveys/clients.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::surveys {
namespace {

absl::Status Unavailable(absl::string_view service, const grpc::Status& status) {
  return absl::UnavailableError(
      absl::StrCat("the ", service, " service cannot be asked: ", status.error_message()));
}

CustomerFacts FactsOf(const customers::v1::Customer& customer) {
  CustomerFacts facts;
  facts.found = true;
  facts.name = customer.name();
  facts.display_name = customer.display_name();
  facts.survey_opt_out = customer.consents().survey_opt_out().value();
  facts.do_not_call = customer.consents().do_not_call().value();
  facts.abusive = customer.flags().abusive().value();
  for (const auto& phone : customer.phones()) {
    if (!phone.number().e164().empty()) {
      facts.phone_e164 = phone.number().e164();
      break;
    }
  }
  facts.has_email = !customer.emails().empty();
  facts.tags.assign(customer.tags().begin(), customer.tags().end());
  return facts;
}

}  // namespace

GrpcCustomersClient::GrpcCustomersClient(const std::string& target, absl::Duration deadline)
    : stub_(customers::v1::CustomersService::NewStub(common::MakeChannel(target))),
      deadline_(deadline) {}

absl::StatusOr<CustomerFacts> GrpcCustomersClient::GetCustomer(const std::string& customer) {
  customers::v1::GetCustomerRequest request;
  request.set_name(customer);
  customers::v1::Customer response;
  auto context = common::ContextWithTimeout(deadline_);
  grpc::Status status = stub_->GetCustomer(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
      status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    CustomerFacts facts;
    facts.name = customer;
    return facts;
  }
  if (!status.ok()) return Unavailable("customers", status);
  return FactsOf(response);
}

absl::StatusOr<std::vector<CustomerFacts>> GrpcCustomersClient::ListByTags(
    const std::vector<std::string>& tags) {
  std::vector<CustomerFacts> found;
  customers::v1::ListCustomersRequest request;
  request.set_page_size(1000);
  for (const std::string& tag : tags) request.add_tags(tag);
  for (;;) {
    customers::v1::ListCustomersResponse response;
    auto context = common::ContextWithTimeout(deadline_);
    grpc::Status status = stub_->ListCustomers(context.get(), request, &response);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return common::FromGrpcStatus(status);
    }
    if (!status.ok()) return Unavailable("customers", status);
    for (const auto& customer : response.customers()) found.push_back(FactsOf(customer));
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return found;
}

absl::Status GrpcCustomersClient::RecordSurveyOptOut(const std::string& customer,
                                                     const std::string& request_id) {
  customers::v1::SetConsentRequest request;
  request.set_customer(customer);
  request.set_kind(customers::v1::CONSENT_KIND_SURVEY_OPT_OUT);
  request.set_value(true);
  request.set_source(customers::v1::CONSENT_SOURCE_SURVEY);
  request.set_request_id(request_id);
  request.mutable_actor()->set_name("services/surveys");
  customers::v1::Customer response;
  auto context = common::ContextWithTimeout(deadline_);
  grpc::Status status = stub_->SetConsent(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
  if (!status.ok()) return Unavailable("customers", status);
  return absl::OkStatus();
}

GrpcCallsClient::GrpcCallsClient(const std::string& target, absl::Duration deadline)
    : stub_(calls::v1::CallsService::NewStub(common::MakeChannel(target))), deadline_(deadline) {}

absl::StatusOr<CallFacts> GrpcCallsClient::GetCall(const std::string& call) {
  calls::v1::GetCallRequest request;
  request.set_name(call);
  calls::v1::Call response;
  auto context = common::ContextWithTimeout(deadline_);
  grpc::Status status = stub_->GetCall(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("call: ", call, " not found"));
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return common::FromGrpcStatus(status);
  }
  if (!status.ok()) return Unavailable("calls", status);
  CallFacts facts;
  facts.name = response.name();
  facts.operator_name = response.operator_();
  facts.team = response.team();
  facts.queue = response.queue();
  facts.call_time = common::TimeFromTimestamp(response.has_connect_time() ? response.connect_time()
                                                                          : response.offer_time());
  const auto state = response.state();
  facts.ended = state == calls::v1::CALL_STATE_WRAP_UP ||
                state == calls::v1::CALL_STATE_COMPLETED ||
                state == calls::v1::CALL_STATE_ABANDONED ||
                state == calls::v1::CALL_STATE_TRANSFERRED || state == calls::v1::CALL_STATE_FAILED;
  return facts;
}

}  // namespace contactcentre::surveys
