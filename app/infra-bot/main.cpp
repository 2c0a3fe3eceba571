// infra-bot: the /infra Slack ChatOps service and its operator subcommands
// (design §6). main() only parses arguments, builds the Config once and wires.

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "console.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"
#include "infra/lambda_backend.hpp"
#include "infra/simulated_backend.hpp"

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

// The two Lambdas of the configuration, parsed (an ARN, or a name with
// AWS_REGION); nullopt after printing which variable is wrong.
std::optional<std::pair<aws::FunctionRef, aws::FunctionRef>> lambda_functions(
    const core::Config& config, std::string_view command) {
  std::vector<aws::FunctionRef> refs;
  for (const auto& [name, value] :
       {std::pair{"ORCHESTRATOR_LAMBDA_ARN", config.orchestrator_lambda_arn},
        std::pair{"IP_WHITELIST_LAMBDA_ARN", config.ip_whitelist_lambda_arn}}) {
    if (value.empty()) {
      std::cerr << "infra-bot " << command << ": " << name
                << " is not set; it names the Lambda function (an ARN such as "
                   "arn:aws:lambda:eu-west-1:123456789012:function:name)\n";
      return std::nullopt;
    }
    auto ref = aws::parse_function_ref(value, config.aws_region);
    if (!ref) {
      std::cerr << "infra-bot " << command << ": " << name << ": " << ref.error().user_message
                << "\n";
      return std::nullopt;
    }
    refs.push_back(std::move(ref).value());
  }
  return std::pair{std::move(refs[0]), std::move(refs[1])};
}

// The real Lambda backend and everything it stands on; members are declared
// in dependency order so they are destroyed in reverse.
struct LambdaStack {
  core::SystemClock signing_clock;  // SigV4 needs real time, even under `console --now`
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  aws::ThreadSleeper sleeper;
  std::unique_ptr<aws::LambdaClient> lambda;
  std::unique_ptr<infra::LambdaBackend> backend;
};

std::unique_ptr<LambdaStack> make_lambda_stack(const core::Config& config,
                                               const core::Environment& env,
                                               std::pair<aws::FunctionRef, aws::FunctionRef> refs,
                                               const core::Clock& clock, core::LoggerPtr logger) {
  auto stack = std::make_unique<LambdaStack>();
  stack->http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  stack->credentials =
      aws::make_default_credentials_chain(env, *stack->http, stack->signing_clock, logger);
  aws::LambdaSettings settings;
  settings.endpoint_url = config.aws_endpoint_url;
  stack->lambda = std::make_unique<aws::LambdaClient>(settings, *stack->http, *stack->credentials,
                                                      stack->signing_clock, stack->sleeper, logger);
  for (const auto* ref : {&refs.first, &refs.second}) {
    // The ARN's region wins (endpoint and signature); a different AWS_REGION
    // is almost certainly a mistake worth a line at start-up.
    if (!config.aws_region.empty() && ref->region != config.aws_region) {
      logger->warn("Lambda {} is in {} but AWS_REGION/AWS_DEFAULT_REGION is {}; using {}",
                   ref->invoke_name(), ref->region, config.aws_region, ref->region);
    }
  }
  infra::LambdaBackendSettings backend_settings;
  backend_settings.orchestrator = std::move(refs.first);
  backend_settings.whitelist = std::move(refs.second);
  stack->backend = std::make_unique<infra::LambdaBackend>(std::move(backend_settings),
                                                          *stack->lambda, clock, logger);
  logger->info("lambda backend: orchestrator={} whitelist={} endpoint={}",
               config.orchestrator_lambda_arn, config.ip_whitelist_lambda_arn,
               config.aws_endpoint_url.empty() ? "regional" : config.aws_endpoint_url);
  return stack;
}

int run_console(const core::Environment& env, app::ConsoleOptions options) {
  auto config = load(env, core::RunMode::console);
  if (!config) return kExitConfig;
  // A console user wants replies on stdout, not info logs on stderr.
  const auto level = env.get("LOG_LEVEL") ? config->log_level : core::LogLevel::warn;
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, level, make_redactor(*config, env));
  options.interactive = !options.command && isatty(STDIN_FILENO) == 1;

  app::ConsoleClock clock(options.frozen_now);
  std::unique_ptr<LambdaStack> lambda;
  std::unique_ptr<infra::SimulatedBackend> simulated;
  infra::Backend* backend = nullptr;
  if (config->backend == core::BackendKind::lambda) {
    auto refs = lambda_functions(*config, "console");
    if (!refs) return kExitConfig;
    lambda = make_lambda_stack(*config, env, std::move(*refs), clock, logger);
    backend = lambda->backend.get();
  } else {
    simulated = std::make_unique<infra::SimulatedBackend>(config->environments, clock);
    backend = simulated.get();
  }
  return app::run_console(*config, options, *backend, clock, std::cin, std::cout, logger);
}

// Environment with a few variables pinned (iam-policy always wants the
// lambda backend's ARNs, whatever INFRA_BACKEND says).
class PinnedEnvironment final : public core::Environment {
 public:
  PinnedEnvironment(const core::Environment& base, core::MapEnvironment pinned)
      : base_(base), pinned_(std::move(pinned)) {}
  std::optional<std::string> get(std::string_view name) const override {
    if (auto value = pinned_.get(name)) return value;
    return base_.get(name);
  }

 private:
  const core::Environment& base_;
  core::MapEnvironment pinned_;
};

int run_iam_policy(const core::Environment& env) {
  for (const char* name : {"ORCHESTRATOR_LAMBDA_ARN", "IP_WHITELIST_LAMBDA_ARN"}) {
    if (auto value = env.get(name); !value || value->empty()) {
      std::cerr << "infra-bot iam-policy: " << name
                << " is not set; the policy allows exactly the configured functions, so set "
                   "ORCHESTRATOR_LAMBDA_ARN and IP_WHITELIST_LAMBDA_ARN to their ARNs\n";
      return kExitConfig;
    }
  }
  PinnedEnvironment lambda_env(env, core::MapEnvironment{{"INFRA_BACKEND", "lambda"}});
  auto config = load(lambda_env, core::RunMode::console);
  if (!config) return kExitConfig;
  auto refs = lambda_functions(*config, "iam-policy");
  if (!refs) return kExitConfig;
  for (const auto& [name, ref] : {std::pair{"ORCHESTRATOR_LAMBDA_ARN", &refs->first},
                                  std::pair{"IP_WHITELIST_LAMBDA_ARN", &refs->second}}) {
    if (auto alone = aws::invoke_policy_json({*ref}); !alone) {  // a bare name: no account
      std::cerr << "infra-bot iam-policy: " << name << ": " << alone.error().user_message << "\n";
      return kExitConfig;
    }
  }
  auto policy = aws::invoke_policy_json({refs->first, refs->second});
  if (!policy) {
    std::cerr << "infra-bot iam-policy: " << policy.error().user_message << "\n";
    return kExitConfig;
  }
  std::cout << *policy << std::flush;
  return 0;
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
      "console",
      "Type /infra commands in a terminal (INFRA_BACKEND: simulated by default, or lambda)");
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

  auto* iam_policy = cli.add_subcommand(
      "iam-policy",
      "Print the least-privilege IAM policy (lambda:InvokeFunction) for ORCHESTRATOR_LAMBDA_ARN "
      "and IP_WHITELIST_LAMBDA_ARN");

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
  if (iam_policy->parsed()) return run_iam_policy(env);
  (void)run;
  return run_service(env);
}
