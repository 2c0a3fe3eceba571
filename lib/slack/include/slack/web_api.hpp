#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/result.hpp"

namespace slack {

struct WebApiSettings {
  std::string bot_token;                           ///< xoxb-…
  std::string api_url = "https://slack.com/api/";  ///< ends with '/'
  int max_attempts = 3;
  std::chrono::milliseconds backoff_base{500};  ///< full jitter (core::retry) for 5xx and transport
  /// The longest one call waits for Slack's rate limit on its method (a 429's
  /// Retry-After, taken as given, or one an earlier call of the method got):
  /// a call that would have to wait longer fails at once with `unavailable`
  /// and says how long Slack asked for, instead of sleeping.
  std::chrono::seconds max_rate_limit_wait{300};
};

/// A user from users.info.
struct UserInfo {
  std::string id;
  std::string name;       ///< the Slack handle
  std::string real_name;  ///< profile.real_name, may be empty
  std::string team_id;    ///< the user's home workspace
  bool is_bot = false;    ///< is_bot or is_app_user
  bool deleted = false;
  bool is_restricted = false;        ///< a multi-channel guest
  bool is_ultra_restricted = false;  ///< a single-channel guest
  bool is_stranger = false;          ///< from another organisation (Slack Connect)
};

/// Who the bot token belongs to (auth.test).
struct AuthIdentity {
  std::string team_id;
  std::string user_id;  ///< the bot's user
  std::string bot_id;
  std::string enterprise_id;  ///< empty outside Enterprise Grid
  // The members below have initializers so that {team_id, user_id, bot_id, enterprise_id}
  // still initializes an AuthIdentity without a missing-initializer warning.
  std::string team{};  ///< the workspace's name, may be empty
  std::string user{};  ///< the bot user's name, may be empty
  /// The token's scopes, from the reply's `x-oauth-scopes` header (Slack sends
  /// it on every Web API answer: "chat:write,commands"), split and trimmed;
  /// nullopt when the header was absent.
  std::optional<std::vector<std::string>> scopes{};
};

/// A channel as conversations.info shows it to the bot.
struct ConversationInfo {
  std::string id;
  std::string name;  ///< without '#', may be empty
  bool is_private = false;
  bool is_archived = false;
  bool is_member = false;  ///< the bot is in it (it can post there)
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
  /// auth.test: the workspace and bot user the token belongs to.
  virtual core::Result<AuthIdentity> auth_test() = 0;
  /// POST to a response_url (no token: the URL is the credential; never logged).
  virtual core::Status respond(const std::string& response_url,
                               const std::string& message_json) = 0;
};

namespace detail {
class MethodRateLimits;
}

/// Slack's Web API over HTTPS with the bot token: JSON bodies, `ok:false`
/// errors surfaced by name (Error::detail holds the error code, user_message
/// a readable text), 5xx and transport failures retried with full-jitter
/// backoff (core::retry). Rate limits are per method, as Slack tiers them: a
/// 429 (or `ratelimited`) makes this call and later calls of the same method
/// wait until its Retry-After (taken as given) has passed, and no call waits
/// longer than WebApiSettings::max_rate_limit_wait; other methods are not held
/// back, and otherwise calls do not wait for each other.
class HttpWebApi final : public WebApi {
 public:
  /// How the client waits (Retry-After, backoff); empty =
  /// std::this_thread::sleep_for. Tests pass a recorder so they never sleep
  /// (and advance their clock by what it is asked).
  using SleepFunction = std::function<void(std::chrono::milliseconds)>;

  /// The system clock (monotonic time) and core::system_random().
  HttpWebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
             SleepFunction sleep = {});
  /// With the time and randomness seams: `clock`'s monotonic() times the
  /// rate-limit waits, `random` draws the backoff jitter. Both must outlive
  /// the client.
  HttpWebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
             SleepFunction sleep, const core::Clock& clock, core::RandomSource& random);
  ~HttpWebApi() override;
  HttpWebApi(const HttpWebApi&) = delete;
  HttpWebApi& operator=(const HttpWebApi&) = delete;

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
  core::Result<AuthIdentity> auth_test() override;
  core::Status respond(const std::string& response_url, const std::string& message_json) override;

  /// conversations.info (scope channels:read, groups:read for a private
  /// channel): what the bot sees of `channel`. Only `infra-bot doctor` asks,
  /// so it is not part of WebApi. Errors as for every call (Error::detail
  /// "conversations.info: <code>": channel_not_found, missing_scope, …).
  core::Result<ConversationInfo> conversation_info(const std::string& channel);

 private:
  core::Result<std::string> call(const std::string& method, const std::string& body_json,
                                 std::optional<std::string>* oauth_scopes = nullptr);
  /// A read that takes form arguments (users.info, conversations.info), retried as safe.
  core::Result<std::string> form_call(const std::string& method, const std::string& form_body);

  WebApiSettings settings_;
  core::http::Client& http_;
  core::LoggerPtr logger_;
  SleepFunction sleep_;
  const core::Clock& clock_;
  core::RandomSource& random_;
  std::unique_ptr<detail::MethodRateLimits> rate_limits_;
};

}  // namespace slack
