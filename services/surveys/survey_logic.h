// The rules of surveys that need no database: what a publishable definition is, which questions
// a set of answers shows, whether an answer fits its question, how a submission changes a
// response, and how a quality evaluation is scored. The stores call these inside their
// transactions; unit tests call them directly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/surveys/v1/quality.pb.h"
#include "contactcentre/surveys/v1/response.pb.h"
#include "contactcentre/surveys/v1/survey.pb.h"
#include "contactcentre/surveys/v1/survey_service.pb.h"

namespace contactcentre::surveys {

namespace v1 = ::contactcentre::surveys::v1;

// True for 1-63 characters of [a-z0-9_] starting with a letter (question, choice and criterion
// keys).
bool IsValidKey(absl::string_view key);
// True for 1-63 characters of [a-z0-9-] starting with a letter (client-chosen resource ids).
bool IsValidResourceId(absl::string_view id);

// The question type of a question's `kind`.
v1::QuestionType TypeOf(const v1::Question& question);

// Checks a draft for PublishSurvey: INVALID_ARGUMENT naming the field under `prefix` (e.g.
// "draft.questions[2].single_choice.choices: at least one choice is required").
absl::Status ValidatePublishable(const v1::SurveyDefinition& definition, absl::string_view prefix);

// Light checks of a draft on create and update (sizes only; drafts may be incomplete).
absl::Status ValidateDraft(const v1::SurveyDefinition& definition, absl::string_view prefix);

// The resume window of a definition (7 days when unset).
absl::Duration ResumeWindow(const v1::SurveyDefinition& definition);

// Answers by question_id.
using AnswerMap = std::map<std::string, const v1::Answer*>;

// Whether `question` is shown under `answers` on `channel`: free text is never asked on KEYPAD;
// otherwise its display condition decides (unset: shown).
bool IsShown(const v1::Question& question, const AnswerMap& answers, v1::SurveyChannel channel);

// The questions shown under `answers`, in order, evaluated progressively: an answer to a
// hidden question never makes a later one shown.
std::vector<const v1::Question*> ShownQuestions(const v1::SurveyDefinition& definition,
                                                const AnswerMap& answers,
                                                v1::SurveyChannel channel);

// Checks one answer against its question; on success `answer` is normalised (free and "other"
// texts trimmed). INVALID_ARGUMENT "<field> (question "<id>"): <problem>".
absl::Status ValidateAnswer(const v1::Question& question, v1::Answer& answer,
                            absl::string_view field);

// Applies a SubmitResponse request to an IN_PROGRESS response on its pinned definition: merges
// the answers (stamping `now`), validates each against the question and its display condition,
// drops stored answers that became hidden, and, with `complete`, checks that every shown
// required question is answered and completes the response. On error nothing of `response` is
// changed. Fills the computed fields (see FillComputedFields).
absl::Status ApplySubmission(const v1::SurveyDefinition& definition,
                             const v1::SubmitResponseRequest& request, absl::Time now,
                             v1::SurveyResponse& response);

// Sets pending_question_ids and missing_required_question_ids of `response`.
void FillComputedFields(const v1::SurveyDefinition& definition, v1::SurveyResponse& response);

// Quality: checks a scorecard for create or update, INVALID_ARGUMENT naming "scorecard.<field>".
absl::Status ValidateScorecard(const v1::Scorecard& scorecard);

// Quality: validates `scores` against the criteria of `scorecard` (one per criterion, any
// order) and computes the evaluation's scores, snapshots, total, critical failure and pass.
absl::Status ScoreEvaluation(const v1::Scorecard& scorecard,
                             const google::protobuf::RepeatedPtrField<v1::CriterionScore>& scores,
                             v1::Evaluation& evaluation);

}  // namespace contactcentre::surveys
