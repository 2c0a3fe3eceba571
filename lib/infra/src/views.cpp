// Replies about a command itself: help, a parse error, a refusal, "working",
// a failure, busy, progress, shutdown, and the channel and audit lines. The
// other views live beside it: views_status (status card, action results),
// views_whitelist, views_teardown (the confirmation modal), views_format (the
// pieces they share).
#include "infra/views.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/overloaded.hpp"
#include "core/strings.hpp"
#include "views_format.hpp"

namespace infra::views {

using namespace detail;

using core::reply::Context;
using core::reply::Divider;
using core::reply::Header;
using core::reply::Section;
using core::reply::Visibility;

Message render_help(const HelpInfo& info) {
  std::vector<std::string> infrastructure = {
      "`/infra status [env]` — ECS services and RDS instances, with their state",
      "`/infra stop [env]` — stop the ECS services and RDS instances",
      "`/infra start [env]` — start them again",
      "`/infra teardown [env] [--level=services|full]` — after a typed confirmation, at one "
      "of two levels:",
      "• `services` — Stop ECS/RDS only (default, fast)",
      "• `full` — Full infrastructure teardown (requires confirmation)",
      "`/infra spinup [env]` — rebuild what a teardown removed",
      "`/infra reboot [env] [--name=<Name tag>]` — reboot the EC2 instances (or the one named)",
  };
  std::vector<std::string> allow_list = {
      "`/infra whitelist add <ip|cidr> [--ttl=<dur>] [--description='<text>'] [--env=<env>]` — "
      "open ports " +
          std::string(kWhitelistPorts) + " to an address",
      "TTL: `30m`, `12h`, `7d` (1m–1440m, 1h–24h or 1d–365d; default 30d)",
      "`/infra whitelist remove <ip|cidr> [--env=<env>]` — remove an entry",
      "`/infra whitelist list [env]` — entries with who added them and their time left",
      "`/infra whitelist refresh [env]` — re-apply the entries to the security groups",
  };
  std::string environments = core::join(info.environments);
  if (environments.empty()) environments = "none configured";
  std::string protection = info.protected_environments.empty()
                               ? std::string("none protected")
                               : fmt::format(
                                     "protected: {} — never stopped, torn down or rebooted; start, "
                                     "spinup and whitelist changes need an admin",
                                     core::join(info.protected_environments));
  std::string context = info.default_environment.empty()
                            ? fmt::format("Environments: {} ({})", environments, protection)
                            : fmt::format("Environments: {} (default {}; {})", environments,
                                          info.default_environment, protection);
  return message(
      "infra-bot /infra commands: status, stop, start, reboot, teardown, spinup, whitelist",
      {
          Header{"infra-bot — /infra commands"},
          Divider{},
          Section{"Infrastructure:", std::move(infrastructure)},
          Section{"IP allow-list:", std::move(allow_list)},
          Context{std::move(context)},
      },
      Visibility::ephemeral);
}

Message render_parse_error(const core::Error& error) {
  return message(error.user_message,
                 {
                     Section{"", {":warning: " + error.user_message}},
                     Context{"Type `/infra help` for the full syntax."},
                 },
                 Visibility::ephemeral);
}

Message render_denied(const Command& /*command*/, const Decision& decision) {
  // One allocation for the line (this is on the socket thread for every refusal).
  constexpr std::string_view kIcon = ":no_entry: ";
  const std::string_view reason =
      decision.message.empty() ? std::string_view("Not allowed.") : decision.message;
  std::string line;
  line.reserve(kIcon.size() + reason.size());
  line += kIcon;
  line += reason;
  return notice(std::move(line));
}

Message render_working(const Command& command) { return render_working(describe(command)); }

Message render_working(std::string_view described) {
  // It stays where it was shown (Slack does not let us replace a slash command's ack): worded
  // so that it is still true once the result is posted.
  return notice(
      fmt::format("{} Working on `{}`… the result will be posted here.", kBusy, described));
}

Message render_failure(const Command& command, const core::Error& error) {
  // Only the user message: error.detail is for the log and may name internals.
  const std::string reason =
      error.user_message.empty() ? "Something went wrong. Please try again." : error.user_message;
  const auto action = to_string(action_of(command));
  const auto environment = environment_of(command);
  const std::string header =
      environment ? title_line(":x:", action, *environment) : ":x: " + to_upper(action);
  const std::string text =
      environment ? fmt::format("{} {} failed: {}", to_upper(action), *environment, reason)
                  : fmt::format("{} failed: {}", to_upper(action), reason);
  return message(text,
                 {
                     Header{header},
                     Divider{},
                     Section{"", {reason}},
                 },
                 Visibility::ephemeral);
}

Message render_busy(std::string_view running_command, std::string_view started_by,
                    std::chrono::seconds ago) {
  return notice(fmt::format("{} `{}` is already running (started by {} {} ago).", kBusy,
                            running_command, started_by, format_elapsed(ago)));
}

Message render_progress(const Command& command, std::chrono::seconds elapsed) {
  return notice(fmt::format("{} Still working on `{}`… ({} so far)", kBusy, describe(command),
                            format_elapsed(elapsed)));
}

Message render_unsupported(std::string_view why) {
  return notice(":no_entry: " + std::string(why));
}

Message render_shutting_down() {
  return notice(":warning: infra-bot is restarting. Run the command again in a minute.");
}

Message render_interrupted(const Command& command) {
  const auto env = environment_of(command);
  return notice(fmt::format(":warning: `{}` was interrupted — check `/infra status{}`.",
                            describe(command), env ? " " + *env : std::string()));
}

Message render_orphaned(std::string_view command, std::string_view started_by,
                        std::chrono::seconds ago, const std::optional<Message>& state_now) {
  Message message = notice(fmt::format(
      ":warning: The bot restarted while `{}` ran (started by {} {} ago); it may not have "
      "finished.{}",
      command, started_by, format_elapsed(ago),
      state_now ? " Here is the state now:" : " Check `/infra status`."));
  if (state_now) {
    message.blocks.insert(message.blocks.end(), state_now->blocks.begin(), state_now->blocks.end());
  }
  message.visibility = Visibility::in_channel;
  return message;
}

Message for_channel(Message message, std::string_view requested_by) {
  message.blocks.emplace_back(Context{fmt::format("Requested by {}", requested_by)});
  message.visibility = Visibility::in_channel;
  return message;
}

Message render_audit_line(const Command& command, std::string_view who, std::string_view outcome,
                          std::chrono::seconds took) {
  std::string verb = std::visit(
      core::Overloaded{
          [](const Stop& c) { return "stopped " + c.env; },
          [](const Start& c) { return "started " + c.env; },
          [](const Teardown& c) {
            return fmt::format("tore down {} ({})", c.env, to_string(c.level));
          },
          [](const Spinup& c) { return "spun up " + c.env; },
          [](const Reboot& c) {
            return c.name ? fmt::format("rebooted {} in {}", *c.name, c.env) : "rebooted " + c.env;
          },
          [](const WhitelistAdd& c) {
            return fmt::format("whitelisted {} in {}", c.cidr.text, c.env);
          },
          [](const WhitelistRemove& c) {
            return fmt::format("removed {} from the {} whitelist", c.cidr.text, c.env);
          },
          [](const WhitelistRefresh& c) { return "refreshed the " + c.env + " whitelist"; },
          [](const auto& c) { return describe(Command{c}); },
      },
      command);
  std::string line = fmt::format("{} {} — {} in {}", who, verb, outcome, format_elapsed(took));
  return message(line, {Section{"", {line}}}, Visibility::in_channel);
}

}  // namespace infra::views
