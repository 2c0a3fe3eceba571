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
#include "core/redactor.hpp"
#include "core/result.hpp"
#include "core/scheduler.hpp"
#include "infra/command_runner.hpp"
#include "infra/lifecycle.hpp"
#include "infra/shared_state.hpp"
#include "slack/envelope.hpp"
#include "slack/web_api.hpp"
#include "slack_front/workspace.hpp"

namespace slack_front {

struct AppSettings {
  std::string audit_channel;  ///< INFRA_AUDIT_CHANNEL; empty = none
  infra::LifecycleSettings lifecycle;
  /// Threads sending replies and progress (chat.*, response_url); each
  /// conversation's messages go out in order, different ones side by side.
  std::size_t reply_threads = 4;
  /// Threads opening dialogs (views.open: the trigger_id expires in 3 s, so
  /// this lane never waits behind a post).
  std::size_t dialog_threads = 2;
  std::size_t max_queued_posts = 10000;
  std::chrono::minutes user_name_ttl{60};  ///< users.info cache
  /// A reply waits for its command's ack to be written, at most this long.
  std::chrono::milliseconds ack_wait{2000};
  /// Whose envelopes are taken: the workspace (from auth.test), guests.
  WorkspaceSettings workspace;
  /// SLACK_API_URL: a response_url must be on hooks.slack.com, or on this
  /// URL's host when it is not Slack's own (tests).
  std::string slack_api_url = "https://slack.com/api/";
  /// Signs button values and modal metadata; empty = a random key per process.
  std::string signing_key;
  /// How long a signed button or modal stays valid.
  std::chrono::seconds metadata_ttl{15 * 60};
  /// What replicas share (INFRA_STATE_TABLE); null or not shared: this
  /// process alone. Must outlive the App.
  infra::SharedState* state = nullptr;
  /// This process, as the shared state names it (claims, job records).
  std::string replica;
  /// Use `state` for locks even when it is not shared between processes
  /// (Slack and Discord in one process hold one lock per environment).
  bool across_front_ends = false;
  /// Reopens dead replicas' conversations for the lifecycle's sweep (another
  /// front end's too); null: the App's own.
  infra::ConversationOpener* opener = nullptr;
  /// Every text sent to Slack (acks, replies, progress, modals, audit-channel
  /// lines) passes it; a handle sharing the process's secrets.
  core::Redactor redactor;

  static AppSettings from(const core::Config& config);
};

/// Runs once the ack has been handed to a connection.
using AckWritten = std::function<void()>;
/// Sends the ack of an envelope (SocketModeClient::ack in the service):
/// envelope_id, the optional response payload JSON, and what to run once it
/// is written.
using AckFunction = std::function<core::Status(
    const std::string& envelope_id, std::optional<std::string> payload, AckWritten on_written)>;

/// The Slack front end of the /infra core (design §9): Socket Mode envelopes
/// (slash commands, the teardown modal, mentions, the mention's button)
/// become infra::Lifecycle requests, answered in the ack at once; the later
/// answers become Block Kit posts on outbound lanes. on_envelope() runs on
/// the socket thread and does no I/O.
///
/// Where answers go: a slash command's result is a new message through its
/// response_url (in_channel for a mutating success, seen by everyone; never
/// replace_original); a confirmed teardown is announced in the channel at
/// once; a mention gets "Working…" in its thread at once, updated in place;
/// refusals to a mention are shown only to its author (chat.postEphemeral).
class App {
 public:
  App(AppSettings settings, infra::CommandRunner& runner, slack::WebApi& web,
      core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
      core::LoggerPtr logger, core::LoggerPtr audit);
  ~App();  ///< drain(0)
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Handles one envelope and acks it through `ack` — before returning, or,
  /// when its author is not known yet, once users.info has answered (on the
  /// scheduler, within WorkspaceSettings::lookup_timeout). Envelopes from
  /// another workspace, bots and workflows, and (unless allowed) guests and
  /// external users are acked and ignored. While draining, a slash command
  /// is acked "restarting, run it again", anything else is left unacked for
  /// Slack to deliver again (to the next instance).
  void on_envelope(const slack::Envelope& envelope, const AckFunction& ack);

  /// Stops taking new work (see on_envelope); returns at once.
  void begin_drain();
  /// begin_drain(), waits up to `timeout` for jobs, tells the requester of
  /// each unfinished one it was interrupted, and lets queued posts out (within
  /// what is left of `timeout`, at least 500 ms). Idempotent.
  infra::DrainReport drain(std::chrono::milliseconds timeout);

  /// Jobs running or queued.
  std::size_t jobs_in_flight() const;
  /// Reopens this front end's conversations (Conversation::address()).
  infra::ConversationOpener& opener();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slack_front
