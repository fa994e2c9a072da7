// cc-knowledge: Knowledge service of the contact-centre suite: product articles, precedents of
// solved problems and the organisations directory, with Russian and English search.
//
// The contract (proto/contactcentre/knowledge/v1) is served in full; methods answer UNIMPLEMENTED
// until the service's own issue implements them. Run with --help for the flags.
#include "common/service_main.h"
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "contactcentre/knowledge/v1/feedback.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"

namespace contactcentre::knowledge {
namespace {

const common::ServiceSpec kSpec = {
    .name = "knowledge",
    .description =
        "Knowledge service of the contact-centre suite: product articles, precedents of solved "
        "problems and the organisations directory, with Russian and English search.",
    .default_port = 50054,
};

}  // namespace
}  // namespace contactcentre::knowledge

int main(int argc, char** argv) {
  using namespace contactcentre::knowledge;  // NOLINT: main wires the service's own types only
  return contactcentre::common::RunService(
      argc, argv, kSpec,
      [](contactcentre::common::ServiceContext&)
          -> absl::StatusOr<std::unique_ptr<contactcentre::common::ServiceModule>> {
        return std::make_unique<
            contactcentre::common::SkeletonModule<v1::ArticlesService, v1::PrecedentsService,
                                                  v1::DirectoryService, v1::FeedbackService>>();
      });
}
