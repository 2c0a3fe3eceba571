#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"
#include "core/result.hpp"

namespace aws {

/// AWS credentials. Never log them; the chain registers them with the redactor.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;                  ///< empty for long-term keys
  std::optional<core::TimePoint> expiration;  ///< none for long-term keys

  friend bool operator==(const Credentials&, const Credentials&) = default;
};

/// A source of credentials. get() is thread-safe and cheap when cached.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  /// Current credentials, or an Error (code unavailable) whose user_message
  /// says what was tried.
  virtual core::Result<Credentials> get() = 0;
};

/// Where the default chain may look (all from the environment, in the SDKs'
/// order):
///  1. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN;
///  2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
///     (+ AWS_ROLE_SESSION_NAME), else the profile's web_identity_token_file +
///     role_arn (STS AssumeRoleWithWebIdentity, unsigned; the file is read on
///     every fetch);
///  3. the profile AWS_DEFAULT_PROFILE / AWS_PROFILE / "default" in the shared
///     files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, HOME), in
///     botocore's order: role_arn (STS AssumeRole signed with the
///     source_profile's credentials, chains included, or credential_source
///     Environment / Ec2InstanceMetadata / EcsContainer; mfa_serial and cycles
///     are config errors), SSO (the token `aws sso login` cached under
///     ~/.aws/sso/cache, refreshed through SSO OIDC for sso-session profiles;
///     portal GetRoleCredentials), static keys of the credentials file,
///     credential_process, static keys of the config file;
///  4. the ECS container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on
///     169.254.170.2, else AWS_CONTAINER_CREDENTIALS_FULL_URI on an allowed
///     host, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE /
///     AWS_CONTAINER_AUTHORIZATION_TOKEN);
///  5. EC2 IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT; off with
///     AWS_EC2_METADATA_DISABLED=true).
/// STS, the SSO portal and SSO OIDC are reached at AWS_ENDPOINT_URL_STS /
/// _SSO / _SSO_OIDC, else AWS_ENDPOINT_URL, else the regional endpoint
/// (AWS_REGION / AWS_DEFAULT_REGION / the profile's region; sso_region).
///
/// The chain stops at the first source that has credentials. Expiring
/// credentials are cached and refreshed ahead of expiry by a single caller
/// while others keep using the cached ones; a failed refresh keeps the
/// still-valid old credentials and is logged once. `http` and `clock` must
/// outlive the provider.
///
/// Whatever the source (environment, web identity, profile, container, IMDS),
/// every set of credentials the chain obtains — the first and each refresh — is registered
/// with `redactor` (a handle: pass the one the logger and the Slack front
/// share) before any caller gets it: key id, secret key and session token, as
/// rotating secrets (Redactor::add_rotating_secret). So are the tokens and
/// intermediate credentials met on the way (web identity token, SSO access and
/// refresh tokens, a role chain's source credentials).
///
/// Errors (user_message) name files, profiles and STS codes: they are for the
/// log. Clients (LambdaClient, ServiceClient) show users
/// kNoCredentialsUserMessage instead and keep the text in the detail.
std::unique_ptr<CredentialsProvider> make_default_credentials_chain(const core::Environment& env,
                                                                    core::http::Client& http,
                                                                    const core::Clock& clock,
                                                                    core::LoggerPtr logger,
                                                                    core::Redactor redactor);

/// What a user (Slack, the console) is told when the bot has no AWS
/// credentials: the Error's detail and the log keep the full text (files,
/// profiles, STS codes), which is for operators only.
inline constexpr std::string_view kNoCredentialsUserMessage =
    "The bot cannot reach AWS — an operator has the details.";

/// Fixed credentials (tests, tools).
std::unique_ptr<CredentialsProvider> make_static_credentials(Credentials credentials);

}  // namespace aws
