#include "aws/secret_resolver.hpp"

#include <fmt/format.h>

#include "aws/secrets_manager_client.hpp"
#include "aws/ssm_client.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

namespace aws {
namespace {

std::string_view store_name(const core::SecretRef& ref) {
  return ref.store == core::SecretStore::ssm ? "SSM" : "Secrets Manager";
}

bool mentions_kms(std::string_view text) {
  const auto lower = core::to_lower(text);
  return lower.find("kms") != std::string::npos || lower.find("ciphertext") != std::string::npos;
}

core::Error failed(const core::SecretRef& ref, core::ErrorCode code, std::string_view what,
                   std::string_view detail) {
  return core::make_error(code, fmt::format("{}: {}", ref.to_string(), what),
                          fmt::format("secret {}: {}", ref.to_string(), detail));
}

}  // namespace

core::Error describe_secret_failure(const core::SecretRef& ref, const CallError& failure) {
  const std::string_view code = failure.code;
  const std::string said =
      failure.message.empty()
          ? std::string()
          : fmt::format(" — {}", core::utf8_truncate(core::trim(failure.message), 200));
  const std::string aws =
      code.empty() ? std::string() : fmt::format(" ({} {})", store_name(ref), failure.code);
  const std::string& detail = failure.error.detail;
  using core::ErrorCode;
  // Not found: SSM ParameterNotFound / ParameterVersionNotFound, Secrets Manager
  // ResourceNotFoundException.
  if (code == "ParameterNotFound" || code == "ParameterVersionNotFound" ||
      code == "ResourceNotFoundException") {
    return failed(ref, ErrorCode::not_found, fmt::format("not found{}", aws), detail);
  }
  // KMS: SSM InvalidKeyId, Secrets Manager DecryptionFailure, KMS's own codes, and an access
  // denial that is about the key (no kms:Decrypt on it), which both services pass on.
  if (code == "InvalidKeyId" || code == "DecryptionFailure" || code.starts_with("KMS") ||
      (failure.error.code == ErrorCode::denied && mentions_kms(failure.message))) {
    return failed(ref, ErrorCode::denied, fmt::format("cannot be decrypted{}{}", aws, said),
                  detail);
  }
  if (failure.error.code == ErrorCode::denied) {
    return failed(ref, ErrorCode::denied, fmt::format("access denied{}{}", aws, said), detail);
  }
  if (failure.error.code == ErrorCode::unavailable ||
      failure.error.code == ErrorCode::indeterminate) {
    // Throttled, 5xx, unreachable or timed out: the ServiceClient's message says which.
    return failed(ref, ErrorCode::unavailable,
                  fmt::format("could not be read: {}", failure.error.user_message), detail);
  }
  if (code.empty()) {
    // No answer from AWS: no credentials, a bad endpoint, …
    return failed(ref, failure.error.code,
                  fmt::format("could not be read: {}", failure.error.user_message), detail);
  }
  return failed(ref, failure.error.code, fmt::format("could not be read{}{}", aws, said), detail);
}

SecretResolver::SecretResolver(SecretResolverSettings settings, core::http::Client& http,
                               CredentialsProvider& credentials, const core::Clock& clock,
                               Sleeper& sleeper, core::LoggerPtr logger)
    : settings_(std::move(settings)),
      http_(http),
      credentials_(credentials),
      clock_(clock),
      sleeper_(sleeper),
      logger_(std::move(logger)) {}

core::Result<std::string> SecretResolver::resolve(const core::SecretRef& ref) {
  std::string region = ref.arn_region();
  if (region.empty()) region = settings_.region;
  auto value = ref.store == core::SecretStore::ssm ? from_ssm(ref, region)
                                                   : from_secrets_manager(ref, region);
  if (value && core::trim(*value).empty()) {
    return failed(ref, core::ErrorCode::config, "is empty", "the stored value is empty");
  }
  return value;
}

core::Result<std::string> SecretResolver::from_ssm(const core::SecretRef& ref,
                                                   const std::string& region) {
  ServiceSettings settings;
  settings.region = region;
  settings.endpoint_url = settings_.ssm_endpoint_url;
  auto service = ServiceClient::create(kSsmService, std::move(settings), http_, credentials_,
                                       clock_, sleeper_, logger_);
  if (!service) return failed(ref, core::ErrorCode::config, service.error().user_message, "");
  SsmClient ssm(std::move(service).value());
  auto parameter = ssm.get_parameter(ref.id, true);
  if (!parameter) return describe_secret_failure(ref, parameter.failure());
  if (parameter->type != "SecureString") {
    // Readable by anyone with ssm:GetParameter* and shown in the console: worth a line.
    logger_->warn("secret {} is an SSM {} parameter, not a SecureString", ref.to_string(),
                  parameter->type.empty() ? "untyped" : parameter->type);
  }
  return std::move(parameter->value);
}

core::Result<std::string> SecretResolver::from_secrets_manager(const core::SecretRef& ref,
                                                               const std::string& region) {
  ServiceSettings settings;
  settings.region = region;
  settings.endpoint_url = settings_.secrets_manager_endpoint_url;
  auto service = ServiceClient::create(kSecretsManagerService, std::move(settings), http_,
                                       credentials_, clock_, sleeper_, logger_);
  if (!service) return failed(ref, core::ErrorCode::config, service.error().user_message, "");
  SecretsManagerClient secrets(std::move(service).value());
  auto secret = secrets.get_secret_value(ref.id);
  if (!secret) return describe_secret_failure(ref, secret.failure());
  if (!secret->secret_string) {
    return failed(
        ref, core::ErrorCode::invalid_input,
        secret->binary ? "holds a SecretBinary, not a SecretString" : "holds no SecretString",
        "no SecretString in the answer");
  }
  if (ref.json_key.empty()) return std::move(*secret->secret_string);
  // Never echo the text: it is the secret, whatever shape it has.
  auto document = core::json::parse(*secret->secret_string);
  if (!document || !document->IsObject()) {
    return failed(ref, core::ErrorCode::invalid_input,
                  fmt::format("is not a JSON object, so it has no key \"{}\"", ref.json_key),
                  "SecretString is not a JSON object");
  }
  auto member = core::json::get_string(*document, ref.json_key);
  if (!member) {
    return failed(ref, core::ErrorCode::not_found,
                  fmt::format("has no string key \"{}\"", ref.json_key),
                  "the key is missing or not a string");
  }
  return std::string(*member);
}

}  // namespace aws
