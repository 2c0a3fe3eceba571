#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "core/random.hpp"
#include "core/result.hpp"

namespace aws::detail {

/// How the container source waits before its second attempt (after a 5xx or
/// no answer): a full-jitter backoff (core::retry, base 250 ms). Process-wide,
/// so that tests reach the source inside the credential chain: they swap it
/// in and never sleep.
struct ContainerRetryWait {
  std::function<void(std::chrono::milliseconds)> sleep;  ///< empty: std::this_thread::sleep_for
  core::RandomSource* random = nullptr;                  ///< nullptr: core::system_random()
};

/// Replaces the wait (thread-safe); returns the one it replaced, to put back.
ContainerRetryWait set_container_retry_wait(ContainerRetryWait wait);

/// The ECS agent's credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
inline constexpr std::string_view kEcsCredentialsHost = "http://169.254.170.2";

/// Checks an AWS_CONTAINER_CREDENTIALS_FULL_URI: any https URL, or http on a
/// host the SDKs allow: loopback (127.0.0.0/8, ::1, "localhost"), the ECS
/// agent (169.254.170.2) or EKS Pod Identity (169.254.170.23, fd00:ec2::23).
/// Hosts are checked as written, not resolved (as botocore does): a name other
/// than "localhost" is refused for http, so DNS cannot redirect the request.
/// The error (code config) names the variable and the host, never the path.
core::Status check_full_uri(std::string_view url);

}  // namespace aws::detail
