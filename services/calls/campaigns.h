// Outbound campaigns (CampaignsService): campaigns, contact lists, do-not-call lists,
// call-backs, and the dialler that works them.
//
// Records live in PostgreSQL (schema/0003_campaigns.sql); the calls they make are ordinary
// live calls (place_outbound.lua, dial_answered.lua), so campaign calls are routed, recorded
// and wrapped up like any other. A dial goes through the `dials` table:
//
//   new      claimed by a dialler with its compliance checks passed (one transaction that also
//            marks the entry IN_PROGRESS); the live call is created next
//   ready    the live call exists (with its reserved operator, if any); waiting for an adapter
//   sent     handed to a telephony adapter's stream (re-sent when the adapter reconnects)
//   reported the adapter reported the outcome; an answered call is `resolved` when its wrap-up
//            (or drop) has been applied to the entry or call-back
//
// Every step is a row update under a row lock, so two replicas never dial one entry at once,
// and a replica that dies between two steps leaves a row another replica finishes or undoes
// (a `new` row older than a few seconds is undone: its live call, if any, is ended and the
// entry goes back to the list without counting an attempt).
//
// Each running campaign is dialled by one replica at a time, the holder of a short lease in
// Redis, so that pacing is computed once; any replica takes over when the lease lapses.
#pragma once

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/outbox.h"
#include "common/pg_pool.h"
#include "contactcentre/calls/v1/campaigns_service.grpc.pb.h"
#include "services/calls/customers_client.h"
#include "services/calls/pacing.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

struct CampaignsOptions {
  std::string default_region = "RU";
  // The zone of last resort for calling windows (the site's).
  std::string default_time_zone = "Europe/Moscow";
  // How often the dialler dials running campaigns.
  absl::Duration dial_interval = absl::Milliseconds(200);
  // How often due call-backs, answered calls' ends, stale claims, preview holds and dials of
  // vanished adapters are looked at.
  absl::Duration maintenance_interval = absl::Seconds(1);
  // A dial whose live call was not created this long after its claim is undone.
  absl::Duration stale_claim = absl::Seconds(10);
  // How long an adapter may take to start a dial it was given. A dial given to an adapter that
  // has no stream open any more fails this long (plus a ring timeout) after it was sent.
  absl::Duration dial_expiry = absl::Seconds(60);
};

class CampaignsGrpcService final : public v1::CampaignsService::Service {
 public:
  CampaignsGrpcService(Router* router, common::PgPool* pg, CustomersClient* customers,
                       const common::EventPublisher* events, common::OutboxRelay* outbox,
                       CampaignsOptions options);
  ~CampaignsGrpcService() override;

  // The dialler thread (campaign dials, due call-backs, answered calls' ends, stale claims).
  void Start();
  void Stop();
  // One pass of the dialler; public for tests.
  absl::Status DialOnce();

  grpc::Status CreateCampaign(grpc::ServerContext*, const v1::CreateCampaignRequest*,
                              v1::Campaign*) override;
  grpc::Status GetCampaign(grpc::ServerContext*, const v1::GetCampaignRequest*,
                           v1::Campaign*) override;
  grpc::Status ListCampaigns(grpc::ServerContext*, const v1::ListCampaignsRequest*,
                             v1::ListCampaignsResponse*) override;
  grpc::Status UpdateCampaign(grpc::ServerContext*, const v1::UpdateCampaignRequest*,
                              v1::Campaign*) override;
  grpc::Status DeleteCampaign(grpc::ServerContext*, const v1::DeleteCampaignRequest*,
                              google::protobuf::Empty*) override;
  grpc::Status StartCampaign(grpc::ServerContext*, const v1::StartCampaignRequest*,
                             v1::Campaign*) override;
  grpc::Status PauseCampaign(grpc::ServerContext*, const v1::PauseCampaignRequest*,
                             v1::Campaign*) override;
  grpc::Status StopCampaign(grpc::ServerContext*, const v1::StopCampaignRequest*,
                            v1::Campaign*) override;
  grpc::Status CreateCampaignEntry(grpc::ServerContext*, const v1::CreateCampaignEntryRequest*,
                                   v1::CampaignEntry*) override;
  grpc::Status ImportCampaignEntries(grpc::ServerContext*, const v1::ImportCampaignEntriesRequest*,
                                     v1::ImportCampaignEntriesResponse*) override;
  grpc::Status GetCampaignEntry(grpc::ServerContext*, const v1::GetCampaignEntryRequest*,
                                v1::CampaignEntry*) override;
  grpc::Status ListCampaignEntries(grpc::ServerContext*, const v1::ListCampaignEntriesRequest*,
                                   v1::ListCampaignEntriesResponse*) override;
  grpc::Status UpdateCampaignEntry(grpc::ServerContext*, const v1::UpdateCampaignEntryRequest*,
                                   v1::CampaignEntry*) override;
  grpc::Status DeleteCampaignEntry(grpc::ServerContext*, const v1::DeleteCampaignEntryRequest*,
                                   v1::CampaignEntry*) override;
  grpc::Status ListCampaignAttempts(grpc::ServerContext*, const v1::ListCampaignAttemptsRequest*,
                                    v1::ListCampaignAttemptsResponse*) override;
  grpc::Status AddDoNotCallNumbers(grpc::ServerContext*, const v1::AddDoNotCallNumbersRequest*,
                                   v1::AddDoNotCallNumbersResponse*) override;
  grpc::Status RemoveDoNotCallNumbers(grpc::ServerContext*,
                                      const v1::RemoveDoNotCallNumbersRequest*,
                                      google::protobuf::Empty*) override;
  grpc::Status ListDoNotCallNumbers(grpc::ServerContext*, const v1::ListDoNotCallNumbersRequest*,
                                    v1::ListDoNotCallNumbersResponse*) override;
  grpc::Status GetNextPreviewEntry(grpc::ServerContext*, const v1::GetNextPreviewEntryRequest*,
                                   v1::GetNextPreviewEntryResponse*) override;
  grpc::Status DialPreviewEntry(grpc::ServerContext*, const v1::DialPreviewEntryRequest*,
                                v1::Call*) override;
  grpc::Status SkipPreviewEntry(grpc::ServerContext*, const v1::SkipPreviewEntryRequest*,
                                v1::CampaignEntry*) override;
  grpc::Status StreamDialRequests(grpc::ServerContext*, const v1::StreamDialRequestsRequest*,
                                  grpc::ServerWriter<v1::DialInstruction>*) override;
  grpc::Status ReportDialOutcome(grpc::ServerContext*, const v1::ReportDialOutcomeRequest*,
                                 v1::ReportDialOutcomeResponse*) override;
  grpc::Status CreateCallback(grpc::ServerContext*, const v1::CreateCallbackRequest*,
                              v1::Callback*) override;
  grpc::Status GetCallback(grpc::ServerContext*, const v1::GetCallbackRequest*,
                           v1::Callback*) override;
  grpc::Status ListCallbacks(grpc::ServerContext*, const v1::ListCallbacksRequest*,
                             v1::ListCallbacksResponse*) override;
  grpc::Status UpdateCallback(grpc::ServerContext*, const v1::UpdateCallbackRequest*,
                              v1::Callback*) override;
  grpc::Status CancelCallback(grpc::ServerContext*, const v1::CancelCallbackRequest*,
                              v1::Callback*) override;
  grpc::Status GetCampaignStats(grpc::ServerContext*, const v1::GetCampaignStatsRequest*,
                                v1::CampaignStats*) override;

 private:
  struct DialPlan;
  struct EntryCheck {
    bool refused = false;  // recorded on the entry, which is rescheduled or final
    std::string number;    // the number to dial
    bool vip = false;
    v1::DialRefusalReason reason = v1::DIAL_REFUSAL_REASON_UNSPECIFIED;
    std::string detail;
  };
  // Every rule of a dial, checked for one entry (row locked by the caller); a refusal is
  // recorded in `txn` with its reason, on the entry and as an event.
  absl::StatusOr<EntryCheck> CheckEntry(pqxx::work& txn, const v1::Campaign& campaign,
                                        absl::string_view campaign_id, const std::string& entry_id,
                                        const std::string& customer_id, std::string number,
                                        int attempts, v1::CampaignEntry body, absl::Time now);
  absl::StatusOr<v1::Campaign> LoadCampaign(absl::string_view id);
  absl::StatusOr<v1::Campaign> ChangeState(absl::string_view method, absl::string_view name,
                                           absl::string_view etag, absl::string_view request_id,
                                           const google::protobuf::Message& request,
                                           v1::CampaignState target);
  // Ends the dials of a campaign that no adapter has started: ready ones are undone at once,
  // sent ones get a cancellation on their adapter's stream.
  absl::Status CancelPendingDials(absl::string_view campaign_id);
  absl::Status DialCampaign(const v1::Campaign& campaign, absl::string_view campaign_id);
  absl::Status DialCallbacks();
  absl::Status ResolveAnsweredCalls();
  absl::Status UndoStaleClaims();
  // Preview holds past their timeout: dialled (preview_auto_dial) or given back.
  absl::Status ExpirePreviewHolds();
  absl::Status FailOrphanedDials();
  // Keeps the operator out of inbound routing while they preview (hold) or lets them go.
  absl::Status HoldOperator(absl::string_view operator_id, bool hold);
  // Dials an entry held for an operator in preview; `number` overrides the entry's.
  absl::StatusOr<v1::Call> DialHeldEntry(absl::string_view campaign_id, absl::string_view entry_id,
                                         absl::string_view operator_id, absl::string_view number);
  // The dial plan of one entry (common to every mode).
  DialPlan PlanFor(const v1::Campaign& campaign, absl::string_view campaign_id,
                   absl::string_view entry_id, const std::string& customer_id,
                   const std::string& number, const v1::CampaignEntry& body, bool vip,
                   absl::Time now);
  bool WorksCampaign(pqxx::transaction_base& txn, const v1::Campaign& campaign,
                     absl::string_view operator_id);
  // Creates the live call of a claimed dial; false when no operator was free for it (the claim
  // is then undone).
  absl::StatusOr<bool> MakeLive(const DialPlan& plan);
  absl::Status UndoClaim(absl::string_view call_id, absl::string_view why);
  absl::StatusOr<v1::ImportCampaignEntriesResponse> ImportByFilter(
      absl::string_view campaign_id, const v1::ImportCampaignEntriesRequest& request);
  absl::Status Publish(pqxx::work& txn, events::v1::Event event) const;
  // Applies the end of an attempt to its entry or call-back (retry, final state).
  absl::Status ApplyOutcome(pqxx::work& txn, absl::string_view call_id, v1::DialOutcome outcome,
                            absl::string_view disposition);
  bool HoldLease(absl::string_view campaign_id);
  int FreeOperators(const v1::Campaign& campaign, absl::string_view queue_id);
  int WrappingUp(const v1::Campaign& campaign, absl::string_view queue_id);

  Router* router_;
  common::PgPool* pg_;
  CustomersClient* customers_;
  // Campaign events (attempts, refusals, state changes, call-backs) go through the outbox, in
  // the transaction of the change they describe.
  const common::EventPublisher* events_;
  common::OutboxRelay* outbox_;
  const CampaignsOptions options_;
  const std::string lease_owner_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<PacingController>> pacing_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, absl::Time> last_adjust_ ABSL_GUARDED_BY(mutex_);
  absl::Time next_maintenance_ = absl::InfinitePast();  // dialler thread only
  std::atomic<bool> stopping_{false};
  std::thread dialler_;
};

}  // namespace contactcentre::calls
