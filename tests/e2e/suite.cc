#include "tests/e2e/suite.h"

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_client.h"
#include "common/testing/health.h"

namespace contactcentre::testing {

namespace {
const char* const kServices[] = {"calls", "customers", "surveys", "knowledge", "analytics"};
}

Suite::Suite(const std::map<std::string, int>& replicas) {
  const auto& servers = common::testing::TestServers::Get();
  site_ = common::testing::UniqueTestSite();
  char log_dir_template[] = "/tmp/cc-suite-e2e.XXXXXX";
  if (mkdtemp(log_dir_template) == nullptr) return;
  log_dir_ = log_dir_template;
  for (const char* service : kServices) {
    databases_[service] = std::make_unique<common::testing::TestDatabase>();
    const auto it = replicas.find(service);
    const int count = it == replicas.end() ? 1 : it->second;
    for (int i = 0; i < count; ++i) ports_[service].push_back(common::testing::FreePort());
  }
  std::map<std::string, std::string> peers;
  for (const char* service : kServices) {
    const std::string upper = absl::AsciiStrToUpper(service);
    peers[absl::StrCat("CC_", upper, "_ADDRESS")] = Addresses(service);
    peers[absl::StrCat("CC_", upper, "_TARGET")] = Addresses(service);
  }
  for (const char* service : kServices) {
    for (size_t i = 0; i < ports_[service].size(); ++i) {
      auto replica = std::make_unique<Replica>();
      replica->service = service;
      replica->port = ports_[service][i];
      replica->log_path = absl::StrCat(log_dir_, "/", service, "-", i, ".log");
      std::map<std::string, std::string> environment = peers;
      environment["CC_LISTEN"] = absl::StrCat("127.0.0.1:", replica->port);
      environment["CC_POSTGRES"] = databases_[service]->dsn();
      environment["CC_REDIS"] = absl::StrCat(servers.redis_host, ":", servers.redis_port);
      environment["CC_SITE"] = site_;
      environment["CC_PG_POOL_SIZE"] = "4";
      environment["CC_REDIS_POOL_SIZE"] = "4";
      environment["CC_READINESS_INTERVAL"] = "100ms";
      environment["CC_DRAIN_DELAY"] = "200ms";
      replica->process = std::make_unique<common::testing::ChildProcess>(
          std::vector<std::string>{
              absl::StrCat(common::testing::BinaryDir(), "/services/", service, "/cc-", service)},
          environment, replica->log_path);
      replicas_.push_back(std::move(replica));
    }
  }
  for (const auto& replica : replicas_) {
    auto channel = common::MakeChannel(absl::StrCat("127.0.0.1:", replica->port));
    if (!common::testing::WaitForHealth(channel, "SERVING", absl::Seconds(60))) {
      std::cerr << replica->service << " on port " << replica->port << " never became ready\n";
      return;
    }
  }
  ready_ = true;
}

Suite::~Suite() {
  for (const auto& replica : replicas_) replica->process->Signal(SIGTERM);
  for (const auto& replica : replicas_) {
    if (!replica->process->WaitForExit(absl::Seconds(15))) replica->process->Signal(SIGKILL);
  }
  replicas_.clear();
  common::testing::DeleteSiteKeys(site_);
}

std::string Suite::Addresses(const std::string& service) const {
  std::vector<std::string> addresses;
  const auto it = ports_.find(service);
  if (it == ports_.end()) return "";
  for (int port : it->second) addresses.push_back(absl::StrCat("127.0.0.1:", port));
  return absl::StrJoin(addresses, ",");
}

std::shared_ptr<grpc::Channel> Suite::Channel(const std::string& service) const {
  return common::MakeChannel(Addresses(service));
}

std::map<std::string, std::string> Suite::ClientEnvironment() const {
  std::map<std::string, std::string> environment;
  for (const char* service : kServices) {
    environment[absl::StrCat("CC_", absl::AsciiStrToUpper(service), "_ADDRESS")] =
        Addresses(service);
  }
  return environment;
}

void Suite::DumpLogs() const {
  for (const auto& replica : replicas_) {
    std::ifstream log(replica->log_path);
    std::string line;
    std::cerr << "--- " << replica->service << " :" << replica->port << "\n";
    while (std::getline(log, line)) {
      // Warnings and errors only: a day of calls logs many thousands of info lines.
      if (line.find("\"level\":\"info\"") == std::string::npos &&
          line.find("\"level\":\"debug\"") == std::string::npos) {
        std::cerr << line << "\n";
      }
    }
  }
}

std::vector<common::testing::ChildProcess*> Suite::Processes(const std::string& service) const {
  std::vector<common::testing::ChildProcess*> processes;
  for (const auto& replica : replicas_) {
    if (replica->service == service) processes.push_back(replica->process.get());
  }
  return processes;
}

}  // namespace contactcentre::testing
