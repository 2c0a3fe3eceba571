// slack::SocketModeClient against the fake Slack (tests/fakes/fake_slack.py) over real TLS.

#include "slack/socket_mode_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/environment.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_slack.hpp"
#include "recording_sink.hpp"

namespace {

using namespace std::chrono_literals;
using test::FakeSlack;

/// Records what the client hands over; acks each envelope at once (as the app does).
class Recorder final : public slack::SocketModeClient::Listener {
 public:
  void on_envelope(const slack::Envelope& envelope) override {
    std::optional<std::string> payload;
    {
      std::lock_guard lock(mutex_);
      envelopes_.push_back(envelope);
      payload = ack_payload_;
    }
    cv_.notify_all();
    if (client_ != nullptr && auto_ack_) {
      auto status = client_->ack(envelope.envelope_id, payload);
      EXPECT_TRUE(status.has_value());
    }
  }
  void on_state(slack::ConnectionState state) override {
    std::lock_guard lock(mutex_);
    states_.push_back(state);
  }
  void on_fatal(const core::Error& error) override {
    {
      std::lock_guard lock(mutex_);
      fatals_.push_back(error);
    }
    cv_.notify_all();
  }

  testing::AssertionResult wait_envelopes(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, timeout, [&] { return envelopes_.size() >= n; })) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure()
           << "handler called " << envelopes_.size() << " times, wanted " << n << " within "
           << timeout.count() << " ms";
  }
  testing::AssertionResult wait_fatal(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, timeout, [&] { return !fatals_.empty(); })) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << "no on_fatal within " << timeout.count() << " ms";
  }
  std::size_t count(const std::string& envelope_id) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(envelopes_.begin(), envelopes_.end(),
                      [&](const slack::Envelope& e) { return e.envelope_id == envelope_id; }));
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return envelopes_.size();
  }
  std::vector<slack::ConnectionState> states() {
    std::lock_guard lock(mutex_);
    return states_;
  }
  std::vector<core::Error> fatals() {
    std::lock_guard lock(mutex_);
    return fatals_;
  }
  void set_ack_payload(std::string payload) {
    std::lock_guard lock(mutex_);
    ack_payload_ = std::move(payload);
  }

  slack::SocketModeClient* client_ = nullptr;
  bool auto_ack_ = true;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<slack::Envelope> envelopes_;
  std::vector<slack::ConnectionState> states_;
  std::vector<core::Error> fatals_;
  std::optional<std::string> ack_payload_;
};

std::string event_envelope(const std::string& envelope_id, const std::string& event_id) {
  return R"({"envelope_id":")" + envelope_id +
         R"(","payload":{"token":"verification-token","team_id":"T111","api_app_id":"A111","event":{"type":"app_mention","text":"<@U111>","user":"U222","ts":"1610241741.000200","channel":"C111","event_ts":"1610241741.000200"},"type":"event_callback","event_id":")" +
         event_id +
         R"(","event_time":1610241741},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""})";
}

std::string command_envelope(const std::string& envelope_id, const std::string& trigger_id) {
  return R"({"envelope_id":")" + envelope_id +
         R"(","payload":{"token":"verification-token","team_id":"T111","team_domain":"xxx","channel_id":"C111","channel_name":"random","user_id":"U111","user_name":"testxyz","command":"/infra","text":"status","api_app_id":"A111","response_url":"https://hooks.slack.com/commands/T111/111/xxx","trigger_id":")" +
         trigger_id + R"("},"type":"slash_commands","accepts_response_payload":true})";
}

/// Quiet unless SOCKET_TEST_LOG is set (then debug lines go to stderr).
core::LoggerPtr test_logger() {
  if (std::getenv("SOCKET_TEST_LOG") == nullptr) return core::make_null_logger();
  return core::make_stderr_logger("socket-test", core::LogFormat::text, core::LogLevel::debug,
                                  core::Redactor{});
}

class SocketModeClientTest : public testing::Test {
 protected:
  slack::SocketModeSettings settings(int connections = 1) const {
    slack::SocketModeSettings s;
    s.app_token = fake_.app_token();
    s.api_url = fake_.api_url();
    s.ca_file = fake_.ca_file();
    s.connections = connections;
    s.ping_interval = 200ms;
    s.pong_timeout = 1000ms;
    s.idle_timeout = 3000ms;
    s.close_timeout = 300ms;
    s.backoff_base = 50ms;
    s.backoff_cap = 400ms;
    return s;
  }

  /// For tests that keep the fake busy (hundreds of frames or megabytes of acks) and are not
  /// about keepalive: no ping within the test. The fake writes every ack to the test as an
  /// event; under a sanitizer the test reads them slowly, the fake's loop stalls on its full
  /// stdout pipe, pongs come seconds late, and the links were (rightly) found dead and
  /// replaced mid-test, losing what was pushed into them.
  slack::SocketModeSettings busy_fake_settings(int connections) const {
    auto s = settings(connections);
    s.ping_interval = 60s;
    s.pong_timeout = 60s;
    s.idle_timeout = 120s;
    return s;
  }

  std::unique_ptr<slack::SocketModeClient> make(slack::SocketModeSettings s) {
    auto client =
        std::make_unique<slack::SocketModeClient>(std::move(s), *http_, recorder_, test_logger());
    recorder_.client_ = client.get();
    return client;
  }

  testing::AssertionResult wait_ready(const slack::SocketModeClient& client, int connections = 1,
                                      std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (client.stats().ready_connections >= connections) return testing::AssertionSuccess();
      std::this_thread::sleep_for(5ms);
    }
    return testing::AssertionFailure()
           << client.stats().ready_connections << " ready connections, wanted " << connections
           << " within " << timeout.count() << " ms; " << fake_.describe_last(10);
  }

  /// Index of the n-th (0-based) event of `kind` in the fake's log, -1 when absent.
  long index_of(std::string_view kind, std::size_t n = 0) const {
    const auto events = fake_.events();
    std::size_t seen = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (FakeSlack::is(events[i], kind) && seen++ == n) return static_cast<long>(i);
    }
    return -1;
  }

  FakeSlack fake_;
  std::unique_ptr<core::http::Client> http_ = core::http::make_curl_client({fake_.ca_file()});
  Recorder recorder_;
};

TEST_F(SocketModeClientTest, HelloAckRoundTripAndCleanStop) {
  ASSERT_TRUE(fake_.started());
  auto client = make(settings(1));
  EXPECT_FALSE(client->ready());
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_TRUE(client->ready());
  ASSERT_GT(fake_.push(event_envelope("env-1", "Ev1")), 0);
  ASSERT_TRUE(fake_.wait_for_ack("env-1"));
  ASSERT_TRUE(recorder_.wait_envelopes(1));
  EXPECT_EQ(recorder_.count("env-1"), 1u);

  const auto stats = client->stats();
  EXPECT_EQ(stats.acks_sent, 1u);
  EXPECT_EQ(stats.envelopes_by_type.at("events_api"), 1u);

  client->stop();  // returns: the io thread is joined
  client->stop();  // idempotent
  EXPECT_FALSE(client->ready());
  ASSERT_TRUE(fake_.wait_for_ws_close(1));
  const auto closes = fake_.events("ws_close");
  EXPECT_EQ(FakeSlack::str(closes[0], "by"), "client") << fake_.describe_last(5);
  EXPECT_EQ(recorder_.states().back(), slack::ConnectionState::stopped);
}

TEST_F(SocketModeClientTest, FreshConnectionsOpenWithBearerBeforeEveryConnect) {
  auto client = make(settings(2));
  client->start();
  ASSERT_TRUE(wait_ready(*client, 2));
  ASSERT_EQ(fake_.drop(), 2);
  ASSERT_TRUE(fake_.wait_for_ws_open(4));
  ASSERT_TRUE(wait_ready(*client, 2));
  const auto calls = fake_.events("api");
  const auto opens = fake_.events("ws_open");
  ASSERT_GE(calls.size(), opens.size());
  std::set<std::string> tickets;
  for (const auto& call : calls) {
    EXPECT_EQ(FakeSlack::str(call, "method"), "apps.connections.open");
    EXPECT_EQ(FakeSlack::str(call, "auth"), "Bearer " + fake_.app_token());
    EXPECT_TRUE(tickets.insert(FakeSlack::str(call, "ticket")).second) << "ticket reused";
  }
  EXPECT_EQ(fake_.state()["ws_refused"].GetInt(), 0);
  EXPECT_GE(client->stats().reconnects_by_reason["dropped"], 2u);
}

TEST_F(SocketModeClientTest, AckWithPayload) {
  auto client = make(settings(1));
  recorder_.set_ack_payload(R"({"text":"working on it"})");
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  fake_.push(command_envelope("cmd-1", "111.222.xxx"));
  ASSERT_TRUE(fake_.wait_for_ack("cmd-1"));
  const auto acks = fake_.events("ack");
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_TRUE(acks[0]["payload"].IsObject());
  EXPECT_EQ(FakeSlack::str(acks[0]["payload"], "text"), "working on it");
  EXPECT_FALSE(acks[0]["fragmented"].GetBool());
}

TEST_F(SocketModeClientTest, AckOver20KbIsRefused) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  const std::string big = R"({"text":")" + std::string(20480, 'x') + R"("})";
  auto status = client->ack("env-big", big);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, core::ErrorCode::invalid_input);
  EXPECT_EQ(client->stats().acks_refused, 1u);
  // Just under the limit goes out.
  const std::string small = R"({"text":")" + std::string(20000, 'x') + R"("})";
  ASSERT_TRUE(client->ack("env-small", small).has_value());
  ASSERT_TRUE(fake_.wait_for_ack("env-small"));
  EXPECT_EQ(fake_.count(FakeSlack::ack("env-big")), 0u);
}

TEST_F(SocketModeClientTest, RefreshRequestedSwitchesWithoutGapAndAcksOnce) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  const int old_conn = fake_.live().front();

  // Sample ready() all along: it must never drop to false during the switch.
  std::atomic<bool> sampling{true};
  std::atomic<int> not_ready_samples{0};
  std::thread sampler([&] {
    while (sampling) {
      if (!client->ready()) ++not_ready_samples;
      std::this_thread::sleep_for(1ms);
    }
  });
  ASSERT_EQ(fake_.disconnect("refresh_requested", old_conn, false), 1);
  fake_.push(event_envelope("env-during", "EvDuring"), old_conn);
  ASSERT_TRUE(fake_.wait_for_ws_open(2));
  ASSERT_TRUE(fake_.wait_for_hello(2));
  ASSERT_TRUE(fake_.wait_for_ack("env-during"));
  // The old connection is closed after the grace period (idle_timeout here).
  ASSERT_TRUE(fake_.wait_for_ws_close(1, 6s));
  sampling = false;
  sampler.join();
  fake_.push(event_envelope("env-after", "EvAfter"));
  ASSERT_TRUE(fake_.wait_for_ack("env-after"));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fake_.count(FakeSlack::ack("env-during")), 1u);
  EXPECT_EQ(recorder_.count("env-during"), 1u);
  EXPECT_EQ(not_ready_samples.load(), 0);
  for (auto state : recorder_.states()) EXPECT_NE(state, slack::ConnectionState::reconnecting);
  EXPECT_EQ(client->stats().reconnects_by_reason["refresh_requested"], 1u);
}

TEST_F(SocketModeClientTest, DroppedTcpReconnects) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_EQ(fake_.drop(), 1);
  ASSERT_TRUE(fake_.wait_for_ws_open(2));
  ASSERT_TRUE(fake_.wait_for_hello(2));
  ASSERT_TRUE(wait_ready(*client));
  fake_.push(event_envelope("env-2", "Ev2"));
  ASSERT_TRUE(fake_.wait_for_ack("env-2"));
  EXPECT_EQ(fake_.api_calls("apps.connections.open"), 2u);
}

TEST_F(SocketModeClientTest, PausedServerIsDetectedDeadAndReplaced) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  const auto paused_at = std::chrono::steady_clock::now();
  ASSERT_EQ(fake_.pause(), 1);
  // pong_timeout 1 s + one ping interval + reconnect backoff (≤ 50 ms).
  ASSERT_TRUE(fake_.wait_for_ws_open(2, 4s));
  const auto detected = std::chrono::steady_clock::now() - paused_at;
  EXPECT_GE(detected, 900ms);
  EXPECT_LT(detected, 3s);
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_EQ(client->stats().reconnects_by_reason["dead"], 1u);
  fake_.push(event_envelope("env-3", "Ev3"), fake_.live().back());
  ASSERT_TRUE(fake_.wait_for_ack("env-3"));
}

TEST_F(SocketModeClientTest, RateLimitedOpenWaitsRetryAfter) {
  ASSERT_TRUE(fake_.fail_next("apps.connections.open", 1, 429, R"({"Retry-After":"1"})", ""));
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(fake_.wait_for_api("apps.connections.open", 2, 5s));
  ASSERT_TRUE(wait_ready(*client));
  const auto calls = fake_.events("api");
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0]["status"].GetInt(), 429);
  const double gap = calls[1]["t"].GetDouble() - calls[0]["t"].GetDouble();
  EXPECT_GE(gap, 0.9) << "the retry did not wait Retry-After";
}

TEST_F(SocketModeClientTest, InvalidAuthIsFatalWithoutRetrying) {
  auto s = settings(2);
  s.app_token = "xapp-1-WRONG-TOKEN";
  auto client = make(s);
  client->start();
  ASSERT_TRUE(recorder_.wait_fatal());
  const auto fatals = recorder_.fatals();
  ASSERT_EQ(fatals.size(), 1u);
  EXPECT_NE(fatals[0].user_message.find("invalid_auth"), std::string::npos)
      << fatals[0].user_message;
  EXPECT_NE(fatals[0].user_message.find("SLACK_APP_TOKEN"), std::string::npos);
  std::this_thread::sleep_for(500ms);  // 10 backoff bases: a loop would have retried by now
  EXPECT_LE(fake_.api_calls("apps.connections.open"), 2u);  // at most one per slot, in flight
  EXPECT_EQ(fake_.count("ws_open"), 0u);
  EXPECT_EQ(recorder_.states().back(), slack::ConnectionState::failed);
  EXPECT_FALSE(client->ready());
}

TEST_F(SocketModeClientTest, TooManyWebsocketsClosesThenReconnectsAfterBackoff) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_EQ(fake_.disconnect("too_many_websockets"), 1);
  ASSERT_TRUE(fake_.wait_for_ws_close(1));
  ASSERT_TRUE(fake_.wait_for_ws_open(2));
  EXPECT_LT(index_of("ws_close"), index_of("ws_open", 1)) << fake_.describe_last(10);
  EXPECT_EQ(FakeSlack::str(fake_.events("ws_close")[0], "by"), "client");
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_EQ(client->stats().reconnects_by_reason["too_many_websockets"], 1u);
}

TEST_F(SocketModeClientTest, DuplicatesReachTheHandlerOnce) {
  auto client = make(settings(2));
  client->start();
  ASSERT_TRUE(wait_ready(*client, 2));
  const auto live = fake_.live();
  ASSERT_EQ(live.size(), 2u);
  // Same envelope_id: twice on one connection, once on the other.
  fake_.push(event_envelope("dup-1", "EvDup1"), live[0]);
  fake_.push(event_envelope("dup-1", "EvDup1"), live[0]);
  fake_.push(event_envelope("dup-1", "EvDup1"), live[1]);
  // Same event_id under a new envelope_id (a Slack retry).
  fake_.push(event_envelope("dup-2", "EvDup1"), live[1]);
  fake_.push(event_envelope("fresh", "EvFresh"), live[0]);
  ASSERT_TRUE(fake_.wait_for_ack("fresh"));
  ASSERT_TRUE(fake_.wait_for_ack("dup-2"));  // acked by the client so Slack stops retrying
  ASSERT_TRUE(recorder_.wait_envelopes(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(recorder_.count("dup-1"), 1u);
  EXPECT_EQ(recorder_.count("dup-2"), 0u);
  EXPECT_EQ(recorder_.size(), 2u);
  EXPECT_EQ(client->stats().duplicates_dropped, 3u);
}

TEST_F(SocketModeClientTest, ThousandEnvelopesAcrossTwoConnections) {
  auto client = make(busy_fake_settings(2));
  client->start();
  ASSERT_TRUE(wait_ready(*client, 2));
  const auto live = fake_.live();
  ASSERT_EQ(live.size(), 2u);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "bulk-" + std::to_string(i);
    ASSERT_GT(fake_.push(event_envelope(id, "EvBulk" + std::to_string(i)),
                         live[static_cast<std::size_t>(i % 2)]),
              0);
  }
  ASSERT_TRUE(fake_.wait_for_acks(1000, 60s));
  ASSERT_TRUE(recorder_.wait_envelopes(1000));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(recorder_.size(), 1000u);
  EXPECT_EQ(fake_.count("ack"), 1000u);
  EXPECT_EQ(client->stats().acks_sent, 1000u);
}

TEST_F(SocketModeClientTest, MalformedFramesAreSkippedAndTheConnectionSurvives) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  fake_.push_raw("not json");
  fake_.push_raw("");
  fake_.push_raw("{}");
  fake_.push(R"({"type":"something_new"})");
  fake_.push(event_envelope("after-junk", "EvJunk"));
  ASSERT_TRUE(fake_.wait_for_ack("after-junk"));
  EXPECT_EQ(client->stats().malformed_frames, 4u);
  EXPECT_EQ(fake_.count("ws_close"), 0u);
  EXPECT_EQ(fake_.count("ws_open"), 1u);
}

// The tiny example (issue 5 "Done when"): nothing but SLACK_APP_TOKEN, SLACK_API_URL and
// SSL_CERT_FILE, read through core::load_config from an explicit environment.
TEST_F(SocketModeClientTest, TinyExampleFromEnvironmentOnly) {
  core::MapEnvironment env{{"SLACK_APP_TOKEN", fake_.app_token()},
                           {"SLACK_API_URL", fake_.api_url()},
                           {"SSL_CERT_FILE", fake_.ca_file()}};
  auto config = core::load_config(env, core::RunMode::console);
  ASSERT_TRUE(config.has_value()) << config.error().detail;
  auto http = core::http::make_curl_client({config->ssl_cert_file});
  slack::SocketModeSettings s;
  s.app_token = config->slack_app_token;
  s.api_url = config->slack_api_url;
  s.ca_file = config->ssl_cert_file;
  s.connections = config->socket_connections;
  Recorder recorder;
  slack::SocketModeClient client(s, *http, recorder, core::make_null_logger());
  recorder.client_ = &client;
  client.start();
  ASSERT_TRUE(fake_.wait_for_hello(static_cast<std::size_t>(s.connections)));
  ASSERT_TRUE(wait_ready(client, s.connections));
  fake_.push(command_envelope("tiny-1", "333.444.zzz"));
  ASSERT_TRUE(fake_.wait_for_ack("tiny-1"));
  ASSERT_TRUE(recorder.wait_envelopes(1));
}

}  // namespace

namespace {

TEST_F(SocketModeClientTest, LinkDisabledStopsReconnectingWithAFatalError) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_EQ(fake_.disconnect("link_disabled", -1, true), 1);
  ASSERT_TRUE(recorder_.wait_fatal());
  EXPECT_NE(recorder_.fatals()[0].user_message.find("link_disabled"), std::string::npos)
      << recorder_.fatals()[0].user_message;
  std::this_thread::sleep_for(500ms);  // ten backoff bases: a reconnect would have started
  EXPECT_EQ(fake_.api_calls("apps.connections.open"), 1u);
  EXPECT_EQ(fake_.count("ws_open"), 1u);
  EXPECT_EQ(recorder_.states().back(), slack::ConnectionState::failed);
}

TEST_F(SocketModeClientTest, WarningOpensTheReplacementBeforeLettingGo) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_EQ(fake_.disconnect("warning"), 1);
  ASSERT_TRUE(fake_.wait_for_ws_open(2));
  ASSERT_TRUE(fake_.wait_for_ws_close(1));
  // The new link was open before the old one closed: no window without a connection.
  EXPECT_LT(index_of("ws_open", 1), index_of("ws_close")) << fake_.describe_last(10);
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_EQ(client->stats().reconnects_by_reason["warning"], 1u);
}

TEST_F(SocketModeClientTest, DebugReconnectsIsAppendedToTheUrl) {
  auto s = settings(1);
  s.debug_reconnects = true;
  auto client = make(s);
  client->start();
  ASSERT_TRUE(fake_.wait_for_ws_open(1));
  const auto opens = fake_.events("ws_open");
  EXPECT_NE(FakeSlack::str(opens[0], "query").find("debug_reconnects=true"), std::string::npos)
      << FakeSlack::str(opens[0], "query");
}

TEST_F(SocketModeClientTest, NeitherTheTokenNorTheTicketReachesTheLog) {
  auto sink = std::make_shared<test::RecordingSink>();
  // No redactor: the client itself must never log them.
  auto logger =
      core::make_logger("socket", core::LogFormat::text, core::LogLevel::trace, {sink}, {});
  auto client = std::make_unique<slack::SocketModeClient>(settings(2), *http_, recorder_, logger);
  recorder_.client_ = client.get();
  client->start();
  ASSERT_TRUE(wait_ready(*client, 2));
  ASSERT_EQ(fake_.drop(), 2);
  ASSERT_TRUE(fake_.wait_for_ws_open(4));
  ASSERT_TRUE(wait_ready(*client, 2));
  client->stop();
  const auto lines = sink->lines();
  ASSERT_FALSE(lines.empty());
  for (const auto& open : fake_.events("ws_open")) {
    const auto ticket = FakeSlack::str(open, "ticket");
    ASSERT_FALSE(ticket.empty());
    for (const auto& line : lines) EXPECT_EQ(line.find(ticket), std::string::npos) << line;
  }
  for (const auto& line : lines) EXPECT_EQ(line.find(fake_.app_token()), std::string::npos) << line;
}

}  // namespace

namespace {

TEST_F(SocketModeClientTest, SilenceBeyondTheIdleTimeoutIsADeadLink) {
  auto s = settings(1);
  s.pong_timeout = 30s;  // only the idle rule can fire within this test
  s.idle_timeout = 1s;
  auto client = make(s);
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  const auto paused_at = std::chrono::steady_clock::now();
  ASSERT_EQ(fake_.pause(), 1);
  ASSERT_TRUE(fake_.wait_for_ws_open(2, 5s));
  const auto detected = std::chrono::steady_clock::now() - paused_at;
  EXPECT_GE(detected, 900ms);
  EXPECT_LT(detected, 4s);
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_EQ(client->stats().reconnects_by_reason["dead"], 1u);
}

TEST_F(SocketModeClientTest, ServerErrorsOnOpenAreRetriedWithBackoff) {
  ASSERT_TRUE(fake_.fail_next("apps.connections.open", 2, 500, "{}",
                              R"({"ok":false,"error":"internal_error"})"));
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(fake_.wait_for_api("apps.connections.open", 3, 5s));
  ASSERT_TRUE(wait_ready(*client));
  EXPECT_TRUE(recorder_.fatals().empty());
  const auto calls = fake_.events("api");
  EXPECT_EQ(calls[0]["status"].GetInt(), 500);
  EXPECT_EQ(calls[1]["status"].GetInt(), 500);
}

}  // namespace

namespace {

/// Calls stop() on the client from inside its own callbacks (the io thread).
class StoppingListener final : public slack::SocketModeClient::Listener {
 public:
  void on_envelope(const slack::Envelope& envelope) override {
    (void)envelope;
    if (stop_on_envelope_) stop_from_callback();
  }
  void on_fatal(const core::Error& error) override {
    (void)error;
    stop_from_callback();
  }
  testing::AssertionResult wait_stopped(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, timeout, [&] { return stopped_; })) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "stop() was not called from a callback";
  }

  slack::SocketModeClient* client_ = nullptr;
  bool stop_on_envelope_ = false;

 private:
  void stop_from_callback() {
    client_->stop();  // must return (no self-join) and close what it can
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

TEST_F(SocketModeClientTest, StopFromOnFatalThenDestroyJoinsCleanly) {
  auto s = settings(2);
  s.app_token = "xapp-1-WRONG-TOKEN";
  StoppingListener listener;
  auto client = std::make_unique<slack::SocketModeClient>(s, *http_, listener, test_logger());
  listener.client_ = client.get();
  client->start();
  ASSERT_TRUE(listener.wait_stopped());
  EXPECT_FALSE(client->ack("env-x").has_value());  // stopped: acks are refused
  client.reset();  // joins the io thread and the fetcher: no std::terminate
  EXPECT_EQ(fake_.count("ws_open"), 0u);
}

TEST_F(SocketModeClientTest, StopFromOnEnvelopeClosesTheLinkAndStopsReconnecting) {
  StoppingListener listener;
  listener.stop_on_envelope_ = true;
  auto client =
      std::make_unique<slack::SocketModeClient>(settings(1), *http_, listener, test_logger());
  listener.client_ = client.get();
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_GT(fake_.push(event_envelope("env-stop", "EvStop")), 0);
  ASSERT_TRUE(listener.wait_stopped());
  ASSERT_TRUE(fake_.wait_for_ws_close(1));
  EXPECT_EQ(FakeSlack::str(fake_.events("ws_close")[0], "by"), "client") << fake_.describe_last(5);
  std::this_thread::sleep_for(500ms);  // ten backoff bases: a reconnect would have started
  EXPECT_EQ(fake_.count("ws_open"), 1u);
  EXPECT_EQ(fake_.api_calls("apps.connections.open"), 1u);
  client->stop();  // from this thread: now joins
  EXPECT_FALSE(client->ready());
  client.reset();
}

TEST_F(SocketModeClientTest, ConcurrentStartAndStopAreSafe) {
  for (int i = 0; i < 10; ++i) {
    auto client = make(settings(1));
    std::thread starter([&] { client->start(); });
    std::thread stopper([&] { client->stop(); });
    starter.join();
    stopper.join();
    client->stop();
    EXPECT_FALSE(client->ready());
  }
}

TEST_F(SocketModeClientTest, AckWithoutAConnectionIsSentOnTheRedelivery) {
  auto client = make(settings(1));
  recorder_.auto_ack_ = false;
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_GT(fake_.push_until_acked(command_envelope("cmd-late", "555.666.yyy"), 800ms, 6), 0);
  ASSERT_TRUE(recorder_.wait_envelopes(1));
  // The link goes away and the next one takes 1.5 s: the app's ack finds no connection.
  ASSERT_TRUE(fake_.delay_next("apps.connections.open", 1, 1500ms));
  ASSERT_EQ(fake_.drop(), 1);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (client->stats().ready_connections > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(client->stats().ready_connections, 0);
  ASSERT_TRUE(client->ack("cmd-late", R"({"text":"late but complete"})").has_value());
  ASSERT_TRUE(fake_.wait_for_ack("cmd-late", 1, 8s));
  const auto acks = fake_.events("ack");
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_TRUE(acks[0]["payload"].IsObject()) << fake_.describe_last(10);
  EXPECT_EQ(FakeSlack::str(acks[0]["payload"], "text"), "late but complete");
  EXPECT_EQ(recorder_.count("cmd-late"), 1u);
  EXPECT_EQ(client->stats().acks_sent, 1u);
}

TEST_F(SocketModeClientTest, AckLostWithItsSocketIsResentWithItsPayloadOnTheRedelivery) {
  // Found by the soak: an ack written into a socket that dies before Slack reads it is lost;
  // Slack redelivers the envelope, and a bare re-ack would drop the reply the ack carried.
  auto client = make(settings(1));
  recorder_.set_ack_payload(R"({"text":"production cannot be stopped"})");
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  ASSERT_EQ(fake_.pause(), 1);
  ASSERT_GT(fake_.push_until_acked(command_envelope("cmd-lost", "777.888.zzz"), 800ms, 6), 0);
  ASSERT_TRUE(recorder_.wait_envelopes(1));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (client->stats().acks_sent < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(client->stats().acks_sent, 1u) << "the ack went into the paused socket";
  ASSERT_EQ(fake_.drop(FakeSlack::kAll, /*discard_unread=*/true), 1);
  ASSERT_TRUE(fake_.wait_for_ack("cmd-lost", 1, 8s)) << fake_.describe_last(10);
  ASSERT_TRUE(fake_.sync());
  const auto acks = fake_.events("ack");
  ASSERT_EQ(acks.size(), 1u) << "the first ack was lost with its socket";
  EXPECT_EQ(acks[0]["conn"].GetInt(), 2);
  ASSERT_TRUE(acks[0]["payload"].IsObject()) << fake_.describe_last(10);
  EXPECT_EQ(FakeSlack::str(acks[0]["payload"], "text"), "production cannot be stopped");
  EXPECT_EQ(recorder_.count("cmd-lost"), 1u) << "the redelivery is not the application's";
  EXPECT_EQ(client->stats().acks_sent, 2u);
  EXPECT_EQ(client->stats().duplicates_dropped, 1u);
}

TEST_F(SocketModeClientTest, KeptAcksAreBoundedAndTheOldestRedeliveryGetsABareAck) {
  // Acks are kept for redeliveries up to 4 MiB: 260 acks of 19 KB overflow it, so the first
  // envelope's payload is forgotten (its redelivery is acked bare) and the last one's is kept.
  auto client = make(busy_fake_settings(1));
  const std::string text(19 * 1024, 'x');
  recorder_.set_ack_payload(R"({"text":")" + text + R"("})");
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  std::vector<std::string> frames;
  for (int i = 0; i < 260; ++i) {
    frames.push_back(event_envelope("big-" + std::to_string(i), "EvBig" + std::to_string(i)));
  }
  ASSERT_EQ(fake_.push_many(frames, FakeSlack::kLowest), 260);
  ASSERT_TRUE(fake_.wait_for_acks(260, 60s));
  fake_.push(event_envelope("big-0", "EvBig0"));
  fake_.push(event_envelope("big-259", "EvBig259"));
  ASSERT_TRUE(fake_.wait_for_ack("big-0", 2, 30s));
  ASSERT_TRUE(fake_.wait_for_ack("big-259", 2, 30s));
  ASSERT_TRUE(fake_.sync());
  std::vector<const FakeSlack::Event*> first, last;
  const auto acks = fake_.events("ack");
  for (const auto& ack : acks) {
    if (FakeSlack::str(ack, "envelope_id") == "big-0") first.push_back(&ack);
    if (FakeSlack::str(ack, "envelope_id") == "big-259") last.push_back(&ack);
  }
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_TRUE((*first[0])["payload"].IsObject());
  EXPECT_TRUE((*first[1])["payload"].IsNull()) << "forgotten: a bare ack";
  ASSERT_TRUE((*last[1])["payload"].IsObject()) << "kept: the same payload again";
  EXPECT_EQ(FakeSlack::str((*last[1])["payload"], "text"), text);
  EXPECT_EQ(recorder_.size(), 260u);
}

TEST_F(SocketModeClientTest, BackoffKeepsGrowingWhenLinksDropRightAfterHello) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("socket", core::LogFormat::text, core::LogLevel::debug, {sink}, {});
  auto s = settings(1);
  s.backoff_cap = 2s;  // a link must stay up 2 s to end a failure streak
  auto client = std::make_unique<slack::SocketModeClient>(s, *http_, recorder_, logger);
  recorder_.client_ = client.get();
  client->start();
  for (std::size_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(fake_.wait_for_hello(i, 5s));
    ASSERT_EQ(fake_.drop(), 1);
  }
  ASSERT_TRUE(fake_.wait_for_hello(5, 5s));
  client->stop();
  std::size_t repeatedly = 0;
  bool fourth_in_a_row = false;
  for (const auto& line : sink->lines()) {
    if (line.find("failing repeatedly") != std::string::npos) ++repeatedly;
    if (line.find("failure 4 in a row") != std::string::npos) fourth_in_a_row = true;
  }
  EXPECT_EQ(repeatedly, 1u);
  EXPECT_TRUE(fourth_in_a_row) << "the failure streak was reset by a hello";
}

TEST_F(SocketModeClientTest, HugeRetryAfterIsClampedNotOverflowed) {
  ASSERT_TRUE(fake_.fail_next("apps.connections.open", 1, 429,
                              R"({"Retry-After":"9223372036854775807"})", ""));
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(fake_.wait_for_api("apps.connections.open", 1));
  std::this_thread::sleep_for(1s);  // an overflowed wait would have retried at once
  EXPECT_EQ(fake_.api_calls("apps.connections.open"), 1u);
  const auto stop_at = std::chrono::steady_clock::now();
  client->stop();  // the long timer is cancelled
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, 3s);
}

}  // namespace
