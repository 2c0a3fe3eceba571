#pragma once
// The lifecycle's side of the shared state (issue 18): the lock a job takes
// on every replica, the record that lets a survivor report it, the heartbeat
// that keeps both alive while it runs (a lease of 60 s renewed every 15 s:
// a replica that dies loses them when the lease lapses, never earlier), and
// the sweep that finds the jobs of a replica that died (every 15 s, so a
// lapsed lease is noticed within 30 s). Used only when the state is shared.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "core/strand_pool.hpp"
#include "infra/shared_state.hpp"

namespace infra {

struct ReplicaSettings {
  std::string replica;  ///< this process, as the records name it
  std::chrono::seconds lease{60};
  std::chrono::seconds heartbeat{15};
  std::chrono::seconds sweep{15};
};

class ReplicaJobs {
 public:
  struct Granted {};  ///< the lock is this job's (or it needs none)
  struct Busy {
    LockHolder holder;
  };
  struct Unreachable {
    core::Error error;
  };
  using Admission = std::variant<Granted, Busy, Unreachable>;

  /// `on_orphan` runs on the sweep's lane thread, once per job this replica
  /// took over from a dead one.
  ReplicaJobs(SharedState& state, ReplicaSettings settings, core::Scheduler& scheduler,
              const core::Clock& clock, core::LoggerPtr logger,
              std::function<void(const JobRecord&)> on_orphan);
  ~ReplicaJobs();  ///< stop()
  ReplicaJobs(const ReplicaJobs&) = delete;
  ReplicaJobs& operator=(const ReplicaJobs&) = delete;

  const std::string& replica() const { return settings_.replica; }

  /// Takes `lock` for `holder` (holder.job_id: the job's id).
  Admission take(const std::string& lock, const LockHolder& holder);
  /// Gives back a lock taken for a job that did not start.
  void give_back(const std::string& lock, const std::string& job_id);
  /// Records a starting job (with its lease) and keeps it — and `lock`,
  /// taken with `token` as its holder's job_id — alive until end(). The job
  /// is tracked even when recording fails (the write may have happened and
  /// its answer been lost): end() it either way.
  core::Status start(JobRecord record, std::optional<std::string> lock, std::string token);
  /// The job's work is over: its lock is released, and whether it is still
  /// this replica's to answer is checked (its lease renewed once more).
  /// False when a survivor reported it already (its lease lapsed): the
  /// caller must not answer, and the job is forgotten. True when the state
  /// cannot be reached (answering twice is better than never).
  bool finishing(const std::string& job_id);
  /// The job is answered (its answer sent): its record is removed. When the
  /// state cannot be reached the heartbeats try again, before its lease
  /// lapses. A replica that dies between finishing() and end() leaves the
  /// record to lapse: a survivor then reports a job that was answered.
  void end(const std::string& job_id);
  /// Whether this is the first submit of the dialog `dialog_id` on any
  /// replica (kept 30 minutes). True when the state cannot be reached: the
  /// job's record then fails and refuses the change anyway.
  bool first_submit(const std::string& dialog_id);
  /// Whether another replica took the dialog `dialog_id` already (no claim;
  /// false when the state cannot be reached).
  bool submitted_before(const std::string& dialog_id);
  /// No more sweeps (a draining replica leaves them to the survivors); the
  /// heartbeat goes on. Idempotent.
  void stop_sweeping();
  /// Stops the heartbeat and the sweep; the jobs still running keep their
  /// records, which lapse and are reported by a survivor. Idempotent.
  void stop();
  /// Runs one heartbeat / one sweep now (tests; the timers call them).
  void heartbeat_now();
  void sweep_now();

 private:
  struct Held {
    std::optional<std::string> lock;
    std::string token;
    bool ending = false;  ///< over; its record could not be removed yet
  };
  // Releases the lock and removes the record: the outcome of end_job().
  core::Status finish(const std::string& job_id, const Held& held);
  void schedule_heartbeat();
  void schedule_sweep();
  // end() failed: tried again after 250 ms, 1 s and 4 s (then by the heartbeats).
  void end_later(const std::string& job_id, int attempt);

  SharedState& state_;
  ReplicaSettings settings_;
  core::Scheduler& scheduler_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  std::function<void(const JobRecord&)> on_orphan_;
  /// A timer already firing when stop() runs finds it false (stop() waits
  /// for one that holds it).
  struct Alive {
    std::mutex mutex;
    bool alive = true;
  };
  std::shared_ptr<Alive> alive_ = std::make_shared<Alive>();
  std::mutex mutex_;
  bool stopped_ = false;
  bool sweeping_stopped_ = false;
  std::atomic<bool> sweep_queued_{false};  ///< one sweep queued or running at a time
  std::map<std::string, Held> held_;       ///< job id → what it holds
  core::Timer heartbeat_timer_;
  core::Timer sweep_timer_;
  // Last: joined first, while what its tasks use lives.
  core::StrandPool lane_;
};

}  // namespace infra
