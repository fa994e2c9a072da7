#include "services/customers/customer_store.h"

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/customers/text.h"

namespace contactcentre::customers {
namespace {

using common::InvalidArgumentError;
using common::PgBytes;
using common::PgTextArray;

// Columns of a card, in the order ReadCard expects.
constexpr char kCardColumns[] =
    "c.id::text, c.state, coalesce(c.merged_into::text, ''), c.card, c.version, "
    "(extract(epoch FROM c.create_time) * 1000000)::bigint, "
    "(extract(epoch FROM c.update_time) * 1000000)::bigint, c.note_count";

// An exact microsecond time as an SQL expression of parameter n (no floating point).
std::string MicrosParam(int n) {
  return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')");
}

// Bounds for open time filters, inside PostgreSQL's timestamp range (years 1 and 9999).
constexpr int64_t kEarliestMicros = -62135596800000000;
constexpr int64_t kLatestMicros = 253402300799000000;

constexpr size_t kMaxEvidence = 500;
constexpr size_t kMaxReason = 500;
constexpr size_t kMaxNoteText = 4000;
constexpr int kMaxNotes = 10000;
constexpr size_t kMaxQuery = 200;
constexpr int kMaxSearchResults = 500;

StoredCard ReadCard(const pqxx::row& row) {
  StoredCard stored;
  stored.id = row[0].as<std::string>();
  stored.state = row[1].as<int>();
  stored.merged_into = row[2].as<std::string>();
  if (!row[3].is_null()) stored.card.ParseFromString(common::BytesOf(row[3]));
  stored.version = row[4].as<int64_t>();
  stored.create_micros = row[5].as<int64_t>();
  stored.update_micros = row[6].as<int64_t>();
  stored.note_count = row[7].as<int>();
  return stored;
}

// A flag's lapse time for its column: "" (not set), "infinity", or an RFC 3339 time.
std::string FlagUntil(const v1::FlagState& flag) {
  if (!flag.value()) return "";
  if (!flag.has_expire_time()) return "infinity";
  return absl::FormatTime(absl::RFC3339_full, common::TimeFromTimestamp(flag.expire_time()),
                          absl::UTCTimeZone());
}

std::vector<std::string> PhoneNumbers(const v1::Customer& card) {
  std::vector<std::string> numbers;
  for (const v1::CustomerPhone& phone : card.phones()) numbers.push_back(phone.number().e164());
  return numbers;
}

std::vector<std::string> EmailKeys(const v1::Customer& card) {
  std::vector<std::string> keys;
  for (const v1::CustomerEmail& email : card.emails()) keys.push_back(LowerCase(email.address()));
  return keys;
}

absl::Status CheckActor(const common::v1::Actor& actor, absl::string_view field) {
  if (actor.name().size() > 200 || CodePoints(actor.display_name()) > 200) {
    return InvalidArgumentError(field, "names are at most 200 characters");
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(absl::string_view request_id) {
  if (request_id.size() > 64) return InvalidArgumentError("request_id", "at most 64 characters");
  return absl::OkStatus();
}

// Parses a stored response of an earlier identical request.
template <typename Message>
absl::StatusOr<Message> Replay(const std::string& bytes) {
  Message message;
  if (!message.ParseFromString(bytes)) return absl::InternalError("stored answer is corrupt");
  return message;
}

std::string ChangeId() { return common::NewId(); }

// "micros|id" cursors of keyset paging.
std::string Cursor(int64_t micros, absl::string_view id) { return absl::StrCat(micros, "|", id); }

absl::Status ParseCursor(absl::string_view cursor, int64_t* micros, std::string* id) {
  std::vector<std::string> parts = absl::StrSplit(cursor, '|');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], micros) ||
      !common::IsCanonicalUuid(parts[1])) {
    return InvalidArgumentError("page_token", "malformed");
  }
  *id = parts[1];
  return absl::OkStatus();
}

}  // namespace

std::string Serialize(const google::protobuf::Message& message) {
  return message.SerializeAsString();
}

CustomerStore::CustomerStore(common::PgPool* pg, const common::EventPublisher* events,
                             common::OutboxRelay* outbox, CustomersOptions options)
    : pg_(pg),
      events_(events),
      outbox_(outbox),
      options_(std::move(options)),
      profile_options_{.default_region = options_.default_region} {}

v1::Customer CustomerStore::ToProto(const StoredCard& stored, absl::Time now) const {
  v1::Customer customer = stored.card;
  customer.set_name(CustomerName(stored.id));
  customer.set_etag(absl::StrCat(stored.version));
  *customer.mutable_create_time() = common::TimestampFromMicros(stored.create_micros);
  *customer.mutable_update_time() = common::TimestampFromMicros(stored.update_micros);
  if (stored.state == kMerged) {
    v1::Customer merged;
    merged.set_name(customer.name());
    merged.set_state(v1::CUSTOMER_STATE_MERGED);
    merged.set_merged_into(CustomerName(stored.merged_into));
    *merged.mutable_create_time() = customer.create_time();
    *merged.mutable_update_time() = customer.update_time();
    merged.set_etag(customer.etag());
    return merged;
  }
  customer.set_state(v1::CUSTOMER_STATE_ACTIVE);
  for (v1::FlagState* flag :
       {customer.mutable_flags()->mutable_vip(), customer.mutable_flags()->mutable_abusive()}) {
    if (flag->value() && flag->has_expire_time() &&
        common::TimeFromTimestamp(flag->expire_time()) <= now) {
      flag->set_value(false);
    }
  }
  return customer;
}

absl::StatusOr<StoredCard> CustomerStore::Load(pqxx::work& txn, absl::string_view id,
                                               bool for_update, bool no_redirect) const {
  const std::string sql =
      absl::StrCat("SELECT ", kCardColumns, " FROM customers c WHERE c.id = $1::uuid",
                   for_update ? " FOR UPDATE" : "");
  pqxx::result rows = txn.exec_params(sql, std::string(id));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("no customer ", CustomerName(id)));
  }
  StoredCard stored = ReadCard(rows[0]);
  if (stored.state == kErased) {
    return absl::NotFoundError(
        absl::StrCat("CUSTOMER_ERASED: customer ", CustomerName(id), " was erased"));
  }
  if (stored.state == kMerged && !no_redirect) {
    return Load(txn, stored.merged_into, for_update, true);
  }
  return stored;
}

absl::Status CustomerStore::CheckPhonesFree(pqxx::work& txn, const StoredCard& stored,
                                            absl::string_view path) const {
  const std::vector<std::string> numbers = PhoneNumbers(stored.card);
  if (!numbers.empty()) {
    pqxx::result taken = txn.exec_params(
        "SELECT e164, customer_id::text FROM customer_phones "
        "WHERE e164 = ANY($1::text[]) AND customer_id <> $2::uuid LIMIT 1",
        PgTextArray(numbers), stored.id);
    if (!taken.empty()) {
      const std::string e164 = taken[0][0].as<std::string>();
      const size_t index = std::find(numbers.begin(), numbers.end(), e164) - numbers.begin();
      return absl::AlreadyExistsError(absl::StrCat(path, ".phones[", index, "]: the number ", e164,
                                                   " belongs to customer ",
                                                   CustomerName(taken[0][1].as<std::string>())));
    }
  }
  if (!stored.card.external_id().empty()) {
    pqxx::result taken =
        txn.exec_params("SELECT id::text FROM customers WHERE external_id = $1 AND id <> $2::uuid",
                        stored.card.external_id(), stored.id);
    if (!taken.empty()) {
      return absl::AlreadyExistsError(absl::StrCat(path, ".external_id: belongs to customer ",
                                                   CustomerName(taken[0][0].as<std::string>())));
    }
  }
  return absl::OkStatus();
}

absl::Status CustomerStore::WriteIndexes(pqxx::work& txn, const StoredCard& stored) const {
  txn.exec_params("DELETE FROM customer_phones WHERE customer_id = $1::uuid", stored.id);
  txn.exec_params(
      "INSERT INTO customer_phones (e164, customer_id) SELECT unnest($1::text[]), $2::uuid",
      PgTextArray(PhoneNumbers(stored.card)), stored.id);
  txn.exec_params("DELETE FROM customer_emails WHERE customer_id = $1::uuid", stored.id);
  txn.exec_params(
      "INSERT INTO customer_emails (address, customer_id) "
      "SELECT DISTINCT unnest($1::text[]), $2::uuid",
      PgTextArray(EmailKeys(stored.card)), stored.id);
  return absl::OkStatus();
}

absl::Status CustomerStore::Insert(pqxx::work& txn, StoredCard& stored,
                                   absl::string_view path) const {
  CC_RETURN_IF_ERROR(CheckPhonesFree(txn, stored, path));
  const v1::Customer& card = stored.card;
  std::vector<std::string> tags(card.tags().begin(), card.tags().end());
  txn.exec_params(
      absl::StrCat("INSERT INTO customers (id, state, card, search_name, tags, external_id, "
                   "do_not_call, survey_opt_out, call_recording, vip_until, abusive_until, "
                   "version, create_time, update_time) VALUES ($1::uuid, 1, $2, $3, $4::text[], "
                   "NULLIF($5, ''), $6, $7, $8, NULLIF($9, '')::timestamptz, "
                   "NULLIF($10, '')::timestamptz, 1, ",
                   MicrosParam(11), ", ", MicrosParam(11), ")"),
      stored.id, PgBytes(Serialize(card)), NameSearchKey(card), PgTextArray(tags),
      card.external_id(), card.consents().do_not_call().value(),
      card.consents().survey_opt_out().value(), card.consents().call_recording().value(),
      FlagUntil(card.flags().vip()), FlagUntil(card.flags().abusive()), stored.create_micros);
  stored.version = 1;
  stored.update_micros = stored.create_micros;
  return WriteIndexes(txn, stored);
}

absl::Status CustomerStore::Save(pqxx::work& txn, StoredCard& stored,
                                 absl::string_view path) const {
  CC_RETURN_IF_ERROR(CheckPhonesFree(txn, stored, path));
  const v1::Customer& card = stored.card;
  std::vector<std::string> tags(card.tags().begin(), card.tags().end());
  stored.update_micros = std::max(absl::ToUnixMicros(absl::Now()), stored.update_micros + 1);
  pqxx::result updated = txn.exec_params(
      absl::StrCat("UPDATE customers SET card = $2, search_name = $3, tags = $4::text[], "
                   "external_id = NULLIF($5, ''), do_not_call = $6, survey_opt_out = $7, "
                   "call_recording = $8, vip_until = NULLIF($9, '')::timestamptz, "
                   "abusive_until = NULLIF($10, '')::timestamptz, version = version + 1, "
                   "update_time = ",
                   MicrosParam(11), " WHERE id = $1::uuid RETURNING version"),
      stored.id, PgBytes(Serialize(card)), NameSearchKey(card), PgTextArray(tags),
      card.external_id(), card.consents().do_not_call().value(),
      card.consents().survey_opt_out().value(), card.consents().call_recording().value(),
      FlagUntil(card.flags().vip()), FlagUntil(card.flags().abusive()), stored.update_micros);
  stored.version = updated[0][0].as<int64_t>();
  return WriteIndexes(txn, stored);
}

absl::StatusOr<std::map<std::string, StoredCard>> CustomerStore::LoadMany(
    pqxx::work& txn, const std::vector<std::string>& ids, bool for_update) const {
  std::map<std::string, StoredCard> cards;
  if (ids.empty()) return cards;
  const std::string sql =
      absl::StrCat("SELECT ", kCardColumns, " FROM customers c WHERE c.id = ANY($1::uuid[])",
                   for_update ? " ORDER BY c.id FOR UPDATE" : "");
  for (const pqxx::row& row : txn.exec_params(sql, PgTextArray(ids))) {
    StoredCard stored = ReadCard(row);
    if (stored.state == kErased) continue;
    std::string id = stored.id;
    if (stored.state == kMerged) {
      absl::StatusOr<StoredCard> survivor = Load(txn, stored.merged_into, for_update, true);
      if (!survivor.ok()) {
        if (absl::IsNotFound(survivor.status())) continue;
        return survivor.status();
      }
      stored = std::move(*survivor);
    }
    cards.emplace(std::move(id), std::move(stored));
  }
  return cards;
}

absl::Status CustomerStore::SaveMany(pqxx::work& txn, const std::vector<StoredCard*>& cards) const {
  if (cards.empty()) return absl::OkStatus();
  const int64_t now = absl::ToUnixMicros(absl::Now());
  std::vector<std::string> ids, bytes, names, tags, external_ids, do_not_call, survey_opt_out,
      call_recording, vip_until, abusive_until, update_micros;
  std::vector<std::string> phone_numbers, phone_owners, email_keys, email_owners;
  // One entry per card (two ids merged into one card share it: the last copy wins, as with
  // two Saves).
  std::map<std::string, StoredCard*> by_id;
  for (StoredCard* stored : cards) by_id[stored->id] = stored;
  for (auto& [id, stored] : by_id) {
    const v1::Customer& card = stored->card;
    stored->update_micros = std::max(now, stored->update_micros + 1);
    ids.push_back(id);
    const std::string serialized = Serialize(card);
    bytes.push_back(absl::BytesToHexString(serialized));
    names.push_back(NameSearchKey(card));
    tags.push_back(PgTextArray(std::vector<std::string>(card.tags().begin(), card.tags().end())));
    external_ids.push_back(card.external_id());
    do_not_call.push_back(card.consents().do_not_call().value() ? "t" : "f");
    survey_opt_out.push_back(card.consents().survey_opt_out().value() ? "t" : "f");
    call_recording.push_back(card.consents().call_recording().value() ? "t" : "f");
    vip_until.push_back(FlagUntil(card.flags().vip()));
    abusive_until.push_back(FlagUntil(card.flags().abusive()));
    update_micros.push_back(absl::StrCat(stored->update_micros));
    for (const std::string& number : PhoneNumbers(card)) {
      phone_numbers.push_back(number);
      phone_owners.push_back(stored->id);
    }
    std::set<std::string> seen;
    for (const std::string& key : EmailKeys(card)) {
      if (!seen.insert(key).second) continue;
      email_keys.push_back(key);
      email_owners.push_back(stored->id);
    }
  }
  pqxx::result updated = txn.exec_params(
      absl::StrCat(
          "UPDATE customers c SET card = decode(u.card, 'hex'), search_name = u.search_name, "
          "tags = u.tags::text[], external_id = NULLIF(u.external_id, ''), "
          "do_not_call = u.do_not_call::boolean, survey_opt_out = u.survey_opt_out::boolean, "
          "call_recording = u.call_recording::boolean, "
          "vip_until = NULLIF(u.vip_until, '')::timestamptz, "
          "abusive_until = NULLIF(u.abusive_until, '')::timestamptz, version = c.version + 1, "
          "update_time = timestamptz 'epoch' + u.micros::bigint * interval '1 microsecond' "
          "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
          "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) "
          "u(id, card, search_name, tags, external_id, do_not_call, survey_opt_out, "
          "call_recording, vip_until, abusive_until, micros) "
          "WHERE c.id = u.id RETURNING c.id::text, c.version"),
      PgTextArray(ids), PgTextArray(bytes), PgTextArray(names), PgTextArray(tags),
      PgTextArray(external_ids), PgTextArray(do_not_call), PgTextArray(survey_opt_out),
      PgTextArray(call_recording), PgTextArray(vip_until), PgTextArray(abusive_until),
      PgTextArray(update_micros));
  if (updated.size() != by_id.size()) {
    return absl::AbortedError("a card changed state while it was being saved; try again");
  }
  for (const pqxx::row& row : updated) {
    by_id[row[0].as<std::string>()]->version = row[1].as<int64_t>();
  }
  txn.exec_params("DELETE FROM customer_phones WHERE customer_id = ANY($1::uuid[])",
                  PgTextArray(ids));
  if (!phone_numbers.empty()) {
    txn.exec_params(
        "INSERT INTO customer_phones (e164, customer_id) "
        "SELECT * FROM unnest($1::text[], $2::uuid[])",
        PgTextArray(phone_numbers), PgTextArray(phone_owners));
  }
  txn.exec_params("DELETE FROM customer_emails WHERE customer_id = ANY($1::uuid[])",
                  PgTextArray(ids));
  if (!email_keys.empty()) {
    txn.exec_params(
        "INSERT INTO customer_emails (address, customer_id) "
        "SELECT * FROM unnest($1::text[], $2::uuid[])",
        PgTextArray(email_keys), PgTextArray(email_owners));
  }
  return absl::OkStatus();
}

absl::Status CustomerStore::Publish(pqxx::work& txn, events::v1::Event event) const {
  return common::EnqueueEvent(txn, *events_, event);
}

absl::StatusOr<v1::Customer> CustomerStore::Create(const v1::CreateCustomerRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  v1::Customer card = request.customer();
  CC_RETURN_IF_ERROR(NormalizeProfile(card, "customer", profile_options_));
  absl::StatusOr<v1::Customer> created =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Customer> {
        CC_ASSIGN_OR_RETURN(
            auto earlier,
            common::FindRequestResponse(txn, "CreateCustomer", request.request_id(), request));
        if (earlier) return Replay<v1::Customer>(*earlier);
        StoredCard stored{.id = common::NewId(), .state = kActive, .card = card};
        stored.create_micros = absl::ToUnixMicros(absl::Now());
        CC_RETURN_IF_ERROR(Insert(txn, stored, "customer"));
        events::v1::Event event;
        event.set_request_id(request.request_id());
        event.mutable_customer_created()->set_customer(CustomerName(stored.id));
        event.mutable_customer_created()->set_source("api");
        CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
        v1::Customer result = ToProto(stored, absl::Now());
        CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreateCustomer", request.request_id(),
                                                       request, result));
        return result;
      });
  if (created.ok()) outbox_->Notify();
  return created;
}

absl::StatusOr<v1::Customer> CustomerStore::Get(const v1::GetCustomerRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.name(), "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Customer> {
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, false, request.no_redirect()));
    return ToProto(stored, absl::Now());
  });
}

absl::StatusOr<v1::ListCustomersResponse> CustomerStore::List(
    const v1::ListCustomersRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  if (request.tags_size() > 10) return InvalidArgumentError("tags", "at most 10 tags");
  std::vector<std::string> tags;
  for (const std::string& tag : request.tags()) tags.push_back(LowerCase(Trimmed(tag)));
  if (!v1::FlagKind_IsValid(request.flag())) return InvalidArgumentError("flag", "unknown flag");
  if (!v1::ConsentKind_IsValid(request.consent())) {
    return InvalidArgumentError("consent", "unknown consent");
  }
  const int64_t since = request.has_updated_since()
                            ? common::MicrosFromTimestamp(request.updated_since())
                            : kEarliestMicros;
  const std::string scope = absl::StrCat("ListCustomers|", absl::StrJoin(tags, ","), "|",
                                         request.flag(), "|", request.consent(), "|", since);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  int64_t after_micros = kEarliestMicros;
  std::string after_id = "00000000-0000-0000-0000-000000000000";
  if (!cursor.empty()) CC_RETURN_IF_ERROR(ParseCursor(cursor, &after_micros, &after_id));

  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListCustomersResponse> {
    pqxx::result rows = query.exec_params(
        absl::StrCat(
            "SELECT ", kCardColumns,
            " FROM customers c WHERE c.state = 1 AND c.tags @> $1::text[]"
            " AND ($2 <> 1 OR c.vip_until > now()) AND ($2 <> 2 OR c.abusive_until > now())"
            " AND ($3 <> 1 OR c.do_not_call) AND ($3 <> 2 OR c.survey_opt_out)"
            " AND ($3 <> 3 OR c.call_recording)"
            " AND c.update_time >= ",
            MicrosParam(4), " AND (c.update_time, c.id) > (", MicrosParam(5),
            ", $6::uuid) ORDER BY c.update_time, c.id LIMIT $7"),
        PgTextArray(tags), static_cast<int>(request.flag()), static_cast<int>(request.consent()),
        since, after_micros, after_id, page_size + 1);
    v1::ListCustomersResponse response;
    const absl::Time now = absl::Now();
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      *response.add_customers() = ToProto(ReadCard(rows[i]), now);
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const StoredCard last = ReadCard(rows[page_size - 1]);
      response.set_next_page_token(
          common::EncodePageToken(scope, Cursor(last.update_micros, last.id)));
    }
    return response;
  });
}

absl::StatusOr<v1::Customer> CustomerStore::Update(const v1::UpdateCustomerRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(std::string id,
                      CustomerIdFromName(request.customer().name(), "customer.name"));
  if (request.customer().etag().empty()) {
    return InvalidArgumentError("customer.etag", "required: the etag of the card you edited");
  }
  if (request.update_mask().paths().empty()) {
    return InvalidArgumentError("update_mask", "name the fields to change");
  }
  static const auto* const kUpdatable = new std::set<std::string>{
      "display_name",   "given_name", "family_name",        "middle_name",
      "phones",         "emails",     "preferred_language", "time_zone",
      "calling_window", "tags",       "attributes",         "external_id"};
  for (const std::string& path : request.update_mask().paths()) {
    if (kUpdatable->count(path) == 0) {
      return InvalidArgumentError("update_mask", absl::StrCat("\"", path, "\" cannot be updated"));
    }
  }
  absl::StatusOr<v1::Customer> updated = pg_->Transact([&](pqxx::work& txn)
                                                           -> absl::StatusOr<v1::Customer> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "UpdateCustomer",
                                                                  request.request_id(), request));
    if (earlier) return Replay<v1::Customer>(*earlier);
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true, true));
    if (stored.state == kMerged) {
      return absl::FailedPreconditionError(absl::StrCat("CUSTOMER_MERGED: customer ",
                                                        CustomerName(id), " was merged into ",
                                                        CustomerName(stored.merged_into)));
    }
    if (request.customer().etag() != absl::StrCat(stored.version)) {
      return absl::AbortedError(absl::StrCat(
          "ETAG_MISMATCH: the card changed since it was read (etag ", request.customer().etag(),
          ", now ", stored.version, "); read it again and reapply the change"));
    }
    v1::Customer card = stored.card;
    const v1::Customer& source = request.customer();
    const google::protobuf::Descriptor* descriptor = v1::Customer::GetDescriptor();
    const google::protobuf::Reflection* reflection = v1::Customer::GetReflection();
    for (const std::string& path : request.update_mask().paths()) {
      const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(path);
      reflection->ClearField(&card, field);
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(source, field); ++i) {
          if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
            reflection->AddMessage(&card, field)
                ->CopyFrom(reflection->GetRepeatedMessage(source, field, i));
          } else {
            reflection->AddString(&card, field, reflection->GetRepeatedString(source, field, i));
          }
        }
      } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        if (reflection->HasField(source, field)) {
          reflection->MutableMessage(&card, field)->CopyFrom(reflection->GetMessage(source, field));
        }
      } else {
        reflection->SetString(&card, field, reflection->GetString(source, field));
      }
    }
    // Output-only parts survive the profile normalisation.
    const v1::Consents consents = card.consents();
    const v1::CustomerFlags flags = card.flags();
    const auto merged_from = card.merged_from();
    CC_RETURN_IF_ERROR(NormalizeProfile(card, "customer", profile_options_));
    *card.mutable_consents() = consents;
    *card.mutable_flags() = flags;
    *card.mutable_merged_from() = merged_from;
    stored.card = std::move(card);
    CC_RETURN_IF_ERROR(Save(txn, stored, "customer"));
    events::v1::Event event;
    event.set_request_id(request.request_id());
    event.mutable_customer_updated()->set_customer(CustomerName(stored.id));
    for (const std::string& path : request.update_mask().paths()) {
      event.mutable_customer_updated()->add_changed_fields(path);
    }
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    v1::Customer result = ToProto(stored, absl::Now());
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "UpdateCustomer", request.request_id(), request, result));
    return result;
  });
  if (updated.ok()) outbox_->Notify();
  return updated;
}

absl::Status CustomerStore::Delete(const v1::DeleteCustomerRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.name(), "name"));
  absl::Status deleted = pg_->Transact([&](pqxx::work& txn) -> absl::Status {
    google::protobuf::Empty empty;
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "DeleteCustomer",
                                                                  request.request_id(), request));
    if (earlier) return absl::OkStatus();
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true, true));
    if (stored.state == kMerged) {
      return absl::FailedPreconditionError(absl::StrCat("CUSTOMER_MERGED: customer ",
                                                        CustomerName(id), " was merged into ",
                                                        CustomerName(stored.merged_into)));
    }
    if (!request.etag().empty() && request.etag() != absl::StrCat(stored.version)) {
      return absl::AbortedError("ETAG_MISMATCH: the card changed since it was read");
    }
    if (!request.force()) {
      pqxx::result history = txn.exec_params(
          "SELECT 1 FROM contacts WHERE customer_id = $1::uuid AND kind <> $2 LIMIT 1", id,
          static_cast<int>(v1::CONTACT_KIND_NOTE));
      if (!history.empty()) {
        return absl::FailedPreconditionError(
            "HAS_CONTACT_HISTORY: the card has contact history; set force to delete it too, or "
            "use EraseCustomer to keep it anonymised");
      }
    }
    txn.exec_params(
        "DELETE FROM customer_phones WHERE customer_id IN (SELECT id FROM customers WHERE id = "
        "$1::uuid OR merged_into = $1::uuid)",
        id);
    txn.exec_params(
        "DELETE FROM customer_emails WHERE customer_id IN (SELECT id FROM customers WHERE id = "
        "$1::uuid OR merged_into = $1::uuid)",
        id);
    txn.exec_params("DELETE FROM customers WHERE id = $1::uuid OR merged_into = $1::uuid", id);
    events::v1::Event event;
    event.set_request_id(request.request_id());
    event.mutable_customer_deleted()->set_customer(CustomerName(id));
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    return common::SaveRequestResponse(txn, "DeleteCustomer", request.request_id(), request, empty);
  });
  if (deleted.ok()) outbox_->Notify();
  return deleted;
}

absl::StatusOr<v1::LookupByPhoneResponse> CustomerStore::LookupByPhone(
    const v1::LookupByPhoneRequest& request) {
  std::string region = options_.default_region;
  if (!request.region().empty()) {
    if (!common::IsKnownPhoneRegion(request.region())) {
      return InvalidArgumentError("region", "not an ISO 3166-1 alpha-2 region code");
    }
    region = request.region();
  }
  CC_ASSIGN_OR_RETURN(common::NormalizedPhone phone,
                      common::NormalizePhone(request.phone_number(), region, "phone_number"));
  return pg_->Query([&](pqxx::nontransaction& query) -> absl::StatusOr<v1::LookupByPhoneResponse> {
    pqxx::result rows = query.exec_prepared("lookup_by_phone", phone.e164);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("no customer has the number ", phone.e164));
    }
    v1::LookupByPhoneResponse response;
    *response.mutable_customer() = ToProto(ReadCard(rows[0]), absl::Now());
    response.set_e164(phone.e164);
    for (int i = 0; i < response.customer().phones_size(); ++i) {
      if (response.customer().phones(i).number().e164() == phone.e164) {
        response.set_phone_index(i);
      }
    }
    return response;
  });
}

std::string LookupByPhoneSql() {
  return absl::StrCat("SELECT ", kCardColumns,
                      " FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
                      "WHERE p.e164 = $1 AND c.state = 1");
}

absl::StatusOr<v1::SearchCustomersResponse> CustomerStore::Search(
    const v1::SearchCustomersRequest& request) {
  const std::string query_text = Trimmed(request.query());
  if (query_text.empty()) return InvalidArgumentError("query", "must not be empty");
  if (CodePoints(query_text) > kMaxQuery) {
    return InvalidArgumentError("query", absl::StrCat("longer than ", kMaxQuery, " characters"));
  }
  std::string region = options_.default_region;
  if (!request.region().empty()) {
    if (!common::IsKnownPhoneRegion(request.region())) {
      return InvalidArgumentError("region", "not an ISO 3166-1 alpha-2 region code");
    }
    region = request.region();
  }
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 20, 100));
  const std::string scope = absl::StrCat("SearchCustomers|", query_text, "|", region);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  int offset = 0;
  if (!cursor.empty() && (!absl::SimpleAtoi(cursor, &offset) || offset < 0)) {
    return InvalidArgumentError("page_token", "malformed");
  }
  if (offset >= kMaxSearchResults) return v1::SearchCustomersResponse();
  const int limit = std::min(page_size, kMaxSearchResults - offset);

  const bool is_email = query_text.find('@') != std::string::npos;
  const bool is_phone =
      !is_email && query_text.find_first_not_of("0123456789+-(). ") == std::string::npos;
  std::string sql;
  std::vector<std::string> parameters;
  v1::SearchMatchField matched_field;
  if (is_email) {
    matched_field = v1::SEARCH_MATCH_FIELD_EMAIL;
    const std::string email = LowerCase(query_text);
    // LIKE's own characters in the address are matched literally.
    std::string pattern;
    for (char c : email) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    sql = absl::StrCat(
        "SELECT ", kCardColumns,
        ", CASE WHEN e.address = $1 THEN 1.0 ELSE 0.5 + 0.5 * length($1)::float8 / "
        "length(e.address) END AS score, e.address FROM customer_emails e JOIN customers c ON "
        "c.id = e.customer_id WHERE c.state = 1 AND e.address LIKE $2 || '%' "
        "ORDER BY score DESC, c.search_name, c.id LIMIT $3 OFFSET $4");
    parameters = {email, pattern};
  } else if (is_phone) {
    matched_field = v1::SEARCH_MATCH_FIELD_PHONE;
    const std::string digits = common::PhoneDigits(query_text);
    if (digits.size() < 4) {
      return InvalidArgumentError("query", "a phone fragment needs at least 4 digits");
    }
    absl::StatusOr<common::NormalizedPhone> complete =
        common::NormalizePhone(query_text, region, "query");
    const std::string exact = complete.ok() ? complete->e164 : "";
    sql = absl::StrCat(
        "SELECT ", kCardColumns,
        ", CASE WHEN p.e164 = $1 THEN 1.0 ELSE length($2)::float8 / (length(p.e164) - 1) END "
        "AS score, p.e164 FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
        "WHERE c.state = 1 AND (p.e164 = $1 OR substr(p.e164, 2) LIKE '%' || $2 || '%') "
        "ORDER BY score DESC, c.search_name, c.id LIMIT $3 OFFSET $4");
    parameters = {exact, digits};
  } else {
    matched_field = v1::SEARCH_MATCH_FIELD_NAME;
    const std::string form = SearchForm(query_text);
    if (CodePoints(form) < 2) {
      return InvalidArgumentError("query", "a name fragment needs at least 2 characters");
    }
    std::vector<std::string> words = absl::StrSplit(form, ' ', absl::SkipEmpty());
    // The longest word leads the index scan; every word must match some name word.
    const std::string lead = *std::max_element(
        words.begin(), words.end(),
        [](const std::string& a, const std::string& b) { return CodePoints(a) < CodePoints(b); });
    sql = absl::StrCat(
        "SELECT ", kCardColumns,
        ", (SELECT avg(word_similarity(w, c.search_name)) FROM unnest($2::text[]) w) AS score, "
        "c.card FROM customers c WHERE c.state = 1 AND $1 <% c.search_name "
        "AND (SELECT bool_and(w <% c.search_name) FROM unnest($2::text[]) w) "
        "ORDER BY score DESC, c.search_name, c.id LIMIT $3 OFFSET $4");
    parameters = {lead, PgTextArray(words)};
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::SearchCustomersResponse> {
    // A typo in a short name costs much of its trigram overlap; 0.4 still keeps noise out.
    txn.exec("SET LOCAL pg_trgm.word_similarity_threshold = 0.4");
    pqxx::result rows = txn.exec_params(sql, parameters[0], parameters[1], limit + 1, offset);
    v1::SearchCustomersResponse response;
    const absl::Time now = absl::Now();
    for (int i = 0; i < std::min<int>(rows.size(), limit); ++i) {
      v1::SearchCustomersResult* result = response.add_results();
      *result->mutable_customer() = ToProto(ReadCard(rows[i]), now);
      result->set_score(std::min(1.0, rows[i][8].as<double>()));
      result->set_matched_field(matched_field);
      result->set_matched_value(matched_field == v1::SEARCH_MATCH_FIELD_NAME
                                    ? result->customer().display_name()
                                    : rows[i][9].as<std::string>());
    }
    if (static_cast<int>(rows.size()) > limit && offset + limit < kMaxSearchResults) {
      response.set_next_page_token(common::EncodePageToken(scope, absl::StrCat(offset + limit)));
    }
    return response;
  });
}

absl::StatusOr<v1::Customer> CustomerStore::SetConsent(const v1::SetConsentRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.customer(), "customer"));
  if (request.kind() == v1::CONSENT_KIND_UNSPECIFIED || !v1::ConsentKind_IsValid(request.kind())) {
    return InvalidArgumentError("kind",
                                "name the consent: do-not-call, survey opt-out or call "
                                "recording");
  }
  if (request.source() == v1::CONSENT_SOURCE_UNSPECIFIED ||
      !v1::ConsentSource_IsValid(request.source())) {
    return InvalidArgumentError("source", "say where the statement came from");
  }
  if (CodePoints(request.evidence()) > kMaxEvidence) {
    return InvalidArgumentError("evidence",
                                absl::StrCat("longer than ", kMaxEvidence, " characters"));
  }
  CC_RETURN_IF_ERROR(ValidateReference(request.call(), "calls", "call"));
  CC_RETURN_IF_ERROR(CheckActor(request.actor(), "actor"));
  const absl::Time now = absl::Now();
  absl::Time statement_time = now;
  if (request.has_statement_time()) {
    statement_time = common::TimeFromTimestamp(request.statement_time());
    if (statement_time > now + absl::Minutes(1)) {
      return InvalidArgumentError("statement_time", "must not be in the future");
    }
  }
  absl::StatusOr<v1::Customer> changed =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Customer> {
        CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(
                                              txn, "SetConsent", request.request_id(), request));
        if (earlier) return Replay<v1::Customer>(*earlier);
        CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true));
        v1::ConsentState state;
        state.set_value(request.value());
        *state.mutable_update_time() = common::TimestampFromTime(statement_time);
        state.set_source(request.source());
        *state.mutable_recorded_by() = request.actor();
        state.set_call(request.call());
        state.set_evidence(Trimmed(request.evidence()));
        v1::Consents* consents = stored.card.mutable_consents();
        v1::ConsentState* current = request.kind() == v1::CONSENT_KIND_DO_NOT_CALL
                                        ? consents->mutable_do_not_call()
                                    : request.kind() == v1::CONSENT_KIND_SURVEY_OPT_OUT
                                        ? consents->mutable_survey_opt_out()
                                        : consents->mutable_call_recording();
        v1::ConsentChange change;
        change.set_kind(request.kind());
        change.set_previous_value(current->value());
        *change.mutable_state() = state;
        *current = state;
        CC_RETURN_IF_ERROR(Save(txn, stored, "customer"));
        txn.exec_params(
            "INSERT INTO consent_changes (id, customer_id, kind, change) "
            "VALUES ($1::uuid, $2::uuid, $3, $4)",
            ChangeId(), stored.id, static_cast<int>(request.kind()), PgBytes(Serialize(change)));
        events::v1::Event event;
        event.set_request_id(request.request_id());
        event.mutable_customer_updated()->set_customer(CustomerName(stored.id));
        event.mutable_customer_updated()->add_changed_fields(
            request.kind() == v1::CONSENT_KIND_DO_NOT_CALL      ? "consents.do_not_call"
            : request.kind() == v1::CONSENT_KIND_SURVEY_OPT_OUT ? "consents.survey_opt_out"
                                                                : "consents.call_recording");
        CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
        v1::Customer result = ToProto(stored, absl::Now());
        CC_RETURN_IF_ERROR(
            common::SaveRequestResponse(txn, "SetConsent", request.request_id(), request, result));
        return result;
      });
  if (changed.ok()) outbox_->Notify();
  return changed;
}

namespace {

// Reads one page of a customer's history table (consent_changes, flag_changes, notes), newest
// first by id (ids are time-ordered).
struct HistoryPage {
  std::vector<std::tuple<std::string, std::string, std::string>> rows;  // id, bytes, merged_from
  std::string next_cursor;
};

absl::StatusOr<HistoryPage> ReadHistory(pqxx::work& txn, absl::string_view table,
                                        absl::string_view column, absl::string_view customer_id,
                                        int kind, absl::string_view cursor, int page_size) {
  const std::string after =
      cursor.empty() ? "ffffffff-ffff-ffff-ffff-ffffffffffff" : std::string(cursor);
  if (!common::IsCanonicalUuid(after)) return InvalidArgumentError("page_token", "malformed");
  const std::string kind_filter = kind != 0 ? absl::StrCat(" AND kind = ", kind) : "";
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT id::text, ", column, ", coalesce(merged_from::text, '') FROM ", table,
                   " WHERE customer_id = $1::uuid AND id < $2::uuid", kind_filter,
                   " ORDER BY id DESC LIMIT $3"),
      std::string(customer_id), after, page_size + 1);
  HistoryPage page;
  for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
    page.rows.emplace_back(rows[i][0].as<std::string>(), common::BytesOf(rows[i][1]),
                           rows[i][2].as<std::string>());
  }
  if (static_cast<int>(rows.size()) > page_size) {
    page.next_cursor = std::get<0>(page.rows.back());
  }
  return page;
}

}  // namespace

absl::StatusOr<v1::ListConsentHistoryResponse> CustomerStore::ListConsentHistory(
    const v1::ListConsentHistoryRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.parent(), "parent"));
  if (!v1::ConsentKind_IsValid(request.kind())) return InvalidArgumentError("kind", "unknown");
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  const std::string scope = absl::StrCat("ListConsentHistory|", id, "|", request.kind());
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ListConsentHistoryResponse> {
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, false));
    CC_ASSIGN_OR_RETURN(HistoryPage page, ReadHistory(txn, "consent_changes", "change", stored.id,
                                                      request.kind(), cursor, page_size));
    v1::ListConsentHistoryResponse response;
    for (const auto& [change_id, bytes, merged_from] : page.rows) {
      v1::ConsentChange* change = response.add_consent_changes();
      change->ParseFromString(bytes);
      change->set_name(absl::StrCat(CustomerName(stored.id), "/consentChanges/", change_id));
      if (!merged_from.empty()) change->set_merged_from(CustomerName(merged_from));
    }
    if (!page.next_cursor.empty()) {
      response.set_next_page_token(common::EncodePageToken(scope, page.next_cursor));
    }
    return response;
  });
}

absl::StatusOr<v1::Customer> CustomerStore::SetFlag(const v1::SetFlagRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.customer(), "customer"));
  if (request.kind() == v1::FLAG_KIND_UNSPECIFIED || !v1::FlagKind_IsValid(request.kind())) {
    return InvalidArgumentError("kind", "name the flag: VIP or abusive");
  }
  const std::string reason = Trimmed(request.reason());
  if (CodePoints(reason) > kMaxReason) {
    return InvalidArgumentError("reason", absl::StrCat("longer than ", kMaxReason, " characters"));
  }
  if (request.kind() == v1::FLAG_KIND_ABUSIVE && request.value() && reason.empty()) {
    return InvalidArgumentError("reason", "required when flagging a customer as abusive");
  }
  const absl::Time now = absl::Now();
  if (request.has_expire_time() && common::TimeFromTimestamp(request.expire_time()) <= now) {
    return InvalidArgumentError("expire_time", "must be in the future");
  }
  CC_RETURN_IF_ERROR(ValidateReference(request.call(), "calls", "call"));
  CC_RETURN_IF_ERROR(CheckActor(request.actor(), "actor"));
  absl::StatusOr<v1::Customer> changed =
      pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Customer> {
        CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(
                                              txn, "SetFlag", request.request_id(), request));
        if (earlier) return Replay<v1::Customer>(*earlier);
        CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true));
        v1::FlagState state;
        state.set_value(request.value());
        state.set_reason(reason);
        *state.mutable_set_by() = request.actor();
        *state.mutable_update_time() = common::TimestampFromTime(now);
        if (request.value() && request.has_expire_time()) {
          *state.mutable_expire_time() = request.expire_time();
        }
        state.set_call(request.call());
        v1::FlagState* current = request.kind() == v1::FLAG_KIND_VIP
                                     ? stored.card.mutable_flags()->mutable_vip()
                                     : stored.card.mutable_flags()->mutable_abusive();
        const bool previous =
            current->value() && (!current->has_expire_time() ||
                                 common::TimeFromTimestamp(current->expire_time()) > now);
        v1::FlagChange change;
        change.set_kind(request.kind());
        change.set_previous_value(previous);
        *change.mutable_state() = state;
        *current = state;
        CC_RETURN_IF_ERROR(Save(txn, stored, "customer"));
        txn.exec_params(
            "INSERT INTO flag_changes (id, customer_id, kind, change) "
            "VALUES ($1::uuid, $2::uuid, $3, $4)",
            ChangeId(), stored.id, static_cast<int>(request.kind()), PgBytes(Serialize(change)));
        events::v1::Event event;
        event.set_request_id(request.request_id());
        event.mutable_customer_updated()->set_customer(CustomerName(stored.id));
        event.mutable_customer_updated()->add_changed_fields(
            request.kind() == v1::FLAG_KIND_VIP ? "flags.vip" : "flags.abusive");
        CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
        v1::Customer result = ToProto(stored, now);
        CC_RETURN_IF_ERROR(
            common::SaveRequestResponse(txn, "SetFlag", request.request_id(), request, result));
        return result;
      });
  if (changed.ok()) outbox_->Notify();
  return changed;
}

absl::StatusOr<v1::ListFlagHistoryResponse> CustomerStore::ListFlagHistory(
    const v1::ListFlagHistoryRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.parent(), "parent"));
  if (!v1::FlagKind_IsValid(request.kind())) return InvalidArgumentError("kind", "unknown");
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  const std::string scope = absl::StrCat("ListFlagHistory|", id, "|", request.kind());
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ListFlagHistoryResponse> {
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, false));
    CC_ASSIGN_OR_RETURN(HistoryPage page, ReadHistory(txn, "flag_changes", "change", stored.id,
                                                      request.kind(), cursor, page_size));
    v1::ListFlagHistoryResponse response;
    for (const auto& [change_id, bytes, merged_from] : page.rows) {
      v1::FlagChange* change = response.add_flag_changes();
      change->ParseFromString(bytes);
      change->set_name(absl::StrCat(CustomerName(stored.id), "/flagChanges/", change_id));
      if (!merged_from.empty()) change->set_merged_from(CustomerName(merged_from));
    }
    if (!page.next_cursor.empty()) {
      response.set_next_page_token(common::EncodePageToken(scope, page.next_cursor));
    }
    return response;
  });
}

absl::StatusOr<v1::Note> CustomerStore::AddNote(const v1::AddNoteRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.parent(), "parent"));
  const std::string text = Trimmed(request.note().text());
  if (text.empty()) return InvalidArgumentError("note.text", "must not be empty");
  if (CodePoints(text) > kMaxNoteText) {
    return InvalidArgumentError("note.text",
                                absl::StrCat("longer than ", kMaxNoteText, " characters"));
  }
  CC_RETURN_IF_ERROR(ValidateReference(request.note().call(), "calls", "note.call"));
  CC_RETURN_IF_ERROR(CheckActor(request.note().author(), "note.author"));
  absl::StatusOr<v1::Note> added = pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Note> {
    CC_ASSIGN_OR_RETURN(auto earlier,
                        common::FindRequestResponse(txn, "AddNote", request.request_id(), request));
    if (earlier) return Replay<v1::Note>(*earlier);
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, true));
    if (stored.note_count >= kMaxNotes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the card already has ", kMaxNotes, " notes"));
    }
    const std::string note_id = common::NewId();
    const absl::Time now = absl::Now();
    v1::Note note;
    note.set_text(text);
    *note.mutable_author() = request.note().author();
    if (note.author().name().empty()) note.mutable_author()->set_name("services/unknown");
    note.set_call(request.note().call());
    *note.mutable_create_time() = common::TimestampFromTime(now);
    txn.exec_params("INSERT INTO notes (id, customer_id, note) VALUES ($1::uuid, $2::uuid, $3)",
                    note_id, stored.id, PgBytes(Serialize(note)));
    v1::ContactHistoryEntry entry;
    entry.set_kind(v1::CONTACT_KIND_NOTE);
    *entry.mutable_occur_time() = note.create_time();
    *entry.mutable_update_time() = note.create_time();
    *entry.mutable_note() = note;
    txn.exec_params(absl::StrCat("INSERT INTO contacts (id, customer_id, kind, source, occur_time, "
                                 "update_time, entry) VALUES ($1::uuid, $2::uuid, $3, $4, ",
                                 MicrosParam(5), ", ", MicrosParam(5), ", $6)"),
                    common::NewId(), stored.id, static_cast<int>(v1::CONTACT_KIND_NOTE),
                    absl::StrCat("notes/", note_id), absl::ToUnixMicros(now),
                    PgBytes(Serialize(entry)));
    txn.exec_params("UPDATE customers SET note_count = note_count + 1 WHERE id = $1::uuid",
                    stored.id);
    events::v1::Event event;
    event.set_request_id(request.request_id());
    event.mutable_customer_updated()->set_customer(CustomerName(stored.id));
    event.mutable_customer_updated()->add_changed_fields("notes");
    CC_RETURN_IF_ERROR(Publish(txn, std::move(event)));
    note.set_name(absl::StrCat(CustomerName(stored.id), "/notes/", note_id));
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "AddNote", request.request_id(), request, note));
    return note;
  });
  if (added.ok()) outbox_->Notify();
  return added;
}

absl::StatusOr<v1::ListNotesResponse> CustomerStore::ListNotes(
    const v1::ListNotesRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.parent(), "parent"));
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  const std::string scope = absl::StrCat("ListNotes|", id);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ListNotesResponse> {
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, false));
    CC_ASSIGN_OR_RETURN(HistoryPage page,
                        ReadHistory(txn, "notes", "note", stored.id, 0, cursor, page_size));
    v1::ListNotesResponse response;
    for (const auto& [note_id, bytes, merged_from] : page.rows) {
      v1::Note* note = response.add_notes();
      note->ParseFromString(bytes);
      note->set_name(absl::StrCat(CustomerName(stored.id), "/notes/", note_id));
      if (!merged_from.empty()) note->set_merged_from(CustomerName(merged_from));
    }
    if (!page.next_cursor.empty()) {
      response.set_next_page_token(common::EncodePageToken(scope, page.next_cursor));
    }
    return response;
  });
}

absl::StatusOr<v1::ListContactHistoryResponse> CustomerStore::ListContactHistory(
    const v1::ListContactHistoryRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, CustomerIdFromName(request.parent(), "parent"));
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::vector<std::string> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    const int kind = request.kinds(i);
    if (kind == v1::CONTACT_KIND_UNSPECIFIED || !v1::ContactKind_IsValid(kind)) {
      return InvalidArgumentError(absl::StrCat("kinds[", i, "]"), "unknown kind");
    }
    kinds.push_back(absl::StrCat(kind));
  }
  int64_t from = kEarliestMicros;
  int64_t to = kLatestMicros;
  if (request.time_range().has_start_time()) {
    from = common::MicrosFromTimestamp(request.time_range().start_time());
  }
  if (request.time_range().has_end_time()) {
    to = common::MicrosFromTimestamp(request.time_range().end_time());
  }
  if (from >= to) return InvalidArgumentError("time_range", "start_time must be before end_time");
  const std::string scope =
      absl::StrCat("ListContactHistory|", id, "|", absl::StrJoin(kinds, ","), "|", from, "|", to);
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  int64_t before_micros = kLatestMicros;
  std::string before_id = "ffffffff-ffff-ffff-ffff-ffffffffffff";
  if (!cursor.empty()) CC_RETURN_IF_ERROR(ParseCursor(cursor, &before_micros, &before_id));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::ListContactHistoryResponse> {
    CC_ASSIGN_OR_RETURN(StoredCard stored, Load(txn, id, false));
    pqxx::result rows = txn.exec_params(
        absl::StrCat("SELECT id::text, entry, coalesce(merged_from::text, ''), "
                     "(extract(epoch FROM occur_time) * 1000000)::bigint, source FROM contacts "
                     "WHERE customer_id = $1::uuid AND (cardinality($2::int[]) = 0 OR "
                     "kind = ANY($2::int[])) AND occur_time >= ",
                     MicrosParam(3), " AND occur_time < ", MicrosParam(4),
                     " AND (occur_time, id) < (", MicrosParam(5),
                     ", $6::uuid) ORDER BY occur_time DESC, id DESC LIMIT $7"),
        stored.id, absl::StrCat("{", absl::StrJoin(kinds, ","), "}"), from, to, before_micros,
        before_id, page_size + 1);
    v1::ListContactHistoryResponse response;
    for (int i = 0; i < std::min<int>(rows.size(), page_size); ++i) {
      v1::ContactHistoryEntry* entry = response.add_entries();
      entry->ParseFromString(common::BytesOf(rows[i][1]));
      entry->set_name(
          absl::StrCat(CustomerName(stored.id), "/contacts/", rows[i][0].as<std::string>()));
      const std::string merged_from = rows[i][2].as<std::string>();
      if (!merged_from.empty()) entry->set_merged_from(CustomerName(merged_from));
      if (entry->has_note()) {
        entry->mutable_note()->set_name(
            absl::StrCat(CustomerName(stored.id), "/", rows[i][4].as<std::string>()));
        if (!merged_from.empty()) entry->mutable_note()->set_merged_from(CustomerName(merged_from));
      }
    }
    if (static_cast<int>(rows.size()) > page_size) {
      const auto& last = rows[page_size - 1];
      response.set_next_page_token(
          common::EncodePageToken(scope, Cursor(last[3].as<int64_t>(), last[0].as<std::string>())));
    }
    return response;
  });
}

}  // namespace contactcentre::customers
