// The demo centre loaded into the real cc-calls, cc-customers, cc-knowledge and cc-surveys
// binaries (each on its own test database, all in one unique site): a small Russian centre
// loaded twice must be found the second time (same names, nothing new by every List method),
// its customers found by the numbers as typed, every queue's KB searches must find articles,
// its dispositions must be the queue's enabled codes, the post-call survey must be published and
// enabled on every inbound queue, and Russian text must come back as written. An English centre
// loads beside it.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_client.h"
#include "common/testing/child_process.h"
#include "common/testing/health.h"
#include "common/testing/test_servers.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"
#include "contactcentre/surveys/v1/campaign_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "tools/sim/demo_data.h"

namespace contactcentre::sim {
namespace {

using common::testing::ChildProcess;
using common::testing::TestDatabase;
using common::testing::TestServers;

namespace callsv1 = ::contactcentre::calls::v1;
namespace custv1 = ::contactcentre::customers::v1;
namespace kv1 = ::contactcentre::knowledge::v1;
namespace sv1 = ::contactcentre::surveys::v1;

const char* const kServices[] = {"calls", "customers", "knowledge", "surveys"};

class DemoDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestServers& servers = TestServers::Get();
    site_ = common::testing::UniqueTestSite();
    char log_dir[] = "/tmp/cc-sim-demo.XXXXXX";
    ASSERT_NE(mkdtemp(log_dir), nullptr);
    log_dir_ = log_dir;
    for (const char* service : kServices) {
      ports_[service] = common::testing::FreePort();
      databases_[service] = std::make_unique<TestDatabase>();
    }
    for (const char* service : kServices) {
      processes_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{
              absl::StrCat(common::testing::BinaryDir(), "/services/", service, "/cc-", service)},
          std::map<std::string, std::string>{
              {"CC_LISTEN", Address(service)},
              {"CC_POSTGRES", databases_[service]->dsn()},
              {"CC_REDIS", absl::StrCat(servers.redis_host, ":", servers.redis_port)},
              {"CC_SITE", site_},
              {"CC_PG_POOL_SIZE", "4"},
              {"CC_REDIS_POOL_SIZE", "4"},
              {"CC_READINESS_INTERVAL", "100ms"},
              {"CC_DRAIN_DELAY", "100ms"},
              {"CC_SHUTDOWN_GRACE", "2s"},
              {"CC_CUSTOMERS_ADDRESS", Address("customers")},
              {"CC_CUSTOMERS_TARGET", Address("customers")},
              {"CC_CALLS_TARGET", Address("calls")},
          },
          absl::StrCat(log_dir_, "/", service, ".log")));
    }
    for (const char* service : kServices) {
      auto channel = common::MakeChannel(Address(service));
      ASSERT_TRUE(common::testing::WaitForHealth(channel, "SERVING", absl::Seconds(60)))
          << service << " never became ready; logs in " << log_dir_;
    }
    channels_.calls = common::MakeChannel(Address("calls"));
    channels_.customers = common::MakeChannel(Address("customers"));
    channels_.knowledge = common::MakeChannel(Address("knowledge"));
    channels_.surveys = common::MakeChannel(Address("surveys"));
    admin_ = callsv1::CallsAdminService::NewStub(channels_.calls);
    customers_ = custv1::CustomersService::NewStub(channels_.customers);
    articles_ = kv1::ArticlesService::NewStub(channels_.knowledge);
    precedents_ = kv1::PrecedentsService::NewStub(channels_.knowledge);
    directory_ = kv1::DirectoryService::NewStub(channels_.knowledge);
    surveys_ = sv1::SurveyService::NewStub(channels_.surveys);
    campaigns_ = sv1::CampaignService::NewStub(channels_.surveys);
    quality_ = sv1::QualityService::NewStub(channels_.surveys);
  }

  void TearDown() override {
    for (auto& process : processes_) process->Signal(SIGTERM);
    for (auto& process : processes_) process->WaitForExit(absl::Seconds(20));
    common::testing::DeleteSiteKeys(site_);
    // The services' logs stay for a failed test only.
    if (!HasFailure()) std::filesystem::remove_all(log_dir_);
  }

  std::string Address(const std::string& service) {
    return absl::StrCat("127.0.0.1:", ports_[service]);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    return common::ContextWithTimeout(absl::Seconds(30));
  }

  // Counts every resource the demo load creates, by the services' List methods.
  std::map<std::string, int> Counts() {
    std::map<std::string, int> counts;
    auto pages = [&](const std::string& what,
                     const std::function<std::string(const std::string&, int*)>& page) {
      std::string token;
      int count = 0;
      do {
        token = page(token, &count);
      } while (!token.empty());
      counts[what] = count;
    };
    pages("skills", [&](const std::string& token, int* count) {
      callsv1::ListSkillsRequest request;
      request.set_page_token(token);
      callsv1::ListSkillsResponse response;
      EXPECT_TRUE(admin_->ListSkills(Context().get(), request, &response).ok());
      *count += response.skills_size();
      return response.next_page_token();
    });
    pages("teams", [&](const std::string& token, int* count) {
      callsv1::ListTeamsRequest request;
      request.set_site(site_);
      request.set_page_token(token);
      callsv1::ListTeamsResponse response;
      EXPECT_TRUE(admin_->ListTeams(Context().get(), request, &response).ok());
      *count += response.teams_size();
      return response.next_page_token();
    });
    pages("operators", [&](const std::string& token, int* count) {
      callsv1::ListOperatorsRequest request;
      request.set_site(site_);
      request.set_page_token(token);
      callsv1::ListOperatorsResponse response;
      EXPECT_TRUE(admin_->ListOperators(Context().get(), request, &response).ok());
      *count += response.operators_size();
      return response.next_page_token();
    });
    pages("queues", [&](const std::string& token, int* count) {
      callsv1::ListQueuesRequest request;
      request.set_site(site_);
      request.set_page_token(token);
      callsv1::ListQueuesResponse response;
      EXPECT_TRUE(admin_->ListQueues(Context().get(), request, &response).ok());
      *count += response.queues_size();
      return response.next_page_token();
    });
    pages("memberships", [&](const std::string& token, int* count) {
      callsv1::ListQueueMembershipsRequest request;
      request.set_parent("queues/-");
      request.set_page_token(token);
      callsv1::ListQueueMembershipsResponse response;
      EXPECT_TRUE(admin_->ListQueueMemberships(Context().get(), request, &response).ok());
      *count += response.memberships_size();
      return response.next_page_token();
    });
    pages("customers", [&](const std::string& token, int* count) {
      custv1::ListCustomersRequest request;
      request.set_page_size(1000);
      request.set_page_token(token);
      custv1::ListCustomersResponse response;
      EXPECT_TRUE(customers_->ListCustomers(Context().get(), request, &response).ok());
      *count += response.customers_size();
      return response.next_page_token();
    });
    pages("articles", [&](const std::string& token, int* count) {
      kv1::ListArticlesRequest request;
      request.set_page_token(token);
      request.add_states(kv1::ARTICLE_STATE_DRAFT);
      request.add_states(kv1::ARTICLE_STATE_PUBLISHED);
      kv1::ListArticlesResponse response;
      EXPECT_TRUE(articles_->ListArticles(Context().get(), request, &response).ok());
      *count += response.articles_size();
      return response.next_page_token();
    });
    pages("precedents", [&](const std::string& token, int* count) {
      kv1::ListPrecedentsRequest request;
      request.set_page_token(token);
      kv1::ListPrecedentsResponse response;
      EXPECT_TRUE(precedents_->ListPrecedents(Context().get(), request, &response).ok());
      *count += response.precedents_size();
      return response.next_page_token();
    });
    pages("directory", [&](const std::string& token, int* count) {
      kv1::ListDirectoryEntriesRequest request;
      request.set_page_token(token);
      kv1::ListDirectoryEntriesResponse response;
      EXPECT_TRUE(directory_->ListDirectoryEntries(Context().get(), request, &response).ok());
      *count += response.entries_size();
      return response.next_page_token();
    });
    pages("surveys", [&](const std::string& token, int* count) {
      sv1::ListSurveysRequest request;
      request.set_page_token(token);
      sv1::ListSurveysResponse response;
      EXPECT_TRUE(surveys_->ListSurveys(Context().get(), request, &response).ok());
      *count += response.surveys_size();
      return response.next_page_token();
    });
    pages("scorecards", [&](const std::string& token, int* count) {
      sv1::ListScorecardsRequest request;
      request.set_page_token(token);
      sv1::ListScorecardsResponse response;
      EXPECT_TRUE(quality_->ListScorecards(Context().get(), request, &response).ok());
      *count += response.scorecards_size();
      return response.next_page_token();
    });
    pages("post_call_settings", [&](const std::string& token, int* count) {
      sv1::ListPostCallSurveySettingsRequest request;
      request.set_page_token(token);
      request.set_enabled_only(true);
      sv1::ListPostCallSurveySettingsResponse response;
      EXPECT_TRUE(campaigns_->ListPostCallSurveySettings(Context().get(), request, &response).ok());
      *count += response.settings_size();
      return response.next_page_token();
    });
    return counts;
  }

  // Every queue's knowledge-base searches find a published article.
  void ExpectSearchesFindArticles(const DemoCentre& centre) {
    for (const DemoQueue& queue : centre.queues) {
      EXPECT_FALSE(queue.search_queries.empty()) << queue.display_name;
      for (const std::string& query : queue.search_queries) {
        kv1::SearchArticlesRequest request;
        request.set_query(query);
        kv1::SearchArticlesResponse response;
        ASSERT_TRUE(articles_->SearchArticles(Context().get(), request, &response).ok()) << query;
        EXPECT_GT(response.results_size(), 0)
            << "queue \"" << queue.display_name << "\": \"" << query << "\" finds nothing";
      }
    }
  }

  std::string site_;
  std::string log_dir_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::unique_ptr<TestDatabase>> databases_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
  SuiteChannels channels_;
  std::unique_ptr<callsv1::CallsAdminService::Stub> admin_;
  std::unique_ptr<custv1::CustomersService::Stub> customers_;
  std::unique_ptr<kv1::ArticlesService::Stub> articles_;
  std::unique_ptr<kv1::PrecedentsService::Stub> precedents_;
  std::unique_ptr<kv1::DirectoryService::Stub> directory_;
  std::unique_ptr<sv1::SurveyService::Stub> surveys_;
  std::unique_ptr<sv1::CampaignService::Stub> campaigns_;
  std::unique_ptr<sv1::QualityService::Stub> quality_;
};

std::vector<std::string> Names(const DemoCentre& centre) {
  std::vector<std::string> names;
  for (const auto& q : centre.queues) names.push_back(q.name + "=" + q.display_name);
  for (const auto& o : centre.operators)
    names.push_back(o.name + "=" + o.display_name + "@" + o.team);
  for (const auto& c : centre.customers) names.push_back(c.name + "=" + c.phone_as_typed);
  for (const auto& q : centre.queues) {
    for (const auto& p : q.precedents) names.push_back(q.name + ":" + p);
  }
  names.push_back(centre.post_call_survey);
  names.push_back(centre.scorecard);
  for (const auto& c : centre.scorecard_criteria) names.push_back(c);
  return names;
}

TEST_F(DemoDataTest, ARussianCentreLoadsOnceAndIsFoundTheSecondTime) {
  DemoOptions options;
  options.language = "ru";
  options.operators = 8;
  options.customers = 200;
  options.prefix = "Демо ";
  options.seed = 7;
  options.site = site_;
  std::map<std::string, int> last_progress;
  auto progress = [&](const std::string& what, int done, int total) {
    EXPECT_LE(done, total) << what;
    last_progress[what] = done;
  };

  const absl::Time started = absl::Now();
  absl::StatusOr<DemoCentre> first = LoadDemoCentre(options, channels_, progress);
  ASSERT_TRUE(first.ok()) << first.status() << "; logs in " << log_dir_;
  std::cout << "first load: " << absl::Now() - started << "\n";
  EXPECT_EQ(last_progress["customers"], 200);
  EXPECT_GE(last_progress["articles"], 30);
  const std::map<std::string, int> after_first = Counts();

  const absl::Time again = absl::Now();
  absl::StatusOr<DemoCentre> second = LoadDemoCentre(options, channels_, progress);
  ASSERT_TRUE(second.ok()) << second.status();
  std::cout << "second load: " << absl::Now() - again << "\n";
  EXPECT_EQ(Names(*first), Names(*second));
  EXPECT_EQ(after_first, Counts());
  for (const auto& [what, count] : after_first) std::cout << what << ": " << count << "\n";

  const DemoCentre& centre = *first;
  EXPECT_EQ(centre.language, "ru");
  EXPECT_EQ(centre.site, site_);
  EXPECT_EQ(centre.customers.size(), 200u);
  EXPECT_GE(centre.articles, 30);
  EXPECT_GE(centre.precedents, 30);
  EXPECT_GE(centre.directory_entries, 50);
  EXPECT_EQ(after_first.at("queues"), 6);
  EXPECT_EQ(after_first.at("teams"), 3);
  EXPECT_EQ(after_first.at("operators"), 8 + 3);
  EXPECT_EQ(after_first.at("customers"), 200);
  EXPECT_EQ(after_first.at("post_call_settings"), 5);

  // Operators: one supervisor per team, each listed as the team's supervisor.
  int supervisors = 0;
  for (const DemoOperator& op : centre.operators) {
    EXPECT_TRUE(absl::StartsWith(op.display_name, "Демо ")) << op.display_name;
    if (!op.supervisor) continue;
    ++supervisors;
    callsv1::GetTeamRequest get;
    get.set_name(op.team);
    callsv1::Team team;
    ASSERT_TRUE(admin_->GetTeam(Context().get(), get, &team).ok());
    EXPECT_NE(std::find(team.supervisors().begin(), team.supervisors().end(), op.name),
              team.supervisors().end());
  }
  EXPECT_EQ(supervisors, 3);

  // Queues: dispositions are the queue's enabled codes; shares of inbound traffic sum to 1.
  double shares = 0;
  int outbound = 0;
  for (const DemoQueue& queue : centre.queues) {
    callsv1::GetQueueRequest get;
    get.set_name(queue.name);
    callsv1::Queue stored;
    ASSERT_TRUE(admin_->GetQueue(Context().get(), get, &stored).ok());
    EXPECT_EQ(stored.display_name(), queue.display_name);
    std::vector<std::string> enabled;
    for (const auto& code : stored.disposition_codes()) {
      if (!code.disabled()) enabled.push_back(code.code());
    }
    EXPECT_EQ(enabled, queue.dispositions) << queue.display_name;
    EXPECT_EQ(stored.ring_timeout().seconds(), 15);
    EXPECT_EQ(stored.max_misses_before_not_ready(), 3);
    EXPECT_EQ(queue.service_level_threshold, absl::Seconds(20));
    EXPECT_FALSE(queue.topics.empty());
    EXPECT_FALSE(queue.notes.empty());
    EXPECT_GT(queue.mean_talk_time, absl::ZeroDuration());
    if (queue.outbound) {
      ++outbound;
      continue;
    }
    shares += queue.traffic_share;
    EXPECT_FALSE(stored.de_escalation_skill().empty()) << queue.display_name;
    EXPECT_FALSE(queue.precedents.empty()) << queue.display_name;
    for (const std::string& precedent : queue.precedents) {
      kv1::GetPrecedentRequest request;
      request.set_name(precedent);
      kv1::Precedent p;
      EXPECT_TRUE(precedents_->GetPrecedent(Context().get(), request, &p).ok()) << precedent;
    }
    // Every queue has members, some of whom can take abusive callers.
    callsv1::ListQueueMembershipsRequest list;
    list.set_parent(queue.name);
    callsv1::ListQueueMembershipsResponse members;
    ASSERT_TRUE(admin_->ListQueueMemberships(Context().get(), list, &members).ok());
    EXPECT_GT(members.memberships_size(), 0) << queue.display_name;

    // Post-call KEYPAD surveys are on.
    sv1::GetPostCallSurveySettingsRequest settings_request;
    settings_request.set_name(
        absl::StrCat("postCallSurveySettings/", queue.name.substr(queue.name.find('/') + 1)));
    sv1::PostCallSurveySettings settings;
    ASSERT_TRUE(
        campaigns_->GetPostCallSurveySettings(Context().get(), settings_request, &settings).ok());
    EXPECT_TRUE(settings.enabled());
    EXPECT_EQ(settings.survey(), centre.post_call_survey);
    EXPECT_EQ(settings.channel(), sv1::SURVEY_CHANNEL_KEYPAD);
    EXPECT_GT(settings.sampling_rate(), 0);
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_EQ(outbound, 1);

  // Russian text round-trips.
  {
    callsv1::GetQueueRequest get;
    get.set_name(centre.queues[0].name);
    callsv1::Queue stored;
    ASSERT_TRUE(admin_->GetQueue(Context().get(), get, &stored).ok());
    EXPECT_EQ(stored.display_name(), "Демо Общие вопросы");
    EXPECT_EQ(stored.disposition_codes(0).label(), "Вопрос решён");
  }

  // The survey is published.
  {
    sv1::GetSurveyRequest get;
    get.set_name(centre.post_call_survey);
    sv1::Survey survey;
    ASSERT_TRUE(surveys_->GetSurvey(Context().get(), get, &survey).ok());
    EXPECT_EQ(survey.state(), sv1::SURVEY_STATE_PUBLISHED);
    EXPECT_GE(survey.latest_version(), 1);
    EXPECT_EQ(survey.display_name(), "Демо Оценка обслуживания после звонка");
  }
  // The scorecard has the standard criteria.
  EXPECT_EQ(centre.scorecard_criteria,
            (std::vector<std::string>{"politeness", "attentiveness", "clear_speech",
                                      "product_knowledge", "composure", "resolution"}));

  // Customers are found by the numbers as people typed them; flags are set.
  int vips = 0;
  int abusive = 0;
  for (size_t i = 0; i < centre.customers.size(); ++i) {
    const DemoCustomer& customer = centre.customers[i];
    if (i % 10 != 0 && !customer.vip && !customer.abusive) continue;
    custv1::LookupByPhoneRequest lookup;
    lookup.set_phone_number(customer.phone_as_typed);
    custv1::LookupByPhoneResponse found;
    ASSERT_TRUE(customers_->LookupByPhone(Context().get(), lookup, &found).ok())
        << customer.phone_as_typed;
    EXPECT_EQ(found.customer().name(), customer.name) << customer.phone_as_typed;
    EXPECT_EQ(found.customer().flags().vip().value(), customer.vip);
    EXPECT_EQ(found.customer().flags().abusive().value(), customer.abusive);
    vips += customer.vip;
    abusive += customer.abusive;
    if (i == 0) {
      // A Russian name, composed "family given middle" by the service.
      EXPECT_TRUE(absl::StrContains(found.customer().display_name(), "ов") ||
                  absl::StrContains(found.customer().display_name(), "ев") ||
                  absl::StrContains(found.customer().display_name(), "ин") ||
                  absl::StrContains(found.customer().display_name(), "ск"))
          << found.customer().display_name();
      EXPECT_EQ(found.customer().preferred_language().empty(), false);
    }
  }
  EXPECT_GE(vips, 1);
  EXPECT_GE(abusive, 1);

  // The payment-reminder run may call a customer at any hour (the simulator compresses days).
  for (int hour : {3, 12, 23}) {
    custv1::CheckContactPermissionRequest check;
    check.set_customer(centre.customers[1].name);
    check.set_purpose(custv1::CONTACT_PURPOSE_OUTBOUND_CALL);
    *check.mutable_check_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(
            absl::FromCivil(absl::CivilHour(2026, 11, 28, hour), absl::UTCTimeZone())));
    custv1::ContactPermission permission;
    ASSERT_TRUE(customers_->CheckContactPermission(Context().get(), check, &permission).ok());
    EXPECT_TRUE(permission.allowed()) << "at " << hour << ":00 UTC";
  }

  ExpectSearchesFindArticles(centre);

  // The directory answers a typical question.
  {
    kv1::SearchDirectoryRequest request;
    request.set_query("поликлиника 3");
    kv1::SearchDirectoryResponse response;
    ASSERT_TRUE(directory_->SearchDirectory(Context().get(), request, &response).ok());
    ASSERT_GT(response.results_size(), 0);
    EXPECT_EQ(response.results(0).entry().display_name(), "Городская поликлиника №3");
  }

  // A second Russian centre with another prefix and the same seed lives beside it: the same
  // people under the other prefix, its own customers (no number claimed twice), the knowledge
  // base shared.
  {
    DemoOptions copy = options;
    copy.prefix = "Копия ";
    absl::StatusOr<DemoCentre> other = LoadDemoCentre(copy, channels_, nullptr);
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_EQ(other->operators.size(), centre.operators.size());
    for (size_t i = 0; i < centre.operators.size(); ++i) {
      EXPECT_EQ(other->operators[i].display_name.substr(copy.prefix.size()),
                centre.operators[i].display_name.substr(options.prefix.size()));
      EXPECT_NE(other->operators[i].name, centre.operators[i].name);
    }
    EXPECT_EQ(other->customers.size(), 200u);
    EXPECT_NE(other->customers[0].name, centre.customers[0].name);
    EXPECT_NE(other->post_call_survey, centre.post_call_survey);
    const std::map<std::string, int> counts = Counts();
    EXPECT_EQ(counts.at("articles"), after_first.at("articles"));
    EXPECT_EQ(counts.at("precedents"), after_first.at("precedents"));
    EXPECT_EQ(counts.at("directory"), after_first.at("directory"));
    EXPECT_EQ(counts.at("customers"), 400);
    EXPECT_EQ(counts.at("queues"), 12);
  }

  // An English centre lives beside it in the same site.
  DemoOptions english = options;
  english.language = "en";
  english.prefix = "Demo ";
  english.operators = 4;
  english.customers = 40;
  absl::StatusOr<DemoCentre> en = LoadDemoCentre(english, channels_, nullptr);
  ASSERT_TRUE(en.ok()) << en.status();
  EXPECT_EQ(en->language, "en");
  EXPECT_EQ(en->customers.size(), 40u);
  EXPECT_EQ(en->queues.size(), 6u);
  ExpectSearchesFindArticles(*en);
  {
    custv1::LookupByPhoneRequest lookup;
    lookup.set_phone_number(en->customers[0].phone_as_typed);
    custv1::LookupByPhoneResponse found;
    ASSERT_TRUE(customers_->LookupByPhone(Context().get(), lookup, &found).ok());
    EXPECT_EQ(found.customer().name(), en->customers[0].name);
  }
}

TEST_F(DemoDataTest, ATinyCentreStillServesEveryQueue) {
  DemoOptions options;
  options.operators = 2;
  options.customers = 0;
  options.prefix = "Мини ";
  options.site = site_;
  absl::StatusOr<DemoCentre> centre = LoadDemoCentre(options, channels_, nullptr);
  ASSERT_TRUE(centre.ok()) << centre.status();
  EXPECT_TRUE(centre->customers.empty());
  EXPECT_EQ(centre->operators.size(), 2u + 2u);  // two teams, two supervisors
  for (const DemoQueue& queue : centre->queues) {
    callsv1::ListQueueMembershipsRequest list;
    list.set_parent(queue.name);
    callsv1::ListQueueMembershipsResponse members;
    ASSERT_TRUE(admin_->ListQueueMemberships(Context().get(), list, &members).ok());
    EXPECT_GT(members.memberships_size(), 0) << queue.display_name;
  }
}

TEST(DemoDataOptionsTest, BadOptionsAreRefusedNamingTheOption) {
  DemoOptions options;
  options.language = "de";
  SuiteChannels channels;
  absl::StatusOr<DemoCentre> centre = LoadDemoCentre(options, channels, nullptr);
  ASSERT_FALSE(centre.ok());
  EXPECT_TRUE(absl::StartsWith(centre.status().message(), "language")) << centre.status();
  options.language = "ru";
  centre = LoadDemoCentre(options, channels, nullptr);
  ASSERT_FALSE(centre.ok());
  EXPECT_TRUE(absl::StartsWith(centre.status().message(), "channels")) << centre.status();
}

}  // namespace
}  // namespace contactcentre::sim
