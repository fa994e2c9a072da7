#include "tools/dashboard/dashboard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace contactcentre::dashboard {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDataTime = 1795000000;  // 11:06:40 UTC; only hh:mm:ss is shown

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  return ts;
}

v1::MetricValue Value(const std::string& metric, v1::MetricWindow window, double numerator,
                      double denominator, const std::string& definition = "",
                      int threshold_seconds = 0) {
  v1::MetricValue value;
  value.set_metric(metric);
  value.set_window(window);
  value.set_definition(
      definition.empty() ? absl::StrCat("metricDefinitions/", metric, ".standard.v1") : definition);
  value.set_numerator(numerator);
  value.set_denominator(denominator);
  if (denominator > 0) value.set_value(numerator / denominator);
  if (threshold_seconds > 0) {
    value.mutable_parameters()->mutable_service_level_threshold()->set_seconds(threshold_seconds);
    value.mutable_parameters()->mutable_short_abandon_threshold()->set_seconds(5);
  }
  *value.mutable_data_time() = Ts(kDataTime);
  return value;
}

constexpr auto kToday = v1::METRIC_WINDOW_TODAY;
constexpr auto kNow = v1::METRIC_WINDOW_CURRENT;

// A queue's figures: waiting, longest, offered, answered, abandoned, SL, ASA, AHT, rates.
v1::EntityMetrics Queue(const std::string& name, int waiting, double longest, int offered,
                        int answered, int abandoned, int answered_in_time, int abandoned_late,
                        double wait_seconds, int handled, double handle_seconds,
                        int short_abandoned) {
  v1::EntityMetrics entity;
  entity.set_entity(name);
  entity.set_scope(name.rfind("sites/", 0) == 0 ? v1::SCOPE_TYPE_SITE : v1::SCOPE_TYPE_QUEUE);
  entity.set_site("sites/msk");
  *entity.add_values() = Value("calls_waiting", kNow, waiting, 1);
  *entity.add_values() = Value("longest_wait", kNow, longest, 1);
  *entity.add_values() = Value("offered", kToday, offered, 1);
  *entity.add_values() = Value("answered", kToday, answered, 1);
  *entity.add_values() = Value("abandoned", kToday, abandoned, 1);
  *entity.add_values() =
      Value("service_level", kToday, answered_in_time, answered + abandoned_late, "", 20);
  *entity.add_values() = Value("asa", kToday, wait_seconds, answered);
  *entity.add_values() = Value("aht", kToday, handle_seconds, handled);
  *entity.add_values() = Value("abandonment_rate", kToday, abandoned, offered - short_abandoned);
  *entity.add_values() = Value("occupancy", kToday, 810, 1000);
  return entity;
}

void AddGauges(v1::EntityMetrics* entity, int logged_in, int available, int reserved, int on_call,
               int wrap_up, int not_ready) {
  *entity->add_values() = Value("operators_logged_in", kNow, logged_in, 1);
  *entity->add_values() = Value("operators_available", kNow, available, 1);
  *entity->add_values() = Value("operators_reserved", kNow, reserved, 1);
  *entity->add_values() = Value("operators_on_call", kNow, on_call, 1);
  *entity->add_values() = Value("operators_wrap_up", kNow, wrap_up, 1);
  *entity->add_values() = Value("operators_not_ready", kNow, not_ready, 1);
}

v1::WatchMetricsResponse Snapshot() {
  v1::WatchMetricsResponse message;
  message.set_kind(v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  message.set_sequence(1);
  message.set_part(0);
  message.set_part_count(1);
  *message.mutable_data_time() = Ts(kDataTime);
  // Site: 120 offered, 110 answered (96 within 20 s), 6 abandoned (4 after 20 s), 4 short
  // abandons; SL = 96 / (110 + 4) = 84.2%; ASA = 990 / 110 = 9 s; AHT = 15620 / 110 = 142 s;
  // abandonment = 6 / (120 - 4) = 5.2%.
  v1::EntityMetrics site = Queue("sites/msk", 3, 41, 120, 110, 6, 96, 4, 990, 110, 15620, 4);
  AddGauges(&site, 17, 4, 0, 10, 2, 1);
  *message.add_entities() = site;
  // q1: 70 offered, 65 answered (60 in time), 3 abandoned (2 late), 2 short; waiting 2, longest
  // 41 s. q2: 50 offered, 45 answered (36 in time), 3 abandoned (2 late), 2 short; waiting 1.
  *message.add_entities() = Queue("queues/q1", 2, 41, 70, 65, 3, 60, 2, 520, 65, 9100, 2);
  *message.add_entities() = Queue("queues/q2", 1, 12, 50, 45, 3, 36, 2, 470, 45, 6520, 2);
  v1::EntityMetrics op;
  op.set_entity("operators/anna");
  op.set_scope(v1::SCOPE_TYPE_OPERATOR);
  op.mutable_operator_status()->set_state(calls::v1::OPERATOR_STATE_ON_CALL);
  *op.mutable_operator_status()->mutable_state_since() = Ts(kDataTime - 75);
  op.mutable_operator_status()->set_team("teams/sales");
  op.mutable_operator_status()->set_call("calls/c42");
  *message.add_entities() = op;
  // boris handled calls today but has logged off: not listed.
  v1::EntityMetrics gone;
  gone.set_entity("operators/boris");
  gone.set_scope(v1::SCOPE_TYPE_OPERATOR);
  gone.mutable_operator_status()->set_state(calls::v1::OPERATOR_STATE_OFFLINE);
  *message.add_entities() = gone;
  return message;
}

TEST(Format, WaitsPercentsAndSeconds) {
  EXPECT_EQ(FormatWait(41), "00:41");
  EXPECT_EQ(FormatWait(725.4), "12:05");
  EXPECT_EQ(FormatWait(3723), "1:02:03");
  EXPECT_EQ(FormatWait(-1), "-");
  Figure undefined;
  EXPECT_EQ(FormatPercent(undefined), "-");
  EXPECT_EQ(FormatSeconds(undefined), "-");
  EXPECT_EQ(FormatCount(undefined), "-");
  Figure sl{.present = true,
            .numerator = 96,
            .denominator = 114,
            .defined = true,
            .value = 96.0 / 114,
            .definition = "standard.v1",
            .threshold = absl::Seconds(20)};
  EXPECT_EQ(FormatPercent(sl), "84.2%");
  EXPECT_EQ(ServiceLevelLabel(sl), "SL(standard.v1,20s)");
  sl.definition = "mixed";
  EXPECT_EQ(ServiceLevelLabel(sl), "SL(mixed)");
}

TEST(Summary, SiteLineFromSnapshot) {
  DashboardState state;
  ApplyMessage(Snapshot(), &state);
  ASSERT_TRUE(state.have_snapshot);
  const std::string line = SummaryLine(state, ViewOptions{});
  // 1795000000 is 11:06:40 UTC.
  EXPECT_EQ(line,
            "dashboard: 11:06:40 waiting=3 longest=00:41 offered=120 answered=110 abandoned=6 "
            "SL(standard.v1,20s)=84.2% ASA=9s AHT=142s abandonment=5.2% occupancy=81.0% agents "
            "logged_in=17 avail=4 reserved=0 on_call=10 wrap=2 not_ready=1");
}

TEST(Summary, SelectedQueuesSumNumeratorsAndDenominators) {
  DashboardState state;
  ApplyMessage(Snapshot(), &state);
  ViewOptions view{.queues = {"q1", "q2"}};
  const std::string line = SummaryLine(state, view);
  // Sums: waiting 3, longest max(41, 12), SL (60 + 36) / (65 + 2 + 45 + 2) = 84.2%, ASA
  // (520 + 470) / 110 = 9 s.
  EXPECT_THAT(line, HasSubstr("waiting=3 longest=00:41 offered=120 answered=110 abandoned=6 "
                              "SL(standard.v1,20s)=84.2% ASA=9s"));
  view.queues = {"q2"};
  // q2 alone: SL 36 / 47 = 76.6%, ASA 470 / 45 = 10.4 -> 10 s, abandonment 3 / 48 = 6.25%.
  EXPECT_THAT(SummaryLine(state, view),
              HasSubstr("waiting=1 longest=00:12 offered=50 answered=45 abandoned=3 "
                        "SL(standard.v1,20s)=76.6% ASA=10s AHT=145s abandonment=6.2%"));
}

TEST(Summary, NoDataShowsDashes) {
  DashboardState state;
  EXPECT_EQ(SummaryLine(state, ViewOptions{}),
            "dashboard: --:--:-- waiting=- longest=- offered=- answered=- abandoned=- SL=- "
            "ASA=- AHT=- abandonment=- occupancy=- agents logged_in=- avail=- reserved=- "
            "on_call=- wrap=- not_ready=-");
}

TEST(Apply, UpdatesReplaceValuesAndRemoveEntities) {
  DashboardState state;
  ApplyMessage(Snapshot(), &state);
  v1::WatchMetricsResponse update;
  update.set_kind(v1::WATCH_MESSAGE_KIND_UPDATE);
  update.set_skipped_updates(2);
  *update.mutable_data_time() = Ts(kDataTime + 5);
  v1::EntityMetrics* site = update.add_entities();
  site->set_entity("sites/msk");
  site->set_scope(v1::SCOPE_TYPE_SITE);
  *site->add_values() = Value("calls_waiting", kNow, 7, 1);
  *site->add_values() = Value("offered", kToday, 121, 1);
  update.add_removed_entities("operators/anna");
  ApplyMessage(update, &state);
  EXPECT_EQ(state.skipped_updates, 2u);
  EXPECT_FALSE(state.entities.contains("operators/anna"));
  const std::string line = SummaryLine(state, ViewOptions{});
  EXPECT_THAT(line, HasSubstr("dashboard: 11:06:45 waiting=7 longest=00:41 offered=121 "
                              "answered=110"));

  // A heartbeat only moves the data time; a new snapshot replaces everything.
  v1::WatchMetricsResponse heartbeat;
  heartbeat.set_kind(v1::WATCH_MESSAGE_KIND_HEARTBEAT);
  *heartbeat.mutable_data_time() = Ts(kDataTime + 15);
  ApplyMessage(heartbeat, &state);
  EXPECT_THAT(SummaryLine(state, ViewOptions{}), HasSubstr("11:06:55 waiting=7"));
  v1::WatchMetricsResponse fresh;
  fresh.set_kind(v1::WATCH_MESSAGE_KIND_SNAPSHOT);
  fresh.set_part_count(1);
  *fresh.mutable_data_time() = Ts(kDataTime + 20);
  ApplyMessage(fresh, &state);
  EXPECT_TRUE(state.entities.empty());
  EXPECT_TRUE(state.have_snapshot);
}

TEST(Aggregate, MixedDefinitionsAreNamedMixed) {
  v1::EntityMetrics a = Queue("queues/a", 0, 0, 10, 10, 0, 8, 0, 50, 10, 1000, 0);
  v1::EntityMetrics b;
  b.set_entity("queues/b");
  *b.add_values() =
      Value("service_level", kToday, 5, 10, "metricDefinitions/service_level.answered.v1", 20);
  const Figure figure = Aggregate({&a, &b}, "service_level", kToday);
  EXPECT_EQ(figure.definition, "mixed");
  EXPECT_DOUBLE_EQ(figure.value, 13.0 / 20);
}

TEST(Screen, FitsTheTerminalAndListsQueuesAndOperators) {
  DashboardState state;
  ApplyMessage(Snapshot(), &state);
  ScreenOptions options{.width = 140,
                        .height = 40,
                        .address = "127.0.0.1:50055",
                        .connection = "connected",
                        .now = absl::FromUnixSeconds(kDataTime + 1)};
  const std::vector<std::string> lines = RenderScreen(state, options);
  ASSERT_GE(lines.size(), 10u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 140u) << line;
  EXPECT_THAT(lines[0], HasSubstr("data 11:06:40"));
  EXPECT_THAT(lines[0], HasSubstr("window today"));
  EXPECT_THAT(lines[1], HasSubstr("waiting 3  longest 00:41  offered 120  answered 110"));
  EXPECT_THAT(lines[2], HasSubstr("service_level.standard.v1 = answered within T / (answered + "
                                  "abandoned after T), T=20s, abandons < 5s excluded"));
  std::string all;
  for (const std::string& line : lines) absl::StrAppend(&all, line, "\n");
  EXPECT_THAT(all, HasSubstr("q1                   2    00:41      70       65      3   89.6%"));
  EXPECT_THAT(all, HasSubstr("Operators: logged in 17  available 4  reserved 0  on call 10  "
                             "wrap-up 2  not ready 1"));
  // anna has been on call for 75 s at the data time.
  EXPECT_THAT(all, HasSubstr("anna             on call       01:15 sales"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("boris")));

  // A small terminal: no line longer than the width, no more lines than the height.
  options.width = 30;
  options.height = 8;
  const std::vector<std::string> small = RenderScreen(state, options);
  EXPECT_EQ(small.size(), 8u);
  for (const std::string& line : small) EXPECT_LE(line.size(), 30u);
}

TEST(Screen, ShowsDisplayNamesAlignedByCharacters) {
  DashboardState state;
  ApplyMessage(Snapshot(), &state);
  ScreenOptions options{.width = 140,
                        .height = 40,
                        .connection = "connected",
                        .now = absl::FromUnixSeconds(kDataTime + 1),
                        .names = {{"queues/q1", "Банковские карты"}, {"teams/sales", "Продажи"}}};
  std::string all;
  for (const std::string& line : RenderScreen(state, options)) absl::StrAppend(&all, line, "\n");
  // Sixteen Cyrillic letters fill the column as sixteen Latin ones do (not by their bytes).
  EXPECT_THAT(all, HasSubstr("Банковские карты     2    00:41      70       65      3   89.6%"));
  EXPECT_THAT(all, HasSubstr("anna             on call       01:15 Продажи      "));
}

TEST(Screen, PadToCountsCharacters) {
  EXPECT_EQ(PadTo("ab", 4), "ab  ");
  EXPECT_EQ(PadTo("Очень длинное имя", 5), "Очень");
  EXPECT_EQ(PadTo("Ёж", 3), "Ёж ");
  EXPECT_EQ(PadTo("", 2), "  ");
}

TEST(Request, FiltersAndWindows) {
  v1::MetricWindow window;
  ASSERT_TRUE(ParseWindow("15m", &window));
  EXPECT_EQ(window, v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  EXPECT_FALSE(ParseWindow("week", &window));
  EXPECT_EQ(SplitList(" a, ,b "), (std::vector<std::string>{"a", "b"}));

  v1::WatchMetricsRequest all = MakeRequest({}, {}, v1::METRIC_WINDOW_TODAY, absl::Seconds(1));
  EXPECT_THAT(all.filter().entities().queues(), ::testing::ElementsAre("queues/-"));
  EXPECT_THAT(all.filter().entities().operators(), ::testing::ElementsAre("operators/-"));
  EXPECT_EQ(all.min_interval().seconds(), 1);
  v1::WatchMetricsRequest some =
      MakeRequest({"q1"}, {"sales"}, v1::METRIC_WINDOW_ROLLING_15_MINUTES, absl::ZeroDuration());
  EXPECT_THAT(some.filter().entities().queues(), ::testing::ElementsAre("queues/q1"));
  EXPECT_THAT(some.filter().entities().teams(), ::testing::ElementsAre("teams/sales"));
  EXPECT_TRUE(some.filter().entities().include_team_operators());
  EXPECT_TRUE(some.filter().entities().operators().empty());
  EXPECT_THAT(
      some.filter().windows(),
      ::testing::ElementsAre(v1::METRIC_WINDOW_CURRENT, v1::METRIC_WINDOW_ROLLING_15_MINUTES));
  EXPECT_FALSE(some.has_min_interval());
}

}  // namespace
}  // namespace contactcentre::dashboard
