#include "token_store.hpp"

#include <fmt/format.h>

#include "aws/secret_resolver.hpp"

namespace app::reg {
namespace {

bool not_found(const aws::CallError& failure) {
  return failure.is("ParameterNotFound") || failure.is("ResourceNotFoundException");
}

core::Error write_failure(const core::SecretRef& ref, std::string_view operation,
                          const aws::CallError& failure) {
  const std::string said = failure.message.empty() ? std::string() : " — " + failure.message;
  const std::string code = failure.code.empty() ? std::string() : " (" + failure.code + ")";
  if (failure.code.empty()) {
    return core::make_error(
        failure.error.code,
        fmt::format("{}: {} failed: {}", ref.to_string(), operation, failure.error.user_message),
        failure.error.detail);
  }
  return core::make_error(failure.error.code,
                          fmt::format("{}: {} refused{}{}", ref.to_string(), operation, code, said),
                          failure.error.detail);
}

class SsmTokenStore final : public TokenStore {
 public:
  SsmTokenStore(aws::SsmApi& ssm, core::SecretRef ref) : ssm_(ssm), ref_(std::move(ref)) {}

  // TokenStore
  std::string describe() const override { return ref_.to_string(); }

  core::Result<std::optional<std::string>> read() override {
    auto parameter = ssm_.get_parameter(ref_.id, true);
    if (!parameter) {
      if (not_found(parameter.failure())) return std::optional<std::string>();
      return aws::describe_secret_failure(ref_, parameter.failure());
    }
    return std::optional<std::string>(std::move(parameter->value));
  }

  core::Status write(const std::string& document, bool replace) override {
    auto put = ssm_.put_parameter(ref_.id, document, "SecureString", replace);
    if (!put) return write_failure(ref_, "SSM PutParameter", put.failure());
    return {};
  }

 private:
  aws::SsmApi& ssm_;
  core::SecretRef ref_;
};

class SecretsManagerTokenStore final : public TokenStore {
 public:
  SecretsManagerTokenStore(aws::SecretsManagerApi& secrets, core::SecretRef ref,
                           core::IdSource& ids)
      : secrets_(secrets), ref_(std::move(ref)), ids_(ids) {}

  // TokenStore
  std::string describe() const override { return ref_.to_string(); }

  core::Result<std::optional<std::string>> read() override {
    auto secret = secrets_.get_secret_value(ref_.id);
    if (!secret) {
      if (not_found(secret.failure())) {
        exists_ = false;
        return std::optional<std::string>();
      }
      return aws::describe_secret_failure(ref_, secret.failure());
    }
    exists_ = true;
    if (!secret->secret_string) {
      return core::make_error(core::ErrorCode::invalid_input,
                              ref_.to_string() + ": holds no SecretString",
                              "no SecretString in the answer");
    }
    return std::optional<std::string>(std::move(*secret->secret_string));
  }

  core::Status write(const std::string& document, bool replace) override {
    if (!exists_) {
      auto created = secrets_.create_secret(ref_.id, document, ids_.next());
      if (!created) return write_failure(ref_, "Secrets Manager CreateSecret", created.failure());
      exists_ = true;
      return {};
    }
    if (!replace) {
      return core::make_error(core::ErrorCode::conflict,
                              ref_.to_string() + ": exists already; not replaced without --force",
                              "write without replace on an existing secret");
    }
    auto put = secrets_.put_secret_value(ref_.id, document, ids_.next());
    if (!put) return write_failure(ref_, "Secrets Manager PutSecretValue", put.failure());
    return {};
  }

 private:
  aws::SecretsManagerApi& secrets_;
  core::SecretRef ref_;
  core::IdSource& ids_;
  bool exists_ = false;  // what read() found (write() is only called after it)
};

}  // namespace

std::unique_ptr<TokenStore> make_ssm_store(aws::SsmApi& ssm, core::SecretRef ref) {
  return std::make_unique<SsmTokenStore>(ssm, std::move(ref));
}

std::unique_ptr<TokenStore> make_secrets_manager_store(aws::SecretsManagerApi& secrets,
                                                       core::SecretRef ref, core::IdSource& ids) {
  return std::make_unique<SecretsManagerTokenStore>(secrets, std::move(ref), ids);
}

core::Status check_writable(const core::SecretRef& ref) {
  if (ref.store == core::SecretStore::secrets_manager && !ref.json_key.empty()) {
    return core::make_error(core::ErrorCode::config,
                            "--store " + ref.to_string() +
                                ": register keeps a whole JSON document in the secret; drop the "
                                "#key",
                            "json key in a --store reference");
  }
  if (ref.store == core::SecretStore::ssm && !ref.id.starts_with("arn:") &&
      ref.id.find(':') != std::string::npos) {
    return core::make_error(
        core::ErrorCode::config,
        "--store " + ref.to_string() + ": a version or label selector cannot be written; drop it",
        "selector in a --store reference");
  }
  return {};
}

}  // namespace app::reg
