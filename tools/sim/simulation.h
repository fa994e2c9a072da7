// The simulator's engine: a working day of a contact centre played against the real services
// over gRPC, and nothing else. Telephony offers calls (Poisson arrivals per queue, a rate
// profile over the day) and reports connects and hang-ups; callers abandon after a patience
// drawn per call; operator desktops log in, heartbeat, accept offers after a human delay (now
// and then rejecting or missing one), talk for a drawn handle time, search the knowledge base,
// ask their supervisor for help with abusive callers and write wrap-ups; customers answer the
// post-call survey; supervisors answer help requests and evaluate some calls; an outbound
// payment-reminder run dials through a campaign.
//
// Simulated time runs `time_scale` times faster than real time. Every delay the simulator
// chooses (arrivals, patience, accept delays, talk, wrap-up) is drawn in simulated time and
// slept scaled; the services' own timers (ring timeout, wrap-up limit, service-level
// threshold) stay in real time, so figures measured in real time (waits, service level) are
// compared with the services' in real time.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/sim/demo_data.h"

namespace contactcentre::sim {

struct SimOptions {
  // The same seed draws the same arrivals, callers, patience and handle times.
  uint64_t seed = 1;
  // Simulated seconds per real second.
  double time_scale = 60;
  // Simulated time during which calls arrive; then the centre drains (calls in progress end,
  // wrap-ups are written). Zero: until stopped.
  absl::Duration duration = absl::Hours(1);
  // Simulated time of day at which the run starts (for the day's rate profile).
  absl::Duration start_time_of_day = absl::Hours(9);
  // Mean inbound arrivals per simulated hour over the whole centre, before the day profile.
  double calls_per_hour = 300;
  // Whether the arrival rate follows a working day's profile (a morning and an afternoon
  // peak); off, it is constant.
  bool day_profile = true;
  // "lognormal" (realistic: most calls short, a long tail) or "exponential" (as Erlang C
  // assumes). Means come from each queue.
  std::string handle_time_distribution = "lognormal";
  // Mean patience of callers (exponential); zero: callers never abandon.
  absl::Duration mean_patience = absl::Minutes(3);
  // Mean delay between an offer reaching a desktop and the operator accepting it (lognormal).
  absl::Duration mean_accept_delay = absl::Seconds(3);
  // Shares of offers an operator rejects or lets ring out.
  double reject_share = 0.02;
  double miss_share = 0.01;
  // Share of callers whose number is not on any card.
  double unknown_caller_share = 0.1;
  // Share of selected post-call surveys the customer answers.
  double survey_answer_share = 0.7;
  // Share of completed calls a supervisor evaluates.
  double evaluation_share = 0.1;
  // Share of calls during which the operator searches the knowledge base.
  double knowledge_search_share = 0.5;
  // Share of calls with an abusive caller on which the operator asks for help.
  double help_share_abusive = 0.8;
  // Share of calls after which the operator takes a break, and the break's mean length.
  double break_share = 0.03;
  absl::Duration mean_break = absl::Minutes(10);
  // Payment reminders dialled by the outbound campaign (0: no outbound run).
  int outbound_reminders = 30;
  // After arrivals stop: how long (real) to wait for calls in progress before hanging up what
  // still waits.
  absl::Duration drain_timeout = absl::Seconds(60);
  // A progress line every this much real time (zero: none).
  absl::Duration progress_interval = absl::Seconds(10);
  // Threads that play telephony and callers (offers, hang-ups, surveys).
  int telephony_threads = 8;
  // The telephony adapter name the simulator offers calls as.
  std::string adapter = "cc-sim";
};

// What the simulator did and saw, by its own count.
struct QueueCounts {
  int64_t offered = 0;
  int64_t answered = 0;
  int64_t abandoned = 0;
  // Answered within the queue's service-level threshold (real time, as the services see it).
  int64_t answered_within_threshold = 0;
  // Abandoned within the threshold (for the service-level variants that count them).
  int64_t abandoned_within_threshold = 0;
  absl::Duration total_wait;  // of answered calls, offer to accept (real)
  absl::Duration total_talk;  // of answered calls, connect to hang-up (real)
};

struct SimReport {
  absl::Duration real_time;
  absl::Duration simulated_time;
  int64_t offered = 0;
  int64_t answered = 0;
  int64_t abandoned = 0;
  int64_t overflowed = 0;
  int64_t offer_errors = 0;
  int64_t rejected = 0;
  int64_t missed = 0;
  int64_t wrap_ups = 0;
  int64_t knowledge_searches = 0;
  int64_t precedents_linked = 0;
  int64_t help_requests = 0;
  int64_t help_answered = 0;
  int64_t surveys_offered = 0;
  int64_t surveys_answered = 0;
  int64_t evaluations = 0;
  int64_t breaks = 0;
  int64_t outbound_dials = 0;
  int64_t outbound_answered = 0;
  // The telephony adapter's side: distinct commands received on WatchTelephonyCommands (each
  // acknowledged as carried out), of which bridges of an operator to a caller.
  int64_t telephony_commands = 0;
  int64_t bridges = 0;
  int64_t errors = 0;      // unexpected RPC failures (logged)
  int64_t unfinished = 0;  // calls neither abandoned nor wrapped up when the run ended (logged)
  std::map<std::string, QueueCounts> queues;  // by queue name
  // The centre's post-call survey and scorecard, where the answers and evaluations went.
  std::string post_call_survey;
  std::string scorecard;

  // Service level: answered within threshold / offered (the default definition, short
  // abandons not excluded), and the average speed of answer (real).
  double ServiceLevel() const;
  absl::Duration AverageSpeedOfAnswer() const;
  // A summary for people, and JSON for tests and tools.
  std::string ToText() const;
  std::string ToJson() const;
};

// Plays the centre until `options.duration` of simulated time has passed (or `stop` turns true),
// then drains it and reports. `centre` is what LoadDemoCentre (or a scenario) set up.
absl::StatusOr<SimReport> RunSimulation(const SimOptions& options, const SuiteChannels& channels,
                                        const DemoCentre& centre, const std::atomic<bool>& stop);

}  // namespace contactcentre::sim
