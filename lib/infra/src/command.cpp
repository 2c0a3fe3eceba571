#include "infra/command.hpp"
#include "core/overloaded.hpp"

#include <fmt/format.h>

namespace infra {
std::string_view to_string(TeardownLevel level) {
  return level == TeardownLevel::full ? "full" : "services";
}

Action action_of(const Command& command) {
  return std::visit(core::Overloaded{
                        [](const Help&) { return Action::help; },
                        [](const Status&) { return Action::status; },
                        [](const Stop&) { return Action::stop; },
                        [](const Start&) { return Action::start; },
                        [](const Teardown&) { return Action::teardown; },
                        [](const Spinup&) { return Action::spinup; },
                        [](const WhitelistAdd&) { return Action::whitelist_add; },
                        [](const WhitelistRemove&) { return Action::whitelist_remove; },
                        [](const WhitelistList&) { return Action::whitelist_list; },
                        [](const WhitelistRefresh&) { return Action::whitelist_refresh; },
                        [](const Reboot&) { return Action::reboot; },
                    },
                    command);
}

std::string_view to_string(Action action) {
  switch (action) {
    case Action::help:
      return "help";
    case Action::status:
      return "status";
    case Action::stop:
      return "stop";
    case Action::start:
      return "start";
    case Action::teardown:
      return "teardown";
    case Action::spinup:
      return "spinup";
    case Action::whitelist_add:
      return "whitelist add";
    case Action::whitelist_remove:
      return "whitelist remove";
    case Action::whitelist_list:
      return "whitelist list";
    case Action::whitelist_refresh:
      return "whitelist refresh";
    case Action::reboot:
      return "reboot";
  }
  return "unknown";
}

std::optional<std::string> environment_of(const Command& command) {
  return std::visit(core::Overloaded{
                        [](const Help&) -> std::optional<std::string> { return std::nullopt; },
                        [](const auto& c) -> std::optional<std::string> { return c.env; },
                    },
                    command);
}

bool is_mutating(Action action) {
  switch (action) {
    case Action::stop:
    case Action::start:
    case Action::teardown:
    case Action::spinup:
    case Action::whitelist_add:
    case Action::whitelist_remove:
    case Action::whitelist_refresh:
    case Action::reboot:
      return true;
    case Action::help:
    case Action::status:
    case Action::whitelist_list:
      return false;
  }
  return true;  // unknown: treat as mutating, the safe side
}

bool is_tier_two(Action action) { return action == Action::teardown || action == Action::spinup; }

std::string describe(const Command& command) {
  return std::visit(
      core::Overloaded{
          [](const Help&) { return std::string("help"); },
          [](const Status& c) { return fmt::format("status {}", c.env); },
          [](const Stop& c) { return fmt::format("stop {}", c.env); },
          [](const Start& c) { return fmt::format("start {}", c.env); },
          [](const Teardown& c) {
            return c.level == TeardownLevel::full ? fmt::format("teardown {} --level=full", c.env)
                                                  : fmt::format("teardown {}", c.env);
          },
          [](const Spinup& c) { return fmt::format("spinup {}", c.env); },
          [](const WhitelistAdd& c) {
            return fmt::format("whitelist add {} --env={}", c.cidr.text, c.env);
          },
          [](const WhitelistRemove& c) {
            return fmt::format("whitelist remove {} --env={}", c.cidr.text, c.env);
          },
          [](const WhitelistList& c) { return fmt::format("whitelist list {}", c.env); },
          [](const WhitelistRefresh& c) { return fmt::format("whitelist refresh {}", c.env); },
          [](const Reboot& c) {
            return c.name ? fmt::format("reboot {} --name={}", c.env, *c.name)
                          : fmt::format("reboot {}", c.env);
          },
      },
      command);
}

}  // namespace infra
