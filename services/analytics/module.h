// The analytics service as a ServiceModule (common/service_main.h): the gRPC service.
#pragma once

#include <string>
#include <vector>

#include "common/service_main.h"
#include "services/analytics/grpc_service.h"

namespace contactcentre::analytics {

class AnalyticsModule final : public common::ServiceModule {
 public:
  explicit AnalyticsModule(common::ServiceContext& context);

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> HealthServiceNames() override;

 private:
  AnalyticsGrpcService service_;
};

}  // namespace contactcentre::analytics
