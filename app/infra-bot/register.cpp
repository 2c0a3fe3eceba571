// `infra-bot register`: the Slack manifest comparison (the Discord command comparison is
// discord_front::same_commands, which doctor shares), and the wiring of the flows
// (register_slack.cpp, register_discord.cpp) to the environment, the AWS stores and the HTTP
// clients.

#include "register.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "aws/credentials.hpp"
#include "aws/service_client.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/redactor.hpp"
#include "core/secret_ref.hpp"
#include "core/strings.hpp"
#include "discord_front/command_set.hpp"
#include "secrets.hpp"
#include "token_store.hpp"

namespace app::reg {

// ---- comparisons ------------------------------------------------------------------------------

// The comparison same_commands stands on too (core::json::is_subset).
bool manifest_matches(std::string_view desired_json, std::string_view exported_json) {
  auto desired = core::json::parse(desired_json);
  auto exported = core::json::parse(exported_json);
  if (!desired || !exported || !desired->IsObject() || !exported->IsObject()) return false;
  desired->RemoveMember("_metadata");  // the schema version, not the app's configuration
  return core::json::is_subset(*desired, *exported);
}

// Interaction answers need no permission; a result whose interaction token
// expired (a job over 15 minutes) is posted by the bot in its channel, which
// needs View Channel (1 << 10), Send Messages (1 << 11) and Embed Links
// (1 << 14): 19456, and nothing more.
std::string discord_invite_url(std::string_view application_id) {
  return fmt::format(
      "https://discord.com/oauth2/authorize?client_id={}&scope=bot%20applications.commands&"
      "permissions=19456",
      application_id);
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

namespace {

// ---- wiring -----------------------------------------------------------------------------------

// The AWS client behind --store and what it stands on; members in dependency order.
struct StoreStack {
  core::SystemClock clock;  // SigV4 needs real time
  std::unique_ptr<core::http::Client> http;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  aws::ThreadSleeper sleeper;
  core::UuidSource ids;
  std::unique_ptr<aws::SsmClient> ssm;
  std::unique_ptr<aws::SecretsManagerClient> secrets;
  std::unique_ptr<TokenStore> store;
};

core::Result<core::SecretRef> parse_store(const std::string& text) {
  auto parsed = core::parse_secret_ref(text);
  if (!parsed) return parsed.error();
  if (!*parsed) {
    return core::make_error(
        core::ErrorCode::config,
        "--store: expected ssm:<parameter name> or secretsmanager:<secret name>",
        "not a store reference");
  }
  if (auto writable = check_writable(**parsed); !writable) return writable.error();
  return **parsed;
}

core::Result<std::unique_ptr<StoreStack>> make_store(const core::Config& config,
                                                     const core::Environment& env,
                                                     const core::SecretRef& ref,
                                                     core::LoggerPtr logger,
                                                     const core::Redactor& redactor) {
  auto stack = std::make_unique<StoreStack>();
  stack->http = core::http::make_curl_client(core::http::CurlSettings{config.ssl_cert_file});
  stack->credentials =
      aws::make_default_credentials_chain(env, *stack->http, stack->clock, logger, redactor);
  aws::ServiceSettings settings;
  settings.region = ref.arn_region().empty() ? config.aws_region : ref.arn_region();
  const bool ssm = ref.store == core::SecretStore::ssm;
  settings.endpoint_url = ssm ? config.aws_endpoints.ssm : config.aws_endpoints.secrets_manager;
  auto service = aws::ServiceClient::create(ssm ? aws::kSsmService : aws::kSecretsManagerService,
                                            std::move(settings), *stack->http, *stack->credentials,
                                            stack->clock, stack->sleeper, logger);
  if (!service) {
    return core::make_error(core::ErrorCode::config,
                            "--store " + ref.to_string() + ": " + service.error().user_message,
                            service.error().detail);
  }
  if (ssm) {
    stack->ssm = std::make_unique<aws::SsmClient>(std::move(service).value());
    stack->store = make_ssm_store(*stack->ssm, ref);
  } else {
    stack->secrets = std::make_unique<aws::SecretsManagerClient>(std::move(service).value());
    stack->store = make_secrets_manager_store(*stack->secrets, ref, stack->ids);
  }
  return stack;
}

std::optional<std::string> non_empty(const core::Environment& env, std::string_view name) {
  auto value = env.get(name);
  if (!value) return std::nullopt;
  auto trimmed = std::string(core::trim(*value));
  if (trimmed.empty()) return std::nullopt;
  return trimmed;
}

// The SSM / Secrets Manager endpoints (AWS_ENDPOINT_URL_SSM / _SECRETS_MANAGER, else
// AWS_ENDPOINT_URL): core::load_config reads them only when a variable holds a reference.
core::Status fill_store_endpoints(core::Config& config, const core::Environment& env) {
  for (auto [variable, target] :
       {std::pair{"AWS_ENDPOINT_URL_SSM", &config.aws_endpoints.ssm},
        std::pair{"AWS_ENDPOINT_URL_SECRETS_MANAGER", &config.aws_endpoints.secrets_manager}}) {
    std::optional<std::string> url = non_empty(env, variable);
    if (!url) url = non_empty(env, "AWS_ENDPOINT_URL");
    if (!url) continue;
    if (!url->starts_with("https://") &&
        !(config.allow_insecure_endpoints && url->starts_with("http://"))) {
      return core::make_error(core::ErrorCode::config,
                              std::string(variable) + " must be an https:// URL", "bad endpoint");
    }
    *target = *url;
  }
  return {};
}

}  // namespace

int run_register_slack(const core::Environment& env, const Options& options, std::ostream& out,
                       std::ostream& err) {
  constexpr std::string_view kWho = "infra-bot register slack";
  auto config = core::load_config(env, core::RunMode::console);
  if (!config) {
    err << kWho << ": " << config.error().user_message << "\n";
    return kExitConfig;
  }
  if (auto endpoints = fill_store_endpoints(*config, env); !endpoints) {
    err << kWho << ": " << endpoints.error().user_message << "\n";
    return kExitConfig;
  }
  if (options.store.empty()) {
    err << kWho
        << ": --store is required: ssm:<parameter> or secretsmanager:<secret> keeps the app id "
           "and the rotated configuration token pair between runs\n";
    return kExitConfig;
  }
  auto ref = parse_store(options.store);
  if (!ref) {
    err << kWho << ": " << ref.error().user_message << "\n";
    return kExitConfig;
  }
  SlackInputs in;
  in.config_token = non_empty(env, "SLACK_CONFIG_TOKEN");
  in.refresh_token = non_empty(env, "SLACK_CONFIG_REFRESH_TOKEN");
  if (in.config_token.has_value() != in.refresh_token.has_value()) {
    err << kWho
        << ": set both SLACK_CONFIG_TOKEN and SLACK_CONFIG_REFRESH_TOKEN (the pair Slack shows "
           "under Your App Configuration Tokens), or neither to use the stored pair\n";
    return kExitConfig;
  }
  if (in.config_token && !in.config_token->starts_with("xoxe.xoxp-")) {
    err << kWho << ": SLACK_CONFIG_TOKEN is not a configuration token (xoxe.xoxp-…)\n";
    return kExitConfig;
  }
  if (in.refresh_token && !in.refresh_token->starts_with("xoxe-")) {
    err << kWho << ": SLACK_CONFIG_REFRESH_TOKEN is not a refresh token (xoxe-…)\n";
    return kExitConfig;
  }
  in.manifest_path =
      options.manifest_path.empty() ? "deploy/slack/manifest.json" : options.manifest_path;
  {
    std::ifstream file(in.manifest_path, std::ios::binary);
    if (!file) {
      err << kWho << ": --manifest " << in.manifest_path << ": cannot be read\n";
      return kExitConfig;
    }
    std::ostringstream text;
    text << file.rdbuf();
    in.manifest_json = text.str();
    auto parsed = core::json::parse(in.manifest_json);
    if (!parsed || !parsed->IsObject()) {
      err << kWho << ": --manifest " << in.manifest_path << ": not a JSON object\n";
      return kExitConfig;
    }
  }
  in.force = options.force;
  core::SystemClock clock;
  in.now_unix =
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  in.recovery_dir = non_empty(env, "TMPDIR").value_or("/tmp");

  core::Redactor redactor(config->secrets());
  for (const auto& token : {in.config_token, in.refresh_token}) {
    if (token) redactor.add_secret(*token);
  }
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, config->log_level, redactor);
  auto stack = make_store(*config, env, *ref, logger, redactor);
  if (!stack) {
    err << kWho << ": " << stack.error().user_message << "\n";
    return kExitConfig;
  }
  auto slack = make_slack_manifest_api(*(*stack)->http, config->slack_api_url);
  return register_slack(in, *(*stack)->store, *slack, out);
}

int run_register_discord(const core::Environment& env, const Options& options, std::ostream& out,
                         std::ostream& err) {
  constexpr std::string_view kWho = "infra-bot register discord";
  auto config = core::load_config(env, core::RunMode::console);
  if (!config) {
    err << kWho << ": " << config.error().user_message << "\n";
    return kExitConfig;
  }
  if (auto endpoints = fill_store_endpoints(*config, env); !endpoints) {
    err << kWho << ": " << endpoints.error().user_message << "\n";
    return kExitConfig;
  }
  DiscordInputs in;
  in.force = options.force;
  auto guild = non_empty(env, "DISCORD_GUILD_ID");
  if (!guild ||
      !std::all_of(guild->begin(), guild->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    err << kWho
        << ": DISCORD_GUILD_ID must be the guild (server) id the /infra commands are registered "
           "in (a number; Developer Mode → right-click the server → Copy Server ID)\n";
    return kExitConfig;
  }
  in.guild_id = *guild;
  std::string api_url = non_empty(env, "DISCORD_API_URL").value_or("https://discord.com/api/v10");
  if (!api_url.starts_with("https://") &&
      !(config->allow_insecure_endpoints && api_url.starts_with("http://"))) {
    err << kWho << ": DISCORD_API_URL must be an https:// URL\n";
    return kExitConfig;
  }
  std::optional<core::SecretRef> store_ref;
  if (!options.store.empty()) {
    auto ref = parse_store(options.store);
    if (!ref) {
      err << kWho << ": " << ref.error().user_message << "\n";
      return kExitConfig;
    }
    store_ref = std::move(ref).value();
  }

  core::Redactor redactor(config->secrets());
  auto token_text = non_empty(env, "DISCORD_BOT_TOKEN");
  if (token_text) redactor.add_secret(*token_text);
  auto logger =
      core::make_stderr_logger("infra-bot", config->log_format, config->log_level, redactor);
  // The store is read before anything else (register_discord); a reference in
  // DISCORD_BOT_TOKEN is resolved here, fail-closed as well, before any Discord call.
  std::unique_ptr<StoreStack> stack;
  if (store_ref) {
    auto made = make_store(*config, env, *store_ref, logger, redactor);
    if (!made) {
      err << kWho << ": " << made.error().user_message << "\n";
      return kExitConfig;
    }
    stack = std::move(made).value();
  }
  if (token_text) {
    auto ref = core::parse_secret_ref(*token_text);
    if (!ref) {
      err << kWho << ": DISCORD_BOT_TOKEN: " << ref.error().user_message << "\n";
      return kExitConfig;
    }
    if (*ref) {
      in.token_source = (*ref)->to_string();
      if (stack) {
        // The --store read comes first, whatever DISCORD_BOT_TOKEN names.
        auto probe = stack->store->read();
        if (!probe) {
          out << "✘ reading " << stack->store->describe() << ": " << probe.error().user_message
              << "\n  stopped before any Discord call; nothing was written\n";
          return kExitFailure;
        }
      }
      SecretReader reader(*config, env, logger, redactor);
      auto value = reader.read(**ref);
      if (!value) {
        out << "✘ DISCORD_BOT_TOKEN: " << value.error().user_message
            << "\n  stopped before any Discord call; nothing was written\n";
        return kExitFailure;
      }
      out << "✔ bot token read from " << in.token_source << "\n";
      in.token = std::string(core::trim(*value));
      in.token_from_environment = false;
    } else {
      in.token = *token_text;
      in.token_source = "DISCORD_BOT_TOKEN";
      in.token_from_environment = true;
    }
  }
  in.desired_commands_json = discord_front::infra_commands_json(config->environments);
  auto http = core::http::make_curl_client(core::http::CurlSettings{config->ssl_cert_file});
  auto discord = make_discord_admin_api(*http, api_url, INFRA_BOT_VERSION);
  return register_discord(in, stack ? stack->store.get() : nullptr, *discord, out);
}

}  // namespace app::reg
