#include "services/analytics/report.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::analytics {
namespace {

constexpr absl::Duration kInterval = absl::Minutes(15);

// Sums of the stored intervals per (period, entity); $1 site, [$2, $3) micros, $4 named
// entities (empty: all of the scope), $5 the scope prefix ("" the site rows), $6 whether rows
// are per entity, $7 the time grouping, $8 the time zone.
constexpr absl::string_view kReportQuery = R"sql(
SELECT (extract(epoch FROM CASE $7::text
          WHEN 'interval' THEN interval_start
          WHEN 'hour' THEN date_trunc('hour', interval_start, $8::text)
          WHEN 'day' THEN date_trunc('day', interval_start, $8::text)
          ELSE to_timestamp(0) END) * 1e6)::bigint,
  CASE WHEN $6::boolean THEN entity ELSE '' END,
  sum(offered), sum(answered), sum(answered_within_threshold), sum(answer_wait_seconds),
  sum(abandoned), sum(short_abandoned), sum(abandoned_within_threshold),
  sum(abandoned_after_threshold), sum(handled), sum(handle_seconds), sum(transfers),
  sum(missing_wrap_ups), sum(csat_answers), sum(csat_satisfied), sum(nps_answers),
  sum(nps_promoters), sum(nps_detractors), sum(handling_seconds), sum(available_seconds),
  bool_or(mixed) OR count(DISTINCT service_level_threshold_seconds) > 1
    OR count(DISTINCT short_abandon_threshold_seconds) > 1,
  min(service_level_threshold_seconds), min(short_abandon_threshold_seconds)
FROM interval_counts
WHERE site = $1 AND interval_start >= to_timestamp($2::float8 / 1e6)
  AND interval_start < to_timestamp($3::float8 / 1e6)
  AND CASE WHEN $5::text = '' THEN entity = ''
      ELSE starts_with(entity, $5::text)
           AND (cardinality($4::text[]) = 0 OR entity = ANY($4::text[])) END
GROUP BY 1, 2
)sql";

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

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

struct Sums {
  WindowCounts counts;
  bool mixed = false;
  double threshold = -1;  // seconds; -1 when no call was judged
  double short_abandon = -1;
};

bool AllZero(const WindowCounts& c) {
  return c.offered == 0 && c.answered == 0 && c.abandoned == 0 && c.short_abandoned == 0 &&
         c.handled == 0 && c.transfers == 0 && c.missing_wrap_ups == 0 && c.csat_answers == 0 &&
         c.nps_answers == 0 && c.handling_seconds == 0 && c.available_seconds == 0;
}

std::string FormatNumber(double value) {
  if (value == static_cast<double>(static_cast<int64_t>(value)) && std::abs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  std::string text = absl::StrFormat("%.6f", value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

absl::Time FloorToInterval(absl::Time time) {
  const int64_t micros = absl::ToUnixMicros(time);
  const int64_t length = absl::ToInt64Microseconds(kInterval);
  int64_t start = micros - micros % length;
  if (micros % length < 0) start -= length;
  return absl::FromUnixMicros(start);
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

absl::StatusOr<v1::GetReportResponse> GetReport(common::PgPool& pg, const ReportOptions& options,
                                                const v1::GetReportRequest& request,
                                                absl::Time now) {
  // The range.
  if (!request.has_range() || !request.range().has_start_time()) {
    return Invalid("range.start_time", "required");
  }
  if (!request.range().has_end_time()) return Invalid("range.end_time", "required");
  const absl::Time raw_start = common::TimeFromTimestamp(request.range().start_time());
  const absl::Time raw_end = common::TimeFromTimestamp(request.range().end_time());
  if (raw_end <= raw_start) return Invalid("range.end_time", "must be after range.start_time");
  const absl::Time start = FloorToInterval(raw_start);
  absl::Time end = FloorToInterval(raw_end);
  if (end < raw_end) end += kInterval;

  // Groupings.
  std::string time_grouping = "none";
  v1::ReportGrouping entity_grouping = v1::REPORT_GROUPING_UNSPECIFIED;
  for (int i = 0; i < request.group_by_size(); ++i) {
    const v1::ReportGrouping grouping = request.group_by(i);
    const std::string field = absl::StrCat("group_by[", i, "]");
    if (grouping == v1::REPORT_GROUPING_INTERVAL || grouping == v1::REPORT_GROUPING_HOUR ||
        grouping == v1::REPORT_GROUPING_DAY) {
      if (time_grouping != "none") return Invalid(field, "at most one time grouping");
      time_grouping = grouping == v1::REPORT_GROUPING_INTERVAL ? "interval"
                      : grouping == v1::REPORT_GROUPING_HOUR   ? "hour"
                                                               : "day";
    } else if (grouping == v1::REPORT_GROUPING_QUEUE || grouping == v1::REPORT_GROUPING_TEAM ||
               grouping == v1::REPORT_GROUPING_OPERATOR || grouping == v1::REPORT_GROUPING_SITE) {
      if (entity_grouping != v1::REPORT_GROUPING_UNSPECIFIED) {
        return Invalid(field, "at most one entity grouping");
      }
      entity_grouping = grouping;
    } else {
      return Invalid(field, "unknown grouping");
    }
  }
  const absl::Duration longest =
      time_grouping == "interval" ? absl::Hours(24 * 31) : absl::Hours(24 * 400);
  if (end - start > longest) {
    return Invalid("range", time_grouping == "interval" ? "at most 31 days with INTERVAL grouping"
                                                        : "at most 400 days");
  }

  // Entities: one scope (besides sites, which only restrict).
  const v1::EntityFilter& filter = request.entities();
  const std::string own_site = absl::StrCat("sites/", options.site);
  bool own_site_selected = filter.sites().empty();
  for (int i = 0; i < filter.sites_size(); ++i) {
    const std::string& name = filter.sites(i);
    if (name != "sites/-" && !ValidName(name, "sites/")) {
      return Invalid(absl::StrCat("entities.sites[", i, "]"),
                     absl::StrCat("malformed site name \"", name, "\""));
    }
    if (name == "sites/-" || name == own_site) own_site_selected = true;
  }
  std::string prefix;  // "" the site rows
  std::vector<std::string> named;
  const std::pair<const google::protobuf::RepeatedPtrField<std::string>*, const char*> kinds[] = {
      {&filter.queues(), "queues"}, {&filter.teams(), "teams"}, {&filter.operators(), "operators"}};
  for (const auto& [names, kind] : kinds) {
    if (names->empty()) continue;
    const std::string kind_prefix = absl::StrCat(kind, "/");
    if (!prefix.empty()) {
      return Invalid(absl::StrCat("entities.", kind),
                     "name entities of one scope only (a call counts once per scope)");
    }
    prefix = kind_prefix;
    for (int i = 0; i < names->size(); ++i) {
      const std::string& name = names->Get(i);
      if (name == absl::StrCat(kind_prefix, "-")) continue;
      if (!ValidName(name, kind_prefix)) {
        return Invalid(absl::StrCat("entities.", kind, "[", i, "]"),
                       absl::StrCat("malformed ", kind, " name \"", name, "\""));
      }
      named.push_back(name);
    }
    // A wildcard among names means all of the scope.
    for (const std::string& name : *names) {
      if (name == absl::StrCat(kind_prefix, "-")) named.clear();
    }
  }
  const char* grouping_prefix = entity_grouping == v1::REPORT_GROUPING_QUEUE      ? "queues/"
                                : entity_grouping == v1::REPORT_GROUPING_TEAM     ? "teams/"
                                : entity_grouping == v1::REPORT_GROUPING_OPERATOR ? "operators/"
                                                                                  : "";
  if (entity_grouping != v1::REPORT_GROUPING_UNSPECIFIED &&
      entity_grouping != v1::REPORT_GROUPING_SITE) {
    if (!prefix.empty() && prefix != grouping_prefix) {
      return Invalid("entities", absl::StrCat("must name ", grouping_prefix,
                                              "... entities (or none) with this grouping"));
    }
    prefix = grouping_prefix;
  }
  if (entity_grouping == v1::REPORT_GROUPING_SITE && !prefix.empty()) {
    return Invalid("entities", "must name sites only (or none) with SITE grouping");
  }
  const bool per_entity = entity_grouping != v1::REPORT_GROUPING_UNSPECIFIED;

  // Metrics.
  if (request.metrics().empty()) return Invalid("metrics", "required");
  if (request.metrics_size() > 50) return Invalid("metrics", "at most 50");
  std::vector<const BuiltMetric*> metrics;
  std::vector<bool> by_key;  // service_level asked by key: the entity's chosen definition
  for (int i = 0; i < request.metrics_size(); ++i) {
    const std::string& name = request.metrics(i);
    const std::string field = absl::StrCat("metrics[", i, "]");
    const BuiltMetric* metric = absl::StartsWith(name, "metricDefinitions/")
                                    ? FindDefinition(name)
                                    : DefaultDefinition(name);
    if (metric == nullptr) {
      if (!absl::StartsWith(name, "metricDefinitions/") && IsContractMetric(name)) {
        return absl::UnimplementedError(
            absl::StrCat(field, ": metric \"", name, "\" is not computed yet"));
      }
      return Invalid(field, absl::StrCat("unknown metric or definition \"", name, "\""));
    }
    if (metric->definition.kind() == v1::METRIC_KIND_GAUGE) {
      return Invalid(field, absl::StrCat("\"", name, "\" is a gauge, not reportable"));
    }
    metrics.push_back(metric);
    by_key.push_back(name == "service_level");
  }
  const bool any_queue_differs = options.settings != nullptr && options.settings->AnyQueueDiffers();

  // Time zone, format, paging.
  absl::TimeZone zone = options.site_time_zone;
  if (!request.time_zone().empty() && !absl::LoadTimeZone(request.time_zone(), &zone)) {
    return Invalid("time_zone",
                   absl::StrCat("unknown IANA time zone \"", request.time_zone(), "\""));
  }
  const bool csv = request.format() == v1::REPORT_FORMAT_CSV;
  if (request.format() != v1::REPORT_FORMAT_UNSPECIFIED &&
      request.format() != v1::REPORT_FORMAT_ROWS && !csv) {
    return Invalid("format", "unknown format");
  }
  CC_ASSIGN_OR_RETURN(const int32_t page_size, common::PageSize(request.page_size(), 1000, 10000));
  v1::GetReportRequest scope_request = request;
  scope_request.clear_page_token();
  scope_request.clear_page_size();
  CC_ASSIGN_OR_RETURN(
      const std::string cursor,
      common::DecodePageToken(request.page_token(),
                              absl::StrCat("GetReport:", scope_request.SerializeAsString())));
  size_t offset = 0;
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &offset)) {
    return Invalid("page_token", "malformed");
  }

  // Closed intervals only.
  const absl::Time closed = FloorToInterval(now);
  const absl::Time data_end = std::min(end, closed);

  v1::GetReportResponse response;
  *response.mutable_range()->mutable_start_time() = common::TimestampFromTime(start);
  *response.mutable_range()->mutable_end_time() = common::TimestampFromTime(end);
  *response.mutable_data_time() = common::TimestampFromTime(closed);
  for (const BuiltMetric* metric : metrics) *response.add_definitions() = metric->definition;

  // The sums.
  std::map<std::pair<int64_t, std::string>, Sums> sums;
  std::set<std::string> entities(named.begin(), named.end());
  if (own_site_selected && data_end > start) {
    CC_RETURN_IF_ERROR(pg.Query([&](pqxx::nontransaction& query) -> absl::Status {
      pqxx::result rows =
          query.exec_params(std::string(kReportQuery), options.site, absl::ToUnixMicros(start),
                            absl::ToUnixMicros(data_end), common::PgTextArray(named), prefix,
                            per_entity, time_grouping, zone.name());
      for (const pqxx::row& row : rows) {
        Sums s;
        WindowCounts& c = s.counts;
        c.offered = row[2].as<int64_t>();
        c.answered = row[3].as<int64_t>();
        c.answered_within_threshold = row[4].as<int64_t>();
        c.answer_wait_seconds = row[5].as<double>();
        c.abandoned = row[6].as<int64_t>();
        c.short_abandoned = row[7].as<int64_t>();
        c.abandoned_within_threshold = row[8].as<int64_t>();
        c.abandoned_after_threshold = row[9].as<int64_t>();
        c.handled = row[10].as<int64_t>();
        c.handle_seconds = row[11].as<double>();
        c.transfers = row[12].as<int64_t>();
        c.missing_wrap_ups = row[13].as<int64_t>();
        c.csat_answers = row[14].as<int64_t>();
        c.csat_satisfied = row[15].as<int64_t>();
        c.nps_answers = row[16].as<int64_t>();
        c.nps_promoters = row[17].as<int64_t>();
        c.nps_detractors = row[18].as<int64_t>();
        c.handling_seconds = row[19].as<double>();
        c.available_seconds = row[20].as<double>();
        s.mixed = row[21].as<bool>();
        if (!row[22].is_null()) s.threshold = row[22].as<double>();
        if (!row[23].is_null()) s.short_abandon = row[23].as<double>();
        const std::string entity = row[1].as<std::string>();
        if (per_entity) entities.insert(entity);
        sums[{row[0].as<int64_t>(), entity}] = s;
      }
      return absl::OkStatus();
    }));
  }
  if (!per_entity) entities = {""};
  if (!own_site_selected) entities.clear();  // another site's replicas keep its intervals
  if (entity_grouping == v1::REPORT_GROUPING_SITE) {
    entities = own_site_selected ? std::set<std::string>{""} : std::set<std::string>{};
  }

  // The periods: every period holding a closed interval of the range.
  std::vector<std::pair<absl::Time, absl::Time>> periods;
  if (time_grouping == "none") {
    periods.push_back({start, end});
  } else {
    for (absl::Time t = start; t < data_end; t += kInterval) {
      absl::Time period_start = t, period_end = t + kInterval;
      if (time_grouping == "hour") {
        const absl::CivilHour hour = absl::ToCivilHour(t, zone);
        period_start = absl::FromCivil(hour, zone);
        period_end = absl::FromCivil(hour + 1, zone);
      } else if (time_grouping == "day") {
        const absl::CivilDay day = absl::ToCivilDay(t, zone);
        period_start = absl::FromCivil(day, zone);
        period_end = absl::FromCivil(day + 1, zone);
      }
      if (periods.empty() || periods.back().first != period_start) {
        periods.push_back({period_start, period_end});
      }
    }
  }

  // Rows in order: period, then entity.
  std::string csv_text;
  if (csv && offset == 0) {
    csv_text = "period_start,period_end,entity";
    for (const BuiltMetric* metric : metrics) {
      absl::string_view id = metric->definition.name();
      absl::ConsumePrefix(&id, "metricDefinitions/");
      absl::StrAppend(&csv_text, ",", CsvField(absl::StrCat(metric->key, " [", id, "]")));
    }
    csv_text += "\r\n";
  }
  size_t index = 0;
  int emitted = 0;
  bool more = false;
  const std::string site_name = own_site;
  for (const auto& [period_start, period_end] : periods) {
    const int64_t key_time = time_grouping == "none" ? 0 : absl::ToUnixMicros(period_start);
    for (const std::string& entity : entities) {
      auto found = sums.find({key_time, entity});
      const Sums s = found == sums.end() ? Sums{} : found->second;
      if (request.omit_empty_rows() && AllZero(s.counts)) continue;
      if (index++ < offset) continue;
      if (emitted == page_size) {
        more = true;
        break;
      }
      ++emitted;
      v1::ReportRow row;
      if (time_grouping != "none") {
        *row.mutable_period_start() = common::TimestampFromTime(period_start);
        *row.mutable_period_end() = common::TimestampFromTime(period_end);
      }
      if (per_entity) row.set_entity(entity.empty() ? site_name : entity);
      QueueThresholds thresholds = options.thresholds;
      if (s.threshold >= 0) thresholds.service_level = absl::Seconds(s.threshold);
      if (s.short_abandon >= 0) thresholds.short_abandon = absl::Seconds(s.short_abandon);
      const bool is_queue = absl::StartsWith(entity, "queues/");
      for (size_t m = 0; m < metrics.size(); ++m) {
        const BuiltMetric* metric = metrics[m];
        bool mixed_definition = false;
        if (by_key[m] && options.settings != nullptr) {
          metric = options.settings->Effective(is_queue ? entity : "").service_level;
          mixed_definition = !is_queue && any_queue_differs;
        }
        v1::MetricValue value = ValueOf(*metric, s.counts, thresholds);
        value.set_window(v1::METRIC_WINDOW_REPORT_PERIOD);
        *value.mutable_window_start() = common::TimestampFromTime(period_start);
        *value.mutable_data_time() = response.data_time();
        if ((s.mixed || mixed_definition) && value.has_parameters()) {
          value.set_mixed(true);
          value.clear_definition();
          value.clear_parameters();
        }
        *row.add_values() = std::move(value);
      }
      if (csv) {
        absl::StrAppend(
            &csv_text,
            time_grouping == "none" ? absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", start, zone)
                                    : absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", period_start, zone),
            ",",
            time_grouping == "none" ? absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", end, zone)
                                    : absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", period_end, zone),
            ",", CsvField(row.entity()));
        for (const v1::MetricValue& value : row.values()) {
          absl::StrAppend(&csv_text, ",", value.has_value() ? FormatNumber(value.value()) : "");
        }
        csv_text += "\r\n";
      } else {
        *response.add_rows() = std::move(row);
      }
    }
    if (more) break;
  }
  if (csv) response.set_csv(csv_text);
  if (more) {
    response.set_next_page_token(
        common::EncodePageToken(absl::StrCat("GetReport:", scope_request.SerializeAsString()),
                                absl::StrCat(offset + static_cast<size_t>(emitted))));
  }
  return response;
}

}  // namespace contactcentre::analytics
