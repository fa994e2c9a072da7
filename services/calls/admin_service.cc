#include "services/calls/admin_service.h"

#include "common/log.h"
#include "common/status.h"

namespace contactcentre::calls {
namespace {

// Copies a result into the response, or maps its error; INTERNAL and UNKNOWN errors are logged,
// since the client's message is all anyone else would see of them.
template <typename Response>
grpc::Status Respond(absl::StatusOr<Response> result, Response* response,
                     absl::string_view method) {
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInternal ||
        result.status().code() == absl::StatusCode::kUnknown) {
      common::LogError("request failed", {{"method", method}, {"error", result.status()}});
    }
    return common::ToGrpcStatus(result.status());
  }
  *response = std::move(*result);
  return grpc::Status::OK;
}

// The same for methods answering google.protobuf.Empty.
grpc::Status Respond(const absl::Status& status, google::protobuf::Empty* response,
                     absl::string_view method) {
  return Respond(status.ok() ? absl::StatusOr<google::protobuf::Empty>(google::protobuf::Empty())
                             : absl::StatusOr<google::protobuf::Empty>(status),
                 response, method);
}

}  // namespace

grpc::Status CallsAdminGrpcService::CreateOperator(grpc::ServerContext*,
                                                   const v1::CreateOperatorRequest* request,
                                                   v1::Operator* response) {
  return Respond(store_->CreateOperator(*request), response, "CreateOperator");
}

grpc::Status CallsAdminGrpcService::GetOperator(grpc::ServerContext*,
                                                const v1::GetOperatorRequest* request,
                                                v1::Operator* response) {
  return Respond(store_->GetOperator(*request), response, "GetOperator");
}

grpc::Status CallsAdminGrpcService::ListOperators(grpc::ServerContext*,
                                                  const v1::ListOperatorsRequest* request,
                                                  v1::ListOperatorsResponse* response) {
  return Respond(store_->ListOperators(*request), response, "ListOperators");
}

grpc::Status CallsAdminGrpcService::UpdateOperator(grpc::ServerContext*,
                                                   const v1::UpdateOperatorRequest* request,
                                                   v1::Operator* response) {
  return Respond(store_->UpdateOperator(*request), response, "UpdateOperator");
}

grpc::Status CallsAdminGrpcService::DeleteOperator(grpc::ServerContext*,
                                                   const v1::DeleteOperatorRequest* request,
                                                   v1::Operator* response) {
  return Respond(store_->DeleteOperator(*request), response, "DeleteOperator");
}

grpc::Status CallsAdminGrpcService::CreateTeam(grpc::ServerContext*,
                                               const v1::CreateTeamRequest* request,
                                               v1::Team* response) {
  return Respond(store_->CreateTeam(*request), response, "CreateTeam");
}

grpc::Status CallsAdminGrpcService::GetTeam(grpc::ServerContext*, const v1::GetTeamRequest* request,
                                            v1::Team* response) {
  return Respond(store_->GetTeam(*request), response, "GetTeam");
}

grpc::Status CallsAdminGrpcService::ListTeams(grpc::ServerContext*,
                                              const v1::ListTeamsRequest* request,
                                              v1::ListTeamsResponse* response) {
  return Respond(store_->ListTeams(*request), response, "ListTeams");
}

grpc::Status CallsAdminGrpcService::UpdateTeam(grpc::ServerContext*,
                                               const v1::UpdateTeamRequest* request,
                                               v1::Team* response) {
  return Respond(store_->UpdateTeam(*request), response, "UpdateTeam");
}

grpc::Status CallsAdminGrpcService::DeleteTeam(grpc::ServerContext*,
                                               const v1::DeleteTeamRequest* request,
                                               google::protobuf::Empty* response) {
  return Respond(store_->DeleteTeam(*request), response, "DeleteTeam");
}

grpc::Status CallsAdminGrpcService::CreateSkill(grpc::ServerContext*,
                                                const v1::CreateSkillRequest* request,
                                                v1::Skill* response) {
  return Respond(store_->CreateSkill(*request), response, "CreateSkill");
}

grpc::Status CallsAdminGrpcService::GetSkill(grpc::ServerContext*,
                                             const v1::GetSkillRequest* request,
                                             v1::Skill* response) {
  return Respond(store_->GetSkill(*request), response, "GetSkill");
}

grpc::Status CallsAdminGrpcService::ListSkills(grpc::ServerContext*,
                                               const v1::ListSkillsRequest* request,
                                               v1::ListSkillsResponse* response) {
  return Respond(store_->ListSkills(*request), response, "ListSkills");
}

grpc::Status CallsAdminGrpcService::UpdateSkill(grpc::ServerContext*,
                                                const v1::UpdateSkillRequest* request,
                                                v1::Skill* response) {
  return Respond(store_->UpdateSkill(*request), response, "UpdateSkill");
}

grpc::Status CallsAdminGrpcService::DeleteSkill(grpc::ServerContext*,
                                                const v1::DeleteSkillRequest* request,
                                                google::protobuf::Empty* response) {
  return Respond(store_->DeleteSkill(*request), response, "DeleteSkill");
}

grpc::Status CallsAdminGrpcService::CreateQueue(grpc::ServerContext*,
                                                const v1::CreateQueueRequest* request,
                                                v1::Queue* response) {
  return Respond(store_->CreateQueue(*request), response, "CreateQueue");
}

grpc::Status CallsAdminGrpcService::GetQueue(grpc::ServerContext*,
                                             const v1::GetQueueRequest* request,
                                             v1::Queue* response) {
  return Respond(store_->GetQueue(*request), response, "GetQueue");
}

grpc::Status CallsAdminGrpcService::ListQueues(grpc::ServerContext*,
                                               const v1::ListQueuesRequest* request,
                                               v1::ListQueuesResponse* response) {
  return Respond(store_->ListQueues(*request), response, "ListQueues");
}

grpc::Status CallsAdminGrpcService::UpdateQueue(grpc::ServerContext*,
                                                const v1::UpdateQueueRequest* request,
                                                v1::Queue* response) {
  return Respond(store_->UpdateQueue(*request), response, "UpdateQueue");
}

grpc::Status CallsAdminGrpcService::DeleteQueue(grpc::ServerContext*,
                                                const v1::DeleteQueueRequest* request,
                                                v1::Queue* response) {
  return Respond(store_->DeleteQueue(*request), response, "DeleteQueue");
}

grpc::Status CallsAdminGrpcService::CreateQueueMembership(
    grpc::ServerContext*, const v1::CreateQueueMembershipRequest* request,
    v1::QueueMembership* response) {
  return Respond(store_->CreateQueueMembership(*request), response, "CreateQueueMembership");
}

grpc::Status CallsAdminGrpcService::GetQueueMembership(grpc::ServerContext*,
                                                       const v1::GetQueueMembershipRequest* request,
                                                       v1::QueueMembership* response) {
  return Respond(store_->GetQueueMembership(*request), response, "GetQueueMembership");
}

grpc::Status CallsAdminGrpcService::ListQueueMemberships(
    grpc::ServerContext*, const v1::ListQueueMembershipsRequest* request,
    v1::ListQueueMembershipsResponse* response) {
  return Respond(store_->ListQueueMemberships(*request), response, "ListQueueMemberships");
}

grpc::Status CallsAdminGrpcService::UpdateQueueMembership(
    grpc::ServerContext*, const v1::UpdateQueueMembershipRequest* request,
    v1::QueueMembership* response) {
  return Respond(store_->UpdateQueueMembership(*request), response, "UpdateQueueMembership");
}

grpc::Status CallsAdminGrpcService::DeleteQueueMembership(
    grpc::ServerContext*, const v1::DeleteQueueMembershipRequest* request,
    google::protobuf::Empty* response) {
  return Respond(store_->DeleteQueueMembership(*request), response, "DeleteQueueMembership");
}

}  // namespace contactcentre::calls
