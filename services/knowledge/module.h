// The knowledge service as a ServiceModule (common/service_main.h): its stores, its four gRPC
// services and the event consumer that turns flagged wrap-ups into precedents.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/service_main.h"
#include "services/knowledge/article_store.h"
#include "services/knowledge/directory_store.h"
#include "services/knowledge/executor.h"
#include "services/knowledge/feedback_store.h"
#include "services/knowledge/grpc_services.h"
#include "services/knowledge/precedent_store.h"

namespace contactcentre::knowledge {

struct KnowledgeOptions {
  // ISO 3166 region for directory phones without a country code, e.g. "RU".
  std::string phone_region = "RU";
  // IANA zone of opening hours that name none, e.g. "Europe/Moscow".
  std::string time_zone = "Europe/Moscow";
  // Threads for the import streams' database work.
  int import_threads = 2;
  // How long one read of the event stream waits for new events (and so how long stopping
  // the consumer may take).
  absl::Duration event_read_block = absl::Seconds(1);
};

class KnowledgeModule final : public common::ServiceModule {
 public:
  // INVALID_ARGUMENT naming the option for an unknown region or time zone.
  static absl::StatusOr<std::unique_ptr<KnowledgeModule>> Create(common::ServiceContext& context,
                                                                 const KnowledgeOptions& options);

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> HealthServiceNames() override;
  // Starts the consumer of the site's event stream (group "knowledge").
  void OnReady() override;
  void OnShutdown() override;

  PrecedentStore& precedents() { return precedents_; }

 private:
  KnowledgeModule(common::ServiceContext& context, DirectoryOptions directory,
                  const KnowledgeOptions& options);

  common::ServiceContext& context_;
  ArticleStore articles_;
  PrecedentStore precedents_;
  DirectoryStore directory_;
  FeedbackStore feedback_;
  Executor executor_;
  ArticlesGrpcService articles_service_;
  PrecedentsGrpcService precedents_service_;
  DirectoryGrpcService directory_service_;
  FeedbackGrpcService feedback_service_;
  const absl::Duration event_read_block_;
  std::unique_ptr<common::EventConsumer> consumer_;
};

}  // namespace contactcentre::knowledge
