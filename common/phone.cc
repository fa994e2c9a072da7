#include "common/phone.h"

#include <phonenumbers/phonenumberutil.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kMaxRawLength = 64;

// libphonenumber's Parse costs about 11 us (ICU regular expressions); imports normalise
// hundreds of thousands of numbers. Nearly all numbers typed in a Russian contact centre have
// one of a few shapes, for which the result is known without parsing: "+7", "8" or "7"
// followed by ten digits, or ten digits, whose national number starts with 3, 4, 8 or 9 (the
// Russian geographic, non-geographic and mobile ranges), with only spaces, dashes, dots and
// brackets between digits. Anything else takes the full parse. A unit test compares both paths
// over many numbers of these shapes.
std::optional<PhoneNumber> ParseCommonRussianShape(absl::string_view raw,
                                                   absl::string_view region) {
  if (region != "RU") return std::nullopt;
  std::string digits;
  bool plus = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') {
      return std::nullopt;
    }
  }
  std::string national;
  if (plus) {
    if (digits.size() != 11 || digits[0] != '7') return std::nullopt;
    national = digits.substr(1);
  } else if (digits.size() == 11 && (digits[0] == '8' || digits[0] == '7')) {
    national = digits.substr(1);
  } else if (digits.size() == 10 && digits[0] != '7' && digits[0] != '8') {
    national = digits;
  } else {
    return std::nullopt;
  }
  if (national[0] != '3' && national[0] != '4' && national[0] != '8' && national[0] != '9') {
    return std::nullopt;
  }
  PhoneNumber number;
  number.set_country_code(7);
  number.set_national_number(std::stoull(national));
  return number;
}

}  // namespace

absl::StatusOr<NormalizedPhone> NormalizePhoneFully(absl::string_view raw,
                                                    absl::string_view default_region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(absl::StripAsciiWhitespace(raw)), std::string(default_region),
                 &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsPossibleNumber(number)) {
    return absl::InvalidArgumentError("not a possible number");
  }
  NormalizedPhone result;
  util.Format(number, PhoneNumberUtil::E164, &result.e164);
  result.extension = number.extension();
  const PhoneNumberUtil::PhoneNumberType type = util.GetNumberType(number);
  result.mobile = type == PhoneNumberUtil::MOBILE || type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
  return result;
}

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
  if (std::optional<PhoneNumber> common = ParseCommonRussianShape(trimmed, region)) {
    // Every ten-digit Russian number of these ranges is possible, and it is a mobile number
    // exactly when it starts with 9 (libphonenumber's RU metadata; GetNumberType alone costs
    // 3.5 us). The unit test compares both paths.
    NormalizedPhone result;
    result.e164 = absl::StrCat("+7", common->national_number());
    result.mobile = common->national_number() / 1000000000 == 9;
    return result;
  }
  if (util.Parse(std::string(trimmed), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    number.Clear();
  }
  if (!number.has_national_number() || !util.IsPossibleNumber(number)) {
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
