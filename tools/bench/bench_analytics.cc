// cc-bench-analytics: WatchMetrics with 1,000 and 10,000 subscribers on one replica while call
// events arrive at 1,000 per second.
//
// The benchmark creates a database of its own on the given PostgreSQL, starts the real
// cc-analytics binary (one replica, its own site on the given Redis) and, for each subscriber
// count, opens that many WatchMetrics streams (callback client API, spread over --channels
// HTTP/2 connections; a dashboard's filter: the site and every queue, offered, answered,
// service level, ASA and calls waiting over 15 minutes and today; min_interval 1 s, the server's
// default, then 250 ms, its floor). Once every
// stream has its snapshot, a publisher appends call events to the site's stream at --rate per
// second (a third each CallQueued, CallConnected and CallCompleted, over --queues queues, the
// occurrence time the publish time) for --warmup + --duration. It prints for the measured
// period:
//   - delivered messages/s (updates and heartbeats received by all subscribers; about 1 in 100
//     subscribers is a probe that also parses its messages for the lags and skipped updates);
//   - lag event -> subscriber, p50/p99: for each message carrying the site's offered count of
//     today, n, the time from the publication of the n-th CallQueued to the message's arrival
//     (consumer, refresh, coalescing at min_interval and delivery together);
//   - push lag p50/p99: arrival minus the message's data_time (the server's part after a
//     refresh);
//   - server CPU (% of one core, from /proc) and memory (RSS at the end, peak RSS).
//
//   cc-bench-analytics --servers_env build/test-servers/env            (1,000 and 10,000, at 1 s
//                                                                        and at 250 ms)
//   cc-bench-analytics --servers_env build/test-servers/env --smoke    (CI: tiny sizes)
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/event_stream.h"
#include "common/grpc_client.h"
#include "common/pg_util.h"
#include "common/redis.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "tools/bench/bench_util.h"

ABSL_FLAG(std::string, postgres, "host=127.0.0.1 port=25432 user=cc dbname=postgres",
          "libpq connection string of a server where the benchmark may create a database");
ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port");
ABSL_FLAG(std::string, servers_env, "",
          "read the PostgreSQL and Redis addresses from this env file of deploy/local-servers.sh");
ABSL_FLAG(std::string, binary, CC_BINARY_DIR "/services/analytics/cc-analytics",
          "the cc-analytics binary to start");
ABSL_FLAG(std::string, subscribers, "1000,10000", "subscriber counts to measure, in order");
ABSL_FLAG(int, rate, 1000, "events per second");
ABSL_FLAG(int, queues, 10, "queues the calls are spread over");
ABSL_FLAG(int, channels, 16, "HTTP/2 connections the streams are spread over");
ABSL_FLAG(std::string, min_interval, "1s,250ms",
          "min_interval each subscriber asks for; a list measures every size at each in turn "
          "(1s is the server's default, 250ms its floor)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(5), "events before measuring, per size");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20), "measured period, per size");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");
ABSL_FLAG(bool, keep_database, false, "leave the benchmark database in place");

namespace contactcentre::bench {
namespace {

namespace v1 = analytics::v1;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "cc-bench-analytics: %s\n", message.c_str());
  std::exit(1);
}

// VmRSS and VmHWM of a process, in MiB.
std::pair<double, double> ProcessMemory(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/status"));
  double rss = 0, peak = 0;
  for (std::string line; std::getline(file, line);) {
    double kib = 0;
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() >= 2 && absl::SimpleAtod(parts[1], &kib)) {
      if (parts[0] == "VmRSS:") rss = kib / 1024;
      if (parts[0] == "VmHWM:") peak = kib / 1024;
    }
  }
  return {rss, peak};
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) Die("bind");
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// A latency histogram in 1 ms buckets up to 60 s, safe from many threads.
class Histogram {
 public:
  Histogram() : buckets_(60000) {}
  void Add(absl::Duration d) {
    int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(d));
    ms = std::min<int64_t>(ms, static_cast<int64_t>(buckets_.size()) - 1);
    buckets_[static_cast<size_t>(ms)].fetch_add(1, std::memory_order_relaxed);
  }
  void Reset() {
    for (auto& bucket : buckets_) bucket.store(0);
  }
  int64_t Count() const {
    int64_t total = 0;
    for (const auto& bucket : buckets_) total += bucket.load();
    return total;
  }
  // The q-quantile in ms (upper bucket edge); -1 when empty.
  int64_t Quantile(double q) const {
    const int64_t total = Count();
    if (total == 0) return -1;
    const int64_t rank = static_cast<int64_t>(q * static_cast<double>(total - 1));
    int64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i].load();
      if (seen > rank) return static_cast<int64_t>(i) + 1;
    }
    return static_cast<int64_t>(buckets_.size());
  }

 private:
  std::vector<std::atomic<int64_t>> buckets_;
};

// Publication times of the CallQueued events, by their order (the n-th offered call).
class PublishLog {
 public:
  void Reserve(size_t n) {
    absl::MutexLock lock(&mutex_);
    times_.reserve(n);
  }
  void Add(absl::Time time) {
    absl::MutexLock lock(&mutex_);
    times_.push_back(time);
  }
  // The publication of the n-th (1-based) CallQueued, if known.
  std::optional<absl::Time> Nth(int64_t n) {
    absl::MutexLock lock(&mutex_);
    if (n < 1 || n > static_cast<int64_t>(times_.size())) return std::nullopt;
    return times_[static_cast<size_t>(n - 1)];
  }

 private:
  absl::Mutex mutex_;
  std::vector<absl::Time> times_;
};

struct Shared {
  std::string site_entity;
  PublishLog published;
  Histogram lag;       // event -> subscriber
  Histogram push_lag;  // data_time -> subscriber
  std::atomic<int64_t> messages{0};
  std::atomic<int64_t> probe_messages{0};
  std::atomic<int64_t> skipped{0};
  std::atomic<int64_t> snapshots{0};
  std::atomic<int64_t> failed{0};
  std::atomic<bool> measuring{false};
};

// One subscriber: reads its stream as bytes until cancelled (through the generic API, so that
// the benchmark's own CPU goes to receiving, not parsing). Probes (about 1 in 100) also parse
// each message to measure the lags.
class Watcher : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Watcher(grpc::GenericStub* stub, const std::string& request, bool probe, Shared* shared)
      : shared_(*shared), probe_(probe) {
    stub->PrepareBidiStreamingCall(&context_,
                                   "/contactcentre.analytics.v1.AnalyticsService/WatchMetrics",
                                   grpc::StubOptions(), this);
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&buffer_);
    StartCall();
  }
  void OnWriteDone(bool /*ok*/) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const absl::Time now = absl::Now();
    if (!snapshot_) {
      snapshot_ = true;
      ++shared_.snapshots;
    } else if (shared_.measuring.load(std::memory_order_relaxed)) {
      ++shared_.messages;
      if (probe_) Measure(now);
    }
    buffer_.Clear();
    StartRead(&buffer_);
  }
  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      if (shared_.failed++ == 0) {
        std::fprintf(stderr, "a stream ended: %d %s\n", status.error_code(),
                     status.error_message().c_str());
      }
    }
    absl::MutexLock lock(&mutex_);
    done_ = true;
  }
  void Cancel() { context_.TryCancel(); }
  void AwaitDone() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&done_));
  }

 private:
  void Measure(absl::Time now) {
    std::vector<grpc::Slice> slices;
    if (!buffer_.Dump(&slices).ok()) return;
    std::string bytes;
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    v1::WatchMetricsResponse message;
    if (!message.ParseFromString(bytes)) return;
    ++shared_.probe_messages;
    shared_.skipped += message.skipped_updates();
    if (message.has_data_time()) {
      shared_.push_lag.Add(now - common::TimeFromTimestamp(message.data_time()));
    }
    for (const v1::EntityMetrics& entity : message.entities()) {
      if (entity.entity() != shared_.site_entity) continue;
      for (const v1::MetricValue& value : entity.values()) {
        if (value.metric() != "offered" || value.window() != v1::METRIC_WINDOW_TODAY) continue;
        if (auto published = shared_.published.Nth(static_cast<int64_t>(value.numerator()))) {
          shared_.lag.Add(now - *published);
        }
      }
    }
  }

  Shared& shared_;
  const bool probe_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer buffer_;
  bool snapshot_ = false;
  absl::Mutex mutex_;
  bool done_ = false;
};

google::protobuf::Duration ProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  out.set_seconds(absl::ToInt64Seconds(d));
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(out.seconds()))));
  return out;
}

// Publishes `rate` events/s until `until`: calls queued, connected 2 s later, completed 10 s
// later.
void Publish(common::EventPublisher& publisher, Shared& shared, int rate, int queues,
             absl::Time until, int64_t* next_call) {
  const absl::Duration tick = absl::Milliseconds(10);
  double owed = 0;
  std::vector<std::pair<absl::Time, int64_t>> to_connect, to_complete;
  size_t connect_head = 0, complete_head = 0;
  int phase = 0;
  for (absl::Time next = absl::Now(); absl::Now() < until; next += tick) {
    absl::SleepFor(next - absl::Now());
    owed += rate * absl::ToDoubleSeconds(tick);
    std::vector<events::v1::Event> batch;
    std::vector<bool> queued_flags;
    const absl::Time now = absl::Now();
    while (owed >= 1) {
      owed -= 1;
      events::v1::Event event;
      auto context = [&](events::v1::CallContext* c, int64_t call) {
        c->set_call(absl::StrCat("calls/b", call));
        c->set_queue(absl::StrCat("queues/q", call % queues));
        c->set_direction(calls::v1::CALL_DIRECTION_INBOUND);
      };
      // Round robin over the three kinds; a kind with nothing due publishes a new call.
      const int kind = phase++ % 3;
      if (kind == 1 && connect_head < to_connect.size() && to_connect[connect_head].first <= now) {
        const int64_t call = to_connect[connect_head++].second;
        events::v1::CallConnected* connected = event.mutable_call_connected();
        context(connected->mutable_call(), call);
        connected->mutable_call()->set_operator_(absl::StrCat("operators/o", call % 50));
        *connected->mutable_wait_time() = ProtoDuration(absl::Seconds(call % 40));
        to_complete.push_back({now + absl::Seconds(8), call});
      } else if (kind == 2 && complete_head < to_complete.size() &&
                 to_complete[complete_head].first <= now) {
        const int64_t call = to_complete[complete_head++].second;
        events::v1::CallCompleted* completed = event.mutable_call_completed();
        context(completed->mutable_call(), call);
        *completed->mutable_talk_time() = ProtoDuration(absl::Seconds(60 + call % 120));
        *completed->mutable_wrap_up_time() = ProtoDuration(absl::Seconds(10));
      } else {
        const int64_t call = (*next_call)++;
        context(event.mutable_call_queued()->mutable_call(), call);
        to_connect.push_back({now + absl::Seconds(2), call});
      }
      queued_flags.push_back(event.has_call_queued());
      batch.push_back(std::move(event));
    }
    if (batch.empty()) continue;
    // Log the publication times in order before publishing (the consumer may be quick).
    const absl::Time at = absl::Now();
    for (bool queued : queued_flags) {
      if (queued) shared.published.Add(at);
    }
    if (absl::Status status = publisher.PublishBatch(batch); !status.ok()) {
      Die(absl::StrCat("publish: ", status.ToString()));
    }
  }
}

int Run() {
  std::string postgres = absl::GetFlag(FLAGS_postgres);
  std::string redis_address = absl::GetFlag(FLAGS_redis);
  if (const std::string path = absl::GetFlag(FLAGS_servers_env); !path.empty()) {
    std::map<std::string, std::string> env = ReadEnvFile(path);
    if (env.empty()) Die(absl::StrCat("cannot read ", path));
    postgres = absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                            " user=", env["CC_PG_USER"], " dbname=postgres");
    redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
  }
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  std::vector<int> sizes;
  for (absl::string_view item :
       absl::StrSplit(smoke ? std::string("20") : absl::GetFlag(FLAGS_subscribers), ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(item, &n) || n <= 0) Die("--subscribers: a list of counts");
    sizes.push_back(n);
  }
  std::vector<absl::Duration> intervals;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_min_interval), ',')) {
    absl::Duration interval;
    if (!absl::ParseDuration(item, &interval) || interval <= absl::ZeroDuration()) {
      Die("--min_interval: a list of durations such as 1s,250ms");
    }
    intervals.push_back(interval);
  }
  if (smoke) intervals.resize(1);
  const int rate = smoke ? 100 : absl::GetFlag(FLAGS_rate);
  const absl::Duration warmup = smoke ? absl::Seconds(1) : absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = smoke ? absl::Seconds(2) : absl::GetFlag(FLAGS_duration);
  const int queues = std::max(1, absl::GetFlag(FLAGS_queues));
  const int channels = std::max(1, absl::GetFlag(FLAGS_channels));

  // A database and a site of its own.
  std::mt19937_64 random(std::random_device{}());
  const std::string suffix = absl::StrCat(random() % 1000000000);
  const std::string database = absl::StrCat("cc_bench_analytics_", suffix);
  const std::string site = absl::StrCat("bench", suffix);
  {
    pqxx::connection admin(postgres);
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + txn.quote_name(database));
  }
  std::string dsn = postgres;
  dsn.replace(dsn.find("dbname=postgres"), std::string("dbname=postgres").size(),
              absl::StrCat("dbname=", database));

  // The server.
  const int port = FreePort();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  std::vector<std::string> args = {absl::GetFlag(FLAGS_binary),
                                   absl::StrCat("--listen=", address),
                                   absl::StrCat("--postgres=", dsn),
                                   absl::StrCat("--redis=", redis_address),
                                   absl::StrCat("--site=", site),
                                   "--site_time_zone=UTC",
                                   "--log_level=warning"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    Die(absl::StrCat("cannot start ", argv[0]));
  }
  auto stop_server = [&] {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
      pid = 0;
    }
    if (!absl::GetFlag(FLAGS_keep_database)) {
      pqxx::connection admin(postgres);
      pqxx::nontransaction txn(admin);
      txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(database) + " WITH (FORCE)");
    }
  };

  // Wait until it answers.
  std::vector<std::unique_ptr<v1::AnalyticsService::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
    arguments.SetMaxReceiveMessageSize(64 << 20);
    auto channel =
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
    stubs.push_back(v1::AnalyticsService::NewStub(channel));
    generic_stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  const absl::Time ready_deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    v1::GetCurrentMetricsRequest request;
    v1::GetCurrentMetricsResponse response;
    if (stubs[0]->GetCurrentMetrics(&context, request, &response).ok()) break;
    if (absl::Now() > ready_deadline) {
      stop_server();
      Die("cc-analytics did not become ready");
    }
    absl::SleepFor(absl::Milliseconds(200));
  }

  absl::StatusOr<common::RedisOptions> redis_options = common::ParseRedisAddress(redis_address);
  if (!redis_options.ok()) Die(redis_options.status().ToString());
  auto redis = common::RedisClient::Create(*redis_options);
  if (!redis.ok()) Die(redis.status().ToString());
  common::EventPublisher publisher(
      redis->get(), common::EventPublisher::Options{.site = site, .producer = "bench/analytics"});

  Shared shared;
  shared.site_entity = absl::StrCat("sites/", site);
  shared.published.Reserve(static_cast<size_t>(rate) * 200);
  v1::WatchMetricsRequest request;
  for (const char* metric : {"offered", "answered", "service_level", "asa", "calls_waiting"}) {
    request.mutable_filter()->add_metrics(metric);
  }
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_CURRENT);
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_ROLLING_15_MINUTES);
  request.mutable_filter()->add_windows(v1::METRIC_WINDOW_TODAY);

  std::printf(
      "cc-bench-analytics: one cc-analytics replica, %d events/s over %d queues, "
      "%s measured after %s warm-up per size and min_interval%s\n",
      rate, queues, absl::FormatDuration(duration).c_str(), absl::FormatDuration(warmup).c_str(),
      smoke ? " (smoke: sizes not meaningful)" : "");
  std::printf("%9s %11s %14s %14s %14s %12s %12s %10s %10s %8s\n", "interval", "subscribers",
              "messages/s", "lag p50 (ms)", "lag p99 (ms)", "push p50", "push p99", "CPU %",
              "RSS MiB", "peak MiB");
  int64_t next_call = 0;
  int exit_code = 0;
  // The p99 lag at 10,000 subscribers per interval, for the goal line.
  std::vector<std::pair<absl::Duration, int64_t>> at_10000;
  for (absl::Duration interval : intervals) {
    *request.mutable_min_interval() = ProtoDuration(interval);
    const std::string request_bytes = request.SerializeAsString();
    for (int size : sizes) {
      std::vector<std::unique_ptr<Watcher>> watchers;
      shared.snapshots = 0;
      shared.failed = 0;
      watchers.reserve(static_cast<size_t>(size));
      const int probe_every = std::max(1, size / 100);
      int probes = 0;
      for (int i = 0; i < size; ++i) {
        const bool probe = i % probe_every == 0;
        probes += probe;
        watchers.push_back(std::make_unique<Watcher>(
            generic_stubs[static_cast<size_t>(i % channels)].get(), request_bytes, probe, &shared));
      }
      const absl::Time open_deadline = absl::Now() + absl::Seconds(120);
      while (shared.snapshots.load() + shared.failed.load() < size && absl::Now() < open_deadline) {
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (shared.snapshots.load() < size) {
        std::fprintf(stderr, "only %lld of %d streams got their snapshot\n",
                     static_cast<long long>(shared.snapshots.load()), size);
        exit_code = 1;
      }
      // Warm-up, then the measured period, events throughout.
      std::thread publisher_thread([&] {
        Publish(publisher, shared, rate, queues, absl::Now() + warmup + duration, &next_call);
      });
      absl::SleepFor(warmup);
      shared.lag.Reset();
      shared.push_lag.Reset();
      shared.messages = 0;
      shared.probe_messages = 0;
      shared.skipped = 0;
      const double cpu_before = ProcessCpu(pid);
      const double client_cpu_before = ProcessCpu(getpid());
      const absl::Time started = absl::Now();
      shared.measuring = true;
      publisher_thread.join();
      shared.measuring = false;
      const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
      const double cpu = ProcessCpu(pid) - cpu_before;
      const double client_cpu = ProcessCpu(getpid()) - client_cpu_before;
      const auto [rss, peak] = ProcessMemory(pid);
      std::printf("%9s %11d %14.0f %14lld %14lld %12lld %12lld %10.0f %10.0f %8.0f\n",
                  absl::FormatDuration(interval).c_str(), size,
                  static_cast<double>(shared.messages.load()) / seconds,
                  static_cast<long long>(shared.lag.Quantile(0.5)),
                  static_cast<long long>(shared.lag.Quantile(0.99)),
                  static_cast<long long>(shared.push_lag.Quantile(0.5)),
                  static_cast<long long>(shared.push_lag.Quantile(0.99)), 100 * cpu / seconds, rss,
                  peak);
      std::printf(
          "%21s (%lld messages; %d probes: %lld messages, %lld lag samples, %lld skipped "
          "updates; %lld streams failed; the benchmark process used %.0f %% CPU)\n",
          "", static_cast<long long>(shared.messages.load()), probes,
          static_cast<long long>(shared.probe_messages.load()),
          static_cast<long long>(shared.lag.Count()), static_cast<long long>(shared.skipped.load()),
          static_cast<long long>(shared.failed.load()), 100 * client_cpu / seconds);
      std::fflush(stdout);
      if (shared.lag.Count() == 0 || shared.failed.load() > 0) exit_code = 1;
      if (size == 10000) at_10000.emplace_back(interval, shared.lag.Quantile(0.99));
      for (auto& watcher : watchers) watcher->Cancel();
      for (auto& watcher : watchers) watcher->AwaitDone();
    }
  }
  for (const auto& [interval, p99] : at_10000) {
    std::printf("goal at 10,000 subscribers (p99 lag under 250 ms), min_interval %s: %lld ms, %s\n",
                absl::FormatDuration(interval).c_str(), static_cast<long long>(p99),
                p99 < 250 ? "met" : "NOT met");
  }
  stop_server();
  return exit_code;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  // As in cc-analytics: no Mutex deadlock detection (Debian's Abseil has it on) in the client.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv,
      "cc-bench-analytics: WatchMetrics subscribers on one analytics replica under 1,000 "
      "events/s.\n  cc-bench-analytics --servers_env build/test-servers/env [--smoke]");
  return contactcentre::bench::Run();
}
