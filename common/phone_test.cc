#include "common/phone.h"

#include <gtest/gtest.h>

namespace contactcentre::common {
namespace {

TEST(PhoneTest, TheFormatsPeopleTypeAreOneNumber) {
  for (const char* raw : {"8 (495) 123-45-67", "+7 495 123 45 67", "84951234567",
                          "+7(495)123-45-67", " 8-495-123-45-67 ", "74951234567"}) {
    absl::StatusOr<NormalizedPhone> phone = NormalizePhone(raw, "RU", "phone");
    ASSERT_TRUE(phone.ok()) << raw << ": " << phone.status();
    EXPECT_EQ(phone->e164, "+74951234567") << raw;
  }
}

TEST(PhoneTest, MobileAndExtensionAreRecognised) {
  absl::StatusOr<NormalizedPhone> mobile = NormalizePhone("8 916 123-45-67", "RU", "phone");
  ASSERT_TRUE(mobile.ok());
  EXPECT_EQ(mobile->e164, "+79161234567");
  EXPECT_TRUE(mobile->mobile);
  absl::StatusOr<NormalizedPhone> office =
      NormalizePhone("+7 495 123-45-67 ext. 204", "RU", "phone");
  ASSERT_TRUE(office.ok()) << office.status();
  EXPECT_EQ(office->extension, "204");
  EXPECT_FALSE(office->mobile);
}

TEST(PhoneTest, ForeignNumbersKeepTheirCountry) {
  absl::StatusOr<NormalizedPhone> us = NormalizePhone("+1 650-253-0000", "RU", "phone");
  ASSERT_TRUE(us.ok());
  EXPECT_EQ(us->e164, "+16502530000");
  absl::StatusOr<NormalizedPhone> local = NormalizePhone("(650) 253-0000", "US", "phone");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->e164, "+16502530000");
}

TEST(PhoneTest, ImpossibleNumbersNameTheField) {
  for (const char* raw : {"", "   ", "12", "not a number", "8 (495) 123-45-67-89-01-23",
                          "+7 495 123 45 67 0000000000000000000000000000000000000000000000000"}) {
    absl::StatusOr<NormalizedPhone> phone = NormalizePhone(raw, "RU", "customer.phones[0]");
    ASSERT_FALSE(phone.ok()) << raw;
    EXPECT_EQ(phone.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(phone.status().message().rfind("invalid customer.phones[0]", 0), 0u)
        << phone.status();
  }
}

TEST(PhoneTest, RegionsAndDigits) {
  EXPECT_TRUE(IsKnownPhoneRegion("RU"));
  EXPECT_TRUE(IsKnownPhoneRegion("US"));
  EXPECT_FALSE(IsKnownPhoneRegion("XX"));
  EXPECT_FALSE(IsKnownPhoneRegion("ru"));
  EXPECT_EQ(PhoneDigits("+7 (495) 123-45"), "749512345");
}

}  // namespace
}  // namespace contactcentre::common
