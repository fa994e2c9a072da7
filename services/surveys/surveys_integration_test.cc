// SurveyService on real PostgreSQL: drafts and versions, responses validated against their
// pinned version, every kind of invalid answer refused with nothing stored, conditions, partial
// and resumed responses, idempotency, events, results (CSAT and NPS worked out by hand) and
// the CSV export.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/pg_util.h"
#include "services/surveys/testing/surveys_test_env.h"

namespace contactcentre::surveys {
namespace {

using testing::Call;
using testing::SurveysTestEnv;
using Stub = v1::SurveyService::Stub;

v1::Question Rating(const std::string& id, bool required, bool headline = false) {
  v1::Question question;
  question.set_question_id(id);
  question.set_text("How satisfied are you?");
  question.set_required(required);
  question.mutable_rating()->set_headline_csat(headline);
  return question;
}

v1::Question Nps(const std::string& id, bool required, bool headline = false) {
  v1::Question question;
  question.set_question_id(id);
  question.set_text("Would you recommend us?");
  question.set_required(required);
  question.mutable_nps()->set_headline_nps(headline);
  return question;
}

v1::Question Choice(const std::string& id, bool multiple, std::vector<std::string> choices,
                    bool allow_other, bool required) {
  v1::Question question;
  question.set_question_id(id);
  question.set_text("Choose");
  question.set_required(required);
  v1::ChoiceQuestion* kind =
      multiple ? question.mutable_multiple_choice() : question.mutable_single_choice();
  for (const std::string& choice : choices) {
    v1::Choice* added = kind->add_choices();
    added->set_choice_id(choice);
    added->set_text(choice);
  }
  kind->set_allow_other(allow_other);
  if (multiple) kind->set_max_selections(2);
  return question;
}

// The standard test survey: overall (rating, required, headline CSAT), recommend (NPS,
// required, headline NPS), reason (single choice with other, required, shown when overall <=
// 3), topics (multiple 1..2), called_before (yes/no), visits (whole number 0..10), comment (free
// text up to 20 characters).
v1::SurveyDefinition StandardDefinition() {
  v1::SurveyDefinition definition;
  definition.set_title("How did we do?");
  definition.set_language("en");
  definition.add_channels(v1::SURVEY_CHANNEL_OPERATOR);
  definition.add_channels(v1::SURVEY_CHANNEL_LINK);
  *definition.add_questions() = Rating("overall", true, true);
  *definition.add_questions() = Nps("recommend", true, true);
  v1::Question reason = Choice("reason", false, {"price", "service", "speed"}, true, true);
  v1::AnswerCondition* test = reason.mutable_display_condition()->add_conditions();
  test->set_question_id("overall");
  test->set_operator_(v1::CONDITION_OPERATOR_LESS_THAN_OR_EQUAL);
  test->set_number(3);
  *definition.add_questions() = reason;
  *definition.add_questions() = Choice("topics", true, {"a", "b", "c"}, false, false);
  v1::Question yes_no;
  yes_no.set_question_id("called_before");
  yes_no.set_text("Did you call before?");
  yes_no.mutable_yes_no();
  *definition.add_questions() = yes_no;
  v1::Question visits;
  visits.set_question_id("visits");
  visits.set_text("How many visits?");
  visits.mutable_number()->set_min_value(0);
  visits.mutable_number()->set_max_value(10);
  visits.mutable_number()->set_integer_only(true);
  *definition.add_questions() = visits;
  v1::Question comment;
  comment.set_question_id("comment");
  comment.set_text("Anything else?");
  comment.mutable_free_text()->set_max_length(20);
  *definition.add_questions() = comment;
  return definition;
}

v1::Answer Score(const std::string& id, int score) {
  v1::Answer answer;
  answer.set_question_id(id);
  answer.set_score(score);
  return answer;
}
v1::Answer Choices(const std::string& id, std::vector<std::string> ids, std::string other = "") {
  v1::Answer answer;
  answer.set_question_id(id);
  for (const std::string& choice : ids) answer.mutable_choices()->add_choice_ids(choice);
  answer.mutable_choices()->set_other_text(other);
  return answer;
}
v1::Answer Number(const std::string& id, double value) {
  v1::Answer answer;
  answer.set_question_id(id);
  answer.set_number(value);
  return answer;
}
v1::Answer Text(const std::string& id, const std::string& text) {
  v1::Answer answer;
  answer.set_question_id(id);
  answer.set_text(text);
  return answer;
}
v1::Answer Declined(const std::string& id) {
  v1::Answer answer;
  answer.set_question_id(id);
  answer.set_declined(true);
  return answer;
}

class SurveysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = SurveysTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::Survey Create(const v1::SurveyDefinition& definition, const std::string& id = "") {
    v1::CreateSurveyRequest request;
    request.set_request_id(common::NewId());
    request.set_survey_id(id);
    request.mutable_survey()->set_display_name("Post-call CSAT");
    *request.mutable_survey()->mutable_draft() = definition;
    v1::Survey survey;
    grpc::Status status = Call(&Stub::CreateSurvey, env_->surveys(), request, &survey);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return survey;
  }

  grpc::Status Publish(const std::string& name, v1::SurveyVersion* version) {
    v1::PublishSurveyRequest request;
    request.set_request_id(common::NewId());
    request.set_name(name);
    return Call(&Stub::PublishSurvey, env_->surveys(), request, version);
  }

  v1::SurveyResponse Start(const std::string& survey_or_version, const std::string& op = "",
                           v1::SurveyChannel channel = v1::SURVEY_CHANNEL_OPERATOR) {
    v1::StartResponseRequest request;
    request.set_request_id(common::NewId());
    if (absl::StrContains(survey_or_version, "/versions/")) {
      request.set_survey_version(survey_or_version);
    } else {
      request.set_survey(survey_or_version);
    }
    request.set_channel(channel);
    request.set_operator_(op);
    request.set_queue("queues/q1");
    v1::StartResponseResponse response;
    grpc::Status status = Call(&Stub::StartResponse, env_->surveys(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.response();
  }

  grpc::Status Submit(const std::string& name, std::vector<v1::Answer> answers, bool complete,
                      v1::SurveyResponse* out, const std::string& request_id = "") {
    v1::SubmitResponseRequest request;
    request.set_request_id(request_id.empty() ? common::NewId() : request_id);
    request.set_name(name);
    for (v1::Answer& answer : answers) *request.add_answers() = std::move(answer);
    request.set_complete(complete);
    return Call(&Stub::SubmitResponse, env_->surveys(), request, out);
  }

  v1::SurveyResponse Get(const std::string& name) {
    v1::GetResponseRequest request;
    request.set_name(name);
    v1::SurveyResponse response;
    EXPECT_TRUE(Call(&Stub::GetResponse, env_->surveys(), request, &response).ok());
    return response;
  }

  std::unique_ptr<SurveysTestEnv> env_;
};

TEST_F(SurveysTest, DraftsPublishAndVersionsAreFrozen) {
  v1::Survey survey = Create(StandardDefinition(), "csat-retail");
  EXPECT_EQ(survey.name(), "surveys/csat-retail");
  EXPECT_EQ(survey.state(), v1::SURVEY_STATE_DRAFT);
  EXPECT_EQ(survey.latest_version(), 0);

  // A survey with that id already exists.
  v1::CreateSurveyRequest again;
  again.set_survey_id("csat-retail");
  again.mutable_survey()->set_display_name("x");
  v1::Survey ignored;
  EXPECT_EQ(Call(&Stub::CreateSurvey, env_->surveys(), again, &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // Never published: no responses.
  v1::StartResponseRequest start;
  start.set_survey(survey.name());
  start.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  v1::StartResponseResponse started;
  EXPECT_EQ(Call(&Stub::StartResponse, env_->surveys(), start, &started).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::SurveyVersion v1_;
  ASSERT_TRUE(Publish(survey.name(), &v1_).ok());
  EXPECT_EQ(v1_.name(), "surveys/csat-retail/versions/1");
  // Nothing changed since: nothing to publish.
  v1::SurveyVersion none;
  EXPECT_EQ(Publish(survey.name(), &none).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Edit the draft: the published version does not change.
  v1::UpdateSurveyRequest update;
  update.set_request_id(common::NewId());
  update.mutable_survey()->set_name(survey.name());
  update.mutable_survey()->mutable_draft()->set_title("New title");
  update.mutable_update_mask()->add_paths("draft.title");
  v1::Survey updated;
  ASSERT_TRUE(Call(&Stub::UpdateSurvey, env_->surveys(), update, &updated).ok());
  EXPECT_TRUE(updated.draft_modified());
  EXPECT_EQ(updated.draft().title(), "New title");
  EXPECT_EQ(updated.draft().questions_size(), 7) << "only the title was in the mask";
  // A stale etag is refused.
  update.set_request_id(common::NewId());
  update.mutable_survey()->set_etag(survey.etag());
  EXPECT_EQ(Call(&Stub::UpdateSurvey, env_->surveys(), update, &ignored).error_code(),
            grpc::StatusCode::ABORTED);

  v1::GetSurveyVersionRequest get_version;
  get_version.set_name("surveys/csat-retail/versions/latest");
  v1::SurveyVersion latest;
  ASSERT_TRUE(Call(&Stub::GetSurveyVersion, env_->surveys(), get_version, &latest).ok());
  EXPECT_EQ(latest.definition().title(), "How did we do?");

  v1::SurveyVersion v2;
  ASSERT_TRUE(Publish(survey.name(), &v2).ok());
  // ListSurveys finds it by its title (case-insensitive) and channel, not by another text.
  v1::ListSurveysRequest list_surveys;
  list_surveys.set_text_query("NEW TITLE");
  list_surveys.set_channel(v1::SURVEY_CHANNEL_LINK);
  v1::ListSurveysResponse listed;
  ASSERT_TRUE(Call(&Stub::ListSurveys, env_->surveys(), list_surveys, &listed).ok());
  ASSERT_EQ(listed.surveys_size(), 1);
  EXPECT_EQ(listed.surveys(0).name(), survey.name());
  list_surveys.set_channel(v1::SURVEY_CHANNEL_KEYPAD);
  ASSERT_TRUE(Call(&Stub::ListSurveys, env_->surveys(), list_surveys, &listed).ok());
  EXPECT_EQ(listed.surveys_size(), 0);
  list_surveys.clear_channel();
  list_surveys.set_text_query("no such");
  ASSERT_TRUE(Call(&Stub::ListSurveys, env_->surveys(), list_surveys, &listed).ok());
  EXPECT_EQ(listed.surveys_size(), 0);
  EXPECT_EQ(v2.version(), 2);
  v1::ListSurveyVersionsRequest list;
  list.set_parent(survey.name());
  v1::ListSurveyVersionsResponse versions;
  ASSERT_TRUE(Call(&Stub::ListSurveyVersions, env_->surveys(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 2);
  EXPECT_EQ(versions.versions(0).version(), 2);

  // Archive and restore.
  v1::DeleteSurveyRequest remove;
  remove.set_name(survey.name());
  v1::Survey archived;
  ASSERT_TRUE(Call(&Stub::DeleteSurvey, env_->surveys(), remove, &archived).ok());
  EXPECT_EQ(archived.state(), v1::SURVEY_STATE_ARCHIVED);
  start.set_request_id(common::NewId());
  EXPECT_EQ(Call(&Stub::StartResponse, env_->surveys(), start, &started).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::UndeleteSurveyRequest undelete;
  undelete.set_name(survey.name());
  v1::Survey restored;
  ASSERT_TRUE(Call(&Stub::UndeleteSurvey, env_->surveys(), undelete, &restored).ok());
  EXPECT_EQ(restored.state(), v1::SURVEY_STATE_PUBLISHED);
}

TEST_F(SurveysTest, UnpublishableDraftsAreRefusedNamingTheField) {
  struct Case {
    std::string name;
    std::function<void(v1::SurveyDefinition&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"no title", [](auto& d) { d.clear_title(); }, "draft.title"},
      {"no channel", [](auto& d) { d.clear_channels(); }, "draft.channels"},
      {"no question", [](auto& d) { d.clear_questions(); }, "draft.questions"},
      {"bad id", [](auto& d) { d.mutable_questions(1)->set_question_id("Bad Id"); },
       "draft.questions[1].question_id"},
      {"duplicate id", [](auto& d) { d.mutable_questions(1)->set_question_id("overall"); },
       "draft.questions[1].question_id"},
      {"no choices",
       [](auto& d) { d.mutable_questions(2)->mutable_single_choice()->clear_choices(); },
       "draft.questions[2].single_choice.choices"},
      {"two headline CSAT", [](auto& d) { *d.add_questions() = Rating("again", false, true); },
       "draft.questions[7].rating.headline_csat"},
      {"condition on a later question",
       [](auto& d) {
         d.mutable_questions(2)
             ->mutable_display_condition()
             ->mutable_conditions(0)
             ->set_question_id("visits");
       },
       "draft.questions[2].display_condition.conditions[0].question_id"},
      {"choice operator on a rating",
       [](auto& d) {
         d.mutable_questions(2)->mutable_display_condition()->mutable_conditions(0)->set_operator_(
             v1::CONDITION_OPERATOR_ANY_OF);
       },
       "draft.questions[2].display_condition.conditions[0].operator"},
      {"required free text on KEYPAD",
       [](auto& d) {
         d.add_channels(v1::SURVEY_CHANNEL_KEYPAD);
         d.mutable_questions(6)->set_required(true);
       },
       "draft.questions[6].required"},
      {"number range upside down",
       [](auto& d) { d.mutable_questions(5)->mutable_number()->set_min_value(20); },
       "draft.questions[5].number.max_value"},
  };
  for (const Case& c : cases) {
    v1::SurveyDefinition definition = StandardDefinition();
    c.edit(definition);
    v1::Survey survey = Create(definition);
    v1::SurveyVersion version;
    grpc::Status status = Publish(survey.name(), &version);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_TRUE(absl::StartsWith(status.error_message(), absl::StrCat("invalid ", c.field)))
        << c.name << ": " << status.error_message();
  }
}

TEST_F(SurveysTest, EveryKindOfInvalidAnswerIsRefusedAndNothingIsStored) {
  v1::Survey survey = Create(StandardDefinition());
  v1::SurveyVersion version;
  ASSERT_TRUE(Publish(survey.name(), &version).ok());
  v1::SurveyResponse response = Start(survey.name());
  v1::SurveyResponse stored;
  ASSERT_TRUE(Submit(response.name(), {Score("overall", 2)}, false, &stored).ok());
  ASSERT_EQ(stored.answers_size(), 1);
  EXPECT_EQ(stored.pending_question_ids(0), "recommend");

  struct Case {
    std::string name;
    std::vector<v1::Answer> answers;
    bool complete;
    std::string expected;  // start of the message
  };
  v1::Answer rating_as_text = Text("overall", "five");
  v1::Answer declined_with_value = Declined("topics");
  declined_with_value.mutable_choices()->add_choice_ids("a");
  const std::vector<Case> cases = {
      {"unknown question", {Score("nope", 3)}, false, "answers[0] (question \"nope\")"},
      {"rating above 5",
       {Score("overall", 6)},
       false,
       "answers[0] (question \"overall\"): 6 is above the maximum 5"},
      {"rating below 1",
       {Score("overall", 0)},
       false,
       "answers[0] (question \"overall\"): 0 is below the minimum 1"},
      {"wrong value type", {rating_as_text}, false, "answers[0] (question \"overall\")"},
      {"NPS above 10",
       {Score("recommend", 11)},
       false,
       "answers[0] (question \"recommend\"): 11 is above the maximum 10"},
      {"unknown choice",
       {Choices("reason", {"cheap"})},
       false,
       "answers[0] (question \"reason\"): \"cheap\" is not a choice"},
      {"two single choices",
       {Choices("reason", {"price", "speed"})},
       false,
       "answers[0] (question \"reason\"): exactly one choice"},
      {"other not allowed",
       {Choices("topics", {"a"}, "mine")},
       false,
       "answers[0] (question \"topics\"): this question takes no \"other\""},
      {"too many selections",
       {Choices("topics", {"a", "b", "c"})},
       false,
       "answers[0] (question \"topics\"): 3 selections are more than the maximum 2"},
      {"too few selections",
       {Choices("topics", {})},
       false,
       "answers[0] (question \"topics\"): 0 selections are fewer than the minimum 1"},
      {"repeated choice",
       {Choices("topics", {"a", "a"})},
       false,
       "answers[0] (question \"topics\"): \"a\" is selected twice"},
      {"number above range",
       {Number("visits", 12)},
       false,
       "answers[0] (question \"visits\"): 12 is above the maximum 10"},
      {"number below range",
       {Number("visits", -1)},
       false,
       "answers[0] (question \"visits\"): -1 is below the minimum 0"},
      {"number not whole",
       {Number("visits", 2.5)},
       false,
       "answers[0] (question \"visits\"): 2.5 is not a whole number"},
      {"text too long",
       {Text("comment", "this text is longer than twenty")},
       false,
       "answers[0] (question \"comment\"): the text is 31 characters"},
      {"text empty",
       {Text("comment", "   ")},
       false,
       "answers[0] (question \"comment\"): the text is empty"},
      {"declined required",
       {Declined("overall")},
       false,
       "answers[0] (question \"overall\"): a required question cannot be declined"},
      {"declined with a value",
       {declined_with_value},
       false,
       "answers[0] (question \"topics\"): a declined answer carries no value"},
      {"hidden question",
       {Score("overall", 5), Choices("reason", {"price"})},
       false,
       "answers[1] (question \"reason\"): not shown"},
      {"answered twice",
       {Number("visits", 1), Number("visits", 2)},
       false,
       "answers[1] (question \"visits\"): answered twice"},
      {"valid then invalid",
       {Number("visits", 3), Score("recommend", 12)},
       false,
       "answers[1] (question \"recommend\")"},
      {"complete without a required answer",
       {Number("visits", 3)},
       true,
       "complete: question \"recommend\" is required"},
  };
  for (const Case& c : cases) {
    v1::SurveyResponse out;
    grpc::Status status = Submit(response.name(), c.answers, c.complete, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.expected))
        << c.name << ": " << status.error_message();
    v1::SurveyResponse after = Get(response.name());
    EXPECT_EQ(after.etag(), stored.etag()) << c.name << ": nothing may be stored";
    EXPECT_EQ(after.answers_size(), 1) << c.name;
    EXPECT_EQ(after.state(), v1::RESPONSE_STATE_IN_PROGRESS) << c.name;
  }
  // No event for the refused submissions: only the first, accepted one.
  const auto submitted = [&] {
    int count = 0;
    for (const auto& event : env_->Events()) count += event.has_survey_response_submitted();
    return count;
  };
  for (int i = 0; i < 200 && submitted() == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(submitted(), 1);
}

TEST_F(SurveysTest, ConditionsPartialResumeAndCompletion) {
  v1::Survey survey = Create(StandardDefinition());
  v1::SurveyVersion version;
  ASSERT_TRUE(Publish(survey.name(), &version).ok());
  v1::SurveyResponse response = Start(survey.name());
  EXPECT_EQ(response.pending_question_ids(0), "overall");
  EXPECT_EQ(response.missing_required_question_ids_size(), 2) << "reason hidden until overall";

  v1::SurveyResponse out;
  ASSERT_TRUE(
      Submit(response.name(), {Score("overall", 2), Choices("reason", {}, "too slow")}, false, &out)
          .ok());
  EXPECT_EQ(out.answers_size(), 2);
  EXPECT_EQ(out.answers(1).choices().other_text(), "too slow");
  EXPECT_EQ(out.pending_question_ids(0), "recommend");
  // Resumed later: the partial response is still there.
  v1::SurveyResponse resumed = Get(response.name());
  EXPECT_EQ(resumed.state(), v1::RESPONSE_STATE_IN_PROGRESS);
  EXPECT_EQ(resumed.answers_size(), 2);
  // A better overall hides "reason": its stored answer is dropped.
  ASSERT_TRUE(Submit(response.name(), {Score("overall", 5), Declined("topics")}, false, &out).ok());
  ASSERT_EQ(out.answers_size(), 2);
  EXPECT_EQ(out.answers(0).score(), 5);
  EXPECT_EQ(out.answers(1).question_id(), "topics");
  EXPECT_TRUE(out.answers(1).declined());
  // Completing with the rest.
  v1::SubmitResponseRequest request;
  ASSERT_TRUE(Submit(response.name(), {Score("recommend", 9), Text("comment", "  Great!  ")}, true,
                     &out, "complete-1")
                  .ok());
  EXPECT_EQ(out.state(), v1::RESPONSE_STATE_COMPLETED);
  EXPECT_EQ(out.answers(3).text(), "Great!") << "trimmed";
  // A repeat of the same request answers the same; a new one is refused (final).
  v1::SurveyResponse repeat;
  ASSERT_TRUE(Submit(response.name(), {Score("recommend", 9), Text("comment", "  Great!  ")}, true,
                     &repeat, "complete-1")
                  .ok());
  EXPECT_EQ(repeat.etag(), out.etag());
  EXPECT_EQ(Submit(response.name(), {Score("recommend", 3)}, false, &repeat).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Public link: LINK needs an invitation unless the survey is a public link.
  v1::StartResponseRequest link;
  link.set_survey(survey.name());
  link.set_channel(v1::SURVEY_CHANNEL_LINK);
  v1::StartResponseResponse started;
  EXPECT_EQ(Call(&Stub::StartResponse, env_->surveys(), link, &started).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  link.set_channel(v1::SURVEY_CHANNEL_KEYPAD);
  EXPECT_EQ(Call(&Stub::StartResponse, env_->surveys(), link, &started).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "the version does not list KEYPAD";
}

TEST_F(SurveysTest, AnOldVersionResponseIsValidatedAgainstTheOldVersion) {
  v1::Survey survey = Create(StandardDefinition());
  v1::SurveyVersion first;
  ASSERT_TRUE(Publish(survey.name(), &first).ok());
  v1::SurveyResponse old_response = Start(survey.name());
  EXPECT_EQ(old_response.survey_version(), first.name());

  // Version 2: visits at most 5, and a new required question.
  v1::SurveyDefinition second = StandardDefinition();
  second.mutable_questions(5)->mutable_number()->set_max_value(5);
  v1::Question extra = Rating("extra", true);
  *second.add_questions() = extra;
  v1::UpdateSurveyRequest update;
  update.mutable_survey()->set_name(survey.name());
  *update.mutable_survey()->mutable_draft() = second;
  update.mutable_update_mask()->add_paths("draft");
  v1::Survey updated;
  ASSERT_TRUE(Call(&Stub::UpdateSurvey, env_->surveys(), update, &updated).ok());
  v1::SurveyVersion two;
  ASSERT_TRUE(Publish(survey.name(), &two).ok());
  EXPECT_EQ(two.version(), 2);

  // The old response keeps version 1: 8 visits are fine, "extra" does not exist for it.
  v1::SurveyResponse out;
  ASSERT_TRUE(Submit(old_response.name(),
                     {Score("overall", 4), Score("recommend", 10), Number("visits", 8)}, true, &out)
                  .ok());
  EXPECT_EQ(out.state(), v1::RESPONSE_STATE_COMPLETED);
  EXPECT_EQ(out.survey_version(), first.name());
  grpc::Status unknown = Submit(Start(first.name()).name(), {Score("extra", 3)}, false, &out);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A new response pins version 2 and is held to it.
  v1::SurveyResponse new_response = Start(survey.name());
  EXPECT_EQ(new_response.survey_version(), two.name());
  grpc::Status status = Submit(new_response.name(), {Number("visits", 8)}, false, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "8 is above the maximum 5"))
      << status.error_message();
  status = Submit(new_response.name(), {Score("overall", 4), Score("recommend", 10)}, true, &out);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "\"extra\" is required"))
      << status.error_message();
}

TEST_F(SurveysTest, ResultsComputeCsatAndNpsAsWorkedOutByHand) {
  v1::Survey survey = Create(StandardDefinition());
  v1::SurveyVersion version;
  ASSERT_TRUE(Publish(survey.name(), &version).ok());
  // Ten completed responses; operator A answers the first five, B the last five.
  const std::vector<int> ratings = {5, 5, 4, 4, 3, 2, 1, 5, 4, 3};
  const std::vector<int> nps = {10, 9, 9, 8, 7, 6, 5, 0, 10, 9};
  for (size_t i = 0; i < ratings.size(); ++i) {
    v1::SurveyResponse response = Start(survey.name(), i < 5 ? "operators/a" : "operators/b");
    std::vector<v1::Answer> answers = {Score("overall", ratings[i]), Score("recommend", nps[i])};
    if (ratings[i] <= 3) answers.push_back(Choices("reason", {i % 2 ? "price" : "speed"}));
    if (i < 4) answers.push_back(Number("visits", static_cast<double>(i)));
    v1::SurveyResponse out;
    ASSERT_TRUE(Submit(response.name(), answers, true, &out).ok()) << i;
  }
  // One partial response (rating 1), counted only with include_partial.
  v1::SurveyResponse partial = Start(survey.name(), "operators/b");
  v1::SurveyResponse out;
  ASSERT_TRUE(Submit(partial.name(), {Score("overall", 1)}, false, &out).ok());

  v1::GetSurveyResultsRequest request;
  request.set_survey(survey.name());
  request.set_group_by(v1::RESULTS_GROUP_BY_OPERATOR);
  v1::SurveyResults results;
  ASSERT_TRUE(Call(&Stub::GetSurveyResults, env_->surveys(), request, &results).ok());
  EXPECT_EQ(results.counts().started_count(), 11);
  EXPECT_EQ(results.counts().completed_count(), 10);
  EXPECT_EQ(results.counts().in_progress_count(), 1);
  // CSAT: answers of 4 or 5 are 5, 5, 4, 4, 5, 4 = 6 of 10.
  EXPECT_EQ(results.csat().satisfied_count(), 6);
  EXPECT_EQ(results.csat().answered_count(), 10);
  EXPECT_DOUBLE_EQ(results.csat().csat(), 0.6);
  // NPS: promoters 10, 9, 9, 10, 9 = 5; passives 8, 7 = 2; detractors 6, 5, 0 = 3;
  // 100 * (5 - 3) / 10 = 20.
  EXPECT_EQ(results.nps().promoter_count(), 5);
  EXPECT_EQ(results.nps().passive_count(), 2);
  EXPECT_EQ(results.nps().detractor_count(), 3);
  EXPECT_DOUBLE_EQ(results.nps().nps(), 20);
  ASSERT_GE(results.questions_size(), 6);
  const v1::QuestionResults& overall = results.questions(0);
  EXPECT_EQ(overall.question_id(), "overall");
  EXPECT_DOUBLE_EQ(overall.average(), 3.6);  // 36 / 10
  ASSERT_EQ(overall.distribution_size(), 5);
  EXPECT_EQ(overall.distribution(4).value(), "5");
  EXPECT_EQ(overall.distribution(4).count(), 3);
  EXPECT_DOUBLE_EQ(overall.distribution(4).share(), 0.3);
  const v1::QuestionResults& reason = results.questions(2);
  EXPECT_EQ(reason.question_id(), "reason");
  EXPECT_EQ(reason.shown_count(), 4) << "shown only when overall <= 3: 3, 2, 1, 3";
  EXPECT_EQ(reason.answered_count(), 4);
  const v1::QuestionResults* visits = nullptr;
  for (const auto& question : results.questions()) {
    if (question.question_id() == "visits") visits = &question;
  }
  ASSERT_NE(visits, nullptr);
  EXPECT_EQ(visits->answered_count(), 4);
  EXPECT_DOUBLE_EQ(visits->number_stats().median_value(), 1.5);  // 0 1 2 3
  EXPECT_DOUBLE_EQ(visits->average(), 1.5);
  // Per operator. A: 5 5 4 4 3 -> CSAT 4/5; NPS 10 9 9 8 7 -> 100 * 3 / 5 = 60.
  // B: 2 1 5 4 3 -> CSAT 2/5; NPS 6 5 0 10 9 -> 100 * (2 - 3) / 5 = -20.
  ASSERT_EQ(results.groups_size(), 2);
  EXPECT_EQ(results.groups(0).key(), "operators/a");
  EXPECT_DOUBLE_EQ(results.groups(0).csat().csat(), 0.8);
  EXPECT_DOUBLE_EQ(results.groups(0).nps().nps(), 60);
  EXPECT_EQ(results.groups(1).key(), "operators/b");
  EXPECT_DOUBLE_EQ(results.groups(1).csat().csat(), 0.4);
  EXPECT_DOUBLE_EQ(results.groups(1).nps().nps(), -20);
  EXPECT_EQ(results.groups(1).counts().started_count(), 6);

  // With partial responses: 6 of 11.
  request.mutable_filter()->set_include_partial(true);
  ASSERT_TRUE(Call(&Stub::GetSurveyResults, env_->surveys(), request, &results).ok());
  EXPECT_EQ(results.csat().answered_count(), 11);
  // Filtered by operator A only.
  request.mutable_filter()->set_include_partial(false);
  request.mutable_filter()->add_operators("operators/a");
  request.clear_group_by();
  ASSERT_TRUE(Call(&Stub::GetSurveyResults, env_->surveys(), request, &results).ok());
  EXPECT_EQ(results.counts().completed_count(), 5);
  EXPECT_DOUBLE_EQ(results.nps().nps(), 60);
  // A period that ended before: nothing.
  request.mutable_filter()->clear_operators();
  *request.mutable_filter()->mutable_period()->mutable_end_time() =
      common::TimestampFromTime(absl::Now() - absl::Hours(1));
  ASSERT_TRUE(Call(&Stub::GetSurveyResults, env_->surveys(), request, &results).ok());
  EXPECT_EQ(results.counts().started_count(), 0);
  EXPECT_FALSE(results.csat().has_csat());
  // A bad filter.
  *request.mutable_filter()->mutable_period()->mutable_start_time() =
      common::TimestampFromTime(absl::Now());
  EXPECT_EQ(Call(&Stub::GetSurveyResults, env_->surveys(), request, &results).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // CSV export: a header, then one row per completed response.
  v1::ExportSurveyResultsRequest export_request;
  export_request.set_survey(survey.name());
  export_request.set_delimiter(";");
  grpc::ClientContext context;
  auto reader = env_->surveys().ExportSurveyResults(&context, export_request);
  std::string csv;
  v1::ExportSurveyResultsResponse chunk;
  bool last = false;
  while (reader->Read(&chunk)) {
    csv += chunk.data();
    last = chunk.last();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(last);
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "response;survey_version;state;channel;customer;call"))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0],
                                ";overall;recommend;reason;topics;called_before;visits;"
                                "comment"))
      << lines[0];
}

TEST_F(SurveysTest, ResponsesArePublishedAsEventsWithHeadlineScores) {
  v1::Survey survey = Create(StandardDefinition());
  v1::SurveyVersion version;
  ASSERT_TRUE(Publish(survey.name(), &version).ok());
  v1::SurveyResponse response = Start(survey.name(), "operators/7");
  v1::SurveyResponse out;
  ASSERT_TRUE(
      Submit(response.name(), {Score("overall", 4), Score("recommend", 9)}, true, &out).ok());
  std::vector<events::v1::SurveyResponseSubmitted> submitted;
  for (int i = 0; i < 200 && submitted.empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    for (const auto& event : env_->Events()) {
      if (event.has_survey_response_submitted()) {
        submitted.push_back(event.survey_response_submitted());
      }
    }
  }
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].response(), response.name());
  EXPECT_EQ(submitted[0].survey_version(), 1);
  EXPECT_EQ(submitted[0].operator_(), "operators/7");
  EXPECT_TRUE(submitted[0].complete());
  ASSERT_EQ(submitted[0].scores_size(), 2);
  EXPECT_EQ(submitted[0].scores(0).scale(), events::v1::SCORE_SCALE_RATING_1_5);
  EXPECT_EQ(submitted[0].scores(0).value(), 4);
  EXPECT_EQ(submitted[0].scores(1).value(), 9);

  // ListResponses finds it by operator and state.
  v1::ListResponsesRequest list;
  list.set_parent(survey.name());
  list.mutable_filter()->add_operators("operators/7");
  list.add_states(v1::RESPONSE_STATE_COMPLETED);
  v1::ListResponsesResponse listed;
  ASSERT_TRUE(Call(&Stub::ListResponses, env_->surveys(), list, &listed).ok());
  ASSERT_EQ(listed.responses_size(), 1);
  EXPECT_EQ(listed.responses(0).name(), response.name());
  // Period and version filters apply too.
  list.mutable_filter()->add_survey_versions(survey.name() + "/versions/1");
  ASSERT_TRUE(Call(&Stub::ListResponses, env_->surveys(), list, &listed).ok());
  EXPECT_EQ(listed.responses_size(), 1);
  *list.mutable_filter()->mutable_period()->mutable_end_time() =
      common::TimestampFromTime(absl::Now() - absl::Hours(1));
  ASSERT_TRUE(Call(&Stub::ListResponses, env_->surveys(), list, &listed).ok());
  EXPECT_EQ(listed.responses_size(), 0);
  list.mutable_filter()->set_survey_versions(0, "surveys/other/versions/1");
  EXPECT_EQ(Call(&Stub::ListResponses, env_->surveys(), list, &listed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace contactcentre::surveys
