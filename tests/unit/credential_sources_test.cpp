// The credential chain's STS, SSO and credential_process sources (aws.md §4.4,
// aws-services.md §6, §7, §12.3) through the real libcurl client against
// tests/fakes/sts_sso_fake.py on 127.0.0.1. The fake checks our SigV4
// signatures with botocore and reads its own STS/SSO replies back with
// botocore's parsers; the tests compare our parse with botocore's.
//
// Network rule: every endpoint is the fake (AWS_ENDPOINT_URL_STS / _SSO, the
// container FULL_URI on loopback); IMDS is disabled.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../lib/aws/src/credential_source.hpp"
#include "../../lib/aws/src/process_credentials.hpp"
#include "../../lib/aws/src/sso_credentials.hpp"
#include "../../lib/aws/src/sts.hpp"
#include "aws/credentials.hpp"
#include "aws/service_client.hpp"
#include "aws/sts_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"
#include "python_fake.hpp"
#include "recording_sink.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::Not;

constexpr const char* kSourceKey = "AKIASOURCEPROFILE001";
constexpr const char* kSourceSecret = "sourceProfileSecretKey/0123456789abcdefABC";
constexpr const char* kWebTokenA = "eyJhbGciOiJSUzI1NiJ9.web-identity-token-A.signature";
constexpr const char* kWebTokenB = "eyJhbGciOiJSUzI1NiJ9.web-identity-token-B.signature";
constexpr const char* kSsoToken = "aoaAAAAAGcached-sso-access-token-0123456789";
constexpr const char* kRefreshToken = "aorAAAAAGrefresh-token-0123456789abcdef";

// The fake's events, one JSON object per line.
struct Event {
  rapidjson::Document json;
  std::string string(std::string_view key) const {
    const auto value = core::json::get_string(json, key);
    return value ? std::string(*value) : std::string();
  }
  std::string param(std::string_view key) const {
    const auto* params = core::json::get_object(json, "params");
    if (params == nullptr) return {};
    const auto value = core::json::get_string(*params, key);
    return value ? std::string(*value) : std::string("<absent>");
  }
  std::string botocore(std::string_view key) const {
    const auto* parsed = core::json::get_object(json, "botocore");
    if (parsed == nullptr) return "<no botocore parse>";
    const auto value = core::json::get_string(*parsed, key);
    return value ? std::string(*value) : std::string();
  }
};

class CredentialSources : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(fake_.port(), 0) << "sts_sso_fake.py did not start";
    base_ = fmt::format("http://127.0.0.1:{}", fake_.port());
    std::string pattern = (fs::temp_directory_path() / "infra-bot-sources-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    home_ = pattern;
    env_.set("HOME", home_.string());
    env_.set("AWS_EC2_METADATA_DISABLED", "true");
    env_.set("AWS_REGION", "eu-west-1");
    env_.set("AWS_ENDPOINT_URL_STS", base_);
    env_.set("AWS_ENDPOINT_URL_SSO", base_);
    aws::detail::set_credential_process_timeout(10s);
  }

  void TearDown() override {
    for (const auto& line : sink_->lines()) {
      EXPECT_THAT(line, Not(HasSubstr(kSourceSecret)));
      EXPECT_THAT(line, Not(HasSubstr(kWebTokenA)));
      EXPECT_THAT(line, Not(HasSubstr(kSsoToken)));
    }
    std::error_code ec;
    fs::remove_all(home_, ec);
  }

  std::unique_ptr<aws::CredentialsProvider> chain() {
    return aws::make_default_credentials_chain(env_, *http_, clock_, logger_, redactor_);
  }

  std::string write(const std::string& relative, std::string_view content) {
    const auto path = home_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  void config(std::string_view text) { write(".aws/config", text); }

  std::string script(const std::string& name, std::string_view body) {
    const auto path = write(name, fmt::format("#!/bin/sh\n{}\n", body));
    ::chmod(path.c_str(), 0700);
    return path;
  }

  std::vector<Event> events(std::size_t at_least) {
    EXPECT_TRUE(fake_.wait_for_lines(at_least, 5s)) << "the fake saw fewer requests";
    std::vector<Event> out;
    for (const auto& line : fake_.lines()) {
      auto parsed = core::json::parse(line);
      if (!parsed) continue;
      out.push_back(Event{std::move(*parsed)});
    }
    return out;
  }

  bool redacted(std::string_view secret) const { return redactor_.redact(secret) != secret; }

  // Our parse equals botocore's parse of the same reply.
  static void expect_same_as_botocore(const aws::Credentials& ours, const Event& event) {
    EXPECT_EQ(ours.access_key_id, event.botocore("AccessKeyId"));
    EXPECT_EQ(ours.secret_access_key, event.botocore("SecretAccessKey"));
    EXPECT_EQ(ours.session_token, event.botocore("SessionToken"));
    ASSERT_TRUE(ours.expiration);
    EXPECT_EQ(core::format_rfc3339(*ours.expiration), event.botocore("Expiration"));
  }

  static std::string describe(const core::Error& error) {
    return error.user_message + " / " + error.detail;
  }

  test::PythonFake fake_{
      std::string(FAKES_DIR) + "/sts_sso_fake.py",
      {"--credentials", fmt::format("{}:{}", kSourceKey, kSourceSecret), "--web-token", kWebTokenA,
       "--web-token", kWebTokenB, "--sso-token", kSsoToken, "--refresh-token", kRefreshToken}};
  std::string base_;
  fs::path home_;
  core::MapEnvironment env_;
  core::SystemClock clock_;
  std::unique_ptr<core::http::Client> http_ = core::http::make_curl_client({});
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ = core::make_logger("infra-bot", core::LogFormat::json,
                                              core::LogLevel::debug, {sink_}, core::Redactor());
  core::Redactor redactor_;
};

constexpr std::string_view kSourceProfile =
    "[profile base]\n"
    "aws_access_key_id = AKIASOURCEPROFILE001\n"
    "aws_secret_access_key = sourceProfileSecretKey/0123456789abcdefABC\n";

// ------------------------------------------------------------------ AssumeRole

TEST_F(CredentialSources, AssumeRoleIsSignedWithTheSourceProfileAndSendsItsParameters) {
  config(
      fmt::format("{}[profile deploy]\n"
                  "role_arn = arn:aws:iam::111122223333:role/deploy\n"
                  "source_profile = base\n"
                  "external_id = ext-0123456789\n"
                  "duration_seconds = 1800\n"
                  "role_session_name = infra-bot-test\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "deploy");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(1);
  ASSERT_EQ(seen.size(), 1u);
  const auto& event = seen[0];
  EXPECT_EQ(event.string("action"), "AssumeRole");
  EXPECT_EQ(event.string("signature_error"), "");
  EXPECT_EQ(event.string("signed_by"), kSourceKey);
  EXPECT_EQ(event.string("region"), "eu-west-1");
  EXPECT_EQ(event.param("RoleArn"), "arn:aws:iam::111122223333:role/deploy");
  EXPECT_EQ(event.param("RoleSessionName"), "infra-bot-test");
  EXPECT_EQ(event.param("ExternalId"), "ext-0123456789");
  EXPECT_EQ(event.param("DurationSeconds"), "1800");
  expect_same_as_botocore(*credentials, event);
  EXPECT_GT(*credentials->expiration, clock_.now() + 25min);
  EXPECT_LT(*credentials->expiration, clock_.now() + 31min);
  // Both the role's credentials and the source profile's keys are redacted.
  EXPECT_TRUE(redacted(credentials->secret_access_key));
  EXPECT_TRUE(redacted(credentials->session_token));
  EXPECT_TRUE(redacted(kSourceSecret));
}

TEST_F(CredentialSources, WithoutOptionalKeysOnlyRoleArnAndADefaultSessionNameAreSent) {
  config(
      fmt::format("{}[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
                  "source_profile = base\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "deploy");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_THAT(event.param("RoleSessionName"), testing::StartsWith("infra-bot-"));
  EXPECT_EQ(event.param("ExternalId"), "<absent>");
  EXPECT_EQ(event.param("DurationSeconds"), "<absent>");
}

TEST_F(CredentialSources, ChainedRolesSignEachHopWithThePreviousHopsCredentials) {
  config(
      fmt::format("{}[profile hop1]\nrole_arn = arn:aws:iam::111122223333:role/hop1\n"
                  "source_profile = base\n"
                  "[profile hop2]\nrole_arn = arn:aws:iam::444455556666:role/hop2\n"
                  "source_profile = hop1\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "hop2");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].param("RoleArn"), "arn:aws:iam::111122223333:role/hop1");
  EXPECT_EQ(seen[0].string("signed_by"), kSourceKey);
  EXPECT_EQ(seen[1].param("RoleArn"), "arn:aws:iam::444455556666:role/hop2");
  EXPECT_EQ(seen[1].string("signature_error"), "");
  EXPECT_EQ(seen[1].string("signed_by"), seen[0].botocore("AccessKeyId"));
  expect_same_as_botocore(*credentials, seen[1]);
  // The intermediate hop's credentials are secrets too.
  EXPECT_TRUE(redacted(seen[0].botocore("SecretAccessKey")));
  EXPECT_TRUE(redacted(seen[0].botocore("SessionToken")));
}

TEST_F(CredentialSources, CredentialSourceEcsContainerSignsWithTheContainerCredentials) {
  config(
      "[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
      "credential_source = EcsContainer\n");
  env_.set("AWS_PROFILE", "deploy");
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/v2/credentials/task-1");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].string("service"), "container");
  EXPECT_EQ(seen[1].string("action"), "AssumeRole");
  EXPECT_EQ(seen[1].string("signed_by"), seen[0].string("issued"));
  expect_same_as_botocore(*credentials, seen[1]);
}

TEST_F(CredentialSources, RoleArnWinsOverStaticKeysInTheSameProfileAsInBotocore) {
  config(
      fmt::format("{}[profile both]\n"
                  "aws_access_key_id = AKIANOTUSEDDIRECTLY01\n"
                  "aws_secret_access_key = notUsedDirectlySecret/0123456789\n"
                  "role_arn = arn:aws:iam::111122223333:role/both\n"
                  "source_profile = base\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "both");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  EXPECT_EQ(events(1)[0].string("signed_by"), kSourceKey);
  EXPECT_NE(credentials->access_key_id, "AKIANOTUSEDDIRECTLY01");
}

TEST_F(CredentialSources, StaticKeysInTheCredentialsFileWinOverCredentialProcess) {
  const auto path = script("bin/never", "echo never-run > \"$0.ran\"; exit 1");
  write(".aws/credentials", fmt::format("[tool]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kSourceKey, kSourceSecret));
  config(fmt::format("[profile tool]\ncredential_process = {}\n", path));
  env_.set("AWS_PROFILE", "tool");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  EXPECT_EQ(credentials->access_key_id, kSourceKey);
  EXPECT_FALSE(fs::exists(path + ".ran"));
}

// Mistakes in the shared files are config errors that name what is wrong,
// found before anything is sent.
TEST_F(CredentialSources, ProfileMistakesAreConfigErrorsNamingWhatIsWrong) {
  struct Case {
    const char* what;
    std::string config;
    const char* profile;
    const char* says;
  };
  const Case cases[] = {
      {"an unknown credential_source",
       "[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
       "credential_source = Laptop\n",
       "deploy", "credential_source \"Laptop\""},
      {"mfa_serial: no MFA prompt in a service",
       fmt::format("{}[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\n"
                   "source_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/me\n",
                   kSourceProfile),
       "admin", "profile \"admin\" sets mfa_serial"},
      {"a source_profile cycle",
       "[profile a]\nrole_arn = arn:aws:iam::111122223333:role/a\nsource_profile = b\n"
       "[profile b]\nrole_arn = arn:aws:iam::111122223333:role/b\nsource_profile = c\n"
       "[profile c]\nrole_arn = arn:aws:iam::111122223333:role/c\nsource_profile = a\n",
       "a", "source_profile cycle: a → b → c → a"},
      {"a missing source_profile",
       "[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
       "source_profile = nowhere\n",
       "deploy", "profile \"nowhere\" (source_profile of \"deploy\") is not in"},
      {"an SSO profile without its sso-session section",
       "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
       "sso_role_name = ReadOnly\n",
       "dev", "no [sso-session corp] section"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    config(c.config);
    env_.set("AWS_PROFILE", c.profile);
    auto credentials = chain()->get();
    ASSERT_FALSE(credentials);
    EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
    EXPECT_THAT(credentials.error().user_message, HasSubstr(c.says));
    EXPECT_TRUE(fake_.lines().empty()) << "nothing is sent";
  }
}

TEST_F(CredentialSources, AProfileMayBeItsOwnSourceWhenItHasStaticKeys) {
  write(".aws/credentials",
        "[self]\naws_access_key_id = AKIASOURCEPROFILE001\n"
        "aws_secret_access_key = sourceProfileSecretKey/0123456789abcdefABC\n");
  config("[profile self]\nrole_arn = arn:aws:iam::111122223333:role/self\nsource_profile = self\n");
  env_.set("AWS_PROFILE", "self");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  EXPECT_EQ(events(1)[0].string("signed_by"), kSourceKey);
}

TEST_F(CredentialSources, AnStsRefusalCarriesTheCodeAndReachesUsersAsOneSentence) {
  config(
      fmt::format("{}[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/denied\n"
                  "source_profile = base\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "deploy");
  auto provider = chain();
  auto credentials = provider->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("AccessDenied"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("profile \"deploy\""));

  // What a user sees when a service call cannot get credentials.
  struct NoSleep final : aws::Sleeper {
    void sleep_for(std::chrono::milliseconds) override {}
  } sleeper;
  aws::ServiceSettings settings;
  settings.region = "eu-west-1";
  settings.endpoint_url = base_ + "/ecs";
  auto ecs = aws::ServiceClient::create(aws::kEcsService, settings, *http_, *provider, clock_,
                                        sleeper, logger_);
  ASSERT_TRUE(ecs);
  auto outcome = (*ecs)->call_json("ListClusters", "{}", aws::Retryability::read);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.failure().error.user_message, aws::kNoCredentialsUserMessage);
  EXPECT_THAT(outcome.failure().error.detail, HasSubstr("AccessDenied"));
  EXPECT_THAT(outcome.failure().error.detail, HasSubstr("profile \"deploy\""));
  EXPECT_THAT(outcome.failure().error.detail, HasSubstr(home_.string()));
}

// ---------------------------------------------------------------- web identity

TEST_F(CredentialSources, WebIdentityFromTheEnvironmentIsUnsignedAndRereadsTheTokenFile) {
  const auto token_file = write("token", kWebTokenA);
  env_.set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file);
  env_.set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web");
  env_.set("AWS_ROLE_SESSION_NAME", "web-session");
  auto source = aws::detail::make_web_identity_source(env_, *http_, clock_, redactor_);
  auto first = source->fetch();
  ASSERT_TRUE(first) << describe(first.error());
  write("token", std::string(kWebTokenB) + "\n");  // rotated
  auto second = source->fetch();
  ASSERT_TRUE(second) << describe(second.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& event : seen) {
    EXPECT_EQ(event.string("action"), "AssumeRoleWithWebIdentity");
    EXPECT_FALSE(event.json["signed"].GetBool());
    EXPECT_EQ(event.param("RoleArn"), "arn:aws:iam::111122223333:role/web");
    EXPECT_EQ(event.param("RoleSessionName"), "web-session");
  }
  EXPECT_EQ(seen[0].json["web_token"].GetInt(), 0);
  EXPECT_EQ(seen[1].json["web_token"].GetInt(), 1);
  expect_same_as_botocore(*first, seen[0]);
  expect_same_as_botocore(*second, seen[1]);
  EXPECT_TRUE(redacted(kWebTokenA));
  EXPECT_TRUE(redacted(kWebTokenB));
}

TEST_F(CredentialSources, WebIdentityFromProfileKeysThroughTheChain) {
  const auto token_file = write("token", kWebTokenA);
  config(
      fmt::format("[profile eks]\nweb_identity_token_file = {}\n"
                  "role_arn = arn:aws:iam::111122223333:role/eks\n",
                  token_file));
  env_.set("AWS_PROFILE", "eks");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_EQ(event.param("RoleArn"), "arn:aws:iam::111122223333:role/eks");
  EXPECT_THAT(event.param("RoleSessionName"), testing::StartsWith("infra-bot-"));
  expect_same_as_botocore(*credentials, event);
}

TEST_F(CredentialSources, ARefusedWebIdentityTokenIsReported) {
  env_.set("AWS_WEB_IDENTITY_TOKEN_FILE", write("token", "not-an-accepted-token"));
  env_.set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("InvalidIdentityToken"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("arn:aws:iam::111122223333:role/web"));
}

TEST_F(CredentialSources, ATokenFileWithoutARoleIsAConfigError) {
  env_.set("AWS_WEB_IDENTITY_TOKEN_FILE", write("token", kWebTokenA));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("no role (AWS_ROLE_ARN"));
}

TEST_F(CredentialSources, AwsRoleArnAloneIsNotWebIdentityAsInBotocore) {
  env_.set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set"));
}

TEST_F(CredentialSources, TheEnvironmentTokenFileMeetsTheProfilesRoleArnAsInBotocore) {
  config(
      "[profile eks]\nrole_arn = arn:aws:iam::111122223333:role/from-profile\n"
      "role_session_name = from-profile\n");
  env_.set("AWS_PROFILE", "eks");
  env_.set("AWS_WEB_IDENTITY_TOKEN_FILE", write("token", kWebTokenA));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_EQ(event.string("action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(event.param("RoleArn"), "arn:aws:iam::111122223333:role/from-profile");
  EXPECT_EQ(event.param("RoleSessionName"), "from-profile");
}

TEST_F(CredentialSources, TheEnvironmentKeysStillWinOverWebIdentity) {
  env_.set("AWS_ACCESS_KEY_ID", kSourceKey);
  env_.set("AWS_SECRET_ACCESS_KEY", kSourceSecret);
  env_.set("AWS_WEB_IDENTITY_TOKEN_FILE", write("token", kWebTokenA));
  env_.set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->access_key_id, kSourceKey);
  EXPECT_TRUE(fake_.lines().empty());
}

// ------------------------------------------------------------------------- SSO

// The cache file names: SHA-1 of the sso-session name / the start URL,
// computed independently with Python's hashlib.
constexpr const char* kCorpCache = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";
constexpr const char* kLegacyCache = ".aws/sso/cache/a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json";

std::string token_json(std::string_view token, core::TimePoint expires) {
  return fmt::format(R"({{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1",)"
                     R"( "accessToken": "{}", "expiresAt": "{}"}})",
                     token, core::format_rfc3339(expires));
}

TEST_F(CredentialSources, SsoSessionProfileUsesTheCachedTokenAsTheBearerHeader) {
  EXPECT_EQ(aws::detail::sha1_hex("corp"), "ee0bfd2552fbd840c02cc48b6e823320543c450f");
  config(
      "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
      "sso_role_name = ReadOnly\n"
      "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\n");
  write(kCorpCache, token_json(kSsoToken, clock_.now() + 1h));
  env_.set("AWS_PROFILE", "dev");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_EQ(event.string("service"), "sso");
  EXPECT_EQ(event.string("path"), "/federation/credentials");
  EXPECT_TRUE(event.json["authorized"].GetBool());
  EXPECT_EQ(event.string("role_name"), "ReadOnly");
  EXPECT_EQ(event.string("account_id"), "111122223333");
  EXPECT_EQ(credentials->access_key_id, event.botocore("AccessKeyId"));
  EXPECT_EQ(credentials->secret_access_key, event.botocore("SecretAccessKey"));
  EXPECT_EQ(credentials->session_token, event.botocore("SessionToken"));
  const auto* parsed = core::json::get_object(event.json, "botocore");
  ASSERT_NE(parsed, nullptr);
  ASSERT_TRUE(credentials->expiration);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(
                credentials->expiration->time_since_epoch())
                .count(),
            *core::json::get_int(*parsed, "ExpirationMs"));
  EXPECT_TRUE(redacted(kSsoToken));
  EXPECT_TRUE(redacted(credentials->secret_access_key));
}

TEST_F(CredentialSources, LegacySsoProfileIsKeyedByTheStartUrl) {
  config(
      "[profile old]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = Admin\n");
  write(kLegacyCache, token_json(kSsoToken, clock_.now() + 1h));
  env_.set("AWS_PROFILE", "old");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  EXPECT_EQ(events(1)[0].string("role_name"), "Admin");
}

TEST_F(CredentialSources, AnExpiredSsoTokenIsNotSentAndSaysToLogIn) {
  config(
      "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
      "sso_role_name = ReadOnly\n"
      "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\n");
  write(kCorpCache, token_json(kSsoToken, clock_.now() - 1min));
  env_.set("AWS_PROFILE", "dev");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("expired"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("aws sso login --sso-session corp"));
  EXPECT_THAT(credentials.error().user_message, Not(HasSubstr(kSsoToken)));
  EXPECT_TRUE(fake_.lines().empty());
}

TEST_F(CredentialSources, ARefusedSsoTokenIsReportedWithTheCode) {
  config(
      "[profile old]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = Admin\n");
  write(kLegacyCache, token_json("aoaAAAAAGrevoked-token-9876543210", clock_.now() + 1h));
  env_.set("AWS_PROFILE", "old");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("UnauthorizedException (HTTP 401)"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("aws sso login --profile old"));
}

TEST_F(CredentialSources, NoCachedSsoTokenNamesTheFile) {
  config(
      "[profile old]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = Admin\n");
  env_.set("AWS_PROFILE", "old");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr((home_ / kLegacyCache).string()));
}

// A cache entry as `aws sso login` leaves it for an sso-session profile.
std::string refreshable_token_json(std::string_view token, core::TimePoint expires,
                                   std::string_view refresh) {
  return fmt::format(
      R"({{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1",)"
      R"( "accessToken": "{}", "expiresAt": "{}", "refreshToken": "{}",)"
      R"( "clientId": "fake-client-id", "clientSecret": "fake-client-secret-0123456789",)"
      R"( "registrationExpiresAt": "2099-01-01T00:00:00Z"}})",
      token, core::format_rfc3339(expires), refresh);
}

constexpr std::string_view kCorpProfile =
    "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
    "sso_role_name = ReadOnly\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
    "sso_region = us-east-1\n";

TEST_F(CredentialSources, AnExpiredSsoSessionTokenIsRefreshedThroughOidcAndWrittenBack) {
  config(kCorpProfile);
  const auto cache = write(kCorpCache, refreshable_token_json("aoaAAAAAGexpired-token-0123456789",
                                                              clock_.now() - 1h, kRefreshToken));
  env_.set("AWS_PROFILE", "dev");
  env_.set("AWS_ENDPOINT_URL_SSO_OIDC", base_);
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].string("service"), "sso-oidc");
  EXPECT_EQ(seen[0].string("path"), "/token");
  EXPECT_EQ(seen[0].string("grant_type"), "refresh_token");
  EXPECT_TRUE(seen[0].json["accepted"].GetBool());
  EXPECT_FALSE(seen[0].json["signed"].GetBool());
  EXPECT_EQ(seen[1].string("service"), "sso");
  EXPECT_TRUE(seen[1].json["authorized"].GetBool()) << "the new token is the bearer";
  // Written back as botocore does: the new token and expiry, the rotated refresh token, the
  // registration kept.
  std::ifstream in(cache);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto written = core::json::parse(text);
  ASSERT_TRUE(written && written->IsObject()) << text;
  EXPECT_EQ(core::json::get_string(*written, "accessToken"), kSsoToken);
  EXPECT_EQ(core::json::get_string(*written, "refreshToken"),
            std::string(kRefreshToken) + "-rotated");
  EXPECT_EQ(core::json::get_string(*written, "clientId"), "fake-client-id");
  const auto expires =
      core::parse_rfc3339(core::json::get_string(*written, "expiresAt").value_or(""));
  ASSERT_TRUE(expires);
  EXPECT_GT(*expires, clock_.now() + 7h);
  EXPECT_TRUE(redacted(kRefreshToken));
  EXPECT_TRUE(redacted(std::string(kRefreshToken) + "-rotated"));
  EXPECT_TRUE(redacted("fake-client-secret-0123456789"));
}

TEST_F(CredentialSources, AFailedRefreshOfAStillValidTokenKeepsUsingIt) {
  config(kCorpProfile);
  write(kCorpCache,
        refreshable_token_json(kSsoToken, clock_.now() + 10min, "aorAAAAAGrevoked-0123"));
  env_.set("AWS_PROFILE", "dev");
  env_.set("AWS_ENDPOINT_URL_SSO_OIDC", base_);
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].json["accepted"].GetBool());
  EXPECT_TRUE(seen[1].json["authorized"].GetBool());
}

TEST_F(CredentialSources, AFailedRefreshOfAnExpiredTokenSaysToLogIn) {
  config(kCorpProfile);
  write(kCorpCache, refreshable_token_json("aoaAAAAAGexpired-token-0123456789", clock_.now() - 1min,
                                           "aorAAAAAGrevoked-0123"));
  env_.set("AWS_PROFILE", "dev");
  env_.set("AWS_ENDPOINT_URL_SSO_OIDC", base_);
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("refresh failed"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("HTTP 400 invalid_grant"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("aws sso login --sso-session corp"));
  EXPECT_EQ(events(1).size(), 1u) << "the portal is not asked";
}

TEST_F(CredentialSources, AnSsoSourceProfileFeedsAnAssumeRole) {
  config(
      "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\n"
      "sso_role_name = ReadOnly\n"
      "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\n"
      "[profile deploy]\nrole_arn = arn:aws:iam::444455556666:role/deploy\n"
      "source_profile = sso\n");
  write(kCorpCache, token_json(kSsoToken, clock_.now() + 1h));
  env_.set("AWS_PROFILE", "deploy");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto seen = events(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].string("signed_by"), seen[0].botocore("AccessKeyId"));
}

// ----------------------------------------------------------- endpoint overrides

TEST_F(CredentialSources, AwsEndpointUrlWithAPathIsUsedWhenNoStsOverrideIsSet) {
  env_.set("AWS_ENDPOINT_URL_STS", "");
  env_.set("AWS_ENDPOINT_URL", base_ + "/all-services");
  config(
      fmt::format("{}[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
                  "source_profile = base\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "deploy");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_EQ(event.string("path"), "/all-services/");
  EXPECT_EQ(event.string("signature_error"), "");
}

TEST_F(CredentialSources, TheStsOverrideWinsOverAwsEndpointUrl) {
  env_.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9/nothing-listens-here");
  env_.set("AWS_ENDPOINT_URL_SSO", "");
  config(
      fmt::format("{}[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\n"
                  "source_profile = base\n",
                  kSourceProfile));
  env_.set("AWS_PROFILE", "deploy");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
}

TEST(StsEndpoint, RegionalGlobalAndOverridden) {
  core::MapEnvironment env;
  auto regional = aws::detail::sts_endpoint(env, "eu-west-1");
  ASSERT_TRUE(regional);
  EXPECT_EQ(regional->url, "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(regional->region, "eu-west-1");
  auto global = aws::detail::sts_endpoint(env, "");
  ASSERT_TRUE(global);
  EXPECT_EQ(global->url, "https://sts.amazonaws.com");
  EXPECT_EQ(global->region, "us-east-1");
  env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/");
  EXPECT_EQ(aws::detail::sts_endpoint(env, "eu-west-1")->url, "http://127.0.0.1:4566");
  env.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000");
  EXPECT_EQ(aws::detail::sts_endpoint(env, "eu-west-1")->url, "http://127.0.0.1:5000");
  env.set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
  EXPECT_EQ(aws::detail::sts_endpoint(env, "eu-west-1")->url,
            "https://sts.eu-west-1.amazonaws.com");
}

// ---------------------------------------------------------- GetCallerIdentity

TEST_F(CredentialSources, GetCallerIdentityMatchesBotocore) {
  auto static_credentials = aws::make_static_credentials({kSourceKey, kSourceSecret, "", {}});
  auto sts = aws::StsClient::create(env_, "eu-west-1", *http_, *static_credentials, clock_);
  ASSERT_TRUE(sts);
  auto identity = (*sts)->get_caller_identity();
  ASSERT_TRUE(identity) << describe(identity.error());
  const auto event = std::move(events(1)[0]);
  EXPECT_EQ(event.string("signature_error"), "");
  EXPECT_EQ(identity->account, event.botocore("Account"));
  EXPECT_EQ(identity->arn, event.botocore("Arn"));
  EXPECT_EQ(identity->user_id, event.botocore("UserId"));
  EXPECT_EQ(identity->account, "111122223333");
}

TEST_F(CredentialSources, GetCallerIdentityWithUnknownKeysReportsTheStsCode) {
  auto static_credentials =
      aws::make_static_credentials({"AKIAUNKNOWNKEY000001", "unknownSecret/0123456789", "", {}});
  auto sts = aws::StsClient::create(env_, "eu-west-1", *http_, *static_credentials, clock_);
  ASSERT_TRUE(sts);
  auto identity = (*sts)->get_caller_identity();
  ASSERT_FALSE(identity);
  EXPECT_THAT(identity.error().user_message, HasSubstr("InvalidClientTokenId (HTTP 403)"));
}

// ---------------------------------------------------------- credential_process

TEST_F(CredentialSources, CredentialProcessOutputIsRead) {
  const auto path =
      script("bin/creds helper", R"(echo '{"Version": 1, "AccessKeyId": "ASIAPROCESSKEY000001",)"
                                 R"( "SecretAccessKey": "processSecret/0123456789abcdef",)"
                                 R"( "SessionToken": "processSessionToken0123456789",)"
                                 R"( "Expiration": "2099-01-01T00:00:00Z"}')");
  // A quoted path with a space, split as shlex does (no shell).
  config(fmt::format("[profile tool]\ncredential_process = \"{}\" --profile tool\n", path));
  env_.set("AWS_PROFILE", "tool");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << describe(credentials.error());
  EXPECT_EQ(credentials->access_key_id, "ASIAPROCESSKEY000001");
  EXPECT_EQ(credentials->secret_access_key, "processSecret/0123456789abcdef");
  EXPECT_EQ(credentials->session_token, "processSessionToken0123456789");
  ASSERT_TRUE(credentials->expiration);
  EXPECT_EQ(core::format_rfc3339(*credentials->expiration), "2099-01-01T00:00:00Z");
}

TEST_F(CredentialSources, CredentialProcessFailuresDoNotQuoteTheOutput) {
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"echo 'not json processSecret/leak'", "not a JSON object"},
      {R"(echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "processSecret/leak"}')",
       "\"Version\": 1"},
      {R"(echo '{"Version": 1, "SecretAccessKey": "processSecret/leak"}')", "no AccessKeyId"},
      {"echo 'processSecret/leak on stderr' >&2; exit 3", "exited with status 3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    const auto path = script("bin/helper", c.body);
    auto credentials = aws::detail::run_credential_process(path, "tool");
    ASSERT_FALSE(credentials);
    EXPECT_THAT(credentials.error().user_message, HasSubstr(c.expected));
    EXPECT_THAT(credentials.error().user_message, HasSubstr("profile \"tool\""));
    EXPECT_THAT(credentials.error().user_message, Not(HasSubstr("processSecret/leak")));
  }
}

TEST_F(CredentialSources, CredentialProcessStderrGoesOnlyToTheDetail) {
  const auto path = script("bin/helper", "echo 'token expired, run sso login' >&2; exit 1");
  auto credentials = aws::detail::run_credential_process(path, "tool");
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, Not(HasSubstr("token expired")));
  EXPECT_THAT(credentials.error().detail, HasSubstr("token expired, run sso login"));
}

TEST_F(CredentialSources, ACredentialProcessThatHangsIsKilledAtTheTimeout) {
  const auto previous = aws::detail::set_credential_process_timeout(300ms);
  const auto path = script("bin/helper", "sleep 30");
  const auto started = std::chrono::steady_clock::now();
  auto credentials = aws::detail::run_credential_process(path, "tool");
  aws::detail::set_credential_process_timeout(previous);
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("did not finish within 300 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

// A helper that prints, closes its output and lingers: the wait for it is
// bounded by the same deadline (a blocking waitpid would hang every caller).
TEST_F(CredentialSources, ACredentialProcessThatClosesItsOutputAndLingersIsKilled) {
  const auto previous = aws::detail::set_credential_process_timeout(300ms);
  const auto path = script("bin/helper",
                           "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDLINGER\", "
                           "\"SecretAccessKey\": \"s\"}'; exec >&- 2>&-; sleep 30");
  const auto started = std::chrono::steady_clock::now();
  auto credentials = aws::detail::run_credential_process(path, "tool");
  aws::detail::set_credential_process_timeout(previous);
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("did not finish within 300 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

// The helper starts with no descriptor of ours beyond 0-2 and no blocked
// signal (the service blocks SIGTERM/SIGINT in every thread).
TEST_F(CredentialSources, ACredentialProcessGetsNoInheritedDescriptorsOrSignalMask) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec, like Asio's sockets
  ASSERT_GE(leaked, 3);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigset_t before;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &blocked, &before), 0);
  const auto path = script(
      "bin/helper",
      fmt::format("if [ -e /proc/self/fd/{} ]; then echo 'fd leaked' >&2; exit 3; fi\n"
                  "if grep -q '^SigBlk:.*[1-9a-f]' /proc/self/status; then echo 'signals blocked' "
                  ">&2; exit 4; fi\n"
                  "echo '{{\"Version\": 1, \"AccessKeyId\": \"AKIDCLEAN\", "
                  "\"SecretAccessKey\": \"s\"}}'",
                  leaked));
  auto credentials = aws::detail::run_credential_process(path, "tool");
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  ::close(leaked);
  ASSERT_TRUE(credentials) << credentials.error().user_message << " / "
                           << credentials.error().detail;
  EXPECT_EQ(credentials->access_key_id, "AKIDCLEAN");
}

TEST_F(CredentialSources, AMissingCredentialProcessProgramIsAConfigError) {
  auto credentials =
      aws::detail::run_credential_process((home_ / "no-such-program").string() + " --flag", "tool");
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("could not be run"));
}

TEST(SplitCommand, AsShlexSplitsIt) {
  using aws::detail::split_command;
  using V = std::vector<std::string>;
  EXPECT_EQ(*split_command("a b  c"), (V{"a", "b", "c"}));
  EXPECT_EQ(*split_command(R"('a b' "c d" e\ f)"), (V{"a b", "c d", "e f"}));
  EXPECT_EQ(*split_command(R"("a\"b" 'c\d' x"y"z)"), (V{"a\"b", "c\\d", "xyz"}));
  EXPECT_EQ(*split_command(R"("$HOME" ;|&)"), (V{"$HOME", ";|&"}));
  EXPECT_FALSE(split_command("'unterminated"));
  EXPECT_FALSE(split_command("\"unterminated"));
  EXPECT_TRUE(split_command("")->empty());
}

}  // namespace
