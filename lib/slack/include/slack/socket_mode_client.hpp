#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <functional>

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/scheduler.hpp"
#include "slack/connection_opener.hpp"
#include "slack/connector.hpp"
#include "slack/envelope.hpp"

namespace slack {

struct SocketModeSettings {
  std::string app_token;                           ///< xapp-…
  std::string api_url = "https://slack.com/api/";  ///< SLACK_API_URL (ends with '/')
  std::string ca_file;                             ///< SSL_CERT_FILE; empty = system store
  /// INFRA_SOCKET_CONNECTIONS; the client clamps it to 1..4 (Slack allows 10
  /// per app, and a rolling deploy runs two processes at once).
  int connections = 2;
  std::chrono::milliseconds ping_interval{5000};
  std::chrono::milliseconds pong_timeout{20000};   ///< dead without a pong for this long
  std::chrono::milliseconds idle_timeout{60000};   ///< dead without any frame for this long
  std::chrono::milliseconds close_timeout{1000};   ///< a close handshake that hangs is cut
  std::chrono::milliseconds hello_timeout{10000};  ///< opened but no hello: dropped ("no_hello")
  std::chrono::milliseconds backoff_base{1000};    ///< reconnect: full jitter, doubling
  std::chrono::milliseconds backoff_cap{30000};
  std::chrono::minutes dedupe_window{10};
  std::size_t max_frame_bytes = 1 << 20;
  bool debug_reconnects = false;  ///< appends debug_reconnects=true to the URL
};

enum class ConnectionState { connecting, ready, reconnecting, stopped, failed };

/// Counters for /metrics (a snapshot).
struct SocketModeStats {
  std::map<std::string, std::uint64_t> envelopes_by_type;
  std::uint64_t acks_sent = 0;
  std::uint64_t acks_refused = 0;  ///< over Slack's 20 KB limit
  std::uint64_t duplicates_dropped = 0;
  std::uint64_t malformed_frames = 0;
  std::map<std::string, std::uint64_t> reconnects_by_reason;
  int ready_connections = 0;
};

/// The most connections the client opens (SocketModeSettings::connections is
/// clamped to 1..this).
inline constexpr int kMaxSocketModeConnections = 4;

/// A Slack Socket Mode client (design §5): several WebSocket connections at
/// once, each opened with a fresh apps.connections.open; every envelope is
/// handed to the listener once (deduplicated across connections and
/// retries); reconnects with backoff and jitter; keep-alive pings; no gap on
/// refresh_requested.
///
/// All its work runs as tasks on one core::Scheduler: the io thread of an
/// AsioTransport in the service, a core::ManualScheduler in tests. Every time
/// it reads is the scheduler's now(); every random draw is the RandomSource's.
///
/// @par Thread safety
/// start(), stop(), ack(), ready() and stats() from any thread. Listener
/// callbacks and ack's on_written run on the scheduler's thread. With an
/// external scheduler, destroy the client on the scheduler's thread or once
/// the scheduler no longer runs tasks.
class SocketModeClient {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    /// An envelope to handle, once. Called on the scheduler thread: return
    /// quickly (parse, decide, ack(), hand slow work to another thread).
    virtual void on_envelope(const Envelope& envelope) = 0;
    /// Connection state changes (scheduler thread).
    virtual void on_state(ConnectionState state) { (void)state; }
    /// An error reconnecting cannot fix (invalid_auth, link_disabled…): the
    /// client has stopped trying. Scheduler thread.
    virtual void on_fatal(const core::Error& error) { (void)error; }
  };

  /// Runs on `scheduler`, connects through `connector`, asks `opener` for
  /// each WebSocket URL and draws backoff jitter from `random`. All five must
  /// outlive the client; `connector` must be the scheduler's (its callbacks
  /// run there).
  ///
  /// Example (a test):
  ///   core::ManualScheduler scheduler;
  ///   test::FakeConnector connector(scheduler);
  ///   test::FakeOpener opener(scheduler);
  ///   core::FixedRandom random({0.5});
  ///   slack::SocketModeClient client(settings, scheduler, connector, opener, random,
  ///                                  listener, logger);
  ///   client.start();
  ///   scheduler.run_ready();
  SocketModeClient(SocketModeSettings settings, core::Scheduler& scheduler, Connector& connector,
                   ConnectionOpener& opener, core::RandomSource& random, Listener& listener,
                   core::LoggerPtr logger);
  /// The convenience form: the client owns an AsioTransport (its io thread),
  /// an HTTP opener on `http` and a SystemRandom. `http` and `listener` must
  /// outlive the client.
  SocketModeClient(SocketModeSettings settings, core::http::Client& http, Listener& listener,
                   core::LoggerPtr logger);
  ~SocketModeClient();  ///< stop()
  SocketModeClient(const SocketModeClient&) = delete;
  SocketModeClient& operator=(const SocketModeClient&) = delete;

  /// Starts the connections (and the io thread, when the client owns it);
  /// returns at once.
  void start();
  /// Stops taking envelopes and closes every socket with a close frame (cut
  /// after close_timeout). Idempotent. When the client owns its io thread:
  /// from another thread, waits for the sockets to close and joins the
  /// thread; from the io thread (a listener), closes and returns (the join is
  /// left to a later stop() or the destructor). On an external scheduler:
  /// never blocks; the closing runs as scheduler tasks.
  void stop();
  /// stop(), and `on_stopped` runs on the scheduler thread once every socket
  /// has closed (or was cut after close_timeout + 1.5 s). It never runs when
  /// the client's own io thread is joined first.
  void stop(std::function<void()> on_stopped);

  /// Acks an envelope, from any thread: sent on its connection ahead of other
  /// queued writes, as one text frame. An ack of 20 KB or more is refused
  /// (Slack drops it silently): returns an invalid_input Error and logs it.
  /// `on_written` runs on the scheduler thread once the frame was handed to a
  /// connection; when no connection can take it, the ack is kept and
  /// `on_written` runs when a redelivery of the envelope carries it out, or
  /// never (the envelope's ack was forgotten, or never redelivered).
  core::Status ack(const std::string& envelope_id,
                   std::optional<std::string> payload_json = std::nullopt,
                   std::function<void()> on_written = {});

  /// At least one connection has received its hello.
  bool ready() const;
  SocketModeStats stats() const;
  /// The scheduler the client runs on (its own io thread in the convenience
  /// form), so that other parts of the service can share it.
  core::Scheduler& scheduler();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slack
