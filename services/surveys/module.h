// The surveys service as a ServiceModule (common/service_main.h): the stores, the three gRPC
// services (SurveyService, CampaignService, QualityService) and the consumer of CallCompleted
// events that creates post-call invitations.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/event_stream.h"
#include "common/service_main.h"
#include "services/surveys/campaign_store.h"
#include "services/surveys/clients.h"
#include "services/surveys/grpc_services.h"
#include "services/surveys/quality_store.h"
#include "services/surveys/survey_store.h"

namespace contactcentre::surveys {

struct SurveysModuleOptions {
  SurveysOptions surveys;
  // How long one read of the event stream blocks (and so how long stopping may take).
  absl::Duration event_read_block = absl::Seconds(1);
  // How often lapsed responses, invitations and campaigns are moved to their final state;
  // zero disables the sweeper (tests call CampaignStore::SweepOnce themselves).
  absl::Duration sweep_interval = absl::Seconds(30);
};

class SurveysModule final : public common::ServiceModule {
 public:
  // The clients are owned by the module.
  SurveysModule(common::ServiceContext& context, std::unique_ptr<CustomersClient> customers,
                std::unique_ptr<CallsClient> calls, SurveysModuleOptions options);
  ~SurveysModule() override;

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> HealthServiceNames() override;
  // Starts the consumer of the site's event stream (group "surveys").
  // ... and the sweeper of lapsed responses, invitations and campaigns.
  void OnReady() override;
  void OnShutdown() override;

  SurveyStore& surveys() { return surveys_; }
  CampaignStore& campaigns() { return campaigns_; }
  QualityStore& quality() { return quality_; }
  common::EventConsumer& consumer() { return consumer_; }

 private:
  std::unique_ptr<CustomersClient> customers_;
  std::unique_ptr<CallsClient> calls_;
  VersionCache versions_;
  SurveyStore surveys_;
  CampaignStore campaigns_;
  QualityStore quality_;
  SurveyGrpcService survey_service_;
  CampaignGrpcService campaign_service_;
  QualityGrpcService quality_service_;
  common::EventConsumer consumer_;
  const absl::Duration sweep_interval_;
  absl::Mutex sweep_mutex_;
  bool stopping_ ABSL_GUARDED_BY(sweep_mutex_) = false;
  std::thread sweeper_;
};

}  // namespace contactcentre::surveys
