// Unit tests of ccctl's pieces that need no server: CSV parsing, tables, field paths, CSV rows
// to items, the progress bar, event lines and --from, migrate targets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "contactcentre/calls/v1/admin_service.pb.h"
#include "contactcentre/customers/v1/customers_service.pb.h"
#include "contactcentre/events/v1/event.pb.h"
#include "tools/ccctl/csv.h"
#include "tools/ccctl/events.h"
#include "tools/ccctl/fields.h"
#include "tools/ccctl/import.h"
#include "tools/ccctl/migrate.h"
#include "tools/ccctl/output.h"
#include "tools/ccctl/progress.h"
#include "tools/ccctl/resources.h"

namespace contactcentre::ccctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::vector<std::string>> Fields(const std::vector<CsvRecord>& records) {
  std::vector<std::vector<std::string>> out;
  for (const CsvRecord& record : records) out.push_back(record.fields);
  return out;
}

TEST(CsvTest, PlainRecordsWithLfAndCrlf) {
  auto records = ParseCsv("a,b,c\r\n1,2,3\n4,,6");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_THAT(Fields(*records), ElementsAre(ElementsAre("a", "b", "c"), ElementsAre("1", "2", "3"),
                                            ElementsAre("4", "", "6")));
  EXPECT_EQ((*records)[0].line, 1);
  EXPECT_EQ((*records)[2].line, 3);
}

TEST(CsvTest, QuotedFieldsWithCommasQuotesAndNewlines) {
  auto records =
      ParseCsv("name,notes\n\"Петров, Иван\",\"он сказал \"\"да\"\"\nи ушёл\"\nx,\"\"\n");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_THAT((*records)[1].fields, ElementsAre("Петров, Иван", "он сказал \"да\"\nи ушёл"));
  EXPECT_EQ((*records)[1].line, 2);
  // The record after a field spanning two lines starts on line 4.
  EXPECT_EQ((*records)[2].line, 4);
  EXPECT_THAT((*records)[2].fields, ElementsAre("x", ""));
}

TEST(CsvTest, BomEmptyLinesAndTrailingComma) {
  auto records = ParseCsv(
      "\xEF\xBB\xBF"
      "a,b\n\n1,\n\r\n");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_THAT(Fields(*records), ElementsAre(ElementsAre("a", "b"), ElementsAre("1", "")));
  EXPECT_EQ((*records)[1].line, 3);
}

TEST(CsvTest, MalformedQuotingIsAnErrorNamingTheLine) {
  auto unclosed = ParseCsv("a\n\"never closed\nstill");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_THAT(unclosed.status().message(), HasSubstr("line 2"));
  auto stray = ParseCsv("a\nab\"c\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_THAT(stray.status().message(), HasSubstr("line 2"));
  auto after = ParseCsv("\"a\"b,c\n");
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.status().message(), HasSubstr("line 1"));
}

TEST(CsvTest, EscapeRoundTrips) {
  const std::vector<std::string> fields = {"plain",      "a,b",  "say \"hi\"",
                                           "two\nlines", " pad", "Ёлка"};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + CsvEscape(fields[i]);
  auto records = ParseCsv(line);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].fields, fields);
  EXPECT_EQ(CsvEscape("plain"), "plain");
}

TEST(TableTest, AlignsByCodePointsNotBytes) {
  const std::string table =
      FormatTable({"ID", "NAME"}, {{"1", "Продажи"}, {"22", "Sales"}, {"3", ""}});
  EXPECT_EQ(table,
            "ID   NAME\n"
            "1    Продажи\n"
            "22   Sales\n"
            "3\n");
  const std::string wide = FormatTable({"A", "B"}, {{"Очередь", "x"}, {"q", "y"}});
  EXPECT_EQ(wide,
            "A         B\n"
            "Очередь   x\n"
            "q         y\n");
}

TEST(TableTest, CutsLongCellsAndFlattensNewlines) {
  EXPECT_EQ(DisplayWidth("Привет"), 6u);
  EXPECT_EQ(TruncateToWidth("Приветствие", 5), "Прив…");
  EXPECT_EQ(TruncateToWidth("abc", 5), "abc");
  EXPECT_EQ(FormatTable({"X"}, {{"a\nb\tc"}}), "X\na b c\n");
  EXPECT_EQ(FormatTable({"X"}, {{std::string(80, 'z')}}, 10), "X\n" + std::string(9, 'z') + "…\n");
}

TEST(FieldsTest, SetsScalarsEnumsDurationsRepeatedAndNested) {
  calls::v1::Queue queue;
  ASSERT_TRUE(SetFieldByPath(queue, "display_name", "Продажи").ok());
  ASSERT_TRUE(SetFieldByPath(queue, "strategy", "longest_idle").ok());
  ASSERT_TRUE(SetFieldByPath(queue, "ring_timeout", "20s").ok());
  ASSERT_TRUE(SetFieldByPath(queue, "default_priority", "3").ok());
  ASSERT_TRUE(SetFieldByPath(queue, "required_skills.skill", "skills/a; skills/b").ok());
  ASSERT_TRUE(ApplyAssignment(queue, "serviceLevelTargetPercent=80").ok());
  EXPECT_EQ(queue.display_name(), "Продажи");
  EXPECT_EQ(queue.strategy(), calls::v1::QUEUE_STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(queue.ring_timeout().seconds(), 20);
  EXPECT_EQ(queue.default_priority(), 3);
  ASSERT_EQ(queue.required_skills_size(), 2);
  EXPECT_EQ(queue.required_skills(1).skill(), "skills/b");
  EXPECT_EQ(queue.service_level_target_percent(), 80);
  // JSON for a field the path goes past sets whole elements.
  calls::v1::Queue by_json;
  ASSERT_TRUE(
      SetFieldByPath(by_json, "required_skills.skill", R"([{"skill":"skills/c","level":4}])").ok());
  ASSERT_EQ(by_json.required_skills_size(), 1);
  EXPECT_EQ(by_json.required_skills(0).level(), 4);

  EXPECT_EQ(FieldText(queue, "strategy"), "LONGEST_IDLE");
  EXPECT_EQ(FieldText(queue, "ring_timeout"), "20s");
  EXPECT_EQ(FieldText(queue, "required_skills.skill"), "skills/a,skills/b");
  EXPECT_EQ(FieldText(queue, "description"), "");
  EXPECT_EQ(FieldText(queue, "no_such_field"), "");
}

TEST(FieldsTest, JsonMapsAndErrors) {
  calls::v1::Operator op;
  ASSERT_TRUE(
      SetFieldByPath(op, "skills", R"([{"skill":"skills/x","level":5},{"skill":"skills/y"}])")
          .ok());
  ASSERT_TRUE(SetFieldByPath(op, "languages", "ru;en").ok());
  calls::v1::Operator shorthand;
  ASSERT_TRUE(SetFieldByPath(shorthand, "skills", "skills/a:7; skills/b").ok());
  ASSERT_EQ(shorthand.skills_size(), 2);
  EXPECT_EQ(shorthand.skills(0).skill(), "skills/a");
  EXPECT_EQ(shorthand.skills(0).level(), 7);
  EXPECT_EQ(shorthand.skills(1).skill(), "skills/b");
  EXPECT_EQ(shorthand.skills(1).level(), 0);
  EXPECT_EQ(op.skills_size(), 2);
  EXPECT_EQ(op.skills(0).level(), 5);
  EXPECT_THAT(op.languages(), ElementsAre("ru", "en"));
  EXPECT_EQ(FieldText(op, "languages"), "ru,en");

  customers::v1::Customer customer;
  ASSERT_TRUE(SetFieldByPath(customer, "attributes", "contract=A-17; segment=retail").ok());
  EXPECT_EQ(customer.attributes().at("segment"), "retail");
  ASSERT_TRUE(
      SetFieldByPath(customer, "phones.number.raw", "8 (495) 123-45-67;+7 916 000 0000").ok());
  ASSERT_EQ(customer.phones_size(), 2);
  EXPECT_EQ(customer.phones(0).number().raw(), "8 (495) 123-45-67");

  absl::Status bad_enum = SetFieldByPath(op, "role", "KING");
  EXPECT_EQ(bad_enum.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_enum.message(), HasSubstr("role"));
  EXPECT_THAT(bad_enum.message(), HasSubstr("SUPERVISOR"));
  EXPECT_FALSE(SetFieldByPath(op, "no_such", "x").ok());
  EXPECT_FALSE(SetFieldByPath(op, "disabled", "maybe").ok());
  EXPECT_FALSE(ApplyAssignment(op, "no equals sign").ok());
  EXPECT_TRUE(CheckFieldPath(*customers::v1::Customer::descriptor(), "phones.number.raw").ok());
  EXPECT_FALSE(CheckFieldPath(*customers::v1::Customer::descriptor(), "phones.nope").ok());
}

TEST(FieldsTest, TableOfMessagesShowsIdsAndTimes) {
  calls::v1::Queue queue;
  queue.set_name("queues/0193-abc");
  queue.set_display_name("Sales");
  queue.mutable_create_time()->set_seconds(1764320400);  // 2025-11-28 09:00:00 UTC
  const std::string table = MessagesTable(
      {&queue}, {{"ID", "id"}, {"DISPLAY_NAME", "display_name"}, {"CREATED", "create_time"}});
  EXPECT_EQ(table,
            "ID         DISPLAY_NAME   CREATED\n"
            "0193-abc   Sales          2025-11-28 09:00:00\n");
  EXPECT_THAT(MessagesJson({&queue, &queue}), HasSubstr("\"displayName\": \"Sales\""));
  EXPECT_EQ(MessagesJson({}), "[]\n");
}

TEST(ImportRowsTest, CustomersCsvWithAliasesAndABadRow) {
  const Resource* customers = FindResource("customers");
  ASSERT_NE(customers, nullptr);
  auto rows = RowsFromCsv(*customers,
                          "display_name,phones,tags,attributes\n"
                          "\"Иванов, Иван\",8 (495) 123-45-67;+7 916 000 00 00,vip;retail,a=1\n"
                          "Too,many,fields,here,x\n"
                          "Пётр,,,\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  const auto& first = (*rows)[0];
  ASSERT_NE(first.item, nullptr);
  EXPECT_EQ(first.line, 2);
  EXPECT_EQ(FieldText(*first.item, "display_name"), "Иванов, Иван");
  EXPECT_EQ(FieldText(*first.item, "phones.number.raw"), "8 (495) 123-45-67,+7 916 000 00 00");
  EXPECT_EQ(FieldText(*first.item, "tags"), "vip,retail");
  EXPECT_EQ((*rows)[1].item, nullptr);
  EXPECT_THAT((*rows)[1].error, HasSubstr("5 fields"));
  ASSERT_NE((*rows)[2].item, nullptr);
  EXPECT_EQ((*rows)[2].line, 4);

  auto bad_header = RowsFromCsv(*customers, "display_name,shoe_size\nx,42\n");
  ASSERT_FALSE(bad_header.ok());
  EXPECT_THAT(bad_header.status().message(), HasSubstr("shoe_size"));
}

TEST(ImportRowsTest, BadCellIsThatRowsError) {
  const Resource* queues = FindResource("queue");
  ASSERT_NE(queues, nullptr);
  auto rows = RowsFromCsv(*queues, "display_name,strategy\nA,RANDOM\nB,SIDEWAYS\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_NE((*rows)[0].item, nullptr);
  EXPECT_EQ((*rows)[1].item, nullptr);
  EXPECT_THAT((*rows)[1].error, HasSubstr("strategy"));
}

TEST(ImportRowsTest, MembershipColumnsMayNameTheCreateRequestsFields) {
  const Resource* memberships = FindResource("memberships");
  ASSERT_NE(memberships, nullptr);
  auto rows = RowsFromCsv(*memberships, "queue,operator,tier\nqueues/q1,operators/o1,2\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  ASSERT_NE((*rows)[0].request, nullptr);
  EXPECT_EQ(FieldText(*(*rows)[0].request, "parent"), "queues/q1");
  EXPECT_EQ(FieldText(*(*rows)[0].item, "operator"), "operators/o1");
  EXPECT_EQ(FieldText(*(*rows)[0].item, "tier"), "2");
  // Bulk streams carry items only.
  EXPECT_FALSE(RowsFromCsv(*FindResource("customers"), "request_id\nx\n").ok());
}

TEST(ResourcesTest, EveryResourceResolvesItsMethods) {
  for (const Resource& resource : AllResources()) {
    SCOPED_TRACE(resource.plural);
    ASSERT_NE(resource.method(resource.get_method), nullptr);
    ASSERT_NE(resource.method(resource.list_method), nullptr);
    if (!resource.create_method.empty()) {
      EXPECT_NE(resource.method(resource.create_method), nullptr);
    }
    if (!resource.update_method.empty()) {
      EXPECT_NE(resource.method(resource.update_method), nullptr);
    }
    if (!resource.delete_method.empty()) {
      EXPECT_NE(resource.method(resource.delete_method), nullptr);
    }
    if (!resource.import_method.empty()) {
      EXPECT_NE(resource.method(resource.import_method), nullptr);
    }
    for (const Column& column : resource.columns) {
      if (column.path != "id") {
        EXPECT_TRUE(CheckFieldPath(resource.type(), column.path).ok()) << column.path;
      }
    }
    for (const auto& [alias, path] : resource.csv_aliases) {
      const auto* create = resource.method(resource.create_method);
      EXPECT_TRUE(CheckFieldPath(resource.type(), path).ok() ||
                  (create != nullptr && CheckFieldPath(*create->input_type(), path).ok()))
          << alias;
    }
  }
  EXPECT_EQ(FindResource("q")->plural, "queues");
  EXPECT_EQ(FindResource("nope"), nullptr);
  EXPECT_EQ(FindResource("queues")->FullName("x"), "queues/x");
  EXPECT_EQ(FindResource("queues")->FullName("queues/x"), "queues/x");
  EXPECT_EQ(FindResource("directory")->FullName("x"), "directoryEntries/x");
}

TEST(ProgressTest, BarAndPlainLines) {
  EXPECT_EQ(ProgressBar(5, 10, 0, 10), "[#####-----]  50%  5/10 rows");
  EXPECT_EQ(ProgressBar(10, 10, 2, 4), "[####] 100%  10/10 rows, 2 failed");
  EXPECT_EQ(ProgressBar(0, 0, 0, 2), "[##] 100%  0/0 rows");

  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    Progress progress(out, /*tty=*/false, 3, "import customers", absl::Hours(1));
    progress.Update(1, 0);  // the first update prints
    progress.Update(2, 0);  // within the interval: silent
    progress.Message("line 3: bad");
    progress.Finish();  // prints 2/3
    progress.Finish();  // nothing new: silent
  }
  std::fclose(out);
  EXPECT_EQ(std::string(buffer, size),
            "import customers: 1/3 rows, 0 failed\n"
            "line 3: bad\n"
            "import customers: 2/3 rows, 0 failed\n");
  free(buffer);
}

TEST(EventsTest, StartIdsAndLines) {
  const absl::Time now = absl::FromUnixMillis(1764320400000);
  EXPECT_EQ(*StartIdFor("$", now), "$");
  EXPECT_EQ(*StartIdFor("0", now), "0-0");
  EXPECT_EQ(*StartIdFor("1764320400000-3", now), "1764320400000-3");
  EXPECT_EQ(*StartIdFor("10m", now), "1764319800000-0");
  EXPECT_FALSE(StartIdFor("yesterday", now).ok());

  events::v1::Event event;
  event.set_producer("services/customers");
  event.mutable_occurred_at()->set_seconds(1764320400);
  event.mutable_customer_created()->set_customer("customers/c1");
  const std::string line = FormatEvent("1764320400000-0", event, OutputFormat::kTable);
  EXPECT_THAT(line, HasSubstr("1764320400000-0  2025-11-28T09:00:00Z  customer_created  "
                              "services/customers  {"));
  EXPECT_THAT(line, HasSubstr("customers/c1"));
  const std::string json = FormatEvent("1764320400000-0", event, OutputFormat::kJson);
  EXPECT_THAT(json, HasSubstr("\"customerCreated\""));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(MigrateTest, TargetsAppendTheDatabaseOrTakeOverrides) {
  auto targets = MigrateTargets("host=h port=1 user=u", {{"customers", "dbname=custom"}}, {});
  ASSERT_TRUE(targets.ok());
  ASSERT_EQ(targets->size(), 5u);
  EXPECT_EQ((*targets)[0].service, "calls");
  EXPECT_EQ((*targets)[0].dsn, "host=h port=1 user=u dbname=cc_calls");
  EXPECT_EQ((*targets)[1].dsn, "dbname=custom");
  auto only = MigrateTargets("x=1", {}, {"knowledge"});
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].dsn, "x=1 dbname=cc_knowledge");
  EXPECT_FALSE(MigrateTargets("x=1", {}, {"billing"}).ok());
}

}  // namespace
}  // namespace contactcentre::ccctl
