// The plainest centre: one queue and N operators who are all its members, nothing else. The
// setting of queueing theory (Erlang C) and of steady-load benchmarks.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/sim/demo_data.h"

namespace contactcentre::sim {

struct PlainCentreOptions {
  int operators = 10;
  absl::Duration mean_talk_time = absl::Seconds(1);
  absl::Duration service_level_threshold = absl::Seconds(20);
  // Prepended to display names and logins; a fresh prefix gives a fresh centre.
  std::string prefix = "plain";
  std::string site = "main";
};

// Creates the queue and the operators (the same prefix twice is ALREADY_EXISTS for the logins).
absl::StatusOr<DemoCentre> CreatePlainCentre(const PlainCentreOptions& options,
                                             const SuiteChannels& channels);

}  // namespace contactcentre::sim
