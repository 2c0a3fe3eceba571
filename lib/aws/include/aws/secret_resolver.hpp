#pragma once

#include <string>

#include "aws/credentials.hpp"
#include "aws/lambda_client.hpp"
#include "aws/outcome.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "core/secret_ref.hpp"

namespace aws {

struct SecretResolverSettings {
  std::string region;                        ///< AWS_REGION; an ARN's own region wins
  std::string ssm_endpoint_url;              ///< AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL
  std::string secrets_manager_endpoint_url;  ///< AWS_ENDPOINT_URL_SECRETS_MANAGER / …
};

/// Reads the value a core::SecretRef points at: SSM GetParameter (WithDecryption=true) or
/// Secrets Manager GetSecretValue (its SecretString, or one string member of it as JSON). The
/// one place any secret variable is resolved (Slack tokens today, other chat tokens later).
///
/// On failure the Error's user_message is one line, "<reference>: <what went wrong>", where
/// what went wrong is one of: not found, access denied, cannot be decrypted, is empty, holds no
/// SecretString, is not a JSON object / has no string key …, could not be read (AWS
/// unavailable or no credentials). It never holds the secret's value. Thread-compatible.
///
/// Example:
///   aws::SecretResolver resolver(settings, http, credentials, clock, sleeper, logger);
///   auto token = resolver.resolve(ref);                // ref from core::parse_secret_ref
///   if (!token) { std::cerr << token.error().user_message; return 1; }
///   redactor.add_secret(*token);                       // before anything could log it
class SecretResolver {
 public:
  SecretResolver(SecretResolverSettings settings, core::http::Client& http,
                 CredentialsProvider& credentials, const core::Clock& clock, Sleeper& sleeper,
                 core::LoggerPtr logger);

  core::Result<std::string> resolve(const core::SecretRef& ref);

 private:
  core::Result<std::string> from_ssm(const core::SecretRef& ref, const std::string& region);
  core::Result<std::string> from_secrets_manager(const core::SecretRef& ref,
                                                 const std::string& region);

  SecretResolverSettings settings_;
  core::http::Client& http_;
  CredentialsProvider& credentials_;
  const core::Clock& clock_;
  Sleeper& sleeper_;
  core::LoggerPtr logger_;
};

/// How a failed GetParameter / GetSecretValue reads for an operator (pure; see SecretResolver):
/// "<reference>: not found (SSM ParameterNotFound)", "… access denied (…) — <AWS's message>",
/// "… cannot be decrypted (…)", "… could not be read: <why>".
core::Error describe_secret_failure(const core::SecretRef& ref, const CallError& failure);

}  // namespace aws
