// What ImportArticles and ImportDirectoryEntries share: the rules of the stream (options and
// request_id in the first message, items per message, strictly increasing item numbers, 4 MiB
// per message), resumption by request_id, per-item errors and the summary.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pg_pool.h"
#include "contactcentre/common/v1/common.pb.h"
#include "contactcentre/knowledge/v1/types.pb.h"

namespace contactcentre::knowledge {

// Largest request message of an import stream.
inline constexpr size_t kMaxImportMessageBytes = 4 * 1024 * 1024;
// How long a request_id's progress is remembered for resumption.
inline constexpr int kImportMemoryDays = 7;

// The per-stream logic of a bulk import, driven by ImportReactor (import_reactor.h): one call
// of Process per request message, in order, then Summary after the client half-closed.
template <typename Request, typename Response>
class ImportSession {
 public:
  virtual ~ImportSession() = default;
  // Applies the items of one message and returns their results; an error ends the stream
  // (items committed by earlier messages stay).
  virtual absl::StatusOr<Response> Process(const Request& message) = 0;
  // The last message: the summary of the whole stream.
  virtual Response Summary() = 0;
};

// The bookkeeping of one import stream.
class ImportProgress {
 public:
  ImportProgress(std::string method, int max_items)
      : method_(std::move(method)), max_items_(max_items) {}

  // Reads the first message's request_id and the progress an earlier stream with the same
  // request_id committed (within kImportMemoryDays). INVALID_ARGUMENT "request_id".
  absl::Status Begin(common::PgPool& pg, const std::string& request_id);

  // Checks one message: size, number of items, item numbers (> 0, strictly increasing along
  // the stream). `item_numbers` are the message's, in order.
  absl::Status CheckMessage(const google::protobuf::Message& message,
                            const std::vector<int64_t>& item_numbers);

  // True for an item an earlier stream with the same request_id committed.
  bool AlreadyImported(int64_t item_number) const { return item_number <= resumed_up_to_; }

  // Records, in the transaction of the message's items, that items up to `item_number` are
  // committed (no-op without a request_id).
  void RecordCommitted(pqxx::transaction_base& txn, int64_t item_number) const;

  // Counts one item's outcome in the summary.
  void Count(v1::ImportOutcome outcome);

  const v1::ImportSummary& summary() const { return summary_; }
  bool begun() const { return begun_; }

 private:
  const std::string method_;
  const int max_items_;
  bool begun_ = false;
  std::string request_id_;
  int64_t resumed_up_to_ = 0;
  int64_t last_item_number_ = 0;
  v1::ImportSummary summary_;
};

// How one message's items are applied by ApplyImportItems.
struct ImportItemSteps {
  int count = 0;
  // Whether item i is to be applied (not already imported, not refused before).
  std::function<bool(int)> pending;
  // Called at the start of every attempt: forget what an attempt rolled back wrote into the
  // results.
  std::function<void()> reset;
  // Applies item i; a non-OK status is a failed item that wrote nothing.
  std::function<absl::Status(pqxx::transaction_base&, int)> apply;
  // Records that item i failed.
  std::function<void(int, const absl::Status&)> fail;
  // Runs last, in the same transaction (progress bookkeeping).
  std::function<void(pqxx::work&)> finish;
};

// Applies the items of one message in one transaction. First without savepoints, because a
// transaction with more than 64 subtransactions slows every other session's visibility checks
// until it ends; only when a database error spoils that attempt (a rare race, validation runs
// before) is the message applied again with a savepoint per item, so that the failing item fails
// alone. A broken connection ends the message.
absl::Status ApplyImportItems(common::PgPool& pg, const ImportItemSteps& steps);

// The ItemError of a failed item: the status code, the field path when the message names one
// ("invalid article.title: ..."), the message.
common::v1::ItemError ItemErrorFromStatus(const absl::Status& status);

}  // namespace contactcentre::knowledge
