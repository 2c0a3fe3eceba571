#pragma once

// `infra-bot doctor`: checks a configuration (the environment of `run`) the way README's
// troubleshooting does by hand, one line per check:
//
//   ✔ Slack bot token: workspace Acme (T0ACME), bot user infra-bot (U0BOT)
//   ✘ Slack bot scopes: users:read missing — add users:read under OAuth & Permissions → …
//   ✔ Discord bot token: application infra-bot (100000000000000001)
//   – AWS identity: not checked: …
//
// Slack's lines run when Slack is configured (SLACK_*_TOKEN), Discord's when DISCORD_BOT_TOKEN
// is; with Discord alone, Slack's lines say "not configured (Discord only)".
//
// ✔ passed, ✘ failed (with its fix after " — "), – not checked (not configured, not
// applicable, or it needs something an earlier ✘ line reports). The exit code is 0 only when
// no line is ✘. The decisions (judge_*) and the formatting are pure; the network is behind
// Probes, which main wires to the real clients (make_live_probes) and tests to fakes.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "slack/web_api.hpp"

namespace app::doctor {

enum class Verdict { pass, fail, skip };

/// One line of the report.
struct Check {
  Verdict verdict = Verdict::pass;
  std::string subject;  ///< "Slack bot token", "Lambda ORCHESTRATOR_LAMBDA_ARN"
  std::string finding;  ///< what was found
  std::string fix;      ///< a failure's remedy (empty: the finding says it)

  friend bool operator==(const Check&, const Check&) = default;
};

/// "✔ subject: finding", "✘ subject: finding — fix", "– subject: finding" (no newline).
std::string format_line(const Check& check);
/// Every line, then "doctor: all N checks passed" or "doctor: K of N checks failed" (skipped
/// lines are not counted), each ending in '\n'.
std::string format_report(const std::vector<Check>& checks);
/// 0 when no check failed, 1 otherwise.
int exit_code(const std::vector<Check>& checks);

/// The bot scopes the app needs: deploy/slack/manifest.json's oauth_config.scopes.bot (a test
/// keeps the two equal).
const std::vector<std::string>& required_bot_scopes();

/// Who the AWS credentials are (STS GetCallerIdentity).
struct CallerIdentity {
  std::string account;
  std::string arn;
};

/// The shared state's table as DynamoDB describes it.
struct StateTable {
  std::string status;         ///< ACTIVE, CREATING, …
  std::string ttl_status;     ///< ENABLED, DISABLED, …; empty: not allowed to read it
  std::string ttl_attribute;  ///< expires_at when enabled
};

/// The application a Discord bot token belongs to (GET /applications/@me).
struct DiscordApplication {
  std::string id;
  std::string name;
};

/// GET /gateway/bot's session_start_limit: how many more Gateway sessions (Identify) the token
/// may start before reset_after.
struct DiscordGateway {
  int total = 0;
  int remaining = 0;
  std::int64_t reset_after_ms = 0;
  int max_concurrency = 1;
};

/// What doctor asks the outside world. Each call is independent; none changes anything.
class Probes {
 public:
  virtual ~Probes() = default;
  /// auth.test with the bot token.
  virtual core::Result<slack::AuthIdentity> auth_test() = 0;
  /// apps.connections.open with the app token: the wss:// URL (never connected to), or an
  /// Error whose detail is "apps.connections.open: <Slack error code>" or says why there was
  /// no answer.
  virtual core::Result<std::string> open_connection() = 0;
  /// conversations.info as the bot.
  virtual core::Result<slack::ConversationInfo> conversation_info(const std::string& channel) = 0;
  /// Credentials from the default chain: a short description ("temporary, expire …"), never
  /// the keys.
  virtual core::Result<std::string> aws_credentials() = 0;
  /// lambda:Invoke with X-Amz-Invocation-Type DryRun.
  virtual core::Result<aws::InvokeOutcome> lambda_dry_run(const aws::FunctionRef& function) = 0;
  /// STS GetCallerIdentity; nullopt when no STS client is wired in.
  virtual std::optional<core::Result<CallerIdentity>> caller_identity() = 0;
  /// GET /applications/@me with the Discord bot token. Errors are discord::RestClient's: a
  /// detail of "HTTP <status> (Discord code <n>: <message>)" when Discord answered.
  virtual core::Result<DiscordApplication> discord_application() = 0;
  /// GET /gateway/bot with the Discord bot token (the Gateway itself is never connected to).
  virtual core::Result<DiscordGateway> discord_gateway() = 0;
  /// GET /applications/{application}/guilds/{guild}/commands: the JSON array text.
  virtual core::Result<std::string> discord_guild_commands(const std::string& application_id,
                                                           const std::string& guild_id) = 0;
  /// DescribeTable and DescribeTimeToLive of INFRA_STATE_TABLE; nullopt when not wired in.
  virtual std::optional<core::Result<StateTable>> state_table(const std::string& table) {
    (void)table;
    return std::nullopt;
  }
};

// ---- decisions (pure) ------------------------------------------------------------------------

/// Check 1: one ✘ per problem of a configuration that does not parse, or one ✔ (plus a – line
/// per warning).
std::vector<Check> judge_config(const core::Result<core::Config>& config);
/// Check 2: the bot token (auth.test) and its scopes (two lines).
Check judge_bot_token(const core::Result<slack::AuthIdentity>& identity);
Check judge_bot_scopes(const core::Result<slack::AuthIdentity>& identity);
/// Check 3: the app token (apps.connections.open).
Check judge_app_token(const core::Result<std::string>& url);
/// Check 4: one Lambda's DryRun.
Check judge_lambda(std::string_view variable, const aws::FunctionRef& function,
                   const core::Result<aws::InvokeOutcome>& outcome);
/// Check 5: the credentials and who they are.
Check judge_credentials(const core::Result<std::string>& credentials);
Check judge_identity(const std::optional<core::Result<CallerIdentity>>& identity);
/// A token given as a store reference (SLACK_BOT_TOKEN=ssm:/…): `read` is what the store gave
/// (or why not), `applied` whether the value passed the variable's checks (its prefix).
Check judge_secret(const core::SecretSetting& setting, const core::Result<std::string>& read,
                   const core::Result<void>& applied);
/// Check 5b: the shared state's table (INFRA_STATE_TABLE): ACTIVE with TTL on expires_at.
/// `created_at_start`: INFRA_STATE_CREATE_TABLE=true (a missing table is then made by `run`).
Check judge_state_table(const std::string& table, bool created_at_start,
                        const std::optional<core::Result<StateTable>>& found);
/// Check 6: one channel (`subject` "audit channel", `variable` INFRA_AUDIT_CHANNEL…); `bot_user`
/// names the bot in the /invite fix.
Check judge_channel(std::string_view subject, std::string_view variable, std::string_view channel,
                    const core::Result<slack::ConversationInfo>& info, std::string_view bot_user);

/// Check 3b (DISCORD_BOT_TOKEN): the token names its application.
Check judge_discord_token(const core::Result<DiscordApplication>& application);
/// Check 3c: session starts left on the Gateway.
Check judge_discord_gateway(const core::Result<DiscordGateway>& gateway);
/// Check 3d: the guild's registered commands against `desired_json`
/// (discord_front::infra_commands_json of INFRA_ENVIRONMENTS), compared as `register discord`
/// compares them (discord_front::same_commands).
Check judge_discord_commands(std::string_view guild_id, std::string_view desired_json,
                             const core::Result<std::string>& actual_json);

/// The Slack error code in an Error::detail of the form "<method>: <code>[ …]", or "".
std::string slack_error_code(std::string_view detail);

// ---- running --------------------------------------------------------------------------------

/// Check 1 on the environment. When the configuration does not parse, the checks after it still
/// run where they can: with the offending variables unset (their defaults; a missing or
/// malformed token leaves its Slack checks out), unless one of them decides where doctor
/// connects (SLACK_API_URL, the AWS endpoints, SSL_CERT_FILE, INFRA_ALLOW_INSECURE_ENDPOINTS,
/// INFRA_BACKEND).
struct ConfigOutcome {
  std::vector<Check> checks;
  std::optional<core::Config> config;  ///< for checks 2–6; nullopt: they cannot run
  std::string why_not;                 ///< when config is nullopt: why (for their lines)
};
ConfigOutcome check_config(const core::Environment& env);

/// Reads each store reference of `config` (SLACK_BOT_TOKEN=ssm:/…) as `run` does, registers
/// every value with `redactor` before anything else sees it, and fills in the token: one line
/// per reference. A reference that cannot be read leaves its token empty (its checks then say
/// "not usable").
std::vector<Check> resolve_references(core::Config& config, const core::Environment& env,
                                      core::LoggerPtr logger, core::Redactor& redactor);

/// Checks 2–6 against `config` through `probes`, in order.
std::vector<Check> run_checks(const core::Config& config, Probes& probes);

/// The lines checks 2–6 print when they cannot run: one – line each, saying `why`; Discord's
/// too when `discord` (DISCORD_BOT_TOKEN was given).
std::vector<Check> skipped_checks(std::string_view why, bool discord = false);

/// What the GetCallerIdentity seam is given: main() passes caller_identity_from_sts (an
/// aws::StsClient on these); tests pass their own.
struct AwsContext {
  const core::Config& config;
  const core::Environment& env;
  core::http::Client& http;
  aws::CredentialsProvider& credentials;
  const core::Clock& clock;  ///< real time (SigV4)
  core::LoggerPtr logger;
};
using CallerIdentityFunction = std::function<core::Result<CallerIdentity>(const AwsContext&)>;

/// Probes over the real clients (curl, HttpWebApi, discord::RestClient, the default credentials
/// chain, aws::LambdaClient), each call with one attempt and short timeouts. `caller_identity` may
/// be empty (the identity line then says it is not checked).
std::unique_ptr<Probes> make_live_probes(const core::Config& config, const core::Environment& env,
                                         core::LoggerPtr logger, core::Redactor redactor,
                                         CallerIdentityFunction caller_identity);

/// `infra-bot doctor`: check_config, then run_checks over make_live_probes (or skipped_checks),
/// the report written to `out` with every secret redacted. Returns the exit code (0 or 1).
/// The clients log to stderr only when LOG_LEVEL is set.
int run(const core::Environment& env, std::ostream& out, CallerIdentityFunction caller_identity);

}  // namespace app::doctor
