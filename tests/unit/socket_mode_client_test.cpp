// slack::SocketModeClient against the fake Slack (tests/fakes/fake_slack.py) over real TLS:
// a handful of end-to-end flows through the real transport (websocketpp, Asio, curl for
// apps.connections.open) and its io thread. The behaviour itself (dedupe, kept acks,
// backoff, keep-alive, hello timeout, stop, every failure point) is tested in-process on a
// ManualScheduler: socket_mode_inprocess_test.cpp.

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

TEST_F(SocketModeClientTest, RefreshRequestedSwitchesWithoutGapAndAcksOnce) {
  auto client = make(settings(1));
  client->start();
  ASSERT_TRUE(wait_ready(*client));
  const int old_conn = fake_.live().front();
  ASSERT_EQ(fake_.disconnect("refresh_requested", old_conn, false), 1);
  fake_.push(event_envelope("env-during", "EvDuring"), old_conn);
  ASSERT_TRUE(fake_.wait_for_ws_open(2));
  ASSERT_TRUE(fake_.wait_for_hello(2));
  ASSERT_TRUE(fake_.wait_for_ack("env-during"));
  // The new link was open before the old one closed (after the grace period, idle_timeout
  // here): no window without a connection.
  ASSERT_TRUE(fake_.wait_for_ws_close(1, 6s));
  EXPECT_LT(index_of("ws_open", 1), index_of("ws_close")) << fake_.describe_last(10);
  fake_.push(event_envelope("env-after", "EvAfter"));
  ASSERT_TRUE(fake_.wait_for_ack("env-after"));
  ASSERT_TRUE(fake_.sync());
  EXPECT_EQ(fake_.count(FakeSlack::ack("env-during")), 1u);
  EXPECT_EQ(recorder_.count("env-during"), 1u);
  // ready() never dropped: the client would have reported `reconnecting`.
  for (auto state : recorder_.states()) EXPECT_NE(state, slack::ConnectionState::reconnecting);
  EXPECT_EQ(client->stats().reconnects_by_reason["refresh_requested"], 1u);
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

}  // namespace

namespace {

/// Calls stop() on the client from inside its own callbacks (the io thread).
class StoppingListener final : public slack::SocketModeClient::Listener {
 public:
  void on_envelope(const slack::Envelope& envelope) override { (void)envelope; }
  void on_fatal(const core::Error& error) override {
    {
      std::lock_guard lock(mutex_);
      fatals_.push_back(error);
    }
    stop_from_callback();
  }
  std::vector<core::Error> fatals() {
    std::lock_guard lock(mutex_);
    return fatals_;
  }
  testing::AssertionResult wait_stopped(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, timeout, [&] { return stopped_; })) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "stop() was not called from a callback";
  }

  slack::SocketModeClient* client_ = nullptr;

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
  std::vector<core::Error> fatals_;
};

TEST_F(SocketModeClientTest, InvalidAuthIsFatalAndStopFromOnFatalThenDestroyJoinsCleanly) {
  auto s = settings(2);
  s.app_token = "xapp-1-WRONG-TOKEN";
  StoppingListener listener;
  auto client = std::make_unique<slack::SocketModeClient>(s, *http_, listener, test_logger());
  listener.client_ = client.get();
  client->start();
  ASSERT_TRUE(listener.wait_stopped());  // on_fatal ran, and stop() from the io thread returned
  ASSERT_EQ(listener.fatals().size(), 1u);
  EXPECT_NE(listener.fatals()[0].user_message.find("invalid_auth"), std::string::npos)
      << listener.fatals()[0].user_message;
  EXPECT_NE(listener.fatals()[0].user_message.find("SLACK_APP_TOKEN"), std::string::npos);
  EXPECT_FALSE(client->ack("env-x").has_value());  // stopped: acks are refused
  client.reset();  // joins the io thread and the opener's thread: no std::terminate
  EXPECT_LE(fake_.api_calls("apps.connections.open"), 2u);  // at most one per slot
  EXPECT_EQ(fake_.count("ws_open"), 0u);
}

}  // namespace
