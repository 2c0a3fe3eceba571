#include "discord/rest_client.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <iterator>
#include <optional>
#include <thread>

#include "core/json.hpp"
#include "core/retry.hpp"

namespace discord {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxBuckets = 256;

bool idempotent(std::string_view method) {
  return method == "GET" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// An interaction callback sent twice is refused with 40060 ("already
// acknowledged"), never acted on twice: safe to send again.
bool is_interaction_callback(std::string_view path) {
  return path.rfind("/interactions/", 0) == 0 && path.size() > 9 &&
         path.substr(path.size() - 9) == "/callback";
}

bool all_digits(std::string_view part) {
  return !part.empty() &&
         std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Discord's buckets are per route and per top-level resource (channel,
// guild, webhook + token, interaction + token): the route is the path with
// ids replaced, the major part is the path up to and with the top-level id.
struct RouteKey {
  std::string route;  ///< "PATCH /webhooks/:id/:token/messages/@original"
  std::string major;  ///< "/webhooks/123/<token>" (in memory only, never logged)
};

RouteKey route_key(std::string_view method, std::string_view path) {
  RouteKey key;
  key.route = std::string(method) + " ";
  std::size_t start = 0;
  int index = 0;
  std::string_view top;
  while (start < path.size()) {
    auto end = path.find('/', start + 1);
    if (end == std::string_view::npos) end = path.size();
    const auto part = path.substr(start + 1, end - start - 1);
    const bool tokenish = (top == "webhooks" || top == "interactions") && index == 2;
    if (index == 0) top = part;
    if (all_digits(part) || tokenish) {
      key.route += tokenish ? "/:token" : "/:id";
    } else {
      key.route += "/";
      key.route += part;
    }
    if (index <= 2 &&
        (top == "channels" || top == "guilds" || top == "webhooks" || top == "interactions")) {
      if (index == 1 || (index == 2 && (top == "webhooks" || top == "interactions"))) {
        key.major = std::string(path.substr(0, end));
      }
    }
    start = end;
    ++index;
  }
  return key;
}

std::optional<double> header_number(const core::http::Response& response, std::string_view name) {
  auto value = response.header(name);
  if (!value) return std::nullopt;
  std::string text(*value);
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(number) || number < 0) return std::nullopt;
  return number;
}

milliseconds seconds_to_ms(double seconds) {
  return milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
}

// Discord's JSON error: {"code": 50035, "message": "Invalid Form Body", …}.
std::string error_detail(long status, std::string_view body) {
  auto document = core::json::parse(body);
  if (document && document->IsObject()) {
    int code = 0;
    std::string message;
    if (auto it = document->FindMember("code"); it != document->MemberEnd() && it->value.IsInt()) {
      code = it->value.GetInt();
    }
    if (auto it = document->FindMember("message");
        it != document->MemberEnd() && it->value.IsString()) {
      message.assign(it->value.GetString(), it->value.GetStringLength());
    }
    return fmt::format("HTTP {} (Discord code {}: {})", status, code, message.substr(0, 200));
  }
  return fmt::format("HTTP {} (no JSON body)", status);
}

int discord_code(std::string_view body) {
  auto document = core::json::parse(body);
  if (!document || !document->IsObject()) return 0;
  auto it = document->FindMember("code");
  return it != document->MemberEnd() && it->value.IsInt() ? it->value.GetInt() : 0;
}

core::ErrorCode code_for(long status) {
  if (status == 401 || status == 403) return core::ErrorCode::denied;
  if (status == 404) return core::ErrorCode::not_found;
  if (status == 429 || status >= 500) return core::ErrorCode::unavailable;
  return core::ErrorCode::invalid_input;
}

}  // namespace

struct RestClient::Bucket {
  std::optional<double> remaining;  ///< unknown until a response said it
  core::MonoTime reset_at{};
};

RestClient::RestClient(RestSettings settings, core::http::Client& http, const core::Clock& clock,
                       core::LoggerPtr logger, std::function<void(std::chrono::milliseconds)> sleep)
    : settings_(std::move(settings)),
      http_(http),
      clock_(clock),
      logger_(std::move(logger)),
      sleep_(sleep ? std::move(sleep)
                   : [](milliseconds wait) { std::this_thread::sleep_for(wait); }) {
  while (!settings_.api_url.empty() && settings_.api_url.back() == '/')
    settings_.api_url.pop_back();
}

RestClient::~RestClient() = default;

core::Result<RestResponse> RestClient::call(std::string_view method, std::string_view path,
                                            std::string_view body, bool authorized) {
  const auto key = route_key(method, path);
  const bool may_resend = idempotent(method) || is_interaction_callback(path);
  core::http::Request request;
  request.method = std::string(method);
  request.url = settings_.api_url + std::string(path);
  request.headers.emplace_back(
      "User-Agent",
      fmt::format("DiscordBot (https://github.com/infra-bot/infra-bot, {})", settings_.version));
  if (authorized) request.headers.emplace_back("Authorization", "Bot " + settings_.bot_token);
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::string(body);
  }
  request.connect_timeout = std::min(settings_.timeout, milliseconds(5000));
  request.total_timeout = settings_.timeout;

  core::Error last = core::make_error(core::ErrorCode::unavailable, "Discord did not answer");
  bool resent = false;
  // A 429 to this very request is waited out before it is sent again, whatever
  // the limit (a global one also holds unauthorized requests back here).
  core::MonoTime retry_at{};
  const int attempts = std::max(1, settings_.max_attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    // Wait for the global limit and for this route's bucket, if they say so.
    milliseconds wait{0};
    {
      std::lock_guard guard(mutex_);
      const auto now = clock_.monotonic();
      if (authorized && global_until_ > now) {
        wait = std::chrono::duration_cast<milliseconds>(global_until_ - now);
      }
      if (retry_at > now) {
        wait = std::max(wait, std::chrono::duration_cast<milliseconds>(retry_at - now));
      }
      if (auto id = route_bucket_.find(key.route); id != route_bucket_.end()) {
        auto bucket = buckets_.find(id->second + " " + key.major);
        if (bucket != buckets_.end() && bucket->second->remaining &&
            *bucket->second->remaining <= 0 && bucket->second->reset_at > now) {
          wait = std::max(wait,
                          std::chrono::duration_cast<milliseconds>(bucket->second->reset_at - now));
        }
      }
    }
    if (wait > settings_.max_wait) {
      return core::make_error(core::ErrorCode::unavailable,
                              "Discord is rate limiting infra-bot; try again later",
                              fmt::format("{}: rate limited for {} ms", key.route, wait.count()));
    }
    if (wait.count() > 0) sleep_(wait);

    auto response = http_.send(request);
    if (!response) {
      last = response.error();
      // Nothing reached Discord: always safe to send again. It may have: only
      // when sending it twice cannot act twice.
      if (response.error().code == core::ErrorCode::indeterminate && !may_resend) return last;
      logger_->warn("discord {}: {} (attempt {})", key.route, response.error().detail, attempt);
      resent = true;
      if (attempt < attempts) sleep_(milliseconds(250) * attempt);
      continue;
    }
    // Remember what the bucket headers say.
    {
      std::lock_guard guard(mutex_);
      // Buckets of interactions and webhooks are per token, one per interaction:
      // those whose window is over are dropped (with the tokens in their keys).
      if (buckets_.size() > kMaxBuckets) {
        const auto now = clock_.monotonic();
        for (auto it = buckets_.begin(); it != buckets_.end();) {
          it = it->second->reset_at <= now ? buckets_.erase(it) : std::next(it);
        }
      }
      if (auto bucket_id = response->header("X-RateLimit-Bucket"); bucket_id) {
        route_bucket_[key.route] = std::string(*bucket_id);
        auto& bucket = buckets_[std::string(*bucket_id) + " " + key.major];
        if (!bucket) bucket = std::make_shared<Bucket>();
        bucket->remaining = header_number(*response, "X-RateLimit-Remaining");
        if (auto after = header_number(*response, "X-RateLimit-Reset-After")) {
          bucket->reset_at = clock_.monotonic() + seconds_to_ms(*after);
        }
      }
    }
    const long status = response->status;
    if (status >= 200 && status < 300) return RestResponse{status, std::move(response->body)};
    if (status == 429) {
      auto document = core::json::parse(response->body);
      if (!document || !document->IsObject()) {
        // Not Discord's limiter (no JSON body): Cloudflare refusing this IP.
        return core::make_error(core::ErrorCode::unavailable,
                                "Discord is refusing requests from infra-bot right now",
                                fmt::format("{}: HTTP 429 without a JSON body", key.route));
      }
      double retry_after = 1.0;
      bool global = false;
      if (auto it = document->FindMember("retry_after");
          it != document->MemberEnd() && it->value.IsNumber() && it->value.GetDouble() >= 0) {
        retry_after = it->value.GetDouble();
      } else if (auto header = response->header("Retry-After")) {
        // Whole seconds, as every Retry-After the project reads (core::retry).
        if (auto seconds = core::retry::parse_retry_after(*header)) {
          retry_after = static_cast<double>(seconds->count());
        }
      }
      if (auto it = document->FindMember("global");
          it != document->MemberEnd() && it->value.IsBool()) {
        global = it->value.GetBool();
      }
      if (auto header = response->header("X-RateLimit-Global"); header && *header == "true") {
        global = true;
      }
      const auto until = clock_.monotonic() + seconds_to_ms(retry_after);
      retry_at = until;
      {
        std::lock_guard guard(mutex_);
        if (global) {
          global_until_ = std::max(global_until_, until);
        } else if (auto id = route_bucket_.find(key.route); id != route_bucket_.end()) {
          auto& bucket = buckets_[id->second + " " + key.major];
          if (!bucket) bucket = std::make_shared<Bucket>();
          bucket->remaining = 0;
          bucket->reset_at = std::max(bucket->reset_at, until);
        } else {
          auto& bucket = buckets_["route " + key.route + " " + key.major];
          if (!bucket) bucket = std::make_shared<Bucket>();
          route_bucket_[key.route] = "route " + key.route;
          bucket->remaining = 0;
          bucket->reset_at = until;
        }
      }
      logger_->warn("discord {}: rate limited ({}), retry after {:.3f} s", key.route,
                    global ? "global" : "route", retry_after);
      last = core::make_error(core::ErrorCode::unavailable,
                              "Discord is rate limiting infra-bot; try again later",
                              error_detail(status, response->body));
      // A 429 was not acted on: sending it again is safe.
      if (seconds_to_ms(retry_after) > settings_.max_wait) return last;
      continue;
    }
    if (is_interaction_callback(path) && resent && discord_code(response->body) == 40060) {
      // The earlier send whose answer was lost did reach Discord.
      return RestResponse{204, {}};
    }
    last = core::make_error(
        code_for(status),
        status == 401 ? "Discord rejected infra-bot's token" : "Discord refused the request",
        error_detail(status, response->body));
    if (status >= 500 && may_resend) {
      resent = true;
      if (attempt < attempts) sleep_(milliseconds(500) * attempt);
      continue;
    }
    return last;
  }
  return last;
}

core::Status RestClient::interaction_callback(const std::string& interaction_id,
                                              const std::string& token,
                                              const std::string& body_json) {
  auto sent = call("POST", fmt::format("/interactions/{}/{}/callback", interaction_id, token),
                   body_json, false);
  if (!sent) return sent.error();
  return {};
}

core::Status RestClient::edit_original(const std::string& application_id, const std::string& token,
                                       const std::string& message_json) {
  auto sent =
      call("PATCH", fmt::format("/webhooks/{}/{}/messages/@original", application_id, token),
           message_json, false);
  if (!sent) return sent.error();
  return {};
}

core::Status RestClient::follow_up(const std::string& application_id, const std::string& token,
                                   const std::string& message_json) {
  auto sent =
      call("POST", fmt::format("/webhooks/{}/{}", application_id, token), message_json, false);
  if (!sent) return sent.error();
  return {};
}

}  // namespace discord
