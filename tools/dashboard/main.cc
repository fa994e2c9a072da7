// cc-top: a terminal dashboard of the contact centre, like `top`. Subscribes to the analytics
// service's WatchMetrics and redraws queues and operators as figures change; without a terminal
// prints one plain summary line per --interval. See kUsage.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "contactcentre/analytics/v1/analytics_service.grpc.pb.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "tools/dashboard/dashboard.h"

ABSL_FLAG(std::string, calls_address, "127.0.0.1:50051",
          "calls service address, asked for the display names of queues, teams and operators "
          "(their ids are shown where it cannot be asked); env CC_CALLS_ADDRESS");
ABSL_FLAG(std::string, analytics_address, "127.0.0.1:50055",
          "analytics service address (host:port, a comma-separated list of replicas, or "
          "dns:///name:port); env CC_ANALYTICS_ADDRESS");
ABSL_FLAG(std::string, queues, "", "comma-separated queue ids to show (default: every queue)");
ABSL_FLAG(std::string, teams, "",
          "comma-separated team ids whose operators to list (default: every operator)");
ABSL_FLAG(std::string, window, "today", "window of counts and ratios: today, 15m, 30m or 60m");
ABSL_FLAG(bool, plain, false, "print plain summary lines even on a terminal");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(5), "plain mode: time between two lines");
ABSL_FLAG(int, count, 0, "plain mode: exit after this many lines (0: run until stopped)");
ABSL_FLAG(absl::Duration, min_interval, absl::Seconds(1),
          "coalescing period asked of the server (it raises values below 250ms)");
ABSL_FLAG(std::string, time_zone, "", "IANA time zone of the times shown (default: local)");

namespace contactcentre::dashboard {
namespace {

constexpr char kUsage[] =
    R"(live contact-centre figures from the analytics service (a terminal dashboard).

Usage:
  cc-top [--analytics_address 127.0.0.1:50055] [--queues q1,q2] [--teams t1] [--window today]
         [--plain] [--interval 5s] [--count N]

On a terminal it takes the alternate screen (like top) and redraws, at most once per
--min_interval: the site (or the selected queues) with calls waiting, the longest wait, offered,
answered and abandoned calls, service level with its definition and threshold, ASA, AHT,
abandonment and occupancy; one row per queue; operators by state, and one row per logged-in
operator while they fit. Keys: q or Ctrl-C quits (SIGTERM too); the terminal is restored on
every exit. Needs only ANSI escapes (works over plain ssh).

Without a terminal (stdout a file or pipe), or with --plain, it prints one line per --interval:
  dashboard: 12:00:05 waiting=3 longest=00:41 offered=120 answered=110 abandoned=6
  SL(standard.v1,20s)=87.3% ASA=9s AHT=142s abandonment=4.8% occupancy=81.0% agents
  logged_in=17 avail=4 reserved=0 on_call=10 wrap=2 not_ready=1
(one line; the time is the data time; "-" marks a figure not defined yet; before the first data
it prints "dashboard: HH:MM:SS no data: <reason>").

The stream reconnects (1 s, then up to 5 s apart) when the service restarts. Exit status: 0 on
q, Ctrl-C, SIGTERM or after --count lines; 1 when the service refuses the request (bad filter);
2 for bad flags. Every flag may also be set as CC_<FLAG> in the environment.)";

std::atomic<bool> g_stop{false};
std::atomic<bool> g_resized{false};
int g_wake_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  if (signal == SIGWINCH) {
    g_resized = true;
  } else {
    g_stop = true;
  }
  if (g_wake_pipe[1] >= 0) {
    const char byte = 0;
    [[maybe_unused]] ssize_t ignored = write(g_wake_pipe[1], &byte, 1);
  }
}

// The terminal in raw-ish mode on the alternate screen; restored by Restore (idempotent), also
// from atexit.
struct Terminal {
  bool active = false;
  bool have_termios = false;
  termios saved{};
};
Terminal g_terminal;

void RestoreTerminal() {
  if (!g_terminal.active) return;
  g_terminal.active = false;
  static const char kLeave[] = "\x1b[0m\x1b[?25h\x1b[?1049l";
  [[maybe_unused]] ssize_t ignored = write(STDOUT_FILENO, kLeave, sizeof(kLeave) - 1);
  if (g_terminal.have_termios) tcsetattr(STDIN_FILENO, TCSANOW, &g_terminal.saved);
}

void EnterTerminal() {
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &g_terminal.saved) == 0) {
    g_terminal.have_termios = true;
    termios raw = g_terminal.saved;
    raw.c_lflag &= ~(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  g_terminal.active = true;
  std::atexit(RestoreTerminal);
  static const char kEnter[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
  [[maybe_unused]] ssize_t ignored = write(STDOUT_FILENO, kEnter, sizeof(kEnter) - 1);
}

void TerminalSize(int* width, int* height) {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    *width = size.ws_col;
    *height = size.ws_row;
  } else {
    *width = 80;
    *height = 24;
  }
}

void WriteAll(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// A channel like common::MakeChannel's (round_robin over replicas, keepalive) that also
// reconnects within 2 s once a restarted service listens again (gRPC's default backoff grows to
// two minutes).
std::shared_ptr<grpc::Channel> MakeDashboardChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(
      common::NamesSeveralReplicas(address)
          ? R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}})"
          : R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  arguments.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(common::NormalizeTarget(address),
                                   grpc::InsecureChannelCredentials(), arguments);
}

// The stream, run on its own thread: reads WatchMetrics into the shared state and reconnects.
// Display names of queues, teams and operators, asked of the calls service at start and every
// 5 s after (three List calls: new queues get their names soon), on a thread of their own so
// that a slow or absent calls service never holds up the screen.
class Names {
 public:
  explicit Names(const std::string& address)
      : admin_(calls::v1::CallsAdminService::NewStub(common::MakeChannel(address))) {}
  ~Names() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        Refresh();
        for (int i = 0; i < 50 && !stop_.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::map<std::string, std::string> Get() {
    absl::MutexLock lock(&mutex_);
    return names_;
  }

 private:
  // Every page of one List method into `names`; false when the service could not be asked.
  template <typename Request, typename Response, typename Method, typename Items>
  bool ListAll(Method method, Items items, std::map<std::string, std::string>* names) {
    Request request;
    request.set_page_size(1000);
    do {
      auto context = common::ContextWithTimeout(absl::Seconds(5));
      Response response;
      if (!((*admin_).*method)(context.get(), request, &response).ok()) return false;
      for (const auto& item : items(response)) (*names)[item.name()] = item.display_name();
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty() && !stop_.load());
    return true;
  }

  void Refresh() {
    using Stub = calls::v1::CallsAdminService::Stub;
    std::map<std::string, std::string> names;
    const bool ok = ListAll<calls::v1::ListQueuesRequest, calls::v1::ListQueuesResponse>(
                        &Stub::ListQueues, [](const auto& r) { return r.queues(); }, &names) &&
                    ListAll<calls::v1::ListTeamsRequest, calls::v1::ListTeamsResponse>(
                        &Stub::ListTeams, [](const auto& r) { return r.teams(); }, &names) &&
                    ListAll<calls::v1::ListOperatorsRequest, calls::v1::ListOperatorsResponse>(
                        &Stub::ListOperators, [](const auto& r) { return r.operators(); }, &names);
    if (!ok) return;  // keep what an earlier refresh found
    absl::MutexLock lock(&mutex_);
    names_ = std::move(names);
  }

  std::unique_ptr<calls::v1::CallsAdminService::Stub> admin_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mutex_;
  std::map<std::string, std::string> names_ ABSL_GUARDED_BY(mutex_);
};

class Subscriber {
 public:
  Subscriber(std::string address, v1::WatchMetricsRequest request)
      : address_(std::move(address)),
        request_(std::move(request)),
        stub_(v1::AnalyticsService::NewStub(MakeDashboardChannel(address_))) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  // A copy of the state, the connection's description, and whether the service refused us.
  DashboardState state(std::string* connection, bool* refused) {
    absl::MutexLock lock(&mutex_);
    *connection = connection_;
    *refused = refused_;
    return state_;
  }
  std::string refusal() {
    absl::MutexLock lock(&mutex_);
    return refusal_;
  }
  // Incremented with every message; the screen redraws when it changes.
  uint64_t version() {
    absl::MutexLock lock(&mutex_);
    return version_;
  }

 private:
  void Run() {
    absl::Duration backoff = absl::Seconds(1);
    while (true) {
      auto context = std::make_unique<grpc::ClientContext>();
      {
        absl::MutexLock lock(&mutex_);
        if (stopping_) return;
        context_ = context.get();
        connection_ = "connecting...";
      }
      std::unique_ptr<grpc::ClientReader<v1::WatchMetricsResponse>> reader =
          stub_->WatchMetrics(context.get(), request_);
      v1::WatchMetricsResponse message;
      while (reader->Read(&message)) {
        absl::MutexLock lock(&mutex_);
        ApplyMessage(message, &state_);
        connection_ = "connected";
        ++version_;
        backoff = absl::Seconds(1);
      }
      const grpc::Status status = reader->Finish();
      {
        absl::MutexLock lock(&mutex_);
        context_ = nullptr;
        if (stopping_) return;
        const grpc::StatusCode code = status.error_code();
        if (code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::UNIMPLEMENTED ||
            code == grpc::StatusCode::PERMISSION_DENIED ||
            code == grpc::StatusCode::UNAUTHENTICATED) {
          refused_ = true;
          refusal_ = absl::StrCat(status.error_code(), ": ", status.error_message());
          ++version_;
          return;
        }
        connection_ =
            absl::StrCat("disconnected (", status.error_code(), ": ", status.error_message(),
                         "); retrying in ", absl::FormatDuration(backoff));
        ++version_;
      }
      // Wait for the backoff or Stop.
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
      if (stopping_) return;
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }

  const std::string address_;
  const v1::WatchMetricsRequest request_;
  std::unique_ptr<v1::AnalyticsService::Stub> stub_;
  std::thread thread_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  DashboardState state_ ABSL_GUARDED_BY(mutex_);
  std::string connection_ ABSL_GUARDED_BY(mutex_) = "connecting...";
  bool refused_ ABSL_GUARDED_BY(mutex_) = false;
  std::string refusal_ ABSL_GUARDED_BY(mutex_);
  uint64_t version_ ABSL_GUARDED_BY(mutex_) = 0;
};

// Waits up to `timeout` for a signal or (on a terminal) a key; returns the key read, or 0.
char WaitForInput(absl::Duration timeout, bool read_keys) {
  pollfd fds[2];
  int count = 0;
  fds[count++] = {.fd = g_wake_pipe[0], .events = POLLIN, .revents = 0};
  if (read_keys) fds[count++] = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
  const int millis = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  if (poll(fds, count, millis) <= 0) return 0;
  if (fds[0].revents & POLLIN) {
    char drain[64];
    [[maybe_unused]] ssize_t ignored = read(g_wake_pipe[0], drain, sizeof(drain));
  }
  if (read_keys && count > 1 && (fds[1].revents & POLLIN)) {
    char key = 0;
    if (read(STDIN_FILENO, &key, 1) == 1) return key;
  }
  return 0;
}

int Run(const std::vector<std::string>& queues, const std::vector<std::string>& teams,
        v1::MetricWindow window) {
  ViewOptions view{.queues = queues, .window = window, .time_zone = absl::LocalTimeZone()};
  const std::string zone_name = absl::GetFlag(FLAGS_time_zone);
  if (!zone_name.empty() && !absl::LoadTimeZone(zone_name, &view.time_zone)) {
    std::fprintf(stderr, "cc-top: --time_zone: unknown time zone \"%s\"\n", zone_name.c_str());
    return 2;
  }
  const std::string address = absl::GetFlag(FLAGS_analytics_address);
  Subscriber subscriber(address,
                        MakeRequest(queues, teams, window, absl::GetFlag(FLAGS_min_interval)));

  if (pipe(g_wake_pipe) != 0) return 1;
  fcntl(g_wake_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(g_wake_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaction(signal, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const bool screen = !absl::GetFlag(FLAGS_plain) && isatty(STDOUT_FILENO);
  subscriber.Start();
  int exit_code = 0;
  if (screen) {
    Names names(absl::GetFlag(FLAGS_calls_address));
    names.Start();
    EnterTerminal();
    uint64_t drawn_version = ~uint64_t{0};
    absl::Time drawn_at = absl::InfinitePast();
    while (!g_stop) {
      const uint64_t version = subscriber.version();
      const absl::Time now = absl::Now();
      // Redraw on new data, a resize, or every second (the clock and "since" columns move).
      if (version != drawn_version || g_resized.exchange(false) ||
          now - drawn_at >= absl::Seconds(1)) {
        ScreenOptions options{.view = view, .address = address, .now = now, .names = names.Get()};
        TerminalSize(&options.width, &options.height);
        bool refused = false;
        DashboardState state = subscriber.state(&options.connection, &refused);
        if (refused) {
          exit_code = 1;
          break;
        }
        std::string frame = "\x1b[H";
        // No newline after the last line: on the bottom row it would scroll the screen.
        const std::vector<std::string> lines = RenderScreen(state, options);
        for (size_t i = 0; i < lines.size(); ++i) {
          absl::StrAppend(&frame, i == 0 ? "" : "\r\n", lines[i], "\x1b[K");
        }
        absl::StrAppend(&frame, "\x1b[J");
        WriteAll(frame);
        drawn_version = version;
        drawn_at = now;
      }
      const char key = WaitForInput(absl::Milliseconds(200), true);
      if (key == 'q' || key == 'Q' || key == 3 /* Ctrl-C without ISIG */) break;
    }
    RestoreTerminal();
  } else {
    const absl::Duration interval =
        std::max(absl::GetFlag(FLAGS_interval), absl::Milliseconds(100));
    const int limit = absl::GetFlag(FLAGS_count);
    int printed = 0;
    absl::Time next = absl::Now() + std::min(interval, absl::Seconds(1));
    while (!g_stop) {
      WaitForInput(next - absl::Now(), false);
      if (g_stop) break;
      if (absl::Now() < next) continue;
      next += interval;
      std::string connection;
      bool refused = false;
      DashboardState state = subscriber.state(&connection, &refused);
      if (refused) {
        exit_code = 1;
        break;
      }
      std::string line;
      if (!state.have_snapshot) {
        line =
            absl::StrCat("dashboard: ", absl::FormatTime("%H:%M:%S", absl::Now(), view.time_zone),
                         " no data: ", connection);
      } else {
        line = SummaryLine(state, view);
        if (connection != "connected") absl::StrAppend(&line, " (", connection, ")");
      }
      std::fprintf(stdout, "%s\n", line.c_str());
      std::fflush(stdout);
      if (limit > 0 && ++printed >= limit) break;
    }
  }
  subscriber.Stop();
  if (exit_code == 1) {
    std::fprintf(stderr, "cc-top: the analytics service refused the request: %s\n",
                 subscriber.refusal().c_str());
  }
  return exit_code;
}

}  // namespace
}  // namespace contactcentre::dashboard

int main(int argc, char** argv) {
  using namespace contactcentre::dashboard;  // NOLINT
  std::vector<char*> args = contactcentre::common::ParseFlagsWithEnvironment(argc, argv, kUsage);
  if (args.size() > 1) {
    std::fprintf(stderr, "cc-top: unexpected argument \"%s\"; see cc-top --help\n", args[1]);
    return 2;
  }
  v1::MetricWindow window;
  if (!ParseWindow(absl::GetFlag(FLAGS_window), &window)) {
    std::fprintf(stderr, "cc-top: --window must be today, 15m, 30m or 60m\n");
    return 2;
  }
  return Run(SplitList(absl::GetFlag(FLAGS_queues)), SplitList(absl::GetFlag(FLAGS_teams)), window);
}
