#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace core {

/// Where a secret's value is kept when a variable names a store instead of holding the value.
enum class SecretStore {
  ssm,              ///< SSM Parameter Store: GetParameter with WithDecryption=true
  secrets_manager,  ///< Secrets Manager: GetSecretValue, its SecretString
};

/// A reference to a secret, as written in a variable:
/// - `ssm:<parameter name or ARN>`, e.g. `ssm:/infra-bot/slack/bot-token` (a `:<version>` or
///   `:<label>` selector is passed on as SSM takes it);
/// - `secretsmanager:<secret name or ARN>[#<key>]`, e.g. `secretsmanager:infra-bot/slack#bot`:
///   with `#key`, the SecretString is a JSON object and the value is its string member `key`.
///
/// Parsing is pure (core has no AWS); the app resolves a reference with the aws clients.
struct SecretRef {
  SecretStore store = SecretStore::ssm;
  std::string id;        ///< the parameter name / secret id (name or ARN), as written
  std::string json_key;  ///< secrets_manager only; empty = the whole SecretString

  /// The reference as written (`ssm:/a/b`, `secretsmanager:s#k`): safe to show, never a value.
  std::string to_string() const;
  /// The region of an ARN id (`arn:aws:ssm:eu-west-1:…`); empty for a plain name.
  std::string arn_region() const;

  friend bool operator==(const SecretRef&, const SecretRef&) = default;
};

/// The reference `text` holds: nullopt when it is not one (it starts with neither `ssm:` nor
/// `secretsmanager:`, so it is a literal value); a config Error saying what is wrong when it
/// starts like one but is malformed. The Error never repeats `text` beyond its store prefix.
Result<std::optional<SecretRef>> parse_secret_ref(std::string_view text);

}  // namespace core
