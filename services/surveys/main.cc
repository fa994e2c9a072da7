// cc-surveys: Surveys service of the contact-centre suite: questionnaires and polls, survey
// campaigns, post-call satisfaction surveys and call-quality scorecards (docs/surveys.md).
// Run with --help for the flags.
#include "absl/flags/flag.h"
#include "common/service_main.h"
#include "services/surveys/module.h"
#include "services/surveys/schema.h"

ABSL_FLAG(std::string, customers_target, "localhost:50052",
          "the customers service (consents, flags, tag listings), e.g. "
          "dns:///customers.contactcentre.svc.cluster.local:50052");
ABSL_FLAG(std::string, calls_target, "localhost:50051",
          "the calls service (facts of evaluated calls)");
ABSL_FLAG(std::string, site_time_zone, "Europe/Moscow",
          "IANA time zone of day, week and month groups when a request names none");
ABSL_FLAG(std::string, link_base_url, "https://survey.example.com/s/",
          "base URL of survey links; the invitation's token is appended");

namespace contactcentre::surveys {
namespace {

const common::ServiceSpec kSpec = {
    .name = "surveys",
    .description =
        "Surveys service of the contact-centre suite: questionnaires and polls, survey campaigns, "
        "post-call satisfaction surveys and call-quality scorecards.",
    .default_port = 50053,
    .migrations = &SchemaMigrations(),
};

}  // namespace
}  // namespace contactcentre::surveys

int main(int argc, char** argv) {
  using namespace contactcentre::surveys;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext& context)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        SurveysModuleOptions options;
        options.surveys.site_time_zone = absl::GetFlag(FLAGS_site_time_zone);
        absl::TimeZone zone;
        if (!absl::LoadTimeZone(options.surveys.site_time_zone, &zone)) {
          return absl::InvalidArgumentError("--site_time_zone: unknown IANA time zone");
        }
        options.surveys.link_base_url = absl::GetFlag(FLAGS_link_base_url);
        return std::make_unique<SurveysModule>(
            context,
            std::make_unique<GrpcCustomersClient>(absl::GetFlag(FLAGS_customers_target),
                                                  absl::Seconds(2)),
            std::make_unique<GrpcCallsClient>(absl::GetFlag(FLAGS_calls_target), absl::Seconds(2)),
            std::move(options));
      });
}
