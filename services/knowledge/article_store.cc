#include "services/knowledge/article_store.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/status.h"
#include "services/knowledge/names.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/text.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {
namespace {

constexpr int kSearchDefaultPageSize = 10;
constexpr int kSearchMaxPageSize = 50;
constexpr int kSearchMaxResults = 200;
// Matches ranked per query at most, twice over: title-or-tag matches and any matches.
constexpr int kRankedCandidates = 500;
constexpr size_t kMaxQueryLength = 256;
constexpr size_t kMaxQueryWords = 32;
constexpr int kListDefaultPageSize = 50;
constexpr int kListMaxPageSize = 1000;
constexpr int kListMaxFullPageSize = 100;
constexpr int kMaxArticlesPerImportMessage = 100;
// Word similarity (pg_trgm) of one query word in the titles and tags that makes a candidate of
// the typo fallback, and the mean similarity of all query words a result must reach.
constexpr char kFuzzyThreshold[] = "0.5";
constexpr char kFuzzyMinScore[] = "0.3";
constexpr size_t kMaxFuzzyWords = 8;

const std::set<std::string>& UpdatablePaths() {
  static const auto* const paths = new std::set<std::string>{
      "title", "summary", "body", "product", "category", "tags", "language", "external_id"};
  return *paths;
}

// Columns of an article, in the order ArticleFromRow reads them; `body` is the body column or
// '' for the BASIC view.
std::string ArticleColumns(bool with_body) {
  return absl::StrCat(
      "a.id::text, a.state, a.language, a.title, a.summary, ", with_body ? "a.body" : "''",
      ", a.product, a.category, a.tags, coalesce(a.external_id, ''), a.author_name, "
      "a.author_display_name, a.editor_name, a.editor_display_name, a.version, a.revision, "
      "a.helpful_count, a.not_helpful_count, ",
      KNOWLEDGE_MICROS("a.create_time"), ", ", KNOWLEDGE_MICROS("a.update_time"), ", coalesce(",
      KNOWLEDGE_MICROS("a.publish_time"), ", -1)");
}
constexpr int kArticleColumnCount = 21;

v1::Article ArticleFromRow(const pqxx::row& row, int first = 0) {
  v1::Article article;
  const auto at = [&](int i) { return row[first + i]; };
  const std::string id = at(0).as<std::string>();
  article.set_name(ResourceName(kArticles, id));
  article.set_state(static_cast<v1::ArticleState>(at(1).as<int>()));
  article.set_language(static_cast<v1::Language>(at(2).as<int>()));
  article.set_title(at(3).as<std::string>());
  article.set_summary(at(4).as<std::string>());
  article.set_body(at(5).as<std::string>());
  article.set_product(at(6).as<std::string>());
  article.set_category(at(7).as<std::string>());
  for (std::string& tag : TextArrayField(at(8))) article.add_tags(std::move(tag));
  article.set_external_id(at(9).as<std::string>());
  article.mutable_author()->set_name(at(10).as<std::string>());
  article.mutable_author()->set_display_name(at(11).as<std::string>());
  article.mutable_last_editor()->set_name(at(12).as<std::string>());
  article.mutable_last_editor()->set_display_name(at(13).as<std::string>());
  article.set_version(at(14).as<int32_t>());
  article.set_etag(FormatEtag(at(15).as<int64_t>()));
  article.set_helpful_count(at(16).as<int32_t>());
  article.set_not_helpful_count(at(17).as<int32_t>());
  *article.mutable_create_time() = TimestampFromMicros(at(18).as<int64_t>());
  *article.mutable_update_time() = TimestampFromMicros(at(19).as<int64_t>());
  if (const int64_t published = at(20).as<int64_t>(); published != -1) {
    *article.mutable_publish_time() = TimestampFromMicros(published);
  }
  return article;
}

std::string VersionColumns(bool with_body) {
  return absl::StrCat("v.article_id::text, v.version, v.title, v.summary, ",
                      with_body ? "v.body" : "''",
                      ", v.product, v.category, v.tags, v.language, v.editor_name, "
                      "v.editor_display_name, v.change_note, ",
                      KNOWLEDGE_MICROS("v.create_time"));
}

v1::ArticleVersion VersionFromRow(const pqxx::row& row) {
  v1::ArticleVersion version;
  version.set_version(row[1].as<int32_t>());
  version.set_name(ArticleVersionName(row[0].as<std::string>(), version.version()));
  version.set_title(row[2].as<std::string>());
  version.set_summary(row[3].as<std::string>());
  version.set_body(row[4].as<std::string>());
  version.set_product(row[5].as<std::string>());
  version.set_category(row[6].as<std::string>());
  for (std::string& tag : TextArrayField(row[7])) version.add_tags(std::move(tag));
  version.set_language(static_cast<v1::Language>(row[8].as<int>()));
  version.mutable_editor()->set_name(row[9].as<std::string>());
  version.mutable_editor()->set_display_name(row[10].as<std::string>());
  version.set_change_note(row[11].as<std::string>());
  *version.mutable_create_time() = TimestampFromMicros(row[12].as<int64_t>());
  return version;
}

std::vector<std::string> Tags(const v1::Article& article) {
  return {article.tags().begin(), article.tags().end()};
}

bool SameContent(const v1::Article& a, const v1::Article& b) {
  return a.title() == b.title() && a.summary() == b.summary() && a.body() == b.body() &&
         a.product() == b.product() && a.category() == b.category() && Tags(a) == Tags(b) &&
         a.language() == b.language();
}

template <typename T>
absl::StatusOr<T> ParseStored(const std::string& bytes) {
  T message;
  if (!message.ParseFromString(bytes)) return absl::InternalError("a stored answer is corrupt");
  return message;
}

absl::StatusOr<v1::Article> LoadArticle(pqxx::transaction_base& txn, const std::string& id,
                                        bool with_body, bool for_update = false) {
  pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", ArticleColumns(with_body), " FROM articles a WHERE a.id = $1::uuid",
                   for_update ? " FOR UPDATE" : ""),
      id);
  if (rows.empty())
    return absl::NotFoundError(absl::StrCat("no article ", ResourceName(kArticles, id)));
  return ArticleFromRow(rows[0]);
}

int64_t RevisionOf(const v1::Article& article) {
  int64_t revision = 0;
  absl::string_view etag = article.etag();
  etag = absl::StripPrefix(absl::StripSuffix(etag, "\""), "\"");
  (void)absl::SimpleAtoi(etag, &revision);
  return revision;
}

// ALREADY_EXISTS "article.external_id" when another article than `self_id` has it.
absl::Status CheckExternalIdFree(pqxx::transaction_base& txn, const std::string& external_id,
                                 const std::string& self_id, absl::string_view field) {
  if (external_id.empty()) return absl::OkStatus();
  pqxx::result rows =
      txn.exec_params("SELECT id::text FROM articles WHERE external_id = $1 AND id::text <> $2",
                      external_id, self_id);
  if (rows.empty()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(field, ": ",
                                               ResourceName(kArticles, rows[0][0].c_str()),
                                               " already has external_id \"", external_id, "\""));
}

// Inserts a new article as version 1 and returns it.
absl::StatusOr<v1::Article> InsertArticle(pqxx::transaction_base& txn, const v1::Article& article,
                                          v1::ArticleState state, const common::v1::Actor& author,
                                          const common::v1::Actor& editor,
                                          const std::string& change_note) {
  const std::string id = common::NewId();
  txn.exec_params(
      "INSERT INTO articles (id, state, language, title, summary, body, body_plain, product, "
      "product_key, category, category_key, tags, external_id, author_name, author_display_name, "
      "editor_name, editor_display_name, version, revision, create_time, update_time, "
      "publish_time) VALUES ($1::uuid, $2::smallint, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
      "$12::text[], "
      "NULLIF($13, ''), $14, $15, $16, $17, 1, 1, now(), now(), "
      "CASE WHEN $2::smallint = 2 THEN now() END)",
      id, static_cast<int>(state), static_cast<int>(article.language()), article.title(),
      article.summary(), article.body(), MarkdownToPlainText(article.body()), article.product(),
      FilterKey(article.product()), article.category(), FilterKey(article.category()),
      PgTextArray(Tags(article)), article.external_id(), author.name(), author.display_name(),
      editor.name(), editor.display_name());
  txn.exec_params(
      "INSERT INTO article_versions (article_id, version, title, summary, body, product, "
      "category, tags, language, editor_name, editor_display_name, change_note, create_time) "
      "SELECT id, version, title, summary, body, product, category, tags, language, editor_name, "
      "editor_display_name, $2, update_time FROM articles WHERE id = $1::uuid",
      id, change_note);
  return LoadArticle(txn, id, true);
}

// Replaces the content of `current` with that of `content` as a new version; a published
// article publishes it at once.
absl::StatusOr<v1::Article> WriteNewVersion(pqxx::transaction_base& txn, const v1::Article& current,
                                            const v1::Article& content,
                                            const common::v1::Actor& editor,
                                            const std::string& change_note) {
  if (current.version() >= kMaxArticleVersions) {
    return absl::ResourceExhaustedError(absl::StrCat(current.name(), " already has ",
                                                     current.version(), " versions, at most ",
                                                     kMaxArticleVersions));
  }
  const std::string id(absl::StripPrefix(current.name(), "articles/"));
  txn.exec_params(
      "UPDATE articles SET language = $2, title = $3, summary = $4, body = $5, body_plain = $6, "
      "product = $7, product_key = $8, category = $9, category_key = $10, tags = $11::text[], "
      "editor_name = $12, editor_display_name = $13, version = version + 1, "
      "revision = revision + 1, update_time = now(), "
      "publish_time = CASE WHEN state = 2 THEN now() ELSE publish_time END "
      "WHERE id = $1::uuid",
      id, static_cast<int>(content.language()), content.title(), content.summary(), content.body(),
      MarkdownToPlainText(content.body()), content.product(), FilterKey(content.product()),
      content.category(), FilterKey(content.category()), PgTextArray(Tags(content)), editor.name(),
      editor.display_name());
  txn.exec_params(
      "INSERT INTO article_versions (article_id, version, title, summary, body, product, "
      "category, tags, language, editor_name, editor_display_name, change_note, create_time) "
      "SELECT id, version, title, summary, body, product, category, tags, language, editor_name, "
      "editor_display_name, $2, update_time FROM articles WHERE id = $1::uuid",
      id, change_note);
  return LoadArticle(txn, id, true);
}

absl::StatusOr<v1::Article> SetExternalId(pqxx::transaction_base& txn, const v1::Article& current,
                                          const std::string& external_id) {
  const std::string id(absl::StripPrefix(current.name(), "articles/"));
  txn.exec_params(
      "UPDATE articles SET external_id = NULLIF($2, ''), revision = revision + 1, "
      "update_time = now() WHERE id = $1::uuid",
      id, external_id);
  return LoadArticle(txn, id, true);
}

absl::StatusOr<v1::Article> SetState(pqxx::transaction_base& txn, const std::string& id,
                                     v1::ArticleState state) {
  txn.exec_params(
      "UPDATE articles SET state = $2::smallint, revision = revision + 1, update_time = now(), "
      "publish_time = CASE WHEN $2::smallint = 2 THEN now() ELSE publish_time END "
      "WHERE id = $1::uuid",
      id, static_cast<int>(state));
  return LoadArticle(txn, id, true);
}

absl::Status CheckState(v1::ArticleState state, absl::string_view field, bool allow_archived) {
  if (!v1::ArticleState_IsValid(state)) {
    return common::InvalidArgumentError(field, absl::StrCat("unknown state ", state));
  }
  if (state == v1::ARTICLE_STATE_ARCHIVED && !allow_archived) {
    return common::InvalidArgumentError(
        field, "must be DRAFT or PUBLISHED when creating (archive with ArchiveArticle)");
  }
  return absl::OkStatus();
}

absl::Status CheckView(v1::ArticleView view) {
  if (!v1::ArticleView_IsValid(view)) {
    return common::InvalidArgumentError("view", absl::StrCat("unknown view ", view));
  }
  return absl::OkStatus();
}

// The filters ListArticles and SearchArticles share, ready for SQL.
struct ArticleFilters {
  std::string products;    // text[] of product keys
  std::string categories;  // text[] of category keys
  std::string languages;   // smallint[]
  std::string states;      // smallint[]
  std::string tags;        // text[]
};

absl::StatusOr<ArticleFilters> ParseFilters(
    const google::protobuf::RepeatedPtrField<std::string>& products,
    const google::protobuf::RepeatedPtrField<std::string>& categories,
    const google::protobuf::RepeatedField<int>& languages,
    const google::protobuf::RepeatedField<int>& states,
    const google::protobuf::RepeatedPtrField<std::string>& tags, std::vector<int> default_states) {
  ArticleFilters filters;
  std::vector<std::string> product_keys;
  for (const std::string& product : products) {
    if (std::string key = FilterKey(product); !key.empty()) product_keys.push_back(key);
  }
  filters.products = PgTextArray(product_keys);
  std::vector<std::string> category_keys;
  for (const std::string& category : categories) {
    std::string key = FilterKey(category);
    absl::string_view trimmed = key;
    while (absl::ConsumePrefix(&trimmed, "/")) {
    }
    while (absl::ConsumeSuffix(&trimmed, "/")) {
    }
    if (!trimmed.empty()) category_keys.emplace_back(trimmed);
  }
  filters.categories = PgTextArray(category_keys);
  std::vector<int> language_values;
  for (int i = 0; i < languages.size(); ++i) {
    if (languages[i] == v1::LANGUAGE_UNSPECIFIED || !v1::Language_IsValid(languages[i])) {
      return common::InvalidArgumentError(absl::StrCat("languages[", i, "]"),
                                          absl::StrCat("unknown language ", languages[i]));
    }
    language_values.push_back(languages[i]);
  }
  filters.languages = PgIntArray(language_values);
  std::vector<int> state_values;
  for (int i = 0; i < states.size(); ++i) {
    if (states[i] == v1::ARTICLE_STATE_UNSPECIFIED || !v1::ArticleState_IsValid(states[i])) {
      return common::InvalidArgumentError(absl::StrCat("states[", i, "]"),
                                          absl::StrCat("unknown state ", states[i]));
    }
    state_values.push_back(states[i]);
  }
  filters.states = PgIntArray(state_values.empty() ? default_states : state_values);
  CC_ASSIGN_OR_RETURN(std::vector<std::string> tag_values, NormalizeFilterTags(tags, "tags"));
  filters.tags = PgTextArray(tag_values);
  return filters;
}

// The SQL condition of ArticleFilters on `articles a`, parameters from $first on:
// states, products, categories, languages, tags.
std::string FilterSql(int first) {
  const auto p = [&](int i) { return absl::StrCat("$", first + i); };
  return absl::StrCat(
      "a.state = ANY(", p(0), "::smallint[]) AND (cardinality(", p(1),
      "::text[]) = 0 OR a.product_key = ANY(", p(1), "::text[])) AND (cardinality(", p(2),
      "::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest(", p(2),
      "::text[]) c WHERE a.category_key = c OR starts_with(a.category_key, c || '/'))) AND "
      "(cardinality(",
      p(3), "::smallint[]) = 0 OR a.language = ANY(", p(3), "::smallint[])) AND a.tags @> ", p(4),
      "::text[]");
}

// The words of the typo fallback: those of the query without web-search operators (OR,
// -excluded words, quotes), folded, de-duplicated; words under 3 letters only when there is
// nothing else (their few trigrams resemble everything).
std::vector<std::string> FuzzyQueryWords(absl::string_view query) {
  std::vector<std::string> words;
  std::vector<std::string> short_words;
  for (absl::string_view token : absl::StrSplit(query, ' ', absl::SkipWhitespace())) {
    if (token == "OR" || token == "or" || absl::StartsWith(token, "-")) continue;
    for (std::string& word : SearchWords(token)) {
      std::vector<std::string>& list = CodePointCount(word) >= 3 ? words : short_words;
      if (std::find(list.begin(), list.end(), word) == list.end()) list.push_back(std::move(word));
    }
  }
  if (words.empty()) words = std::move(short_words);
  if (words.size() > kMaxFuzzyWords) words.resize(kMaxFuzzyWords);
  return words;
}

// The words a web-search query excludes ("-word"), as a query of alternatives: "a OR b".
std::string ExcludedWords(absl::string_view query) {
  std::vector<std::string> words;
  for (absl::string_view token : absl::StrSplit(query, ' ', absl::SkipWhitespace())) {
    if (!absl::ConsumePrefix(&token, "-")) continue;
    for (std::string& word : SearchWords(token)) words.push_back(std::move(word));
  }
  return absl::StrJoin(words, " OR ");
}

absl::Status CheckQuery(const std::string& query) {
  if (query.empty()) return common::InvalidArgumentError("query", "must not be empty");
  if (const size_t length = CodePointCount(query); length > kMaxQueryLength) {
    return common::InvalidArgumentError(
        "query", absl::StrCat(length, " characters, at most ", kMaxQueryLength));
  }
  const std::vector<absl::string_view> words = absl::StrSplit(query, ' ', absl::SkipWhitespace());
  if (words.size() > kMaxQueryWords) {
    return common::InvalidArgumentError(
        "query", absl::StrCat(words.size(), " words, at most ", kMaxQueryWords));
  }
  if (HasControlCharacters(query)) {
    return common::InvalidArgumentError("query", "must not contain control characters");
  }
  return absl::OkStatus();
}

}  // namespace

const std::string& ArticleStore::TitleHeadlineOptions() {
  static const auto* const options =
      new std::string("HighlightAll=true, StartSel=\x01, StopSel=\x02");
  return *options;
}

const std::string& ArticleStore::BodyHeadlineOptions() {
  static const auto* const options = new std::string(
      "MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=1, StartSel=\x01, StopSel=\x02");
  return *options;
}

const std::string& ArticleStore::FullTextSearchSql() {
  // Each article is matched with the configuration of its own language; the @@ conditions are
  // what the GIN indexes answer. Ranking as the contract describes: ts_rank_cd normalised by
  // document length, times the helpfulness factor.
  //
  // Ranking reads every ranked row's vector, so a word found in tens of thousands of articles
  // would cost hundreds of milliseconds. The candidates are therefore bounded: up to
  // kRankedCandidates articles whose title or tags match, and up to as many matching anywhere;
  // below that bound (any specific query) every match is ranked and the order is exact.
  const auto match = [](absl::string_view vector) {
    return absl::StrCat("((a.language = 1 AND a.", vector,
                        " @@ websearch_to_tsquery('russian', $1)) OR (a.language = 2 AND a.",
                        vector, " @@ websearch_to_tsquery('english', $1)))");
  };
  static const auto* const sql = new std::string(absl::StrCat(
      "WITH candidates AS ("
      "(SELECT a.id FROM articles a WHERE ",
      match("head_vector"), " AND ", match("search_vector"), " AND ", FilterSql(2), " LIMIT ",
      kRankedCandidates, ") UNION (SELECT a.id FROM articles a WHERE ", match("search_vector"),
      " AND ", FilterSql(2), " LIMIT ", kRankedCandidates,
      ")), hits AS ("
      " SELECT a.id, ts_rank_cd(a.search_vector, CASE a.language WHEN 2 THEN "
      "websearch_to_tsquery('english', $1) ELSE websearch_to_tsquery('russian', $1) END, 1)"
      " * (1 + 0.1 * ln(1 + greatest(0, a.helpful_count - a.not_helpful_count))) AS score"
      " FROM candidates c JOIN articles a ON a.id = c.id"
      " ORDER BY score DESC, a.id LIMIT $7 OFFSET $8) "
      "SELECT ",
      ArticleColumns(false),
      ", CASE WHEN $9 THEN a.body ELSE '' END, h.score,"
      " ts_headline(knowledge_text_config(a.language), a.title, q.query, $10),"
      " CASE WHEN a.summary = '' THEN '' ELSE"
      " ts_headline(knowledge_text_config(a.language), a.summary, q.query, $11) END,"
      " ts_headline(knowledge_text_config(a.language), a.body_plain, q.query, $11)"
      " FROM hits h JOIN articles a ON a.id = h.id"
      " CROSS JOIN LATERAL (SELECT CASE a.language WHEN 2 THEN websearch_to_tsquery('english', "
      "$1) ELSE websearch_to_tsquery('russian', $1) END AS query) q"
      " ORDER BY h.score DESC, h.id"));
  return *sql;
}

absl::StatusOr<v1::Article> ArticleStore::Create(const v1::CreateArticleRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  v1::Article article = request.article();
  CC_RETURN_IF_ERROR(NormalizeArticle(article, FieldSet::All(), "article"));
  CC_RETURN_IF_ERROR(CheckState(article.state(), "article.state", false));
  const v1::ArticleState state =
      article.state() == v1::ARTICLE_STATE_UNSPECIFIED ? v1::ARTICLE_STATE_DRAFT : article.state();
  common::v1::Actor author = article.author();
  CC_RETURN_IF_ERROR(NormalizeActor(author, "article.author"));
  std::string change_note = request.change_note();
  CC_RETURN_IF_ERROR(NormalizeText(&change_note, "change_note", kMaxChangeNote, false));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Article> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "CreateArticle",
                                                                  request.request_id(), request));
    if (earlier) return ParseStored<v1::Article>(*earlier);
    CC_RETURN_IF_ERROR(CheckExternalIdFree(txn, article.external_id(), "", "article.external_id"));
    CC_ASSIGN_OR_RETURN(v1::Article created,
                        InsertArticle(txn, article, state, author, author, change_note));
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "CreateArticle", request.request_id(), request, created));
    return created;
  });
}

absl::StatusOr<v1::Article> ArticleStore::Get(const v1::GetArticleRequest& request) {
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(request.name(), kArticles, "name"));
  CC_RETURN_IF_ERROR(CheckView(request.view()));
  const bool with_body = request.view() != v1::ARTICLE_VIEW_BASIC;
  return ReadOnly(pg_,
                  [&](pqxx::nontransaction& query) { return LoadArticle(query, id, with_body); });
}

absl::StatusOr<v1::ListArticlesResponse> ArticleStore::List(
    const v1::ListArticlesRequest& request) {
  CC_RETURN_IF_ERROR(CheckView(request.view()));
  const bool with_body = request.view() == v1::ARTICLE_VIEW_FULL;
  CC_ASSIGN_OR_RETURN(const int32_t page_size,
                      common::PageSize(request.page_size(), kListDefaultPageSize,
                                       with_body ? kListMaxFullPageSize : kListMaxPageSize));
  CC_ASSIGN_OR_RETURN(ArticleFilters filters,
                      ParseFilters(request.products(), request.categories(), request.languages(),
                                   request.states(), request.tags(), {1, 2, 3}));
  v1::ListArticlesRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("ListArticles", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  // The cursor is the last row's update time (as PostgreSQL prints it, so it compares
  // exactly) and id.
  std::string cursor_time;
  std::string cursor_id;
  if (!cursor.empty()) {
    const size_t bar = cursor.find('|');
    if (bar == std::string::npos) return common::InvalidArgumentError("page_token", "malformed");
    cursor_time = cursor.substr(0, bar);
    cursor_id = cursor.substr(bar + 1);
    if (!common::IsCanonicalUuid(cursor_id)) {
      return common::InvalidArgumentError("page_token", "malformed");
    }
  }
  const bool has_since = request.has_updated_since();
  const int64_t since = has_since ? MicrosFromTimestamp(request.updated_since()) : 0;
  return ReadOnly(
      pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListArticlesResponse> {
        pqxx::result rows = query.exec_params(
            absl::StrCat("SELECT ", ArticleColumns(with_body),
                         ", a.update_time::text FROM articles a WHERE ", FilterSql(1),
                         " AND ($6 = '' OR (a.update_time, a.id) < (NULLIF($6, '')::timestamptz, "
                         "NULLIF($7, '')::uuid))"
                         " AND (NOT $8 OR a.update_time >= timestamptz 'epoch' + $9::bigint * "
                         "interval '1 microsecond')"
                         " ORDER BY a.update_time DESC, a.id DESC LIMIT $10"),
            filters.states, filters.products, filters.categories, filters.languages, filters.tags,
            cursor_time, cursor_id, has_since, since, page_size + 1);
        v1::ListArticlesResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_articles() = ArticleFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          const pqxx::row& last = rows[page_size - 1];
          response.set_next_page_token(common::EncodePageToken(
              scope, absl::StrCat(last[kArticleColumnCount].c_str(), "|", last[0].c_str())));
        }
        return response;
      });
}

absl::StatusOr<v1::Article> ArticleStore::Update(const v1::UpdateArticleRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id,
                      ParseResourceId(request.article().name(), kArticles, "article.name"));
  CC_ASSIGN_OR_RETURN(const FieldSet fields,
                      ParseUpdateMask(request.update_mask(), UpdatablePaths(), {"state"},
                                      "use PublishArticle or ArchiveArticle"));
  if (request.article().etag().empty()) {
    return common::InvalidArgumentError("article.etag", "is required (the etag of the last read)");
  }
  v1::Article changes = request.article();
  CC_RETURN_IF_ERROR(NormalizeArticle(changes, fields, "article"));
  // No authentication yet: the editor is who the request says, as the author is on create.
  common::v1::Actor editor = changes.last_editor();
  CC_RETURN_IF_ERROR(NormalizeActor(editor, "article.last_editor"));
  std::string change_note = request.change_note();
  CC_RETURN_IF_ERROR(NormalizeText(&change_note, "change_note", kMaxChangeNote, false));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Article> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "UpdateArticle",
                                                                  request.request_id(), request));
    if (earlier) return ParseStored<v1::Article>(*earlier);
    CC_ASSIGN_OR_RETURN(v1::Article current, LoadArticle(txn, id, true, /*for_update=*/true));
    CC_RETURN_IF_ERROR(CheckEtag(changes.etag(), RevisionOf(current), current.name()));
    v1::Article content = current;
    if (fields.Has("title")) content.set_title(changes.title());
    if (fields.Has("summary")) content.set_summary(changes.summary());
    if (fields.Has("body")) content.set_body(changes.body());
    if (fields.Has("product")) content.set_product(changes.product());
    if (fields.Has("category")) content.set_category(changes.category());
    if (fields.Has("tags")) *content.mutable_tags() = changes.tags();
    if (fields.Has("language")) content.set_language(changes.language());
    v1::Article result = current;
    if (fields.Has("external_id") && changes.external_id() != current.external_id()) {
      CC_RETURN_IF_ERROR(
          CheckExternalIdFree(txn, changes.external_id(), id, "article.external_id"));
      CC_ASSIGN_OR_RETURN(result, SetExternalId(txn, current, changes.external_id()));
    }
    if (!SameContent(content, current)) {
      CC_ASSIGN_OR_RETURN(result, WriteNewVersion(txn, result, content, editor, change_note));
    }
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "UpdateArticle", request.request_id(), request, result));
    return result;
  });
}

absl::StatusOr<v1::Article> ArticleStore::ChangeState(absl::string_view method,
                                                      const std::string& name,
                                                      const std::string& etag,
                                                      const std::string& request_id,
                                                      const google::protobuf::Message& request,
                                                      v1::ArticleState target) {
  CC_RETURN_IF_ERROR(CheckRequestId(request_id));
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(name, kArticles, "name"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Article> {
    CC_ASSIGN_OR_RETURN(auto earlier,
                        common::FindRequestResponse(txn, method, request_id, request));
    if (earlier) return ParseStored<v1::Article>(*earlier);
    CC_ASSIGN_OR_RETURN(v1::Article current, LoadArticle(txn, id, true, /*for_update=*/true));
    if (!etag.empty()) CC_RETURN_IF_ERROR(CheckEtag(etag, RevisionOf(current), current.name()));
    v1::Article result = current;
    if (current.state() != target) {
      CC_ASSIGN_OR_RETURN(result, SetState(txn, id, target));
    }
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, method, request_id, request, result));
    return result;
  });
}

absl::StatusOr<v1::Article> ArticleStore::Publish(const v1::PublishArticleRequest& request) {
  return ChangeState("PublishArticle", request.name(), request.etag(), request.request_id(),
                     request, v1::ARTICLE_STATE_PUBLISHED);
}

absl::StatusOr<v1::Article> ArticleStore::Archive(const v1::ArchiveArticleRequest& request) {
  return ChangeState("ArchiveArticle", request.name(), request.etag(), request.request_id(),
                     request, v1::ARTICLE_STATE_ARCHIVED);
}

absl::StatusOr<google::protobuf::Empty> ArticleStore::Delete(
    const v1::DeleteArticleRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(request.name(), kArticles, "name"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "DeleteArticle",
                                                                  request.request_id(), request));
    if (earlier) return google::protobuf::Empty();
    CC_ASSIGN_OR_RETURN(v1::Article current, LoadArticle(txn, id, false, /*for_update=*/true));
    if (!request.etag().empty()) {
      CC_RETURN_IF_ERROR(CheckEtag(request.etag(), RevisionOf(current), current.name()));
    }
    if (current.state() == v1::ARTICLE_STATE_PUBLISHED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ARTICLE_PUBLISHED: ", current.name(),
          " is published; archive it first so that nothing operators rely on disappears"));
    }
    txn.exec_params("DELETE FROM articles WHERE id = $1::uuid", id);
    google::protobuf::Empty empty;
    CC_RETURN_IF_ERROR(
        common::SaveRequestResponse(txn, "DeleteArticle", request.request_id(), request, empty));
    return empty;
  });
}

absl::StatusOr<v1::ListArticleVersionsResponse> ArticleStore::ListVersions(
    const v1::ListArticleVersionsRequest& request) {
  CC_ASSIGN_OR_RETURN(const std::string id, ParseResourceId(request.parent(), kArticles, "parent"));
  CC_RETURN_IF_ERROR(CheckView(request.view()));
  const bool with_body = request.view() == v1::ARTICLE_VIEW_FULL;
  CC_ASSIGN_OR_RETURN(const int32_t page_size,
                      common::PageSize(request.page_size(), kListDefaultPageSize,
                                       with_body ? kListMaxFullPageSize : kListMaxPageSize));
  v1::ListArticleVersionsRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("ListArticleVersions", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  int32_t before = INT32_MAX;
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &before)) {
    return common::InvalidArgumentError("page_token", "malformed");
  }
  return ReadOnly(
      pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListArticleVersionsResponse> {
        if (query.exec_params("SELECT 1 FROM articles WHERE id = $1::uuid", id).empty()) {
          return absl::NotFoundError(absl::StrCat("no article ", request.parent()));
        }
        pqxx::result rows = query.exec_params(
            absl::StrCat("SELECT ", VersionColumns(with_body),
                         " FROM article_versions v WHERE v.article_id = $1::uuid AND v.version < $2"
                         " ORDER BY v.version DESC LIMIT $3"),
            id, before, page_size + 1);
        v1::ListArticleVersionsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_versions() = VersionFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(common::EncodePageToken(
              scope, absl::StrCat(response.versions(page_size - 1).version())));
        }
        return response;
      });
}

absl::StatusOr<v1::ArticleVersion> ArticleStore::GetVersion(
    const v1::GetArticleVersionRequest& request) {
  CC_ASSIGN_OR_RETURN(const ArticleVersionRef ref, ParseArticleVersionName(request.name(), "name"));
  return ReadOnly(pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ArticleVersion> {
    pqxx::result rows = query.exec_params(
        absl::StrCat("SELECT ", VersionColumns(true),
                     " FROM article_versions v WHERE v.article_id = $1::uuid AND v.version = $2"),
        ref.article_id, ref.version);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("no article version ", request.name()));
    }
    return VersionFromRow(rows[0]);
  });
}

absl::StatusOr<v1::SearchArticlesResponse> ArticleStore::Search(
    const v1::SearchArticlesRequest& request) {
  const std::string query_text = FoldForSearch(TrimText(request.query()));
  CC_RETURN_IF_ERROR(CheckQuery(query_text));
  CC_RETURN_IF_ERROR(CheckView(request.view()));
  const bool with_body = request.view() == v1::ARTICLE_VIEW_FULL;
  CC_ASSIGN_OR_RETURN(
      const int32_t page_size,
      common::PageSize(request.page_size(), kSearchDefaultPageSize, kSearchMaxPageSize));
  CC_ASSIGN_OR_RETURN(
      ArticleFilters filters,
      ParseFilters(request.products(), request.categories(), request.languages(), request.states(),
                   request.tags(), {v1::ARTICLE_STATE_PUBLISHED}));
  v1::SearchArticlesRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("SearchArticles", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  // The cursor: "f" (full text) or "t" (trigram fallback), then the offset.
  bool fuzzy = false;
  int offset = 0;
  if (!cursor.empty()) {
    if ((cursor[0] != 'f' && cursor[0] != 't') ||
        !absl::SimpleAtoi(absl::string_view(cursor).substr(1), &offset) || offset < 0 ||
        offset >= kSearchMaxResults) {
      return common::InvalidArgumentError("page_token", "malformed");
    }
    fuzzy = cursor[0] == 't';
  }
  const int limit = std::min(page_size, kSearchMaxResults - offset);
  v1::SearchArticlesResponse response;
  bool more = false;
  if (!fuzzy) {
    CC_RETURN_IF_ERROR(ReadOnly(pg_, [&](pqxx::nontransaction& query) -> absl::Status {
      // Planned on every call, not prepared: a generic plan cannot choose between an index scan
      // (rare words) and a scan that stops at the candidate limit (frequent words), and measured
      // slower than the 2 ms of planning it saves.
      pqxx::result rows =
          query.exec_params(FullTextSearchSql(), query_text, filters.states, filters.products,
                            filters.categories, filters.languages, filters.tags, limit + 1, offset,
                            with_body, TitleHeadlineOptions(), BodyHeadlineOptions());
      for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
        const pqxx::row& row = rows[i];
        v1::SearchArticlesResult* result = response.add_results();
        *result->mutable_article() = ArticleFromRow(row);
        result->mutable_article()->set_body(row[kArticleColumnCount].as<std::string>());
        result->set_score(row[kArticleColumnCount + 1].as<double>());
        const v1::Snippet title =
            SnippetFromMarkedText("title", row[kArticleColumnCount + 2].as<std::string>());
        const v1::Snippet summary =
            SnippetFromMarkedText("summary", row[kArticleColumnCount + 3].as<std::string>());
        const v1::Snippet body =
            SnippetFromMarkedText("body", row[kArticleColumnCount + 4].as<std::string>());
        for (const v1::Snippet* snippet : {&title, &summary, &body}) {
          if (HasHighlight(*snippet)) *result->add_snippets() = *snippet;
        }
        // Matched only in tags, product or category: the opening of the text still says
        // what the article is about.
        if (result->snippets_size() == 0) {
          *result->add_snippets() = body.segments_size() > 0 ? body : summary;
        }
      }
      more = static_cast<int>(rows.size()) > limit;
      return absl::OkStatus();
    }));
    if (response.results_size() == 0 && offset == 0) fuzzy = true;
  }
  if (fuzzy) {
    response.set_fuzzy_fallback_used(true);
    const std::vector<std::string> query_words = FuzzyQueryWords(query_text);
    if (!query_words.empty()) {
      // Word by word: a typo in one word must not sink the others, and words may come in any
      // order. One condition per word lets the trigram index answer each (a BitmapOr).
      std::vector<std::string> conditions;
      std::vector<std::string> similarities;
      for (size_t i = 0; i < query_words.size(); ++i) {
        const std::string p = absl::StrCat("$", 11 + i);
        conditions.push_back(absl::StrCat(p, " <% a.fuzzy_key"));
        similarities.push_back(absl::StrCat("word_similarity(", p, ", a.fuzzy_key)"));
      }
      const std::string sql = absl::StrCat(
          "WITH hits AS (SELECT a.id, (", absl::StrJoin(similarities, " + "), ") / ",
          query_words.size(),
          " * (1 + 0.1 * ln(1 + greatest(0, a.helpful_count - a.not_helpful_count))) AS score"
          " FROM articles a WHERE (",
          absl::StrJoin(conditions, " OR "), ") AND ", FilterSql(2),
          // Words the query excludes stay excluded.
          " AND ($10 = '' OR NOT CASE a.language WHEN 2 THEN a.search_vector @@ "
          "websearch_to_tsquery('english', $10) ELSE a.search_vector @@ "
          "websearch_to_tsquery('russian', $10) END)",
          " ORDER BY score DESC, a.id LIMIT $7 OFFSET $8) SELECT ", ArticleColumns(false),
          ", CASE WHEN $9 THEN a.body ELSE '' END, h.score"
          " FROM hits h JOIN articles a ON a.id = h.id WHERE h.score >= $1::float8"
          " ORDER BY h.score DESC, h.id");
      std::vector<std::string> parameters = {
          kFuzzyMinScore,           filters.states,       filters.products,
          filters.categories,       filters.languages,    filters.tags,
          absl::StrCat(limit + 1),  absl::StrCat(offset), with_body ? "true" : "false",
          ExcludedWords(query_text)};
      parameters.insert(parameters.end(), query_words.begin(), query_words.end());
      CC_RETURN_IF_ERROR(pg_.Transact([&](pqxx::work& txn) -> absl::Status {
        response.clear_results();
        txn.exec(absl::StrCat("SET LOCAL pg_trgm.word_similarity_threshold = ", kFuzzyThreshold));
        pqxx::result rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(parameters));
        for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
          const pqxx::row& row = rows[i];
          v1::SearchArticlesResult* result = response.add_results();
          *result->mutable_article() = ArticleFromRow(row);
          result->mutable_article()->set_body(row[kArticleColumnCount].as<std::string>());
          result->set_score(row[kArticleColumnCount + 1].as<double>());
          *result->add_snippets() =
              SimilarWordsSnippet("title", result->article().title(), query_words, 60);
        }
        more = static_cast<int>(rows.size()) > limit;
        return absl::OkStatus();
      }));
    }
  }
  if (more && offset + limit < kSearchMaxResults) {
    response.set_next_page_token(
        common::EncodePageToken(scope, absl::StrCat(fuzzy ? "t" : "f", offset + limit)));
  }
  return response;
}

// --- ImportArticles ---------------------------------------------------------------------

class ArticleStore::ImportArticles final
    : public ImportSession<v1::ImportArticlesRequest, v1::ImportArticlesResponse> {
 public:
  explicit ImportArticles(common::PgPool& pg)
      : pg_(pg), progress_("ImportArticles", kMaxArticlesPerImportMessage) {}

  absl::StatusOr<v1::ImportArticlesResponse> Process(
      const v1::ImportArticlesRequest& message) override {
    if (!progress_.begun()) {
      const v1::ImportArticlesOptions& options = message.options();
      if (!v1::ImportMode_IsValid(options.mode())) {
        return common::InvalidArgumentError("options.mode",
                                            absl::StrCat("unknown mode ", options.mode()));
      }
      create_only_ = options.mode() == v1::IMPORT_MODE_CREATE_ONLY;
      change_note_ = options.change_note();
      CC_RETURN_IF_ERROR(
          NormalizeText(&change_note_, "options.change_note", kMaxChangeNote, false));
      CC_RETURN_IF_ERROR(progress_.Begin(pg_, message.request_id()));
    }
    std::vector<int64_t> numbers;
    for (const v1::ArticleImportItem& item : message.items()) numbers.push_back(item.item_number());
    CC_RETURN_IF_ERROR(progress_.CheckMessage(message, numbers));

    // Checked before the transaction: a refused item costs no database work.
    std::vector<absl::Status> problems(message.items_size());
    std::vector<v1::Article> articles(message.items_size());
    for (int i = 0; i < message.items_size(); ++i) {
      const v1::ArticleImportItem& item = message.items(i);
      if (progress_.AlreadyImported(item.item_number())) continue;
      articles[i] = item.article();
      problems[i] = NormalizeArticle(articles[i], FieldSet::All(), "article");
      if (problems[i].ok()) problems[i] = CheckState(articles[i].state(), "article.state", true);
      if (problems[i].ok()) {
        problems[i] = NormalizeActor(*articles[i].mutable_author(), "article.author");
      }
      if (problems[i].ok()) {
        problems[i] = NormalizeActor(*articles[i].mutable_last_editor(), "article.last_editor");
      }
    }
    v1::ImportArticlesResponse response;
    const auto pending = [&](int i) {
      return !progress_.AlreadyImported(message.items(i).item_number()) && problems[i].ok();
    };
    CC_RETURN_IF_ERROR(ApplyImportItems(
        pg_,
        {.count = message.items_size(),
         .pending = pending,
         .reset =
             [&] {
               response.Clear();
               for (int i = 0; i < message.items_size(); ++i) {
                 v1::ArticleImportResult* result = response.add_results();
                 result->set_item_number(message.items(i).item_number());
                 if (progress_.AlreadyImported(result->item_number())) {
                   result->set_outcome(v1::IMPORT_OUTCOME_ALREADY_IMPORTED);
                 } else if (!problems[i].ok()) {
                   result->set_outcome(v1::IMPORT_OUTCOME_FAILED);
                   *result->mutable_error() = ItemErrorFromStatus(problems[i]);
                 }
               }
             },
         .apply = [&](pqxx::transaction_base& txn,
                      int i) { return ApplyItem(txn, articles[i], *response.mutable_results(i)); },
         .fail =
             [&](int i, const absl::Status& status) {
               v1::ArticleImportResult* result = response.mutable_results(i);
               result->set_outcome(v1::IMPORT_OUTCOME_FAILED);
               result->clear_article();
               result->clear_version();
               *result->mutable_error() = ItemErrorFromStatus(status);
             },
         .finish =
             [&](pqxx::work& txn) {
               if (!numbers.empty()) progress_.RecordCommitted(txn, numbers.back());
             }}));
    for (const v1::ArticleImportResult& result : response.results())
      progress_.Count(result.outcome());
    return response;
  }

  v1::ImportArticlesResponse Summary() override {
    v1::ImportArticlesResponse response;
    *response.mutable_summary() = progress_.summary();
    return response;
  }

 private:
  absl::Status ApplyItem(pqxx::transaction_base& txn, const v1::Article& article,
                         v1::ArticleImportResult& result) {
    const common::v1::Actor& editor =
        article.last_editor().name().empty() && article.last_editor().display_name().empty()
            ? article.author()
            : article.last_editor();
    std::optional<v1::Article> current;
    if (!article.external_id().empty()) {
      pqxx::result rows = txn.exec_params(
          "SELECT id::text FROM articles WHERE external_id = $1 FOR UPDATE", article.external_id());
      if (!rows.empty()) {
        CC_ASSIGN_OR_RETURN(current, LoadArticle(txn, rows[0][0].as<std::string>(), true));
      }
    }
    if (!current) {
      const v1::ArticleState state = article.state() == v1::ARTICLE_STATE_UNSPECIFIED
                                         ? v1::ARTICLE_STATE_DRAFT
                                         : article.state();
      CC_ASSIGN_OR_RETURN(v1::Article created, InsertArticle(txn, article, state, article.author(),
                                                             editor, change_note_));
      result.set_outcome(v1::IMPORT_OUTCOME_CREATED);
      result.set_article(created.name());
      result.set_version(created.version());
      return absl::OkStatus();
    }
    result.set_article(current->name());
    result.set_version(current->version());
    if (create_only_) {
      result.set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
      return absl::OkStatus();
    }
    v1::Article updated = *current;
    bool changed = false;
    if (!SameContent(article, *current)) {
      CC_ASSIGN_OR_RETURN(updated, WriteNewVersion(txn, *current, article, editor, change_note_));
      changed = true;
    }
    if (article.state() != v1::ARTICLE_STATE_UNSPECIFIED && article.state() != updated.state()) {
      const std::string id(absl::StripPrefix(updated.name(), "articles/"));
      CC_ASSIGN_OR_RETURN(updated, SetState(txn, id, article.state()));
      changed = true;
    }
    result.set_outcome(changed ? v1::IMPORT_OUTCOME_UPDATED : v1::IMPORT_OUTCOME_UNCHANGED);
    result.set_version(updated.version());
    return absl::OkStatus();
  }

  common::PgPool& pg_;
  ImportProgress progress_;
  bool create_only_ = false;
  std::string change_note_;
};

std::unique_ptr<ImportSession<v1::ImportArticlesRequest, v1::ImportArticlesResponse>>
ArticleStore::NewImportSession() {
  return std::make_unique<ImportArticles>(pg_);
}

}  // namespace contactcentre::knowledge
