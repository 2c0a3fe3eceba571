#pragma once

// The Socket Mode connections (design §5): `settings.connections` slots, each
// served by one link at a time (two during a refresh: the replacement opens
// before the old one lets go). Each connect asks apps.connections.open for a
// fresh URL; failures reconnect after a full-jitter backoff that only a link
// staying up resets; fatal errors stop everything. Scheduler thread only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/scheduler.hpp"
#include "slack/connection_opener.hpp"
#include "slack/connector.hpp"
#include "slack/envelope.hpp"
#include "slack/socket_mode_client.hpp"
#include "socket_mode_support.hpp"

namespace slack::detail {

struct Link {
  std::uint64_t id = 0;
  std::size_t slot = 0;
  ConnectionPtr conn;
  bool open = false;
  bool hello = false;
  bool replaced = false;  ///< a replacement is being opened (refresh_requested/warning)
  bool draining = false;  ///< replaced and the replacement is ready: read until closed
  core::MonoTime opened_at{}, last_frame{}, last_pong{};
  std::string close_reason;  ///< why we closed it (dead, no_hello, too_many_websockets…)
  core::Timer grace;         ///< cuts a draining link
  core::Timer stable;        ///< ends the slot's failure streak
  core::Timer hello_timer;   ///< drops a link that opened but never says hello

  /// Open and not being closed by us: a frame sent now should reach Slack.
  bool usable() const { return open && close_reason.empty(); }
};

class LinkPool {
 public:
  /// What the pool tells the client (scheduler thread).
  struct Hooks {
    std::function<void(Link&, std::string payload, bool text)> on_message;
    std::function<void(Link&)> on_open;      ///< WebSocket open (no hello yet)
    std::function<void()> on_links_changed;  ///< the ready count may have changed
    std::function<void(const core::Error&)> on_fatal;
    std::function<void()> on_all_closed;  ///< stopping, and the last link is gone
  };

  LinkPool(const SocketModeSettings& settings, core::Scheduler& scheduler, Connector& connector,
           ConnectionOpener& opener, core::RandomSource& random, const core::LoggerPtr& logger,
           StatsCounters& stats, Lifeline life, Hooks hooks);

  /// Starts every slot connecting.
  void start();
  void on_hello(Link& link, const Hello& hello);
  void on_disconnect(Link& link, const Disconnect& disconnect);
  /// Drops a link at once (TCP cut): `reason` becomes its reconnect reason.
  void drop(Link& link, const std::string& reason);
  /// Stops reconnecting and closes every link with a close frame. Idempotent.
  void begin_stopping();
  /// Cuts every link still open (a close handshake that takes too long).
  void abort_all();
  /// Gives up for good: closes every link, reports on_fatal. Idempotent.
  void fail(const core::Error& error);
  /// Forgets every link (the scheduler will never run again). Not from a task.
  void clear();

  Link* find(std::uint64_t id);
  /// Where an ack goes: `preferred` when usable, else any ready link (not a
  /// draining one when another will do); nullptr when none.
  Link* ack_target(std::uint64_t preferred);
  std::map<std::uint64_t, Link>& links() { return links_; }
  int ready_count() const;
  bool stopping() const { return stopping_; }
  bool fatal() const { return fatal_; }
  bool empty() const { return links_.empty(); }

 private:
  struct Slot {
    std::uint64_t active = 0;       ///< the connection serving this slot (0: none)
    std::uint64_t replacement = 0;  ///< a new connection opened before closing `active`
    bool pending = false;           ///< a connect is scheduled or its URL is being fetched
    int failures = 0;               ///< in a row, reset once a link stays up (stable_after())
    std::string last_failure;
    core::Timer timer;
  };

  void schedule_connect(std::size_t slot, std::chrono::milliseconds delay);
  void on_url(std::size_t slot, const OpenOutcome& outcome);
  void open_link(std::size_t slot, const std::string& ticket_url);
  void on_open(std::uint64_t id);
  void on_closed(std::uint64_t id, int code, const std::string& why);
  void on_stable(std::uint64_t id);
  void note_failure(std::size_t slot, const std::string& reason);
  std::chrono::milliseconds backoff(const Slot& slot);
  std::chrono::milliseconds stable_after() const;
  std::chrono::milliseconds drain_grace() const;
  void cancel_timers();
  static void cancel(core::Timer& timer);

  const SocketModeSettings& settings_;
  core::Scheduler& scheduler_;
  Connector& connector_;
  ConnectionOpener& opener_;
  core::RandomSource& random_;
  core::LoggerPtr logger_;
  StatsCounters& stats_;
  Lifeline life_;
  Hooks hooks_;

  std::map<std::uint64_t, Link> links_;
  std::vector<Slot> slots_;
  std::uint64_t next_link_id_ = 0;
  bool stopping_ = false;
  bool fatal_ = false;
};

}  // namespace slack::detail
