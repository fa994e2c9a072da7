// cc-sim: a living contact centre on one machine. Loads the demo centre into the running
// services and plays working days against them over gRPC; see kUsage and docs/simulator.md.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "tools/sim/demo_data.h"
#include "tools/sim/plain_centre.h"
#include "tools/sim/simulation.h"

ABSL_FLAG(std::string, calls_address, "127.0.0.1:50051", "calls service address (or a list)");
ABSL_FLAG(std::string, customers_address, "127.0.0.1:50052", "customers service address");
ABSL_FLAG(std::string, surveys_address, "127.0.0.1:50053", "surveys service address");
ABSL_FLAG(std::string, knowledge_address, "127.0.0.1:50054", "knowledge service address");
ABSL_FLAG(std::string, analytics_address, "127.0.0.1:50055", "analytics service address");

ABSL_FLAG(std::string, scenario, "demo",
          "demo: the demo centre (queues, operators, customers, knowledge, surveys); plain: one "
          "queue and --plain_operators operators (Erlang C's setting, steady load)");
ABSL_FLAG(bool, load_only, false, "load the demo centre and exit without simulating");
ABSL_FLAG(std::string, language, "ru", "language of the demo centre: ru or en");
ABSL_FLAG(int, demo_operators, 24, "operators of the demo centre (supervisors on top)");
ABSL_FLAG(int, demo_customers, 2000, "customer cards of the demo centre");
ABSL_FLAG(std::string, prefix, "",
          "prefix of every display name and login the simulator creates: another prefix, "
          "another centre in the same services");
ABSL_FLAG(std::string, centre_site, "main", "the calls service's site of the centre");
ABSL_FLAG(int, plain_operators, 10, "plain scenario: operators");
ABSL_FLAG(absl::Duration, plain_talk_time, absl::Seconds(60),
          "plain scenario: mean talk time (simulated)");
ABSL_FLAG(absl::Duration, plain_service_level_threshold, absl::Seconds(20),
          "plain scenario: the queue's service-level threshold (real time, as the services "
          "measure it)");

ABSL_FLAG(uint64_t, seed, 1, "seed: the same seed draws the same calls");
ABSL_FLAG(double, time_scale, 60, "simulated seconds per real second (60: an hour in a minute)");
ABSL_FLAG(absl::Duration, duration, absl::Hours(8),
          "simulated time during which calls arrive (0: until Ctrl-C)");
ABSL_FLAG(absl::Duration, start_time, absl::Hours(9),
          "simulated time of day at the start, for the day's rate profile (9h = 09:00)");
ABSL_FLAG(double, calls_per_hour, 300, "mean inbound calls per simulated hour, whole centre");
ABSL_FLAG(double, calls_per_second, 0,
          "steady load: calls per real second (overrides --calls_per_hour, no day profile)");
ABSL_FLAG(bool, day_profile, true, "arrival rate follows a working day's profile");
ABSL_FLAG(std::string, handle_time_distribution, "lognormal", "lognormal or exponential");
ABSL_FLAG(absl::Duration, patience, absl::Minutes(3),
          "callers' mean patience (simulated, exponential); 0: callers never abandon");
ABSL_FLAG(absl::Duration, accept_delay, absl::Seconds(3),
          "operators' mean delay before accepting an offer (simulated)");
ABSL_FLAG(double, reject_share, 0.02, "share of offers rejected");
ABSL_FLAG(double, miss_share, 0.01,
          "share of offers left to ring out (costs the real ring timeout)");
ABSL_FLAG(double, survey_answer_share, 0.7, "share of selected post-call surveys answered");
ABSL_FLAG(double, evaluation_share, 0.1, "share of calls a supervisor evaluates");
ABSL_FLAG(double, knowledge_search_share, 0.5, "share of calls with a knowledge-base search");
ABSL_FLAG(double, break_share, 0.03, "share of calls after which the operator takes a break");
ABSL_FLAG(int, outbound_reminders, 30, "payment reminders of the outbound run (0: none)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(60),
          "after the last arrival: real time allowed for calls in progress to end");
ABSL_FLAG(absl::Duration, progress_interval, absl::Seconds(10), "a progress line this often");
ABSL_FLAG(std::string, report_json, "", "write the final report as JSON to this file");

namespace contactcentre::sim {
namespace {

constexpr char kUsage[] = R"(cc-sim: plays a contact centre's working day against the running suite.

It drives the real services over gRPC, and nothing else: telephony offering calls (Poisson
arrivals per queue, a rate profile over the day), callers who abandon after their patience runs
out, operator desktops (login, heartbeats, accepting after a human delay, now and then rejecting
or missing an offer, talking, knowledge-base searches and precedents, help requests on abusive
callers, wrap-ups with realistic dispositions and notes, breaks), post-call survey answers,
supervisors answering help requests and evaluating calls, and an outbound payment-reminder run
through a campaign (the simulator is its dialler). It prints progress as it goes and, at the
end, what it did by its own count: offered, answered, abandoned, the service level and average
speed of answer it observed.

Simulated time runs --time_scale times faster than real time: every delay the simulator draws is
slept scaled; the services' own timers (ring timeout, wrap-up limit, service-level threshold)
stay real, so waits and the service level are measured in real time, as the services do.

Usage:
  cc-sim [flags]                           load the demo centre (idempotent), play 8 hours
  cc-sim --load_only                       load the demo centre and exit
  cc-sim --duration=1h --seed=7 --report_json=out.json
  cc-sim --scenario=plain --plain_operators=20 --calls_per_second=50 --duration=10m
         --time_scale=1 --patience=0         steady load: 20 operators, 50 calls/s, 10 minutes

Service addresses: --<service>_address or CC_<SERVICE>_ADDRESS (host:port or a list of
replicas). Every flag may also be set by its CC_<FLAG> environment variable. Ctrl-C stops the
arrivals, lets the centre drain and prints the report.)";

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested.store(true); }

int Main() {
  SuiteChannels channels;
  channels.calls = common::MakeChannel(absl::GetFlag(FLAGS_calls_address));
  channels.customers = common::MakeChannel(absl::GetFlag(FLAGS_customers_address));
  channels.surveys = common::MakeChannel(absl::GetFlag(FLAGS_surveys_address));
  channels.knowledge = common::MakeChannel(absl::GetFlag(FLAGS_knowledge_address));
  channels.analytics = common::MakeChannel(absl::GetFlag(FLAGS_analytics_address));

  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  absl::StatusOr<DemoCentre> centre;
  if (scenario == "demo") {
    DemoOptions demo;
    demo.language = absl::GetFlag(FLAGS_language);
    demo.operators = absl::GetFlag(FLAGS_demo_operators);
    demo.customers = absl::GetFlag(FLAGS_demo_customers);
    demo.prefix = absl::GetFlag(FLAGS_prefix);
    demo.seed = absl::GetFlag(FLAGS_seed);
    demo.site = absl::GetFlag(FLAGS_centre_site);
    std::printf("sim: loading the demo centre (%s, %d operators, %d customers)\n",
                demo.language.c_str(), demo.operators, demo.customers);
    std::fflush(stdout);
    absl::Time last_progress = absl::InfinitePast();
    centre = LoadDemoCentre(demo, channels, [&](const std::string& what, int done, int total) {
      if (absl::Now() - last_progress < absl::Seconds(2) && done != total) return;
      last_progress = absl::Now();
      std::printf("sim: loading %s: %d/%d\n", what.c_str(), done, total);
      std::fflush(stdout);
    });
    if (centre.ok() && centre->site.empty()) centre->site = demo.site;
    if (centre.ok()) {
      std::printf(
          "sim: demo centre ready: %zu queues, %zu operators, %zu customers, %d articles, %d "
          "precedents, %d directory entries\n",
          centre->queues.size(), centre->operators.size(), centre->customers.size(),
          centre->articles, centre->precedents, centre->directory_entries);
    }
  } else if (scenario == "plain") {
    PlainCentreOptions plain;
    plain.operators = absl::GetFlag(FLAGS_plain_operators);
    plain.mean_talk_time = absl::GetFlag(FLAGS_plain_talk_time);
    plain.service_level_threshold = absl::GetFlag(FLAGS_plain_service_level_threshold);
    plain.prefix = absl::GetFlag(FLAGS_prefix).empty()
                       ? absl::StrFormat("plain-%d", absl::ToUnixSeconds(absl::Now()))
                       : absl::GetFlag(FLAGS_prefix);
    plain.site = absl::GetFlag(FLAGS_centre_site);
    centre = CreatePlainCentre(plain, channels);
    if (centre.ok()) {
      std::printf("sim: plain centre ready: %s with %zu operators\n",
                  centre->queues[0].name.c_str(), centre->operators.size());
    }
  } else {
    std::fprintf(stderr, "cc-sim: --scenario must be demo or plain, not \"%s\"\n",
                 scenario.c_str());
    return 2;
  }
  if (!centre.ok()) {
    std::fprintf(stderr, "cc-sim: setting up the centre failed: %s\n",
                 centre.status().ToString().c_str());
    return 1;
  }
  if (absl::GetFlag(FLAGS_load_only)) return 0;

  SimOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.time_scale = absl::GetFlag(FLAGS_time_scale);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.start_time_of_day = absl::GetFlag(FLAGS_start_time);
  options.calls_per_hour = absl::GetFlag(FLAGS_calls_per_hour);
  options.day_profile = absl::GetFlag(FLAGS_day_profile);
  if (absl::GetFlag(FLAGS_calls_per_second) > 0) {
    options.calls_per_hour = absl::GetFlag(FLAGS_calls_per_second) * 3600 / options.time_scale;
    options.day_profile = false;
  }
  options.handle_time_distribution = absl::GetFlag(FLAGS_handle_time_distribution);
  if (options.handle_time_distribution != "lognormal" &&
      options.handle_time_distribution != "exponential") {
    std::fprintf(stderr, "cc-sim: --handle_time_distribution must be lognormal or exponential\n");
    return 2;
  }
  if (options.time_scale <= 0 || options.calls_per_hour <= 0) {
    std::fprintf(stderr, "cc-sim: --time_scale and the call rate must be positive\n");
    return 2;
  }
  options.mean_patience = absl::GetFlag(FLAGS_patience);
  options.mean_accept_delay = absl::GetFlag(FLAGS_accept_delay);
  options.reject_share = absl::GetFlag(FLAGS_reject_share);
  options.miss_share = absl::GetFlag(FLAGS_miss_share);
  options.survey_answer_share = absl::GetFlag(FLAGS_survey_answer_share);
  options.evaluation_share = absl::GetFlag(FLAGS_evaluation_share);
  options.knowledge_search_share = absl::GetFlag(FLAGS_knowledge_search_share);
  options.break_share = absl::GetFlag(FLAGS_break_share);
  options.outbound_reminders = absl::GetFlag(FLAGS_outbound_reminders);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.progress_interval = absl::GetFlag(FLAGS_progress_interval);
  std::printf(
      "sim: playing %s of simulated time at %gx (seed %llu, %.0f calls/hour)\n",
      options.duration > absl::ZeroDuration() ? absl::FormatDuration(options.duration).c_str()
                                              : "unlimited",
      options.time_scale, static_cast<unsigned long long>(options.seed), options.calls_per_hour);
  std::fflush(stdout);

  absl::StatusOr<SimReport> report = RunSimulation(options, channels, *centre, stop_requested);
  if (!report.ok()) {
    std::fprintf(stderr, "cc-sim: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::fputs(report->ToText().c_str(), stdout);
  std::fflush(stdout);
  if (const std::string path = absl::GetFlag(FLAGS_report_json); !path.empty()) {
    std::ofstream out(path);
    out << report->ToJson() << "\n";
    if (!out) {
      std::fprintf(stderr, "cc-sim: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace contactcentre::sim

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(argc, argv, contactcentre::sim::kUsage);
  return contactcentre::sim::Main();
}
