// The default credential chain (aws.md §4): order, the shared files, the
// container endpoint, IMDSv2, refresh ahead of expiry, single-flight, and no
// secret in any log line or error.
//
// Network rule: the unit tests only talk to test::ScriptedHttpClient (in
// process). The integration tests at the end use the real libcurl client
// against a Python fake on 127.0.0.1; they set the IMDS endpoint to the fake
// or disable IMDS, so nothing can reach 169.254.169.254 or 169.254.170.2.

#include "aws/credentials.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../lib/aws/src/container_credentials.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/redactor.hpp"
#include "core/strings.hpp"
#include "fake_clock.hpp"
#include "python_fake.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using core::http::Request;
using core::http::Response;
using testing::HasSubstr;
using testing::Not;

constexpr const char* kKeyId = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQexample=";
constexpr const char* kOtherKeyId = "AKIAOTHERPROFILEKEY1";
constexpr const char* kOtherSecret = "otherSecretKeyValueForTheProfile/0123456789";
constexpr const char* kTaskKeyId = "ASIAQEXAMPLE1234ABCD";
constexpr const char* kTaskSecret = "taskSecretKey/fromTheContainerEndpoint+0123";
constexpr const char* kTaskToken = "taskSessionTokenFromTheContainerEndpoint//abc=";
constexpr const char* kNewKeyId = "ASIANEWKEYAFTERREFSH";
constexpr const char* kNewSecret = "newSecretKey/afterTheRefresh+0123456789abcd";
constexpr const char* kNewToken = "newSessionTokenAfterTheRefresh//xyz=";
constexpr const char* kAuthToken = "container-authorization-token-0123456789";
constexpr const char* kImdsToken = "AQAEAImdsSessionToken-0123456789==";

const std::vector<std::string>& all_secrets() {
  static const std::vector<std::string> secrets = {
      kKeyId,     kSecret,   kToken,     kOtherKeyId, kOtherSecret, kTaskKeyId, kTaskSecret,
      kTaskToken, kNewKeyId, kNewSecret, kNewToken,   kAuthToken,   kImdsToken};
  return secrets;
}

// No known secret, no AKIA/ASIA-shaped key id, and nothing the logger had to
// redact (a "[REDACTED]" would mean the code tried to log a secret).
testing::AssertionResult free_of_secrets(std::string_view text) {
  for (const auto& secret : all_secrets()) {
    if (text.find(secret) != std::string_view::npos) {
      return testing::AssertionFailure() << "holds secret '" << secret << "': " << text;
    }
  }
  if (core::Redactor().contains_secret(text)) {
    return testing::AssertionFailure() << "holds a key id: " << text;
  }
  if (text.find("[REDACTED]") != std::string_view::npos) {
    return testing::AssertionFailure() << "the logger had to redact: " << text;
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult error_free_of_secrets(const core::Error& error) {
  auto result = free_of_secrets(error.user_message);
  if (!result) return result;
  return free_of_secrets(error.detail);
}

std::string creds_json(std::string_view key_id, std::string_view secret, std::string_view token,
                       core::TimePoint expires) {
  return fmt::format(R"({{"RoleArn":"arn:aws:iam::123456789012:role/bot","AccessKeyId":"{}",)"
                     R"("SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}})",
                     key_id, secret, token, core::format_rfc3339(expires));
}

Response ok(std::string body) { return Response{200, {}, std::move(body)}; }

std::optional<std::string> header(const Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (core::to_lower(key) == core::to_lower(name)) return value;
  }
  return std::nullopt;
}

class CredentialsTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "infra-bot-creds-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    home_ = pattern;
    env_.set("HOME", home_.string());
    // IMDS is off unless a test turns it on (and then it talks to the script).
    env_.set("AWS_EC2_METADATA_DISABLED", "true");
    // The container source's backoff is recorded, not slept (unit 1: the whole of it).
    previous_wait_ = aws::detail::set_container_retry_wait(recorded_wait(random_));
  }

  void TearDown() override {
    aws::detail::set_container_retry_wait(std::move(previous_wait_));
    for (const auto& line : sink_->lines()) EXPECT_TRUE(free_of_secrets(line));
    std::error_code ec;
    fs::remove_all(home_, ec);
  }

  std::unique_ptr<aws::CredentialsProvider> chain() {
    return aws::make_default_credentials_chain(env_, http_, clock_, logger_, redactor_);
  }

  std::string write(const std::string& relative, std::string_view content) {
    const auto path = home_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  // A container backoff that is recorded in sleeps() instead of slept.
  aws::detail::ContainerRetryWait recorded_wait(core::RandomSource& random) {
    return {[this](std::chrono::milliseconds wait) {
              std::lock_guard lock(sleeps_mutex_);
              sleeps_.push_back(wait);
            },
            &random};
  }

  std::vector<std::chrono::milliseconds> sleeps() {
    std::lock_guard lock(sleeps_mutex_);
    return sleeps_;
  }

  std::size_t log_lines_with(std::string_view text) {
    std::size_t count = 0;
    for (const auto& line : sink_->lines()) count += line.find(text) != std::string::npos;
    return count;
  }

  // Container credentials (RELATIVE) that expire `valid_for` from now.
  void use_container(std::chrono::seconds valid_for) {
    env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
    http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + valid_for)));
  }

  fs::path home_;
  core::MapEnvironment env_;
  test::FakeClock clock_;
  test::ScriptedHttpClient http_;
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ = core::make_logger("infra-bot", core::LogFormat::text,
                                              core::LogLevel::debug, {sink_}, core::Redactor());
  // What the chain registers its credentials with (not the logger's: TearDown's check that no
  // line needed redacting stays meaningful).
  core::Redactor redactor_;
  core::FixedRandom random_{{1.0}};
  std::mutex sleeps_mutex_;
  std::vector<std::chrono::milliseconds> sleeps_;
  aws::detail::ContainerRetryWait previous_wait_;
};

// ---------------------------------------------------------------- environment

TEST_F(CredentialsTest, EnvironmentWinsOverEverythingElse) {
  env_.set("AWS_ACCESS_KEY_ID", kKeyId);
  env_.set("AWS_SECRET_ACCESS_KEY", kSecret);
  env_.set("AWS_SESSION_TOKEN", kToken);
  write(".aws/credentials", fmt::format("[default]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kOtherKeyId, kOtherSecret));
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");

  auto provider = chain();
  auto credentials = provider->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(*credentials, (aws::Credentials{kKeyId, kSecret, kToken, std::nullopt}));
  EXPECT_TRUE(http_.requests().empty());
  EXPECT_EQ(log_lines_with("AWS credentials: using the environment"), 1u);

  // Long-term keys carry no expiry: kept, never refetched.
  clock_.advance(48h);
  EXPECT_EQ(*provider->get(), *credentials);
  EXPECT_EQ(log_lines_with("AWS credentials: using"), 1u);
}

TEST_F(CredentialsTest, EnvironmentWithOnlyAKeyIdFallsThroughToTheProfile) {
  env_.set("AWS_ACCESS_KEY_ID", kKeyId);
  write(".aws/credentials", fmt::format("[default]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kOtherKeyId, kOtherSecret));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(credentials->access_key_id, kOtherKeyId);
  EXPECT_EQ(credentials->session_token, "");
  EXPECT_EQ(log_lines_with("using profile \"default\" in " + (home_ / ".aws/credentials").string()),
            1u);
}

TEST_F(CredentialsTest, EnvironmentWithAnEmptySecretFallsThrough) {
  env_.set("AWS_ACCESS_KEY_ID", kKeyId);
  env_.set("AWS_SECRET_ACCESS_KEY", "");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("environment: AWS_SECRET_ACCESS_KEY is empty"));
  EXPECT_TRUE(error_free_of_secrets(credentials.error()));
}

TEST_F(CredentialsTest, OlderSecurityTokenSpellingIsRead) {
  env_.set("AWS_ACCESS_KEY_ID", kKeyId);
  env_.set("AWS_SECRET_ACCESS_KEY", kSecret);
  env_.set("AWS_SECURITY_TOKEN", kToken);
  EXPECT_EQ(chain()->get()->session_token, kToken);
}

TEST_F(CredentialsTest, TheEnvironmentIsCopiedWhenTheChainIsBuilt) {
  std::unique_ptr<aws::CredentialsProvider> provider;
  {
    core::MapEnvironment scoped{{"AWS_ACCESS_KEY_ID", kKeyId},
                                {"AWS_SECRET_ACCESS_KEY", kSecret},
                                {"AWS_EC2_METADATA_DISABLED", "true"}};
    provider = aws::make_default_credentials_chain(scoped, http_, clock_, logger_, redactor_);
  }  // gone before the first (lazy) get()
  auto credentials = provider->get();
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->access_key_id, kKeyId);
}

// ---------------------------------------------------------------- shared files

TEST_F(CredentialsTest, DefaultProfileFromTheCredentialsFile) {
  write(".aws/credentials",
        fmt::format("[other]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n"
                    "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n"
                    "aws_session_token = {}\n",
                    kOtherKeyId, kOtherSecret, kKeyId, kSecret, kToken));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(*credentials, (aws::Credentials{kKeyId, kSecret, kToken, std::nullopt}));
}

TEST_F(CredentialsTest, NamedProfileFromAwsProfile) {
  write(".aws/credentials",
        fmt::format("[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n"
                    "[dev]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                    kKeyId, kSecret, kOtherKeyId, kOtherSecret));
  env_.set("AWS_PROFILE", "dev");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(credentials->access_key_id, kOtherKeyId);
  EXPECT_EQ(log_lines_with("using profile \"dev\""), 1u);
}

TEST_F(CredentialsTest, AwsDefaultProfileIsReadBeforeAwsProfileAsBotocoreDoes) {
  write(".aws/credentials",
        fmt::format("[one]\naws_access_key_id = {}\naws_secret_access_key = {}\n"
                    "[two]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                    kKeyId, kSecret, kOtherKeyId, kOtherSecret));
  env_.set("AWS_PROFILE", "one");
  env_.set("AWS_DEFAULT_PROFILE", "two");
  EXPECT_EQ(chain()->get()->access_key_id, kOtherKeyId);
}

TEST_F(CredentialsTest, ProfileSectionInTheConfigFileNeedsThePrefix) {
  const auto config = write(
      "elsewhere/config", fmt::format("[ops]\naws_access_key_id = {}\naws_secret_access_key = {}\n"
                                      "[profile  ops]\nregion = eu-west-1\n"
                                      "aws_access_key_id = {}\naws_secret_access_key = {}\n",
                                      kKeyId, kSecret, kOtherKeyId, kOtherSecret));
  env_.set("AWS_CONFIG_FILE", config);
  env_.set("AWS_PROFILE", "ops");
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(credentials->access_key_id, kOtherKeyId);  // [ops] without "profile" is not it
  EXPECT_EQ(log_lines_with("using profile \"ops\" in " + config), 1u);
}

TEST_F(CredentialsTest, DefaultSectionOfTheConfigFile) {
  write(".aws/config", fmt::format("[default]\nregion = us-east-1\naws_access_key_id = {}\n"
                                   "aws_secret_access_key = {}\n",
                                   kKeyId, kSecret));
  EXPECT_EQ(chain()->get()->access_key_id, kKeyId);
}

TEST_F(CredentialsTest, TheCredentialsFileTakesPrecedenceOverTheConfigFile) {
  const auto credentials_file =
      write("custom/creds", fmt::format("[default]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kKeyId, kSecret));
  write(".aws/config", fmt::format("[default]\naws_access_key_id = {}\n"
                                   "aws_secret_access_key = {}\n",
                                   kOtherKeyId, kOtherSecret));
  env_.set("AWS_SHARED_CREDENTIALS_FILE", credentials_file);
  EXPECT_EQ(chain()->get()->access_key_id, kKeyId);
}

TEST_F(CredentialsTest, AProfileWithoutKeysInTheCredentialsFileIsLookedUpInTheConfigFile) {
  write(".aws/credentials", "[default]\nregion = eu-west-1\n");
  write(".aws/config", fmt::format("[default]\naws_access_key_id = {}\n"
                                   "aws_secret_access_key = {}\n",
                                   kOtherKeyId, kOtherSecret));
  EXPECT_EQ(chain()->get()->access_key_id, kOtherKeyId);
}

TEST_F(CredentialsTest, CommentsSpacesCrlfBomAndNestedSettingsAreTolerated) {
  write(".aws/credentials", fmt::format("\xEF\xBB\xBF# leading comment\r\n"
                                        "; another comment\r\n"
                                        "\r\n"
                                        "[ default ]   \r\n"
                                        "  AWS_Access_Key_Id=   {}   # inline comment\r\n"
                                        "aws_secret_access_key\t=\t{} ; inline\r\n"
                                        "s3 =\r\n"
                                        "    max_concurrent_requests = 20\r\n"
                                        "    aws_session_token = nested-not-ours\r\n"
                                        "aws_session_token: {}\r\n"
                                        "# aws_access_key_id = {}\r\n",
                                        kKeyId, kSecret, kToken, kOtherKeyId));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(*credentials, (aws::Credentials{kKeyId, kSecret, kToken, std::nullopt}));
}

TEST_F(CredentialsTest, MissingFilesAreReportedAndTheChainMovesOn) {
  use_container(1h);
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(credentials->access_key_id, kTaskKeyId);

  auto nothing = chain();  // no container answer left, IMDS off
  auto error = nothing->get();
  ASSERT_FALSE(error);
  EXPECT_THAT(error.error().user_message,
              HasSubstr(fmt::format("profile \"default\": no file at {}/.aws/credentials or "
                                    "{}/.aws/config",
                                    home_.string(), home_.string())));
}

TEST_F(CredentialsTest, AProfileThatIsNotInTheFilesIsNamedInTheError) {
  write(".aws/credentials", fmt::format("[default]\naws_access_key_id = {}\n"
                                        "aws_secret_access_key = {}\n",
                                        kKeyId, kSecret));
  env_.set("AWS_PROFILE", "prod");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr(fmt::format("profile \"prod\": no file at {}/.aws/config, not in "
                                    "{}/.aws/credentials",
                                    home_.string(), home_.string())));
}

// ---------------------------------------------------------------- container

TEST_F(CredentialsTest, ContainerRelativeUriGoesToTheEcsAgentWithoutAuthorization) {
  use_container(6h);
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(*credentials, (aws::Credentials{kTaskKeyId, kTaskSecret, kTaskToken,
                                            clock_.now() + std::chrono::hours(6)}));
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url, "http://169.254.170.2/v2/credentials/task-1");
  EXPECT_EQ(header(requests[0], "Authorization"), std::nullopt);
  EXPECT_LE(requests[0].total_timeout, 2s);
  EXPECT_EQ(log_lines_with("using the container endpoint http://169.254.170.2"), 1u);
  EXPECT_EQ(log_lines_with("task-1"), 0u);  // the per-task path stays out of the log
}

TEST_F(CredentialsTest, ContainerRelativeUriMustStartWithASlash) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@evil.example/creds");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with \"/\""));
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(CredentialsTest, ContainerFullUriOnLoopbackSendsTheToken) {
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:51679/creds?id=1");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", kAuthToken);
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, "http://127.0.0.1:51679/creds?id=1");
  EXPECT_EQ(header(requests[0], "Authorization"), kAuthToken);
  EXPECT_EQ(log_lines_with("using the container endpoint http://127.0.0.1:51679"), 1u);
}

TEST_F(CredentialsTest, ContainerTokenFileWinsAndIsReadAgainOnEveryFetch) {
  const auto token_file = write("token", "token-from-the-file-version-1");
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:8080/creds");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", kAuthToken);
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file);
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  auto provider = chain();
  ASSERT_TRUE(provider->get());

  write("token", "token-from-the-file-version-2");  // rotated
  clock_.advance(50min);                            // 10 min left: refresh
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  auto refreshed = provider->get();
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->access_key_id, kNewKeyId);

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(header(requests[0], "Authorization"), "token-from-the-file-version-1");
  EXPECT_EQ(header(requests[1], "Authorization"), "token-from-the-file-version-2");
}

TEST_F(CredentialsTest, ContainerTokenWithALineBreakIsRefused) {
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/creds");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", std::string(kAuthToken) + "\r\nX-Injected: 1");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS_CONTAINER_AUTHORIZATION_TOKEN holds a token with CR or LF"));
  EXPECT_TRUE(error_free_of_secrets(credentials.error()));
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(CredentialsTest, ContainerTokenFileWithANewlineIsRefused) {
  // Taken as it is, like botocore: `echo token > file` leaves a newline.
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/creds");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           write("token", std::string(kAuthToken) + "\n"));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE holds a token with CR or LF"));
  EXPECT_TRUE(error_free_of_secrets(credentials.error()));
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(CredentialsTest, ContainerTokenFileThatCannotBeReadIsAnError) {
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/creds");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", (home_ / "no-such-token").string());
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read"));
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(CredentialsTest, ContainerRelativeUriWinsOverFullUri) {
  use_container(1h);
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds");
  ASSERT_TRUE(chain()->get());
  ASSERT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(http_.requests()[0].url, "http://169.254.170.2/v2/credentials/task-1");
}

struct FullUriCase {
  std::string url;
  bool allowed;
};

class ContainerFullUriHosts : public CredentialsTest,
                              public testing::WithParamInterface<FullUriCase> {};

TEST_P(ContainerFullUriHosts, OnlyHttpsOrLoopbackEcsAndEksHostsAreAllowed) {
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", GetParam().url);
  http_.set_handler([this](const Request&) {
    return test::ScriptedHttpClient::Answer(
        ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  });
  auto credentials = chain()->get();
  if (GetParam().allowed) {
    ASSERT_TRUE(credentials) << credentials.error().user_message;
    ASSERT_EQ(http_.requests().size(), 1u);
    EXPECT_EQ(http_.requests()[0].url, GetParam().url);
  } else {
    ASSERT_FALSE(credentials);
    EXPECT_EQ(credentials.error().code, core::ErrorCode::config);
    EXPECT_THAT(credentials.error().user_message,
                HasSubstr("container: AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    EXPECT_TRUE(http_.requests().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Hosts, ContainerFullUriHosts,
                         testing::Values(FullUriCase{"https://creds.example.com/role", true},
                                         FullUriCase{"HTTPS://creds.example.com:8443/role", true},
                                         FullUriCase{"http://127.0.0.1/creds", true},
                                         FullUriCase{"http://127.42.7.1:8080/creds", true},
                                         FullUriCase{"http://localhost:8080/creds", true},
                                         FullUriCase{"http://LOCALHOST/creds", true},
                                         FullUriCase{"http://[::1]:8080/creds", true},
                                         FullUriCase{"http://169.254.170.2/v1/credentials", true},
                                         FullUriCase{"http://169.254.170.23/v1/credentials", true},
                                         FullUriCase{"http://[fd00:ec2::23]/v1/credentials", true},
                                         FullUriCase{"http://example.com/creds", false},
                                         FullUriCase{"http://10.0.0.1/creds", false},
                                         FullUriCase{"http://169.254.169.254/creds", false},
                                         FullUriCase{"http://localhost.example.com/creds", false},
                                         FullUriCase{"http://127.0.0.1@example.com/creds", false},
                                         FullUriCase{"http://127.1/creds", false},
                                         FullUriCase{"http://[::ffff:127.0.0.1]/creds", false},
                                         FullUriCase{"http://127.0.0.1:80x/creds", false},
                                         FullUriCase{"ftp://127.0.0.1/creds", false},
                                         FullUriCase{"127.0.0.1/creds", false},
                                         FullUriCase{"http://127.0.0.1/cr eds", false}),
                         [](const testing::TestParamInfo<FullUriCase>& case_info) {
                           return fmt::format("{}_{}", case_info.index,
                                              case_info.param.allowed ? "allowed" : "refused");
                         });

TEST_F(CredentialsTest, ContainerRefusalNamesTheVariableAndTheHost) {
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds");
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS_CONTAINER_CREDENTIALS_FULL_URI uses http on host \"example.com\", "
                        "which is not allowed"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("IMDS: not tried (container is set up)"));
}

TEST_F(CredentialsTest, AFailingContainerIsRetriedOnceAndDoesNotFallBackToImds) {
  env_.set("AWS_EC2_METADATA_DISABLED", "false");
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  http_.push(Response{500, {}, R"({"code":"InternalError","message":"try later"})"});
  http_.push(core::make_error(core::ErrorCode::unavailable, "connect failed", "connect timeout"));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("container: http://169.254.170.2 did not answer"));
  EXPECT_THAT(credentials.error().user_message, HasSubstr("IMDS: not tried (container is set up)"));
  EXPECT_THAT(credentials.error().detail, HasSubstr("connect timeout"));
  EXPECT_EQ(http_.requests().size(), 2u);  // never 169.254.169.254
  // One full-jitter backoff between the two (core::retry, base 250 ms; unit 1 here).
  EXPECT_THAT(sleeps(), testing::ElementsAre(250ms));
}

TEST_F(CredentialsTest, TheContainerBackoffIsJittered) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  core::FixedRandom half({0.5});
  aws::detail::set_container_retry_wait(recorded_wait(half));
  http_.push(Response{503, {}, "{}"});
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(credentials->access_key_id, kTaskKeyId);
  EXPECT_THAT(sleeps(), testing::ElementsAre(125ms));
}

TEST_F(CredentialsTest, AContainer4xxIsNotRetried) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  http_.push(Response{403, {}, R"({"code":"AccessDenied","message":"no"})"});
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("http://169.254.170.2 answered HTTP 403 (code AccessDenied)"));
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(CredentialsTest, AContainerAnswerWithoutTheFieldsIsAnErrorThatQuotesNothing) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  http_.push(
      ok(fmt::format(R"({{"AccessKeyId":"{}","SecretAccessKey":"{}"}})", kTaskKeyId, kTaskSecret)));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("returned no Expiration"));
  EXPECT_TRUE(error_free_of_secrets(credentials.error()));
}

// ---------------------------------------------------------------- IMDSv2

class ImdsTest : public CredentialsTest {
 protected:
  void SetUp() override {
    CredentialsTest::SetUp();
    env_.set("AWS_EC2_METADATA_DISABLED", "false");
  }
  static constexpr std::string_view kBase = "http://169.254.169.254";
  static std::string url(std::string_view path) { return std::string(kBase) + std::string(path); }
};

TEST_F(ImdsTest, TokenThenRoleThenCredentials) {
  http_.push(ok(kImdsToken));
  http_.push(ok("infra-bot-role\n"));
  http_.push(ok(fmt::format(R"({{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z",)"
                            R"("Type":"AWS-HMAC","AccessKeyId":"{}","SecretAccessKey":"{}",)"
                            R"("Token":"{}","Expiration":"{}"}})",
                            kTaskKeyId, kTaskSecret, kTaskToken,
                            core::format_rfc3339(clock_.now() + 6h))));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;
  EXPECT_EQ(*credentials,
            (aws::Credentials{kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 6h}));

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].url, url("/latest/api/token"));
  EXPECT_EQ(header(requests[0], "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].url, url("/latest/meta-data/iam/security-credentials/"));
  EXPECT_EQ(header(requests[1], "X-aws-ec2-metadata-token"), kImdsToken);
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].url, url("/latest/meta-data/iam/security-credentials/infra-bot-role"));
  EXPECT_EQ(header(requests[2], "X-aws-ec2-metadata-token"), kImdsToken);
  for (const auto& request : requests) {
    EXPECT_LE(request.connect_timeout, 2s);
    EXPECT_LE(request.total_timeout, 2s);
  }
  EXPECT_EQ(log_lines_with("using IMDS role \"infra-bot-role\" at http://169.254.169.254"), 1u);
}

TEST_F(ImdsTest, A401FetchesANewTokenOnce) {
  http_.push(ok("stale-imds-session-token"));
  http_.push(Response{401, {}, ""});
  http_.push(ok(kImdsToken));
  http_.push(ok("infra-bot-role"));
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 6h)));
  auto credentials = chain()->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message;

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(header(requests[1], "X-aws-ec2-metadata-token"), "stale-imds-session-token");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(header(requests[3], "X-aws-ec2-metadata-token"), kImdsToken);
  EXPECT_EQ(header(requests[4], "X-aws-ec2-metadata-token"), kImdsToken);
}

TEST_F(ImdsTest, ASecond401IsAnError) {
  http_.push(ok("first-imds-session-token"));
  http_.push(Response{401, {}, ""});
  http_.push(ok("second-imds-session-token"));
  http_.push(Response{401, {}, ""});
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("IMDS: http://169.254.169.254 answered HTTP 401 to the IAM role request"));
  EXPECT_EQ(http_.requests().size(), 4u);
}

TEST_F(ImdsTest, TheTokenIsReusedAcrossRefreshes) {
  http_.push(ok(kImdsToken));
  http_.push(ok("infra-bot-role"));
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  clock_.advance(50min);
  http_.push(ok("infra-bot-role"));
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  auto refreshed = provider->get();
  ASSERT_TRUE(refreshed) << refreshed.error().user_message;
  EXPECT_EQ(refreshed->access_key_id, kNewKeyId);
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[3].method, "GET");
  EXPECT_EQ(header(requests[3], "X-aws-ec2-metadata-token"), kImdsToken);
}

TEST_F(ImdsTest, TheEndpointCanBeOverridden) {
  env_.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/");
  http_.push(ok(kImdsToken));
  http_.push(ok("infra-bot-role"));
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  ASSERT_TRUE(chain()->get());
  for (const auto& request : http_.requests()) {
    EXPECT_THAT(request.url, testing::StartsWith("http://127.0.0.1:1338/latest/"));
  }
}

TEST_F(ImdsTest, NoRoleAttached) {
  http_.push(ok(kImdsToken));
  http_.push(Response{404, {}, "not found"});
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("IMDS: http://169.254.169.254 has no IAM role for this instance"));
}

TEST_F(ImdsTest, UnreachableImdsIsReportedWithTheCause) {
  http_.push(core::make_error(core::ErrorCode::unavailable, "connect failed",
                              "Connection timed out after 1000 ms"));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("IMDS: http://169.254.169.254 did not answer the IMDSv2 token request"));
  EXPECT_THAT(credentials.error().detail, HasSubstr("Connection timed out after 1000 ms"));
}

// ---------------------------------------------------------------- refresh

TEST_F(CredentialsTest, CredentialsWithMoreThan15MinutesLeftComeFromTheCache) {
  use_container(1h);
  auto provider = chain();
  const auto first = provider->get();
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(9min);  // up to 45 min later: 15 min left
    EXPECT_EQ(*provider->get(), *first);
  }
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(CredentialsTest, ARefreshHappensWithLessThan15MinutesLeft) {
  use_container(1h);
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  clock_.advance(46min);  // 14 min left
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  auto refreshed = provider->get();
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(*refreshed, (aws::Credentials{kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h}));
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(http_.requests()[1].url, "http://169.254.170.2/v2/credentials/task-1");
  // And the new ones are cached in turn.
  clock_.advance(10min);
  EXPECT_EQ(*provider->get(), *refreshed);
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(CredentialsTest, AFailedRefreshKeepsTheOldCredentialsAndIsLoggedOnce) {
  use_container(1h);
  auto provider = chain();
  const auto first = provider->get();
  ASSERT_TRUE(first);
  clock_.advance(46min);  // 14 min left
  http_.set_handler([](const Request&) {
    return test::ScriptedHttpClient::Answer(Response{500, {}, "{}"});
  });
  for (int minute = 0; minute < 8; ++minute) {  // 14 … 7 min left
    auto credentials = provider->get();
    ASSERT_TRUE(credentials) << credentials.error().user_message;
    EXPECT_EQ(*credentials, *first);
    EXPECT_EQ(*provider->get(), *first);  // at once again: no new attempt
    clock_.advance(1min);
  }
  // One attempt per minute (two requests each: the container retries a 5xx once, after a
  // backoff).
  EXPECT_EQ(http_.requests().size(), 1u + 8u * 2u);
  EXPECT_EQ(sleeps().size(), 8u);
  EXPECT_EQ(log_lines_with("refreshing AWS credentials from the container endpoint "
                           "http://169.254.170.2 failed; using the current ones until "),
            1u);
  EXPECT_EQ(log_lines_with("failed"), 1u);

  // A success is noted, and a later failure is logged again (once).
  http_.set_handler(nullptr);
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 20min)));
  EXPECT_EQ(provider->get()->access_key_id, kNewKeyId);
  EXPECT_EQ(log_lines_with("are available again"), 1u);
  clock_.advance(6min);  // 14 min left
  http_.set_handler([](const Request&) {
    return test::ScriptedHttpClient::Answer(Response{500, {}, "{}"});
  });
  EXPECT_EQ(provider->get()->access_key_id, kNewKeyId);
  clock_.advance(1min);
  EXPECT_EQ(provider->get()->access_key_id, kNewKeyId);
  EXPECT_EQ(log_lines_with("refreshing AWS credentials"), 2u);
}

TEST_F(CredentialsTest, InsideFiveMinutesAFailedRefreshReturnsTheError) {
  use_container(1h);
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  clock_.advance(56min);  // 4 min left
  http_.set_handler([](const Request&) {
    return test::ScriptedHttpClient::Answer(Response{503, {}, "{}"});
  });
  auto credentials = provider->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("AWS credentials from the container endpoint http://169.254.170.2 "
                        "expire at 2026-01-01T01:00:00Z and could not be refreshed: "
                        "http://169.254.170.2 answered HTTP 503"));
  EXPECT_TRUE(error_free_of_secrets(credentials.error()));
  // Every call inside the margin tries again (nothing usable to hand out), but
  // the log says it once.
  const auto before = http_.requests().size();
  EXPECT_FALSE(provider->get());
  EXPECT_GT(http_.requests().size(), before);
  EXPECT_EQ(log_lines_with("could not be refreshed"), 1u);

  // Recovery inside the margin.
  http_.set_handler(nullptr);
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  EXPECT_EQ(provider->get()->access_key_id, kNewKeyId);
}

TEST_F(CredentialsTest, ARefreshThatFailsBetween15And5MinutesThenCrossesTheMarginFails) {
  use_container(1h);
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  http_.set_handler([](const Request&) {
    return test::ScriptedHttpClient::Answer(Response{500, {}, "{}"});
  });
  clock_.advance(50min);  // 10 min left: old ones kept
  EXPECT_TRUE(provider->get());
  clock_.advance(5min + 1s);  // under 5 min left
  EXPECT_FALSE(provider->get());
  EXPECT_EQ(log_lines_with("failed"), 1u);  // still the one line
}

TEST_F(CredentialsTest, CredentialsThatExpiredAlreadyAreRefused) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() - 1min)));
  auto credentials = chain()->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr("returned credentials that expired at 2025-12-31T23:59:00Z"));
}

TEST_F(CredentialsTest, ShortLivedCredentialsAreHandedOutWithoutAskingOnEveryCall) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  http_.set_handler([this](const Request&) {
    return test::ScriptedHttpClient::Answer(
        ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 3min)));
  });
  auto provider = chain();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(provider->get());
  EXPECT_EQ(http_.requests().size(), 1u);
  clock_.advance(31s);
  ASSERT_TRUE(provider->get());
  EXPECT_EQ(http_.requests().size(), 2u);
}

// ---------------------------------------------------------------- concurrency

TEST_F(CredentialsTest, DuringASlowRefreshOneThreadFetchesAndTheOthersAreNotBlocked) {
  use_container(1h);
  auto provider = chain();
  const auto first = provider->get();
  ASSERT_TRUE(first);
  clock_.advance(46min);  // 14 min left

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> fetches{0};
  http_.set_handler([&](const Request&) {
    ++fetches;
    released.wait_for(10s);  // held until the other callers have returned
    return test::ScriptedHttpClient::Answer(
        ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  });

  constexpr int kThreads = 8;
  std::vector<std::string> keys(kThreads);
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto credentials = provider->get();
      keys[static_cast<std::size_t>(i)] = credentials ? credentials->access_key_id : "error";
      ++finished;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (finished.load() < kThreads - 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(finished.load(), kThreads - 1) << "callers waited for the refresh";
  EXPECT_EQ(fetches.load(), 1);
  release.set_value();
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(std::count(keys.begin(), keys.end(), kTaskKeyId), kThreads - 1);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), kNewKeyId), 1);
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(provider->get()->access_key_id, kNewKeyId);
}

TEST_F(CredentialsTest, FirstCallersShareOneFetch) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> fetches{0};
  http_.set_handler([&](const Request&) {
    ++fetches;
    released.wait_for(10s);
    return test::ScriptedHttpClient::Answer(
        ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  });
  auto provider = chain();
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { succeeded += provider->get() ? 1 : 0; });
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (fetches.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(20ms);  // let the others queue up behind it
  release.set_value();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 8);
  EXPECT_EQ(fetches.load(), 1);
}

TEST_F(CredentialsTest, FirstCallersShareOneFailure) {
  env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> fetches{0};
  http_.set_handler([&](const Request&) {
    ++fetches;
    released.wait_for(10s);
    return test::ScriptedHttpClient::Answer(Response{403, {}, "{}"});
  });
  auto provider = chain();
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto credentials = provider->get();
      if (!credentials && credentials.error().user_message.find("HTTP 403") != std::string::npos) {
        ++failed;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (fetches.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(20ms);
  release.set_value();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 4);
  EXPECT_LE(fetches.load(), 4);  // late arrivals may start their own attempt
  EXPECT_EQ(log_lines_with("AWS credentials unavailable"), 1u);
}

// ---------------------------------------------------------------- nothing found

TEST_F(CredentialsTest, NothingFoundIsOneErrorListingEverySource) {
  env_.set("HOME", "/nonexistent-home");
  auto provider = chain();
  auto credentials = provider->get();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(credentials.error().user_message,
            "no AWS credentials found; environment: AWS_ACCESS_KEY_ID not set; "
            "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set; "
            "profile \"default\": no file at /nonexistent-home/.aws/credentials or "
            "/nonexistent-home/.aws/config; container: AWS_CONTAINER_CREDENTIALS_* not set; "
            "IMDS: disabled by AWS_EC2_METADATA_DISABLED");
  EXPECT_TRUE(http_.requests().empty());
  // Asked again, the same answer; the log has it once.
  EXPECT_EQ(provider->get().error(), credentials.error());
  EXPECT_EQ(log_lines_with("no AWS credentials found"), 1u);
}

TEST_F(CredentialsTest, WithoutHomeTheProfileSourceSaysSo) {
  core::MapEnvironment bare{{"AWS_EC2_METADATA_DISABLED", "TRUE"}};
  auto credentials =
      aws::make_default_credentials_chain(bare, http_, clock_, logger_, redactor_)->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message, HasSubstr("profile \"default\": HOME not set"));
}

// ---------------------------------------------------------------- secrets

TEST_F(CredentialsTest, NoSecretInAnyLogLineOrErrorAcrossTheFlows) {
  // Debug level is on (the fixture's logger), and TearDown checks every line.
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8080/creds");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", kAuthToken);
  http_.push(ok(creds_json(kTaskKeyId, kTaskSecret, kTaskToken, clock_.now() + 1h)));
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  clock_.advance(50min);
  http_.set_handler([](const Request&) {
    return test::ScriptedHttpClient::Answer(
        Response{500, {}, fmt::format(R"({{"code":"Boom","message":"{}"}})", kTaskSecret)});
  });
  EXPECT_TRUE(provider->get());
  clock_.advance(6min);
  auto failed = provider->get();
  ASSERT_FALSE(failed);
  EXPECT_TRUE(error_free_of_secrets(failed.error()));
  http_.set_handler(nullptr);
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  ASSERT_TRUE(provider->get());
  EXPECT_GE(sink_->lines().size(), 3u);
  for (const auto& line : sink_->lines()) EXPECT_TRUE(free_of_secrets(line));
}

// ---------------------------------------------------------------- the redactor learns them

// Each source's credentials, once the chain has returned them, are hidden by the redactor it
// was given (and not before: nothing else registered them).
enum class Source { environment, profile, container, imds };

struct LearnCase {
  const char* name;
  Source source;
  const char* key_id;
  const char* secret;
  const char* token;
};

class CredentialsAreRedacted : public CredentialsTest,
                               public testing::WithParamInterface<LearnCase> {
 protected:
  void arrange(const LearnCase& c) {
    switch (c.source) {
      case Source::environment:
        env_.set("AWS_ACCESS_KEY_ID", c.key_id);
        env_.set("AWS_SECRET_ACCESS_KEY", c.secret);
        env_.set("AWS_SESSION_TOKEN", c.token);
        break;
      case Source::profile:
        write(".aws/credentials",
              fmt::format("[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n"
                          "aws_session_token = {}\n",
                          c.key_id, c.secret, c.token));
        break;
      case Source::container:
        env_.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1");
        http_.push(ok(creds_json(c.key_id, c.secret, c.token, clock_.now() + 6h)));
        break;
      case Source::imds:
        env_.set("AWS_EC2_METADATA_DISABLED", "false");
        http_.push(ok(kImdsToken));
        http_.push(ok("infra-bot-role\n"));
        http_.push(ok(creds_json(c.key_id, c.secret, c.token, clock_.now() + 6h)));
        break;
    }
  }
};

TEST_P(CredentialsAreRedacted, OnceFetched) {
  const auto& c = GetParam();
  const auto text = fmt::format("Lambda error: {} / {} / {} end", c.key_id, c.secret, c.token);
  arrange(c);
  auto provider = chain();
  EXPECT_THAT(redactor_.redact(text), HasSubstr(c.secret));  // nothing registered them yet
  ASSERT_TRUE(provider->get());
  EXPECT_EQ(redactor_.redact(text),
            fmt::format("Lambda error: {}[REDACTED] / [REDACTED] / [REDACTED] end",
                        std::string_view(c.key_id).substr(0, 4)));
  EXPECT_EQ(redactor_.secret_count(), 3u);
}

INSTANTIATE_TEST_SUITE_P(
    Sources, CredentialsAreRedacted,
    testing::Values(LearnCase{"environment", Source::environment, kKeyId, kSecret, kToken},
                    LearnCase{"profile", Source::profile, kOtherKeyId, kOtherSecret, kToken},
                    LearnCase{"container", Source::container, kTaskKeyId, kTaskSecret, kTaskToken},
                    LearnCase{"imds", Source::imds, kNewKeyId, kNewSecret, kNewToken}),
    [](const testing::TestParamInfo<LearnCase>& case_info) {
      return std::string(case_info.param.name);
    });

TEST_F(CredentialsTest, RefreshedCredentialsAreRedactedAndTheOldOnesStayHidden) {
  use_container(1h);
  auto provider = chain();
  ASSERT_TRUE(provider->get());
  clock_.advance(46min);  // 14 min left: refreshed
  http_.push(ok(creds_json(kNewKeyId, kNewSecret, kNewToken, clock_.now() + 1h)));
  ASSERT_EQ(provider->get()->secret_access_key, kNewSecret);
  for (const auto* secret : {kNewSecret, kNewToken, kTaskSecret, kTaskToken}) {
    EXPECT_EQ(redactor_.redact(fmt::format("<{}>", secret)), "<[REDACTED]>") << secret;
  }
  EXPECT_EQ(redactor_.secret_count(), 6u);
}

TEST(StaticCredentials, ReturnsWhatItWasGiven) {
  const aws::Credentials given{kKeyId, kSecret, kToken, std::nullopt};
  auto provider = aws::make_static_credentials(given);
  EXPECT_EQ(*provider->get(), given);
  EXPECT_EQ(*provider->get(), given);
}

// ---------------------------------------------------------------- integration

// The real libcurl client against tests/fakes/credentials_fake.py on
// 127.0.0.1: the container endpoint with its Authorization check, and IMDSv2.
class CredentialsIntegration : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(fake_.port(), 0) << "credentials_fake.py did not start";
    base_ = fmt::format("http://127.0.0.1:{}", fake_.port());
    env_.set("HOME", "/nonexistent-home");
  }

  test::PythonFake fake_{std::string(FAKES_DIR) + "/credentials_fake.py",
                         {"--token", kAuthToken, "--role", "infra-bot-role"}};
  std::string base_;
  core::MapEnvironment env_;
  core::SystemClock clock_;
  std::unique_ptr<core::http::Client> http_ = core::http::make_curl_client({});
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ = core::make_logger("infra-bot", core::LogFormat::json,
                                              core::LogLevel::debug, {sink_}, core::Redactor());
  core::Redactor redactor_;
};

TEST_F(CredentialsIntegration, ContainerEndpointWithTheAuthorizationToken) {
  env_.set("AWS_EC2_METADATA_DISABLED", "true");
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/v2/credentials/task-1");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", kAuthToken);
  auto credentials =
      aws::make_default_credentials_chain(env_, *http_, clock_, logger_, redactor_)->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message << " / "
                           << credentials.error().detail;
  EXPECT_EQ(credentials->access_key_id, "ASIAFAKECONTAINER123");
  ASSERT_TRUE(credentials->expiration);
  EXPECT_GT(*credentials->expiration, clock_.now() + 50min);
  ASSERT_TRUE(fake_.wait_for_lines(1));
  EXPECT_THAT(fake_.lines()[0], HasSubstr(R"("path": "/v2/credentials/task-1")"));
  EXPECT_THAT(fake_.lines()[0], HasSubstr(R"("authorized": true)"));
  for (const auto& line : sink_->lines()) {
    EXPECT_TRUE(free_of_secrets(line));
    EXPECT_THAT(line, Not(HasSubstr(credentials->secret_access_key)));
  }
}

TEST_F(CredentialsIntegration, ContainerEndpointRefusesAWrongToken) {
  env_.set("AWS_EC2_METADATA_DISABLED", "true");
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/v2/credentials/task-1");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-right-token");
  auto credentials =
      aws::make_default_credentials_chain(env_, *http_, clock_, logger_, redactor_)->get();
  ASSERT_FALSE(credentials);
  EXPECT_THAT(credentials.error().user_message,
              HasSubstr(fmt::format("container: {} answered HTTP 401", base_)));
}

TEST_F(CredentialsIntegration, ImdsV2AgainstALoopbackFake) {
  env_.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", base_);
  auto credentials =
      aws::make_default_credentials_chain(env_, *http_, clock_, logger_, redactor_)->get();
  ASSERT_TRUE(credentials) << credentials.error().user_message << " / "
                           << credentials.error().detail;
  EXPECT_EQ(credentials->access_key_id, "ASIAFAKEINSTANCE1234");
  ASSERT_TRUE(fake_.wait_for_lines(3));
  const auto lines = fake_.lines();
  EXPECT_THAT(lines[0], HasSubstr(R"("method": "PUT", "path": "/latest/api/token")"));
  EXPECT_THAT(lines[0], HasSubstr(R"("ttl": "21600")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("path": "/latest/meta-data/iam/security-credentials/")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("authorized": true)"));
  EXPECT_THAT(lines[2],
              HasSubstr(R"("path": "/latest/meta-data/iam/security-credentials/infra-bot-role")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("authorized": true)"));
}

}  // namespace
