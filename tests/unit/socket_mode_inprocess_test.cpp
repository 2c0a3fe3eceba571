// slack::SocketModeClient in-process: a core::ManualScheduler, the fake
// connector and opener (tests/support/fake_connector.hpp). No TLS, no
// threads, no sleeps: each test decides when each step happens and moves
// time by hand. (socket_mode_client_test.cpp keeps a few of the same flows
// over real TLS against the Python fake Slack.)

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/scheduler.hpp"
#include "fake_connector.hpp"
#include "recording_sink.hpp"
#include "slack/connection_opener.hpp"
#include "slack/socket_mode_client.hpp"

namespace {

using namespace std::chrono_literals;
using slack::ConnectionState;
using test::FakeConnection;
using testing::HasSubstr;

std::string event_envelope(const std::string& envelope_id, const std::string& event_id) {
  return R"({"envelope_id":")" + envelope_id +
         R"(","payload":{"token":"t","team_id":"T111","api_app_id":"A111","event":{"type":"app_mention","text":"<@U111>","user":"U222","ts":"1610241741.000200","channel":"C111","event_ts":"1610241741.000200"},"type":"event_callback","event_id":")" +
         event_id +
         R"(","event_time":1610241741},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""})";
}

std::string command_envelope(const std::string& envelope_id, const std::string& trigger_id) {
  return R"({"envelope_id":")" + envelope_id +
         R"(","payload":{"token":"t","team_id":"T111","team_domain":"xxx","channel_id":"C111","channel_name":"random","user_id":"U111","user_name":"testxyz","command":"/infra","text":"status","api_app_id":"A111","response_url":"https://hooks.slack.com/commands/T111/111/xxx","trigger_id":")" +
         trigger_id + R"("},"type":"slash_commands","accepts_response_payload":true})";
}

/// An ack frame read back: envelope id and payload (empty: a bare ack).
struct AckFrame {
  std::string envelope_id;
  std::string payload;
};

std::optional<AckFrame> read_ack(const std::string& frame) {
  auto doc = core::json::parse(frame);
  if (!doc || !doc->IsObject()) return std::nullopt;
  auto id = core::json::get_string(*doc, "envelope_id");
  if (!id) return std::nullopt;
  AckFrame ack{std::string(*id), {}};
  if (doc->HasMember("payload")) ack.payload = core::json::to_string((*doc)["payload"]);
  return ack;
}

std::vector<AckFrame> acks_on(const FakeConnection& conn) {
  std::vector<AckFrame> out;
  for (const auto& frame : conn.sent()) {
    if (auto ack = read_ack(frame)) out.push_back(*ack);
  }
  return out;
}

/// Quiet unless SOCKET_TEST_LOG is set (then debug lines go to stderr).
core::LoggerPtr test_logger() {
  if (std::getenv("SOCKET_TEST_LOG") == nullptr) return core::make_null_logger();
  return core::make_stderr_logger("socket-test", core::LogFormat::text, core::LogLevel::debug,
                                  core::Redactor{});
}

slack::SocketModeSettings base_settings(int connections) {
  slack::SocketModeSettings s;
  s.app_token = "xapp-1-TEST";
  s.connections = connections;
  s.ping_interval = 5s;
  s.pong_timeout = 20s;
  s.idle_timeout = 60s;
  s.close_timeout = 1s;
  s.hello_timeout = 10s;
  s.backoff_base = 1s;
  s.backoff_cap = 30s;
  return s;
}

/// Answers `value` every time (1: the full backoff, so waits are exact).
class SettableRandom final : public core::RandomSource {
 public:
  double unit() override { return value; }
  double value = 1.0;
};

/// Records what the client hands over; acks each envelope at once (as the App
/// does) unless told not to. Everything runs on the test's thread.
class Recorder final : public slack::SocketModeClient::Listener {
 public:
  void on_envelope(const slack::Envelope& envelope) override {
    ++seen[envelope.envelope_id];
    order.push_back(envelope.envelope_id);
    if (stop_on_envelope) client->stop();
    if (client != nullptr && auto_ack) {
      auto status = client->ack(envelope.envelope_id, ack_payload,
                                [this, id = envelope.envelope_id] { ++written[id]; });
      EXPECT_TRUE(status.has_value());
    }
  }
  void on_state(ConnectionState state) override { states.push_back(state); }
  void on_fatal(const core::Error& error) override { fatals.push_back(error); }

  slack::SocketModeClient* client = nullptr;
  bool auto_ack = true;
  bool stop_on_envelope = false;
  std::optional<std::string> ack_payload;
  std::map<std::string, int> seen;
  std::map<std::string, int> written;
  std::vector<std::string> order;
  std::vector<ConnectionState> states;
  std::vector<core::Error> fatals;
};

class SocketModeInProcess : public testing::Test {
 protected:
  SocketModeInProcess() {
    // Slack says hello as soon as a connection opens (tests that want
    // otherwise reset the hook).
    connector_.on_opened = [](FakeConnection& conn) { conn.hello(); };
  }
  ~SocketModeInProcess() override {
    client_.reset();
    scheduler_.run_ready();
  }

  static slack::SocketModeSettings settings(int connections = 1) {
    return base_settings(connections);
  }

  slack::SocketModeClient& make(slack::SocketModeSettings s, core::LoggerPtr logger = nullptr) {
    client_ = std::make_unique<slack::SocketModeClient>(std::move(s), scheduler_, connector_,
                                                        opener_, random_, recorder_,
                                                        logger ? logger : test_logger());
    recorder_.client = client_.get();
    return *client_;
  }

  /// Starts with `connections` links and runs until each said hello.
  testing::AssertionResult start_ready(int connections = 1) {
    auto& client = make(settings(connections));
    client.start();
    scheduler_.run_ready();
    if (client.stats().ready_connections == connections) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << client.stats().ready_connections << " ready, wanted " << connections;
  }

  std::vector<AckFrame> all_acks() const {
    std::vector<AckFrame> out;
    for (const auto& conn : connector_.connections()) {
      for (auto& ack : acks_on(*conn)) out.push_back(std::move(ack));
    }
    return out;
  }
  std::size_t acks_for(const std::string& id) const {
    std::size_t n = 0;
    for (const auto& ack : all_acks()) n += ack.envelope_id == id ? 1 : 0;
    return n;
  }

  core::ManualScheduler scheduler_;
  test::FakeConnector connector_{scheduler_};
  test::FakeOpener opener_{scheduler_};
  SettableRandom random_;
  Recorder recorder_;
  std::unique_ptr<slack::SocketModeClient> client_;
};

// ---- hello, ack ----------------------------------------------------------

TEST_F(SocketModeInProcess, ReadyOnlyAfterHelloThenAckGoesOutOnTheEnvelopesConnection) {
  connector_.on_opened = nullptr;
  auto& client = make(settings(1));
  EXPECT_FALSE(client.ready());
  client.start();
  scheduler_.run_ready();
  ASSERT_EQ(connector_.connections().size(), 1u);
  auto conn = connector_.last();
  EXPECT_TRUE(conn->is_open());
  EXPECT_FALSE(client.ready()) << "open is not ready: hello is";
  EXPECT_EQ(recorder_.states, std::vector<ConnectionState>{ConnectionState::connecting});
  conn->hello();
  scheduler_.run_ready();
  EXPECT_TRUE(client.ready());
  EXPECT_EQ(recorder_.states.back(), ConnectionState::ready);

  recorder_.ack_payload = R"({"text":"working on it"})";
  conn->deliver(command_envelope("cmd-1", "111.222.xxx"));
  scheduler_.run_ready();
  EXPECT_EQ(recorder_.seen["cmd-1"], 1);
  const auto acks = acks_on(*conn);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].envelope_id, "cmd-1");
  EXPECT_EQ(acks[0].payload, R"({"text":"working on it"})");
  EXPECT_EQ(recorder_.written["cmd-1"], 1);
  const auto stats = client.stats();
  EXPECT_EQ(stats.acks_sent, 1u);
  EXPECT_EQ(stats.envelopes_by_type.at("slash_commands"), 1u);
  EXPECT_EQ(stats.ready_connections, 1);
  EXPECT_EQ(opener_.calls(), 1u);
}

TEST_F(SocketModeInProcess, OnWrittenRunsOnceTheAckWasHandedToTheConnection) {
  ASSERT_TRUE(start_ready(1));
  recorder_.auto_ack = false;
  auto conn = connector_.last();
  conn->deliver(event_envelope("env-1", "Ev1"));
  scheduler_.run_ready();
  ASSERT_EQ(recorder_.seen["env-1"], 1);
  int written = 0;
  std::size_t sent_when_written = 0;
  ASSERT_TRUE(client_->ack("env-1", std::nullopt, [&] {
    ++written;
    sent_when_written = conn->sent().size();
  }));
  EXPECT_EQ(written, 0) << "not inline: the ack is written on the scheduler's thread";
  EXPECT_TRUE(conn->sent().empty());
  scheduler_.run_ready();
  EXPECT_EQ(written, 1);
  EXPECT_EQ(sent_when_written, 1u) << "on_written ran after send_text";
}

TEST_F(SocketModeInProcess, AckOver20KbIsRefusedAndJustUnderGoesOut) {
  ASSERT_TRUE(start_ready(1));
  int written = 0;
  const std::string big = R"({"text":")" + std::string(20480, 'x') + R"("})";
  auto status = client_->ack("env-big", big, [&] { ++written; });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, core::ErrorCode::invalid_input);
  EXPECT_EQ(client_->stats().acks_refused, 1u);
  const std::string small = R"({"text":")" + std::string(20000, 'x') + R"("})";
  ASSERT_TRUE(client_->ack("env-small", small, [&] { ++written; }).has_value());
  EXPECT_FALSE(client_->ack("env-bad", std::string("{not json")).has_value());
  scheduler_.run_ready();
  EXPECT_EQ(acks_for("env-big"), 0u);
  EXPECT_EQ(acks_for("env-small"), 1u);
  EXPECT_EQ(written, 1);
}

// The payload is spliced into the ack as its "payload": only a JSON object
// with nothing before it makes the ack JSON (a BOM is JSON to parse(), and a
// NUL would end RapidJSON's reading early).
TEST_F(SocketModeInProcess, AckPayloadThatIsNotAJsonObjectIsRefused) {
  ASSERT_TRUE(start_ready(1));
  for (const std::string& bad :
       {std::string("\xEF\xBB\xBF{}"), std::string("[1]"), std::string("\"text\""),
        std::string("{}\0junk", 7), std::string("   "), std::string()}) {
    const auto status = client_->ack("env-bad", bad);
    ASSERT_FALSE(status.has_value()) << testing::PrintToString(bad);
    EXPECT_EQ(status.error().code, core::ErrorCode::invalid_input);
  }
  ASSERT_TRUE(client_->ack("env-good", std::string(" {\"text\":\"ok\"}")).has_value());
  scheduler_.run_ready();
  EXPECT_EQ(acks_for("env-bad"), 0u);
  EXPECT_EQ(acks_for("env-good"), 1u);
}

TEST_F(SocketModeInProcess, AckBeforeStartAndAfterStopIsRefused) {
  make(settings(1));
  EXPECT_EQ(client_->ack("early").error().code, core::ErrorCode::unavailable);
  client_->start();
  scheduler_.run_ready();
  client_->stop();
  EXPECT_EQ(client_->ack("late").error().code, core::ErrorCode::unavailable);
}

TEST_F(SocketModeInProcess, ConnectionsAreCappedAtFour) {
  auto s = settings(10);
  make(s);
  client_->start();
  scheduler_.run_ready();
  EXPECT_EQ(connector_.connections().size(), 4u);
  EXPECT_EQ(client_->stats().ready_connections, 4);
  EXPECT_EQ(opener_.calls(), 4u);
}

TEST_F(SocketModeInProcess, MalformedFramesAreSkippedAndTheConnectionSurvives) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->deliver("not json");
  conn->deliver("");
  conn->deliver("{}");
  conn->deliver(R"({"type":"something_new"})");
  conn->deliver(event_envelope("after-junk", "EvJunk"));
  scheduler_.run_ready();
  EXPECT_EQ(acks_for("after-junk"), 1u);
  EXPECT_EQ(client_->stats().malformed_frames, 4u);
  EXPECT_TRUE(conn->is_open());
  EXPECT_EQ(connector_.connections().size(), 1u);
}

TEST_F(SocketModeInProcess, DebugReconnectsIsAppendedToTheTicketUrl) {
  auto s = settings(1);
  s.debug_reconnects = true;
  make(s);
  client_->start();
  scheduler_.run_ready();
  ASSERT_EQ(connector_.connections().size(), 1u);
  EXPECT_THAT(connector_.last()->url(), HasSubstr("&debug_reconnects=true"));
}

// ---- dedupe, redelivery --------------------------------------------------

TEST_F(SocketModeInProcess, DuplicatesAcrossConnectionsAndRetriesReachTheListenerOnce) {
  ASSERT_TRUE(start_ready(2));
  const auto live = connector_.live();
  ASSERT_EQ(live.size(), 2u);
  // Same envelope_id: twice on one connection, once on the other.
  live[0]->deliver(event_envelope("dup-1", "EvDup1"));
  live[0]->deliver(event_envelope("dup-1", "EvDup1"));
  live[1]->deliver(event_envelope("dup-1", "EvDup1"));
  // Same event_id under a new envelope_id (a Slack retry).
  live[1]->deliver(event_envelope("dup-2", "EvDup1"));
  live[0]->deliver(event_envelope("fresh", "EvFresh"));
  scheduler_.run_ready();
  EXPECT_EQ(recorder_.seen["dup-1"], 1);
  EXPECT_EQ(recorder_.seen.count("dup-2"), 0u);
  EXPECT_EQ(recorder_.seen["fresh"], 1);
  EXPECT_EQ(client_->stats().duplicates_dropped, 3u);
  EXPECT_EQ(acks_for("dup-2"), 1u) << "a retry the listener never sees is acked bare";
  EXPECT_EQ(acks_for("fresh"), 1u);
  EXPECT_GE(acks_for("dup-1"), 1u);
}

TEST_F(SocketModeInProcess, DedupeWindowForgetsOldKeys) {
  auto s = settings(1);
  s.dedupe_window = std::chrono::minutes(10);
  make(s);
  client_->start();
  scheduler_.run_ready();
  auto conn = connector_.last();
  conn->deliver(event_envelope("old", "EvOld"));
  scheduler_.run_ready();
  // Keep the link alive across the wait (pongs are automatic).
  scheduler_.advance(11min);
  ASSERT_TRUE(conn->is_open());
  conn->deliver(event_envelope("old", "EvOld"));
  scheduler_.run_ready();
  EXPECT_EQ(recorder_.seen["old"], 2) << "past the window a key is new again";
}

TEST_F(SocketModeInProcess, AckWithoutAConnectionIsKeptAndSentOnTheRedelivery) {
  ASSERT_TRUE(start_ready(1));
  recorder_.auto_ack = false;
  auto first = connector_.last();
  first->deliver(command_envelope("cmd-late", "555.666.yyy"));
  scheduler_.run_ready();
  ASSERT_EQ(recorder_.seen["cmd-late"], 1);
  // The link goes away and the next URL is slow to come: the ack finds no connection.
  opener_.hold = true;
  first->drop();
  scheduler_.run_ready();
  ASSERT_FALSE(client_->ready());
  int written = 0;
  ASSERT_TRUE(client_->ack("cmd-late", R"({"text":"late but complete"})", [&] { ++written; }));
  scheduler_.run_ready();
  EXPECT_EQ(written, 0) << "no connection took it";
  EXPECT_EQ(client_->stats().acks_sent, 0u);
  scheduler_.advance(1s);  // the backoff (1 s at most for a first failure)
  ASSERT_EQ(opener_.held(), 1u);
  opener_.hold = false;
  opener_.answer_success();
  scheduler_.run_ready();
  auto second = connector_.last();
  ASSERT_NE(second, first);
  ASSERT_TRUE(client_->ready());
  second->deliver(command_envelope("cmd-late", "555.666.yyy"));  // Slack redelivers
  scheduler_.run_ready();
  const auto acks = acks_on(*second);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].payload, R"({"text":"late but complete"})");
  EXPECT_EQ(recorder_.seen["cmd-late"], 1);
  EXPECT_EQ(written, 1) << "on_written runs when the redelivery carries the kept ack";
}

TEST_F(SocketModeInProcess, AckLostWithItsSocketIsResentWithItsPayloadOnTheRedelivery) {
  ASSERT_TRUE(start_ready(1));
  recorder_.ack_payload = R"({"text":"production cannot be stopped"})";
  auto first = connector_.last();
  first->deliver(command_envelope("cmd-lost", "777.888.zzz"));
  scheduler_.run_ready();
  ASSERT_EQ(acks_on(*first).size(), 1u) << "written into a socket Slack never read";
  first->drop();
  scheduler_.advance(1s);
  auto second = connector_.last();
  ASSERT_NE(second, first);
  second->deliver(command_envelope("cmd-lost", "777.888.zzz"));
  scheduler_.run_ready();
  const auto acks = acks_on(*second);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].payload, R"({"text":"production cannot be stopped"})");
  EXPECT_EQ(recorder_.seen["cmd-lost"], 1);
  EXPECT_EQ(recorder_.written["cmd-lost"], 1);
  EXPECT_EQ(client_->stats().acks_sent, 2u);
  EXPECT_EQ(client_->stats().duplicates_dropped, 1u);
  EXPECT_EQ(client_->stats().reconnects_by_reason["dropped"], 1u);
}

// The application may ack later (it waits for users.info, issue 15): a
// redelivery meanwhile is not acked bare, and gets the application's ack
// when it comes — each delivery is answered, with the same payload.
TEST_F(SocketModeInProcess, RedeliveryWhileTheApplicationsAckIsOnItsWayGetsThatAck) {
  ASSERT_TRUE(start_ready(1));
  recorder_.auto_ack = false;
  auto conn = connector_.last();
  conn->deliver(command_envelope("cmd-slow", "1.2.3"));
  conn->deliver(command_envelope("cmd-slow", "1.2.3"));
  scheduler_.run_ready();
  EXPECT_TRUE(conn->sent().empty()) << "a bare ack would drop the reply the app is preparing";
  ASSERT_TRUE(client_->ack("cmd-slow", R"({"text":"done"})"));
  scheduler_.run_ready();
  ASSERT_EQ(acks_on(*conn).size(), 2u) << "one for each delivery";
  EXPECT_EQ(acks_on(*conn)[0].payload, R"({"text":"done"})");
  EXPECT_EQ(acks_on(*conn)[1].payload, R"({"text":"done"})");
  EXPECT_EQ(recorder_.seen["cmd-slow"], 1) << "the application saw it once";
  // A third delivery after the ack gets the kept ack, as before.
  conn->deliver(command_envelope("cmd-slow", "1.2.3"));
  scheduler_.run_ready();
  ASSERT_EQ(acks_on(*conn).size(), 3u);
  EXPECT_EQ(acks_on(*conn)[2].payload, R"({"text":"done"})");
}

TEST_F(SocketModeInProcess, KeptAcksAreBoundedAndTheOldestRedeliveryGetsABareAck) {
  // Acks are kept for redeliveries up to 4 MiB: 260 acks of 19 KB overflow it, so the first
  // envelope's payload is forgotten (its redelivery is acked bare) and the last one's is kept.
  ASSERT_TRUE(start_ready(1));
  const std::string text(19 * 1024, 'x');
  recorder_.ack_payload = R"({"text":")" + text + R"("})";
  auto conn = connector_.last();
  for (int i = 0; i < 260; ++i) {
    conn->deliver(event_envelope("big-" + std::to_string(i), "EvBig" + std::to_string(i)));
  }
  scheduler_.run_ready();
  ASSERT_EQ(acks_on(*conn).size(), 260u);
  conn->deliver(event_envelope("big-0", "EvBig0"));
  conn->deliver(event_envelope("big-259", "EvBig259"));
  scheduler_.run_ready();
  const auto acks = acks_on(*conn);
  ASSERT_EQ(acks.size(), 262u);
  EXPECT_EQ(acks[260].envelope_id, "big-0");
  EXPECT_EQ(acks[260].payload, "") << "forgotten: a bare ack";
  EXPECT_EQ(acks[261].envelope_id, "big-259");
  EXPECT_EQ(acks[261].payload, *recorder_.ack_payload) << "kept: the same payload again";
  EXPECT_EQ(recorder_.seen.size(), 260u);
}

TEST_F(SocketModeInProcess, ThousandEnvelopesAcrossTwoConnectionsAreEachAckedOnce) {
  ASSERT_TRUE(start_ready(2));
  const auto live = connector_.live();
  ASSERT_EQ(live.size(), 2u);
  for (int i = 0; i < 1000; ++i) {
    live[static_cast<std::size_t>(i % 2)]->deliver(
        event_envelope("bulk-" + std::to_string(i), "EvBulk" + std::to_string(i)));
  }
  scheduler_.run_ready();
  EXPECT_EQ(recorder_.seen.size(), 1000u);
  EXPECT_EQ(acks_on(*live[0]).size(), 500u) << "each ack on its envelope's connection";
  EXPECT_EQ(acks_on(*live[1]).size(), 500u);
  EXPECT_EQ(client_->stats().acks_sent, 1000u);
  EXPECT_EQ(client_->stats().envelopes_by_type.at("events_api"), 1000u);
}

// ---- reconnects ------------------------------------------------------------

TEST_F(SocketModeInProcess, RefreshRequestedOpensTheReplacementBeforeLettingGo) {
  ASSERT_TRUE(start_ready(1));
  auto old_conn = connector_.last();
  old_conn->disconnect("refresh_requested");
  old_conn->deliver(event_envelope("env-during", "EvDuring"));
  scheduler_.run_ready();
  int not_ready = client_->ready() ? 0 : 1;
  ASSERT_EQ(connector_.connections().size(), 2u);
  auto replacement = connector_.last();
  EXPECT_TRUE(replacement->is_open());
  EXPECT_TRUE(old_conn->is_open()) << "the old connection is read until it closes";
  EXPECT_EQ(acks_for("env-during"), 1u);
  // Slack does not close it: it is let go after the drain grace (10 s at most).
  for (int i = 0; i < 11; ++i) {
    scheduler_.advance(1s);
    not_ready += client_->ready() ? 0 : 1;
  }
  EXPECT_TRUE(old_conn->closed_by_client());
  EXPECT_EQ(old_conn->close_reason(), "replaced");
  EXPECT_FALSE(old_conn->is_open());
  replacement->deliver(event_envelope("env-after", "EvAfter"));
  scheduler_.run_ready();
  EXPECT_EQ(acks_on(*replacement).size(), 1u);
  EXPECT_EQ(not_ready, 0);
  for (auto state : recorder_.states) EXPECT_NE(state, ConnectionState::reconnecting);
  EXPECT_EQ(client_->stats().reconnects_by_reason["refresh_requested"], 1u);
  EXPECT_EQ(client_->stats().ready_connections, 1);
  EXPECT_EQ(opener_.calls(), 2u);
}

TEST_F(SocketModeInProcess, WarningWhoseOldLinkSlackClosesFirstHandsOverToTheReplacement) {
  ASSERT_TRUE(start_ready(1));
  auto old_conn = connector_.last();
  connector_.on_opened = nullptr;  // the replacement's hello comes late
  old_conn->disconnect("warning");
  scheduler_.run_ready();
  auto replacement = connector_.last();
  ASSERT_NE(replacement, old_conn);
  old_conn->close_by_server(1000);
  scheduler_.run_ready();
  replacement->hello();
  scheduler_.run_ready();
  EXPECT_TRUE(client_->ready());
  scheduler_.advance(30s);
  EXPECT_EQ(connector_.connections().size(), 2u) << "no third connection";
  EXPECT_EQ(client_->stats().reconnects_by_reason["warning"], 1u);
}

TEST_F(SocketModeInProcess, AReplacementThatNeverSaysHelloIsDroppedWhileTheOldOneServes) {
  ASSERT_TRUE(start_ready(1));
  auto old_conn = connector_.last();
  connector_.on_opened = nullptr;  // the replacement stays silent
  old_conn->disconnect("refresh_requested");
  scheduler_.run_ready();
  auto silent = connector_.last();
  ASSERT_NE(silent, old_conn);
  scheduler_.advance(10s);
  EXPECT_TRUE(silent->aborted());
  EXPECT_TRUE(old_conn->is_open()) << "the old link still serves";
  EXPECT_TRUE(client_->ready());
  EXPECT_EQ(client_->stats().reconnects_by_reason["no_hello"], 1u);
  connector_.on_opened = [](FakeConnection& conn) { conn.hello(); };
  scheduler_.advance(1s);  // the replacement is tried again after the backoff
  ASSERT_EQ(connector_.connections().size(), 3u);
  scheduler_.advance(10s);
  EXPECT_TRUE(connector_.last()->is_open());
  EXPECT_FALSE(old_conn->is_open()) << "let go once the new replacement said hello";
}

TEST_F(SocketModeInProcess, TooManyWebsocketsClosesFirstThenReconnectsAfterBackoff) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->disconnect("too_many_websockets");
  scheduler_.run_ready();
  EXPECT_TRUE(conn->closed_by_client());
  EXPECT_EQ(conn->close_reason(), "too_many_websockets");
  EXPECT_EQ(connector_.connections().size(), 1u) << "no replacement before the backoff";
  scheduler_.advance(999ms);
  EXPECT_EQ(connector_.connections().size(), 1u);
  scheduler_.advance(1ms);  // full jitter with unit 1: exactly base · 2^0
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_TRUE(client_->ready());
  EXPECT_EQ(client_->stats().reconnects_by_reason["too_many_websockets"], 1u);
}

TEST_F(SocketModeInProcess, LinkDisabledIsFatalAndNothingReconnects) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->disconnect("link_disabled");
  scheduler_.run_ready();
  ASSERT_EQ(recorder_.fatals.size(), 1u);
  EXPECT_THAT(recorder_.fatals[0].user_message, HasSubstr("link_disabled"));
  EXPECT_EQ(recorder_.states.back(), ConnectionState::failed);
  EXPECT_TRUE(conn->closed_by_client());
  scheduler_.advance(10min);
  EXPECT_EQ(opener_.calls(), 1u);
  EXPECT_EQ(connector_.connections().size(), 1u);
  EXPECT_FALSE(client_->ready());
}

TEST_F(SocketModeInProcess, InvalidAuthIsFatalWithoutRetrying) {
  opener_.script.push_back(test::FakeOpener::fatal("apps.connections.open: invalid_auth"));
  make(settings(2));
  client_->start();
  scheduler_.run_ready();
  ASSERT_EQ(recorder_.fatals.size(), 1u);
  EXPECT_THAT(recorder_.fatals[0].user_message, HasSubstr("invalid_auth"));
  EXPECT_THAT(recorder_.fatals[0].user_message, HasSubstr("SLACK_APP_TOKEN"));
  EXPECT_EQ(recorder_.fatals[0].code, core::ErrorCode::config);
  scheduler_.advance(10min);
  EXPECT_LE(opener_.calls(), 2u) << "at most one per slot";
  EXPECT_EQ(recorder_.states.back(), ConnectionState::failed);
  EXPECT_FALSE(client_->ready());
  for (const auto& conn : connector_.connections()) EXPECT_FALSE(conn->is_open());
}

TEST_F(SocketModeInProcess, RateLimitedOpenWaitsRetryAfter) {
  random_.value = 0.0;  // no jitter wait: only Retry-After counts
  opener_.script.push_back(
      test::FakeOpener::retry("apps.connections.open ratelimited (HTTP 429)", 7s));
  make(settings(1));
  client_->start();
  scheduler_.run_ready();
  EXPECT_EQ(opener_.calls(), 1u);
  scheduler_.advance(6999ms);
  EXPECT_EQ(opener_.calls(), 1u);
  scheduler_.advance(1ms);
  EXPECT_EQ(opener_.calls(), 2u);
  EXPECT_TRUE(client_->ready());
}

TEST_F(SocketModeInProcess, ServerErrorsOnOpenAreRetriedWithGrowingBackoff) {
  opener_.script.push_back(test::FakeOpener::retry("apps.connections.open answered HTTP 500"));
  opener_.script.push_back(test::FakeOpener::retry("apps.connections.open answered HTTP 500"));
  make(settings(1));
  client_->start();
  scheduler_.run_ready();
  scheduler_.advance(1s);
  EXPECT_EQ(opener_.calls(), 2u);
  scheduler_.advance(1999ms);
  EXPECT_EQ(opener_.calls(), 2u);
  scheduler_.advance(1ms);
  EXPECT_EQ(opener_.calls(), 3u);
  EXPECT_TRUE(client_->ready());
  EXPECT_TRUE(recorder_.fatals.empty());
}

/// Drops the newest link and steps time until the next one opens; returns
/// how long that took.
std::chrono::nanoseconds drop_and_time_reconnect(core::ManualScheduler& scheduler,
                                                 test::FakeConnector& connector,
                                                 const std::vector<core::MonoTime>& opened) {
  const auto dropped = scheduler.now();
  const auto before = opened.size();
  connector.last()->drop();
  for (int i = 0; i < 10000 && opened.size() == before; ++i) scheduler.advance(100ms);
  return opened.size() == before ? std::chrono::nanoseconds::max() : opened.back() - dropped;
}

TEST_F(SocketModeInProcess, BackoffGrowsWhileLinksDropRightAfterHelloAndResetsOnceOneStaysUp) {
  std::vector<core::MonoTime> opened;
  connector_.on_opened = [&](FakeConnection& conn) {
    opened.push_back(scheduler_.now());
    conn.hello();
  };
  ASSERT_TRUE(start_ready(1));
  std::vector<std::chrono::nanoseconds> waits;
  for (int i = 0; i < 4; ++i)
    waits.push_back(drop_and_time_reconnect(scheduler_, connector_, opened));
  // A hello alone does not end the streak: 1, 2, 4, 8 s (full jitter at unit 1).
  EXPECT_EQ(waits, (std::vector<std::chrono::nanoseconds>{1s, 2s, 4s, 8s}));
  scheduler_.advance(30s);  // a link that stays up 30 s does
  EXPECT_EQ(drop_and_time_reconnect(scheduler_, connector_, opened), 1s);
}

TEST_F(SocketModeInProcess, FailureStreakDoublesTheBackoffUpToTheCap) {
  std::vector<core::MonoTime> opened;
  connector_.on_opened = [&](FakeConnection& conn) {
    opened.push_back(scheduler_.now());
    conn.hello();
  };
  auto s = settings(1);
  s.backoff_cap = 8s;
  make(s);
  client_->start();
  scheduler_.run_ready();
  std::vector<std::chrono::nanoseconds> waits;
  for (int i = 0; i < 6; ++i)
    waits.push_back(drop_and_time_reconnect(scheduler_, connector_, opened));
  EXPECT_EQ(waits, (std::vector<std::chrono::nanoseconds>{1s, 2s, 4s, 8s, 8s, 8s}));
}

// ---- keep-alive ------------------------------------------------------------

TEST_F(SocketModeInProcess, PingsEveryIntervalAndAMissingPongIsADeadLink) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  scheduler_.advance(15s);
  EXPECT_EQ(conn->pings(), 3u);
  EXPECT_TRUE(conn->is_open()) << "pongs came back";
  conn->auto_pong = false;
  // The last pong was at 15 s: dead once a tick finds it over 20 s old (at 40 s).
  scheduler_.advance(20s);
  EXPECT_TRUE(conn->is_open());
  scheduler_.advance(5s);
  EXPECT_TRUE(conn->aborted());
  EXPECT_EQ(client_->stats().reconnects_by_reason["dead"], 1u);
  scheduler_.advance(1s);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_TRUE(client_->ready());
}

TEST_F(SocketModeInProcess, NoPingWhileWritesAreQueued) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->queued = 100;
  scheduler_.advance(10s);
  EXPECT_EQ(conn->pings(), 0u) << "an ack is never behind a ping";
}

TEST_F(SocketModeInProcess, SilenceBeyondTheIdleTimeoutIsADeadLink) {
  auto s = settings(1);
  s.pong_timeout = 10min;  // only the idle rule can fire
  s.idle_timeout = 30s;
  make(s);
  client_->start();
  scheduler_.run_ready();
  auto conn = connector_.last();
  conn->auto_pong = false;
  scheduler_.advance(25s);
  conn->server_ping();  // any frame keeps it alive
  scheduler_.advance(30s);
  EXPECT_TRUE(conn->is_open());
  scheduler_.advance(5s);
  EXPECT_TRUE(conn->aborted());
  EXPECT_EQ(client_->stats().reconnects_by_reason["dead"], 1u);
}

TEST_F(SocketModeInProcess, ALinkThatOpensButNeverSaysHelloIsDroppedAfterTenSeconds) {
  connector_.on_opened = nullptr;
  make(settings(1));
  client_->start();
  scheduler_.run_ready();
  auto silent = connector_.last();
  ASSERT_TRUE(silent->is_open());
  scheduler_.advance(9999ms);
  EXPECT_TRUE(silent->is_open());
  scheduler_.advance(1ms);
  EXPECT_TRUE(silent->aborted());
  EXPECT_EQ(client_->stats().reconnects_by_reason["no_hello"], 1u);
  connector_.on_opened = [](FakeConnection& conn) { conn.hello(); };
  scheduler_.advance(1s);
  ASSERT_EQ(connector_.connections().size(), 2u);
  EXPECT_TRUE(client_->ready());
  scheduler_.advance(30s);
  EXPECT_TRUE(connector_.last()->is_open()) << "a link that said hello is not timed out";
}

// ---- stop --------------------------------------------------------------------

TEST_F(SocketModeInProcess, StopClosesEveryLinkWithoutBlockingAndNothingReconnects) {
  ASSERT_TRUE(start_ready(2));
  bool stopped = false;
  client_->stop([&] { stopped = true; });
  EXPECT_FALSE(stopped) << "on a ManualScheduler stop() only posts";
  scheduler_.run_ready();
  EXPECT_TRUE(stopped);
  for (const auto& conn : connector_.connections()) {
    EXPECT_TRUE(conn->closed_by_client());
    EXPECT_EQ(conn->close_code(), 1000);
    EXPECT_FALSE(conn->is_open());
  }
  EXPECT_FALSE(client_->ready());
  EXPECT_EQ(recorder_.states.back(), ConnectionState::stopped);
  scheduler_.advance(10min);
  EXPECT_EQ(connector_.connections().size(), 2u);
  EXPECT_EQ(scheduler_.pending(), 0u) << "no timer left behind";
  client_->stop();  // idempotent
  scheduler_.run_ready();
}

TEST_F(SocketModeInProcess, AHangingCloseHandshakeIsCutAfterTheCloseTimeout) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->hang_on_close = true;
  bool stopped = false;
  client_->stop([&] { stopped = true; });
  scheduler_.run_ready();
  EXPECT_FALSE(stopped);
  EXPECT_TRUE(conn->closed_by_client());
  scheduler_.advance(2500ms);  // close_timeout 1 s + 1.5 s
  EXPECT_TRUE(conn->aborted());
  EXPECT_TRUE(stopped);
}

TEST_F(SocketModeInProcess, StopFromTheListenerClosesTheLink) {
  ASSERT_TRUE(start_ready(1));
  recorder_.stop_on_envelope = true;
  recorder_.auto_ack = false;
  auto conn = connector_.last();
  conn->deliver(event_envelope("env-stop", "EvStop"));
  scheduler_.run_ready();
  EXPECT_TRUE(conn->closed_by_client());
  scheduler_.advance(10min);
  EXPECT_EQ(connector_.connections().size(), 1u);
  EXPECT_EQ(opener_.calls(), 1u);
}

TEST_F(SocketModeInProcess, DestroyingTheClientLeavesNothingThatRunsLater) {
  ASSERT_TRUE(start_ready(1));
  auto conn = connector_.last();
  conn->deliver(event_envelope("env-1", "Ev1"));  // queued, not yet run
  client_.reset();
  EXPECT_TRUE(conn->closed_by_client());
  scheduler_.advance(10min);  // nothing of the client's runs: no crash under ASan
  EXPECT_EQ(recorder_.seen.count("env-1"), 0u);
}

TEST_F(SocketModeInProcess, NeitherTheTokenNorTheTicketReachesTheLog) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("socket", core::LogFormat::text, core::LogLevel::trace, {sink}, {});
  make(settings(2), logger);
  client_->start();
  scheduler_.run_ready();
  for (const auto& conn : connector_.live()) conn->drop();
  scheduler_.advance(5s);
  client_->stop();
  scheduler_.run_ready();
  const auto lines = sink->lines();
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    EXPECT_EQ(line.find("ticket="), std::string::npos) << line;
    EXPECT_EQ(line.find("xapp-1-TEST"), std::string::npos) << line;
  }
}

// ---- apps.connections.open answers --------------------------------------------

core::http::Response response(int status, std::string body, core::http::Headers headers = {}) {
  core::http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(SocketModeOpenResponse, ReadsEveryKindOfAnswer) {
  using Kind = slack::OpenOutcome::Kind;
  auto ok = slack::read_connections_open_response(
      response(200, R"({"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=1"})"));
  EXPECT_EQ(ok.kind, Kind::success);
  EXPECT_EQ(ok.url, "wss://wss-primary.slack.com/link/?ticket=1");

  auto no_url =
      slack::read_connections_open_response(response(200, R"({"ok":true,"url":"http://x"})"));
  EXPECT_EQ(no_url.kind, Kind::retry);

  auto bad_auth = slack::read_connections_open_response(
      response(200, R"({"ok":false,"error":"invalid_auth"})"));
  EXPECT_EQ(bad_auth.kind, Kind::fatal);
  EXPECT_EQ(bad_auth.reason, "apps.connections.open: invalid_auth");

  auto internal = slack::read_connections_open_response(
      response(500, R"({"ok":false,"error":"internal_error"})"));
  EXPECT_EQ(internal.kind, Kind::retry);
  EXPECT_FALSE(internal.retry_after);

  auto junk = slack::read_connections_open_response(response(200, "<html>"));
  EXPECT_EQ(junk.kind, Kind::retry);
}

TEST(SocketModeOpenResponse, RateLimitsWaitRetryAfterWithinACeiling) {
  using std::chrono::milliseconds;
  auto limited = slack::read_connections_open_response(response(429, "", {{"Retry-After", "7"}}));
  EXPECT_EQ(limited.kind, slack::OpenOutcome::Kind::retry);
  EXPECT_EQ(limited.retry_after, milliseconds(7000));
  auto bare = slack::read_connections_open_response(response(429, ""));
  EXPECT_EQ(bare.retry_after, milliseconds(30000)) << "Slack's SDKs wait 30 s without a header";
  auto huge = slack::read_connections_open_response(
      response(429, "", {{"Retry-After", "9223372036854775807"}}));
  EXPECT_EQ(huge.retry_after, milliseconds(300000)) << "clamped, not overflowed";
  auto body_limited = slack::read_connections_open_response(
      response(200, R"({"ok":false,"error":"ratelimited"})", {{"retry-after", "3"}}));
  EXPECT_EQ(body_limited.kind, slack::OpenOutcome::Kind::retry);
  EXPECT_EQ(body_limited.retry_after, milliseconds(3000));
  auto date = slack::read_connections_open_response(
      response(429, "", {{"Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT"}}));
  EXPECT_EQ(date.retry_after, milliseconds(30000));
}

// ---- every failure point ---------------------------------------------------------

/// Slack, as far as the fail loop needs it: delivers envelopes on live
/// connections, redelivers the unacked ones every few seconds (on the newest
/// connection), records the acks it reads.
struct FailLoopOutcome {
  std::size_t operations = 0;
  bool injected = false;
  std::map<std::string, int> seen;                       // by the listener
  std::map<std::string, std::vector<std::string>> acks;  // payloads Slack read, by envelope
  bool settled = false;
};

FailLoopOutcome run_fail_loop_scenario(std::size_t fail_at) {
  FailLoopOutcome out;
  core::ManualScheduler scheduler;
  test::FailCount fail_count(fail_at);
  test::FakeConnector connector(scheduler);
  connector.fail_count = &fail_count;
  test::FakeOpener opener(scheduler);
  core::FixedRandom random({0.5});
  Recorder recorder;
  recorder.ack_payload = R"({"text":"ok"})";
  connector.on_opened = [](FakeConnection& conn) { conn.hello(2); };
  connector.on_sent = [&](FakeConnection&, const std::string& frame) {
    if (auto ack = read_ack(frame)) out.acks[ack->envelope_id].push_back(ack->payload);
  };
  auto s = base_settings(2);
  {
    slack::SocketModeClient client(s, scheduler, connector, opener, random, recorder,
                                   core::make_null_logger());
    recorder.client = &client;
    client.start();
    scheduler.run_ready();
    const std::vector<std::string> ids = {"fl-0", "fl-1", "fl-2", "fl-3", "fl-4", "fl-5"};
    std::set<std::string> delivered;
    const auto unacked = [&] {
      std::vector<std::string> left;
      for (const auto& id : delivered) {
        if (out.acks.count(id) == 0) left.push_back(id);
      }
      return left;
    };
    // First deliveries, spread over whatever is live.
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto live = connector.live();
      if (!live.empty()) {
        live[i % live.size()]->deliver(event_envelope(ids[i], "Ev" + ids[i]));
        delivered.insert(ids[i]);
      }
      scheduler.advance(2s);  // pings go out (every 5 s) between envelopes
    }
    // Slack retries what it has no ack for (and what it could not deliver yet).
    for (int round = 0; round < 60; ++round) {
      for (const auto& id : ids) delivered.insert(id);
      if (unacked().empty()) {
        out.settled = true;
        break;
      }
      auto live = connector.live();
      if (!live.empty()) {
        for (const auto& id : unacked()) live.back()->deliver(event_envelope(id, "Ev" + id));
      }
      scheduler.advance(3s);
    }
    client.stop();
    scheduler.run_ready();
  }
  scheduler.advance(10s);
  out.seen = recorder.seen;
  out.operations = fail_count.count();
  out.injected = fail_count.failed();
  return out;
}

TEST(SocketModeFailLoop, EachEnvelopeReachesTheListenerOnceAndIsAckedWhateverOperationFails) {
  const auto clean = run_fail_loop_scenario(0);
  ASSERT_TRUE(clean.settled);
  ASSERT_FALSE(clean.injected);
  const std::size_t operations = clean.operations;
  ASSERT_GE(operations, 24u) << "the scenario connects, reads, writes, pings and closes";
  const std::vector<std::string> ids = {"fl-0", "fl-1", "fl-2", "fl-3", "fl-4", "fl-5"};
  for (const auto& id : ids) {
    EXPECT_EQ(clean.seen.at(id), 1) << id;
    EXPECT_EQ(clean.acks.at(id).size(), 1u) << id;
  }
  for (std::size_t n = 1; n <= operations; ++n) {
    SCOPED_TRACE("operation " + std::to_string(n) + " of " + std::to_string(operations) + " fails");
    auto run = run_fail_loop_scenario(n);
    ASSERT_TRUE(run.injected);
    ASSERT_TRUE(run.settled) << "some envelope was never acked";
    for (const auto& id : ids) {
      EXPECT_EQ(run.seen[id], 1) << id << ": the listener must see each envelope exactly once";
      ASSERT_FALSE(run.acks[id].empty()) << id;
      for (const auto& payload : run.acks[id]) {
        EXPECT_EQ(payload, R"({"text":"ok"})") << id << ": a redelivery gets the kept ack";
      }
    }
  }
}

}  // namespace
