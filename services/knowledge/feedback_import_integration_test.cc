// FeedbackService and the two bulk import streams against the real PostgreSQL of the
// `servers` fixture: each person's latest vote counts, listing, per-item import results,
// resumption by request_id, and the errors that end a stream.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/knowledge/import_session.h"
#include "services/knowledge/testing/knowledge_test_env.h"

namespace contactcentre::knowledge {
namespace {

using testing::Call;
using testing::KnowledgeTestEnv;

class FeedbackImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = KnowledgeTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::Article CreateArticle(const std::string& title) {
    v1::CreateArticleRequest request;
    request.mutable_article()->set_title(title);
    request.mutable_article()->set_language(v1::LANGUAGE_EN);
    request.mutable_article()->set_state(v1::ARTICLE_STATE_PUBLISHED);
    v1::Article article;
    EXPECT_TRUE(
        Call(&v1::ArticlesService::Stub::CreateArticle, env_->articles(), request, &article).ok());
    return article;
  }

  grpc::Status Vote(const std::string& parent, v1::FeedbackRating rating, const std::string& author,
                    const std::string& comment = "", v1::Feedback* recorded = nullptr) {
    v1::RecordFeedbackRequest request;
    request.set_parent(parent);
    request.mutable_feedback()->set_rating(rating);
    request.mutable_feedback()->mutable_author()->set_name(author);
    request.mutable_feedback()->set_comment(comment);
    v1::Feedback ignored;
    return Call(&v1::FeedbackService::Stub::RecordFeedback, env_->feedback(), request,
                recorded != nullptr ? recorded : &ignored);
  }

  v1::Article GetArticle(const std::string& name) {
    v1::GetArticleRequest request;
    request.set_name(name);
    v1::Article article;
    EXPECT_TRUE(
        Call(&v1::ArticlesService::Stub::GetArticle, env_->articles(), request, &article).ok());
    return article;
  }

  std::unique_ptr<KnowledgeTestEnv> env_;
};

TEST_F(FeedbackImportTest, OnlyEachPersonsLatestFeedbackCounts) {
  const v1::Article article = CreateArticle("Porting a number");
  v1::Feedback recorded;
  ASSERT_TRUE(Vote(article.name(), v1::FEEDBACK_RATING_HELPFUL, "operators/1", "", &recorded).ok());
  EXPECT_EQ(recorded.article_version(), 1);
  EXPECT_EQ(recorded.name().rfind(absl::StrCat(article.name(), "/feedback/"), 0), 0u);
  ASSERT_TRUE(Vote(article.name(), v1::FEEDBACK_RATING_HELPFUL, "operators/1").ok());
  ASSERT_TRUE(Vote(article.name(), v1::FEEDBACK_RATING_HELPFUL, "operators/2").ok());
  v1::Article read = GetArticle(article.name());
  EXPECT_EQ(read.helpful_count(), 2);
  EXPECT_EQ(read.not_helpful_count(), 0);
  EXPECT_EQ(read.etag(), article.etag()) << "votes are not edits";
  ASSERT_TRUE(
      Vote(article.name(), v1::FEEDBACK_RATING_NOT_HELPFUL, "operators/1", "outdated").ok());
  read = GetArticle(article.name());
  EXPECT_EQ(read.helpful_count(), 1);
  EXPECT_EQ(read.not_helpful_count(), 1);
  // Anonymous feedback counts each time.
  ASSERT_TRUE(Vote(article.name(), v1::FEEDBACK_RATING_NOT_HELPFUL, "").ok());
  ASSERT_TRUE(Vote(article.name(), v1::FEEDBACK_RATING_NOT_HELPFUL, "").ok());
  EXPECT_EQ(GetArticle(article.name()).not_helpful_count(), 3);

  v1::ListFeedbackRequest list;
  list.set_parent(article.name());
  v1::ListFeedbackResponse listed;
  ASSERT_TRUE(Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).ok());
  EXPECT_EQ(listed.feedback_size(), 6);
  EXPECT_EQ(listed.feedback(2).comment(), "outdated") << "newest first";
  list.set_with_comment_only(true);
  ASSERT_TRUE(Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).ok());
  EXPECT_EQ(listed.feedback_size(), 1);
  list.Clear();
  list.set_parent("articles/-");
  list.set_rating(v1::FEEDBACK_RATING_HELPFUL);
  list.set_page_size(2);
  ASSERT_TRUE(Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).ok());
  EXPECT_EQ(listed.feedback_size(), 2);
  list.set_page_token(listed.next_page_token());
  ASSERT_TRUE(Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).ok());
  EXPECT_EQ(listed.feedback_size(), 1);
  EXPECT_TRUE(listed.next_page_token().empty());
  list.Clear();
  list.set_parent("precedents/-");
  ASSERT_TRUE(Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).ok());
  EXPECT_EQ(listed.feedback_size(), 0);

  // Errors.
  EXPECT_EQ(Vote("articles/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b", v1::FEEDBACK_RATING_HELPFUL, "")
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status status = Vote("customers/1", v1::FEEDBACK_RATING_HELPFUL, "");
  EXPECT_EQ(status.error_message().rfind("invalid parent", 0), 0u);
  status = Vote(article.name(), v1::FEEDBACK_RATING_UNSPECIFIED, "");
  EXPECT_EQ(status.error_message().rfind("invalid feedback.rating", 0), 0u);
  status = Vote(article.name(), v1::FEEDBACK_RATING_HELPFUL, "", std::string(2001, 'c'));
  EXPECT_EQ(status.error_message().rfind("invalid feedback.comment", 0), 0u);
  list.set_parent("articles/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b");
  EXPECT_EQ(
      Call(&v1::FeedbackService::Stub::ListFeedback, env_->feedback(), list, &listed).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetArticle(article.name()).not_helpful_count(), 3) << "refused votes change nothing";
}

TEST_F(FeedbackImportTest, AnItemFailingInTheDatabaseFailsAloneAndTheOthersCommit) {
  ASSERT_TRUE(env_->pg()
                  .Transact([](pqxx::work& txn) {
                    txn.exec("CREATE TABLE import_probe (item integer PRIMARY KEY)");
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<absl::Status> failures(4);
  int attempts = 0;
  const absl::Status status = ApplyImportItems(
      env_->pg(),
      {.count = 4,
       .pending = [](int i) { return i != 3; },  // item 3 was refused before
       .reset =
           [&] {
             ++attempts;
             failures.assign(4, absl::OkStatus());
           },
       .apply =
           [](pqxx::transaction_base& txn, int i) {
             // Item 1 breaks in the database (division by zero); the others insert a row.
             txn.exec_params("INSERT INTO import_probe (item) VALUES ($1::integer / $2::integer)",
                             10 * i, i == 1 ? 0 : 10);
             return absl::OkStatus();
           },
       .fail = [&](int i, const absl::Status& failure) { failures[i] = failure; },
       .finish =
           [](pqxx::work& txn) { txn.exec("INSERT INTO import_probe (item) VALUES (100)"); }});
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2) << "the first attempt, without savepoints, was spoiled";
  EXPECT_TRUE(failures[0].ok());
  EXPECT_FALSE(failures[1].ok());
  EXPECT_TRUE(failures[2].ok());
  auto items = env_->pg().Transact([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    return txn.exec1("SELECT string_agg(item::text, ',' ORDER BY item) FROM import_probe")[0]
        .as<std::string>();
  });
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(*items, "0,2,100");
}

v1::ArticleImportItem ArticleItem(int64_t number, const std::string& external_id,
                                  const std::string& title, const std::string& body) {
  v1::ArticleImportItem item;
  item.set_item_number(number);
  item.mutable_article()->set_external_id(external_id);
  item.mutable_article()->set_title(title);
  item.mutable_article()->set_body(body);
  item.mutable_article()->set_language(v1::LANGUAGE_RU);
  item.mutable_article()->set_state(v1::ARTICLE_STATE_PUBLISHED);
  return item;
}

TEST_F(FeedbackImportTest, ImportArticlesReportsEachItemAndResumes) {
  auto context = testing::Context();
  auto stream = env_->articles().ImportArticles(context.get());
  v1::ImportArticlesRequest first;
  first.set_request_id("import-1");
  first.mutable_options()->set_change_note("импорт из старой базы");
  *first.add_items() = ArticleItem(1, "old-1", "Тарифы на интернет", "Текст 1");
  *first.add_items() = ArticleItem(2, "old-2", "", "без заголовка");
  *first.add_items() = ArticleItem(3, "", "Статья без внешнего id", "Текст 3");
  ASSERT_TRUE(stream->Write(first));
  v1::ImportArticlesResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(response.results(0).version(), 1);
  EXPECT_EQ(response.results(1).outcome(), v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(response.results(1).error().field(), "article.title");
  EXPECT_EQ(response.results(1).error().code(), 3);
  EXPECT_EQ(response.results(2).outcome(), v1::IMPORT_OUTCOME_CREATED);
  const std::string imported = response.results(0).article();

  v1::ImportArticlesRequest second;
  *second.add_items() = ArticleItem(5, "old-1", "Тарифы на интернет", "Текст 1");
  *second.add_items() = ArticleItem(6, "old-1", "Тарифы на интернет", "Текст 1, исправленный");
  ASSERT_TRUE(stream->Write(second));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).outcome(), v1::IMPORT_OUTCOME_UNCHANGED);
  EXPECT_EQ(response.results(1).outcome(), v1::IMPORT_OUTCOME_UPDATED);
  EXPECT_EQ(response.results(1).version(), 2);
  EXPECT_EQ(response.results(1).article(), imported);
  ASSERT_TRUE(stream->WritesDone());
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.results_size(), 0);
  EXPECT_EQ(response.summary().items_received(), 5);
  EXPECT_EQ(response.summary().created(), 2);
  EXPECT_EQ(response.summary().updated(), 1);
  EXPECT_EQ(response.summary().unchanged(), 1);
  EXPECT_EQ(response.summary().failed(), 1);
  EXPECT_FALSE(stream->Read(&response));
  ASSERT_TRUE(stream->Finish().ok());

  // The version note is the import's.
  v1::ListArticleVersionsRequest versions_request;
  versions_request.set_parent(imported);
  v1::ListArticleVersionsResponse versions;
  ASSERT_TRUE(Call(&v1::ArticlesService::Stub::ListArticleVersions, env_->articles(),
                   versions_request, &versions)
                  .ok());
  ASSERT_EQ(versions.versions_size(), 2);
  EXPECT_EQ(versions.versions(0).change_note(), "импорт из старой базы");

  // A new stream with the same request_id: committed items are ALREADY_IMPORTED; CREATE_ONLY
  // leaves existing articles alone.
  auto context2 = testing::Context();
  auto resumed = env_->articles().ImportArticles(context2.get());
  v1::ImportArticlesRequest again;
  again.set_request_id("import-1");
  again.mutable_options()->set_mode(v1::IMPORT_MODE_CREATE_ONLY);
  *again.add_items() = ArticleItem(6, "old-1", "Тарифы", "что угодно");
  *again.add_items() = ArticleItem(7, "old-1", "Тарифы", "что угодно");
  ASSERT_TRUE(resumed->Write(again));
  ASSERT_TRUE(resumed->Read(&response));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).outcome(), v1::IMPORT_OUTCOME_ALREADY_IMPORTED);
  EXPECT_EQ(response.results(1).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  // Item numbers must increase: the stream ends with INVALID_ARGUMENT.
  v1::ImportArticlesRequest backwards;
  *backwards.add_items() = ArticleItem(7, "x", "x", "x");
  ASSERT_TRUE(resumed->Write(backwards));
  EXPECT_FALSE(resumed->Read(&response));
  grpc::Status status = resumed->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("invalid items[0].item_number", 0), 0u)
      << status.error_message();
}

TEST_F(FeedbackImportTest, ImportDirectoryEntriesMatchesByExternalIdOrNameAndCity) {
  auto context = testing::Context();
  auto stream = env_->directory().ImportDirectoryEntries(context.get());
  v1::ImportDirectoryEntriesRequest request;
  request.set_request_id("dir-1");
  const auto add = [&](int64_t number, const std::string& external_id, const std::string& name,
                       const std::string& phone) {
    v1::DirectoryEntryImportItem* item = request.add_items();
    item->set_item_number(number);
    item->mutable_entry()->set_external_id(external_id);
    item->mutable_entry()->set_display_name(name);
    item->mutable_entry()->set_city("Москва");
    item->mutable_entry()->set_category(v1::ORGANISATION_CATEGORY_BANK);
    item->mutable_entry()->add_phones()->mutable_number()->set_raw(phone);
  };
  add(1, "b-1", "Банк Альфа", "+7 495 000-00-01");
  add(2, "", "Банк Бета", "8 495 000 00 02");
  add(3, "", "Банк Гамма", "not a phone");
  ASSERT_TRUE(stream->Write(request));
  v1::ImportDirectoryEntriesResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(response.results(1).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(response.results(2).outcome(), v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(response.results(2).error().field(), "entry.phones[0].number.raw");

  request.Clear();
  add(4, "b-1", "Банк Альфа", "+7 495 000-00-01");
  add(5, "", "БАНК БЕТА", "8 495 000 00 03");  // matched by name and city, case-insensitive
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.results(0).outcome(), v1::IMPORT_OUTCOME_UNCHANGED);
  EXPECT_EQ(response.results(1).outcome(), v1::IMPORT_OUTCOME_UPDATED);
  // Over 1,000 items in one message ends the stream.
  request.Clear();
  for (int i = 0; i < 1001; ++i) add(10 + i, "", absl::StrCat("Банк ", i), "+7 495 000-00-01");
  ASSERT_TRUE(stream->Write(request));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("invalid items:", 0), 0u) << status.error_message();

  v1::SearchDirectoryRequest search;
  search.set_query("банк");
  v1::SearchDirectoryResponse found;
  ASSERT_TRUE(
      Call(&v1::DirectoryService::Stub::SearchDirectory, env_->directory(), search, &found).ok());
  ASSERT_EQ(found.results_size(), 2) << "items committed before the error stay";
  for (const auto& result : found.results()) {
    if (result.entry().display_name() == "БАНК БЕТА") {
      EXPECT_EQ(result.entry().phones(0).number().e164(), "+74950000003");
    } else {
      EXPECT_EQ(result.entry().display_name(), "Банк Альфа");
    }
  }
}

}  // namespace
}  // namespace contactcentre::knowledge
