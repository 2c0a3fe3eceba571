// The shared files' credential sources (aws.md §4.3, §4.4; aws-services.md
// §7, §12.3): web identity (environment, else profile keys) and the selected
// profile — assume-role (source_profile chains, credential_source), SSO,
// static keys and credential_process, in botocore's order.

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/strings.hpp"
#include "credential_source.hpp"
#include "process_credentials.hpp"
#include "profile_file.hpp"
#include "sso_credentials.hpp"
#include "sts.hpp"

namespace aws::detail {
namespace {

std::string join_or(const std::vector<std::string>& items) { return core::join(items, " or "); }

std::string selected_profile(const core::Environment& env) {
  for (const auto* variable : {"AWS_DEFAULT_PROFILE", "AWS_PROFILE"}) {
    if (auto value = env.get(variable); value && !value->empty()) return *value;
  }
  return "default";
}

core::Error config_error(std::string message) {
  return core::make_error(core::ErrorCode::config, std::move(message));
}

// Both shared files, read once per fetch (they may change between refreshes).
struct SharedFiles {
  struct One {
    std::optional<std::string> path;  ///< nullopt: neither an override nor HOME
    FileState state = FileState::missing;
    IniFile ini;
  };
  One credentials;
  One config;

  static SharedFiles load(const core::Environment& env) {
    SharedFiles files;
    files.credentials.path = shared_file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    files.config.path = shared_file_path(env, "AWS_CONFIG_FILE", "config");
    for (auto* one : {&files.credentials, &files.config}) {
      if (!one->path) continue;
      std::string text;
      one->state = read_text_file(*one->path, text);
      if (one->state == FileState::read) one->ini = parse_ini(text);
    }
    return files;
  }

  const IniSection* in_credentials(std::string_view profile) const {
    return find_profile(credentials.ini, profile, false);
  }
  const IniSection* in_config(std::string_view profile) const {
    return find_profile(config.ini, profile, true);
  }
  const IniSection* sso_session(std::string_view name) const {
    for (const auto& [header, keys] : config.ini) {
      const auto space = header.find_first_of(" \t");
      if (space == std::string::npos || header.substr(0, space) != "sso-session") continue;
      if (core::trim(std::string_view(header).substr(space)) == name) return &keys;
    }
    return nullptr;
  }
  /// The config file's keys with the credentials file's on top (botocore's
  /// merge); nullopt when the profile is in neither.
  std::optional<IniSection> merged(std::string_view profile) const {
    const auto* from_config = in_config(profile);
    const auto* from_credentials = in_credentials(profile);
    if (from_config == nullptr && from_credentials == nullptr) return std::nullopt;
    IniSection keys = from_config != nullptr ? *from_config : IniSection{};
    if (from_credentials != nullptr) {
      for (const auto& [key, value] : *from_credentials) keys[key] = value;
    }
    return keys;
  }
};

std::string value_of(const IniSection& keys, std::string_view key) {
  const auto it = keys.find(key);
  return it == keys.end() ? std::string() : std::string(core::trim(it->second));
}

bool has_static_keys(const IniSection* keys) {
  return keys != nullptr && !value_of(*keys, "aws_access_key_id").empty();
}

std::optional<Credentials> static_keys(const IniSection* keys) {
  if (!has_static_keys(keys)) return std::nullopt;
  auto secret = value_of(*keys, "aws_secret_access_key");
  if (secret.empty()) return std::nullopt;
  auto token = value_of(*keys, "aws_session_token");
  if (token.empty()) token = value_of(*keys, "aws_security_token");
  return Credentials{value_of(*keys, "aws_access_key_id"), std::move(secret), std::move(token),
                     std::nullopt};
}

bool has_sso(const IniSection& keys) {
  return !value_of(keys, "sso_session").empty() || !value_of(keys, "sso_start_url").empty() ||
         !value_of(keys, "sso_account_id").empty() || !value_of(keys, "sso_role_name").empty();
}

bool has_role(const IniSection& keys) {
  return !value_of(keys, "role_arn").empty() && value_of(keys, "web_identity_token_file").empty();
}

bool has_advanced(const IniSection& keys) {
  return !value_of(keys, "role_arn").empty() || has_sso(keys) ||
         !value_of(keys, "credential_process").empty();
}

std::string default_session_name(const core::Clock& clock) {
  // botocore: botocore-session-<epoch seconds>.
  return fmt::format(
      "infra-bot-{}",
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count());
}

// What the sources below share: where to send requests and whom to tell
// about secrets.
struct Context {
  const core::Environment& env;
  core::http::Client& http;
  const core::Clock& clock;
  core::Redactor redactor;
};

void learn(Context& context, const Credentials& credentials) {
  for (const auto* secret :
       {&credentials.access_key_id, &credentials.secret_access_key, &credentials.session_token}) {
    context.redactor.add_rotating_secret(*secret);
  }
}

// The STS region: AWS_REGION, AWS_DEFAULT_REGION, else the profile's region,
// else none (the global endpoint).
std::string region_for(const Context& context, const IniSection* profile) {
  return sts_region(context.env, profile != nullptr ? value_of(*profile, "region") : "");
}

// AssumeRoleWithWebIdentity (unsigned); the token file is read on every call:
// it is rotated (EKS, GitHub Actions).
core::Result<Credentials> web_identity(Context& context, const std::string& token_file,
                                       const std::string& role_arn, std::string session_name,
                                       const std::string& region, std::string_view origin) {
  std::string token;
  switch (read_text_file(token_file, token)) {
    case FileState::missing:
      return core::make_error(
          core::ErrorCode::unavailable,
          fmt::format("web identity ({}): no token file at {}", origin, token_file));
    case FileState::unreadable:
      return core::make_error(
          core::ErrorCode::unavailable,
          fmt::format("web identity ({}): cannot read the token file {}", origin, token_file));
    case FileState::read:
      break;
  }
  token = std::string(core::trim(token));
  if (token.empty()) {
    return core::make_error(
        core::ErrorCode::unavailable,
        fmt::format("web identity ({}): the token file {} is empty", origin, token_file));
  }
  context.redactor.add_rotating_secret(token);
  if (session_name.empty()) session_name = default_session_name(context.clock);
  auto endpoint = sts_endpoint(context.env, region);
  if (!endpoint) return endpoint.error();
  auto xml = sts_call(
      context.http, *endpoint, "AssumeRoleWithWebIdentity",
      {{"RoleArn", role_arn}, {"RoleSessionName", session_name}, {"WebIdentityToken", token}},
      nullptr, context.clock);
  if (!xml) {
    core::Error error = std::move(xml).error();
    error.user_message =
        fmt::format("web identity ({}, role {}): {}", origin, role_arn, error.user_message);
    return error;
  }
  return parse_sts_credentials(*xml, "AssumeRoleWithWebIdentity");
}

// Resolves a profile's credentials the way botocore does (assume-role,
// web identity, SSO, credentials-file keys, credential_process, config-file
// keys), following source_profile links.
class ProfileResolver {
 public:
  ProfileResolver(Context& context, const SharedFiles& files, std::string region)
      : context_(context), files_(files), region_(std::move(region)) {}

  /// `path`: the profiles that led here (for cycles and messages); `as_source`:
  /// this profile is another's source_profile (botocore then ignores its
  /// role_arn when it has static keys).
  core::Result<Credentials> resolve(const std::string& name, std::vector<std::string> path,
                                    bool as_source, std::string& described) {
    const auto merged = files_.merged(name);
    if (!merged) {
      return config_error(fmt::format("profile \"{}\" (source_profile of \"{}\") is not in {}",
                                      name, path.empty() ? name : path.back(), where()));
    }
    const auto* in_credentials = files_.in_credentials(name);
    const auto* in_config = files_.in_config(name);
    const bool any_static = has_static_keys(in_credentials) || has_static_keys(in_config);
    if (has_role(*merged) && !(as_source && any_static)) {
      return assume_role(name, *merged, std::move(path), described);
    }
    if (const auto token_file = value_of(*merged, "web_identity_token_file"); !token_file.empty()) {
      const auto role_arn = value_of(*merged, "role_arn");
      described = fmt::format("web identity of profile \"{}\" (role {})", name, role_arn);
      return web_identity(context_, token_file, role_arn, value_of(*merged, "role_session_name"),
                          region_, fmt::format("profile \"{}\"", name));
    }
    if (has_sso(*merged)) return sso(name, *merged, described);
    if (auto keys = static_keys(in_credentials)) {
      described =
          fmt::format("static keys of profile \"{}\" in {}", name, *files_.credentials.path);
      return std::move(*keys);
    }
    if (const auto command = value_of(*merged, "credential_process"); !command.empty()) {
      described = fmt::format("credential_process of profile \"{}\"", name);
      return run_credential_process(command, name);
    }
    if (auto keys = static_keys(in_config)) {
      described = fmt::format("static keys of profile \"{}\" in {}", name, *files_.config.path);
      return std::move(*keys);
    }
    return config_error(
        fmt::format("profile \"{}\" has no credentials (no role_arn, sso_*, credential_process or "
                    "aws_access_key_id + aws_secret_access_key)",
                    name));
  }

 private:
  std::string where() const {
    std::vector<std::string> paths;
    for (const auto* one : {&files_.credentials, &files_.config}) {
      if (one->path) paths.push_back(*one->path);
    }
    return paths.empty() ? std::string("the shared files (HOME not set)") : join_or(paths);
  }

  core::Result<Credentials> assume_role(const std::string& name, const IniSection& keys,
                                        std::vector<std::string> path, std::string& described) {
    const auto role_arn = value_of(keys, "role_arn");
    if (!value_of(keys, "mfa_serial").empty()) {
      return config_error(fmt::format(
          "profile \"{}\" sets mfa_serial: infra-bot runs unattended and cannot prompt for an "
          "MFA code; use a role whose trust policy does not require MFA",
          name));
    }
    const auto source_profile = value_of(keys, "source_profile");
    const auto credential_source = value_of(keys, "credential_source");
    if (!source_profile.empty() && !credential_source.empty()) {
      return config_error(fmt::format(
          "profile \"{}\" sets both source_profile and credential_source; set one", name));
    }
    if (source_profile.empty() && credential_source.empty()) {
      return config_error(fmt::format(
          "profile \"{}\" sets role_arn but neither source_profile nor credential_source", name));
    }
    core::Result<Credentials> source = config_error("unreachable");
    std::string source_described;
    if (!source_profile.empty()) {
      path.push_back(name);
      const bool self = source_profile == name;
      if (self) {
        // botocore allows a profile to be its own source when it has static keys.
        auto keys_here = static_keys(files_.in_credentials(name));
        if (!keys_here) keys_here = static_keys(files_.in_config(name));
        if (!keys_here) {
          return config_error(
              fmt::format("profile \"{}\" is its own source_profile but has no static keys", name));
        }
        source = std::move(*keys_here);
        source_described = "its own static keys";
      } else if (std::find(path.begin(), path.end(), source_profile) != path.end()) {
        path.push_back(source_profile);
        return config_error(fmt::format("source_profile cycle: {}", core::join(path, " → ")));
      } else {
        source = resolve(source_profile, path, true, source_described);
      }
    } else {
      source = from_credential_source(name, credential_source, source_described);
    }
    if (!source) return std::move(source).error();
    learn(context_, *source);

    QueryParams params = {{"RoleArn", role_arn}};
    auto session_name = value_of(keys, "role_session_name");
    if (session_name.empty()) session_name = default_session_name(context_.clock);
    params.emplace_back("RoleSessionName", session_name);
    if (const auto duration = value_of(keys, "duration_seconds"); !duration.empty()) {
      const bool digits = std::all_of(duration.begin(), duration.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
      const long seconds = digits && duration.size() <= 6 ? std::stol(duration) : -1;
      if (seconds < 900 || seconds > 43200) {
        return config_error(fmt::format(
            "profile \"{}\": duration_seconds \"{}\" is not a whole number from 900 to 43200", name,
            duration));
      }
      params.emplace_back("DurationSeconds", std::to_string(seconds));
    }
    if (const auto external_id = value_of(keys, "external_id"); !external_id.empty()) {
      params.emplace_back("ExternalId", external_id);
    }
    auto endpoint = sts_endpoint(context_.env, region_);
    if (!endpoint) return endpoint.error();
    auto xml = sts_call(context_.http, *endpoint, "AssumeRole", params, &*source, context_.clock);
    if (!xml) {
      core::Error error = std::move(xml).error();
      error.user_message = fmt::format("profile \"{}\" (role {}, source {}): {}", name, role_arn,
                                       source_described, error.user_message);
      return error;
    }
    auto credentials = parse_sts_credentials(*xml, "AssumeRole");
    if (credentials) {
      described =
          fmt::format("role {} of profile \"{}\" (source: {})", role_arn, name, source_described);
    }
    return credentials;
  }

  core::Result<Credentials> from_credential_source(const std::string& name, const std::string& kind,
                                                   std::string& described) {
    CredentialSourcePtr* slot = nullptr;
    if (kind == "Environment") {
      slot = &environment_;
      if (!*slot) *slot = make_environment_source(context_.env);
    } else if (kind == "Ec2InstanceMetadata") {
      slot = &imds_;
      if (!*slot) *slot = make_imds_source(context_.env, context_.http, context_.clock);
    } else if (kind == "EcsContainer") {
      slot = &container_;
      if (!*slot) *slot = make_container_source(context_.env, context_.http);
    } else {
      return config_error(
          fmt::format("profile \"{}\": credential_source \"{}\" is not one of Environment, "
                      "Ec2InstanceMetadata, EcsContainer",
                      name, kind));
    }
    auto credentials = (*slot)->fetch();
    if (!credentials) {
      core::Error error = std::move(credentials).error();
      error.user_message =
          fmt::format("profile \"{}\": credential_source {}: {}", name, kind, error.user_message);
      if (error.code == core::ErrorCode::not_found) error.code = core::ErrorCode::unavailable;
      return error;
    }
    described = (*slot)->describe();
    return credentials;
  }

  core::Result<Credentials> sso(const std::string& name, const IniSection& keys,
                                std::string& described) {
    SsoProfile sso;
    sso.profile = name;
    sso.session_name = value_of(keys, "sso_session");
    sso.account_id = value_of(keys, "sso_account_id");
    sso.role_name = value_of(keys, "sso_role_name");
    sso.start_url = value_of(keys, "sso_start_url");
    sso.region = value_of(keys, "sso_region");
    if (!sso.session_name.empty()) {
      const auto* session = files_.sso_session(sso.session_name);
      if (session == nullptr) {
        return config_error(fmt::format("profile \"{}\": no [sso-session {}] section in {}", name,
                                        sso.session_name,
                                        files_.config.path.value_or("the config file")));
      }
      for (const auto& [key, field] :
           {std::pair{"sso_start_url", &sso.start_url}, std::pair{"sso_region", &sso.region}}) {
        const auto from_session = value_of(*session, key);
        if (!field->empty() && !from_session.empty() && *field != from_session) {
          return config_error(
              fmt::format("profile \"{}\" and [sso-session {}] set different values for {}", name,
                          sso.session_name, key));
        }
        if (field->empty()) *field = from_session;
      }
    }
    std::vector<std::string> missing;
    for (const auto& [key, field] :
         {std::pair{"sso_start_url", &sso.start_url}, std::pair{"sso_region", &sso.region},
          std::pair{"sso_account_id", &sso.account_id},
          std::pair{"sso_role_name", &sso.role_name}}) {
      if (field->empty()) missing.emplace_back(key);
    }
    if (!missing.empty()) {
      return config_error(
          fmt::format("SSO profile \"{}\" is missing {}", name, core::join(missing, ", ")));
    }
    described = fmt::format("SSO role {} in account {} (profile \"{}\")", sso.role_name,
                            sso.account_id, name);
    return fetch_sso_credentials(sso, context_.env, context_.http, context_.clock,
                                 context_.redactor);
  }

  Context& context_;
  const SharedFiles& files_;
  const std::string region_;
  CredentialSourcePtr environment_;
  CredentialSourcePtr imds_;
  CredentialSourcePtr container_;
};

// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), else
// the selected profile's web_identity_token_file + role_arn.
class WebIdentitySource final : public CredentialSource {
 public:
  WebIdentitySource(const core::Environment& env, core::http::Client& http,
                    const core::Clock& clock, core::Redactor redactor)
      : context_{env, http, clock, std::move(redactor)} {}

  std::string name() const override { return "web identity"; }
  std::string describe() const override { return described_.empty() ? name() : described_; }

  core::Result<Credentials> fetch() override {
    const auto& env = context_.env;
    const auto files = SharedFiles::load(env);
    const auto profile = selected_profile(env);
    const auto merged = files.merged(profile);
    // botocore, per key: the variable when set, else the profile's key.
    const auto setting = [&](const char* variable, std::string_view key) -> std::string {
      if (auto value = env.get(variable)) return std::string(core::trim(*value));
      return merged ? value_of(*merged, key) : std::string();
    };
    const bool from_environment = env.get("AWS_WEB_IDENTITY_TOKEN_FILE").has_value();
    const auto origin = from_environment ? std::string("AWS_WEB_IDENTITY_TOKEN_FILE")
                                         : fmt::format("profile \"{}\"", profile);
    const auto token_file = setting("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file");
    if (token_file.empty()) {
      return core::make_error(core::ErrorCode::not_found, "AWS_WEB_IDENTITY_TOKEN_FILE not set");
    }
    const auto role_arn = setting("AWS_ROLE_ARN", "role_arn");
    if (role_arn.empty()) {
      return config_error(fmt::format(
          "web identity ({}): a token file is set but no role (AWS_ROLE_ARN or the profile's "
          "role_arn)",
          origin));
    }
    described_ = fmt::format("web identity ({}, role {})", origin, role_arn);
    return web_identity(
        context_, token_file, role_arn, setting("AWS_ROLE_SESSION_NAME", "role_session_name"),
        sts_region(env, merged ? value_of(*merged, "region") : std::string()), origin);
  }

 private:
  Context context_;
  std::string described_;
};

// The selected profile (AWS_DEFAULT_PROFILE / AWS_PROFILE, botocore reads
// them in that order, else "default"). A profile with role_arn, sso_* or
// credential_process goes through ProfileResolver; one with static keys only
// keeps the plain look-up and its diagnostics.
class ProfileSource final : public CredentialSource {
 public:
  ProfileSource(const core::Environment& env, core::http::Client& http, const core::Clock& clock,
                core::Redactor redactor)
      : context_{env, http, clock, std::move(redactor)} {}

  std::string name() const override {
    return fmt::format("profile \"{}\"", selected_profile(context_.env));
  }
  std::string describe() const override { return described_.empty() ? name() : described_; }

  core::Result<Credentials> fetch() override {
    const std::string wanted = selected_profile(context_.env);
    const auto files = SharedFiles::load(context_.env);
    if (const auto merged = files.merged(wanted); merged && has_advanced(*merged)) {
      // A resolver per fetch: the files may have changed since the last one.
      ProfileResolver resolver(context_, files, region_for(context_, &*merged));
      std::string described;
      auto credentials = resolver.resolve(wanted, {}, false, described);
      if (credentials) described_ = std::move(described);
      return credentials;
    }
    return static_only(wanted, files);
  }

 private:
  core::Result<Credentials> static_only(const std::string& wanted, const SharedFiles& files) {
    std::vector<std::string> missing;
    std::vector<std::string> notes;
    bool home_missing = false;
    // botocore: the credentials file before the config file.
    for (const auto* file : {&files.credentials, &files.config}) {
      if (!file->path) {
        home_missing = true;
        continue;
      }
      const auto& path = *file->path;
      switch (file->state) {
        case FileState::missing:
          missing.push_back(path);
          continue;
        case FileState::unreadable:
          notes.push_back(fmt::format("cannot read {}", path));
          continue;
        case FileState::read:
          break;
      }
      const auto* keys =
          file == &files.config ? files.in_config(wanted) : files.in_credentials(wanted);
      if (keys == nullptr) {
        notes.push_back(fmt::format("not in {}", path));
        continue;
      }
      auto key_id = value_of(*keys, "aws_access_key_id");
      if (key_id.empty()) {
        notes.push_back(fmt::format("no aws_access_key_id in {}", path));
        continue;
      }
      auto secret = value_of(*keys, "aws_secret_access_key");
      if (secret.empty()) {
        return core::make_error(core::ErrorCode::not_found,
                                fmt::format("no aws_secret_access_key in {}", path));
      }
      auto token = value_of(*keys, "aws_session_token");
      if (token.empty()) token = value_of(*keys, "aws_security_token");  // the older spelling
      described_ = fmt::format("profile \"{}\" in {}", wanted, path);
      return Credentials{std::move(key_id), std::move(secret), std::move(token), std::nullopt};
    }
    std::vector<std::string> reasons;
    if (!missing.empty()) reasons.push_back("no file at " + join_or(missing));
    if (home_missing) {
      reasons.push_back("HOME not set (nor AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE)");
    }
    reasons.insert(reasons.end(), notes.begin(), notes.end());
    return core::make_error(core::ErrorCode::not_found, core::join(reasons, ", "));
  }

  Context context_;
  std::string described_;
};

}  // namespace

CredentialSourcePtr make_web_identity_source(const core::Environment& env, core::http::Client& http,
                                             const core::Clock& clock, core::Redactor redactor) {
  return std::make_unique<WebIdentitySource>(env, http, clock, std::move(redactor));
}

CredentialSourcePtr make_profile_source(const core::Environment& env, core::http::Client& http,
                                        const core::Clock& clock, core::Redactor redactor) {
  return std::make_unique<ProfileSource>(env, http, clock, std::move(redactor));
}

}  // namespace aws::detail
