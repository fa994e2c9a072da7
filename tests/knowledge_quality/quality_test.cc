// The search-quality test of the knowledge service: a corpus of Russian and English articles
// and precedents written for it (articles_*.txt, precedents_*.txt) is loaded through the
// real gRPC service on the real PostgreSQL of the `servers` fixture, then every query of
// queries.txt runs through SearchArticles or SuggestPrecedents, and the test prints the
// precision at 3 and fails below 0.9.
//
// Precision at 3 of one query: the share of its expected answers (at most 3 count) found
// among the first 3 results. With 3 expected answers that is the textbook P@3; with one it
// says whether the expected best answer is in the top 3. The reported figure is the mean over
// all queries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/test_servers.h"
#include "services/knowledge/testing/knowledge_test_env.h"

namespace contactcentre::knowledge {
namespace {

using testing::Call;
using testing::KnowledgeTestEnv;

constexpr double kRequiredPrecision = 0.9;

// The non-comment lines of a corpus file, split at " | ".
std::vector<std::vector<std::string>> ReadRecords(const std::string& file, size_t fields) {
  const std::string path =
      absl::StrCat(common::testing::SourceDir(), "/tests/knowledge_quality/", file);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::vector<std::string>> records;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, " | ");
    EXPECT_EQ(parts.size(), fields) << path << ": " << line;
    if (parts.size() != fields) continue;
    for (std::string& part : parts) part = std::string(absl::StripAsciiWhitespace(part));
    records.push_back(std::move(parts));
  }
  return records;
}

v1::Language LanguageOf(const std::string& code) {
  return code == "ru" ? v1::LANGUAGE_RU : v1::LANGUAGE_EN;
}

v1::PrecedentOutcome OutcomeOf(const std::string& outcome) {
  if (outcome == "resolved") return v1::PRECEDENT_OUTCOME_RESOLVED;
  if (outcome == "workaround") return v1::PRECEDENT_OUTCOME_WORKAROUND;
  if (outcome == "escalated") return v1::PRECEDENT_OUTCOME_ESCALATED;
  if (outcome == "not_resolved") return v1::PRECEDENT_OUTCOME_NOT_RESOLVED;
  return v1::PRECEDENT_OUTCOME_UNSPECIFIED;
}

struct Tally {
  double sum = 0;
  int queries = 0;
  double mean() const { return queries == 0 ? 0 : sum / queries; }
};

TEST(KnowledgeQualityTest, PrecisionAtThreeIsAtLeastNinetyPercent) {
  auto started = KnowledgeTestEnv::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  KnowledgeTestEnv& env = **started;
  std::map<std::string, std::string> corpus_id;  // resource name -> corpus id
  int articles = 0;
  int precedents = 0;

  for (const char* file : {"articles_ru.txt", "articles_en.txt"}) {
    for (const auto& record : ReadRecords(file, 7)) {
      v1::CreateArticleRequest request;
      v1::Article& article = *request.mutable_article();
      article.set_language(LanguageOf(record[1]));
      article.set_product(record[2]);
      article.set_category(record[3]);
      for (absl::string_view tag : absl::StrSplit(record[4], ", ", absl::SkipEmpty())) {
        article.add_tags(std::string(tag));
      }
      article.set_title(record[5]);
      article.set_body(record[6]);
      article.set_state(v1::ARTICLE_STATE_PUBLISHED);
      v1::Article created;
      grpc::Status status =
          Call(&v1::ArticlesService::Stub::CreateArticle, env.articles(), request, &created);
      ASSERT_TRUE(status.ok()) << record[0] << ": " << status.error_message();
      corpus_id[created.name()] = record[0];
      ++articles;
    }
  }
  for (const char* file : {"precedents_ru.txt", "precedents_en.txt"}) {
    for (const auto& record : ReadRecords(file, 7)) {
      v1::CreatePrecedentRequest request;
      v1::Precedent& precedent = *request.mutable_precedent();
      precedent.set_language(LanguageOf(record[1]));
      precedent.set_product(record[2]);
      for (absl::string_view tag : absl::StrSplit(record[3], ", ", absl::SkipEmpty())) {
        precedent.add_tags(std::string(tag));
      }
      precedent.set_outcome(OutcomeOf(record[4]));
      precedent.set_problem(record[5]);
      precedent.set_solution(record[6]);
      v1::Precedent created;
      grpc::Status status =
          Call(&v1::PrecedentsService::Stub::CreatePrecedent, env.precedents(), request, &created);
      ASSERT_TRUE(status.ok()) << record[0] << ": " << status.error_message();
      corpus_id[created.name()] = record[0];
      ++precedents;
    }
  }
  ASSERT_GE(articles + precedents, 200) << "the corpus must hold at least 200 documents";

  const auto queries = ReadRecords("queries.txt", 3);
  ASSERT_GE(queries.size(), 30u);
  std::map<std::string, Tally> tallies;
  std::printf("\n%-9s %-5s %-60s %s\n", "kind", "P@3", "query", "top 3 (expected first)");
  for (const auto& query : queries) {
    const std::string& kind = query[0];
    const std::vector<std::string> expected = absl::StrSplit(query[2], ", ");
    std::vector<std::string> top;
    bool fuzzy = false;
    if (kind == "article") {
      v1::SearchArticlesRequest request;
      request.set_query(query[1]);
      request.set_page_size(3);
      v1::SearchArticlesResponse response;
      grpc::Status status =
          Call(&v1::ArticlesService::Stub::SearchArticles, env.articles(), request, &response);
      ASSERT_TRUE(status.ok()) << query[1] << ": " << status.error_message();
      for (const auto& result : response.results())
        top.push_back(corpus_id[result.article().name()]);
      fuzzy = response.fuzzy_fallback_used();
    } else {
      ASSERT_EQ(kind, "precedent");
      v1::SuggestPrecedentsRequest request;
      request.set_text(query[1]);
      request.set_k(3);
      v1::SuggestPrecedentsResponse response;
      grpc::Status status = Call(&v1::PrecedentsService::Stub::SuggestPrecedents, env.precedents(),
                                 request, &response);
      ASSERT_TRUE(status.ok()) << query[1] << ": " << status.error_message();
      for (const auto& result : response.results()) {
        top.push_back(corpus_id[result.precedent().name()]);
      }
    }
    const size_t counted = std::min<size_t>(expected.size(), 3);
    size_t found = 0;
    for (size_t i = 0; i < counted; ++i) {
      found += std::find(top.begin(), top.end(), expected[i]) != top.end();
    }
    const double precision = static_cast<double>(found) / static_cast<double>(counted);
    const bool russian =
        absl::StartsWith(expected[0], "ru-") || absl::StartsWith(expected[0], "p-ru-");
    for (const std::string& key :
         {std::string("all"), kind, absl::StrCat(kind, russian ? " ru" : " en")}) {
      tallies[key].sum += precision;
      ++tallies[key].queries;
    }
    std::printf("%-9s %-5.2f %-60s %s%s  (%s)\n", kind.c_str(), precision, query[1].c_str(),
                absl::StrJoin(top, ", ").c_str(), fuzzy ? " [trigram fallback]" : "",
                query[2].c_str());
  }
  std::printf("\ncorpus: %d articles, %d precedents; %zu queries\n", articles, precedents,
              queries.size());
  for (const auto& [key, tally] : tallies) {
    std::printf("precision@3 %-14s %.3f over %d queries\n", key.c_str(), tally.mean(),
                tally.queries);
  }
  std::fflush(stdout);
  EXPECT_GE(tallies["all"].mean(), kRequiredPrecision);
}

}  // namespace
}  // namespace contactcentre::knowledge
