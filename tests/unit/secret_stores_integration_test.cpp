// SSM GetParameter, Secrets Manager GetSecretValue and aws::SecretResolver against
// tests/fakes/fake_aws.py over TLS (every request's SigV4 checked by botocore, its input by the
// model): values read back, and each failure an operator can meet turned into its one line —
// not found, access denied, cannot be decrypted, is empty, not JSON / no such key, AWS
// unavailable — none of which, nor any log line, holds the secret's value.

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/secret_resolver.hpp"
#include "aws/secrets_manager_client.hpp"
#include "aws/ssm_client.hpp"
#include "core/secret_ref.hpp"
#include "fake_aws.hpp"
#include "fake_aws_clients.hpp"
#include "recording_sink.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kBotValue = "xoxb-9001-SECRETSSMVALUE";
constexpr const char* kAppValue = "xapp-1-A9-SECRETJSONVALUE";
constexpr const char* kWholeValue = "whole-SECRETSTRINGVALUE";

// Every value above is in this state, and each failure case has its own entry.
constexpr const char* kState = R"({
  "ssm": {"parameters": [
    {"name": "/infra/slack/bot", "value": "xoxb-9001-SECRETSSMVALUE", "version": 3},
    {"name": "/infra/plain", "value": "xoxb-9001-SECRETSSMVALUE", "type": "String"},
    {"name": "/infra/empty", "value": "  "},
    {"name": "/infra/badkey", "value": "xoxb-9001-SECRETSSMVALUE", "kmsError": "InvalidKeyId"},
    {"name": "/infra/nokms", "value": "xoxb-9001-SECRETSSMVALUE", "kmsError": "AccessDenied"}
  ]},
  "secretsmanager": {"secrets": [
    {"name": "infra/slack", "string": "{\"app\": \"xapp-1-A9-SECRETJSONVALUE\", \"n\": 1}"},
    {"name": "infra/whole", "string": "whole-SECRETSTRINGVALUE"},
    {"name": "infra/binary", "binary": "AAEC"},
    {"name": "infra/gone", "string": "whole-SECRETSTRINGVALUE", "deleted": true},
    {"name": "infra/undecryptable", "string": "x", "kmsError": "DecryptionFailure"},
    {"name": "infra/nokms", "string": "x", "kmsError": "AccessDenied"}
  ]}
})";

core::SecretRef ref(std::string_view text) {
  auto parsed = core::parse_secret_ref(text);
  EXPECT_TRUE(parsed && *parsed) << text;
  return parsed && *parsed ? **parsed : core::SecretRef{};
}

class SecretStoresTest : public ::testing::Test {
 protected:
  SecretStoresTest()
      : sink_(std::make_shared<test::RecordingSink>()),
        logger_(core::make_logger("test", core::LogFormat::json, core::LogLevel::debug, {sink_},
                                  core::Redactor{})),
        fake_(kState),
        clients_(fake_, logger_) {}

  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    ASSERT_TRUE(fake_.started()) << fake_.describe_last(3);
  }
  void TearDown() override {
    if (!fake_.started()) return;
    for (const auto& request : fake_.requests()) {
      EXPECT_TRUE(test::FakeAws::verified(request))
          << test::FakeAws::str(request, "operation") << ": "
          << test::FakeAws::str(request, "reason");
    }
    // No value reached a log line, whatever happened.
    for (const auto& line : sink_->lines()) {
      for (const char* secret : {"SECRETSSMVALUE", "SECRETJSONVALUE", "SECRETSTRINGVALUE"}) {
        EXPECT_THAT(line, Not(HasSubstr(secret))) << "logged: " << line;
      }
    }
  }

  aws::SecretResolver resolver(std::string endpoint = {}) {
    if (endpoint.empty()) endpoint = fake_.endpoint();
    return aws::SecretResolver(aws::SecretResolverSettings{fake_.region(), endpoint, endpoint},
                               clients_.http(), clients_.credentials(), clients_.signing_clock(),
                               clients_.sleeper(), logger_);
  }

  /// The one-line error resolving `text` gives ("(resolved)" when it resolves).
  std::string failure(std::string_view text) {
    auto value = resolver().resolve(ref(text));
    if (value) return "(resolved)";
    const auto& message = value.error().user_message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    EXPECT_THAT(message, testing::StartsWith(std::string(text) + ": ")) << "names the reference";
    for (const char* secret : {"SECRETSSMVALUE", "SECRETJSONVALUE", "SECRETSTRINGVALUE"}) {
      EXPECT_THAT(message, Not(HasSubstr(secret)));
      EXPECT_THAT(value.error().detail, Not(HasSubstr(secret)));
    }
    return message;
  }

  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  test::FakeAws fake_;
  test::FakeAwsClients clients_;
};

TEST_F(SecretStoresTest, SsmGetParameterDecryptsASecureString) {
  aws::SsmClient ssm(clients_.service(aws::kSsmService));
  auto parameter = ssm.get_parameter("/infra/slack/bot", true);
  ASSERT_TRUE(parameter) << parameter.error().user_message;
  EXPECT_EQ(parameter->value, kBotValue);
  EXPECT_EQ(parameter->type, "SecureString");
  EXPECT_EQ(parameter->version, 3);
  EXPECT_EQ(parameter->arn, "arn:aws:ssm:eu-west-1:123456789012:parameter/infra/slack/bot");
  auto sent = fake_.requests(test::FakeAws::call("ssm", "GetParameter"));
  ASSERT_EQ(sent.size(), 1u);
  const auto* params = core::json::get_object(sent[0], "params");
  ASSERT_NE(params, nullptr);
  EXPECT_EQ(core::json::get_bool(*params, "WithDecryption"), true);
  EXPECT_EQ(test::FakeAws::str(sent[0], "signing_service"), "ssm");

  auto cipher = ssm.get_parameter("/infra/slack/bot", false);
  ASSERT_TRUE(cipher);
  EXPECT_NE(cipher->value, kBotValue) << "without decryption: the ciphertext";
}

TEST_F(SecretStoresTest, SecretsManagerGetSecretValueReadsTheSecretString) {
  aws::SecretsManagerClient secrets(clients_.service(aws::kSecretsManagerService));
  auto value = secrets.get_secret_value("infra/whole");
  ASSERT_TRUE(value) << value.error().user_message;
  ASSERT_TRUE(value->secret_string);
  EXPECT_EQ(*value->secret_string, kWholeValue);
  EXPECT_THAT(value->arn, HasSubstr(":secret:infra/whole-"));
  EXPECT_FALSE(value->binary);
  auto binary = secrets.get_secret_value("infra/binary");
  ASSERT_TRUE(binary);
  EXPECT_FALSE(binary->secret_string);
  EXPECT_TRUE(binary->binary);
  auto sent = fake_.requests(test::FakeAws::call("secretsmanager", "GetSecretValue"));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(test::FakeAws::str(sent[0], "signing_service"), "secretsmanager");
}

TEST_F(SecretStoresTest, ResolverReadsEachForm) {
  auto r = resolver();
  auto bot = r.resolve(ref("ssm:/infra/slack/bot"));
  ASSERT_TRUE(bot) << bot.error().user_message;
  EXPECT_EQ(*bot, kBotValue);
  auto versioned = r.resolve(ref("ssm:/infra/slack/bot:3"));
  ASSERT_TRUE(versioned) << versioned.error().user_message;
  EXPECT_EQ(*versioned, kBotValue);
  auto by_arn = r.resolve(ref("ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/infra/slack/bot"));
  ASSERT_TRUE(by_arn) << by_arn.error().user_message;
  EXPECT_EQ(*by_arn, kBotValue);
  auto app = r.resolve(ref("secretsmanager:infra/slack#app"));
  ASSERT_TRUE(app) << app.error().user_message;
  EXPECT_EQ(*app, kAppValue);
  auto whole = r.resolve(ref("secretsmanager:infra/whole"));
  ASSERT_TRUE(whole) << whole.error().user_message;
  EXPECT_EQ(*whole, kWholeValue);
}

TEST_F(SecretStoresTest, AnArnsRegionSignsTheRequest) {
  auto r = aws::SecretResolver(
      aws::SecretResolverSettings{"us-east-1", fake_.endpoint(), fake_.endpoint()}, clients_.http(),
      clients_.credentials(), clients_.signing_clock(), clients_.sleeper(), logger_);
  ASSERT_TRUE(r.resolve(ref("ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/infra/slack/bot")));
  ASSERT_TRUE(r.resolve(ref("ssm:/infra/slack/bot")));
  auto sent = fake_.requests(test::FakeAws::call("ssm", "GetParameter"));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(test::FakeAws::str(sent[0], "region"), "eu-west-1") << "the ARN's";
  EXPECT_EQ(test::FakeAws::str(sent[1], "region"), "us-east-1") << "AWS_REGION's";
}

TEST_F(SecretStoresTest, ResolverFailuresAreOneLineEach) {
  EXPECT_EQ(failure("ssm:/missing"), "ssm:/missing: not found (SSM ParameterNotFound)");
  EXPECT_EQ(failure("ssm:/infra/slack/bot:7"),
            "ssm:/infra/slack/bot:7: not found (SSM ParameterVersionNotFound)");
  EXPECT_THAT(failure("ssm:/infra/badkey"),
              testing::StartsWith("ssm:/infra/badkey: cannot be decrypted (SSM InvalidKeyId)"));
  EXPECT_THAT(
      failure("ssm:/infra/nokms"),
      testing::StartsWith("ssm:/infra/nokms: cannot be decrypted (SSM AccessDeniedException) — The "
                          "ciphertext refers to a customer master key"));
  EXPECT_EQ(failure("ssm:/infra/empty"), "ssm:/infra/empty: is empty");
  EXPECT_EQ(failure("secretsmanager:infra/missing"),
            "secretsmanager:infra/missing: not found (Secrets Manager ResourceNotFoundException)");
  EXPECT_THAT(failure("secretsmanager:infra/undecryptable"),
              testing::StartsWith("secretsmanager:infra/undecryptable: cannot be decrypted "
                                  "(Secrets Manager DecryptionFailure)"));
  EXPECT_EQ(failure("secretsmanager:infra/nokms"),
            "secretsmanager:infra/nokms: cannot be decrypted (Secrets Manager "
            "AccessDeniedException) — Access to KMS is not allowed");
  EXPECT_THAT(failure("secretsmanager:infra/gone"),
              testing::StartsWith("secretsmanager:infra/gone: could not be read (Secrets Manager "
                                  "InvalidRequestException) — You can't perform this operation"));
  EXPECT_EQ(failure("secretsmanager:infra/binary"),
            "secretsmanager:infra/binary: holds a SecretBinary, not a SecretString");
  EXPECT_EQ(failure("secretsmanager:infra/whole#app"),
            "secretsmanager:infra/whole#app: is not a JSON object, so it has no key \"app\"");
  EXPECT_EQ(failure("secretsmanager:infra/slack#nope"),
            "secretsmanager:infra/slack#nope: has no string key \"nope\"");
  EXPECT_EQ(failure("secretsmanager:infra/slack#n"),
            "secretsmanager:infra/slack#n: has no string key \"n\"");
}

TEST_F(SecretStoresTest, AccessDeniedAndAwsTroubleAreSaidSo) {
  ASSERT_TRUE(fake_.fault(R"([{"service": "ssm", "kind": "access_denied"},
                              {"service": "secretsmanager", "kind": "access_denied"}])"));
  EXPECT_EQ(failure("ssm:/infra/slack/bot"),
            "ssm:/infra/slack/bot: access denied (SSM AccessDeniedException) — User is not "
            "authorized to perform: ssm:GetParameter");
  EXPECT_EQ(failure("secretsmanager:infra/whole"),
            "secretsmanager:infra/whole: access denied (Secrets Manager AccessDeniedException) — "
            "User is not authorized to perform: secretsmanager:GetSecretValue");

  ASSERT_TRUE(fake_.fault(R"({"service": "ssm", "kind": "throttle", "times": -1})"));
  EXPECT_THAT(failure("ssm:/infra/slack/bot"),
              testing::StartsWith("ssm:/infra/slack/bot: could not be read: AWS is throttling"));
  EXPECT_EQ(clients_.sleeper().sleeps().size(), 2u) << "retried as the standard mode does";
  ASSERT_TRUE(fake_.clear_faults());
  ASSERT_TRUE(fake_.fault(R"({"service": "secretsmanager", "kind": "internal", "times": -1})"));
  EXPECT_THAT(failure("secretsmanager:infra/whole"),
              testing::StartsWith("secretsmanager:infra/whole: could not be read: AWS failed"));
}

TEST_F(SecretStoresTest, AnUnreachableEndpointIsSaidSo) {
  auto value = resolver("https://127.0.0.1:1").resolve(ref("ssm:/infra/slack/bot"));
  ASSERT_FALSE(value);
  EXPECT_THAT(value.error().user_message,
              testing::StartsWith("ssm:/infra/slack/bot: could not be read: Could not reach AWS"));
  EXPECT_EQ(value.error().code, core::ErrorCode::unavailable);
}

TEST(SecretFailure, DescribesWithoutAnAnswer) {
  const auto ref = core::SecretRef{core::SecretStore::ssm, "/x", {}};
  aws::CallError no_credentials{
      core::make_error(core::ErrorCode::unavailable, "Could not get AWS credentials", "d"),
      {},
      0,
      {},
      {}};
  EXPECT_EQ(aws::describe_secret_failure(ref, no_credentials).user_message,
            "ssm:/x: could not be read: Could not get AWS credentials");
  aws::CallError other{core::make_error(core::ErrorCode::invalid_input, "AWS refused", "d"),
                       "ValidationException", 400, "r", "bad name"};
  EXPECT_EQ(aws::describe_secret_failure(ref, other).user_message,
            "ssm:/x: could not be read (SSM ValidationException) — bad name");
}

}  // namespace
