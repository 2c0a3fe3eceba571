#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/environment.hpp"
#include "core/result.hpp"
#include "core/secret_ref.hpp"

namespace core {

/// The most INFRA_SOCKET_CONNECTIONS may ask for: Slack allows 10 Socket Mode
/// connections per app, and a rolling deploy runs two processes at once.
inline constexpr int kMaxSocketConnections = 4;

enum class BackendKind { lambda, simulated, aws };
/// What `infra-bot lambda` serves (INFRA_LAMBDA_ROLE): design §4's two contracts.
enum class LambdaRole { orchestrator, whitelist };
enum class LogFormat { json, text };
enum class LogLevel { trace, debug, info, warn, error, critical, off };
/// INFRA_METRICS: how `run` exports its metrics.
enum class MetricsMode {
  prometheus,  ///< GET /metrics on the health server (Prometheus text)
  emf,         ///< CloudWatch EMF lines on stdout every interval (and /metrics as well)
  off,         ///< neither (/metrics answers 404)
};

/// What the process is about to do: it decides which variables are required.
enum class RunMode {
  service,  ///< `infra-bot run`: Slack tokens required; backend defaults to lambda
  console,  ///< `infra-bot console`: no tokens; backend defaults to simulated
  lambda,   ///< `infra-bot lambda`: no tokens; always the aws backend; INFRA_LAMBDA_ROLE required
};

/// Endpoint overrides of the services the aws backend calls, each from
/// AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL; empty = regional.
struct AwsEndpoints {
  std::string ecs;
  std::string rds;
  std::string ec2;
  std::string tagging;  ///< AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API
  /// Read only when a variable references a secret store (ssm: / secretsmanager:).
  std::string ssm;              ///< AWS_ENDPOINT_URL_SSM
  std::string secrets_manager;  ///< AWS_ENDPOINT_URL_SECRETS_MANAGER
  std::string dynamodb;         ///< AWS_ENDPOINT_URL_DYNAMODB; read with INFRA_STATE_TABLE
};

struct Config;

/// A secret variable given as a reference to a store (SLACK_BOT_TOKEN=ssm:/…) rather than
/// its value. The app resolves it once at start (aws::SecretResolver), checks the value with
/// check_secret_value() and stores it in `config.*target`.
struct SecretSetting {
  std::string variable;           ///< "SLACK_BOT_TOKEN"
  SecretRef ref;                  ///< where the value is
  std::string prefix;             ///< what the value must start with ("xoxb-"); empty = any
  std::string Config::*target{};  ///< where the resolved value goes
};

/// The whole configuration, built once from the environment (design §6) and
/// passed down by const reference. Secrets live only here and in the Redactor.
struct Config {
  // Slack
  std::string slack_app_token;  ///< xapp-…  (secret)
  std::string slack_bot_token;  ///< xoxb-…  (secret)
  /// Token variables given as store references: their members above stay empty until the
  /// app has resolved them (before anything uses a token).
  std::vector<SecretSetting> secret_refs;
  std::string slack_api_url = "https://slack.com/api/";
  /// INFRA_ALLOW_INSECURE_ENDPOINTS: http:// accepted in SLACK_API_URL and the
  /// AWS endpoint variables (tests against local fakes); https:// only otherwise.
  bool allow_insecure_endpoints = false;
  int socket_connections = 2;  ///< INFRA_SOCKET_CONNECTIONS, 1..kMaxSocketConnections
  /// `run` starts the Slack front end: both SLACK_*_TOKEN variables were
  /// given (values or references). Without Discord they are required.
  bool slack_configured = false;

  // Discord (issue 17)
  std::string discord_bot_token;    ///< DISCORD_BOT_TOKEN (secret); empty = no Discord
  bool discord_configured = false;  ///< DISCORD_BOT_TOKEN was given (a value or a reference)
  std::string discord_guild_id;     ///< DISCORD_GUILD_ID: the one guild served
  std::string discord_api_url = "https://discord.com/api/v10";  ///< DISCORD_API_URL
  std::vector<std::string> discord_allowed_roles;               ///< INFRA_DISCORD_ALLOWED_ROLES
  std::vector<std::string> discord_admin_roles;                 ///< INFRA_DISCORD_ADMIN_ROLES
  std::vector<std::string> discord_allowed_channels;            ///< INFRA_DISCORD_ALLOWED_CHANNELS

  // Backend and AWS
  BackendKind backend = BackendKind::simulated;
  std::string orchestrator_lambda_arn;  ///< ARN or function name (validated by aws::)
  std::string ip_whitelist_lambda_arn;
  std::string aws_region;               ///< AWS_REGION, else AWS_DEFAULT_REGION; may be empty
  std::string aws_endpoint_url;         ///< AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL
  std::string ssl_cert_file;            ///< CA bundle for every TLS connection; empty = system
  AwsEndpoints aws_endpoints;           ///< the aws backend's services
  std::string tag_key = "Environment";  ///< INFRA_TAG_KEY: tag whose value names the environment
  std::vector<std::uint16_t> whitelist_ports{80, 443, 7233};  ///< INFRA_WHITELIST_PORTS
  LambdaRole lambda_role = LambdaRole::orchestrator;          ///< INFRA_LAMBDA_ROLE (lambda mode)

  // Policy
  std::vector<std::string> environments{"dev", "staging", "prod"};
  std::vector<std::string> protected_environments{"prod"};
  std::string default_environment = "dev";    ///< "dev" when known, else the first known one
  std::vector<std::string> allowed_users;     ///< empty = anyone (only with allow_everyone)
  std::vector<std::string> allowed_channels;  ///< empty = anywhere (only with allow_everyone)
  /// INFRA_ALLOW_EVERYONE: `run` starts with both allow-lists empty only when
  /// the operator says so.
  bool allow_everyone = false;
  /// INFRA_ALLOW_GUESTS: guests and external (Slack Connect) users may use
  /// /infra; by default they are ignored.
  bool allow_guests = false;
  int reads_per_minute =
      10;  ///< INFRA_READ_RATE_LIMIT: status/whitelist list per user; 0 = no limit
  /// INFRA_STATE_TABLE: the DynamoDB table replicas share their state in
  /// (claims, locks, cooldowns, jobs); empty = this process alone, in memory.
  std::string state_table;
  /// INFRA_STATE_CREATE_TABLE: create the table at start when it is missing.
  bool state_create_table = false;
  std::vector<std::string> admin_users;  ///< empty = anyone may run tier-2 commands
  std::chrono::seconds cooldown{30};
  int min_prefix_v4 = 16;    ///< broadest IPv4 CIDR accepted at all
  int min_prefix_v6 = 48;    ///< broadest IPv6 CIDR accepted at all
  int admin_prefix_v4 = 24;  ///< CIDRs broader than this need an admin (when admins are set)
  int admin_prefix_v6 = 64;

  // Operations
  std::string audit_channel;  ///< empty = no audit channel
  /// INFRA_NOTIFY_CHANNEL: where allow-list expiry notices go; defaults to the
  /// audit channel; empty = log only.
  std::string notify_channel;
  /// INFRA_WHITELIST_SWEEP_SECONDS: how often expired allow-list entries are
  /// removed and announced; 0 = never.
  std::chrono::seconds whitelist_sweep{60};
  std::uint16_t health_port = 8080;
  /// INFRA_HEALTH_ADDRESS: loopback by default (the container's and ECS's
  /// health checks run inside the task); 0.0.0.0 exposes it to a scraper.
  std::string health_address = "127.0.0.1";
  std::chrono::seconds lambda_timeout{900};  ///< INFRA_LAMBDA_TIMEOUT_SECONDS (Lambda's maximum)
  std::chrono::seconds progress_after{20};   ///< INFRA_PROGRESS_SECONDS: first "still working"
  std::chrono::seconds drain_timeout{25};  ///< INFRA_DRAIN_SECONDS: SIGTERM → exit, under ECS's 30
  LogFormat log_format = LogFormat::json;
  LogLevel log_level = LogLevel::info;
  MetricsMode metrics_mode = MetricsMode::prometheus;  ///< INFRA_METRICS
  /// INFRA_METRICS_INTERVAL_SECONDS (10–3600): how often `emf` writes.
  std::chrono::seconds metrics_interval{60};

  /// What start-up should warn about (a production-looking environment that
  /// is not protected, …): one line each, logged by the caller.
  std::vector<std::string> warnings;

  /// Every secret value held here (for the log redactor).
  std::vector<std::string> secrets() const;
};

/// Builds the Config from `env` for `mode`. Every bad or missing variable is
/// named in the one returned error (code config), one line each; secret values
/// never appear in it.
Result<Config> load_config(const Environment& env, RunMode mode);

/// Checks a value read from a store for `setting` (not empty, the expected prefix) and stores
/// it in `config`. The config Error names the variable and the reference, never the value.
Result<void> apply_secret(Config& config, const SecretSetting& setting, std::string value);

}  // namespace core
