// `ccctl import <resource> file.csv`: rows of a CSV file become resources, through the
// service's bulk stream where it has one (customers, articles, directory) and one create per row
// otherwise (queues, operators, teams, skills, surveys). The header row names the fields (see
// Resource::csv_help and fields.h for how cells are read); per-row errors print as
// "line N: <reason>".
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "tools/ccctl/resources.h"
#include "tools/ccctl/rpc.h"

namespace contactcentre::ccctl {

// One data row of the file, converted.
struct ImportRow {
  int line = 0;
  std::unique_ptr<google::protobuf::Message> item;  // null when the row did not convert
  std::string error;                                // why not
  // Columns that name a field of the create request rather than of the item (a membership's
  // queue, `parent`), set on an otherwise empty request; null when there are none.
  std::unique_ptr<google::protobuf::Message> request;
};

// Converts CSV text to items of `resource`. Fails as a whole (INVALID_ARGUMENT) for malformed
// CSV, a missing header or a header naming no field; a row that does not convert carries its
// error instead.
absl::StatusOr<std::vector<ImportRow>> RowsFromCsv(const Resource& resource, absl::string_view csv);

struct ImportOptions {
  // Names the import for idempotency: the same id repeated does not apply rows twice.
  std::string request_id;
  bool create_only = false;
  // The site of rows that have a `site` column left empty (or none).
  std::string site;
  // Region for phone numbers without a country code ("" = the service's default).
  std::string region;
  // Draw a progress bar (stderr is a terminal) rather than plain lines.
  bool tty = false;
  absl::Duration timeout = absl::Minutes(30);
};

struct ImportReport {
  int64_t rows = 0;
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t duplicates = 0;
  int64_t already_imported = 0;
  int64_t failed = 0;
};

// Imports the file at `path`; per-row errors and progress go to stderr. The report counts every
// data row (failed ones too); an error status only for what stops the whole import.
absl::StatusOr<ImportReport> ImportVerb(Clients& clients, const Resource& resource,
                                        const std::string& path, const ImportOptions& options);

// "customers: 3 rows, 2 created, 0 updated, 0 unchanged, 0 duplicates, 1 failed".
std::string FormatImportReport(const Resource& resource, const ImportReport& report);

}  // namespace contactcentre::ccctl
