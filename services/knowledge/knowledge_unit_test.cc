// Unit tests of the knowledge service's pure logic: text folding and snippets, Markdown to
// text, language detection, names, validation, opening hours, directory name matching and
// precedents from wrap-up events.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/knowledge/directory_store.h"
#include "services/knowledge/import_session.h"
#include "services/knowledge/names.h"
#include "services/knowledge/opening_hours.h"
#include "services/knowledge/precedent_store.h"
#include "services/knowledge/text.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {
namespace {

std::string Plain(const v1::Snippet& snippet) {
  std::string text;
  for (const auto& segment : snippet.segments()) {
    absl::StrAppend(&text, segment.highlighted() ? "[" : "", segment.text(),
                    segment.highlighted() ? "]" : "");
  }
  return text;
}

TEST(TextTest, FoldingTrimmingAndCounting) {
  EXPECT_EQ(FoldForSearch("ЁЛКА Ёжик Straße ÀÉ"), "елка ежик straße àé");
  EXPECT_EQ(LowerText("Ёжик SIM"), "ёжик sim");
  EXPECT_EQ(TrimText("\u00a0 \t текст \u3000\n"), "текст");
  EXPECT_EQ(TrimText(""), "");
  EXPECT_EQ(CodePointCount("ёж"), 2u);
  EXPECT_EQ(TruncateCodePoints("абвгд", 3), "абв");
  EXPECT_EQ(TruncateCodePoints("аб", 3), "аб");
  EXPECT_EQ(SearchWords("Wi-Fi: «роутер» №3"),
            (std::vector<std::string>{"wi", "fi", "роутер", "3"}));
  EXPECT_TRUE(HasControlCharacters("a\x01"));
  EXPECT_FALSE(HasControlCharacters("a\tb\nc\r"));
}

TEST(TextTest, DirectoryNameKeysIgnoreNumberSignsAndPunctuation) {
  EXPECT_EQ(DirectoryNameKey("Городская поликлиника №3"), "городская поликлиника 3");
  EXPECT_EQ(DirectoryNameKey("Поликлиника N 3"), "поликлиника 3");
  EXPECT_EQ(DirectoryNameKey("поликлиника N3"), "поликлиника 3");
  EXPECT_EQ(DirectoryNameKey("поликлиника # 3"), "поликлиника 3");
  EXPECT_EQ(DirectoryNameKey("ООО «Ёлка-Н»"), "ооо елка н");
  EXPECT_EQ(DirectoryNameKey("Section N"), "section n");
}

TEST(TextTest, MarkdownBecomesPlainText) {
  EXPECT_EQ(MarkdownToPlainText("# Заголовок #\n\n**Жирный** и _курсив_, `код` и snake_case"),
            "Заголовок\n\nЖирный и курсив, код и snake_case");
  EXPECT_EQ(MarkdownToPlainText("- пункт\n1. первый\n> цитата\n---\n[ссылка](http://x.ru) "
                                "![картинка](a.png) <b>тег</b> <https://y.ru>"),
            "пункт\nпервый\nцитата\nссылка картинка тег https://y.ru");
  EXPECT_EQ(MarkdownToPlainText("```\ncode *kept*\n```\n| a | b |\n|---|---|\n| 1 | 2 |"),
            "code *kept*\n  a   b  \n  1   2");
  EXPECT_EQ(MarkdownToPlainText("\\*буквально\\*"), "*буквально*");
}

TEST(TextTest, LanguageDetection) {
  EXPECT_EQ(DetectLanguage("Не проходит оплата по карте Visa"), v1::LANGUAGE_RU);
  EXPECT_EQ(DetectLanguage("Payment by card fails, код ошибки"), v1::LANGUAGE_EN);
  EXPECT_EQ(DetectLanguage("12345"), v1::LANGUAGE_EN);
}

TEST(TextTest, TrigramSimilarityOfWords) {
  EXPECT_DOUBLE_EQ(WordTrigramSimilarity("возврат", "возврат"), 1.0);
  EXPECT_NEAR(WordTrigramSimilarity("возрат", "возврат"), 0.5, 1e-9);  // as pg_trgm says
  EXPECT_LT(WordTrigramSimilarity("кот", "собака"), 0.1);
}

TEST(TextTest, SnippetsFromMarkedText) {
  EXPECT_EQ(Plain(SnippetFromMarkedText("body", "Как \x01оплатить\x02  услуги \x01картой\x02.")),
            "Как [оплатить] услуги [картой].");
  // A run of matched words is one highlighted segment.
  const v1::Snippet run = SnippetFromMarkedText("title", "\x01оплата\x02 \x01картой\x02 онлайн");
  ASSERT_EQ(run.segments_size(), 2);
  EXPECT_EQ(run.segments(0).text(), "оплата картой");
  EXPECT_TRUE(run.segments(0).highlighted());
  EXPECT_EQ(run.segments(1).text(), " онлайн");
  EXPECT_EQ(run.field(), "title");
  EXPECT_FALSE(HasHighlight(SnippetFromMarkedText("body", "plain\n\ntext")));
  EXPECT_EQ(Plain(SnippetFromMarkedText("body", "plain\n\ntext")), "plain text");
  EXPECT_EQ(Plain(SimilarWordsSnippet("title", "Возврат денег за услугу", {"вазврат"}, 35)),
            "[Возврат] денег за услугу");
  EXPECT_EQ(Plain(SimilarWordsSnippet("title", "один два три четыре", {"три"}, 3)),
            "один два [три]");
}

TEST(NamesTest, ParsesAndRefuses) {
  const std::string id = "0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b";
  EXPECT_EQ(*ParseResourceId(absl::StrCat("articles/", id), kArticles, "name"), id);
  EXPECT_EQ(ParseResourceId("articles/42", kArticles, "name").status().message(),
            "invalid name: \"42\" is not an id");
  EXPECT_FALSE(ParseResourceId(absl::StrCat("precedents/", id), kArticles, "name").ok());
  EXPECT_FALSE(ParseResourceId("", kArticles, "name").ok());
  auto version = ParseArticleVersionName(absl::StrCat("articles/", id, "/versions/12"), "name");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->version, 12);
  EXPECT_FALSE(ParseArticleVersionName(absl::StrCat("articles/", id, "/versions/0"), "n").ok());
  EXPECT_FALSE(ParseArticleVersionName(absl::StrCat("articles/", id, "/versions/-1"), "n").ok());
  auto all = ParseFeedbackTarget("precedents/-", "parent", true);
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->article);
  EXPECT_TRUE(all->id.empty());
  EXPECT_FALSE(ParseFeedbackTarget("precedents/-", "parent", false).ok());
  EXPECT_TRUE(CheckForeignName("operators/op-7", "operators", "operator").ok());
  EXPECT_TRUE(CheckForeignName("", "operators", "operator").ok());
  EXPECT_FALSE(CheckForeignName("operators/a/b", "operators", "operator").ok());
  EXPECT_FALSE(CheckForeignName("calls/1", "operators", "operator").ok());
}

TEST(ValidationTest, ArticlesAreNormalisedAndLimited) {
  v1::Article article;
  article.set_title("  Заголовок  ");
  article.set_language(v1::LANGUAGE_RU);
  article.set_category("/billing/ refunds /");
  article.add_tags(" SIM ");
  article.add_tags("sim");
  article.add_tags("Ёлка");
  ASSERT_TRUE(NormalizeArticle(article, FieldSet::All(), "article").ok());
  EXPECT_EQ(article.title(), "Заголовок");
  EXPECT_EQ(article.category(), "billing/refunds");
  ASSERT_EQ(article.tags_size(), 2);
  EXPECT_EQ(article.tags(1), "ёлка");

  article.set_body(std::string(kMaxBodyBytes + 1, 'a'));
  EXPECT_EQ(NormalizeArticle(article, FieldSet::All(), "article").message(),
            "invalid article.body: 262145 bytes, at most 262144");
  // Only the fields named are checked.
  EXPECT_TRUE(NormalizeArticle(article, FieldSet::Of({"title"}), "article").ok());
  article.set_body("ok");
  article.set_category("a//b");
  EXPECT_EQ(NormalizeArticle(article, FieldSet::All(), "items[2].article").message(),
            "invalid items[2].article.category: has an empty path segment");
  article.set_category("");
  article.set_title(std::string(300, 'x') + "ё");
  EXPECT_EQ(NormalizeArticle(article, FieldSet::All(), "article").message(),
            "invalid article.title: 301 characters, at most 300");
  article.set_title(std::string(299, 'x') + "ё");
  EXPECT_TRUE(NormalizeArticle(article, FieldSet::All(), "article").ok()) << "code points";
  article.set_language(static_cast<v1::Language>(3));
  EXPECT_EQ(NormalizeArticle(article, FieldSet::All(), "article").message(),
            "invalid article.language: unknown language 3");
}

TEST(ValidationTest, UpdateMasksAndRequestIds) {
  google::protobuf::FieldMask mask;
  EXPECT_FALSE(ParseUpdateMask(mask, {"title"}).ok());
  mask.add_paths("state");
  EXPECT_EQ(ParseUpdateMask(mask, {"title"}, {"state"}, "use PublishArticle").status().message(),
            "invalid update_mask: \"state\" is not updatable: use PublishArticle");
  mask.set_paths(0, "title");
  auto fields = ParseUpdateMask(mask, {"title", "body"});
  ASSERT_TRUE(fields.ok());
  EXPECT_TRUE(fields->Has("title"));
  EXPECT_FALSE(fields->Has("body"));
  EXPECT_TRUE(CheckRequestId("").ok());
  EXPECT_TRUE(CheckRequestId(std::string(64, 'r')).ok());
  EXPECT_FALSE(CheckRequestId(std::string(65, 'r')).ok());
}

TEST(ValidationTest, DirectoryPhones) {
  v1::DirectoryPhone phone;
  phone.mutable_number()->set_raw("+7 (812) 555-12-34 ext. 77");
  ASSERT_TRUE(NormalizeDirectoryPhone(phone, "RU", "entry.phones[0]").ok());
  EXPECT_EQ(phone.number().e164(), "+78125551234");
  EXPECT_EQ(phone.extension(), "77");
  phone.Clear();
  phone.mutable_number()->set_raw("112");
  ASSERT_TRUE(NormalizeDirectoryPhone(phone, "RU", "entry.phones[0]").ok());
  EXPECT_TRUE(phone.short_number());
  EXPECT_EQ(phone.number().e164(), "");
  phone.Clear();
  phone.mutable_number()->set_raw("8 800 100-00-00");
  phone.set_extension("12a");
  EXPECT_EQ(NormalizeDirectoryPhone(phone, "RU", "entry.phones[1]").message(),
            "invalid entry.phones[1].extension: must be 1..10 digits");
  phone.clear_extension();
  phone.mutable_number()->set_raw("");
  EXPECT_EQ(NormalizeDirectoryPhone(phone, "RU", "entry.phones[1]").message(),
            "invalid entry.phones[1].number.raw: a phone number is required");
}

TEST(OpeningHoursTest, ChecksAndAnswersInTheLocalZone) {
  common::v1::WeeklySchedule schedule;
  schedule.set_time_zone("Asia/Yekaterinburg");  // UTC+5
  auto* window = schedule.add_windows();
  window->set_day(common::v1::DAY_OF_WEEK_SATURDAY);
  window->set_start_minute(10 * 60);
  window->set_end_minute(1440);
  ASSERT_TRUE(CheckSchedule(schedule, "entry.opening_hours").ok());
  const absl::TimeZone utc = absl::UTCTimeZone();
  // Saturday 2026-11-28 05:30 UTC = 10:30 local.
  const absl::Time open = absl::FromCivil(absl::CivilSecond(2026, 11, 28, 5, 30, 0), utc);
  EXPECT_EQ(OpenStatusAt(schedule, open, utc), v1::OPEN_STATUS_OPEN);
  EXPECT_EQ(OpenStatusAt(schedule, open - absl::Hours(1), utc), v1::OPEN_STATUS_CLOSED);
  EXPECT_EQ(OpenStatusAt(schedule, open + absl::Hours(19), utc), v1::OPEN_STATUS_CLOSED)
      << "Sunday local";
  schedule.add_closed_dates("2026-11-28");
  EXPECT_EQ(OpenStatusAt(schedule, open, utc), v1::OPEN_STATUS_CLOSED);
  schedule.add_closed_dates("2026-02-30");
  EXPECT_EQ(CheckSchedule(schedule, "entry.opening_hours").message(),
            "invalid entry.opening_hours.closed_dates[1]: must be a date \"YYYY-MM-DD\"");
  schedule.clear_closed_dates();
  window->set_day(common::v1::DAY_OF_WEEK_UNSPECIFIED);
  EXPECT_FALSE(CheckSchedule(schedule, "h").ok());
  window->set_day(common::v1::DAY_OF_WEEK_MONDAY);
  window->set_end_minute(1441);
  EXPECT_FALSE(CheckSchedule(schedule, "h").ok());
}

TEST(DirectoryMatchTest, WordsInAnyOrderWithTyposAndNumbers) {
  const std::string name = "Городская поликлиника №3";
  NameMatch exact = MatchName(name, {"поликлиника", "3"}, "display_name");
  EXPECT_DOUBLE_EQ(exact.score, 1.0);
  EXPECT_EQ(Plain(exact.snippet), "Городская [поликлиника] №[3]");
  EXPECT_DOUBLE_EQ(MatchName(name, {"3", "городская"}, "n").score, 1.0);
  const double prefix = MatchName(name, {"город", "3"}, "n").score;
  EXPECT_GT(prefix, 0.9);
  EXPECT_LT(prefix, 1.0);
  const double typo = MatchName(name, {"поликлинника", "3"}, "n").score;
  EXPECT_GT(typo, 0.5);
  EXPECT_LT(typo, prefix);
  EXPECT_EQ(MatchName(name, {"поликлиника", "13"}, "n").score, 0);
  EXPECT_EQ(MatchName("Поликлиника №30", {"поликлиника", "3"}, "n").score, 0)
      << "numbers match whole";
  EXPECT_EQ(MatchName(name, {"больница"}, "n").score, 0);
}

TEST(WrapUpTest, PrecedentFromAWrapUpEvent) {
  events::v1::Event event;
  event.set_id("e1");
  auto* wrap_up = event.mutable_wrap_up_written();
  wrap_up->mutable_call()->set_call("calls/c-1");
  wrap_up->mutable_call()->set_operator_("operators/o-1");
  wrap_up->set_disposition("callback_needed");
  auto* proposed = wrap_up->mutable_new_precedent();
  proposed->set_problem("  " + std::string(4100, 'p') + " ");
  proposed->set_solution("Reset the router");
  proposed->add_tags("Router");
  proposed->add_tags("router");
  proposed->add_tags(" ");
  proposed->set_outcome("Escalated");
  auto precedent = PrecedentFromWrapUp(event);
  ASSERT_TRUE(precedent.ok()) << precedent.status();
  EXPECT_EQ(precedent->problem().size(), kMaxProblem) << "cut to the limit";
  EXPECT_EQ(precedent->tags_size(), 1);
  EXPECT_EQ(precedent->outcome(), v1::PRECEDENT_OUTCOME_ESCALATED);
  EXPECT_EQ(precedent->language(), v1::LANGUAGE_EN) << "detected";
  EXPECT_EQ(precedent->call(), "calls/c-1");
  EXPECT_EQ(precedent->author().name(), "operators/o-1");

  proposed->clear_outcome();
  wrap_up->set_disposition("resolved");
  proposed->set_language("ru");
  precedent = PrecedentFromWrapUp(event);
  EXPECT_EQ(precedent->outcome(), v1::PRECEDENT_OUTCOME_RESOLVED);
  EXPECT_EQ(precedent->language(), v1::LANGUAGE_RU);
  proposed->set_solution(" ");
  EXPECT_FALSE(PrecedentFromWrapUp(event).ok());
  wrap_up->clear_new_precedent();
  EXPECT_FALSE(PrecedentFromWrapUp(event).ok());
}

TEST(ImportTest, ItemErrorsNameTheField) {
  const common::v1::ItemError error =
      ItemErrorFromStatus(absl::InvalidArgumentError("invalid article.title: must not be empty"));
  EXPECT_EQ(error.code(), 3);
  EXPECT_EQ(error.field(), "article.title");
  EXPECT_EQ(ItemErrorFromStatus(absl::AlreadyExistsError("x")).field(), "");
}

}  // namespace
}  // namespace contactcentre::knowledge
