// Erlang C staffing (model "erlang_c.v1", see proto/contactcentre/analytics/v1/staffing.proto):
// the pure formulas and ForecastStaffing for forecast workloads (a single arrival rate or
// consecutive intervals). Observed workloads need the stored 15-minute intervals, which are
// not built yet (docs/analytics.md).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "contactcentre/analytics/v1/analytics_service.pb.h"

namespace contactcentre::analytics {

inline constexpr char kErlangCModel[] = "erlang_c.v1";

// Probability that a call waits, Erlang C(N, A), for N operators and A erlangs of offered
// traffic; 1 when N <= A (the queue grows without bound), 0 when A is 0. Computed through the
// Erlang B recursion, which stays exact for thousands of operators.
double ErlangC(int agents, double traffic_erlangs);

// The predicted figures of N operators against a workload.
struct StaffingFigures {
  double traffic_erlangs = 0;
  int agents = 0;
  double probability_of_waiting = 0;
  // Against `threshold_seconds`.
  double service_level = 0;
  // Infinite when N <= A.
  double asa_seconds = 0;
  double occupancy = 0;
};

// Figures of `agents` operators for `calls_per_second` arrivals with `aht_seconds` handle time.
StaffingFigures EvaluateStaffing(double calls_per_second, double aht_seconds, int agents,
                                 double threshold_seconds);

// The goals a staffing search must meet; a goal of zero (or max_occupancy 1) is absent.
struct StaffingGoals {
  double service_level_target = 0;  // in (0, 1), 0 = no SL goal
  double threshold_seconds = 20;    // T of the SL goal (or the figure reported)
  double asa_seconds = 0;           // 0 = no ASA goal
  double max_occupancy = 1;         // 1 = no cap
  double shrinkage = 0;             // in [0, 1)
  int max_agents = 5000;
};

// The least N > A meeting every goal, with its figures, as the proto's StaffingResult.
v1::StaffingResult SolveStaffing(double calls_per_second, double aht_seconds,
                                 const StaffingGoals& goals);

// ForecastStaffing for `calls_per_hour` and `intervals` workloads. INVALID_ARGUMENT naming the
// field for bad input; UNIMPLEMENTED for `observed` (stored intervals are not built yet).
absl::StatusOr<v1::ForecastStaffingResponse> ForecastStaffing(
    const v1::ForecastStaffingRequest& request);

}  // namespace contactcentre::analytics
