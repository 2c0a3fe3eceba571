#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/result.hpp"
#include "infra/memory_state.hpp"
#include "infra/shared_state.hpp"

namespace test {

/// A MemoryState that says it is shared (shared() == true), so that several
/// in-process replicas (Lifecycles, DeliveryClaims) sharing one instance act
/// as replicas sharing DynamoDB: they claim deliveries, record jobs and sweep.
/// fail(true) makes every call fail with an `unavailable` Error, as a store
/// that cannot be reached. Thread-safe.
class SharedMemoryState final : public infra::SharedState {
 public:
  explicit SharedMemoryState(const core::Clock& clock) : inner_(clock) {}

  /// From now on every call fails (true) or passes to the MemoryState (false).
  void fail(bool failing) { failing_ = failing; }
  /// Calls made so far (failed ones included).
  int calls() const { return calls_; }

  std::string_view name() const override { return "shared-memory"; }
  bool shared() const override { return true; }

  core::Result<infra::DeliveryClaim> claim_delivery(const std::string& key,
                                                    const std::string& replica,
                                                    std::chrono::seconds ttl,
                                                    std::chrono::seconds handling) override {
    if (auto e = down()) return *e;
    return inner_.claim_delivery(key, replica, ttl, handling);
  }
  core::Status store_ack(const std::string& key, const std::string& payload) override {
    if (auto e = down()) return *e;
    return inner_.store_ack(key, payload);
  }
  core::Result<std::optional<std::string>> stored_ack(const std::string& key) override {
    if (auto e = down()) return *e;
    return inner_.stored_ack(key);
  }

  core::Result<std::optional<infra::LockHolder>> acquire_lock(const std::string& lock,
                                                              const infra::LockHolder& holder,
                                                              std::chrono::seconds lease) override {
    if (auto e = down()) return *e;
    return inner_.acquire_lock(lock, holder, lease);
  }
  core::Status renew_lock(const std::string& lock, const std::string& job_id,
                          std::chrono::seconds lease) override {
    if (auto e = down()) return *e;
    return inner_.renew_lock(lock, job_id, lease);
  }
  core::Status release_lock(const std::string& lock, const std::string& job_id) override {
    if (auto e = down()) return *e;
    return inner_.release_lock(lock, job_id);
  }

  core::Result<std::optional<std::chrono::seconds>> start_cooldown(
      const std::string& key, std::chrono::seconds length) override {
    if (auto e = down()) return *e;
    return inner_.start_cooldown(key, length);
  }
  core::Result<std::optional<std::chrono::seconds>> cooldown_left(const std::string& key) override {
    if (auto e = down()) return *e;
    return inner_.cooldown_left(key);
  }
  core::Result<std::optional<std::chrono::seconds>> count_read(const std::string& user,
                                                               int limit) override {
    if (auto e = down()) return *e;
    return inner_.count_read(user, limit);
  }
  core::Result<std::optional<std::chrono::seconds>> read_limited(const std::string& user,
                                                                 int limit) override {
    if (auto e = down()) return *e;
    return inner_.read_limited(user, limit);
  }

  core::Status put_job(const infra::JobRecord& record) override {
    if (auto e = down()) return *e;
    return inner_.put_job(record);
  }
  core::Status renew_job(const std::string& job_id, const std::string& replica,
                         core::TimePoint expires_at) override {
    if (auto e = down()) return *e;
    return inner_.renew_job(job_id, replica, expires_at);
  }
  core::Status end_job(const std::string& job_id, const std::string& replica) override {
    if (auto e = down()) return *e;
    return inner_.end_job(job_id, replica);
  }
  core::Result<std::optional<infra::JobRecord>> job_of_delivery(
      const std::string& delivery) override {
    if (auto e = down()) return *e;
    return inner_.job_of_delivery(delivery);
  }
  core::Result<std::vector<infra::JobRecord>> take_orphans() override {
    if (auto e = down()) return *e;
    return inner_.take_orphans();
  }

  core::Result<bool> claimed(const std::string& key) override {
    if (auto e = down()) return *e;
    return inner_.claimed(key);
  }
  core::Result<bool> claim_once(const std::string& key, std::chrono::seconds ttl) override {
    if (auto e = down()) return *e;
    return inner_.claim_once(key, ttl);
  }
  core::Result<std::string> shared_value(const std::string& name,
                                         const std::string& proposed) override {
    if (auto e = down()) return *e;
    return inner_.shared_value(name, proposed);
  }

 private:
  std::optional<core::Error> down() {
    ++calls_;
    if (!failing_) return std::nullopt;
    return core::make_error(core::ErrorCode::unavailable, "the shared state cannot be reached",
                            "SharedMemoryState: failing on purpose");
  }

  infra::MemoryState inner_;
  std::atomic<bool> failing_{false};
  std::atomic<int> calls_{0};
};

}  // namespace test
