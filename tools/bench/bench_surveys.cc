// cc-bench-surveys: submits survey responses through the surveys service's gRPC API and times
// GetSurveyResults over all of them, in one run.
//
// The benchmark creates a database of its own on the given server, applies the service's
// migrations, starts the real surveys module (stores, outbox relay publishing the
// SurveyResponseSubmitted events to Redis) behind a gRPC server on a free port in this process,
// creates and publishes a five-question survey (headline CSAT rating, headline NPS, a single
// choice shown only to ratings of 3 or less, yes/no, a whole number), and then `--clients`
// threads each repeat StartResponse + SubmitResponse(complete) with request ids, as a desktop or
// IVR would, until `--responses` responses are completed. It prints responses/s (each response
// is two RPCs, two transactions), then the time of GetSurveyResults over every response
// (overall, and broken down by operator), then drops the database.
//
//   cc-bench-surveys --servers_env build/test-servers/env                 (1,000,000 responses)
//   cc-bench-surveys --servers_env build/test-servers/env --smoke         (CI)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "services/surveys/module.h"
#include "services/surveys/schema.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/grpc_load.h"

ABSL_FLAG(std::string, postgres, "host=127.0.0.1 port=25432 user=cc dbname=postgres",
          "libpq connection string of a server where the benchmark may create a database");
ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port (events go to its stream)");
ABSL_FLAG(std::string, servers_env, "",
          "read the PostgreSQL and Redis addresses from this env file of deploy/local-servers.sh");
ABSL_FLAG(int, responses, 1'000'000, "responses to submit");
ABSL_FLAG(int, clients, 32, "client threads, each with one call in flight");
ABSL_FLAG(int, pool, 8, "PostgreSQL connections of the service");
ABSL_FLAG(int, results_runs, 3, "times GetSurveyResults is measured");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");
ABSL_FLAG(bool, keep_database, false, "leave the benchmark database in place");

namespace contactcentre::bench {
namespace {

namespace v1 = surveys::v1;

v1::SurveyDefinition Definition() {
  v1::SurveyDefinition definition;
  definition.set_title("How did we do?");
  definition.add_channels(v1::SURVEY_CHANNEL_KEYPAD);
  definition.add_channels(v1::SURVEY_CHANNEL_OPERATOR);
  v1::Question* q = definition.add_questions();
  q->set_question_id("overall");
  q->set_text("How satisfied are you with the operator?");
  q->set_required(true);
  q->mutable_rating()->set_headline_csat(true);
  q = definition.add_questions();
  q->set_question_id("recommend");
  q->set_text("How likely are you to recommend us?");
  q->set_required(true);
  q->mutable_nps()->set_headline_nps(true);
  q = definition.add_questions();
  q->set_question_id("reason");
  q->set_text("What went wrong?");
  for (const char* id : {"wait", "knowledge", "politeness", "price"}) {
    v1::Choice* choice = q->mutable_single_choice()->add_choices();
    choice->set_choice_id(id);
    choice->set_text(id);
  }
  v1::AnswerCondition* test = q->mutable_display_condition()->add_conditions();
  test->set_question_id("overall");
  test->set_operator_(v1::CONDITION_OPERATOR_LESS_THAN_OR_EQUAL);
  test->set_number(3);
  q = definition.add_questions();
  q->set_question_id("resolved");
  q->set_text("Was your problem solved?");
  q->mutable_yes_no();
  q = definition.add_questions();
  q->set_question_id("calls");
  q->set_text("How many times did you call this month?");
  q->mutable_number()->set_min_value(0);
  q->mutable_number()->set_max_value(50);
  q->mutable_number()->set_integer_only(true);
  return definition;
}

std::vector<v1::Answer> RandomAnswers(std::mt19937_64& random) {
  std::vector<v1::Answer> answers;
  const int overall = 1 + static_cast<int>(random() % 5);
  v1::Answer a;
  a.set_question_id("overall");
  a.set_score(overall);
  answers.push_back(a);
  a.Clear();
  a.set_question_id("recommend");
  a.set_score(static_cast<int>(random() % 11));
  answers.push_back(a);
  if (overall <= 3) {
    a.Clear();
    a.set_question_id("reason");
    static const char* kReasons[] = {"wait", "knowledge", "politeness", "price"};
    a.mutable_choices()->add_choice_ids(kReasons[random() % 4]);
    answers.push_back(a);
  }
  a.Clear();
  a.set_question_id("resolved");
  a.set_yes_no(random() % 3 != 0);
  answers.push_back(a);
  a.Clear();
  a.set_question_id("calls");
  a.set_number(static_cast<double>(random() % 8));
  answers.push_back(a);
  return answers;
}

int Run() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int total = smoke ? 300 : absl::GetFlag(FLAGS_responses);
  const int clients = smoke ? 4 : absl::GetFlag(FLAGS_clients);
  const int results_runs = smoke ? 1 : absl::GetFlag(FLAGS_results_runs);
  std::string admin_dsn = absl::GetFlag(FLAGS_postgres);
  std::string redis_address = absl::GetFlag(FLAGS_redis);
  if (const std::string path = absl::GetFlag(FLAGS_servers_env); !path.empty()) {
    std::map<std::string, std::string> env = ReadEnvFile(path);
    admin_dsn = absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                             " user=", env["CC_PG_USER"], " dbname=postgres");
    redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
  }
  const std::string database =
      absl::StrCat("bench_surveys_", absl::StrReplaceAll(common::NewId(), {{"-", ""}}));
  const std::string dsn = common::WithConnectionParameters(admin_dsn, {{"dbname", database}});
  {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + txn.quote_name(database) + " TEMPLATE template0 ENCODING 'UTF8'");
  }
  const auto drop_database = [&] {
    if (absl::GetFlag(FLAGS_keep_database)) {
      std::printf("database kept: %s\n", database.c_str());
      return;
    }
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE " + txn.quote_name(database) + " WITH (FORCE)");
  };
  for (const auto& [component, migrations] : {std::pair{"common", &common::SchemaMigrations()},
                                              std::pair{"surveys", &surveys::SchemaMigrations()}}) {
    if (auto applied = common::ApplyMigrations(dsn, component, *migrations); !applied.ok()) {
      std::fprintf(stderr, "migrations: %s\n", applied.status().ToString().c_str());
      drop_database();
      return 1;
    }
  }

  // The service, in this process, as main() wires it (the customers and calls services are
  // not asked by these methods).
  const std::string site = absl::StrCat("bench-surveys-", common::NewId().substr(0, 8));
  common::ServiceConfig config;
  config.service = "surveys";
  config.site = site;
  auto redis_options = common::ParseRedisAddress(redis_address);
  auto pg = common::PgPool::Create({.dsn = dsn, .size = absl::GetFlag(FLAGS_pool)});
  auto redis =
      common::RedisClient::Create(redis_options.ok() ? *redis_options : common::RedisOptions());
  if (!pg.ok() || !redis.ok()) {
    std::fprintf(stderr, "cannot create clients\n");
    drop_database();
    return 1;
  }
  common::EventPublisher publisher(redis->get(), {.site = site, .producer = "services/surveys"});
  common::OutboxRelay outbox(pg->get(), &publisher, {});
  common::ServiceContext context{config, **pg, **redis, publisher, outbox};
  auto module = std::make_unique<surveys::SurveysModule>(
      context, std::make_unique<surveys::GrpcCustomersClient>("127.0.0.1:1", absl::Seconds(1)),
      std::make_unique<surveys::GrpcCallsClient>("127.0.0.1:1", absl::Seconds(1)),
      surveys::SurveysModuleOptions{});
  auto server =
      common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, module->GrpcServices());
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n", server.status().ToString().c_str());
    drop_database();
    return 1;
  }
  (*server)->SetReady(true);
  outbox.Start();
  const std::string target = absl::StrCat("127.0.0.1:", (*server)->port());
  auto channel = common::MakeChannel(target);
  auto stub = v1::SurveyService::NewStub(channel);

  v1::CreateSurveyRequest create;
  create.set_survey_id("bench");
  create.mutable_survey()->set_display_name("Post-call satisfaction (benchmark)");
  *create.mutable_survey()->mutable_draft() = Definition();
  v1::Survey survey;
  v1::PublishSurveyRequest publish;
  publish.set_name("surveys/bench");
  v1::SurveyVersion version;
  {
    auto c1 = common::ContextWithTimeout(absl::Seconds(10));
    auto c2 = common::ContextWithTimeout(absl::Seconds(10));
    if (!stub->CreateSurvey(c1.get(), create, &survey).ok() ||
        !stub->PublishSurvey(c2.get(), publish, &version).ok()) {
      std::fprintf(stderr, "cannot create the survey\n");
      drop_database();
      return 1;
    }
  }
  std::printf("cc-bench-surveys: %d responses, %d client threads, pool %d, %u cores\n", total,
              clients, absl::GetFlag(FLAGS_pool), std::thread::hardware_concurrency());

  // Submitting: each thread takes the next response number until all are done.
  std::atomic<int> next{0};
  std::atomic<int64_t> errors{0};
  std::string first_error;
  absl::Mutex error_mutex;
  const double cpu_before = ProcessCpuSeconds();
  const absl::Time started = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(1000 + t);
      auto thread_stub = v1::SurveyService::NewStub(common::MakeChannel(target));
      for (int i = next++; i < total; i = next++) {
        v1::StartResponseRequest start;
        start.set_request_id(common::NewId());
        start.set_survey("surveys/bench");
        start.set_channel(i % 2 ? v1::SURVEY_CHANNEL_KEYPAD : v1::SURVEY_CHANNEL_OPERATOR);
        start.set_queue(absl::StrCat("queues/q", i % 20));
        start.set_operator_(absl::StrCat("operators/", i % 500));
        start.set_call(absl::StrCat("calls/bench-", i));
        v1::StartResponseResponse started_response;
        auto c1 = common::ContextWithTimeout(absl::Seconds(30));
        grpc::Status status = thread_stub->StartResponse(c1.get(), start, &started_response);
        if (status.ok()) {
          v1::SubmitResponseRequest submit;
          submit.set_request_id(common::NewId());
          submit.set_name(started_response.response().name());
          for (v1::Answer& answer : RandomAnswers(random)) *submit.add_answers() = answer;
          submit.set_complete(true);
          v1::SurveyResponse response;
          auto c2 = common::ContextWithTimeout(absl::Seconds(30));
          status = thread_stub->SubmitResponse(c2.get(), submit, &response);
        }
        if (!status.ok()) {
          ++errors;
          absl::MutexLock lock(&error_mutex);
          if (first_error.empty()) first_error = status.error_message();
        }
        if (!smoke && i > 0 && i % 100000 == 0) {
          std::printf("  ... %d responses, %.0f/s\n", i,
                      i / absl::ToDoubleSeconds(absl::Now() - started));
          std::fflush(stdout);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const double cpu = ProcessCpuSeconds() - cpu_before;
  std::printf(
      "  submitted %d responses (StartResponse + SubmitResponse with 5 answers, complete) in "
      "%.1f s: %.0f responses/s, %lld errors%s%s\n",
      total, seconds, total / seconds, static_cast<long long>(errors.load()),
      first_error.empty() ? "" : ": ", first_error.c_str());
  std::printf("  this process (client + service) used %.1f CPU s: %.0f us per response\n", cpu,
              1e6 * cpu / total);

  {
    pqxx::connection connection(dsn);
    pqxx::nontransaction txn(connection);
    txn.exec("VACUUM ANALYZE responses");
  }
  // GetSurveyResults over all of them.
  const auto time_results = [&](v1::ResultsGroupBy group_by, const char* label) {
    std::vector<double> runs;
    v1::SurveyResults results;
    const double cpu_start = ProcessCpuSeconds();
    for (int r = 0; r < results_runs; ++r) {
      v1::GetSurveyResultsRequest request;
      request.set_survey("surveys/bench");
      request.set_group_by(group_by);
      auto c = common::ContextWithTimeout(absl::Minutes(10));
      const absl::Time t0 = absl::Now();
      grpc::Status status = stub->GetSurveyResults(c.get(), request, &results);
      runs.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
      if (!status.ok()) {
        std::fprintf(stderr, "GetSurveyResults: %s\n", status.error_message().c_str());
        ++errors;
        return;
      }
    }
    const double cpu_per_run = (ProcessCpuSeconds() - cpu_start) / results_runs;
    std::sort(runs.begin(), runs.end());
    std::printf(
        "  GetSurveyResults %-16s median %.2f s, best %.2f s (%d runs; the service's CPU %.2f s "
        "per run, the rest is PostgreSQL) over %lld completed responses: CSAT %.3f, NPS %.1f, "
        "%d groups\n",
        label, runs[runs.size() / 2], runs.front(), results_runs, cpu_per_run,
        static_cast<long long>(results.counts().completed_count()), results.csat().csat(),
        results.nps().nps(), results.groups_size());
  };
  time_results(v1::RESULTS_GROUP_BY_UNSPECIFIED, "(overall)");
  time_results(v1::RESULTS_GROUP_BY_OPERATOR, "(by operator)");

  outbox.Stop();
  stub.reset();
  channel.reset();
  (*server)->Shutdown();
  module.reset();
  pg->reset();
  drop_database();
  return errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv, "submits survey responses and times GetSurveyResults over them");
  return contactcentre::bench::Run();
}
