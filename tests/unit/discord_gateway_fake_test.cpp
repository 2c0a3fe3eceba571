// discord::GatewayClient for real: the Asio/websocketpp transport over TLS
// against tests/fakes/fake_discord.py (label integration). The in-process
// details are in discord_gateway_test.cpp; these check the same flows end to
// end: Identify, a pushed interaction, a zombie resumed without loss, a
// non-resumable invalid session, a fatal close.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "discord/gateway_client.hpp"
#include "python_fake.hpp"
#include "slack/asio_transport.hpp"
#include "test_tls.hpp"

namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "fake-bot-token-secret";
constexpr const char* kUserAgent = "DiscordBot (https://github.com/infra-bot/infra-bot, 1.0)";

core::LoggerPtr test_logger() {
  if (std::getenv("DISCORD_TEST_LOG") == nullptr) return core::make_null_logger();
  return core::make_stderr_logger("discord-gateway-fake-test", core::LogFormat::text,
                                  core::LogLevel::debug, core::Redactor{});
}

/// What the client reported, from the io thread; waits with a condition variable.
class Recorder final : public discord::GatewayListener {
 public:
  void on_ready(const discord::ReadyInfo& ready, bool resumed) override {
    std::lock_guard lock(mutex_);
    readies.push_back(ready);
    resumed_flags.push_back(resumed);
    cv_.notify_all();
  }
  void on_dispatch(std::string_view type, std::string_view data) override {
    std::lock_guard lock(mutex_);
    std::string id;
    if (auto doc = core::json::parse(data); doc && doc->IsObject()) {
      id = std::string(core::json::get_string(*doc, "id").value_or(""));
    }
    dispatches.emplace_back(std::string(type) + ":" + id);
    cv_.notify_all();
  }
  void on_fatal(const core::Error& error) override {
    std::lock_guard lock(mutex_);
    fatals.push_back(error);
    cv_.notify_all();
  }

  /// Waits until `done` (under the lock) holds.
  testing::AssertionResult wait(const std::function<bool()>& done, const std::string& what,
                                std::chrono::milliseconds timeout = 8000ms) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, timeout, done)) return testing::AssertionSuccess();
    std::string seen;
    for (const auto& d : dispatches) seen += d + " ";
    return testing::AssertionFailure()
           << "no " << what << " within " << timeout.count() << " ms; dispatches: " << seen
           << "; fatals: " << fatals.size();
  }
  bool has_dispatch(const std::string& key) const {
    for (const auto& d : dispatches) {
      if (d == key) return true;
    }
    return false;
  }
  template <class F>
  auto locked(F fn) {
    std::lock_guard lock(mutex_);
    return fn();
  }

  std::vector<discord::ReadyInfo> readies;
  std::vector<bool> resumed_flags;
  std::vector<std::string> dispatches;
  std::vector<core::Error> fatals;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

class DiscordGatewayFake : public testing::Test {
 protected:
  DiscordGatewayFake()
      : fake_(std::string(FAKES_DIR) + "/fake_discord.py",
              {"--tls", test::test_tls().cert_file, test::test_tls().key_file, "--token", kToken,
               "--heartbeat-interval", "500"}),
        http_(core::http::make_curl_client({test::test_tls().ca_file})) {}

  ~DiscordGatewayFake() override {
    if (client_) {
      std::promise<void> stopped;
      auto done = stopped.get_future();
      client_->stop([&stopped] { stopped.set_value(); });
      done.wait_for(5s);
    }
    transport_->stop_and_join();
    client_.reset();
  }

  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(fake_.port()); }

  /// POSTs to the fake's control API; the answer's JSON text ("" on failure).
  std::string control(const std::string& op, const std::string& body = "{}") {
    core::http::Request request;
    request.method = "POST";
    request.url = base_url() + "/_control/" + op;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = body;
    auto response = http_->send(request);
    if (!response || response->status != 200) return "";
    return response->body;
  }
  std::int64_t gateway_count(const std::string& key) {
    auto doc = core::json::parse(control("gateway"));
    if (!doc || !doc->IsObject()) return -1;
    return core::json::get_int(*doc, key).value_or(-1);
  }

  core::Result<discord::GatewayBot> fetch_gateway_bot() {
    core::http::Request request;
    request.url = base_url() + "/api/v10/gateway/bot";
    request.headers = {{"Authorization", std::string("Bot ") + kToken}, {"User-Agent", kUserAgent}};
    auto response = http_->send(request);
    if (!response) return response.error();
    if (response->status == 401) {
      return core::make_error(core::ErrorCode::denied, "bad token", "HTTP 401");
    }
    if (response->status != 200) {
      return core::make_error(core::ErrorCode::unavailable, "gateway/bot failed",
                              "HTTP " + std::to_string(response->status));
    }
    return discord::parse_gateway_bot(response->body);
  }

  void start() {
    discord::GatewaySettings s;
    s.token = kToken;
    s.ca_file = test::test_tls().ca_file;
    s.backoff_min = 100ms;
    s.backoff_max = 1000ms;
    s.close_timeout = 1000ms;
    client_ = std::make_unique<discord::GatewayClient>(
        s, *transport_, *transport_, random_, [this] { return fetch_gateway_bot(); }, recorder_,
        test_logger());
    transport_->start();
    client_->start();
  }

  testing::AssertionResult start_ready() {
    if (fake_.port() == 0) return testing::AssertionFailure() << "fake_discord.py did not start";
    start();
    return recorder_.wait([&] { return !recorder_.readies.empty(); }, "READY");
  }

  test::PythonFake fake_;
  std::unique_ptr<core::http::Client> http_;
  std::unique_ptr<slack::AsioTransport> transport_ = slack::make_asio_transport();
  core::FixedRandom random_{{0.3}};
  Recorder recorder_;
  std::unique_ptr<discord::GatewayClient> client_;
};

TEST_F(DiscordGatewayFake, IdentifiesAndReceivesAPushedInteraction) {
  ASSERT_TRUE(start_ready());
  EXPECT_TRUE(client_->ready());
  EXPECT_EQ(recorder_.locked([&] { return recorder_.readies[0].session_id; }), "sess-1");
  EXPECT_EQ(recorder_.locked([&] { return recorder_.readies[0].application_id; }),
            "100000000000000001");
  ASSERT_THAT(control("push", R"({"d":{"id":"i-1","type":2,"token":"itok"}})"),
              testing::HasSubstr("\"live\""));
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.has_dispatch("INTERACTION_CREATE:i-1"); },
                             "interaction i-1"));
  EXPECT_EQ(gateway_count("identify"), 1);
  bool queried = false;
  for (const auto& line : fake_.lines()) {
    queried = queried || line.find(R"("query":"v=10&encoding=json")") != std::string::npos;
    EXPECT_EQ(line.find(kToken), std::string::npos) << "the fake never prints the token";
  }
  EXPECT_TRUE(queried);
}

TEST_F(DiscordGatewayFake, StoppedAcksAreAZombieResumedWithoutLosingAnInteraction) {
  ASSERT_TRUE(start_ready());
  ASSERT_NE(control("mode", R"({"stop_acks":true})"), "");
  // Recorded in the session but lost on the dying link: only a Resume replays it.
  ASSERT_THAT(control("push", R"({"d":{"id":"i-2","type":2,"token":"itok"},"hold":true})"),
              testing::HasSubstr("\"held\""));
  ASSERT_TRUE(recorder_.wait([&] { return client_->counters().zombie_reconnects >= 1; },
                             "zombie reconnect"));
  ASSERT_NE(control("mode", R"({"stop_acks":false})"), "");
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.has_dispatch("INTERACTION_CREATE:i-2"); },
                             "replayed interaction i-2"));
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.has_dispatch("RESUMED:"); }, "RESUMED"));
  EXPECT_TRUE(recorder_.locked([&] { return recorder_.resumed_flags.back(); }));
  EXPECT_EQ(gateway_count("identify"), 1);
  EXPECT_GE(gateway_count("resume"), 1);
  EXPECT_TRUE(client_->ready());
}

TEST_F(DiscordGatewayFake, NonResumableInvalidSessionIdentifiesAgain) {
  // A second Identify within 5 s needs max_concurrency > 1.
  ASSERT_NE(control("config", R"({"session_start_limit":{"max_concurrency":16}})"), "");
  ASSERT_TRUE(start_ready());
  ASSERT_NE(control("invalid_session", R"({"resumable":false})"), "");
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.readies.size() >= 2; }, "second READY"));
  EXPECT_EQ(recorder_.locked([&] { return recorder_.readies[1].session_id; }), "sess-2");
  EXPECT_FALSE(recorder_.locked([&] { return static_cast<bool>(recorder_.resumed_flags[1]); }));
  EXPECT_EQ(gateway_count("identify"), 2);
  EXPECT_EQ(gateway_count("resume"), 0);
  EXPECT_TRUE(client_->ready());
}

TEST_F(DiscordGatewayFake, Close4004IsFatalOnceWithoutReconnect) {
  ASSERT_TRUE(start_ready());
  ASSERT_NE(control("close", R"({"code":4004,"reason":"Authentication failed."})"), "");
  ASSERT_TRUE(recorder_.wait([&] { return !recorder_.fatals.empty(); }, "on_fatal"));
  // Give a wrong reconnect time to show itself (backoff_max is 1 s).
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(recorder_.locked([&] { return recorder_.fatals.size(); }), 1u);
  EXPECT_EQ(recorder_.locked([&] { return recorder_.fatals[0].user_message; }),
            "Discord rejected the bot token (close 4004): check DISCORD_BOT_TOKEN");
  EXPECT_TRUE(client_->fatal());
  EXPECT_FALSE(client_->ready());
  EXPECT_EQ(gateway_count("opened"), 1);
}

}  // namespace
