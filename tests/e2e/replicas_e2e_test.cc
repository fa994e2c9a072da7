// Several replicas of every service on one machine, behind client-side round_robin, as in
// Kubernetes behind headless Services: three replicas of calls and two of every other service,
// each a real process. First, calls offered through the calls replicas make them look the callers
// up in the customers replicas: the services' own clients spread over a list of replicas too.
// Clients take the list of a service's replicas ("127.0.0.1:a,127.0.0.1:b", what deploy/run.sh's
// CC_REPLICAS hands the services) and must spread their calls over all of them; a replica of calls
// and one of customers stopped with SIGTERM in the middle of the load must drain without a single
// failed client call (the clients watch each replica's health and stop sending to it as it turns
// NOT_SERVING, before it stops accepting). Calls served are counted per replica twice: by the
// client (the peer that answered each call) and by the server itself (the counts it logs as it
// stops, from gRPC's channelz counters).
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_client.h"
#include "common/testing/child_process.h"
#include "common/testing/health.h"
#include "common/testing/test_servers.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"

namespace contactcentre {
namespace {

using common::testing::ChildProcess;
using common::testing::TestDatabase;
using common::testing::TestServers;
using common::testing::WaitForHealth;

struct ServiceLoad {
  std::string name;
  int replicas;
  // A unary method that answers OK to an empty request. Analytics serves its contract
  // UNIMPLEMENTED until its own issue lands, so the health check stands in.
  std::string method;
};

const ServiceLoad kServices[] = {
    {"calls", 3, "/contactcentre.calls.v1.CallsAdminService/ListQueues"},
    {"customers", 2, "/contactcentre.customers.v1.CustomersService/ListCustomers"},
    {"surveys", 2, "/contactcentre.surveys.v1.SurveyService/ListSurveys"},
    {"knowledge", 2, "/contactcentre.knowledge.v1.ArticlesService/ListArticles"},
    {"analytics", 2, "/grpc.health.v1.Health/Check"},
};

struct Replica {
  std::string service;
  int index = 0;
  int port = 0;
  std::string log_path;
  std::unique_ptr<ChildProcess> process;
};

// One unary call with an empty request; the status and the peer ("ipv4:127.0.0.1:<port>") that
// answered it.
grpc::Status EmptyCall(grpc::GenericStub& stub, const std::string& method, std::string* peer) {
  auto context = common::ContextWithTimeout(absl::Seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10))) {
    context->TryCancel();
    done.WaitForNotification();
  }
  *peer = context->peer();
  return result;
}

// The port of a peer string such as "ipv4:127.0.0.1:50051".
int PeerPort(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(peer.c_str() + colon + 1);
}

// The "gRPC server stopped" line of a replica's log: the calls it served, by its own count.
std::map<std::string, int64_t> ServerCounts(const std::string& log_path) {
  std::ifstream log(log_path);
  std::string line;
  std::map<std::string, int64_t> counts;
  const std::regex field("\"(calls_started|calls_succeeded|calls_failed)\":([0-9]+)");
  while (std::getline(log, line)) {
    if (line.find("gRPC server stopped") == std::string::npos) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), field), end; it != end; ++it) {
      counts[(*it)[1]] = std::stoll((*it)[2]);
    }
  }
  return counts;
}

TEST(ReplicasE2eTest, RoundRobinSpreadsLoadAndASigtermedReplicaDrainsWithoutAFailedCall) {
  const TestServers& servers = TestServers::Get();
  const std::string site = common::testing::UniqueTestSite();
  char log_dir_template[] = "/tmp/cc-replicas-e2e.XXXXXX";
  ASSERT_NE(mkdtemp(log_dir_template), nullptr);
  const std::string log_dir = log_dir_template;

  std::map<std::string, std::unique_ptr<TestDatabase>> databases;
  std::vector<std::unique_ptr<Replica>> replicas;
  std::map<std::string, std::vector<int>> ports;
  for (const ServiceLoad& service : kServices) {
    databases[service.name] = std::make_unique<TestDatabase>();
    for (int i = 0; i < service.replicas; ++i) {
      ports[service.name].push_back(common::testing::FreePort());
    }
  }
  auto address_list = [&](const std::string& service) {
    std::vector<std::string> addresses;
    for (int port : ports[service]) addresses.push_back(absl::StrCat("127.0.0.1:", port));
    return absl::StrJoin(addresses, ",");
  };

  for (const ServiceLoad& service : kServices) {
    for (int i = 0; i < service.replicas; ++i) {
      auto replica = std::make_unique<Replica>();
      replica->service = service.name;
      replica->index = i;
      replica->port = ports[service.name][i];
      replica->log_path = absl::StrCat(log_dir, "/", service.name, "-", i, ".log");
      replica->process = std::make_unique<ChildProcess>(
          std::vector<std::string>{absl::StrCat(common::testing::BinaryDir(), "/services/",
                                                service.name, "/cc-", service.name)},
          std::map<std::string, std::string>{
              {"CC_LISTEN", absl::StrCat("127.0.0.1:", replica->port)},
              {"CC_POSTGRES", databases[service.name]->dsn()},
              {"CC_REDIS", absl::StrCat(servers.redis_host, ":", servers.redis_port)},
              {"CC_SITE", site},
              {"CC_PG_POOL_SIZE", "3"},
              {"CC_REDIS_POOL_SIZE", "4"},
              {"CC_READINESS_INTERVAL", "100ms"},
              // Health says NOT_SERVING for the drain delay while the replica still serves,
              // then in-flight calls get the grace period.
              {"CC_DRAIN_DELAY", "300ms"},
              {"CC_SHUTDOWN_GRACE", "5s"},
              // The services' own clients balance over every replica too.
              {"CC_CUSTOMERS_ADDRESS", address_list("customers")},
              {"CC_CUSTOMERS_TARGET", address_list("customers")},
              {"CC_CALLS_TARGET", address_list("calls")},
          },
          replica->log_path);
      replicas.push_back(std::move(replica));
    }
  }
  auto dump_logs = [&] {
    for (const auto& replica : replicas) {
      std::ifstream log(replica->log_path);
      std::string line;
      std::cerr << "--- " << replica->service << "-" << replica->index << "\n";
      while (std::getline(log, line)) std::cerr << line << "\n";
    }
  };

  // Every replica, asked on its own address, becomes ready (the first of each service applies
  // the migrations; the others wait on the advisory lock and find nothing left to do).
  const absl::Time started = absl::Now();
  for (const auto& replica : replicas) {
    auto channel = common::MakeChannel(absl::StrCat("127.0.0.1:", replica->port));
    ASSERT_TRUE(WaitForHealth(channel, "SERVING", absl::Seconds(45)))
        << replica->service << "-" << replica->index << " never became ready";
  }
  std::cout << "11 replicas SERVING in " << absl::Now() - started << "\n";

  // Clients: one channel per service over the list of its replicas, round_robin.
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  for (const ServiceLoad& service : kServices) {
    channels[service.name] = common::MakeChannel(address_list(service.name));
  }

  // The services' own clients balance too: calls offered to the calls replicas make them look
  // the callers up in the customers replicas (over the list in CC_CUSTOMERS_ADDRESS).
  constexpr int kOffers = 240;
  {
    auto admin = calls::v1::CallsAdminService::NewStub(channels["calls"]);
    calls::v1::CreateQueueRequest create;
    create.mutable_queue()->set_display_name("Replicas");
    create.mutable_queue()->set_site(site);
    auto* code = create.mutable_queue()->add_disposition_codes();
    code->set_code("resolved");
    code->set_label("Resolved");
    code->set_effect(calls::v1::DISPOSITION_EFFECT_DONE);
    create.set_request_id(absl::StrCat("create-queue-", site));
    calls::v1::Queue queue;
    auto context = common::ContextWithTimeout(absl::Seconds(10));
    grpc::Status created = admin->CreateQueue(context.get(), create, &queue);
    ASSERT_TRUE(created.ok()) << created.error_message();
    std::atomic<int> offered{0};
    std::atomic<int> offer_failures{0};
    std::string first_offer_failure;
    std::vector<std::thread> offerers;
    for (int t = 0; t < 8; ++t) {
      offerers.emplace_back([&, t] {
        auto stub = calls::v1::CallsService::NewStub(channels["calls"]);
        for (int i = t; i < kOffers; i += 8) {
          calls::v1::OfferCallRequest offer;
          offer.set_telephony_adapter("replicas-e2e");
          offer.set_telephony_call_id(absl::StrCat("call-", i));
          offer.set_request_id(absl::StrCat("offer-", site, "-", i));
          offer.set_queue(queue.name());
          offer.mutable_caller_number()->set_e164(absl::StrCat("+7916", 1000000 + i));
          calls::v1::OfferCallResponse response;
          auto offer_context = common::ContextWithTimeout(absl::Seconds(10));
          grpc::Status status = stub->OfferCall(offer_context.get(), offer, &response);
          if (status.ok()) {
            offered.fetch_add(1);
          } else if (offer_failures.fetch_add(1) == 0) {
            first_offer_failure = absl::StrCat(status.error_code(), " ", status.error_message());
          }
        }
      });
    }
    for (std::thread& offerer : offerers) offerer.join();
    ASSERT_EQ(offered.load(), kOffers) << "the first failure: " << first_offer_failure;
  }

  absl::Mutex mutex;
  std::map<int, int64_t> served_by_port;  // calls answered OK, by the replica's port
  std::vector<std::string> failures;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> clients;
  constexpr int kClientThreads = 8;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      std::map<std::string, std::unique_ptr<grpc::GenericStub>> stubs;
      for (const ServiceLoad& service : kServices) {
        stubs[service.name] = std::make_unique<grpc::GenericStub>(channels[service.name]);
      }
      for (int64_t i = t; !stop.load(); ++i) {
        const ServiceLoad& service = kServices[i % std::size(kServices)];
        std::string peer;
        grpc::Status status = EmptyCall(*stubs[service.name], service.method, &peer);
        absl::MutexLock lock(&mutex);
        if (status.ok()) {
          ++served_by_port[PeerPort(peer)];
        } else if (failures.size() < 20) {
          failures.push_back(absl::StrCat(service.name, " via ", peer, ": ", status.error_code(),
                                          " ", status.error_message()));
        }
        total.fetch_add(1);
      }
    });
  }

  // Mid-load: SIGTERM one replica of calls and one of customers; both must drain and exit 0
  // while the clients keep calling.
  absl::SleepFor(absl::Milliseconds(1500));
  Replica* stopped_calls = replicas[0].get();      // calls-0
  Replica* stopped_customers = replicas[4].get();  // customers-1
  ASSERT_EQ(stopped_calls->service, "calls");
  ASSERT_EQ(stopped_customers->service, "customers");
  std::map<int, int64_t> before_stop;
  {
    absl::MutexLock lock(&mutex);
    before_stop = served_by_port;
  }
  stopped_calls->process->Signal(SIGTERM);
  stopped_customers->process->Signal(SIGTERM);
  const std::optional<int> calls_exit = stopped_calls->process->WaitForExit(absl::Seconds(15));
  const std::optional<int> customers_exit =
      stopped_customers->process->WaitForExit(absl::Seconds(15));
  absl::SleepFor(absl::Milliseconds(1000));
  stop.store(true);
  for (std::thread& client : clients) client.join();

  // Stop the rest (in parallel: each drains), then read every replica's own count.
  for (const auto& replica : replicas) {
    if (replica->process->running()) replica->process->Signal(SIGTERM);
  }
  for (const auto& replica : replicas) {
    EXPECT_EQ(replica->process->WaitForExit(absl::Seconds(15)), std::optional<int>(0))
        << replica->service << "-" << replica->index << " did not stop cleanly";
  }

  EXPECT_EQ(calls_exit, std::optional<int>(0)) << "the SIGTERMed calls replica";
  EXPECT_EQ(customers_exit, std::optional<int>(0)) << "the SIGTERMed customers replica";
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " failed calls, the first: " << absl::StrJoin(failures, "\n");
  std::cout << total.load() << " calls in " << absl::Now() - started << " since start-up\n";
  std::printf("%-10s %-8s %6s %12s %14s %14s\n", "service", "replica", "port", "client OK",
              "before SIGTERM", "server count");
  for (const ServiceLoad& service : kServices) {
    int64_t service_total = 0;
    for (int port : ports[service.name]) service_total += served_by_port[port];
    for (const auto& replica : replicas) {
      if (replica->service != service.name) continue;
      const int64_t served = served_by_port[replica->port];
      const std::map<std::string, int64_t> counts = ServerCounts(replica->log_path);
      const int64_t server_succeeded =
          counts.count("calls_succeeded") ? counts.at("calls_succeeded") : -1;
      std::printf("%-10s %-8d %6d %12lld %14lld %14lld\n", service.name.c_str(), replica->index,
                  replica->port, static_cast<long long>(served),
                  static_cast<long long>(before_stop[replica->port]),
                  static_cast<long long>(server_succeeded));
      // Every replica serves a share: a fair share is 1/replicas of the service's calls; the
      // replicas stopped early served for part of the run only.
      const bool stopped_early =
          replica.get() == stopped_calls || replica.get() == stopped_customers;
      const double floor = (stopped_early ? 0.1 : 0.2) / service.replicas;
      EXPECT_GE(served, floor * service_total) << service.name << "-" << replica->index
                                               << " served " << served << " of " << service_total;
      // The replica's own count (health checks included) covers what the clients saw.
      EXPECT_GE(server_succeeded, served) << service.name << "-" << replica->index;
      // What it counts as failed are the clients' health watches (the test's, and for
      // customers the calls replicas'), which its shutdown ends, and caller look-ups of
      // numbers no customer has (NOT_FOUND).
      if (service.name != "customers") {
        EXPECT_LE(counts.count("calls_failed") ? counts.at("calls_failed") : -1, 1)
            << service.name << "-" << replica->index;
      }
      if (service.name == "customers") {
        // Beyond the test's own calls, each customers replica answered a share of the calls
        // replicas' look-ups (a handful of the difference are health checks and watches).
        const int64_t started_count =
            counts.count("calls_started") ? counts.at("calls_started") : 0;
        std::printf("%-10s %-8d look-ups from the calls replicas: about %lld of %d offers\n", "",
                    replica->index, static_cast<long long>(started_count - served - 5), kOffers);
        EXPECT_GE(started_count - served, kOffers / service.replicas / 3)
            << "customers-" << replica->index << " got too few of the calls replicas' look-ups";
      }
    }
  }
  // Until it stopped, the SIGTERMed calls replica took about its third of the calls.
  int64_t calls_before = 0;
  for (int port : ports["calls"]) calls_before += before_stop[port];
  EXPECT_GE(before_stop[stopped_calls->port], calls_before / 3 / 2);
  if (::testing::Test::HasFailure()) dump_logs();
  std::string remove = absl::StrCat("rm -rf ", log_dir);
  if (!::testing::Test::HasFailure()) {
    EXPECT_EQ(std::system(remove.c_str()), 0);
  }
}

}  // namespace
}  // namespace contactcentre
