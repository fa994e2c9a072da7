#include "services/knowledge/directory_store.h"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/knowledge/names.h"
#include "services/knowledge/opening_hours.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/text.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {
namespace {

constexpr int kListDefaultPageSize = 50;
constexpr int kListMaxPageSize = 1000;
constexpr int kSearchDefaultPageSize = 20;
constexpr int kSearchMaxPageSize = 100;
constexpr int kSearchMaxResults = 500;
constexpr size_t kMaxQueryLength = 200;
// Query words the SQL pre-filter checks (all of them are scored).
constexpr size_t kMaxFilteredWords = 16;
// Rows scored per search: the best candidates by pg_trgm word similarity.
constexpr int kSearchCandidates = 2000;
constexpr int kMaxEntriesPerImportMessage = 1000;
// pg_trgm word similarity of a query word in the name keys that makes a candidate: below the
// similarity MatchName accepts for a typo, so no match is lost.
constexpr char kTrigramThreshold[] = "0.45";

const std::set<std::string>& UpdatablePaths() {
  static const auto* const paths = new std::set<std::string>{
      "display_name", "alternative_names", "category",   "subcategory", "phones",
      "email",        "website",           "address",    "city",        "opening_hours",
      "notes",        "external_id",       "verify_time"};
  return *paths;
}

constexpr char kEntryColumns[] = "d.id::text, d.entry, d.revision, " KNOWLEDGE_MICROS(
    "d.create_time") ", " KNOWLEDGE_MICROS("d.update_time");
constexpr int kEntryColumnCount = 5;

// The entry as stored: without the fields the service sets on output.
v1::DirectoryEntry StoredForm(v1::DirectoryEntry entry) {
  entry.clear_name();
  entry.clear_etag();
  entry.clear_create_time();
  entry.clear_update_time();
  return entry;
}

absl::StatusOr<v1::DirectoryEntry> EntryFromRow(const pqxx::row& row) {
  v1::DirectoryEntry entry;
  if (!entry.ParseFromString(pqxx::binarystring(row[1]).str())) {
    return absl::InternalError("a stored directory entry is corrupt");
  }
  entry.set_name(ResourceName(kDirectoryEntries, row[0].as<std::string>()));
  entry.set_etag(FormatEtag(row[2].as<int64_t>()));
  *entry.mutable_create_time() = TimestampFromMicros(row[3].as<int64_t>());
  *entry.mutable_update_time() = TimestampFromMicros(row[4].as<int64_t>());
  return entry;
}

int64_t RevisionOf(const v1::DirectoryEntry& entry) {
  int64_t revision = 0;
  absl::string_view etag = entry.etag();
  if (etag.size() >= 2) etag = etag.substr(1, etag.size() - 2);
  (void)absl::SimpleAtoi(etag, &revision);
  return revision;
}

std::string NameKeys(const v1::DirectoryEntry& entry) {
  std::vector<std::string> keys = {DirectoryNameKey(entry.display_name())};
  for (const std::string& name : entry.alternative_names()) keys.push_back(DirectoryNameKey(name));
  return absl::StrJoin(keys, "\n");
}

// Digits of every phone: the E.164 number and its national number (what people dial without
// the country code), or the short number.
std::string PhoneDigitsOf(const v1::DirectoryEntry& entry) {
  using i18n::phonenumbers::PhoneNumberUtil;
  std::vector<std::string> digits;
  for (const v1::DirectoryPhone& phone : entry.phones()) {
    if (phone.short_number()) {
      digits.push_back(common::PhoneDigits(phone.number().raw()));
      continue;
    }
    digits.push_back(common::PhoneDigits(phone.number().e164()));
    i18n::phonenumbers::PhoneNumber parsed;
    if (PhoneNumberUtil::GetInstance()->Parse(phone.number().e164(), "ZZ", &parsed) ==
        PhoneNumberUtil::NO_PARSING_ERROR) {
      std::string national;
      PhoneNumberUtil::GetInstance()->GetNationalSignificantNumber(parsed, &national);
      digits.push_back(national);
    }
  }
  return absl::StrJoin(digits, " ");
}

pqxx::binarystring Bytes(const std::string& bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

absl::StatusOr<v1::DirectoryEntry> LoadEntry(pqxx::transaction_base& txn, const std::string& id,
                                             bool for_update = false) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kEntryColumns, " FROM directory_entries d WHERE d.id = $1::uuid",
                   for_update ? " FOR UPDATE" : ""),
      id);
  if (rows.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no directory entry ", ResourceName(kDirectoryEntries, id)));
  }
  return EntryFromRow(rows[0]);
}

absl::Status CheckExternalIdFree(pqxx::transaction_base& txn, const std::string& external_id,
                                 const std::string& self_id) {
  if (external_id.empty()) return absl::OkStatus();
  pqxx::result rows = txn.exec_params(
      "SELECT id::text FROM directory_entries WHERE external_id = $1 AND id::text <> $2",
      external_id, self_id);
  if (rows.empty()) return absl::OkStatus();
  return absl::AlreadyExistsError(
      absl::StrCat("entry.external_id: ", ResourceName(kDirectoryEntries, rows[0][0].c_str()),
                   " already has external_id \"", external_id, "\""));
}

// Inserts (new id) or overwrites the entry's row, derived columns included.
absl::StatusOr<v1::DirectoryEntry> WriteEntry(pqxx::transaction_base& txn, const std::string& id,
                                              const v1::DirectoryEntry& entry, bool create) {
  const v1::DirectoryEntry stored = StoredForm(entry);
  if (create) {
    txn.exec_params(
        "INSERT INTO directory_entries (id, entry, display_name, category, display_key, city_key, "
        "name_keys, phone_digits, external_id, revision, create_time, update_time) VALUES "
        "($1::uuid, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), 1, now(), now())",
        id, Bytes(common::DeterministicBytes(stored)), stored.display_name(),
        static_cast<int>(stored.category()), FilterKey(stored.display_name()),
        FilterKey(stored.city()), NameKeys(stored), PhoneDigitsOf(stored), stored.external_id());
  } else {
    txn.exec_params(
        "UPDATE directory_entries SET entry = $2, display_name = $3, category = $4, "
        "display_key = $5, city_key = $6, name_keys = $7, phone_digits = $8, "
        "external_id = NULLIF($9, ''), revision = revision + 1, update_time = now() "
        "WHERE id = $1::uuid",
        id, Bytes(common::DeterministicBytes(stored)), stored.display_name(),
        static_cast<int>(stored.category()), FilterKey(stored.display_name()),
        FilterKey(stored.city()), NameKeys(stored), PhoneDigitsOf(stored), stored.external_id());
  }
  return LoadEntry(txn, id);
}

bool SameStoredEntry(const v1::DirectoryEntry& a, const v1::DirectoryEntry& b) {
  return common::DeterministicBytes(StoredForm(a)) == common::DeterministicBytes(StoredForm(b));
}

template <typename T>
absl::StatusOr<T> ParseStored(const std::string& bytes) {
  T message;
  if (!message.ParseFromString(bytes)) return absl::InternalError("a stored answer is corrupt");
  return message;
}

absl::StatusOr<std::vector<int>> ParseCategories(
    const google::protobuf::RepeatedField<int>& categories) {
  std::vector<int> values;
  for (int i = 0; i < categories.size(); ++i) {
    if (categories[i] == v1::ORGANISATION_CATEGORY_UNSPECIFIED ||
        !v1::OrganisationCategory_IsValid(categories[i])) {
      return common::InvalidArgumentError(absl::StrCat("categories[", i, "]"),
                                          absl::StrCat("unknown category ", categories[i]));
    }
    values.push_back(categories[i]);
  }
  return values;
}

bool IsDigits(absl::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

double WordScore(absl::string_view name_word, absl::string_view query_word) {
  if (name_word == query_word) return 1.0;
  if (IsDigits(query_word)) return 0;  // "3" is not "30"
  const size_t length = CodePointCount(query_word);
  if (length >= 2 && absl::StartsWith(name_word, query_word)) return 0.9;
  if (length >= 4) {
    const double similarity = WordTrigramSimilarity(name_word, query_word);
    if (similarity >= 0.45) return 0.9 * similarity;
  }
  return 0;
}

}  // namespace

NameMatch MatchName(absl::string_view name, const std::vector<std::string>& query_words,
                    absl::string_view field) {
  NameMatch match;
  const std::vector<WordSpan> spans = WordSpans(name);
  std::vector<std::string> keys;
  for (const WordSpan& span : spans) {
    keys.push_back(DirectoryNameKey(name.substr(span.begin, span.end - span.begin)));
  }
  std::vector<bool> highlighted(spans.size(), false);
  double total = 0;
  for (const std::string& query_word : query_words) {
    double best = 0;
    size_t best_span = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      const double score = WordScore(keys[i], query_word);
      if (score > best) {
        best = score;
        best_span = i;
      }
    }
    if (best == 0) return NameMatch{};
    highlighted[best_span] = true;
    total += best;
  }
  match.score = query_words.empty() ? 1.0 : total / static_cast<double>(query_words.size());
  std::string marked;
  size_t written = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    if (!highlighted[i]) continue;
    absl::StrAppend(&marked, name.substr(written, spans[i].begin - written), kHighlightStart,
                    name.substr(spans[i].begin, spans[i].end - spans[i].begin), kHighlightStop);
    written = spans[i].end;
  }
  marked.append(name.data() + written, name.size() - written);
  match.snippet = SnippetFromMarkedText(field, marked);
  return match;
}

absl::StatusOr<v1::DirectoryEntry> DirectoryStore::Create(
    const v1::CreateDirectoryEntryRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  v1::DirectoryEntry entry = request.entry();
  CC_RETURN_IF_ERROR(
      NormalizeDirectoryEntry(entry, FieldSet::All(), options_.phone_region, "entry"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::DirectoryEntry> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "CreateDirectoryEntry",
                                                                  request.request_id(), request));
    if (earlier) return ParseStored<v1::DirectoryEntry>(*earlier);
    CC_RETURN_IF_ERROR(CheckExternalIdFree(txn, entry.external_id(), ""));
    CC_ASSIGN_OR_RETURN(v1::DirectoryEntry created, WriteEntry(txn, common::NewId(), entry, true));
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreateDirectoryEntry",
                                                   request.request_id(), request, created));
    return created;
  });
}

absl::StatusOr<v1::DirectoryEntry> DirectoryStore::Get(
    const v1::GetDirectoryEntryRequest& request) {
  CC_ASSIGN_OR_RETURN(const std::string id,
                      ParseResourceId(request.name(), kDirectoryEntries, "name"));
  return ReadOnly(pg_, [&](pqxx::nontransaction& query) { return LoadEntry(query, id); });
}

absl::StatusOr<v1::ListDirectoryEntriesResponse> DirectoryStore::List(
    const v1::ListDirectoryEntriesRequest& request) {
  CC_ASSIGN_OR_RETURN(
      const int32_t page_size,
      common::PageSize(request.page_size(), kListDefaultPageSize, kListMaxPageSize));
  CC_ASSIGN_OR_RETURN(const std::vector<int> categories, ParseCategories(request.categories()));
  const std::string city = FilterKey(request.city());
  const bool has_since = request.has_updated_since();
  const int64_t since = has_since ? MicrosFromTimestamp(request.updated_since()) : 0;
  v1::ListDirectoryEntriesRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("ListDirectoryEntries", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  // The cursor is the last entry's id and display name ("<id>|<name>").
  std::string cursor_id;
  std::string cursor_name;
  if (!cursor.empty()) {
    const size_t bar = cursor.find('|');
    if (bar == std::string::npos || !common::IsCanonicalUuid(cursor.substr(0, bar))) {
      return common::InvalidArgumentError("page_token", "malformed");
    }
    cursor_id = cursor.substr(0, bar);
    cursor_name = cursor.substr(bar + 1);
  }
  return ReadOnly(
      pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListDirectoryEntriesResponse> {
        pqxx::result rows = query.exec_params(
            absl::StrCat(
                "SELECT ", kEntryColumns,
                " FROM directory_entries d WHERE (cardinality($1::smallint[]) = 0 OR "
                "d.category = ANY($1::smallint[])) AND ($2 = '' OR d.city_key = $2)"
                " AND (NOT $3 OR d.update_time >= timestamptz 'epoch' + $4::bigint * interval '1 "
                "microsecond')"
                " AND ($5 = '' OR (d.display_name, d.id) > ($6, NULLIF($5, '')::uuid))"
                " ORDER BY d.display_name, d.id LIMIT $7"),
            PgIntArray(categories), city, has_since, since, cursor_id, cursor_name, page_size + 1);
        v1::ListDirectoryEntriesResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          CC_ASSIGN_OR_RETURN(*response.add_entries(), EntryFromRow(rows[i]));
        }
        if (static_cast<int>(rows.size()) > page_size) {
          const v1::DirectoryEntry& last = response.entries(page_size - 1);
          response.set_next_page_token(common::EncodePageToken(
              scope, absl::StrCat(absl::StripPrefix(last.name(), "directoryEntries/"), "|",
                                  last.display_name())));
        }
        return response;
      });
}

absl::StatusOr<v1::DirectoryEntry> DirectoryStore::Update(
    const v1::UpdateDirectoryEntryRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id,
                      ParseResourceId(request.entry().name(), kDirectoryEntries, "entry.name"));
  CC_ASSIGN_OR_RETURN(const FieldSet fields,
                      ParseUpdateMask(request.update_mask(), UpdatablePaths()));
  if (request.entry().etag().empty()) {
    return common::InvalidArgumentError("entry.etag", "is required (the etag of the last read)");
  }
  v1::DirectoryEntry changes = request.entry();
  CC_RETURN_IF_ERROR(NormalizeDirectoryEntry(changes, fields, options_.phone_region, "entry"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::DirectoryEntry> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "UpdateDirectoryEntry",
                                                                  request.request_id(), request));
    if (earlier) return ParseStored<v1::DirectoryEntry>(*earlier);
    CC_ASSIGN_OR_RETURN(v1::DirectoryEntry current, LoadEntry(txn, id, /*for_update=*/true));
    CC_RETURN_IF_ERROR(CheckEtag(changes.etag(), RevisionOf(current), current.name()));
    v1::DirectoryEntry next = current;
    const google::protobuf::Descriptor* descriptor = next.GetDescriptor();
    const google::protobuf::Reflection* reflection = next.GetReflection();
    for (const std::string& path : fields.paths()) {
      const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(path);
      reflection->ClearField(&next, field);
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(changes, field); ++i) {
          if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
            reflection->AddMessage(&next, field)
                ->CopyFrom(reflection->GetRepeatedMessage(changes, field, i));
          } else {
            reflection->AddString(&next, field, reflection->GetRepeatedString(changes, field, i));
          }
        }
      } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        if (reflection->HasField(changes, field)) {
          reflection->MutableMessage(&next, field)
              ->CopyFrom(reflection->GetMessage(changes, field));
        }
      } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
        reflection->SetEnumValue(&next, field, reflection->GetEnumValue(changes, field));
      } else {
        reflection->SetString(&next, field, reflection->GetString(changes, field));
      }
    }
    v1::DirectoryEntry result = current;
    if (!SameStoredEntry(next, current)) {
      if (next.external_id() != current.external_id()) {
        CC_RETURN_IF_ERROR(CheckExternalIdFree(txn, next.external_id(), id));
      }
      CC_ASSIGN_OR_RETURN(result, WriteEntry(txn, id, next, false));
    }
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "UpdateDirectoryEntry",
                                                   request.request_id(), request, result));
    return result;
  });
}

absl::StatusOr<google::protobuf::Empty> DirectoryStore::Delete(
    const v1::DeleteDirectoryEntryRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id,
                      ParseResourceId(request.name(), kDirectoryEntries, "name"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "DeleteDirectoryEntry",
                                                                  request.request_id(), request));
    if (earlier) return google::protobuf::Empty();
    CC_ASSIGN_OR_RETURN(v1::DirectoryEntry current, LoadEntry(txn, id, /*for_update=*/true));
    if (!request.etag().empty()) {
      CC_RETURN_IF_ERROR(CheckEtag(request.etag(), RevisionOf(current), current.name()));
    }
    txn.exec_params("DELETE FROM directory_entries WHERE id = $1::uuid", id);
    google::protobuf::Empty empty;
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "DeleteDirectoryEntry",
                                                   request.request_id(), request, empty));
    return empty;
  });
}

absl::StatusOr<v1::SearchDirectoryResponse> DirectoryStore::Search(
    const v1::SearchDirectoryRequest& request) {
  const std::string query_text = TrimText(request.query());
  if (const size_t length = CodePointCount(query_text); length > kMaxQueryLength) {
    return common::InvalidArgumentError(
        "query", absl::StrCat(length, " characters, at most ", kMaxQueryLength));
  }
  if (HasControlCharacters(query_text)) {
    return common::InvalidArgumentError("query", "must not contain control characters");
  }
  CC_ASSIGN_OR_RETURN(const std::vector<int> categories, ParseCategories(request.categories()));
  const std::string city = FilterKey(request.city());
  std::vector<std::string> words;
  if (const std::string key = DirectoryNameKey(query_text); !key.empty()) {
    words = absl::StrSplit(key, ' ');
  }
  if (words.empty() && categories.empty() && city.empty()) {
    return common::InvalidArgumentError("query",
                                        "must not be empty unless categories or city are given");
  }
  CC_ASSIGN_OR_RETURN(
      const int32_t page_size,
      common::PageSize(request.page_size(), kSearchDefaultPageSize, kSearchMaxPageSize));
  v1::SearchDirectoryRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  scope_request.clear_open_at();
  const std::string scope = PageScope("SearchDirectory", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  int offset = 0;
  if (!cursor.empty() &&
      (!absl::SimpleAtoi(cursor, &offset) || offset < 0 || offset >= kSearchMaxResults)) {
    return common::InvalidArgumentError("page_token", "malformed");
  }
  const int limit = std::min(page_size, kSearchMaxResults - offset);

  // A query of dial characters with 4+ digits also looks for phone numbers.
  std::string phone_digits;
  std::string phone_national;
  const bool dial_characters_only =
      !query_text.empty() && std::all_of(query_text.begin(), query_text.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
               c == '(' || c == ')' || c == ' ';
      });
  if (dial_characters_only && common::PhoneDigits(query_text).size() >= 4) {
    phone_digits = common::PhoneDigits(query_text);
    // "8 (495) 123-45-67" is stored as +74951234567: also look for its E.164 digits.
    if (phone_digits.size() >= 10) {
      if (auto normalized = common::NormalizePhone(query_text, options_.phone_region, "query");
          normalized.ok()) {
        phone_national = common::PhoneDigits(normalized->e164);
      }
    }
  }

  struct Hit {
    v1::DirectoryEntry entry;
    double score;
    v1::Snippet matched_name;
  };
  std::vector<Hit> hits;
  bool more = false;
  CC_RETURN_IF_ERROR(pg_.Transact([&](pqxx::work& txn) -> absl::Status {
    hits.clear();
    more = false;
    if (words.empty()) {
      // Filters only: every entry matches, in name order.
      pqxx::result rows = txn.exec_params(
          absl::StrCat("SELECT ", kEntryColumns,
                       " FROM directory_entries d WHERE (cardinality($1::smallint[]) = 0 OR "
                       "d.category = ANY($1::smallint[])) AND ($2 = '' OR d.city_key = $2)"
                       " ORDER BY d.display_name, d.id LIMIT $3 OFFSET $4"),
          PgIntArray(categories), city, limit + 1, offset);
      for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
        CC_ASSIGN_OR_RETURN(v1::DirectoryEntry entry, EntryFromRow(rows[i]));
        v1::Snippet name = SnippetFromMarkedText("display_name", entry.display_name());
        hits.push_back({std::move(entry), 1.0, std::move(name)});
      }
      more = static_cast<int>(rows.size()) > limit;
      return absl::OkStatus();
    }
    txn.exec(absl::StrCat("SET LOCAL pg_trgm.word_similarity_threshold = ", kTrigramThreshold));
    // One condition per query word, so that each can use the trigram index; the words are
    // parameters ($5...).
    std::vector<std::string> word_conditions;
    const size_t filtered = std::min(words.size(), kMaxFilteredWords);
    for (size_t i = 0; i < filtered; ++i) {
      const std::string p = absl::StrCat("$", 5 + i);
      word_conditions.push_back(
          absl::StrCat("(d.name_keys LIKE '%' || ", p, " || '%' OR ", p, " <% d.name_keys)"));
    }
    const std::string sql =
        absl::StrCat("SELECT ", kEntryColumns,
                     " FROM directory_entries d WHERE (cardinality($1::smallint[]) = 0 OR "
                     "d.category = ANY($1::smallint[])) AND ($2 = '' OR d.city_key = $2) AND ((",
                     absl::StrJoin(word_conditions, " AND "),
                     ") OR ($3 <> '' AND d.phone_digits LIKE '%' || $3 || '%')"
                     " OR ($4 <> '' AND d.phone_digits LIKE '%' || $4 || '%'))"
                     " ORDER BY word_similarity($",
                     5 + filtered, ", d.name_keys) DESC LIMIT ", kSearchCandidates);
    std::vector<std::string> parameters = {PgIntArray(categories), city, phone_digits,
                                           phone_national};
    parameters.insert(parameters.end(), words.begin(), words.begin() + filtered);
    parameters.push_back(absl::StrJoin(words, " "));
    pqxx::result rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(parameters));
    for (const pqxx::row& row : rows) {
      CC_ASSIGN_OR_RETURN(v1::DirectoryEntry entry, EntryFromRow(row));
      NameMatch best = MatchName(entry.display_name(), words, "display_name");
      for (const std::string& name : entry.alternative_names()) {
        NameMatch alternative = MatchName(name, words, "alternative_names");
        if (alternative.score > best.score) best = std::move(alternative);
      }
      if (!phone_digits.empty() && best.score < 1.0) {
        const std::string digits = PhoneDigitsOf(entry);
        if (absl::StrContains(digits, phone_digits) ||
            (!phone_national.empty() && absl::StrContains(digits, phone_national))) {
          best.score = 1.0;
          best.snippet = SnippetFromMarkedText("display_name", entry.display_name());
        }
      }
      if (best.score <= 0) continue;
      hits.push_back({std::move(entry), best.score, std::move(best.snippet)});
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.entry.display_name() != b.entry.display_name()) {
        return a.entry.display_name() < b.entry.display_name();
      }
      return a.entry.name() < b.entry.name();
    });
    const int total = static_cast<int>(hits.size());
    more = total > offset + limit;
    if (offset >= total) {
      hits.clear();
    } else {
      hits.erase(hits.begin() + std::min(total, offset + limit), hits.end());
      hits.erase(hits.begin(), hits.begin() + offset);
    }
    return absl::OkStatus();
  }));

  const absl::Time at = request.has_open_at() ? absl::FromUnixSeconds(request.open_at().seconds()) +
                                                    absl::Nanoseconds(request.open_at().nanos())
                                              : absl::Now();
  v1::SearchDirectoryResponse response;
  for (Hit& hit : hits) {
    v1::SearchDirectoryResult* result = response.add_results();
    result->set_score(hit.score);
    result->set_open_status(hit.entry.has_opening_hours()
                                ? OpenStatusAt(hit.entry.opening_hours(), at, options_.time_zone)
                                : v1::OPEN_STATUS_UNSPECIFIED);
    *result->mutable_matched_name() = std::move(hit.matched_name);
    *result->mutable_entry() = std::move(hit.entry);
  }
  if (more && offset + limit < kSearchMaxResults) {
    response.set_next_page_token(common::EncodePageToken(scope, absl::StrCat(offset + limit)));
  }
  return response;
}

// --- ImportDirectoryEntries -------------------------------------------------------------

class DirectoryStore::ImportEntries final
    : public ImportSession<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse> {
 public:
  ImportEntries(common::PgPool& pg, const DirectoryOptions& options)
      : pg_(pg),
        options_(options),
        progress_("ImportDirectoryEntries", kMaxEntriesPerImportMessage) {}

  absl::StatusOr<v1::ImportDirectoryEntriesResponse> Process(
      const v1::ImportDirectoryEntriesRequest& message) override {
    if (!progress_.begun()) {
      const v1::ImportDirectoryEntriesOptions& options = message.options();
      if (!v1::ImportMode_IsValid(options.mode())) {
        return common::InvalidArgumentError("options.mode",
                                            absl::StrCat("unknown mode ", options.mode()));
      }
      create_only_ = options.mode() == v1::IMPORT_MODE_CREATE_ONLY;
      region_ = options.region().empty() ? options_.phone_region : options.region();
      if (!common::IsKnownPhoneRegion(region_)) {
        return common::InvalidArgumentError("options.region",
                                            absl::StrCat("unknown region \"", region_, "\""));
      }
      CC_RETURN_IF_ERROR(progress_.Begin(pg_, message.request_id()));
    }
    std::vector<int64_t> numbers;
    for (const auto& item : message.items()) numbers.push_back(item.item_number());
    CC_RETURN_IF_ERROR(progress_.CheckMessage(message, numbers));

    std::vector<absl::Status> problems(message.items_size());
    std::vector<v1::DirectoryEntry> entries(message.items_size());
    for (int i = 0; i < message.items_size(); ++i) {
      if (progress_.AlreadyImported(message.items(i).item_number())) continue;
      entries[i] = StoredForm(message.items(i).entry());
      problems[i] = NormalizeDirectoryEntry(entries[i], FieldSet::All(), region_, "entry");
    }
    v1::ImportDirectoryEntriesResponse response;
    const auto pending = [&](int i) {
      return !progress_.AlreadyImported(message.items(i).item_number()) && problems[i].ok();
    };
    CC_RETURN_IF_ERROR(ApplyImportItems(
        pg_, {.count = message.items_size(),
              .pending = pending,
              .reset =
                  [&] {
                    response.Clear();
                    for (int i = 0; i < message.items_size(); ++i) {
                      v1::DirectoryEntryImportResult* result = response.add_results();
                      result->set_item_number(message.items(i).item_number());
                      if (progress_.AlreadyImported(result->item_number())) {
                        result->set_outcome(v1::IMPORT_OUTCOME_ALREADY_IMPORTED);
                      } else if (!problems[i].ok()) {
                        result->set_outcome(v1::IMPORT_OUTCOME_FAILED);
                        *result->mutable_error() = ItemErrorFromStatus(problems[i]);
                      }
                    }
                  },
              .apply =
                  [&](pqxx::transaction_base& txn, int i) {
                    v1::DirectoryEntry entry = entries[i];
                    return ApplyItem(txn, entry, *response.mutable_results(i));
                  },
              .fail =
                  [&](int i, const absl::Status& status) {
                    v1::DirectoryEntryImportResult* result = response.mutable_results(i);
                    result->set_outcome(v1::IMPORT_OUTCOME_FAILED);
                    result->clear_entry();
                    *result->mutable_error() = ItemErrorFromStatus(status);
                  },
              .finish =
                  [&](pqxx::work& txn) {
                    if (!numbers.empty()) progress_.RecordCommitted(txn, numbers.back());
                  }}));
    for (const auto& result : response.results()) progress_.Count(result.outcome());
    return response;
  }

  v1::ImportDirectoryEntriesResponse Summary() override {
    v1::ImportDirectoryEntriesResponse response;
    *response.mutable_summary() = progress_.summary();
    return response;
  }

 private:
  absl::Status ApplyItem(pqxx::transaction_base& txn, v1::DirectoryEntry& entry,
                         v1::DirectoryEntryImportResult& result) {
    pqxx::result rows =
        entry.external_id().empty()
            ? txn.exec_params(
                  "SELECT id::text FROM directory_entries WHERE display_key = $1 AND "
                  "city_key = $2 ORDER BY id LIMIT 1 FOR UPDATE",
                  FilterKey(entry.display_name()), FilterKey(entry.city()))
            : txn.exec_params(
                  "SELECT id::text FROM directory_entries WHERE external_id = $1 FOR UPDATE",
                  entry.external_id());
    if (rows.empty()) {
      CC_ASSIGN_OR_RETURN(v1::DirectoryEntry created,
                          WriteEntry(txn, common::NewId(), entry, true));
      result.set_outcome(v1::IMPORT_OUTCOME_CREATED);
      result.set_entry(created.name());
      return absl::OkStatus();
    }
    const std::string id = rows[0][0].as<std::string>();
    CC_ASSIGN_OR_RETURN(v1::DirectoryEntry current, LoadEntry(txn, id));
    result.set_entry(current.name());
    if (create_only_) {
      result.set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
      return absl::OkStatus();
    }
    // Matched by name and city: an item without an external id keeps the entry's.
    if (entry.external_id().empty()) entry.set_external_id(current.external_id());
    if (SameStoredEntry(entry, current)) {
      result.set_outcome(v1::IMPORT_OUTCOME_UNCHANGED);
      return absl::OkStatus();
    }
    CC_RETURN_IF_ERROR(WriteEntry(txn, id, entry, false).status());
    result.set_outcome(v1::IMPORT_OUTCOME_UPDATED);
    return absl::OkStatus();
  }

  common::PgPool& pg_;
  const DirectoryOptions& options_;
  ImportProgress progress_;
  bool create_only_ = false;
  std::string region_;
};

std::unique_ptr<
    ImportSession<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse>>
DirectoryStore::NewImportSession() {
  return std::make_unique<ImportEntries>(pg_, options_);
}

}  // namespace contactcentre::knowledge
