#include "services/customers/validation.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace contactcentre::customers {
namespace {

v1::Customer Card() {
  v1::Customer card;
  card.set_given_name(" Иван ");
  card.set_family_name("Иванов");
  card.add_phones()->mutable_number()->set_raw("8 (495) 123-45-67 доб. 12");
  card.add_phones()->mutable_number()->set_raw("+7 916 555 44 33");
  card.add_phones()->mutable_number()->set_raw("84951234567");  // a duplicate
  card.add_emails()->set_address("Ivan.Ivanov@Example.COM");
  card.add_tags("VIP-Клиент");
  card.add_tags("vip-клиент");
  (*card.mutable_attributes())["contract"] = "A-1";
  card.set_time_zone("Europe/Moscow");
  card.set_etag("ignored");
  card.mutable_consents()->mutable_do_not_call()->set_value(true);  // output only
  return card;
}

// Duplicates between other entries are dropped and the rest keep their order.
TEST(ValidationTest, DropsDuplicatesInTheMiddleKeepingTheOrder) {
  v1::Customer card;
  card.set_family_name("Петров");
  for (const char* raw : {"+7 916 000 00 01", "8 (916) 000-00-01", "+79160000002", "89160000001",
                          "+7 916 000 00 03"}) {
    card.add_phones()->mutable_number()->set_raw(raw);
  }
  for (const char* address : {"a@example.org", "A@Example.org", "b@example.org"}) {
    card.add_emails()->set_address(address);
  }
  for (const char* tag : {"b", " B ", "a", "b"}) card.add_tags(tag);
  ASSERT_TRUE(NormalizeProfile(card, "customer", {}).ok());
  ASSERT_EQ(card.phones_size(), 3);
  EXPECT_EQ(card.phones(0).number().e164(), "+79160000001");
  EXPECT_EQ(card.phones(0).number().raw(), "+7 916 000 00 01");
  EXPECT_EQ(card.phones(1).number().e164(), "+79160000002");
  EXPECT_EQ(card.phones(2).number().e164(), "+79160000003");
  ASSERT_EQ(card.emails_size(), 2);
  EXPECT_EQ(card.emails(0).address(), "a@example.org");
  EXPECT_EQ(card.emails(1).address(), "b@example.org");
  ASSERT_EQ(card.tags_size(), 2);
  EXPECT_EQ(card.tags(0), "b");
  EXPECT_EQ(card.tags(1), "a");
}

TEST(ValidationTest, NormalisesAProfile) {
  v1::Customer card = Card();
  ASSERT_TRUE(NormalizeProfile(card, "customer", {}).ok());
  EXPECT_EQ(card.given_name(), "Иван");
  EXPECT_EQ(card.display_name(), "Иванов Иван");
  ASSERT_EQ(card.phones_size(), 2);
  EXPECT_EQ(card.phones(0).number().e164(), "+74951234567");
  EXPECT_EQ(card.phones(0).extension(), "12");
  EXPECT_EQ(card.phones(0).kind(), v1::PHONE_KIND_OTHER);
  EXPECT_EQ(card.phones(1).number().e164(), "+79165554433");
  EXPECT_EQ(card.phones(1).kind(), v1::PHONE_KIND_MOBILE);
  EXPECT_EQ(card.emails(0).address(), "Ivan.Ivanov@example.com");
  ASSERT_EQ(card.tags_size(), 1);
  EXPECT_EQ(card.tags(0), "vip-клиент");
  EXPECT_TRUE(card.etag().empty());
  EXPECT_FALSE(card.has_consents());
  EXPECT_EQ(NameSearchKey(card), "иванов иван иванов иван");
}

TEST(ValidationTest, RefusesBadFieldsNamingThem) {
  struct Case {
    std::function<void(v1::Customer&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Customer& c) { c.mutable_phones(1)->mutable_number()->set_raw("12"); },
       "customer.phones[1].number.raw"},
      {[](v1::Customer& c) { c.mutable_emails(0)->set_address("no-at-sign"); },
       "customer.emails[0].address"},
      {[](v1::Customer& c) { c.set_given_name(std::string(201, 'x')); }, "customer.given_name"},
      {[](v1::Customer& c) { c.set_time_zone("Mars/Olympus"); }, "customer.time_zone"},
      {[](v1::Customer& c) { c.set_preferred_language("russian language"); },
       "customer.preferred_language"},
      {[](v1::Customer& c) { c.add_tags(""); }, "customer.tags[2]"},
      {[](v1::Customer& c) { (*c.mutable_attributes())["Bad Key"] = "x"; }, "customer.attributes"},
      {[](v1::Customer& c) { c.set_external_id(std::string(129, 'e')); }, "customer.external_id"},
      {[](v1::Customer& c) {
         for (int i = 0; i < 9; ++i) c.add_phones()->mutable_number()->set_raw("+79160000000");
       },
       "customer.phones"},
  };
  for (const Case& bad : cases) {
    v1::Customer card = Card();
    bad.spoil(card);
    absl::Status status = NormalizeProfile(card, "customer", {});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.field;
    EXPECT_EQ(status.message().rfind(absl::StrCat("invalid ", bad.field), 0), 0u)
        << status.message();
  }
}

TEST(ValidationTest, Names) {
  EXPECT_EQ(*CustomerIdFromName("customers/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b", "name"),
            "0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b");
  EXPECT_FALSE(CustomerIdFromName("customers/42", "name").ok());
  EXPECT_FALSE(CustomerIdFromName("operators/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b", "name").ok());
  EXPECT_TRUE(ValidateReference("calls/abc", "calls", "call").ok());
  EXPECT_TRUE(ValidateReference("", "calls", "call").ok());
  EXPECT_FALSE(ValidateReference("calls/", "calls", "call").ok());
  EXPECT_FALSE(ValidateReference("queues/1", "calls", "call").ok());
}

}  // namespace
}  // namespace contactcentre::customers
