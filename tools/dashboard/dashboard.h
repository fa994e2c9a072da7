// cc-top's model and rendering: the figures of a WatchMetrics stream merged into one state, and
// pure functions from that state to the plain summary line and to the lines of the full screen.
// No terminal or network code here (main.cc), so everything below is unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"

namespace contactcentre::dashboard {

namespace v1 = ::contactcentre::analytics::v1;

// What the dashboard holds: every entity's latest figures, as the stream left them.
struct DashboardState {
  // Entity name ("sites/msk", "queues/q1", "operators/o1") -> its figures.
  std::map<std::string, v1::EntityMetrics> entities;
  // Data time of the latest message.
  absl::Time data_time = absl::InfinitePast();
  // True once a complete snapshot arrived.
  bool have_snapshot = false;
  // The coalescing period the server echoed.
  absl::Duration min_interval = absl::ZeroDuration();
  // Sum of skipped_updates over the stream (the dashboard read too slowly).
  uint64_t skipped_updates = 0;
  uint64_t messages = 0;
};

// Applies one stream message: SNAPSHOT part 0 drops everything held; snapshot parts add
// entities; an UPDATE replaces the values it carries (by metric, definition and window), the
// operator status when set, adds new entities and drops removed ones; a HEARTBEAT only advances
// the data time.
void ApplyMessage(const v1::WatchMetricsResponse& message, DashboardState* state);

// The value of `metric` in `window` of an entity (the first when several definitions), or
// nullptr.
const v1::MetricValue* FindValue(const v1::EntityMetrics& entity, absl::string_view metric,
                                 v1::MetricWindow window);

// A figure aggregated over entities as the contract says: numerators and denominators summed
// (gauges and counters too), longest wait as the maximum. `definition` is the common
// definition's short name ("service_level.standard.v1" -> "standard.v1") or "mixed";
// `threshold` the common service level threshold (zero when mixed or not set).
struct Figure {
  bool present = false;  // some entity had the value
  double numerator = 0;
  double denominator = 0;
  bool defined = false;  // a value is defined (a denominator above zero)
  double value = 0;
  std::string definition;
  absl::Duration threshold = absl::ZeroDuration();
  absl::Duration short_abandon = absl::ZeroDuration();
};
Figure Aggregate(const std::vector<const v1::EntityMetrics*>& entities, absl::string_view metric,
                 v1::MetricWindow window);

// "00:41", "12:05" (minutes:seconds), "1:02:03" past an hour; "-" for a negative value.
std::string FormatWait(double seconds);
// "87.3%" or "-" when undefined.
std::string FormatPercent(const Figure& figure);
// "9s" (rounded) or "-" when undefined.
std::string FormatSeconds(const Figure& figure);
// "120" or "-" when absent.
std::string FormatCount(const Figure& figure);
// "SL(standard.v1,20s)" for the summary line; "SL(mixed)" when queues differ.
std::string ServiceLevelLabel(const Figure& figure);
// "Today", "15 min", ...
std::string WindowLabel(v1::MetricWindow window);

// Which entities the summary and the screen aggregate: the queues of `queues` (queue ids;
// empty means the site entities).
struct ViewOptions {
  std::vector<std::string> queues;
  v1::MetricWindow window = v1::METRIC_WINDOW_TODAY;
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// The non-TTY line, e.g. "dashboard: 12:00:05 waiting=3 longest=00:41 offered=120 answered=110
// abandoned=6 SL(standard.v1,20s)=87.3% ASA=9s AHT=142s abandonment=4.8% occupancy=81.0%
// agents logged_in=17 avail=4 reserved=0 on_call=10 wrap=2 not_ready=1" (the data time in the
// view's time zone; counts and ratios over the view's window; "-" for undefined figures).
std::string SummaryLine(const DashboardState& state, const ViewOptions& view);

// Everything the full screen shows besides the state.
struct ScreenOptions {
  ViewOptions view;
  int width = 80;
  int height = 24;
  std::string address;
  // "connected", "connecting...", "disconnected: <reason>".
  std::string connection;
  absl::Time now = absl::InfinitePast();
  // Display names of entities ("queues/q1" -> "Банковские карты", teams and operators too), from
  // the calls service; rows show an entity's id where its name is not known.
  std::map<std::string, std::string> names;
};

// `text` cut or padded with spaces to `width` characters (UTF-8 code points, so that Cyrillic
// names line up).
std::string PadTo(absl::string_view text, int width);

// The full screen, at most `height` lines each at most `width` columns: a header (address, data
// time, window, connection), the site totals with the service level definition, one row per
// queue, operators by state, then one row per logged-in operator (busiest first) while they fit.
std::vector<std::string> RenderScreen(const DashboardState& state, const ScreenOptions& options);

// Splits "a,b, c" into non-empty trimmed items.
std::vector<std::string> SplitList(absl::string_view list);

// The WatchMetrics request of the dashboard: the site(s), the queues (`queues`, or every
// queue), the teams (with their operators) or every operator, the figures it shows, the
// window and CURRENT.
v1::WatchMetricsRequest MakeRequest(const std::vector<std::string>& queues,
                                    const std::vector<std::string>& teams, v1::MetricWindow window,
                                    absl::Duration min_interval);

// "today", "15m", "30m", "60m" -> the window; false for anything else.
bool ParseWindow(absl::string_view text, v1::MetricWindow* window);

}  // namespace contactcentre::dashboard
