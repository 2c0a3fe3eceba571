#include "core/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

namespace {

using core::Config;
using core::MapEnvironment;
using core::RunMode;
using testing::HasSubstr;
using testing::Not;

constexpr const char* kAppToken = "xapp-1-A0123-456-abcdef0123456789";
constexpr const char* kBotToken = "xoxb-1234-5678-abcdefghijklmnop";

MapEnvironment service_env() {
  return MapEnvironment(
      {{"SLACK_APP_TOKEN", kAppToken},
       {"SLACK_BOT_TOKEN", kBotToken},
       {"ORCHESTRATOR_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:orch"},
       {"IP_WHITELIST_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:wl"},
       {"INFRA_ALLOWED_CHANNELS", "C0123OPS"}});
}

std::string config_error(const MapEnvironment& env, RunMode mode = RunMode::console) {
  auto config = core::load_config(env, mode);
  if (config) return "(no error)";
  EXPECT_EQ(config.error().code, core::ErrorCode::config);
  return config.error().user_message;
}

TEST(Config, ConsoleNeedsNothingAndUsesTheDesignDefaults) {
  auto config = core::load_config(MapEnvironment{}, RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->backend, core::BackendKind::simulated);
  EXPECT_EQ(config->environments, (std::vector<std::string>{"dev", "staging", "prod"}));
  EXPECT_EQ(config->protected_environments, (std::vector<std::string>{"prod"}));
  EXPECT_EQ(config->default_environment, "dev");
  EXPECT_EQ(config->cooldown, std::chrono::seconds(30));
  EXPECT_EQ(config->socket_connections, 2);
  EXPECT_EQ(config->health_port, 8080);
  EXPECT_EQ(config->slack_api_url, "https://slack.com/api/");
  EXPECT_EQ(config->log_format, core::LogFormat::json);
  EXPECT_EQ(config->log_level, core::LogLevel::info);
  EXPECT_TRUE(config->allowed_users.empty());
  EXPECT_EQ(config->min_prefix_v4, 16);
  EXPECT_EQ(config->min_prefix_v6, 48);
  EXPECT_EQ(config->health_address, "127.0.0.1");  // inside the task only, by default
  EXPECT_FALSE(config->allow_everyone);
  EXPECT_FALSE(config->allow_guests);
  EXPECT_FALSE(config->allow_insecure_endpoints);
  EXPECT_EQ(config->reads_per_minute, 10);
  EXPECT_TRUE(config->warnings.empty());
  EXPECT_EQ(config->lambda_timeout, std::chrono::seconds(900));
  EXPECT_EQ(config->progress_after, std::chrono::seconds(20));
  EXPECT_EQ(config->drain_timeout, std::chrono::seconds(25));
}

TEST(Config, HealthAddressMustBeAnIpAddress) {
  for (const char* good : {"127.0.0.1", "0.0.0.0", "::", "::1"}) {
    auto config =
        core::load_config(MapEnvironment({{"INFRA_HEALTH_ADDRESS", good}}), RunMode::console);
    ASSERT_TRUE(config) << good << ": " << config.error().user_message;
    EXPECT_EQ(config->health_address, good);
  }
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_HEALTH_ADDRESS", "localhost"}})),
              HasSubstr("INFRA_HEALTH_ADDRESS"));
}

TEST(Config, ServiceModeRequiresTokensAndTheOrchestratorAndNamesEachVariable) {
  const auto message = config_error(MapEnvironment{}, RunMode::service);
  EXPECT_THAT(message, HasSubstr("SLACK_APP_TOKEN: required"));
  EXPECT_THAT(message, HasSubstr("SLACK_BOT_TOKEN: required"));
  EXPECT_THAT(message, HasSubstr("ORCHESTRATOR_LAMBDA_ARN: required for the lambda backend"));
  // Optional (issue 16): without it whitelist commands are refused.
  EXPECT_THAT(message, Not(HasSubstr("IP_WHITELIST_LAMBDA_ARN")));
}

TEST(Config, ServiceModeWithEverythingSetLoads) {
  auto config = core::load_config(service_env(), RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->backend, core::BackendKind::lambda);
  EXPECT_EQ(config->slack_app_token, kAppToken);
  EXPECT_EQ(config->secrets(), (std::vector<std::string>{kAppToken, kBotToken}));
}

TEST(Config, SimulatedBackendNeedsNoArns) {
  MapEnvironment env({{"SLACK_APP_TOKEN", kAppToken},
                      {"SLACK_BOT_TOKEN", kBotToken},
                      {"INFRA_BACKEND", "Simulated"},
                      {"INFRA_ALLOW_EVERYONE", "true"}});
  auto config = core::load_config(env, RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->backend, core::BackendKind::simulated);
}

TEST(Config, SwappedTokensAreRefusedWithoutEchoingThem) {
  auto env = service_env();
  env.set("SLACK_APP_TOKEN", kBotToken);
  env.set("SLACK_BOT_TOKEN", kAppToken);
  const auto message = config_error(env, RunMode::service);
  EXPECT_THAT(message, HasSubstr("SLACK_APP_TOKEN: must be a token starting with \"xapp-\""));
  EXPECT_THAT(message, HasSubstr("SLACK_BOT_TOKEN: must be a token starting with \"xoxb-\""));
  EXPECT_THAT(message, Not(HasSubstr("abcdef")));
  EXPECT_THAT(message, Not(HasSubstr("5678")));
}

TEST(Config, ATokenInTheWrongVariableIsNotEchoed) {
  const auto message =
      config_error(MapEnvironment{{"INFRA_ADMIN_USERS", kBotToken}, {"LOG_LEVEL", kAppToken}});
  EXPECT_THAT(message, HasSubstr("INFRA_ADMIN_USERS: \"xoxb-[REDACTED]\" is not a Slack ID"));
  EXPECT_THAT(message, HasSubstr("LOG_LEVEL"));
  EXPECT_THAT(message, Not(HasSubstr(kBotToken)));
  EXPECT_THAT(message, Not(HasSubstr(kAppToken)));
}

TEST(Config, BareTokenPrefixIsNotAToken) {
  auto env = service_env();
  env.set("SLACK_BOT_TOKEN", "xoxb-");
  EXPECT_THAT(config_error(env, RunMode::service), HasSubstr("SLACK_BOT_TOKEN"));
}

TEST(Config, EnvironmentsAreNormalisedAndValidated) {
  auto config = core::load_config(MapEnvironment({{"INFRA_ENVIRONMENTS", " Dev, QA ,prod,"}}),
                                  RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->environments, (std::vector<std::string>{"dev", "qa", "prod"}));

  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ENVIRONMENTS", "dev,dev"}})),
              HasSubstr("INFRA_ENVIRONMENTS: \"dev\" is listed twice"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ENVIRONMENTS", "dev,pr od"}})),
              HasSubstr("INFRA_ENVIRONMENTS: \"pr od\" is not a valid name"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ENVIRONMENTS", ",,"}})),
              HasSubstr("INFRA_ENVIRONMENTS: lists no environment"));
}

TEST(Config, DefaultEnvironmentIsDevWhenKnownElseTheFirst) {
  auto config = core::load_config(
      MapEnvironment({{"INFRA_ENVIRONMENTS", "qa,live"}, {"INFRA_PROTECTED_ENVIRONMENTS", "live"}}),
      RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->default_environment, "qa");
}

// The finding: with dev,staging,production nothing was protected, silently.
TEST(Config, NothingProtectedIsRefusedUnlessSaidWithNone) {
  EXPECT_THAT(
      config_error(MapEnvironment({{"INFRA_ENVIRONMENTS", "dev,staging,production"}})),
      HasSubstr("INFRA_PROTECTED_ENVIRONMENTS: no environment is protected (INFRA_ENVIRONMENTS "
                "is dev, staging, production, without \"prod\"); name the ones to protect, or "
                "set it to \"none\" to protect none"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_PROTECTED_ENVIRONMENTS", ""}})),
              HasSubstr("INFRA_PROTECTED_ENVIRONMENTS: is empty"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_PROTECTED_ENVIRONMENTS", " , "}})),
              HasSubstr("INFRA_PROTECTED_ENVIRONMENTS: is empty"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ENVIRONMENTS", "dev,production"},
                                           {"SLACK_APP_TOKEN", kAppToken},
                                           {"SLACK_BOT_TOKEN", kBotToken},
                                           {"INFRA_BACKEND", "simulated"},
                                           {"INFRA_ALLOW_EVERYONE", "true"}}),
                           RunMode::service),
              HasSubstr("INFRA_PROTECTED_ENVIRONMENTS: no environment is protected"));
  // A Lambda serves the contract and applies no policy: nothing to protect there.
  auto lambda = core::load_config(MapEnvironment({{"INFRA_ENVIRONMENTS", "dev,production"},
                                                  {"INFRA_LAMBDA_ROLE", "orchestrator"},
                                                  {"AWS_REGION", "eu-west-1"}}),
                                  RunMode::lambda);
  ASSERT_TRUE(lambda) << lambda.error().user_message;
}

TEST(Config, ProductionLookingNamesThatAreNotProtectedAreWarnedAbout) {
  auto config = core::load_config(
      MapEnvironment({{"INFRA_ENVIRONMENTS",
                       "dev,prod,production,prd,live,prod-eu,live-us,lively,eu_prod,reproduce"},
                      {"INFRA_PROTECTED_ENVIRONMENTS", "prod,live-us"}}),
      RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  ASSERT_EQ(config->warnings.size(), 5u) << "lively and reproduce are not production";
  EXPECT_THAT(config->warnings[4], HasSubstr("\"eu_prod\""));
  EXPECT_THAT(config->warnings[0],
              HasSubstr("environment \"production\" looks like production but is not "
                        "protected"));
  EXPECT_THAT(config->warnings[1], HasSubstr("\"prd\""));
  EXPECT_THAT(config->warnings[2], HasSubstr("\"live\""));
  EXPECT_THAT(config->warnings[3], HasSubstr("\"prod-eu\""));
}

TEST(Config, ProtectedEnvironmentsMustBeKnown) {
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_PROTECTED_ENVIRONMENTS", "prod,live"}})),
              HasSubstr("INFRA_PROTECTED_ENVIRONMENTS: \"live\" is not in INFRA_ENVIRONMENTS "
                        "(dev, staging, prod)"));
  auto config = core::load_config(
      MapEnvironment({{"INFRA_PROTECTED_ENVIRONMENTS", "staging, PROD"}}), RunMode::console);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->protected_environments, (std::vector<std::string>{"staging", "prod"}));
}

TEST(Config, NoneProtectsNothingAndStillWarns) {
  for (const char* none : {"none", " NONE "}) {
    auto config = core::load_config(MapEnvironment({{"INFRA_PROTECTED_ENVIRONMENTS", none}}),
                                    RunMode::console);
    ASSERT_TRUE(config) << config.error().user_message;
    EXPECT_TRUE(config->protected_environments.empty());
    ASSERT_EQ(config->warnings.size(), 1u);
    EXPECT_THAT(config->warnings[0], HasSubstr("\"prod\" looks like production"));
  }
}

// The finding: with both allow-lists empty any member of the workspace could act.
TEST(Config, TheServiceIsClosedUnlessOpened) {
  auto closed = service_env();
  closed.set("INFRA_ALLOWED_CHANNELS", "");
  EXPECT_THAT(config_error(closed, RunMode::service),
              HasSubstr("INFRA_ALLOWED_USERS: set INFRA_ALLOWED_USERS or INFRA_ALLOWED_CHANNELS "
                        "to say who may use /infra, or INFRA_ALLOW_EVERYONE=true"));
  auto refused = closed;
  refused.set("INFRA_ALLOW_EVERYONE", "false");
  EXPECT_THAT(config_error(refused, RunMode::service), HasSubstr("INFRA_ALLOWED_USERS: set"));
  auto everyone = closed;
  everyone.set("INFRA_ALLOW_EVERYONE", "TRUE");
  auto config = core::load_config(everyone, RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_TRUE(config->allow_everyone);
  auto users = closed;
  users.set("INFRA_ALLOWED_USERS", "U012ALICE");
  EXPECT_TRUE(core::load_config(users, RunMode::service));
  // The console is the operator's own terminal: nothing to close.
  EXPECT_TRUE(core::load_config(MapEnvironment{}, RunMode::console));
  // A word that is not a yes or a no is a mistake, not "false".
  EXPECT_THAT(config_error(MapEnvironment(
                  {{"INFRA_ALLOW_EVERYONE", "yes please"}, {"INFRA_ALLOW_GUESTS", "2"}})),
              testing::AllOf(HasSubstr("INFRA_ALLOW_EVERYONE: expected true or false, got "
                                       "\"yes please\""),
                             HasSubstr("INFRA_ALLOW_GUESTS: expected true or false")));
  auto guests = core::load_config(
      MapEnvironment({{"INFRA_ALLOW_GUESTS", "yes"}, {"INFRA_READ_RATE_LIMIT", "0"}}),
      RunMode::console);
  ASSERT_TRUE(guests);
  EXPECT_TRUE(guests->allow_guests);
  EXPECT_EQ(guests->reads_per_minute, 0);
}

TEST(Config, SlackIdListsAreValidated) {
  auto config = core::load_config(MapEnvironment({{"INFRA_ALLOWED_USERS", "U012ABC, W0XYZ12"},
                                                  {"INFRA_ALLOWED_CHANNELS", "C0123456"},
                                                  {"INFRA_ADMIN_USERS", "U999AAA"}}),
                                  RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->allowed_users, (std::vector<std::string>{"U012ABC", "W0XYZ12"}));
  EXPECT_EQ(config->allowed_channels, (std::vector<std::string>{"C0123456"}));
  EXPECT_EQ(config->admin_users, (std::vector<std::string>{"U999AAA"}));

  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ALLOWED_USERS", "alice"}})),
              HasSubstr("INFRA_ALLOWED_USERS: \"alice\" is not a Slack ID"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ALLOWED_CHANNELS", "U012ABC"}})),
              HasSubstr("INFRA_ALLOWED_CHANNELS: \"U012ABC\" is not a Slack ID"));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_AUDIT_CHANNEL", "#ops"}})),
              HasSubstr("INFRA_AUDIT_CHANNEL: \"#ops\" is not a channel ID"));
}

struct NumberCase {
  const char* variable;
  const char* value;
  const char* expected;  // substring of the error, or nullptr when accepted
};

class ConfigNumbers : public testing::TestWithParam<NumberCase> {};

TEST_P(ConfigNumbers, AreRangeChecked) {
  const auto& c = GetParam();
  auto config = core::load_config(MapEnvironment({{c.variable, c.value}}), RunMode::console);
  if (c.expected == nullptr) {
    EXPECT_TRUE(config) << config.error().user_message;
  } else {
    ASSERT_FALSE(config);
    EXPECT_THAT(config.error().user_message, HasSubstr(c.expected));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigNumbers,
    testing::Values(
        NumberCase{"INFRA_COOLDOWN_SECONDS", "0", nullptr},
        NumberCase{"INFRA_COOLDOWN_SECONDS", "45", nullptr},
        NumberCase{"INFRA_COOLDOWN_SECONDS", "-1",
                   "INFRA_COOLDOWN_SECONDS: expected a whole number from 0 to 86400, got \"-1\""},
        NumberCase{"INFRA_COOLDOWN_SECONDS", "30s", "INFRA_COOLDOWN_SECONDS: expected a whole"},
        NumberCase{"INFRA_COOLDOWN_SECONDS", "99999999999999999999", "INFRA_COOLDOWN_SECONDS"},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "1", nullptr},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "4", nullptr},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "0",
                   "INFRA_SOCKET_CONNECTIONS: expected a whole "
                   "number from 1 to 4"},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "5",
                   "INFRA_SOCKET_CONNECTIONS: expected a whole number from 1 to 4, got \"5\" "
                   "(Slack allows 10 Socket Mode connections per app, and a rolling deploy "
                   "doubles them"},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "10", "INFRA_SOCKET_CONNECTIONS"},
        NumberCase{"INFRA_SOCKET_CONNECTIONS", "two", "INFRA_SOCKET_CONNECTIONS"},
        NumberCase{"INFRA_HEALTH_PORT", "0", nullptr},
        NumberCase{"INFRA_HEALTH_PORT", "65536", "INFRA_HEALTH_PORT"},
        NumberCase{"INFRA_HEALTH_PORT", "http", "INFRA_HEALTH_PORT"},
        NumberCase{"INFRA_LAMBDA_TIMEOUT_SECONDS", "60", nullptr},
        NumberCase{"INFRA_LAMBDA_TIMEOUT_SECONDS", "0", "INFRA_LAMBDA_TIMEOUT_SECONDS"},
        NumberCase{"INFRA_LAMBDA_TIMEOUT_SECONDS", "901", "INFRA_LAMBDA_TIMEOUT_SECONDS"},
        NumberCase{"INFRA_PROGRESS_SECONDS", "5", nullptr},
        NumberCase{"INFRA_PROGRESS_SECONDS", "0", "INFRA_PROGRESS_SECONDS"},
        NumberCase{"INFRA_DRAIN_SECONDS", "0", nullptr},
        NumberCase{"INFRA_METRICS_INTERVAL_SECONDS", "10", nullptr},
        NumberCase{"INFRA_METRICS_INTERVAL_SECONDS", "3600", nullptr},
        NumberCase{"INFRA_METRICS_INTERVAL_SECONDS", "9", "INFRA_METRICS_INTERVAL_SECONDS"},
        NumberCase{"INFRA_METRICS_INTERVAL_SECONDS", "3601", "INFRA_METRICS_INTERVAL_SECONDS"},
        NumberCase{"INFRA_METRICS_INTERVAL_SECONDS", "1m", "INFRA_METRICS_INTERVAL_SECONDS"},
        NumberCase{"INFRA_DRAIN_SECONDS", "-1", "INFRA_DRAIN_SECONDS"},
        NumberCase{"INFRA_MIN_CIDR_PREFIX_V4", "24", nullptr},
        NumberCase{"INFRA_MIN_CIDR_PREFIX_V4", "33", "INFRA_MIN_CIDR_PREFIX_V4"},
        NumberCase{"INFRA_MIN_CIDR_PREFIX_V6", "0", "INFRA_MIN_CIDR_PREFIX_V6"}),
    [](const auto& param_info) {
      return std::string(param_info.param.variable) + "_" + std::to_string(param_info.index);
    });

TEST(Config, MetricsModes) {
  auto defaults = core::load_config(MapEnvironment{}, RunMode::console);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->metrics_mode, core::MetricsMode::prometheus);
  EXPECT_EQ(defaults->metrics_interval, std::chrono::seconds(60));
  for (const auto& [text, mode] :
       {std::pair{"prometheus", core::MetricsMode::prometheus},
        std::pair{"EMF", core::MetricsMode::emf}, std::pair{"off", core::MetricsMode::off}}) {
    auto config = core::load_config(MapEnvironment({{"INFRA_METRICS", text}}), RunMode::console);
    ASSERT_TRUE(config) << text;
    EXPECT_EQ(config->metrics_mode, mode) << text;
  }
  auto interval = core::load_config(MapEnvironment({{"INFRA_METRICS_INTERVAL_SECONDS", "15"}}),
                                    RunMode::console);
  ASSERT_TRUE(interval);
  EXPECT_EQ(interval->metrics_interval, std::chrono::seconds(15));
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_METRICS", "statsd"}})),
              HasSubstr("INFRA_METRICS: expected prometheus, emf or off, got \"statsd\""));
}

TEST(Config, LoggingSettings) {
  auto config = core::load_config(
      MapEnvironment({{"LOG_FORMAT", "TEXT"}, {"LOG_LEVEL", "warning"}}), RunMode::console);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->log_format, core::LogFormat::text);
  EXPECT_EQ(config->log_level, core::LogLevel::warn);
  EXPECT_THAT(config_error(MapEnvironment({{"LOG_FORMAT", "xml"}})),
              HasSubstr("LOG_FORMAT: expected json or text, got \"xml\""));
  EXPECT_THAT(config_error(MapEnvironment({{"LOG_LEVEL", "loud"}})), HasSubstr("LOG_LEVEL"));
}

TEST(Config, UrlsAndEndpoints) {
  auto config =
      core::load_config(MapEnvironment({{"SLACK_API_URL", "https://127.0.0.1:8443/api"},
                                        {"INFRA_ALLOW_INSECURE_ENDPOINTS", "true"},
                                        {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"},
                                        {"AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001"},
                                        {"AWS_DEFAULT_REGION", "eu-west-1"}}),
                        RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->slack_api_url, "https://127.0.0.1:8443/api/");
  EXPECT_EQ(config->aws_endpoint_url, "http://127.0.0.1:9001");  // the service-specific one wins
  EXPECT_EQ(config->aws_region, "eu-west-1");
  EXPECT_THAT(config_error(MapEnvironment({{"SLACK_API_URL", "slack.com/api"}})),
              HasSubstr("SLACK_API_URL: must be an https:// URL"));
}

// The finding: SLACK_API_URL and the Lambda endpoints took http://, so the
// bot token and signed requests could go out in the clear.
TEST(Config, PlainHttpEndpointsOnlyWhenInsecureEndpointsAreAllowed) {
  const auto message =
      config_error(MapEnvironment({{"SLACK_API_URL", "http://127.0.0.1:8443/api"},
                                   {"AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001"},
                                   {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}}));
  EXPECT_THAT(message, HasSubstr("SLACK_API_URL: must be an https:// URL (http:// only with "
                                 "INFRA_ALLOW_INSECURE_ENDPOINTS=true"));
  EXPECT_THAT(message, HasSubstr("AWS_ENDPOINT_URL_LAMBDA: must be an https:// URL without a "
                                 "user name or password (http:// only with "
                                 "INFRA_ALLOW_INSECURE_ENDPOINTS=true"));
  EXPECT_THAT(message, HasSubstr("AWS_ENDPOINT_URL: must be an https:// URL"));
  auto https = core::load_config(MapEnvironment({{"SLACK_API_URL", "https://127.0.0.1:8443/api"},
                                                 {"AWS_ENDPOINT_URL", "https://127.0.0.1:9000"}}),
                                 RunMode::console);
  ASSERT_TRUE(https) << https.error().user_message;
  EXPECT_FALSE(https->allow_insecure_endpoints);
}

TEST(Config, AwsRegionPrefersAwsRegion) {
  auto config = core::load_config(
      MapEnvironment({{"AWS_REGION", "us-east-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}}),
      RunMode::console);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->aws_region, "us-east-2");
}

TEST(Config, CertificateFileMustExist) {
  EXPECT_THAT(config_error(MapEnvironment({{"SSL_CERT_FILE", "/nonexistent/ca.pem"}})),
              HasSubstr("SSL_CERT_FILE: \"/nonexistent/ca.pem\" is not a readable file"));
  auto config = core::load_config(MapEnvironment({{"SSL_CERT_FILE", SOURCE_DIR "/CMakeLists.txt"}}),
                                  RunMode::console);
  EXPECT_TRUE(config);
}

TEST(Config, EveryProblemIsReportedAtOnce) {
  const auto message = config_error(MapEnvironment(
      {{"LOG_FORMAT", "xml"}, {"INFRA_COOLDOWN_SECONDS", "soon"}, {"INFRA_BACKEND", "docker"}}));
  EXPECT_THAT(message, HasSubstr("LOG_FORMAT"));
  EXPECT_THAT(message, HasSubstr("INFRA_COOLDOWN_SECONDS"));
  EXPECT_THAT(message,
              HasSubstr("INFRA_BACKEND: expected lambda, aws or simulated, got \"docker\""));
}

TEST(Config, AwsBackendEndpointsPerServiceThenGenericAndNoCredentialsInThem) {
  auto config =
      core::load_config(MapEnvironment({{"INFRA_BACKEND", "aws"},
                                        {"AWS_REGION", "eu-west-1"},
                                        {"AWS_ENDPOINT_URL", "https://127.0.0.1:4566"},
                                        {"AWS_ENDPOINT_URL_EC2", "https://127.0.0.1:4999/ec2"},
                                        {"INFRA_TAG_KEY", "Stage"},
                                        {"INFRA_WHITELIST_PORTS", "22, 443,22"}}),
                        RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->backend, core::BackendKind::aws);
  EXPECT_EQ(config->aws_endpoints.ec2, "https://127.0.0.1:4999/ec2");
  EXPECT_EQ(config->aws_endpoints.ecs, "https://127.0.0.1:4566");
  EXPECT_EQ(config->aws_endpoints.tagging, "https://127.0.0.1:4566");
  EXPECT_EQ(config->tag_key, "Stage");
  EXPECT_EQ(config->whitelist_ports, (std::vector<std::uint16_t>{22, 443}));

  const auto message = config_error(
      MapEnvironment({{"INFRA_BACKEND", "aws"},
                      {"INFRA_ALLOW_INSECURE_ENDPOINTS", "true"},
                      {"AWS_ENDPOINT_URL_ECS", "https://admin:hunter2secret@127.0.0.1:1"},
                      {"INFRA_TAG_KEY", "aws:cloudformation"},
                      {"INFRA_WHITELIST_PORTS", "80,70000"}}));
  EXPECT_THAT(message, HasSubstr("AWS_REGION: required for the aws backend"));
  EXPECT_THAT(message, HasSubstr("AWS_ENDPOINT_URL_ECS: must be an http:// or https:// URL "
                                 "without a user name or password"));
  EXPECT_THAT(message, testing::Not(HasSubstr("hunter2secret")));
  EXPECT_THAT(message, HasSubstr("INFRA_TAG_KEY"));
  EXPECT_THAT(message, HasSubstr("INFRA_WHITELIST_PORTS: \"70000\" is not a port"));
}

TEST(Config, LambdaModeNeedsItsRoleAndIsAlwaysTheAwsBackend) {
  EXPECT_THAT(config_error(MapEnvironment({{"AWS_REGION", "eu-west-1"}}), RunMode::lambda),
              HasSubstr("INFRA_LAMBDA_ROLE: required"));
  auto config = core::load_config(
      MapEnvironment({{"AWS_REGION", "eu-west-1"},
                      {"INFRA_LAMBDA_ROLE", "Whitelist"},
                      {"INFRA_BACKEND", "simulated"},
                      {"ORCHESTRATOR_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:1:function:x"}}),
      RunMode::lambda);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->backend, core::BackendKind::aws);
  EXPECT_EQ(config->lambda_role, core::LambdaRole::whitelist);
  EXPECT_TRUE(config->orchestrator_lambda_arn.empty()) << "a Lambda never calls another";
}

// --- Discord (issue 17) ------------------------------------------------------------------------

// A Discord bot token has no fixed prefix: three base64 parts joined by dots.
constexpr const char* kDiscordToken =
    "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.discordSecretPart0123456789ab";
constexpr const char* kGuild = "112233445566778899";
constexpr const char* kRole = "223344556677889900";
constexpr const char* kAdminRole = "334455667788990011";
constexpr const char* kDiscordChannel = "445566778899001122";

// `run` on Discord alone: no Slack token, the Discord lists open it.
MapEnvironment discord_env() {
  return MapEnvironment(
      {{"DISCORD_BOT_TOKEN", kDiscordToken},
       {"DISCORD_GUILD_ID", kGuild},
       {"ORCHESTRATOR_LAMBDA_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:orch"},
       {"INFRA_DISCORD_ALLOWED_ROLES", kRole}});
}

TEST(Config, DiscordAloneNeedsNoSlackTokens) {
  auto config = core::load_config(discord_env(), RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_TRUE(config->discord_configured);
  EXPECT_FALSE(config->slack_configured);
  EXPECT_EQ(config->discord_bot_token, kDiscordToken);
  EXPECT_EQ(config->discord_guild_id, kGuild);
  EXPECT_EQ(config->discord_api_url, "https://discord.com/api/v10");
  EXPECT_EQ(config->discord_allowed_roles, (std::vector<std::string>{kRole}));
  EXPECT_TRUE(config->discord_admin_roles.empty());
  EXPECT_TRUE(config->discord_allowed_channels.empty());
  EXPECT_TRUE(config->slack_app_token.empty());
  EXPECT_TRUE(config->secret_refs.empty());
  EXPECT_EQ(config->secrets(), (std::vector<std::string>{kDiscordToken}));

  // Without Discord nothing changes: Slack's tokens stay required, and Discord is off.
  auto slack = core::load_config(service_env(), RunMode::service);
  ASSERT_TRUE(slack) << slack.error().user_message;
  EXPECT_TRUE(slack->slack_configured);
  EXPECT_FALSE(slack->discord_configured);
  EXPECT_TRUE(slack->discord_bot_token.empty());
  EXPECT_TRUE(slack->discord_guild_id.empty());
}

TEST(Config, SlackAndDiscordTogetherKeepEveryTokenSecret) {
  auto env = discord_env();
  env.set("SLACK_APP_TOKEN", kAppToken);
  env.set("SLACK_BOT_TOKEN", kBotToken);
  env.set("INFRA_ALLOWED_CHANNELS", "C0123OPS");
  auto config = core::load_config(env, RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_TRUE(config->slack_configured);
  EXPECT_TRUE(config->discord_configured);
  EXPECT_EQ(config->secrets(), (std::vector<std::string>{kAppToken, kBotToken, kDiscordToken}));
}

// With Discord configured, the Slack tokens are optional, but a half-configured
// Slack is a mistake: one given means both are required.
TEST(Config, WithDiscordOneSlackTokenNeedsTheOther) {
  struct Case {
    const char* given;    // the one Slack token set
    const char* value;    // its value
    const char* missing;  // the variable the error names
  };
  for (const auto& c : {Case{"SLACK_APP_TOKEN", kAppToken, "SLACK_BOT_TOKEN: required"},
                        Case{"SLACK_BOT_TOKEN", kBotToken, "SLACK_APP_TOKEN: required"}}) {
    SCOPED_TRACE(c.given);
    auto env = discord_env();
    env.set(c.given, c.value);
    env.set("INFRA_ALLOWED_CHANNELS", "C0123OPS");
    const auto message = config_error(env, RunMode::service);
    EXPECT_THAT(message, HasSubstr(c.missing));
    EXPECT_THAT(message, Not(HasSubstr(std::string(c.given) + ": required")));
  }
  // Without Discord both are required, as before.
  const auto neither =
      config_error(MapEnvironment({{"DISCORD_GUILD_ID", kGuild}}), RunMode::service);
  EXPECT_THAT(neither, HasSubstr("SLACK_APP_TOKEN: required"));
  EXPECT_THAT(neither, HasSubstr("SLACK_BOT_TOKEN: required"));
}

TEST(Config, DiscordGuildIdIsRequiredInServiceModeAndIsASnowflake) {
  auto missing = discord_env();
  missing.set("DISCORD_GUILD_ID", "");
  EXPECT_THAT(config_error(missing, RunMode::service),
              HasSubstr("DISCORD_GUILD_ID: required with DISCORD_BOT_TOKEN: the ID of the one "
                        "Discord server (guild)"));
  // The console never connects to Discord: no guild needed.
  auto console =
      core::load_config(MapEnvironment({{"DISCORD_BOT_TOKEN", kDiscordToken}}), RunMode::console);
  ASSERT_TRUE(console) << console.error().user_message;
  EXPECT_TRUE(console->discord_configured);
  EXPECT_TRUE(console->discord_guild_id.empty());

  struct Case {
    const char* value;
    const char* expected;  // the guild id kept, or nullptr when refused
  };
  for (const auto& c : {Case{"12345678901234567", "12345678901234567"},        // 17 digits
                        Case{"12345678901234567890", "12345678901234567890"},  // 20 digits
                        Case{" 112233445566778899 ", "112233445566778899"},    // trimmed
                        Case{"1234567890123456", nullptr},                     // 16
                        Case{"123456789012345678901", nullptr},                // 21
                        Case{"11223344556677889a", nullptr}, Case{"-11223344556677889", nullptr},
                        Case{"my-server", nullptr}}) {
    SCOPED_TRACE(c.value);
    auto env = discord_env();
    env.set("DISCORD_GUILD_ID", c.value);
    auto config = core::load_config(env, RunMode::service);
    if (c.expected != nullptr) {
      ASSERT_TRUE(config) << config.error().user_message;
      EXPECT_EQ(config->discord_guild_id, c.expected);
    } else {
      ASSERT_FALSE(config);
      EXPECT_THAT(config.error().user_message,
                  HasSubstr(fmt::format("DISCORD_GUILD_ID: \"{}\" is not a Discord ID (17 to 20 "
                                        "digits)",
                                        c.value)));
    }
  }
}

TEST(Config, DiscordApiUrl) {
  struct Case {
    const char* url;
    const char* insecure;  // INFRA_ALLOW_INSECURE_ENDPOINTS, or nullptr
    const char* expected;  // the URL kept, or nullptr when refused
  };
  const Case cases[] = {
      {"https://discord.com/api/v10", nullptr, "https://discord.com/api/v10"},
      {"https://127.0.0.1:8443/api/v10/", nullptr, "https://127.0.0.1:8443/api/v10"},
      {"https://127.0.0.1:8443/api///", nullptr, "https://127.0.0.1:8443/api"},
      {"http://127.0.0.1:8080/api", "true", "http://127.0.0.1:8080/api"},
      {"http://127.0.0.1:8080/api/", "true", "http://127.0.0.1:8080/api"},
      {"http://127.0.0.1:8080/api", nullptr, nullptr},
      {"http://127.0.0.1:8080/api", "false", nullptr},
      {"discord.com/api/v10", nullptr, nullptr},
      {"ftp://discord.com/api", "true", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.url) + " insecure=" + (c.insecure ? c.insecure : "unset"));
    MapEnvironment env({{"DISCORD_API_URL", c.url}});
    if (c.insecure != nullptr) env.set("INFRA_ALLOW_INSECURE_ENDPOINTS", c.insecure);
    auto config = core::load_config(env, RunMode::console);
    if (c.expected != nullptr) {
      ASSERT_TRUE(config) << config.error().user_message;
      EXPECT_EQ(config->discord_api_url, c.expected);
    } else {
      ASSERT_FALSE(config);
      EXPECT_THAT(config.error().user_message,
                  HasSubstr("DISCORD_API_URL: must be an https:// URL such as "
                            "https://discord.com/api/v10 (http:// only with "
                            "INFRA_ALLOW_INSECURE_ENDPOINTS=true"));
    }
  }
}

TEST(Config, DiscordIdListsAreValidated) {
  auto config = core::load_config(
      MapEnvironment(
          {{"INFRA_DISCORD_ALLOWED_ROLES", " 223344556677889900 ,12345678901234567,"},
           {"INFRA_DISCORD_ADMIN_ROLES", kAdminRole},
           {"INFRA_DISCORD_ALLOWED_CHANNELS", "445566778899001122,12345678901234567890"}}),
      RunMode::console);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_EQ(config->discord_allowed_roles,
            (std::vector<std::string>{"223344556677889900", "12345678901234567"}));
  EXPECT_EQ(config->discord_admin_roles, (std::vector<std::string>{kAdminRole}));
  EXPECT_EQ(config->discord_allowed_channels,
            (std::vector<std::string>{"445566778899001122", "12345678901234567890"}));

  struct Case {
    const char* variable;
    const char* value;
    const char* bad;  // the item the error quotes
  };
  for (const auto& c :
       {Case{"INFRA_DISCORD_ALLOWED_ROLES", "223344556677889900,ops", "ops"},
        Case{"INFRA_DISCORD_ALLOWED_ROLES", "@operators", "@operators"},
        Case{"INFRA_DISCORD_ADMIN_ROLES", "1234567890123456", "1234567890123456"},
        Case{"INFRA_DISCORD_ADMIN_ROLES", "U012ABCDEF", "U012ABCDEF"},
        Case{"INFRA_DISCORD_ALLOWED_CHANNELS", "#ops", "#ops"},
        Case{"INFRA_DISCORD_ALLOWED_CHANNELS", "123456789012345678901", "123456789012345678901"}}) {
    SCOPED_TRACE(std::string(c.variable) + "=" + c.value);
    EXPECT_THAT(config_error(MapEnvironment({{c.variable, c.value}})),
                HasSubstr(fmt::format("{}: \"{}\" is not a Discord ID (17 to 20 digits, such as "
                                      "1234567890123456789)",
                                      c.variable, c.bad)));
  }
  // Snowflakes are not Slack IDs, nor the other way round.
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_ALLOWED_USERS", kRole}})),
              HasSubstr("INFRA_ALLOWED_USERS: \"223344556677889900\" is not a Slack ID"));
}

// Closed unless opened, per chat: each chat `run` serves needs its own list
// (or INFRA_ALLOW_EVERYONE); one chat's lists never open the other.
TEST(Config, EachChatIsClosedUnlessOpened) {
  constexpr const char* kDiscordRule =
      "INFRA_DISCORD_ALLOWED_ROLES: set INFRA_DISCORD_ALLOWED_ROLES or "
      "INFRA_DISCORD_ALLOWED_CHANNELS to say who may use /infra on Discord, or "
      "INFRA_ALLOW_EVERYONE=true to let every member of the server use it";
  constexpr const char* kSlackRule = "INFRA_ALLOWED_USERS: set INFRA_ALLOWED_USERS or";
  struct Case {
    const char* name;
    bool slack;                                            // both Slack tokens given
    std::vector<std::pair<const char*, const char*>> set;  // the lists
    bool discord_refused;
    bool slack_refused;
  };
  const Case cases[] = {
      {"discord, nothing opened", false, {}, true, false},
      {"discord, allowed roles", false, {{"INFRA_DISCORD_ALLOWED_ROLES", kRole}}, false, false},
      // Admin roles alone leave everyone else free to run what needs no admin: not opened.
      {"discord, admin roles only",
       false,
       {{"INFRA_DISCORD_ADMIN_ROLES", kAdminRole}},
       true,
       false},
      {"discord, channels",
       false,
       {{"INFRA_DISCORD_ALLOWED_CHANNELS", kDiscordChannel}},
       false,
       false},
      {"discord, everyone", false, {{"INFRA_ALLOW_EVERYONE", "true"}}, false, false},
      {"discord, everyone=false", false, {{"INFRA_ALLOW_EVERYONE", "false"}}, true, false},
      {"discord, only Slack's lists",
       false,
       {{"INFRA_ALLOWED_USERS", "U012ALICE"}, {"INFRA_ALLOWED_CHANNELS", "C0123OPS"}},
       true,
       false},
      {"both, nothing opened", true, {}, true, true},
      {"both, Slack opened", true, {{"INFRA_ALLOWED_CHANNELS", "C0123OPS"}}, true, false},
      {"both, Discord opened", true, {{"INFRA_DISCORD_ALLOWED_ROLES", kRole}}, false, true},
      {"both, both opened",
       true,
       {{"INFRA_ALLOWED_USERS", "U012ALICE"}, {"INFRA_DISCORD_ALLOWED_CHANNELS", kDiscordChannel}},
       false,
       false},
      {"both, everyone", true, {{"INFRA_ALLOW_EVERYONE", "yes"}}, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto env = discord_env();
    env.set("INFRA_DISCORD_ALLOWED_ROLES", "");
    if (c.slack) {
      env.set("SLACK_APP_TOKEN", kAppToken);
      env.set("SLACK_BOT_TOKEN", kBotToken);
    }
    for (const auto& [variable, value] : c.set) env.set(variable, value);
    auto config = core::load_config(env, RunMode::service);
    if (!c.discord_refused && !c.slack_refused) {
      EXPECT_TRUE(config) << config.error().user_message;
      continue;
    }
    ASSERT_FALSE(config);
    const auto& message = config.error().user_message;
    EXPECT_EQ(message.find(kDiscordRule) != std::string::npos, c.discord_refused) << message;
    EXPECT_EQ(message.find(kSlackRule) != std::string::npos, c.slack_refused) << message;
  }
  // The console serves neither chat: nothing to close.
  auto console = core::load_config(
      MapEnvironment({{"DISCORD_BOT_TOKEN", kDiscordToken}, {"DISCORD_GUILD_ID", kGuild}}),
      RunMode::console);
  EXPECT_TRUE(console) << console.error().user_message;
}

TEST(Config, DiscordTokenFromAStore) {
  auto env = discord_env();
  env.set("DISCORD_BOT_TOKEN", "ssm:/infra-bot/discord/bot-token");
  env.set("AWS_REGION", "eu-west-1");
  auto config = core::load_config(env, RunMode::service);
  ASSERT_TRUE(config) << config.error().user_message;
  EXPECT_TRUE(config->discord_configured);
  EXPECT_TRUE(config->discord_bot_token.empty()) << "resolved by the app at start";
  EXPECT_TRUE(config->secrets().empty());
  ASSERT_EQ(config->secret_refs.size(), 1u);
  const auto setting = config->secret_refs[0];
  EXPECT_EQ(setting.variable, "DISCORD_BOT_TOKEN");
  EXPECT_EQ(setting.ref.to_string(), "ssm:/infra-bot/discord/bot-token");
  EXPECT_EQ(setting.prefix, "") << "Discord tokens have no fixed prefix";
  EXPECT_TRUE(setting.target == &Config::discord_bot_token);

  ASSERT_TRUE(core::apply_secret(*config, setting, std::string(kDiscordToken) + "\n"));
  EXPECT_EQ(config->discord_bot_token, kDiscordToken);
  EXPECT_EQ(config->secrets(), (std::vector<std::string>{kDiscordToken}));
  auto empty = core::apply_secret(*config, setting, " \n");
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().user_message,
              HasSubstr("DISCORD_BOT_TOKEN: ssm:/infra-bot/discord/bot-token: is empty"));

  // Secrets Manager, with a key; and a region is needed to resolve either.
  env.set("DISCORD_BOT_TOKEN", "secretsmanager:infra-bot/discord#token");
  env.set("AWS_REGION", "");
  EXPECT_THAT(config_error(env, RunMode::service),
              HasSubstr("DISCORD_BOT_TOKEN: secretsmanager:infra-bot/discord#token needs "
                        "AWS_REGION"));
  env.set("DISCORD_BOT_TOKEN", "ssm:");
  EXPECT_THAT(config_error(env, RunMode::service), HasSubstr("DISCORD_BOT_TOKEN: "));
}

// The finding: a Discord token has no prefix the redactor knows, so one pasted
// into another Discord variable came back in the error.
TEST(Config, TheDiscordTokenIsNeverEchoed) {
  struct Case {
    const char* variable;
    const char* expected;  // what the error says instead
  };
  for (const auto& c :
       {Case{"DISCORD_GUILD_ID", "DISCORD_GUILD_ID: \"[REDACTED]\" is not a Discord ID"},
        Case{"INFRA_DISCORD_ALLOWED_ROLES",
             "INFRA_DISCORD_ALLOWED_ROLES: \"[REDACTED]\" is not a Discord ID"},
        Case{"INFRA_DISCORD_ADMIN_ROLES",
             "INFRA_DISCORD_ADMIN_ROLES: \"[REDACTED]\" is not a Discord ID"},
        Case{"INFRA_DISCORD_ALLOWED_CHANNELS",
             "INFRA_DISCORD_ALLOWED_CHANNELS: \"[REDACTED]\" is not a Discord ID"},
        Case{"INFRA_ALLOWED_USERS", "INFRA_ALLOWED_USERS: \"[REDACTED]\" is not a Slack ID"},
        Case{"LOG_LEVEL", "LOG_LEVEL: expected trace"}}) {
    SCOPED_TRACE(c.variable);
    auto env = discord_env();
    env.set(c.variable, kDiscordToken);
    for (const auto mode : {RunMode::service, RunMode::console}) {
      const auto message = config_error(env, mode);
      EXPECT_THAT(message, HasSubstr(c.expected));
      EXPECT_THAT(message, Not(HasSubstr(kDiscordToken)));
      EXPECT_THAT(message, Not(HasSubstr("discordSecretPart")));
    }
  }
}

TEST(Config, NotifyChannelDefaultsToTheAuditChannelAndTheSweepCanBeOff) {
  auto config = core::load_config(MapEnvironment({{"INFRA_AUDIT_CHANNEL", "C0AUDIT01"},
                                                  {"INFRA_WHITELIST_SWEEP_SECONDS", "0"}}),
                                  RunMode::console);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->notify_channel, "C0AUDIT01");
  EXPECT_EQ(config->whitelist_sweep, std::chrono::seconds(0));
  config = core::load_config(
      MapEnvironment({{"INFRA_AUDIT_CHANNEL", "C0AUDIT01"}, {"INFRA_NOTIFY_CHANNEL", "C0NOTIFY1"}}),
      RunMode::console);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->notify_channel, "C0NOTIFY1");
  EXPECT_THAT(config_error(MapEnvironment({{"INFRA_NOTIFY_CHANNEL", "general"}})),
              HasSubstr("INFRA_NOTIFY_CHANNEL"));
}

}  // namespace
