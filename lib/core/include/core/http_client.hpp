#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace core::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;  ///< absolute http:// or https:// URL, path and query already encoded
  Headers headers;  ///< sent as given; the client adds only Host and Content-Length
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};  ///< whole exchange, body included
};

struct Response {
  long status = 0;
  Headers headers;  ///< in arrival order, names as sent by the server
  std::string body;

  /// First header with this name, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// An HTTP/1.1 client. A returned Response is any HTTP status (4xx/5xx included).
/// A transport failure is an Error whose code says whether the server may
/// have seen the request:
///   unavailable   — nothing was sent (DNS, connect, TLS handshake failed or timed out):
///                   always safe to retry;
///   indeterminate — the request was (possibly partly) sent and no complete
///                   response came back (read timeout, connection reset): the
///                   server may have acted on it.
/// `detail` names the cause for the log; it never holds header values.
/// Implementations are thread-safe, and a slow exchange never blocks others.
class Client {
 public:
  virtual ~Client() = default;
  virtual Result<Response> send(const Request& request) = 0;
};

struct CurlSettings {
  std::string ca_file;  ///< SSL_CERT_FILE; empty = the system store
  std::size_t max_response_bytes = 16 * 1024 * 1024;
};

/// libcurl, HTTP/1.1, TLS verified (peer and host). Connections are kept
/// alive and reused across calls; each call runs on the caller's thread.
/// libcurl defaults that would change the request are switched off: no
/// implicit Content-Type on POST, no `Expect: 100-continue`, no redirects.
std::unique_ptr<Client> make_curl_client(CurlSettings settings);

}  // namespace core::http
