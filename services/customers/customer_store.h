// The customers service's logic over PostgreSQL: every RPC of CustomersService except the
// import stream maps to one method here, each one transaction that also writes the request's
// idempotency record and the events of the change (outbox).
//
// Storage (schema/0001_customers.sql): a card's profile, consents and flags are kept whole as a
// serialized Customer in `customers.card`, so a read is one row; the columns beside it serve
// uniqueness (phones, external id), lookups, filters and search. The etag is the row version.
#pragma once

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_stream.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/customers/v1/customers_service.pb.h"
#include "services/customers/validation.h"

namespace contactcentre::customers {

struct CustomersOptions {
  // Region for numbers without country code.
  std::string default_region = "RU";
  // Time zone of customers who have none.
  std::string default_time_zone = "Europe/Moscow";
  // Key of the HMAC that keeps numbers of erased customers on the suppression list.
  std::string suppression_key = "contactcentre-development-key";
};

// A card as stored: the row's columns and the decoded card.
struct StoredCard {
  std::string id;
  int state = 0;  // kActive, kMerged, kErased
  std::string merged_into;
  v1::Customer card;  // profile, consents, flags, merged_from
  int64_t version = 0;
  int64_t create_micros = 0;
  int64_t update_micros = 0;
  int note_count = 0;
};

inline constexpr int kActive = 1;
inline constexpr int kMerged = 2;
inline constexpr int kErased = 3;

class CustomerStore {
 public:
  CustomerStore(common::PgPool* pg, const common::EventPublisher* events,
                common::OutboxRelay* outbox, CustomersOptions options);

  absl::StatusOr<v1::Customer> Create(const v1::CreateCustomerRequest& request);
  absl::StatusOr<v1::Customer> Get(const v1::GetCustomerRequest& request);
  absl::StatusOr<v1::ListCustomersResponse> List(const v1::ListCustomersRequest& request);
  absl::StatusOr<v1::Customer> Update(const v1::UpdateCustomerRequest& request);
  absl::Status Delete(const v1::DeleteCustomerRequest& request);
  absl::StatusOr<v1::LookupByPhoneResponse> LookupByPhone(const v1::LookupByPhoneRequest& request);
  absl::StatusOr<v1::SearchCustomersResponse> Search(const v1::SearchCustomersRequest& request);
  absl::StatusOr<v1::Customer> SetConsent(const v1::SetConsentRequest& request);
  absl::StatusOr<v1::ListConsentHistoryResponse> ListConsentHistory(
      const v1::ListConsentHistoryRequest& request);
  absl::StatusOr<v1::Customer> SetFlag(const v1::SetFlagRequest& request);
  absl::StatusOr<v1::ListFlagHistoryResponse> ListFlagHistory(
      const v1::ListFlagHistoryRequest& request);
  absl::StatusOr<v1::Note> AddNote(const v1::AddNoteRequest& request);
  absl::StatusOr<v1::ListNotesResponse> ListNotes(const v1::ListNotesRequest& request);
  absl::StatusOr<v1::ListContactHistoryResponse> ListContactHistory(
      const v1::ListContactHistoryRequest& request);
  absl::StatusOr<v1::Customer> Merge(const v1::MergeCustomersRequest& request);
  absl::StatusOr<v1::ErasureRecord> Erase(const v1::EraseCustomerRequest& request);
  absl::StatusOr<v1::ContactPermission> CheckContactPermission(
      const v1::CheckContactPermissionRequest& request);
  absl::StatusOr<v1::BatchCheckContactPermissionsResponse> BatchCheckContactPermissions(
      const v1::BatchCheckContactPermissionsRequest& request);

  // Applies one event of the stream to the contact history (calls and survey responses whose
  // customer is known here), exactly once per event id.
  absl::Status ApplyEvent(const events::v1::Event& event);

  // The public form of a stored card: name, etag, times, state, expired flags cleared.
  v1::Customer ToProto(const StoredCard& stored, absl::Time now) const;

  const CustomersOptions& options() const { return options_; }
  const ProfileOptions& profile_options() const { return profile_options_; }
  common::PgPool* pg() const { return pg_; }
  const common::EventPublisher* events() const { return events_; }
  common::OutboxRelay* outbox() const { return outbox_; }

  // Helpers shared with the importer; each runs inside the caller's transaction.
  //
  // The card `id` (following merges unless `no_redirect`), locked FOR UPDATE when asked.
  // NOT_FOUND for no card or an erased one.
  absl::StatusOr<StoredCard> Load(pqxx::work& txn, absl::string_view id, bool for_update,
                                  bool no_redirect = false) const;
  // Inserts a new card with its phone and email index rows. ALREADY_EXISTS naming the phone or
  // external id another card holds.
  absl::Status Insert(pqxx::work& txn, StoredCard& stored, absl::string_view path) const;
  // Writes a changed card (profile, consents, flags) and its index rows, raising the version.
  absl::Status Save(pqxx::work& txn, StoredCard& stored, absl::string_view path) const;
  // Load for many ids with one statement (a merged card costs one more statement): the cards
  // by the id asked for; ids of no card or of an erased one are left out.
  absl::StatusOr<std::map<std::string, StoredCard>> LoadMany(pqxx::work& txn,
                                                             const std::vector<std::string>& ids,
                                                             bool for_update) const;
  // Save for many changed cards with four statements. The caller has checked that their
  // numbers and external ids are free (a number taken meanwhile fails the statement with
  // ALREADY_EXISTS).
  absl::Status SaveMany(pqxx::work& txn, const std::vector<StoredCard*>& cards) const;
  // Enqueues an event on the outbox.
  absl::Status Publish(pqxx::work& txn, events::v1::Event event) const;

 private:
  absl::Status CheckPhonesFree(pqxx::work& txn, const StoredCard& stored,
                               absl::string_view path) const;
  absl::Status WriteIndexes(pqxx::work& txn, const StoredCard& stored) const;
  absl::StatusOr<v1::ContactPermission> Permission(pqxx::work& txn,
                                                   const v1::CheckContactPermissionRequest& check,
                                                   absl::Time now) const;

  common::PgPool* pg_;
  const common::EventPublisher* events_;
  common::OutboxRelay* outbox_;
  const CustomersOptions options_;
  const ProfileOptions profile_options_;
};

// Serialized form of a message for a bytea column.
std::string Serialize(const google::protobuf::Message& message);

// The prepared statement "lookup_by_phone" (the service's hot path), registered on every
// connection of the pool.
std::string LookupByPhoneSql();

}  // namespace contactcentre::customers
