// cc-calls: Calls service of the contact-centre suite: operators, presence, skill-based routing
// (ACD), the call lifecycle with its mandatory wrap-up, help requests and outbound campaigns.
//
// The contract (proto/contactcentre/calls/v1) is served in full; methods answer UNIMPLEMENTED
// until the service's own issue implements them. Run with --help for the flags.
#include "common/service_main.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "contactcentre/calls/v1/campaigns_service.grpc.pb.h"

namespace contactcentre::calls {
namespace {

const common::ServiceSpec kSpec = {
    .name = "calls",
    .description =
        "Calls service of the contact-centre suite: operators, presence, skill-based routing "
        "(ACD), the call lifecycle with its mandatory wrap-up, help requests and outbound "
        "campaigns.",
    .default_port = 50051,
};

}  // namespace
}  // namespace contactcentre::calls

int main(int argc, char** argv) {
  using namespace contactcentre::calls;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext&)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<contactcentre::common::SkeletonModule<
            v1::CallsAdminService, v1::CallsService, v1::CampaignsService>>();
      });
}
