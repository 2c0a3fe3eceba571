#pragma once

// AWS's standard retry mode (private to lib/aws), shared by LambdaClient and
// ServiceClient: the error codes that decide whether an attempt is repeated,
// and the one attempt loop (shared/notes/aws.md §3.5, aws-services.md §12.1).
//
// A client gives the loop a function that builds, signs and sends one attempt
// (fresh credentials and signature every time) and a classifier of what came
// back; the loop decides whether to send again, waits through the Sleeper and
// returns the last attempt's result:
//
//   auto [last, attempts] = detail::run_attempts(loop, send, classify);

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aws/lambda_client.hpp"  // RetryPolicy, Sleeper
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/random.hpp"

namespace aws::detail {

// ---------------------------------------------------------------- error codes

/// botocore's normalisation of an error code: cut at the first ':', keep what
/// follows the last '#' ("com.amazonaws.ecs#ClusterNotFoundException:http://…"
/// → "ClusterNotFoundException").
std::string clean_code(std::string_view raw);

/// "AccessDeniedException" → "AccessDenied" (shorter in a Slack message).
std::string short_code(std::string_view code);

/// HTTP 429 or one of standard mode's throttling codes (botocore
/// retries/standard.py). LimitExceededException is left out: in the services
/// infra-bot calls it is a quota, not a rate (ECS, Secrets Manager; notes
/// §12.1), so a service where it means throttling must say so itself.
bool is_throttling(long status, std::string_view code);

/// Standard mode's transient codes, plus the internal-error codes of the
/// services infra-bot calls. Whether the operation ran is unknown.
bool is_transient_code(std::string_view code);

/// Credentials AWS does not accept (expired or unknown token): fetch them
/// again and retry once. Decided by the code alone: JSON 1.0/1.1 services
/// answer these with 400, Lambda (REST-JSON) with 403.
bool is_credentials_rejection(std::string_view code);

/// A Retry-After header in whole seconds (Lambda's 429 uses seconds), read by
/// core::retry::parse_retry_after: nullopt when absent, negative or not a
/// number (an HTTP date is ignored); a huge one saturates (the loop caps it
/// at RetryPolicy::max_retry_after).
std::optional<std::chrono::seconds> retry_after(const core::http::Response& response);

// ---------------------------------------------------------------- the loop

/// What one attempt came to, as far as repeating it goes.
enum class Verdict {
  success,
  throttled,      ///< AWS refused for rate: repeated after a backoff or Retry-After
  transient,      ///< it surely did not run (503, nothing sent): repeated
  indeterminate,  ///< it may have run (500, 504, a read timeout): repeated only if repeatable
  credentials,    ///< credentials rejected: fetched again and repeated once, without waiting
  permanent,      ///< repeating cannot help
};

std::string_view to_string(Verdict verdict);

struct Classified {
  Verdict verdict = Verdict::permanent;
  std::optional<std::chrono::seconds> retry_after;  ///< the server's wait, if it gave one
};

/// The policy's attempt count, at least 1.
int max_attempts(const RetryPolicy& policy);

/// Full jitter (core::retry::full_jitter): unit * min(base * 2^retry_index,
/// max), unit clamped to [0, 1].
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry_index, double unit);

/// How one call is retried.
struct AttemptLoop {
  const RetryPolicy& policy;
  /// The call may be sent again after it may have run (a read, or an
  /// idempotent change); throttling and nothing-sent failures are repeated
  /// whatever this says.
  bool repeatable = false;
  Sleeper& sleeper;
  /// rand(0,1) for the full jitter: core::system_random() in the clients, a
  /// core::FixedRandom in tests.
  core::RandomSource& random;
  spdlog::logger& logger;
  std::string_view log_prefix;  ///< "lambda invoke" → "lambda invoke retry: …"
  std::string_view log_fields;  ///< "function=…" (what the call is)
};

/// The loop's bookkeeping between attempts.
class RetryState {
 public:
  explicit RetryState(const AttemptLoop& loop) : loop_(loop) {}

  /// After attempt `attempt` (1-based) ended in `classified`: whether to send
  /// another. Waits the backoff (or the capped Retry-After) before saying yes.
  bool again(int attempt, const Classified& classified);

 private:
  const AttemptLoop& loop_;
  int backoffs_ = 0;  ///< retries that waited so far: the exponent of the backoff
  bool credentials_retried_ = false;
};

template <class Result>
struct Attempted {
  Result last;   ///< what the last attempt gave
  int attempts;  ///< how many were made
};

/// Runs `send(attempt)` (1-based) until `classify(result)` says success or
/// the loop gives up; returns the last result.
template <class Send, class Classify>
auto run_attempts(const AttemptLoop& loop, Send&& send, Classify&& classify)
    -> Attempted<std::invoke_result_t<Send&, int>> {
  RetryState state(loop);
  for (int attempt = 1;; ++attempt) {
    auto result = send(attempt);
    if (!state.again(attempt, classify(std::as_const(result)))) return {std::move(result), attempt};
  }
}

}  // namespace aws::detail
