#include "core/random.hpp"

#include <algorithm>
#include <cmath>

namespace core {

std::int64_t RandomSource::uniform(std::int64_t low, std::int64_t high) {
  if (high <= low) return low;
  // The span in unsigned arithmetic: high - low overflows int64 for a range
  // wider than half of it (INT64_MIN..INT64_MAX).
  const auto span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  double u = unit();
  if (!(u >= 0.0)) u = 0.0;  // NaN, negative
  // floor(u · (span + 1)), kept at most span (u = 1, and rounding near 2^64).
  const double scaled = std::min(u, 1.0) * (static_cast<double>(span) + 1.0);
  const std::uint64_t offset =
      scaled >= static_cast<double>(span) ? span : static_cast<std::uint64_t>(scaled);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + offset);
}

SystemRandom::SystemRandom() : engine_(std::random_device{}()) {}

double SystemRandom::unit() {
  std::lock_guard lock(mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
}

double FixedRandom::unit() {
  std::lock_guard lock(mutex_);
  if (values_.empty()) return 0.0;
  const double value = values_[next_ % values_.size()];
  ++next_;
  return std::isnan(value) ? 0.0 : std::clamp(value, 0.0, 1.0);
}

RandomSource& system_random() {
  static SystemRandom random;  // thread-safe: SystemRandom locks
  return random;
}

}  // namespace core
