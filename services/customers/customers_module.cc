#include "services/customers/customers_module.h"

namespace contactcentre::customers {

CustomersModule::CustomersModule(common::PgPool* pg, common::RedisClient* redis,
                                 const common::EventPublisher* events, common::OutboxRelay* outbox,
                                 const std::string& site, CustomersOptions options)
    : store_(pg, events, outbox, std::move(options)),
      importer_(&store_),
      service_(&store_, &importer_),
      consumer_(redis, {.site = site, .group = "customers"},
                [this](const events::v1::Event& event) { return store_.ApplyEvent(event); }) {}

}  // namespace contactcentre::customers
