#include "common/grpc_server.h"

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace contactcentre::common {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  // Clients of the suite ping every 20 s or more; allow that without calls in flight.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
  }
  for (grpc::Service* service : services) builder.RegisterService(service);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (address in use or not valid)"));
  }
  auto result = std::unique_ptr<GrpcServer>(new GrpcServer(options, std::move(server), port));
  result->SetReady(false);
  result->server_->GetHealthCheckService()->SetServingStatus(kLivenessServiceName, true);
  LogInfo("gRPC server listening",
          {{"address", options.listen_address}, {"port", static_cast<int64_t>(port)}});
  return result;
}

GrpcServer::GrpcServer(GrpcServerOptions options, std::unique_ptr<grpc::Server> server, int port)
    : options_(std::move(options)), server_(std::move(server)), port_(port) {}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::SetReady(bool ready) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  if (ready != ready_) {
    LogInfo(ready ? "ready: health SERVING" : "not ready: health NOT_SERVING");
  }
  ready_ = ready;
  // The overall status "" changes last when becoming ready and first when not, so that ""
  // SERVING always implies that every named service is SERVING too.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (!ready) health->SetServingStatus("", false);
  for (const std::string& name : options_.health_service_names) {
    health->SetServingStatus(name, ready);
  }
  if (ready) health->SetServingStatus("", true);
}

bool GrpcServer::ready() const {
  absl::MutexLock lock(&mutex_);
  return ready_;
}

void GrpcServer::OnShutdown(std::function<void()> hook) {
  absl::MutexLock lock(&mutex_);
  shutdown_hooks_.push_back(std::move(hook));
}

void GrpcServer::Shutdown() {
  std::vector<std::function<void()>> hooks;
  {
    absl::MutexLock lock(&mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    ready_ = false;
    hooks.swap(shutdown_hooks_);
  }
  LogInfo("shutting down: health NOT_SERVING, draining in-flight calls",
          {{"drain_delay_s", options_.drain_delay}, {"grace_s", options_.shutdown_grace}});
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", false);
  for (const std::string& name : options_.health_service_names) {
    health->SetServingStatus(name, false);
  }
  if (options_.drain_delay > absl::ZeroDuration()) absl::SleepFor(options_.drain_delay);
  for (auto& hook : hooks) hook();
  const absl::Time started = absl::Now();
  server_->Shutdown(absl::ToChronoTime(started + options_.shutdown_grace));
  server_->Wait();
  const ServedCalls served = CountServedCalls();
  LogInfo("gRPC server stopped", {{"drain_s", absl::Now() - started},
                                  {"calls_started", served.started},
                                  {"calls_succeeded", served.succeeded},
                                  {"calls_failed", served.failed}});
}

namespace {

// Sums every `"<field>":"<number>"` of a channelz JSON answer (int64 values are JSON strings).
int64_t SumJsonField(absl::string_view json, absl::string_view field) {
  const std::string key = absl::StrCat("\"", field, "\":\"");
  int64_t sum = 0;
  for (size_t at = json.find(key); at != absl::string_view::npos; at = json.find(key, at + 1)) {
    const size_t begin = at + key.size();
    const size_t end = json.find('"', begin);
    int64_t value = 0;
    if (end != absl::string_view::npos &&
        absl::SimpleAtoi(json.substr(begin, end - begin), &value)) {
      sum += value;
    }
  }
  return sum;
}

}  // namespace

ServedCalls CountServedCalls() {
  ServedCalls served;
  char* json = grpc_channelz_get_servers(0);
  if (json == nullptr) return served;
  const absl::string_view text(json);
  served.started = SumJsonField(text, "callsStarted");
  served.succeeded = SumJsonField(text, "callsSucceeded");
  served.failed = SumJsonField(text, "callsFailed");
  gpr_free(json);
  return served;
}

void ShutdownSignals::Block() {
  // hiredis writes with plain write(2): a peer that reset the connection must give EPIPE, not
  // a SIGPIPE that kills the process without a log line.
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int ShutdownSignals::Wait() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  LogInfo("signal received", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  return signal_number;
}

}  // namespace contactcentre::common
