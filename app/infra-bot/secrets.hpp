#pragma once

// Start-up resolution of secret variables given as store references (SLACK_BOT_TOKEN=ssm:/…,
// secretsmanager:…#key): read once, before anything uses them, fail closed.

#include <memory>
#include <ostream>

#include "aws/credentials.hpp"
#include "aws/lambda_client.hpp"
#include "aws/secret_resolver.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"

namespace app {

/// Reads store references the one way `run` and `doctor` share: SSM / Secrets Manager through
/// the default credential chain, at AWS_ENDPOINT_URL_SSM / _SECRETS_MANAGER (from `config`).
/// Each value is registered with the redactor (as read, and trimmed as apply_secret keeps
/// it) before read() returns it.
class SecretReader {
 public:
  SecretReader(const core::Config& config, const core::Environment& env, core::LoggerPtr logger,
               core::Redactor redactor);
  core::Result<std::string> read(const core::SecretRef& ref);

 private:
  core::SystemClock clock_;  // SigV4 needs real time
  core::Redactor redactor_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  aws::ThreadSleeper sleeper_;
  aws::SecretResolver resolver_;
};

/// Reads every reference in `config.secret_refs`, checks each value (core::apply_secret) and
/// stores it in its Config member. On the first failure writes ONE line to `err` —
/// "infra-bot: SLACK_BOT_TOKEN: ssm:/x: not found (SSM ParameterNotFound)" — and returns
/// false: the caller exits 1, never running with the token unset. True at once when there is
/// nothing to resolve.
bool resolve_secrets(core::Config& config, const core::Environment& env, core::LoggerPtr logger,
                     core::Redactor redactor, std::ostream& err);

}  // namespace app
