// 15-minute intervals written as events are applied, and GetReport over them (rows and CSV), on
// the real Redis stream and PostgreSQL. Every expected figure is worked out by hand in the
// comments; a replayed stream changes no interval.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/pg_util.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "services/analytics/testing/analytics_test_env.h"

namespace contactcentre::analytics {
namespace {

using events::v1::Event;
using testing::AnalyticsTestEnv;
using testing::Context;

google::protobuf::Duration Secs(double seconds) {
  google::protobuf::Duration duration;
  duration.set_seconds(static_cast<int64_t>(seconds));
  duration.set_nanos(static_cast<int32_t>((seconds - static_cast<int64_t>(seconds)) * 1e9));
  return duration;
}

// Yesterday 10:00 UTC: every interval of the script is closed.
absl::Time Base() {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  return absl::FromCivil(absl::CivilSecond(today - 1) + 10 * 3600, absl::UTCTimeZone());
}

// Events of a scripted morning, each at base + minutes:seconds.
class Script {
 public:
  explicit Script(absl::Time base) : base_(base) {}

  Event& At(int minute, int second = 0) {
    events_.emplace_back();
    *events_.back().mutable_occurred_at() =
        common::TimestampFromTime(base_ + absl::Minutes(minute) + absl::Seconds(second));
    return events_.back();
  }
  static void Context(events::v1::CallContext* context, const std::string& call,
                      const std::string& queue, const std::string& op = "",
                      const std::string& team = "") {
    context->set_call(absl::StrCat("calls/", call));
    context->set_queue(absl::StrCat("queues/", queue));
    context->set_direction(calls::v1::CALL_DIRECTION_INBOUND);
    context->set_chain_root(context->call());
    if (!op.empty()) context->set_operator_(absl::StrCat("operators/", op));
    if (!team.empty()) context->set_team(absl::StrCat("teams/", team));
  }
  void Queued(const std::string& call, const std::string& queue, int minute, int second) {
    Context(At(minute, second).mutable_call_queued()->mutable_call(), call, queue);
  }
  void Connected(const std::string& call, const std::string& queue, int minute, int second,
                 double wait, const std::string& op, const std::string& team) {
    events::v1::CallConnected* connected = At(minute, second).mutable_call_connected();
    Context(connected->mutable_call(), call, queue, op, team);
    *connected->mutable_wait_time() = Secs(wait);
  }
  void Abandoned(const std::string& call, const std::string& queue, int minute, int second,
                 double wait) {
    events::v1::CallAbandoned* abandoned = At(minute, second).mutable_call_abandoned();
    Context(abandoned->mutable_call(), call, queue);
    *abandoned->mutable_wait_time() = Secs(wait);
  }
  void Completed(const std::string& call, const std::string& queue, int minute, double talk,
                 double hold, double wrap_up, const std::string& op, const std::string& team) {
    events::v1::CallCompleted* completed = At(minute).mutable_call_completed();
    Context(completed->mutable_call(), call, queue, op, team);
    *completed->mutable_talk_time() = Secs(talk);
    *completed->mutable_hold_time() = Secs(hold);
    *completed->mutable_wrap_up_time() = Secs(wrap_up);
  }
  void WrapUpTimedOut(const std::string& call, const std::string& queue, int minute,
                      const std::string& op, const std::string& team) {
    Context(At(minute).mutable_wrap_up_timed_out()->mutable_call(), call, queue, op, team);
  }
  void StateEnded(int minute, const std::string& op, const std::string& team,
                  calls::v1::OperatorState ended, double seconds, calls::v1::OperatorState now) {
    events::v1::OperatorStateChanged* changed = At(minute).mutable_operator_state_changed();
    changed->set_operator_(absl::StrCat("operators/", op));
    changed->set_team(absl::StrCat("teams/", team));
    changed->add_queues("queues/q1");
    changed->set_state(now);
    changed->set_previous_state(ended);
    *changed->mutable_previous_state_duration() = Secs(seconds);
  }
  void Survey(int minute, int csat, int nps) {
    events::v1::SurveyResponseSubmitted* submitted = At(minute).mutable_survey_response_submitted();
    submitted->set_response("surveys/s1/responses/r1");
    submitted->set_survey("surveys/s1");
    submitted->set_queue("queues/q1");
    submitted->set_team("teams/t1");
    submitted->set_operator_("operators/a");
    for (auto [scale, value] : {std::pair{events::v1::SCORE_SCALE_RATING_1_5, csat},
                                std::pair{events::v1::SCORE_SCALE_NPS_0_10, nps}}) {
      events::v1::ScoredAnswer* answer = submitted->add_scores();
      answer->set_question("surveys/s1/questions/q");
      answer->set_scale(scale);
      answer->set_value(value);
    }
  }
  std::vector<Event>& events() { return events_; }

 private:
  const absl::Time base_;
  std::vector<Event> events_;
};

// The morning (T = 20 s, short abandons < 5 s; operators a and b in team t1, c in t2):
//   c1 q1 queued 10:01:00, answered by a after 10 s, completed 10:05 (100 + 20 + 30 = 150 s)
//   c2 q1 queued 10:14:50, answered by b at 10:15:20 after 30 s, completed 10:20 (200 + 0 + 10)
//   c3 q1 queued 10:16:00, abandoned after 3 s (short)
//   c4 q1 queued 10:17:00, abandoned after 15 s (within T)
//   c5 q1 queued 10:31:00, abandoned after 40 s (after T)
//   c6 q2 queued 10:32:00, answered by c after 20 s (within T), wrap-up timed out 10:40
//   c7 q2 queued 11:05:00, answered by a after 5 s, completed 11:08 (60 + 0 + 30 = 90 s)
//   a ended 240 s ON_CALL at 10:05 and 300 s AVAILABLE at 10:20 (serving q1)
//   response r1 (q1, t1, a) submitted at 10:10 with CSAT 5 and NPS 9, submitted again at 10:50
//   with CSAT 3 and NPS 6 (its answers move to the 10:45 interval)
void ScriptTheMorning(Script& s) {
  s.Queued("c1", "q1", 1, 0);
  s.Connected("c1", "q1", 1, 10, 10, "a", "t1");
  s.Completed("c1", "q1", 5, 100, 20, 30, "a", "t1");
  s.StateEnded(5, "a", "t1", calls::v1::OPERATOR_STATE_ON_CALL, 240,
               calls::v1::OPERATOR_STATE_AVAILABLE);
  s.Survey(10, 5, 9);
  s.Queued("c2", "q1", 14, 50);
  s.Connected("c2", "q1", 15, 20, 30, "b", "t1");
  s.Queued("c3", "q1", 16, 0);
  s.Abandoned("c3", "q1", 16, 3, 3);
  s.Queued("c4", "q1", 17, 0);
  s.Abandoned("c4", "q1", 17, 15, 15);
  s.Completed("c2", "q1", 20, 200, 0, 10, "b", "t1");
  s.StateEnded(20, "a", "t1", calls::v1::OPERATOR_STATE_AVAILABLE, 300,
               calls::v1::OPERATOR_STATE_ON_CALL);
  s.Queued("c5", "q1", 31, 0);
  s.Abandoned("c5", "q1", 31, 40, 40);
  s.Queued("c6", "q2", 32, 0);
  s.Connected("c6", "q2", 32, 20, 20, "c", "t2");
  s.WrapUpTimedOut("c6", "q2", 40, "c", "t2");
  s.Survey(50, 3, 6);
  s.Queued("c7", "q2", 65, 0);
  s.Connected("c7", "q2", 65, 5, 5, "a", "t1");
  s.Completed("c7", "q2", 68, 60, 0, 30, "a", "t1");
}

// value (-1 when unset), numerator, denominator of each requested metric of a row.
std::map<std::string, std::vector<double>> Values(const v1::ReportRow& row) {
  std::map<std::string, std::vector<double>> out;
  for (const v1::MetricValue& value : row.values()) {
    const std::vector<double> figures = {value.has_value() ? value.value() : -1, value.numerator(),
                                         value.denominator()};
    // By metric key (the first definition) and by definition ("asa.standard.v1").
    out.try_emplace(value.metric(), figures);
    if (!value.definition().empty()) out[value.definition().substr(18)] = figures;
  }
  return out;
}

absl::StatusOr<v1::GetReportResponse> Report(AnalyticsTestEnv& env,
                                             const v1::GetReportRequest& request) {
  v1::GetReportResponse response;
  grpc::Status status = env.analytics().GetReport(Context().get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response;
}

v1::GetReportRequest Request(absl::Time base, absl::Duration length,
                             std::vector<v1::ReportGrouping> groups,
                             std::vector<std::string> metrics) {
  v1::GetReportRequest request;
  *request.mutable_range()->mutable_start_time() = common::TimestampFromTime(base);
  *request.mutable_range()->mutable_end_time() = common::TimestampFromTime(base + length);
  for (v1::ReportGrouping group : groups) request.add_group_by(group);
  for (const std::string& metric : metrics) request.add_metrics(metric);
  request.set_time_zone("UTC");
  return request;
}

const std::vector<std::string> kMetrics = {"offered",
                                           "answered",
                                           "abandoned",
                                           "short_abandoned",
                                           "service_level",
                                           "asa",
                                           "aht",
                                           "abandonment_rate",
                                           "missing_wrap_ups",
                                           "occupancy",
                                           "csat",
                                           "nps",
                                           "metricDefinitions/service_level.offered.v1"};

void ExpectTheMorning(AnalyticsTestEnv& env, absl::Time base) {
  // By interval, for the site.
  absl::StatusOr<v1::GetReportResponse> by_interval =
      Report(env, Request(base, absl::Hours(2), {v1::REPORT_GROUPING_INTERVAL}, kMetrics));
  ASSERT_TRUE(by_interval.ok()) << by_interval.status();
  ASSERT_EQ(by_interval->rows_size(), 8);  // 10:00 .. 11:45, empty ones included
  EXPECT_EQ(common::TimeFromTimestamp(by_interval->rows(1).period_start()),
            base + absl::Minutes(15));
  EXPECT_EQ(common::TimeFromTimestamp(by_interval->rows(1).period_end()), base + absl::Minutes(30));
  // 10:00: offered c1, c2; answered c1 (10 s, within T); handled c1 (150 s); a on call 240 s of
  // 240 s; r1's first answers were moved to 10:45. SL = 1 / (1 + 0).
  auto i0 = Values(by_interval->rows(0));
  EXPECT_EQ(i0["offered"][0], 2);
  EXPECT_EQ(i0["answered"][0], 1);
  EXPECT_EQ(i0["service_level.standard.v1"], (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(i0["asa.standard.v1"], (std::vector<double>{10, 10, 1}));
  EXPECT_EQ(i0["aht.standard.v1"], (std::vector<double>{150, 150, 1}));
  EXPECT_EQ(i0["occupancy.standard.v1"], (std::vector<double>{1, 240, 240}));
  EXPECT_EQ(i0["csat.standard.v1"][0], -1);
  // 10:15: offered c3, c4; answered c2 (30 s, not within T); c4 abandoned within T, c3 short.
  // SL standard 0 / (1 + 0) = 0; SL offered (0 + 1) / (1 + 1) = 0.5; abandonment 1 / (2 - 1);
  // a available 300 s: occupancy 0 / 300.
  auto i1 = Values(by_interval->rows(1));
  EXPECT_EQ(i1["offered"][0], 2);
  EXPECT_EQ(i1["short_abandoned"][0], 1);
  EXPECT_EQ(i1["service_level.standard.v1"], (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(i1["service_level.offered.v1"], (std::vector<double>{0.5, 1, 2}));
  EXPECT_EQ(i1["abandonment_rate.standard.v1"], (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(i1["aht.standard.v1"], (std::vector<double>{210, 210, 1}));
  EXPECT_EQ(i1["occupancy.standard.v1"], (std::vector<double>{0, 0, 300}));
  // 10:30: offered c5, c6; c6 answered within T, c5 abandoned after T: SL 1 / (1 + 1); c6's
  // wrap-up timed out at 10:40.
  auto i2 = Values(by_interval->rows(2));
  EXPECT_EQ(i2["service_level.standard.v1"], (std::vector<double>{0.5, 1, 2}));
  EXPECT_EQ(i2["missing_wrap_ups"][0], 1);
  // 10:45: r1's latest answers: CSAT 0 / 1, NPS 100 × (0 - 1) / 1.
  auto i3 = Values(by_interval->rows(3));
  EXPECT_EQ(i3["csat.standard.v1"], (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(i3["nps.standard.v1"], (std::vector<double>{-100, -100, 1}));
  EXPECT_EQ(i3["offered"][0], 0);
  // 11:00: c7.
  auto i4 = Values(by_interval->rows(4));
  EXPECT_EQ(i4["offered"][0], 1);
  EXPECT_EQ(i4["aht.standard.v1"], (std::vector<double>{90, 90, 1}));

  // The whole day for the site: offered 7, answered 4 (3 within T: c1, c6, c7), abandoned 2
  // (c5 after T), 1 short. SL 3 / (4 + 1) = 0.6; ASA (10 + 30 + 20 + 5) / 4 = 16.25; AHT
  // (150 + 210 + 90) / 3 = 150; abandonment 2 / (7 - 1); occupancy 240 / 540.
  absl::StatusOr<v1::GetReportResponse> day =
      Report(env, Request(base, absl::Hours(2), {v1::REPORT_GROUPING_DAY}, kMetrics));
  ASSERT_TRUE(day.ok()) << day.status();
  ASSERT_EQ(day->rows_size(), 1);
  EXPECT_EQ(common::TimeFromTimestamp(day->rows(0).period_start()),
            base - absl::Hours(10));  // midnight UTC
  auto d = Values(day->rows(0));
  EXPECT_EQ(d["offered"][0], 7);
  EXPECT_EQ(d["answered"][0], 4);
  EXPECT_EQ(d["service_level.standard.v1"], (std::vector<double>{0.6, 3, 5}));
  EXPECT_EQ(d["asa.standard.v1"], (std::vector<double>{16.25, 65, 4}));
  EXPECT_EQ(d["aht.standard.v1"], (std::vector<double>{150, 450, 3}));
  EXPECT_NEAR(d["abandonment_rate.standard.v1"][0], 2.0 / 6, 1e-12);
  EXPECT_NEAR(d["occupancy.standard.v1"][0], 240.0 / 540, 1e-12);
  EXPECT_EQ(d["service_level.offered.v1"], (std::vector<double>{4.0 / 6, 4, 6}));

  // By hour: 10:00 holds six offered calls, 11:00 one.
  absl::StatusOr<v1::GetReportResponse> by_hour =
      Report(env, Request(base, absl::Hours(2), {v1::REPORT_GROUPING_HOUR}, {"offered"}));
  ASSERT_TRUE(by_hour.ok()) << by_hour.status();
  ASSERT_EQ(by_hour->rows_size(), 2);
  EXPECT_EQ(by_hour->rows(0).values(0).value(), 6);
  EXPECT_EQ(by_hour->rows(1).values(0).value(), 1);

  // By queue: q1 offered 5, answered 2 (c1 within T), abandoned 2 (c5 after T): SL 1 / 3, ASA
  // 20; q2 offered 2, both answered within T.
  absl::StatusOr<v1::GetReportResponse> by_queue =
      Report(env, Request(base, absl::Hours(2), {v1::REPORT_GROUPING_QUEUE},
                          {"offered", "service_level", "asa"}));
  ASSERT_TRUE(by_queue.ok()) << by_queue.status();
  ASSERT_EQ(by_queue->rows_size(), 2);
  EXPECT_EQ(by_queue->rows(0).entity(), "queues/q1");
  auto q1 = Values(by_queue->rows(0));
  EXPECT_EQ(q1["offered"][0], 5);
  EXPECT_EQ(q1["service_level.standard.v1"], (std::vector<double>{1.0 / 3, 1, 3}));
  EXPECT_EQ(q1["asa.standard.v1"], (std::vector<double>{20, 40, 2}));
  auto q2 = Values(by_queue->rows(1));
  EXPECT_EQ(q2["service_level.standard.v1"], (std::vector<double>{1, 2, 2}));

  // By team: t1 answered c1, c2, c7 (10 + 30 + 5 s) and handled them (150 + 210 + 90 s); t2
  // answered c6 and missed its wrap-up.
  absl::StatusOr<v1::GetReportResponse> by_team =
      Report(env, Request(base, absl::Hours(2), {v1::REPORT_GROUPING_TEAM},
                          {"answered", "asa", "aht", "missing_wrap_ups"}));
  ASSERT_TRUE(by_team.ok()) << by_team.status();
  ASSERT_EQ(by_team->rows_size(), 2);
  auto t1 = Values(by_team->rows(0));
  EXPECT_EQ(by_team->rows(0).entity(), "teams/t1");
  EXPECT_EQ(t1["asa.standard.v1"], (std::vector<double>{15, 45, 3}));
  EXPECT_EQ(t1["aht.standard.v1"], (std::vector<double>{150, 450, 3}));
  auto t2 = Values(by_team->rows(1));
  EXPECT_EQ(t2["answered"][0], 1);
  EXPECT_EQ(t2["missing_wrap_ups"][0], 1);

  // One operator, by interval, empty rows left out: a answered c1 (10:00) and c7 (11:00); its
  // time gives occupancy 1 at 10:00 and 0 at 10:15; r1 counts for a at 10:45.
  v1::GetReportRequest op_request =
      Request(base, absl::Hours(2), {v1::REPORT_GROUPING_INTERVAL, v1::REPORT_GROUPING_OPERATOR},
              {"answered", "occupancy", "csat"});
  op_request.mutable_entities()->add_operators("operators/a");
  op_request.set_omit_empty_rows(true);
  absl::StatusOr<v1::GetReportResponse> op = Report(env, op_request);
  ASSERT_TRUE(op.ok()) << op.status();
  ASSERT_EQ(op->rows_size(), 4);  // 10:00, 10:15, 10:45, 11:00
  EXPECT_EQ(op->rows(0).entity(), "operators/a");
  EXPECT_EQ(Values(op->rows(0))["occupancy.standard.v1"], (std::vector<double>{1, 240, 240}));
  EXPECT_EQ(Values(op->rows(1))["occupancy.standard.v1"], (std::vector<double>{0, 0, 300}));
  EXPECT_EQ(Values(op->rows(2))["csat.standard.v1"], (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(Values(op->rows(3))["answered"][0], 1);

  // CSV by day and queue, in UTC.
  v1::GetReportRequest csv_request =
      Request(base, absl::Hours(2), {v1::REPORT_GROUPING_DAY, v1::REPORT_GROUPING_QUEUE},
              {"offered", "service_level", "asa"});
  csv_request.set_format(v1::REPORT_FORMAT_CSV);
  absl::StatusOr<v1::GetReportResponse> csv = Report(env, csv_request);
  ASSERT_TRUE(csv.ok()) << csv.status();
  const std::string day_start =
      absl::FormatTime("%Y-%m-%dT00:00:00+00:00", base, absl::UTCTimeZone());
  const std::string day_end =
      absl::FormatTime("%Y-%m-%dT00:00:00+00:00", base + absl::Hours(24), absl::UTCTimeZone());
  EXPECT_EQ(csv->csv(),
            absl::StrCat("period_start,period_end,entity,offered [offered.standard.v1],"
                         "service_level [service_level.standard.v1],asa [asa.standard.v1]\r\n",
                         day_start, ",", day_end, ",queues/q1,5,0.333333,20\r\n", day_start, ",",
                         day_end, ",queues/q2,2,1,12.5\r\n"));
  // Pages of one row: the header only on the first.
  csv_request.set_page_size(1);
  absl::StatusOr<v1::GetReportResponse> page1 = Report(env, csv_request);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_FALSE(page1->next_page_token().empty());
  csv_request.set_page_token(page1->next_page_token());
  absl::StatusOr<v1::GetReportResponse> page2 = Report(env, csv_request);
  ASSERT_TRUE(page2.ok()) << page2.status();
  EXPECT_TRUE(page2->next_page_token().empty());
  EXPECT_EQ(page1->csv() + page2->csv(), csv->csv());
}

TEST(AnalyticsReportIntegrationTest, IntervalsFromEventsGiveTheHandWorkedReport) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  const absl::Time base = Base();
  Script script(base);
  ScriptTheMorning(script);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  absl::StatusOr<int> applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, static_cast<int>(script.events().size()));
  ExpectTheMorning(**env, base);

  // Observed staffing from q1's stored intervals: 2, 2, 1 and 0 calls from 10:00, AHT 150 s
  // and 210 s where calls were handled, else the range's (150 + 210) / 2 = 180 s; the queue's
  // goal (80 % in 20 s). Traffic at 10:00: 2 calls × 150 s / 900 s = 1/3 erlang.
  v1::ForecastStaffingRequest staffing;
  staffing.mutable_observed()->set_queue("queues/q1");
  *staffing.mutable_observed()->mutable_start_time() = common::TimestampFromTime(base);
  staffing.mutable_observed()->set_interval_count(4);
  v1::ForecastStaffingResponse forecast;
  grpc::Status staffed = (*env)->analytics().ForecastStaffing(Context().get(), staffing, &forecast);
  ASSERT_TRUE(staffed.ok()) << staffed.error_message();
  ASSERT_EQ(forecast.intervals_size(), 4);
  EXPECT_EQ(forecast.intervals(0).calls(), 2);
  EXPECT_EQ(forecast.intervals(0).average_handle_time().seconds(), 150);
  EXPECT_NEAR(forecast.intervals(0).result().traffic_erlangs(), 1.0 / 3, 1e-9);
  EXPECT_EQ(forecast.intervals(1).average_handle_time().seconds(), 210);
  EXPECT_EQ(forecast.intervals(2).calls(), 1);
  EXPECT_EQ(forecast.intervals(2).average_handle_time().seconds(), 180);
  EXPECT_EQ(forecast.intervals(3).calls(), 0);
  staffing.mutable_observed()->set_queue("queues/nothing");
  EXPECT_EQ((*env)->analytics().ForecastStaffing(Context().get(), staffing, &forecast).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The whole stream delivered again (the same event ids) changes no interval.
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  ExpectTheMorning(**env, base);
}

TEST(AnalyticsReportIntegrationTest, BadRequestsNameTheField) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  const absl::Time base = Base();
  auto expect_invalid = [&](const v1::GetReportRequest& request, const std::string& field) {
    absl::StatusOr<v1::GetReportResponse> response = Report(**env, request);
    ASSERT_FALSE(response.ok()) << field;
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << field;
    // (common/page_token.h words its message "invalid page_token: ...")
    EXPECT_TRUE(field == "page_token" ? absl::StrContains(response.status().message(), field)
                                      : absl::StartsWith(response.status().message(), field))
        << response.status().message();
  };
  v1::GetReportRequest request = Request(base, absl::Hours(1), {}, {"offered"});
  request.clear_range();
  expect_invalid(request, "range.start_time");
  request = Request(base, -absl::Hours(1), {}, {"offered"});
  expect_invalid(request, "range.end_time");
  expect_invalid(Request(base, absl::Hours(1), {}, {}), "metrics");
  expect_invalid(Request(base, absl::Hours(1), {}, {"offered", "calls_waiting"}), "metrics[1]");
  expect_invalid(Request(base, absl::Hours(1), {}, {"sla"}), "metrics[0]");
  expect_invalid(Request(base, absl::Hours(1), {v1::REPORT_GROUPING_DAY, v1::REPORT_GROUPING_HOUR},
                         {"offered"}),
                 "group_by[1]");
  expect_invalid(Request(base, absl::Hours(24 * 32), {v1::REPORT_GROUPING_INTERVAL}, {"offered"}),
                 "range");
  request = Request(base, absl::Hours(1), {}, {"offered"});
  request.mutable_entities()->add_queues("queues/q1");
  request.mutable_entities()->add_teams("teams/t1");
  expect_invalid(request, "entities.teams");
  request = Request(base, absl::Hours(1), {v1::REPORT_GROUPING_QUEUE}, {"offered"});
  request.mutable_entities()->add_teams("teams/t1");
  expect_invalid(request, "entities");
  request = Request(base, absl::Hours(1), {}, {"offered"});
  request.set_time_zone("Mars/Olympus");
  expect_invalid(request, "time_zone");
  request = Request(base, absl::Hours(1), {}, {"offered"});
  request.set_page_token("garbage");
  expect_invalid(request, "page_token");
}

// The calls service's records of the morning, as ListCalls returns them.
class FakeCalls final : public calls::v1::CallsService::Service {
 public:
  explicit FakeCalls(absl::Time base) {
    auto at = [base](int minute, int second) {
      return common::TimestampFromTime(base + absl::Minutes(minute) + absl::Seconds(second));
    };
    auto call = [&](const std::string& id, const std::string& queue, int qm, int qs,
                    int wait) -> calls::v1::Call& {
      calls::v1::Call& c = records_.emplace_back();
      c.set_name(absl::StrCat("calls/", id));
      c.set_direction(calls::v1::CALL_DIRECTION_INBOUND);
      c.set_queue(absl::StrCat("queues/", queue));
      *c.mutable_offer_time() = at(qm, qs);
      *c.mutable_queue_time() = at(qm, qs);
      *c.mutable_wait_duration() = Secs(wait);
      return c;
    };
    auto answered = [&](calls::v1::Call& c, const std::string& op, const std::string& team) {
      c.set_operator_(absl::StrCat("operators/", op));
      c.set_team(absl::StrCat("teams/", team));
      *c.mutable_connect_time() = common::TimestampFromTime(
          common::TimeFromTimestamp(c.queue_time()) + absl::Seconds(c.wait_duration().seconds()));
    };
    auto completed = [&](calls::v1::Call& c, int minute, int talk, int hold, int wrap) {
      c.set_state(calls::v1::CALL_STATE_COMPLETED);
      *c.mutable_wrap_up_time() = at(minute, 0);
      *c.mutable_talk_duration() = Secs(talk);
      *c.mutable_hold_duration() = Secs(hold);
      *c.mutable_wrap_up_duration() = Secs(wrap);
    };
    auto abandoned = [&](calls::v1::Call& c) {
      c.set_state(calls::v1::CALL_STATE_ABANDONED);
      *c.mutable_end_time() = common::TimestampFromTime(common::TimeFromTimestamp(c.queue_time()) +
                                                        absl::Seconds(c.wait_duration().seconds()));
    };
    calls::v1::Call& c1 = call("c1", "q1", 1, 0, 10);
    answered(c1, "a", "t1");
    completed(c1, 5, 100, 20, 30);
    calls::v1::Call& c2 = call("c2", "q1", 14, 50, 30);
    answered(c2, "b", "t1");
    completed(c2, 20, 200, 0, 10);
    abandoned(call("c3", "q1", 16, 0, 3));
    abandoned(call("c4", "q1", 17, 0, 15));
    abandoned(call("c5", "q1", 31, 0, 40));
    calls::v1::Call& c6 = call("c6", "q2", 32, 0, 20);
    answered(c6, "c", "t2");
    c6.set_state(calls::v1::CALL_STATE_WRAP_UP);
    c6.set_missing_wrap_up(true);
    *c6.mutable_wrap_up_time() = at(40, 0);
    calls::v1::Call& c7 = call("c7", "q2", 65, 0, 5);
    answered(c7, "a", "t1");
    completed(c7, 68, 60, 0, 30);
  }

  grpc::Status ListCalls(grpc::ServerContext* /*context*/,
                         const calls::v1::ListCallsRequest* request,
                         calls::v1::ListCallsResponse* response) override {
    // As the real service (services/calls): newest first only.
    if (!request->order_by().empty() && request->order_by() != "offer_time desc") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "order_by: unsupported");
    }
    const absl::Time from = common::TimeFromTimestamp(request->offer_time_range().start_time());
    const absl::Time to = common::TimeFromTimestamp(request->offer_time_range().end_time());
    for (const calls::v1::Call& call : records_) {
      const absl::Time offered = common::TimeFromTimestamp(call.offer_time());
      if (offered >= from && offered < to) *response->add_calls() = call;
    }
    return grpc::Status::OK;
  }

 private:
  std::vector<calls::v1::Call> records_;
};

absl::StatusOr<v1::IntervalRebuild> Rebuild(AnalyticsTestEnv& env, absl::Time start, absl::Time end,
                                            bool dry_run) {
  v1::RebuildIntervalsRequest request;
  request.set_request_id(absl::StrCat("rebuild-", dry_run, "-", absl::ToUnixNanos(absl::Now())));
  *request.mutable_range()->mutable_start_time() = common::TimestampFromTime(start);
  *request.mutable_range()->mutable_end_time() = common::TimestampFromTime(end);
  request.set_dry_run(dry_run);
  v1::IntervalRebuild job;
  grpc::Status status = env.analytics().RebuildIntervals(Context().get(), request, &job);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  env.module().rebuilder().AwaitIdle();
  v1::GetIntervalRebuildRequest get;
  get.set_name(job.name());
  status = env.analytics().GetIntervalRebuild(Context().get(), get, &job);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return job;
}

TEST(AnalyticsReportIntegrationTest, RebuildingFromCallRecordsGivesTheSameNumbers) {
  const absl::Time base = Base();
  FakeCalls fake(base);
  auto calls_server = common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, {&fake});
  ASSERT_TRUE(calls_server.ok()) << calls_server.status();
  (*calls_server)->SetReady(true);
  AnalyticsModuleOptions options{.metrics = {.site_time_zone = absl::UTCTimeZone()},
                                 .event_read_block = absl::Milliseconds(50),
                                 .claim_min_idle = absl::Milliseconds(200),
                                 .watch = {.refresh_interval = absl::Milliseconds(125),
                                           .heartbeat_interval = absl::Seconds(1)}};
  options.rebuild.calls_address = absl::StrCat("127.0.0.1:", (*calls_server)->port());
  auto env = AnalyticsTestEnv::Start(options);
  ASSERT_TRUE(env.ok()) << env.status();
  Script script(base);
  ScriptTheMorning(script);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());

  // The records give the same call figures as the events: a dry run finds no interval to
  // change (7 records read).
  absl::StatusOr<v1::IntervalRebuild> dry =
      Rebuild(**env, base, base + absl::Hours(2), /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->state(), v1::REBUILD_STATE_SUCCEEDED) << dry->error_message();
  EXPECT_EQ(dry->calls_read(), 7);
  EXPECT_EQ(dry->intervals_changed(), 0);
  EXPECT_GT(dry->intervals_total(), 0);
  EXPECT_DOUBLE_EQ(dry->progress(), 1);

  // Intervals gone wrong (as after an outage of the consumer) are put right by a rebuild;
  // operator time and survey answers stay as they were.
  absl::Status spoiled = (*env)->context().pg.Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE interval_counts SET offered = offered + 5, answered = 0, "
        "answer_wait_seconds = 0 WHERE site = $1",
        (*env)->site());
    return absl::OkStatus();
  });
  ASSERT_TRUE(spoiled.ok()) << spoiled;
  absl::StatusOr<v1::IntervalRebuild> rebuilt =
      Rebuild(**env, base, base + absl::Hours(2), /*dry_run=*/false);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->state(), v1::REBUILD_STATE_SUCCEEDED) << rebuilt->error_message();
  EXPECT_GT(rebuilt->intervals_changed(), 0);
  ExpectTheMorning(**env, base);

  // Jobs newest first; cancelling a final job changes nothing; unknown jobs are NOT_FOUND.
  v1::ListIntervalRebuildsResponse list;
  ASSERT_TRUE((*env)->analytics().ListIntervalRebuilds(Context().get(), {}, &list).ok());
  ASSERT_EQ(list.rebuilds_size(), 2);
  EXPECT_EQ(list.rebuilds(0).name(), rebuilt->name());
  EXPECT_FALSE(list.rebuilds(0).dry_run());
  v1::CancelIntervalRebuildRequest cancel;
  cancel.set_name(rebuilt->name());
  v1::IntervalRebuild after;
  ASSERT_TRUE((*env)->analytics().CancelIntervalRebuild(Context().get(), cancel, &after).ok());
  EXPECT_EQ(after.state(), v1::REBUILD_STATE_SUCCEEDED);
  v1::GetIntervalRebuildRequest missing;
  missing.set_name("intervalRebuilds/nope");
  EXPECT_EQ((*env)->analytics().GetIntervalRebuild(Context().get(), missing, &after).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A range reaching into the open interval, or a malformed queue, is refused.
  absl::StatusOr<v1::IntervalRebuild> open = Rebuild(**env, base, absl::Now(), false);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(open.status().message(), "range.end_time")) << open.status();
  (*calls_server)->Shutdown();
}

}  // namespace
}  // namespace contactcentre::analytics
