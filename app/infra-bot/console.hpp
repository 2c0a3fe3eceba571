#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

namespace app {

struct ConsoleOptions {
  std::optional<std::string> command;         ///< -c: run this one line instead of reading stdin
  bool json = false;                          ///< print Block Kit JSON instead of text
  std::string user = "console";               ///< user id for policy checks
  std::string channel = "console";            ///< channel id for policy checks
  std::optional<core::TimePoint> frozen_now;  ///< --now: a clock that moves only on `:advance`
  bool interactive = false;                   ///< stdin is a terminal: prompt, don't echo
};

/// `infra-bot console`: reads /infra lines, runs the real parser, policy and
/// backend, and prints each reply. Returns the process exit code: 0 at end of
/// input; with -c, 1 when the command was refused or failed.
int run_console(const core::Config& config, const ConsoleOptions& options, std::istream& in,
                std::ostream& out, core::LoggerPtr logger);

}  // namespace app
