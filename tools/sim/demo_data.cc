// LoadDemoCentre: turns the constant tables of demo_content_*.cc into resources of the running
// services, over gRPC only, finding what an earlier load created (see demo_data.h).
//
// How a second load finds the first one's objects:
//   - skills (unique across the suite), teams, queues, operators (per site): by display name,
//     every one prefixed with `options.prefix`; memberships by queue and operator;
//   - customers: ImportCustomers in CREATE_ONLY mode matched by an external id derived from the
//     language, the prefix, the seed and the row, so that an existing card answers DUPLICATE with
//     its name;
//   - articles and directory entries: the same with their import methods and external ids
//     ("demo-<language>-article-<key>", "demo-<language>-org-<n>"); the knowledge base belongs to
//     no site, so demo centres side by side share it rather than list every article twice;
//   - precedents (no external id): by problem text among the precedents of the content's
//     products and language (shared likewise);
//   - the survey and the scorecard: by display name; post-call settings: read and updated only
//     when they differ.
#include "tools/sim/demo_data.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/grpc_client.h"
#include "common/ids.h"
#include "common/status.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "contactcentre/customers/v1/customers_service.grpc.pb.h"
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"
#include "contactcentre/surveys/v1/campaign_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "tools/sim/demo_content.h"

namespace contactcentre::sim {
namespace {

namespace callsv1 = ::contactcentre::calls::v1;
namespace custv1 = ::contactcentre::customers::v1;
namespace kv1 = ::contactcentre::knowledge::v1;
namespace sv1 = ::contactcentre::surveys::v1;
namespace commonv1 = ::contactcentre::common::v1;
using demo::Content;
using google::protobuf::util::TimeUtil;

constexpr absl::Duration kTimeout = absl::Seconds(30);
constexpr int kCustomerRowsPerMessage = 500;
constexpr int kDirectoryItemsPerMessage = 100;
constexpr int kArticleItemsPerMessage = 50;

// FNV-1a: a hash that is the same on every platform and run (std::hash is not promised to be).
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// A uniform index in [0, n).
size_t Index(std::mt19937_64& rng, size_t n) { return n == 0 ? 0 : rng() % n; }
// A uniform integer in [low, high].
int Between(std::mt19937_64& rng, int low, int high) {
  return low + static_cast<int>(rng() % static_cast<uint64_t>(high - low + 1));
}
// True with probability p.
bool Chance(std::mt19937_64& rng, double p) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
}
template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[Index(rng, items.size())];
}

google::protobuf::Duration Seconds(int64_t seconds) { return TimeUtil::SecondsToDuration(seconds); }

// Calls `fn(context, request, response)` with a deadline, retrying UNAVAILABLE and
// DEADLINE_EXCEEDED a few times (every mutation carries a request_id, so a retry is safe); the
// error names `what`.
template <typename Request, typename Response, typename Fn>
absl::Status Call(const std::string& what, Fn&& fn, const Request& request, Response* response) {
  grpc::Status status;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto context = common::ContextWithTimeout(kTimeout);
    status = fn(context.get(), request, response);
    if (status.ok()) return absl::OkStatus();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(250) * (1 << attempt));
  }
  return common::Annotate(common::FromGrpcStatus(status), what);
}

// Latin letters for an e-mail address made from a Russian name (or the name itself when it is
// Latin already).
std::string Transliterate(absl::string_view text) {
  static const std::map<std::string, std::string>* const table =
      new std::map<std::string, std::string>{
          {"а", "a"},  {"б", "b"},  {"в", "v"},   {"г", "g"},  {"д", "d"},  {"е", "e"},
          {"ё", "e"},  {"ж", "zh"}, {"з", "z"},   {"и", "i"},  {"й", "y"},  {"к", "k"},
          {"л", "l"},  {"м", "m"},  {"н", "n"},   {"о", "o"},  {"п", "p"},  {"р", "r"},
          {"с", "s"},  {"т", "t"},  {"у", "u"},   {"ф", "f"},  {"х", "kh"}, {"ц", "ts"},
          {"ч", "ch"}, {"ш", "sh"}, {"щ", "sch"}, {"ъ", ""},   {"ы", "y"},  {"ь", ""},
          {"э", "e"},  {"ю", "yu"}, {"я", "ya"},  {"А", "a"},  {"Б", "b"},  {"В", "v"},
          {"Г", "g"},  {"Д", "d"},  {"Е", "e"},   {"Ё", "e"},  {"Ж", "zh"}, {"З", "z"},
          {"И", "i"},  {"Й", "y"},  {"К", "k"},   {"Л", "l"},  {"М", "m"},  {"Н", "n"},
          {"О", "o"},  {"П", "p"},  {"Р", "r"},   {"С", "s"},  {"Т", "t"},  {"У", "u"},
          {"Ф", "f"},  {"Х", "kh"}, {"Ц", "ts"},  {"Ч", "ch"}, {"Ш", "sh"}, {"Щ", "sch"},
          {"Э", "e"},  {"Ю", "yu"}, {"Я", "ya"},
      };
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (absl::ascii_isalnum(c)) out.push_back(absl::ascii_tolower(c));
      ++i;
      continue;
    }
    const size_t length = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    auto it = table->find(std::string(text.substr(i, length)));
    if (it != table->end()) out += it->second;
    i += length;
  }
  return out;
}

struct Person {
  std::string given;
  std::string family;
  std::string middle;
  bool female = false;
};

Person RandomPerson(std::mt19937_64& rng, const Content& content) {
  Person person;
  person.female = Chance(rng, 0.5);
  person.given = Pick(rng, person.female ? content.female_given : content.male_given);
  const size_t family = Index(rng, content.male_family.size());
  person.family = person.female ? content.female_family[family] : content.male_family[family];
  if (!content.male_patronymic.empty()) {
    const size_t middle = Index(rng, content.male_patronymic.size());
    person.middle =
        person.female ? content.female_patronymic[middle] : content.male_patronymic[middle];
  }
  return person;
}

// A number as people type it: ten national digits (area code and subscriber) in one of the
// formats seen in contact-centre records.
std::string TypedPhone(std::mt19937_64& rng, const Content& content, const std::string& area,
                       const std::string& subscriber) {
  const std::string a = subscriber.substr(0, 3);
  const std::string b = subscriber.substr(3, 2);
  const std::string c = subscriber.substr(5, 2);
  if (content.country_code == "7") {
    switch (Index(rng, 8)) {
      case 0:
        return absl::StrCat("8 (", area, ") ", a, "-", b, "-", c);
      case 1:
        return absl::StrCat("+7 ", area, " ", a, "-", b, "-", c);
      case 2:
        return absl::StrCat("8", area, subscriber);
      case 3:
        return absl::StrCat("+7 (", area, ") ", a, " ", b, " ", c);
      case 4:
        return absl::StrCat("+7", area, subscriber);
      case 5:
        return absl::StrCat("8-", area, "-", a, "-", b, "-", c);
      case 6:
        return absl::StrCat("8 ", area, " ", subscriber);
      default:
        return absl::StrCat("+7 ", area, " ", a, " ", b, " ", c);
    }
  }
  const std::string line = subscriber.substr(3);
  switch (Index(rng, 4)) {
    case 0:
      return absl::StrCat("+1 (", area, ") ", a, "-", line);
    case 1:
      return absl::StrCat("+1 ", area, "-", a, "-", line);
    case 2:
      return absl::StrCat("+1", area, subscriber);
    default:
      return absl::StrCat("+1 ", area, " ", a, " ", line);
  }
}

// Seven subscriber digits that do not start with 0 or 1 (valid in both numbering plans).
std::string Subscriber(std::mt19937_64& rng) {
  return absl::StrFormat("%d%06d", Between(rng, 2, 9), Between(rng, 0, 999999));
}

// What the loader plans for one operator or supervisor before asking any service.
struct OperatorPlan {
  std::string display_name;
  std::string login;
  std::string endpoint;
  size_t team = 0;
  bool supervisor = false;
  std::vector<std::pair<std::string, int>> skills;  // skill key, level
  std::vector<std::string> languages;
};

class Loader {
 public:
  Loader(const DemoOptions& options, const SuiteChannels& channels, const DemoProgress& progress,
         const Content& content)
      : options_(options),
        progress_(progress),
        content_(content),
        admin_(callsv1::CallsAdminService::NewStub(channels.calls)),
        customers_(custv1::CustomersService::NewStub(channels.customers)),
        articles_(kv1::ArticlesService::NewStub(channels.knowledge)),
        precedents_(kv1::PrecedentsService::NewStub(channels.knowledge)),
        directory_(kv1::DirectoryService::NewStub(channels.knowledge)),
        surveys_(sv1::SurveyService::NewStub(channels.surveys)),
        campaigns_(sv1::CampaignService::NewStub(channels.surveys)),
        quality_(sv1::QualityService::NewStub(channels.surveys)) {
    // Ids derived from the prefix and site keep logins and customers' external ids of demo
    // centres living side by side apart.
    tag_ = absl::StrFormat(
        "%08x",
        static_cast<uint32_t>(StableHash(absl::StrCat(options.prefix, "\n", options.site)) >> 32));
    external_base_ = absl::StrCat("demo-", content.language, "-", tag_, "-s", options.seed);
  }

  absl::StatusOr<DemoCentre> Run() {
    centre_.language = content_.language;
    centre_.site = options_.site;
    Progress("skills", 0, 1);
    CC_RETURN_IF_ERROR(LoadSkills());
    CC_RETURN_IF_ERROR(LoadTeamsAndOperators());
    CC_RETURN_IF_ERROR(LoadQueues());
    CC_RETURN_IF_ERROR(LoadMemberships());
    CC_RETURN_IF_ERROR(LoadArticles());
    CC_RETURN_IF_ERROR(LoadPrecedents());
    CC_RETURN_IF_ERROR(LoadDirectory());
    CC_RETURN_IF_ERROR(LoadSurvey());
    CC_RETURN_IF_ERROR(LoadScorecard());
    CC_RETURN_IF_ERROR(LoadCustomers());
    FillQueues();
    return centre_;
  }

 private:
  void Progress(const std::string& what, int done, int total) {
    if (progress_) progress_(what, done, total);
  }

  std::string Named(const std::string& name) const { return options_.prefix + name; }

  // ---- skills -------------------------------------------------------------------------------

  absl::Status LoadSkills() {
    std::map<std::string, std::string> existing;  // display name -> name
    callsv1::ListSkillsRequest list;
    list.set_page_size(1000);
    do {
      callsv1::ListSkillsResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing skills",
          [&](auto* c, const auto& r, auto* o) { return admin_->ListSkills(c, r, o); }, list,
          &page));
      for (const auto& skill : page.skills()) existing[skill.display_name()] = skill.name();
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
    for (const demo::SkillText& text : content_.skills) {
      const std::string display = Named(text.name);
      auto it = existing.find(display);
      if (it != existing.end()) {
        skills_[text.key] = it->second;
        continue;
      }
      callsv1::CreateSkillRequest create;
      create.mutable_skill()->set_display_name(display);
      create.mutable_skill()->set_description(text.description);
      create.set_request_id(common::NewId());
      callsv1::Skill skill;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("creating skill \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return admin_->CreateSkill(c, r, o); }, create,
          &skill));
      skills_[text.key] = skill.name();
    }
    return absl::OkStatus();
  }

  // ---- teams, supervisors and operators -----------------------------------------------------

  std::vector<OperatorPlan> PlanOperators(size_t teams) {
    std::mt19937_64 rng(options_.seed * 0x9E3779B97F4A7C15ULL + 11);
    std::set<std::string> used;
    auto unique_name = [&](bool supervisor) {
      for (int attempt = 0;; ++attempt) {
        const Person person = RandomPerson(rng, content_);
        std::string name = absl::StrCat(person.given, " ", person.family);
        if (attempt > 50) absl::StrAppend(&name, " ", attempt);
        if (used.insert(name).second) return name;
        (void)supervisor;
      }
    };
    const std::string login_base =
        absl::StrCat("demo.", content_.language, ".", tag_, ".s", options_.seed);
    std::vector<OperatorPlan> plans;
    const std::vector<std::string> team_skill = {"cards", "credit", "tech_support"};
    const std::vector<std::string> team_second = {"deposits", "deposits", "cards"};
    for (size_t t = 0; t < teams; ++t) {
      OperatorPlan plan;
      plan.display_name = Named(unique_name(true));
      plan.login = absl::StrCat(login_base, ".sv", t + 1);
      plan.endpoint = absl::StrCat("sip:", 2001 + t, "@pbx.demo.local");
      plan.team = t;
      plan.supervisor = true;
      plan.skills = {
          {team_skill[t], 9}, {team_second[t], 7}, {"de_escalation", 10}, {"vip_service", 8}};
      plan.languages = {content_.language, content_.second_language};
      plans.push_back(std::move(plan));
    }
    for (int i = 0; i < options_.operators; ++i) {
      OperatorPlan plan;
      plan.display_name = Named(unique_name(false));
      plan.login = absl::StrCat(login_base, ".op", absl::StrFormat("%03d", i + 1));
      plan.endpoint = absl::StrCat("sip:", 1001 + i, "@pbx.demo.local");
      plan.team = static_cast<size_t>(i) % teams;
      switch (plan.team) {
        case 0:
          plan.skills = {{"cards", Between(rng, 4, 9)},
                         {"deposits", Between(rng, 3, 8)},
                         {"credit", Between(rng, 2, 4)}};
          break;
        case 1:
          plan.skills = {{"credit", Between(rng, 4, 9)},
                         {"cards", Between(rng, 2, 4)},
                         {"deposits", Between(rng, 2, 5)}};
          break;
        default:
          plan.skills = {{"tech_support", Between(rng, 4, 9)}, {"cards", Between(rng, 1, 3)}};
          break;
      }
      // The first operator of each team can take abusive callers, and a quarter of the rest.
      if (static_cast<size_t>(i) < teams) {
        plan.skills.push_back({"de_escalation", Between(rng, 6, 9)});
      } else if (Chance(rng, 0.25)) {
        plan.skills.push_back({"de_escalation", Between(rng, 3, 7)});
      }
      // The first two of each team serve the VIP line.
      if (static_cast<size_t>(i) < 2 * teams) {
        plan.skills.push_back({"vip_service", Between(rng, 6, 9)});
      }
      // Without a technical team (fewer than three operators) everyone answers technical calls.
      if (teams < 3 && plan.team != 2) plan.skills.push_back({"tech_support", Between(rng, 4, 6)});
      plan.languages = {content_.language};
      if (Chance(rng, 0.2)) {
        plan.skills.push_back({"language", Between(rng, 5, 9)});
        plan.languages.push_back(content_.second_language);
      }
      plans.push_back(std::move(plan));
    }
    return plans;
  }

  absl::Status LoadTeamsAndOperators() {
    const size_t teams =
        std::min(content_.teams.size(), static_cast<size_t>(std::max(1, options_.operators)));
    // Teams.
    std::map<std::string, callsv1::Team> existing_teams;
    callsv1::ListTeamsRequest list_teams;
    list_teams.set_site(options_.site);
    list_teams.set_page_size(1000);
    do {
      callsv1::ListTeamsResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing teams",
          [&](auto* c, const auto& r, auto* o) { return admin_->ListTeams(c, r, o); }, list_teams,
          &page));
      for (const auto& team : page.teams()) existing_teams[team.display_name()] = team;
      list_teams.set_page_token(page.next_page_token());
    } while (!list_teams.page_token().empty());
    std::vector<callsv1::Team> team_resources;
    for (size_t t = 0; t < teams; ++t) {
      const std::string display = Named(content_.teams[t].name);
      auto it = existing_teams.find(display);
      if (it != existing_teams.end()) {
        team_resources.push_back(it->second);
        continue;
      }
      callsv1::CreateTeamRequest create;
      create.mutable_team()->set_display_name(display);
      create.mutable_team()->set_site(options_.site);
      create.set_request_id(common::NewId());
      callsv1::Team team;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("creating team \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return admin_->CreateTeam(c, r, o); }, create,
          &team));
      team_resources.push_back(team);
    }

    // Operators and supervisors.
    std::map<std::string, callsv1::Operator> existing;
    callsv1::ListOperatorsRequest list;
    list.set_site(options_.site);
    list.set_page_size(1000);
    do {
      callsv1::ListOperatorsResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing operators",
          [&](auto* c, const auto& r, auto* o) { return admin_->ListOperators(c, r, o); }, list,
          &page));
      for (const auto& op : page.operators()) existing[op.display_name()] = op;
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());

    const std::vector<OperatorPlan> plans = PlanOperators(teams);
    int done = 0;
    for (const OperatorPlan& plan : plans) {
      callsv1::Operator op;
      auto it = existing.find(plan.display_name);
      if (it != existing.end()) {
        op = it->second;
      } else {
        callsv1::CreateOperatorRequest create;
        callsv1::Operator* o = create.mutable_operator_();
        o->set_display_name(plan.display_name);
        o->set_login(plan.login);
        o->set_role(plan.supervisor ? callsv1::OPERATOR_ROLE_SUPERVISOR
                                    : callsv1::OPERATOR_ROLE_OPERATOR);
        o->set_team(team_resources[plan.team].name());
        o->set_site(options_.site);
        o->set_endpoint(plan.endpoint);
        for (const auto& [key, level] : plan.skills) {
          auto* skill = o->add_skills();
          skill->set_skill(skills_.at(key));
          skill->set_level(level);
        }
        for (const std::string& language : plan.languages) o->add_languages(language);
        create.set_request_id(common::NewId());
        CC_RETURN_IF_ERROR(Call(
            absl::StrCat("creating operator \"", plan.display_name, "\" (login ", plan.login, ")"),
            [&](auto* c, const auto& r, auto* out) { return admin_->CreateOperator(c, r, out); },
            create, &op));
      }
      DemoOperator demo_operator;
      demo_operator.name = op.name();
      demo_operator.display_name = op.display_name();
      demo_operator.team = op.team().empty() ? team_resources[plan.team].name() : op.team();
      demo_operator.supervisor = plan.supervisor;
      centre_.operators.push_back(demo_operator);
      operator_plans_.push_back(plan);
      Progress("operators", ++done, static_cast<int>(plans.size()));
    }

    // Each team's supervisor receives its help requests.
    for (size_t t = 0; t < teams; ++t) {
      const std::string& supervisor = centre_.operators[t].name;
      const callsv1::Team& team = team_resources[t];
      if (std::find(team.supervisors().begin(), team.supervisors().end(), supervisor) !=
          team.supervisors().end()) {
        continue;
      }
      callsv1::UpdateTeamRequest update;
      update.mutable_team()->set_name(team.name());
      *update.mutable_team()->mutable_supervisors() = team.supervisors();
      update.mutable_team()->add_supervisors(supervisor);
      update.mutable_update_mask()->add_paths("supervisors");
      update.set_request_id(common::NewId());
      callsv1::Team updated;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("making ", supervisor, " the supervisor of team \"", team.display_name(),
                       "\""),
          [&](auto* c, const auto& r, auto* o) { return admin_->UpdateTeam(c, r, o); }, update,
          &updated));
    }
    return absl::OkStatus();
  }

  // ---- queues -------------------------------------------------------------------------------

  callsv1::Queue QueueConfig(const demo::QueueText& text) const {
    callsv1::Queue queue;
    queue.set_display_name(Named(text.name));
    queue.set_description(text.description);
    queue.set_site(options_.site);
    if (text.key == "credit") {
      queue.set_strategy(callsv1::QUEUE_STRATEGY_FEWEST_CALLS_TODAY);
    } else if (text.key == "tech") {
      queue.set_strategy(callsv1::QUEUE_STRATEGY_HIGHEST_SKILL);
    } else {
      queue.set_strategy(callsv1::QUEUE_STRATEGY_LONGEST_IDLE);
    }
    *queue.mutable_ring_timeout() = Seconds(15);
    *queue.mutable_wrap_up_time_limit() = Seconds(text.key == "vip" ? 180 : 120);
    queue.set_max_misses_before_not_ready(3);
    for (const demo::DispositionText& d : text.dispositions) {
      auto* code = queue.add_disposition_codes();
      code->set_code(d.code);
      code->set_label(d.label);
      switch (d.effect) {
        case demo::Effect::kDone:
          code->set_effect(callsv1::DISPOSITION_EFFECT_DONE);
          break;
        case demo::Effect::kRetry:
          code->set_effect(callsv1::DISPOSITION_EFFECT_RETRY);
          break;
        case demo::Effect::kCallback:
          code->set_effect(callsv1::DISPOSITION_EFFECT_CALLBACK);
          break;
        case demo::Effect::kDoNotCall:
          code->set_effect(callsv1::DISPOSITION_EFFECT_DO_NOT_CALL_AGAIN);
          break;
      }
    }
    *queue.mutable_service_level_threshold() = Seconds(20);
    queue.set_service_level_target_percent(text.key == "vip" ? 90 : 80);
    *queue.mutable_short_abandon_threshold() = Seconds(5);
    if (!text.outbound) {
      queue.set_de_escalation_skill(skills_.at("de_escalation"));
      queue.set_de_escalation_min_level(3);
    }
    auto require = [&](const std::string& key, int level) {
      auto* skill = queue.add_required_skills();
      skill->set_skill(skills_.at(key));
      skill->set_level(level);
    };
    if (text.key == "cards") require("cards", 1);
    if (text.key == "credit") require("credit", 1);
    if (text.key == "tech") require("tech_support", 3);
    if (text.key == "vip") require("vip_service", 5);
    if (text.key == "vip") queue.set_default_priority(5);
    if (text.key == "cards" || text.key == "credit") *queue.mutable_tier_wait() = Seconds(30);
    return queue;
  }

  absl::Status LoadQueues() {
    std::map<std::string, callsv1::Queue> existing;
    callsv1::ListQueuesRequest list;
    list.set_site(options_.site);
    list.set_page_size(1000);
    do {
      callsv1::ListQueuesResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing queues",
          [&](auto* c, const auto& r, auto* o) { return admin_->ListQueues(c, r, o); }, list,
          &page));
      for (const auto& queue : page.queues()) existing[queue.display_name()] = queue;
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
    for (const demo::QueueText& text : content_.queues) {
      const std::string display = Named(text.name);
      auto it = existing.find(display);
      if (it != existing.end()) {
        queues_.push_back(it->second);
        continue;
      }
      callsv1::CreateQueueRequest create;
      *create.mutable_queue() = QueueConfig(text);
      create.set_request_id(common::NewId());
      callsv1::Queue queue;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("creating queue \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return admin_->CreateQueue(c, r, o); }, create,
          &queue));
      queues_.push_back(queue);
    }
    return absl::OkStatus();
  }

  // Which operators serve which queue, and in which tier.
  std::vector<std::pair<size_t, int>> Members(const demo::QueueText& text) const {
    std::vector<std::pair<size_t, int>> members;  // index into centre_.operators, tier
    for (size_t i = 0; i < operator_plans_.size(); ++i) {
      const OperatorPlan& plan = operator_plans_[i];
      if (plan.supervisor) continue;
      auto has = [&](const std::string& key) {
        return std::any_of(plan.skills.begin(), plan.skills.end(),
                           [&](const auto& skill) { return skill.first == key; });
      };
      int tier = 0;
      if (text.key == "general") {
        tier = 1;
      } else if (text.key == "cards") {
        tier = plan.team == 0 ? 1 : plan.team == 1 ? 2 : 0;
      } else if (text.key == "credit") {
        tier = plan.team == 1 ? 1 : plan.team == 0 ? 2 : 0;
      } else if (text.key == "tech") {
        tier = plan.team == 2 || has("tech_support") ? 1 : 0;
      } else if (text.key == "vip") {
        tier = has("vip_service") ? 1 : 0;
      } else if (text.key == "reminders") {
        tier = plan.team == 1 || operator_plans_.size() <= 2 ? 1 : 0;
      }
      if (tier > 0) members.push_back({i, tier});
    }
    return members;
  }

  absl::Status LoadMemberships() {
    for (size_t q = 0; q < queues_.size(); ++q) {
      const callsv1::Queue& queue = queues_[q];
      std::set<std::string> present;
      callsv1::ListQueueMembershipsRequest list;
      list.set_parent(queue.name());
      list.set_page_size(1000);
      do {
        callsv1::ListQueueMembershipsResponse page;
        CC_RETURN_IF_ERROR(Call(
            absl::StrCat("listing the memberships of queue \"", queue.display_name(), "\""),
            [&](auto* c, const auto& r, auto* o) { return admin_->ListQueueMemberships(c, r, o); },
            list, &page));
        for (const auto& membership : page.memberships()) present.insert(membership.operator_());
        list.set_page_token(page.next_page_token());
      } while (!list.page_token().empty());
      for (const auto& [index, tier] : Members(content_.queues[q])) {
        const DemoOperator& op = centre_.operators[index];
        if (present.count(op.name) > 0) continue;
        callsv1::CreateQueueMembershipRequest create;
        create.set_parent(queue.name());
        create.mutable_membership()->set_operator_(op.name);
        create.mutable_membership()->set_tier(tier);
        // Specialists of the technical team come last among the generalists.
        if (content_.queues[q].key == "general" && operator_plans_[index].team == 2) {
          create.mutable_membership()->set_penalty(10);
        }
        create.set_request_id(common::NewId());
        callsv1::QueueMembership membership;
        CC_RETURN_IF_ERROR(Call(
            absl::StrCat("adding ", op.display_name, " to queue \"", queue.display_name(), "\""),
            [&](auto* c, const auto& r, auto* o) { return admin_->CreateQueueMembership(c, r, o); },
            create, &membership));
      }
    }
    return absl::OkStatus();
  }

  // ---- knowledge ----------------------------------------------------------------------------

  kv1::Language KnowledgeLanguage() const {
    return content_.language == "ru" ? kv1::LANGUAGE_RU : kv1::LANGUAGE_EN;
  }

  absl::Status LoadArticles() {
    const int total = static_cast<int>(content_.articles.size());
    Progress("articles", 0, total);
    auto context = common::ContextWithTimeout(absl::Minutes(5));
    auto stream = articles_->ImportArticles(context.get());
    int done = 0;
    for (int start = 0; start < total; start += kArticleItemsPerMessage) {
      kv1::ImportArticlesRequest request;
      if (start == 0) {
        request.mutable_options()->set_mode(kv1::IMPORT_MODE_CREATE_ONLY);
        request.mutable_options()->set_change_note("demo centre");
      }
      const int end = std::min(total, start + kArticleItemsPerMessage);
      for (int i = start; i < end; ++i) {
        const demo::ArticleText& text = content_.articles[i];
        auto* item = request.add_items();
        item->set_item_number(i + 1);
        kv1::Article* article = item->mutable_article();
        article->set_title(text.title);
        article->set_summary(text.summary);
        article->set_body(text.body);
        article->set_product(text.product);
        article->set_category(text.category);
        for (const std::string& tag : text.tags) article->add_tags(tag);
        article->set_language(KnowledgeLanguage());
        article->set_state(kv1::ARTICLE_STATE_PUBLISHED);
        article->mutable_author()->set_name("services/cc-sim");
        article->mutable_author()->set_display_name("demo centre");
        article->set_external_id(absl::StrCat("demo-", content_.language, "-article-", text.key));
      }
      kv1::ImportArticlesResponse response;
      if (!stream->Write(request) || !stream->Read(&response)) break;
      for (const auto& result : response.results()) {
        if (result.outcome() == kv1::IMPORT_OUTCOME_FAILED) {
          return absl::InternalError(absl::StrCat(
              "importing article \"", content_.articles[result.item_number() - 1].title,
              "\": ", result.error().field(), ": ", result.error().message()));
        }
        articles_by_product_[content_.articles[result.item_number() - 1].product].push_back(
            result.article());
        ++done;
      }
      Progress("articles", done, total);
    }
    stream->WritesDone();
    kv1::ImportArticlesResponse last;
    while (stream->Read(&last)) {
    }
    CC_RETURN_IF_ERROR(
        common::Annotate(common::FromGrpcStatus(stream->Finish()), "importing articles"));
    if (done != total) {
      return absl::InternalError(
          absl::StrCat("importing articles: ", done, " of ", total, " answered"));
    }
    centre_.articles = done;
    return absl::OkStatus();
  }

  absl::Status LoadPrecedents() {
    std::map<std::string, std::string> existing;  // problem -> name
    kv1::ListPrecedentsRequest list;
    list.set_page_size(1000);
    std::set<std::string> products;
    for (const auto& text : content_.precedents) products.insert(text.product);
    for (const std::string& product : products) list.add_products(product);
    list.add_languages(KnowledgeLanguage());
    do {
      kv1::ListPrecedentsResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing precedents",
          [&](auto* c, const auto& r, auto* o) { return precedents_->ListPrecedents(c, r, o); },
          list, &page));
      for (const auto& precedent : page.precedents()) {
        existing.emplace(precedent.problem(), precedent.name());
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
    const int total = static_cast<int>(content_.precedents.size());
    int done = 0;
    for (const demo::PrecedentText& text : content_.precedents) {
      std::string name;
      auto it = existing.find(text.problem);
      if (it != existing.end()) {
        name = it->second;
      } else {
        kv1::CreatePrecedentRequest create;
        kv1::Precedent* p = create.mutable_precedent();
        p->set_problem(text.problem);
        p->set_solution(text.solution);
        p->set_product(text.product);
        for (const std::string& tag : text.tags) p->add_tags(tag);
        p->set_outcome(text.outcome == "workaround"  ? kv1::PRECEDENT_OUTCOME_WORKAROUND
                       : text.outcome == "escalated" ? kv1::PRECEDENT_OUTCOME_ESCALATED
                                                     : kv1::PRECEDENT_OUTCOME_RESOLVED);
        p->set_language(KnowledgeLanguage());
        const auto& related = articles_by_product_[text.product];
        for (size_t i = 0; i < related.size() && i < 2; ++i) p->add_related_articles(related[i]);
        p->mutable_author()->set_name("services/cc-sim");
        p->mutable_author()->set_display_name("demo centre");
        create.set_request_id(common::NewId());
        kv1::Precedent created;
        CC_RETURN_IF_ERROR(Call(
            absl::StrCat("creating precedent \"", text.problem, "\""),
            [&](auto* c, const auto& r, auto* o) { return precedents_->CreatePrecedent(c, r, o); },
            create, &created));
        name = created.name();
      }
      precedents_by_product_[text.product].push_back(name);
      Progress("precedents", ++done, total);
    }
    centre_.precedents = done;
    return absl::OkStatus();
  }

  absl::Status LoadDirectory() {
    const int total = static_cast<int>(content_.organisations.size());
    Progress("directory", 0, total);
    auto context = common::ContextWithTimeout(absl::Minutes(5));
    auto stream = directory_->ImportDirectoryEntries(context.get());
    int done = 0;
    for (int start = 0; start < total; start += kDirectoryItemsPerMessage) {
      kv1::ImportDirectoryEntriesRequest request;
      if (start == 0) {
        request.mutable_options()->set_mode(kv1::IMPORT_MODE_CREATE_ONLY);
        request.mutable_options()->set_region(content_.country_code == "7" ? "RU" : "US");
      }
      const int end = std::min(total, start + kDirectoryItemsPerMessage);
      for (int i = start; i < end; ++i) {
        const demo::OrganisationText& text = content_.organisations[i];
        auto* item = request.add_items();
        item->set_item_number(i + 1);
        kv1::DirectoryEntry* entry = item->mutable_entry();
        entry->set_display_name(text.name);
        for (const std::string& alt : text.alternative_names) entry->add_alternative_names(alt);
        entry->set_category(static_cast<kv1::OrganisationCategory>(text.category));
        entry->set_subcategory(text.subcategory);
        for (const demo::PhoneText& phone : text.phones) {
          auto* p = entry->add_phones();
          p->mutable_number()->set_raw(phone.raw);
          p->set_label(phone.label);
          p->set_short_number(phone.short_number);
        }
        entry->set_address(text.address);
        entry->set_city(content_.directory_city);
        entry->set_website(text.website);
        entry->set_notes(text.notes);
        if (text.hours.days > 0) {
          auto* hours = entry->mutable_opening_hours();
          hours->set_time_zone(content_.directory_time_zone);
          for (int day = 1; day <= text.hours.days; ++day) {
            auto* window = hours->add_windows();
            window->set_day(static_cast<commonv1::DayOfWeek>(day));
            window->set_start_minute(text.hours.open_hour * 60);
            window->set_end_minute(text.hours.close_hour * 60);
          }
        }
        entry->set_external_id(absl::StrCat("demo-", content_.language, "-org-", i + 1));
      }
      kv1::ImportDirectoryEntriesResponse response;
      if (!stream->Write(request) || !stream->Read(&response)) break;
      for (const auto& result : response.results()) {
        if (result.outcome() == kv1::IMPORT_OUTCOME_FAILED) {
          return absl::InternalError(absl::StrCat(
              "importing directory entry \"", content_.organisations[result.item_number() - 1].name,
              "\": ", result.error().field(), ": ", result.error().message()));
        }
        ++done;
      }
      Progress("directory", done, total);
    }
    stream->WritesDone();
    kv1::ImportDirectoryEntriesResponse last;
    while (stream->Read(&last)) {
    }
    CC_RETURN_IF_ERROR(
        common::Annotate(common::FromGrpcStatus(stream->Finish()), "importing directory entries"));
    if (done != total) {
      return absl::InternalError(
          absl::StrCat("importing directory entries: ", done, " of ", total, " answered"));
    }
    centre_.directory_entries = done;
    return absl::OkStatus();
  }

  // ---- surveys ------------------------------------------------------------------------------

  sv1::SurveyDefinition SurveyDefinition() const {
    const demo::SurveyText& text = content_.survey;
    sv1::SurveyDefinition definition;
    definition.set_title(text.title);
    definition.set_description(text.description);
    definition.set_language(content_.language);
    definition.set_intro_text(text.intro);
    definition.set_closing_text(text.closing);
    definition.add_channels(sv1::SURVEY_CHANNEL_KEYPAD);
    definition.add_channels(sv1::SURVEY_CHANNEL_OPERATOR);
    definition.add_channels(sv1::SURVEY_CHANNEL_LINK);
    auto* csat = definition.add_questions();
    csat->set_question_id("csat");
    csat->set_text(text.csat_text);
    csat->set_required(true);
    csat->mutable_rating()->set_low_label(text.csat_low);
    csat->mutable_rating()->set_high_label(text.csat_high);
    csat->mutable_rating()->set_headline_csat(true);
    auto* nps = definition.add_questions();
    nps->set_question_id("nps");
    nps->set_text(text.nps_text);
    nps->mutable_nps()->set_low_label(text.nps_low);
    nps->mutable_nps()->set_high_label(text.nps_high);
    nps->mutable_nps()->set_headline_nps(true);
    auto* resolved = definition.add_questions();
    resolved->set_question_id("resolved");
    resolved->set_text(text.resolved_text);
    resolved->mutable_yes_no()->set_yes_label(text.resolved_yes);
    resolved->mutable_yes_no()->set_no_label(text.resolved_no);
    auto* comment = definition.add_questions();
    comment->set_question_id("comment");
    comment->set_text(text.comment_text);
    comment->mutable_free_text()->set_max_length(1000);
    comment->mutable_free_text()->set_multiline(true);
    return definition;
  }

  absl::Status LoadSurvey() {
    const std::string display = Named(content_.survey.display_name);
    sv1::Survey survey;
    sv1::ListSurveysRequest list;
    list.set_text_query(display);
    list.set_page_size(100);
    do {
      sv1::ListSurveysResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing surveys",
          [&](auto* c, const auto& r, auto* o) { return surveys_->ListSurveys(c, r, o); }, list,
          &page));
      for (const auto& s : page.surveys()) {
        if (s.display_name() == display && survey.name().empty()) survey = s;
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty() && survey.name().empty());
    if (survey.name().empty()) {
      sv1::CreateSurveyRequest create;
      create.set_request_id(common::NewId());
      create.mutable_survey()->set_display_name(display);
      *create.mutable_survey()->mutable_draft() = SurveyDefinition();
      (*create.mutable_survey()->mutable_labels())["purpose"] = "post-call";
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("creating survey \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return surveys_->CreateSurvey(c, r, o); }, create,
          &survey));
    }
    if (survey.latest_version() == 0) {
      sv1::PublishSurveyRequest publish;
      publish.set_request_id(common::NewId());
      publish.set_name(survey.name());
      publish.set_release_note("demo centre");
      sv1::SurveyVersion version;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("publishing survey \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return surveys_->PublishSurvey(c, r, o); },
          publish, &version));
    }
    centre_.post_call_survey = survey.name();

    // KEYPAD post-call surveys on every inbound queue.
    for (size_t q = 0; q < queues_.size(); ++q) {
      const demo::QueueText& text = content_.queues[q];
      if (text.outbound) continue;
      const std::string queue_id = queues_[q].name().substr(queues_[q].name().find('/') + 1);
      const std::string settings_name = absl::StrCat("postCallSurveySettings/", queue_id);
      const double sampling = text.key == "vip" ? 0.5 : text.key == "general" ? 0.3 : 0.4;
      sv1::GetPostCallSurveySettingsRequest get;
      get.set_name(settings_name);
      sv1::PostCallSurveySettings current;
      absl::Status got = Call(
          absl::StrCat("reading the post-call survey settings of queue \"",
                       queues_[q].display_name(), "\""),
          [&](auto* c, const auto& r, auto* o) {
            return campaigns_->GetPostCallSurveySettings(c, r, o);
          },
          get, &current);
      if (!got.ok() && !absl::IsNotFound(got)) return got;
      if (got.ok() && current.enabled() && current.survey() == survey.name() &&
          current.channel() == sv1::SURVEY_CHANNEL_KEYPAD) {
        continue;
      }
      sv1::UpdatePostCallSurveySettingsRequest update;
      update.set_request_id(common::NewId());
      sv1::PostCallSurveySettings* settings = update.mutable_settings();
      settings->set_name(settings_name);
      settings->set_enabled(true);
      settings->set_survey(survey.name());
      settings->set_channel(sv1::SURVEY_CHANNEL_KEYPAD);
      settings->set_sampling_rate(sampling);
      // No minimum talk time: the simulator compresses time, and the surveys service measures
      // talk time on the wall clock.
      settings->add_excluded_dispositions("wrong_number");
      settings->add_excluded_dispositions("abusive_caller");
      settings->set_include_unidentified_callers(true);
      sv1::PostCallSurveySettings stored;
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("enabling post-call surveys on queue \"", queues_[q].display_name(), "\""),
          [&](auto* c, const auto& r, auto* o) {
            return campaigns_->UpdatePostCallSurveySettings(c, r, o);
          },
          update, &stored));
    }
    return absl::OkStatus();
  }

  absl::Status LoadScorecard() {
    const std::string display = Named(content_.scorecard.display_name);
    sv1::Scorecard scorecard;
    sv1::ListScorecardsRequest list;
    list.set_page_size(1000);
    do {
      sv1::ListScorecardsResponse page;
      CC_RETURN_IF_ERROR(Call(
          "listing scorecards",
          [&](auto* c, const auto& r, auto* o) { return quality_->ListScorecards(c, r, o); }, list,
          &page));
      for (const auto& s : page.scorecards()) {
        if (s.display_name() == display && scorecard.name().empty()) scorecard = s;
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty() && scorecard.name().empty());
    if (scorecard.name().empty()) {
      sv1::CreateScorecardRequest create;
      create.set_request_id(common::NewId());
      sv1::Scorecard* s = create.mutable_scorecard();
      s->set_display_name(display);
      s->set_description(content_.scorecard.description);
      s->set_passing_score_percent(80);
      s->set_critical_failure_zeroes_score(true);
      for (const demo::CriterionText& text : content_.scorecard.criteria) {
        sv1::Criterion* criterion = s->add_criteria();
        criterion->set_criterion_id(text.id);
        criterion->set_display_name(text.name);
        criterion->set_description(text.description);
        const std::map<std::string, sv1::StandardCriterion> standard = {
            {"politeness", sv1::STANDARD_CRITERION_POLITENESS},
            {"attentiveness", sv1::STANDARD_CRITERION_ATTENTIVENESS},
            {"clear_speech", sv1::STANDARD_CRITERION_CLEAR_SPEECH},
            {"product_knowledge", sv1::STANDARD_CRITERION_PRODUCT_KNOWLEDGE},
            {"composure", sv1::STANDARD_CRITERION_COMPOSURE},
            {"resolution", sv1::STANDARD_CRITERION_RESOLUTION},
        };
        auto it = standard.find(text.id);
        criterion->set_standard(it == standard.end() ? sv1::STANDARD_CRITERION_CUSTOM : it->second);
        criterion->set_weight(text.id == "resolution"          ? 2
                              : text.id == "product_knowledge" ? 1.5
                                                               : 1);
        criterion->set_scale_type(sv1::CRITERION_SCALE_TYPE_POINTS);
        criterion->set_min_score(0);
        criterion->set_max_score(5);
        criterion->set_passing_score(3);
        // Rudeness fails the whole evaluation; composure is scored only with difficult callers.
        criterion->set_critical(text.id == "politeness");
        criterion->set_comment_required_on_fail(text.id == "politeness");
        criterion->set_allow_not_applicable(text.id == "composure");
      }
      CC_RETURN_IF_ERROR(Call(
          absl::StrCat("creating scorecard \"", display, "\""),
          [&](auto* c, const auto& r, auto* o) { return quality_->CreateScorecard(c, r, o); },
          create, &scorecard));
    }
    centre_.scorecard = scorecard.name();
    for (const auto& criterion : scorecard.criteria()) {
      centre_.scorecard_criteria.push_back(criterion.criterion_id());
    }
    return absl::OkStatus();
  }

  // ---- customers ----------------------------------------------------------------------------

  struct CustomerPlan {
    custv1::CustomerImportRow row;
    std::string phone_as_typed;
    bool vip = false;
    bool abusive = false;
  };

  std::vector<CustomerPlan> PlanCustomers() const {
    std::mt19937_64 rng(options_.seed * 0x9E3779B97F4A7C15ULL + 23);
    // Numbers depend on the prefix too, so that demo centres side by side never claim one
    // number (a number belongs to at most one card).
    std::mt19937_64 numbers(
        options_.seed ^ StableHash(absl::StrCat("phones\n", options_.prefix, "\n", options_.site)));
    int city_weights = 0;
    for (const auto& city : content_.cities) city_weights += city.weight;
    std::set<std::string> used_numbers;
    auto new_number = [&](const std::string& area) {
      for (;;) {
        std::string subscriber = Subscriber(numbers);
        if (used_numbers.insert(area + subscriber).second) return subscriber;
      }
    };
    const int n = options_.customers;
    // At least one VIP and one abusive caller in any centre of 20 customers or more.
    const int first_vip = n >= 20 ? 7 : -1;
    const int first_abusive = n >= 20 ? 13 : -1;
    std::vector<CustomerPlan> plans;
    plans.reserve(n);
    for (int i = 0; i < n; ++i) {
      CustomerPlan plan;
      plan.row.set_row_number(i + 1);
      custv1::Customer* card = plan.row.mutable_customer();
      const Person person = RandomPerson(rng, content_);
      card->set_given_name(person.given);
      card->set_family_name(person.family);
      card->set_middle_name(person.middle);
      int pick = Between(rng, 1, city_weights);
      const demo::CityText* city = &content_.cities.front();
      for (const auto& c : content_.cities) {
        pick -= c.weight;
        if (pick <= 0) {
          city = &c;
          break;
        }
      }
      card->set_time_zone(city->time_zone);
      // Callable at any hour: the simulator plays a day in minutes of the wall clock, which the
      // services' calling windows read, so the default 09:00-21:00 would stop a run at night.
      for (int day = 1; day <= 7; ++day) {
        auto* window = card->mutable_calling_window()->add_windows();
        window->set_day(static_cast<commonv1::DayOfWeek>(day));
        window->set_start_minute(0);
        window->set_end_minute(24 * 60);
      }
      card->set_preferred_language(Chance(rng, 0.03) ? content_.second_language
                                                     : content_.language);
      // Phones: mostly a mobile first, sometimes a home or work number as well.
      const int phones = Chance(rng, 0.3) ? (Chance(rng, 0.15) ? 3 : 2) : 1;
      for (int p = 0; p < phones; ++p) {
        custv1::PhoneKind kind;
        std::string area;
        if (p == 0) {
          kind = Chance(rng, 0.8) ? custv1::PHONE_KIND_MOBILE : custv1::PHONE_KIND_HOME;
        } else {
          kind = p == 1 ? custv1::PHONE_KIND_WORK : custv1::PHONE_KIND_HOME;
        }
        area = kind == custv1::PHONE_KIND_MOBILE ? Pick(rng, content_.mobile_codes)
                                                 : Pick(rng, city->area_codes);
        const std::string subscriber = new_number(area);
        const std::string typed = TypedPhone(rng, content_, area, subscriber);
        auto* phone = card->add_phones();
        phone->mutable_number()->set_raw(typed);
        phone->set_kind(kind);
        if (kind == custv1::PHONE_KIND_WORK && Chance(rng, 0.3)) {
          phone->set_extension(absl::StrCat(Between(rng, 100, 999)));
        }
        if (p == 0) plan.phone_as_typed = typed;
      }
      if (Chance(rng, 0.6)) {
        std::string local =
            absl::StrCat(Transliterate(person.given), ".", Transliterate(person.family));
        if (Chance(rng, 0.5)) absl::StrAppend(&local, Between(rng, 1, 99));
        card->add_emails()->set_address(
            absl::StrCat(local, "@", Pick(rng, content_.email_domains)));
      }
      const int tags = Between(rng, 0, 2);
      for (int t = 0; t < tags; ++t) card->add_tags(Pick(rng, content_.customer_tags));
      (*card->mutable_attributes())["client_since"] = absl::StrCat(Between(rng, 2008, 2026));
      card->set_external_id(absl::StrCat(external_base_, "-customer-", i + 1));
      plan.vip = i == first_vip || Chance(rng, 0.05);
      plan.abusive = i == first_abusive || (!plan.vip && Chance(rng, 0.02));
      if (plan.vip) {
        auto* flag = plan.row.add_flags();
        flag->set_kind(custv1::FLAG_KIND_VIP);
        flag->set_value(true);
        flag->set_reason(Pick(rng, content_.vip_reasons));
        card->add_tags(content_.customer_tags.back());
      }
      if (plan.abusive) {
        auto* flag = plan.row.add_flags();
        flag->set_kind(custv1::FLAG_KIND_ABUSIVE);
        flag->set_value(true);
        flag->set_reason(Pick(rng, content_.abusive_reasons));
      }
      plans.push_back(std::move(plan));
    }
    return plans;
  }

  absl::Status LoadCustomers() {
    const std::vector<CustomerPlan> plans = PlanCustomers();
    const int total = static_cast<int>(plans.size());
    Progress("customers", 0, total);
    if (total == 0) return absl::OkStatus();
    auto context = common::ContextWithTimeout(absl::Minutes(30));
    auto stream = customers_->ImportCustomers(context.get());
    int done = 0;
    int failed = 0;
    std::string first_failure;
    for (int start = 0; start < total; start += kCustomerRowsPerMessage) {
      custv1::ImportCustomersRequest request;
      if (start == 0) {
        request.mutable_options()->set_mode(custv1::IMPORT_MODE_CREATE_ONLY);
        request.mutable_options()->set_match(custv1::IMPORT_MATCH_EXTERNAL_ID);
      }
      const int end = std::min(total, start + kCustomerRowsPerMessage);
      for (int i = start; i < end; ++i) *request.add_rows() = plans[i].row;
      custv1::ImportCustomersResponse response;
      if (!stream->Write(request) || !stream->Read(&response)) break;
      for (const auto& result : response.results()) {
        const CustomerPlan& plan = plans[result.row_number() - 1];
        ++done;
        if (result.outcome() == custv1::IMPORT_OUTCOME_FAILED || result.customer().empty()) {
          // A number already on a card that is not ours: leave the row out.
          if (first_failure.empty()) {
            first_failure =
                absl::StrCat("row ", result.row_number(), " (", plan.phone_as_typed,
                             "): ", result.error().field(), ": ", result.error().message());
          }
          ++failed;
          continue;
        }
        DemoCustomer customer;
        customer.name = result.customer();
        customer.phone_as_typed = plan.phone_as_typed;
        customer.vip = plan.vip;
        customer.abusive = plan.abusive;
        centre_.customers.push_back(std::move(customer));
      }
      Progress("customers", done, total);
    }
    stream->WritesDone();
    custv1::ImportCustomersResponse last;
    while (stream->Read(&last)) {
    }
    CC_RETURN_IF_ERROR(
        common::Annotate(common::FromGrpcStatus(stream->Finish()), "importing customers"));
    if (done != total) {
      return absl::InternalError(
          absl::StrCat("importing customers: ", done, " of ", total, " rows answered"));
    }
    // A few rows may collide with cards of other data; most failing means something is wrong.
    if (failed > total / 10) {
      return absl::FailedPreconditionError(absl::StrCat(
          "importing customers: ", failed, " of ", total, " rows failed, first: ", first_failure));
    }
    return absl::OkStatus();
  }

  // ---- what the simulator needs of each queue -----------------------------------------------

  void FillQueues() {
    for (size_t q = 0; q < queues_.size(); ++q) {
      const demo::QueueText& text = content_.queues[q];
      const callsv1::Queue& queue = queues_[q];
      DemoQueue demo_queue;
      demo_queue.name = queue.name();
      demo_queue.display_name = queue.display_name();
      demo_queue.traffic_share = text.traffic_share;
      demo_queue.mean_talk_time = absl::Seconds(text.talk_seconds);
      demo_queue.mean_wrap_up_time = absl::Seconds(text.wrap_up_seconds);
      demo_queue.service_level_threshold =
          queue.has_service_level_threshold()
              ? absl::Seconds(queue.service_level_threshold().seconds())
              : absl::Seconds(20);
      for (const auto& code : queue.disposition_codes()) {
        if (!code.disabled()) demo_queue.dispositions.push_back(code.code());
      }
      demo_queue.topics = text.topics;
      demo_queue.notes = text.notes;
      demo_queue.search_queries = text.search_queries;
      for (const std::string& product : text.products) {
        auto it = precedents_by_product_.find(product);
        if (it == precedents_by_product_.end()) continue;
        demo_queue.precedents.insert(demo_queue.precedents.end(), it->second.begin(),
                                     it->second.end());
      }
      demo_queue.outbound = text.outbound;
      centre_.queues.push_back(std::move(demo_queue));
    }
  }

  const DemoOptions& options_;
  const DemoProgress& progress_;
  const Content& content_;
  std::unique_ptr<callsv1::CallsAdminService::Stub> admin_;
  std::unique_ptr<custv1::CustomersService::Stub> customers_;
  std::unique_ptr<kv1::ArticlesService::Stub> articles_;
  std::unique_ptr<kv1::PrecedentsService::Stub> precedents_;
  std::unique_ptr<kv1::DirectoryService::Stub> directory_;
  std::unique_ptr<sv1::SurveyService::Stub> surveys_;
  std::unique_ptr<sv1::CampaignService::Stub> campaigns_;
  std::unique_ptr<sv1::QualityService::Stub> quality_;

  std::string tag_;
  std::string external_base_;
  std::map<std::string, std::string> skills_;  // key -> "skills/{id}"
  std::vector<OperatorPlan> operator_plans_;   // parallel to centre_.operators
  std::vector<callsv1::Queue> queues_;         // parallel to content_.queues
  std::map<std::string, std::vector<std::string>> articles_by_product_;
  std::map<std::string, std::vector<std::string>> precedents_by_product_;
  DemoCentre centre_;
};

}  // namespace

absl::StatusOr<DemoCentre> LoadDemoCentre(const DemoOptions& options, const SuiteChannels& channels,
                                          const DemoProgress& progress) {
  if (options.language != "ru" && options.language != "en") {
    return absl::InvalidArgumentError(
        absl::StrCat("language: \"", options.language, "\" is neither \"ru\" nor \"en\""));
  }
  if (options.operators < 1 || options.operators > 5000) {
    return absl::InvalidArgumentError("operators: must be 1..5000");
  }
  if (options.customers < 0 || options.customers > 1000000) {
    return absl::InvalidArgumentError("customers: must be 0..1000000");
  }
  if (options.site.empty()) return absl::InvalidArgumentError("site: required");
  if (!channels.calls || !channels.customers || !channels.surveys || !channels.knowledge) {
    return absl::InvalidArgumentError(
        "channels: the calls, customers, surveys and knowledge channels are required");
  }
  const Content& content =
      options.language == "ru" ? demo::RussianContent() : demo::EnglishContent();
  Loader loader(options, channels, progress, content);
  return loader.Run();
}

}  // namespace contactcentre::sim
