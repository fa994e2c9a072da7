// The surveys service's view of the services it asks: customers (consents, flags, contacts,
// tag listings; survey opt-out recorded) and calls (the facts of an evaluated call). Each is an
// interface with a gRPC implementation that sets a deadline on every call; tests use fakes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"

namespace contactcentre::surveys {

// What the surveys service needs to know of a customer before contacting them.
struct CustomerFacts {
  // False when the customer does not exist or was erased.
  bool found = false;
  // "customers/{id}" (the survivor of a merge).
  std::string name;
  std::string display_name;
  bool survey_opt_out = false;
  bool do_not_call = false;
  bool abusive = false;
  // The first phone number in E.164, empty when none.
  std::string phone_e164;
  bool has_email = false;
  std::vector<std::string> tags;
};

class CustomersClient {
 public:
  virtual ~CustomersClient() = default;
  // The facts of one customer ("customers/{id}"); found false for an unknown or erased one;
  // UNAVAILABLE when the customers service cannot be asked.
  virtual absl::StatusOr<CustomerFacts> GetCustomer(const std::string& customer) = 0;
  // Every customer carrying all of `tags` (all pages); UNAVAILABLE when it cannot be asked.
  virtual absl::StatusOr<std::vector<CustomerFacts>> ListByTags(
      const std::vector<std::string>& tags) = 0;
  // Records the customer's survey opt-out (source SURVEY).
  virtual absl::Status RecordSurveyOptOut(const std::string& customer,
                                          const std::string& request_id) = 0;
};

class GrpcCustomersClient final : public CustomersClient {
 public:
  GrpcCustomersClient(const std::string& target, absl::Duration deadline);
  absl::StatusOr<CustomerFacts> GetCustomer(const std::string& customer) override;
  absl::StatusOr<std::vector<CustomerFacts>> ListByTags(
      const std::vector<std::string>& tags) override;
  absl::Status RecordSurveyOptOut(const std::string& customer,
                                  const std::string& request_id) override;

 private:
  std::unique_ptr<customers::v1::CustomersService::Stub> stub_;
  const absl::Duration deadline_;
};

// The facts of a call that an evaluation records.
struct CallFacts {
  std::string name;
  std::string operator_name;
  std::string team;
  std::string queue;
  absl::Time call_time;  // connect time, else offer time
  bool ended = false;
};

class CallsClient {
 public:
  virtual ~CallsClient() = default;
  // NOT_FOUND for an unknown call; UNAVAILABLE when the calls service cannot be asked.
  virtual absl::StatusOr<CallFacts> GetCall(const std::string& call) = 0;
};

class GrpcCallsClient final : public CallsClient {
 public:
  GrpcCallsClient(const std::string& target, absl::Duration deadline);
  absl::StatusOr<CallFacts> GetCall(const std::string& call) override;

 private:
  std::unique_ptr<calls::v1::CallsService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace contactcentre::surveys
