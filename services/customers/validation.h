// Checking and normalising what clients send: resource names and the profile fields of a card.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contactcentre/customers/v1/customer.pb.h"

namespace contactcentre::customers {

struct ProfileOptions {
  // Region for numbers without country code, e.g. "RU".
  std::string default_region = "RU";
};

// The id of "customers/{id}"; INVALID_ARGUMENT naming `field` when the name is malformed.
absl::StatusOr<std::string> CustomerIdFromName(absl::string_view name, absl::string_view field);

std::string CustomerName(absl::string_view id);

// Checks an optional reference such as "calls/{id}" (empty passes).
absl::Status ValidateReference(absl::string_view value, absl::string_view collection,
                               absl::string_view field);

// Validates and normalises the profile of `customer` in place, naming fields under `path`
// (e.g. "customer"): trims texts, enforces the limits of customer.proto, normalises phones to
// E.164 (kind from libphonenumber when unspecified, extension from the raw text), lower-cases
// tags and email domains, drops duplicates, composes display_name from the name parts when
// empty, and clears every output-only field. INVALID_ARGUMENT naming the first bad field.
absl::Status NormalizeProfile(v1::Customer& customer, absl::string_view path,
                              const ProfileOptions& options);

// The search form of the card's names (see text.h).
std::string NameSearchKey(const v1::Customer& customer);

}  // namespace contactcentre::customers
