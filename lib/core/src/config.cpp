#include "core/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>

#include "core/redactor.hpp"
#include "core/strings.hpp"

namespace core {
namespace {

// Collects every problem so the operator fixes them all in one go.
class Problems {
 public:
  void add(std::string_view variable, std::string_view what) {
    lines_.push_back(fmt::format("{}: {}", variable, what));
  }
  bool empty() const { return lines_.empty(); }
  // Values are echoed to help the operator, but a token pasted into the wrong
  // variable must not end up in the container's logs: redact by pattern, and
  // by value the tokens no pattern knows (a Discord bot token has no prefix).
  Error to_error(std::vector<std::string> secrets) const {
    return make_error(
        ErrorCode::config,
        Redactor(std::move(secrets)).redact("invalid configuration:\n  " + join(lines_, "\n  ")));
  }

 private:
  std::vector<std::string> lines_;
};

// A set, non-empty value; an empty variable counts as unset.
std::optional<std::string> read(const Environment& env, std::string_view name) {
  auto value = env.get(name);
  if (!value) return std::nullopt;
  auto trimmed = trim(*value);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

std::optional<long long> read_int(const Environment& env, std::string_view name, long long min,
                                  long long max, Problems& problems) {
  auto text = read(env, name);
  if (!text) return std::nullopt;
  long long value = 0;
  const auto* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) {
    problems.add(name,
                 fmt::format("expected a whole number from {} to {}, got \"{}\"", min, max, *text));
    return std::nullopt;
  }
  return value;
}

bool valid_environment_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  };
  return std::all_of(name.begin(), name.end(), ok) && name.front() != '-' && name.front() != '_';
}

// Slack ids look like U012ABCDEF, W…, C…, G…, D…: an upper-case letter, then
// upper-case letters and digits.
bool valid_slack_id(std::string_view id, std::string_view first_letters) {
  if (id.size() < 3 || id.size() > 24) return false;
  if (first_letters.find(id.front()) == std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

std::vector<std::string> read_ids(const Environment& env, std::string_view name,
                                  std::string_view first_letters, std::string_view example,
                                  Problems& problems) {
  auto text = read(env, name);
  if (!text) return {};
  auto ids = split_list(*text);
  for (const auto& id : ids) {
    if (!valid_slack_id(id, first_letters)) {
      problems.add(name, fmt::format("\"{}\" is not a Slack ID (they look like {})", id, example));
    }
  }
  return ids;
}

bool is_snowflake(std::string_view id) {
  return id.size() >= 17 && id.size() <= 20 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Discord role and channel IDs (snowflakes), comma-separated.
std::vector<std::string> read_snowflakes(const Environment& env, std::string_view name,
                                         Problems& problems) {
  auto text = read(env, name);
  if (!text) return {};
  auto ids = split_list(*text);
  for (const auto& id : ids) {
    if (!is_snowflake(id)) {
      problems.add(name, fmt::format("\"{}\" is not a Discord ID (17 to 20 digits, such as "
                                     "1234567890123456789)",
                                     id));
    }
  }
  return ids;
}

bool is_http_url(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

// true/false, also 1/0, yes/no, on/off; anything else is a problem, not "false".
std::optional<bool> read_bool(const Environment& env, std::string_view name, Problems& problems) {
  auto text = read(env, name);
  if (!text) return std::nullopt;
  const auto lower = to_lower(*text);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  problems.add(name, fmt::format("expected true or false, got \"{}\"", *text));
  return std::nullopt;
}

// prod, production, prd, live, prod-eu, eu-prod, app-production…: names
// people give production; a part between - and _ is looked at on its own.
bool looks_like_production(std::string_view name) {
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find_first_of("-_", start), name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.starts_with("prod") || part == "prd" || part == "live") return true;
    start = end + 1;
  }
  return false;
}

void read_token(const Environment& env, std::string_view name, std::string_view prefix,
                bool required, std::string Config::*target, Config& config, Problems& problems) {
  auto value = read(env, name);
  if (!value) {
    if (required) problems.add(name, fmt::format("required; set it to the {}… token", prefix));
    return;
  }
  // ssm:/… or secretsmanager:…: resolved by the app at start; the form is checked here.
  auto ref = parse_secret_ref(*value);
  if (!ref) {
    problems.add(name, ref.error().user_message);
    return;
  }
  if (*ref) {
    config.secret_refs.push_back(
        SecretSetting{std::string(name), std::move(**ref), std::string(prefix), target});
    return;
  }
  // Never echo the value: a mistyped token is still a secret.
  if (!value->starts_with(prefix) || value->size() <= prefix.size()) {
    problems.add(name, fmt::format("must be a token starting with \"{}\" (or a reference: "
                                   "ssm:<parameter>, secretsmanager:<secret>[#<key>])",
                                   prefix));
    return;
  }
  config.*target = std::move(*value);
}

}  // namespace

std::vector<std::string> Config::secrets() const {
  std::vector<std::string> out;
  if (!slack_app_token.empty()) out.push_back(slack_app_token);
  if (!slack_bot_token.empty()) out.push_back(slack_bot_token);
  if (!discord_bot_token.empty()) out.push_back(discord_bot_token);
  return out;
}

Result<Config> load_config(const Environment& env, RunMode mode) {
  Config config;
  Problems problems;

  const bool service = mode == RunMode::service;
  // `run` serves Slack, Discord or both: the Slack tokens are required unless
  // Discord is configured, and then only together.
  config.discord_configured = read(env, "DISCORD_BOT_TOKEN").has_value();
  const bool slack_given =
      read(env, "SLACK_APP_TOKEN").has_value() || read(env, "SLACK_BOT_TOKEN").has_value();
  const bool slack_required = service && (slack_given || !config.discord_configured);
  read_token(env, "SLACK_APP_TOKEN", "xapp-", slack_required, &Config::slack_app_token, config,
             problems);
  read_token(env, "SLACK_BOT_TOKEN", "xoxb-", slack_required, &Config::slack_bot_token, config,
             problems);
  config.slack_configured =
      read(env, "SLACK_APP_TOKEN").has_value() && read(env, "SLACK_BOT_TOKEN").has_value();
  if (config.discord_configured) {
    // Discord's bot tokens have no fixed prefix.
    read_token(env, "DISCORD_BOT_TOKEN", "", false, &Config::discord_bot_token, config, problems);
    config.discord_guild_id = read(env, "DISCORD_GUILD_ID").value_or("");
    if (config.discord_guild_id.empty()) {
      if (service) {
        problems.add("DISCORD_GUILD_ID",
                     "required with DISCORD_BOT_TOKEN: the ID of the one Discord server (guild) "
                     "infra-bot serves; other servers and direct messages are refused");
      }
    } else if (!is_snowflake(config.discord_guild_id)) {
      problems.add("DISCORD_GUILD_ID", fmt::format("\"{}\" is not a Discord ID (17 to 20 digits)",
                                                   config.discord_guild_id));
    }
  }

  config.allow_insecure_endpoints =
      read_bool(env, "INFRA_ALLOW_INSECURE_ENDPOINTS", problems).value_or(false);
  // Plain http:// would carry the bot token and SigV4-signed requests in the
  // clear: only for local fakes, and only when the operator says so.
  const auto scheme_allowed = [&](std::string_view url) {
    return url.starts_with("https://") ||
           (config.allow_insecure_endpoints && url.starts_with("http://"));
  };
  if (auto url = read(env, "SLACK_API_URL")) {
    if (!is_http_url(*url)) {
      problems.add("SLACK_API_URL", "must be an https:// URL such as https://slack.com/api/");
    } else if (!scheme_allowed(*url)) {
      problems.add("SLACK_API_URL",
                   "must be an https:// URL (http:// only with "
                   "INFRA_ALLOW_INSECURE_ENDPOINTS=true, for local tests)");
    } else {
      config.slack_api_url = *url;
      if (!config.slack_api_url.ends_with('/')) config.slack_api_url += '/';
    }
  }
  if (auto url = read(env, "DISCORD_API_URL")) {
    if (!is_http_url(*url) || !scheme_allowed(*url)) {
      problems.add("DISCORD_API_URL",
                   "must be an https:// URL such as https://discord.com/api/v10 (http:// only "
                   "with INFRA_ALLOW_INSECURE_ENDPOINTS=true, for local tests)");
    } else {
      config.discord_api_url = *url;
      while (config.discord_api_url.ends_with('/')) config.discord_api_url.pop_back();
    }
  }
  // At most 4: Slack allows 10 Socket Mode connections per app (more get
  // too_many_websockets), and a rolling deploy runs the old and the new
  // process side by side, doubling them (kMaxSocketConnections).
  if (auto text = read(env, "INFRA_SOCKET_CONNECTIONS")) {
    long long n = 0;
    const auto* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, n);
    if (ec != std::errc{} || ptr != end || n < 1 || n > kMaxSocketConnections) {
      problems.add("INFRA_SOCKET_CONNECTIONS",
                   fmt::format("expected a whole number from 1 to {}, got \"{}\" (Slack allows 10 "
                               "Socket Mode connections per app, and a rolling deploy doubles "
                               "them while old and new run side by side)",
                               kMaxSocketConnections, *text));
    } else {
      config.socket_connections = static_cast<int>(n);
    }
  }

  config.backend = service ? BackendKind::lambda : BackendKind::simulated;
  if (auto backend = read(env, "INFRA_BACKEND")) {
    const auto lower = to_lower(*backend);
    if (lower == "lambda")
      config.backend = BackendKind::lambda;
    else if (lower == "simulated")
      config.backend = BackendKind::simulated;
    else if (lower == "aws")
      config.backend = BackendKind::aws;
    else
      problems.add("INFRA_BACKEND",
                   fmt::format("expected lambda, aws or simulated, got \"{}\"", *backend));
  }
  if (mode == RunMode::lambda) {
    // The Lambda serves the contract on top of AWS itself, whatever else is set.
    config.backend = BackendKind::aws;
    if (auto role = read(env, "INFRA_LAMBDA_ROLE")) {
      const auto lower = to_lower(*role);
      if (lower == "orchestrator")
        config.lambda_role = LambdaRole::orchestrator;
      else if (lower == "whitelist")
        config.lambda_role = LambdaRole::whitelist;
      else
        problems.add("INFRA_LAMBDA_ROLE",
                     fmt::format("expected orchestrator or whitelist, got \"{}\"", *role));
    } else {
      problems.add("INFRA_LAMBDA_ROLE",
                   "required for `infra-bot lambda`: orchestrator or whitelist");
    }
  }
  config.orchestrator_lambda_arn = read(env, "ORCHESTRATOR_LAMBDA_ARN").value_or("");
  config.ip_whitelist_lambda_arn = read(env, "IP_WHITELIST_LAMBDA_ARN").value_or("");
  if (config.backend == BackendKind::lambda) {
    if (config.orchestrator_lambda_arn.empty()) {
      problems.add("ORCHESTRATOR_LAMBDA_ARN",
                   "required for the lambda backend (or set INFRA_BACKEND=aws or simulated)");
    }
    // IP_WHITELIST_LAMBDA_ARN is optional: without it whitelist commands are
    // refused with one line (the seed's deployments may have no such Lambda).
  }
  if (mode == RunMode::lambda) {
    // A Lambda never calls another Lambda: teardown full and spinup are its own to refuse.
    config.orchestrator_lambda_arn.clear();
    config.ip_whitelist_lambda_arn.clear();
  }
  config.aws_region =
      read(env, "AWS_REGION").value_or(read(env, "AWS_DEFAULT_REGION").value_or(""));
  // AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL (the SDKs' order).
  // An endpoint is logged at start-up: credentials in it (user:secret@host) are refused,
  // and never echoed.
  const std::string_view kEndpointRule =
      config.allow_insecure_endpoints
          ? "must be an http:// or https:// URL without a user name or password"
          : "must be an https:// URL without a user name or password (http:// only with "
            "INFRA_ALLOW_INSECURE_ENDPOINTS=true, for local tests)";
  const auto usable_endpoint = [&](std::string_view url) {
    if (!scheme_allowed(url)) return false;
    const auto authority = url.substr(url.find("://") + 3);
    return authority.substr(0, authority.find_first_of("/?#")).find('@') == std::string_view::npos;
  };
  std::string generic_endpoint;
  if (auto url = read(env, "AWS_ENDPOINT_URL")) {
    if (!usable_endpoint(*url))
      problems.add("AWS_ENDPOINT_URL", kEndpointRule);
    else
      generic_endpoint = *url;
  }
  const auto endpoint_for = [&](std::string_view service_variable) {
    if (auto url = read(env, service_variable)) {
      if (usable_endpoint(*url)) return *url;
      problems.add(service_variable, kEndpointRule);
    }
    return generic_endpoint;
  };
  config.aws_endpoint_url = endpoint_for("AWS_ENDPOINT_URL_LAMBDA");
  // The credential chain reads these itself (lib/aws); checked here too, so that a plain-http
  // STS or SSO endpoint, whose answers carry credentials, stops the start-up like the others.
  for (const auto* variable :
       {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC"}) {
    (void)endpoint_for(variable);
  }
  if (config.backend == BackendKind::aws) {
    config.aws_endpoints.ecs = endpoint_for("AWS_ENDPOINT_URL_ECS");
    config.aws_endpoints.rds = endpoint_for("AWS_ENDPOINT_URL_RDS");
    config.aws_endpoints.ec2 = endpoint_for("AWS_ENDPOINT_URL_EC2");
    config.aws_endpoints.tagging = endpoint_for("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API");
    if (config.aws_region.empty()) {
      problems.add("AWS_REGION", "required for the aws backend (the region of the resources)");
    }
  }
  if (!config.secret_refs.empty()) {
    config.aws_endpoints.ssm = endpoint_for("AWS_ENDPOINT_URL_SSM");
    config.aws_endpoints.secrets_manager = endpoint_for("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    // Only `run` (and doctor, which reads as `run` does) resolves them: the
    // console, iam-policy and the Lambdas never read the tokens.
    for (const auto& setting : config.secret_refs) {
      if (mode == RunMode::service && config.aws_region.empty() &&
          setting.ref.arn_region().empty()) {
        problems.add(setting.variable,
                     fmt::format("{} needs AWS_REGION (or the full ARN, which names its region)",
                                 setting.ref.to_string()));
      }
    }
  }
  if (auto key = read(env, "INFRA_TAG_KEY")) {
    // IAM tag keys: 1-128 characters; "aws:" is reserved for AWS's own.
    if (key->size() > 128 || to_lower(*key).starts_with("aws:")) {
      problems.add("INFRA_TAG_KEY",
                   "must be a tag key of at most 128 characters, not starting with \"aws:\"");
    } else {
      config.tag_key = *key;
    }
  }
  if (auto text = read(env, "INFRA_WHITELIST_PORTS")) {
    std::vector<std::uint16_t> ports;
    bool bad = false;
    for (const auto& item : split_list(*text)) {
      int port = 0;
      const auto* end = item.data() + item.size();
      auto [ptr, ec] = std::from_chars(item.data(), end, port);
      if (ec != std::errc{} || ptr != end || port < 1 || port > 65535) {
        problems.add("INFRA_WHITELIST_PORTS", fmt::format("\"{}\" is not a port (1-65535)", item));
        bad = true;
      } else if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
        ports.push_back(static_cast<std::uint16_t>(port));
      }
    }
    if (!bad && (ports.empty() || ports.size() > 20)) {
      problems.add("INFRA_WHITELIST_PORTS", "expected 1 to 20 ports, like 80,443,7233");
    } else if (!bad) {
      config.whitelist_ports = std::move(ports);
    }
  }
  if (auto file = read(env, "SSL_CERT_FILE")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*file, ec)) {
      problems.add("SSL_CERT_FILE", fmt::format("\"{}\" is not a readable file", *file));
    } else {
      config.ssl_cert_file = *file;
    }
  }

  if (auto text = read(env, "INFRA_ENVIRONMENTS")) {
    std::vector<std::string> envs;
    for (auto& name : split_list(to_lower(*text))) {
      if (!valid_environment_name(name)) {
        problems.add("INFRA_ENVIRONMENTS",
                     fmt::format("\"{}\" is not a valid name (a-z, 0-9, - and _, up to 32)", name));
      } else if (std::find(envs.begin(), envs.end(), name) != envs.end()) {
        problems.add("INFRA_ENVIRONMENTS", fmt::format("\"{}\" is listed twice", name));
      } else {
        envs.push_back(std::move(name));
      }
    }
    if (envs.empty())
      problems.add("INFRA_ENVIRONMENTS", "lists no environment");
    else
      config.environments = std::move(envs);
  }
  const auto& known = config.environments;
  config.default_environment =
      std::find(known.begin(), known.end(), "dev") != known.end() ? "dev" : known.front();
  // Unset means "prod" (when it is known); protecting nothing must be said
  // with "none": an empty value or a list of unknown names never silently
  // drops the guard.
  const bool guards_matter = mode != RunMode::lambda;
  const auto protected_text = env.get("INFRA_PROTECTED_ENVIRONMENTS");
  const bool explicitly_none = protected_text && to_lower(trim(*protected_text)) == "none";
  if (protected_text && !explicitly_none) {
    config.protected_environments.clear();
    if (split_list(*protected_text).empty() && guards_matter) {
      problems.add("INFRA_PROTECTED_ENVIRONMENTS",
                   "is empty; name the environments to protect, or set it to \"none\" to "
                   "protect none");
    }
    for (auto& name : split_list(to_lower(*protected_text))) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        problems.add("INFRA_PROTECTED_ENVIRONMENTS",
                     fmt::format("\"{}\" is not in INFRA_ENVIRONMENTS ({})", name, join(known)));
      } else {
        config.protected_environments.push_back(std::move(name));
      }
    }
  } else {
    config.protected_environments.clear();
    if (!explicitly_none && std::find(known.begin(), known.end(), "prod") != known.end()) {
      config.protected_environments.push_back("prod");
    }
    if (!explicitly_none && config.protected_environments.empty() && guards_matter) {
      problems.add("INFRA_PROTECTED_ENVIRONMENTS",
                   fmt::format("no environment is protected (INFRA_ENVIRONMENTS is {}, without "
                               "\"prod\"); name the ones to protect, or set it to \"none\" to "
                               "protect none",
                               join(known)));
    }
  }
  for (const auto& name : known) {
    const auto& guarded = config.protected_environments;
    if (guards_matter && looks_like_production(name) &&
        std::find(guarded.begin(), guarded.end(), name) == guarded.end()) {
      config.warnings.push_back(
          fmt::format("environment \"{}\" looks like production but is not protected: stop, "
                      "teardown and reboot run there (add it to "
                      "INFRA_PROTECTED_ENVIRONMENTS)",
                      name));
    }
  }

  config.discord_allowed_roles = read_snowflakes(env, "INFRA_DISCORD_ALLOWED_ROLES", problems);
  config.discord_admin_roles = read_snowflakes(env, "INFRA_DISCORD_ADMIN_ROLES", problems);
  config.discord_allowed_channels =
      read_snowflakes(env, "INFRA_DISCORD_ALLOWED_CHANNELS", problems);
  config.allowed_users = read_ids(env, "INFRA_ALLOWED_USERS", "UW", "U012ABCDEF", problems);
  config.allowed_channels = read_ids(env, "INFRA_ALLOWED_CHANNELS", "CGD", "C012ABCDEF", problems);
  config.admin_users = read_ids(env, "INFRA_ADMIN_USERS", "UW", "U012ABCDEF", problems);
  config.allow_everyone = read_bool(env, "INFRA_ALLOW_EVERYONE", problems).value_or(false);
  config.allow_guests = read_bool(env, "INFRA_ALLOW_GUESTS", problems).value_or(false);
  // Closed unless opened: a service nobody scoped would let every member of
  // the workspace act on every environment.
  // Admin roles alone do not scope it: everyone else could still run the
  // commands that need no admin (as INFRA_ADMIN_USERS alone does not for Slack).
  if (service && config.discord_configured && config.discord_allowed_roles.empty() &&
      config.discord_allowed_channels.empty() && !config.allow_everyone) {
    problems.add("INFRA_DISCORD_ALLOWED_ROLES",
                 "set INFRA_DISCORD_ALLOWED_ROLES or INFRA_DISCORD_ALLOWED_CHANNELS to say who may "
                 "use /infra on Discord, or INFRA_ALLOW_EVERYONE=true to let every member of the "
                 "server use it");
  }
  if (service && (config.slack_configured || !config.discord_configured) &&
      config.allowed_users.empty() && config.allowed_channels.empty() && !config.allow_everyone) {
    problems.add("INFRA_ALLOWED_USERS",
                 "set INFRA_ALLOWED_USERS or INFRA_ALLOWED_CHANNELS to say who may use /infra, "
                 "or INFRA_ALLOW_EVERYONE=true to let every member of the workspace use it");
  }
  config.state_table = read(env, "INFRA_STATE_TABLE").value_or("");
  if (!config.state_table.empty()) {
    config.aws_endpoints.dynamodb = endpoint_for("AWS_ENDPOINT_URL_DYNAMODB");
    // DynamoDB's table names: 3 to 255 of [A-Za-z0-9_.-].
    const bool valid =
        config.state_table.size() >= 3 && config.state_table.size() <= 255 &&
        std::all_of(config.state_table.begin(), config.state_table.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    if (!valid) {
      problems.add("INFRA_STATE_TABLE",
                   "INFRA_STATE_TABLE must be a DynamoDB table name: 3 to 255 letters, digits, "
                   "'_', '-' or '.'");
    } else if (config.aws_region.empty()) {
      problems.add("INFRA_STATE_TABLE",
                   "INFRA_STATE_TABLE needs AWS_REGION (or AWS_DEFAULT_REGION): the table's "
                   "region");
    }
  }
  config.state_create_table = read_bool(env, "INFRA_STATE_CREATE_TABLE", problems).value_or(false);
  if (config.state_create_table && config.state_table.empty()) {
    problems.add("INFRA_STATE_CREATE_TABLE",
                 "INFRA_STATE_CREATE_TABLE=true needs INFRA_STATE_TABLE (the table to create)");
  }
  if (auto n = read_int(env, "INFRA_READ_RATE_LIMIT", 0, 10000, problems)) {
    config.reads_per_minute = static_cast<int>(*n);
  }
  if (auto n = read_int(env, "INFRA_COOLDOWN_SECONDS", 0, 86400, problems)) {
    config.cooldown = std::chrono::seconds(*n);
  }
  if (auto n = read_int(env, "INFRA_MIN_CIDR_PREFIX_V4", 1, 32, problems)) {
    config.min_prefix_v4 = static_cast<int>(*n);
  }
  if (auto n = read_int(env, "INFRA_MIN_CIDR_PREFIX_V6", 1, 128, problems)) {
    config.min_prefix_v6 = static_cast<int>(*n);
  }
  if (auto channel = read(env, "INFRA_AUDIT_CHANNEL")) {
    if (!valid_slack_id(*channel, "CG")) {
      problems.add("INFRA_AUDIT_CHANNEL",
                   fmt::format("\"{}\" is not a channel ID (they look like C012ABCDEF)", *channel));
    } else {
      config.audit_channel = *channel;
    }
  }
  config.notify_channel = config.audit_channel;
  if (auto channel = read(env, "INFRA_NOTIFY_CHANNEL")) {
    if (!valid_slack_id(*channel, "CG")) {
      problems.add("INFRA_NOTIFY_CHANNEL",
                   fmt::format("\"{}\" is not a channel ID (they look like C012ABCDEF)", *channel));
    } else {
      config.notify_channel = *channel;
    }
  }
  if (auto n = read_int(env, "INFRA_WHITELIST_SWEEP_SECONDS", 0, 86400, problems)) {
    config.whitelist_sweep = std::chrono::seconds(*n);
  }
  if (auto port = read_int(env, "INFRA_HEALTH_PORT", 0, 65535, problems)) {
    config.health_port = static_cast<std::uint16_t>(*port);
  }
  if (auto address = read(env, "INFRA_HEALTH_ADDRESS")) {
    unsigned char buffer[16];
    if (::inet_pton(AF_INET, address->c_str(), buffer) != 1 &&
        ::inet_pton(AF_INET6, address->c_str(), buffer) != 1) {
      problems.add(
          "INFRA_HEALTH_ADDRESS",
          fmt::format("\"{}\" is not an IP address (e.g. 0.0.0.0 or 127.0.0.1)", *address));
    } else {
      config.health_address = *address;
    }
  }
  if (auto n = read_int(env, "INFRA_LAMBDA_TIMEOUT_SECONDS", 1, 900, problems)) {
    config.lambda_timeout = std::chrono::seconds(*n);
  }
  if (auto n = read_int(env, "INFRA_PROGRESS_SECONDS", 1, 3600, problems)) {
    config.progress_after = std::chrono::seconds(*n);
  }
  if (auto n = read_int(env, "INFRA_DRAIN_SECONDS", 0, 3600, problems)) {
    config.drain_timeout = std::chrono::seconds(*n);
  }

  if (auto metrics = read(env, "INFRA_METRICS")) {
    const auto lower = to_lower(*metrics);
    if (lower == "prometheus")
      config.metrics_mode = MetricsMode::prometheus;
    else if (lower == "emf")
      config.metrics_mode = MetricsMode::emf;
    else if (lower == "off")
      config.metrics_mode = MetricsMode::off;
    else
      problems.add("INFRA_METRICS",
                   fmt::format("expected prometheus, emf or off, got \"{}\"", *metrics));
  }
  // CloudWatch's standard resolution is a minute; below 10 s the lines cost more than they say.
  if (auto n = read_int(env, "INFRA_METRICS_INTERVAL_SECONDS", 10, 3600, problems)) {
    config.metrics_interval = std::chrono::seconds(*n);
  }

  if (auto format = read(env, "LOG_FORMAT")) {
    const auto lower = to_lower(*format);
    if (lower == "json")
      config.log_format = LogFormat::json;
    else if (lower == "text")
      config.log_format = LogFormat::text;
    else
      problems.add("LOG_FORMAT", fmt::format("expected json or text, got \"{}\"", *format));
  }
  if (auto level = read(env, "LOG_LEVEL")) {
    static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
        {"trace", LogLevel::trace},       {"debug", LogLevel::debug},  {"info", LogLevel::info},
        {"warn", LogLevel::warn},         {"warning", LogLevel::warn}, {"error", LogLevel::error},
        {"critical", LogLevel::critical}, {"off", LogLevel::off}};
    const auto lower = to_lower(*level);
    auto it = std::find_if(std::begin(kLevels), std::end(kLevels),
                           [&](const auto& entry) { return entry.first == lower; });
    if (it == std::end(kLevels)) {
      problems.add("LOG_LEVEL", fmt::format("expected trace, debug, info, warn, error, critical or "
                                            "off, got \"{}\"",
                                            *level));
    } else {
      config.log_level = it->second;
    }
  }

  if (!problems.empty()) {
    // Every token given as a value, whether it was accepted or not.
    std::vector<std::string> secrets;
    for (const auto* variable : {"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"}) {
      auto value = read(env, variable);
      if (value && !value->starts_with("ssm:") && !value->starts_with("secretsmanager:")) {
        secrets.push_back(std::move(*value));
      }
    }
    return problems.to_error(std::move(secrets));
  }
  return config;
}

Result<void> apply_secret(Config& config, const SecretSetting& setting, std::string value) {
  const auto bad = [&](std::string_view what) {
    return make_error(
        ErrorCode::config,
        fmt::format("{}: {}: {}", setting.variable, setting.ref.to_string(), what),
        fmt::format("secret {} from {}: {}", setting.variable, setting.ref.to_string(), what));
  };
  // Trimmed as the environment's values are: a secret saved from a file often ends in '\n'.
  value = std::string(trim(value));
  if (value.empty()) return bad("is empty");
  // Never echo the value: only say what it should have looked like.
  if (!setting.prefix.empty() &&
      (!value.starts_with(setting.prefix) || value.size() <= setting.prefix.size())) {
    return bad(fmt::format("does not hold a token starting with \"{}\"", setting.prefix));
  }
  config.*(setting.target) = std::move(value);
  return {};
}

}  // namespace core
