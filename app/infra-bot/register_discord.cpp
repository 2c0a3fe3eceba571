// `infra-bot register discord`: checks the bot token, registers the /infra guild command set
// when it changed, prints the invite URL and stores the token.
//
// Discord calls go through DiscordAdminApi, implemented here on core::http::Client directly:
// discord::RestClient (lib/discord) is being written at the same time (issue 17); once it lands,
// HttpDiscordAdminApi can become a thin adapter over it.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "register.hpp"
#include "register_steps.hpp"

namespace app::reg {
namespace {

class HttpDiscordAdminApi final : public DiscordAdminApi {
 public:
  HttpDiscordAdminApi(core::http::Client& http, std::string api_url, std::string version)
      : http_(http), api_url_(std::move(api_url)), version_(std::move(version)) {
    while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
  }

  // DiscordAdminApi
  core::Result<Application> current_application(const std::string& token) override {
    auto answer = call("GET", "/applications/@me", token, "");
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
    return call("GET", commands_path(app_id, guild_id), token, "");
  }

  core::Status put_guild_commands(const std::string& token, const std::string& app_id,
                                  const std::string& guild_id,
                                  const std::string& commands_json) override {
    auto answer = call("PUT", commands_path(app_id, guild_id), token, commands_json);
    if (!answer) return answer.error();
    return {};
  }

 private:
  static std::string commands_path(const std::string& app_id, const std::string& guild_id) {
    return fmt::format("/applications/{}/guilds/{}/commands", app_id, guild_id);
  }

  core::Result<std::string> call(std::string_view method, const std::string& path,
                                 const std::string& token, const std::string& body) {
    core::http::Request request;
    request.method = std::string(method);
    request.url = api_url_ + path;
    // Discord's required User-Agent form (../shared/notes/discord.md): DiscordBot (url, version).
    request.headers.emplace_back(
        "User-Agent", fmt::format("DiscordBot (https://github.com/infra-bot, {})", version_));
    request.headers.emplace_back("Authorization", "Bot " + token);
    if (!body.empty()) {
      request.headers.emplace_back("Content-Type", "application/json");
      request.body = body;
    }
    for (int attempt = 1;; ++attempt) {
      auto response = http_.send(request);
      if (!response) {
        return core::make_error(
            response.error().code,
            fmt::format("{} {}: {}", method, path, response.error().user_message),
            response.error().detail);
      }
      if (response->status == 429 && attempt < 3) {
        // Both routes are safe to repeat (a GET, a bulk overwrite); wait as Discord says.
        double seconds = 1;
        if (auto parsed = core::json::parse(response->body); parsed && parsed->IsObject()) {
          const auto it = parsed->FindMember("retry_after");
          if (it != parsed->MemberEnd() && it->value.IsNumber()) seconds = it->value.GetDouble();
        }
        seconds = std::clamp(seconds, 0.1, 30.0);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::lround(seconds * 1000)));
        continue;
      }
      if (response->status >= 200 && response->status < 300) return std::move(response->body);
      std::string said;
      if (auto parsed = core::json::parse(response->body); parsed && parsed->IsObject()) {
        said = std::string(core::json::get_string(*parsed, "message").value_or(""));
      }
      const auto code = response->status == 401 || response->status == 403 ? core::ErrorCode::denied
                        : response->status == 404 ? core::ErrorCode::not_found
                        : response->status >= 500 || response->status == 429
                            ? core::ErrorCode::unavailable
                            : core::ErrorCode::invalid_input;
      return core::make_error(code,
                              fmt::format("{} {}: HTTP {}{}", method, path, response->status,
                                          said.empty() ? std::string() : " — " + said),
                              fmt::format("discord HTTP {}", response->status));
    }
  }

  core::http::Client& http_;
  std::string api_url_;
  std::string version_;
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
  return std::make_unique<HttpDiscordAdminApi>(http, std::move(api_url), std::move(version));
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
  if (commands_match(in.desired_commands_json, *actual)) {
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
