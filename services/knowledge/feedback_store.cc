#include "services/knowledge/feedback_store.h"

#include "absl/strings/str_cat.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/status.h"
#include "services/knowledge/names.h"
#include "services/knowledge/pg_support.h"
#include "services/knowledge/validation.h"

namespace contactcentre::knowledge {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

constexpr char kFeedbackColumns[] =
    "f.id::text, coalesce(f.article_id, f.precedent_id)::text, f.article_id IS NOT NULL, "
    "f.rating, f.comment, f.author_name, f.author_display_name, f.call, f.query, "
    "f.article_version, " KNOWLEDGE_MICROS("f.create_time");

v1::Feedback FeedbackFromRow(const pqxx::row& row) {
  FeedbackTarget target;
  target.id = row[1].as<std::string>();
  target.article = row[2].as<bool>();
  v1::Feedback feedback;
  feedback.set_name(FeedbackName(target, row[0].as<std::string>()));
  feedback.set_rating(static_cast<v1::FeedbackRating>(row[3].as<int>()));
  feedback.set_comment(row[4].as<std::string>());
  feedback.mutable_author()->set_name(row[5].as<std::string>());
  feedback.mutable_author()->set_display_name(row[6].as<std::string>());
  feedback.set_call(row[7].as<std::string>());
  feedback.set_query(row[8].as<std::string>());
  feedback.set_article_version(row[9].as<int32_t>());
  *feedback.mutable_create_time() = TimestampFromMicros(row[10].as<int64_t>());
  return feedback;
}

// The target's table and the feedback column that points at it.
const char* TargetTable(const FeedbackTarget& target) {
  return target.article ? "articles" : "precedents";
}
const char* TargetColumn(const FeedbackTarget& target) {
  return target.article ? "article_id" : "precedent_id";
}

}  // namespace

absl::StatusOr<v1::Feedback> FeedbackStore::Record(const v1::RecordFeedbackRequest& request) {
  CC_RETURN_IF_ERROR(CheckRequestId(request.request_id()));
  CC_ASSIGN_OR_RETURN(const FeedbackTarget target,
                      ParseFeedbackTarget(request.parent(), "parent", /*allow_all=*/false));
  v1::Feedback feedback = request.feedback();
  CC_RETURN_IF_ERROR(NormalizeFeedback(feedback, "feedback"));
  return pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Feedback> {
    CC_ASSIGN_OR_RETURN(auto earlier, common::FindRequestResponse(txn, "RecordFeedback",
                                                                  request.request_id(), request));
    if (earlier) {
      v1::Feedback stored;
      if (!stored.ParseFromString(*earlier))
        return absl::InternalError("a stored answer is corrupt");
      return stored;
    }
    // Locking the target serialises one person's concurrent votes, so counts stay exact.
    pqxx::result target_rows =
        txn.exec_params(absl::StrCat("SELECT ", target.article ? "version" : "0", " FROM ",
                                     TargetTable(target), " WHERE id = $1::uuid FOR UPDATE"),
                        target.id);
    if (target_rows.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no ", target.article ? "article " : "precedent ", target.name()));
    }
    const int32_t article_version = target_rows[0][0].as<int32_t>();
    int previous = 0;
    if (!feedback.author().name().empty()) {
      pqxx::result rows =
          txn.exec_params(absl::StrCat("SELECT rating FROM feedback WHERE ", TargetColumn(target),
                                       " = $1::uuid AND author_name = $2 ORDER BY id DESC LIMIT 1"),
                          target.id, feedback.author().name());
      if (!rows.empty()) previous = rows[0][0].as<int>();
    }
    const std::string id = common::NewId();
    pqxx::result inserted = txn.exec_params(
        absl::StrCat("INSERT INTO feedback (id, ", TargetColumn(target),
                     ", rating, comment, author_name, author_display_name, call, query, "
                     "article_version, create_time) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, "
                     "$7, $8, $9, now()) RETURNING ",
                     KNOWLEDGE_MICROS("create_time")),
        id, target.id, static_cast<int>(feedback.rating()), feedback.comment(),
        feedback.author().name(), feedback.author().display_name(), feedback.call(),
        feedback.query(), article_version);
    const int rating = static_cast<int>(feedback.rating());
    if (previous != rating) {
      const auto delta = [&](int value) {
        return (rating == value ? 1 : 0) - (previous == value ? 1 : 0);
      };
      txn.exec_params(
          absl::StrCat("UPDATE ", TargetTable(target),
                       " SET helpful_count = helpful_count + $2, "
                       "not_helpful_count = not_helpful_count + $3 WHERE id = $1::uuid"),
          target.id, delta(v1::FEEDBACK_RATING_HELPFUL), delta(v1::FEEDBACK_RATING_NOT_HELPFUL));
    }
    feedback.set_name(FeedbackName(target, id));
    feedback.set_article_version(target.article ? article_version : 0);
    *feedback.mutable_create_time() = TimestampFromMicros(inserted[0][0].as<int64_t>());
    CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "RecordFeedback", request.request_id(),
                                                   request, feedback));
    return feedback;
  });
}

absl::StatusOr<v1::ListFeedbackResponse> FeedbackStore::List(
    const v1::ListFeedbackRequest& request) {
  CC_ASSIGN_OR_RETURN(const FeedbackTarget target,
                      ParseFeedbackTarget(request.parent(), "parent", /*allow_all=*/true));
  if (!v1::FeedbackRating_IsValid(request.rating())) {
    return common::InvalidArgumentError("rating",
                                        absl::StrCat("unknown rating ", request.rating()));
  }
  CC_ASSIGN_OR_RETURN(const int32_t page_size,
                      common::PageSize(request.page_size(), kDefaultPageSize, kMaxPageSize));
  v1::ListFeedbackRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = PageScope("ListFeedback", scope_request);
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), scope));
  if (!cursor.empty() && !common::IsCanonicalUuid(cursor)) {
    return common::InvalidArgumentError("page_token", "malformed");
  }
  return ReadOnly(
      pg_, [&](pqxx::nontransaction& query) -> absl::StatusOr<v1::ListFeedbackResponse> {
        std::string target_condition;
        if (target.id.empty()) {
          target_condition = absl::StrCat("f.", TargetColumn(target), " IS NOT NULL AND $1 = ''");
        } else {
          if (query
                  .exec_params(
                      absl::StrCat("SELECT 1 FROM ", TargetTable(target), " WHERE id = $1::uuid"),
                      target.id)
                  .empty()) {
            return absl::NotFoundError(
                absl::StrCat("no ", target.article ? "article " : "precedent ", target.name()));
          }
          target_condition = absl::StrCat("f.", TargetColumn(target), " = $1::uuid");
        }
        pqxx::result rows = query.exec_params(
            absl::StrCat(
                "SELECT ", kFeedbackColumns, " FROM feedback f WHERE ", target_condition,
                " AND ($2::smallint = 0 OR f.rating = $2::smallint) AND (NOT $3 OR f.comment <> '')"
                " AND ($4 = '' OR f.id < NULLIF($4, '')::uuid) ORDER BY f.id DESC LIMIT $5"),
            target.id, static_cast<int>(request.rating()), request.with_comment_only(), cursor,
            page_size + 1);
        v1::ListFeedbackResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_feedback() = FeedbackFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(
              common::EncodePageToken(scope, rows[page_size - 1][0].as<std::string>()));
        }
        return response;
      });
}

}  // namespace contactcentre::knowledge
