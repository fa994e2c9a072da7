#include "services/surveys/survey_logic.h"

#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::surveys {
namespace {

using common::InvalidArgumentError;

constexpr int kMaxQuestions = 200;
constexpr int kMaxChoices = 50;

// Characters (Unicode code points) of UTF-8 text.
int64_t CodePoints(absl::string_view text) {
  int64_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string FormatNumber(double value) { return absl::StrFormat("%g", value); }

bool IsChoice(v1::QuestionType type) {
  return type == v1::QUESTION_TYPE_SINGLE_CHOICE || type == v1::QUESTION_TYPE_MULTIPLE_CHOICE;
}
bool IsNumeric(v1::QuestionType type) {
  return type == v1::QUESTION_TYPE_RATING || type == v1::QUESTION_TYPE_NPS ||
         type == v1::QUESTION_TYPE_NUMBER;
}

const v1::ChoiceQuestion* ChoicesOf(const v1::Question& question) {
  if (question.has_single_choice()) return &question.single_choice();
  if (question.has_multiple_choice()) return &question.multiple_choice();
  return nullptr;
}

bool HasChoice(const v1::ChoiceQuestion& choices, absl::string_view id) {
  for (const v1::Choice& choice : choices.choices()) {
    if (choice.choice_id() == id) return true;
  }
  return false;
}

absl::Status ValidateCondition(const v1::DisplayCondition& condition,
                               const std::map<std::string, const v1::Question*>& earlier,
                               const std::string& field) {
  if (condition.conditions().empty() || condition.conditions_size() > 10) {
    return InvalidArgumentError(absl::StrCat(field, ".conditions"), "must hold 1 to 10 tests");
  }
  for (int i = 0; i < condition.conditions_size(); ++i) {
    const v1::AnswerCondition& test = condition.conditions(i);
    const std::string path = absl::StrCat(field, ".conditions[", i, "]");
    auto it = earlier.find(test.question_id());
    if (it == earlier.end()) {
      return InvalidArgumentError(
          absl::StrCat(path, ".question_id"),
          absl::StrCat("\"", test.question_id(), "\" is not an earlier question of the survey"));
    }
    const v1::QuestionType type = TypeOf(*it->second);
    switch (test.operator_()) {
      case v1::CONDITION_OPERATOR_ANSWERED:
      case v1::CONDITION_OPERATOR_NOT_ANSWERED:
        break;
      case v1::CONDITION_OPERATOR_EQUALS:
      case v1::CONDITION_OPERATOR_NOT_EQUALS:
        if (type == v1::QUESTION_TYPE_SINGLE_CHOICE) {
          if (test.choice_ids().empty()) {
            return InvalidArgumentError(absl::StrCat(path, ".choice_ids"),
                                        "EQUALS on a single choice needs choice_ids");
          }
        } else if (!IsNumeric(type) && type != v1::QUESTION_TYPE_YES_NO) {
          return InvalidArgumentError(absl::StrCat(path, ".operator"),
                                      "EQUALS does not fit the earlier question's type");
        }
        break;
      case v1::CONDITION_OPERATOR_LESS_THAN:
      case v1::CONDITION_OPERATOR_LESS_THAN_OR_EQUAL:
      case v1::CONDITION_OPERATOR_GREATER_THAN:
      case v1::CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL:
        if (!IsNumeric(type)) {
          return InvalidArgumentError(
              absl::StrCat(path, ".operator"),
              "a numeric comparison needs a rating, NPS or number question");
        }
        break;
      case v1::CONDITION_OPERATOR_ANY_OF:
      case v1::CONDITION_OPERATOR_ALL_OF:
      case v1::CONDITION_OPERATOR_NONE_OF:
        if (!IsChoice(type)) {
          return InvalidArgumentError(absl::StrCat(path, ".operator"),
                                      "a choice comparison needs a choice question");
        }
        if (test.choice_ids().empty()) {
          return InvalidArgumentError(absl::StrCat(path, ".choice_ids"), "must not be empty");
        }
        break;
      default:
        return InvalidArgumentError(absl::StrCat(path, ".operator"), "must be set");
    }
    if (IsChoice(type)) {
      const v1::ChoiceQuestion& choices = *ChoicesOf(*it->second);
      for (const std::string& id : test.choice_ids()) {
        if (!(HasChoice(choices, id) || (id == "other" && choices.allow_other()))) {
          return InvalidArgumentError(absl::StrCat(path, ".choice_ids"),
                                      absl::StrCat("\"", id, "\" is not a choice of question \"",
                                                   test.question_id(), "\""));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateChoices(const v1::ChoiceQuestion& choices, bool multiple, bool keypad,
                             const std::string& field) {
  if (choices.choices().empty() || choices.choices_size() > kMaxChoices) {
    return InvalidArgumentError(absl::StrCat(field, ".choices"), "must hold 1 to 50 choices");
  }
  std::set<std::string> ids;
  std::set<std::string> digits;
  for (int i = 0; i < choices.choices_size(); ++i) {
    const v1::Choice& choice = choices.choices(i);
    const std::string path = absl::StrCat(field, ".choices[", i, "]");
    if (!IsValidKey(choice.choice_id()) || choice.choice_id() == "other") {
      return InvalidArgumentError(absl::StrCat(path, ".choice_id"),
                                  "must be 1-63 characters of [a-z0-9_] starting with a letter "
                                  "(\"other\" is reserved)");
    }
    if (!ids.insert(choice.choice_id()).second) {
      return InvalidArgumentError(absl::StrCat(path, ".choice_id"),
                                  absl::StrCat("\"", choice.choice_id(), "\" is repeated"));
    }
    if (choice.text().empty()) {
      return InvalidArgumentError(absl::StrCat(path, ".text"), "must not be empty");
    }
    const std::string digit =
        choice.keypad_digit().empty() ? absl::StrCat(i + 1) : choice.keypad_digit();
    if (!choice.keypad_digit().empty() && (digit.size() != 1 || digit[0] < '0' || digit[0] > '9')) {
      return InvalidArgumentError(absl::StrCat(path, ".keypad_digit"), "must be one of 0-9");
    }
    if (keypad && (digit.size() != 1 || !digits.insert(digit).second)) {
      return InvalidArgumentError(
          absl::StrCat(path, ".keypad_digit"),
          "keypad digits must be unique and at most 9 choices may go without digits on KEYPAD");
    }
  }
  if (choices.other_max_length() < 0 || choices.other_max_length() > 2000) {
    return InvalidArgumentError(absl::StrCat(field, ".other_max_length"), "must be 0..2000");
  }
  if (multiple) {
    const int available = choices.choices_size() + (choices.allow_other() ? 1 : 0);
    if (choices.min_selections() < 0 || choices.min_selections() > available) {
      return InvalidArgumentError(absl::StrCat(field, ".min_selections"),
                                  "must be 0..number of choices");
    }
    if (choices.max_selections() < 0 ||
        (choices.max_selections() > 0 &&
         choices.max_selections() < std::max(1, choices.min_selections()))) {
      return InvalidArgumentError(absl::StrCat(field, ".max_selections"),
                                  "must be 0 (no limit) or at least min_selections");
    }
  } else if (choices.min_selections() != 0 || choices.max_selections() != 0) {
    return InvalidArgumentError(absl::StrCat(field, ".min_selections"),
                                "only multiple-choice questions take selection limits");
  }
  return absl::OkStatus();
}

double NumericValue(const v1::Answer& answer) {
  return answer.value_case() == v1::Answer::kScore ? answer.score() : answer.number();
}

bool Answered(const v1::Answer* answer) {
  return answer != nullptr && !answer->declined() &&
         answer->value_case() != v1::Answer::VALUE_NOT_SET;
}

bool Selected(const v1::Answer& answer, absl::string_view id) {
  if (id == "other") return !answer.choices().other_text().empty();
  for (const std::string& chosen : answer.choices().choice_ids()) {
    if (chosen == id) return true;
  }
  return false;
}

bool TestHolds(const v1::AnswerCondition& test, const AnswerMap& answers) {
  auto it = answers.find(test.question_id());
  const v1::Answer* answer = it == answers.end() ? nullptr : it->second;
  const bool answered = Answered(answer);
  switch (test.operator_()) {
    case v1::CONDITION_OPERATOR_ANSWERED:
      return answered;
    case v1::CONDITION_OPERATOR_NOT_ANSWERED:
      return !answered;
    default:
      break;
  }
  if (!answered) return false;
  const auto equals = [&] {
    switch (answer->value_case()) {
      case v1::Answer::kScore:
      case v1::Answer::kNumber:
        return NumericValue(*answer) == test.number();
      case v1::Answer::kYesNo:
        return answer->yes_no() == test.yes();
      case v1::Answer::kChoices:
        for (const std::string& id : test.choice_ids()) {
          if (Selected(*answer, id)) return true;
        }
        return false;
      default:
        return false;
    }
  };
  const bool numeric =
      answer->value_case() == v1::Answer::kScore || answer->value_case() == v1::Answer::kNumber;
  switch (test.operator_()) {
    case v1::CONDITION_OPERATOR_EQUALS:
      return equals();
    case v1::CONDITION_OPERATOR_NOT_EQUALS:
      return !equals();
    case v1::CONDITION_OPERATOR_LESS_THAN:
      return numeric && NumericValue(*answer) < test.number();
    case v1::CONDITION_OPERATOR_LESS_THAN_OR_EQUAL:
      return numeric && NumericValue(*answer) <= test.number();
    case v1::CONDITION_OPERATOR_GREATER_THAN:
      return numeric && NumericValue(*answer) > test.number();
    case v1::CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL:
      return numeric && NumericValue(*answer) >= test.number();
    case v1::CONDITION_OPERATOR_ANY_OF:
    case v1::CONDITION_OPERATOR_NONE_OF: {
      bool any = false;
      for (const std::string& id : test.choice_ids()) any = any || Selected(*answer, id);
      return test.operator_() == v1::CONDITION_OPERATOR_ANY_OF ? any : !any;
    }
    case v1::CONDITION_OPERATOR_ALL_OF: {
      for (const std::string& id : test.choice_ids()) {
        if (!Selected(*answer, id)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

absl::Status AnswerError(absl::string_view field, const v1::Question& question,
                         absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, " (question \"", question.question_id(), "\"): ", problem));
}

}  // namespace

bool IsValidKey(absl::string_view key) {
  if (key.empty() || key.size() > 63 || !absl::ascii_islower(key[0])) return false;
  for (char c : key) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

bool IsValidResourceId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_islower(id[0])) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

v1::QuestionType TypeOf(const v1::Question& question) {
  switch (question.kind_case()) {
    case v1::Question::kRating:
      return v1::QUESTION_TYPE_RATING;
    case v1::Question::kNps:
      return v1::QUESTION_TYPE_NPS;
    case v1::Question::kSingleChoice:
      return v1::QUESTION_TYPE_SINGLE_CHOICE;
    case v1::Question::kMultipleChoice:
      return v1::QUESTION_TYPE_MULTIPLE_CHOICE;
    case v1::Question::kYesNo:
      return v1::QUESTION_TYPE_YES_NO;
    case v1::Question::kNumber:
      return v1::QUESTION_TYPE_NUMBER;
    case v1::Question::kFreeText:
      return v1::QUESTION_TYPE_FREE_TEXT;
    default:
      return v1::QUESTION_TYPE_UNSPECIFIED;
  }
}

absl::Duration ResumeWindow(const v1::SurveyDefinition& definition) {
  if (!definition.has_resume_window()) return absl::Hours(24 * 7);
  return absl::Seconds(definition.resume_window().seconds()) +
         absl::Nanoseconds(definition.resume_window().nanos());
}

absl::Status ValidateDraft(const v1::SurveyDefinition& definition, absl::string_view prefix) {
  if (definition.questions_size() > kMaxQuestions) {
    return InvalidArgumentError(absl::StrCat(prefix, ".questions"), "at most 200 questions");
  }
  if (definition.has_resume_window()) {
    const absl::Duration window = ResumeWindow(definition);
    if (window <= absl::ZeroDuration() || window > absl::Hours(24 * 90)) {
      return InvalidArgumentError(absl::StrCat(prefix, ".resume_window"),
                                  "must be positive and at most 90 days");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePublishable(const v1::SurveyDefinition& definition, absl::string_view prefix) {
  CC_RETURN_IF_ERROR(ValidateDraft(definition, prefix));
  if (absl::StripAsciiWhitespace(definition.title()).empty()) {
    return InvalidArgumentError(absl::StrCat(prefix, ".title"), "a title is required to publish");
  }
  if (definition.questions().empty()) {
    return InvalidArgumentError(absl::StrCat(prefix, ".questions"),
                                "at least one question is required to publish");
  }
  if (definition.channels().empty()) {
    return InvalidArgumentError(absl::StrCat(prefix, ".channels"),
                                "at least one channel is required to publish");
  }
  bool keypad = false;
  std::set<int> channels;
  for (int i = 0; i < definition.channels_size(); ++i) {
    const int channel = definition.channels(i);
    if (!v1::SurveyChannel_IsValid(channel) || channel == v1::SURVEY_CHANNEL_UNSPECIFIED ||
        !channels.insert(channel).second) {
      return InvalidArgumentError(absl::StrCat(prefix, ".channels[", i, "]"),
                                  "must be a known channel, listed once");
    }
    keypad = keypad || channel == v1::SURVEY_CHANNEL_KEYPAD;
  }
  std::map<std::string, const v1::Question*> earlier;
  int headline_csat = 0;
  int headline_nps = 0;
  for (int i = 0; i < definition.questions_size(); ++i) {
    const v1::Question& question = definition.questions(i);
    const std::string path = absl::StrCat(prefix, ".questions[", i, "]");
    if (!IsValidKey(question.question_id())) {
      return InvalidArgumentError(absl::StrCat(path, ".question_id"),
                                  "must be 1-63 characters of [a-z0-9_] starting with a letter");
    }
    if (earlier.count(question.question_id())) {
      return InvalidArgumentError(absl::StrCat(path, ".question_id"),
                                  absl::StrCat("\"", question.question_id(), "\" is repeated"));
    }
    if (absl::StripAsciiWhitespace(question.text()).empty()) {
      return InvalidArgumentError(absl::StrCat(path, ".text"), "must not be empty");
    }
    switch (question.kind_case()) {
      case v1::Question::kRating:
        headline_csat += question.rating().headline_csat() ? 1 : 0;
        if (headline_csat > 1) {
          return InvalidArgumentError(absl::StrCat(path, ".rating.headline_csat"),
                                      "at most one rating question may be the headline CSAT");
        }
        break;
      case v1::Question::kNps:
        headline_nps += question.nps().headline_nps() ? 1 : 0;
        if (headline_nps > 1) {
          return InvalidArgumentError(absl::StrCat(path, ".nps.headline_nps"),
                                      "at most one NPS question may be the headline NPS");
        }
        break;
      case v1::Question::kSingleChoice:
        CC_RETURN_IF_ERROR(ValidateChoices(question.single_choice(), false, keypad,
                                           absl::StrCat(path, ".single_choice")));
        break;
      case v1::Question::kMultipleChoice:
        CC_RETURN_IF_ERROR(ValidateChoices(question.multiple_choice(), true, keypad,
                                           absl::StrCat(path, ".multiple_choice")));
        break;
      case v1::Question::kYesNo:
        break;
      case v1::Question::kNumber: {
        const v1::NumberQuestion& number = question.number();
        if ((number.has_min_value() && !std::isfinite(number.min_value())) ||
            (number.has_max_value() && !std::isfinite(number.max_value())) ||
            (number.has_min_value() && number.has_max_value() &&
             number.max_value() < number.min_value())) {
          return InvalidArgumentError(absl::StrCat(path, ".number.max_value"),
                                      "must be finite and not below min_value");
        }
        break;
      }
      case v1::Question::kFreeText: {
        const v1::FreeTextQuestion& text = question.free_text();
        if (text.max_length() < 0 || text.max_length() > 10000) {
          return InvalidArgumentError(absl::StrCat(path, ".free_text.max_length"),
                                      "must be 0..10000");
        }
        const int max = text.max_length() == 0 ? 1000 : text.max_length();
        if (text.min_length() < 0 || text.min_length() > max) {
          return InvalidArgumentError(absl::StrCat(path, ".free_text.min_length"),
                                      "must be 0..max_length");
        }
        if (keypad && question.required()) {
          return InvalidArgumentError(
              absl::StrCat(path, ".required"),
              "a survey that lists KEYPAD may hold only optional free-text questions");
        }
        break;
      }
      default:
        return InvalidArgumentError(absl::StrCat(path, ".kind"),
                                    "exactly one question type must be set");
    }
    if (question.has_display_condition()) {
      CC_RETURN_IF_ERROR(ValidateCondition(question.display_condition(), earlier,
                                           absl::StrCat(path, ".display_condition")));
    }
    earlier[question.question_id()] = &question;
  }
  return absl::OkStatus();
}

bool IsShown(const v1::Question& question, const AnswerMap& answers, v1::SurveyChannel channel) {
  if (channel == v1::SURVEY_CHANNEL_KEYPAD && question.has_free_text()) return false;
  if (!question.has_display_condition()) return true;
  const v1::DisplayCondition& condition = question.display_condition();
  const bool any = condition.match() == v1::CONDITION_MATCH_ANY;
  for (const v1::AnswerCondition& test : condition.conditions()) {
    const bool holds = TestHolds(test, answers);
    if (any && holds) return true;
    if (!any && !holds) return false;
  }
  return !any;
}

std::vector<const v1::Question*> ShownQuestions(const v1::SurveyDefinition& definition,
                                                const AnswerMap& answers,
                                                v1::SurveyChannel channel) {
  std::vector<const v1::Question*> shown;
  AnswerMap visible;
  for (const v1::Question& question : definition.questions()) {
    if (!IsShown(question, visible, channel)) continue;
    shown.push_back(&question);
    if (auto it = answers.find(question.question_id()); it != answers.end()) {
      visible.emplace(it->first, it->second);
    }
  }
  return shown;
}

absl::Status ValidateAnswer(const v1::Question& question, v1::Answer& answer,
                            absl::string_view field) {
  if (answer.declined()) {
    if (question.required()) {
      return AnswerError(field, question, "a required question cannot be declined");
    }
    if (answer.value_case() != v1::Answer::VALUE_NOT_SET) {
      return AnswerError(field, question, "a declined answer carries no value");
    }
    return absl::OkStatus();
  }
  const auto wrong_case = [&](absl::string_view expected) {
    return AnswerError(
        field, question,
        answer.value_case() == v1::Answer::VALUE_NOT_SET
            ? absl::StrCat("no value given (expected ", expected, ")")
            : absl::StrCat("the value does not fit the question (expected ", expected, ")"));
  };
  switch (question.kind_case()) {
    case v1::Question::kRating:
    case v1::Question::kNps: {
      if (answer.value_case() != v1::Answer::kScore) return wrong_case("score");
      const int low = question.has_rating() ? 1 : 0;
      const int high = question.has_rating() ? 5 : 10;
      if (answer.score() < low) {
        return AnswerError(field, question,
                           absl::StrCat(answer.score(), " is below the minimum ", low));
      }
      if (answer.score() > high) {
        return AnswerError(field, question,
                           absl::StrCat(answer.score(), " is above the maximum ", high));
      }
      return absl::OkStatus();
    }
    case v1::Question::kSingleChoice:
    case v1::Question::kMultipleChoice: {
      if (answer.value_case() != v1::Answer::kChoices) return wrong_case("choices");
      const v1::ChoiceQuestion& choices = *ChoicesOf(question);
      v1::ChoiceSelection& selection = *answer.mutable_choices();
      std::set<std::string> seen;
      for (const std::string& id : selection.choice_ids()) {
        if (!HasChoice(choices, id)) {
          return AnswerError(field, question, absl::StrCat("\"", id, "\" is not a choice"));
        }
        if (!seen.insert(id).second) {
          return AnswerError(field, question, absl::StrCat("\"", id, "\" is selected twice"));
        }
      }
      const bool has_other = !selection.other_text().empty();
      if (has_other) {
        if (!choices.allow_other()) {
          return AnswerError(field, question, "this question takes no \"other\" answer");
        }
        selection.set_other_text(std::string(absl::StripAsciiWhitespace(selection.other_text())));
        if (selection.other_text().empty()) {
          return AnswerError(field, question, "the \"other\" text is empty");
        }
        const int limit = choices.other_max_length() == 0 ? 200 : choices.other_max_length();
        if (CodePoints(selection.other_text()) > limit) {
          return AnswerError(
              field, question,
              absl::StrCat("the \"other\" text is longer than ", limit, " characters"));
        }
      }
      const int selections = selection.choice_ids_size() + (has_other ? 1 : 0);
      if (question.has_single_choice()) {
        if (selections != 1) {
          return AnswerError(field, question,
                             absl::StrCat("exactly one choice must be selected, not ", selections));
        }
        return absl::OkStatus();
      }
      const int min = std::max(1, choices.min_selections());
      if (selections < min) {
        return AnswerError(
            field, question,
            absl::StrCat(selections, " selections are fewer than the minimum ", min));
      }
      if (choices.max_selections() > 0 && selections > choices.max_selections()) {
        return AnswerError(field, question,
                           absl::StrCat(selections, " selections are more than the maximum ",
                                        choices.max_selections()));
      }
      return absl::OkStatus();
    }
    case v1::Question::kYesNo:
      if (answer.value_case() != v1::Answer::kYesNo) return wrong_case("yes_no");
      return absl::OkStatus();
    case v1::Question::kNumber: {
      if (answer.value_case() != v1::Answer::kNumber) return wrong_case("number");
      const v1::NumberQuestion& number = question.number();
      const double value = answer.number();
      if (!std::isfinite(value)) return AnswerError(field, question, "the number is not finite");
      if (number.has_min_value() && value < number.min_value()) {
        return AnswerError(field, question,
                           absl::StrCat(FormatNumber(value), " is below the minimum ",
                                        FormatNumber(number.min_value())));
      }
      if (number.has_max_value() && value > number.max_value()) {
        return AnswerError(field, question,
                           absl::StrCat(FormatNumber(value), " is above the maximum ",
                                        FormatNumber(number.max_value())));
      }
      if (number.integer_only() && value != std::floor(value)) {
        return AnswerError(field, question,
                           absl::StrCat(FormatNumber(value), " is not a whole number"));
      }
      return absl::OkStatus();
    }
    case v1::Question::kFreeText: {
      if (answer.value_case() != v1::Answer::kText) return wrong_case("text");
      answer.set_text(std::string(absl::StripAsciiWhitespace(answer.text())));
      const v1::FreeTextQuestion& text = question.free_text();
      const int64_t length = CodePoints(answer.text());
      if (length == 0) {
        return AnswerError(field, question, "the text is empty (decline or clear instead)");
      }
      const int max = text.max_length() == 0 ? 1000 : text.max_length();
      if (length > max) {
        return AnswerError(
            field, question,
            absl::StrCat("the text is ", length, " characters, over the limit ", max));
      }
      if (length < text.min_length()) {
        return AnswerError(field, question,
                           absl::StrCat("the text is ", length, " characters, under the minimum ",
                                        text.min_length()));
      }
      return absl::OkStatus();
    }
    default:
      return AnswerError(field, question, "the question has no type");
  }
}

void FillComputedFields(const v1::SurveyDefinition& definition, v1::SurveyResponse& response) {
  AnswerMap answers;
  for (const v1::Answer& answer : response.answers()) answers[answer.question_id()] = &answer;
  response.clear_pending_question_ids();
  response.clear_missing_required_question_ids();
  for (const v1::Question* question : ShownQuestions(definition, answers, response.channel())) {
    auto it = answers.find(question->question_id());
    if (it == answers.end()) {
      response.add_pending_question_ids(question->question_id());
    }
    if (question->required() && (it == answers.end() || !Answered(it->second))) {
      response.add_missing_required_question_ids(question->question_id());
    }
  }
}

absl::Status ApplySubmission(const v1::SurveyDefinition& definition,
                             const v1::SubmitResponseRequest& request, absl::Time now,
                             v1::SurveyResponse& response) {
  std::map<std::string, const v1::Question*> questions;
  for (const v1::Question& question : definition.questions()) {
    questions[question.question_id()] = &question;
  }
  // The merged answers: stored ones, minus cleared, replaced by the request's.
  std::map<std::string, v1::Answer> merged;
  for (const v1::Answer& answer : response.answers()) merged[answer.question_id()] = answer;
  for (int i = 0; i < request.cleared_question_ids_size(); ++i) {
    const std::string& id = request.cleared_question_ids(i);
    if (!questions.count(id)) {
      return InvalidArgumentError(
          absl::StrCat("cleared_question_ids[", i, "]"),
          absl::StrCat("\"", id, "\" is not a question of the pinned version"));
    }
    merged.erase(id);
  }
  std::set<std::string> in_request;
  for (int i = 0; i < request.answers_size(); ++i) {
    const v1::Answer& answer = request.answers(i);
    const std::string field = absl::StrCat("answers[", i, "]");
    auto it = questions.find(answer.question_id());
    if (it == questions.end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, " (question \"", answer.question_id(),
                                                     "\"): not a question of the pinned version ",
                                                     response.survey_version()));
    }
    if (!in_request.insert(answer.question_id()).second) {
      return AnswerError(field, *it->second, "answered twice in one request");
    }
    v1::Answer normalised = answer;
    normalised.clear_answer_time();
    CC_RETURN_IF_ERROR(ValidateAnswer(*it->second, normalised, field));
    *normalised.mutable_answer_time() = common::TimestampFromTime(now);
    merged[answer.question_id()] = std::move(normalised);
  }
  AnswerMap merged_view;
  for (const auto& [id, answer] : merged) merged_view[id] = &answer;
  std::set<std::string> shown;
  for (const v1::Question* question : ShownQuestions(definition, merged_view, response.channel())) {
    shown.insert(question->question_id());
  }
  for (int i = 0; i < request.answers_size(); ++i) {
    if (!shown.count(request.answers(i).question_id())) {
      return AnswerError(absl::StrCat("answers[", i, "]"),
                         *questions[request.answers(i).question_id()],
                         response.channel() == v1::SURVEY_CHANNEL_KEYPAD &&
                                 questions[request.answers(i).question_id()]->has_free_text()
                             ? "free-text questions are not asked on the KEYPAD channel"
                             : "not shown under the answers given (its display condition does "
                               "not hold)");
    }
  }
  // Answers in question order; hidden ones dropped.
  google::protobuf::RepeatedPtrField<v1::Answer> answers;
  for (const v1::Question& question : definition.questions()) {
    auto it = merged.find(question.question_id());
    if (it != merged.end() && shown.count(question.question_id())) {
      *answers.Add() = it->second;
    }
  }
  v1::SurveyResponse updated = response;
  *updated.mutable_answers() = std::move(answers);
  FillComputedFields(definition, updated);
  if (request.complete()) {
    if (!updated.missing_required_question_ids().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("complete: question \"", updated.missing_required_question_ids(0),
                       "\" is required and not answered (missing: ",
                       absl::StrJoin(updated.missing_required_question_ids(), ", "), ")"));
    }
    updated.set_state(v1::RESPONSE_STATE_COMPLETED);
    *updated.mutable_complete_time() = common::TimestampFromTime(now);
    updated.clear_expire_time();
  }
  response = std::move(updated);
  return absl::OkStatus();
}

absl::Status ValidateScorecard(const v1::Scorecard& scorecard) {
  if (absl::StripAsciiWhitespace(scorecard.display_name()).empty()) {
    return InvalidArgumentError("scorecard.display_name", "must not be empty");
  }
  if (scorecard.criteria().empty() || scorecard.criteria_size() > 50) {
    return InvalidArgumentError("scorecard.criteria", "must hold 1 to 50 criteria");
  }
  if (!(scorecard.passing_score_percent() >= 0 && scorecard.passing_score_percent() <= 100)) {
    return InvalidArgumentError("scorecard.passing_score_percent", "must be 0..100");
  }
  std::set<std::string> ids;
  for (int i = 0; i < scorecard.criteria_size(); ++i) {
    const v1::Criterion& criterion = scorecard.criteria(i);
    const std::string path = absl::StrCat("scorecard.criteria[", i, "]");
    if (!IsValidKey(criterion.criterion_id())) {
      return InvalidArgumentError(absl::StrCat(path, ".criterion_id"),
                                  "must be 1-63 characters of [a-z0-9_] starting with a letter");
    }
    if (!ids.insert(criterion.criterion_id()).second) {
      return InvalidArgumentError(absl::StrCat(path, ".criterion_id"),
                                  absl::StrCat("\"", criterion.criterion_id(), "\" is repeated"));
    }
    if (criterion.display_name().empty()) {
      return InvalidArgumentError(absl::StrCat(path, ".display_name"), "must not be empty");
    }
    if (!(criterion.weight() > 0) || !std::isfinite(criterion.weight())) {
      return InvalidArgumentError(absl::StrCat(path, ".weight"), "must be above 0");
    }
    if (criterion.scale_type() != v1::CRITERION_SCALE_TYPE_PASS_FAIL) {
      if (criterion.min_score() < 0) {
        return InvalidArgumentError(absl::StrCat(path, ".min_score"), "must be at least 0");
      }
      if (criterion.max_score() <= criterion.min_score() || criterion.max_score() > 100) {
        return InvalidArgumentError(absl::StrCat(path, ".max_score"),
                                    "must be above min_score and at most 100");
      }
      if (criterion.has_passing_score() && (criterion.passing_score() < criterion.min_score() ||
                                            criterion.passing_score() > criterion.max_score())) {
        return InvalidArgumentError(absl::StrCat(path, ".passing_score"),
                                    "must be within the scale");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ScoreEvaluation(const v1::Scorecard& scorecard,
                             const google::protobuf::RepeatedPtrField<v1::CriterionScore>& scores,
                             v1::Evaluation& evaluation) {
  std::map<std::string, int> given;
  for (int i = 0; i < scores.size(); ++i) {
    const std::string field = absl::StrCat("scores[", i, "]");
    bool known = false;
    for (const v1::Criterion& criterion : scorecard.criteria()) {
      known = known || criterion.criterion_id() == scores[i].criterion_id();
    }
    if (!known) {
      return InvalidArgumentError(
          field, absl::StrCat("\"", scores[i].criterion_id(), "\" is not a criterion of ",
                              scorecard.name(), " revision ", scorecard.revision()));
    }
    if (!given.emplace(scores[i].criterion_id(), i).second) {
      return InvalidArgumentError(
          field, absl::StrCat("criterion \"", scores[i].criterion_id(), "\" is scored twice"));
    }
  }
  evaluation.clear_scores();
  double weighted = 0;
  double weights = 0;
  bool critical_failure = false;
  for (const v1::Criterion& criterion : scorecard.criteria()) {
    auto it = given.find(criterion.criterion_id());
    if (it == given.end()) {
      return InvalidArgumentError(
          "scores", absl::StrCat("criterion \"", criterion.criterion_id(), "\" is not scored"));
    }
    const v1::CriterionScore& input = scores[it->second];
    const std::string field = absl::StrCat("scores[", it->second, "]");
    v1::CriterionScore& score = *evaluation.add_scores();
    score.set_criterion_id(criterion.criterion_id());
    score.set_comment(input.comment());
    score.set_display_name(criterion.display_name());
    score.set_standard(criterion.standard() == v1::STANDARD_CRITERION_UNSPECIFIED
                           ? v1::STANDARD_CRITERION_CUSTOM
                           : criterion.standard());
    score.set_weight(criterion.weight());
    score.set_critical(criterion.critical());
    if (input.not_applicable()) {
      if (!criterion.allow_not_applicable()) {
        return InvalidArgumentError(field, absl::StrCat("criterion \"", criterion.criterion_id(),
                                                        "\" cannot be marked not applicable"));
      }
      if (input.has_score()) {
        return InvalidArgumentError(field, "a not-applicable criterion carries no score");
      }
      score.set_not_applicable(true);
      continue;
    }
    if (!input.has_score()) {
      return InvalidArgumentError(
          field, absl::StrCat("criterion \"", criterion.criterion_id(), "\" has no score"));
    }
    const bool pass_fail = criterion.scale_type() == v1::CRITERION_SCALE_TYPE_PASS_FAIL;
    const int low = pass_fail ? 0 : criterion.min_score();
    const int high = pass_fail ? 1 : criterion.max_score();
    if (input.score() < low || input.score() > high) {
      return InvalidArgumentError(
          field, absl::StrCat("score ", input.score(), " of criterion \"", criterion.criterion_id(),
                              "\" is outside ", low, "..", high));
    }
    score.set_score(input.score());
    const double percent = 100.0 * (input.score() - low) / (high - low);
    score.set_points_percent(percent);
    const bool failed =
        pass_fail ? input.score() == 0
                  : (criterion.has_passing_score() && input.score() < criterion.passing_score());
    score.set_failed(failed);
    if (failed && criterion.comment_required_on_fail() &&
        absl::StripAsciiWhitespace(input.comment()).empty()) {
      return InvalidArgumentError(absl::StrCat(field, ".comment"),
                                  absl::StrCat("criterion \"", criterion.criterion_id(),
                                               "\" failed and requires a comment"));
    }
    critical_failure = critical_failure || (failed && criterion.critical());
    weighted += criterion.weight() * percent;
    weights += criterion.weight();
  }
  double total = weights > 0 ? weighted / weights : 0;
  if (critical_failure && scorecard.critical_failure_zeroes_score()) total = 0;
  evaluation.set_score_percent(total);
  evaluation.set_critical_failure(critical_failure);
  evaluation.set_passed(!critical_failure && total >= scorecard.passing_score_percent());
  return absl::OkStatus();
}

}  // namespace contactcentre::surveys
