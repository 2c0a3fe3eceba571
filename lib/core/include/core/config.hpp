#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/environment.hpp"
#include "core/result.hpp"

namespace core {

enum class BackendKind { lambda, simulated };
enum class LogFormat { json, text };
enum class LogLevel { trace, debug, info, warn, error, critical, off };

/// What the process is about to do: it decides which variables are required.
enum class RunMode {
  service,  ///< `infra-bot run`: Slack tokens required; backend defaults to lambda
  console,  ///< `infra-bot console`: no tokens; backend defaults to simulated
};

/// The whole configuration, built once from the environment (design §6) and
/// passed down by const reference. Secrets live only here and in the Redactor.
struct Config {
  // Slack
  std::string slack_app_token;  ///< xapp-…  (secret)
  std::string slack_bot_token;  ///< xoxb-…  (secret)
  std::string slack_api_url = "https://slack.com/api/";
  int socket_connections = 2;

  // Backend and AWS
  BackendKind backend = BackendKind::simulated;
  std::string orchestrator_lambda_arn;  ///< ARN or function name (validated by aws::)
  std::string ip_whitelist_lambda_arn;
  std::string aws_region;        ///< AWS_REGION, else AWS_DEFAULT_REGION; may be empty
  std::string aws_endpoint_url;  ///< AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL
  std::string ssl_cert_file;     ///< CA bundle for every TLS connection; empty = system

  // Policy
  std::vector<std::string> environments{"dev", "staging", "prod"};
  std::vector<std::string> protected_environments{"prod"};
  std::string default_environment = "dev";    ///< "dev" when known, else the first known one
  std::vector<std::string> allowed_users;     ///< empty = anyone
  std::vector<std::string> allowed_channels;  ///< empty = anywhere
  std::vector<std::string> admin_users;       ///< empty = anyone may run tier-2 commands
  std::chrono::seconds cooldown{30};
  int min_prefix_v4 = 16;    ///< broadest IPv4 CIDR accepted at all
  int min_prefix_v6 = 48;    ///< broadest IPv6 CIDR accepted at all
  int admin_prefix_v4 = 24;  ///< CIDRs broader than this need an admin (when admins are set)
  int admin_prefix_v6 = 64;

  // Operations
  std::string audit_channel;  ///< empty = no audit channel
  std::uint16_t health_port = 8080;
  std::string health_address = "0.0.0.0";    ///< INFRA_HEALTH_ADDRESS
  std::chrono::seconds lambda_timeout{900};  ///< INFRA_LAMBDA_TIMEOUT_SECONDS (Lambda's maximum)
  std::chrono::seconds progress_after{20};   ///< INFRA_PROGRESS_SECONDS: first "still working"
  std::chrono::seconds drain_timeout{25};  ///< INFRA_DRAIN_SECONDS: SIGTERM → exit, under ECS's 30
  LogFormat log_format = LogFormat::json;
  LogLevel log_level = LogLevel::info;

  /// Every secret value held here (for the log redactor).
  std::vector<std::string> secrets() const;
};

/// Builds the Config from `env` for `mode`. Every bad or missing variable is
/// named in the one returned error (code config), one line each; secret values
/// never appear in it.
Result<Config> load_config(const Environment& env, RunMode mode);

}  // namespace core
