#include "services/knowledge/import_session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/pg_pool.h"
#include "common/status.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {

absl::Status ImportProgress::Begin(common::PgPool& pg, const std::string& request_id) {
  CC_RETURN_IF_ERROR(CheckRequestId(request_id));
  request_id_ = request_id;
  begun_ = true;
  if (request_id_.empty()) return absl::OkStatus();
  return ReadOnly(pg, [&](pqxx::nontransaction& query) -> absl::Status {
    pqxx::result rows = query.exec_params(
        "SELECT last_item_number FROM import_progress WHERE method = $1 AND request_id = $2 "
        "AND update_time > now() - make_interval(days => $3)",
        method_, request_id_, kImportMemoryDays);
    if (!rows.empty()) resumed_up_to_ = rows[0][0].as<int64_t>();
    return absl::OkStatus();
  });
}

absl::Status ImportProgress::CheckMessage(const google::protobuf::Message& message,
                                          const std::vector<int64_t>& item_numbers) {
  const size_t bytes = message.ByteSizeLong();
  if (bytes > kMaxImportMessageBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("a request message of ", bytes,
                                                     " bytes; at most ", kMaxImportMessageBytes,
                                                     " per message"));
  }
  if (static_cast<int>(item_numbers.size()) > max_items_) {
    return common::InvalidArgumentError(
        "items", absl::StrCat(item_numbers.size(), " items in one message, at most ", max_items_));
  }
  for (size_t i = 0; i < item_numbers.size(); ++i) {
    if (item_numbers[i] <= last_item_number_) {
      return common::InvalidArgumentError(
          absl::StrCat("items[", i, "].item_number"),
          absl::StrCat(item_numbers[i], " does not follow ", last_item_number_,
                       ": item numbers must be > 0 and strictly increasing along the stream"));
    }
    last_item_number_ = item_numbers[i];
  }
  return absl::OkStatus();
}

void ImportProgress::RecordCommitted(pqxx::transaction_base& txn, int64_t item_number) const {
  if (request_id_.empty()) return;
  txn.exec_params(
      "INSERT INTO import_progress (method, request_id, last_item_number) VALUES ($1, $2, $3) "
      "ON CONFLICT (method, request_id) DO UPDATE SET "
      "last_item_number = greatest(import_progress.last_item_number, excluded.last_item_number), "
      "update_time = now()",
      method_, request_id_, item_number);
  // Progress older than the promise is of no use to anyone: drop it as imports go by.
  txn.exec_params(
      "DELETE FROM import_progress WHERE update_time < now() - make_interval(days => $1)",
      kImportMemoryDays);
}

void ImportProgress::Count(v1::ImportOutcome outcome) {
  summary_.set_items_received(summary_.items_received() + 1);
  switch (outcome) {
    case v1::IMPORT_OUTCOME_CREATED:
      summary_.set_created(summary_.created() + 1);
      break;
    case v1::IMPORT_OUTCOME_UPDATED:
      summary_.set_updated(summary_.updated() + 1);
      break;
    case v1::IMPORT_OUTCOME_UNCHANGED:
      summary_.set_unchanged(summary_.unchanged() + 1);
      break;
    case v1::IMPORT_OUTCOME_DUPLICATE:
      summary_.set_duplicates(summary_.duplicates() + 1);
      break;
    case v1::IMPORT_OUTCOME_FAILED:
      summary_.set_failed(summary_.failed() + 1);
      break;
    case v1::IMPORT_OUTCOME_ALREADY_IMPORTED:
      summary_.set_already_imported(summary_.already_imported() + 1);
      break;
    default:
      break;
  }
}

absl::Status ApplyImportItems(common::PgPool& pg, const ImportItemSteps& steps) {
  for (const bool savepoints : {false, true}) {
    bool spoiled = false;
    absl::Status status = pg.Transact([&](pqxx::work& txn) -> absl::Status {
      spoiled = false;
      steps.reset();
      for (int i = 0; i < steps.count; ++i) {
        if (!steps.pending(i)) continue;
        absl::Status item;
        // Savepoints by hand: pqxx 6's subtransaction does not roll back after a failed
        // statement (the transaction stays aborted).
        if (savepoints) txn.exec("SAVEPOINT import_item");
        try {
          item = steps.apply(txn, i);
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (...) {
          if (!savepoints) {
            spoiled = true;
            return absl::AbortedError("an import item failed in the database");
          }
          item = common::StatusFromCurrentException();
        }
        if (savepoints) {
          txn.exec(item.ok() ? "RELEASE SAVEPOINT import_item"
                             : "ROLLBACK TO SAVEPOINT import_item");
        }
        if (!item.ok()) steps.fail(i, item);
      }
      steps.finish(txn);
      return absl::OkStatus();
    });
    if (!spoiled) return status;
  }
  return absl::InternalError("import items were not applied");
}

common::v1::ItemError ItemErrorFromStatus(const absl::Status& status) {
  common::v1::ItemError error;
  error.set_code(static_cast<int32_t>(status.code()));
  absl::string_view message = status.message();
  error.set_message(std::string(message));
  if (absl::ConsumePrefix(&message, "invalid ")) {
    const size_t colon = message.find(": ");
    if (colon != absl::string_view::npos) error.set_field(std::string(message.substr(0, colon)));
  }
  return error;
}

}  // namespace contactcentre::knowledge
