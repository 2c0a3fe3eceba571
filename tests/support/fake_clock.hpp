#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.hpp"

namespace test {

/// A clock that moves only when told to. Starts at 2026-01-01T00:00:00Z.
class FakeClock final : public core::Clock {
 public:
  FakeClock() = default;
  explicit FakeClock(core::TimePoint start) : now_(start.time_since_epoch().count()) {}

  core::TimePoint now() const override {
    return core::TimePoint(core::TimePoint::duration(now_.load()));
  }
  /// Starts at an arbitrary steady epoch and moves with advance() (set()
  /// changes wall time only, as a wall clock may jump).
  core::MonoTime monotonic() const override {
    return core::MonoTime(std::chrono::duration_cast<core::MonoTime::duration>(
        core::TimePoint::duration(mono_.load())));
  }
  void advance(std::chrono::system_clock::duration by) {
    now_ += by.count();
    mono_ += by.count();
  }
  void set(core::TimePoint at) { now_ = at.time_since_epoch().count(); }

  static core::TimePoint default_start() {
    return std::chrono::sys_days(std::chrono::year(2026) / 1 / 1);
  }

 private:
  std::atomic<core::TimePoint::rep> now_{default_start().time_since_epoch().count()};
  std::atomic<core::TimePoint::rep> mono_{
      core::TimePoint::duration(std::chrono::hours(1000)).count()};
};

}  // namespace test
