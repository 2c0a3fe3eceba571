// slack::HttpWebApi: exact requests, ok:false errors by name, 429 Retry-After
// (taken as given, remembered per method, refused past the per-call ceiling),
// 5xx and transport retries (with the in-process ScriptedHttpClient, a manual
// clock and a recording sleep that moves it), then the same calls over real
// HTTPS against the fake Slack (tests/fakes/fake_slack.py).

#include "slack/web_api.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "core/json.hpp"
#include "core/random.hpp"
#include "core/scheduler.hpp"
#include "fake_slack.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

using namespace std::chrono_literals;
using core::ErrorCode;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

constexpr std::string_view kToken = "xoxb-1111-2222-unitTESTtoken";
constexpr std::string_view kApi = "https://slack.test/api/";

std::string web_fixture(std::string_view name) {
  std::ifstream in(fs::path(FIXTURES_DIR) / "slack" / "web_api" / (std::string(name) + ".json"),
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  EXPECT_FALSE(out.str().empty()) << name;
  return out.str();
}

std::string canonical(std::string_view json) {
  auto result = core::json::canonicalize(json);
  return result ? *result : "not JSON: " + std::string(json);
}

std::string header(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

bool has_header(const core::http::Request& request, std::string_view name) {
  return header(request, name) != "<absent>";
}

core::Error transport(ErrorCode code) {
  return core::make_error(code, "no answer", "connection to https://slack.test:443 failed");
}

// Time for a client that never sleeps: its waits are recorded and move a
// manual clock; the backoff jitter is the whole backoff (unit 1).
class ManualTime {
 public:
  slack::HttpWebApi::SleepFunction sleep() {
    return [this](milliseconds wait) {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(wait);
      clock.advance(wait);
    };
  }
  std::vector<milliseconds> sleeps() {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

  core::ManualClock clock;
  core::FixedRandom random{{1.0}};

 private:
  std::mutex mutex_;
  std::vector<milliseconds> sleeps_;
};

class WebApiTest : public ::testing::Test {
 protected:
  WebApiTest()
      : sink_(std::make_shared<test::RecordingSink>()),
        logger_(std::make_shared<spdlog::logger>("web_api_test", sink_)) {
    logger_->set_level(spdlog::level::trace);
  }

  slack::HttpWebApi make(slack::WebApiSettings settings = {}) {
    settings.bot_token = std::string(kToken);
    settings.api_url = std::string(kApi);
    return slack::HttpWebApi(settings, http_, logger_, time_.sleep(), time_.clock, time_.random);
  }

  std::vector<milliseconds> sleeps() { return time_.sleeps(); }

  void TearDown() override {
    // No token and no response_url path in any log line, at any level.
    for (const auto& line : sink_->lines()) {
      EXPECT_THAT(line, Not(HasSubstr("xoxb-"))) << line;
      EXPECT_THAT(line, Not(HasSubstr("unitTESTtoken"))) << line;
      EXPECT_THAT(line, Not(HasSubstr("/commands/"))) << line;
      EXPECT_THAT(line, Not(HasSubstr("hooks.slack.com"))) << line;
    }
  }

  test::ScriptedHttpClient http_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  ManualTime time_;
  core::ManualClock& clock_ = time_.clock;
};

// ---- exact requests ----

TEST_F(WebApiTest, PostMessageSendsJsonWithBearerTokenAndReturnsTs) {
  http_.push(200, web_fixture("chat.postMessage_ok"));
  auto api = make();
  auto ts = api.post_message("C0123ABCD", R"({"text":"hi","blocks":[{"type":"divider"}]})",
                             "1732530000.000100");
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_EQ(*ts, "1732530200.000400");

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://slack.test/api/chat.postMessage");
  EXPECT_EQ(header(request, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(request, "Authorization"), "Bearer " + std::string(kToken));
  EXPECT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(canonical(request.body),
            canonical(R"({"text":"hi","blocks":[{"type":"divider"}],"channel":"C0123ABCD",
                          "thread_ts":"1732530000.000100"})"));
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(WebApiTest, PostMessageWithoutThreadOmitsThreadTsAndOverridesChannel) {
  http_.push(200, web_fixture("chat.postMessage_ok"));
  auto api = make();
  ASSERT_TRUE(api.post_message("C2", R"({"text":"hi","channel":"C-wrong"})"));
  EXPECT_EQ(canonical(http_.requests().at(0).body), canonical(R"({"text":"hi","channel":"C2"})"));
}

TEST_F(WebApiTest, PostEphemeral) {
  http_.push(200, web_fixture("chat.postEphemeral_ok"));
  auto api = make();
  auto status = api.post_ephemeral("C0123ABCD", "U0456EFGH", R"({"text":"working on it"})");
  ASSERT_TRUE(status) << status.error().detail;
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/chat.postEphemeral");
  EXPECT_EQ(header(request, "Authorization"), "Bearer " + std::string(kToken));
  EXPECT_EQ(canonical(request.body),
            canonical(R"({"text":"working on it","channel":"C0123ABCD","user":"U0456EFGH"})"));
}

TEST_F(WebApiTest, UpdateMessage) {
  http_.push(200, web_fixture("chat.update_ok"));
  auto api = make();
  ASSERT_TRUE(api.update_message("C0123ABCD", "1732530200.000400", R"({"text":"done"})"));
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/chat.update");
  EXPECT_EQ(canonical(request.body),
            canonical(R"({"text":"done","channel":"C0123ABCD","ts":"1732530200.000400"})"));
}

TEST_F(WebApiTest, OpenViewReturnsViewId) {
  http_.push(200, web_fixture("views.open_ok"));
  auto api = make();
  auto id = api.open_view("20011234567.0123456789.abc", R"({"type":"modal","blocks":[]})");
  ASSERT_TRUE(id) << id.error().detail;
  EXPECT_EQ(*id, "V0TEARDOWN1");
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/views.open");
  EXPECT_EQ(header(request, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(canonical(request.body), canonical(R"({"trigger_id":"20011234567.0123456789.abc",
                          "view":{"type":"modal","blocks":[]}})"));
}

TEST_F(WebApiTest, UpdateView) {
  http_.push(200, web_fixture("views.update_ok"));
  auto api = make();
  ASSERT_TRUE(api.update_view("V0TEARDOWN1", R"({"type":"modal","blocks":[]})"));
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/views.update");
  EXPECT_EQ(canonical(request.body),
            canonical(R"({"view_id":"V0TEARDOWN1","view":{"type":"modal","blocks":[]}})"));
}

TEST_F(WebApiTest, UserInfoSendsAFormAndReadsNames) {
  http_.push(200, web_fixture("users.info_ok"));
  auto api = make();
  auto user = api.user_info("U0456EFGH");
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_EQ(user->id, "U0456EFGH");
  EXPECT_EQ(user->name, "alice");
  EXPECT_EQ(user->real_name, "Alice Example");
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/users.info");
  EXPECT_EQ(header(request, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(header(request, "Authorization"), "Bearer " + std::string(kToken));
  EXPECT_EQ(request.body, "user=U0456EFGH");
}

TEST_F(WebApiTest, UserInfoEscapesTheFormValue) {
  http_.push(200, R"({"ok":true,"user":{"id":"x","name":"n","real_name":"Top Level"}})");
  auto api = make();
  auto user = api.user_info("U1&token=x y");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->real_name, "Top Level");  // no profile: the top-level real_name
  EXPECT_EQ(http_.requests().at(0).body, "user=U1%26token%3Dx%20y");
}

// Issue 15: what the workspace gate judges on, read from users.info; a field
// that is absent or not a boolean reads false.
TEST_F(WebApiTest, UserInfoReadsWhatTheWorkspaceGateJudges) {
  http_.push(200, R"({"ok":true,"user":{"id":"U1","team_id":"T9","is_restricted":true,)"
                  R"("is_ultra_restricted":false,"is_stranger":true,"is_app_user":true,)"
                  R"("deleted":"yes"}})");
  http_.push(200, R"({"ok":true,"user":{"id":"U2","team_id":"T1","is_bot":true}})");
  auto api = make();
  auto guest = api.user_info("U1");
  ASSERT_TRUE(guest);
  EXPECT_EQ(guest->team_id, "T9");
  EXPECT_TRUE(guest->is_restricted);
  EXPECT_FALSE(guest->is_ultra_restricted);
  EXPECT_TRUE(guest->is_stranger);
  EXPECT_TRUE(guest->is_bot) << "is_app_user counts as a bot";
  EXPECT_FALSE(guest->deleted) << "not a boolean";
  auto bot = api.user_info("U2");
  ASSERT_TRUE(bot);
  EXPECT_TRUE(bot->is_bot);
  EXPECT_FALSE(bot->is_restricted);
}

TEST_F(WebApiTest, AuthTestNamesTheWorkspaceAndFailsWithoutOne) {
  http_.push(200, R"({"ok":true,"team_id":"T0123ABCD","user_id":"U0BOT","bot_id":"B0BOT"})");
  http_.push(200, R"({"ok":true,"user_id":"U0BOT"})");
  auto api = make();
  auto identity = api.auth_test();
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->team_id, "T0123ABCD");
  EXPECT_EQ(identity->user_id, "U0BOT");
  EXPECT_EQ(identity->bot_id, "B0BOT");
  EXPECT_EQ(identity->enterprise_id, "");
  EXPECT_EQ(http_.requests().at(0).url, "https://slack.test/api/auth.test");
  auto nameless = api.auth_test();
  ASSERT_FALSE(nameless);
  EXPECT_EQ(nameless.error().detail, "auth.test: reply without team_id");
}

// Issue 16 (doctor): the token's scopes come from the x-oauth-scopes header, split and trimmed.
TEST_F(WebApiTest, AuthTestReadsTheScopesHeaderAndNames) {
  http_.push(200,
             R"({"ok":true,"team":"Acme","user":"infra-bot","team_id":"T0123ABCD",)"
             R"("user_id":"U0BOT"})",
             {{"X-OAuth-Scopes", "chat:write, commands,,users:read "}});
  http_.push(200, R"({"ok":true,"team_id":"T0123ABCD","user_id":"U0BOT"})");
  auto api = make();
  auto identity = api.auth_test();
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->team, "Acme");
  EXPECT_EQ(identity->user, "infra-bot");
  ASSERT_TRUE(identity->scopes);
  EXPECT_THAT(*identity->scopes, testing::ElementsAre("chat:write", "commands", "users:read"));
  auto without = api.auth_test();
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->scopes) << "no header: unknown, not none";
}

TEST_F(WebApiTest, ConversationInfoSendsAFormAndReadsMembership) {
  http_.push(200, R"({"ok":true,"channel":{"id":"C0AUDIT","name":"infra-audit",)"
                  R"("is_private":false,"is_archived":false,"is_member":true}})");
  http_.push(200, R"({"ok":false,"error":"channel_not_found"})");
  auto api = make();
  auto info = api.conversation_info("C0AUDIT");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "infra-audit");
  EXPECT_TRUE(info->is_member);
  EXPECT_FALSE(info->is_private);
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://slack.test/api/conversations.info");
  EXPECT_EQ(request.body, "channel=C0AUDIT");
  auto missing = api.conversation_info("C0NONE");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, "conversations.info: channel_not_found");
}

TEST_F(WebApiTest, RespondPostsToTheUrlWithoutAuthorization) {
  http_.push(200, R"({"ok":true})");
  auto api = make();
  const std::string url = "https://hooks.slack.com/commands/T0123ABCD/1007/abcdef";
  ASSERT_TRUE(api.respond(url, R"({"response_type":"in_channel","text":"done"})"));
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, url);
  EXPECT_FALSE(has_header(request, "Authorization"));
  EXPECT_EQ(header(request, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(canonical(request.body), canonical(R"({"response_type":"in_channel","text":"done"})"));
}

TEST_F(WebApiTest, RespondAcceptsAPlainOk) {
  http_.push(200, "ok");
  auto api = make();
  EXPECT_TRUE(api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})"));
}

TEST_F(WebApiTest, RespondExpiredUrlIsAnErrorThatDoesNotNameTheUrl) {
  http_.push(404, R"({"ok":false,"error":"expired_url"})");
  auto api = make();
  auto status = api.respond("https://hooks.slack.com/commands/T1/2/secretpath", R"({"text":"x"})");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::conflict);
  EXPECT_EQ(status.error().detail, "response_url: expired_url");
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(WebApiTest, RespondPlainTextErrorCodeIsNamed) {
  http_.push(400, "invalid_blocks");
  auto api = make();
  auto status = api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().detail, "response_url: HTTP 400 (invalid_blocks)");
}

TEST_F(WebApiTest, RespondRefusesANonHttpUrlWithoutSending) {
  auto api = make();
  auto status = api.respond("file:///etc/passwd", R"({"text":"x"})");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::invalid_input);
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(WebApiTest, MessageThatIsNotAJsonObjectIsNotSent) {
  auto api = make();
  for (const char* bad : {"", "[1]", "{", "\"text\""}) {
    auto ts = api.post_message("C1", bad);
    ASSERT_FALSE(ts) << bad;
    EXPECT_EQ(ts.error().code, ErrorCode::internal);
    EXPECT_EQ(ts.error().detail, "chat.postMessage: message is not a JSON object");
  }
  EXPECT_FALSE(api.open_view("t", "nope"));
  EXPECT_TRUE(http_.requests().empty());
}

// ---- ok:false errors by name ----

TEST_F(WebApiTest, OkFalseIsNamedInTheDetail) {
  http_.push(200, web_fixture("chat.postMessage_channel_not_found"));
  auto api = make();
  auto ts = api.post_message("C404", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::not_found);
  EXPECT_EQ(ts.error().detail, "chat.postMessage: channel_not_found");
  EXPECT_THAT(ts.error().user_message, HasSubstr("channel_not_found"));
  EXPECT_EQ(http_.requests().size(), 1u);  // not retried
}

TEST_F(WebApiTest, ResponseMetadataMessagesGoIntoTheDetail) {
  http_.push(200, web_fixture("chat.postMessage_invalid_blocks"));
  auto api = make();
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::internal);
  EXPECT_EQ(ts.error().detail,
            "chat.postMessage: invalid_blocks ([ERROR] must be less than 3001 characters "
            "[json-pointer:/blocks/1/text/text])");
}

TEST_F(WebApiTest, InvalidAuthIsAConfigErrorWithoutTheToken) {
  http_.push(200, R"({"ok":false,"error":"invalid_auth"})");
  auto api = make();
  auto status = api.post_ephemeral("C1", "U1", R"({"text":"x"})");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::config);
  EXPECT_EQ(status.error().detail, "chat.postEphemeral: invalid_auth");
  EXPECT_THAT(status.error().user_message, HasSubstr("invalid_auth"));
  EXPECT_THAT(status.error().user_message, Not(HasSubstr("xoxb")));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(WebApiTest, ExpiredTriggerIdIsReadable) {
  http_.push(200, web_fixture("views.open_expired_trigger_id"));
  auto api = make();
  auto id = api.open_view("t", R"({"type":"modal"})");
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::invalid_input);
  EXPECT_EQ(id.error().detail, "views.open: expired_trigger_id");
  EXPECT_THAT(id.error().user_message, HasSubstr("run the command again"));
}

TEST_F(WebApiTest, OkFalseWithoutErrorCodeSaysSo) {
  http_.push(200, R"({"ok":false})");
  auto api = make();
  auto status = api.update_view("V1", "{}");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().detail, "views.update: unknown_error");
}

TEST_F(WebApiTest, UnreadableAnswerIsAnErrorAndNotRetried) {
  http_.push(200, "<html>oops</html>");
  auto api = make();
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::internal);
  EXPECT_EQ(ts.error().detail, "chat.postMessage: HTTP 200 with a body that is not a JSON object");
  EXPECT_EQ(http_.requests().size(), 1u);
}

// ---- 429 ----

TEST_F(WebApiTest, RateLimitedWaitsRetryAfterThenSucceeds) {
  http_.push(429, web_fixture("apps.connections.open_ratelimited"), {{"Retry-After", "7"}});
  http_.push(200, web_fixture("chat.postMessage_ok"));
  auto api = make();
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_THAT(sleeps(), ElementsAre(7000ms));
  ASSERT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(http_.requests()[0].body, http_.requests()[1].body);
}

TEST_F(WebApiTest, RetryAfterIsTakenAsGivenAndDefaultsToOneSecond) {
  http_.push(429, "", {{"retry-after", "45"}});  // not capped at 30 s
  http_.push(429, "", {});
  http_.push(429, "", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}});  // a date: unread
  http_.push(200, web_fixture("chat.update_ok"));
  slack::WebApiSettings settings;
  settings.max_attempts = 4;
  auto api = make(settings);
  ASSERT_TRUE(api.update_message("C1", "1.2", R"({"text":"x"})"));
  EXPECT_THAT(sleeps(), ElementsAre(45000ms, 1000ms, 1000ms));
}

TEST_F(WebApiTest, ALaterCallOfARateLimitedMethodWaitsOutItsRetryAfter) {
  http_.push(429, "", {{"Retry-After", "45"}});
  slack::WebApiSettings settings;
  settings.max_attempts = 1;
  auto api = make(settings);
  auto first = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::unavailable);
  EXPECT_TRUE(sleeps().empty()) << "no attempt left to wait for";

  // 10 s later: other methods go at once, the same method waits the 35 s left.
  clock_.advance(10s);
  http_.push(200, web_fixture("chat.postEphemeral_ok"));
  http_.push(200, web_fixture("users.info_ok"));
  http_.push(200, R"({"ok":true})");
  EXPECT_TRUE(api.post_ephemeral("C1", "U1", R"({"text":"x"})"));
  EXPECT_TRUE(api.user_info("U1"));
  EXPECT_TRUE(api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})"));
  EXPECT_TRUE(sleeps().empty());
  http_.push(200, web_fixture("chat.postMessage_ok"));
  EXPECT_TRUE(api.post_message("C1", R"({"text":"x"})"));
  EXPECT_THAT(sleeps(), ElementsAre(35000ms));
  EXPECT_EQ(http_.requests().size(), 5u);

  // Once the wait has passed, nothing is held back.
  http_.push(200, web_fixture("chat.postMessage_ok"));
  EXPECT_TRUE(api.post_message("C1", R"({"text":"x"})"));
  EXPECT_THAT(sleeps(), ElementsAre(35000ms));
}

TEST_F(WebApiTest, AWaitBeyondTheCeilingIsRefusedAtOnce) {
  http_.push(429, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "3600"}});
  auto api = make();  // max_rate_limit_wait 300 s
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::unavailable);
  EXPECT_EQ(ts.error().user_message,
            "Slack asked infra-bot to wait 3600 s before posting again. Please try again later.");
  EXPECT_EQ(ts.error().detail,
            "chat.postMessage: rate-limited for 3600 s more (Retry-After), over the 300 s a call "
            "may wait");
  EXPECT_EQ(http_.requests().size(), 1u) << "not sent again";
  EXPECT_TRUE(sleeps().empty()) << "and no sleeping";

  // A later call of the method is refused without being sent; another method is not held.
  clock_.advance(600s);
  auto again = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().user_message, HasSubstr("wait 3000 s before posting again"));
  http_.push(200, web_fixture("views.update_ok"));
  EXPECT_TRUE(api.update_view("V1", "{}"));
  EXPECT_EQ(http_.requests().size(), 2u);

  // Within the ceiling again: the call waits what is left.
  clock_.advance(3000s - 200s);
  http_.push(200, web_fixture("chat.postMessage_ok"));
  EXPECT_TRUE(api.post_message("C1", R"({"text":"x"})"));
  EXPECT_THAT(sleeps(), ElementsAre(200000ms));
}

TEST_F(WebApiTest, TheCeilingIsASetting) {
  http_.push(429, "", {{"Retry-After", "45"}});
  slack::WebApiSettings settings;
  settings.max_rate_limit_wait = 30s;
  auto api = make(settings);
  auto view = api.open_view("t", R"({"type":"modal"})");
  ASSERT_FALSE(view);
  EXPECT_EQ(view.error().user_message,
            "Slack asked infra-bot to wait 45 s before opening or updating dialogs again. Please "
            "try again later.");
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(WebApiTest, OkFalseRatelimitedOn200AlsoWaits) {
  http_.push(200, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "2"}});
  http_.push(200, web_fixture("users.info_ok"));
  auto api = make();
  ASSERT_TRUE(api.user_info("U1"));
  EXPECT_THAT(sleeps(), ElementsAre(2000ms));
}

TEST_F(WebApiTest, RateLimitedEveryTimeGivesUpAfterMaxAttempts) {
  for (int i = 0; i < 3; ++i) http_.push(429, "", {{"Retry-After", "1"}});
  auto api = make();
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::unavailable);
  EXPECT_THAT(ts.error().detail, HasSubstr("chat.postMessage: ratelimited"));
  EXPECT_EQ(http_.requests().size(), 3u);
  EXPECT_THAT(sleeps(), ElementsAre(1000ms, 1000ms));
}

// ---- 5xx ----

TEST_F(WebApiTest, ServerErrorsAreRetriedWithBackoff) {
  http_.push(500, R"({"ok":false,"error":"internal_error"})");
  http_.push(503, "Service Unavailable");
  http_.push(200, web_fixture("chat.postMessage_ok"));
  slack::WebApiSettings settings;
  settings.backoff_base = 100ms;
  auto api = make(settings);
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_EQ(http_.requests().size(), 3u);
  // Full jitter, [0, base * 2^n], here with unit 1: the whole of it.
  EXPECT_THAT(sleeps(), ElementsAre(100ms, 200ms));
}

TEST_F(WebApiTest, ServerErrorsGiveUpAfterMaxAttempts) {
  for (int i = 0; i < 5; ++i) http_.push(502, "");
  slack::WebApiSettings settings;
  settings.max_attempts = 4;
  auto api = make(settings);
  auto status = api.update_view("V1", "{}");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::unavailable);
  EXPECT_EQ(status.error().detail, "views.update: HTTP 502");
  EXPECT_EQ(http_.requests().size(), 4u);
  EXPECT_EQ(sleeps().size(), 3u);
}

TEST_F(WebApiTest, GatewayTimeoutIsNotRetriedForAPost) {
  http_.push(504, "");
  auto api = make();
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::indeterminate);
  EXPECT_EQ(ts.error().detail, "chat.postMessage: HTTP 504");
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(WebApiTest, GatewayTimeoutIsRetriedForAnUpdate) {
  http_.push(504, "");
  http_.push(200, web_fixture("chat.update_ok"));
  auto api = make();
  EXPECT_TRUE(api.update_message("C1", "1.2", R"({"text":"x"})"));
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(WebApiTest, MaxAttemptsOneNeverRetries) {
  http_.push(503, "");
  slack::WebApiSettings settings;
  settings.max_attempts = 1;
  auto api = make(settings);
  EXPECT_FALSE(api.user_info("U1"));
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_TRUE(sleeps().empty());
}

// ---- transport failures ----

TEST_F(WebApiTest, UnavailableTransportIsRetriedForEveryMethod) {
  http_.push(transport(ErrorCode::unavailable));
  http_.push(200, web_fixture("chat.postMessage_ok"));
  http_.push(transport(ErrorCode::unavailable));
  http_.push(200, R"({"ok":true})");
  auto api = make();
  EXPECT_TRUE(api.post_message("C1", R"({"text":"x"})"));
  EXPECT_TRUE(api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})"));
  EXPECT_EQ(http_.requests().size(), 4u);
  EXPECT_EQ(sleeps().size(), 2u);
}

TEST_F(WebApiTest, IndeterminateTransportIsNotRetriedWhenADuplicateWouldShow) {
  auto api = make();
  http_.push(transport(ErrorCode::indeterminate));
  auto ts = api.post_message("C1", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::indeterminate);
  EXPECT_EQ(ts.error().detail, "chat.postMessage: connection to https://slack.test:443 failed");
  EXPECT_THAT(ts.error().user_message, HasSubstr("may or may not"));

  http_.push(transport(ErrorCode::indeterminate));
  EXPECT_FALSE(api.post_ephemeral("C1", "U1", R"({"text":"x"})"));
  http_.push(transport(ErrorCode::indeterminate));
  EXPECT_FALSE(api.open_view("t", R"({"type":"modal"})"));
  http_.push(transport(ErrorCode::indeterminate));
  EXPECT_FALSE(api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})"));

  EXPECT_EQ(http_.requests().size(), 4u);
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(WebApiTest, IndeterminateTransportIsRetriedForIdempotentCalls) {
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, web_fixture("users.info_ok"));
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, web_fixture("views.update_ok"));
  http_.push(transport(ErrorCode::indeterminate));
  http_.push(200, web_fixture("chat.update_ok"));
  auto api = make();
  EXPECT_TRUE(api.user_info("U1"));
  EXPECT_TRUE(api.update_view("V1", "{}"));
  EXPECT_TRUE(api.update_message("C1", "1.2", "{}"));
  EXPECT_EQ(http_.requests().size(), 6u);
}

TEST_F(WebApiTest, OtherTransportErrorsAreNotRetried) {
  http_.push(
      core::make_error(ErrorCode::config, "TLS failed", "TLS with https://slack.test:443 failed"));
  auto api = make();
  auto status = api.update_view("V1", "{}");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::config);
  EXPECT_EQ(status.error().detail, "views.update: TLS with https://slack.test:443 failed");
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(WebApiTest, RetriesAreLoggedWithoutSecrets) {
  http_.push(503, "");
  http_.push(200, R"({"ok":true})");
  auto api = make();
  ASSERT_TRUE(api.respond("https://hooks.slack.com/commands/T1/2/3", R"({"text":"x"})"));
  const auto lines = sink_->lines();
  ASSERT_FALSE(lines.empty());
  bool saw_retry = false;
  for (const auto& line : lines)
    saw_retry = saw_retry || line.find("response_url attempt 1/3") != std::string::npos;
  EXPECT_TRUE(saw_retry);
  // TearDown checks that no line holds the token or the URL.
}

// ---- against the fake Slack, over HTTPS ----

class WebApiFakeSlackTest : public ::testing::Test {
 protected:
  WebApiFakeSlackTest()
      : sink_(std::make_shared<test::RecordingSink>()),
        logger_(std::make_shared<spdlog::logger>("web_api_fake", sink_)) {
    logger_->set_level(spdlog::level::trace);
  }

  void SetUp() override {
    ASSERT_TRUE(slack_.started()) << slack_.describe_last(5);
    http_ = core::http::make_curl_client({slack_.ca_file()});
  }

  void TearDown() override {
    for (const auto& line : sink_->lines()) {
      EXPECT_THAT(line, Not(HasSubstr(slack_.bot_token()))) << line;
      EXPECT_THAT(line, Not(HasSubstr("/response/"))) << line;
    }
  }

  slack::WebApiSettings settings(std::string token = {}) {
    slack::WebApiSettings s;
    s.api_url = slack_.api_url();
    s.bot_token = token.empty() ? slack_.bot_token() : token;
    s.backoff_base = 10ms;
    return s;
  }

  // The fake's record of the last call of `method`.
  rapidjson::Document last_api(std::string_view method) {
    auto events = slack_.events("api");
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (test::FakeSlack::str(*it, "method") == method) return std::move(*it);
    }
    ADD_FAILURE() << "no api event for " << method << "; " << slack_.describe_last(8);
    return {};
  }

  // Calls of `method` as the fake counted them (its state, read synchronously:
  // the event lines may still be on their way through the pipe).
  std::int64_t fake_calls(std::string_view method) {
    auto state = slack_.state();
    const auto* calls = state.IsObject() ? core::json::get_object(state, "api_calls") : nullptr;
    return calls ? core::json::get_int(*calls, method).value_or(0) : -1;
  }

  static std::string body_of(const rapidjson::Value& event) {
    const auto* body = event.IsObject() ? core::json::get_object(event, "body") : nullptr;
    return body ? core::json::canonical(*body) : "<no body object>";
  }

  // A client whose waits are recorded and move a manual clock instead of sleeping.
  std::unique_ptr<slack::HttpWebApi> manual_time_api(slack::WebApiSettings s) {
    return std::make_unique<slack::HttpWebApi>(std::move(s), *http_, logger_, time_.sleep(),
                                               time_.clock, time_.random);
  }
  std::vector<milliseconds> sleeps() { return time_.sleeps(); }

  test::FakeSlack slack_;
  std::unique_ptr<core::http::Client> http_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  ManualTime time_;
  core::ManualClock& clock_ = time_.clock;
};

TEST_F(WebApiFakeSlackTest, EveryCallReachesTheFakeWithTheBotToken) {
  slack::HttpWebApi api(settings(), *http_, logger_);

  auto ts = api.post_message("C0123ABCD", R"({"text":"posted"})", "1732530000.000100");
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_FALSE(ts->empty());
  ASSERT_TRUE(api.post_ephemeral("C0123ABCD", "U0456EFGH", R"({"text":"only you"})"));
  ASSERT_TRUE(api.update_message("C0123ABCD", *ts, R"({"text":"updated"})"));
  auto view_id =
      api.open_view("1007.2.fresh", R"({"type":"modal","callback_id":"infra_teardown_confirm",
      "title":{"type":"plain_text","text":"Confirm Teardown"},"blocks":[]})");
  ASSERT_TRUE(view_id) << view_id.error().detail;
  EXPECT_FALSE(view_id->empty());
  ASSERT_TRUE(api.update_view(
      *view_id, R"({"type":"modal","title":{"type":"plain_text","text":"Done"},"blocks":[]})"));
  auto user = api.user_info("U0456EFGH");
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_EQ(user->id, "U0456EFGH");
  EXPECT_EQ(user->name, "alice");
  EXPECT_EQ(user->real_name, "Alice Example");

  for (const char* method : {"chat.postMessage", "chat.postEphemeral", "chat.update", "views.open",
                             "views.update", "users.info"}) {
    ASSERT_TRUE(slack_.wait_for_api(method)) << method;
    auto event = last_api(method);
    EXPECT_EQ(test::FakeSlack::str(event, "auth"), "Bearer " + slack_.bot_token()) << method;
    EXPECT_EQ(test::FakeSlack::num(event, "status"), 200) << method;
    EXPECT_EQ(test::FakeSlack::str(event, "error"), "") << method;
    EXPECT_EQ(fake_calls(method), 1) << method;
  }
  EXPECT_EQ(test::FakeSlack::str(last_api("chat.postMessage"), "content_type"),
            "application/json; charset=utf-8");
  EXPECT_EQ(
      body_of(last_api("chat.postMessage")),
      canonical(R"({"text":"posted","channel":"C0123ABCD","thread_ts":"1732530000.000100"})"));
  EXPECT_EQ(body_of(last_api("chat.postEphemeral")),
            canonical(R"({"text":"only you","channel":"C0123ABCD","user":"U0456EFGH"})"));
  EXPECT_EQ(body_of(last_api("chat.update")),
            canonical(R"({"text":"updated","channel":"C0123ABCD","ts":")" + *ts + R"("})"));
  EXPECT_EQ(test::FakeSlack::str(last_api("users.info"), "content_type"),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(body_of(last_api("users.info")), canonical(R"({"user":"U0456EFGH"})"));
  EXPECT_EQ(
      body_of(last_api("views.update")),
      canonical(
          R"({"view_id":")" + *view_id +
          R"(","view":{"type":"modal","title":{"type":"plain_text","text":"Done"},"blocks":[]}})"));
}

TEST_F(WebApiFakeSlackTest, RespondIsRecordedWithoutAuthorizationAndExpiresAfterFiveUses) {
  slack::HttpWebApi api(settings(), *http_, logger_);
  const std::string url = slack_.response_url("cmd-1");
  for (int use = 1; use <= 5; ++use) {
    auto status = api.respond(
        url, R"({"response_type":"ephemeral","text":"use )" + std::to_string(use) + R"("})");
    ASSERT_TRUE(status) << use << ": " << status.error().detail;
  }
  auto sixth = api.respond(url, R"({"text":"too many"})");
  ASSERT_FALSE(sixth);
  EXPECT_EQ(sixth.error().code, ErrorCode::conflict);
  EXPECT_EQ(sixth.error().detail, "response_url: expired_url");

  ASSERT_TRUE(slack_.wait_for("response_url", test::FakeSlack::kind("response_url"), 6));
  auto events = slack_.events("response_url");
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(test::FakeSlack::str(events[0], "id"), "cmd-1");
  EXPECT_TRUE(events[0]["auth"].IsNull());
  EXPECT_EQ(body_of(events[0]), canonical(R"({"response_type":"ephemeral","text":"use 1"})"));
  EXPECT_EQ(test::FakeSlack::num(events[5], "status"), 404);
}

TEST_F(WebApiFakeSlackTest, RateLimitedWaitsRetryAfterThenSucceeds) {
  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 1, 429, R"({"Retry-After":"1"})"));
  slack::HttpWebApi api(settings(), *http_, logger_);  // the real sleep
  const auto start = std::chrono::steady_clock::now();
  auto ts = api.post_message("C0123ABCD", R"({"text":"after the wait"})");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_GE(elapsed, 1s);
  EXPECT_LT(elapsed, 10s);
  ASSERT_TRUE(slack_.wait_for_api("chat.postMessage", 2));
  auto calls = slack_.events("api");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(test::FakeSlack::num(calls[0], "status"), 429);
  EXPECT_EQ(test::FakeSlack::num(calls[1], "status"), 200);
  EXPECT_GE(calls[1]["t"].GetDouble() - calls[0]["t"].GetDouble(), 0.99);
}

TEST_F(WebApiFakeSlackTest, RetryAfter45IsHonouredAs45) {
  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 1, 429, R"({"Retry-After":"45"})"));
  auto api = manual_time_api(settings());
  auto ts = api->post_message("C0123ABCD", R"({"text":"after 45 s"})");
  ASSERT_TRUE(ts) << ts.error().detail;
  EXPECT_THAT(sleeps(), ElementsAre(45000ms)) << "as given, not capped at 30 s";
  EXPECT_EQ(fake_calls("chat.postMessage"), 2);
  ASSERT_TRUE(slack_.wait_for_api("chat.postMessage", 2));
  auto calls = slack_.events("api");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(test::FakeSlack::num(calls[0], "status"), 429);
  EXPECT_EQ(test::FakeSlack::num(calls[1], "status"), 200);
}

TEST_F(WebApiFakeSlackTest, ASecondMethodIsNotDelayedByTheFirstsRateLimit) {
  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 1, 429, R"({"Retry-After":"45"})"));
  auto s = settings();
  s.max_attempts = 1;  // the 429 ends the first call
  auto api = manual_time_api(s);
  auto first = api->post_message("C0123ABCD", R"({"text":"limited"})");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::unavailable);

  // views.update and chat.postEphemeral go at once.
  EXPECT_TRUE(api->update_view("V1", R"({"type":"modal","blocks":[]})"));
  EXPECT_TRUE(api->post_ephemeral("C0123ABCD", "U0456EFGH", R"({"text":"only you"})"));
  EXPECT_TRUE(sleeps().empty());
  EXPECT_EQ(fake_calls("views.update"), 1);
  EXPECT_EQ(fake_calls("chat.postEphemeral"), 1);

  // chat.postMessage itself waits out the 45 s before it is sent again.
  clock_.advance(5s);
  auto second = api->post_message("C0123ABCD", R"({"text":"later"})");
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_THAT(sleeps(), ElementsAre(40000ms));
  EXPECT_EQ(fake_calls("chat.postMessage"), 2);
}

TEST_F(WebApiFakeSlackTest, ARetryAfterBeyondTheCeilingIsRefusedWithoutSleeping) {
  ASSERT_TRUE(slack_.fail_next("chat.postMessage", 1, 429, R"({"Retry-After":"3600"})",
                               R"({"ok":false,"error":"ratelimited"})"));
  auto api = manual_time_api(settings());  // ceiling 300 s
  auto ts = api->post_message("C0123ABCD", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::unavailable);
  EXPECT_EQ(ts.error().user_message,
            "Slack asked infra-bot to wait 3600 s before posting again. Please try again later.");
  EXPECT_TRUE(sleeps().empty());
  EXPECT_EQ(fake_calls("chat.postMessage"), 1);

  // The next post is refused before it reaches Slack; other methods still work.
  auto again = api->post_message("C0123ABCD", R"({"text":"y"})");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::unavailable);
  EXPECT_EQ(fake_calls("chat.postMessage"), 1);
  auto user = api->user_info("U0456EFGH");
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(WebApiFakeSlackTest, ServerErrorsAreRetried) {
  ASSERT_TRUE(slack_.fail_next("views.update", 2, 500));
  slack::HttpWebApi api(settings(), *http_, logger_);
  EXPECT_TRUE(api.update_view("V1", R"({"type":"modal","blocks":[]})"));
  EXPECT_EQ(fake_calls("views.update"), 3);
}

TEST_F(WebApiFakeSlackTest, InvalidAuthIsSurfaced) {
  slack::HttpWebApi api(settings("xoxb-not-the-right-one"), *http_, logger_);
  auto ts = api.post_message("C0123ABCD", R"({"text":"x"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::config);
  EXPECT_EQ(ts.error().detail, "chat.postMessage: invalid_auth");
  EXPECT_EQ(fake_calls("chat.postMessage"), 1);
  for (const auto& line : sink_->lines()) {
    EXPECT_THAT(line, Not(HasSubstr("xoxb-not-the-right-one"))) << line;
  }
}

TEST_F(WebApiFakeSlackTest, HangUpAfterAPostIsNotRetried) {
  ASSERT_TRUE(slack_.hang_up_next("chat.postMessage"));
  slack::HttpWebApi api(settings(), *http_, logger_);
  auto ts = api.post_message("C0123ABCD", R"({"text":"maybe posted"})");
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code, ErrorCode::indeterminate) << ts.error().detail;
  EXPECT_EQ(fake_calls("chat.postMessage"), 1);
}

TEST_F(WebApiFakeSlackTest, HangUpOnAReadIsRetried) {
  ASSERT_TRUE(slack_.hang_up_next("users.info"));
  slack::HttpWebApi api(settings(), *http_, logger_);
  auto user = api.user_info("U0456EFGH");
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_EQ(user->name, "alice");
  EXPECT_EQ(fake_calls("users.info"), 2);
}

}  // namespace
