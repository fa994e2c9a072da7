// The gRPC adapters of the knowledge service: each method converts nothing but the status
// and hands the request to its store. Unary methods use the sync API (the stores block on
// PostgreSQL); the import streams use the callback API with ImportReactor.
#pragma once

#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/directory.grpc.pb.h"
#include "contactcentre/knowledge/v1/feedback.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"
#include "services/knowledge/article_store.h"
#include "services/knowledge/directory_store.h"
#include "services/knowledge/executor.h"
#include "services/knowledge/feedback_store.h"
#include "services/knowledge/precedent_store.h"

namespace contactcentre::knowledge {

class ArticlesGrpcService final
    : public v1::ArticlesService::WithCallbackMethod_ImportArticles<v1::ArticlesService::Service> {
 public:
  ArticlesGrpcService(ArticleStore& store, Executor& executor)
      : store_(store), executor_(executor) {}

  grpc::Status CreateArticle(grpc::ServerContext*, const v1::CreateArticleRequest* request,
                             v1::Article* response) override;
  grpc::Status GetArticle(grpc::ServerContext*, const v1::GetArticleRequest* request,
                          v1::Article* response) override;
  grpc::Status ListArticles(grpc::ServerContext*, const v1::ListArticlesRequest* request,
                            v1::ListArticlesResponse* response) override;
  grpc::Status UpdateArticle(grpc::ServerContext*, const v1::UpdateArticleRequest* request,
                             v1::Article* response) override;
  grpc::Status PublishArticle(grpc::ServerContext*, const v1::PublishArticleRequest* request,
                              v1::Article* response) override;
  grpc::Status ArchiveArticle(grpc::ServerContext*, const v1::ArchiveArticleRequest* request,
                              v1::Article* response) override;
  grpc::Status DeleteArticle(grpc::ServerContext*, const v1::DeleteArticleRequest* request,
                             google::protobuf::Empty* response) override;
  grpc::Status ListArticleVersions(grpc::ServerContext*,
                                   const v1::ListArticleVersionsRequest* request,
                                   v1::ListArticleVersionsResponse* response) override;
  grpc::Status GetArticleVersion(grpc::ServerContext*, const v1::GetArticleVersionRequest* request,
                                 v1::ArticleVersion* response) override;
  grpc::Status SearchArticles(grpc::ServerContext*, const v1::SearchArticlesRequest* request,
                              v1::SearchArticlesResponse* response) override;
  grpc::ServerBidiReactor<v1::ImportArticlesRequest, v1::ImportArticlesResponse>* ImportArticles(
      grpc::CallbackServerContext* context) override;

 private:
  ArticleStore& store_;
  Executor& executor_;
};

class PrecedentsGrpcService final : public v1::PrecedentsService::Service {
 public:
  explicit PrecedentsGrpcService(PrecedentStore& store) : store_(store) {}

  grpc::Status CreatePrecedent(grpc::ServerContext*, const v1::CreatePrecedentRequest* request,
                               v1::Precedent* response) override;
  grpc::Status GetPrecedent(grpc::ServerContext*, const v1::GetPrecedentRequest* request,
                            v1::Precedent* response) override;
  grpc::Status ListPrecedents(grpc::ServerContext*, const v1::ListPrecedentsRequest* request,
                              v1::ListPrecedentsResponse* response) override;
  grpc::Status UpdatePrecedent(grpc::ServerContext*, const v1::UpdatePrecedentRequest* request,
                               v1::Precedent* response) override;
  grpc::Status DeletePrecedent(grpc::ServerContext*, const v1::DeletePrecedentRequest* request,
                               google::protobuf::Empty* response) override;
  grpc::Status SuggestPrecedents(grpc::ServerContext*, const v1::SuggestPrecedentsRequest* request,
                                 v1::SuggestPrecedentsResponse* response) override;

 private:
  PrecedentStore& store_;
};

class DirectoryGrpcService final
    : public v1::DirectoryService::WithCallbackMethod_ImportDirectoryEntries<
          v1::DirectoryService::Service> {
 public:
  DirectoryGrpcService(DirectoryStore& store, Executor& executor)
      : store_(store), executor_(executor) {}

  grpc::Status CreateDirectoryEntry(grpc::ServerContext*,
                                    const v1::CreateDirectoryEntryRequest* request,
                                    v1::DirectoryEntry* response) override;
  grpc::Status GetDirectoryEntry(grpc::ServerContext*, const v1::GetDirectoryEntryRequest* request,
                                 v1::DirectoryEntry* response) override;
  grpc::Status ListDirectoryEntries(grpc::ServerContext*,
                                    const v1::ListDirectoryEntriesRequest* request,
                                    v1::ListDirectoryEntriesResponse* response) override;
  grpc::Status UpdateDirectoryEntry(grpc::ServerContext*,
                                    const v1::UpdateDirectoryEntryRequest* request,
                                    v1::DirectoryEntry* response) override;
  grpc::Status DeleteDirectoryEntry(grpc::ServerContext*,
                                    const v1::DeleteDirectoryEntryRequest* request,
                                    google::protobuf::Empty* response) override;
  grpc::Status SearchDirectory(grpc::ServerContext*, const v1::SearchDirectoryRequest* request,
                               v1::SearchDirectoryResponse* response) override;
  grpc::ServerBidiReactor<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse>*
  ImportDirectoryEntries(grpc::CallbackServerContext* context) override;

 private:
  DirectoryStore& store_;
  Executor& executor_;
};

class FeedbackGrpcService final : public v1::FeedbackService::Service {
 public:
  explicit FeedbackGrpcService(FeedbackStore& store) : store_(store) {}

  grpc::Status RecordFeedback(grpc::ServerContext*, const v1::RecordFeedbackRequest* request,
                              v1::Feedback* response) override;
  grpc::Status ListFeedback(grpc::ServerContext*, const v1::ListFeedbackRequest* request,
                            v1::ListFeedbackResponse* response) override;

 private:
  FeedbackStore& store_;
};

}  // namespace contactcentre::knowledge
