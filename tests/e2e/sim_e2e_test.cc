// A simulated hour of the demo centre against the whole suite (two replicas of calls and of
// analytics, one of the other services), with a fixed seed, then the books are checked: every
// call the simulator offered was answered or abandoned; the simulator's own counts equal the
// calls service's records and the analytics service's figures, queue by queue; every completed
// call has its wrap-up; the post-call survey answers and the supervisors' evaluations arrived.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/testing/child_process.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/e2e/suite.h"

namespace contactcentre {
namespace {

using google::protobuf::Struct;

int64_t Number(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  return it == object.fields().end() ? -1 : static_cast<int64_t>(it->second.number_value());
}

std::string Text(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  return it == object.fields().end() ? "" : it->second.string_value();
}

struct RecordCounts {
  int64_t total = 0;
  int64_t completed = 0;
  int64_t abandoned = 0;
  int64_t other = 0;
  int64_t without_wrap_up = 0;
};

// The calls service's records of `queue` (inbound legs).
RecordCounts CountRecords(calls::v1::CallsService::Stub& stub, const std::string& site,
                          const std::string& queue) {
  RecordCounts counts;
  calls::v1::ListCallsRequest list;
  list.set_site(site);
  list.add_queues(queue);
  list.set_page_size(500);
  do {
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    calls::v1::ListCallsResponse page;
    const grpc::Status status = stub.ListCalls(context.get(), list, &page);
    if (!status.ok()) {
      ADD_FAILURE() << "ListCalls: " << status.error_message();
      return counts;
    }
    for (const calls::v1::Call& call : page.calls()) {
      if (call.direction() != calls::v1::CALL_DIRECTION_INBOUND) continue;
      ++counts.total;
      if (call.state() == calls::v1::CALL_STATE_COMPLETED) {
        ++counts.completed;
        if (call.wrap_up().disposition().empty() || call.missing_wrap_up()) {
          ++counts.without_wrap_up;
        }
      } else if (call.state() == calls::v1::CALL_STATE_ABANDONED) {
        ++counts.abandoned;
      } else {
        ++counts.other;
      }
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  return counts;
}

// offered, answered, abandoned (short abandons included) of `queue` over the last hour, as
// analytics has them.
std::map<std::string, int64_t> AnalyticsCounts(analytics::v1::AnalyticsService::Stub& stub,
                                               const std::string& queue) {
  analytics::v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_queues(queue);
  for (const char* metric : {"offered", "answered", "abandoned", "short_abandoned"}) {
    request.mutable_filter()->add_metrics(metric);
  }
  request.mutable_filter()->add_windows(analytics::v1::METRIC_WINDOW_ROLLING_60_MINUTES);
  auto context = common::ContextWithTimeout(absl::Seconds(10));
  analytics::v1::GetCurrentMetricsResponse response;
  std::map<std::string, int64_t> counts;
  if (!stub.GetCurrentMetrics(context.get(), request, &response).ok()) return counts;
  for (const auto& entity : response.entities()) {
    if (entity.entity() != queue) continue;
    for (const auto& value : entity.values()) {
      if (value.has_value()) counts[value.metric()] = static_cast<int64_t>(value.value());
    }
  }
  // The simulator counts every abandon; analytics keeps short abandons (callers who hung up
  // within the queue's short-abandon threshold) apart from the others.
  counts["abandoned"] += counts["short_abandoned"];
  return counts;
}

TEST(SimE2eTest, ASimulatedHourBalancesAcrossSimulatorRecordsAndAnalytics) {
  testing::Suite suite({{"calls", 2}, {"analytics", 2}});
  ASSERT_TRUE(suite.ready());
  const std::string report_path = absl::StrCat(suite.log_dir(), "/report.json");
  const std::string sim_log = absl::StrCat(suite.log_dir(), "/sim.log");
  common::testing::ChildProcess sim(
      {absl::StrCat(common::testing::BinaryDir(), "/tools/sim/cc-sim"), "--scenario=demo",
       "--language=ru", "--demo_operators=8", "--demo_customers=300",
       absl::StrCat("--centre_site=", suite.site()), "--seed=42", "--duration=1h",
       "--time_scale=60", "--calls_per_hour=90", "--evaluation_share=0.3",
       "--survey_answer_share=0.9", "--outbound_reminders=5", "--progress_interval=10s",
       "--drain_timeout=60s", absl::StrCat("--report_json=", report_path)},
      suite.ClientEnvironment(), sim_log);
  const std::optional<int> exit_status = sim.WaitForExit(absl::Minutes(5));
  {
    std::ifstream log(sim_log);
    std::cout << log.rdbuf();
  }
  ASSERT_TRUE(exit_status.has_value()) << "cc-sim did not finish within 5 minutes";
  ASSERT_EQ(*exit_status, 0);

  std::ifstream report_file(report_path);
  std::stringstream json;
  json << report_file.rdbuf();
  Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.str(), &report).ok()) << json.str();

  // The simulator's own books: something happened, nothing failed, every call ended.
  const int64_t offered = Number(report, "offered");
  EXPECT_GE(offered, 40) << "an hour at 90 calls/hour (day profile 1.0-1.3 at 09:00-10:00)";
  EXPECT_EQ(offered, Number(report, "answered") + Number(report, "abandoned"));
  EXPECT_EQ(Number(report, "errors"), 0);
  EXPECT_EQ(Number(report, "unfinished"), 0);
  EXPECT_EQ(Number(report, "offer_errors"), 0);
  EXPECT_EQ(Number(report, "wrap_ups"),
            Number(report, "answered") + Number(report, "outbound_answered"));
  // The simulator is the telephony adapter too: every answered call was bridged by a command
  // on its WatchTelephonyCommands stream (served by either replica), exactly once per call.
  EXPECT_EQ(Number(report, "bridges"), Number(report, "answered"));
  EXPECT_GE(Number(report, "telephony_commands"), Number(report, "bridges"));

  // Queue by queue: the calls service's records and analytics' figures say the same (events
  // reach PostgreSQL and analytics through the relay and the stream: give them a moment).
  auto calls_stub = calls::v1::CallsService::NewStub(suite.Channel("calls"));
  auto analytics_stub = analytics::v1::AnalyticsService::NewStub(suite.Channel("analytics"));
  const Struct& queues = report.fields().at("queues").struct_value();
  ASSERT_FALSE(queues.fields().empty());
  for (const auto& [queue, value] : queues.fields()) {
    const Struct& counts = value.struct_value();
    const int64_t queue_offered = Number(counts, "offered");
    const int64_t queue_answered = Number(counts, "answered");
    const int64_t queue_abandoned = Number(counts, "abandoned");
    RecordCounts records;
    std::map<std::string, int64_t> figures;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (true) {
      records = CountRecords(*calls_stub, suite.site(), queue);
      figures = AnalyticsCounts(*analytics_stub, queue);
      const bool settled =
          records.completed == queue_answered && records.abandoned == queue_abandoned &&
          figures["offered"] == queue_offered && figures["answered"] == queue_answered &&
          figures["abandoned"] == queue_abandoned;
      if (settled || absl::Now() > deadline) break;
      absl::SleepFor(absl::Milliseconds(500));
    }
    SCOPED_TRACE(queue);
    EXPECT_EQ(records.total, queue_offered);
    EXPECT_EQ(records.completed, queue_answered);
    EXPECT_EQ(records.abandoned, queue_abandoned);
    EXPECT_EQ(records.other, 0) << "calls still live after the simulator drained the centre";
    EXPECT_EQ(records.without_wrap_up, 0);
    EXPECT_EQ(figures["offered"], queue_offered);
    EXPECT_EQ(figures["answered"], queue_answered);
    EXPECT_EQ(figures["abandoned"], queue_abandoned);
  }

  // Post-call survey answers and evaluations arrived, as many as the simulator sent.
  EXPECT_GT(Number(report, "surveys_answered"), 0);
  surveys::v1::ListResponsesRequest responses;
  responses.set_parent(Text(report, "post_call_survey"));
  responses.add_states(surveys::v1::RESPONSE_STATE_COMPLETED);
  responses.set_page_size(1000);
  auto survey_stub = surveys::v1::SurveyService::NewStub(suite.Channel("surveys"));
  {
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    surveys::v1::ListResponsesResponse page;
    ASSERT_TRUE(survey_stub->ListResponses(context.get(), responses, &page).ok());
    EXPECT_EQ(page.responses_size(), Number(report, "surveys_answered"));
  }
  EXPECT_GT(Number(report, "evaluations"), 0);
  surveys::v1::ListEvaluationsRequest evaluations;
  evaluations.set_scorecard(Text(report, "scorecard"));
  evaluations.set_page_size(1000);
  auto quality_stub = surveys::v1::QualityService::NewStub(suite.Channel("surveys"));
  {
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    surveys::v1::ListEvaluationsResponse page;
    ASSERT_TRUE(quality_stub->ListEvaluations(context.get(), evaluations, &page).ok());
    EXPECT_EQ(page.evaluations_size(), Number(report, "evaluations"));
  }
  if (HasFailure()) suite.DumpLogs();
}

}  // namespace
}  // namespace contactcentre
