#include "tools/ccctl/csv.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace contactcentre::ccctl {

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  bool in_record = false;  // something of the current record has been read
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    records.push_back(std::move(record));
    record = CsvRecord{};
    in_record = false;
  };
  while (i < n) {
    if (!in_record) {
      // Skip empty lines between records.
      if (text[i] == '\n') {
        ++line;
        ++i;
        continue;
      }
      if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') {
        ++line;
        i += 2;
        continue;
      }
      in_record = true;
      record.line = line;
    }
    const char c = text[i];
    if (c == '"') {
      if (!field.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line, ": a quote inside an unquoted field"));
      }
      const int start_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i]);
        ++i;
      }
      if (!closed) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", start_line, ": a quoted field is never closed"));
      }
      // After the closing quote: a separator, the end of the record or the end of the text.
      if (i < n && text[i] != ',' && text[i] != '\n' &&
          !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line, ": text after a closing quote"));
      }
      // A quoted field counts as one even when empty: mark it by falling through.
      continue;
    }
    if (c == ',') {
      end_field();
      ++i;
      continue;
    }
    if (c == '\n' || (c == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      end_record();
      i += c == '\n' ? 1 : 2;
      ++line;
      continue;
    }
    field.push_back(c);
    ++i;
  }
  if (in_record) end_record();
  return records;
}

std::string CsvEscape(absl::string_view field) {
  const bool needs_quotes = field.find_first_of(",\"\r\n") != absl::string_view::npos ||
                            (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!needs_quotes) return std::string(field);
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

}  // namespace contactcentre::ccctl
