// Output of ccctl: aligned tables (`-o table`, the default) and protobuf JSON (`-o json`).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace contactcentre::ccctl {

// kName prints only resource names, one a line (for scripts).
enum class OutputFormat { kTable, kJson, kName };

// "table", "json" or "name"; INVALID_ARGUMENT otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// A table column: its header and the field path of its cell (fields.h FieldText). The path
// "id" is special: the last segment of the resource name ("queues/0193..." shows "0193...").
struct Column {
  std::string header;
  std::string path;
};

// Width of UTF-8 text in terminal columns (one per code point: Cyrillic letters are 2 bytes but
// one column).
size_t DisplayWidth(absl::string_view utf8);

// At most `width` columns of `utf8`, cut at a code point boundary and ending with "…" when cut.
std::string TruncateToWidth(absl::string_view utf8, size_t width);

// Rows under headers, each column as wide as its widest cell (cells cut at `max_cell_width`),
// separated by three spaces, without trailing spaces. Newlines and tabs in cells become spaces.
std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows,
                        size_t max_cell_width = 60);

// A table of messages, one row each.
std::string MessagesTable(const std::vector<const google::protobuf::Message*>& messages,
                          const std::vector<Column>& columns);

// One message as indented JSON, or a list as a JSON array of them; ends with a newline.
std::string MessageJson(const google::protobuf::Message& message);
std::string MessagesJson(const std::vector<const google::protobuf::Message*>& messages);

}  // namespace contactcentre::ccctl
