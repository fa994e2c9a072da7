// What routing needs to know of operators and queues, as the admin side (PostgreSQL, the
// source of truth) hands it to the live side (Redis). The admin store writes it after every
// committed change of an operator, team, skill, queue or membership, and all of it again at
// start-up (Redis may have been emptied by a restart or failover).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "contactcentre/common/v1/common.pb.h"

namespace contactcentre::calls {

struct OperatorRouting {
  std::string operator_id;  // the id of "operators/{id}"
  std::string team_id;      // the id of "teams/{id}"; empty when none
  std::string site;
  std::string display_name;
  std::string endpoint;           // telephony endpoint (BridgeCommand target)
  std::string role = "OPERATOR";  // OPERATOR, SUPERVISOR or ADMIN
  bool disabled = false;
  bool deleted = false;

  struct Membership {
    std::string queue_id;
    int tier = 1;       // 1..9
    int penalty = 0;    // 0..100
    int level = 1;      // 1..10, for the highest-skill strategy
    int64_t order = 0;  // a fixed order among the queue's members (round robin)
    bool paused = false;
  };
  // Only memberships whose queue the operator is qualified for (its required skills at their
  // levels) and whose queue is not deleted.
  std::vector<Membership> memberships;
  // Queues whose de-escalation skill the operator has at the queue's minimum level: they may
  // take that queue's abusive callers.
  std::vector<std::string> de_escalation_queues;
  // Teams whose supervisors list the operator: their desktops follow those teams' help requests.
  std::vector<std::string> supervised_team_ids;
};

struct QueueRouting {
  std::string queue_id;
  std::string site;
  std::string display_name;
  int strategy = 1;  // QueueStrategy value; UNSPECIFIED is written as LONGEST_IDLE (1)
  absl::Duration ring_timeout = absl::Seconds(20);
  absl::Duration wrap_up_time_limit = absl::Seconds(60);
  int max_misses_before_not_ready = 3;  // 0: never
  absl::Duration service_level_threshold = absl::Seconds(20);
  absl::Duration short_abandon_threshold = absl::Seconds(5);
  std::string de_escalation_skill;  // skill id; empty when the queue has none
  int vip_priority_boost = 3;
  int default_priority = 0;
  absl::Duration tier_wait = absl::ZeroDuration();
  std::vector<int> tiers = {1};           // the tiers its memberships use, ascending
  std::vector<std::string> dispositions;  // enabled disposition codes
  bool deleted = false;
  // Opening hours; without them the queue is always open.
  bool has_opening_hours = false;
  common::v1::WeeklySchedule opening_hours;
  // QueueOverflow: max wait (unset: no limit), max waiting calls (0: no limit), the target
  // queue's id (empty: the call ends OVERFLOW and the adapter gets an OverflowCommand).
  bool has_overflow_max_wait = false;
  absl::Duration overflow_max_wait = absl::ZeroDuration();
  int overflow_max_waiting_calls = 0;
  std::string overflow_target_queue_id;
  std::string overflow_forward_e164;
  std::string overflow_announcement;
};

// Writes routing configuration into the live side.
class RoutingConfigWriter {
 public:
  virtual ~RoutingConfigWriter() = default;
  virtual absl::Status WriteOperator(const OperatorRouting& routing) = 0;
  virtual absl::Status WriteQueue(const QueueRouting& routing) = 0;
};

}  // namespace contactcentre::calls
