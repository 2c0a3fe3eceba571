// tests/fakes/fake_discord.py's REST side and control API, checked with the
// project's curl client (the Gateway side is exercised by
// discord_gateway_fake_test.cpp). Label integration.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/http_client.hpp"
#include "core/json.hpp"
#include "python_fake.hpp"
#include "test_tls.hpp"

namespace {

using testing::HasSubstr;

constexpr const char* kToken = "fake-bot-token-secret";
constexpr const char* kUserAgent = "DiscordBot (https://github.com/infra-bot/infra-bot, 1.0)";

class FakeDiscordRest : public testing::Test {
 protected:
  FakeDiscordRest()
      : fake_(std::string(FAKES_DIR) + "/fake_discord.py",
              {"--tls", test::test_tls().cert_file, test::test_tls().key_file, "--token", kToken,
               "--app-id", "900"}),
        http_(core::http::make_curl_client({test::test_tls().ca_file})) {}

  core::http::Response call(const std::string& method, const std::string& path,
                            const std::string& body = "", bool auth = true,
                            const std::string& ua = kUserAgent) {
    core::http::Request request;
    request.method = method;
    request.url = "https://127.0.0.1:" + std::to_string(fake_.port()) + path;
    if (auth) request.headers.emplace_back("Authorization", std::string("Bot ") + kToken);
    if (!ua.empty()) request.headers.emplace_back("User-Agent", ua);
    if (!body.empty()) {
      request.headers.emplace_back("Content-Type", "application/json");
      request.body = body;
    }
    auto response = http_->send(request);
    EXPECT_TRUE(response) << (response ? "" : response.error().detail);
    return response ? *response : core::http::Response{};
  }
  core::http::Response control(const std::string& op, const std::string& body = "{}") {
    return call("POST", "/_control/" + op, body, false, "");
  }

  test::PythonFake fake_;
  std::unique_ptr<core::http::Client> http_;
};

TEST_F(FakeDiscordRest, GatewayBotNeedsTheBotTokenAndCarriesRateLimitHeaders) {
  ASSERT_NE(fake_.port(), 0);
  auto denied = call("GET", "/api/v10/gateway/bot", "", false);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.body, R"({"code": 0, "message": "401: Unauthorized"})");
  ASSERT_NE(
      control("config", R"({"session_start_limit":{"remaining":7,"max_concurrency":2}})").status,
      0);
  auto ok = call("GET", "/api/v10/gateway/bot");
  ASSERT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, HasSubstr(R"("remaining": 7)"));
  EXPECT_THAT(ok.body, HasSubstr(R"("max_concurrency": 2)"));
  EXPECT_THAT(ok.body, HasSubstr("wss://127.0.0.1:"));
  for (const char* h : {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                        "X-RateLimit-Reset-After", "X-RateLimit-Bucket"}) {
    EXPECT_TRUE(ok.header(h).has_value()) << h;
  }
}

TEST_F(FakeDiscordRest, AUserAgentNotStartingWithDiscordBotIsAViolation) {
  auto bad = call("GET", "/api/v10/applications/@me", "", true, "curl/8");
  EXPECT_EQ(bad.status, 400);
  auto record = control("requests", "");
  EXPECT_THAT(record.body, HasSubstr("curl/8"));
  EXPECT_THAT(record.body, HasSubstr("Bot <redacted>"));
  EXPECT_EQ(record.body.find(kToken), std::string::npos) << "token value never recorded";
}

TEST_F(FakeDiscordRest, ASecondCallbackForAnInteractionIs40060) {
  const std::string path = "/api/v10/interactions/i-1/itok/callback";
  auto first = call("POST", path, R"({"type":5})", false);
  EXPECT_EQ(first.status, 204);
  auto second = call("POST", path, R"({"type":4,"data":{"content":"x"}})", false);
  EXPECT_EQ(second.status, 400);
  EXPECT_THAT(second.body, HasSubstr("40060"));
  auto edit = call("PATCH", "/api/v10/webhooks/900/itok/messages/@original",
                   R"({"content":"done"})", false);
  EXPECT_EQ(edit.status, 200);
  EXPECT_THAT(edit.body, HasSubstr(R"("content": "done")"));
  EXPECT_THAT(edit.body, HasSubstr(R"("id": ")"));
  auto follow =
      call("POST", "/api/v10/webhooks/900/itok", R"({"content":"more","flags":64})", false);
  EXPECT_EQ(follow.status, 200);
  EXPECT_THAT(control("requests", "").body, HasSubstr(R"("type": 5)"));
}

TEST_F(FakeDiscordRest, CommandsPutReplacesAndGetReturnsThemWithIds) {
  auto me = call("GET", "/api/v10/applications/@me");
  EXPECT_EQ(me.status, 200);
  EXPECT_THAT(me.body, HasSubstr(R"("id": "900")"));
  EXPECT_THAT(me.body, HasSubstr("bot_public"));
  const std::string path = "/api/v10/applications/900/guilds/55/commands";
  EXPECT_EQ(call("PUT", path, R"([{"name":"infra","description":"d"}])").status, 200);
  auto got = call("GET", path);
  EXPECT_EQ(got.status, 200);
  EXPECT_THAT(got.body, HasSubstr(R"("name": "infra")"));
  EXPECT_THAT(got.body, HasSubstr(R"("id": ")"));
  EXPECT_THAT(control("requests", "").body, HasSubstr(R"("command_writes": 1)"));
  EXPECT_EQ(call("GET", path, "", false).status, 401);
}

TEST_F(FakeDiscordRest, ConfiguredRateLimitsAnswer429WithRetryAfter) {
  ASSERT_EQ(control("rate_limit", R"({"route":"PUT /applications/{app}/guilds/{guild}/commands",
                                      "count":1,"retry_after":1.5})")
                .status,
            200);
  const std::string path = "/api/v10/applications/900/guilds/55/commands";
  auto limited = call("PUT", path, "[]");
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(limited.body, HasSubstr(R"("retry_after": 1.5)"));
  EXPECT_THAT(limited.body, HasSubstr(R"("global": false)"));
  EXPECT_EQ(limited.header("Retry-After").value_or(""), "2");
  EXPECT_EQ(call("PUT", path, "[]").status, 200);
  ASSERT_EQ(control("rate_limit", R"({"route":"global","count":1,"retry_after":0.5})").status, 200);
  auto global = call("GET", "/api/v10/applications/@me");
  EXPECT_EQ(global.status, 429);
  EXPECT_THAT(global.body, HasSubstr(R"("global": true)"));
  EXPECT_EQ(global.header("X-RateLimit-Global").value_or(""), "true");
  ASSERT_EQ(
      control("rate_limit", R"({"route":"GET /applications/@me","limit":1,"window":30})").status,
      200);
  EXPECT_EQ(call("GET", "/api/v10/applications/@me").status, 200);
  auto bucket = call("GET", "/api/v10/applications/@me");
  EXPECT_EQ(bucket.status, 429);
  EXPECT_EQ(bucket.header("X-RateLimit-Remaining").value_or(""), "0");
}

}  // namespace
