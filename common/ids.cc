#include "common/ids.h"

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"

namespace contactcentre::common {
namespace {

struct Generator {
  absl::Mutex mutex;
  int64_t last_millis ABSL_GUARDED_BY(mutex) = 0;
  uint32_t sequence ABSL_GUARDED_BY(mutex) = 0;
  absl::BitGen random ABSL_GUARDED_BY(mutex);
};

Generator& TheGenerator() {
  static auto* const generator = new Generator();
  return *generator;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string NewIdAt(absl::Time time) {
  Generator& generator = TheGenerator();
  int64_t millis = absl::ToUnixMillis(time);
  uint32_t sequence;
  uint64_t random_tail;
  {
    absl::MutexLock lock(&generator.mutex);
    if (millis > generator.last_millis) {
      generator.last_millis = millis;
      // Start each millisecond at a random point in the lower half, leaving room to count up.
      generator.sequence = absl::Uniform<uint32_t>(generator.random, 0, 0x800);
    } else {
      millis = generator.last_millis;  // the clock went back or stood still: keep order
      if (++generator.sequence > 0xfff) {
        generator.sequence = 0;
        millis = ++generator.last_millis;
      }
    }
    sequence = generator.sequence;
    random_tail = absl::Uniform<uint64_t>(generator.random);
  }
  const uint64_t high = (static_cast<uint64_t>(millis) << 16) | 0x7000u | sequence;
  const uint64_t low = (random_tail & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  // Hand-written hex: ids are made on every call and event, and StrFormat took 8x as long.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  int position = 35;
  auto put = [&](uint64_t bits, int digits) {
    for (int i = 0; i < digits; ++i, bits >>= 4) id[position--] = kHex[bits & 0xf];
  };
  put(low, 12);
  --position;
  put(low >> 48, 4);
  --position;
  put(high, 4);
  --position;
  put(high >> 16, 4);
  --position;
  put(high >> 32, 8);
  return id;
}

std::string NewId() { return NewIdAt(absl::Now()); }

bool IsCanonicalUuid(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return false;
    } else if (HexValue(id[i]) < 0) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<absl::Time> IdTime(absl::string_view id) {
  if (!IsCanonicalUuid(id) || id[14] != '7') {
    return absl::InvalidArgumentError("not a canonical UUIDv7");
  }
  int64_t millis = 0;
  for (size_t i = 0; i < 13; ++i) {
    if (i == 8) continue;
    millis = millis * 16 + HexValue(id[i]);
  }
  return absl::FromUnixMillis(millis);
}

}  // namespace contactcentre::common
