// Secret references in token variables (SLACK_BOT_TOKEN=ssm:/…, secretsmanager:…#key): the pure
// parse in core, what load_config makes of them and apply_secret's checks of a resolved value.
#include "core/secret_ref.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config.hpp"

namespace {

using core::SecretRef;
using core::SecretStore;
using testing::HasSubstr;
using testing::Not;

struct RefCase {
  const char* text;
  bool is_ref;
  bool valid;
  SecretStore store = SecretStore::ssm;
  const char* id = "";
  const char* key = "";
};

class SecretRefParse : public testing::TestWithParam<RefCase> {};

TEST_P(SecretRefParse, Table) {
  const auto& c = GetParam();
  auto parsed = core::parse_secret_ref(c.text);
  if (!c.valid) {
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().code, core::ErrorCode::config);
    return;
  }
  ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().user_message;
  ASSERT_EQ(parsed->has_value(), c.is_ref) << c.text;
  if (!c.is_ref) return;
  const SecretRef& ref = **parsed;
  EXPECT_EQ(ref.store, c.store);
  EXPECT_EQ(ref.id, c.id);
  EXPECT_EQ(ref.json_key, c.key);
  EXPECT_EQ(ref.to_string(), c.text) << "shown as written";
}

constexpr auto kSm = SecretStore::secrets_manager;
constexpr auto kSsm = SecretStore::ssm;

INSTANTIATE_TEST_SUITE_P(
    Cases, SecretRefParse,
    testing::Values(
        // literals: not references
        RefCase{"xoxb-1234-abcd", false, true}, RefCase{"xapp-1-A0-1", false, true},
        RefCase{"SSM:/upper/case/is/a/literal", false, true},
        RefCase{"secretsmanager", false, true},
        // ssm
        RefCase{"ssm:/infra-bot/slack/bot-token", true, true, kSsm, "/infra-bot/slack/bot-token"},
        RefCase{"ssm:plain_name.v2", true, true, kSsm, "plain_name.v2"},
        RefCase{"ssm:/a/b:3", true, true, kSsm, "/a/b:3"},
        RefCase{"ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/infra/bot", true, true, kSsm,
                "arn:aws:ssm:eu-west-1:123456789012:parameter/infra/bot"},
        RefCase{"ssm:", true, false}, RefCase{"ssm:/with space", true, false},
        RefCase{"ssm:/a#b", true, false},
        // secrets manager
        RefCase{"secretsmanager:infra-bot/slack", true, true, kSm, "infra-bot/slack"},
        RefCase{"secretsmanager:infra-bot/slack#bot_token", true, true, kSm, "infra-bot/slack",
                "bot_token"},
        RefCase{"secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf",
                true, true, kSm,
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf"},
        RefCase{"secretsmanager:a+b=c.d@e-f", true, true, kSm, "a+b=c.d@e-f"},
        RefCase{"secretsmanager:", true, false}, RefCase{"secretsmanager:#key", true, false},
        RefCase{"secretsmanager:name#", true, false},
        RefCase{"secretsmanager:name#a#b", true, false},
        RefCase{"secretsmanager:na me", true, false}));

TEST(SecretRef, ArnRegion) {
  EXPECT_EQ((SecretRef{kSsm, "arn:aws:ssm:eu-west-1:123456789012:parameter/x", {}}.arn_region()),
            "eu-west-1");
  EXPECT_EQ((SecretRef{kSm, "arn:aws-cn:secretsmanager:cn-north-1:1:secret:x", {}}.arn_region()),
            "cn-north-1");
  EXPECT_EQ((SecretRef{kSsm, "/plain/name", {}}.arn_region()), "");
  EXPECT_EQ((SecretRef{kSsm, "arn:broken", {}}.arn_region()), "");
}

TEST(SecretRef, AMalformedReferenceIsNotEchoed) {
  auto parsed = core::parse_secret_ref("secretsmanager:xoxb-oops pasted token");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().user_message, Not(HasSubstr("pasted")));
}

core::MapEnvironment service_env(std::string bot, std::string app, std::string region) {
  core::MapEnvironment env({{"SLACK_APP_TOKEN", std::move(app)},
                            {"SLACK_BOT_TOKEN", std::move(bot)},
                            {"INFRA_BACKEND", "simulated"},
                            {"INFRA_ALLOW_EVERYONE", "true"}});
  if (!region.empty()) env.set("AWS_REGION", region);
  return env;
}

TEST(ConfigSecretRefs, TokensMayBeReferencesResolvedLater) {
  auto config = core::load_config(
      service_env("ssm:/infra/bot", "secretsmanager:infra/slack#app", "eu-west-1"),
      core::RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_TRUE(config->slack_bot_token.empty());
  EXPECT_TRUE(config->slack_app_token.empty());
  ASSERT_EQ(config->secret_refs.size(), 2u);
  const auto& app = config->secret_refs[0];
  EXPECT_EQ(app.variable, "SLACK_APP_TOKEN");
  EXPECT_EQ(app.ref.to_string(), "secretsmanager:infra/slack#app");
  EXPECT_EQ(app.prefix, "xapp-");
  const auto& bot = config->secret_refs[1];
  EXPECT_EQ(bot.variable, "SLACK_BOT_TOKEN");
  EXPECT_EQ(bot.ref.store, SecretStore::ssm);
  EXPECT_EQ(bot.prefix, "xoxb-");
  EXPECT_TRUE(config->secrets().empty()) << "nothing to redact until resolved";

  ASSERT_TRUE(core::apply_secret(*config, bot, "xoxb-1-2-resolved\n"));
  EXPECT_EQ(config->slack_bot_token, "xoxb-1-2-resolved") << "trimmed";
  ASSERT_TRUE(core::apply_secret(*config, app, "xapp-1-A0-2-resolved"));
  EXPECT_EQ(config->slack_app_token, "xapp-1-A0-2-resolved");
  EXPECT_EQ(config->secrets().size(), 2u);
}

TEST(ConfigSecretRefs, ALiteralTokenStillWorksNextToAReference) {
  auto config =
      core::load_config(service_env("ssm:/infra/bot", "xapp-1-A0123-456-abcdef", "eu-west-1"),
                        core::RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->slack_app_token, "xapp-1-A0123-456-abcdef");
  ASSERT_EQ(config->secret_refs.size(), 1u);
  EXPECT_EQ(config->secret_refs[0].variable, "SLACK_BOT_TOKEN");
}

TEST(ConfigSecretRefs, AppliedValuesAreChecked) {
  auto config =
      core::load_config(service_env("ssm:/infra/bot", "xapp-1-A0123-456-abcdef", "eu-west-1"),
                        core::RunMode::service);
  ASSERT_TRUE(config);
  const auto setting = config->secret_refs.at(0);
  for (const char* value : {"", "  \n", "xapp-1-swapped-SECRETVALUE", "xoxb-"}) {
    auto applied = core::apply_secret(*config, setting, value);
    ASSERT_FALSE(applied) << value;
    EXPECT_THAT(applied.error().user_message, HasSubstr("SLACK_BOT_TOKEN: ssm:/infra/bot: "));
    EXPECT_THAT(applied.error().user_message, Not(HasSubstr("SECRETVALUE")));
    EXPECT_THAT(applied.error().detail, Not(HasSubstr("SECRETVALUE")));
    EXPECT_TRUE(config->slack_bot_token.empty());
  }
  EXPECT_THAT(core::apply_secret(*config, setting, "").error().user_message, HasSubstr("is empty"));
}

TEST(ConfigSecretRefs, AReferenceNeedsARegionUnlessItIsAnArn) {
  auto no_region =
      core::load_config(service_env("ssm:/infra/bot", "xapp-1-A0-1", ""), core::RunMode::service);
  ASSERT_FALSE(no_region);
  EXPECT_THAT(no_region.error().user_message,
              HasSubstr("SLACK_BOT_TOKEN: ssm:/infra/bot needs AWS_REGION"));
  auto arn = core::load_config(
      service_env("ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/infra/bot", "xapp-1-A0-1", ""),
      core::RunMode::service);
  EXPECT_TRUE(arn) << arn.error().user_message;
  // The console (as iam-policy and the Lambdas) never reads the tokens: no region needed.
  auto console =
      core::load_config(service_env("ssm:/infra/bot", "xapp-1-A0-1", ""), core::RunMode::console);
  EXPECT_TRUE(console) << console.error().user_message;
}

TEST(ConfigSecretRefs, MalformedReferencesAndEndpointsAreConfigErrors) {
  auto bad = core::load_config(service_env("ssm:/with space", "secretsmanager:#k", "eu-west-1"),
                               core::RunMode::service);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().user_message, HasSubstr("SLACK_BOT_TOKEN: expected ssm:"));
  EXPECT_THAT(bad.error().user_message, HasSubstr("SLACK_APP_TOKEN: expected secretsmanager:"));

  auto env = service_env("ssm:/infra/bot", "secretsmanager:slack#app", "eu-west-1");
  env.set("AWS_ENDPOINT_URL", "https://generic.example");
  env.set("AWS_ENDPOINT_URL_SSM", "https://ssm.example");
  auto config = core::load_config(env, core::RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->aws_endpoints.ssm, "https://ssm.example");
  EXPECT_EQ(config->aws_endpoints.secrets_manager, "https://generic.example");
  env.set("AWS_ENDPOINT_URL_SECRETS_MANAGER", "ftp://nope");
  auto refused = core::load_config(env, core::RunMode::service);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().user_message, HasSubstr("AWS_ENDPOINT_URL_SECRETS_MANAGER"));
}

TEST(ConfigSecretRefs, TheWrongPrefixNamesTheReferenceForms) {
  auto config = core::load_config(service_env("not-a-token", "xapp-1-A0-1", "eu-west-1"),
                                  core::RunMode::service);
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().user_message, HasSubstr("ssm:<parameter>"));
}

}  // namespace
