#include "services/analytics/metrics.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/page_token.h"

namespace contactcentre::analytics {
namespace {

enum Parameters { kNone, kShort, kBoth };

struct Spec {
  const char* key;
  const char* variant;
  const char* display_name;
  const char* formula;
  v1::MetricUnit unit;
  v1::MetricKind kind;
  bool higher_is_better;
  Parameters parameters;
};

// Keys in alphabetical order.
constexpr Spec kSpecs[] = {
    {"abandoned", "standard", "Abandoned",
     "calls of the queue whose caller hung up before being connected, short abandons excluded",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kShort},
    {"abandoned_within_threshold", "standard", "Abandoned within T",
     "abandoned calls (short abandons excluded) that waited at most T", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, false, kBoth},
    {"abandonment_rate", "standard", "Abandonment rate",
     "abandoned / (offered - short abandoned); short abandons excluded from both",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, false, kShort},
    {"aht", "standard", "AHT", "(talk + hold + wrap-up time) / handled calls",
     v1::METRIC_UNIT_SECONDS, v1::METRIC_KIND_RATIO, false, kNone},
    {"answered", "standard", "Answered", "calls of the queue connected to an operator",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, true, kNone},
    {"answered_within_threshold", "standard", "Answered within T",
     "answered calls that waited at most T", v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, true,
     kBoth},
    {"asa", "standard", "ASA", "wait time of answered calls / answered calls",
     v1::METRIC_UNIT_SECONDS, v1::METRIC_KIND_RATIO, false, kNone},
    {"calls_waiting", "standard", "Calls waiting",
     "calls queued and not yet answered, abandoned, failed or ended now", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_GAUGE, false, kNone},
    {"csat", "standard", "CSAT",
     "share of headline 1-5 satisfaction answers that are 4 or 5, by submission time",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, true, kNone},
    {"handled", "standard", "Handled",
     "calls completed (handled and wrapped up or wrap-up timed out)", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, true, kNone},
    {"longest_wait", "standard", "Longest wait",
     "how long the call waiting longest has waited now (since it first entered the queue)",
     v1::METRIC_UNIT_SECONDS, v1::METRIC_KIND_GAUGE, false, kNone},
    {"missing_wrap_ups", "standard", "Missing wrap-ups", "calls whose wrap-up time limit passed",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kNone},
    {"nps", "standard", "NPS",
     "% promoters (9-10) - % detractors (0-6) of headline 0-10 answers, by submission time",
     v1::METRIC_UNIT_SCORE, v1::METRIC_KIND_RATIO, true, kNone},
    {"occupancy", "standard", "Occupancy",
     "handling time (on call, wrap-up) / (handling + available time (available, reserved)), "
     "of operator states that ended in the window",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, true, kNone},
    {"offered", "standard", "Offered", "calls that entered the queue (requeues not counted again)",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kNone},
    {"service_level", "standard", "Service level",
     "answered within T / (answered + abandoned after T); abandons shorter than the short "
     "abandon threshold excluded",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, true, kBoth},
    {"service_level", "answered", "Service level (answered)",
     "answered within T / answered; abandons are not counted", v1::METRIC_UNIT_RATIO,
     v1::METRIC_KIND_RATIO, true, kBoth},
    {"service_level", "offered", "Service level (offered)",
     "(answered within T + abandoned within T) / (answered + abandoned); abandons shorter than "
     "the short abandon threshold excluded",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, true, kBoth},
    {"operators_available", "standard", "Operators available", "operators in state AVAILABLE now",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE, true, kNone},
    {"operators_logged_in", "standard", "Operators logged in",
     "operators in any state but OFFLINE now", v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE, true,
     kNone},
    {"operators_not_ready", "standard", "Operators not ready", "operators in state NOT_READY now",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE, false, kNone},
    {"operators_on_call", "standard", "Operators on call", "operators in state ON_CALL now",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE, true, kNone},
    {"operators_reserved", "standard", "Operators reserved",
     "operators offered a call (state RESERVED) now", v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE,
     true, kNone},
    {"operators_wrap_up", "standard", "Operators in wrap-up", "operators in state WRAP_UP now",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_GAUGE, false, kNone},
    {"short_abandoned", "standard", "Short abandons",
     "abandoned calls that waited less than the short abandon threshold", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, false, kShort},
    {"transfers", "standard", "Transfers", "call legs of the queue that were transferred",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kNone},
};

constexpr const char* kContractMetrics[] = {"calls_waiting",
                                            "longest_wait",
                                            "operators_logged_in",
                                            "operators_available",
                                            "operators_reserved",
                                            "operators_on_call",
                                            "operators_wrap_up",
                                            "operators_not_ready",
                                            "occupancy",
                                            "csat",
                                            "nps"};

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration out;
  out.set_seconds(absl::ToInt64Seconds(duration));
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(out.seconds()))));
  return out;
}

}  // namespace

void JudgeAnswered(double wait_seconds, const QueueThresholds& thresholds, WindowCounts* counts) {
  wait_seconds = std::max(0.0, wait_seconds);
  ++counts->answered;
  counts->answer_wait_seconds += wait_seconds;
  if (wait_seconds <= absl::ToDoubleSeconds(thresholds.service_level)) {
    ++counts->answered_within_threshold;
  }
}

void JudgeAbandoned(double wait_seconds, const QueueThresholds& thresholds, WindowCounts* counts) {
  wait_seconds = std::max(0.0, wait_seconds);
  if (wait_seconds < absl::ToDoubleSeconds(thresholds.short_abandon)) {
    ++counts->short_abandoned;
    return;
  }
  ++counts->abandoned;
  if (wait_seconds <= absl::ToDoubleSeconds(thresholds.service_level)) {
    ++counts->abandoned_within_threshold;
  } else {
    ++counts->abandoned_after_threshold;
  }
}

std::string DefinitionName(absl::string_view key, absl::string_view variant) {
  return absl::StrCat("metricDefinitions/", key, ".", variant, ".v1");
}

const std::vector<BuiltMetric>& BuiltMetrics() {
  static const std::vector<BuiltMetric>* metrics = [] {
    auto* out = new std::vector<BuiltMetric>();
    for (const Spec& spec : kSpecs) {
      v1::MetricDefinition definition;
      definition.set_name(DefinitionName(spec.key, spec.variant));
      definition.set_metric(spec.key);
      definition.set_variant(spec.variant);
      definition.set_version(1);
      definition.set_display_name(spec.display_name);
      definition.set_description(spec.formula);
      definition.set_formula(spec.formula);
      definition.set_unit(spec.unit);
      definition.set_kind(spec.kind);
      definition.set_higher_is_better(spec.higher_is_better);
      definition.add_scopes(v1::SCOPE_TYPE_SITE);
      definition.add_scopes(v1::SCOPE_TYPE_QUEUE);
      definition.add_scopes(v1::SCOPE_TYPE_TEAM);
      definition.add_scopes(v1::SCOPE_TYPE_OPERATOR);
      if (spec.kind == v1::METRIC_KIND_GAUGE) {
        definition.add_windows(v1::METRIC_WINDOW_CURRENT);
      } else {
        for (v1::MetricWindow window :
             {v1::METRIC_WINDOW_ROLLING_15_MINUTES, v1::METRIC_WINDOW_ROLLING_30_MINUTES,
              v1::METRIC_WINDOW_ROLLING_60_MINUTES, v1::METRIC_WINDOW_TODAY}) {
          definition.add_windows(window);
        }
      }
      if (spec.parameters == kBoth) definition.add_parameters("service_level_threshold");
      if (spec.parameters != kNone) definition.add_parameters("short_abandon_threshold");
      definition.set_is_default(absl::string_view(spec.variant) == "standard");
      out->push_back({spec.key, spec.variant, std::move(definition)});
    }
    std::sort(out->begin(), out->end(), [](const BuiltMetric& a, const BuiltMetric& b) {
      return std::tie(a.key, a.variant) < std::tie(b.key, b.variant);
    });
    return out;
  }();
  return *metrics;
}

const BuiltMetric* FindDefinition(absl::string_view name) {
  for (const BuiltMetric& metric : BuiltMetrics()) {
    if (metric.definition.name() == name) return &metric;
  }
  return nullptr;
}

const BuiltMetric* DefaultDefinition(absl::string_view key) {
  for (const BuiltMetric& metric : BuiltMetrics()) {
    if (metric.key == key && metric.definition.is_default()) return &metric;
  }
  return nullptr;
}

bool IsContractMetric(absl::string_view key) {
  if (DefaultDefinition(key) != nullptr) return true;
  return std::find_if(std::begin(kContractMetrics), std::end(kContractMetrics),
                      [&](const char* other) { return key == other; }) !=
         std::end(kContractMetrics);
}

v1::MetricValue ValueOf(const BuiltMetric& metric, const WindowCounts& c,
                        const QueueThresholds& thresholds) {
  const std::string& key = metric.key;
  double numerator = 0;
  double denominator = 1;
  if (key == "abandoned") {
    numerator = c.abandoned;
  } else if (key == "abandoned_within_threshold") {
    numerator = c.abandoned_within_threshold;
  } else if (key == "abandonment_rate") {
    numerator = c.abandoned;
    denominator = static_cast<double>(std::max<int64_t>(c.offered - c.short_abandoned, 0));
  } else if (key == "aht") {
    numerator = c.handle_seconds;
    denominator = c.handled;
  } else if (key == "answered") {
    numerator = c.answered;
  } else if (key == "answered_within_threshold") {
    numerator = c.answered_within_threshold;
  } else if (key == "asa") {
    numerator = c.answer_wait_seconds;
    denominator = c.answered;
  } else if (key == "csat") {
    numerator = c.csat_satisfied;
    denominator = c.csat_answers;
  } else if (key == "nps") {
    numerator = 100.0 * static_cast<double>(c.nps_promoters - c.nps_detractors);
    denominator = c.nps_answers;
  } else if (key == "handled") {
    numerator = c.handled;
  } else if (key == "missing_wrap_ups") {
    numerator = c.missing_wrap_ups;
  } else if (key == "occupancy") {
    numerator = c.handling_seconds;
    denominator = c.handling_seconds + c.available_seconds;
  } else if (key == "offered") {
    numerator = c.offered;
  } else if (key == "service_level" && metric.variant == "answered") {
    numerator = c.answered_within_threshold;
    denominator = c.answered;
  } else if (key == "service_level" && metric.variant == "offered") {
    numerator = c.answered_within_threshold + c.abandoned_within_threshold;
    denominator = c.answered + c.abandoned;
  } else if (key == "service_level") {
    numerator = c.answered_within_threshold;
    denominator = static_cast<double>(c.answered + c.abandoned_after_threshold);
  } else if (key == "short_abandoned") {
    numerator = c.short_abandoned;
  } else if (key == "transfers") {
    numerator = c.transfers;
  }
  v1::MetricValue value;
  value.set_metric(key);
  value.set_definition(metric.definition.name());
  value.set_numerator(numerator);
  value.set_denominator(denominator);
  if (denominator > 0) value.set_value(numerator / denominator);
  const auto& parameters = metric.definition.parameters();
  if (std::find(parameters.begin(), parameters.end(), "service_level_threshold") !=
      parameters.end()) {
    *value.mutable_parameters()->mutable_service_level_threshold() =
        ProtoDuration(thresholds.service_level);
  }
  if (std::find(parameters.begin(), parameters.end(), "short_abandon_threshold") !=
      parameters.end()) {
    *value.mutable_parameters()->mutable_short_abandon_threshold() =
        ProtoDuration(thresholds.short_abandon);
  }
  return value;
}

v1::MetricValue GaugeValueOf(const BuiltMetric& metric, const OperatorGauges& gauges) {
  const std::string& key = metric.key;
  double count = 0;
  if (key == "calls_waiting") count = static_cast<double>(gauges.calls_waiting);
  if (key == "longest_wait") count = gauges.longest_wait_seconds;
  if (key == "operators_logged_in") count = gauges.logged_in;
  if (key == "operators_available") count = gauges.available;
  if (key == "operators_reserved") count = gauges.reserved;
  if (key == "operators_on_call") count = gauges.on_call;
  if (key == "operators_wrap_up") count = gauges.wrap_up;
  if (key == "operators_not_ready") count = gauges.not_ready;
  v1::MetricValue value;
  value.set_metric(key);
  value.set_definition(metric.definition.name());
  value.set_window(v1::METRIC_WINDOW_CURRENT);
  value.set_value(count);
  value.set_numerator(count);
  value.set_denominator(1);
  return value;
}

absl::StatusOr<v1::ListMetricDefinitionsResponse> ListMetricDefinitions(
    const v1::ListMetricDefinitionsRequest& request) {
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError("page_size: must not be negative");
  }
  if (request.page_size() > 1000) {
    return absl::InvalidArgumentError("page_size: at most 1000");
  }
  v1::ListMetricDefinitionsRequest scope_request = request;
  scope_request.clear_page_token();
  scope_request.clear_page_size();
  const std::string scope =
      absl::StrCat("ListMetricDefinitions:", scope_request.SerializeAsString());
  absl::StatusOr<std::string> cursor = common::DecodePageToken(request.page_token(), scope);
  if (!cursor.ok()) return cursor.status();
  size_t offset = 0;
  if (!cursor->empty() && !absl::SimpleAtoi(*cursor, &offset)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  std::vector<const v1::MetricDefinition*> matching;
  for (const BuiltMetric& metric : BuiltMetrics()) {
    if (!request.metric().empty() && metric.key != request.metric()) continue;
    if (metric.definition.deprecated() && !request.show_deprecated()) continue;
    matching.push_back(&metric.definition);
  }
  const size_t size = request.page_size() == 0 ? matching.size() : request.page_size();
  v1::ListMetricDefinitionsResponse response;
  for (size_t i = offset; i < matching.size() && i < offset + size; ++i) {
    *response.add_definitions() = *matching[i];
  }
  if (offset + size < matching.size()) {
    response.set_next_page_token(common::EncodePageToken(scope, absl::StrCat(offset + size)));
  }
  return response;
}

absl::StatusOr<v1::MetricDefinition> GetMetricDefinition(
    const v1::GetMetricDefinitionRequest& request) {
  const BuiltMetric* metric = FindDefinition(request.name());
  if (metric == nullptr) {
    return absl::NotFoundError(absl::StrCat("metric definition \"", request.name(),
                                            "\" not found (see ListMetricDefinitions)"));
  }
  return metric->definition;
}

}  // namespace contactcentre::analytics
