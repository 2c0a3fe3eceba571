#pragma once

// SharedState in this process (the default, and the console's): what one
// replica needs, under one mutex, nothing seen by any other process. Expired
// entries are dropped as later calls pass by, so the maps hold only what is
// still live.

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "infra/shared_state.hpp"

namespace infra {

class MemoryState final : public SharedState {
 public:
  explicit MemoryState(const core::Clock& clock);

  std::string_view name() const override { return "memory"; }
  bool shared() const override { return false; }

  core::Result<DeliveryClaim> claim_delivery(const std::string& key, const std::string& replica,
                                             std::chrono::seconds ttl,
                                             std::chrono::seconds handling) override;
  core::Status store_ack(const std::string& key, const std::string& payload) override;
  core::Result<std::optional<std::string>> stored_ack(const std::string& key) override;

  core::Result<std::optional<LockHolder>> acquire_lock(const std::string& lock,
                                                       const LockHolder& holder,
                                                       std::chrono::seconds lease) override;
  core::Status renew_lock(const std::string& lock, const std::string& job_id,
                          std::chrono::seconds lease) override;
  core::Status release_lock(const std::string& lock, const std::string& job_id) override;

  core::Result<std::optional<std::chrono::seconds>> start_cooldown(
      const std::string& key, std::chrono::seconds length) override;
  core::Result<std::optional<std::chrono::seconds>> cooldown_left(const std::string& key) override;
  core::Result<std::optional<std::chrono::seconds>> count_read(const std::string& user,
                                                               int limit) override;
  core::Result<std::optional<std::chrono::seconds>> read_limited(const std::string& user,
                                                                 int limit) override;

  core::Status put_job(const JobRecord& record) override;
  core::Status renew_job(const std::string& job_id, const std::string& replica,
                         core::TimePoint expires_at) override;
  core::Status end_job(const std::string& job_id, const std::string& replica) override;
  core::Result<std::vector<JobRecord>> take_orphans() override;
  core::Result<std::optional<JobRecord>> job_of_delivery(const std::string& delivery) override;

  core::Result<bool> claim_once(const std::string& key, std::chrono::seconds ttl) override;
  core::Result<bool> claimed(const std::string& key) override;
  core::Result<std::string> shared_value(const std::string& name,
                                         const std::string& proposed) override;

  /// Users the read limit is tracking (those who read in the last minute).
  std::size_t read_users() const;
  /// Cooldowns still running.
  std::size_t cooldowns() const;

 private:
  struct Claim {
    std::string replica;
    core::TimePoint expires_at;
    core::TimePoint handling_until;
    std::optional<std::string> ack;
  };
  struct Lock {
    LockHolder holder;
    core::TimePoint lease_until;
  };
  struct Cooldown {
    core::TimePoint started;
    std::chrono::seconds length;
  };

  // All require mutex_.
  void prune(core::TimePoint now);
  std::optional<std::chrono::seconds> read_limited_locked(const std::string& user, int limit,
                                                          core::TimePoint now) const;

  const core::Clock& clock_;
  mutable std::mutex mutex_;
  core::TimePoint next_prune_{};
  std::map<std::string, Claim, std::less<>> claims_;
  std::map<std::string, Lock, std::less<>> locks_;
  std::map<std::string, Cooldown, std::less<>> cooldowns_;
  /// Per user, the reads admitted in the last 60 s, oldest first.
  std::map<std::string, std::deque<core::TimePoint>, std::less<>> reads_;
  struct Job {
    JobRecord record;
    bool reported = false;  ///< taken by take_orphans(): end_job() answers conflict
  };
  std::map<std::string, Job, std::less<>> jobs_;
  std::map<std::string, core::TimePoint, std::less<>> once_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace infra
