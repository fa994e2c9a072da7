// cc-bench-knowledge: SearchArticles of the knowledge service over gRPC next to the same
// full-text statement run directly in SQL, on a database of 100,000 articles, in one run.
//
// The benchmark creates a database of its own on the given server, applies the service's
// migrations, loads the articles with COPY (half Russian, half English, text drawn from a
// Zipf-distributed vocabulary with the domain's words among the most frequent), starts the real
// knowledge module behind a gRPC server on a free port in this process, and then, query by
// query, times one SearchArticles call (one caller, default page of 10 with snippets) and the
// statement the service runs for it (ArticleStore::FullTextSearchSql) with the same parameters
// on a connection of its own. It prints p50/p95 of both and their ratio, then drops the
// database.
//
//   cc-bench-knowledge --servers_env build/test-servers/env                 (100,000 articles)
//   cc-bench-knowledge --postgres "host=127.0.0.1 port=25432 user=cc dbname=postgres"
//   cc-bench-knowledge --servers_env build/test-servers/env --smoke         (CI)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/migrations.h"
#include "common/schema.h"
#include "services/knowledge/article_store.h"
#include "services/knowledge/module.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/schema.h"
#include "services/knowledge/text.h"
#include "tools/bench/bench_util.h"

ABSL_FLAG(std::string, postgres, "host=127.0.0.1 port=25432 user=cc dbname=postgres",
          "libpq connection string of a server where the benchmark may create a database");
ABSL_FLAG(std::string, redis, "127.0.0.1:26379", "Redis host:port (the module needs a client)");
ABSL_FLAG(std::string, servers_env, "",
          "read the PostgreSQL and Redis addresses from this env file of deploy/local-servers.sh");
ABSL_FLAG(int, articles, 100'000, "articles to load");
ABSL_FLAG(int, rounds, 10, "times each query is measured (per method)");
ABSL_FLAG(bool, smoke, false, "tiny sizes: prove the benchmark runs, measure nothing");
ABSL_FLAG(bool, keep_database, false, "leave the benchmark database in place");
ABSL_FLAG(std::string, reuse_database, "",
          "measure on this database, loaded and kept by an earlier run, instead of loading one");

namespace contactcentre::bench {
namespace {

using knowledge::v1::ArticlesService;
using knowledge::v1::SearchArticlesRequest;
using knowledge::v1::SearchArticlesResponse;

// Words of the domain, placed among the most frequent words of each language, so that
// queries made of them match as many articles as real support queries do.
const std::vector<std::string> kRussianDomain = {
    "оплата",      "картой",   "интернет",  "роутер",    "тариф",     "баланс",     "счёт",
    "подключение", "скорость", "телевизор", "приставка", "договор",   "возврат",    "денег",
    "пароль",      "кабинет",  "номер",     "роуминг",   "перенос",   "сим-карта",  "ошибка",
    "настройка",   "сигнал",   "авария",    "заявка",    "монтажник", "переезд",    "блокировка",
    "долг",        "пакет",    "каналов",   "звонки",    "сообщения", "приложение", "услуга",
    "подписка",    "скидка",   "бонусы",    "камера",    "домофон"};
const std::vector<std::string> kEnglishDomain = {
    "payment",      "card",     "internet", "router",  "plan",       "balance", "bill",
    "connection",   "speed",    "tv",       "set-top", "contract",   "refund",  "money",
    "password",     "portal",   "number",   "roaming", "porting",    "sim",     "error",
    "setup",        "signal",   "outage",   "ticket",  "technician", "moving",  "blocked",
    "overdue",      "package",  "channels", "calls",   "messages",   "app",     "service",
    "subscription", "discount", "rewards",  "camera",  "intercom"};

// The most frequent words of real text are stop words, which the text-search configurations
// drop; they take the first ranks of each vocabulary, as in real text.
const std::vector<std::string> kRussianStopWords = {
    "и",  "в",  "не",  "на",  "что", "с",   "по",  "к",   "для", "от",
    "из", "за", "это", "как", "а",   "но",  "или", "при", "до",  "если",
    "то", "же", "бы",  "у",   "о",   "так", "все", "его", "она", "они"};
const std::vector<std::string> kEnglishStopWords = {
    "the", "a",    "to",   "of",   "and", "in",   "is",  "for", "on",   "with",
    "it",  "be",   "that", "this", "you", "your", "are", "as",  "at",   "by",
    "or",  "from", "if",   "not",  "can", "will", "an",  "was", "have", "has"};

const std::vector<std::string> kProducts = {
    "Домашний интернет", "Мобильная связь", "Телевидение", "Личный кабинет",
    "Home internet",     "Mobile",          "TV",          "Equipment"};
const std::vector<std::string> kCategories = {"billing/payments",         "billing/refunds",
                                              "internet/troubleshooting", "internet/wifi",
                                              "devices/routers",          "tv",
                                              "mobile/roaming",           "mobile/sim",
                                              "account/access",           "service"};

// A vocabulary of pronounceable made-up words (the stemmers treat them like real ones) after
// the language's stop words, with the domain's words spread over the upper ranks, and a Zipf
// sampler (exponent 1, as in natural language) over it.
class Vocabulary {
 public:
  Vocabulary(bool russian, int size, std::mt19937_64& random) {
    const std::vector<std::string> consonants =
        russian ? std::vector<std::string>{"б", "в", "г", "д", "ж", "з", "к", "л", "м",
                                           "н", "п", "р", "с", "т", "ф", "х", "ч", "ш"}
                : std::vector<std::string>{"b", "c", "d", "f", "g", "h", "k", "l", "m",
                                           "n", "p", "r", "s", "t", "v", "w", "z", "st"};
    const std::vector<std::string> vowels =
        russian ? std::vector<std::string>{"а", "о", "у", "е", "и", "я"}
                : std::vector<std::string>{"a", "e", "i", "o", "u", "ea"};
    const std::vector<std::string> endings =
        russian ? std::vector<std::string>{"", "а", "ый", "ость", "ение", "ать", "ка", "ов"}
                : std::vector<std::string>{"", "s", "ing", "er", "ion", "ed", "ly", "ment"};
    const std::vector<std::string>& domain = russian ? kRussianDomain : kEnglishDomain;
    std::set<std::string> seen(domain.begin(), domain.end());
    while (static_cast<int>(words_.size()) < size) {
      std::string word;
      const int syllables = 2 + static_cast<int>(random() % 3);
      for (int s = 0; s < syllables; ++s) {
        word += consonants[random() % consonants.size()];
        word += vowels[random() % vowels.size()];
      }
      word += endings[random() % endings.size()];
      if (seen.insert(word).second) words_.push_back(word);
    }
    // Domain words take every tenth rank from 50 on: frequent, as a knowledge base's subject
    // words are, but less so than the stop words and the commonest other words.
    for (size_t i = 0; i < domain.size(); ++i)
      words_.insert(words_.begin() + 10 * i + 20, domain[i]);
    const std::vector<std::string>& stop_words = russian ? kRussianStopWords : kEnglishStopWords;
    words_.insert(words_.begin(), stop_words.begin(), stop_words.end());
    double total = 0;
    for (size_t rank = 1; rank <= words_.size(); ++rank) {
      total += 1.0 / static_cast<double>(rank);
      cumulative_.push_back(total);
    }
  }

  const std::string& Sample(std::mt19937_64& random) const {
    const double point = std::uniform_real_distribution<double>(0, cumulative_.back())(random);
    const size_t index =
        std::lower_bound(cumulative_.begin(), cumulative_.end(), point) - cumulative_.begin();
    return words_[std::min(index, words_.size() - 1)];
  }

  std::string Sentence(std::mt19937_64& random, int words) const {
    std::vector<std::string> parts;
    for (int i = 0; i < words; ++i) parts.push_back(Sample(random));
    return absl::StrJoin(parts, " ");
  }

  const std::string& word(size_t rank) const { return words_[rank]; }

 private:
  std::vector<std::string> words_;
  std::vector<double> cumulative_;
};

std::string WithDatabase(const std::string& dsn, const std::string& database) {
  return common::WithConnectionParameters(dsn, {{"dbname", database}});
}

// Loads `count` articles with COPY; returns the seconds it took.
double LoadArticles(const std::string& dsn, int count, const Vocabulary& russian,
                    const Vocabulary& english) {
  const absl::Time started = absl::Now();
  std::mt19937_64 random(42);
  pqxx::connection connection(dsn);
  pqxx::work txn(connection);
  {
    pqxx::stream_to stream(txn, "articles",
                           std::vector<std::string>{"id",           "state",
                                                    "language",     "title",
                                                    "summary",      "body",
                                                    "body_plain",   "product",
                                                    "product_key",  "category",
                                                    "category_key", "tags",
                                                    "author_name",  "author_display_name",
                                                    "editor_name",  "editor_display_name",
                                                    "version",      "revision",
                                                    "create_time",  "update_time",
                                                    "publish_time"});
    const std::string now =
        absl::FormatTime("%Y-%m-%d %H:%M:%S+00", absl::Now(), absl::UTCTimeZone());
    for (int i = 0; i < count; ++i) {
      const bool is_russian = i % 2 == 0;
      const Vocabulary& words = is_russian ? russian : english;
      // Nine in ten published, the rest drafts and archived.
      const int state = i % 10 == 9 ? (i % 20 == 19 ? 3 : 1) : 2;
      const std::string title = words.Sentence(random, 4 + static_cast<int>(random() % 5));
      std::vector<std::string> tags;
      for (int t = 0; t < 3; ++t) tags.push_back(words.Sample(random));
      std::string body;
      const int paragraphs = 2 + static_cast<int>(random() % 3);
      for (int p = 0; p < paragraphs; ++p) {
        absl::StrAppend(&body, p == 0 ? "" : "\n\n",
                        words.Sentence(random, 30 + static_cast<int>(random() % 30)), ".");
      }
      const std::string& product =
          kProducts[(is_russian ? 0 : 4) + static_cast<size_t>(random() % 4)];
      const std::string& category = kCategories[random() % kCategories.size()];
      stream << std::make_tuple(common::NewId(), state, is_russian ? 1 : 2, title, std::string(),
                                body, knowledge::MarkdownToPlainText(body), product,
                                knowledge::FoldForSearch(product), category, category,
                                knowledge::PgTextArray(tags), std::string("bench"), std::string(),
                                std::string("bench"), std::string(), 1, 1, now, now, now);
    }
    stream.complete();
  }
  txn.exec(
      "INSERT INTO article_versions (article_id, version, title, summary, body, product, "
      "category, tags, language, editor_name, editor_display_name, change_note, create_time) "
      "SELECT id, version, title, summary, body, product, category, tags, language, editor_name, "
      "editor_display_name, '', update_time FROM articles");
  txn.commit();
  pqxx::nontransaction analyze(connection);
  analyze.exec("VACUUM ANALYZE articles");
  return absl::ToDoubleSeconds(absl::Now() - started);
}

struct Latencies {
  std::vector<absl::Duration> samples;
  int64_t errors = 0;
  absl::Duration Percentile(double p) {
    if (samples.empty()) return absl::ZeroDuration();
    std::sort(samples.begin(), samples.end());
    return samples[std::min(samples.size() - 1, static_cast<size_t>(p * samples.size()))];
  }
};

int Run() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int article_count = smoke ? 2'000 : absl::GetFlag(FLAGS_articles);
  const int rounds = smoke ? 2 : absl::GetFlag(FLAGS_rounds);
  std::string admin_dsn = absl::GetFlag(FLAGS_postgres);
  std::string redis_address = absl::GetFlag(FLAGS_redis);
  if (const std::string path = absl::GetFlag(FLAGS_servers_env); !path.empty()) {
    std::map<std::string, std::string> env = ReadEnvFile(path);
    admin_dsn = absl::StrCat("host=", env["CC_PG_HOST"], " port=", env["CC_PG_PORT"],
                             " user=", env["CC_PG_USER"], " dbname=postgres");
    redis_address = absl::StrCat(env["CC_REDIS_HOST"], ":", env["CC_REDIS_PORT"]);
  }
  const std::string reused = absl::GetFlag(FLAGS_reuse_database);
  const std::string database =
      !reused.empty()
          ? reused
          : absl::StrCat("bench_knowledge_", absl::StrReplaceAll(common::NewId(), {{"-", ""}}));
  const std::string dsn = WithDatabase(admin_dsn, database);
  if (reused.empty()) {
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + txn.quote_name(database) + " TEMPLATE template0 ENCODING 'UTF8'");
  }
  const auto drop_database = [&] {
    if (absl::GetFlag(FLAGS_keep_database) || !reused.empty()) {
      std::printf("database kept: %s\n", database.c_str());
      return;
    }
    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE " + txn.quote_name(database) + " WITH (FORCE)");
  };
  for (const auto& [component, migrations] :
       {std::pair{"common", &common::SchemaMigrations()},
        std::pair{"knowledge", &knowledge::SchemaMigrations()}}) {
    if (auto applied = common::ApplyMigrations(dsn, component, *migrations); !applied.ok()) {
      std::fprintf(stderr, "migrations: %s\n", applied.status().ToString().c_str());
      drop_database();
      return 1;
    }
  }

  std::mt19937_64 random(7);
  const Vocabulary russian(true, 20'000, random);
  const Vocabulary english(false, 20'000, random);
  std::printf("cc-bench-knowledge: %d articles, %d rounds per query, %u cores\n", article_count,
              rounds, std::thread::hardware_concurrency());
  if (reused.empty()) {
    const double load_seconds = LoadArticles(dsn, article_count, russian, english);
    std::printf(
        "  loaded with COPY (tsvector and trigram keys generated, GIN indexes kept, "
        "versions, VACUUM ANALYZE) in %.1f s: %.0f articles/s\n",
        load_seconds, article_count / load_seconds);
  }

  // The service, in this process, as main() wires it.
  common::ServiceConfig config;
  config.service = "knowledge";
  config.site = "bench";
  auto redis_options = common::ParseRedisAddress(redis_address);
  auto pg = common::PgPool::Create({.dsn = dsn, .size = 4});
  auto redis =
      common::RedisClient::Create(redis_options.ok() ? *redis_options : common::RedisOptions());
  if (!pg.ok() || !redis.ok()) {
    std::fprintf(stderr, "cannot create clients\n");
    drop_database();
    return 1;
  }
  common::EventPublisher publisher(redis->get(),
                                   {.site = "bench", .producer = "services/knowledge"});
  common::OutboxRelay outbox(pg->get(), &publisher, {});
  common::ServiceContext context{config, **pg, **redis, publisher, outbox};
  auto module = knowledge::KnowledgeModule::Create(context, {});
  if (!module.ok()) {
    std::fprintf(stderr, "cannot build the module: %s\n", module.status().ToString().c_str());
    drop_database();
    return 1;
  }
  auto server =
      common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, (*module)->GrpcServices());
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n", server.status().ToString().c_str());
    drop_database();
    return 1;
  }
  (*server)->SetReady(true);
  auto channel = common::MakeChannel(absl::StrCat("127.0.0.1:", (*server)->port()));
  auto stub = ArticlesService::NewStub(channel);

  // Queries as operators type them: a frequent word of the domain alone, or one to three words
  // of an existing article's title (so that every query finds something and the full-text
  // path, not the typo fallback, is what is measured), in both languages.
  std::vector<std::string> queries;
  {
    pqxx::connection connection(dsn);
    pqxx::nontransaction txn(connection);
    txn.exec("SELECT setseed(0.42)");
    pqxx::result titles = txn.exec_params(
        "SELECT title, language FROM articles WHERE state = 2 ORDER BY random() LIMIT $1",
        smoke ? 10 : 60);
    std::mt19937_64 query_random(11);
    for (int i = 0; i < static_cast<int>(titles.size()); ++i) {
      const bool is_russian = titles[i][1].as<int>() == 1;
      const std::vector<std::string>& domain = is_russian ? kRussianDomain : kEnglishDomain;
      if (i % 3 == 0) {
        queries.push_back(domain[query_random() % domain.size()]);
        continue;
      }
      std::vector<std::string> words;
      const std::vector<std::string>& stop_words =
          is_russian ? kRussianStopWords : kEnglishStopWords;
      for (absl::string_view word :
           absl::StrSplit(titles[i][0].as<std::string>(), ' ', absl::SkipEmpty())) {
        if (std::find(stop_words.begin(), stop_words.end(), word) == stop_words.end()) {
          words.emplace_back(word);
        }
      }
      if (words.empty()) words.push_back(domain[0]);
      const size_t take = std::min<size_t>(words.size(), 1 + query_random() % 3);
      const size_t start = query_random() % (words.size() - take + 1);
      queries.push_back(absl::StrJoin(words.begin() + start, words.begin() + start + take, " "));
    }
  }

  // The same statement with the same parameters on a connection of its own, planned on every
  // run as the service plans it.
  pqxx::connection direct(dsn);
  const auto run_sql = [&](const std::string& query) {
    pqxx::nontransaction txn(direct);
    return txn
        .exec_params(knowledge::ArticleStore::FullTextSearchSql(), knowledge::FoldForSearch(query),
                     "{2}", "{}", "{}", "{}", "{}", 11, 0, false,
                     knowledge::ArticleStore::TitleHeadlineOptions(),
                     knowledge::ArticleStore::BodyHeadlineOptions())
        .size();
  };
  const auto run_grpc = [&](const std::string& query, SearchArticlesResponse* response) {
    SearchArticlesRequest request;
    request.set_query(query);
    auto client_context = common::ContextWithTimeout(absl::Seconds(5));
    return stub->SearchArticles(client_context.get(), request, response);
  };

  // How much each query matches, for the record.
  std::vector<int64_t> matches;
  {
    pqxx::nontransaction txn(direct);
    for (const std::string& query : queries) {
      matches.push_back(
          txn.exec_params1(
                 "SELECT count(*) FROM articles a WHERE a.state = 2 AND ("
                 "(a.language = 1 AND a.search_vector @@ websearch_to_tsquery('russian', $1))"
                 " OR (a.language = 2 AND a.search_vector @@ websearch_to_tsquery('english', $1)))",
                 knowledge::FoldForSearch(query))[0]
              .as<int64_t>());
    }
  }
  std::vector<int64_t> sorted_matches = matches;
  std::sort(sorted_matches.begin(), sorted_matches.end());
  std::printf(
      "  %zu queries of 1-3 words; published articles matched per query: median %lld, "
      "max %lld\n",
      queries.size(), static_cast<long long>(sorted_matches[sorted_matches.size() / 2]),
      static_cast<long long>(sorted_matches.back()));

  // Warm both paths, then alternate them query by query so that caches favour neither.
  for (const std::string& query : queries) {
    SearchArticlesResponse response;
    (void)run_grpc(query, &response);
    (void)run_sql(query);
  }
  // The store in this process, without gRPC: what the service adds to SQL, apart from gRPC.
  knowledge::ArticleStore store(**pg);
  Latencies grpc_latency;
  Latencies sql_latency;
  Latencies store_latency;
  int64_t fuzzy = 0;
  const auto time_grpc = [&](const std::string& query) {
    const absl::Time started = absl::Now();
    SearchArticlesResponse response;
    const grpc::Status status = run_grpc(query, &response);
    if (status.ok()) {
      grpc_latency.samples.push_back(absl::Now() - started);
      fuzzy += response.fuzzy_fallback_used();
    } else {
      ++grpc_latency.errors;
      std::fprintf(stderr, "SearchArticles(%s): %s\n", query.c_str(),
                   status.error_message().c_str());
    }
  };
  const auto time_sql = [&](const std::string& query) {
    const absl::Time started = absl::Now();
    (void)run_sql(query);
    sql_latency.samples.push_back(absl::Now() - started);
  };
  const auto time_store = [&](const std::string& query) {
    SearchArticlesRequest request;
    request.set_query(query);
    const absl::Time started = absl::Now();
    if (store.Search(request).ok()) store_latency.samples.push_back(absl::Now() - started);
  };
  // The three take turns going first, so that none always meets the others' warm caches.
  const std::vector<std::function<void(const std::string&)>> methods = {time_grpc, time_sql,
                                                                        time_store};
  for (int round = 0; round < rounds; ++round) {
    for (size_t q = 0; q < queries.size(); ++q) {
      for (size_t m = 0; m < methods.size(); ++m)
        methods[(round + q + m) % methods.size()](queries[q]);
    }
  }
  const absl::Duration grpc_p50 = grpc_latency.Percentile(0.5);
  const absl::Duration grpc_p95 = grpc_latency.Percentile(0.95);
  const absl::Duration sql_p50 = sql_latency.Percentile(0.5);
  const absl::Duration sql_p95 = sql_latency.Percentile(0.95);
  std::printf("  %-52s p50 %7.2f ms  p95 %7.2f ms  (%zu calls, %lld errors, %lld typo fallbacks)\n",
              "SearchArticles over gRPC (one caller)", absl::ToDoubleMilliseconds(grpc_p50),
              absl::ToDoubleMilliseconds(grpc_p95), grpc_latency.samples.size(),
              static_cast<long long>(grpc_latency.errors), static_cast<long long>(fuzzy));
  std::printf("  %-52s p50 %7.2f ms  p95 %7.2f ms  (%zu runs)\n",
              "the same statement directly in SQL (baseline)", absl::ToDoubleMilliseconds(sql_p50),
              absl::ToDoubleMilliseconds(sql_p95), sql_latency.samples.size());
  std::printf("  %-52s p50 %7.2f ms  p95 %7.2f ms  (%zu calls)\n",
              "ArticleStore::Search in process, no gRPC (for reference)",
              absl::ToDoubleMilliseconds(store_latency.Percentile(0.5)),
              absl::ToDoubleMilliseconds(store_latency.Percentile(0.95)),
              store_latency.samples.size());
  std::printf("  %-52s p50 %7.2fx     p95 %7.2fx\n", "gRPC / SQL",
              absl::ToDoubleMilliseconds(grpc_p50) / absl::ToDoubleMilliseconds(sql_p50),
              absl::ToDoubleMilliseconds(grpc_p95) / absl::ToDoubleMilliseconds(sql_p95));
  const bool goal = grpc_p95 < absl::Milliseconds(20) && grpc_p95 <= 1.5 * sql_p95;
  std::printf("  goal (p95 under 20 ms and within 1.5x of SQL): %s\n", goal ? "met" : "NOT met");

  stub.reset();
  channel.reset();
  (*server)->Shutdown();
  server->reset();
  module->reset();
  pg->reset();
  direct.disconnect();
  drop_database();
  return grpc_latency.errors > 0 || grpc_latency.samples.empty() ? 1 : 0;
}

}  // namespace
}  // namespace contactcentre::bench

int main(int argc, char** argv) {
  contactcentre::common::ParseFlagsWithEnvironment(
      argc, argv, "SearchArticles over gRPC next to the same statement in SQL, on 100k articles");
  return contactcentre::bench::Run();
}
