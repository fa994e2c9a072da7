// How many numbers an outbound campaign dials, and when to retry an entry.
//
// Predictive pacing dials ahead of free operators: `ratio` lines per free operator, so that
// with an answer rate `a` about ratio * a customers answer per free operator. Too high a ratio
// answers more customers than there are operators, and those calls are dropped; the share of
// drops among answered calls is capped by law and by the campaign (PacingSettings.
// max_drop_rate). The controller measures answers and drops over a sliding window and, every
// adjust interval, sets the ratio to aim / a, where `aim` (expected answers per operator) is
// steered towards a drop rate of 60% of the cap: raised gently while drops stay under it,
// lowered faster while they are over it.
// Operators in wrap-up count as about to be free: a number dialled now rings for several
// seconds, by when they usually are, which is where most of predictive dialling's gain on
// idle time comes from.
#pragma once

#include <deque>

#include "absl/time/time.h"
#include "contactcentre/calls/v1/campaigns.pb.h"

namespace contactcentre::calls {

struct PacingConfig {
  double max_drop_rate = 0.03;
  double initial_ratio = 1.0;
  double max_ratio = 3.0;
  absl::Duration adjust_interval = absl::Seconds(5);
  // The drop rate is measured over this window; the campaign's whole run when infinite.
  absl::Duration window = absl::InfiniteDuration();
};

// The settings of a campaign with the contract's defaults filled in.
PacingConfig PacingConfigOf(const v1::PacingSettings& settings);

class PacingController {
 public:
  explicit PacingController(PacingConfig config);

  // One dial reached its end: answered by a person (and then connected or dropped) or not.
  void RecordDial(absl::Time at, bool answered_human, bool dropped);
  // Recomputes the ratio when the adjust interval has passed; returns the current ratio.
  double Adjust(absl::Time now);
  // Lines to start now: ratio * (free operators + operators in wrap-up, who will be free by
  // the time a customer answers), less the dials still ringing.
  int DialsToStart(int free_operators, int wrapping_up, int dials_ringing) const;

  double ratio() const { return ratio_; }
  // Over the window: answered / finished dials, drops / (answered), both 0 when unmeasured.
  double answer_rate() const;
  double drop_rate() const;

 private:
  struct Dial {
    absl::Time at;
    bool answered;
    bool dropped;
  };
  void Expire(absl::Time now);
  double RecentDropRate(absl::Time now) const;

  const PacingConfig config_;
  double ratio_;
  // Expected answers per soon-free operator the ratio aims at; 0 until first measured.
  double aim_ = 0;
  absl::Time next_adjust_ = absl::InfinitePast();
  std::deque<Dial> dials_;
  int answered_ = 0;
  int dropped_ = 0;
  // Totals since the start: the cap holds over the whole run too.
  int64_t total_answered_ = 0;
  int64_t total_dropped_ = 0;
};

// A discrete-event simulation of one campaign with simulated customers and operators, to
// compare progressive and predictive dialling on the same load (the test and the benchmark).
struct DiallerSimulation {
  int operators = 20;
  int attempts = 10000;
  double human_answer_rate = 0.30;               // answered by a person
  double machine_rate = 0.10;                    // answered by a machine (not bridged)
  absl::Duration mean_ring = absl::Seconds(12);  // until answer or no answer
  absl::Duration mean_talk = absl::Seconds(90);  // exponential
  absl::Duration wrap_up = absl::Seconds(10);
  absl::Duration drop_timeout = absl::Seconds(2);
  uint64_t seed = 1;
};

struct DiallerSimulationResult {
  int64_t dialled = 0;
  int64_t answered = 0;  // by a person, connected or dropped
  int64_t connected = 0;
  int64_t dropped = 0;
  double drop_rate = 0;  // dropped / answered
  // Operators' idle time (available, or reserved while a number rings) per connected call.
  absl::Duration idle_per_call;
  // Share of logged-in time spent talking or wrapping up.
  double occupancy = 0;
  absl::Duration simulated_time;
  double final_ratio = 1;
};

// Progressive: one dial per free operator, who is reserved while it rings. Predictive: the
// controller's ratio, operators free until a customer answers.
DiallerSimulationResult SimulateDialler(const DiallerSimulation& load, bool predictive,
                                        const PacingConfig& pacing);

// When an entry is retried after an attempt, or why it is final.
struct RetryDecision {
  bool final = false;
  v1::CampaignEntryState final_state = v1::CAMPAIGN_ENTRY_STATE_UNSPECIFIED;
  absl::Time next_attempt;
  std::string reason;
};

// `attempts` counts the entry's dials including this one; `attempts_with_outcome` those that
// ended with `outcome` including this one. Next-day retries go to the next local midnight in
// `zone` (the calling window then opens the day).
RetryDecision DecideRetry(const v1::AttemptPolicy& policy, v1::DialOutcome outcome, int attempts,
                          int attempts_with_outcome, absl::Time at, const absl::TimeZone& zone);

}  // namespace contactcentre::calls
