#pragma once

// The seam between the Socket Mode logic (C++20) and websocketpp/Asio, which
// live only in socket_transport.cpp (compiled as C++17; design §1). Nothing
// here names a websocketpp or Asio type.
//
// Threading: one io thread runs everything. Every callback below runs on it
// and never inline from the call that caused it (connect() failures are
// posted too). post() and after() may be called from any thread; the
// Connection methods only from the io thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace slack::detail {

/// Callbacks of one WebSocket connection (io thread, never inline).
struct ConnectionCallbacks {
  /// The WebSocket handshake completed (not "ready": that is the hello).
  std::function<void()> on_open;
  /// A complete message; `text` false for a binary message.
  std::function<void(std::string payload, bool text)> on_message;
  /// A pong arrived (for our ping).
  std::function<void(std::string payload)> on_pong;
  /// A server ping arrived; the transport already answers it with its payload.
  std::function<void()> on_ping;
  /// The connection closed after on_open: `code` the close code (1006 when the
  /// TCP connection just went away), `why` a short description for the log.
  std::function<void(int code, std::string why)> on_close;
  /// The connection never opened (DNS, TCP, TLS, HTTP upgrade): `why` for the
  /// log (never holds the URL's query).
  std::function<void(std::string why)> on_fail;
};

/// One WebSocket connection. Methods: io thread only.
class Connection {
 public:
  virtual ~Connection() = default;
  /// Queues one unfragmented text frame. websocketpp keeps one write in
  /// flight per socket and writes queued frames in order.
  virtual void send_text(std::string payload) = 0;
  /// Bytes queued for writing and not yet handed to the socket.
  virtual std::size_t queued_bytes() const = 0;
  virtual void ping(std::string payload) = 0;
  /// Starts the close handshake with a close frame; it is cut (TCP closed)
  /// when the peer has not finished it within `timeout`.
  virtual void close(int code, std::string reason, std::chrono::milliseconds timeout) = 0;
  /// Drops the TCP connection at once (a dead link); on_close/on_fail follow.
  virtual void abort() = 0;
};

/// A cancellable one-shot timer.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  /// The callback will not run (if it has not yet). io thread only.
  virtual void cancel() = 0;
};

/// The io thread, its timers and the TLS WebSocket client.
class IoLoop {
 public:
  virtual ~IoLoop() = default;
  /// Starts the io thread.
  virtual void start() = 0;
  /// Stops the io thread (pending handlers are dropped) and joins it.
  /// Idempotent. Not from the io thread.
  virtual void stop_and_join() = 0;
  /// Runs `fn` on the io thread soon. Any thread.
  virtual void post(std::function<void()> fn) = 0;
  /// Runs `fn` on the io thread after `delay`. Any thread.
  virtual std::shared_ptr<TimerHandle> after(std::chrono::milliseconds delay,
                                             std::function<void()> fn) = 0;
  /// True on the io thread.
  virtual bool on_io_thread() const = 0;
  /// Opens a wss:// connection, TLS verified (peer and host name, SNI set)
  /// against `ca_file` (empty: the system's default paths). io thread only.
  /// `max_message_bytes`: larger messages fail the connection (keep it well
  /// above what the caller will skip itself).
  virtual std::shared_ptr<Connection> connect(const std::string& url, const std::string& ca_file,
                                              std::size_t max_message_bytes,
                                              std::chrono::milliseconds open_timeout,
                                              ConnectionCallbacks callbacks) = 0;
};

std::unique_ptr<IoLoop> make_io_loop();

/// `url` without its query string (the wss ticket): safe to log.
std::string redact_url(const std::string& url);

}  // namespace slack::detail
