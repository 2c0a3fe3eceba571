// core::StatusServer over real sockets on 127.0.0.1 (port 0): requests through the
// project's curl client, and raw sockets where the test must see the bytes on the wire
// (keep-alive on one connection, HEAD without a body, 431 for a huge header, the
// connection limit).

#include "core/status_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/http_client.hpp"
#include "core/log.hpp"
#include "recording_sink.hpp"

namespace {

using namespace std::chrono_literals;
using core::StatusResponse;
using core::StatusServer;
using core::StatusServerSettings;

// Upper bound for waits that should end at once; never a performance assert.
constexpr auto kWait = 2s;

StatusResponse default_handler(std::string_view path) {
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

// A raw TCP client with a receive timeout, so a test fails rather than hangs.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // One response: the header, then Content-Length bytes of body (none when
  // `head` is set). Empty when the connection closed or timed out first.
  std::string read_response(bool head = false) {
    for (;;) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto header = pending_.substr(0, end + 4);
        std::size_t length = 0;
        const auto at = header.find("Content-Length: ");
        if (at != std::string::npos) length = std::stoul(header.substr(at + 16));
        if (head) length = 0;
        if (pending_.size() >= header.size() + length) {
          auto response = pending_.substr(0, header.size() + length);
          pending_.erase(0, response.size());
          return response;
        }
      }
      if (!receive()) return {};
    }
  }

  // Everything until the peer closes; `closed` says whether it did (not a timeout).
  std::string read_until_closed(bool& closed) {
    while (receive()) {
    }
    closed = closed_;
    return std::exchange(pending_, {});
  }

 private:
  bool receive() {
    char buffer[4096];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) closed_ = true;
    if (n < 0 && (errno == ECONNRESET)) closed_ = true;
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string pending_;
};

class StatusServerTest : public testing::Test {
 protected:
  // Starts a server on 127.0.0.1, port 0, logging at debug into sink_.
  std::unique_ptr<StatusServer> start(StatusServer::Handler handler = default_handler,
                                      StatusServerSettings settings = local_settings()) {
    auto server = std::make_unique<StatusServer>(std::move(settings), std::move(handler), logger_);
    const auto started = server->start();
    EXPECT_TRUE(started) << (started ? "" : started.error().user_message);
    EXPECT_NE(server->port(), 0);
    return server;
  }

  static StatusServerSettings local_settings() {
    StatusServerSettings settings;
    settings.address = "127.0.0.1";
    settings.port = 0;
    return settings;
  }

  static std::string url(std::uint16_t port, std::string_view target) {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(target);
  }

  core::Result<core::http::Response> get(std::uint16_t port, std::string_view target,
                                         std::string method = "GET") {
    core::http::Request request;
    request.method = std::move(method);
    request.url = url(port, target);
    request.connect_timeout = 2000ms;
    request.total_timeout = 2000ms;
    return client_->send(request);
  }

  std::vector<std::string> log_lines_containing(std::string_view text) {
    std::vector<std::string> found;
    for (const auto& line : sink_->lines()) {
      if (line.find(text) != std::string::npos) found.push_back(line);
    }
    return found;
  }

  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ = core::make_logger("status", core::LogFormat::text,
                                              core::LogLevel::debug, {sink_}, core::Redactor{});
  std::unique_ptr<core::http::Client> client_ = core::http::make_curl_client({});
};

TEST_F(StatusServerTest, GetAnswersWithTheHandlersStatusTypeAndBody) {
  auto server = start();
  auto response = get(server->port(), "/metrics");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "up 1\n");
  EXPECT_EQ(response->header("Content-Type").value_or(""),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response->header("Content-Length").value_or(""), "5");
}

TEST_F(StatusServerTest, HandlerStatusIsPassedThrough) {
  auto server = start();
  auto response = get(server->port(), "/nope");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "not found\n");
  auto unavailable = start([](std::string_view) {
    return StatusResponse{503, "application/json", R"({"ready":false})"};
  });
  response = get(unavailable->port(), "/readyz");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(response->body, R"({"ready":false})");
}

TEST_F(StatusServerTest, HeadHasTheGetContentLengthAndNoBody) {
  auto server = start();
  auto response = get(server->port(), "/healthz", "HEAD");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(response->header("Content-Length").value_or(""), "3");

  // On the wire: no body bytes follow, so the next answer on the connection parses.
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto head = raw.read_response(/*head=*/true);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 3\r\n"), std::string::npos) << head;
  ASSERT_TRUE(raw.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto next = raw.read_response();
  EXPECT_EQ(next.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << next;
  EXPECT_TRUE(next.ends_with("\r\n\r\nup 1\n")) << next;
}

TEST_F(StatusServerTest, OtherMethodsAre405WithAllow) {
  std::atomic<int> calls = 0;
  auto server = start([&](std::string_view path) {
    ++calls;
    return default_handler(path);
  });
  for (const std::string method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    core::http::Request request;
    request.method = method;
    request.url = url(server->port(), "/healthz");
    if (method == "POST") request.body = "x=1";
    request.total_timeout = 2000ms;
    auto response = client_->send(request);
    ASSERT_TRUE(response) << method << ": " << response.error().user_message;
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->header("Allow").value_or(""), "GET, HEAD") << method;
  }
  EXPECT_EQ(calls, 0);
}

TEST_F(StatusServerTest, TheHandlerGetsThePathWithoutTheQuery) {
  std::mutex mutex;
  std::vector<std::string> paths;
  auto server = start([&](std::string_view path) {
    std::lock_guard lock(mutex);
    paths.emplace_back(path);
    return default_handler(path);
  });
  auto response = get(server->port(), "/metrics?name%5B%5D=up&x=1");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
  ASSERT_TRUE(get(server->port(), "/healthz?"));
  ASSERT_TRUE(get(server->port(), "/a/b"));
  std::lock_guard lock(mutex);
  EXPECT_EQ(paths, (std::vector<std::string>{"/metrics", "/healthz", "/a/b"}));
}

TEST_F(StatusServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = start();
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.connected());
  for (const std::string path : {"/healthz", "/metrics", "/nope"}) {
    ASSERT_TRUE(raw.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto response = raw.read_response();
    EXPECT_FALSE(response.empty()) << path << ": connection closed after a keep-alive answer";
  }

  // The curl client pools its connection: both requests come from one client port.
  ASSERT_TRUE(get(server->port(), "/healthz"));
  ASSERT_TRUE(get(server->port(), "/metrics"));
  const auto lines = log_lines_containing("status server: GET");
  ASSERT_EQ(lines.size(), 5u);
  auto peer = [](const std::string& line) {
    const auto from = line.find(" from ");
    return line.substr(from, line.find(" -> ") - from);
  };
  EXPECT_EQ(peer(lines[3]), peer(lines[4])) << lines[3] << lines[4];
}

TEST_F(StatusServerTest, ConnectionCloseAndHttp10AreHonoured) {
  auto server = start();
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.0\r\n\r\n"));
    bool closed = false;
    const auto text = raw.read_until_closed(closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(text.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << text;
    EXPECT_TRUE(text.ends_with("\r\n\r\nok\n")) << text;
  }
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    bool closed = false;
    const auto text = raw.read_until_closed(closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(text.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << text;
  }
}

TEST_F(StatusServerTest, OversizeHeaderIs431AndTheServerGoesOn) {
  auto server = start();
  const std::string big(10 * 1024, 'a');
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n"));
    bool closed = false;
    const auto text = raw.read_until_closed(closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(text.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << text;
  }
  // Through curl: an error status or a transport error, never a crash or a 200.
  core::http::Request request;
  request.url = url(server->port(), "/healthz");
  request.headers = {{"X-Big", big}};
  request.total_timeout = 2000ms;
  auto response = client_->send(request);
  if (response) {
    EXPECT_EQ(response->status, 431);
  }
  auto after = get(server->port(), "/healthz");
  ASSERT_TRUE(after) << after.error().user_message;
  EXPECT_EQ(after->status, 200);
}

TEST_F(StatusServerTest, OversizeBodyIs413AndGarbageIs400) {
  auto server = start();
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" +
                         std::string(20000, 'b')));
    bool closed = false;
    const auto text = raw.read_until_closed(closed);
    EXPECT_EQ(text.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << text;
  }
  {
    // A small body on GET is read and ignored; the connection stays usable.
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    EXPECT_TRUE(raw.read_response().ends_with("\r\n\r\nok\n"));
    ASSERT_TRUE(raw.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(raw.read_response().ends_with("\r\n\r\nup 1\n"));
  }
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send("NOT HTTP AT ALL\r\n\r\n"));
    bool closed = false;
    const auto text = raw.read_until_closed(closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(text.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << text;
  }
}

TEST_F(StatusServerTest, HandlerExceptionIs500AndLogged) {
  auto server = start([](std::string_view path) -> StatusResponse {
    if (path == "/boom") throw std::runtime_error("collector exploded");
    if (path == "/weird") return {42, "text/plain", "?"};
    return default_handler(path);
  });
  auto response = get(server->port(), "/boom");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "internal error\n");
  EXPECT_EQ(log_lines_containing("collector exploded").size(), 1u);

  response = get(server->port(), "/weird");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 500);

  response = get(server->port(), "/healthz");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(StatusServerTest, ResponsesWithoutABodyStatus) {
  auto server = start([](std::string_view path) -> StatusResponse {
    if (path == "/empty") return {204, "", "ignored"};
    return {200, "", ""};
  });
  auto response = get(server->port(), "/empty");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->body, "");
  response = get(server->port(), "/");
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->header("Content-Type"));
  EXPECT_EQ(response->header("Content-Length").value_or(""), "0");
}

TEST_F(StatusServerTest, BindFailureIsAnErrorNamingAddressAndPort) {
  auto first = start();
  auto settings = local_settings();
  settings.port = first->port();
  StatusServer second(settings, default_handler, logger_);
  const auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, core::ErrorCode::unavailable);
  const auto where = "127.0.0.1:" + std::to_string(first->port());
  EXPECT_NE(started.error().user_message.find(where), std::string::npos)
      << started.error().user_message;
  EXPECT_NE(started.error().user_message.find("in use"), std::string::npos)
      << started.error().user_message;
  second.stop();  // never started: a no-op
}

TEST_F(StatusServerTest, InvalidSettingsAreErrorValues) {
  for (const std::string address : {"localhost", "300.1.1.1", "", "::g"}) {
    auto settings = local_settings();
    settings.address = address;
    StatusServer server(settings, default_handler, logger_);
    const auto started = server.start();
    ASSERT_FALSE(started) << address;
    EXPECT_EQ(started.error().code, core::ErrorCode::config) << address;
    EXPECT_NE(started.error().user_message.find("'" + address + "'"), std::string::npos)
        << started.error().user_message;
  }
  auto settings = local_settings();
  settings.max_connections = 0;
  StatusServer server(settings, default_handler, logger_);
  ASSERT_FALSE(server.start());
}

TEST_F(StatusServerTest, StartTwiceIsAnErrorAndRestartAfterStopWorks) {
  auto server = start();
  const auto again = server->start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);
  ASSERT_TRUE(get(server->port(), "/healthz"));
  server->stop();
  ASSERT_TRUE(server->start());
  auto fresh = core::http::make_curl_client({});
  core::http::Request request;
  request.url = url(server->port(), "/healthz");
  auto response = fresh->send(request);
  ASSERT_TRUE(response) << response.error().user_message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(StatusServerTest, LogsListeningOnceAtInfo) {
  auto server = start();
  const auto lines = log_lines_containing("status server listening on");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" info "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("127.0.0.1:" + std::to_string(server->port())), std::string::npos)
      << lines[0];
}

TEST_F(StatusServerTest, StopIsIdempotentClosesConnectionsAndThePortRefuses) {
  auto server = start();
  const auto port = server->port();
  ASSERT_TRUE(get(port, "/healthz"));
  RawConnection idle(port);
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_FALSE(idle.read_response().empty());

  server->stop();
  server->stop();
  bool closed = false;
  idle.read_until_closed(closed);
  EXPECT_TRUE(closed) << "an open keep-alive connection survived stop()";

  auto fresh = core::http::make_curl_client({});
  core::http::Request request;
  request.url = url(port, "/healthz");
  request.connect_timeout = 1000ms;
  const auto refused = fresh->send(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::unavailable);
  RawConnection after(port);
  EXPECT_FALSE(after.connected());
}

TEST_F(StatusServerTest, ManyConcurrentClients) {
  std::atomic<int> calls = 0;
  auto server = start([&](std::string_view path) {
    ++calls;
    return default_handler(path);
  });
  constexpr int kClients = 16;
  constexpr int kRequests = 10;
  std::atomic<int> ok = 0;
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, port = server->port()] {
      auto client = core::http::make_curl_client({});
      for (int i = 0; i < kRequests; ++i) {
        core::http::Request request;
        request.url = url(port, i % 2 ? "/healthz" : "/metrics");
        request.total_timeout = 2000ms;
        auto response = client->send(request);
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok, kClients * kRequests);
  EXPECT_EQ(calls, kClients * kRequests);
}

TEST_F(StatusServerTest, ConnectionsOverTheLimitAreClosedAtOnce) {
  auto settings = local_settings();
  settings.max_connections = 1;
  auto server = start(default_handler, settings);
  auto first = std::make_unique<RawConnection>(server->port());
  ASSERT_TRUE(first->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_FALSE(first->read_response().empty());  // accepted and counted

  RawConnection second(server->port());
  ASSERT_TRUE(second.connected());  // the kernel accepts; the server closes it
  second.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(second.read_until_closed(closed), "");
  EXPECT_TRUE(closed);

  // The first connection still works, and once it is gone a new one is served.
  ASSERT_TRUE(first->send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(first->read_response().ends_with("up 1\n"));
  first.reset();
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    RawConnection third(server->port());
    third.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    served = !third.read_response().empty();
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served) << "the slot of a closed connection was never freed";
}

class StatusServerAddressTest : public StatusServerTest,
                                public testing::WithParamInterface<const char*> {};

TEST_P(StatusServerAddressTest, ListensAndServes) {
  auto settings = local_settings();
  settings.address = GetParam();
  StatusServer server(settings, default_handler, logger_);
  const auto started = server.start();
  const std::string address = GetParam();
  const bool v6 = address.find(':') != std::string::npos;
  if (!started && v6) GTEST_SKIP() << "no IPv6 here: " << started.error().user_message;
  ASSERT_TRUE(started) << started.error().user_message;
  // "::" on Linux is dual-stack unless net.ipv6.bindv6only is set: try v6 loopback then v4.
  const std::string host = address == "::1" || address == "::" ? "[::1]" : "127.0.0.1";
  core::http::Request request;
  request.url = "http://" + host + ":" + std::to_string(server.port()) + "/healthz";
  request.total_timeout = 2000ms;
  auto response = client_->send(request);
  ASSERT_TRUE(response) << request.url << ": " << response.error().user_message;
  EXPECT_EQ(response->body, "ok\n");
  const auto lines = log_lines_containing("status server listening on");
  ASSERT_EQ(lines.size(), 1u);
  const auto shown = v6 ? "[" + address + "]:" : address + ":";
  EXPECT_NE(lines[0].find(shown + std::to_string(server.port())), std::string::npos) << lines[0];
}

INSTANTIATE_TEST_SUITE_P(Addresses, StatusServerAddressTest,
                         testing::Values("127.0.0.1", "0.0.0.0", "::1", "::"),
                         [](const testing::TestParamInfo<const char*>& param) {
                           const std::string address = param.param;
                           if (address == "127.0.0.1") return std::string("Ipv4Loopback");
                           if (address == "0.0.0.0") return std::string("Ipv4Any");
                           if (address == "::1") return std::string("Ipv6Loopback");
                           return std::string("Ipv6Any");
                         });

}  // namespace
