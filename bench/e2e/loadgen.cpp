// loadgen: the fake Slack of the end-to-end load benchmark (bench/e2e/run.sh).
//
// It plays Slack for one subject (infra-bot, the Bolt peer or the floor client):
//   HTTPS  /api/apps.connections.open -> wss://127.0.0.1:<port>/link/?ticket=<n>
//          /api/<method>               -> {"ok":true,...} (auth.test, chat.*, users.info, ...)
//          /response/<id>              -> 200 "ok" (response_url posts, counted)
//   WSS    /link/?ticket=<n>           -> hello, then slash-command envelopes, acks timed
// It spawns the subject itself (fork/exec, with SLACK_API_URL pointing here), so that
// "process start -> hello sent" is measured on one steady clock, and reads the subject's
// CPU time and RSS from /proc/<pid>/stat and /proc/<pid>/status.
//
// Timing: every push and every ack is time-stamped with std::chrono::steady_clock on the
// WSS io thread (the only thread that touches the WebSocket side); nothing in that path
// sleeps. A fixed rate is paced by an asio::steady_timer with absolute deadlines (late
// envelopes are pushed at once, so the rate holds); "max" keeps a bounded number of
// envelopes in flight and pushes the next one from the ack handler.
//
// One JSON object on stdout (the result); progress and diagnostics on stderr.
//
// websocketpp 0.8.2 does not compile as C++20: this file is C++17 (bench/e2e/CMakeLists.txt).

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wcast-function-type"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <websocketpp/config/asio.hpp>
#include <websocketpp/server.hpp>
#pragma GCC diagnostic pop

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void say(const std::string& line) {
  std::fprintf(stderr, "loadgen: %s\n", line.c_str());
  std::fflush(stderr);
}

// ------------------------------------------------------------------------------------------
// Shared between the HTTPS thread, the WSS io thread and the main thread.

struct Shared {
  std::string app_token_prefix = "xapp-";
  std::string command_text = "status dev";  // the slash command's text (--text)
  std::atomic<int> wss_port{0};
  std::atomic<int> https_port{0};
  std::mutex ticket_mutex;
  std::uint64_t next_ticket = 1;
  std::set<std::uint64_t> open_tickets;  // issued, not yet used
  std::atomic<std::uint64_t> connections_open_calls{0};
  std::atomic<std::int64_t> first_connections_open_ns{0};
  std::atomic<std::uint64_t> api_calls{0};       // every /api/ call
  std::atomic<std::uint64_t> response_posts{0};  // /response/<id>, every post
  std::atomic<std::uint64_t> answered{0};        // distinct <id>s given a final answer
  std::atomic<std::uint64_t> busy_replies{0};    // posts that say "too busy"
  std::atomic<std::uint64_t> progress_posts{0};  // "Still working on …" updates (not answers)
  std::atomic<std::uint64_t> interrupted_replies{0};          // "… was interrupted" (at shutdown)
  std::unique_ptr<std::atomic<std::uint8_t>[]> answered_ids;  // one flag per envelope
  std::uint64_t id_count = 0;
  std::atomic<std::uint64_t> https_connections{0};
  std::mutex methods_mutex;
  std::map<std::string, std::uint64_t> methods;
  std::atomic<std::uint64_t> ts_counter{1};

  std::uint64_t issue_ticket() {
    std::lock_guard lock(ticket_mutex);
    const auto t = next_ticket++;
    open_tickets.insert(t);
    return t;
  }
  bool use_ticket(std::uint64_t t) {
    std::lock_guard lock(ticket_mutex);
    return open_tickets.erase(t) == 1;
  }
};

// ------------------------------------------------------------------------------------------
// HTTPS: Web API and response_url (Boost.Beast, one io thread, keep-alive).

class HttpsSession : public std::enable_shared_from_this<HttpsSession> {
 public:
  HttpsSession(tcp::socket socket, asio::ssl::context& ctx, Shared& shared)
      : stream_(std::move(socket), ctx), shared_(shared) {}

  void run() {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](boost::system::error_code e) {
                              if (!e) self->read();
                            });
  }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->answer();
                     });
  }

  void answer() {
    const std::string target(request_.target());
    response_ = {};
    response_.version(11);
    response_.keep_alive(request_.keep_alive());
    response_.set(http::field::server, "loadgen");
    response_.set(http::field::content_type, "application/json; charset=utf-8");
    response_.result(http::status::ok);
    if (target.rfind("/response/", 0) == 0) {
      shared_.response_posts.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t id = std::strtoull(target.c_str() + 10, nullptr, 10);
      const auto& body = request_.body();
      if (body.find("Still working on") != std::string::npos) {
        shared_.progress_posts.fetch_add(1, std::memory_order_relaxed);
      } else {
        if (id < shared_.id_count && shared_.answered_ids[id].exchange(1) == 0) {
          shared_.answered.fetch_add(1, std::memory_order_relaxed);
        }
        if (body.find("too busy") != std::string::npos) {
          shared_.busy_replies.fetch_add(1, std::memory_order_relaxed);
        }
        if (body.find("was interrupted") != std::string::npos) {
          shared_.interrupted_replies.fetch_add(1, std::memory_order_relaxed);
        }
      }
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "ok";
    } else if (target.rfind("/api/", 0) == 0) {
      std::string method = target.substr(5);
      if (auto q = method.find('?'); q != std::string::npos) method.resize(q);
      shared_.api_calls.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(shared_.methods_mutex);
        ++shared_.methods[method];
      }
      response_.body() = api(method);
    } else {
      response_.result(http::status::not_found);
      response_.body() = R"({"ok":false,"error":"unknown_path"})";
    }
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  std::string api(const std::string& method) {
    const auto auth = std::string(request_[http::field::authorization]);
    if (method == "apps.connections.open") {
      if (auth.rfind("Bearer " + shared_.app_token_prefix, 0) != 0) {
        return R"({"ok":false,"error":"not_authed"})";
      }
      std::int64_t zero = 0;
      shared_.first_connections_open_ns.compare_exchange_strong(zero, now_ns());
      shared_.connections_open_calls.fetch_add(1);
      const auto ticket = shared_.issue_ticket();
      return R"({"ok":true,"url":"wss://127.0.0.1:)" + std::to_string(shared_.wss_port.load()) +
             "/link/?ticket=" + std::to_string(ticket) + R"(&app_id=A0LOADGEN"})";
    }
    const std::string ts = std::to_string(1700000000 + shared_.ts_counter.fetch_add(1)) + ".000100";
    if (method == "auth.test") {
      return R"({"ok":true,"url":"https://loadgen.slack.test/","team":"Loadgen","user":"infrabot",)"
             R"("team_id":"T0123ABCD","user_id":"U0LOADBOT","bot_id":"B0LOADGEN",)"
             R"("is_enterprise_install":false})";
    }
    if (method == "chat.postMessage") {
      return R"({"ok":true,"channel":"C0123ABCD","ts":")" + ts +
             R"(","message":{"type":"message","user":"U0LOADBOT","bot_id":"B0LOADGEN","ts":")" +
             ts + R"(","text":""}})";
    }
    if (method == "chat.postEphemeral") return R"({"ok":true,"message_ts":")" + ts + "\"}";
    if (method == "chat.update") {
      return R"({"ok":true,"channel":"C0123ABCD","ts":")" + ts + R"(","text":""})";
    }
    if (method == "users.info") {
      return R"({"ok":true,"user":{"id":"U0456EFGH","team_id":"T0123ABCD","name":"alice",)"
             R"("real_name":"Alice Example","deleted":false,"is_bot":false,"tz":"Europe/London",)"
             R"("profile":{"real_name":"Alice Example","display_name":"alice"}}})";
    }
    if (method == "views.open" || method == "views.push" || method == "views.update") {
      return R"({"ok":true,"view":{"id":"V0LOADGEN","type":"modal"}})";
    }
    return R"({"ok":true})";
  }

  void close() {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class HttpsServer {
 public:
  HttpsServer(Shared& shared, const std::string& cert, const std::string& key)
      : shared_(shared), ctx_(asio::ssl::context::tls_server), acceptor_(io_) {
    ctx_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3);
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    shared_.https_port = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "lg-https");
      io_.run();
    });
  }
  ~HttpsServer() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      shared_.https_connections.fetch_add(1);
      std::make_shared<HttpsSession>(std::move(socket), ctx_, shared_)->run();
      accept();
    });
  }

  Shared& shared_;
  asio::io_context io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// ------------------------------------------------------------------------------------------
// WSS: Socket Mode (websocketpp server, asio_tls, one io thread).

using WsServer = websocketpp::server<websocketpp::config::asio_tls>;
using Hdl = websocketpp::connection_hdl;

struct LoadPlan {
  std::uint64_t count = 0;
  double rate = 0;             // envelopes/s; 0 = max
  std::uint64_t window = 256;  // max mode: envelopes in flight; 0 = no limit (burst)
  std::int64_t ack_timeout_ns = 0;
};

struct LoadResult {
  std::uint64_t pushed = 0, acked = 0, acked_late = 0, lost = 0, duplicate_acks = 0;
  std::uint64_t unknown_frames = 0, busy_acks = 0;
  std::int64_t first_push_ns = 0, last_push_ns = 0, last_ack_ns = 0;
  std::vector<std::int64_t> latencies_ns;  // acked within the timeout
  std::vector<std::int64_t> pacer_lag_ns;  // rate mode: push time - due time
  std::vector<std::pair<std::int64_t, std::int64_t>>
      series;  // (push ns since first push, latency ns or -1)
  std::string sample_ack;
  std::uint64_t ws_opened = 0, ws_closed = 0;
  double push_call_ns_mean = 0;  // time spent inside push() per envelope
};

class WssServer {
 public:
  WssServer(Shared& shared, std::string cert, std::string key, std::uint64_t max_count)
      : shared_(shared), cert_(std::move(cert)), key_(std::move(key)), pinger_(io_), pacer_(io_) {
    push_ns_.assign(max_count, 0);
    ack_ns_.assign(max_count, 0);
    due_ns_.assign(max_count, 0);
    server_.clear_access_channels(websocketpp::log::alevel::all);
    server_.clear_error_channels(websocketpp::log::elevel::all);
    server_.init_asio(&io_);
    server_.set_reuse_addr(true);
    server_.set_tls_init_handler([this](Hdl) { return tls_context(); });
    server_.set_validate_handler([this](Hdl h) { return validate(h); });
    server_.set_open_handler([this](Hdl h) { on_open(h); });
    server_.set_close_handler([this](Hdl h) { on_close(h); });
    server_.set_fail_handler([](Hdl) {});
    server_.set_message_handler(
        [this](Hdl h, WsServer::message_ptr msg) { on_message(h, msg->get_payload()); });
    server_.listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    websocketpp::lib::asio::error_code ec;
    shared_.wss_port = server_.get_local_endpoint(ec).port();
    server_.start_accept();
    schedule_pings();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "lg-wss");
      io_.run();
    });
  }

  ~WssServer() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Main thread reads these while the load runs.
  std::atomic<int> ready{0};                    // connections that got hello
  std::atomic<std::int64_t> first_hello_ns{0};  // hello written to the first connection
  std::atomic<std::uint64_t> acked_count{0};
  std::atomic<std::uint64_t> pushed_count{0};
  std::atomic<bool> pushing_done{false};
  std::atomic<std::int64_t> last_push_ns{0};
  std::atomic<std::uint64_t> working_acks{0};  // acks that promise a response_url answer

  void start_load(const LoadPlan& plan) {
    asio::post(io_, [this, plan] { begin(plan); });
  }

  LoadResult finish() {
    std::promise<LoadResult> done;
    auto future = done.get_future();
    asio::post(io_, [this, &done] { done.set_value(collect()); });
    return future.get();
  }

 private:
  std::shared_ptr<asio::ssl::context> tls_context() {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3);
    ctx->use_certificate_chain_file(cert_);
    ctx->use_private_key_file(key_, asio::ssl::context::pem);
    return ctx;
  }

  bool validate(Hdl h) {
    auto con = server_.get_con_from_hdl(h);
    const std::string resource = con->get_resource();
    if (resource.rfind("/link", 0) != 0) return false;
    const auto at = resource.find("ticket=");
    if (at == std::string::npos) return false;
    return shared_.use_ticket(std::strtoull(resource.c_str() + at + 7, nullptr, 10));
  }

  void on_open(Hdl h) {
    auto con = server_.get_con_from_hdl(h);
    websocketpp::lib::asio::error_code ec;
    con->get_raw_socket().set_option(tcp::no_delay(true), ec);
    live_.push_back(h);
    ++ws_opened_;
    const std::string hello =
        R"({"type":"hello","num_connections":)" + std::to_string(live_.size()) +
        R"(,"debug_info":{"host":"applink-loadgen","build_number":1,)"
        R"("approximate_connection_time":18060},"connection_info":{"app_id":"A0LOADGEN"}})";
    con->send(hello, websocketpp::frame::opcode::text);
    std::int64_t zero = 0;
    first_hello_ns.compare_exchange_strong(zero, now_ns());
    ready.store(static_cast<int>(live_.size()));
  }

  void on_close(Hdl h) {
    ++ws_closed_;
    live_.erase(
        std::remove_if(live_.begin(), live_.end(),
                       [&](const Hdl& x) { return !x.owner_before(h) && !h.owner_before(x); }),
        live_.end());
    ready.store(static_cast<int>(live_.size()));
  }

  void schedule_pings() {
    // Slack pings every ~10 s; Bolt's client drops a link without a server ping for 30 s.
    pinger_.expires_after(std::chrono::seconds(5));
    pinger_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      for (auto& h : live_) {
        websocketpp::lib::error_code e;
        server_.ping(h, "Ping from applink-loadgen", e);
      }
      schedule_pings();
    });
  }

  // ---- load ----

  void begin(const LoadPlan& plan) {
    plan_ = plan;
    plan_.count = std::min<std::uint64_t>(plan_.count, push_ns_.size());
    next_ = 0;
    start_ns_ = now_ns();
    interval_ns_ = plan_.rate > 0 ? 1e9 / plan_.rate : 0;
    if (plan_.rate > 0) {
      for (std::uint64_t k = 0; k < plan_.count; ++k) {
        due_ns_[k] = start_ns_ + static_cast<std::int64_t>(static_cast<double>(k) * interval_ns_);
      }
      pace();
    } else if (plan_.window == 0) {
      burst();
    } else {
      top_up();
    }
  }

  bool push(std::uint64_t k) {
    if (live_.empty()) return false;
    const Hdl& h = live_[rr_++ % live_.size()];
    // Envelope ids are uuid-shaped; the last 12 digits are the index (parsed back from acks).
    const int len = std::snprintf(
        frame_, sizeof frame_,
        R"({"envelope_id":"5a0e4c1d-2f7b-4d3e-9b61-%012)" PRIu64
        R"(","payload":{"token":"verification-token","team_id":"T0123ABCD",)"
        R"("team_domain":"example-co","channel_id":"C0123ABCD","channel_name":"infra-ops",)"
        R"("user_id":"U0456EFGH","user_name":"alice","command":"/infra","text":"%s",)"
        R"("api_app_id":"A0789IJKL","is_enterprise_install":"false",)"
        R"("response_url":"https://127.0.0.1:%d/response/%)" PRIu64
        R"(","trigger_id":"10021234567.0123456789.%)" PRIu64
        R"("},"type":"slash_commands","accepts_response_payload":true})",
        k, shared_.command_text.c_str(), shared_.https_port.load(std::memory_order_relaxed), k, k);
    const std::int64_t t = now_ns();
    websocketpp::lib::error_code ec;
    server_.send(h, frame_, static_cast<std::size_t>(len), websocketpp::frame::opcode::text, ec);
    push_time_sum_ += now_ns() - t;
    if (ec) return false;
    push_ns_[k] = t;
    if (k == 0) first_push_ns_ = t;
    last_push_ns_ = t;
    ++pushed_;
    pushed_count.store(pushed_, std::memory_order_relaxed);
    last_push_ns.store(t, std::memory_order_relaxed);
    return true;
  }

  void mark_pushing_done() { pushing_done.store(true); }

  void pace() {
    while (next_ < plan_.count && due_ns_[next_] <= now_ns()) {
      if (!push(next_)) {
        // No live connection: try again shortly (bounded by the main thread's deadline).
        break;
      }
      ++next_;
    }
    if (next_ >= plan_.count) return mark_pushing_done();
    const auto due = Clock::time_point(std::chrono::nanoseconds(due_ns_[next_]));
    pacer_.expires_at(
        std::max(due, Clock::now() + std::chrono::microseconds(live_.empty() ? 1000 : 0)));
    pacer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) pace();
    });
  }

  void top_up() {
    while (next_ < plan_.count && pushed_ - acked_ < plan_.window) {
      if (!push(next_)) break;
      ++next_;
    }
    if (next_ >= plan_.count) mark_pushing_done();
  }

  void burst() {
    // Everything at once, in chunks so that acks are read in between.
    for (int i = 0; i < 256 && next_ < plan_.count; ++i) {
      if (!push(next_)) break;
      ++next_;
    }
    if (next_ >= plan_.count) return mark_pushing_done();
    asio::post(io_, [this] { burst(); });
  }

  void on_message(Hdl, const std::string& text) {
    const std::int64_t t = now_ns();
    static constexpr char kKey[] = "\"envelope_id\"";
    const auto at = text.find(kKey);
    if (at == std::string::npos) {
      ++unknown_frames_;
      return;
    }
    // "envelope_id" : "5a0e4c1d-2f7b-4d3e-9b61-000000000042"
    auto q = text.find('"', text.find(':', at + sizeof kKey - 1) + 1);
    auto e = q == std::string::npos ? q : text.find('"', q + 1);
    if (e == std::string::npos || e - q - 1 != 36) {
      ++unknown_frames_;
      return;
    }
    const std::uint64_t k = std::strtoull(text.c_str() + e - 12, nullptr, 10);
    if (k >= plan_.count || push_ns_[k] == 0) {
      ++unknown_frames_;
      return;
    }
    if (sample_ack_.empty()) sample_ack_ = text.substr(0, 4096);
    if (ack_ns_[k] != 0) {
      ++duplicate_acks_;
      return;
    }
    ack_ns_[k] = t;
    ++acked_;
    // A "Working on …" ack promises an answer on the response_url; a refusal in the ack
    // (e.g. "too busy") is the answer.
    if (text.find("Working on") != std::string::npos) {
      working_acks.fetch_add(1, std::memory_order_relaxed);
    } else if (text.find("too busy") != std::string::npos) {
      ++busy_acks_;
    }
    last_ack_ns_ = t;
    acked_count.store(acked_, std::memory_order_relaxed);
    if (plan_.rate == 0 && plan_.window > 0) top_up();
  }

  LoadResult collect() {
    LoadResult r;
    r.pushed = pushed_;
    r.duplicate_acks = duplicate_acks_;
    r.unknown_frames = unknown_frames_;
    r.busy_acks = busy_acks_;
    r.first_push_ns = first_push_ns_;
    r.last_push_ns = last_push_ns_;
    r.last_ack_ns = last_ack_ns_;
    r.sample_ack = sample_ack_;
    r.ws_opened = ws_opened_;
    r.ws_closed = ws_closed_;
    r.push_call_ns_mean =
        pushed_ ? static_cast<double>(push_time_sum_) / static_cast<double>(pushed_) : 0;
    r.latencies_ns.reserve(plan_.count);
    r.series.reserve(plan_.count);
    for (std::uint64_t k = 0; k < plan_.count; ++k) {
      if (push_ns_[k] != 0) {
        r.series.emplace_back(push_ns_[k] - first_push_ns_,
                              ack_ns_[k] ? ack_ns_[k] - push_ns_[k] : -1);
      }
      if (push_ns_[k] == 0) {
        ++r.lost;  // never pushed (no live connection)
        continue;
      }
      if (ack_ns_[k] == 0) {
        ++r.lost;
        continue;
      }
      const auto lat = ack_ns_[k] - push_ns_[k];
      if (lat > plan_.ack_timeout_ns) {
        ++r.lost;
        ++r.acked_late;
        continue;
      }
      ++r.acked;
      r.latencies_ns.push_back(lat);
      if (plan_.rate > 0) r.pacer_lag_ns.push_back(push_ns_[k] - due_ns_[k]);
    }
    return r;
  }

  Shared& shared_;
  std::string cert_, key_;
  asio::io_context io_;
  WsServer server_;
  asio::steady_timer pinger_;
  asio::steady_timer pacer_;
  std::thread thread_;
  std::vector<Hdl> live_;
  std::size_t rr_ = 0;
  std::uint64_t ws_opened_ = 0, ws_closed_ = 0;

  LoadPlan plan_;
  std::vector<std::int64_t> push_ns_, ack_ns_, due_ns_;
  std::uint64_t next_ = 0, pushed_ = 0, acked_ = 0, duplicate_acks_ = 0;
  std::uint64_t unknown_frames_ = 0, busy_acks_ = 0;
  std::int64_t start_ns_ = 0, first_push_ns_ = 0, last_push_ns_ = 0, last_ack_ns_ = 0;
  std::int64_t push_time_sum_ = 0;
  double interval_ns_ = 0;
  std::string sample_ack_;
  char frame_[2048];
};

// ------------------------------------------------------------------------------------------
// /proc

struct ProcSample {
  bool ok = false;
  double cpu_s = 0;  // utime + stime
  long rss_kb = 0;   // VmRSS
  long hwm_kb = 0;   // VmHWM
  long anon_kb = 0;  // RssAnon: the process's own memory (heap, stacks)
  long file_kb = 0;  // RssFile: mapped files (binary, shared libraries)
  long threads = 0;
};

/// utime + stime of one /proc/.../stat file (seconds), or -1.
double stat_cpu_s(const std::string& path) {
  std::ifstream stat(path);
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');
  if (paren == std::string::npos || paren + 2 > all.size()) return -1;
  std::istringstream rest(all.substr(paren + 2));
  std::vector<std::string> f;
  std::string x;
  while (rest >> x) f.push_back(x);
  // After "(comm) ": f[0] is field 3 (state) of proc(5); utime is field 14, stime 15.
  if (f.size() < 13) return -1;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / tick;
}

/// CPU seconds per thread of a process: tid -> (name, seconds).
std::map<long, std::pair<std::string, double>> thread_cpu(pid_t pid) {
  std::map<long, std::pair<std::string, double>> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string tid = entry.path().filename().string();
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    const double cpu = stat_cpu_s((entry.path() / "stat").string());
    if (cpu >= 0) out[std::atol(tid.c_str())] = {name, cpu};
  }
  return out;
}

/// The thread that used the most CPU between two thread_cpu() samples: (name, seconds).
std::pair<std::string, double> busiest_thread(
    const std::map<long, std::pair<std::string, double>>& before,
    const std::map<long, std::pair<std::string, double>>& after) {
  std::pair<std::string, double> best{"", 0};
  for (const auto& [tid, v] : after) {
    auto it = before.find(tid);
    const double d = v.second - (it == before.end() ? 0.0 : it->second.second);
    if (d > best.second) best = {v.first + "/" + std::to_string(tid), d};
  }
  return best;
}

ProcSample sample_proc(pid_t pid) {
  ProcSample s;
  s.cpu_s = stat_cpu_s("/proc/" + std::to_string(pid) + "/stat");
  if (s.cpu_s < 0) return s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::atol(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atol(line.c_str() + 8);
    if (line.rfind("RssAnon:", 0) == 0) s.anon_kb = std::atol(line.c_str() + 8);
    if (line.rfind("RssFile:", 0) == 0) s.file_kb = std::atol(line.c_str() + 8);
  }
  s.ok = s.rss_kb > 0;
  return s;
}

// ------------------------------------------------------------------------------------------
// Subject process

pid_t spawn(const std::vector<std::string>& argv, const std::string& api_url,
            const std::string& log_file) {
  // Everything the child needs is built before fork(): only async-signal-safe calls after.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "SLACK_API_URL=", 14) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("SLACK_API_URL=" + api_url);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int fd =
        open(log_file.empty() ? "/dev/null" : log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    execve(cargv[0], cargv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int stop_subject(pid_t pid, int term_timeout_ms) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  int status = 0;
  for (int waited = 0; waited < term_timeout_ms; waited += 10) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

bool subject_alive(pid_t pid) {
  if (pid <= 0) return true;  // external client
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// ------------------------------------------------------------------------------------------
// Stats and output

double percentile_us(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return -1;
  const auto idx = static_cast<std::size_t>(std::min<double>(
      static_cast<double>(v.size() - 1), std::ceil(p * static_cast<double>(v.size())) - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return static_cast<double>(v[idx]) / 1000.0;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

struct Json {
  std::ostringstream o;
  bool first = true;
  Json() { o << '{'; }
  void sep() {
    if (!first) o << ',';
    first = false;
  }
  Json& num(const std::string& k, double v) {
    sep();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    o << '"' << k << "\":" << buf;
    return *this;
  }
  Json& str(const std::string& k, const std::string& v) {
    sep();
    o << '"' << k << "\":\"" << json_escape(v) << '"';
    return *this;
  }
  Json& raw(const std::string& k, const std::string& v) {
    sep();
    o << '"' << k << "\":" << v;
    return *this;
  }
  std::string done() { return o.str() + "}"; }
};

// The generator's own resolution: cost of one steady_clock::now() and its smallest step.
std::pair<double, double> clock_floor() {
  constexpr int kCalls = 1'000'000;
  std::int64_t min_step = INT64_MAX;
  std::int64_t prev = now_ns();
  const std::int64_t start = prev;
  for (int i = 0; i < kCalls; ++i) {
    const std::int64_t t = now_ns();
    if (t > prev) min_step = std::min(min_step, t - prev);
    prev = t;
  }
  return {static_cast<double>(prev - start) / kCalls, static_cast<double>(min_step)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "loadgen: fake Slack (HTTPS Web API + WSS Socket Mode) that pushes slash-command "
      "envelopes at a subject and times their acks"};
  std::string cert, key, label = "run", subject_log, rate_text = "1000", checkpoints_text;
  std::uint64_t count = 5000, window = 256;
  int connections = 1, settle_ms = 2000, ack_timeout_ms = 3000, start_timeout_ms = 30000,
      response_timeout_ms = 30000, after_settle_ms = 0, term_timeout_ms = 10000;
  bool expect_responses = false;
  std::vector<std::string> subject;
  cli.add_option("--cert", cert, "server certificate chain (PEM)")->required();
  cli.add_option("--key", key, "server private key (PEM)")->required();
  cli.add_option("--rate", rate_text, "envelopes per second, or max")->capture_default_str();
  cli.add_option("--count", count, "envelopes to push")->capture_default_str();
  cli.add_option("--window", window, "max rate: envelopes in flight (0 = push all at once)")
      ->capture_default_str();
  cli.add_option("--connections", connections, "connections with hello before the load")
      ->capture_default_str();
  cli.add_option("--settle-ms", settle_ms, "wait after connect before idle RSS and load")
      ->capture_default_str();
  cli.add_option("--ack-timeout-ms", ack_timeout_ms, "an ack later than this = lost")
      ->capture_default_str();
  cli.add_option("--start-timeout-ms", start_timeout_ms, "give up when no hello by then")
      ->capture_default_str();
  cli.add_flag("--expect-responses", expect_responses,
               "wait (bounded) until one response_url post per ack has arrived");
  cli.add_option("--response-timeout-ms", response_timeout_ms)->capture_default_str();
  cli.add_option("--after-settle-ms", after_settle_ms,
                 "after the load: wait, then sample RSS again (footprint)")
      ->capture_default_str();
  cli.add_option("--rss-checkpoints", checkpoints_text,
                 "comma-separated ack counts at which to sample VmRSS");
  cli.add_option("--term-timeout-ms", term_timeout_ms, "SIGTERM, then SIGKILL after this")
      ->capture_default_str();
  cli.add_option("--label", label, "name echoed in the result");
  std::string command_text = "status dev";
  cli.add_option("--text", command_text,
                 "the slash command's text (letters, digits, spaces, '-', '.', '=' only)")
      ->capture_default_str()
      ->check([](const std::string& t) {
        const bool ok =
            !t.empty() && t.size() <= 100 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
              return std::isalnum(c) || c == ' ' || c == '-' || c == '.' || c == '=';
            });
        return ok ? std::string() : std::string("--text: letters, digits, spaces, - . = only");
      });
  std::string dump_file;
  cli.add_option("--dump-latencies", dump_file,
                 "write one line per envelope: push time since the first push (µs), ack latency "
                 "(µs, -1 = none)");
  cli.add_option("--subject-log", subject_log, "the subject's stdout+stderr go here");
  cli.add_option("subject", subject,
                 "the subject's command line (after --); none = wait for "
                 "an external client");
  CLI11_PARSE(cli, argc, argv);

  std::signal(SIGPIPE, SIG_IGN);
  const double rate = rate_text == "max" ? 0.0 : std::stod(rate_text);
  std::vector<std::uint64_t> checkpoints;
  {
    std::stringstream ss(checkpoints_text);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) checkpoints.push_back(std::stoull(item));
    }
  }

  const auto [now_cost_ns, clock_step_ns] = clock_floor();

  Shared shared;
  shared.command_text = command_text;
  shared.id_count = count;
  shared.answered_ids = std::make_unique<std::atomic<std::uint8_t>[]>(count);
  for (std::uint64_t i = 0; i < count; ++i) shared.answered_ids[i] = 0;
  std::unique_ptr<HttpsServer> https;
  std::unique_ptr<WssServer> wss;
  try {
    wss = std::make_unique<WssServer>(shared, cert, key, count);
    https = std::make_unique<HttpsServer>(shared, cert, key);
  } catch (const std::exception& e) {
    say(std::string("cannot start: ") + e.what());
    return 2;
  }
  const std::string api_url =
      "https://127.0.0.1:" + std::to_string(shared.https_port.load()) + "/api/";
  say("listening: " + api_url + " wss port " + std::to_string(shared.wss_port.load()));

  Json out;
  out.str("label", label)
      .str("text", command_text)
      .str("rate", rate_text)
      .num("count", static_cast<double>(count));
  out.num("window", rate == 0 ? static_cast<double>(window) : 0.0);
  out.num("gen_now_cost_ns", now_cost_ns).num("gen_clock_step_ns", clock_step_ns);
  {
    std::ifstream loadavg("/proc/loadavg");
    double one_minute = -1;
    loadavg >> one_minute;
    out.num("loadavg_1m", one_minute);  // how busy the machine was when the run began
  }

  pid_t pid = -1;
  int exit_code = 0;
  std::string error;
  const std::int64_t spawn_ns = now_ns();
  if (!subject.empty()) {
    pid = spawn(subject, api_url, subject_log);
    if (pid < 0) {
      say("fork failed");
      return 2;
    }
  } else {
    std::printf("{\"event\":\"listening\",\"api_url\":\"%s\"}\n", api_url.c_str());
    std::fflush(stdout);
  }

  auto sleep_ms = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };

  // 1. Start -> hello, all connections ready.
  {
    const std::int64_t deadline = spawn_ns + std::int64_t{start_timeout_ms} * 1'000'000;
    while (wss->ready.load() < connections && now_ns() < deadline && subject_alive(pid))
      sleep_ms(1);
    if (wss->ready.load() < connections) {
      error = subject_alive(pid) ? "no hello in time" : "subject exited before hello";
    }
  }
  const std::int64_t all_ready_ns = now_ns();
  if (error.empty()) {
    out.num("start_to_hello_ms", static_cast<double>(wss->first_hello_ns.load() - spawn_ns) / 1e6);
    out.num("start_to_connections_open_ms",
            static_cast<double>(shared.first_connections_open_ns.load() - spawn_ns) / 1e6);
    out.num("start_to_all_ready_ms", static_cast<double>(all_ready_ns - spawn_ns) / 1e6);
    sleep_ms(settle_ms);
  }
  ProcSample idle = pid > 0 ? sample_proc(pid) : ProcSample{};
  const auto idle_threads =
      pid > 0 ? thread_cpu(pid) : std::map<long, std::pair<std::string, double>>{};
  const auto gen_threads_before = thread_cpu(getpid());
  if (pid > 0) {
    out.num("idle_rss_kb", static_cast<double>(idle.rss_kb));
    out.num("idle_hwm_kb", static_cast<double>(idle.hwm_kb));
    out.num("idle_rss_anon_kb", static_cast<double>(idle.anon_kb));
    out.num("idle_rss_file_kb", static_cast<double>(idle.file_kb));
    out.num("startup_cpu_s", idle.cpu_s);
    out.num("threads", static_cast<double>(idle.threads));
  }

  // 2. Load.
  LoadResult result;
  std::vector<std::pair<std::uint64_t, ProcSample>> rss_at;
  std::uint64_t responses_before = shared.response_posts.load();
  std::int64_t load_end_ns = 0;
  long peak_rss_polled = idle.rss_kb, peak_anon_polled = idle.anon_kb;
  if (error.empty() && count > 0) {
    LoadPlan plan{count, rate, window, std::int64_t{ack_timeout_ms} * 1'000'000};
    const double expected_s = rate > 0 ? static_cast<double>(count) / rate : 0;
    // Bounded: the planned time plus a generous margin (max rate: at least 100 acks/s).
    const std::int64_t deadline =
        now_ns() +
        static_cast<std::int64_t>((expected_s + 30.0 + static_cast<double>(count) / 100.0) * 1e9);
    wss->start_load(plan);
    std::size_t next_checkpoint = 0;

    int poll = 0;
    while (now_ns() < deadline) {
      const auto acked = wss->acked_count.load();
      while (next_checkpoint < checkpoints.size() && acked >= checkpoints[next_checkpoint]) {
        if (pid > 0) rss_at.emplace_back(checkpoints[next_checkpoint], sample_proc(pid));
        ++next_checkpoint;
      }
      if (acked >= count) break;
      if (wss->pushing_done.load() &&
          now_ns() - wss->last_push_ns.load() > std::int64_t{ack_timeout_ms} * 1'000'000) {
        break;
      }
      if (!subject_alive(pid)) {
        error = "subject exited during the load";
        break;
      }
      if (pid > 0 && ++poll % 20 == 0) {
        const auto p = sample_proc(pid);
        peak_rss_polled = std::max(peak_rss_polled, p.rss_kb);
        peak_anon_polled = std::max(peak_anon_polled, p.anon_kb);
      }
      sleep_ms(1);
    }
    load_end_ns = now_ns();
    if (!wss->pushing_done.load() && error.empty()) error = "load deadline passed";

    result = wss->finish();
    // Jobs behind the acks (infra-bot's response_url posts), bounded.
    if (expect_responses) {
      const std::int64_t rdeadline = now_ns() + std::int64_t{response_timeout_ms} * 1'000'000;
      while (shared.answered.load() < wss->working_acks.load() && now_ns() < rdeadline &&
             subject_alive(pid)) {
        sleep_ms(5);
      }
    } else {
      sleep_ms(200);
    }
  }
  const std::int64_t responses_done_ns = now_ns();
  ProcSample end = pid > 0 ? sample_proc(pid) : ProcSample{};
  const auto end_threads =
      pid > 0 ? thread_cpu(pid) : std::map<long, std::pair<std::string, double>>{};
  const auto gen_threads_after = thread_cpu(getpid());
  ProcSample after{};
  if (pid > 0 && after_settle_ms > 0) {
    sleep_ms(after_settle_ms);
    after = sample_proc(pid);
  }

  // 3. Report.
  if (count > 0 && result.pushed > 0) {
    auto lat = result.latencies_ns;
    out.num("pushed", static_cast<double>(result.pushed));
    out.num("acked", static_cast<double>(result.acked));
    out.num("lost", static_cast<double>(result.lost));
    out.num("acked_late", static_cast<double>(result.acked_late));
    out.num("duplicate_acks", static_cast<double>(result.duplicate_acks));
    out.num("unknown_frames", static_cast<double>(result.unknown_frames));
    out.num("working_acks", static_cast<double>(wss->working_acks.load()));
    out.num("busy_acks", static_cast<double>(result.busy_acks));
    out.num("p50_us", percentile_us(lat, 0.50));
    out.num("p90_us", percentile_us(lat, 0.90));
    out.num("p99_us", percentile_us(lat, 0.99));
    out.num("p999_us", percentile_us(lat, 0.999));
    out.num(
        "max_us",
        lat.empty() ? -1 : static_cast<double>(*std::max_element(lat.begin(), lat.end())) / 1000.0);
    out.num(
        "min_us",
        lat.empty() ? -1 : static_cast<double>(*std::min_element(lat.begin(), lat.end())) / 1000.0);
    const double span_s = static_cast<double>(result.last_ack_ns - result.first_push_ns) / 1e9;
    out.num("acks_per_s",
            span_s > 0 ? static_cast<double>(result.acked + result.acked_late) / span_s : 0);
    const double push_span_s =
        static_cast<double>(result.last_push_ns - result.first_push_ns) / 1e9;
    out.num("pushes_per_s",
            push_span_s > 0 ? static_cast<double>(result.pushed - 1) / push_span_s : 0);
    out.num("push_call_ns", result.push_call_ns_mean);
    if (!result.pacer_lag_ns.empty()) {
      auto lag = result.pacer_lag_ns;
      out.num("pacer_lag_p50_us", percentile_us(lag, 0.50));
      out.num("pacer_lag_p99_us", percentile_us(lag, 0.99));
    }
    out.num("ws_opened", static_cast<double>(result.ws_opened));
    out.num("ws_closed", static_cast<double>(result.ws_closed));
    out.num("sample_ack_bytes", static_cast<double>(result.sample_ack.size()));
    out.str("sample_ack", result.sample_ack);
  }
  out.num("response_posts", static_cast<double>(shared.response_posts.load() - responses_before));
  out.num("answered", static_cast<double>(shared.answered.load()));
  out.num("busy_replies", static_cast<double>(shared.busy_replies.load()));
  out.num("progress_posts", static_cast<double>(shared.progress_posts.load()));
  out.num("api_calls", static_cast<double>(shared.api_calls.load()));
  out.num("connections_open_calls", static_cast<double>(shared.connections_open_calls.load()));
  out.num("https_connections", static_cast<double>(shared.https_connections.load()));
  {
    std::lock_guard lock(shared.methods_mutex);
    std::string m = "{";
    for (const auto& [name, n] : shared.methods) {
      if (m.size() > 1) m += ",";
      m += "\"" + json_escape(name) + "\":" + std::to_string(n);
    }
    out.raw("api_methods", m + "}");
  }
  if (pid > 0 && end.ok) {
    out.num("load_cpu_s", end.cpu_s - idle.cpu_s);
    out.num("total_cpu_s", end.cpu_s);
    out.num("end_rss_kb", static_cast<double>(end.rss_kb));
    out.num("end_rss_anon_kb", static_cast<double>(end.anon_kb));
    out.num("peak_rss_polled_kb", static_cast<double>(std::max(peak_rss_polled, end.rss_kb)));
    out.num("peak_rss_anon_polled_kb",
            static_cast<double>(std::max(peak_anon_polled, end.anon_kb)));
    out.num("peak_rss_kb", static_cast<double>(end.hwm_kb));
    out.num("end_threads", static_cast<double>(end.threads));
    const auto busiest = busiest_thread(idle_threads, end_threads);
    out.str("busiest_thread", busiest.first).num("busiest_thread_cpu_s", busiest.second);
    if (load_end_ns > 0)
      out.num("response_wait_ms", static_cast<double>(responses_done_ns - load_end_ns) / 1e6);
  }
  if (after.ok) {
    out.num("after_settle_rss_kb", static_cast<double>(after.rss_kb));
    out.num("after_settle_rss_anon_kb", static_cast<double>(after.anon_kb));
  }
  {
    // The generator's own CPU during the load, per thread (main, WSS io, HTTPS io).
    std::string m = "{";
    double total = 0;
    for (const auto& [tid, v] : gen_threads_after) {
      auto it = gen_threads_before.find(tid);
      const double d = v.second - (it == gen_threads_before.end() ? 0.0 : it->second.second);
      total += d;
      if (m.size() > 1) m += ",";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", d);
      m += "\"" + json_escape(v.first) + "/" + std::to_string(tid) + "\":" + buf;
    }
    out.num("gen_load_cpu_s", total).raw("gen_thread_cpu_s", m + "}");
  }
  if (!rss_at.empty()) {
    std::string m = "{", a = "{";
    for (const auto& [n, p] : rss_at) {
      if (m.size() > 1) m += ",", a += ",";
      m += "\"" + std::to_string(n) + "\":" + std::to_string(p.rss_kb);
      a += "\"" + std::to_string(n) + "\":" + std::to_string(p.anon_kb);
    }
    out.raw("rss_at_kb", m + "}").raw("rss_anon_at_kb", a + "}");
  }

  if (pid > 0) {
    const int status = stop_subject(pid, term_timeout_ms);
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    out.num("subject_exit", exit_code);
    // What the subject posted while draining (SIGTERM): interrupted jobs are told so.
    out.num("answered_after_stop", static_cast<double>(shared.answered.load()));
    out.num("interrupted_replies", static_cast<double>(shared.interrupted_replies.load()));
  }
  if (!dump_file.empty()) {
    if (std::FILE* f = std::fopen(dump_file.c_str(), "w")) {
      for (const auto& [at, lat] : result.series) {
        std::fprintf(f, "%.1f %.1f\n", static_cast<double>(at) / 1000.0,
                     lat < 0 ? -1.0 : static_cast<double>(lat) / 1000.0);
      }
      std::fclose(f);
    }
  }
  out.str("error", error);
  std::printf("%s\n", out.done().c_str());
  std::fflush(stdout);
  // Sessions may still hold sockets; the process is done.
  std::_Exit(error.empty() ? 0 : 1);
}
