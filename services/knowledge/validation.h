// Input rules of the knowledge contract (proto/contactcentre/knowledge/v1): limits, formats and
// the normalisation the service applies before storing (trimming, lower-cased tags, E.164
// phones). Every check fails with INVALID_ARGUMENT whose message starts with the field path,
// e.g. "invalid article.body: 300000 bytes, at most 262144".
#pragma once

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/repeated_field.h>

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contactcentre/knowledge/v1/articles.pb.h"
#include "contactcentre/knowledge/v1/directory.pb.h"
#include "contactcentre/knowledge/v1/feedback.pb.h"
#include "contactcentre/knowledge/v1/precedents.pb.h"

namespace contactcentre::knowledge {

// Limits of the contract, in code points unless said otherwise.
inline constexpr size_t kMaxTitle = 300;
inline constexpr size_t kMaxSummary = 1000;
inline constexpr size_t kMaxBodyBytes = 262'144;
inline constexpr size_t kMaxProduct = 100;
inline constexpr size_t kMaxCategory = 200;
inline constexpr int kMaxTags = 30;
inline constexpr size_t kMaxTag = 64;
inline constexpr size_t kMaxExternalId = 128;
inline constexpr size_t kMaxChangeNote = 500;
inline constexpr size_t kMaxActorName = 200;
inline constexpr int kMaxArticleVersions = 10'000;
inline constexpr size_t kMaxProblem = 4000;
inline constexpr size_t kMaxSolution = 8000;
inline constexpr int kMaxRelatedArticles = 10;
inline constexpr size_t kMaxComment = 2000;
inline constexpr size_t kMaxFeedbackQuery = 256;
inline constexpr size_t kMaxRequestId = 64;
inline constexpr int kMaxFilterTags = 10;
inline constexpr size_t kMaxDisplayName = 300;
inline constexpr int kMaxAlternativeNames = 10;
inline constexpr size_t kMaxSubcategory = 100;
inline constexpr int kMaxPhones = 20;
inline constexpr size_t kMaxPhoneLabel = 100;
inline constexpr size_t kMaxExtension = 10;
inline constexpr size_t kMaxEmail = 254;
inline constexpr size_t kMaxWebsite = 500;
inline constexpr size_t kMaxAddress = 500;
inline constexpr size_t kMaxCity = 100;
inline constexpr size_t kMaxNotes = 4000;

// Which fields of a resource to check: all of them (create) or the paths of an update mask.
class FieldSet {
 public:
  static FieldSet All() { return FieldSet(true, {}); }
  static FieldSet Of(std::set<std::string> paths) { return FieldSet(false, std::move(paths)); }
  bool Has(absl::string_view path) const { return all_ || paths_.count(std::string(path)) > 0; }
  const std::set<std::string>& paths() const { return paths_; }

 private:
  FieldSet(bool all, std::set<std::string> paths) : all_(all), paths_(std::move(paths)) {}
  bool all_;
  std::set<std::string> paths_;
};

// The paths of `mask`, each one of `updatable`; INVALID_ARGUMENT "update_mask" when the mask
// is empty or names another path (`hint` is added for paths in `refused_with_hint`).
absl::StatusOr<FieldSet> ParseUpdateMask(const google::protobuf::FieldMask& mask,
                                         const std::set<std::string>& updatable,
                                         const std::set<std::string>& refused_with_hint = {},
                                         absl::string_view hint = "");

// request_id: empty (no deduplication) or 1..64 characters.
absl::Status CheckRequestId(absl::string_view request_id);

// Trims `*value` and checks it: required (non-empty), at most `max` code points, no control
// characters other than tab and line breaks.
absl::Status NormalizeText(std::string* value, absl::string_view field, size_t max, bool required);

// Trims, lower-cases and de-duplicates tags (order of first appearance); at most 30, each
// 1..64 code points.
absl::Status NormalizeTags(google::protobuf::RepeatedPtrField<std::string>* tags,
                           absl::string_view field);

// Filter tags (lower-cased, at most 10).
absl::StatusOr<std::vector<std::string>> NormalizeFilterTags(
    const google::protobuf::RepeatedPtrField<std::string>& tags, absl::string_view field);

// The content fields of an article named by `fields` (title, summary, body, product,
// category, tags, language, external_id), checked and normalised in place; paths are
// reported under `prefix` ("article", "items[3].article").
absl::Status NormalizeArticle(v1::Article& article, const FieldSet& fields,
                              absl::string_view prefix);

// The fields of a precedent named by `fields` (problem, solution, product, tags, outcome,
// language, related_articles, call, operator); an unspecified language is detected from the
// problem and solution when both are being set.
absl::Status NormalizePrecedent(v1::Precedent& precedent, const FieldSet& fields,
                                absl::string_view prefix);

// The fields of a directory entry named by `fields`; phones are parsed with `phone_region`
// (short numbers of that region are kept as short numbers).
absl::Status NormalizeDirectoryEntry(v1::DirectoryEntry& entry, const FieldSet& fields,
                                     absl::string_view phone_region, absl::string_view prefix);

// One phone of a directory entry: E.164 (or a short number of `region`) and the extension.
absl::Status NormalizeDirectoryPhone(v1::DirectoryPhone& phone, absl::string_view region,
                                     absl::string_view field);

// Rating, comment, query and call of feedback.
absl::Status NormalizeFeedback(v1::Feedback& feedback, absl::string_view prefix);

// An Actor given in a request (no authentication yet): name and display name trimmed, at
// most 200 code points each.
absl::Status NormalizeActor(common::v1::Actor& actor, absl::string_view field);

// The case-insensitive form of products and cities that filters and matches compare.
std::string FilterKey(absl::string_view value);

}  // namespace contactcentre::knowledge
