#include "core/random.hpp"

#include <algorithm>
#include <cmath>

namespace core {

std::int64_t RandomSource::uniform(std::int64_t low, std::int64_t high) {
  if (high <= low) return low;
  const double span = static_cast<double>(high - low);
  const auto offset =
      static_cast<std::int64_t>(std::floor(std::clamp(unit(), 0.0, 1.0) * (span + 1)));
  return std::min(high, low + offset);
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
  return std::clamp(value, 0.0, 1.0);
}

}  // namespace core
