#include "services/calls/pacing.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace contactcentre::calls {
namespace {

TEST(PacingTest, PredictiveKeepsDropsUnderTheCapAndIdlesLessThanProgressive) {
  DiallerSimulation load;
  load.operators = 20;
  load.attempts = 12000;
  PacingConfig pacing;
  pacing.max_drop_rate = 0.03;
  const DiallerSimulationResult progressive = SimulateDialler(load, false, pacing);
  const DiallerSimulationResult predictive = SimulateDialler(load, true, pacing);
  for (const auto* run : {&progressive, &predictive}) {
    std::printf(
        "%s: dialled %lld, answered %lld, dropped %lld (%.2f%%), idle per call %.1f s, "
        "occupancy %.2f, ratio %.2f\n",
        run == &progressive ? "progressive" : "predictive", static_cast<long long>(run->dialled),
        static_cast<long long>(run->answered), static_cast<long long>(run->dropped),
        100 * run->drop_rate, absl::ToDoubleSeconds(run->idle_per_call), run->occupancy,
        run->final_ratio);
  }
  EXPECT_EQ(progressive.dialled, 12000);
  EXPECT_EQ(predictive.dialled, 12000);
  EXPECT_EQ(progressive.dropped, 0);
  EXPECT_LE(predictive.drop_rate, 0.03);
  EXPECT_GT(predictive.final_ratio, 1.0);
  // Answered customers are either connected or dropped, never lost.
  EXPECT_EQ(predictive.answered, predictive.connected + predictive.dropped);
  EXPECT_LT(predictive.idle_per_call, progressive.idle_per_call * 0.9);
}

TEST(PacingTest, NeverFewerLinesThanFreeOperators) {
  PacingConfig config;
  config.initial_ratio = 0.5;
  PacingController controller(config);
  EXPECT_EQ(controller.DialsToStart(4, 0, 0), 4);
  EXPECT_EQ(controller.DialsToStart(4, 0, 4), 0);
}

TEST(PacingTest, RatioFallsWhenDropsNearTheCap) {
  PacingConfig config;
  config.initial_ratio = 3;
  config.adjust_interval = absl::Seconds(1);
  PacingController controller(config);
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 100; ++i) controller.RecordDial(now, true, i % 10 == 0);  // 10% drops
  EXPECT_LT(controller.Adjust(now), 3.0);
  EXPECT_GE(controller.ratio(), 1.0);
  EXPECT_EQ(controller.DialsToStart(0, 0, 0), 0);
}

TEST(PacingTest, RatioRisesToTheAnswerRateCeilingWithoutDrops) {
  PacingConfig config;
  config.adjust_interval = absl::Seconds(1);
  config.max_ratio = 10;
  PacingController controller(config);
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 100; ++i) controller.RecordDial(now, i % 4 == 0, false);  // 25% answer
  for (int step = 0; step < 50; ++step) controller.Adjust(now + absl::Seconds(step));
  // At most 1.5 expected answers per operator: 1.5 / 0.25.
  EXPECT_NEAR(controller.ratio(), 6.0, 1e-9);
  EXPECT_EQ(controller.DialsToStart(2, 0, 3), 9);  // 12 lines, 3 ringing
  EXPECT_EQ(controller.DialsToStart(1, 1, 0), 9);  // wrap-ups count half
  EXPECT_EQ(controller.DialsToStart(0, 0, 5), 0);
}

TEST(RetryTest, DefaultsAndBackOffPerOutcome) {
  v1::AttemptPolicy policy;
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time at = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 1, 1, at, utc).next_attempt,
            at + absl::Minutes(10));
  EXPECT_EQ(DecideRetry(policy, v1::DIAL_OUTCOME_NO_ANSWER, 1, 1, at, utc).next_attempt,
            at + absl::Hours(2));
  const RetryDecision machine =
      DecideRetry(policy, v1::DIAL_OUTCOME_ANSWERING_MACHINE, 1, 1, at, utc);
  EXPECT_EQ(machine.next_attempt, absl::FromCivil(absl::ToCivilDay(at, utc) + 1, utc));
  const RetryDecision invalid = DecideRetry(policy, v1::DIAL_OUTCOME_INVALID_NUMBER, 1, 1, at, utc);
  EXPECT_TRUE(invalid.final);
  EXPECT_EQ(invalid.final_state, v1::CAMPAIGN_ENTRY_STATE_INVALID_NUMBER);
  EXPECT_TRUE(DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 5, 5, at, utc).final);

  v1::RetryRule* rule = policy.add_retry_rules();
  rule->set_outcome(v1::DIAL_OUTCOME_BUSY);
  rule->mutable_delay()->set_seconds(60);
  rule->set_backoff_multiplier(2);
  rule->mutable_max_delay()->set_seconds(200);
  rule->set_max_attempts(4);
  EXPECT_EQ(DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 1, 1, at, utc).next_attempt,
            at + absl::Seconds(60));
  EXPECT_EQ(DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 2, 2, at, utc).next_attempt,
            at + absl::Seconds(120));
  EXPECT_EQ(DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 3, 3, at, utc).next_attempt,
            at + absl::Seconds(200));
  const RetryDecision exhausted = DecideRetry(policy, v1::DIAL_OUTCOME_BUSY, 4, 4, at, utc);
  EXPECT_TRUE(exhausted.final);
  EXPECT_EQ(exhausted.final_state, v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED);
}

}  // namespace
}  // namespace contactcentre::calls
