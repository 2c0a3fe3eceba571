// `infra-bot register discord`: checks the bot token, registers the /infra guild command set
// when it changed, prints the invite URL and stores the token.
//
// Discord calls go through DiscordAdminApi, a thin adapter over discord::RestClient (its
// User-Agent, `Authorization: Bot`, buckets and 429 handling).

#include <memory>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/log.hpp"
#include "discord/rest_client.hpp"
#include "discord_front/command_set.hpp"
#include "register.hpp"
#include "register_steps.hpp"

namespace app::reg {
namespace {

class RestDiscordAdminApi final : public DiscordAdminApi {
 public:
  RestDiscordAdminApi(core::http::Client& http, std::string api_url, std::string version)
      : http_(http), api_url_(std::move(api_url)), version_(std::move(version)) {}

  // DiscordAdminApi
  core::Result<Application> current_application(const std::string& token) override {
    auto answer = call(token, "GET", "/applications/@me", "");
    if (!answer) return answer.error();
    auto document = core::json::parse(*answer);
    if (!document || !document->IsObject() || !core::json::get_string(*document, "id")) {
      return core::make_error(core::ErrorCode::unavailable,
                              "GET /applications/@me: the answer has no application id",
                              "unreadable application");
    }
    return Application{std::string(*core::json::get_string(*document, "id")),
                       std::string(core::json::get_string(*document, "name").value_or(""))};
  }

  core::Result<std::string> guild_commands(const std::string& token, const std::string& app_id,
                                           const std::string& guild_id) override {
    return call(token, "GET", commands_path(app_id, guild_id), "");
  }

  core::Status put_guild_commands(const std::string& token, const std::string& app_id,
                                  const std::string& guild_id,
                                  const std::string& commands_json) override {
    auto answer = call(token, "PUT", commands_path(app_id, guild_id), commands_json);
    if (!answer) return answer.error();
    return {};
  }

 private:
  static std::string commands_path(const std::string& app_id, const std::string& guild_id) {
    return fmt::format("/applications/{}/guilds/{}/commands", app_id, guild_id);
  }

  // The token comes with each call; one RestClient per token (in practice one per run).
  discord::RestClient& rest(const std::string& token) {
    if (!rest_ || rest_->settings().bot_token != token) {
      discord::RestSettings settings;
      settings.api_url = api_url_;
      settings.bot_token = token;
      settings.version = version_;
      rest_ = std::make_unique<discord::RestClient>(std::move(settings), http_, clock_,
                                                    core::make_null_logger());
    }
    return *rest_;
  }

  // The body of a 2xx; an error says which call failed and what Discord answered (the
  // RestClient's detail: status, Discord's code and message; never a token).
  core::Result<std::string> call(const std::string& token, std::string_view method,
                                 const std::string& path, const std::string& body) {
    auto answer = rest(token).call(method, path, body);
    if (!answer) {
      const auto& error = answer.error();
      return core::make_error(
          error.code, fmt::format("{} {}: {} ({})", method, path, error.user_message, error.detail),
          error.detail);
    }
    return std::move(answer->body);
  }

  core::http::Client& http_;
  std::string api_url_;
  std::string version_;
  core::SystemClock clock_;
  std::unique_ptr<discord::RestClient> rest_;
};

struct DiscordDocument {
  std::string app_id;
  std::string token;
  friend bool operator==(const DiscordDocument&, const DiscordDocument&) = default;
};

std::optional<DiscordDocument> parse_document(const std::string& text) {
  auto document = core::json::parse(text);
  if (!document || !document->IsObject()) return std::nullopt;
  DiscordDocument out{std::string(core::json::get_string(*document, "app_id").value_or("")),
                      std::string(core::json::get_string(*document, "token").value_or(""))};
  if (out.token.empty()) return std::nullopt;
  return out;
}

std::string serialize(const DiscordDocument& doc) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("app_id");
  writer.String(doc.app_id.data(), static_cast<rapidjson::SizeType>(doc.app_id.size()));
  writer.Key("token");
  writer.String(doc.token.data(), static_cast<rapidjson::SizeType>(doc.token.size()));
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void print_portal_steps(std::ostream& out) {
  step_manual(out,
              "in the Developer Portal (Discord has no API for these; automating the portal is "
              "against its terms): https://discord.com/developers/applications → New Application "
              "creates the application and its bot user; Bot → Reset Token shows the bot token "
              "once: put it in DISCORD_BOT_TOKEN (or a store reference to it) and run register "
              "discord again");
}

}  // namespace

std::unique_ptr<DiscordAdminApi> make_discord_admin_api(core::http::Client& http,
                                                        std::string api_url, std::string version) {
  return std::make_unique<RestDiscordAdminApi>(http, std::move(api_url), std::move(version));
}

int register_discord(const DiscordInputs& in, TokenStore* store, DiscordAdminApi& discord,
                     std::ostream& out) {
  // 1. The store first: any failure but "not found" stops before Discord is called.
  std::optional<DiscordDocument> stored;
  bool store_has_value = false;
  if (store != nullptr) {
    auto text = store->read();
    if (!text) {
      step_failed(out, fmt::format("reading {}: {}", store->describe(), text.error().user_message));
      step_note(out, "stopped before any Discord call; nothing was written");
      return kExitFailure;
    }
    store_has_value = text->has_value();
    if (*text) {
      stored = parse_document(**text);
      if (!stored && !in.force) {
        step_failed(out, fmt::format("{} exists but does not hold register discord's document "
                                     "(app_id, token); --force replaces it",
                                     store->describe()));
        return kExitFailure;
      }
      if (stored) {
        step_ok(out, fmt::format("read {}: application {}", store->describe(),
                                 stored->app_id.empty() ? "unknown" : stored->app_id));
      }
    } else {
      step_ok(out, fmt::format("read {}: nothing stored yet", store->describe()));
    }
  }

  // 2. The token: DISCORD_BOT_TOKEN (a value or a reference), else the stored one.
  std::string token;
  bool from_environment = false;
  if (in.token) {
    token = *in.token;
    from_environment = in.token_from_environment;
    if (from_environment && stored && stored->token != token && !in.force) {
      step_failed(out, fmt::format("{} holds another bot token than DISCORD_BOT_TOKEN; not "
                                   "replaced without --force",
                                   store->describe()));
      step_note(out, "stopped before any Discord call");
      return kExitFailure;
    }
  } else if (stored) {
    token = stored->token;
    step_ok(out, fmt::format("bot token from {}", store->describe()));
  } else {
    step_failed(out,
                "no bot token: set DISCORD_BOT_TOKEN (the token, or ssm:… / "
                "secretsmanager:… where it is kept), or use a --store that holds it");
    print_portal_steps(out);
    return kExitConfig;
  }

  // 3. The token identifies the application (GET /applications/@me).
  auto application = discord.current_application(token);
  if (!application) {
    step_failed(out, fmt::format("Discord did not accept the bot token from {}: {}",
                                 in.token ? in.token_source : store->describe(),
                                 application.error().user_message));
    print_portal_steps(out);
    return kExitFailure;
  }
  step_ok(out, fmt::format("bot token works: application {}{}", application->id,
                           application->name.empty() ? "" : " (" + application->name + ")"));
  if (stored && !stored->app_id.empty() && stored->app_id != application->id && !in.force) {
    step_failed(out, fmt::format("{} was stored for application {}, but the token is for "
                                 "application {}; nothing changed (--force replaces the stored "
                                 "application)",
                                 store->describe(), stored->app_id, application->id));
    return kExitFailure;
  }

  // 4. Store the token (and the app id it belongs to) when it came from the environment.
  if (store != nullptr && from_environment) {
    const DiscordDocument next{application->id, token};
    if (stored && *stored == next) {
      step_ok(out, fmt::format("{} already holds this token and application; not written",
                               store->describe()));
    } else {
      auto written = store->write(serialize(next), store_has_value);
      if (!written) {
        step_failed(out, fmt::format("storing the bot token: {}", written.error().user_message));
        step_note(out, "stopped before changing the commands; DISCORD_BOT_TOKEN still works");
        return kExitFailure;
      }
      step_ok(out, fmt::format("bot token and application id stored at {}", store->describe()));
    }
  } else if (store == nullptr) {
    step_ok(out, "no --store: the token is used as given and not stored");
  }

  // 5. The /infra command set, written only when it differs.
  auto actual = discord.guild_commands(token, application->id, in.guild_id);
  if (!actual) {
    step_failed(out, fmt::format("reading the guild's commands: {}", actual.error().user_message));
    return kExitFailure;
  }
  if (discord_front::same_commands(in.desired_commands_json, *actual)) {
    step_ok(out,
            fmt::format("/infra commands in guild {} are up to date; not written", in.guild_id));
  } else {
    auto put =
        discord.put_guild_commands(token, application->id, in.guild_id, in.desired_commands_json);
    if (!put) {
      step_failed(out,
                  fmt::format("registering the /infra commands: {}", put.error().user_message));
      return kExitFailure;
    }
    step_ok(out,
            fmt::format("/infra commands registered in guild {} (bulk overwrite)", in.guild_id));
  }

  // 6. The invite, and what only the portal does.
  step_ok(out, fmt::format("invite URL (the installer needs Manage Server in the guild): {}",
                           discord_invite_url(application->id)));
  print_portal_steps(out);
  return kExitOk;
}

}  // namespace app::reg
