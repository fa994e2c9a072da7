#include "services/calls/testing/calls_cluster.h"

#include <signal.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/testing/health.h"

namespace contactcentre::calls::testing {
namespace {

using common::testing::ChildProcess;
using common::testing::FreePort;
using common::testing::PortIsListening;

absl::Status Annotated(const absl::Status& status, absl::string_view step) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(step, ": ", status.message()));
}

absl::Status WaitUntilListening(int port, ChildProcess& process, const std::string& what) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!PortIsListening(port)) {
    if (!process.running()) return absl::InternalError(absl::StrCat(what, " exited at start-up"));
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(what, " did not listen within 30s"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::OkStatus();
}

// Waits for readiness (migrations applied, routing written): the first admin read answers.
absl::Status WaitUntilServing(v1::CallsAdminService::Stub& admin) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    auto context = common::ContextWithTimeout(absl::Seconds(2));
    v1::ListSkillsRequest request;
    request.set_page_size(1);
    v1::ListSkillsResponse response;
    grpc::Status status = admin.ListSkills(context.get(), request, &response);
    if (status.ok()) return absl::OkStatus();
    if (absl::Now() > deadline) return common::FromGrpcStatus(status);
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<CallsCluster>> CallsCluster::Start(ClusterOptions options) {
  std::unique_ptr<CallsCluster> cluster(new CallsCluster(std::move(options)));
  const ClusterOptions& o = cluster->options_;
  cluster->customers_address_ = o.customers_address;
  if (!o.customers_dsn.empty() && o.customers_address.empty()) {
    const int port = FreePort();
    cluster->customers_address_ = absl::StrCat("127.0.0.1:", port);
    cluster->customers_process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{absl::StrCat(o.binary_dir, "/services/customers/cc-customers")},
        std::map<std::string, std::string>{{"CC_LISTEN", cluster->customers_address_},
                                           {"CC_POSTGRES", o.customers_dsn},
                                           {"CC_REDIS", o.redis_address},
                                           {"CC_SITE", o.site},
                                           {"CC_LOG_LEVEL", "warning"}},
        o.log_dir.empty() ? "" : absl::StrCat(o.log_dir, "/customers.log"));
    CC_RETURN_IF_ERROR(WaitUntilListening(port, *cluster->customers_process_, "cc-customers"));
  }
  if (!cluster->customers_address_.empty()) {
    cluster->customers_stub_ =
        customers::v1::CustomersService::NewStub(common::MakeChannel(cluster->customers_address_));
  }
  for (int i = 0; i < o.replicas; ++i) {
    cluster->replicas_.push_back(std::make_unique<Replica>());
    CC_RETURN_IF_ERROR(cluster->StartReplica(*cluster->replicas_.back(), i));
  }
  return cluster;
}

CallsCluster::~CallsCluster() {
  for (auto& replica : replicas_) {
    if (replica->process) replica->process->Signal(SIGTERM);
  }
  for (auto& replica : replicas_) {
    if (replica->process) replica->process->WaitForExit(absl::Seconds(10));
  }
}

absl::Status CallsCluster::StartReplica(Replica& replica, int index) {
  replica.port = FreePort();
  std::vector<std::string> argv;
  // CC_TEST_GDB=1 runs replicas under gdb, which prints the stack of a crash to their log.
  if (const char* gdb = std::getenv("CC_TEST_GDB"); gdb != nullptr && std::string(gdb) == "1") {
    argv = {"/usr/bin/gdb", "-batch", "-ex", "run", "-ex", "bt", "--args"};
  }
  argv.push_back(absl::StrCat(options_.binary_dir, "/services/calls/cc-calls"));
  for (const std::string& flag : options_.calls_flags) argv.push_back(flag);
  replica.process = std::make_unique<ChildProcess>(
      argv,
      std::map<std::string, std::string>{
          {"CC_LISTEN", absl::StrCat("127.0.0.1:", replica.port)},
          {"CC_POSTGRES", options_.calls_dsn},
          {"CC_REDIS", options_.redis_address},
          {"CC_SITE", options_.site},
          {"CC_CUSTOMERS_ADDRESS", customers_address_.empty() ? "127.0.0.1:1" : customers_address_},
          {"CC_SHUTDOWN_GRACE", "2s"},
          {"CC_LOG_LEVEL", "warning"}},
      options_.log_dir.empty() ? "" : absl::StrCat(options_.log_dir, "/calls-", index, ".log"));
  CC_RETURN_IF_ERROR(
      WaitUntilListening(replica.port, *replica.process, absl::StrCat("cc-calls #", index)));
  auto channel = common::MakeChannel(absl::StrCat("127.0.0.1:", replica.port));
  replica.calls = v1::CallsService::NewStub(channel);
  replica.admin = v1::CallsAdminService::NewStub(channel);
  replica.campaigns = v1::CampaignsService::NewStub(channel);
  // Health turns SERVING once every migration is applied (the admin API answers earlier, as
  // soon as its own tables exist).
  if (!common::testing::WaitForHealth(channel, "SERVING", absl::Seconds(30))) {
    return absl::DeadlineExceededError(absl::StrCat("cc-calls #", index, " never became SERVING"));
  }
  return WaitUntilServing(*replica.admin);
}

void CallsCluster::Kill(int replica) {
  replicas_[replica]->process->Signal(SIGKILL);
  replicas_[replica]->process->WaitForExit(absl::Seconds(10));
  replicas_[replica]->process.reset();
}

absl::Status CallsCluster::Restart(int replica) {
  return StartReplica(*replicas_[replica], replica);
}

std::string Scenario::Unique(const std::string& display_name) {
  return absl::StrCat(display_name, " #", ++counter_, "-", common::NewId().substr(30));
}

absl::StatusOr<v1::Skill> Scenario::CreateSkill(const std::string& display_name) {
  v1::CreateSkillRequest request;
  request.mutable_skill()->set_display_name(Unique(display_name));
  request.set_request_id(common::NewId());
  return Rpc(cluster_->admin(), &v1::CallsAdminService::Stub::CreateSkill, request);
}

absl::StatusOr<v1::Queue> Scenario::CreateQueue(const std::string& display_name,
                                                const std::function<void(v1::Queue&)>& customize) {
  v1::CreateQueueRequest request;
  v1::Queue& queue = *request.mutable_queue();
  queue.set_display_name(Unique(display_name));
  queue.set_site(cluster_->options().site);
  for (const char* code : {"resolved", "escalated", "no_answer"}) {
    v1::DispositionCode* disposition = queue.add_disposition_codes();
    disposition->set_code(code);
    disposition->set_label(code);
  }
  if (customize) customize(queue);
  request.set_request_id(common::NewId());
  return Rpc(cluster_->admin(), &v1::CallsAdminService::Stub::CreateQueue, request);
}

absl::StatusOr<v1::Operator> Scenario::CreateOperator(
    const std::string& display_name, const std::function<void(v1::Operator&)>& customize) {
  v1::CreateOperatorRequest request;
  v1::Operator& op = *request.mutable_operator_();
  op.set_display_name(display_name);
  op.set_login(absl::StrCat("op", ++counter_, ".", common::NewId().substr(24)));
  op.set_site(cluster_->options().site);
  op.set_endpoint(absl::StrCat("sip:", op.login(), "@pbx.local"));
  op.set_role(v1::OPERATOR_ROLE_OPERATOR);
  if (customize) customize(op);
  request.set_request_id(common::NewId());
  return Rpc(cluster_->admin(), &v1::CallsAdminService::Stub::CreateOperator, request);
}

absl::StatusOr<v1::Team> Scenario::CreateTeam(const std::string& display_name,
                                              const std::vector<std::string>& supervisors) {
  v1::CreateTeamRequest request;
  request.mutable_team()->set_display_name(Unique(display_name));
  request.mutable_team()->set_site(cluster_->options().site);
  for (const std::string& supervisor : supervisors) {
    request.mutable_team()->add_supervisors(supervisor);
  }
  request.set_request_id(common::NewId());
  return Rpc(cluster_->admin(), &v1::CallsAdminService::Stub::CreateTeam, request);
}

absl::StatusOr<v1::QueueMembership> Scenario::AddMember(const v1::Queue& queue,
                                                        const v1::Operator& op, int tier,
                                                        int penalty, int skill_level) {
  v1::CreateQueueMembershipRequest request;
  request.set_parent(queue.name());
  request.mutable_membership()->set_operator_(op.name());
  request.mutable_membership()->set_tier(tier);
  request.mutable_membership()->set_penalty(penalty);
  request.mutable_membership()->set_skill_level(skill_level);
  request.set_request_id(common::NewId());
  return Rpc(cluster_->admin(), &v1::CallsAdminService::Stub::CreateQueueMembership, request);
}

absl::StatusOr<v1::OperatorPresence> Scenario::LogIn(const v1::Operator& op, int replica) {
  v1::SetPresenceRequest request;
  request.set_operator_(op.name());
  request.set_state(v1::OPERATOR_STATE_AVAILABLE);
  return Rpc(cluster_->calls(replica), &v1::CallsService::Stub::SetPresence, request);
}

absl::StatusOr<v1::OfferCallResponse> Scenario::Offer(const v1::Queue& queue,
                                                      const std::string& caller, int priority,
                                                      int replica, const std::string& request_id) {
  v1::OfferCallRequest request;
  request.set_telephony_adapter("test");
  request.set_telephony_call_id(common::NewId());
  request.set_queue(queue.name());
  if (!caller.empty()) request.mutable_caller_number()->set_raw(caller);
  if (priority >= 0) request.set_priority(priority);
  request.set_request_id(request_id);
  return Rpc(cluster_->calls(replica), &v1::CallsService::Stub::OfferCall, request);
}

absl::StatusOr<v1::Call> Scenario::Complete(const v1::Call& reserved,
                                            const std::string& disposition, int replica) {
  auto& calls = cluster_->calls(replica);
  v1::AcceptReservationRequest accept;
  accept.set_reservation(ReservationOf(reserved));
  CC_RETURN_IF_ERROR(
      Annotated(Rpc(calls, &v1::CallsService::Stub::AcceptReservation, accept).status(),
                "AcceptReservation"));
  v1::ConnectCallRequest connect;
  connect.set_call(reserved.name());
  CC_RETURN_IF_ERROR(
      Annotated(Rpc(calls, &v1::CallsService::Stub::ConnectCall, connect).status(), "ConnectCall"));
  v1::HangUpRequest hang_up;
  hang_up.set_call(reserved.name());
  hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
  CC_RETURN_IF_ERROR(
      Annotated(Rpc(calls, &v1::CallsService::Stub::HangUp, hang_up).status(), "HangUp"));
  v1::CompleteWrapUpRequest wrap_up;
  wrap_up.set_call(reserved.name());
  wrap_up.mutable_wrap_up()->set_disposition(disposition);
  wrap_up.mutable_wrap_up()->set_topic("billing");
  wrap_up.mutable_wrap_up()->set_notes("explained the invoice");
  return Rpc(calls, &v1::CallsService::Stub::CompleteWrapUp, wrap_up);
}

std::string ReservationOf(const v1::Call& call) {
  if (call.reservations().empty()) return "";
  return call.reservations().rbegin()->name();
}

}  // namespace contactcentre::calls::testing
