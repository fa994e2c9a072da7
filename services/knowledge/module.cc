#include "services/knowledge/module.h"

#include "absl/strings/str_cat.h"
#include "common/phone.h"
#include "common/status.h"

namespace contactcentre::knowledge {

absl::StatusOr<std::unique_ptr<KnowledgeModule>> KnowledgeModule::Create(
    common::ServiceContext& context, const KnowledgeOptions& options) {
  if (!common::IsKnownPhoneRegion(options.phone_region)) {
    return common::InvalidArgumentError(
        "--phone_default_region", absl::StrCat("unknown region \"", options.phone_region, "\""));
  }
  DirectoryOptions directory{.phone_region = options.phone_region};
  if (!absl::LoadTimeZone(options.time_zone, &directory.time_zone)) {
    return common::InvalidArgumentError(
        "--directory_time_zone", absl::StrCat("unknown time zone \"", options.time_zone, "\""));
  }
  if (options.import_threads < 1) {
    return common::InvalidArgumentError("import_threads", "must be at least 1");
  }
  return std::unique_ptr<KnowledgeModule>(
      new KnowledgeModule(context, std::move(directory), options));
}

KnowledgeModule::KnowledgeModule(common::ServiceContext& context, DirectoryOptions directory,
                                 const KnowledgeOptions& options)
    : context_(context),
      articles_(context.pg),
      precedents_(context.pg, context.events, context.outbox),
      directory_(context.pg, std::move(directory)),
      feedback_(context.pg),
      executor_(options.import_threads),
      articles_service_(articles_, executor_),
      precedents_service_(precedents_),
      directory_service_(directory_, executor_),
      feedback_service_(feedback_),
      event_read_block_(options.event_read_block) {}

std::vector<grpc::Service*> KnowledgeModule::GrpcServices() {
  return {&articles_service_, &precedents_service_, &directory_service_, &feedback_service_};
}

std::vector<std::string> KnowledgeModule::HealthServiceNames() {
  return {v1::ArticlesService::service_full_name(), v1::PrecedentsService::service_full_name(),
          v1::DirectoryService::service_full_name(), v1::FeedbackService::service_full_name()};
}

void KnowledgeModule::OnReady() {
  consumer_ = std::make_unique<common::EventConsumer>(
      &context_.redis,
      common::EventConsumerOptions{
          .site = context_.config.site, .group = "knowledge", .block = event_read_block_},
      [this](const events::v1::Event& event) { return precedents_.ApplyEvent(event); });
  consumer_->Start();
}

void KnowledgeModule::OnShutdown() {
  if (consumer_) consumer_->Stop();
}

}  // namespace contactcentre::knowledge
