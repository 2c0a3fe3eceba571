#include "job_tracker.hpp"

#include "core/overloaded.hpp"

namespace infra {

std::optional<std::string> lock_of(const Command& command) {
  const auto environment = environment_of(command);
  if (!environment) return std::nullopt;
  switch (action_of(command)) {
    case Action::stop:
    case Action::start:
    case Action::teardown:
    case Action::spinup:
    case Action::reboot:
      return *environment + "/services";
    case Action::whitelist_add:
    case Action::whitelist_remove:
    case Action::whitelist_refresh:
      return *environment + "/allow-list";
    case Action::help:
    case Action::status:
    case Action::whitelist_list:
      return std::nullopt;
  }
  return std::nullopt;
}

std::shared_ptr<RunningJob> JobTracker::holder(const Command& command) const {
  const auto lock = lock_of(command);
  if (!lock) return nullptr;
  std::lock_guard guard(mutex_);
  auto it = locks_.find(*lock);
  return it == locks_.end() ? nullptr : it->second;
}

void JobTracker::add(const std::shared_ptr<RunningJob>& job) {
  std::lock_guard guard(mutex_);
  running_.insert(job);
  if (job->lock) locks_[*job->lock] = job;
}

void JobTracker::unlock(const std::shared_ptr<RunningJob>& job) {
  std::lock_guard guard(mutex_);
  if (!job->lock) return;
  if (auto it = locks_.find(*job->lock); it != locks_.end() && it->second == job) locks_.erase(it);
}

void JobTracker::release(const std::shared_ptr<RunningJob>& job) {
  unlock(job);
  {
    std::lock_guard guard(mutex_);
    running_.erase(job);
  }
  changed_.notify_all();
}

std::size_t JobTracker::size() const {
  std::lock_guard guard(mutex_);
  return running_.size();
}

std::vector<std::shared_ptr<RunningJob>> JobTracker::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock guard(mutex_);
  changed_.wait_for(guard, timeout, [this] { return running_.empty(); });
  return {running_.begin(), running_.end()};
}

std::string JobTracker::started_by(const RunningJob& job) const {
  std::lock_guard guard(mutex_);
  return job.started_by;
}

void JobTracker::rename(RunningJob& job, std::string started_by) {
  std::lock_guard guard(mutex_);
  job.started_by = std::move(started_by);
}

}  // namespace infra
