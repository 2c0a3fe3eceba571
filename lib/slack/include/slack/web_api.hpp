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

/// What the app needs from Slack's Web API. An interface so that flows
/// above it (infra::App) are tested in-process with a recording fake;
/// HttpWebApi is the real one. Calls block the calling thread (never call
/// them on the Socket Mode thread). Implementations are thread-safe.
class WebApi {
 public:
  virtual ~WebApi() = default;

  /// chat.postMessage with a message body ({"text","blocks",…}) plus channel
  /// and optional thread_ts; returns the message ts.
  virtual core::Result<std::string> post_message(const std::string& channel,
                                                 const std::string& message_json,
                                                 const std::string& thread_ts = {}) = 0;
  virtual core::Status post_ephemeral(const std::string& channel, const std::string& user,
                                      const std::string& message_json) = 0;
  virtual core::Status update_message(const std::string& channel, const std::string& ts,
                                      const std::string& message_json) = 0;
  /// views.open within 3 s of the trigger; returns the view id.
  virtual core::Result<std::string> open_view(const std::string& trigger_id,
                                              const std::string& view_json) = 0;
  virtual core::Status update_view(const std::string& view_id, const std::string& view_json) = 0;
  virtual core::Result<UserInfo> user_info(const std::string& user_id) = 0;
  /// POST to a response_url (no token: the URL is the credential; never logged).
  virtual core::Status respond(const std::string& response_url,
                               const std::string& message_json) = 0;
};

/// Slack's Web API over HTTPS with the bot token: JSON bodies, `ok:false`
/// errors surfaced by name (Error::detail holds the error code, user_message
/// a readable text), HTTP 429 waits Retry-After, 5xx and transport failures
/// retried with backoff. Calls do not wait for each other.
class HttpWebApi final : public WebApi {
 public:
  /// How the client waits between attempts (Retry-After, backoff); empty =
  /// std::this_thread::sleep_for. Tests pass a recorder so they never sleep.
  using SleepFunction = std::function<void(std::chrono::milliseconds)>;

  HttpWebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
             SleepFunction sleep = {});

  core::Result<std::string> post_message(const std::string& channel,
                                         const std::string& message_json,
                                         const std::string& thread_ts = {}) override;
  core::Status post_ephemeral(const std::string& channel, const std::string& user,
                              const std::string& message_json) override;
  core::Status update_message(const std::string& channel, const std::string& ts,
                              const std::string& message_json) override;
  core::Result<std::string> open_view(const std::string& trigger_id,
                                      const std::string& view_json) override;
  core::Status update_view(const std::string& view_id, const std::string& view_json) override;
  core::Result<UserInfo> user_info(const std::string& user_id) override;
  core::Status respond(const std::string& response_url, const std::string& message_json) override;

 private:
  core::Result<std::string> call(const std::string& method, const std::string& body_json);

  WebApiSettings settings_;
  core::http::Client& http_;
  core::LoggerPtr logger_;
  SleepFunction sleep_;
};

}  // namespace slack
