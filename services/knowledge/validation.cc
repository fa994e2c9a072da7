#include "services/knowledge/validation.h"

#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/shortnumberinfo.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/phone.h"
#include "common/status.h"
#include "services/knowledge/names.h"
#include "services/knowledge/opening_hours.h"
#include "services/knowledge/text.h"

namespace contactcentre::knowledge {
namespace {

std::string Path(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

absl::Status TooLong(absl::string_view field, size_t length, size_t max) {
  return common::InvalidArgumentError(field, absl::StrCat(length, " characters, at most ", max));
}

// A category path: trimmed, without leading or trailing "/", no empty segment.
absl::Status NormalizeCategory(std::string* category, absl::string_view field) {
  CC_RETURN_IF_ERROR(NormalizeText(category, field, kMaxCategory, false));
  absl::string_view trimmed = *category;
  while (absl::ConsumePrefix(&trimmed, "/")) {
  }
  while (absl::ConsumeSuffix(&trimmed, "/")) {
  }
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(trimmed, '/')) {
    std::string clean = TrimText(segment);
    if (clean.empty() && !trimmed.empty()) {
      return common::InvalidArgumentError(field, "has an empty path segment");
    }
    segments.push_back(std::move(clean));
  }
  *category = trimmed.empty() ? "" : absl::StrJoin(segments, "/");
  return absl::OkStatus();
}

absl::Status CheckLanguage(v1::Language language, absl::string_view field, bool required) {
  if (!v1::Language_IsValid(language)) {
    return common::InvalidArgumentError(field, absl::StrCat("unknown language ", language));
  }
  if (required && language == v1::LANGUAGE_UNSPECIFIED) {
    return common::InvalidArgumentError(field, "is required (LANGUAGE_RU or LANGUAGE_EN)");
  }
  return absl::OkStatus();
}

bool IsShortNumber(const std::string& digits, absl::string_view region) {
  using i18n::phonenumbers::PhoneNumberUtil;
  if (digits.empty() || digits.size() > 6) return false;
  i18n::phonenumbers::PhoneNumber number;
  if (PhoneNumberUtil::GetInstance()->Parse(digits, std::string(region), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return false;
  }
  static const i18n::phonenumbers::ShortNumberInfo* const info =
      new i18n::phonenumbers::ShortNumberInfo();
  return info->IsValidShortNumberForRegion(number, std::string(region));
}

absl::Status CheckEmail(const std::string& email, absl::string_view field) {
  const size_t at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos ||
      email.find_first_of(" \t\r\n") != std::string::npos) {
    return common::InvalidArgumentError(field, "not an email address");
  }
  return absl::OkStatus();
}

absl::Status CheckWebsite(const std::string& website, absl::string_view field) {
  absl::string_view rest = website;
  if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://")) {
    return common::InvalidArgumentError(field, "must be an http:// or https:// URL");
  }
  const absl::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || website.find_first_of(" \t\r\n") != std::string::npos) {
    return common::InvalidArgumentError(field, "must be an http:// or https:// URL with a host");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FieldSet> ParseUpdateMask(const google::protobuf::FieldMask& mask,
                                         const std::set<std::string>& updatable,
                                         const std::set<std::string>& refused_with_hint,
                                         absl::string_view hint) {
  if (mask.paths_size() == 0) {
    return common::InvalidArgumentError("update_mask", "must name at least one field");
  }
  std::set<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (refused_with_hint.count(path) > 0) {
      return common::InvalidArgumentError("update_mask",
                                          absl::StrCat("\"", path, "\" is not updatable: ", hint));
    }
    if (updatable.count(path) == 0) {
      return common::InvalidArgumentError(
          "update_mask", absl::StrCat("\"", path, "\" is not an updatable field (updatable: ",
                                      absl::StrJoin(updatable, ", "), ")"));
    }
    paths.insert(path);
  }
  return FieldSet::Of(std::move(paths));
}

absl::Status CheckRequestId(absl::string_view request_id) {
  if (CodePointCount(request_id) > kMaxRequestId) {
    return TooLong("request_id", CodePointCount(request_id), kMaxRequestId);
  }
  return absl::OkStatus();
}

absl::Status NormalizeText(std::string* value, absl::string_view field, size_t max, bool required) {
  *value = TrimText(*value);
  if (required && value->empty()) return common::InvalidArgumentError(field, "must not be empty");
  const size_t length = CodePointCount(*value);
  if (length > max) return TooLong(field, length, max);
  if (HasControlCharacters(*value)) {
    return common::InvalidArgumentError(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status NormalizeTags(google::protobuf::RepeatedPtrField<std::string>* tags,
                           absl::string_view field) {
  if (tags->size() > kMaxTags) {
    return common::InvalidArgumentError(field,
                                        absl::StrCat(tags->size(), " tags, at most ", kMaxTags));
  }
  std::vector<std::string> unique;
  for (int i = 0; i < tags->size(); ++i) {
    std::string tag = LowerText(TrimText(tags->Get(i)));
    CC_RETURN_IF_ERROR(
        NormalizeText(&tag, absl::StrCat(field, "[", i, "]"), kMaxTag, /*required=*/true));
    if (std::find(unique.begin(), unique.end(), tag) == unique.end()) {
      unique.push_back(std::move(tag));
    }
  }
  tags->Clear();
  for (std::string& tag : unique) tags->Add(std::move(tag));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NormalizeFilterTags(
    const google::protobuf::RepeatedPtrField<std::string>& tags, absl::string_view field) {
  if (tags.size() > kMaxFilterTags) {
    return common::InvalidArgumentError(
        field, absl::StrCat(tags.size(), " tags, at most ", kMaxFilterTags));
  }
  std::vector<std::string> result;
  for (const std::string& tag : tags) {
    std::string clean = LowerText(TrimText(tag));
    if (!clean.empty()) result.push_back(std::move(clean));
  }
  return result;
}

absl::Status NormalizeArticle(v1::Article& article, const FieldSet& fields,
                              absl::string_view prefix) {
  if (fields.Has("title")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(article.mutable_title(), Path(prefix, "title"), kMaxTitle, true));
  }
  if (fields.Has("summary")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(article.mutable_summary(), Path(prefix, "summary"), kMaxSummary, false));
  }
  if (fields.Has("body")) {
    *article.mutable_body() = TrimText(article.body());
    if (article.body().size() > kMaxBodyBytes) {
      return common::InvalidArgumentError(
          Path(prefix, "body"),
          absl::StrCat(article.body().size(), " bytes, at most ", kMaxBodyBytes));
    }
    if (HasControlCharacters(article.body())) {
      return common::InvalidArgumentError(Path(prefix, "body"),
                                          "must not contain control characters");
    }
  }
  if (fields.Has("product")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(article.mutable_product(), Path(prefix, "product"), kMaxProduct, false));
  }
  if (fields.Has("category")) {
    CC_RETURN_IF_ERROR(NormalizeCategory(article.mutable_category(), Path(prefix, "category")));
  }
  if (fields.Has("tags")) {
    CC_RETURN_IF_ERROR(NormalizeTags(article.mutable_tags(), Path(prefix, "tags")));
  }
  if (fields.Has("language")) {
    CC_RETURN_IF_ERROR(CheckLanguage(article.language(), Path(prefix, "language"), true));
  }
  if (fields.Has("external_id")) {
    CC_RETURN_IF_ERROR(NormalizeText(article.mutable_external_id(), Path(prefix, "external_id"),
                                     kMaxExternalId, false));
  }
  return absl::OkStatus();
}

absl::Status NormalizePrecedent(v1::Precedent& precedent, const FieldSet& fields,
                                absl::string_view prefix) {
  if (fields.Has("problem")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(precedent.mutable_problem(), Path(prefix, "problem"), kMaxProblem, true));
  }
  if (fields.Has("solution")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(precedent.mutable_solution(), Path(prefix, "solution"), kMaxSolution, true));
  }
  if (fields.Has("product")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(precedent.mutable_product(), Path(prefix, "product"), kMaxProduct, false));
  }
  if (fields.Has("tags")) {
    CC_RETURN_IF_ERROR(NormalizeTags(precedent.mutable_tags(), Path(prefix, "tags")));
  }
  if (fields.Has("outcome") && !v1::PrecedentOutcome_IsValid(precedent.outcome())) {
    return common::InvalidArgumentError(Path(prefix, "outcome"),
                                        absl::StrCat("unknown outcome ", precedent.outcome()));
  }
  if (fields.Has("language")) {
    CC_RETURN_IF_ERROR(CheckLanguage(precedent.language(), Path(prefix, "language"), false));
  }
  if (fields.Has("related_articles")) {
    if (precedent.related_articles_size() > kMaxRelatedArticles) {
      return common::InvalidArgumentError(Path(prefix, "related_articles"),
                                          absl::StrCat(precedent.related_articles_size(),
                                                       " articles, at most ", kMaxRelatedArticles));
    }
    for (int i = 0; i < precedent.related_articles_size(); ++i) {
      *precedent.mutable_related_articles(i) = TrimText(precedent.related_articles(i));
      CC_RETURN_IF_ERROR(
          ParseResourceId(precedent.related_articles(i), kArticles,
                          absl::StrCat(Path(prefix, "related_articles"), "[", i, "]"))
              .status());
    }
  }
  if (fields.Has("call")) {
    *precedent.mutable_call() = TrimText(precedent.call());
    CC_RETURN_IF_ERROR(CheckForeignName(precedent.call(), "calls", Path(prefix, "call")));
  }
  if (fields.Has("operator")) {
    *precedent.mutable_operator_() = TrimText(precedent.operator_());
    CC_RETURN_IF_ERROR(
        CheckForeignName(precedent.operator_(), "operators", Path(prefix, "operator")));
  }
  return absl::OkStatus();
}

absl::Status NormalizeDirectoryPhone(v1::DirectoryPhone& phone, absl::string_view region,
                                     absl::string_view field) {
  common::v1::PhoneNumber& number = *phone.mutable_number();
  std::string raw = TrimText(number.raw());
  if (raw.empty()) raw = TrimText(number.e164());
  const std::string raw_field = absl::StrCat(field, ".number.raw");
  if (raw.empty()) return common::InvalidArgumentError(raw_field, "a phone number is required");
  std::string extension = TrimText(phone.extension());
  if (!extension.empty() && (extension.size() > kMaxExtension ||
                             !std::all_of(extension.begin(), extension.end(), [](char c) {
                               return absl::ascii_isdigit(static_cast<unsigned char>(c));
                             }))) {
    return common::InvalidArgumentError(absl::StrCat(field, ".extension"), "must be 1..10 digits");
  }
  const bool dial_characters_only = std::all_of(raw.begin(), raw.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '(' ||
           c == ')';
  });
  const std::string digits = common::PhoneDigits(raw);
  if (dial_characters_only && IsShortNumber(digits, region)) {
    number.set_e164("");
    number.set_raw(digits);
    phone.set_short_number(true);
  } else {
    CC_ASSIGN_OR_RETURN(common::NormalizedPhone normalized,
                        common::NormalizePhone(raw, region, raw_field));
    number.set_e164(normalized.e164);
    number.set_raw(raw);
    phone.set_short_number(false);
    if (extension.empty()) extension = normalized.extension;
  }
  phone.set_extension(extension);
  return NormalizeText(phone.mutable_label(), absl::StrCat(field, ".label"), kMaxPhoneLabel, false);
}

absl::Status NormalizeDirectoryEntry(v1::DirectoryEntry& entry, const FieldSet& fields,
                                     absl::string_view phone_region, absl::string_view prefix) {
  if (fields.Has("display_name")) {
    CC_RETURN_IF_ERROR(NormalizeText(entry.mutable_display_name(), Path(prefix, "display_name"),
                                     kMaxDisplayName, true));
  }
  if (fields.Has("alternative_names")) {
    if (entry.alternative_names_size() > kMaxAlternativeNames) {
      return common::InvalidArgumentError(
          Path(prefix, "alternative_names"),
          absl::StrCat(entry.alternative_names_size(), " names, at most ", kMaxAlternativeNames));
    }
    for (int i = 0; i < entry.alternative_names_size(); ++i) {
      CC_RETURN_IF_ERROR(NormalizeText(entry.mutable_alternative_names(i),
                                       absl::StrCat(Path(prefix, "alternative_names"), "[", i, "]"),
                                       kMaxDisplayName, true));
    }
  }
  if (fields.Has("category") && (entry.category() == v1::ORGANISATION_CATEGORY_UNSPECIFIED ||
                                 !v1::OrganisationCategory_IsValid(entry.category()))) {
    return common::InvalidArgumentError(Path(prefix, "category"),
                                        entry.category() == v1::ORGANISATION_CATEGORY_UNSPECIFIED
                                            ? std::string("is required")
                                            : absl::StrCat("unknown category ", entry.category()));
  }
  if (fields.Has("subcategory")) {
    CC_RETURN_IF_ERROR(NormalizeText(entry.mutable_subcategory(), Path(prefix, "subcategory"),
                                     kMaxSubcategory, false));
  }
  if (fields.Has("phones")) {
    if (entry.phones_size() > kMaxPhones) {
      return common::InvalidArgumentError(
          Path(prefix, "phones"),
          absl::StrCat(entry.phones_size(), " phones, at most ", kMaxPhones));
    }
    for (int i = 0; i < entry.phones_size(); ++i) {
      CC_RETURN_IF_ERROR(
          NormalizeDirectoryPhone(*entry.mutable_phones(i), phone_region,
                                  absl::StrCat(Path(prefix, "phones"), "[", i, "]")));
    }
  }
  if (fields.Has("email")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(entry.mutable_email(), Path(prefix, "email"), kMaxEmail, false));
    if (!entry.email().empty())
      CC_RETURN_IF_ERROR(CheckEmail(entry.email(), Path(prefix, "email")));
  }
  if (fields.Has("website")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(entry.mutable_website(), Path(prefix, "website"), kMaxWebsite, false));
    if (!entry.website().empty()) {
      CC_RETURN_IF_ERROR(CheckWebsite(entry.website(), Path(prefix, "website")));
    }
  }
  if (fields.Has("address")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(entry.mutable_address(), Path(prefix, "address"), kMaxAddress, false));
  }
  if (fields.Has("city")) {
    CC_RETURN_IF_ERROR(NormalizeText(entry.mutable_city(), Path(prefix, "city"), kMaxCity, false));
  }
  if (fields.Has("opening_hours") && entry.has_opening_hours()) {
    CC_RETURN_IF_ERROR(CheckSchedule(entry.opening_hours(), Path(prefix, "opening_hours")));
  }
  if (fields.Has("notes")) {
    CC_RETURN_IF_ERROR(
        NormalizeText(entry.mutable_notes(), Path(prefix, "notes"), kMaxNotes, false));
  }
  if (fields.Has("external_id")) {
    CC_RETURN_IF_ERROR(NormalizeText(entry.mutable_external_id(), Path(prefix, "external_id"),
                                     kMaxExternalId, false));
  }
  if (fields.Has("verify_time") && entry.has_verify_time() &&
      (entry.verify_time().nanos() < 0 || entry.verify_time().nanos() > 999'999'999)) {
    return common::InvalidArgumentError(Path(prefix, "verify_time"), "not a valid time");
  }
  return absl::OkStatus();
}

absl::Status NormalizeFeedback(v1::Feedback& feedback, absl::string_view prefix) {
  if (feedback.rating() == v1::FEEDBACK_RATING_UNSPECIFIED ||
      !v1::FeedbackRating_IsValid(feedback.rating())) {
    return common::InvalidArgumentError(Path(prefix, "rating"),
                                        "must be FEEDBACK_RATING_HELPFUL or "
                                        "FEEDBACK_RATING_NOT_HELPFUL");
  }
  CC_RETURN_IF_ERROR(
      NormalizeText(feedback.mutable_comment(), Path(prefix, "comment"), kMaxComment, false));
  CC_RETURN_IF_ERROR(
      NormalizeText(feedback.mutable_query(), Path(prefix, "query"), kMaxFeedbackQuery, false));
  *feedback.mutable_call() = TrimText(feedback.call());
  CC_RETURN_IF_ERROR(CheckForeignName(feedback.call(), "calls", Path(prefix, "call")));
  return NormalizeActor(*feedback.mutable_author(), Path(prefix, "author"));
}

absl::Status NormalizeActor(common::v1::Actor& actor, absl::string_view field) {
  CC_RETURN_IF_ERROR(
      NormalizeText(actor.mutable_name(), absl::StrCat(field, ".name"), kMaxActorName, false));
  return NormalizeText(actor.mutable_display_name(), absl::StrCat(field, ".display_name"),
                       kMaxActorName, false);
}

std::string FilterKey(absl::string_view value) { return FoldForSearch(TrimText(value)); }

}  // namespace contactcentre::knowledge
