#pragma once

// Start-up resolution of secret variables given as store references (SLACK_BOT_TOKEN=ssm:/…,
// secretsmanager:…#key): read once, before anything uses them, fail closed.

#include <ostream>

#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"

namespace app {

/// Reads every reference in `config.secret_refs` (SSM / Secrets Manager through the default
/// credential chain and AWS_ENDPOINT_URL_SSM / _SECRETS_MANAGER), registers each value with
/// `redactor` before anything else sees it, checks it (core::apply_secret) and stores it in its
/// Config member. On the first failure writes ONE line to `err` — "infra-bot: SLACK_BOT_TOKEN:
/// ssm:/x: not found (SSM ParameterNotFound)" — and returns false: the caller exits 1, never
/// running with the token unset. True at once when there is nothing to resolve.
bool resolve_secrets(core::Config& config, const core::Environment& env, core::LoggerPtr logger,
                     core::Redactor redactor, std::ostream& err);

}  // namespace app
