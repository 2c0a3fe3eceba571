// core::http::make_curl_client against tests/fakes/http_fake.py (HTTP and HTTPS on
// loopback) and raw sockets: the exact bytes of headers on the wire, error
// classification (unavailable vs indeterminate), limits, reuse and concurrency.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

using namespace std::chrono_literals;
using core::ErrorCode;
using core::http::Headers;
using core::http::Request;
using core::http::Response;
using testing::HasSubstr;
using testing::Not;

// One request as the fake saw it (see the top of http_fake.py).
struct Seen {
  std::string method;
  std::string path;
  Headers headers;
  std::int64_t body_len = 0;
  std::int64_t client_port = 0;
  bool tls = false;
};

Seen parse_seen(const std::string& line) {
  Seen seen;
  auto document = core::json::parse(line);
  if (!document) {
    ADD_FAILURE() << "fake printed a line that is not JSON: " << line;
    return seen;
  }
  const auto& d = *document;
  seen.method = std::string(core::json::get_string(d, "method").value_or(""));
  seen.path = std::string(core::json::get_string(d, "path").value_or(""));
  seen.body_len = core::json::get_int(d, "body_len").value_or(-1);
  seen.client_port = core::json::get_int(d, "client_port").value_or(-1);
  seen.tls = core::json::get_bool(d, "tls").value_or(false);
  if (const auto* headers = core::json::get_array(d, "headers")) {
    for (const auto& pair : headers->GetArray()) {
      seen.headers.emplace_back(pair[0].GetString(), pair[1].GetString());
    }
  }
  return seen;
}

class HttpFake {
 public:
  explicit HttpFake(bool tls = false)
      : tls_(tls),
        process_(std::string(FAKES_DIR) + "/http_fake.py",
                 tls ? std::vector<std::string>{"--tls", test::test_tls().cert_file,
                                                test::test_tls().key_file}
                     : std::vector<std::string>{}) {}

  bool started() const { return process_.port() > 0; }
  int port() const { return process_.port(); }
  std::string url(const std::string& path) const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port()) + path;
  }
  /// Waits for `count` requests, then returns all seen so far.
  std::vector<Seen> seen(std::size_t count) const {
    EXPECT_TRUE(process_.wait_for_lines(count, 5s)) << "fake saw fewer than " << count;
    std::vector<Seen> out;
    for (const auto& line : process_.lines()) out.push_back(parse_seen(line));
    return out;
  }
  std::size_t count() const { return process_.lines().size(); }

 private:
  bool tls_;
  test::PythonFake process_;
};

std::unique_ptr<core::http::Client> plain_client(std::size_t max_bytes = 16 * 1024 * 1024) {
  return core::http::make_curl_client({"", max_bytes});
}
std::unique_ptr<core::http::Client> tls_client(std::size_t max_bytes = 16 * 1024 * 1024) {
  return core::http::make_curl_client({test::test_tls().ca_file, max_bytes});
}

Request get(std::string url) {
  Request request;
  request.url = std::move(url);
  request.connect_timeout = 2s;
  request.total_timeout = 5s;
  return request;
}

Request post(std::string url, std::string body, Headers headers = {}) {
  Request request = get(std::move(url));
  request.method = "POST";
  request.body = std::move(body);
  request.headers = std::move(headers);
  return request;
}

// Same bytes as http_fake.py's pattern().
std::string fake_pattern(std::size_t n) {
  const std::string unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n";
  std::string out;
  out.reserve(n);
  while (out.size() + unit.size() <= n) out += unit;
  out += unit.substr(0, n - out.size());
  return out;
}

std::string describe(const core::Result<Response>& result) {
  if (result) return "status " + std::to_string(result->status);
  return std::string(core::to_string(result.error().code)) + ": " + result.error().detail;
}

// A loopback TCP socket bound to port 0; listening (never accepting) when asked.
class RawSocket {
 public:
  explicit RawSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    if (listening) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    }
  }
  /// Fills the accept queue (backlog 0) so that further SYNs are dropped: a connect to
  /// this port then hangs until its timeout (Linux).
  void listen_full() {
    ASSERT_EQ(::listen(fd_, 0), 0);
    for (int i = 0; i < 4; ++i) {
      const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(port_));
      (void)::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
      fillers_.push_back(filler);
    }
    std::this_thread::sleep_for(50ms);
  }
  ~RawSocket() {
    close();
    for (int filler : fillers_) ::close(filler);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// --- the request on the wire ---------------------------------------------------------

TEST(CurlClient, GetSendsOnlyHostAndUserAgent) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  auto response = client->send(get(fake.url("/echo?a=1&b=%2F")));
  ASSERT_TRUE(response) << describe(response);
  EXPECT_EQ(response->status, 200);
  const auto seen = fake.seen(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/echo?a=1&b=%2F");  // sent as given, not re-encoded
  const Headers expected{{"Host", "127.0.0.1:" + std::to_string(fake.port())},
                         {"User-Agent", "infra-bot"}};
  EXPECT_EQ(seen[0].headers, expected);  // no Accept: */*
  EXPECT_FALSE(seen[0].tls);
}

TEST(CurlClient, PostSendsTheCallersHeadersInOrderAndNothingElse) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  const Headers headers{
      {"X-Amz-Date", "20240101T000000Z"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature=ab"},
      {"Content-Type", "application/json"},
      {"X-Amz-Invocation-Type", "RequestResponse"},
      {"X-Empty", ""}};
  const std::string body = R"({"action":"status"})";
  auto response = client->send(post(fake.url("/echo"), body, headers));
  ASSERT_TRUE(response) << describe(response);
  const auto seen = fake.seen(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body_len, static_cast<std::int64_t>(body.size()));
  Headers expected{{"Host", "127.0.0.1:" + std::to_string(fake.port())},
                   {"User-Agent", "infra-bot"}};
  expected.insert(expected.end(), headers.begin(), headers.end());
  expected.emplace_back("Content-Length", std::to_string(body.size()));
  EXPECT_EQ(seen[0].headers, expected);
}

TEST(CurlClient, LargePostHasNoExpectAndNoImplicitContentType) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  // curl adds "Expect: 100-continue" above 1 MB and a form Content-Type on every POST.
  const std::string body = fake_pattern(1536 * 1024);
  auto response = client->send(post(fake.url("/body"), body));
  ASSERT_TRUE(response) << describe(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body == body) << "echoed body differs";
  const auto seen = fake.seen(1);
  ASSERT_EQ(seen.size(), 1u);
  const Headers expected{{"Host", "127.0.0.1:" + std::to_string(fake.port())},
                         {"User-Agent", "infra-bot"},
                         {"Content-Length", std::to_string(body.size())}};
  EXPECT_EQ(seen[0].headers, expected);
}

TEST(CurlClient, CallerUserAgentAcceptAndHostReplaceTheDefaults) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  Request request = get(fake.url("/echo"));
  request.headers = {{"Host", "lambda.eu-west-1.amazonaws.com"},
                     {"User-Agent", "custom/1.0"},
                     {"Accept", "application/json"}};
  auto response = client->send(request);
  ASSERT_TRUE(response) << describe(response);
  const auto seen = fake.seen(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers, request.headers);
}

TEST(CurlClient, OtherMethods) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  Request del = get(fake.url("/status/204"));
  del.method = "DELETE";
  Request put = post(fake.url("/echo"), "");
  put.method = "PUT";
  Request head = get(fake.url("/big/10"));
  head.method = "HEAD";
  Request patch = post(fake.url("/echo"), "{}", {{"Content-Type", "application/json"}});
  patch.method = "PATCH";
  for (const auto* request : {&del, &put, &head, &patch}) {
    auto response = client->send(*request);
    ASSERT_TRUE(response) << request->method << ": " << describe(response);
  }
  const auto seen = fake.seen(4);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "DELETE");
  EXPECT_EQ(seen[0].headers.size(), 2u);  // Host, User-Agent: no body, no Content-Length
  EXPECT_EQ(seen[1].method, "PUT");
  EXPECT_EQ(seen[1].headers.back(), (std::pair<std::string, std::string>{"Content-Length", "0"}));
  EXPECT_EQ(seen[2].method, "HEAD");
  EXPECT_EQ(seen[3].method, "PATCH");
  EXPECT_EQ(seen[3].body_len, 2);
}

// --- the response --------------------------------------------------------------------

TEST(CurlClient, ResponseHeadersKeepOrderAndLookupIgnoresCase) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  auto response = client->send(get(fake.url(
      "/status/503?h=X-Amzn-ErrorType%3AServiceException&h=x-multi%3Aone&h=X-Multi%3Atwo")));
  ASSERT_TRUE(response) << describe(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"status": 503})");
  EXPECT_EQ(response->header("x-amzn-errortype"), "ServiceException");
  EXPECT_EQ(response->header("X-AMZN-ERRORTYPE"), "ServiceException");
  EXPECT_EQ(response->header("X-Multi"), "one");  // the first of repeated headers
  EXPECT_EQ(response->header("Content-Length"), "15");
  EXPECT_EQ(response->header("X-Missing"), std::nullopt);
  const Headers expected{{"Content-Type", "application/json"},
                         {"X-Amzn-ErrorType", "ServiceException"},
                         {"x-multi", "one"},
                         {"X-Multi", "two"},
                         {"Content-Length", "15"}};
  EXPECT_EQ(response->headers, expected);
}

TEST(CurlClient, ClientAndServerErrorStatusesAreResponses) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  for (long status : {400L, 403L, 404L, 429L, 500L, 502L, 504L}) {
    auto response = client->send(get(fake.url("/status/" + std::to_string(status))));
    ASSERT_TRUE(response) << status << ": " << describe(response);
    EXPECT_EQ(response->status, status);
  }
}

TEST(CurlClient, HttpsGetAndPostWithTheTestCa) {
  HttpFake fake(/*tls=*/true);
  ASSERT_TRUE(fake.started());
  auto client = tls_client();
  auto got = client->send(get(fake.url("/echo")));
  ASSERT_TRUE(got) << describe(got);
  EXPECT_EQ(got->status, 200);
  auto posted = client->send(post(fake.url("/body"), "payload", {{"Content-Type", "text/plain"}}));
  ASSERT_TRUE(posted) << describe(posted);
  EXPECT_EQ(posted->body, "payload");
  const auto seen = fake.seen(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].tls);
  EXPECT_EQ(seen[1].headers.size(), 4u);  // Host, User-Agent, Content-Type, Content-Length
  EXPECT_EQ(seen[0].client_port, seen[1].client_port);
}

TEST(CurlClient, SixMegabyteBodyArrivesIntact) {
  HttpFake fake(/*tls=*/true);
  ASSERT_TRUE(fake.started());
  auto client = tls_client();
  constexpr std::size_t size = 6 * 1024 * 1024;
  auto response = client->send(get(fake.url("/big/" + std::to_string(size))));
  ASSERT_TRUE(response) << describe(response);
  ASSERT_EQ(response->body.size(), size);
  EXPECT_TRUE(response->body == fake_pattern(size)) << "body differs";
}

// --- failures: unavailable (nothing sent) ---------------------------------------------

TEST(CurlClient, WrongCaIsUnavailable) {
  HttpFake fake(/*tls=*/true);
  ASSERT_TRUE(fake.started());
  auto client = core::http::make_curl_client({test::test_tls().other_ca_file});
  auto response = client->send(get(fake.url("/echo")));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::unavailable) << response.error().detail;
  EXPECT_THAT(response.error().detail, HasSubstr("TLS"));
  EXPECT_THAT(response.error().detail, HasSubstr("127.0.0.1:" + std::to_string(fake.port())));
  EXPECT_FALSE(response.error().user_message.empty());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fake.count(), 0u);
}

TEST(CurlClient, NothingListeningIsUnavailable) {
  RawSocket socket(/*listening=*/false);
  const int port = socket.port();
  socket.close();
  auto client = plain_client();
  auto response = client->send(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::unavailable);
  EXPECT_EQ(response.error().detail, "connect to 127.0.0.1:" + std::to_string(port) + " refused");
}

TEST(CurlClient, ConnectTimeoutIsUnavailable) {
  RawSocket socket(/*listening=*/false);
  socket.listen_full();
  auto client = plain_client();
  Request request = post("http://127.0.0.1:" + std::to_string(socket.port()) + "/", "{}");
  request.connect_timeout = 300ms;
  auto response = client->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::unavailable) << response.error().detail;
  EXPECT_EQ(response.error().detail,
            "timed out after 300 ms connecting to 127.0.0.1:" + std::to_string(socket.port()));
}

TEST(CurlClient, StalledTlsHandshakeIsUnavailable) {
  RawSocket socket(/*listening=*/true);  // the kernel accepts; nobody ever answers
  auto client = plain_client();          // no CA needed: the handshake never gets that far
  Request request = get("https://127.0.0.1:" + std::to_string(socket.port()) + "/");
  request.connect_timeout = 300ms;
  auto response = client->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::unavailable);
  EXPECT_EQ(response.error().detail, "timed out after 300 ms in the TLS handshake with 127.0.0.1:" +
                                         std::to_string(socket.port()));
}

TEST(CurlClient, UnreadableCaFileIsAConfigError) {
  RawSocket socket(/*listening=*/true);
  auto client = core::http::make_curl_client({"/nonexistent/ca.pem"});
  Request request = get("https://127.0.0.1:" + std::to_string(socket.port()) + "/");
  request.connect_timeout = 500ms;
  auto response = client->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::config) << response.error().detail;
  EXPECT_THAT(response.error().detail, HasSubstr("SSL_CERT_FILE"));
}

TEST(CurlClient, MalformedRequestsAreRefusedBeforeSending) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  Request bad_scheme = get("ftp://127.0.0.1:" + std::to_string(fake.port()) + "/");
  Request bad_url = get("not a url");
  Request bad_method = get(fake.url("/echo"));
  bad_method.method = "GET /x";
  Request injected = get(fake.url("/echo"));
  injected.headers = {{"X-Token", "abc\r\nX-Evil: 1"}};
  Request bad_name = get(fake.url("/echo"));
  bad_name.headers = {{"X Token", "abc"}};
  Request chunked = post(fake.url("/echo"), "x", {{"Transfer-Encoding", "chunked"}});
  Request wrong_length = post(fake.url("/echo"), "xyz", {{"Content-Length", "2"}});
  for (const auto* request :
       {&bad_scheme, &bad_url, &bad_method, &injected, &bad_name, &chunked, &wrong_length}) {
    auto response = client->send(*request);
    ASSERT_FALSE(response) << request->url;
    EXPECT_EQ(response.error().code, ErrorCode::invalid_input) << response.error().detail;
    EXPECT_THAT(response.error().detail, Not(HasSubstr("abc")));
  }
  Request right_length = post(fake.url("/echo"), "xyz", {{"Content-Length", "3"}});
  auto response = client->send(right_length);
  ASSERT_TRUE(response) << describe(response);
  EXPECT_EQ(fake.seen(1).size(), 1u);  // only the valid one arrived
}

// --- failures: indeterminate (the server may have seen the request) -------------------

TEST(CurlClient, NoAnswerBeforeTheTotalTimeoutIsIndeterminate) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  Request request = get(fake.url("/never"));
  request.total_timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  auto response = client->send(request);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::indeterminate);
  EXPECT_EQ(response.error().detail,
            "timed out after 500 ms waiting for the response from 127.0.0.1:" +
                std::to_string(fake.port()));
  EXPECT_GE(took, 450ms);
  EXPECT_EQ(fake.seen(1).size(), 1u);  // the server did get it
}

TEST(CurlClient, TimeoutWhileReadingTheBodyIsIndeterminate) {
  RawSocket socket(/*listening=*/true);  // kernel-accepted, request sits unread
  auto client = plain_client();
  Request request = post("http://127.0.0.1:" + std::to_string(socket.port()) + "/", "{}");
  request.total_timeout = 300ms;
  auto response = client->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::indeterminate) << response.error().detail;
}

TEST(CurlClient, ConnectionClosedAfterTheRequestIsIndeterminate) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  for (const char* path :
       {"/close-before-response", "/reset-before-response", "/close-after-headers"}) {
    auto client = plain_client();  // fresh: no reused connection
    auto response = client->send(post(fake.url(path), "{}"));
    ASSERT_FALSE(response) << path;
    EXPECT_EQ(response.error().code, ErrorCode::indeterminate)
        << path << ": " << response.error().detail;
    EXPECT_THAT(response.error().detail, HasSubstr("127.0.0.1:" + std::to_string(fake.port())));
  }
  EXPECT_EQ(fake.seen(3).size(), 3u);
}

TEST(CurlClient, RequestOnADyingReusedConnectionIsNotResent) {
  // curl by itself re-sends a request whose reused connection dies before any response
  // byte; for a Lambda invoke that would run the function twice.
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  for (const char* path : {"/reset-before-response", "/close-before-response"}) {
    auto warm = client->send(get(fake.url("/echo")));
    ASSERT_TRUE(warm) << describe(warm);
    auto response = client->send(post(fake.url(path), R"({"action":"teardown"})"));
    ASSERT_FALSE(response) << path;
    EXPECT_EQ(response.error().code, ErrorCode::indeterminate)
        << path << ": " << response.error().detail;
  }
  std::this_thread::sleep_for(200ms);  // a re-send would show up here
  const auto seen = fake.seen(4);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].path, "/reset-before-response");
  EXPECT_EQ(seen[3].path, "/close-before-response");
  // ...and the client recovers on a fresh connection.
  auto after = client->send(get(fake.url("/echo")));
  EXPECT_TRUE(after) << describe(after);
}

TEST(CurlClient, BodyOverTheLimitIsIndeterminate) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client(/*max_bytes=*/100000);
  // Known length (refused from Content-Length) and chunked (refused while reading).
  for (const char* path : {"/big/100001", "/big-chunked/300000"}) {
    auto response = client->send(get(fake.url(path)));
    ASSERT_FALSE(response) << path;
    EXPECT_EQ(response.error().code, ErrorCode::indeterminate);
    EXPECT_THAT(response.error().detail, HasSubstr("exceeds max_response_bytes (100000)"));
  }
  auto at_limit = client->send(get(fake.url("/big-chunked/100000")));
  ASSERT_TRUE(at_limit) << describe(at_limit);
  EXPECT_EQ(at_limit->body.size(), 100000u);
}

TEST(CurlClient, NoHeaderValueInAnyError) {
  const std::string secret = "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a";
  const Headers headers{
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101, " + secret},
      {"X-Amz-Security-Token", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3Qt"}};
  HttpFake fake;
  HttpFake tls_fake(/*tls=*/true);
  ASSERT_TRUE(fake.started() && tls_fake.started());
  RawSocket closed(/*listening=*/false);
  const int closed_port = closed.port();
  closed.close();
  RawSocket silent(/*listening=*/true);

  std::vector<std::pair<std::unique_ptr<core::http::Client>, Request>> cases;
  auto add = [&](std::unique_ptr<core::http::Client> client, std::string url) {
    Request request = post(std::move(url), "{}", headers);
    request.connect_timeout = 300ms;
    request.total_timeout = 400ms;
    cases.emplace_back(std::move(client), std::move(request));
  };
  add(plain_client(), "http://127.0.0.1:" + std::to_string(closed_port) + "/");
  add(plain_client(), "http://127.0.0.1:" + std::to_string(silent.port()) + "/");
  add(tls_client(), "https://127.0.0.1:" + std::to_string(silent.port()) + "/");
  add(core::http::make_curl_client({test::test_tls().other_ca_file}), tls_fake.url("/echo"));
  add(plain_client(), fake.url("/never"));
  add(plain_client(), fake.url("/reset-before-response"));
  add(plain_client(), fake.url("/close-after-headers"));
  add(plain_client(100), fake.url("/big/1000"));
  add(plain_client(), "http://no-such-host.invalid/");
  for (auto& [client, request] : cases) {
    auto response = client->send(request);
    ASSERT_FALSE(response) << request.url;
    const auto& error = response.error();
    for (const auto& [name, value] : headers) {
      EXPECT_THAT(error.detail, Not(HasSubstr(value))) << request.url;
      EXPECT_THAT(error.user_message, Not(HasSubstr(value)));
    }
    EXPECT_THAT(error.detail, Not(HasSubstr(secret)));
    EXPECT_THAT(error.detail, Not(HasSubstr("AKIDEXAMPLE")));
  }
}

// --- reuse and concurrency -------------------------------------------------------------

TEST(CurlClient, SequentialCallsReuseOneConnection) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  for (int i = 0; i < 5; ++i) {
    auto response =
        client->send(i % 2 == 0 ? get(fake.url("/echo")) : post(fake.url("/echo"), "x"));
    ASSERT_TRUE(response) << describe(response);
  }
  const auto seen = fake.seen(5);
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& request : seen) EXPECT_EQ(request.client_port, seen[0].client_port);
}

TEST(CurlClient, SlowCallDoesNotDelayAConcurrentFastCall) {
  HttpFake fake;
  ASSERT_TRUE(fake.started());
  auto client = plain_client();
  using Clock = std::chrono::steady_clock;
  Clock::time_point slow_done;
  Clock::time_point fast_done;
  core::Result<Response> slow = core::make_error(ErrorCode::internal, "not run");
  std::thread slow_thread([&] {
    slow = client->send(get(fake.url("/delay/1500")));
    slow_done = Clock::now();
  });
  ASSERT_TRUE(fake.seen(1).size() == 1u);  // the slow request is with the server
  auto fast = client->send(get(fake.url("/echo")));
  fast_done = Clock::now();
  slow_thread.join();
  ASSERT_TRUE(fast) << describe(fast);
  ASSERT_TRUE(slow) << describe(slow);
  EXPECT_EQ(slow->body, "delayed 1500");
  EXPECT_LT(fast_done, slow_done);
}

TEST(CurlClient, EightThreadsTwentyRequestsEach) {
  HttpFake fake(/*tls=*/true);
  ASSERT_TRUE(fake.started());
  auto client = tls_client();
  std::atomic<int> ok{0};
  std::vector<std::string> failures(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string body = "thread " + std::to_string(t) + " call " + std::to_string(i);
        auto response = t % 2 == 0 ? client->send(post(fake.url("/body"), body))
                                   : client->send(get(fake.url("/status/200")));
        if (response && response->status == 200 && (t % 2 != 0 || response->body == body)) {
          ++ok;
        } else {
          failures[static_cast<std::size_t>(t)] = describe(response);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 160);
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  const auto seen = fake.seen(160);
  EXPECT_EQ(seen.size(), 160u);
  std::set<std::int64_t> ports;
  for (const auto& request : seen) ports.insert(request.client_port);
  EXPECT_LE(ports.size(), 8u) << "each concurrent call should keep its connection";
}

}  // namespace
