// The calls service's view of the customers service: who is calling (with a short deadline,
// routing never waits long for a card) and whether an outbound call is allowed.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contactcentre/calls/v1/types.pb.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"

namespace contactcentre::calls {

struct CallerCard {
  v1::CustomerLookupResult result = v1::CUSTOMER_LOOKUP_RESULT_UNSPECIFIED;
  std::string customer;  // "customers/{id}" when found
  bool vip = false;
  bool abusive = false;
};

class CustomersClient {
 public:
  virtual ~CustomersClient() = default;
  // Never fails: a slow or unavailable customers service gives result UNAVAILABLE.
  virtual CallerCard LookUpCaller(const std::string& number) = 0;
  // The customers service's answer for an outbound call now; UNAVAILABLE when it cannot be
  // asked (nothing is dialled unchecked).
  virtual absl::StatusOr<customers::v1::ContactPermission> CheckOutboundCall(
      const std::string& customer, const std::string& number) {
    return CheckContact(customer, number, customers::v1::CONTACT_PURPOSE_OUTBOUND_CALL);
  }
  // The same for any purpose (a requested call-back: do-not-call does not apply).
  virtual absl::StatusOr<customers::v1::ContactPermission> CheckContact(
      const std::string& customer, const std::string& number,
      customers::v1::ContactPurpose purpose) = 0;
  // The first phone of a customer's card (the one to try first), in E.164; NOT_FOUND without
  // a card or a phone, UNAVAILABLE when the service cannot be asked.
  virtual absl::StatusOr<std::string> FirstPhone(const std::string& customer) = 0;
  // One page of cards (campaign imports by tag); UNAVAILABLE when the service cannot be asked.
  virtual absl::StatusOr<customers::v1::ListCustomersResponse> ListCustomers(
      const customers::v1::ListCustomersRequest& request) = 0;
};

class GrpcCustomersClient final : public CustomersClient {
 public:
  GrpcCustomersClient(const std::string& target, absl::Duration lookup_deadline);
  CallerCard LookUpCaller(const std::string& number) override;
  absl::StatusOr<customers::v1::ContactPermission> CheckContact(
      const std::string& customer, const std::string& number,
      customers::v1::ContactPurpose purpose) override;
  absl::StatusOr<std::string> FirstPhone(const std::string& customer) override;
  absl::StatusOr<customers::v1::ListCustomersResponse> ListCustomers(
      const customers::v1::ListCustomersRequest& request) override;

 private:
  std::unique_ptr<customers::v1::CustomersService::Stub> stub_;
  const absl::Duration lookup_deadline_;
};

}  // namespace contactcentre::calls
