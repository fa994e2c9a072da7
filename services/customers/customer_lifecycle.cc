// Merge, erasure, contact permission and the contact history fed by the event stream.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/calling_window.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/pg_util.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/customers/customer_store.h"
#include "services/customers/text.h"

namespace contactcentre::customers {
namespace {

using common::InvalidArgumentError;
using common::PgBytes;

bool NeverRecorded(const v1::ConsentState& state) { return !state.has_update_time(); }

// Stricter-wins order of consent values: for the restrictions, true over false; for call
// recording, refused over agreed over never recorded.
int Strictness(v1::ConsentKind kind, const v1::ConsentState& state) {
  if (kind == v1::CONSENT_KIND_CALL_RECORDING) {
    if (NeverRecorded(state)) return 0;
    return state.value() ? 1 : 2;
  }
  return state.value() ? 1 : 0;
}

bool FlagSet(const v1::FlagState& flag, absl::Time now) {
  return flag.value() &&
         (!flag.has_expire_time() || common::TimeFromTimestamp(flag.expire_time()) > now);
}

// Fills empty profile fields of `survivor` from `merged` and unites the lists.
void MergeProfile(v1::Customer& survivor, const v1::Customer& merged) {
  for (auto [target, source] :
       {std::pair{survivor.mutable_display_name(), &merged.display_name()},
        std::pair{survivor.mutable_given_name(), &merged.given_name()},
        std::pair{survivor.mutable_family_name(), &merged.family_name()},
        std::pair{survivor.mutable_middle_name(), &merged.middle_name()},
        std::pair{survivor.mutable_preferred_language(), &merged.preferred_language()},
        std::pair{survivor.mutable_time_zone(), &merged.time_zone()},
        std::pair{survivor.mutable_external_id(), &merged.external_id()}}) {
    if (target->empty()) *target = *source;
  }
  if (!survivor.has_calling_window() && merged.has_calling_window()) {
    *survivor.mutable_calling_window() = merged.calling_window();
  }
  std::set<std::string> numbers;
  for (const auto& phone : survivor.phones()) numbers.insert(phone.number().e164());
  for (const auto& phone : merged.phones()) {
    if (numbers.insert(phone.number().e164()).second) *survivor.add_phones() = phone;
  }
  std::set<std::string> addresses;
  for (const auto& email : survivor.emails()) addresses.insert(LowerCase(email.address()));
  for (const auto& email : merged.emails()) {
    if (addresses.insert(LowerCase(email.address())).second) *survivor.add_emails() = email;
  }
  std::set<std::string> tags(survivor.tags().begin(), survivor.tags().end());
  for (const auto& tag : merged.tags()) {
    if (tags.insert(tag).second) survivor.add_tags(tag);
  }
  for (const auto& [key, value] : merged.attributes()) {
    survivor.mutable_attributes()->insert({key, value});  // the survivor's value wins
  }
}

}  // namespace

absl::StatusOr<v1::Customer> CustomerStore::Merge(const v1::MergeCustomersRequest& request) {
  if (request.request_id().size() > 64) {
    return InvalidArgumentError("request_id", "at most 64 characters");
  }
  CC_ASSIGN_OR_RETURN(std::string survivor_id, CustomerIdFromName(request.survivor(), "survivor"));
  CC_ASSIGN_OR_RETURN(std::string merged_id, CustomerIdFromName(request.merged(), "merged"));
  if (survivor_id == merged_id) {
    return InvalidArgumentError("merged", "must be another card than the survivor");
  }
  absl::StatusOr<v1::Customer> merged_card = pg_->Transact([&](pqxx::work& txn)
                                                               -> absl::StatusOr<v1::Customer> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "MergeCustomers",
                                                                  request.request_id(), request));
    if (earlier) {
      v1::Customer replay;
      replay.ParseFromString(*earlier);
      return replay;
    }
    // Lock in id order, so that two merges of the same pair cannot deadlock.
    std::optional<StoredCard> first;
    std::optional<StoredCard> second;
    for (const std::string& id :
         {std::min(survivor_id, merged_id), std::max(survivor_id, merged_id)}) {
      CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true, true));
      (first ? second : first) = std::move(stored);
    }
    StoredCard survivor = first->id == survivor_id ? *first : *second;
    StoredCard merged = first->id == merged_id ? *first : *second;
    for (const StoredCard* card : {&survivor, &merged}) {
      if (card->state == kMerged) {
        return absl::FailedPreconditionError(
            absl::StrCat("CUSTOMER_MERGED: customer ", CustomerName(card->id),
                         " was already merged into ", CustomerName(card->merged_into)));
      }
    }
    if (!request.survivor_etag().empty() &&
        request.survivor_etag() != absl::StrCat(survivor.version)) {
      return absl::AbortedError("ETAG_MISMATCH: the survivor changed since it was read");
    }
    if (!request.merged_etag().empty() && request.merged_etag() != absl::StrCat(merged.version)) {
      return absl::AbortedError("ETAG_MISMATCH: the merged card changed since it was read");
    }
    const absl::Time now = absl::Now();
    MergeProfile(survivor.card, merged.card);

    // Consents: the stricter value of each wins, recorded as a change from the merge.
    std::vector<std::pair<int, v1::ConsentChange>> consent_changes;
    for (v1::ConsentKind kind : {v1::CONSENT_KIND_DO_NOT_CALL, v1::CONSENT_KIND_SURVEY_OPT_OUT,
                                 v1::CONSENT_KIND_CALL_RECORDING}) {
      const auto pick = [&](v1::Customer& card) {
        return kind == v1::CONSENT_KIND_DO_NOT_CALL ? card.mutable_consents()->mutable_do_not_call()
               : kind == v1::CONSENT_KIND_SURVEY_OPT_OUT
                   ? card.mutable_consents()->mutable_survey_opt_out()
                   : card.mutable_consents()->mutable_call_recording();
      };
      v1::ConsentState* kept = pick(survivor.card);
      const v1::ConsentState* incoming = pick(merged.card);
      if (Strictness(kind, *incoming) > Strictness(kind, *kept)) {
        v1::ConsentChange change;
        change.set_kind(kind);
        change.set_previous_value(kept->value());
        *change.mutable_state() = *incoming;
        change.mutable_state()->set_source(v1::CONSENT_SOURCE_MERGE);
        *change.mutable_state()->mutable_recorded_by() = request.actor();
        *kept = change.state();
        consent_changes.emplace_back(kind, std::move(change));
      }
    }
    // Flags: set on either card means set, with the later reason and the later expiry.
    std::vector<std::pair<int, v1::FlagChange>> flag_changes;
    for (v1::FlagKind kind : {v1::FLAG_KIND_VIP, v1::FLAG_KIND_ABUSIVE}) {
      const auto pick = [&](v1::Customer& card) {
        return kind == v1::FLAG_KIND_VIP ? card.mutable_flags()->mutable_vip()
                                         : card.mutable_flags()->mutable_abusive();
      };
      v1::FlagState* kept = pick(survivor.card);
      const v1::FlagState* incoming = pick(merged.card);
      if (!FlagSet(*incoming, now)) continue;
      v1::FlagState result = *kept;
      if (!FlagSet(*kept, now) || common::TimeFromTimestamp(incoming->update_time()) >
                                      common::TimeFromTimestamp(kept->update_time())) {
        result = *incoming;
      }
      result.set_value(true);
      const bool unbounded =
          (FlagSet(*kept, now) && !kept->has_expire_time()) || !incoming->has_expire_time();
      if (unbounded) {
        result.clear_expire_time();
      } else if (FlagSet(*kept, now) && common::TimeFromTimestamp(kept->expire_time()) >
                                            common::TimeFromTimestamp(incoming->expire_time())) {
        *result.mutable_expire_time() = kept->expire_time();
      }
      if (result.SerializeAsString() == kept->SerializeAsString()) continue;
      v1::FlagChange change;
      change.set_kind(kind);
      change.set_previous_value(FlagSet(*kept, now));
      *change.mutable_state() = result;
      *kept = result;
      flag_changes.emplace_back(kind, std::move(change));
    }
    survivor.card.add_merged_from(CustomerName(merged.id));
    for (const std::string& earlier_merge : merged.card.merged_from()) {
      survivor.card.add_merged_from(earlier_merge);
    }

    // The merged card gives up its numbers, addresses and external id first, so that the
    // survivor may take them.
    txn.exec_params("DELETE FROM customer_phones WHERE customer_id = $1::uuid", merged.id);
    txn.exec_params("DELETE FROM customer_emails WHERE customer_id = $1::uuid", merged.id);
    txn.exec_params(
        "UPDATE customers SET state = 2, merged_into = $2::uuid, card = NULL, "
        "search_name = '', tags = '{}', external_id = NULL, do_not_call = false, "
        "survey_opt_out = false, call_recording = false, vip_until = NULL, "
        "abusive_until = NULL, note_count = 0, version = version + 1, update_time = now() "
        "WHERE id = $1::uuid",
        merged.id, survivor.id);
    // Cards merged into `merged` earlier now resolve to the survivor directly.
    txn.exec_params("UPDATE customers SET merged_into = $2::uuid WHERE merged_into = $1::uuid",
                    merged.id, survivor.id);
    CC_RETURN_IF_ERROR(Save(txn, survivor, "merged"));
    for (const char* table : {"notes", "consent_changes", "flag_changes", "contacts"}) {
      txn.exec_params(absl::StrCat("UPDATE ", table,
                                   " SET customer_id = $2::uuid, merged_from = "
                                   "coalesce(merged_from, $1::uuid) WHERE customer_id = $1::uuid"),
                      merged.id, survivor.id);
    }
    txn.exec_params("UPDATE customers SET note_count = note_count + $2 WHERE id = $1::uuid",
                    survivor.id, merged.note_count);
    for (const auto& [kind, change] : consent_changes) {
      txn.exec_params(
          "INSERT INTO consent_changes (id, customer_id, kind, change, merged_from) "
          "VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)",
          common::NewId(), survivor.id, kind, PgBytes(Serialize(change)), merged.id);
    }
    for (const auto& [kind, change] : flag_changes) {
      txn.exec_params(
          "INSERT INTO flag_changes (id, customer_id, kind, change, merged_from) "
          "VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)",
          common::NewId(), survivor.id, kind, PgBytes(Serialize(change)), merged.id);
    }
    events::v1::Event event;
    event.set_request_id(request.request_id());
    event.mutable_customers_merged()->set_survivor(CustomerName(survivor.id));
    event.mutable_customers_merged()->set_merged(CustomerName(merged.id));
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    survivor.note_count += merged.note_count;
    v1::Customer result = ToProto(survivor, now);
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "MergeCustomers", request.request_id(), request, result));
    return result;
  });
  if (merged_card.ok()) outbox_->Notify();
  return merged_card;
}

absl::StatusOr<v1::ErasureRecord> CustomerStore::Erase(const v1::EraseCustomerRequest& request) {
  if (request.request_id().size() > 64) {
    return InvalidArgumentError("request_id", "at most 64 characters");
  }
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.name(), "name"));
  const std::string reason = Trimmed(request.reason());
  if (reason.empty() || CodePoints(reason) > 500) {
    return InvalidArgumentError("reason", "1..500 characters, without personal data");
  }
  absl::StatusOr<v1::ErasureRecord> erased =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ErasureRecord> {
        CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(
                                              txn, "EraseCustomer", request.request_id(), request));
        if (earlier) {
          v1::ErasureRecord replay;
          replay.ParseFromString(*earlier);
          return replay;
        }
        CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true));
        v1::ErasureRecord record;
        record.set_customer(CustomerName(stored.id));
        *record.mutable_erase_time() = common::TimestampFromTime(absl::Now());
        *record.mutable_erased_by() = request.actor();
        record.set_reason(reason);
        std::vector<std::string> ids = {stored.id};
        for (const auto& row : txn.exec_params(
                 "SELECT id::text FROM customers WHERE merged_into = $1::uuid", stored.id)) {
          ids.push_back(row[0].as<std::string>());
          record.add_merged_from(CustomerName(ids.back()));
        }
        const bool refused_contact = stored.card.consents().do_not_call().value() ||
                                     stored.card.consents().survey_opt_out().value();
        if (request.keep_suppression() && refused_contact) {
          txn.exec_params(
              "INSERT INTO suppressed_numbers (number_hash) SELECT hmac(e164, $2, 'sha256') "
              "FROM customer_phones WHERE customer_id = $1::uuid ON CONFLICT DO NOTHING",
              stored.id, options_.suppression_key);
          record.set_suppression_kept(true);
        }
        record.set_phones_removed(
            static_cast<int>(txn.exec_params("DELETE FROM customer_phones WHERE customer_id = "
                                             "$1::uuid",
                                             stored.id)
                                 .affected_rows()));
        txn.exec_params("DELETE FROM customer_emails WHERE customer_id = $1::uuid", stored.id);
        record.set_notes_removed(static_cast<int>(
            txn.exec_params("DELETE FROM notes WHERE customer_id = $1::uuid", stored.id)
                .affected_rows()));
        txn.exec_params("DELETE FROM contacts WHERE customer_id = $1::uuid AND kind = $2",
                        stored.id, static_cast<int>(v1::CONTACT_KIND_NOTE));
        // History entries stay for statistics; what a person wrote about the call goes.
        for (const auto& row : txn.exec_params(
                 "SELECT id::text, entry FROM contacts WHERE customer_id = $1::uuid", stored.id)) {
          v1::ContactHistoryEntry entry;
          entry.ParseFromString(common::BytesOf(row[1]));
          entry.mutable_call()->clear_wrap_up_notes();
          entry.clear_merged_from();
          txn.exec_params("UPDATE contacts SET entry = $2 WHERE id = $1::uuid",
                          row[0].as<std::string>(), PgBytes(Serialize(entry)));
          record.set_contacts_anonymised(record.contacts_anonymised() + 1);
        }
        for (const char* table : {"consent_changes", "flag_changes"}) {
          for (const auto& row :
               txn.exec_params(absl::StrCat("SELECT id::text, change FROM ", table,
                                            " WHERE customer_id = $1::uuid"),
                               stored.id)) {
            // Keep what was decided and when; drop free texts that may name people.
            std::string bytes;
            if (std::string(table) == "consent_changes") {
              v1::ConsentChange change;
              change.ParseFromString(common::BytesOf(row[1]));
              change.mutable_state()->clear_evidence();
              change.mutable_state()->clear_recorded_by();
              bytes = Serialize(change);
            } else {
              v1::FlagChange change;
              change.ParseFromString(common::BytesOf(row[1]));
              change.mutable_state()->clear_reason();
              change.mutable_state()->clear_set_by();
              bytes = Serialize(change);
            }
            txn.exec_params(absl::StrCat("UPDATE ", table, " SET change = $2 WHERE id = $1::uuid"),
                            row[0].as<std::string>(), PgBytes(bytes));
          }
        }
        txn.exec_params(
            "UPDATE customers SET state = 3, card = NULL, search_name = '', tags = '{}', "
            "external_id = NULL, do_not_call = false, survey_opt_out = false, "
            "call_recording = false, vip_until = NULL, abusive_until = NULL, note_count = 0, "
            "version = version + 1, update_time = now() WHERE id = ANY($1::uuid[])",
            common::PgTextArray(ids));
        // Answers kept for retries carry the cards' personal data.
        for (const std::string& erased_id : ids) {
          const std::string name = CustomerName(erased_id);
          txn.exec_params(
              "DELETE FROM request_log WHERE position(convert_to($1, 'UTF8') IN response) > 0",
              name);
        }
        txn.exec_params("INSERT INTO erasures (customer_id, record) VALUES ($1::uuid, $2)",
                        stored.id, PgBytes(Serialize(record)));
        for (const std::string& erased_id : ids) {
          events::v1::Event event;
          event.set_request_id(request.request_id());
          event.mutable_customer_erased()->set_customer(CustomerName(erased_id));
          CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
        }
        CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "EraseCustomer", request.request_id(),
                                                       request, record));
        return record;
      });
  if (erased.ok()) {
    outbox_->Notify();
    common::LogInfo("customer erased", {{"customer", erased->customer()}});
  }
  return erased;
}

absl::StatusOr<v1::ContactPermission> CustomerStore::Permission(
    pqxx::work& txn, const v1::CheckContactPermissionRequest& check, absl::Time now) const {
  if (check.purpose() == v1::CONTACT_PURPOSE_UNSPECIFIED ||
      !v1::ContactPurpose_IsValid(check.purpose())) {
    return InvalidArgumentError("purpose", "say what the contact is for");
  }
  if (check.customer().empty() && check.phone_number().empty()) {
    return InvalidArgumentError("customer", "give a customer or a phone_number");
  }
  const absl::Time at =
      check.has_check_time() ? common::TimeFromTimestamp(check.check_time()) : now;
  v1::ContactPermission permission;
  if (!check.phone_number().empty()) {
    CC_ASSIGN_OR_RETURN(
        common::NormalizedPhone phone,
        common::NormalizePhone(check.phone_number(), options_.default_region, "phone_number"));
    permission.set_e164(phone.e164);
  }
  std::optional<StoredCard> stored;
  if (!check.customer().empty()) {
    CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(check.customer(), "customer"));
    CC_ASSIGN_OR_RETURN(stored, Load(txn, id, false));
  } else {
    pqxx::result owner = txn.exec_params(
        "SELECT customer_id::text FROM customer_phones WHERE e164 = $1", permission.e164());
    if (!owner.empty()) {
      CC_ASSIGN_OR_RETURN(stored, Load(txn, owner[0][0].as<std::string>(), false));
    }
  }
  bool suppressed = false;
  if (!permission.e164().empty()) {
    suppressed = !txn.exec_params(
                         "SELECT 1 FROM suppressed_numbers WHERE number_hash = "
                         "hmac($1, $2, 'sha256')",
                         permission.e164(), options_.suppression_key)
                      .empty();
  }
  std::string zone_name = options_.default_time_zone;
  common::v1::WeeklySchedule window = common::DefaultCallingWindow();
  bool do_not_call = false;
  bool survey_opt_out = false;
  if (stored) {
    const v1::Customer customer = ToProto(*stored, now);
    permission.set_customer(customer.name());
    if (!customer.time_zone().empty()) zone_name = customer.time_zone();
    if (customer.has_calling_window()) window = customer.calling_window();
    do_not_call = customer.consents().do_not_call().value();
    survey_opt_out = customer.consents().survey_opt_out().value();
    *permission.mutable_call_recording() = customer.consents().call_recording();
    permission.set_vip(customer.flags().vip().value());
    permission.set_abusive(customer.flags().abusive().value());
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(zone_name, &zone)) zone = absl::UTCTimeZone();
  permission.set_time_zone(zone_name);
  const bool by_phone = check.purpose() != v1::CONTACT_PURPOSE_SURVEY_MESSAGE;
  const common::WindowState window_state = common::EvaluateCallingWindow(window, zone, at);
  if (do_not_call && (check.purpose() == v1::CONTACT_PURPOSE_OUTBOUND_CALL ||
                      check.purpose() == v1::CONTACT_PURPOSE_SURVEY_CALL)) {
    permission.add_denial_reasons(v1::CONTACT_DENIAL_REASON_DO_NOT_CALL);
  }
  if (survey_opt_out && (check.purpose() == v1::CONTACT_PURPOSE_SURVEY_CALL ||
                         check.purpose() == v1::CONTACT_PURPOSE_SURVEY_MESSAGE)) {
    permission.add_denial_reasons(v1::CONTACT_DENIAL_REASON_SURVEY_OPT_OUT);
  }
  if (by_phone && !window_state.open) {
    permission.add_denial_reasons(v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW);
  }
  if (suppressed && check.purpose() != v1::CONTACT_PURPOSE_REQUESTED_CALLBACK) {
    permission.add_denial_reasons(v1::CONTACT_DENIAL_REASON_SUPPRESSED);
  }
  permission.set_allowed(permission.denial_reasons().empty());
  if (permission.denial_reasons_size() == 1 &&
      permission.denial_reasons(0) == v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW &&
      window_state.next_open) {
    *permission.mutable_next_allowed_time() = common::TimestampFromTime(*window_state.next_open);
  }
  return permission;
}

absl::StatusOr<v1::ContactPermission> CustomerStore::CheckContactPermission(
    const v1::CheckContactPermissionRequest& request) {
  return pg_->Transact([&](pqxx::work& txn) { return Permission(txn, request, absl::Now()); });
}

absl::StatusOr<v1::BatchCheckContactPermissionsResponse>
CustomerStore::BatchCheckContactPermissions(
    const v1::BatchCheckContactPermissionsRequest& request) {
  if (request.checks().empty() || request.checks_size() > 1000) {
    return InvalidArgumentError("checks", "1..1,000 checks");
  }
  return pg_->Transact(
      [&](pqxx::work& txn) -> absl::StatusOr<v1::BatchCheckContactPermissionsResponse> {
        v1::BatchCheckContactPermissionsResponse response;
        const absl::Time now = absl::Now();
        for (const v1::CheckContactPermissionRequest& check : request.checks()) {
          absl::StatusOr<v1::ContactPermission> permission = Permission(txn, check, now);
          v1::ContactPermissionResult* result = response.add_results();
          if (permission.ok()) {
            *result->mutable_permission() = std::move(*permission);
          } else {
            result->mutable_error()->set_code(static_cast<int>(permission.status().code()));
            result->mutable_error()->set_message(std::string(permission.status().message()));
            const absl::string_view message = permission.status().message();
            if (absl::StartsWith(message, "invalid ")) {
              const absl::string_view rest = message.substr(8);
              result->mutable_error()->set_field(std::string(rest.substr(0, rest.find(':'))));
            }
          }
        }
        return response;
      });
}

namespace {

// What an event says about one contact: the customer, the entry it fills and how.
struct ContactUpdate {
  std::string customer;
  std::string source;
  v1::ContactKind kind = v1::CONTACT_KIND_UNSPECIFIED;
  absl::Time occur_time;
};

void ApplyCallContext(const events::v1::CallContext& context, v1::CallContact& call) {
  call.set_call(context.call());
  if (context.direction() != calls::v1::CALL_DIRECTION_UNSPECIFIED) {
    call.set_direction(context.direction());
  }
  if (!context.queue().empty()) call.set_queue(context.queue());
  if (!context.operator_().empty()) call.set_operator_(context.operator_());
  if (!context.campaign().empty()) call.set_campaign(context.campaign());
}

}  // namespace

absl::Status CustomerStore::ApplyEvent(const events::v1::Event& event) {
  const absl::Time event_time = common::TimeFromTimestamp(event.occurred_at());
  const events::v1::CallContext* context = nullptr;
  ContactUpdate update;
  update.occur_time = event_time;
  switch (event.payload_case()) {
    case events::v1::Event::kCallCompleted:
      context = &event.call_completed().call();
      if (event.call_completed().has_offered_at()) {
        update.occur_time = common::TimeFromTimestamp(event.call_completed().offered_at());
      }
      break;
    case events::v1::Event::kCallAbandoned:
      context = &event.call_abandoned().call();
      update.occur_time = event_time - absl::Seconds(event.call_abandoned().wait_time().seconds());
      break;
    case events::v1::Event::kCallFailed:
      context = &event.call_failed().call();
      break;
    case events::v1::Event::kCallTransferred:
      context = &event.call_transferred().call();
      break;
    case events::v1::Event::kWrapUpWritten:
      context = &event.wrap_up_written().call();
      break;
    case events::v1::Event::kSurveyResponseSubmitted:
      update.customer = event.survey_response_submitted().customer();
      update.source = event.survey_response_submitted().response();
      update.kind = v1::CONTACT_KIND_SURVEY_RESPONSE;
      break;
    default:
      return absl::OkStatus();  // not about a customer's contacts
  }
  if (context != nullptr) {
    update.customer = context->customer();
    update.source = context->call();
    update.kind = v1::CONTACT_KIND_CALL;
  }
  if (update.customer.empty() || update.source.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> customer_id = CustomerIdFromName(update.customer, "customer");
  if (!customer_id.ok()) {
    common::LogWarning("event names a malformed customer; skipped",
                       {{"event_id", event.id()}, {"customer", update.customer}});
    return absl::OkStatus();
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    CC_ASSIGN_OR_RETURN(bool first_time, common::MarkEventApplied(txn, event.id()));
    if (!first_time) return absl::OkStatus();
    absl::StatusOr<StoredCard> stored = Load(txn, *customer_id, false);
    // No such card, or erased: nothing personal may be recorded about it.
    if (absl::IsNotFound(stored.status())) return absl::OkStatus();
    CC_RETURN_IF_ERROR(stored.status());
    // Several events fill one entry and may be applied concurrently by several consumers:
    // create the row if missing, then lock it and change it.
    v1::ContactHistoryEntry blank;
    blank.set_kind(update.kind);
    *blank.mutable_occur_time() = common::TimestampFromTime(update.occur_time);
    txn.exec_params(
        "INSERT INTO contacts (id, customer_id, kind, source, occur_time, update_time, entry) "
        "VALUES ($1::uuid, $2::uuid, $3, $4, timestamptz 'epoch' + $5::bigint * "
        "interval '1 microsecond', now(), $6) ON CONFLICT (source) DO NOTHING",
        common::NewId(), stored->id, static_cast<int>(update.kind), update.source,
        absl::ToUnixMicros(update.occur_time), PgBytes(Serialize(blank)));
    pqxx::result row = txn.exec_params(
        "SELECT id::text, entry FROM contacts WHERE source = $1 FOR UPDATE", update.source);
    v1::ContactHistoryEntry entry;
    entry.ParseFromString(common::BytesOf(row[0][1]));
    if (common::TimeFromTimestamp(entry.occur_time()) > update.occur_time) {
      *entry.mutable_occur_time() = common::TimestampFromTime(update.occur_time);
    }
    *entry.mutable_update_time() = common::TimestampFromTime(event_time);
    if (update.kind == v1::CONTACT_KIND_SURVEY_RESPONSE) {
      const events::v1::SurveyResponseSubmitted& response = event.survey_response_submitted();
      v1::SurveyResponseContact* contact = entry.mutable_survey_response();
      contact->set_response(response.response());
      contact->set_survey(response.survey());
      contact->set_call(response.call());
      contact->set_campaign(response.campaign());
      contact->set_complete(response.complete());
      *contact->mutable_scores() = response.scores();
    } else {
      v1::CallContact* call = entry.mutable_call();
      ApplyCallContext(*context, *call);
      switch (event.payload_case()) {
        case events::v1::Event::kCallCompleted: {
          const auto& completed = event.call_completed();
          call->set_state(calls::v1::CALL_STATE_COMPLETED);
          if (completed.has_connected_at())
            *call->mutable_connect_time() = completed.connected_at();
          if (completed.has_ended_at()) *call->mutable_end_time() = completed.ended_at();
          *call->mutable_wait_time() = completed.wait_time();
          *call->mutable_talk_time() = completed.talk_time();
          if (!completed.disposition().empty()) call->set_disposition(completed.disposition());
          if (!completed.topic().empty()) call->set_topic(completed.topic());
          break;
        }
        case events::v1::Event::kCallAbandoned:
          call->set_state(calls::v1::CALL_STATE_ABANDONED);
          *call->mutable_wait_time() = event.call_abandoned().wait_time();
          *call->mutable_end_time() = event.occurred_at();
          break;
        case events::v1::Event::kCallFailed:
          call->set_state(calls::v1::CALL_STATE_FAILED);
          *call->mutable_end_time() = event.occurred_at();
          break;
        case events::v1::Event::kCallTransferred:
          call->set_state(calls::v1::CALL_STATE_TRANSFERRED);
          call->set_transferred_to(event.call_transferred().new_call());
          *call->mutable_end_time() = event.occurred_at();
          break;
        case events::v1::Event::kWrapUpWritten: {
          const auto& wrap_up = event.wrap_up_written();
          call->set_disposition(wrap_up.disposition());
          call->set_topic(wrap_up.topic());
          call->set_wrap_up_notes(wrap_up.notes());
          call->set_precedent(wrap_up.precedent());
          break;
        }
        default:
          break;
      }
    }
    txn.exec_params(
        "UPDATE contacts SET entry = $2, occur_time = timestamptz 'epoch' + $3::bigint * "
        "interval '1 microsecond', update_time = now() WHERE id = $1::uuid",
        row[0][0].as<std::string>(), PgBytes(Serialize(entry)),
        common::MicrosFromTimestamp(entry.occur_time()));
    return absl::OkStatus();
  });
}

}  // namespace contactcentre::customers
