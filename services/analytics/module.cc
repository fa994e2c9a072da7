#include "services/analytics/module.h"

#include <algorithm>

#include "common/log.h"

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
      rebuilder_(&metrics_, options.rebuild),
      service_(&metrics_, &watcher_, &rebuilder_),
      prune_interval_(options.prune_interval),
      keep_facts_(options.keep_facts) {
  for (int i = 0; i < std::max(1, options.consumer_threads); ++i) {
    consumers_.push_back(std::make_unique<common::EventConsumer>(
        &context.redis,
        common::EventConsumerOptions{.site = context.config.site,
                                     .group = "analytics",
                                     .block = options.event_read_block,
                                     .claim_min_idle = options.claim_min_idle},
        [this](const events::v1::Event& event) {
          absl::Status applied = metrics_.ApplyEvent(event);
          if (applied.ok()) watcher_.Notify();
          return applied;
        }));
  }
}

std::vector<grpc::Service*> AnalyticsModule::GrpcServices() { return {&service_}; }

std::vector<std::string> AnalyticsModule::HealthServiceNames() {
  return {v1::AnalyticsService::service_full_name()};
}

void AnalyticsModule::OnReady() {
  for (auto& consumer : consumers_) consumer->Start();
  watcher_.Start();
  if (prune_interval_ <= absl::ZeroDuration()) return;
  pruner_ = std::thread([this] {
    absl::MutexLock lock(&prune_mutex_);
    while (!prune_mutex_.AwaitWithTimeout(absl::Condition(&stopping_), prune_interval_)) {
      prune_mutex_.Unlock();
      if (absl::StatusOr<int64_t> pruned = metrics_.Prune(keep_facts_); !pruned.ok()) {
        common::LogWarning("pruning old call facts failed", {{"error", pruned.status()}});
      }
      prune_mutex_.Lock();
    }
  });
}

void AnalyticsModule::OnShutdown() {
  watcher_.Stop();
  rebuilder_.Stop();
  for (auto& consumer : consumers_) consumer->Stop();
  {
    absl::MutexLock lock(&prune_mutex_);
    stopping_ = true;
  }
  if (pruner_.joinable()) pruner_.join();
}

AnalyticsModule::~AnalyticsModule() { OnShutdown(); }

}  // namespace contactcentre::analytics
