// A small RFC 4180 CSV reader for `ccctl import`.
//
// Fields are separated by commas and records by CRLF or LF. A field may be quoted with double
// quotes; inside quotes commas, CR and LF are data and a doubled quote ("") is one quote. Text is
// taken as bytes, so UTF-8 (Cyrillic and all) passes through unchanged; a UTF-8 byte order mark
// at the start of the file is dropped. Empty lines between records are skipped.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace contactcentre::ccctl {

struct CsvRecord {
  // The 1-based line of the file where the record starts (the header is usually line 1).
  int line = 0;
  std::vector<std::string> fields;
};

// Parses a whole file. INVALID_ARGUMENT "line N: ..." for a quote inside an unquoted field, text
// after a closing quote, or a quoted field that never ends.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text);

// Quotes `field` when it needs quoting (a comma, quote, CR or LF in it, or edge spaces).
std::string CsvEscape(absl::string_view field);

}  // namespace contactcentre::ccctl
