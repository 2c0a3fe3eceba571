#pragma once

// test::FakeSlack — runs tests/fakes/fake_slack.py (a fake Slack: Web API, response_url
// endpoints and Socket Mode over TLS, on 127.0.0.1) and drives it through its control API.
// Everything the fake sees is an event (one JSON object per line, "event" names the kind; the
// full list is at the top of fake_slack.py). Tests assert on those events with waits that
// explain themselves on failure:
//
//   test::FakeSlack slack;
//   ASSERT_TRUE(slack.started());
//   // point the client at slack.api_url(), slack.app_token(), SSL_CERT_FILE = slack.ca_file()
//   ASSERT_TRUE(slack.wait_for_hello());                       // a connection got its hello
//   ASSERT_GT(slack.push(R"({"envelope_id":"e-1","type":"events_api","payload":{}})"), 0);
//   ASSERT_TRUE(slack.wait_for_ack("e-1"));
//   // on failure: "no ack of envelope 'e-1' within 5000 ms; last 12 of 40 events: ..."
//
// Connection ids ("conn") are 1, 2, 3… in order of WebSocket handshake. For push/push_raw,
// conn = kLowest (-1) means the lowest live connection and kSpread (-2) the next live one
// round-robin; for disconnect/drop/pause/close, conn = kAll (-1) means every live connection.
//
// Events travel from the fake through a pipe and a reader thread, so they can trail the
// fake's answers: wait for them (wait_for…), or call sync() before reading events()/count().
// wait_for_hello() means the fake SENT a hello, not that the client has processed it.
// Waits poll the fake's output; predicates see each event once, in arrival order, so they
// should be pure (no state of their own).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace test {

class FakeSlack {
 public:
  using Event = rapidjson::Value;
  using Predicate = std::function<bool(const Event&)>;

  static constexpr int kLowest = -1;  ///< push/push_raw: the lowest live connection
  static constexpr int kSpread = -2;  ///< push/push_many: round-robin over the live connections
  static constexpr int kAll = -1;     ///< disconnect/drop/pause/close: every live connection
  static constexpr std::chrono::milliseconds kDefaultWait{5000};

  struct Options {
    std::string app_token = "xapp-1-TEST";
    std::string bot_token = "xoxb-TEST";
    /// Seconds between the fake's own "Ping from applink-fake" pings (0 = none).
    double server_ping_interval = 10.0;
    /// More live connections than this: the newest gets disconnect "too_many_websockets".
    int max_connections = 10;
  };

  FakeSlack() : FakeSlack(Options{}) {}
  explicit FakeSlack(Options options)
      : options_(std::move(options)),
        process_(std::string(FAKES_DIR) + "/fake_slack.py",
                 {"--tls", test_tls().cert_file, test_tls().key_file, "--app-token",
                  options_.app_token, "--bot-token", options_.bot_token, "--server-ping-interval",
                  std::to_string(options_.server_ping_interval), "--max-connections",
                  std::to_string(options_.max_connections)}),
        http_(core::http::make_curl_client({test_tls().ca_file})) {}

  FakeSlack(const FakeSlack&) = delete;
  FakeSlack& operator=(const FakeSlack&) = delete;

  // ---- where things are -------------------------------------------------------------------

  bool started() const { return process_.port() > 0; }
  int port() const { return process_.port(); }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port()); }
  /// Web API base, as SLACK_API_URL: "https://127.0.0.1:<port>/api/".
  std::string api_url() const { return base_url() + "/api/"; }
  /// The CA that signed the fake's certificate (SSL_CERT_FILE / CurlSettings::ca_file).
  std::string ca_file() const { return test_tls().ca_file; }
  const std::string& app_token() const { return options_.app_token; }
  const std::string& bot_token() const { return options_.bot_token; }
  /// A response_url served by the fake (5 uses, then 404 expired_url).
  std::string response_url(std::string_view id) const {
    return base_url() + "/response/" + std::string(id);
  }

  // ---- control ----------------------------------------------------------------------------

  /// POSTs `json_body` to /control/<op>; the parsed answer (a null document when the fake
  /// could not be reached or did not answer JSON; the reason goes to the test log).
  rapidjson::Document control(std::string_view op, std::string_view json_body = "{}") {
    rapidjson::Document result;
    core::http::Request request;
    request.method = "POST";
    request.url = base_url() + "/control/" + std::string(op);
    request.headers = {{"Content-Type", "application/json"}};
    request.body = std::string(json_body);
    request.total_timeout = std::chrono::milliseconds(70000);  // push of many frames: 60 s
    auto response = http_->send(request);
    if (!response) {
      ADD_FAILURE() << "fake_slack control " << op << ": no answer (" << response.error().detail
                    << ")";
      return result;
    }
    auto parsed = core::json::parse(response->body);
    if (!parsed) {
      ADD_FAILURE() << "fake_slack control " << op << ": not JSON: " << response->body;
      return result;
    }
    return std::move(*parsed);
  }

  /// Sends `frame_json` (a JSON object's text) as one text frame. Returns the connection id it
  /// went to, or 0 when there was no live connection.
  int push(std::string_view frame_json, int conn = kLowest) {
    return conn_of(control("push", "{\"conn\":" + conn_spec(conn, false) +
                                       ",\"frame\":" + std::string(frame_json) + "}"));
  }
  /// Like push(), and then behaves as Slack does with an envelope nobody acks: every `after`
  /// until it is acked (at most `max_retries` times), the same envelope again with
  /// retry_attempt + 1 and retry_reason "timeout", to the lowest live connection.
  int push_until_acked(std::string_view frame_json, std::chrono::milliseconds after,
                       int max_retries = 3, int conn = kLowest) {
    return conn_of(control("push", "{\"conn\":" + conn_spec(conn, false) +
                                       ",\"frame\":" + std::string(frame_json) +
                                       ",\"redeliver_after_ms\":" + std::to_string(after.count()) +
                                       ",\"max_retries\":" + std::to_string(max_retries) + "}"));
  }
  /// Sends each of `frames_json` (JSON objects' text) as one text frame, in order, in one
  /// control call (kSpread deals them round-robin over the live connections). Returns how many
  /// frames were sent.
  int push_many(const std::vector<std::string>& frames_json, int conn = kSpread) {
    std::string body = "{\"conn\":" + conn_spec(conn, false) + ",\"frames\":[";
    for (std::size_t i = 0; i < frames_json.size(); ++i) {
      if (i > 0) body += ',';
      body += frames_json[i];
    }
    body += "]}";
    return count_of(control("push", body));
  }
  /// Sends `text` verbatim (malformed JSON, empty text…). Same result as push().
  int push_raw(std::string_view text, int conn = kLowest) {
    return conn_of(control("push_raw", "{\"conn\":" + conn_spec(conn, false) +
                                           ",\"text\":" + core::json::quote(text) + "}"));
  }
  /// Sends a `disconnect` message with `reason` (refresh_requested, warning,
  /// too_many_websockets, link_disabled) to `conn` (kAll = every live one); `close` then closes
  /// the socket with a close frame. Returns how many connections got it.
  int disconnect(std::string_view reason, int conn = kAll, bool close = false) {
    return count_of(control("disconnect", "{\"conn\":" + conn_spec(conn, true) +
                                              ",\"reason\":" + core::json::quote(reason) +
                                              ",\"close\":" + (close ? "true" : "false") + "}"));
  }
  /// A close frame (`code`), no disconnect message. Returns how many connections.
  int close(int conn = kAll, int code = 1000) {
    return count_of(control(
        "close", "{\"conn\":" + conn_spec(conn, true) + ",\"code\":" + std::to_string(code) + "}"));
  }
  /// Aborts the TCP connection(s), no close frame. Returns how many connections.
  /// discard_unread: the client frames the fake has not handled yet are lost too (after
  /// pause(), what the client wrote into the dying socket never arrives).
  int drop(int conn = kAll, bool discard_unread = false) {
    return count_of(control("drop", "{\"conn\":" + conn_spec(conn, true) + ",\"discard_unread\":" +
                                        (discard_unread ? "true" : "false") + "}"));
  }
  /// paused = true: the fake stops reading that socket (the client's frames, pings and close
  /// frame wait unanswered) and stops its own pings — a zombie link. false resumes.
  int pause(int conn = kAll, bool paused = true) {
    return count_of(control("pause", "{\"conn\":" + conn_spec(conn, true) +
                                         ",\"paused\":" + (paused ? "true" : "false") + "}"));
  }
  /// The next `count` calls of `method` (a Web API method, "response_url" or "ws.connect")
  /// get `status` with `headers_json` (an object, e.g. {"Retry-After":"2"}) and `body_json`
  /// (empty: {"ok":false,"error":"ratelimited"} for 429, "internal_error" otherwise).
  bool fail_next(std::string_view method, int count, int status,
                 std::string_view headers_json = "{}", std::string_view body_json = "") {
    std::string body = "{\"method\":" + core::json::quote(method) +
                       ",\"count\":" + std::to_string(count) +
                       ",\"status\":" + std::to_string(status) +
                       ",\"headers\":" + std::string(headers_json.empty() ? "{}" : headers_json);
    if (!body_json.empty()) body += ",\"body\":" + std::string(body_json);
    body += "}";
    return ok(control("fail_next", body));
  }
  /// The next `count` calls of `method` wait `delay` and are then answered normally.
  bool delay_next(std::string_view method, int count, std::chrono::milliseconds delay) {
    return ok(control("fail_next", "{\"method\":" + core::json::quote(method) +
                                       ",\"count\":" + std::to_string(count) +
                                       ",\"delay_ms\":" + std::to_string(delay.count()) + "}"));
  }
  /// The next `count` calls of `method` are read and then the connection is closed, no answer.
  bool hang_up_next(std::string_view method, int count = 1) {
    return ok(control("fail_next", "{\"method\":" + core::json::quote(method) + ",\"count\":" +
                                       std::to_string(count) + ",\"action\":\"close\"}"));
  }
  /// Changes the fake's settings (e.g. R"({"send_hello":false})"):
  ///   send_hello (true), hello_delay_ms (0), server_ping_interval (s, 0 = none),
  ///   max_connections (10), connection_lifetime (s, 0 = unlimited: after it the fake sends
  ///   disconnect refresh_requested, then closes refresh_grace (5) s later).
  bool config(std::string_view json_object) { return ok(control("config", json_object)); }
  /// {"live":[ids],"paused":[ids],"opened":n,"acks":n,"api_calls":{method:n},
  ///  "response_urls":{id:n},"tickets_issued":n,"ws_refused":n,"pushed":n,...}
  rapidjson::Document state() { return control("state"); }
  /// Live connection ids, lowest first.
  std::vector<int> live() {
    std::vector<int> ids;
    auto s = state();
    if (const auto* list = s.IsObject() ? core::json::get_array(s, "live") : nullptr) {
      for (const auto& id : list->GetArray()) {
        if (id.IsInt()) ids.push_back(id.GetInt());
      }
    }
    return ids;
  }
  /// Clears fail_next rules and counters (live connections stay).
  bool reset() { return ok(control("reset")); }
  /// Returns once every event the fake emitted before this call has been read (events reach
  /// the test through a pipe and a reader thread, so they can trail the fake's HTTP answers).
  testing::AssertionResult sync(std::chrono::milliseconds timeout = kDefaultWait) {
    const std::string label = "sync-" + std::to_string(++marks_);
    if (!ok(control("mark", "{\"label\":" + core::json::quote(label) + "}"))) {
      return testing::AssertionFailure() << "fake_slack did not take the mark";
    }
    return wait_for(
        "mark " + label,
        [label](const Event& e) { return is(e, "mark") && str(e, "label") == label; }, 1, timeout);
  }

  // ---- what the fake saw ------------------------------------------------------------------

  /// Every event so far, parsed (lines that are not JSON become {"event":"unparsed"}).
  std::vector<rapidjson::Document> events() const {
    std::vector<rapidjson::Document> out;
    for (const auto& line : process_.lines()) out.push_back(parse_line(line));
    return out;
  }
  /// Events of one kind ("api", "ack", "ws_open"…).
  std::vector<rapidjson::Document> events(std::string_view kind) const {
    std::vector<rapidjson::Document> out;
    for (auto& event : events()) {
      if (is(event, kind)) out.push_back(std::move(event));
    }
    return out;
  }
  std::size_t count(const Predicate& predicate) const {
    std::lock_guard lock(mutex_);
    refresh_locked();
    return static_cast<std::size_t>(std::count_if(
        cache_.begin(), cache_.end(), [&](const auto& event) { return predicate(*event); }));
  }
  std::size_t count(std::string_view kind) const {
    return count([&](const Event& e) { return is(e, kind); });
  }
  /// Web API calls of `method` the fake has seen.
  std::size_t api_calls(std::string_view method) const { return count(api(method)); }
  /// The raw lines, for printing.
  std::vector<std::string> lines() const { return process_.lines(); }

  // ---- waits ------------------------------------------------------------------------------

  /// Waits until at least `n` events satisfy `predicate`. On failure the message names `what`,
  /// how many matched, and the last events.
  testing::AssertionResult wait_for(std::string_view what, const Predicate& predicate,
                                    std::size_t n = 1,
                                    std::chrono::milliseconds timeout = kDefaultWait) const {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    std::size_t matched = 0;
    std::size_t scanned = 0;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        refresh_locked();
        for (; scanned < cache_.size(); ++scanned) {
          if (predicate(*cache_[scanned])) ++matched;
        }
      }
      if (matched >= n) return testing::AssertionSuccess();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    auto failure = testing::AssertionFailure();
    failure << "no " << what;
    if (n > 1) failure << " x" << n << " (saw " << matched << ")";
    failure << " within " << timeout.count() << " ms; " << describe_last(12);
    return failure;
  }
  testing::AssertionResult wait_for(const Predicate& predicate,
                                    std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("matching event", predicate, 1, timeout);
  }

  /// `n` connections opened (WebSocket handshakes) in total.
  testing::AssertionResult wait_for_ws_open(
      std::size_t n = 1, std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("ws_open", kind("ws_open"), n, timeout);
  }
  /// `n` hellos sent in total.
  testing::AssertionResult wait_for_hello(std::size_t n = 1,
                                          std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("hello_sent", kind("hello_sent"), n, timeout);
  }
  /// `n` connections closed in total (any side, any way).
  testing::AssertionResult wait_for_ws_close(
      std::size_t n = 1, std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("ws_close", kind("ws_close"), n, timeout);
  }
  /// An ack of `envelope_id` (`n` of them, counting duplicates).
  testing::AssertionResult wait_for_ack(std::string_view envelope_id, std::size_t n = 1,
                                        std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("ack of envelope '" + std::string(envelope_id) + "'", ack(envelope_id), n,
                    timeout);
  }
  /// `n` acks in total (of any envelope).
  testing::AssertionResult wait_for_acks(std::size_t n,
                                         std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("ack", kind("ack"), n, timeout);
  }
  /// `n` calls of Web API `method` in total.
  testing::AssertionResult wait_for_api(std::string_view method, std::size_t n = 1,
                                        std::chrono::milliseconds timeout = kDefaultWait) const {
    return wait_for("call of " + std::string(method), api(method), n, timeout);
  }

  // ---- predicates and field helpers -------------------------------------------------------

  static bool is(const Event& event, std::string_view kind_name) {
    return event.IsObject() && core::json::get_string(event, "event") == kind_name;
  }
  static Predicate kind(std::string_view kind_name) {
    return [k = std::string(kind_name)](const Event& e) { return is(e, k); };
  }
  static Predicate api(std::string_view method) {
    return [m = std::string(method)](const Event& e) {
      return is(e, "api") && core::json::get_string(e, "method") == m;
    };
  }
  static Predicate ack(std::string_view envelope_id) {
    return [id = std::string(envelope_id)](const Event& e) {
      return is(e, "ack") && core::json::get_string(e, "envelope_id") == id;
    };
  }
  /// The string member `key` of `event`, "" when absent.
  static std::string str(const Event& event, std::string_view key) {
    return event.IsObject() ? std::string(core::json::get_string(event, key).value_or(""))
                            : std::string();
  }
  static std::int64_t num(const Event& event, std::string_view key, std::int64_t fallback = -1) {
    return event.IsObject() ? core::json::get_int(event, key).value_or(fallback) : fallback;
  }

  /// "last N events: <line>; <line>…", for failure messages.
  std::string describe_last(std::size_t n) const {
    const auto all = process_.lines();
    std::string out = "last " + std::to_string(std::min(n, all.size())) + " of " +
                      std::to_string(all.size()) + " events:";
    for (std::size_t i = all.size() > n ? all.size() - n : 0; i < all.size(); ++i) {
      std::string line = all[i];
      if (line.size() > 400) line = line.substr(0, 400) + "…";
      out += "\n  " + line;
    }
    if (all.empty()) out += " (none)";
    if (!started()) out += "\n  (fake_slack.py did not start: see its stderr)";
    return out;
  }

 private:
  static rapidjson::Document parse_line(const std::string& line) {
    auto parsed = core::json::parse(line);
    if (parsed && parsed->IsObject()) return std::move(*parsed);
    rapidjson::Document unparsed;
    unparsed.SetObject();
    unparsed.AddMember("event", "unparsed", unparsed.GetAllocator());
    unparsed.AddMember("line", rapidjson::Value(line.c_str(), unparsed.GetAllocator()),
                       unparsed.GetAllocator());
    return unparsed;
  }

  void refresh_locked() const {
    const auto all = process_.lines();
    for (std::size_t i = cache_.size(); i < all.size(); ++i) {
      cache_.push_back(std::make_unique<rapidjson::Document>(parse_line(all[i])));
    }
  }

  static std::string conn_spec(int conn, bool minus_one_is_all) {
    if (conn >= 0) return std::to_string(conn);
    if (conn == kSpread) return "\"spread\"";
    return minus_one_is_all ? "\"all\"" : "null";
  }
  static bool ok(const rapidjson::Document& answer) {
    return answer.IsObject() && core::json::get_bool(answer, "ok").value_or(false);
  }
  static int conn_of(const rapidjson::Document& answer) {
    if (!ok(answer)) return 0;
    return static_cast<int>(core::json::get_int(answer, "conn").value_or(0));
  }
  static int count_of(const rapidjson::Document& answer) {
    if (!answer.IsObject()) return 0;
    const auto* conns = core::json::get_array(answer, "conns");
    return conns != nullptr ? static_cast<int>(conns->Size()) : 0;
  }

  Options options_;
  PythonFake process_;
  std::unique_ptr<core::http::Client> http_;
  int marks_ = 0;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<rapidjson::Document>> cache_;
};

}  // namespace test
