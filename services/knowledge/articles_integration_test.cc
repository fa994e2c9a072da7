// ArticlesService against the real PostgreSQL of the `servers` fixture, through a real gRPC
// server: versions and etags, publication states, Russian and English full-text search with
// stemming, the typo fallback, ranking, filters, paging, and refused input that changes nothing.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/knowledge/testing/knowledge_test_env.h"

namespace contactcentre::knowledge {
namespace {

using testing::Call;
using testing::KnowledgeTestEnv;
using Stub = v1::ArticlesService::Stub;

class ArticlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = KnowledgeTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::Article Create(const std::string& title, const std::string& body, v1::Language language,
                     std::vector<std::string> tags = {}, const std::string& product = "",
                     const std::string& category = "",
                     v1::ArticleState state = v1::ARTICLE_STATE_PUBLISHED) {
    v1::CreateArticleRequest request;
    request.mutable_article()->set_title(title);
    request.mutable_article()->set_body(body);
    request.mutable_article()->set_language(language);
    request.mutable_article()->set_product(product);
    request.mutable_article()->set_category(category);
    request.mutable_article()->set_state(state);
    request.mutable_article()->mutable_author()->set_name("editors/1");
    for (const std::string& tag : tags) request.mutable_article()->add_tags(tag);
    v1::Article article;
    grpc::Status status = Call(&Stub::CreateArticle, env_->articles(), request, &article);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return article;
  }

  v1::SearchArticlesResponse Search(const std::string& query,
                                    v1::SearchArticlesRequest request = {}) {
    request.set_query(query);
    v1::SearchArticlesResponse response;
    grpc::Status status = Call(&Stub::SearchArticles, env_->articles(), request, &response);
    EXPECT_TRUE(status.ok()) << query << ": " << status.error_message();
    return response;
  }

  std::vector<std::string> Titles(const v1::SearchArticlesResponse& response) {
    std::vector<std::string> titles;
    for (const auto& result : response.results()) titles.push_back(result.article().title());
    return titles;
  }

  int CountArticles() {
    v1::ListArticlesResponse response;
    EXPECT_TRUE(
        Call(&Stub::ListArticles, env_->articles(), v1::ListArticlesRequest(), &response).ok());
    return response.articles_size();
  }

  std::unique_ptr<KnowledgeTestEnv> env_;
};

TEST_F(ArticlesTest, EveryEditMakesAVersionAndStaleEtagsAreRefused) {
  v1::Article created = Create("Смена тарифа", "Тариф меняется в личном кабинете.", v1::LANGUAGE_RU,
                               {"Тариф", "тариф", "Кабинет"});
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.state(), v1::ARTICLE_STATE_PUBLISHED);
  EXPECT_TRUE(created.has_publish_time());
  ASSERT_EQ(created.tags_size(), 2) << "tags are lower-cased and de-duplicated";
  EXPECT_EQ(created.tags(0), "тариф");

  v1::UpdateArticleRequest update;
  update.mutable_article()->set_name(created.name());
  update.mutable_article()->set_etag(created.etag());
  update.mutable_article()->set_body("Тариф меняется в личном кабинете или по телефону.");
  update.mutable_article()->mutable_last_editor()->set_name("editors/2");
  update.mutable_update_mask()->add_paths("body");
  update.set_change_note("добавлен телефон");
  v1::Article second;
  ASSERT_TRUE(Call(&Stub::UpdateArticle, env_->articles(), update, &second).ok());
  EXPECT_EQ(second.version(), 2);
  EXPECT_NE(second.etag(), created.etag());
  EXPECT_EQ(second.last_editor().name(), "editors/2");

  // The first etag is stale now.
  v1::Article ignored;
  update.mutable_article()->set_body("ещё раз");
  grpc::Status stale = Call(&Stub::UpdateArticle, env_->articles(), update, &ignored);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(stale.error_message().find("ETAG_MISMATCH"), std::string::npos);

  // An edit that changes nothing makes no version.
  update.mutable_article()->set_etag(second.etag());
  update.mutable_article()->set_body(second.body());
  v1::Article same;
  ASSERT_TRUE(Call(&Stub::UpdateArticle, env_->articles(), update, &same).ok());
  EXPECT_EQ(same.version(), 2);
  EXPECT_EQ(same.etag(), second.etag());

  // external_id alone makes no version, but a new etag.
  v1::UpdateArticleRequest external;
  external.mutable_article()->set_name(created.name());
  external.mutable_article()->set_etag(second.etag());
  external.mutable_article()->set_external_id("kb-17");
  external.mutable_update_mask()->add_paths("external_id");
  v1::Article third;
  ASSERT_TRUE(Call(&Stub::UpdateArticle, env_->articles(), external, &third).ok());
  EXPECT_EQ(third.version(), 2);
  EXPECT_EQ(third.external_id(), "kb-17");
  EXPECT_NE(third.etag(), second.etag());

  // History: newest first, without bodies unless asked; old versions stay readable.
  v1::ListArticleVersionsRequest list;
  list.set_parent(created.name());
  v1::ListArticleVersionsResponse versions;
  ASSERT_TRUE(Call(&Stub::ListArticleVersions, env_->articles(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 2);
  EXPECT_EQ(versions.versions(0).version(), 2);
  EXPECT_EQ(versions.versions(0).change_note(), "добавлен телефон");
  EXPECT_EQ(versions.versions(0).body(), "");
  EXPECT_EQ(versions.versions(1).editor().name(), "editors/1");

  v1::GetArticleVersionRequest get_version;
  get_version.set_name(absl::StrCat(created.name(), "/versions/1"));
  v1::ArticleVersion first;
  ASSERT_TRUE(Call(&Stub::GetArticleVersion, env_->articles(), get_version, &first).ok());
  EXPECT_EQ(first.body(), "Тариф меняется в личном кабинете.");
  get_version.set_name(absl::StrCat(created.name(), "/versions/3"));
  EXPECT_EQ(Call(&Stub::GetArticleVersion, env_->articles(), get_version, &first).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Paging through versions.
  list.set_page_size(1);
  ASSERT_TRUE(Call(&Stub::ListArticleVersions, env_->articles(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 1);
  ASSERT_FALSE(versions.next_page_token().empty());
  list.set_page_token(versions.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListArticleVersions, env_->articles(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 1);
  EXPECT_EQ(versions.versions(0).version(), 1);
  EXPECT_TRUE(versions.next_page_token().empty());

  // The mask refuses state and unknown paths; the etag is required.
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("state");
  grpc::Status refused = Call(&Stub::UpdateArticle, env_->articles(), update, &ignored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message().rfind("invalid update_mask", 0), 0u) << refused.error_message();
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("body");
  update.mutable_article()->clear_etag();
  refused = Call(&Stub::UpdateArticle, env_->articles(), update, &ignored);
  EXPECT_EQ(refused.error_message().rfind("invalid article.etag", 0), 0u)
      << refused.error_message();
}

TEST_F(ArticlesTest, PublishArchiveDeleteAndIdempotentRequests) {
  v1::CreateArticleRequest create;
  create.mutable_article()->set_title("Roaming abroad");
  create.mutable_article()->set_language(v1::LANGUAGE_EN);
  create.set_request_id("create-1");
  v1::Article first;
  v1::Article again;
  ASSERT_TRUE(Call(&Stub::CreateArticle, env_->articles(), create, &first).ok());
  ASSERT_TRUE(Call(&Stub::CreateArticle, env_->articles(), create, &again).ok());
  EXPECT_EQ(first.name(), again.name()) << "a repeated request_id returns the first answer";
  EXPECT_EQ(first.state(), v1::ARTICLE_STATE_DRAFT);
  EXPECT_EQ(CountArticles(), 1);
  create.mutable_article()->set_title("Something else");
  grpc::Status reused = Call(&Stub::CreateArticle, env_->articles(), create, &again);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(reused.error_message().rfind("invalid request_id", 0), 0u);

  v1::PublishArticleRequest publish;
  publish.set_name(first.name());
  publish.set_etag(first.etag());
  v1::Article published;
  ASSERT_TRUE(Call(&Stub::PublishArticle, env_->articles(), publish, &published).ok());
  EXPECT_EQ(published.state(), v1::ARTICLE_STATE_PUBLISHED);
  EXPECT_TRUE(published.has_publish_time());
  // Publishing again changes nothing; with the old etag it is a lost race.
  publish.clear_etag();
  v1::Article same;
  ASSERT_TRUE(Call(&Stub::PublishArticle, env_->articles(), publish, &same).ok());
  EXPECT_EQ(same.etag(), published.etag());
  publish.set_etag(first.etag());
  EXPECT_EQ(Call(&Stub::PublishArticle, env_->articles(), publish, &same).error_code(),
            grpc::StatusCode::ABORTED);

  v1::DeleteArticleRequest remove;
  remove.set_name(first.name());
  google::protobuf::Empty empty;
  grpc::Status refused = Call(&Stub::DeleteArticle, env_->articles(), remove, &empty);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message().rfind("ARTICLE_PUBLISHED", 0), 0u);

  v1::ArchiveArticleRequest archive;
  archive.set_name(first.name());
  v1::Article archived;
  ASSERT_TRUE(Call(&Stub::ArchiveArticle, env_->articles(), archive, &archived).ok());
  EXPECT_EQ(archived.state(), v1::ARTICLE_STATE_ARCHIVED);
  remove.set_request_id("delete-1");
  ASSERT_TRUE(Call(&Stub::DeleteArticle, env_->articles(), remove, &empty).ok());
  EXPECT_TRUE(Call(&Stub::DeleteArticle, env_->articles(), remove, &empty).ok())
      << "the repeated delete returns the first answer";
  remove.set_request_id("delete-2");
  EXPECT_EQ(Call(&Stub::DeleteArticle, env_->articles(), remove, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::GetArticleRequest get;
  get.set_name(first.name());
  EXPECT_EQ(Call(&Stub::GetArticle, env_->articles(), get, &same).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_name("articles/42");
  grpc::Status malformed = Call(&Stub::GetArticle, env_->articles(), get, &same);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.error_message().rfind("invalid name", 0), 0u);
}

TEST_F(ArticlesTest, RussianStemmingFindsEveryFormOfAWord) {
  const v1::Article payment =
      Create("Как оплатить услуги банковской картой",
             "## Оплата картой\n\nОплата проходит **сразу**: деньги зачисляются за минуту. "
             "Если оплата не прошла, проверьте лимиты карты.",
             v1::LANGUAGE_RU, {"оплата", "карта"}, "Домашний интернет", "billing/payments");
  Create("Подключение роутера", "Роутер подключается кабелем к порту WAN.", v1::LANGUAGE_RU,
         {"роутер"}, "Домашний интернет", "setup");
  for (const char* query : {"оплата", "оплаты", "оплатить", "ОПЛАТОЙ", "оплату картой"}) {
    v1::SearchArticlesResponse response = Search(query);
    ASSERT_EQ(response.results_size(), 1) << query;
    EXPECT_EQ(response.results(0).article().name(), payment.name()) << query;
    EXPECT_FALSE(response.fuzzy_fallback_used()) << query;
    EXPECT_EQ(response.results(0).article().body(), "") << "BASIC view has no body";
  }
  // Snippets: the title first, highlighted words, no Markdown.
  v1::SearchArticlesResponse response = Search("оплата");
  const v1::SearchArticlesResult& hit = response.results(0);
  ASSERT_GE(hit.snippets_size(), 2);
  EXPECT_EQ(hit.snippets(0).field(), "title");
  bool highlighted_title = false;
  for (const auto& segment : hit.snippets(0).segments()) {
    if (segment.highlighted()) {
      highlighted_title = true;
      EXPECT_EQ(segment.text(), "оплатить");
    }
  }
  EXPECT_TRUE(highlighted_title);
  EXPECT_EQ(hit.snippets(1).field(), "body");
  std::string body_snippet;
  for (const auto& segment : hit.snippets(1).segments()) body_snippet += segment.text();
  EXPECT_EQ(body_snippet.find("**"), std::string::npos) << body_snippet;
  EXPECT_EQ(body_snippet.find("##"), std::string::npos) << body_snippet;
  // "ё" is "е", both ways.
  Create("Счёт приходит в начале месяца", "Ежемесячный счет за связь.", v1::LANGUAGE_RU);
  EXPECT_EQ(Titles(Search("счет приходит")),
            std::vector<std::string>{"Счёт приходит в начале месяца"});
  EXPECT_EQ(Titles(Search("ежемесячный счёт")),
            std::vector<std::string>{"Счёт приходит в начале месяца"});
}

TEST_F(ArticlesTest, EnglishStemmingAndEachArticleInItsOwnLanguage) {
  const v1::Article refunds =
      Create("Refunds for duplicate payments", "A payment charged twice is refunded within 5 days.",
             v1::LANGUAGE_EN, {"billing"});
  Create("Платежи и возвраты", "Возврат платежа занимает до пяти дней.", v1::LANGUAGE_RU);
  for (const char* query : {"payment", "payments", "refunded", "refund", "duplicated payment"}) {
    v1::SearchArticlesResponse response = Search(query);
    ASSERT_EQ(response.results_size(), 1) << query;
    EXPECT_EQ(response.results(0).article().name(), refunds.name()) << query;
  }
  EXPECT_EQ(Titles(Search("возврат")), std::vector<std::string>{"Платежи и возвраты"});
  // Web-search syntax: OR, -exclusion, phrases.
  EXPECT_EQ(Search("refund OR возврат").results_size(), 2);
  EXPECT_EQ(Search("payment -refunded").results_size(), 0);
  EXPECT_EQ(Search("\"charged twice\"").results_size(), 1);
  EXPECT_EQ(Search("\"twice charged\"").results_size(), 0);
}

TEST_F(ArticlesTest, TyposFallBackToTrigramSimilarity) {
  const v1::Article password =
      Create("Resetting a forgotten password", "Use the link on the sign-in page.", v1::LANGUAGE_EN,
             {"account"});
  const v1::Article refund = Create("Возврат денег за услугу", "Деньги возвращаются на карту.",
                                    v1::LANGUAGE_RU, {"возврат"});
  v1::SearchArticlesResponse response = Search("pasword reset");
  EXPECT_TRUE(response.fuzzy_fallback_used());
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).article().name(), password.name());
  response = Search("вазврат денег");
  EXPECT_TRUE(response.fuzzy_fallback_used());
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).article().name(), refund.name());
  ASSERT_GE(response.results(0).snippets_size(), 1);
  bool highlighted = false;
  for (const auto& segment : response.results(0).snippets(0).segments()) {
    highlighted |= segment.highlighted() && segment.text().find("Возврат") == 0;
  }
  EXPECT_TRUE(highlighted) << response.results(0).snippets(0).DebugString();
  // Nothing similar at all: an empty answer, still flagged as the fallback.
  response = Search("xylophone");
  EXPECT_TRUE(response.fuzzy_fallback_used());
  EXPECT_EQ(response.results_size(), 0);
}

TEST_F(ArticlesTest, TitleOutranksBodyAndHelpfulFeedbackRaisesRank) {
  Create("Mobile data settings", "Turn on mobile data, then check the roaming switch.",
         v1::LANGUAGE_EN);
  const v1::Article in_title =
      Create("Roaming switch", "Where the switch is and what it does.", v1::LANGUAGE_EN);
  v1::SearchArticlesResponse response = Search("roaming");
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).article().name(), in_title.name());
  EXPECT_GT(response.results(0).score(), response.results(1).score());

  // Two equal articles: the one people found helpful comes first.
  const v1::Article plain =
      Create("Voicemail setup", "Dial 555 to set up voicemail.", v1::LANGUAGE_EN);
  const v1::Article liked =
      Create("Voicemail setup", "Dial 555 to set up voicemail.", v1::LANGUAGE_EN);
  for (int i = 0; i < 3; ++i) {
    v1::RecordFeedbackRequest feedback;
    feedback.set_parent(liked.name());
    feedback.mutable_feedback()->set_rating(v1::FEEDBACK_RATING_HELPFUL);
    feedback.mutable_feedback()->mutable_author()->set_name(absl::StrCat("operators/", i));
    v1::Feedback recorded;
    ASSERT_TRUE(
        Call(&v1::FeedbackService::Stub::RecordFeedback, env_->feedback(), feedback, &recorded)
            .ok());
  }
  response = Search("voicemail");
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).article().name(), liked.name());
  EXPECT_EQ(response.results(0).article().helpful_count(), 3);
  EXPECT_EQ(response.results(1).article().name(), plain.name());
}

TEST_F(ArticlesTest, TitleMatchesAreRankedEvenWhenAWordMatchesHundredsOfArticles) {
  // 600 articles mention the word in their bodies only; the one with it in its title comes
  // last, beyond the candidates a scan in storage order would rank.
  auto context = testing::Context();
  auto stream = env_->articles().ImportArticles(context.get());
  for (int message = 0; message < 6; ++message) {
    v1::ImportArticlesRequest request;
    for (int i = 0; i < 100; ++i) {
      v1::ArticleImportItem* item = request.add_items();
      item->set_item_number(message * 100 + i + 1);
      item->mutable_article()->set_title(absl::StrCat("Статья ", message * 100 + i));
      item->mutable_article()->set_body("Иногда помогает перезагрузить модем и подождать.");
      item->mutable_article()->set_language(v1::LANGUAGE_RU);
      item->mutable_article()->set_state(v1::ARTICLE_STATE_PUBLISHED);
    }
    ASSERT_TRUE(stream->Write(request));
    v1::ImportArticlesResponse response;
    ASSERT_TRUE(stream->Read(&response));
  }
  ASSERT_TRUE(stream->WritesDone());
  v1::ImportArticlesResponse summary;
  ASSERT_TRUE(stream->Read(&summary));
  EXPECT_EQ(summary.summary().created(), 600);
  ASSERT_TRUE(stream->Finish().ok());
  const v1::Article titled =
      Create("Модем не включается", "Проверьте блок питания.", v1::LANGUAGE_RU);
  v1::SearchArticlesResponse response = Search("модем");
  ASSERT_EQ(response.results_size(), 10);
  EXPECT_EQ(response.results(0).article().name(), titled.name());
  EXPECT_FALSE(response.next_page_token().empty());
}

TEST_F(ArticlesTest, FiltersAndPaging) {
  for (int i = 0; i < 5; ++i) {
    Create(absl::StrCat("Модем модель ", i), "Настройка модема.", v1::LANGUAGE_RU, {"модем"},
           i % 2 == 0 ? "Домашний интернет" : "ТВ", i < 3 ? "devices/modems" : "devices");
  }
  Create("Модем черновик", "Настройка модема.", v1::LANGUAGE_RU, {}, "", "",
         v1::ARTICLE_STATE_DRAFT);
  EXPECT_EQ(Search("модем").results_size(), 5) << "drafts are found only when asked for";
  v1::SearchArticlesRequest drafts;
  drafts.add_states(v1::ARTICLE_STATE_DRAFT);
  EXPECT_EQ(Search("модем", drafts).results_size(), 1);
  v1::SearchArticlesRequest product;
  product.add_products("домашний ИНТЕРНЕТ");
  EXPECT_EQ(Search("модем", product).results_size(), 3);
  v1::SearchArticlesRequest category;
  category.add_categories("devices");
  EXPECT_EQ(Search("модем", category).results_size(), 5) << "categories below match";
  category.set_categories(0, "devices/modems");
  EXPECT_EQ(Search("модем", category).results_size(), 3);
  category.set_categories(0, "dev");
  EXPECT_EQ(Search("модем", category).results_size(), 0) << "a prefix is not a category";
  v1::SearchArticlesRequest english;
  english.add_languages(v1::LANGUAGE_EN);
  EXPECT_EQ(Search("модем", english).results_size(), 0);
  v1::SearchArticlesRequest tags;
  tags.add_tags("МОДЕМ");
  EXPECT_EQ(Search("модем", tags).results_size(), 5);

  // Two pages of 3 + 2, no duplicates; a token with other filters is refused.
  v1::SearchArticlesRequest paged;
  paged.set_page_size(3);
  v1::SearchArticlesResponse first = Search("модем", paged);
  ASSERT_EQ(first.results_size(), 3);
  ASSERT_FALSE(first.next_page_token().empty());
  paged.set_page_token(first.next_page_token());
  v1::SearchArticlesResponse second = Search("модем", paged);
  ASSERT_EQ(second.results_size(), 2);
  EXPECT_TRUE(second.next_page_token().empty());
  for (const auto& a : first.results()) {
    for (const auto& b : second.results()) EXPECT_NE(a.article().name(), b.article().name());
  }
  paged.set_query("другое");
  v1::SearchArticlesResponse ignored;
  EXPECT_EQ(Call(&Stub::SearchArticles, env_->articles(), paged, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // ListArticles: newest change first, filters, pages.
  v1::ListArticlesRequest list;
  list.add_languages(v1::LANGUAGE_RU);
  list.add_states(v1::ARTICLE_STATE_PUBLISHED);
  list.set_page_size(4);
  v1::ListArticlesResponse page;
  ASSERT_TRUE(Call(&Stub::ListArticles, env_->articles(), list, &page).ok());
  ASSERT_EQ(page.articles_size(), 4);
  EXPECT_EQ(page.articles(0).title(), "Модем модель 4");
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListArticles, env_->articles(), list, &page).ok());
  ASSERT_EQ(page.articles_size(), 1);
  EXPECT_EQ(page.articles(0).title(), "Модем модель 0");
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(ArticlesTest, BadInputIsRefusedAndChangesNothing) {
  Create("Существующая статья", "Текст.", v1::LANGUAGE_RU);
  const auto expect_invalid = [&](const v1::CreateArticleRequest& request,
                                  const std::string& field) {
    v1::Article ignored;
    grpc::Status status = Call(&Stub::CreateArticle, env_->articles(), request, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(status.error_message().rfind(absl::StrCat("invalid ", field, ":"), 0), 0u)
        << status.error_message();
  };
  v1::CreateArticleRequest request;
  request.mutable_article()->set_title("Слишком длинная статья");
  request.mutable_article()->set_language(v1::LANGUAGE_RU);
  request.mutable_article()->set_body(std::string(262'145, 'a'));
  expect_invalid(request, "article.body");
  request.mutable_article()->set_body("ok");
  request.mutable_article()->set_language(static_cast<v1::Language>(7));
  expect_invalid(request, "article.language");
  request.mutable_article()->set_language(v1::LANGUAGE_UNSPECIFIED);
  expect_invalid(request, "article.language");
  request.mutable_article()->set_language(v1::LANGUAGE_EN);
  request.mutable_article()->set_title("   ");
  expect_invalid(request, "article.title");
  request.mutable_article()->set_title(std::string(301, 'x'));
  expect_invalid(request, "article.title");
  request.mutable_article()->set_title("ok");
  request.mutable_article()->set_state(v1::ARTICLE_STATE_ARCHIVED);
  expect_invalid(request, "article.state");
  request.mutable_article()->set_state(v1::ARTICLE_STATE_DRAFT);
  for (int i = 0; i < 31; ++i) request.mutable_article()->add_tags(absl::StrCat("t", i));
  expect_invalid(request, "article.tags");
  EXPECT_EQ(CountArticles(), 1);

  const auto expect_invalid_query = [&](const std::string& query) {
    v1::SearchArticlesRequest search;
    search.set_query(query);
    v1::SearchArticlesResponse ignored;
    grpc::Status status = Call(&Stub::SearchArticles, env_->articles(), search, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << query.size();
    EXPECT_EQ(status.error_message().rfind("invalid query:", 0), 0u) << status.error_message();
  };
  expect_invalid_query("");
  expect_invalid_query("  \t ");
  expect_invalid_query(std::string(257, 'a'));
  std::string words;
  for (int i = 0; i < 33; ++i) absl::StrAppend(&words, "w", i, " ");
  expect_invalid_query(words);
  v1::SearchArticlesRequest search;
  search.set_query("статья");
  search.add_languages(static_cast<v1::Language>(9));
  v1::SearchArticlesResponse ignored;
  grpc::Status status = Call(&Stub::SearchArticles, env_->articles(), search, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("invalid languages[0]", 0), 0u) << status.error_message();
  search.clear_languages();
  search.set_page_size(-1);
  EXPECT_EQ(Call(&Stub::SearchArticles, env_->articles(), search, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CountArticles(), 1);
}

TEST_F(ArticlesTest, ExternalIdsAreUnique) {
  v1::CreateArticleRequest request;
  request.mutable_article()->set_title("One");
  request.mutable_article()->set_language(v1::LANGUAGE_EN);
  request.mutable_article()->set_external_id("ext-1");
  v1::Article first;
  ASSERT_TRUE(Call(&Stub::CreateArticle, env_->articles(), request, &first).ok());
  request.mutable_article()->set_title("Two");
  v1::Article second;
  grpc::Status status = Call(&Stub::CreateArticle, env_->articles(), request, &second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message().rfind("article.external_id", 0), 0u);
}

}  // namespace
}  // namespace contactcentre::knowledge
