#include "replica_jobs.hpp"

#include <vector>

namespace infra {
namespace {
constexpr std::uint64_t kHeartbeatStrand = 1;
constexpr std::uint64_t kSweepStrand = 2;
constexpr std::uint64_t kEndStrand = 3;
}  // namespace

ReplicaJobs::ReplicaJobs(SharedState& state, ReplicaSettings settings, core::Scheduler& scheduler,
                         const core::Clock& clock, core::LoggerPtr logger,
                         std::function<void(const JobRecord&)> on_orphan)
    : state_(state),
      settings_(std::move(settings)),
      scheduler_(scheduler),
      clock_(clock),
      logger_(std::move(logger)),
      on_orphan_(std::move(on_orphan)),
      lane_(2, 16, [this](const std::string& what) {
        logger_->error("shared state task failed: {}", what);
      }) {
  std::lock_guard lock(mutex_);
  schedule_heartbeat();
  schedule_sweep();
}

ReplicaJobs::~ReplicaJobs() { stop(); }

void ReplicaJobs::stop() {
  {
    std::lock_guard alive(alive_->mutex);
    alive_->alive = false;
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (heartbeat_timer_) heartbeat_timer_->cancel();
    if (sweep_timer_) sweep_timer_->cancel();
  }
  // A sweep reporting a job (a status read, a post) finishes before what it
  // uses goes away.
  lane_.close();
  lane_.wait_idle(std::chrono::seconds(5));
}

// Requires mutex_. Each timer only queues on the lane: the scheduler's
// thread (the sockets') never waits for the store.
void ReplicaJobs::schedule_heartbeat() {
  if (stopped_) return;
  heartbeat_timer_ = scheduler_.after(settings_.heartbeat, [this, alive = alive_] {
    std::lock_guard guard(alive->mutex);
    if (!alive->alive) return;
    if (!lane_.post(kHeartbeatStrand, [this] { heartbeat_now(); })) {
      logger_->warn(
          "shared state: a heartbeat could not be queued; the leases of this "
          "replica's jobs are renewed at the next one");
    }
    std::lock_guard lock(mutex_);
    schedule_heartbeat();
  });
}

void ReplicaJobs::schedule_sweep() {
  if (stopped_ || sweeping_stopped_) return;
  sweep_timer_ = scheduler_.after(settings_.sweep, [this, alive = alive_] {
    std::lock_guard guard(alive->mutex);
    if (!alive->alive) return;
    // A report can take long (a status read): sweeps never pile up behind it.
    if (!sweep_queued_.exchange(true)) {
      if (!lane_.post(kSweepStrand, [this] {
            sweep_now();
            sweep_queued_ = false;
          })) {
        sweep_queued_ = false;
      }
    }
    std::lock_guard lock(mutex_);
    schedule_sweep();
  });
}

void ReplicaJobs::stop_sweeping() {
  std::lock_guard lock(mutex_);
  sweeping_stopped_ = true;
  if (sweep_timer_) sweep_timer_->cancel();
}

ReplicaJobs::Admission ReplicaJobs::take(const std::string& lock, const LockHolder& holder) {
  auto taken = state_.acquire_lock(lock, holder, settings_.lease);
  if (!taken) return Unreachable{taken.error()};
  if (*taken) return Busy{**taken};
  return Granted{};
}

void ReplicaJobs::give_back(const std::string& lock, const std::string& job_id) {
  if (auto status = state_.release_lock(lock, job_id); !status) {
    logger_->warn(
        "could not release lock {} of job {}: {}", lock, job_id,
        status.error().detail.empty() ? status.error().user_message : status.error().detail);
  }
}

core::Status ReplicaJobs::start(JobRecord record, std::optional<std::string> lock,
                                std::string token) {
  record.replica = settings_.replica;
  record.expires_at = clock_.now() + settings_.lease;
  {
    std::lock_guard guard(mutex_);
    held_[record.job_id] = Held{std::move(lock), std::move(token), false};
  }
  return state_.put_job(record);
}

core::Status ReplicaJobs::finish(const std::string& job_id, const Held& held) {
  if (held.lock) give_back(*held.lock, held.token);
  return state_.end_job(job_id, settings_.replica);
}

bool ReplicaJobs::finishing(const std::string& job_id) {
  Held held;
  {
    std::lock_guard guard(mutex_);
    auto it = held_.find(job_id);
    if (it == held_.end()) return true;
    held = it->second;
    it->second.lock.reset();  // given back now: others may go on while it answers
  }
  if (held.lock) give_back(*held.lock, held.token);
  auto renewed = state_.renew_job(job_id, settings_.replica, clock_.now() + settings_.lease);
  if (renewed || renewed.error().code != core::ErrorCode::conflict) return true;
  // Reported by a survivor, or never written: end_job() tells them apart.
  auto ended = state_.end_job(job_id, settings_.replica);
  if (!ended && ended.error().code == core::ErrorCode::conflict) {
    std::lock_guard guard(mutex_);
    held_.erase(job_id);
    logger_->warn("job {} was reported by another replica (its lease lapsed); not answering again",
                  job_id);
    return false;
  }
  return true;
}

void ReplicaJobs::end(const std::string& job_id) {
  Held held;
  {
    std::lock_guard guard(mutex_);
    auto it = held_.find(job_id);
    if (it == held_.end()) return;
    held = it->second;
  }
  auto ended = finish(job_id, held);
  std::lock_guard guard(mutex_);
  if (ended || ended.error().code == core::ErrorCode::conflict) {
    held_.erase(job_id);
    return;
  }
  // Its lease was renewed by finishing(): tried again soon, and by the
  // heartbeats, well before it lapses (a replica dying meanwhile leaves it to
  // be reported although it was answered).
  logger_->warn("could not end the record of job {} yet: {}", job_id, ended.error().detail);
  if (auto it = held_.find(job_id); it != held_.end()) {
    if (!it->second.ending) end_later(job_id, 0);
    it->second.ending = true;
  }
}

// Requires mutex_.
void ReplicaJobs::end_later(const std::string& job_id, int attempt) {
  if (stopped_ || attempt >= 3) return;
  const auto delay = std::chrono::milliseconds(250) * (1 << (2 * attempt));
  // Not kept: the scheduler owns the timer, and `alive` stops it after stop().
  (void)scheduler_.after(delay, [this, alive = alive_, job_id, attempt] {
    std::lock_guard guard(alive->mutex);
    if (!alive->alive) return;
    lane_.post(kEndStrand, [this, job_id, attempt] {
      Held held;
      {
        std::lock_guard lock(mutex_);
        auto it = held_.find(job_id);
        if (it == held_.end()) return;
        held = it->second;
      }
      auto ended = finish(job_id, held);
      std::lock_guard lock(mutex_);
      if (ended || ended.error().code == core::ErrorCode::conflict) {
        held_.erase(job_id);
      } else {
        end_later(job_id, attempt + 1);
      }
    });
  });
}

bool ReplicaJobs::first_submit(const std::string& dialog_id) {
  auto first = state_.claim_once("dialog " + dialog_id, std::chrono::minutes(30));
  return !first || *first;
}

bool ReplicaJobs::submitted_before(const std::string& dialog_id) {
  auto taken = state_.claimed("dialog " + dialog_id);
  return taken && *taken;
}

void ReplicaJobs::heartbeat_now() {
  std::vector<std::pair<std::string, Held>> jobs;
  {
    std::lock_guard guard(mutex_);
    for (const auto& [id, held] : held_) jobs.emplace_back(id, held);
  }
  for (const auto& [id, held] : jobs) {
    if (held.ending) {
      auto ended = finish(id, held);
      if (ended || ended.error().code == core::ErrorCode::conflict) {
        std::lock_guard guard(mutex_);
        held_.erase(id);
      }
      continue;
    }
    const auto until = clock_.now() + settings_.lease;
    if (held.lock) {
      if (auto renewed = state_.renew_lock(*held.lock, held.token, settings_.lease); !renewed) {
        logger_->warn(
            "job {}: lease of lock {} not renewed: {}", id, *held.lock,
            renewed.error().detail.empty() ? renewed.error().user_message : renewed.error().detail);
      }
    }
    if (auto renewed = state_.renew_job(id, settings_.replica, until); !renewed) {
      logger_->warn(
          "job {}: lease of its record not renewed: {}", id,
          renewed.error().detail.empty() ? renewed.error().user_message : renewed.error().detail);
    }
  }
}

void ReplicaJobs::sweep_now() {
  {
    std::lock_guard lock(mutex_);
    if (sweeping_stopped_) return;
  }
  auto orphans = state_.take_orphans();
  if (!orphans) {
    logger_->warn(
        "sweep for jobs of stopped replicas failed: {}",
        orphans.error().detail.empty() ? orphans.error().user_message : orphans.error().detail);
    return;
  }
  for (const auto& record : *orphans) {
    logger_->warn("job {} ({}) of replica {} lapsed; reporting it to its requester", record.job_id,
                  record.command, record.replica);
    on_orphan_(record);
  }
}

}  // namespace infra
