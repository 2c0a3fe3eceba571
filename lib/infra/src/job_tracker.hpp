#pragma once
// The jobs in flight and what each one holds: one job at a time per
// environment and what it touches — its services (stop, start, teardown,
// spinup, reboot) or its allow-list (whitelist add, remove, refresh) — so a
// whitelist change never waits for a stop of the same environment. Reads hold
// nothing.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit_record.hpp"
#include "core/clock.hpp"
#include "core/scheduler.hpp"
#include "infra/command_runner.hpp"
#include "infra/conversation.hpp"

namespace infra {

/// What a command holds while it runs ("dev/services", "dev/allow-list"), or
/// nullopt for a read.
std::optional<std::string> lock_of(const Command& command);

/// A job from admission to its answer.
struct RunningJob {
  Job job;
  std::shared_ptr<Conversation> conversation;
  AuditRecord audit;
  std::string started_by;  ///< "@alice" (the id until the name is known)
  core::TimePoint started;
  core::MonoTime started_steady;
  std::optional<std::string> lock;
  bool recorded = false;  ///< its record is in the shared state (ReplicaJobs)

  std::mutex mutex;  ///< orders progress and the answer (each only queued under it)
  bool done = false;
  bool executing = false;  ///< its worker took it (a drain hands it over, not interrupts it)
  int progress_posts = 0;
  core::Timer progress_timer;
};

class JobTracker {
 public:
  /// The job holding what `command` would hold, if any.
  std::shared_ptr<RunningJob> holder(const Command& command) const;
  /// Registers `job` and takes its lock (the caller checked holder() under
  /// the same admission step).
  void add(const std::shared_ptr<RunningJob>& job);
  /// The job's work is over: what it held is free again (before its answer
  /// is queued, so whoever reads the answer finds the environment free).
  /// Idempotent.
  void unlock(const std::shared_ptr<RunningJob>& job);
  /// The job is answered (or will never be): unlock(), and it no longer
  /// counts as in flight. Idempotent.
  void release(const std::shared_ptr<RunningJob>& job);
  std::size_t size() const;
  /// Waits up to `timeout` for every job to be released; returns those left.
  std::vector<std::shared_ptr<RunningJob>> wait_empty(std::chrono::milliseconds timeout);
  /// started_by of `job` (it may be renamed once the name is known).
  std::string started_by(const RunningJob& job) const;
  void rename(RunningJob& job, std::string started_by);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::shared_ptr<RunningJob>> running_;
  std::map<std::string, std::shared_ptr<RunningJob>> locks_;
};

}  // namespace infra
