#include "infra/command_runner.hpp"
#include "core/overloaded.hpp"

#include <chrono>

#include <fmt/format.h>

#include "core/strings.hpp"

namespace infra {
namespace {

using core::reply::Message;

// The orchestrator request of a lifecycle command; nullopt for the others.
// Every alternative is named: a new command cannot fall into a lifecycle
// action by default.
std::optional<LifecycleRequest> lifecycle_request(const Command& command) {
  using Maybe = std::optional<LifecycleRequest>;
  return std::visit(core::Overloaded{
                        [](const Stop& c) -> Maybe {
                          return LifecycleRequest{LifecycleAction::stop, c.env, {}};
                        },
                        [](const Start& c) -> Maybe {
                          return LifecycleRequest{LifecycleAction::start, c.env, {}};
                        },
                        [](const Teardown& c) -> Maybe {
                          return LifecycleRequest{LifecycleAction::teardown, c.env, c.level};
                        },
                        [](const Spinup& c) -> Maybe {
                          return LifecycleRequest{LifecycleAction::spinup, c.env, {}};
                        },
                        [](const Reboot& c) -> Maybe {
                          return LifecycleRequest{LifecycleAction::reboot, c.env, {}, c.name};
                        },
                        [](const Help&) -> Maybe { return std::nullopt; },
                        [](const Status&) -> Maybe { return std::nullopt; },
                        [](const WhitelistAdd&) -> Maybe { return std::nullopt; },
                        [](const WhitelistRemove&) -> Maybe { return std::nullopt; },
                        [](const WhitelistList&) -> Maybe { return std::nullopt; },
                        [](const WhitelistRefresh&) -> Maybe { return std::nullopt; },
                    },
                    command);
}

}  // namespace

RunnerSettings RunnerSettings::from(const core::Config& config) {
  return RunnerSettings{
      ParserSettings::from(config),
      views::HelpInfo{config.environments, config.protected_environments,
                      config.default_environment},
  };
}

CommandRunner::CommandRunner(RunnerSettings settings, Policy& policy, Backend& backend,
                             const core::Clock& clock, core::IdSource& ids, core::LoggerPtr logger)
    : settings_(std::move(settings)),
      policy_(policy),
      backend_(backend),
      clock_(clock),
      ids_(ids),
      logger_(std::move(logger)) {}

Admission CommandRunner::admit(std::string_view text, const Requester& who,
                               std::string_view response_url) {
  auto parsed = parse(text);
  if (auto* reply = std::get_if<Reply>(&parsed)) {
    logger_->info("command rejected by parser: user={} channel={} reason={}", who.user_id,
                  who.channel_id, reply->message.text);
    return std::move(*reply);
  }
  return admit(std::get<Command>(std::move(parsed)), who, response_url);
}

std::variant<Reply, Command> CommandRunner::parse(std::string_view text) const {
  auto parsed = parse_command(text, settings_.parser);
  if (!parsed) return Reply{views::render_parse_error(parsed.error()), false};
  return std::move(parsed).value();
}

std::optional<Reply> CommandRunner::refusal(const Command& command, const Requester& who) const {
  if (auto decision = policy_.check(command, who); !decision.allowed()) {
    return deny(command, who, decision);
  }
  return std::nullopt;
}

Admission CommandRunner::admit(Command command, const Requester& who,
                               std::string_view response_url) {
  if (std::holds_alternative<Help>(command)) return Reply{views::render_help(settings_.help), true};

  // What this backend cannot do at all (a full teardown with no orchestrator)
  // is said now, before any modal — after the policy, so a refused user learns
  // nothing about the configuration.
  if (auto why = unsupported(command)) {
    if (auto decision = policy_.check(command, who); !decision.allowed()) {
      return deny(command, who, decision);
    }
    logger_->info("command unsupported by the {} backend: user={} command=\"{}\"", backend_.name(),
                  who.user_id, describe(command));
    return Reply{views::render_unsupported(*why), false};
  }

  // A teardown, at either level, only asks for confirmation here; its cooldown
  // starts when the confirmation is accepted.
  if (const auto* teardown = std::get_if<Teardown>(&command); teardown != nullptr) {
    if (auto decision = policy_.check(command, who); !decision.allowed()) {
      return deny(command, who, decision);
    }
    views::TeardownConfirmation confirmation{teardown->env, teardown->level, who.channel_id,
                                             std::string(response_url)};
    auto modal = views::render_teardown_modal(confirmation);
    return NeedsConfirmation{*teardown, std::move(confirmation), std::move(modal)};
  }
  if (auto decision = policy_.admit(command, who); !decision.allowed()) {
    return deny(command, who, decision);
  }
  return accept(std::move(command), who);
}

Confirmation CommandRunner::confirm_teardown(const views::TeardownConfirmation& confirmation,
                                             std::string_view typed, const Requester& who) {
  Command command = Teardown{confirmation.environment, confirmation.level};
  // The metadata came back from a client: re-validate the environment too.
  const auto& known = settings_.parser.environments;
  if (std::find(known.begin(), known.end(), confirmation.environment) == known.end()) {
    return Reply{views::render_parse_error(
                     core::make_error(core::ErrorCode::invalid_input,
                                      fmt::format("Unknown environment `{}`. Known: {}.",
                                                  confirmation.environment, core::join(known)))),
                 false};
  }
  if (auto decision = policy_.check(command, who); !decision.allowed()) {
    return deny(command, who, decision);
  }
  if (auto why = unsupported(command)) return Reply{views::render_unsupported(*why), false};
  if (core::trim(typed) != confirmation.environment) {
    return ConfirmationMismatch{views::teardown_mismatch_text(confirmation.environment)};
  }
  // Checked again atomically with starting the cooldown: a double submit loses here.
  if (auto decision = policy_.admit(command, who); !decision.allowed()) {
    return deny(command, who, decision);
  }
  return accept(std::move(command), who);
}

std::optional<std::string> CommandRunner::unsupported(const Command& command) const {
  const auto request = lifecycle_request(command);
  if (!request) return std::nullopt;
  return backend_.unsupported(*request);
}

Reply CommandRunner::deny(const Command& command, const Requester& who,
                          const Decision& decision) const {
  logger_->info("command denied: user={} channel={} command=\"{}\" reason={}", who.user_id,
                who.channel_id, describe(command), to_string(decision.reason));
  return Reply{views::render_denied(command, decision), false, decision.reason};
}

Job CommandRunner::accept(Command command, const Requester& who) {
  Job job{std::move(command), who, ids_.next()};
  logger_->info("command accepted: request_id={} user={} channel={} command=\"{}\" backend={}",
                job.request_id, who.user_id, who.channel_id, describe(job.command),
                backend_.name());
  return job;
}

Reply CommandRunner::run(const Job& job) {
  const RequestContext context{job.request_id, job.requester};
  const auto started = clock_.now();
  auto finish = [&](Message message, const core::Error* error) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started);
    if (error != nullptr) {
      logger_->warn("command failed: request_id={} command=\"{}\" code={} detail={} duration_ms={}",
                    job.request_id, describe(job.command), core::to_string(error->code),
                    error->detail.empty() ? error->user_message : error->detail, elapsed.count());
    } else {
      logger_->info("command done: request_id={} command=\"{}\" duration_ms={}", job.request_id,
                    describe(job.command), elapsed.count());
    }
    return Reply{std::move(message), error == nullptr};
  };
  auto render = [&](auto result, auto&& on_success) {
    if (!result) return finish(views::render_failure(job.command, result.error()), &result.error());
    return finish(on_success(*result), nullptr);
  };
  auto lifecycle = [&](const auto& command) {
    const auto request = lifecycle_request(Command{command});
    return render(backend_.run(*request, context),
                  [](const auto& result) { return views::render_action_result(result); });
  };

  return std::visit(
      core::Overloaded{
          [&](const Help&) {
            return Reply{views::render_help(settings_.help), true};
          },
          [&](const Status& c) {
            return render(backend_.status(c.env, context),
                          [](const auto& status) { return views::render_status(status); });
          },
          [&](const WhitelistAdd& c) {
            return render(backend_.whitelist_add(c, context), [&](const auto& added) {
              return views::render_whitelist_added(added, clock_.now());
            });
          },
          [&](const WhitelistRemove& c) {
            return render(backend_.whitelist_remove(c, context), [](const auto& removed) {
              return views::render_whitelist_removed(removed);
            });
          },
          [&](const WhitelistList& c) {
            return render(backend_.whitelist_list(c.env, context), [&](const auto& listing) {
              return views::render_whitelist_list(listing, clock_.now());
            });
          },
          [&](const WhitelistRefresh& c) {
            return render(backend_.whitelist_refresh(c.env, context), [](const auto& refreshed) {
              return views::render_whitelist_refreshed(refreshed);
            });
          },
          [&](const Stop& c) { return lifecycle(c); },
          [&](const Start& c) { return lifecycle(c); },
          [&](const Teardown& c) { return lifecycle(c); },
          [&](const Spinup& c) { return lifecycle(c); },
          [&](const Reboot& c) { return lifecycle(c); },
      },
      job.command);
}

}  // namespace infra
