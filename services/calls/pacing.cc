#include "services/calls/pacing.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>

#include "absl/strings/str_cat.h"

namespace contactcentre::calls {
namespace {

absl::Duration DurationOr(const google::protobuf::Duration& value, absl::Duration fallback) {
  if (value.seconds() == 0 && value.nanos() == 0) return fallback;
  return absl::Seconds(value.seconds()) + absl::Nanoseconds(value.nanos());
}

// Below this many finished dials in the window the answer rate is too noisy to steer by.
constexpr int kMinSample = 20;
// Below one line per operator: wrap-ups counted as free may make even one line each too many.
constexpr double kMinRatio = 0.5;
// The stretch of recent dials the ratio is steered by.
constexpr absl::Duration kRecent = absl::Minutes(3);

}  // namespace

PacingConfig PacingConfigOf(const v1::PacingSettings& settings) {
  PacingConfig config;
  if (settings.max_drop_rate() > 0) config.max_drop_rate = settings.max_drop_rate();
  if (settings.initial_dial_ratio() > 0) config.initial_ratio = settings.initial_dial_ratio();
  if (settings.max_dial_ratio() > 0) config.max_ratio = settings.max_dial_ratio();
  config.adjust_interval = DurationOr(settings.adjust_interval(), absl::Seconds(5));
  config.window = DurationOr(settings.drop_rate_window(), absl::InfiniteDuration());
  return config;
}

PacingController::PacingController(PacingConfig config)
    : config_(config), ratio_(std::clamp(config.initial_ratio, kMinRatio, config.max_ratio)) {}

void PacingController::RecordDial(absl::Time at, bool answered_human, bool dropped) {
  dials_.push_back({at, answered_human, dropped});
  answered_ += answered_human;
  dropped_ += dropped;
  total_answered_ += answered_human;
  total_dropped_ += dropped;
}

void PacingController::Expire(absl::Time now) {
  if (config_.window == absl::InfiniteDuration()) return;
  while (!dials_.empty() && dials_.front().at < now - config_.window) {
    answered_ -= dials_.front().answered;
    dropped_ -= dials_.front().dropped;
    dials_.pop_front();
  }
}

double PacingController::answer_rate() const {
  return dials_.empty() ? 0 : static_cast<double>(answered_) / static_cast<double>(dials_.size());
}

double PacingController::drop_rate() const {
  return answered_ == 0 ? 0 : static_cast<double>(dropped_) / answered_;
}

double PacingController::Adjust(absl::Time now) {
  if (now < next_adjust_) return ratio_;
  next_adjust_ = now + config_.adjust_interval;
  Expire(now);
  if (static_cast<int>(dials_.size()) < kMinSample || answer_rate() <= 0) return ratio_;
  const double total_drop_rate =
      total_answered_ == 0 ? 0 : static_cast<double>(total_dropped_) / total_answered_;
  // Steered by the recent drop rate (quick to react), guarded by the window's and the whole
  // run's (the cap holds over both).
  const double recent = RecentDropRate(now);
  const double drops = std::max({recent, drop_rate(), total_drop_rate});
  const double answers = answer_rate();
  if (aim_ <= 0) aim_ = ratio_ * answers;
  const double cap = config_.max_drop_rate;
  if (drops > 0.8 * cap) {
    aim_ *= 0.75;
  } else {
    const double error = (0.5 * cap - drops) / cap;
    aim_ *= std::clamp(1 + 0.2 * error, 0.8, 1.1);
  }
  aim_ = std::clamp(aim_, 0.2, 1.5);
  ratio_ = std::clamp(aim_ / answers, kMinRatio, config_.max_ratio);
  return ratio_;
}

double PacingController::RecentDropRate(absl::Time now) const {
  int answered = 0;
  int dropped = 0;
  for (auto it = dials_.rbegin(); it != dials_.rend() && it->at >= now - kRecent; ++it) {
    answered += it->answered;
    dropped += it->dropped;
  }
  return answered < kMinSample / 2 ? 0 : static_cast<double>(dropped) / answered;
}

int PacingController::DialsToStart(int free_operators, int wrapping_up, int dials_ringing) const {
  // Half of the operators in wrap-up are counted: many finish before a customer answers.
  const double soon_free = std::max(0, free_operators) + 0.5 * std::max(0, wrapping_up);
  if (soon_free <= 0) return 0;
  // Never fewer lines than free operators: one line each cannot drop a call (every answer
  // finds the operator it was dialled for), so predictive is never worse than progressive.
  const int lines =
      std::max(free_operators, static_cast<int>(std::floor(ratio_ * soon_free + 0.5)));
  return std::max(0, lines - dials_ringing);
}

DiallerSimulationResult SimulateDialler(const DiallerSimulation& load, bool predictive,
                                        const PacingConfig& pacing) {
  enum class Kind { kRingEnd, kTalkEnd, kWrapEnd, kDropDeadline, kTick };
  struct Event {
    double at;  // seconds
    Kind kind;
    int64_t id;        // the dial (ring end, drop deadline)
    bool reserved_op;  // ring end: the dial held an operator
    bool operator<(const Event& other) const { return at > other.at; }
  };
  std::mt19937_64 random(load.seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  auto exponential = [&](absl::Duration mean) {
    return -std::log(1 - uniform(random)) * absl::ToDoubleSeconds(mean);
  };
  PacingController controller(pacing);
  std::priority_queue<Event> events;
  DiallerSimulationResult result;
  int free_ops = load.operators;
  int ringing = 0;
  std::deque<int64_t> waiting;  // answered predictive calls without an operator
  std::vector<bool> taken;      // per dial: an operator took the answered call
  double now = 0;
  double busy_time = 0;  // operator-seconds talking or wrapping up
  int busy = 0;
  int wrapping = 0;
  const absl::Time epoch = absl::UnixEpoch();

  auto advance = [&](double to) {
    busy_time += busy * (to - now);
    now = to;
  };
  auto start_handling = [&] {
    ++busy;
    ++result.connected;
    events.push({now + exponential(load.mean_talk), Kind::kTalkEnd, -1, false});
  };
  auto dial = [&](bool reserve) {
    const int64_t id = result.dialled++;
    taken.push_back(false);
    if (reserve) --free_ops;
    ++ringing;
    const double ring = std::min(exponential(load.mean_ring), 25.0);
    events.push({now + ring, Kind::kRingEnd, id, reserve});
  };
  auto dial_more = [&] {
    if (predictive) {
      controller.Adjust(epoch + absl::Seconds(now));
      int lines = controller.DialsToStart(free_ops, wrapping, ringing);
      while (lines-- > 0 && result.dialled < load.attempts) dial(false);
    } else {
      while (free_ops > 0 && result.dialled < load.attempts) dial(true);
    }
  };

  events.push({0, Kind::kTick, -1, false});
  while (!events.empty()) {
    const Event event = events.top();
    events.pop();
    advance(event.at);
    switch (event.kind) {
      case Kind::kTick:
        if (result.dialled < load.attempts) events.push({now + 1, Kind::kTick, -1, false});
        break;
      case Kind::kRingEnd: {
        --ringing;
        const double outcome = uniform(random);
        const bool human = outcome < load.human_answer_rate;
        if (!human) {
          if (event.reserved_op) ++free_ops;
          controller.RecordDial(epoch + absl::Seconds(now), false, false);
          break;
        }
        ++result.answered;
        if (event.reserved_op) {
          start_handling();
          controller.RecordDial(epoch + absl::Seconds(now), true, false);
        } else if (free_ops > 0) {
          --free_ops;
          taken[event.id] = true;
          start_handling();
          controller.RecordDial(epoch + absl::Seconds(now), true, false);
        } else {
          waiting.push_back(event.id);
          events.push({now + absl::ToDoubleSeconds(load.drop_timeout), Kind::kDropDeadline,
                       event.id, false});
        }
        break;
      }
      case Kind::kDropDeadline:
        if (!taken[event.id]) {
          taken[event.id] = true;
          waiting.erase(std::find(waiting.begin(), waiting.end(), event.id));
          ++result.dropped;
          controller.RecordDial(epoch + absl::Seconds(now), true, true);
        }
        break;
      case Kind::kTalkEnd:
        ++wrapping;
        events.push({now + absl::ToDoubleSeconds(load.wrap_up), Kind::kWrapEnd, -1, false});
        break;
      case Kind::kWrapEnd:
        --wrapping;
        --busy;
        if (!waiting.empty()) {
          const int64_t next = waiting.front();
          waiting.pop_front();
          taken[next] = true;
          start_handling();
          controller.RecordDial(epoch + absl::Seconds(now), true, false);
        } else {
          ++free_ops;
        }
        break;
    }
    dial_more();
  }
  const double logged_in = load.operators * now;
  result.simulated_time = absl::Seconds(now);
  result.drop_rate =
      result.answered == 0 ? 0 : static_cast<double>(result.dropped) / result.answered;
  result.occupancy = logged_in > 0 ? busy_time / logged_in : 0;
  result.idle_per_call = result.connected == 0
                             ? absl::ZeroDuration()
                             : absl::Seconds((logged_in - busy_time) / result.connected);
  result.final_ratio = predictive ? controller.ratio() : 1.0;
  return result;
}

RetryDecision DecideRetry(const v1::AttemptPolicy& policy, v1::DialOutcome outcome, int attempts,
                          int attempts_with_outcome, absl::Time at, const absl::TimeZone& zone) {
  RetryDecision decision;
  const int max_attempts =
      policy.max_attempts_per_entry() > 0 ? policy.max_attempts_per_entry() : 5;
  v1::RetryRule rule;
  bool has_rule = false;
  for (const v1::RetryRule& candidate : policy.retry_rules()) {
    if (candidate.outcome() == outcome) {
      rule = candidate;
      has_rule = true;
    }
  }
  if (!has_rule) {
    rule.set_outcome(outcome);
    auto set_delay = [&](absl::Duration delay) {
      rule.mutable_delay()->set_seconds(absl::ToInt64Seconds(delay));
    };
    switch (outcome) {
      case v1::DIAL_OUTCOME_BUSY:
        set_delay(absl::Minutes(10));
        break;
      case v1::DIAL_OUTCOME_NO_ANSWER:
        set_delay(absl::Hours(2));
        break;
      case v1::DIAL_OUTCOME_ANSWERING_MACHINE:
        rule.set_next_day(true);
        break;
      case v1::DIAL_OUTCOME_FAILED:
        set_delay(absl::Minutes(15));
        break;
      case v1::DIAL_OUTCOME_DROPPED:
        set_delay(absl::Hours(1));
        break;
      case v1::DIAL_OUTCOME_INVALID_NUMBER:
        rule.set_no_retry(true);
        break;
      case v1::DIAL_OUTCOME_ANSWERED_HUMAN:
        set_delay(absl::Hours(24));
        break;
      default:
        set_delay(absl::Minutes(1));
        break;
    }
  }
  if (rule.no_retry()) {
    decision.final = true;
    decision.final_state = outcome == v1::DIAL_OUTCOME_INVALID_NUMBER
                               ? v1::CAMPAIGN_ENTRY_STATE_INVALID_NUMBER
                               : v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
    decision.reason = absl::StrCat("no retry after ", v1::DialOutcome_Name(outcome));
    return decision;
  }
  if (attempts >= max_attempts) {
    decision.final = true;
    decision.final_state = v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
    decision.reason = absl::StrCat("all ", max_attempts, " attempts made");
    return decision;
  }
  if (rule.max_attempts() > 0 && attempts_with_outcome >= rule.max_attempts()) {
    decision.final = true;
    decision.final_state = v1::CAMPAIGN_ENTRY_STATE_EXHAUSTED;
    decision.reason =
        absl::StrCat(attempts_with_outcome, " attempts ended ", v1::DialOutcome_Name(outcome));
    return decision;
  }
  if (rule.next_day()) {
    const absl::CivilDay today = absl::ToCivilDay(at, zone);
    decision.next_attempt = absl::FromCivil(today + 1, zone);
    return decision;
  }
  absl::Duration delay =
      absl::Seconds(rule.delay().seconds()) + absl::Nanoseconds(rule.delay().nanos());
  const double multiplier = rule.backoff_multiplier() > 0 ? rule.backoff_multiplier() : 1.0;
  delay *= std::pow(multiplier, std::max(0, attempts_with_outcome - 1));
  if (rule.has_max_delay()) {
    delay = std::min(delay, absl::Seconds(rule.max_delay().seconds()));
  }
  decision.next_attempt = at + delay;
  return decision;
}

}  // namespace contactcentre::calls
