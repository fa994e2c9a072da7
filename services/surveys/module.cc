#include "services/surveys/module.h"

#include "common/log.h"

namespace contactcentre::surveys {

SurveysModule::SurveysModule(common::ServiceContext& context,
                             std::unique_ptr<CustomersClient> customers,
                             std::unique_ptr<CallsClient> calls, SurveysModuleOptions options)
    : customers_(std::move(customers)),
      calls_(std::move(calls)),
      surveys_(&context.pg, &context.events, &context.outbox, &versions_, options.surveys),
      campaigns_(&context.pg, &context.events, &context.outbox, customers_.get(), &versions_,
                 options.surveys),
      quality_(&context.pg, &context.events, &context.outbox, calls_.get(),
               options.surveys.site_time_zone),
      survey_service_(&surveys_),
      campaign_service_(&campaigns_),
      quality_service_(&quality_),
      consumer_(
          &context.redis,
          {.site = context.config.site, .group = "surveys", .block = options.event_read_block},
          [this](const events::v1::Event& event) { return campaigns_.ApplyEvent(event); }),
      sweep_interval_(options.sweep_interval) {}

std::vector<grpc::Service*> SurveysModule::GrpcServices() {
  return {&survey_service_, &campaign_service_, &quality_service_};
}

std::vector<std::string> SurveysModule::HealthServiceNames() {
  return {v1::SurveyService::service_full_name(), v1::CampaignService::service_full_name(),
          v1::QualityService::service_full_name()};
}

void SurveysModule::OnReady() {
  consumer_.Start();
  if (sweep_interval_ <= absl::ZeroDuration()) return;
  sweeper_ = std::thread([this] {
    absl::MutexLock lock(&sweep_mutex_);
    while (!sweep_mutex_.AwaitWithTimeout(absl::Condition(&stopping_), sweep_interval_)) {
      sweep_mutex_.Unlock();
      if (absl::StatusOr<int> swept = campaigns_.SweepOnce(); !swept.ok()) {
        common::LogWarning("sweeping lapsed surveys failed", {{"error", swept.status()}});
      }
      sweep_mutex_.Lock();
    }
  });
}

void SurveysModule::OnShutdown() {
  consumer_.Stop();
  {
    absl::MutexLock lock(&sweep_mutex_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
}

SurveysModule::~SurveysModule() { OnShutdown(); }

}  // namespace contactcentre::surveys
