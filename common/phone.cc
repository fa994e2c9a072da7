#include "common/phone.h"

#include <phonenumbers/phonenumberutil.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kMaxRawLength = 64;

}  // namespace

absl::StatusOr<NormalizedPhone> NormalizePhone(absl::string_view raw,
                                               absl::string_view default_region,
                                               absl::string_view field) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(raw);
  if (trimmed.empty()) return InvalidArgumentError(field, "a phone number is required");
  if (trimmed.size() > kMaxRawLength) {
    return InvalidArgumentError(field, absl::StrCat("longer than ", kMaxRawLength, " characters"));
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string region(default_region);
  if (util.Parse(std::string(trimmed), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsPossibleNumber(number)) {
    return InvalidArgumentError(field,
                                absl::StrCat("not a possible phone number for region ", region));
  }
  NormalizedPhone result;
  util.Format(number, PhoneNumberUtil::E164, &result.e164);
  result.extension = number.extension();
  const PhoneNumberUtil::PhoneNumberType type = util.GetNumberType(number);
  result.mobile = type == PhoneNumberUtil::MOBILE || type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
  return result;
}

bool IsKnownPhoneRegion(absl::string_view region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(std::string(region)) > 0;
}

std::string PhoneDigits(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

}  // namespace contactcentre::common
