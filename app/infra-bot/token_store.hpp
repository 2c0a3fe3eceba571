#pragma once

// register's TokenStore on SSM Parameter Store and Secrets Manager (see register.hpp for the
// document it holds).

#include <memory>

#include "aws/secrets_manager_client.hpp"
#include "aws/ssm_client.hpp"
#include "core/ids.hpp"
#include "core/secret_ref.hpp"
#include "register.hpp"

namespace app::reg {

/// One SecureString parameter: GetParameter WithDecryption; PutParameter Type=SecureString,
/// Overwrite only when the caller says `replace`.
std::unique_ptr<TokenStore> make_ssm_store(aws::SsmApi& ssm, core::SecretRef ref);

/// One secret's SecretString: GetSecretValue; CreateSecret when it was not found, otherwise
/// PutSecretValue (only when the caller says `replace`), each with a fresh ClientRequestToken.
std::unique_ptr<TokenStore> make_secrets_manager_store(aws::SecretsManagerApi& secrets,
                                                       core::SecretRef ref, core::IdSource& ids);

/// Whether `ref` can be written as a whole document: no `#key` (Secrets Manager) and no
/// `:version` / `:label` selector (SSM). A config Error naming the problem otherwise.
core::Status check_writable(const core::SecretRef& ref);

}  // namespace app::reg
