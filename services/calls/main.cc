// cc-calls: the calls service of the contact-centre suite: operators, presence, skill-based
// routing (ACD) on Redis, the call lifecycle with its mandatory wrap-up, help requests, and the
// routing configuration (operators, teams, skills, queues) on PostgreSQL. Run with --help for
// the flags.
#include "absl/flags/flag.h"
#include "common/phone.h"
#include "common/service_main.h"
#include "services/calls/calls_module.h"
#include "services/calls/schema.h"

ABSL_FLAG(std::string, customers_address, "127.0.0.1:50052",
          "gRPC address of the customers service (caller cards, outbound-call permission)");
ABSL_FLAG(absl::Duration, customer_lookup_deadline, absl::Milliseconds(300),
          "how long OfferCall waits for the caller's card before routing without it");
ABSL_FLAG(std::string, phone_default_region, "RU",
          "ISO 3166-1 region for dialled and forward numbers written without a country code");
ABSL_FLAG(absl::Duration, sweep_interval, absl::Milliseconds(100),
          "how often ring, heartbeat and wrap-up timeouts are swept (their precision)");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Seconds(5),
          "how often operator desktops are told to send Heartbeat");
ABSL_FLAG(absl::Duration, heartbeat_timeout, absl::Seconds(30),
          "silence after which a logged-in operator is logged out (and their offer re-queued)");
ABSL_FLAG(absl::Duration, heartbeat_batch_window, absl::Milliseconds(20),
          "heartbeats arriving within this window share one Redis script (0: one script each); "
          "each is answered when its batch has run");
ABSL_FLAG(absl::Duration, telephony_adapter_timeout, absl::Seconds(60),
          "how long a telephony adapter may stay without a WatchTelephonyCommands stream before it "
          "is presumed dead and its waiting and reserved calls end FAILED");
ABSL_FLAG(absl::Duration, dial_expiry, absl::Seconds(60),
          "how long a telephony adapter may take to start an outbound dial it was given; a dial "
          "of an adapter that went away fails after this plus its ring timeout");
ABSL_FLAG(std::string, default_time_zone, "Europe/Moscow",
          "IANA zone of the site: campaign schedules and calling windows that name no zone");

int main(int argc, char** argv) {
  using contactcentre::calls::CallsModule;
  using contactcentre::calls::CallsModuleOptions;
  using contactcentre::common::ServiceContext;
  using contactcentre::common::ServiceModule;
  return contactcentre::common::RunService(
      argc, argv,
      {.name = "calls",
       .description =
           "Operators and presence, skill-based routing of calls on Redis, the call "
           "lifecycle with its mandatory wrap-up, help requests, and the routing configuration "
           "(operators, teams, skills, queues) on PostgreSQL.",
       .default_port = 50051,
       .migrations = &contactcentre::calls::SchemaMigrations()},
      [](ServiceContext& context) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        CallsModuleOptions options;
        options.customers_address = absl::GetFlag(FLAGS_customers_address);
        options.customer_lookup_deadline = absl::GetFlag(FLAGS_customer_lookup_deadline);
        options.default_region = absl::GetFlag(FLAGS_phone_default_region);
        if (!contactcentre::common::IsKnownPhoneRegion(options.default_region)) {
          return absl::InvalidArgumentError("--phone_default_region: unknown region");
        }
        options.sweep_interval = absl::GetFlag(FLAGS_sweep_interval);
        if (options.sweep_interval < absl::Milliseconds(10) ||
            options.sweep_interval > absl::Seconds(5)) {
          return absl::InvalidArgumentError("--sweep_interval: must be within 10ms..5s");
        }
        options.service.heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval);
        options.service.heartbeat_timeout = absl::GetFlag(FLAGS_heartbeat_timeout);
        if (options.service.heartbeat_interval <= absl::ZeroDuration() ||
            options.service.heartbeat_timeout < 2 * options.service.heartbeat_interval) {
          return absl::InvalidArgumentError(
              "--heartbeat_timeout: must be at least twice --heartbeat_interval (> 0)");
        }
        options.service.heartbeat_batch_window = absl::GetFlag(FLAGS_heartbeat_batch_window);
        if (options.service.heartbeat_batch_window < absl::ZeroDuration() ||
            options.service.heartbeat_batch_window > absl::Seconds(1)) {
          return absl::InvalidArgumentError("--heartbeat_batch_window: must be within 0..1s");
        }
        options.service.telephony_adapter_timeout = absl::GetFlag(FLAGS_telephony_adapter_timeout);
        if (options.service.telephony_adapter_timeout < absl::Seconds(1) ||
            options.service.telephony_adapter_timeout > absl::Hours(1)) {
          return absl::InvalidArgumentError("--telephony_adapter_timeout: must be within 1s..1h");
        }
        options.campaigns.dial_expiry = absl::GetFlag(FLAGS_dial_expiry);
        if (options.campaigns.dial_expiry < absl::Seconds(1) ||
            options.campaigns.dial_expiry > absl::Hours(1)) {
          return absl::InvalidArgumentError("--dial_expiry: must be within 1s..1h");
        }
        options.campaigns.default_time_zone = absl::GetFlag(FLAGS_default_time_zone);
        absl::TimeZone zone;
        if (!absl::LoadTimeZone(options.campaigns.default_time_zone, &zone)) {
          return absl::InvalidArgumentError("--default_time_zone: not an IANA time zone");
        }
        options.campaigns.default_region = options.default_region;
        return std::make_unique<CallsModule>(context, std::move(options));
      });
}
