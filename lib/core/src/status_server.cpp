// core::StatusServer on Boost.Beast: a small HTTP/1.1 server for /healthz, /readyz and
// /metrics.
//
// Choices, and why:
// - One io thread owns the acceptor and every connection, so connection state needs no
//   lock; other threads only post to it (stop()). The handler runs on that thread too:
//   a slow handler delays the other connections, which is fine for probes and scrapes.
// - Each connection is a Beast-style session (shared_ptr kept alive by its pending
//   operation) that reads a request, answers, and reads the next while keep-alive holds.
//   Every read and write has a 5 s deadline (beast::tcp_stream::expires_after), which
//   also ends idle keep-alive connections: a probe that stalls cannot pin a slot.
// - The header is limited to 8 KiB (431) and a request body to 8 KiB (413); nobody
//   needs more to ask for /metrics. After such an error answer the server stops
//   sending, drains what the client still sends for a moment, then closes: closing a
//   socket with unread bytes sends a RST, which can destroy the answer before the
//   client reads it.
// - A connection over max_connections is closed as soon as it is accepted, without an
//   answer: an overloaded probe endpoint should fail fast, not queue.
// - stop() closes the acceptor and every connection from the io thread and lets
//   io_context::run() return once the aborted operations have completed: no handler is
//   dropped half-way and no session outlives the server.
#include "core/status_server.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

namespace core {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 8 * 1024;
// How long, and how much, a connection is drained after an error answer before it closes.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 64 * 1024;
// A failed accept (EMFILE, ENOBUFS) is retried after a pause instead of spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

// "127.0.0.1:8080", "[::1]:8080".
std::string endpoint_text(const net::ip::address& address, std::uint16_t port) {
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), port);
  return fmt::format("{}:{}", address.to_string(), port);
}

class Session;

// What sessions share with the server; lives as long as the io_context.
struct Shared {
  StatusServer::Handler handler;
  LoggerPtr logger;
  std::size_t max_connections = 64;
  std::unordered_set<Session*> sessions;  // io thread only
};

using Response = http::response<http::string_body>;

Response plain_response(http::status status, unsigned version, std::string body) {
  Response response{status, version};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(body);
  return response;
}

class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint_text(peer.address(), peer.port());
    shared_.sessions.insert(this);
  }
  ~Session() { shared_.sessions.erase(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run() { read_request(); }

  // On the io thread; pending operations complete with an error and the session ends.
  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) return;
    if (ec == http::error::end_of_stream) {  // the client closed between requests
      close();
      return;
    }
    if (ec == http::error::header_limit) {
      answer_and_close(http::status::request_header_fields_too_large,
                       "request header fields too large\n");
      return;
    }
    if (ec == http::error::body_limit) {
      answer_and_close(http::status::payload_too_large, "request body too large\n");
      return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::partial_message) {
      answer_and_close(http::status::bad_request, "bad request\n");
      return;
    }
    if (ec) {  // timeout, reset, or EOF inside a request
      shared_.logger->debug("status server: connection from {} closed: {}", peer_, ec.message());
      close();
      return;
    }
    handle(parser_->get());
  }

  void handle(const http::request<http::string_body>& request) {
    const auto target = to_std(request.target());
    const auto path = target.substr(0, target.find('?'));
    const auto method = request.method();
    Response response;
    if (method != http::verb::get && method != http::verb::head) {
      response = plain_response(http::status::method_not_allowed, request.version(),
                                "method not allowed\n");
      response.set(http::field::allow, "GET, HEAD");
    } else {
      response = call_handler(path, request.version());
    }
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    shared_.logger->debug("status server: {} {} from {} -> {} ({} bytes)",
                          to_std(request.method_string()), target, peer_, response.result_int(),
                          response.body().size());
    if (method == http::verb::head) {
      // Content-Length stays that of the GET body; a HEAD answer has no body.
      response.body().clear();
    }
    write(std::move(response), false);
  }

  Response call_handler(std::string_view path, unsigned version) {
    StatusResponse answer;
    try {
      answer = shared_.handler(path);
    } catch (const std::exception& e) {
      shared_.logger->error("status server: handler failed for {}: {}", path, e.what());
      return plain_response(http::status::internal_server_error, version, "internal error\n");
    } catch (...) {
      shared_.logger->error("status server: handler failed for {}: unknown exception", path);
      return plain_response(http::status::internal_server_error, version, "internal error\n");
    }
    // 1xx is not a final answer, and Beast refuses status codes above 999.
    if (answer.status < 200 || answer.status > 599) {
      shared_.logger->error("status server: handler answered {} with invalid status {}", path,
                            answer.status);
      return plain_response(http::status::internal_server_error, version, "internal error\n");
    }
    Response response;
    response.version(version);
    response.result(static_cast<unsigned>(answer.status));
    if (!answer.content_type.empty()) response.set(http::field::content_type, answer.content_type);
    // 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5); prepare_payload() throws on one.
    if (answer.status != 204 && answer.status != 304) response.body() = std::move(answer.body);
    return response;
  }

  // For a request that could not be read whole: answer, then drain and close.
  void answer_and_close(http::status status, std::string body) {
    shared_.logger->debug("status server: bad request from {} -> {}", peer_,
                          static_cast<unsigned>(status));
    auto response = plain_response(status, 11, std::move(body));
    response.keep_alive(false);
    response.prepare_payload();
    write(std::move(response), true);
  }

  void write(Response response, bool linger) {
    response_ = std::move(response);
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), linger));
  }

  void on_write(bool linger, beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) return;
    if (ec) {
      shared_.logger->debug("status server: write to {} failed: {}", peer_, ec.message());
      close();
      return;
    }
    if (linger) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(kLingerTimeout);
      drain(beast::error_code{}, 0);
      return;
    }
    if (response_.need_eof()) {
      close();
      return;
    }
    read_request();
  }

  void drain(beast::error_code ec, std::size_t bytes) {
    if (closed_) return;
    drained_ += bytes;
    if (ec || drained_ > kLingerBytes) {
      close();
      return;
    }
    stream_.async_read_some(net::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::drain, shared_from_this()));
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  std::string peer_ = "?";
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;  // alive while it is written
  std::array<char, 4096> drain_buffer_{};
  std::size_t drained_ = 0;
  bool closed_ = false;
};

}  // namespace

class StatusServer::Impl {
 public:
  Impl(StatusServerSettings settings, Handler handler, LoggerPtr logger)
      : settings_(std::move(settings)) {
    shared_.handler = std::move(handler);
    shared_.logger = logger ? std::move(logger) : make_null_logger();
  }

  ~Impl() { stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (running_) return make_error(ErrorCode::conflict, "status server already started");
    beast::error_code ec;
    const auto address = net::ip::make_address(settings_.address, ec);
    if (ec) {
      return make_error(ErrorCode::config,
                        fmt::format("status server: invalid address '{}'", settings_.address),
                        ec.message());
    }
    if (settings_.max_connections < 1) {
      return make_error(ErrorCode::config,
                        fmt::format("status server: max_connections must be at least 1, not {}",
                                    settings_.max_connections));
    }
    shared_.max_connections = static_cast<std::size_t>(settings_.max_connections);
    const tcp::endpoint endpoint(address, settings_.port);
    const auto where = endpoint_text(address, settings_.port);
    auto fail = [&](std::string_view step) {
      acceptor_.reset();
      return make_error(ErrorCode::unavailable,
                        fmt::format("status server cannot listen on {}: {}", where, ec.message()),
                        fmt::format("{}: {}", step, ec.message()));
    };
    acceptor_.emplace(ioc_);
    if (acceptor_->open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor_->set_option(net::socket_base::reuse_address(true), ec); ec) {
      return fail("setsockopt SO_REUSEADDR");
    }
    if (acceptor_->bind(endpoint, ec); ec) return fail("bind");
    if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    const auto local = acceptor_->local_endpoint(ec);
    if (ec) return fail("getsockname");
    port_ = local.port();

    stopping_ = false;
    ioc_.restart();
    accept();
    thread_ = std::thread([this] { run_io(); });
    running_ = true;
    shared_.logger->info("status server listening on {}", endpoint_text(address, port_));
    return {};
  }

  std::uint16_t port() const { return port_; }

  void stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!running_) return;
    // stop() from the handler would join the io thread from itself.
    if (std::this_thread::get_id() == thread_.get_id()) {
      shared_.logger->error("status server: stop() called from the io thread; ignored");
      return;
    }
    running_ = false;
    net::post(ioc_, [this] { shut_down(); });
    thread_.join();
    acceptor_.reset();
    shared_.logger->debug("status server stopped");
  }

 private:
  void run_io() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {  // bad_alloc and the like; keep serving
        shared_.logger->error("status server: io thread: {}", e.what());
      }
    }
  }

  // io thread from here on.
  void accept() {
    acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (stopping_ || ec == net::error::operation_aborted) return;
      if (ec) {
        shared_.logger->warn("status server: accept failed: {}", ec.message());
        retry_timer_.expires_after(kAcceptRetryDelay);
        retry_timer_.async_wait([this](beast::error_code timer_ec) {
          if (!timer_ec && !stopping_) accept();
        });
        return;
      }
      if (shared_.sessions.size() >= shared_.max_connections) {
        shared_.logger->debug("status server: {} connections open; closing a new one",
                              shared_.sessions.size());
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), shared_)->run();
      }
      accept();
    });
  }

  void shut_down() {
    stopping_ = true;
    beast::error_code ignored;
    acceptor_->close(ignored);
    retry_timer_.cancel();
    // close() never runs a handler inline, so the set does not change while we walk it.
    for (Session* session : shared_.sessions) session->close();
  }

  StatusServerSettings settings_;
  std::mutex lifecycle_mutex_;
  bool running_ = false;
  std::atomic<std::uint16_t> port_{0};
  // Declared before the io_context: handlers it still holds when destroyed end
  // sessions, which unregister themselves here.
  Shared shared_;
  net::io_context ioc_{1};
  std::optional<tcp::acceptor> acceptor_;
  net::steady_timer retry_timer_{ioc_};
  bool stopping_ = false;  // io thread, and start() before the thread runs
  std::thread thread_;
};

StatusServer::StatusServer(StatusServerSettings settings, Handler handler, LoggerPtr logger)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(handler), std::move(logger))) {}

StatusServer::~StatusServer() = default;

Status StatusServer::start() { return impl_->start(); }

std::uint16_t StatusServer::port() const { return impl_->port(); }

void StatusServer::stop() { impl_->stop(); }

}  // namespace core
