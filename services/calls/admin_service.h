// The gRPC face of CallsAdminService: thin adapters from the contract to AdminStore on the sync
// API (each method blocks on PostgreSQL, then on the routing write).
#pragma once

#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "services/calls/admin_store.h"

namespace contactcentre::calls {

class CallsAdminGrpcService final : public v1::CallsAdminService::Service {
 public:
  // `store` is not owned and must outlive the service.
  explicit CallsAdminGrpcService(AdminStore* store) : store_(store) {}

  grpc::Status CreateOperator(grpc::ServerContext* context,
                              const v1::CreateOperatorRequest* request,
                              v1::Operator* response) override;
  grpc::Status GetOperator(grpc::ServerContext* context, const v1::GetOperatorRequest* request,
                           v1::Operator* response) override;
  grpc::Status ListOperators(grpc::ServerContext* context, const v1::ListOperatorsRequest* request,
                             v1::ListOperatorsResponse* response) override;
  grpc::Status UpdateOperator(grpc::ServerContext* context,
                              const v1::UpdateOperatorRequest* request,
                              v1::Operator* response) override;
  grpc::Status DeleteOperator(grpc::ServerContext* context,
                              const v1::DeleteOperatorRequest* request,
                              v1::Operator* response) override;
  grpc::Status CreateTeam(grpc::ServerContext* context, const v1::CreateTeamRequest* request,
                          v1::Team* response) override;
  grpc::Status GetTeam(grpc::ServerContext* context, const v1::GetTeamRequest* request,
                       v1::Team* response) override;
  grpc::Status ListTeams(grpc::ServerContext* context, const v1::ListTeamsRequest* request,
                         v1::ListTeamsResponse* response) override;
  grpc::Status UpdateTeam(grpc::ServerContext* context, const v1::UpdateTeamRequest* request,
                          v1::Team* response) override;
  grpc::Status DeleteTeam(grpc::ServerContext* context, const v1::DeleteTeamRequest* request,
                          google::protobuf::Empty* response) override;
  grpc::Status CreateSkill(grpc::ServerContext* context, const v1::CreateSkillRequest* request,
                           v1::Skill* response) override;
  grpc::Status GetSkill(grpc::ServerContext* context, const v1::GetSkillRequest* request,
                        v1::Skill* response) override;
  grpc::Status ListSkills(grpc::ServerContext* context, const v1::ListSkillsRequest* request,
                          v1::ListSkillsResponse* response) override;
  grpc::Status UpdateSkill(grpc::ServerContext* context, const v1::UpdateSkillRequest* request,
                           v1::Skill* response) override;
  grpc::Status DeleteSkill(grpc::ServerContext* context, const v1::DeleteSkillRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status CreateQueue(grpc::ServerContext* context, const v1::CreateQueueRequest* request,
                           v1::Queue* response) override;
  grpc::Status GetQueue(grpc::ServerContext* context, const v1::GetQueueRequest* request,
                        v1::Queue* response) override;
  grpc::Status ListQueues(grpc::ServerContext* context, const v1::ListQueuesRequest* request,
                          v1::ListQueuesResponse* response) override;
  grpc::Status UpdateQueue(grpc::ServerContext* context, const v1::UpdateQueueRequest* request,
                           v1::Queue* response) override;
  grpc::Status DeleteQueue(grpc::ServerContext* context, const v1::DeleteQueueRequest* request,
                           v1::Queue* response) override;
  grpc::Status CreateQueueMembership(grpc::ServerContext* context,
                                     const v1::CreateQueueMembershipRequest* request,
                                     v1::QueueMembership* response) override;
  grpc::Status GetQueueMembership(grpc::ServerContext* context,
                                  const v1::GetQueueMembershipRequest* request,
                                  v1::QueueMembership* response) override;
  grpc::Status ListQueueMemberships(grpc::ServerContext* context,
                                    const v1::ListQueueMembershipsRequest* request,
                                    v1::ListQueueMembershipsResponse* response) override;
  grpc::Status UpdateQueueMembership(grpc::ServerContext* context,
                                     const v1::UpdateQueueMembershipRequest* request,
                                     v1::QueueMembership* response) override;
  grpc::Status DeleteQueueMembership(grpc::ServerContext* context,
                                     const v1::DeleteQueueMembershipRequest* request,
                                     google::protobuf::Empty* response) override;

 private:
  AdminStore* store_;
};

}  // namespace contactcentre::calls
