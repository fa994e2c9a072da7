// The routing configuration of the calls service on PostgreSQL: every RPC of CallsAdminService
// maps to one method here, each mutating one a single transaction together with its
// idempotency record (common/idempotency.h). After the commit, the operators and queues whose
// routing the change affects are written to the live side through RoutingConfigWriter.
//
//   AdminStore store(pg, &redis_routing, &live_checks);
//   CC_RETURN_IF_ERROR(store.RepublishAll());            // at start-up, before serving
//   absl::StatusOr<v1::Queue> queue = store.GetQueueById(queue_id);
//
// Schema: services/calls/schema/0001_calls_config.sql.
//
// How routing stays in step. Every transaction that changes what routing sees of an operator
// or a queue also upserts a row for it in `routing_pending`. After the commit the store locks
// those rows, reads the operators' and queues' current state, writes it with
// RoutingConfigWriter, and deletes the rows. A change whose write failed (Redis down, a crash
// between commit and write) stays pending and is written by the next FlushPendingRouting(), by
// a repeat of the request with the same request_id, or by RepublishAll(). Since rows are locked
// while written, an older state never overwrites a newer one, across replicas too.
//
// What counts for routing (OperatorRouting, routing_config.h):
//   - a membership is written only when its queue is not deleted and the operator qualifies for
//     it: they have every required skill of the queue at its minimum level or above. A
//     membership of an unqualified operator is accepted and kept (the contract lists no error
//     for it, and Queue.required_skills says qualification is "in addition to being a member"),
//     and it is written as soon as the operator's skills or the queue's requirements change so
//     that they qualify;
//   - a membership's level is its skill_level, or when that is 0 the operator's level in the
//     queue's first required skill, or 1;
//   - de_escalation_queues lists every live queue of the operator's site whose de-escalation
//     skill the operator has at the queue's minimum level;
//   - a deleted operator is written with `deleted` and no memberships; a deleted queue with
//     `deleted` and tiers 1..9, so that the live side clears every tier it may have used;
//   - a queue's `tiers` are the distinct tiers of all its memberships (qualified or not, paused
//     or not), {1} when it has none.
#pragma once

#include <google/protobuf/empty.pb.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/pg_pool.h"
#include "contactcentre/calls/v1/admin_service.pb.h"
#include "services/calls/routing_config.h"

namespace contactcentre::calls {

struct AdminStoreOptions {
  // Region (ISO 3166-1 alpha-2) for dialled and forward numbers written without a country code.
  std::string default_region = "RU";
  // Most operators or queues written to routing in one transaction of a flush.
  int routing_batch = 200;
};

// What only the live side knows, asked before an operator or a queue is deleted. Implemented
// over Redis (and the campaigns) by the live side; the admin store calls it inside the deleting
// transaction, after locking the row. A login or a call that arrives between the check and the
// commit is handled by the live side when it receives the `deleted` routing write.
class DeletionGuard {
 public:
  virtual ~DeletionGuard() = default;
  // OK when the operator is OFFLINE; otherwise FAILED_PRECONDITION with a reason, e.g.
  // "OPERATOR_NOT_OFFLINE: operators/... is AVAILABLE; log them out first".
  virtual absl::Status CheckOperatorRemovable(absl::string_view site,
                                              absl::string_view operator_id) = 0;
  // OK when no call waits in or is reserved from the queue and no campaign that is not STOPPED
  // or COMPLETED uses it; otherwise FAILED_PRECONDITION with a reason, e.g.
  // "QUEUE_HAS_CALLS: 3 calls wait in queues/...".
  virtual absl::Status CheckQueueRemovable(absl::string_view site, absl::string_view queue_id) = 0;
};

class AdminStore {
 public:
  // `pg`, `routing` and `guard` are not owned and must outlive the store. `guard` may be null:
  // then deletions make no live-state checks (tools, tests of the admin side alone).
  AdminStore(common::PgPool* pg, RoutingConfigWriter* routing, DeletionGuard* guard = nullptr,
             AdminStoreOptions options = {});

  // CallsAdminService: the errors of each method are those of its comment in
  // proto/contactcentre/calls/v1/admin_service.proto. A mutating method whose change committed
  // but could not be written to routing returns the writer's error (UNAVAILABLE when Redis is
  // down) with a message saying so; repeating the request with the same request_id writes the
  // pending routing and returns the first answer.
  absl::StatusOr<v1::Operator> CreateOperator(const v1::CreateOperatorRequest& request);
  absl::StatusOr<v1::Operator> GetOperator(const v1::GetOperatorRequest& request);
  absl::StatusOr<v1::ListOperatorsResponse> ListOperators(const v1::ListOperatorsRequest& request);
  absl::StatusOr<v1::Operator> UpdateOperator(const v1::UpdateOperatorRequest& request);
  absl::StatusOr<v1::Operator> DeleteOperator(const v1::DeleteOperatorRequest& request);

  absl::StatusOr<v1::Team> CreateTeam(const v1::CreateTeamRequest& request);
  absl::StatusOr<v1::Team> GetTeam(const v1::GetTeamRequest& request);
  absl::StatusOr<v1::ListTeamsResponse> ListTeams(const v1::ListTeamsRequest& request);
  absl::StatusOr<v1::Team> UpdateTeam(const v1::UpdateTeamRequest& request);
  absl::Status DeleteTeam(const v1::DeleteTeamRequest& request);

  absl::StatusOr<v1::Skill> CreateSkill(const v1::CreateSkillRequest& request);
  absl::StatusOr<v1::Skill> GetSkill(const v1::GetSkillRequest& request);
  absl::StatusOr<v1::ListSkillsResponse> ListSkills(const v1::ListSkillsRequest& request);
  absl::StatusOr<v1::Skill> UpdateSkill(const v1::UpdateSkillRequest& request);
  absl::Status DeleteSkill(const v1::DeleteSkillRequest& request);

  absl::StatusOr<v1::Queue> CreateQueue(const v1::CreateQueueRequest& request);
  absl::StatusOr<v1::Queue> GetQueue(const v1::GetQueueRequest& request);
  absl::StatusOr<v1::ListQueuesResponse> ListQueues(const v1::ListQueuesRequest& request);
  absl::StatusOr<v1::Queue> UpdateQueue(const v1::UpdateQueueRequest& request);
  absl::StatusOr<v1::Queue> DeleteQueue(const v1::DeleteQueueRequest& request);

  absl::StatusOr<v1::QueueMembership> CreateQueueMembership(
      const v1::CreateQueueMembershipRequest& request);
  absl::StatusOr<v1::QueueMembership> GetQueueMembership(
      const v1::GetQueueMembershipRequest& request);
  absl::StatusOr<v1::ListQueueMembershipsResponse> ListQueueMemberships(
      const v1::ListQueueMembershipsRequest& request);
  absl::StatusOr<v1::QueueMembership> UpdateQueueMembership(
      const v1::UpdateQueueMembershipRequest& request);
  absl::Status DeleteQueueMembership(const v1::DeleteQueueMembershipRequest& request);

  // Reads for the live side, by bare id (the part after "queues/"), without a transaction.
  // Deleted operators and queues are returned too, with delete_time set. INVALID_ARGUMENT "id"
  // for an id that is not a canonical UUID; NOT_FOUND when there is no such resource.
  absl::StatusOr<v1::Queue> GetQueueById(absl::string_view queue_id);
  absl::StatusOr<v1::Operator> GetOperatorById(absl::string_view operator_id);
  absl::StatusOr<v1::Team> GetTeamById(absl::string_view team_id);
  // The id of the live queue that `e164` (e.g. "+74951234567", as normalised by
  // common::NormalizePhone) is dialled for; NOT_FOUND when no queue claims it.
  absl::StatusOr<std::string> FindQueueIdByDialledNumber(absl::string_view e164);

  // The routing configuration of one operator or queue as it is now in PostgreSQL (what the
  // store writes); for the live side's reconciler. NOT_FOUND when there is no such resource.
  absl::StatusOr<OperatorRouting> ReadOperatorRouting(absl::string_view operator_id);
  absl::StatusOr<QueueRouting> ReadQueueRouting(absl::string_view queue_id);

  // Writes every routing change left pending by a failed or interrupted write (see above),
  // skipping rows another replica is writing at the moment. Returns the first write error
  // after trying every row. Cheap when nothing is pending; run it every second or so.
  absl::Status FlushPendingRouting();

  // Writes the pending changes, then every live queue, then every live operator (queues first,
  // as operators refer to them): for start-up, when Redis may have lost its state. Returns the
  // first write error after trying every row.
  absl::Status RepublishAll();

  // Writes again the routing of every live queue with opening hours, whose open intervals in
  // Redis reach only a week ahead (opening_hours.h); every replica runs it hourly. Through
  // routing_pending like RepublishAll, so a newer change is never overwritten by an older one.
  absl::Status RefreshOpeningHours();

 private:
  // (kind, id) of operators and queues whose routing a change affects; kind 1 queue, 2 operator,
  // so that the set's order is the order of writing and of row locking.
  using RoutingKeys = std::set<std::pair<int, std::string>>;

  // One mutating RPC: the idempotency lookup, `effect(txn, keys)` (which fills `keys`), the
  // pending routing rows and the stored answer in one transaction; then the routing writes.
  template <typename Response, typename Effect>
  absl::StatusOr<Response> Mutate(absl::string_view method,
                                  const google::protobuf::Message& request,
                                  absl::string_view request_id, Effect&& effect);

  // Writes the routing of `keys` that are still pending, waiting for rows another flush holds
  // (so that the change is in routing when this returns OK).
  absl::Status FlushRouting(const RoutingKeys& keys);
  // Writes the routing of the locked pending `rows` (kind, id) and deletes the rows written;
  // returns the first write error.
  absl::Status WriteRoutingRows(pqxx::work& txn, const pqxx::result& rows);

  common::PgPool* pg_;
  RoutingConfigWriter* routing_;
  DeletionGuard* guard_;
  const AdminStoreOptions options_;
};

}  // namespace contactcentre::calls
