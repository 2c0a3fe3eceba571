#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/log.hpp"
#include "core/result.hpp"

namespace core {

/// One answer of the status server.
struct StatusResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct StatusServerSettings {
  std::string address = "0.0.0.0";  ///< INFRA_HEALTH_ADDRESS; tests use 127.0.0.1
  std::uint16_t port = 8080;        ///< 0: the OS picks one (see port())
  int max_connections = 64;         ///< more are closed at once
};

/// A small HTTP/1.1 server (Boost.Beast) for /healthz, /readyz and /metrics:
/// GET and HEAD only (others → 405), the request target's path (query
/// stripped) goes to the handler, keep-alive, a 5 s read timeout and an 8 KiB
/// header limit. Runs its own io thread; the handler is called there and must
/// be quick and thread-safe.
class StatusServer {
 public:
  using Handler = std::function<StatusResponse(std::string_view path)>;

  StatusServer(StatusServerSettings settings, Handler handler, LoggerPtr logger);
  ~StatusServer();  ///< stop()
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  /// Binds and starts serving; an error (code unavailable) names the address
  /// and port and why (e.g. "address already in use"). An address that is not
  /// an IP literal, or max_connections < 1, is a config error; start() on a
  /// running server is a conflict. A stopped server may be started again.
  Status start();
  /// The bound port (after start()).
  std::uint16_t port() const;
  /// Closes the listener and every connection, joins the io thread. Idempotent.
  /// Not from the handler (it runs on the io thread that stop() joins).
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace core
