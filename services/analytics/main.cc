// cc-analytics: Analytics service of the contact-centre suite: live metrics streamed to dashboards,
// 15-minute intervals, reports and Erlang C staffing.
//
// The contract (proto/contactcentre/analytics/v1) is served in full; what is built so far is
// listed in docs/analytics.md, the other methods answer UNIMPLEMENTED. Run with --help for the
// flags.
#include "common/service_main.h"
#include "services/analytics/module.h"

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
      [](contactcentre::common::ServiceContext& context)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<AnalyticsModule>(context);
      });
}
