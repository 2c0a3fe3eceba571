#pragma once

// The pieces every retry loop shares (design §9: retries live in core):
// full-jitter backoff and Retry-After parsing. Slack's Web API, apps.connections.open,
// AWS (lib/aws/src/retry.hpp) and the container credential source all use these.

#include <chrono>
#include <optional>
#include <string_view>

#include "core/random.hpp"

namespace core::retry {

/// Full jitter (AWS architecture blog "Exponential Backoff And Jitter"):
/// unit · min(cap, base · 2^retry_index), with unit in [0, 1] (clamped; NaN
/// counts as 0) and the doubling stopping at the cap (no overflow for any
/// retry_index; a negative one counts as 0). A base or cap of zero or less
/// gives 0; unit = 1 gives the whole ceiling.
std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int retry_index, double unit);
/// The same with a unit drawn from `random`.
std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int retry_index, RandomSource& random);

/// A Retry-After header value in delay-seconds ("30", " 2 "): the wait as
/// given; nullopt when empty, negative, not a number or an HTTP date (no
/// service infra-bot calls sends dates). Absurdly large values saturate at
/// kMaxRetryAfter so that adding them to a time point cannot overflow; callers
/// decide their own ceiling, if any.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

inline constexpr std::chrono::seconds kMaxRetryAfter{std::chrono::hours(24 * 365)};

}  // namespace core::retry
