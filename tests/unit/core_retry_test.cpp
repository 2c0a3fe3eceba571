// core::retry (lib/core/include/core/retry.hpp) and core::RandomSource (core/random.hpp): the
// full-jitter bound (doubling, the cap, no overflow for any retry index, the unit clamped), the
// Retry-After values services send and the ones they must not be read as, RandomSource::uniform
// within its bounds, and FixedRandom answering its values in turn.

#include "core/retry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace {

using namespace std::chrono_literals;
using core::retry::full_jitter;
using core::retry::kMaxRetryAfter;
using core::retry::parse_retry_after;
using std::chrono::milliseconds;
using std::chrono::seconds;

// ---------------------------------------------------------------- full_jitter

TEST(FullJitter, UnitTimesTheDoublingBaseUnderTheCap) {
  struct Case {
    milliseconds base;
    milliseconds cap;
    int retry_index;
    double unit;
    milliseconds expected;
  };
  const std::vector<Case> cases = {
      // unit = 1: the whole ceiling min(cap, base · 2^n).
      {1000ms, 20000ms, 0, 1.0, 1000ms},
      {1000ms, 20000ms, 1, 1.0, 2000ms},
      {1000ms, 20000ms, 4, 1.0, 16000ms},
      {1000ms, 20000ms, 5, 1.0, 20000ms},  // 32 s, capped
      {100ms, 250ms, 1, 1.0, 200ms},
      {100ms, 250ms, 2, 1.0, 250ms},
      // A fraction of it, truncated to whole milliseconds.
      {1000ms, 20000ms, 2, 0.25, 1000ms},
      {1000ms, 20000ms, 0, 0.5, 500ms},
      {3ms, 1000ms, 0, 0.5, 1ms},
      {1000ms, 20000ms, 3, 0.0, 0ms},
      // A base above the cap is the cap from the first retry.
      {5000ms, 2000ms, 0, 1.0, 2000ms},
      // Nothing to wait: a zero base or cap, or a negative one.
      {0ms, 20000ms, 0, 1.0, 0ms},
      {0ms, 20000ms, 10, 1.0, 0ms},
      {1000ms, 0ms, 3, 1.0, 0ms},
      {-100ms, 1000ms, 3, 1.0, 0ms},
      {1000ms, -1ms, 3, 1.0, 0ms},
      // A negative retry index counts as the first.
      {1000ms, 20000ms, -3, 1.0, 1000ms},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(full_jitter(c.base, c.cap, c.retry_index, c.unit), c.expected)
        << "base=" << c.base.count() << " cap=" << c.cap.count() << " n=" << c.retry_index
        << " unit=" << c.unit;
  }
}

TEST(FullJitter, HugeRetryIndexStopsAtTheCapWithoutOverflow) {
  for (int n : {30, 62, 63, 64, 1000, std::numeric_limits<int>::max()}) {
    EXPECT_EQ(full_jitter(1000ms, 20000ms, n, 1.0), 20000ms) << n;
    EXPECT_EQ(full_jitter(1ms, 20000ms, n, 0.5), 10000ms) << n;
  }
  // The largest cap there is: the doubling still stops there, and unit = 1 gives it exactly.
  constexpr auto kMax = milliseconds::max();
  EXPECT_EQ(full_jitter(1ms, kMax, 1000, 1.0), kMax);
  EXPECT_EQ(full_jitter(kMax, kMax, 1000, 1.0), kMax);
  const auto almost = full_jitter(1ms, kMax, 1000, std::nextafter(1.0, 0.0));
  EXPECT_GT(almost, kMax / 2);
  EXPECT_LE(almost, kMax);
}

TEST(FullJitter, TheUnitIsClampedToZeroToOne) {
  EXPECT_EQ(full_jitter(1000ms, 20000ms, 0, 7.0), 1000ms);
  EXPECT_EQ(full_jitter(1000ms, 20000ms, 0, -1.0), 0ms);
  EXPECT_EQ(full_jitter(1000ms, 20000ms, 0, std::numeric_limits<double>::infinity()), 1000ms);
  EXPECT_EQ(full_jitter(1000ms, 20000ms, 0, -std::numeric_limits<double>::infinity()), 0ms);
  EXPECT_EQ(full_jitter(1000ms, 20000ms, 0, std::numeric_limits<double>::quiet_NaN()), 0ms);
}

TEST(FullJitter, DrawsItsUnitFromTheRandomSource) {
  core::FixedRandom random({1.0, 0.5, 0.0});
  EXPECT_EQ(full_jitter(100ms, 1000ms, 2, random), 400ms);
  EXPECT_EQ(full_jitter(100ms, 1000ms, 2, random), 200ms);
  EXPECT_EQ(full_jitter(100ms, 1000ms, 2, random), 0ms);
  EXPECT_EQ(full_jitter(100ms, 1000ms, 2, random), 400ms) << "the values cycle";

  // The real source stays under the ceiling.
  for (int i = 0; i < 200; ++i) {
    const auto delay = full_jitter(100ms, 1000ms, i % 6, core::system_random());
    ASSERT_GE(delay, 0ms);
    ASSERT_LE(delay, 1000ms);
  }
}

// ---------------------------------------------------------------- parse_retry_after

TEST(ParseRetryAfter, DelaySecondsAsGiven) {
  struct Case {
    std::string value;
    std::optional<seconds> expected;
  };
  const std::vector<Case> cases = {
      {"0", 0s},
      {"30", 30s},
      {"45", 45s},  // as given: no 30 s cap here
      {"3600", 3600s},
      {" 2 ", 2s},
      {"\t7\t", 7s},
      {"007", 7s},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {"1.5", std::nullopt},
      {"1e3", std::nullopt},
      {"30s", std::nullopt},
      {"3 0", std::nullopt},
      {"Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt},  // HTTP dates are not read
      {"", std::nullopt},
      {"   ", std::nullopt},
      {"0x10", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_retry_after(c.value), c.expected) << '"' << c.value << '"';
  }
}

TEST(ParseRetryAfter, HugeValuesSaturateAtTheMaximum) {
  EXPECT_EQ(kMaxRetryAfter, seconds(365 * 24 * 3600));
  const auto max = std::to_string(kMaxRetryAfter.count());
  const auto over = std::to_string(kMaxRetryAfter.count() + 1);
  EXPECT_EQ(parse_retry_after(max), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after(over), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("18446744073709551615"), kMaxRetryAfter);  // 2^64 − 1
  EXPECT_EQ(parse_retry_after("18446744073709551616"), kMaxRetryAfter);  // 2^64
  EXPECT_EQ(parse_retry_after("99999999999999999999999"), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after(std::string(400, '9')), kMaxRetryAfter);
  // Saturated, it can still be added to a time point.
  const auto later = std::chrono::steady_clock::now() + *parse_retry_after(std::string(50, '9'));
  EXPECT_GT(later, std::chrono::steady_clock::now());
}

// ---------------------------------------------------------------- RandomSource

TEST(RandomSource, UniformStaysWithinItsBounds) {
  // The edges of unit(): 0 gives low, 1 gives high (not high + 1).
  core::FixedRandom edges({0.0, 1.0, 0.5, std::nextafter(1.0, 0.0)});
  EXPECT_EQ(edges.uniform(10, 20), 10);
  EXPECT_EQ(edges.uniform(10, 20), 20);
  EXPECT_EQ(edges.uniform(10, 20), 15);  // floor(0.5 · 11) = 5
  EXPECT_EQ(edges.uniform(10, 20), 20);

  // An empty or reversed range answers low.
  core::FixedRandom one({0.7});
  EXPECT_EQ(one.uniform(5, 5), 5);
  EXPECT_EQ(one.uniform(9, 3), 9);
  EXPECT_EQ(one.uniform(-3, -3), -3);

  // The widest range does not overflow.
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  core::FixedRandom wide({0.0, 1.0, 0.5});
  EXPECT_EQ(wide.uniform(kMin, kMax), kMin);
  EXPECT_EQ(wide.uniform(kMin, kMax), kMax);
  const auto middle = wide.uniform(kMin, kMax);
  EXPECT_GE(middle, -1024);
  EXPECT_LE(middle, 1024);
  core::FixedRandom top({1.0});
  EXPECT_EQ(top.uniform(kMax - 1, kMax), kMax);
  EXPECT_EQ(top.uniform(kMin, kMin + 1), kMin + 1);

  // The real source, many times: always within, and both ends of a small range show up.
  bool saw_low = false;
  bool saw_high = false;
  for (int i = 0; i < 2000; ++i) {
    const auto value = core::system_random().uniform(-2, 2);
    ASSERT_GE(value, -2);
    ASSERT_LE(value, 2);
    saw_low = saw_low || value == -2;
    saw_high = saw_high || value == 2;
  }
  EXPECT_TRUE(saw_low);
  EXPECT_TRUE(saw_high);
}

TEST(RandomSource, SystemRandomUnitIsWithinZeroToOne) {
  core::SystemRandom random;
  for (int i = 0; i < 1000; ++i) {
    const double unit = random.unit();
    ASSERT_GE(unit, 0.0);
    ASSERT_LE(unit, 1.0);
  }
  EXPECT_EQ(&core::system_random(), &core::system_random()) << "one process-wide source";
}

TEST(FixedRandom, AnswersItsValuesInTurnAndCycles) {
  core::FixedRandom random({0.1, 0.2, 0.3});
  std::vector<double> seen;
  for (int i = 0; i < 7; ++i) seen.push_back(random.unit());
  EXPECT_THAT(seen, ::testing::ElementsAre(0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1));
}

TEST(FixedRandom, ClampsItsValuesAndAnswersZeroWhenEmpty) {
  core::FixedRandom random({-1.0, 2.0, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(random.unit(), 0.0);
  EXPECT_EQ(random.unit(), 1.0);
  EXPECT_EQ(random.unit(), 0.0);
  core::FixedRandom empty({});
  EXPECT_EQ(empty.unit(), 0.0);
  EXPECT_EQ(empty.unit(), 0.0);
}

}  // namespace
