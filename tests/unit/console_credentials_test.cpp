// The built `infra-bot console` with AWS_PROFILE naming an assume-role profile
// and an SSO profile: the credential chain gets role credentials from
// tests/fakes/sts_sso_fake.py (STS / SSO portal on 127.0.0.1), and signs the
// Lambda Invoke that tests/fakes/fake_lambda.py (TLS on 127.0.0.1) checks with
// botocore. Also: a credential failure reaches the console reply as one fixed
// sentence, the details only in the log.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/credentials.hpp"
#include "bot_process.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "fake_lambda.hpp"
#include "lambda_fixtures.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

namespace fs = std::filesystem;
namespace fixtures = test::lambda_fixtures;
using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::Not;

constexpr const char* kSourceKey = "AKIACONSOLESOURCE001";
constexpr const char* kSourceSecret = "consoleSourceSecretKey/0123456789abcdefAB";
constexpr const char* kSsoToken = "aoaAAAAAGconsole-sso-access-token-0123456789";
// What the STS / SSO fake hands out, and so what the fake Lambda trusts.
const test::FakeLambda::Credentials kIssued{
    "ASIACONSOLEROLE00001", "consoleRoleSecretKey/0123456789abcdefABCD",
    "FwoGZXIvYXdzEconsoleRoleSessionToken0123456789abcdef="};

std::string status_answer() {
  const auto status = fixtures::load("status");
  return fmt::format(R"([{{"function": "infra-orchestrator", "match": {{"action": "status"}},
                          "body": {}}}])",
                     core::json::quote(status.response));
}

class ConsoleCredentials : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(sts_.port(), 0) << "sts_sso_fake.py did not start";
    ASSERT_GT(lambda_.port(), 0) << "fake_lambda.py did not start";
    std::string pattern = (fs::temp_directory_path() / "infra-bot-console-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    home_ = pattern;
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(home_, ec);
  }

  void write(const std::string& relative, std::string_view content) {
    const auto path = home_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }

  test::BotProcess::Environment environment(const std::string& profile) const {
    const std::string sts = fmt::format("http://127.0.0.1:{}", sts_.port());
    return {
        {"ORCHESTRATOR_LAMBDA_ARN", fixtures::kOrchestratorArn},
        {"IP_WHITELIST_LAMBDA_ARN", fixtures::kWhitelistArn},
        {"INFRA_BACKEND", "lambda"},
        {"AWS_ENDPOINT_URL_LAMBDA", lambda_.endpoint()},
        {"AWS_ENDPOINT_URL_STS", sts},
        {"AWS_ENDPOINT_URL_SSO", sts},
        {"SSL_CERT_FILE", test::test_tls().ca_file},
        {"AWS_EC2_METADATA_DISABLED", "true"},
        {"HOME", home_.string()},
        {"AWS_PROFILE", profile},
        {"LOG_FORMAT", "json"},
        {"INFRA_ALLOW_INSECURE_ENDPOINTS", "true"},  // the STS / SSO fake speaks plain http
    };
  }

  struct Run {
    std::optional<int> exit_code;
    std::string out;
    std::string err;
  };

  Run console(const std::string& profile, const std::string& command) const {
    test::BotProcess bot({"console", "-c", command}, environment(profile));
    Run run;
    run.exit_code = bot.wait_exit(20s);
    run.out = core::join(bot.stdout_lines(), "\n");
    run.err = core::join(bot.log_lines(), "\n");
    return run;
  }

  void expect_status_answered(const Run& run) {
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("Infrastructure Status: DEV")) << run.out << "\n" << run.err;
    ASSERT_TRUE(lambda_.wait_for_requests(1));
    const auto seen = lambda_.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(test::FakeLambda::verified(seen[0])) << "the fake Lambda's botocore check";
    for (const auto* secret : {kSourceSecret, kSsoToken, kIssued.secret_access_key.c_str(),
                               kIssued.session_token.c_str()}) {
      EXPECT_THAT(run.out + run.err, Not(HasSubstr(secret)));
    }
  }

  std::vector<std::string> sts_events(std::size_t count) const {
    EXPECT_TRUE(sts_.wait_for_lines(count, 5s));
    return sts_.lines();
  }

  fs::path home_;
  test::FakeLambda lambda_{status_answer(), kIssued};
  test::PythonFake sts_{std::string(FAKES_DIR) + "/sts_sso_fake.py",
                        {"--credentials", fmt::format("{}:{}", kSourceKey, kSourceSecret),
                         "--sso-token", kSsoToken, "--issue",
                         fmt::format("{}:{}:{}", kIssued.access_key_id, kIssued.secret_access_key,
                                     kIssued.session_token)}};
};

TEST_F(ConsoleCredentials, AnAssumeRoleProfileAnswersStatusDev) {
  write(".aws/credentials", fmt::format("[base]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kSourceKey, kSourceSecret));
  write(".aws/config",
        "[profile bot]\nrole_arn = arn:aws:iam::111122223333:role/infra-bot\n"
        "source_profile = base\nexternal_id = infra-bot-external\n");
  const auto run = console("bot", "/infra status dev");
  expect_status_answered(run);
  const auto events = sts_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0], HasSubstr(R"("action": "AssumeRole")"));
  EXPECT_THAT(events[0], HasSubstr(fmt::format(R"("signed_by": "{}")", kSourceKey)));
  EXPECT_THAT(events[0], HasSubstr(R"("signature_error": null)"));
  EXPECT_THAT(events[0], HasSubstr(R"("ExternalId": "infra-bot-external")"));
}

TEST_F(ConsoleCredentials, AnSsoProfileAnswersStatusDev) {
  write(".aws/config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = InfraBot\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = eu-west-1\n");
  // SHA-1 of "corp" (Python's hashlib).
  write(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        fmt::format(R"({{"accessToken": "{}", "expiresAt": "{}"}})", kSsoToken,
                    core::format_rfc3339(std::chrono::system_clock::now() + 1h)));
  const auto run = console("dev", "/infra status dev");
  expect_status_answered(run);
  const auto events = sts_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0], HasSubstr(R"("service": "sso")"));
  EXPECT_THAT(events[0], HasSubstr(R"("authorized": true)"));
  EXPECT_THAT(events[0], HasSubstr(R"("role_name": "InfraBot")"));
}

TEST_F(ConsoleCredentials, APlainHttpStsEndpointNeedsTheInsecureSwitch) {
  auto env = environment("bot");
  env.erase("INFRA_ALLOW_INSECURE_ENDPOINTS");
  env["AWS_ENDPOINT_URL_LAMBDA"] = "https://127.0.0.1:1";
  test::BotProcess bot({"console", "-c", "/infra status dev"}, env);
  EXPECT_EQ(bot.wait_exit(20s), 2);
  EXPECT_THAT(core::join(bot.all_lines(), "\n"), HasSubstr("AWS_ENDPOINT_URL_STS"));
}

TEST_F(ConsoleCredentials, ACredentialFailureShowsOneSentenceAndLogsTheDetails) {
  write(".aws/config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = InfraBot\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = eu-west-1\n");
  write(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        fmt::format(R"({{"accessToken": "{}", "expiresAt": "{}"}})", kSsoToken,
                    core::format_rfc3339(std::chrono::system_clock::now() - 1h)));
  const auto run = console("dev", "/infra status dev");
  EXPECT_THAT(run.out, HasSubstr(std::string(aws::kNoCredentialsUserMessage))) << run.out;
  for (const auto* hidden : {"sso", "profile", ".aws", "corp"}) {
    EXPECT_THAT(core::to_lower(run.out), Not(HasSubstr(hidden))) << run.out;
  }
  EXPECT_THAT(run.err, HasSubstr("aws sso login --sso-session corp"));
  EXPECT_EQ(lambda_.count(), 0u);
}

}  // namespace
