#pragma once

#include "aws/lambda_runtime.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"

namespace app {

/// `infra-bot lambda`: the Lambda Runtime API loop of a custom runtime serving
/// design §4's contract for config.lambda_role (infra::LambdaHandler) on top
/// of `backend` (production: infra::AwsBackend).
///
/// Each turn: next → set _X_AMZN_TRACE_ID from Lambda-Runtime-Trace-Id → handle
/// (the remaining time before Lambda-Runtime-Deadline-Ms is logged and passed
/// to the handler) → response, or error for an internal failure. It returns
/// only when the runtime API fails: 1 (a 500 on next = exit promptly; the
/// Lambda service starts a new environment). `env` supplies
/// AWS_LAMBDA_FUNCTION_NAME / _VERSION for the start-up log line.
///
/// Wiring in main (sketch):
///   auto runtime_http = core::http::make_curl_client({});  // plain HTTP, local
///   auto runtime = aws::LambdaRuntimeClient::from_environment(env, *runtime_http);
///   if (!runtime) { print; return 2; }            // no runtime API to report to
///   auto config = core::load_config(env, core::RunMode::lambda);
///   if (!config) return app::fail_lambda_init(**runtime, config.error(), logger);
///   … build the aws backend (an error → fail_lambda_init) …
///   return app::run_lambda_function(*config, env, *backend, **runtime, clock, logger);
int run_lambda_function(const core::Config& config, const core::Environment& env,
                        infra::Backend& backend, aws::LambdaRuntimeClient& runtime,
                        const core::Clock& clock, core::LoggerPtr logger);

/// A start-up failure (bad configuration, a backend that could not be built):
/// logs it, posts it to /runtime/init/error as Runtime.InitError (the user
/// message; never secrets) and returns the exit code (1).
int fail_lambda_init(aws::LambdaRuntimeClient& runtime, const core::Error& error,
                     const core::LoggerPtr& logger);

}  // namespace app
