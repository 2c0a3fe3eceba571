// discord::GatewayClient in-process: a core::ManualScheduler, the fake
// connector of tests/support/fake_connector.hpp playing Discord's Gateway, and
// core::FixedRandom. No TLS, no sleeps: each test decides when each step
// happens. (discord_gateway_fake_test.cpp runs a few of the same flows over
// real TLS against tests/fakes/fake_discord.py.)

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/random.hpp"
#include "core/scheduler.hpp"
#include "discord/gateway_client.hpp"
#include "fake_connector.hpp"
#include "recording_sink.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::FakeConnection;
using testing::HasSubstr;

constexpr const char* kToken = "MTA-secret-bot-token";
constexpr const char* kGatewayUrl = "wss://gateway.discord.test";
constexpr const char* kResumeUrl = "wss://resume.discord.test";
constexpr int kInterval = 41250;

std::string hello(int interval = kInterval) {
  return R"({"op":10,"d":{"heartbeat_interval":)" + std::to_string(interval) +
         R"(},"s":null,"t":null})";
}
std::string ready_frame(std::int64_t s, const std::string& session = "sess-1") {
  return R"({"op":0,"s":)" + std::to_string(s) +
         R"(,"t":"READY","d":{"v":10,"user":{"id":"111","username":"infra-bot","bot":true},"guilds":[],"session_id":")" +
         session + R"(","resume_gateway_url":")" + kResumeUrl +
         R"(","application":{"id":"222","flags":0}}})";
}
std::string resumed_frame(std::int64_t s) {
  return R"({"op":0,"s":)" + std::to_string(s) + R"(,"t":"RESUMED","d":null})";
}
std::string interaction(std::int64_t s, const std::string& id) {
  return R"({"op":0,"s":)" + std::to_string(s) + R"(,"t":"INTERACTION_CREATE","d":{"id":")" + id +
         R"(","type":2,"token":"itok"}})";
}
const std::string kAck = R"({"op":11})";

std::string identify_expected() {
  return std::string(R"({"op":2,"d":{"token":")") + kToken +
         R"(","intents":0,"properties":{"os":"linux","browser":"infra-bot","device":"infra-bot"}}})";
}
std::string resume_expected(const std::string& session, std::int64_t seq) {
  return std::string(R"({"op":6,"d":{"token":")") + kToken + R"(","session_id":")" + session +
         R"(","seq":)" + std::to_string(seq) + "}}";
}
int op_of(const std::string& frame) {
  auto doc = core::json::parse(frame);
  if (!doc || !doc->IsObject()) return -1;
  return static_cast<int>(core::json::get_int(*doc, "op").value_or(-1));
}
std::size_t count_op(const FakeConnection& conn, int op) {
  std::size_t n = 0;
  for (const auto& f : conn.sent()) n += op_of(f) == op ? 1 : 0;
  return n;
}

/// A ManualScheduler whose posts from other threads (the /gateway/bot fetch
/// thread) are counted, so a test can wait for them without sleeping.
class TestScheduler final : public core::Scheduler {
 public:
  void post(std::function<void()> task) override {
    inner.post(std::move(task));
    if (std::this_thread::get_id() != owner_) {
      std::lock_guard lock(mutex_);
      ++foreign_;
      cv_.notify_all();
    }
  }
  core::Timer after(milliseconds delay, std::function<void()> task) override {
    return inner.after(delay, std::move(task));
  }
  core::MonoTime now() const override { return inner.now(); }
  bool in_scheduler_thread() const override { return inner.in_scheduler_thread(); }

  /// Waits until `n` posts came from other threads (5 s at most).
  bool wait_foreign(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 5s, [&] { return foreign_ >= n; });
  }

  core::ManualScheduler inner;

 private:
  std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t foreign_ = 0;
};

class Recorder final : public discord::GatewayListener {
 public:
  void on_ready(const discord::ReadyInfo& ready, bool resumed) override {
    readies.push_back(ready);
    resumed_flags.push_back(resumed);
  }
  void on_dispatch(std::string_view type, std::string_view data) override {
    types.emplace_back(type);
    data_json.emplace_back(data);
  }
  void on_fatal(const core::Error& error) override { fatals.push_back(error); }

  std::vector<discord::ReadyInfo> readies;
  std::vector<bool> resumed_flags;
  std::vector<std::string> types;
  std::vector<std::string> data_json;
  std::vector<core::Error> fatals;
};

class DiscordGateway : public testing::Test {
 protected:
  ~DiscordGateway() override {
    client_.reset();
    scheduler_.inner.run_ready();
  }

  discord::GatewayClient& make(std::vector<double> random = {0.5}) {
    random_ = std::make_unique<core::FixedRandom>(std::move(random));
    discord::GatewaySettings s;
    s.token = kToken;
    s.backoff_min = 1000ms;
    s.backoff_max = 60000ms;
    s.close_timeout = 2000ms;
    s.fetch_runner = [this](std::function<void()> job) { jobs_.push_back(std::move(job)); };
    auto logger = std::make_shared<spdlog::logger>("gw-test", sink_);
    logger->set_level(spdlog::level::debug);
    client_ = std::make_unique<discord::GatewayClient>(
        s, scheduler_, connector_, *random_,
        [this]() -> core::Result<discord::GatewayBot> {
          ++fetch_calls_;
          if (fetch_error_) return *fetch_error_;
          return bot_;
        },
        recorder_, logger);
    return *client_;
  }

  /// Runs everything ready, the fetch thread's answers included.
  void run() {
    for (int i = 0; i < 100; ++i) {
      const auto ran = scheduler_.inner.run_ready();
      if (!jobs_.empty()) {
        // The /gateway/bot fetches, run here (off the scheduler's tasks).
        auto jobs = std::move(jobs_);
        jobs_.clear();
        for (auto& job : jobs) job();
        continue;
      }
      if (ran == 0) return;
    }
  }
  void advance(milliseconds by) {
    // In steps, so that a fetch made by a timer is answered before later timers.
    const milliseconds step = 100ms;
    for (milliseconds done{0}; done < by; done += step) {
      scheduler_.inner.advance(std::min(step, by - done));
      run();
    }
  }

  /// Starts, says Hello, READY with seq 1: a live session.
  std::shared_ptr<FakeConnection> start_ready(std::vector<double> random = {0.5}) {
    auto& client = make(std::move(random));
    client.start();
    run();
    auto conn = connector_.last();
    EXPECT_TRUE(conn);
    if (!conn) return nullptr;
    conn->deliver(hello());
    run();
    conn->deliver(ready_frame(1));
    run();
    EXPECT_TRUE(client.ready());
    return conn;
  }

  bool no_token_in_log() {
    for (const auto& line : sink_->lines()) {
      if (line.find(kToken) != std::string::npos) return false;
    }
    return true;
  }

  TestScheduler scheduler_;
  test::FakeConnector connector_{scheduler_.inner};
  std::unique_ptr<core::FixedRandom> random_;
  Recorder recorder_;
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  discord::GatewayBot bot_{kGatewayUrl, 1, 1000, 998, 3600000ms, 1};
  std::optional<core::Error> fetch_error_;
  std::atomic<std::size_t> fetch_calls_{0};
  std::vector<std::function<void()>> jobs_;
  std::unique_ptr<discord::GatewayClient> client_;
};

const std::string kConnectGateway = std::string(kGatewayUrl) + "/?v=10&encoding=json";
const std::string kConnectResume = std::string(kResumeUrl) + "/?v=10&encoding=json";

// ---- parse_gateway_bot ------------------------------------------------------

TEST(DiscordGatewayBot, ParsesTheSessionStartLimit) {
  auto bot = discord::parse_gateway_bot(
      R"({"url":"wss://gateway.discord.gg","shards":1,"session_start_limit":{"total":1000,"remaining":999,"reset_after":14400000,"max_concurrency":1}})");
  ASSERT_TRUE(bot);
  EXPECT_EQ(bot->url, "wss://gateway.discord.gg");
  EXPECT_EQ(bot->remaining, 999);
  EXPECT_EQ(bot->total, 1000);
  EXPECT_EQ(bot->reset_after, 14400000ms);
  EXPECT_EQ(bot->max_concurrency, 1);
}

TEST(DiscordGatewayBot, RefusesAnswersWithoutUrl) {
  EXPECT_FALSE(discord::parse_gateway_bot(R"({"shards":1})"));
  EXPECT_FALSE(discord::parse_gateway_bot("not json"));
  EXPECT_FALSE(discord::parse_gateway_bot("[]"));
}

// ---- connect, Identify, heartbeats -------------------------------------------

TEST_F(DiscordGateway, HelloThenIdentifyExactPayloadOnTheQueriedUrl) {
  auto& client = make();
  client.start();
  run();
  EXPECT_EQ(fetch_calls_.load(), 1u);
  ASSERT_EQ(connector_.connections().size(), 1u);
  auto conn = connector_.last();
  EXPECT_EQ(conn->url(), kConnectGateway);
  EXPECT_TRUE(conn->sent().empty()) << "nothing before Hello";
  conn->deliver(hello());
  run();
  ASSERT_EQ(conn->sent().size(), 1u);
  EXPECT_EQ(conn->sent()[0], identify_expected());
  EXPECT_FALSE(client.ready());
  conn->deliver(ready_frame(1));
  run();
  EXPECT_TRUE(client.ready());
  ASSERT_EQ(recorder_.readies.size(), 1u);
  EXPECT_EQ(recorder_.readies[0].session_id, "sess-1");
  EXPECT_EQ(recorder_.readies[0].application_id, "222");
  EXPECT_EQ(recorder_.readies[0].user_id, "111");
  EXPECT_FALSE(recorder_.resumed_flags[0]);
  EXPECT_EQ(recorder_.types, std::vector<std::string>{"READY"});
  EXPECT_EQ(client.counters().identifies, 1u);
  EXPECT_EQ(client.counters().connects, 1u);
  EXPECT_TRUE(no_token_in_log());
}

TEST_F(DiscordGateway, FirstHeartbeatAfterJitteredIntervalThenEveryInterval) {
  auto& client = make({0.25});
  client.start();
  run();
  auto conn = connector_.last();
  conn->deliver(hello(40000));
  run();
  ASSERT_EQ(count_op(*conn, 2), 1u);
  advance(9999ms);
  EXPECT_EQ(count_op(*conn, 1), 0u) << "first heartbeat is at 40000 * 0.25 = 10000 ms";
  advance(1ms);
  ASSERT_EQ(count_op(*conn, 1), 1u);
  EXPECT_EQ(conn->sent().back(), R"({"op":1,"d":null})") << "no dispatch yet: d is null";
  conn->deliver(kAck);
  conn->deliver(ready_frame(1));
  conn->deliver(interaction(2, "i-1"));
  run();
  advance(39900ms);
  EXPECT_EQ(count_op(*conn, 1), 1u);
  advance(100ms);
  ASSERT_EQ(count_op(*conn, 1), 2u);
  EXPECT_EQ(conn->sent().back(), R"({"op":1,"d":2})") << "d is the last seq";
  conn->deliver(kAck);
  run();
  advance(40000ms);
  EXPECT_EQ(count_op(*conn, 1), 3u);
  EXPECT_TRUE(client.ready());
}

TEST_F(DiscordGateway, ServerHeartbeatRequestIsAnsweredAtOnce) {
  auto conn = start_ready({0.5});
  const auto before = count_op(*conn, 1);
  conn->deliver(R"({"op":1,"d":null})");
  run();
  EXPECT_EQ(count_op(*conn, 1), before + 1);
  EXPECT_EQ(conn->sent().back(), R"({"op":1,"d":1})");
}

TEST_F(DiscordGateway, SendsStayUnder120PerMinuteWhateverTheServerAsks) {
  auto conn = start_ready({0.5});
  for (int i = 0; i < 200; ++i) conn->deliver(R"({"op":1,"d":null})");
  run();
  EXPECT_LE(conn->sent().size(), 115u) << "Identify + heartbeats within one 60-s window";
  EXPECT_GE(conn->sent().size(), 100u);
  EXPECT_TRUE(client_->ready()) << "refused sends do not end the link";
}

TEST_F(DiscordGateway, DispatchesGoToTheListenerWithTheirData) {
  auto conn = start_ready();
  conn->deliver(interaction(2, "i-7"));
  run();
  ASSERT_EQ(recorder_.types.back(), "INTERACTION_CREATE");
  auto d = core::json::parse(recorder_.data_json.back());
  ASSERT_TRUE(d);
  EXPECT_EQ(core::json::get_string(*d, "id").value_or(""), "i-7");
  EXPECT_EQ(client_->counters().dispatches, 2u);
}

// ---- zombie, resume ------------------------------------------------------------

TEST_F(DiscordGateway, MissingAckIsAZombieResumedOnTheResumeUrlWithSessionAndSeq) {
  auto conn = start_ready({0.5});
  conn->deliver(interaction(2, "i-1"));
  run();
  advance(milliseconds(kInterval / 2));
  ASSERT_EQ(count_op(*conn, 1), 1u);  // no ACK for it
  advance(milliseconds(kInterval));
  EXPECT_TRUE(conn->aborted() || (conn->closed_by_client() && conn->close_code() != 1000 &&
                                  conn->close_code() != 1001));
  EXPECT_FALSE(client_->ready());
  EXPECT_EQ(client_->counters().zombie_reconnects, 1u);
  ASSERT_EQ(connector_.connections().size(), 2u);
  auto resumed = connector_.last();
  EXPECT_EQ(resumed->url(), kConnectResume);
  resumed->deliver(hello());
  run();
  ASSERT_EQ(resumed->sent().size(), 1u);
  EXPECT_EQ(resumed->sent()[0], resume_expected("sess-1", 2));
  // Missed events replay in order, then RESUMED.
  resumed->deliver(interaction(3, "i-2"));
  resumed->deliver(interaction(4, "i-3"));
  resumed->deliver(resumed_frame(5));
  run();
  EXPECT_TRUE(client_->ready());
  const std::vector<std::string> want{"READY", "INTERACTION_CREATE", "INTERACTION_CREATE",
                                      "INTERACTION_CREATE", "RESUMED"};
  EXPECT_EQ(recorder_.types, want);
  EXPECT_THAT(recorder_.data_json[2], HasSubstr("i-2"));
  EXPECT_THAT(recorder_.data_json[3], HasSubstr("i-3"));
  ASSERT_EQ(recorder_.resumed_flags.size(), 2u);
  EXPECT_TRUE(recorder_.resumed_flags[1]);
  EXPECT_EQ(recorder_.readies[1].session_id, "sess-1");
  EXPECT_EQ(client_->counters().resumes, 1u);
  EXPECT_EQ(client_->counters().identifies, 1u);
  EXPECT_EQ(fetch_calls_.load(), 1u) << "a resume needs no /gateway/bot";
  EXPECT_TRUE(no_token_in_log());
}

TEST_F(DiscordGateway, ReconnectOpClosesNon1000AndResumes) {
  auto conn = start_ready();
  conn->deliver(R"({"op":7,"d":null})");
  run();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_NE(conn->close_code(), 1000);
  EXPECT_NE(conn->close_code(), 1001);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(connector_.last()->url(), kConnectResume);
  connector_.last()->deliver(hello());
  run();
  EXPECT_EQ(connector_.last()->sent().at(0), resume_expected("sess-1", 1));
}

TEST_F(DiscordGateway, AHangingCloseAfterReconnectIsCutAndResumed) {
  auto conn = start_ready();
  conn->hang_on_close = true;
  conn->deliver(R"({"op":7,"d":null})");
  run();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(3500ms);  // close_timeout 2 s + 1.5 s
  EXPECT_TRUE(conn->aborted());
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(connector_.last()->url(), kConnectResume);
}

TEST_F(DiscordGateway, NoHelloIsCutAndRetried) {
  auto& client = make({1.0});
  client.start();
  run();
  auto conn = connector_.last();
  advance(20000ms);
  EXPECT_TRUE(conn->aborted());
  advance(1000ms);
  EXPECT_EQ(connector_.connections().size(), 2u);
}

TEST_F(DiscordGateway, NoReadyAfterIdentifyIsClosedAndRetried) {
  auto& client = make({1.0});
  client.start();
  run();
  auto conn = connector_.last();
  conn->deliver(hello(10000));
  run();
  for (int i = 0; i < 4; ++i) {
    advance(10000ms);
    conn->deliver(kAck);
    run();
  }
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_NE(conn->close_code(), 1000);
  advance(6000ms);
  EXPECT_EQ(connector_.connections().size(), 2u);
  EXPECT_TRUE(recorder_.fatals.empty());
}

TEST_F(DiscordGateway, ResumableInvalidSessionResumes) {
  auto conn = start_ready();
  conn->deliver(R"({"op":9,"d":true})");
  run();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_NE(conn->close_code(), 1000);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(connector_.last()->url(), kConnectResume);
  connector_.last()->deliver(hello());
  run();
  EXPECT_EQ(op_of(connector_.last()->sent().at(0)), 6);
}

TEST_F(DiscordGateway, NonResumableInvalidSessionWaitsThenIdentifiesOnTheCachedUrl) {
  auto conn = start_ready({0.5});
  conn->deliver(interaction(2, "i-1"));
  // Far enough from the first Identify that the 5-s bucket is free.
  advance(10000ms);
  conn->deliver(kAck);
  conn->deliver(R"({"op":9,"d":false})");
  run();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_NE(conn->close_code(), 1000);
  EXPECT_FALSE(client_->ready());
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(2900ms);  // 1 s + 0.5 · 4 s = 3 s
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(100ms);
  ASSERT_EQ(connector_.connections().size(), 2u);
  auto fresh = connector_.last();
  EXPECT_EQ(fresh->url(), kConnectGateway);
  fresh->deliver(hello());
  run();
  EXPECT_EQ(fresh->sent().at(0), identify_expected());
  fresh->deliver(ready_frame(1, "sess-2"));
  run();
  EXPECT_TRUE(client_->ready());
  EXPECT_EQ(recorder_.readies.back().session_id, "sess-2");
  EXPECT_EQ(fetch_calls_.load(), 1u) << "the cached /gateway/bot URL";
}

// ---- close codes ------------------------------------------------------------------

class DiscordGatewayFatal : public DiscordGateway, public testing::WithParamInterface<int> {};

TEST_P(DiscordGatewayFatal, StopsWithOneLineAndNoReconnect) {
  auto& client = make();
  client.start();
  run();
  auto conn = connector_.last();
  conn->deliver(hello());
  run();
  conn->close_by_server(GetParam());
  run();
  advance(600000ms);
  EXPECT_EQ(connector_.connections().size(), 1u) << "no reconnect";
  ASSERT_EQ(recorder_.fatals.size(), 1u);
  EXPECT_TRUE(client.fatal());
  EXPECT_FALSE(client.ready());
  const auto& line = recorder_.fatals[0].user_message;
  EXPECT_THAT(line, HasSubstr("close " + std::to_string(GetParam())));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  if (GetParam() == 4004) {
    EXPECT_EQ(line, "Discord rejected the bot token (close 4004): check DISCORD_BOT_TOKEN");
  }
  EXPECT_TRUE(no_token_in_log());
}
INSTANTIATE_TEST_SUITE_P(Codes, DiscordGatewayFatal,
                         testing::Values(4004, 4010, 4011, 4012, 4013, 4014));

TEST_F(DiscordGateway, ReconnectableCloseResumesWithGrowingBackoffResetByResumed) {
  auto conn = start_ready({1.0});  // full steps: 1 s, 2 s, 4 s
  conn->close_by_server(4000);
  run();
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(999ms);
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(1ms);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(connector_.last()->url(), kConnectResume);
  connector_.last()->drop();  // 1006 before Hello
  run();
  advance(1999ms);
  EXPECT_EQ(connector_.connections().size(), 2u);
  advance(1ms);
  ASSERT_EQ(connector_.connections().size(), 3u);
  auto third = connector_.last();
  third->deliver(hello());
  third->deliver(resumed_frame(2));
  run();
  EXPECT_TRUE(client_->ready());
  third->close_by_server(4001);
  run();
  advance(999ms);
  EXPECT_EQ(connector_.connections().size(), 3u);
  advance(1ms);
  EXPECT_EQ(connector_.connections().size(), 4u) << "backoff reset by RESUMED";
  EXPECT_TRUE(recorder_.fatals.empty());
}

TEST_F(DiscordGateway, SessionEndingCloseCodesStartANewSession) {
  for (int code : {4007, 4009, 4003, 4005}) {
    SCOPED_TRACE(code);
    if (!client_) {
      start_ready({1.0});
    }
    auto conn = connector_.last();
    const auto before = connector_.connections().size();
    advance(6000ms);  // the 5-s identify bucket
    conn->deliver(kAck);
    conn->close_by_server(code);
    run();
    advance(1000ms);
    ASSERT_EQ(connector_.connections().size(), before + 1);
    auto fresh = connector_.last();
    EXPECT_EQ(fresh->url(), kConnectGateway);
    fresh->deliver(hello());
    run();
    EXPECT_EQ(fresh->sent().at(0), identify_expected());
    fresh->deliver(ready_frame(1, "sess-" + std::to_string(code)));
    run();
    EXPECT_TRUE(client_->ready());
  }
  EXPECT_TRUE(recorder_.fatals.empty());
}

TEST_F(DiscordGateway, ConnectFailureBeforeAnySessionRetriesIdentifyWithBackoff) {
  connector_.auto_open = false;
  auto& client = make({1.0});
  client.start();
  run();
  connector_.last()->refuse("tls failed");
  run();
  advance(1000ms);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(connector_.last()->url(), kConnectGateway);
  EXPECT_TRUE(recorder_.fatals.empty());
}

// ---- session start limit, concurrency -----------------------------------------------

TEST_F(DiscordGateway, NoSessionStartsLeftWaitsResetAfterBeforeIdentifying) {
  bot_.remaining = 0;
  bot_.reset_after = 30000ms;
  auto& client = make();
  client.start();
  run();
  EXPECT_TRUE(connector_.connections().empty());
  advance(29900ms);
  EXPECT_TRUE(connector_.connections().empty());
  advance(100ms);
  ASSERT_EQ(connector_.connections().size(), 1u);
  connector_.last()->deliver(hello());
  run();
  EXPECT_EQ(connector_.last()->sent().at(0), identify_expected());
  bool logged = false;
  for (const auto& line : sink_->lines()) {
    logged = logged || line.find("reset_after") != std::string::npos;
  }
  EXPECT_TRUE(logged) << "the wait is logged";
}

TEST_F(DiscordGateway, IdentifiesStayWithinMaxConcurrencyPer5s) {
  auto conn = start_ready({0.0});  // op 9 false then waits the minimum 1 s
  conn->deliver(R"({"op":9,"d":false})");
  run();
  advance(1000ms);
  // 1 s after the first Identify: the bucket (1 per 5 s) holds the next one.
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(3900ms);
  EXPECT_EQ(connector_.connections().size(), 1u);
  advance(100ms);
  ASSERT_EQ(connector_.connections().size(), 2u);
  connector_.last()->deliver(hello());
  run();
  EXPECT_EQ(client_->counters().identifies, 2u);
}

TEST_F(DiscordGateway, MaxConcurrencyTwoAllowsTwoIdentifiesIn5s) {
  bot_.max_concurrency = 2;
  auto conn = start_ready({0.0});
  conn->deliver(R"({"op":9,"d":false})");
  run();
  advance(1000ms);
  ASSERT_EQ(connector_.connections().size(), 2u);
  connector_.last()->deliver(hello());
  run();
  connector_.last()->deliver(R"({"op":9,"d":false})");
  run();
  advance(1000ms);
  EXPECT_EQ(connector_.connections().size(), 2u) << "third Identify waits for the bucket";
  advance(3000ms);
  EXPECT_EQ(connector_.connections().size(), 3u);
}

// ---- /gateway/bot failures ---------------------------------------------------------------

TEST_F(DiscordGateway, GatewayBotUnavailableIsRetried) {
  fetch_error_ = core::make_error(core::ErrorCode::unavailable, "down", "HTTP 502");
  auto& client = make({1.0});
  client.start();
  run();
  EXPECT_EQ(fetch_calls_.load(), 1u);
  EXPECT_TRUE(connector_.connections().empty());
  fetch_error_.reset();
  advance(1000ms);
  EXPECT_EQ(fetch_calls_.load(), 2u);
  EXPECT_EQ(connector_.connections().size(), 1u);
  EXPECT_FALSE(client.fatal());
}

TEST_F(DiscordGateway, GatewayBotUnauthorizedIsFatal) {
  fetch_error_ = core::make_error(core::ErrorCode::denied, "bad token", "HTTP 401");
  auto& client = make();
  client.start();
  run();
  advance(600000ms);
  EXPECT_TRUE(client.fatal());
  ASSERT_EQ(recorder_.fatals.size(), 1u);
  EXPECT_THAT(recorder_.fatals[0].user_message, HasSubstr("DISCORD_BOT_TOKEN"));
  EXPECT_EQ(fetch_calls_.load(), 1u);
  EXPECT_TRUE(connector_.connections().empty());
}

TEST_F(DiscordGateway, WithoutARunnerTheFetchRunsOnAThreadOfItsOwn) {
  random_ = std::make_unique<core::FixedRandom>(std::vector<double>{0.5});
  discord::GatewaySettings s;
  s.token = kToken;
  std::atomic<bool> on_test_thread{true};
  const auto test_thread = std::this_thread::get_id();
  client_ = std::make_unique<discord::GatewayClient>(
      s, scheduler_, connector_, *random_,
      [&]() -> core::Result<discord::GatewayBot> {
        on_test_thread = std::this_thread::get_id() == test_thread;
        return bot_;
      },
      recorder_, nullptr);
  client_->start();
  scheduler_.inner.run_ready();
  ASSERT_TRUE(scheduler_.wait_foreign(1)) << "the fetch thread never answered";
  scheduler_.inner.run_ready();
  EXPECT_FALSE(on_test_thread.load());
  ASSERT_EQ(connector_.connections().size(), 1u);
  EXPECT_EQ(connector_.last()->url(), kConnectGateway);
}

// ---- stop -------------------------------------------------------------------------------

TEST_F(DiscordGateway, StopClosesWith1000AndCallsOnStoppedOnce) {
  auto conn = start_ready();
  int stopped = 0;
  client_->stop([&] { ++stopped; });
  run();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_EQ(conn->close_code(), 1000);
  EXPECT_EQ(stopped, 1);
  EXPECT_FALSE(client_->ready());
  advance(600000ms);
  EXPECT_EQ(connector_.connections().size(), 1u) << "no reconnect after stop";
  EXPECT_EQ(stopped, 1);
}

TEST_F(DiscordGateway, StopGivesUpOnAHangingCloseAfterCloseTimeout) {
  auto conn = start_ready();
  conn->hang_on_close = true;
  int stopped = 0;
  client_->stop([&] { ++stopped; });
  run();
  EXPECT_EQ(stopped, 0);
  advance(3500ms);  // close_timeout 2 s + 1.5 s
  EXPECT_EQ(stopped, 1);
  EXPECT_TRUE(conn->aborted());
  advance(600000ms);
  EXPECT_EQ(stopped, 1);
  EXPECT_EQ(connector_.connections().size(), 1u);
}

TEST_F(DiscordGateway, StopBeforeStartOrDuringFetchEndsCleanly) {
  auto& client = make();
  int stopped = 0;
  client.start();
  client.stop([&] { ++stopped; });
  run();
  advance(60000ms);
  EXPECT_EQ(stopped, 1);
  EXPECT_TRUE(connector_.connections().empty());
}

// ---- failure sweep (beast's fail_count) --------------------------------------------------

/// Plays a well-behaved Gateway on every connection: Hello on open, READY
/// for Identify, RESUMED for Resume, an ACK for each heartbeat.
void play_gateway(test::FakeConnector& connector, int& sessions) {
  connector.on_opened = [](FakeConnection& conn) { conn.deliver(hello()); };
  connector.on_sent = [&sessions](FakeConnection& conn, const std::string& frame) {
    switch (op_of(frame)) {
      case 1:
        conn.deliver(kAck);
        break;
      case 2:
        conn.deliver(ready_frame(1, "sess-" + std::to_string(++sessions)));
        break;
      case 6:
        conn.deliver(resumed_frame(100));
        break;
      default:
        break;
    }
  };
}

TEST_F(DiscordGateway, EveryFailurePointOfConnectAndIdentifyEndsReady) {
  for (std::size_t n = 1; n < 40; ++n) {
    SCOPED_TRACE("failing operation " + std::to_string(n));
    test::FailCount fail(n);
    test::FakeConnector connector(scheduler_.inner);
    connector.fail_count = &fail;
    int sessions = 0;
    play_gateway(connector, sessions);
    Recorder recorder;
    core::FixedRandom random({0.5});
    discord::GatewaySettings s;
    s.token = kToken;
    s.fetch_runner = [this](std::function<void()> job) { jobs_.push_back(std::move(job)); };
    auto client = std::make_unique<discord::GatewayClient>(
        s, scheduler_, connector, random,
        [this]() -> core::Result<discord::GatewayBot> {
          ++fetch_calls_;
          return bot_;
        },
        recorder, nullptr);
    client->start();
    run();
    for (int i = 0; i < 600 && !client->ready(); ++i) advance(1000ms);
    EXPECT_TRUE(client->ready());
    EXPECT_FALSE(client->fatal());
    // and it stays up across heartbeats
    advance(milliseconds(3 * kInterval));
    EXPECT_TRUE(client->ready());
    int stopped = 0;
    client->stop([&] { ++stopped; });
    run();
    advance(5000ms);
    EXPECT_EQ(stopped, 1);
    client.reset();
    scheduler_.inner.run_ready();
    if (!fail.failed()) {
      // The scenario ran without reaching operation n: every point was swept.
      EXPECT_GT(n, 8u) << "fewer failure points than the scenario has operations?";
      return;
    }
  }
  ADD_FAILURE() << "more than 40 operations";
}

TEST_F(DiscordGateway, EveryFailurePointOfAResumeEndsReadyWithoutLosingTheSession) {
  for (std::size_t n = 1; n < 40; ++n) {
    SCOPED_TRACE("failing operation " + std::to_string(n) + " after READY");
    test::FakeConnector connector(scheduler_.inner);
    int sessions = 0;
    play_gateway(connector, sessions);
    Recorder recorder;
    core::FixedRandom random({0.5});
    discord::GatewaySettings s;
    s.token = kToken;
    s.fetch_runner = [this](std::function<void()> job) { jobs_.push_back(std::move(job)); };
    auto client = std::make_unique<discord::GatewayClient>(
        s, scheduler_, connector, random,
        [this]() -> core::Result<discord::GatewayBot> {
          ++fetch_calls_;
          return bot_;
        },
        recorder, nullptr);
    client->start();
    run();
    advance(1000ms);
    ASSERT_TRUE(client->ready());
    // From here on the n-th operation fails: op 7, then the resume.
    test::FailCount later(n);
    connector.fail_count = &later;
    connector.last()->deliver(R"({"op":7,"d":null})");
    run();
    for (int i = 0; i < 600 && !client->ready(); ++i) advance(1000ms);
    EXPECT_TRUE(client->ready());
    EXPECT_FALSE(client->fatal());
    EXPECT_EQ(sessions, 1) << "a failed resume is retried as a resume";
    client.reset();
    scheduler_.inner.run_ready();
    if (!later.failed()) {
      EXPECT_GT(n, 4u) << "fewer failure points than the scenario has operations?";
      return;
    }
  }
  ADD_FAILURE() << "more than 40 operations";
}

}  // namespace
