#include "tools/sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_client.h"
#include "common/log.h"
#include "contactcentre/calls/v1/calls_service.grpc.pb.h"
#include "contactcentre/calls/v1/campaigns_service.grpc.pb.h"
#include "contactcentre/knowledge/v1/articles.grpc.pb.h"
#include "contactcentre/knowledge/v1/precedents.grpc.pb.h"
#include "contactcentre/surveys/v1/campaign_service.grpc.pb.h"
#include "contactcentre/surveys/v1/quality_service.grpc.pb.h"
#include "contactcentre/surveys/v1/survey_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "tools/sim/scheduler.h"

namespace contactcentre::sim {
namespace {

namespace calls = ::contactcentre::calls::v1;
namespace surveys = ::contactcentre::surveys::v1;
namespace knowledge = ::contactcentre::knowledge::v1;
using CallsStub = calls::CallsService::Stub;

// Rate multiplier by simulated hour of the day: a quiet night, a morning peak at 10-12 and a
// smaller afternoon one at 15-17.
double DayProfile(absl::Duration time_of_day) {
  static constexpr double kByHour[24] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4,
                                         0.7, 1.0, 1.3, 1.3, 1.1, 1.0, 1.1, 1.2,
                                         1.2, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1};
  const int64_t hour = absl::ToInt64Hours(time_of_day) % 24;
  return kByHour[hour];
}

// A call as the simulator sees it; `mutex` orders the caller giving up against the operator
// accepting, so the simulator's own count of answered and abandoned calls never races.
struct SimCall {
  enum class Phase { kWaiting, kAnswered, kAbandoned, kDone };
  std::string telephony_id;
  std::string name;  // "calls/<id>" once offered
  std::string queue;
  std::string customer;
  absl::Duration threshold;
  absl::Time offered_at;
  absl::Duration talk;  // drawn at arrival (real)
  bool outbound = false;

  absl::Mutex mutex;
  Phase phase ABSL_GUARDED_BY(mutex) = Phase::kWaiting;
  absl::Time answered_at ABSL_GUARDED_BY(mutex);
  std::string operator_name ABSL_GUARDED_BY(mutex);
  std::string precedent ABSL_GUARDED_BY(mutex);
};

struct Desktop {
  DemoOperator op;
  int index = 0;
  std::mt19937_64 random;
  std::string session;
  absl::Mutex mutex;
  std::unique_ptr<grpc::ClientContext> stream_context ABSL_GUARDED_BY(mutex);
  std::thread thread;
  absl::flat_hash_set<std::string> wrapped;   // calls whose wrap-up this desktop wrote
  absl::flat_hash_set<std::string> answered;  // help requests answered (supervisors)
  absl::flat_hash_set<std::string> offers;    // reservations already handled
};

class Simulation {
 public:
  Simulation(const SimOptions& options, const SuiteChannels& channels, const DemoCentre& centre,
             const std::atomic<bool>& stop)
      : options_(options),
        centre_(centre),
        stop_(stop),
        calls_(calls::CallsService::NewStub(channels.calls)),
        campaigns_(calls::CampaignsService::NewStub(channels.calls)),
        articles_(knowledge::ArticlesService::NewStub(channels.knowledge)),
        precedents_(knowledge::PrecedentsService::NewStub(channels.knowledge)),
        survey_campaigns_(surveys::CampaignService::NewStub(channels.surveys)),
        surveys_(surveys::SurveyService::NewStub(channels.surveys)),
        quality_(surveys::QualityService::NewStub(channels.surveys)),
        arrivals_random_(options.seed) {}

  absl::StatusOr<SimReport> Run();

 private:
  absl::Duration Real(absl::Duration simulated) const { return simulated / options_.time_scale; }
  absl::Duration SimulatedNow() const { return (absl::Now() - real_origin_) * options_.time_scale; }
  bool Stopping() const { return stop_.load() || draining_.load(); }
  void SleepUnlessFinished(absl::Duration duration) const {
    const absl::Time until = absl::Now() + duration;
    while (!finished_.load() && absl::Now() < until) {
      absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
    }
  }

  template <typename Distribution>
  absl::Duration Draw(std::mt19937_64& random, Distribution distribution) {
    return absl::Seconds(std::max(0.0, distribution(random)));
  }
  absl::Duration DrawHandleTime(std::mt19937_64& random, absl::Duration mean);
  absl::Duration DrawLognormal(std::mt19937_64& random, absl::Duration mean, double sigma);

  void CountError(absl::string_view what, const absl::Status& status);
  void LogIn(Desktop& desktop);
  void RunDesktop(Desktop& desktop);
  void HandleEvent(Desktop& desktop, const calls::OperatorEvent& event);
  void HandleOffer(Desktop& desktop, const calls::ReservationOffered& offered);
  void HandleCallUpdate(Desktop& desktop, const calls::Call& call);
  void HandleHelpRequest(Desktop& desktop, const calls::HelpRequest& help);
  void StartTalking(Desktop& desktop, const calls::Call& call, const std::shared_ptr<SimCall>& sim);
  void HeartbeatLoop();
  void ArrivalLoop();
  void Arrive(const DemoQueue& queue, const DemoCustomer* customer, absl::Duration patience,
              absl::Duration talk, std::string telephony_id);
  void GiveUp(const std::shared_ptr<SimCall>& call);
  void EndTalk(const std::shared_ptr<SimCall>& call, bool customer_ends);
  void AnswerSurvey(const surveys::OfferPostCallSurveyResponse& offer, std::string customer,
                    uint64_t seed);
  void Evaluate(const std::string& call, const std::string& op, const std::string& team,
                uint64_t seed);
  void RunOutbound();
  // Plays the telephony adapter's command side: watches its commands, acknowledges each as
  // carried out, reconnects when the stream ends (a replica went away).
  void RunTelephonyAdapter();
  void PrintProgress();
  std::shared_ptr<SimCall> FindCall(const std::string& telephony_id);
  void Finish(const std::shared_ptr<SimCall>& call);
  const DemoQueue* QueueOf(const std::string& name) const;
  std::string SupervisorOf(const std::string& team) const;

  const SimOptions& options_;
  const DemoCentre& centre_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<calls::CallsService::Stub> calls_;
  std::unique_ptr<calls::CampaignsService::Stub> campaigns_;
  std::unique_ptr<knowledge::ArticlesService::Stub> articles_;
  std::unique_ptr<knowledge::PrecedentsService::Stub> precedents_;
  std::unique_ptr<surveys::CampaignService::Stub> survey_campaigns_;
  std::unique_ptr<surveys::SurveyService::Stub> surveys_;
  std::unique_ptr<surveys::QualityService::Stub> quality_;
  std::mt19937_64 arrivals_random_;
  surveys::Scorecard scorecard_;

  absl::Time real_origin_;
  // Distinguishes this run's request ids and telephony call ids from earlier runs'.
  const std::string run_id_ = absl::StrFormat("%x", absl::ToUnixMicros(absl::Now()));
  std::unique_ptr<Scheduler> telephony_;
  std::vector<std::unique_ptr<Desktop>> desktops_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int64_t> live_calls_{0};
  std::atomic<int64_t> sequence_{0};

  absl::Mutex outbound_mutex_;
  std::unique_ptr<grpc::ClientContext> dial_stream_ ABSL_GUARDED_BY(outbound_mutex_);

  absl::Mutex adapter_mutex_;
  std::unique_ptr<grpc::ClientContext> adapter_stream_ ABSL_GUARDED_BY(adapter_mutex_);
  bool adapter_stopping_ ABSL_GUARDED_BY(adapter_mutex_) = false;
  std::vector<std::string> outbound_dispositions_;

  absl::Mutex mutex_;
  absl::CondVar calls_done_;
  SimReport report_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, std::shared_ptr<SimCall>> calls_by_telephony_id_
      ABSL_GUARDED_BY(mutex_);
};

absl::Duration Simulation::DrawLognormal(std::mt19937_64& random, absl::Duration mean,
                                         double sigma) {
  if (mean <= absl::ZeroDuration()) return absl::ZeroDuration();
  // A lognormal with mean m has mu = ln m - sigma^2 / 2.
  const double mu = std::log(absl::ToDoubleSeconds(mean)) - sigma * sigma / 2;
  return Draw(random, std::lognormal_distribution<double>(mu, sigma));
}

absl::Duration Simulation::DrawHandleTime(std::mt19937_64& random, absl::Duration mean) {
  if (mean <= absl::ZeroDuration()) return absl::ZeroDuration();
  if (options_.handle_time_distribution == "exponential") {
    return Draw(random, std::exponential_distribution<double>(1 / absl::ToDoubleSeconds(mean)));
  }
  return DrawLognormal(random, mean, 0.6);
}

void Simulation::CountError(absl::string_view what, const absl::Status& status) {
  if (finished_.load()) return;
  common::LogWarning("simulator: a call to the services failed",
                     {{"what", std::string(what)}, {"status", status}});
  absl::MutexLock lock(&mutex_);
  ++report_.errors;
}

const DemoQueue* Simulation::QueueOf(const std::string& name) const {
  for (const DemoQueue& queue : centre_.queues) {
    if (queue.name == name) return &queue;
  }
  return nullptr;
}

std::string Simulation::SupervisorOf(const std::string& team) const {
  for (const DemoOperator& op : centre_.operators) {
    if (op.supervisor && op.team == team) return op.name;
  }
  for (const DemoOperator& op : centre_.operators) {
    if (op.supervisor) return op.name;
  }
  return "";
}

std::shared_ptr<SimCall> Simulation::FindCall(const std::string& telephony_id) {
  absl::MutexLock lock(&mutex_);
  auto it = calls_by_telephony_id_.find(telephony_id);
  return it == calls_by_telephony_id_.end() ? nullptr : it->second;
}

// The call is over for the simulator: abandoned, or answered and wrapped up.
void Simulation::Finish(const std::shared_ptr<SimCall>& call) {
  {
    absl::MutexLock lock(&call->mutex);
    if (call->phase == SimCall::Phase::kDone) return;
    call->phase = SimCall::Phase::kDone;
  }
  live_calls_.fetch_sub(1);
  absl::MutexLock lock(&mutex_);
  calls_done_.SignalAll();
}

void Simulation::LogIn(Desktop& desktop) {
  calls::SetPresenceRequest login;
  login.set_operator_(desktop.op.name);
  login.set_state(calls::OPERATOR_STATE_AVAILABLE);
  login.set_take_over(true);
  login.set_request_id(
      absl::StrCat("sim-login-", run_id_, "-", desktop.index, "-", sequence_.fetch_add(1)));
  absl::StatusOr<calls::OperatorPresence> presence =
      common::UnaryCall(*calls_, &CallsStub::SetPresence, login);
  if (!presence.ok()) {
    CountError("SetPresence (login)", presence.status());
    return;
  }
  absl::MutexLock lock(&desktop.mutex);
  desktop.session = presence->session_id();
}

// One desktop: logs in, follows its event stream (reopening it if a replica goes away) and acts
// on what arrives.
void Simulation::RunDesktop(Desktop& desktop) {
  while (!finished_.load()) {
    std::string session;
    {
      absl::MutexLock lock(&desktop.mutex);
      session = desktop.session;
    }
    if (session.empty()) {
      LogIn(desktop);
      absl::MutexLock lock(&desktop.mutex);
      session = desktop.session;
    }
    if (session.empty()) {
      SleepUnlessFinished(absl::Milliseconds(500));
      continue;
    }
    calls::WatchOperatorEventsRequest watch;
    watch.set_operator_(desktop.op.name);
    watch.set_session_id(session);
    auto context = std::make_unique<grpc::ClientContext>();
    grpc::ClientContext* raw_context = context.get();
    {
      absl::MutexLock lock(&desktop.mutex);
      if (finished_.load()) return;
      desktop.stream_context = std::move(context);
    }
    std::unique_ptr<grpc::ClientReader<calls::OperatorEvent>> reader =
        calls_->WatchOperatorEvents(raw_context, watch);
    calls::OperatorEvent event;
    while (reader->Read(&event)) HandleEvent(desktop, event);
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&desktop.mutex);
      desktop.stream_context.reset();
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
          status.error_code() == grpc::StatusCode::NOT_FOUND) {
        desktop.session.clear();  // the session ended (e.g. a heartbeat timeout): log in again
      }
    }
    if (finished_.load()) return;
    absl::SleepFor(absl::Milliseconds(200));
  }
}

void Simulation::HandleEvent(Desktop& desktop, const calls::OperatorEvent& event) {
  switch (event.event_case()) {
    case calls::OperatorEvent::kSnapshot:
      if (event.snapshot().has_pending_reservation()) {
        HandleOffer(desktop, event.snapshot().pending_reservation());
      }
      if (event.snapshot().has_current_call()) {
        HandleCallUpdate(desktop, event.snapshot().current_call());
      }
      for (const calls::HelpRequest& help : event.snapshot().help_requests()) {
        HandleHelpRequest(desktop, help);
      }
      break;
    case calls::OperatorEvent::kReservationOffered:
      HandleOffer(desktop, event.reservation_offered());
      break;
    case calls::OperatorEvent::kCallUpdated:
      HandleCallUpdate(desktop, event.call_updated());
      break;
    case calls::OperatorEvent::kHelpRequestUpdated:
      HandleHelpRequest(desktop, event.help_request_updated());
      break;
    case calls::OperatorEvent::kPresenceChanged: {
      const calls::OperatorPresence& presence = event.presence_changed();
      // Three misses in a row put the operator NOT_READY; they come back after a minute.
      if (presence.state() == calls::OPERATOR_STATE_NOT_READY &&
          presence.reason_code() == "missed_calls" && !Stopping()) {
        telephony_->After(Real(absl::Minutes(1)), [this, &desktop] {
          calls::SetPresenceRequest ready;
          ready.set_operator_(desktop.op.name);
          ready.set_state(calls::OPERATOR_STATE_AVAILABLE);
          {
            absl::MutexLock lock(&desktop.mutex);
            ready.set_session_id(desktop.session);
          }
          ready.set_request_id(absl::StrCat("sim-ready-", run_id_, "-", sequence_.fetch_add(1)));
          if (auto status = common::UnaryCall(*calls_, &CallsStub::SetPresence, ready);
              !status.ok()) {
            CountError("SetPresence (back from missed calls)", status.status());
          }
        });
      }
      if (presence.state() == calls::OPERATOR_STATE_OFFLINE && !finished_.load()) {
        absl::MutexLock lock(&desktop.mutex);
        desktop.session.clear();
        if (desktop.stream_context) desktop.stream_context->TryCancel();
      }
      break;
    }
    default:
      break;
  }
}

void Simulation::HandleOffer(Desktop& desktop, const calls::ReservationOffered& offered) {
  const calls::Reservation& reservation = offered.reservation();
  const calls::Call& call = offered.call();
  if (!desktop.offers.insert(reservation.name()).second) return;
  // An outbound call arrives accepted: the dialler connects it when the customer answers.
  if (reservation.state() == calls::RESERVATION_STATE_ACCEPTED) return;
  std::shared_ptr<SimCall> sim = FindCall(call.telephony_call_id());
  if (reservation.state() != calls::RESERVATION_STATE_PENDING) return;
  std::uniform_real_distribution<double> unit(0, 1);
  const double choice = unit(desktop.random);
  if (choice < options_.miss_share && !Stopping()) {
    absl::MutexLock lock(&mutex_);
    ++report_.missed;  // lets it ring out: the service counts a miss at the ring timeout
    return;
  }
  absl::SleepFor(Real(DrawLognormal(desktop.random, options_.mean_accept_delay, 0.5)));
  if (choice < options_.miss_share + options_.reject_share && !Stopping()) {
    calls::RejectReservationRequest reject;
    reject.set_reservation(reservation.name());
    reject.set_reason("busy with a customer's paperwork");
    reject.set_request_id(absl::StrCat("sim-reject-", reservation.name()));
    if (auto status = common::UnaryCall(*calls_, &CallsStub::RejectReservation, reject);
        status.ok()) {
      absl::MutexLock lock(&mutex_);
      ++report_.rejected;
    } else if (status.status().code() != absl::StatusCode::kFailedPrecondition) {
      CountError("RejectReservation", status.status());
    }
    return;
  }
  if (sim == nullptr) {
    // Not a call of this run (e.g. left over from an earlier one): take it and end it.
    calls::AcceptReservationRequest accept;
    accept.set_reservation(reservation.name());
    accept.set_request_id(absl::StrCat("sim-accept-", reservation.name()));
    (void)common::UnaryCall(*calls_, &CallsStub::AcceptReservation, accept);
    return;
  }
  {
    absl::MutexLock lock(&sim->mutex);
    if (sim->phase != SimCall::Phase::kWaiting) return;  // the caller has just hung up
    calls::AcceptReservationRequest accept;
    accept.set_reservation(reservation.name());
    accept.set_request_id(absl::StrCat("sim-accept-", reservation.name()));
    absl::StatusOr<calls::Call> accepted =
        common::UnaryCall(*calls_, &CallsStub::AcceptReservation, accept);
    if (!accepted.ok()) {
      // The ring timeout passed first (or the offer was withdrawn): the call goes back to its
      // place and is offered again.
      if (accepted.status().code() != absl::StatusCode::kFailedPrecondition &&
          accepted.status().code() != absl::StatusCode::kAborted) {
        CountError("AcceptReservation", accepted.status());
      }
      return;
    }
    sim->phase = SimCall::Phase::kAnswered;
    sim->answered_at = absl::Now();
    sim->operator_name = desktop.op.name;
    const absl::Duration wait = sim->answered_at - sim->offered_at;
    absl::MutexLock report_lock(&mutex_);
    ++report_.answered;
    QueueCounts& counts = report_.queues[sim->queue];
    ++counts.answered;
    counts.total_wait += wait;
    if (wait <= sim->threshold) ++counts.answered_within_threshold;
  }
  StartTalking(desktop, call, sim);
}

// The operator is on the call: telephony connects it, the operator may search the knowledge
// base or ask for help, and the conversation ends after the drawn talk time.
void Simulation::StartTalking(Desktop& desktop, const calls::Call& call,
                              const std::shared_ptr<SimCall>& sim) {
  calls::ConnectCallRequest connect;
  connect.set_call(call.name());
  connect.set_request_id(absl::StrCat("sim-connect-", call.name()));
  if (auto status = common::UnaryCall(*calls_, &CallsStub::ConnectCall, connect); !status.ok()) {
    CountError("ConnectCall", status.status());
  }
  std::uniform_real_distribution<double> unit(0, 1);
  const DemoQueue* queue = QueueOf(sim->queue);
  if (call.abusive() && unit(desktop.random) < options_.help_share_abusive) {
    calls::RequestHelpRequest help;
    help.set_operator_(desktop.op.name);
    help.set_call(call.name());
    help.set_reason(centre_.language == "en" ? "abusive caller, insults"
                                             : "агрессивный абонент, оскорбления");
    help.set_urgent(true);
    help.set_request_id(absl::StrCat("sim-help-", call.name()));
    if (auto status = common::UnaryCall(*calls_, &CallsStub::RequestHelp, help); status.ok()) {
      absl::MutexLock lock(&mutex_);
      ++report_.help_requests;
    } else {
      CountError("RequestHelp", status.status());
    }
  }
  if (queue != nullptr && !queue->search_queries.empty() &&
      unit(desktop.random) < options_.knowledge_search_share) {
    const std::string& query =
        queue->search_queries[desktop.random() % queue->search_queries.size()];
    knowledge::SearchArticlesRequest search;
    search.set_query(query);
    search.set_page_size(5);
    if (auto found = common::UnaryCall(*articles_,
                                       &knowledge::ArticlesService::Stub::SearchArticles, search);
        found.ok()) {
      absl::MutexLock lock(&mutex_);
      ++report_.knowledge_searches;
    } else {
      CountError("SearchArticles", found.status());
    }
    knowledge::SuggestPrecedentsRequest suggest;
    suggest.set_text(query);
    suggest.set_k(3);
    if (auto suggested = common::UnaryCall(
            *precedents_, &knowledge::PrecedentsService::Stub::SuggestPrecedents, suggest);
        suggested.ok()) {
      // The operator uses a suggested precedent's solution now and then (linked in the
      // wrap-up), else one known for the queue's typical problem.
      std::string precedent;
      if (!queue->precedents.empty() && unit(desktop.random) < 0.5) {
        precedent = queue->precedents[desktop.random() % queue->precedents.size()];
      }
      absl::MutexLock lock(&sim->mutex);
      sim->precedent = precedent;
    } else {
      CountError("SuggestPrecedents", suggested.status());
    }
  }
  const bool customer_ends = unit(desktop.random) < 0.6;
  telephony_->After(sim->talk, [this, sim, customer_ends] { EndTalk(sim, customer_ends); });
}

void Simulation::EndTalk(const std::shared_ptr<SimCall>& call, bool customer_ends) {
  calls::HangUpRequest hang_up;
  hang_up.set_call(call->name);
  hang_up.set_end_reason(customer_ends ? calls::CALL_END_REASON_CUSTOMER_HUNG_UP
                                       : calls::CALL_END_REASON_OPERATOR_HUNG_UP);
  hang_up.set_applied_by_telephony(true);
  hang_up.set_request_id(absl::StrCat("sim-hangup-", call->name));
  absl::StatusOr<calls::Call> ended = common::UnaryCall(*calls_, &CallsStub::HangUp, hang_up);
  if (!ended.ok()) {
    CountError("HangUp", ended.status());
    return;
  }
  absl::Duration talk;
  std::string op;
  {
    absl::MutexLock lock(&call->mutex);
    talk = absl::Now() - call->answered_at;
    op = call->operator_name;
  }
  if (call->outbound) return;
  {
    absl::MutexLock lock(&mutex_);
    report_.queues[call->queue].total_talk += talk;
  }
  if (centre_.post_call_survey.empty()) return;
  // The adapter asks whether to keep the caller on the line for the keypad survey.
  surveys::OfferPostCallSurveyRequest offer;
  offer.set_request_id(absl::StrCat("sim-survey-", call->name));
  offer.set_call(call->name);
  offer.set_queue(call->queue);
  offer.set_customer(call->customer);
  offer.set_operator_(op);
  // The adapter reports the talk time of the simulated world (the minimum talk time of the
  // survey settings is a simulated duration too).
  *offer.mutable_talk_time() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(talk * options_.time_scale));
  absl::StatusOr<surveys::OfferPostCallSurveyResponse> decided = common::UnaryCall(
      *survey_campaigns_, &surveys::CampaignService::Stub::OfferPostCallSurvey, offer);
  if (!decided.ok()) {
    CountError("OfferPostCallSurvey", decided.status());
    return;
  }
  if (!decided->selected()) return;
  const uint64_t seed = options_.seed ^ std::hash<std::string>()(call->name);
  {
    absl::MutexLock lock(&mutex_);
    ++report_.surveys_offered;
  }
  std::mt19937_64 random(seed);
  if (std::uniform_real_distribution<double>(0, 1)(random) >= options_.survey_answer_share) return;
  telephony_->After(Real(absl::Seconds(30)), [this, response = *decided, customer = call->customer,
                                              seed] { AnswerSurvey(response, customer, seed); });
}

void Simulation::AnswerSurvey(const surveys::OfferPostCallSurveyResponse& offer,
                              std::string customer, uint64_t seed) {
  std::mt19937_64 random(seed);
  surveys::StartResponseRequest start;
  start.set_request_id(absl::StrCat("sim-start-", offer.invitation().name()));
  start.set_invitation(offer.invitation().name());
  start.set_channel(surveys::SURVEY_CHANNEL_KEYPAD);
  start.set_customer(customer);
  absl::StatusOr<surveys::StartResponseResponse> started =
      common::UnaryCall(*surveys_, &surveys::SurveyService::Stub::StartResponse, start);
  if (!started.ok()) {
    CountError("StartResponse", started.status());
    return;
  }
  const surveys::SurveyVersion& version =
      started->survey_version().name().empty() ? offer.survey_version() : started->survey_version();
  surveys::SubmitResponseRequest submit;
  submit.set_request_id(absl::StrCat("sim-submit-", started->response().name()));
  submit.set_name(started->response().name());
  submit.set_complete(true);
  // Most customers are satisfied; a few are not.
  const bool happy = std::uniform_real_distribution<double>(0, 1)(random) < 0.8;
  for (const surveys::Question& question : version.definition().questions()) {
    if (question.has_display_condition()) continue;
    surveys::Answer* answer = submit.add_answers();
    answer->set_question_id(question.question_id());
    switch (question.kind_case()) {
      case surveys::Question::kRating:
        answer->set_score(happy ? 4 + static_cast<int>(random() % 2)
                                : 1 + static_cast<int>(random() % 3));
        break;
      case surveys::Question::kNps:
        answer->set_score(happy ? 8 + static_cast<int>(random() % 3)
                                : static_cast<int>(random() % 8));
        break;
      case surveys::Question::kSingleChoice:
        if (question.single_choice().choices().empty()) break;
        answer->mutable_choices()->add_choice_ids(
            question.single_choice()
                .choices(static_cast<int>(random() % question.single_choice().choices_size()))
                .choice_id());
        break;
      case surveys::Question::kYesNo:
        answer->set_yes_no(happy);
        break;
      case surveys::Question::kNumber:
        answer->set_number(question.number().has_min_value() ? question.number().min_value() : 1);
        break;
      case surveys::Question::kFreeText:
        if (question.required()) {
          answer->set_text(happy ? "Спасибо, всё решили быстро" : "Долго ждал ответа");
        } else {
          submit.mutable_answers()->RemoveLast();
        }
        break;
      default:
        submit.mutable_answers()->RemoveLast();
        break;
    }
  }
  if (auto submitted =
          common::UnaryCall(*surveys_, &surveys::SurveyService::Stub::SubmitResponse, submit);
      submitted.ok()) {
    absl::MutexLock lock(&mutex_);
    ++report_.surveys_answered;
  } else {
    CountError("SubmitResponse", submitted.status());
  }
}

void Simulation::HandleCallUpdate(Desktop& desktop, const calls::Call& call) {
  if (call.state() != calls::CALL_STATE_WRAP_UP) return;
  if (call.operator_() != desktop.op.name) return;
  if (!desktop.wrapped.insert(call.name()).second) return;
  std::shared_ptr<SimCall> sim = FindCall(call.telephony_call_id());
  if (sim == nullptr) sim = FindCall(call.name());
  const DemoQueue* queue = QueueOf(call.queue());
  absl::Duration wrap_up = absl::ZeroDuration();
  if (queue != nullptr && queue->mean_wrap_up_time > absl::ZeroDuration()) {
    wrap_up = DrawLognormal(desktop.random, queue->mean_wrap_up_time, 0.5);
  }
  absl::SleepFor(Real(wrap_up));
  calls::CompleteWrapUpRequest request;
  request.set_call(call.name());
  request.set_request_id(absl::StrCat("sim-wrapup-", call.name()));
  calls::WrapUp* written = request.mutable_wrap_up();
  // The first dispositions of a queue are its common outcomes: weighted towards them.
  if (!call.campaign().empty() && !outbound_dispositions_.empty()) {
    written->set_disposition(
        outbound_dispositions_[desktop.random() % outbound_dispositions_.size()]);
  } else if (queue != nullptr && !queue->dispositions.empty()) {
    const size_t count = queue->dispositions.size();
    const size_t pick = std::min<size_t>(
        count - 1, static_cast<size_t>(std::exponential_distribution<double>(1.0)(desktop.random)));
    written->set_disposition(queue->dispositions[pick]);
  } else {
    written->set_disposition("resolved");
  }
  written->set_topic(queue != nullptr && !queue->topics.empty()
                         ? queue->topics[desktop.random() % queue->topics.size()]
                         : "consultation");
  if (queue != nullptr && !queue->notes.empty()) {
    written->set_notes(queue->notes[desktop.random() % queue->notes.size()]);
  }
  if (sim != nullptr) {
    absl::MutexLock lock(&sim->mutex);
    if (!sim->precedent.empty()) written->set_precedent(sim->precedent);
  }
  absl::StatusOr<calls::Call> done =
      common::UnaryCall(*calls_, &CallsStub::CompleteWrapUp, request);
  if (!done.ok()) {
    CountError("CompleteWrapUp", done.status());
  } else {
    absl::MutexLock lock(&mutex_);
    ++report_.wrap_ups;
    if (!written->precedent().empty()) ++report_.precedents_linked;
  }
  if (sim != nullptr) Finish(sim);
  std::uniform_real_distribution<double> unit(0, 1);
  if (!centre_.scorecard.empty() && unit(desktop.random) < options_.evaluation_share) {
    const uint64_t seed = desktop.random();
    telephony_->After(Real(absl::Minutes(2)),
                      [this, name = call.name(), op = desktop.op.name, team = desktop.op.team,
                       seed] { Evaluate(name, op, team, seed); });
  }
  if (!Stopping() && unit(desktop.random) < options_.break_share) {
    calls::SetPresenceRequest away;
    away.set_operator_(desktop.op.name);
    away.set_state(calls::OPERATOR_STATE_NOT_READY);
    away.set_reason_code("break");
    {
      absl::MutexLock lock(&desktop.mutex);
      away.set_session_id(desktop.session);
    }
    away.set_request_id(absl::StrCat("sim-break-", call.name()));
    if (auto status = common::UnaryCall(*calls_, &CallsStub::SetPresence, away); !status.ok()) {
      CountError("SetPresence (break)", status.status());
      return;
    }
    {
      absl::MutexLock lock(&mutex_);
      ++report_.breaks;
    }
    const absl::Duration length =
        Draw(desktop.random,
             std::exponential_distribution<double>(1 / absl::ToDoubleSeconds(options_.mean_break)));
    telephony_->After(Real(length), [this, &desktop, name = call.name()] {
      calls::SetPresenceRequest back;
      back.set_operator_(desktop.op.name);
      back.set_state(calls::OPERATOR_STATE_AVAILABLE);
      {
        absl::MutexLock lock(&desktop.mutex);
        back.set_session_id(desktop.session);
      }
      back.set_request_id(absl::StrCat("sim-back-", name));
      if (auto status = common::UnaryCall(*calls_, &CallsStub::SetPresence, back); !status.ok()) {
        CountError("SetPresence (back from break)", status.status());
      }
    });
  }
}

void Simulation::Evaluate(const std::string& call, const std::string& op, const std::string& team,
                          uint64_t seed) {
  if (scorecard_.criteria().empty()) return;
  std::mt19937_64 random(seed);
  surveys::EvaluateCallRequest evaluate;
  evaluate.set_request_id(absl::StrCat("sim-evaluate-", call));
  evaluate.set_call(call);
  evaluate.set_operator_(op);
  evaluate.set_scorecard(scorecard_.name());
  evaluate.mutable_evaluator()->set_name(SupervisorOf(team));
  for (const surveys::Criterion& criterion : scorecard_.criteria()) {
    surveys::CriterionScore* score = evaluate.add_scores();
    score->set_criterion_id(criterion.criterion_id());
    const int low = criterion.min_score();
    const int high = std::max(criterion.max_score(), low);
    // Most criteria are met; now and then one is not, with the reason said.
    const bool good = std::uniform_real_distribution<double>(0, 1)(random) < 0.85;
    score->set_score(good ? high : low + static_cast<int>(random() % (high - low + 1)));
    if (!good) score->set_comment("Оператор перебивал клиента");
  }
  evaluate.set_comment("Плановая оценка качества");
  if (auto done =
          common::UnaryCall(*quality_, &surveys::QualityService::Stub::EvaluateCall, evaluate);
      done.ok()) {
    absl::MutexLock lock(&mutex_);
    ++report_.evaluations;
  } else if (done.status().code() != absl::StatusCode::kAlreadyExists) {
    CountError("EvaluateCall", done.status());
  }
}

void Simulation::HandleHelpRequest(Desktop& desktop, const calls::HelpRequest& help) {
  if (!desktop.op.supervisor || help.state() != calls::HELP_REQUEST_STATE_OPEN) return;
  if (help.operator_() == desktop.op.name) return;
  if (!desktop.answered.insert(help.name()).second) return;
  telephony_->After(Real(absl::Seconds(20)), [this, name = help.name(), sup = desktop.op.name] {
    calls::AnswerHelpRequestRequest answer;
    answer.set_name(name);
    answer.set_supervisor(sup);
    answer.set_action(calls::HELP_ACTION_ADVICE);
    answer.set_note(centre_.language == "en"
                        ? "Stay calm, offer a call-back, do not argue."
                        : "Сохраняйте спокойствие, предложите перезвонить, не спорьте.");
    answer.set_request_id(absl::StrCat("sim-answer-", name));
    if (auto status = common::UnaryCall(*calls_, &CallsStub::AnswerHelpRequest, answer);
        status.ok()) {
      absl::MutexLock lock(&mutex_);
      ++report_.help_answered;
    } else if (status.status().code() != absl::StatusCode::kFailedPrecondition) {
      // (FAILED_PRECONDITION: another supervisor answered first, or it was cancelled.)
      CountError("AnswerHelpRequest", status.status());
    }
  });
}

void Simulation::HeartbeatLoop() {
  // A round's heartbeats go out together: the service answers each when its batch window
  // (--heartbeat_batch_window) has passed, so one by one a large floor would take a window each.
  struct Beat {
    Desktop* desktop;
    grpc::ClientContext context;
    calls::HeartbeatRequest request;
    calls::HeartbeatResponse response;
    grpc::Status status;
  };
  while (!finished_.load()) {
    std::vector<std::unique_ptr<Beat>> beats;
    for (auto& desktop : desktops_) {
      auto beat = std::make_unique<Beat>();
      beat->desktop = desktop.get();
      beat->request.set_operator_(desktop->op.name);
      {
        absl::MutexLock lock(&desktop->mutex);
        if (desktop->session.empty()) continue;
        beat->request.set_session_id(desktop->session);
      }
      beat->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      beats.push_back(std::move(beat));
    }
    absl::BlockingCounter answered(static_cast<int>(beats.size()));
    for (auto& beat : beats) {
      calls_->async()->Heartbeat(&beat->context, &beat->request, &beat->response,
                                 [&answered, raw = beat.get()](grpc::Status status) {
                                   raw->status = std::move(status);
                                   answered.DecrementCount();
                                 });
    }
    answered.Wait();
    for (const auto& beat : beats) {
      if (beat->status.ok()) continue;
      if (beat->status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        Desktop& desktop = *beat->desktop;
        absl::MutexLock lock(&desktop.mutex);
        desktop.session.clear();  // logged out (heartbeat timeout): the desktop logs in
        if (desktop.stream_context) desktop.stream_context->TryCancel();
      } else {
        CountError("Heartbeat", common::FromGrpcStatus(beat->status));
      }
    }
    SleepUnlessFinished(absl::Seconds(2));
  }
}

void Simulation::Arrive(const DemoQueue& queue, const DemoCustomer* customer,
                        absl::Duration patience, absl::Duration talk, std::string telephony_id) {
  auto call = std::make_shared<SimCall>();
  call->telephony_id = telephony_id;
  call->queue = queue.name;
  call->customer = customer != nullptr ? customer->name : "";
  call->threshold = queue.service_level_threshold;
  call->talk = talk;
  {
    absl::MutexLock lock(&mutex_);
    calls_by_telephony_id_[telephony_id] = call;
  }
  calls::OfferCallRequest offer;
  offer.set_telephony_adapter(options_.adapter);
  offer.set_telephony_call_id(telephony_id);
  offer.set_queue(queue.name);
  if (customer != nullptr) {
    offer.mutable_caller_number()->set_raw(customer->phone_as_typed);
  } else {
    // A caller with no card: a Moscow mobile number nobody registered.
    offer.mutable_caller_number()->set_raw(
        absl::StrFormat("+7 999 %03d %02d %02d", std::hash<std::string>()(telephony_id) % 1000,
                        std::hash<std::string>()(telephony_id + "a") % 100,
                        std::hash<std::string>()(telephony_id + "b") % 100));
  }
  offer.set_request_id(telephony_id);
  call->offered_at = absl::Now();
  live_calls_.fetch_add(1);
  absl::StatusOr<calls::OfferCallResponse> offered =
      common::UnaryCall(*calls_, &CallsStub::OfferCall, offer);
  if (!offered.ok()) {
    CountError("OfferCall", offered.status());
    live_calls_.fetch_sub(1);
    absl::MutexLock lock(&mutex_);
    ++report_.offer_errors;
    calls_by_telephony_id_.erase(telephony_id);
    return;
  }
  call->name = offered->call().name();
  if (offered->call().state() == calls::CALL_STATE_FAILED) {
    live_calls_.fetch_sub(1);
    absl::MutexLock lock(&mutex_);
    ++report_.overflowed;
    calls_by_telephony_id_.erase(telephony_id);
    return;
  }
  {
    absl::MutexLock lock(&mutex_);
    ++report_.offered;
    ++report_.queues[queue.name].offered;
  }
  if (patience > absl::ZeroDuration()) {
    telephony_->After(patience, [this, call] { GiveUp(call); });
  }
}

// The caller's patience ran out: unless an operator has answered, they hang up.
void Simulation::GiveUp(const std::shared_ptr<SimCall>& call) {
  {
    absl::MutexLock lock(&call->mutex);
    if (call->phase != SimCall::Phase::kWaiting) return;
    calls::HangUpRequest hang_up;
    hang_up.set_call(call->name);
    hang_up.set_end_reason(calls::CALL_END_REASON_CUSTOMER_HUNG_UP);
    hang_up.set_applied_by_telephony(true);
    hang_up.set_request_id(absl::StrCat("sim-abandon-", call->name));
    absl::StatusOr<calls::Call> ended = common::UnaryCall(*calls_, &CallsStub::HangUp, hang_up);
    if (!ended.ok()) {
      CountError("HangUp (caller gives up)", ended.status());
      return;
    }
    if (ended->state() != calls::CALL_STATE_ABANDONED) {
      CountError("HangUp (caller gives up)",
                 absl::InternalError(absl::StrCat(call->name, " ended as ",
                                                  calls::CallState_Name(ended->state()))));
      return;
    }
    call->phase = SimCall::Phase::kAbandoned;
    const absl::Duration waited = absl::Now() - call->offered_at;
    absl::MutexLock lock_report(&mutex_);
    ++report_.abandoned;
    QueueCounts& counts = report_.queues[call->queue];
    ++counts.abandoned;
    if (waited <= call->threshold) ++counts.abandoned_within_threshold;
  }
  Finish(call);
}

void Simulation::ArrivalLoop() {
  std::vector<const DemoQueue*> inbound;
  std::vector<double> shares;
  for (const DemoQueue& queue : centre_.queues) {
    if (queue.outbound || queue.traffic_share <= 0) continue;
    inbound.push_back(&queue);
    shares.push_back(queue.traffic_share);
  }
  if (inbound.empty()) return;
  std::discrete_distribution<size_t> pick_queue(shares.begin(), shares.end());
  std::uniform_real_distribution<double> unit(0, 1);
  absl::Duration simulated = absl::ZeroDuration();
  while (!stop_.load()) {
    const double rate_per_second =
        options_.calls_per_hour / 3600 *
        (options_.day_profile ? DayProfile(options_.start_time_of_day + simulated) : 1.0);
    simulated += Draw(arrivals_random_, std::exponential_distribution<double>(rate_per_second));
    if (options_.duration > absl::ZeroDuration() && simulated >= options_.duration) break;
    // Everything about the call is drawn here, in arrival order, so that a seed repeats it.
    const DemoQueue& queue = *inbound[pick_queue(arrivals_random_)];
    const DemoCustomer* customer = nullptr;
    if (!centre_.customers.empty() && unit(arrivals_random_) >= options_.unknown_caller_share) {
      customer = &centre_.customers[arrivals_random_() % centre_.customers.size()];
    }
    const absl::Duration patience =
        options_.mean_patience > absl::ZeroDuration()
            ? Draw(arrivals_random_, std::exponential_distribution<double>(
                                         1 / absl::ToDoubleSeconds(options_.mean_patience)))
            : absl::ZeroDuration();
    const absl::Duration talk = DrawHandleTime(arrivals_random_, queue.mean_talk_time);
    const std::string telephony_id = absl::StrCat("sim-", run_id_, "-", sequence_.fetch_add(1));
    const absl::Time when = real_origin_ + Real(simulated);
    telephony_->At(when, [this, &queue, customer, patience = Real(patience), talk = Real(talk),
                          telephony_id] { Arrive(queue, customer, patience, talk, telephony_id); });
    // Stay at most a second ahead of real time, so that a stop takes effect at once.
    while (!stop_.load() && absl::Now() < when - absl::Seconds(1)) {
      absl::SleepFor(std::min(absl::Milliseconds(200), when - absl::Seconds(1) - absl::Now()));
    }
  }
  // Wait for the last arrival's time to come.
  const absl::Time last = real_origin_ + Real(simulated);
  while (!stop_.load() && absl::Now() < last &&
         (options_.duration <= absl::ZeroDuration() ||
          absl::Now() < real_origin_ + Real(options_.duration))) {
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// The outbound payment-reminder run: a progressive campaign over some of the customers, with
// the simulator as the telephony adapter that dials (the customer answers, is busy, does not
// pick up or an answering machine takes it) and reports each outcome.
void Simulation::RunOutbound() {
  const DemoQueue* queue = nullptr;
  for (const DemoQueue& candidate : centre_.queues) {
    if (candidate.outbound) queue = &candidate;
  }
  if (queue == nullptr || options_.outbound_reminders <= 0 || centre_.customers.empty()) return;
  using CampaignsStub = calls::CampaignsService::Stub;
  const bool english = centre_.language == "en";
  calls::CreateCampaignRequest create;
  calls::Campaign* campaign = create.mutable_campaign();
  campaign->set_display_name(
      absl::StrCat(english ? "Payment reminders " : "Напоминания о платеже ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone()),
                   " (seed ", options_.seed, ")"));
  campaign->set_purpose(calls::CAMPAIGN_PURPOSE_PAYMENT_REMINDER);
  campaign->set_site(centre_.site.empty() ? "main" : centre_.site);
  campaign->set_queue(queue->name);
  campaign->set_dial_mode(calls::DIAL_MODE_PROGRESSIVE);
  campaign->set_script(english ? "Hello! This is a reminder that your payment is due."
                               : "Здравствуйте! Напоминаем о дате очередного платежа.");
  const std::vector<std::pair<std::string, calls::DispositionEffect>> codes = {
      {"promised_to_pay", calls::DISPOSITION_EFFECT_DONE},
      {"already_paid", calls::DISPOSITION_EFFECT_DONE},
      {"asked_to_call_later", calls::DISPOSITION_EFFECT_RETRY},
      {"refused", calls::DISPOSITION_EFFECT_DONE}};
  for (const auto& [code, effect] : codes) {
    calls::DispositionCode* disposition = campaign->add_dispositions();
    disposition->set_code(code);
    disposition->set_label(code);
    disposition->set_effect(effect);
  }
  create.set_request_id(absl::StrCat("sim-campaign-", run_id_));
  absl::StatusOr<calls::Campaign> created =
      common::UnaryCall(*campaigns_, &CampaignsStub::CreateCampaign, create);
  if (!created.ok()) {
    CountError("CreateCampaign", created.status());
    return;
  }
  std::mt19937_64 random(options_.seed + 7);
  const int entries =
      std::min<int>(options_.outbound_reminders, static_cast<int>(centre_.customers.size()));
  for (int i = 0; i < entries && !Stopping(); ++i) {
    const DemoCustomer& customer = centre_.customers[random() % centre_.customers.size()];
    calls::CreateCampaignEntryRequest entry;
    entry.set_parent(created->name());
    entry.mutable_entry()->set_customer(customer.name);
    entry.mutable_entry()->mutable_phone_number()->set_raw(customer.phone_as_typed);
    common::v1::LabeledValue* amount = entry.mutable_entry()->add_display_attributes();
    amount->set_key("amount_due");
    amount->set_label(english ? "Amount due" : "Сумма к оплате");
    amount->set_value(absl::StrCat(1000 + random() % 20000, english ? " RUB" : " ₽"));
    entry.set_request_id(absl::StrCat(create.request_id(), "-entry-", i));
    if (auto status = common::UnaryCall(*campaigns_, &CampaignsStub::CreateCampaignEntry, entry);
        !status.ok() && status.status().code() != absl::StatusCode::kAlreadyExists) {
      CountError("CreateCampaignEntry", status.status());
    }
  }
  calls::StartCampaignRequest start;
  start.set_name(created->name());
  start.set_request_id(absl::StrCat(create.request_id(), "-start"));
  if (auto status = common::UnaryCall(*campaigns_, &CampaignsStub::StartCampaign, start);
      !status.ok()) {
    CountError("StartCampaign", status.status());
    return;
  }
  std::printf("sim: outbound: campaign %s started with %d payment reminders\n",
              created->name().c_str(), entries);
  std::fflush(stdout);
  absl::flat_hash_set<std::string> dialled;
  while (!Stopping()) {
    calls::StreamDialRequestsRequest open;
    open.set_telephony_adapter(options_.adapter + "-dialler");
    open.set_site(created->site());
    open.set_max_concurrent_dials(10);
    grpc::ClientContext* context;
    {
      absl::MutexLock lock(&outbound_mutex_);
      if (Stopping()) break;
      dial_stream_ = std::make_unique<grpc::ClientContext>();
      context = dial_stream_.get();
    }
    auto reader = campaigns_->StreamDialRequests(context, open);
    calls::DialInstruction instruction;
    while (reader->Read(&instruction)) {
      if (!instruction.has_dial()) continue;
      const calls::DialRequest dial = instruction.dial();
      if (!dialled.insert(dial.call()).second) continue;  // re-sent after a reconnect
      {
        absl::MutexLock lock(&mutex_);
        ++report_.outbound_dials;
      }
      const double draw = std::uniform_real_distribution<double>(0, 1)(random);
      const calls::DialOutcome outcome = draw < 0.55   ? calls::DIAL_OUTCOME_ANSWERED_HUMAN
                                         : draw < 0.75 ? calls::DIAL_OUTCOME_NO_ANSWER
                                         : draw < 0.85 ? calls::DIAL_OUTCOME_BUSY
                                                       : calls::DIAL_OUTCOME_ANSWERING_MACHINE;
      const absl::Duration ring = Real(absl::Seconds(5 + random() % 20));
      const absl::Duration talk = Real(DrawHandleTime(random, queue->mean_talk_time));
      telephony_->After(ring, [this, dial, outcome, talk, queue_name = queue->name, ring] {
        auto sim = std::make_shared<SimCall>();
        sim->name = dial.call();
        sim->telephony_id = dial.call();
        sim->queue = queue_name;
        sim->customer = "";
        sim->outbound = true;
        sim->talk = talk;
        const bool answered = outcome == calls::DIAL_OUTCOME_ANSWERED_HUMAN;
        if (answered) {
          absl::MutexLock lock(&sim->mutex);
          sim->phase = SimCall::Phase::kAnswered;
          sim->answered_at = absl::Now();
          sim->operator_name = dial.operator_();
          live_calls_.fetch_add(1);
          absl::MutexLock report_lock(&mutex_);
          calls_by_telephony_id_[dial.call()] = sim;
        }
        calls::ReportDialOutcomeRequest report;
        report.set_call(dial.call());
        report.set_telephony_adapter(options_.adapter + "-dialler");
        report.set_telephony_call_id(dial.call());
        report.set_outcome(outcome);
        *report.mutable_ring_duration() =
            google::protobuf::util::TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(ring));
        report.set_request_id(absl::StrCat("sim-dial-", dial.call()));
        auto reported = common::UnaryCall(
            *campaigns_, &calls::CampaignsService::Stub::ReportDialOutcome, report);
        if (!reported.ok()) {
          CountError("ReportDialOutcome", reported.status());
          if (answered) Finish(sim);
          return;
        }
        if (!answered) return;
        {
          absl::MutexLock lock(&mutex_);
          ++report_.outbound_answered;
        }
        telephony_->After(talk, [this, sim] { EndTalk(sim, true); });
      });
    }
    const grpc::Status status = reader->Finish();
    if (Stopping()) break;
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      CountError("StreamDialRequests", common::FromGrpcStatus(status));
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  calls::StopCampaignRequest stop;
  stop.set_name(created->name());
  stop.set_request_id(absl::StrCat(create.request_id(), "-stop"));
  if (auto status = common::UnaryCall(*campaigns_, &CampaignsStub::StopCampaign, stop);
      !status.ok()) {
    CountError("StopCampaign", status.status());
  }
}

void Simulation::PrintProgress() {
  absl::MutexLock lock(&mutex_);
  const absl::Duration clock = options_.start_time_of_day + SimulatedNow();
  std::printf(
      "sim: %02d:%02d simulated  offered=%lld answered=%lld abandoned=%lld in progress=%lld "
      "wrap-ups=%lld surveys=%lld evaluations=%lld help=%lld errors=%lld\n",
      static_cast<int>(absl::ToInt64Hours(clock) % 24),
      static_cast<int>(absl::ToInt64Minutes(clock) % 60), static_cast<long long>(report_.offered),
      static_cast<long long>(report_.answered), static_cast<long long>(report_.abandoned),
      static_cast<long long>(live_calls_.load()), static_cast<long long>(report_.wrap_ups),
      static_cast<long long>(report_.surveys_answered), static_cast<long long>(report_.evaluations),
      static_cast<long long>(report_.help_requests), static_cast<long long>(report_.errors));
  std::fflush(stdout);
}

absl::StatusOr<SimReport> Simulation::Run() {
  if (options_.time_scale <= 0) return absl::InvalidArgumentError("time_scale must be positive");
  if (!centre_.scorecard.empty()) {
    surveys::GetScorecardRequest get;
    get.set_name(centre_.scorecard);
    absl::StatusOr<surveys::Scorecard> scorecard =
        common::UnaryCall(*quality_, &surveys::QualityService::Stub::GetScorecard, get);
    if (!scorecard.ok()) return scorecard.status();
    scorecard_ = *std::move(scorecard);
  }
  outbound_dispositions_ = {"promised_to_pay", "already_paid", "asked_to_call_later", "refused"};
  telephony_ = std::make_unique<Scheduler>(options_.telephony_threads);
  for (size_t i = 0; i < centre_.operators.size(); ++i) {
    auto desktop = std::make_unique<Desktop>();
    desktop->op = centre_.operators[i];
    desktop->index = static_cast<int>(i);
    desktop->random.seed(options_.seed * 1000003 + i);
    desktops_.push_back(std::move(desktop));
  }
  // Log everyone in before the first call arrives.
  for (auto& desktop : desktops_) LogIn(*desktop);
  real_origin_ = absl::Now();
  for (auto& desktop : desktops_) {
    desktop->thread = std::thread([this, d = desktop.get()] { RunDesktop(*d); });
  }
  std::thread heartbeats([this] { HeartbeatLoop(); });
  std::thread progress([this] {
    if (options_.progress_interval <= absl::ZeroDuration()) return;
    while (!finished_.load()) {
      {
        absl::MutexLock lock(&mutex_);
        if (mutex_.AwaitWithTimeout(
                absl::Condition(
                    +[](std::atomic<bool>* f) { return f->load(); }, &finished_),
                options_.progress_interval)) {
          return;
        }
      }
      PrintProgress();
    }
  });
  std::thread outbound([this] { RunOutbound(); });
  std::thread adapter([this] { RunTelephonyAdapter(); });

  ArrivalLoop();

  // Drain: no more arrivals; calls in progress end, wrap-ups are written.
  const absl::Time drain_deadline = absl::Now() + options_.drain_timeout;
  {
    absl::MutexLock lock(&mutex_);
    while (live_calls_.load() > 0 && absl::Now() < drain_deadline && !stop_.load()) {
      calls_done_.WaitWithDeadline(&mutex_,
                                   std::min(drain_deadline, absl::Now() + absl::Seconds(1)));
    }
  }
  draining_.store(true);
  {
    absl::MutexLock lock(&outbound_mutex_);
    if (dial_stream_) dial_stream_->TryCancel();
  }
  outbound.join();
  // Callers still waiting hang up now; then the last wrap-ups are written.
  std::vector<std::shared_ptr<SimCall>> waiting;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [id, call] : calls_by_telephony_id_) waiting.push_back(call);
  }
  for (const auto& call : waiting) GiveUp(call);
  telephony_->RunPendingNow();
  const absl::Time wrap_deadline = absl::Now() + options_.drain_timeout;
  while (live_calls_.load() > 0 && absl::Now() < wrap_deadline) {
    // Conversations that began meanwhile (answered reminders) end now too.
    telephony_->RunPendingNow();
    absl::MutexLock lock(&mutex_);
    calls_done_.WaitWithDeadline(&mutex_, std::min(wrap_deadline, absl::Now() + absl::Seconds(1)));
  }
  telephony_->RunPendingNow();
  telephony_->WaitIdle(absl::Now() + options_.drain_timeout);
  {
    // What did not finish is reported, by name, for whoever looks into it. (A call's mutex is
    // taken before mutex_ everywhere, so the calls are listed first.)
    std::vector<std::shared_ptr<SimCall>> calls;
    {
      absl::MutexLock lock(&mutex_);
      for (const auto& [id, call] : calls_by_telephony_id_) calls.push_back(call);
    }
    int64_t unfinished = 0;
    for (const auto& call : calls) {
      absl::MutexLock call_lock(&call->mutex);
      if (call->phase == SimCall::Phase::kDone) continue;
      ++unfinished;
      common::LogWarning("simulator: a call did not finish before the end",
                         {{"call", call->name},
                          {"answered", call->phase == SimCall::Phase::kAnswered},
                          {"outbound", call->outbound}});
    }
    absl::MutexLock lock(&mutex_);
    report_.unfinished = unfinished;
  }

  // Log everyone out and close the streams.
  for (auto& desktop : desktops_) {
    calls::SetPresenceRequest out;
    out.set_operator_(desktop->op.name);
    out.set_state(calls::OPERATOR_STATE_OFFLINE);
    {
      absl::MutexLock lock(&desktop->mutex);
      out.set_session_id(desktop->session);
    }
    out.set_request_id(
        absl::StrCat("sim-logout-", run_id_, "-", desktop->index, "-", sequence_.fetch_add(1)));
    (void)common::UnaryCall(*calls_, &CallsStub::SetPresence, out);
  }
  finished_.store(true);
  for (auto& desktop : desktops_) {
    absl::MutexLock lock(&desktop->mutex);
    if (desktop->stream_context) desktop->stream_context->TryCancel();
  }
  for (auto& desktop : desktops_) desktop->thread.join();
  heartbeats.join();
  progress.join();
  telephony_->Stop();
  {
    absl::MutexLock lock(&adapter_mutex_);
    adapter_stopping_ = true;
    if (adapter_stream_) adapter_stream_->TryCancel();
  }
  adapter.join();

  absl::MutexLock lock(&mutex_);
  report_.post_call_survey = centre_.post_call_survey;
  report_.scorecard = centre_.scorecard;
  report_.real_time = absl::Now() - real_origin_;
  report_.simulated_time = report_.real_time * options_.time_scale;
  return report_;
}

}  // namespace

void Simulation::RunTelephonyAdapter() {
  absl::flat_hash_set<std::string> seen;
  for (;;) {
    grpc::ClientContext* context;
    {
      absl::MutexLock lock(&adapter_mutex_);
      if (adapter_stopping_) return;
      adapter_stream_ = std::make_unique<grpc::ClientContext>();
      context = adapter_stream_.get();
    }
    calls::WatchTelephonyCommandsRequest watch;
    watch.set_telephony_adapter(options_.adapter);
    auto reader = calls_->WatchTelephonyCommands(context, watch);
    calls::TelephonyCommand command;
    while (reader->Read(&command)) {
      // Delivered at least once: a reconnect may bring a command again (re-sent ones are the
      // recent ones, so a long run forgets the oldest ids rather than keep them all).
      if (seen.size() >= 100000) seen.clear();
      const bool first = seen.insert(command.command_id()).second;
      calls::AcknowledgeTelephonyCommandRequest ack;
      ack.set_telephony_adapter(options_.adapter);
      ack.set_command_id(command.command_id());
      ack.set_success(true);
      ack.set_request_id(absl::StrCat("sim-ack-", command.command_id()));
      if (auto acked = common::UnaryCall(*calls_, &CallsStub::AcknowledgeTelephonyCommand, ack);
          !acked.ok()) {
        CountError("AcknowledgeTelephonyCommand", acked.status());
      }
      if (first) {
        absl::MutexLock lock(&mutex_);
        ++report_.telephony_commands;
        if (command.has_bridge() && !command.bridge().consult()) ++report_.bridges;
      }
    }
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&adapter_mutex_);
      if (adapter_stopping_) return;
    }
    common::LogWarning(
        "simulator: the telephony command stream ended; reconnecting",
        {{"code", static_cast<int>(status.error_code())}, {"message", status.error_message()}});
    absl::SleepFor(absl::Milliseconds(200));
  }
}

double SimReport::ServiceLevel() const {
  int64_t within = 0;
  for (const auto& [name, counts] : queues) within += counts.answered_within_threshold;
  return offered == 0 ? 0 : static_cast<double>(within) / static_cast<double>(offered);
}

absl::Duration SimReport::AverageSpeedOfAnswer() const {
  absl::Duration total;
  for (const auto& [name, counts] : queues) total += counts.total_wait;
  return answered == 0 ? absl::ZeroDuration() : total / answered;
}

std::string SimReport::ToText() const {
  std::string text = absl::StrFormat(
      "sim: done: %s real, %s simulated\n"
      "sim: offered %d, answered %d, abandoned %d, overflowed %d, offer errors %d\n"
      "sim: service level (answered within threshold / offered) %.1f%%, ASA %.3f s (real)\n"
      "sim: operators: %d offers rejected, %d missed, %d wrap-ups, %d knowledge searches, "
      "%d precedents linked, %d help requests (%d answered), %d breaks\n"
      "sim: customers: %d post-call surveys offered, %d answered; supervisors: %d evaluations\n"
      "sim: outbound: %d reminders dialled, %d answered; telephony: %d commands acknowledged (%d "
      "bridges); unexpected errors: %d; calls unfinished at exit: %d\n",
      absl::FormatDuration(absl::Trunc(real_time, absl::Milliseconds(100))),
      absl::FormatDuration(absl::Trunc(simulated_time, absl::Seconds(1))), offered, answered,
      abandoned, overflowed, offer_errors, 100 * ServiceLevel(),
      absl::ToDoubleSeconds(AverageSpeedOfAnswer()), rejected, missed, wrap_ups, knowledge_searches,
      precedents_linked, help_requests, help_answered, breaks, surveys_offered, surveys_answered,
      evaluations, outbound_dials, outbound_answered, telephony_commands, bridges, errors,
      unfinished);
  for (const auto& [name, counts] : queues) {
    absl::StrAppendFormat(&text, "sim:   %s: offered %d, answered %d, abandoned %d\n", name,
                          counts.offered, counts.answered, counts.abandoned);
  }
  return text;
}

std::string SimReport::ToJson() const {
  std::vector<std::string> queue_entries;
  for (const auto& [name, counts] : queues) {
    queue_entries.push_back(absl::StrFormat(
        "\"%s\":{\"offered\":%d,\"answered\":%d,\"abandoned\":%d,"
        "\"answered_within_threshold\":%d,\"abandoned_within_threshold\":%d,"
        "\"total_wait_seconds\":%.6f,\"total_talk_seconds\":%.6f}",
        name, counts.offered, counts.answered, counts.abandoned, counts.answered_within_threshold,
        counts.abandoned_within_threshold, absl::ToDoubleSeconds(counts.total_wait),
        absl::ToDoubleSeconds(counts.total_talk)));
  }
  return absl::StrFormat(
      "{\"real_seconds\":%.3f,\"simulated_seconds\":%.3f,\"offered\":%d,\"answered\":%d,"
      "\"abandoned\":%d,\"overflowed\":%d,\"offer_errors\":%d,\"rejected\":%d,\"missed\":%d,"
      "\"wrap_ups\":%d,\"knowledge_searches\":%d,\"precedents_linked\":%d,\"help_requests\":%d,"
      "\"help_answered\":%d,\"surveys_offered\":%d,\"surveys_answered\":%d,\"evaluations\":%d,"
      "\"breaks\":%d,\"outbound_dials\":%d,\"outbound_answered\":%d,"
      "\"telephony_commands\":%d,\"bridges\":%d,\"errors\":%d,\"unfinished\":%d,"
      "\"service_level\":%.6f,\"asa_seconds\":%.6f,\"post_call_survey\":\"%s\","
      "\"scorecard\":\"%s\",\"queues\":{%s}}",
      absl::ToDoubleSeconds(real_time), absl::ToDoubleSeconds(simulated_time), offered, answered,
      abandoned, overflowed, offer_errors, rejected, missed, wrap_ups, knowledge_searches,
      precedents_linked, help_requests, help_answered, surveys_offered, surveys_answered,
      evaluations, breaks, outbound_dials, outbound_answered, telephony_commands, bridges, errors,
      unfinished, ServiceLevel(), absl::ToDoubleSeconds(AverageSpeedOfAnswer()), post_call_survey,
      scorecard, absl::StrJoin(queue_entries, ","));
}

absl::StatusOr<SimReport> RunSimulation(const SimOptions& options, const SuiteChannels& channels,
                                        const DemoCentre& centre, const std::atomic<bool>& stop) {
  Simulation simulation(options, channels, centre, stop);
  return simulation.Run();
}

}  // namespace contactcentre::sim
