#include "core/retry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace core::retry {

std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int retry_index, double unit) {
  const std::int64_t limit = std::max<std::int64_t>(cap.count(), 0);
  std::int64_t ceiling = std::clamp<std::int64_t>(base.count(), 0, limit);
  // A zero base stays zero (min(cap, 0 · 2^n) = 0).
  for (int i = 0; i < retry_index && ceiling > 0 && ceiling < limit; ++i) {
    ceiling = ceiling > limit / 2 ? limit : ceiling * 2;
  }
  const double u = std::isnan(unit) ? 0.0 : std::clamp(unit, 0.0, 1.0);
  // u · ceiling as a double may round up past ceiling (or past int64 near
  // 2^63): keep the product at most ceiling.
  const double scaled = u * static_cast<double>(ceiling);
  return std::chrono::milliseconds(
      scaled >= static_cast<double>(ceiling) ? ceiling : static_cast<std::int64_t>(scaled));
}

std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int retry_index, RandomSource& random) {
  return full_jitter(base, cap, retry_index, random.unit());
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;  // negative, fractional, a date
  }
  std::uint64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc::result_out_of_range) return kMaxRetryAfter;
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  if (seconds > static_cast<std::uint64_t>(kMaxRetryAfter.count())) return kMaxRetryAfter;
  return std::chrono::seconds(static_cast<std::int64_t>(seconds));
}

}  // namespace core::retry
