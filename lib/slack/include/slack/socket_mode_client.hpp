#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "slack/envelope.hpp"

namespace slack {

struct SocketModeSettings {
  std::string app_token;                           ///< xapp-…
  std::string api_url = "https://slack.com/api/";  ///< SLACK_API_URL (ends with '/')
  std::string ca_file;                             ///< SSL_CERT_FILE; empty = system store
  int connections = 2;                             ///< INFRA_SOCKET_CONNECTIONS, 1..10
  std::chrono::milliseconds ping_interval{5000};
  std::chrono::milliseconds pong_timeout{20000};  ///< dead without a pong for this long
  std::chrono::milliseconds idle_timeout{60000};  ///< dead without any frame for this long
  std::chrono::milliseconds close_timeout{1000};  ///< a close handshake that hangs is cut
  std::chrono::milliseconds backoff_base{1000};   ///< reconnect: full jitter, doubling
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

/// A Slack Socket Mode client (design §5): several WebSocket connections at
/// once, each opened with a fresh apps.connections.open; every envelope is
/// handed to the listener once (deduplicated across connections and
/// retries); reconnects with backoff and jitter; keep-alive pings; no gap on
/// refresh_requested. All socket work happens on one internal io thread.
class SocketModeClient {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    /// An envelope to handle, once. Called on the io thread: return quickly
    /// (parse, decide, ack(), hand slow work to another thread).
    virtual void on_envelope(const Envelope& envelope) = 0;
    /// Connection state changes (io thread).
    virtual void on_state(ConnectionState state) { (void)state; }
    /// An error reconnecting cannot fix (invalid_auth, link_disabled…): the
    /// client has stopped trying. Io thread.
    virtual void on_fatal(const core::Error& error) { (void)error; }
  };

  /// `http` (for apps.connections.open) and `listener` must outlive the client.
  SocketModeClient(SocketModeSettings settings, core::http::Client& http, Listener& listener,
                   core::LoggerPtr logger);
  ~SocketModeClient();  ///< stop()
  SocketModeClient(const SocketModeClient&) = delete;
  SocketModeClient& operator=(const SocketModeClient&) = delete;

  /// Starts the io thread and the connections; returns at once.
  void start();
  /// Stops taking envelopes, closes every socket with a close frame (cut
  /// after close_timeout), joins the io thread. Idempotent.
  void stop();

  /// Acks an envelope, from any thread: sent on its connection ahead of other
  /// queued writes, as one text frame. An ack of 20 KB or more is refused
  /// (Slack drops it silently): returns an invalid_input Error and logs it.
  core::Status ack(const std::string& envelope_id,
                   std::optional<std::string> payload_json = std::nullopt);

  /// At least one connection has received its hello.
  bool ready() const;
  SocketModeStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slack
