// Bulk import of customers (ImportCustomers): each request message of up to 1,000 rows is
// validated in memory, matched against existing cards with two set queries, and written in one
// transaction with COPY (new cards, their index rows, history rows and events) plus one UPDATE
// per changed existing card.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "contactcentre/customers/v1/customers_service.pb.h"
#include "services/customers/customer_store.h"

namespace contactcentre::customers {

class Importer {
 public:
  explicit Importer(CustomerStore* store) : store_(store) {}

  // What one import stream remembers between its messages.
  struct Stream {
    bool started = false;
    std::string request_id;
    v1::ImportCustomersOptions options;
    ProfileOptions profile;
    // Rows up to this number were committed by an earlier stream with the same request_id.
    int64_t committed_before = 0;
    int64_t last_row_number = 0;
    v1::ImportCustomersSummary summary;
  };

  // Applies one request message and returns the results of its rows. An error status ends the
  // stream: INVALID_ARGUMENT for bad options, more than 1,000 rows or row numbers that do not
  // increase; UNAVAILABLE when PostgreSQL is unreachable (rows of earlier messages stay).
  absl::StatusOr<v1::ImportCustomersResponse> Process(Stream& stream,
                                                      const v1::ImportCustomersRequest& message);

 private:
  CustomerStore* store_;
};

}  // namespace contactcentre::customers
