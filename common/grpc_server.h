// The gRPC server bootstrap every service uses: listen address, the standard health service
// (readiness and liveness), server reflection, message size and keepalive limits, and a
// graceful shutdown that stops accepting, drains in-flight calls, then exits.
//
//   common::ShutdownSignals::Block();            // first thing in main, before any thread
//   CC_ASSIGN_OR_RETURN(auto server, common::GrpcServer::Start(options, {&calls_service}));
//   server->SetReady(true);
//   common::ShutdownSignals::Wait();             // SIGTERM or SIGINT
//   server->Shutdown();
//
// Health: the service name "" and each name in `health_service_names` report readiness
// (SERVING only after SetReady(true)); the name "liveness" reports SERVING for as long as the
// process serves at all and touches no dependency, for Kubernetes liveness probes.
//
// Streaming methods belong on gRPC's callback API: on this kind of machine a sync-API server
// with 5,000 subscribers fell to a 9.6 s lag while the callback API held 50,000 messages/s.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace contactcentre::common {

// The health service name that always answers SERVING while the process runs.
inline constexpr char kLivenessServiceName[] = "liveness";

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (see GrpcServer::port()).
  std::string listen_address = "0.0.0.0:0";
  // Fully qualified gRPC service names that report readiness besides "".
  std::vector<std::string> health_service_names;
  // Largest request or response message accepted.
  int max_message_bytes = 16 * 1024 * 1024;
  // Server pings idle connections this often and drops them after the timeout without an
  // answer, so that dead clients (and their streams) are noticed.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // How long in-flight calls may take to finish once shutdown starts; then they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // How long health reports NOT_SERVING before the server stops accepting, so that load
  // balancers (Kubernetes endpoints) stop sending new calls first.
  absl::Duration drain_delay = absl::ZeroDuration();
  // When positive, each client connection is closed gracefully (GOAWAY, in-flight calls and
  // streams finish) after about this long, so that clients resolve the address again and spread
  // over replicas added since they connected (a headless Service's DNS is read only on
  // reconnection). Zero: connections live as long as the client keeps them.
  absl::Duration max_connection_age = absl::ZeroDuration();
};

// Calls a process's gRPC servers have handled, from gRPC's own channelz counters (kept by gRPC
// anyway, so counting costs nothing per call). Health checks count too.
struct ServedCalls {
  int64_t started = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
};
ServedCalls CountServedCalls();

class GrpcServer {
 public:
  // Builds and starts the server with `services` (not owned; they must outlive the server).
  // UNAVAILABLE when the address cannot be bound. SO_REUSEPORT is off, so a second server on a
  // busy port fails instead of silently sharing its connections.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services);

  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Sets readiness (health "" and the named services). Ignored once shutdown has begun.
  void SetReady(bool ready);
  bool ready() const;

  // Runs `hook` when shutdown begins, before in-flight calls drain: long-lived streams use it
  // to finish their calls instead of waiting for the grace period to cancel them.
  void OnShutdown(std::function<void()> hook);

  // Graceful shutdown: health NOT_SERVING, wait the drain delay, run the shutdown hooks, stop
  // accepting calls (GOAWAY to every client), let in-flight calls finish within the grace
  // period (then cancel them), and return when the server has stopped. gRPC also waits, within
  // the same grace, for clients to close their connections after the GOAWAY; a client that
  // keeps an idle connection open therefore delays the exit up to the grace period, never
  // longer. Idempotent. The last log line ("gRPC server stopped") gives the calls the process
  // served (calls_started, calls_succeeded, calls_failed).
  void Shutdown();

  grpc::Server* server() { return server_.get(); }

 private:
  GrpcServer(GrpcServerOptions options, std::unique_ptr<grpc::Server> server, int port);

  const GrpcServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  mutable absl::Mutex mutex_;
  bool ready_ ABSL_GUARDED_BY(mutex_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::function<void()>> shutdown_hooks_ ABSL_GUARDED_BY(mutex_);
};

// SIGTERM and SIGINT handling without async-signal-unsafe handlers: the signals are blocked in
// every thread and one thread waits for them.
class ShutdownSignals {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread and every thread it creates afterwards,
  // and ignores SIGPIPE. Call first thing in main, before any thread starts.
  static void Block();
  // Waits until SIGTERM or SIGINT arrives; returns the signal number.
  static int Wait();
};

}  // namespace contactcentre::common
