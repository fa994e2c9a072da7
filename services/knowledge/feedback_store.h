// Helpful / not-helpful feedback on articles and precedents. Only each person's latest
// feedback on a target counts in the target's helpful and not-helpful counts (anonymous
// feedback counts each time); the counts feed the ranking of SearchArticles and
// SuggestPrecedents. The counts are not content: recording feedback leaves the target's etag
// alone, so that votes never make an editor's etag stale.
#pragma once

#include "absl/status/statusor.h"
#include "common/pg_pool.h"
#include "contactcentre/knowledge/v1/feedback.pb.h"

namespace contactcentre::knowledge {

class FeedbackStore {
 public:
  explicit FeedbackStore(common::PgPool& pg) : pg_(pg) {}

  absl::StatusOr<v1::Feedback> Record(const v1::RecordFeedbackRequest& request);
  absl::StatusOr<v1::ListFeedbackResponse> List(const v1::ListFeedbackRequest& request);

 private:
  common::PgPool& pg_;
};

}  // namespace contactcentre::knowledge
