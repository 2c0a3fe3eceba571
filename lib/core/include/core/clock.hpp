#pragma once

#include <chrono>
#include <string>

namespace core {

using TimePoint = std::chrono::system_clock::time_point;

/// Wall-clock time as a seam: cooldowns, TTLs and backoff take a Clock&, and
/// tests pass a fake they advance by hand. No other code calls now().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// Formats a time point as RFC 3339 UTC with seconds ("2026-11-25T10:00:00Z").
std::string format_rfc3339(TimePoint at);

}  // namespace core
