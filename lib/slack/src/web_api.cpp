// HttpWebApi: one Slack Web API call end to end — JSON body, bot token, the
// per-method rate-limit memory, Retry-After and 5xx retries, the error shapes.
// The retry decisions and the per-method wait are one state machine, kept in
// one file; the replies of the reads are parsed in web_api_replies.cpp.
#include "slack/web_api.hpp"

#include "web_api_replies.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "core/json.hpp"
#include "core/retry.hpp"

namespace slack {

namespace detail {

// Slack rate-limits each Web API method on its own (its tiers: docs.slack.dev
// "Rate limits"): after a 429 on chat.postMessage, later chat.postMessage calls
// wait until its Retry-After has passed; views.open is not held back.
class MethodRateLimits {
 public:
  /// Until when `method` must not be called, if an earlier 429 said so.
  std::optional<core::MonoTime> not_before(std::string_view method) const {
    std::lock_guard lock(mutex_);
    const auto found = not_before_.find(method);
    if (found == not_before_.end()) return std::nullopt;
    return found->second;
  }
  /// Holds `method` back until `until` (a later time than one held already wins).
  void hold(std::string_view method, core::MonoTime until) {
    std::lock_guard lock(mutex_);
    const auto found = not_before_.find(method);
    if (found == not_before_.end()) {
      not_before_.emplace(std::string(method), until);
    } else {
      found->second = std::max(found->second, until);
    }
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, core::MonoTime, std::less<>> not_before_;  // a handful of methods
};

}  // namespace detail

namespace {

using core::ErrorCode;
using std::chrono::milliseconds;

// Whether a request that may have reached Slack can be sent again. A second
// chat.postMessage / chat.postEphemeral / response_url post after an
// indeterminate failure would show the message twice, and a second views.open
// with the same trigger_id fails with exchanged_trigger_id even when the
// first one opened the modal. A duplicate message in a channel is worse than
// an error the user can see, so those are not retried once the request may
// have been sent; the caller gets an `indeterminate` Error instead.
enum class Repeat { safe, once_only };

// One exchange's shape: where it goes, how it is labelled in logs, and how it
// may be retried.
struct Target {
  std::string label;  ///< the method name, or "response_url" (never the URL itself)
  std::string url;
  std::string content_type;
  std::string authorization;  ///< empty: no Authorization header
  Repeat repeat = Repeat::once_only;
  bool json_reply = true;  ///< response_url answers may be plain "ok"
  /// A Web API method: its 429s hold back its later calls (MethodRateLimits).
  /// False for response_url, whose limit is the URL's own.
  bool method_rate_limit = true;
};

constexpr std::string_view kJsonContentType = "application/json; charset=utf-8";
constexpr std::string_view kFormContentType = "application/x-www-form-urlencoded";

// Slack's per-call work is small; a call slower than this is not coming back.
constexpr milliseconds kConnectTimeout{5000};
constexpr milliseconds kTotalTimeout{15000};
// Without a usable Retry-After, a 429 waits this long.
constexpr std::chrono::seconds kDefaultRetryAfter{1};
// Exponential backoff stops doubling here (full jitter below it).
constexpr milliseconds kMaxBackoff{20000};

Repeat repeat_for(std::string_view method) {
  // users.info reads; chat.update and views.update set the same content again.
  if (method == "users.info" || method == "auth.test" || method == "chat.update" ||
      method == "views.update") {
    return Repeat::safe;
  }
  return Repeat::once_only;
}

// Retry-After in seconds (Slack sends an integer), taken as given; missing or
// unreadable → kDefaultRetryAfter.
std::chrono::seconds retry_after(const core::http::Response& response) {
  const auto header = response.header("Retry-After");
  const auto given = header ? core::retry::parse_retry_after(*header) : std::nullopt;
  return given.value_or(kDefaultRetryAfter);
}

// What a user is kept from while a method is rate-limited.
std::string_view held_back_activity(std::string_view label) {
  if (label.starts_with("chat.") || label == "response_url") return "posting";
  if (label.starts_with("views.")) return "opening or updating dialogs";
  return "asking Slack";
}

// `{"ok":false,"error":…}` → the Error the caller sees. user_message is for
// the Slack user; detail is "<method>: <error code>" plus Slack's
// response_metadata.messages (e.g. "[ERROR] must be less than 3001 characters
// [json-pointer:/blocks/1/text/text]") for the log.
core::Error slack_error(const Target& target, std::string_view code,
                        const rapidjson::Value& document) {
  std::string detail = fmt::format("{}: {}", target.label, code);
  if (const auto* metadata = core::json::get_object(document, "response_metadata")) {
    if (const auto* messages = core::json::get_array(*metadata, "messages")) {
      std::string joined;
      for (const auto& message : messages->GetArray()) {
        if (message.IsString()) {
          joined += joined.empty() ? "" : "; ";
          joined.append(message.GetString(), message.GetStringLength());
        }
      }
      if (!joined.empty()) {
        detail += " (" + joined + ")";
      }
    }
  }

  ErrorCode error_code = ErrorCode::internal;
  std::string message;
  // Token and permission problems are configuration: nothing a user retyping
  // the command can fix (error lists: docs.slack.dev method pages).
  if (code == "invalid_auth" || code == "not_authed" || code == "account_inactive" ||
      code == "token_revoked" || code == "token_expired" || code == "not_allowed_token_type" ||
      code == "no_permission" || code == "missing_scope" || code == "team_access_not_granted") {
    error_code = ErrorCode::config;
    message = fmt::format("Slack rejected the bot's credentials ({}).", code);
  } else if (code == "channel_not_found" || code == "user_not_found" ||
             code == "message_not_found" || code == "not_found") {
    error_code = ErrorCode::not_found;
    message = fmt::format("Slack could not find that ({}).", code);
  } else if (code == "not_in_channel" || code == "is_archived" || code == "restricted_action" ||
             code == "user_not_in_channel" || code == "cant_update_message" ||
             code == "ekm_access_denied" || code == "access_denied") {
    error_code = ErrorCode::denied;
    message = fmt::format("Slack did not allow that ({}).", code);
  } else if (code == "expired_trigger_id" || code == "exchanged_trigger_id" ||
             code == "invalid_trigger_id") {
    error_code = ErrorCode::invalid_input;
    message = "The dialog could not be opened in time. Please run the command again.";
  } else if (code == "expired_url") {
    // response_url: 5 uses within 30 minutes (§4.8 of the Slack notes).
    error_code = ErrorCode::conflict;
    message = "That request is too old to answer here; please run the command again.";
  } else if (code == "ratelimited" || code == "internal_error" || code == "fatal_error" ||
             code == "service_unavailable" || code == "request_timeout") {
    error_code = ErrorCode::unavailable;
    message = fmt::format("Slack is not available right now ({}). Please try again shortly.", code);
  } else {
    // invalid_blocks, invalid_arguments, msg_too_long, view_too_large, …: a
    // request we built that Slack refused — a bug on our side.
    error_code = ErrorCode::internal;
    message = fmt::format("Slack refused the request ({}).", code);
  }
  return core::make_error(error_code, std::move(message), std::move(detail));
}

core::Error unavailable(const Target& target, std::string reason) {
  return core::make_error(ErrorCode::unavailable,
                          "Slack is not available right now. Please try again shortly.",
                          fmt::format("{}: {}", target.label, reason));
}

// A call that would wait longer than max_rate_limit_wait for its method's rate
// limit: refused at once rather than sleeping.
core::Error rate_limit_refusal(const Target& target, milliseconds wait,
                               std::chrono::seconds limit) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
  return core::make_error(
      ErrorCode::unavailable,
      fmt::format("Slack asked infra-bot to wait {} s before {} again. Please try again later.",
                  seconds, held_back_activity(target.label)),
      fmt::format("{}: rate-limited for {} s more (Retry-After), over the {} s a call may wait",
                  target.label, seconds, limit.count()));
}

core::Error maybe_sent(const Target& target, std::string reason) {
  return core::make_error(ErrorCode::indeterminate,
                          "Slack did not confirm the request; it may or may not have gone through.",
                          fmt::format("{}: {}", target.label, reason));
}

// What one attempt came to.
struct Attempt {
  enum class Next { done, retry_backoff, retry_after } next = Next::done;
  core::Result<std::string> result = std::string();
  std::optional<std::chrono::seconds> rate_limited;  ///< Slack's Retry-After, on a 429/ratelimited
  std::optional<std::string> oauth_scopes;           ///< a successful reply's x-oauth-scopes header
};

Attempt judge(const Target& target, const core::Result<core::http::Response>& sent) {
  Attempt attempt;
  if (!sent) {
    const core::Error& error = sent.error();
    if (error.code == ErrorCode::unavailable) {
      attempt.next = Attempt::Next::retry_backoff;
      attempt.result = unavailable(target, error.detail);
    } else if (error.code == ErrorCode::indeterminate) {
      attempt.next =
          target.repeat == Repeat::safe ? Attempt::Next::retry_backoff : Attempt::Next::done;
      attempt.result = maybe_sent(target, error.detail);
    } else {
      core::Error copy = error;
      copy.detail = fmt::format("{}: {}", target.label, error.detail);
      attempt.result = std::move(copy);
    }
    return attempt;
  }

  const core::http::Response& response = *sent;
  if (response.status == 429) {
    // Slack rejected the call without running it: always safe to send again.
    attempt.next = Attempt::Next::retry_after;
    attempt.rate_limited = retry_after(response);
    attempt.result = core::make_error(
        ErrorCode::unavailable, "Slack is rate-limiting the bot. Please try again in a minute.",
        fmt::format("{}: ratelimited (HTTP 429, Retry-After {} s)", target.label,
                    attempt.rate_limited->count()));
    return attempt;
  }
  if (response.status >= 500) {
    // A 504 comes from a gateway that gave up waiting for Slack, which may
    // still have acted; other 5xx mean the call failed.
    const bool may_have_run = response.status == 504;
    if (may_have_run && target.repeat == Repeat::once_only) {
      attempt.result = maybe_sent(target, fmt::format("HTTP {}", response.status));
    } else {
      attempt.next = Attempt::Next::retry_backoff;
      attempt.result = unavailable(target, fmt::format("HTTP {}", response.status));
    }
    return attempt;
  }

  auto document = core::json::parse(response.body);
  const bool is_object = document && document->IsObject();
  if (!is_object) {
    // response_url (incoming-webhook style) answers 200 "ok" or an error
    // code as plain text.
    if (!target.json_reply && response.status >= 200 && response.status < 300) {
      return attempt;
    }
    if (!target.json_reply) {
      std::string_view body = response.body;
      const bool code_like = !body.empty() && body.size() <= 64 &&
                             std::all_of(body.begin(), body.end(),
                                         [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      attempt.result =
          core::make_error(ErrorCode::internal, "Slack refused the reply.",
                           fmt::format("{}: HTTP {}{}", target.label, response.status,
                                       code_like ? fmt::format(" ({})", body) : std::string()));
      return attempt;
    }
    attempt.result =
        core::make_error(ErrorCode::internal, "Slack sent an answer the bot could not read.",
                         fmt::format("{}: HTTP {} with a body that is not a JSON object",
                                     target.label, response.status));
    return attempt;
  }

  const auto ok = core::json::get_bool(*document, "ok");
  if (ok == true) {
    attempt.result = response.body;
    if (auto scopes = response.header("x-oauth-scopes"))
      attempt.oauth_scopes = std::string(*scopes);
    return attempt;
  }
  if (!ok && !target.json_reply && response.status >= 200 && response.status < 300) {
    return attempt;  // a JSON body without "ok" on a 2xx response_url reply
  }
  const auto code = core::json::get_string(*document, "error");
  core::Error error =
      slack_error(target, code ? *code : std::string_view("unknown_error"), *document);
  if (code == "ratelimited") {
    attempt.next = Attempt::Next::retry_after;
    attempt.rate_limited = retry_after(response);
  }
  attempt.result = std::move(error);
  return attempt;
}

// What an exchange uses of the client.
struct Context {
  const WebApiSettings& settings;
  core::http::Client& http;
  spdlog::logger& logger;
  const HttpWebApi::SleepFunction& sleep;
  const core::Clock& clock;
  core::RandomSource& random;
  detail::MethodRateLimits& rate_limits;

  void wait(milliseconds duration) const {
    if (sleep) {
      sleep(duration);
    } else {
      std::this_thread::sleep_for(duration);
    }
  }
};

// `oauth_scopes`, when given, receives the successful reply's x-oauth-scopes header.
core::Result<std::string> exchange(const Target& target, std::string body, const Context& context,
                                   std::optional<std::string>* oauth_scopes = nullptr) {
  const WebApiSettings& settings = context.settings;
  spdlog::logger& logger = context.logger;
  core::http::Request request;
  request.method = "POST";
  request.url = target.url;
  request.headers.emplace_back("Content-Type", target.content_type);
  if (!target.authorization.empty()) {
    request.headers.emplace_back("Authorization", target.authorization);
  }
  request.body = std::move(body);
  request.connect_timeout = kConnectTimeout;
  request.total_timeout = kTotalTimeout;

  const int max_attempts = std::max(1, settings.max_attempts);
  int backoff_retries = 0;
  // This call's own Retry-After (response_url has no method limit to hold it).
  std::optional<core::MonoTime> retry_after_until;
  // The latest rate-limit deadline already waited for: each is slept out
  // once, even if the sleep did not move the clock.
  std::optional<core::MonoTime> waited_until;
  for (int number = 1;; ++number) {
    auto not_before = target.method_rate_limit ? context.rate_limits.not_before(target.label)
                                               : std::optional<core::MonoTime>();
    if (retry_after_until && (!not_before || *not_before < *retry_after_until)) {
      not_before = retry_after_until;
    }
    if (not_before && (!waited_until || *not_before > *waited_until)) {
      const auto now = context.clock.monotonic();
      if (*not_before > now) {
        const auto wait = std::chrono::ceil<milliseconds>(*not_before - now);
        if (wait > settings.max_rate_limit_wait) {
          auto refusal = rate_limit_refusal(target, wait, settings.max_rate_limit_wait);
          logger.warn("slack web api: {} not sent: {}", target.label, refusal.detail);
          return refusal;
        }
        logger.info("slack web api: {} rate-limited; waiting {} ms", target.label, wait.count());
        context.wait(wait);
      }
      waited_until = not_before;
    }

    Attempt attempt = judge(target, context.http.send(request));
    if (attempt.rate_limited) {
      retry_after_until = context.clock.monotonic() + *attempt.rate_limited;
      if (target.method_rate_limit) context.rate_limits.hold(target.label, *retry_after_until);
    }
    if (attempt.result) {
      logger.debug("slack web api: {} ok (attempt {})", target.label, number);
      if (oauth_scopes != nullptr) *oauth_scopes = std::move(attempt.oauth_scopes);
      return std::move(attempt.result);
    }
    const core::Error& error = attempt.result.error();
    if (attempt.next == Attempt::Next::done || number >= max_attempts) {
      logger.warn("slack web api: {} failed after {} attempt(s): {}", target.label, number,
                  error.detail);
      return std::move(attempt.result);
    }
    if (attempt.next == Attempt::Next::retry_after) {
      // The wait is the rate limit's, at the top of the loop.
      logger.info("slack web api: {} attempt {}/{} failed ({}); retrying after Retry-After",
                  target.label, number, max_attempts, error.detail);
      continue;
    }
    const milliseconds wait = core::retry::full_jitter(settings.backoff_base, kMaxBackoff,
                                                       backoff_retries++, context.random);
    logger.info("slack web api: {} attempt {}/{} failed ({}); retrying in {} ms", target.label,
                number, max_attempts, error.detail, wait.count());
    context.wait(wait);
  }
}

const core::Clock& system_clock() {
  static const core::SystemClock clock;
  return clock;
}

// Our own message/view JSON as an object, to add the call's fields to.
core::Result<rapidjson::Document> object_from(const std::string& json, std::string_view what,
                                              std::string_view method) {
  auto document = core::json::parse(json);
  if (!document || !document->IsObject()) {
    return core::make_error(ErrorCode::internal, "The bot built a message Slack cannot take.",
                            fmt::format("{}: {} is not a JSON object", method, what));
  }
  return document;
}

void set_string(rapidjson::Document& document, std::string_view key, std::string_view value) {
  auto& allocator = document.GetAllocator();
  rapidjson::Value name(key.data(), static_cast<rapidjson::SizeType>(key.size()), allocator);
  rapidjson::Value text(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator);
  document.RemoveMember(name);
  document.AddMember(name, text, allocator);
}

void set_object(rapidjson::Document& document, std::string_view key, rapidjson::Document&& value) {
  auto& allocator = document.GetAllocator();
  rapidjson::Value name(key.data(), static_cast<rapidjson::SizeType>(key.size()), allocator);
  rapidjson::Value copy(value, allocator);
  document.RemoveMember(name);
  document.AddMember(name, copy, allocator);
}

std::string form_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A string member of a successful reply (its presence was checked by "ok").
std::string reply_string(const std::string& body, std::initializer_list<std::string_view> path) {
  auto document = core::json::parse(body);
  if (!document) {
    return {};
  }
  const rapidjson::Value* node = &*document;
  auto it = path.begin();
  for (; std::next(it) != path.end(); ++it) {
    node = core::json::get_object(*node, *it);
    if (node == nullptr) {
      return {};
    }
  }
  auto value = core::json::get_string(*node, *it);
  return value ? std::string(*value) : std::string();
}

}  // namespace

HttpWebApi::HttpWebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
                       SleepFunction sleep)
    : HttpWebApi(std::move(settings), http, std::move(logger), std::move(sleep), system_clock(),
                 core::system_random()) {}

HttpWebApi::HttpWebApi(WebApiSettings settings, core::http::Client& http, core::LoggerPtr logger,
                       SleepFunction sleep, const core::Clock& clock, core::RandomSource& random)
    : settings_(std::move(settings)),
      http_(http),
      logger_(std::move(logger)),
      sleep_(std::move(sleep)),
      clock_(clock),
      random_(random),
      rate_limits_(std::make_unique<detail::MethodRateLimits>()) {
  if (!logger_) {
    logger_ = core::make_null_logger();
  }
}

HttpWebApi::~HttpWebApi() = default;

core::Result<std::string> HttpWebApi::call(const std::string& method, const std::string& body_json,
                                           std::optional<std::string>* oauth_scopes) {
  Target target;
  target.label = method;
  target.url = settings_.api_url + method;
  target.content_type = kJsonContentType;
  target.authorization = "Bearer " + settings_.bot_token;
  target.repeat = repeat_for(method);
  return exchange(target, body_json,
                  {settings_, http_, *logger_, sleep_, clock_, random_, *rate_limits_},
                  oauth_scopes);
}

core::Result<std::string> HttpWebApi::post_message(const std::string& channel,
                                                   const std::string& message_json,
                                                   const std::string& thread_ts) {
  auto body = object_from(message_json, "message", "chat.postMessage");
  if (!body) {
    return body.error();
  }
  set_string(*body, "channel", channel);
  if (!thread_ts.empty()) {
    set_string(*body, "thread_ts", thread_ts);
  }
  auto reply = call("chat.postMessage", core::json::to_string(*body));
  if (!reply) {
    return reply.error();
  }
  return reply_string(*reply, {"ts"});
}

core::Status HttpWebApi::post_ephemeral(const std::string& channel, const std::string& user,
                                        const std::string& message_json) {
  auto body = object_from(message_json, "message", "chat.postEphemeral");
  if (!body) {
    return body.error();
  }
  set_string(*body, "channel", channel);
  set_string(*body, "user", user);
  auto reply = call("chat.postEphemeral", core::json::to_string(*body));
  if (!reply) {
    return reply.error();
  }
  return {};
}

core::Status HttpWebApi::update_message(const std::string& channel, const std::string& ts,
                                        const std::string& message_json) {
  auto body = object_from(message_json, "message", "chat.update");
  if (!body) {
    return body.error();
  }
  set_string(*body, "channel", channel);
  set_string(*body, "ts", ts);
  auto reply = call("chat.update", core::json::to_string(*body));
  if (!reply) {
    return reply.error();
  }
  return {};
}

core::Result<std::string> HttpWebApi::open_view(const std::string& trigger_id,
                                                const std::string& view_json) {
  auto view = object_from(view_json, "view", "views.open");
  if (!view) {
    return view.error();
  }
  rapidjson::Document body(rapidjson::kObjectType);
  set_string(body, "trigger_id", trigger_id);
  set_object(body, "view", std::move(*view));
  auto reply = call("views.open", core::json::to_string(body));
  if (!reply) {
    return reply.error();
  }
  return reply_string(*reply, {"view", "id"});
}

core::Status HttpWebApi::update_view(const std::string& view_id, const std::string& view_json) {
  auto view = object_from(view_json, "view", "views.update");
  if (!view) {
    return view.error();
  }
  rapidjson::Document body(rapidjson::kObjectType);
  set_string(body, "view_id", view_id);
  set_object(body, "view", std::move(*view));
  auto reply = call("views.update", core::json::to_string(body));
  if (!reply) {
    return reply.error();
  }
  return {};
}

core::Result<std::string> HttpWebApi::form_call(const std::string& method,
                                                const std::string& form_body) {
  Target target;
  target.label = method;
  target.url = settings_.api_url + method;
  target.content_type = kFormContentType;
  target.authorization = "Bearer " + settings_.bot_token;
  target.repeat = Repeat::safe;
  return exchange(target, form_body,
                  {settings_, http_, *logger_, sleep_, clock_, random_, *rate_limits_});
}

core::Result<UserInfo> HttpWebApi::user_info(const std::string& user_id) {
  // users.info takes form arguments only (its method page lists
  // application/x-www-form-urlencoded as the one content type), so this call
  // is the exception to JSON bodies.
  auto reply = form_call("users.info", "user=" + form_escape(user_id));
  if (!reply) return reply.error();
  return detail::parse_user_info(*reply);
}

core::Result<AuthIdentity> HttpWebApi::auth_test() {
  std::optional<std::string> scopes;
  auto reply = call("auth.test", "{}", &scopes);
  if (!reply) return reply.error();
  return detail::parse_auth_test(*reply, scopes);
}

core::Result<ConversationInfo> HttpWebApi::conversation_info(const std::string& channel) {
  // conversations.info takes form arguments (like users.info).
  auto reply = form_call("conversations.info", "channel=" + form_escape(channel));
  if (!reply) return reply.error();
  return detail::parse_conversation_info(*reply, channel);
}

core::Status HttpWebApi::respond(const std::string& response_url, const std::string& message_json) {
  // The URL is the credential: no token goes with it, and it is never logged
  // (the label stands in for it).
  Target target;
  target.label = "response_url";
  target.url = response_url;
  target.content_type = kJsonContentType;
  target.repeat = Repeat::once_only;
  target.json_reply = false;
  target.method_rate_limit = false;
  if (response_url.rfind("https://", 0) != 0 && response_url.rfind("http://", 0) != 0) {
    return core::make_error(ErrorCode::invalid_input, "There is no way to reply to that request.",
                            "response_url: not an http(s) URL");
  }
  auto body = object_from(message_json, "message", "response_url");
  if (!body) {
    return body.error();
  }
  auto reply = exchange(target, core::json::to_string(*body),
                        {settings_, http_, *logger_, sleep_, clock_, random_, *rate_limits_});
  if (!reply) {
    return reply.error();
  }
  return {};
}

}  // namespace slack
