// cc-bench-calls: the routing benchmark of the calls service, in one run on this machine.
//
//   1. Throughput: calls routed end to end over gRPC (offer -> reservation -> accept -> connect
//      -> hang up -> wrap-up) with 2 replicas as processes, next to the rate at which the same
//      client threads complete the same number of empty gRPC calls (health Check) on the same
//      replicas; Redis CPU and Redis round trips per routed call.
//   2. Routing latency p50/p99 with 10, 1,000 and 10,000 operators and 10, 1,000 and 100,000
//      waiting calls: an offer routed among the free operators, and a freed operator routed the
//      head of the waiting calls.
//   3. The peer: BullMQ (tools/bench/bullmq) on the same Redis, jobs with priorities added and
//      processed end to end, and its Redis CPU per job.
//   4. Presence at scale: 10,000 operators heartbeating every 5 s; the calls service's CPU.
//
//   cc-bench-calls --servers_env build/test-servers/env            (full sizes, a few minutes)
//   cc-bench-calls --servers_env build/test-servers/env --smoke    (CI: tiny sizes)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_client.h"
#include "common/ids.h"
#include "common/pg_util.h"
#include "common/redis.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"
#include "services/calls/router.h"
#include "services/calls/testing/calls_cluster.h"
#include "tools/bench/bench_util.h"

ABSL_FLAG(std::string, servers_env, "",
          "the env file of deploy/local-servers.sh (PostgreSQL and Redis addresses); required");
ABSL_FLAG(std::string, binary_dir, CC_BINARY_DIR,
          "the build folder holding services/calls/cc-calls");
ABSL_FLAG(std::string, source_dir, CC_SOURCE_DIR, "the checkout (for tools/bench/bullmq)");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "length of each throughput phase");
ABSL_FLAG(int, threads, 16, "client threads of the throughput phases");
ABSL_FLAG(int, samples, 1000, "latency samples per configuration and series");
ABSL_FLAG(std::string, operators, "10,1000,10000", "operator counts of the latency grid");
ABSL_FLAG(std::string, waiting, "10,1000,100000", "waiting-call counts of the latency grid");
ABSL_FLAG(int, presence_operators, 10000, "operators heartbeating in the presence phase");
ABSL_FLAG(absl::Duration, presence_duration, absl::Seconds(20), "length of the presence phase");
ABSL_FLAG(int, bullmq_jobs, 100000, "jobs of the BullMQ run (0: skip it)");
ABSL_FLAG(absl::Duration, presence_batch_window, absl::Milliseconds(20),
          "the replicas' --heartbeat_batch_window in the batched run of the presence phase");
ABSL_FLAG(std::string, phases, "throughput,latency,bullmq,presence", "which phases to run");
ABSL_FLAG(std::string, log_dir, "", "where the replicas' logs go (default: a temp folder)");

namespace contactcentre::bench {
namespace {

using calls::testing::CallsCluster;
using calls::testing::Rpc;
using Stub = calls::v1::CallsService::Stub;
namespace v1 = calls::v1;

void Die(const std::string& message) {
  std::cerr << "cc-bench-calls: " << message << std::endl;
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) Die(absl::StrCat(what, ": ", value.status().ToString()));
  return *std::move(value);
}

struct RedisCounters {
  double cpu_seconds = 0;
  int64_t commands = 0;
  int64_t evalsha = 0;
  std::map<std::string, std::pair<int64_t, double>> per_command;  // calls, usec
};

RedisCounters ReadRedisCounters(common::RedisClient& redis) {
  RedisCounters counters;
  auto info = Must(redis.Command({"INFO", "all"}), "INFO");
  for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
    double value = 0;
    if (absl::ConsumePrefix(&line, "used_cpu_sys:") && absl::SimpleAtod(line, &value)) {
      counters.cpu_seconds += value;
    } else if (absl::ConsumePrefix(&line, "used_cpu_user:") && absl::SimpleAtod(line, &value)) {
      counters.cpu_seconds += value;
    } else if (absl::ConsumePrefix(&line, "total_commands_processed:")) {
      absl::SimpleAtoi(line, &counters.commands);
    } else if (absl::ConsumePrefix(&line, "cmdstat_")) {
      // cmdstat_evalsha:calls=12,usec=340,usec_per_call=...
      const size_t colon = line.find(':');
      const std::string name(line.substr(0, colon));
      int64_t calls = 0;
      double usec = 0;
      for (absl::string_view part : absl::StrSplit(line.substr(colon + 1), ',')) {
        if (absl::ConsumePrefix(&part, "calls=")) absl::SimpleAtoi(part, &calls);
        if (absl::ConsumePrefix(&part, "usec=")) absl::SimpleAtod(part, &usec);
      }
      counters.per_command[name] = {calls, usec};
      if (name == "evalsha") counters.evalsha = calls;
    }
  }
  return counters;
}

struct Latencies {
  std::vector<absl::Duration> samples;
  absl::Duration Percentile(double p) {
    if (samples.empty()) return absl::ZeroDuration();
    std::sort(samples.begin(), samples.end());
    return samples[std::min(samples.size() - 1, static_cast<size_t>(p * samples.size()))];
  }
};

// Per-method latencies of the throughput phase.
absl::Mutex method_mutex;
std::map<std::string, Latencies>* method_latencies = new std::map<std::string, Latencies>();
bool record_methods = false;

template <typename Request, typename Response>
absl::StatusOr<Response> Timed(const char* name, Stub& stub,
                               grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                            Response*),
                               const Request& request) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Response> response = Rpc(stub, method, request);
  if (record_methods) {
    const absl::Duration took = absl::Now() - start;
    absl::MutexLock lock(&method_mutex);
    (*method_latencies)[name].samples.push_back(took);
  }
  return response;
}

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.2f ms", absl::ToDoubleMilliseconds(d));
}

// One site of the benchmark: queues and operators written straight into routing (the admin
// side's PostgreSQL is not what is measured), operators logged in over gRPC.
class Site {
 public:
  Site(CallsCluster* cluster, common::RedisClient* redis, std::string name)
      : cluster_(cluster), redis_(redis), name_(std::move(name)), writer_(redis) {}

  std::string AddQueue() {
    calls::QueueRouting queue;
    queue.queue_id = common::NewId();
    queue.site = name_;
    queue.display_name = queue.queue_id;
    queue.ring_timeout = absl::Minutes(5);
    queue.wrap_up_time_limit = absl::Minutes(60);
    queue.max_misses_before_not_ready = 0;
    queue.dispositions = {"resolved"};
    if (auto status = writer_.WriteQueue(queue); !status.ok()) Die(status.ToString());
    return queue.queue_id;
  }

  // `count` operators, members of `queue`, logged in AVAILABLE (or NOT_READY); their ids.
  std::vector<std::string> AddOperators(const std::string& queue, int count, bool available,
                                        int threads = 8) {
    std::vector<std::string> ids(count);
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = next++; i < count; i = next++) {
          calls::OperatorRouting op;
          op.operator_id = common::NewId();
          op.site = name_;
          op.display_name = op.operator_id;
          op.endpoint = "sip:bench";
          op.memberships.push_back({.queue_id = queue, .order = i});
          if (auto status = writer_.WriteOperator(op); !status.ok()) Die(status.ToString());
          v1::SetPresenceRequest login;
          login.set_operator_(absl::StrCat("operators/", op.operator_id));
          login.set_state(available ? v1::OPERATOR_STATE_AVAILABLE : v1::OPERATOR_STATE_NOT_READY);
          login.set_reason_code(available ? "" : "break");
          Must(Rpc(cluster_->calls(t % 2), &Stub::SetPresence, login), "SetPresence");
          ids[i] = op.operator_id;
        }
      });
    }
    for (auto& worker : workers) worker.join();
    return ids;
  }

  // Offers `count` calls to `queue` (where nobody is free: they wait).
  void AddWaitingCalls(const std::string& queue, int count, int threads = 8) {
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = next++; i < count; i = next++) {
          Must(Offer(queue, t % 2), "OfferCall (waiting)");
        }
      });
    }
    for (auto& worker : workers) worker.join();
  }

  absl::StatusOr<v1::OfferCallResponse> Offer(const std::string& queue, int replica) {
    v1::OfferCallRequest offer;
    offer.set_telephony_adapter("bench");
    offer.set_telephony_call_id(common::NewId());
    offer.set_queue(absl::StrCat("queues/", queue));
    return Timed("OfferCall", cluster_->calls(replica), &Stub::OfferCall, offer);
  }

  // Accept, connect, hang up and wrap up a reserved call; returns the wrap-up's answer time.
  absl::StatusOr<absl::Duration> Handle(const v1::Call& call, int replica) {
    auto& stub = cluster_->calls(replica);
    auto& other = cluster_->calls(1 - replica);
    v1::AcceptReservationRequest accept;
    accept.set_reservation(calls::testing::ReservationOf(call));
    CC_RETURN_IF_ERROR(
        Timed("AcceptReservation", other, &Stub::AcceptReservation, accept).status());
    v1::ConnectCallRequest connect;
    connect.set_call(call.name());
    CC_RETURN_IF_ERROR(Timed("ConnectCall", stub, &Stub::ConnectCall, connect).status());
    v1::HangUpRequest hang_up;
    hang_up.set_call(call.name());
    hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
    CC_RETURN_IF_ERROR(Timed("HangUp", other, &Stub::HangUp, hang_up).status());
    v1::CompleteWrapUpRequest wrap_up;
    wrap_up.set_call(call.name());
    wrap_up.mutable_wrap_up()->set_disposition("resolved");
    wrap_up.mutable_wrap_up()->set_topic("benchmark");
    const absl::Time start = absl::Now();
    CC_RETURN_IF_ERROR(Timed("CompleteWrapUp", stub, &Stub::CompleteWrapUp, wrap_up).status());
    return absl::Now() - start;
  }

  // Waits until the call is reserved (it may wait for a moment when every operator is busy).
  absl::StatusOr<v1::Call> Reserved(v1::Call call, int replica) {
    while (call.state() == v1::CALL_STATE_QUEUED) {
      absl::SleepFor(absl::Microseconds(200));
      v1::GetCallRequest get;
      get.set_name(call.name());
      CC_ASSIGN_OR_RETURN(call, Rpc(cluster_->calls(replica), &Stub::GetCall, get));
    }
    return call;
  }

  const std::string& name() const { return name_; }

 private:
  CallsCluster* cluster_;
  common::RedisClient* redis_;
  std::string name_;
  calls::RedisRoutingConfigWriter writer_;
};

struct Throughput {
  double per_second = 0;
  int64_t count = 0;
  Latencies latency;
};

// Runs `work(thread, replica)` on `threads` threads for `duration`; each call is one unit.
Throughput RunClosedLoop(int threads, absl::Duration duration,
                         const std::function<absl::Status(int thread, int i)>& work) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> count{0};
  absl::Mutex mutex;
  Throughput result;
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<absl::Duration> local;
      for (int i = 0; !stop.load(); ++i) {
        const absl::Time begin = absl::Now();
        absl::Status status = work(t, i);
        if (!status.ok()) Die(status.ToString());
        local.push_back(absl::Now() - begin);
        ++count;
      }
      absl::MutexLock lock(&mutex);
      result.latency.samples.insert(result.latency.samples.end(), local.begin(), local.end());
    });
  }
  absl::SleepFor(duration);
  stop = true;
  for (auto& worker : workers) worker.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  result.count = count.load();
  result.per_second = static_cast<double>(result.count) / seconds;
  return result;
}

struct BullMqResult {
  bool ran = false;
  double jobs_per_second = 0;
  double redis_cpu_us_per_job = 0;
};

BullMqResult RunBullMq(const std::string& redis_address, int jobs) {
  BullMqResult result;
  const std::string command =
      absl::StrCat(absl::GetFlag(FLAGS_source_dir), "/tools/bench/bullmq/run.sh --redis ",
                   redis_address, " --jobs ", jobs, " --workers 1 --concurrency 50 --json");
  std::cout << "  running: " << command << std::endl;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::string output;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  if (status != 0) {
    std::cout << "  BullMQ run failed (exit " << status << "); skipped" << std::endl;
    return result;
  }
  // The last line is {"jobs":N,"seconds":..,"jobs_per_s":..,"redis_cpu_us_per_job":..}.
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  if (lines.empty()) return result;
  const std::string& last = lines.back();
  const auto number_after = [&](absl::string_view key) {
    const size_t at = last.find(absl::StrCat("\"", key, "\":"));
    if (at == std::string::npos) return 0.0;
    double value = 0;
    const size_t start = at + key.size() + 3;
    const size_t end = last.find_first_of(",}", start);
    absl::SimpleAtod(last.substr(start, end - start), &value);
    return value;
  };
  result.jobs_per_second = number_after("jobs_per_s");
  result.redis_cpu_us_per_job = number_after("redis_cpu_us_per_job");
  result.ran = result.jobs_per_second > 0;
  return result;
}

std::vector<int> IntList(const std::string& text) {
  std::vector<int> values;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int value = 0;
    if (!absl::SimpleAtoi(part, &value)) Die(absl::StrCat("not a number: ", part));
    values.push_back(value);
  }
  return values;
}

int Main() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const std::string env_path = absl::GetFlag(FLAGS_servers_env);
  if (env_path.empty()) Die("--servers_env is required (e.g. build/test-servers/env)");
  std::map<std::string, std::string> env = ReadEnvFile(env_path);
  if (env["CC_PG_PORT"].empty()) Die(absl::StrCat("no CC_PG_PORT in ", env_path));
  const std::string admin_dsn =
      absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                   " user=", env["CC_PG_USER"], " dbname=postgres");
  const std::string redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
  const std::string database = absl::StrCat("bench_calls_", getpid());
  {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + txn.quote_name(database));
  }
  std::string log_dir = absl::GetFlag(FLAGS_log_dir);
  if (log_dir.empty()) {
    char pattern[] = "/tmp/cc-bench-calls-XXXXXX";
    log_dir = mkdtemp(pattern);
  }
  const std::string site_prefix = absl::StrCat("bench", getpid());
  std::cout << "cc-bench-calls: 2 replicas of cc-calls on " << redis_address << "; replica logs in "
            << log_dir << (smoke ? " (smoke sizes)" : "") << std::endl;

  const absl::Duration duration = smoke ? absl::Seconds(1) : absl::GetFlag(FLAGS_duration);
  const int threads = smoke ? 4 : absl::GetFlag(FLAGS_threads);
  const int samples = smoke ? 20 : absl::GetFlag(FLAGS_samples);
  const std::vector<int> operator_grid =
      smoke ? std::vector<int>{10} : IntList(absl::GetFlag(FLAGS_operators));
  const std::vector<int> waiting_grid =
      smoke ? std::vector<int>{10} : IntList(absl::GetFlag(FLAGS_waiting));
  const int presence_operators = smoke ? 100 : absl::GetFlag(FLAGS_presence_operators);
  const absl::Duration presence_duration =
      smoke ? absl::Seconds(2) : absl::GetFlag(FLAGS_presence_duration);
  const int bullmq_jobs = smoke ? 200 : absl::GetFlag(FLAGS_bullmq_jobs);

  auto redis = Must(
      common::RedisClient::Create(
          {.host = env["CC_REDIS_HOST"], .port = std::stoi(env["CC_REDIS_PORT"]), .pool_size = 16}),
      "Redis");
  // One cluster serves every site of the run: a replica routes the site of --site, so each
  // phase below gets its own cluster on its own site.
  const auto start_cluster = [&](const std::string& site,
                                 std::vector<std::string> extra_flags = {}) {
    std::vector<std::string> flags = {"--heartbeat_timeout=600s", "--heartbeat_interval=5s",
                                      "--log_level=warning"};
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    return Must(CallsCluster::Start({.binary_dir = absl::GetFlag(FLAGS_binary_dir),
                                     .calls_dsn = absl::StrCat(
                                         "host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                                         " user=", env["CC_PG_USER"], " dbname=", database),
                                     .redis_address = redis_address,
                                     .site = site,
                                     .replicas = 2,
                                     .calls_flags = flags,
                                     .customers_address = "127.0.0.1:1",
                                     .log_dir = log_dir}),
                "starting the replicas");
  };

  const std::string phases = absl::GetFlag(FLAGS_phases);
  const auto phase = [&](absl::string_view name) { return absl::StrContains(phases, name); };
  double routed_per_second = 0, empty_units_per_second = 0, redis_us_per_call = 0;
  // 1. Throughput.
  if (phase("throughput")) {
    std::cout << "\n1. Throughput, " << threads << " client threads, "
              << absl::FormatDuration(duration) << " each" << std::endl;
    {
      const std::string site_name = absl::StrCat(site_prefix, "t");
      auto cluster = start_cluster(site_name);
      Site site(cluster.get(), redis.get(), site_name);
      const std::string queue = site.AddQueue();
      site.AddOperators(queue, threads * 4, true);
      // Warm-up, then the measured run.
      const auto routed_call = [&](int thread, int i) -> absl::Status {
        const int replica = (thread + i) % 2;
        CC_ASSIGN_OR_RETURN(v1::OfferCallResponse offered, site.Offer(queue, replica));
        CC_ASSIGN_OR_RETURN(v1::Call call, site.Reserved(offered.call(), replica));
        return site.Handle(call, replica).status();
      };
      RunClosedLoop(threads, absl::Milliseconds(500), routed_call);
      const RedisCounters before = ReadRedisCounters(*redis);
      const double cpu_before =
          ProcessCpu(cluster->process(0).pid()) + ProcessCpu(cluster->process(1).pid());
      record_methods = true;
      Throughput routed = RunClosedLoop(threads, duration, routed_call);
      record_methods = false;
      const RedisCounters after = ReadRedisCounters(*redis);
      const double service_cpu = ProcessCpu(cluster->process(0).pid()) +
                                 ProcessCpu(cluster->process(1).pid()) - cpu_before;
      routed_per_second = routed.per_second;
      redis_us_per_call = (after.cpu_seconds - before.cpu_seconds) * 1e6 / routed.count;
      std::cout << absl::StrFormat(
                       "  routed calls:      %9.0f calls/s  (%d calls; offer..wrap-up p50 %s, "
                       "p99 %s; 5 RPCs each)",
                       routed.per_second, routed.count, Ms(routed.latency.Percentile(0.5)),
                       Ms(routed.latency.Percentile(0.99)))
                << std::endl;
      std::cout << absl::StrFormat(
                       "  Redis per routed call: %.1f us CPU, %.1f commands (%.1f EVALSHA; "
                       "the rest: change relay, live views, sweeps); calls service CPU %.0f us",
                       redis_us_per_call,
                       static_cast<double>(after.commands - before.commands) / routed.count,
                       static_cast<double>(after.evalsha - before.evalsha) / routed.count,
                       service_cpu * 1e6 / routed.count)
                << std::endl;

      std::cout << "  per method p50/p99:";
      for (auto& [name, latencies] : *method_latencies) {
        std::cout << " " << name << " " << Ms(latencies.Percentile(0.5)) << "/"
                  << Ms(latencies.Percentile(0.99));
      }
      std::cout << std::endl;
      std::cout << "  Redis commands per routed call (calls, us):";
      for (const auto& [name, stats] : after.per_command) {
        auto previous = before.per_command.find(name);
        const int64_t calls =
            stats.first - (previous == before.per_command.end() ? 0 : previous->second.first);
        const double usec =
            stats.second - (previous == before.per_command.end() ? 0 : previous->second.second);
        if (calls * 20 < routed.count) continue;
        std::cout << absl::StrFormat(
            " %s %.1f/%.0f", name, static_cast<double>(calls) / routed.count, usec / routed.count);
      }
      std::cout << std::endl;

      // The same threads, the same replicas: 5 empty calls per unit.
      std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
      for (int r = 0; r < 2; ++r) {
        health.push_back(grpc::health::v1::Health::NewStub(
            common::MakeChannel(absl::StrCat("127.0.0.1:", cluster->port(r)))));
      }
      Throughput empty = RunClosedLoop(threads, duration, [&](int thread, int i) -> absl::Status {
        for (int k = 0; k < 5; ++k) {
          grpc::ClientContext context;
          grpc::health::v1::HealthCheckRequest request;
          grpc::health::v1::HealthCheckResponse response;
          grpc::Status status = health[(thread + i + k) % 2]->Check(&context, request, &response);
          if (!status.ok()) return common::FromGrpcStatus(status);
        }
        return absl::OkStatus();
      });
      empty_units_per_second = empty.per_second;
      std::cout << absl::StrFormat(
                       "  empty gRPC calls:  %9.0f units/s of 5 health Checks (%.0f calls/s)",
                       empty.per_second, empty.per_second * 5)
                << std::endl;
      std::cout << absl::StrFormat("  ratio routed / empty: %.2f (goal: at least 0.5)",
                                   routed_per_second / empty_units_per_second)
                << std::endl;
    }
  }
  // 2. Latency grid.
  if (phase("latency")) {
    std::cout << "\n2. Routing latency, one client thread, " << samples
              << " samples per series (each a gRPC round trip carrying one routing decision)"
              << std::endl;
    std::cout << "  operators  waiting   offer->routed p50/p99      freed operator->routed p50/p99"
                 "   EVALSHA per offer"
              << std::endl;
    std::map<std::pair<int, int>, absl::Duration> p99;
    for (int operators : operator_grid) {
      const std::string site_name = absl::StrCat(site_prefix, "o", operators);
      auto cluster = start_cluster(site_name);
      Site site(cluster.get(), redis.get(), site_name);
      const std::string free_queue = site.AddQueue();
      site.AddOperators(free_queue, operators, true);
      const std::string waiting_queue = site.AddQueue();
      const std::string freed = site.AddOperators(waiting_queue, 1, false)[0];
      int waiting_now = 0;
      for (int waiting : waiting_grid) {
        site.AddWaitingCalls(waiting_queue, waiting - waiting_now);
        waiting_now = waiting;
        // Offers routed among the free operators (the waiting calls sit in the other queue).
        const RedisCounters before = ReadRedisCounters(*redis);
        Latencies offer;
        for (int i = 0; i < samples; ++i) {
          const absl::Time start = absl::Now();
          v1::OfferCallResponse offered = Must(site.Offer(free_queue, i % 2), "OfferCall");
          offer.samples.push_back(absl::Now() - start);
          v1::Call call = Must(site.Reserved(offered.call(), i % 2), "GetCall");
          Must(site.Handle(call, i % 2), "handling a call");
        }
        const RedisCounters after = ReadRedisCounters(*redis);
        // Each sample ran 5 scripts (offer, accept, connect, hang up, wrap-up); the sweeps of
        // both replicas ran meanwhile too. What is left per offer is the offer's own EVALSHA.
        const double evalsha_per_sample =
            static_cast<double>(after.evalsha - before.evalsha) / samples;
        // A freed operator is routed the head of the waiting calls: the wrap-up frees them.
        Latencies freed_latency;
        const std::string freed_name = absl::StrCat("operators/", freed);
        v1::OperatorPresence presence;
        if (waiting_now == waiting_grid.front()) {
          // The first time: the operator comes back from their break and is routed the head.
          v1::SetPresenceRequest ready;
          ready.set_operator_(freed_name);
          ready.set_state(v1::OPERATOR_STATE_AVAILABLE);
          ready.set_take_over(true);  // the session AddOperators opened
          presence = Must(Rpc(cluster->calls(0), &Stub::SetPresence, ready), "SetPresence");
        } else {
          v1::GetOperatorPresenceRequest get_presence;
          get_presence.set_operator_(freed_name);
          presence = Must(Rpc(cluster->calls(0), &Stub::GetOperatorPresence, get_presence),
                          "GetOperatorPresence");
        }
        for (int i = 0; i < samples; ++i) {
          // The operator holds the head call; the wrap-up of it routes them the next head.
          v1::GetCallRequest get;
          get.set_name(presence.reservation().substr(0, presence.reservation().find("/reserv")));
          v1::Call call = Must(Rpc(cluster->calls(i % 2), &Stub::GetCall, get), "GetCall");
          freed_latency.samples.push_back(Must(site.Handle(call, i % 2), "handling a call"));
          Must(site.Offer(waiting_queue, i % 2), "OfferCall (top up)");
          v1::GetOperatorPresenceRequest get_presence;
          get_presence.set_operator_(freed_name);
          presence = Must(Rpc(cluster->calls(i % 2), &Stub::GetOperatorPresence, get_presence),
                          "GetOperatorPresence");
        }
        const absl::Duration offer_p99 = offer.Percentile(0.99);
        const absl::Duration freed_p99 = freed_latency.Percentile(0.99);
        p99[{operators, waiting}] = std::max(offer_p99, freed_p99);
        std::cout << absl::StrFormat("  %9d %8d   %8s / %-8s          %8s / %-8s          %.2f",
                                     operators, waiting, Ms(offer.Percentile(0.5)), Ms(offer_p99),
                                     Ms(freed_latency.Percentile(0.5)), Ms(freed_p99),
                                     evalsha_per_sample / 5)
                  << std::endl;
      }
    }
    const auto smallest = p99.begin()->second;
    const auto largest = p99.rbegin()->second;
    std::cout << absl::StrFormat(
                     "  p99 at %d operators and %d waiting / p99 at %d and %d: %.2f (goal: at "
                     "most 1.5)",
                     p99.rbegin()->first.first, p99.rbegin()->first.second,
                     p99.begin()->first.first, p99.begin()->first.second,
                     absl::FDivDuration(largest, smallest))
              << std::endl;
    std::cout << "  Redis round trips per routing decision: 1 (each decision is one EVALSHA; the "
                 "column shows EVALSHA per script run, sweeps included)"
              << std::endl;
  }
  // 3. BullMQ.
  if (phase("bullmq")) {
    std::cout << "\n3. The peer: BullMQ on the same Redis, " << bullmq_jobs << " jobs" << std::endl;
    if (bullmq_jobs > 0) {
      BullMqResult bullmq = RunBullMq(redis_address, bullmq_jobs);
      if (bullmq.ran) {
        std::cout << absl::StrFormat("  BullMQ: %.0f jobs/s, %.1f us of Redis CPU per job",
                                     bullmq.jobs_per_second, bullmq.redis_cpu_us_per_job)
                  << std::endl;
        std::cout << absl::StrFormat(
                         "  routed calls/s / BullMQ jobs/s: %.2f (goal: at least 1.2); Redis CPU "
                         "per routed call / per job: %.2f (goal: at most 0.33)",
                         routed_per_second / bullmq.jobs_per_second,
                         redis_us_per_call / bullmq.redis_cpu_us_per_job)
                  << std::endl;
      }
    }
  }
  // 4. Presence at scale: heartbeats gathered into one script per window (the default) against
  // one script each, in the same run.
  if (phase("presence")) {
    std::cout << "\n4. Presence: " << presence_operators << " operators heartbeating every 5 s, "
              << absl::FormatDuration(presence_duration) << " each way" << std::endl;
    const auto run_presence = [&](const std::string& label, const std::string& site_suffix,
                                  std::vector<std::string> flags) -> double {
      const std::string site_name = absl::StrCat(site_prefix, site_suffix);
      auto cluster = start_cluster(site_name, std::move(flags));
      Site site(cluster.get(), redis.get(), site_name);
      const std::string queue = site.AddQueue();
      std::vector<std::string> ids = site.AddOperators(queue, presence_operators, true);
      std::vector<std::string> sessions(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        v1::GetOperatorPresenceRequest get;
        get.set_operator_(absl::StrCat("operators/", ids[i]));
        sessions[i] =
            Must(Rpc(cluster->calls(i % 2), &Stub::GetOperatorPresence, get), "GetOperatorPresence")
                .session_id();
      }
      const double cpu_before =
          ProcessCpu(cluster->process(0).pid()) + ProcessCpu(cluster->process(1).pid());
      const RedisCounters redis_before = ReadRedisCounters(*redis);
      const absl::Time start = absl::Now();
      // Each operator beats once per 5 s, spread evenly: operator i at i * 5 s / n. Enough
      // callers that a heartbeat answered a batch window later never delays the next.
      const int beaters = 64;
      std::atomic<int64_t> beats{0};
      Latencies beat_latency;
      absl::Mutex mutex;
      std::vector<std::thread> workers;
      for (int t = 0; t < beaters; ++t) {
        workers.emplace_back([&, t] {
          std::vector<absl::Duration> local;
          for (int64_t k = t;; k += beaters) {
            const size_t i = static_cast<size_t>(k % static_cast<int64_t>(ids.size()));
            const absl::Time due = start + absl::Seconds(5) * (static_cast<double>(k) /
                                                               static_cast<double>(ids.size()));
            if (due - start >= presence_duration) break;
            absl::SleepFor(due - absl::Now());
            v1::HeartbeatRequest beat;
            beat.set_operator_(absl::StrCat("operators/", ids[i]));
            beat.set_session_id(sessions[i]);
            const absl::Time sent = absl::Now();
            v1::HeartbeatResponse answer = Must(
                Rpc(cluster->calls(static_cast<int>(i % 2)), &Stub::Heartbeat, beat), "Heartbeat");
            if (answer.presence().operator_() != beat.operator_()) {
              std::cerr << "the heartbeat of " << beat.operator_() << " was answered for "
                        << answer.presence().operator_() << std::endl;
              std::exit(1);
            }
            local.push_back(absl::Now() - sent);
            ++beats;
          }
          absl::MutexLock lock(&mutex);
          beat_latency.samples.insert(beat_latency.samples.end(), local.begin(), local.end());
        });
      }
      for (auto& worker : workers) worker.join();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      const double cpu = (ProcessCpu(cluster->process(0).pid()) +
                          ProcessCpu(cluster->process(1).pid()) - cpu_before) /
                         seconds;
      const RedisCounters redis_after = ReadRedisCounters(*redis);
      std::cout << absl::StrFormat(
                       "  %-28s %d heartbeats in %.1f s (%.0f/s), p50 %s, p99 %s; calls service "
                       "CPU (both replicas) %.3f of one core, Redis %.3f",
                       label, beats.load(), seconds, static_cast<double>(beats.load()) / seconds,
                       Ms(beat_latency.Percentile(0.5)), Ms(beat_latency.Percentile(0.99)), cpu,
                       (redis_after.cpu_seconds - redis_before.cpu_seconds) / seconds)
                << std::endl;
      return cpu;
    };
    const double alone = run_presence("one script each:", "p0", {"--heartbeat_batch_window=0"});
    const absl::Duration window = absl::GetFlag(FLAGS_presence_batch_window);
    const double batched =
        run_presence(absl::StrCat("batched (", absl::FormatDuration(window), " window):"), "p",
                     {absl::StrCat("--heartbeat_batch_window=", absl::FormatDuration(window))});
    std::cout << absl::StrFormat(
                     "  calls service CPU batched/alone %.2f; goal under 0.25 of one core: %.3f, "
                     "%s",
                     batched / alone, batched, batched < 0.25 ? "met" : "NOT met")
              << std::endl;
  }
  {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(database) + " WITH (FORCE)");
  }
  auto keys = redis->Command({"EVAL",
                              "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
                              "redis.call('DEL', k) n = n + 1 end return n",
                              "0", absl::StrCat("cc:{", site_prefix, "*")});
  (void)keys;
  std::cout << "\ndone" << std::endl;
  return 0;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "the calls service's routing benchmark: throughput over gRPC with 2 replicas next to empty "
      "gRPC calls, routing latency at 10..10,000 operators and 10..100,000 waiting calls, "
      "BullMQ on the same Redis, and 10,000 operators heartbeating.\n"
      "  cc-bench-calls --servers_env build/test-servers/env [--smoke]");
  absl::ParseCommandLine(argc, argv);
  return contactcentre::bench::Main();
}
