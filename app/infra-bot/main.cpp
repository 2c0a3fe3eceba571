// infra-bot: the /infra Slack ChatOps service and its operator subcommands
// (design §6). main() only parses arguments, builds the Config once and wires.

#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "aws/function_ref.hpp"
#include "console.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitUnavailable = 3;

core::Redactor make_redactor(const core::Config& config, const core::Environment& env) {
  core::Redactor redactor(config.secrets());
  for (const char* name :
       {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}) {
    if (auto value = env.get(name)) redactor.add_secret(*value);
  }
  return redactor;
}

std::optional<core::Config> load(const core::Environment& env, core::RunMode mode) {
  auto config = core::load_config(env, mode);
  if (!config) {
    std::cerr << "infra-bot: " << config.error().user_message << "\n";
    return std::nullopt;
  }
  return std::move(config).value();
}

int run_service(const core::Environment& env) {
  auto config = load(env, core::RunMode::service);
  if (!config) return kExitConfig;
  if (config->backend == core::BackendKind::lambda) {
    for (const auto& [name, value] :
         {std::pair{"ORCHESTRATOR_LAMBDA_ARN", config->orchestrator_lambda_arn},
          std::pair{"IP_WHITELIST_LAMBDA_ARN", config->ip_whitelist_lambda_arn}}) {
      if (auto ref = aws::parse_function_ref(value, config->aws_region); !ref) {
        std::cerr << "infra-bot: " << name << ": " << ref.error().user_message << "\n";
        return kExitConfig;
      }
    }
  }
  auto logger = core::make_stderr_logger("infra-bot", config->log_format, config->log_level,
                                         make_redactor(*config, env));
  logger->error(
      "configuration is valid, but the Slack Socket Mode service is not part of this build yet; "
      "use `infra-bot console` to run /infra commands against the simulated backend");
  return kExitUnavailable;
}

int run_console(const core::Environment& env, app::ConsoleOptions options) {
  auto config = load(env, core::RunMode::console);
  if (!config) return kExitConfig;
  if (config->backend != core::BackendKind::simulated) {
    std::cerr << "infra-bot: INFRA_BACKEND=lambda: this build's console runs on the simulated "
                 "backend only; unset INFRA_BACKEND or set it to simulated\n";
    return kExitConfig;
  }
  // A console user wants replies on stdout, not info logs on stderr.
  const auto level = env.get("LOG_LEVEL") ? config->log_level : core::LogLevel::warn;
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, level, make_redactor(*config, env));
  options.interactive = !options.command && isatty(STDIN_FILENO) == 1;
  return app::run_console(*config, options, std::cin, std::cout, logger);
}

}  // namespace

int main(int argc, char** argv) {
  core::ProcessEnvironment env;

  CLI::App cli{"infra-bot: /infra Slack ChatOps for AWS environments (Socket Mode)", "infra-bot"};
  cli.set_version_flag("--version", std::string("infra-bot ") + INFRA_BOT_VERSION);
  cli.require_subcommand(0, 1);
  cli.footer(
      "Without a subcommand, runs the service (`run`). Configuration comes from the environment:\n"
      "SLACK_APP_TOKEN, SLACK_BOT_TOKEN, ORCHESTRATOR_LAMBDA_ARN, IP_WHITELIST_LAMBDA_ARN,\n"
      "INFRA_BACKEND, INFRA_ENVIRONMENTS, INFRA_PROTECTED_ENVIRONMENTS, INFRA_ALLOWED_USERS, ...\n"
      "(see README.md).");

  auto* run = cli.add_subcommand("run", "Run the Slack Socket Mode service");

  app::ConsoleOptions console_options;
  std::string now_text;
  auto* console = cli.add_subcommand(
      "console", "Type /infra commands in a terminal against the simulated backend");
  console->add_option("-c,--command", console_options.command,
                      "Run one command (e.g. \"/infra status dev\") and exit");
  console->add_flag("--json", console_options.json, "Print Block Kit JSON instead of text");
  if (auto user = env.get("INFRA_CONSOLE_USER"); user && !user->empty()) {
    console_options.user = *user;
  }
  console->add_option("--user", console_options.user,
                      "Slack user id for policy checks (INFRA_CONSOLE_USER; default console)");
  console->add_option("--channel", console_options.channel,
                      "Slack channel id for policy checks (default console)");
  console->add_option("--now", now_text,
                      "Freeze the clock at this RFC 3339 time; `:advance 5m` lines move it");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return cli.exit(error);
  }

  if (console->parsed()) {
    if (!now_text.empty()) {
      console_options.frozen_now = core::parse_rfc3339(now_text);
      if (!console_options.frozen_now) {
        std::cerr << "infra-bot: --now: expected an RFC 3339 time such as 2026-01-01T00:00:00Z\n";
        return kExitConfig;
      }
    }
    return run_console(env, console_options);
  }
  (void)run;
  return run_service(env);
}
