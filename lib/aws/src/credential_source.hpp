#pragma once

// The pieces of the default credential chain (private to the aws layer).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "core/clock.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/redactor.hpp"
#include "core/result.hpp"

namespace aws::detail {

/// One place the chain looks for credentials. fetch() is never called by two
/// threads at once: the cache in front of the chain single-flights it.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;

  /// Short name for the chain's error and log lines: "environment",
  /// `profile "dev"`, "container", "IMDS".
  virtual std::string name() const = 0;

  /// Where the last credentials came from, for log lines (never a secret).
  virtual std::string describe() const { return name(); }

  /// Credentials, or an Error whose user_message says why not (never a secret):
  ///   not_found   — this source is not set up here; the chain moves on;
  ///   unavailable — set up, but fetching failed;
  ///   config      — set up wrongly (the message names the variable).
  virtual core::Result<Credentials> fetch() = 0;
};

using CredentialSourcePtr = std::unique_ptr<CredentialSource>;

CredentialSourcePtr make_environment_source(const core::Environment& env);
/// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, else the selected profile's
/// web_identity_token_file + role_arn: STS AssumeRoleWithWebIdentity.
CredentialSourcePtr make_web_identity_source(const core::Environment& env, core::http::Client& http,
                                             const core::Clock& clock, core::Redactor redactor);
/// The selected profile: assume-role (source_profile chains or
/// credential_source), SSO, static keys, credential_process. `redactor` learns
/// tokens and intermediate credentials on the way.
CredentialSourcePtr make_profile_source(const core::Environment& env, core::http::Client& http,
                                        const core::Clock& clock, core::Redactor redactor);
CredentialSourcePtr make_container_source(const core::Environment& env, core::http::Client& http);
CredentialSourcePtr make_imds_source(const core::Environment& env, core::http::Client& http,
                                     const core::Clock& clock);

/// Parses the JSON that the container endpoint and IMDS return
/// (AccessKeyId, SecretAccessKey, Token, Expiration). `origin` names the
/// endpoint in errors; the body never appears in one.
core::Result<Credentials> parse_credentials_json(std::string_view body, std::string_view origin);

/// "scheme://host[:port]" of a URL: no user info, path or query, so it is safe
/// to log (a path may carry a per-task id, a query a token).
std::string url_origin(std::string_view url);

/// True when the text holds CR or LF (not allowed in a header value).
bool has_line_break(std::string_view text);

}  // namespace aws::detail
