#include "retry.hpp"

#include <algorithm>
#include <array>
#include <thread>

#include "core/retry.hpp"
#include "core/strings.hpp"

namespace aws::detail {
namespace {

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& codes, std::string_view code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

std::string clean_code(std::string_view raw) {
  raw = core::trim(raw);
  if (auto colon = raw.find(':'); colon != std::string_view::npos) raw = raw.substr(0, colon);
  if (auto hash = raw.rfind('#'); hash != std::string_view::npos) raw = raw.substr(hash + 1);
  return std::string(core::trim(raw));
}

std::string short_code(std::string_view code) {
  constexpr std::string_view kSuffix = "Exception";
  if (code.size() > kSuffix.size() && code.ends_with(kSuffix)) code.remove_suffix(kSuffix.size());
  return std::string(code);
}

bool is_throttling(long status, std::string_view code) {
  static constexpr std::array<std::string_view, 12> kCodes{
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "RequestThrottled",
      "SlowDown",
      "EC2ThrottledException",
  };
  return status == 429 || listed(kCodes, code);
}

bool is_transient_code(std::string_view code) {
  static constexpr std::array<std::string_view, 8> kCodes{
      "RequestTimeout",  "RequestTimeoutException", "PriorRequestNotComplete",
      "InternalError",   "InternalFailure",         "InternalServiceException",
      "ServerException", "ServiceUnavailable",
  };
  return listed(kCodes, code);
}

bool is_credentials_rejection(std::string_view code) {
  static constexpr std::array<std::string_view, 3> kCodes{
      "ExpiredToken",
      "ExpiredTokenException",
      "UnrecognizedClientException",
  };
  return listed(kCodes, code);
}

std::optional<std::chrono::seconds> retry_after(const core::http::Response& response) {
  auto value = response.header("Retry-After");
  if (!value) return std::nullopt;
  return core::retry::parse_retry_after(*value);
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::success:
      return "success";
    case Verdict::throttled:
      return "throttled";
    case Verdict::transient:
      return "transient";
    case Verdict::indeterminate:
      return "indeterminate";
    case Verdict::credentials:
      return "credentials";
    case Verdict::permanent:
      return "permanent";
  }
  return "?";
}

int max_attempts(const RetryPolicy& policy) { return std::max(1, policy.max_attempts); }

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry_index, double unit) {
  return core::retry::full_jitter(policy.base_delay, policy.max_delay, retry_index, unit);
}

bool RetryState::again(int attempt, const Classified& classified) {
  bool retry = false;
  switch (classified.verdict) {
    case Verdict::success:
    case Verdict::permanent:
      return false;
    case Verdict::throttled:
    case Verdict::transient:
      retry = true;
      break;
    case Verdict::indeterminate:
      retry = loop_.repeatable;
      break;
    case Verdict::credentials:
      retry = !credentials_retried_;
      credentials_retried_ = true;
      break;
  }
  if (!retry || attempt >= max_attempts(loop_.policy)) return false;

  // New credentials are the remedy for rejected ones: no wait.
  std::chrono::milliseconds delay{0};
  if (classified.verdict != Verdict::credentials) {
    delay = classified.retry_after ? std::chrono::duration_cast<std::chrono::milliseconds>(std::min(
                                         *classified.retry_after, loop_.policy.max_retry_after))
                                   : backoff_delay(loop_.policy, backoffs_, loop_.random.unit());
    ++backoffs_;
  }
  loop_.logger.debug("{} retry: {} reason={} after_ms={}", loop_.log_prefix, loop_.log_fields,
                     to_string(classified.verdict), delay.count());
  if (classified.verdict != Verdict::credentials) loop_.sleeper.sleep_for(delay);
  return true;
}

}  // namespace aws::detail

namespace aws {

void ThreadSleeper::sleep_for(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

}  // namespace aws
