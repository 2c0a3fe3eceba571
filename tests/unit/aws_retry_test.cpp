// AWS standard-mode retries (lib/aws/src/retry.hpp, private to lib/aws): the one attempt
// loop shared by LambdaClient and ServiceClient — attempts per class of failure, full-jitter
// backoff bounds (core::retry) with a fixed core::RandomSource, the Retry-After cap, the
// idempotency rule, the once-only credentials retry — the error-code vocabulary that feeds it, and,
// through both public clients, that they now follow the same rules.

#include "../../lib/aws/src/retry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "aws/service_client.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/retry.hpp"
#include "fake_clock.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

using aws::detail::Classified;
using aws::detail::Verdict;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RecordingSleeper final : public aws::Sleeper {
 public:
  void sleep_for(milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
  }
  std::vector<milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<milliseconds> sleeps_;
};

Classified verdict(Verdict v, std::optional<seconds> retry_after = std::nullopt) {
  return Classified{v, retry_after};
}

// ---------------------------------------------------------------------------------------------
// The loop, driven by a script of verdicts (the last one repeats)

struct Run {
  int attempts = 0;
  int last = 0;  ///< the attempt number the loop returned
  std::vector<milliseconds> sleeps;
};

Run run(const std::vector<Classified>& script, bool repeatable, aws::RetryPolicy policy = {},
        double random = 1.0) {
  RecordingSleeper sleeper;
  core::FixedRandom fixed({random});
  auto logger = core::make_null_logger();
  const aws::detail::AttemptLoop loop{
      .policy = policy,
      .repeatable = repeatable,
      .sleeper = sleeper,
      .random = fixed,
      .logger = *logger,
      .log_prefix = "test call",
      .log_fields = "what=x",
  };
  int sent = 0;
  auto send = [&](int attempt) {
    ++sent;
    return attempt;
  };
  auto classify = [&](int attempt) {
    return script.at(
        std::min<std::size_t>(static_cast<std::size_t>(attempt - 1), script.size() - 1));
  };
  auto [last, attempts] = aws::detail::run_attempts(loop, send, classify);
  EXPECT_EQ(attempts, sent) << "attempts counts what was sent";
  return Run{attempts, last, sleeper.sleeps()};
}

TEST(AwsRetryLoop, SuccessEndsTheLoop) {
  const auto r = run({verdict(Verdict::success)}, false);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_THAT(r.sleeps, IsEmpty());

  const auto after_one = run({verdict(Verdict::throttled), verdict(Verdict::success)}, false);
  EXPECT_EQ(after_one.attempts, 2);
  EXPECT_EQ(after_one.last, 2) << "the last attempt's result is returned";
  EXPECT_EQ(after_one.sleeps.size(), 1u);
}

TEST(AwsRetryLoop, AttemptsPerClassOfFailure) {
  struct Case {
    Verdict verdict;
    bool repeatable;
    int attempts;
  };
  // Standard mode: 3 attempts at most. Throttling and nothing-sent failures are repeated for
  // every call; an attempt that may have run only for a repeatable call; a permanent one never.
  const std::vector<Case> cases = {
      {Verdict::throttled, false, 3},     {Verdict::throttled, true, 3},
      {Verdict::transient, false, 3},     {Verdict::transient, true, 3},
      {Verdict::indeterminate, false, 1}, {Verdict::indeterminate, true, 3},
      {Verdict::permanent, false, 1},     {Verdict::permanent, true, 1},
      {Verdict::credentials, false, 2},   {Verdict::credentials, true, 2},
  };
  for (const auto& c : cases) {
    const auto r = run({verdict(c.verdict)}, c.repeatable);
    EXPECT_EQ(r.attempts, c.attempts)
        << aws::detail::to_string(c.verdict) << " repeatable=" << c.repeatable;
    EXPECT_EQ(r.last, c.attempts);
  }
}

TEST(AwsRetryLoop, BackoffIsFullJitterUnderTheDoublingCap) {
  // rand = 1: exactly min(base * 2^n, max); rand = 0.5: half of it.
  EXPECT_THAT(run({verdict(Verdict::throttled)}, false, {}, 1.0).sleeps,
              ElementsAre(milliseconds(1000), milliseconds(2000)));
  EXPECT_THAT(run({verdict(Verdict::transient)}, false, {}, 0.5).sleeps,
              ElementsAre(milliseconds(500), milliseconds(1000)));
  EXPECT_THAT(run({verdict(Verdict::indeterminate)}, true, {}, 0.0).sleeps,
              ElementsAre(milliseconds(0), milliseconds(0)));

  aws::RetryPolicy policy;
  policy.max_attempts = 5;
  policy.base_delay = milliseconds(100);
  policy.max_delay = milliseconds(250);
  const auto r = run({verdict(Verdict::transient)}, false, policy, 1.0);
  EXPECT_EQ(r.attempts, 5);
  EXPECT_THAT(r.sleeps, ElementsAre(milliseconds(100), milliseconds(200), milliseconds(250),
                                    milliseconds(250)));
}

TEST(AwsRetryLoop, BackoffDelayBounds) {
  const aws::RetryPolicy policy;  // base 1 s, max 20 s
  using aws::detail::backoff_delay;
  EXPECT_EQ(backoff_delay(policy, 0, 1.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(policy, 2, 0.25), milliseconds(1000));
  EXPECT_EQ(backoff_delay(policy, 4, 1.0), milliseconds(16000));
  EXPECT_EQ(backoff_delay(policy, 5, 1.0), milliseconds(20000));
  EXPECT_EQ(backoff_delay(policy, 1000, 1.0), milliseconds(20000)) << "no overflow";
  EXPECT_EQ(backoff_delay(policy, 3, 0.0), milliseconds(0));
  // A random source out of range is clamped to [0, 1].
  EXPECT_EQ(backoff_delay(policy, 0, 7.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(policy, 0, -1.0), milliseconds(0));
  // The same bound as core::retry's full jitter, which it is.
  for (int n : {0, 1, 3, 5, 40}) {
    for (double unit : {0.0, 0.3, 1.0}) {
      EXPECT_EQ(backoff_delay(policy, n, unit),
                core::retry::full_jitter(policy.base_delay, policy.max_delay, n, unit));
    }
  }
}

TEST(AwsRetryLoop, RetryAfterIsHonouredAndCapped) {
  EXPECT_THAT(
      run({verdict(Verdict::throttled, seconds(2)), verdict(Verdict::success)}, false).sleeps,
      ElementsAre(milliseconds(2000)));
  EXPECT_THAT(
      run({verdict(Verdict::throttled, seconds(3600)), verdict(Verdict::success)}, false).sleeps,
      ElementsAre(milliseconds(30'000)))
      << "RetryPolicy::max_retry_after";
  EXPECT_THAT(
      run({verdict(Verdict::throttled, seconds(0)), verdict(Verdict::success)}, false).sleeps,
      ElementsAre(milliseconds(0)));

  aws::RetryPolicy policy;
  policy.max_retry_after = seconds(5);
  EXPECT_THAT(run({verdict(Verdict::throttled, seconds(9))}, false, policy).sleeps,
              ElementsAre(milliseconds(5000), milliseconds(5000)));
  // A Retry-After wait still counts as a backoff step: the next jittered one doubles.
  EXPECT_THAT(run({verdict(Verdict::throttled, seconds(9)), verdict(Verdict::throttled)}, false,
                  policy, 1.0)
                  .sleeps,
              ElementsAre(milliseconds(5000), milliseconds(2000)));
}

TEST(AwsRetryLoop, CredentialsAreRetriedOnceWithoutWaiting) {
  // Rejected, rejected: the second is final.
  auto r = run({verdict(Verdict::credentials)}, false);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_THAT(r.sleeps, IsEmpty());

  // Rejected, then throttled: the credentials retry does not advance the backoff exponent.
  r = run({verdict(Verdict::credentials), verdict(Verdict::throttled)}, false, {}, 1.0);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_THAT(r.sleeps, ElementsAre(milliseconds(1000)));

  // Rejected after a throttle: still retried (once), and within the attempt cap.
  r = run({verdict(Verdict::throttled), verdict(Verdict::credentials), verdict(Verdict::success)},
          false);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.sleeps.size(), 1u);
}

TEST(AwsRetryLoop, AttemptCapAppliesToEveryClass) {
  aws::RetryPolicy one;
  one.max_attempts = 1;
  for (Verdict v :
       {Verdict::throttled, Verdict::transient, Verdict::indeterminate, Verdict::credentials}) {
    const auto r = run({verdict(v), verdict(Verdict::success)}, true, one);
    EXPECT_EQ(r.attempts, 1) << aws::detail::to_string(v);
    EXPECT_THAT(r.sleeps, IsEmpty());
  }
  aws::RetryPolicy none;
  none.max_attempts = 0;  // still one attempt
  EXPECT_EQ(run({verdict(Verdict::transient)}, true, none).attempts, 1);
  EXPECT_EQ(aws::detail::max_attempts(none), 1);
  EXPECT_EQ(aws::detail::max_attempts(aws::RetryPolicy{}), 3);
}

TEST(AwsRetryLoop, EachRetryIsLogged) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger = core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink},
                                  core::Redactor());
  RecordingSleeper sleeper;
  core::FixedRandom fixed({1.0});
  const aws::RetryPolicy policy;
  const aws::detail::AttemptLoop loop{policy,  false,           sleeper,     fixed,
                                      *logger, "lambda invoke", "function=f"};
  auto [last, attempts] = aws::detail::run_attempts(
      loop, [](int attempt) { return attempt; },
      [](int attempt) {
        return attempt == 1 ? verdict(Verdict::throttled, seconds(2)) : verdict(Verdict::success);
      });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(last, 2);
  bool found = false;
  for (const auto& line : sink->lines()) {
    found = found || line.find("lambda invoke retry: function=f reason=throttled after_ms=2000") !=
                         std::string::npos;
  }
  EXPECT_TRUE(found);
}

// ---------------------------------------------------------------------------------------------
// The error-code vocabulary

TEST(AwsErrorCodes, CleanCodeLikeBotocore) {
  using aws::detail::clean_code;
  EXPECT_EQ(clean_code("com.amazonaws.ecs#ClusterNotFoundException:http://internal"),
            "ClusterNotFoundException");
  EXPECT_EQ(clean_code(" TooManyRequestsException:http://internal.amazon.com/coral/ "),
            "TooManyRequestsException");
  EXPECT_EQ(clean_code("InvalidPermission.Duplicate"), "InvalidPermission.Duplicate");
  EXPECT_EQ(clean_code(""), "");
}

TEST(AwsErrorCodes, ShortCode) {
  using aws::detail::short_code;
  EXPECT_EQ(short_code("AccessDeniedException"), "AccessDenied");
  EXPECT_EQ(short_code("Throttling"), "Throttling");
  EXPECT_EQ(short_code("Exception"), "Exception");
}

TEST(AwsErrorCodes, OneThrottlingList) {
  for (const char* code :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "RequestThrottled", "SlowDown", "EC2ThrottledException"}) {
    EXPECT_TRUE(aws::detail::is_throttling(400, code)) << code;
  }
  EXPECT_TRUE(aws::detail::is_throttling(429, ""));
  // A quota on ECS and Secrets Manager, not a rate (notes §12.1).
  EXPECT_FALSE(aws::detail::is_throttling(400, "LimitExceededException"));
  EXPECT_FALSE(aws::detail::is_throttling(400, "ThrottlingExceptionX"));
  EXPECT_FALSE(aws::detail::is_throttling(503, "ServiceUnavailable"));
}

TEST(AwsErrorCodes, CredentialsRejectionsAndTransientCodes) {
  for (const char* code :
       {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException"}) {
    EXPECT_TRUE(aws::detail::is_credentials_rejection(code)) << code;
  }
  for (const char* code : {"InvalidSignatureException", "AccessDeniedException", ""}) {
    EXPECT_FALSE(aws::detail::is_credentials_rejection(code)) << code;
  }
  for (const char* code : {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
                           "InternalError", "InternalFailure", "ServerException"}) {
    EXPECT_TRUE(aws::detail::is_transient_code(code)) << code;
  }
  EXPECT_FALSE(aws::detail::is_transient_code("ClientException"));
}

TEST(AwsErrorCodes, RetryAfterInSeconds) {
  auto with = [](std::string value) {
    return aws::detail::retry_after(core::http::Response{429, {{"Retry-After", value}}, ""});
  };
  EXPECT_EQ(with("2"), seconds(2));
  EXPECT_EQ(with(" 7 "), seconds(7));
  EXPECT_EQ(with("0"), seconds(0));
  EXPECT_EQ(with("-1"), std::nullopt);
  EXPECT_EQ(with("1.5"), std::nullopt);
  EXPECT_EQ(with("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(with(""), std::nullopt);
  // A huge one saturates (core::retry::kMaxRetryAfter); the loop caps it at the policy's.
  EXPECT_EQ(with("99999999999999999999999"), core::retry::kMaxRetryAfter);
  EXPECT_EQ(aws::detail::retry_after(core::http::Response{429, {}, ""}), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Both public clients follow the one set of rules

class CountingCredentials final : public aws::CredentialsProvider {
 public:
  core::Result<aws::Credentials> get() override {
    ++calls;
    return aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}};
  }
  int calls = 0;
};

class BothClientsTest : public ::testing::Test {
 protected:
  core::Result<aws::InvokeOutcome> invoke(aws::Idempotency idempotency) {
    aws::LambdaClient lambda({}, http_, credentials_, clock_, sleeper_, core::make_null_logger());
    aws::InvokeRequest request;
    request.function = *aws::parse_function_ref(
        "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator", "");
    request.payload = "{}";
    request.idempotency = idempotency;
    return lambda.invoke(request);
  }
  aws::Outcome<rapidjson::Document> ecs_call(aws::Retryability retryability) {
    aws::ServiceSettings settings;
    settings.region = "eu-west-1";
    auto client = aws::ServiceClient::create(aws::kEcsService, settings, http_, credentials_,
                                             clock_, sleeper_, core::make_null_logger());
    EXPECT_TRUE(client);
    return (*client)->call_json("UpdateService", "{}", retryability, "service api");
  }
  void push_json_error(long status, std::string_view code, core::http::Headers headers = {}) {
    http_.push(status, fmt::format(R"({{"__type": "{}", "message": "m"}})", code),
               std::move(headers));
  }

  test::ScriptedHttpClient http_;
  CountingCredentials credentials_;
  test::FakeClock clock_;
  RecordingSleeper sleeper_;
};

TEST_F(BothClientsTest, TheSameThrottlingCodesAreRetried) {
  // Codes Lambda's own list used to miss; a mutating call, since nothing ran.
  for (const char* code : {"SlowDown", "RequestLimitExceeded", "ThrottledException"}) {
    push_json_error(400, code);
    http_.push(200, "{}");
    EXPECT_TRUE(invoke(aws::Idempotency::mutating)) << code;
    push_json_error(400, code);
    http_.push(200, "{}");
    EXPECT_TRUE(ecs_call(aws::Retryability::once)) << code;
  }
  EXPECT_EQ(http_.requests().size(), 12u);
  EXPECT_EQ(sleeper_.sleeps().size(), 6u);
}

TEST_F(BothClientsTest, LimitExceededIsAQuotaNotAThrottle) {
  push_json_error(400, "LimitExceededException");
  EXPECT_FALSE(ecs_call(aws::Retryability::read));
  push_json_error(400, "LimitExceededException");
  EXPECT_FALSE(invoke(aws::Idempotency::read_only));
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_THAT(sleeper_.sleeps(), IsEmpty());
}

TEST_F(BothClientsTest, RejectedCredentialsAreFetchedAgainOnceWhateverTheStatus) {
  // JSON 1.1 services answer 400, Lambda 403: the code decides, for both clients.
  push_json_error(400, "UnrecognizedClientException");
  push_json_error(400, "UnrecognizedClientException");
  auto ecs = ecs_call(aws::Retryability::read);
  ASSERT_FALSE(ecs);
  EXPECT_EQ(ecs.error().code, core::ErrorCode::denied);
  EXPECT_THAT(ecs.error().user_message, HasSubstr("does not accept infra-bot's credentials"));
  EXPECT_THAT(ecs.error().detail, HasSubstr("attempts=2"));
  EXPECT_EQ(credentials_.calls, 2);

  push_json_error(400, "ExpiredTokenException");
  http_.push(200, "{}");
  EXPECT_TRUE(invoke(aws::Idempotency::mutating));
  EXPECT_EQ(credentials_.calls, 4);
  EXPECT_EQ(http_.requests().size(), 4u);
  EXPECT_THAT(sleeper_.sleeps(), IsEmpty());
}

TEST_F(BothClientsTest, RetryAfterIsHonouredAndCappedByBoth) {
  push_json_error(400, "ThrottlingException", {{"Retry-After", "3"}});
  http_.push(200, "{}");
  EXPECT_TRUE(ecs_call(aws::Retryability::once));
  http_.push(429, R"({"message": "Rate exceeded"})",
             {{"x-amzn-ErrorType", "TooManyRequestsException"}, {"Retry-After", "3600"}});
  http_.push(200, "{}");
  EXPECT_TRUE(invoke(aws::Idempotency::mutating));
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(milliseconds(3000), milliseconds(30'000)));
}

TEST_F(BothClientsTest, MayHaveRunIsRepeatedOnlyForRepeatableCalls) {
  // A read timeout after the request went out. Nothing else is queued, so a wrongful
  // retry would show as an extra request.
  auto timeout = [] {
    return test::ScriptedHttpClient::Answer(
        core::make_error(core::ErrorCode::indeterminate, "timed out", "read timeout"));
  };
  http_.push(timeout());
  auto once = ecs_call(aws::Retryability::once);
  ASSERT_FALSE(once);
  EXPECT_EQ(once.error().code, core::ErrorCode::indeterminate);
  http_.push(timeout());
  auto mutating = invoke(aws::Idempotency::mutating);
  ASSERT_FALSE(mutating);
  EXPECT_EQ(mutating.error().code, core::ErrorCode::indeterminate);
  EXPECT_EQ(http_.requests().size(), 2u);

  http_.push(timeout());
  http_.push(200, "{}");
  EXPECT_TRUE(ecs_call(aws::Retryability::idempotent));
  http_.push(timeout());
  http_.push(200, "{}");
  EXPECT_TRUE(invoke(aws::Idempotency::read_only));
  EXPECT_EQ(http_.requests().size(), 6u);
}

}  // namespace
