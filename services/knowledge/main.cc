// cc-knowledge: Knowledge service of the contact-centre suite: product articles, precedents of
// solved problems and the organisations directory, with Russian and English search
// (docs/knowledge.md). Run with --help for the flags.
#include "absl/flags/flag.h"
#include "common/service_main.h"
#include "services/knowledge/module.h"
#include "services/knowledge/schema.h"

ABSL_FLAG(std::string, phone_default_region, "RU",
          "region (ISO 3166) of directory phone numbers written without a country code");
ABSL_FLAG(std::string, directory_time_zone, "Europe/Moscow",
          "IANA time zone of directory opening hours that name none");

namespace contactcentre::knowledge {
namespace {

const common::ServiceSpec kSpec = {
    .name = "knowledge",
    .description =
        "Knowledge service of the contact-centre suite: product articles, precedents of solved "
        "problems and the organisations directory, with Russian and English search.",
    .default_port = 50054,
    .migrations = &SchemaMigrations(),
};

}  // namespace
}  // namespace contactcentre::knowledge

int main(int argc, char** argv) {
  using namespace contactcentre::knowledge;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext& context)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return KnowledgeModule::Create(context,
                                       {.phone_region = absl::GetFlag(FLAGS_phone_default_region),
                                        .time_zone = absl::GetFlag(FLAGS_directory_time_zone)});
      });
}
