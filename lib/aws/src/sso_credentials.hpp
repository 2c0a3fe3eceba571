#pragma once

// IAM Identity Center (SSO) role credentials (private to lib/aws): the token
// the AWS CLI cached at `aws sso login`, then the portal's GetRoleCredentials
// (aws-services.md §7).

#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/redactor.hpp"
#include "core/result.hpp"

namespace aws::detail {

/// What an SSO profile says (the sso-session form, or the legacy keys).
struct SsoProfile {
  std::string profile;       ///< for messages
  std::string session_name;  ///< `sso_session`; empty for the legacy form
  std::string start_url;
  std::string region;  ///< sso_region (of the portal, not of the resources)
  std::string account_id;
  std::string role_name;
};

/// Lower-case hex SHA-1 of `text`: the token cache's file name (without .json)
/// is that of the sso-session name, or of the start URL for legacy profiles.
std::string sha1_hex(std::string_view text);

/// Reads ~/.aws/sso/cache/<sha1>.json (HOME from `env`), registers its access
/// token with `redactor`, and asks the portal (AWS_ENDPOINT_URL_SSO, else
/// AWS_ENDPOINT_URL, else https://portal.sso.<sso_region>.amazonaws.com)
/// GET /federation/credentials with the x-amz-sso_bearer_token header. A token
/// past its expiresAt is not sent: the error says to run `aws sso login`.
/// Errors name the profile and the cache file, never the token.
core::Result<Credentials> fetch_sso_credentials(const SsoProfile& sso, const core::Environment& env,
                                                core::http::Client& http, const core::Clock& clock,
                                                core::Redactor& redactor);

}  // namespace aws::detail
