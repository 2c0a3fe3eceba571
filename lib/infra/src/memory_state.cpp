#include "infra/memory_state.hpp"

#include <algorithm>

namespace infra {
namespace {

using std::chrono::seconds;

constexpr seconds kReadWindow{60};

// Whole seconds, rounded up: "wait 0 s" would be refused again.
seconds ceil_seconds(core::TimePoint::duration d) { return std::chrono::ceil<seconds>(d); }

core::Error lost(std::string_view what) {
  return core::make_error(core::ErrorCode::conflict, "this replica no longer holds it",
                          std::string(what));
}

}  // namespace

MemoryState::MemoryState(const core::Clock& clock) : clock_(clock) {}

void MemoryState::prune(core::TimePoint now) {
  // At most once a second: the sweep is linear in what is kept.
  if (now < next_prune_) return;
  next_prune_ = now + seconds(1);
  std::erase_if(claims_, [&](const auto& entry) { return entry.second.expires_at <= now; });
  std::erase_if(cooldowns_, [&](const auto& entry) {
    return now - entry.second.started >= entry.second.length;
  });
  for (auto& [user, times] : reads_) {
    std::erase_if(times, [&](core::TimePoint at) { return now - at >= kReadWindow; });
  }
  std::erase_if(reads_, [](const auto& entry) { return entry.second.empty(); });
  std::erase_if(once_, [&](const auto& entry) { return entry.second <= now; });
  // A reported job is kept an hour, for the replica that ran it to see the mark.
  std::erase_if(jobs_, [&](const auto& entry) {
    return entry.second.reported && now - entry.second.record.expires_at > std::chrono::hours(1);
  });
}

core::Result<DeliveryClaim> MemoryState::claim_delivery(const std::string& key,
                                                        const std::string& replica, seconds ttl,
                                                        seconds handling) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  prune(now);
  auto it = claims_.find(key);
  // A second delivery to the same replica is a loser too: it acks with the
  // stored ack (a redelivery of what it acked already).
  const bool free = it == claims_.end() || it->second.expires_at <= now ||
                    (!it->second.ack && it->second.handling_until <= now);
  if (!free) return DeliveryClaim{false, it->second.ack, false};
  const bool taken_over = it != claims_.end() && it->second.expires_at > now && !it->second.ack &&
                          it->second.replica != replica;
  claims_[key] = Claim{replica, now + ttl, now + handling, std::nullopt};
  return DeliveryClaim{true, std::nullopt, taken_over};
}

core::Status MemoryState::store_ack(const std::string& key, const std::string& payload) {
  std::lock_guard lock(mutex_);
  if (auto it = claims_.find(key); it != claims_.end()) it->second.ack = payload;
  return {};
}

core::Result<std::optional<std::string>> MemoryState::stored_ack(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = claims_.find(key);
  if (it == claims_.end()) return std::optional<std::string>{};
  return it->second.ack;
}

core::Result<std::optional<LockHolder>> MemoryState::acquire_lock(const std::string& lock,
                                                                  const LockHolder& holder,
                                                                  seconds lease) {
  const auto now = clock_.now();
  std::lock_guard guard(mutex_);
  auto it = locks_.find(lock);
  if (it != locks_.end() && it->second.lease_until > now &&
      it->second.holder.job_id != holder.job_id) {
    return std::optional<LockHolder>{it->second.holder};
  }
  locks_[lock] = Lock{holder, now + lease};
  return std::optional<LockHolder>{};
}

core::Status MemoryState::renew_lock(const std::string& lock, const std::string& job_id,
                                     seconds lease) {
  const auto now = clock_.now();
  std::lock_guard guard(mutex_);
  auto it = locks_.find(lock);
  if (it == locks_.end() || it->second.holder.job_id != job_id) return lost("lock " + lock);
  it->second.lease_until = now + lease;
  return {};
}

core::Status MemoryState::release_lock(const std::string& lock, const std::string& job_id) {
  std::lock_guard guard(mutex_);
  auto it = locks_.find(lock);
  if (it != locks_.end() && it->second.holder.job_id == job_id) locks_.erase(it);
  return {};
}

core::Result<std::optional<seconds>> MemoryState::start_cooldown(const std::string& key,
                                                                 seconds length) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  prune(now);
  if (auto it = cooldowns_.find(key); it != cooldowns_.end()) {
    // A clock stepping backwards must not lengthen the wait beyond the cooldown.
    const auto elapsed = std::max(now - it->second.started, core::TimePoint::duration::zero());
    if (elapsed < it->second.length) {
      return std::optional<seconds>{ceil_seconds(it->second.length - elapsed)};
    }
  }
  cooldowns_[key] = Cooldown{now, length};
  return std::optional<seconds>{};
}

core::Result<std::optional<seconds>> MemoryState::cooldown_left(const std::string& key) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = cooldowns_.find(key);
  if (it == cooldowns_.end()) return std::optional<seconds>{};
  const auto elapsed = std::max(now - it->second.started, core::TimePoint::duration::zero());
  if (elapsed >= it->second.length) return std::optional<seconds>{};
  return std::optional<seconds>{ceil_seconds(it->second.length - elapsed)};
}

std::optional<seconds> MemoryState::read_limited_locked(const std::string& user, int limit,
                                                        core::TimePoint now) const {
  if (limit <= 0) return std::nullopt;
  auto it = reads_.find(user);
  if (it == reads_.end()) return std::nullopt;
  // A clock stepping backwards counts a "future" read as just made.
  std::size_t in_window = 0;
  auto oldest = core::TimePoint::max();
  for (const core::TimePoint at : it->second) {
    if (now - at < kReadWindow) {
      ++in_window;
      oldest = std::min(oldest, at);
    }
  }
  if (in_window < static_cast<std::size_t>(limit)) return std::nullopt;
  return std::max(ceil_seconds(oldest + kReadWindow - now), seconds(1));
}

core::Result<std::optional<seconds>> MemoryState::count_read(const std::string& user, int limit) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  prune(now);
  if (auto left = read_limited_locked(user, limit, now)) return std::optional<seconds>{left};
  if (limit <= 0) return std::optional<seconds>{};
  auto& times = reads_[user];
  std::erase_if(times, [&](core::TimePoint at) { return now - at >= kReadWindow; });
  times.push_back(now);
  while (times.size() > static_cast<std::size_t>(limit)) times.pop_front();
  return std::optional<seconds>{};
}

core::Result<std::optional<seconds>> MemoryState::read_limited(const std::string& user, int limit) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  return read_limited_locked(user, limit, now);
}

core::Status MemoryState::put_job(const JobRecord& record) {
  std::lock_guard lock(mutex_);
  jobs_[record.job_id] = Job{record, false};
  return {};
}

core::Status MemoryState::renew_job(const std::string& job_id, const std::string& replica,
                                    core::TimePoint expires_at) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.reported || it->second.record.replica != replica) {
    return lost("job " + job_id);
  }
  it->second.record.expires_at = expires_at;
  return {};
}

core::Status MemoryState::end_job(const std::string& job_id, const std::string& replica) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return {};  // never recorded: nobody else answered it
  if (it->second.reported || it->second.record.replica != replica) {
    return lost("job " + job_id);
  }
  jobs_.erase(it);
  return {};
}

core::Result<std::vector<JobRecord>> MemoryState::take_orphans() {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  std::vector<JobRecord> orphans;
  for (auto& [id, job] : jobs_) {
    if (!job.reported && job.record.expires_at < now) {
      job.reported = true;
      orphans.push_back(job.record);
    }
  }
  return orphans;
}

core::Result<std::optional<JobRecord>> MemoryState::job_of_delivery(const std::string& delivery) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, job] : jobs_) {
    if (!delivery.empty() && job.record.delivery == delivery) return std::optional{job.record};
  }
  return std::optional<JobRecord>{};
}

core::Result<bool> MemoryState::claim_once(const std::string& key, seconds ttl) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  prune(now);
  auto it = once_.find(key);
  if (it != once_.end() && it->second > now) return false;
  once_[key] = now + ttl;
  return true;
}

core::Result<bool> MemoryState::claimed(const std::string& key) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = once_.find(key);
  return it != once_.end() && it->second > now;
}

core::Result<std::string> MemoryState::shared_value(const std::string& name,
                                                    const std::string& proposed) {
  std::lock_guard lock(mutex_);
  return values_.try_emplace(name, proposed).first->second;
}

std::size_t MemoryState::read_users() const {
  std::lock_guard lock(mutex_);
  return reads_.size();
}

std::size_t MemoryState::cooldowns() const {
  std::lock_guard lock(mutex_);
  return cooldowns_.size();
}

}  // namespace infra
