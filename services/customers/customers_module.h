// The customers service as a module of common::RunService: the store, the importer, the gRPC
// service and the event consumer that fills the contact history.
#pragma once

#include <memory>

#include "common/event_stream.h"
#include "common/service_main.h"
#include "services/customers/customer_store.h"
#include "services/customers/customers_service.h"
#include "services/customers/importer.h"

namespace contactcentre::customers {

class CustomersModule final : public common::ServiceModule {
 public:
  CustomersModule(common::PgPool* pg, common::RedisClient* redis,
                  const common::EventPublisher* events, common::OutboxRelay* outbox,
                  const std::string& site, CustomersOptions options);

  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }
  std::vector<std::string> HealthServiceNames() override {
    return {v1::CustomersService::service_full_name()};
  }
  // Starts the contact-history consumer (consumer group "customers").
  void OnReady() override { consumer_.Start(); }
  void OnShutdown() override { consumer_.Stop(); }

  CustomerStore& store() { return store_; }

 private:
  CustomerStore store_;
  Importer importer_;
  CustomersGrpcService service_;
  common::EventConsumer consumer_;
};

}  // namespace contactcentre::customers
