// `infra-bot run` with its Slack tokens in SSM Parameter Store and Secrets Manager: the built
// binary against the fake Slack and the fake AWS (SigV4 and every request checked by botocore).
// A resolved token reaches Slack (auth.test, apps.connections.open); a reference that cannot be
// read stops the start with exit 1 and one line naming it, before any call to Slack. TearDown
// (ServiceFixture) scans every line the bot printed for the token values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "fake_aws.hpp"
#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using test::FakeAws;
using testing::HasSubstr;

FakeAws::Credentials shared_credentials() {
  const test::FakeLambda::Credentials lambda;
  return FakeAws::Credentials{lambda.access_key_id, lambda.secret_access_key, lambda.session_token};
}

// The fixture's tokens, kept where an operator would keep them.
std::string store_state() {
  return fmt::format(R"({{
    "ssm": {{"parameters": [
      {{"name": "/infra-bot/slack/bot-token", "value": "{bot}\n"}},
      {{"name": "/infra-bot/slack/swapped", "value": "{app}"}},
      {{"name": "/infra-bot/slack/undecryptable", "value": "{bot}", "kmsError": "AccessDenied"}}
    ]}},
    "secretsmanager": {{"secrets": [
      {{"name": "infra-bot/slack", "string": "{{\"app_token\": \"{app}\", \"bot_token\": \"{bot}\"}}"}}
    ]}}
  }})",
                     fmt::arg("bot", kBotToken), fmt::arg("app", kAppToken));
}

class ServiceSecretsTest : public ServiceFixture {
 protected:
  ServiceSecretsTest() : aws_(store_state(), shared_credentials()) {}

  Settings with_tokens(const std::string& bot, const std::string& app) {
    Settings settings;
    settings.env("SLACK_BOT_TOKEN", bot)
        .env("SLACK_APP_TOKEN", app)
        .env("AWS_ENDPOINT_URL", aws_.endpoint());
    return settings;
  }

  /// The stderr lines of `process` that name `variable`, once it has exited (its exit code).
  std::pair<std::optional<int>, std::vector<std::string>> outcome(test::BotProcess& process,
                                                                  std::string_view variable) {
    const auto code = process.wait_exit(20s);
    std::vector<std::string> naming;
    for (const auto& line : process.log_lines()) {
      if (line.find(variable) != std::string::npos) naming.push_back(line);
    }
    return {code, naming};
  }

  /// Starts the bot (fakes included) with a configuration that must stop it before Slack.
  std::pair<std::optional<int>, std::vector<std::string>> failed_start(Settings settings,
                                                                       std::string_view variable) {
    start(settings.no_hello_wait());
    auto result = outcome(bot(), variable);
    EXPECT_EQ(slack().api_calls("auth.test"), 0u) << "stopped before Slack";
    EXPECT_EQ(slack().count("ws_open"), 0u);
    return result;
  }

  /// Another `infra-bot run` with the started one's environment plus `overrides`.
  std::pair<std::optional<int>, std::vector<std::string>> failed_run(
      const std::map<std::string, std::string>& overrides, std::string_view variable) {
    return outcome(run_other({"run"}, overrides), variable);
  }

  FakeAws aws_;
};

TEST_F(ServiceSecretsTest, TokensFromSsmAndSecretsManagerReachSlack) {
  ASSERT_TRUE(aws_.started());
  start(with_tokens("ssm:/infra-bot/slack/bot-token", "secretsmanager:infra-bot/slack#app_token"));
  // The hello came over a connection opened with the app token; auth.test took the bot token.
  ASSERT_TRUE(bot().wait_for_log("starting"));
  EXPECT_GE(slack().api_calls("auth.test"), 1u);
  EXPECT_TRUE(bot().wait_for_log("SLACK_BOT_TOKEN: read from ssm:/infra-bot/slack/bot-token"));
  EXPECT_TRUE(
      bot().wait_for_log("SLACK_APP_TOKEN: read from secretsmanager:infra-bot/slack#app_token"));
  const auto reads = aws_.requests();
  ASSERT_EQ(reads.size(), 2u) << "read once each";
  for (const auto& request : reads) EXPECT_TRUE(FakeAws::verified(request));
  EXPECT_EQ(aws_.count(FakeAws::call("ssm", "GetParameter")), 1u);
  EXPECT_EQ(aws_.count(FakeAws::call("secretsmanager", "GetSecretValue")), 1u);
}

TEST_F(ServiceSecretsTest, AMissingParameterStopsTheStartWithOneLine) {
  ASSERT_TRUE(aws_.started());
  auto [code, lines] = failed_start(with_tokens("ssm:/missing", kAppToken), "SLACK_BOT_TOKEN");
  EXPECT_EQ(code, 1);
  ASSERT_EQ(lines.size(), 1u) << testing::PrintToString(lines);
  EXPECT_EQ(lines[0],
            "infra-bot: SLACK_BOT_TOKEN: ssm:/missing: not found (SSM ParameterNotFound)");
}

TEST_F(ServiceSecretsTest, EachFailureIsNamed) {
  ASSERT_TRUE(aws_.started());
  struct Case {
    const char* bot;
    const char* says;
  } cases[] = {
      {"ssm:/infra-bot/slack/undecryptable", "cannot be decrypted (SSM AccessDeniedException)"},
      {"ssm:/infra-bot/slack/swapped", "does not hold a token starting with \"xoxb-\""},
      {"secretsmanager:infra-bot/slack#nope", "has no string key \"nope\""},
      {"secretsmanager:infra-bot/other", "not found (Secrets Manager ResourceNotFoundException)"},
  };
  start(with_tokens(kBotToken, kAppToken));  // the fakes, and a bot that works
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bot);
    auto [code, lines] = failed_run({{"SLACK_BOT_TOKEN", c.bot}}, "SLACK_BOT_TOKEN");
    EXPECT_EQ(code, 1);
    ASSERT_EQ(lines.size(), 1u) << testing::PrintToString(lines);
    EXPECT_THAT(lines[0], HasSubstr(std::string("SLACK_BOT_TOKEN: ") + c.bot + ": " + c.says));
  }
  ASSERT_TRUE(aws_.fault(R"({"service": "secretsmanager", "kind": "access_denied"})"));
  auto [code, lines] = failed_run({{"SLACK_APP_TOKEN", "secretsmanager:infra-bot/slack#app_token"}},
                                  "SLACK_APP_TOKEN");
  EXPECT_EQ(code, 1);
  ASSERT_EQ(lines.size(), 1u) << testing::PrintToString(lines);
  EXPECT_THAT(lines[0], HasSubstr("SLACK_APP_TOKEN: secretsmanager:infra-bot/slack#app_token: "
                                  "access denied (Secrets Manager AccessDeniedException)"));
  EXPECT_EQ(slack().api_calls("auth.test"), 1u) << "only the working bot's";
}

TEST_F(ServiceSecretsTest, AReferenceWithoutARegionIsAConfigError) {
  auto [code, lines] = failed_start(
      with_tokens("ssm:/infra-bot/slack/bot-token", kAppToken).env("AWS_REGION", std::nullopt),
      "SLACK_BOT_TOKEN");
  EXPECT_EQ(code, 2);
  ASSERT_EQ(lines.size(), 1u) << testing::PrintToString(lines);
  EXPECT_THAT(lines[0], HasSubstr("needs AWS_REGION"));
  EXPECT_EQ(aws_.count(), 0u);
}

}  // namespace
