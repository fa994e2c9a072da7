#include "services/analytics/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace contactcentre::analytics {
namespace {

enum Parameters { kNone, kShort, kBoth };

struct Spec {
  const char* key;
  const char* display_name;
  const char* formula;
  v1::MetricUnit unit;
  v1::MetricKind kind;
  bool higher_is_better;
  Parameters parameters;
};

// Keys in alphabetical order.
constexpr Spec kSpecs[] = {
    {"abandoned", "Abandoned",
     "calls of the queue whose caller hung up before being connected, short abandons excluded",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kShort},
    {"abandoned_within_threshold", "Abandoned within T",
     "abandoned calls (short abandons excluded) that waited at most T", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, false, kBoth},
    {"abandonment_rate", "Abandonment rate",
     "abandoned / (offered - short abandoned); short abandons excluded from both",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, false, kShort},
    {"aht", "AHT", "(talk + hold + wrap-up time) / handled calls", v1::METRIC_UNIT_SECONDS,
     v1::METRIC_KIND_RATIO, false, kNone},
    {"answered", "Answered", "calls of the queue connected to an operator", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, true, kNone},
    {"answered_within_threshold", "Answered within T", "answered calls that waited at most T",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, true, kBoth},
    {"asa", "ASA", "wait time of answered calls / answered calls", v1::METRIC_UNIT_SECONDS,
     v1::METRIC_KIND_RATIO, false, kNone},
    {"handled", "Handled", "calls completed (handled and wrapped up or wrap-up timed out)",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, true, kNone},
    {"missing_wrap_ups", "Missing wrap-ups", "calls whose wrap-up time limit passed",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kNone},
    {"offered", "Offered", "calls that entered the queue (requeues not counted again)",
     v1::METRIC_UNIT_COUNT, v1::METRIC_KIND_COUNTER, false, kNone},
    {"service_level", "Service level",
     "answered within T / (answered + abandoned after T); abandons shorter than the short "
     "abandon threshold excluded",
     v1::METRIC_UNIT_RATIO, v1::METRIC_KIND_RATIO, true, kBoth},
    {"short_abandoned", "Short abandons",
     "abandoned calls that waited less than the short abandon threshold", v1::METRIC_UNIT_COUNT,
     v1::METRIC_KIND_COUNTER, false, kShort},
    {"transfers", "Transfers", "call legs of the queue that were transferred",
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

const Spec& SpecOf(const std::string& key) {
  for (const Spec& spec : kSpecs) {
    if (key == spec.key) return spec;
  }
  return kSpecs[0];  // unreachable for keys of BuiltMetrics()
}

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration out;
  out.set_seconds(absl::ToInt64Seconds(duration));
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(out.seconds()))));
  return out;
}

}  // namespace

std::string DefinitionName(const std::string& key) {
  return absl::StrCat("metricDefinitions/", key, ".standard.v1");
}

const std::vector<BuiltMetric>& BuiltMetrics() {
  static const std::vector<BuiltMetric>* metrics = [] {
    auto* out = new std::vector<BuiltMetric>();
    for (const Spec& spec : kSpecs) {
      v1::MetricDefinition definition;
      definition.set_name(DefinitionName(spec.key));
      definition.set_metric(spec.key);
      definition.set_variant("standard");
      definition.set_version(1);
      definition.set_display_name(spec.display_name);
      definition.set_description(spec.formula);
      definition.set_formula(spec.formula);
      definition.set_unit(spec.unit);
      definition.set_kind(spec.kind);
      definition.set_higher_is_better(spec.higher_is_better);
      definition.add_scopes(v1::SCOPE_TYPE_SITE);
      definition.add_scopes(v1::SCOPE_TYPE_QUEUE);
      for (v1::MetricWindow window :
           {v1::METRIC_WINDOW_ROLLING_15_MINUTES, v1::METRIC_WINDOW_ROLLING_30_MINUTES,
            v1::METRIC_WINDOW_ROLLING_60_MINUTES, v1::METRIC_WINDOW_TODAY}) {
        definition.add_windows(window);
      }
      if (spec.parameters == kBoth) definition.add_parameters("service_level_threshold");
      if (spec.parameters != kNone) definition.add_parameters("short_abandon_threshold");
      definition.set_is_default(true);
      out->push_back({spec.key, std::move(definition)});
    }
    return out;
  }();
  return *metrics;
}

bool IsContractMetric(const std::string& key) {
  for (const Spec& spec : kSpecs) {
    if (key == spec.key) return true;
  }
  return std::find_if(std::begin(kContractMetrics), std::end(kContractMetrics),
                      [&](const char* other) { return key == other; }) !=
         std::end(kContractMetrics);
}

v1::MetricValue ValueOf(const std::string& key, const WindowCounts& c,
                        const QueueThresholds& thresholds) {
  const Spec& spec = SpecOf(key);
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
  } else if (key == "handled") {
    numerator = c.handled;
  } else if (key == "missing_wrap_ups") {
    numerator = c.missing_wrap_ups;
  } else if (key == "offered") {
    numerator = c.offered;
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
  value.set_definition(DefinitionName(key));
  value.set_numerator(numerator);
  value.set_denominator(denominator);
  if (denominator > 0) value.set_value(numerator / denominator);
  if (spec.parameters == kBoth) {
    *value.mutable_parameters()->mutable_service_level_threshold() =
        ProtoDuration(thresholds.service_level);
  }
  if (spec.parameters != kNone) {
    *value.mutable_parameters()->mutable_short_abandon_threshold() =
        ProtoDuration(thresholds.short_abandon);
  }
  return value;
}

}  // namespace contactcentre::analytics
