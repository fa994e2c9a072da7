#include "services/analytics/module.h"

namespace contactcentre::analytics {
namespace {

MetricsStoreOptions WithSite(MetricsStoreOptions options, const std::string& site) {
  options.site = site;
  return options;
}

}  // namespace

AnalyticsModule::AnalyticsModule(common::ServiceContext& context, AnalyticsModuleOptions options)
    : metrics_(&context.pg, WithSite(options.metrics, context.config.site)),
      watcher_(&metrics_, options.watch),
      service_(&metrics_, &watcher_),
      consumer_(&context.redis,
                {.site = context.config.site,
                 .group = "analytics",
                 .block = options.event_read_block,
                 .claim_min_idle = options.claim_min_idle},
                [this](const events::v1::Event& event) { return metrics_.ApplyEvent(event); }) {}

std::vector<grpc::Service*> AnalyticsModule::GrpcServices() { return {&service_}; }

std::vector<std::string> AnalyticsModule::HealthServiceNames() {
  return {v1::AnalyticsService::service_full_name()};
}

void AnalyticsModule::OnReady() {
  consumer_.Start();
  watcher_.Start();
}

void AnalyticsModule::OnShutdown() {
  watcher_.Stop();
  consumer_.Stop();
}

AnalyticsModule::~AnalyticsModule() { OnShutdown(); }

}  // namespace contactcentre::analytics
