#pragma once

// Randomness as a seam (backoff jitter, keep-alive spread): code takes a
// RandomSource&, tests pass one that answers what they need.

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace core {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  /// Uniform in [0, 1].
  virtual double unit() = 0;
  /// Uniform integer in [low, high] (low when high <= low): floor(unit() ·
  /// (high − low + 1)), so unit() = 1 gives high. Any int64 range.
  std::int64_t uniform(std::int64_t low, std::int64_t high);
};

/// A Mersenne Twister seeded from std::random_device; thread-safe.
class SystemRandom final : public RandomSource {
 public:
  SystemRandom();
  double unit() override;

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

/// The process-wide SystemRandom: the default wherever no RandomSource is
/// passed in.
RandomSource& system_random();

/// Answers the given values in turn, again from the first after the last,
/// clamped to [0, 1] (NaN answers 0); no values: always 0 (tests: 0 = no wait,
/// 1 = the full backoff).
class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(std::vector<double> values) : values_(std::move(values)) {}
  double unit() override;

 private:
  std::mutex mutex_;
  std::vector<double> values_;
  std::size_t next_ = 0;
};

}  // namespace core
