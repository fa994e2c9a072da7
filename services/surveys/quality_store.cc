#include "services/surveys/quality_store.h"

#include <google/protobuf/util/field_mask_util.h>

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "services/surveys/rows.h"
#include "services/surveys/survey_logic.h"

namespace contactcentre::surveys {
namespace {

using google::protobuf::util::FieldMaskUtil;

absl::StatusOr<v1::Scorecard> LoadScorecard(pqxx::transaction_base& txn, const std::string& id,
                                            bool lock) {
  pqxx::result rows =
      txn.exec_params(lock ? "SELECT data, revision FROM scorecards WHERE id = $1 FOR UPDATE"
                           : "SELECT data, revision FROM scorecards WHERE id = $1",
                      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("scorecards/", id, " not found"));
  v1::Scorecard scorecard;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), scorecard));
  scorecard.set_etag(rows[0][1].c_str());
  return scorecard;
}

absl::StatusOr<v1::Scorecard> LoadRevision(pqxx::transaction_base& txn, const std::string& id,
                                           int revision) {
  pqxx::result rows = txn.exec_params(
      "SELECT data FROM scorecard_revisions WHERE scorecard_id = $1 AND revision = $2", id,
      revision);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("scorecards/", id, " revision ", revision));
  }
  v1::Scorecard scorecard;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), scorecard));
  return scorecard;
}

absl::Status SaveScorecard(pqxx::work& txn, v1::Scorecard& scorecard, const std::string& id,
                           bool insert, bool new_revision) {
  scorecard.clear_etag();
  const std::string data = common::DeterministicBytes(scorecard);
  pqxx::result rows =
      insert ? txn.exec_params(
                   "INSERT INTO scorecards (id, state, display_name, data) VALUES ($1, $2, $3, "
                   "$4) RETURNING revision",
                   id, static_cast<int>(scorecard.state()), scorecard.display_name(),
                   common::PgBytes(data))
             : txn.exec_params(
                   "UPDATE scorecards SET state = $2, display_name = $3, data = $4, "
                   "revision = revision + 1 WHERE id = $1 RETURNING revision",
                   id, static_cast<int>(scorecard.state()), scorecard.display_name(),
                   common::PgBytes(data));
  if (new_revision) {
    txn.exec_params(
        "INSERT INTO scorecard_revisions (scorecard_id, revision, data) VALUES ($1, $2, $3)", id,
        scorecard.revision(), common::PgBytes(data));
  }
  scorecard.set_etag(rows[0][0].c_str());
  return absl::OkStatus();
}

absl::StatusOr<v1::Evaluation> LoadEvaluation(pqxx::transaction_base& txn, const std::string& id,
                                              bool lock) {
  pqxx::result rows =
      txn.exec_params(lock ? "SELECT data, revision FROM evaluations WHERE id = $1 FOR UPDATE"
                           : "SELECT data, revision FROM evaluations WHERE id = $1",
                      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("evaluations/", id, " not found"));
  v1::Evaluation evaluation;
  CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[0][0]), evaluation));
  evaluation.set_etag(rows[0][1].c_str());
  return evaluation;
}

absl::Status PublishEvaluation(pqxx::work& txn, const common::EventPublisher& events,
                               const v1::Evaluation& evaluation, const std::string& request_id) {
  events::v1::Event event;
  event.set_request_id(request_id);
  events::v1::EvaluationRecorded& recorded = *event.mutable_evaluation_recorded();
  recorded.set_evaluation(evaluation.name());
  recorded.set_call(evaluation.call());
  recorded.set_operator_(evaluation.operator_());
  recorded.set_evaluator(evaluation.evaluator().name());
  recorded.set_scorecard(evaluation.scorecard());
  recorded.set_score_percent(evaluation.score_percent());
  recorded.set_critical_failure(evaluation.critical_failure());
  return common::EnqueueEvent(txn, events, event);
}

bool ScoringChanged(const v1::Scorecard& before, const v1::Scorecard& after) {
  v1::Scorecard a;
  v1::Scorecard b;
  *a.mutable_criteria() = before.criteria();
  a.set_passing_score_percent(before.passing_score_percent());
  a.set_critical_failure_zeroes_score(before.critical_failure_zeroes_score());
  *b.mutable_criteria() = after.criteria();
  b.set_passing_score_percent(after.passing_score_percent());
  b.set_critical_failure_zeroes_score(after.critical_failure_zeroes_score());
  return common::DeterministicBytes(a) != common::DeterministicBytes(b);
}

}  // namespace

QualityStore::QualityStore(common::PgPool* pg, const common::EventPublisher* events,
                           common::OutboxRelay* outbox, CallsClient* calls,
                           std::string site_time_zone)
    : pg_(pg),
      events_(events),
      outbox_(outbox),
      calls_(calls),
      site_time_zone_(std::move(site_time_zone)) {}

absl::StatusOr<v1::Scorecard> QualityStore::CreateScorecard(
    const v1::CreateScorecardRequest& request) {
  CC_RETURN_IF_ERROR(ValidateScorecard(request.scorecard()));
  if (!request.scorecard_id().empty() && !IsValidResourceId(request.scorecard_id())) {
    return common::InvalidArgumentError(
        "scorecard_id", "must be 1-63 characters of [a-z0-9-] starting with a letter");
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Scorecard> {
    return Idempotent<v1::Scorecard>(
        txn, "CreateScorecard", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Scorecard> {
          const std::string id =
              request.scorecard_id().empty() ? common::NewId() : request.scorecard_id();
          if (!txn.exec_params("SELECT 1 FROM scorecards WHERE id = $1", id).empty()) {
            return absl::AlreadyExistsError(absl::StrCat("scorecards/", id, " already exists"));
          }
          v1::Scorecard scorecard = request.scorecard();
          scorecard.set_name(absl::StrCat("scorecards/", id));
          scorecard.set_state(v1::SCORECARD_STATE_ACTIVE);
          scorecard.set_revision(1);
          const auto now = common::TimestampFromTime(absl::Now());
          *scorecard.mutable_create_time() = now;
          *scorecard.mutable_update_time() = now;
          CC_RETURN_IF_ERROR(SaveScorecard(txn, scorecard, id, true, true));
          return scorecard;
        });
  });
}

absl::StatusOr<v1::Scorecard> QualityStore::GetScorecard(const v1::GetScorecardRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "scorecards", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) { return LoadScorecard(txn, id, false); });
}

absl::StatusOr<v1::ListScorecardsResponse> QualityStore::ListScorecards(
    const v1::ListScorecardsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  const std::string scope =
      absl::StrCat("ListScorecards/", request.show_archived(), "/", request.queue());
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListScorecardsResponse> {
    pqxx::result rows = txn.exec_params(
        "SELECT data, revision, display_name || E'\\x01' || id FROM scorecards "
        "WHERE ($1 OR state = 1) AND ($2 = '' OR display_name || E'\\x01' || id > $2) "
        "ORDER BY display_name, id",
        request.show_archived(), cursor);
    v1::ListScorecardsResponse response;
    std::string last_key;
    for (const auto& row : rows) {
      v1::Scorecard scorecard;
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(row[0]), scorecard));
      scorecard.set_etag(row[1].c_str());
      if (!request.queue().empty() && !scorecard.queues().empty() &&
          std::find(scorecard.queues().begin(), scorecard.queues().end(), request.queue()) ==
              scorecard.queues().end()) {
        continue;
      }
      if (response.scorecards_size() == page_size) {
        response.set_next_page_token(common::EncodePageToken(scope, last_key));
        break;
      }
      last_key = row[2].c_str();
      *response.add_scorecards() = std::move(scorecard);
    }
    return response;
  });
}

absl::StatusOr<v1::Scorecard> QualityStore::UpdateScorecard(
    const v1::UpdateScorecardRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseName(request.scorecard().name(), "scorecards", "scorecard.name"));
  google::protobuf::FieldMask mask = request.update_mask();
  static const std::set<std::string> kWritable = {"display_name",
                                                  "description",
                                                  "criteria",
                                                  "passing_score_percent",
                                                  "critical_failure_zeroes_score",
                                                  "queues"};
  if (mask.paths().empty()) {
    for (const std::string& path : kWritable) mask.add_paths(path);
  }
  for (const std::string& path : mask.paths()) {
    if (!kWritable.count(path)) {
      return common::InvalidArgumentError("update_mask",
                                          absl::StrCat("\"", path, "\" is not a writable field"));
    }
  }
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Scorecard> {
    return Idempotent<v1::Scorecard>(
        txn, "UpdateScorecard", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Scorecard> {
          CC_ASSIGN_OR_RETURN(v1::Scorecard scorecard, LoadScorecard(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.scorecard().etag(), std::stoll(scorecard.etag())));
          if (scorecard.state() == v1::SCORECARD_STATE_ARCHIVED) {
            return absl::FailedPreconditionError(absl::StrCat(scorecard.name(), " is archived"));
          }
          const v1::Scorecard before = scorecard;
          FieldMaskUtil::MergeOptions options;
          options.set_replace_repeated_fields(true);
          FieldMaskUtil::MergeMessageTo(request.scorecard(), mask, options, &scorecard);
          CC_RETURN_IF_ERROR(ValidateScorecard(scorecard));
          const bool new_revision = ScoringChanged(before, scorecard);
          if (new_revision) scorecard.set_revision(scorecard.revision() + 1);
          *scorecard.mutable_update_time() = common::TimestampFromTime(absl::Now());
          CC_RETURN_IF_ERROR(SaveScorecard(txn, scorecard, id, false, new_revision));
          return scorecard;
        });
  });
}

absl::StatusOr<v1::Scorecard> QualityStore::DeleteScorecard(
    const v1::DeleteScorecardRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "scorecards", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::Scorecard> {
    return Idempotent<v1::Scorecard>(
        txn, "DeleteScorecard", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Scorecard> {
          CC_ASSIGN_OR_RETURN(v1::Scorecard scorecard, LoadScorecard(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(scorecard.etag())));
          if (txn.exec_params("SELECT 1 FROM evaluations WHERE scorecard_id = $1 LIMIT 1", id)
                  .empty()) {
            txn.exec_params("DELETE FROM scorecards WHERE id = $1", id);
            return scorecard;
          }
          scorecard.set_state(v1::SCORECARD_STATE_ARCHIVED);
          CC_RETURN_IF_ERROR(SaveScorecard(txn, scorecard, id, false, false));
          return scorecard;
        });
  });
}

absl::StatusOr<v1::Evaluation> QualityStore::EvaluateCall(const v1::EvaluateCallRequest& request) {
  CC_RETURN_IF_ERROR(ParseName(request.call(), "calls", "call").status());
  CC_ASSIGN_OR_RETURN(std::string scorecard_id,
                      ParseName(request.scorecard(), "scorecards", "scorecard"));
  if (!request.operator_().empty()) {
    CC_RETURN_IF_ERROR(ParseName(request.operator_(), "operators", "operator").status());
  }
  // The call's facts first, outside the transaction: a slow calls service holds no lock.
  CC_ASSIGN_OR_RETURN(CallFacts call, calls_->GetCall(request.call()));
  if (!call.ended) {
    return absl::FailedPreconditionError(absl::StrCat(request.call(), " has not ended"));
  }
  if (call.operator_name.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(request.call(), " had no operator"));
  }
  if (!request.operator_().empty() && request.operator_() != call.operator_name) {
    return absl::FailedPreconditionError(absl::StrCat("operator: ", request.operator_(),
                                                      " is not the operator of ", request.call(),
                                                      " (", call.operator_name, ")"));
  }
  bool published = false;
  absl::StatusOr<v1::Evaluation> result = pg_->Transact([&](pqxx::work& txn)
                                                            -> absl::StatusOr<v1::Evaluation> {
    published = false;
    return Idempotent<v1::Evaluation>(
        txn, "EvaluateCall", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Evaluation> {
          CC_ASSIGN_OR_RETURN(v1::Scorecard scorecard, LoadScorecard(txn, scorecard_id, false));
          if (scorecard.state() == v1::SCORECARD_STATE_ARCHIVED) {
            return absl::FailedPreconditionError(absl::StrCat(scorecard.name(), " is archived"));
          }
          v1::Evaluation evaluation;
          CC_RETURN_IF_ERROR(ScoreEvaluation(scorecard, request.scores(), evaluation));
          if (!txn.exec_params("SELECT 1 FROM evaluations WHERE call = $1 AND "
                               "scorecard_id = $2 AND evaluator = $3",
                               request.call(), scorecard_id, request.evaluator().name())
                   .empty()) {
            return absl::AlreadyExistsError(absl::StrCat("this evaluator already evaluated ",
                                                         request.call(), " with ", scorecard.name(),
                                                         "; update that evaluation"));
          }
          const std::string id = common::NewId();
          evaluation.set_name(absl::StrCat("evaluations/", id));
          evaluation.set_call(request.call());
          evaluation.set_operator_(call.operator_name);
          evaluation.set_team(call.team);
          evaluation.set_queue(call.queue);
          *evaluation.mutable_call_time() = common::TimestampFromTime(call.call_time);
          evaluation.set_scorecard(scorecard.name());
          evaluation.set_scorecard_revision(scorecard.revision());
          *evaluation.mutable_evaluator() = request.evaluator();
          evaluation.set_comment(request.comment());
          const auto now = common::TimestampFromTime(absl::Now());
          *evaluation.mutable_create_time() = now;
          *evaluation.mutable_update_time() = now;
          pqxx::result rows = txn.exec_params(
              "INSERT INTO evaluations (id, call, operator, team, scorecard_id, evaluator, "
              "call_time, critical_failure, data) VALUES ($1, $2, $3, $4, $5, $6, "
              "to_timestamp($7::float8 / 1e6), $8, $9) RETURNING revision",
              id, evaluation.call(), evaluation.operator_(), evaluation.team(), scorecard_id,
              evaluation.evaluator().name(), absl::ToUnixMicros(call.call_time),
              evaluation.critical_failure(),
              common::PgBytes(common::DeterministicBytes(evaluation)));
          evaluation.set_etag(rows[0][0].c_str());
          CC_RETURN_IF_ERROR(PublishEvaluation(txn, *events_, evaluation, request.request_id()));
          published = true;
          return evaluation;
        });
  });
  if (result.ok() && published) outbox_->Notify();
  return result;
}

absl::StatusOr<v1::Evaluation> QualityStore::GetEvaluation(
    const v1::GetEvaluationRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "evaluations", "name"));
  return pg_->Query([&](pqxx::nontransaction& txn) { return LoadEvaluation(txn, id, false); });
}

absl::StatusOr<v1::ListEvaluationsResponse> QualityStore::ListEvaluations(
    const v1::ListEvaluationsRequest& request) {
  CC_ASSIGN_OR_RETURN(int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  std::string scorecard_id;
  if (!request.scorecard().empty()) {
    CC_ASSIGN_OR_RETURN(scorecard_id, ParseName(request.scorecard(), "scorecards", "scorecard"));
  }
  int64_t start = 0;
  int64_t end = 253402300799000000;
  if (request.call_time_range().has_start_time()) {
    start = common::MicrosFromTimestamp(request.call_time_range().start_time());
  }
  if (request.call_time_range().has_end_time()) {
    end = common::MicrosFromTimestamp(request.call_time_range().end_time());
  }
  if (end < start) {
    return common::InvalidArgumentError("call_time_range", "end_time is before start_time");
  }
  v1::ListEvaluationsRequest scope_request = request;
  scope_request.clear_page_size();
  scope_request.clear_page_token();
  const std::string scope = absl::StrCat(
      "ListEvaluations/", std::hash<std::string>()(common::DeterministicBytes(scope_request)));
  CC_ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(request.page_token(), scope));
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::ListEvaluationsResponse> {
    pqxx::result rows = txn.exec_params(
        "SELECT data, revision, (extract(epoch FROM call_time) * 1e6)::bigint || '/' || id "
        "FROM evaluations WHERE ($1 = '' OR operator = $1) AND ($2 = '' OR team = $2) "
        "AND ($3 = '' OR call = $3) AND ($4 = '' OR scorecard_id = $4) "
        "AND ($5 = '' OR evaluator = $5) AND call_time >= to_timestamp($6::float8 / 1e6) "
        "AND call_time < to_timestamp($7::float8 / 1e6) AND (NOT $8 OR critical_failure) "
        "AND ($9 = '' OR (call_time, id) < (to_timestamp(split_part($9, '/', 1)::float8 / 1e6), "
        "split_part($9, '/', 2))) ORDER BY call_time DESC, id DESC LIMIT $10",
        request.operator_(), request.team(), request.call(), scorecard_id, request.evaluator(),
        start, end, request.critical_failures_only(), cursor, page_size + 1);
    v1::ListEvaluationsResponse response;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
      v1::Evaluation& evaluation = *response.add_evaluations();
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(rows[i][0]), evaluation));
      evaluation.set_etag(rows[i][1].c_str());
    }
    if (static_cast<int>(rows.size()) > page_size) {
      response.set_next_page_token(common::EncodePageToken(scope, rows[page_size - 1][2].c_str()));
    }
    return response;
  });
}

absl::StatusOr<v1::Evaluation> QualityStore::UpdateEvaluation(
    const v1::UpdateEvaluationRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id,
                      ParseName(request.evaluation().name(), "evaluations", "evaluation.name"));
  bool scores = request.update_mask().paths().empty();
  bool comment = scores;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "scores") {
      scores = true;
    } else if (path == "comment") {
      comment = true;
    } else {
      return common::InvalidArgumentError(
          "update_mask", absl::StrCat("\"", path, "\": only scores and comment may change"));
    }
  }
  bool published = false;
  absl::StatusOr<v1::Evaluation> result = pg_->Transact([&](pqxx::work& txn)
                                                            -> absl::StatusOr<v1::Evaluation> {
    published = false;
    return Idempotent<v1::Evaluation>(
        txn, "UpdateEvaluation", request.request_id(), request,
        [&]() -> absl::StatusOr<v1::Evaluation> {
          CC_ASSIGN_OR_RETURN(v1::Evaluation evaluation, LoadEvaluation(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.evaluation().etag(), std::stoll(evaluation.etag())));
          if (scores) {
            CC_ASSIGN_OR_RETURN(std::string scorecard_id,
                                ParseName(evaluation.scorecard(), "scorecards", "scorecard"));
            CC_ASSIGN_OR_RETURN(v1::Scorecard scorecard,
                                LoadRevision(txn, scorecard_id, evaluation.scorecard_revision()));
            scorecard.set_name(evaluation.scorecard());
            CC_RETURN_IF_ERROR(
                ScoreEvaluation(scorecard, request.evaluation().scores(), evaluation));
          }
          if (comment) evaluation.set_comment(request.evaluation().comment());
          *evaluation.mutable_update_time() = common::TimestampFromTime(absl::Now());
          evaluation.clear_etag();
          pqxx::result rows = txn.exec_params(
              "UPDATE evaluations SET critical_failure = $2, data = $3, "
              "revision = revision + 1 WHERE id = $1 RETURNING revision",
              id, evaluation.critical_failure(),
              common::PgBytes(common::DeterministicBytes(evaluation)));
          evaluation.set_etag(rows[0][0].c_str());
          CC_RETURN_IF_ERROR(PublishEvaluation(txn, *events_, evaluation, request.request_id()));
          published = true;
          return evaluation;
        });
  });
  if (result.ok() && published) outbox_->Notify();
  return result;
}

absl::StatusOr<google::protobuf::Empty> QualityStore::DeleteEvaluation(
    const v1::DeleteEvaluationRequest& request) {
  CC_ASSIGN_OR_RETURN(std::string id, ParseName(request.name(), "evaluations", "name"));
  return pg_->Transact([&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
    return Idempotent<google::protobuf::Empty>(
        txn, "DeleteEvaluation", request.request_id(), request,
        [&]() -> absl::StatusOr<google::protobuf::Empty> {
          CC_ASSIGN_OR_RETURN(v1::Evaluation evaluation, LoadEvaluation(txn, id, true));
          CC_RETURN_IF_ERROR(CheckEtag(request.etag(), std::stoll(evaluation.etag())));
          txn.exec_params("DELETE FROM evaluations WHERE id = $1", id);
          return google::protobuf::Empty();
        });
  });
}

absl::StatusOr<v1::QualitySummary> QualityStore::GetQualitySummary(
    const v1::GetQualitySummaryRequest& request) {
  std::string subject;
  bool by_team = false;
  if (request.subject_case() == v1::GetQualitySummaryRequest::kOperator) {
    CC_RETURN_IF_ERROR(ParseName(request.operator_(), "operators", "operator").status());
    subject = request.operator_();
  } else if (request.subject_case() == v1::GetQualitySummaryRequest::kTeam) {
    CC_RETURN_IF_ERROR(ParseName(request.team(), "teams", "team").status());
    subject = request.team();
    by_team = true;
  } else {
    return common::InvalidArgumentError("operator", "set the operator or the team");
  }
  if (!request.period().has_start_time() || !request.period().has_end_time()) {
    return common::InvalidArgumentError("period", "both start_time and end_time are required");
  }
  const absl::Time start = common::TimeFromTimestamp(request.period().start_time());
  const absl::Time end = common::TimeFromTimestamp(request.period().end_time());
  if (end < start) return common::InvalidArgumentError("period", "end_time is before start_time");
  if (end - start > absl::Hours(24 * 366)) {
    return common::InvalidArgumentError("period", "at most 366 days");
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(request.time_zone().empty() ? site_time_zone_ : request.time_zone(),
                          &zone)) {
    return common::InvalidArgumentError("time_zone", "unknown IANA time zone");
  }
  std::string scorecard_id;
  if (!request.scorecard().empty()) {
    CC_ASSIGN_OR_RETURN(scorecard_id, ParseName(request.scorecard(), "scorecards", "scorecard"));
  }
  return pg_->Query([&](pqxx::nontransaction& txn) -> absl::StatusOr<v1::QualitySummary> {
    if (!scorecard_id.empty()) CC_RETURN_IF_ERROR(LoadScorecard(txn, scorecard_id, false).status());
    pqxx::result rows = txn.exec_params(
        by_team ? "SELECT data FROM evaluations WHERE team = $1 AND call_time >= "
                  "to_timestamp($2::float8 / 1e6) AND call_time < to_timestamp($3::float8 / 1e6) "
                  "AND ($4 = '' OR scorecard_id = $4) ORDER BY call_time"
                : "SELECT data FROM evaluations WHERE operator = $1 AND call_time >= "
                  "to_timestamp($2::float8 / 1e6) AND call_time < to_timestamp($3::float8 / 1e6) "
                  "AND ($4 = '' OR scorecard_id = $4) ORDER BY call_time",
        subject, absl::ToUnixMicros(start), absl::ToUnixMicros(end), scorecard_id);
    v1::QualitySummary summary;
    summary.set_subject(subject);
    *summary.mutable_period() = request.period();
    summary.set_scorecard(request.scorecard());
    double total = 0;
    int64_t passed = 0;
    struct CriterionAcc {
      v1::CriterionAverage row;
      double percent_sum = 0;
      double score_sum = 0;
    };
    std::map<std::string, CriterionAcc> criteria;
    std::vector<std::string> order;
    struct TrendAcc {
      int64_t count = 0;
      double sum = 0;
      int64_t critical = 0;
    };
    std::map<absl::CivilDay, TrendAcc> trend;
    for (const auto& row : rows) {
      v1::Evaluation evaluation;
      CC_RETURN_IF_ERROR(ParseStored(common::BytesOf(row[0]), evaluation));
      summary.set_evaluation_count(summary.evaluation_count() + 1);
      total += evaluation.score_percent();
      passed += evaluation.passed() ? 1 : 0;
      if (evaluation.critical_failure()) {
        summary.set_critical_failure_count(summary.critical_failure_count() + 1);
      }
      for (const v1::CriterionScore& score : evaluation.scores()) {
        const bool standard =
            scorecard_id.empty() && score.standard() != v1::STANDARD_CRITERION_CUSTOM;
        const std::string key =
            standard ? absl::StrCat("standard/", static_cast<int>(score.standard()))
                     : absl::StrCat(evaluation.scorecard(), "/", score.criterion_id());
        auto [it, inserted] = criteria.try_emplace(key);
        CriterionAcc& acc = it->second;
        if (inserted) {
          order.push_back(key);
          if (!standard) {
            acc.row.set_scorecard(evaluation.scorecard());
            acc.row.set_criterion_id(score.criterion_id());
            acc.row.set_display_name(score.display_name());
          } else {
            acc.row.set_display_name(v1::StandardCriterion_Name(score.standard()));
          }
          acc.row.set_standard(score.standard());
        }
        if (!standard) acc.row.set_display_name(score.display_name());
        if (score.not_applicable()) {
          acc.row.set_not_applicable_count(acc.row.not_applicable_count() + 1);
          continue;
        }
        acc.row.set_scored_count(acc.row.scored_count() + 1);
        acc.row.set_failed_count(acc.row.failed_count() + (score.failed() ? 1 : 0));
        acc.percent_sum += score.points_percent();
        acc.score_sum += score.score();
      }
      if (request.trend_interval() != v1::TREND_INTERVAL_UNSPECIFIED) {
        absl::CivilDay day =
            absl::ToCivilDay(common::TimeFromTimestamp(evaluation.call_time()), zone);
        if (request.trend_interval() == v1::TREND_INTERVAL_WEEK) {
          day -= static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday);
        } else if (request.trend_interval() == v1::TREND_INTERVAL_MONTH) {
          day = absl::CivilDay(absl::CivilMonth(day));
        }
        TrendAcc& point = trend[day];
        ++point.count;
        point.sum += evaluation.score_percent();
        point.critical += evaluation.critical_failure() ? 1 : 0;
      }
    }
    if (summary.evaluation_count() > 0) {
      summary.set_average_score_percent(total / summary.evaluation_count());
      summary.set_pass_rate(static_cast<double>(passed) / summary.evaluation_count());
    }
    // Standard criteria first (by enum order), then custom ones in order of appearance.
    std::stable_sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
      const bool sa = absl::StartsWith(a, "standard/");
      const bool sb = absl::StartsWith(b, "standard/");
      if (sa != sb) return sa;
      return sa && a < b;
    });
    for (const std::string& key : order) {
      CriterionAcc& acc = criteria[key];
      if (acc.row.scored_count() > 0) {
        acc.row.set_average_percent(acc.percent_sum / acc.row.scored_count());
        if (!acc.row.criterion_id().empty()) {
          acc.row.set_average_score(acc.score_sum / acc.row.scored_count());
        }
      }
      *summary.add_criteria() = acc.row;
    }
    for (const auto& [day, point] : trend) {
      v1::QualityTrendPoint& out = *summary.add_trend();
      *out.mutable_start_time() = common::TimestampFromTime(absl::FromCivil(day, zone));
      out.set_evaluation_count(point.count);
      out.set_average_score_percent(point.sum / point.count);
      out.set_critical_failure_count(point.critical);
    }
    return summary;
  });
}

}  // namespace contactcentre::surveys
