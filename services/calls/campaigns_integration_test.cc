// Outbound campaigns as they run: two cc-calls replicas, a cc-customers process, the real
// PostgreSQL and Redis, and a scripted telephony adapter that reads the dial stream, answers
// each dial with the outcome the test scripted for its number and records every dial it was
// asked to make. Operators are driven by the test (hang up, wrap up).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
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
using testing::Rpc;
using testing::Scenario;
using testing::TelephonyAdapter;
using CampaignsStub = v1::CampaignsService::Stub;
using CallsStub = v1::CallsService::Stub;

struct DialRecord {
  v1::DialRequest request;
  absl::Time received;
  absl::Time reported;  // InfinitePast until reported
  v1::DialOutcome outcome = v1::DIAL_OUTCOME_UNSPECIFIED;
};

// The telephony adapter: one stream at a time (reconnecting to the next replica when one
// dies), each dial answered after `ring` with the next outcome scripted for its number
// (NO_ANSWER when none is left).
class ScriptedAdapter {
 public:
  ScriptedAdapter(CallsCluster* cluster, std::string name, absl::Duration ring)
      : cluster_(cluster), name_(std::move(name)), ring_(ring) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedAdapter() {
    stopping_ = true;
    {
      absl::MutexLock lock(&mutex_);
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }

  void Script(const std::string& e164, std::vector<v1::DialOutcome> outcomes) {
    absl::MutexLock lock(&mutex_);
    auto& queue = scripts_[e164];
    queue.insert(queue.end(), outcomes.begin(), outcomes.end());
  }
  std::vector<DialRecord> Dials() {
    absl::MutexLock lock(&mutex_);
    std::vector<DialRecord> all;
    for (const auto& [call, record] : dials_) all.push_back(record);
    std::sort(all.begin(), all.end(),
              [](const DialRecord& a, const DialRecord& b) { return a.received < b.received; });
    return all;
  }
  std::vector<DialRecord> DialsOf(const std::string& e164) {
    std::vector<DialRecord> found;
    for (const DialRecord& record : Dials()) {
      if (record.request.phone_number() == e164) found.push_back(record);
    }
    return found;
  }
  // Waits up to `timeout` until `count` dials of the number were reported.
  bool WaitForDials(const std::string& e164, size_t count, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      size_t reported = 0;
      for (const DialRecord& record : DialsOf(e164)) {
        reported += record.reported != absl::InfinitePast();
      }
      if (reported >= count) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
  int cancellations() {
    absl::MutexLock lock(&mutex_);
    return cancellations_;
  }
  void set_replica(int replica) { preferred_replica_ = replica; }

 private:
  void Run() {
    int replica = 0;
    std::vector<std::thread> reporters;
    while (!stopping_) {
      if (!cluster_->alive(replica)) {
        replica = (replica + 1) % cluster_->replicas();
        continue;
      }
      if (preferred_replica_ >= 0 && cluster_->alive(preferred_replica_)) {
        replica = preferred_replica_;
      }
      v1::StreamDialRequestsRequest request;
      request.set_telephony_adapter(name_);
      request.set_max_concurrent_dials(50);
      auto context = std::make_unique<grpc::ClientContext>();
      {
        absl::MutexLock lock(&mutex_);
        context_ = context.get();
      }
      auto reader = cluster_->campaigns(replica).StreamDialRequests(context.get(), request);
      v1::DialInstruction instruction;
      while (reader->Read(&instruction)) {
        if (instruction.has_cancellation()) {
          absl::MutexLock lock(&mutex_);
          ++cancellations_;
          auto it = dials_.find(instruction.cancellation().call());
          if (it != dials_.end() && it->second.reported == absl::InfinitePast()) {
            cancelled_.insert(instruction.cancellation().call());
          }
          continue;
        }
        const v1::DialRequest dial = instruction.dial();
        {
          absl::MutexLock lock(&mutex_);
          if (dials_.contains(dial.call())) continue;  // re-sent after a reconnect: made once
          dials_[dial.call()] = {dial, absl::Now(), absl::InfinitePast()};
        }
        reporters.emplace_back([this, dial] { Answer(dial); });
      }
      {
        absl::MutexLock lock(&mutex_);
        context_ = nullptr;
      }
      reader->Finish();
      if (!stopping_) absl::SleepFor(absl::Milliseconds(100));
      replica = (replica + 1) % cluster_->replicas();
    }
    for (std::thread& reporter : reporters) reporter.join();
  }

  void Answer(const v1::DialRequest& dial) {
    absl::SleepFor(ring_);
    v1::DialOutcome outcome = v1::DIAL_OUTCOME_NO_ANSWER;
    {
      absl::MutexLock lock(&mutex_);
      if (cancelled_.contains(dial.call())) {
        outcome = v1::DIAL_OUTCOME_SKIPPED;
      } else {
        auto& queue = scripts_[dial.phone_number()];
        if (!queue.empty()) {
          outcome = queue.front();
          queue.erase(queue.begin());
        }
      }
    }
    v1::ReportDialOutcomeRequest report;
    report.set_call(dial.call());
    report.set_telephony_adapter(name_);
    report.set_telephony_call_id(common::NewId());
    report.set_outcome(outcome);
    report.mutable_ring_duration()->set_seconds(1);
    report.set_request_id(common::NewId());
    // Any live replica takes the report; a dead one is skipped.
    for (int attempt = 0; attempt < 40 && !stopping_; ++attempt) {
      const int replica = attempt % cluster_->replicas();
      if (!cluster_->alive(replica)) continue;
      auto reported = Rpc(cluster_->campaigns(replica), &CampaignsStub::ReportDialOutcome, report);
      if (reported.ok() || absl::IsFailedPrecondition(reported.status())) {
        absl::MutexLock lock(&mutex_);
        dials_[dial.call()].reported = absl::Now();
        dials_[dial.call()].outcome = outcome;
        return;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  CallsCluster* cluster_;
  const std::string name_;
  const absl::Duration ring_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> preferred_replica_{-1};
  absl::Mutex mutex_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::map<std::string, std::vector<v1::DialOutcome>> scripts_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, DialRecord> dials_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> cancelled_ ABSL_GUARDED_BY(mutex_);
  int cancellations_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

// A fresh Russian mobile number per call, so that tests never share per-number limits.
std::string NewNumber() {
  static std::atomic<int> counter{0};
  const std::string id = common::NewId();
  int value = counter.fetch_add(1);
  for (char c : id.substr(24, 6)) value = value * 7 + c;
  return absl::StrFormat("+7916%07d", std::abs(value) % 10000000);
}

// A zone (Etc/GMT±N) whose local hour is `hour` now.
std::string ZoneWithLocalHour(int hour) {
  const int utc_hour = absl::ToCivilHour(absl::Now(), absl::UTCTimeZone()).hour();
  int offset = ((hour - utc_hour) % 24 + 24) % 24;  // 0..23
  if (offset > 12) offset -= 24;                    // -11..12
  if (offset == 0) return "Etc/GMT";
  return offset > 0 ? absl::StrCat("Etc/GMT-", offset) : absl::StrCat("Etc/GMT+", -offset);
}

common::v1::WeeklySchedule AllDay() {
  common::v1::WeeklySchedule window;
  for (int day = 1; day <= 7; ++day) {
    auto* open = window.add_windows();
    open->set_day(static_cast<common::v1::DayOfWeek>(day));
    open->set_start_minute(0);
    open->set_end_minute(1440);
  }
  return window;
}

class CampaignsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    calls_db_ = new TestDatabase();
    customers_db_ = new TestDatabase();
    site_ = new std::string(common::testing::UniqueTestSite());
    const std::string log_dir =
        absl::StrCat(common::testing::BinaryDir(), "/Testing/campaigns-", *site_);
    std::filesystem::create_directories(log_dir);
    const TestServers& servers = TestServers::Get();
    auto cluster = CallsCluster::Start(
        {.binary_dir = common::testing::BinaryDir(),
         .calls_dsn = calls_db_->dsn(),
         .customers_dsn = customers_db_->dsn(),
         .redis_address = absl::StrCat(servers.redis_host, ":", servers.redis_port),
         .site = *site_,
         .replicas = 2,
         // Operators are logged in for a whole test without a desktop to heartbeat.
         .calls_flags = {"--heartbeat_timeout=600s", "--dial_expiry=2s"},
         .log_dir = log_dir});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    common::testing::DeleteSiteKeys(*site_);
    delete calls_db_;
    delete customers_db_;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    scenario_ = std::make_unique<Scenario>(cluster_);
  }

  CampaignsStub& campaigns(int replica = 0) { return cluster_->campaigns(replica); }
  CallsStub& calls(int replica = 0) { return cluster_->calls(replica); }

  struct Team {
    v1::Queue queue;
    std::vector<v1::Operator> operators;
  };
  // A queue with `size` members logged in.
  Team NewTeam(int size) {
    Team team;
    auto queue = scenario_->CreateQueue(
        "Reminders", [](v1::Queue& q) { q.mutable_wrap_up_time_limit()->set_seconds(60); });
    EXPECT_TRUE(queue.ok()) << queue.status();
    team.queue = *queue;
    for (int i = 0; i < size; ++i) {
      auto op = scenario_->CreateOperator(absl::StrCat("Dialler ", i));
      EXPECT_TRUE(op.ok()) << op.status();
      EXPECT_TRUE(scenario_->AddMember(team.queue, *op).ok());
      EXPECT_TRUE(scenario_->LogIn(*op, i % 2).ok());
      team.operators.push_back(*op);
    }
    return team;
  }

  v1::Campaign CampaignFor(const Team& team, v1::DialMode mode) {
    v1::Campaign campaign;
    campaign.set_display_name(absl::StrCat("Loan reminders ", common::NewId().substr(24)));
    campaign.set_purpose(v1::CAMPAIGN_PURPOSE_PAYMENT_REMINDER);
    campaign.set_queue(team.queue.name());
    campaign.set_dial_mode(mode);
    campaign.set_script("Remind the customer that the payment of {amount} is due on {due}.");
    auto* paid = campaign.add_dispositions();
    paid->set_code("promised_to_pay");
    paid->set_label("Обещал оплатить");
    paid->set_effect(v1::DISPOSITION_EFFECT_DONE);
    auto* again = campaign.add_dispositions();
    again->set_code("call_again");
    again->set_label("Перезвонить");
    again->set_effect(v1::DISPOSITION_EFFECT_RETRY);
    auto* never = campaign.add_dispositions();
    never->set_code("do_not_call");
    never->set_label("Не звонить");
    never->set_effect(v1::DISPOSITION_EFFECT_DO_NOT_CALL_AGAIN);
    *campaign.mutable_customer_calling_window() = AllDay();
    campaign.mutable_customer_calling_window()->set_time_zone("UTC");
    campaign.mutable_attempt_policy()->mutable_min_attempt_interval()->set_seconds(1);
    campaign.mutable_attempt_policy()->set_max_attempts_per_number_per_day(50);
    for (auto outcome : {v1::DIAL_OUTCOME_NO_ANSWER, v1::DIAL_OUTCOME_BUSY}) {
      auto* rule = campaign.mutable_attempt_policy()->add_retry_rules();
      rule->set_outcome(outcome);
      rule->mutable_delay()->set_seconds(1);
    }
    return campaign;
  }

  absl::StatusOr<v1::Campaign> Create(const v1::Campaign& campaign) {
    v1::CreateCampaignRequest request;
    *request.mutable_campaign() = campaign;
    request.set_request_id(common::NewId());
    return Rpc(campaigns(), &CampaignsStub::CreateCampaign, request);
  }
  absl::StatusOr<v1::CampaignEntry> AddEntry(const v1::Campaign& campaign,
                                             const std::string& number,
                                             const std::string& time_zone = "",
                                             const std::string& customer = "") {
    v1::CreateCampaignEntryRequest request;
    request.set_parent(campaign.name());
    if (!number.empty()) request.mutable_entry()->mutable_phone_number()->set_raw(number);
    request.mutable_entry()->set_customer(customer);
    request.mutable_entry()->set_time_zone(time_zone);
    request.mutable_entry()->set_display_name("Иван Петров");
    auto* amount = request.mutable_entry()->add_display_attributes();
    amount->set_key("amount_due");
    amount->set_label("Сумма платежа");
    amount->set_value("12 500,00 ₽");
    request.set_request_id(common::NewId());
    return Rpc(campaigns(1), &CampaignsStub::CreateCampaignEntry, request);
  }
  absl::StatusOr<v1::Campaign> Start(const v1::Campaign& campaign, int replica = 0) {
    v1::StartCampaignRequest request;
    request.set_name(campaign.name());
    request.set_request_id(common::NewId());
    return Rpc(campaigns(replica), &CampaignsStub::StartCampaign, request);
  }
  absl::StatusOr<v1::Campaign> Pause(const v1::Campaign& campaign) {
    v1::PauseCampaignRequest request;
    request.set_name(campaign.name());
    request.set_request_id(common::NewId());
    return Rpc(campaigns(1), &CampaignsStub::PauseCampaign, request);
  }
  absl::StatusOr<v1::CampaignEntry> GetEntry(const std::string& name) {
    v1::GetCampaignEntryRequest request;
    request.set_name(name);
    return Rpc(campaigns(0), &CampaignsStub::GetCampaignEntry, request);
  }
  // Waits until `done` holds for the entry (up to `timeout`).
  v1::CampaignEntry WaitForEntry(const std::string& name,
                                 const std::function<bool(const v1::CampaignEntry&)>& done,
                                 absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    v1::CampaignEntry entry;
    while (absl::Now() < deadline) {
      auto got = GetEntry(name);
      if (got.ok()) {
        entry = *got;
        if (done(entry)) return entry;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "entry " << name
                  << " never reached the expected state: " << entry.ShortDebugString();
    return entry;
  }
  // The operator side of an answered call: talk, hang up, write the wrap-up.
  absl::Status FinishCall(const std::string& call_name, const std::string& disposition) {
    v1::GetCallRequest get;
    get.set_name(call_name);
    CC_ASSIGN_OR_RETURN(v1::Call call, Rpc(calls(), &CallsStub::GetCall, get));
    v1::HangUpRequest hang_up;
    hang_up.set_call(call_name);
    hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
    CC_RETURN_IF_ERROR(Rpc(calls(1), &CallsStub::HangUp, hang_up).status());
    v1::CompleteWrapUpRequest wrap;
    wrap.set_call(call_name);
    wrap.mutable_wrap_up()->set_disposition(disposition);
    wrap.mutable_wrap_up()->set_topic("payment");
    wrap.mutable_wrap_up()->set_notes("reminded of the payment due");
    return Rpc(calls(0), &CallsStub::CompleteWrapUp, wrap).status();
  }

  // A customer card with the number, callable all day (CI runs at any hour), with the
  // do-not-call consent set when asked.
  absl::StatusOr<customers::v1::Customer> NewCard(const std::string& family_name,
                                                  const std::string& number, bool do_not_call) {
    customers::v1::CreateCustomerRequest create;
    create.mutable_customer()->set_family_name(family_name);
    create.mutable_customer()->add_phones()->mutable_number()->set_raw(number);
    *create.mutable_customer()->mutable_calling_window() = AllDay();
    create.set_request_id(common::NewId());
    CC_ASSIGN_OR_RETURN(
        customers::v1::Customer card,
        Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::CreateCustomer, create));
    if (!do_not_call) return card;
    customers::v1::SetConsentRequest consent;
    consent.set_customer(card.name());
    consent.set_kind(customers::v1::CONSENT_KIND_DO_NOT_CALL);
    consent.set_value(true);
    consent.set_source(customers::v1::CONSENT_SOURCE_OPERATOR);
    consent.set_request_id(common::NewId());
    return Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::SetConsent, consent);
  }

  // The public events of the site's stream that mention `text`, in order.
  std::vector<events::v1::Event> EventsMentioning(const std::string& text) {
    auto redis = common::RedisClient::Create(TestServers::Get().Redis());
    std::vector<events::v1::Event> found;
    if (!redis.ok()) return found;
    auto reply = (*redis)->Command({"XRANGE", common::EventStreamKey(*site_), "-", "+"});
    if (!reply.ok()) return found;
    for (const auto& entry : reply->elements) {
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str != "event") continue;
        events::v1::Event event;
        event.ParseFromString(fields[i + 1].str);
        if (event.DebugString().find(text) != std::string::npos) found.push_back(event);
      }
    }
    return found;
  }

  static CallsCluster* cluster_;
  static TestDatabase* calls_db_;
  static TestDatabase* customers_db_;
  static std::string* site_;
  std::unique_ptr<Scenario> scenario_;
};

CallsCluster* CampaignsTest::cluster_ = nullptr;
TestDatabase* CampaignsTest::calls_db_ = nullptr;
TestDatabase* CampaignsTest::customers_db_ = nullptr;
std::string* CampaignsTest::site_ = nullptr;

TEST_F(CampaignsTest, BadCampaignsAndEntriesAreRefusedAndChangeNothing) {
  Team team = NewTeam(1);
  auto expect_invalid = [&](const std::function<void(v1::Campaign&)>& spoil,
                            const std::string& field) {
    v1::Campaign campaign = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
    spoil(campaign);
    auto created = Create(campaign);
    EXPECT_TRUE(absl::IsInvalidArgument(created.status())) << field << ": " << created.status();
    EXPECT_TRUE(absl::StrContains(absl::string_view(created.status().message()), field))
        << created.status();
  };
  expect_invalid([](v1::Campaign& c) { c.clear_purpose(); }, "campaign.purpose");
  expect_invalid([](v1::Campaign& c) { c.clear_dial_mode(); }, "campaign.dial_mode");
  expect_invalid([](v1::Campaign& c) { c.mutable_pacing()->set_max_drop_rate(0.5); },
                 "campaign.pacing.max_drop_rate");
  expect_invalid([](v1::Campaign& c) { c.mutable_dispositions(0)->set_disabled(true); },
                 "campaign.dispositions");
  expect_invalid(
      [](v1::Campaign& c) {
        auto* rule = c.mutable_attempt_policy()->add_retry_rules();
        rule->set_outcome(v1::DIAL_OUTCOME_BUSY);
      },
      "campaign.attempt_policy.retry_rules[2]");
  expect_invalid([](v1::Campaign& c) { c.set_call_priority(12); }, "campaign.call_priority");

  v1::Campaign missing_queue = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  missing_queue.set_queue(absl::StrCat("queues/", common::NewId()));
  EXPECT_TRUE(absl::IsNotFound(Create(missing_queue).status()));
  auto stranger = scenario_->CreateOperator("Not a member");
  ASSERT_TRUE(stranger.ok());
  v1::Campaign outsider = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  outsider.add_operators(stranger->name());
  auto refused = Create(outsider);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_TRUE(absl::StrContains(absl::string_view(refused.status().message()), "NOT_A_MEMBER"));

  // Idempotent creation; a taken name.
  v1::CreateCampaignRequest request;
  *request.mutable_campaign() = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  request.set_request_id(common::NewId());
  auto first = Rpc(campaigns(0), &CampaignsStub::CreateCampaign, request);
  ASSERT_TRUE(first.ok()) << first.status();
  auto repeat = Rpc(campaigns(1), &CampaignsStub::CreateCampaign, request);
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_EQ(first->name(), repeat->name());
  EXPECT_EQ(first->state(), v1::CAMPAIGN_STATE_DRAFT);
  request.set_request_id(common::NewId());
  EXPECT_TRUE(
      absl::IsAlreadyExists(Rpc(campaigns(0), &CampaignsStub::CreateCampaign, request).status()));

  // An empty list cannot start.
  auto empty_start = Start(*first);
  EXPECT_TRUE(absl::IsFailedPrecondition(empty_start.status()));
  EXPECT_TRUE(absl::StrContains(absl::string_view(empty_start.status().message()), "NO_ENTRIES"));

  // Entries: a bad number, a bad priority, a duplicate.
  auto bad_number = AddEntry(*first, "12");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_number.status()));
  EXPECT_TRUE(
      absl::StrContains(absl::string_view(bad_number.status().message()), "entry.phone_number"));
  const std::string number = NewNumber();
  ASSERT_TRUE(AddEntry(*first, number).ok());
  auto duplicate = AddEntry(*first, number);
  EXPECT_TRUE(absl::IsAlreadyExists(duplicate.status())) << duplicate.status();
  v1::ListCampaignEntriesRequest list;
  list.set_parent(first->name());
  auto entries = Rpc(campaigns(0), &CampaignsStub::ListCampaignEntries, list);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->total_size(), 1);
  EXPECT_EQ(entries->entries(0).display_attributes(0).value(), "12 500,00 ₽");

  // A bulk import reports bad rows by index and skips duplicates.
  v1::ImportCampaignEntriesRequest import;
  import.set_parent(first->name());
  import.mutable_entries()->add_entries()->mutable_phone_number()->set_raw(number);
  import.mutable_entries()->add_entries()->mutable_phone_number()->set_raw("abc");
  import.mutable_entries()->add_entries()->mutable_phone_number()->set_raw(NewNumber());
  import.set_request_id(common::NewId());
  auto imported = Rpc(campaigns(1), &CampaignsStub::ImportCampaignEntries, import);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->created_count(), 1);
  EXPECT_EQ(imported->duplicate_count(), 1);
  ASSERT_EQ(imported->errors_size(), 1);
  EXPECT_EQ(imported->errors(0).index(), 1);

  // An entry is edited with a mask and an etag.
  {
    auto pending = entries->entries(0);
    v1::UpdateCampaignEntryRequest update;
    *update.mutable_entry() = pending;
    update.mutable_entry()->set_priority(7);
    update.mutable_entry()->mutable_display_attributes(0)->set_value("9 000,00 ₽");
    update.mutable_update_mask()->add_paths("priority");
    update.mutable_update_mask()->add_paths("display_attributes");
    update.set_request_id(common::NewId());
    auto updated = Rpc(campaigns(1), &CampaignsStub::UpdateCampaignEntry, update);
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->priority(), 7);
    EXPECT_EQ(updated->display_attributes(0).value(), "9 000,00 ₽");
    update.set_request_id(common::NewId());
    EXPECT_TRUE(absl::IsAborted(
        Rpc(campaigns(0), &CampaignsStub::UpdateCampaignEntry, update).status()));  // stale etag
    update.mutable_entry()->set_etag(updated->etag());
    update.mutable_update_mask()->add_paths("state");
    EXPECT_TRUE(absl::IsInvalidArgument(
        Rpc(campaigns(0), &CampaignsStub::UpdateCampaignEntry, update).status()));
  }

  // Reports for unknown calls or with outcomes the service decides.
  v1::ReportDialOutcomeRequest report;
  report.set_call(absl::StrCat("calls/", common::NewId()));
  report.set_telephony_adapter("pbx-1");
  report.set_outcome(v1::DIAL_OUTCOME_DROPPED);
  EXPECT_TRUE(absl::IsInvalidArgument(
      Rpc(campaigns(0), &CampaignsStub::ReportDialOutcome, report).status()));
  report.set_outcome(v1::DIAL_OUTCOME_BUSY);
  EXPECT_TRUE(
      absl::IsNotFound(Rpc(campaigns(0), &CampaignsStub::ReportDialOutcome, report).status()));

  // A running campaign cannot be deleted; a stopped one can.
  auto running = Start(*first);
  ASSERT_TRUE(running.ok()) << running.status();
  // While running: the script may change, the dial mode may not; a stale etag is refused.
  {
    v1::UpdateCampaignRequest update;
    *update.mutable_campaign() = *running;
    update.mutable_campaign()->set_script("New script: mention the late fee.");
    update.mutable_update_mask()->add_paths("script");
    update.set_request_id(common::NewId());
    auto updated = Rpc(campaigns(1), &CampaignsStub::UpdateCampaign, update);
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->script(), "New script: mention the late fee.");
    EXPECT_NE(updated->etag(), running->etag());
    update.set_request_id(common::NewId());
    EXPECT_TRUE(absl::IsAborted(
        Rpc(campaigns(0), &CampaignsStub::UpdateCampaign, update).status()));  // stale etag
    update.mutable_campaign()->set_etag(updated->etag());
    update.mutable_campaign()->set_dial_mode(v1::DIAL_MODE_PREDICTIVE);
    update.mutable_update_mask()->add_paths("dial_mode");
    update.set_request_id(common::NewId());
    auto refused_mode = Rpc(campaigns(0), &CampaignsStub::UpdateCampaign, update);
    EXPECT_TRUE(
        absl::StrContains(absl::string_view(refused_mode.status().message()), "CAMPAIGN_RUNNING"))
        << refused_mode.status();
    update.clear_update_mask();
    update.mutable_update_mask()->add_paths("state");
    update.set_request_id(common::NewId());
    EXPECT_TRUE(absl::IsInvalidArgument(
        Rpc(campaigns(0), &CampaignsStub::UpdateCampaign, update).status()));
  }
  v1::DeleteCampaignRequest remove;
  remove.set_name(first->name());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      Rpc(campaigns(0), &CampaignsStub::DeleteCampaign, remove).status()));
  v1::StopCampaignRequest stop;
  stop.set_name(first->name());
  auto stopped = Rpc(campaigns(1), &CampaignsStub::StopCampaign, stop);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->state(), v1::CAMPAIGN_STATE_STOPPED);
  EXPECT_TRUE(Rpc(campaigns(0), &CampaignsStub::DeleteCampaign, remove).ok());
  v1::GetCampaignRequest get;
  get.set_name(first->name());
  EXPECT_TRUE(absl::IsNotFound(Rpc(campaigns(1), &CampaignsStub::GetCampaign, get).status()));
}

TEST_F(CampaignsTest, NothingIsDialledAgainstConsentWindowsOrLimits) {
  Team team = NewTeam(2);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-compliance-", *site_),
                          absl::Milliseconds(100));
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  // Windows read in each entry's own zone: 09:00-21:00 every day.
  spec.mutable_customer_calling_window()->clear_time_zone();
  for (auto& window : *spec.mutable_customer_calling_window()->mutable_windows()) {
    window.set_start_minute(9 * 60);
    window.set_end_minute(21 * 60);
  }
  spec.mutable_attempt_policy()->set_max_attempts_per_entry(2);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();

  const std::string noon_zone = ZoneWithLocalHour(12);
  const std::string night_zone = ZoneWithLocalHour(3);
  // Reached after two tries at most.
  const std::string ordinary = NewNumber();
  adapter.Script(ordinary, {v1::DIAL_OUTCOME_NO_ANSWER, v1::DIAL_OUTCOME_NO_ANSWER,
                            v1::DIAL_OUTCOME_ANSWERED_HUMAN});
  auto ordinary_entry = AddEntry(*campaign, ordinary, noon_zone);
  // It is night where this customer lives.
  const std::string sleeping = NewNumber();
  auto sleeping_entry = AddEntry(*campaign, sleeping, night_zone);
  // On the campaign's do-not-call list (listed before the entry is added, so that the dialler's
  // own check is what stops it), and listed after its entry was added.
  const std::string listed = NewNumber();
  const std::string listed_later = NewNumber();
  auto listed_later_entry = AddEntry(*campaign, listed_later, noon_zone);
  v1::AddDoNotCallNumbersRequest dnc;
  dnc.set_campaign(campaign->name());
  dnc.add_phone_numbers()->set_raw(listed);
  dnc.add_phone_numbers()->set_raw(listed_later);
  dnc.set_reason("asked on the phone");
  dnc.set_request_id(common::NewId());
  auto added = Rpc(campaigns(0), &CampaignsStub::AddDoNotCallNumbers, dnc);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->added_count(), 2);
  EXPECT_EQ(added->entries_stopped(), 1);
  auto listed_entry = AddEntry(*campaign, listed, noon_zone);
  // A customer who withdrew consent to calls (their card's window open all day).
  const std::string refusing = NewNumber();
  auto customer = NewCard("Смирнова", refusing, /*do_not_call=*/true);
  ASSERT_TRUE(customer.ok()) << customer.status();
  auto refusing_entry = AddEntry(*campaign, "", noon_zone, customer->name());
  ASSERT_TRUE(refusing_entry.ok()) << refusing_entry.status();
  // Never answers: two attempts, then exhausted.
  const std::string silent = NewNumber();
  auto silent_entry = AddEntry(*campaign, silent, noon_zone);
  for (const auto* entry : {&ordinary_entry, &sleeping_entry, &listed_entry, &silent_entry}) {
    ASSERT_TRUE(entry->ok()) << entry->status();
  }
  ASSERT_TRUE(Start(*campaign).ok());

  // The answered call is connected to an operator who writes the wrap-up.
  ASSERT_TRUE(adapter.WaitForDials(ordinary, 1, absl::Seconds(20)));
  v1::CampaignEntry ordinary_final = WaitForEntry(ordinary_entry->name(), [](const auto& e) {
    return e.state() != v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS &&
           e.state() != v1::CAMPAIGN_ENTRY_STATE_PENDING;
  });
  // Two attempts allowed: no answer, then no answer again -> exhausted (the scripted answer
  // on the third try is never reached).
  ordinary_final = WaitForEntry(ordinary_entry->name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
  });
  EXPECT_EQ(ordinary_final.attempt_count(), 2);
  EXPECT_EQ(ordinary_final.attempts_size(), 2);
  v1::CampaignEntry silent_final = WaitForEntry(silent_entry->name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
  });
  EXPECT_EQ(silent_final.attempts(1).outcome(), v1::DIAL_OUTCOME_NO_ANSWER);
  v1::CampaignEntry refused = WaitForEntry(refusing_entry->name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL;
  });
  ASSERT_GE(refused.refusals_size(), 1);
  EXPECT_EQ(refused.refusals(0).reason(), v1::DIAL_REFUSAL_REASON_CUSTOMER_DO_NOT_CALL);
  v1::CampaignEntry night =
      WaitForEntry(sleeping_entry->name(), [](const auto& e) { return e.refusals_size() > 0; });
  EXPECT_EQ(night.state(), v1::CAMPAIGN_ENTRY_STATE_SCHEDULED);
  EXPECT_EQ(night.refusals(0).reason(), v1::DIAL_REFUSAL_REASON_OUTSIDE_CALLING_WINDOW);
  // Rescheduled to 09:00 local time.
  absl::TimeZone zone;
  ASSERT_TRUE(absl::LoadTimeZone(night_zone, &zone));
  const absl::CivilSecond next_local =
      absl::ToCivilSecond(common::TimeFromTimestamp(night.next_attempt_time()), zone);
  EXPECT_EQ(next_local.hour(), 9);
  EXPECT_EQ(next_local.minute(), 0);
  v1::CampaignEntry listed_final = WaitForEntry(listed_entry->name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL;
  });
  ASSERT_GE(listed_final.refusals_size(), 1);
  EXPECT_EQ(listed_final.refusals(0).reason(), v1::DIAL_REFUSAL_REASON_CAMPAIGN_DO_NOT_CALL);
  auto listed_later_final = GetEntry(listed_later_entry->name());
  ASSERT_TRUE(listed_later_final.ok());
  EXPECT_EQ(listed_later_final->state(), v1::CAMPAIGN_ENTRY_STATE_DO_NOT_CALL);

  absl::SleepFor(absl::Seconds(1));
  // What the telephony adapter was asked to dial: never a refused number, never more than the
  // limit, every dial with a reserved operator (progressive).
  EXPECT_TRUE(adapter.DialsOf(sleeping).empty());
  EXPECT_TRUE(adapter.DialsOf(listed).empty());
  EXPECT_TRUE(adapter.DialsOf(listed_later).empty());
  EXPECT_TRUE(adapter.DialsOf(refusing).empty());
  EXPECT_EQ(adapter.DialsOf(ordinary).size(), 2u);
  EXPECT_EQ(adapter.DialsOf(silent).size(), 2u);
  for (const DialRecord& dial : adapter.Dials()) {
    if (dial.request.campaign() != campaign->name()) continue;
    EXPECT_FALSE(dial.request.operator_().empty()) << dial.request.ShortDebugString();
    EXPECT_EQ(dial.request.entry().rfind(campaign->name(), 0), 0u);
  }
  v1::GetCampaignStatsRequest stats_request;
  stats_request.set_campaign(campaign->name());
  auto stats = Rpc(campaigns(1), &CampaignsStub::GetCampaignStats, stats_request);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->dialled(), 4);
  EXPECT_EQ(stats->entries_total(), 6);
  EXPECT_EQ(stats->entries_remaining(), 1);  // the sleeping customer
  int64_t refusals = 0;
  for (const auto& count : stats->refusals()) refusals += count.count();
  EXPECT_GE(refusals, 3);  // night, campaign list, customer's consent
}

TEST_F(CampaignsTest, PerNumberLimitsHoldAcrossCampaigns) {
  Team team = NewTeam(2);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-limits-", *site_), absl::Milliseconds(50));
  // Two campaigns calling one number: at most 2 dials of it a day, at least 2 s apart, whatever
  // campaign dials it.
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  spec.mutable_attempt_policy()->set_max_attempts_per_number_per_day(2);
  spec.mutable_attempt_policy()->mutable_min_attempt_interval()->set_seconds(2);
  spec.mutable_attempt_policy()->set_max_attempts_per_entry(5);
  auto first = Create(spec);
  spec.set_display_name(absl::StrCat(spec.display_name(), " (second)"));
  auto second = Create(spec);
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string number = NewNumber();
  auto first_entry = AddEntry(*first, number);
  auto second_entry = AddEntry(*second, number);
  ASSERT_TRUE(first_entry.ok() && second_entry.ok());
  ASSERT_TRUE(Start(*first).ok());
  ASSERT_TRUE(Start(*second, 1).ok());
  ASSERT_TRUE(adapter.WaitForDials(number, 2, absl::Seconds(20)));
  // Both entries end up waiting for the customer's next day.
  for (const auto* entry : {&first_entry, &second_entry}) {
    v1::CampaignEntry waiting = WaitForEntry((*entry)->name(), [](const auto& e) {
      for (const auto& refusal : e.refusals()) {
        if (refusal.reason() == v1::DIAL_REFUSAL_REASON_MAX_ATTEMPTS_PER_NUMBER_PER_DAY) {
          return true;
        }
      }
      return false;
    });
    EXPECT_EQ(waiting.state(), v1::CAMPAIGN_ENTRY_STATE_SCHEDULED);
    absl::TimeZone moscow;
    ASSERT_TRUE(absl::LoadTimeZone("Europe/Moscow", &moscow));
    const absl::CivilSecond next =
        absl::ToCivilSecond(common::TimeFromTimestamp(waiting.next_attempt_time()), moscow);
    EXPECT_EQ(absl::CivilDay(next), absl::ToCivilDay(absl::Now(), moscow) + 1);
  }
  absl::SleepFor(absl::Seconds(1));
  std::vector<DialRecord> dials = adapter.DialsOf(number);
  ASSERT_EQ(dials.size(), 2u);
  EXPECT_GE(dials[1].received - dials[0].received, absl::Seconds(2) - absl::Milliseconds(20))
      << "the minimum interval between two dials of one number";
  for (const auto* campaign : {&first, &second}) {
    v1::StopCampaignRequest stop;
    stop.set_name((*campaign)->name());
    ASSERT_TRUE(Rpc(campaigns(0), &CampaignsStub::StopCampaign, stop).ok());
  }
}

TEST_F(CampaignsTest, RetriesFollowTheBackOffOfEachOutcomeAndAnsweredCallsAreWrappedUp) {
  Team team = NewTeam(1);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-retries-", *site_), absl::Milliseconds(50));
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  spec.mutable_attempt_policy()->clear_retry_rules();
  auto* busy = spec.mutable_attempt_policy()->add_retry_rules();
  busy->set_outcome(v1::DIAL_OUTCOME_BUSY);
  busy->mutable_delay()->set_seconds(1);
  busy->set_backoff_multiplier(2);
  auto* no_answer = spec.mutable_attempt_policy()->add_retry_rules();
  no_answer->set_outcome(v1::DIAL_OUTCOME_NO_ANSWER);
  no_answer->mutable_delay()->set_seconds(3);
  spec.mutable_attempt_policy()->set_max_attempts_per_entry(6);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  const std::string number = NewNumber();
  adapter.Script(number, {v1::DIAL_OUTCOME_BUSY, v1::DIAL_OUTCOME_BUSY, v1::DIAL_OUTCOME_NO_ANSWER,
                          v1::DIAL_OUTCOME_ANSWERED_HUMAN});
  const std::string machine = NewNumber();
  adapter.Script(machine, {v1::DIAL_OUTCOME_ANSWERING_MACHINE});
  auto entry = AddEntry(*campaign, number);
  auto machine_entry = AddEntry(*campaign, machine);
  ASSERT_TRUE(entry.ok() && machine_entry.ok());
  ASSERT_TRUE(Start(*campaign).ok());

  ASSERT_TRUE(adapter.WaitForDials(number, 4, absl::Seconds(30)));
  std::vector<DialRecord> dials = adapter.DialsOf(number);
  ASSERT_EQ(dials.size(), 4u);
  // busy -> 1 s, busy again -> 2 s (back-off x2), no answer -> 3 s.
  const absl::Duration expected[] = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3)};
  for (int i = 0; i < 3; ++i) {
    const absl::Duration gap = dials[i + 1].received - dials[i].reported;
    EXPECT_GE(gap, expected[i] - absl::Milliseconds(50)) << "retry " << i + 1;
    EXPECT_LE(gap, expected[i] + absl::Seconds(2)) << "retry " << i + 1;
  }
  // The answered call is connected to the reserved operator; the wrap-up completes the entry.
  const std::string call = dials[3].request.call();
  EXPECT_EQ(dials[3].request.operator_(), team.operators[0].name());
  v1::GetCallRequest get;
  get.set_name(call);
  absl::StatusOr<v1::Call> connected;
  for (int i = 0; i < 50; ++i) {
    connected = Rpc(calls(1), &CallsStub::GetCall, get);
    if (connected.ok() && connected->state() == v1::CALL_STATE_CONNECTED) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(connected.ok());
  EXPECT_EQ(connected->state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(connected->direction(), v1::CALL_DIRECTION_OUTBOUND);
  EXPECT_EQ(connected->campaign(), campaign->name());
  // A queue code is not a campaign code.
  {
    v1::HangUpRequest hang_up;
    hang_up.set_call(call);
    hang_up.set_end_reason(v1::CALL_END_REASON_CUSTOMER_HUNG_UP);
    ASSERT_TRUE(Rpc(calls(0), &CallsStub::HangUp, hang_up).ok());
    v1::CompleteWrapUpRequest wrap;
    wrap.set_call(call);
    wrap.mutable_wrap_up()->set_disposition("resolved");
    auto refused = Rpc(calls(0), &CallsStub::CompleteWrapUp, wrap);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
    wrap.mutable_wrap_up()->set_disposition("promised_to_pay");
    wrap.mutable_wrap_up()->set_topic("payment");
    ASSERT_TRUE(Rpc(calls(1), &CallsStub::CompleteWrapUp, wrap).ok());
  }
  v1::CampaignEntry done = WaitForEntry(
      entry->name(), [](const auto& e) { return e.state() == v1::CAMPAIGN_ENTRY_STATE_COMPLETED; });
  EXPECT_EQ(done.last_disposition(), "promised_to_pay");
  ASSERT_EQ(done.attempts_size(), 4);
  EXPECT_EQ(done.attempts(0).outcome(), v1::DIAL_OUTCOME_BUSY);
  EXPECT_EQ(done.attempts(3).outcome(), v1::DIAL_OUTCOME_ANSWERED_HUMAN);
  EXPECT_EQ(done.attempts(3).disposition(), "promised_to_pay");
  // Analytics sees every attempt start and finish, with the outcome, on the event stream.
  std::vector<events::v1::Event> events;
  for (int i = 0; i < 50; ++i) {
    events = EventsMentioning(entry->name());
    int finished = 0;
    for (const auto& event : events) finished += event.has_campaign_attempt_finished();
    if (finished == 4) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::vector<v1::DialOutcome> finished_outcomes;
  int started = 0;
  for (const auto& event : events) {
    started += event.has_campaign_attempt_started();
    if (event.has_campaign_attempt_finished()) {
      finished_outcomes.push_back(event.campaign_attempt_finished().outcome());
      EXPECT_EQ(event.campaign_attempt_finished().entry_final(), finished_outcomes.size() == 4);
    }
  }
  EXPECT_EQ(started, 4);
  EXPECT_EQ(finished_outcomes, (std::vector<v1::DialOutcome>{
                                   v1::DIAL_OUTCOME_BUSY, v1::DIAL_OUTCOME_BUSY,
                                   v1::DIAL_OUTCOME_NO_ANSWER, v1::DIAL_OUTCOME_ANSWERED_HUMAN}));
  bool state_event = false;
  for (const auto& event : EventsMentioning(campaign->name())) {
    state_event |= event.has_campaign_state_changed() &&
                   event.campaign_state_changed().state() == v1::CAMPAIGN_STATE_RUNNING;
  }
  EXPECT_TRUE(state_event);

  // An answering machine: tried again at the start of the next local day.
  v1::CampaignEntry next_day = WaitForEntry(machine_entry->name(), [](const auto& e) {
    return e.last_outcome() == v1::DIAL_OUTCOME_ANSWERING_MACHINE &&
           e.state() == v1::CAMPAIGN_ENTRY_STATE_SCHEDULED;
  });
  absl::TimeZone moscow;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Moscow", &moscow));
  const absl::CivilSecond when =
      absl::ToCivilSecond(common::TimeFromTimestamp(next_day.next_attempt_time()), moscow);
  EXPECT_EQ(absl::CivilDay(when), absl::ToCivilDay(absl::Now(), moscow) + 1);
  EXPECT_EQ(when.hour(), 0);
  EXPECT_EQ(adapter.DialsOf(machine).size(), 1u);
}

TEST_F(CampaignsTest, APausedCampaignDialsNothingAndACallbackIsDialledAtItsTime) {
  Team team = NewTeam(2);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-pause-", *site_), absl::Milliseconds(50));
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  spec.mutable_attempt_policy()->set_max_attempts_per_entry(50);
  spec.mutable_attempt_policy()->mutable_retry_rules(0)->mutable_delay()->set_seconds(0);
  spec.mutable_attempt_policy()->mutable_retry_rules(0)->mutable_delay()->set_nanos(200000000);
  spec.mutable_attempt_policy()->mutable_min_attempt_interval()->set_seconds(0);
  spec.mutable_attempt_policy()->mutable_min_attempt_interval()->set_nanos(1000000);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  std::vector<std::string> numbers;
  for (int i = 0; i < 4; ++i) {
    numbers.push_back(NewNumber());
    ASSERT_TRUE(AddEntry(*campaign, numbers.back()).ok());
  }
  ASSERT_TRUE(Start(*campaign).ok());
  ASSERT_TRUE(adapter.WaitForDials(numbers[0], 1, absl::Seconds(20)));
  ASSERT_TRUE(Pause(*campaign).ok());
  absl::SleepFor(absl::Milliseconds(500));  // dials reported meanwhile settle
  const size_t dialled_at_pause = adapter.Dials().size();
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(adapter.Dials().size(), dialled_at_pause) << "a paused campaign dialled";
  auto resumed = Start(*campaign, 1);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state(), v1::CAMPAIGN_STATE_RUNNING);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (adapter.Dials().size() == dialled_at_pause && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_GT(adapter.Dials().size(), dialled_at_pause);
  v1::StopCampaignRequest stop;
  stop.set_name(campaign->name());
  ASSERT_TRUE(Rpc(campaigns(0), &CampaignsStub::StopCampaign, stop).ok());

  // A call-back promised by operator 1, due in 2 s, to a customer who does not want calls from
  // the centre but asked for this one (do-not-call does not apply to it).
  absl::SleepFor(absl::Seconds(1));
  const std::string number = NewNumber();
  adapter.Script(number, {v1::DIAL_OUTCOME_ANSWERED_HUMAN});
  auto customer = NewCard("Волков", number, /*do_not_call=*/true);
  ASSERT_TRUE(customer.ok()) << customer.status();
  v1::CreateCallbackRequest create;
  create.mutable_callback()->set_customer(customer->name());
  create.mutable_callback()->mutable_phone_number()->set_raw(number);
  create.mutable_callback()->set_queue(team.queue.name());
  create.mutable_callback()->set_operator_(team.operators[1].name());
  const absl::Time due = absl::Now() + absl::Seconds(2);
  *create.mutable_callback()->mutable_due_time() = common::TimestampFromTime(due);
  create.mutable_callback()->set_note("asked to call back after the meeting");
  create.set_request_id(common::NewId());
  auto callback = Rpc(campaigns(1), &CampaignsStub::CreateCallback, create);
  ASSERT_TRUE(callback.ok()) << callback.status();
  EXPECT_EQ(callback->state(), v1::CALLBACK_STATE_SCHEDULED);
  create.mutable_callback()->mutable_due_time()->set_seconds(1);
  create.set_request_id(common::NewId());
  EXPECT_TRUE(
      absl::IsInvalidArgument(Rpc(campaigns(1), &CampaignsStub::CreateCallback, create).status()));
  // Another call-back, moved and then cancelled: never dialled.
  {
    v1::CreateCallbackRequest later = create;
    later.mutable_callback()->mutable_phone_number()->set_raw(NewNumber());
    *later.mutable_callback()->mutable_due_time() =
        common::TimestampFromTime(absl::Now() + absl::Hours(1));
    later.set_request_id(common::NewId());
    auto scheduled = Rpc(campaigns(0), &CampaignsStub::CreateCallback, later);
    ASSERT_TRUE(scheduled.ok()) << scheduled.status();
    v1::UpdateCallbackRequest move;
    *move.mutable_callback() = *scheduled;
    *move.mutable_callback()->mutable_due_time() =
        common::TimestampFromTime(absl::Now() + absl::Hours(2));
    move.mutable_callback()->set_note("after the lunch break");
    move.mutable_update_mask()->add_paths("due_time");
    move.mutable_update_mask()->add_paths("note");
    move.set_request_id(common::NewId());
    auto moved = Rpc(campaigns(1), &CampaignsStub::UpdateCallback, move);
    ASSERT_TRUE(moved.ok()) << moved.status();
    EXPECT_EQ(moved->note(), "after the lunch break");
    EXPECT_GT(common::TimeFromTimestamp(moved->due_time()), absl::Now() + absl::Minutes(110));
    v1::CancelCallbackRequest cancel;
    cancel.set_name(scheduled->name());
    cancel.set_reason("the customer called in");
    cancel.set_request_id(common::NewId());
    auto cancelled = Rpc(campaigns(0), &CampaignsStub::CancelCallback, cancel);
    ASSERT_TRUE(cancelled.ok()) << cancelled.status();
    EXPECT_EQ(cancelled->state(), v1::CALLBACK_STATE_CANCELLED);
    move.set_request_id(common::NewId());
    move.mutable_callback()->set_etag(cancelled->etag());
    auto final_update = Rpc(campaigns(1), &CampaignsStub::UpdateCallback, move);
    EXPECT_TRUE(
        absl::StrContains(absl::string_view(final_update.status().message()), "CALLBACK_FINAL"))
        << final_update.status();
  }
  ASSERT_TRUE(adapter.WaitForDials(number, 1, absl::Seconds(15)));
  std::vector<DialRecord> dials = adapter.DialsOf(number);
  ASSERT_EQ(dials.size(), 1u);
  EXPECT_GE(dials[0].received, due);
  EXPECT_LE(dials[0].received, due + absl::Seconds(3));
  EXPECT_EQ(dials[0].request.operator_(), team.operators[1].name());
  EXPECT_EQ(dials[0].request.callback(), callback->name());
  // Connected to the promised operator; the wrap-up completes the call-back.
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(FinishCall(dials[0].request.call(), team.queue.disposition_codes(0).code()).ok());
  v1::GetCallbackRequest get;
  get.set_name(callback->name());
  absl::StatusOr<v1::Callback> completed;
  for (int i = 0; i < 100; ++i) {
    completed = Rpc(campaigns(0), &CampaignsStub::GetCallback, get);
    if (completed.ok() && completed->state() == v1::CALLBACK_STATE_COMPLETED) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(completed.ok());
  EXPECT_EQ(completed->state(), v1::CALLBACK_STATE_COMPLETED);
  ASSERT_EQ(completed->calls_size(), 1);
  EXPECT_EQ(completed->calls(0), dials[0].request.call());
}

TEST_F(CampaignsTest, PredictiveAnswersWaitForAFreeOperatorOrAreDropped) {
  Team team = NewTeam(1);
  const std::string adapter_name = absl::StrCat("pbx-predictive-", *site_);
  ScriptedAdapter adapter(cluster_, adapter_name, absl::Milliseconds(300));
  // The same adapter's command side: it must be told to bridge the taken call and to play the
  // drop announcement to and hang up each dropped one.
  TelephonyAdapter pbx(calls(1), adapter_name);
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PREDICTIVE);
  spec.mutable_pacing()->set_initial_dial_ratio(3);
  spec.mutable_pacing()->mutable_drop_timeout()->set_seconds(3);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  std::vector<std::string> numbers;
  for (int i = 0; i < 3; ++i) {
    numbers.push_back(NewNumber());
    adapter.Script(numbers.back(), {v1::DIAL_OUTCOME_ANSWERED_HUMAN});
    ASSERT_TRUE(AddEntry(*campaign, numbers.back()).ok());
  }
  ASSERT_TRUE(Start(*campaign).ok());
  // Three lines for one free operator: all answer, one is reserved for the operator, the
  // others wait and are dropped after the drop timeout.
  for (const std::string& number : numbers) {
    ASSERT_TRUE(adapter.WaitForDials(number, 1, absl::Seconds(20))) << number;
  }
  for (const DialRecord& dial : adapter.Dials()) {
    if (dial.request.campaign() == campaign->name()) {
      EXPECT_TRUE(dial.request.operator_().empty());
    }
  }
  // The operator's desktop accepts the one offered to them and telephony connects it.
  bool accepted = false;
  const absl::Time accept_deadline = absl::Now() + absl::Seconds(2);
  while (!accepted && absl::Now() < accept_deadline) {
    for (const std::string& number : numbers) {
      v1::GetCallRequest get;
      get.set_name(adapter.DialsOf(number)[0].request.call());
      auto call = Rpc(calls(0), &CallsStub::GetCall, get);
      if (!call.ok() || call->state() != v1::CALL_STATE_RESERVED) continue;
      v1::AcceptReservationRequest accept;
      accept.set_reservation(testing::ReservationOf(*call));
      ASSERT_TRUE(Rpc(calls(1), &CallsStub::AcceptReservation, accept).ok());
      v1::ConnectCallRequest connect;
      connect.set_call(call->name());
      ASSERT_TRUE(Rpc(calls(0), &CallsStub::ConnectCall, connect).ok());
      accepted = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(accepted);
  absl::SleepFor(absl::Seconds(4));
  int connected = 0;
  int dropped = 0;
  std::set<std::string> dropped_calls;
  std::string connected_call;
  for (const std::string& number : numbers) {
    v1::GetCallRequest get;
    get.set_name(adapter.DialsOf(number)[0].request.call());
    auto call = Rpc(calls(0), &CallsStub::GetCall, get);
    ASSERT_TRUE(call.ok());
    if (call->state() == v1::CALL_STATE_CONNECTED) {
      ++connected;
      connected_call = call->name();
    }
    if (call->state() == v1::CALL_STATE_FAILED) {
      EXPECT_EQ(call->dial_outcome(), v1::DIAL_OUTCOME_DROPPED);
      EXPECT_EQ(call->end_reason(), v1::CALL_END_REASON_OVERFLOW);
      ++dropped;
      dropped_calls.insert(call->name());
    }
  }
  EXPECT_EQ(connected, 1);
  EXPECT_EQ(dropped, 2);
  // Each dropped call got exactly one hang-up with the announcement; the taken one a bridge to
  // the operator and no hang-up.
  std::map<std::string, int> drop_hang_ups;
  int bridges_of_connected = 0;
  pbx.Next(2);  // waits for the third command (one bridge, two hang-ups)
  for (const v1::TelephonyCommand& command : pbx.Commands()) {
    if (command.has_hang_up()) {
      EXPECT_TRUE(dropped_calls.contains(command.call())) << command.DebugString();
      EXPECT_EQ(command.hang_up().announcement(), "no_operator_drop");
      EXPECT_EQ(command.hang_up().reason(), v1::CALL_END_REASON_OVERFLOW);
      EXPECT_FALSE(command.hang_up().consult_only());
      ++drop_hang_ups[command.call()];
    }
    if (command.has_bridge() && command.call() == connected_call) {
      EXPECT_EQ(command.bridge().operator_(), team.operators[0].name());
      ++bridges_of_connected;
    }
  }
  for (const std::string& call : dropped_calls) {
    EXPECT_EQ(drop_hang_ups[call], 1) << call;
  }
  EXPECT_EQ(bridges_of_connected, 1);
  v1::GetCampaignStatsRequest stats_request;
  stats_request.set_campaign(campaign->name());
  v1::CampaignStats stats;
  for (int i = 0; i < 50; ++i) {
    auto got = Rpc(campaigns(1), &CampaignsStub::GetCampaignStats, stats_request);
    ASSERT_TRUE(got.ok());
    stats = *got;
    if (stats.drops() == 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(stats.drops(), 2);
  EXPECT_NEAR(stats.drop_rate(), 2.0 / 3.0, 1e-9);
  v1::StopCampaignRequest stop;
  stop.set_name(campaign->name());
  ASSERT_TRUE(Rpc(campaigns(0), &CampaignsStub::StopCampaign, stop).ok());
}

TEST_F(CampaignsTest, AManualOutboundCallGoesToTheDialStream) {
  Team team = NewTeam(1);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-manual-", *site_), absl::Milliseconds(50));
  const std::string number = NewNumber();
  adapter.Script(number, {v1::DIAL_OUTCOME_BUSY});
  auto customer = NewCard("Кузнецов", number, /*do_not_call=*/false);
  ASSERT_TRUE(customer.ok()) << customer.status();
  v1::PlaceOutboundCallRequest place;
  place.set_operator_(team.operators[0].name());
  place.set_queue(team.queue.name());
  place.set_customer(customer->name());
  place.set_request_id(common::NewId());
  auto placed = Rpc(calls(1), &CallsStub::PlaceOutboundCall, place);
  ASSERT_TRUE(placed.ok()) << placed.status();
  // A repeat is the same call and the same dial.
  auto repeat = Rpc(calls(0), &CallsStub::PlaceOutboundCall, place);
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_EQ(repeat->name(), placed->name());
  ASSERT_TRUE(adapter.WaitForDials(number, 1, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<DialRecord> dials = adapter.DialsOf(number);
  ASSERT_EQ(dials.size(), 1u);
  EXPECT_EQ(dials[0].request.call(), placed->name());
  EXPECT_EQ(dials[0].request.operator_(), team.operators[0].name());
  // Busy: the call fails with that outcome and the operator is free again.
  v1::GetCallRequest get;
  get.set_name(placed->name());
  auto call = Rpc(calls(0), &CallsStub::GetCall, get);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->state(), v1::CALL_STATE_FAILED);
  EXPECT_EQ(call->dial_outcome(), v1::DIAL_OUTCOME_BUSY);
  v1::GetOperatorPresenceRequest presence;
  presence.set_operator_(team.operators[0].name());
  auto state = Rpc(calls(1), &CallsStub::GetOperatorPresence, presence);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->state(), v1::OPERATOR_STATE_AVAILABLE);
}

TEST_F(CampaignsTest, PreviewHoldsAnEntryForTheOperatorWhoDialsOrSkipsIt) {
  Team team = NewTeam(1);
  const v1::Operator& op = team.operators[0];
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-preview-", *site_), absl::Milliseconds(50));
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PREVIEW);
  spec.mutable_pacing()->mutable_preview_timeout()->set_seconds(2);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  const std::string first = NewNumber();
  const std::string second = NewNumber();
  adapter.Script(second, {v1::DIAL_OUTCOME_ANSWERED_HUMAN});
  auto first_entry = AddEntry(*campaign, first);
  auto second_entry = AddEntry(*campaign, second);
  ASSERT_TRUE(first_entry.ok() && second_entry.ok());

  v1::GetNextPreviewEntryRequest next;
  next.set_operator_(op.name());
  next.set_campaign(campaign->name());
  next.set_request_id(common::NewId());
  auto not_running = Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next);
  EXPECT_TRUE(absl::IsFailedPrecondition(not_running.status()));
  EXPECT_TRUE(
      absl::StrContains(absl::string_view(not_running.status().message()), "CAMPAIGN_NOT_RUNNING"));
  ASSERT_TRUE(Start(*campaign).ok());
  next.set_request_id(common::NewId());
  auto held = Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next);
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->has_entry());
  EXPECT_EQ(held->entry().name(), first_entry->name());
  EXPECT_EQ(held->entry().display_attributes(0).key(), "amount_due");
  // A repeat answers the same; a second ask while holding is refused.
  auto repeat = Rpc(campaigns(1), &CampaignsStub::GetNextPreviewEntry, next);
  ASSERT_TRUE(repeat.ok());
  EXPECT_EQ(repeat->entry().name(), first_entry->name());
  next.set_request_id(common::NewId());
  auto twice = Rpc(campaigns(1), &CampaignsStub::GetNextPreviewEntry, next);
  EXPECT_TRUE(absl::StrContains(absl::string_view(twice.status().message()), "PREVIEW_HELD"))
      << twice.status();
  // Meanwhile no inbound call is offered to the operator.
  v1::GetOperatorPresenceRequest presence;
  presence.set_operator_(op.name());
  auto previewing = Rpc(calls(0), &CallsStub::GetOperatorPresence, presence);
  ASSERT_TRUE(previewing.ok());
  EXPECT_EQ(previewing->state(), v1::OPERATOR_STATE_NOT_READY);
  EXPECT_EQ(previewing->reason_code(), "campaign_preview");

  // Skipped for now: back to the list for later; the operator is AVAILABLE again.
  v1::SkipPreviewEntryRequest skip;
  skip.set_entry(first_entry->name());
  skip.set_operator_(op.name());
  skip.set_reason("customer's file is incomplete");
  skip.set_request_id(common::NewId());
  auto skipped = Rpc(campaigns(1), &CampaignsStub::SkipPreviewEntry, skip);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->state(), v1::CAMPAIGN_ENTRY_STATE_PENDING);
  EXPECT_EQ(skipped->attempt_count(), 0);
  EXPECT_GT(common::TimeFromTimestamp(skipped->next_attempt_time()),
            absl::Now() + absl::Minutes(50));
  auto available = Rpc(calls(0), &CallsStub::GetOperatorPresence, presence);
  ASSERT_TRUE(available.ok());
  EXPECT_EQ(available->state(), v1::OPERATOR_STATE_AVAILABLE);

  // The next is the second entry; it is dialled for the operator and answered.
  next.set_request_id(common::NewId());
  auto second_held = Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next);
  ASSERT_TRUE(second_held.ok()) << second_held.status();
  ASSERT_EQ(second_held->entry().name(), second_entry->name());
  v1::DialPreviewEntryRequest dial;
  dial.set_entry(second_entry->name());
  dial.set_operator_(team.operators[0].name());
  dial.set_request_id(common::NewId());
  auto wrong = dial;
  wrong.set_operator_(absl::StrCat("operators/", common::NewId()));
  EXPECT_TRUE(absl::StrContains(
      absl::string_view(
          Rpc(campaigns(0), &CampaignsStub::DialPreviewEntry, wrong).status().message()),
      "NOT_HELD_BY_OPERATOR"));
  auto call = Rpc(campaigns(1), &CampaignsStub::DialPreviewEntry, dial);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->operator_(), op.name());
  ASSERT_TRUE(adapter.WaitForDials(second, 1, absl::Seconds(10)));
  EXPECT_EQ(adapter.DialsOf(second)[0].request.operator_(), op.name());
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(FinishCall(call->name(), "promised_to_pay").ok());
  WaitForEntry(second_entry->name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_COMPLETED && e.attempt_count() == 1;
  });

  // A hold that times out gives the entry back and frees the operator.
  ASSERT_TRUE(AddEntry(*campaign, NewNumber()).ok());
  next.set_request_id(common::NewId());
  auto third = Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next);
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_TRUE(third->has_entry());
  auto held_third = GetEntry(third->entry().name());
  ASSERT_TRUE(held_third.ok());
  EXPECT_EQ(held_third->assigned_operator(), op.name());
  EXPECT_EQ(held_third->state(), v1::CAMPAIGN_ENTRY_STATE_IN_PROGRESS);
  WaitForEntry(third->entry().name(), [](const auto& e) {
    return e.state() == v1::CAMPAIGN_ENTRY_STATE_PENDING && e.assigned_operator().empty();
  });
  absl::StatusOr<v1::OperatorPresence> freed;
  for (int i = 0; i < 30; ++i) {
    freed = Rpc(calls(1), &CallsStub::GetOperatorPresence, presence);
    if (freed.ok() && freed->state() == v1::OPERATOR_STATE_AVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->state(), v1::OPERATOR_STATE_AVAILABLE);
  EXPECT_TRUE(adapter.DialsOf(first).empty());

  // Not a preview campaign; not a campaign operator.
  auto progressive = Create(CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE));
  ASSERT_TRUE(progressive.ok());
  next.set_campaign(progressive->name());
  next.set_request_id(common::NewId());
  EXPECT_TRUE(absl::StrContains(
      absl::string_view(
          Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next).status().message()),
      "CAMPAIGN_NOT_RUNNING"));
  auto outsider = scenario_->CreateOperator("Outsider");
  ASSERT_TRUE(outsider.ok());
  next.set_campaign(campaign->name());
  next.set_operator_(outsider->name());
  next.set_request_id(common::NewId());
  EXPECT_TRUE(absl::StrContains(
      absl::string_view(
          Rpc(campaigns(0), &CampaignsStub::GetNextPreviewEntry, next).status().message()),
      "NOT_A_CAMPAIGN_OPERATOR"));
}

TEST_F(CampaignsTest, ImportByTagFilterAddsTheMatchingCustomersOnce) {
  Team team = NewTeam(1);
  auto campaign = Create(CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE));
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  const std::string tag = absl::StrCat("overdue-", common::NewId().substr(24));
  auto create = [&](std::vector<std::string> tags, bool with_phone) {
    customers::v1::CreateCustomerRequest request;
    request.mutable_customer()->set_family_name("Орлова");
    request.mutable_customer()->set_given_name("Анна");
    if (with_phone)
      request.mutable_customer()->add_phones()->mutable_number()->set_raw(NewNumber());
    for (const std::string& t : tags) request.mutable_customer()->add_tags(t);
    request.set_request_id(common::NewId());
    auto created =
        Rpc(cluster_->customers(), &customers::v1::CustomersService::Stub::CreateCustomer, request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : customers::v1::Customer();
  };
  const customers::v1::Customer due = create({tag}, true);
  const customers::v1::Customer also_due = create({tag, "loan"}, true);
  create({tag, "disputed"}, true);  // excluded
  const customers::v1::Customer no_phone = create({tag}, false);
  create({"loan"}, true);  // not tagged
  v1::ImportCampaignEntriesRequest import;
  import.set_parent(campaign->name());
  import.mutable_customer_filter()->add_all_tags(tag);
  import.mutable_customer_filter()->add_excluded_tags("disputed");
  auto* due_date = import.mutable_entry_template()->add_display_attributes();
  due_date->set_key("due_date");
  due_date->set_label("Срок оплаты");
  due_date->set_value("15.12.2026");
  import.set_request_id(common::NewId());
  auto imported = Rpc(campaigns(0), &CampaignsStub::ImportCampaignEntries, import);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->matched_customers(), 3);
  EXPECT_EQ(imported->created_count(), 2);
  ASSERT_EQ(imported->errors_size(), 1);
  EXPECT_EQ(imported->errors(0).customer(), no_phone.name());
  EXPECT_EQ(imported->errors(0).message(), "customer: no phone");
  // The same request again answers the same; a new one adds nothing twice.
  auto repeat = Rpc(campaigns(1), &CampaignsStub::ImportCampaignEntries, import);
  ASSERT_TRUE(repeat.ok());
  EXPECT_EQ(repeat->created_count(), 2);
  import.set_request_id(common::NewId());
  auto again = Rpc(campaigns(1), &CampaignsStub::ImportCampaignEntries, import);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created_count(), 0);
  EXPECT_EQ(again->duplicate_count(), 2);
  v1::ListCampaignEntriesRequest list;
  list.set_parent(campaign->name());
  auto entries = Rpc(campaigns(0), &CampaignsStub::ListCampaignEntries, list);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->entries_size(), 2);
  std::set<std::string> customers;
  for (const auto& entry : entries->entries()) {
    customers.insert(entry.customer());
    EXPECT_EQ(entry.display_attributes(0).value(), "15.12.2026");
    EXPECT_FALSE(entry.phone_number().e164().empty());
  }
  EXPECT_EQ(customers, (std::set<std::string>{due.name(), also_due.name()}));
  import.clear_customer_filter();
  import.mutable_customer_filter()->add_excluded_tags("x");
  import.set_request_id(common::NewId());
  EXPECT_TRUE(absl::IsInvalidArgument(
      Rpc(campaigns(1), &CampaignsStub::ImportCampaignEntries, import).status()));
}

TEST_F(CampaignsTest, ADialOfAnAdapterThatWentAwayFailsAndIsRetried) {
  Team team = NewTeam(1);
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  spec.mutable_pacing()->mutable_ring_timeout()->set_seconds(1);
  auto* failed = spec.mutable_attempt_policy()->add_retry_rules();
  failed->set_outcome(v1::DIAL_OUTCOME_FAILED);
  failed->mutable_delay()->set_seconds(600);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  auto entry = AddEntry(*campaign, NewNumber());
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(Start(*campaign).ok());
  // An adapter takes the dial and vanishes without a report.
  {
    grpc::ClientContext context;
    v1::StreamDialRequestsRequest request;
    request.set_telephony_adapter(absl::StrCat("pbx-vanishing-", *site_));
    request.set_max_concurrent_dials(1);
    auto reader = campaigns(1).StreamDialRequests(&context, request);
    v1::DialInstruction instruction;
    ASSERT_TRUE(reader->Read(&instruction));
    EXPECT_EQ(instruction.dial().entry(), entry->name());
    context.TryCancel();
    reader->Finish();
  }
  // The operator was reserved for it: the failure frees them.
  v1::CampaignEntry retried = WaitForEntry(
      entry->name(), [](const auto& e) { return e.last_outcome() == v1::DIAL_OUTCOME_FAILED; },
      absl::Seconds(15));
  EXPECT_EQ(retried.state(), v1::CAMPAIGN_ENTRY_STATE_SCHEDULED);
  EXPECT_GT(common::TimeFromTimestamp(retried.next_attempt_time()), absl::Now() + absl::Minutes(9));
  v1::GetOperatorPresenceRequest presence;
  presence.set_operator_(team.operators[0].name());
  auto state = Rpc(calls(0), &CallsStub::GetOperatorPresence, presence);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->state(), v1::OPERATOR_STATE_AVAILABLE);
  v1::StopCampaignRequest stop;
  stop.set_name(campaign->name());
  ASSERT_TRUE(Rpc(campaigns(0), &CampaignsStub::StopCampaign, stop).ok());
}

// Last: it kills a replica (and starts it again).
TEST_F(CampaignsTest, ZKilledReplicaLosesNoEntryAndNoEntryIsDialledTwiceAtOnce) {
  Team team = NewTeam(4);
  ScriptedAdapter adapter(cluster_, absl::StrCat("pbx-chaos-", *site_), absl::Milliseconds(150));
  adapter.set_replica(0);
  v1::Campaign spec = CampaignFor(team, v1::DIAL_MODE_PROGRESSIVE);
  spec.mutable_attempt_policy()->set_max_attempts_per_entry(3);
  auto campaign = Create(spec);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  std::vector<std::string> numbers;
  v1::ImportCampaignEntriesRequest import;
  import.set_parent(campaign->name());
  for (int i = 0; i < 40; ++i) {
    numbers.push_back(NewNumber());
    adapter.Script(numbers.back(), {i % 3 == 0 ? v1::DIAL_OUTCOME_BUSY : v1::DIAL_OUTCOME_NO_ANSWER,
                                    v1::DIAL_OUTCOME_NO_ANSWER, v1::DIAL_OUTCOME_NO_ANSWER});
    import.mutable_entries()->add_entries()->mutable_phone_number()->set_raw(numbers.back());
  }
  import.set_request_id(common::NewId());
  auto imported = Rpc(campaigns(1), &CampaignsStub::ImportCampaignEntries, import);
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ(imported->created_count(), 40);
  ASSERT_TRUE(Start(*campaign).ok());
  // Mid-campaign, the replica the adapter streams from (and maybe the dialler) dies.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (adapter.Dials().size() < 30 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  cluster_->Kill(0);
  adapter.set_replica(1);
  // Every entry reaches its end: three attempts, no answer.
  v1::ListCampaignEntriesRequest list;
  list.set_parent(campaign->name());
  list.add_states(v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED);
  list.set_omit_history(true);
  const absl::Time end = absl::Now() + absl::Seconds(60);
  int exhausted = 0;
  while (absl::Now() < end) {
    auto page = Rpc(campaigns(1), &CampaignsStub::ListCampaignEntries, list);
    ASSERT_TRUE(page.ok()) << page.status();
    exhausted = page->total_size();
    if (exhausted == 40) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(exhausted, 40) << "entries were lost";
  // The adapter's view: three dials per number, never two of one number at once.
  for (const std::string& number : numbers) {
    std::vector<DialRecord> dials = adapter.DialsOf(number);
    std::set<std::string> distinct;
    for (size_t i = 0; i < dials.size(); ++i) {
      distinct.insert(dials[i].request.call());
      if (i > 0) {
        EXPECT_GE(dials[i].received, dials[i - 1].reported)
            << number << " was dialled while a dial of it was still going on";
      }
    }
    EXPECT_EQ(dials.size(), 3u) << number;
    EXPECT_EQ(distinct.size(), dials.size());
  }
  // Records agree: each entry has three attempts, each with an outcome.
  list.clear_states();
  list.set_omit_history(false);
  list.set_page_size(100);
  auto page = Rpc(campaigns(1), &CampaignsStub::ListCampaignEntries, list);
  ASSERT_TRUE(page.ok());
  for (const v1::CampaignEntry& entry : page->entries()) {
    EXPECT_EQ(entry.attempt_count(), 3) << entry.name();
    EXPECT_EQ(entry.attempts_size(), 3) << entry.name();
    for (const auto& attempt : entry.attempts()) {
      EXPECT_NE(attempt.outcome(), v1::DIAL_OUTCOME_UNSPECIFIED) << entry.name();
    }
  }
  ASSERT_TRUE(cluster_->Restart(0).ok());
}

}  // namespace
}  // namespace contactcentre::calls
