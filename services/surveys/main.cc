// cc-surveys: Surveys service of the contact-centre suite: questionnaires and polls, survey
// campaigns, post-call satisfaction surveys and call-quality scorecards.
//
// The contract (proto/contactcentre/surveys/v1) is served in full; methods answer UNIMPLEMENTED
// until the service's own issue implements them. Run with --help for the flags.
#include "common/service_main.h"
#include "contactcentre/surveys/v1/campaign_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"

namespace contactcentre::surveys {
namespace {

const common::ServiceSpec kSpec = {
    .name = "surveys",
    .description =
        "Surveys service of the contact-centre suite: questionnaires and polls, survey campaigns, "
        "post-call satisfaction surveys and call-quality scorecards.",
    .default_port = 50053,
};

}  // namespace
}  // namespace contactcentre::surveys

int main(int argc, char** argv) {
  using namespace contactcentre::surveys;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext&)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<contactcentre::common::SkeletonModule<
            v1::SurveyService, v1::CampaignService, v1::QualityService>>();
      });
}
