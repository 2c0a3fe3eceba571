#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace aws::detail {

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
