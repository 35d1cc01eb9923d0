// A circuit breaker per upstream endpoint: after `failure_threshold` consecutive failures the
// endpoint is skipped (open) for `cooldown`; then one trial request is let through (half-open).
// Its success closes the breaker, its failure opens it again for another cooldown. This keeps a
// dead upstream from costing every request a full timeout-and-retry cycle, and lets traffic move
// to the next endpoint of the fallback list at once.
//
// Thread-safe. Time is passed in, so tests drive it without sleeping.
#pragma once

#include <chrono>
#include <mutex>

namespace rs::upstream {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(int failure_threshold, Clock::duration cooldown)
      : threshold_(failure_threshold < 1 ? 1 : failure_threshold), cooldown_(cooldown) {}

  // May a request go to this endpoint now? In half-open state only one caller gets true until
  // that trial reports back.
  bool allow(Clock::time_point now = Clock::now());
  void on_success();
  void on_failure(Clock::time_point now = Clock::now());

  State state(Clock::time_point now = Clock::now()) const;
  int consecutive_failures() const;
  // When an open breaker lets the next trial through.
  Clock::time_point reopen_at() const;

 private:
  mutable std::mutex mu_;
  int threshold_;
  Clock::duration cooldown_;
  int failures_ = 0;
  bool open_ = false;
  bool trial_in_flight_ = false;
  Clock::time_point opened_at_{};
};

const char* to_string(CircuitBreaker::State s);

}  // namespace rs::upstream
