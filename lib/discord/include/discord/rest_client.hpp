#pragma once

// Discord's REST API (../shared/notes/discord.md §1, §7) on the process's
// HTTP client: `Authorization: Bot <token>` where a route needs it, the
// `User-Agent: DiscordBot (url, version)` Discord requires, per-route buckets
// from X-RateLimit-Bucket / -Remaining / -Reset-After, the global limit, and
// 429 retry_after. A request that may have reached Discord (the transport
// cannot tell) is not sent again unless it is idempotent (GET, PUT, PATCH,
// DELETE) or an interaction callback (a second one is refused with 40060,
// never acted on; that refusal then counts as success). Knows no /infra.
// Thread-safe; calls block their caller's thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace discord {

struct RestSettings {
  std::string api_url = "https://discord.com/api/v10";  ///< DISCORD_API_URL
  std::string bot_token;                                ///< secret: never logged
  std::string version = "0";                            ///< for the User-Agent
  /// At most this many sends of one request (429s and 5xx included).
  int max_attempts = 4;
  /// A 429 or a bucket asking to wait longer than this fails instead.
  std::chrono::milliseconds max_wait{30000};
  std::chrono::milliseconds timeout{10000};
};

struct RestResponse {
  long status = 0;
  std::string body;
};

class RestClient {
 public:
  /// `sleep` waits (tests pass one that moves a manual clock).
  RestClient(RestSettings settings, core::http::Client& http, const core::Clock& clock,
             core::LoggerPtr logger, std::function<void(std::chrono::milliseconds)> sleep = {});
  ~RestClient();

  /// One call: `path` below api_url ("/gateway/bot"); `body` JSON (empty: none).
  /// A 2xx is a value; any other status an Error (code from the status:
  /// 401/403 denied, 404 not_found, 429/5xx unavailable, 400 invalid_input)
  /// whose detail has Discord's code and message.
  core::Result<RestResponse> call(std::string_view method, std::string_view path,
                                  std::string_view body = {}, bool authorized = true);

  // Routes used by the front end (interaction routes carry no Authorization).
  core::Status interaction_callback(const std::string& interaction_id, const std::string& token,
                                    const std::string& body_json);
  core::Status edit_original(const std::string& application_id, const std::string& token,
                             const std::string& message_json);
  core::Status follow_up(const std::string& application_id, const std::string& token,
                         const std::string& message_json);

  const RestSettings& settings() const { return settings_; }

 private:
  struct Bucket;
  RestSettings settings_;
  core::http::Client& http_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::mutex mutex_;
  std::map<std::string, std::string> route_bucket_;         ///< route key → bucket id
  std::map<std::string, std::shared_ptr<Bucket>> buckets_;  ///< bucket id + major → state
  core::MonoTime global_until_{};
};

}  // namespace discord
