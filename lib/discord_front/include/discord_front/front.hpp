#pragma once

// The Discord front end of the /infra core (issue 17; design §9): the
// Gateway's INTERACTION_CREATE dispatches become infra::Lifecycle requests.
// Every interaction is answered within Discord's 3 s: at once with a message
// (help, a refusal — ephemeral), a deferred response (type 5) for a job whose
// answers come later (edits of @original, follow-ups), or a modal (type 9)
// for a full teardown's typed confirmation. Status results carry Stop /
// Start / Refresh buttons; each click is a new request, checked again. Only
// DISCORD_GUILD_ID's interactions are taken: other guilds and DMs get an
// ephemeral refusal and no backend call.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/redactor.hpp"
#include "core/scheduler.hpp"
#include "discord/rest_client.hpp"
#include "infra/command_runner.hpp"
#include "infra/lifecycle.hpp"
#include "infra/shared_state.hpp"

namespace discord_front {

struct FrontSettings {
  std::string guild_id;  ///< DISCORD_GUILD_ID: the one guild served
  infra::LifecycleSettings lifecycle;
  /// Threads that take interactions and send their initial responses (3 s).
  std::size_t interaction_threads = 4;
  /// Threads sending the later answers (edits, follow-ups).
  std::size_t reply_threads = 4;
  std::size_t max_queued = 10000;
  /// What replicas share (null: this process alone); must outlive the Front.
  infra::SharedState* state = nullptr;
  /// Use `state` for locks even when it is not shared between processes (Slack
  /// and Discord in one process hold one lock per environment).
  bool across_front_ends = false;
  /// Reopens dead replicas' conversations for the lifecycle's sweep (another
  /// front end's too); null: the Front's own.
  infra::ConversationOpener* opener = nullptr;
  std::string replica;
  /// Every text sent to Discord passes it.
  core::Redactor redactor;
  static FrontSettings from(const core::Config& config);
};

class Front {
 public:
  Front(FrontSettings settings, infra::CommandRunner& runner, discord::RestClient& rest,
        core::Scheduler& scheduler, const core::Clock& clock, core::metrics::Registry& metrics,
        core::LoggerPtr logger, core::LoggerPtr audit);
  ~Front();  ///< drain(0)
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  /// One INTERACTION_CREATE's `d` (any thread; returns at once: the work is
  /// done on the front's own lane).
  void on_interaction(std::string_view data_json);
  /// Stops taking new work: later interactions are answered "restarting".
  void begin_drain();
  infra::DrainReport drain(std::chrono::milliseconds timeout);
  std::size_t jobs_in_flight() const;
  /// Reopens this front end's conversations (Conversation::address()).
  infra::ConversationOpener& opener();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace discord_front
