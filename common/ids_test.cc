#include "common/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace contactcentre::common {
namespace {

TEST(IdsTest, IsCanonicalUuidVersion7) {
  const std::string id = NewId();
  EXPECT_TRUE(IsCanonicalUuid(id)) << id;
  EXPECT_EQ(id[14], '7') << id;                                          // version
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC variant
}

TEST(IdsTest, CarriesItsCreationTime) {
  const absl::Time before = absl::Now();
  absl::StatusOr<absl::Time> decoded = IdTime(NewId());
  const absl::Time after = absl::Now();
  ASSERT_TRUE(decoded.ok());
  EXPECT_GE(*decoded, absl::FromUnixMillis(absl::ToUnixMillis(before)));
  EXPECT_LE(*decoded, after + absl::Milliseconds(3));  // 4096 ids a millisecond may borrow ahead
}

TEST(IdsTest, IncreaseWithinOneMillisecondAndAcrossIt) {
  const absl::Time now = absl::Now();
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(NewIdAt(now));  // more than 4096 per ms
  ids.push_back(NewId());
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(absl::flat_hash_set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(IdsTest, NeverGoBackwardsWhenTheClockDoes) {
  const std::string later = NewId();
  const std::string earlier_clock = NewIdAt(absl::Now() - absl::Seconds(5));
  EXPECT_LT(later, earlier_clock);
}

TEST(IdsTest, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(NewId());
    });
  }
  for (auto& thread : threads) thread.join();
  absl::flat_hash_set<std::string> all;
  for (const auto& ids : made) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(IdsTest, RejectsWhatIsNotAnId) {
  EXPECT_FALSE(IdTime("").ok());
  EXPECT_FALSE(IdTime("0193b7a2-5c1e-4d3f-8a4b-1c2d3e4f5a6b").ok());  // version 4
  EXPECT_FALSE(IdTime("0193B7A2-5C1E-7D3F-8A4B-1C2D3E4F5A6B").ok());  // upper case
  EXPECT_FALSE(IsCanonicalUuid("0193b7a2_5c1e-7d3f-8a4b-1c2d3e4f5a6b"));
}

}  // namespace
}  // namespace contactcentre::common
