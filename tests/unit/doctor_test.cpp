// infra-bot doctor: the report's exact lines, and each check's decision, through fake probes.

#include "doctor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/secret_ref.hpp"
#include "discord_front/command_set.hpp"

namespace {

using app::doctor::Check;
using app::doctor::Verdict;

core::Error slack_failure(std::string_view method, std::string_view code,
                          core::ErrorCode kind = core::ErrorCode::config) {
  return core::make_error(kind, "Slack said no", fmt::format("{}: {}", method, code));
}

slack::AuthIdentity good_identity() {
  slack::AuthIdentity identity;
  identity.team_id = "T0ACME";
  identity.team = "Acme";
  identity.user_id = "U0BOT";
  identity.user = "infra-bot";
  identity.scopes = std::vector<std::string>{"chat:write", "commands",      "app_mentions:read",
                                             "users:read", "channels:read", "groups:read"};
  return identity;
}

aws::FunctionRef orchestrator() {
  return aws::parse_function_ref("arn:aws:lambda:eu-west-1:123456789012:function:infra-orch", "")
      .value();
}

// ---- formatting -------------------------------------------------------------------------------

struct LineCase {
  Check check;
  std::string line;
};

TEST(DoctorFormat, OneLinePerCheck) {
  const std::vector<LineCase> cases = {
      {{Verdict::pass, "Slack bot token", "workspace Acme (T0ACME), bot user infra-bot (U0BOT)",
        ""},
       "✔ Slack bot token: workspace Acme (T0ACME), bot user infra-bot (U0BOT)"},
      {{Verdict::fail, "Slack bot token", "auth.test says invalid_auth",
        "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN"},
       "✘ Slack bot token: auth.test says invalid_auth — copy the Bot User OAuth Token (xoxb-…) "
       "from OAuth & Permissions into SLACK_BOT_TOKEN"},
      {{Verdict::fail, "configuration", "INFRA_COOLDOWN_SECONDS: expected a number", ""},
       "✘ configuration: INFRA_COOLDOWN_SECONDS: expected a number"},
      {{Verdict::skip, "AWS", "not used (INFRA_BACKEND=simulated)", "ignored"},
       "– AWS: not used (INFRA_BACKEND=simulated)"},
  };
  for (const auto& c : cases) EXPECT_EQ(app::doctor::format_line(c.check), c.line);
}

TEST(DoctorFormat, ReportCountsWhatRanAndExitCodeSaysWhetherAnythingFailed) {
  std::vector<Check> checks = {{Verdict::pass, "a", "fine", ""}, {Verdict::skip, "b", "n/a", ""}};
  EXPECT_EQ(app::doctor::format_report(checks),
            "✔ a: fine\n– b: n/a\ndoctor: all 1 checks passed\n");
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
  checks.push_back({Verdict::fail, "c", "broken", "mend it"});
  EXPECT_EQ(app::doctor::format_report(checks),
            "✔ a: fine\n– b: n/a\n✘ c: broken — mend it\ndoctor: 1 of 2 checks failed\n");
  EXPECT_EQ(app::doctor::exit_code(checks), 1);
}

TEST(DoctorFormat, SlackErrorCodeComesFromTheDetail) {
  EXPECT_EQ(app::doctor::slack_error_code("auth.test: invalid_auth"), "invalid_auth");
  EXPECT_EQ(app::doctor::slack_error_code("chat.postMessage: not_in_channel (details)"),
            "not_in_channel");
  EXPECT_EQ(app::doctor::slack_error_code("apps.connections.open answered HTTP 500"), "");
  EXPECT_EQ(app::doctor::slack_error_code("auth.test: HTTP 502"), "");
}

// The scopes doctor requires are the manifest's, so the two cannot drift apart.
TEST(DoctorScopes, RequiredScopesAreTheManifestsBotScopes) {
  std::ifstream file(std::string(SOURCE_DIR) + "/deploy/slack/manifest.json");
  std::stringstream text;
  text << file.rdbuf();
  auto manifest = core::json::parse(text.str());
  ASSERT_TRUE(manifest);
  const auto* oauth = core::json::get_object(*manifest, "oauth_config");
  ASSERT_NE(oauth, nullptr);
  const auto* scopes = core::json::get_object(*oauth, "scopes");
  ASSERT_NE(scopes, nullptr);
  const auto* bot = core::json::get_array(*scopes, "bot");
  ASSERT_NE(bot, nullptr);
  std::vector<std::string> listed;
  for (const auto& scope : bot->GetArray()) listed.emplace_back(scope.GetString());
  EXPECT_THAT(app::doctor::required_bot_scopes(), testing::UnorderedElementsAreArray(listed));
  EXPECT_EQ(listed.size(), 4u);
}

// ---- decisions --------------------------------------------------------------------------------

TEST(DoctorJudge, BotToken) {
  EXPECT_EQ(app::doctor::format_line(app::doctor::judge_bot_token(good_identity())),
            "✔ Slack bot token: workspace Acme (T0ACME), bot user infra-bot (U0BOT)");
  EXPECT_EQ(app::doctor::format_line(
                app::doctor::judge_bot_token(slack_failure("auth.test", "invalid_auth"))),
            "✘ Slack bot token: auth.test says invalid_auth — copy the Bot User OAuth Token "
            "(xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN (reinstall the app if the "
            "token was revoked)");
  const auto unreachable = app::doctor::judge_bot_token(core::make_error(
      core::ErrorCode::unavailable, "Slack is not available", "auth.test: connect refused"));
  EXPECT_EQ(unreachable.verdict, Verdict::fail);
  EXPECT_THAT(unreachable.finding, testing::HasSubstr("auth.test failed"));
  EXPECT_THAT(unreachable.fix, testing::HasSubstr("SLACK_API_URL"));
}

TEST(DoctorJudge, BotScopesNameWhatIsMissing) {
  auto identity = good_identity();
  EXPECT_EQ(app::doctor::judge_bot_scopes(identity).verdict, Verdict::pass);
  identity.scopes = std::vector<std::string>{"chat:write", "commands"};
  EXPECT_EQ(app::doctor::format_line(app::doctor::judge_bot_scopes(identity)),
            "✘ Slack bot scopes: app_mentions:read, users:read missing (the token has "
            "chat:write, commands) — add app_mentions:read, users:read under OAuth & "
            "Permissions → Bot Token Scopes and reinstall the app (deploy/slack/manifest.json "
            "lists them)");
  identity.scopes.reset();
  EXPECT_EQ(app::doctor::judge_bot_scopes(identity).verdict, Verdict::skip);
  EXPECT_EQ(app::doctor::judge_bot_scopes(slack_failure("auth.test", "invalid_auth")).verdict,
            Verdict::skip);
}

TEST(DoctorJudge, AppToken) {
  EXPECT_EQ(app::doctor::judge_app_token(std::string("wss://x/link")).verdict, Verdict::pass);
  struct Case {
    std::string code;
    std::string fix_part;
  };
  for (const auto& c : std::vector<Case>{
           {"not_allowed_token_type", "must be an app-level token (xapp-…)"},
           {"invalid_auth", "generate an app-level token with the scope connections:write"},
           {"missing_scope", "needs the scope connections:write"},
           {"socket_mode_disabled", "turn Socket Mode on"},
           {"team_disabled", "is Socket Mode on"},
       }) {
    const auto check = app::doctor::judge_app_token(slack_failure("apps.connections.open", c.code));
    EXPECT_EQ(check.verdict, Verdict::fail) << c.code;
    EXPECT_EQ(check.finding, "apps.connections.open says " + c.code);
    EXPECT_THAT(check.fix, testing::HasSubstr(c.fix_part)) << c.code;
  }
  const auto unreachable = app::doctor::judge_app_token(core::make_error(
      core::ErrorCode::unavailable, "x", "apps.connections.open answered HTTP 503"));
  EXPECT_THAT(unreachable.fix, testing::HasSubstr("outbound HTTPS"));
}

TEST(DoctorJudge, LambdaDryRun) {
  const auto function = orchestrator();
  const std::string arn = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orch";
  EXPECT_EQ(app::doctor::format_line(
                app::doctor::judge_lambda("ORCHESTRATOR_LAMBDA_ARN", function,
                                          aws::InvokeOutcome(aws::InvokeSuccess{204, "", ""}))),
            "✔ Lambda ORCHESTRATOR_LAMBDA_ARN: DryRun allowed (HTTP 204) on " + arn);

  const auto denied = app::doctor::judge_lambda(
      "ORCHESTRATOR_LAMBDA_ARN", function,
      core::make_error(core::ErrorCode::denied, "infra-bot's AWS role may not invoke `infra-orch`",
                       "lambda invoke " + arn +
                           ": type=AccessDeniedException status=403 message=\"no\" request_id=1"));
  EXPECT_EQ(app::doctor::format_line(denied),
            "✘ Lambda ORCHESTRATOR_LAMBDA_ARN: AccessDeniedException for " + arn +
                " — allow lambda:InvokeFunction on " + arn +
                " for the task role (or your credentials): `infra-bot iam-policy` prints the "
                "policy");

  const auto missing = app::doctor::judge_lambda(
      "IP_WHITELIST_LAMBDA_ARN", function,
      core::make_error(core::ErrorCode::not_found, "not found",
                       "lambda invoke x: type=ResourceNotFoundException status=404"));
  EXPECT_EQ(missing.finding, "ResourceNotFoundException for " + arn);
  EXPECT_THAT(missing.fix, testing::HasSubstr("wrong ARN or region: IP_WHITELIST_LAMBDA_ARN"));

  const auto no_credentials = app::doctor::judge_lambda(
      "ORCHESTRATOR_LAMBDA_ARN", function,
      core::make_error(core::ErrorCode::unavailable, "Could not get AWS credentials",
                       "lambda invoke x: no credentials: none found"));
  EXPECT_THAT(no_credentials.fix, testing::HasSubstr("AWS credentials"));
}

TEST(DoctorJudge, CredentialsAndIdentity) {
  EXPECT_EQ(app::doctor::judge_credentials(std::string("found (long-term keys)")).verdict,
            Verdict::pass);
  EXPECT_EQ(app::doctor::judge_credentials(
                core::make_error(core::ErrorCode::unavailable, "no credentials found"))
                .verdict,
            Verdict::fail);
  EXPECT_EQ(app::doctor::format_line(app::doctor::judge_identity(std::nullopt)),
            "– AWS identity: not checked: no STS client was given to doctor");
  EXPECT_EQ(app::doctor::format_line(app::doctor::judge_identity(
                core::Result<app::doctor::CallerIdentity>(app::doctor::CallerIdentity{
                    "123456789012", "arn:aws:sts::123456789012:assumed-role/infra-bot/task"}))),
            "✔ AWS identity: account 123456789012, "
            "arn:aws:sts::123456789012:assumed-role/infra-bot/task");
}

TEST(DoctorJudge, Channel) {
  slack::ConversationInfo info{"C0AUDIT", "infra-audit", false, false, true};
  const auto judge = [](const core::Result<slack::ConversationInfo>& result) {
    return app::doctor::format_line(app::doctor::judge_channel(
        "audit channel", "INFRA_AUDIT_CHANNEL", "C0AUDIT", result, "infra-bot"));
  };
  EXPECT_EQ(judge(info), "✔ audit channel C0AUDIT: #infra-audit, the bot is a member");
  info.is_member = false;
  EXPECT_EQ(judge(info),
            "✘ audit channel C0AUDIT: not_in_channel: the bot is not a member of #infra-audit, "
            "so it cannot post there — invite it: /invite @infra-bot in #infra-audit");
  info.is_archived = true;
  EXPECT_THAT(judge(info), testing::HasSubstr("is archived"));
  EXPECT_EQ(
      judge(slack_failure("conversations.info", "channel_not_found", core::ErrorCode::not_found)),
      "✘ audit channel C0AUDIT: conversations.info says channel_not_found — "
      "INFRA_AUDIT_CHANNEL must be a channel ID (channel details → Copy channel ID) in this "
      "workspace; a private channel stays hidden until you /invite @infra-bot there");
  EXPECT_THAT(judge(slack_failure("conversations.info", "missing_scope")),
              testing::HasSubstr("add channels:read (and groups:read for a private channel)"));
}

TEST(DoctorJudge, TokenFromItsStore) {
  core::SecretSetting setting;
  setting.variable = "SLACK_BOT_TOKEN";
  setting.ref = **core::parse_secret_ref("ssm:/infra-bot/bot-token");
  setting.prefix = "xoxb-";
  const auto judge = [&](const core::Result<std::string>& read, const core::Result<void>& applied) {
    return app::doctor::format_line(app::doctor::judge_secret(setting, read, applied));
  };
  EXPECT_EQ(judge(std::string("xoxb-1"), {}),
            "✔ SLACK_BOT_TOKEN from its store: read from ssm:/infra-bot/bot-token");
  EXPECT_EQ(judge(core::make_error(core::ErrorCode::not_found,
                                   "ssm:/infra-bot/bot-token: not found (SSM ParameterNotFound)"),
                  {}),
            "✘ SLACK_BOT_TOKEN from its store: ssm:/infra-bot/bot-token: not found (SSM "
            "ParameterNotFound) — create it, or correct SLACK_BOT_TOKEN (and AWS_REGION when it "
            "is not an ARN)");
  EXPECT_EQ(judge(core::make_error(core::ErrorCode::denied,
                                   "ssm:/infra-bot/bot-token: access denied (SSM "
                                   "AccessDeniedException)"),
                  {}),
            "✘ SLACK_BOT_TOKEN from its store: ssm:/infra-bot/bot-token: access denied (SSM "
            "AccessDeniedException) — allow ssm:GetParameter on it (and kms:Decrypt on its KMS "
            "key) for the bot's role");
  EXPECT_THAT(judge(core::make_error(core::ErrorCode::unavailable, "could not be read"), {}),
              testing::EndsWith("outbound HTTPS to SSM (AWS_ENDPOINT_URL_SSM)"));
  EXPECT_EQ(judge(std::string("xapp-1"),
                  core::make_error(core::ErrorCode::config,
                                   "SLACK_BOT_TOKEN: ssm:/infra-bot/bot-token: does not hold a "
                                   "token starting with \"xoxb-\"")),
            "✘ SLACK_BOT_TOKEN from its store: ssm:/infra-bot/bot-token: does not hold a token "
            "starting with \"xoxb-\" — put the xoxb-… token itself in it");
}

TEST(DoctorJudge, ConfigListsEachProblem) {
  const auto checks = app::doctor::judge_config(core::load_config(
      core::MapEnvironment{{"INFRA_COOLDOWN_SECONDS", "soon"}, {"INFRA_BACKEND", "nope"}},
      core::RunMode::service));
  std::vector<std::string> lines;
  for (const auto& check : checks) lines.push_back(app::doctor::format_line(check));
  EXPECT_THAT(lines, testing::Contains(testing::StartsWith("✘ configuration: SLACK_APP_TOKEN: ")));
  EXPECT_THAT(lines, testing::Contains(testing::StartsWith("✘ configuration: INFRA_BACKEND: ")));
  EXPECT_THAT(lines,
              testing::Contains(testing::StartsWith("✘ configuration: INFRA_COOLDOWN_SECONDS: ")));
}

// ---- Discord ------------------------------------------------------------------------------------

// discord::RestClient's errors: its detail when Discord answered, the transport's otherwise.
core::Error discord_refused(long status, long code, std::string_view message) {
  return core::make_error(
      status == 401 ? core::ErrorCode::denied : core::ErrorCode::invalid_input,
      status == 401 ? "Discord rejected infra-bot's token" : "Discord refused the request",
      fmt::format("HTTP {} (Discord code {}: {})", status, code, message));
}
core::Error discord_unreachable() {
  return core::make_error(core::ErrorCode::unavailable, "could not reach the server",
                          "Couldn't connect to server (connect to 127.0.0.1:9 refused)");
}

constexpr const char* kGuild = "100000000000000777";

TEST(DoctorJudge, DiscordToken) {
  using app::doctor::DiscordApplication;
  using app::doctor::judge_discord_token;
  EXPECT_EQ(format_line(judge_discord_token(DiscordApplication{"100000000000000001", "infra-bot"})),
            "✔ Discord bot token: application infra-bot (100000000000000001)");
  EXPECT_EQ(format_line(judge_discord_token(DiscordApplication{"100000000000000001", ""})),
            "✔ Discord bot token: application 100000000000000001");
  EXPECT_EQ(format_line(judge_discord_token(discord_refused(401, 0, "401: Unauthorized"))),
            "✘ Discord bot token: Discord rejected DISCORD_BOT_TOKEN — reset the token in the "
            "Developer Portal (your application → Bot → Reset Token), put it in "
            "DISCORD_BOT_TOKEN (or the store it names) and run `infra-bot register discord`");
  EXPECT_EQ(format_line(judge_discord_token(discord_unreachable())),
            "✘ Discord bot token: GET /applications/@me failed: Couldn't connect to server "
            "(connect to 127.0.0.1:9 refused) — check DISCORD_API_URL, outbound HTTPS (443) to "
            "discord.com, and SSL_CERT_FILE if set");
  const auto limited = judge_discord_token(core::make_error(
      core::ErrorCode::unavailable, "Discord is rate limiting infra-bot; try again later",
      "HTTP 429 (Discord code 0: You are being rate limited.)"));
  EXPECT_EQ(limited.verdict, Verdict::fail);
  EXPECT_THAT(limited.finding, testing::HasSubstr("rate limiting"));
  const auto down = judge_discord_token(core::make_error(
      core::ErrorCode::unavailable, "Discord refused the request", "HTTP 502 (no JSON body)"));
  EXPECT_EQ(down.finding, "GET /applications/@me answered HTTP 502 (no JSON body)");
  EXPECT_THAT(down.fix, testing::HasSubstr("discordstatus.com"));
}

TEST(DoctorJudge, DiscordGateway) {
  using app::doctor::DiscordGateway;
  using app::doctor::judge_discord_gateway;
  EXPECT_EQ(format_line(judge_discord_gateway(DiscordGateway{1000, 998, 14400000, 1})),
            "✔ Discord gateway: 998/1000 session starts left, max_concurrency 1");
  EXPECT_EQ(format_line(judge_discord_gateway(DiscordGateway{1000, 0, 14400000, 1})),
            "✘ Discord gateway: no session starts left (0/1000); the limit resets in 4 h 0 min — "
            "until then `run` cannot connect to the Gateway: look for what keeps reconnecting "
            "with this token (a process restarting in a loop, another deployment)");
  EXPECT_THAT(judge_discord_gateway(DiscordGateway{1000, 0, 125000, 1}).finding,
              testing::EndsWith("resets in 3 min"));
  EXPECT_THAT(judge_discord_gateway(DiscordGateway{1000, 0, 1500, 1}).finding,
              testing::EndsWith("resets in 2 s"));
  EXPECT_EQ(judge_discord_gateway(DiscordGateway{1000, 0, 0, 1}).verdict, Verdict::fail);
  const auto unreachable = judge_discord_gateway(discord_unreachable());
  EXPECT_EQ(unreachable.verdict, Verdict::fail);
  EXPECT_THAT(unreachable.finding, testing::StartsWith("GET /gateway/bot failed: "));
  EXPECT_THAT(unreachable.fix, testing::HasSubstr("DISCORD_API_URL"));
  EXPECT_EQ(judge_discord_gateway(discord_refused(401, 0, "401: Unauthorized")).finding,
            "Discord rejected DISCORD_BOT_TOKEN");
}

TEST(DoctorJudge, DiscordCommands) {
  using app::doctor::judge_discord_commands;
  const std::string desired = discord_front::infra_commands_json({"dev", "staging", "prod"});
  // What Discord answers after a PUT of `desired`: the same commands with its own fields.
  auto registered = core::json::parse(desired).value();
  for (auto& command : registered.GetArray()) {
    command.AddMember("id", "1300000000000000001", registered.GetAllocator());
    command.AddMember("version", "1300000000000000002", registered.GetAllocator());
    command.AddMember("guild_id", rapidjson::Value(kGuild, registered.GetAllocator()),
                      registered.GetAllocator());
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  registered.Accept(writer);
  const std::string echoed(buffer.GetString(), buffer.GetSize());

  EXPECT_EQ(format_line(judge_discord_commands(kGuild, desired, echoed)),
            "✔ Discord commands: /infra in guild 100000000000000777 is up to date");
  EXPECT_EQ(format_line(judge_discord_commands(kGuild, desired, std::string("[]"))),
            "✘ Discord commands: no commands registered in guild 100000000000000777 — run "
            "`infra-bot register discord`");
  // Another INFRA_ENVIRONMENTS than the one registered.
  EXPECT_EQ(format_line(judge_discord_commands(
                kGuild, discord_front::infra_commands_json({"dev", "prod"}), echoed)),
            "✘ Discord commands: the commands registered in guild 100000000000000777 are not "
            "/infra as this configuration (INFRA_ENVIRONMENTS) has it — run `infra-bot register "
            "discord`");
  EXPECT_EQ(format_line(judge_discord_commands(kGuild, desired,
                                               discord_refused(403, 50001, "Missing Access"))),
            "✘ Discord commands: the bot is not in guild 100000000000000777 — open the invite "
            "URL (`infra-bot register discord` prints it)");
  const auto unknown =
      judge_discord_commands(kGuild, desired, discord_refused(404, 10004, "Unknown Guild"));
  EXPECT_EQ(unknown.verdict, Verdict::fail);
  EXPECT_THAT(unknown.fix, testing::HasSubstr("DISCORD_GUILD_ID"));
  const auto unreachable = judge_discord_commands(kGuild, desired, discord_unreachable());
  EXPECT_EQ(unreachable.verdict, Verdict::fail);
  EXPECT_THAT(unreachable.fix, testing::HasSubstr("DISCORD_API_URL"));
  // A 403 for another reason is not "not in the guild".
  EXPECT_THAT(judge_discord_commands(kGuild, desired,
                                     discord_refused(403, 50013,
                                                     "Missing "
                                                     "Permissions"))
                  .finding,
              testing::HasSubstr("HTTP 403"));
}

// ---- running with fake probes -----------------------------------------------------------------

class FakeProbes final : public app::doctor::Probes {
 public:
  core::Result<slack::AuthIdentity> identity = good_identity();
  core::Result<std::string> url = std::string("wss://127.0.0.1/link/?ticket=t");
  core::Result<std::string> credentials = std::string("found (long-term keys)");
  std::optional<core::Result<app::doctor::CallerIdentity>> caller;
  std::vector<std::string> channels_asked;
  std::vector<std::string> lambdas_asked;

  core::Result<slack::AuthIdentity> auth_test() override { return identity; }
  core::Result<std::string> open_connection() override { return url; }
  core::Result<slack::ConversationInfo> conversation_info(const std::string& channel) override {
    channels_asked.push_back(channel);
    return slack::ConversationInfo{channel, "ops", false, false, true};
  }
  core::Result<std::string> aws_credentials() override { return credentials; }
  core::Result<aws::InvokeOutcome> lambda_dry_run(const aws::FunctionRef& function) override {
    lambdas_asked.push_back(function.name);
    return aws::InvokeOutcome(aws::InvokeSuccess{204, "", ""});
  }
  std::optional<core::Result<app::doctor::CallerIdentity>> caller_identity() override {
    return caller;
  }
  core::Result<app::doctor::DiscordApplication> application =
      app::doctor::DiscordApplication{"100000000000000001", "infra-bot"};
  core::Result<app::doctor::DiscordGateway> gateway = app::doctor::DiscordGateway{1000, 999, 0, 1};
  /// nullopt: what `register discord` puts for lambda_config()'s environments.
  std::optional<core::Result<std::string>> commands;
  std::vector<std::string> discord_asked;
  core::Result<app::doctor::DiscordApplication> discord_application() override {
    discord_asked.emplace_back("application");
    return application;
  }
  core::Result<app::doctor::DiscordGateway> discord_gateway() override {
    discord_asked.emplace_back("gateway");
    return gateway;
  }
  core::Result<std::string> discord_guild_commands(const std::string& application_id,
                                                   const std::string& guild_id) override {
    discord_asked.push_back(fmt::format("commands {} {}", application_id, guild_id));
    if (commands) return *commands;
    return discord_front::infra_commands_json(core::Config{}.environments);
  }
  std::optional<core::Result<app::doctor::StateTable>> table;
  std::vector<std::string> tables_asked;
  std::optional<core::Result<app::doctor::StateTable>> state_table(
      const std::string& name) override {
    tables_asked.push_back(name);
    return table;
  }
};

core::Config lambda_config() {
  core::Config config;
  config.slack_app_token = "xapp-1-A";
  config.slack_bot_token = "xoxb-1-B";
  config.backend = core::BackendKind::lambda;
  config.orchestrator_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orch";
  config.ip_whitelist_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:wl";
  config.audit_channel = "C0AUDIT";
  config.notify_channel = "C0AUDIT";
  return config;
}

// Discord alone, as `run` reads it: no Slack tokens, the simulated backend.
core::Config discord_config() {
  core::Config config;
  config.discord_configured = true;
  config.discord_bot_token = "discord-bot-token";
  config.discord_guild_id = kGuild;
  config.discord_allowed_roles = {"300000000000000001"};
  return config;
}

std::vector<std::string> subjects(const std::vector<Check>& checks) {
  std::vector<std::string> out;
  for (const auto& check : checks) out.push_back(check.subject);
  return out;
}

TEST(DoctorJudge, StateTable) {
  using app::doctor::StateTable;
  using Found = std::optional<core::Result<StateTable>>;
  const auto judge = [](const Found& found, bool create = false) {
    return app::doctor::judge_state_table("infra-bot-state", create, found);
  };
  EXPECT_EQ(judge(Found(StateTable{"ACTIVE", "ENABLED", "expires_at"})),
            (Check{Verdict::pass, "shared state (DynamoDB table infra-bot-state)",
                   "ACTIVE, TTL on expires_at", ""}));
  const auto missing = Found(core::Result<StateTable>(
      core::make_error(core::ErrorCode::not_found, "AWS refused DynamoDB DescribeTable", "404")));
  EXPECT_EQ(judge(missing).verdict, Verdict::fail);
  EXPECT_THAT(judge(missing).fix, testing::HasSubstr("infra-bot state create-table"));
  EXPECT_EQ(judge(missing, true).verdict, Verdict::skip) << "run creates it at start";
  const auto denied = Found(core::Result<StateTable>(core::make_error(
      core::ErrorCode::denied, "AWS refused DynamoDB DescribeTable: AccessDenied", "403")));
  EXPECT_EQ(judge(denied).verdict, Verdict::fail);
  EXPECT_THAT(judge(denied).fix, testing::HasSubstr("dynamodb:DescribeTable"));
  EXPECT_EQ(judge(Found(StateTable{"CREATING", "DISABLED", ""})).finding, "the table is CREATING");
  const auto no_ttl = judge(Found(StateTable{"ACTIVE", "DISABLED", ""}));
  EXPECT_EQ(no_ttl.verdict, Verdict::fail);
  EXPECT_EQ(no_ttl.finding, "ACTIVE, but TTL is DISABLED");
  EXPECT_EQ(judge(std::nullopt).verdict, Verdict::skip);
  const auto ttl_unread = judge(Found(StateTable{"ACTIVE", "", ""}));
  EXPECT_EQ(ttl_unread.verdict, Verdict::pass);
  EXPECT_THAT(ttl_unread.finding, testing::HasSubstr("DescribeTimeToLive is not allowed"));
}

TEST(DoctorRun, TheStateTableIsCheckedOnlyWhenOneIsConfigured) {
  FakeProbes probes;
  auto config = lambda_config();
  EXPECT_THAT(subjects(app::doctor::run_checks(config, probes)),
              testing::Not(testing::Contains(testing::HasSubstr("shared state"))));
  config.state_table = "infra-bot-state";
  probes.table = app::doctor::StateTable{"ACTIVE", "ENABLED", "expires_at"};
  const auto checks = app::doctor::run_checks(config, probes);
  EXPECT_THAT(subjects(checks), testing::Contains("shared state (DynamoDB table infra-bot-state)"));
  EXPECT_THAT(probes.tables_asked, testing::ElementsAre("infra-bot-state"));
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
}

TEST(DoctorRun, AllGoodRunsEveryCheckInOrder) {
  FakeProbes probes;
  const auto checks = app::doctor::run_checks(lambda_config(), probes);
  EXPECT_THAT(
      subjects(checks),
      testing::ElementsAre("Slack bot token", "Slack bot scopes", "Slack app token",
                           "Lambda ORCHESTRATOR_LAMBDA_ARN", "Lambda IP_WHITELIST_LAMBDA_ARN",
                           "AWS credentials", "AWS identity", "audit and notify channel C0AUDIT"));
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
  EXPECT_EQ(checks[6].verdict, Verdict::skip);  // no STS client wired in
  EXPECT_THAT(probes.lambdas_asked, testing::ElementsAre("orch", "wl"));
  EXPECT_THAT(probes.channels_asked, testing::ElementsAre("C0AUDIT"));
}

TEST(DoctorRun, TheStsSeamReportsTheIdentityOnceWired) {
  FakeProbes probes;
  probes.caller = core::Result<app::doctor::CallerIdentity>(app::doctor::CallerIdentity{
      "123456789012", "arn:aws:sts::123456789012:assumed-role/infra-bot/task"});
  auto checks = app::doctor::run_checks(lambda_config(), probes);
  EXPECT_EQ(app::doctor::format_line(checks[6]),
            "✔ AWS identity: account 123456789012, "
            "arn:aws:sts::123456789012:assumed-role/infra-bot/task");
  probes.caller = core::Result<app::doctor::CallerIdentity>(
      core::make_error(core::ErrorCode::unavailable, "STS said InvalidClientTokenId"));
  checks = app::doctor::run_checks(lambda_config(), probes);
  EXPECT_EQ(checks[6].verdict, Verdict::fail);
  EXPECT_EQ(app::doctor::exit_code(checks), 1);
}

TEST(DoctorRun, ABadBotTokenDoesNotHideTheOtherChecks) {
  FakeProbes probes;
  probes.identity = slack_failure("auth.test", "invalid_auth");
  const auto checks = app::doctor::run_checks(lambda_config(), probes);
  ASSERT_EQ(checks.size(), 8u);
  EXPECT_EQ(checks[0].verdict, Verdict::fail);
  EXPECT_EQ(checks[1].verdict, Verdict::skip);  // scopes: no answer to read them from
  EXPECT_EQ(checks[2].verdict, Verdict::pass);  // the app token is checked all the same
  EXPECT_EQ(checks[3].verdict, Verdict::pass);
  EXPECT_EQ(checks[7].verdict, Verdict::skip);  // channels need the bot token
  EXPECT_TRUE(probes.channels_asked.empty());
}

TEST(DoctorRun, ChannelsAreNotAskedAboutWithoutTheReadScopes) {
  FakeProbes probes;
  auto identity = good_identity();
  identity.scopes = std::vector<std::string>(app::doctor::required_bot_scopes());
  probes.identity = identity;
  auto config = lambda_config();
  config.notify_channel = "C0NOTIFY";
  const auto checks = app::doctor::run_checks(config, probes);
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
  EXPECT_EQ(checks[checks.size() - 2].subject, "audit channel C0AUDIT");
  EXPECT_EQ(checks.back().subject, "notify channel C0NOTIFY");
  EXPECT_EQ(checks.back().verdict, Verdict::skip);
  EXPECT_THAT(checks.back().finding, testing::HasSubstr("channels:read"));
  EXPECT_TRUE(probes.channels_asked.empty());
}

TEST(DoctorRun, SimulatedBackendSkipsAwsAndMissingCredentialsSkipTheIdentity) {
  FakeProbes probes;
  auto config = lambda_config();
  config.backend = core::BackendKind::simulated;
  auto checks = app::doctor::run_checks(config, probes);
  EXPECT_THAT(subjects(checks), testing::Contains("AWS"));
  EXPECT_TRUE(probes.lambdas_asked.empty());

  probes.credentials = core::make_error(core::ErrorCode::unavailable, "no credentials found");
  checks = app::doctor::run_checks(lambda_config(), probes);
  EXPECT_EQ(checks[5].verdict, Verdict::fail);
  EXPECT_EQ(checks[6].verdict, Verdict::skip);
  EXPECT_EQ(app::doctor::exit_code(checks), 1);
}

TEST(DoctorConfig, OtherProblemsLeaveTheLaterChecksRunningWithDefaults) {
  const core::MapEnvironment env{{"SLACK_APP_TOKEN", "xapp-1-A"},
                                 {"SLACK_BOT_TOKEN", "xoxb-1-B"},
                                 {"INFRA_BACKEND", "simulated"},
                                 {"INFRA_ALLOW_EVERYONE", "true"},
                                 {"INFRA_COOLDOWN_SECONDS", "soon"}};
  const auto outcome = app::doctor::check_config(env);
  ASSERT_EQ(outcome.checks.size(), 1u);
  EXPECT_EQ(outcome.checks[0].verdict, Verdict::fail);
  ASSERT_TRUE(outcome.config);
  EXPECT_EQ(outcome.config->cooldown, std::chrono::seconds(30));
}

TEST(DoctorConfig, AMissingTokenLeavesOnlyItsOwnChecksOut) {
  const core::MapEnvironment env{
      {"SLACK_APP_TOKEN", "xapp-1-A"},
      {"ORCHESTRATOR_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:orch"},
      {"IP_WHITELIST_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:wl"},
      {"INFRA_ALLOW_EVERYONE", "true"}};
  const auto outcome = app::doctor::check_config(env);
  ASSERT_EQ(outcome.checks.size(), 1u);
  EXPECT_THAT(outcome.checks[0].finding, testing::StartsWith("SLACK_BOT_TOKEN: required"));
  ASSERT_TRUE(outcome.config);
  EXPECT_EQ(outcome.config->backend, core::BackendKind::lambda);
  EXPECT_EQ(outcome.config->slack_app_token, "xapp-1-A");

  FakeProbes probes;
  const auto checks = app::doctor::run_checks(*outcome.config, probes);
  EXPECT_EQ(checks[0].verdict, Verdict::skip);
  EXPECT_EQ(checks[0].finding, "not checked: SLACK_BOT_TOKEN is not usable (above)");
  EXPECT_EQ(checks[1].verdict, Verdict::skip);
  EXPECT_EQ(checks[2].verdict, Verdict::pass);  // the app token
  EXPECT_THAT(probes.lambdas_asked, testing::ElementsAre("orch", "wl"));
}

TEST(DoctorConfig, AWrongDestinationStopsTheLaterChecks) {
  const core::MapEnvironment env{{"SLACK_APP_TOKEN", "xapp-1-A"},
                                 {"SLACK_BOT_TOKEN", "xoxb-1-B"},
                                 {"INFRA_BACKEND", "simulated"},
                                 {"INFRA_ALLOW_EVERYONE", "true"},
                                 {"SLACK_API_URL", "http://slack.example/api/"}};
  const auto outcome = app::doctor::check_config(env);
  EXPECT_FALSE(outcome.config);
  EXPECT_EQ(outcome.why_not, "not checked: SLACK_API_URL is not usable (above)");
  for (const auto& check : app::doctor::skipped_checks(outcome.why_not)) {
    EXPECT_EQ(check.verdict, Verdict::skip);
  }
}

// ---- Discord, through fake probes ------------------------------------------------------------

std::vector<std::string> lines(const std::vector<Check>& checks) {
  std::vector<std::string> out;
  for (const auto& check : checks) out.push_back(app::doctor::format_line(check));
  return out;
}

TEST(DoctorRun, DiscordOnlySaysSlackIsNotConfiguredAndChecksDiscord) {
  FakeProbes probes;
  const auto checks = app::doctor::run_checks(discord_config(), probes);
  EXPECT_THAT(
      lines(checks),
      testing::ElementsAre("– Slack bot token: not configured (Discord only)",
                           "– Slack bot scopes: not configured (Discord only)",
                           "– Slack app token: not configured (Discord only)",
                           "✔ Discord bot token: application infra-bot (100000000000000001)",
                           "✔ Discord gateway: 999/1000 session starts left, max_concurrency 1",
                           "✔ Discord commands: /infra in guild 100000000000000777 is up to date",
                           "– AWS: not used (INFRA_BACKEND=simulated)",
                           "– channels: not configured (Discord only)"));
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
  EXPECT_THAT(probes.discord_asked,
              testing::ElementsAre("application", "gateway",
                                   "commands 100000000000000001 100000000000000777"));
}

TEST(DoctorRun, DiscordOnlyNeverAsksSlackAndItsChannelsAreNotUsed) {
  FakeProbes probes;
  probes.identity = slack_failure("auth.test", "invalid_auth");  // would fail if asked
  auto config = discord_config();
  config.audit_channel = "C0AUDIT";
  const auto checks = app::doctor::run_checks(config, probes);
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
  EXPECT_TRUE(probes.channels_asked.empty());
  EXPECT_EQ(app::doctor::format_line(checks.back()),
            "– audit channel C0AUDIT: not used: a Slack channel, and Slack is not configured "
            "(Discord only)");
}

TEST(DoctorRun, ABadDiscordTokenSkipsTheGatewayAndTheCommands) {
  FakeProbes probes;
  probes.application = discord_refused(401, 0, "401: Unauthorized");
  const auto checks = app::doctor::run_checks(discord_config(), probes);
  const auto all = lines(checks);
  EXPECT_THAT(all, testing::Contains(testing::StartsWith(
                       "✘ Discord bot token: Discord rejected DISCORD_BOT_TOKEN — reset")));
  EXPECT_THAT(all, testing::Contains("– Discord gateway: not checked: the Discord bot token "
                                     "does not work (above)"));
  EXPECT_THAT(all, testing::Contains("– Discord commands: not checked: the Discord bot token "
                                     "does not work (above)"));
  EXPECT_THAT(probes.discord_asked, testing::ElementsAre("application"));
  EXPECT_EQ(app::doctor::exit_code(checks), 1);
}

TEST(DoctorRun, DiscordFailuresEachShowTheirFix) {
  FakeProbes probes;
  probes.gateway = app::doctor::DiscordGateway{1000, 0, 60000, 1};
  probes.commands = core::Result<std::string>(std::string("[]"));
  auto checks = app::doctor::run_checks(discord_config(), probes);
  EXPECT_THAT(lines(checks),
              testing::IsSupersetOf(std::vector<testing::Matcher<const std::string&>>{
                  testing::StartsWith("✘ Discord gateway: no session starts "
                                      "left (0/1000); the limit resets in 1 "
                                      "min"),
                  testing::StartsWith("✘ Discord commands: no commands "
                                      "registered in guild")}));
  EXPECT_EQ(format_report(checks).substr(format_report(checks).rfind("doctor:")),
            "doctor: 2 of 3 checks failed\n");
  probes.commands = core::Result<std::string>(discord_refused(403, 50001, "Missing Access"));
  checks = app::doctor::run_checks(discord_config(), probes);
  EXPECT_THAT(lines(checks),
              testing::Contains(testing::StartsWith(
                  "✘ Discord commands: the bot is not in guild 100000000000000777")));
}

TEST(DoctorRun, BothChatsRunBothSetsOfChecks) {
  FakeProbes probes;
  auto config = lambda_config();
  config.slack_configured = true;
  config.discord_configured = true;
  config.discord_bot_token = "discord-bot-token";
  config.discord_guild_id = kGuild;
  const auto checks = app::doctor::run_checks(config, probes);
  EXPECT_THAT(
      subjects(checks),
      testing::ElementsAre("Slack bot token", "Slack bot scopes", "Slack app token",
                           "Discord bot token", "Discord gateway", "Discord commands",
                           "Lambda ORCHESTRATOR_LAMBDA_ARN", "Lambda IP_WHITELIST_LAMBDA_ARN",
                           "AWS credentials", "AWS identity", "audit and notify channel C0AUDIT"));
  EXPECT_EQ(app::doctor::exit_code(checks), 0);
}

TEST(DoctorConfig, DiscordOnlyParsesAndItsProblemsLeaveItsChecksOut) {
  const core::MapEnvironment good{{"DISCORD_BOT_TOKEN", "discord-bot-token"},
                                  {"DISCORD_GUILD_ID", kGuild},
                                  {"INFRA_DISCORD_ALLOWED_ROLES", "300000000000000001"},
                                  {"INFRA_BACKEND", "simulated"}};
  auto outcome = app::doctor::check_config(good);
  ASSERT_TRUE(outcome.config);
  EXPECT_EQ(outcome.checks[0].verdict, Verdict::pass);
  EXPECT_TRUE(outcome.config->discord_configured);
  EXPECT_FALSE(outcome.config->slack_configured);

  // No guild: the configuration fails, the token and the gateway are still checked.
  core::MapEnvironment no_guild = good;
  no_guild.set("DISCORD_GUILD_ID", "");
  outcome = app::doctor::check_config(no_guild);
  ASSERT_TRUE(outcome.config);
  EXPECT_EQ(outcome.checks[0].verdict, Verdict::fail);
  FakeProbes probes;
  auto checks = app::doctor::run_checks(*outcome.config, probes);
  EXPECT_THAT(
      lines(checks),
      testing::IsSupersetOf(std::vector<testing::Matcher<const std::string&>>{
          "– Slack bot token: not configured (Discord only)",
          testing::StartsWith("✔ Discord bot token:"), testing::StartsWith("✔ Discord gateway:"),
          "– Discord commands: not checked: DISCORD_GUILD_ID is not "
          "usable (above)"}));

  // A malformed token reference: Discord is still what was configured, its checks say why not.
  core::MapEnvironment bad_token = good;
  bad_token.set("DISCORD_BOT_TOKEN", "ssm:");
  outcome = app::doctor::check_config(bad_token);
  ASSERT_TRUE(outcome.config);
  checks = app::doctor::run_checks(*outcome.config, probes);
  EXPECT_THAT(lines(checks),
              testing::IsSupersetOf(
                  {"– Slack bot token: not configured (Discord only)",
                   "– Discord bot token: not checked: DISCORD_BOT_TOKEN is not usable (above)"}));

  // A wrong DISCORD_API_URL stops everything after the configuration (tokens would go there).
  core::MapEnvironment bad_url = good;
  bad_url.set("DISCORD_API_URL", "http://discord.example/api/v10");
  outcome = app::doctor::check_config(bad_url);
  EXPECT_FALSE(outcome.config);
  EXPECT_EQ(outcome.why_not, "not checked: DISCORD_API_URL is not usable (above)");
  EXPECT_THAT(subjects(app::doctor::skipped_checks(outcome.why_not, true)),
              testing::ElementsAre("Slack bot token", "Slack bot scopes", "Slack app token",
                                   "Discord bot token", "Discord gateway", "Discord commands",
                                   "AWS", "channels"));
}

// Both chats configured, the Slack bot token missing: Slack is configured, not "Discord only".
TEST(DoctorConfig, AMissingSlackTokenBesideDiscordIsNotDiscordOnly) {
  const core::MapEnvironment env{
      {"SLACK_APP_TOKEN", "xapp-1-A"},  {"DISCORD_BOT_TOKEN", "discord-bot-token"},
      {"DISCORD_GUILD_ID", kGuild},     {"INFRA_DISCORD_ALLOWED_ROLES", "300000000000000001"},
      {"INFRA_ALLOW_EVERYONE", "true"}, {"INFRA_BACKEND", "simulated"}};
  const auto outcome = app::doctor::check_config(env);
  ASSERT_TRUE(outcome.config);
  FakeProbes probes;
  const auto checks = app::doctor::run_checks(*outcome.config, probes);
  EXPECT_THAT(
      lines(checks),
      testing::IsSupersetOf(std::vector<testing::Matcher<const std::string&>>{
          "– Slack bot token: not checked: SLACK_BOT_TOKEN is not usable (above)",
          testing::StartsWith("✔ Slack app token:"), testing::StartsWith("✔ Discord commands:")}));
}

}  // namespace
