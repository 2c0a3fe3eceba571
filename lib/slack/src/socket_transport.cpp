// The only translation unit that includes websocketpp and Asio (design §1):
// websocketpp 0.8.2 does not compile as C++20, so lib/slack/CMakeLists.txt
// builds this file as C++17. Nothing websocketpp- or Asio-typed leaves it:
// it implements slack::AsioTransport (core::Scheduler + slack::Connector).

#include "slack/asio_transport.hpp"

#include "core/strings.hpp"
#include "ws_frame.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wcast-function-type"
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#pragma GCC diagnostic pop

namespace slack {
namespace {

namespace asio = boost::asio;

/// asio_tls_client with a shorter TLS shutdown: after a close handshake (or
/// its timeout) websocketpp shuts TLS down and, by default, waits up to 5 s
/// for the peer's close_notify; Slack is known not to close promptly
/// (node-slack-sdk 3.2.0 release notes), so cut it after 1 s.
struct TlsClientConfig : public websocketpp::config::asio_tls_client {
  using type = TlsClientConfig;
  using base = websocketpp::config::asio_tls_client;
  struct transport_config : public base::transport_config {
    static const long timeout_socket_shutdown = 1000;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
};

using WsClient = websocketpp::client<TlsClientConfig>;
using WsConnectionPtr = WsClient::connection_ptr;
using SslContextPtr = std::shared_ptr<asio::ssl::context>;

// core::TimerHandle: cancel() from any thread. The flag is what stops the
// task; the steady_timer itself is only touched on the io thread (Asio timers
// are not thread-safe), where the posted cancel frees the wait early.
class AsioTimer final : public core::TimerHandle, public std::enable_shared_from_this<AsioTimer> {
 public:
  explicit AsioTimer(asio::io_context& io) : io_(io), timer_(io) {}
  void cancel() override {
    if (cancelled_.exchange(true)) return;
    asio::post(io_, [self = shared_from_this()] { self->timer_.cancel(); });
  }
  asio::io_context& io_;
  asio::steady_timer timer_;
  std::atomic<bool> cancelled_{false};
};

class WebsocketppConnection final : public Connection {
 public:
  explicit WebsocketppConnection(WsConnectionPtr con) : con_(std::move(con)) {}

  void send_text(std::string_view payload) override {
    // websocketpp refuses text that is not UTF-8 (a peer closes with 1007 on
    // it): not sent, as before.
    if (!core::utf8_valid(payload)) return;
    // Framed here (ws_frame.hpp) and handed over prepared: websocketpp then
    // only queues it; its header part is empty, so the TLS stream takes the
    // frame as one buffer, without copying it first. A send on a closing
    // connection fails; its on_close follows.
    auto message = con_->get_message(websocketpp::frame::opcode::text, payload.size() + 14);
    detail::append_masked_text_frame(payload, masking_keys_.next(), message->get_raw_payload());
    message->set_prepared(true);
    (void)con_->send(message);
  }
  std::size_t queued_bytes() const override { return con_->get_buffered_amount(); }
  void ping(std::string payload) override {
    websocketpp::lib::error_code ec;
    con_->ping(payload, ec);
  }
  void close(int code, std::string reason, std::chrono::milliseconds timeout) override {
    con_->set_close_handshake_timeout(static_cast<long>(timeout.count()));
    websocketpp::lib::error_code ec;
    if (con_->get_state() == websocketpp::session::state::open) {
      con_->close(static_cast<websocketpp::close::status::value>(code), reason, ec);
      if (!ec) return;
    }
    abort();
  }
  void abort() override {
    // Closing the TCP socket under websocketpp fails its pending read; it
    // then reports the connection closed (or failed) through the handlers.
    boost::system::error_code ec;
    con_->get_raw_socket().close(ec);
  }

 private:
  WsConnectionPtr con_;
  detail::MaskingKeys masking_keys_;
};

class WebsocketppTransport final : public AsioTransport {
 public:
  explicit WebsocketppTransport(const core::Clock& clock)
      : clock_(clock), guard_(asio::make_work_guard(io_)) {
    client_.clear_access_channels(websocketpp::log::alevel::all);
    client_.clear_error_channels(websocketpp::log::elevel::all);
    websocketpp::lib::error_code ec;
    client_.init_asio(&io_, ec);
    // websocketpp calls this synchronously inside get_connection() (before the
    // connection has a handle), so connect() stores the CA file and host first.
    client_.set_tls_init_handler([this](websocketpp::connection_hdl) -> SslContextPtr {
      return make_tls_context(ca_file_, host_);
    });
  }

  ~WebsocketppTransport() override { stop_and_join(); }

  void start() override {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopped_) return;
    thread_ = std::thread([this] {
      io_thread_id_ = std::this_thread::get_id();
      started_ = true;
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception&) {
          // A handler threw: keep the loop alive (the throwing handler is
          // gone; its connection reports failure through its own handlers).
        }
      }
    });
  }

  void stop_and_join() override {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  core::Timer after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    auto timer = std::make_shared<AsioTimer>(io_);
    // Armed on the io thread: a steady_timer may not be touched from two
    // threads, and after() may be called from any.
    asio::post(io_, [timer, delay, fn = std::move(fn)]() mutable {
      if (timer->cancelled_) return;
      timer->timer_.expires_after(delay);
      timer->timer_.async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
        if (ec || timer->cancelled_) return;
        fn();
      });
    });
    return timer;
  }

  core::MonoTime now() const override { return clock_.monotonic(); }

  bool on_io_thread() const override {
    return started_ && std::this_thread::get_id() == io_thread_id_;
  }
  bool in_scheduler_thread() const override { return on_io_thread(); }

  ConnectionPtr connect(const std::string& url, const ConnectOptions& options,
                        ConnectionCallbacks callbacks) override {
    auto cbs = std::make_shared<ConnectionCallbacks>(std::move(callbacks));
    websocketpp::lib::error_code ec;
    auto uri = std::make_shared<websocketpp::uri>(url);
    WsConnectionPtr con;
    if (uri->get_valid() && uri->get_secure()) {
      ca_file_ = options.ca_file;  // read by the TLS init handler, inside get_connection()
      host_ = uri->get_host();
      con = client_.get_connection(uri, ec);
    } else {
      ec = websocketpp::error::make_error_code(websocketpp::error::invalid_uri);
    }
    if (ec || !con) {
      std::string why = "bad WebSocket URL " + redact_url(url) + ": " + ec.message();
      post([cbs, why] { cbs->on_fail(why); });
      return nullptr;
    }
    con->set_open_handshake_timeout(static_cast<long>(options.open_timeout.count()));
    con->set_max_message_size(options.max_message_bytes);
    con->set_open_handler([cbs](websocketpp::connection_hdl) { cbs->on_open(); });
    con->set_message_handler([cbs](websocketpp::connection_hdl, WsClient::message_ptr msg) {
      const bool text = msg->get_opcode() == websocketpp::frame::opcode::text;
      cbs->on_message(std::move(msg->get_raw_payload()), text);
    });
    con->set_pong_handler(
        [cbs](websocketpp::connection_hdl, std::string payload) { cbs->on_pong(payload); });
    con->set_ping_handler([cbs](websocketpp::connection_hdl, std::string) {
      cbs->on_ping();
      return true;  // websocketpp answers with a pong carrying the same payload
    });
    std::weak_ptr<WsClient::connection_type> weak = con;
    // Acks are small frames written one at a time: with Nagle on, an ack waits while the
    // previous one is unacknowledged, and Slack's delayed ACK rides on its next push, so
    // under steady traffic every ack waits for the next envelope (bench/README.md).
    con->set_tcp_pre_init_handler([weak](websocketpp::connection_hdl) {
      if (auto c = weak.lock()) {
        boost::system::error_code ignored;  // not fatal: the link works, only slower
        c->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      }
    });
    con->set_close_handler([cbs, weak](websocketpp::connection_hdl) {
      int code = 1006;
      std::string why = "connection lost";
      if (auto c = weak.lock()) {
        const auto remote = c->get_remote_close_code();
        if (remote != websocketpp::close::status::no_status &&
            remote != websocketpp::close::status::abnormal_close) {
          code = static_cast<int>(remote);
          why = "closed by peer (" + std::to_string(code) + ")";
          if (!c->get_remote_close_reason().empty()) why += ": " + c->get_remote_close_reason();
        } else if (c->get_ec()) {
          why = "connection lost: " + c->get_ec().message();
        }
      }
      cbs->on_close(code, why);
    });
    con->set_fail_handler([cbs, weak](websocketpp::connection_hdl) {
      std::string why = "connect failed";
      if (auto c = weak.lock()) {
        if (c->get_ec()) why += ": " + c->get_ec().message();
        if (c->get_response_code() != websocketpp::http::status_code::uninitialized) {
          why += " (HTTP " + std::to_string(static_cast<int>(c->get_response_code())) + ")";
        }
      }
      cbs->on_fail(why);
    });
    client_.connect(con);
    return std::make_shared<WebsocketppConnection>(con);
  }

 private:
  static SslContextPtr make_tls_context(const std::string& ca_file, const std::string& host) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1,
                     ec);
    // SSL_CERT_FILE semantics: the given bundle, else OpenSSL's default paths.
    if (!ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
    } else {
      ctx->set_default_verify_paths(ec);
    }
    ctx->set_verify_mode(asio::ssl::verify_peer, ec);
    // Host name (or IP address SAN) check; websocketpp sets SNI itself
    // (transport/asio/security/tls.hpp pre_init).
    ctx->set_verify_callback(asio::ssl::host_name_verification(host), ec);
    return ctx;
  }

  const core::Clock& clock_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  WsClient client_;  // after io_: destroyed first
  std::mutex mutex_;
  std::thread thread_;
  std::thread::id io_thread_id_;
  std::atomic<bool> started_{false};
  bool stopped_ = false;
  std::string ca_file_;  // io thread only
  std::string host_;     // io thread only
};

}  // namespace

std::unique_ptr<AsioTransport> make_asio_transport(const core::Clock& clock) {
  return std::make_unique<WebsocketppTransport>(clock);
}

std::unique_ptr<AsioTransport> make_asio_transport() {
  static const core::SystemClock system_clock;  // stateless: no shared mutable state
  return make_asio_transport(system_clock);
}

std::string redact_url(const std::string& url) {
  const auto q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q) + "?…";
}

}  // namespace slack
