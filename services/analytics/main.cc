// cc-analytics: Analytics service of the contact-centre suite: live metrics streamed to dashboards,
// 15-minute intervals, reports and Erlang C staffing.
//
// The contract (proto/contactcentre/analytics/v1) is served in full; what is built so far is
// listed in docs/analytics.md, the other methods answer UNIMPLEMENTED. Run with --help for the
// flags.
#include "absl/flags/flag.h"
#include "common/service_main.h"
#include "services/analytics/module.h"
#include "services/analytics/schema.h"

ABSL_FLAG(std::string, site_time_zone, "Europe/Moscow",
          "IANA time zone of the site: the TODAY window starts at its local midnight");
ABSL_FLAG(absl::Duration, service_level_threshold, absl::Seconds(20),
          "service level threshold T of every queue (per-queue settings are not built yet)");
ABSL_FLAG(absl::Duration, short_abandon_threshold, absl::Seconds(5),
          "abandons shorter than this are short abandons, left out of service level and "
          "abandonment figures; 0 disables the exclusion");

ABSL_FLAG(std::string, calls_address, "127.0.0.1:50051",
          "the calls service (RebuildIntervals reads its call records): host:port, a "
          "comma-separated list of replicas or dns:///name:port");

namespace contactcentre::analytics {
namespace {

const common::ServiceSpec kSpec = {
    .name = "analytics",
    .description =
        "Analytics service of the contact-centre suite: live metrics streamed to dashboards, "
        "15-minute intervals, reports and Erlang C staffing.",
    .default_port = 50055,
    .migrations = &SchemaMigrations(),
};

}  // namespace
}  // namespace contactcentre::analytics

int main(int argc, char** argv) {
  using namespace contactcentre::analytics;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext& context)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        AnalyticsModuleOptions options;
        if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_site_time_zone),
                                &options.metrics.site_time_zone)) {
          return absl::InvalidArgumentError("--site_time_zone: unknown IANA time zone");
        }
        options.rebuild.calls_address = absl::GetFlag(FLAGS_calls_address);
        options.metrics.thresholds.service_level = absl::GetFlag(FLAGS_service_level_threshold);
        options.metrics.thresholds.short_abandon = absl::GetFlag(FLAGS_short_abandon_threshold);
        if (options.metrics.thresholds.service_level < absl::Seconds(1) ||
            options.metrics.thresholds.service_level > absl::Hours(1)) {
          return absl::InvalidArgumentError("--service_level_threshold: must be 1s..1h");
        }
        if (options.metrics.thresholds.short_abandon < absl::ZeroDuration() ||
            options.metrics.thresholds.short_abandon > absl::Seconds(60)) {
          return absl::InvalidArgumentError("--short_abandon_threshold: must be 0..60s");
        }
        return std::make_unique<AnalyticsModule>(context, std::move(options));
      });
}
