// The real stack against a fake Lambda over HTTPS on loopback: libcurl client,
// SigV4 signer and LambdaClient/LambdaBackend on one side, tests/fakes/fake_lambda.py
// on the other, which checks every request's signature with botocore
// (Debian's python3-botocore). Also the built binary: `console` on
// INFRA_BACKEND=lambda and `iam-policy`.
//
// No traffic leaves 127.0.0.1: every endpoint is the fake, every credential is
// explicit, and the default credential chain only ever runs with
// AWS_EC2_METADATA_DISABLED=true.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_clock.hpp"
#include "infra/lambda_backend.hpp"
#include "lambda_fixtures.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

namespace fixtures = test::lambda_fixtures;
using testing::AllOf;
using testing::HasSubstr;
using testing::Not;

constexpr const char* kAccessKey = "AKIDEXAMPLE";
constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kSessionToken = "FQoGZXIvYXdzEXAMPLETOKEN/with+slash=";

std::string temp_path(std::string_view stem) {
  static std::atomic<int> counter{0};
  return (std::filesystem::temp_directory_path() /
          fmt::format("infra-bot-lambda-{}-{}-{}", ::getpid(), ++counter, stem))
      .string();
}

// One request as the fake saw it.
struct Seen {
  rapidjson::Document line;
  std::string function() const {
    return std::string(core::json::get_string(line, "function").value_or(""));
  }
  bool verified() const { return core::json::get_bool(line, "verified").value_or(false); }
  std::string reason() const {
    return std::string(core::json::get_string(line, "reason").value_or(""));
  }
  std::string header(std::string_view name) const {
    const auto* headers = core::json::get_object(line, "headers");
    return headers == nullptr ? ""
                              : std::string(core::json::get_string(*headers, name).value_or(""));
  }
  std::string payload() const {
    const auto* payload = core::json::get_object(line, "payload");
    return payload == nullptr ? "" : core::json::canonical(*payload);
  }
  std::string get(std::string_view key) const {
    return std::string(core::json::get_string(line, key).value_or(""));
  }
};

/// fake_lambda.py with a script of answers, trusting only the test credentials.
class FakeLambda {
 public:
  explicit FakeLambda(const std::string& answers_json, bool with_session_token = false)
      : script_(temp_path("script.json")) {
    std::ofstream(script_) << R"({"answers": )" << answers_json << "}";
    const auto& tls = test::test_tls();
    std::string credentials = fmt::format("{}:{}", kAccessKey, kSecretKey);
    if (with_session_token) credentials += std::string(":") + kSessionToken;
    fake_ = std::make_unique<test::PythonFake>(
        std::string(FAKES_DIR) + "/fake_lambda.py",
        std::vector<std::string>{"--tls", tls.cert_file, tls.key_file, "--credentials", credentials,
                                 "--script", script_});
  }
  ~FakeLambda() {
    fake_.reset();
    std::error_code ec;
    std::filesystem::remove(script_, ec);
  }

  int port() const { return fake_->port(); }
  std::string endpoint() const { return fmt::format("https://127.0.0.1:{}", port()); }

  /// Every request so far (waits until at least `at_least` arrived).
  std::vector<Seen> requests(std::size_t at_least = 0) const {
    fake_->wait_for_lines(at_least, std::chrono::seconds(10));
    std::vector<Seen> out;
    for (const auto& text : fake_->lines()) {
      auto document = core::json::parse(text);
      if (document && document->IsObject()) out.push_back(Seen{std::move(document).value()});
    }
    return out;
  }

 private:
  std::string script_;
  std::unique_ptr<test::PythonFake> fake_;
};

/// Records backoff delays without sleeping (the real clock still signs).
class RecordingSleeper final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

/// The production objects, pointed at a fake.
struct Stack {
  explicit Stack(const FakeLambda& fake,
                 aws::Credentials credentials = {kAccessKey, kSecretKey, "", std::nullopt})
      : http(core::http::make_curl_client(core::http::CurlSettings{test::test_tls().ca_file})),
        credentials_provider(aws::make_static_credentials(std::move(credentials))),
        lambda(settings(fake), *http, *credentials_provider, clock, sleeper,
               core::make_null_logger()),
        orchestrator(*aws::parse_function_ref(fixtures::kOrchestratorArn, "")),
        whitelist(*aws::parse_function_ref(fixtures::kWhitelistArn, "")) {}

  static aws::LambdaSettings settings(const FakeLambda& fake) {
    aws::LambdaSettings out;
    out.endpoint_url = fake.endpoint();
    out.connect_timeout = std::chrono::seconds(5);
    return out;
  }

  aws::InvokeRequest request(aws::Idempotency idempotency,
                             std::string payload = R"({"action":"status","environment":"dev"})") {
    aws::InvokeRequest out;
    out.function = orchestrator;
    out.payload = std::move(payload);
    out.idempotency = idempotency;
    out.timeout = std::chrono::seconds(20);
    return out;
  }

  core::SystemClock clock;
  RecordingSleeper sleeper;
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials_provider;
  aws::LambdaClient lambda;
  aws::FunctionRef orchestrator;
  aws::FunctionRef whitelist;
};

void expect_all_verified(const std::vector<Seen>& seen) {
  for (const auto& request : seen) {
    EXPECT_TRUE(request.verified()) << "fake rejected the signature: " << request.reason();
    EXPECT_EQ(request.get("region"), "eu-west-1");
    EXPECT_EQ(request.get("service"), "lambda");
  }
}

class LambdaIntegration : public testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  }
};

// ----------------------------------------------------------- LambdaClient

TEST_F(LambdaIntegration, SuccessIsSignedAndVerified) {
  FakeLambda fake(R"([{"function": "infra-orchestrator",
                       "json": {"ok": true, "environment": "dev"}}])");
  ASSERT_NE(fake.port(), 0) << "fake_lambda.py did not start";
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::read_only));
  ASSERT_TRUE(outcome) << outcome.error().detail;
  const auto* success = std::get_if<aws::InvokeSuccess>(&*outcome);
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(success->status, 200);
  EXPECT_EQ(success->payload, R"({"ok":true,"environment":"dev"})");
  EXPECT_EQ(success->executed_version, "$LATEST");

  const auto seen = fake.requests(1);
  ASSERT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
  const auto& request = seen[0];
  EXPECT_EQ(request.function(), "infra-orchestrator");
  EXPECT_EQ(request.get("function_ref"), fixtures::kOrchestratorArn);
  EXPECT_EQ(request.get("path"),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3A"
            "infra-orchestrator/invocations");
  EXPECT_EQ(request.header("host"), fmt::format("127.0.0.1:{}", fake.port()));
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.header("x-amz-invocation-type"), "RequestResponse");
  EXPECT_EQ(request.header("expect"), "");
  EXPECT_EQ(request.get("invocation_type"), "RequestResponse");
}

TEST_F(LambdaIntegration, SessionTokenIsSignedAndVerified) {
  FakeLambda fake(R"([{"json": {"ok": true}}])", /*with_session_token=*/true);
  Stack stack(fake, aws::Credentials{kAccessKey, kSecretKey, kSessionToken, std::nullopt});
  ASSERT_TRUE(stack.lambda.invoke(stack.request(aws::Idempotency::mutating)));
  const auto seen = fake.requests(1);
  ASSERT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
  EXPECT_EQ(seen[0].header("x-amz-security-token"), kSessionToken);
}

TEST_F(LambdaIntegration, WrongSecretIsRejectedByTheFake) {
  // Proves the fake really checks: a signature with another secret fails.
  FakeLambda fake(R"([{"json": {"ok": true}}])");
  Stack stack(fake, aws::Credentials{kAccessKey, "not-the-secret-key-at-all", "", std::nullopt});
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_THAT(outcome.error().detail, HasSubstr("InvalidSignatureException"));
  const auto seen = fake.requests(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].verified());
  EXPECT_THAT(seen[0].reason(), HasSubstr("signature mismatch"));
}

TEST_F(LambdaIntegration, FunctionError) {
  FakeLambda fake(R"([{"function_error": "Unhandled",
                       "json": {"errorType": "KeyError", "errorMessage": "'environment'",
                                "stackTrace": ["  File \"/var/task/app.py\", line 3"]}}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::mutating));
  ASSERT_TRUE(outcome) << outcome.error().detail;
  const auto* error = std::get_if<aws::FunctionError>(&*outcome);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->kind, "Unhandled");
  EXPECT_EQ(error->error_type, "KeyError");
  EXPECT_EQ(error->error_message, "'environment'");
  const auto seen = fake.requests(1);
  EXPECT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
}

TEST_F(LambdaIntegration, ThrottledThenSuccessHonoursRetryAfter) {
  FakeLambda fake(R"([
      {"times": 1, "status": 429, "error_type": "TooManyRequestsException",
       "message": "Rate exceeded", "headers": {"Retry-After": "1"}},
      {"json": {"ok": true, "environment": "dev"}}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::mutating));
  ASSERT_TRUE(outcome) << outcome.error().detail;
  EXPECT_THAT(stack.sleeper.sleeps(), testing::ElementsAre(std::chrono::milliseconds(1000)));
  const auto seen = fake.requests(2);
  ASSERT_EQ(seen.size(), 2u);
  expect_all_verified(seen);
  EXPECT_EQ(seen[0].payload(), seen[1].payload()) << "every attempt carries the same payload";
  EXPECT_EQ(core::json::get_int(seen[0].line, "answer_status"), 429);
  EXPECT_EQ(core::json::get_int(seen[1].line, "answer_status"), 200);
}

TEST_F(LambdaIntegration, ServerErrorMutatingIsNotRetried) {
  FakeLambda fake(R"([{"status": 500, "error_type": "ServiceException",
                       "message": "Internal failure"}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::mutating));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(outcome.error().user_message,
              AllOf(HasSubstr("may or may not have run"), HasSubstr("/infra status")));
  EXPECT_THAT(outcome.error().detail,
              AllOf(HasSubstr("ServiceException"), HasSubstr("status=500"),
                    HasSubstr("Internal failure"), HasSubstr("attempts=1")));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto seen = fake.requests(1);
  EXPECT_EQ(seen.size(), 1u) << "a mutating call must not be re-sent after a 500";
  expect_all_verified(seen);
}

TEST_F(LambdaIntegration, ServerErrorReadOnlyGivesUpAfterMaxAttempts) {
  FakeLambda fake(R"([{"status": 500, "error_type": "ServiceException",
                       "message": "Internal failure"}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("internal error (Service)"));
  EXPECT_THAT(outcome.error().detail, HasSubstr("attempts=3"));
  const auto seen = fake.requests(3);
  EXPECT_EQ(seen.size(), 3u);
  expect_all_verified(seen);
  EXPECT_EQ(stack.sleeper.sleeps().size(), 2u);
}

TEST_F(LambdaIntegration, TimeoutMutatingIsIndeterminateAndNotRetried) {
  FakeLambda fake(R"([{"delay_ms": 3000, "json": {"ok": true}}])");
  Stack stack(fake);
  auto request = stack.request(aws::Idempotency::mutating);
  request.timeout = std::chrono::seconds(1);
  const auto started = std::chrono::steady_clock::now();
  auto outcome = stack.lambda.invoke(request);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("may or may not have run"));
  EXPECT_LT(took, std::chrono::milliseconds(2900)) << "the 1 s timeout was not applied";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto seen = fake.requests(1);
  EXPECT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
}

TEST_F(LambdaIntegration, TimeoutReadOnlyIsRetried) {
  FakeLambda fake(R"([{"times": 1, "delay_ms": 3000, "json": {"ok": true, "slow": true}},
                      {"json": {"ok": true}}])");
  Stack stack(fake);
  auto request = stack.request(aws::Idempotency::read_only);
  request.timeout = std::chrono::seconds(1);
  auto outcome = stack.lambda.invoke(request);
  ASSERT_TRUE(outcome) << outcome.error().detail;
  EXPECT_EQ(std::get<aws::InvokeSuccess>(*outcome).payload, R"({"ok":true})");
  const auto seen = fake.requests(2);
  EXPECT_EQ(seen.size(), 2u);
  expect_all_verified(seen);
}

TEST_F(LambdaIntegration, NotFound) {
  FakeLambda fake(R"([{"status": 404, "error_type": "ResourceNotFoundException",
                       "message": "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(outcome.error().user_message,
            "Lambda function `infra-orchestrator` not found in eu-west-1.");
  EXPECT_THAT(outcome.error().detail, HasSubstr("request_id="));
  EXPECT_THAT(outcome.error().detail, Not(HasSubstr("request_id=-")));
  EXPECT_EQ(fake.requests(1).size(), 1u);
}

TEST_F(LambdaIntegration, AccessDenied) {
  FakeLambda fake(R"([{"status": 403, "error_type": "AccessDeniedException",
                       "message": "User is not authorized to perform: lambda:InvokeFunction"}])");
  Stack stack(fake);
  auto outcome = stack.lambda.invoke(stack.request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_EQ(outcome.error().user_message,
            "infra-bot's AWS role may not invoke `infra-orchestrator` (AccessDenied).");
  const auto seen = fake.requests(1);
  EXPECT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
}

// ------------------------------------------------------------ LambdaBackend

class BackendIntegration : public LambdaIntegration {
 protected:
  infra::LambdaBackend backend(Stack& stack) {
    infra::LambdaBackendSettings settings;
    settings.orchestrator = stack.orchestrator;
    settings.whitelist = stack.whitelist;
    return infra::LambdaBackend(settings, stack.lambda, clock_, core::make_null_logger());
  }
  test::FakeClock clock_;  // whitelist expiry fallbacks match the fixtures
};

TEST_F(BackendIntegration, SixMegabyteResponse) {
  FakeLambda fake(R"([{"pad_to": 6000000, "json": {"ok": true, "environment": "dev",
      "ecs_services": [{"name": "api", "status": "RUNNING", "desired_count": 2,
                        "running_count": 2}],
      "rds_instances": []}}])");
  Stack stack(fake);
  auto lambda_backend = backend(stack);
  auto status = lambda_backend.status("dev", fixtures::fixed_context());
  ASSERT_TRUE(status) << status.error().detail;
  EXPECT_EQ(status->environment, "dev");
  ASSERT_EQ(status->ecs_services.size(), 1u);
  EXPECT_EQ(status->ecs_services[0].running_count, 2);
  expect_all_verified(fake.requests(1));
}

TEST_F(BackendIntegration, MalformedJsonResponse) {
  FakeLambda fake(R"([{"body": "{\"ok\": true, \"environment\": \"dev\", \"ecs_serv"}])");
  Stack stack(fake);
  auto lambda_backend = backend(stack);
  auto status = lambda_backend.status("dev", fixtures::fixed_context());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::internal);
  EXPECT_EQ(status.error().user_message,
            "The orchestrator sent an answer infra-bot could not read.");
  EXPECT_EQ(fake.requests(1).size(), 1u);
}

TEST_F(BackendIntegration, EveryFixtureThroughTheFake) {
  // One answer per fixture, served in order; each case makes exactly one call.
  const auto names = fixtures::case_names();
  std::vector<fixtures::Case> cases;
  rapidjson::Document answers(rapidjson::kArrayType);
  auto& alloc = answers.GetAllocator();
  for (const auto& name : names) {
    cases.push_back(fixtures::load(name));
    const auto& c = cases.back();
    rapidjson::Value answer(rapidjson::kObjectType);
    answer.AddMember("times", 1, alloc);
    answer.AddMember(
        "function",
        rapidjson::Value(c.whitelist ? "infra-ip-whitelist" : "infra-orchestrator", alloc), alloc);
    answer.AddMember("body", rapidjson::Value(c.response.c_str(), alloc), alloc);
    rapidjson::Value headers(rapidjson::kObjectType);
    for (const auto& [key, value] : c.response_headers) {
      headers.AddMember(rapidjson::Value(key.c_str(), alloc),
                        rapidjson::Value(value.c_str(), alloc), alloc);
    }
    answer.AddMember("headers", headers, alloc);
    answers.PushBack(answer, alloc);
  }
  FakeLambda fake(core::json::to_string(answers));
  ASSERT_NE(fake.port(), 0);
  Stack stack(fake);
  auto lambda_backend = backend(stack);

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE("fixture " + c.name);
    const auto got = fixtures::run_case(lambda_backend, c, fixtures::fixed_context());
    const auto seen = fake.requests(i + 1);
    ASSERT_EQ(seen.size(), i + 1) << "one request per fixture";
    const auto& request = seen[i];
    EXPECT_TRUE(request.verified()) << request.reason();
    EXPECT_EQ(request.function(), c.whitelist ? "infra-ip-whitelist" : "infra-orchestrator");
    EXPECT_EQ(request.payload(), *core::json::canonicalize(c.request));
    EXPECT_EQ(got, c.expected);
  }
}

// -------------------------------------------------------------- the binary

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Run run_binary(const std::vector<std::string>& env, const std::string& arguments) {
  const auto out_file = temp_path("stdout.txt");
  const auto err_file = temp_path("stderr.txt");
  std::string command = "env -i";
  for (const auto& item : env) command += " " + shell_quote(item);
  command += fmt::format(" {} {} < /dev/null > {} 2> {}", shell_quote(INFRA_BOT_BINARY), arguments,
                         shell_quote(out_file), shell_quote(err_file));
  Run run;
  const int status = std::system(command.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = fixtures::read_text(out_file);
  run.err = fixtures::read_text(err_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(err_file);
  return run;
}

std::vector<std::string> lambda_env(const FakeLambda& fake) {
  return {
      std::string("ORCHESTRATOR_LAMBDA_ARN=") + fixtures::kOrchestratorArn,
      std::string("IP_WHITELIST_LAMBDA_ARN=") + fixtures::kWhitelistArn,
      "INFRA_BACKEND=lambda",
      "AWS_ENDPOINT_URL_LAMBDA=" + fake.endpoint(),
      "SSL_CERT_FILE=" + test::test_tls().ca_file,
      std::string("AWS_ACCESS_KEY_ID=") + kAccessKey,
      std::string("AWS_SECRET_ACCESS_KEY=") + kSecretKey,
      "AWS_EC2_METADATA_DISABLED=true",
      "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials",
      "AWS_CONFIG_FILE=/nonexistent/config",
  };
}

TEST_F(LambdaIntegration, ConsoleDrivesTheLambdaBackend) {
  const auto status = fixtures::load("status");
  FakeLambda fake(
      fmt::format(R"([{{"function": "infra-orchestrator", "match": {{"action": "status"}},
                                    "body": {}}}])",
                  core::json::quote(status.response)));
  ASSERT_NE(fake.port(), 0);
  const auto run = run_binary(lambda_env(fake), "console -c " + shell_quote("/infra status dev"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("Infrastructure Status: DEV"), HasSubstr("api - RUNNING"),
                             HasSubstr("worker - RUNNING (running: 0, desired: 1)"),
                             HasSubstr("docustack-dev-db - available")))
      << run.out;
  EXPECT_THAT(run.err, AllOf(Not(HasSubstr(kSecretKey)), Not(HasSubstr("Signature="))));

  const auto seen = fake.requests(1);
  ASSERT_EQ(seen.size(), 1u);
  expect_all_verified(seen);
  const auto* payload = core::json::get_object(seen[0].line, "payload");
  ASSERT_NE(payload, nullptr);
  EXPECT_EQ(core::json::get_string(*payload, "action"), "status");
  EXPECT_EQ(core::json::get_string(*payload, "environment"), "dev");
  EXPECT_EQ(core::json::get_string(*payload, "source"), "slack");
  const auto* who = core::json::get_object(*payload, "requested_by");
  ASSERT_NE(who, nullptr);
  EXPECT_EQ(core::json::get_string(*who, "user_id"), "console");
  EXPECT_FALSE(core::json::get_string(*payload, "request_id").value_or("").empty());
}

// Issue 16: IP_WHITELIST_LAMBDA_ARN is optional; the console (as the
// service) then refuses whitelist commands in one line and calls no Lambda.
TEST_F(LambdaIntegration, WithoutAWhitelistLambdaWhitelistCommandsAreRefused) {
  FakeLambda fake("[]");
  ASSERT_NE(fake.port(), 0);
  auto env = lambda_env(fake);
  std::erase_if(
      env, [](const std::string& entry) { return entry.starts_with("IP_WHITELIST_LAMBDA_ARN="); });
  const auto run = run_binary(env, "console -c " + shell_quote("/infra whitelist list dev"));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.out, HasSubstr("IP whitelist commands are not set up for this bot: it has no "
                                 "IP whitelist Lambda (an operator sets IP_WHITELIST_LAMBDA_ARN)."))
      << run.out;
  EXPECT_TRUE(fake.requests(0).empty());
}

TEST_F(LambdaIntegration, ConsoleShowsALambdaFailure) {
  FakeLambda fake(R"([{"status": 404, "error_type": "ResourceNotFoundException",
                       "message": "Function not found"}])");
  const auto run = run_binary(lambda_env(fake), "console -c " + shell_quote("/infra stop dev"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("Lambda function `infra-orchestrator` not found in eu-west-1."));
  expect_all_verified(fake.requests(1));
}

TEST(IamPolicyCommand, PrintsThePolicyForTheConfiguredArns) {
  const auto run =
      run_binary({std::string("ORCHESTRATOR_LAMBDA_ARN=") + fixtures::kOrchestratorArn,
                  std::string("IP_WHITELIST_LAMBDA_ARN=") + fixtures::kWhitelistArn + ":live"},
                 "iam-policy");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto policy = core::json::parse(run.out);
  ASSERT_TRUE(policy) << run.out;
  EXPECT_EQ(core::json::get_string(*policy, "Version"), "2012-10-17");
  const auto& statement = (*policy)["Statement"][0];
  EXPECT_EQ(core::json::get_string(statement, "Action"), "lambda:InvokeFunction");
  std::vector<std::string> resources;
  for (const auto& item : statement["Resource"].GetArray())
    resources.emplace_back(item.GetString());
  EXPECT_THAT(resources, testing::ElementsAre(std::string(fixtures::kOrchestratorArn),
                                              std::string(fixtures::kOrchestratorArn) + ":*",
                                              std::string(fixtures::kWhitelistArn) + ":live"));
}

// Without an IP whitelist Lambda (issue 16) the policy allows the orchestrator alone.
TEST(IamPolicyCommand, WithoutAWhitelistLambdaAllowsTheOrchestratorAlone) {
  const auto run = run_binary(
      {std::string("ORCHESTRATOR_LAMBDA_ARN=") + fixtures::kOrchestratorArn}, "iam-policy");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto policy = core::json::parse(run.out);
  ASSERT_TRUE(policy) << run.out;
  std::vector<std::string> resources;
  for (const auto& item : (*policy)["Statement"][0]["Resource"].GetArray())
    resources.emplace_back(item.GetString());
  EXPECT_THAT(resources, testing::ElementsAre(std::string(fixtures::kOrchestratorArn),
                                              std::string(fixtures::kOrchestratorArn) + ":*"));
}

TEST(IamPolicyCommand, MissingOrBareArnExitsTwo) {
  const auto missing =
      run_binary({std::string("IP_WHITELIST_LAMBDA_ARN=") + fixtures::kWhitelistArn}, "iam-policy");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("ORCHESTRATOR_LAMBDA_ARN is not set"));
  EXPECT_TRUE(missing.out.empty());

  const auto bare =
      run_binary({"ORCHESTRATOR_LAMBDA_ARN=infra-orchestrator", "AWS_REGION=eu-west-1",
                  std::string("IP_WHITELIST_LAMBDA_ARN=") + fixtures::kWhitelistArn},
                 "iam-policy");
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_THAT(bare.err, AllOf(HasSubstr("ORCHESTRATOR_LAMBDA_ARN"), HasSubstr("full ARN")));
  EXPECT_TRUE(bare.out.empty());
}

}  // namespace
