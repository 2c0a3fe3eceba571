#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/result.hpp"
#include "slack/web_api.hpp"

namespace test {

/// A slack::WebApi that records every call in order and answers from a
/// script: by default every call succeeds; fail() makes calls of one method
/// fail with a given Error (the next `times` calls, or all of them). users.info
/// answers from set_user() and fails with user_not_found for anyone else.
/// Thread-safe; wait_for() blocks (bounded) until the recorded calls satisfy
/// a predicate, for flows that post from background threads.
class RecordingWebApi final : public slack::WebApi {
 public:
  /// Method names as Slack spells them, plus "response_url" for respond().
  static constexpr std::string_view kPostMessage = "chat.postMessage";
  static constexpr std::string_view kPostEphemeral = "chat.postEphemeral";
  static constexpr std::string_view kUpdate = "chat.update";
  static constexpr std::string_view kOpenView = "views.open";
  static constexpr std::string_view kUpdateView = "views.update";
  static constexpr std::string_view kUserInfo = "users.info";
  static constexpr std::string_view kRespond = "response_url";
  static constexpr std::string_view kAuthTest = "auth.test";

  struct Call {
    std::size_t seq = 0;  ///< 1, 2, … in the order the calls arrived
    std::string method;
    /// channel (chat.*), trigger_id (views.open), view_id (views.update),
    /// user id (users.info) or the response_url (respond).
    std::string target;
    std::string body;  ///< the message or view JSON; empty for users.info
    /// thread_ts (chat.postMessage), user (chat.postEphemeral), ts (chat.update).
    std::string extra;
    bool failed = false;  ///< answered with a scripted failure
  };

  /// Calls of `method` fail with `error`: the next `times` of them, or every
  /// one from now on when `times` is negative.
  void fail(std::string_view method, core::Error error, int times = -1) {
    std::lock_guard lock(mutex_);
    failures_[std::string(method)] = Failure{std::move(error), times};
  }
  /// Undoes fail() for `method`.
  void succeed(std::string_view method) {
    std::lock_guard lock(mutex_);
    failures_.erase(std::string(method));
  }

  /// Calls of `method` take `latency` before they answer (a slow Slack; a
  /// plain sleep, so it adds no synchronisation a race detector could see).
  void delay(std::string_view method, std::chrono::milliseconds latency) {
    std::lock_guard lock(mutex_);
    delays_[std::string(method)] = latency;
  }

  /// users.info answers for `user.id`.
  void set_user(slack::UserInfo user) {
    std::lock_guard lock(mutex_);
    users_[user.id] = std::move(user);
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return {calls_.begin(), calls_.end()};
  }
  std::vector<Call> calls(std::string_view method) const {
    std::lock_guard lock(mutex_);
    std::vector<Call> out;
    for (const auto& call : calls_) {
      if (call.method == method) out.push_back(call);
    }
    return out;
  }
  /// The calls of `method` whose target is `target` (a response_url, a channel, …).
  std::vector<Call> calls(std::string_view method, std::string_view target) const {
    std::lock_guard lock(mutex_);
    std::vector<Call> out;
    for (const auto& call : calls_) {
      if (call.method == method && call.target == target) out.push_back(call);
    }
    return out;
  }
  std::size_t count(std::string_view method) const { return calls(method).size(); }
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }

  /// Waits until `done(calls())` holds or `timeout` passes; returns whether it held.
  bool wait_for(const std::function<bool(const std::vector<Call>&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      const std::vector<Call> snapshot(calls_.begin(), calls_.end());
      return done(snapshot);
    });
  }
  /// Waits until at least `n` calls of `method` were made.
  bool wait_for_count(std::string_view method, std::size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    return wait_for(
        [&](const std::vector<Call>& all) {
          std::size_t seen = 0;
          for (const auto& call : all) {
            if (call.method == method) ++seen;
          }
          return seen >= n;
        },
        timeout);
  }
  /// Waits until at least `n` calls of `method` to `target` were made.
  bool wait_for_count(std::string_view method, std::string_view target, std::size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    return wait_for(
        [&](const std::vector<Call>& all) {
          std::size_t seen = 0;
          for (const auto& call : all) {
            if (call.method == method && call.target == target) ++seen;
          }
          return seen >= n;
        },
        timeout);
  }

  // ---- slack::WebApi ----

  core::Result<std::string> post_message(const std::string& channel,
                                         const std::string& message_json,
                                         const std::string& thread_ts = {}) override {
    const auto seq = record(kPostMessage, channel, message_json, thread_ts);
    if (auto error = scripted_failure(kPostMessage, seq)) return *error;
    return "1732530000." + std::to_string(100000 + seq);
  }
  core::Status post_ephemeral(const std::string& channel, const std::string& user,
                              const std::string& message_json) override {
    const auto seq = record(kPostEphemeral, channel, message_json, user);
    if (auto error = scripted_failure(kPostEphemeral, seq)) return *error;
    return {};
  }
  core::Status update_message(const std::string& channel, const std::string& ts,
                              const std::string& message_json) override {
    const auto seq = record(kUpdate, channel, message_json, ts);
    if (auto error = scripted_failure(kUpdate, seq)) return *error;
    return {};
  }
  core::Result<std::string> open_view(const std::string& trigger_id,
                                      const std::string& view_json) override {
    const auto seq = record(kOpenView, trigger_id, view_json, {});
    if (auto error = scripted_failure(kOpenView, seq)) return *error;
    return "V0OPENED" + std::to_string(seq);
  }
  core::Status update_view(const std::string& view_id, const std::string& view_json) override {
    const auto seq = record(kUpdateView, view_id, view_json, {});
    if (auto error = scripted_failure(kUpdateView, seq)) return *error;
    return {};
  }
  core::Result<slack::UserInfo> user_info(const std::string& user_id) override {
    const auto seq = record(kUserInfo, user_id, {}, {});
    if (auto error = scripted_failure(kUserInfo, seq)) return *error;
    std::lock_guard lock(mutex_);
    if (auto it = users_.find(user_id); it != users_.end()) return it->second;
    return core::make_error(core::ErrorCode::not_found,
                            "Slack could not find that (user_not_found).",
                            "users.info: user_not_found");
  }
  core::Result<slack::AuthIdentity> auth_test() override {
    const auto seq = record(kAuthTest, {}, {}, {});
    if (auto error = scripted_failure(kAuthTest, seq)) return *error;
    return slack::AuthIdentity{"T0123ABCD", "U0BOT", "B0BOT", ""};
  }
  core::Status respond(const std::string& response_url, const std::string& message_json) override {
    const auto seq = record(kRespond, response_url, message_json, {});
    if (auto error = scripted_failure(kRespond, seq)) return *error;
    return {};
  }

 private:
  struct Failure {
    core::Error error;
    int times = -1;
  };

  std::size_t record(std::string_view method, const std::string& target, const std::string& body,
                     const std::string& extra) {
    std::size_t seq = 0;
    {
      std::lock_guard lock(mutex_);
      seq = calls_.size() + 1;
      calls_.push_back(Call{seq, std::string(method), target, body, extra, false});
    }
    changed_.notify_all();
    return seq;
  }

  std::optional<core::Error> scripted_failure(std::string_view method, std::size_t seq) {
    std::optional<core::Error> error;
    std::chrono::milliseconds latency{0};
    {
      std::lock_guard lock(mutex_);
      if (auto it = delays_.find(std::string(method)); it != delays_.end()) latency = it->second;
    }
    if (latency.count() > 0) std::this_thread::sleep_for(latency);
    {
      std::lock_guard lock(mutex_);
      auto it = failures_.find(std::string(method));
      if (it == failures_.end()) return std::nullopt;
      error = it->second.error;
      if (it->second.times > 0 && --it->second.times == 0) failures_.erase(it);
      calls_[seq - 1].failed = true;
    }
    changed_.notify_all();
    return error;
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<Call> calls_;
  std::map<std::string, Failure> failures_;
  std::map<std::string, slack::UserInfo> users_;
  std::map<std::string, std::chrono::milliseconds> delays_;
};

}  // namespace test
