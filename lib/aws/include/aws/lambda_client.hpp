#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace aws {

/// X-Amz-Invocation-Type. dry_run runs nothing: Lambda checks that the caller
/// may invoke the function and that it exists, and answers 204 with no body
/// (API_Invoke: "DryRun – Validate parameter values and verify that the user or
/// role has permission to invoke the function").
enum class InvocationType { request_response, event, dry_run };

/// Whether a call may be repeated after the function might already have run.
enum class Idempotency {
  mutating,   ///< stop, teardown, whitelist add…: never retried once the request may have arrived
  read_only,  ///< status, list: retried on every retryable error
};

struct InvokeRequest {
  FunctionRef function;
  std::string payload;  ///< JSON
  InvocationType type = InvocationType::request_response;
  Idempotency idempotency = Idempotency::mutating;
  /// Read timeout of one attempt; above the function's own timeout so a slow
  /// function is never abandoned and re-invoked (the SDKs' 60 s causes that).
  std::chrono::seconds timeout{910};
};

/// The function ran and returned a payload (200, or 202 for Event; 204 and no
/// payload for DryRun, where nothing ran).
struct InvokeSuccess {
  long status = 200;
  std::string payload;
  std::string executed_version;
};

/// The function ran and failed: X-Amz-Function-Error with its error object.
struct FunctionError {
  std::string kind;           ///< "Unhandled" / "Handled"
  std::string error_type;     ///< errorType, may be empty
  std::string error_message;  ///< errorMessage, may be empty
  std::string payload;        ///< the raw body
};

using InvokeOutcome = std::variant<InvokeSuccess, FunctionError>;

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds base_delay{1000};  ///< full jitter: rand(0,1) * min(base * 2^n, max)
  std::chrono::milliseconds max_delay{20000};
  std::chrono::seconds max_retry_after{30};  ///< cap on a 429's Retry-After
};

struct LambdaSettings {
  std::string endpoint_url;  ///< AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL; empty = regional
  std::chrono::milliseconds connect_timeout{5000};
  RetryPolicy retry;
};

/// Sleeping as a seam, so retry tests do not wait for real backoff.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

/// lambda:Invoke over HTTPS with SigV4 (design §4). Service errors
/// (TooManyRequestsException, ResourceNotFoundException, AccessDeniedException,
/// ServiceException, …) and transport failures are Errors: code `unavailable`
/// when retrying may help and nothing ran, `indeterminate` when the function
/// may have run, `not_found` / `denied` / `invalid_input` for permanent ones;
/// user_message is readable in Slack, detail carries the AWS error type,
/// message and request id. Every attempt is signed afresh with current
/// credentials and carries the same payload. Thread-safe.
class LambdaClient {
 public:
  LambdaClient(LambdaSettings settings, core::http::Client& http, CredentialsProvider& credentials,
               const core::Clock& clock, Sleeper& sleeper, core::LoggerPtr logger);

  core::Result<InvokeOutcome> invoke(const InvokeRequest& request);

  /// https://lambda.<region>.amazonaws.com (amazonaws.com.cn for cn-*) or the override.
  std::string endpoint_for(const FunctionRef& function) const;

 private:
  LambdaSettings settings_;
  core::http::Client& http_;
  CredentialsProvider& credentials_;
  const core::Clock& clock_;
  Sleeper& sleeper_;
  core::LoggerPtr logger_;
};

/// The real sleeper.
class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) override;
};

/// The least-privilege IAM policy document (JSON) allowing lambda:InvokeFunction
/// on exactly these functions (and their versions/aliases when unqualified).
/// Needs full ARNs (a bare name has no account): invalid_input otherwise.
core::Result<std::string> invoke_policy_json(const std::vector<FunctionRef>& functions);

}  // namespace aws
