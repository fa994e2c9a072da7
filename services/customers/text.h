// Text helpers for customer data: Unicode-aware lengths and the case folding that search and
// tags use (Latin and Cyrillic; 'ё' folds to 'е' as Russian users expect).
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace contactcentre::customers {

// Number of Unicode code points of valid UTF-8 `text`.
size_t CodePoints(absl::string_view text);

// Lower-cases Latin and Cyrillic letters; other characters pass unchanged.
std::string LowerCase(absl::string_view text);

// LowerCase, 'ё' -> 'е', runs of white space and punctuation to one space, trimmed: the form in
// which names are searched.
std::string SearchForm(absl::string_view text);

// Leading and trailing ASCII white space removed.
std::string Trimmed(absl::string_view text);

}  // namespace contactcentre::customers
