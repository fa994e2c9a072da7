// PrecedentsService against the real PostgreSQL and Redis of the `servers` fixture: CRUD with
// etags, suggestions in Russian and English (stemming, typos, filters, the score scale), and
// idempotent creation from WrapUpWritten events, replayed directly and through the stream.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/event_stream.h"
#include "common/ids.h"
#include "services/knowledge/testing/knowledge_test_env.h"

namespace contactcentre::knowledge {
namespace {

using testing::Call;
using testing::KnowledgeTestEnv;
using Stub = v1::PrecedentsService::Stub;

class PrecedentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = KnowledgeTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::Precedent Create(const std::string& problem, const std::string& solution,
                       const std::string& product = "",
                       v1::PrecedentOutcome outcome = v1::PRECEDENT_OUTCOME_RESOLVED,
                       std::vector<std::string> tags = {}) {
    v1::CreatePrecedentRequest request;
    request.mutable_precedent()->set_problem(problem);
    request.mutable_precedent()->set_solution(solution);
    request.mutable_precedent()->set_product(product);
    request.mutable_precedent()->set_outcome(outcome);
    for (const std::string& tag : tags) request.mutable_precedent()->add_tags(tag);
    v1::Precedent precedent;
    grpc::Status status = Call(&Stub::CreatePrecedent, env_->precedents(), request, &precedent);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return precedent;
  }

  v1::SuggestPrecedentsResponse Suggest(const std::string& text,
                                        v1::SuggestPrecedentsRequest request = {}) {
    request.set_text(text);
    v1::SuggestPrecedentsResponse response;
    grpc::Status status = Call(&Stub::SuggestPrecedents, env_->precedents(), request, &response);
    EXPECT_TRUE(status.ok()) << text << ": " << status.error_message();
    return response;
  }

  std::vector<v1::Precedent> ListAll() {
    v1::ListPrecedentsResponse response;
    EXPECT_TRUE(
        Call(&Stub::ListPrecedents, env_->precedents(), v1::ListPrecedentsRequest(), &response)
            .ok());
    return {response.precedents().begin(), response.precedents().end()};
  }

  events::v1::Event WrapUpEvent(const std::string& problem, const std::string& solution) {
    events::v1::Event event;
    event.set_id(common::NewId());
    event.set_site(env_->site());
    event.set_producer("services/calls");
    events::v1::WrapUpWritten* wrap_up = event.mutable_wrap_up_written();
    wrap_up->mutable_call()->set_call("calls/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b");
    wrap_up->mutable_call()->set_operator_("operators/op-7");
    wrap_up->set_disposition("resolved");
    wrap_up->mutable_new_precedent()->set_problem(problem);
    wrap_up->mutable_new_precedent()->set_solution(solution);
    wrap_up->mutable_new_precedent()->set_product("Мобильная связь");
    wrap_up->mutable_new_precedent()->add_tags("SIM");
    wrap_up->mutable_new_precedent()->set_language("ru");
    return event;
  }

  // PrecedentCreated events on the site's stream.
  std::vector<events::v1::PrecedentCreated> PublishedPrecedents() {
    std::vector<events::v1::PrecedentCreated> published;
    auto reply = env_->redis().Command({"XRANGE", common::EventStreamKey(env_->site()), "-", "+"});
    if (!reply.ok()) return published;
    for (const common::RedisReply& entry : reply->elements) {
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        events::v1::Event event;
        if (fields[i].str == "event" && event.ParseFromString(fields[i + 1].str) &&
            event.has_precedent_created()) {
          published.push_back(event.precedent_created());
        }
      }
    }
    return published;
  }

  std::unique_ptr<KnowledgeTestEnv> env_;
};

TEST_F(PrecedentsTest, CreateReadUpdateDelete) {
  v1::Precedent created = Create("Не приходят SMS с кодом подтверждения",
                                 "Отключили блокировку коротких номеров в личном кабинете.",
                                 "Мобильная связь", v1::PRECEDENT_OUTCOME_RESOLVED, {"SMS"});
  EXPECT_EQ(created.language(), v1::LANGUAGE_RU) << "detected from the text";
  EXPECT_EQ(created.source(), v1::PRECEDENT_SOURCE_API);
  EXPECT_EQ(created.tags(0), "sms");

  v1::GetPrecedentRequest get;
  get.set_name(created.name());
  v1::Precedent read;
  ASSERT_TRUE(Call(&Stub::GetPrecedent, env_->precedents(), get, &read).ok());
  EXPECT_EQ(read.problem(), created.problem());

  v1::UpdatePrecedentRequest update;
  update.mutable_precedent()->set_name(created.name());
  update.mutable_precedent()->set_etag(created.etag());
  update.mutable_precedent()->set_outcome(v1::PRECEDENT_OUTCOME_WORKAROUND);
  update.mutable_update_mask()->add_paths("outcome");
  v1::Precedent updated;
  ASSERT_TRUE(Call(&Stub::UpdatePrecedent, env_->precedents(), update, &updated).ok());
  EXPECT_EQ(updated.outcome(), v1::PRECEDENT_OUTCOME_WORKAROUND);
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_EQ(Call(&Stub::UpdatePrecedent, env_->precedents(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);
  update.mutable_update_mask()->set_paths(0, "source");
  grpc::Status refused = Call(&Stub::UpdatePrecedent, env_->precedents(), update, &updated);
  EXPECT_EQ(refused.error_message().rfind("invalid update_mask", 0), 0u);

  // Filters of the list.
  Create("Roaming does not work in Turkey", "Enabled roaming in the account settings.", "Mobile",
         v1::PRECEDENT_OUTCOME_NOT_RESOLVED);
  v1::ListPrecedentsRequest list;
  list.add_languages(v1::LANGUAGE_EN);
  v1::ListPrecedentsResponse listed;
  ASSERT_TRUE(Call(&Stub::ListPrecedents, env_->precedents(), list, &listed).ok());
  ASSERT_EQ(listed.precedents_size(), 1);
  EXPECT_EQ(listed.precedents(0).language(), v1::LANGUAGE_EN);
  list.Clear();
  list.add_outcomes(v1::PRECEDENT_OUTCOME_WORKAROUND);
  ASSERT_TRUE(Call(&Stub::ListPrecedents, env_->precedents(), list, &listed).ok());
  ASSERT_EQ(listed.precedents_size(), 1);
  EXPECT_EQ(listed.precedents(0).name(), created.name());
  list.Clear();
  list.set_page_size(1);
  ASSERT_TRUE(Call(&Stub::ListPrecedents, env_->precedents(), list, &listed).ok());
  ASSERT_EQ(listed.precedents_size(), 1);
  EXPECT_EQ(listed.precedents(0).language(), v1::LANGUAGE_EN) << "newest first";
  list.set_page_token(listed.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListPrecedents, env_->precedents(), list, &listed).ok());
  ASSERT_EQ(listed.precedents_size(), 1);
  EXPECT_EQ(listed.precedents(0).name(), created.name());
  EXPECT_TRUE(listed.next_page_token().empty());

  v1::DeletePrecedentRequest remove;
  remove.set_name(created.name());
  remove.set_etag(created.etag());
  google::protobuf::Empty empty;
  EXPECT_EQ(Call(&Stub::DeletePrecedent, env_->precedents(), remove, &empty).error_code(),
            grpc::StatusCode::ABORTED);
  remove.clear_etag();
  ASSERT_TRUE(Call(&Stub::DeletePrecedent, env_->precedents(), remove, &empty).ok());
  EXPECT_EQ(Call(&Stub::GetPrecedent, env_->precedents(), get, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PrecedentsTest, BadInputIsRefusedAndChangesNothing) {
  const auto expect_invalid = [&](const v1::Precedent& precedent, const std::string& field) {
    v1::CreatePrecedentRequest request;
    *request.mutable_precedent() = precedent;
    v1::Precedent ignored;
    grpc::Status status = Call(&Stub::CreatePrecedent, env_->precedents(), request, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(status.error_message().rfind(absl::StrCat("invalid ", field, ":"), 0), 0u)
        << status.error_message();
  };
  v1::Precedent precedent;
  precedent.set_solution("s");
  expect_invalid(precedent, "precedent.problem");
  precedent.set_problem(std::string(4001, 'p'));
  expect_invalid(precedent, "precedent.problem");
  precedent.set_problem("p");
  precedent.set_solution(std::string(8001, 's'));
  expect_invalid(precedent, "precedent.solution");
  precedent.set_solution("s");
  precedent.set_language(static_cast<v1::Language>(5));
  expect_invalid(precedent, "precedent.language");
  precedent.set_language(v1::LANGUAGE_EN);
  precedent.set_call("call/1");
  expect_invalid(precedent, "precedent.call");
  precedent.clear_call();
  precedent.add_related_articles("articles/not-an-id");
  expect_invalid(precedent, "precedent.related_articles[0]");
  EXPECT_TRUE(ListAll().empty());
  EXPECT_TRUE(PublishedPrecedents().empty());

  v1::SuggestPrecedentsResponse ignored;
  for (const char* text : {"", "   "}) {
    v1::SuggestPrecedentsRequest request;
    request.set_text(text);
    grpc::Status status = Call(&Stub::SuggestPrecedents, env_->precedents(), request, &ignored);
    EXPECT_EQ(status.error_message().rfind("invalid text", 0), 0u) << status.error_message();
  }
  v1::SuggestPrecedentsRequest request;
  request.set_text("ok");
  request.set_min_score(1.5);
  EXPECT_EQ(Call(&Stub::SuggestPrecedents, env_->precedents(), request, &ignored)
                .error_message()
                .rfind("invalid min_score", 0),
            0u);
  request.set_min_score(0);
  request.set_k(-1);
  EXPECT_EQ(Call(&Stub::SuggestPrecedents, env_->precedents(), request, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_k(0);
  request.set_language(static_cast<v1::Language>(3));
  EXPECT_EQ(Call(&Stub::SuggestPrecedents, env_->precedents(), request, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PrecedentsTest, SuggestsTheMostSimilarInRussianAndEnglish) {
  const v1::Precedent card =
      Create("Оплата банковской картой не проходит, приложение показывает ошибку 3-D Secure",
             "Попросили клиента включить SMS-подтверждение в банке и повторить оплату.",
             "Мобильное приложение", v1::PRECEDENT_OUTCOME_RESOLVED, {"оплата", "карта"});
  const v1::Precedent router = Create(
      "Роутер не раздаёт Wi-Fi после перезагрузки",
      "Сбросили роутер к заводским настройкам и заново настроили сеть.", "Домашний интернет");
  const v1::Precedent sms =
      Create("Не приходят SMS от банка", "Сняли блокировку коротких номеров.", "Мобильная связь");
  const v1::Precedent english =
      Create("Customer cannot pay the bill with a credit card online",
             "The card was blocked for online payments; the bank unblocked it.", "Billing");
  const v1::Precedent unsolved = Create("Оплата картой не проходит на сайте", "Не решено.", "Сайт",
                                        v1::PRECEDENT_OUTCOME_NOT_RESOLVED);

  v1::SuggestPrecedentsResponse response = Suggest("клиент не может оплатить картой, пишет ошибку");
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), card.name());
  for (const auto& result : response.results()) {
    EXPECT_NE(result.precedent().name(), unsolved.name()) << "NOT_RESOLVED only when asked";
    EXPECT_GE(result.score(), 0.0);
    EXPECT_LE(result.score(), 1.0);
  }
  for (int i = 1; i < response.results_size(); ++i) {
    EXPECT_GE(response.results(i - 1).score(), response.results(i).score()) << "best first";
  }
  ASSERT_GE(response.results(0).snippets_size(), 1);
  EXPECT_EQ(response.results(0).snippets(0).field(), "problem");

  // The same problem text scores 1.
  response = Suggest(router.problem());
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), router.name());
  EXPECT_NEAR(response.results(0).score(), 1.0, 1e-9);

  // Typos still find it.
  response = Suggest("ротуер не раздает вайфай");
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), router.name());
  response = Suggest("не приходят смс от банка");
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), sms.name());

  // English, stemming ("paying", "cards").
  response = Suggest("paying by cards online fails");
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), english.name());

  // Filters: product, language, outcomes, k, threshold.
  v1::SuggestPrecedentsRequest filtered;
  filtered.set_product("сайт");
  filtered.add_outcomes(v1::PRECEDENT_OUTCOME_NOT_RESOLVED);
  response = Suggest("оплата картой", filtered);
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), unsolved.name());
  filtered.Clear();
  filtered.set_language(v1::LANGUAGE_EN);
  response = Suggest("оплата картой card", filtered);
  for (const auto& result : response.results()) {
    EXPECT_EQ(result.precedent().language(), v1::LANGUAGE_EN);
  }
  filtered.Clear();
  filtered.set_k(1);
  EXPECT_LE(Suggest("оплата картой", filtered).results_size(), 1);
  filtered.Clear();
  filtered.set_min_score(0.99);
  response = Suggest(router.problem(), filtered);
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), router.name());
  EXPECT_EQ(Suggest("совершенно другое про погоду").results_size(), 0)
      << "no match is an empty list";
}

TEST_F(PrecedentsTest, HelpfulFeedbackRaisesTheScoreSlightly) {
  const v1::Precedent a = Create("Телевизор не видит приставку", "Переключили вход на HDMI 2.");
  const v1::Precedent b = Create("Телевизор не видит приставку", "Переключили вход на HDMI 2.");
  v1::SuggestPrecedentsResponse before = Suggest("телевизор не видит приставку");
  ASSERT_EQ(before.results_size(), 2);
  v1::RecordFeedbackRequest feedback;
  feedback.set_parent(a.name());
  feedback.mutable_feedback()->set_rating(v1::FEEDBACK_RATING_HELPFUL);
  feedback.mutable_feedback()->mutable_author()->set_name("operators/1");
  v1::Feedback recorded;
  ASSERT_TRUE(
      Call(&v1::FeedbackService::Stub::RecordFeedback, env_->feedback(), feedback, &recorded).ok());
  v1::SuggestPrecedentsResponse after = Suggest("телевизор не видит");
  ASSERT_EQ(after.results_size(), 2);
  EXPECT_EQ(after.results(0).precedent().name(), a.name());
  EXPECT_GT(after.results(0).score(), after.results(1).score());
  EXPECT_LT(after.results(0).score() - after.results(1).score(), 0.1) << "slightly";
  EXPECT_EQ(after.results(0).precedent().helpful_count(), 1);
  (void)b;
}

TEST_F(PrecedentsTest, AReplayedWrapUpEventCreatesOnePrecedent) {
  events::v1::Event event = WrapUpEvent("Не работает eSIM после переноса номера",
                                        "Перевыпустили профиль eSIM и отправили новый QR-код.");
  ASSERT_TRUE(env_->module().precedents().ApplyEvent(event).ok());
  ASSERT_TRUE(env_->module().precedents().ApplyEvent(event).ok());
  std::vector<v1::Precedent> precedents = ListAll();
  ASSERT_EQ(precedents.size(), 1u);
  const v1::Precedent& created = precedents[0];
  EXPECT_EQ(created.source(), v1::PRECEDENT_SOURCE_WRAP_UP);
  EXPECT_EQ(created.source_event(), event.id());
  EXPECT_EQ(created.outcome(), v1::PRECEDENT_OUTCOME_RESOLVED) << "disposition resolved";
  EXPECT_EQ(created.operator_(), "operators/op-7");
  EXPECT_EQ(created.call(), event.wrap_up_written().call().call());
  EXPECT_EQ(created.language(), v1::LANGUAGE_RU);
  EXPECT_EQ(created.tags(0), "sim");

  // PrecedentCreated went out through the outbox, once.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (PublishedPrecedents().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::vector<events::v1::PrecedentCreated> published = PublishedPrecedents();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].precedent(), created.name());
  EXPECT_EQ(published[0].operator_(), "operators/op-7");

  // Deleted, then replayed: it does not come back.
  v1::DeletePrecedentRequest remove;
  remove.set_name(created.name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeletePrecedent, env_->precedents(), remove, &empty).ok());
  ASSERT_TRUE(env_->module().precedents().ApplyEvent(event).ok());
  EXPECT_TRUE(ListAll().empty());

  // Events of other kinds, and wrap-ups without a new precedent, are ignored.
  events::v1::Event plain = WrapUpEvent("x", "y");
  plain.mutable_wrap_up_written()->clear_new_precedent();
  ASSERT_TRUE(env_->module().precedents().ApplyEvent(plain).ok());
  events::v1::Event invalid = WrapUpEvent("", "only a solution");
  ASSERT_TRUE(env_->module().precedents().ApplyEvent(invalid).ok()) << "skipped, not retried";
  EXPECT_TRUE(ListAll().empty());
}

TEST_F(PrecedentsTest, TheConsumerCreatesPrecedentsFromTheSitesStreamOnce) {
  events::v1::Event event = WrapUpEvent("Списали деньги за подписку, которую клиент не оформлял",
                                        "Отключили подписку и вернули деньги на счёт.");
  event.mutable_wrap_up_written()->mutable_new_precedent()->set_outcome("workaround");
  // Published twice, as an at-least-once producer may.
  ASSERT_TRUE(env_->calls_publisher().Publish(event).ok());
  ASSERT_TRUE(env_->calls_publisher().Publish(event).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (ListAll().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  absl::SleepFor(absl::Milliseconds(500));  // time for the duplicate to be consumed too
  std::vector<v1::Precedent> precedents = ListAll();
  ASSERT_EQ(precedents.size(), 1u);
  EXPECT_EQ(precedents[0].source_event(), event.id());
  EXPECT_EQ(precedents[0].outcome(), v1::PRECEDENT_OUTCOME_WORKAROUND);
  v1::SuggestPrecedentsResponse response = Suggest("списали деньги за подписку");
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).precedent().name(), precedents[0].name());
}

}  // namespace
}  // namespace contactcentre::knowledge
