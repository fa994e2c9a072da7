// Small helpers the benchmarks share: the private servers' settings file and a process's CPU.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace contactcentre::bench {

// KEY=value lines of a settings file such as deploy/local-servers.sh's DIR/env.
std::map<std::string, std::string> ReadEnvFile(const std::string& path);

// CPU seconds (user + system) process `pid` has used, from /proc; 0 when it cannot be read.
double ProcessCpu(pid_t pid);

}  // namespace contactcentre::bench
