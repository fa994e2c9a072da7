#include "services/customers/validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/calling_window.h"
#include "common/ids.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/customers/text.h"

namespace contactcentre::customers {
namespace {

using common::InvalidArgumentError;

constexpr size_t kMaxNameLength = 200;
constexpr int kMaxPhones = 10;
constexpr int kMaxEmails = 10;
constexpr int kMaxTags = 50;
constexpr size_t kMaxTagLength = 64;
constexpr int kMaxAttributes = 50;
constexpr size_t kMaxAttributeValue = 1024;
constexpr size_t kMaxExternalId = 128;
constexpr size_t kMaxLabel = 100;
constexpr size_t kMaxEmailLength = 254;

absl::Status TrimAndLimit(std::string* value, size_t limit, absl::string_view field) {
  *value = Trimmed(*value);
  if (CodePoints(*value) > limit) {
    return InvalidArgumentError(field, absl::StrCat("longer than ", limit, " characters"));
  }
  return absl::OkStatus();
}

bool IsLanguageTag(absl::string_view tag) {
  // BCP 47 in the shape people use: a 2-3 letter language, then subtags of 2-8 letters/digits.
  if (tag.size() > 35) return false;
  size_t start = 0;
  bool first = true;
  while (start <= tag.size()) {
    size_t end = tag.find('-', start);
    if (end == absl::string_view::npos) end = tag.size();
    const absl::string_view part = tag.substr(start, end - start);
    if (first ? (part.size() < 2 || part.size() > 3) : (part.size() < 1 || part.size() > 8)) {
      return false;
    }
    for (char c : part) {
      if (first ? !absl::ascii_isalpha(static_cast<unsigned char>(c))
                : !absl::ascii_isalnum(static_cast<unsigned char>(c))) {
        return false;
      }
    }
    first = false;
    start = end + 1;
  }
  return true;
}

absl::Status NormalizeEmail(v1::CustomerEmail& email, absl::string_view field) {
  email.set_address(Trimmed(email.address()));
  const std::string& address = email.address();
  const size_t at = address.rfind('@');
  if (address.size() > kMaxEmailLength || at == std::string::npos || at == 0 ||
      at + 1 >= address.size() || address.find_first_of(" \t\r\n,;<>") != std::string::npos ||
      address.find('.', at) == std::string::npos || address.back() == '.') {
    return InvalidArgumentError(absl::StrCat(field, ".address"),
                                "not an email address local@domain");
  }
  email.set_address(absl::StrCat(address.substr(0, at), "@", LowerCase(address.substr(at + 1))));
  return TrimAndLimit(email.mutable_label(), kMaxLabel, absl::StrCat(field, ".label"));
}

}  // namespace

absl::StatusOr<std::string> CustomerIdFromName(absl::string_view name, absl::string_view field) {
  if (!absl::StartsWith(name, "customers/") ||
      !common::IsCanonicalUuid(name.substr(strlen("customers/")))) {
    return InvalidArgumentError(field, "must be a customer name customers/{id}");
  }
  return std::string(name.substr(strlen("customers/")));
}

std::string CustomerName(absl::string_view id) { return absl::StrCat("customers/", id); }

absl::Status ValidateReference(absl::string_view value, absl::string_view collection,
                               absl::string_view field) {
  if (value.empty()) return absl::OkStatus();
  const std::string prefix = absl::StrCat(collection, "/");
  if (!absl::StartsWith(value, prefix) || value.size() == prefix.size() || value.size() > 200 ||
      value.substr(prefix.size()).find('/') != absl::string_view::npos) {
    return InvalidArgumentError(field, absl::StrCat("must be ", collection, "/{id}"));
  }
  return absl::OkStatus();
}

absl::Status NormalizeProfile(v1::Customer& customer, absl::string_view path,
                              const ProfileOptions& options) {
  const auto at = [&](absl::string_view field) { return absl::StrCat(path, ".", field); };
  customer.clear_name();
  customer.clear_etag();
  customer.clear_consents();
  customer.clear_flags();
  customer.clear_state();
  customer.clear_merged_into();
  customer.clear_merged_from();
  customer.clear_create_time();
  customer.clear_update_time();

  CC_RETURN_IF_ERROR(
      TrimAndLimit(customer.mutable_display_name(), kMaxNameLength, at("display_name")));
  CC_RETURN_IF_ERROR(TrimAndLimit(customer.mutable_given_name(), kMaxNameLength, at("given_name")));
  CC_RETURN_IF_ERROR(
      TrimAndLimit(customer.mutable_family_name(), kMaxNameLength, at("family_name")));
  CC_RETURN_IF_ERROR(
      TrimAndLimit(customer.mutable_middle_name(), kMaxNameLength, at("middle_name")));
  if (customer.display_name().empty()) {
    std::vector<std::string> parts;
    for (const std::string* part :
         {&customer.family_name(), &customer.given_name(), &customer.middle_name()}) {
      if (!part->empty()) parts.push_back(*part);
    }
    customer.set_display_name(absl::StrJoin(parts, " "));
  }

  if (customer.phones_size() > kMaxPhones) {
    return InvalidArgumentError(at("phones"), absl::StrCat("at most ", kMaxPhones, " numbers"));
  }
  // Lists are normalised in place (no copies: imports normalise a million cards), the first of
  // equal entries kept in order.
  std::set<std::string> seen_numbers;
  int kept = 0;
  for (int i = 0; i < customer.phones_size(); ++i) {
    v1::CustomerPhone& phone = *customer.mutable_phones(i);
    const std::string field = absl::StrCat(path, ".phones[", i, "]");
    std::string raw = Trimmed(phone.number().raw());
    if (raw.empty()) raw = phone.number().e164();
    absl::StatusOr<common::NormalizedPhone> normalized =
        common::NormalizePhone(raw, options.default_region, absl::StrCat(field, ".number.raw"));
    if (!normalized.ok()) return normalized.status();
    if (phone.number().raw().empty() && !phone.number().e164().empty() &&
        normalized->e164 != phone.number().e164()) {
      return InvalidArgumentError(absl::StrCat(field, ".number.e164"), "not valid E.164");
    }
    phone.mutable_number()->set_raw(raw);
    phone.mutable_number()->set_e164(normalized->e164);
    if (phone.extension().empty()) phone.set_extension(normalized->extension);
    if (phone.extension().size() > 10 ||
        !std::all_of(phone.extension().begin(), phone.extension().end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
      return InvalidArgumentError(absl::StrCat(field, ".extension"), "at most 10 digits");
    }
    if (phone.kind() == v1::PHONE_KIND_UNSPECIFIED) {
      phone.set_kind(normalized->mobile ? v1::PHONE_KIND_MOBILE : v1::PHONE_KIND_OTHER);
    } else if (!v1::PhoneKind_IsValid(phone.kind())) {
      return InvalidArgumentError(absl::StrCat(field, ".kind"), "unknown kind");
    }
    CC_RETURN_IF_ERROR(
        TrimAndLimit(phone.mutable_label(), kMaxLabel, absl::StrCat(field, ".label")));
    if (seen_numbers.insert(phone.number().e164()).second) {
      if (kept != i) customer.mutable_phones()->SwapElements(kept, i);
      ++kept;
    }
  }
  customer.mutable_phones()->DeleteSubrange(kept, customer.phones_size() - kept);

  if (customer.emails_size() > kMaxEmails) {
    return InvalidArgumentError(at("emails"), absl::StrCat("at most ", kMaxEmails, " addresses"));
  }
  std::set<std::string> seen_emails;
  kept = 0;
  for (int i = 0; i < customer.emails_size(); ++i) {
    v1::CustomerEmail& email = *customer.mutable_emails(i);
    CC_RETURN_IF_ERROR(NormalizeEmail(email, absl::StrCat(path, ".emails[", i, "]")));
    if (seen_emails.insert(LowerCase(email.address())).second) {
      if (kept != i) customer.mutable_emails()->SwapElements(kept, i);
      ++kept;
    }
  }
  customer.mutable_emails()->DeleteSubrange(kept, customer.emails_size() - kept);

  customer.set_preferred_language(Trimmed(customer.preferred_language()));
  if (!customer.preferred_language().empty() && !IsLanguageTag(customer.preferred_language())) {
    return InvalidArgumentError(at("preferred_language"), "not a BCP 47 language tag");
  }
  customer.set_time_zone(Trimmed(customer.time_zone()));
  if (!customer.time_zone().empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(customer.time_zone(), &zone)) {
      return InvalidArgumentError(at("time_zone"), "not an IANA time zone");
    }
  }
  if (customer.has_calling_window()) {
    CC_RETURN_IF_ERROR(common::ValidateCallingWindow(customer.calling_window(),
                                                     at("calling_window"), customer.time_zone()));
    customer.mutable_calling_window()->clear_time_zone();
  }

  if (customer.tags_size() > kMaxTags) {
    return InvalidArgumentError(at("tags"), absl::StrCat("at most ", kMaxTags, " tags"));
  }
  std::set<std::string> seen_tags;
  kept = 0;
  for (int i = 0; i < customer.tags_size(); ++i) {
    std::string& tag = *customer.mutable_tags(i);
    tag = LowerCase(Trimmed(tag));
    const size_t length = CodePoints(tag);
    if (length == 0 || length > kMaxTagLength) {
      return InvalidArgumentError(absl::StrCat(path, ".tags[", i, "]"),
                                  absl::StrCat("must be 1..", kMaxTagLength, " characters"));
    }
    if (seen_tags.insert(tag).second) {
      if (kept != i) customer.mutable_tags()->SwapElements(kept, i);
      ++kept;
    }
  }
  customer.mutable_tags()->DeleteSubrange(kept, customer.tags_size() - kept);

  if (customer.attributes_size() > kMaxAttributes) {
    return InvalidArgumentError(at("attributes"),
                                absl::StrCat("at most ", kMaxAttributes, " entries"));
  }
  for (const auto& [key, value] : customer.attributes()) {
    const bool key_ok =
        !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
          return absl::ascii_islower(static_cast<unsigned char>(c)) ||
                 absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                 c == '-';
        });
    if (!key_ok) {
      return InvalidArgumentError(absl::StrCat(path, ".attributes[\"", key.substr(0, 64), "\"]"),
                                  "keys are 1..64 characters of [a-z0-9_.-]");
    }
    if (CodePoints(value) > kMaxAttributeValue) {
      return InvalidArgumentError(absl::StrCat(path, ".attributes[\"", key, "\"]"),
                                  absl::StrCat("longer than ", kMaxAttributeValue, " characters"));
    }
  }
  return TrimAndLimit(customer.mutable_external_id(), kMaxExternalId, at("external_id"));
}

std::string NameSearchKey(const v1::Customer& customer) {
  return SearchForm(absl::StrCat(customer.display_name(), " ", customer.family_name(), " ",
                                 customer.given_name(), " ", customer.middle_name()));
}

}  // namespace contactcentre::customers
