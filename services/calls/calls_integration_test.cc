// The calls service as it runs: two cc-calls replicas and a cc-customers process, real gRPC,
// the real PostgreSQL and Redis of the test run. Every test sets up its own queues and operators
// (the suite shares one site), and spreads its calls over both replicas, so that each
// capability is shown to hold across replicas.
#include <gtest/gtest.h>

#include <filesystem>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "common/event_stream.h"
#include "common/ids.h"
#include "common/pg_util.h"
#include "common/redis.h"
#include "common/testing/test_servers.h"
#include "contactcentre/events/v1/event.pb.h"
#include "services/calls/testing/calls_cluster.h"
#include "services/calls/testing/telephony_adapter.h"

namespace contactcentre::calls {
namespace {

using common::testing::TestDatabase;
using common::testing::TestServers;
using testing::CallsCluster;
using testing::ReservationOf;
using testing::Rpc;
using testing::Scenario;
using testing::TelephonyAdapter;
using Stub = v1::CallsService::Stub;
// Wrap-up notes with what SQL quoting must survive.
constexpr char kWrapUpNotes[] = "explained the invoice; O'Brien's \"card\" \\ счёт № 5 '); --";
using AdminStub = v1::CallsAdminService::Stub;

// Collects the events of one operator's desktop stream on a thread of its own.
class OperatorDesktop {
 public:
  OperatorDesktop(Stub& stub, const std::string& op, const std::string& session) {
    v1::WatchOperatorEventsRequest request;
    request.set_operator_(op);
    request.set_session_id(session);
    reader_ = stub.WatchOperatorEvents(&context_, request);
    thread_ = std::thread([this] {
      v1::OperatorEvent event;
      while (reader_->Read(&event)) {
        absl::MutexLock lock(&mutex_);
        events_.push_back(event);
      }
    });
  }
  ~OperatorDesktop() {
    context_.TryCancel();
    thread_.join();
  }

  // Waits up to 10 s for an event that `matches`.
  std::optional<v1::OperatorEvent> WaitFor(
      const std::function<bool(const v1::OperatorEvent&)>& matches) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::MutexLock lock(&mutex_);
    size_t seen = 0;
    while (true) {
      for (; seen < events_.size(); ++seen) {
        if (matches(events_[seen])) return events_[seen];
      }
      if (mutex_.AwaitWithDeadline(
              absl::Condition(
                  +[](std::pair<std::vector<v1::OperatorEvent>*, size_t*>* arg) {
                    return arg->first->size() > *arg->second;
                  },
                  new std::pair<std::vector<v1::OperatorEvent>*, size_t*>(&events_, &seen)),
              deadline) == false) {
        return std::nullopt;
      }
    }
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::OperatorEvent>> reader_;
  absl::Mutex mutex_;
  std::vector<v1::OperatorEvent> events_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

class CallsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartCluster({}); }
  static void TearDownTestSuite() {
    cluster_.reset();
    common::testing::DeleteSiteKeys(*site_);
    calls_db_.reset();
    customers_db_.reset();
  }

  // The processes' logs: build/Testing/calls-<site>/.
  static std::string LogDir() {
    const std::string dir = absl::StrCat(common::testing::BinaryDir(), "/Testing/calls-", *site_);
    std::filesystem::create_directories(dir);
    return dir;
  }

  static void StartCluster(std::vector<std::string> flags) {
    calls_db_ = std::make_unique<TestDatabase>();
    customers_db_ = std::make_unique<TestDatabase>();
    site_ = new std::string(common::testing::UniqueTestSite());
    const TestServers& servers = TestServers::Get();
    auto cluster = CallsCluster::Start(
        {.binary_dir = common::testing::BinaryDir(),
         .calls_dsn = calls_db_->dsn(),
         .customers_dsn = customers_db_->dsn(),
         .redis_address = absl::StrCat(servers.redis_host, ":", servers.redis_port),
         .site = *site_,
         .replicas = 2,
         .calls_flags = std::move(flags),
         .log_dir = LogDir()});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  Stub& calls(int replica = 0) { return cluster_->calls(replica); }
  AdminStub& admin() { return cluster_->admin(0); }
  Scenario& scenario() { return scenario_; }

  // A queue with one member logged in, for the many tests that need just that.
  struct Desk {
    v1::Queue queue;
    v1::Operator op;
    std::string session;
  };
  Desk OneOperatorQueue(const std::function<void(v1::Queue&)>& customize = {}) {
    Desk desk;
    auto queue = scenario_.CreateQueue("Billing", customize);
    EXPECT_TRUE(queue.ok()) << queue.status();
    auto op = scenario_.CreateOperator("Anna");
    EXPECT_TRUE(op.ok()) << op.status();
    if (!queue.ok() || !op.ok()) return desk;
    desk.queue = *queue;
    desk.op = *op;
    auto member = scenario_.AddMember(desk.queue, desk.op);
    EXPECT_TRUE(member.ok()) << member.status();
    auto presence = scenario_.LogIn(desk.op);
    EXPECT_TRUE(presence.ok()) << presence.status();
    if (presence.ok()) desk.session = presence->session_id();
    return desk;
  }

  v1::Call Offer(const v1::Queue& queue, int replica = 0, int priority = -1,
                 const std::string& caller = "") {
    auto offered = scenario_.Offer(queue, caller, priority, replica);
    EXPECT_TRUE(offered.ok()) << offered.status();
    return offered.ok() ? offered->call() : v1::Call();
  }

  absl::StatusOr<v1::Call> Accept(const v1::Call& call, int replica = 0) {
    v1::AcceptReservationRequest request;
    request.set_reservation(ReservationOf(call));
    return Rpc(calls(replica), &Stub::AcceptReservation, request);
  }
  absl::StatusOr<v1::Call> Connect(const v1::Call& call, int replica = 0) {
    v1::ConnectCallRequest request;
    request.set_call(call.name());
    return Rpc(calls(replica), &Stub::ConnectCall, request);
  }
  absl::StatusOr<v1::Call> HangUp(const v1::Call& call, int replica = 0,
                                  v1::CallEndReason reason = v1::CALL_END_REASON_CUSTOMER_HUNG_UP) {
    v1::HangUpRequest request;
    request.set_call(call.name());
    request.set_end_reason(reason);
    return Rpc(calls(replica), &Stub::HangUp, request);
  }
  absl::StatusOr<v1::Call> WrapUp(const v1::Call& call, const std::string& disposition,
                                  int replica = 0) {
    v1::CompleteWrapUpRequest request;
    request.set_call(call.name());
    request.mutable_wrap_up()->set_disposition(disposition);
    request.mutable_wrap_up()->set_topic("billing");
    request.mutable_wrap_up()->set_notes(kWrapUpNotes);
    return Rpc(calls(replica), &Stub::CompleteWrapUp, request);
  }
  absl::StatusOr<v1::OperatorPresence> Presence(const v1::Operator& op, int replica = 0) {
    v1::GetOperatorPresenceRequest request;
    request.set_operator_(op.name());
    return Rpc(calls(replica), &Stub::GetOperatorPresence, request);
  }
  absl::StatusOr<v1::OperatorPresence> SetState(const Desk& desk, v1::OperatorState state,
                                                const std::string& reason = "", int replica = 0) {
    v1::SetPresenceRequest request;
    request.set_operator_(desk.op.name());
    request.set_session_id(desk.session);
    request.set_state(state);
    request.set_reason_code(reason);
    return Rpc(calls(replica), &Stub::SetPresence, request);
  }
  absl::StatusOr<v1::Call> GetCall(const std::string& name, int replica = 0) {
    v1::GetCallRequest request;
    request.set_name(name);
    return Rpc(calls(replica), &Stub::GetCall, request);
  }

  // The call as GetCall shows it once `done` holds (the relay writes records asynchronously).
  v1::Call WaitForCall(const std::string& name, const std::function<bool(const v1::Call&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    absl::StatusOr<v1::Call> call;
    while (absl::Now() < deadline) {
      call = GetCall(name, 1);
      if (call.ok() && done(*call)) return *call;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "call " << name << " never reached the expected state; last: "
                  << (call.ok() ? call->DebugString() : call.status().ToString());
    return call.ok() ? *call : v1::Call();
  }

  // Waits until the operator's presence satisfies `done`.
  v1::OperatorPresence WaitForPresence(const v1::Operator& op,
                                       const std::function<bool(const v1::OperatorPresence&)>& done,
                                       absl::Duration timeout = absl::Seconds(15)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<v1::OperatorPresence> presence;
    while (absl::Now() < deadline) {
      presence = Presence(op, 1);
      if (presence.ok() && done(*presence)) return *presence;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "operator " << op.name() << " never reached the expected presence; last: "
                  << (presence.ok() ? presence->DebugString() : presence.status().ToString());
    return presence.ok() ? *presence : v1::OperatorPresence();
  }

  // The public events of the site's stream about `call` (by name), in order.
  std::vector<events::v1::Event> EventsOf(const std::string& call) {
    auto redis = common::RedisClient::Create(TestServers::Get().Redis());
    auto reply = (*redis)->Command({"XRANGE", common::EventStreamKey(*site_), "-", "+"});
    std::vector<events::v1::Event> found;
    if (!reply.ok()) return found;
    for (const auto& entry : reply->elements) {
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str != "event") continue;
        events::v1::Event event;
        event.ParseFromString(fields[i + 1].str);
        if (event.DebugString().find(call) != std::string::npos) found.push_back(event);
      }
    }
    return found;
  }

  int64_t CountRecords(const std::string& call_name) {
    pqxx::connection connection(calls_db_->dsn());
    pqxx::work txn(connection);
    return txn
        .exec_params1("SELECT count(*) FROM call_records WHERE id = $1::uuid",
                      call_name.substr(strlen("calls/")))[0]
        .as<int64_t>();
  }

  static inline std::unique_ptr<TestDatabase> calls_db_;
  static inline std::unique_ptr<TestDatabase> customers_db_;
  static inline std::string* site_ = nullptr;
  static inline std::unique_ptr<CallsCluster> cluster_;
  Scenario scenario_{cluster_.get()};
};

std::vector<v1::OperatorPresence> PresencesOf(const v1::WatchOperatorsResponse& update) {
  if (update.has_changed()) return {update.changed()};
  return {update.snapshot().presences().begin(), update.snapshot().presences().end()};
}

std::vector<v1::QueueStatus> StatusesOf(const v1::WatchQueuesResponse& update) {
  if (update.has_changed()) return {update.changed()};
  return {update.snapshot().queues().begin(), update.snapshot().queues().end()};
}

bool HasCode(const absl::Status& status, absl::StatusCode code, absl::string_view text = "") {
  return status.code() == code && absl::StrContains(absl::string_view(status.message()), text);
}

TEST_F(CallsTest, AdminConfigurationReachesRoutingAndTheOperatorSeesTheOffer) {
  Desk desk = OneOperatorQueue();
  OperatorDesktop desktop(calls(1), desk.op.name(), desk.session);
  ASSERT_TRUE(desktop.WaitFor([](const auto& e) { return e.has_snapshot(); }));

  const v1::Call call = Offer(desk.queue, /*replica=*/0);
  EXPECT_EQ(call.state(), v1::CALL_STATE_RESERVED);
  EXPECT_EQ(call.operator_(), desk.op.name());
  EXPECT_EQ(call.queue(), desk.queue.name());
  ASSERT_EQ(call.reservations_size(), 1);
  EXPECT_EQ(call.reservations(0).state(), v1::RESERVATION_STATE_PENDING);

  // The desktop watches replica 1; the offer was made on replica 0.
  auto offered = desktop.WaitFor([&](const auto& e) {
    return e.has_reservation_offered() && e.reservation_offered().call().name() == call.name();
  });
  ASSERT_TRUE(offered.has_value());
  EXPECT_EQ(offered->reservation_offered().reservation().name(), ReservationOf(call));

  auto presence = Presence(desk.op, 1);
  ASSERT_TRUE(presence.ok());
  EXPECT_EQ(presence->state(), v1::OPERATOR_STATE_RESERVED);
}

TEST_F(CallsTest, TheFullLifecycleIsRecordedWithEveryTimestampAndEvent) {
  Desk desk = OneOperatorQueue();
  const v1::Call offered = Offer(desk.queue, 0, -1, "+7 495 111 22 33");
  ASSERT_EQ(offered.state(), v1::CALL_STATE_RESERVED);

  ASSERT_TRUE(Accept(offered, 1).ok());
  auto connected = Connect(offered, 0);
  ASSERT_TRUE(connected.ok()) << connected.status();
  EXPECT_EQ(connected->state(), v1::CALL_STATE_CONNECTED);

  v1::HoldCallRequest hold;
  hold.set_call(offered.name());
  ASSERT_TRUE(Rpc(calls(1), &Stub::HoldCall, hold).ok());
  v1::ResumeCallRequest resume;
  resume.set_call(offered.name());
  ASSERT_TRUE(Rpc(calls(0), &Stub::ResumeCall, resume).ok());

  auto ended = HangUp(offered, 1);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->state(), v1::CALL_STATE_WRAP_UP);
  EXPECT_EQ(WaitForPresence(desk.op,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_WRAP_UP; })
                .state(),
            v1::OPERATOR_STATE_WRAP_UP);

  // A disposition the queue does not have is refused and changes nothing.
  auto wrong = WrapUp(offered, "no_such_code", 0);
  EXPECT_TRUE(HasCode(wrong.status(), absl::StatusCode::kInvalidArgument, "disposition"))
      << wrong.status();
  auto completed = WrapUp(offered, "resolved", 0);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->state(), v1::CALL_STATE_COMPLETED);

  const v1::Call record = WaitForCall(offered.name(), [](const v1::Call& c) {
    return c.state() == v1::CALL_STATE_COMPLETED && c.has_wrap_up_time();
  });
  EXPECT_EQ(record.customer_number().e164(), "+74951112233");
  EXPECT_EQ(record.operator_(), desk.op.name());
  EXPECT_EQ(record.wrap_up().disposition(), "resolved");
  EXPECT_EQ(record.wrap_up().topic(), "billing");
  EXPECT_EQ(record.wrap_up().notes(), kWrapUpNotes);
  EXPECT_FALSE(record.missing_wrap_up());
  for (const auto* time :
       {&record.offer_time(), &record.queue_time(), &record.reserve_time(), &record.accept_time(),
        &record.connect_time(), &record.end_time(), &record.wrap_up_time()}) {
    EXPECT_GT(time->seconds(), 0) << record.DebugString();
  }
  EXPECT_LE(common::TimeFromTimestamp(record.offer_time()),
            common::TimeFromTimestamp(record.connect_time()));
  EXPECT_LE(common::TimeFromTimestamp(record.connect_time()),
            common::TimeFromTimestamp(record.end_time()));
  ASSERT_EQ(record.holds_size(), 1);
  EXPECT_TRUE(record.holds(0).has_end_time());
  EXPECT_EQ(CountRecords(offered.name()), 1);

  // The stream carries the lifecycle as public events.
  std::set<events::v1::Event::PayloadCase> kinds;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && !kinds.contains(events::v1::Event::kWrapUpWritten)) {
    kinds.clear();
    for (const auto& event : EventsOf(offered.name())) kinds.insert(event.payload_case());
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (auto kind : {events::v1::Event::kCallOffered, events::v1::Event::kCallReserved,
                    events::v1::Event::kCallConnected, events::v1::Event::kCallHeld,
                    events::v1::Event::kCallCompleted, events::v1::Event::kWrapUpWritten}) {
    EXPECT_TRUE(kinds.contains(kind)) << "missing event " << kind;
  }

  // Back to AVAILABLE after the wrap-up, with one call handled today.
  auto presence = Presence(desk.op);
  ASSERT_TRUE(presence.ok());
  EXPECT_EQ(presence->state(), v1::OPERATOR_STATE_AVAILABLE);
  EXPECT_EQ(presence->calls_handled_today(), 1);
}

TEST_F(CallsTest, NoCallIsOfferedDuringWrapUp) {
  Desk desk = OneOperatorQueue();
  const v1::Call first = Offer(desk.queue);
  ASSERT_TRUE(Accept(first).ok());
  ASSERT_TRUE(Connect(first).ok());
  ASSERT_TRUE(HangUp(first).ok());

  const v1::Call second = Offer(desk.queue, 1);
  EXPECT_EQ(second.state(), v1::CALL_STATE_QUEUED) << second.DebugString();
  EXPECT_TRUE(second.operator_().empty());

  ASSERT_TRUE(WrapUp(first, "resolved").ok());
  // The wrap-up frees the operator, who gets the waiting call at once.
  const v1::Call routed = WaitForCall(
      second.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(routed.operator_(), desk.op.name());
}

TEST_F(CallsTest, WrongStateGetsFailedPreconditionAndBadInputNamesTheField) {
  Desk desk = OneOperatorQueue();
  const v1::Call call = Offer(desk.queue);
  // Not connected yet: no wrap-up, no hold.
  EXPECT_TRUE(HasCode(WrapUp(call, "resolved").status(), absl::StatusCode::kFailedPrecondition));
  v1::HoldCallRequest hold;
  hold.set_call(call.name());
  EXPECT_EQ(Rpc(calls(), &Stub::HoldCall, hold).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::OfferCallRequest no_call_id;
  no_call_id.set_queue(desk.queue.name());
  EXPECT_TRUE(HasCode(Rpc(calls(), &Stub::OfferCall, no_call_id).status(),
                      absl::StatusCode::kInvalidArgument, "telephony_call_id"));
  v1::OfferCallRequest bad_priority;
  bad_priority.set_telephony_call_id("x");
  bad_priority.set_queue(desk.queue.name());
  bad_priority.set_priority(12);
  EXPECT_TRUE(HasCode(Rpc(calls(), &Stub::OfferCall, bad_priority).status(),
                      absl::StatusCode::kInvalidArgument, "priority"));
  v1::OfferCallRequest unknown_queue;
  unknown_queue.set_telephony_call_id("y");
  unknown_queue.set_queue(absl::StrCat("queues/", common::NewId()));
  EXPECT_EQ(Rpc(calls(), &Stub::OfferCall, unknown_queue).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(HasCode(GetCall("").status(), absl::StatusCode::kInvalidArgument, "name"));
  EXPECT_EQ(GetCall(absl::StrCat("calls/", common::NewId())).status().code(),
            absl::StatusCode::kNotFound);
  v1::AcceptReservationRequest bad_reservation;
  bad_reservation.set_reservation("calls/x");
  EXPECT_TRUE(HasCode(Rpc(calls(), &Stub::AcceptReservation, bad_reservation).status(),
                      absl::StatusCode::kInvalidArgument, "reservation"));

  // None of it changed the call.
  auto still = GetCall(call.name());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state(), v1::CALL_STATE_RESERVED);
}

TEST_F(CallsTest, RequestIdsMakeRetriesSafeAndLostRacesGetAborted) {
  Desk desk = OneOperatorQueue();
  v1::OfferCallRequest offer;
  offer.set_telephony_adapter("test");
  offer.set_telephony_call_id(common::NewId());
  offer.set_queue(desk.queue.name());
  offer.set_request_id(common::NewId());
  auto first = Rpc(calls(0), &Stub::OfferCall, offer);
  ASSERT_TRUE(first.ok()) << first.status();
  // The same request again, on the other replica: the same call, not a second one.
  auto again = Rpc(calls(1), &Stub::OfferCall, offer);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->call().name(), first->call().name());
  // The same request_id with another request is refused.
  offer.set_priority(3);
  EXPECT_TRUE(HasCode(Rpc(calls(1), &Stub::OfferCall, offer).status(),
                      absl::StatusCode::kInvalidArgument, "request_id"));

  // The same reservation accepted twice at once, on two replicas: exactly one wins.
  std::vector<absl::StatusOr<v1::Call>> results(2);
  std::thread a([&] { results[0] = Accept(first->call(), 0); });
  std::thread b([&] { results[1] = Accept(first->call(), 1); });
  a.join();
  b.join();
  int ok = 0;
  for (const auto& result : results) {
    if (result.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(result.status().code() == absl::StatusCode::kAborted ||
                  result.status().code() == absl::StatusCode::kFailedPrecondition)
          << result.status();
    }
  }
  EXPECT_EQ(ok, 1);

  // A request_id reused for a different request is refused.
  v1::ConnectCallRequest connect;
  connect.set_call(first->call().name());
  connect.set_request_id(common::NewId());
  ASSERT_TRUE(Rpc(calls(), &Stub::ConnectCall, connect).ok());
  ASSERT_TRUE(Rpc(calls(1), &Stub::ConnectCall, connect).ok());  // a retry answers the same
  // Connecting an ended call is a wrong-state call (a connected one again is a no-op: adapters
  // repeat their reports).
  ASSERT_TRUE(HangUp(first->call()).ok());
  connect.clear_request_id();
  EXPECT_TRUE(HasCode(Rpc(calls(), &Stub::ConnectCall, connect).status(),
                      absl::StatusCode::kFailedPrecondition, "CALL_ENDED"));
}

TEST_F(CallsTest, RejectPutsTheCallBackAtItsPlaceAndMissesMakeTheOperatorNotReady) {
  Desk desk = OneOperatorQueue([](v1::Queue& q) { q.set_max_misses_before_not_ready(2); });
  const v1::Call first = Offer(desk.queue);
  ASSERT_EQ(first.state(), v1::CALL_STATE_RESERVED);
  const v1::Call second = Offer(desk.queue, 1);
  ASSERT_EQ(second.state(), v1::CALL_STATE_QUEUED);

  v1::RejectReservationRequest reject;
  reject.set_reservation(ReservationOf(first));
  reject.set_reason("busy");
  auto after_reject = Rpc(calls(1), &Stub::RejectReservation, reject);
  ASSERT_TRUE(after_reject.ok()) << after_reject.status();
  EXPECT_EQ(after_reject->consecutive_misses(), 1);

  // The rejected call keeps its place ahead of the later one; it is not offered straight
  // back to the operator who rejected it, who gets the next call instead.
  const v1::Call next = WaitForCall(
      second.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(next.operator_(), desk.op.name());
  auto waiting = GetCall(first.name());
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->state(), v1::CALL_STATE_QUEUED);
  ASSERT_EQ(waiting->reservations_size(), 1);
  EXPECT_EQ(waiting->reservations(0).state(), v1::RESERVATION_STATE_REJECTED);

  reject.set_reservation(ReservationOf(next));
  auto second_miss = Rpc(calls(0), &Stub::RejectReservation, reject);
  ASSERT_TRUE(second_miss.ok()) << second_miss.status();
  EXPECT_EQ(second_miss->state(), v1::OPERATOR_STATE_NOT_READY);
  EXPECT_EQ(second_miss->reason_code(), "missed_calls");
  // Both calls wait; the first still first.
  v1::GetQueuePositionRequest position;
  position.set_call(first.name());
  auto first_position = Rpc(calls(), &Stub::GetQueuePosition, position);
  ASSERT_TRUE(first_position.ok());
  EXPECT_EQ(first_position->position(), 1);
  EXPECT_EQ(first_position->waiting_calls(), 2);
  position.set_call(second.name());
  auto second_position = Rpc(calls(), &Stub::GetQueuePosition, position);
  ASSERT_TRUE(second_position.ok());
  EXPECT_EQ(second_position->position(), 2);
}

TEST_F(CallsTest, AnUnansweredOfferTimesOutAndGoesBackToTheQueue) {
  Desk desk = OneOperatorQueue([](v1::Queue& q) {
    q.mutable_ring_timeout()->set_seconds(5);
    q.set_max_misses_before_not_ready(1);
  });
  const v1::Call call = Offer(desk.queue);
  ASSERT_EQ(call.state(), v1::CALL_STATE_RESERVED);
  // Swept by whichever replica gets there first; nobody accepts.
  const v1::Call requeued = WaitForCall(
      call.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_QUEUED; });
  EXPECT_TRUE(requeued.operator_().empty());
  EXPECT_EQ(requeued.reservations(0).state(), v1::RESERVATION_STATE_EXPIRED);
  auto presence = Presence(desk.op);
  ASSERT_TRUE(presence.ok());
  EXPECT_EQ(presence->state(), v1::OPERATOR_STATE_NOT_READY);
  EXPECT_EQ(presence->reason_code(), "missed_calls");
  // Accepting the expired offer now is refused.
  EXPECT_EQ(Accept(call).status().code(), absl::StatusCode::kFailedPrecondition);

  // Back to AVAILABLE: the waiting call is offered at once.
  {
    auto back = SetState(desk, v1::OPERATOR_STATE_AVAILABLE);
    ASSERT_TRUE(back.ok()) << back.status();
  }
  WaitForCall(call.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
}

TEST_F(CallsTest, HighestPriorityFirstAndOldestFirstWithinOnePriority) {
  auto queue = *scenario().CreateQueue("Priorities");
  auto op = *scenario().CreateOperator("Boris");
  ASSERT_TRUE(scenario().AddMember(queue, op).ok());
  // Calls wait while nobody is logged in.
  std::vector<v1::Call> low, high;
  for (int i = 0; i < 3; ++i) low.push_back(Offer(queue, i % 2, 1));
  for (int i = 0; i < 3; ++i) high.push_back(Offer(queue, i % 2, 5));
  for (const auto& call : low) ASSERT_EQ(call.state(), v1::CALL_STATE_QUEUED);

  ASSERT_TRUE(scenario().LogIn(op).ok());
  std::vector<std::string> served;
  for (int i = 0; i < 6; ++i) {
    // The operator's reserved call is the next one served.
    auto presence =
        WaitForPresence(op, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_RESERVED; });
    auto call =
        GetCall(presence.current_call().empty() ? presence.reservation() : presence.current_call());
    ASSERT_TRUE(call.ok()) << call.status() << presence.DebugString();
    served.push_back(call->name());
    auto completed = scenario().Complete(*call, "resolved", i % 2);
    ASSERT_TRUE(completed.ok()) << completed.status();
  }
  std::vector<std::string> expected;
  for (const auto& call : high) expected.push_back(call.name());
  for (const auto& call : low) expected.push_back(call.name());
  EXPECT_EQ(served, expected);
}

TEST_F(CallsTest, AbandonedCallsRecordWhereTheyWere) {
  auto queue = *scenario().CreateQueue("Abandon");
  const v1::Call waiting = Offer(queue);
  ASSERT_EQ(waiting.state(), v1::CALL_STATE_QUEUED);
  v1::GetQueuePositionRequest position;
  position.set_call(waiting.name());
  auto where = Rpc(calls(1), &Stub::GetQueuePosition, position);
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(where->position(), 1);

  auto abandoned = HangUp(waiting, 1);
  ASSERT_TRUE(abandoned.ok()) << abandoned.status();
  EXPECT_EQ(abandoned->state(), v1::CALL_STATE_ABANDONED);
  EXPECT_EQ(abandoned->abandoned_in(), v1::CALL_STATE_QUEUED);
  EXPECT_TRUE(abandoned->short_abandon());
  const v1::Call record = WaitForCall(
      waiting.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_ABANDONED; });
  EXPECT_EQ(record.abandoned_in(), v1::CALL_STATE_QUEUED);
  EXPECT_GT(record.end_time().seconds(), 0);
  EXPECT_EQ(CountRecords(waiting.name()), 1);
}

TEST_F(CallsTest, TiersAreTriedInOrder) {
  auto queue = *scenario().CreateQueue("Tiers");
  auto first_tier = *scenario().CreateOperator("Tier one");
  auto second_tier = *scenario().CreateOperator("Tier two");
  ASSERT_TRUE(scenario().AddMember(queue, first_tier, 1).ok());
  ASSERT_TRUE(scenario().AddMember(queue, second_tier, 2).ok());
  ASSERT_TRUE(scenario().LogIn(second_tier).ok());
  ASSERT_TRUE(scenario().LogIn(first_tier).ok());
  const v1::Call one = Offer(queue);
  EXPECT_EQ(one.operator_(), first_tier.name());
  const v1::Call two = Offer(queue, 1);
  EXPECT_EQ(two.operator_(), second_tier.name());
}

TEST_F(CallsTest, LongestIdleOperatorGetsTheCall) {
  auto queue = *scenario().CreateQueue("Longest idle");
  std::vector<v1::Operator> ops;
  for (int i = 0; i < 3; ++i) {
    ops.push_back(*scenario().CreateOperator(absl::StrCat("Idle ", i)));
    ASSERT_TRUE(scenario().AddMember(queue, ops.back()).ok());
  }
  // Logged in in the order 2, 0, 1: 2 has been idle longest.
  for (int i : {2, 0, 1}) {
    ASSERT_TRUE(scenario().LogIn(ops[i]).ok());
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(Offer(queue).operator_(), ops[2].name());
  EXPECT_EQ(Offer(queue, 1).operator_(), ops[0].name());
  EXPECT_EQ(Offer(queue).operator_(), ops[1].name());
}

TEST_F(CallsTest, FewestCallsTodayGetsTheCall) {
  auto queue = *scenario().CreateQueue(
      "Fewest", [](v1::Queue& q) { q.set_strategy(v1::QUEUE_STRATEGY_FEWEST_CALLS_TODAY); });
  auto busy = *scenario().CreateOperator("Busy");
  auto fresh = *scenario().CreateOperator("Fresh");
  ASSERT_TRUE(scenario().AddMember(queue, busy).ok());
  ASSERT_TRUE(scenario().LogIn(busy).ok());
  // `busy` handles two calls before `fresh` logs in.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(scenario().Complete(Offer(queue), "resolved").ok());
  ASSERT_TRUE(scenario().AddMember(queue, fresh).ok());
  ASSERT_TRUE(scenario().LogIn(fresh).ok());
  // `fresh` logged in last (longest idle would pick `busy`), but has handled fewer calls.
  EXPECT_EQ(Offer(queue).operator_(), fresh.name());
}

TEST_F(CallsTest, HighestSkillLevelGetsTheCall) {
  auto queue = *scenario().CreateQueue(
      "Skilled", [](v1::Queue& q) { q.set_strategy(v1::QUEUE_STRATEGY_HIGHEST_SKILL); });
  auto junior = *scenario().CreateOperator("Junior");
  auto senior = *scenario().CreateOperator("Senior");
  ASSERT_TRUE(scenario().AddMember(queue, senior, 1, 0, 9).ok());
  ASSERT_TRUE(scenario().AddMember(queue, junior, 1, 0, 2).ok());
  ASSERT_TRUE(scenario().LogIn(senior).ok());
  ASSERT_TRUE(scenario().LogIn(junior).ok());
  EXPECT_EQ(Offer(queue).operator_(), senior.name());
  EXPECT_EQ(Offer(queue).operator_(), junior.name());
}

TEST_F(CallsTest, RoundRobinTakesMembersInTurn) {
  auto queue = *scenario().CreateQueue(
      "Round robin", [](v1::Queue& q) { q.set_strategy(v1::QUEUE_STRATEGY_ROUND_ROBIN); });
  std::vector<v1::Operator> ops;
  for (int i = 0; i < 3; ++i) {
    ops.push_back(*scenario().CreateOperator(absl::StrCat("Robin ", i)));
    ASSERT_TRUE(scenario().AddMember(queue, ops.back()).ok());
    ASSERT_TRUE(scenario().LogIn(ops.back()).ok());
  }
  std::vector<std::string> order;
  for (int round = 0; round < 6; ++round) {
    const v1::Call call = Offer(queue, round % 2);
    order.push_back(call.operator_());
    ASSERT_TRUE(scenario().Complete(call, "resolved").ok());
  }
  // Each member once per round, in the same order both rounds.
  std::set<std::string> first_round(order.begin(), order.begin() + 3);
  EXPECT_EQ(first_round.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(order[i], order[i + 3]);
}

TEST_F(CallsTest, RandomSpreadsCallsOverMembers) {
  auto queue = *scenario().CreateQueue(
      "Random", [](v1::Queue& q) { q.set_strategy(v1::QUEUE_STRATEGY_RANDOM); });
  std::vector<v1::Operator> ops;
  for (int i = 0; i < 2; ++i) {
    ops.push_back(*scenario().CreateOperator(absl::StrCat("Dice ", i)));
    ASSERT_TRUE(scenario().AddMember(queue, ops.back()).ok());
    ASSERT_TRUE(scenario().LogIn(ops.back()).ok());
  }
  std::map<std::string, int> counts;
  for (int i = 0; i < 40; ++i) {
    const v1::Call call = Offer(queue, i % 2);
    ++counts[call.operator_()];
    ASSERT_TRUE(scenario().Complete(call, "resolved").ok());
  }
  // Each of two members picked at least 5 times in 40 (fails with probability ~1e-6).
  EXPECT_EQ(counts.size(), 2u);
  for (const auto& [op, count] : counts) EXPECT_GE(count, 5) << op;
}

TEST_F(CallsTest, OperatorsWithoutTheRequiredSkillAreNotOffered) {
  auto skill = *scenario().CreateSkill("Mortgages");
  auto queue = *scenario().CreateQueue("Mortgages", [&](v1::Queue& q) {
    v1::SkillLevel* required = q.add_required_skills();
    required->set_skill(skill.name());
    required->set_level(5);
  });
  auto novice = *scenario().CreateOperator("Novice", [&](v1::Operator& o) {
    v1::SkillLevel* level = o.add_skills();
    level->set_skill(skill.name());
    level->set_level(3);
  });
  auto expert = *scenario().CreateOperator("Expert", [&](v1::Operator& o) {
    v1::SkillLevel* level = o.add_skills();
    level->set_skill(skill.name());
    level->set_level(7);
  });
  ASSERT_TRUE(scenario().AddMember(queue, novice).ok());
  ASSERT_TRUE(scenario().AddMember(queue, expert).ok());
  ASSERT_TRUE(scenario().LogIn(novice).ok());
  const v1::Call waiting = Offer(queue);
  EXPECT_EQ(waiting.state(), v1::CALL_STATE_QUEUED);
  ASSERT_TRUE(scenario().LogIn(expert).ok());
  EXPECT_EQ(WaitForCall(waiting.name(),
                        [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; })
                .operator_(),
            expert.name());
}

TEST_F(CallsTest, VipCallersJumpTheQueueAndAbusiveOnesGoToDeEscalation) {
  auto calm = *scenario().CreateSkill("De-escalation");
  auto queue = *scenario().CreateQueue("Care", [&](v1::Queue& q) {
    q.set_de_escalation_skill(calm.name());
    q.set_de_escalation_min_level(5);
    q.set_vip_priority_boost(4);
  });
  // Two customers: one VIP, one flagged abusive.
  auto create = [&](const std::string& phone, bool vip, bool abusive) {
    customers::v1::CreateCustomerRequest request;
    request.mutable_customer()->set_family_name("Клиент");
    request.mutable_customer()->add_phones()->mutable_number()->set_raw(phone);
    request.set_request_id(common::NewId());
    auto created =
        Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::CreateCustomer, request);
    ASSERT_TRUE(created.ok()) << created.status();
    customers::v1::SetFlagRequest flag;
    flag.set_customer(created->name());
    flag.set_kind(vip ? customers::v1::FLAG_KIND_VIP : customers::v1::FLAG_KIND_ABUSIVE);
    flag.set_value(vip || abusive);
    flag.set_reason("test");
    flag.set_request_id(common::NewId());
    auto flagged =
        Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::SetFlag, flag);
    ASSERT_TRUE(flagged.ok()) << flagged.status();
  };
  const std::string suffix = common::NewId().substr(30, 5);
  std::string digits;
  for (char c : suffix) digits += static_cast<char>('0' + (c % 10));
  const std::string vip_phone = absl::StrCat("+7 916 10", digits);
  const std::string abusive_phone = absl::StrCat("+7 916 20", digits);
  create(vip_phone, true, false);
  create(abusive_phone, false, true);

  const v1::Call ordinary = Offer(queue, 0, 1);
  const v1::Call vip = Offer(queue, 1, 1, vip_phone);
  EXPECT_TRUE(vip.vip());
  EXPECT_EQ(vip.priority(), 5);
  EXPECT_EQ(vip.customer_lookup(), v1::CUSTOMER_LOOKUP_RESULT_FOUND);
  const v1::Call abusive = Offer(queue, 0, 1, abusive_phone);
  EXPECT_TRUE(abusive.abusive());

  auto plain = *scenario().CreateOperator("Plain");
  auto mediator = *scenario().CreateOperator("Mediator", [&](v1::Operator& o) {
    v1::SkillLevel* level = o.add_skills();
    level->set_skill(calm.name());
    level->set_level(8);
  });
  ASSERT_TRUE(scenario().AddMember(queue, plain).ok());
  ASSERT_TRUE(scenario().AddMember(queue, mediator).ok());
  // The plain operator gets the VIP first, then the ordinary call: never the abusive caller.
  ASSERT_TRUE(scenario().LogIn(plain).ok());
  auto first = WaitForCall(vip.name(),
                           [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(first.operator_(), plain.name());
  ASSERT_TRUE(scenario().Complete(first, "resolved").ok());
  auto second = WaitForCall(ordinary.name(),
                            [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(second.operator_(), plain.name());
  ASSERT_TRUE(scenario().Complete(second, "resolved").ok());
  absl::SleepFor(absl::Milliseconds(300));
  auto still = GetCall(abusive.name());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state(), v1::CALL_STATE_QUEUED);
  // The mediator takes it.
  ASSERT_TRUE(scenario().LogIn(mediator).ok());
  EXPECT_EQ(WaitForCall(abusive.name(),
                        [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; })
                .operator_(),
            mediator.name());
}

TEST_F(CallsTest, WrapUpLimitFreesTheOperatorAndMarksTheRecord) {
  Desk desk =
      OneOperatorQueue([](v1::Queue& q) { q.mutable_wrap_up_time_limit()->set_seconds(5); });
  const v1::Call call = Offer(desk.queue);
  ASSERT_TRUE(Accept(call).ok());
  ASSERT_TRUE(Connect(call).ok());
  ASSERT_TRUE(HangUp(call).ok());
  const v1::Call record =
      WaitForCall(call.name(), [](const v1::Call& c) { return c.missing_wrap_up(); });
  EXPECT_EQ(record.state(), v1::CALL_STATE_COMPLETED);
  WaitForPresence(desk.op, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_AVAILABLE; });
  // Supervisors find it.
  v1::ListCallsRequest list;
  list.set_site(*site_);
  list.set_missing_wrap_up(true);
  list.add_queues(desk.queue.name());
  auto missing = Rpc(calls(), &Stub::ListCalls, list);
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->calls_size(), 1);
  EXPECT_EQ(missing->calls(0).name(), call.name());
  // A late wrap-up is still taken, marked late.
  auto late = WrapUp(call, "resolved");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->wrap_up().late());
}

TEST_F(CallsTest, TransfersKeepTheChain) {
  auto sales = *scenario().CreateQueue("Sales");
  auto support = *scenario().CreateQueue("Support");
  auto seller = *scenario().CreateOperator("Seller");
  auto engineer = *scenario().CreateOperator("Engineer");
  ASSERT_TRUE(scenario().AddMember(sales, seller).ok());
  ASSERT_TRUE(scenario().AddMember(support, engineer).ok());
  ASSERT_TRUE(scenario().LogIn(seller).ok());
  ASSERT_TRUE(scenario().LogIn(engineer).ok());

  const v1::Call call = Offer(sales);
  ASSERT_TRUE(Accept(call).ok());
  ASSERT_TRUE(Connect(call).ok());
  v1::TransferCallRequest transfer;
  transfer.set_call(call.name());
  transfer.set_to_queue(support.name());
  transfer.set_mode(v1::TRANSFER_MODE_COLD);
  transfer.set_notes("router problem");
  auto transferred = Rpc(calls(1), &Stub::TransferCall, transfer);
  ASSERT_TRUE(transferred.ok()) << transferred.status();
  const v1::Call next = transferred->new_call();
  EXPECT_EQ(next.queue(), support.name());
  EXPECT_EQ(next.previous_call(), call.name());
  EXPECT_EQ(next.chain_root(), call.name());
  EXPECT_EQ(next.operator_(), engineer.name());
  EXPECT_EQ(next.state(), v1::CALL_STATE_RESERVED);

  // The transferring operator wraps up the first leg.
  auto first_leg = GetCall(call.name());
  ASSERT_TRUE(first_leg.ok());
  EXPECT_EQ(first_leg->next_call(), next.name());
  EXPECT_EQ(first_leg->end_reason(), v1::CALL_END_REASON_TRANSFERRED);
  ASSERT_TRUE(WrapUp(call, "escalated").ok());

  // To an operator: offered to that operator only.
  ASSERT_TRUE(Accept(next).ok());
  ASSERT_TRUE(Connect(next).ok());
  transfer.set_call(next.name());
  transfer.set_to_operator(seller.name());
  auto back = Rpc(calls(0), &Stub::TransferCall, transfer);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->new_call().operator_(), seller.name());
  EXPECT_EQ(back->new_call().chain_root(), call.name());

  v1::ListCallsRequest chain;
  chain.set_site(*site_);
  chain.set_chain_root(call.name());
  absl::StatusOr<v1::ListCallsResponse> legs;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    legs = Rpc(calls(), &Stub::ListCalls, chain);
  } while (legs.ok() && legs->calls_size() < 3 && absl::Now() < deadline);
  ASSERT_TRUE(legs.ok());
  EXPECT_EQ(legs->calls_size(), 3);
}

TEST_F(CallsTest, HelpRequestsReachSupervisorsAndAreAnswered) {
  auto supervisor = *scenario().CreateOperator(
      "Supervisor", [](v1::Operator& o) { o.set_role(v1::OPERATOR_ROLE_SUPERVISOR); });
  auto team = *scenario().CreateTeam("Team A", {supervisor.name()});
  auto queue = *scenario().CreateQueue("Help");
  auto op = *scenario().CreateOperator("Helped", [&](v1::Operator& o) { o.set_team(team.name()); });
  ASSERT_TRUE(scenario().AddMember(queue, op).ok());
  ASSERT_TRUE(scenario().LogIn(op).ok());
  // The supervisor's desktop (on the other replica) follows the team's help requests; another
  // supervisor's does not.
  auto outsider = *scenario().CreateOperator(
      "Other supervisor", [](v1::Operator& o) { o.set_role(v1::OPERATOR_ROLE_SUPERVISOR); });
  absl::StatusOr<v1::OperatorPresence> supervisor_login = scenario().LogIn(supervisor, 1);
  absl::StatusOr<v1::OperatorPresence> outsider_login = scenario().LogIn(outsider, 1);
  ASSERT_TRUE(supervisor_login.ok()) << supervisor_login.status();
  ASSERT_TRUE(outsider_login.ok()) << outsider_login.status();
  OperatorDesktop supervisor_desktop(calls(1), supervisor.name(), supervisor_login->session_id());
  OperatorDesktop outsider_desktop(calls(1), outsider.name(), outsider_login->session_id());
  const v1::Call call = Offer(queue);
  ASSERT_TRUE(Accept(call).ok());
  ASSERT_TRUE(Connect(call).ok());

  v1::RequestHelpRequest ask;
  ask.set_operator_(op.name());
  ask.set_call(call.name());
  ask.set_reason("abusive caller");
  ask.set_urgent(true);
  auto help = Rpc(calls(0), &Stub::RequestHelp, ask);
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->team(), team.name());
  EXPECT_EQ(help->state(), v1::HELP_REQUEST_STATE_OPEN);
  auto is_this_help = [&](const v1::OperatorEvent& event) {
    return event.has_help_request_updated() && event.help_request_updated().name() == help->name();
  };
  EXPECT_TRUE(supervisor_desktop.WaitFor(is_this_help).has_value())
      << "the team's supervisor was not told of the help request";

  v1::ListHelpRequestsRequest list;
  list.set_site(*site_);
  list.set_team(team.name());
  // Listed from the records, which the relay writes a moment later.
  absl::StatusOr<v1::ListHelpRequestsResponse> open;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    open = Rpc(calls(1), &Stub::ListHelpRequests, list);
    ASSERT_TRUE(open.ok()) << open.status();
  } while (open->help_requests_size() == 0 && absl::Now() < deadline);
  ASSERT_GE(open->help_requests_size(), 1);
  EXPECT_EQ(open->help_requests(0).name(), help->name());

  v1::AnswerHelpRequestRequest answer;
  answer.set_name(help->name());
  answer.set_supervisor(supervisor.name());
  answer.set_action(v1::HELP_ACTION_LISTEN);
  answer.set_note("joining");
  auto answered = Rpc(calls(1), &Stub::AnswerHelpRequest, answer);
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->supervisor(), supervisor.name());
  EXPECT_NE(answered->state(), v1::HELP_REQUEST_STATE_OPEN);
  // Answered once: another answer finds it closed.
  EXPECT_EQ(Rpc(calls(0), &Stub::AnswerHelpRequest, answer).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Only a supervisor answers.
  answer.set_supervisor(op.name());
  EXPECT_FALSE(Rpc(calls(0), &Stub::AnswerHelpRequest, answer).ok());
  // The answer reached the supervisor's desktop too; a supervisor of no team of the operator
  // was told nothing.
  EXPECT_TRUE(supervisor_desktop
                  .WaitFor([&](const v1::OperatorEvent& event) {
                    return is_this_help(event) &&
                           event.help_request_updated().state() != v1::HELP_REQUEST_STATE_OPEN;
                  })
                  .has_value());
  EXPECT_FALSE(outsider_desktop.WaitFor(is_this_help).has_value());
}

TEST_F(CallsTest, SupervisorsWatchOperatorsAndQueuesLive) {
  Desk desk = OneOperatorQueue();
  grpc::ClientContext operators_context;
  v1::WatchOperatorsRequest operators_request;
  operators_request.set_site(*site_);
  auto operators = calls(1).WatchOperators(&operators_context, operators_request);
  grpc::ClientContext queues_context;
  v1::WatchQueuesRequest queues_request;
  queues_request.set_site(*site_);
  queues_request.add_queues(desk.queue.name());
  auto queues = calls(1).WatchQueues(&queues_context, queues_request);

  // The first messages are snapshots, with our operator AVAILABLE and the queue empty.
  v1::WatchOperatorsResponse operators_update;
  bool saw_available = false;
  while (!saw_available && operators->Read(&operators_update)) {
    for (const auto& presence : PresencesOf(operators_update)) {
      if (presence.operator_() == desk.op.name() &&
          presence.state() == v1::OPERATOR_STATE_AVAILABLE) {
        saw_available = true;
      }
    }
  }
  ASSERT_TRUE(saw_available);
  v1::WatchQueuesResponse queues_update;
  ASSERT_TRUE(queues->Read(&queues_update));

  // A call on replica 0 shows on replica 1's streams.
  {
    auto on_break = SetState(desk, v1::OPERATOR_STATE_NOT_READY, "break");
    ASSERT_TRUE(on_break.ok()) << on_break.status();
  }
  const v1::Call waiting = Offer(desk.queue, 0);
  ASSERT_EQ(waiting.state(), v1::CALL_STATE_QUEUED);
  bool saw_break = false;
  while (!saw_break && operators->Read(&operators_update)) {
    for (const auto& presence : PresencesOf(operators_update)) {
      if (presence.operator_() == desk.op.name() &&
          presence.state() == v1::OPERATOR_STATE_NOT_READY && presence.reason_code() == "break") {
        saw_break = true;
      }
    }
  }
  EXPECT_TRUE(saw_break);
  bool saw_waiting = false;
  while (!saw_waiting && queues->Read(&queues_update)) {
    for (const auto& status : StatusesOf(queues_update)) {
      if (status.queue() == desk.queue.name() && status.waiting_calls() == 1) saw_waiting = true;
    }
  }
  EXPECT_TRUE(saw_waiting);
  operators_context.TryCancel();
  queues_context.TryCancel();
}

TEST_F(CallsTest, SupervisorsForceOperatorState) {
  Desk desk = OneOperatorQueue();
  auto supervisor = *scenario().CreateOperator(
      "Boss", [](v1::Operator& o) { o.set_role(v1::OPERATOR_ROLE_SUPERVISOR); });
  v1::ForceOperatorStateRequest force;
  force.set_operator_(desk.op.name());
  force.set_state(v1::OPERATOR_STATE_NOT_READY);
  force.set_reason_code("meeting");
  force.set_supervisor(supervisor.name());
  auto forced = Rpc(calls(1), &Stub::ForceOperatorState, force);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(forced->state(), v1::OPERATOR_STATE_NOT_READY);
  EXPECT_EQ(forced->reason_code(), "meeting");
  EXPECT_EQ(forced->changed_by(), supervisor.name());
  // An operator is not a supervisor.
  force.set_supervisor(desk.op.name());
  EXPECT_EQ(Rpc(calls(1), &Stub::ForceOperatorState, force).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // NOT_READY operators are not offered calls.
  EXPECT_EQ(Offer(desk.queue).state(), v1::CALL_STATE_QUEUED);
}

TEST_F(CallsTest, OutboundCallsRespectDoNotCallAndAreRecorded) {
  Desk desk = OneOperatorQueue();
  auto create = [&](bool do_not_call) {
    customers::v1::CreateCustomerRequest request;
    request.mutable_customer()->set_family_name("Outbound");
    std::string digits;
    for (char c : common::NewId().substr(28, 7)) digits += static_cast<char>('0' + (c % 10));
    request.mutable_customer()->add_phones()->mutable_number()->set_raw(
        absl::StrCat("+7 926 ", digits));
    request.mutable_customer()->set_time_zone("UTC");
    request.set_request_id(common::NewId());
    auto created =
        Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::CreateCustomer, request);
    EXPECT_TRUE(created.ok()) << created.status();
    if (do_not_call) {
      customers::v1::SetConsentRequest consent;
      consent.set_customer(created->name());
      consent.set_kind(customers::v1::CONSENT_KIND_DO_NOT_CALL);
      consent.set_value(true);
      consent.set_source(customers::v1::CONSENT_SOURCE_OPERATOR);
      consent.set_request_id(common::NewId());
      EXPECT_TRUE(
          Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::SetConsent, consent)
              .ok());
    }
    return *created;
  };
  const customers::v1::Customer refused = create(true);
  v1::PlaceOutboundCallRequest place;
  place.set_operator_(desk.op.name());
  place.set_queue(desk.queue.name());
  place.set_customer(refused.name());
  place.mutable_phone_number()->set_raw(refused.phones(0).number().e164());
  auto denied = Rpc(calls(1), &Stub::PlaceOutboundCall, place);
  EXPECT_TRUE(HasCode(denied.status(), absl::StatusCode::kFailedPrecondition)) << denied.status();

  const customers::v1::Customer allowed = create(false);
  place.set_customer(allowed.name());
  place.mutable_phone_number()->set_raw(allowed.phones(0).number().e164());
  auto placed = Rpc(calls(1), &Stub::PlaceOutboundCall, place);
  const absl::CivilHour hour = absl::ToCivilHour(absl::Now(), absl::UTCTimeZone());
  if (hour.hour() >= 9 && hour.hour() < 21) {
    ASSERT_TRUE(placed.ok()) << placed.status();
    EXPECT_EQ(placed->direction(), v1::CALL_DIRECTION_OUTBOUND);
    EXPECT_EQ(placed->operator_(), desk.op.name());
    ASSERT_TRUE(Connect(*placed).ok());
    ASSERT_TRUE(HangUp(*placed, 0, v1::CALL_END_REASON_OPERATOR_HUNG_UP).ok());
    ASSERT_TRUE(WrapUp(*placed, "resolved").ok());
    const v1::Call record = WaitForCall(
        placed->name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_COMPLETED; });
    EXPECT_EQ(record.customer(), allowed.name());
    EXPECT_EQ(record.direction(), v1::CALL_DIRECTION_OUTBOUND);
  } else {
    // Outside 09:00-21:00 in the customer's zone (UTC here): refused.
    EXPECT_TRUE(HasCode(placed.status(), absl::StatusCode::kFailedPrecondition)) << placed.status();
  }
}

TEST_F(CallsTest, ARecordTheDatabaseRefusedLandsAtOnceWhenItAcceptsAgain) {
  Desk desk = OneOperatorQueue();
  // PostgreSQL refuses every call record for a while (a trigger stands in for an outage).
  {
    pqxx::connection connection(calls_db_->dsn());
    pqxx::work txn(connection);
    txn.exec(
        "CREATE FUNCTION refuse_call_records() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'call records refused by the test'; END $$; "
        "CREATE TRIGGER refuse_call_records BEFORE INSERT ON call_records "
        "FOR EACH ROW EXECUTE FUNCTION refuse_call_records()");
    txn.commit();
  }
  const v1::Call call = Offer(desk.queue);
  absl::SleepFor(absl::Seconds(1));  // the relays fail on it, and back off
  EXPECT_EQ(CountRecords(call.name()), 0);
  {
    pqxx::connection connection(calls_db_->dsn());
    pqxx::work txn(connection);
    txn.exec(
        "DROP TRIGGER refuse_call_records ON call_records; "
        "DROP FUNCTION refuse_call_records()");
    txn.commit();
  }
  // The failed batch is retried by the relay that read it, after its back-off, not left for
  // another replica to claim once it has been idle for 10 s.
  const absl::Time recovered = absl::Now();
  while (CountRecords(call.name()) == 0 && absl::Now() - recovered < absl::Seconds(15)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(CountRecords(call.name()), 1);
  EXPECT_LT(absl::Now() - recovered, absl::Seconds(6));
}

TEST_F(CallsTest, ListCallsFiltersAndPages) {
  Desk desk = OneOperatorQueue();
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    const v1::Call call = Offer(desk.queue, i % 2);
    names.push_back(call.name());
    ASSERT_TRUE(scenario().Complete(call, i == 0 ? "escalated" : "resolved").ok());
  }
  for (const auto& name : names) {
    WaitForCall(name, [](const v1::Call& c) { return c.has_wrap_up_time(); });
  }
  v1::ListCallsRequest list;
  list.set_site(*site_);
  list.set_operator_(desk.op.name());
  // ListCalls reads the records, which the change relay writes a moment after the live state.
  for (int i = 0; i < 100; ++i) {
    list.set_page_size(10);
    auto all = Rpc(calls(), &Stub::ListCalls, list);
    int wrapped = 0;
    if (all.ok()) {
      for (const auto& call : all->calls()) wrapped += call.has_wrap_up_time();
    }
    if (wrapped == 3) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  list.set_page_size(2);
  auto page = Rpc(calls(), &Stub::ListCalls, list);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->calls_size(), 2);
  ASSERT_FALSE(page->next_page_token().empty());
  list.set_page_token(page->next_page_token());
  auto rest = Rpc(calls(1), &Stub::ListCalls, list);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->calls_size(), 1);
  std::set<std::string> seen;
  for (const auto& call : page->calls()) seen.insert(call.name());
  for (const auto& call : rest->calls()) seen.insert(call.name());
  EXPECT_EQ(seen, std::set<std::string>(names.begin(), names.end()));

  list.clear_page_token();
  list.set_page_size(10);
  list.add_dispositions("escalated");
  auto escalated = Rpc(calls(), &Stub::ListCalls, list);
  ASSERT_TRUE(escalated.ok());
  ASSERT_EQ(escalated->calls_size(), 1);
  EXPECT_EQ(escalated->calls(0).name(), names[0]);
  list.set_page_size(-1);
  EXPECT_TRUE(HasCode(Rpc(calls(), &Stub::ListCalls, list).status(),
                      absl::StatusCode::kInvalidArgument, "page_size"));
}

TEST_F(CallsTest, DeletingABusyOperatorOrQueueIsRefused) {
  Desk desk = OneOperatorQueue();
  v1::DeleteOperatorRequest delete_operator;
  delete_operator.set_name(desk.op.name());
  delete_operator.set_request_id(common::NewId());
  EXPECT_TRUE(HasCode(Rpc(admin(), &AdminStub::DeleteOperator, delete_operator).status(),
                      absl::StatusCode::kFailedPrecondition, "OPERATOR_NOT_OFFLINE"));
  {
    auto on_break = SetState(desk, v1::OPERATOR_STATE_NOT_READY, "break");
    ASSERT_TRUE(on_break.ok()) << on_break.status();
  }
  Offer(desk.queue);
  v1::DeleteQueueRequest delete_queue;
  delete_queue.set_name(desk.queue.name());
  delete_queue.set_request_id(common::NewId());
  EXPECT_TRUE(HasCode(Rpc(admin(), &AdminStub::DeleteQueue, delete_queue).status(),
                      absl::StatusCode::kFailedPrecondition, "QUEUE_HAS_CALLS"));
}

// Heartbeats, with short timeouts: a suite (and cluster) of its own.
class HeartbeatTest : public CallsTest {
 protected:
  static void SetUpTestSuite() {
    // A long batch window, so that heartbeats sent together certainly share one script.
    StartCluster(
        {"--heartbeat_interval=1s", "--heartbeat_timeout=3s", "--heartbeat_batch_window=200ms"});
  }
};

TEST_F(HeartbeatTest, HeartbeatsSharingOneScriptAreEachAnsweredWithTheirOwnResult) {
  constexpr int kLive = 6;
  std::vector<v1::Operator> live;
  std::vector<std::string> sessions;
  for (int i = 0; i < kLive; ++i) {
    live.push_back(*scenario().CreateOperator(absl::StrCat("Beating ", i)));
    auto presence = scenario().LogIn(live.back());
    ASSERT_TRUE(presence.ok()) << presence.status();
    sessions.push_back(presence->session_id());
  }
  auto logged_out = *scenario().CreateOperator("Logged out");
  auto stale = *scenario().CreateOperator("Stale session");
  auto stale_presence = scenario().LogIn(stale);
  ASSERT_TRUE(stale_presence.ok());
  const absl::Time logged_in = absl::Now();
  // Most of the timeout passes: only these heartbeats can keep the operators logged in.
  absl::SleepFor(absl::Seconds(2));

  std::vector<v1::HeartbeatRequest> beats;
  for (int i = 0; i < kLive; ++i) {
    beats.emplace_back().set_operator_(live[i].name());
    beats.back().set_session_id(sessions[i]);
  }
  beats.emplace_back().set_operator_("operators/no-such-operator");
  beats.back().set_session_id(sessions[0]);
  beats.emplace_back().set_operator_(logged_out.name());
  beats.back().set_session_id(sessions[0]);
  beats.emplace_back().set_operator_(stale.name());
  beats.back().set_session_id(sessions[1]);
  std::vector<absl::StatusOr<v1::HeartbeatResponse>> answers(beats.size(),
                                                             absl::UnknownError("not sent"));
  std::vector<std::thread> senders;
  for (size_t i = 0; i < beats.size(); ++i) {
    senders.emplace_back([&, i] { answers[i] = Rpc(calls(0), &Stub::Heartbeat, beats[i]); });
  }
  for (auto& sender : senders) sender.join();

  for (int i = 0; i < kLive; ++i) {
    ASSERT_TRUE(answers[i].ok()) << live[i].name() << ": " << answers[i].status();
    EXPECT_EQ(answers[i]->presence().operator_(), live[i].name());
    EXPECT_EQ(answers[i]->presence().session_id(), sessions[i]);
    EXPECT_EQ(answers[i]->presence().state(), v1::OPERATOR_STATE_AVAILABLE);
  }
  EXPECT_TRUE(HasCode(answers[kLive].status(), absl::StatusCode::kNotFound, "OPERATOR_NOT_FOUND"))
      << answers[kLive].status();
  EXPECT_TRUE(HasCode(answers[kLive + 1].status(), absl::StatusCode::kFailedPrecondition,
                      "SESSION_MISMATCH"))
      << answers[kLive + 1].status();
  EXPECT_TRUE(HasCode(answers[kLive + 2].status(), absl::StatusCode::kFailedPrecondition,
                      "SESSION_MISMATCH"))
      << answers[kLive + 2].status();

  // Past the first deadline: the operators who beat are still logged in; the one whose
  // heartbeat carried another's session was not kept alive by it, and the refused heartbeat
  // logged nobody in.
  absl::SleepFor(logged_in + absl::Milliseconds(3500) - absl::Now());
  for (const v1::Operator& op : live) {
    auto presence = Presence(op);
    ASSERT_TRUE(presence.ok());
    EXPECT_EQ(presence->state(), v1::OPERATOR_STATE_AVAILABLE) << op.name();
  }
  const v1::OperatorPresence gone =
      WaitForPresence(stale, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_OFFLINE; });
  EXPECT_EQ(gone.reason_code(), "heartbeat_timeout");
  auto never = Presence(logged_out);
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->state(), v1::OPERATOR_STATE_OFFLINE);
}

TEST_F(HeartbeatTest, ASilentOperatorGoesOfflineAndTheirOfferReturnsToTheQueue) {
  auto queue = *scenario().CreateQueue("Heartbeat");
  auto silent = *scenario().CreateOperator("Silent");
  auto steady = *scenario().CreateOperator("Steady");
  ASSERT_TRUE(scenario().AddMember(queue, silent).ok());
  ASSERT_TRUE(scenario().LogIn(silent).ok());
  const v1::Call call = Offer(queue);
  ASSERT_EQ(call.operator_(), silent.name());

  auto presence = scenario().LogIn(steady);
  ASSERT_TRUE(presence.ok());
  std::atomic<bool> stop{false};
  std::thread beating([&] {
    while (!stop.load()) {
      v1::HeartbeatRequest beat;
      beat.set_operator_(steady.name());
      beat.set_session_id(presence->session_id());
      EXPECT_TRUE(Rpc(calls(1), &Stub::Heartbeat, beat).ok());
      absl::SleepFor(absl::Milliseconds(500));
    }
  });
  const v1::OperatorPresence gone = WaitForPresence(
      silent, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_OFFLINE; });
  EXPECT_EQ(gone.reason_code(), "heartbeat_timeout");
  const v1::Call requeued = WaitForCall(
      call.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_QUEUED; });
  EXPECT_TRUE(requeued.operator_().empty());
  // The steady operator, still heartbeating, is still logged in.
  auto steady_presence = Presence(steady);
  ASSERT_TRUE(steady_presence.ok());
  EXPECT_EQ(steady_presence->state(), v1::OPERATOR_STATE_AVAILABLE);
  stop = true;
  beating.join();
}

// Telephony commands and warm transfers: a cluster of their own.
class TelephonyTest : public CallsTest {
 protected:
  // A fresh adapter name, so that tests do not see each other's commands.
  std::string NewAdapter() { return absl::StrCat("pbx-", common::NewId()); }

  v1::Call OfferFrom(const std::string& adapter, const v1::Queue& queue, int replica = 0) {
    v1::OfferCallRequest request;
    request.set_telephony_adapter(adapter);
    request.set_telephony_call_id(absl::StrCat("linkedid-", common::NewId()));
    request.set_queue(queue.name());
    request.mutable_caller_number()->set_raw("+7 495 123 45 67");
    request.set_request_id(common::NewId());
    auto offered = Rpc(calls(replica), &Stub::OfferCall, request);
    EXPECT_TRUE(offered.ok()) << offered.status();
    return offered.ok() ? offered->call() : v1::Call();
  }

  absl::Status Ack(const std::string& adapter, const std::string& command, bool success,
                   const std::string& failure_reason = "", int replica = 0) {
    v1::AcknowledgeTelephonyCommandRequest request;
    request.set_telephony_adapter(adapter);
    request.set_command_id(command);
    request.set_success(success);
    request.set_failure_reason(failure_reason);
    request.set_request_id(common::NewId());
    return Rpc(calls(replica), &Stub::AcknowledgeTelephonyCommand, request).status();
  }

  absl::StatusOr<v1::TransferCallResponse> Transfer(const v1::Call& call, v1::TransferMode mode,
                                                    const std::string& to_operator,
                                                    const std::string& to_queue = "",
                                                    int replica = 0) {
    v1::TransferCallRequest request;
    request.set_call(call.name());
    request.set_mode(mode);
    if (!to_operator.empty()) request.set_to_operator(to_operator);
    if (!to_queue.empty()) request.set_to_queue(to_queue);
    request.set_notes("customer asks about a mortgage");
    request.set_request_id(common::NewId());
    return Rpc(calls(replica), &Stub::TransferCall, request);
  }

  absl::StatusOr<v1::TransferCallResponse> CompleteTransfer(const v1::Call& call, int replica = 0) {
    v1::CompleteTransferRequest request;
    request.set_call(call.name());
    request.set_request_id(common::NewId());
    return Rpc(calls(replica), &Stub::CompleteTransfer, request);
  }

  absl::StatusOr<v1::TransferCallResponse> CancelTransfer(const v1::Call& call, int replica = 0) {
    v1::CancelTransferRequest request;
    request.set_call(call.name());
    request.set_request_id(common::NewId());
    return Rpc(calls(replica), &Stub::CancelTransfer, request);
  }

  // The record of a call leg in PostgreSQL once `done` holds (the relay writes in batches).
  v1::Call WaitForRecord(const std::string& name,
                         const std::function<bool(const v1::Call&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    v1::Call record;
    while (absl::Now() < deadline) {
      pqxx::connection connection(calls_db_->dsn());
      pqxx::nontransaction txn(connection);
      pqxx::result rows = txn.exec_params("SELECT record FROM call_records WHERE id = $1::uuid",
                                          name.substr(strlen("calls/")));
      if (!rows.empty()) {
        record.ParseFromString(common::BytesOf(rows[0][0]));
        if (done(record)) return record;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "the record of " << name
                  << " never reached the expected state; last: " << record.DebugString();
    return record;
  }

  // Two operators: `first` serves `queue` (and gets its calls), `second` serves `other`.
  struct TwoDesks {
    v1::Queue queue;
    v1::Queue other;
    v1::Operator first;
    v1::Operator second;
  };
  TwoDesks TwoOperators() {
    TwoDesks desks;
    desks.queue = *scenario().CreateQueue("Retail");
    desks.other = *scenario().CreateQueue("Mortgage");
    desks.first = *scenario().CreateOperator("Irina");
    desks.second = *scenario().CreateOperator("Oleg");
    EXPECT_TRUE(scenario().AddMember(desks.queue, desks.first).ok());
    EXPECT_TRUE(scenario().AddMember(desks.other, desks.second).ok());
    EXPECT_TRUE(scenario().LogIn(desks.first).ok());
    EXPECT_TRUE(scenario().LogIn(desks.second).ok());
    return desks;
  }

  // A call of `adapter` offered in desks.queue, accepted by desks.first, bridged and connected;
  // `commands` counts the adapter's commands received so far.
  v1::Call ConnectedCall(const std::string& adapter, TelephonyAdapter& pbx, const TwoDesks& desks,
                         size_t& commands) {
    const v1::Call offered = OfferFrom(adapter, desks.queue, 1);
    EXPECT_EQ(offered.operator_(), desks.first.name());
    EXPECT_TRUE(Accept(offered, 0).ok());
    auto bridge = pbx.Next(commands++);
    EXPECT_TRUE(bridge.has_value() && bridge->has_bridge());
    if (bridge.has_value()) {
      EXPECT_TRUE(Ack(adapter, bridge->command_id(), true).ok());
    }
    auto connected = Connect(offered, 1);
    EXPECT_TRUE(connected.ok()) << connected.status();
    return connected.ok() ? *connected : offered;
  }

  // A warm transfer of `call` to desks.other, offered to desks.second, who accepts; the caller's
  // hold and the consult bridge are read from `pbx` and the consult acknowledged. The new leg,
  // or an empty Call after a failure.
  v1::Call ConsultingTransfer(const std::string& adapter, TelephonyAdapter& pbx,
                              const TwoDesks& desks, const v1::Call& call, size_t& commands) {
    auto started = Transfer(call, v1::TRANSFER_MODE_WARM, "", desks.other.name(), 0);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return v1::Call();
    const v1::Call new_leg = started->new_call();
    EXPECT_EQ(new_leg.queue(), desks.other.name());
    EXPECT_EQ(new_leg.operator_(), desks.second.name());
    auto held = pbx.Next(commands++);
    EXPECT_TRUE(held.has_value() && held->has_hold() && held->hold().on_hold());
    EXPECT_TRUE(Accept(new_leg, 1).ok());
    auto consult = pbx.Next(commands++);
    const bool consulting =
        consult.has_value() && consult->has_bridge() && consult->bridge().consult();
    EXPECT_TRUE(consulting);
    if (!consulting || !Ack(adapter, consult->command_id(), true, "", 1).ok()) {
      ADD_FAILURE() << "the consult of " << new_leg.name() << " was not bridged";
      return v1::Call();
    }
    return new_leg;
  }
};

TEST_F(TelephonyTest, TheAdapterIsToldToBridgeWhenTheOperatorAccepts) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  const v1::Call offered = OfferFrom(adapter, desk.queue, 0);
  ASSERT_EQ(offered.state(), v1::CALL_STATE_RESERVED);
  // Nothing for the adapter to do until the operator accepts.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(pbx.Count(), 0u);

  ASSERT_TRUE(Accept(offered, 0).ok());
  auto bridge = pbx.Next(0);
  ASSERT_TRUE(bridge.has_value());
  ASSERT_TRUE(bridge->has_bridge()) << bridge->DebugString();
  EXPECT_EQ(bridge->call(), offered.name());
  EXPECT_EQ(bridge->telephony_call_id(), offered.telephony_call_id());
  EXPECT_FALSE(bridge->command_id().empty());
  EXPECT_TRUE(bridge->has_create_time());
  EXPECT_EQ(bridge->bridge().operator_(), desk.op.name());
  EXPECT_EQ(bridge->bridge().endpoint(), desk.op.endpoint());
  EXPECT_FALSE(bridge->bridge().consult());
  EXPECT_EQ(bridge->bridge().display().at("caller_number"), "+74951234567");
  EXPECT_EQ(bridge->bridge().display().at("queue"), desk.queue.display_name());
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), true, "", 1).ok());
  // A repeated acknowledgement is not an error and changes nothing.
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), false, "late duplicate", 0).ok());
  auto connected = Connect(offered, 1);
  ASSERT_TRUE(connected.ok()) << connected.status();
  EXPECT_EQ(connected->state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(Presence(desk.op)->state(), v1::OPERATOR_STATE_ON_CALL);

  // What the adapter itself did is not sent back to it; what a desktop asks for is.
  v1::HoldCallRequest hold;
  hold.set_call(offered.name());
  hold.set_applied_by_telephony(true);
  ASSERT_TRUE(Rpc(calls(0), &Stub::HoldCall, hold).ok());
  v1::ResumeCallRequest resume;
  resume.set_call(offered.name());
  ASSERT_TRUE(Rpc(calls(1), &Stub::ResumeCall, resume).ok());
  auto resumed = pbx.Next(1);
  ASSERT_TRUE(resumed.has_value());
  ASSERT_TRUE(resumed->has_hold()) << resumed->DebugString();
  EXPECT_FALSE(resumed->hold().on_hold());
  ASSERT_TRUE(Ack(adapter, resumed->command_id(), true).ok());

  auto ended = HangUp(offered, 0, v1::CALL_END_REASON_OPERATOR_HUNG_UP);
  ASSERT_TRUE(ended.ok()) << ended.status();
  auto hang_up = pbx.Next(2);
  ASSERT_TRUE(hang_up.has_value());
  ASSERT_TRUE(hang_up->has_hang_up()) << hang_up->DebugString();
  EXPECT_EQ(hang_up->hang_up().reason(), v1::CALL_END_REASON_OPERATOR_HUNG_UP);
  EXPECT_FALSE(hang_up->hang_up().consult_only());
  ASSERT_TRUE(Ack(adapter, hang_up->command_id(), true).ok());
  // The adapter's own report of the same hang-up changes nothing and orders nothing.
  v1::HangUpRequest reported;
  reported.set_call(offered.name());
  reported.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
  reported.set_applied_by_telephony(true);
  ASSERT_TRUE(Rpc(calls(1), &Stub::HangUp, reported).ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(pbx.Count(), 3u);
}

TEST_F(TelephonyTest, UnacknowledgedCommandsAreResentOnReconnectToAnyReplica) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  auto first = std::make_unique<TelephonyAdapter>(calls(0), adapter);
  const v1::Call offered = OfferFrom(adapter, desk.queue, 1);
  ASSERT_TRUE(Accept(offered, 1).ok());
  auto bridge = first->Next(0);
  ASSERT_TRUE(bridge.has_value() && bridge->has_bridge());
  // The adapter goes away without acknowledging it.
  first->Close();

  // Reconnected to the other replica: the command comes again, first, with the same id.
  auto second = std::make_unique<TelephonyAdapter>(calls(1), adapter);
  auto again = second->Next(0);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->command_id(), bridge->command_id());
  EXPECT_EQ(again->bridge().operator_(), desk.op.name());

  // A second stream of the same adapter replaces the first, which ends ABORTED.
  TelephonyAdapter third(calls(0), adapter);
  auto replaced = second->Ended();
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->error_code(), grpc::StatusCode::ABORTED) << replaced->error_message();
  auto third_copy = third.Next(0);
  ASSERT_TRUE(third_copy.has_value());
  EXPECT_EQ(third_copy->command_id(), bridge->command_id());

  // Acknowledged (on another replica than the stream's), it is not sent again.
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), true, "", 1).ok());
  ASSERT_TRUE(Connect(offered, 0).ok());
  third.Close();
  TelephonyAdapter fourth(calls(1), adapter);
  v1::HoldCallRequest hold;
  hold.set_call(offered.name());
  ASSERT_TRUE(Rpc(calls(0), &Stub::HoldCall, hold).ok());
  auto next = fourth.Next(0);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->has_hold()) << next->DebugString();
  EXPECT_TRUE(next->hold().on_hold());
}

TEST_F(TelephonyTest, AFailedBridgeRequeuesTheCallAndTheOperatorIsNotReady) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(0), adapter);
  const v1::Call first = OfferFrom(adapter, desk.queue, 0);
  ASSERT_EQ(first.operator_(), desk.op.name());
  const v1::Call second = OfferFrom(adapter, desk.queue, 1);
  ASSERT_EQ(second.state(), v1::CALL_STATE_QUEUED);
  ASSERT_TRUE(Accept(first, 1).ok());
  auto bridge = pbx.Next(0);
  ASSERT_TRUE(bridge.has_value() && bridge->has_bridge());

  // Bad acknowledgements are refused and change nothing.
  EXPECT_TRUE(HasCode(Ack("", bridge->command_id(), false), absl::StatusCode::kInvalidArgument,
                      "telephony_adapter"));
  EXPECT_TRUE(HasCode(Ack(adapter, "", false), absl::StatusCode::kInvalidArgument, "command_id"));
  EXPECT_TRUE(HasCode(Ack(adapter, "no-such-command", false), absl::StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(Ack("another-pbx", bridge->command_id(), false),
                      absl::StatusCode::kFailedPrecondition, "WRONG_ADAPTER"));
  EXPECT_EQ(Presence(desk.op)->state(), v1::OPERATOR_STATE_ON_CALL);

  ASSERT_TRUE(Ack(adapter, bridge->command_id(), false, "endpoint unreachable", 1).ok());
  const v1::OperatorPresence presence = WaitForPresence(
      desk.op, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_NOT_READY; });
  EXPECT_EQ(presence.reason_code(), "bridge_failed");
  EXPECT_TRUE(presence.current_call().empty());
  auto back = GetCall(first.name());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state(), v1::CALL_STATE_QUEUED);
  EXPECT_TRUE(back->operator_().empty());
  ASSERT_EQ(back->reservations_size(), 1);
  EXPECT_EQ(back->reservations(0).state(), v1::RESERVATION_STATE_CANCELLED);
  EXPECT_TRUE(absl::StrContains(back->reservations(0).reason(), "bridge_failed"));
  // Back at its place: ahead of the call offered after it.
  v1::GetQueuePositionRequest position;
  position.set_call(first.name());
  auto place = Rpc(calls(1), &Stub::GetQueuePosition, position);
  ASSERT_TRUE(place.ok()) << place.status();
  EXPECT_EQ(place->position(), 1);
  EXPECT_EQ(place->waiting_calls(), 2);
  EXPECT_EQ(second.state(), v1::CALL_STATE_QUEUED);
}

TEST_F(TelephonyTest, AWarmTransferConsultsThenMovesTheCallerKeepingTheChain) {
  TwoDesks desks = TwoOperators();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  size_t commands = 0;
  const v1::Call call = ConnectedCall(adapter, pbx, desks, commands);
  ASSERT_EQ(call.state(), v1::CALL_STATE_CONNECTED);

  // Not connected yet to anyone: the target must be consulting before the transfer completes.
  auto started = Transfer(call, v1::TRANSFER_MODE_WARM, desks.second.name(), "", 1);
  ASSERT_TRUE(started.ok()) << started.status();
  const v1::Call old_leg = started->call();
  const v1::Call new_leg = started->new_call();
  EXPECT_EQ(old_leg.state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(old_leg.next_call(), new_leg.name());
  ASSERT_EQ(old_leg.holds_size(), 1);
  EXPECT_FALSE(old_leg.holds(0).has_end_time());
  EXPECT_EQ(new_leg.state(), v1::CALL_STATE_RESERVED);
  EXPECT_EQ(new_leg.operator_(), desks.second.name());
  EXPECT_EQ(new_leg.previous_call(), call.name());
  EXPECT_EQ(new_leg.chain_root(), call.name());
  EXPECT_EQ(new_leg.transfer().mode(), v1::TRANSFER_MODE_WARM);
  EXPECT_EQ(new_leg.transfer().from_operator(), desks.first.name());
  EXPECT_EQ(new_leg.transfer().to_operator(), desks.second.name());
  EXPECT_EQ(new_leg.telephony_call_id(), call.telephony_call_id());
  EXPECT_EQ(Presence(desks.first)->state(), v1::OPERATOR_STATE_ON_CALL);
  auto held = pbx.Next(commands++);
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(held->has_hold()) << held->DebugString();
  EXPECT_TRUE(held->hold().on_hold());
  EXPECT_EQ(held->call(), call.name());

  // One warm transfer at a time.
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_WARM, "", desks.other.name()).status(),
                      absl::StatusCode::kFailedPrecondition, "TRANSFER_PENDING"));
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_COLD, "", desks.other.name()).status(),
                      absl::StatusCode::kFailedPrecondition, "TRANSFER_PENDING"));
  EXPECT_TRUE(HasCode(CompleteTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "TARGET_NOT_CONNECTED"));

  // The target accepts: a consult bridge between the two operators.
  ASSERT_TRUE(Accept(new_leg, 0).ok());
  auto consult = pbx.Next(commands++);
  ASSERT_TRUE(consult.has_value());
  ASSERT_TRUE(consult->has_bridge()) << consult->DebugString();
  EXPECT_TRUE(consult->bridge().consult());
  EXPECT_EQ(consult->call(), new_leg.name());
  EXPECT_EQ(consult->telephony_call_id(), call.telephony_call_id());
  EXPECT_EQ(consult->bridge().operator_(), desks.second.name());
  EXPECT_EQ(consult->bridge().endpoint(), desks.second.endpoint());
  EXPECT_TRUE(HasCode(Connect(new_leg, 1).status(), absl::StatusCode::kFailedPrecondition,
                      "CONSULT_IN_PROGRESS"));
  EXPECT_TRUE(HasCode(CompleteTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "TARGET_NOT_CONNECTED"));
  ASSERT_TRUE(Ack(adapter, consult->command_id(), true, "", 0).ok());

  // Completed: the caller goes to the target; the first operator wraps up the old leg.
  auto completed = CompleteTransfer(call, 1);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->call().state(), v1::CALL_STATE_TRANSFERRED);
  EXPECT_EQ(completed->call().end_reason(), v1::CALL_END_REASON_TRANSFERRED);
  ASSERT_EQ(completed->call().holds_size(), 1);
  EXPECT_TRUE(completed->call().holds(0).has_end_time());
  EXPECT_EQ(completed->new_call().state(), v1::CALL_STATE_RESERVED);
  EXPECT_EQ(WaitForPresence(desks.first,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_WRAP_UP; })
                .state(),
            v1::OPERATOR_STATE_WRAP_UP);
  auto bridge = pbx.Next(commands++);
  ASSERT_TRUE(bridge.has_value());
  ASSERT_TRUE(bridge->has_bridge()) << bridge->DebugString();
  EXPECT_FALSE(bridge->bridge().consult());
  EXPECT_EQ(bridge->call(), new_leg.name());
  EXPECT_EQ(bridge->bridge().operator_(), desks.second.name());
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), true).ok());
  auto connected = Connect(new_leg, 0);
  ASSERT_TRUE(connected.ok()) << connected.status();
  EXPECT_EQ(connected->state(), v1::CALL_STATE_CONNECTED);
  EXPECT_TRUE(HasCode(CompleteTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "NO_TRANSFER_PENDING"));

  // A repeated OfferCall of the adapter's call now finds the new leg.
  ASSERT_TRUE(WrapUp(call, "escalated", 1).ok());
  auto old_live = GetCall(call.name(), 0);
  ASSERT_TRUE(old_live.ok());
  EXPECT_EQ(old_live->state(), v1::CALL_STATE_TRANSFERRED);
  EXPECT_EQ(old_live->next_call(), new_leg.name());
  EXPECT_EQ(old_live->wrap_up().disposition(), "escalated");
  EXPECT_EQ(old_live->wrap_up().author(), desks.first.name());
  EXPECT_EQ(old_live->transfer().mode(), v1::TRANSFER_MODE_WARM);

  // Both legs' records in PostgreSQL, linked in one chain.
  const v1::Call old_record = WaitForRecord(call.name(), [](const v1::Call& c) {
    return c.state() == v1::CALL_STATE_TRANSFERRED && c.has_wrap_up();
  });
  EXPECT_EQ(old_record.operator_(), desks.first.name());
  // Quotes, backslashes and Cyrillic reach PostgreSQL's record unharmed.
  EXPECT_EQ(old_record.wrap_up().notes(), kWrapUpNotes);
  EXPECT_EQ(old_record.next_call(), new_leg.name());
  EXPECT_EQ(old_record.holds_size(), 1);
  EXPECT_TRUE(old_record.has_end_time());
  const v1::Call new_record = WaitForRecord(
      new_leg.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_CONNECTED; });
  EXPECT_EQ(new_record.operator_(), desks.second.name());
  EXPECT_EQ(new_record.previous_call(), call.name());
  EXPECT_EQ(new_record.chain_root(), call.name());
  EXPECT_EQ(new_record.transfer().mode(), v1::TRANSFER_MODE_WARM);
  EXPECT_TRUE(new_record.has_connect_time());
  auto chain = [&] {
    v1::ListCallsRequest request;
    request.set_site(*site_);
    request.set_chain_root(call.name());
    return Rpc(calls(), &Stub::ListCalls, request);
  }();
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->calls_size(), 2);
  // The transfer is a public event once it took effect.
  bool transferred = false;
  for (const auto& event : EventsOf(call.name())) {
    if (event.has_call_transferred()) {
      transferred = true;
      EXPECT_EQ(event.call_transferred().new_call(), new_leg.name());
      EXPECT_EQ(event.call_transferred().to_operator(), desks.second.name());
    }
  }
  EXPECT_TRUE(transferred);

  // The target finishes the call as any other.
  ASSERT_TRUE(HangUp(new_leg, 1).ok());
  ASSERT_TRUE(WrapUp(new_leg, "resolved", 0).ok());
  EXPECT_EQ(WaitForPresence(desks.second,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_AVAILABLE; })
                .state(),
            v1::OPERATOR_STATE_AVAILABLE);
}

TEST_F(TelephonyTest, ACancelledWarmTransferReturnsTheCallerToTheFirstOperator) {
  TwoDesks desks = TwoOperators();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(0), adapter);
  size_t commands = 0;
  const v1::Call call = ConnectedCall(adapter, pbx, desks, commands);
  // To a queue: offered to its member.
  const v1::Call new_leg = ConsultingTransfer(adapter, pbx, desks, call, commands);
  ASSERT_FALSE(new_leg.name().empty());
  EXPECT_EQ(Presence(desks.second)->state(), v1::OPERATOR_STATE_ON_CALL);

  auto cancelled = CancelTransfer(call, 1);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->call().state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(cancelled->call().operator_(), desks.first.name());
  EXPECT_TRUE(cancelled->call().next_call().empty());
  ASSERT_EQ(cancelled->call().holds_size(), 1);
  EXPECT_TRUE(cancelled->call().holds(0).has_end_time());
  EXPECT_EQ(cancelled->new_call().state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(cancelled->new_call().failure_reason(), "transfer_cancelled");
  // The adapter hangs the consult up and takes the caller off hold.
  auto hang_up = pbx.Next(commands++);
  ASSERT_TRUE(hang_up.has_value());
  ASSERT_TRUE(hang_up->has_hang_up()) << hang_up->DebugString();
  EXPECT_TRUE(hang_up->hang_up().consult_only());
  EXPECT_EQ(hang_up->call(), new_leg.name());
  auto resumed = pbx.Next(commands++);
  ASSERT_TRUE(resumed.has_value());
  ASSERT_TRUE(resumed->has_hold()) << resumed->DebugString();
  EXPECT_FALSE(resumed->hold().on_hold());
  EXPECT_EQ(resumed->call(), call.name());
  // The target is free again; the first operator is still talking.
  EXPECT_EQ(WaitForPresence(desks.second,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_AVAILABLE; })
                .state(),
            v1::OPERATOR_STATE_AVAILABLE);
  EXPECT_EQ(Presence(desks.first)->state(), v1::OPERATOR_STATE_ON_CALL);
  EXPECT_TRUE(HasCode(CancelTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "NO_TRANSFER_PENDING"));
  const v1::Call failed = WaitForRecord(
      new_leg.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_FAILED; });
  EXPECT_EQ(failed.failure_reason(), "transfer_cancelled");
  EXPECT_EQ(failed.previous_call(), call.name());

  // A second warm transfer may start now; the caller hanging up ends it with the call.
  auto again = Transfer(call, v1::TRANSFER_MODE_WARM, desks.second.name(), "", 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Presence(desks.second)->state(), v1::OPERATOR_STATE_RESERVED);
  v1::HangUpRequest caller_gone;
  caller_gone.set_call(call.name());
  caller_gone.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
  caller_gone.set_applied_by_telephony(true);
  auto ended = Rpc(calls(0), &Stub::HangUp, caller_gone);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->state(), v1::CALL_STATE_WRAP_UP);
  EXPECT_TRUE(ended->next_call().empty());
  auto second_leg = GetCall(again->new_call().name());
  ASSERT_TRUE(second_leg.ok());
  EXPECT_EQ(second_leg->state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(WaitForPresence(desks.second,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_AVAILABLE; })
                .state(),
            v1::OPERATOR_STATE_AVAILABLE);
}

TEST_F(TelephonyTest, AFailedBridgeAfterACompletedWarmTransferPutsTheCallerBackInTheQueue) {
  TwoDesks desks = TwoOperators();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  size_t commands = 0;
  const v1::Call call = ConnectedCall(adapter, pbx, desks, commands);
  const v1::Call new_leg = ConsultingTransfer(adapter, pbx, desks, call, commands);
  ASSERT_FALSE(new_leg.name().empty());
  ASSERT_TRUE(CompleteTransfer(call, 1).ok());
  auto bridge = pbx.Next(commands++);
  ASSERT_TRUE(bridge.has_value() && bridge->has_bridge() && !bridge->bridge().consult())
      << (bridge.has_value() ? bridge->DebugString() : "no command");
  ASSERT_EQ(bridge->call(), new_leg.name());

  // Telephony cannot reach the target's phone: the caller waits in the target queue again (the
  // first operator has let go of them) and the target is not offered calls until they are back.
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), false, "target phone unreachable", 0).ok());
  const v1::OperatorPresence target = WaitForPresence(
      desks.second, [](const auto& p) { return p.state() == v1::OPERATOR_STATE_NOT_READY; });
  EXPECT_EQ(target.reason_code(), "bridge_failed");
  auto waiting = GetCall(new_leg.name());
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->state(), v1::CALL_STATE_QUEUED);
  EXPECT_EQ(waiting->queue(), desks.other.name());
  EXPECT_TRUE(waiting->operator_().empty());
  EXPECT_EQ(waiting->previous_call(), call.name());
  ASSERT_GE(waiting->reservations_size(), 1);
  EXPECT_EQ(waiting->reservations(waiting->reservations_size() - 1).state(),
            v1::RESERVATION_STATE_CANCELLED);
  auto old_leg = GetCall(call.name());
  ASSERT_TRUE(old_leg.ok());
  EXPECT_EQ(old_leg->state(), v1::CALL_STATE_TRANSFERRED);
  EXPECT_EQ(Presence(desks.first)->state(), v1::OPERATOR_STATE_WRAP_UP);

  // The next operator of that queue gets the caller, bridged like any call.
  auto third = *scenario().CreateOperator("Anna");
  ASSERT_TRUE(scenario().AddMember(desks.other, third).ok());
  ASSERT_TRUE(scenario().LogIn(third).ok());
  const v1::Call offered = WaitForCall(
      new_leg.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  ASSERT_EQ(offered.operator_(), third.name());
  ASSERT_TRUE(Accept(offered, 1).ok());
  auto rebridge = pbx.Next(commands++);
  ASSERT_TRUE(rebridge.has_value() && rebridge->has_bridge() && !rebridge->bridge().consult())
      << (rebridge.has_value() ? rebridge->DebugString() : "no command");
  EXPECT_EQ(rebridge->call(), new_leg.name());
  EXPECT_EQ(rebridge->bridge().operator_(), third.name());
  ASSERT_TRUE(Ack(adapter, rebridge->command_id(), true).ok());
  auto connected = Connect(new_leg, 0);
  ASSERT_TRUE(connected.ok()) << connected.status();
  EXPECT_EQ(connected->state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(connected->operator_(), third.name());
}

TEST_F(TelephonyTest, ASupervisorListeningInIsConnectedByTheAdapter) {
  auto supervisor = *scenario().CreateOperator(
      "Supervisor", [](v1::Operator& o) { o.set_role(v1::OPERATOR_ROLE_SUPERVISOR); });
  auto team = *scenario().CreateTeam("Team M", {supervisor.name()});
  auto queue = *scenario().CreateQueue("Monitored");
  auto op =
      *scenario().CreateOperator("Watched", [&](v1::Operator& o) { o.set_team(team.name()); });
  ASSERT_TRUE(scenario().AddMember(queue, op).ok());
  ASSERT_TRUE(scenario().LogIn(op).ok());
  ASSERT_TRUE(scenario().LogIn(supervisor, 1).ok());
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  const v1::Call call = OfferFrom(adapter, queue, 0);
  ASSERT_TRUE(Accept(call).ok());
  auto bridge = pbx.Next(0);
  ASSERT_TRUE(bridge.has_value() && bridge->has_bridge());
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), true).ok());
  ASSERT_TRUE(Connect(call).ok());
  v1::RequestHelpRequest ask;
  ask.set_operator_(op.name());
  ask.set_call(call.name());
  ask.set_reason("abusive caller");
  auto help = Rpc(calls(0), &Stub::RequestHelp, ask);
  ASSERT_TRUE(help.ok()) << help.status();
  v1::AnswerHelpRequestRequest answer;
  answer.set_name(help->name());
  answer.set_supervisor(supervisor.name());
  answer.set_action(v1::HELP_ACTION_WHISPER);
  ASSERT_TRUE(Rpc(calls(1), &Stub::AnswerHelpRequest, answer).ok());
  auto monitor = pbx.Next(1);
  ASSERT_TRUE(monitor.has_value());
  ASSERT_TRUE(monitor->has_monitor()) << monitor->DebugString();
  EXPECT_EQ(monitor->call(), call.name());
  EXPECT_EQ(monitor->monitor().supervisor(), supervisor.name());
  EXPECT_EQ(monitor->monitor().endpoint(), supervisor.endpoint());
  EXPECT_EQ(monitor->monitor().mode(), v1::HELP_ACTION_WHISPER);
}

TEST_F(TelephonyTest, ACallerHangingUpDuringAConsultHangsUpTheConsultToo) {
  TwoDesks desks = TwoOperators();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  size_t commands = 0;
  const v1::Call call = ConnectedCall(adapter, pbx, desks, commands);
  auto started = Transfer(call, v1::TRANSFER_MODE_WARM, desks.second.name(), "", 1);
  ASSERT_TRUE(started.ok()) << started.status();
  const v1::Call new_leg = started->new_call();
  auto held = pbx.Next(commands++);
  ASSERT_TRUE(held.has_value() && held->has_hold());
  ASSERT_TRUE(Accept(new_leg, 0).ok());
  auto consult = pbx.Next(commands++);
  ASSERT_TRUE(consult.has_value() && consult->has_bridge() && consult->bridge().consult());
  ASSERT_TRUE(Ack(adapter, consult->command_id(), true).ok());

  // The caller hangs up (telephony reports it, so no hang-up of the call goes back): the two
  // operators are still bridged in the consult, and that leg must go too.
  v1::HangUpRequest hang_up;
  hang_up.set_call(call.name());
  hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
  hang_up.set_applied_by_telephony(true);
  ASSERT_TRUE(Rpc(calls(0), &Stub::HangUp, hang_up).ok());
  auto consult_hung_up = pbx.Next(commands++);
  ASSERT_TRUE(consult_hung_up.has_value()) << "no command ended the consult";
  ASSERT_TRUE(consult_hung_up->has_hang_up()) << consult_hung_up->DebugString();
  EXPECT_TRUE(consult_hung_up->hang_up().consult_only());
  EXPECT_EQ(consult_hung_up->call(), new_leg.name());
  auto leg = GetCall(new_leg.name());
  ASSERT_TRUE(leg.ok());
  EXPECT_EQ(leg->state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(WaitForPresence(desks.second,
                            [](const auto& p) { return p.state() == v1::OPERATOR_STATE_AVAILABLE; })
                .state(),
            v1::OPERATOR_STATE_AVAILABLE);
}

TEST_F(TelephonyTest, ABridgeWhoseCallEndedMeanwhileIsNotResent) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  auto first = std::make_unique<TelephonyAdapter>(calls(0), adapter);
  const v1::Call gone = OfferFrom(adapter, desk.queue, 1);
  ASSERT_TRUE(Accept(gone, 1).ok());
  auto stale = first->Next(0);
  ASSERT_TRUE(stale.has_value() && stale->has_bridge());
  // The adapter goes away without acknowledging the bridge, and the caller hangs up.
  first->Close();
  v1::HangUpRequest hang_up;
  hang_up.set_call(gone.name());
  hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
  hang_up.set_applied_by_telephony(true);
  ASSERT_TRUE(Rpc(calls(1), &Stub::HangUp, hang_up).ok());

  // Reconnected: the bridge of the ended call is not sent again; the next command is the
  // bridge of the next call.
  TelephonyAdapter second(calls(1), adapter);
  const v1::Call next = OfferFrom(adapter, desk.queue, 0);
  ASSERT_EQ(next.operator_(), desk.op.name());
  ASSERT_TRUE(Accept(next, 0).ok());
  auto command = second.Next(0);
  ASSERT_TRUE(command.has_value());
  EXPECT_NE(command->command_id(), stale->command_id()) << "the stale bridge came again";
  EXPECT_EQ(command->call(), next.name());
}

TEST_F(TelephonyTest, OnlyANewerOpenReplacesAStream) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(0), adapter);
  const v1::Call warm_up = OfferFrom(adapter, desk.queue, 0);
  ASSERT_TRUE(Accept(warm_up, 0).ok());
  ASSERT_TRUE(pbx.Next(0).has_value());  // the stream is open
  // The change of an older open of the adapter, as a replica whose log tail lags behind would
  // see it after this stream opened: it replaces nothing.
  auto redis = common::RedisClient::Create(TestServers::Get().Redis());
  ASSERT_TRUE(redis.ok());
  auto open_change = [&](int generation) {
    return (*redis)->Command({"XADD", absl::StrCat("cc:{", *site_, "}:calls:log"), "*", "c",
                              absl::StrCat(R"({"c":[{"t":"tel_stream","adapter":")", adapter,
                                           R"(","stream":"an-older-stream","generation":)",
                                           generation, R"(,"at":1}],"s":{}})")});
  };
  ASSERT_TRUE(open_change(0).ok());
  EXPECT_FALSE(pbx.Ended(absl::Seconds(1)).has_value()) << "an older open ended the stream";
  ASSERT_TRUE(HangUp(warm_up, 1).ok());
  auto after = pbx.Next(1);  // still served: the hang-up of the call that was not applied
  ASSERT_TRUE(after.has_value() && after->has_hang_up()) << "the stream stopped serving";
  // A newer one does.
  ASSERT_TRUE(open_change(1000000).ok());
  auto ended = pbx.Ended();
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::ABORTED) << ended->error_message();
}

TEST_F(TelephonyTest, BadInputNamesTheFieldAndWrongStateIsAPrecondition) {
  TwoDesks desks = TwoOperators();
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(0), adapter);
  size_t commands = 0;
  const v1::Call call = ConnectedCall(adapter, pbx, desks, commands);

  TelephonyAdapter nameless(calls(1), "");
  auto refused = nameless.Ended();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(refused->error_message(), "telephony_adapter"));

  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_UNSPECIFIED, desks.second.name()).status(),
                      absl::StatusCode::kInvalidArgument, "mode"));
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_WARM, "").status(),
                      absl::StatusCode::kInvalidArgument, "to_"));
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_WARM, desks.first.name()).status(),
                      absl::StatusCode::kInvalidArgument, "to_operator"));
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_WARM, "queues/7").status(),
                      absl::StatusCode::kInvalidArgument, "to_operator"));
  v1::TransferCallRequest priority;
  priority.set_call(call.name());
  priority.set_mode(v1::TRANSFER_MODE_WARM);
  priority.set_to_operator(desks.second.name());
  priority.set_priority(12);
  EXPECT_TRUE(HasCode(Rpc(calls(1), &Stub::TransferCall, priority).status(),
                      absl::StatusCode::kInvalidArgument, "priority"));
  v1::Call nameless_call;
  EXPECT_TRUE(HasCode(CompleteTransfer(nameless_call).status(), absl::StatusCode::kInvalidArgument,
                      "call"));
  EXPECT_TRUE(
      HasCode(CancelTransfer(nameless_call).status(), absl::StatusCode::kInvalidArgument, "call"));
  // Nothing changed: no hold, no new leg, no command.
  auto unchanged = GetCall(call.name());
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->state(), v1::CALL_STATE_CONNECTED);
  EXPECT_TRUE(unchanged->next_call().empty());
  EXPECT_EQ(unchanged->holds_size(), 0);
  EXPECT_EQ(Presence(desks.second)->state(), v1::OPERATOR_STATE_AVAILABLE);

  // Wrong states.
  EXPECT_TRUE(HasCode(CompleteTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "NO_TRANSFER_PENDING"));
  EXPECT_TRUE(HasCode(CancelTransfer(call).status(), absl::StatusCode::kFailedPrecondition,
                      "NO_TRANSFER_PENDING"));
  v1::Call unknown;
  unknown.set_name(absl::StrCat("calls/", common::NewId()));
  EXPECT_TRUE(HasCode(CompleteTransfer(unknown).status(), absl::StatusCode::kNotFound));
  const v1::Call waiting = OfferFrom(adapter, desks.other, 1);
  ASSERT_TRUE(Accept(waiting).ok());
  EXPECT_TRUE(HasCode(Transfer(waiting, v1::TRANSFER_MODE_WARM, "", desks.queue.name()).status(),
                      absl::StatusCode::kFailedPrecondition, "NOT_CONNECTED"));
  ASSERT_TRUE(HangUp(call, 1).ok());
  EXPECT_TRUE(HasCode(Transfer(call, v1::TRANSFER_MODE_WARM, desks.second.name()).status(),
                      absl::StatusCode::kFailedPrecondition, "NOT_CONNECTED"));
  // The adapter was told only to bridge `waiting` and to hang `call` up.
  auto bridge = pbx.Next(commands);
  ASSERT_TRUE(bridge.has_value());
  EXPECT_EQ(bridge->call(), waiting.name());
  auto hang_up = pbx.Next(commands + 1);
  ASSERT_TRUE(hang_up.has_value());
  EXPECT_TRUE(hang_up->has_hang_up());
  EXPECT_EQ(hang_up->call(), call.name());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(pbx.Count(), commands + 2);
}

// Replicas are killed here: a suite (and cluster) of its own.
class TelephonyReplicaDeathTest : public TelephonyTest {
 protected:
  static void SetUpTestSuite() { StartCluster({}); }
};

TEST_F(TelephonyReplicaDeathTest, CommandsOutliveTheReplicaServingTheStream) {
  Desk desk = OneOperatorQueue();
  const std::string adapter = NewAdapter();
  auto first = std::make_unique<TelephonyAdapter>(calls(0), adapter);
  const v1::Call offered = OfferFrom(adapter, desk.queue, 1);
  ASSERT_TRUE(Accept(offered, 1).ok());
  auto bridge = first->Next(0);
  ASSERT_TRUE(bridge.has_value() && bridge->has_bridge());

  // The replica serving the stream dies (SIGKILL: no goodbye, no "close").
  cluster_->Kill(0);
  auto ended = first->Ended();
  ASSERT_TRUE(ended.has_value()) << "the stream outlived its replica";
  EXPECT_NE(ended->error_code(), grpc::StatusCode::OK);
  // Meanwhile the desktop puts the caller on hold through the surviving replica.
  ASSERT_TRUE(Ack(adapter, bridge->command_id(), true, "", 1).ok());
  ASSERT_TRUE(Connect(offered, 1).ok());
  v1::HoldCallRequest hold;
  hold.set_call(offered.name());
  ASSERT_TRUE(Rpc(calls(1), &Stub::HoldCall, hold).ok());

  // The adapter reconnects to the survivor: the hold issued while it had no stream comes (the
  // acknowledged bridge does not).
  TelephonyAdapter second(calls(1), adapter);
  auto next = second.Next(0);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->has_hold()) << next->DebugString();
  EXPECT_NE(next->command_id(), bridge->command_id());
  ASSERT_TRUE(cluster_->Restart(0).ok());
}

// The adapter timeout, short: a suite (and cluster) of its own.
class AdapterTimeoutTest : public TelephonyTest {
 protected:
  static void SetUpTestSuite() { StartCluster({"--telephony_adapter_timeout=2s"}); }
};

TEST_F(AdapterTimeoutTest, AnAdapterWithoutAStreamIsPresumedDeadAndItsWaitingCallsFail) {
  Desk desk = OneOperatorQueue();
  ASSERT_TRUE(SetState(desk, v1::OPERATOR_STATE_NOT_READY, "break").ok());
  const std::string adapter = NewAdapter();
  const std::string quiet = NewAdapter();  // never opens a stream: never presumed dead
  auto pbx = std::make_unique<TelephonyAdapter>(calls(0), adapter);
  ASSERT_FALSE(pbx->Ended(absl::Milliseconds(300)).has_value());
  const v1::Call waiting = OfferFrom(adapter, desk.queue, 1);
  const v1::Call other = OfferFrom(quiet, desk.queue, 0);
  ASSERT_EQ(waiting.state(), v1::CALL_STATE_QUEUED);
  // While the stream is open (longer than the timeout) nothing happens.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(GetCall(waiting.name())->state(), v1::CALL_STATE_QUEUED);
  pbx.reset();
  const v1::Call failed = WaitForCall(
      waiting.name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_FAILED; });
  EXPECT_TRUE(absl::StrContains(failed.failure_reason(), adapter)) << failed.failure_reason();
  EXPECT_EQ(GetCall(other.name())->state(), v1::CALL_STATE_QUEUED);
}

// Opening hours and overflow of queues: a cluster of their own.
class OverflowTest : public TelephonyTest {
 protected:
  // Open all day every day in Moscow (UTC+3, so the local date may differ from UTC's), and,
  // when `closed_now`, closed on the local days around now: a schedule that is closed now by
  // the queue's own time zone.
  static common::v1::WeeklySchedule Schedule(bool closed_now) {
    common::v1::WeeklySchedule schedule;
    schedule.set_time_zone("Europe/Moscow");
    for (int day = common::v1::DAY_OF_WEEK_MONDAY; day <= common::v1::DAY_OF_WEEK_SUNDAY; ++day) {
      common::v1::DailyWindow* window = schedule.add_windows();
      window->set_day(static_cast<common::v1::DayOfWeek>(day));
      window->set_start_minute(0);
      window->set_end_minute(1440);
    }
    if (closed_now) {
      absl::TimeZone moscow;
      EXPECT_TRUE(absl::LoadTimeZone("Europe/Moscow", &moscow));
      const absl::CivilDay today = absl::ToCivilDay(absl::Now(), moscow);
      for (absl::CivilDay day : {today - 1, today, today + 1}) {
        schedule.add_closed_dates(absl::FormatCivilTime(day));
      }
    }
    return schedule;
  }

  absl::StatusOr<v1::Queue> GetQueue(const v1::Queue& queue) {
    v1::GetQueueRequest request;
    request.set_name(queue.name());
    return Rpc(admin(), &AdminStub::GetQueue, request);
  }
  absl::StatusOr<v1::Queue> UpdateQueue(const v1::Queue& queue, const std::string& path) {
    v1::UpdateQueueRequest request;
    *request.mutable_queue() = queue;
    request.mutable_update_mask()->add_paths(path);
    request.set_request_id(common::NewId());
    return Rpc(admin(), &AdminStub::UpdateQueue, request);
  }
  absl::StatusOr<v1::QueueStatus> Status(const v1::Queue& queue, int replica = 0) {
    v1::GetQueueStatusRequest request;
    request.set_queue(queue.name());
    return Rpc(calls(replica), &Stub::GetQueueStatus, request);
  }
  v1::OfferCallResponse OfferAt(const std::string& adapter, const v1::Queue& queue, int priority,
                                int replica) {
    v1::OfferCallRequest request;
    request.set_telephony_adapter(adapter);
    request.set_telephony_call_id(absl::StrCat("linkedid-", common::NewId()));
    request.set_queue(queue.name());
    if (priority >= 0) request.set_priority(priority);
    request.set_request_id(common::NewId());
    auto offered = Rpc(calls(replica), &Stub::OfferCall, request);
    EXPECT_TRUE(offered.ok()) << offered.status();
    return offered.ok() ? *offered : v1::OfferCallResponse();
  }
  // A member of `queue` logged in NOT_READY: calls wait.
  Desk BusyDesk(const v1::Queue& queue) {
    Desk desk;
    desk.queue = queue;
    desk.op = *scenario().CreateOperator("Vera");
    EXPECT_TRUE(scenario().AddMember(queue, desk.op).ok());
    auto presence = scenario().LogIn(desk.op);
    EXPECT_TRUE(presence.ok()) << presence.status();
    if (presence.ok()) desk.session = presence->session_id();
    EXPECT_TRUE(SetState(desk, v1::OPERATOR_STATE_NOT_READY, "break").ok());
    return desk;
  }
};

TEST_F(OverflowTest, AClosedQueueMovesTheCallToItsOverflowQueueKeepingItsPriority) {
  const v1::Queue target = *scenario().CreateQueue("Night line");
  Desk night = BusyDesk(target);
  const v1::Queue day = *scenario().CreateQueue("Day line", [&](v1::Queue& q) {
    *q.mutable_opening_hours() = Schedule(true);
    q.mutable_overflow()->set_target_queue(target.name());
    q.mutable_overflow()->set_announcement("closed_msk");
  });
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);
  // Already waiting in the target: a call of priority 2.
  const v1::OfferCallResponse earlier = OfferAt(adapter, target, 2, 1);
  ASSERT_EQ(earlier.call().state(), v1::CALL_STATE_QUEUED);

  auto status = Status(day, 1);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->open());
  EXPECT_TRUE(Status(target, 0)->open());

  const v1::OfferCallResponse moved = OfferAt(adapter, day, 5, 0);
  EXPECT_EQ(moved.call().state(), v1::CALL_STATE_QUEUED);
  EXPECT_EQ(moved.call().queue(), target.name());
  EXPECT_EQ(moved.call().original_queue(), day.name());
  EXPECT_EQ(moved.call().priority(), 5);  // not the target's default
  EXPECT_EQ(moved.position(), 1);         // ahead of the priority-2 call
  EXPECT_TRUE(moved.has_estimated_wait());
  EXPECT_EQ(Status(target, 1)->waiting_calls(), 2);
  EXPECT_EQ(Status(day, 1)->waiting_calls(), 0);

  // Served in the target queue, with its original queue kept in GetCall and the record.
  ASSERT_TRUE(SetState(night, v1::OPERATOR_STATE_AVAILABLE).ok());
  const v1::Call reserved = WaitForCall(
      moved.call().name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(reserved.operator_(), night.op.name());
  const v1::Call record = WaitForRecord(
      moved.call().name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_RESERVED; });
  EXPECT_EQ(record.queue(), target.name());
  EXPECT_EQ(record.original_queue(), day.name());
  // No telephony command: the call goes on waiting.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(pbx.Count(), 0u);
}

TEST_F(OverflowTest, ACommandIssuedAsTheStreamOpensComesOnce) {
  // The race CI once hit: a command issued while a stream is opening is both in the pending set
  // its open re-sends and in the change log its replica's tail shows after the open.
  const v1::Queue closed = *scenario().CreateQueue(
      "Closed at night", [&](v1::Queue& q) { *q.mutable_opening_hours() = Schedule(true); });
  for (int round = 0; round < 20; ++round) {
    const std::string adapter = NewAdapter();
    TelephonyAdapter pbx(calls(round % 2), adapter);  // opens on its own thread
    const v1::OfferCallResponse refused = OfferAt(adapter, closed, -1, (round + 1) % 2);
    ASSERT_EQ(refused.call().end_reason(), v1::CALL_END_REASON_OVERFLOW);
    auto command = pbx.Next(0);
    ASSERT_TRUE(command.has_value() && command->has_overflow()) << "round " << round;
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_EQ(pbx.Count(), 1u) << "round " << round << ": the command came twice";
  }
}

TEST_F(OverflowTest, AClosedQueueWithoutTargetEndsTheCallAndTellsTheAdapter) {
  const v1::Queue closed = *scenario().CreateQueue("Closed line", [&](v1::Queue& q) {
    *q.mutable_opening_hours() = Schedule(true);
    q.mutable_overflow()->set_announcement("closed_msk");
    q.mutable_overflow()->mutable_forward_number()->set_raw("+7 916 111 22 33");
  });
  // No overflow rule at all: refused while closed.
  const v1::Queue bare = *scenario().CreateQueue(
      "Bare line", [&](v1::Queue& q) { *q.mutable_opening_hours() = Schedule(true); });
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);

  const v1::OfferCallResponse refused = OfferAt(adapter, closed, -1, 0);
  EXPECT_EQ(refused.call().state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(refused.call().end_reason(), v1::CALL_END_REASON_OVERFLOW);
  EXPECT_EQ(refused.call().queue(), closed.name());
  EXPECT_EQ(refused.position(), 0);
  EXPECT_FALSE(refused.has_estimated_wait());
  auto command = pbx.Next(0);
  ASSERT_TRUE(command.has_value());
  ASSERT_TRUE(command->has_overflow()) << command->DebugString();
  EXPECT_EQ(command->call(), refused.call().name());
  EXPECT_EQ(command->overflow().queue(), closed.name());
  EXPECT_EQ(command->overflow().reason(), "closed");
  EXPECT_EQ(command->overflow().announcement(), "closed_msk");
  EXPECT_EQ(command->overflow().forward_number().e164(), "+79161112233");
  ASSERT_TRUE(Ack(adapter, command->command_id(), true).ok());

  const v1::OfferCallResponse bare_refused = OfferAt(adapter, bare, -1, 1);
  EXPECT_EQ(bare_refused.call().end_reason(), v1::CALL_END_REASON_OVERFLOW);
  command = pbx.Next(1);
  ASSERT_TRUE(command.has_value() && command->has_overflow());
  EXPECT_EQ(command->overflow().reason(), "closed");
  EXPECT_TRUE(command->overflow().announcement().empty());
  EXPECT_FALSE(command->overflow().has_forward_number());

  const v1::Call record = WaitForRecord(
      refused.call().name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_FAILED; });
  EXPECT_EQ(record.end_reason(), v1::CALL_END_REASON_OVERFLOW);
  EXPECT_TRUE(record.original_queue().empty());
}

TEST_F(OverflowTest, AFullQueueOverflowsTheNextCall) {
  const v1::Queue small = *scenario().CreateQueue("Small line", [&](v1::Queue& q) {
    q.mutable_overflow()->set_max_waiting_calls(2);
    q.mutable_overflow()->set_announcement("busy");
  });
  BusyDesk(small);
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(0), adapter);
  EXPECT_EQ(OfferAt(adapter, small, -1, 0).call().state(), v1::CALL_STATE_QUEUED);
  EXPECT_EQ(OfferAt(adapter, small, -1, 1).call().state(), v1::CALL_STATE_QUEUED);
  const v1::OfferCallResponse third = OfferAt(adapter, small, 9, 0);
  EXPECT_EQ(third.call().state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(third.call().end_reason(), v1::CALL_END_REASON_OVERFLOW);
  auto command = pbx.Next(0);
  ASSERT_TRUE(command.has_value() && command->has_overflow());
  EXPECT_EQ(command->call(), third.call().name());
  EXPECT_EQ(command->overflow().reason(), "max_waiting_calls");
  EXPECT_EQ(command->overflow().announcement(), "busy");
  EXPECT_EQ(Status(small, 1)->waiting_calls(), 2);
}

TEST_F(OverflowTest, ACallWaitingPastTheMaxWaitMovesKeepingItsPlaceOrEnds) {
  const v1::Queue target = *scenario().CreateQueue("Backup line");
  BusyDesk(target);
  const v1::Queue first = *scenario().CreateQueue("First line", [&](v1::Queue& q) {
    q.mutable_overflow()->mutable_max_wait_time()->set_seconds(2);
    q.mutable_overflow()->set_target_queue(target.name());
  });
  BusyDesk(first);
  const v1::Queue last = *scenario().CreateQueue("Last line", [&](v1::Queue& q) {
    q.mutable_overflow()->mutable_max_wait_time()->set_seconds(2);
    q.mutable_overflow()->set_announcement("voicemail");
  });
  BusyDesk(last);
  const std::string adapter = NewAdapter();
  TelephonyAdapter pbx(calls(1), adapter);

  const v1::OfferCallResponse early = OfferAt(adapter, first, 1, 0);
  const v1::OfferCallResponse ending = OfferAt(adapter, last, -1, 1);
  ASSERT_EQ(early.call().state(), v1::CALL_STATE_QUEUED);
  absl::SleepFor(absl::Milliseconds(200));
  // Offered to the target later, at the same priority.
  const v1::OfferCallResponse later = OfferAt(adapter, target, 1, 1);
  EXPECT_EQ(later.position(), 1);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(GetCall(early.call().name())->queue(), first.name());  // not yet

  const v1::Call moved = WaitForCall(early.call().name(),
                                     [&](const v1::Call& c) { return c.queue() == target.name(); });
  EXPECT_EQ(moved.state(), v1::CALL_STATE_QUEUED);
  EXPECT_EQ(moved.original_queue(), first.name());
  EXPECT_EQ(moved.priority(), 1);
  EXPECT_EQ(common::TimeFromTimestamp(moved.queue_time()),
            common::TimeFromTimestamp(early.call().queue_time()));
  // Its place: ahead of the call offered to the target after it.
  v1::GetQueuePositionRequest position;
  position.set_call(early.call().name());
  auto place = Rpc(calls(0), &Stub::GetQueuePosition, position);
  ASSERT_TRUE(place.ok()) << place.status();
  EXPECT_EQ(place->position(), 1);
  position.set_call(later.call().name());
  EXPECT_EQ(Rpc(calls(0), &Stub::GetQueuePosition, position)->position(), 2);

  // Without a target, the call ends and the adapter is told.
  const v1::Call ended = WaitForCall(
      ending.call().name(), [](const v1::Call& c) { return c.state() == v1::CALL_STATE_FAILED; });
  EXPECT_EQ(ended.end_reason(), v1::CALL_END_REASON_OVERFLOW);
  auto command = pbx.Next(0);
  ASSERT_TRUE(command.has_value() && command->has_overflow());
  EXPECT_EQ(command->call(), ending.call().name());
  EXPECT_EQ(command->overflow().queue(), last.name());
  EXPECT_EQ(command->overflow().reason(), "max_wait_time");
  EXPECT_EQ(command->overflow().announcement(), "voicemail");
  EXPECT_EQ(pbx.Count(), 1u);
}

TEST_F(OverflowTest, CallsWaitingWhenTheQueueClosesStayAndAreServed) {
  const v1::Queue queue = *scenario().CreateQueue(
      "Evening line", [&](v1::Queue& q) { *q.mutable_opening_hours() = Schedule(false); });
  Desk desk = BusyDesk(queue);
  EXPECT_TRUE(Status(queue, 0)->open());
  const v1::OfferCallResponse waiting = OfferAt("", queue, -1, 0);
  ASSERT_EQ(waiting.call().state(), v1::CALL_STATE_QUEUED);

  v1::Queue closing = *GetQueue(queue);
  *closing.mutable_opening_hours() = Schedule(true);
  auto closed = UpdateQueue(closing, "opening_hours");
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_FALSE(Status(queue, 1)->open());
  EXPECT_FALSE(Status(queue, 0)->open());
  const v1::OfferCallResponse refused = OfferAt("", queue, -1, 1);
  EXPECT_EQ(refused.call().state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(refused.call().end_reason(), v1::CALL_END_REASON_OVERFLOW);

  EXPECT_EQ(GetCall(waiting.call().name())->state(), v1::CALL_STATE_QUEUED);
  ASSERT_TRUE(SetState(desk, v1::OPERATOR_STATE_AVAILABLE).ok());
  const v1::Call served = WaitForCall(waiting.call().name(), [](const v1::Call& c) {
    return c.state() == v1::CALL_STATE_RESERVED;
  });
  EXPECT_EQ(served.operator_(), desk.op.name());
  EXPECT_TRUE(served.original_queue().empty());
}

TEST_F(OverflowTest, BadOverflowAndOpeningHoursNameTheFieldAndChangeNothing) {
  const v1::Queue a = *scenario().CreateQueue("Queue A");
  const v1::Queue b = *scenario().CreateQueue(
      "Queue B", [&](v1::Queue& q) { q.mutable_overflow()->set_target_queue(a.name()); });
  const v1::Queue far = *scenario().CreateQueue(
      "Far queue", [&](v1::Queue& q) { q.set_site(absl::StrCat(*site_, "-far")); });
  const v1::Queue before = *GetQueue(a);

  auto expect_error = [&](const v1::Queue& change, const std::string& path, absl::StatusCode code,
                          const std::string& text) {
    auto updated = UpdateQueue(change, path);
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.status().code(), code) << updated.status();
    EXPECT_TRUE(absl::StrContains(updated.status().message(), text)) << updated.status();
  };
  v1::Queue change = before;
  change.mutable_overflow()->set_target_queue(b.name());  // A -> B -> A
  expect_error(change, "overflow", absl::StatusCode::kFailedPrecondition,
               "OVERFLOW_CYCLE: queue.overflow.target_queue");
  change.mutable_overflow()->set_target_queue(far.name());
  expect_error(change, "overflow", absl::StatusCode::kFailedPrecondition,
               "SITE_MISMATCH: queue.overflow.target_queue");
  change.mutable_overflow()->set_target_queue(absl::StrCat("queues/", common::NewId()));
  expect_error(change, "overflow", absl::StatusCode::kNotFound, "queue.overflow.target_queue");
  change = before;
  change.mutable_opening_hours()->set_time_zone("Mars/Olympus");
  expect_error(change, "opening_hours", absl::StatusCode::kInvalidArgument,
               "queue.opening_hours.time_zone");

  // The same checks at creation.
  auto created = scenario().CreateQueue(
      "Queue C", [&](v1::Queue& q) { q.mutable_overflow()->set_target_queue(far.name()); });
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(created.status().message(), "queue.overflow.target_queue"));

  // Nothing changed: the record, and routing (A stays open and takes calls).
  const v1::Queue after = *GetQueue(a);
  EXPECT_EQ(after.etag(), before.etag());
  EXPECT_FALSE(after.has_overflow());
  EXPECT_FALSE(after.has_opening_hours());
  EXPECT_TRUE(Status(a, 1)->open());
  EXPECT_EQ(OfferAt("", a, -1, 1).call().state(), v1::CALL_STATE_QUEUED);

  // A queue another overflows into cannot be deleted.
  v1::DeleteQueueRequest remove;
  remove.set_name(a.name());
  remove.set_request_id(common::NewId());
  auto removed = Rpc(admin(), &AdminStub::DeleteQueue, remove);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(removed.status().message(), "QUEUE_IS_OVERFLOW_TARGET"));
  common::testing::DeleteSiteKeys(far.site());
}

}  // namespace
}  // namespace contactcentre::calls
