#include "core/secret_ref.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace core {
namespace {

constexpr std::string_view kSsmPrefix = "ssm:";
constexpr std::string_view kSecretsManagerPrefix = "secretsmanager:";

// SSM parameter names: letters, digits and `_.-/`, plus the ARN's `:` (and a `:version` or
// `:label` selector). 2048 is the longest ARN form SSM takes.
bool valid_parameter(std::string_view id) {
  if (id.empty() || id.size() > 2048) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '/' || c == ':';
  });
}

// Secrets Manager names: letters, digits and `/_+=.@-`; an ARN adds `:`. `#` is in neither, so
// it can separate the JSON key.
bool valid_secret_id(std::string_view id) {
  if (id.empty() || id.size() > 2048) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '+' || c == '=' || c == '.' || c == '@' || c == '-' || c == ':';
  });
}

bool valid_json_key(std::string_view key) {
  return !key.empty() && key.size() <= 256 && std::none_of(key.begin(), key.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '#';
  });
}

}  // namespace

std::string SecretRef::to_string() const {
  if (store == SecretStore::ssm) return fmt::format("{}{}", kSsmPrefix, id);
  if (json_key.empty()) return fmt::format("{}{}", kSecretsManagerPrefix, id);
  return fmt::format("{}{}#{}", kSecretsManagerPrefix, id, json_key);
}

std::string SecretRef::arn_region() const {
  // arn:<partition>:<service>:<region>:<account>:<resource>
  if (!id.starts_with("arn:")) return {};
  std::size_t start = 0;
  for (int field = 0; field < 3; ++field) {
    start = id.find(':', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  const auto end = id.find(':', start);
  if (end == std::string::npos) return {};
  return id.substr(start, end - start);
}

Result<std::optional<SecretRef>> parse_secret_ref(std::string_view text) {
  if (text.starts_with(kSsmPrefix)) {
    const auto id = text.substr(kSsmPrefix.size());
    if (!valid_parameter(id)) {
      return make_error(ErrorCode::config,
                        "expected ssm:<parameter name or ARN> such as ssm:/infra-bot/slack/bot "
                        "(letters, digits and _.-/ only)");
    }
    return std::optional<SecretRef>(SecretRef{SecretStore::ssm, std::string(id), {}});
  }
  if (text.starts_with(kSecretsManagerPrefix)) {
    const auto rest = text.substr(kSecretsManagerPrefix.size());
    const auto hash = rest.find('#');
    const auto id = rest.substr(0, hash);
    const auto key = hash == std::string_view::npos ? std::string_view{} : rest.substr(hash + 1);
    if (!valid_secret_id(id) || (hash != std::string_view::npos && !valid_json_key(key))) {
      return make_error(ErrorCode::config,
                        "expected secretsmanager:<secret name or ARN>[#<JSON key>] such as "
                        "secretsmanager:infra-bot/slack#bot_token");
    }
    return std::optional<SecretRef>(
        SecretRef{SecretStore::secrets_manager, std::string(id), std::string(key)});
  }
  return std::optional<SecretRef>();
}

}  // namespace core
