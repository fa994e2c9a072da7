// The callback-API reactor of the bulk import streams (ImportArticles,
// ImportDirectoryEntries): reads one request message at a time, has its ImportSession apply
// it on an Executor thread (database work never blocks gRPC's threads), writes that message's
// results, and after the client half-closes writes the summary and ends with OK. An error of
// the session ends the stream with its status; items committed before stay.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/status.h"
#include "services/knowledge/executor.h"
#include "services/knowledge/import_session.h"

namespace contactcentre::knowledge {

template <typename Request, typename Response>
class ImportReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  ImportReactor(std::unique_ptr<ImportSession<Request, Response>> session, Executor& executor)
      : session_(std::move(session)), executor_(executor) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // Half-close (or a call that ended, where the write below fails harmlessly).
      response_ = session_->Summary();
      this->StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    executor_.Run([this] {
      absl::StatusOr<Response> result = session_->Process(request_);
      if (!result.ok()) {
        this->Finish(common::ToGrpcStatus(result.status()));
        return;
      }
      response_ = *std::move(result);
      this->StartWrite(&response_);
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    request_.Clear();
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  std::unique_ptr<ImportSession<Request, Response>> session_;
  Executor& executor_;
  Request request_;
  Response response_;
};

}  // namespace contactcentre::knowledge
