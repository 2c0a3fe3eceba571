#include "core/retry.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace core::retry {

std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int retry_index, double unit) {
  const std::int64_t limit = std::max<std::int64_t>(cap.count(), 0);
  std::int64_t ceiling = std::clamp<std::int64_t>(base.count(), 0, limit);
  for (int i = 0; i < retry_index && ceiling < limit; ++i) {
    ceiling = ceiling > limit / 2 ? limit : std::max<std::int64_t>(ceiling * 2, 1);
  }
  const double u = std::clamp(unit, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(u * static_cast<double>(ceiling)));
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
