// Predictive against progressive dialling on the same simulated load: the dialler's pacing
// controller (services/calls/pacing.h) drives a discrete-event simulation of customers who
// answer, machines and no-answers, and operators who talk and wrap up. Prints, per scenario,
// the drop rate (capped) and the operators' idle time between calls for both modes.
//
//   cc-bench-campaigns                      # 6 scenarios, 20,000 attempts each
//   cc-bench-campaigns --attempts=2000      # quicker
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "services/calls/pacing.h"

ABSL_FLAG(int, attempts, 20000, "dial attempts per scenario and mode");
ABSL_FLAG(double, max_drop_rate, 0.03, "the drop-rate cap of the predictive campaigns");
ABSL_FLAG(bool, smoke, false, "tiny sizes, to prove the tool runs (CI)");
ABSL_FLAG(uint64_t, seed, 1, "random seed; the same seed gives the same figures");

namespace {

using contactcentre::calls::DiallerSimulation;
using contactcentre::calls::DiallerSimulationResult;
using contactcentre::calls::PacingConfig;
using contactcentre::calls::SimulateDialler;

struct Scenario {
  const char* name;
  int operators;
  double human_answer_rate;
  double machine_rate;
  int talk_seconds;
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compares predictive and progressive dialling on the same simulated load: drop rate and "
      "operator idle time per connected call.\nUsage: cc-bench-campaigns [--attempts=N]");
  absl::ParseCommandLine(argc, argv);
  const int attempts = absl::GetFlag(FLAGS_smoke) ? 2000 : absl::GetFlag(FLAGS_attempts);
  PacingConfig pacing;
  pacing.max_drop_rate = absl::GetFlag(FLAGS_max_drop_rate);
  const Scenario scenarios[] = {
      {"reminders, 20 operators, 30% reached", 20, 0.30, 0.10, 90},
      {"reminders, 50 operators, 30% reached", 50, 0.30, 0.10, 90},
      {"surveys, 20 operators, 20% reached", 20, 0.20, 0.15, 180},
      {"call-backs, 10 operators, 50% reached", 10, 0.50, 0.05, 120},
      {"collections, 100 operators, 25% reached", 100, 0.25, 0.10, 60},
      {"small team, 5 operators, 35% reached", 5, 0.35, 0.10, 90},
  };
  std::printf(
      "cc-bench-campaigns: %d attempts per scenario and mode, drop cap %.1f%%, seed %llu\n\n",
      attempts, 100 * pacing.max_drop_rate,
      static_cast<unsigned long long>(absl::GetFlag(FLAGS_seed)));
  std::printf("%-42s %-12s %8s %8s %7s %9s %10s %6s %6s\n", "scenario", "mode", "dialled",
              "answered", "drops", "drop rate", "idle/call", "occup.", "ratio");
  bool all_under_cap = true;
  bool all_less_idle = true;
  for (const Scenario& scenario : scenarios) {
    DiallerSimulation load;
    load.operators = scenario.operators;
    load.attempts = attempts;
    load.human_answer_rate = scenario.human_answer_rate;
    load.machine_rate = scenario.machine_rate;
    load.mean_talk = absl::Seconds(scenario.talk_seconds);
    load.seed = absl::GetFlag(FLAGS_seed);
    const DiallerSimulationResult progressive = SimulateDialler(load, false, pacing);
    const DiallerSimulationResult predictive = SimulateDialler(load, true, pacing);
    for (const auto* run : {&progressive, &predictive}) {
      std::printf("%-42s %-12s %8lld %8lld %7lld %8.2f%% %9.1fs %6.2f %6.2f\n",
                  run == &progressive ? scenario.name : "",
                  run == &progressive ? "progressive" : "predictive",
                  static_cast<long long>(run->dialled), static_cast<long long>(run->answered),
                  static_cast<long long>(run->dropped), 100 * run->drop_rate,
                  absl::ToDoubleSeconds(run->idle_per_call), run->occupancy, run->final_ratio);
    }
    const double idle_ratio = absl::ToDoubleSeconds(predictive.idle_per_call) /
                              absl::ToDoubleSeconds(progressive.idle_per_call);
    std::printf("%-42s %-12s idle predictive / progressive: %.2f\n", "", "", idle_ratio);
    all_under_cap &= predictive.drop_rate <= pacing.max_drop_rate;
    all_less_idle &= idle_ratio < 1;
  }
  std::printf(
      "\ndrop rate under the cap in every scenario: %s; less idle time than progressive in "
      "every scenario: %s\n",
      all_under_cap ? "yes" : "NO", all_less_idle ? "yes" : "NO");
  return all_under_cap ? 0 : 1;
}
