#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/result.hpp"
#include "infra/backend.hpp"

namespace test {

/// A Backend wrapper that records every call and can hold calls at a gate
/// until the test releases them (busy environments, progress updates,
/// drain), or fail them with a scripted Error. Actions are named as the audit
/// names them: "status", "stop", "start", "teardown", "spinup", "whitelist
/// add", "whitelist remove", "whitelist list", "whitelist refresh".
///
/// A held call waits at most `max_hold` (then proceeds), so a test that
/// forgets to release cannot hang; the destructor releases everything.
/// Thread-safe.
class GatedBackend final : public infra::Backend {
 public:
  struct Call {
    std::string action;
    std::string environment;
    std::optional<infra::TeardownLevel> level;  ///< teardown only
    infra::RequestContext context;
  };

  explicit GatedBackend(infra::Backend& inner,
                        std::chrono::milliseconds max_hold = std::chrono::seconds(20))
      : inner_(inner), max_hold_(max_hold) {}
  ~GatedBackend() override { release_all(); }
  GatedBackend(const GatedBackend&) = delete;
  GatedBackend& operator=(const GatedBackend&) = delete;

  /// From now on, calls of `action` wait at the gate.
  void hold(std::string_view action) {
    std::lock_guard lock(mutex_);
    held_actions_.insert(std::string(action));
  }
  /// Opens the gate of `action`: waiting calls proceed, later ones pass.
  void release(std::string_view action) {
    {
      std::lock_guard lock(mutex_);
      held_actions_.erase(std::string(action));
    }
    changed_.notify_all();
  }
  void release_all() {
    {
      std::lock_guard lock(mutex_);
      held_actions_.clear();
    }
    changed_.notify_all();
  }

  /// Calls of `action` fail with `error` (after the gate) until succeed().
  void fail(std::string_view action, core::Error error) {
    std::lock_guard lock(mutex_);
    failures_[std::string(action)] = std::move(error);
  }
  void succeed(std::string_view action) {
    std::lock_guard lock(mutex_);
    failures_.erase(std::string(action));
  }

  /// Calls now waiting at the gate (of `action`, or of any action when empty).
  std::size_t waiting(std::string_view action = {}) const {
    std::lock_guard lock(mutex_);
    return waiting_locked(action);
  }
  /// Waits until at least `n` calls (of `action`) wait at the gate.
  bool wait_for_waiting(std::size_t n, std::string_view action = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_locked(action) >= n; });
  }

  /// Every call so far (recorded when it arrives, before the gate).
  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<Call> calls(std::string_view action) const {
    std::lock_guard lock(mutex_);
    std::vector<Call> out;
    for (const auto& call : calls_) {
      if (call.action == action) out.push_back(call);
    }
    return out;
  }
  std::size_t count(std::string_view action) const { return calls(action).size(); }
  /// Calls that returned (passed the gate and the inner backend).
  std::size_t completed() const {
    std::lock_guard lock(mutex_);
    return completed_;
  }
  bool wait_for_completed(std::size_t n,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return completed_ >= n; });
  }

  // ---- infra::Backend ----

  std::string_view name() const override { return inner_.name(); }

  core::Result<infra::EnvironmentStatus> status(std::string_view environment,
                                                const infra::RequestContext& context) override {
    return pass("status", environment, std::nullopt, context,
                [&] { return inner_.status(environment, context); });
  }
  core::Result<infra::ActionResult> run(const infra::LifecycleRequest& request,
                                        const infra::RequestContext& context) override {
    return pass(infra::to_string(request.action), request.environment, request.level, context,
                [&] { return inner_.run(request, context); });
  }
  core::Result<infra::WhitelistAdded> whitelist_add(const infra::WhitelistAdd& command,
                                                    const infra::RequestContext& context) override {
    return pass("whitelist add", command.env, std::nullopt, context,
                [&] { return inner_.whitelist_add(command, context); });
  }
  core::Result<infra::WhitelistRemoved> whitelist_remove(
      const infra::WhitelistRemove& command, const infra::RequestContext& context) override {
    return pass("whitelist remove", command.env, std::nullopt, context,
                [&] { return inner_.whitelist_remove(command, context); });
  }
  core::Result<infra::WhitelistListing> whitelist_list(
      std::string_view environment, const infra::RequestContext& context) override {
    return pass("whitelist list", environment, std::nullopt, context,
                [&] { return inner_.whitelist_list(environment, context); });
  }
  core::Result<infra::WhitelistRefreshed> whitelist_refresh(
      std::string_view environment, const infra::RequestContext& context) override {
    return pass("whitelist refresh", environment, std::nullopt, context,
                [&] { return inner_.whitelist_refresh(environment, context); });
  }

 private:
  std::size_t waiting_locked(std::string_view action) const {
    if (action.empty()) {
      std::size_t total = 0;
      for (const auto& [name, n] : waiting_) total += n;
      return total;
    }
    auto it = waiting_.find(std::string(action));
    return it == waiting_.end() ? 0 : it->second;
  }

  template <typename Inner>
  auto pass(std::string_view action, std::string_view environment,
            std::optional<infra::TeardownLevel> level, const infra::RequestContext& context,
            Inner inner) -> decltype(inner()) {
    const std::string name(action);
    std::optional<core::Error> failure;
    {
      std::unique_lock lock(mutex_);
      calls_.push_back(Call{name, std::string(environment), level, context});
      if (held_actions_.count(name) != 0) {
        ++waiting_[name];
        changed_.notify_all();
        changed_.wait_for(lock, max_hold_, [&] { return held_actions_.count(name) == 0; });
        --waiting_[name];
      }
      if (auto it = failures_.find(name); it != failures_.end()) failure = it->second;
    }
    changed_.notify_all();
    auto result = failure ? decltype(inner())(*failure) : inner();
    {
      std::lock_guard lock(mutex_);
      ++completed_;
    }
    changed_.notify_all();
    return result;
  }

  infra::Backend& inner_;
  std::chrono::milliseconds max_hold_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::set<std::string> held_actions_;
  std::map<std::string, std::size_t> waiting_;
  std::map<std::string, core::Error> failures_;
  std::vector<Call> calls_;
  std::size_t completed_ = 0;
};

}  // namespace test
