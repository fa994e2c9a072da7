// Precedents (problem + solution) on PostgreSQL: CRUD with etags and request_id idempotency,
// similarity suggestions while an operator types, and creation from wrap-up events.
//
// Each method implements the PrecedentsService method of the same name; the contract
// (proto/contactcentre/knowledge/v1/precedents.proto) lists the errors. Every creation
// enqueues PrecedentCreated in its own transaction (common/outbox.h).
#pragma once

#include "absl/status/statusor.h"
#include "common/event_stream.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/events/v1/event.pb.h"
#include "contactcentre/knowledge/v1/precedents.pb.h"
#include "google/protobuf/empty.pb.h"

namespace contactcentre::knowledge {

// The precedent a WrapUpWritten event with `new_precedent` proposes (texts trimmed and cut to
// the contract's limits, tags lower-cased, language from "ru"/"en" or detected, outcome from
// `new_precedent.outcome` or else RESOLVED when the disposition is "resolved").
// INVALID_ARGUMENT when the event carries no new precedent or its problem or solution is
// empty.
absl::StatusOr<v1::Precedent> PrecedentFromWrapUp(const events::v1::Event& event);

class PrecedentStore {
 public:
  PrecedentStore(common::PgPool& pg, const common::EventPublisher& events,
                 common::OutboxRelay& outbox)
      : pg_(pg), events_(events), outbox_(outbox) {}

  absl::StatusOr<v1::Precedent> Create(const v1::CreatePrecedentRequest& request);
  absl::StatusOr<v1::Precedent> Get(const v1::GetPrecedentRequest& request);
  absl::StatusOr<v1::ListPrecedentsResponse> List(const v1::ListPrecedentsRequest& request);
  absl::StatusOr<v1::Precedent> Update(const v1::UpdatePrecedentRequest& request);
  absl::StatusOr<google::protobuf::Empty> Delete(const v1::DeletePrecedentRequest& request);
  absl::StatusOr<v1::SuggestPrecedentsResponse> Suggest(
      const v1::SuggestPrecedentsRequest& request);

  // The event consumer's handler: creates the precedent of a WrapUpWritten event flagged as a
  // new precedent, once per event id (a replay, even after the precedent was deleted, creates
  // nothing). Other events are ignored. An event whose precedent is invalid is logged and
  // skipped (retrying would not make it valid). Errors (database down) leave the event for a
  // retry.
  absl::Status ApplyEvent(const events::v1::Event& event);

 private:
  common::PgPool& pg_;
  const common::EventPublisher& events_;
  common::OutboxRelay& outbox_;
};

}  // namespace contactcentre::knowledge
