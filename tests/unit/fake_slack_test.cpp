// Self-test of tests/fakes/fake_slack.py through test::FakeSlack, with libcurl:
// apps.connections.open and its token rules, injected failures, the Web API methods, response_url,
// the control API. The WebSocket side is checked by the fake's own --self-test (python3-websockets
// as the client, an independent implementation from ours), run here as one more case.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "fake_slack.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::StartsWith;

struct Answer {
  long status = 0;
  std::string body;
  rapidjson::Document json;
  std::string retry_after;
  std::optional<std::string> oauth_scopes;
};

class FakeSlackTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(slack_.started()) << slack_.describe_last(5); }

  Answer post(const std::string& url, const std::string& body, core::http::Headers headers = {}) {
    core::http::Request request;
    request.method = "POST";
    request.url = url;
    request.headers = std::move(headers);
    request.body = body;
    Answer answer;
    auto response = http_->send(request);
    if (!response) {
      ADD_FAILURE() << "no answer from " << url << ": " << response.error().detail;
      return answer;
    }
    answer.status = response->status;
    answer.body = response->body;
    if (auto header = response->header("Retry-After")) answer.retry_after = std::string(*header);
    if (auto header = response->header("x-oauth-scopes")) {
      answer.oauth_scopes = std::string(*header);
    }
    if (auto parsed = core::json::parse(response->body)) answer.json = std::move(*parsed);
    return answer;
  }
  Answer call(const std::string& method, const std::string& json_body, const std::string& token) {
    core::http::Headers headers{{"Content-Type", "application/json; charset=utf-8"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return post(slack_.api_url() + method, json_body, std::move(headers));
  }
  static bool ok(const rapidjson::Value& v) {
    return v.IsObject() && core::json::get_bool(v, "ok").value_or(false);
  }
  static std::string error(const rapidjson::Value& v) {
    return v.IsObject() ? std::string(core::json::get_string(v, "error").value_or("")) : "";
  }

  test::FakeSlack slack_;
  std::unique_ptr<core::http::Client> http_ = core::http::make_curl_client({slack_.ca_file()});
};

TEST_F(FakeSlackTest, ConnectionsOpenWithAppTokenInHeaderReturnsAFreshWssUrl) {
  auto first = call("apps.connections.open", "{}", slack_.app_token());
  auto second = call("apps.connections.open", "{}", slack_.app_token());
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(ok(first.json)) << first.body;
  const std::string url(core::json::get_string(first.json, "url").value_or(""));
  EXPECT_THAT(url, StartsWith("wss://127.0.0.1:"));
  EXPECT_THAT(url, HasSubstr("/link/?ticket="));
  EXPECT_THAT(url, HasSubstr("&app_id=A0FAKE"));
  EXPECT_NE(url, std::string(core::json::get_string(second.json, "url").value_or("")))
      << "each call hands out a new ticket";

  ASSERT_TRUE(slack_.wait_for_api("apps.connections.open", 2));
  auto seen = slack_.events("api");
  ASSERT_GE(seen.size(), 1u);
  EXPECT_EQ(test::FakeSlack::str(seen[0], "auth"), "Bearer " + slack_.app_token());
  EXPECT_THAT(url, HasSubstr(test::FakeSlack::str(seen[0], "ticket")));
}

TEST_F(FakeSlackTest, ConnectionsOpenRefusesATokenInTheBodyAndWrongTokens) {
  auto form = post(slack_.api_url() + "apps.connections.open", "token=" + slack_.app_token(),
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 200);
  EXPECT_FALSE(ok(form.json));
  EXPECT_EQ(error(form.json), "invalid_auth") << form.body;

  EXPECT_EQ(error(call("apps.connections.open", "{}", "").json), "not_authed");
  EXPECT_EQ(error(call("apps.connections.open", "{}", slack_.bot_token()).json),
            "not_allowed_token_type");
  EXPECT_EQ(error(call("apps.connections.open", "{}", "xapp-1-WRONG").json), "invalid_auth");
  EXPECT_EQ(slack_.state()["tickets_issued"].GetInt(), 0);
}

// Issue 16 (doctor): the bot token's scopes ride on every answer; conversations.info knows the
// configured channels and wants the read scope of their kind.
TEST_F(FakeSlackTest, ScopesHeaderAndConversationsInfo) {
  const std::string bot = slack_.bot_token();
  auto auth = call("auth.test", "{}", bot);
  ASSERT_TRUE(ok(auth.json)) << auth.body;
  EXPECT_EQ(auth.oauth_scopes,
            "chat:write,commands,app_mentions:read,users:read,channels:read,groups:read");
  EXPECT_FALSE(call("apps.connections.open", "{}", slack_.app_token()).oauth_scopes);

  auto member = call("conversations.info", R"({"channel":"C0AUDIT"})", bot);
  ASSERT_TRUE(ok(member.json)) << member.body;
  EXPECT_EQ(core::json::get_bool(member.json["channel"], "is_member"), true);
  auto outside = call("conversations.info", R"({"channel":"C0OUTSIDE"})", bot);
  EXPECT_EQ(core::json::get_bool(outside.json["channel"], "is_member"), false);
  EXPECT_EQ(error(call("conversations.info", R"({"channel":"G0HIDDEN"})", bot).json),
            "channel_not_found");
  EXPECT_EQ(error(call("conversations.info", R"({"channel":"C0NONE"})", bot).json),
            "channel_not_found");

  ASSERT_TRUE(slack_.config(R"({"oauth_scopes":"chat:write,channels:read"})"));
  EXPECT_EQ(call("auth.test", "{}", bot).oauth_scopes, "chat:write,channels:read");
  EXPECT_TRUE(ok(call("conversations.info", R"({"channel":"C0AUDIT"})", bot).json));
  auto private_channel = call("conversations.info", R"({"channel":"G0PRIVATE"})", bot);
  EXPECT_EQ(error(private_channel.json), "missing_scope");
  EXPECT_EQ(core::json::get_string(private_channel.json, "needed"), "groups:read");
}

TEST_F(FakeSlackTest, FailNextAnswers429WithRetryAfterThenNormally) {
  ASSERT_TRUE(slack_.fail_next("apps.connections.open", 2, 429, R"({"Retry-After":"2"})"));
  for (int i = 0; i < 2; ++i) {
    auto limited = call("apps.connections.open", "{}", slack_.app_token());
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.retry_after, "2");
    EXPECT_EQ(error(limited.json), "ratelimited") << limited.body;
  }
  auto normal = call("apps.connections.open", "{}", slack_.app_token());
  EXPECT_EQ(normal.status, 200);
  EXPECT_TRUE(ok(normal.json)) << normal.body;

  // An ok:false body with status 200, and a 5xx, on another method.
  ASSERT_TRUE(
      slack_.fail_next("chat.postMessage", 1, 200, "{}", R"({"ok":false,"error":"invalid_auth"})"));
  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 1, 503));
  const std::string message = R"({"channel":"C1","text":"hi"})";
  auto first = call("chat.postMessage", message, slack_.bot_token());
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(error(first.json), "invalid_auth");
  auto second = call("chat.postMessage", message, slack_.bot_token());
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(error(second.json), "internal_error");
  EXPECT_TRUE(ok(call("chat.postMessage", message, slack_.bot_token()).json));
  ASSERT_TRUE(slack_.sync());  // the events reach us after the answers (fake_slack.hpp)
  EXPECT_EQ(slack_.count([](const auto& e) {
    return test::FakeSlack::is(e, "api") && e["injected"].IsBool() && e["injected"].GetBool();
  }),
            4u);
}

TEST_F(FakeSlackTest, HangUpAndDelayRules) {
  ASSERT_TRUE(slack_.hang_up_next("users.info"));
  core::http::Request request;
  request.method = "POST";
  request.url = slack_.api_url() + "users.info";
  request.headers = {{"Content-Type", "application/json; charset=utf-8"},
                     {"Authorization", "Bearer " + slack_.bot_token()}};
  request.body = R"({"user":"U1"})";
  auto hung_up = http_->send(request);
  ASSERT_FALSE(hung_up) << "the fake closed the connection without answering";
  EXPECT_EQ(hung_up.error().code, core::ErrorCode::indeterminate);

  ASSERT_TRUE(slack_.delay_next("users.info", 1, 300ms));
  const auto start = std::chrono::steady_clock::now();
  auto delayed = call("users.info", R"({"user":"U1"})", slack_.bot_token());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_TRUE(ok(delayed.json)) << delayed.body;
}

TEST_F(FakeSlackTest, WebApiMethodsAnswerAndAreRecorded) {
  const auto& bot = slack_.bot_token();
  auto posted = call("chat.postMessage", R"({"channel":"C1","text":"one"})", bot);
  auto posted2 = call("chat.postMessage", R"({"channel":"C1","text":"two"})", bot);
  ASSERT_TRUE(ok(posted.json)) << posted.body;
  const std::string ts1(core::json::get_string(posted.json, "ts").value_or(""));
  const std::string ts2(core::json::get_string(posted2.json, "ts").value_or(""));
  EXPECT_THAT(ts1, testing::EndsWith(".000100"));
  EXPECT_LT(std::stod(ts1), std::stod(ts2)) << "ts increases";
  EXPECT_EQ(core::json::get_string(posted.json, "channel"), "C1");
  EXPECT_TRUE(posted.json.HasMember("message"));

  auto ephemeral = call("chat.postEphemeral", R"({"channel":"C1","user":"U1","text":"x"})", bot);
  EXPECT_TRUE(ok(ephemeral.json)) << ephemeral.body;
  EXPECT_TRUE(ephemeral.json.HasMember("message_ts"));

  EXPECT_TRUE(
      ok(call("chat.update", R"({"channel":"C1","ts":")" + ts1 + R"(","text":"y"})", bot).json));

  auto opened = call("views.open",
                     R"({"trigger_id":"1.2.abc","view":{"type":"modal","callback_id":"cb",)"
                     R"("title":{"type":"plain_text","text":"T"},"blocks":[]}})",
                     bot);
  ASSERT_TRUE(ok(opened.json)) << opened.body;
  const auto* view = core::json::get_object(opened.json, "view");
  ASSERT_NE(view, nullptr);
  const std::string view_id(core::json::get_string(*view, "id").value_or(""));
  EXPECT_THAT(view_id, StartsWith("V"));
  EXPECT_EQ(core::json::get_string(*view, "callback_id"), "cb");
  EXPECT_EQ(
      error(call("views.open", R"({"trigger_id":"1.2.abc","view":{"type":"modal"}})", bot).json),
      "exchanged_trigger_id");

  auto updated =
      call("views.update",
           R"({"view_id":")" + view_id + R"(","view":{"type":"modal","blocks":[]}})", bot);
  ASSERT_TRUE(ok(updated.json)) << updated.body;
  EXPECT_EQ(core::json::get_string(*core::json::get_object(updated.json, "view"), "id"), view_id);

  auto user = call("users.info", R"({"user":"U123"})", bot);
  ASSERT_TRUE(ok(user.json)) << user.body;
  const auto* profile =
      core::json::get_object(*core::json::get_object(user.json, "user"), "profile");
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ(core::json::get_string(*profile, "real_name"), "Alice Example");

  // The bot token is required; the app token is the wrong kind.
  EXPECT_EQ(error(call("chat.postMessage", R"({"channel":"C1","text":"x"})", "").json),
            "invalid_auth");
  EXPECT_EQ(error(call("chat.postMessage", R"({"channel":"C1","text":"x"})", "xoxb-WRONG").json),
            "invalid_auth");
  EXPECT_EQ(error(call("users.info", R"({"user":"U1"})", slack_.app_token()).json),
            "not_allowed_token_type");
  EXPECT_EQ(error(call("no.such.method", "{}", bot).json), "unknown_method");

  // Every call is an event with the Authorization header and the parsed body.
  ASSERT_TRUE(slack_.wait_for_api("chat.postMessage", 4));
  auto first = slack_.events("api");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(test::FakeSlack::str(first[0], "auth"), "Bearer " + bot);
  ASSERT_TRUE(first[0]["body"].IsObject());
  EXPECT_EQ(core::json::get_string(first[0]["body"], "text"), "one");
  auto state = slack_.state();
  EXPECT_EQ(state["api_calls"]["chat.postMessage"].GetInt(), 4);
  EXPECT_EQ(state["api_calls"]["views.open"].GetInt(), 2);
}

TEST_F(FakeSlackTest, FormBodiesAreParsed) {
  auto answer =
      post(slack_.api_url() + "chat.postMessage", "channel=C9&text=hello%20there&blocks=%5B%5D",
           {{"Content-Type", "application/x-www-form-urlencoded"},
            {"Authorization", "Bearer " + slack_.bot_token()}});
  EXPECT_TRUE(ok(answer.json)) << answer.body;
  ASSERT_TRUE(slack_.wait_for_api("chat.postMessage"));
  auto seen = slack_.events("api");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(core::json::get_string(seen[0]["body"], "text"), "hello there");
}

TEST_F(FakeSlackTest, ResponseUrlWorksFiveTimesThenExpires) {
  const auto url = slack_.response_url("T1/123/abc");
  const core::http::Headers json{{"Content-Type", "application/json"}};
  for (int i = 1; i <= 5; ++i) {
    auto answer = post(url, R"({"text":"step )" + std::to_string(i) + R"("})", json);
    EXPECT_EQ(answer.status, 200) << "use " << i;
    EXPECT_TRUE(ok(answer.json)) << answer.body;
  }
  auto expired = post(url, R"({"text":"too many"})", json);
  EXPECT_EQ(expired.status, 404);
  EXPECT_EQ(error(expired.json), "expired_url");

  ASSERT_TRUE(slack_.wait_for("6th response_url use", [](const auto& e) {
    return test::FakeSlack::is(e, "response_url") && test::FakeSlack::num(e, "use") == 6;
  }));
  auto seen = slack_.events("response_url");
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(test::FakeSlack::str(seen[0], "id"), "T1/123/abc");
  EXPECT_EQ(core::json::get_string(seen[2]["body"], "text"), "step 3");
  EXPECT_EQ(slack_.state()["response_urls"]["T1/123/abc"].GetInt(), 6);
}

TEST_F(FakeSlackTest, StateAndResetAndNoConnectionControls) {
  auto state = slack_.state();
  ASSERT_TRUE(state.IsObject());
  EXPECT_TRUE(state["live"].IsArray());
  EXPECT_EQ(state["live"].Size(), 0u);
  EXPECT_EQ(state["opened"].GetInt(), 0);
  EXPECT_EQ(state["acks"].GetInt(), 0);
  EXPECT_GT(state["ws_port"].GetInt(), 0);

  // Nothing is connected: every socket control reports it did nothing.
  EXPECT_EQ(slack_.push(R"({"envelope_id":"e1","type":"events_api","payload":{}})"), 0);
  EXPECT_EQ(slack_.push_raw("not json"), 0);
  EXPECT_EQ(slack_.push_many({R"({"envelope_id":"e2","type":"events_api","payload":{}})"}), 0);
  EXPECT_EQ(slack_.disconnect("refresh_requested"), 0);
  EXPECT_EQ(slack_.drop(), 0);
  EXPECT_EQ(slack_.pause(test::FakeSlack::kAll, true), 0);
  EXPECT_TRUE(slack_.live().empty());

  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 3, 500));
  (void)call("users.info", R"({"user":"U1"})", slack_.bot_token());
  EXPECT_EQ(slack_.state()["fail_rules"]["chat.postMessage"].GetInt(), 3);
  ASSERT_TRUE(slack_.reset());
  auto after = slack_.state();
  EXPECT_FALSE(after["fail_rules"].HasMember("chat.postMessage"));
  EXPECT_FALSE(after["api_calls"].HasMember("users.info"));
  EXPECT_TRUE(
      ok(call("chat.postMessage", R"({"channel":"C1","text":"x"})", slack_.bot_token()).json));
}

TEST_F(FakeSlackTest, SyncMakesEveryEarlierEventVisible) {
  for (int i = 0; i < 20; ++i) (void)call("users.info", R"({"user":"U1"})", slack_.bot_token());
  ASSERT_TRUE(slack_.sync());
  EXPECT_EQ(slack_.api_calls("users.info"), 20u);
  EXPECT_EQ(slack_.count("mark"), 1u);
}

TEST_F(FakeSlackTest, AFailedWaitExplainsItself) {
  (void)call("users.info", R"({"user":"U1"})", slack_.bot_token());
  auto result = slack_.wait_for_ack("e-never", 1, 50ms);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("no ack of envelope 'e-never' within 50 ms"));
  EXPECT_THAT(result.message(), HasSubstr("users.info"));
}

TEST(FakeSlackWebSocketTest, SelfTestWithPythonWebsocketsClientPasses) {
  // hello, one-use tickets, push/ack/fragmented/oversized/non-JSON frames, pings, pause,
  // spread, disconnect, drop, too_many_websockets, injected handshake failure, lifetime,
  // prompt SIGTERM. Failures are printed on stderr as "SELF-TEST FAILED: <what>".
  const auto& tls = test::test_tls();
  const std::string command = "/usr/bin/python3 -u '" + std::string(FAKES_DIR) +
                              "/fake_slack.py' --tls '" + tls.cert_file + "' '" + tls.key_file +
                              "' --self-test '" + tls.ca_file + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  EXPECT_EQ(WEXITSTATUS(status), 0) << command << " (see stderr)";
}

}  // namespace
