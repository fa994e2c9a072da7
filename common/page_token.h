// Opaque page tokens and page sizes for List and Search methods (AIP-158).
//
// A token carries a scope (the method and its filters) and a cursor (where the next page
// starts). A token from another method or other filters is refused with INVALID_ARGUMENT
// "page_token", as the contracts promise, instead of silently giving a wrong page.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::common {

std::string EncodePageToken(absl::string_view scope, absl::string_view cursor);

// The cursor of `token`; "" for an empty token (the first page). INVALID_ARGUMENT "page_token"
// when it is malformed or was made for another scope.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view scope);

// `requested`, or `default_size` when 0, lowered to `max_size`; INVALID_ARGUMENT "page_size"
// when negative.
absl::StatusOr<int32_t> PageSize(int32_t requested, int32_t default_size, int32_t max_size);

}  // namespace contactcentre::common
