// The rules of surveys without a database: display conditions, answer validation, submissions
// and evaluation scoring.
#include "services/surveys/survey_logic.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace contactcentre::surveys {
namespace {

v1::Question Rating(const std::string& id) {
  v1::Question question;
  question.set_question_id(id);
  question.set_text(id);
  question.mutable_rating();
  return question;
}

v1::Question MultipleChoice(const std::string& id) {
  v1::Question question;
  question.set_question_id(id);
  question.set_text(id);
  for (const char* choice : {"a", "b", "c"}) {
    v1::Choice* added = question.mutable_multiple_choice()->add_choices();
    added->set_choice_id(choice);
    added->set_text(choice);
  }
  return question;
}

v1::AnswerCondition Cond(const std::string& id, v1::ConditionOperator op, double number = 0,
                         std::vector<std::string> choices = {}) {
  v1::AnswerCondition test;
  test.set_question_id(id);
  test.set_operator_(op);
  test.set_number(number);
  for (const std::string& choice : choices) test.add_choice_ids(choice);
  return test;
}

v1::Answer Score(const std::string& id, int score) {
  v1::Answer answer;
  answer.set_question_id(id);
  answer.set_score(score);
  return answer;
}

TEST(SurveyLogicTest, Keys) {
  EXPECT_TRUE(IsValidKey("overall_2"));
  EXPECT_FALSE(IsValidKey("2overall"));
  EXPECT_FALSE(IsValidKey("Overall"));
  EXPECT_FALSE(IsValidKey(""));
  EXPECT_FALSE(IsValidKey(std::string(64, 'a')));
  EXPECT_TRUE(IsValidResourceId("csat-retail"));
  EXPECT_FALSE(IsValidResourceId("csat_retail"));
}

TEST(SurveyLogicTest, ConditionsMatchAllOrAnyAndAreProgressive) {
  v1::SurveyDefinition definition;
  *definition.add_questions() = Rating("first");
  *definition.add_questions() = MultipleChoice("picks");
  // "low": shown when first <= 2 OR picks has c.
  v1::Question low = Rating("low");
  *low.mutable_display_condition()->add_conditions() =
      Cond("first", v1::CONDITION_OPERATOR_LESS_THAN_OR_EQUAL, 2);
  *low.mutable_display_condition()->add_conditions() =
      Cond("picks", v1::CONDITION_OPERATOR_ANY_OF, 0, {"c"});
  low.mutable_display_condition()->set_match(v1::CONDITION_MATCH_ANY);
  *definition.add_questions() = low;
  // "after_low": shown when low was answered.
  v1::Question after = Rating("after_low");
  *after.mutable_display_condition()->add_conditions() =
      Cond("low", v1::CONDITION_OPERATOR_ANSWERED);
  *definition.add_questions() = after;

  v1::Answer first = Score("first", 5);
  v1::Answer low_answer = Score("low", 1);
  AnswerMap answers = {{"first", &first}, {"low", &low_answer}};
  // low is hidden (5 > 2, no picks), so its stale answer does not show after_low.
  std::vector<const v1::Question*> shown =
      ShownQuestions(definition, answers, v1::SURVEY_CHANNEL_OPERATOR);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[1]->question_id(), "picks");

  v1::Answer picks;
  picks.set_question_id("picks");
  picks.mutable_choices()->add_choice_ids("c");
  answers["picks"] = &picks;
  shown = ShownQuestions(definition, answers, v1::SURVEY_CHANNEL_OPERATOR);
  ASSERT_EQ(shown.size(), 4u) << "picks has c: low shown, and then after_low";
}

TEST(SurveyLogicTest, NegativeOperatorsNeedAnAnswer) {
  v1::Question question = Rating("q");
  *question.mutable_display_condition()->add_conditions() =
      Cond("m", v1::CONDITION_OPERATOR_NONE_OF, 0, {"a"});
  AnswerMap none;
  EXPECT_FALSE(IsShown(question, none, v1::SURVEY_CHANNEL_LINK)) << "unanswered";
  v1::Answer declined;
  declined.set_question_id("m");
  declined.set_declined(true);
  AnswerMap with_declined = {{"m", &declined}};
  EXPECT_FALSE(IsShown(question, with_declined, v1::SURVEY_CHANNEL_LINK));
  v1::Answer b;
  b.set_question_id("m");
  b.mutable_choices()->add_choice_ids("b");
  AnswerMap with_b = {{"m", &b}};
  EXPECT_TRUE(IsShown(question, with_b, v1::SURVEY_CHANNEL_LINK));
  // Free text is never asked on the keypad.
  v1::Question text;
  text.set_question_id("t");
  text.mutable_free_text();
  EXPECT_FALSE(IsShown(text, none, v1::SURVEY_CHANNEL_KEYPAD));
  EXPECT_TRUE(IsShown(text, none, v1::SURVEY_CHANNEL_LINK));
}

TEST(SurveyLogicTest, AnswersAreValidatedAndNormalised) {
  v1::Question text;
  text.set_question_id("t");
  text.mutable_free_text()->set_max_length(3);
  v1::Answer answer;
  answer.set_question_id("t");
  answer.set_text("  ёжи  ");
  ASSERT_TRUE(ValidateAnswer(text, answer, "answers[0]").ok()) << "3 characters, 6 bytes";
  EXPECT_EQ(answer.text(), "ёжи");
  answer.set_text("ёжик");
  absl::Status status = ValidateAnswer(text, answer, "answers[0]");
  EXPECT_EQ(status.message(),
            "answers[0] (question \"t\"): the text is 4 characters, over the limit 3");

  v1::Question number;
  number.set_question_id("n");
  number.mutable_number()->set_max_value(1.5);
  v1::Answer value;
  value.set_question_id("n");
  value.set_number(1.5);
  EXPECT_TRUE(ValidateAnswer(number, value, "answers[0]").ok()) << "inclusive bound";
  value.set_number(std::nan(""));
  EXPECT_FALSE(ValidateAnswer(number, value, "answers[0]").ok());
}

TEST(SurveyLogicTest, SubmissionsDropHiddenAnswersAndCheckRequiredOnCompletion) {
  v1::SurveyDefinition definition;
  v1::Question first = Rating("first");
  first.set_required(true);
  *definition.add_questions() = first;
  v1::Question why = Rating("why");
  why.set_required(true);
  *why.mutable_display_condition()->add_conditions() =
      Cond("first", v1::CONDITION_OPERATOR_LESS_THAN, 3);
  *definition.add_questions() = why;
  v1::SurveyResponse response;
  response.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  response.set_state(v1::RESPONSE_STATE_IN_PROGRESS);
  v1::SubmitResponseRequest request;
  *request.add_answers() = Score("first", 1);
  *request.add_answers() = Score("why", 2);
  ASSERT_TRUE(ApplySubmission(definition, request, absl::Now(), response).ok());
  EXPECT_EQ(response.answers_size(), 2);
  request.clear_answers();
  *request.add_answers() = Score("first", 5);
  request.set_complete(true);
  ASSERT_TRUE(ApplySubmission(definition, request, absl::Now(), response).ok());
  ASSERT_EQ(response.answers_size(), 1) << "why became hidden";
  EXPECT_EQ(response.state(), v1::RESPONSE_STATE_COMPLETED);

  v1::SurveyResponse other;
  other.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  request.clear_answers();
  *request.add_answers() = Score("first", 1);
  absl::Status status = ApplySubmission(definition, request, absl::Now(), other);
  EXPECT_TRUE(absl::StartsWith(status.message(), "complete: question \"why\" is required"))
      << status.message();
  EXPECT_EQ(other.answers_size(), 0) << "unchanged on error";
}

TEST(SurveyLogicTest, EvaluationsAreWeightedAndCriticalFailuresZero) {
  v1::Scorecard scorecard;
  scorecard.set_name("scorecards/s");
  scorecard.set_display_name("s");
  scorecard.set_passing_score_percent(80);
  v1::Criterion* polite = scorecard.add_criteria();
  polite->set_criterion_id("polite");
  polite->set_display_name("Polite");
  polite->set_weight(3);
  polite->set_min_score(1);
  polite->set_max_score(5);
  polite->set_passing_score(3);
  polite->set_critical(true);
  v1::Criterion* knows = scorecard.add_criteria();
  knows->set_criterion_id("knows");
  knows->set_display_name("Knows");
  knows->set_weight(1);
  knows->set_scale_type(v1::CRITERION_SCALE_TYPE_PASS_FAIL);
  ASSERT_TRUE(ValidateScorecard(scorecard).ok());

  google::protobuf::RepeatedPtrField<v1::CriterionScore> scores;
  v1::CriterionScore* a = scores.Add();
  a->set_criterion_id("knows");
  a->set_score(0);
  v1::CriterionScore* b = scores.Add();
  b->set_criterion_id("polite");
  b->set_score(4);
  v1::Evaluation evaluation;
  ASSERT_TRUE(ScoreEvaluation(scorecard, scores, evaluation).ok());
  // polite (4 - 1) / (5 - 1) = 75 % x 3, knows 0 % x 1: 225 / 4 = 56.25 %.
  EXPECT_DOUBLE_EQ(evaluation.score_percent(), 56.25);
  EXPECT_FALSE(evaluation.passed());
  EXPECT_FALSE(evaluation.critical_failure());
  EXPECT_EQ(evaluation.scores(0).criterion_id(), "polite") << "in the scorecard's order";

  b->set_score(2);
  a->set_score(1);
  scorecard.set_critical_failure_zeroes_score(true);
  ASSERT_TRUE(ScoreEvaluation(scorecard, scores, evaluation).ok());
  EXPECT_TRUE(evaluation.critical_failure());
  EXPECT_DOUBLE_EQ(evaluation.score_percent(), 0);

  b->set_score(6);
  absl::Status status = ScoreEvaluation(scorecard, scores, evaluation);
  EXPECT_TRUE(absl::StartsWith(status.message(), "invalid scores[1]")) << status.message();
}

}  // namespace
}  // namespace contactcentre::surveys
