#include "services/analytics/staffing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/pg_util.h"

namespace contactcentre::analytics {
namespace {

constexpr int kDefaultMaxAgents = 5000;
constexpr int kMaxMaxAgents = 100000;
constexpr int kMaxIntervals = 672;
constexpr double kDefaultThresholdSeconds = 20;

double Seconds(const google::protobuf::Duration& duration) {
  return static_cast<double>(duration.seconds()) + duration.nanos() / 1e9;
}

google::protobuf::Duration DurationOf(double seconds) {
  google::protobuf::Duration duration;
  const double whole = std::floor(seconds);
  int64_t nanos = std::llround((seconds - whole) * 1e9);
  int64_t secs = static_cast<int64_t>(whole);
  if (nanos >= 1'000'000'000) {
    ++secs;
    nanos -= 1'000'000'000;
  }
  duration.set_seconds(secs);
  duration.set_nanos(static_cast<int32_t>(nanos));
  return duration;
}

// Erlang B(n, A) for n = 0, 1, ... one step at a time: B(0) = 1, B(n) = A·B / (n + A·B).
class ErlangB {
 public:
  explicit ErlangB(double traffic) : traffic_(traffic) {}
  // Advances to `agents` (never backwards) and returns B(agents).
  double At(int agents) {
    while (n_ < agents) {
      ++n_;
      b_ = traffic_ * b_ / (n_ + traffic_ * b_);
    }
    return b_;
  }

 private:
  const double traffic_;
  int n_ = 0;
  double b_ = 1;
};

double ErlangCFromB(int agents, double traffic, double b) {
  if (traffic <= 0) return 0;
  if (agents <= traffic) return 1;
  return agents * b / (agents - traffic * (1 - b));
}

StaffingFigures Figures(double traffic, double aht_seconds, int agents, double threshold,
                        double erlang_b) {
  StaffingFigures figures{.traffic_erlangs = traffic, .agents = agents};
  if (traffic <= 0) {
    figures.service_level = 1;
    return figures;
  }
  if (agents <= traffic) {
    figures.probability_of_waiting = 1;
    figures.service_level = 0;
    figures.asa_seconds = std::numeric_limits<double>::infinity();
    figures.occupancy = 1;
    return figures;
  }
  const double pw = ErlangCFromB(agents, traffic, erlang_b);
  figures.probability_of_waiting = pw;
  figures.service_level = 1 - pw * std::exp(-(agents - traffic) * threshold / aht_seconds);
  figures.asa_seconds = pw * aht_seconds / (agents - traffic);
  figures.occupancy = traffic / agents;
  return figures;
}

int Scheduled(int agents, double shrinkage) {
  // The epsilon keeps 14 / 0.7 = 20.000000000000004 at 20.
  return static_cast<int>(std::ceil(agents / (1 - shrinkage) - 1e-9));
}

v1::StaffingResult ResultOf(const StaffingFigures& figures, const StaffingGoals& goals,
                            bool goals_met, v1::StaffingConstraint binding) {
  v1::StaffingResult result;
  result.set_traffic_erlangs(figures.traffic_erlangs);
  result.set_agents(figures.agents);
  result.set_scheduled_agents(Scheduled(figures.agents, goals.shrinkage));
  result.set_probability_of_waiting(figures.probability_of_waiting);
  result.set_service_level(figures.service_level);
  if (std::isfinite(figures.asa_seconds)) {
    *result.mutable_average_speed_of_answer() = DurationOf(figures.asa_seconds);
  }
  result.set_occupancy(figures.occupancy);
  result.set_goals_met(goals_met);
  result.set_binding_constraint(binding);
  return result;
}

// Which goals `figures` misses, in the order service level, ASA, occupancy; UNSPECIFIED when
// none.
v1::StaffingConstraint FirstMissedGoal(const StaffingFigures& figures, const StaffingGoals& goals) {
  if (goals.service_level_target > 0 && figures.service_level < goals.service_level_target) {
    return v1::STAFFING_CONSTRAINT_SERVICE_LEVEL;
  }
  if (goals.asa_seconds > 0 && !(figures.asa_seconds <= goals.asa_seconds)) {
    return v1::STAFFING_CONSTRAINT_ASA;
  }
  if (goals.max_occupancy < 1 && figures.occupancy > goals.max_occupancy) {
    return v1::STAFFING_CONSTRAINT_OCCUPANCY;
  }
  return v1::STAFFING_CONSTRAINT_UNSPECIFIED;
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status CheckAht(const google::protobuf::Duration& aht, absl::string_view field) {
  if (Seconds(aht) <= 0) return Invalid(field, "must be positive");
  return absl::OkStatus();
}

absl::StatusOr<StaffingGoals> GoalsOf(const v1::ForecastStaffingRequest& request) {
  StaffingGoals goals;
  if (request.has_service_level_goal()) {
    const v1::ServiceLevelGoal& goal = request.service_level_goal();
    if (!(goal.target() > 0 && goal.target() < 1)) {
      return Invalid("service_level_goal.target", "must be between 0 and 1 (exclusive)");
    }
    if (!goal.has_threshold() || Seconds(goal.threshold()) <= 0) {
      return Invalid("service_level_goal.threshold", "must be positive");
    }
    goals.service_level_target = goal.target();
    goals.threshold_seconds = Seconds(goal.threshold());
  } else {
    goals.threshold_seconds = kDefaultThresholdSeconds;
  }
  if (request.has_target_asa()) {
    if (Seconds(request.target_asa()) <= 0) return Invalid("target_asa", "must be positive");
    goals.asa_seconds = Seconds(request.target_asa());
  }
  if (goals.service_level_target == 0 && goals.asa_seconds == 0) {
    return Invalid("service_level_goal", "a service level goal or target_asa is required");
  }
  if (request.has_max_occupancy()) {
    if (!(request.max_occupancy() > 0 && request.max_occupancy() <= 1)) {
      return Invalid("max_occupancy", "must be in (0, 1]");
    }
    goals.max_occupancy = request.max_occupancy();
  }
  if (!(request.shrinkage() >= 0 && request.shrinkage() < 1)) {
    return Invalid("shrinkage", "must be in [0, 1)");
  }
  goals.shrinkage = request.shrinkage();
  if (request.max_agents() < 0) return Invalid("max_agents", "must not be negative");
  if (request.max_agents() > kMaxMaxAgents) {
    return Invalid("max_agents", absl::StrCat("must be at most ", kMaxMaxAgents));
  }
  goals.max_agents = request.max_agents() == 0 ? kDefaultMaxAgents : request.max_agents();
  return goals;
}

}  // namespace

double ErlangC(int agents, double traffic_erlangs) {
  if (traffic_erlangs <= 0) return 0;
  if (agents <= traffic_erlangs) return 1;
  ErlangB b(traffic_erlangs);
  return ErlangCFromB(agents, traffic_erlangs, b.At(agents));
}

StaffingFigures EvaluateStaffing(double calls_per_second, double aht_seconds, int agents,
                                 double threshold_seconds) {
  const double traffic = calls_per_second * aht_seconds;
  ErlangB b(traffic);
  return Figures(traffic, aht_seconds, agents, threshold_seconds, b.At(std::max(agents, 0)));
}

v1::StaffingResult SolveStaffing(double calls_per_second, double aht_seconds,
                                 const StaffingGoals& goals) {
  const double traffic = calls_per_second * aht_seconds;
  if (traffic <= 0) {
    return ResultOf(Figures(0, aht_seconds, 0, goals.threshold_seconds, 1), goals, true,
                    v1::STAFFING_CONSTRAINT_TRAFFIC);
  }
  ErlangB b(traffic);
  // The least N with N > A.
  const int stable = static_cast<int>(std::floor(traffic)) + 1;
  if (stable > goals.max_agents) {
    return ResultOf(Figures(traffic, aht_seconds, goals.max_agents, goals.threshold_seconds,
                            b.At(goals.max_agents)),
                    goals, false, v1::STAFFING_CONSTRAINT_MAX_AGENTS);
  }
  v1::StaffingConstraint binding = v1::STAFFING_CONSTRAINT_TRAFFIC;
  for (int n = stable; n <= goals.max_agents; ++n) {
    const StaffingFigures figures =
        Figures(traffic, aht_seconds, n, goals.threshold_seconds, b.At(n));
    const v1::StaffingConstraint missed = FirstMissedGoal(figures, goals);
    if (missed == v1::STAFFING_CONSTRAINT_UNSPECIFIED)
      return ResultOf(figures, goals, true, binding);
    binding = missed;
    if (n == goals.max_agents)
      return ResultOf(figures, goals, false, v1::STAFFING_CONSTRAINT_MAX_AGENTS);
  }
  return ResultOf(Figures(traffic, aht_seconds, goals.max_agents, goals.threshold_seconds,
                          b.At(goals.max_agents)),
                  goals, false, v1::STAFFING_CONSTRAINT_MAX_AGENTS);
}

absl::StatusOr<v1::ForecastStaffingResponse> ForecastStaffing(
    const v1::ForecastStaffingRequest& request) {
  v1::ForecastStaffingResponse response;
  response.set_model(kErlangCModel);
  if (request.has_average_handle_time()) {
    if (absl::Status bad = CheckAht(request.average_handle_time(), "average_handle_time");
        !bad.ok()) {
      return bad;
    }
  }
  switch (request.workload_case()) {
    case v1::ForecastStaffingRequest::WORKLOAD_NOT_SET:
      return Invalid("workload", "a workload is required (calls_per_hour, intervals or observed)");
    case v1::ForecastStaffingRequest::kObserved:
      return absl::UnimplementedError(
          "observed: the service turns an observed workload into per-interval workloads from "
          "the stored intervals before this computation; give calls_per_hour or intervals");
    case v1::ForecastStaffingRequest::kCallsPerHour: {
      if (!(request.calls_per_hour() >= 0) || !std::isfinite(request.calls_per_hour())) {
        return Invalid("calls_per_hour", "must be zero or more");
      }
      if (!request.has_average_handle_time()) return Invalid("average_handle_time", "required");
      absl::StatusOr<StaffingGoals> goals = GoalsOf(request);
      if (!goals.ok()) return goals.status();
      *response.mutable_result() = SolveStaffing(request.calls_per_hour() / 3600,
                                                 Seconds(request.average_handle_time()), *goals);
      return response;
    }
    case v1::ForecastStaffingRequest::kIntervals:
      break;
  }
  const v1::IntervalWorkload& workload = request.intervals();
  absl::Duration length = absl::Minutes(15);
  if (workload.has_interval_length()) {
    length = absl::Seconds(workload.interval_length().seconds()) +
             absl::Nanoseconds(workload.interval_length().nanos());
    if (length != absl::Minutes(15) && length != absl::Minutes(30) && length != absl::Minutes(60)) {
      return Invalid("intervals.interval_length", "must be 15, 30 or 60 minutes");
    }
  }
  if (workload.intervals().empty()) {
    return Invalid("intervals.intervals", "at least one interval is required");
  }
  if (workload.intervals_size() > kMaxIntervals) {
    return Invalid("intervals.intervals", absl::StrCat("at most ", kMaxIntervals, " intervals"));
  }
  absl::StatusOr<StaffingGoals> goals = GoalsOf(request);
  if (!goals.ok()) return goals.status();
  const double length_seconds = absl::ToDoubleSeconds(length);
  int peak = -1;
  double peak_traffic = -1;
  double agent_hours = 0;
  for (int i = 0; i < workload.intervals_size(); ++i) {
    const v1::WorkloadInterval& interval = workload.intervals(i);
    const std::string field = absl::StrCat("intervals.intervals[", i, "]");
    if (!interval.has_start_time()) return Invalid(absl::StrCat(field, ".start_time"), "required");
    if (i > 0 && common::TimeFromTimestamp(interval.start_time()) !=
                     common::TimeFromTimestamp(workload.intervals(i - 1).start_time()) + length) {
      return Invalid(absl::StrCat(field, ".start_time"),
                     "intervals must be consecutive (each starts one interval_length after the "
                     "previous)");
    }
    if (!(interval.forecast_calls() >= 0) || !std::isfinite(interval.forecast_calls())) {
      return Invalid(absl::StrCat(field, ".forecast_calls"), "must be zero or more");
    }
    google::protobuf::Duration aht = request.average_handle_time();
    if (interval.has_average_handle_time()) {
      if (absl::Status bad =
              CheckAht(interval.average_handle_time(), absl::StrCat(field, ".average_handle_time"));
          !bad.ok()) {
        return bad;
      }
      aht = interval.average_handle_time();
    } else if (!request.has_average_handle_time()) {
      return Invalid("average_handle_time", "required (or on every interval)");
    }
    v1::IntervalStaffing* out = response.add_intervals();
    *out->mutable_start_time() = interval.start_time();
    out->set_calls(interval.forecast_calls());
    *out->mutable_average_handle_time() = aht;
    *out->mutable_result() =
        SolveStaffing(interval.forecast_calls() / length_seconds, Seconds(aht), *goals);
    agent_hours += out->result().scheduled_agents() * length_seconds / 3600;
    if (out->result().traffic_erlangs() > peak_traffic) {
      peak_traffic = out->result().traffic_erlangs();
      peak = i;
    }
  }
  *response.mutable_result() = response.intervals(peak).result();
  response.set_scheduled_agent_hours(agent_hours);
  return response;
}

}  // namespace contactcentre::analytics
