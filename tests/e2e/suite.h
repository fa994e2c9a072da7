// The whole suite as real processes for end-to-end tests: N replicas of each of the five
// services on the test run's PostgreSQL and Redis, in databases and a site of their own, each
// told where its peers' replicas are (as deploy/run.sh does), and ready when constructed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/testing/child_process.h"
#include "common/testing/test_servers.h"

namespace contactcentre::testing {

class Suite {
 public:
  // Replicas per service ("calls", "customers", "surveys", "knowledge", "analytics"; a service
  // left out gets one). `ready` is false when a replica did not become SERVING in time.
  explicit Suite(const std::map<std::string, int>& replicas);
  ~Suite();

  bool ready() const { return ready_; }
  const std::string& site() const { return site_; }
  // "127.0.0.1:a,127.0.0.1:b": every replica of `service`.
  std::string Addresses(const std::string& service) const;
  // A channel balanced over every replica of `service`.
  std::shared_ptr<grpc::Channel> Channel(const std::string& service) const;
  // CC_<SERVICE>_ADDRESS of every service, for a client process such as cc-sim.
  std::map<std::string, std::string> ClientEnvironment() const;
  // Every replica's log on stderr (for a failing test).
  void DumpLogs() const;
  // The replicas of `service`, e.g. to kill one.
  std::vector<common::testing::ChildProcess*> Processes(const std::string& service) const;
  const std::string& log_dir() const { return log_dir_; }

 private:
  struct Replica {
    std::string service;
    int port = 0;
    std::string log_path;
    std::unique_ptr<common::testing::ChildProcess> process;
  };
  std::string site_;
  std::string log_dir_;
  std::map<std::string, std::unique_ptr<common::testing::TestDatabase>> databases_;
  std::map<std::string, std::vector<int>> ports_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  bool ready_ = false;
};

}  // namespace contactcentre::testing
