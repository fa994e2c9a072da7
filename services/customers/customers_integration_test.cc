// The customers service over real gRPC against the real PostgreSQL and Redis of the test run:
// every capability of the service, each test on its own database and site.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/grpc_server.h"
#include "common/migrations.h"
#include "common/pg_util.h"
#include "common/schema.h"
#include "common/testing/test_servers.h"
#include "services/customers/customers_module.h"
#include "services/customers/schema.h"

namespace contactcentre::customers {
namespace {

using common::testing::TestServers;
using v1::CustomersService;

class CustomersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(common::ApplyMigrations(db_.dsn(), "common", common::SchemaMigrations()).ok());
    ASSERT_TRUE(common::ApplyMigrations(db_.dsn(), "customers", SchemaMigrations()).ok());
    pg_ = std::move(*common::PgPool::Create(
        {.dsn = db_.dsn(),
         .size = 8,
         .prepared_statements = {{"lookup_by_phone", LookupByPhoneSql()}}}));
    redis_ = std::move(*common::RedisClient::Create(TestServers::Get().Redis()));
    publisher_ = std::make_unique<common::EventPublisher>(
        redis_.get(),
        common::EventPublisher::Options{.site = site_, .producer = "services/customers"});
    outbox_ = std::make_unique<common::OutboxRelay>(pg_.get(), publisher_.get(),
                                                    common::OutboxRelay::Options{});
    module_ = std::make_unique<CustomersModule>(pg_.get(), redis_.get(), publisher_.get(),
                                                outbox_.get(), site_, CustomersOptions{});
    auto server =
        common::GrpcServer::Start({.listen_address = "127.0.0.1:0"}, module_->GrpcServices());
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    stub_ =
        CustomersService::NewStub(common::MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }

  void TearDown() override {
    module_->OnShutdown();
    server_->Shutdown();
    outbox_->Stop();
    common::testing::DeleteSiteKeys(site_);
  }

  // Calls a unary method of the stub with a deadline.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (CustomersService::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                    const Request& request, Response* response) {
    auto context = common::ContextWithTimeout(absl::Seconds(20));
    return (stub_.get()->*method)(context.get(), request, response);
  }

  v1::Customer Create(const std::string& family, const std::vector<std::string>& phones,
                      const std::string& request_id = "") {
    v1::CreateCustomerRequest request;
    request.mutable_customer()->set_family_name(family);
    request.mutable_customer()->set_given_name("Иван");
    for (const std::string& phone : phones) {
      request.mutable_customer()->add_phones()->mutable_number()->set_raw(phone);
    }
    request.set_request_id(request_id);
    v1::Customer created;
    grpc::Status status = Call(&CustomersService::Stub::CreateCustomer, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  int64_t Count(const std::string& sql) {
    return *pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec1(sql)[0].as<int64_t>();
    });
  }

  grpc::Status Lookup(const std::string& phone, v1::LookupByPhoneResponse* response) {
    v1::LookupByPhoneRequest request;
    request.set_phone_number(phone);
    return Call(&CustomersService::Stub::LookupByPhone, request, response);
  }

  // One import stream: the messages in order (each answered before the next is sent), then
  // the summary.
  std::pair<std::vector<v1::CustomerImportResult>, v1::ImportCustomersSummary> ImportMessages(
      const std::string& request_id,
      const std::vector<std::vector<v1::CustomerImportRow>>& messages,
      v1::ImportMode mode = v1::IMPORT_MODE_UPSERT) {
    auto context = common::ContextWithTimeout(absl::Seconds(30));
    auto stream = stub_->ImportCustomers(context.get());
    std::vector<v1::CustomerImportResult> results;
    bool first = true;
    for (const auto& rows : messages) {
      v1::ImportCustomersRequest request;
      if (first) {
        request.set_request_id(request_id);
        request.mutable_options()->set_mode(mode);
        first = false;
      }
      for (const auto& row : rows) *request.add_rows() = row;
      EXPECT_TRUE(stream->Write(request));
      v1::ImportCustomersResponse response;
      EXPECT_TRUE(stream->Read(&response));
      for (const auto& result : response.results()) results.push_back(result);
    }
    stream->WritesDone();
    v1::ImportCustomersResponse last;
    EXPECT_TRUE(stream->Read(&last));
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {results, last.summary()};
  }

  common::testing::TestDatabase db_;
  const std::string site_ = common::testing::UniqueTestSite();
  std::unique_ptr<common::PgPool> pg_;
  std::unique_ptr<common::RedisClient> redis_;
  std::unique_ptr<common::EventPublisher> publisher_;
  std::unique_ptr<common::OutboxRelay> outbox_;
  std::unique_ptr<CustomersModule> module_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<CustomersService::Stub> stub_;
};

TEST_F(CustomersTest, TheThreePhoneFormatsFindOneCustomer) {
  const v1::Customer created = Create("Петров", {"8 (495) 123-45-67"});
  for (const char* format : {"8 (495) 123-45-67", "+7 495 123 45 67", "84951234567"}) {
    v1::LookupByPhoneResponse found;
    grpc::Status status = Lookup(format, &found);
    ASSERT_TRUE(status.ok()) << format << ": " << status.error_message();
    EXPECT_EQ(found.customer().name(), created.name()) << format;
    EXPECT_EQ(found.e164(), "+74951234567");
  }
  v1::LookupByPhoneResponse missing;
  EXPECT_EQ(Lookup("+7 495 000 00 00", &missing).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status bad = Lookup("not a phone", &missing);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("phone_number"), std::string::npos);
}

TEST_F(CustomersTest, AnInvalidPhoneChangesNothing) {
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Сидоров");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+7 495 123 45 67");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("12345");
  v1::Customer created;
  grpc::Status status = Call(&CustomersService::Stub::CreateCustomer, request, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("customer.phones[1].number.raw"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_phones"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
}

TEST_F(CustomersTest, ARetriedCreateWithTheSameRequestIdCreatesOneCustomer) {
  const v1::Customer first = Create("Кузнецов", {"+79161112233"}, "create-1");
  const v1::Customer again = Create("Кузнецов", {"+79161112233"}, "create-1");
  EXPECT_EQ(first.name(), again.name());
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 1);
  // The same request_id with another request is refused, not answered with the first card.
  v1::CreateCustomerRequest other;
  other.mutable_customer()->set_family_name("Другой");
  other.set_request_id("create-1");
  v1::Customer ignored;
  grpc::Status status = Call(&CustomersService::Stub::CreateCustomer, other, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("request_id"), std::string::npos);
}

TEST_F(CustomersTest, OneNumberBelongsToOneCustomer) {
  const v1::Customer owner = Create("Владелец", {"+79160000001"});
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Второй");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+7 916 555-00-02");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("8 916 000 00 01");
  v1::Customer created;
  grpc::Status status = Call(&CustomersService::Stub::CreateCustomer, request, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(status.error_message().find("customer.phones[1]"), std::string::npos);
  EXPECT_NE(status.error_message().find(owner.name()), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 1);
}

TEST_F(CustomersTest, TwoConcurrentUpdatesWithOneEtagOneWinsOneIsAborted) {
  const v1::Customer card = Create("Смирнов", {"+79161234567"});
  for (int round = 0; round < 5; ++round) {
    v1::Customer current;
    v1::GetCustomerRequest get;
    get.set_name(card.name());
    ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &current).ok());
    auto update = [&](const std::string& name) {
      v1::UpdateCustomerRequest request;
      *request.mutable_customer() = current;
      request.mutable_customer()->set_middle_name(name);
      request.mutable_update_mask()->add_paths("middle_name");
      auto stub = CustomersService::NewStub(
          common::MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
      v1::Customer response;
      auto context = common::ContextWithTimeout(absl::Seconds(20));
      return stub->UpdateCustomer(context.get(), request, &response);
    };
    auto a = std::async(std::launch::async, update, absl::StrCat("Петрович", round));
    auto b = std::async(std::launch::async, update, absl::StrCat("Сергеевич", round));
    grpc::Status first = a.get();
    grpc::Status second = b.get();
    EXPECT_NE(first.ok(), second.ok()) << first.error_message() << " / " << second.error_message();
    const grpc::Status& loser = first.ok() ? second : first;
    EXPECT_EQ(loser.error_code(), grpc::StatusCode::ABORTED);
    EXPECT_NE(loser.error_message().find("ETAG_MISMATCH"), std::string::npos);
    v1::Customer after;
    ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &after).ok());
    EXPECT_EQ(after.middle_name(),
              first.ok() ? absl::StrCat("Петрович", round) : absl::StrCat("Сергеевич", round));
    EXPECT_EQ(std::stoll(after.etag()), std::stoll(current.etag()) + 1);
  }
}

TEST_F(CustomersTest, UpdateAppliesTheMaskOnlyAndRefusesWhatItMustNot) {
  const v1::Customer card = Create("Орлов", {"+79160000011"});
  v1::UpdateCustomerRequest request;
  *request.mutable_customer() = card;
  request.mutable_customer()->set_family_name("Соколов");
  request.mutable_customer()->set_given_name("Changed but not in mask");
  request.mutable_customer()->clear_phones();
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+79160000012");
  request.mutable_update_mask()->add_paths("family_name");
  request.mutable_update_mask()->add_paths("phones");
  v1::Customer updated;
  ASSERT_TRUE(Call(&CustomersService::Stub::UpdateCustomer, request, &updated).ok());
  EXPECT_EQ(updated.family_name(), "Соколов");
  EXPECT_EQ(updated.given_name(), "Иван");
  ASSERT_EQ(updated.phones_size(), 1);
  v1::LookupByPhoneResponse found;
  EXPECT_EQ(Lookup("+79160000011", &found).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Lookup("+79160000012", &found).ok());

  v1::Customer ignored;
  request.mutable_customer()->set_etag(updated.etag());
  request.mutable_update_mask()->add_paths("consents");
  EXPECT_EQ(Call(&CustomersService::Stub::UpdateCustomer, request, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.mutable_update_mask()->clear_paths();
  EXPECT_EQ(Call(&CustomersService::Stub::UpdateCustomer, request, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.mutable_update_mask()->add_paths("family_name");
  request.mutable_customer()->clear_etag();
  grpc::Status no_etag = Call(&CustomersService::Stub::UpdateCustomer, request, &ignored);
  EXPECT_EQ(no_etag.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_etag.error_message().find("customer.etag"), std::string::npos);
}

TEST_F(CustomersTest, ListPagesAndFilters) {
  std::vector<std::string> names;
  for (int i = 0; i < 7; ++i) {
    v1::CreateCustomerRequest request;
    request.mutable_customer()->set_family_name(absl::StrCat("Клиент", i));
    request.mutable_customer()->add_tags(i % 2 == 0 ? "Debtor" : "corporate");
    v1::Customer created;
    ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &created).ok());
    names.push_back(created.name());
  }
  v1::SetFlagRequest vip;
  vip.set_customer(names[3]);
  vip.set_kind(v1::FLAG_KIND_VIP);
  vip.set_value(true);
  v1::Customer flagged;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetFlag, vip, &flagged).ok());

  std::vector<std::string> seen;
  v1::ListCustomersRequest list;
  list.set_page_size(3);
  do {
    v1::ListCustomersResponse page;
    ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, list, &page).ok());
    EXPECT_LE(page.customers_size(), 3);
    for (const auto& customer : page.customers()) seen.push_back(customer.name());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()),
            std::set<std::string>(names.begin(), names.end()));
  EXPECT_EQ(seen.size(), names.size());
  EXPECT_EQ(seen.back(), names[3]);  // changed last, listed last

  v1::ListCustomersRequest debtors;
  debtors.add_tags("DEBTOR");
  v1::ListCustomersResponse page;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, debtors, &page).ok());
  EXPECT_EQ(page.customers_size(), 4);
  v1::ListCustomersRequest vips;
  vips.set_flag(v1::FLAG_KIND_VIP);
  ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, vips, &page).ok());
  ASSERT_EQ(page.customers_size(), 1);
  EXPECT_EQ(page.customers(0).name(), names[3]);
  v1::ListCustomersRequest since;
  *since.mutable_updated_since() = flagged.update_time();
  ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, since, &page).ok());
  EXPECT_EQ(page.customers_size(), 1);

  // A token from other filters is refused.
  list.set_page_token("");
  v1::ListCustomersResponse first;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, list, &first).ok());
  debtors.set_page_token(first.next_page_token());
  grpc::Status wrong = Call(&CustomersService::Stub::ListCustomers, debtors, &page);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(wrong.error_message().find("page_token"), std::string::npos);
}

TEST_F(CustomersTest, SearchFindsNamesPhonesAndEmails) {
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Фёдоров");
  request.mutable_customer()->set_given_name("Алексей");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+7 916 765-43-21");
  request.mutable_customer()->add_emails()->set_address("Alexey.F@Mail.example");
  v1::Customer fedorov;
  ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &fedorov).ok());
  Create("Smith", {"+16502530000"});
  Create("Фомин", {});

  auto search = [&](const std::string& query) {
    v1::SearchCustomersRequest search_request;
    search_request.set_query(query);
    v1::SearchCustomersResponse response;
    grpc::Status status = Call(&CustomersService::Stub::SearchCustomers, search_request, &response);
    EXPECT_TRUE(status.ok()) << query << ": " << status.error_message();
    std::vector<std::string> found;
    for (const auto& result : response.results()) found.push_back(result.customer().name());
    return std::make_pair(found, response);
  };
  for (const char* query : {"федоров", "ФЁДОРОВ", "Федорв", "алексей федоров", "федоров алекс"}) {
    auto [found, response] = search(query);
    ASSERT_FALSE(found.empty()) << query;
    EXPECT_EQ(found[0], fedorov.name()) << query;
    EXPECT_EQ(response.results(0).matched_field(), v1::SEARCH_MATCH_FIELD_NAME);
  }
  EXPECT_EQ(search("smith").first.size(), 1u);
  EXPECT_TRUE(search("Ivanov").first.empty());  // no transliteration
  auto [by_phone, phone_response] = search("765-43");
  ASSERT_EQ(by_phone.size(), 1u);
  EXPECT_EQ(by_phone[0], fedorov.name());
  EXPECT_EQ(phone_response.results(0).matched_value(), "+79167654321");
  auto [exact_phone, exact_response] = search("8 916 765 43 21");
  ASSERT_EQ(exact_phone.size(), 1u);
  EXPECT_DOUBLE_EQ(exact_response.results(0).score(), 1.0);
  EXPECT_EQ(search("alexey.f@").first, std::vector<std::string>{fedorov.name()});
  EXPECT_EQ(search("ALEXEY.F@MAIL.EXAMPLE").second.results(0).score(), 1.0);

  for (const char* bad : {"", "   ", "ф", "12-3"}) {
    v1::SearchCustomersRequest search_request;
    search_request.set_query(bad);
    v1::SearchCustomersResponse response;
    grpc::Status status = Call(&CustomersService::Stub::SearchCustomers, search_request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.error_message().find("query"), std::string::npos);
  }
}

TEST_F(CustomersTest, ConsentsAndFlagsKeepTheirHistory) {
  const v1::Customer card = Create("Морозов", {"+79160000021"});
  v1::SetConsentRequest consent;
  consent.set_customer(card.name());
  consent.set_kind(v1::CONSENT_KIND_DO_NOT_CALL);
  consent.set_value(true);
  consent.set_source(v1::CONSENT_SOURCE_OPERATOR);
  consent.set_call("calls/abc");
  consent.set_evidence("said on the call");
  v1::Customer after;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetConsent, consent, &after).ok());
  EXPECT_TRUE(after.consents().do_not_call().value());
  EXPECT_EQ(after.consents().do_not_call().source(), v1::CONSENT_SOURCE_OPERATOR);
  EXPECT_NE(after.etag(), card.etag());
  consent.set_value(false);
  consent.set_source(v1::CONSENT_SOURCE_WRITTEN);
  ASSERT_TRUE(Call(&CustomersService::Stub::SetConsent, consent, &after).ok());
  consent.set_source(v1::CONSENT_SOURCE_UNSPECIFIED);
  v1::Customer ignored;
  EXPECT_EQ(Call(&CustomersService::Stub::SetConsent, consent, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListConsentHistoryRequest history;
  history.set_parent(card.name());
  v1::ListConsentHistoryResponse changes;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListConsentHistory, history, &changes).ok());
  ASSERT_EQ(changes.consent_changes_size(), 2);
  EXPECT_EQ(changes.consent_changes(0).state().source(), v1::CONSENT_SOURCE_WRITTEN);  // newest
  EXPECT_TRUE(changes.consent_changes(0).previous_value());
  EXPECT_FALSE(changes.consent_changes(1).previous_value());

  v1::SetFlagRequest abusive;
  abusive.set_customer(card.name());
  abusive.set_kind(v1::FLAG_KIND_ABUSIVE);
  abusive.set_value(true);
  grpc::Status no_reason = Call(&CustomersService::Stub::SetFlag, abusive, &ignored);
  EXPECT_EQ(no_reason.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_reason.error_message().find("reason"), std::string::npos);
  abusive.set_reason("insulted operators on 3 calls");
  abusive.mutable_actor()->set_name("operators/7");
  *abusive.mutable_expire_time() = common::TimestampFromTime(absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(Call(&CustomersService::Stub::SetFlag, abusive, &after).ok());
  EXPECT_TRUE(after.flags().abusive().value());
  EXPECT_EQ(after.flags().abusive().set_by().name(), "operators/7");
  absl::SleepFor(absl::Milliseconds(1200));
  v1::GetCustomerRequest get;
  get.set_name(card.name());
  ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &after).ok());
  EXPECT_FALSE(after.flags().abusive().value());  // lapsed
  v1::ListFlagHistoryRequest flag_history;
  flag_history.set_parent(card.name());
  v1::ListFlagHistoryResponse flag_changes;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListFlagHistory, flag_history, &flag_changes).ok());
  ASSERT_EQ(flag_changes.flag_changes_size(), 1);
  EXPECT_EQ(flag_changes.flag_changes(0).state().reason(), "insulted operators on 3 calls");
}

TEST_F(CustomersTest, NotesAppearInNotesAndContactHistory) {
  const v1::Customer card = Create("Волков", {});
  for (int i = 0; i < 3; ++i) {
    v1::AddNoteRequest request;
    request.set_parent(card.name());
    request.mutable_note()->set_text(absl::StrCat("заметка ", i));
    request.mutable_note()->mutable_author()->set_name("operators/1");
    v1::Note note;
    ASSERT_TRUE(Call(&CustomersService::Stub::AddNote, request, &note).ok());
    EXPECT_EQ(note.name().rfind(absl::StrCat(card.name(), "/notes/"), 0), 0u);
  }
  v1::AddNoteRequest empty;
  empty.set_parent(card.name());
  v1::Note ignored;
  EXPECT_EQ(Call(&CustomersService::Stub::AddNote, empty, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListNotesRequest list;
  list.set_parent(card.name());
  list.set_page_size(2);
  v1::ListNotesResponse notes;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListNotes, list, &notes).ok());
  ASSERT_EQ(notes.notes_size(), 2);
  EXPECT_EQ(notes.notes(0).text(), "заметка 2");
  list.set_page_token(notes.next_page_token());
  ASSERT_TRUE(Call(&CustomersService::Stub::ListNotes, list, &notes).ok());
  ASSERT_EQ(notes.notes_size(), 1);
  EXPECT_EQ(notes.notes(0).text(), "заметка 0");
  EXPECT_TRUE(notes.next_page_token().empty());
  v1::ListContactHistoryRequest history;
  history.set_parent(card.name());
  v1::ListContactHistoryResponse entries;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListContactHistory, history, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 3);
  EXPECT_EQ(entries.entries(0).kind(), v1::CONTACT_KIND_NOTE);
  EXPECT_EQ(entries.entries(0).note().text(), "заметка 2");
}

events::v1::Event CallCompleted(const std::string& event_id, const std::string& customer,
                                const std::string& call) {
  events::v1::Event event;
  event.set_id(event_id);
  *event.mutable_occurred_at() = common::TimestampFromTime(absl::Now());
  auto* completed = event.mutable_call_completed();
  completed->mutable_call()->set_call(call);
  completed->mutable_call()->set_customer(customer);
  completed->mutable_call()->set_queue("queues/billing");
  completed->mutable_call()->set_operator_("operators/5");
  completed->mutable_call()->set_direction(calls::v1::CALL_DIRECTION_INBOUND);
  *completed->mutable_offered_at() = common::TimestampFromTime(absl::Now() - absl::Minutes(5));
  completed->mutable_talk_time()->set_seconds(180);
  completed->set_disposition("resolved");
  return event;
}

events::v1::Event WrapUp(const std::string& event_id, const std::string& customer,
                         const std::string& call, const std::string& notes) {
  events::v1::Event event;
  event.set_id(event_id);
  *event.mutable_occurred_at() = common::TimestampFromTime(absl::Now());
  auto* wrap_up = event.mutable_wrap_up_written();
  wrap_up->mutable_call()->set_call(call);
  wrap_up->mutable_call()->set_customer(customer);
  wrap_up->set_disposition("resolved");
  wrap_up->set_topic("billing");
  wrap_up->set_notes(notes);
  return event;
}

TEST_F(CustomersTest, ContactHistoryComesFromTheEventStreamOncePerEvent) {
  const v1::Customer card = Create("Зайцев", {"+79160000031"});
  module_->OnReady();  // the consumer starts
  common::EventPublisher calls_service(redis_.get(), {.site = site_, .producer = "services/calls"});
  std::vector<events::v1::Event> events = {
      CallCompleted("e-completed", card.name(), "calls/c1"),
      WrapUp("e-wrapup", card.name(), "calls/c1", "клиент просил перезвонить"),
      CallCompleted("e-other", "", "calls/anonymous"),  // no customer: not recorded
  };
  ASSERT_TRUE(calls_service.PublishBatch(events).ok());
  // Delivered twice (a replay, or another consumer's retry): the second changes nothing.
  std::vector<events::v1::Event> replay = {
      WrapUp("e-wrapup", card.name(), "calls/c1", "changed by a replay")};
  ASSERT_TRUE(calls_service.PublishBatch(replay).ok());

  v1::ListContactHistoryRequest history;
  history.set_parent(card.name());
  history.add_kinds(v1::CONTACT_KIND_CALL);
  v1::ListContactHistoryResponse entries;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    ASSERT_TRUE(Call(&CustomersService::Stub::ListContactHistory, history, &entries).ok());
    if (entries.entries_size() == 1 && !entries.entries(0).call().wrap_up_notes().empty() &&
        Count("SELECT count(*) FROM processed_events") == 4 - 1) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(entries.entries_size(), 1);
  const v1::CallContact& call = entries.entries(0).call();
  EXPECT_EQ(call.call(), "calls/c1");
  EXPECT_EQ(call.state(), calls::v1::CALL_STATE_COMPLETED);
  EXPECT_EQ(call.queue(), "queues/billing");
  EXPECT_EQ(call.talk_time().seconds(), 180);
  EXPECT_EQ(call.topic(), "billing");
  EXPECT_EQ(call.wrap_up_notes(), "клиент просил перезвонить");
  EXPECT_EQ(Count("SELECT count(*) FROM contacts"), 1);
}

TEST_F(CustomersTest, MergeKeepsEveryPhoneNoteAndTheStricterConsent) {
  const v1::Customer survivor = Create("Лебедев", {"+79160000041"});
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Лебедев");
  request.mutable_customer()->set_middle_name("Андреевич");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+79160000042");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+79160000043");
  request.mutable_customer()->add_tags("debtor");
  v1::Customer merged;
  ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &merged).ok());
  for (const v1::Customer* card : {&survivor, static_cast<const v1::Customer*>(&merged)}) {
    v1::AddNoteRequest note;
    note.set_parent(card->name());
    note.mutable_note()->set_text(absl::StrCat("note on ", card->name()));
    v1::Note added;
    ASSERT_TRUE(Call(&CustomersService::Stub::AddNote, note, &added).ok());
  }
  v1::SetConsentRequest dnc;
  dnc.set_customer(merged.name());
  dnc.set_kind(v1::CONSENT_KIND_DO_NOT_CALL);
  dnc.set_value(true);
  dnc.set_source(v1::CONSENT_SOURCE_IVR);
  v1::Customer ignored;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetConsent, dnc, &ignored).ok());

  v1::MergeCustomersRequest merge;
  merge.set_survivor(survivor.name());
  merge.set_merged(merged.name());
  merge.set_request_id("merge-1");
  v1::Customer result;
  grpc::Status status = Call(&CustomersService::Stub::MergeCustomers, merge, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> numbers;
  for (const auto& phone : result.phones()) numbers.insert(phone.number().e164());
  EXPECT_EQ(numbers, (std::set<std::string>{"+79160000041", "+79160000042", "+79160000043"}));
  EXPECT_EQ(result.middle_name(), "Андреевич");  // an empty field took the merged card's
  EXPECT_TRUE(result.consents().do_not_call().value());
  EXPECT_EQ(result.consents().do_not_call().source(), v1::CONSENT_SOURCE_MERGE);
  EXPECT_EQ(result.merged_from(0), merged.name());

  v1::ListNotesRequest notes_request;
  notes_request.set_parent(survivor.name());
  v1::ListNotesResponse notes;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListNotes, notes_request, &notes).ok());
  ASSERT_EQ(notes.notes_size(), 2);
  // The merged card's name now answers with the survivor; its numbers lead to the survivor.
  v1::GetCustomerRequest get;
  get.set_name(merged.name());
  v1::Customer redirected;
  ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &redirected).ok());
  EXPECT_EQ(redirected.name(), survivor.name());
  get.set_no_redirect(true);
  ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &redirected).ok());
  EXPECT_EQ(redirected.state(), v1::CUSTOMER_STATE_MERGED);
  EXPECT_EQ(redirected.merged_into(), survivor.name());
  v1::LookupByPhoneResponse found;
  ASSERT_TRUE(Lookup("+79160000043", &found).ok());
  EXPECT_EQ(found.customer().name(), survivor.name());
  // A merged card cannot be edited or merged again.
  v1::UpdateCustomerRequest update;
  update.mutable_customer()->set_name(merged.name());
  update.mutable_customer()->set_etag("1");
  update.mutable_update_mask()->add_paths("family_name");
  grpc::Status stale = Call(&CustomersService::Stub::UpdateCustomer, update, &ignored);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(stale.error_message().find("CUSTOMER_MERGED"), std::string::npos);
  merge.set_request_id("merge-2");
  EXPECT_EQ(Call(&CustomersService::Stub::MergeCustomers, merge, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Every text column and every bytea column (as text and as hex) of every table of the service.
int64_t PlacesHolding(common::PgPool& pg, const std::string& value) {
  return *pg.Transact([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    int64_t found = 0;
    for (const auto& table :
         txn.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
      const std::string name = txn.quote_name(table[0].as<std::string>());
      found +=
          txn.exec_params1(absl::StrCat("SELECT count(*) FROM ", name,
                                        " t WHERE position($1 IN t::text) "
                                        "> 0 OR position(encode(convert_to($1, 'UTF8'), 'hex') IN "
                                        "t::text) > 0"),
                           value)[0]
              .as<int64_t>();
    }
    return found;
  });
}

TEST_F(CustomersTest, AfterErasureNoPersonalValueIsFoundAnywhere) {
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Уникальнова");
  request.mutable_customer()->set_given_name("Снежана");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+7 916 987 65 43");
  request.mutable_customer()->add_emails()->set_address("snezhana.u@example.org");
  request.mutable_customer()->set_external_id("CRM-SECRET-77");
  (*request.mutable_customer()->mutable_attributes())["passport"] = "4510 999888";
  request.set_request_id("create-erase-me");
  v1::Customer card;
  ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &card).ok());
  v1::AddNoteRequest note;
  note.set_parent(card.name());
  note.mutable_note()->set_text("Снежана просила не звонить по утрам");
  note.set_request_id("note-erase-me");
  v1::Note added;
  ASSERT_TRUE(Call(&CustomersService::Stub::AddNote, note, &added).ok());
  v1::SetConsentRequest dnc;
  dnc.set_customer(card.name());
  dnc.set_kind(v1::CONSENT_KIND_DO_NOT_CALL);
  dnc.set_value(true);
  dnc.set_source(v1::CONSENT_SOURCE_WRITTEN);
  dnc.set_evidence("заявление Уникальновой С.");
  v1::Customer ignored;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetConsent, dnc, &ignored).ok());
  ASSERT_TRUE(module_->store()
                  .ApplyEvent(WrapUp("e-erase", card.name(), "calls/e1", "Снежана, паспорт 4510"))
                  .ok());
  const std::vector<std::string> personal = {"Уникальнова",   "Снежана",
                                             "+79169876543",  "snezhana.u@example.org",
                                             "CRM-SECRET-77", "4510 999888"};
  for (const std::string& value : personal) ASSERT_GT(PlacesHolding(*pg_, value), 0) << value;

  v1::EraseCustomerRequest erase;
  erase.set_name(card.name());
  erase.set_reason("GDPR request #2026-117");
  erase.set_keep_suppression(true);
  erase.set_request_id("erase-1");
  v1::ErasureRecord record;
  ASSERT_TRUE(Call(&CustomersService::Stub::EraseCustomer, erase, &record).ok());
  EXPECT_EQ(record.phones_removed(), 1);
  EXPECT_EQ(record.notes_removed(), 1);
  EXPECT_EQ(record.contacts_anonymised(), 1);
  EXPECT_TRUE(record.suppression_kept());

  for (const std::string& value : personal) {
    EXPECT_EQ(PlacesHolding(*pg_, value), 0) << value << " survived the erasure";
  }
  v1::GetCustomerRequest get;
  get.set_name(card.name());
  EXPECT_EQ(Call(&CustomersService::Stub::GetCustomer, get, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::LookupByPhoneResponse found;
  EXPECT_EQ(Lookup("+79169876543", &found).error_code(), grpc::StatusCode::NOT_FOUND);
  for (const char* query : {"Уникальнова", "987-65", "snezhana"}) {
    v1::SearchCustomersRequest search;
    search.set_query(query);
    v1::SearchCustomersResponse results;
    ASSERT_TRUE(Call(&CustomersService::Stub::SearchCustomers, search, &results).ok());
    EXPECT_EQ(results.results_size(), 0) << query;
  }
  v1::ListCustomersRequest list;
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(Call(&CustomersService::Stub::ListCustomers, list, &listed).ok());
  EXPECT_EQ(listed.customers_size(), 0);
  // A retried create does not bring the card back from the idempotency log.
  v1::Customer recreated;
  ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &recreated).ok());
  EXPECT_NE(recreated.name(), card.name());
  // The suppression list still refuses the number, without holding it readably.
  v1::CheckContactPermissionRequest check;
  check.set_phone_number("+7 916 987 65 43");
  check.set_purpose(v1::CONTACT_PURPOSE_OUTBOUND_CALL);
  v1::EraseCustomerRequest erase_again = erase;
  erase_again.set_name(recreated.name());
  erase_again.set_request_id("erase-2");
  erase_again.set_keep_suppression(false);
  ASSERT_TRUE(Call(&CustomersService::Stub::EraseCustomer, erase_again, &record).ok());
  v1::ContactPermission permission;
  ASSERT_TRUE(Call(&CustomersService::Stub::CheckContactPermission, check, &permission).ok());
  EXPECT_FALSE(permission.allowed());
  EXPECT_NE(std::find(permission.denial_reasons().begin(), permission.denial_reasons().end(),
                      v1::CONTACT_DENIAL_REASON_SUPPRESSED),
            permission.denial_reasons().end());
  // Repeating the erasure with its request_id returns the record again.
  v1::ErasureRecord repeated;
  ASSERT_TRUE(Call(&CustomersService::Stub::EraseCustomer, erase, &repeated).ok());
  EXPECT_EQ(repeated.customer(), card.name());
}

TEST_F(CustomersTest, ContactPermissionFollowsConsentsAndTheCallingWindow) {
  v1::CreateCustomerRequest request;
  request.mutable_customer()->set_family_name("Окнов");
  request.mutable_customer()->add_phones()->mutable_number()->set_raw("+79160000051");
  request.mutable_customer()->set_time_zone("Asia/Vladivostok");
  v1::Customer card;
  ASSERT_TRUE(Call(&CustomersService::Stub::CreateCustomer, request, &card).ok());
  absl::TimeZone vladivostok;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Vladivostok", &vladivostok));
  const absl::Time noon = absl::FromCivil(absl::CivilMinute(2026, 12, 1, 12, 0), vladivostok);
  const absl::Time night = absl::FromCivil(absl::CivilMinute(2026, 12, 1, 23, 0), vladivostok);
  v1::CheckContactPermissionRequest check;
  check.set_phone_number("8 916 000 00 51");
  check.set_purpose(v1::CONTACT_PURPOSE_OUTBOUND_CALL);
  *check.mutable_check_time() = common::TimestampFromTime(noon);
  v1::ContactPermission permission;
  ASSERT_TRUE(Call(&CustomersService::Stub::CheckContactPermission, check, &permission).ok());
  EXPECT_TRUE(permission.allowed());
  EXPECT_EQ(permission.customer(), card.name());
  EXPECT_EQ(permission.time_zone(), "Asia/Vladivostok");
  *check.mutable_check_time() = common::TimestampFromTime(night);
  ASSERT_TRUE(Call(&CustomersService::Stub::CheckContactPermission, check, &permission).ok());
  EXPECT_FALSE(permission.allowed());
  ASSERT_EQ(permission.denial_reasons_size(), 1);
  EXPECT_EQ(permission.denial_reasons(0), v1::CONTACT_DENIAL_REASON_OUTSIDE_CALLING_WINDOW);
  EXPECT_EQ(common::TimeFromTimestamp(permission.next_allowed_time()),
            absl::FromCivil(absl::CivilMinute(2026, 12, 2, 9, 0), vladivostok));
  check.set_purpose(v1::CONTACT_PURPOSE_SURVEY_MESSAGE);  // no calling window for messages
  ASSERT_TRUE(Call(&CustomersService::Stub::CheckContactPermission, check, &permission).ok());
  EXPECT_TRUE(permission.allowed());

  v1::SetConsentRequest dnc;
  dnc.set_customer(card.name());
  dnc.set_kind(v1::CONSENT_KIND_DO_NOT_CALL);
  dnc.set_value(true);
  dnc.set_source(v1::CONSENT_SOURCE_OPERATOR);
  v1::Customer ignored;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetConsent, dnc, &ignored).ok());
  v1::BatchCheckContactPermissionsRequest batch;
  for (auto purpose : {v1::CONTACT_PURPOSE_OUTBOUND_CALL, v1::CONTACT_PURPOSE_REQUESTED_CALLBACK,
                       v1::CONTACT_PURPOSE_SURVEY_CALL}) {
    auto* item = batch.add_checks();
    item->set_customer(card.name());
    item->set_purpose(purpose);
    *item->mutable_check_time() = common::TimestampFromTime(noon);
  }
  batch.add_checks()->set_purpose(
      v1::CONTACT_PURPOSE_OUTBOUND_CALL);  // neither customer nor number
  v1::BatchCheckContactPermissionsResponse results;
  ASSERT_TRUE(Call(&CustomersService::Stub::BatchCheckContactPermissions, batch, &results).ok());
  ASSERT_EQ(results.results_size(), 4);
  EXPECT_FALSE(results.results(0).permission().allowed());  // do-not-call
  EXPECT_TRUE(results.results(1).permission().allowed());   // the customer asked for it
  EXPECT_FALSE(results.results(2).permission().allowed());
  EXPECT_EQ(results.results(3).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(results.results(3).error().field(), "customer");
}

TEST_F(CustomersTest, DeleteNeedsForceWhenTheCardHasContactHistory) {
  const v1::Customer card = Create("Удалов", {"+79160000061"});
  ASSERT_TRUE(module_->store().ApplyEvent(CallCompleted("e-del", card.name(), "calls/d1")).ok());
  v1::DeleteCustomerRequest request;
  request.set_name(card.name());
  google::protobuf::Empty empty;
  grpc::Status refused = Call(&CustomersService::Stub::DeleteCustomer, request, &empty);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("HAS_CONTACT_HISTORY"), std::string::npos);
  request.set_force(true);
  ASSERT_TRUE(Call(&CustomersService::Stub::DeleteCustomer, request, &empty).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM contacts"), 0);
}

TEST_F(CustomersTest, ChangesReachTheEventStreamThroughTheOutbox) {
  outbox_->Start();
  const v1::Customer card = Create("Событиев", {"+79160000071"});
  v1::SetFlagRequest vip;
  vip.set_customer(card.name());
  vip.set_kind(v1::FLAG_KIND_VIP);
  vip.set_value(true);
  v1::Customer ignored;
  ASSERT_TRUE(Call(&CustomersService::Stub::SetFlag, vip, &ignored).ok());
  std::vector<std::string> types;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && types.size() < 2) {
    auto entries = redis_->Command({"XRANGE", common::EventStreamKey(site_), "-", "+"});
    types.clear();
    for (const auto& entry : entries->elements) types.push_back(entry.elements[1].elements[1].str);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"customer_created", "customer_updated"}));
}

v1::CustomerImportRow Row(int64_t number, const std::string& family, const std::string& phone,
                          const std::string& external_id = "") {
  v1::CustomerImportRow row;
  row.set_row_number(number);
  row.mutable_customer()->set_family_name(family);
  if (!phone.empty()) row.mutable_customer()->add_phones()->mutable_number()->set_raw(phone);
  row.mutable_customer()->set_external_id(external_id);
  return row;
}

TEST_F(CustomersTest, ImportReportsEveryRowAndResumes) {
  const v1::Customer existing = Create("Существующий", {"+79160000081"});
  auto import = [&](const std::string& request_id,
                    const std::vector<std::vector<v1::CustomerImportRow>>& messages,
                    v1::ImportMode mode = v1::IMPORT_MODE_UPSERT) {
    auto context = common::ContextWithTimeout(absl::Seconds(30));
    auto stream = stub_->ImportCustomers(context.get());
    std::vector<v1::CustomerImportResult> results;
    v1::ImportCustomersSummary summary;
    bool first = true;
    for (const auto& rows : messages) {
      v1::ImportCustomersRequest request;
      if (first) {
        request.set_request_id(request_id);
        request.mutable_options()->set_mode(mode);
        first = false;
      }
      for (const auto& row : rows) *request.add_rows() = row;
      EXPECT_TRUE(stream->Write(request));
      v1::ImportCustomersResponse response;
      EXPECT_TRUE(stream->Read(&response));
      for (const auto& result : response.results()) results.push_back(result);
    }
    stream->WritesDone();
    v1::ImportCustomersResponse last;
    EXPECT_TRUE(stream->Read(&last));
    summary = last.summary();
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return std::make_pair(results, summary);
  };
  auto [results, summary] =
      import("import-1", {{Row(1, "Новиков", "+79160000082", "CRM-1"),
                           Row(2, "Новикова", "+79160000083"), Row(3, "Плохой", "123")},
                          {Row(4, "Существующий-обновлён", "+79160000081"),  // matches by phone
                           Row(5, "", "+79160000084", "CRM-1"),   // matches row 1 by external id
                           Row(6, "Двойник", "+79160000083")}});  // matches row 2 by phone
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(results[1].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(results[2].outcome(), v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(results[2].error().field(), "customer.phones[0].number.raw");
  EXPECT_EQ(results[3].outcome(), v1::IMPORT_OUTCOME_UPDATED);
  EXPECT_EQ(results[3].customer(), existing.name());
  EXPECT_EQ(results[4].outcome(), v1::IMPORT_OUTCOME_UPDATED);
  EXPECT_EQ(results[4].customer(), results[0].customer());
  EXPECT_EQ(results[5].customer(), results[1].customer());
  EXPECT_EQ(summary.created(), 2);
  EXPECT_EQ(summary.failed(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 3);
  v1::LookupByPhoneResponse found;
  ASSERT_TRUE(Lookup("+79160000084", &found).ok());
  EXPECT_EQ(found.customer().name(), results[0].customer());
  EXPECT_EQ(found.customer().phones_size(), 2);

  // The same import again: every row committed before is ALREADY_IMPORTED.
  auto [again, again_summary] =
      import("import-1", {{Row(1, "Новиков", "+79160000082", "CRM-1")}, {Row(7, "Новый", "")}});
  EXPECT_EQ(again[0].outcome(), v1::IMPORT_OUTCOME_ALREADY_IMPORTED);
  EXPECT_EQ(again[1].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(again_summary.already_imported(), 1);
  // Create-only reports matches as duplicates and changes nothing.
  auto [duplicates, duplicate_summary] =
      import("import-2", {{Row(1, "Другое", "+79160000082")}}, v1::IMPORT_MODE_CREATE_ONLY);
  EXPECT_EQ(duplicates[0].outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_EQ(duplicates[0].customer(), results[0].customer());
}

TEST_F(CustomersTest, ImportStopsOnRowNumbersThatDoNotIncrease) {
  auto context = common::ContextWithTimeout(absl::Seconds(30));
  auto stream = stub_->ImportCustomers(context.get());
  v1::ImportCustomersRequest request;
  *request.add_rows() = Row(5, "А", "");
  *request.add_rows() = Row(5, "Б", "");
  stream->Write(request);
  v1::ImportCustomersResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("rows[1].row_number"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 0);
}

// Rows of one message that match each other (by number in another format, by external id):
// the first creates the card, the later ones update it (or are duplicates in create-only mode).
TEST_F(CustomersTest, ImportMatchesRowsOfTheSameMessage) {
  v1::CustomerImportRow with_email = Row(2, "", "8 (916) 000-03-01");
  with_email.mutable_customer()->add_emails()->set_address("Same.Person@Example.org");
  auto [results, summary] = ImportMessages(
      "same-message", {{Row(1, "Тихонов", "+7 916 000 03 01"), with_email,
                        Row(3, "Зайцев", "", "E-9"), Row(4, "Зайцев-Второй", "", "E-9")}});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(results[1].outcome(), v1::IMPORT_OUTCOME_UPDATED);
  EXPECT_EQ(results[1].customer(), results[0].customer());
  EXPECT_EQ(results[2].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(results[3].outcome(), v1::IMPORT_OUTCOME_UPDATED);
  EXPECT_EQ(results[3].customer(), results[2].customer());
  EXPECT_EQ(summary.created(), 2);
  EXPECT_EQ(summary.updated(), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_phones"), 1);
  // The card written holds what both rows brought.
  v1::LookupByPhoneResponse found;
  ASSERT_TRUE(Lookup("+79160000301", &found).ok());
  EXPECT_EQ(found.customer().family_name(), "Тихонов");
  ASSERT_EQ(found.customer().emails_size(), 1);
  v1::SearchCustomersRequest search;
  search.set_query("same.person@example.org");
  v1::SearchCustomersResponse hits;
  ASSERT_TRUE(Call(&CustomersService::Stub::SearchCustomers, search, &hits).ok());
  ASSERT_EQ(hits.results_size(), 1);
  EXPECT_EQ(hits.results(0).customer().name(), results[0].customer());

  // Create-only: the second row of the same number is a duplicate of the first.
  auto [create_only, create_only_summary] =
      ImportMessages("same-message-create-only",
                     {{Row(1, "Орлов", "+79160000302"), Row(2, "Орлов-Дубль", "89160000302")}},
                     v1::IMPORT_MODE_CREATE_ONLY);
  ASSERT_EQ(create_only.size(), 2u);
  EXPECT_EQ(create_only[0].outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(create_only[1].outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_EQ(create_only[1].customer(), create_only[0].customer());
  EXPECT_EQ(create_only_summary.duplicates(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 3);
}

// A message that updates many existing cards writes them together: every card, its numbers
// and its addresses are written, its etag changes; a row that fails (a number of another card,
// an invalid number) fails alone.
TEST_F(CustomersTest, ImportUpdatesManyCardsInOneMessage) {
  std::vector<v1::CustomerImportRow> first;
  for (int i = 1; i <= 3; ++i) {
    v1::CustomerImportRow row =
        Row(i, absl::StrCat("Карточка-", i), absl::StrCat("+7916000040", i), absl::StrCat("X-", i));
    row.mutable_customer()->add_emails()->set_address(absl::StrCat("first", i, "@example.org"));
    first.push_back(row);
  }
  auto [created, created_summary] = ImportMessages("many-1", {first});
  ASSERT_EQ(created_summary.created(), 3);
  std::vector<v1::Customer> before;
  for (const auto& result : created) {
    v1::GetCustomerRequest get;
    get.set_name(result.customer());
    v1::Customer card;
    ASSERT_TRUE(Call(&CustomersService::Stub::GetCustomer, get, &card).ok());
    before.push_back(card);
  }

  std::vector<v1::CustomerImportRow> second;
  for (int i = 1; i <= 3; ++i) {
    v1::CustomerImportRow row = Row(i, "", absl::StrCat("+7916000050", i), absl::StrCat("X-", i));
    row.mutable_customer()->add_emails()->set_address(absl::StrCat("second", i, "@example.org"));
    row.mutable_customer()->add_tags("imported-again");
    second.push_back(row);
  }
  // Array syntax in a tag survives the set-based save.
  second[0].mutable_customer()->add_tags("с,запятой \"и\" {скобками} \\");
  // X-2 with the number of X-1: refused, naming the number's owner.
  second.push_back(Row(4, "", "+79160000401", "X-2"));
  second.push_back(Row(5, "Плохой", "12", "X-3"));
  auto [updated, updated_summary] = ImportMessages("many-2", {second});
  ASSERT_EQ(updated.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updated[i].outcome(), v1::IMPORT_OUTCOME_UPDATED) << i;
    EXPECT_EQ(updated[i].customer(), created[i].customer()) << i;
  }
  EXPECT_EQ(updated[3].outcome(), v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(updated[3].error().field(), "customer.phones[0]");
  EXPECT_NE(updated[3].error().message().find(created[0].customer()), std::string::npos);
  EXPECT_EQ(updated[4].outcome(), v1::IMPORT_OUTCOME_FAILED);
  EXPECT_EQ(updated[4].error().field(), "customer.phones[0].number.raw");
  EXPECT_EQ(updated_summary.updated(), 3);
  EXPECT_EQ(updated_summary.failed(), 2);

  for (int i = 1; i <= 3; ++i) {
    for (const std::string& number :
         {absl::StrCat("+7916000040", i), absl::StrCat("+7916000050", i)}) {
      v1::LookupByPhoneResponse found;
      ASSERT_TRUE(Lookup(number, &found).ok()) << number;
      EXPECT_EQ(found.customer().name(), created[i - 1].customer()) << number;
      EXPECT_EQ(found.customer().phones_size(), 2) << number;
      EXPECT_EQ(found.customer().family_name(), absl::StrCat("Карточка-", i));
      EXPECT_EQ(found.customer().tags_size(), i == 1 ? 2 : 1);
      EXPECT_NE(found.customer().etag(), before[i - 1].etag());
    }
    for (const std::string& address :
         {absl::StrCat("first", i, "@example.org"), absl::StrCat("second", i, "@example.org")}) {
      v1::SearchCustomersRequest search;
      search.set_query(address);
      v1::SearchCustomersResponse hits;
      ASSERT_TRUE(Call(&CustomersService::Stub::SearchCustomers, search, &hits).ok());
      ASSERT_EQ(hits.results_size(), 1) << address;
      EXPECT_EQ(hits.results(0).customer().name(), created[i - 1].customer());
    }
  }
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_phones"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_emails"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM customers WHERE 'imported-again' = ANY(tags)"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM customers WHERE version = 2"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM customers WHERE "
                  "tags @> ARRAY['с,запятой \"и\" {скобками} \\']"),
            1);
}

}  // namespace
}  // namespace contactcentre::customers
