#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace aws {

/// One event handed out by `GET /runtime/invocation/next`.
struct LambdaInvocation {
  std::string request_id;                   ///< Lambda-Runtime-Aws-Request-Id (never empty)
  std::string payload;                      ///< the event, as sent by the caller
  std::optional<core::TimePoint> deadline;  ///< Lambda-Runtime-Deadline-Ms (epoch ms)
  std::string invoked_function_arn;         ///< Lambda-Runtime-Invoked-Function-Arn; may be empty
  std::string trace_id;                     ///< Lambda-Runtime-Trace-Id; may be empty
  std::string client_context;    ///< Lambda-Runtime-Client-Context (mobile SDKs); may be empty
  std::string cognito_identity;  ///< Lambda-Runtime-Cognito-Identity; may be empty
};

/// The body of /invocation/{id}/error and /init/error:
/// {"errorMessage", "errorType", "stackTrace": []}.
struct LambdaErrorReport {
  std::string error_message;
  std::string error_type;  ///< "Runtime.InitError", "Runtime.HandlerError", …

  /// The JSON body (stackTrace always an empty array).
  std::string to_json() const;
};

/// The Lambda Runtime API of a custom runtime (shared/notes/aws-services.md §11),
/// plain HTTP to http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01, no signing.
///
/// Error codes of the calls:
///   next():   `unavailable` — the request never reached the runtime API
///             (connect refused, DNS): the caller may try again a few times;
///             anything else (`internal`: HTTP 500 "container error", 403, a 200
///             without a request id, a transport failure mid-exchange): the
///             runtime must exit promptly.
///   respond(): 202 is success; 413 is `invalid_input` (payload too large: report
///             an error for the same id instead); any other status or a transport
///             failure is `unavailable`/`indeterminate`/`internal`.
///   report_error(), report_init_error(): 202 is success.
/// `next` carries no practical timeout (the environment is frozen between
/// invokes): see kNextTimeout. Thread-compatible (one loop calls it).
class LambdaRuntimeClient {
 public:
  /// curl refuses a zero total timeout, so `next` uses this: 30 days, far
  /// beyond any execution environment's life and below curl's UINT_MAX ms cap.
  static constexpr std::chrono::milliseconds kNextTimeout{std::chrono::hours(24 * 30)};
  /// Timeout of the POSTs (the runtime API is local; answers are immediate).
  static constexpr std::chrono::milliseconds kPostTimeout{std::chrono::seconds(30)};

  /// `api` is the value of AWS_LAMBDA_RUNTIME_API: "host:port", no scheme.
  LambdaRuntimeClient(std::string api, core::http::Client& http);

  /// From AWS_LAMBDA_RUNTIME_API; a `config` Error naming the variable when it
  /// is missing or not "host:port".
  static core::Result<std::unique_ptr<LambdaRuntimeClient>> from_environment(
      const core::Environment& env, core::http::Client& http);

  /// Blocks until the next invocation arrives.
  core::Result<LambdaInvocation> next();
  /// POST …/invocation/{id}/response with `payload` (JSON); expects 202.
  core::Status respond(std::string_view request_id, std::string_view payload);
  /// POST …/invocation/{id}/error with `report`'s JSON, Content-Type
  /// application/vnd.aws.lambda.error+json and Lambda-Runtime-Function-Error-Type.
  core::Status report_error(std::string_view request_id, const LambdaErrorReport& report);
  /// POST …/runtime/init/error (a start-up failure); the process exits after it.
  core::Status report_init_error(const LambdaErrorReport& report);

  /// "http://host:port/2018-06-01"
  const std::string& base_url() const { return base_url_; }

 private:
  core::Status post(const std::string& url, std::string_view body, bool error_report,
                    std::string_view error_type, std::string_view what);

  std::string base_url_;
  core::http::Client& http_;
};

}  // namespace aws
