#include "services/knowledge/names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/status.h"

namespace contactcentre::knowledge {
namespace {

absl::Status Malformed(absl::string_view field, absl::string_view expected) {
  return common::InvalidArgumentError(field, absl::StrCat("must be \"", expected, "\""));
}

}  // namespace

std::string ResourceName(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

absl::StatusOr<std::string> ParseResourceId(absl::string_view name, absl::string_view collection,
                                            absl::string_view field) {
  const std::string expected = absl::StrCat(collection, "/{id}");
  if (name.empty()) return common::InvalidArgumentError(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != collection) return Malformed(field, expected);
  if (!common::IsCanonicalUuid(parts[1])) {
    return common::InvalidArgumentError(field, absl::StrCat("\"", parts[1], "\" is not an id"));
  }
  return std::string(parts[1]);
}

std::string ArticleVersionName(absl::string_view article_id, int32_t version) {
  return absl::StrCat(kArticles, "/", article_id, "/versions/", version);
}

absl::StatusOr<ArticleVersionRef> ParseArticleVersionName(absl::string_view name,
                                                          absl::string_view field) {
  if (name.empty()) return common::InvalidArgumentError(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  ArticleVersionRef ref;
  if (parts.size() != 4 || parts[0] != kArticles || parts[2] != "versions" ||
      !absl::SimpleAtoi(parts[3], &ref.version) || ref.version < 1 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(parts[3][0]))) {
    return Malformed(field, "articles/{article_id}/versions/{version}");
  }
  if (!common::IsCanonicalUuid(parts[1])) {
    return common::InvalidArgumentError(field, absl::StrCat("\"", parts[1], "\" is not an id"));
  }
  ref.article_id = std::string(parts[1]);
  return ref;
}

std::string FeedbackTarget::name() const {
  return absl::StrCat(article ? kArticles : kPrecedents, "/", id.empty() ? "-" : id);
}

absl::StatusOr<FeedbackTarget> ParseFeedbackTarget(absl::string_view name, absl::string_view field,
                                                   bool allow_all) {
  if (name.empty()) return common::InvalidArgumentError(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  FeedbackTarget target;
  if (parts.size() != 2 || (parts[0] != kArticles && parts[0] != kPrecedents)) {
    return common::InvalidArgumentError(
        field, allow_all ? "must be \"articles/{id}\", \"precedents/{id}\", \"articles/-\" or "
                           "\"precedents/-\""
                         : "must be \"articles/{id}\" or \"precedents/{id}\"");
  }
  target.article = parts[0] == kArticles;
  if (allow_all && parts[1] == "-") return target;
  if (!common::IsCanonicalUuid(parts[1])) {
    return common::InvalidArgumentError(field, absl::StrCat("\"", parts[1], "\" is not an id"));
  }
  target.id = std::string(parts[1]);
  return target;
}

std::string FeedbackName(const FeedbackTarget& target, absl::string_view feedback_id) {
  return absl::StrCat(target.name(), "/feedback/", feedback_id);
}

absl::Status CheckForeignName(absl::string_view name, absl::string_view collection,
                              absl::string_view field) {
  if (name.empty()) return absl::OkStatus();
  const std::string expected = absl::StrCat(collection, "/{id}");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != collection || parts[1].empty() || parts[1].size() > 128) {
    return Malformed(field, expected);
  }
  for (char c : parts[1]) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' &&
        c != '~') {
      return Malformed(field, expected);
    }
  }
  return absl::OkStatus();
}

}  // namespace contactcentre::knowledge
