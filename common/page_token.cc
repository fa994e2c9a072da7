#include "common/page_token.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace contactcentre::common {
namespace {
constexpr char kVersion[] = "p1";
}  // namespace

std::string EncodePageToken(absl::string_view scope, absl::string_view cursor) {
  return absl::WebSafeBase64Escape(absl::StrCat(kVersion, "\n", scope, "\n", cursor));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view scope) {
  if (token.empty()) return std::string();
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(token, &decoded)) {
    return InvalidArgumentError("page_token", "malformed");
  }
  const std::string prefix = absl::StrCat(kVersion, "\n", scope, "\n");
  if (decoded.compare(0, prefix.size(), prefix) != 0) {
    return InvalidArgumentError("page_token", "was not made by this method with the same filters");
  }
  return decoded.substr(prefix.size());
}

absl::StatusOr<int32_t> PageSize(int32_t requested, int32_t default_size, int32_t max_size) {
  if (requested < 0) return InvalidArgumentError("page_size", "must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

}  // namespace contactcentre::common
