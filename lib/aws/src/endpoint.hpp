#pragma once

// Endpoint URLs of AWS services (private to lib/aws): the SDKs' rule
// (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, else the regional host)
// and the split of a URL into what curl connects to and what Host carries.

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace aws::detail {

/// The endpoint split into what the URL needs and what Host carries.
struct Endpoint {
  std::string origin;     ///< scheme://authority exactly as configured (curl connects here)
  std::string host;       ///< Host header: lower-case, ":port" only when not the scheme default
  std::string base_path;  ///< a path prefix in the override, without a trailing '/'
};

/// Parses an endpoint URL (`https://host[:port][/path]`); a query, fragment,
/// user info (any '@') or bad port is a config Error naming `service`
/// ("Lambda", "ECS"). The Error shows the URL without its user info.
core::Result<Endpoint> parse_endpoint(std::string_view url, std::string_view service);

/// https://<prefix>.<region>.amazonaws.com (amazonaws.com.cn for cn-* regions
/// or the aws-cn partition).
std::string regional_endpoint(std::string_view prefix, std::string_view region,
                              std::string_view partition = {});

}  // namespace aws::detail

namespace core {
class Environment;
}

namespace aws::detail {

/// The SDKs' endpoint override for a service from the environment:
/// AWS_ENDPOINT_URL_<SERVICE_ID> (e.g. "STS", "SSO", "SSO_OIDC"), else
/// AWS_ENDPOINT_URL; empty when neither is set (non-empty) or when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
std::string endpoint_override(const core::Environment& env, std::string_view service_id);

}  // namespace aws::detail
