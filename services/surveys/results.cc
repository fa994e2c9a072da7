// GetSurveyResults and ExportSurveyResults: one scan of the selected responses in id order
// (keyset pages inside one REPEATABLE READ transaction, so every page reads the same snapshot),
// aggregated in this process. Whether a question was shown depends on each response's answers
// and its version's display conditions, which SQL cannot evaluate; the scan reads only the
// columns results need and each response's answers.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/pg_util.h"
#include "services/surveys/survey_logic.h"
#include "services/surveys/survey_store.h"

namespace contactcentre::surveys {
namespace {

constexpr int kMaxGroups = 10000;

// The selection of a ResultsFilter as the fixed parameters of kScanSql.
struct Selection {
  std::string survey_id;
  int64_t start_micros = 0;
  int64_t end_micros = 253402300799000000;
  std::vector<std::string> versions;
  std::vector<std::string> queues;
  std::vector<std::string> operators;
  std::vector<std::string> campaigns;
  std::vector<std::string> channels;
};

// $1 survey, $2-$3 period, $4 versions, $5 queues, $6 operators, $7 campaigns, $8 channels,
// $9 the last id of the previous page, $10 the page size.
// Results read only the answers (`answers`, or `data` for rows written before it existed);
// exports the whole response.
constexpr char kScanSql[] =
    "SELECT version, CASE WHEN state = 1 AND expire_time < now() THEN 3 ELSE state END, "
    "channel, (extract(epoch FROM result_time) * 1e6)::bigint, %s, id, queue, operator, "
    "coalesce(campaign_id, '') FROM responses "
    "WHERE survey_id = $1 AND result_time >= to_timestamp($2::float8 / 1e6) "
    "AND result_time < to_timestamp($3::float8 / 1e6) "
    "AND (cardinality($4::text[]) = 0 OR version::text = ANY($4::text[])) "
    "AND (cardinality($5::text[]) = 0 OR queue = ANY($5::text[])) "
    "AND (cardinality($6::text[]) = 0 OR operator = ANY($6::text[])) "
    "AND (cardinality($7::text[]) = 0 OR campaign_id = ANY($7::text[])) "
    "AND (cardinality($8::text[]) = 0 OR channel::text = ANY($8::text[])) "
    "AND id > $9 ORDER BY id LIMIT $10";

absl::StatusOr<Selection> SelectionOf(const std::string& survey_id,
                                      const v1::ResultsFilter& filter) {
  Selection selection;
  selection.survey_id = survey_id;
  if (filter.period().has_start_time()) {
    selection.start_micros = common::MicrosFromTimestamp(filter.period().start_time());
  }
  if (filter.period().has_end_time()) {
    selection.end_micros = common::MicrosFromTimestamp(filter.period().end_time());
  }
  if (selection.end_micros < selection.start_micros) {
    return common::InvalidArgumentError("filter.period", "end_time is before start_time");
  }
  for (int i = 0; i < filter.survey_versions_size(); ++i) {
    CC_ASSIGN_OR_RETURN(auto version,
                        ParseVersionName(filter.survey_versions(i),
                                         absl::StrCat("filter.survey_versions[", i, "]")));
    if (version.first != survey_id || version.second == 0) {
      return common::InvalidArgumentError(absl::StrCat("filter.survey_versions[", i, "]"),
                                          "must be a numbered version of this survey");
    }
    selection.versions.push_back(absl::StrCat(version.second));
  }
  selection.queues.assign(filter.queues().begin(), filter.queues().end());
  selection.operators.assign(filter.operators().begin(), filter.operators().end());
  for (int i = 0; i < filter.campaigns_size(); ++i) {
    CC_ASSIGN_OR_RETURN(std::string id, ParseName(filter.campaigns(i), "surveyCampaigns",
                                                  absl::StrCat("filter.campaigns[", i, "]")));
    selection.campaigns.push_back(id);
  }
  for (int channel : filter.channels()) selection.channels.push_back(absl::StrCat(channel));
  return selection;
}

struct ScannedRow {
  int version = 0;
  v1::ResponseState state = v1::RESPONSE_STATE_UNSPECIFIED;
  v1::SurveyChannel channel = v1::SURVEY_CHANNEL_UNSPECIFIED;
  int64_t result_micros = 0;
  std::string queue;
  std::string operator_name;
  std::string campaign_id;
  // The whole response for exports; only its answers for results.
  v1::SurveyResponse response;
};

// Calls `visit` for every selected response, in id order, within `txn`.
absl::Status Scan(pqxx::work& txn, const Selection& selection, int batch, bool whole,
                  const std::function<absl::Status(ScannedRow&)>& visit) {
  const std::string sql = absl::StrFormat(kScanSql, whole ? "data" : "coalesce(answers, data)");
  std::string last_id;
  ScannedRow row;
  const std::string versions = common::PgTextArray(selection.versions);
  const std::string queues = common::PgTextArray(selection.queues);
  const std::string operators = common::PgTextArray(selection.operators);
  const std::string campaigns = common::PgTextArray(selection.campaigns);
  const std::string channels = common::PgTextArray(selection.channels);
  for (;;) {
    pqxx::result rows =
        txn.exec_params(sql, selection.survey_id, selection.start_micros, selection.end_micros,
                        versions, queues, operators, campaigns, channels, last_id, batch);
    for (const auto& r : rows) {
      row.version = r[0].as<int>();
      row.state = static_cast<v1::ResponseState>(r[1].as<int>());
      row.channel = static_cast<v1::SurveyChannel>(r[2].as<int>());
      row.result_micros = r[3].as<int64_t>();
      row.queue = r[6].c_str();
      row.operator_name = r[7].c_str();
      row.campaign_id = r[8].c_str();
      row.response.Clear();
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(r[4]), row.response));
      CC_RETURN_IF_ERROR(visit(row));
    }
    if (static_cast<int>(rows.size()) < batch) return absl::OkStatus();
    last_id = rows[rows.size() - 1][5].c_str();
  }
}

// The versions of a survey read during one computation.
class Versions {
 public:
  Versions(pqxx::work& txn, VersionCache& cache, std::string survey_id)
      : txn_(txn), cache_(cache), survey_id_(std::move(survey_id)) {}
  absl::StatusOr<const v1::SurveyVersion*> Get(int version) {
    auto it = versions_.find(version);
    if (it != versions_.end()) return it->second.get();
    CC_ASSIGN_OR_RETURN(auto loaded, cache_.Get(txn_, survey_id_, version));
    versions_[version] = loaded;
    return loaded.get();
  }
  // Seen versions, newest first.
  std::vector<const v1::SurveyVersion*> NewestFirst() const {
    std::vector<const v1::SurveyVersion*> out;
    for (auto it = versions_.rbegin(); it != versions_.rend(); ++it)
      out.push_back(it->second.get());
    return out;
  }

 private:
  pqxx::work& txn_;
  VersionCache& cache_;
  const std::string survey_id_;
  std::map<int, std::shared_ptr<const v1::SurveyVersion>> versions_;
};

struct QuestionAccumulator {
  std::set<int> versions;
  int64_t shown = 0;
  int64_t answered = 0;
  int64_t declined = 0;
  std::map<std::string, int64_t> counts;
  double sum = 0;
  std::vector<double> numbers;
};

struct Headline {
  int64_t satisfied = 0;
  int64_t csat_answered = 0;
  int64_t promoters = 0;
  int64_t passives = 0;
  int64_t detractors = 0;
  int64_t nps_answered = 0;
  bool has_csat = false;
  bool has_nps = false;
};

struct GroupAccumulator {
  v1::ResponseCounts counts;
  Headline headline;
  // By question_id and type.
  std::map<std::pair<std::string, int>, QuestionAccumulator> questions;
};

void Count(v1::ResponseCounts& counts, v1::ResponseState state) {
  counts.set_started_count(counts.started_count() + 1);
  if (state == v1::RESPONSE_STATE_COMPLETED)
    counts.set_completed_count(counts.completed_count() + 1);
  if (state == v1::RESPONSE_STATE_IN_PROGRESS) {
    counts.set_in_progress_count(counts.in_progress_count() + 1);
  }
  if (state == v1::RESPONSE_STATE_EXPIRED) counts.set_expired_count(counts.expired_count() + 1);
}

void Accumulate(const v1::SurveyDefinition& definition, const v1::SurveyResponse& response,
                int version, v1::SurveyChannel channel, GroupAccumulator& group,
                bool with_questions) {
  AnswerMap answers;
  for (const v1::Answer& answer : response.answers()) answers[answer.question_id()] = &answer;
  for (const v1::Question* question : ShownQuestions(definition, answers, channel)) {
    auto it = answers.find(question->question_id());
    const v1::Answer* answer = it == answers.end() ? nullptr : it->second;
    const bool answered = answer != nullptr && !answer->declined() &&
                          answer->value_case() != v1::Answer::VALUE_NOT_SET;
    if (question->has_rating() && question->rating().headline_csat()) {
      group.headline.has_csat = true;
      if (answered) {
        ++group.headline.csat_answered;
        if (answer->score() >= 4) ++group.headline.satisfied;
      }
    }
    if (question->has_nps() && question->nps().headline_nps()) {
      group.headline.has_nps = true;
      if (answered) {
        ++group.headline.nps_answered;
        if (answer->score() >= 9) {
          ++group.headline.promoters;
        } else if (answer->score() >= 7) {
          ++group.headline.passives;
        } else {
          ++group.headline.detractors;
        }
      }
    }
    if (!with_questions) continue;
    QuestionAccumulator& acc =
        group.questions[{question->question_id(), static_cast<int>(TypeOf(*question))}];
    acc.versions.insert(version);
    ++acc.shown;
    if (answer != nullptr && answer->declined()) ++acc.declined;
    if (!answered) continue;
    ++acc.answered;
    switch (answer->value_case()) {
      case v1::Answer::kScore:
        ++acc.counts[absl::StrCat(answer->score())];
        acc.sum += answer->score();
        break;
      case v1::Answer::kYesNo:
        ++acc.counts[answer->yes_no() ? "yes" : "no"];
        acc.sum += answer->yes_no() ? 1 : 0;
        break;
      case v1::Answer::kNumber:
        acc.numbers.push_back(answer->number());
        acc.sum += answer->number();
        break;
      case v1::Answer::kChoices:
        for (const std::string& id : answer->choices().choice_ids()) ++acc.counts[id];
        if (!answer->choices().other_text().empty()) ++acc.counts["other"];
        break;
      default:
        break;
    }
  }
}

void FillHeadline(const Headline& headline, v1::CsatFigure* csat, v1::NpsFigure* nps) {
  if (csat != nullptr) {
    csat->set_satisfied_count(headline.satisfied);
    csat->set_answered_count(headline.csat_answered);
    if (headline.csat_answered > 0) {
      csat->set_csat(static_cast<double>(headline.satisfied) / headline.csat_answered);
    }
  }
  if (nps != nullptr) {
    nps->set_promoter_count(headline.promoters);
    nps->set_passive_count(headline.passives);
    nps->set_detractor_count(headline.detractors);
    nps->set_answered_count(headline.nps_answered);
    if (headline.nps_answered > 0) {
      nps->set_nps(100.0 * static_cast<double>(headline.promoters - headline.detractors) /
                   headline.nps_answered);
    }
  }
}

// The question of `id` and `type` in the newest version that has it.
const v1::Question* LatestQuestion(const std::vector<const v1::SurveyVersion*>& newest_first,
                                   const std::string& id, int type) {
  for (const v1::SurveyVersion* version : newest_first) {
    for (const v1::Question& question : version->definition().questions()) {
      if (question.question_id() == id && static_cast<int>(TypeOf(question)) == type) {
        return &question;
      }
    }
  }
  return nullptr;
}

void AddValue(v1::QuestionResults& out, const std::string& value, const std::string& label,
              int64_t count) {
  v1::ValueCount& item = *out.add_distribution();
  item.set_value(value);
  item.set_label(label);
  item.set_count(count);
  item.set_share(out.answered_count() > 0 ? static_cast<double>(count) / out.answered_count() : 0);
}

v1::QuestionResults QuestionResultsOf(const std::string& id, int type, QuestionAccumulator& acc,
                                      const std::vector<const v1::SurveyVersion*>& newest_first) {
  v1::QuestionResults out;
  out.set_question_id(id);
  out.set_type(static_cast<v1::QuestionType>(type));
  const v1::Question* question = LatestQuestion(newest_first, id, type);
  if (question != nullptr) out.set_text(question->text());
  for (int version : acc.versions) out.add_versions(version);
  out.set_shown_count(acc.shown);
  out.set_answered_count(acc.answered);
  out.set_declined_count(acc.declined);
  const auto count_of = [&](const std::string& value) {
    auto it = acc.counts.find(value);
    return it == acc.counts.end() ? int64_t{0} : it->second;
  };
  switch (out.type()) {
    case v1::QUESTION_TYPE_RATING: {
      for (int score = 1; score <= 5; ++score) {
        std::string label;
        if (question != nullptr && score == 1) label = question->rating().low_label();
        if (question != nullptr && score == 5) label = question->rating().high_label();
        AddValue(out, absl::StrCat(score), label, count_of(absl::StrCat(score)));
      }
      const int64_t satisfied = count_of("4") + count_of("5");
      out.mutable_csat()->set_satisfied_count(satisfied);
      out.mutable_csat()->set_answered_count(acc.answered);
      if (acc.answered > 0) {
        out.mutable_csat()->set_csat(static_cast<double>(satisfied) / acc.answered);
      }
      break;
    }
    case v1::QUESTION_TYPE_NPS: {
      Headline nps;
      for (int score = 0; score <= 10; ++score) {
        std::string label;
        if (question != nullptr && score == 0) label = question->nps().low_label();
        if (question != nullptr && score == 10) label = question->nps().high_label();
        const int64_t count = count_of(absl::StrCat(score));
        AddValue(out, absl::StrCat(score), label, count);
        (score >= 9 ? nps.promoters : score >= 7 ? nps.passives : nps.detractors) += count;
      }
      nps.nps_answered = acc.answered;
      FillHeadline(nps, nullptr, out.mutable_nps());
      break;
    }
    case v1::QUESTION_TYPE_SINGLE_CHOICE:
    case v1::QUESTION_TYPE_MULTIPLE_CHOICE: {
      std::set<std::string> listed;
      if (question != nullptr) {
        const v1::ChoiceQuestion& choices =
            question->has_single_choice() ? question->single_choice() : question->multiple_choice();
        for (const v1::Choice& choice : choices.choices()) {
          AddValue(out, choice.choice_id(), choice.text(), count_of(choice.choice_id()));
          listed.insert(choice.choice_id());
        }
        if (choices.allow_other() || count_of("other") > 0) {
          AddValue(out, "other", "", count_of("other"));
          listed.insert("other");
        }
      }
      for (const auto& [value, count] : acc.counts) {
        if (!listed.count(value)) AddValue(out, value, "", count);
      }
      break;
    }
    case v1::QUESTION_TYPE_YES_NO:
      AddValue(out, "yes", question != nullptr ? question->yes_no().yes_label() : "",
               count_of("yes"));
      AddValue(out, "no", question != nullptr ? question->yes_no().no_label() : "", count_of("no"));
      break;
    case v1::QUESTION_TYPE_NUMBER:
      if (!acc.numbers.empty()) {
        std::vector<double>& numbers = acc.numbers;
        std::sort(numbers.begin(), numbers.end());
        v1::NumberStats& stats = *out.mutable_number_stats();
        const double low = numbers.front();
        const double high = numbers.back();
        stats.set_min_value(low);
        stats.set_max_value(high);
        const size_t n = numbers.size();
        stats.set_median_value(n % 2 == 1 ? numbers[n / 2]
                                          : (numbers[n / 2 - 1] + numbers[n / 2]) / 2);
        const int buckets = high > low ? 20 : 1;
        const double width = high > low ? (high - low) / buckets : 0;
        std::vector<int64_t> counts(buckets, 0);
        for (double value : numbers) {
          int bucket = width > 0 ? static_cast<int>((value - low) / width) : 0;
          ++counts[std::min(bucket, buckets - 1)];
        }
        for (int b = 0; b < buckets; ++b) {
          v1::ValueCount& item = *stats.add_histogram();
          const double from = low + b * width;
          const double to = b == buckets - 1 ? high : low + (b + 1) * width;
          item.set_value(absl::StrFormat(b == buckets - 1 ? "[%g,%g]" : "[%g,%g)", from, to));
          item.set_count(counts[b]);
          item.set_share(static_cast<double>(counts[b]) / acc.answered);
        }
      }
      break;
    default:
      break;
  }
  if (acc.answered > 0 &&
      (out.type() == v1::QUESTION_TYPE_RATING || out.type() == v1::QUESTION_TYPE_NPS ||
       out.type() == v1::QUESTION_TYPE_NUMBER || out.type() == v1::QUESTION_TYPE_YES_NO)) {
    out.set_average(acc.sum / acc.answered);
  }
  return out;
}

// Question results in the order of the newest version, then questions only older ones had.
void EmitQuestions(GroupAccumulator& group,
                   const std::vector<const v1::SurveyVersion*>& newest_first,
                   google::protobuf::RepeatedPtrField<v1::QuestionResults>* out) {
  std::set<std::pair<std::string, int>> emitted;
  for (const v1::SurveyVersion* version : newest_first) {
    for (const v1::Question& question : version->definition().questions()) {
      std::pair<std::string, int> key{question.question_id(), static_cast<int>(TypeOf(question))};
      if (emitted.count(key)) continue;
      emitted.insert(key);
      auto it = group.questions.find(key);
      if (it == group.questions.end()) continue;
      *out->Add() = QuestionResultsOf(key.first, key.second, it->second, newest_first);
    }
  }
}

absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name, const std::string& fallback,
                                        absl::string_view field) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(name.empty() ? fallback : name, &zone)) {
    return common::InvalidArgumentError(field,
                                        absl::StrCat("unknown IANA time zone \"", name, "\""));
  }
  return zone;
}

std::string GroupKey(v1::ResultsGroupBy group_by, const ScannedRow& row,
                     const std::string& survey_id, absl::TimeZone zone) {
  switch (group_by) {
    case v1::RESULTS_GROUP_BY_QUEUE:
      return row.queue;
    case v1::RESULTS_GROUP_BY_OPERATOR:
      return row.operator_name;
    case v1::RESULTS_GROUP_BY_CAMPAIGN:
      return row.campaign_id.empty() ? "" : absl::StrCat("surveyCampaigns/", row.campaign_id);
    case v1::RESULTS_GROUP_BY_CHANNEL:
      return v1::SurveyChannel_Name(row.channel);
    case v1::RESULTS_GROUP_BY_SURVEY_VERSION:
      return VersionName(survey_id, row.version);
    case v1::RESULTS_GROUP_BY_DAY:
    case v1::RESULTS_GROUP_BY_WEEK:
    case v1::RESULTS_GROUP_BY_MONTH: {
      absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMicros(row.result_micros), zone);
      if (group_by == v1::RESULTS_GROUP_BY_WEEK) {
        day -= (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday));
      } else if (group_by == v1::RESULTS_GROUP_BY_MONTH) {
        day = absl::CivilDay(absl::CivilMonth(day));
      }
      return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
    }
    default:
      return "";
  }
}

std::string CsvField(absl::string_view value, char delimiter) {
  if (value.find_first_of(std::string{delimiter, '"', '\r', '\n'}) == absl::string_view::npos) {
    return std::string(value);
  }
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string AnswerValue(const v1::Answer& answer) {
  if (answer.declined()) return "(declined)";
  switch (answer.value_case()) {
    case v1::Answer::kScore:
      return absl::StrCat(answer.score());
    case v1::Answer::kYesNo:
      return answer.yes_no() ? "yes" : "no";
    case v1::Answer::kNumber:
      return absl::StrFormat("%g", answer.number());
    case v1::Answer::kText:
      return answer.text();
    case v1::Answer::kChoices: {
      std::vector<std::string> parts(answer.choices().choice_ids().begin(),
                                     answer.choices().choice_ids().end());
      if (!answer.choices().other_text().empty()) {
        parts.push_back(absl::StrCat("other:", answer.choices().other_text()));
      }
      return absl::StrJoin(parts, ";");
    }
    default:
      return "";
  }
}

}  // namespace

absl::StatusOr<v1::SurveyResults> SurveyStore::GetSurveyResults(
    const v1::GetSurveyResultsRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string survey_id, ParseName(request.survey(), "surveys", "survey"));
  CC_ASSIGN_OR_RETURN(Selection selection, SelectionOf(survey_id, request.filter()));
  CC_ASSIGN_OR_RETURN(absl::TimeZone zone,
                      LoadZone(request.time_zone(), options_.site_time_zone, "time_zone"));
  const v1::ResultsGroupBy group_by = request.group_by();
  const bool include_partial = request.filter().include_partial();
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::SurveyResults> {
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const absl::Time compute_time = absl::Now();
    CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
    Versions versions(txn, *versions_, survey_id);
    GroupAccumulator total;
    std::map<std::string, GroupAccumulator> groups;
    CC_RETURN_IF_ERROR(
        Scan(txn, selection, options_.scan_batch, false, [&](ScannedRow& row) -> absl::Status {
          GroupAccumulator* group = nullptr;
          if (group_by != v1::RESULTS_GROUP_BY_UNSPECIFIED) {
            std::string key = GroupKey(group_by, row, survey_id, zone);
            auto it = groups.find(key);
            if (it == groups.end()) {
              if (static_cast<int>(groups.size()) >= kMaxGroups) {
                return absl::ResourceExhaustedError(
                    "group_by: the breakdown exceeds 10,000 groups; narrow the filter");
              }
              it = groups.emplace(std::move(key), GroupAccumulator()).first;
            }
            group = &it->second;
          }
          Count(total.counts, row.state);
          if (group != nullptr) Count(group->counts, row.state);
          if (row.state != v1::RESPONSE_STATE_COMPLETED && !include_partial)
            return absl::OkStatus();
          CC_ASSIGN_OR_RETURN(const v1::SurveyVersion* version, versions.Get(row.version));
          Accumulate(version->definition(), row.response, row.version, row.channel, total, true);
          if (group != nullptr) {
            Accumulate(version->definition(), row.response, row.version, row.channel, *group,
                       request.include_questions_in_groups());
          }
          return absl::OkStatus();
        }));
    const std::vector<const v1::SurveyVersion*> newest_first = versions.NewestFirst();
    v1::SurveyResults results;
    results.set_survey(request.survey());
    *results.mutable_filter() = request.filter();
    *results.mutable_counts() = total.counts;
    FillHeadline(total.headline, total.headline.has_csat ? results.mutable_csat() : nullptr,
                 total.headline.has_nps ? results.mutable_nps() : nullptr);
    EmitQuestions(total, newest_first, results.mutable_questions());
    for (auto& [key, group] : groups) {
      v1::SurveyResultsGroup& out = *results.add_groups();
      out.set_key(key);
      *out.mutable_counts() = group.counts;
      FillHeadline(group.headline, group.headline.has_csat ? out.mutable_csat() : nullptr,
                   group.headline.has_nps ? out.mutable_nps() : nullptr);
      if (request.include_questions_in_groups()) {
        EmitQuestions(group, newest_first, out.mutable_questions());
      }
    }
    *results.mutable_compute_time() = common::TimestampFromTime(compute_time);
    return results;
  });
}

absl::Status SurveyStore::ExportSurveyResults(
    const v1::ExportSurveyResultsRequest& request,
    const std::function<bool(const v1::ExportSurveyResultsResponse&)>& write) {
  CC_ASSIGN_OR_RETURN(std::string survey_id, ParseName(request.survey(), "surveys", "survey"));
  CC_ASSIGN_OR_RETURN(Selection selection, SelectionOf(survey_id, request.filter()));
  CC_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(request.time_zone(), "UTC", "time_zone"));
  if (request.delimiter().size() > 1) {
    return common::InvalidArgumentError("delimiter", "must be one character");
  }
  if (!v1::ExportLayout_IsValid(request.layout())) {
    return common::InvalidArgumentError("layout", "unknown layout");
  }
  const char delimiter = request.delimiter().empty() ? ',' : request.delimiter()[0];
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
    return common::InvalidArgumentError("delimiter", "must not be a quote or a line break");
  }
  const bool per_answer = request.layout() == v1::EXPORT_LAYOUT_ANSWER_PER_ROW;
  return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const absl::Time snapshot = absl::Now();
    CC_RETURN_IF_ERROR(LoadSurvey(txn, survey_id, false).status());
    Versions versions(txn, *versions_, survey_id);
    // The question columns: every question of the selected versions, newest order first.
    pqxx::result seen = txn.exec_params(
        "SELECT DISTINCT version FROM responses WHERE survey_id = $1 AND "
        "(cardinality($2::text[]) = 0 OR version::text = ANY($2::text[]))",
        survey_id, common::PgTextArray(selection.versions));
    for (const auto& row : seen) CC_RETURN_IF_ERROR(versions.Get(row[0].as<int>()).status());
    std::vector<std::string> columns;
    std::map<std::string, v1::QuestionType> types;
    for (const v1::SurveyVersion* version : versions.NewestFirst()) {
      for (const v1::Question& question : version->definition().questions()) {
        if (types.count(question.question_id())) continue;
        types[question.question_id()] = TypeOf(question);
        if (request.omit_free_text() && question.has_free_text()) continue;
        columns.push_back(question.question_id());
      }
    }
    std::vector<std::string> fixed = {"response", "survey_version", "state", "channel"};
    if (!request.omit_customer()) fixed.push_back("customer");
    for (const char* name : {"call", "queue", "operator", "interviewer", "campaign", "invitation",
                             "start_time", "complete_time"}) {
      fixed.push_back(name);
    }
    std::string buffer;
    int64_t rows_written = 0;
    bool first_chunk = true;
    bool cancelled = false;
    constexpr size_t kChunk = 64 * 1024;
    const auto flush = [&](bool last) {
      while (!cancelled &&
             (buffer.size() >= kChunk || (last && !buffer.empty()) || (last && first_chunk))) {
        v1::ExportSurveyResultsResponse chunk;
        const size_t take = std::min(buffer.size(), kChunk);
        chunk.set_data(buffer.substr(0, take));
        buffer.erase(0, take);
        chunk.set_row_count(rows_written);
        chunk.set_last(last && buffer.empty());
        if (first_chunk) *chunk.mutable_snapshot_time() = common::TimestampFromTime(snapshot);
        first_chunk = false;
        if (!write(chunk)) cancelled = true;
        if (chunk.last()) break;
      }
    };
    const auto append_row = [&](const std::vector<std::string>& fields) {
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) buffer += delimiter;
        buffer += CsvField(fields[i], delimiter);
      }
      buffer += "\r\n";
    };
    std::vector<std::string> header = fixed;
    if (per_answer) {
      header.insert(header.end(), {"question_id", "question_type", "value"});
    } else {
      header.insert(header.end(), columns.begin(), columns.end());
    }
    append_row(header);
    const auto format_time = [&](const google::protobuf::Timestamp& time, bool set) {
      return set ? absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", common::TimeFromTimestamp(time), zone)
                 : std::string();
    };
    CC_RETURN_IF_ERROR(
        Scan(txn, selection, options_.scan_batch, true, [&](ScannedRow& row) -> absl::Status {
          if (cancelled) return absl::CancelledError("the client went away");
          if (row.state != v1::RESPONSE_STATE_COMPLETED && !request.filter().include_partial()) {
            return absl::OkStatus();
          }
          const v1::SurveyResponse& r = row.response;
          std::vector<std::string> base = {r.name(), r.survey_version(),
                                           v1::ResponseState_Name(row.state),
                                           v1::SurveyChannel_Name(r.channel())};
          if (!request.omit_customer()) base.push_back(r.customer());
          base.insert(base.end(), {r.call(), r.queue(), r.operator_(), r.interviewer(),
                                   r.campaign(), r.invitation(), format_time(r.start_time(), true),
                                   format_time(r.complete_time(), r.has_complete_time())});
          if (per_answer) {
            for (const v1::Answer& answer : r.answers()) {
              const v1::QuestionType type = types[answer.question_id()];
              if (request.omit_free_text() && type == v1::QUESTION_TYPE_FREE_TEXT) continue;
              std::vector<std::string> fields = base;
              fields.insert(fields.end(), {answer.question_id(), v1::QuestionType_Name(type),
                                           AnswerValue(answer)});
              append_row(fields);
              ++rows_written;
            }
          } else {
            std::map<std::string, std::string> values;
            for (const v1::Answer& answer : r.answers())
              values[answer.question_id()] = AnswerValue(answer);
            for (const std::string& column : columns) base.push_back(values[column]);
            append_row(base);
            ++rows_written;
          }
          flush(false);
          return absl::OkStatus();
        }));
    flush(true);
    if (cancelled) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  });
}

}  // namespace contactcentre::surveys
