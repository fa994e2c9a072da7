// Metric settings per queue and site on the real PostgreSQL: inheritance and its sources,
// validation naming the field with nothing changed, etags, request ids, and live figures and
// stored intervals judged with each queue's own threshold and service level definition.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/pg_util.h"
#include "services/analytics/testing/analytics_test_env.h"

namespace contactcentre::analytics {
namespace {

using events::v1::Event;
using testing::AnalyticsTestEnv;
using testing::Context;

google::protobuf::Duration Secs(int64_t seconds) {
  google::protobuf::Duration duration;
  duration.set_seconds(seconds);
  return duration;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<v1::MetricSettings> Get(AnalyticsTestEnv& env, const std::string& name) {
  v1::GetMetricSettingsRequest request;
  request.set_name(name);
  v1::MetricSettings response;
  grpc::Status status = env.analytics().GetMetricSettings(Context().get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

absl::StatusOr<v1::MetricSettings> Update(AnalyticsTestEnv& env,
                                          const v1::UpdateMetricSettingsRequest& request) {
  v1::MetricSettings response;
  grpc::Status status = env.analytics().UpdateMetricSettings(Context().get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

v1::UpdateMetricSettingsRequest Change(const std::string& name, std::vector<std::string> mask) {
  v1::UpdateMetricSettingsRequest request;
  request.mutable_settings()->set_name(name);
  for (const std::string& path : mask) request.mutable_update_mask()->add_paths(path);
  return request;
}

TEST(AnalyticsSettingsIntegrationTest, InheritanceValidationEtagsAndRequestIds) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  const std::string site = absl::StrCat("sites/", (*env)->site(), "/metricSettings");

  // Nothing set: the service's flags (T 20 s, short abandons 5 s, standard.v1, target 0.8).
  absl::StatusOr<v1::MetricSettings> q1 = Get(**env, "queues/q1/metricSettings");
  ASSERT_TRUE(q1.ok()) << q1.status();
  EXPECT_EQ(q1->effective().service_level_threshold().seconds(), 20);
  EXPECT_EQ(q1->effective().short_abandon_threshold().seconds(), 5);
  EXPECT_EQ(q1->effective().service_level_definition(),
            "metricDefinitions/service_level.standard.v1");
  EXPECT_DOUBLE_EQ(q1->effective().service_level_target(), 0.8);
  EXPECT_EQ(q1->effective().sources().at("service_level_threshold"), "service");
  EXPECT_FALSE(q1->has_service_level_threshold());
  EXPECT_FALSE(q1->has_update_time());

  // The site's T is 30 s: the queue inherits it.
  v1::UpdateMetricSettingsRequest site_change = Change(site, {"service_level_threshold"});
  *site_change.mutable_settings()->mutable_service_level_threshold() = Secs(30);
  absl::StatusOr<v1::MetricSettings> site_settings = Update(**env, site_change);
  ASSERT_TRUE(site_settings.ok()) << site_settings.status();
  EXPECT_EQ(site_settings->effective().sources().at("service_level_threshold"), "site");
  q1 = Get(**env, "queues/q1/metricSettings");
  ASSERT_TRUE(q1.ok()) << q1.status();
  EXPECT_EQ(q1->effective().service_level_threshold().seconds(), 30);
  EXPECT_EQ(q1->effective().sources().at("service_level_threshold"), "site");

  // q1 chooses answered-within / answered and T = 10 s; a repeat of the request id answers the
  // same without a second change.
  v1::UpdateMetricSettingsRequest q1_change =
      Change("queues/q1/metricSettings", {"service_level_threshold", "service_level_definition"});
  q1_change.set_request_id("r-1");
  *q1_change.mutable_settings()->mutable_service_level_threshold() = Secs(10);
  q1_change.mutable_settings()->set_service_level_definition(
      "metricDefinitions/service_level.answered.v1");
  q1_change.mutable_settings()->set_etag(q1->etag());
  absl::StatusOr<v1::MetricSettings> changed = Update(**env, q1_change);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->effective().service_level_threshold().seconds(), 10);
  EXPECT_EQ(changed->effective().service_level_definition(),
            "metricDefinitions/service_level.answered.v1");
  EXPECT_EQ(changed->effective().sources().at("service_level_definition"), "queue");
  EXPECT_EQ(changed->effective().sources().at("short_abandon_threshold"), "service");
  EXPECT_NE(changed->etag(), q1->etag());
  absl::StatusOr<v1::MetricSettings> repeated = Update(**env, q1_change);
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_EQ(repeated->etag(), changed->etag());

  // A stale etag: ABORTED, nothing changed.
  v1::UpdateMetricSettingsRequest stale = Change("queues/q1/metricSettings", {"asa_target"});
  *stale.mutable_settings()->mutable_asa_target() = Secs(15);
  stale.mutable_settings()->set_etag(q1->etag());
  absl::StatusOr<v1::MetricSettings> refused = Update(**env, stale);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StartsWith(refused.status().message(), "ETAG_MISMATCH"));

  // Bad input names the field; NOT_FOUND for an unknown definition; nothing changes.
  auto expect = [&](v1::UpdateMetricSettingsRequest request, absl::StatusCode code,
                    const std::string& prefix) {
    absl::StatusOr<v1::MetricSettings> answer = Update(**env, request);
    EXPECT_EQ(answer.status().code(), code) << prefix << " " << answer.status();
    EXPECT_TRUE(absl::StartsWith(answer.status().message(), prefix)) << answer.status();
  };
  v1::UpdateMetricSettingsRequest bad = Change("queues/q1/metricSettings", {"colour"});
  expect(bad, absl::StatusCode::kInvalidArgument, "update_mask.paths[0]");
  bad = Change("queues/q1/metricSettings", {"service_level_threshold"});
  *bad.mutable_settings()->mutable_service_level_threshold() = Secs(7200);
  expect(bad, absl::StatusCode::kInvalidArgument, "settings.service_level_threshold");
  bad = Change("queues/q1/metricSettings", {"short_abandon_threshold"});
  *bad.mutable_settings()->mutable_short_abandon_threshold() = Secs(61);
  expect(bad, absl::StatusCode::kInvalidArgument, "settings.short_abandon_threshold");
  bad = Change("queues/q1/metricSettings", {"service_level_definition"});
  bad.mutable_settings()->set_service_level_definition("metricDefinitions/asa.standard.v1");
  expect(bad, absl::StatusCode::kInvalidArgument, "settings.service_level_definition");
  bad.mutable_settings()->set_service_level_definition("metricDefinitions/service_level.vendor.v9");
  expect(bad, absl::StatusCode::kNotFound, "definition");
  bad = Change("queues/q1/metricSettings", {"service_level_target"});
  bad.mutable_settings()->set_service_level_target(1.5);
  expect(bad, absl::StatusCode::kInvalidArgument, "settings.service_level_target");
  bad = Change("queues/q 1/metricSettings", {});
  expect(bad, absl::StatusCode::kInvalidArgument, "settings.name");
  absl::StatusOr<v1::MetricSettings> after = Get(**env, "queues/q1/metricSettings");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->etag(), changed->etag());
  EXPECT_EQ(after->effective().service_level_threshold().seconds(), 10);
  EXPECT_EQ(Get(**env, "queues/q1").status().code(), absl::StatusCode::kInvalidArgument);

  // The list: sites first, then queues.
  v1::ListMetricSettingsResponse list;
  ASSERT_TRUE((*env)->analytics().ListMetricSettings(Context().get(), {}, &list).ok());
  ASSERT_EQ(list.settings_size(), 2);
  EXPECT_EQ(list.settings(0).name(), site);
  EXPECT_EQ(list.settings(1).name(), "queues/q1/metricSettings");

  // A field in the mask but unset inherits again.
  v1::UpdateMetricSettingsRequest reset =
      Change("queues/q1/metricSettings", {"service_level_threshold"});
  absl::StatusOr<v1::MetricSettings> inherited = Update(**env, reset);
  ASSERT_TRUE(inherited.ok()) << inherited.status();
  EXPECT_FALSE(inherited->has_service_level_threshold());
  EXPECT_EQ(inherited->effective().service_level_threshold().seconds(), 30);
  EXPECT_EQ(inherited->service_level_definition(), "metricDefinitions/service_level.answered.v1");
}

Event At(absl::Time at) {
  Event event;
  *event.mutable_occurred_at() = common::TimestampFromTime(at);
  return event;
}

void AddCall(std::vector<Event>& events, absl::Time at, const std::string& call,
             const std::string& queue, int64_t wait) {
  auto context = [&](events::v1::CallContext* c) {
    c->set_call(absl::StrCat("calls/", call));
    c->set_queue(absl::StrCat("queues/", queue));
    c->set_direction(calls::v1::CALL_DIRECTION_INBOUND);
  };
  Event queued = At(at);
  context(queued.mutable_call_queued()->mutable_call());
  events.push_back(queued);
  Event connected = At(at + absl::Seconds(wait));
  context(connected.mutable_call_connected()->mutable_call());
  *connected.mutable_call_connected()->mutable_wait_time() = Secs(wait);
  events.push_back(connected);
}

TEST(AnalyticsSettingsIntegrationTest, EachQueueIsJudgedWithItsOwnSettings) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  // q1: T = 10 s and answered-within / answered; q2 inherits (T 20 s, standard).
  v1::UpdateMetricSettingsRequest q1_change =
      Change("queues/q1/metricSettings", {"service_level_threshold", "service_level_definition"});
  *q1_change.mutable_settings()->mutable_service_level_threshold() = Secs(10);
  q1_change.mutable_settings()->set_service_level_definition(
      "metricDefinitions/service_level.answered.v1");
  ASSERT_TRUE(Update(**env, q1_change).ok());

  // Each queue answers one call after 5 s and one after 15 s, now and yesterday 10:00 UTC.
  const absl::Time now = absl::Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  const absl::Time yesterday =
      absl::FromCivil(absl::CivilSecond(today - 1) + 10 * 3600, absl::UTCTimeZone());
  std::vector<Event> events;
  for (absl::Time base : {now - absl::Minutes(5), yesterday}) {
    const std::string tag = base == yesterday ? "y" : "n";
    AddCall(events, base, tag + "a", "q1", 5);
    AddCall(events, base, tag + "b", "q1", 15);
    AddCall(events, base, tag + "c", "q2", 5);
    AddCall(events, base, tag + "d", "q2", 15);
  }
  ASSERT_TRUE((*env)->calls_publisher().PublishBatch(events).ok());
  ASSERT_TRUE((*env)->Drain().ok());

  // Live: q1 1 of 2 within 10 s (answered.v1, T 10 s); q2 2 of 2 within 20 s (standard.v1, T
  // 20 s); the site sums what each queue judged, 3 / 4, and says mixed.
  v1::GetCurrentMetricsRequest request;
  request.mutable_filter()->add_metrics("service_level");
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  v1::GetCurrentMetricsResponse live;
  ASSERT_TRUE((*env)->analytics().GetCurrentMetrics(Context().get(), request, &live).ok());
  ASSERT_EQ(live.entities_size(), 3);
  const v1::MetricValue& site = live.entities(0).values(0);
  EXPECT_TRUE(site.mixed());
  EXPECT_TRUE(site.definition().empty());
  EXPECT_DOUBLE_EQ(site.value(), 0.75);
  const v1::MetricValue& q1 = live.entities(1).values(0);
  EXPECT_EQ(live.entities(1).entity(), "queues/q1");
  EXPECT_EQ(q1.definition(), "metricDefinitions/service_level.answered.v1");
  EXPECT_EQ(q1.parameters().service_level_threshold().seconds(), 10);
  EXPECT_DOUBLE_EQ(q1.value(), 0.5);
  const v1::MetricValue& q2 = live.entities(2).values(0);
  EXPECT_EQ(q2.definition(), "metricDefinitions/service_level.standard.v1");
  EXPECT_EQ(q2.parameters().service_level_threshold().seconds(), 20);
  EXPECT_DOUBLE_EQ(q2.value(), 1);

  // The stored intervals were judged the same way.
  v1::GetReportRequest report;
  *report.mutable_range()->mutable_start_time() = common::TimestampFromTime(yesterday);
  *report.mutable_range()->mutable_end_time() =
      common::TimestampFromTime(yesterday + absl::Hours(1));
  report.add_group_by(v1::REPORT_GROUPING_QUEUE);
  report.add_metrics("service_level");
  v1::GetReportResponse rows;
  ASSERT_TRUE((*env)->analytics().GetReport(Context().get(), report, &rows).ok());
  ASSERT_EQ(rows.rows_size(), 2);
  EXPECT_EQ(rows.rows(0).values(0).definition(), "metricDefinitions/service_level.answered.v1");
  EXPECT_EQ(rows.rows(0).values(0).parameters().service_level_threshold().seconds(), 10);
  EXPECT_DOUBLE_EQ(rows.rows(0).values(0).value(), 0.5);
  EXPECT_EQ(rows.rows(1).values(0).definition(), "metricDefinitions/service_level.standard.v1");
  EXPECT_DOUBLE_EQ(rows.rows(1).values(0).value(), 1);
  // The site's row: judged with two thresholds, so mixed.
  report.clear_group_by();
  ASSERT_TRUE((*env)->analytics().GetReport(Context().get(), report, &rows).ok());
  ASSERT_EQ(rows.rows_size(), 1);
  EXPECT_TRUE(rows.rows(0).values(0).mixed());
  EXPECT_DOUBLE_EQ(rows.rows(0).values(0).value(), 0.75);
}

TEST(AnalyticsSettingsIntegrationTest, AChangeIsInForceAtOnceWhileFiguresAreRefreshed) {
  auto env = AnalyticsTestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  // A store of this replica's settings with a short cache, read all the time as the live
  // figures' refresher reads it every tick: a read that began before a change must not be
  // kept after it. (CI once saw the old threshold right after a change.)
  SettingsStore store(&(*env)->module().metrics().pg(), (*env)->site(), QueueThresholds{},
                      absl::Milliseconds(20));
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) (void)store.Snapshot();
  });
  int stale = 0;
  for (int round = 0; round < 200; ++round) {
    const int threshold = 10 + round % 2;
    v1::UpdateMetricSettingsRequest change =
        Change("queues/q1/metricSettings", {"service_level_threshold"});
    *change.mutable_settings()->mutable_service_level_threshold() = Secs(threshold);
    ASSERT_TRUE(store.Update(change).ok());
    absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> now = store.Snapshot();
    ASSERT_TRUE(now.ok()) << now.status();
    if ((*now)->Effective("queues/q1").thresholds.service_level != absl::Seconds(threshold)) {
      ++stale;
    }
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(stale, 0) << "a change was not in force right after it was made";
}

}  // namespace
}  // namespace contactcentre::analytics
