// The calls service as a module of common::RunService: the admin store on PostgreSQL, the live
// side on Redis (router, views, change relay) and the background sweeper that handles every
// timeout (ring, heartbeat, wrap-up) and rebalances waiting calls.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/service_main.h"
#include "contactcentre/calls/v1/campaigns_service.grpc.pb.h"
#include "services/calls/admin_service.h"
#include "services/calls/admin_store.h"
#include "services/calls/calls_service.h"
#include "services/calls/campaigns.h"
#include "services/calls/customers_client.h"
#include "services/calls/live_views.h"
#include "services/calls/relay.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

struct CallsModuleOptions {
  std::string customers_address = "127.0.0.1:50052";
  absl::Duration customer_lookup_deadline = absl::Milliseconds(300);
  std::string default_region = "RU";
  // How often the sweeper looks for timeouts: the precision of ring timeouts and tier waits.
  absl::Duration sweep_interval = absl::Milliseconds(100);
  // How often routing changes left pending by a failed write are retried.
  absl::Duration routing_flush_interval = absl::Seconds(1);
  CallsServiceOptions service;
  CampaignsOptions campaigns;
};

// Answers DeletionGuard from the live state of the module's Redis.
class LiveDeletionGuard final : public DeletionGuard {
 public:
  explicit LiveDeletionGuard(common::RedisClient* redis) : redis_(redis) {}
  absl::Status CheckOperatorRemovable(absl::string_view site,
                                      absl::string_view operator_id) override;
  absl::Status CheckQueueRemovable(absl::string_view site, absl::string_view queue_id) override;

 private:
  common::RedisClient* redis_;
};

class CallsModule final : public common::ServiceModule {
 public:
  CallsModule(common::ServiceContext& context, CallsModuleOptions options);
  ~CallsModule() override;

  std::vector<grpc::Service*> GrpcServices() override {
    return {&admin_service_, &calls_service_, &campaigns_service_};
  }
  std::vector<std::string> HealthServiceNames() override {
    return {v1::CallsAdminService::service_full_name(), v1::CallsService::service_full_name(),
            v1::CampaignsService::service_full_name()};
  }
  // Writes the whole routing configuration to Redis (it may have restarted empty), then starts
  // the relay, the views' tail and the sweeper.
  void OnReady() override;
  void OnShutdown() override;

 private:
  void Sweep();

  const CallsModuleOptions options_;
  Router router_;
  RedisRoutingConfigWriter routing_writer_;
  LiveDeletionGuard deletion_guard_;
  AdminStore store_;
  CallsAdminGrpcService admin_service_;
  GrpcCustomersClient customers_;
  LiveViews views_;
  CallsGrpcService calls_service_;
  CampaignsGrpcService campaigns_service_;
  ChangeRelay relay_;
  std::atomic<bool> stopping_{false};
  std::thread sweeper_;
};

}  // namespace contactcentre::calls
