#pragma once

// The /infra command's life, chat-neutral (design §9): parse → policy →
// admission → job → progress → result → audit. A front end (Slack, the
// console, later Discord) turns what it receives into an Inbound, shows the
// Outcome at once (in its ack), and gives a Conversation for the answers that
// come later. Decisions are taken under a lock and nothing is sent while one
// is held: a Conversation only queues.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/reply.hpp"
#include "core/scheduler.hpp"
#include "infra/command_runner.hpp"
#include "infra/conversation.hpp"
#include "infra/shared_state.hpp"
#include "infra/views.hpp"

namespace infra {

struct LifecycleSettings {
  /// A job still running after this gets a progress message with the time so
  /// far; the next ones come 3× later each (20 s, 60 s, 180 s).
  std::chrono::milliseconds progress_after{20000};
  /// At most this many progress messages per job (Slack's response_url takes
  /// 5 posts: the result and one retry always have a use left).
  int max_progress_updates = 3;
  std::size_t workers = 16;       ///< jobs running at once
  std::size_t max_queued = 1000;  ///< beyond this a command is refused as busy

  static LifecycleSettings from(const core::Config& config);
};

/// More than one replica (issue 18): the state they share, and how this one
/// keeps its jobs alive in it. Without a shared state (null, or a
/// MemoryState) the lifecycle is one process's, as before.
struct Replication {
  SharedState* state = nullptr;
  std::string replica;  ///< this process, as the job records name it
  std::chrono::seconds lease{60};
  std::chrono::seconds heartbeat{15};
  std::chrono::seconds sweep{15};
  /// Reopens a dead replica's conversation to report its job; may be null
  /// (the job is then only logged and audited).
  ConversationOpener* opener = nullptr;
  /// Use `state` for locks and job records even when it is not shared
  /// between processes: two front ends of one process (Slack and Discord),
  /// each with its lifecycle, then hold one lock per environment. Without
  /// other processes there is no survivor: a drain interrupts its jobs.
  bool across_front_ends = false;
};

/// Shown to the requester only, at once (help, a parse error, a refusal,
/// "busy", "restarting").
struct Answer {
  core::reply::Message message;
};
/// A job was accepted: `started` is shown at once ("Working on `stop dev`…"
/// to the requester; a confirmed teardown's "started by" to everyone), the
/// rest comes through the Conversation.
struct Accepted {
  core::reply::Message started;
  std::string request_id;
};
/// Ask for a typed confirmation: the front end opens `needs.modal` (or, where
/// it cannot, shows views::render_teardown_prompt) and reports with
/// Lifecycle::confirmation_shown().
struct Confirm {
  NeedsConfirmation needs;
  std::string request_id;
};
/// The text typed into the confirmation was wrong: shown on its input.
struct Mismatch {
  std::string error_text;
};
/// Nothing to show (a confirmation submitted twice, a malformed one).
struct Ignored {};

using Outcome = std::variant<Answer, Accepted, Confirm, Mismatch, Ignored>;

/// What drain() left behind.
struct DrainReport {
  std::size_t finished = 0;     ///< jobs that completed while draining
  std::size_t interrupted = 0;  ///< jobs told "interrupted — check /infra status"
  std::size_t handed_over = 0;  ///< jobs left recorded for a surviving replica to report
};

/// Guarantees: one job at a time per environment and what it touches (its
/// services, or its allow-list); every accepted request gets exactly one
/// finished() answer, sent after its lock is released; every request and its
/// outcome is one audit line (logger "audit"). With a shared state the lock
/// and the cooldown hold across replicas, and a job whose replica dies is
/// reported by another.
class Lifecycle {
 public:
  /// `scheduler` runs progress timers; `announcer` and `names` may be null.
  Lifecycle(LifecycleSettings settings, CommandRunner& runner, core::Scheduler& scheduler,
            const core::Clock& clock, core::metrics::Registry& metrics, core::LoggerPtr logger,
            core::LoggerPtr audit, Announcer* announcer = nullptr, NameDirectory* names = nullptr,
            Replication replication = {});
  ~Lifecycle();  ///< drain(0)
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  /// A typed command. `conversation` receives the later answers if it is
  /// accepted. No I/O: call it where the ack is sent.
  Outcome submit(const Inbound& request, std::shared_ptr<Conversation> conversation);

  /// A typed confirmation came back from its dialog (`dialog_id`: the same id
  /// twice is a double submit, ignored). Policy is checked again.
  Outcome confirm(const views::TeardownConfirmation& confirmation, std::string_view typed,
                  const Inbound& request, const std::string& dialog_id,
                  std::shared_ptr<Conversation> conversation);

  /// The requester asked for the confirmation dialog (a button): a refusal, or
  /// Confirm with the dialog to open.
  Outcome confirmation_requested(const views::TeardownConfirmation& confirmation,
                                 const Inbound& request);

  /// The dialog was closed without confirming: audited; returns the notice.
  core::reply::Message cancelled(const views::TeardownConfirmation& confirmation,
                                 const Inbound& request);

  /// The front end showed the confirmation of `confirm`: its audit line, with
  /// `outcome` "modal_opened", "button_posted" or "failed" (then `error`).
  void confirmation_shown(const Confirm& confirm, const Inbound& request, std::string_view outcome,
                          const std::string& error = {});

  /// The front end refused to take `request` at all (another workspace, a
  /// bot, a guest, a forged reply address…): nothing runs and nothing is
  /// shown; this writes its audit line, with `reason`.
  void ignored(const Inbound& request, std::string_view reason);

  /// Stops admitting: every later request is answered "restarting". Returns
  /// at once; idempotent.
  void begin_drain();
  bool draining() const;
  /// begin_drain(), then waits up to `timeout` for running and queued jobs;
  /// each one still unfinished gets finished("interrupted") (a queued one then
  /// never runs) — or, with a shared state, stays recorded for a surviving
  /// replica to report once its lease lapses. Idempotent.
  DrainReport drain(std::chrono::milliseconds timeout);

  /// Jobs running or queued.
  std::size_t jobs_in_flight() const;

  /// With a shared state: one heartbeat and one sweep for dead replicas'
  /// jobs, now (tests; timers run them every 15 s).
  void heartbeat_now();
  void sweep_now();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infra
