// The texts of the demo centre (tools/sim/demo_data.h): constant tables of one language each,
// compiled into the binary so that loading needs no file of the checkout. demo_data.cc turns
// them into resources; the seed only picks among them (names, phones, skills, tags).
#pragma once

#include <string>
#include <vector>

namespace contactcentre::sim::demo {

// What a disposition does to an outbound entry (mapped onto calls.v1.DispositionEffect).
enum class Effect { kDone, kRetry, kCallback, kDoNotCall };

struct DispositionText {
  std::string code;  // [a-z0-9_]
  std::string label;
  Effect effect = Effect::kDone;
};

// Skills by key; the keys used by the loader: cards, credit, deposits, tech_support,
// de_escalation, language (a second language), vip_service.
struct SkillText {
  std::string key;
  std::string name;
  std::string description;
};

// Teams by key: cards (cards and deposits), credit (credit and payments), tech (technical
// support). Operators are spread over the teams in this order.
struct TeamText {
  std::string key;
  std::string name;
};

// Queues by key: general, cards, credit, tech, vip (inbound) and reminders (outbound).
struct QueueText {
  std::string key;
  std::string name;
  std::string description;
  bool outbound = false;
  double traffic_share = 0;  // of the inbound calls; 0 for the outbound queue
  int talk_seconds = 0;      // mean talk time
  int wrap_up_seconds = 0;   // mean wrap-up time
  std::vector<DispositionText> dispositions;
  std::vector<std::string> topics;
  std::vector<std::string> notes;
  std::vector<std::string> search_queries;  // must find published articles of the content
  std::vector<std::string> products;        // precedents of these products serve the queue
};

struct ArticleText {
  std::string key;  // unique within the content; part of the article's external id
  std::string product;
  std::string category;
  std::vector<std::string> tags;
  std::string title;
  std::string summary;
  std::string body;  // Markdown
};

struct PrecedentText {
  std::string product;
  std::vector<std::string> tags;
  std::string outcome;  // resolved, workaround, escalated
  std::string problem;
  std::string solution;
};

// Opening hours: days 0 means none given (always open, e.g. emergency numbers), 5 Monday to
// Friday, 6 Monday to Saturday, 7 every day.
struct HoursText {
  int days = 0;
  int open_hour = 0;
  int close_hour = 24;
};

struct PhoneText {
  std::string raw;
  std::string label;
  bool short_number = false;
};

struct OrganisationText {
  std::string name;
  std::vector<std::string> alternative_names;
  int category = 0;  // knowledge.v1.OrganisationCategory
  std::string subcategory;
  std::vector<PhoneText> phones;
  std::string address;
  std::string website;
  HoursText hours;
  std::string notes;
};

struct CityText {
  std::string name;
  std::string time_zone;
  std::vector<std::string> area_codes;  // three digits after the country code
  int weight = 1;                       // relative share of customers
};

struct SurveyText {
  std::string display_name;
  std::string title;
  std::string description;
  std::string intro;
  std::string closing;
  std::string csat_text, csat_low, csat_high;
  std::string nps_text, nps_low, nps_high;
  std::string resolved_text, resolved_yes, resolved_no;
  std::string comment_text;
};

struct CriterionText {
  std::string id;  // politeness, attentiveness, clear_speech, product_knowledge, composure,
                   // resolution
  std::string name;
  std::string description;
};

struct ScorecardText {
  std::string display_name;
  std::string description;
  std::vector<CriterionText> criteria;
};

struct Content {
  std::string language;         // "ru" or "en"
  std::string second_language;  // the language of the "language" skill, e.g. "en"
  std::string country_code;     // "7" or "1"
  std::vector<SkillText> skills;
  std::vector<TeamText> teams;
  std::vector<QueueText> queues;
  // Names: male and female given names; family names in the male and female form (parallel);
  // patronymics in the male and female form (parallel; empty for English).
  std::vector<std::string> male_given, female_given;
  std::vector<std::string> male_family, female_family;
  std::vector<std::string> male_patronymic, female_patronymic;
  std::vector<CityText> cities;
  std::vector<std::string> mobile_codes;  // three digits after the country code
  std::vector<std::string> email_domains;
  std::vector<std::string> customer_tags;
  std::vector<std::string> abusive_reasons;
  std::vector<std::string> vip_reasons;
  std::vector<ArticleText> articles;
  std::vector<PrecedentText> precedents;
  std::string directory_city;
  std::string directory_time_zone;
  std::vector<OrganisationText> organisations;
  SurveyText survey;
  ScorecardText scorecard;
};

const Content& RussianContent();
const Content& EnglishContent();

}  // namespace contactcentre::sim::demo
