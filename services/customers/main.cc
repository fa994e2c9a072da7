// cc-customers: the customers service of the contact-centre suite. Run with --help for flags.
#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/phone.h"
#include "common/service_main.h"
#include "services/customers/customers_module.h"
#include "services/customers/schema.h"

ABSL_FLAG(std::string, phone_default_region, "RU",
          "ISO 3166-1 region for phone numbers written without a country code");
ABSL_FLAG(std::string, default_time_zone, "Europe/Moscow",
          "IANA time zone of customers who have none (their calling window is evaluated in it)");
ABSL_FLAG(std::string, suppression_key, "",
          "secret key of the HMAC that keeps numbers of erased customers who refused contact on "
          "the suppression list; set it from a Secret (CC_SUPPRESSION_KEY) in production");

int main(int argc, char** argv) {
  using contactcentre::common::ServiceContext;
  using contactcentre::common::ServiceModule;
  using contactcentre::customers::CustomersModule;
  using contactcentre::customers::CustomersOptions;
  return contactcentre::common::RunService(
      argc, argv,
      {.name = "customers",
       .description = "Customer cards, phone lookup, consents and flags, contact "
                      "history, merge, erasure and bulk import.",
       .default_port = 50052,
       .migrations = &contactcentre::customers::SchemaMigrations(),
       .prepared_statements = {{"lookup_by_phone", contactcentre::customers::LookupByPhoneSql()}}},
      [](ServiceContext& context) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        CustomersOptions options;
        options.default_region = absl::GetFlag(FLAGS_phone_default_region);
        if (!contactcentre::common::IsKnownPhoneRegion(options.default_region)) {
          return absl::InvalidArgumentError("--phone_default_region: unknown region");
        }
        options.default_time_zone = absl::GetFlag(FLAGS_default_time_zone);
        absl::TimeZone zone;
        if (!absl::LoadTimeZone(options.default_time_zone, &zone)) {
          return absl::InvalidArgumentError("--default_time_zone: unknown IANA time zone");
        }
        options.suppression_key = absl::GetFlag(FLAGS_suppression_key);
        if (options.suppression_key.empty()) {
          options.suppression_key = "contactcentre-development-key";
          contactcentre::common::LogWarning(
              "no --suppression_key: using the development key; set CC_SUPPRESSION_KEY in "
              "production");
        }
        return std::make_unique<CustomersModule>(&context.pg, &context.redis, &context.events,
                                                 &context.outbox, context.config.site,
                                                 std::move(options));
      });
}
