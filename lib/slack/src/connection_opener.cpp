// apps.connections.open (notes §1.1): the HTTPS call on a thread of its own,
// the outcome posted to the scheduler.

#include "slack/connection_opener.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "core/json.hpp"
#include "core/retry.hpp"

namespace slack {
namespace {

using std::chrono::milliseconds;

// Wait on `ratelimited` without Retry-After (python-slack-sdk
// issue_new_wss_url uses 30 s).
constexpr milliseconds kDefaultRetryAfter{30000};
// A Retry-After above this is taken as this: apps.connections.open is Tier 1
// (one call a minute), so five minutes is already generous; no timer is set
// for days because of one odd header.
constexpr std::chrono::seconds kMaxOpenRetryAfter{300};

// ok:false errors that retrying cannot fix (notes §6.1; node
// UnrecoverableSocketModeStartError, slack-go connect()).
const std::set<std::string, std::less<>>& fatal_errors() {
  static const std::set<std::string, std::less<>> errors{
      "invalid_auth",  "not_authed",    "not_allowed_token_type", "account_inactive",
      "token_revoked", "token_expired", "team_disabled",          "user_removed_from_team",
      "missing_args",  "forbidden_team"};
  return errors;
}

std::optional<milliseconds> retry_after_of(const core::http::Response& response) {
  const auto value = response.header("Retry-After");
  if (!value) return std::nullopt;
  const auto seconds = core::retry::parse_retry_after(*value);
  if (!seconds) return std::nullopt;
  return milliseconds(std::min(*seconds, kMaxOpenRetryAfter));
}

class HttpConnectionOpener final : public ConnectionOpener {
 public:
  HttpConnectionOpener(HttpOpenerSettings settings, core::http::Client& http,
                       core::Scheduler& scheduler)
      : settings_(std::move(settings)), http_(http), scheduler_(scheduler) {
    if (!settings_.api_url.empty() && settings_.api_url.back() != '/') settings_.api_url += '/';
  }

  ~HttpConnectionOpener() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      queue_.clear();
      ++generation_;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void open(std::function<void(OpenOutcome)> done) override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      queue_.push_back(Call{generation_, std::move(done)});
      // Started on first use: a client that never connects has no thread.
      if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    }
    wake_.notify_one();
  }

  void cancel_all() override {
    std::lock_guard lock(mutex_);
    queue_.clear();
    ++generation_;  // a call in flight is answered into the void
  }

 private:
  struct Call {
    std::uint64_t generation = 0;
    std::function<void(OpenOutcome)> done;
  };

  void loop() {
    for (;;) {
      Call call;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        call = std::move(queue_.front());
        queue_.pop_front();
      }
      OpenOutcome outcome = call_slack();
      std::lock_guard lock(mutex_);
      if (stopping_ || call.generation != generation_) continue;
      scheduler_.post([done = std::move(call.done), outcome = std::move(outcome)]() mutable {
        done(std::move(outcome));
      });
    }
  }

  OpenOutcome call_slack() {
    core::http::Request request;
    request.method = "POST";
    request.url = settings_.api_url + "apps.connections.open";
    // The app token must be in the header: as a form field Slack answers
    // invalid_auth (python-slack-sdk issue #1877).
    request.headers = {{"Authorization", "Bearer " + settings_.app_token},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    request.connect_timeout = milliseconds(5000);
    request.total_timeout = milliseconds(10000);
    auto response = http_.send(request);
    if (!response) {
      OpenOutcome out;
      out.reason = "apps.connections.open failed: " + response.error().detail;
      return out;
    }
    return read_connections_open_response(*response);
  }

  HttpOpenerSettings settings_;
  core::http::Client& http_;
  core::Scheduler& scheduler_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Call> queue_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

OpenOutcome read_connections_open_response(const core::http::Response& response) {
  OpenOutcome out;
  const auto retry_after = retry_after_of(response);
  if (response.status == 429) {
    out.reason = "apps.connections.open ratelimited (HTTP 429)";
    out.retry_after = retry_after.value_or(kDefaultRetryAfter);
    return out;
  }
  if (response.status >= 500) {
    out.reason = "apps.connections.open answered HTTP " + std::to_string(response.status);
    return out;
  }
  auto body = core::json::parse(response.body);
  if (!body || !body->IsObject()) {
    out.reason = "apps.connections.open answered HTTP " + std::to_string(response.status) +
                 " without a JSON object";
    return out;
  }
  const auto ok = core::json::get_bool(*body, "ok");
  if (ok && *ok) {
    const auto url = core::json::get_string(*body, "url");
    if (!url || url->rfind("wss://", 0) != 0) {
      out.reason = "apps.connections.open returned no wss:// url";
      return out;
    }
    out.kind = OpenOutcome::Kind::success;
    out.url = std::string(*url);
    return out;
  }
  const std::string error = std::string(core::json::get_string(*body, "error").value_or("unknown"));
  out.reason = "apps.connections.open: " + error;
  if (fatal_errors().count(error) != 0) {
    out.kind = OpenOutcome::Kind::fatal;
  } else if (error == "ratelimited") {
    out.retry_after = retry_after.value_or(kDefaultRetryAfter);
  }
  return out;
}

std::unique_ptr<ConnectionOpener> make_http_connection_opener(HttpOpenerSettings settings,
                                                              core::http::Client& http,
                                                              core::Scheduler& scheduler) {
  return std::make_unique<HttpConnectionOpener>(std::move(settings), http, scheduler);
}

}  // namespace slack
