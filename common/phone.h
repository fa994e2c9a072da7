// Telephone numbers as the suite stores them: E.164, parsed with libphonenumber.
//
//   "8 (495) 123-45-67", "+7 495 123 45 67" and "84951234567" (region RU) are all
//   "+74951234567"; "8 (495) 123-45-67 доб. 123" also carries the extension "123".
//
// Used by every service that keeps or looks up numbers (customers, knowledge's directory,
// calls for caller numbers), so that one number always has one form across the suite.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::common {

struct NormalizedPhone {
  std::string e164;       // "+74951234567"
  std::string extension;  // digits after "доб." / "ext.", if any
  bool mobile = false;    // libphonenumber types the number as mobile (or fixed-or-mobile)
};

// Parses `raw` in any common format; `default_region` (ISO 3166-1 alpha-2, e.g. "RU") applies
// when the number carries no country code. INVALID_ARGUMENT naming `field` when `raw` is empty,
// longer than 64 characters, or not a possible number.
absl::StatusOr<NormalizedPhone> NormalizePhone(absl::string_view raw,
                                               absl::string_view default_region,
                                               absl::string_view field);

// The same by libphonenumber's full parse only (no fast path); for tests of the fast path.
absl::StatusOr<NormalizedPhone> NormalizePhoneFully(absl::string_view raw,
                                                    absl::string_view default_region);

// True when `region` is a region libphonenumber knows ("RU", "US", ...).
bool IsKnownPhoneRegion(absl::string_view region);

// The digits of `text` (for phone-fragment search).
std::string PhoneDigits(absl::string_view text);

}  // namespace contactcentre::common
