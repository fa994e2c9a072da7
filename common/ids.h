// Time-ordered unique ids for resources and events.
//
// Ids are UUIDv7 (RFC 9562) in their canonical text form, e.g.
// "0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b": the first 48 bits are the Unix time in milliseconds,
// so ids sort by creation time as text and as PostgreSQL `uuid`, and index inserts stay local.
// Within one process, ids made in the same millisecond still increase (a 12-bit sequence, then
// the clock is borrowed from), so sorting by id keeps the order of creation.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace contactcentre::common {

// A new id; thread-safe.
std::string NewId();

// The same, with the time given. Ids never go back: a time before that of an id already made
// gets that id's time (so a clock stepped back keeps the order).
std::string NewIdAt(absl::Time time);

// The creation time (millisecond precision) of an id made by NewId; INVALID_ARGUMENT when
// `id` is not a UUIDv7 in canonical form.
absl::StatusOr<absl::Time> IdTime(absl::string_view id);

// True when `id` is a canonical lower-case UUID (any version), as ids of the suite are.
bool IsCanonicalUuid(absl::string_view id);

}  // namespace contactcentre::common
