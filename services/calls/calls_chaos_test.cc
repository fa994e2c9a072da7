// A randomized concurrency test of the calls service as it runs: two replicas as processes,
// callers offering and abandoning calls, operators accepting, rejecting, ignoring offers (ring
// timeouts), hanging up, wrapping up or leaving the wrap-up to its limit, two operators whose
// heartbeats stop, and one replica killed with SIGKILL midway (and started again). Clients
// retry on the other replica with the same request_id, as real clients do.
//
// Afterwards a checker replays the site's change log (every change of every script, in the
// order Redis ran them) and reads the records, and proves:
//   - no call was ever reserved for two operators, and no operator held two reservations;
//   - no call was lost: each offered call ended COMPLETED or ABANDONED;
//   - FIFO within one priority: calls were first offered in the order they were queued;
//   - every completed call has its record in PostgreSQL exactly once, and its public
//     CallCompleted event exactly once (by event id).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_stream.h"
#include "common/ids.h"
#include "common/redis.h"
#include "common/testing/test_servers.h"
#include "contactcentre/events/v1/event.pb.h"
#include "services/calls/relay.h"
#include "services/calls/snapshot.h"
#include "services/calls/testing/calls_cluster.h"

namespace contactcentre::calls {
namespace {

using common::testing::TestDatabase;
using common::testing::TestServers;
using testing::CallsCluster;
using testing::Scenario;
using Stub = v1::CallsService::Stub;

constexpr int kOperators = 12;
constexpr int kSilentOperators = 2;
constexpr int kCallers = 3;
constexpr absl::Duration kOfferingTime = absl::Seconds(20);

class Chaos {
 public:
  explicit Chaos(CallsCluster* cluster) : cluster_(cluster) {}

  // One RPC on `replica`, or on the other one while it is down: the same request (and so the
  // same request_id) again, as a client behind a load balancer would.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request, int replica) {
    absl::StatusOr<Response> result;
    for (int attempt = 0; attempt < 20; ++attempt) {
      const int target = (replica + attempt) % 2;
      Stub* stub;
      {
        absl::MutexLock lock(&mutex_);
        stub = down_.contains(target) ? nullptr : &cluster_->calls(target);
      }
      if (stub == nullptr) continue;
      auto context = common::ContextWithTimeout(absl::Seconds(5));
      Response response;
      grpc::Status status = (stub->*method)(context.get(), request, &response);
      if (status.ok()) return response;
      result = common::FromGrpcStatus(status);
      if (!absl::IsUnavailable(result.status()) && !absl::IsDeadlineExceeded(result.status())) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!result.ok()) Tolerate(result.status());
    return result;
  }

  // Lost races and wrong states are part of the game; anything else is a defect.
  void Tolerate(const absl::Status& status) {
    if (absl::IsFailedPrecondition(status) || absl::IsAborted(status) || absl::IsNotFound(status) ||
        absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
      return;
    }
    absl::MutexLock lock(&mutex_);
    unexpected_.push_back(status.ToString());
  }

  void MarkDown(int replica, bool down) {
    absl::MutexLock lock(&mutex_);
    if (down) {
      down_.insert(replica);
    } else {
      down_.erase(replica);
    }
  }

  void Offered(const v1::Call& call) {
    absl::MutexLock lock(&mutex_);
    offered_.insert(call.name());
  }

  std::set<std::string> offered() {
    absl::MutexLock lock(&mutex_);
    return offered_;
  }
  std::vector<std::string> unexpected() {
    absl::MutexLock lock(&mutex_);
    return unexpected_;
  }

 private:
  CallsCluster* cluster_;
  absl::Mutex mutex_;
  std::set<int> down_ ABSL_GUARDED_BY(mutex_);
  std::set<std::string> offered_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> unexpected_ ABSL_GUARDED_BY(mutex_);
};

class CallsChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestServers& servers = TestServers::Get();
    auto cluster = CallsCluster::Start(
        {.binary_dir = common::testing::BinaryDir(),
         .calls_dsn = db_.dsn(),
         .redis_address = absl::StrCat(servers.redis_host, ":", servers.redis_port),
         .site = site_,
         .replicas = 2,
         // Callers are unknown: the customers service is not there (lookups fail fast).
         .calls_flags = {"--heartbeat_interval=1s", "--heartbeat_timeout=3s",
                         "--sweep_interval=50ms", "--customer_lookup_deadline=50ms"},
         .customers_address = "127.0.0.1:1"});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }
  void TearDown() override {
    cluster_.reset();
    common::testing::DeleteSiteKeys(site_);
  }

  TestDatabase db_;
  const std::string site_ = common::testing::UniqueTestSite();
  std::unique_ptr<CallsCluster> cluster_;
};

TEST_F(CallsChaosTest, NoDoubleReservationNoLostCallFifoAndRecordsExactlyOnce) {
  Scenario scenario(cluster_.get());
  std::vector<v1::Queue> queues;
  for (const char* name : {"Chaos A", "Chaos B"}) {
    auto queue = scenario.CreateQueue(name, [](v1::Queue& q) {
      q.mutable_ring_timeout()->set_seconds(5);
      q.mutable_wrap_up_time_limit()->set_seconds(5);
      q.set_max_misses_before_not_ready(2);
    });
    ASSERT_TRUE(queue.ok()) << queue.status();
    queues.push_back(*queue);
  }
  std::vector<v1::Operator> operators;
  for (int i = 0; i < kOperators; ++i) {
    auto op = scenario.CreateOperator(absl::StrCat("Chaos operator ", i));
    ASSERT_TRUE(op.ok()) << op.status();
    // Everyone serves queue A; odd ones serve B too (tier 2 for half of them).
    ASSERT_TRUE(scenario.AddMember(queues[0], *op, 1).ok());
    if (i % 2 == 1) {
      ASSERT_TRUE(scenario.AddMember(queues[1], *op, 1 + (i / 2) % 2).ok());
    }
    operators.push_back(*op);
  }

  const absl::Time start = absl::Now();
  const auto progress = [&](absl::string_view phase) {
    std::cout << "chaos: " << phase << " after " << absl::FormatDuration(absl::Now() - start)
              << std::endl;
  };
  Chaos chaos(cluster_.get());
  std::atomic<bool> offering{true};
  std::atomic<bool> working{true};

  // Operators.
  std::vector<std::thread> threads;
  for (int i = 0; i < kOperators; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937 random(1000 + i);
      const v1::Operator& op = operators[i];
      const int home = i % 2;
      const bool silent = i < kSilentOperators;
      const absl::Time falls_silent = absl::Now() + absl::Seconds(4 + 3 * i);
      std::string session;
      absl::Time next_beat = absl::InfinitePast();
      std::string last_reservation;
      while (working.load()) {
        if (silent && absl::Now() > falls_silent) return;  // the desktop froze
        if (session.empty()) {
          v1::SetPresenceRequest login;
          login.set_operator_(op.name());
          login.set_state(v1::OPERATOR_STATE_AVAILABLE);
          login.set_take_over(true);
          login.set_request_id(common::NewId());
          auto presence = chaos.Call(&Stub::SetPresence, login, home);
          if (presence.ok()) session = presence->session_id();
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        if (absl::Now() >= next_beat) {
          v1::HeartbeatRequest beat;
          beat.set_operator_(op.name());
          beat.set_session_id(session);
          chaos.Call(&Stub::Heartbeat, beat, home).IgnoreError();
          next_beat = absl::Now() + absl::Milliseconds(700);
        }
        v1::GetOperatorPresenceRequest get;
        get.set_operator_(op.name());
        auto presence = chaos.Call(&Stub::GetOperatorPresence, get, home);
        if (!presence.ok()) continue;
        if (presence->state() == v1::OPERATOR_STATE_OFFLINE) {
          session.clear();
          continue;
        }
        if (presence->state() == v1::OPERATOR_STATE_NOT_READY) {
          v1::SetPresenceRequest back;
          back.set_operator_(op.name());
          back.set_state(v1::OPERATOR_STATE_AVAILABLE);
          back.set_session_id(session);
          back.set_request_id(common::NewId());
          chaos.Call(&Stub::SetPresence, back, home).IgnoreError();
          continue;
        }
        if (presence->state() != v1::OPERATOR_STATE_RESERVED || presence->reservation().empty() ||
            presence->reservation() == last_reservation) {
          absl::SleepFor(absl::Milliseconds(15));
          continue;
        }
        last_reservation = presence->reservation();
        // The presence shows "calls/{id}/reservations/{n}" as the reservation.
        const std::string reservation = presence->reservation();
        const std::string call = reservation.substr(0, reservation.find("/reservations/"));
        const int choice = static_cast<int>(random() % 100);
        if (choice < 10) {
          v1::RejectReservationRequest reject;
          reject.set_reservation(reservation);
          reject.set_reason("busy");
          reject.set_request_id(common::NewId());
          chaos.Call(&Stub::RejectReservation, reject, home).IgnoreError();
          continue;
        }
        if (choice < 20) continue;  // let it ring out
        v1::AcceptReservationRequest accept;
        accept.set_reservation(reservation);
        accept.set_request_id(common::NewId());
        if (!chaos.Call(&Stub::AcceptReservation, accept, home).ok()) continue;
        v1::ConnectCallRequest connect;
        connect.set_call(call);
        connect.set_request_id(common::NewId());
        chaos.Call(&Stub::ConnectCall, connect, 1 - home).IgnoreError();
        absl::SleepFor(absl::Milliseconds(20 + random() % 200));
        if (random() % 4 == 0) {
          v1::HoldCallRequest hold;
          hold.set_call(call);
          hold.set_request_id(common::NewId());
          chaos.Call(&Stub::HoldCall, hold, home).IgnoreError();
          v1::ResumeCallRequest resume;
          resume.set_call(call);
          resume.set_request_id(common::NewId());
          chaos.Call(&Stub::ResumeCall, resume, home).IgnoreError();
        }
        v1::HangUpRequest hang_up;
        hang_up.set_call(call);
        hang_up.set_end_reason(v1::CALL_END_REASON_OPERATOR_HUNG_UP);
        hang_up.set_request_id(common::NewId());
        chaos.Call(&Stub::HangUp, hang_up, 1 - home).IgnoreError();
        if (random() % 10 == 0) continue;  // the wrap-up is left to its limit
        v1::CompleteWrapUpRequest wrap_up;
        wrap_up.set_call(call);
        wrap_up.mutable_wrap_up()->set_disposition("resolved");
        wrap_up.mutable_wrap_up()->set_topic("chaos");
        wrap_up.set_request_id(common::NewId());
        chaos.Call(&Stub::CompleteWrapUp, wrap_up, home).IgnoreError();
      }
    });
  }

  // Callers.
  for (int c = 0; c < kCallers; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 random(c);
      std::vector<std::pair<absl::Time, std::string>> to_abandon;
      int n = 0;
      while (offering.load()) {
        v1::OfferCallRequest offer;
        offer.set_telephony_adapter("chaos");
        offer.set_telephony_call_id(absl::StrCat(c, "-", n++));
        offer.set_queue(queues[random() % 2].name());
        offer.set_priority(random() % 4 == 0 ? 5 : 0);
        offer.set_request_id(common::NewId());
        auto offered = chaos.Call(&Stub::OfferCall, offer, static_cast<int>(random() % 2));
        if (offered.ok()) {
          chaos.Offered(offered->call());
          if (random() % 10 == 0) {
            to_abandon.emplace_back(absl::Now() + absl::Milliseconds(100 + random() % 3000),
                                    offered->call().name());
          }
        }
        for (auto it = to_abandon.begin(); it != to_abandon.end();) {
          if (it->first > absl::Now()) {
            ++it;
            continue;
          }
          v1::HangUpRequest hang_up;
          hang_up.set_call(it->second);
          hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
          hang_up.set_request_id(common::NewId());
          chaos.Call(&Stub::HangUp, hang_up, static_cast<int>(random() % 2)).IgnoreError();
          it = to_abandon.erase(it);
        }
        absl::SleepFor(absl::Milliseconds(250 + random() % 100));
      }
    });
  }

  // Replica 1 dies midway, without a goodbye, and comes back a few seconds later.
  absl::SleepFor(kOfferingTime * 0.4);
  chaos.MarkDown(1, true);
  cluster_->Kill(1);
  absl::SleepFor(absl::Seconds(3));
  ASSERT_TRUE(cluster_->Restart(1).ok());
  chaos.MarkDown(1, false);
  absl::SleepFor(kOfferingTime * 0.6 - absl::Seconds(3));
  offering = false;
  progress("offering stopped");

  // Drain: operators work until every offered call has ended.
  const std::set<std::string> offered = chaos.offered();
  std::map<std::string, v1::Call> final_calls;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (absl::Now() < deadline) {
    final_calls.clear();
    for (const std::string& name : offered) {
      v1::GetCallRequest get;
      get.set_name(name);
      auto call = chaos.Call(&Stub::GetCall, get, 0);
      if (call.ok()) final_calls[name] = *call;
    }
    int open = 0;
    std::map<std::string, int> open_states;
    for (const auto& [name, call] : final_calls) {
      const bool ended = call.state() == v1::CALL_STATE_ABANDONED ||
                         (call.state() == v1::CALL_STATE_COMPLETED &&
                          (call.has_wrap_up_time() || call.missing_wrap_up()));
      if (!ended) {
        ++open;
        ++open_states[absl::StrCat(v1::CallState_Name(call.state()), call.operator_())];
      }
    }
    if (open > 0) {
      std::cout << "open:";
      for (const auto& [state, count] : open_states) std::cout << " " << state << "=" << count;
      std::cout << std::endl;
    }
    if (open == 0 && final_calls.size() == offered.size()) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  working = false;
  for (auto& thread : threads) thread.join();
  progress("drained");

  EXPECT_GT(offered.size(), 150u);
  EXPECT_EQ(chaos.unexpected(), std::vector<std::string>());

  // No call lost: each offered call ended completed or abandoned.
  int completed = 0, abandoned = 0;
  for (const std::string& name : offered) {
    auto it = final_calls.find(name);
    ASSERT_NE(it, final_calls.end()) << name << " is gone";
    const v1::Call& call = it->second;
    if (call.state() == v1::CALL_STATE_COMPLETED) {
      ++completed;
    } else if (call.state() == v1::CALL_STATE_ABANDONED) {
      ++abandoned;
    } else {
      ADD_FAILURE() << name << " never ended: " << v1::CallState_Name(call.state());
    }
  }
  EXPECT_GT(completed, 100);
  EXPECT_GT(abandoned, 0);

  // Replay the change log.
  auto redis = common::RedisClient::Create(TestServers::Get().Redis());
  ASSERT_TRUE(redis.ok());
  auto log = (*redis)->Command({"XRANGE", absl::StrCat("cc:{", site_, "}:calls:log"), "-", "+"});
  ASSERT_TRUE(log.ok()) << log.status();
  const std::vector<Change> changes = ParseChanges(*log);
  ASSERT_GT(changes.size(), offered.size());
  std::map<std::string, std::string> call_state;      // call -> state after its last change
  std::map<std::string, std::string> operator_state;  // operator -> state
  std::map<std::string, std::string> holder;          // operator -> call reserved or handled
  struct Queued {
    int64_t score;
    int priority;
    std::string queue;
  };
  std::map<std::string, Queued> first_queued;  // call -> how it first joined its queue
  std::vector<std::string> first_offer_order;  // calls, in the order of their first offer
  int double_reservations = 0, operator_conflicts = 0;
  for (const Change& change : changes) {
    const std::string kind = Field(change.fields, "t");
    const std::string call = Field(change.fields, "call");
    const std::string op = Field(change.fields, "op");
    if (kind == "operator_state") {
      const std::string state = Field(change.fields, "state");
      // An operator is offered a call only when AVAILABLE.
      if (state == "RESERVED" && operator_state[op] != "AVAILABLE" && !operator_state[op].empty()) {
        ++operator_conflicts;
        ADD_FAILURE() << "operator " << op << " reserved while " << operator_state[op];
      }
      operator_state[op] = state;
      continue;
    }
    if (call.empty()) continue;
    const google::protobuf::Struct& snap = SnapshotOf(change);
    if (kind == "call_reserved") {
      const std::string before = call_state[call];
      if (before != "QUEUED" && !before.empty()) {
        ++double_reservations;
        ADD_FAILURE() << "call " << call << " reserved for " << op << " while " << before;
      }
      auto held = holder.find(op);
      if (held != holder.end() && !held->second.empty() && held->second != call) {
        ++operator_conflicts;
        ADD_FAILURE() << "operator " << op << " reserved " << call << " while holding "
                      << held->second;
      }
      holder[op] = call;
      if (IntField(change.fields, "attempt") == 1) first_offer_order.push_back(call);
    }
    if (kind == "call_queued" && !first_queued.contains(call)) {
      first_queued[call] = {IntField(snap, "score"), static_cast<int>(IntField(snap, "prio")),
                            Field(snap, "queue")};
    }
    if (kind == "reservation_rejected" || kind == "reservation_timed_out" ||
        kind == "reservation_cancelled" || kind == "wrap_up_written" ||
        kind == "wrap_up_timed_out" || kind == "call_abandoned") {
      for (auto& [holder_op, held_call] : holder) {
        if (held_call == call) held_call.clear();
      }
    }
    // Each change of a call carries the call's state right after it.
    if (!Field(change.fields, "state").empty()) call_state[call] = Field(change.fields, "state");
  }
  EXPECT_EQ(double_reservations, 0);
  EXPECT_EQ(operator_conflicts, 0);

  // FIFO within one priority: of two calls of one queue and priority, the one queued earlier
  // (by a whole millisecond) was offered first.
  std::map<std::string, size_t> offer_rank;
  for (size_t i = 0; i < first_offer_order.size(); ++i) offer_rank[first_offer_order[i]] = i;
  int fifo_violations = 0;
  for (const auto& [a, qa] : first_queued) {
    for (const auto& [b, qb] : first_queued) {
      if (qa.queue != qb.queue || qa.priority != qb.priority || qa.score >= qb.score) continue;
      if (!offer_rank.contains(a) || !offer_rank.contains(b)) continue;
      if (offer_rank[a] > offer_rank[b]) {
        ++fifo_violations;
        if (fifo_violations < 5)
          ADD_FAILURE() << a << " queued before " << b << " but offered after";
      }
    }
  }
  EXPECT_EQ(fifo_violations, 0);

  // Records: every call exactly once in PostgreSQL (the primary key), completed ones completed.
  // The relay of the killed replica left its batch pending; the other replica's relay claims it.
  pqxx::connection connection(db_.dsn());
  int64_t records = 0, completed_records = 0;
  const absl::Time records_deadline = absl::Now() + absl::Seconds(40);
  do {
    pqxx::work txn(connection);
    records = txn.exec1("SELECT count(*) FROM call_records")[0].as<int64_t>();
    completed_records = txn.exec1("SELECT count(*) FROM call_records WHERE state = " +
                                  std::to_string(static_cast<int>(v1::CALL_STATE_COMPLETED)) +
                                  " AND (record IS NOT NULL)")[0]
                            .as<int64_t>();
    if (records == static_cast<int64_t>(offered.size()) && completed_records == completed) break;
    absl::SleepFor(absl::Milliseconds(500));
  } while (absl::Now() < records_deadline);
  progress("records checked");
  EXPECT_EQ(records, static_cast<int64_t>(offered.size()));
  EXPECT_EQ(completed_records, completed);

  // Public events: one CallCompleted per completed call (a replayed batch repeats event ids,
  // which consumers drop, so ids are what counts).
  auto events = (*redis)->Command({"XRANGE", common::EventStreamKey(site_), "-", "+"});
  ASSERT_TRUE(events.ok());
  std::map<std::string, std::set<std::string>> completed_event_ids;
  for (const auto& entry : events->elements) {
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str != "event") continue;
      events::v1::Event event;
      ASSERT_TRUE(event.ParseFromString(fields[i + 1].str));
      if (event.has_call_completed()) {
        completed_event_ids[event.call_completed().call().call()].insert(event.id());
      }
    }
  }
  int missing_events = 0, repeated_events = 0;
  for (const auto& [name, call] : final_calls) {
    if (call.state() != v1::CALL_STATE_COMPLETED) continue;
    const size_t ids = completed_event_ids[name].size();
    if (ids == 0) ++missing_events;
    if (ids > 1) ++repeated_events;
  }
  EXPECT_EQ(missing_events, 0);
  EXPECT_EQ(repeated_events, 0);
  std::cout << "chaos: " << offered.size() << " calls offered, " << completed << " completed, "
            << abandoned << " abandoned, " << changes.size() << " changes replayed\n";
}

}  // namespace
}  // namespace contactcentre::calls
