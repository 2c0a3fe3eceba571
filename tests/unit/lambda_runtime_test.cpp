// aws::LambdaRuntimeClient against a scripted HTTP client: the requests of the
// Runtime API (shared/notes/aws-services.md §11) and what each answer means; and
// app::run_lambda_function, the loop of `infra-bot lambda`, over the same.
#include "aws/lambda_runtime.hpp"

#include <stdlib.h>

#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_clock.hpp"
#include "infra/simulated_backend.hpp"
#include "scripted_http_client.hpp"

// The loop lives in the binary (app/infra-bot); it is compiled into this test
// as well, so its turns are checked request by request without a process.
#include "../../app/infra-bot/lambda_function.cpp"  // NOLINT(bugprone-suspicious-include)

namespace {

using testing::ElementsAre;

std::string canonical(std::string_view text) {
  auto out = core::json::canonicalize(text);
  return out ? *out : "<not JSON> " + std::string(text);
}
using testing::HasSubstr;

core::http::Response response(long status, std::string body = {},
                              core::http::Headers headers = {}) {
  return core::http::Response{status, std::move(headers), std::move(body)};
}

std::string header(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (core::to_lower(key) == core::to_lower(name)) return value;
  }
  return "<none>";
}

class LambdaRuntimeTest : public testing::Test {
 protected:
  test::ScriptedHttpClient http_;
  aws::LambdaRuntimeClient runtime_{"127.0.0.1:9001", http_};
};

TEST(LambdaRuntimeEnvironment, ReadsAwsLambdaRuntimeApi) {
  test::ScriptedHttpClient http;
  for (const auto* api : {"127.0.0.1:9001", "localhost:1", "[::1]:65535", " 169.254.100.1:9001 "}) {
    core::MapEnvironment env{{"AWS_LAMBDA_RUNTIME_API", api}};
    auto runtime = aws::LambdaRuntimeClient::from_environment(env, http);
    ASSERT_TRUE(runtime) << api << ": " << runtime.error().user_message;
    EXPECT_EQ((*runtime)->base_url(), "http://" + std::string(core::trim(api)) + "/2018-06-01");
  }
  {
    core::MapEnvironment env;
    auto runtime = aws::LambdaRuntimeClient::from_environment(env, http);
    ASSERT_FALSE(runtime);
    EXPECT_EQ(runtime.error().code, core::ErrorCode::config);
    EXPECT_THAT(runtime.error().user_message, HasSubstr("AWS_LAMBDA_RUNTIME_API: not set"));
  }
  for (const auto* api : {"", "localhost", "http://127.0.0.1:9001", ":9001", "host:0", "host:65536",
                          "host:9001/x", "host:abc", "::1:9001", "a b:1", "user@host:1"}) {
    core::MapEnvironment env{{"AWS_LAMBDA_RUNTIME_API", api}};
    auto runtime = aws::LambdaRuntimeClient::from_environment(env, http);
    ASSERT_FALSE(runtime) << api;
    EXPECT_EQ(runtime.error().code, core::ErrorCode::config) << api;
    EXPECT_THAT(runtime.error().user_message, HasSubstr("AWS_LAMBDA_RUNTIME_API")) << api;
  }
}

TEST_F(LambdaRuntimeTest, NextReadsTheEventAndItsHeaders) {
  http_.push(response(200, R"({"action":"status","environment":"dev"})",
                      {{"Content-Type", "application/json"},
                       {"lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"},
                       {"Lambda-Runtime-Deadline-Ms", "1542409706888"},
                       {"Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime"},
                       {"Lambda-Runtime-Trace-Id",
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;"
                        "Sampled=1"},
                       {"Lambda-Runtime-Client-Context", "{}"},
                       {"Lambda-Runtime-Cognito-Identity", "{\"cognitoIdentityId\":\"x\"}"}}));
  auto next = runtime_.next();
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  EXPECT_EQ(next->payload, R"({"action":"status","environment":"dev"})");
  ASSERT_TRUE(next->deadline);
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::milliseconds>(next->deadline->time_since_epoch())
          .count(),
      1542409706888);
  EXPECT_EQ(core::format_rfc3339(*next->deadline), "2018-11-16T23:08:26Z");
  EXPECT_EQ(next->invoked_function_arn,
            "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime");
  EXPECT_THAT(next->trace_id, testing::StartsWith("Root=1-5bef4de7"));
  EXPECT_EQ(next->client_context, "{}");
  EXPECT_EQ(next->cognito_identity, "{\"cognitoIdentityId\":\"x\"}");

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
  EXPECT_TRUE(requests[0].body.empty());
  // No practical timeout: the environment is frozen between invokes.
  EXPECT_EQ(requests[0].total_timeout, aws::LambdaRuntimeClient::kNextTimeout);
  EXPECT_GE(requests[0].total_timeout, std::chrono::hours(24 * 7));
  EXPECT_LT(requests[0].total_timeout.count(), 4'294'967'295LL) << "curl's UINT_MAX ms cap";
}

TEST_F(LambdaRuntimeTest, NextWithoutOptionalHeaders) {
  http_.push(
      response(200, "{}",
               {{"Lambda-Runtime-Aws-Request-Id", "r-1"}, {"Lambda-Runtime-Deadline-Ms", "soon"}}));
  auto next = runtime_.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->deadline, std::nullopt) << "an unreadable deadline is no deadline";
  EXPECT_EQ(next->trace_id, "");
  EXPECT_EQ(next->invoked_function_arn, "");
}

TEST_F(LambdaRuntimeTest, NextFailuresSayWhetherToExit) {
  // 500: container error → exit promptly (not `unavailable`, which the loop retries).
  http_.push(response(500, R"({"errorMessage":"container error","errorType":"Runtime.Unknown"})"));
  auto failed = runtime_.next();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::internal);
  EXPECT_THAT(failed.error().detail, HasSubstr("HTTP 500"));

  http_.push(response(403, R"({"errorMessage":"forbidden"})"));
  failed = runtime_.next();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::internal);

  http_.push(response(200, "{}"));  // no request id: nothing to answer to
  failed = runtime_.next();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::internal);
  EXPECT_THAT(failed.error().detail, HasSubstr("Lambda-Runtime-Aws-Request-Id"));

  http_.push(core::make_error(core::ErrorCode::unavailable, "Could not reach",
                              "connect to 127.0.0.1:9001 refused"));
  failed = runtime_.next();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::unavailable) << "never sent: may try again";

  http_.push(core::make_error(core::ErrorCode::indeterminate, "no answer", "connection reset"));
  failed = runtime_.next();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::internal);
}

TEST_F(LambdaRuntimeTest, RespondPostsThePayloadAndExpects202) {
  http_.push(response(202, R"({"status":"OK"})"));
  EXPECT_TRUE(runtime_.respond("8476a536-e9f4", R"({"ok":true})"));
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].url,
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/8476a536-e9f4/response");
  EXPECT_EQ(requests[0].body, R"({"ok":true})");
  EXPECT_EQ(header(requests[0], "Content-Type"), "application/json");
  EXPECT_EQ(header(requests[0], "Lambda-Runtime-Function-Error-Type"), "<none>");
  EXPECT_LE(requests[0].total_timeout, std::chrono::minutes(1));

  http_.push(response(413, R"({"errorMessage":"Exceeded maximum allowed payload size"})"));
  auto too_large = runtime_.respond("r-2", std::string(7'000'000, 'x'));
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, core::ErrorCode::invalid_input);

  http_.push(response(400, R"({"errorMessage":"InvalidStateTransition"})"));
  auto refused = runtime_.respond("r-3", "{}");
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().detail, HasSubstr("HTTP 400"));
  EXPECT_THAT(refused.error().detail, HasSubstr("InvalidStateTransition"));

  http_.push(core::make_error(core::ErrorCode::indeterminate, "no answer", "reset"));
  auto broken = runtime_.respond("r-4", "{}");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(broken.error().detail, HasSubstr("runtime API response"));

  // A request id can never address another resource.
  http_.push(response(202));
  EXPECT_TRUE(runtime_.respond("../init/error?x=1", "{}"));
  EXPECT_EQ(
      http_.requests().back().url,
      "http://127.0.0.1:9001/2018-06-01/runtime/invocation/..%2Finit%2Ferror%3Fx%3D1/response");
}

TEST_F(LambdaRuntimeTest, ReportErrorSendsTheErrorDocument) {
  http_.push(response(202, R"({"status":"OK"})"));
  EXPECT_TRUE(runtime_.report_error(
      "r-1", aws::LambdaErrorReport{"boom \"quoted\"\nsecond line", "Runtime.HandlerError"}));
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/r-1/error");
  EXPECT_EQ(header(request, "Content-Type"), "application/vnd.aws.lambda.error+json");
  EXPECT_EQ(header(request, "Lambda-Runtime-Function-Error-Type"), "Runtime.HandlerError");
  auto body = core::json::parse(request.body);
  ASSERT_TRUE(body && body->IsObject()) << request.body;
  EXPECT_EQ(body->MemberCount(), 3u);
  EXPECT_EQ(core::json::get_string(*body, "errorMessage"), "boom \"quoted\"\nsecond line");
  EXPECT_EQ(core::json::get_string(*body, "errorType"), "Runtime.HandlerError");
  const auto* trace = core::json::get_array(*body, "stackTrace");
  ASSERT_NE(trace, nullptr);
  EXPECT_TRUE(trace->Empty());

  http_.push(response(500));
  EXPECT_FALSE(runtime_.report_error("r-2", aws::LambdaErrorReport{"x", "y"}));
}

TEST_F(LambdaRuntimeTest, InitErrorGoesToInitError) {
  http_.push(response(202, R"({"status":"OK"})"));
  EXPECT_TRUE(runtime_.report_init_error(
      aws::LambdaErrorReport{"INFRA_LAMBDA_ROLE: required", "Runtime.InitError"}));
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "http://127.0.0.1:9001/2018-06-01/runtime/init/error");
  EXPECT_EQ(header(request, "Content-Type"), "application/vnd.aws.lambda.error+json");
  EXPECT_EQ(header(request, "Lambda-Runtime-Function-Error-Type"), "Runtime.InitError");
  EXPECT_EQ(canonical(request.body), canonical(R"({"errorMessage":"INFRA_LAMBDA_ROLE: required",
                                         "errorType":"Runtime.InitError","stackTrace":[]})"));

  http_.push(response(403));
  EXPECT_FALSE(runtime_.report_init_error(aws::LambdaErrorReport{"x", "Runtime.InitError"}));
}

// ------------------------------------------------------------------ the loop

// A backend whose every call throws (an internal failure).
class ThrowingBackend final : public infra::Backend {
 public:
  std::string_view name() const override { return "throwing"; }
  core::Result<infra::EnvironmentStatus> status(std::string_view,
                                                const infra::RequestContext&) override {
    throw std::runtime_error("status exploded");
  }
  core::Result<infra::ActionResult> run(const infra::LifecycleRequest&,
                                        const infra::RequestContext&) override {
    throw std::runtime_error("run exploded");
  }
  core::Result<infra::WhitelistAdded> whitelist_add(const infra::WhitelistAdd&,
                                                    const infra::RequestContext&) override {
    throw std::runtime_error("add exploded");
  }
  core::Result<infra::WhitelistRemoved> whitelist_remove(const infra::WhitelistRemove&,
                                                         const infra::RequestContext&) override {
    throw std::runtime_error("remove exploded");
  }
  core::Result<infra::WhitelistListing> whitelist_list(std::string_view,
                                                       const infra::RequestContext&) override {
    throw std::runtime_error("list exploded");
  }
  core::Result<infra::WhitelistRefreshed> whitelist_refresh(std::string_view,
                                                            const infra::RequestContext&) override {
    throw std::runtime_error("refresh exploded");
  }
};

class LambdaLoopTest : public testing::Test {
 protected:
  LambdaLoopTest() : backend_(config_.environments, clock_) {
    config_.lambda_role = core::LambdaRole::orchestrator;
    ::unsetenv("_X_AMZN_TRACE_ID");
  }
  ~LambdaLoopTest() override { ::unsetenv("_X_AMZN_TRACE_ID"); }

  void push_event(std::string id, std::string payload, std::string trace = {}) {
    core::http::Headers headers{
        {"Lambda-Runtime-Aws-Request-Id", std::move(id)},
        {"Lambda-Runtime-Deadline-Ms",
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            (clock_.now() + std::chrono::minutes(15)).time_since_epoch())
                            .count())}};
    if (!trace.empty()) headers.emplace_back("Lambda-Runtime-Trace-Id", std::move(trace));
    http_.push(response(200, std::move(payload), std::move(headers)));
  }

  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    const std::string base = "http://127.0.0.1:9001/2018-06-01";
    for (const auto& request : http_.requests()) out.push_back(request.url.substr(base.size()));
    return out;
  }

  core::Config config_;
  test::FakeClock clock_;
  infra::SimulatedBackend backend_;
  test::ScriptedHttpClient http_;
  aws::LambdaRuntimeClient runtime_{"127.0.0.1:9001", http_};
  core::MapEnvironment env_{{"AWS_LAMBDA_FUNCTION_NAME", "infra-orchestrator"}};
};

TEST_F(LambdaLoopTest, AnswersEachInvocationUntilNextFails) {
  push_event("r-1", R"({"action":"stop","environment":"dev"})", "Root=1-aaa;Sampled=1");
  http_.push(response(202));
  push_event("r-2", R"({"action":"stop","environment":"prod"})");
  http_.push(response(202));
  push_event("r-3", "not json", "Root=1-ccc");
  http_.push(response(202));
  http_.push(response(500, R"({"errorMessage":"container error"})"));

  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend_, runtime_, clock_, core::make_null_logger()),
      1);

  EXPECT_THAT(urls(), ElementsAre("/runtime/invocation/next", "/runtime/invocation/r-1/response",
                                  "/runtime/invocation/next", "/runtime/invocation/r-2/response",
                                  "/runtime/invocation/next", "/runtime/invocation/r-3/response",
                                  "/runtime/invocation/next"));
  const auto requests = http_.requests();
  auto first = core::json::parse(requests[1].body);
  ASSERT_TRUE(first);
  EXPECT_EQ(core::json::get_bool(*first, "ok"), true) << requests[1].body;
  EXPECT_EQ(core::json::get_string(*first, "action"), "stop");
  EXPECT_EQ(canonical(requests[3].body),
            canonical(R"({"ok":false,"error":"`prod` is protected: stop is refused."})"));
  EXPECT_EQ(canonical(requests[5].body),
            canonical(R"({"ok":false,"error":"The request is not valid JSON."})"));
  // dev really stopped; prod untouched.
  auto dev = backend_.status("dev", {});
  auto prod = backend_.status("prod", {});
  ASSERT_TRUE(dev && prod);
  EXPECT_EQ(dev->ecs_services.at(0).desired_count, 0);
  EXPECT_EQ(prod->ecs_services.at(0).desired_count, 2);
  // The last invocation's trace id is the process's.
  ASSERT_NE(::getenv("_X_AMZN_TRACE_ID"), nullptr);
  EXPECT_STREQ(::getenv("_X_AMZN_TRACE_ID"), "Root=1-ccc");
}

TEST_F(LambdaLoopTest, AnInvocationWithoutTraceIdClearsThePreviousOne) {
  push_event("r-1", R"({"action":"status","environment":"dev"})", "Root=1-aaa");
  http_.push(response(202));
  push_event("r-2", R"({"action":"status","environment":"dev"})");
  http_.set_handler([](const core::http::Request& request) {
    EXPECT_EQ(::getenv("_X_AMZN_TRACE_ID"), nullptr) << "while answering r-2";
    return core::Result<core::http::Response>(response(request.url.ends_with("/next") ? 500 : 202));
  });
  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend_, runtime_, clock_, core::make_null_logger()),
      1);
  EXPECT_EQ(urls().size(), 5u);
}

TEST_F(LambdaLoopTest, AnInternalFailureIsReportedThroughError) {
  ThrowingBackend backend;
  push_event("r-1", R"({"action":"status","environment":"dev"})");
  http_.push(response(202));
  http_.push(response(500));
  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend, runtime_, clock_, core::make_null_logger()),
      1);
  EXPECT_THAT(urls(), ElementsAre("/runtime/invocation/next", "/runtime/invocation/r-1/error",
                                  "/runtime/invocation/next"));
  const auto request = http_.requests().at(1);
  EXPECT_EQ(header(request, "Content-Type"), "application/vnd.aws.lambda.error+json");
  EXPECT_EQ(canonical(request.body), canonical(R"({"errorMessage":"status exploded",
                                         "errorType":"Runtime.HandlerError","stackTrace":[]})"));
}

TEST_F(LambdaLoopTest, AnswerRefusedAsTooLargeBecomesAnError) {
  push_event("r-1", R"({"action":"status","environment":"dev"})");
  http_.push(response(413, R"({"errorMessage":"Exceeded maximum allowed payload size"})"));
  http_.push(response(202));
  http_.push(response(500));
  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend_, runtime_, clock_, core::make_null_logger()),
      1);
  EXPECT_THAT(urls(), ElementsAre("/runtime/invocation/next", "/runtime/invocation/r-1/response",
                                  "/runtime/invocation/r-1/error", "/runtime/invocation/next"));
  auto body = core::json::parse(http_.requests().at(2).body);
  ASSERT_TRUE(body);
  EXPECT_EQ(core::json::get_string(*body, "errorType"), "Runtime.ResponseTooLarge");
}

TEST_F(LambdaLoopTest, AFailedPostDoesNotStopTheLoop) {
  push_event("r-1", R"({"action":"status","environment":"dev"})");
  http_.push(response(400, R"({"errorMessage":"InvalidStateTransition"})"));
  push_event("r-2", R"({"action":"status","environment":"dev"})");
  http_.push(response(202));
  http_.push(response(500));
  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend_, runtime_, clock_, core::make_null_logger()),
      1);
  EXPECT_EQ(urls().size(), 5u);
}

TEST_F(LambdaLoopTest, AnUnreachableRuntimeApiIsTriedThreeTimes) {
  auto unreachable = [] {
    return core::Result<core::http::Response>(core::make_error(
        core::ErrorCode::unavailable, "Could not reach", "connect to 127.0.0.1:9001 refused"));
  };
  // Twice unreachable, then an event: served.
  http_.push(unreachable());
  http_.push(unreachable());
  push_event("r-1", R"({"action":"status","environment":"dev"})");
  http_.push(response(202));
  // Then three times in a row: the process gives up.
  http_.push(unreachable());
  http_.push(unreachable());
  http_.push(unreachable());
  http_.push(response(200, "never asked for"));
  EXPECT_EQ(
      app::run_lambda_function(config_, env_, backend_, runtime_, clock_, core::make_null_logger()),
      1);
  EXPECT_EQ(urls().size(), 7u);
}

TEST_F(LambdaLoopTest, InitFailureIsPostedToInitError) {
  http_.push(response(202));
  EXPECT_EQ(app::fail_lambda_init(
                runtime_,
                core::make_error(core::ErrorCode::config, "INFRA_LAMBDA_ROLE: required", "config"),
                core::make_null_logger()),
            1);
  EXPECT_THAT(urls(), ElementsAre("/runtime/init/error"));
  auto body = core::json::parse(http_.requests().at(0).body);
  ASSERT_TRUE(body);
  EXPECT_EQ(core::json::get_string(*body, "errorMessage"), "INFRA_LAMBDA_ROLE: required");
  EXPECT_EQ(core::json::get_string(*body, "errorType"), "Runtime.InitError");
}

}  // namespace
