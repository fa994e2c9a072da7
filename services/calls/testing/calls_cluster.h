// Real processes for tests and benchmarks of the calls service: N replicas of cc-calls (and
// optionally cc-customers) for one site against one PostgreSQL and one Redis, each replica with
// its own gRPC channel, plus helpers to set up skills, queues and operators through the admin
// API and to drive operators.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/grpc_client.h"
#include "common/status.h"
#include "common/testing/child_process.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "contactcentre/calls/v1/campaigns_service.grpc.pb.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"

namespace contactcentre::calls::testing {

// One unary call with a 20 s deadline, its status as absl::Status.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Rpc(Stub& stub,
                             grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                             const Request& request) {
  return common::UnaryCall(stub, method, request, absl::Seconds(20));
}

struct ClusterOptions {
  std::string binary_dir;  // the build folder (services/calls/cc-calls under it)
  std::string calls_dsn;
  std::string customers_dsn;  // empty: no customers process
  std::string redis_address;  // host:port
  std::string site;
  int replicas = 2;
  // Extra flags of every calls replica, e.g. {"--heartbeat_timeout=2s"}.
  std::vector<std::string> calls_flags;
  // Where replicas look up callers; empty: the cluster's own customers process.
  std::string customers_address;
  // Process logs go here (one file per process) when set; else to stderr.
  std::string log_dir;
};

class CallsCluster {
 public:
  static absl::StatusOr<std::unique_ptr<CallsCluster>> Start(ClusterOptions options);
  ~CallsCluster();

  int replicas() const { return static_cast<int>(replicas_.size()); }
  v1::CallsService::Stub& calls(int replica) { return *replicas_[replica]->calls; }
  v1::CallsAdminService::Stub& admin(int replica = 0) { return *replicas_[replica]->admin; }
  v1::CampaignsService::Stub& campaigns(int replica) { return *replicas_[replica]->campaigns; }
  customers::v1::CustomersService::Stub& customers() { return *customers_stub_; }
  const std::string& customers_address() const { return customers_address_; }
  common::testing::ChildProcess& process(int replica) { return *replicas_[replica]->process; }
  bool alive(int replica) const { return replicas_[replica]->process != nullptr; }
  int port(int replica) const { return replicas_[replica]->port; }
  const ClusterOptions& options() const { return options_; }

  // SIGKILL, no goodbye: what a crashed pod does.
  void Kill(int replica);
  // Starts a killed replica again on a new port.
  absl::Status Restart(int replica);

 private:
  struct Replica {
    int port = 0;
    std::unique_ptr<common::testing::ChildProcess> process;
    std::unique_ptr<v1::CallsService::Stub> calls;
    std::unique_ptr<v1::CallsAdminService::Stub> admin;
    std::unique_ptr<v1::CampaignsService::Stub> campaigns;
  };
  explicit CallsCluster(ClusterOptions options) : options_(std::move(options)) {}
  absl::Status StartReplica(Replica& replica, int index);

  ClusterOptions options_;
  std::string customers_address_;
  std::unique_ptr<common::testing::ChildProcess> customers_process_;
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_stub_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

// Builds routing configuration and drives operators through one cluster; every helper checks
// its RPC and returns the resource (or the error).
class Scenario {
 public:
  explicit Scenario(CallsCluster* cluster) : cluster_(cluster) {}

  absl::StatusOr<v1::Skill> CreateSkill(const std::string& display_name);
  // A queue of the cluster's site; `customize` may set any field before it is created.
  absl::StatusOr<v1::Queue> CreateQueue(const std::string& display_name,
                                        const std::function<void(v1::Queue&)>& customize = {});
  absl::StatusOr<v1::Operator> CreateOperator(
      const std::string& display_name, const std::function<void(v1::Operator&)>& customize = {});
  absl::StatusOr<v1::Team> CreateTeam(const std::string& display_name,
                                      const std::vector<std::string>& supervisors = {});
  absl::StatusOr<v1::QueueMembership> AddMember(const v1::Queue& queue, const v1::Operator& op,
                                                int tier = 1, int penalty = 0, int skill_level = 0);
  // Logs the operator in AVAILABLE; returns the presence (with its session id).
  absl::StatusOr<v1::OperatorPresence> LogIn(const v1::Operator& op, int replica = 0);

  absl::StatusOr<v1::OfferCallResponse> Offer(const v1::Queue& queue,
                                              const std::string& caller = "", int priority = -1,
                                              int replica = 0, const std::string& request_id = "");
  // Accepts, connects, hangs up and wraps up the call reserved for the operator.
  absl::StatusOr<v1::Call> Complete(const v1::Call& reserved, const std::string& disposition,
                                    int replica = 0);

 private:
  // Display names are unique per site: tests that share one add a suffix.
  std::string Unique(const std::string& display_name);

  CallsCluster* cluster_;
  int counter_ = 0;
};

// The current reservation of a reserved call: "calls/{id}/reservations/{n}".
std::string ReservationOf(const v1::Call& call);

}  // namespace contactcentre::calls::testing
