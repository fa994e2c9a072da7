#include "services/analytics/module.h"

namespace contactcentre::analytics {

AnalyticsModule::AnalyticsModule(common::ServiceContext& /*context*/) {}

std::vector<grpc::Service*> AnalyticsModule::GrpcServices() { return {&service_}; }

std::vector<std::string> AnalyticsModule::HealthServiceNames() {
  return {v1::AnalyticsService::service_full_name()};
}

}  // namespace contactcentre::analytics
