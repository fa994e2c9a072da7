#include "services/knowledge/precedent_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/page_token.h"
#include "common/status.h"
#include "services/knowledge/names.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/text.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {
namespace {

constexpr int kListDefaultPageSize = 50;
constexpr int kListMaxPageSize = 1000;
constexpr size_t kMaxSuggestText = 2000;
constexpr int kDefaultSuggestions = 5;
constexpr int kMaxSuggestions = 20;
// Candidates ranked before the final scoring: enough for any k, cheap to score.
constexpr int kFullTextCandidates = 200;
constexpr int kTrigramCandidates = 100;
// Word similarity the typed text must reach in a problem to be a trigram candidate.
constexpr char kTrigramThreshold[] = "0.3";

const std::set<std::string>& UpdatablePaths() {
  static const auto* const paths = new std::set<std::string>{
      "problem", "solution", "product", "tags", "outcome", "language", "related_articles"};
  return *paths;
}

constexpr char kPrecedentColumns[] =
    "p.id::text, p.problem, p.solution, p.product, p.tags, p.outcome, p.call, p.operator, "
    "p.language, p.related_articles, p.author_name, p.author_display_name, p.source, "
    "p.source_event, p.helpful_count, p.not_helpful_count, p.revision, " KNOWLEDGE_MICROS(
        "p.create_time") ", " KNOWLEDGE_MICROS("p.update_time");
constexpr int kPrecedentColumnCount = 19;

v1::Precedent PrecedentFromRow(const pqxx::row& row) {
  v1::Precedent precedent;
  precedent.set_name(ResourceName(kPrecedents, row[0].as<std::string>()));
  precedent.set_problem(row[1].as<std::string>());
  precedent.set_solution(row[2].as<std::string>());
  precedent.set_product(row[3].as<std::string>());
  for (std::string& tag : TextArrayField(row[4])) precedent.add_tags(std::move(tag));
  precedent.set_outcome(static_cast<v1::PrecedentOutcome>(row[5].as<int>()));
  precedent.set_call(row[6].as<std::string>());
  precedent.set_operator_(row[7].as<std::string>());
  precedent.set_language(static_cast<v1::Language>(row[8].as<int>()));
  for (std::string& article : TextArrayField(row[9])) {
    precedent.add_related_articles(std::move(article));
  }
  precedent.mutable_author()->set_name(row[10].as<std::string>());
  precedent.mutable_author()->set_display_name(row[11].as<std::string>());
  precedent.set_source(static_cast<v1::PrecedentSource>(row[12].as<int>()));
  precedent.set_source_event(row[13].as<std::string>());
  precedent.set_helpful_count(row[14].as<int32_t>());
  precedent.set_not_helpful_count(row[15].as<int32_t>());
  precedent.set_etag(FormatEtag(row[16].as<int64_t>()));
  *precedent.mutable_create_time() = TimestampFromMicros(row[17].as<int64_t>());
  *precedent.mutable_update_time() = TimestampFromMicros(row[18].as<int64_t>());
  return precedent;
}

int64_t RevisionOf(const v1::Precedent& precedent) {
  int64_t revision = 0;
  absl::string_view etag = precedent.etag();
  if (etag.size() >= 2) etag = etag.substr(1, etag.size() - 2);
  (void)absl::SimpleAtoi(etag, &revision);
  return revision;
}

template <typename T>
absl::StatusOr<T> ParseStored(const std::string& bytes) {
  T message;
  if (!message.ParseFromString(bytes)) return absl::InternalError("a stored answer is corrupt");
  return message;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

absl::StatusOr<v1::Precedent> LoadPrecedent(pqxx::transaction_base& txn, const std::string& id,
                                            bool for_update = false) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kPrecedentColumns, " FROM precedents p WHERE p.id = $1::uuid",
                   for_update ? " FOR UPDATE" : ""),
      id);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("no precedent ", ResourceName(kPrecedents, id)));
  }
  return PrecedentFromRow(rows[0]);
}

// Inserts `precedent` (already normalised, language set) and enqueues PrecedentCreated.
absl::StatusOr<v1::Precedent> InsertPrecedent(pqxx::work& txn,
                                              const common::EventPublisher& publisher,
                                              const std::string& id, const v1::Precedent& precedent,
                                              v1::PrecedentSource source,
                                              const std::string& source_event,
                                              const std::string& request_id) {
  txn.exec_params(
      "INSERT INTO precedents (id, problem, solution, product, product_key, tags, outcome, call, "
      "operator, language, related_articles, author_name, author_display_name, source, "
      "source_event, revision, create_time, update_time) VALUES ($1::uuid, $2, $3, $4, $5, "
      "$6::text[], $7, $8, $9, $10, $11::text[], $12, $13, $14, $15, 1, now(), now())",
      id, precedent.problem(), precedent.solution(), precedent.product(),
      FilterKey(precedent.product()), PgTextArray(Strings(precedent.tags())),
      static_cast<int>(precedent.outcome()), precedent.call(), precedent.operator_(),
      static_cast<int>(precedent.language()), PgTextArray(Strings(precedent.related_articles())),
      precedent.author().name(), precedent.author().display_name(), static_cast<int>(source),
      source_event);
  CC_ASSIGN_OR_RETURN(v1::Precedent created, LoadPrecedent(txn, id));
  events::v1::Event event;
  event.set_request_id(request_id);
  events::v1::PrecedentCreated* payload = event.mutable_precedent_created();
  payload->set_precedent(created.name());
  payload->set_call(created.call());
  payload->set_operator_(created.operator_());
  payload->set_product(created.product());
  CC_RETURN_IF_ERROR(common::EnqueueEvent(txn, publisher, event));
  return created;
}

v1::PrecedentOutcome OutcomeFromText(absl::string_view text) {
  const std::string key = FoldForSearch(TrimText(text));
  if (key == "resolved" || key == "solved") return v1::PRECEDENT_OUTCOME_RESOLVED;
  if (key == "workaround") return v1::PRECEDENT_OUTCOME_WORKAROUND;
  if (key == "escalated") return v1::PRECEDENT_OUTCOME_ESCALATED;
  if (key == "not_resolved" || key == "not resolved" || key == "unresolved") {
    return v1::PRECEDENT_OUTCOME_NOT_RESOLVED;
  }
  return v1::PRECEDENT_OUTCOME_UNSPECIFIED;
}

absl::Status CheckLanguageFilter(v1::Language language, absl::string_view field) {
  if (!v1::Language_IsValid(language)) {
    return common::InvalidArgumentError(field, absl::StrCat("unknown language ", language));
  }
  return absl::OkStatus();
}

// Full-text candidates and trigram candidates (typos), then one score for both, as the
// contract describes, on a scale that is the same for every call:
//   same     pg_trgm similarity of the typed text and the problem (1 for the same text)
//   typed    pg_trgm word similarity: how much of the typed text appears in the problem
//   covered  the share of the typed text's lexemes (stemmed in the precedent's language)
//            found in the problem (1), tags (0.7), solution (0.4) or product (0.2)
//   score    0.3 same + 0.7 (0.65 covered + 0.35 typed): 1 only for the same text; then
//            raised towards 1 by 10% of net / (net + 3) of the rest, where net = helpful -
//            not helpful votes, when positive.
// Parameters: $1 folded text, $2 product key or '', $3 language or 0, $4 outcomes smallint[],
// $5 k, $6 min_score, $7 and $8 headline options for problem and solution.
const std::string& SuggestSql() {
  static const auto* const sql = new std::string(absl::StrCat(
      "WITH input AS ("
      " SELECT replace(plainto_tsquery('russian', $1)::text, ' & ', ' | ')::tsquery AS ru_query,"
      " replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS en_query,"
      " tsvector_to_array(to_tsvector('russian', $1)) AS ru_words,"
      " tsvector_to_array(to_tsvector('english', $1)) AS en_words),"
      " candidates AS ("
      " (SELECT p.id FROM precedents p, input i"
      " WHERE ((p.language = 1 AND p.search_vector @@ i.ru_query)"
      " OR (p.language = 2 AND p.search_vector @@ i.en_query))"
      " AND ($2 = '' OR p.product_key = $2) AND ($3::smallint = 0 OR p.language = $3::smallint)"
      " AND p.outcome = ANY($4::smallint[])"
      " ORDER BY ts_rank(p.search_vector, CASE p.language WHEN 2 THEN i.en_query"
      " ELSE i.ru_query END) DESC LIMIT ",
      kFullTextCandidates,
      ") UNION (SELECT p.id FROM precedents p WHERE $1 <% p.problem_key"
      " AND ($2 = '' OR p.product_key = $2) AND ($3::smallint = 0 OR p.language = $3::smallint)"
      " AND p.outcome = ANY($4::smallint[])"
      " ORDER BY word_similarity($1, p.problem_key) DESC LIMIT ",
      kTrigramCandidates,
      ")),"
      " scored AS ("
      " SELECT c.id, 0.3 * similarity($1, p.problem_key) + 0.7 * ("
      " 0.65 * coalesce((SELECT sum(CASE WHEN w = ANY(l.a) THEN 1.0 WHEN w = ANY(l.b) THEN 0.7"
      " WHEN w = ANY(l.c) THEN 0.4 WHEN w = ANY(l.d) THEN 0.2 ELSE 0 END)"
      " / greatest(cardinality(l.words), 1) FROM unnest(l.words) w), 0)"
      " + 0.35 * word_similarity($1, p.problem_key)) AS base,"
      " greatest(0, p.helpful_count - p.not_helpful_count)::float8 AS net"
      " FROM candidates c JOIN precedents p ON p.id = c.id CROSS JOIN input i"
      " CROSS JOIN LATERAL (SELECT"
      " CASE p.language WHEN 2 THEN i.en_words ELSE i.ru_words END AS words,"
      " tsvector_to_array(ts_filter(p.search_vector, '{a}')) AS a,"
      " tsvector_to_array(ts_filter(p.search_vector, '{b}')) AS b,"
      " tsvector_to_array(ts_filter(p.search_vector, '{c}')) AS c,"
      " tsvector_to_array(ts_filter(p.search_vector, '{d}')) AS d) l),"
      " ranked AS ("
      " SELECT id, least(1.0, base + (1 - base) * 0.1 * net / (net + 3)) AS score FROM scored)"
      " SELECT ",
      kPrecedentColumns,
      ", r.score,"
      " ts_headline(knowledge_text_config(p.language), p.problem, CASE p.language WHEN 2 THEN"
      " i.en_query ELSE i.ru_query END, $7),"
      " ts_headline(knowledge_text_config(p.language), p.solution, CASE p.language WHEN 2 THEN"
      " i.en_query ELSE i.ru_query END, $8)"
      " FROM ranked r JOIN precedents p ON p.id = r.id CROSS JOIN input i"
      " WHERE r.score >= $6 ORDER BY r.score DESC, p.id DESC LIMIT $5"));
  return *sql;
}

}  // namespace

absl::StatusOr<v1::Precedent> PrecedentFromWrapUp(const events::v1::Event& event) {
  if (event.payload_case() != events::v1::Event::kWrapUpWritten ||
      !event.wrap_up_written().has_new_precedent()) {
    return common::InvalidArgumentError("event", "carries no new precedent");
  }
  const events::v1::WrapUpWritten& wrap_up = event.wrap_up_written();
  const events::v1::NewPrecedent& proposed = wrap_up.new_precedent();
  v1::Precedent precedent;
  precedent.set_problem(TruncateCodePoints(TrimText(proposed.problem()), kMaxProblem));
  precedent.set_solution(TruncateCodePoints(TrimText(proposed.solution()), kMaxSolution));
  if (precedent.problem().empty() || precedent.solution().empty()) {
    return common::InvalidArgumentError("new_precedent", "problem and solution are required");
  }
  if (HasControlCharacters(precedent.problem()) || HasControlCharacters(precedent.solution())) {
    return common::InvalidArgumentError("new_precedent", "texts hold control characters");
  }
  precedent.set_product(TruncateCodePoints(TrimText(proposed.product()), kMaxProduct));
  std::vector<std::string> tags;
  for (const std::string& tag : proposed.tags()) {
    std::string clean = TruncateCodePoints(LowerText(TrimText(tag)), kMaxTag);
    if (!clean.empty() && !HasControlCharacters(clean) &&
        std::find(tags.begin(), tags.end(), clean) == tags.end() &&
        static_cast<int>(tags.size()) < kMaxTags) {
      tags.push_back(std::move(clean));
    }
  }
  for (std::string& tag : tags) precedent.add_tags(std::move(tag));
  const std::string language = FoldForSearch(TrimText(proposed.language()));
  if (language == "ru") {
    precedent.set_language(v1::LANGUAGE_RU);
  } else if (language == "en") {
    precedent.set_language(v1::LANGUAGE_EN);
  } else {
    precedent.set_language(
        DetectLanguage(absl::StrCat(precedent.problem(), " ", precedent.solution())));
  }
  v1::PrecedentOutcome outcome = OutcomeFromText(proposed.outcome());
  if (outcome == v1::PRECEDENT_OUTCOME_UNSPECIFIED &&
      OutcomeFromText(wrap_up.disposition()) == v1::PRECEDENT_OUTCOME_RESOLVED) {
    outcome = v1::PRECEDENT_OUTCOME_RESOLVED;
  }
  precedent.set_outcome(outcome);
  if (CheckForeignName(wrap_up.call().call(), "calls", "call").ok()) {
    precedent.set_call(wrap_up.call().call());
  }
  if (CheckForeignName(wrap_up.call().operator_(), "operators", "operator").ok()) {
    precedent.set_operator_(wrap_up.call().operator_());
  }
  // The operator who wrote the wrap-up proposed it; without one, the consumer made it.
  precedent.mutable_author()->set_name(precedent.operator_().empty() ? "services/knowledge"
                                                                     : precedent.operator_());
  return precedent;
}

absl::StatusOr<v1::Precedent> PrecedentStore::Create(const v1::CreatePrecedentRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  v1::Precedent precedent = request.precedent();
  CC_RETURN_IF_ERROR(NormalizePrecedent(precedent, FieldSet::All(), "precedent"));
  CC_RETURN_IF_ERROR(NormalizeActor(*precedent.mutable_author(), "precedent.author"));
  if (precedent.language() == v1::LANGUAGE_UNSPECIFIED) {
    precedent.set_language(
        DetectLanguage(absl::StrCat(precedent.problem(), " ", precedent.solution())));
  }
  absl::StatusOr<v1::Precedent> result =
      pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Precedent> {
        CC_ASSIGN_OR_RETURN(
            auto earlier,
            common::FindRequestResponse(txn, "CreatePrecedent", request.request_id(), request));
        if (earlier) return ParseStored<v1::Precedent>(*earlier);
        CC_ASSIGN_OR_RETURN(v1::Precedent created,
                            InsertPrecedent(txn, events_, common::NewId(), precedent,
                                            v1::PRECEDENT_SOURCE_API, "", request.request_id()));
        CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "CreatePrecedent", request.request_id(),
                                                       request, created));
        return created;
      });
  if (result.ok()) outbox_.Notify();
  return result;
}

absl::StatusOr<v1::Precedent> PrecedentStore::Get(const v1::GetPrecedentRequest& request) {
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(request.name(), kPrecedents, "name"));
  return ReadOnly(pg_, [&](pqxx::nontransaction& query) { return LoadPrecedent(query, id); });
}

absl::StatusOr<v1::ListPrecedentsResponse> PrecedentStore::List(
    const v1::ListPrecedentsRequest& request) {
  CC_ASSIGN_OR_RETURN(
      const int32_t page_size,
      common::PageSize(request.page_size(), kListDefaultPageSize, kListMaxPageSize));
  std::vector<std::string> products;
  for (const std::string& product : request.products()) {
    if (std::string key = FilterKey(product); !key.empty()) products.push_back(key);
  }
  CC_ASSIGN_OR_RETURN(std::vector<std::string> tags, NormalizeFilterTags(request.tags(), "tags"));
  std::vector<int> outcomes;
  for (int i = 0; i < request.outcomes_size(); ++i) {
    if (!v1::PrecedentOutcome_IsValid(request.outcomes(i))) {
      return common::InvalidArgumentError(absl::StrCat("outcomes[", i, "]"),
                                          absl::StrCat("unknown outcome ", request.outcomes(i)));
    }
    outcomes.push_back(request.outcomes(i));
  }
  std::vector<int> languages;
  for (int i = 0; i < request.languages_size(); ++i) {
    if (request.languages(i) == v1::LANGUAGE_UNSPECIFIED ||
        !v1::Language_IsValid(request.languages(i))) {
      return common::InvalidArgumentError(absl::StrCat("languages[", i, "]"),
                                          absl::StrCat("unknown language ", request.languages(i)));
    }
    languages.push_back(request.languages(i));
  }
  const std::string operator_name = TrimText(request.operator_());
  CC_RETURN_IF_ERROR(CheckForeignName(operator_name, "operators", "operator"));
  const std::string call = TrimText(request.call());
  CC_RETURN_IF_ERROR(CheckForeignName(call, "calls", "call"));
  const bool has_start = request.create_time_range().has_start_time();
  const bool has_end = request.create_time_range().has_end_time();
  const int64_t start =
      has_start ? MicrosFromTimestamp(request.create_time_range().start_time()) : 0;
  const int64_t end = has_end ? MicrosFromTimestamp(request.create_time_range().end_time()) : 0;

  v1::ListPrecedentsRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("ListPrecedents", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  if (!cursor.empty() && !common::IsCanonicalUuid(cursor)) {
    return common::InvalidArgumentError("page_token", "malformed");
  }
  return ReadOnly(
      pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListPrecedentsResponse> {
        pqxx::result rows = query.exec_params(
            absl::StrCat(
                "SELECT ", kPrecedentColumns,
                " FROM precedents p WHERE (cardinality($1::text[]) = 0 OR p.product_key = ANY($1))"
                " AND p.tags @> $2::text[]"
                " AND (cardinality($3::smallint[]) = 0 OR p.outcome = ANY($3::smallint[]))"
                " AND (cardinality($4::smallint[]) = 0 OR p.language = ANY($4::smallint[]))"
                " AND ($5 = '' OR p.operator = $5) AND ($6 = '' OR p.call = $6)"
                " AND (NOT $7 OR p.create_time >= timestamptz 'epoch' + $8::bigint * interval '1 "
                "microsecond')"
                " AND (NOT $9 OR p.create_time < timestamptz 'epoch' + $10::bigint * interval '1 "
                "microsecond')"
                " AND ($11 = '' OR p.id < NULLIF($11, '')::uuid)"
                " ORDER BY p.id DESC LIMIT $12"),
            PgTextArray(products), PgTextArray(tags), PgIntArray(outcomes), PgIntArray(languages),
            operator_name, call, has_start, start, has_end, end, cursor, page_size + 1);
        v1::ListPrecedentsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_precedents() = PrecedentFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(
              common::EncodePageToken(scope, rows[page_size - 1][0].as<std::string>()));
        }
        return response;
      });
}

absl::StatusOr<v1::Precedent> PrecedentStore::Update(const v1::UpdatePrecedentRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id,
                      ParseResourceId(request.precedent().name(), kPrecedents, "precedent.name"));
  CC_ASSIGN_OR_RETURN(const FieldSet fields,
                      ParseUpdateMask(request.update_mask(), UpdatablePaths()));
  if (request.precedent().etag().empty()) {
    return common::InvalidArgumentError("precedent.etag",
                                        "is required (the etag of the last read)");
  }
  v1::Precedent changes = request.precedent();
  CC_RETURN_IF_ERROR(NormalizePrecedent(changes, fields, "precedent"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Precedent> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "UpdatePrecedent",
                                                                  request.request_id(), request));
    if (earlier) return ParseStored<v1::Precedent>(*earlier);
    CC_ASSIGN_OR_RETURN(v1::Precedent current, LoadPrecedent(txn, id, /*for_update=*/true));
    CC_RETURN_IF_ERROR(CheckEtag(changes.etag(), RevisionOf(current), current.name()));
    v1::Precedent next = current;
    if (fields.Has("problem")) next.set_problem(changes.problem());
    if (fields.Has("solution")) next.set_solution(changes.solution());
    if (fields.Has("product")) next.set_product(changes.product());
    if (fields.Has("tags")) *next.mutable_tags() = changes.tags();
    if (fields.Has("outcome")) next.set_outcome(changes.outcome());
    if (fields.Has("related_articles"))
      *next.mutable_related_articles() = changes.related_articles();
    if (fields.Has("language")) {
      next.set_language(changes.language() != v1::LANGUAGE_UNSPECIFIED
                            ? changes.language()
                            : DetectLanguage(absl::StrCat(next.problem(), " ", next.solution())));
    }
    v1::Precedent result = current;
    if (common::DeterministicBytes(next) != common::DeterministicBytes(current)) {
      txn.exec_params(
          "UPDATE precedents SET problem = $2, solution = $3, product = $4, product_key = $5, "
          "tags = $6::text[], outcome = $7, language = $8, related_articles = $9::text[], "
          "revision = revision + 1, update_time = now() WHERE id = $1::uuid",
          id, next.problem(), next.solution(), next.product(), FilterKey(next.product()),
          PgTextArray(Strings(next.tags())), static_cast<int>(next.outcome()),
          static_cast<int>(next.language()), PgTextArray(Strings(next.related_articles())));
      CC_ASSIGN_OR_RETURN(result, LoadPrecedent(txn, id));
    }
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "UpdatePrecedent", request.request_id(), request, result));
    return result;
  });
}

absl::StatusOr<google::protobuf::Empty> PrecedentStore::Delete(
    const v1::DeletePrecedentRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(request.name(), kPrecedents, "name"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "DeletePrecedent",
                                                                  request.request_id(), request));
    if (earlier) return google::protobuf::Empty();
    CC_ASSIGN_OR_RETURN(v1::Precedent current, LoadPrecedent(txn, id, /*for_update=*/true));
    if (!request.etag().empty()) {
      CC_RETURN_IF_ERROR(CheckEtag(request.etag(), RevisionOf(current), current.name()));
    }
    txn.exec_params("DELETE FROM precedents WHERE id = $1::uuid", id);
    google::protobuf::Empty empty;
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "DeletePrecedent", request.request_id(), request, empty));
    return empty;
  });
}

absl::StatusOr<v1::SuggestPrecedentsResponse> PrecedentStore::Suggest(
    const v1::SuggestPrecedentsRequest& request) {
  const std::string text = FoldForSearch(TrimText(request.text()));
  if (text.empty()) return common::InvalidArgumentError("text", "must not be empty");
  if (const size_t length = CodePointCount(text); length > kMaxSuggestText) {
    return common::InvalidArgumentError(
        "text", absl::StrCat(length, " characters, at most ", kMaxSuggestText));
  }
  if (HasControlCharacters(text)) {
    return common::InvalidArgumentError("text", "must not contain control characters");
  }
  if (request.k() < 0) return common::InvalidArgumentError("k", "must not be negative");
  const int k = request.k() == 0 ? kDefaultSuggestions : std::min(request.k(), kMaxSuggestions);
  if (!(request.min_score() >= 0 && request.min_score() <= 1)) {
    return common::InvalidArgumentError("min_score", "must be in [0, 1]");
  }
  CC_RETURN_IF_ERROR(CheckLanguageFilter(request.language(), "language"));
  std::vector<int> outcomes;
  for (int i = 0; i < request.outcomes_size(); ++i) {
    if (!v1::PrecedentOutcome_IsValid(request.outcomes(i))) {
      return common::InvalidArgumentError(absl::StrCat("outcomes[", i, "]"),
                                          absl::StrCat("unknown outcome ", request.outcomes(i)));
    }
    outcomes.push_back(request.outcomes(i));
  }
  if (outcomes.empty()) {
    outcomes = {v1::PRECEDENT_OUTCOME_UNSPECIFIED, v1::PRECEDENT_OUTCOME_RESOLVED,
                v1::PRECEDENT_OUTCOME_WORKAROUND, v1::PRECEDENT_OUTCOME_ESCALATED};
  }
  static const std::string kProblemHeadline =
      "MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=1, StartSel=\x01, StopSel=\x02";
  const std::vector<std::string> words = SearchWords(text);
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::SuggestPrecedentsResponse> {
    txn.exec(absl::StrCat("SET LOCAL pg_trgm.word_similarity_threshold = ", kTrigramThreshold));
    pqxx::result rows = txn.exec_params(SuggestSql(), text, FilterKey(request.product()),
                                        static_cast<int>(request.language()), PgIntArray(outcomes),
                                        k, request.min_score(), kProblemHeadline, kProblemHeadline);
    v1::SuggestPrecedentsResponse response;
    for (const pqxx::row& row : rows) {
      v1::SuggestedPrecedent* suggestion = response.add_results();
      *suggestion->mutable_precedent() = PrecedentFromRow(row);
      suggestion->set_score(row[kPrecedentColumnCount].as<double>());
      v1::Snippet problem =
          SnippetFromMarkedText("problem", row[kPrecedentColumnCount + 1].as<std::string>());
      const v1::Snippet solution =
          SnippetFromMarkedText("solution", row[kPrecedentColumnCount + 2].as<std::string>());
      // A typo defeats the stemmer, so ts_headline marks nothing; mark similar words instead.
      if (!HasHighlight(problem)) {
        problem = SimilarWordsSnippet("problem", suggestion->precedent().problem(), words, 35);
      }
      *suggestion->add_snippets() = problem;
      if (HasHighlight(solution)) *suggestion->add_snippets() = solution;
    }
    return response;
  });
}

absl::Status PrecedentStore::ApplyEvent(const events::v1::Event& event) {
  if (event.payload_case() != events::v1::Event::kWrapUpWritten ||
      !event.wrap_up_written().has_new_precedent()) {
    return absl::OkStatus();
  }
  if (event.id().empty()) {
    common::LogWarning("wrap-up event without an id skipped", {});
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Precedent> precedent = PrecedentFromWrapUp(event);
  bool created = false;
  absl::Status status = pg_.Transact([&](pqxx::work& txn) -> absl::Status {
    created = false;
    CC_ASSIGN_OR_RETURN(const bool first, common::MarkEventApplied(txn, event.id()));
    if (!first || !precedent.ok()) return absl::OkStatus();
    const std::string id = common::NewId();
    pqxx::result claimed = txn.exec_params(
        "INSERT INTO precedent_events (event_id, precedent_id) VALUES ($1, $2::uuid) "
        "ON CONFLICT DO NOTHING",
        event.id(), id);
    if (claimed.affected_rows() == 0) return absl::OkStatus();
    CC_RETURN_IF_ERROR(InsertPrecedent(txn, events_, id, *precedent, v1::PRECEDENT_SOURCE_WRAP_UP,
                                       event.id(), event.request_id())
                           .status());
    created = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!precedent.ok()) {
    common::LogWarning("wrap-up event's new precedent is invalid; skipped",
                       {{"event", event.id()}, {"error", precedent.status()}});
  }
  if (created) {
    outbox_.Notify();
    common::LogInfo("precedent created from a wrap-up", {{"event", event.id()}});
  }
  return absl::OkStatus();
}

}  // namespace contactcentre::knowledge
