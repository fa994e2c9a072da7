// Articles of the knowledge base on PostgreSQL: versions, publication states, etags,
// idempotent mutations, full-text search with a typo fallback, and bulk import.
//
// Each method implements the ArticlesService method of the same name; the contract
// (proto/contactcentre/knowledge/v1/articles.proto) lists the errors. Mutations honour
// request_id in the transaction of the change.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/pg_pool.h"
#include "contactcentre/knowledge/v1/articles.pb.h"
#include "google/protobuf/empty.pb.h"
#include "services/knowledge/import_session.h"

namespace contactcentre::knowledge {

class ArticleStore {
 public:
  explicit ArticleStore(common::PgPool& pg) : pg_(pg) {}

  absl::StatusOr<v1::Article> Create(const v1::CreateArticleRequest& request);
  absl::StatusOr<v1::Article> Get(const v1::GetArticleRequest& request);
  absl::StatusOr<v1::ListArticlesResponse> List(const v1::ListArticlesRequest& request);
  absl::StatusOr<v1::Article> Update(const v1::UpdateArticleRequest& request);
  absl::StatusOr<v1::Article> Publish(const v1::PublishArticleRequest& request);
  absl::StatusOr<v1::Article> Archive(const v1::ArchiveArticleRequest& request);
  absl::StatusOr<google::protobuf::Empty> Delete(const v1::DeleteArticleRequest& request);
  absl::StatusOr<v1::ListArticleVersionsResponse> ListVersions(
      const v1::ListArticleVersionsRequest& request);
  absl::StatusOr<v1::ArticleVersion> GetVersion(const v1::GetArticleVersionRequest& request);
  absl::StatusOr<v1::SearchArticlesResponse> Search(const v1::SearchArticlesRequest& request);

  // The state of one ImportArticles stream.
  std::unique_ptr<ImportSession<v1::ImportArticlesRequest, v1::ImportArticlesResponse>>
  NewImportSession();

  // The full-text statement of Search, for the benchmark's direct-SQL baseline. Parameters:
  // $1 query (web-search syntax, folded), $2 states smallint[], $3 product keys text[],
  // $4 category keys text[], $5 languages smallint[], $6 tags text[], $7 limit, $8 offset,
  // $9 whether to return bodies, $10 ts_headline options for title and summary, $11 for body.
  static const std::string& FullTextSearchSql();
  // The ts_headline options Search passes as $10 and $11.
  static const std::string& TitleHeadlineOptions();
  static const std::string& BodyHeadlineOptions();

 private:
  class ImportArticles;

  absl::StatusOr<v1::Article> ChangeState(absl::string_view method, const std::string& name,
                                          const std::string& etag, const std::string& request_id,
                                          const google::protobuf::Message& request,
                                          v1::ArticleState target);

  common::PgPool& pg_;
};

}  // namespace contactcentre::knowledge
