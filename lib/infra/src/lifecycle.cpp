#include "infra/lifecycle.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "audit_record.hpp"
#include "core/overloaded.hpp"
#include "core/strand_pool.hpp"
#include "job_tracker.hpp"
#include "replica_jobs.hpp"

namespace infra {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A submitted dialog id is remembered this long (double submits).
constexpr std::chrono::minutes kConsumedDialogTtl{30};

// "@alice" for messages (a mention carries only the id until the name is known).
std::string handle_of(const Requester& who) {
  return "@" + (who.user_name.empty() ? who.user_id : who.user_name);
}

// The job queue is full: the command is refused, never queued.
Reply too_busy_reply(const Command& command) {
  return Reply{views::render_failure(
                   command, core::make_error(core::ErrorCode::unavailable,
                                             "infra-bot is too busy right now. Try again in a "
                                             "minute.")),
               false, DenyReason::none};
}

// A change while the shared state cannot be reached: refused (fail closed).
Reply state_unreachable_reply(const Command& command) {
  return Reply{views::render_failure(
                   command, core::make_error(core::ErrorCode::unavailable,
                                             "infra-bot cannot reach its shared state right now, "
                                             "so it makes no changes. Reads still work; try again "
                                             "in a minute.")),
               false, DenyReason::state_unavailable};
}

std::string confirmation_text(const views::TeardownConfirmation& confirmation,
                              std::string_view what) {
  return fmt::format("teardown {} --level={}{}", confirmation.environment,
                     to_string(confirmation.level), what);
}

}  // namespace

LifecycleSettings LifecycleSettings::from(const core::Config& config) {
  LifecycleSettings settings;
  settings.progress_after = duration_cast<milliseconds>(config.progress_after);
  return settings;
}

class Lifecycle::Impl {
 public:
  Impl(LifecycleSettings settings, CommandRunner& runner, core::Scheduler& scheduler,
       const core::Clock& clock, core::metrics::Registry& metrics, core::LoggerPtr logger,
       core::LoggerPtr audit, Announcer* announcer, NameDirectory* names, Replication replication)
      : settings_(std::move(settings)),
        runner_(runner),
        scheduler_(scheduler),
        clock_(clock),
        metrics_(metrics),
        logger_(std::move(logger)),
        audit_(std::move(audit)),
        announcer_(announcer),
        names_(names),
        opener_(replication.opener),
        jobs_(std::max<std::size_t>(1, settings_.workers), settings_.max_queued,
              [this](const std::string& what) { logger_->error("job failed: {}", what); }) {
    metrics_.declare_counter("infra_jobs_total", "Jobs finished, by action and outcome");
    metrics_.declare_gauge("infra_jobs_running", "Jobs running or queued");
    jobs_running_ = metrics_.gauge("infra_jobs_running");
    if (replication.state != nullptr &&
        (replication.state->shared() || replication.across_front_ends)) {
      survivors_ = replication.state->shared();
      replicas_ = std::make_shared<ReplicaJobs>(
          *replication.state,
          ReplicaSettings{replication.replica, replication.lease, replication.heartbeat,
                          replication.sweep},
          scheduler_, clock_, logger_, [this](const JobRecord& record) { report_orphan(record); });
    }
  }

  ~Impl() {
    drain(milliseconds{0});
    // Its sweep reports through what follows: stopped (a report in progress
    // finished) first.
    // (Not reset: a job still running ends through it; the workers are
    // joined before it goes, jobs_ being the last member.)
    if (replicas_) replicas_->stop();
    // A progress timer already firing on the scheduler's thread finds the
    // lifecycle gone and does nothing.
    std::lock_guard lock(alive_->mutex);
    alive_->alive = false;
  }

  Outcome submit(const Inbound& request, std::shared_ptr<Conversation> conversation) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    // Admission (parse, busy check, policy, registration) is one step, and
    // begin_drain() flips draining_ under the same lock: a command is either
    // admitted before a drain looks at what runs, or answered "restarting".
    std::unique_lock admission(admission_mutex_);
    if (draining_) return restarting(audit);
    auto parsed = runner_.parse(request.text);
    if (auto* reply = std::get_if<Reply>(&parsed)) return answered(audit, std::move(*reply));
    Command command = std::get<Command>(std::move(parsed));
    audit.describe(command);
    if (auto busy = busy_reply(command, request.who))
      return answered(audit, std::move(busy->first), busy->second);
    // With replicas the shared state decides, one conditional write at a
    // time, atomic across processes: its round trips are made without the
    // admission lock, or every admission would queue behind them.
    if (replicas_) admission.unlock();
    // A teardown asks for its confirmation first: the lock is taken on confirm().
    SharedLock shared(replicas_.get());
    if (!std::holds_alternative<Teardown>(command)) {
      if (auto busy = take_shared_lock(command, request.who, shared))
        return answered(audit, std::move(busy->first), busy->second);
    }
    auto decided = runner_.admit(std::move(command), request.who, request.reply_to);
    return std::visit(
        core::Overloaded{
            [&](Reply& reply) -> Outcome { return answered(audit, std::move(reply)); },
            [&](NeedsConfirmation& needs) -> Outcome {
              return Confirm{std::move(needs), runner_.new_request_id()};
            },
            [&](Job& job) -> Outcome {
              if (jobs_.full()) return answered(audit, too_busy_reply(job.command), "busy");
              if (!record_shared(job, request, *conversation, shared))
                return answered(audit, state_unreachable_reply(job.command));
              if (!relock(admission, job, shared)) return restarting(audit);
              auto started = views::render_working(job.command);
              auto id = job.request_id;
              start(std::move(job), std::move(conversation), std::move(audit), started,
                    shared.recorded());
              return Accepted{std::move(started), std::move(id)};
            },
        },
        decided);
  }

  Outcome confirm(const views::TeardownConfirmation& confirmation, std::string_view typed,
                  const Inbound& request, const std::string& dialog_id,
                  std::shared_ptr<Conversation> conversation) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    audit.command = confirmation_text(confirmation, " (confirmed)");
    const Command command = Teardown{confirmation.environment, confirmation.level};
    audit.describe(command);
    std::unique_lock admission(admission_mutex_);
    if (draining_) return restarting(audit);
    if (!dialog_id.empty() && consumed(dialog_id)) {
      // A double submit: the first one runs; this one just closes.
      logger_->info("teardown dialog {} submitted again; ignored", dialog_id);
      return Ignored{};
    }
    if (auto busy = busy_reply(command, request.who))
      return answered(audit, std::move(busy->first), busy->second);
    if (replicas_) admission.unlock();  // as in submit()
    if (replicas_ && !dialog_id.empty() && replicas_->submitted_before(dialog_id)) {
      // A double submit that another replica took (maybe still running it).
      logger_->info("teardown dialog {} submitted on another replica; ignored", dialog_id);
      return Ignored{};
    }
    SharedLock shared(replicas_.get());
    if (auto busy = take_shared_lock(command, request.who, shared))
      return answered(audit, std::move(busy->first), busy->second);
    auto decided = runner_.confirm_teardown(confirmation, typed, request.who);
    return std::visit(
        core::Overloaded{
            [&](Reply& reply) -> Outcome { return answered(audit, std::move(reply)); },
            [&](ConfirmationMismatch& mismatch) -> Outcome {
              logger_->info("teardown confirmation mismatch: user={} env={}", request.who.user_id,
                            confirmation.environment);
              return Mismatch{std::move(mismatch.error_text)};
            },
            [&](Job& job) -> Outcome {
              if (jobs_.full()) {
                return answered(audit, too_busy_reply(job.command), "busy");
              }
              // A double submit that reached another replica first.
              if (replicas_ && !dialog_id.empty() && !replicas_->first_submit(dialog_id)) {
                logger_->info("teardown dialog {} submitted on another replica; ignored",
                              dialog_id);
                return Ignored{};
              }
              if (!record_shared(job, request, *conversation, shared))
                return answered(audit, state_unreachable_reply(job.command));
              if (!relock(admission, job, shared)) return restarting(audit);
              consume(dialog_id);
              auto started = views::render_teardown_started(
                  Teardown{confirmation.environment, confirmation.level}, handle_of(job.requester));
              auto id = job.request_id;
              start(std::move(job), std::move(conversation), std::move(audit), started,
                    shared.recorded());
              return Accepted{std::move(started), std::move(id)};
            },
        },
        decided);
  }

  Outcome confirmation_requested(const views::TeardownConfirmation& confirmation,
                                 const Inbound& request) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    audit.command = confirmation_text(confirmation, "");
    const Command command = Teardown{confirmation.environment, confirmation.level};
    audit.describe(command);
    std::lock_guard admission(admission_mutex_);
    if (draining_) return restarting(audit);
    if (auto refusal = runner_.refusal(command, request.who))
      return answered(audit, std::move(*refusal));
    NeedsConfirmation needs{Teardown{confirmation.environment, confirmation.level}, confirmation,
                            views::render_teardown_modal(confirmation)};
    return Confirm{std::move(needs), runner_.new_request_id()};
  }

  core::reply::Message cancelled(const views::TeardownConfirmation& confirmation,
                                 const Inbound& request) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    audit.command = confirmation_text(confirmation, " (cancelled)");
    audit.describe(Teardown{confirmation.environment, confirmation.level});
    audit.decision = "confirm";
    audit.outcome = "cancelled";
    audit.request_id = runner_.new_request_id();
    audit_->info(audit.to_json());
    return views::render_teardown_cancelled(confirmation.environment);
  }

  void ignored(const Inbound& request, std::string_view reason) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    audit.request_id = runner_.new_request_id();
    audit.decision = "ignored";
    audit.reason = std::string(reason);
    audit.outcome = "ignored";
    audit_->info(audit.to_json());
  }

  void confirmation_shown(const Confirm& confirm, const Inbound& request, std::string_view outcome,
                          const std::string& error) {
    AuditRecord audit = AuditRecord::of(request, runner_.backend_name());
    audit.describe(confirm.needs.command);
    audit.request_id = confirm.request_id;
    audit.decision = "confirm";
    audit.outcome = std::string(outcome);
    audit.error = error;
    audit_->info(audit.to_json());
  }

  void begin_drain() {
    std::lock_guard admission(admission_mutex_);  // no admission is half done
    if (!draining_.exchange(true)) {
      // A report begun now could be cut short by the exit: the survivors sweep.
      if (replicas_) replicas_->stop_sweeping();
      in_flight_at_drain_ = tracker_.size();
      logger_->info("draining: {} job(s) in flight; new commands are answered \"restarting\"",
                    in_flight_at_drain_.load());
    }
  }

  bool draining() const { return draining_; }

  DrainReport drain(milliseconds timeout) {
    begin_drain();
    std::lock_guard drain_lock(drain_mutex_);
    DrainReport report;
    const std::size_t before = in_flight_at_drain_;
    const auto left = tracker_.wait_empty(timeout);
    report.finished = before > left.size() ? before - left.size() : 0;
    for (const auto& running : left) {
      core::RequestScope scope(running->job.request_id);
      {
        std::lock_guard lock(running->mutex);
        if (running->done) continue;
        if (running->recorded && running->executing && survivors_) {
          // Left for a surviving replica: its record lapses once the
          // heartbeats stop, and the survivor reports it. Should it finish
          // before this process exits, it answers itself (finish()).
          ++report.handed_over;
          continue;
        }
        running->done = true;  // a queued job never runs now
        if (running->progress_timer) running->progress_timer->cancel();
      }
      // The shared state is asked outside the job's mutex (a progress timer
      // on the socket thread may wait for it).
      const bool ours = !running->recorded || replicas_->finishing(running->job.request_id);
      std::lock_guard lock(running->mutex);
      if (!ours) {
        finish_audit(*running, "reported_elsewhere",
                     "another replica reported it (its lease lapsed)");
        continue;
      }
      running->conversation->finished(views::render_interrupted(running->job.command));
      finish_audit(*running, "interrupted", "shut down before the job finished");
      if (running->recorded) end_record_after_answer(*running);
      ++report.interrupted;
    }
    if (replicas_ && report.handed_over > 0) {
      logger_->info("{} job(s) left recorded for another replica to report", report.handed_over);
      replicas_->stop();
    }
    return report;
  }

  std::size_t jobs_in_flight() const { return tracker_.size(); }

  void heartbeat_now() {
    if (replicas_) replicas_->heartbeat_now();
  }
  void sweep_now() {
    if (replicas_) replicas_->sweep_now();
  }

 private:
  // ---- what replicas share ----

  // The lock a job takes on every replica, given back unless its job starts.
  class SharedLock {
   public:
    explicit SharedLock(ReplicaJobs* replicas) : replicas_(replicas) {}
    ~SharedLock() {
      if (replicas_ != nullptr && lock_ && !kept_) replicas_->give_back(*lock_, token_);
    }
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;
    void taken(std::string lock, std::string token) {
      lock_ = std::move(lock);
      token_ = std::move(token);
    }
    // The job started with it: its record now holds it (ReplicaJobs::end frees it).
    void keep() { kept_ = true; }
    bool recorded() const { return kept_; }
    const std::optional<std::string>& lock() const { return lock_; }
    const std::string& token() const { return token_; }

   private:
    ReplicaJobs* replicas_;
    std::optional<std::string> lock_;
    std::string token_;
    bool kept_ = false;
  };

  // With replicas: takes the admission lock again to start `job`; false
  // (its lock and record given back) when a drain began meanwhile.
  bool relock(std::unique_lock<std::mutex>& admission, const Job& job, SharedLock& shared) {
    if (!replicas_) return true;
    admission.lock();
    if (!draining_) return true;
    admission.unlock();  // the store's round trips never under the admission lock
    if (shared.recorded()) replicas_->end(job.request_id);
    return false;
  }

  // Takes what `command` holds on every replica:
  // nullopt when taken (or nothing to take), else the refusal — the policy's
  // own first, as busy_reply() — with its audit decision.
  std::optional<std::pair<Reply, std::string>> take_shared_lock(const Command& command,
                                                                const Requester& who,
                                                                SharedLock& shared) {
    if (!replicas_) return std::nullopt;
    const auto lock = lock_of(command);
    if (!lock) return std::nullopt;
    auto token = runner_.new_request_id();
    const LockHolder holder{token, replicas_->replica(), describe(command), handle_of(who),
                            clock_.now()};
    auto taken = replicas_->take(*lock, holder);
    if (std::holds_alternative<ReplicaJobs::Granted>(taken)) {
      shared.taken(*lock, std::move(token));
      return std::nullopt;
    }
    if (auto* unreachable = std::get_if<ReplicaJobs::Unreachable>(&taken)) {
      logger_->warn("lock {} not taken, the shared state cannot be reached: {}", *lock,
                    unreachable->error.detail.empty() ? unreachable->error.user_message
                                                      : unreachable->error.detail);
      return std::pair{state_unreachable_reply(command), std::string()};
    }
    if (auto refusal = runner_.refusal(command, who)) return std::pair{*refusal, std::string()};
    const auto& busy = std::get<ReplicaJobs::Busy>(taken).holder;
    const auto ago = std::max(duration_cast<seconds>(clock_.now() - busy.started), seconds(0));
    return std::pair{
        Reply{views::render_busy(busy.command, busy.started_by, ago), false, DenyReason::none},
        std::string("busy")};
  }

  // Records the job for the survivors. False
  // when that failed for a change: it is refused (a read goes on unrecorded).
  bool record_shared(const Job& job, const Inbound& request, const Conversation& conversation,
                     SharedLock& shared) {
    if (!replicas_) return true;
    JobRecord record;
    record.job_id = job.request_id;
    record.command = describe(job.command);
    record.environment = environment_of(job.command).value_or("");
    record.requester_id = job.requester.user_id;
    record.started_by = handle_of(job.requester);
    record.reply_to = conversation.address();
    record.delivery = request.delivery;
    record.started = clock_.now();
    auto status = replicas_->start(std::move(record), shared.lock(), shared.token());
    // The lock is the job's from here: ReplicaJobs::end() frees it.
    shared.keep();
    if (status) return true;
    logger_->warn(
        "job {} not recorded, the shared state cannot be reached: {}", job.request_id,
        status.error().detail.empty() ? status.error().user_message : status.error().detail);
    if (!is_mutating(action_of(job.command))) return true;  // a read goes on
    replicas_->end(job.request_id);
    return false;
  }

  // Requires running.mutex (its finished() was just queued).
  void end_record_after_answer(RunningJob& running) {
    std::weak_ptr<ReplicaJobs> weak = replicas_;
    running.conversation->then([weak, id = running.job.request_id] {
      if (auto replicas = weak.lock()) replicas->end(id);
    });
  }

  // On the sweep's lane: a dead replica's job, told to its requester with
  // the environment's state now.
  void report_orphan(const JobRecord& record) {
    core::RequestScope scope(record.job_id);
    std::optional<core::reply::Message> state_now;
    Requester who;
    who.user_id = record.requester_id;
    who.user_name = record.started_by;
    // What the record says is read back from the table: parsed again (a known
    // environment, a command of the grammar) before anything uses it.
    auto parsed = runner_.parse(record.command);
    const auto* command = std::get_if<Command>(&parsed);
    if (command != nullptr) {
      if (auto environment = environment_of(*command)) {
        const Job status{Status{*environment}, who, runner_.new_request_id()};
        auto reply = runner_.run(status);
        if (reply.ok) state_now = std::move(reply.message);
      }
    }
    const auto ago = std::max(duration_cast<seconds>(clock_.now() - record.started), seconds(0));
    // The command as this replica describes it; a record it cannot parse is
    // not echoed (its text came from the table).
    const auto message =
        views::render_orphaned(command != nullptr ? describe(*command) : std::string("a command"),
                               record.started_by, ago, state_now);
    auto conversation = opener_ != nullptr ? opener_->reopen(record.reply_to) : nullptr;
    if (conversation) {
      conversation->finished(message);
    } else {
      logger_->warn("job {} ({}) of a stopped replica cannot be reported: no conversation",
                    record.job_id, record.command);
    }
    Inbound inbound;
    inbound.source = "replica";
    inbound.who = who;
    inbound.text = record.command;
    AuditRecord audit = AuditRecord::of(inbound, runner_.backend_name());
    if (command != nullptr) audit.describe(*command);
    audit.request_id = record.job_id;
    audit.decision = "allowed";
    audit.outcome = "orphaned";
    audit.error = "the replica running it stopped (" + record.replica + ")";
    audit.duration_ms = duration_cast<milliseconds>(clock_.now() - record.started).count();
    audit_->info(audit.to_json());
    metrics_.increment("infra_jobs_total", {{"action", audit.action}, {"outcome", "orphaned"}});
  }

  // ---- answers at once ----

  Outcome answered(AuditRecord& audit, Reply reply, std::string_view decision = {}) {
    if (audit.request_id.empty()) audit.request_id = runner_.new_request_id();
    audit.answered(reply, decision);
    audit_->info(audit.to_json());
    return Answer{std::move(reply.message)};
  }

  Outcome restarting(AuditRecord& audit) {
    logger_->info("shutting down: {} request from {} not taken", audit.source, audit.who.user_id);
    return Answer{views::render_shutting_down()};
  }

  // Requires admission_mutex_. The refusal a command gets while another job
  // holds what it would hold (the policy's own refusal first), with its
  // audit decision.
  std::optional<std::pair<Reply, std::string>> busy_reply(const Command& command,
                                                          const Requester& who) {
    auto holder = tracker_.holder(command);
    if (!holder) return std::nullopt;
    if (auto refusal = runner_.refusal(command, who)) return std::pair{*refusal, std::string()};
    return std::pair{
        Reply{views::render_busy(describe(holder->job.command), tracker_.started_by(*holder),
                                 duration_cast<seconds>(clock_.now() - holder->started)),
              false, DenyReason::none},
        std::string("busy")};
  }

  // ---- jobs ----

  // Requires admission_mutex_: registers the job (its lock, progress) and
  // queues it.
  void start(Job job, std::shared_ptr<Conversation> conversation, AuditRecord audit,
             const core::reply::Message& started_message, bool recorded) {
    auto running = std::make_shared<RunningJob>();
    running->recorded = recorded;
    running->started_by = handle_of(job.requester);
    running->lock = lock_of(job.command);
    running->job = std::move(job);
    running->conversation = std::move(conversation);
    running->audit = std::move(audit);
    running->audit.request_id = running->job.request_id;
    running->audit.decision = "allowed";
    running->started = clock_.now();
    running->started_steady = clock_.monotonic();
    if (names_ != nullptr) names_->prefetch(running->job.requester.user_id);
    tracker_.add(running);
    jobs_running_.set(static_cast<double>(tracker_.size()));
    {
      core::RequestScope scope(running->job.request_id);
      std::lock_guard lock(running->mutex);
      running->conversation->started(started_message);
      schedule_progress(running, settings_.progress_after);
    }
    // Each job its own strand: jobs run side by side, `workers` at a time.
    if (jobs_.post(next_job_++, [this, running] { execute(running); })) return;
    logger_->error("job queue full ({} queued); refusing request_id={}", jobs_.pending(),
                   running->job.request_id);
    finish(running, too_busy_reply(running->job.command));
  }

  void execute(const std::shared_ptr<RunningJob>& running) {
    // Every line this job logs (backend calls, replies on the lanes) carries its id.
    core::RequestScope scope(running->job.request_id);
    Job job;
    {
      std::lock_guard lock(running->mutex);
      if (running->done) {
        // Told "interrupted" by a drain before it started: it must not run.
        release(running);
        return;
      }
      running->executing = true;
      job = running->job;
    }
    name_requester(*running, job.requester);
    finish(running, runner_.run(job));
  }

  // The requester's name as the backend records it (requested_by): the real
  // name when the directory has it already, else the name the request
  // carried, else the id. Never waits for the directory.
  void name_requester(RunningJob& running, Requester& who) {
    std::optional<NameDirectory::Names> names;
    if (names_ != nullptr) names = names_->cached(who.user_id);
    if (names && !names->handle.empty() && who.user_name.empty()) {
      tracker_.rename(running, "@" + names->handle);
    }
    if (names && !names->real_name.empty()) {
      who.user_name = names->real_name;
    } else if (names && !names->handle.empty() && who.user_name.empty()) {
      who.user_name = names->handle;
    }
    if (who.user_name.empty()) who.user_name = who.user_id;
    std::lock_guard lock(running.mutex);
    running.audit.who.user_name = who.user_name;
  }

  void finish(const std::shared_ptr<RunningJob>& running, const Reply& reply) {
    const Action action = action_of(running->job.command);
    const auto started_by = tracker_.started_by(*running);
    core::reply::Message message = reply.message;
    if (reply.ok && is_mutating(action)) {
      std::string name;
      {
        std::lock_guard lock(running->mutex);
        name = running->audit.who.user_name;
      }
      message = views::for_channel(std::move(message), name.empty() ? started_by : name);
    }
    // Unlock first, then answer: a command typed after the answer arrived
    // never finds this job still holding its environment. It stays in flight
    // until its answer is queued, so a drain waits for that too.
    tracker_.unlock(running);
    // With a shared state, this replica answers unless a survivor found the
    // job's lease lapsed and reported it.
    const bool ours = !running->recorded || replicas_->finishing(running->job.request_id);
    bool answered = false;
    {
      std::lock_guard lock(running->mutex);
      if (!ours && !running->done) {
        running->done = true;
        if (running->progress_timer) running->progress_timer->cancel();
        finish_audit(*running, "reported_elsewhere",
                     "another replica reported it (its lease lapsed)");
      }
      if (!running->done) {  // else a drain answered "interrupted" already
        running->done = true;
        answered = true;
        if (running->progress_timer) running->progress_timer->cancel();
        running->conversation->finished(message);
        finish_audit(*running, reply.ok ? "ok" : "failed", reply.ok ? "" : reply.message.text);
        // The record goes once the answer is out (a replica dying before
        // that is reported by another).
        if (running->recorded) end_record_after_answer(*running);
      }
    }
    if (answered && announcer_ != nullptr && is_mutating(action)) {
      const auto took = duration_cast<seconds>(clock_.now() - running->started);
      announcer_->announce(views::render_audit_line(running->job.command, started_by,
                                                    reply.ok ? "ok" : "failed", took));
    }
    release(running);
  }

  void release(const std::shared_ptr<RunningJob>& running) {
    tracker_.release(running);
    jobs_running_.set(static_cast<double>(tracker_.size()));
  }

  // The job's audit line and counter (its mutex held).
  void finish_audit(RunningJob& running, std::string_view outcome, std::string error) {
    running.audit.outcome = std::string(outcome);
    running.audit.error = std::move(error);
    running.audit.duration_ms = duration_cast<milliseconds>(clock_.now() - running.started).count();
    audit_->info(running.audit.to_json());
    metrics_.increment("infra_jobs_total",
                       {{"action", running.audit.action}, {"outcome", std::string(outcome)}});
  }

  // ---- progress of long jobs ----

  // Requires running->mutex.
  void schedule_progress(const std::shared_ptr<RunningJob>& running, milliseconds delay) {
    if (settings_.max_progress_updates <= 0 || running->done) return;
    std::weak_ptr<RunningJob> weak = running;
    running->progress_timer = scheduler_.after(delay, [this, weak, alive = alive_] {
      std::lock_guard guard(alive->mutex);
      if (!alive->alive) return;
      if (auto job = weak.lock()) progress(job);
    });
  }

  void progress(const std::shared_ptr<RunningJob>& running) {
    core::RequestScope scope(running->job.request_id);
    std::lock_guard lock(running->mutex);
    if (running->done) return;
    const auto elapsed = clock_.monotonic() - running->started_steady;
    running->conversation->progress(
        views::render_progress(running->job.command, duration_cast<seconds>(elapsed)));
    ++running->progress_posts;
    if (running->progress_posts >= settings_.max_progress_updates) return;
    auto due = settings_.progress_after;
    for (int i = 0; i < running->progress_posts; ++i) due *= 3;
    schedule_progress(running,
                      std::max(milliseconds(0), due - duration_cast<milliseconds>(elapsed)));
  }

  // ---- double submits (admission_mutex_) ----

  bool consumed(const std::string& dialog_id) {
    const auto now = clock_.monotonic();
    std::erase_if(consumed_dialogs_,
                  [&](const auto& entry) { return now - entry.second > kConsumedDialogTtl; });
    return consumed_dialogs_.count(dialog_id) > 0;
  }
  void consume(const std::string& dialog_id) {
    if (!dialog_id.empty()) consumed_dialogs_[dialog_id] = clock_.monotonic();
  }

  struct Alive {
    std::mutex mutex;
    bool alive = true;
  };

  LifecycleSettings settings_;
  CommandRunner& runner_;
  core::Scheduler& scheduler_;
  const core::Clock& clock_;
  core::metrics::Registry& metrics_;
  core::LoggerPtr logger_;
  core::LoggerPtr audit_;
  Announcer* announcer_;
  NameDirectory* names_;
  ConversationOpener* opener_;
  std::shared_ptr<Alive> alive_ = std::make_shared<Alive>();
  core::metrics::Gauge jobs_running_;

  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> in_flight_at_drain_{0};  ///< jobs in flight when draining began
  std::mutex drain_mutex_;
  std::mutex admission_mutex_;
  std::map<std::string, core::MonoTime> consumed_dialogs_;  // admission_mutex_
  JobTracker tracker_;
  /// With a shared state only; shared with the conversations' then() tasks,
  /// which may run after the lifecycle is gone.
  std::shared_ptr<ReplicaJobs> replicas_;
  /// Other processes share the state: a job left at a drain is theirs to report.
  bool survivors_ = false;

  // Last: destroyed (joined) first, while everything its tasks use lives.
  std::uint64_t next_job_ = 0;  // admission_mutex_
  core::StrandPool jobs_;
};

Lifecycle::Lifecycle(LifecycleSettings settings, CommandRunner& runner, core::Scheduler& scheduler,
                     const core::Clock& clock, core::metrics::Registry& metrics,
                     core::LoggerPtr logger, core::LoggerPtr audit, Announcer* announcer,
                     NameDirectory* names, Replication replication)
    : impl_(std::make_unique<Impl>(std::move(settings), runner, scheduler, clock, metrics,
                                   std::move(logger), std::move(audit), announcer, names,
                                   std::move(replication))) {}

Lifecycle::~Lifecycle() = default;

Outcome Lifecycle::submit(const Inbound& request, std::shared_ptr<Conversation> conversation) {
  return impl_->submit(request, std::move(conversation));
}
Outcome Lifecycle::confirm(const views::TeardownConfirmation& confirmation, std::string_view typed,
                           const Inbound& request, const std::string& dialog_id,
                           std::shared_ptr<Conversation> conversation) {
  return impl_->confirm(confirmation, typed, request, dialog_id, std::move(conversation));
}
Outcome Lifecycle::confirmation_requested(const views::TeardownConfirmation& confirmation,
                                          const Inbound& request) {
  return impl_->confirmation_requested(confirmation, request);
}
core::reply::Message Lifecycle::cancelled(const views::TeardownConfirmation& confirmation,
                                          const Inbound& request) {
  return impl_->cancelled(confirmation, request);
}
void Lifecycle::confirmation_shown(const Confirm& confirm, const Inbound& request,
                                   std::string_view outcome, const std::string& error) {
  impl_->confirmation_shown(confirm, request, outcome, error);
}
void Lifecycle::ignored(const Inbound& request, std::string_view reason) {
  impl_->ignored(request, reason);
}
void Lifecycle::begin_drain() { impl_->begin_drain(); }
bool Lifecycle::draining() const { return impl_->draining(); }
DrainReport Lifecycle::drain(std::chrono::milliseconds timeout) { return impl_->drain(timeout); }
std::size_t Lifecycle::jobs_in_flight() const { return impl_->jobs_in_flight(); }
void Lifecycle::heartbeat_now() { impl_->heartbeat_now(); }
void Lifecycle::sweep_now() { impl_->sweep_now(); }

}  // namespace infra
