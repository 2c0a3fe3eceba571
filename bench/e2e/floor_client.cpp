// floor_client: the floor of the end-to-end load benchmark (bench/e2e/run.sh).
//
// A minimal Socket Mode client with no application logic: it calls
// apps.connections.open over HTTPS (libcurl), connects to the returned wss:// URL
// (websocketpp, asio TLS, peer and host name verified) and answers every frame that
// carries an "envelope_id" with {"envelope_id":"..."} at once, on the io thread. What the
// load generator measures against it is the harness itself: TLS, WebSocket framing and
// the loopback, twice.
//
// Environment: SLACK_API_URL (…/api/), SLACK_APP_TOKEN, SSL_CERT_FILE (CA bundle).
// Exits 0 when the connection closes, 1 when it cannot connect. C++17 (websocketpp).

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <curl/curl.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wcast-function-type"
#include <boost/asio/ssl/host_name_verification.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#pragma GCC diagnostic pop

namespace {

using Client = websocketpp::client<websocketpp::config::asio_tls_client>;
namespace asio = boost::asio;

std::string env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

/// POST apps.connections.open; the wss:// URL or "" (reason on stderr).
std::string open_connection(const std::string& api, const std::string& token,
                            const std::string& ca) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {};
  std::string body;
  const std::string url = api + "apps.connections.open";
  const std::string auth = "Authorization: Bearer " + token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  if (!ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    std::fprintf(stderr, "floor_client: apps.connections.open: %s\n", curl_easy_strerror(rc));
    return {};
  }
  // {"ok":true,"url":"wss://…"} — Slack may escape '/' as "\/".
  const auto at = body.find("\"url\"");
  const auto q = at == std::string::npos ? at : body.find('"', body.find(':', at) + 1);
  const auto e = q == std::string::npos ? q : body.find('"', q + 1);
  if (e == std::string::npos || body.find("\"ok\":true") == std::string::npos) {
    std::fprintf(stderr, "floor_client: apps.connections.open answered %s\n", body.c_str());
    return {};
  }
  std::string wss;
  for (auto i = q + 1; i < e; ++i) {
    if (body[i] == '\\' && i + 1 < e) ++i;
    wss += body[i];
  }
  return wss;
}

}  // namespace

int main() {
  const std::string api = env("SLACK_API_URL", "https://slack.com/api/");
  const std::string token = env("SLACK_APP_TOKEN");
  const std::string ca = env("SSL_CERT_FILE");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string url = open_connection(api, token, ca);
  if (url.empty()) return 1;

  Client client;
  client.clear_access_channels(websocketpp::log::alevel::all);
  client.clear_error_channels(websocketpp::log::elevel::all);
  client.init_asio();
  std::string host;
  client.set_tls_init_handler([&](websocketpp::connection_hdl) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (!ca.empty()) {
      ctx->load_verify_file(ca);
    } else {
      ctx->set_default_verify_paths();
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    ctx->set_verify_callback(asio::ssl::host_name_verification(host));
    return ctx;
  });
  int exit_code = 1;
  client.set_open_handler([&](websocketpp::connection_hdl h) {
    websocketpp::lib::asio::error_code ec;
    client.get_con_from_hdl(h)->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ec);
    exit_code = 0;
  });
  client.set_fail_handler([&](websocketpp::connection_hdl h) {
    auto c = client.get_con_from_hdl(h);
    std::fprintf(stderr, "floor_client: WebSocket connect failed: %s (HTTP %d)\n",
                 c->get_ec().message().c_str(), static_cast<int>(c->get_response_code()));
  });
  std::string ack;
  client.set_message_handler([&](websocketpp::connection_hdl h, Client::message_ptr msg) {
    const std::string& text = msg->get_payload();
    static constexpr char kKey[] = "\"envelope_id\"";
    const auto at = text.find(kKey);
    if (at == std::string::npos) return;  // hello, disconnect, …
    const auto q = text.find('"', text.find(':', at + sizeof kKey - 1) + 1);
    const auto e = q == std::string::npos ? q : text.find('"', q + 1);
    if (e == std::string::npos) return;
    ack.assign("{\"envelope_id\":");
    ack.append(text, q, e - q + 1);
    ack.push_back('}');
    websocketpp::lib::error_code ec;
    client.send(h, ack, websocketpp::frame::opcode::text, ec);
  });

  // The TLS init handler runs inside get_connection(): the host must be known before.
  host = websocketpp::uri(url).get_host();
  websocketpp::lib::error_code ec;
  auto con = client.get_connection(url, ec);
  if (ec) {
    std::fprintf(stderr, "floor_client: bad URL: %s\n", ec.message().c_str());
    return 1;
  }
  client.connect(con);
  client.run();  // until the connection closes
  curl_global_cleanup();
  return exit_code;
}
