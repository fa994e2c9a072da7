// CampaignService and QualityService on real PostgreSQL: campaigns whose excluded customers
// are never invited, invitations answered and resumed, outcomes, post-call surveys from
// replayed CallCompleted events (one invitation), sampling and the frequency cap, and quality
// evaluations with per-operator trends.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/pg_util.h"
#include "services/surveys/testing/surveys_test_env.h"

namespace contactcentre::surveys {
namespace {

using testing::Call;
using testing::SurveysTestEnv;
using CampaignStub = v1::CampaignService::Stub;
using QualityStub = v1::QualityService::Stub;
using SurveyStub = v1::SurveyService::Stub;

CustomerFacts Customer(const std::string& name) {
  CustomerFacts facts;
  facts.found = true;
  facts.name = name;
  facts.display_name = "Ivan " + name;
  facts.phone_e164 = "+79990000001";
  return facts;
}

class CampaignsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = SurveysTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
    // A published survey on every channel: one required rating, one optional comment.
    v1::CreateSurveyRequest create;
    create.mutable_survey()->set_display_name("Satisfaction");
    v1::SurveyDefinition& draft = *create.mutable_survey()->mutable_draft();
    draft.set_title("How did we do?");
    draft.add_channels(v1::SURVEY_CHANNEL_OPERATOR);
    draft.add_channels(v1::SURVEY_CHANNEL_KEYPAD);
    draft.add_channels(v1::SURVEY_CHANNEL_LINK);
    v1::Question& rating = *draft.add_questions();
    rating.set_question_id("overall");
    rating.set_text("Rate us");
    rating.set_required(true);
    rating.mutable_rating()->set_headline_csat(true);
    v1::Question& nps = *draft.add_questions();
    nps.set_question_id("recommend");
    nps.set_text("Recommend?");
    nps.mutable_nps();
    v1::Survey survey;
    ASSERT_TRUE(Call(&SurveyStub::CreateSurvey, env_->surveys(), create, &survey).ok());
    survey_ = survey.name();
    v1::PublishSurveyRequest publish;
    publish.set_name(survey_);
    v1::SurveyVersion version;
    ASSERT_TRUE(Call(&SurveyStub::PublishSurvey, env_->surveys(), publish, &version).ok());
  }

  v1::Campaign CreateCampaign(const std::vector<std::string>& customers,
                              v1::SurveyChannel channel = v1::SURVEY_CHANNEL_OPERATOR) {
    v1::CreateCampaignRequest request;
    request.set_request_id(common::NewId());
    v1::Campaign& campaign = *request.mutable_campaign();
    campaign.set_display_name("Card holders");
    campaign.set_survey(survey_);
    campaign.set_channel(channel);
    for (const std::string& customer : customers) {
      campaign.mutable_target()->mutable_customer_list()->add_customers(customer);
    }
    for (int day = 1; day <= 7; ++day) {
      if (day == closed_day_) continue;
      common::v1::DailyWindow& window = *campaign.mutable_calling_window()->add_windows();
      window.set_day(static_cast<common::v1::DayOfWeek>(day));
      window.set_start_minute(0);
      window.set_end_minute(24 * 60);
    }
    campaign.mutable_calling_window()->set_time_zone("UTC");
    campaign.set_quota(quota_);
    campaign.set_max_attempts(2);
    v1::Campaign created;
    grpc::Status status = Call(&CampaignStub::CreateCampaign, env_->campaigns(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  v1::Campaign StartCampaign(const std::string& name) {
    v1::StartCampaignRequest request;
    request.set_request_id(common::NewId());
    request.set_name(name);
    v1::Campaign started;
    grpc::Status status = Call(&CampaignStub::StartCampaign, env_->campaigns(), request, &started);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return started;
  }

  std::vector<v1::Invitation> Invitations(const std::string& campaign) {
    v1::ListInvitationsRequest request;
    request.set_campaign(campaign);
    request.set_page_size(1000);
    v1::ListInvitationsResponse response;
    EXPECT_TRUE(Call(&CampaignStub::ListInvitations, env_->campaigns(), request, &response).ok());
    return {response.invitations().begin(), response.invitations().end()};
  }

  v1::NextInvitationResponse Next(const std::string& claimant,
                                  v1::SurveyChannel channel = v1::SURVEY_CHANNEL_OPERATOR) {
    v1::NextInvitationRequest request;
    request.set_request_id(common::NewId());
    request.set_claimant(claimant);
    request.set_channel(channel);
    v1::NextInvitationResponse response;
    grpc::Status status =
        Call(&CampaignStub::NextInvitation, env_->campaigns(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  void EnablePostCall(const std::string& queue, v1::SurveyChannel channel, double rate,
                      int cap = 0) {
    v1::UpdatePostCallSurveySettingsRequest request;
    request.set_request_id(common::NewId());
    v1::PostCallSurveySettings& settings = *request.mutable_settings();
    settings.set_name("postCallSurveySettings/" + queue);
    settings.set_enabled(true);
    settings.set_survey(survey_);
    settings.set_channel(channel);
    settings.set_sampling_rate(rate);
    settings.mutable_frequency_cap()->set_max_invitations(cap);
    settings.mutable_frequency_cap()->mutable_period()->set_seconds(30 * 24 * 3600);
    v1::PostCallSurveySettings saved;
    grpc::Status status =
        Call(&CampaignStub::UpdatePostCallSurveySettings, env_->campaigns(), request, &saved);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  events::v1::Event CallCompleted(const std::string& call, const std::string& queue,
                                  const std::string& customer) {
    events::v1::Event event;
    event.set_id(common::NewId());
    events::v1::CallCompleted& completed = *event.mutable_call_completed();
    completed.mutable_call()->set_call(call);
    completed.mutable_call()->set_queue("queues/" + queue);
    completed.mutable_call()->set_customer(customer);
    completed.mutable_call()->set_operator_("operators/7");
    completed.mutable_talk_time()->set_seconds(120);
    return event;
  }

  // Post-call invitations of a queue, after the consumer caught up with the stream.
  std::vector<v1::Invitation> PostCallInvitations(const std::string& queue, size_t expected) {
    std::vector<v1::Invitation> found;
    for (int i = 0; i < 200; ++i) {
      v1::ListInvitationsRequest request;
      request.set_queue("queues/" + queue);
      request.set_source(v1::INVITATION_SOURCE_POST_CALL);
      v1::ListInvitationsResponse response;
      EXPECT_TRUE(Call(&CampaignStub::ListInvitations, env_->campaigns(), request, &response).ok());
      found.assign(response.invitations().begin(), response.invitations().end());
      if (found.size() >= expected) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return found;
  }

  std::unique_ptr<SurveysTestEnv> env_;
  std::string survey_;
  // The day of week (1 = Monday) left out of new campaigns' calling windows; 0: none.
  int closed_day_ = 0;
  int quota_ = 0;
};

TEST_F(CampaignsTest, ExcludedCustomersAreNeverInvited) {
  env_->customers().Put(Customer("customers/ok"));
  CustomerFacts opted_out = Customer("customers/opt-out");
  opted_out.survey_opt_out = true;
  env_->customers().Put(opted_out);
  CustomerFacts dnc = Customer("customers/dnc");
  dnc.do_not_call = true;
  env_->customers().Put(dnc);
  CustomerFacts abusive = Customer("customers/abusive");
  abusive.abusive = true;
  env_->customers().Put(abusive);
  CustomerFacts no_phone = Customer("customers/no-phone");
  no_phone.phone_e164.clear();
  env_->customers().Put(no_phone);
  // "customers/erased" is unknown to the customers service.
  v1::Campaign campaign =
      CreateCampaign({"customers/ok", "customers/opt-out", "customers/dnc", "customers/abusive",
                      "customers/no-phone", "customers/erased", "customers/ok"});
  EXPECT_EQ(campaign.state(), v1::CAMPAIGN_STATE_DRAFT);
  EXPECT_TRUE(Invitations(campaign.name()).empty()) << "nobody is invited before the start";

  v1::Campaign started = StartCampaign(campaign.name());
  EXPECT_EQ(started.state(), v1::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(started.survey_version(), survey_ + "/versions/1");
  EXPECT_EQ(started.stats().invitation_count(), 6) << "the duplicate is ignored";
  EXPECT_EQ(started.stats().pending_count(), 1);
  EXPECT_EQ(started.stats().excluded_count(), 5);
  std::map<std::string, v1::ExclusionReason> reasons;
  for (const v1::Invitation& invitation : Invitations(campaign.name())) {
    reasons[invitation.customer()] = invitation.exclusion_reason();
  }
  EXPECT_EQ(reasons["customers/ok"], v1::EXCLUSION_REASON_UNSPECIFIED);
  EXPECT_EQ(reasons["customers/opt-out"], v1::EXCLUSION_REASON_SURVEY_OPT_OUT);
  EXPECT_EQ(reasons["customers/dnc"], v1::EXCLUSION_REASON_DO_NOT_CALL);
  EXPECT_EQ(reasons["customers/abusive"], v1::EXCLUSION_REASON_ABUSIVE);
  EXPECT_EQ(reasons["customers/no-phone"], v1::EXCLUSION_REASON_NO_CONTACT);
  EXPECT_EQ(reasons["customers/erased"], v1::EXCLUSION_REASON_CUSTOMER_UNAVAILABLE);

  // Only the allowed customer is ever handed out; then nothing is due.
  v1::NextInvitationResponse next = Next("operators/1");
  ASSERT_TRUE(next.has_invitation());
  EXPECT_EQ(next.invitation().customer(), "customers/ok");
  EXPECT_EQ(next.phone_number().e164(), "+79990000001");
  EXPECT_EQ(next.customer_display_name(), "Ivan customers/ok");
  EXPECT_FALSE(Next("operators/2").has_invitation());

  // A customer who opts out after the start is excluded at the claim, never handed out.
  CustomerFacts late = Customer("customers/late");
  env_->customers().Put(late);
  v1::BatchCreateInvitationsRequest batch;
  batch.set_parent(campaign.name());
  batch.add_customers("customers/late");
  batch.add_customers("customers/ok");
  v1::BatchCreateInvitationsResponse added;
  ASSERT_TRUE(Call(&CampaignStub::BatchCreateInvitations, env_->campaigns(), batch, &added).ok());
  ASSERT_EQ(added.results_size(), 2);
  EXPECT_EQ(added.results(0).invitation().status(), v1::INVITATION_STATUS_PENDING);
  EXPECT_TRUE(added.results(1).already_invited());
  late.survey_opt_out = true;
  env_->customers().Put(late);
  EXPECT_FALSE(Next("operators/3").has_invitation());
  v1::GetInvitationRequest get;
  get.set_name(added.results(0).invitation().name());
  v1::Invitation excluded;
  ASSERT_TRUE(Call(&CampaignStub::GetInvitation, env_->campaigns(), get, &excluded).ok());
  EXPECT_EQ(excluded.status(), v1::INVITATION_STATUS_EXCLUDED);
  EXPECT_EQ(excluded.exclusion_reason(), v1::EXCLUSION_REASON_SURVEY_OPT_OUT);

  // The customers service down: the start of another campaign changes nothing.
  v1::Campaign other = CreateCampaign({"customers/ok"});
  env_->customers().SetUnavailable(true);
  v1::StartCampaignRequest start;
  start.set_name(other.name());
  v1::Campaign unchanged;
  EXPECT_EQ(Call(&CampaignStub::StartCampaign, env_->campaigns(), start, &unchanged).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Invitations(other.name()).empty());
}

TEST_F(CampaignsTest, TagFiltersResolveThroughTheCustomersService) {
  CustomerFacts gold = Customer("customers/gold");
  gold.tags = {"cards", "gold"};
  CustomerFacts plain = Customer("customers/plain");
  plain.tags = {"cards"};
  CustomerFacts staff = Customer("customers/staff");
  staff.tags = {"cards", "staff"};
  CustomerFacts other = Customer("customers/other");
  other.tags = {"loans"};
  for (const auto& facts : {gold, plain, staff, other}) env_->customers().Put(facts);
  v1::Campaign campaign = CreateCampaign({});
  // UpdateCampaign: everything may change in DRAFT; the target is fixed once started.
  v1::UpdateCampaignRequest update;
  update.mutable_campaign()->set_name(campaign.name());
  update.mutable_campaign()->set_quota(5);
  update.mutable_campaign()->mutable_target()->mutable_customer_list()->add_customers(
      "customers/gold");
  update.mutable_update_mask()->add_paths("quota");
  update.mutable_update_mask()->add_paths("target");
  v1::Campaign updated;
  ASSERT_TRUE(Call(&CampaignStub::UpdateCampaign, env_->campaigns(), update, &updated).ok());
  EXPECT_EQ(updated.quota(), 5);
  EXPECT_EQ(updated.target().customer_list().customers_size(), 1);
  StartCampaign(campaign.name());
  EXPECT_EQ(Call(&CampaignStub::UpdateCampaign, env_->campaigns(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  update.mutable_update_mask()->clear_paths();
  update.mutable_update_mask()->add_paths("quota");
  update.mutable_campaign()->set_quota(-1);
  EXPECT_EQ(Call(&CampaignStub::UpdateCampaign, env_->campaigns(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Target: cards holders, not staff.
  v1::CreateCampaignRequest request;
  request.mutable_campaign()->set_display_name("Cards");
  request.mutable_campaign()->set_survey(survey_);
  request.mutable_campaign()->set_channel(v1::SURVEY_CHANNEL_LINK);
  request.mutable_campaign()->mutable_target()->mutable_tag_filter()->add_all_tags("cards");
  request.mutable_campaign()->mutable_target()->mutable_tag_filter()->add_none_tags("staff");
  v1::Campaign tagged;
  ASSERT_TRUE(Call(&CampaignStub::CreateCampaign, env_->campaigns(), request, &tagged).ok());
  StartCampaign(tagged.name());
  std::set<std::string> invited;
  for (const v1::Invitation& invitation : Invitations(tagged.name())) {
    invited.insert(invitation.customer());
    EXPECT_TRUE(invitation.link_token().empty()) << "tokens are not listed";
  }
  EXPECT_EQ(invited, (std::set<std::string>{"customers/gold", "customers/plain"}));

  // A link respondent answers through the token, partly, then resumes; completing completes the
  // invitation.
  v1::NextInvitationResponse next = Next("services/sms", v1::SURVEY_CHANNEL_LINK);
  ASSERT_TRUE(next.has_invitation());
  ASSERT_FALSE(next.invitation().link_token().empty());
  EXPECT_TRUE(absl::StrContains(next.invitation().link_url(), next.invitation().link_token()));
  v1::StartResponseRequest start;
  start.set_request_id(common::NewId());
  start.set_invitation_token(next.invitation().link_token());
  start.set_channel(v1::SURVEY_CHANNEL_LINK);
  v1::StartResponseResponse started;
  ASSERT_TRUE(Call(&SurveyStub::StartResponse, env_->surveys(), start, &started).ok());
  EXPECT_FALSE(started.resumed());
  EXPECT_EQ(started.response().campaign(), tagged.name());
  EXPECT_EQ(started.response().customer(), next.invitation().customer());
  v1::SubmitResponseRequest submit;
  submit.set_name(started.response().name());
  v1::Answer& answer = *submit.add_answers();
  answer.set_question_id("recommend");
  answer.set_score(8);
  v1::SurveyResponse partial;
  ASSERT_TRUE(Call(&SurveyStub::SubmitResponse, env_->surveys(), submit, &partial).ok());
  // The respondent opens the link again: the same response is resumed.
  start.set_request_id(common::NewId());
  v1::StartResponseResponse resumed;
  ASSERT_TRUE(Call(&SurveyStub::StartResponse, env_->surveys(), start, &resumed).ok());
  EXPECT_TRUE(resumed.resumed());
  EXPECT_EQ(resumed.response().name(), started.response().name());
  EXPECT_EQ(resumed.response().answers_size(), 1);
  submit.clear_answers();
  v1::Answer& overall = *submit.add_answers();
  overall.set_question_id("overall");
  overall.set_score(5);
  submit.set_complete(true);
  v1::SurveyResponse completed;
  ASSERT_TRUE(Call(&SurveyStub::SubmitResponse, env_->surveys(), submit, &completed).ok());
  v1::GetInvitationRequest get;
  get.set_name(next.invitation().name());
  v1::Invitation invitation;
  ASSERT_TRUE(Call(&CampaignStub::GetInvitation, env_->campaigns(), get, &invitation).ok());
  EXPECT_EQ(invitation.status(), v1::INVITATION_STATUS_COMPLETED);
  // The response is found by its invitation and counted under its campaign.
  v1::ListResponsesRequest list;
  list.set_parent("surveys/-");
  list.set_invitation(invitation.name());
  v1::ListResponsesResponse listed;
  ASSERT_TRUE(Call(&SurveyStub::ListResponses, env_->surveys(), list, &listed).ok());
  ASSERT_EQ(listed.responses_size(), 1);
  v1::GetSurveyResultsRequest results_request;
  results_request.set_survey(survey_);
  results_request.mutable_filter()->add_campaigns(tagged.name());
  results_request.set_group_by(v1::RESULTS_GROUP_BY_CAMPAIGN);
  v1::SurveyResults results;
  ASSERT_TRUE(Call(&SurveyStub::GetSurveyResults, env_->surveys(), results_request, &results).ok());
  EXPECT_EQ(results.counts().completed_count(), 1);
  ASSERT_EQ(results.groups_size(), 1);
  EXPECT_EQ(results.groups(0).key(), tagged.name());
  EXPECT_DOUBLE_EQ(results.csat().csat(), 1.0);
  // The invitation is final: no second response.
  start.set_request_id(common::NewId());
  EXPECT_EQ(Call(&SurveyStub::StartResponse, env_->surveys(), start, &resumed).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  (void)campaign;
}

TEST_F(CampaignsTest, OutcomesRetriesAndOptOut) {
  for (const char* name : {"customers/a", "customers/b"}) env_->customers().Put(Customer(name));
  v1::Campaign campaign = CreateCampaign({"customers/a", "customers/b"});
  StartCampaign(campaign.name());
  v1::NextInvitationResponse first = Next("operators/1");
  ASSERT_TRUE(first.has_invitation());
  // The same operator asking again holds the same claim.
  EXPECT_EQ(Next("operators/1").invitation().name(), first.invitation().name());
  // Someone else cannot report its outcome.
  v1::UpdateInvitationRequest update;
  update.set_name(first.invitation().name());
  update.set_claimant("operators/9");
  update.set_outcome(v1::INVITATION_OUTCOME_NO_ANSWER);
  v1::Invitation out;
  EXPECT_EQ(Call(&CampaignStub::UpdateInvitation, env_->campaigns(), update, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  update.set_claimant("operators/1");
  ASSERT_TRUE(Call(&CampaignStub::UpdateInvitation, env_->campaigns(), update, &out).ok());
  EXPECT_EQ(out.status(), v1::INVITATION_STATUS_PENDING);
  EXPECT_EQ(out.attempt_count(), 1);
  EXPECT_GT(common::TimeFromTimestamp(out.next_attempt_time()), absl::Now() + absl::Hours(3));

  v1::NextInvitationResponse second = Next("operators/1");
  ASSERT_TRUE(second.has_invitation());
  EXPECT_NE(second.invitation().name(), first.invitation().name()) << "the first one waits";
  update.set_name(second.invitation().name());
  update.set_outcome(v1::INVITATION_OUTCOME_OPTED_OUT);
  ASSERT_TRUE(Call(&CampaignStub::UpdateInvitation, env_->campaigns(), update, &out).ok());
  EXPECT_EQ(out.status(), v1::INVITATION_STATUS_EXCLUDED);
  EXPECT_EQ(out.exclusion_reason(), v1::EXCLUSION_REASON_SURVEY_OPT_OUT);
  EXPECT_EQ(env_->customers().opted_out(), std::vector<std::string>{"customers/b"});
  // Each outcome is a CampaignAttemptFinished event of the campaign.
  std::vector<events::v1::CampaignAttemptFinished> finished;
  for (int i = 0; i < 200 && finished.size() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    finished.clear();
    for (const auto& event : env_->Events()) {
      if (event.has_campaign_attempt_finished()) {
        finished.push_back(event.campaign_attempt_finished());
      }
    }
  }
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].campaign(), campaign.name());
  EXPECT_EQ(finished[0].entry(), first.invitation().name());
  EXPECT_EQ(finished[0].outcome(), calls::v1::DIAL_OUTCOME_NO_ANSWER);
  EXPECT_FALSE(finished[0].entry_final());
  EXPECT_EQ(finished[1].outcome(), calls::v1::DIAL_OUTCOME_ANSWERED_HUMAN);
  EXPECT_TRUE(finished[1].entry_final());

  // Stopping cancels what is pending.
  v1::StopCampaignRequest stop;
  stop.set_name(campaign.name());
  stop.set_reason("enough");
  v1::Campaign stopped;
  ASSERT_TRUE(Call(&CampaignStub::StopCampaign, env_->campaigns(), stop, &stopped).ok());
  EXPECT_EQ(stopped.state(), v1::CAMPAIGN_STATE_STOPPED);
  EXPECT_EQ(stopped.stats().cancelled_count(), 1);
  EXPECT_EQ(stopped.stats().excluded_count(), 1);
}

TEST_F(CampaignsTest, ALapsedClaimIsHandedOutAgain) {
  env_->customers().Put(Customer("customers/a"));
  v1::Campaign campaign = CreateCampaign({"customers/a"});
  StartCampaign(campaign.name());
  v1::NextInvitationRequest request;
  request.set_claimant("operators/1");
  request.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  request.mutable_claim_duration()->set_seconds(1);
  v1::NextInvitationResponse first;
  ASSERT_TRUE(Call(&CampaignStub::NextInvitation, env_->campaigns(), request, &first).ok());
  ASSERT_TRUE(first.has_invitation());
  EXPECT_FALSE(Next("operators/2").has_invitation()) << "claimed";
  absl::SleepFor(common::TimeFromTimestamp(first.invitation().claim_expire_time()) - absl::Now() +
                 absl::Milliseconds(100));
  v1::NextInvitationResponse second = Next("operators/2");
  ASSERT_TRUE(second.has_invitation()) << "the claim lapsed";
  EXPECT_EQ(second.invitation().name(), first.invitation().name());
  EXPECT_EQ(second.invitation().attempts_size(), 1) << "the lapsed claim is no attempt";
  EXPECT_EQ(second.invitation().claimant(), "operators/2");
  v1::UpdateInvitationRequest update;
  update.set_name(first.invitation().name());
  update.set_claimant("operators/1");
  update.set_outcome(v1::INVITATION_OUTCOME_REFUSED);
  v1::Invitation out;
  EXPECT_EQ(Call(&CampaignStub::UpdateInvitation, env_->campaigns(), update, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CampaignsTest, QuotaAndCallingWindow) {
  for (const char* name : {"customers/a", "customers/b", "customers/c"}) {
    env_->customers().Put(Customer(name));
  }
  // Outside the calling window (today is closed): nothing is handed out.
  closed_day_ =
      static_cast<int>(absl::GetWeekday(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()))) + 1;
  v1::Campaign closed = CreateCampaign({"customers/c"});
  StartCampaign(closed.name());
  EXPECT_FALSE(Next("operators/1").has_invitation());
  // The invitation waits for tomorrow's opening (midnight UTC, the window of every other day).
  v1::Invitation waiting = Invitations(closed.name()).at(0);
  const absl::Time tomorrow = absl::FromCivil(
      absl::CivilDay(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())) + 1, absl::UTCTimeZone());
  EXPECT_EQ(common::TimeFromTimestamp(waiting.next_attempt_time()), tomorrow);
  // A quota of one completed response: the first completion completes the campaign and
  // cancels the rest.
  closed_day_ = 0;
  quota_ = 1;
  v1::Campaign campaign = CreateCampaign({"customers/a", "customers/b"});
  StartCampaign(campaign.name());
  v1::NextInvitationRequest next_request;
  next_request.set_claimant("operators/2");
  next_request.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  next_request.set_campaign(campaign.name());
  v1::NextInvitationResponse next;
  ASSERT_TRUE(Call(&CampaignStub::NextInvitation, env_->campaigns(), next_request, &next).ok());
  ASSERT_TRUE(next.has_invitation());
  v1::StartResponseRequest start;
  start.set_invitation(next.invitation().name());
  start.set_channel(v1::SURVEY_CHANNEL_OPERATOR);
  v1::StartResponseResponse started;
  ASSERT_TRUE(Call(&SurveyStub::StartResponse, env_->surveys(), start, &started).ok());
  v1::SubmitResponseRequest submit;
  submit.set_name(started.response().name());
  submit.set_complete(true);
  submit.add_answers()->set_question_id("overall");
  submit.mutable_answers(0)->set_score(4);
  v1::SurveyResponse done;
  ASSERT_TRUE(Call(&SurveyStub::SubmitResponse, env_->surveys(), submit, &done).ok());
  v1::GetCampaignRequest get;
  get.set_name(campaign.name());
  v1::Campaign completed;
  ASSERT_TRUE(Call(&CampaignStub::GetCampaign, env_->campaigns(), get, &completed).ok());
  EXPECT_EQ(completed.state(), v1::CAMPAIGN_STATE_COMPLETED);
  EXPECT_EQ(completed.state_reason(), "quota reached");
  EXPECT_EQ(completed.stats().completed_count(), 1);
  EXPECT_EQ(completed.stats().cancelled_count(), 1);
}

TEST_F(CampaignsTest, LapsedInvitationsResponsesAndCampaignsAreSwept) {
  env_->customers().Put(Customer("customers/a"));
  env_->customers().Put(Customer("customers/b"));
  // A LINK campaign whose links are valid 200 ms and which ends a second from now.
  v1::CreateCampaignRequest request;
  v1::Campaign& draft = *request.mutable_campaign();
  draft.set_display_name("Short");
  draft.set_survey(survey_);
  draft.set_channel(v1::SURVEY_CHANNEL_LINK);
  draft.mutable_target()->mutable_customer_list()->add_customers("customers/a");
  draft.mutable_target()->mutable_customer_list()->add_customers("customers/b");
  draft.mutable_link_validity()->set_nanos(200'000'000);
  const absl::Time end = absl::Now() + absl::Seconds(1);
  *draft.mutable_end_time() = common::TimestampFromTime(end);
  v1::Campaign campaign;
  ASSERT_TRUE(Call(&CampaignStub::CreateCampaign, env_->campaigns(), request, &campaign).ok());
  StartCampaign(campaign.name());
  absl::SleepFor(absl::Milliseconds(300));
  auto swept = env_->module().campaigns().SweepOnce();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_GE(*swept, 2) << "both links lapsed";
  for (const v1::Invitation& invitation : Invitations(campaign.name())) {
    EXPECT_EQ(invitation.status(), v1::INVITATION_STATUS_EXPIRED);
  }
  absl::SleepFor(end - absl::Now() + absl::Milliseconds(100));
  ASSERT_TRUE(env_->module().campaigns().SweepOnce().ok());
  v1::GetCampaignRequest get;
  get.set_name(campaign.name());
  v1::Campaign ended;
  ASSERT_TRUE(Call(&CampaignStub::GetCampaign, env_->campaigns(), get, &ended).ok());
  EXPECT_EQ(ended.state(), v1::CAMPAIGN_STATE_COMPLETED);
  EXPECT_EQ(ended.state_reason(), "end time passed");
  EXPECT_EQ(ended.stats().expired_count(), 2);
}

TEST_F(CampaignsTest, AReplayedCallCompletedEventInvitesOnce) {
  env_->customers().Put(Customer("customers/c1"));
  EnablePostCall("q1", v1::SURVEY_CHANNEL_LINK, 1.0);
  events::v1::Event event = CallCompleted("calls/1", "q1", "customers/c1");
  // Published three times with the same id (a redelivery), and once more as a new event about
  // the same call: one invitation.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(env_->calls_publisher().Publish(event).ok());
  }
  events::v1::Event again = event;
  again.set_id(common::NewId());
  ASSERT_TRUE(env_->calls_publisher().Publish(again).ok());
  // A marker: once its invitation exists, every earlier event was applied.
  env_->customers().Put(Customer("customers/c2"));
  events::v1::Event marker = CallCompleted("calls/2", "q1", "customers/c2");
  ASSERT_TRUE(env_->calls_publisher().Publish(marker).ok());
  std::vector<v1::Invitation> invitations = PostCallInvitations("q1", 2);
  ASSERT_EQ(invitations.size(), 2u);
  int for_call_1 = 0;
  for (const auto& invitation : invitations) {
    if (invitation.call() == "calls/1") {
      ++for_call_1;
      EXPECT_EQ(invitation.status(), v1::INVITATION_STATUS_PENDING);
      EXPECT_EQ(invitation.customer(), "customers/c1");
      EXPECT_EQ(invitation.operator_(), "operators/7");
      EXPECT_EQ(invitation.survey_version(), survey_ + "/versions/1");
      EXPECT_FALSE(invitation.link_url().empty());
    }
  }
  EXPECT_EQ(for_call_1, 1);
}

TEST_F(CampaignsTest, PostCallSamplingFrequencyCapAndConsent) {
  for (int i = 0; i < 3; ++i) env_->customers().Put(Customer("customers/r" + std::to_string(i)));
  CustomerFacts opted_out = Customer("customers/no");
  opted_out.survey_opt_out = true;
  env_->customers().Put(opted_out);
  // Sampling: a rate of 0.5 selects exactly the calls whose point is below 0.5.
  EnablePostCall("sampled", v1::SURVEY_CHANNEL_LINK, 0.5);
  int expected = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string call = "calls/s" + std::to_string(i);
    expected += CampaignStore::SamplingPoint(call) < 0.5 ? 1 : 0;
    events::v1::Event event = CallCompleted(call, "sampled", "customers/r" + std::to_string(i % 3));
    ASSERT_TRUE(env_->module().campaigns().ApplyEvent(event).ok());
  }
  EXPECT_GT(expected, 5);
  EXPECT_LT(expected, 35);
  EXPECT_EQ(static_cast<int>(PostCallInvitations("sampled", 0).size()), expected);

  // The cap: at most one survey in 30 days per customer; the second call is excluded.
  EnablePostCall("capped", v1::SURVEY_CHANNEL_KEYPAD, 1.0, 1);
  v1::OfferPostCallSurveyRequest offer;
  offer.set_call("calls/k1");
  offer.set_queue("queues/capped");
  offer.set_customer("customers/r0");
  offer.mutable_talk_time()->set_seconds(60);
  v1::OfferPostCallSurveyResponse decision;
  // r0 was already invited by the "sampled" queue when its point fell in: count those first.
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &decision).ok());
  offer.set_customer("customers/new");
  env_->customers().Put(Customer("customers/new"));
  offer.set_call("calls/k2");
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &decision).ok());
  EXPECT_TRUE(decision.selected());
  EXPECT_EQ(decision.invitation().status(), v1::INVITATION_STATUS_IN_PROGRESS);
  EXPECT_EQ(decision.survey_version().version(), 1);
  // Asking again about the same call gives the same invitation.
  v1::OfferPostCallSurveyResponse repeat;
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &repeat).ok());
  EXPECT_EQ(repeat.invitation().name(), decision.invitation().name());
  // A second call of the same customer within the period: capped.
  offer.set_call("calls/k3");
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &repeat).ok());
  EXPECT_FALSE(repeat.selected());
  EXPECT_EQ(repeat.skip_reason(), v1::POST_CALL_SKIP_REASON_FREQUENCY_CAP);
  // Opted out: not selected; unidentified callers are not surveyed by default.
  offer.set_call("calls/k4");
  offer.set_customer("customers/no");
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &repeat).ok());
  EXPECT_EQ(repeat.skip_reason(), v1::POST_CALL_SKIP_REASON_CONSENT);
  offer.set_call("calls/k5");
  offer.clear_customer();
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &repeat).ok());
  EXPECT_EQ(repeat.skip_reason(), v1::POST_CALL_SKIP_REASON_UNIDENTIFIED);
  // The IVR takes the survey on the selected invitation.
  v1::StartResponseRequest start;
  start.set_invitation(decision.invitation().name());
  start.set_channel(v1::SURVEY_CHANNEL_KEYPAD);
  v1::StartResponseResponse started;
  ASSERT_TRUE(Call(&SurveyStub::StartResponse, env_->surveys(), start, &started).ok());
  EXPECT_EQ(started.response().call(), "calls/k2");
  EXPECT_EQ(started.response().queue(), "queues/capped");
  // A queue whose settings are disabled: not enabled.
  offer.set_queue("queues/none");
  ASSERT_TRUE(Call(&CampaignStub::OfferPostCallSurvey, env_->campaigns(), offer, &repeat).ok());
  EXPECT_EQ(repeat.skip_reason(), v1::POST_CALL_SKIP_REASON_NOT_ENABLED);
  // Bad settings are refused naming the field.
  v1::UpdatePostCallSurveySettingsRequest bad;
  bad.mutable_settings()->set_name("postCallSurveySettings/x");
  bad.mutable_settings()->set_sampling_rate(1.5);
  v1::PostCallSurveySettings ignored;
  grpc::Status status =
      Call(&CampaignStub::UpdatePostCallSurveySettings, env_->campaigns(), bad, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "settings.sampling_rate"));
}

// Quality scorecards and evaluations.
class QualityTest : public CampaignsTest {
 protected:
  v1::Scorecard CreateScorecard() {
    v1::CreateScorecardRequest request;
    request.set_request_id(common::NewId());
    v1::Scorecard& scorecard = *request.mutable_scorecard();
    scorecard.set_display_name("Inbound service");
    scorecard.set_passing_score_percent(70);
    scorecard.set_critical_failure_zeroes_score(true);
    const auto add = [&](const std::string& id, v1::StandardCriterion standard, double weight,
                         bool critical) {
      v1::Criterion& criterion = *scorecard.add_criteria();
      criterion.set_criterion_id(id);
      criterion.set_display_name(id);
      criterion.set_standard(standard);
      criterion.set_weight(weight);
      criterion.set_min_score(0);
      criterion.set_max_score(10);
      criterion.set_passing_score(5);
      criterion.set_critical(critical);
      criterion.set_comment_required_on_fail(true);
      return &criterion;
    };
    add("politeness", v1::STANDARD_CRITERION_POLITENESS, 2, true);
    add("attentiveness", v1::STANDARD_CRITERION_ATTENTIVENESS, 1, false);
    add("clear_speech", v1::STANDARD_CRITERION_CLEAR_SPEECH, 1, false);
    add("product_knowledge", v1::STANDARD_CRITERION_PRODUCT_KNOWLEDGE, 1, false);
    add("composure", v1::STANDARD_CRITERION_COMPOSURE, 1, false)->set_allow_not_applicable(true);
    v1::Criterion& greeting = *scorecard.add_criteria();
    greeting.set_criterion_id("greeting");
    greeting.set_display_name("Greeting by the script");
    greeting.set_weight(1);
    greeting.set_scale_type(v1::CRITERION_SCALE_TYPE_PASS_FAIL);
    v1::Scorecard created;
    grpc::Status status = Call(&QualityStub::CreateScorecard, env_->quality(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  grpc::Status Evaluate(const std::string& call, const std::string& scorecard,
                        std::vector<std::pair<std::string, int>> scores, v1::Evaluation* out,
                        const std::string& evaluator = "operators/supervisor") {
    v1::EvaluateCallRequest request;
    request.set_request_id(common::NewId());
    request.set_call(call);
    request.set_scorecard(scorecard);
    request.mutable_evaluator()->set_name(evaluator);
    for (const auto& [id, score] : scores) {
      v1::CriterionScore& item = *request.add_scores();
      item.set_criterion_id(id);
      if (score < 0) {
        item.set_not_applicable(true);
      } else {
        item.set_score(score);
      }
      item.set_comment("noted");
    }
    return Call(&QualityStub::EvaluateCall, env_->quality(), request, out);
  }

  void AddCall(const std::string& call, absl::Time time, bool ended = true) {
    CallFacts facts;
    facts.name = call;
    facts.operator_name = "operators/7";
    facts.team = "teams/1";
    facts.queue = "queues/q1";
    facts.call_time = time;
    facts.ended = ended;
    env_->calls().Put(facts);
  }
};

TEST_F(QualityTest, EvaluationsAreScoredAndTrendPerOperator) {
  v1::Scorecard scorecard = CreateScorecard();
  EXPECT_EQ(scorecard.revision(), 1);
  const absl::Time day1 =
      absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone()) + absl::Hours(10);
  AddCall("calls/e1", day1);
  AddCall("calls/e2", day1 + absl::Hours(24));
  AddCall("calls/e3", day1 + absl::Hours(48));
  AddCall("calls/live", day1, false);

  // e1: politeness 10 (w2), attentiveness 5, speech 10, knowledge 0 (failed), composure n/a,
  // greeting pass. Points: 100*2 + 50 + 100 + 0 + 100 = 450 over weights 2+1+1+1+1 = 6 -> 75.
  v1::Evaluation first;
  grpc::Status status = Evaluate("calls/e1", scorecard.name(),
                                 {{"politeness", 10},
                                  {"attentiveness", 5},
                                  {"clear_speech", 10},
                                  {"product_knowledge", 0},
                                  {"composure", -1},
                                  {"greeting", 1}},
                                 &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(first.score_percent(), 75);
  EXPECT_TRUE(first.passed());
  EXPECT_FALSE(first.critical_failure());
  EXPECT_EQ(first.operator_(), "operators/7");
  EXPECT_EQ(first.team(), "teams/1");
  EXPECT_TRUE(first.scores(3).failed());
  // e2: politeness 2 fails a critical criterion: the score is zeroed.
  v1::Evaluation second;
  ASSERT_TRUE(Evaluate("calls/e2", scorecard.name(),
                       {{"politeness", 2},
                        {"attentiveness", 10},
                        {"clear_speech", 10},
                        {"product_knowledge", 10},
                        {"composure", 10},
                        {"greeting", 1}},
                       &second)
                  .ok());
  EXPECT_TRUE(second.critical_failure());
  EXPECT_DOUBLE_EQ(second.score_percent(), 0);
  EXPECT_FALSE(second.passed());
  // e3: everything full: 100.
  v1::Evaluation third;
  ASSERT_TRUE(Evaluate("calls/e3", scorecard.name(),
                       {{"politeness", 10},
                        {"attentiveness", 10},
                        {"clear_speech", 10},
                        {"product_knowledge", 10},
                        {"composure", 10},
                        {"greeting", 1}},
                       &third)
                  .ok());

  // Refusals, each naming the problem.
  v1::Evaluation ignored;
  EXPECT_EQ(Evaluate("calls/e3", scorecard.name(),
                     {{"politeness", 10},
                      {"attentiveness", 10},
                      {"clear_speech", 10},
                      {"product_knowledge", 10},
                      {"composure", 10},
                      {"greeting", 1}},
                     &ignored)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  status = Evaluate("calls/e3", scorecard.name(), {{"politeness", 11}}, &ignored, "operators/x");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "invalid scores[0]"))
      << status.error_message();
  status = Evaluate("calls/e3", scorecard.name(), {{"politeness", 10}}, &ignored, "operators/x");
  EXPECT_TRUE(absl::StrContains(status.error_message(), "\"attentiveness\" is not scored"))
      << status.error_message();
  status = Evaluate("calls/e3", scorecard.name(),
                    {{"politeness", 10},
                     {"attentiveness", -1},
                     {"clear_speech", 10},
                     {"product_knowledge", 10},
                     {"composure", 10},
                     {"greeting", 1}},
                    &ignored, "operators/x");
  EXPECT_TRUE(absl::StrContains(status.error_message(), "cannot be marked not applicable"))
      << status.error_message();
  EXPECT_EQ(Evaluate("calls/live", scorecard.name(), {}, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Evaluate("calls/unknown", scorecard.name(), {}, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The operator's summary with a daily trend.
  v1::GetQualitySummaryRequest summary_request;
  summary_request.set_operator_("operators/7");
  *summary_request.mutable_period()->mutable_start_time() =
      common::TimestampFromTime(day1 - absl::Hours(10));
  *summary_request.mutable_period()->mutable_end_time() =
      common::TimestampFromTime(day1 + absl::Hours(24 * 7));
  summary_request.set_trend_interval(v1::TREND_INTERVAL_DAY);
  summary_request.set_time_zone("UTC");
  v1::QualitySummary summary;
  ASSERT_TRUE(
      Call(&QualityStub::GetQualitySummary, env_->quality(), summary_request, &summary).ok());
  EXPECT_EQ(summary.evaluation_count(), 3);
  EXPECT_DOUBLE_EQ(summary.average_score_percent(), (75.0 + 0 + 100) / 3);
  EXPECT_DOUBLE_EQ(summary.pass_rate(), 2.0 / 3);
  EXPECT_EQ(summary.critical_failure_count(), 1);
  ASSERT_EQ(summary.trend_size(), 3);
  EXPECT_DOUBLE_EQ(summary.trend(0).average_score_percent(), 75);
  EXPECT_DOUBLE_EQ(summary.trend(1).average_score_percent(), 0);
  EXPECT_EQ(summary.trend(1).critical_failure_count(), 1);
  // Standard criteria first: politeness averages (100 + 20 + 100) / 3.
  ASSERT_GE(summary.criteria_size(), 6);
  EXPECT_EQ(summary.criteria(0).standard(), v1::STANDARD_CRITERION_POLITENESS);
  EXPECT_NEAR(summary.criteria(0).average_percent(), 220.0 / 3, 1e-9);
  EXPECT_EQ(summary.criteria(0).failed_count(), 1);
  // Composure: one not applicable.
  for (const auto& row : summary.criteria()) {
    if (row.standard() == v1::STANDARD_CRITERION_COMPOSURE) {
      EXPECT_EQ(row.not_applicable_count(), 1);
      EXPECT_EQ(row.scored_count(), 2);
    }
  }

  // A correction is recomputed and published again.
  v1::UpdateEvaluationRequest correct;
  correct.mutable_evaluation()->set_name(second.name());
  for (const char* id :
       {"politeness", "attentiveness", "clear_speech", "product_knowledge", "composure"}) {
    v1::CriterionScore& score = *correct.mutable_evaluation()->add_scores();
    score.set_criterion_id(id);
    score.set_score(10);
  }
  v1::CriterionScore& greeting = *correct.mutable_evaluation()->add_scores();
  greeting.set_criterion_id("greeting");
  greeting.set_score(1);
  correct.mutable_update_mask()->add_paths("scores");
  v1::Evaluation corrected;
  ASSERT_TRUE(Call(&QualityStub::UpdateEvaluation, env_->quality(), correct, &corrected).ok());
  EXPECT_DOUBLE_EQ(corrected.score_percent(), 100);
  int recorded = 0;
  for (int i = 0; i < 200 && recorded < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    recorded = 0;
    for (const auto& event : env_->Events()) recorded += event.has_evaluation_recorded();
  }
  EXPECT_EQ(recorded, 4);

  // Deleting a used scorecard archives it; new evaluations are refused.
  v1::DeleteScorecardRequest remove;
  remove.set_name(scorecard.name());
  v1::Scorecard archived;
  ASSERT_TRUE(Call(&QualityStub::DeleteScorecard, env_->quality(), remove, &archived).ok());
  EXPECT_EQ(archived.state(), v1::SCORECARD_STATE_ARCHIVED);
  AddCall("calls/e4", day1);
  EXPECT_EQ(Evaluate("calls/e4", scorecard.name(), {}, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(QualityTest, ScorecardsAreValidatedAndRevised) {
  v1::CreateScorecardRequest bad;
  bad.mutable_scorecard()->set_display_name("x");
  v1::Criterion& criterion = *bad.mutable_scorecard()->add_criteria();
  criterion.set_criterion_id("politeness");
  criterion.set_display_name("Politeness");
  criterion.set_weight(0);
  criterion.set_max_score(5);
  v1::Scorecard ignored;
  grpc::Status status = Call(&QualityStub::CreateScorecard, env_->quality(), bad, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "scorecard.criteria[0].weight"));

  v1::Scorecard scorecard = CreateScorecard();
  v1::UpdateScorecardRequest update;
  *update.mutable_scorecard() = scorecard;
  update.mutable_scorecard()->mutable_criteria(1)->set_weight(3);
  update.mutable_update_mask()->add_paths("criteria");
  v1::Scorecard revised;
  ASSERT_TRUE(Call(&QualityStub::UpdateScorecard, env_->quality(), update, &revised).ok());
  EXPECT_EQ(revised.revision(), 2);
  update.mutable_scorecard()->set_display_name("Renamed");
  update.mutable_update_mask()->set_paths(0, "display_name");
  update.mutable_scorecard()->set_etag(revised.etag());
  ASSERT_TRUE(Call(&QualityStub::UpdateScorecard, env_->quality(), update, &revised).ok());
  EXPECT_EQ(revised.revision(), 2) << "a new name is no new revision";
  update.mutable_scorecard()->set_etag(scorecard.etag());
  EXPECT_EQ(Call(&QualityStub::UpdateScorecard, env_->quality(), update, &revised).error_code(),
            grpc::StatusCode::ABORTED);
}

}  // namespace
}  // namespace contactcentre::surveys
