// The default credential chain (aws.md §4): environment → web identity →
// shared files (profile_credentials.cpp) → container endpoint → IMDSv2, evaluated lazily on the
// first get(), behind a cache that refreshes expiring credentials (cached_credentials.cpp).

#include "aws/credentials.hpp"

#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cached_credentials.hpp"
#include "core/strings.hpp"
#include "credential_source.hpp"

namespace aws {
namespace {

using detail::CredentialSource;
using detail::CredentialSourcePtr;

// Every variable the chain reads. They are copied when the chain is built: the
// caller's Environment need not outlive it.
constexpr std::array<std::string_view, 25> kVariables = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "HOME",
    "AWS_DEFAULT_PROFILE",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
};

class StaticCredentials final : public CredentialsProvider {
 public:
  explicit StaticCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}

  // aws::CredentialsProvider
  core::Result<Credentials> get() override { return credentials_; }

 private:
  const Credentials credentials_;
};

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (both non-empty), optional
// AWS_SESSION_TOKEN (or the older AWS_SECURITY_TOKEN).
class EnvironmentSource final : public CredentialSource {
 public:
  explicit EnvironmentSource(const core::Environment& env) : env_(env) {}

  std::string name() const override { return "environment"; }
  std::string describe() const override {
    return with_token_ ? "the environment (AWS_ACCESS_KEY_ID with a session token)"
                       : "the environment (AWS_ACCESS_KEY_ID)";
  }

  core::Result<Credentials> fetch() override {
    auto key_id = required("AWS_ACCESS_KEY_ID");
    if (!key_id) return std::move(key_id).error();
    auto secret = required("AWS_SECRET_ACCESS_KEY");
    if (!secret) return std::move(secret).error();
    auto token = env_.get("AWS_SESSION_TOKEN");
    if (!token || token->empty()) token = env_.get("AWS_SECURITY_TOKEN");
    with_token_ = token && !token->empty();
    return Credentials{std::move(*key_id), std::move(*secret), token.value_or(""), std::nullopt};
  }

 private:
  core::Result<std::string> required(std::string_view variable) const {
    auto value = env_.get(variable);
    if (!value) {
      return core::make_error(core::ErrorCode::not_found, fmt::format("{} not set", variable));
    }
    if (value->empty()) {
      return core::make_error(core::ErrorCode::not_found, fmt::format("{} is empty", variable));
    }
    return std::move(*value);
  }

  const core::Environment& env_;
  bool with_token_ = false;
};

// Tries the sources in order on the first fetch and keeps the first that
// answers; later fetches (refreshes) ask only that one. A source that is set
// up but fails ends the search: on ECS with the EC2 launch type, falling back
// to IMDS would silently swap the task role for the instance role.
class CredentialChain final : public CredentialSource {
 public:
  CredentialChain(const core::Environment& env, core::http::Client& http, const core::Clock& clock,
                  core::LoggerPtr logger, const core::Redactor& redactor)
      : logger_(std::move(logger)) {
    for (const auto variable : kVariables) {
      if (auto value = env.get(variable)) env_.set(std::string(variable), std::move(*value));
    }
    sources_.push_back(detail::make_environment_source(env_));
    sources_.push_back(detail::make_web_identity_source(env_, http, clock, redactor));
    sources_.push_back(detail::make_profile_source(env_, http, clock, redactor));
    sources_.push_back(detail::make_container_source(env_, http));
    sources_.push_back(detail::make_imds_source(env_, http, clock));
  }

  std::string name() const override {
    return chosen_ != nullptr ? chosen_->name() : "the credential chain";
  }
  std::string describe() const override {
    return chosen_ != nullptr ? chosen_->describe() : name();
  }

  core::Result<Credentials> fetch() override {
    if (chosen_ != nullptr) return chosen_->fetch();
    std::vector<std::string> tried;
    std::vector<std::string> details;
    const CredentialSource* stopped_by = nullptr;
    auto code = core::ErrorCode::unavailable;
    for (const auto& source : sources_) {
      if (stopped_by != nullptr) {
        tried.push_back(
            fmt::format("{}: not tried ({} is set up)", source->name(), stopped_by->name()));
        continue;
      }
      auto credentials = source->fetch();
      if (credentials) {
        chosen_ = source.get();
        logger_->info("AWS credentials: using {}", chosen_->describe());
        return credentials;
      }
      const auto& error = credentials.error();
      tried.push_back(fmt::format("{}: {}", source->name(), error.user_message));
      // The detail carries only what the message leaves out (transport causes).
      if (!error.detail.empty()) {
        details.push_back(fmt::format("{}: {}", source->name(), error.detail));
      }
      if (error.code != core::ErrorCode::not_found) {
        stopped_by = source.get();
        if (error.code == core::ErrorCode::config) code = core::ErrorCode::config;
      }
    }
    return core::make_error(code, "no AWS credentials found; " + core::join(tried, "; "),
                            core::join(details, "; "));
  }

 private:
  core::LoggerPtr logger_;
  core::MapEnvironment env_;  // before sources_: they keep a reference to it
  std::vector<CredentialSourcePtr> sources_;
  CredentialSource* chosen_ = nullptr;
};

}  // namespace

namespace detail {

CredentialSourcePtr make_environment_source(const core::Environment& env) {
  return std::make_unique<EnvironmentSource>(env);
}

}  // namespace detail

std::unique_ptr<CredentialsProvider> make_default_credentials_chain(const core::Environment& env,
                                                                    core::http::Client& http,
                                                                    const core::Clock& clock,
                                                                    core::LoggerPtr logger,
                                                                    core::Redactor redactor) {
  if (!logger) logger = core::make_null_logger();
  auto chain = std::make_unique<CredentialChain>(env, http, clock, logger, redactor);
  // The one place every source's credentials pass through: the cache sees each fetch.
  auto learn = [redactor = std::move(redactor)](const Credentials& credentials) mutable {
    for (const auto* secret :
         {&credentials.access_key_id, &credentials.secret_access_key, &credentials.session_token}) {
      redactor.add_rotating_secret(*secret);
    }
  };
  return std::make_unique<detail::CachedCredentials>(std::move(chain), clock, std::move(logger),
                                                     std::move(learn));
}

std::unique_ptr<CredentialsProvider> make_static_credentials(Credentials credentials) {
  return std::make_unique<StaticCredentials>(std::move(credentials));
}

}  // namespace aws
