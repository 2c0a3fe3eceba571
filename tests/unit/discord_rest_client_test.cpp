// discord::RestClient in process (../shared/notes/discord.md §1, §7): the headers Discord
// requires, per-route buckets keyed by route and top-level id, 429 retry_after (route and
// global), when a request that may have reached Discord is sent again (and 40060 on a re-sent
// interaction callback), 5xx retries, the status → ErrorCode mapping, and no token in any error
// or log line. ScriptedHttpClient answers; a manual clock moves only through the client's
// injected sleep, which records every wait.

#include "discord/rest_client.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "core/scheduler.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

using core::ErrorCode;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kApi = "https://discord.test/api/v10/";
constexpr const char* kBotToken = "MTAxNDAx.GfAkE.BOTSECRETTOKENunit";
constexpr const char* kAppId = "1014014014014014014";
constexpr const char* kInteractionId = "1200000000000000001";
constexpr const char* kToken = "aW50ZXJhY3Rpb246SECRETINTERACTIONTOKEN";
constexpr const char* kOtherToken = "aW50ZXJhY3Rpb246OTHERINTERACTIONTOKEN";

// Pieces of the tokens that must never reach an error or a log line.
const std::vector<std::string> kSecretMarkers = {"BOTSECRET", "SECRETINTERACTION",
                                                 "OTHERINTERACTION"};

std::string header(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

core::http::Headers bucket(std::string id, std::string remaining, std::string reset_after) {
  return {{"X-RateLimit-Bucket", std::move(id)},
          {"X-RateLimit-Limit", "5"},
          {"X-RateLimit-Remaining", std::move(remaining)},
          {"X-RateLimit-Reset-After", std::move(reset_after)}};
}

core::Error transport(ErrorCode code) {
  return core::make_error(code, "no answer", "connection to discord.test:443 reset");
}

class RestClientTest : public ::testing::Test {
 protected:
  RestClientTest()
      : sink_(std::make_shared<test::RecordingSink>()),
        logger_(std::make_shared<spdlog::logger>("discord_rest_client_test", sink_)) {
    logger_->set_level(spdlog::level::trace);
  }

  void TearDown() override {
    for (const auto& line : sink_->lines()) {
      for (const auto& marker : kSecretMarkers) {
        EXPECT_THAT(line, Not(HasSubstr(marker))) << line;
      }
    }
  }

  std::unique_ptr<discord::RestClient> make(discord::RestSettings settings = {}) {
    settings.api_url = kApi;
    settings.bot_token = kBotToken;
    settings.version = "1.2.3";
    return std::make_unique<discord::RestClient>(settings, http_, clock_, logger_,
                                                 [this](milliseconds wait) {
                                                   std::lock_guard lock(mutex_);
                                                   sleeps_.push_back(wait);
                                                   clock_.advance(wait);
                                                 });
  }

  std::vector<milliseconds> sleeps() {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

  static void expect_no_secret(const core::Error& error) {
    for (const auto& marker : kSecretMarkers) {
      EXPECT_THAT(error.detail, Not(HasSubstr(marker)));
      EXPECT_THAT(error.user_message, Not(HasSubstr(marker)));
    }
  }

  void expect_global_limit_delays_other_routes(core::http::Response limited);

  std::string follow_up_path(const char* token = kToken) const {
    return std::string("/webhooks/") + kAppId + "/" + token;
  }
  std::string original_path(const char* token = kToken) const {
    return follow_up_path(token) + "/messages/@original";
  }

  test::ScriptedHttpClient http_;
  core::ManualClock clock_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  std::mutex mutex_;
  std::vector<milliseconds> sleeps_;
};

// ---- the request as sent ----

TEST_F(RestClientTest, AuthorizedCallCarriesUserAgentAndBotToken) {
  auto rest = make();
  http_.push(200, R"({"url": "wss://gateway.discord.gg"})");
  auto got = rest->call("GET", "/gateway/bot");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, R"({"url": "wss://gateway.discord.gg"})");
  const auto sent = http_.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "GET");
  EXPECT_EQ(sent[0].url, "https://discord.test/api/v10/gateway/bot") << "one slash, not two";
  EXPECT_THAT(header(sent[0], "User-Agent"), StartsWith("DiscordBot ("));
  EXPECT_THAT(header(sent[0], "User-Agent"), HasSubstr("1.2.3)"));
  EXPECT_EQ(header(sent[0], "Authorization"), std::string("Bot ") + kBotToken);
  EXPECT_EQ(header(sent[0], "Content-Type"), "<absent>") << "no body, no Content-Type";
  EXPECT_TRUE(sent[0].body.empty());
}

TEST_F(RestClientTest, BodyGetsJsonContentType) {
  auto rest = make();
  http_.push(200, "[]");
  ASSERT_TRUE(rest->call("PUT", "/applications/1/guilds/2/commands", "[]"));
  const auto sent = http_.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(header(sent[0], "Content-Type"), "application/json");
  EXPECT_EQ(sent[0].body, "[]");
}

TEST_F(RestClientTest, InteractionRoutesCarryNoAuthorization) {
  auto rest = make();
  http_.push(204, "");
  http_.push(200, "{}");
  http_.push(200, "{}");
  http_.push(200, "{}");
  ASSERT_TRUE(rest->interaction_callback(kInteractionId, kToken, R"({"type":5})"));
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"done"})"));
  ASSERT_TRUE(rest->follow_up(kAppId, kToken, R"({"content":"more"})"));
  ASSERT_TRUE(rest->call("GET", "/users/@me", {}, false));
  const auto sent = http_.requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, std::string("https://discord.test/api/v10/interactions/") +
                             kInteractionId + "/" + kToken + "/callback");
  EXPECT_EQ(sent[1].method, "PATCH");
  EXPECT_EQ(sent[1].url, "https://discord.test/api/v10" + original_path());
  EXPECT_EQ(sent[2].method, "POST");
  EXPECT_EQ(sent[2].url, "https://discord.test/api/v10" + follow_up_path());
  for (const auto& request : sent) {
    SCOPED_TRACE(request.url);
    EXPECT_EQ(header(request, "Authorization"), "<absent>");
    EXPECT_THAT(header(request, "User-Agent"), StartsWith("DiscordBot ("));
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(header(sent[i], "Content-Type"), "application/json");
  EXPECT_EQ(header(sent[3], "Content-Type"), "<absent>");
  EXPECT_THAT(sleeps(), IsEmpty());
}

// ---- buckets ----

TEST_F(RestClientTest, ExhaustedBucketDelaysTheSameRouteAndChannelOnly) {
  auto rest = make();
  http_.push(200, "[]", bucket("abcd", "0", "2.5"));
  http_.push(200, "[]", bucket("abcd", "4", "1"));
  http_.push(200, "[]", bucket("abcd", "4", "1"));
  ASSERT_TRUE(rest->call("GET", "/channels/111/messages"));
  // Another channel counts separately: no wait.
  ASSERT_TRUE(rest->call("GET", "/channels/222/messages"));
  EXPECT_THAT(sleeps(), IsEmpty());
  // The same channel waits out Reset-After.
  ASSERT_TRUE(rest->call("GET", "/channels/111/messages"));
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(2500)));
  EXPECT_EQ(http_.requests().size(), 3u);
}

TEST_F(RestClientTest, ExhaustedWebhookBucketDelaysTheSameTokenOnly) {
  auto rest = make();
  http_.push(200, "{}", bucket("hook", "0", "0.25"));
  http_.push(200, "{}", bucket("hook", "4", "1"));
  http_.push(200, "{}", bucket("hook", "4", "1"));
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"a"})"));
  ASSERT_TRUE(rest->edit_original(kAppId, kOtherToken, R"({"content":"b"})"));
  EXPECT_THAT(sleeps(), IsEmpty()) << "another interaction token is another bucket";
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"c"})"));
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(250)));
}

TEST_F(RestClientTest, BucketLongerThanMaxWaitFailsWithoutSending) {
  auto rest = make();
  http_.push(200, "{}", bucket("hook", "0", "120"));
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"a"})"));
  auto refused = rest->edit_original(kAppId, kToken, R"({"content":"b"})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_THAT(refused.error().detail, HasSubstr("rate limited"));
  expect_no_secret(refused.error());
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_THAT(sleeps(), IsEmpty());
}

// ---- 429 ----

TEST_F(RestClientTest, RouteRateLimitIsWaitedOutThenSucceeds) {
  auto rest = make();
  http_.push(429, R"({"message": "You are being rate limited.", "retry_after": 1.5,
                      "global": false})",
             {{"Retry-After", "2"}, {"X-RateLimit-Scope", "user"}});
  http_.push(200, R"({"id": "1"})");
  auto got = rest->call("POST", "/channels/111/messages", R"({"content":"x"})");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(got->body, R"({"id": "1"})");
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(1500))) << "retry_after, not Retry-After";
  EXPECT_EQ(http_.requests().size(), 2u) << "a 429 was not acted on: sent again, even a POST";
}

TEST_F(RestClientTest, A429WithoutRetryAfterInItsBodyWaitsTheHeader) {
  auto rest = make();
  http_.push(429, R"({"message": "You are being rate limited.", "global": false})",
             {{"Retry-After", " 2 "}});
  http_.push(200, R"({"id": "1"})");
  auto got = rest->call("POST", "/channels/111/messages", R"({"content":"x"})");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(2000)));
}

TEST_F(RestClientTest, RouteRateLimitDoesNotDelayOtherRoutes) {
  discord::RestSettings settings;
  settings.max_attempts = 1;
  auto rest = make(settings);
  http_.push(429, R"({"message": "limited", "retry_after": 1.5, "global": false})");
  http_.push(200, "{}");
  http_.push(200, "{}");
  ASSERT_FALSE(rest->call("GET", "/channels/111/messages"));
  ASSERT_TRUE(rest->call("GET", "/guilds/333/roles"));
  EXPECT_THAT(sleeps(), IsEmpty());
  ASSERT_TRUE(rest->call("GET", "/channels/111/messages"));
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(1500)));
}

// The first call gives up (max_attempts 1); the global limit it met stays.
void RestClientTest::expect_global_limit_delays_other_routes(core::http::Response limited) {
  discord::RestSettings settings;
  settings.max_attempts = 1;
  auto rest = make(settings);
  http_.push(std::move(limited));
  http_.push(204, "");
  http_.push(200, "{}");
  auto refused = rest->call("GET", "/channels/111/messages");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  // Interaction routes are not bound by the global limit.
  ASSERT_TRUE(rest->interaction_callback(kInteractionId, kToken, R"({"type":5})"));
  EXPECT_THAT(sleeps(), IsEmpty());
  // Any other authorized route is.
  ASSERT_TRUE(rest->call("GET", "/guilds/333/roles"));
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(1500)));
}

TEST_F(RestClientTest, GlobalRateLimitInTheBodyDelaysOtherAuthorizedRoutes) {
  expect_global_limit_delays_other_routes(
      {429, {}, R"({"message": "limited", "retry_after": 1.5, "global": true})"});
}

TEST_F(RestClientTest, GlobalRateLimitInTheHeaderDelaysOtherAuthorizedRoutes) {
  expect_global_limit_delays_other_routes(
      {429,
       {{"X-RateLimit-Global", "true"}, {"X-RateLimit-Scope", "global"}},
       R"({"message": "limited", "retry_after": 1.5})"});
}

TEST_F(RestClientTest, GlobalRateLimitOnAnUnauthorizedRequestIsWaitedOutBeforeItsRetry) {
  auto rest = make();
  http_.push(429, R"({"message": "limited", "retry_after": 0.75, "global": true})");
  http_.push(200, "{}");
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"a"})"));
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(750))) << "not sent again at once";
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(RestClientTest, RateLimitWithoutJsonBodyFailsAtOnce) {
  auto rest = make();
  http_.push(429, "<html>Error 1015: You are being rate limited</html>",
             {{"Retry-After", "1"}, {"Content-Type", "text/html"}});
  http_.push(200, "{}");
  auto refused = rest->call("GET", "/channels/111/messages");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_THAT(refused.error().detail, HasSubstr("429"));
  EXPECT_EQ(http_.requests().size(), 1u) << "not retried";
  EXPECT_THAT(sleeps(), IsEmpty());
}

TEST_F(RestClientTest, RetryAfterBeyondMaxWaitFailsWithoutWaiting) {
  auto rest = make();  // max_wait 30 s
  http_.push(429, R"({"message": "You are being rate limited.", "retry_after": 64.0,
                      "global": false})");
  http_.push(200, "{}");
  auto refused = rest->follow_up(kAppId, kToken, R"({"content":"x"})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  expect_no_secret(refused.error());
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_THAT(sleeps(), IsEmpty());
}

// ---- what is sent again ----

TEST_F(RestClientTest, IndeterminateFollowUpIsNotSentAgain) {
  auto rest = make();
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, "{}");
  auto sent = rest->follow_up(kAppId, kToken, R"({"content":"x"})");
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::indeterminate);
  expect_no_secret(sent.error());
  EXPECT_EQ(http_.requests().size(), 1u) << "a second POST could post twice";
}

TEST_F(RestClientTest, NothingSentFollowUpIsSentAgain) {
  auto rest = make();
  http_.push(transport(ErrorCode::unavailable));
  http_.push(200, "{}");
  ASSERT_TRUE(rest->follow_up(kAppId, kToken, R"({"content":"x"})"));
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(RestClientTest, IndeterminateIdempotentRequestsAreSentAgain) {
  auto rest = make();
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, "{}");
  ASSERT_TRUE(rest->edit_original(kAppId, kToken, R"({"content":"x"})"));
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, "{}");
  ASSERT_TRUE(rest->call("GET", "/gateway/bot"));
  const auto sent = http_.requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].method, "PATCH");
  EXPECT_EQ(sent[1].method, "PATCH");
  EXPECT_EQ(sent[1].body, R"({"content":"x"})");
  EXPECT_EQ(sent[3].method, "GET");
  EXPECT_EQ(sleeps().size(), 2u) << "a short pause before each re-send";
}

TEST_F(RestClientTest, InteractionCallbackIsSentAgainAndAlreadyAcknowledgedCountsAsDone) {
  auto rest = make();
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(400, R"({"message": "Interaction has already been acknowledged.", "code": 40060})");
  auto done = rest->interaction_callback(kInteractionId, kToken, R"({"type":5})");
  ASSERT_TRUE(done) << done.error().detail;
  const auto sent = http_.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].url, sent[0].url);
  EXPECT_EQ(sent[1].body, R"({"type":5})");
}

TEST_F(RestClientTest, AlreadyAcknowledgedOnAFirstSendIsAnError) {
  auto rest = make();
  http_.push(400, R"({"message": "Interaction has already been acknowledged.", "code": 40060})");
  auto refused = rest->interaction_callback(kInteractionId, kToken, R"({"type":5})");
  ASSERT_FALSE(refused) << "another process answered it: not ours";
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_input);
  EXPECT_THAT(refused.error().detail, HasSubstr("40060"));
  expect_no_secret(refused.error());
}

TEST_F(RestClientTest, ServerErrorOnPostIsNotSentAgain) {
  auto rest = make();
  http_.push(502, R"({"message": "Bad Gateway", "code": 0})");
  http_.push(200, "{}");
  auto refused = rest->follow_up(kAppId, kToken, R"({"content":"x"})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  expect_no_secret(refused.error());
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_THAT(sleeps(), IsEmpty());
}

TEST_F(RestClientTest, ServerErrorOnGetIsSentAgainUpToMaxAttempts) {
  auto rest = make();  // max_attempts 4
  for (int i = 0; i < 4; ++i) http_.push(503, R"({"message": "unavailable", "code": 0})");
  auto refused = rest->call("GET", "/gateway/bot");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_THAT(refused.error().detail, HasSubstr("503"));
  EXPECT_EQ(http_.requests().size(), 4u);
  // A pause between attempts, none after the last one.
  EXPECT_THAT(sleeps(), ElementsAre(milliseconds(500), milliseconds(1000), milliseconds(1500)));

  http_.push(500, "");
  http_.push(200, "{}");
  ASSERT_TRUE(rest->call("GET", "/gateway/bot"));
  EXPECT_EQ(http_.requests().size(), 6u);
}

// ---- errors ----

TEST_F(RestClientTest, StatusMapsToErrorCodeWithDiscordsCodeAndMessage) {
  struct Case {
    long status;
    const char* body;
    ErrorCode code;
    const char* detail;
  };
  const Case cases[] = {
      {401, R"({"message": "401: Unauthorized", "code": 0})", ErrorCode::denied,
       "Discord code 0: 401: Unauthorized"},
      {403, R"({"message": "Missing Access", "code": 50001})", ErrorCode::denied,
       "Discord code 50001: Missing Access"},
      {404, R"({"message": "Unknown Webhook", "code": 10015})", ErrorCode::not_found,
       "Discord code 10015: Unknown Webhook"},
      {400, R"({"message": "Invalid Form Body", "code": 50035, "errors": {}})",
       ErrorCode::invalid_input, "Discord code 50035: Invalid Form Body"},
      {400, "not json", ErrorCode::invalid_input, "no JSON body"},
  };
  auto rest = make();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status);
    const auto before = http_.requests().size();
    http_.push(c.status, c.body);
    auto refused = rest->call("PATCH", original_path(), R"({"content":"x"})", false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, c.code);
    EXPECT_THAT(refused.error().detail, HasSubstr("HTTP " + std::to_string(c.status)));
    EXPECT_THAT(refused.error().detail, HasSubstr(c.detail));
    EXPECT_FALSE(refused.error().user_message.empty());
    expect_no_secret(refused.error());
    EXPECT_EQ(http_.requests().size(), before + 1) << "a 4xx is not sent again";
  }
  http_.push(401, R"({"message": "401: Unauthorized", "code": 0})");
  auto bad_token = rest->call("GET", "/gateway/bot");
  ASSERT_FALSE(bad_token);
  EXPECT_THAT(bad_token.error().user_message, HasSubstr("token"));
  expect_no_secret(bad_token.error());
  EXPECT_THAT(sleeps(), IsEmpty());
}

TEST_F(RestClientTest, NoTokenInErrorsOrLogLines) {
  auto rest = make();
  std::vector<core::Error> errors;
  auto keep = [&](const auto& result) {
    ASSERT_FALSE(result);
    errors.push_back(result.error());
  };
  // Every failure path, on routes that carry the interaction token in their path.
  http_.push(transport(ErrorCode::indeterminate));
  keep(rest->follow_up(kAppId, kToken, "{}"));
  for (int i = 0; i < 4; ++i) http_.push(transport(ErrorCode::unavailable));
  keep(rest->edit_original(kAppId, kToken, "{}"));
  for (int i = 0; i < 4; ++i) http_.push(503, R"({"message": "x", "code": 0})");
  keep(rest->edit_original(kAppId, kToken, "{}"));
  for (int i = 0; i < 4; ++i) {
    http_.push(429, R"({"message": "limited", "retry_after": 0.01, "global": false})");
  }
  keep(rest->interaction_callback(kInteractionId, kToken, "{}"));
  http_.push(429, "");
  keep(rest->follow_up(kAppId, kOtherToken, "{}"));
  http_.push(200, "{}", bucket("hook", "0", "100"));
  ASSERT_TRUE(rest->follow_up(kAppId, kOtherToken, "{}"));
  keep(rest->follow_up(kAppId, kOtherToken, "{}"));
  http_.push(404, R"({"message": "Unknown interaction", "code": 10062})");
  keep(rest->interaction_callback(kInteractionId, kToken, "{}"));
  http_.push(401, R"({"message": "401: Unauthorized", "code": 0})");
  keep(rest->call("GET", "/applications/@me"));
  ASSERT_EQ(errors.size(), 8u);
  for (const auto& error : errors) {
    SCOPED_TRACE(error.detail);
    expect_no_secret(error);
  }
  EXPECT_THAT(sink_->lines(), Not(IsEmpty())) << "the retries were logged";
  // TearDown checks every log line.
}

}  // namespace
