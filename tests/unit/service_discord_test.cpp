// `infra-bot run` on Discord (issue 17), against tests/fakes/fake_discord.py
// (Gateway and REST) and the fake Lambda — and with Slack too, against
// fake_slack.py: one process, two chats, one job per environment. The real
// binary, real sockets (TLS), only loopback.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "python_fake.hpp"
#include "service_fixture.hpp"
#include "test_tls.hpp"

namespace test::service {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDiscordToken = "discord-bot-token-SECRETDISCORD-0123456789";
constexpr const char* kGuild = "100000000000000777";
constexpr const char* kOtherGuild = "100000000000000888";
constexpr const char* kChannel = "200000000000000001";
constexpr const char* kOperatorRole = "300000000000000001";
constexpr const char* kAdminRole = "300000000000000002";
constexpr const char* kGuestRole = "300000000000000003";
constexpr const char* kApplication = "100000000000000001";  // the fake's application id

class ServiceDiscordTest : public ServiceFixture {
 protected:
  void SetUp() override {
    discord_ = std::make_unique<PythonFake>(
        std::string(FAKES_DIR) + "/fake_discord.py",
        std::vector<std::string>{"--tls", test_tls().cert_file, test_tls().key_file, "--token",
                                 kDiscordToken, "--heartbeat-interval", "2000"});
    ASSERT_NE(discord_->port(), 0) << "fake_discord.py did not start";
    http_ = core::http::make_curl_client({test_tls().ca_file});
  }

  void TearDown() override {
    // Neither the bot token nor an interaction's token is ever printed.
    if (bot_ != nullptr) {
      for (const auto& line : bot().all_lines()) {
        EXPECT_EQ(line.find("SECRETDISCORD"), std::string::npos) << line;
        EXPECT_EQ(line.find("itok-"), std::string::npos) << line;
      }
    }
    ServiceFixture::TearDown();
  }

  // Discord alone (no Slack tokens), or both chats.
  Settings discord_settings(bool with_slack) {
    auto settings = Settings()
                        .env("DISCORD_BOT_TOKEN", kDiscordToken)
                        .env("DISCORD_GUILD_ID", kGuild)
                        .env("DISCORD_API_URL", base_url() + "/api/v10")
                        .env("INFRA_ALLOW_INSECURE_ENDPOINTS", "true")
                        .env("INFRA_DISCORD_ALLOWED_ROLES", kOperatorRole)
                        .env("INFRA_DISCORD_ADMIN_ROLES", kAdminRole)
                        .env("INFRA_ALLOW_EVERYONE", std::nullopt)
                        .env("INFRA_ALLOWED_USERS",
                             with_slack ? std::optional<std::string>("U0TESTUSER") : std::nullopt);
    if (!with_slack) {
      settings.env("SLACK_APP_TOKEN", std::nullopt)
          .env("SLACK_BOT_TOKEN", std::nullopt)
          .no_hello_wait();
    }
    return settings;
  }

  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(discord_->port()); }

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

  testing::AssertionResult wait_gateway_ready() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto doc = core::json::parse(control("gateway"));
      if (doc && doc->IsObject() && core::json::get_int(*doc, "identify").value_or(0) >= 1 &&
          doc->HasMember("live") && (*doc)["live"].IsArray() && !(*doc)["live"].Empty()) {
        return testing::AssertionSuccess();
      }
      std::this_thread::sleep_for(50ms);
    }
    return testing::AssertionFailure() << "no Gateway session; " << control("gateway") << "\n"
                                       << bot().describe_last(20);
  }

  // An INTERACTION_CREATE's d: a member of `guild` with `roles` in kChannel.
  static std::string interaction(const std::string& id, int type, const std::string& data,
                                 const std::vector<std::string>& roles = {kOperatorRole},
                                 const std::string& guild = kGuild) {
    std::string role_list;
    for (const auto& role : roles) role_list += (role_list.empty() ? "\"" : ",\"") + role + "\"";
    return std::string(R"({"id":")") + id + R"(","application_id":")" + kApplication +
           R"(","type":)" + std::to_string(type) + R"(,"token":"itok-)" + id +
           R"(","version":1,"guild_id":")" + guild + R"(","channel_id":")" + kChannel +
           R"(","member":{"user":{"id":"400000000000000001","username":"alice","global_name":"Alice"},"roles":[)" +
           role_list + R"(]},"data":)" + data + "}";
  }
  static std::string command(const std::string& sub, const std::string& options) {
    return R"({"id":"900","name":"infra","type":1,"options":[{"name":")" + sub +
           R"(","type":1,"options":)" + options + "}]}";
  }
  static std::string env_option(const std::string& env) {
    return R"([{"name":"env","type":3,"value":")" + env + R"("}])";
  }

  void push(const std::string& d) {
    ASSERT_THAT(control("push", R"({"t":"INTERACTION_CREATE","d":)" + d + "}"),
                testing::HasSubstr("\"live\""));
  }

  // The REST requests the fake recorded for interaction `id` (its token), in order.
  std::vector<Document> requests_for(const std::string& id) {
    std::vector<Document> out;
    auto doc = core::json::parse(control("requests"));
    if (!doc || !doc->IsObject() || !doc->HasMember("requests")) return out;
    for (auto& request : (*doc)["requests"].GetArray()) {
      const std::string path = request["path"].GetString();
      if (path.find("itok-" + id) == std::string::npos) continue;
      Document copy;
      copy.CopyFrom(request, copy.GetAllocator());
      out.push_back(std::move(copy));
    }
    return out;
  }
  // Waits for `n` requests for interaction `id`.
  std::vector<Document> wait_requests(const std::string& id, std::size_t n,
                                      std::chrono::milliseconds timeout = 8s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto found = requests_for(id);
      if (found.size() >= n || std::chrono::steady_clock::now() >= deadline) return found;
      std::this_thread::sleep_for(50ms);
    }
  }
  static std::string method_of(const Document& request) { return request["method"].GetString(); }

  // Answered privately after the deferral that took it: an ephemeral type 5,
  // then one edit of @original saying `text` — and nothing more.
  testing::AssertionResult answered_privately(const std::string& id, const std::string& text) {
    auto requests = wait_requests(id, 2);
    settle();
    requests = requests_for(id);
    if (requests.size() != 2) {
      return testing::AssertionFailure() << requests.size() << " requests for " << id << "\n"
                                         << bot().describe_last(20);
    }
    if (body_of(requests[0]) != R"({"type":5,"data":{"flags":64}})") {
      return testing::AssertionFailure() << "first: " << body_of(requests[0]);
    }
    const std::string path = requests[1]["path"].GetString();
    if (method_of(requests[1]) != "PATCH" ||
        path.find("/messages/@original") == std::string::npos ||
        body_of(requests[1]).find(text) == std::string::npos) {
      return testing::AssertionFailure()
             << "second: " << method_of(requests[1]) << " " << body_of(requests[1]);
    }
    return testing::AssertionSuccess();
  }
  static std::string body_of(const Document& request) {
    if (!request.HasMember("body")) return "";
    const auto& body = request["body"];
    if (body.IsString()) return body.GetString();
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    body.Accept(writer);
    return buffer.GetString();
  }

  std::unique_ptr<PythonFake> discord_;
  std::unique_ptr<core::http::Client> http_;
};

TEST_F(ServiceDiscordTest, StatusIsDeferredThenAnsweredWithTheCardAndItsButtons) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1001", 2, command("status", env_option("dev"))));
  auto requests = wait_requests("1001", 3);
  ASSERT_GE(requests.size(), 3u) << bot().describe_last(20);
  // A deferred, ephemeral first response within Discord's 3 s; then edits of @original.
  EXPECT_EQ(method_of(requests[0]), "POST");
  EXPECT_THAT(requests[0]["path"].GetString(), testing::HasSubstr("/callback"));
  EXPECT_THAT(body_of(requests[0]), testing::HasSubstr(R"("type":5)"));
  EXPECT_THAT(body_of(requests[0]), testing::HasSubstr(R"("flags":64)"));
  EXPECT_EQ(method_of(requests.back()), "PATCH");
  const auto card = body_of(requests.back());
  EXPECT_THAT(card, testing::HasSubstr("embeds"));
  EXPECT_THAT(card, testing::HasSubstr(R"("custom_id":"infra|stop dev")"));
  EXPECT_THAT(card, testing::HasSubstr(R"("custom_id":"infra|start dev")"));
  EXPECT_THAT(card, testing::HasSubstr(R"("custom_id":"infra|status dev")"));
  EXPECT_EQ(calls(kOrchestrator, "status").size(), 1u);
}

TEST_F(ServiceDiscordTest, StopPostsItsResultForTheWholeChannel) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1002", 2, command("stop", env_option("dev"))));
  auto requests = wait_requests("1002", 3);
  ASSERT_GE(requests.size(), 3u) << bot().describe_last(20);
  EXPECT_THAT(body_of(requests[0]), testing::HasSubstr(R"("type":5)"));
  // The result is a follow-up everyone sees (no ephemeral flag).
  const auto& last = requests.back();
  EXPECT_EQ(method_of(last), "POST");
  EXPECT_THAT(last["path"].GetString(), testing::Not(testing::HasSubstr("/callback")));
  EXPECT_THAT(body_of(last), testing::Not(testing::HasSubstr(R"("flags":64)")));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
}

TEST_F(ServiceDiscordTest, ARoleOutsideTheAllowListIsRefusedPrivatelyAndNothingRuns) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1003", 2, command("stop", env_option("dev")), {kGuestRole}));
  EXPECT_TRUE(answered_privately("1003", "None of your roles may use /infra"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 0u);
}

TEST_F(ServiceDiscordTest, AnotherGuildIsRefusedAndNothingRuns) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1004", 2, command("stop", env_option("dev")), {kOperatorRole}, kOtherGuild));
  auto requests = wait_requests("1004", 1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(body_of(requests[0]), testing::HasSubstr(R"("flags":64)"));
  EXPECT_THAT(body_of(requests[0]), testing::HasSubstr("does not serve this Discord server"));
  settle();
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 0u);
}

TEST_F(ServiceDiscordTest, ProductionIsNeverStoppedFromDiscordEither) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1005", 2, command("stop", env_option("prod")), {kAdminRole}));
  EXPECT_TRUE(answered_privately("1005", "protected"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 0u);
}

TEST_F(ServiceDiscordTest, AStopButtonIsCheckedAgainForWhoClicksIt) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  const std::string click = R"({"custom_id":"infra|stop dev","component_type":2})";
  push(interaction("1006", 3, click, {kGuestRole}));
  EXPECT_TRUE(answered_privately("1006", "None of your roles may use /infra"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 0u);
  push(interaction("1007", 3, click, {kOperatorRole}));
  auto accepted = wait_requests("1007", 3);
  ASSERT_GE(accepted.size(), 3u) << bot().describe_last(20);
  EXPECT_THAT(body_of(accepted[0]), testing::HasSubstr(R"("type":5)"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
}

TEST_F(ServiceDiscordTest, AFullTeardownOpensAModalAndOnlyTheRightNameRunsIt) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  push(interaction("1008", 2,
                   command("teardown", R"([{"name":"env","type":3,"value":"dev"},)"
                                       R"({"name":"level","type":3,"value":"full"}])"),
                   {kAdminRole}));
  auto opened = wait_requests("1008", 1);
  ASSERT_EQ(opened.size(), 1u) << bot().describe_last(20);
  EXPECT_THAT(body_of(opened[0]), testing::HasSubstr(R"("type":9)"));
  EXPECT_THAT(body_of(opened[0]), testing::HasSubstr(R"("custom_id":"infra_teardown|dev|full")"));
  const auto submit = [](const std::string& typed) {
    return R"({"custom_id":"infra_teardown|dev|full","components":[{"type":18,"id":1,)"
           R"("component":{"type":4,"id":2,"custom_id":"confirm_text","value":")" +
           typed + R"("}}]})";
  };
  push(interaction("1009", 5, submit("staging"), {kAdminRole}));
  EXPECT_TRUE(answered_privately("1009", "dev"));  // the error names what to type
  EXPECT_EQ(calls(kOrchestrator, "teardown").size(), 0u);
  push(interaction("1010", 5, submit("dev"), {kAdminRole}));
  auto confirmed = wait_requests("1010", 3);
  ASSERT_GE(confirmed.size(), 3u) << bot().describe_last(20);
  EXPECT_EQ(body_of(confirmed[0]), R"({"type":5,"data":{"flags":64}})");
  EXPECT_EQ(method_of(confirmed[1]), "PATCH");
  // Announced to the channel at once: a follow-up everyone sees.
  EXPECT_EQ(method_of(confirmed[2]), "POST");
  EXPECT_THAT(body_of(confirmed[2]), testing::HasSubstr("Teardown"));
  EXPECT_THAT(body_of(confirmed[2]), testing::Not(testing::HasSubstr(R"("flags":64)")));
  ASSERT_TRUE(lambda().wait_for("teardown call", FakeLambda::call(kOrchestrator, "teardown")));
}

TEST_F(ServiceDiscordTest, ARevokedTokenStopsTheProcessWithOneLine) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  ASSERT_NE(control("close", R"({"code":4004,"reason":"Authentication failed."})"), "");
  const auto code = bot().wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << bot().describe_last(20);
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(bot().wait_for_log("close 4004")) << bot().describe_last(20);
}

TEST_F(ServiceDiscordTest, SlackAndDiscordInOneProcessRunOneJobPerEnvironment) {
  auto settings = discord_settings(true).answer(
      answer(kOrchestrator, R"({"action": "stop"})",
             R"("delay_ms": 3000, "body": )" + core::json::quote(fixture_body("stop"))));
  start(settings);
  ASSERT_TRUE(wait_gateway_ready());
  const auto slack_stop = slash("stop dev", SlashUser{"U0TESTUSER", "tester", "C0TEST"});
  ASSERT_GT(slack().push(slack_stop.frame), 0);
  ASSERT_TRUE(lambda().wait_for("stop call", FakeLambda::call(kOrchestrator, "stop")));
  // Discord's stop dev while Slack's runs: busy, at once, privately.
  push(interaction("1011", 2, command("stop", env_option("dev"))));
  EXPECT_TRUE(answered_privately("1011", "running"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
  // Slack's job ends; then Discord may stop dev.
  ASSERT_TRUE(slack().sync());
  final_reply(slack_stop.response_id, 8s);
  push(interaction("1012", 2, command("stop", env_option("dev"))));
  auto accepted = wait_requests("1012", 3, 10s);
  ASSERT_GE(accepted.size(), 1u);
  EXPECT_THAT(body_of(accepted[0]), testing::HasSubstr(R"("type":5)"));
  const auto deadline = std::chrono::steady_clock::now() + 8s;
  while (calls(kOrchestrator, "stop").size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 2u);
}

}  // namespace
}  // namespace test::service

namespace test::service {
namespace {

TEST_F(ServiceDiscordTest, ReadyzCoversBothChatsAndADeadDiscordLeavesSlackServing) {
  start(discord_settings(true));
  ASSERT_TRUE(wait_gateway_ready());
  EXPECT_TRUE(wait_health("/readyz", 200));
  ASSERT_NE(control("close", R"({"code":4004,"reason":"Authentication failed."})"), "");
  ASSERT_TRUE(bot().wait_for_log("discord: stopped for good; Slack goes on"))
      << bot().describe_last(20);
  EXPECT_TRUE(bot().running()) << "Slack is still served";
  EXPECT_TRUE(wait_health("/readyz", 200)) << "ready on Slack alone";
  const auto status = slash("status dev", SlashUser{"U0TESTUSER", "tester", "C0TEST"});
  ASSERT_GT(slack().push(status.frame), 0);
  EXPECT_TRUE(slack().wait_for_ack(status.envelope_id));
  ASSERT_TRUE(bot().send_signal(SIGTERM));
  const auto code = bot().wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace test::service

namespace test::service {
namespace {

// Every command of the grammar, typed as Discord sends it, reaches the same
// Lambda call as in Slack.
TEST_F(ServiceDiscordTest, EveryCommandOfTheGrammarWorksAsInSlack) {
  start(discord_settings(false));
  ASSERT_TRUE(wait_gateway_ready());
  struct Case {
    std::string id;
    std::string data;
    const char* function;  ///< nullptr: answered at once, nothing called
    const char* action;
  };
  const auto whitelist = [](const std::string& sub, const std::string& options) {
    return R"({"id":"900","name":"infra","type":1,"options":[{"name":"whitelist","type":2,)"
           R"("options":[{"name":")" +
           sub + R"(","type":1,"options":)" + options + "}]}]}";
  };
  const std::vector<Case> cases = {
      {"2001", command("help", "[]"), nullptr, nullptr},
      {"2002", command("start", env_option("dev")), kOrchestrator, "start"},
      {"2003", command("spinup", env_option("dev")), kOrchestrator, "spinup"},
      {"2004",
       command(
           "teardown",
           R"([{"name":"env","type":3,"value":"dev"},{"name":"level","type":3,"value":"services"}])"),
       kOrchestrator, "teardown"},
      {"2005",
       whitelist(
           "add",
           R"([{"name":"ip","type":3,"value":"203.0.113.7"},{"name":"env","type":3,"value":"staging"},)"
           R"({"name":"ttl","type":3,"value":"7d"},{"name":"description","type":3,"value":"Home office & VPN"}])"),
       kWhitelist, "add"},
      {"2006", whitelist("list", env_option("dev")), kWhitelist, "list"},
      {"2007",
       whitelist(
           "remove",
           R"([{"name":"ip","type":3,"value":"203.0.113.7"},{"name":"env","type":3,"value":"staging"}])"),
       kWhitelist, "remove"},
      {"2008", whitelist("refresh", env_option("dev")), kWhitelist, "refresh"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.id + " " + c.data);
    push(interaction(c.id, 2, c.data, {kAdminRole}));
    auto requests = wait_requests(c.id, c.function == nullptr ? 1 : 3);
    ASSERT_FALSE(requests.empty()) << bot().describe_last(20);
    if (c.function == nullptr) {
      EXPECT_TRUE(answered_privately(c.id, "/infra"));
      continue;
    }
    if (body_of(requests[0]).find(R"("type":9)") != std::string::npos) {
      // A teardown, at any level, is typed to confirm: its modal, then its submit.
      EXPECT_EQ(std::string(c.action), "teardown");
      const std::string submitted =
          R"({"custom_id":"infra_teardown|dev|services","components":[{"type":18,"id":1,)"
          R"("component":{"type":4,"id":2,"custom_id":"confirm_text","value":"dev"}}]})";
      push(interaction(c.id + "9", 5, submitted, {kAdminRole}));
      requests = wait_requests(c.id + "9", 2);
      ASSERT_FALSE(requests.empty()) << bot().describe_last(20);
    }
    EXPECT_THAT(body_of(requests[0]), testing::HasSubstr(R"("type":5)"));
    ASSERT_TRUE(lambda().wait_for(c.action, FakeLambda::call(c.function, c.action)));
  }
  const auto added = calls(kWhitelist, "add");
  ASSERT_EQ(added.size(), 1u);
  const auto& payload = FakeLambda::payload(added[0]);
  EXPECT_EQ(str(payload, "description"), "Home office & VPN");
  EXPECT_EQ(str(payload, "environment"), "staging");
  ASSERT_TRUE(payload.HasMember("requested_by"));
  EXPECT_EQ(str(payload["requested_by"], "channel_id"), kChannel);
  EXPECT_EQ(str(payload["requested_by"], "user_id"), "400000000000000001");
}

}  // namespace
}  // namespace test::service
