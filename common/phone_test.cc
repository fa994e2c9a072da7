#include "common/phone.h"

#include <gtest/gtest.h>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

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

TEST(PhoneTest, TheFastPathAgreesWithTheFullParse) {
  absl::BitGen random;
  const std::vector<std::string> shapes = {"+7 %s %s-%s-%s", "8 (%s) %s-%s-%s", "7%s%s%s%s",
                                           "8%s%s%s%s",      "%s %s %s %s",     "+7(%s)%s.%s.%s",
                                           "%s-%s-%s-%s",    "8-%s-%s-%s-%s"};
  int compared = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string area = absl::StrFormat("%03d", absl::Uniform(random, 0, 1000));
    const std::string rest = absl::StrFormat("%03d", absl::Uniform(random, 0, 1000));
    const std::string two_a = absl::StrFormat("%02d", absl::Uniform(random, 0, 100));
    const std::string two_b = absl::StrFormat("%02d", absl::Uniform(random, 0, 100));
    std::string raw = shapes[i % shapes.size()];
    for (const std::string* part : {&area, &rest, &two_a, &two_b}) {
      raw.replace(raw.find("%s"), 2, *part);
    }
    absl::StatusOr<NormalizedPhone> fast = NormalizePhone(raw, "RU", "p");
    absl::StatusOr<NormalizedPhone> full = NormalizePhoneFully(raw, "RU");
    ASSERT_EQ(fast.ok(), full.ok()) << raw;
    if (!fast.ok()) continue;
    ++compared;
    EXPECT_EQ(fast->e164, full->e164) << raw;
    EXPECT_EQ(fast->mobile, full->mobile) << raw;
    EXPECT_EQ(fast->extension, full->extension) << raw;
  }
  EXPECT_GT(compared, 10000);
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
