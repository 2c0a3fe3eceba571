#pragma once

// The seam between Socket Mode logic and the WebSocket implementation: the
// service connects through slack::AsioTransport (websocketpp/Asio, hidden in
// socket_transport.cpp), tests through an in-process fake. Kept C++17: the
// websocketpp translation unit implements it. Nothing here names a
// websocketpp or Asio type.
//
// Threading: a Connector belongs to one core::Scheduler (the Asio transport is
// both). connect() and the Connection methods are called on that scheduler's
// thread; every callback runs there too, and never inline from the call that
// caused it (a connect() that fails at once reports on_fail later).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace slack {

/// Callbacks of one WebSocket connection (scheduler thread, never inline).
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
  /// log (never holds the URL's query). Exactly one of on_close and on_fail
  /// ends every connection.
  std::function<void(std::string why)> on_fail;
};

/// One WebSocket connection. Methods: scheduler thread only.
class Connection {
 public:
  virtual ~Connection() = default;
  /// Hands one unfragmented text frame to the socket (written in order, one
  /// write in flight). A frame sent on a closing connection is dropped. The
  /// text is copied into the frame: the caller keeps its own.
  virtual void send_text(std::string_view payload) = 0;
  /// Bytes queued for writing and not yet handed to the socket.
  virtual std::size_t queued_bytes() const = 0;
  virtual void ping(std::string payload) = 0;
  /// Starts the close handshake with a close frame; it is cut (TCP closed)
  /// when the peer has not finished it within `timeout`.
  virtual void close(int code, std::string reason, std::chrono::milliseconds timeout) = 0;
  /// Drops the TCP connection at once (a dead link); on_close/on_fail follow.
  virtual void abort() = 0;
};
using ConnectionPtr = std::shared_ptr<Connection>;

struct ConnectOptions {
  /// PEM bundle to verify the server against (SSL_CERT_FILE); empty: the
  /// system's default paths.
  std::string ca_file;
  /// Larger messages fail the connection (keep it well above what the caller
  /// skips itself).
  std::size_t max_message_bytes = std::size_t{16} << 20;
  /// TCP + TLS + HTTP upgrade must complete within this.
  std::chrono::milliseconds open_timeout{10000};
};

/// Opens WebSocket connections.
class Connector {
 public:
  virtual ~Connector() = default;
  /// Opens a wss:// connection (TLS verified: peer and host name, SNI set).
  /// Scheduler thread only. Returns the connection at once (its callbacks
  /// report how it goes), or nullptr when it cannot even start (a bad URL),
  /// in which case on_fail follows (not inline).
  virtual ConnectionPtr connect(const std::string& url, const ConnectOptions& options,
                                ConnectionCallbacks callbacks) = 0;
};

/// `url` without its query string (the wss ticket): safe to log.
std::string redact_url(const std::string& url);

}  // namespace slack
