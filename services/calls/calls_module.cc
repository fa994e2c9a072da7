#include "services/calls/calls_module.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"

namespace contactcentre::calls {
namespace {

std::string ConsumerName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

}  // namespace

absl::Status LiveDeletionGuard::CheckOperatorRemovable(absl::string_view site,
                                                       absl::string_view operator_id) {
  Router router(redis_, std::string(site));
  CC_ASSIGN_OR_RETURN(google::protobuf::Struct op, router.Read("op", operator_id));
  auto state = op.fields().find("state");
  if (state == op.fields().end() || state->second.string_value().empty() ||
      state->second.string_value() == "OFFLINE") {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrFormat("OPERATOR_NOT_OFFLINE: operators/%s is %s; log them out first", operator_id,
                      state->second.string_value()));
}

absl::Status LiveDeletionGuard::CheckQueueRemovable(absl::string_view site,
                                                    absl::string_view queue_id) {
  Router router(redis_, std::string(site));
  CC_ASSIGN_OR_RETURN(
      common::RedisReply waiting,
      redis_->Command({"ZCARD", absl::StrCat(router.prefix(), ":q:", queue_id, ":calls")}));
  if (waiting.integer > 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("QUEUE_HAS_CALLS: %d calls wait in queues/%s", waiting.integer, queue_id));
  }
  // Offers in flight: few at any time, so they are looked at one by one.
  CC_ASSIGN_OR_RETURN(
      common::RedisReply offered,
      redis_->Command({"ZRANGE", absl::StrCat(router.prefix(), ":reservations"), "0", "-1"}));
  for (const common::RedisReply& call_id : offered.elements) {
    CC_ASSIGN_OR_RETURN(
        common::RedisReply queue,
        redis_->Command({"HGET", absl::StrCat(router.prefix(), ":call:", call_id.str), "queue"}));
    if (queue.str == queue_id) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "QUEUE_HAS_CALLS: call %s of queues/%s is being offered", call_id.str, queue_id));
    }
  }
  return absl::OkStatus();
}

CallsModule::CallsModule(common::ServiceContext& context, CallsModuleOptions options)
    : options_(std::move(options)),
      router_(&context.redis, context.config.site),
      routing_writer_(&context.redis),
      deletion_guard_(&context.redis),
      store_(&context.pg, &routing_writer_, &deletion_guard_,
             AdminStoreOptions{.default_region = options_.default_region}),
      admin_service_(&store_),
      customers_(options_.customers_address, options_.customer_lookup_deadline),
      views_(&router_, context.config.site),
      calls_service_(
          &router_, &context.pg, &customers_,
          [this](const std::string& e164) { return store_.FindQueueIdByDialledNumber(e164); },
          &views_, options_.service),
      campaigns_service_(&router_, &context.pg, &customers_, &context.events, &context.outbox,
                         options_.campaigns),
      relay_(&context.pg, &context.redis, &context.events,
             {.site = context.config.site, .consumer = ConsumerName()}) {}

CallsModule::~CallsModule() { OnShutdown(); }

void CallsModule::OnReady() {
  if (absl::Status status = store_.RepublishAll(); !status.ok()) {
    // Serving goes on: routing of what could not be written is retried every second.
    common::LogWarning(absl::StrCat("writing the routing configuration to Redis: ",
                                    status.ToString(), "; retrying in the background"));
  }
  if (absl::Status status = relay_.EnsureGroup(); !status.ok()) {
    common::LogWarning(absl::StrCat("creating the relay's consumer group: ", status.ToString()));
  }
  relay_.Start();
  views_.Start();
  sweeper_ = std::thread([this] { Sweep(); });
  campaigns_service_.Start();
}

void CallsModule::OnShutdown() {
  if (stopping_.exchange(true)) return;
  if (sweeper_.joinable()) sweeper_.join();
  campaigns_service_.Stop();
  views_.Stop();
  relay_.Stop();
}

void CallsModule::Sweep() {
  absl::Time next_flush = absl::Now() + options_.routing_flush_interval;
  // Start-up wrote the opening hours (RepublishAll); they are rewritten every hour after.
  absl::Time next_opening_hours = absl::Now() + absl::Hours(1);
  absl::Time quiet_until = absl::InfinitePast();
  while (!stopping_.load()) {
    absl::SleepFor(options_.sweep_interval);
    absl::Status status = router_.Run(Script::kSweep, ScriptArgs().Set("limit", 500)).status();
    if (status.ok() && absl::Now() >= next_flush) {
      next_flush = absl::Now() + options_.routing_flush_interval;
      status = store_.FlushPendingRouting();
    }
    if (status.ok() && absl::Now() >= next_opening_hours) {
      next_opening_hours = absl::Now() + absl::Hours(1);
      status = store_.RefreshOpeningHours();
    }
    // One warning per ten seconds of a lasting outage, not ten a second.
    if (!status.ok() && absl::Now() >= quiet_until) {
      common::LogWarning(absl::StrCat("sweeping timeouts: ", status.ToString()));
      quiet_until = absl::Now() + absl::Seconds(10);
    }
  }
}

}  // namespace contactcentre::calls
