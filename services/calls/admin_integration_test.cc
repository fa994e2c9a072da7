// CallsAdminService over real gRPC against the real PostgreSQL of the test run, with a fake
// RoutingConfigWriter that records what reaches routing: each test on its own database.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "common/testing/test_servers.h"
#include "services/calls/admin_service.h"
#include "services/calls/admin_store.h"
#include "services/calls/schema.h"

namespace contactcentre::calls {
namespace {

using v1::CallsAdminService;

// Records every routing write; the latest of each operator and queue is what Redis would hold.
class FakeRoutingWriter : public RoutingConfigWriter {
 public:
  struct Write {
    bool queue = false;
    std::string id;
  };

  absl::Status WriteOperator(const OperatorRouting& routing) override {
    absl::MutexLock lock(&mutex_);
    if (failing_) return absl::UnavailableError("Redis is down (fake)");
    operators_[routing.operator_id] = routing;
    writes_.push_back({.queue = false, .id = routing.operator_id});
    return absl::OkStatus();
  }
  absl::Status WriteQueue(const QueueRouting& routing) override {
    absl::MutexLock lock(&mutex_);
    if (failing_) return absl::UnavailableError("Redis is down (fake)");
    queues_[routing.queue_id] = routing;
    writes_.push_back({.queue = true, .id = routing.queue_id});
    return absl::OkStatus();
  }

  std::optional<OperatorRouting> Operator(absl::string_view id) {
    absl::MutexLock lock(&mutex_);
    auto it = operators_.find(std::string(id));
    if (it == operators_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<QueueRouting> Queue(absl::string_view id) {
    absl::MutexLock lock(&mutex_);
    auto it = queues_.find(std::string(id));
    if (it == queues_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Write> writes() {
    absl::MutexLock lock(&mutex_);
    return writes_;
  }
  // Forgets everything, as a Redis restart would.
  void Clear() {
    absl::MutexLock lock(&mutex_);
    operators_.clear();
    queues_.clear();
    writes_.clear();
  }
  void SetFailing(bool failing) {
    absl::MutexLock lock(&mutex_);
    failing_ = failing;
  }

 private:
  absl::Mutex mutex_;
  bool failing_ ABSL_GUARDED_BY(mutex_) = false;
  std::map<std::string, OperatorRouting> operators_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, QueueRouting> queues_ ABSL_GUARDED_BY(mutex_);
  std::vector<Write> writes_ ABSL_GUARDED_BY(mutex_);
};

// Refuses deletions of the operators and queues marked busy, as the live side would.
class FakeDeletionGuard : public DeletionGuard {
 public:
  absl::Status CheckOperatorRemovable(absl::string_view, absl::string_view id) override {
    absl::MutexLock lock(&mutex_);
    if (busy_.count(std::string(id)) > 0) {
      return absl::FailedPreconditionError("OPERATOR_NOT_OFFLINE: logged in (fake)");
    }
    return absl::OkStatus();
  }
  absl::Status CheckQueueRemovable(absl::string_view, absl::string_view id) override {
    absl::MutexLock lock(&mutex_);
    if (busy_.count(std::string(id)) > 0) {
      return absl::FailedPreconditionError("QUEUE_HAS_CALLS: calls wait (fake)");
    }
    return absl::OkStatus();
  }
  void SetBusy(const std::string& id, bool busy) {
    absl::MutexLock lock(&mutex_);
    if (busy) {
      busy_.insert(id);
    } else {
      busy_.erase(id);
    }
  }

 private:
  absl::Mutex mutex_;
  std::set<std::string> busy_ ABSL_GUARDED_BY(mutex_);
};

std::string IdOf(absl::string_view name) { return std::string(name.substr(name.rfind('/') + 1)); }

// Fails with the status when it is not OK, so that a test stops at the first broken step.
#define ASSERT_GRPC_OK(expr)                                                  \
  do {                                                                        \
    const grpc::Status grpc_status_ = (expr);                                 \
    ASSERT_TRUE(grpc_status_.ok())                                            \
        << grpc_status_.error_code() << ": " << grpc_status_.error_message(); \
  } while (false)

class CallsAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(common::ApplyMigrations(db_.dsn(), "common", common::SchemaMigrations()).ok());
    ASSERT_TRUE(common::ApplyMigrations(db_.dsn(), "calls", SchemaMigrations()).ok());
    pg_ = std::move(*common::PgPool::Create({.dsn = db_.dsn(), .size = 4}));
    store_ = std::make_unique<AdminStore>(pg_.get(), &routing_, &guard_);
    service_ = std::make_unique<CallsAdminGrpcService>(store_.get());
    auto server = common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = CallsAdminService::NewStub(
        common::MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }

  void TearDown() override { server_->Shutdown(); }

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (CallsAdminService::Stub::*method)(grpc::ClientContext*,
                                                                    const Request&, Response*),
                    const Request& request, Response* response) {
    auto context = common::ContextWithTimeout(absl::Seconds(20));
    return (stub_.get()->*method)(context.get(), request, response);
  }

  std::string NextRequestId() { return absl::StrCat("r-", ++request_counter_); }

  v1::Skill CreateSkill(const std::string& name) {
    v1::CreateSkillRequest request;
    request.mutable_skill()->set_display_name(name);
    request.set_request_id(NextRequestId());
    v1::Skill skill;
    grpc::Status status = Call(&CallsAdminService::Stub::CreateSkill, request, &skill);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return skill;
  }

  v1::Operator OperatorMessage(const std::string& login,
                               const std::vector<std::pair<std::string, int>>& skills = {},
                               const std::string& site = "msk") {
    v1::Operator op;
    op.set_display_name(absl::StrCat("Operator ", login));
    op.set_login(login);
    op.set_site(site);
    op.set_endpoint(absl::StrCat("sip:", login, "@pbx.example"));
    for (const auto& [skill, level] : skills) {
      v1::SkillLevel* held = op.add_skills();
      held->set_skill(skill);
      held->set_level(level);
    }
    return op;
  }

  v1::Operator CreateOperator(const v1::Operator& op) {
    v1::CreateOperatorRequest request;
    *request.mutable_operator_() = op;
    request.set_request_id(NextRequestId());
    v1::Operator created;
    grpc::Status status = Call(&CallsAdminService::Stub::CreateOperator, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  v1::Queue QueueMessage(const std::string& name, const std::string& site = "msk") {
    v1::Queue queue;
    queue.set_display_name(name);
    queue.set_site(site);
    v1::DispositionCode* code = queue.add_disposition_codes();
    code->set_code("resolved");
    code->set_label("Resolved");
    v1::DispositionCode* old = queue.add_disposition_codes();
    old->set_code("old_code");
    old->set_label("Old");
    old->set_disabled(true);
    return queue;
  }

  v1::Queue CreateQueue(const v1::Queue& queue) {
    v1::CreateQueueRequest request;
    *request.mutable_queue() = queue;
    request.set_request_id(NextRequestId());
    v1::Queue created;
    grpc::Status status = Call(&CallsAdminService::Stub::CreateQueue, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  grpc::Status AddMember(const v1::Queue& queue, const v1::Operator& op, int tier, int penalty,
                         v1::QueueMembership* membership) {
    v1::CreateQueueMembershipRequest request;
    request.set_parent(queue.name());
    request.mutable_membership()->set_operator_(op.name());
    request.mutable_membership()->set_tier(tier);
    request.mutable_membership()->set_penalty(penalty);
    request.set_request_id(NextRequestId());
    return Call(&CallsAdminService::Stub::CreateQueueMembership, request, membership);
  }

  grpc::Status UpdateOperator(const v1::Operator& op, const std::vector<std::string>& paths,
                              v1::Operator* updated, const std::string& request_id = "") {
    v1::UpdateOperatorRequest request;
    *request.mutable_operator_() = op;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    request.set_request_id(request_id.empty() ? NextRequestId() : request_id);
    return Call(&CallsAdminService::Stub::UpdateOperator, request, updated);
  }

  int64_t Count(const std::string& sql) {
    return *pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec1(sql)[0].as<int64_t>();
    });
  }

  // The queue ids of an operator's memberships as written to routing.
  std::set<std::string> RoutedQueues(const std::string& operator_name) {
    std::set<std::string> queues;
    std::optional<OperatorRouting> routing = routing_.Operator(IdOf(operator_name));
    if (routing) {
      for (const OperatorRouting::Membership& m : routing->memberships) queues.insert(m.queue_id);
    }
    return queues;
  }

  common::testing::TestDatabase db_;
  FakeRoutingWriter routing_;
  FakeDeletionGuard guard_;
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<AdminStore> store_;
  std::unique_ptr<CallsAdminGrpcService> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<CallsAdminService::Stub> stub_;
  int request_counter_ = 0;
};

::testing::AssertionResult IsError(const grpc::Status& status, grpc::StatusCode code,
                                   absl::string_view message_part) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure() << "code " << status.error_code() << " (want " << code
                                         << "): " << status.error_message();
  }
  if (!absl::StrContains(status.error_message(), message_part)) {
    return ::testing::AssertionFailure()
           << "message \"" << status.error_message() << "\" lacks \"" << message_part << "\"";
  }
  return ::testing::AssertionSuccess();
}

TEST_F(CallsAdminTest, AnOperatorIsCreatedReadAndWrittenToRouting) {
  const v1::Skill english = CreateSkill("English");
  v1::Operator op = OperatorMessage("anna", {{english.name(), 7}});
  op.add_languages("ru");
  const v1::Operator created = CreateOperator(op);
  EXPECT_TRUE(absl::StartsWith(created.name(), "operators/"));
  EXPECT_EQ(created.role(), v1::OPERATOR_ROLE_OPERATOR);
  EXPECT_EQ(created.skills(0).level(), 7);
  EXPECT_EQ(created.languages(0), "ru");
  EXPECT_FALSE(created.etag().empty());
  EXPECT_TRUE(created.has_create_time());
  EXPECT_FALSE(created.has_delete_time());

  v1::GetOperatorRequest get;
  get.set_name(created.name());
  v1::Operator read;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::GetOperator, get, &read));
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());

  std::optional<OperatorRouting> routing = routing_.Operator(IdOf(created.name()));
  ASSERT_TRUE(routing.has_value());
  EXPECT_EQ(routing->site, "msk");
  EXPECT_EQ(routing->endpoint, "sip:anna@pbx.example");
  EXPECT_EQ(routing->role, "OPERATOR");
  EXPECT_FALSE(routing->deleted);
  EXPECT_TRUE(routing->memberships.empty());
  EXPECT_EQ(Count("SELECT count(*) FROM routing_pending"), 0);

  // The live side's readers.
  absl::StatusOr<v1::Operator> by_id = store_->GetOperatorById(IdOf(created.name()));
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->login(), "anna");
  EXPECT_EQ(store_->GetOperatorById(common::NewId()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetOperatorById("x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CallsAdminTest, BadInputNamesTheFieldAndChangesNothing) {
  const v1::Skill skill = CreateSkill("Mortgages");
  v1::Operator op = OperatorMessage("boris", {{skill.name(), 11}});
  v1::CreateOperatorRequest request;
  *request.mutable_operator_() = op;
  request.set_request_id("bad-1");
  v1::Operator ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, request, &ignored),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid operator.skills[0].level: must be 1..10"));
  request.mutable_operator_()->mutable_skills(0)->set_level(5);
  request.mutable_operator_()->clear_site();
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, request, &ignored),
                      grpc::StatusCode::INVALID_ARGUMENT, "invalid operator.site: required"));
  request.mutable_operator_()->set_site("msk");
  request.clear_request_id();
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, request, &ignored),
                      grpc::StatusCode::INVALID_ARGUMENT, "invalid request_id"));
  // A skill that does not exist.
  request.set_request_id("bad-2");
  request.mutable_operator_()->mutable_skills(0)->set_skill(
      absl::StrCat("skills/", common::NewId()));
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, request, &ignored),
                      grpc::StatusCode::NOT_FOUND, "operator.skills[0].skill"));
  EXPECT_EQ(Count("SELECT count(*) FROM operators"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM request_log WHERE method = 'CreateOperator'"), 0);
  EXPECT_TRUE(routing_.writes().empty());
}

TEST_F(CallsAdminTest, LoginsAreUniqueAmongLiveOperators) {
  const v1::Operator first = CreateOperator(OperatorMessage("vera"));
  v1::CreateOperatorRequest request;
  *request.mutable_operator_() = OperatorMessage("vera");
  request.set_request_id("dup-login");
  v1::Operator ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, request, &ignored),
                      grpc::StatusCode::ALREADY_EXISTS, "operator.login"));
  // Deleted, the login is free again (moving an operator to another site re-creates them).
  v1::DeleteOperatorRequest remove;
  remove.set_name(first.name());
  remove.set_request_id("delete-vera");
  v1::Operator deleted;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteOperator, remove, &deleted));
  request.mutable_operator_()->set_site("spb");
  request.set_request_id("vera-spb");
  v1::Operator moved;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::CreateOperator, request, &moved));
  EXPECT_NE(moved.name(), first.name());
}

TEST_F(CallsAdminTest, UpdatesHonourMasksEtagsAndRequestIds) {
  const v1::Operator created = CreateOperator(OperatorMessage("galina"));
  v1::Operator change;
  change.set_name(created.name());
  change.set_etag(created.etag());
  change.set_display_name("Galina Ivanova");
  change.set_login("ignored-not-in-mask");
  v1::Operator updated;
  ASSERT_GRPC_OK(UpdateOperator(change, {"display_name"}, &updated, "update-1"));
  EXPECT_EQ(updated.display_name(), "Galina Ivanova");
  EXPECT_EQ(updated.login(), "galina");
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_EQ(routing_.Operator(IdOf(created.name()))->display_name, "Galina Ivanova");

  // The same request again: the first answer, no second change.
  v1::Operator again;
  ASSERT_GRPC_OK(UpdateOperator(change, {"display_name"}, &again, "update-1"));
  EXPECT_EQ(again.etag(), updated.etag());
  EXPECT_EQ(store_->GetOperatorById(IdOf(created.name()))->etag(), updated.etag());
  // The same request id with another request is refused.
  change.set_display_name("Someone Else");
  EXPECT_TRUE(IsError(UpdateOperator(change, {"display_name"}, &again, "update-1"),
                      grpc::StatusCode::INVALID_ARGUMENT, "request_id"));

  // The stale etag of the first read.
  EXPECT_TRUE(IsError(UpdateOperator(change, {"display_name"}, &again), grpc::StatusCode::ABORTED,
                      "ETAG_MISMATCH"));
  // Immutable and output-only paths.
  change.set_etag(updated.etag());
  change.set_site("spb");
  EXPECT_TRUE(IsError(UpdateOperator(change, {"site"}, &again), grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid update_mask: site is immutable"));
  EXPECT_TRUE(IsError(UpdateOperator(change, {"create_time"}, &again),
                      grpc::StatusCode::INVALID_ARGUMENT, "update_mask"));
  // Validation runs on the result: "*" with a bare message clears required fields.
  EXPECT_TRUE(IsError(UpdateOperator(change, {"*"}, &again), grpc::StatusCode::INVALID_ARGUMENT,
                      "operator."));
  EXPECT_EQ(store_->GetOperatorById(IdOf(created.name()))->display_name(), "Galina Ivanova");
  // Without an etag the update applies to the current version.
  change.clear_etag();
  change.set_disabled(true);
  ASSERT_GRPC_OK(UpdateOperator(change, {"disabled"}, &again));
  EXPECT_TRUE(again.disabled());
  EXPECT_TRUE(routing_.Operator(IdOf(created.name()))->disabled);

  v1::GetOperatorRequest missing;
  missing.set_name(absl::StrCat("operators/", common::NewId()));
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::GetOperator, missing, &again),
                      grpc::StatusCode::NOT_FOUND, missing.name()));
  missing.set_name("operators/42");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::GetOperator, missing, &again),
                      grpc::StatusCode::INVALID_ARGUMENT, "invalid name"));
}

TEST_F(CallsAdminTest, TeamsCheckSupervisorsSitesAndMembers) {
  const v1::Operator plain = CreateOperator(OperatorMessage("dmitry"));
  v1::Operator boss_message = OperatorMessage("elena");
  boss_message.set_role(v1::OPERATOR_ROLE_SUPERVISOR);
  const v1::Operator boss = CreateOperator(boss_message);

  v1::CreateTeamRequest create;
  create.mutable_team()->set_display_name("Cards, 2nd line");
  create.mutable_team()->set_site("msk");
  create.mutable_team()->add_supervisors(plain.name());
  create.set_request_id("team-1");
  v1::Team team;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateTeam, create, &team),
                      grpc::StatusCode::FAILED_PRECONDITION, "NOT_A_SUPERVISOR"));
  create.mutable_team()->set_supervisors(0, absl::StrCat("operators/", common::NewId()));
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateTeam, create, &team),
                      grpc::StatusCode::NOT_FOUND, "team.supervisors[0]"));
  create.mutable_team()->set_supervisors(0, boss.name());
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::CreateTeam, create, &team));
  EXPECT_EQ(team.supervisors(0), boss.name());
  create.set_request_id("team-2");
  create.mutable_team()->set_display_name("CARDS, 2nd LINE");
  v1::Team duplicate;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateTeam, create, &duplicate),
                      grpc::StatusCode::ALREADY_EXISTS, "team.display_name"));

  // An operator of another site cannot join the team.
  v1::Operator far = OperatorMessage("fedor", {}, "spb");
  far.set_team(team.name());
  v1::CreateOperatorRequest far_request;
  *far_request.mutable_operator_() = far;
  far_request.set_request_id("far");
  v1::Operator ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateOperator, far_request, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "SITE_MISMATCH"));

  v1::Operator member = plain;
  member.set_team(team.name());
  v1::Operator joined;
  ASSERT_GRPC_OK(UpdateOperator(member, {"team"}, &joined));
  EXPECT_EQ(routing_.Operator(IdOf(plain.name()))->team_id, IdOf(team.name()));

  v1::DeleteTeamRequest remove;
  remove.set_name(team.name());
  remove.set_request_id("remove-team");
  google::protobuf::Empty empty;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteTeam, remove, &empty),
                      grpc::StatusCode::FAILED_PRECONDITION, "TEAM_NOT_EMPTY"));

  // A supervisor keeps the role while supervising.
  v1::Operator demoted = boss;
  demoted.set_role(v1::OPERATOR_ROLE_OPERATOR);
  EXPECT_TRUE(IsError(UpdateOperator(demoted, {"role"}, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "SUPERVISES_TEAMS"));

  v1::ListTeamsRequest list;
  list.set_supervisor(boss.name());
  v1::ListTeamsResponse listed;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListTeams, list, &listed));
  ASSERT_EQ(listed.teams_size(), 1);
  list.set_supervisor(plain.name());
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListTeams, list, &listed));
  EXPECT_EQ(listed.teams_size(), 0);

  // Deleting the supervisor removes their supervision (and changes the team's etag).
  v1::DeleteOperatorRequest delete_boss;
  delete_boss.set_name(boss.name());
  delete_boss.set_request_id("delete-boss");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteOperator, delete_boss, &ignored));
  absl::StatusOr<v1::Team> after = store_->GetTeamById(IdOf(team.name()));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->supervisors_size(), 0);
  EXPECT_NE(after->etag(), team.etag());

  // With its last live member moved out, the team can go.
  member.set_team("");
  member.set_etag(joined.etag());
  ASSERT_GRPC_OK(UpdateOperator(member, {"team"}, &joined));
  remove.set_etag(team.etag());
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteTeam, remove, &empty),
                      grpc::StatusCode::ABORTED, "ETAG_MISMATCH"));
  remove.set_etag(after->etag());
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteTeam, remove, &empty));
  v1::GetTeamRequest get;
  get.set_name(team.name());
  v1::Team gone;
  EXPECT_EQ(Call(&CallsAdminService::Stub::GetTeam, get, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CallsAdminTest, AQualifiedMemberReachesRoutingAndAnUnqualifiedOneDoesNot) {
  const v1::Skill english = CreateSkill("English");
  const v1::Skill cards = CreateSkill("Cards");
  v1::Queue queue_message = QueueMessage("Cards in English");
  v1::SkillLevel* required = queue_message.add_required_skills();
  required->set_skill(english.name());
  required->set_level(5);
  const v1::Queue queue = CreateQueue(queue_message);
  const std::string queue_id = IdOf(queue.name());
  std::optional<QueueRouting> queue_routing = routing_.Queue(queue_id);
  ASSERT_TRUE(queue_routing.has_value());
  EXPECT_EQ(queue_routing->tiers, std::vector<int>{1});
  EXPECT_EQ(queue_routing->dispositions, std::vector<std::string>{"resolved"});
  EXPECT_EQ(queue_routing->ring_timeout, absl::Seconds(20));
  EXPECT_EQ(queue_routing->wrap_up_time_limit, absl::Seconds(60));
  EXPECT_EQ(queue_routing->strategy, v1::QUEUE_STRATEGY_LONGEST_IDLE);

  const v1::Operator fluent = CreateOperator(OperatorMessage("irina", {{english.name(), 8}}));
  const v1::Operator beginner =
      CreateOperator(OperatorMessage("kirill", {{english.name(), 2}, {cards.name(), 9}}));

  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(queue, fluent, 2, 10, &membership));
  EXPECT_EQ(membership.name(), absl::StrCat(queue.name(), "/memberships/", IdOf(fluent.name())));
  EXPECT_EQ(membership.tier(), 2);
  std::optional<OperatorRouting> routed = routing_.Operator(IdOf(fluent.name()));
  ASSERT_TRUE(routed.has_value());
  ASSERT_EQ(routed->memberships.size(), 1u);
  EXPECT_EQ(routed->memberships[0].queue_id, queue_id);
  EXPECT_EQ(routed->memberships[0].tier, 2);
  EXPECT_EQ(routed->memberships[0].penalty, 10);
  // skill_level 0: the operator's level in the queue's first required skill.
  EXPECT_EQ(routed->memberships[0].level, 8);
  EXPECT_GT(routed->memberships[0].order, 0);
  EXPECT_EQ(routing_.Queue(queue_id)->tiers, std::vector<int>{2});

  // Accepted, kept, but not routed: the beginner lacks the required level.
  ASSERT_GRPC_OK(AddMember(queue, beginner, 1, 0, &membership));
  EXPECT_TRUE(RoutedQueues(beginner.name()).empty());
  EXPECT_EQ(routing_.Queue(queue_id)->tiers, (std::vector<int>{1, 2}));
  v1::QueueMembership duplicate;
  EXPECT_TRUE(IsError(AddMember(queue, beginner, 1, 0, &duplicate),
                      grpc::StatusCode::ALREADY_EXISTS, "already a member"));

  // Raising the beginner's level qualifies them.
  v1::Operator improved = beginner;
  improved.mutable_skills(0)->set_level(5);
  v1::Operator updated;
  ASSERT_GRPC_OK(UpdateOperator(improved, {"skills"}, &updated));
  EXPECT_EQ(RoutedQueues(beginner.name()), std::set<std::string>{queue_id});
  EXPECT_EQ(routing_.Operator(IdOf(beginner.name()))->memberships[0].level, 5);

  // Raising the queue's requirement disqualifies both, and the members are rewritten.
  v1::Queue stricter;
  stricter.set_name(queue.name());
  *stricter.mutable_required_skills() = queue.required_skills();
  stricter.mutable_required_skills(0)->set_level(9);
  v1::UpdateQueueRequest update_queue;
  *update_queue.mutable_queue() = stricter;
  update_queue.mutable_update_mask()->add_paths("required_skills");
  update_queue.set_request_id("stricter");
  v1::Queue updated_queue;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::UpdateQueue, update_queue, &updated_queue));
  EXPECT_TRUE(RoutedQueues(fluent.name()).empty());
  EXPECT_TRUE(RoutedQueues(beginner.name()).empty());

  // Removing the requirement altogether qualifies everybody again, at level 1.
  update_queue.mutable_queue()->clear_required_skills();
  update_queue.set_request_id("lenient");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::UpdateQueue, update_queue, &updated_queue));
  ASSERT_EQ(RoutedQueues(fluent.name()), std::set<std::string>{queue_id});
  EXPECT_EQ(routing_.Operator(IdOf(fluent.name()))->memberships[0].level, 1);

  // Updating the membership moves the queue's tiers; deleting it takes it out of routing.
  v1::UpdateQueueMembershipRequest update;
  update.mutable_membership()->set_name(
      absl::StrCat(queue.name(), "/memberships/", IdOf(fluent.name())));
  update.mutable_membership()->set_tier(3);
  update.mutable_membership()->set_skill_level(6);
  update.mutable_membership()->set_paused(true);
  update.mutable_update_mask()->add_paths("tier");
  update.mutable_update_mask()->add_paths("skill_level");
  update.mutable_update_mask()->add_paths("paused");
  update.set_request_id("membership-update");
  v1::QueueMembership changed;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::UpdateQueueMembership, update, &changed));
  EXPECT_EQ(changed.tier(), 3);
  EXPECT_EQ(routing_.Queue(queue_id)->tiers, (std::vector<int>{1, 3}));
  routed = routing_.Operator(IdOf(fluent.name()));
  EXPECT_EQ(routed->memberships[0].tier, 3);
  EXPECT_EQ(routed->memberships[0].level, 6);
  EXPECT_TRUE(routed->memberships[0].paused);
  update.clear_update_mask();
  update.mutable_update_mask()->add_paths("operator");
  update.set_request_id("membership-operator");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::UpdateQueueMembership, update, &changed),
                      grpc::StatusCode::INVALID_ARGUMENT, "update_mask: operator is immutable"));

  v1::DeleteQueueMembershipRequest remove;
  remove.set_name(changed.name());
  remove.set_request_id("membership-remove");
  google::protobuf::Empty empty;
  remove.set_etag("1");  // the etag before the update
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteQueueMembership, remove, &empty),
                      grpc::StatusCode::ABORTED, "ETAG_MISMATCH"));
  remove.set_etag(changed.etag());
  remove.set_request_id("membership-remove-2");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteQueueMembership, remove, &empty));
  EXPECT_TRUE(RoutedQueues(fluent.name()).empty());
  EXPECT_EQ(routing_.Queue(queue_id)->tiers, std::vector<int>{1});
  v1::GetQueueMembershipRequest get;
  get.set_name(changed.name());
  EXPECT_EQ(Call(&CallsAdminService::Stub::GetQueueMembership, get, &changed).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CallsAdminTest, MembershipsNeedLiveResourcesOfOneSite) {
  const v1::Queue queue = CreateQueue(QueueMessage("Loans"));
  const v1::Operator far = CreateOperator(OperatorMessage("lev", {}, "spb"));
  v1::QueueMembership membership;
  EXPECT_TRUE(IsError(AddMember(queue, far, 1, 0, &membership),
                      grpc::StatusCode::FAILED_PRECONDITION, "SITE_MISMATCH"));
  v1::Operator ghost;
  ghost.set_name(absl::StrCat("operators/", common::NewId()));
  EXPECT_TRUE(IsError(AddMember(queue, ghost, 1, 0, &membership), grpc::StatusCode::NOT_FOUND,
                      ghost.name()));
  v1::Queue no_queue;
  no_queue.set_name(absl::StrCat("queues/", common::NewId()));
  const v1::Operator near = CreateOperator(OperatorMessage("maria"));
  EXPECT_TRUE(IsError(AddMember(no_queue, near, 1, 0, &membership), grpc::StatusCode::NOT_FOUND,
                      no_queue.name()));
  EXPECT_TRUE(IsError(AddMember(queue, near, 10, 0, &membership),
                      grpc::StatusCode::INVALID_ARGUMENT, "invalid membership.tier"));
  EXPECT_EQ(Count("SELECT count(*) FROM queue_memberships"), 0);
}

TEST_F(CallsAdminTest, DialledNumbersBelongToOneQueue) {
  v1::Queue first = QueueMessage("Cards");
  first.add_dialled_numbers()->set_raw("8 (495) 123-45-67");
  first.add_dialled_numbers()->set_raw("+7 800 555-35-35");
  const v1::Queue cards = CreateQueue(first);
  EXPECT_EQ(cards.dialled_numbers(0).e164(), "+74951234567");
  EXPECT_EQ(*store_->FindQueueIdByDialledNumber("+74951234567"), IdOf(cards.name()));
  EXPECT_EQ(store_->FindQueueIdByDialledNumber("+74950000000").status().code(),
            absl::StatusCode::kNotFound);

  v1::Queue second = QueueMessage("Loans");
  second.add_dialled_numbers()->set_raw("+7 495 111 11 11");
  second.add_dialled_numbers()->set_raw("84951234567");
  v1::CreateQueueRequest request;
  *request.mutable_queue() = second;
  request.set_request_id("loans");
  v1::Queue ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateQueue, request, &ignored),
                      grpc::StatusCode::ALREADY_EXISTS,
                      "queue.dialled_numbers[1]: +74951234567 is already dialled for"));
  EXPECT_EQ(Count("SELECT count(*) FROM queues"), 1);

  // Deleting the first queue gives its numbers up.
  v1::DeleteQueueRequest remove;
  remove.set_name(cards.name());
  remove.set_request_id("remove-cards");
  v1::Queue deleted;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteQueue, remove, &deleted));
  EXPECT_TRUE(deleted.has_delete_time());
  EXPECT_EQ(deleted.dialled_numbers_size(), 0);
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::CreateQueue, request, &ignored));
  EXPECT_EQ(*store_->FindQueueIdByDialledNumber("+74951234567"), IdOf(ignored.name()));
  // A deleted queue's display name is free again too.
  request.mutable_queue()->set_display_name("cards");
  request.mutable_queue()->clear_dialled_numbers();
  request.set_request_id("cards-again");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::CreateQueue, request, &ignored));
}

TEST_F(CallsAdminTest, AQueueKeepsEveryFieldAndItsDefaults) {
  const v1::Skill calm = CreateSkill("De-escalation");
  v1::Queue message = QueueMessage("Complaints");
  message.set_description("Angry customers");
  message.set_strategy(v1::QUEUE_STRATEGY_ROUND_ROBIN);
  message.mutable_ring_timeout()->set_seconds(15);
  message.mutable_wrap_up_time_limit()->set_seconds(90);
  message.set_max_misses_before_not_ready(0);
  message.mutable_service_level_threshold()->set_seconds(30);
  message.set_service_level_target_percent(90);
  message.mutable_short_abandon_threshold()->set_seconds(3);
  message.set_de_escalation_skill(calm.name());
  message.set_de_escalation_min_level(5);
  message.mutable_opening_hours()->set_time_zone("Europe/Moscow");
  common::v1::DailyWindow* window = message.mutable_opening_hours()->add_windows();
  window->set_day(common::v1::DAY_OF_WEEK_FRIDAY);
  window->set_start_minute(540);
  window->set_end_minute(1080);
  message.mutable_opening_hours()->add_closed_dates("2026-01-01");
  message.set_default_priority(2);
  message.set_vip_priority_boost(4);
  message.mutable_tier_wait()->set_seconds(30);
  message.mutable_overflow()->mutable_max_wait_time()->set_seconds(600);
  message.mutable_overflow()->set_max_waiting_calls(50);
  message.mutable_overflow()->mutable_forward_number()->set_raw("+7 916 111 22 33");
  message.mutable_overflow()->set_announcement("closed_msk");
  message.mutable_disposition_codes(0)->set_effect(v1::DISPOSITION_EFFECT_CALLBACK);
  const v1::Queue queue = CreateQueue(message);

  v1::Queue expected = message;
  expected.set_name(queue.name());
  expected.set_etag(queue.etag());
  *expected.mutable_create_time() = queue.create_time();
  *expected.mutable_update_time() = queue.update_time();
  expected.mutable_overflow()->mutable_forward_number()->set_e164("+79161112233");
  EXPECT_EQ(queue.DebugString(), expected.DebugString());
  EXPECT_EQ(store_->GetQueueById(IdOf(queue.name()))->DebugString(), queue.DebugString());

  std::optional<QueueRouting> routing = routing_.Queue(IdOf(queue.name()));
  ASSERT_TRUE(routing.has_value());
  EXPECT_EQ(routing->strategy, v1::QUEUE_STRATEGY_ROUND_ROBIN);
  EXPECT_EQ(routing->ring_timeout, absl::Seconds(15));
  EXPECT_EQ(routing->wrap_up_time_limit, absl::Seconds(90));
  EXPECT_EQ(routing->max_misses_before_not_ready, 0);
  EXPECT_EQ(routing->service_level_threshold, absl::Seconds(30));
  EXPECT_EQ(routing->short_abandon_threshold, absl::Seconds(3));
  EXPECT_EQ(routing->de_escalation_skill, IdOf(calm.name()));
  EXPECT_EQ(routing->vip_priority_boost, 4);
  EXPECT_EQ(routing->default_priority, 2);
  EXPECT_EQ(routing->tier_wait, absl::Seconds(30));
  EXPECT_EQ(routing->site, "msk");
  EXPECT_EQ(routing->display_name, "Complaints");

  // De-escalation: at or above the queue's minimum level, any membership or none.
  const v1::Operator calm_one = CreateOperator(OperatorMessage("nina", {{calm.name(), 5}}));
  const v1::Operator novice = CreateOperator(OperatorMessage("oleg", {{calm.name(), 4}}));
  EXPECT_EQ(routing_.Operator(IdOf(calm_one.name()))->de_escalation_queues,
            std::vector<std::string>{IdOf(queue.name())});
  EXPECT_TRUE(routing_.Operator(IdOf(novice.name()))->de_escalation_queues.empty());
  // Lowering the queue's minimum rewrites the skill's holders.
  v1::UpdateQueueRequest lower;
  lower.mutable_queue()->set_name(queue.name());
  lower.mutable_queue()->set_de_escalation_skill(calm.name());
  lower.mutable_queue()->set_de_escalation_min_level(4);
  lower.mutable_update_mask()->add_paths("de_escalation_min_level");
  lower.set_request_id("lower");
  v1::Queue lowered;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::UpdateQueue, lower, &lowered));
  EXPECT_EQ(lowered.de_escalation_min_level(), 4);
  EXPECT_EQ(routing_.Operator(IdOf(novice.name()))->de_escalation_queues,
            std::vector<std::string>{IdOf(queue.name())});
  // Unset fields in the mask go back to the contract's defaults.
  lower.clear_update_mask();
  lower.mutable_update_mask()->add_paths("ring_timeout");
  lower.mutable_update_mask()->add_paths("max_misses_before_not_ready");
  lower.set_request_id("defaults");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::UpdateQueue, lower, &lowered));
  EXPECT_EQ(lowered.ring_timeout().seconds(), 20);
  EXPECT_EQ(lowered.max_misses_before_not_ready(), 3);
  EXPECT_EQ(lowered.description(), "Angry customers");
}

TEST_F(CallsAdminTest, OverflowTargetsFormNoCycleAndCannotBeDeletedFromUnderneath) {
  const v1::Queue a = CreateQueue(QueueMessage("A"));
  v1::Queue b_message = QueueMessage("B");
  b_message.mutable_overflow()->set_target_queue(a.name());
  const v1::Queue b = CreateQueue(b_message);
  v1::Queue c_message = QueueMessage("C");
  c_message.mutable_overflow()->set_target_queue(b.name());
  const v1::Queue c = CreateQueue(c_message);

  // A -> C would close A -> C -> B -> A.
  v1::UpdateQueueRequest update;
  update.mutable_queue()->set_name(a.name());
  update.mutable_queue()->mutable_overflow()->set_target_queue(c.name());
  update.mutable_update_mask()->add_paths("overflow");
  update.set_request_id("cycle");
  v1::Queue ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::UpdateQueue, update, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "OVERFLOW_CYCLE"));
  update.mutable_queue()->mutable_overflow()->set_target_queue(a.name());
  update.set_request_id("self");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::UpdateQueue, update, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "OVERFLOW_CYCLE"));
  const v1::Queue far = CreateQueue(QueueMessage("Far", "spb"));
  update.mutable_queue()->mutable_overflow()->set_target_queue(far.name());
  update.set_request_id("far");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::UpdateQueue, update, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "SITE_MISMATCH"));

  v1::DeleteQueueRequest remove;
  remove.set_name(a.name());
  remove.set_request_id("remove-a");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteQueue, remove, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "QUEUE_IS_OVERFLOW_TARGET"));
  // The live side refuses while calls wait.
  guard_.SetBusy(IdOf(c.name()), true);
  remove.set_name(c.name());
  remove.set_request_id("remove-c");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteQueue, remove, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "QUEUE_HAS_CALLS"));
  guard_.SetBusy(IdOf(c.name()), false);
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteQueue, remove, &ignored));
  EXPECT_TRUE(IsError(Call(
                          &CallsAdminService::Stub::DeleteQueue,
                          [&] {
                            v1::DeleteQueueRequest again = remove;
                            again.set_request_id("remove-c-again");
                            return again;
                          }(),
                          &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "QUEUE_DELETED"));
  update.mutable_queue()->set_name(c.name());
  update.set_request_id("update-deleted");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::UpdateQueue, update, &ignored),
                      grpc::StatusCode::FAILED_PRECONDITION, "QUEUE_DELETED"));
}

TEST_F(CallsAdminTest, DeletingAQueueWritesItDeletedAndRewritesItsMembers) {
  const v1::Queue queue = CreateQueue(QueueMessage("Deposits"));
  const v1::Queue other = CreateQueue(QueueMessage("Other"));
  const v1::Operator op = CreateOperator(OperatorMessage("pavel"));
  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(queue, op, 4, 0, &membership));
  ASSERT_GRPC_OK(AddMember(other, op, 1, 0, &membership));
  EXPECT_EQ(RoutedQueues(op.name()),
            (std::set<std::string>{IdOf(queue.name()), IdOf(other.name())}));

  v1::DeleteQueueRequest remove;
  remove.set_name(queue.name());
  remove.set_etag(queue.etag());  // still current: memberships are not part of the queue
  remove.set_request_id("remove-deposits");
  v1::Queue deleted;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteQueue, remove, &deleted));
  std::optional<QueueRouting> routing = routing_.Queue(IdOf(queue.name()));
  ASSERT_TRUE(routing.has_value());
  EXPECT_TRUE(routing->deleted);
  EXPECT_EQ(routing->tiers, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(RoutedQueues(op.name()), std::set<std::string>{IdOf(other.name())});

  // Readable, hidden from lists unless asked for.
  v1::GetQueueRequest get;
  get.set_name(queue.name());
  v1::Queue read;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::GetQueue, get, &read));
  EXPECT_TRUE(read.has_delete_time());
  v1::ListQueuesRequest list;
  v1::ListQueuesResponse listed;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListQueues, list, &listed));
  ASSERT_EQ(listed.queues_size(), 1);
  EXPECT_EQ(listed.queues(0).name(), other.name());
  list.set_show_deleted(true);
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListQueues, list, &listed));
  EXPECT_EQ(listed.queues_size(), 2);
  // No new memberships in a deleted queue.
  EXPECT_TRUE(IsError(AddMember(queue, op, 1, 0, &membership),
                      grpc::StatusCode::FAILED_PRECONDITION, "QUEUE_DELETED"));
}

TEST_F(CallsAdminTest, DeletingAnOperatorIsSoftAndNeedsThemOffline) {
  const v1::Queue queue = CreateQueue(QueueMessage("Insurance"));
  const v1::Operator op = CreateOperator(OperatorMessage("raisa"));
  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(queue, op, 3, 0, &membership));
  EXPECT_EQ(routing_.Queue(IdOf(queue.name()))->tiers, std::vector<int>{3});

  guard_.SetBusy(IdOf(op.name()), true);
  v1::DeleteOperatorRequest remove;
  remove.set_name(op.name());
  remove.set_request_id("remove-raisa");
  v1::Operator deleted;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteOperator, remove, &deleted),
                      grpc::StatusCode::FAILED_PRECONDITION, "OPERATOR_NOT_OFFLINE"));
  guard_.SetBusy(IdOf(op.name()), false);
  remove.set_etag("999");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteOperator, remove, &deleted),
                      grpc::StatusCode::ABORTED, "ETAG_MISMATCH"));
  remove.set_etag(op.etag());
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteOperator, remove, &deleted));
  EXPECT_TRUE(deleted.has_delete_time());
  EXPECT_EQ(deleted.login(), "raisa");

  std::optional<OperatorRouting> routing = routing_.Operator(IdOf(op.name()));
  ASSERT_TRUE(routing.has_value());
  EXPECT_TRUE(routing->deleted);
  EXPECT_TRUE(routing->memberships.empty());
  EXPECT_EQ(routing_.Queue(IdOf(queue.name()))->tiers, std::vector<int>{1});
  EXPECT_EQ(Count("SELECT count(*) FROM queue_memberships"), 0);

  // A repeat answers the first result even though a second delete would now be refused.
  v1::Operator repeated;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteOperator, remove, &repeated));
  EXPECT_EQ(repeated.SerializeAsString(), deleted.SerializeAsString());
  remove.set_request_id("remove-raisa-again");
  remove.clear_etag();
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteOperator, remove, &repeated),
                      grpc::StatusCode::FAILED_PRECONDITION, "OPERATOR_DELETED"));
  v1::Operator change = deleted;
  change.set_display_name("Renamed");
  EXPECT_TRUE(IsError(UpdateOperator(change, {"display_name"}, &repeated),
                      grpc::StatusCode::FAILED_PRECONDITION, "OPERATOR_DELETED"));
}

TEST_F(CallsAdminTest, SkillsInUseNeedForceToGo) {
  const v1::Skill german = CreateSkill("German");
  v1::CreateSkillRequest duplicate;
  duplicate.mutable_skill()->set_display_name("german");
  duplicate.set_request_id("german-again");
  v1::Skill ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::CreateSkill, duplicate, &ignored),
                      grpc::StatusCode::ALREADY_EXISTS, "skill.display_name"));

  v1::Queue message = QueueMessage("German");
  message.add_required_skills()->set_skill(german.name());
  message.mutable_required_skills(0)->set_level(3);
  message.set_de_escalation_skill(german.name());
  const v1::Queue queue = CreateQueue(message);
  const v1::Operator speaker = CreateOperator(OperatorMessage("sergey", {{german.name(), 6}}));
  const v1::Operator other = CreateOperator(OperatorMessage("tanya"));
  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(queue, speaker, 1, 0, &membership));
  ASSERT_GRPC_OK(AddMember(queue, other, 1, 0, &membership));
  EXPECT_EQ(RoutedQueues(speaker.name()), std::set<std::string>{IdOf(queue.name())});
  EXPECT_TRUE(RoutedQueues(other.name()).empty());

  v1::DeleteSkillRequest remove;
  remove.set_name(german.name());
  remove.set_request_id("remove-german");
  google::protobuf::Empty empty;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::DeleteSkill, remove, &empty),
                      grpc::StatusCode::FAILED_PRECONDITION, "SKILL_IN_USE"));
  remove.set_force(true);
  remove.set_request_id("remove-german-force");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteSkill, remove, &empty));

  const v1::Operator after = *store_->GetOperatorById(IdOf(speaker.name()));
  EXPECT_EQ(after.skills_size(), 0);
  EXPECT_NE(after.etag(), speaker.etag());
  const v1::Queue queue_after = *store_->GetQueueById(IdOf(queue.name()));
  EXPECT_EQ(queue_after.required_skills_size(), 0);
  EXPECT_EQ(queue_after.de_escalation_skill(), "");
  EXPECT_EQ(queue_after.de_escalation_min_level(), 0);
  // Without the requirement, the member who lacked it qualifies now.
  EXPECT_EQ(RoutedQueues(other.name()), std::set<std::string>{IdOf(queue.name())});
  EXPECT_EQ(routing_.Queue(IdOf(queue.name()))->de_escalation_skill, "");
  EXPECT_TRUE(routing_.Operator(IdOf(speaker.name()))->de_escalation_queues.empty());
  v1::GetSkillRequest get;
  get.set_name(german.name());
  EXPECT_EQ(Call(&CallsAdminService::Stub::GetSkill, get, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CallsAdminTest, ListsPageInDisplayNameOrder) {
  for (const char* name : {"Echo", "Alpha", "Delta", "Bravo", "Charlie"}) CreateSkill(name);
  std::vector<std::string> names;
  v1::ListSkillsRequest list;
  list.set_page_size(2);
  int pages = 0;
  do {
    v1::ListSkillsResponse page;
    ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListSkills, list, &page));
    for (const v1::Skill& skill : page.skills()) names.push_back(skill.display_name());
    list.set_page_token(page.next_page_token());
    ++pages;
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(names, (std::vector<std::string>{"Alpha", "Bravo", "Charlie", "Delta", "Echo"}));
  EXPECT_EQ(pages, 3);

  // Operators: filters, a total, and tokens bound to their filters.
  const v1::Skill alpha = CreateSkill("Zulu");
  for (const char* login : {"u1", "u2", "u3"})
    CreateOperator(OperatorMessage(login, {{alpha.name(), 1}}));
  CreateOperator(OperatorMessage("w1"));
  v1::ListOperatorsRequest operators;
  operators.set_skill(alpha.name());
  operators.set_page_size(2);
  v1::ListOperatorsResponse first;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListOperators, operators, &first));
  EXPECT_EQ(first.operators_size(), 2);
  EXPECT_EQ(first.total_size(), 3);
  ASSERT_FALSE(first.next_page_token().empty());
  v1::ListOperatorsRequest other_filter;
  other_filter.set_page_token(first.next_page_token());
  v1::ListOperatorsResponse ignored;
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::ListOperators, other_filter, &ignored),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  operators.set_page_token(first.next_page_token());
  v1::ListOperatorsResponse second;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListOperators, operators, &second));
  ASSERT_EQ(second.operators_size(), 1);
  EXPECT_EQ(second.operators(0).login(), "u3");
  EXPECT_TRUE(second.next_page_token().empty());
  v1::ListOperatorsRequest query;
  query.set_query("OPERATOR W");
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListOperators, query, &ignored));
  ASSERT_EQ(ignored.operators_size(), 1);
  EXPECT_EQ(ignored.operators(0).login(), "w1");
  query.set_query("");
  query.set_team("teams/bad");
  EXPECT_TRUE(IsError(Call(&CallsAdminService::Stub::ListOperators, query, &ignored),
                      grpc::StatusCode::INVALID_ARGUMENT, "invalid team"));
}

TEST_F(CallsAdminTest, MembershipsListByTierPenaltyAndOperator) {
  const v1::Queue q1 = CreateQueue(QueueMessage("Q1"));
  const v1::Queue q2 = CreateQueue(QueueMessage("Q2"));
  std::vector<v1::Operator> ops;
  for (const char* login : {"m1", "m2", "m3"})
    ops.push_back(CreateOperator(OperatorMessage(login)));
  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(q1, ops[0], 2, 0, &membership));
  ASSERT_GRPC_OK(AddMember(q1, ops[1], 1, 50, &membership));
  ASSERT_GRPC_OK(AddMember(q1, ops[2], 1, 10, &membership));
  ASSERT_GRPC_OK(AddMember(q2, ops[0], 1, 0, &membership));

  v1::ListQueueMembershipsRequest list;
  list.set_parent(q1.name());
  list.set_page_size(2);
  std::vector<std::string> operators;
  for (int pages = 0; pages < 5; ++pages) {
    v1::ListQueueMembershipsResponse page;
    ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListQueueMemberships, list, &page));
    for (const v1::QueueMembership& m : page.memberships()) operators.push_back(m.operator_());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(operators, (std::vector<std::string>{ops[2].name(), ops[1].name(), ops[0].name()}));

  v1::ListQueueMembershipsRequest by_operator;
  by_operator.set_parent("queues/-");
  by_operator.set_operator_(ops[0].name());
  v1::ListQueueMembershipsResponse served;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::ListQueueMemberships, by_operator, &served));
  ASSERT_EQ(served.memberships_size(), 2);
  EXPECT_TRUE(absl::StartsWith(served.memberships(0).name(), q2.name()));  // tier 1 first

  by_operator.set_parent(absl::StrCat("queues/", common::NewId()));
  EXPECT_EQ(Call(&CallsAdminService::Stub::ListQueueMemberships, by_operator, &served).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CallsAdminTest, AFailedRoutingWriteStaysPendingUntilRepeatedOrFlushed) {
  const v1::Queue queue = CreateQueue(QueueMessage("Pending"));
  const v1::Operator op = CreateOperator(OperatorMessage("ulyana"));
  routing_.SetFailing(true);
  v1::CreateQueueMembershipRequest request;
  request.set_parent(queue.name());
  request.mutable_membership()->set_operator_(op.name());
  request.set_request_id("while-redis-down");
  v1::QueueMembership membership;
  grpc::Status status = Call(&CallsAdminService::Stub::CreateQueueMembership, request, &membership);
  EXPECT_TRUE(IsError(status, grpc::StatusCode::UNAVAILABLE, "same request_id"));
  EXPECT_EQ(Count("SELECT count(*) FROM queue_memberships"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM routing_pending"), 2);
  EXPECT_TRUE(RoutedQueues(op.name()).empty());

  // The repeat, once Redis is back, writes the pending routing and answers the first result.
  routing_.SetFailing(false);
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::CreateQueueMembership, request, &membership));
  EXPECT_EQ(membership.operator_(), op.name());
  EXPECT_EQ(RoutedQueues(op.name()), std::set<std::string>{IdOf(queue.name())});
  EXPECT_EQ(Count("SELECT count(*) FROM routing_pending"), 0);

  // Or a flush writes it, e.g. after the client gave up.
  routing_.SetFailing(true);
  v1::Operator change = op;
  change.set_display_name("Ulyana K.");
  v1::Operator ignored;
  EXPECT_EQ(UpdateOperator(change, {"display_name"}, &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(store_->FlushPendingRouting().ok());
  routing_.SetFailing(false);
  ASSERT_TRUE(store_->FlushPendingRouting().ok());
  EXPECT_EQ(routing_.Operator(IdOf(op.name()))->display_name, "Ulyana K.");
  EXPECT_EQ(Count("SELECT count(*) FROM routing_pending"), 0);
}

TEST_F(CallsAdminTest, RepublishAllWritesEveryLiveQueueThenEveryLiveOperator) {
  const v1::Skill skill = CreateSkill("French");
  const v1::Queue q1 = CreateQueue(QueueMessage("R1"));
  const v1::Queue q2 = CreateQueue(QueueMessage("R2"));
  const v1::Queue gone = CreateQueue(QueueMessage("Gone"));
  const v1::Operator a = CreateOperator(OperatorMessage("vasily", {{skill.name(), 3}}));
  const v1::Operator b = CreateOperator(OperatorMessage("yana"));
  v1::QueueMembership membership;
  ASSERT_GRPC_OK(AddMember(q1, a, 2, 5, &membership));
  v1::DeleteQueueRequest remove;
  remove.set_name(gone.name());
  remove.set_request_id("gone");
  v1::Queue ignored;
  ASSERT_GRPC_OK(Call(&CallsAdminService::Stub::DeleteQueue, remove, &ignored));

  routing_.Clear();  // Redis restarted empty
  ASSERT_TRUE(store_->RepublishAll().ok());
  const std::vector<FakeRoutingWriter::Write> writes = routing_.writes();
  ASSERT_EQ(writes.size(), 4u);
  EXPECT_TRUE(writes[0].queue);
  EXPECT_TRUE(writes[1].queue);
  EXPECT_FALSE(writes[2].queue);
  EXPECT_FALSE(writes[3].queue);
  EXPECT_EQ((std::set<std::string>{writes[0].id, writes[1].id}),
            (std::set<std::string>{IdOf(q1.name()), IdOf(q2.name())}));
  EXPECT_EQ((std::set<std::string>{writes[2].id, writes[3].id}),
            (std::set<std::string>{IdOf(a.name()), IdOf(b.name())}));
  EXPECT_EQ(routing_.Queue(IdOf(q1.name()))->tiers, std::vector<int>{2});
  std::optional<OperatorRouting> routed = routing_.Operator(IdOf(a.name()));
  ASSERT_TRUE(routed.has_value());
  ASSERT_EQ(routed->memberships.size(), 1u);
  EXPECT_EQ(routed->memberships[0].penalty, 5);
  // The same as the reconciler's reads.
  absl::StatusOr<OperatorRouting> read = store_->ReadOperatorRouting(IdOf(a.name()));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->memberships.size(), 1u);
  EXPECT_EQ(store_->ReadQueueRouting(IdOf(gone.name()))->deleted, true);
  EXPECT_EQ(Count("SELECT count(*) FROM routing_pending"), 0);
}

TEST_F(CallsAdminTest, RoundRobinOrderFollowsJoining) {
  const v1::Queue queue = CreateQueue(QueueMessage("Round"));
  std::vector<v1::Operator> ops;
  for (const char* login : {"rr1", "rr2", "rr3"})
    ops.push_back(CreateOperator(OperatorMessage(login)));
  v1::QueueMembership membership;
  for (const v1::Operator& op : ops) ASSERT_GRPC_OK(AddMember(queue, op, 1, 0, &membership));
  int64_t previous = 0;
  for (const v1::Operator& op : ops) {
    const int64_t order = routing_.Operator(IdOf(op.name()))->memberships.at(0).order;
    EXPECT_GT(order, previous);
    previous = order;
  }
}

}  // namespace
}  // namespace contactcentre::calls
