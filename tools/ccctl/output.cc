#include "tools/ccctl/output.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "tools/ccctl/fields.h"

namespace contactcentre::ccctl {

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  if (text == "table" || text == "wide") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "name") return OutputFormat::kName;
  return absl::InvalidArgumentError(
      absl::StrCat("-o must be table, json or name, not \"", text, "\""));
}

size_t DisplayWidth(absl::string_view utf8) {
  size_t width = 0;
  for (char c : utf8) {
    // Count every byte that is not a UTF-8 continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string TruncateToWidth(absl::string_view utf8, size_t width) {
  if (DisplayWidth(utf8) <= width) return std::string(utf8);
  if (width == 0) return "";
  // Keep width - 1 code points, then the ellipsis.
  size_t kept = 0;
  size_t end = 0;
  for (; end < utf8.size(); ++end) {
    if ((static_cast<unsigned char>(utf8[end]) & 0xC0) != 0x80) {
      if (kept == width - 1) break;
      ++kept;
    }
  }
  return absl::StrCat(utf8.substr(0, end), "…");
}

std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, size_t max_cell_width) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back(headers);
  for (const auto& row : rows) {
    std::vector<std::string> clean;
    for (size_t i = 0; i < headers.size(); ++i) {
      const std::string text = i < row.size() ? row[i] : "";
      clean.push_back(TruncateToWidth(
          absl::StrReplaceAll(text, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}, {"\t", " "}}),
          max_cell_width));
    }
    cells.push_back(std::move(clean));
  }
  std::vector<size_t> widths(headers.size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line.append(row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

std::string MessagesTable(const std::vector<const google::protobuf::Message*>& messages,
                          const std::vector<Column>& columns) {
  std::vector<std::string> headers;
  for (const Column& column : columns) headers.push_back(column.header);
  std::vector<std::vector<std::string>> rows;
  for (const google::protobuf::Message* message : messages) {
    std::vector<std::string> row;
    for (const Column& column : columns) {
      if (column.path == "id") {
        const std::string name = FieldText(*message, "name");
        const size_t slash = name.rfind('/');
        row.push_back(slash == std::string::npos ? name : name.substr(slash + 1));
      } else {
        row.push_back(FieldText(*message, column.path));
      }
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(headers, rows);
}

std::string MessageJson(const google::protobuf::Message& message) {
  return absl::StrCat(MessageToJson(message, true), "\n");
}

std::string MessagesJson(const std::vector<const google::protobuf::Message*>& messages) {
  if (messages.empty()) return "[]\n";
  std::vector<std::string> items;
  for (const google::protobuf::Message* message : messages) {
    items.push_back(MessageToJson(*message, true));
  }
  return absl::StrCat("[\n", absl::StrJoin(items, ",\n"), "\n]\n");
}

}  // namespace contactcentre::ccctl
