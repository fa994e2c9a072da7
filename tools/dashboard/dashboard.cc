#include "tools/dashboard/dashboard.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace contactcentre::dashboard {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

std::string ValueKey(const v1::MetricValue& value) {
  return absl::StrCat(value.metric(), "|", value.definition(), "|", value.window());
}

void MergeEntity(const v1::EntityMetrics& update, v1::EntityMetrics* held) {
  for (const v1::MetricValue& value : update.values()) {
    const std::string key = ValueKey(value);
    bool replaced = false;
    for (v1::MetricValue& old : *held->mutable_values()) {
      if (ValueKey(old) == key) {
        old = value;
        replaced = true;
        break;
      }
    }
    if (!replaced) *held->add_values() = value;
  }
  if (update.has_operator_status()) *held->mutable_operator_status() = update.operator_status();
}

// "queues/q1" -> "q1".
std::string ShortName(absl::string_view entity) {
  const size_t slash = entity.find('/');
  return std::string(slash == absl::string_view::npos ? entity : entity.substr(slash + 1));
}

// "metricDefinitions/service_level.standard.v1" -> "standard.v1".
std::string ShortDefinition(absl::string_view definition) {
  absl::ConsumePrefix(&definition, "metricDefinitions/");
  const size_t dot = definition.find('.');
  return std::string(dot == absl::string_view::npos ? definition : definition.substr(dot + 1));
}

std::string FormatDurationShort(absl::Duration duration) {
  const int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds % 3600 == 0 && seconds > 0) return absl::StrCat(seconds / 3600, "h");
  if (seconds % 60 == 0 && seconds > 0) return absl::StrCat(seconds / 60, "m");
  return absl::StrCat(seconds, "s");
}

// Code points of a UTF-8 text, and the byte offset where the `count`th begins.
int CodePoints(absl::string_view text) {
  int count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

size_t OffsetOfCodePoint(absl::string_view text, int count) {
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && count-- == 0) return i;
  }
  return text.size();
}

std::string Fit(std::string line, int width) {
  if (width > 0 && CodePoints(line) > width) line.resize(OffsetOfCodePoint(line, width));
  return line;
}

// The entity's display name when known, else its id.
std::string Label(const ScreenOptions& options, absl::string_view entity) {
  auto it = options.names.find(std::string(entity));
  return it != options.names.end() && !it->second.empty() ? it->second : ShortName(entity);
}

std::string StateName(calls::v1::OperatorState state) {
  switch (state) {
    case calls::v1::OPERATOR_STATE_OFFLINE:
      return "offline";
    case calls::v1::OPERATOR_STATE_AVAILABLE:
      return "available";
    case calls::v1::OPERATOR_STATE_RESERVED:
      return "reserved";
    case calls::v1::OPERATOR_STATE_ON_CALL:
      return "on call";
    case calls::v1::OPERATOR_STATE_WRAP_UP:
      return "wrap-up";
    case calls::v1::OPERATOR_STATE_NOT_READY:
      return "not ready";
    default:
      return "?";
  }
}

// The entities a view aggregates: the named queues, or every site entity.
std::vector<const v1::EntityMetrics*> ViewEntities(const DashboardState& state,
                                                   const ViewOptions& view) {
  std::vector<const v1::EntityMetrics*> out;
  if (!view.queues.empty()) {
    for (const std::string& queue : view.queues) {
      auto it = state.entities.find(absl::StrCat("queues/", queue));
      if (it != state.entities.end()) out.push_back(&it->second);
    }
    return out;
  }
  for (const auto& [name, entity] : state.entities) {
    if (entity.scope() == v1::SCOPE_TYPE_SITE) out.push_back(&entity);
  }
  return out;
}

std::vector<const v1::EntityMetrics*> SiteEntities(const DashboardState& state) {
  std::vector<const v1::EntityMetrics*> out;
  for (const auto& [name, entity] : state.entities) {
    if (entity.scope() == v1::SCOPE_TYPE_SITE) out.push_back(&entity);
  }
  return out;
}

struct Totals {
  Figure waiting, longest, offered, answered, abandoned, service_level, asa, aht, abandonment,
      occupancy;
};

Totals TotalsOf(const std::vector<const v1::EntityMetrics*>& entities, v1::MetricWindow window) {
  Totals t;
  t.waiting = Aggregate(entities, "calls_waiting", v1::METRIC_WINDOW_CURRENT);
  t.longest = Aggregate(entities, "longest_wait", v1::METRIC_WINDOW_CURRENT);
  t.offered = Aggregate(entities, "offered", window);
  t.answered = Aggregate(entities, "answered", window);
  t.abandoned = Aggregate(entities, "abandoned", window);
  t.service_level = Aggregate(entities, "service_level", window);
  t.asa = Aggregate(entities, "asa", window);
  t.aht = Aggregate(entities, "aht", window);
  t.abandonment = Aggregate(entities, "abandonment_rate", window);
  t.occupancy = Aggregate(entities, "occupancy", window);
  return t;
}

std::string LongestText(const Figure& longest) {
  return longest.present ? FormatWait(longest.value) : "-";
}

std::string TimeText(absl::Time time, absl::TimeZone zone) {
  if (time == absl::InfinitePast()) return "--:--:--";
  return absl::FormatTime("%H:%M:%S", time, zone);
}

}  // namespace

void ApplyMessage(const v1::WatchMetricsResponse& message, DashboardState* state) {
  ++state->messages;
  state->skipped_updates += message.skipped_updates();
  if (message.has_min_interval()) state->min_interval = FromProto(message.min_interval());
  if (message.has_data_time()) {
    state->data_time = std::max(state->data_time, FromProto(message.data_time()));
  }
  switch (message.kind()) {
    case v1::WATCH_MESSAGE_KIND_SNAPSHOT:
      if (message.part() == 0) {
        state->entities.clear();
        state->have_snapshot = false;
        // A new snapshot may go back in time (another replica): take its data time.
        if (message.has_data_time()) state->data_time = FromProto(message.data_time());
      }
      for (const v1::EntityMetrics& entity : message.entities()) {
        state->entities[entity.entity()] = entity;
      }
      if (message.part() + 1 >= std::max(1, message.part_count())) state->have_snapshot = true;
      break;
    case v1::WATCH_MESSAGE_KIND_UPDATE:
      for (const v1::EntityMetrics& entity : message.entities()) {
        auto [it, inserted] = state->entities.try_emplace(entity.entity(), entity);
        if (!inserted) MergeEntity(entity, &it->second);
      }
      for (const std::string& removed : message.removed_entities()) {
        state->entities.erase(removed);
      }
      break;
    default:
      break;
  }
}

const v1::MetricValue* FindValue(const v1::EntityMetrics& entity, absl::string_view metric,
                                 v1::MetricWindow window) {
  for (const v1::MetricValue& value : entity.values()) {
    if (value.metric() == metric && value.window() == window) return &value;
  }
  return nullptr;
}

Figure Aggregate(const std::vector<const v1::EntityMetrics*>& entities, absl::string_view metric,
                 v1::MetricWindow window) {
  Figure figure;
  bool first = true;
  const bool maximum = metric == "longest_wait";
  for (const v1::EntityMetrics* entity : entities) {
    const v1::MetricValue* value = FindValue(*entity, metric, window);
    if (value == nullptr) continue;
    figure.present = true;
    const std::string definition =
        value->mixed() ? std::string("mixed") : ShortDefinition(value->definition());
    const absl::Duration threshold = value->parameters().has_service_level_threshold()
                                         ? FromProto(value->parameters().service_level_threshold())
                                         : absl::ZeroDuration();
    const absl::Duration short_abandon =
        value->parameters().has_short_abandon_threshold()
            ? FromProto(value->parameters().short_abandon_threshold())
            : absl::ZeroDuration();
    if (first) {
      figure.definition = definition;
      figure.threshold = threshold;
      figure.short_abandon = short_abandon;
      first = false;
    } else if (figure.definition != definition || figure.threshold != threshold) {
      figure.definition = "mixed";
      figure.threshold = absl::ZeroDuration();
    }
    if (maximum) {
      figure.numerator = std::max(figure.numerator, value->numerator());
      figure.denominator = 1;
    } else {
      figure.numerator += value->numerator();
      figure.denominator += value->denominator();
    }
  }
  if (figure.present && figure.denominator > 0) {
    figure.defined = true;
    figure.value = figure.numerator / figure.denominator;
  }
  return figure;
}

std::string FormatWait(double seconds) {
  if (seconds < 0 || std::isnan(seconds)) return "-";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  if (total >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  }
  return absl::StrFormat("%02d:%02d", total / 60, total % 60);
}

std::string FormatPercent(const Figure& figure) {
  if (!figure.defined) return "-";
  return absl::StrFormat("%.1f%%", figure.value * 100);
}

std::string FormatSeconds(const Figure& figure) {
  if (!figure.defined) return "-";
  return absl::StrCat(std::llround(figure.value), "s");
}

std::string FormatCount(const Figure& figure) {
  if (!figure.present) return "-";
  return absl::StrCat(std::llround(figure.numerator));
}

std::string ServiceLevelLabel(const Figure& figure) {
  if (figure.definition == "mixed") return "SL(mixed)";
  if (figure.definition.empty()) return "SL";
  return absl::StrCat("SL(", figure.definition, ",", FormatDurationShort(figure.threshold), ")");
}

std::string WindowLabel(v1::MetricWindow window) {
  switch (window) {
    case v1::METRIC_WINDOW_ROLLING_15_MINUTES:
      return "last 15 min";
    case v1::METRIC_WINDOW_ROLLING_30_MINUTES:
      return "last 30 min";
    case v1::METRIC_WINDOW_ROLLING_60_MINUTES:
      return "last 60 min";
    case v1::METRIC_WINDOW_TODAY:
      return "today";
    case v1::METRIC_WINDOW_CURRENT:
      return "now";
    default:
      return "?";
  }
}

std::string SummaryLine(const DashboardState& state, const ViewOptions& view) {
  const Totals t = TotalsOf(ViewEntities(state, view), view.window);
  const std::vector<const v1::EntityMetrics*> sites = SiteEntities(state);
  auto gauge = [&](absl::string_view metric) {
    return FormatCount(Aggregate(sites, metric, v1::METRIC_WINDOW_CURRENT));
  };
  return absl::StrCat(
      "dashboard: ", TimeText(state.data_time, view.time_zone), " waiting=", FormatCount(t.waiting),
      " longest=", LongestText(t.longest), " offered=", FormatCount(t.offered),
      " answered=", FormatCount(t.answered), " abandoned=", FormatCount(t.abandoned), " ",
      ServiceLevelLabel(t.service_level), "=", FormatPercent(t.service_level),
      " ASA=", FormatSeconds(t.asa), " AHT=", FormatSeconds(t.aht),
      " abandonment=", FormatPercent(t.abandonment), " occupancy=", FormatPercent(t.occupancy),
      " agents logged_in=", gauge("operators_logged_in"), " avail=", gauge("operators_available"),
      " reserved=", gauge("operators_reserved"), " on_call=", gauge("operators_on_call"),
      " wrap=", gauge("operators_wrap_up"), " not_ready=", gauge("operators_not_ready"));
}

std::vector<std::string> RenderScreen(const DashboardState& state, const ScreenOptions& options) {
  const ViewOptions& view = options.view;
  const int width = std::max(20, options.width);
  const int height = std::max(3, options.height);
  std::vector<std::string> lines;
  auto add = [&](std::string line) {
    if (static_cast<int>(lines.size()) < height) lines.push_back(Fit(std::move(line), width));
  };
  add(absl::StrCat("cc-top  ", options.address, "  data ",
                   TimeText(state.data_time, view.time_zone), "  now ",
                   TimeText(options.now, view.time_zone), "  window ", WindowLabel(view.window),
                   "  ", options.connection, "  (q quits)"));

  const std::vector<const v1::EntityMetrics*> scope = ViewEntities(state, view);
  const Totals t = TotalsOf(scope, view.window);
  add(absl::StrCat(view.queues.empty() ? "Site" : "Selected queues", ": waiting ",
                   FormatCount(t.waiting), "  longest ", LongestText(t.longest), "  offered ",
                   FormatCount(t.offered), "  answered ", FormatCount(t.answered), "  abandoned ",
                   FormatCount(t.abandoned), "  SL ", FormatPercent(t.service_level), "  ASA ",
                   FormatSeconds(t.asa), "  AHT ", FormatSeconds(t.aht), "  aband ",
                   FormatPercent(t.abandonment), "  occ ", FormatPercent(t.occupancy)));
  if (t.service_level.definition == "mixed") {
    add("SL definition: mixed (queues use different definitions or thresholds; see rows)");
  } else if (!t.service_level.definition.empty()) {
    std::string formula;
    if (absl::StartsWith(t.service_level.definition, "standard")) {
      formula = "answered within T / (answered + abandoned after T)";
    } else if (absl::StartsWith(t.service_level.definition, "answered")) {
      formula = "answered within T / answered";
    } else if (absl::StartsWith(t.service_level.definition, "offered")) {
      formula = "(answered within T + abandoned within T) / (answered + abandoned)";
    }
    add(absl::StrCat("SL definition: service_level.", t.service_level.definition, " = ", formula,
                     ", T=", FormatDurationShort(t.service_level.threshold), ", abandons < ",
                     FormatDurationShort(t.service_level.short_abandon), " excluded"));
  }
  add("");

  // Queues.
  add(absl::StrFormat("%-16s %5s %8s %7s %8s %6s %7s %-16s %5s %5s %6s %6s", "QUEUE", "WAIT",
                      "LONGEST", "OFFERED", "ANSWERED", "ABAND", "SL", "SL DEF", "ASA", "AHT",
                      "ABAND%", "OCC"));
  std::vector<const v1::EntityMetrics*> queues;
  for (const auto& [name, entity] : state.entities) {
    if (entity.scope() == v1::SCOPE_TYPE_QUEUE) queues.push_back(&entity);
  }
  for (const v1::EntityMetrics* queue : queues) {
    const Totals q = TotalsOf({queue}, view.window);
    std::string definition = q.service_level.definition;
    if (definition != "mixed" && !definition.empty()) {
      definition = absl::StrCat(definition, "/", FormatDurationShort(q.service_level.threshold));
    }
    add(absl::StrFormat("%s %5s %8s %7s %8s %6s %7s %-16s %5s %5s %6s %6s",
                        PadTo(Label(options, queue->entity()), 16), FormatCount(q.waiting),
                        LongestText(q.longest), FormatCount(q.offered), FormatCount(q.answered),
                        FormatCount(q.abandoned), FormatPercent(q.service_level), definition,
                        FormatSeconds(q.asa), FormatSeconds(q.aht), FormatPercent(q.abandonment),
                        FormatPercent(q.occupancy)));
  }
  if (queues.empty()) add("(no queue figures yet)");
  add("");

  // Operators by state (the site's gauges, or the selected queues' when filtered).
  const std::vector<const v1::EntityMetrics*> sites = SiteEntities(state);
  const std::vector<const v1::EntityMetrics*>& gauge_scope = view.queues.empty() ? sites : scope;
  auto gauge = [&](absl::string_view metric) {
    return FormatCount(Aggregate(gauge_scope, metric, v1::METRIC_WINDOW_CURRENT));
  };
  add(absl::StrCat("Operators: logged in ", gauge("operators_logged_in"), "  available ",
                   gauge("operators_available"), "  reserved ", gauge("operators_reserved"),
                   "  on call ", gauge("operators_on_call"), "  wrap-up ",
                   gauge("operators_wrap_up"), "  not ready ", gauge("operators_not_ready")));

  std::vector<const v1::EntityMetrics*> operators;
  for (const auto& [name, entity] : state.entities) {
    // Logged-in operators only (an operator who handled calls today and left is OFFLINE).
    if (entity.scope() == v1::SCOPE_TYPE_OPERATOR && entity.has_operator_status() &&
        entity.operator_status().state() != calls::v1::OPERATOR_STATE_OFFLINE &&
        entity.operator_status().state() != calls::v1::OPERATOR_STATE_UNSPECIFIED) {
      operators.push_back(&entity);
    }
  }
  // Busiest first: on call, wrap-up, reserved, available, not ready, offline; then by name.
  auto rank = [](calls::v1::OperatorState s) {
    switch (s) {
      case calls::v1::OPERATOR_STATE_ON_CALL:
        return 0;
      case calls::v1::OPERATOR_STATE_WRAP_UP:
        return 1;
      case calls::v1::OPERATOR_STATE_RESERVED:
        return 2;
      case calls::v1::OPERATOR_STATE_AVAILABLE:
        return 3;
      case calls::v1::OPERATOR_STATE_NOT_READY:
        return 4;
      default:
        return 5;
    }
  };
  std::stable_sort(operators.begin(), operators.end(),
                   [&](const v1::EntityMetrics* a, const v1::EntityMetrics* b) {
                     return rank(a->operator_status().state()) < rank(b->operator_status().state());
                   });
  if (!operators.empty() && static_cast<int>(lines.size()) + 2 <= height) {
    add(absl::StrFormat("%-16s %-10s %8s %-12s %-10s %s", "OPERATOR", "STATE", "FOR", "TEAM",
                        "REASON", "CALL"));
    const int room = height - static_cast<int>(lines.size());
    const int shown = std::min<int>(room, static_cast<int>(operators.size()));
    const bool truncated = shown < static_cast<int>(operators.size());
    for (int i = 0; i < shown; ++i) {
      if (truncated && i == shown - 1) {
        add(absl::StrCat("... and ", operators.size() - i, " more operators"));
        break;
      }
      const v1::OperatorStatus& status = operators[i]->operator_status();
      std::string since = "-";
      if (status.has_state_since() && state.data_time != absl::InfinitePast()) {
        since =
            FormatWait(absl::ToDoubleSeconds(state.data_time - FromProto(status.state_since())));
      }
      add(absl::StrFormat(
          "%s %-10s %8s %s %-10s %s", PadTo(Label(options, operators[i]->entity()), 16),
          StateName(status.state()), since, PadTo(Label(options, status.team()), 12),
          status.reason_code(), ShortName(status.call())));
    }
  }
  return lines;
}

std::string PadTo(absl::string_view text, int width) {
  std::string out(text.substr(0, OffsetOfCodePoint(text, width)));
  out.append(std::max(0, width - CodePoints(out)), ' ');
  return out;
}

std::vector<std::string> SplitList(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

v1::WatchMetricsRequest MakeRequest(const std::vector<std::string>& queues,
                                    const std::vector<std::string>& teams, v1::MetricWindow window,
                                    absl::Duration min_interval) {
  v1::WatchMetricsRequest request;
  v1::EntityFilter* entities = request.mutable_filter()->mutable_entities();
  entities->add_sites("sites/-");
  if (queues.empty()) {
    entities->add_queues("queues/-");
  } else {
    for (const std::string& queue : queues) entities->add_queues(absl::StrCat("queues/", queue));
  }
  if (teams.empty()) {
    entities->add_operators("operators/-");
  } else {
    for (const std::string& team : teams) entities->add_teams(absl::StrCat("teams/", team));
    entities->set_include_team_operators(true);
  }
  for (const char* metric :
       {"calls_waiting", "longest_wait", "offered", "answered", "abandoned", "service_level", "asa",
        "aht", "abandonment_rate", "occupancy", "operators_logged_in", "operators_available",
        "operators_reserved", "operators_on_call", "operators_wrap_up", "operators_not_ready"}) {
    request.mutable_filter()->add_metrics(metric);
  }
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_CURRENT);
  request.mutable_filter()->add_windows(window);
  if (min_interval > absl::ZeroDuration()) {
    const int64_t nanos = absl::ToInt64Nanoseconds(min_interval);
    request.mutable_min_interval()->set_seconds(nanos / 1000000000);
    request.mutable_min_interval()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  }
  return request;
}

bool ParseWindow(absl::string_view text, v1::MetricWindow* window) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "today") {
    *window = v1::METRIC_WINDOW_TODAY;
  } else if (lower == "15m") {
    *window = v1::METRIC_WINDOW_ROLLING_15_MINUTES;
  } else if (lower == "30m") {
    *window = v1::METRIC_WINDOW_ROLLING_30_MINUTES;
  } else if (lower == "60m" || lower == "1h") {
    *window = v1::METRIC_WINDOW_ROLLING_60_MINUTES;
  } else {
    return false;
  }
  return true;
}

}  // namespace contactcentre::dashboard
