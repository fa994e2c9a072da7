// cc-analytics: Analytics service of the contact-centre suite: live metrics streamed to dashboards,
// 15-minute intervals, reports and Erlang C staffing.
//
// The contract (proto/contactcentre/analytics/v1) is served in full; methods answer UNIMPLEMENTED
// until the service's own issue implements them. Run with --help for the flags.
#include "common/service_main.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"

namespace contactcentre::analytics {
namespace {

const common::ServiceSpec kSpec = {
    .name = "analytics",
    .description =
        "Analytics service of the contact-centre suite: live metrics streamed to dashboards, "
        "15-minute intervals, reports and Erlang C staffing.",
    .default_port = 50055,
};

}  // namespace
}  // namespace contactcentre::analytics

int main(int argc, char** argv) {
  using namespace contactcentre::analytics;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext&)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<contactcentre::common::SkeletonModule<v1::AnalyticsService>>();
      });
}
