#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace slack {

struct WebApiSettings {
  std::string bot_token;                           ///< xoxb-…
  std::string api_url = "https://slack.com/api/";  ///< ends with '/'
  int max_attempts = 3;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::seconds max_retry_after{30};
};

/// A user from users.info.
struct UserInfo {
  std::string id;
  std::string name;       ///< the Slack handle
  std::string real_name;  ///< profile.real_name, may be empty
};

/// Slack's Web API with the bot token: JSON bodies, `ok:false` errors
/// surfaced by name (Error::detail holds the error code, user_message a
/// readable text), HTTP 429 waits Retry-After, 5xx and transport failures
/// retried with backoff. Calls block the calling thread (never call them on
/// the Socket Mode thread) and do not wait for each other. Thread-safe.
class WebApi {
 public:
  /// How the client waits between attempts (Retry-After, backoff); empty =
  /// std::this_thread::sleep_for. Tests pass a recorder so they never sleep.
  using SleepFunction = std::function<void(std::chrono::milliseconds)>;

  WebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
         SleepFunction sleep = {});

  /// chat.postMessage with a message body ({"text","blocks",…}) plus channel
  /// and optional thread_ts; returns the message ts.
  core::Result<std::string> post_message(const std::string& channel,
                                         const std::string& message_json,
                                         const std::string& thread_ts = {});
  core::Status post_ephemeral(const std::string& channel, const std::string& user,
                              const std::string& message_json);
  core::Status update_message(const std::string& channel, const std::string& ts,
                              const std::string& message_json);
  /// views.open within 3 s of the trigger; returns the view id.
  core::Result<std::string> open_view(const std::string& trigger_id, const std::string& view_json);
  core::Status update_view(const std::string& view_id, const std::string& view_json);
  core::Result<UserInfo> user_info(const std::string& user_id);
  /// POST to a response_url (no token: the URL is the credential; never logged).
  core::Status respond(const std::string& response_url, const std::string& message_json);

 private:
  core::Result<std::string> call(const std::string& method, const std::string& body_json);

  WebApiSettings settings_;
  core::http::Client& http_;
  core::LoggerPtr logger_;
  SleepFunction sleep_;
};

}  // namespace slack
