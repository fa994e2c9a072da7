// Queueing theory against the running suite: Poisson arrivals, exponential handle times and
// callers who never abandon make an M/M/N queue, whose service level and average speed of
// answer Erlang C predicts. The simulator offers such calls to one queue of N operators for a few
// minutes; the service level and ASA that the analytics service measures must agree with the
// simulator's own measurement of the same calls (closely: they time the same waits) and with
// Erlang C's prediction for the measured load within statistical error (the spread of those
// figures over many M/M/N runs of the same length, computed here by simulation).
//
// Erlang C (A. K. Erlang, 1917), for N operators and offered load A = arrival rate x AHT:
//   P(wait) = (A^N / N!) (N / (N - A)) / (sum_{k<N} A^k / k! + (A^N / N!) (N / (N - A)))
//   SL(T)   = 1 - P(wait) exp(-(N - A) T / AHT)        ASA = P(wait) AHT / (N - A)
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_client.h"
#include "common/testing/child_process.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "tests/e2e/suite.h"

namespace contactcentre {
namespace {

constexpr int kOperators = 6;
constexpr double kCallsPerSecond = 4;
constexpr double kMeanTalkSeconds = 1;
constexpr double kThresholdSeconds = 1;  // analytics takes thresholds of 1 s and more
constexpr int kSeconds = 225;            // about 900 calls

double ErlangCWaitProbability(int n, double a) {
  double term = 1;  // a^k / k!
  double sum = 0;
  for (int k = 0; k < n; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double top = term * n / (n - a);
  return top / (sum + top);
}

struct Figures {
  double service_level = 0;
  double asa = 0;
};

Figures ErlangC(int n, double rate, double aht, double threshold) {
  const double a = rate * aht;
  const double wait = ErlangCWaitProbability(n, a);
  return {1 - wait * std::exp(-(n - a) * threshold / aht), wait * aht / (n - a)};
}

// The standard deviations of SL and ASA over `runs` M/M/N runs of `calls` calls (first come,
// first served to the operator free first).
Figures SpreadOfMmn(int n, double rate, double aht, double threshold, int calls, int runs) {
  std::mt19937_64 random(20261128);
  std::exponential_distribution<double> gap(rate);
  std::exponential_distribution<double> service(1 / aht);
  std::vector<double> levels, speeds;
  for (int run = 0; run < runs; ++run) {
    std::vector<double> free_at(n, 0);
    double now = 0, waited = 0;
    int within = 0;
    for (int i = 0; i < calls; ++i) {
      now += gap(random);
      auto first = std::min_element(free_at.begin(), free_at.end());
      const double start = std::max(now, *first);
      waited += start - now;
      within += start - now <= threshold;
      *first = start + service(random);
    }
    levels.push_back(static_cast<double>(within) / calls);
    speeds.push_back(waited / calls);
  }
  auto deviation = [](const std::vector<double>& values) {
    double mean = 0, squares = 0;
    for (double v : values) mean += v / values.size();
    for (double v : values) squares += (v - mean) * (v - mean);
    return std::sqrt(squares / (values.size() - 1));
  };
  return {deviation(levels), deviation(speeds)};
}

TEST(ErlangCTest, AnalyticsMeasuresWhatErlangCPredictsForAnMmnQueue) {
  // The formula itself, worked by hand: N = 3 operators, A = 2 erlangs gives
  // P(wait) = (2^3/3!)(3/(3-2)) / (1 + 2 + 2 + (2^3/3!)(3/(3-2))) = 4 / (5 + 4) = 4/9. (The
  // analytics service's own Erlang C is checked against a published table in staffing_test.)
  EXPECT_NEAR(ErlangCWaitProbability(3, 2), 4.0 / 9, 1e-12);

  testing::Suite suite({});
  ASSERT_TRUE(suite.ready());
  auto analytics = analytics::v1::AnalyticsService::NewStub(suite.Channel("analytics"));
  // The site's service level threshold, for the queue the simulator is about to create.
  {
    analytics::v1::UpdateMetricSettingsRequest update;
    update.set_request_id(absl::StrCat("erlang-", suite.site()));
    update.mutable_settings()->set_name(absl::StrCat("sites/", suite.site(), "/metricSettings"));
    *update.mutable_settings()->mutable_service_level_threshold() =
        google::protobuf::util::TimeUtil::SecondsToDuration(kThresholdSeconds);
    update.mutable_update_mask()->add_paths("service_level_threshold");
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    analytics::v1::MetricSettings settings;
    const grpc::Status status = analytics->UpdateMetricSettings(context.get(), update, &settings);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  const std::string report_path = absl::StrCat(suite.log_dir(), "/report.json");
  const std::string sim_log = absl::StrCat(suite.log_dir(), "/sim.log");
  common::testing::ChildProcess sim(
      {absl::StrCat(common::testing::BinaryDir(), "/tools/sim/cc-sim"),
       "--scenario=plain",
       absl::StrCat("--plain_operators=", kOperators),
       absl::StrCat("--plain_talk_time=", kMeanTalkSeconds, "s"),
       absl::StrCat("--plain_service_level_threshold=", kThresholdSeconds, "s"),
       absl::StrCat("--centre_site=", suite.site()),
       "--prefix=erlang",
       "--seed=17",
       "--time_scale=1",
       absl::StrCat("--calls_per_second=", kCallsPerSecond),
       absl::StrCat("--duration=", kSeconds, "s"),
       "--patience=0",
       "--accept_delay=0",
       "--reject_share=0",
       "--miss_share=0",
       "--handle_time_distribution=exponential",
       "--outbound_reminders=0",
       "--evaluation_share=0",
       "--knowledge_search_share=0",
       "--break_share=0",
       "--progress_interval=30s",
       "--drain_timeout=60s",
       absl::StrCat("--report_json=", report_path)},
      suite.ClientEnvironment(), sim_log);
  const std::optional<int> exit_status = sim.WaitForExit(absl::Seconds(kSeconds + 180));
  {
    std::ifstream log(sim_log);
    std::cout << log.rdbuf();
  }
  ASSERT_TRUE(exit_status.has_value()) << "cc-sim did not finish in time";
  ASSERT_EQ(*exit_status, 0);
  std::ifstream report_file(report_path);
  std::stringstream json;
  json << report_file.rdbuf();
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.str(), &report).ok());
  const auto& fields = report.fields();
  const int64_t offered = static_cast<int64_t>(fields.at("offered").number_value());
  ASSERT_GT(offered, 600);
  ASSERT_EQ(fields.at("answered").number_value(), offered) << "nobody abandons in M/M/N";
  const std::string queue = fields.at("queues").struct_value().fields().begin()->first;

  // Analytics' figures of the queue, once it has every call.
  analytics::v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_queues(queue);
  for (const char* metric : {"offered", "answered", "service_level", "asa", "aht"}) {
    request.mutable_filter()->add_metrics(metric);
  }
  request.mutable_filter()->add_windows(analytics::v1::METRIC_WINDOW_ROLLING_60_MINUTES);
  std::map<std::string, double> measured;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    analytics::v1::GetCurrentMetricsResponse response;
    if (analytics->GetCurrentMetrics(context.get(), request, &response).ok()) {
      measured.clear();
      for (const auto& entity : response.entities()) {
        for (const auto& value : entity.values()) {
          if (entity.entity() == queue && value.has_value()) {
            measured[value.metric()] = value.value();
          }
        }
      }
      if (measured["answered"] == offered) break;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_EQ(measured["offered"], offered);
  ASSERT_EQ(measured["answered"], offered);

  // Analytics and the simulator timed the same waits (the simulator from its OfferCall to its
  // accepted AcceptReservation, analytics from the call's queue time to its accept time).
  const double simulator_level = fields.at("service_level").number_value();
  const double simulator_asa = fields.at("asa_seconds").number_value();
  EXPECT_NEAR(measured["service_level"], simulator_level, 0.02);
  EXPECT_NEAR(measured["asa"], simulator_asa, 0.02);

  // Erlang C for the load as it was: the measured arrival rate and handle time.
  const double rate = offered / static_cast<double>(kSeconds);
  const double aht = measured["aht"];
  ASSERT_GT(aht, 0.5 * kMeanTalkSeconds);
  ASSERT_LT(rate * aht, kOperators) << "the load must leave the queue stable";
  const Figures predicted = ErlangC(kOperators, rate, aht, kThresholdSeconds);
  const Figures spread =
      SpreadOfMmn(kOperators, rate, aht, kThresholdSeconds, static_cast<int>(offered), 400);
  std::cout << absl::StrFormat(
      "M/M/%d: %d calls at %.2f/s, AHT %.3f s (A = %.2f erlangs)\n"
      "  service level (T = %.0f s): analytics %.4f, simulator %.4f, Erlang C %.4f (sd %.4f)\n"
      "  ASA: analytics %.4f s, simulator %.4f s, Erlang C %.4f s (sd %.4f)\n",
      kOperators, offered, rate, aht, rate * aht, kThresholdSeconds, measured["service_level"],
      simulator_level, predicted.service_level, spread.service_level, measured["asa"],
      simulator_asa, predicted.asa, spread.asa);
  // Within three standard deviations, plus a little for what real processes add to each wait
  // (the offer streamed to the desktop and the accept: a few milliseconds).
  EXPECT_NEAR(measured["service_level"], predicted.service_level, 3 * spread.service_level + 0.01);
  EXPECT_NEAR(measured["asa"], predicted.asa, 3 * spread.asa + 0.02);
  if (HasFailure()) suite.DumpLogs();
}

}  // namespace
}  // namespace contactcentre
