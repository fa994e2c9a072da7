#include "common/page_token.h"

#include <gtest/gtest.h>

namespace contactcentre::common {
namespace {

TEST(PageTokenTest, RoundTripsWithinItsScope) {
  const std::string token = EncodePageToken("ListCustomers|tags=vip", "2026-01-01|0193");
  EXPECT_EQ(*DecodePageToken(token, "ListCustomers|tags=vip"), "2026-01-01|0193");
  EXPECT_EQ(*DecodePageToken("", "anything"), "");
}

TEST(PageTokenTest, RefusesOtherScopesAndGarbage) {
  const std::string token = EncodePageToken("ListCustomers|tags=vip", "cursor");
  absl::StatusOr<std::string> other = DecodePageToken(token, "ListCustomers|tags=debtor");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("page_token"), std::string::npos);
  EXPECT_FALSE(DecodePageToken("%%%not base64", "ListCustomers").ok());
  EXPECT_FALSE(DecodePageToken(EncodePageToken("ListNotes", "x"), "ListCustomers").ok());
}

TEST(PageTokenTest, PageSizes) {
  EXPECT_EQ(*PageSize(0, 50, 1000), 50);
  EXPECT_EQ(*PageSize(20, 50, 1000), 20);
  EXPECT_EQ(*PageSize(5000, 50, 1000), 1000);
  EXPECT_EQ(PageSize(-1, 50, 1000).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace contactcentre::common
