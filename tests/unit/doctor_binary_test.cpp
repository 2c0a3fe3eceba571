// The built `infra-bot doctor` against the real-protocol fakes on loopback (fake_slack.py over
// TLS, fake_lambda.py checking SigV4): all ✔ and exit 0 with a good configuration; each fault
// shows its ✘ line with the fix, and exit 1. Doctor changes nothing: no message is posted and
// no Socket Mode connection is opened. With Discord alone, against fake_discord.py: its token,
// Gateway session starts and guild commands, and no Gateway connection.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "bot_process.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "discord_front/command_set.hpp"
#include "fake_aws.hpp"
#include "fake_lambda.hpp"
#include "fake_slack.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

constexpr const char* kAppToken = "xapp-1-A0FAKE-7001-9f8e7d6cSECRETAPPTOKEN";
constexpr const char* kBotToken = "xoxb-7001-5566778899-SECRETBOTTOKEN";
constexpr const char* kOrchestrator =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
constexpr const char* kWhitelist = "arn:aws:lambda:eu-west-1:123456789012:function:infra-whitelist";

struct DoctorRun {
  std::optional<int> exit_code;
  std::vector<std::string> lines;  ///< stdout
  std::string all;                 ///< stdout and stderr, for failure messages
};

class DoctorBinary : public testing::Test {
 protected:
  DoctorBinary() : DoctorBinary(R"([])") {}
  explicit DoctorBinary(std::string_view lambda_script)
      : slack_(options()),
        lambda_(lambda_script),
        // STS (GetCallerIdentity) on plain http, trusting the Lambda fake's keys.
        sts_(std::string(FAKES_DIR) + "/sts_sso_fake.py",
             {"--credentials", lambda_.credentials().access_key_id + ":" +
                                   lambda_.credentials().secret_access_key + ":" +
                                   lambda_.credentials().session_token}) {}

  static test::FakeSlack::Options options() {
    test::FakeSlack::Options options;
    options.app_token = kAppToken;
    options.bot_token = kBotToken;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(slack_.started());
    ASSERT_TRUE(lambda_.started());
    ASSERT_GT(sts_.port(), 0) << "sts_sso_fake.py did not start";
  }

  test::BotProcess::Environment environment() const {
    const auto& credentials = lambda_.credentials();
    return {
        {"SLACK_APP_TOKEN", kAppToken},
        {"SLACK_BOT_TOKEN", kBotToken},
        {"SLACK_API_URL", slack_.api_url()},
        {"SSL_CERT_FILE", slack_.ca_file()},
        {"INFRA_BACKEND", "lambda"},
        {"ORCHESTRATOR_LAMBDA_ARN", kOrchestrator},
        {"IP_WHITELIST_LAMBDA_ARN", kWhitelist},
        {"AWS_ENDPOINT_URL_LAMBDA", lambda_.endpoint()},
        {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:" + std::to_string(sts_.port())},
        {"INFRA_ALLOW_INSECURE_ENDPOINTS", "true"},  // the STS fake speaks plain http
        {"AWS_ACCESS_KEY_ID", credentials.access_key_id},
        {"AWS_SECRET_ACCESS_KEY", credentials.secret_access_key},
        {"AWS_SESSION_TOKEN", credentials.session_token},
        {"AWS_REGION", "eu-west-1"},
        {"AWS_EC2_METADATA_DISABLED", "true"},
        {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
        {"AWS_CONFIG_FILE", "/nonexistent/config"},
        {"INFRA_ALLOW_EVERYONE", "true"},
        {"INFRA_AUDIT_CHANNEL", "C0AUDIT"},
    };
  }

  DoctorRun doctor(const test::BotProcess::Environment& env) {
    test::BotProcess bot({"doctor"}, env);
    DoctorRun run;
    if (!bot.started()) return run;
    run.exit_code = bot.wait_exit(std::chrono::seconds(30));
    run.lines = bot.stdout_lines();
    run.all = bot.describe_last(40);
    // Secrets stay out of the report, whatever failed.
    const auto& credentials = lambda_.credentials();
    for (const auto& line : bot.all_lines()) {
      for (const std::string& secret :
           {std::string(kAppToken), std::string(kBotToken), credentials.secret_access_key,
            credentials.session_token, std::string("SECRETAPPTOKEN"),
            std::string("SECRETBOTTOKEN")}) {
        EXPECT_EQ(line.find(secret), std::string::npos) << "a secret in: " << line;
      }
    }
    return run;
  }

  // Doctor only looks: nothing posted, no WebSocket opened.
  void expect_nothing_changed() {
    ASSERT_TRUE(slack_.sync());
    EXPECT_EQ(slack_.api_calls("chat.postMessage"), 0u);
    EXPECT_EQ(slack_.api_calls("chat.postEphemeral"), 0u);
    EXPECT_EQ(slack_.count("ws_open"), 0u);
    for (const auto& request : lambda_.requests()) {
      EXPECT_EQ(test::FakeLambda::str(request, "invocation_type"), "DryRun");
    }
  }

  static testing::Matcher<const std::vector<std::string>&> has_line(const std::string& line) {
    return testing::Contains(line);
  }
  static testing::Matcher<const std::vector<std::string>&> has_line_starting(
      const std::string& start) {
    return testing::Contains(testing::StartsWith(start));
  }

  test::FakeSlack slack_;
  test::FakeLambda lambda_;
  test::PythonFake sts_;
};

TEST_F(DoctorBinary, AllPassAgainstTheFakes) {
  const auto run = doctor(environment());
  ASSERT_EQ(run.exit_code, 0) << run.all;
  EXPECT_THAT(run.lines,
              testing::ElementsAre(
                  testing::StartsWith("✔ configuration: the environment parses (backend lambda"),
                  "✔ Slack bot token: workspace Fake (T0123ABCD), bot user infrabot (U0FAKEBOT)",
                  "✔ Slack bot scopes: chat:write, commands, app_mentions:read, users:read",
                  "✔ Slack app token: apps.connections.open gave a Socket Mode URL (not "
                  "connected to)",
                  std::string("✔ Lambda ORCHESTRATOR_LAMBDA_ARN: DryRun allowed (HTTP 204) on ") +
                      kOrchestrator,
                  std::string("✔ Lambda IP_WHITELIST_LAMBDA_ARN: DryRun allowed (HTTP 204) on ") +
                      kWhitelist,
                  testing::StartsWith("✔ AWS credentials: found"),
                  "✔ AWS identity: account 111122223333, "
                  "arn:aws:sts::111122223333:assumed-role/bot/session",
                  "✔ audit and notify channel C0AUDIT: #infra-audit, the bot is a member",
                  "doctor: all 9 checks passed"))
      << run.all;
  // Both DryRuns were signed as Lambda expects.
  ASSERT_TRUE(lambda_.wait_for_requests(2));
  for (const auto& request : lambda_.requests()) {
    EXPECT_TRUE(test::FakeLambda::verified(request)) << test::FakeLambda::str(request, "reason");
  }
  expect_nothing_changed();
}

// Tokens kept in SSM (issue 16): doctor reads them as `run` does, one line each; a reference
// that cannot be read is a ✘ with its fix, and its token's checks are left out.
TEST_F(DoctorBinary, TokensFromTheirStore) {
  const auto& keys = lambda_.credentials();
  test::FakeAws aws(
      fmt::format(
          R"({{"ssm": {{"parameters": [{{"name": "/infra-bot/app-token", "value": "{}"}}]}}}})",
          kAppToken),
      test::FakeAws::Credentials{keys.access_key_id, keys.secret_access_key, keys.session_token});
  ASSERT_TRUE(aws.started());
  auto env = environment();
  env["SLACK_APP_TOKEN"] = "ssm:/infra-bot/app-token";
  env["SLACK_BOT_TOKEN"] = "ssm:/infra-bot/missing";
  env["AWS_ENDPOINT_URL_SSM"] = aws.endpoint();
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line("✔ SLACK_APP_TOKEN from its store: read from ssm:/infra-bot/app-token"))
      << run.all;
  EXPECT_THAT(run.lines, has_line("✘ SLACK_BOT_TOKEN from its store: ssm:/infra-bot/missing: not "
                                  "found (SSM ParameterNotFound) — create it, or correct "
                                  "SLACK_BOT_TOKEN (and AWS_REGION when it is not an ARN)"))
      << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✔ Slack app token:"));
  EXPECT_THAT(run.lines, has_line_starting("– Slack bot token: not checked"));
  EXPECT_EQ(aws.count(test::FakeAws::call("ssm", "GetParameter")), 2u);
  for (const auto& request : aws.requests()) EXPECT_TRUE(test::FakeAws::verified(request));
  expect_nothing_changed();
}

TEST_F(DoctorBinary, BadBotToken) {
  auto env = environment();
  env["SLACK_BOT_TOKEN"] = "xoxb-7001-0000000000-WRONGBOTTOKEN";
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line("✘ Slack bot token: auth.test says invalid_auth — copy the Bot User OAuth "
                       "Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN (reinstall "
                       "the app if the token was revoked)"))
      << run.all;
  // The checks that do not need the bot token still ran.
  EXPECT_THAT(run.lines, has_line_starting("✔ Slack app token:"));
  EXPECT_THAT(run.lines, has_line_starting("✔ Lambda ORCHESTRATOR_LAMBDA_ARN:"));
  EXPECT_THAT(run.lines, has_line_starting("– audit and notify channel C0AUDIT: not checked"));
  EXPECT_EQ(run.lines.back(), "doctor: 1 of 7 checks failed");
  expect_nothing_changed();
}

// IP_WHITELIST_LAMBDA_ARN is optional (issue 16): without it doctor says so and passes.
TEST_F(DoctorBinary, NoWhitelistLambdaIsNotAFailure) {
  auto env = environment();
  env.erase("IP_WHITELIST_LAMBDA_ARN");
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 0) << run.all;
  EXPECT_THAT(run.lines, has_line("– Lambda IP_WHITELIST_LAMBDA_ARN: none configured: whitelist "
                                  "commands are refused"))
      << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✔ Lambda ORCHESTRATOR_LAMBDA_ARN:"));
  EXPECT_EQ(run.lines.back(), "doctor: all 8 checks passed");
}

TEST_F(DoctorBinary, MissingBotTokenLeavesTheOtherChecksRunning) {
  auto env = environment();
  env.erase("SLACK_BOT_TOKEN");
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✘ configuration: SLACK_BOT_TOKEN: required"))
      << run.all;
  EXPECT_THAT(run.lines,
              has_line("– Slack bot token: not checked: SLACK_BOT_TOKEN is not usable (above)"));
  EXPECT_THAT(run.lines, has_line_starting("✔ Slack app token:"));
  EXPECT_THAT(run.lines, has_line_starting("✔ Lambda ORCHESTRATOR_LAMBDA_ARN:"));
  EXPECT_THAT(run.lines, has_line_starting("✔ Lambda IP_WHITELIST_LAMBDA_ARN:"));
  EXPECT_EQ(slack_.api_calls("auth.test"), 0u);
  expect_nothing_changed();
}

TEST_F(DoctorBinary, MissingScope) {
  ASSERT_TRUE(slack_.config(R"({"oauth_scopes":"chat:write,commands,app_mentions:read,)"
                            R"(channels:read,groups:read"})"));
  const auto run = doctor(environment());
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line("✘ Slack bot scopes: users:read missing (the token has chat:write, "
                       "commands, app_mentions:read, channels:read, groups:read) — add users:read "
                       "under OAuth & Permissions → Bot Token Scopes and reinstall the app "
                       "(deploy/slack/manifest.json lists them)"))
      << run.all;
  expect_nothing_changed();
}

TEST_F(DoctorBinary, BadAppToken) {
  auto env = environment();
  env["SLACK_APP_TOKEN"] = "xapp-1-A0FAKE-0000-WRONGAPPTOKEN";
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line("✘ Slack app token: apps.connections.open says invalid_auth — generate "
                       "an app-level token with the scope connections:write (Basic Information → "
                       "App-Level Tokens) and put it in SLACK_APP_TOKEN"))
      << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✔ Slack bot token:"));
  expect_nothing_changed();
}

TEST_F(DoctorBinary, UnreachableChannels) {
  auto env = environment();
  env["INFRA_AUDIT_CHANNEL"] = "C0OUTSIDE";   // the bot is not a member
  env["INFRA_NOTIFY_CHANNEL"] = "C0NOWHERE";  // no such channel
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line("✘ audit channel C0OUTSIDE: not_in_channel: the bot is not a member of "
                       "#general, so it cannot post there — invite it: /invite @infrabot in "
                       "#general"))
      << run.all;
  EXPECT_THAT(run.lines,
              has_line_starting("✘ notify channel C0NOWHERE: conversations.info says "
                                "channel_not_found — INFRA_NOTIFY_CHANNEL must be a channel ID"));
  EXPECT_EQ(run.lines.back(), "doctor: 2 of 10 checks failed");
  expect_nothing_changed();
}

TEST_F(DoctorBinary, ChannelScopeMissing) {
  // A private channel with only channels:read: Slack wants groups:read.
  ASSERT_TRUE(slack_.config(R"({"oauth_scopes":"chat:write,commands,app_mentions:read,)"
                            R"(users:read,channels:read"})"));
  auto env = environment();
  env["INFRA_AUDIT_CHANNEL"] = "G0PRIVATE";
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✘ audit and notify channel G0PRIVATE: "
                                           "conversations.info says missing_scope — add "
                                           "channels:read (and groups:read for a private "
                                           "channel)"))
      << run.all;
}

class DoctorBinaryLambdaDenied : public DoctorBinary {
 protected:
  DoctorBinaryLambdaDenied()
      : DoctorBinary(R"([{"function": "infra-orchestrator", "invocation_type": "DryRun",
                          "status": 403, "error_type": "AccessDeniedException",
                          "message": "User: arn:aws:sts::123456789012:assumed-role/infra-bot/t is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"},
                         {"function": "infra-whitelist", "invocation_type": "DryRun",
                          "status": 404, "error_type": "ResourceNotFoundException",
                          "message": "Function not found"}])") {}
};

TEST_F(DoctorBinaryLambdaDenied, PermissionDeniedAndWrongArn) {
  const auto run = doctor(environment());
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines,
              has_line(std::string("✘ Lambda ORCHESTRATOR_LAMBDA_ARN: AccessDeniedException for ") +
                       kOrchestrator + " — allow lambda:InvokeFunction on " + kOrchestrator +
                       " for the task role (or your credentials): `infra-bot iam-policy` prints "
                       "the policy"))
      << run.all;
  EXPECT_THAT(run.lines,
              has_line(std::string("✘ Lambda IP_WHITELIST_LAMBDA_ARN: ResourceNotFoundException "
                                   "for ") +
                       kWhitelist +
                       " — wrong ARN or region: IP_WHITELIST_LAMBDA_ARN must be the deployed "
                       "function's ARN (account, region eu-west-1, name)"))
      << run.all;
  EXPECT_THAT(run.lines, has_line_starting("✔ AWS credentials:"));
  expect_nothing_changed();
}

TEST(DoctorBinaryConfig, ConfigurationProblemsAreListedAndExitOne) {
  test::BotProcess bot({"doctor"}, {{"INFRA_COOLDOWN_SECONDS", "soon"}});
  ASSERT_TRUE(bot.started());
  EXPECT_EQ(bot.wait_exit(std::chrono::seconds(10)), 1);
  const auto lines = bot.stdout_lines();
  EXPECT_THAT(lines,
              testing::Contains(testing::StartsWith("✘ configuration: SLACK_APP_TOKEN: required")));
  EXPECT_THAT(lines,
              testing::Contains(testing::StartsWith("✘ configuration: INFRA_COOLDOWN_SECONDS: ")));
  EXPECT_THAT(lines, testing::Contains(testing::StartsWith("– Slack bot token: not checked: ")));
}

TEST(DoctorBinaryConfig, UsageErrorExitsTwo) {
  test::BotProcess bot({"doctor", "--bogus"}, {});
  ASSERT_TRUE(bot.started());
  EXPECT_EQ(bot.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_FALSE(bot.log_lines().empty()) << "says what is wrong";
}

// ---- Discord alone ----------------------------------------------------------------------------

constexpr const char* kDiscordToken = "discord-bot-token-SECRETDISCORD-0123456789";
constexpr const char* kGuild = "100000000000000777";
constexpr const char* kApplication = "100000000000000001";  // fake_discord.py's default

class DoctorBinaryDiscord : public testing::Test {
 protected:
  void SetUp() override {
    discord_ = std::make_unique<test::PythonFake>(
        std::string(FAKES_DIR) + "/fake_discord.py",
        std::vector<std::string>{"--tls", test::test_tls().cert_file, test::test_tls().key_file,
                                 "--token", kDiscordToken});
    ASSERT_NE(discord_->port(), 0) << "fake_discord.py did not start";
    http_ = core::http::make_curl_client({test::test_tls().ca_file});
  }

  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(discord_->port()); }

  test::BotProcess::Environment environment() const {
    return {
        {"DISCORD_BOT_TOKEN", kDiscordToken},
        {"DISCORD_GUILD_ID", kGuild},
        {"DISCORD_API_URL", base_url() + "/api/v10"},
        {"SSL_CERT_FILE", test::test_tls().ca_file},
        {"INFRA_DISCORD_ALLOWED_ROLES", "300000000000000001"},
        {"INFRA_ENVIRONMENTS", "dev,staging"},
        {"INFRA_PROTECTED_ENVIRONMENTS", "staging"},
        {"INFRA_BACKEND", "simulated"},
    };
  }

  DoctorRun doctor(const test::BotProcess::Environment& env) {
    test::BotProcess bot({"doctor"}, env);
    DoctorRun run;
    if (!bot.started()) return run;
    run.exit_code = bot.wait_exit(std::chrono::seconds(30));
    run.lines = bot.stdout_lines();
    run.all = bot.describe_last(40);
    for (const auto& line : bot.all_lines()) {
      EXPECT_EQ(line.find("SECRETDISCORD"), std::string::npos) << "a secret in: " << line;
    }
    return run;
  }

  // As `infra-bot register discord` would: PUT the command set for INFRA_ENVIRONMENTS.
  bool put_commands(const std::string& commands) {
    core::http::Request request;
    request.method = "PUT";
    request.url = fmt::format("{}/api/v10/applications/{}/guilds/{}/commands", base_url(),
                              kApplication, kGuild);
    request.headers = {{"Authorization", std::string("Bot ") + kDiscordToken},
                       {"User-Agent", "DiscordBot (https://example.invalid, test)"},
                       {"Content-Type", "application/json"}};
    request.body = commands;
    auto response = http_->send(request);
    return response && response->status == 200;
  }

  bool control(const std::string& op, const std::string& body) {
    core::http::Request request;
    request.method = "POST";
    request.url = base_url() + "/_control/" + op;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = body;
    auto response = http_->send(request);
    return response && response->status == 200;
  }

  // The REST calls the fake recorded: "METHOD route".
  std::vector<std::string> calls() {
    core::http::Request request;
    request.method = "GET";
    request.url = base_url() + "/_control/requests";
    auto response = http_->send(request);
    std::vector<std::string> out;
    if (!response || response->status != 200) return out;
    auto doc = core::json::parse(response->body);
    if (!doc || !doc->IsObject() || !doc->HasMember("requests")) return out;
    for (const auto& call : (*doc)["requests"].GetArray()) {
      out.push_back(std::string(call["route"].IsString() ? call["route"].GetString() : "?"));
    }
    return out;
  }

  std::unique_ptr<test::PythonFake> discord_;
  std::unique_ptr<core::http::Client> http_;
};

TEST_F(DoctorBinaryDiscord, TokenGatewayAndCommandsBeforeAndAfterRegistering) {
  const auto before = doctor(environment());
  EXPECT_EQ(before.exit_code, 1) << before.all;
  EXPECT_THAT(before.lines,
              testing::ElementsAre(
                  testing::StartsWith("✔ configuration: the environment parses (backend "
                                      "simulated, environments dev,staging"),
                  "– Slack bot token: not configured (Discord only)",
                  "– Slack bot scopes: not configured (Discord only)",
                  "– Slack app token: not configured (Discord only)",
                  "✔ Discord bot token: application infra-bot (100000000000000001)",
                  "✔ Discord gateway: 999/1000 session starts left, max_concurrency 1",
                  "✘ Discord commands: no commands registered in guild 100000000000000777 — run "
                  "`infra-bot register discord`",
                  "– AWS: not used (INFRA_BACKEND=simulated)",
                  "– channels: not configured (Discord only)", "doctor: 1 of 4 checks failed"))
      << before.all;

  ASSERT_TRUE(put_commands(discord_front::infra_commands_json({"dev", "staging"})));
  const auto after = doctor(environment());
  EXPECT_EQ(after.exit_code, 0) << after.all;
  EXPECT_THAT(after.lines,
              testing::Contains("✔ Discord commands: /infra in guild 100000000000000777 is up to "
                                "date"))
      << after.all;
  EXPECT_EQ(after.lines.back(), "doctor: all 4 checks passed") << after.all;

  // Another INFRA_ENVIRONMENTS than the one registered is a difference.
  auto env = environment();
  env["INFRA_ENVIRONMENTS"] = "dev,staging,prod";
  const auto changed = doctor(env);
  EXPECT_EQ(changed.exit_code, 1) << changed.all;
  EXPECT_THAT(changed.lines, testing::Contains(testing::StartsWith(
                                 "✘ Discord commands: the commands registered in guild "
                                 "100000000000000777 are not /infra as this configuration")))
      << changed.all;

  // Doctor only reads: the one PUT is the test's, and no Gateway session was started.
  const auto made = calls();
  EXPECT_EQ(std::count(made.begin(), made.end(), "PUT /applications/{app}/guilds/{guild}/commands"),
            1)
      << testing::PrintToString(made);
  EXPECT_EQ(std::count(made.begin(), made.end(), "GET /gateway/bot"), 3);
  for (const auto& line : discord_->lines()) {
    EXPECT_EQ(line.find("\"ws_open\""), std::string::npos) << line;
  }
}

TEST_F(DoctorBinaryDiscord, AWrongTokenLeavesTheOtherDiscordChecksOut) {
  auto env = environment();
  env["DISCORD_BOT_TOKEN"] = "discord-bot-token-WRONG-SECRETDISCORD";
  const auto run = doctor(env);
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines, testing::IsSupersetOf(
                             {"✘ Discord bot token: Discord rejected DISCORD_BOT_TOKEN — reset the "
                              "token in the Developer Portal (your application → Bot → Reset "
                              "Token), put it in DISCORD_BOT_TOKEN (or the store it names) and "
                              "run `infra-bot register discord`",
                              "– Discord gateway: not checked: the Discord bot token does not "
                              "work (above)",
                              "– Discord commands: not checked: the Discord bot token does not "
                              "work (above)"}))
      << run.all;
}

TEST_F(DoctorBinaryDiscord, NoSessionStartsLeftSaysWhenTheyReset) {
  ASSERT_TRUE(control("config", R"({"session_start_limit":{"total":1000,"remaining":0,)"
                                R"("reset_after":7260000,"max_concurrency":1}})"));
  const auto run = doctor(environment());
  EXPECT_EQ(run.exit_code, 1) << run.all;
  EXPECT_THAT(run.lines, testing::Contains(testing::StartsWith(
                             "✘ Discord gateway: no session starts left (0/1000); the limit "
                             "resets in 2 h 1 min — until then `run` cannot connect")))
      << run.all;
}

}  // namespace
