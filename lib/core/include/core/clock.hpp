#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace core {

using TimePoint = std::chrono::system_clock::time_point;
/// Monotonic time: intervals, deadlines, timers (never shown to anyone).
using MonoTime = std::chrono::steady_clock::time_point;

/// The one time source: wall time (cooldowns, TTLs, what users read) and
/// monotonic time (intervals, deadlines, keep-alive). Code takes a Clock& (or
/// a core::Scheduler, whose now() is monotonic) and tests pass a fake they
/// advance by hand. No other code calls a std clock's now().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual MonoTime monotonic() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonic() const override { return std::chrono::steady_clock::now(); }
};

/// Formats a time point as RFC 3339 UTC with seconds ("2026-11-25T10:00:00Z").
std::string format_rfc3339(TimePoint at);

/// Parses RFC 3339 ("2026-11-25T10:00:00Z", "…T10:00:00.5+01:00"); fractions
/// are truncated to seconds. nullopt for anything else.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace core
