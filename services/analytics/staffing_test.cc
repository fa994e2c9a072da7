// Erlang C staffing without a server: the formulas against an independent computation and a
// published worked example, the search for the agents needed, and request validation.
#include "services/analytics/staffing.h"

#include <gtest/gtest.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/pg_util.h"

namespace contactcentre::analytics {
namespace {

// Erlang C straight from the textbook formula, term by term in log space (a different
// algorithm from the service's Erlang B recursion):
//   C(N, A) = (A^N/N! · N/(N-A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N-A)).
double TextbookErlangC(int n, double a) {
  const double log_top = n * std::log(a) - std::lgamma(n + 1.0) + std::log(n / (n - a));
  double sum = 0;
  for (int k = 0; k < n; ++k) sum += std::exp(k * std::log(a) - std::lgamma(k + 1.0) - log_top);
  return 1 / (sum + 1);
}

double Seconds(const google::protobuf::Duration& duration) {
  return duration.seconds() + duration.nanos() / 1e9;
}

google::protobuf::Duration Secs(double seconds) {
  google::protobuf::Duration duration;
  duration.set_seconds(static_cast<int64_t>(seconds));
  duration.set_nanos(static_cast<int32_t>((seconds - static_cast<int64_t>(seconds)) * 1e9));
  return duration;
}

// The classic worked example: 100 calls per 30 minutes, AHT 180 s, 80 % answered within 20 s.
v1::ForecastStaffingRequest ClassicRequest() {
  v1::ForecastStaffingRequest request;
  request.set_calls_per_hour(200);
  *request.mutable_average_handle_time() = Secs(180);
  request.mutable_service_level_goal()->set_target(0.8);
  *request.mutable_service_level_goal()->mutable_threshold() = Secs(20);
  return request;
}

TEST(ErlangC, MatchesTheTextbookFormula) {
  for (double a : {0.5, 1.0, 2.5, 10.0, 37.3, 120.0}) {
    for (int n = static_cast<int>(a) + 1; n < static_cast<int>(a) + 25; ++n) {
      EXPECT_NEAR(ErlangC(n, a), TextbookErlangC(n, a), 1e-9) << "N=" << n << " A=" << a;
    }
  }
  EXPECT_EQ(ErlangC(10, 10), 1);
  EXPECT_EQ(ErlangC(3, 0), 0);
  // Large centres stay finite and sensible (the textbook form overflows A^N/N! here).
  const double big = ErlangC(1100, 1000);
  EXPECT_GT(big, 0);
  EXPECT_LT(big, 0.01);
}

// Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example"
// (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm): 100 calls in 30
// minutes, AHT 180 s, target 80/20 give A = 10 erlangs; 11 agents: P(wait) 68.21 %, SL 39 %;
// 13 agents: SL 79.6 %; 14 agents: P(wait) 17.41 %, SL 88.84 %, ASA 7.8 s, occupancy 71.4 %;
// with 30 % shrinkage 20 operators.
TEST(ErlangC, PublishedWorkedExample) {
  EXPECT_NEAR(ErlangC(11, 10), 0.6821, 5e-5);
  EXPECT_NEAR(EvaluateStaffing(100.0 / 1800, 180, 11, 20).service_level, 0.3896, 5e-4);
  EXPECT_NEAR(EvaluateStaffing(100.0 / 1800, 180, 13, 20).service_level, 0.7956, 5e-4);
  const StaffingFigures fourteen = EvaluateStaffing(100.0 / 1800, 180, 14, 20);
  EXPECT_NEAR(fourteen.traffic_erlangs, 10, 1e-12);
  EXPECT_NEAR(fourteen.probability_of_waiting, 0.1741, 5e-5);
  EXPECT_NEAR(fourteen.service_level, 0.8884, 5e-5);
  EXPECT_NEAR(fourteen.asa_seconds, 7.8, 0.05);
  EXPECT_NEAR(fourteen.occupancy, 10.0 / 14, 1e-12);
  // And against the textbook formulas computed here.
  const double pw = TextbookErlangC(14, 10);
  EXPECT_NEAR(fourteen.service_level, 1 - pw * std::exp(-(14 - 10) * 20.0 / 180), 1e-9);
  EXPECT_NEAR(fourteen.asa_seconds, pw * 180 / (14 - 10), 1e-9);
}

TEST(ForecastStaffing, ClassicExampleNeedsFourteenAndTwentyWithShrinkage) {
  v1::ForecastStaffingRequest request = ClassicRequest();
  request.set_shrinkage(0.3);
  absl::StatusOr<v1::ForecastStaffingResponse> response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model(), "erlang_c.v1");
  const v1::StaffingResult& result = response->result();
  EXPECT_NEAR(result.traffic_erlangs(), 10, 1e-9);
  EXPECT_EQ(result.agents(), 14);
  EXPECT_EQ(result.scheduled_agents(), 20);  // 14 / 0.7 = 20 exactly, not 21
  EXPECT_NEAR(result.probability_of_waiting(), 0.1741, 5e-5);
  EXPECT_NEAR(result.service_level(), 0.8884, 5e-5);
  EXPECT_NEAR(Seconds(result.average_speed_of_answer()), 7.84, 0.01);
  EXPECT_NEAR(result.occupancy(), 10.0 / 14, 1e-9);
  EXPECT_TRUE(result.goals_met());
  EXPECT_EQ(result.binding_constraint(), v1::STAFFING_CONSTRAINT_SERVICE_LEVEL);
}

TEST(ForecastStaffing, TheTightestGoalDecides) {
  // ASA goal of 5 s: 14 agents give 7.84 s, 15 give 3.67 s (textbook values above).
  v1::ForecastStaffingRequest request = ClassicRequest();
  *request.mutable_target_asa() = Secs(5);
  absl::StatusOr<v1::ForecastStaffingResponse> response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().agents(), 15);
  EXPECT_EQ(response->result().binding_constraint(), v1::STAFFING_CONSTRAINT_ASA);

  // Occupancy at most 0.65: 10 / N <= 0.65 needs N = 16.
  request = ClassicRequest();
  request.set_max_occupancy(0.65);
  response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().agents(), 16);
  EXPECT_EQ(response->result().binding_constraint(), v1::STAFFING_CONSTRAINT_OCCUPANCY);

  // A lax goal: the least N > A already meets it.
  request = ClassicRequest();
  request.mutable_service_level_goal()->set_target(0.2);
  response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().agents(), 11);
  EXPECT_EQ(response->result().binding_constraint(), v1::STAFFING_CONSTRAINT_TRAFFIC);

  // The cap reached first.
  request = ClassicRequest();
  request.set_max_agents(12);
  response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().agents(), 12);
  EXPECT_FALSE(response->result().goals_met());
  EXPECT_EQ(response->result().binding_constraint(), v1::STAFFING_CONSTRAINT_MAX_AGENTS);
}

TEST(ForecastStaffing, NoCallsNeedNoOperators) {
  v1::ForecastStaffingRequest request = ClassicRequest();
  request.set_calls_per_hour(0);
  absl::StatusOr<v1::ForecastStaffingResponse> response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().agents(), 0);
  EXPECT_EQ(response->result().scheduled_agents(), 0);
  EXPECT_EQ(response->result().service_level(), 1);
  EXPECT_TRUE(response->result().goals_met());
}

TEST(ForecastStaffing, PerIntervalAnswersAndThePeak) {
  v1::ForecastStaffingRequest request = ClassicRequest();
  request.clear_calls_per_hour();
  request.set_shrinkage(0.3);
  v1::IntervalWorkload* workload = request.mutable_intervals();
  *workload->mutable_interval_length() = Secs(1800);
  const int64_t start = 1'767'225'600;  // 2026-01-01T00:00:00Z
  const double calls[] = {50, 100, 0};
  for (int i = 0; i < 3; ++i) {
    v1::WorkloadInterval* interval = workload->add_intervals();
    *interval->mutable_start_time() = common::TimestampFromMicros((start + i * 1800) * 1'000'000);
    interval->set_forecast_calls(calls[i]);
  }
  absl::StatusOr<v1::ForecastStaffingResponse> response = ForecastStaffing(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->intervals_size(), 3);
  EXPECT_EQ(response->intervals(1).result().agents(), 14);
  EXPECT_EQ(response->intervals(2).result().agents(), 0);
  EXPECT_EQ(response->result().agents(), 14);  // the peak
  // 5 erlangs at 80/20 with AHT 180 s: independently, the least N with SL >= 0.8.
  int expected = 6;
  while (1 - TextbookErlangC(expected, 5) * std::exp(-(expected - 5) * 20.0 / 180) < 0.8) {
    ++expected;
  }
  EXPECT_EQ(response->intervals(0).result().agents(), expected);
  const int scheduled0 = static_cast<int>(std::ceil(expected / 0.7 - 1e-9));
  EXPECT_NEAR(response->scheduled_agent_hours(), (scheduled0 + 20 + 0) * 0.5, 1e-9);

  // A gap between intervals is refused, naming the interval.
  *workload->mutable_intervals(2)->mutable_start_time() =
      common::TimestampFromMicros((start + 3 * 1800) * 1'000'000);
  response = ForecastStaffing(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(response.status().message(), "intervals.intervals[2].start_time"))
      << response.status();
}

TEST(ForecastStaffing, BadInputNamesTheField) {
  struct Case {
    const char* field;
    void (*change)(v1::ForecastStaffingRequest&);
  };
  const Case cases[] = {
      {"workload", [](v1::ForecastStaffingRequest& r) { r.clear_calls_per_hour(); }},
      {"calls_per_hour", [](v1::ForecastStaffingRequest& r) { r.set_calls_per_hour(-1); }},
      {"average_handle_time",
       [](v1::ForecastStaffingRequest& r) { r.clear_average_handle_time(); }},
      {"average_handle_time",
       [](v1::ForecastStaffingRequest& r) { *r.mutable_average_handle_time() = Secs(0); }},
      {"service_level_goal", [](v1::ForecastStaffingRequest& r) { r.clear_service_level_goal(); }},
      {"service_level_goal.target",
       [](v1::ForecastStaffingRequest& r) { r.mutable_service_level_goal()->set_target(1); }},
      {"service_level_goal.threshold",
       [](v1::ForecastStaffingRequest& r) { r.mutable_service_level_goal()->clear_threshold(); }},
      {"target_asa", [](v1::ForecastStaffingRequest& r) { *r.mutable_target_asa() = Secs(0); }},
      {"max_occupancy", [](v1::ForecastStaffingRequest& r) { r.set_max_occupancy(1.5); }},
      {"shrinkage", [](v1::ForecastStaffingRequest& r) { r.set_shrinkage(1); }},
      {"max_agents", [](v1::ForecastStaffingRequest& r) { r.set_max_agents(-1); }},
      {"intervals.interval_length",
       [](v1::ForecastStaffingRequest& r) {
         *r.mutable_intervals()->mutable_interval_length() = Secs(600);
       }},
      {"intervals.intervals", [](v1::ForecastStaffingRequest& r) { r.mutable_intervals(); }},
  };
  for (const Case& c : cases) {
    v1::ForecastStaffingRequest request = ClassicRequest();
    c.change(request);
    absl::StatusOr<v1::ForecastStaffingResponse> response = ForecastStaffing(request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_TRUE(absl::StartsWith(response.status().message(), absl::StrCat(c.field, ":")))
        << c.field << ": " << response.status();
  }
  v1::ForecastStaffingRequest observed = ClassicRequest();
  observed.mutable_observed()->set_queue("queues/q1");
  EXPECT_EQ(ForecastStaffing(observed).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace contactcentre::analytics
