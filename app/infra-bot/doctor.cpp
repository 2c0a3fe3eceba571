// infra-bot doctor: the checks (README "Troubleshooting", automated), their wording and fixes,
// and the probes over the real clients.
#include "doctor.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "aws/dynamodb_client.hpp"
#include "aws/service_client.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "discord/rest_client.hpp"
#include "discord_front/command_set.hpp"
#include "secrets.hpp"
#include "slack/connection_opener.hpp"

namespace app::doctor {

namespace {

using core::ErrorCode;

constexpr std::string_view kPass = "\u2714";  // ✔
constexpr std::string_view kFail = "\u2718";  // ✘
constexpr std::string_view kSkip = "\u2013";  // –

Check pass(std::string subject, std::string finding) {
  return Check{Verdict::pass, std::move(subject), std::move(finding), {}};
}
Check fail(std::string subject, std::string finding, std::string fix = {}) {
  return Check{Verdict::fail, std::move(subject), std::move(finding), std::move(fix)};
}
Check skip(std::string subject, std::string finding) {
  return Check{Verdict::skip, std::move(subject), std::move(finding), {}};
}

bool has_scope(const std::vector<std::string>& scopes, std::string_view scope) {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

// The value after "key=" in one of the lambda client's details
// ("lambda invoke f: type=AccessDeniedException status=403 …"), or "".
std::string detail_field(std::string_view detail, std::string_view key) {
  const std::string needle = std::string(key) + "=";
  const auto at = detail.find(needle);
  if (at == std::string_view::npos) return {};
  auto rest = detail.substr(at + needle.size());
  return std::string(rest.substr(0, rest.find(' ')));
}

// The Slack token errors (docs.slack.dev method pages): the token is wrong, revoked or gone.
bool is_token_error(std::string_view code) {
  return code == "invalid_auth" || code == "not_authed" || code == "token_revoked" ||
         code == "token_expired" || code == "account_inactive" || code == "missing_args";
}

// The Slack error code of a failed call; "" when there was no Slack answer to read one from
// (a transport failure's detail is "<method>: <curl's reason>").
std::string slack_code(const core::Error& error) {
  std::string code = slack_error_code(error.detail);
  if (error.code == ErrorCode::unavailable || error.code == ErrorCode::indeterminate) {
    const bool slack_said = code == "ratelimited" || code == "internal_error" ||
                            code == "fatal_error" || code == "service_unavailable" ||
                            code == "request_timeout";
    if (!slack_said) return {};
  }
  return code;
}

constexpr std::string_view kReachSlack =
    "check SLACK_API_URL, outbound HTTPS (443) to slack.com, and SSL_CERT_FILE if set";

constexpr std::string_view kReachDiscord =
    "check DISCORD_API_URL, outbound HTTPS (443) to discord.com, and SSL_CERT_FILE if set";
constexpr std::string_view kRegisterDiscord = "run `infra-bot register discord`";

// The HTTP status in one of discord::RestClient's details ("HTTP 403 (Discord code 50001:
// Missing Access)"); 0 when Discord did not answer (the detail is then the transport's).
long discord_status(std::string_view detail) {
  if (!detail.starts_with("HTTP ")) return 0;
  long status = 0;
  for (const char c : detail.substr(5)) {
    if (c < '0' || c > '9') break;
    status = status * 10 + (c - '0');
  }
  return status;
}

// Discord's JSON error code in such a detail ("… (Discord code 50001: …)"), or 0.
long discord_code(std::string_view detail) {
  constexpr std::string_view kCode = "(Discord code ";
  const auto at = detail.find(kCode);
  if (at == std::string_view::npos) return 0;
  long code = 0;
  for (const char c : detail.substr(at + kCode.size())) {
    if (c < '0' || c > '9') break;
    code = code * 10 + (c - '0');
  }
  return code;
}

// A failed Discord call `call` ("GET /gateway/bot") that no judge knows better.
Check discord_failure(std::string subject, std::string_view call, const core::Error& error) {
  const long status = discord_status(error.detail);
  if (status == 401) {
    return fail(std::move(subject), "Discord rejected DISCORD_BOT_TOKEN",
                "reset the token in the Developer Portal (your application → Bot → "
                "Reset Token), put it in DISCORD_BOT_TOKEN (or the store it names) and run "
                "`infra-bot register discord`");
  }
  if (status == 429 || error.user_message.find("rate limiting") != std::string::npos ||
      error.user_message.find("refusing requests") != std::string::npos) {
    return fail(std::move(subject), fmt::format("{}: {}", call, error.user_message),
                "wait a minute and run doctor again; if it persists, look for another process "
                "using this bot token in a loop");
  }
  if (status >= 500) {
    return fail(std::move(subject), fmt::format("{} answered {}", call, error.detail),
                "Discord is having trouble: see https://discordstatus.com and try again later");
  }
  if (status != 0) {
    return fail(std::move(subject), fmt::format("{} answered {}", call, error.detail), "");
  }
  return fail(std::move(subject), fmt::format("{} failed: {}", call, error.detail),
              std::string(kReachDiscord));
}

// "4 h 0 min", "12 min", "40 s": how long until a Discord limit resets.
std::string duration_text(std::int64_t ms) {
  const std::int64_t seconds = ms <= 0 ? 0 : (ms + 999) / 1000;
  if (seconds >= 3600) return fmt::format("{} h {} min", seconds / 3600, (seconds % 3600) / 60);
  if (seconds >= 60) return fmt::format("{} min", (seconds + 59) / 60);
  return fmt::format("{} s", seconds);
}

// The configuration variables that decide where doctor connects: with one of them wrong, its
// default would send the tokens somewhere the operator did not configure.
bool decides_destination(std::string_view variable) {
  return variable == "SLACK_API_URL" || variable == "DISCORD_API_URL" ||
         variable.starts_with("AWS_ENDPOINT_URL") || variable == "SSL_CERT_FILE" ||
         variable == "INFRA_ALLOW_INSECURE_ENDPOINTS" || variable == "INFRA_BACKEND";
}

// The variables `run` requires of a chat: without them the configuration is read again as the
// console reads it (which requires none), so the other checks still run.
bool is_token_variable(std::string_view variable) {
  return variable == "SLACK_APP_TOKEN" || variable == "SLACK_BOT_TOKEN" ||
         variable == "DISCORD_BOT_TOKEN" || variable == "DISCORD_GUILD_ID";
}

// Whether `name` is set to something other than blanks (as core::load_config reads them).
bool given(const core::Environment& env, std::string_view name) {
  auto value = env.get(name);
  return value && !core::trim(*value).empty();
}

// "invalid configuration:\n  A: x\n  B: y" → {"A: x", "B: y"}.
std::vector<std::string> problem_lines(std::string_view message) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= message.size()) {
    const auto end = message.find('\n', start);
    auto line =
        core::trim(message.substr(start, end == std::string_view::npos ? end : end - start));
    if (!line.empty() && line != "invalid configuration:") lines.emplace_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

// Environment with some variables taken away and some pinned.
class OverlayEnvironment final : public core::Environment {
 public:
  OverlayEnvironment(const core::Environment& base, std::vector<std::string> removed,
                     core::MapEnvironment pinned)
      : base_(base), removed_(std::move(removed)), pinned_(std::move(pinned)) {}
  std::optional<std::string> get(std::string_view name) const override {
    if (std::find(removed_.begin(), removed_.end(), name) != removed_.end()) return std::nullopt;
    if (auto value = pinned_.get(name)) return value;
    return base_.get(name);
  }

 private:
  const core::Environment& base_;
  std::vector<std::string> removed_;
  core::MapEnvironment pinned_;
};

std::string_view backend_name(core::BackendKind kind) {
  switch (kind) {
    case core::BackendKind::lambda:
      return "lambda";
    case core::BackendKind::aws:
      return "aws";
    case core::BackendKind::simulated:
      break;
  }
  return "simulated";
}

}  // namespace

// ---- formatting -------------------------------------------------------------------------------

std::string format_line(const Check& check) {
  const std::string_view mark = check.verdict == Verdict::pass   ? kPass
                                : check.verdict == Verdict::fail ? kFail
                                                                 : kSkip;
  std::string line = fmt::format("{} {}: {}", mark, check.subject, check.finding);
  if (check.verdict == Verdict::fail && !check.fix.empty()) line += " \u2014 " + check.fix;
  return line;
}

std::string format_report(const std::vector<Check>& checks) {
  std::string out;
  std::size_t ran = 0;
  std::size_t failed = 0;
  for (const auto& check : checks) {
    out += format_line(check) + "\n";
    if (check.verdict != Verdict::skip) ++ran;
    if (check.verdict == Verdict::fail) ++failed;
  }
  if (failed == 0) {
    out += fmt::format("doctor: all {} checks passed\n", ran);
  } else {
    out += fmt::format("doctor: {} of {} checks failed\n", failed, ran);
  }
  return out;
}

int exit_code(const std::vector<Check>& checks) {
  return std::any_of(checks.begin(), checks.end(),
                     [](const Check& check) { return check.verdict == Verdict::fail; })
             ? 1
             : 0;
}

const std::vector<std::string>& required_bot_scopes() {
  static const std::vector<std::string> scopes = {"chat:write", "commands", "app_mentions:read",
                                                  "users:read"};
  return scopes;
}

std::string slack_error_code(std::string_view detail) {
  const auto colon = detail.find(": ");
  if (colon == std::string_view::npos) return {};
  auto rest = detail.substr(colon + 2);
  rest = rest.substr(0, rest.find(' '));
  const bool code_like = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
  return code_like ? std::string(rest) : std::string();
}

// ---- decisions --------------------------------------------------------------------------------

std::vector<Check> judge_config(const core::Result<core::Config>& config) {
  std::vector<Check> checks;
  if (!config) {
    for (const auto& line : problem_lines(config.error().user_message)) {
      checks.push_back(fail("configuration", line));
    }
    if (checks.empty()) checks.push_back(fail("configuration", config.error().user_message));
    return checks;
  }
  checks.push_back(
      pass("configuration",
           fmt::format("the environment parses (backend {}, environments {}, protected {})",
                       backend_name(config->backend), core::join(config->environments, ","),
                       config->protected_environments.empty()
                           ? std::string("none")
                           : core::join(config->protected_environments, ","))));
  for (const auto& warning : config->warnings) {
    checks.push_back(skip("configuration warning", warning));
  }
  return checks;
}

Check judge_bot_token(const core::Result<slack::AuthIdentity>& identity) {
  const std::string subject = "Slack bot token";
  if (identity) {
    const auto named = [](const std::string& name, const std::string& id) {
      return name.empty() ? id : fmt::format("{} ({})", name, id);
    };
    return pass(subject,
                fmt::format("workspace {}, bot user {}", named(identity->team, identity->team_id),
                            named(identity->user, identity->user_id)));
  }
  const core::Error& error = identity.error();
  const std::string code = slack_code(error);
  if (is_token_error(code)) {
    return fail(subject, fmt::format("auth.test says {}", code),
                "copy the Bot User OAuth Token (xoxb-\u2026) from OAuth & Permissions into "
                "SLACK_BOT_TOKEN (reinstall the app if the token was revoked)");
  }
  if (code == "not_allowed_token_type") {
    return fail(subject, "auth.test says not_allowed_token_type",
                "SLACK_BOT_TOKEN must be the Bot User OAuth Token (xoxb-\u2026) from OAuth & "
                "Permissions, not the app-level token");
  }
  if (!code.empty()) {
    return fail(subject, fmt::format("auth.test says {}", code), error.user_message);
  }
  return fail(subject, fmt::format("auth.test failed: {}", error.detail), std::string(kReachSlack));
}

Check judge_bot_scopes(const core::Result<slack::AuthIdentity>& identity) {
  const std::string subject = "Slack bot scopes";
  if (!identity) return skip(subject, "not checked: auth.test failed (above)");
  if (!identity->scopes) {
    return skip(subject, "not checked: auth.test's answer had no x-oauth-scopes header");
  }
  std::vector<std::string> missing;
  for (const auto& scope : required_bot_scopes()) {
    if (!has_scope(*identity->scopes, scope)) missing.push_back(scope);
  }
  if (missing.empty()) return pass(subject, core::join(required_bot_scopes(), ", "));
  return fail(subject,
              fmt::format("{} missing (the token has {})", core::join(missing, ", "),
                          identity->scopes->empty() ? std::string("none")
                                                    : core::join(*identity->scopes, ", ")),
              fmt::format("add {} under OAuth & Permissions \u2192 Bot Token Scopes and reinstall "
                          "the app (deploy/slack/manifest.json lists them)",
                          core::join(missing, ", ")));
}

Check judge_app_token(const core::Result<std::string>& url) {
  const std::string subject = "Slack app token";
  if (url) return pass(subject, "apps.connections.open gave a Socket Mode URL (not connected to)");
  const core::Error& error = url.error();
  const std::string code = slack_code(error);
  if (code == "not_allowed_token_type") {
    return fail(subject, "apps.connections.open says not_allowed_token_type",
                "SLACK_APP_TOKEN must be an app-level token (xapp-\u2026): Basic Information "
                "\u2192 App-Level Tokens \u2192 Generate with the scope connections:write");
  }
  if (is_token_error(code)) {
    return fail(subject, fmt::format("apps.connections.open says {}", code),
                "generate an app-level token with the scope connections:write (Basic "
                "Information \u2192 App-Level Tokens) and put it in SLACK_APP_TOKEN");
  }
  if (code == "missing_scope") {
    return fail(subject, "apps.connections.open says missing_scope",
                "the app-level token needs the scope connections:write: generate one with it "
                "(Basic Information \u2192 App-Level Tokens)");
  }
  // The error Slack gives an app with Socket Mode off is not in its method docs; this name is
  // the one third-party clients handle (notes/slack-socket-mode.md §1.1, unverified).
  if (code == "socket_mode_disabled" || code == "link_disabled") {
    return fail(subject, fmt::format("apps.connections.open says {}", code),
                "turn Socket Mode on (Settings \u2192 Socket Mode; the manifest's "
                "settings.socket_mode_enabled)");
  }
  if (!code.empty()) {
    return fail(subject, fmt::format("apps.connections.open says {}", code),
                "is Socket Mode on (Settings \u2192 Socket Mode) and SLACK_APP_TOKEN the app's "
                "xapp-\u2026 token with connections:write?");
  }
  return fail(subject, fmt::format("apps.connections.open failed: {}", error.detail),
              std::string(kReachSlack));
}

Check judge_lambda(std::string_view variable, const aws::FunctionRef& function,
                   const core::Result<aws::InvokeOutcome>& outcome) {
  const std::string subject = fmt::format("Lambda {}", variable);
  const std::string label = function.arn().value_or(function.invoke_name());
  if (outcome) {
    const long status = std::holds_alternative<aws::InvokeSuccess>(*outcome)
                            ? std::get<aws::InvokeSuccess>(*outcome).status
                            : 200;
    return pass(subject, fmt::format("DryRun allowed (HTTP {}) on {}", status, label));
  }
  const core::Error& error = outcome.error();
  const std::string type = detail_field(error.detail, "type");
  if (error.code == ErrorCode::not_found) {
    return fail(subject, fmt::format("{} for {}", type.empty() ? "not found" : type, label),
                fmt::format("wrong ARN or region: {} must be the deployed function's ARN "
                            "(account, region {}, name)",
                            variable, function.region));
  }
  if (error.code == ErrorCode::denied &&
      (type == "AccessDeniedException" ||
       error.user_message.find("may not invoke") != std::string::npos)) {
    return fail(subject, fmt::format("{} for {}", type.empty() ? "access denied" : type, label),
                fmt::format("allow lambda:InvokeFunction on {} for the task role (or your "
                            "credentials): `infra-bot iam-policy` prints the policy",
                            label));
  }
  if (error.detail.find("no credentials") != std::string::npos) {
    return fail(subject, fmt::format("no AWS credentials to call {}", label),
                "see \"AWS credentials\" below");
  }
  if (error.code == ErrorCode::denied) {
    return fail(subject, error.user_message,
                "check the task role or the AWS_* variables (see \"AWS credentials\" below)");
  }
  if (error.code == ErrorCode::unavailable || error.code == ErrorCode::indeterminate) {
    return fail(subject, error.user_message,
                "check outbound HTTPS to Lambda (or AWS_ENDPOINT_URL_LAMBDA) and SSL_CERT_FILE");
  }
  return fail(subject, error.user_message);
}

Check judge_credentials(const core::Result<std::string>& credentials) {
  const std::string subject = "AWS credentials";
  if (credentials) return pass(subject, *credentials);
  return fail(subject, credentials.error().user_message,
              "give the task a role (ECS task role), or set AWS_PROFILE, or AWS_ACCESS_KEY_ID "
              "and AWS_SECRET_ACCESS_KEY");
}

Check judge_identity(const std::optional<core::Result<CallerIdentity>>& identity) {
  const std::string subject = "AWS identity";
  if (!identity) {
    return skip(subject, "not checked: no STS client was given to doctor");
  }
  if (*identity) {
    return pass(subject, fmt::format("account {}, {}", (*identity)->account, (*identity)->arn));
  }
  return fail(subject, fmt::format("GetCallerIdentity failed: {}", identity->error().user_message),
              "check the task role or the AWS_* variables");
}

Check judge_secret(const core::SecretSetting& setting, const core::Result<std::string>& read,
                   const core::Result<void>& applied) {
  const std::string subject = fmt::format("{} from its store", setting.variable);
  const std::string where = setting.ref.to_string();
  if (!read) {
    const auto& error = read.error();
    const bool ssm = where.starts_with("ssm:");
    std::string fix;
    if (error.code == ErrorCode::not_found) {
      fix = fmt::format("create it, or correct {} (and AWS_REGION when it is not an ARN)",
                        setting.variable);
    } else if (error.code == ErrorCode::denied) {
      fix = fmt::format("allow {} on it (and kms:Decrypt on its KMS key) for the bot's role",
                        ssm ? "ssm:GetParameter" : "secretsmanager:GetSecretValue");
    } else {
      fix = fmt::format("check the AWS credentials (below) and outbound HTTPS to {}",
                        ssm ? "SSM (AWS_ENDPOINT_URL_SSM)"
                            : "Secrets Manager (AWS_ENDPOINT_URL_SECRETS_MANAGER)");
    }
    return fail(subject, error.user_message, fix);
  }
  if (!applied) {
    // "SLACK_BOT_TOKEN: ssm:/x: does not hold…": the subject names the variable already.
    std::string said = applied.error().user_message;
    if (said.starts_with(setting.variable + ": ")) said.erase(0, setting.variable.size() + 2);
    return fail(subject, said,
                fmt::format("put the {} token itself in it",
                            !setting.prefix.empty()                   ? setting.prefix + "…"
                            : setting.variable == "DISCORD_BOT_TOKEN" ? std::string("Discord bot")
                                                                      : std::string("Slack")));
  }
  return pass(subject, fmt::format("read from {}", where));
}

Check judge_channel(std::string_view subject, std::string_view variable, std::string_view channel,
                    const core::Result<slack::ConversationInfo>& info, std::string_view bot_user) {
  const std::string title = fmt::format("{} {}", subject, channel);
  const std::string invite =
      fmt::format("/invite @{}", bot_user.empty() ? std::string_view("infra-bot") : bot_user);
  if (info) {
    const std::string named =
        info->name.empty() ? std::string(channel) : fmt::format("#{}", info->name);
    if (info->is_archived) {
      return fail(title, fmt::format("{} is archived", named),
                  fmt::format("unarchive it, or set {} to another channel", variable));
    }
    if (!info->is_member) {
      return fail(title,
                  fmt::format("not_in_channel: the bot is not a member of {}, so it cannot post "
                              "there",
                              named),
                  fmt::format("invite it: {} in {}", invite, named));
    }
    return pass(title, fmt::format("{}, the bot is a member", named));
  }
  const core::Error& error = info.error();
  const std::string code = slack_code(error);
  if (code == "channel_not_found") {
    return fail(title, "conversations.info says channel_not_found",
                fmt::format("{} must be a channel ID (channel details \u2192 Copy channel ID) in "
                            "this workspace; a private channel stays hidden until you {} there",
                            variable, invite));
  }
  if (code == "missing_scope") {
    return fail(title, "conversations.info says missing_scope",
                "add channels:read (and groups:read for a private channel) under OAuth & "
                "Permissions \u2192 Bot Token Scopes and reinstall the app, so doctor can see "
                "the channel");
  }
  if (code == "not_in_channel") {
    return fail(title, "not_in_channel", fmt::format("invite the bot: {}", invite));
  }
  if (!code.empty()) {
    return fail(title, fmt::format("conversations.info says {}", code), error.user_message);
  }
  return fail(title, fmt::format("conversations.info failed: {}", error.detail),
              std::string(kReachSlack));
}

Check judge_discord_token(const core::Result<DiscordApplication>& application) {
  const std::string subject = "Discord bot token";
  if (application) {
    return pass(subject,
                application->name.empty()
                    ? fmt::format("application {}", application->id)
                    : fmt::format("application {} ({})", application->name, application->id));
  }
  return discord_failure(subject, "GET /applications/@me", application.error());
}

Check judge_discord_gateway(const core::Result<DiscordGateway>& gateway) {
  const std::string subject = "Discord gateway";
  if (!gateway) return discord_failure(subject, "GET /gateway/bot", gateway.error());
  if (gateway->remaining <= 0) {
    return fail(subject,
                fmt::format("no session starts left (0/{}); the limit resets in {}", gateway->total,
                            duration_text(gateway->reset_after_ms)),
                "until then `run` cannot connect to the Gateway: look for what keeps "
                "reconnecting with this token (a process restarting in a loop, another "
                "deployment)");
  }
  return pass(subject, fmt::format("{}/{} session starts left, max_concurrency {}",
                                   gateway->remaining, gateway->total, gateway->max_concurrency));
}

Check judge_discord_commands(std::string_view guild_id, std::string_view desired_json,
                             const core::Result<std::string>& actual_json) {
  const std::string subject = "Discord commands";
  if (actual_json) {
    auto actual = core::json::parse(*actual_json);
    if (actual && actual->IsArray() && actual->Empty()) {
      return fail(subject, fmt::format("no commands registered in guild {}", guild_id),
                  std::string(kRegisterDiscord));
    }
    if (discord_front::same_commands(desired_json, *actual_json)) {
      return pass(subject, fmt::format("/infra in guild {} is up to date", guild_id));
    }
    return fail(subject,
                fmt::format("the commands registered in guild {} are not /infra as this "
                            "configuration (INFRA_ENVIRONMENTS) has it",
                            guild_id),
                std::string(kRegisterDiscord));
  }
  const core::Error& error = actual_json.error();
  const long status = discord_status(error.detail);
  const long code = discord_code(error.detail);
  if (status == 403 && code == 50001) {
    return fail(subject, fmt::format("the bot is not in guild {}", guild_id),
                "open the invite URL (`infra-bot register discord` prints it)");
  }
  if (status == 404 || code == 10004) {
    return fail(subject, fmt::format("Discord does not know guild {} ({})", guild_id, error.detail),
                "set DISCORD_GUILD_ID to the server's ID (Developer Mode → right-click the "
                "server → Copy Server ID)");
  }
  return discord_failure(subject, "GET /applications/…/guilds/…/commands", error);
}

// ---- running ----------------------------------------------------------------------------------

ConfigOutcome check_config(const core::Environment& env) {
  ConfigOutcome out;
  auto config = core::load_config(env, core::RunMode::service);
  out.checks = judge_config(config);
  if (config) {
    out.config = std::move(config).value();
    return out;
  }
  // Carry on without the offending variables, unless that would change where doctor connects.
  // A bad token is left out (its checks say so) and the rest is read as `run` would, without
  // the tokens being required: the backend of `run` (lambda unless INFRA_BACKEND says
  // otherwise), in console mode.
  std::vector<std::string> variables;
  std::vector<std::string> blocking;
  for (const auto& line : problem_lines(config.error().user_message)) {
    const auto variable = line.substr(0, line.find(':'));
    (decides_destination(variable) ? blocking : variables).push_back(variable);
  }
  if (!blocking.empty()) {
    out.why_not = fmt::format("not checked: {} {} not usable (above)", core::join(blocking, ", "),
                              blocking.size() == 1 ? "is" : "are");
    return out;
  }
  const bool tokens_bad = std::any_of(variables.begin(), variables.end(), is_token_variable);
  core::MapEnvironment pinned;
  if (tokens_bad && !env.get("INFRA_BACKEND")) pinned.set("INFRA_BACKEND", "lambda");
  OverlayEnvironment degraded(env, variables, std::move(pinned));
  auto retried =
      core::load_config(degraded, tokens_bad ? core::RunMode::console : core::RunMode::service);
  if (!retried) {
    out.why_not = "not checked: the configuration does not parse (above)";
    return out;
  }
  out.config = std::move(retried).value();
  // Which chats the operator configured, whatever was left out to read the rest.
  out.config->slack_configured = given(env, "SLACK_APP_TOKEN") || given(env, "SLACK_BOT_TOKEN");
  out.config->discord_configured = given(env, "DISCORD_BOT_TOKEN");
  return out;
}

std::vector<Check> resolve_references(core::Config& config, const core::Environment& env,
                                      core::LoggerPtr logger, core::Redactor& redactor) {
  std::vector<Check> checks;
  if (config.secret_refs.empty()) return checks;
  SecretReader reader(config, env, std::move(logger), redactor);
  for (const auto& setting : config.secret_refs) {
    auto value = reader.read(setting.ref);  // registered with the redactor if read
    core::Result<void> applied;
    if (value) {
      applied = core::apply_secret(config, setting, *value);
      if (!applied) config.*setting.target = {};
    }
    checks.push_back(judge_secret(setting, value, applied));
  }
  return checks;
}

std::vector<Check> skipped_checks(std::string_view why, bool discord) {
  std::vector<Check> checks;
  for (const char* subject : {"Slack bot token", "Slack bot scopes", "Slack app token"}) {
    checks.push_back(skip(subject, std::string(why)));
  }
  if (discord) {
    for (const char* subject : {"Discord bot token", "Discord gateway", "Discord commands"}) {
      checks.push_back(skip(subject, std::string(why)));
    }
  }
  for (const char* subject : {"AWS", "channels"}) checks.push_back(skip(subject, std::string(why)));
  return checks;
}

Check judge_state_table(const std::string& table, bool created_at_start,
                        const std::optional<core::Result<StateTable>>& found) {
  const auto subject = fmt::format("shared state (DynamoDB table {})", table);
  if (!found) return skip(subject, "not checked");
  if (!*found) {
    const auto& error = found->error();
    if (error.code == ErrorCode::not_found) {
      if (created_at_start)
        return skip(subject, "missing: `run` creates it (INFRA_STATE_CREATE_TABLE)");
      return fail(subject, "the table does not exist",
                  "run `infra-bot state create-table`, or set INFRA_STATE_CREATE_TABLE=true");
    }
    if (error.code == ErrorCode::denied) {
      return fail(subject, error.user_message,
                  "allow dynamodb:DescribeTable and the item actions on this table to the bot's "
                  "role (the module's state_table does)");
    }
    return fail(subject, error.user_message, "");
  }
  const auto& described = **found;
  if (described.status != "ACTIVE") {
    return fail(subject, fmt::format("the table is {}", described.status),
                "wait for it to be ACTIVE");
  }
  if (described.ttl_status.empty()) {
    return pass(subject,
                "ACTIVE (its TTL not checked: dynamodb:DescribeTimeToLive is not allowed)");
  }
  if (described.ttl_status != "ENABLED" && described.ttl_status != "ENABLING") {
    return fail(subject, fmt::format("ACTIVE, but TTL is {}", described.ttl_status),
                "run `infra-bot state create-table` (it turns TTL on expires_at on)");
  }
  return pass(subject, fmt::format("ACTIVE, TTL on {}", described.ttl_attribute));
}

namespace {

// Checks 3b–3d: Discord's bot token, its Gateway session starts and the guild's commands.
void discord_checks(const core::Config& config, Probes& probes, std::vector<Check>& checks) {
  if (config.discord_bot_token.empty()) {
    for (const char* subject : {"Discord bot token", "Discord gateway", "Discord commands"}) {
      checks.push_back(skip(subject, "not checked: DISCORD_BOT_TOKEN is not usable (above)"));
    }
    return;
  }
  const auto application = probes.discord_application();
  checks.push_back(judge_discord_token(application));
  if (!application) {
    constexpr std::string_view kNoToken =
        "not checked: the Discord bot token does not work (above)";
    checks.push_back(skip("Discord gateway", std::string(kNoToken)));
    checks.push_back(skip("Discord commands", std::string(kNoToken)));
    return;
  }
  checks.push_back(judge_discord_gateway(probes.discord_gateway()));
  if (config.discord_guild_id.empty()) {
    checks.push_back(
        skip("Discord commands", "not checked: DISCORD_GUILD_ID is not usable (above)"));
    return;
  }
  checks.push_back(judge_discord_commands(
      config.discord_guild_id, discord_front::infra_commands_json(config.environments),
      probes.discord_guild_commands(application->id, config.discord_guild_id)));
}

}  // namespace

std::vector<Check> run_checks(const core::Config& config, Probes& probes) {
  std::vector<Check> checks;
  // Discord alone: Slack's checks have nothing to look at.
  const bool discord_only = config.discord_configured && !config.slack_configured;
  constexpr std::string_view kDiscordOnly = "not configured (Discord only)";

  // 2. The bot token and its scopes.
  constexpr std::string_view kNoBotToken = "not checked: SLACK_BOT_TOKEN is not usable (above)";
  const bool bot_token = !discord_only && !config.slack_bot_token.empty();
  const auto identity =
      bot_token ? probes.auth_test()
                : core::Result<slack::AuthIdentity>(core::make_error(
                      ErrorCode::config, std::string(kNoBotToken), "SLACK_BOT_TOKEN unusable"));
  if (discord_only) {
    for (const char* subject : {"Slack bot token", "Slack bot scopes", "Slack app token"}) {
      checks.push_back(skip(subject, std::string(kDiscordOnly)));
    }
  } else if (bot_token) {
    checks.push_back(judge_bot_token(identity));
    checks.push_back(judge_bot_scopes(identity));
  } else {
    checks.push_back(skip("Slack bot token", std::string(kNoBotToken)));
    checks.push_back(skip("Slack bot scopes", std::string(kNoBotToken)));
  }

  // 3. The app token.
  if (discord_only) {
    // Said above.
  } else if (config.slack_app_token.empty()) {
    checks.push_back(skip("Slack app token", "not checked: SLACK_APP_TOKEN is not usable (above)"));
  } else {
    checks.push_back(judge_app_token(probes.open_connection()));
  }

  // 3b–3d. Discord.
  if (config.discord_configured) discord_checks(config, probes, checks);

  // 4. The Lambdas, and 5. the AWS credentials and identity.
  if (config.backend == core::BackendKind::simulated) {
    checks.push_back(skip("AWS", "not used (INFRA_BACKEND=simulated)"));
  } else {
    std::vector<std::pair<std::string, std::string>> lambdas;
    if (config.backend == core::BackendKind::lambda || !config.orchestrator_lambda_arn.empty()) {
      lambdas.emplace_back("ORCHESTRATOR_LAMBDA_ARN", config.orchestrator_lambda_arn);
    }
    if (config.backend == core::BackendKind::lambda) {
      if (config.ip_whitelist_lambda_arn.empty()) {
        // Optional: a deployment without it refuses whitelist commands.
        checks.push_back(skip("Lambda IP_WHITELIST_LAMBDA_ARN",
                              "none configured: whitelist commands are refused"));
      } else {
        lambdas.emplace_back("IP_WHITELIST_LAMBDA_ARN", config.ip_whitelist_lambda_arn);
      }
    }
    for (const auto& [variable, value] : lambdas) {
      auto function = aws::parse_function_ref(value, config.aws_region);
      if (!function) {
        checks.push_back(fail(fmt::format("Lambda {}", variable), function.error().user_message,
                              fmt::format("set {} to the function's ARN", variable)));
        continue;
      }
      checks.push_back(judge_lambda(variable, *function, probes.lambda_dry_run(*function)));
    }
    const auto credentials = probes.aws_credentials();
    checks.push_back(judge_credentials(credentials));
    if (credentials) {
      checks.push_back(judge_identity(probes.caller_identity()));
    } else {
      checks.push_back(skip("AWS identity", "not checked: no AWS credentials (above)"));
    }
  }

  // 5b. The shared state of replicas (no line for one process, in memory).
  if (!config.state_table.empty()) {
    checks.push_back(judge_state_table(config.state_table, config.state_create_table,
                                       probes.state_table(config.state_table)));
  }

  // 6. The channels the bot posts to unasked.
  std::vector<std::pair<std::string, std::string>> channels;  // subject, variable
  if (!config.audit_channel.empty()) {
    channels.emplace_back(config.notify_channel == config.audit_channel ? "audit and notify channel"
                                                                        : "audit channel",
                          "INFRA_AUDIT_CHANNEL");
  }
  if (!config.notify_channel.empty() && config.notify_channel != config.audit_channel) {
    channels.emplace_back("notify channel", "INFRA_NOTIFY_CHANNEL");
  }
  if (channels.empty()) {
    checks.push_back(skip("channels", discord_only ? std::string(kDiscordOnly)
                                                   : std::string("none configured "
                                                                 "(INFRA_AUDIT_CHANNEL, "
                                                                 "INFRA_NOTIFY_CHANNEL)")));
  }
  for (const auto& [subject, variable] : channels) {
    const std::string& channel =
        variable == "INFRA_AUDIT_CHANNEL" ? config.audit_channel : config.notify_channel;
    if (discord_only) {
      // Slack channels: nothing posts there without Slack.
      checks.push_back(
          skip(fmt::format("{} {}", subject, channel),
               fmt::format("not used: a Slack channel, and Slack is {}", kDiscordOnly)));
      continue;
    }
    if (!identity) {
      checks.push_back(skip(fmt::format("{} {}", subject, channel),
                            bot_token ? std::string("not checked: the bot token does not work "
                                                    "(above)")
                                      : std::string(kNoBotToken)));
      continue;
    }
    // conversations.info needs channels:read or groups:read, which the manifest does not ask
    // for (the bot never reads channels): without them doctor cannot look, and says so.
    if (identity->scopes && !has_scope(*identity->scopes, "channels:read") &&
        !has_scope(*identity->scopes, "groups:read")) {
      checks.push_back(skip(
          fmt::format("{} {}", subject, channel),
          fmt::format("not checked: conversations.info needs the scope channels:read (groups:read "
                      "for a private channel), which the app does not have; make sure the bot "
                      "is in it (/invite @{})",
                      identity->user.empty() ? std::string("infra-bot") : identity->user)));
      continue;
    }
    checks.push_back(judge_channel(subject, variable, channel, probes.conversation_info(channel),
                                   identity->user));
  }
  return checks;
}

// ---- the real probes --------------------------------------------------------------------------

namespace {

class LiveProbes final : public Probes {
 public:
  LiveProbes(const core::Config& config, const core::Environment& env, core::LoggerPtr logger,
             core::Redactor redactor, CallerIdentityFunction caller_identity)
      : config_(config),
        env_(env),
        logger_(std::move(logger)),
        http_(core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file})),
        web_(web_settings(config), *http_, logger_),
        credentials_(
            aws::make_default_credentials_chain(env, *http_, clock_, logger_, std::move(redactor))),
        lambda_(lambda_settings(config), *http_, *credentials_, clock_, sleeper_, logger_),
        discord_(discord_settings(config), *http_, clock_, logger_),
        caller_identity_(std::move(caller_identity)) {}

  // Probes
  core::Result<slack::AuthIdentity> auth_test() override { return web_.auth_test(); }

  core::Result<std::string> open_connection() override {
    core::http::Request request;
    request.method = "POST";
    request.url = config_.slack_api_url + "apps.connections.open";
    request.headers = {{"Authorization", "Bearer " + config_.slack_app_token},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    request.connect_timeout = std::chrono::milliseconds(5000);
    request.total_timeout = std::chrono::milliseconds(10000);
    auto response = http_->send(request);
    if (!response) {
      return core::make_error(response.error().code, response.error().user_message,
                              "could not reach Slack (" + response.error().detail + ")");
    }
    auto outcome = slack::read_connections_open_response(*response);
    if (outcome.kind == slack::OpenOutcome::Kind::success) return outcome.url;
    // reason: "apps.connections.open: <code>" for Slack's ok:false, else what came instead.
    const bool slack_said = outcome.reason.starts_with("apps.connections.open: ");
    return core::make_error(slack_said ? ErrorCode::config : ErrorCode::unavailable,
                            "apps.connections.open failed", outcome.reason);
  }

  core::Result<slack::ConversationInfo> conversation_info(const std::string& channel) override {
    return web_.conversation_info(channel);
  }

  core::Result<DiscordApplication> discord_application() override {
    auto answer = discord_.call("GET", "/applications/@me");
    if (!answer) return answer.error();
    auto document = core::json::parse(answer->body);
    if (!document || !document->IsObject() || !core::json::get_string(*document, "id")) {
      return unreadable("GET /applications/@me", answer->status, "no application id");
    }
    return DiscordApplication{std::string(*core::json::get_string(*document, "id")),
                              std::string(core::json::get_string(*document, "name").value_or(""))};
  }

  core::Result<DiscordGateway> discord_gateway() override {
    auto answer = discord_.call("GET", "/gateway/bot");
    if (!answer) return answer.error();
    auto document = core::json::parse(answer->body);
    const rapidjson::Value* limit = document && document->IsObject()
                                        ? core::json::get_object(*document, "session_start_limit")
                                        : nullptr;
    if (limit == nullptr || !core::json::get_int(*limit, "total") ||
        !core::json::get_int(*limit, "remaining")) {
      return unreadable("GET /gateway/bot", answer->status, "no session_start_limit");
    }
    DiscordGateway gateway;
    gateway.total = static_cast<int>(*core::json::get_int(*limit, "total"));
    gateway.remaining = static_cast<int>(*core::json::get_int(*limit, "remaining"));
    gateway.reset_after_ms = core::json::get_int(*limit, "reset_after").value_or(0);
    gateway.max_concurrency =
        static_cast<int>(core::json::get_int(*limit, "max_concurrency").value_or(1));
    return gateway;
  }

  core::Result<std::string> discord_guild_commands(const std::string& application_id,
                                                   const std::string& guild_id) override {
    auto answer = discord_.call(
        "GET", fmt::format("/applications/{}/guilds/{}/commands", application_id, guild_id));
    if (!answer) return answer.error();
    return std::move(answer->body);
  }

  core::Result<std::string> aws_credentials() override {
    auto credentials = credentials_->get();
    if (!credentials) return credentials.error();
    if (!credentials->expiration) return std::string("found (long-term keys)");
    return fmt::format("found (temporary, expire {})",
                       core::format_rfc3339(*credentials->expiration));
  }

  core::Result<aws::InvokeOutcome> lambda_dry_run(const aws::FunctionRef& function) override {
    aws::InvokeRequest request;
    request.function = function;
    request.type = aws::InvocationType::dry_run;
    request.idempotency = aws::Idempotency::read_only;
    request.timeout = std::chrono::seconds(15);
    return lambda_.invoke(request);
  }

  std::optional<core::Result<CallerIdentity>> caller_identity() override {
    if (!caller_identity_) return std::nullopt;
    return caller_identity_(AwsContext{config_, env_, *http_, *credentials_, clock_, logger_});
  }

  std::optional<core::Result<StateTable>> state_table(const std::string& table) override {
    aws::ServiceSettings settings;
    settings.region = config_.aws_region;
    settings.endpoint_url = config_.aws_endpoints.dynamodb;
    settings.timeout = std::chrono::seconds(5);
    auto service = aws::ServiceClient::create(aws::kDynamoDbService, settings, *http_,
                                              *credentials_, clock_, sleeper_, logger_);
    if (!service) return core::Result<StateTable>(service.error());
    aws::DynamoDbClient db(std::move(service).value());
    auto described = db.describe_table(table);
    if (!described) return core::Result<StateTable>(described.error());
    auto ttl = db.describe_time_to_live(table);
    // `run` itself never reads the TTL: a role without that right (the
    // module's, unless the service creates the table) is not a failure.
    if (!ttl && ttl.error().code == core::ErrorCode::denied) {
      return core::Result<StateTable>(StateTable{described->status, "", ""});
    }
    if (!ttl) return core::Result<StateTable>(ttl.error());
    return core::Result<StateTable>(StateTable{described->status, ttl->status, ttl->attribute});
  }

 private:
  static slack::WebApiSettings web_settings(const core::Config& config) {
    slack::WebApiSettings settings;
    settings.bot_token = config.slack_bot_token;
    settings.api_url = config.slack_api_url;
    settings.max_attempts = 1;  // doctor reports what happened, it does not wait it out
    settings.max_rate_limit_wait = std::chrono::seconds(5);
    return settings;
  }
  static discord::RestSettings discord_settings(const core::Config& config) {
    discord::RestSettings settings;
    settings.api_url = config.discord_api_url;
    settings.bot_token = config.discord_bot_token;
    settings.version = INFRA_BOT_VERSION;
    settings.max_attempts = 1;  // as for Slack: report, do not wait it out
    settings.max_wait = std::chrono::seconds(5);
    settings.timeout = std::chrono::seconds(10);
    return settings;
  }
  // A 2xx whose body is not what Discord documents: Discord answered, but not as expected.
  static core::Error unreadable(std::string_view call, long status, std::string_view what) {
    return core::make_error(ErrorCode::unavailable,
                            fmt::format("{}: Discord's answer is unreadable", call),
                            fmt::format("HTTP {} (unreadable answer: {})", status, what));
  }
  static aws::LambdaSettings lambda_settings(const core::Config& config) {
    aws::LambdaSettings settings;
    settings.endpoint_url = config.aws_endpoint_url;
    settings.retry.max_attempts = 1;
    return settings;
  }

  const core::Config& config_;
  const core::Environment& env_;
  core::LoggerPtr logger_;
  core::SystemClock clock_;  // SigV4 needs real time
  aws::ThreadSleeper sleeper_;
  std::unique_ptr<core::http::Client> http_;
  slack::HttpWebApi web_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  aws::LambdaClient lambda_;
  discord::RestClient discord_;
  CallerIdentityFunction caller_identity_;
};

}  // namespace

std::unique_ptr<Probes> make_live_probes(const core::Config& config, const core::Environment& env,
                                         core::LoggerPtr logger, core::Redactor redactor,
                                         CallerIdentityFunction caller_identity) {
  return std::make_unique<LiveProbes>(config, env, std::move(logger), std::move(redactor),
                                      std::move(caller_identity));
}

int run(const core::Environment& env, std::ostream& out, CallerIdentityFunction caller_identity) {
  auto outcome = check_config(env);
  std::vector<Check> checks = std::move(outcome.checks);
  core::Redactor redactor;
  if (outcome.config) {
    redactor = core::Redactor(outcome.config->secrets());
  }
  // Whatever was configured, even what did not parse, stays out of the report.
  for (const char* name :
       {"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}) {
    auto value = env.get(name);
    if (!value) continue;
    // A store reference (ssm:/…) names where the secret is; it is not one.
    if (auto ref = core::parse_secret_ref(*value); ref && *ref) continue;
    redactor.add_secret(*value);
  }
  if (outcome.config) {
    const bool verbose = env.get("LOG_LEVEL").has_value();
    auto logger = verbose ? core::make_stderr_logger("infra-bot", outcome.config->log_format,
                                                     outcome.config->log_level, redactor)
                          : core::make_null_logger();
    auto read = resolve_references(*outcome.config, env, logger, redactor);
    checks.insert(checks.end(), read.begin(), read.end());
    auto probes =
        make_live_probes(*outcome.config, env, logger, redactor, std::move(caller_identity));
    auto more = run_checks(*outcome.config, *probes);
    checks.insert(checks.end(), more.begin(), more.end());
  } else {
    auto more = skipped_checks(outcome.why_not, given(env, "DISCORD_BOT_TOKEN"));
    checks.insert(checks.end(), more.begin(), more.end());
  }
  out << redactor.redact(format_report(checks)) << std::flush;
  return exit_code(checks);
}

}  // namespace app::doctor
