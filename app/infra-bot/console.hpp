#pragma once

#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"

namespace app {

struct ConsoleOptions {
  std::optional<std::string> command;         ///< -c: run this one line instead of reading stdin
  bool json = false;                          ///< print Block Kit JSON instead of text
  std::string user = "console";               ///< user id for policy checks
  std::string channel = "console";            ///< channel id for policy checks
  std::optional<core::TimePoint> frozen_now;  ///< --now: a clock that moves only on `:advance`
  bool interactive = false;                   ///< stdin is a terminal: prompt, don't echo
};

/// The console's clock: the system clock, or a frozen one that only `:advance`
/// moves (reproducible transcripts and demos of TTL expiry and cooldowns).
class ConsoleClock final : public core::Clock {
 public:
  explicit ConsoleClock(std::optional<core::TimePoint> frozen)
      : frozen_(frozen.has_value()),
        at_(frozen.value_or(core::TimePoint{}).time_since_epoch().count()) {}

  core::TimePoint now() const override {
    if (!frozen_) return system_.now();
    return core::TimePoint(core::TimePoint::duration(at_.load()));
  }
  /// Frozen: moves only with advance(), like now().
  core::MonoTime monotonic() const override {
    if (!frozen_) return system_.monotonic();
    return core::MonoTime(std::chrono::duration_cast<core::MonoTime::duration>(
        core::TimePoint::duration(at_.load())));
  }
  bool frozen() const { return frozen_; }
  void advance(std::chrono::seconds by) {
    at_ += std::chrono::duration_cast<core::TimePoint::duration>(by).count();
  }

 private:
  core::SystemClock system_;
  bool frozen_;
  std::atomic<core::TimePoint::rep> at_;
};

/// `infra-bot console`: reads /infra lines, runs the real parser, policy and
/// `backend` (chosen by main: simulated, or the Lambdas), and prints each
/// reply. Policy cooldowns and whitelist times use `clock`. Returns the
/// process exit code: 0 at end of input; with -c, 1 when the command was
/// refused or failed.
int run_console(const core::Config& config, const ConsoleOptions& options, infra::Backend& backend,
                ConsoleClock& clock, std::istream& in, std::ostream& out, core::LoggerPtr logger);

}  // namespace app
