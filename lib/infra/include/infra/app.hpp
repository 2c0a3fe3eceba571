#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "infra/command_runner.hpp"
#include "slack/envelope.hpp"
#include "slack/web_api.hpp"

namespace infra {

struct AppSettings {
  std::string audit_channel;  ///< INFRA_AUDIT_CHANNEL; empty = none
  /// A job still running after this gets its "working" message updated with
  /// the time so far; the next updates come 3× later each (20 s, 60 s, 180 s).
  std::chrono::milliseconds progress_after{20000};
  /// response_url allows 5 posts: at most this many progress updates, so the
  /// final reply (and one retry) always has a use left.
  int max_progress_updates = 3;
  std::size_t workers = 16;                ///< concurrent jobs (Web API posts included)
  std::size_t max_queued = 1000;           ///< beyond this a command is refused as busy
  std::chrono::minutes user_name_ttl{60};  ///< users.info cache

  static AppSettings from(const core::Config& config);
};

/// Sends the ack of an envelope (SocketModeClient::ack in the service):
/// envelope_id and the optional response payload JSON.
using AckFunction =
    std::function<core::Status(const std::string& envelope_id, std::optional<std::string> payload)>;

/// What drain() left behind.
struct DrainReport {
  std::size_t finished = 0;     ///< jobs that completed while draining
  std::size_t interrupted = 0;  ///< jobs told "interrupted — check /infra status"
};

/// The one place where a Socket Mode envelope becomes work (design §1):
/// slash commands, the teardown modal, mentions. on_envelope() runs on the
/// socket thread: it parses, checks policy and acks at once (no I/O); jobs,
/// views.open and every Web API post run on the App's worker threads.
/// Guarantees: one mutating job per environment at a time; every accepted
/// command gets exactly one final reply; every command and its outcome is one
/// audit line (logger "audit").
class App {
 public:
  App(AppSettings settings, CommandRunner& runner, slack::WebApi& web, const core::Clock& clock,
      core::metrics::Registry& metrics, core::LoggerPtr logger, core::LoggerPtr audit);
  ~App();  ///< drain(0)
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Handles one envelope and acks it through `ack` before returning (except
  /// while draining, see drain()).
  void on_envelope(const slack::Envelope& envelope, const AckFunction& ack);

  /// Stops taking envelopes: a later slash command is acked with "restarting,
  /// run it again", anything else is left unacked so that Slack delivers it
  /// again (to the next instance). Waits up to `timeout` for running and
  /// queued jobs, then tells the requester of each job still unfinished that
  /// it was interrupted (a queued one then never runs). Idempotent.
  DrainReport drain(std::chrono::milliseconds timeout);

  /// Jobs running or queued (for tests and /metrics).
  std::size_t jobs_in_flight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infra
