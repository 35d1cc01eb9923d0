#include "upstream/circuit_breaker.h"

namespace rs::upstream {

bool CircuitBreaker::allow(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!open_) return true;
  if (now - opened_at_ < cooldown_) return false;
  if (trial_in_flight_) return false;  // half-open: one trial at a time
  trial_in_flight_ = true;
  return true;
}

void CircuitBreaker::on_success() {
  std::lock_guard lock(mu_);
  failures_ = 0;
  open_ = false;
  trial_in_flight_ = false;
}

void CircuitBreaker::on_failure(Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++failures_;
  // A failed half-open trial re-opens at once; a closed breaker opens at the threshold.
  if (trial_in_flight_ || failures_ >= threshold_) {
    open_ = true;
    opened_at_ = now;
  }
  trial_in_flight_ = false;
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (!open_) return State::kClosed;
  return now - opened_at_ < cooldown_ ? State::kOpen : State::kHalfOpen;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

CircuitBreaker::Clock::time_point CircuitBreaker::reopen_at() const {
  std::lock_guard lock(mu_);
  return opened_at_ + cooldown_;
}

const char* to_string(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half-open";
  }
  return "?";
}

}  // namespace rs::upstream
