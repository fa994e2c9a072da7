// Resources of the calls service: queues, operators, teams, skills (CallsAdminService) and
// calls (CallsService, read-only).
#include "contactcentre/calls/v1/admin_service.pb.h"
#include "contactcentre/calls/v1/calls_service.pb.h"
#include "tools/ccctl/resources.h"

namespace contactcentre::ccctl {

std::vector<Resource> CallsResources() {
  const google::protobuf::ServiceDescriptor* admin =
      calls::v1::GetQueueRequest::descriptor()->file()->FindServiceByName("CallsAdminService");
  const google::protobuf::ServiceDescriptor* calls =
      calls::v1::GetCallRequest::descriptor()->file()->FindServiceByName("CallsService");
  std::vector<Resource> resources;
  resources.push_back({
      .plural = "queues",
      .aliases = {"queue", "q"},
      .service = "calls",
      .collection = "queues",
      .grpc_service = admin,
      .get_method = "GetQueue",
      .list_method = "ListQueues",
      .create_method = "CreateQueue",
      .delete_method = "DeleteQueue",
      .update_method = "UpdateQueue",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"SITE", "site"},
                  {"STRATEGY", "strategy"},
                  {"RING_TIMEOUT", "ring_timeout"},
                  {"REQUIRED_SKILLS", "required_skills.skill"},
                  {"CREATED", "create_time"}},
      .csv_aliases = {{"dialled_numbers", "dialled_numbers.raw"},
                      {"disposition_codes", "disposition_codes.code"}},
      .csv_help = "display_name, description, site, strategy (LONGEST_IDLE, FEWEST_CALLS_TODAY, "
                  "HIGHEST_SKILL, ROUND_ROBIN, RANDOM), ring_timeout (20s), "
                  "wrap_up_time_limit, service_level_threshold, service_level_target_percent, "
                  "default_priority, required_skills (skills/x:3;skills/y, the number the minimum "
                  "level), dialled_numbers (;-separated), "
                  "disposition_codes (JSON [{\"code\":\"resolved\",\"label\":\"Resolved\"}])",
  });
  resources.push_back({
      .plural = "operators",
      .aliases = {"operator", "op", "ops"},
      .service = "calls",
      .collection = "operators",
      .grpc_service = admin,
      .get_method = "GetOperator",
      .list_method = "ListOperators",
      .create_method = "CreateOperator",
      .delete_method = "DeleteOperator",
      .update_method = "UpdateOperator",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"LOGIN", "login"},
                  {"ROLE", "role"},
                  {"TEAM", "team"},
                  {"SKILLS", "skills.skill"},
                  {"LANGUAGES", "languages"},
                  {"DISABLED", "disabled"}},
      .csv_help = "display_name, login, role (OPERATOR, SUPERVISOR, ADMIN), team (teams/x), site, "
                  "endpoint, languages (ru;en), skills (skills/x:5;skills/y:3, the number the "
                  "level)",
  });
  resources.push_back({
      .plural = "teams",
      .aliases = {"team"},
      .service = "calls",
      .collection = "teams",
      .grpc_service = admin,
      .get_method = "GetTeam",
      .list_method = "ListTeams",
      .create_method = "CreateTeam",
      .delete_method = "DeleteTeam",
      .update_method = "UpdateTeam",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"SITE", "site"},
                  {"SUPERVISORS", "supervisors"}},
      .csv_help = "display_name, site, supervisors (operators/x;operators/y)",
  });
  resources.push_back({
      .plural = "skills",
      .aliases = {"skill"},
      .service = "calls",
      .collection = "skills",
      .grpc_service = admin,
      .get_method = "GetSkill",
      .list_method = "ListSkills",
      .create_method = "CreateSkill",
      .delete_method = "DeleteSkill",
      .update_method = "UpdateSkill",
      .columns = {{"ID", "id"}, {"DISPLAY_NAME", "display_name"}, {"DESCRIPTION", "description"}},
      .csv_help = "display_name, description",
  });
  resources.push_back({
      .plural = "memberships",
      .aliases = {"membership", "queue-memberships"},
      .service = "calls",
      .collection = "memberships",
      .grpc_service = admin,
      .get_method = "GetQueueMembership",
      .list_method = "ListQueueMemberships",
      .create_method = "CreateQueueMembership",
      .delete_method = "DeleteQueueMembership",
      .update_method = "UpdateQueueMembership",
      .columns = {{"NAME", "name"},
                  {"OPERATOR", "operator"},
                  {"TIER", "tier"},
                  {"PENALTY", "penalty"},
                  {"SKILL_LEVEL", "skill_level"},
                  {"PAUSED", "paused"}},
      .csv_aliases = {{"queue", "parent"}},
      .csv_help = "queue (queues/x), operator (operators/y), tier (1..9), penalty (0..100), "
                  "skill_level (1..10), paused",
      .list_defaults = {"parent=queues/-"},
  });
  resources.push_back({
      .plural = "calls",
      .aliases = {"call"},
      .service = "calls",
      .collection = "calls",
      .grpc_service = calls,
      .get_method = "GetCall",
      .list_method = "ListCalls",
      .columns = {{"ID", "id"},
                  {"DIRECTION", "direction"},
                  {"STATE", "state"},
                  {"QUEUE", "queue"},
                  {"OPERATOR", "operator"},
                  {"NUMBER", "customer_number.e164"},
                  {"OFFERED", "offer_time"}},
  });
  return resources;
}

}  // namespace contactcentre::ccctl
