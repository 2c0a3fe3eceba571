// core::http::Client on libcurl (easy interface, one blocking perform per call on the
// caller's thread).
//
// Choices, and why:
// - A pool of easy handles. Each call checks one out, so calls never wait for each other
//   (no lock is held around curl_easy_perform); each handle keeps its own connection
//   cache, so sequential calls reuse the kept-alive connection. A CURLSH shares the DNS
//   cache between handles.
// - Nothing is added to the request that the caller did not ask for, except Host,
//   Content-Length and a default `User-Agent: infra-bot`: curl's `Accept: */*`,
//   `Expect: 100-continue` (bodies > 1 MB) and the form `Content-Type` on POST are
//   suppressed. None of them is needed by Slack or AWS, and a header that appears
//   behind a signer's back is at best noise and at worst signed by a future signer
//   that lists every header (shared/notes/aws.md §3.1, §7 item 4).
// - No proxy, not even from http_proxy/https_proxy/ALL_PROXY: the service talks to Slack and
//   AWS endpoints directly, and honouring a proxy correctly (CONNECT, NO_PROXY, proxy
//   TLS) is not worth carrying until someone needs it.
// - No redirects; HTTP/1.1 only; TLS >= 1.2 with peer and host verification. When
//   CurlSettings::ca_file is set it is the only trust store (CAINFO, CAPATH off), like
//   AWS_CA_BUNDLE in the SDKs.
// - curl re-sends a request by itself when a reused connection dies before any response
//   byte arrived ("Connection died, retrying a fresh connect"), even after the whole
//   request went out. For a Lambda invoke that is a second teardown. The open-socket
//   callback refuses any new connection once this transfer has sent request bytes, so
//   such a call ends as `indeterminate` and the caller decides.
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/socket.h>

#include "core/http_client.hpp"

namespace core::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

// RFC 9110 token characters: method and header names.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}

bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

// curl_global_init is not thread-safe before 7.84 and must run before any other curl
// call; a function-local static makes it once-only. It is never undone: the process
// keeps curl for its whole life.
bool curl_ready() {
  static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ready;
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct ShareDeleter {
  void operator()(CURLSH* share) const { curl_share_cleanup(share); }
};
using SharePtr = std::unique_ptr<CURLSH, ShareDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

constexpr auto kLockSlots = static_cast<std::size_t>(CURL_LOCK_DATA_LAST);
using ShareLocks = std::array<std::mutex, kLockSlots>;

void share_lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  (*static_cast<ShareLocks*>(user))[static_cast<std::size_t>(data) % kLockSlots].lock();
}
void share_unlock(CURL*, curl_lock_data data, void* user) {
  (*static_cast<ShareLocks*>(user))[static_cast<std::size_t>(data) % kLockSlots].unlock();
}

// Where a request goes, for error details: scheme, host and port only. The path and
// query stay out of logs (a Slack response_url carries a secret in its path).
struct Target {
  std::string scheme;
  std::string host;
  std::string port;
  std::string where() const { return host + ":" + port; }
};

std::string url_part(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return {};
  std::string copy(text);
  curl_free(text);
  return copy;
}

// State of one call, reached from curl's callbacks.
struct Transfer {
  CURL* handle = nullptr;
  Response response;
  std::size_t max_body = 0;
  bool body_too_big = false;
  bool callback_failed = false;  // an exception (allocation) inside a callback
  bool resend_refused = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string& body = t.response.body;
  if (n > t.max_body - std::min(t.max_body, body.size())) {
    t.body_too_big = true;
    return 0;  // != n: curl stops with CURLE_WRITE_ERROR
  }
  try {
    if (body.empty()) {
      curl_off_t length = -1;
      if (curl_easy_getinfo(t.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
          length > 0) {
        body.reserve(std::min(static_cast<std::size_t>(length), t.max_body));
      }
    }
    body.append(data, n);
  } catch (...) {
    t.callback_failed = true;
    return 0;
  }
  return n;
}

// Called once per header line, CRLF included, for every response head (1xx heads too).
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  try {
    Headers& headers = t.response.headers;
    if (line.rfind("HTTP/", 0) == 0) {
      headers.clear();  // a new head (after 100 Continue, say): keep only the final one
    } else if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      // Obsolete line folding (RFC 9112 §5.2): continues the previous value.
      if (!headers.empty() && !trim(line).empty()) {
        headers.back().second += ' ';
        headers.back().second += trim(line);
      }
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      headers.emplace_back(std::string(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
    }
  } catch (...) {
    t.callback_failed = true;
    return 0;
  }
  return n;
}

// curl opens a socket for every connection attempt. Once this transfer has sent request
// bytes (or got as far as sending), a new connection can only be curl's silent re-send
// after a reused connection died: refuse it (see the file comment).
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto& t = *static_cast<Transfer*>(user);
  long request_bytes = 0;
  curl_off_t pretransfer_us = 0;
  curl_easy_getinfo(t.handle, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_easy_getinfo(t.handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  if (request_bytes > 0 || pretransfer_us > 0) {
    t.resend_refused = true;
    return CURL_SOCKET_BAD;
  }
  // CLOEXEC: the bot's children (tests' fakes, say) must not inherit connections.
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string curl_message(CURLcode code, const char* error_buffer) {
  if (error_buffer != nullptr && error_buffer[0] != '\0') return error_buffer;
  return curl_easy_strerror(code);
}

std::string os_error(long os_errno) {
  return std::system_category().message(static_cast<int>(os_errno));
}

bool is_tls_failure(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

constexpr std::string_view kUnreachable = "Could not reach the remote service.";
constexpr std::string_view kIndeterminate =
    "The remote service did not answer completely; the request may have been carried out.";
constexpr std::string_view kNotSent = "The request could not be sent.";

Error invalid(std::string detail) {
  return make_error(ErrorCode::invalid_input, std::string(kNotSent), std::move(detail));
}

// Maps a failed perform to an Error: `unavailable` when no request byte can have left,
// `indeterminate` otherwise. "Can have left" = the transfer reached the sending stage
// (pretransfer time set) or counted request bytes, or curl tried to re-send.
Error classify(CURLcode code, const Transfer& t, const char* error_buffer, const Target& target,
               const Request& request) {
  CURL* h = t.handle;
  long request_bytes = 0;
  long header_bytes = 0;
  long os_errno = 0;
  long new_connections = 0;
  curl_off_t pretransfer_us = 0;
  curl_off_t connect_us = 0;
  curl_off_t body_bytes = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &header_bytes);
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_connections);
  curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &body_bytes);

  const bool sent = t.resend_refused || request_bytes > 0 || pretransfer_us > 0;
  const std::string where = target.where();
  const std::string message = curl_message(code, error_buffer);
  const auto connect_ms = std::min(request.connect_timeout, request.total_timeout).count();
  const auto total_ms = request.total_timeout.count();
  std::string detail;

  if (t.body_too_big || code == CURLE_FILESIZE_EXCEEDED) {
    detail = "response body from " + where + " exceeds max_response_bytes (" +
             std::to_string(t.max_body) + "); the request was sent and may have been acted on";
  } else if (t.callback_failed) {
    return make_error(ErrorCode::internal, std::string(kIndeterminate),
                      "out of memory while receiving the response from " + where);
  } else if (t.resend_refused) {
    detail = "connection to " + where +
             " closed before any response arrived, after the request was sent "
             "(curl's automatic re-send on a fresh connection was refused)";
  } else if (code == CURLE_COULDNT_RESOLVE_HOST) {
    detail = "could not resolve host " + target.host + ": " + message;
  } else if (code == CURLE_COULDNT_CONNECT) {
    detail = os_errno == ECONNREFUSED ? "connect to " + where + " refused"
             : os_errno != 0          ? "connect to " + where + " failed: " + os_error(os_errno)
                                      : "connect to " + where + " failed: " + message;
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    if (!sent) {
      // curl 7.88 leaves CONNECT_TIME at 0 until the TLS handshake is done too, but it
      // counts the TCP connection as soon as it is up.
      const bool tcp_up = connect_us > 0 || new_connections > 0;
      detail = tcp_up && target.scheme == "https"
                   ? "timed out after " + std::to_string(connect_ms) +
                         " ms in the TLS handshake with " + where
                   : "timed out after " + std::to_string(connect_ms) + " ms connecting to " + where;
    } else if (header_bytes == 0 && body_bytes == 0) {
      detail = "timed out after " + std::to_string(total_ms) +
               " ms waiting for the response from " + where;
    } else {
      detail = "timed out after " + std::to_string(total_ms) + " ms reading the response from " +
               where + " (" + std::to_string(header_bytes + body_bytes) + " bytes received)";
    }
  } else if (is_tls_failure(code)) {
    detail = "TLS with " + where + " failed: " + message;
  } else if (code == CURLE_SSL_CACERT_BADFILE) {
    return make_error(ErrorCode::config, std::string(kUnreachable),
                      "TLS: cannot use the CA file (SSL_CERT_FILE): " + message);
  } else if (code == CURLE_GOT_NOTHING) {
    detail = "connection to " + where + " closed before any response arrived (request sent)";
  } else if (code == CURLE_PARTIAL_FILE) {
    detail = "response from " + where + " cut short: " + message;
  } else if (code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR) {
    detail = "connection to " + where + " failed " +
             (sent ? "after the request was sent: " : "before the request was sent: ") + message;
  } else {
    detail = std::string(curl_easy_strerror(code)) + " talking to " + where + ": " + message;
  }

  const bool indeterminate = sent || t.body_too_big || code == CURLE_FILESIZE_EXCEEDED;
  return indeterminate
             ? make_error(ErrorCode::indeterminate, std::string(kIndeterminate), std::move(detail))
             : make_error(ErrorCode::unavailable, std::string(kUnreachable), std::move(detail));
}

// Belt and braces for "detail never holds header values": curl's messages do not quote
// request headers, but if one ever did, the value is cut out here.
std::string scrub(std::string detail, const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (value.size() < 8 || iequals(name, "Host")) continue;
    for (auto at = detail.find(value); at != std::string::npos; at = detail.find(value, at)) {
      detail.replace(at, value.size(), "[header value]");
    }
  }
  return detail;
}

template <class T>
void set(CURL* handle, CURLoption option, T value) {
  // Setting a documented option with the right type does not fail short of
  // CURLE_OUT_OF_MEMORY on strings, which perform() then reports.
  (void)curl_easy_setopt(handle, option, value);
}

class CurlClient final : public Client {
 public:
  explicit CurlClient(CurlSettings settings) : settings_(std::move(settings)) {
    if (!curl_ready()) return;
    share_.reset(curl_share_init());
    if (share_) {
      curl_share_setopt(share_.get(), CURLSHOPT_LOCKFUNC, share_lock);
      curl_share_setopt(share_.get(), CURLSHOPT_UNLOCKFUNC, share_unlock);
      curl_share_setopt(share_.get(), CURLSHOPT_USERDATA, &share_locks_);
      // DNS only. TLS sessions stay per handle (each handle resumes its own): sharing
      // them hands one SSL_SESSION to handshakes on several threads at once, which
      // ThreadSanitizer flags inside libcrypto, for little gain over kept-alive
      // connections.
      curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
  }

  ~CurlClient() override {
    // Handles first: a share cannot be cleaned up while handles still use it.
    idle_.clear();
    share_.reset();
  }

  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  // Client
  Result<Response> send(const Request& request) override;

 private:
  EasyPtr checkout();
  void checkin(EasyPtr handle);

  // Idle handles kept; more may exist while many calls run at once.
  static constexpr std::size_t kMaxIdle = 16;

  CurlSettings settings_;
  ShareLocks share_locks_;  // before share_: outlives it
  SharePtr share_;
  std::mutex pool_mutex_;
  std::vector<EasyPtr> idle_;
};

EasyPtr CurlClient::checkout() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      EasyPtr handle = std::move(idle_.back());  // most recent first: its connection is warm
      idle_.pop_back();
      curl_easy_reset(handle.get());  // options back to defaults; connections stay
      return handle;
    }
  }
  EasyPtr handle(curl_easy_init());
  if (handle && share_) set(handle.get(), CURLOPT_SHARE, share_.get());  // kept by reset
  return handle;
}

void CurlClient::checkin(EasyPtr handle) {
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(handle));
}

Result<Response> CurlClient::send(const Request& request) {
  // Validate before anything can leave: each failure here is the caller's bug.
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return make_error(ErrorCode::internal, std::string(kNotSent), "curl_url() failed");
  if (const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, request.url.c_str(), 0);
      rc != CURLUE_OK) {
    return invalid(std::string("malformed URL: ") + curl_url_strerror(rc));
  }
  Target target{url_part(url.get(), CURLUPART_SCHEME), url_part(url.get(), CURLUPART_HOST),
                url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT)};
  if (target.scheme != "http" && target.scheme != "https") {
    return invalid("unsupported URL scheme '" + target.scheme + "' (http or https only)");
  }
  if (!is_token(request.method)) return invalid("malformed HTTP method");
  if (request.connect_timeout.count() <= 0 || request.total_timeout.count() <= 0) {
    return invalid("connect_timeout and total_timeout must be positive");
  }

  std::vector<std::string> lines;
  lines.reserve(request.headers.size() + 4);
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    const std::string which = "header #" + std::to_string(i + 1);
    if (!is_token(name)) return invalid(which + ": malformed name");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return invalid(which + " (" + name + "): value contains CR, LF or NUL");
    }
    if (iequals(name, "Transfer-Encoding")) {
      return invalid(which + " (Transfer-Encoding): the body is always sent with a length");
    }
    if (iequals(name, "Content-Length") && trim(value) != std::to_string(request.body.size())) {
      return invalid(which + " (Content-Length): does not match the body size");
    }
    // curl syntax: "Name:" deletes a header, "Name;" sends it with an empty value.
    lines.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  // Headers curl would add by itself, switched off unless the caller set them.
  if (!has_header(request.headers, "Accept")) lines.emplace_back("Accept:");
  if (!has_header(request.headers, "Expect")) lines.emplace_back("Expect:");
  if (!has_header(request.headers, "Content-Type")) lines.emplace_back("Content-Type:");

  SlistPtr header_list;
  for (const auto& line : lines) {
    curl_slist* grown = curl_slist_append(header_list.get(), line.c_str());
    if (grown == nullptr) {
      return make_error(ErrorCode::internal, std::string(kNotSent), "out of memory (headers)");
    }
    (void)header_list.release();
    header_list.reset(grown);
  }

  EasyPtr handle = checkout();
  if (!handle) {
    return make_error(ErrorCode::internal, std::string(kNotSent), "curl_easy_init failed");
  }
  CURL* h = handle.get();
  Transfer transfer;
  transfer.handle = h;
  transfer.max_body = settings_.max_response_bytes;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  set(h, CURLOPT_CURLU, url.get());
  set(h, CURLOPT_PROTOCOLS_STR, "http,https");
  set(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(h, CURLOPT_FOLLOWLOCATION, 0L);
  set(h, CURLOPT_PROXY, "");  // "" = no proxy, environment variables included
  set(h, CURLOPT_NOPROXY, "*");
  set(h, CURLOPT_NOSIGNAL, 1L);
  set(h, CURLOPT_SSL_VERIFYPEER, 1L);
  set(h, CURLOPT_SSL_VERIFYHOST, 2L);
  set(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!settings_.ca_file.empty()) {
    set(h, CURLOPT_CAINFO, settings_.ca_file.c_str());
    set(h, CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  }
  set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  // Long synchronous invokes (up to 15 min) sit idle on the socket: TCP keep-alive keeps
  // NAT gateways (350 s idle limit on AWS) from dropping them.
  set(h, CURLOPT_TCP_KEEPALIVE, 1L);
  set(h, CURLOPT_TCP_KEEPIDLE, 30L);
  set(h, CURLOPT_TCP_KEEPINTVL, 15L);
  // Do not reuse a connection idle for longer than this: load balancers close idle
  // connections at about 60 s, and a request racing that close ends as indeterminate.
  set(h, CURLOPT_MAXAGE_CONN, 50L);
  if (!has_header(request.headers, "User-Agent")) set(h, CURLOPT_USERAGENT, "infra-bot");
  set(h, CURLOPT_HTTPHEADER, header_list.get());

  const bool with_body = !request.body.empty() || request.method == "POST" ||
                         request.method == "PUT" || request.method == "PATCH";
  if (with_body) {
    set(h, CURLOPT_POST, 1L);
    set(h, CURLOPT_POSTFIELDS, request.body.data());
    set(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "HEAD") {
    set(h, CURLOPT_NOBODY, 1L);
  } else {
    set(h, CURLOPT_HTTPGET, 1L);
    if (request.method != "GET") set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(settings_.max_response_bytes));
  set(h, CURLOPT_WRITEFUNCTION, on_body);
  set(h, CURLOPT_WRITEDATA, &transfer);
  set(h, CURLOPT_HEADERFUNCTION, on_header);
  set(h, CURLOPT_HEADERDATA, &transfer);
  set(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  set(h, CURLOPT_OPENSOCKETDATA, &transfer);
  set(h, CURLOPT_ERRORBUFFER, error_buffer.data());

  const CURLcode rc = curl_easy_perform(h);

  Result<Response> result = [&]() -> Result<Response> {
    if (rc != CURLE_OK || transfer.body_too_big || transfer.callback_failed) {
      Error error = classify(rc, transfer, error_buffer.data(), target, request);
      error.detail = scrub(std::move(error.detail), request.headers);
      return error;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.response.status);
    return std::move(transfer.response);
  }();

  // Nothing in the handle may point at this call's data once it is idle.
  set(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  set(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  set(h, CURLOPT_CURLU, static_cast<CURLU*>(nullptr));
  checkin(std::move(handle));
  return result;
}

}  // namespace

std::optional<std::string_view> Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::unique_ptr<Client> make_curl_client(CurlSettings settings) {
  return std::make_unique<CurlClient>(std::move(settings));
}

}  // namespace core::http
