// The organisations directory on PostgreSQL: entries with normalised phones and opening hours,
// a search tolerant of word order, number signs and typos, and bulk import.
//
// Each method implements the DirectoryService method of the same name; the contract
// (proto/contactcentre/knowledge/v1/directory.proto) lists the errors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg_pool.h"
#include "contactcentre/knowledge/v1/directory.pb.h"
#include "google/protobuf/empty.pb.h"
#include "services/knowledge/import_session.h"

namespace contactcentre::knowledge {

struct DirectoryOptions {
  // Region for numbers without a country code (CC_PHONE_DEFAULT_REGION).
  std::string phone_region = "RU";
  // The zone of opening hours that name none.
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// How well a name matches a search: every query word must match a word of the name, exactly
// (1), as a prefix (0.9, not for numbers) or, for words of 4+ letters, with a typo (0.9 times
// the trigram similarity, at least 0.45). The score is the mean over the query words; 0 when
// some word does not match. Exposed for tests.
struct NameMatch {
  double score = 0;
  // The name with the matched words highlighted.
  v1::Snippet snippet;
};
NameMatch MatchName(absl::string_view name, const std::vector<std::string>& query_words,
                    absl::string_view field);

class DirectoryStore {
 public:
  DirectoryStore(common::PgPool& pg, DirectoryOptions options)
      : pg_(pg), options_(std::move(options)) {}

  absl::StatusOr<v1::DirectoryEntry> Create(const v1::CreateDirectoryEntryRequest& request);
  absl::StatusOr<v1::DirectoryEntry> Get(const v1::GetDirectoryEntryRequest& request);
  absl::StatusOr<v1::ListDirectoryEntriesResponse> List(
      const v1::ListDirectoryEntriesRequest& request);
  absl::StatusOr<v1::DirectoryEntry> Update(const v1::UpdateDirectoryEntryRequest& request);
  absl::StatusOr<google::protobuf::Empty> Delete(const v1::DeleteDirectoryEntryRequest& request);
  absl::StatusOr<v1::SearchDirectoryResponse> Search(const v1::SearchDirectoryRequest& request);

  // The state of one ImportDirectoryEntries stream.
  std::unique_ptr<
      ImportSession<v1::ImportDirectoryEntriesRequest, v1::ImportDirectoryEntriesResponse>>
  NewImportSession();

 private:
  class ImportEntries;

  common::PgPool& pg_;
  const DirectoryOptions options_;
};

}  // namespace contactcentre::knowledge
