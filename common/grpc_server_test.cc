#include "common/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_client.h"
#include "common/testing/health.h"
#include "contactcentre/testing/sleep.grpc.pb.h"

namespace contactcentre::common {
namespace {

using contactcentre::testing::SleepRequest;
using contactcentre::testing::SleepResponse;
using contactcentre::testing::SleepService;

class SlowService final : public SleepService::Service {
 public:
  // Long handlers watch for cancellation, as the services' must, so that shutdown's grace
  // period bounds them.
  grpc::Status Sleep(grpc::ServerContext* context, const SleepRequest* request,
                     SleepResponse* response) override {
    if (!started.HasBeenNotified()) started.Notify();
    const absl::Time until = absl::Now() + absl::Milliseconds(request->millis());
    while (absl::Now() < until) {
      if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      absl::SleepFor(absl::Milliseconds(5));
    }
    response->set_tag(request->tag());
    return grpc::Status::OK;
  }
  absl::Notification started;
};

// The port of a peer such as "ipv4:127.0.0.1:50051".
int PeerPort(const std::string& peer) { return std::stoi(peer.substr(peer.rfind(':') + 1)); }

// Asks the server's health service over the wire, as a Kubernetes probe would.
std::string Health(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  return testing::HealthStatus(channel, service);
}

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        GrpcServer::Start({.listen_address = "127.0.0.1:0",
                           .health_service_names = {"contactcentre.testing.SleepService"},
                           .shutdown_grace = absl::Seconds(5)},
                          {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = MakeChannel(absl::StrCat("127.0.0.1:", server_->port()));
    stub_ = SleepService::NewStub(channel_);
  }

  grpc::Status Sleep(int millis, std::string* tag_out = nullptr) {
    SleepRequest request;
    request.set_millis(millis);
    request.set_tag("t");
    SleepResponse response;
    auto context = ContextWithTimeout(absl::Seconds(10));
    grpc::Status status = stub_->Sleep(context.get(), request, &response);
    if (tag_out != nullptr) *tag_out = response.tag();
    return status;
  }

  SlowService service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SleepService::Stub> stub_;
};

TEST_F(GrpcServerTest, ServesCalls) {
  std::string tag;
  ASSERT_TRUE(Sleep(0, &tag).ok());
  EXPECT_EQ(tag, "t");
}

TEST_F(GrpcServerTest, ReadinessFollowsSetReadyAndLivenessAlwaysServes) {
  const std::string kService = "contactcentre.testing.SleepService";
  EXPECT_FALSE(server_->ready());
  EXPECT_EQ(Health(channel_, ""), "NOT_SERVING");
  EXPECT_EQ(Health(channel_, kService), "NOT_SERVING");
  EXPECT_EQ(Health(channel_, kLivenessServiceName), "SERVING");
  EXPECT_EQ(Health(channel_, "no.such.Service"), "SERVICE_UNKNOWN");
  server_->SetReady(true);
  EXPECT_TRUE(server_->ready());
  EXPECT_EQ(Health(channel_, ""), "SERVING");
  EXPECT_EQ(Health(channel_, kService), "SERVING");
  server_->SetReady(false);
  EXPECT_EQ(Health(channel_, ""), "NOT_SERVING");
  EXPECT_EQ(Health(channel_, kLivenessServiceName), "SERVING");
}

TEST_F(GrpcServerTest, ShutdownDrainsInFlightCallsAndRefusesNewOnes) {
  server_->SetReady(true);
  std::future<grpc::Status> in_flight =
      std::async(std::launch::async, [this] { return Sleep(700); });
  service_.started.WaitForNotification();
  const absl::Time shutdown_started = absl::Now();
  std::thread shutdown([this] { server_->Shutdown(); });
  absl::SleepFor(absl::Milliseconds(100));
  // A call begun after shutdown started is refused rather than served.
  SleepService::Stub late_stub(MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  SleepRequest request;
  SleepResponse response;
  auto context = ContextWithTimeout(absl::Seconds(2));
  grpc::Status late = late_stub.Sleep(context.get(), request, &response);
  EXPECT_FALSE(late.ok());
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << late.error_message();

  grpc::Status drained = in_flight.get();
  EXPECT_TRUE(drained.ok()) << drained.error_message();
  shutdown.join();
  EXPECT_GE(absl::Now() - shutdown_started, absl::Milliseconds(500));
  EXPECT_FALSE(server_->ready());
  server_->SetReady(true);  // ignored after shutdown
  EXPECT_FALSE(server_->ready());
}

TEST_F(GrpcServerTest, ShutdownCancelsCallsThatOutlastTheGrace) {
  SlowService slow;
  auto server = GrpcServer::Start(
      {.listen_address = "127.0.0.1:0", .shutdown_grace = absl::Milliseconds(200)}, {&slow});
  ASSERT_TRUE(server.ok());
  auto stub = SleepService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  std::future<grpc::Status> in_flight = std::async(std::launch::async, [&] {
    SleepRequest request;
    request.set_millis(3000);
    SleepResponse response;
    auto context = ContextWithTimeout(absl::Seconds(10));
    return stub->Sleep(context.get(), request, &response);
  });
  slow.started.WaitForNotification();
  const absl::Time started = absl::Now();
  (*server)->Shutdown();
  EXPECT_LT(absl::Now() - started, absl::Milliseconds(2500));
  EXPECT_FALSE(in_flight.get().ok());
}

TEST_F(GrpcServerTest, SecondServerOnABusyPortFails) {
  auto second =
      GrpcServer::Start({.listen_address = absl::StrCat("127.0.0.1:", server_->port())}, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(GrpcServerTest, CountsServedCalls) {
  const ServedCalls before = CountServedCalls();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Sleep(0).ok());
  // The server counts a call once it has sent its status, which may be just after the client
  // has it.
  ServedCalls after = CountServedCalls();
  for (const absl::Time deadline = absl::Now() + absl::Seconds(2);
       after.succeeded - before.succeeded < 3 && absl::Now() < deadline;
       after = CountServedCalls()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(after.started - before.started, 3);
  EXPECT_EQ(after.succeeded - before.succeeded, 3);
  EXPECT_EQ(after.failed, before.failed);
}

TEST(GrpcServerMaxConnectionAgeTest, ClientsReconnectWithoutAFailedCall) {
  SlowService service;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      {.listen_address = "127.0.0.1:0", .max_connection_age = absl::Milliseconds(100)}, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = SleepService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  // Calls keep coming while the server closes the connection under them several times.
  const absl::Time until = absl::Now() + absl::Milliseconds(800);
  int calls = 0;
  while (absl::Now() < until) {
    SleepRequest request;
    request.set_millis(5);
    SleepResponse response;
    auto context = ContextWithTimeout(absl::Seconds(5));
    grpc::Status status = stub->Sleep(context.get(), request, &response);
    ASSERT_TRUE(status.ok()) << "call " << calls << ": " << status.error_message();
    ++calls;
  }
  EXPECT_GT(calls, 20);
}

TEST(GrpcClientTest, ChannelsOverSeveralReplicasSkipThoseNotServing) {
  SlowService ready_service;
  SlowService unready_service;
  auto ready = GrpcServer::Start({.listen_address = "127.0.0.1:0"}, {&ready_service});
  auto unready = GrpcServer::Start({.listen_address = "127.0.0.1:0"}, {&unready_service});
  ASSERT_TRUE(ready.ok() && unready.ok());
  (*ready)->SetReady(true);
  const std::string list =
      absl::StrCat("127.0.0.1:", (*ready)->port(), ",127.0.0.1:", (*unready)->port());
  EXPECT_TRUE(NamesSeveralReplicas(list));
  EXPECT_TRUE(NamesSeveralReplicas("dns:///cc-calls.contactcentre.svc.cluster.local:50051"));
  EXPECT_FALSE(NamesSeveralReplicas("127.0.0.1:50051"));
  auto stub = SleepService::NewStub(MakeChannel(list));
  for (int i = 0; i < 10; ++i) {
    SleepRequest request;
    SleepResponse response;
    auto context = ContextWithTimeout(absl::Seconds(5));
    context->set_wait_for_ready(true);
    ASSERT_TRUE(stub->Sleep(context.get(), request, &response).ok());
    EXPECT_EQ(PeerPort(context->peer()), (*ready)->port()) << "call " << i;
  }
  EXPECT_FALSE(unready_service.started.HasBeenNotified());
  // Without health checking, the unready replica gets its share.
  auto unchecked = SleepService::NewStub(MakeChannel(list, HealthChecking::kOff));
  for (int i = 0; i < 4; ++i) {
    SleepRequest request;
    SleepResponse response;
    auto context = ContextWithTimeout(absl::Seconds(5));
    ASSERT_TRUE(unchecked->Sleep(context.get(), request, &response).ok());
  }
  EXPECT_TRUE(unready_service.started.HasBeenNotified());
}

TEST(GrpcClientTest, NormalizesTargets) {
  EXPECT_EQ(NormalizeTarget("localhost:50051"), "localhost:50051");
  EXPECT_EQ(NormalizeTarget("dns:///calls.cc.svc:50051"), "dns:///calls.cc.svc:50051");
  EXPECT_EQ(NormalizeTarget("127.0.0.1:50051,localhost:50061"),
            "ipv4:127.0.0.1:50051,127.0.0.1:50061");
  EXPECT_EQ(NormalizeTarget("ipv4:127.0.0.1:1,127.0.0.1:2"), "ipv4:127.0.0.1:1,127.0.0.1:2");
}

}  // namespace
}  // namespace contactcentre::common
