#include "services/analytics/rebuild.h"

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc_client.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/status.h"
#include "services/analytics/report.h"

namespace contactcentre::analytics {
namespace {

constexpr absl::Duration kInterval = absl::Minutes(15);

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

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return common::TimeFromTimestamp(timestamp);
}

double SecondsOf(const google::protobuf::Duration& duration) {
  return static_cast<double>(duration.seconds()) + duration.nanos() / 1e9;
}

constexpr absl::string_view kSelectJob =
    "SELECT id, site, (extract(epoch FROM range_start) * 1e6)::bigint, "
    "(extract(epoch FROM range_end) * 1e6)::bigint, queues, dry_run, state, intervals_total, "
    "intervals_done, calls_read, intervals_changed, (extract(epoch FROM create_time) * "
    "1e6)::bigint, "
    "(extract(epoch FROM start_time) * 1e6)::bigint, (extract(epoch FROM end_time) * 1e6)::bigint, "
    "error_code, error_message FROM interval_rebuilds";

v1::IntervalRebuild JobOf(const pqxx::row& row) {
  v1::IntervalRebuild job;
  job.set_name(absl::StrCat("intervalRebuilds/", row[0].as<std::string>()));
  job.set_site(row[1].as<std::string>());
  *job.mutable_range()->mutable_start_time() = common::TimestampFromMicros(row[2].as<int64_t>());
  *job.mutable_range()->mutable_end_time() = common::TimestampFromMicros(row[3].as<int64_t>());
  auto array = row[4].as_array();
  for (auto item = array.get_next(); item.first != pqxx::array_parser::done;
       item = array.get_next()) {
    if (item.first == pqxx::array_parser::string_value) job.add_queues(item.second);
  }
  job.set_dry_run(row[5].as<bool>());
  job.set_state(static_cast<v1::RebuildState>(row[6].as<int>()));
  job.set_intervals_total(row[7].as<int64_t>());
  job.set_intervals_done(row[8].as<int64_t>());
  job.set_calls_read(row[9].as<int64_t>());
  job.set_intervals_changed(row[10].as<int64_t>());
  job.set_progress(job.intervals_total() > 0
                       ? static_cast<double>(job.intervals_done()) /
                             static_cast<double>(job.intervals_total())
                       : (job.state() == v1::REBUILD_STATE_SUCCEEDED ? 1 : 0));
  *job.mutable_create_time() = common::TimestampFromMicros(row[11].as<int64_t>());
  if (!row[12].is_null()) {
    *job.mutable_start_time() = common::TimestampFromMicros(row[12].as<int64_t>());
  }
  if (!row[13].is_null()) {
    *job.mutable_end_time() = common::TimestampFromMicros(row[13].as<int64_t>());
  }
  job.set_error_code(row[14].as<int>());
  job.set_error_message(row[15].as<std::string>());
  return job;
}

// The call columns of interval_counts, in WindowCounts order.
struct CallColumns {
  int64_t offered = 0, answered = 0, answered_within = 0, abandoned = 0, short_abandoned = 0,
          abandoned_within = 0, abandoned_after = 0, handled = 0, transfers = 0, missing = 0;
  double wait = 0, handle = 0;
  bool operator==(const CallColumns& o) const {
    auto near = [](double a, double b) { return std::abs(a - b) < 1e-6; };
    return std::tie(offered, answered, answered_within, abandoned, short_abandoned,
                    abandoned_within, abandoned_after, handled, transfers, missing) ==
               std::tie(o.offered, o.answered, o.answered_within, o.abandoned, o.short_abandoned,
                        o.abandoned_within, o.abandoned_after, o.handled, o.transfers, o.missing) &&
           near(wait, o.wait) && near(handle, o.handle);
  }
};

CallColumns ColumnsOf(const WindowCounts& c) {
  return {.offered = c.offered,
          .answered = c.answered,
          .answered_within = c.answered_within_threshold,
          .abandoned = c.abandoned,
          .short_abandoned = c.short_abandoned,
          .abandoned_within = c.abandoned_within_threshold,
          .abandoned_after = c.abandoned_after_threshold,
          .handled = c.handled,
          .transfers = c.transfers,
          .missing = c.missing_wrap_ups,
          .wait = c.answer_wait_seconds,
          .handle = c.handle_seconds};
}

struct Computed {
  WindowCounts counts;
  // The thresholds its calls were judged with (one queue's, or mixed for aggregates).
  std::set<std::pair<double, double>> judged;
};

}  // namespace

IntervalRebuilder::IntervalRebuilder(MetricsStore* store, RebuildOptions options)
    : store_(*store),
      options_(std::move(options)),
      calls_(calls::v1::CallsService::NewStub(common::MakeChannel(options_.calls_address))) {}

IntervalRebuilder::~IntervalRebuilder() { Stop(); }

void IntervalRebuilder::Stop() {
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

void IntervalRebuilder::AwaitIdle() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &running_));
}

absl::StatusOr<v1::IntervalRebuild> IntervalRebuilder::Load(const std::string& id) {
  return store_.pg().Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::IntervalRebuild> {
    pqxx::result rows = query.exec_params(absl::StrCat(kSelectJob, " WHERE id = $1"), id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("intervalRebuilds/", id, " not found"));
    }
    return JobOf(rows[0]);
  });
}

absl::StatusOr<v1::IntervalRebuild> IntervalRebuilder::Start(
    const v1::RebuildIntervalsRequest& request, absl::Time now) {
  if (!request.has_range() || !request.range().has_start_time()) {
    return Invalid("range.start_time", "required");
  }
  if (!request.range().has_end_time()) return Invalid("range.end_time", "required");
  const absl::Time raw_start = TimeOf(request.range().start_time());
  const absl::Time raw_end = TimeOf(request.range().end_time());
  if (raw_end <= raw_start) return Invalid("range.end_time", "must be after range.start_time");
  const absl::Time start = FloorToInterval(raw_start);
  absl::Time end = FloorToInterval(raw_end);
  if (end < raw_end) end += kInterval;
  if (end > FloorToInterval(now)) {
    return Invalid("range.end_time", "reaches into the current open interval");
  }
  if (end - start > absl::Hours(24 * 93)) return Invalid("range", "at most 93 days");
  std::vector<std::string> queues;
  for (int i = 0; i < request.queues_size(); ++i) {
    if (!ValidName(request.queues(i), "queues/")) {
      return Invalid(absl::StrCat("queues[", i, "]"),
                     absl::StrCat("malformed queue name \"", request.queues(i), "\""));
    }
    queues.push_back(request.queues(i));
  }
  const std::string own_site = absl::StrCat("sites/", store_.site());
  if (!request.site().empty() && request.site() != own_site) {
    if (!ValidName(request.site(), "sites/")) return Invalid("site", "malformed site name");
    return absl::FailedPreconditionError(
        absl::StrCat("OTHER_SITE: this replica keeps the intervals of ", own_site,
                     "; ask a replica of ", request.site()));
  }
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
    if (running_ >= options_.max_running) {
      return absl::ResourceExhaustedError(
          absl::StrCat(options_.max_running, " rebuilds are already running; retry later"));
    }
  }
  bool created = false;
  absl::StatusOr<v1::IntervalRebuild> job =
      store_.pg().Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::IntervalRebuild> {
        CC_ASSIGN_OR_RETURN(
            std::optional<std::string> earlier,
            common::FindRequestResponse(txn, "RebuildIntervals", request.request_id(), request));
        if (earlier) {
          v1::IntervalRebuild answer;
          answer.ParseFromString(*earlier);
          return answer;
        }
        // One rebuild at a time per overlapping range and queues.
        txn.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 9))",
                        absl::StrCat("rebuild/", own_site));
        pqxx::result overlapping = txn.exec_params(
            "SELECT id FROM interval_rebuilds WHERE site = $1 AND state IN (1, 2) AND "
            "range_start < to_timestamp($3::float8 / 1e6) AND "
            "range_end > to_timestamp($2::float8 / 1e6) AND "
            "(cardinality(queues) = 0 OR cardinality($4::text[]) = 0 OR queues && $4::text[]) "
            "LIMIT 1",
            own_site, absl::ToUnixMicros(start), absl::ToUnixMicros(end),
            common::PgTextArray(queues));
        if (!overlapping.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "REBUILD_RUNNING: intervalRebuilds/", overlapping[0][0].as<std::string>(),
              " covers an overlapping range and queues"));
        }
        const std::string id = common::NewId();
        txn.exec_params(
            "INSERT INTO interval_rebuilds (id, site, range_start, range_end, queues, dry_run, "
            "state) VALUES ($1, $2, to_timestamp($3::float8 / 1e6), to_timestamp($4::float8 / "
            "1e6), $5::text[], $6, 1)",
            id, own_site, absl::ToUnixMicros(start), absl::ToUnixMicros(end),
            common::PgTextArray(queues), request.dry_run());
        pqxx::result rows = txn.exec_params(absl::StrCat(kSelectJob, " WHERE id = $1"), id);
        v1::IntervalRebuild answer = JobOf(rows[0]);
        CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "RebuildIntervals",
                                                       request.request_id(), request, answer));
        created = true;
        return answer;
      });
  if (!job.ok() || !created) return job;
  const std::string id(absl::StripPrefix(job->name(), "intervalRebuilds/"));
  absl::MutexLock lock(&mutex_);
  ++running_;
  workers_.emplace_back([this, id] { Run(id); });
  return job;
}

void IntervalRebuilder::Run(const std::string& id) {
  absl::Status status = Execute(id);
  if (!status.ok()) {
    common::LogWarning("interval rebuild failed", {{"rebuild", id}, {"error", status}});
    (void)store_.pg().Transact([&](pqxx::work& txn) -> absl::Status {
      txn.exec_params(
          "UPDATE interval_rebuilds SET state = 4, end_time = now(), error_code = $2, "
          "error_message = $3 WHERE id = $1 AND state IN (1, 2)",
          id, static_cast<int>(status.code()), std::string(status.message()));
      return absl::OkStatus();
    });
  }
  absl::MutexLock lock(&mutex_);
  --running_;
}

absl::Status IntervalRebuilder::Execute(const std::string& id) {
  CC_ASSIGN_OR_RETURN(v1::IntervalRebuild job, Load(id));
  if (job.state() != v1::REBUILD_STATE_PENDING) return absl::OkStatus();
  CC_RETURN_IF_ERROR(store_.pg().Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE interval_rebuilds SET state = 2, start_time = now() WHERE id = $1 AND state = 1",
        id);
    return absl::OkStatus();
  }));
  const absl::Time start = TimeOf(job.range().start_time());
  const absl::Time end = TimeOf(job.range().end_time());
  const std::set<std::string> queues(job.queues().begin(), job.queues().end());
  const bool all_queues = queues.empty();
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> settings,
                      store_.settings().Snapshot());

  // Read the records and count their facts that fall in the range.
  std::map<std::pair<int64_t, std::string>, Computed> computed;
  int64_t calls_read = 0;
  auto add = [&](absl::Time at, const std::vector<std::string>& entities, const WindowCounts& d,
                 const QueueThresholds* judged) {
    if (at < start || at >= end) return;
    const int64_t interval = absl::ToUnixMicros(FloorToInterval(at));
    for (size_t i = 0; i < entities.size(); ++i) {
      if (i > 0 && entities[i].empty()) continue;
      if (!all_queues && i != 1) continue;  // only the queues' own rows
      Computed& c = computed[{interval, entities[i]}];
      WindowCounts& w = c.counts;
      w.offered += d.offered;
      w.answered += d.answered;
      w.answered_within_threshold += d.answered_within_threshold;
      w.answer_wait_seconds += d.answer_wait_seconds;
      w.abandoned += d.abandoned;
      w.short_abandoned += d.short_abandoned;
      w.abandoned_within_threshold += d.abandoned_within_threshold;
      w.abandoned_after_threshold += d.abandoned_after_threshold;
      w.handled += d.handled;
      w.handle_seconds += d.handle_seconds;
      w.transfers += d.transfers;
      w.missing_wrap_ups += d.missing_wrap_ups;
      if (judged != nullptr) {
        c.judged.insert({absl::ToDoubleSeconds(judged->service_level),
                         absl::ToDoubleSeconds(judged->short_abandon)});
      }
    }
  };
  calls::v1::ListCallsRequest list;
  list.set_page_size(1000);
  list.set_site(job.site().empty() ? "" : std::string(absl::StripPrefix(job.site(), "sites/")));
  *list.mutable_offer_time_range()->mutable_start_time() =
      common::TimestampFromTime(start - options_.lookback);
  *list.mutable_offer_time_range()->mutable_end_time() = common::TimestampFromTime(end);
  for (const std::string& queue : queues) list.add_queues(queue);
  // (The calls service lists newest first only; the order does not matter here.)
  list.set_direction(calls::v1::CALL_DIRECTION_INBOUND);
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return absl::UnavailableError("the replica stopped");
    }
    CC_ASSIGN_OR_RETURN(v1::IntervalRebuild current, Load(id));
    if (current.state() == v1::REBUILD_STATE_CANCELLED) return absl::OkStatus();
    calls::v1::ListCallsResponse page;
    std::unique_ptr<grpc::ClientContext> context = common::ContextWithTimeout(absl::Seconds(30));
    grpc::Status status = calls_->ListCalls(context.get(), list, &page);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("calls.ListCalls: ", status.error_message()));
    }
    for (const calls::v1::Call& call : page.calls()) {
      ++calls_read;
      if (call.direction() == calls::v1::CALL_DIRECTION_OUTBOUND) continue;
      const std::string queue =
          call.original_queue().empty() ? call.queue() : call.original_queue();
      if (queue.empty() || (!all_queues && !queues.contains(queue))) continue;
      const std::vector<std::string> entities = {"", queue, call.team(), call.operator_()};
      const QueueThresholds thresholds = settings->Effective(queue).thresholds;
      if (call.has_queue_time()) {
        // A call is offered to a queue: it counts for the site and the queue only.
        add(TimeOf(call.queue_time()), {"", queue}, WindowCounts{.offered = 1}, nullptr);
      }
      if (call.has_connect_time()) {
        WindowCounts d;
        JudgeAnswered(SecondsOf(call.wait_duration()), thresholds, &d);
        add(TimeOf(call.connect_time()), entities, d, &thresholds);
      }
      if (call.state() == calls::v1::CALL_STATE_ABANDONED && call.has_end_time()) {
        WindowCounts d;
        JudgeAbandoned(SecondsOf(call.wait_duration()), thresholds, &d);
        add(TimeOf(call.end_time()), entities, d, &thresholds);
      }
      if (call.state() == calls::v1::CALL_STATE_COMPLETED) {
        const absl::Time at =
            call.has_wrap_up_time() ? TimeOf(call.wrap_up_time()) : TimeOf(call.end_time());
        add(at, entities,
            WindowCounts{.handled = 1,
                         .handle_seconds = SecondsOf(call.talk_duration()) +
                                           SecondsOf(call.hold_duration()) +
                                           SecondsOf(call.wrap_up_duration())},
            nullptr);
      }
      if (call.state() == calls::v1::CALL_STATE_TRANSFERRED && call.has_end_time()) {
        add(TimeOf(call.end_time()), entities, WindowCounts{.transfers = 1}, nullptr);
      }
      if (call.missing_wrap_up() && call.has_wrap_up_time()) {
        add(TimeOf(call.wrap_up_time()), entities, WindowCounts{.missing_wrap_ups = 1}, nullptr);
      }
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }

  // Compare with (and unless a dry run, replace) the stored call columns, in one transaction.
  const std::string site = job.site();
  const std::string own_site(absl::StripPrefix(site, "sites/"));
  return store_.pg().Transact([&](pqxx::work& txn) -> absl::Status {
    pqxx::result current = txn.exec_params(
        "SELECT state FROM interval_rebuilds WHERE id = $1 "
        "FOR UPDATE",
        id);
    if (current.empty() || current[0][0].as<int>() != v1::REBUILD_STATE_RUNNING) {
      return absl::OkStatus();  // cancelled meanwhile
    }
    std::vector<std::string> entity_filter(queues.begin(), queues.end());
    pqxx::result stored = txn.exec_params(
        "SELECT (extract(epoch FROM interval_start) * 1e6)::bigint, entity, offered, answered, "
        "answered_within_threshold, abandoned, short_abandoned, abandoned_within_threshold, "
        "abandoned_after_threshold, handled, transfers, missing_wrap_ups, answer_wait_seconds, "
        "handle_seconds FROM interval_counts WHERE site = $1 AND interval_start >= "
        "to_timestamp($2::float8 / 1e6) AND interval_start < to_timestamp($3::float8 / 1e6) "
        "AND ($4 OR entity = ANY($5::text[])) FOR UPDATE",
        own_site, absl::ToUnixMicros(start), absl::ToUnixMicros(end), all_queues,
        common::PgTextArray(entity_filter));
    std::map<std::pair<int64_t, std::string>, CallColumns> before;
    for (const pqxx::row& row : stored) {
      CallColumns c{.offered = row[2].as<int64_t>(),
                    .answered = row[3].as<int64_t>(),
                    .answered_within = row[4].as<int64_t>(),
                    .abandoned = row[5].as<int64_t>(),
                    .short_abandoned = row[6].as<int64_t>(),
                    .abandoned_within = row[7].as<int64_t>(),
                    .abandoned_after = row[8].as<int64_t>(),
                    .handled = row[9].as<int64_t>(),
                    .transfers = row[10].as<int64_t>(),
                    .missing = row[11].as<int64_t>(),
                    .wait = row[12].as<double>(),
                    .handle = row[13].as<double>()};
      before[{row[0].as<int64_t>(), row[1].as<std::string>()}] = c;
    }
    std::set<std::pair<int64_t, std::string>> keys;
    for (const auto& [key, unused] : before) keys.insert(key);
    for (const auto& [key, unused] : computed) keys.insert(key);
    int64_t changed = 0;
    for (const auto& key : keys) {
      auto old = before.find(key);
      auto now = computed.find(key);
      const CallColumns a = old == before.end() ? CallColumns{} : old->second;
      const CallColumns b = now == computed.end() ? CallColumns{} : ColumnsOf(now->second.counts);
      if (!(a == b)) ++changed;
    }
    if (!job.dry_run()) {
      txn.exec_params(
          "UPDATE interval_counts SET offered = 0, answered = 0, answered_within_threshold = 0, "
          "answer_wait_seconds = 0, abandoned = 0, short_abandoned = 0, "
          "abandoned_within_threshold = 0, abandoned_after_threshold = 0, handled = 0, "
          "handle_seconds = 0, transfers = 0, missing_wrap_ups = 0, "
          "service_level_threshold_seconds = NULL, short_abandon_threshold_seconds = NULL, "
          "mixed = false, updated_at = now() WHERE site = $1 AND interval_start >= "
          "to_timestamp($2::float8 / 1e6) AND interval_start < to_timestamp($3::float8 / 1e6) "
          "AND ($4 OR entity = ANY($5::text[]))",
          own_site, absl::ToUnixMicros(start), absl::ToUnixMicros(end), all_queues,
          common::PgTextArray(entity_filter));
      for (const auto& [key, value] : computed) {
        const WindowCounts& d = value.counts;
        const bool one = value.judged.size() == 1;
        const double t = one ? value.judged.begin()->first : -1;
        const double s = one ? value.judged.begin()->second : -1;
        txn.exec_params(
            "INSERT INTO interval_counts AS i (site, interval_start, entity, offered, answered, "
            "answered_within_threshold, answer_wait_seconds, abandoned, short_abandoned, "
            "abandoned_within_threshold, abandoned_after_threshold, handled, handle_seconds, "
            "transfers, missing_wrap_ups, service_level_threshold_seconds, "
            "short_abandon_threshold_seconds, mixed) VALUES ($1, to_timestamp($2::float8 / "
            "1e6), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULLIF($16::float8, "
            "-1), NULLIF($17::float8, -1), $18) ON CONFLICT (site, interval_start, entity) DO "
            "UPDATE SET offered = EXCLUDED.offered, answered = EXCLUDED.answered, "
            "answered_within_threshold = EXCLUDED.answered_within_threshold, answer_wait_seconds "
            "= EXCLUDED.answer_wait_seconds, abandoned = EXCLUDED.abandoned, short_abandoned = "
            "EXCLUDED.short_abandoned, abandoned_within_threshold = "
            "EXCLUDED.abandoned_within_threshold, abandoned_after_threshold = "
            "EXCLUDED.abandoned_after_threshold, handled = EXCLUDED.handled, handle_seconds = "
            "EXCLUDED.handle_seconds, transfers = EXCLUDED.transfers, missing_wrap_ups = "
            "EXCLUDED.missing_wrap_ups, service_level_threshold_seconds = "
            "EXCLUDED.service_level_threshold_seconds, short_abandon_threshold_seconds = "
            "EXCLUDED.short_abandon_threshold_seconds, mixed = EXCLUDED.mixed, updated_at = now()",
            own_site, key.first, key.second, d.offered, d.answered, d.answered_within_threshold,
            d.answer_wait_seconds, d.abandoned, d.short_abandoned, d.abandoned_within_threshold,
            d.abandoned_after_threshold, d.handled, d.handle_seconds, d.transfers,
            d.missing_wrap_ups, t, s, value.judged.size() > 1);
      }
    }
    txn.exec_params(
        "UPDATE interval_rebuilds SET state = 3, end_time = now(), intervals_total = $2, "
        "intervals_done = $2, calls_read = $3, intervals_changed = $4 WHERE id = $1",
        id, static_cast<int64_t>(keys.size()), calls_read, changed);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::IntervalRebuild> IntervalRebuilder::Get(
    const v1::GetIntervalRebuildRequest& request) {
  absl::string_view id = request.name();
  if (!absl::ConsumePrefix(&id, "intervalRebuilds/") || id.empty()) {
    return Invalid("name", "must be intervalRebuilds/{rebuild_id}");
  }
  return Load(std::string(id));
}

absl::StatusOr<v1::ListIntervalRebuildsResponse> IntervalRebuilder::List(
    const v1::ListIntervalRebuildsRequest& request) {
  CC_ASSIGN_OR_RETURN(const int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  v1::ListIntervalRebuildsRequest scope = request;
  scope.clear_page_size();
  scope.clear_page_token();
  const std::string scope_key = absl::StrCat("ListIntervalRebuilds:", scope.SerializeAsString());
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope_key));
  int64_t offset = 0;
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &offset)) {
    return Invalid("page_token", "malformed");
  }
  std::vector<int> states;
  for (int state : request.states()) states.push_back(state);
  std::string state_array = "{";
  for (size_t i = 0; i < states.size(); ++i) {
    absl::StrAppend(&state_array, i == 0 ? "" : ",", states[i]);
  }
  state_array += "}";
  return store_.pg().Query(
      [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListIntervalRebuildsResponse> {
        pqxx::result rows = query.exec_params(
            absl::StrCat(kSelectJob,
                         " WHERE site = $1 AND (cardinality($2::int[]) = 0 OR state = "
                         "ANY($2::int[])) ORDER BY create_time DESC, id DESC LIMIT $3 OFFSET $4"),
            absl::StrCat("sites/", store_.site()), state_array, page_size + 1, offset);
        v1::ListIntervalRebuildsResponse response;
        for (const pqxx::row& row : rows) {
          if (response.rebuilds_size() == page_size) {
            response.set_next_page_token(
                common::EncodePageToken(scope_key, absl::StrCat(offset + page_size)));
            break;
          }
          *response.add_rebuilds() = JobOf(row);
        }
        return response;
      });
}

absl::StatusOr<v1::IntervalRebuild> IntervalRebuilder::Cancel(
    const v1::CancelIntervalRebuildRequest& request) {
  absl::string_view id = request.name();
  if (!absl::ConsumePrefix(&id, "intervalRebuilds/") || id.empty()) {
    return Invalid("name", "must be intervalRebuilds/{rebuild_id}");
  }
  CC_RETURN_IF_ERROR(store_.pg().Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE interval_rebuilds SET state = 5, end_time = now() WHERE id = $1 AND state IN "
        "(1, 2)",
        std::string(id));
    return absl::OkStatus();
  }));
  return Load(std::string(id));
}

}  // namespace contactcentre::analytics
