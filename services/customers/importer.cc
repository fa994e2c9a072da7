#include "services/customers/importer.h"

#include <google/protobuf/arena.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/pg_util.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/customers/text.h"

namespace contactcentre::customers {
namespace {

using common::InvalidArgumentError;

constexpr int kMaxRowsPerMessage = 1000;

// A card touched by the current message: created by it, or an existing card it updates.
struct BatchCard {
  StoredCard stored;
  bool is_new = false;
  std::string original;  // serialized card before the message, for existing cards
  std::vector<std::string> changed_fields;
  std::vector<std::pair<int, std::string>> consent_changes;  // kind, serialized change
  std::vector<std::pair<int, std::string>> flag_changes;
};

void Fail(v1::CustomerImportResult& result, const absl::Status& status) {
  result.set_outcome(v1::IMPORT_OUTCOME_FAILED);
  result.clear_customer();
  auto* error = result.mutable_error();
  error->set_code(static_cast<int>(status.code()));
  error->set_message(std::string(status.message()));
  // Messages start with "invalid <field>: " (INVALID_ARGUMENT) or "<field>: " (ALREADY_EXISTS).
  absl::string_view message = status.message();
  if (absl::StartsWith(message, "invalid ")) message.remove_prefix(8);
  const size_t colon = message.find(':');
  if (colon != absl::string_view::npos &&
      message.substr(0, colon).find(' ') == absl::string_view::npos) {
    error->set_field(std::string(message.substr(0, colon)));
  }
}

// Checks the consents and flags of a row.
absl::Status ValidateStatements(const v1::CustomerImportRow& row) {
  std::set<int> kinds;
  for (int i = 0; i < row.consents_size(); ++i) {
    const v1::ImportedConsent& consent = row.consents(i);
    const std::string field = absl::StrCat("consents[", i, "]");
    if (consent.kind() == v1::CONSENT_KIND_UNSPECIFIED ||
        !v1::ConsentKind_IsValid(consent.kind())) {
      return InvalidArgumentError(absl::StrCat(field, ".kind"), "unknown consent");
    }
    if (!kinds.insert(consent.kind()).second) {
      return InvalidArgumentError(absl::StrCat(field, ".kind"), "at most one per kind");
    }
    if (CodePoints(consent.evidence()) > 500) {
      return InvalidArgumentError(absl::StrCat(field, ".evidence"), "longer than 500 characters");
    }
  }
  kinds.clear();
  for (int i = 0; i < row.flags_size(); ++i) {
    const v1::ImportedFlag& flag = row.flags(i);
    const std::string field = absl::StrCat("flags[", i, "]");
    if (flag.kind() == v1::FLAG_KIND_UNSPECIFIED || !v1::FlagKind_IsValid(flag.kind())) {
      return InvalidArgumentError(absl::StrCat(field, ".kind"), "unknown flag");
    }
    if (!kinds.insert(flag.kind()).second) {
      return InvalidArgumentError(absl::StrCat(field, ".kind"), "at most one per kind");
    }
    if (flag.kind() == v1::FLAG_KIND_ABUSIVE && flag.value() && Trimmed(flag.reason()).empty()) {
      return InvalidArgumentError(absl::StrCat(field, ".reason"),
                                  "required when flagging a customer as abusive");
    }
    if (CodePoints(flag.reason()) > 500) {
      return InvalidArgumentError(absl::StrCat(field, ".reason"), "longer than 500 characters");
    }
  }
  return absl::OkStatus();
}

// Adds the row's profile to an existing card: non-empty fields replace, lists are added to,
// attributes merged key by key. Returns the changed top-level fields.
std::vector<std::string> Upsert(v1::Customer& card, const v1::Customer& row) {
  std::vector<std::string> changed;
  const auto replace = [&](std::string* target, const std::string& value, const char* field) {
    if (!value.empty() && *target != value) {
      *target = value;
      changed.push_back(field);
    }
  };
  replace(card.mutable_display_name(), row.display_name(), "display_name");
  replace(card.mutable_given_name(), row.given_name(), "given_name");
  replace(card.mutable_family_name(), row.family_name(), "family_name");
  replace(card.mutable_middle_name(), row.middle_name(), "middle_name");
  replace(card.mutable_preferred_language(), row.preferred_language(), "preferred_language");
  replace(card.mutable_time_zone(), row.time_zone(), "time_zone");
  replace(card.mutable_external_id(), row.external_id(), "external_id");
  if (row.has_calling_window() &&
      row.calling_window().SerializeAsString() != card.calling_window().SerializeAsString()) {
    *card.mutable_calling_window() = row.calling_window();
    changed.push_back("calling_window");
  }
  std::set<std::string> numbers;
  for (const auto& phone : card.phones()) numbers.insert(phone.number().e164());
  bool phones_changed = false;
  for (const auto& phone : row.phones()) {
    if (numbers.insert(phone.number().e164()).second) {
      *card.add_phones() = phone;
      phones_changed = true;
    }
  }
  if (phones_changed) changed.push_back("phones");
  std::set<std::string> addresses;
  for (const auto& email : card.emails()) addresses.insert(LowerCase(email.address()));
  bool emails_changed = false;
  for (const auto& email : row.emails()) {
    if (addresses.insert(LowerCase(email.address())).second) {
      *card.add_emails() = email;
      emails_changed = true;
    }
  }
  if (emails_changed) changed.push_back("emails");
  std::set<std::string> tags(card.tags().begin(), card.tags().end());
  bool tags_changed = false;
  for (const auto& tag : row.tags()) {
    if (tags.insert(tag).second) {
      card.add_tags(tag);
      tags_changed = true;
    }
  }
  if (tags_changed) changed.push_back("tags");
  bool attributes_changed = false;
  for (const auto& [key, value] : row.attributes()) {
    auto [it, inserted] = card.mutable_attributes()->insert({key, value});
    if (inserted || it->second != value) {
      it->second = value;
      attributes_changed = true;
    }
  }
  if (attributes_changed) changed.push_back("attributes");
  return changed;
}

// Records the row's consents and flags on the card (source IMPORT); only values that differ
// from the card's are recorded.
void ApplyStatements(BatchCard& batch, const v1::CustomerImportRow& row, absl::Time now) {
  v1::Customer& card = batch.stored.card;
  for (const v1::ImportedConsent& consent : row.consents()) {
    v1::ConsentState* current = consent.kind() == v1::CONSENT_KIND_DO_NOT_CALL
                                    ? card.mutable_consents()->mutable_do_not_call()
                                : consent.kind() == v1::CONSENT_KIND_SURVEY_OPT_OUT
                                    ? card.mutable_consents()->mutable_survey_opt_out()
                                    : card.mutable_consents()->mutable_call_recording();
    if (current->has_update_time() && current->value() == consent.value()) continue;
    v1::ConsentChange change;
    change.set_kind(consent.kind());
    change.set_previous_value(current->value());
    v1::ConsentState* state = change.mutable_state();
    state->set_value(consent.value());
    *state->mutable_update_time() =
        consent.has_statement_time() ? consent.statement_time() : common::TimestampFromTime(now);
    state->set_source(v1::CONSENT_SOURCE_IMPORT);
    state->mutable_recorded_by()->set_name("services/customers/import");
    state->set_evidence(Trimmed(consent.evidence()));
    *current = *state;
    batch.consent_changes.emplace_back(consent.kind(), change.SerializeAsString());
    batch.changed_fields.push_back(
        consent.kind() == v1::CONSENT_KIND_DO_NOT_CALL      ? "consents.do_not_call"
        : consent.kind() == v1::CONSENT_KIND_SURVEY_OPT_OUT ? "consents.survey_opt_out"
                                                            : "consents.call_recording");
  }
  for (const v1::ImportedFlag& flag : row.flags()) {
    v1::FlagState* current = flag.kind() == v1::FLAG_KIND_VIP
                                 ? card.mutable_flags()->mutable_vip()
                                 : card.mutable_flags()->mutable_abusive();
    if (current->has_update_time() && current->value() == flag.value()) continue;
    v1::FlagChange change;
    change.set_kind(flag.kind());
    change.set_previous_value(current->value());
    v1::FlagState* state = change.mutable_state();
    state->set_value(flag.value());
    state->set_reason(Trimmed(flag.reason()));
    state->mutable_set_by()->set_name("services/customers/import");
    *state->mutable_update_time() = common::TimestampFromTime(now);
    *current = *state;
    batch.flag_changes.emplace_back(flag.kind(), change.SerializeAsString());
    batch.changed_fields.push_back(flag.kind() == v1::FLAG_KIND_VIP ? "flags.vip"
                                                                    : "flags.abusive");
  }
}

std::string CopyTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
}

// A flag's lapse time for COPY: null when not set.
const char* FlagUntil(const v1::FlagState& flag, std::string& storage) {
  if (!flag.value()) return nullptr;
  storage =
      flag.has_expire_time() ? CopyTime(common::TimeFromTimestamp(flag.expire_time())) : "infinity";
  return storage.c_str();
}

std::string TagsLiteral(const v1::Customer& card) {
  return common::PgTextArray(std::vector<std::string>(card.tags().begin(), card.tags().end()));
}

}  // namespace

absl::StatusOr<v1::ImportCustomersResponse> Importer::Process(
    Stream& stream, const v1::ImportCustomersRequest& message) {
  if (!stream.started) {
    stream.started = true;
    stream.request_id = message.request_id();
    stream.options = message.options();
    if (stream.request_id.size() > 64) {
      return InvalidArgumentError("request_id", "at most 64 characters");
    }
    if (!v1::ImportMode_IsValid(stream.options.mode())) {
      return InvalidArgumentError("options.mode", "unknown mode");
    }
    if (!v1::ImportMatch_IsValid(stream.options.match())) {
      return InvalidArgumentError("options.match", "unknown match");
    }
    stream.profile = store_->profile_options();
    if (!stream.options.region().empty()) {
      if (!common::IsKnownPhoneRegion(stream.options.region())) {
        return InvalidArgumentError("options.region", "not an ISO 3166-1 alpha-2 region code");
      }
      stream.profile.default_region = stream.options.region();
    }
    if (!stream.request_id.empty()) {
      CC_ASSIGN_OR_RETURN(
          stream.committed_before,
          store_->pg()->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<int64_t> {
            pqxx::result rows = query.exec_params(
                "SELECT max_row FROM imports WHERE request_id = $1", stream.request_id);
            return rows.empty() ? 0 : rows[0][0].as<int64_t>();
          }));
    }
  }
  if (message.rows_size() > kMaxRowsPerMessage) {
    return InvalidArgumentError("rows",
                                absl::StrCat("at most ", kMaxRowsPerMessage, " rows per message"));
  }
  const bool create_only = stream.options.mode() == v1::IMPORT_MODE_CREATE_ONLY;
  const v1::ImportMatch match = stream.options.match() == v1::IMPORT_MATCH_UNSPECIFIED
                                    ? v1::IMPORT_MATCH_EXTERNAL_ID_THEN_PHONE
                                    : stream.options.match();
  const bool by_external_id = match != v1::IMPORT_MATCH_PHONE;
  const bool by_phone = match != v1::IMPORT_MATCH_EXTERNAL_ID;

  v1::ImportCustomersResponse response;
  // The rows' cards live on an arena: freeing 1,000 cards one by one (and the consolidation
  // of the allocator it set off) was a fifth of the importer's CPU.
  google::protobuf::Arena arena;
  std::vector<v1::Customer*> cards(message.rows_size(), nullptr);
  std::vector<bool> pending(message.rows_size(), false);
  for (int i = 0; i < message.rows_size(); ++i) {
    const v1::CustomerImportRow& row = message.rows(i);
    if (row.row_number() <= stream.last_row_number) {
      return InvalidArgumentError(absl::StrCat("rows[", i, "].row_number"),
                                  "must be greater than the previous row's");
    }
    stream.last_row_number = row.row_number();
    v1::CustomerImportResult* result = response.add_results();
    result->set_row_number(row.row_number());
    if (row.row_number() <= stream.committed_before) {
      result->set_outcome(v1::IMPORT_OUTCOME_ALREADY_IMPORTED);
      continue;
    }
    cards[i] = google::protobuf::Arena::CreateMessage<v1::Customer>(&arena);
    *cards[i] = row.customer();
    absl::Status valid = NormalizeProfile(*cards[i], "customer", stream.profile);
    if (valid.ok()) valid = ValidateStatements(row);
    if (!valid.ok()) {
      Fail(*result, valid);
      continue;
    }
    pending[i] = true;
  }

  // Rows whose number or external id another writer takes meanwhile make the transaction fail
  // with ALREADY_EXISTS; matching again then finds that card.
  absl::Status written;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    v1::ImportCustomersResponse attempt_response = response;
    written = store_->pg()->Transact([&](pqxx::work& txn) -> absl::Status {
      std::vector<std::string> external_ids;
      std::vector<std::string> numbers;
      for (int i = 0; i < message.rows_size(); ++i) {
        if (!pending[i]) continue;
        if (!cards[i]->external_id().empty()) external_ids.push_back(cards[i]->external_id());
        for (const auto& phone : cards[i]->phones()) numbers.push_back(phone.number().e164());
      }
      std::map<std::string, std::string> owner_by_external_id;
      std::map<std::string, std::string> owner_by_number;
      std::set<std::string> existing_ids;
      if (!external_ids.empty() || !numbers.empty()) {
        // One statement for both keys, by index: on a table that a bulk load is filling,
        // stale statistics made the planner hash-join the keys with a full scan of the table
        // (time growing with the table, for every message), and a parallel plan started
        // worker processes for each message.
        txn.exec1(
            "SELECT set_config('enable_seqscan', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)");
        for (const auto& row :
             txn.exec_params("SELECT true, external_id, id::text FROM customers "
                             "WHERE external_id = ANY($1::text[]) "
                             "UNION ALL SELECT false, e164, customer_id::text FROM customer_phones "
                             "WHERE e164 = ANY($2::text[])",
                             common::PgTextArray(external_ids), common::PgTextArray(numbers))) {
          auto& owners = row[0].as<bool>() ? owner_by_external_id : owner_by_number;
          owners[row[1].as<std::string>()] = row[2].as<std::string>();
          existing_ids.insert(row[2].as<std::string>());
        }
      }
      std::map<std::string, BatchCard> batch;
      CC_ASSIGN_OR_RETURN(
          auto loaded,
          store_->LoadMany(txn, std::vector<std::string>(existing_ids.begin(), existing_ids.end()),
                           true));
      for (const std::string& id : existing_ids) {
        auto it = loaded.find(id);
        if (it == loaded.end()) {
          return absl::NotFoundError(absl::StrCat("no customer ", CustomerName(id)));
        }
        BatchCard& card = batch[id];
        card.original = it->second.card.SerializeAsString();
        card.stored = std::move(it->second);
      }
      const absl::Time now = absl::Now();
      std::vector<std::string> new_order;
      for (int i = 0; i < message.rows_size(); ++i) {
        if (!pending[i]) continue;
        const v1::CustomerImportRow& row = message.rows(i);
        v1::CustomerImportResult* result = attempt_response.mutable_results(i);
        v1::Customer& card = *cards[i];
        std::string match_id;
        if (by_external_id && !card.external_id().empty()) {
          auto it = owner_by_external_id.find(card.external_id());
          if (it != owner_by_external_id.end()) match_id = it->second;
        }
        if (match_id.empty() && by_phone) {
          for (const auto& phone : card.phones()) {
            auto it = owner_by_number.find(phone.number().e164());
            if (it != owner_by_number.end()) {
              match_id = it->second;
              break;
            }
          }
        }
        // The row's other numbers and external id must not belong to yet another card.
        absl::Status conflict;
        for (int p = 0; p < card.phones_size() && conflict.ok(); ++p) {
          auto it = owner_by_number.find(card.phones(p).number().e164());
          if (it != owner_by_number.end() && it->second != match_id) {
            conflict = absl::AlreadyExistsError(absl::StrCat(
                "customer.phones[", p, "]: the number ", card.phones(p).number().e164(),
                " belongs to customer ", CustomerName(it->second)));
          }
        }
        if (conflict.ok() && !card.external_id().empty()) {
          auto it = owner_by_external_id.find(card.external_id());
          if (it != owner_by_external_id.end() && it->second != match_id) {
            conflict = absl::AlreadyExistsError(absl::StrCat(
                "customer.external_id: belongs to customer ", CustomerName(it->second)));
          }
        }
        if (!conflict.ok()) {
          Fail(*result, conflict);
          continue;
        }
        if (!match_id.empty() && create_only) {
          result->set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
          result->set_customer(CustomerName(match_id));
          continue;
        }
        if (match_id.empty()) {
          BatchCard fresh;
          fresh.is_new = true;
          fresh.stored = StoredCard{.id = common::NewId(), .state = kActive, .card = card};
          fresh.stored.create_micros = absl::ToUnixMicros(now);
          fresh.stored.update_micros = fresh.stored.create_micros;
          fresh.stored.version = 1;
          ApplyStatements(fresh, row, now);
          match_id = fresh.stored.id;
          new_order.push_back(match_id);
          batch.emplace(match_id, std::move(fresh));
          result->set_outcome(v1::IMPORT_OUTCOME_CREATED);
        } else {
          BatchCard& existing = batch[match_id];
          const size_t changes_before = existing.changed_fields.size() +
                                        existing.consent_changes.size() +
                                        existing.flag_changes.size();
          for (std::string& field : Upsert(existing.stored.card, card)) {
            existing.changed_fields.push_back(std::move(field));
          }
          ApplyStatements(existing, row, now);
          const size_t changes_after = existing.changed_fields.size() +
                                       existing.consent_changes.size() +
                                       existing.flag_changes.size();
          result->set_outcome(changes_after > changes_before ? v1::IMPORT_OUTCOME_UPDATED
                                                             : v1::IMPORT_OUTCOME_UNCHANGED);
        }
        result->set_customer(CustomerName(match_id));
        const v1::Customer& now_card = batch[match_id].stored.card;
        if (!now_card.external_id().empty())
          owner_by_external_id[now_card.external_id()] = match_id;
        for (const auto& phone : now_card.phones())
          owner_by_number[phone.number().e164()] = match_id;
      }

      // New cards and their index rows by COPY.
      std::vector<events::v1::Event> events;
      std::vector<std::tuple<std::string, int, std::string>> consent_rows;
      std::vector<std::tuple<std::string, int, std::string>> flag_rows;
      if (!new_order.empty()) {
        pqxx::stream_to customers(
            txn, "customers",
            std::vector<std::string>{"id", "state", "card", "search_name", "tags", "external_id",
                                     "do_not_call", "survey_opt_out", "call_recording", "vip_until",
                                     "abusive_until", "version", "note_count", "create_time",
                                     "update_time"});
        const std::string time = CopyTime(now);
        for (const std::string& id : new_order) {
          const v1::Customer& card = batch[id].stored.card;
          const std::string bytes = card.SerializeAsString();
          std::string vip_until;
          std::string abusive_until;
          customers << std::make_tuple(
              id, kActive,
              txn.esc_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
              NameSearchKey(card), TagsLiteral(card),
              card.external_id().empty() ? nullptr : card.external_id().c_str(),
              card.consents().do_not_call().value(), card.consents().survey_opt_out().value(),
              card.consents().call_recording().value(), FlagUntil(card.flags().vip(), vip_until),
              FlagUntil(card.flags().abusive(), abusive_until), 1, 0, time, time);
        }
        customers.complete();
        pqxx::stream_to phones(txn, "customer_phones",
                               std::vector<std::string>{"e164", "customer_id"});
        for (const std::string& id : new_order) {
          for (const auto& phone : batch[id].stored.card.phones()) {
            phones << std::make_tuple(phone.number().e164(), id);
          }
        }
        phones.complete();
        pqxx::stream_to emails(txn, "customer_emails",
                               std::vector<std::string>{"address", "customer_id"});
        for (const std::string& id : new_order) {
          std::set<std::string> addresses;
          for (const auto& email : batch[id].stored.card.emails()) {
            if (addresses.insert(LowerCase(email.address())).second) {
              emails << std::make_tuple(LowerCase(email.address()), id);
            }
          }
        }
        emails.complete();
      }
      std::vector<StoredCard*> changed;
      for (auto& [id, card] : batch) {
        for (auto& [kind, change] : card.consent_changes)
          consent_rows.emplace_back(id, kind, change);
        for (auto& [kind, change] : card.flag_changes) flag_rows.emplace_back(id, kind, change);
        events::v1::Event event;
        event.set_request_id(stream.request_id);
        if (card.is_new) {
          event.mutable_customer_created()->set_customer(CustomerName(id));
          event.mutable_customer_created()->set_source("import");
        } else {
          if (card.changed_fields.empty()) continue;
          changed.push_back(&card.stored);
          event.mutable_customer_updated()->set_customer(CustomerName(id));
          std::set<std::string> fields(card.changed_fields.begin(), card.changed_fields.end());
          for (const std::string& field : fields) {
            event.mutable_customer_updated()->add_changed_fields(field);
          }
        }
        events.push_back(std::move(event));
      }
      CC_RETURN_IF_ERROR(store_->SaveMany(txn, changed));
      for (auto [table, rows] :
           {std::pair{"consent_changes", &consent_rows}, std::pair{"flag_changes", &flag_rows}}) {
        if (rows->empty()) continue;
        pqxx::stream_to changes(txn, table,
                                std::vector<std::string>{"id", "customer_id", "kind", "change"});
        for (const auto& [id, kind, change] : *rows) {
          changes << std::make_tuple(
              common::NewId(), id, kind,
              txn.esc_raw(reinterpret_cast<const unsigned char*>(change.data()), change.size()));
        }
        changes.complete();
      }
      CC_RETURN_IF_ERROR(common::EnqueueEvents(txn, *store_->events(), events));
      if (!stream.request_id.empty() && message.rows_size() > 0) {
        txn.exec_params(
            "INSERT INTO imports (request_id, max_row) VALUES ($1, $2) ON CONFLICT (request_id) "
            "DO UPDATE SET max_row = greatest(imports.max_row, $2), updated_at = now()",
            stream.request_id, message.rows(message.rows_size() - 1).row_number());
      }
      return absl::OkStatus();
    });
    if (written.ok()) {
      response = std::move(attempt_response);
      break;
    }
    if (written.code() != absl::StatusCode::kAlreadyExists &&
        written.code() != absl::StatusCode::kAborted) {
      break;
    }
    common::LogInfo("import message raced with another writer; matching again",
                    {{"attempt", attempt}, {"error", written}});
  }
  if (!written.ok()) return written;
  store_->outbox()->Notify();
  v1::ImportCustomersSummary& summary = stream.summary;
  for (const v1::CustomerImportResult& result : response.results()) {
    summary.set_rows_received(summary.rows_received() + 1);
    switch (result.outcome()) {
      case v1::IMPORT_OUTCOME_CREATED:
        summary.set_created(summary.created() + 1);
        break;
      case v1::IMPORT_OUTCOME_UPDATED:
        summary.set_updated(summary.updated() + 1);
        break;
      case v1::IMPORT_OUTCOME_UNCHANGED:
        summary.set_unchanged(summary.unchanged() + 1);
        break;
      case v1::IMPORT_OUTCOME_DUPLICATE:
        summary.set_duplicates(summary.duplicates() + 1);
        break;
      case v1::IMPORT_OUTCOME_FAILED:
        summary.set_failed(summary.failed() + 1);
        break;
      case v1::IMPORT_OUTCOME_ALREADY_IMPORTED:
        summary.set_already_imported(summary.already_imported() + 1);
        break;
      default:
        break;
    }
  }
  return response;
}

}  // namespace contactcentre::customers
