// The metric catalogue and the formulas of live figures, without a database.
#include "services/analytics/metrics.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace contactcentre::analytics {
namespace {

// 10 offered; 6 answered, 4 of them within T; 1 short abandon; 3 abandons, 1 within T and 2
// after; 5 handled for 900 s; answered calls waited 72 s in all.
WindowCounts Counts() {
  return {.offered = 10,
          .answered = 6,
          .answered_within_threshold = 4,
          .answer_wait_seconds = 72,
          .abandoned = 3,
          .short_abandoned = 1,
          .abandoned_within_threshold = 1,
          .abandoned_after_threshold = 2,
          .handled = 5,
          .handle_seconds = 900};
}

v1::MetricValue Value(absl::string_view definition) {
  const BuiltMetric* metric = FindDefinition(definition);
  EXPECT_NE(metric, nullptr) << definition;
  return ValueOf(*metric, Counts(), QueueThresholds{});
}

TEST(Metrics, ServiceLevelDefinitions) {
  // standard: 4 / (6 + 2); answered: 4 / 6; offered: (4 + 1) / (6 + 3).
  v1::MetricValue standard = Value("metricDefinitions/service_level.standard.v1");
  EXPECT_DOUBLE_EQ(standard.value(), 0.5);
  EXPECT_EQ(standard.numerator(), 4);
  EXPECT_EQ(standard.denominator(), 8);
  EXPECT_EQ(standard.parameters().service_level_threshold().seconds(), 20);
  EXPECT_EQ(standard.parameters().short_abandon_threshold().seconds(), 5);
  EXPECT_DOUBLE_EQ(Value("metricDefinitions/service_level.answered.v1").value(), 4.0 / 6);
  EXPECT_DOUBLE_EQ(Value("metricDefinitions/service_level.offered.v1").value(), 5.0 / 9);
  EXPECT_EQ(DefaultDefinition("service_level")->variant, "standard");
}

TEST(Metrics, AveragesAndRates) {
  EXPECT_DOUBLE_EQ(Value("metricDefinitions/asa.standard.v1").value(), 12);
  EXPECT_DOUBLE_EQ(Value("metricDefinitions/aht.standard.v1").value(), 180);
  // 3 / (10 - 1).
  EXPECT_DOUBLE_EQ(Value("metricDefinitions/abandonment_rate.standard.v1").value(), 3.0 / 9);
  const v1::MetricValue offered = Value("metricDefinitions/offered.standard.v1");
  EXPECT_EQ(offered.value(), 10);
  EXPECT_EQ(offered.denominator(), 1);
  EXPECT_FALSE(offered.has_parameters());
  // No answered call: ASA undefined, not zero.
  const v1::MetricValue empty =
      ValueOf(*DefaultDefinition("asa"), WindowCounts{}, QueueThresholds{});
  EXPECT_FALSE(empty.has_value());
}

TEST(Metrics, CatalogueIsOrderedAndPaged) {
  absl::StatusOr<v1::ListMetricDefinitionsResponse> all = ListMetricDefinitions({});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->definitions_size(), static_cast<int>(BuiltMetrics().size()));
  for (int i = 1; i < all->definitions_size(); ++i) {
    EXPECT_LT(std::make_pair(all->definitions(i - 1).metric(), all->definitions(i - 1).variant()),
              std::make_pair(all->definitions(i).metric(), all->definitions(i).variant()));
  }
  v1::ListMetricDefinitionsRequest request;
  request.set_metric("service_level");
  request.set_page_size(2);
  absl::StatusOr<v1::ListMetricDefinitionsResponse> page = ListMetricDefinitions(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->definitions_size(), 2);
  EXPECT_EQ(page->definitions(0).variant(), "answered");
  EXPECT_EQ(page->definitions(1).variant(), "offered");
  request.set_page_token(page->next_page_token());
  page = ListMetricDefinitions(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->definitions_size(), 1);
  EXPECT_EQ(page->definitions(0).name(), "metricDefinitions/service_level.standard.v1");
  EXPECT_TRUE(page->definitions(0).is_default());
  EXPECT_TRUE(page->next_page_token().empty());

  // A token of another filter is refused.
  request.set_metric("asa");
  EXPECT_EQ(ListMetricDefinitions(request).status().code(), absl::StatusCode::kInvalidArgument);

  v1::GetMetricDefinitionRequest get;
  get.set_name("metricDefinitions/aht.standard.v1");
  absl::StatusOr<v1::MetricDefinition> aht = GetMetricDefinition(get);
  ASSERT_TRUE(aht.ok()) << aht.status();
  EXPECT_EQ(aht->unit(), v1::METRIC_UNIT_SECONDS);
  get.set_name("metricDefinitions/sla.standard.v1");
  EXPECT_EQ(GetMetricDefinition(get).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace contactcentre::analytics
