// Resource names of the knowledge service and of the resources of other services it refers
// to, parsed and built in one place.
//
//   articles/{article_id}                       ArticleName(id)
//   articles/{article_id}/versions/{version}     ArticleVersionName(id, 3)
//   articles/{article_id}/feedback/{id}         FeedbackName(...)
//   precedents/{precedent_id}
//   directoryEntries/{entry_id}
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::knowledge {

inline constexpr absl::string_view kArticles = "articles";
inline constexpr absl::string_view kPrecedents = "precedents";
inline constexpr absl::string_view kDirectoryEntries = "directoryEntries";

// "<collection>/<id>".
std::string ResourceName(absl::string_view collection, absl::string_view id);

// The id of "<collection>/<id>" where the id is a canonical UUID; INVALID_ARGUMENT naming
// `field` otherwise (empty, another collection, a malformed id).
absl::StatusOr<std::string> ParseResourceId(absl::string_view name, absl::string_view collection,
                                            absl::string_view field);

struct ArticleVersionRef {
  std::string article_id;
  int32_t version = 0;
};

std::string ArticleVersionName(absl::string_view article_id, int32_t version);

// "articles/{id}/versions/{n}" with n >= 1; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<ArticleVersionRef> ParseArticleVersionName(absl::string_view name,
                                                          absl::string_view field);

// The target of feedback: an article or a precedent.
struct FeedbackTarget {
  bool article = true;
  // Empty for "articles/-" and "precedents/-" (every target of the kind).
  std::string id;
  std::string name() const;
};

// "articles/{id}" or "precedents/{id}", and with `allow_all` also "articles/-" and
// "precedents/-"; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<FeedbackTarget> ParseFeedbackTarget(absl::string_view name, absl::string_view field,
                                                   bool allow_all);

std::string FeedbackName(const FeedbackTarget& target, absl::string_view feedback_id);

// A reference to another service's resource, "<collection>/<id>", checked for form only: the
// id is 1..128 characters of letters, digits and "-._~" (the suite uses UUIDs, other systems
// may not). Empty is allowed (no reference). INVALID_ARGUMENT naming `field` otherwise.
absl::Status CheckForeignName(absl::string_view name, absl::string_view collection,
                              absl::string_view field);

}  // namespace contactcentre::knowledge
