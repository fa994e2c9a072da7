// Demo data of a contact centre, loaded into the running services over gRPC: a Russian-speaking
// centre (or an English one) with its skills, teams, queues, operators and supervisors,
// customers with phones typed the way people type them, products, knowledge-base articles,
// precedents, a city directory of organisations, the post-call survey and the quality
// scorecard. The simulator drives the centre it describes.
//
// Loading is idempotent: a second load over the same services finds what the first created (by
// display names under `prefix`) and creates only what is missing, so a restarted run reuses its
// data.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace contactcentre::sim {

// Channels to the five services (each may balance over several replicas).
struct SuiteChannels {
  std::shared_ptr<grpc::Channel> calls;
  std::shared_ptr<grpc::Channel> customers;
  std::shared_ptr<grpc::Channel> surveys;
  std::shared_ptr<grpc::Channel> knowledge;
  std::shared_ptr<grpc::Channel> analytics;
};

struct DemoOptions {
  // "ru" or "en": the language of names, texts, dispositions and notes.
  std::string language = "ru";
  // Operators (supervisors come on top: one per team).
  int operators = 24;
  // Customer cards created (the simulator's callers are drawn from them).
  int customers = 2000;
  // Prepended to every display name (queues, teams, skills, operators, surveys, scorecards), so
  // that several demo centres (e.g. tests) can live side by side in one database and site.
  std::string prefix;
  // Seed of the generator: the same seed gives the same data.
  uint64_t seed = 1;
  // The calls service's site the queues and operators belong to.
  std::string site = "main";
};

// A queue of the demo centre with what the simulator needs to act in it.
struct DemoQueue {
  std::string name;  // "queues/<id>"
  std::string display_name;
  // Share of the centre's inbound calls that arrive at this queue (the shares sum to 1).
  double traffic_share = 0;
  // Mean talk time and mean wrap-up time of its calls.
  absl::Duration mean_talk_time;
  absl::Duration mean_wrap_up_time;
  absl::Duration service_level_threshold;
  // The queue's enabled disposition codes, and typical topics and notes of its wrap-ups.
  std::vector<std::string> dispositions;
  std::vector<std::string> topics;
  std::vector<std::string> notes;
  // Knowledge-base searches an operator of this queue makes, and precedents
  // ("precedents/<id>") that solve its typical problems.
  std::vector<std::string> search_queries;
  std::vector<std::string> precedents;
  // True for the queue of the outbound payment reminders.
  bool outbound = false;
};

struct DemoOperator {
  std::string name;  // "operators/<id>"
  std::string display_name;
  std::string team;  // "teams/<id>"
  bool supervisor = false;
};

struct DemoCustomer {
  std::string name;            // "customers/<id>"
  std::string phone_as_typed;  // e.g. "8 (495) 123-45-67", "+7 916 123 45 67"
  bool vip = false;
  bool abusive = false;
};

struct DemoCentre {
  std::string language;
  std::string site;  // the calls service's site of the queues and operators
  std::vector<DemoQueue> queues;
  std::vector<DemoOperator> operators;  // supervisors included
  std::vector<DemoCustomer> customers;
  std::string post_call_survey;                 // "surveys/<id>", published, offered after calls
  std::string scorecard;                        // "scorecards/<id>" of call-quality evaluations
  std::vector<std::string> scorecard_criteria;  // the criteria ids an evaluation scores
  int articles = 0;
  int precedents = 0;
  int directory_entries = 0;
};

// Reports progress of a long load: what is being loaded, done and total.
using DemoProgress = std::function<void(const std::string& what, int done, int total)>;

// Creates (or finds) the demo centre in the services.
absl::StatusOr<DemoCentre> LoadDemoCentre(const DemoOptions& options, const SuiteChannels& channels,
                                          const DemoProgress& progress);

}  // namespace contactcentre::sim
