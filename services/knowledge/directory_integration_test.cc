// DirectoryService against the real PostgreSQL of the `servers` fixture: phone normalisation
// (short numbers too), the search tolerant of word order, number signs and typos, phone
// fragments, filters and opening status, etags, and bad input that changes nothing.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/knowledge/testing/knowledge_test_env.h"

namespace contactcentre::knowledge {
namespace {

using testing::Call;
using testing::KnowledgeTestEnv;
using Stub = v1::DirectoryService::Stub;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = KnowledgeTestEnv::Start();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::DirectoryEntry Create(const std::string& name, v1::OrganisationCategory category,
                            const std::string& city, std::vector<std::string> phones = {},
                            std::vector<std::string> alternative_names = {}) {
    v1::CreateDirectoryEntryRequest request;
    request.mutable_entry()->set_display_name(name);
    request.mutable_entry()->set_category(category);
    request.mutable_entry()->set_city(city);
    for (const std::string& phone : phones) {
      request.mutable_entry()->add_phones()->mutable_number()->set_raw(phone);
    }
    for (const std::string& alternative : alternative_names) {
      request.mutable_entry()->add_alternative_names(alternative);
    }
    v1::DirectoryEntry entry;
    grpc::Status status = Call(&Stub::CreateDirectoryEntry, env_->directory(), request, &entry);
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    return entry;
  }

  v1::SearchDirectoryResponse Search(const std::string& query,
                                     v1::SearchDirectoryRequest request = {}) {
    request.set_query(query);
    v1::SearchDirectoryResponse response;
    grpc::Status status = Call(&Stub::SearchDirectory, env_->directory(), request, &response);
    EXPECT_TRUE(status.ok()) << query << ": " << status.error_message();
    return response;
  }

  std::vector<std::string> Names(const v1::SearchDirectoryResponse& response) {
    std::vector<std::string> names;
    for (const auto& result : response.results()) names.push_back(result.entry().display_name());
    return names;
  }

  std::unique_ptr<KnowledgeTestEnv> env_;
};

TEST_F(DirectoryTest, PhonesAreNormalisedAndShortNumbersKept) {
  v1::CreateDirectoryEntryRequest request;
  v1::DirectoryEntry& entry = *request.mutable_entry();
  entry.set_display_name("  Городская поликлиника №3  ");
  entry.set_category(v1::ORGANISATION_CATEGORY_CLINIC);
  entry.add_phones()->mutable_number()->set_raw("8 (495) 123-45-67 доб. 123");
  entry.mutable_phones(0)->set_label("регистратура");
  entry.add_phones()->mutable_number()->set_raw("103");
  entry.set_website("https://gp3.example.ru");
  entry.mutable_opening_hours()->set_time_zone("Europe/Moscow");
  v1::DirectoryEntry created;
  ASSERT_TRUE(Call(&Stub::CreateDirectoryEntry, env_->directory(), request, &created).ok());
  EXPECT_EQ(created.display_name(), "Городская поликлиника №3");
  ASSERT_EQ(created.phones_size(), 2);
  EXPECT_EQ(created.phones(0).number().e164(), "+74951234567");
  EXPECT_EQ(created.phones(0).extension(), "123");
  EXPECT_FALSE(created.phones(0).short_number());
  EXPECT_EQ(created.phones(1).number().e164(), "");
  EXPECT_EQ(created.phones(1).number().raw(), "103");
  EXPECT_TRUE(created.phones(1).short_number());

  v1::GetDirectoryEntryRequest get;
  get.set_name(created.name());
  v1::DirectoryEntry read;
  ASSERT_TRUE(Call(&Stub::GetDirectoryEntry, env_->directory(), get, &read).ok());
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());

  // Bad input is refused naming the field, and nothing is stored.
  const auto expect_invalid = [&](const v1::DirectoryEntry& bad, const std::string& field) {
    v1::CreateDirectoryEntryRequest create;
    *create.mutable_entry() = bad;
    v1::DirectoryEntry ignored;
    grpc::Status status = Call(&Stub::CreateDirectoryEntry, env_->directory(), create, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(status.error_message().rfind(absl::StrCat("invalid ", field, ":"), 0), 0u)
        << status.error_message();
  };
  v1::DirectoryEntry bad = entry;
  bad.mutable_phones(1)->mutable_number()->set_raw("12ab");
  expect_invalid(bad, "entry.phones[1].number.raw");
  bad = entry;
  bad.set_category(v1::ORGANISATION_CATEGORY_UNSPECIFIED);
  expect_invalid(bad, "entry.category");
  bad = entry;
  bad.set_website("ftp://example.ru");
  expect_invalid(bad, "entry.website");
  bad = entry;
  bad.mutable_opening_hours()->set_time_zone("Mars/Olympus");
  expect_invalid(bad, "entry.opening_hours.time_zone");
  bad = entry;
  auto* window = bad.mutable_opening_hours()->add_windows();
  window->set_day(common::v1::DAY_OF_WEEK_MONDAY);
  window->set_start_minute(600);
  window->set_end_minute(500);
  expect_invalid(bad, "entry.opening_hours.windows[0]");
  bad = entry;
  bad.set_display_name("");
  expect_invalid(bad, "entry.display_name");
  v1::ListDirectoryEntriesResponse listed;
  ASSERT_TRUE(Call(&Stub::ListDirectoryEntries, env_->directory(),
                   v1::ListDirectoryEntriesRequest(), &listed)
                  .ok());
  EXPECT_EQ(listed.entries_size(), 1);
}

TEST_F(DirectoryTest, SearchToleratesWordOrderNumberSignsAndTypos) {
  const v1::DirectoryEntry gp3 =
      Create("Городская поликлиника №3", v1::ORGANISATION_CATEGORY_CLINIC, "Москва",
             {"+7 495 111-22-33"}, {"ГП 3"});
  Create("Городская поликлиника №13", v1::ORGANISATION_CATEGORY_CLINIC, "Москва");
  const v1::DirectoryEntry children = Create(
      "Детская поликлиника N 3", v1::ORGANISATION_CATEGORY_CLINIC, "Москва", {"84957778899"});
  Create("Городская больница №1", v1::ORGANISATION_CATEGORY_HOSPITAL, "Москва");
  Create("Отдел полиции «Арбат»", v1::ORGANISATION_CATEGORY_POLICE, "Москва", {"102"});
  Create("Городская поликлиника №3", v1::ORGANISATION_CATEGORY_CLINIC, "Санкт-Петербург");

  const std::vector<std::string> clinics3 = {"Городская поликлиника №3", "Городская поликлиника №3",
                                             "Детская поликлиника N 3"};
  for (const char* query :
       {"поликлиника 3", "3 поликлиника", "поликлиника №3", "Поликлиника N3", "поликлиника # 3"}) {
    std::vector<std::string> names = Names(Search(query));
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, clinics3) << query;
  }
  // A typo, and a prefix.
  EXPECT_EQ(Names(Search("поликлинника 3")).size(), 3u);
  EXPECT_EQ(Names(Search("детск полик")), std::vector<std::string>{"Детская поликлиника N 3"});
  // Exact matches score 1 and come first, with the matched words highlighted.
  v1::SearchDirectoryRequest moscow;
  moscow.set_city("москва");
  v1::SearchDirectoryResponse response = Search("городская поликлиника 3", moscow);
  ASSERT_GE(response.results_size(), 1);
  EXPECT_EQ(response.results(0).entry().name(), gp3.name());
  EXPECT_DOUBLE_EQ(response.results(0).score(), 1.0);
  int highlighted = 0;
  for (const auto& segment : response.results(0).matched_name().segments()) {
    highlighted += segment.highlighted();
  }
  EXPECT_GE(highlighted, 1);
  // Alternative names.
  response = Search("гп 3");
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).matched_name().field(), "alternative_names");
  // Every word must match.
  EXPECT_TRUE(Search("поликлиника 7").results().empty());
  // Phone fragments, also as dialled with the trunk prefix.
  EXPECT_EQ(Names(Search("111-22-33")), std::vector<std::string>{"Городская поликлиника №3"});
  EXPECT_EQ(Names(Search("8 (495) 777-88-99")),
            std::vector<std::string>{"Детская поликлиника N 3"});
  EXPECT_TRUE(Search("102").results().empty()) << "a phone fragment needs 4 digits";
  // Filters, also without a query.
  v1::SearchDirectoryRequest police;
  police.add_categories(v1::ORGANISATION_CATEGORY_POLICE);
  EXPECT_EQ(Names(Search("", police)), std::vector<std::string>{"Отдел полиции «Арбат»"});
  v1::SearchDirectoryRequest spb;
  spb.set_city("САНКТ-ПЕТЕРБУРГ");
  EXPECT_EQ(Search("поликлиника 3", spb).results_size(), 1);
  // Paging.
  v1::SearchDirectoryRequest paged;
  paged.set_page_size(2);
  response = Search("поликлиника", paged);
  ASSERT_EQ(response.results_size(), 2);
  paged.set_page_token(response.next_page_token());
  response = Search("поликлиника", paged);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_TRUE(response.next_page_token().empty());

  // Refused: empty query without filters, unknown category, too long.
  v1::SearchDirectoryResponse ignored;
  v1::SearchDirectoryRequest bad;
  grpc::Status status = Call(&Stub::SearchDirectory, env_->directory(), bad, &ignored);
  EXPECT_EQ(status.error_message().rfind("invalid query", 0), 0u) << status.error_message();
  bad.add_categories(static_cast<v1::OrganisationCategory>(99));
  status = Call(&Stub::SearchDirectory, env_->directory(), bad, &ignored);
  EXPECT_EQ(status.error_message().rfind("invalid categories[0]", 0), 0u);
  bad.Clear();
  bad.set_query(std::string(201, 'a'));
  EXPECT_EQ(Call(&Stub::SearchDirectory, env_->directory(), bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  (void)children;
}

TEST_F(DirectoryTest, OpenStatusFollowsTheScheduleInItsTimeZone) {
  v1::CreateDirectoryEntryRequest request;
  v1::DirectoryEntry& entry = *request.mutable_entry();
  entry.set_display_name("МФЦ Тверской");
  entry.set_category(v1::ORGANISATION_CATEGORY_GOVERNMENT);
  entry.mutable_opening_hours()->set_time_zone("Europe/Moscow");
  auto* window = entry.mutable_opening_hours()->add_windows();
  window->set_day(common::v1::DAY_OF_WEEK_MONDAY);
  window->set_start_minute(9 * 60);
  window->set_end_minute(18 * 60);
  entry.mutable_opening_hours()->add_closed_dates("2026-11-30");
  v1::DirectoryEntry created;
  ASSERT_TRUE(Call(&Stub::CreateDirectoryEntry, env_->directory(), request, &created).ok());
  Create("МФЦ Арбат", v1::ORGANISATION_CATEGORY_GOVERNMENT, "");

  v1::SearchDirectoryRequest search;
  // Monday 2026-11-23 10:00 in Moscow is 07:00 UTC.
  search.mutable_open_at()->set_seconds(1795417200);
  v1::SearchDirectoryResponse response = Search("мфц тверской", search);
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).open_status(), v1::OPEN_STATUS_OPEN);
  search.mutable_open_at()->set_seconds(1795417200 + 9 * 3600);  // 19:00
  EXPECT_EQ(Search("мфц тверской", search).results(0).open_status(), v1::OPEN_STATUS_CLOSED);
  search.mutable_open_at()->set_seconds(1795417200 + 7 * 86400);  // Monday 30th: closed date
  EXPECT_EQ(Search("мфц тверской", search).results(0).open_status(), v1::OPEN_STATUS_CLOSED);
  EXPECT_EQ(Search("мфц арбат", search).results(0).open_status(), v1::OPEN_STATUS_UNSPECIFIED);
}

TEST_F(DirectoryTest, UpdateWithEtagAndDelete) {
  v1::DirectoryEntry created =
      Create("Водоканал", v1::ORGANISATION_CATEGORY_UTILITY, "Казань", {"+7 843 231-62-00"});
  v1::UpdateDirectoryEntryRequest update;
  update.mutable_entry()->set_name(created.name());
  update.mutable_entry()->set_etag(created.etag());
  update.mutable_entry()->add_alternative_names("Водоканал Казани");
  update.mutable_entry()->set_notes("Аварийная служба круглосуточно");
  update.mutable_update_mask()->add_paths("alternative_names");
  update.mutable_update_mask()->add_paths("notes");
  v1::DirectoryEntry updated;
  ASSERT_TRUE(Call(&Stub::UpdateDirectoryEntry, env_->directory(), update, &updated).ok());
  EXPECT_EQ(updated.notes(), "Аварийная служба круглосуточно");
  EXPECT_EQ(updated.phones(0).number().e164(), "+78432316200") << "fields outside the mask stay";
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_EQ(Names(Search("водоканал казани")), std::vector<std::string>{"Водоканал"});
  EXPECT_EQ(Call(&Stub::UpdateDirectoryEntry, env_->directory(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);
  update.mutable_update_mask()->set_paths(0, "etag");
  EXPECT_EQ(Call(&Stub::UpdateDirectoryEntry, env_->directory(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::DeleteDirectoryEntryRequest remove;
  remove.set_name(created.name());
  remove.set_request_id("delete-once");
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteDirectoryEntry, env_->directory(), remove, &empty).ok());
  ASSERT_TRUE(Call(&Stub::DeleteDirectoryEntry, env_->directory(), remove, &empty).ok());
  EXPECT_TRUE(Search("водоканал").results().empty());
}

}  // namespace
}  // namespace contactcentre::knowledge
