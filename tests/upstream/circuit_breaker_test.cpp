#include <gtest/gtest.h>

#include "upstream/circuit_breaker.h"

namespace rs::upstream {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  CircuitBreaker b(3, 10s);
  const auto t0 = CircuitBreaker::Clock::time_point{} + 100s;
  b.on_failure(t0);
  b.on_failure(t0);
  b.on_success();  // resets the count: failures must be consecutive
  b.on_failure(t0);
  b.on_failure(t0);
  EXPECT_EQ(b.state(t0), State::kClosed);
  EXPECT_TRUE(b.allow(t0));
  b.on_failure(t0);
  EXPECT_EQ(b.state(t0), State::kOpen);
  EXPECT_FALSE(b.allow(t0 + 9s));
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialThrough) {
  CircuitBreaker b(1, 10s);
  const auto t0 = CircuitBreaker::Clock::time_point{} + 100s;
  b.on_failure(t0);
  EXPECT_FALSE(b.allow(t0 + 5s));
  EXPECT_EQ(b.state(t0 + 10s), State::kHalfOpen);
  EXPECT_TRUE(b.allow(t0 + 10s));
  EXPECT_FALSE(b.allow(t0 + 10s));  // a second caller waits for the trial's outcome
  // The trial fails: open again for a whole cooldown from now.
  b.on_failure(t0 + 11s);
  EXPECT_FALSE(b.allow(t0 + 20s));
  EXPECT_TRUE(b.allow(t0 + 21s));
  b.on_success();
  EXPECT_EQ(b.state(t0 + 21s), State::kClosed);
  EXPECT_TRUE(b.allow(t0 + 21s));
  EXPECT_TRUE(b.allow(t0 + 21s));
}

TEST(CircuitBreaker, HalfOpenTrialFailureReopensEvenBelowThreshold) {
  CircuitBreaker b(5, 1s);
  const auto t0 = CircuitBreaker::Clock::time_point{} + 100s;
  for (int i = 0; i < 5; ++i) b.on_failure(t0);
  ASSERT_TRUE(b.allow(t0 + 1s));
  b.on_failure(t0 + 1s);
  EXPECT_EQ(b.state(t0 + 1s), State::kOpen);
}

}  // namespace
}  // namespace rs::upstream
