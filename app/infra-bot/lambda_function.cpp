// `infra-bot lambda`: the custom-runtime loop (shared/notes/aws-services.md §11).
#include "lambda_function.hpp"

#include <stdlib.h>

#include <chrono>
#include <thread>

#include "core/strings.hpp"
#include "infra/lambda_handler.hpp"

namespace app {
namespace {

// A `next` that never reached the runtime API is tried this many times in a
// row before the process gives up (aws-lambda-cpp retries the same way).
constexpr int kNextAttempts = 3;
constexpr std::chrono::milliseconds kNextRetryPause{100};

std::string env_or(const core::Environment& env, const char* name, std::string_view fallback) {
  return env.get(name).value_or(std::string(fallback));
}

}  // namespace

int run_lambda_function(const core::Config& config, const core::Environment& env,
                        infra::Backend& backend, aws::LambdaRuntimeClient& runtime,
                        const core::Clock& clock, core::LoggerPtr logger) {
  infra::LambdaHandler handler(config.lambda_role, config, backend, clock, logger);
  logger->info(
      "infra-bot lambda: role={} function={} version={} backend={} runtime_api={}",
      infra::to_string(config.lambda_role), env_or(env, "AWS_LAMBDA_FUNCTION_NAME", "unknown"),
      env_or(env, "AWS_LAMBDA_FUNCTION_VERSION", "unknown"), backend.name(), runtime.base_url());

  int unreachable = 0;
  for (;;) {
    auto next = runtime.next();
    if (!next) {
      const auto& error = next.error();
      if (error.code == core::ErrorCode::unavailable && ++unreachable < kNextAttempts) {
        logger->warn("runtime API next failed (attempt {} of {}), trying again: {}", unreachable,
                     kNextAttempts, error.detail);
        std::this_thread::sleep_for(kNextRetryPause);
        continue;
      }
      // A 500 means the container is broken: exit promptly and let Lambda
      // start a fresh environment.
      logger->error("runtime API next failed; exiting: {}", error.detail);
      return 1;
    }
    unreachable = 0;
    const auto& invocation = *next;

    // What the AWS SDKs and X-Ray read for the current invocation.
    if (invocation.trace_id.empty()) {
      ::unsetenv("_X_AMZN_TRACE_ID");
    } else {
      ::setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
    }
    long long remaining_ms = -1;
    if (invocation.deadline) {
      remaining_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(*invocation.deadline - clock.now())
              .count();
    }
    logger->info("invocation: aws_request_id={} function_arn={} remaining_ms={} bytes={}",
                 invocation.request_id, invocation.invoked_function_arn,
                 invocation.deadline ? std::to_string(remaining_ms) : std::string("unknown"),
                 invocation.payload.size());

    auto answer =
        handler.handle(invocation.payload,
                       infra::LambdaInvocationContext{invocation.request_id, invocation.deadline});
    core::Status posted;
    if (answer.function_error) {
      posted = runtime.report_error(
          invocation.request_id, aws::LambdaErrorReport{answer.error_message, answer.error_type});
    } else {
      posted = runtime.respond(invocation.request_id, answer.body);
      if (!posted && posted.error().code == core::ErrorCode::invalid_input) {
        // 413: the answer is over Lambda's 6 MB; the caller gets a readable error instead.
        logger->error("runtime API refused the response of {} ({} bytes): {}",
                      invocation.request_id, answer.body.size(), posted.error().detail);
        posted =
            runtime.report_error(invocation.request_id,
                                 aws::LambdaErrorReport{"The answer is larger than Lambda accepts.",
                                                        "Runtime.ResponseTooLarge"});
      }
    }
    if (!posted) {
      // The next `next` tells whether the runtime API is still there.
      logger->error("runtime API did not take the answer of {}: {}", invocation.request_id,
                    posted.error().detail);
    }
  }
}

int fail_lambda_init(aws::LambdaRuntimeClient& runtime, const core::Error& error,
                     const core::LoggerPtr& logger) {
  logger->error("infra-bot lambda could not start: {}{}", error.user_message,
                error.detail.empty() ? "" : " (" + error.detail + ")");
  auto posted = runtime.report_init_error(
      aws::LambdaErrorReport{core::utf8_truncate(error.user_message, 1000), "Runtime.InitError"});
  if (!posted) logger->error("runtime API did not take the init error: {}", posted.error().detail);
  return 1;
}

}  // namespace app
