#pragma once

// apps.connections.open as a seam: the service asks Slack over HTTPS, off the
// io thread; tests answer as the test says.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/http_client.hpp"
#include "core/scheduler.hpp"

namespace slack {

/// What one apps.connections.open call came to.
struct OpenOutcome {
  enum class Kind {
    success,  ///< `url` is a fresh wss:// URL (its ticket is good for one connect)
    retry,    ///< try again after a backoff (at least `retry_after` when set)
    fatal,    ///< retrying cannot fix it (invalid_auth…): give up
  };
  Kind kind = Kind::retry;
  std::string url;
  std::string reason;  ///< retry / fatal: for the log and the user (no secrets)
  std::optional<std::chrono::milliseconds> retry_after;
};

/// Asks Slack for a WebSocket URL.
class ConnectionOpener {
 public:
  virtual ~ConnectionOpener() = default;
  /// Starts one call; `done` runs once with its outcome, on the scheduler's
  /// thread, never inline. Called on the scheduler thread.
  virtual void open(std::function<void(OpenOutcome)> done) = 0;
  /// Calls not yet answered will not be: their `done` is dropped. Idempotent.
  /// Any thread.
  virtual void cancel_all() = 0;
};

struct HttpOpenerSettings {
  std::string app_token;                           ///< xapp-…, sent as a Bearer header
  std::string api_url = "https://slack.com/api/";  ///< ends with '/'
};

/// The production opener: POSTs apps.connections.open through `http` on a
/// thread of its own (the call may take seconds) and posts each outcome to
/// `scheduler`. The destructor cancels and joins that thread (waiting for a
/// call in flight, bounded by its 10 s timeout). `http` and `scheduler` must
/// outlive it.
std::unique_ptr<ConnectionOpener> make_http_connection_opener(HttpOpenerSettings settings,
                                                              core::http::Client& http,
                                                              core::Scheduler& scheduler);

/// How an apps.connections.open response reads (pure; for tests and the
/// opener): ok with a wss:// url → success; invalid_auth and the other token
/// errors → fatal; HTTP 429 or `ratelimited` → retry after Retry-After (30 s
/// when absent, 300 s at most); anything else → retry.
OpenOutcome read_connections_open_response(const core::http::Response& response);

}  // namespace slack
