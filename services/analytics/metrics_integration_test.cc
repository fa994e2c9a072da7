// Live figures from scripted event sequences on the real Redis stream and PostgreSQL: every
// expected figure is worked out by hand in the comments; a replayed stream changes nothing; a
// dead replica's pending events are taken over.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/event_stream.h"
#include "common/pg_util.h"
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

// Builds the call events of a scripted sequence, each at a time before the test's start.
class Script {
 public:
  explicit Script(absl::Time now) : now_(now) {}

  Event& Add(absl::Duration ago) {
    events_.emplace_back();
    *events_.back().mutable_occurred_at() = common::TimestampFromTime(now_ - ago);
    return events_.back();
  }
  events::v1::CallContext* Context(events::v1::CallContext* context, const std::string& call,
                                   const std::string& queue, bool outbound = false) {
    context->set_call(absl::StrCat("calls/", call));
    context->set_queue(absl::StrCat("queues/", queue));
    context->set_direction(outbound ? calls::v1::CALL_DIRECTION_OUTBOUND
                                    : calls::v1::CALL_DIRECTION_INBOUND);
    context->set_chain_root(context->call());
    if (auto handler = handlers_.find(call); handler != handlers_.end()) {
      context->set_operator_(absl::StrCat("operators/", handler->second.first));
      context->set_team(absl::StrCat("teams/", handler->second.second));
    }
    return context;
  }
  void Queued(const std::string& call, const std::string& queue, absl::Duration ago,
              bool requeued = false, bool outbound = false) {
    events::v1::CallQueued* queued = Add(ago).mutable_call_queued();
    Context(queued->mutable_call(), call, queue, outbound);
    queued->set_requeued(requeued);
  }
  void Connected(const std::string& call, const std::string& queue, absl::Duration ago, double wait,
                 bool outbound = false) {
    events::v1::CallConnected* connected = Add(ago).mutable_call_connected();
    Context(connected->mutable_call(), call, queue, outbound);
    *connected->mutable_wait_time() = Secs(wait);
  }
  void Abandoned(const std::string& call, const std::string& queue, absl::Duration ago,
                 double wait) {
    events::v1::CallAbandoned* abandoned = Add(ago).mutable_call_abandoned();
    Context(abandoned->mutable_call(), call, queue);
    *abandoned->mutable_wait_time() = Secs(wait);
  }
  void Completed(const std::string& call, const std::string& queue, absl::Duration ago, double talk,
                 double hold, double wrap_up) {
    events::v1::CallCompleted* completed = Add(ago).mutable_call_completed();
    Context(completed->mutable_call(), call, queue);
    *completed->mutable_talk_time() = Secs(talk);
    *completed->mutable_hold_time() = Secs(hold);
    *completed->mutable_wrap_up_time() = Secs(wrap_up);
  }
  void Transferred(const std::string& call, const std::string& queue, absl::Duration ago) {
    events::v1::CallTransferred* transferred = Add(ago).mutable_call_transferred();
    Context(transferred->mutable_call(), call, queue);
    transferred->set_new_call("calls/next");
  }
  void WrapUpTimedOut(const std::string& call, const std::string& queue, absl::Duration ago) {
    Context(Add(ago).mutable_wrap_up_timed_out()->mutable_call(), call, queue);
  }
  std::vector<Event>& events() { return events_; }
  // The call's events from now on name this operator and team.
  void HandledBy(const std::string& call, const std::string& op, const std::string& team) {
    handlers_[call] = {op, team};
  }

 private:
  std::map<std::string, std::pair<std::string, std::string>> handlers_;
  const absl::Time now_;
  std::vector<Event> events_;
};

// The scripted day: T = 20 s, short abandons < 5 s. Queue q1 in the last 15 minutes:
//   c1 queued, answered after 10 s, completed: talk 100 + hold 20 + wrap-up 30 = 150 s
//   c2 queued, answered after 30 s, completed: 200 + 0 + 10 = 210 s, transferred
//   c3 queued, abandoned after 3 s (short abandon)
//   c4 queued, abandoned after 15 s (within T)
//   c5 queued, abandoned after 40 s (after T)
//   c6 queued, answered after exactly 20 s (within T), wrap-up timed out
//   c7 queued, requeued (not offered again), answered after 5 s
//   c9 outbound in q1: queued and answered after 50 s; outbound calls are left out
// and 40 minutes ago: c10 queued, answered after 60 s. Queue q2: c8 queued, answered after 0 s.
void ScriptTheDay(Script& s) {
  const absl::Duration m = absl::Minutes(1);
  s.Queued("c10", "q1", 41 * m);
  s.Connected("c10", "q1", 40 * m, 60);
  s.Queued("c1", "q1", 10 * m);
  s.Connected("c1", "q1", 10 * m - absl::Seconds(10), 10);
  s.Queued("c2", "q1", 9 * m);
  s.Connected("c2", "q1", 9 * m - absl::Seconds(30), 30);
  s.Queued("c3", "q1", 8 * m);
  s.Abandoned("c3", "q1", 8 * m - absl::Seconds(3), 3);
  s.Queued("c4", "q1", 8 * m);
  s.Abandoned("c4", "q1", 8 * m - absl::Seconds(15), 15);
  s.Queued("c5", "q1", 7 * m);
  s.Abandoned("c5", "q1", 7 * m - absl::Seconds(40), 40);
  s.Queued("c6", "q1", 6 * m);
  s.Connected("c6", "q1", 6 * m - absl::Seconds(20), 20);
  s.Queued("c7", "q1", 6 * m);
  s.Queued("c7", "q1", 5 * m, /*requeued=*/true);
  s.Connected("c7", "q1", 5 * m - absl::Seconds(5), 5);
  s.Queued("c8", "q2", 5 * m);
  s.Connected("c8", "q2", 5 * m, 0);
  s.Queued("c9", "q1", 5 * m, false, /*outbound=*/true);
  s.Connected("c9", "q1", 4 * m, 50, /*outbound=*/true);
  s.Completed("c1", "q1", 4 * m, 100, 20, 30);
  s.Transferred("c2", "q1", 3 * m);
  s.Completed("c2", "q1", 2 * m, 200, 0, 10);
  s.WrapUpTimedOut("c6", "q1", 1 * m);
}

// value (or -1 when unset), numerator and denominator of each metric of an entity in a window.
using Figures = std::map<std::string, std::vector<double>>;

Figures FiguresOf(const v1::GetCurrentMetricsResponse& response, const std::string& entity,
                  v1::MetricWindow window) {
  Figures figures;
  for (const v1::EntityMetrics& metrics : response.entities()) {
    if (metrics.entity() != entity) continue;
    for (const v1::MetricValue& value : metrics.values()) {
      if (value.window() != window) continue;
      figures[value.metric()] = {value.has_value() ? value.value() : -1, value.numerator(),
                                 value.denominator()};
    }
  }
  return figures;
}

absl::StatusOr<v1::GetCurrentMetricsResponse> Current(AnalyticsTestEnv& env,
                                                      v1::GetCurrentMetricsRequest request = {}) {
  v1::GetCurrentMetricsResponse response;
  grpc::Status status = env.analytics().GetCurrentMetrics(Context().get(), request, &response);
  if (!status.ok())
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  return response;
}

void ExpectTheDay(const v1::GetCurrentMetricsResponse& response, const std::string& site) {
  const Figures q1 = FiguresOf(response, "queues/q1", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  ASSERT_FALSE(q1.empty());
  EXPECT_EQ(q1.at("offered")[0], 7);                     // c1..c7, c7's requeue not counted again
  EXPECT_EQ(q1.at("answered")[0], 4);                    // c1, c2, c6, c7
  EXPECT_EQ(q1.at("answered_within_threshold")[0], 3);   // c1 (10 s), c6 (20 s), c7 (5 s)
  EXPECT_EQ(q1.at("abandoned")[0], 2);                   // c4, c5
  EXPECT_EQ(q1.at("short_abandoned")[0], 1);             // c3
  EXPECT_EQ(q1.at("abandoned_within_threshold")[0], 1);  // c4
  // Service level: 3 answered within T / (4 answered + 1 abandoned after T) = 0.6.
  EXPECT_EQ(q1.at("service_level"), (std::vector<double>{0.6, 3, 5}));
  // ASA: (10 + 30 + 20 + 5) / 4 = 16.25 s.
  EXPECT_EQ(q1.at("asa"), (std::vector<double>{16.25, 65, 4}));
  // AHT: (150 + 210) / 2 = 180 s.
  EXPECT_EQ(q1.at("aht"), (std::vector<double>{180, 360, 2}));
  EXPECT_EQ(q1.at("handled")[0], 2);
  // Abandonment: 2 / (7 offered - 1 short abandon) = 1/3.
  EXPECT_NEAR(q1.at("abandonment_rate")[0], 1.0 / 3, 1e-12);
  EXPECT_EQ(q1.at("transfers")[0], 1);         // c2
  EXPECT_EQ(q1.at("missing_wrap_ups")[0], 1);  // c6

  // The last hour adds c10 (answered after 60 s): SL 3 / (5 + 1) = 0.5, ASA 125 / 5 = 25 s.
  const Figures q1_hour = FiguresOf(response, "queues/q1", v1::METRIC_WINDOW_ROLLING_60_MINUTES);
  EXPECT_EQ(q1_hour.at("offered")[0], 8);
  EXPECT_EQ(q1_hour.at("service_level"), (std::vector<double>{0.5, 3, 6}));
  EXPECT_EQ(q1_hour.at("asa"), (std::vector<double>{25, 125, 5}));

  // q2: one call answered at once; nothing abandoned or handled, so AHT is undefined.
  const Figures q2 = FiguresOf(response, "queues/q2", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(q2.at("offered")[0], 1);
  EXPECT_EQ(q2.at("service_level"), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(q2.at("aht"), (std::vector<double>{-1, 0, 0}));

  // The site sums both queues: SL (3 + 1) / (5 + 1), ASA 65 / 5 = 13 s.
  const Figures all =
      FiguresOf(response, absl::StrCat("sites/", site), v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(all.at("offered")[0], 8);
  EXPECT_EQ(all.at("service_level")[1], 4);
  EXPECT_EQ(all.at("service_level")[2], 6);
  EXPECT_EQ(all.at("asa"), (std::vector<double>{13, 65, 5}));
}

TEST(AnalyticsMetricsIntegrationTest, ScriptedEventsGiveTheHandWorkedFigures) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  Script script(absl::Now());
  ScriptTheDay(script);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  absl::StatusOr<int> applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, static_cast<int>(script.events().size()));

  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 3);  // the site, then q1 and q2
  EXPECT_EQ(response->entities(0).scope(), v1::SCOPE_TYPE_SITE);
  ExpectTheDay(*response, (*env)->site());
  const v1::MetricValue& sl = response->entities(1).values(0);
  EXPECT_FALSE(sl.definition().empty());
  EXPECT_TRUE(sl.has_data_time());

  // Every event delivered again (the same ids, as after a crash before the acknowledgement)
  // changes nothing.
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, static_cast<int>(script.events().size()));  // acknowledged, not re-applied
  response = Current(**env);
  ASSERT_TRUE(response.ok()) << response.status();
  ExpectTheDay(*response, (*env)->site());

  // The other service level definitions, by name, over the same calls of q1: answered within
  // T / answered = 3 / 4; (answered within T + abandoned within T) / (answered + abandoned) =
  // (3 + 1) / (4 + 2).
  v1::GetCurrentMetricsRequest variants;
  variants.mutable_filter()->mutable_entities()->add_queues("queues/q1");
  variants.mutable_filter()->add_metrics("metricDefinitions/service_level.offered.v1");
  variants.mutable_filter()->add_metrics("metricDefinitions/service_level.answered.v1");
  variants.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  response = Current(**env, variants);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 1);
  ASSERT_EQ(response->entities(0).values_size(), 2);
  EXPECT_EQ(response->entities(0).values(0).definition(),
            "metricDefinitions/service_level.answered.v1");
  EXPECT_DOUBLE_EQ(response->entities(0).values(0).value(), 0.75);
  EXPECT_EQ(response->entities(0).values(1).definition(),
            "metricDefinitions/service_level.offered.v1");
  EXPECT_DOUBLE_EQ(response->entities(0).values(1).value(), 4.0 / 6);

  // Pruning keeps what changed recently, and only then forgets it.
  absl::StatusOr<int64_t> pruned = (*env)->module().metrics().Prune(absl::Hours(48));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0);

  // A filter: one queue, two metrics, one window.
  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_queues("queues/q2");
  request.mutable_filter()->add_metrics("offered");
  request.mutable_filter()->add_metrics("metricDefinitions/asa.standard.v1");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_30_MINUTES);
  request.set_include_definitions(true);
  response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 1);
  EXPECT_EQ(response->entities(0).entity(), "queues/q2");
  ASSERT_EQ(response->entities(0).values_size(), 2);
  EXPECT_EQ(response->definitions_size(), 2);

  pruned = (*env)->module().metrics().Prune(absl::ZeroDuration());
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 10);  // c1..c10
  response = Current(**env);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 1);  // the site alone, with nothing counted
  EXPECT_EQ(FiguresOf(*response, absl::StrCat("sites/", (*env)->site()), v1::METRIC_WINDOW_TODAY)
                .at("offered")[0],
            0);
}

TEST(AnalyticsMetricsIntegrationTest, TodayBeforeTheLastHourComesFromTheStoredIntervals) {
  // A site zone in which it is about noon now, so that the scripted day, played 3 hours ago,
  // is today.
  const int utc_hour = absl::ToCivilHour(absl::Now(), absl::UTCTimeZone()).hour();
  auto env = AnalyticsTestEnv::Start(
      {.metrics = {.site_time_zone = absl::FixedTimeZone((12 - utc_hour) * 3600)},
       .event_read_block = absl::Milliseconds(50),
       .claim_min_idle = absl::Milliseconds(200),
       .watch = {.refresh_interval = absl::Milliseconds(125),
                 .heartbeat_interval = absl::Seconds(1)}});
  ASSERT_TRUE(env.ok()) << env.status();
  Script script(absl::Now() - absl::Hours(3));
  script.HandledBy("c1", "o1", "t1");
  ScriptTheDay(script);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());
  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_sites("sites/-");
  request.mutable_filter()->mutable_entities()->add_queues("queues/q1");
  request.mutable_filter()->mutable_entities()->add_teams("teams/t1");
  request.mutable_filter()->mutable_entities()->set_include_team_operators(true);
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_TODAY);
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_60_MINUTES);
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  // o1 handled c1 for t1 three hours ago and is not logged in: still one of t1's operators
  // today, with c1 answered after 10 s and handled in 150 s.
  const Figures o1 = FiguresOf(*response, "operators/o1", v1::METRIC_WINDOW_TODAY);
  ASSERT_FALSE(o1.empty()) << "o1 is missing from t1's operators";
  EXPECT_EQ(o1.at("answered")[0], 1);
  EXPECT_EQ(o1.at("aht"), (std::vector<double>{150, 150, 1}));
  EXPECT_EQ(FiguresOf(*response, "teams/t1", v1::METRIC_WINDOW_TODAY).at("answered")[0], 1);

  // TODAY reads the facts of the last hour or so only; earlier hours come from the 15-minute
  // intervals written with each event. Without the per-call facts, the day must still add up.
  absl::StatusOr<int64_t> deleted =
      (*env)->module().metrics().pg().Transact([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return static_cast<int64_t>(txn.exec("DELETE FROM call_facts").affected_rows());
      });
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(*deleted, 10);  // c1..c10
  response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  // The day as ExpectTheDay's last hour worked it out: 8 offered, SL 3 / (5 answered + 1
  // abandoned after T), ASA 125 / 5 s, AHT 360 / 2 s, one short abandon, one transfer, one
  // missing wrap-up.
  const Figures q1 = FiguresOf(*response, "queues/q1", v1::METRIC_WINDOW_TODAY);
  ASSERT_FALSE(q1.empty());
  EXPECT_EQ(q1.at("offered")[0], 8);
  EXPECT_EQ(q1.at("service_level"), (std::vector<double>{0.5, 3, 6}));
  EXPECT_EQ(q1.at("asa"), (std::vector<double>{25, 125, 5}));
  EXPECT_EQ(q1.at("aht"), (std::vector<double>{180, 360, 2}));
  EXPECT_EQ(q1.at("short_abandoned")[0], 1);
  EXPECT_EQ(q1.at("transfers")[0], 1);
  EXPECT_EQ(q1.at("missing_wrap_ups")[0], 1);
  // The site adds q2's call answered at once.
  const Figures site =
      FiguresOf(*response, absl::StrCat("sites/", (*env)->site()), v1::METRIC_WINDOW_TODAY);
  EXPECT_EQ(site.at("offered")[0], 9);
  EXPECT_EQ(site.at("service_level"), (std::vector<double>{4.0 / 7, 4, 7}));
  // Nothing in the last hour.
  EXPECT_EQ(
      FiguresOf(*response, "queues/q1", v1::METRIC_WINDOW_ROLLING_60_MINUTES).at("offered")[0], 0);
}

TEST(AnalyticsMetricsIntegrationTest, ADeadReplicasPendingEventsAreTakenOver) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  Script script(absl::Now());
  script.Queued("d1", "q1", absl::Minutes(2));
  script.Connected("d1", "q1", absl::Minutes(1), 12);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  // Another replica of the group reads both events and dies before acknowledging them.
  auto read = (*env)->redis().Command({"XREADGROUP", "GROUP", "analytics", "doomed", "COUNT", "10",
                                       "STREAMS", common::EventStreamKey((*env)->site()), ">"});
  ASSERT_TRUE(read.ok()) << read.status();
  absl::StatusOr<int> applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 0);  // not idle long enough yet
  absl::SleepFor(absl::Milliseconds(250));
  applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 2);
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env);
  ASSERT_TRUE(response.ok()) << response.status();
  const Figures q1 = FiguresOf(*response, "queues/q1", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(q1.at("offered")[0], 1);
  EXPECT_EQ(q1.at("asa"), (std::vector<double>{12, 12, 1}));
}

TEST(AnalyticsMetricsIntegrationTest, BadFiltersNameTheField) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  struct Case {
    absl::StatusCode code;
    const char* field;
    void (*change)(v1::MetricsFilter&);
  };
  const Case cases[] = {
      {absl::StatusCode::kInvalidArgument, "filter.metrics[1]",
       [](v1::MetricsFilter& f) {
         f.add_metrics("asa");
         f.add_metrics("sla");
       }},
      {absl::StatusCode::kInvalidArgument, "filter.entities.queues[0]",
       [](v1::MetricsFilter& f) { f.mutable_entities()->add_queues("q1"); }},
      {absl::StatusCode::kInvalidArgument, "filter.entities.sites[0]",
       [](v1::MetricsFilter& f) { f.mutable_entities()->add_sites("msk"); }},
      {absl::StatusCode::kInvalidArgument, "filter.windows[0]",
       [](v1::MetricsFilter& f) { f.add_windows(v1::METRIC_WINDOW_REPORT_PERIOD); }},
      {absl::StatusCode::kInvalidArgument, "filter.entities.teams[0]",
       [](v1::MetricsFilter& f) { f.mutable_entities()->add_teams("t1"); }},
      {absl::StatusCode::kInvalidArgument, "filter.entities.operators[1]",
       [](v1::MetricsFilter& f) {
         f.mutable_entities()->add_operators("operators/-");
         f.mutable_entities()->add_operators("operators/");
       }},
      {absl::StatusCode::kInvalidArgument, "filter.metrics[0]",
       [](v1::MetricsFilter& f) { f.add_metrics("operators_in_space"); }},
  };
  for (const Case& c : cases) {
    v1::GetCurrentMetricsRequest request;
    c.change(*request.mutable_filter());
    absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
    EXPECT_EQ(response.status().code(), c.code) << c.field << ": " << response.status();
    EXPECT_TRUE(absl::StartsWith(response.status().message(), c.field))
        << c.field << ": " << response.status();
  }
}

TEST(AnalyticsMetricsIntegrationTest, WatchSendsASnapshotThenChangesThenHeartbeats) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  v1::WatchMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_queues("queues/q1");
  request.mutable_filter()->add_metrics("offered");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  request.mutable_min_interval()->set_nanos(100'000'000);  // raised to the 250 ms floor
  request.set_include_definitions(true);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = (*env)->analytics().WatchMetrics(&context, request);

  v1::WatchMetricsResponse message;
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  EXPECT_EQ(message.sequence(), 1u);
  EXPECT_EQ(message.part_count(), 1);
  EXPECT_EQ(message.min_interval().nanos(), 250'000'000);
  ASSERT_EQ(message.definitions_size(), 1);
  ASSERT_EQ(message.entities_size(), 1);
  EXPECT_EQ(message.entities(0).entity(), "queues/q1");
  ASSERT_EQ(message.entities(0).values_size(), 1);
  EXPECT_EQ(message.entities(0).values(0).value(), 0);

  Script script(absl::Now());
  script.Queued("w1", "q1", absl::Minutes(1));
  script.Queued("w2", "q1", absl::Minutes(1));
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());
  // (A heartbeat may come first on a slow machine.)
  do {
    ASSERT_TRUE(stream->Read(&message));
  } while (message.kind() == v1::WATCH_MESSAGE_KIND_HEARTBEAT && message.sequence() < 5);
  EXPECT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_UPDATE);
  const uint64_t update_sequence = message.sequence();
  ASSERT_EQ(message.entities_size(), 1);
  ASSERT_EQ(message.entities(0).values_size(), 1);
  EXPECT_EQ(message.entities(0).values(0).value(), 2);
  EXPECT_EQ(message.skipped_updates(), 0u);

  // Nothing changes: a heartbeat after the heartbeat interval (1 s here).
  const absl::Time before = absl::Now();
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_HEARTBEAT);
  EXPECT_EQ(message.sequence(), update_sequence + 1);
  EXPECT_GT(absl::Now() - before, absl::Milliseconds(500));
  EXPECT_EQ((*env)->module().watcher().subscribers(), 1);
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // A bad filter ends the stream at once, naming the field.
  grpc::ClientContext bad_context;
  v1::WatchMetricsRequest bad;
  bad.mutable_filter()->add_metrics("sla");
  auto bad_stream = (*env)->analytics().WatchMetrics(&bad_context, bad);
  EXPECT_FALSE(bad_stream->Read(&message));
  const grpc::Status status = bad_stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "filter.metrics[0]"))
      << status.error_message();
}

TEST(AnalyticsMetricsIntegrationTest, SubscribersOfOneFilterShareOneView) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  v1::WatchMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_queues("queues/q1");
  request.mutable_filter()->add_metrics("offered");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  v1::WatchMetricsRequest other = request;
  other.mutable_filter()->add_metrics("answered");
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchMetricsResponse>> reader;
  };
  Stream streams[3];
  for (int i = 0; i < 3; ++i) {
    streams[i].reader =
        (*env)->analytics().WatchMetrics(&streams[i].context, i < 2 ? request : other);
    v1::WatchMetricsResponse snapshot;
    ASSERT_TRUE(streams[i].reader->Read(&snapshot));
    EXPECT_EQ(snapshot.kind(), v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  }
  // Two filters: two views for three subscribers.
  const WatchStats stats = (*env)->module().watcher().stats();
  EXPECT_EQ(stats.subscribers, 3);
  EXPECT_EQ(stats.views, 2);

  Script script(absl::Now());
  script.Queued("v1", "q1", absl::Minutes(1));
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());
  // Both subscribers of the shared view get the same update (their own sequence numbers).
  std::string entities[2];
  for (int i = 0; i < 2; ++i) {
    v1::WatchMetricsResponse message;
    do {
      ASSERT_TRUE(streams[i].reader->Read(&message));
    } while (message.kind() == v1::WATCH_MESSAGE_KIND_HEARTBEAT && message.sequence() < 5);
    ASSERT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_UPDATE);
    EXPECT_EQ(message.sequence(), 2u);
    ASSERT_EQ(message.entities_size(), 1);
    ASSERT_EQ(message.entities(0).values_size(), 1);
    EXPECT_EQ(message.entities(0).values(0).value(), 1);
    entities[i] = message.entities(0).SerializeAsString();
  }
  EXPECT_EQ(entities[0], entities[1]);
  // The other view's subscriber gets offered and answered... of which only offered changed.
  v1::WatchMetricsResponse message;
  do {
    ASSERT_TRUE(streams[2].reader->Read(&message));
  } while (message.kind() == v1::WATCH_MESSAGE_KIND_HEARTBEAT && message.sequence() < 5);
  ASSERT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_UPDATE);
  ASSERT_EQ(message.entities_size(), 1);
  ASSERT_EQ(message.entities(0).values_size(), 1);
  EXPECT_EQ(message.entities(0).values(0).metric(), "offered");
  for (Stream& stream : streams) {
    stream.context.TryCancel();
    stream.reader->Finish();
  }
}

TEST(AnalyticsMetricsIntegrationTest, UpdatesComeAtMostOncePerMinIntervalWithTheLatestCounts) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  v1::WatchMetricsRequest request;  // the site's offered calls today
  request.mutable_filter()->mutable_entities()->add_sites("sites/-");
  request.mutable_filter()->add_metrics("offered");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_TODAY);
  request.mutable_min_interval()->set_nanos(300'000'000);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = (*env)->analytics().WatchMetrics(&context, request);
  v1::WatchMetricsResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  // 300 ms is not a whole number of refresh ticks (125 ms here): rounded up, never more often
  // than asked.
  EXPECT_EQ(message.min_interval().seconds(), 0);
  EXPECT_EQ(message.min_interval().nanos(), 375'000'000);

  // A call is offered every 40 ms for 2.5 s, so that every refresh has news.
  constexpr int kCalls = 62;
  std::thread publisher([&] {
    for (int i = 0; i < kCalls; ++i) {
      Script script(absl::Now());
      script.Queued(absl::StrCat("r", i), "q1", absl::ZeroDuration());
      EXPECT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
      EXPECT_TRUE((*env)->Drain().ok());
      absl::SleepFor(absl::Milliseconds(40));
    }
  });
  std::vector<absl::Time> data_times;
  double offered = 0;
  const absl::Time started = absl::Now();
  while (offered < kCalls) {
    if (!stream->Read(&message)) break;
    if (message.kind() != v1::WATCH_MESSAGE_KIND_UPDATE) continue;
    data_times.push_back(common::TimeFromTimestamp(message.data_time()));
    for (const v1::EntityMetrics& entity : message.entities()) {
      if (entity.scope() == v1::SCOPE_TYPE_SITE && entity.values_size() == 1) {
        EXPECT_GE(entity.values(0).value(), offered) << "the count went back";
        offered = entity.values(0).value();
      }
    }
  }
  const absl::Duration took = absl::Now() - started;
  publisher.join();
  EXPECT_EQ(offered, kCalls) << "the stream ended before the last call was counted";
  // No more messages came than the period allows, each with newer figures than the last.
  ASSERT_GE(data_times.size(), 4u);
  for (size_t i = 1; i < data_times.size(); ++i) {
    EXPECT_GT(data_times[i], data_times[i - 1]) << "message " << i;
  }
  EXPECT_LE(static_cast<int64_t>(data_times.size()), took / absl::Milliseconds(375) + 2);
  context.TryCancel();
  stream->Finish();
}

TEST(AnalyticsMetricsIntegrationTest, ASlowSubscriberSkipsToTheLatestState) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  // A client with small HTTP/2 windows that it does not widen on its own, so that the server's
  // writes block as soon as the client stops reading.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  arguments.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto channel =
      grpc::CreateCustomChannel((*env)->address(), grpc::InsecureChannelCredentials(), arguments);
  auto stub = v1::AnalyticsService::NewStub(channel);
  v1::WatchMetricsRequest request;  // the site and every queue, every metric and window
  request.mutable_min_interval()->set_nanos(250'000'000);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->WatchMetrics(&context, request);
  v1::WatchMetricsResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_EQ(message.kind(), v1::WATCH_MESSAGE_KIND_SNAPSHOT);

  // Calls keep arriving in 30 queues (every refresh changes every queue's figures) while the
  // client reads nothing for 2 seconds.
  int next = 0;
  auto publish = [&] {
    Script script(absl::Now());
    for (int q = 0; q < 30; ++q) {
      script.Queued(absl::StrCat("s", next++), absl::StrCat("q", q), absl::Seconds(1));
    }
    ASSERT_TRUE((*env)->calls_publisher().PublishBatch(script.events()).ok());
    ASSERT_TRUE((*env)->Drain().ok());
  };
  const absl::Time until = absl::Now() + absl::Seconds(2);
  while (absl::Now() < until) {
    publish();
    absl::SleepFor(absl::Milliseconds(100));
  }
  const int published = next;
  // Then it reads until it has the latest state: the messages merged what it missed (far fewer
  // than the 8 periods of 250 ms) and say how many periods they skipped.
  int messages = 0;
  uint32_t skipped = 0;
  double site_offered = -1;
  while (site_offered != published) {
    ASSERT_TRUE(stream->Read(&message)) << "stream ended";
    ++messages;
    skipped += message.skipped_updates();
    for (const v1::EntityMetrics& entity : message.entities()) {
      if (entity.scope() != v1::SCOPE_TYPE_SITE) continue;
      for (const v1::MetricValue& value : entity.values()) {
        if (value.metric() == "offered" && value.window() == v1::METRIC_WINDOW_TODAY) {
          site_offered = value.numerator();
        }
      }
    }
    ASSERT_LT(messages, 20) << "the server queued messages for a client that did not read";
  }
  EXPECT_LE(messages, 4);
  EXPECT_GE(skipped, 1u);
  context.TryCancel();
  stream->Finish();
}

TEST(AnalyticsMetricsIntegrationTest, TeamsAndOperatorsCountTheCallsTheyHandled) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  // Team t1: o1 answers e1 after 10 s and handles it for 100 s; o2 answers e2 after 30 s.
  // Team t2: o3 answers e3 after 0 s. e4 is abandoned after 40 s with no operator.
  const absl::Duration m = absl::Minutes(1);
  Script s(absl::Now());
  s.Queued("e1", "q1", 5 * m);
  s.HandledBy("e1", "o1", "t1");
  s.Connected("e1", "q1", 5 * m - absl::Seconds(10), 10);
  s.Completed("e1", "q1", 3 * m, 80, 0, 20);
  s.Queued("e2", "q1", 5 * m);
  s.HandledBy("e2", "o2", "t1");
  s.Connected("e2", "q1", 5 * m - absl::Seconds(30), 30);
  s.Queued("e3", "q2", 4 * m);
  s.HandledBy("e3", "o3", "t2");
  s.Connected("e3", "q2", 4 * m, 0);
  s.Queued("e4", "q1", 4 * m);
  s.Abandoned("e4", "q1", 4 * m - absl::Seconds(40), 40);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(s.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());

  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_teams("teams/t1");
  request.mutable_filter()->mutable_entities()->set_include_team_operators(true);
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 3);  // by name: operators/o1, operators/o2, teams/t1
  EXPECT_EQ(response->entities(0).entity(), "operators/o1");
  EXPECT_EQ(response->entities(0).scope(), v1::SCOPE_TYPE_OPERATOR);
  EXPECT_EQ(response->entities(1).entity(), "operators/o2");
  EXPECT_EQ(response->entities(2).entity(), "teams/t1");
  EXPECT_EQ(response->entities(2).scope(), v1::SCOPE_TYPE_TEAM);
  const Figures t1 = FiguresOf(*response, "teams/t1", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(t1.at("answered")[0], 2);
  EXPECT_EQ(t1.at("asa"), (std::vector<double>{20, 40, 2}));            // (10 + 30) / 2
  EXPECT_EQ(t1.at("service_level"), (std::vector<double>{0.5, 1, 2}));  // e1 only within T
  const Figures o1 = FiguresOf(*response, "operators/o1", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(o1.at("aht"), (std::vector<double>{100, 100, 1}));  // 80 + 0 + 20

  // Every team; the abandoned call without an operator is in no team.
  request.mutable_filter()->mutable_entities()->Clear();
  request.mutable_filter()->mutable_entities()->add_teams("teams/-");
  response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->entities_size(), 2);
  const Figures t2 = FiguresOf(*response, "teams/t2", v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_EQ(t2.at("answered")[0], 1);
  EXPECT_EQ(t2.at("abandoned")[0], 0);
}

TEST(AnalyticsMetricsIntegrationTest, TwoReplicasShareTheStreamAndAgree) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  AnalyticsModule second((*env)->context(), {.metrics = {.site_time_zone = absl::UTCTimeZone()},
                                             .event_read_block = absl::Milliseconds(50)});
  ASSERT_NE(second.consumer().consumer_name(), (*env)->module().consumer().consumer_name());
  Script script(absl::Now());
  ScriptTheDay(script);
  std::vector<Event> first_half(script.events().begin(), script.events().begin() + 12);
  std::vector<Event> second_half(script.events().begin() + 12, script.events().end());
  // The first replica takes the first half; the second replica, in the same group, only what
  // came after.
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(first_half).ok());
  absl::StatusOr<int> applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 12);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(second_half).ok());
  applied = second.consumer().PollOnce(true);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, static_cast<int>(second_half.size()));
  applied = (*env)->Drain();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 0);

  // Either replica answers with every event, as if one had applied them all.
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env);
  ASSERT_TRUE(response.ok()) << response.status();
  ExpectTheDay(*response, (*env)->site());
  response = second.metrics().CurrentMetrics({}, absl::Now());
  ASSERT_TRUE(response.ok()) << response.status();
  ExpectTheDay(*response, (*env)->site());
}

Event StateChanged(absl::Time at, const std::string& op, const std::string& team,
                   calls::v1::OperatorState state, std::vector<std::string> queues,
                   calls::v1::OperatorState previous = calls::v1::OPERATOR_STATE_UNSPECIFIED,
                   double previous_seconds = 0) {
  Event event;
  *event.mutable_occurred_at() = common::TimestampFromTime(at);
  events::v1::OperatorStateChanged* changed = event.mutable_operator_state_changed();
  changed->set_operator_(absl::StrCat("operators/", op));
  changed->set_team(absl::StrCat("teams/", team));
  changed->set_state(state);
  if (state == calls::v1::OPERATOR_STATE_NOT_READY) changed->set_reason_code("break");
  for (const std::string& queue : queues) changed->add_queues(absl::StrCat("queues/", queue));
  changed->set_previous_state(previous);
  *changed->mutable_previous_state_duration() = Secs(previous_seconds);
  return event;
}

TEST(AnalyticsMetricsIntegrationTest, OperatorsByStateNow) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  const absl::Time now = absl::Now();
  using calls::v1::OperatorState;
  // o1 (t1, q1 and q2): available, then on a call. o2 (t1, q1): not ready (break). o3 (t2,
  // q2): available, then logged off. o4 (t2, q2): its later event (wrap-up) is published
  // first; the earlier one (available) must not win when it arrives after.
  std::vector<Event> events = {
      StateChanged(now - absl::Minutes(5), "o1", "t1", calls::v1::OPERATOR_STATE_AVAILABLE,
                   {"q1", "q2"}),
      StateChanged(now - absl::Minutes(4), "o1", "t1", calls::v1::OPERATOR_STATE_ON_CALL,
                   {"q1", "q2"}),
      StateChanged(now - absl::Minutes(3), "o2", "t1", calls::v1::OPERATOR_STATE_NOT_READY, {"q1"}),
      StateChanged(now - absl::Minutes(5), "o3", "t2", calls::v1::OPERATOR_STATE_AVAILABLE, {"q2"}),
      StateChanged(now - absl::Minutes(2), "o3", "t2", calls::v1::OPERATOR_STATE_OFFLINE, {"q2"}),
      StateChanged(now - absl::Minutes(1), "o4", "t2", calls::v1::OPERATOR_STATE_WRAP_UP, {"q2"}),
      StateChanged(now - absl::Minutes(2), "o4", "t2", calls::v1::OPERATOR_STATE_AVAILABLE, {"q2"}),
      // o5 (t3, q3) for occupancy: available 90 s, on a call 120 s, wrap-up 30 s, then logs
      // off: (120 + 30) / (120 + 30 + 90) = 0.625.
      StateChanged(now - absl::Minutes(10), "o5", "t3", calls::v1::OPERATOR_STATE_ON_CALL, {"q3"},
                   calls::v1::OPERATOR_STATE_AVAILABLE, 90),
      StateChanged(now - absl::Minutes(8), "o5", "t3", calls::v1::OPERATOR_STATE_WRAP_UP, {"q3"},
                   calls::v1::OPERATOR_STATE_ON_CALL, 120),
      StateChanged(now - absl::Minutes(7), "o5", "t3", calls::v1::OPERATOR_STATE_OFFLINE, {"q3"},
                   calls::v1::OPERATOR_STATE_WRAP_UP, 30),
  };
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(events).ok());
  ASSERT_TRUE((*env)->Drain().ok());

  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_sites("sites/-");
  request.mutable_filter()->mutable_entities()->add_queues("queues/-");
  request.mutable_filter()->mutable_entities()->add_teams("teams/-");
  request.mutable_filter()->mutable_entities()->add_operators("operators/o1");
  request.mutable_filter()->mutable_entities()->add_operators("operators/o3");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_CURRENT);
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  auto gauge = [&](const std::string& entity, const std::string& metric) {
    const Figures figures = FiguresOf(*response, entity, v1::METRIC_WINDOW_CURRENT);
    return figures.contains(metric) ? figures.at(metric)[0] : -1;
  };
  const std::string site = absl::StrCat("sites/", (*env)->site());
  // Logged in now: o1 (on call), o2 (not ready), o4 (wrap-up).
  EXPECT_EQ(gauge(site, "operators_logged_in"), 3);
  EXPECT_EQ(gauge(site, "operators_available"), 0);
  EXPECT_EQ(gauge(site, "operators_on_call"), 1);
  EXPECT_EQ(gauge(site, "operators_not_ready"), 1);
  EXPECT_EQ(gauge(site, "operators_wrap_up"), 1);
  EXPECT_EQ(gauge("teams/t1", "operators_logged_in"), 2);
  EXPECT_EQ(gauge("teams/t2", "operators_logged_in"), 1);
  EXPECT_EQ(gauge("queues/q1", "operators_logged_in"), 2);  // o1, o2
  EXPECT_EQ(gauge("queues/q2", "operators_logged_in"), 2);  // o1, o4
  EXPECT_EQ(gauge("queues/q2", "operators_wrap_up"), 1);
  // Operator entities carry their status; a logged-off one is OFFLINE.
  bool saw_o1 = false, saw_o3 = false;
  for (const v1::EntityMetrics& entity : response->entities()) {
    if (entity.entity() == "operators/o1") {
      saw_o1 = true;
      EXPECT_EQ(entity.operator_status().state(), calls::v1::OPERATOR_STATE_ON_CALL);
      EXPECT_EQ(entity.operator_status().team(), "teams/t1");
      EXPECT_EQ(entity.operator_status().queues_size(), 2);
      EXPECT_EQ(common::TimeFromTimestamp(entity.operator_status().state_since()),
                absl::FromUnixMicros(absl::ToUnixMicros(now - absl::Minutes(4))));
    }
    if (entity.entity() == "operators/o3") {
      saw_o3 = true;
      EXPECT_EQ(entity.operator_status().state(), calls::v1::OPERATOR_STATE_OFFLINE);
    }
  }
  EXPECT_TRUE(saw_o1);
  EXPECT_TRUE(saw_o3);

  v1::GetCurrentMetricsRequest occupancy;
  occupancy.mutable_filter()->mutable_entities()->add_sites("sites/-");
  occupancy.mutable_filter()->mutable_entities()->add_queues("queues/q3");
  occupancy.mutable_filter()->mutable_entities()->add_teams("teams/t3");
  occupancy.mutable_filter()->mutable_entities()->add_operators("operators/o5");
  occupancy.mutable_filter()->add_metrics("occupancy");
  occupancy.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  response = Current(**env, occupancy);
  ASSERT_TRUE(response.ok()) << response.status();
  for (const std::string& entity :
       {site, std::string("queues/q3"), std::string("teams/t3"), std::string("operators/o5")}) {
    const Figures figures = FiguresOf(*response, entity, v1::METRIC_WINDOW_ROLLING_15_MINUTES);
    ASSERT_TRUE(figures.contains("occupancy")) << entity;
    EXPECT_EQ(figures.at("occupancy"), (std::vector<double>{0.625, 150, 240})) << entity;
  }
}

Event Survey(absl::Time at, const std::string& response, const std::string& queue,
             const std::string& op, std::vector<std::pair<events::v1::ScoreScale, int>> scores) {
  Event event;
  *event.mutable_occurred_at() = common::TimestampFromTime(at);
  events::v1::SurveyResponseSubmitted* submitted = event.mutable_survey_response_submitted();
  submitted->set_response(absl::StrCat("surveys/s1/responses/", response));
  submitted->set_survey("surveys/s1");
  if (!queue.empty()) submitted->set_queue(absl::StrCat("queues/", queue));
  if (!op.empty()) {
    submitted->set_operator_(absl::StrCat("operators/", op));
    submitted->set_team(op == "o3" ? "teams/t2" : "teams/t1");
  }
  for (const auto& [scale, value] : scores) {
    events::v1::ScoredAnswer* answer = submitted->add_scores();
    answer->set_question("surveys/s1/questions/q");
    answer->set_scale(scale);
    answer->set_value(value);
  }
  return event;
}

TEST(AnalyticsMetricsIntegrationTest, CsatAndNpsFromSurveyResponses) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  const absl::Time now = absl::Now();
  const auto csat = events::v1::SCORE_SCALE_RATING_1_5;
  const auto nps = events::v1::SCORE_SCALE_NPS_0_10;
  // r4 is first submitted partly (CSAT 1), then complete (CSAT 4, NPS 9); its partial
  // submission delivered again late must not undo the complete one. r5 (a campaign survey) has
  // no queue or operator: it counts for the site only.
  std::vector<Event> events = {
      Survey(now - absl::Minutes(9), "r1", "q1", "o1", {{csat, 5}, {nps, 10}}),
      Survey(now - absl::Minutes(8), "r2", "q1", "o2", {{csat, 3}, {nps, 7}}),
      Survey(now - absl::Minutes(7), "r3", "q2", "o3", {{csat, 4}, {nps, 2}}),
      Survey(now - absl::Minutes(6), "r4", "q1", "o1", {{csat, 1}}),
      Survey(now - absl::Minutes(5), "r4", "q1", "o1", {{csat, 4}, {nps, 9}}),
      Survey(now - absl::Minutes(4), "r5", "", "", {{nps, 0}}),
  };
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(events).ok());
  std::vector<Event> late = {Survey(now - absl::Minutes(6), "r4", "q1", "o1", {{csat, 1}})};
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(late).ok());
  ASSERT_TRUE((*env)->Drain().ok());

  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->mutable_entities()->add_sites("sites/-");
  request.mutable_filter()->mutable_entities()->add_queues("queues/q1");
  request.mutable_filter()->mutable_entities()->add_operators("operators/o3");
  request.mutable_filter()->add_metrics("csat");
  request.mutable_filter()->add_metrics("nps");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  const auto window = v1::METRIC_WINDOW_ROLLING_15_MINUTES;
  // q1: CSAT 5, 3, 4 -> 2 of 3 satisfied; NPS 10, 7, 9 -> (2 promoters - 0) / 3 = 66.7.
  const Figures q1 = FiguresOf(*response, "queues/q1", window);
  EXPECT_EQ(q1.at("csat")[1], 2);
  EXPECT_EQ(q1.at("csat")[2], 3);
  EXPECT_NEAR(q1.at("nps")[0], 200.0 / 3, 1e-9);
  // The site: CSAT 5, 3, 4, 4 -> 3 / 4; NPS 10, 7, 2, 9, 0 -> (2 - 2) / 5 = 0.
  const Figures site = FiguresOf(*response, absl::StrCat("sites/", (*env)->site()), window);
  EXPECT_EQ(site.at("csat")[0], 0.75);
  EXPECT_EQ(site.at("nps"), (std::vector<double>{0, 0, 5}));
  // o3: one satisfied answer and one detractor.
  const Figures o3 = FiguresOf(*response, "operators/o3", window);
  EXPECT_EQ(o3.at("csat")[0], 1);
  EXPECT_EQ(o3.at("nps")[0], -100);
}

TEST(AnalyticsMetricsIntegrationTest, CallsWaitingNow) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  // x1 waits since 3 minutes, x2 since 1 minute (and was requeued); x3 failed; x4 was answered.
  const absl::Duration m = absl::Minutes(1);
  Script s(absl::Now());
  s.Queued("x1", "q9", 3 * m);
  s.Queued("x2", "q9", 1 * m);
  s.Queued("x2", "q9", absl::Seconds(30), /*requeued=*/true);
  s.Queued("x3", "q9", 2 * m);
  s.Context(s.Add(1 * m).mutable_call_failed()->mutable_call(), "x3", "q9");
  s.Queued("x4", "q9", 2 * m);
  s.Connected("x4", "q9", 1 * m, 60);
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(s.events()).ok());
  ASSERT_TRUE((*env)->Drain().ok());
  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->add_metrics("calls_waiting");
  request.mutable_filter()->add_metrics("longest_wait");
  const absl::Time before = absl::Now();
  absl::StatusOr<v1::GetCurrentMetricsResponse> response = Current(**env, request);
  ASSERT_TRUE(response.ok()) << response.status();
  for (const std::string& entity :
       {absl::StrCat("sites/", (*env)->site()), std::string("queues/q9")}) {
    const Figures figures = FiguresOf(*response, entity, v1::METRIC_WINDOW_CURRENT);
    ASSERT_TRUE(figures.contains("calls_waiting")) << entity;
    EXPECT_EQ(figures.at("calls_waiting")[0], 2) << entity;
    // x1 has waited 3 minutes (plus the time the test took).
    EXPECT_GE(figures.at("longest_wait")[0], 180) << entity;
    EXPECT_LT(figures.at("longest_wait")[0], 180 + absl::ToDoubleSeconds(absl::Now() - before) + 5)
        << entity;
  }
}

}  // namespace
}  // namespace contactcentre::analytics
