// Real processes for end-to-end tests: start a binary with extra environment, signal it, wait
// for its exit with a deadline.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace contactcentre::common::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv` and the test's environment plus `environment`; its stdout and
  // stderr go to `log_path` (appended) when given, else to the test's stderr.
  ChildProcess(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& environment,
               const std::string& log_path = "");
  // Kills the process (SIGKILL) if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);
  // The exit status (as from waitpid's WEXITSTATUS, or 128 + signal) once the process ends
  // within `timeout`; nullopt if it still runs.
  std::optional<int> WaitForExit(absl::Duration timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral port range.
int FreePort();

// True while something listens on 127.0.0.1:port.
bool PortIsListening(int port);

}  // namespace contactcentre::common::testing
