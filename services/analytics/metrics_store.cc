#include "services/analytics/metrics_store.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/idempotency.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::analytics {
namespace {

using events::v1::Event;

constexpr absl::string_view kUpsertFacts = R"sql(
INSERT INTO call_facts AS f (site, call_id, queue, team, operator, outbound, offered_at,
                             answered_at, answer_wait_seconds, abandoned_at,
                             abandon_wait_seconds, handled_at, handle_seconds, transferred_at,
                             wrap_up_timed_out_at, failed_at)
VALUES ($1, $2, $3, $4, $5, $6,
        to_timestamp(NULLIF($7::bigint, 0)::float8 / 1e6),
        to_timestamp(NULLIF($8::bigint, 0)::float8 / 1e6), NULLIF($9::float8, -1),
        to_timestamp(NULLIF($10::bigint, 0)::float8 / 1e6), NULLIF($11::float8, -1),
        to_timestamp(NULLIF($12::bigint, 0)::float8 / 1e6), NULLIF($13::float8, -1),
        to_timestamp(NULLIF($14::bigint, 0)::float8 / 1e6),
        to_timestamp(NULLIF($15::bigint, 0)::float8 / 1e6),
        to_timestamp(NULLIF($16::bigint, 0)::float8 / 1e6))
ON CONFLICT (site, call_id) DO UPDATE SET
  queue = CASE WHEN f.queue <> '' THEN f.queue ELSE EXCLUDED.queue END,
  team = CASE WHEN EXCLUDED.team <> '' THEN EXCLUDED.team ELSE f.team END,
  operator = CASE WHEN EXCLUDED.operator <> '' THEN EXCLUDED.operator ELSE f.operator END,
  outbound = f.outbound OR EXCLUDED.outbound,
  offered_at = COALESCE(f.offered_at, EXCLUDED.offered_at),
  answered_at = COALESCE(f.answered_at, EXCLUDED.answered_at),
  answer_wait_seconds = COALESCE(f.answer_wait_seconds, EXCLUDED.answer_wait_seconds),
  abandoned_at = COALESCE(f.abandoned_at, EXCLUDED.abandoned_at),
  abandon_wait_seconds = COALESCE(f.abandon_wait_seconds, EXCLUDED.abandon_wait_seconds),
  handled_at = COALESCE(f.handled_at, EXCLUDED.handled_at),
  handle_seconds = COALESCE(f.handle_seconds, EXCLUDED.handle_seconds),
  transferred_at = COALESCE(f.transferred_at, EXCLUDED.transferred_at),
  wrap_up_timed_out_at = COALESCE(f.wrap_up_timed_out_at, EXCLUDED.wrap_up_timed_out_at),
  failed_at = COALESCE(f.failed_at, EXCLUDED.failed_at),
  updated_at = now()
)sql";

// Per (queue, team, operator) over the window [$2, now]: $3 = T and $4 = the short abandon
// threshold, in seconds, of queues without their own ($5, $6, $7: queues with own thresholds,
// their T and short abandon threshold, each call judged with its queue's). The caller sums the
// rows into queues, teams, operators and the site: one hash aggregate instead of four grouping
// sets, which took 2.6 times as long over 22,000 calls.
constexpr absl::string_view kWindowCounts = R"sql(
WITH w AS (SELECT to_timestamp($2::float8 / 1e6) AS s),
qs AS (SELECT * FROM unnest($5::text[], $6::float8[], $7::float8[]) AS qs(q, t, sa))
SELECT queue, team, operator,
  count(*) FILTER (WHERE offered_at >= w.s),
  count(*) FILTER (WHERE answered_at >= w.s),
  count(*) FILTER (WHERE answered_at >= w.s AND answer_wait_seconds <= COALESCE(qs.t, $3::float8)),
  COALESCE(sum(answer_wait_seconds) FILTER (WHERE answered_at >= w.s), 0),
  count(*) FILTER (WHERE abandoned_at >= w.s AND abandon_wait_seconds >= COALESCE(qs.sa, $4::float8)),
  count(*) FILTER (WHERE abandoned_at >= w.s AND abandon_wait_seconds < COALESCE(qs.sa, $4::float8)),
  count(*) FILTER (WHERE abandoned_at >= w.s AND abandon_wait_seconds >= COALESCE(qs.sa, $4::float8)
                   AND abandon_wait_seconds <= COALESCE(qs.t, $3::float8)),
  count(*) FILTER (WHERE abandoned_at >= w.s AND abandon_wait_seconds >= COALESCE(qs.sa, $4::float8)
                   AND abandon_wait_seconds > COALESCE(qs.t, $3::float8)),
  count(*) FILTER (WHERE handled_at >= w.s),
  COALESCE(sum(handle_seconds) FILTER (WHERE handled_at >= w.s), 0),
  count(*) FILTER (WHERE transferred_at >= w.s),
  count(*) FILTER (WHERE wrap_up_timed_out_at >= w.s)
FROM call_facts LEFT JOIN qs ON qs.q = call_facts.queue, w
WHERE site = $1 AND updated_at >= w.s - interval '5 minutes' AND queue <> '' AND NOT outbound
  AND greatest(offered_at, answered_at, abandoned_at, handled_at, transferred_at,
               wrap_up_timed_out_at) >= w.s
GROUP BY queue, team, operator
)sql";

// Occupancy per operator, team, served queue and the site over [$2, now]: handling (ON_CALL 4,
// WRAP_UP 5) and available (AVAILABLE 2, RESERVED 3) seconds of the states that ended in the
// window. Column 0: 'o' operator, 't' team, 'q' queue, 's' site.
constexpr absl::string_view kWindowOccupancy = R"sql(
WITH w AS (SELECT to_timestamp($2::float8 / 1e6) AS s),
spans AS (
  SELECT operator, team, queues,
    CASE WHEN state IN (4, 5) THEN seconds ELSE 0 END AS handling,
    CASE WHEN state IN (2, 3) THEN seconds ELSE 0 END AS available
  FROM operator_spans, w WHERE site = $1 AND ended_at >= w.s AND state IN (2, 3, 4, 5))
SELECT 'o', operator, sum(handling), sum(available) FROM spans GROUP BY operator
UNION ALL SELECT 't', team, sum(handling), sum(available) FROM spans WHERE team <> ''
  GROUP BY team
UNION ALL SELECT 'q', queue, sum(handling), sum(available)
  FROM spans, unnest(queues) AS queue GROUP BY queue
UNION ALL SELECT 's', '', COALESCE(sum(handling), 0), COALESCE(sum(available), 0) FROM spans
)sql";

// Survey scores per queue, team, operator (with team) and the site over [$2, now]; the first
// column tells the grouping as in kWindowCounts.
constexpr absl::string_view kWindowScores = R"sql(
WITH w AS (SELECT to_timestamp($2::float8 / 1e6) AS s)
SELECT GROUPING(queue, team, operator), queue, team, operator,
  COALESCE(sum(csat_answers), 0), COALESCE(sum(csat_satisfied), 0),
  COALESCE(sum(nps_answers), 0), COALESCE(sum(nps_promoters), 0),
  COALESCE(sum(nps_detractors), 0)
FROM survey_scores, w
WHERE site = $1 AND submitted_at >= w.s
GROUP BY GROUPING SETS ((queue), (team), (operator, team), ())
)sql";

// TODAY before the live part: the stored 15-minute intervals in [$2, $3) per entity ('' the
// site), every counted column.
constexpr absl::string_view kTodayFromIntervals = R"sql(
SELECT entity, sum(offered), sum(answered), sum(answered_within_threshold),
  sum(answer_wait_seconds), sum(abandoned), sum(short_abandoned),
  sum(abandoned_within_threshold), sum(abandoned_after_threshold), sum(handled),
  sum(handle_seconds), sum(transfers), sum(missing_wrap_ups), sum(csat_answers),
  sum(csat_satisfied), sum(nps_answers), sum(nps_promoters), sum(nps_detractors),
  sum(handling_seconds), sum(available_seconds)
FROM interval_counts
WHERE site = $1 AND interval_start >= to_timestamp($2::float8 / 1e6)
  AND interval_start < to_timestamp($3::float8 / 1e6)
GROUP BY entity
)sql";

// The teams each operator handled calls for in the intervals of [$2, $3).
constexpr absl::string_view kOperatorTeams = R"sql(
SELECT DISTINCT operator, team FROM operator_team_intervals
WHERE site = $1 AND interval_start >= to_timestamp($2::float8 / 1e6)
  AND interval_start < to_timestamp($3::float8 / 1e6)
)sql";

// Adds one delta to the 15-minute interval rows of several entities ($3, '' for the site) at
// interval start $2 (micros). $23, $24: the thresholds the delta's calls were judged with, -1
// when it judged none.
constexpr absl::string_view kAddToIntervals = R"sql(
INSERT INTO interval_counts AS i (site, interval_start, entity, offered, answered,
  answered_within_threshold, answer_wait_seconds, abandoned, short_abandoned,
  abandoned_within_threshold, abandoned_after_threshold, handled, handle_seconds, transfers,
  missing_wrap_ups, csat_answers, csat_satisfied, nps_answers, nps_promoters, nps_detractors,
  handling_seconds, available_seconds, service_level_threshold_seconds,
  short_abandon_threshold_seconds)
SELECT $1, to_timestamp($2::float8 / 1e6), e, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
  $15, $16, $17, $18, $19, $20, $21, $22, NULLIF($23::float8, -1), NULLIF($24::float8, -1)
FROM unnest($3::text[]) AS e
ON CONFLICT (site, interval_start, entity) DO UPDATE SET
  offered = i.offered + EXCLUDED.offered,
  answered = i.answered + EXCLUDED.answered,
  answered_within_threshold = i.answered_within_threshold + EXCLUDED.answered_within_threshold,
  answer_wait_seconds = i.answer_wait_seconds + EXCLUDED.answer_wait_seconds,
  abandoned = i.abandoned + EXCLUDED.abandoned,
  short_abandoned = i.short_abandoned + EXCLUDED.short_abandoned,
  abandoned_within_threshold = i.abandoned_within_threshold + EXCLUDED.abandoned_within_threshold,
  abandoned_after_threshold = i.abandoned_after_threshold + EXCLUDED.abandoned_after_threshold,
  handled = i.handled + EXCLUDED.handled,
  handle_seconds = i.handle_seconds + EXCLUDED.handle_seconds,
  transfers = i.transfers + EXCLUDED.transfers,
  missing_wrap_ups = i.missing_wrap_ups + EXCLUDED.missing_wrap_ups,
  csat_answers = i.csat_answers + EXCLUDED.csat_answers,
  csat_satisfied = i.csat_satisfied + EXCLUDED.csat_satisfied,
  nps_answers = i.nps_answers + EXCLUDED.nps_answers,
  nps_promoters = i.nps_promoters + EXCLUDED.nps_promoters,
  nps_detractors = i.nps_detractors + EXCLUDED.nps_detractors,
  handling_seconds = i.handling_seconds + EXCLUDED.handling_seconds,
  available_seconds = i.available_seconds + EXCLUDED.available_seconds,
  mixed = i.mixed OR (i.service_level_threshold_seconds IS NOT NULL
    AND EXCLUDED.service_level_threshold_seconds IS NOT NULL
    AND (i.service_level_threshold_seconds <> EXCLUDED.service_level_threshold_seconds
         OR i.short_abandon_threshold_seconds <> EXCLUDED.short_abandon_threshold_seconds)),
  service_level_threshold_seconds =
    COALESCE(i.service_level_threshold_seconds, EXCLUDED.service_level_threshold_seconds),
  short_abandon_threshold_seconds =
    COALESCE(i.short_abandon_threshold_seconds, EXCLUDED.short_abandon_threshold_seconds),
  updated_at = now()
)sql";

double Seconds(const google::protobuf::Duration& duration) {
  return static_cast<double>(duration.seconds()) + duration.nanos() / 1e9;
}

int64_t EventMicros(const Event& event) {
  return event.has_occurred_at() ? common::MicrosFromTimestamp(event.occurred_at())
                                 : absl::ToUnixMicros(absl::Now());
}

// The columns one event sets; 0 (times) and -1 (seconds) mean "not set by this event".
struct FactUpdate {
  const events::v1::CallContext* call = nullptr;
  int64_t offered_at = 0;
  int64_t answered_at = 0;
  double answer_wait = -1;
  int64_t abandoned_at = 0;
  double abandon_wait = -1;
  int64_t handled_at = 0;
  double handle_seconds = -1;
  int64_t transferred_at = 0;
  int64_t wrap_up_timed_out_at = 0;
  int64_t failed_at = 0;
};

// The facts an event sets; nullopt-like (call == nullptr) for events that change no figure.
FactUpdate UpdateOf(const Event& event) {
  FactUpdate update;
  const int64_t at = EventMicros(event);
  switch (event.payload_case()) {
    case Event::kCallOffered:
      update.call = &event.call_offered().call();
      break;
    case Event::kCallQueued:
      update.call = &event.call_queued().call();
      if (!event.call_queued().requeued()) update.offered_at = at;
      break;
    case Event::kCallConnected:
      update.call = &event.call_connected().call();
      update.answered_at = at;
      update.answer_wait = Seconds(event.call_connected().wait_time());
      break;
    case Event::kCallAbandoned:
      update.call = &event.call_abandoned().call();
      update.abandoned_at = at;
      update.abandon_wait = Seconds(event.call_abandoned().wait_time());
      break;
    case Event::kCallCompleted: {
      const events::v1::CallCompleted& completed = event.call_completed();
      update.call = &completed.call();
      update.handled_at = at;
      update.handle_seconds = Seconds(completed.talk_time()) + Seconds(completed.hold_time()) +
                              Seconds(completed.wrap_up_time());
      break;
    }
    case Event::kCallTransferred:
      update.call = &event.call_transferred().call();
      update.transferred_at = at;
      break;
    case Event::kWrapUpTimedOut:
      update.call = &event.wrap_up_timed_out().call();
      update.wrap_up_timed_out_at = at;
      break;
    case Event::kCallFailed:
      update.call = &event.call_failed().call();
      update.failed_at = at;
      break;
    default:
      break;
  }
  if (update.call != nullptr && update.call->call().empty()) update.call = nullptr;
  return update;
}

// "queues/{id}" (or "sites/{site}") with a non-empty id of safe characters.
bool ValidName(absl::string_view name, absl::string_view prefix) {
  if (!absl::StartsWith(name, prefix)) return false;
  absl::string_view id = name.substr(prefix.size());
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ':')) {
      return false;
    }
  }
  return true;
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The start of the 15-minute interval (UTC-aligned) holding `micros`.
int64_t IntervalOf(int64_t micros) {
  constexpr int64_t kLength = 15 * 60 * int64_t{1000000};
  int64_t start = micros - micros % kLength;
  if (micros % kLength < 0) start -= kLength;
  return start;
}

// Adds `delta` to the interval of `at` for each of `entities` ("" the site; empty names are
// skipped); `judged` are the thresholds the delta's calls were judged with, if any.
void AddToIntervals(pqxx::work& txn, const std::string& site, int64_t at,
                    const std::vector<std::string>& entities, const WindowCounts& d,
                    const QueueThresholds* judged) {
  std::vector<std::string> names;
  for (size_t i = 0; i < entities.size(); ++i) {
    if (i == 0 || !entities[i].empty()) names.push_back(entities[i]);
  }
  txn.exec_params(std::string(kAddToIntervals), site, IntervalOf(at), common::PgTextArray(names),
                  d.offered, d.answered, d.answered_within_threshold, d.answer_wait_seconds,
                  d.abandoned, d.short_abandoned, d.abandoned_within_threshold,
                  d.abandoned_after_threshold, d.handled, d.handle_seconds, d.transfers,
                  d.missing_wrap_ups, d.csat_answers, d.csat_satisfied, d.nps_answers,
                  d.nps_promoters, d.nps_detractors, d.handling_seconds, d.available_seconds,
                  judged ? absl::ToDoubleSeconds(judged->service_level) : -1.0,
                  judged ? absl::ToDoubleSeconds(judged->short_abandon) : -1.0);
}

}  // namespace

const std::vector<v1::MetricWindow>& LiveWindows() {
  static const std::vector<v1::MetricWindow> windows = {
      v1::METRIC_WINDOW_ROLLING_15_MINUTES, v1::METRIC_WINDOW_ROLLING_30_MINUTES,
      v1::METRIC_WINDOW_ROLLING_60_MINUTES, v1::METRIC_WINDOW_TODAY};
  return windows;
}

absl::StatusOr<Selection> ParseFilter(const v1::MetricsFilter& filter, const std::string& site) {
  Selection selection;
  const v1::EntityFilter& entities = filter.entities();
  const std::string own_site = absl::StrCat("sites/", site);
  bool own_site_allowed = entities.sites().empty();
  for (int i = 0; i < entities.sites_size(); ++i) {
    const std::string& name = entities.sites(i);
    if (name != "sites/-" && !ValidName(name, "sites/")) {
      return Invalid(absl::StrCat("filter.entities.sites[", i, "]"),
                     absl::StrCat("malformed site name \"", name, "\""));
    }
    if (name == "sites/-" || name == own_site) own_site_allowed = true;
  }
  const std::pair<const google::protobuf::RepeatedPtrField<std::string>*, const char*> kinds[] = {
      {&entities.queues(), "queues"},
      {&entities.teams(), "teams"},
      {&entities.operators(), "operators"}};
  for (const auto& [names, kind] : kinds) {
    const std::string prefix = absl::StrCat(kind, "/");
    for (int i = 0; i < names->size(); ++i) {
      const std::string& name = names->Get(i);
      if (name == absl::StrCat(prefix, "-")) {
        selection.wildcards.insert(prefix);
      } else if (ValidName(name, prefix)) {
        selection.named.insert(name);
      } else {
        return Invalid(absl::StrCat("filter.entities.", kind, "[", i, "]"),
                       absl::StrCat("malformed ", kind, " name \"", name, "\""));
      }
    }
  }
  if (entities.include_team_operators()) {
    for (const std::string& team : entities.teams()) selection.team_operators_of.insert(team);
  }
  const bool nothing_named =
      entities.queues().empty() && entities.teams().empty() && entities.operators().empty();
  if (entities.sites().empty() && nothing_named) {
    selection.site = true;
    selection.wildcards.insert("queues/");
  } else {
    selection.site = !entities.sites().empty() && own_site_allowed;
    if (!own_site_allowed) {
      // Another site's figures are kept by that site's replicas.
      selection.wildcards.clear();
      selection.named.clear();
      selection.team_operators_of.clear();
    }
  }
  std::set<const BuiltMetric*> wanted;
  for (int i = 0; i < filter.metrics_size(); ++i) {
    const std::string& name = filter.metrics(i);
    const std::string field = absl::StrCat("filter.metrics[", i, "]");
    const BuiltMetric* metric = nullptr;
    if (absl::StartsWith(name, "metricDefinitions/")) {
      metric = FindDefinition(name);
      if (metric == nullptr) {
        return Invalid(field,
                       absl::StrCat("unknown definition \"", name, "\" (or one not computed yet)"));
      }
    } else if (!IsContractMetric(name)) {
      return Invalid(field, absl::StrCat("unknown metric \"", name, "\""));
    } else {
      metric = DefaultDefinition(name);
      if (metric == nullptr) {
        return absl::UnimplementedError(
            absl::StrCat(field, ": metric \"", name, "\" is not computed yet"));
      }
    }
    wanted.insert(metric);
  }
  selection.service_level_by_key = filter.metrics().empty();
  for (const std::string& name : filter.metrics()) {
    if (name == "service_level") selection.service_level_by_key = true;
  }
  for (const BuiltMetric& metric : BuiltMetrics()) {
    if (wanted.empty() ? metric.definition.is_default() : wanted.contains(&metric)) {
      selection.metrics.push_back(&metric);
    }
  }
  std::set<int> windows;
  for (int i = 0; i < filter.windows_size(); ++i) {
    const v1::MetricWindow window = filter.windows(i);
    if (window == v1::METRIC_WINDOW_UNSPECIFIED || window == v1::METRIC_WINDOW_REPORT_PERIOD ||
        !v1::MetricWindow_IsValid(window)) {
      return Invalid(absl::StrCat("filter.windows[", i, "]"), "not a live window");
    }
    windows.insert(window);
  }
  for (v1::MetricWindow window : LiveWindows()) {
    if (windows.empty() || windows.contains(window)) selection.windows.push_back(window);
  }
  selection.current = windows.empty() || windows.contains(v1::METRIC_WINDOW_CURRENT);
  return selection;
}

namespace {

absl::Time WindowStart(v1::MetricWindow window, absl::Time now, absl::TimeZone zone) {
  switch (window) {
    case v1::METRIC_WINDOW_ROLLING_15_MINUTES:
      return now - absl::Minutes(15);
    case v1::METRIC_WINDOW_ROLLING_30_MINUTES:
      return now - absl::Minutes(30);
    case v1::METRIC_WINDOW_ROLLING_60_MINUTES:
      return now - absl::Minutes(60);
    default: {
      const absl::CivilDay today = absl::ToCivilDay(now, zone);
      return absl::FromCivil(today, zone);
    }
  }
}

// The columns of one window in kWindowCounts.
constexpr int kCountColumns = 12;

// kWindowCounts for the four live windows at once: the same 12 columns per window (starts $8 to
// $11, in LiveWindows() order), over the facts of the earliest wanted window ($2).
const std::string& AllWindowCountsSql() {
  static const std::string* sql = [] {
    const std::string text(kWindowCounts);
    const size_t begin = text.find("  count(*) FILTER (WHERE offered_at >= w.s),");
    const size_t end = text.find("FROM call_facts");
    std::string per_window = text.substr(begin, end - begin);
    while (!per_window.empty() && per_window.back() == '\n') per_window.pop_back();
    std::string select;
    for (int k = 1; k <= 4; ++k) {
      absl::StrAppend(&select, k == 1 ? "" : ",\n",
                      absl::StrReplaceAll(per_window, {{"w.s", absl::StrCat("w.s", k)}}));
    }
    std::string head = text.substr(0, begin);
    head = absl::StrReplaceAll(
        head, {{"SELECT to_timestamp($2::float8 / 1e6) AS s)",
                "SELECT to_timestamp($2::float8 / 1e6) AS s, to_timestamp($8::float8 / 1e6) AS s1, "
                "to_timestamp($9::float8 / 1e6) AS s2, to_timestamp($10::float8 / 1e6) AS s3, "
                "to_timestamp($11::float8 / 1e6) AS s4)"}});
    return new std::string(absl::StrCat(head, select, "\n", text.substr(end)));
  }();
  return *sql;
}

WindowCounts CountsOf(const pqxx::row& row, int kFirst) {
  WindowCounts c;
  c.offered = row[kFirst].as<int64_t>();
  c.answered = row[kFirst + 1].as<int64_t>();
  c.answered_within_threshold = row[kFirst + 2].as<int64_t>();
  c.answer_wait_seconds = row[kFirst + 3].as<double>();
  c.abandoned = row[kFirst + 4].as<int64_t>();
  c.short_abandoned = row[kFirst + 5].as<int64_t>();
  c.abandoned_within_threshold = row[kFirst + 6].as<int64_t>();
  c.abandoned_after_threshold = row[kFirst + 7].as<int64_t>();
  c.handled = row[kFirst + 8].as<int64_t>();
  c.handle_seconds = row[kFirst + 9].as<double>();
  c.transfers = row[kFirst + 10].as<int64_t>();
  c.missing_wrap_ups = row[kFirst + 11].as<int64_t>();
  return c;
}

void Add(WindowCounts& into, const WindowCounts& more) {
  into.offered += more.offered;
  into.answered += more.answered;
  into.answered_within_threshold += more.answered_within_threshold;
  into.answer_wait_seconds += more.answer_wait_seconds;
  into.abandoned += more.abandoned;
  into.short_abandoned += more.short_abandoned;
  into.abandoned_within_threshold += more.abandoned_within_threshold;
  into.abandoned_after_threshold += more.abandoned_after_threshold;
  into.handled += more.handled;
  into.handle_seconds += more.handle_seconds;
  into.transfers += more.transfers;
  into.missing_wrap_ups += more.missing_wrap_ups;
  into.csat_answers += more.csat_answers;
  into.csat_satisfied += more.csat_satisfied;
  into.nps_answers += more.nps_answers;
  into.nps_promoters += more.nps_promoters;
  into.nps_detractors += more.nps_detractors;
  into.handling_seconds += more.handling_seconds;
  into.available_seconds += more.available_seconds;
}

v1::ScopeType ScopeOf(absl::string_view entity) {
  if (entity.empty()) return v1::SCOPE_TYPE_SITE;
  if (absl::StartsWith(entity, "queues/")) return v1::SCOPE_TYPE_QUEUE;
  if (absl::StartsWith(entity, "teams/")) return v1::SCOPE_TYPE_TEAM;
  return v1::SCOPE_TYPE_OPERATOR;
}

}  // namespace

MetricsStore::MetricsStore(common::PgPool* pg, MetricsStoreOptions options)
    : pg_(*pg), options_(std::move(options)), settings_(pg, options_.site, options_.thresholds) {}

QueueThresholds MetricsStore::ThresholdsFor(absl::string_view queue) const {
  absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> snapshot = settings_.Snapshot();
  if (!snapshot.ok()) return options_.thresholds;
  return (*snapshot)->Effective(std::string(queue)).thresholds;
}

absl::Status MetricsStore::ApplyOperatorState(const Event& event) {
  const events::v1::OperatorStateChanged& changed = event.operator_state_changed();
  if (changed.operator_().empty()) return absl::OkStatus();
  const std::string site = event.site().empty() ? options_.site : event.site();
  return pg_.Transact([&](pqxx::work& txn) -> absl::Status {
    if (!event.id().empty()) {
      CC_ASSIGN_OR_RETURN(bool first, common::MarkEventApplied(txn, event.id()));
      if (!first) return absl::OkStatus();
    }
    std::vector<std::string> queues(changed.queues().begin(), changed.queues().end());
    txn.exec_params(
        "INSERT INTO operator_states AS o (site, operator, team, state, since, reason_code, call, "
        "queues) VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1e6), $6, $7, $8::text[]) "
        "ON CONFLICT (site, operator) DO UPDATE SET team = EXCLUDED.team, state = "
        "EXCLUDED.state, since = EXCLUDED.since, reason_code = EXCLUDED.reason_code, call = "
        "EXCLUDED.call, queues = EXCLUDED.queues WHERE o.since <= EXCLUDED.since",
        site, changed.operator_(), changed.team(), static_cast<int>(changed.state()),
        EventMicros(event), changed.reason_code(), changed.call(), common::PgTextArray(queues));
    const double seconds = Seconds(changed.previous_state_duration());
    if (changed.previous_state() != calls::v1::OPERATOR_STATE_UNSPECIFIED && seconds > 0) {
      txn.exec_params(
          "INSERT INTO operator_spans (site, operator, team, queues, state, ended_at, seconds) "
          "VALUES ($1, $2, $3, $4::text[], $5, to_timestamp($6::float8 / 1e6), $7)",
          site, changed.operator_(), changed.team(), common::PgTextArray(queues),
          static_cast<int>(changed.previous_state()), EventMicros(event), seconds);
      const calls::v1::OperatorState ended = changed.previous_state();
      WindowCounts delta;
      if (ended == calls::v1::OPERATOR_STATE_ON_CALL ||
          ended == calls::v1::OPERATOR_STATE_WRAP_UP) {
        delta.handling_seconds = seconds;
      } else if (ended == calls::v1::OPERATOR_STATE_AVAILABLE ||
                 ended == calls::v1::OPERATOR_STATE_RESERVED) {
        delta.available_seconds = seconds;
      }
      if (delta.handling_seconds > 0 || delta.available_seconds > 0) {
        std::vector<std::string> entities = {"", changed.operator_(), changed.team()};
        entities.insert(entities.end(), queues.begin(), queues.end());
        AddToIntervals(txn, site, EventMicros(event), entities, delta, nullptr);
      }
    }
    return absl::OkStatus();
  });
}

absl::Status MetricsStore::ApplySurveyResponse(const Event& event) {
  const events::v1::SurveyResponseSubmitted& submitted = event.survey_response_submitted();
  if (submitted.response().empty() || submitted.scores().empty()) return absl::OkStatus();
  int csat = 0, satisfied = 0, nps = 0, promoters = 0, detractors = 0;
  for (const events::v1::ScoredAnswer& answer : submitted.scores()) {
    if (answer.scale() == events::v1::SCORE_SCALE_RATING_1_5 && answer.value() >= 1 &&
        answer.value() <= 5) {
      ++csat;
      if (answer.value() >= 4) ++satisfied;
    } else if (answer.scale() == events::v1::SCORE_SCALE_NPS_0_10 && answer.value() >= 0 &&
               answer.value() <= 10) {
      ++nps;
      if (answer.value() >= 9) ++promoters;
      if (answer.value() <= 6) ++detractors;
    }
  }
  const std::string site = event.site().empty() ? options_.site : event.site();
  return pg_.Transact([&](pqxx::work& txn) -> absl::Status {
    if (!event.id().empty()) {
      CC_ASSIGN_OR_RETURN(bool first, common::MarkEventApplied(txn, event.id()));
      if (!first) return absl::OkStatus();
    }
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 8))",
                    absl::StrCat(site, "/", submitted.response()));
    pqxx::result before = txn.exec_params(
        "SELECT (extract(epoch FROM submitted_at) * 1e6)::bigint, queue, team, operator, "
        "csat_answers, csat_satisfied, nps_answers, nps_promoters, nps_detractors FROM "
        "survey_scores WHERE site = $1 AND response = $2",
        site, submitted.response());
    pqxx::result changed = txn.exec_params(
        "INSERT INTO survey_scores AS r (site, response, queue, team, operator, submitted_at, "
        "csat_answers, csat_satisfied, nps_answers, nps_promoters, nps_detractors) VALUES ($1, "
        "$2, $3, $4, $5, to_timestamp($6::float8 / 1e6), $7, $8, $9, $10, $11) ON CONFLICT "
        "(site, response) DO UPDATE SET queue = EXCLUDED.queue, team = EXCLUDED.team, operator "
        "= EXCLUDED.operator, submitted_at = EXCLUDED.submitted_at, csat_answers = "
        "EXCLUDED.csat_answers, csat_satisfied = EXCLUDED.csat_satisfied, nps_answers = "
        "EXCLUDED.nps_answers, nps_promoters = EXCLUDED.nps_promoters, nps_detractors = "
        "EXCLUDED.nps_detractors WHERE r.submitted_at <= EXCLUDED.submitted_at RETURNING 1",
        site, submitted.response(), submitted.queue(), submitted.team(), submitted.operator_(),
        EventMicros(event), csat, satisfied, nps, promoters, detractors);
    if (changed.empty()) return absl::OkStatus();  // an older submission than the stored one
    // The intervals: the earlier submission's answers leave its interval, the new ones count in
    // theirs.
    if (!before.empty()) {
      const pqxx::row old = before[0];
      WindowCounts minus;
      minus.csat_answers = -old[4].as<int64_t>();
      minus.csat_satisfied = -old[5].as<int64_t>();
      minus.nps_answers = -old[6].as<int64_t>();
      minus.nps_promoters = -old[7].as<int64_t>();
      minus.nps_detractors = -old[8].as<int64_t>();
      AddToIntervals(
          txn, site, old[0].as<int64_t>(),
          {"", old[1].as<std::string>(), old[2].as<std::string>(), old[3].as<std::string>()}, minus,
          nullptr);
    }
    WindowCounts plus;
    plus.csat_answers = csat;
    plus.csat_satisfied = satisfied;
    plus.nps_answers = nps;
    plus.nps_promoters = promoters;
    plus.nps_detractors = detractors;
    AddToIntervals(txn, site, EventMicros(event),
                   {"", submitted.queue(), submitted.team(), submitted.operator_()}, plus, nullptr);
    return absl::OkStatus();
  });
}

absl::Status MetricsStore::ApplyEvent(const Event& event) {
  if (event.payload_case() == Event::kOperatorStateChanged) return ApplyOperatorState(event);
  if (event.payload_case() == Event::kSurveyResponseSubmitted) return ApplySurveyResponse(event);
  const FactUpdate update = UpdateOf(event);
  if (update.call == nullptr) return absl::OkStatus();
  const std::string site = event.site().empty() ? options_.site : event.site();
  const events::v1::CallContext& call = *update.call;
  // The settings in force, read before the transaction (not with a second connection inside).
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> settings, settings_.Snapshot());
  return pg_.Transact([&](pqxx::work& txn) -> absl::Status {
    if (!event.id().empty()) {
      CC_ASSIGN_OR_RETURN(bool first, common::MarkEventApplied(txn, event.id()));
      if (!first) return absl::OkStatus();
    }
    // One call's events are applied one at a time (two replicas may hold two of them), so that
    // each fact is added to its interval exactly once: when it is first set.
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
                    absl::StrCat(site, "/", call.call()));
    pqxx::result before = txn.exec_params(
        "SELECT offered_at IS NOT NULL, answered_at IS NOT NULL, abandoned_at IS NOT NULL, "
        "handled_at IS NOT NULL, transferred_at IS NOT NULL, wrap_up_timed_out_at IS NOT NULL "
        "FROM call_facts WHERE site = $1 AND call_id = $2",
        site, call.call());
    bool had[6] = {false, false, false, false, false, false};
    if (!before.empty()) {
      for (int i = 0; i < 6; ++i) had[i] = before[0][i].as<bool>();
    }
    pqxx::result after =
        txn.exec_params(absl::StrCat(kUpsertFacts, " RETURNING queue, team, operator, outbound"),
                        site, call.call(), call.queue(), call.team(), call.operator_(),
                        call.direction() == calls::v1::CALL_DIRECTION_OUTBOUND, update.offered_at,
                        update.answered_at, update.answer_wait, update.abandoned_at,
                        update.abandon_wait, update.handled_at, update.handle_seconds,
                        update.transferred_at, update.wrap_up_timed_out_at, update.failed_at);
    const std::string queue = after[0][0].as<std::string>();
    if (queue.empty() || after[0][3].as<bool>()) return absl::OkStatus();
    const QueueThresholds thresholds = settings->Effective(queue).thresholds;
    WindowCounts delta;
    int64_t at = 0;
    bool judged = false;
    if (update.offered_at != 0 && !had[0]) {
      delta.offered = 1;
      at = update.offered_at;
    } else if (update.answered_at != 0 && !had[1]) {
      JudgeAnswered(update.answer_wait, thresholds, &delta);
      at = update.answered_at;
      judged = true;
    } else if (update.abandoned_at != 0 && !had[2]) {
      JudgeAbandoned(update.abandon_wait, thresholds, &delta);
      at = update.abandoned_at;
      judged = true;
    } else if (update.handled_at != 0 && !had[3]) {
      delta.handled = 1;
      delta.handle_seconds = std::max(0.0, update.handle_seconds);
      at = update.handled_at;
    } else if (update.transferred_at != 0 && !had[4]) {
      delta.transfers = 1;
      at = update.transferred_at;
    } else if (update.wrap_up_timed_out_at != 0 && !had[5]) {
      delta.missing_wrap_ups = 1;
      at = update.wrap_up_timed_out_at;
    }
    if (at == 0) return absl::OkStatus();
    // A call is offered to a queue: offered counts for the site and the queue only (whatever
    // the order the call's events are applied in); the other facts for its team and operator
    // too.
    std::vector<std::string> entities = {"", queue};
    if (delta.offered == 0) {
      entities.push_back(after[0][1].as<std::string>());
      entities.push_back(after[0][2].as<std::string>());
      if (!entities[3].empty()) {
        txn.exec_params(
            "INSERT INTO operator_team_intervals (site, interval_start, operator, team) VALUES "
            "($1, to_timestamp($2::float8 / 1e6), $3, $4) ON CONFLICT DO NOTHING",
            site, IntervalOf(at), entities[3], entities[2]);
      }
    }
    AddToIntervals(txn, site, at, entities, delta, judged ? &thresholds : nullptr);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> MetricsStore::Prune(absl::Duration keep) {
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    pqxx::result deleted = txn.exec_params(
        "DELETE FROM call_facts WHERE site = $1 AND updated_at < now() - make_interval(secs => "
        "$2::float8)",
        options_.site, absl::ToDoubleSeconds(keep));
    // Which operators worked for a team is only read for TODAY.
    txn.exec_params(
        "DELETE FROM operator_team_intervals WHERE site = $1 AND interval_start < now() - "
        "make_interval(secs => $2::float8)",
        options_.site, absl::ToDoubleSeconds(keep));
    return static_cast<int64_t>(deleted.affected_rows());
  });
}

absl::StatusOr<LiveCounts> MetricsStore::Count(absl::Time now,
                                               const std::vector<v1::MetricWindow>& windows) const {
  LiveCounts counts{.now = now};
  CC_ASSIGN_OR_RETURN(counts.settings, settings_.Snapshot());
  const QueueThresholds site_thresholds = counts.settings->Effective("").thresholds;
  std::vector<std::string> own_queues;
  std::vector<double> own_t, own_short;
  for (const auto& [name, unused] : counts.settings->own) {
    if (!absl::StartsWith(name, "queues/")) continue;
    const QueueThresholds t = counts.settings->Effective(name).thresholds;
    own_queues.push_back(name);
    own_t.push_back(absl::ToDoubleSeconds(t.service_level));
    own_short.push_back(absl::ToDoubleSeconds(t.short_abandon));
  }
  auto float_array = [](const std::vector<double>& values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", absl::StrFormat("%.9g", values[i]));
    }
    return out + "}";
  };
  // TODAY is counted from the stored 15-minute intervals up to the interval holding the start of
  // the 60-minute window, and from the facts after it: so a refresh reads the last hour or so
  // of calls, not the whole day's.
  const int64_t today_start =
      absl::ToUnixMicros(WindowStart(v1::METRIC_WINDOW_TODAY, now, options_.site_time_zone));
  int64_t today_live_from = today_start;
  if (std::find(windows.begin(), windows.end(), v1::METRIC_WINDOW_TODAY) != windows.end() &&
      IntervalOf(today_start) == today_start) {
    today_live_from =
        std::max(today_start, IntervalOf(absl::ToUnixMicros(now - absl::Minutes(60))));
  }
  auto start_of = [&](v1::MetricWindow window) {
    return window == v1::METRIC_WINDOW_TODAY
               ? today_live_from
               : absl::ToUnixMicros(WindowStart(window, now, options_.site_time_zone));
  };
  CC_RETURN_IF_ERROR(pg_.Query([&](pqxx::nontransaction& query) -> absl::Status {
    // The calls of every window in one pass over the earliest window's facts.
    if (!windows.empty()) {
      const std::vector<v1::MetricWindow>& all = LiveWindows();
      std::vector<int64_t> starts;
      int64_t earliest = std::numeric_limits<int64_t>::max();
      for (v1::MetricWindow window : all) {
        starts.push_back(start_of(window));
        if (std::find(windows.begin(), windows.end(), window) != windows.end()) {
          earliest = std::min(earliest, starts.back());
        }
      }
      pqxx::result rows = query.exec_params(
          AllWindowCountsSql(), options_.site, earliest,
          absl::ToDoubleSeconds(site_thresholds.service_level),
          absl::ToDoubleSeconds(site_thresholds.short_abandon), common::PgTextArray(own_queues),
          float_array(own_t), float_array(own_short), starts[0], starts[1], starts[2], starts[3]);
      for (const pqxx::row& row : rows) {
        const std::string queue = row[0].as<std::string>();
        const std::string team = row[1].as<std::string>();
        const std::string op = row[2].as<std::string>();
        if (!op.empty()) counts.operator_teams[op].insert(team);
        // The site, the queue, and the team and operator when the call had them (an operator
        // who changed teams today has one row per team: summed).
        std::vector<const std::string*> entities = {nullptr, &queue};
        if (!team.empty()) entities.push_back(&team);
        if (!op.empty()) entities.push_back(&op);
        for (size_t k = 0; k < all.size(); ++k) {
          if (std::find(windows.begin(), windows.end(), all[k]) == windows.end()) continue;
          const WindowCounts window_counts = CountsOf(row, 3 + static_cast<int>(k) * kCountColumns);
          for (const std::string* entity : entities) {
            Add(counts.by_entity[entity == nullptr ? std::string() : *entity][all[k]],
                window_counts);
          }
        }
      }
    }
    if (today_live_from > today_start) {
      pqxx::result rows = query.exec_params(std::string(kTodayFromIntervals), options_.site,
                                            today_start, today_live_from);
      for (const pqxx::row& row : rows) {
        WindowCounts c = CountsOf(row, 1);
        c.csat_answers = row[13].as<int64_t>();
        c.csat_satisfied = row[14].as<int64_t>();
        c.nps_answers = row[15].as<int64_t>();
        c.nps_promoters = row[16].as<int64_t>();
        c.nps_detractors = row[17].as<int64_t>();
        c.handling_seconds = row[18].as<double>();
        c.available_seconds = row[19].as<double>();
        Add(counts.by_entity[row[0].as<std::string>()][v1::METRIC_WINDOW_TODAY], c);
      }
      pqxx::result teams = query.exec_params(std::string(kOperatorTeams), options_.site,
                                             today_start, today_live_from);
      for (const pqxx::row& row : teams) {
        counts.operator_teams[row[0].as<std::string>()].insert(row[1].as<std::string>());
      }
    }
    for (v1::MetricWindow window : windows) {
      const absl::Time start = absl::FromUnixMicros(start_of(window));
      pqxx::result occupancy = query.exec_params(std::string(kWindowOccupancy), options_.site,
                                                 absl::ToUnixMicros(start));
      for (const pqxx::row& row : occupancy) {
        const std::string entity = row[1].as<std::string>();
        if (row[0].as<std::string>() != "s" && entity.empty()) continue;
        WindowCounts& c = counts.by_entity[entity][window];
        c.handling_seconds += row[2].as<double>();
        c.available_seconds += row[3].as<double>();
      }
      pqxx::result scores =
          query.exec_params(std::string(kWindowScores), options_.site, absl::ToUnixMicros(start));
      for (const pqxx::row& row : scores) {
        const int grouping = row[0].as<int>();
        std::string entity;
        if (grouping == 3) entity = row[1].as<std::string>();
        if (grouping == 5) entity = row[2].as<std::string>();
        if (grouping == 4) entity = row[3].as<std::string>();
        if (grouping != 7 && entity.empty()) continue;
        WindowCounts& c = counts.by_entity[entity][window];
        c.csat_answers += row[4].as<int64_t>();
        c.csat_satisfied += row[5].as<int64_t>();
        c.nps_answers += row[6].as<int64_t>();
        c.nps_promoters += row[7].as<int64_t>();
        c.nps_detractors += row[8].as<int64_t>();
      }
    }
    // Calls waiting now per queue: queued today, not yet answered, abandoned, failed or ended.
    pqxx::result waiting = query.exec_params(
        "SELECT queue, count(*), (extract(epoch FROM min(offered_at)) * 1e6)::bigint "
        "FROM call_facts WHERE site = $1 AND offered_at >= to_timestamp($2::float8 / 1e6) "
        "AND answered_at IS NULL AND abandoned_at IS NULL AND failed_at IS NULL "
        "AND transferred_at IS NULL AND handled_at IS NULL AND queue <> '' AND NOT outbound "
        "GROUP BY ROLLUP (queue)",
        options_.site, absl::ToUnixMicros(now - absl::Hours(24)));
    for (const pqxx::row& row : waiting) {
      if (row[2].is_null()) continue;  // the total of no rows
      const std::string entity = row[0].is_null() ? "" : row[0].as<std::string>();
      OperatorGauges& gauges = counts.gauges[entity];
      gauges.calls_waiting = row[1].as<int64_t>();
      gauges.longest_wait_seconds =
          std::max(0.0, absl::ToDoubleSeconds(now - absl::FromUnixMicros(row[2].as<int64_t>())));
    }
    pqxx::result operators = query.exec_params(
        "SELECT operator, team, state, (extract(epoch FROM since) * 1e6)::bigint, reason_code, "
        "call, queues FROM operator_states WHERE site = $1 AND state <> $2",
        options_.site, static_cast<int>(calls::v1::OPERATOR_STATE_OFFLINE));
    for (const pqxx::row& row : operators) {
      v1::OperatorStatus status;
      const std::string name = row[0].as<std::string>();
      status.set_team(row[1].as<std::string>());
      status.set_state(static_cast<calls::v1::OperatorState>(row[2].as<int>()));
      *status.mutable_state_since() = common::TimestampFromMicros(row[3].as<int64_t>());
      status.set_reason_code(row[4].as<std::string>());
      status.set_call(row[5].as<std::string>());
      auto array = row[6].as_array();
      for (auto item = array.get_next(); item.first != pqxx::array_parser::done;
           item = array.get_next()) {
        if (item.first == pqxx::array_parser::string_value) status.add_queues(item.second);
      }
      std::vector<std::string> scopes = {""};
      if (!status.team().empty()) scopes.push_back(status.team());
      for (const std::string& queue : status.queues()) scopes.push_back(queue);
      for (const std::string& scope : scopes) {
        OperatorGauges& gauges = counts.gauges[scope];
        ++gauges.logged_in;
        switch (status.state()) {
          case calls::v1::OPERATOR_STATE_AVAILABLE:
            ++gauges.available;
            break;
          case calls::v1::OPERATOR_STATE_RESERVED:
            ++gauges.reserved;
            break;
          case calls::v1::OPERATOR_STATE_ON_CALL:
            ++gauges.on_call;
            break;
          case calls::v1::OPERATOR_STATE_WRAP_UP:
            ++gauges.wrap_up;
            break;
          case calls::v1::OPERATOR_STATE_NOT_READY:
            ++gauges.not_ready;
            break;
          default:
            break;
        }
      }
      if (!status.team().empty()) counts.operator_teams[name].insert(status.team());
      counts.operators[name] = std::move(status);
    }
    return absl::OkStatus();
  }));
  return counts;
}

v1::GetCurrentMetricsResponse MetricsStore::Render(const LiveCounts& counts,
                                                   const Selection& selection,
                                                   bool include_definitions) const {
  v1::GetCurrentMetricsResponse response;
  *response.mutable_data_time() = common::TimestampFromTime(counts.now);
  if (include_definitions) {
    for (const BuiltMetric* metric : selection.metrics) {
      *response.add_definitions() = metric->definition;
    }
  }
  // Entities: "" for the site, then the others by name.
  std::set<std::string> entities = selection.named;
  if (selection.site) entities.insert("");
  auto add_matching = [&](const std::string& entity) {
    for (const std::string& prefix : selection.wildcards) {
      if (absl::StartsWith(entity, prefix)) entities.insert(entity);
    }
  };
  for (const auto& [entity, unused] : counts.by_entity) add_matching(entity);
  for (const auto& [entity, unused] : counts.gauges) add_matching(entity);
  for (const auto& [entity, unused] : counts.operators) add_matching(entity);
  for (const auto& [operator_name, teams] : counts.operator_teams) {
    for (const std::string& team : teams) {
      if (selection.team_operators_of.contains(team) ||
          (selection.team_operators_of.contains("teams/-") && !team.empty())) {
        entities.insert(operator_name);
      }
    }
  }
  const std::string site_name = absl::StrCat("sites/", options_.site);
  const std::map<int, WindowCounts> none;
  EffectiveSettings default_settings;
  default_settings.thresholds = options_.thresholds;
  default_settings.service_level = DefaultDefinition("service_level");
  const bool any_queue_differs = counts.settings != nullptr && counts.settings->AnyQueueDiffers();
  for (const std::string& queue : entities) {
    auto found_entity = counts.by_entity.find(queue);
    const std::map<int, WindowCounts>& by_window =
        found_entity == counts.by_entity.end() ? none : found_entity->second;
    v1::EntityMetrics* entity = response.add_entities();
    entity->set_entity(queue.empty() ? site_name : queue);
    entity->set_scope(ScopeOf(queue));
    entity->set_site(site_name);
    if (ScopeOf(queue) == v1::SCOPE_TYPE_OPERATOR) {
      if (auto status = counts.operators.find(queue); status != counts.operators.end()) {
        *entity->mutable_operator_status() = status->second;
      } else {
        entity->mutable_operator_status()->set_state(calls::v1::OPERATOR_STATE_OFFLINE);
      }
    } else if (selection.current) {
      auto found = counts.gauges.find(queue);
      const OperatorGauges gauges = found == counts.gauges.end() ? OperatorGauges{} : found->second;
      for (const BuiltMetric* metric : selection.metrics) {
        if (metric->definition.kind() != v1::METRIC_KIND_GAUGE) continue;
        v1::MetricValue* value = entity->add_values();
        *value = GaugeValueOf(*metric, gauges);
        *value->mutable_window_start() = response.data_time();
        *value->mutable_data_time() = response.data_time();
      }
    }
    // Queues use their own settings; the site, teams and operators the site's, marked mixed
    // when some queue's formula differs (their calls were judged with their queue's).
    const bool is_queue = ScopeOf(queue) == v1::SCOPE_TYPE_QUEUE;
    const EffectiveSettings settings = counts.settings == nullptr
                                           ? default_settings
                                           : counts.settings->Effective(is_queue ? queue : "");
    const bool mixed = !is_queue && any_queue_differs;
    for (v1::MetricWindow window : selection.windows) {
      auto found = by_window.find(window);
      const WindowCounts window_counts = found == by_window.end() ? WindowCounts{} : found->second;
      const auto start =
          common::TimestampFromTime(WindowStart(window, counts.now, options_.site_time_zone));
      for (const BuiltMetric* chosen : selection.metrics) {
        if (chosen->definition.kind() == v1::METRIC_KIND_GAUGE) continue;
        const BuiltMetric* metric = chosen;
        if (selection.service_level_by_key && chosen->key == "service_level" &&
            chosen->definition.is_default()) {
          metric = settings.service_level;
        }
        v1::MetricValue* value = entity->add_values();
        *value = ValueOf(*metric, window_counts, settings.thresholds);
        if (mixed && value->has_parameters()) {
          value->set_mixed(true);
          value->clear_definition();
          value->clear_parameters();
        }
        value->set_window(window);
        *value->mutable_window_start() = start;
        *value->mutable_data_time() = response.data_time();
      }
    }
  }
  return response;
}

absl::StatusOr<v1::GetCurrentMetricsResponse> MetricsStore::CurrentMetrics(
    const v1::GetCurrentMetricsRequest& request, absl::Time now) const {
  CC_ASSIGN_OR_RETURN(Selection selection, ParseFilter(request.filter(), options_.site));
  LiveCounts counts{.now = now};
  if (selection.site || !selection.wildcards.empty() || !selection.named.empty()) {
    CC_ASSIGN_OR_RETURN(counts, Count(now, selection.windows));
  }
  return Render(counts, selection, request.include_definitions());
}

}  // namespace contactcentre::analytics
