// `infra-bot register slack`: the app from deploy/slack/manifest.json through the App Manifest
// API, with a configuration token that is rotated (tooling.tokens.rotate) and stored before use.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "aws/service_client.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "register.hpp"
#include "register_steps.hpp"

namespace app::reg {
namespace {

// Rotate a stored configuration token when it has less than this left (they last 12 h).
constexpr std::int64_t kRotateMarginSeconds = 3600;

// ---- the Web API ------------------------------------------------------------------------------

class HttpSlackManifestApi final : public SlackManifestApi {
 public:
  HttpSlackManifestApi(core::http::Client& http, std::string api_url)
      : http_(http), api_url_(std::move(api_url)) {
    if (!api_url_.empty() && api_url_.back() != '/') api_url_ += '/';
  }

  // SlackManifestApi
  core::Result<Rotated> rotate(const std::string& refresh_token) override {
    // The refresh token is the credential: no Authorization header (form only, per Slack).
    auto answer = call("tooling.tokens.rotate", "", {{"refresh_token", refresh_token}});
    if (!answer) return answer.error();
    Rotated out;
    out.token = std::string(core::json::get_string(*answer, "token").value_or(""));
    out.refresh_token = std::string(core::json::get_string(*answer, "refresh_token").value_or(""));
    out.exp = core::json::get_int(*answer, "exp").value_or(0);
    if (out.token.empty() || out.refresh_token.empty()) {
      return core::make_error(core::ErrorCode::unavailable,
                              "tooling.tokens.rotate answered without a token pair",
                              "no token/refresh_token");
    }
    return out;
  }

  core::Status validate(const std::string& token, const std::string& manifest,
                        const std::string& app_id) override {
    aws::QueryParams params{{"manifest", manifest}};
    if (!app_id.empty()) params.emplace_back("app_id", app_id);
    auto answer = call("apps.manifest.validate", token, params);
    if (!answer) return answer.error();
    return {};
  }

  core::Result<Created> create(const std::string& token, const std::string& manifest) override {
    auto answer = call("apps.manifest.create", token, {{"manifest", manifest}});
    if (!answer) return answer.error();
    // credentials (client secret, signing secret) are not kept: Socket Mode needs neither.
    Created out;
    out.app_id = std::string(core::json::get_string(*answer, "app_id").value_or(""));
    out.oauth_authorize_url =
        std::string(core::json::get_string(*answer, "oauth_authorize_url").value_or(""));
    if (out.app_id.empty()) {
      return core::make_error(core::ErrorCode::unavailable,
                              "apps.manifest.create answered without an app_id", "no app_id");
    }
    return out;
  }

  core::Status update(const std::string& token, const std::string& app_id,
                      const std::string& manifest) override {
    auto answer = call("apps.manifest.update", token, {{"app_id", app_id}, {"manifest", manifest}});
    if (!answer) return answer.error();
    return {};
  }

  core::Result<std::string> export_manifest(const std::string& token,
                                            const std::string& app_id) override {
    auto answer = call("apps.manifest.export", token, {{"app_id", app_id}});
    if (!answer) return answer.error();
    const auto* manifest = core::json::get_object(*answer, "manifest");
    if (manifest == nullptr) {
      return core::make_error(core::ErrorCode::unavailable,
                              "apps.manifest.export answered without a manifest", "no manifest");
    }
    return core::json::to_string(*manifest);
  }

 private:
  core::Result<rapidjson::Document> call(std::string_view method, const std::string& token,
                                         const aws::QueryParams& params) {
    core::http::Request request;
    request.method = "POST";
    request.url = api_url_ + std::string(method);
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    request.body = aws::form_encode(params);
    for (int attempt = 1;; ++attempt) {
      auto response = http_.send(request);
      if (!response) {
        return core::make_error(response.error().code,
                                fmt::format("{}: {}", method, response.error().user_message),
                                response.error().detail);
      }
      if (response->status == 429 && attempt < 3) {
        // Rate limited: Slack says how long to wait (Retry-After, seconds); bounded here.
        int seconds = 1;
        if (auto after = response->header("Retry-After")) {
          seconds = std::clamp(std::atoi(std::string(*after).c_str()), 1, 30);
        }
        std::this_thread::sleep_for(std::chrono::seconds(seconds));
        continue;
      }
      auto document = core::json::parse(response->body);
      if (!document || !document->IsObject()) {
        return core::make_error(
            core::ErrorCode::unavailable,
            fmt::format("{}: HTTP {} without a JSON answer", method, response->status),
            "unreadable Slack answer");
      }
      if (core::json::get_bool(*document, "ok").value_or(false)) return std::move(*document);
      const std::string error(core::json::get_string(*document, "error").value_or("unknown"));
      std::string message = fmt::format("{}: {}", method, error);
      if (const auto* errors = core::json::get_array(*document, "errors")) {
        for (const auto& item : errors->GetArray()) {
          if (!item.IsObject()) continue;
          message +=
              fmt::format("\n  {}: {}", core::json::get_string(item, "pointer").value_or("/"),
                          core::json::get_string(item, "message").value_or(""));
        }
      }
      const auto code = error == "ratelimited" ? core::ErrorCode::unavailable
                        : error == "app_not_found" || error == "invalid_app_id"
                            ? core::ErrorCode::not_found
                        : error == "invalid_auth" || error == "not_authed" ||
                                error == "token_expired" || error == "invalid_refresh_token"
                            ? core::ErrorCode::denied
                            : core::ErrorCode::invalid_input;
      return core::make_error(code, message, "slack error " + error);
    }
  }

  core::http::Client& http_;
  std::string api_url_;
};

// ---- the stored document ----------------------------------------------------------------------

struct SlackDocument {
  std::string app_id;
  std::string config_token;
  std::string refresh_token;
  std::int64_t exp = 0;
  std::string rotated_from;
};

std::optional<SlackDocument> parse_document(const std::string& text) {
  auto document = core::json::parse(text);
  if (!document || !document->IsObject()) return std::nullopt;
  SlackDocument out;
  out.app_id = std::string(core::json::get_string(*document, "app_id").value_or(""));
  out.config_token = std::string(core::json::get_string(*document, "config_token").value_or(""));
  out.refresh_token = std::string(core::json::get_string(*document, "refresh_token").value_or(""));
  out.exp = core::json::get_int(*document, "exp").value_or(0);
  out.rotated_from = std::string(core::json::get_string(*document, "rotated_from").value_or(""));
  if (out.config_token.empty() || out.refresh_token.empty()) return std::nullopt;
  return out;
}

std::string serialize(const SlackDocument& doc) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const auto put = [&](const char* key, const std::string& value) {
    writer.Key(key);
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  writer.StartObject();
  put("app_id", doc.app_id);
  put("config_token", doc.config_token);
  put("refresh_token", doc.refresh_token);
  writer.Key("exp");
  writer.Int64(doc.exp);
  put("rotated_from", doc.rotated_from);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string hours_left(std::int64_t exp, std::int64_t now) {
  if (exp <= 0) return "an unknown time";
  const auto minutes = (exp - now) / 60;
  if (minutes <= 0) return "already expired";
  return fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
}

// A rotated pair that could not be stored must not be lost, and must not be printed or logged:
// it goes to a new 0600 file (mkstemp) the operator can source, then delete. Empty on failure.
std::string keep_for_recovery(const std::string& dir, const SlackDocument& doc,
                              const std::string& store) {
  std::string path = (dir.empty() ? std::string("/tmp") : dir) + "/infra-bot-slack-tokens-XXXXXX";
  const int fd = ::mkstemp(path.data());  // creates the file 0600, owned by us
  if (fd < 0) return {};
  const std::string text = fmt::format(
      "# infra-bot register slack: the rotated configuration token pair that could not be "
      "stored at {}.\n# The previous pair no longer works. Source this file and run register "
      "slack again with --force, then delete it.\nSLACK_CONFIG_TOKEN={}\n"
      "SLACK_CONFIG_REFRESH_TOKEN={}\n",
      store, doc.config_token, doc.refresh_token);
  bool written = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;
  std::size_t done = 0;
  while (written && done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      written = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  written = ::fsync(fd) == 0 && written;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return {};
  }
  return path;
}

// Stores `doc`; on failure keeps the pair in a recovery file and says how to go on.
bool store_or_keep(const SlackDocument& doc, bool replace, TokenStore& store,
                   const std::string& recovery_dir, std::string_view what, std::ostream& out) {
  auto written = store.write(serialize(doc), replace);
  if (written) return true;
  step_failed(out, fmt::format("could not store {}: {}", what, written.error().user_message));
  const std::string path = keep_for_recovery(recovery_dir, doc, store.describe());
  if (path.empty()) {
    step_failed(out,
                "could not write a recovery file either: the rotated pair is lost. Generate a new "
                "configuration token pair at https://api.slack.com/apps (Your App Configuration "
                "Tokens) and run register slack again");
    return false;
  }
  step_note(out, fmt::format("the new token pair is kept in {} (mode 0600; not printed). The "
                             "previous pair no longer works.",
                             path));
  step_note(out, fmt::format("when {} is writable: set -a; . {}; set +a; infra-bot register slack "
                             "--store {} --force   then delete {}",
                             store.describe(), path, store.describe(), path));
  return false;
}

}  // namespace

std::unique_ptr<SlackManifestApi> make_slack_manifest_api(core::http::Client& http,
                                                          std::string api_url) {
  return std::make_unique<HttpSlackManifestApi>(http, std::move(api_url));
}

int register_slack(const SlackInputs& in, TokenStore& store, SlackManifestApi& slack,
                   std::ostream& out) {
  const std::string where = store.describe();
  // 1. The store, before anything else: any failure but "not found" stops here.
  auto stored_text = store.read();
  if (!stored_text) {
    step_failed(out, fmt::format("reading {}: {}", where, stored_text.error().user_message));
    step_note(out, "stopped before any Slack call; nothing was rotated or written");
    return kExitFailure;
  }
  std::optional<SlackDocument> stored;
  if (*stored_text) {
    stored = parse_document(**stored_text);
    if (!stored && !in.force) {
      step_failed(out, fmt::format("{} exists but does not hold register slack's document "
                                   "(app_id, config_token, refresh_token); --force replaces it "
                                   "with SLACK_CONFIG_TOKEN / SLACK_CONFIG_REFRESH_TOKEN",
                                   where));
      return kExitFailure;
    }
    if (stored) {
      step_ok(out, fmt::format("read {}: app {}, configuration token valid for {}", where,
                               stored->app_id.empty() ? "not created yet" : stored->app_id,
                               hours_left(stored->exp, in.now_unix)));
    }
  } else {
    step_ok(out, fmt::format("read {}: nothing stored yet", where));
  }
  const bool has_env = in.config_token && in.refresh_token;
  const bool store_has_value = stored_text->has_value();

  // 2. Which pair: the environment's (first run, or --force) or the stored one.
  SlackDocument current;
  bool from_environment = false;
  if (stored) current = *stored;
  if (has_env && stored && *in.refresh_token != stored->refresh_token) {
    if (sha256_hex(*in.refresh_token) == stored->rotated_from) {
      step_ok(out, fmt::format("SLACK_CONFIG_REFRESH_TOKEN was already rotated into {}; using "
                               "the stored pair",
                               where));
    } else if (!in.force) {
      step_failed(out, fmt::format("{} holds another configuration token pair than "
                                   "SLACK_CONFIG_TOKEN / SLACK_CONFIG_REFRESH_TOKEN; not replaced "
                                   "without --force",
                                   where));
      step_note(out, "stopped before any Slack call");
      return kExitFailure;
    } else {
      from_environment = true;
    }
  } else if (has_env && !stored) {
    from_environment = true;
  }
  if (from_environment) {
    current.config_token = *in.config_token;
    current.refresh_token = *in.refresh_token;
    current.exp = 0;
  }
  if (current.refresh_token.empty()) {
    step_failed(out, fmt::format("no configuration token: set SLACK_CONFIG_TOKEN and "
                                 "SLACK_CONFIG_REFRESH_TOKEN (https://api.slack.com/apps → Your "
                                 "App Configuration Tokens → Generate Token), or use a --store "
                                 "that holds them (nothing found at {})",
                                 where));
    return kExitConfig;
  }

  // 3. Rotate when the pair came from the environment (so that only the stored pair works)
  //    or the stored token is about to expire; store the new pair BEFORE using it.
  if (from_environment || current.exp - in.now_unix < kRotateMarginSeconds) {
    auto rotated = slack.rotate(current.refresh_token);
    if (!rotated) {
      step_failed(
          out, fmt::format("rotating the configuration token: {}", rotated.error().user_message));
      step_note(out, from_environment ? "nothing was stored; the environment's pair is unchanged"
                                      : fmt::format("{} is unchanged", where));
      return kExitFailure;
    }
    SlackDocument next = current;
    next.rotated_from = sha256_hex(current.refresh_token);
    next.config_token = rotated->token;
    next.refresh_token = rotated->refresh_token;
    next.exp = rotated->exp;
    step_ok(out, fmt::format("configuration token rotated (tooling.tokens.rotate); the new one "
                             "is valid for {}",
                             hours_left(next.exp, in.now_unix)));
    // Our own rotation replaces what we read (the previous pair stops working now).
    if (!store_or_keep(next, store_has_value, store, in.recovery_dir, "the rotated token pair",
                       out)) {
      step_note(out, "stopped before using the new token");
      return kExitFailure;
    }
    step_ok(out, fmt::format("new token pair stored at {}", where));
    current = std::move(next);
  } else {
    step_ok(out, fmt::format("configuration token from {} is valid for {}; not rotated", where,
                             hours_left(current.exp, in.now_unix)));
  }

  // 4. The manifest: validate, then create (no stored app id) or update when it differs.
  auto valid = slack.validate(current.config_token, in.manifest_json, current.app_id);
  if (!valid) {
    step_failed(out,
                fmt::format("{} is not valid: {}", in.manifest_path, valid.error().user_message));
    return kExitFailure;
  }
  step_ok(out, fmt::format("{} is valid (apps.manifest.validate)", in.manifest_path));

  std::string oauth_url;
  if (current.app_id.empty()) {
    auto created = slack.create(current.config_token, in.manifest_json);
    if (!created) {
      step_failed(out, fmt::format("creating the app: {}", created.error().user_message));
      return kExitFailure;
    }
    step_ok(out, fmt::format("app {} created from {} (apps.manifest.create)", created->app_id,
                             in.manifest_path));
    current.app_id = created->app_id;
    oauth_url = created->oauth_authorize_url;
    if (!store_or_keep(current, true, store, in.recovery_dir, "the new app's id", out)) {
      step_note(out, fmt::format("app {} exists: after fixing the store, put \"app_id\": \"{}\" "
                                 "into the stored document so that register updates it instead "
                                 "of creating another",
                                 current.app_id, current.app_id));
      return kExitFailure;
    }
    step_ok(out, fmt::format("app id {} stored at {}", current.app_id, where));
  } else {
    auto exported = slack.export_manifest(current.config_token, current.app_id);
    if (!exported) {
      step_failed(out, fmt::format("exporting app {}'s manifest: {}", current.app_id,
                                   exported.error().user_message));
      return kExitFailure;
    }
    if (manifest_matches(in.manifest_json, *exported)) {
      step_ok(out, fmt::format("app {} already matches {} (apps.manifest.export); not updated",
                               current.app_id, in.manifest_path));
    } else {
      auto updated = slack.update(current.config_token, current.app_id, in.manifest_json);
      if (!updated) {
        step_failed(
            out, fmt::format("updating app {}: {}", current.app_id, updated.error().user_message));
        return kExitFailure;
      }
      step_ok(out, fmt::format("app {} updated from {} (apps.manifest.update)", current.app_id,
                               in.manifest_path));
    }
  }

  // 5. What Slack has no API for.
  step_manual(out, fmt::format("install the app to the workspace (no API for it): {}",
                               oauth_url.empty() ? fmt::format("https://api.slack.com/apps/{}/"
                                                               "install-on-team",
                                                               current.app_id)
                                                 : oauth_url));
  step_note(out, "then copy the Bot User OAuth Token (xoxb-…) into SLACK_BOT_TOKEN");
  step_manual(out, fmt::format("generate the app-level token with the connections:write scope "
                               "(no API for it): https://api.slack.com/apps/{}/general → App-Level "
                               "Tokens; it goes into SLACK_APP_TOKEN (xapp-…)",
                               current.app_id));
  return kExitOk;
}

}  // namespace app::reg
