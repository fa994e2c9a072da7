// cc-customers: Customers service of the contact-centre suite: customer cards, phone lookup,
// consents and flags, contact history, merge and erasure.
//
// The contract (proto/contactcentre/customers/v1) is served in full; methods answer UNIMPLEMENTED
// until the service's own issue implements them. Run with --help for the flags.
#include "common/service_main.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"

namespace contactcentre::customers {
namespace {

const common::ServiceSpec kSpec = {
    .name = "customers",
    .description =
        "Customers service of the contact-centre suite: customer cards, phone lookup, consents and "
        "flags, contact history, merge and erasure.",
    .default_port = 50052,
};

}  // namespace
}  // namespace contactcentre::customers

int main(int argc, char** argv) {
  using namespace contactcentre::customers;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext&)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<contactcentre::common::SkeletonModule<v1::CustomersService>>();
      });
}
