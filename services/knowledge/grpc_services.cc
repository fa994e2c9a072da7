#include "services/knowledge/grpc_services.h"

#include "common/log.h"
#include "common/status.h"
#include "services/knowledge/import_reactor.h"

namespace contactcentre::knowledge {
namespace {

// The answer of a store as a gRPC status and response.
template <typename Response>
grpc::Status Respond(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInternal ||
        result.status().code() == absl::StatusCode::kUnknown) {
      common::LogError("request failed", {{"error", result.status()}});
    }
    return common::ToGrpcStatus(result.status());
  }
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ArticlesGrpcService::CreateArticle(grpc::ServerContext*,
                                                const v1::CreateArticleRequest* request,
                                                v1::Article* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Create(*request), response);
}

grpc::Status ArticlesGrpcService::GetArticle(grpc::ServerContext*,
                                             const v1::GetArticleRequest* request,
                                             v1::Article* response) {
  return Respond(store_.Get(*request), response);
}

grpc::Status ArticlesGrpcService::ListArticles(grpc::ServerContext*,
                                               const v1::ListArticlesRequest* request,
                                               v1::ListArticlesResponse* response) {
  return Respond(store_.List(*request), response);
}

grpc::Status ArticlesGrpcService::UpdateArticle(grpc::ServerContext*,
                                                const v1::UpdateArticleRequest* request,
                                                v1::Article* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Update(*request), response);
}

grpc::Status ArticlesGrpcService::PublishArticle(grpc::ServerContext*,
                                                 const v1::PublishArticleRequest* request,
                                                 v1::Article* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Publish(*request), response);
}

grpc::Status ArticlesGrpcService::ArchiveArticle(grpc::ServerContext*,
                                                 const v1::ArchiveArticleRequest* request,
                                                 v1::Article* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Archive(*request), response);
}

grpc::Status ArticlesGrpcService::DeleteArticle(grpc::ServerContext*,
                                                const v1::DeleteArticleRequest* request,
                                                google::protobuf::Empty* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Delete(*request), response);
}

grpc::Status ArticlesGrpcService::ListArticleVersions(grpc::ServerContext*,
                                                      const v1::ListArticleVersionsRequest* request,
                                                      v1::ListArticleVersionsResponse* response) {
  return Respond(store_.ListVersions(*request), response);
}

grpc::Status ArticlesGrpcService::GetArticleVersion(grpc::ServerContext*,
                                                    const v1::GetArticleVersionRequest* request,
                                                    v1::ArticleVersion* response) {
  return Respond(store_.GetVersion(*request), response);
}

grpc::Status ArticlesGrpcService::SearchArticles(grpc::ServerContext*,
                                                 const v1::SearchArticlesRequest* request,
                                                 v1::SearchArticlesResponse* response) {
  return Respond(store_.Search(*request), response);
}

grpc::ServerBidiReactor<v1::ImportArticlesRequest, v1::ImportArticlesResponse>*
ArticlesGrpcService::ImportArticles(grpc::CallbackServerContext*) {
  return new ImportReactor<v1::ImportArticlesRequest, v1::ImportArticlesResponse>(
      store_.NewImportSession(), executor_);
}

grpc::Status PrecedentsGrpcService::CreatePrecedent(grpc::ServerContext*,
                                                    const v1::CreatePrecedentRequest* request,
                                                    v1::Precedent* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Create(*request), response);
}

grpc::Status PrecedentsGrpcService::GetPrecedent(grpc::ServerContext*,
                                                 const v1::GetPrecedentRequest* request,
                                                 v1::Precedent* response) {
  return Respond(store_.Get(*request), response);
}

grpc::Status PrecedentsGrpcService::ListPrecedents(grpc::ServerContext*,
                                                   const v1::ListPrecedentsRequest* request,
                                                   v1::ListPrecedentsResponse* response) {
  return Respond(store_.List(*request), response);
}

grpc::Status PrecedentsGrpcService::UpdatePrecedent(grpc::ServerContext*,
                                                    const v1::UpdatePrecedentRequest* request,
                                                    v1::Precedent* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Update(*request), response);
}

grpc::Status PrecedentsGrpcService::DeletePrecedent(grpc::ServerContext*,
                                                    const v1::DeletePrecedentRequest* request,
                                                    google::protobuf::Empty* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Delete(*request), response);
}

grpc::Status PrecedentsGrpcService::SuggestPrecedents(grpc::ServerContext*,
                                                      const v1::SuggestPrecedentsRequest* request,
                                                      v1::SuggestPrecedentsResponse* response) {
  return Respond(store_.Suggest(*request), response);
}

grpc::Status DirectoryGrpcService::CreateDirectoryEntry(
    grpc::ServerContext*, const v1::CreateDirectoryEntryRequest* request,
    v1::DirectoryEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Create(*request), response);
}

grpc::Status DirectoryGrpcService::GetDirectoryEntry(grpc::ServerContext*,
                                                     const v1::GetDirectoryEntryRequest* request,
                                                     v1::DirectoryEntry* response) {
  return Respond(store_.Get(*request), response);
}

grpc::Status DirectoryGrpcService::ListDirectoryEntries(
    grpc::ServerContext*, const v1::ListDirectoryEntriesRequest* request,
    v1::ListDirectoryEntriesResponse* response) {
  return Respond(store_.List(*request), response);
}

grpc::Status DirectoryGrpcService::UpdateDirectoryEntry(
    grpc::ServerContext*, const v1::UpdateDirectoryEntryRequest* request,
    v1::DirectoryEntry* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Update(*request), response);
}

grpc::Status DirectoryGrpcService::DeleteDirectoryEntry(
    grpc::ServerContext*, const v1::DeleteDirectoryEntryRequest* request,
    google::protobuf::Empty* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Delete(*request), response);
}

grpc::Status DirectoryGrpcService::SearchDirectory(grpc::ServerContext*,
                                                   const v1::SearchDirectoryRequest* request,
                                                   v1::SearchDirectoryResponse* response) {
  return Respond(store_.Search(*request), response);
}

grpc::ServerBidiReactor<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse>*
DirectoryGrpcService::ImportDirectoryEntries(grpc::CallbackServerContext*) {
  return new ImportReactor<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse>(
      store_.NewImportSession(), executor_);
}

grpc::Status FeedbackGrpcService::RecordFeedback(grpc::ServerContext*,
                                                 const v1::RecordFeedbackRequest* request,
                                                 v1::Feedback* response) {
  common::ScopedRequestId scope(request->request_id());
  return Respond(store_.Record(*request), response);
}

grpc::Status FeedbackGrpcService::ListFeedback(grpc::ServerContext*,
                                               const v1::ListFeedbackRequest* request,
                                               v1::ListFeedbackResponse* response) {
  return Respond(store_.List(*request), response);
}

}  // namespace contactcentre::knowledge
