// The pure checks of CallsAdminService: names, field masks, and each resource's limits and
// defaults, without servers.
#include "services/calls/admin_validation.h"

#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace contactcentre::calls {
namespace {

constexpr char kUuid[] = "0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b";
constexpr char kOtherUuid[] = "0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6c";

// The status is INVALID_ARGUMENT and its message starts with "invalid <field>:".
::testing::AssertionResult InvalidField(const absl::Status& status, absl::string_view field) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "code " << status;
  }
  if (!absl::StartsWith(status.message(), absl::StrCat("invalid ", field, ": "))) {
    return ::testing::AssertionFailure() << "message " << status.message();
  }
  return ::testing::AssertionSuccess();
}

v1::Operator ValidOperator() {
  v1::Operator op;
  op.set_display_name("  Anna Petrova ");
  op.set_login("anna.petrova");
  op.set_site("msk");
  op.set_endpoint("sip:1042@pbx.msk.example");
  v1::SkillLevel* skill = op.add_skills();
  skill->set_skill(absl::StrCat("skills/", kUuid));
  skill->set_level(7);
  op.add_languages("ru");
  op.add_languages("en-GB");
  return op;
}

v1::Queue ValidQueue() {
  v1::Queue queue;
  queue.set_display_name("Cards");
  queue.set_site("msk");
  v1::DispositionCode* code = queue.add_disposition_codes();
  code->set_code("resolved");
  code->set_label("Вопрос решён");
  queue.add_dialled_numbers()->set_raw("8 (495) 123-45-67");
  return queue;
}

TEST(ResourceNames, ParseAndBuild) {
  EXPECT_EQ(ResourceName(kQueues, kUuid), absl::StrCat("queues/", kUuid));
  EXPECT_EQ(*ParseResourceId(absl::StrCat("operators/", kUuid), kOperators, "name"), kUuid);
  EXPECT_TRUE(InvalidField(ParseResourceId("", kOperators, "name").status(), "name"));
  EXPECT_TRUE(InvalidField(
      ParseResourceId(absl::StrCat("teams/", kUuid), kOperators, "name").status(), "name"));
  EXPECT_TRUE(InvalidField(ParseResourceId("operators/42", kOperators, "name").status(), "name"));
  EXPECT_TRUE(InvalidField(
      ParseResourceId("operators/0193B7A2-5C1E-7D3F-8A4B-1C2D3E4F5A6B", kOperators, "x").status(),
      "x"));

  const std::string membership = MembershipName(kUuid, kOtherUuid);
  EXPECT_EQ(membership, absl::StrCat("queues/", kUuid, "/memberships/", kOtherUuid));
  absl::StatusOr<MembershipKey> key = ParseMembershipName(membership, "name");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->queue_id, kUuid);
  EXPECT_EQ(key->operator_id, kOtherUuid);
  EXPECT_TRUE(
      InvalidField(ParseMembershipName(absl::StrCat("queues/", kUuid), "name").status(), "name"));
  EXPECT_EQ(*ParseMembershipParent("queues/-", "parent"), "");
  EXPECT_EQ(*ParseMembershipParent(absl::StrCat("queues/", kUuid), "parent"), kUuid);
  EXPECT_TRUE(InvalidField(ParseMembershipParent("queues/", "parent").status(), "parent"));
}

TEST(RequestIds, AreRequiredAndBounded) {
  EXPECT_TRUE(CheckRequestId("r-1").ok());
  EXPECT_TRUE(InvalidField(CheckRequestId(""), "request_id"));
  EXPECT_TRUE(InvalidField(CheckRequestId(std::string(65, 'x')), "request_id"));
  EXPECT_TRUE(CheckRequestId(std::string(64, 'x')).ok());
}

TEST(Operators, DefaultsAndTrimming) {
  v1::Operator op = ValidOperator();
  op.set_name("operators/ignored");
  op.set_etag("7");
  ASSERT_TRUE(NormalizeOperator(op, "operator").ok());
  EXPECT_EQ(op.display_name(), "Anna Petrova");
  EXPECT_EQ(op.role(), v1::OPERATOR_ROLE_OPERATOR);
  EXPECT_EQ(op.name(), "");
  EXPECT_EQ(op.etag(), "");
}

TEST(Operators, EachRuleNamesItsField) {
  struct Case {
    std::function<void(v1::Operator&)> change;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Operator& op) { op.set_display_name("   "); }, "operator.display_name"},
      {[](v1::Operator& op) { op.set_display_name(std::string(201, 'a')); },
       "operator.display_name"},
      {[](v1::Operator& op) { op.clear_login(); }, "operator.login"},
      {[](v1::Operator& op) { op.set_login("Anna"); }, "operator.login"},
      {[](v1::Operator& op) { op.set_login(std::string(101, 'a')); }, "operator.login"},
      {[](v1::Operator& op) { op.clear_site(); }, "operator.site"},
      {[](v1::Operator& op) { op.set_site("m{s}k"); }, "operator.site"},
      {[](v1::Operator& op) { op.set_role(static_cast<v1::OperatorRole>(9)); }, "operator.role"},
      {[](v1::Operator& op) { op.set_team("teams/x"); }, "operator.team"},
      {[](v1::Operator& op) { op.mutable_skills(0)->set_level(11); }, "operator.skills[0].level"},
      {[](v1::Operator& op) { op.mutable_skills(0)->set_level(0); }, "operator.skills[0].level"},
      {[](v1::Operator& op) { *op.add_skills() = op.skills(0); }, "operator.skills[1].skill"},
      {[](v1::Operator& op) { op.mutable_skills(0)->set_skill("skills/"); },
       "operator.skills[0].skill"},
      {[](v1::Operator& op) { op.clear_endpoint(); }, "operator.endpoint"},
      {[](v1::Operator& op) { op.add_languages("english language"); }, "operator.languages[2]"},
      {[](v1::Operator& op) { op.add_languages("RU"); }, "operator.languages[2]"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::Operator op = ValidOperator();
    cases[i].change(op);
    EXPECT_TRUE(InvalidField(NormalizeOperator(op, "operator"), cases[i].field)) << "case " << i;
  }
}

TEST(Operators, SupervisorsMayHaveNoEndpoint) {
  v1::Operator op = ValidOperator();
  op.clear_endpoint();
  op.set_role(v1::OPERATOR_ROLE_SUPERVISOR);
  EXPECT_TRUE(NormalizeOperator(op, "operator").ok());
}

TEST(Teams, Supervisors) {
  v1::Team team;
  team.set_display_name("Cards, 2nd line");
  team.set_site("msk");
  team.add_supervisors(absl::StrCat("operators/", kUuid));
  EXPECT_TRUE(NormalizeTeam(team, "team").ok());
  team.add_supervisors(absl::StrCat("operators/", kUuid));
  EXPECT_TRUE(InvalidField(NormalizeTeam(team, "team"), "team.supervisors[1]"));
  team.clear_supervisors();
  team.clear_display_name();
  EXPECT_TRUE(InvalidField(NormalizeTeam(team, "team"), "team.display_name"));
}

TEST(Skills, NameAndDescription) {
  v1::Skill skill;
  skill.set_display_name("English");
  EXPECT_TRUE(NormalizeSkill(skill, "skill").ok());
  skill.set_description(std::string(2001, 'a'));
  EXPECT_TRUE(InvalidField(NormalizeSkill(skill, "skill"), "skill.description"));
  // Characters, not bytes: 200 Cyrillic letters are 400 bytes and allowed.
  std::string cyrillic;
  for (int i = 0; i < 200; ++i) cyrillic += "ж";
  skill.clear_description();
  skill.set_display_name(cyrillic);
  EXPECT_TRUE(NormalizeSkill(skill, "skill").ok());
}

TEST(Queues, DefaultsOfTheContract) {
  v1::Queue queue = ValidQueue();
  ASSERT_TRUE(NormalizeQueue(queue, "queue", "RU").ok());
  EXPECT_EQ(queue.strategy(), v1::QUEUE_STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(queue.ring_timeout().seconds(), 20);
  EXPECT_EQ(queue.wrap_up_time_limit().seconds(), 60);
  EXPECT_EQ(queue.max_misses_before_not_ready(), 3);
  EXPECT_EQ(queue.service_level_threshold().seconds(), 20);
  EXPECT_EQ(queue.service_level_target_percent(), 80);
  EXPECT_EQ(queue.short_abandon_threshold().seconds(), 5);
  EXPECT_EQ(queue.vip_priority_boost(), 3);
  EXPECT_EQ(queue.de_escalation_min_level(), 0);
  EXPECT_EQ(queue.dialled_numbers(0).e164(), "+74951234567");
  EXPECT_EQ(queue.dialled_numbers(0).raw(), "8 (495) 123-45-67");
  EXPECT_FALSE(queue.has_overflow());
  EXPECT_FALSE(queue.has_opening_hours());
}

TEST(Queues, ExplicitZeroesAreKept) {
  v1::Queue queue = ValidQueue();
  queue.set_max_misses_before_not_ready(0);
  queue.set_vip_priority_boost(0);
  queue.mutable_short_abandon_threshold();
  queue.set_de_escalation_skill(absl::StrCat("skills/", kUuid));
  ASSERT_TRUE(NormalizeQueue(queue, "queue", "RU").ok());
  EXPECT_EQ(queue.max_misses_before_not_ready(), 0);
  EXPECT_EQ(queue.vip_priority_boost(), 0);
  EXPECT_EQ(queue.short_abandon_threshold().seconds(), 0);
  EXPECT_EQ(queue.de_escalation_min_level(), 1);
}

TEST(Queues, EachRuleNamesItsField) {
  struct Case {
    std::function<void(v1::Queue&)> change;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Queue& q) { q.clear_display_name(); }, "queue.display_name"},
      {[](v1::Queue& q) { q.clear_site(); }, "queue.site"},
      {[](v1::Queue& q) { q.set_strategy(static_cast<v1::QueueStrategy>(17)); }, "queue.strategy"},
      {[](v1::Queue& q) { q.mutable_ring_timeout()->set_seconds(4); }, "queue.ring_timeout"},
      {[](v1::Queue& q) { q.mutable_ring_timeout()->set_seconds(301); }, "queue.ring_timeout"},
      {[](v1::Queue& q) { q.mutable_ring_timeout()->set_nanos(-5); }, "queue.ring_timeout"},
      {[](v1::Queue& q) { q.mutable_wrap_up_time_limit()->set_seconds(3601); },
       "queue.wrap_up_time_limit"},
      {[](v1::Queue& q) { q.set_max_misses_before_not_ready(-1); },
       "queue.max_misses_before_not_ready"},
      {[](v1::Queue& q) { q.clear_disposition_codes(); }, "queue.disposition_codes"},
      {[](v1::Queue& q) { q.mutable_disposition_codes(0)->set_disabled(true); },
       "queue.disposition_codes"},
      {[](v1::Queue& q) { q.mutable_disposition_codes(0)->set_code("Resolved"); },
       "queue.disposition_codes[0].code"},
      {[](v1::Queue& q) { *q.add_disposition_codes() = q.disposition_codes(0); },
       "queue.disposition_codes[1].code"},
      {[](v1::Queue& q) { q.mutable_disposition_codes(0)->clear_label(); },
       "queue.disposition_codes[0].label"},
      {[](v1::Queue& q) { q.set_service_level_target_percent(101); },
       "queue.service_level_target_percent"},
      {[](v1::Queue& q) { q.set_de_escalation_min_level(2); }, "queue.de_escalation_min_level"},
      {[](v1::Queue& q) { q.set_de_escalation_skill("skills/x"); }, "queue.de_escalation_skill"},
      {[](v1::Queue& q) { q.mutable_opening_hours()->set_time_zone("Mars/Olympus"); },
       "queue.opening_hours.time_zone"},
      {[](v1::Queue& q) {
         q.mutable_opening_hours()->set_time_zone("Europe/Moscow");
         q.mutable_opening_hours()->add_windows()->set_end_minute(600);
       },
       "queue.opening_hours.windows[0].day"},
      {[](v1::Queue& q) {
         q.mutable_opening_hours()->set_time_zone("Europe/Moscow");
         q.mutable_opening_hours()->add_closed_dates("2026-02-30");
       },
       "queue.opening_hours.closed_dates[0]"},
      {[](v1::Queue& q) { q.add_required_skills()->set_skill(absl::StrCat("skills/", kUuid)); },
       "queue.required_skills[0].level"},
      {[](v1::Queue& q) { q.add_dialled_numbers()->set_raw("+7 495 123 45 67"); },
       "queue.dialled_numbers[1]"},
      {[](v1::Queue& q) { q.add_dialled_numbers()->set_raw("12"); },
       "queue.dialled_numbers[1].raw"},
      {[](v1::Queue& q) { q.add_dialled_numbers(); }, "queue.dialled_numbers[1].raw"},
      {[](v1::Queue& q) { q.set_default_priority(10); }, "queue.default_priority"},
      {[](v1::Queue& q) { q.set_vip_priority_boost(-1); }, "queue.vip_priority_boost"},
      {[](v1::Queue& q) { q.mutable_tier_wait()->set_seconds(-1); }, "queue.tier_wait"},
      {[](v1::Queue& q) { q.mutable_overflow()->set_max_waiting_calls(-1); },
       "queue.overflow.max_waiting_calls"},
      {[](v1::Queue& q) { q.mutable_overflow()->set_target_queue("queues/1"); },
       "queue.overflow.target_queue"},
      {[](v1::Queue& q) { q.mutable_overflow()->mutable_forward_number()->set_raw("x"); },
       "queue.overflow.forward_number.raw"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::Queue queue = ValidQueue();
    cases[i].change(queue);
    EXPECT_TRUE(InvalidField(NormalizeQueue(queue, "queue", "RU"), cases[i].field)) << "case " << i;
  }
}

TEST(Queues, OverflowAndScheduleAreKeptWhenSet) {
  v1::Queue queue = ValidQueue();
  queue.mutable_overflow()->mutable_max_wait_time()->set_seconds(300);
  queue.mutable_overflow()->mutable_forward_number()->set_raw("+7 (916) 111-22-33");
  queue.mutable_opening_hours()->set_time_zone("Europe/Moscow");
  common::v1::DailyWindow* window = queue.mutable_opening_hours()->add_windows();
  window->set_day(common::v1::DAY_OF_WEEK_MONDAY);
  window->set_start_minute(540);
  window->set_end_minute(1260);
  ASSERT_TRUE(NormalizeQueue(queue, "queue", "RU").ok());
  EXPECT_EQ(queue.overflow().forward_number().e164(), "+79161112233");
  EXPECT_EQ(queue.overflow().max_wait_time().seconds(), 300);
  EXPECT_EQ(queue.opening_hours().windows_size(), 1);
  // An empty overflow or schedule reads as unset.
  v1::Queue empty = ValidQueue();
  empty.mutable_overflow();
  empty.mutable_opening_hours();
  ASSERT_TRUE(NormalizeQueue(empty, "queue", "RU").ok());
  EXPECT_FALSE(empty.has_overflow());
  EXPECT_FALSE(empty.has_opening_hours());
}

TEST(Memberships, DefaultsAndLimits) {
  v1::QueueMembership membership;
  membership.set_operator_(absl::StrCat("operators/", kUuid));
  ASSERT_TRUE(NormalizeMembership(membership, "membership").ok());
  EXPECT_EQ(membership.tier(), 1);
  EXPECT_EQ(membership.skill_level(), 0);
  membership.set_tier(10);
  EXPECT_TRUE(InvalidField(NormalizeMembership(membership, "membership"), "membership.tier"));
  membership.set_tier(9);
  membership.set_penalty(101);
  EXPECT_TRUE(InvalidField(NormalizeMembership(membership, "membership"), "membership.penalty"));
  membership.set_penalty(100);
  membership.set_skill_level(11);
  EXPECT_TRUE(
      InvalidField(NormalizeMembership(membership, "membership"), "membership.skill_level"));
  membership.set_skill_level(10);
  membership.clear_operator_();
  EXPECT_TRUE(InvalidField(NormalizeMembership(membership, "membership"), "membership.operator"));
}

TEST(FieldMasks, PathsAndErrors) {
  const google::protobuf::Descriptor& descriptor = *v1::Operator::descriptor();
  google::protobuf::FieldMask mask;
  EXPECT_TRUE(
      InvalidField(UpdatePaths(mask, OperatorMaskRules(), descriptor).status(), "update_mask"));
  mask.add_paths("display_name");
  mask.add_paths("skills");
  mask.add_paths("display_name");
  EXPECT_EQ(*UpdatePaths(mask, OperatorMaskRules(), descriptor),
            (std::vector<std::string>{"display_name", "skills"}));

  mask.add_paths("site");
  absl::Status immutable = UpdatePaths(mask, OperatorMaskRules(), descriptor).status();
  EXPECT_TRUE(InvalidField(immutable, "update_mask"));
  EXPECT_EQ(immutable.message(), "invalid update_mask: site is immutable");

  for (const char* bad : {"etag", "create_time", "no_such_field", "skills.level"}) {
    google::protobuf::FieldMask one;
    one.add_paths(bad);
    EXPECT_TRUE(
        InvalidField(UpdatePaths(one, OperatorMaskRules(), descriptor).status(), "update_mask"))
        << bad;
  }
  google::protobuf::FieldMask star;
  star.add_paths("*");
  EXPECT_EQ(UpdatePaths(star, OperatorMaskRules(), descriptor)->size(),
            OperatorMaskRules().writable.size());
}

TEST(FieldMasks, ApplyReplacesWholeFieldsAndClearsUnsetOnes) {
  v1::Queue stored = ValidQueue();
  stored.mutable_ring_timeout()->set_seconds(30);
  stored.set_max_misses_before_not_ready(5);
  stored.set_description("old");
  v1::Queue patch;
  patch.set_description("new");
  v1::DispositionCode* code = patch.add_disposition_codes();
  code->set_code("callback");
  code->set_label("Перезвонить");
  ApplyPaths(patch,
             {"description", "disposition_codes", "ring_timeout", "max_misses_before_not_ready"},
             stored);
  EXPECT_EQ(stored.description(), "new");
  ASSERT_EQ(stored.disposition_codes_size(), 1);
  EXPECT_EQ(stored.disposition_codes(0).code(), "callback");
  EXPECT_FALSE(stored.has_ring_timeout());
  EXPECT_FALSE(stored.has_max_misses_before_not_ready());
  EXPECT_EQ(stored.display_name(), "Cards");
}

}  // namespace
}  // namespace contactcentre::calls
