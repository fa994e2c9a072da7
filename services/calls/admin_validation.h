// The pure part of CallsAdminService: resource names, field masks, and the checks and defaults
// of each resource as the contract (proto/contactcentre/calls/v1/routing_config.proto) states
// them. Nothing here touches a database, so unit tests cover it without servers.
//
// Every check returns INVALID_ARGUMENT whose message starts with the field path, e.g.
// "invalid operator.skills[1].level: must be 1..10" (common::InvalidArgumentError).
#pragma once

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/calls/v1/routing_config.pb.h"

namespace contactcentre::calls {

// Resource collections, as in "operators/{operator_id}".
inline constexpr absl::string_view kOperators = "operators";
inline constexpr absl::string_view kTeams = "teams";
inline constexpr absl::string_view kSkills = "skills";
inline constexpr absl::string_view kQueues = "queues";

// "<collection>/<id>".
std::string ResourceName(absl::string_view collection, absl::string_view id);
// "queues/{queue_id}/memberships/{operator_id}".
std::string MembershipName(absl::string_view queue_id, absl::string_view operator_id);

// The id of "<collection>/<id>" where the id is a canonical (lower-case) UUID; INVALID_ARGUMENT
// naming `field` otherwise, including for an empty name.
absl::StatusOr<std::string> ParseResourceId(absl::string_view name, absl::string_view collection,
                                            absl::string_view field);

struct MembershipKey {
  std::string queue_id;
  std::string operator_id;
};

// "queues/{queue_id}/memberships/{operator_id}"; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<MembershipKey> ParseMembershipName(absl::string_view name, absl::string_view field);

// The queue id of a ListQueueMemberships parent: "queues/{queue_id}", or "" for "queues/-".
absl::StatusOr<std::string> ParseMembershipParent(absl::string_view parent,
                                                  absl::string_view field);

// Limits the contract leaves open; chosen so that no single resource grows without bound.
inline constexpr int kMaxOperatorSkills = 100;
inline constexpr int kMaxLanguages = 20;
inline constexpr int kMaxSupervisors = 50;
inline constexpr int kMaxRequiredSkills = 20;
inline constexpr int kMaxDialledNumbers = 100;
inline constexpr int kMaxDispositionCodes = 200;
inline constexpr int kMaxScheduleWindows = 100;
inline constexpr int kMaxClosedDates = 1000;
inline constexpr int kMaxDisplayName = 200;   // characters
inline constexpr int kMaxDescription = 2000;  // characters
inline constexpr int kMaxEndpoint = 256;      // characters
inline constexpr int kMaxSite = 64;           // characters
inline constexpr int kMaxLogin = 100;         // characters
inline constexpr int kMaxRequestId = 64;      // characters
inline constexpr int kMaxListQuery = 200;     // characters

// Defaults the contract states for unset queue fields.
inline constexpr absl::Duration kDefaultRingTimeout = absl::Seconds(20);
inline constexpr absl::Duration kDefaultWrapUpTimeLimit = absl::Seconds(60);
inline constexpr absl::Duration kDefaultServiceLevelThreshold = absl::Seconds(20);
inline constexpr absl::Duration kDefaultShortAbandonThreshold = absl::Seconds(5);
inline constexpr int kDefaultMaxMisses = 3;
inline constexpr int kDefaultVipPriorityBoost = 3;
inline constexpr int kDefaultServiceLevelTargetPercent = 80;

// `request_id` of a mutating request: required, at most 64 characters.
absl::Status CheckRequestId(absl::string_view request_id);

// Checks a site name: 1..64 characters, none of "{", "}", ":" or white space, since the site
// becomes the Redis hash tag "cc:{site}:" (the same rule as the services' --site flag).
absl::Status CheckSite(absl::string_view site, absl::string_view field);

// Each Normalize* checks the writable fields of a whole resource as it will be stored (after
// a field mask was applied, for updates), trims display names, fills the contract's defaults
// for unset fields, and clears output-only fields. `path` is the request field holding it, e.g.
// "operator". References to other resources are checked for form only; whether they exist is
// the store's business.
absl::Status NormalizeOperator(v1::Operator& op, absl::string_view path);
absl::Status NormalizeTeam(v1::Team& team, absl::string_view path);
absl::Status NormalizeSkill(v1::Skill& skill, absl::string_view path);
// Dialled numbers and the overflow forward number are parsed into E.164 with `default_region`
// for numbers without a country code.
absl::Status NormalizeQueue(v1::Queue& queue, absl::string_view path,
                            absl::string_view default_region);
absl::Status NormalizeMembership(v1::QueueMembership& membership, absl::string_view path);

// The opening-hours schedule: a known IANA zone, windows with a day and
// 0 <= start < end <= 1440, closed dates "YYYY-MM-DD".
absl::Status CheckSchedule(const common::v1::WeeklySchedule& schedule, absl::string_view field);

// What an update may name in its mask.
struct MaskRules {
  // Fields "*" stands for and that may be named.
  std::set<std::string> writable;
  // Fields refused with "update_mask: <field> is immutable".
  std::set<std::string> immutable;
};

// The top-level fields an update changes: `mask` expanded ("*" means every writable field),
// deduplicated. INVALID_ARGUMENT "update_mask" when the mask is empty, names an immutable,
// output-only, nested or unknown field.
absl::StatusOr<std::vector<std::string>> UpdatePaths(const google::protobuf::FieldMask& mask,
                                                     const MaskRules& rules,
                                                     const google::protobuf::Descriptor& resource);

// Copies the top-level `paths` of `source` over `target` (same message type): repeated fields
// and messages replaced whole, an unset field in `source` clears it in `target`.
void ApplyPaths(const google::protobuf::Message& source, const std::vector<std::string>& paths,
                google::protobuf::Message& target);

// The mask rules of each resource.
const MaskRules& OperatorMaskRules();
const MaskRules& TeamMaskRules();
const MaskRules& SkillMaskRules();
const MaskRules& QueueMaskRules();
const MaskRules& MembershipMaskRules();

// Number of Unicode code points of UTF-8 `text`.
int CodePoints(absl::string_view text);

}  // namespace contactcentre::calls
