// aws::LambdaClient against a scripted HTTP client: the request it builds, how
// it reads answers and errors, the retry/idempotency matrix, the payload
// limits, and the IAM policy document. No sockets, no sleeping.
#include "aws/lambda_client.hpp"

#include <atomic>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/function_ref.hpp"
#include "aws/sigv4.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "fake_clock.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

using testing::AllOf;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

constexpr const char* kAccessKey = "AKIDEXAMPLE";
constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kSessionToken = "SESSIONTOKEN-abcdefghijklmnop";
constexpr const char* kArn = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
constexpr const char* kEncodedArn =
    "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Ainfra-orchestrator";

/// Records each sleep and moves the fake clock by it (as real time would).
class RecordingSleeper final : public aws::Sleeper {
 public:
  explicit RecordingSleeper(test::FakeClock& clock) : clock_(clock) {}
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
    clock_.advance(duration);
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  test::FakeClock& clock_;
  mutable std::mutex mutex_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

/// Static credentials that count how often they were asked for.
class CountingCredentials final : public aws::CredentialsProvider {
 public:
  explicit CountingCredentials(aws::Credentials credentials)
      : inner_(aws::make_static_credentials(std::move(credentials))) {}
  core::Result<aws::Credentials> get() override {
    ++calls_;
    if (fail_) {
      return core::make_error(core::ErrorCode::unavailable,
                              "No AWS credentials found (tried: environment, profile).",
                              "chain exhausted");
    }
    return inner_->get();
  }
  int calls() const { return calls_; }
  void fail() { fail_ = true; }

 private:
  std::unique_ptr<aws::CredentialsProvider> inner_;
  std::atomic<int> calls_{0};
  bool fail_ = false;
};

core::http::Response response(long status, std::string body, core::http::Headers headers = {}) {
  return core::http::Response{status, std::move(headers), std::move(body)};
}

core::http::Response aws_error(long status, std::string type, std::string message = "oops") {
  return response(status, fmt::format(R"({{"Type":"User","message":"{}"}})", message),
                  {{"x-amzn-RequestId", "11111111-2222-3333-4444-555555555555"},
                   {"x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazonaws/"},
                   {"Content-Type", "application/json"}});
}

std::optional<std::string> header_of(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (core::to_lower(key) == core::to_lower(name)) return value;
  }
  return std::nullopt;
}

class LambdaClientTest : public testing::Test {
 protected:
  LambdaClientTest()
      : credentials_(aws::Credentials{kAccessKey, kSecretKey, "", std::nullopt}),
        sleeper_(clock_),
        sink_(std::make_shared<test::RecordingSink>()) {
    logger_ = core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink_},
                                core::Redactor({kSecretKey, kSessionToken}));
    function_ = *aws::parse_function_ref(kArn, "");
  }

  aws::LambdaClient& client(std::string endpoint_url = "") {
    aws::LambdaSettings settings;
    settings.endpoint_url = std::move(endpoint_url);
    settings.connect_timeout = std::chrono::milliseconds(4000);
    client_ = std::make_unique<aws::LambdaClient>(settings, http_, credentials_, clock_, sleeper_,
                                                  logger_);
    return *client_;
  }

  aws::InvokeRequest request(aws::Idempotency idempotency = aws::Idempotency::mutating) {
    aws::InvokeRequest out;
    out.function = function_;
    out.payload = R"({"action":"status","environment":"dev","request_id":"req-1"})";
    out.idempotency = idempotency;
    out.timeout = std::chrono::seconds(910);
    return out;
  }

  std::vector<std::string> lines_with(std::string_view level) {
    std::vector<std::string> out;
    for (const auto& line : sink_->lines()) {
      if (line.find(fmt::format(" {} ", level)) != std::string::npos) out.push_back(line);
    }
    return out;
  }

  test::ScriptedHttpClient http_;
  test::FakeClock clock_;
  CountingCredentials credentials_;
  RecordingSleeper sleeper_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  aws::FunctionRef function_;
  std::unique_ptr<aws::LambdaClient> client_;
};

// ---------------------------------------------------------------- the request

TEST_F(LambdaClientTest, BuildsASignedInvokeRequest) {
  http_.push(response(200, R"({"ok":true})", {{"X-Amz-Executed-Version", "$LATEST"}}));
  auto outcome = client().invoke(request());
  ASSERT_TRUE(outcome) << outcome.error().detail;

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& sent = requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, fmt::format("https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/{}"
                                  "/invocations",
                                  kEncodedArn));
  EXPECT_EQ(sent.body, request().payload);
  EXPECT_EQ(header_of(sent, "Host"), "lambda.eu-west-1.amazonaws.com");
  EXPECT_EQ(header_of(sent, "Content-Type"), "application/json");
  EXPECT_EQ(header_of(sent, "X-Amz-Invocation-Type"), "RequestResponse");
  EXPECT_EQ(header_of(sent, "X-Amz-Date"), "20260101T000000Z");
  EXPECT_FALSE(header_of(sent, "X-Amz-Security-Token"));
  const auto authorization = header_of(sent, "Authorization");
  ASSERT_TRUE(authorization);
  EXPECT_THAT(*authorization,
              AllOf(StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/"
                               "lambda/aws4_request, SignedHeaders="),
                    HasSubstr("host"), HasSubstr("x-amz-date"), HasSubstr("x-amz-invocation-type"),
                    HasSubstr(", Signature=")));
  // Never a request id of our own (Lambda rejects a non-UUID x-amzn-RequestId).
  EXPECT_FALSE(header_of(sent, "x-amzn-RequestId"));
  EXPECT_EQ(sent.total_timeout, std::chrono::seconds(910));
  EXPECT_EQ(sent.connect_timeout, std::chrono::milliseconds(4000));
}

TEST_F(LambdaClientTest, SignatureMatchesTheSignerOnTheSameRequest) {
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request()));
  const auto sent = http_.requests().at(0);
  aws::sigv4::Request to_sign{"POST",
                              fmt::format("/2015-03-31/functions/{}/invocations", kEncodedArn),
                              "",
                              {{"Host", "lambda.eu-west-1.amazonaws.com"},
                               {"Content-Type", "application/json"},
                               {"X-Amz-Invocation-Type", "RequestResponse"}},
                              sent.body};
  const auto expected =
      aws::sigv4::sign(to_sign, aws::Credentials{kAccessKey, kSecretKey, "", std::nullopt},
                       aws::sigv4::Options{"eu-west-1"}, clock_.now());
  for (const auto& [name, value] : expected.headers)
    EXPECT_EQ(header_of(sent, name), value) << name;
}

TEST_F(LambdaClientTest, SessionTokenIsSentAndSigned) {
  CountingCredentials with_token(
      aws::Credentials{kAccessKey, kSecretKey, kSessionToken, std::nullopt});
  aws::LambdaClient lambda({}, http_, with_token, clock_, sleeper_, logger_);
  http_.push(response(200, "{}"));
  ASSERT_TRUE(lambda.invoke(request()));
  const auto sent = http_.requests().at(0);
  EXPECT_EQ(header_of(sent, "X-Amz-Security-Token"), kSessionToken);
  EXPECT_THAT(*header_of(sent, "Authorization"), HasSubstr("x-amz-security-token"));
}

TEST_F(LambdaClientTest, QualifiedArnTravelsInThePath) {
  function_ = *aws::parse_function_ref(std::string(kArn) + ":live", "");
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request()));
  EXPECT_THAT(http_.requests().at(0).url,
              HasSubstr(std::string(kEncodedArn) + "%3Alive/invocations"));
  EXPECT_THAT(http_.requests().at(0).url, Not(HasSubstr("?")));
}

TEST_F(LambdaClientTest, BareNameUsesTheDefaultRegion) {
  function_ = *aws::parse_function_ref("infra-orchestrator:v2", "us-east-1");
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request()));
  const auto sent = http_.requests().at(0);
  EXPECT_EQ(sent.url,
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
            "infra-orchestrator%3Av2/invocations");
  EXPECT_THAT(*header_of(sent, "Authorization"), HasSubstr("/us-east-1/lambda/aws4_request"));
}

TEST_F(LambdaClientTest, EndpointOverrideWithPortGoesIntoHost) {
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client("https://127.0.0.1:8443/").invoke(request()));
  const auto sent = http_.requests().at(0);
  EXPECT_EQ(sent.url,
            fmt::format("https://127.0.0.1:8443/2015-03-31/functions/{}/invocations", kEncodedArn));
  EXPECT_EQ(header_of(sent, "Host"), "127.0.0.1:8443");
  // Signed for the ARN's region, whatever the endpoint.
  EXPECT_THAT(*header_of(sent, "Authorization"), HasSubstr("/eu-west-1/lambda/"));
}

TEST_F(LambdaClientTest, DefaultPortIsLeftOutOfHost) {
  http_.push(response(200, "{}"));
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client("https://Lambda.Example.COM:443").invoke(request()));
  ASSERT_TRUE(client("http://localhost:80/prefix/").invoke(request()));
  const auto requests = http_.requests();
  EXPECT_EQ(header_of(requests[0], "Host"), "lambda.example.com");
  EXPECT_THAT(requests[0].url, StartsWith("https://Lambda.Example.COM:443/2015-03-31/"));
  EXPECT_EQ(header_of(requests[1], "Host"), "localhost");
  EXPECT_THAT(requests[1].url, StartsWith("http://localhost:80/prefix/2015-03-31/functions/"));
}

TEST_F(LambdaClientTest, BadEndpointOverrideIsAConfigError) {
  auto outcome = client("ftp://example.com").invoke(request());
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::config);
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(LambdaClientTest, EndpointFor) {
  auto& lambda = client();
  EXPECT_EQ(lambda.endpoint_for(function_), "https://lambda.eu-west-1.amazonaws.com");
  auto china = *aws::parse_function_ref(
      "arn:aws-cn:lambda:cn-north-1:123456789012:function:orchestrator", "");
  EXPECT_EQ(lambda.endpoint_for(china), "https://lambda.cn-north-1.amazonaws.com.cn");
  auto bare = *aws::parse_function_ref("orchestrator", "cn-northwest-1");
  EXPECT_EQ(lambda.endpoint_for(bare), "https://lambda.cn-northwest-1.amazonaws.com.cn");
  auto gov = *aws::parse_function_ref(
      "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:orchestrator", "");
  EXPECT_EQ(lambda.endpoint_for(gov), "https://lambda.us-gov-west-1.amazonaws.com");
  EXPECT_EQ(client("https://127.0.0.1:9000/").endpoint_for(function_), "https://127.0.0.1:9000");
}

TEST_F(LambdaClientTest, EventInvocation) {
  http_.push(response(202, ""));
  auto invoke = request();
  invoke.type = aws::InvocationType::event;
  auto outcome = client().invoke(invoke);
  ASSERT_TRUE(outcome);
  const auto& success = std::get<aws::InvokeSuccess>(*outcome);
  EXPECT_EQ(success.status, 202);
  EXPECT_EQ(header_of(http_.requests().at(0), "X-Amz-Invocation-Type"), "Event");
}

// Issue 16 (doctor): DryRun checks permission and existence; Lambda answers 204, no body.
TEST_F(LambdaClientTest, DryRunInvocation) {
  http_.push(response(204, ""));
  auto invoke = request();
  invoke.type = aws::InvocationType::dry_run;
  auto outcome = client().invoke(invoke);
  ASSERT_TRUE(outcome);
  const auto& success = std::get<aws::InvokeSuccess>(*outcome);
  EXPECT_EQ(success.status, 204);
  EXPECT_EQ(success.payload, "");
  EXPECT_EQ(header_of(http_.requests().at(0), "X-Amz-Invocation-Type"), "DryRun");
}

// ------------------------------------------------------------- payload limits

TEST_F(LambdaClientTest, SynchronousPayloadLimitIsCheckedBeforeSending) {
  auto& lambda = client();
  auto invoke = request();
  invoke.payload = std::string(6'291'456, ' ');
  http_.push(response(200, "{}"));
  EXPECT_TRUE(lambda.invoke(invoke));  // exactly at the limit: sent

  invoke.payload.push_back(' ');
  auto outcome = lambda.invoke(invoke);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("6291456"));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LambdaClientTest, EventPayloadLimitIsOneMegabyte) {
  auto invoke = request();
  invoke.type = aws::InvocationType::event;
  invoke.payload = std::string(1'048'577, ' ');
  auto outcome = client().invoke(invoke);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("asynchronous"));
  EXPECT_TRUE(http_.requests().empty());
}

// ------------------------------------------------------------------- answers

TEST_F(LambdaClientTest, SuccessCarriesPayloadAndExecutedVersion) {
  http_.push(response(200, R"({"ok":true,"environment":"dev"})",
                      {{"x-amz-executed-version", "7"}, {"x-amzn-RequestId", "abc"}}));
  auto outcome = client().invoke(request());
  ASSERT_TRUE(outcome);
  const auto& success = std::get<aws::InvokeSuccess>(*outcome);
  EXPECT_EQ(success.status, 200);
  EXPECT_EQ(success.payload, R"({"ok":true,"environment":"dev"})");
  EXPECT_EQ(success.executed_version, "7");
}

TEST_F(LambdaClientTest, FunctionErrorNodeStyle) {
  http_.push(response(
      200, R"({"errorType":"ReferenceError","errorMessage":"x is not defined","trace":["a","b"]})",
      {{"X-Amz-Function-Error", "Unhandled"}}));
  auto outcome = client().invoke(request());
  ASSERT_TRUE(outcome);
  const auto* error = std::get_if<aws::FunctionError>(&*outcome);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->kind, "Unhandled");
  EXPECT_EQ(error->error_type, "ReferenceError");
  EXPECT_EQ(error->error_message, "x is not defined");
  EXPECT_THAT(error->payload, HasSubstr("trace"));
  EXPECT_EQ(http_.requests().size(), 1u);  // a function error is an answer: no retry
}

TEST_F(LambdaClientTest, FunctionErrorPythonStyleAndPartialBodies) {
  http_.push(response(
      200, R"({"errorMessage":"'action'","errorType":"KeyError","stackTrace":["  File x"]})",
      {{"X-Amz-Function-Error", "Handled"}}));
  http_.push(response(200, R"({"errorMessage":"Unable to import module"})",
                      {{"X-Amz-Function-Error", "Unhandled"}}));
  http_.push(response(200, "not json at all", {{"X-Amz-Function-Error", "Unhandled"}}));
  http_.push(response(200, R"("boom")", {{"X-Amz-Function-Error", "Unhandled"}}));
  auto& lambda = client();

  auto python = lambda.invoke(request());
  ASSERT_TRUE(python);
  EXPECT_EQ(std::get<aws::FunctionError>(*python).error_type, "KeyError");
  EXPECT_EQ(std::get<aws::FunctionError>(*python).kind, "Handled");

  auto no_type = lambda.invoke(request());
  ASSERT_TRUE(no_type);
  EXPECT_EQ(std::get<aws::FunctionError>(*no_type).error_type, "");
  EXPECT_EQ(std::get<aws::FunctionError>(*no_type).error_message, "Unable to import module");

  auto garbage = lambda.invoke(request());
  ASSERT_TRUE(garbage);
  EXPECT_EQ(std::get<aws::FunctionError>(*garbage).error_message, "");
  EXPECT_EQ(std::get<aws::FunctionError>(*garbage).payload, "not json at all");

  auto bare_string = lambda.invoke(request());
  ASSERT_TRUE(bare_string);
  EXPECT_EQ(std::get<aws::FunctionError>(*bare_string).error_message, "boom");
}

TEST_F(LambdaClientTest, EmptyFunctionErrorHeaderIsASuccess) {
  http_.push(response(200, "{}", {{"X-Amz-Function-Error", ""}}));
  auto outcome = client().invoke(request());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(std::holds_alternative<aws::InvokeSuccess>(*outcome));
}

// ------------------------------------------------------------- error mapping

TEST_F(LambdaClientTest, NotFound) {
  http_.push(aws_error(404, "ResourceNotFoundException", "Function not found: arn:…"));
  auto outcome = client().invoke(request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(outcome.error().user_message,
            "Lambda function `infra-orchestrator` not found in eu-west-1.");
  EXPECT_THAT(
      outcome.error().detail,
      AllOf(HasSubstr("type=ResourceNotFoundException"), HasSubstr("status=404"),
            HasSubstr("Function not found"),
            HasSubstr("request_id=11111111-2222-3333-4444-555555555555"), HasSubstr("attempts=1")));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LambdaClientTest, AccessDenied) {
  http_.push(aws_error(403, "AccessDeniedException"));
  auto outcome = client().invoke(request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_EQ(outcome.error().user_message,
            "infra-bot's AWS role may not invoke `infra-orchestrator` (AccessDenied).");
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LambdaClientTest, BareForbiddenIsAccessDenied) {
  http_.push(response(403, ""));
  auto outcome = client().invoke(request());
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("(AccessDenied)"));
}

TEST_F(LambdaClientTest, InvalidSignatureIsNotRetried) {
  http_.push(aws_error(403, "InvalidSignatureException", "Signature expired"));
  auto outcome = client().invoke(request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_THAT(outcome.error().user_message, HasSubstr("signature"));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LambdaClientTest, ErrorTypeFromBodyWhenNoHeader) {
  // botocore's rules: code/Code/__type, after '#', before ':'.
  http_.push(
      response(404, R"({"__type":"com.amazon.coral#ResourceNotFoundException","Message":"gone"})"));
  http_.push(
      response(400, R"({"Code":"InvalidRequestContentException","message":"Could not parse"})"));
  http_.push(response(413, R"({"message":"Request must be smaller than 6291456 bytes"})",
                      {{"x-amzn-ErrorType", "RequestEntityTooLargeException"}}));
  http_.push(response(418, "teapot"));
  auto& lambda = client();

  auto not_found = lambda.invoke(request());
  ASSERT_FALSE(not_found);
  EXPECT_EQ(not_found.error().code, core::ErrorCode::not_found);
  EXPECT_THAT(not_found.error().detail,
              AllOf(HasSubstr("type=ResourceNotFoundException"), HasSubstr("message=\"gone\"")));

  auto bad_request = lambda.invoke(request());
  ASSERT_FALSE(bad_request);
  EXPECT_EQ(bad_request.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(bad_request.error().user_message,
              HasSubstr("(InvalidRequestContent: Could not parse)"));

  auto too_large = lambda.invoke(request());
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(too_large.error().user_message, HasSubstr("too large"));

  auto unknown = lambda.invoke(request());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::ErrorCode::internal);
  EXPECT_THAT(unknown.error().user_message, HasSubstr("HTTP 418"));
  EXPECT_EQ(http_.requests().size(), 4u);
}

TEST_F(LambdaClientTest, CredentialFailureSendsNothing) {
  credentials_.fail();
  auto outcome = client().invoke(request());
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::unavailable);
  // Users see one fixed sentence; the chain's text (files, profiles) stays in the detail.
  EXPECT_EQ(outcome.error().user_message, aws::kNoCredentialsUserMessage);
  EXPECT_THAT(outcome.error().detail, HasSubstr("No AWS credentials found"));
  EXPECT_THAT(outcome.error().detail, HasSubstr("chain exhausted"));
  EXPECT_TRUE(http_.requests().empty());
}

// ------------------------------------------------------ retries and idempotency

TEST_F(LambdaClientTest, ThrottledThenSuccessHonoursRetryAfter) {
  http_.push(response(429, R"({"message":"Rate exceeded","Reason":"CallerRateLimitExceeded"})",
                      {{"x-amzn-ErrorType", "TooManyRequestsException"}, {"Retry-After", "2"}}));
  http_.push(response(200, R"({"ok":true})"));
  auto outcome = client().invoke(request(aws::Idempotency::mutating));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_THAT(sleeper_.sleeps(), testing::ElementsAre(std::chrono::milliseconds(2000)));
}

TEST_F(LambdaClientTest, RetryAfterIsCapped) {
  http_.push(response(429, "{}", {{"Retry-After", "3600"}}));
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request()));
  EXPECT_THAT(sleeper_.sleeps(), testing::ElementsAre(std::chrono::milliseconds(30'000)));
}

TEST_F(LambdaClientTest, EveryAttemptIsSignedAfreshWithTheSamePayload) {
  http_.push(aws_error(503, "ServiceUnavailableException"));
  http_.push(response(429, "{}", {{"Retry-After", "5"}}));
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request()));
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(credentials_.calls(), 3);
  std::set<std::string> dates;
  std::set<std::string> signatures;
  for (const auto& sent : requests) {
    EXPECT_EQ(sent.body, request().payload);
    dates.insert(*header_of(sent, "X-Amz-Date"));
    signatures.insert(*header_of(sent, "Authorization"));
  }
  // The sleeper moves the fake clock: the 5 s Retry-After gives a new X-Amz-Date.
  EXPECT_GE(dates.size(), 2u);
  EXPECT_GE(signatures.size(), 2u);
}

TEST_F(LambdaClientTest, ExpiredTokenFetchesCredentialsAgainAndRetriesOnce) {
  http_.push(aws_error(403, "ExpiredTokenException", "The security token included is expired"));
  http_.push(response(200, "{}"));
  ASSERT_TRUE(client().invoke(request(aws::Idempotency::mutating)));
  EXPECT_EQ(credentials_.calls(), 2);
  EXPECT_TRUE(sleeper_.sleeps().empty());

  http_.push(aws_error(403, "UnrecognizedClientException"));
  http_.push(aws_error(403, "UnrecognizedClientException"));
  http_.push(response(200, "{}"));
  auto outcome = client_->invoke(request(aws::Idempotency::read_only));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, core::ErrorCode::denied);
  EXPECT_EQ(http_.requests().size(), 4u);  // 2 + 2: only one credentials retry
}

struct MatrixCase {
  std::string name;
  std::vector<core::Result<core::http::Response>> answers;
  aws::Idempotency idempotency;
  std::size_t attempts;                 ///< requests sent
  std::optional<core::ErrorCode> code;  ///< nullopt = success
  std::string message_part;             ///< in user_message
};

core::Result<core::http::Response> transport(core::ErrorCode code) {
  return core::make_error(code, "transport failed", "curl: code 28 (Timeout was reached)");
}

std::vector<MatrixCase> matrix() {
  using core::ErrorCode;
  using I = aws::Idempotency;
  const auto ok = [] { return core::Result<core::http::Response>(response(200, "{}")); };
  const auto e = [](long status, const char* type) {
    return core::Result<core::http::Response>(aws_error(status, type));
  };
  const std::string check = "may or may not have run. Check `/infra status` before retrying.";
  return {
      {"ThrottledThreeTimesGivesUp",
       {e(429, "TooManyRequestsException"), e(429, "TooManyRequestsException"),
        e(429, "TooManyRequestsException"), ok()},
       I::mutating,
       3,
       ErrorCode::unavailable,
       "is being throttled"},
      {"Unavailable503IsRetriedForMutating",
       {e(503, "ServiceUnavailable"), ok()},
       I::mutating,
       2,
       std::nullopt,
       ""},
      {"Unavailable503GivesUp",
       {e(503, "X"), e(503, "X"), e(503, "X")},
       I::read_only,
       3,
       ErrorCode::unavailable,
       "unavailable right now"},
      {"Ec2ThrottledIsRetriedForMutating",
       {e(502, "EC2ThrottledException"), ok()},
       I::mutating,
       2,
       std::nullopt,
       ""},
      {"ResourceNotReadyIsRetried",
       {e(502, "ResourceNotReadyException"), ok()},
       I::mutating,
       2,
       std::nullopt,
       ""},
      {"KmsErrorIsNotRetried",
       {e(502, "KMSAccessDeniedException"), ok()},
       I::read_only,
       1,
       ErrorCode::unavailable,
       "could not start (KMSAccessDenied)"},
      {"ServiceExceptionMutatingIsIndeterminate",
       {e(500, "ServiceException"), ok()},
       I::mutating,
       1,
       ErrorCode::indeterminate,
       check},
      {"GatewayTimeoutMutatingIsIndeterminate",
       {response(504, "<html>"), ok()},
       I::mutating,
       1,
       ErrorCode::indeterminate,
       check},
      {"ServiceExceptionReadOnlyIsRetried",
       {e(500, "ServiceException"), e(500, "ServiceException"), ok()},
       I::read_only,
       3,
       std::nullopt,
       ""},
      {"ServiceExceptionReadOnlyGivesUp",
       {e(500, "ServiceException"), e(500, "ServiceException"), e(500, "ServiceException"), ok()},
       I::read_only,
       3,
       ErrorCode::unavailable,
       "internal error (Service)"},
      {"NothingSentIsRetriedForMutating",
       {transport(ErrorCode::unavailable), ok()},
       I::mutating,
       2,
       std::nullopt,
       ""},
      {"NothingSentGivesUp",
       {transport(ErrorCode::unavailable), transport(ErrorCode::unavailable),
        transport(ErrorCode::unavailable)},
       I::mutating,
       3,
       ErrorCode::unavailable,
       "Could not reach AWS Lambda at lambda.eu-west-1.amazonaws.com"},
      {"TimeoutMutatingIsIndeterminate",
       {transport(ErrorCode::indeterminate), ok()},
       I::mutating,
       1,
       ErrorCode::indeterminate,
       check},
      {"TimeoutReadOnlyIsRetried",
       {transport(ErrorCode::indeterminate), ok()},
       I::read_only,
       2,
       std::nullopt,
       ""},
      {"TimeoutReadOnlyGivesUp",
       {transport(ErrorCode::indeterminate), transport(ErrorCode::indeterminate),
        transport(ErrorCode::indeterminate)},
       I::read_only,
       3,
       ErrorCode::unavailable,
       "No answer from Lambda function `infra-orchestrator`"},
      {"ConflictIsNotRetried",
       {e(409, "ResourceConflictException"), ok()},
       I::read_only,
       1,
       ErrorCode::unavailable,
       "being updated"},
      {"BadRequestIsNotRetried",
       {e(400, "InvalidParameterValueException"), ok()},
       I::read_only,
       1,
       ErrorCode::invalid_input,
       "InvalidParameterValue"},
  };
}

class RetryMatrix : public LambdaClientTest, public testing::WithParamInterface<MatrixCase> {};

TEST_P(RetryMatrix, Case) {
  const auto& c = GetParam();
  for (const auto& answer : c.answers) http_.push(answer);
  auto outcome = client().invoke(request(c.idempotency));
  EXPECT_EQ(http_.requests().size(), c.attempts);
  if (!c.code) {
    EXPECT_TRUE(outcome) << outcome.error().user_message;
  } else {
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, *c.code) << outcome.error().user_message;
    EXPECT_THAT(outcome.error().user_message, HasSubstr(c.message_part));
    EXPECT_THAT(outcome.error().detail, HasSubstr(fmt::format("attempts={}", c.attempts)));
    EXPECT_EQ(lines_with("warning").size(), 1u) << "one warn line per final failure";
  }
  // Backoff between attempts: full jitter under base * 2^n.
  const auto sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), c.attempts - 1);
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    EXPECT_GE(sleeps[i].count(), 0);
    EXPECT_LE(sleeps[i], std::chrono::milliseconds(1000 << i)) << "retry " << i;
  }
  // One debug line per attempt.
  std::size_t attempt_lines = 0;
  for (const auto& line : lines_with("debug")) {
    if (line.find("lambda invoke attempt") != std::string::npos) ++attempt_lines;
  }
  EXPECT_EQ(attempt_lines, c.attempts);
}

INSTANTIATE_TEST_SUITE_P(LambdaClient, RetryMatrix, testing::ValuesIn(matrix()),
                         [](const auto& test_info) { return test_info.param.name; });

TEST_F(LambdaClientTest, MaxAttemptsAndBackoffFollowThePolicy) {
  aws::LambdaSettings settings;
  settings.retry.max_attempts = 5;
  settings.retry.base_delay = std::chrono::milliseconds(100);
  settings.retry.max_delay = std::chrono::milliseconds(250);
  aws::LambdaClient lambda(settings, http_, credentials_, clock_, sleeper_, logger_);
  http_.set_handler([](const core::http::Request&) {
    return core::Result<core::http::Response>(response(503, ""));
  });
  auto outcome = lambda.invoke(request());
  ASSERT_FALSE(outcome);
  EXPECT_EQ(http_.requests().size(), 5u);
  const auto sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 4u);
  for (auto sleep : sleeps) EXPECT_LE(sleep, std::chrono::milliseconds(250));
}

TEST_F(LambdaClientTest, LogsNeverHoldSecretsOrTheAuthorizationHeader) {
  CountingCredentials with_token(
      aws::Credentials{kAccessKey, kSecretKey, kSessionToken, std::nullopt});
  // A logger without redaction: the client itself must not log them.
  auto raw_sink = std::make_shared<test::RecordingSink>();
  auto raw = core::make_logger("raw", core::LogFormat::json, core::LogLevel::trace, {raw_sink},
                               core::Redactor());
  aws::LambdaClient lambda({}, http_, with_token, clock_, sleeper_, raw);
  http_.push(aws_error(500, "ServiceException"));
  http_.push(response(200, "{}"));
  ASSERT_TRUE(lambda.invoke(request(aws::Idempotency::read_only)));
  http_.push(aws_error(404, "ResourceNotFoundException"));
  ASSERT_FALSE(lambda.invoke(request()));
  const auto lines = raw_sink->lines();
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    EXPECT_THAT(line, AllOf(Not(HasSubstr(kSecretKey)), Not(HasSubstr(kSessionToken)),
                            Not(HasSubstr("Signature=")), Not(HasSubstr("AWS4-HMAC")),
                            Not(HasSubstr("\\\"action\\\""))))
        << line;
  }
}

// ---------------------------------------------------------------- IAM policy

TEST(InvokePolicy, AllowsExactlyTheConfiguredFunctions) {
  auto orchestrator = *aws::parse_function_ref(kArn, "");
  auto whitelist = *aws::parse_function_ref(
      "arn:aws:lambda:eu-west-1:123456789012:function:ip-whitelist:live", "");
  auto policy = aws::invoke_policy_json({orchestrator, whitelist});
  ASSERT_TRUE(policy) << policy.error().user_message;
  auto document = core::json::parse(*policy);
  ASSERT_TRUE(document) << *policy;
  EXPECT_EQ(core::json::get_string(*document, "Version"), "2012-10-17");
  const auto* statements = core::json::get_array(*document, "Statement");
  ASSERT_NE(statements, nullptr);
  ASSERT_EQ(statements->Size(), 1u);
  const auto& statement = (*statements)[0];
  EXPECT_EQ(core::json::get_string(statement, "Effect"), "Allow");
  EXPECT_EQ(core::json::get_string(statement, "Action"), "lambda:InvokeFunction");
  const auto* resources = core::json::get_array(statement, "Resource");
  ASSERT_NE(resources, nullptr);
  std::vector<std::string> got;
  for (const auto& r : resources->GetArray()) got.emplace_back(r.GetString());
  EXPECT_THAT(got, testing::ElementsAre(
                       kArn, std::string(kArn) + ":*",
                       "arn:aws:lambda:eu-west-1:123456789012:function:ip-whitelist:live"));
}

TEST(InvokePolicy, DuplicatesAreListedOnce) {
  auto orchestrator = *aws::parse_function_ref(kArn, "");
  auto policy = aws::invoke_policy_json({orchestrator, orchestrator});
  ASSERT_TRUE(policy);
  auto document = core::json::parse(*policy);
  ASSERT_TRUE(document);
  EXPECT_EQ((*document)["Statement"][0]["Resource"].Size(), 2u);
}

TEST(InvokePolicy, BareNameNeedsAFullArn) {
  auto bare = *aws::parse_function_ref("infra-orchestrator", "eu-west-1");
  auto policy = aws::invoke_policy_json({bare});
  ASSERT_FALSE(policy);
  EXPECT_EQ(policy.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(policy.error().user_message,
              AllOf(HasSubstr("infra-orchestrator"), HasSubstr("full ARN")));
  EXPECT_FALSE(aws::invoke_policy_json({}));
}

TEST(ThreadSleeper, Sleeps) {
  aws::ThreadSleeper sleeper;
  const auto start = std::chrono::steady_clock::now();
  sleeper.sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5));
}

}  // namespace
