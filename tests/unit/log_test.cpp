// Secrets never reach a log line, in either format, whatever the message.
#include "core/log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "core/redactor.hpp"
#include "recording_sink.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

constexpr const char* kBotToken = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx";
constexpr const char* kAppToken = "xapp-1-A0123ABC-1234567890-abcdef0123456789abcdef";
constexpr const char* kUserToken = "xoxp-1111-2222-3333-abcdef";
constexpr const char* kAccessKey = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

TEST(Redactor, HidesSlackTokensAndAwsKeys) {
  core::Redactor redactor({kSecretKey});
  const auto text = fmt::format("bot={} app={} user={} key={} secret={}", kBotToken, kAppToken,
                                kUserToken, kAccessKey, kSecretKey);
  const auto redacted = redactor.redact(text);
  EXPECT_EQ(redacted,
            "bot=xoxb-[REDACTED] app=xapp-[REDACTED] user=xoxp-[REDACTED] key=AKIA[REDACTED] "
            "secret=[REDACTED]");
  EXPECT_TRUE(redactor.contains_secret(text));
  EXPECT_FALSE(redactor.contains_secret(redacted));
}

TEST(Redactor, DashlessTokenFamiliesAreHiddenWhole) {
  core::Redactor redactor;
  EXPECT_EQ(redactor.redact("token xoxeABCDEFGH1234 rest-of-line"),
            "token xoxe[REDACTED] rest-of-line");
  EXPECT_EQ(redactor.redact("xoxe.xoxp-1-ABCDEFGHIJ"), "xoxe[REDACTED]");
}

TEST(Redactor, LeavesOrdinaryTextAlone) {
  core::Redactor redactor({"short"});  // under 8 bytes: ignored, it would blank out words
  const std::string text =
      "stop dev by U012ABC; the word xoxb- alone, ASIA travel, AKIA123 and short words stay";
  EXPECT_EQ(redactor.redact(text), text);
}

TEST(Redactor, HidesASecretThatContainsAnother) {
  core::Redactor redactor({"abcdefgh", "abcdefgh-longer-secret"});
  EXPECT_EQ(redactor.redact("x abcdefgh-longer-secret y abcdefgh"), "x [REDACTED] y [REDACTED]");
}

TEST(Redactor, SessionTokenStyleSecretsWithSlashesAndPlus) {
  const std::string session = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc=";
  core::Redactor redactor({session});
  EXPECT_EQ(redactor.redact("token=" + session + "&x=1"), "token=[REDACTED]&x=1");
}

class LoggerTest : public testing::TestWithParam<core::LogFormat> {};

TEST_P(LoggerTest, NoSecretReachesTheSink) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger = core::make_logger("infra-bot", GetParam(), core::LogLevel::debug, {sink},
                                  core::Redactor({kSecretKey}));
  logger->info("connecting with {}", kAppToken);
  logger->warn("headers: Authorization: Bearer {}", kBotToken);
  logger->error("aws {} {}", kAccessKey, kSecretKey);
  logger->debug("user token {}", kUserToken);
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) {
    for (const char* secret : {kBotToken, kAppToken, kUserToken, kAccessKey, kSecretKey}) {
      EXPECT_THAT(line, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(line, HasSubstr("[REDACTED]"));
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, LoggerTest,
                         testing::Values(core::LogFormat::json, core::LogFormat::text),
                         [](const auto& param_info) {
                           return param_info.param == core::LogFormat::json ? "json" : "text";
                         });

TEST(Logger, JsonLinesAreValidJsonWithEscapedMessages) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  logger->info("quote \" backslash \\ newline \n tab \t unicode é");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].back(), '\n');
  EXPECT_EQ(lines[0].find('\n'), lines[0].size() - 1) << "one line per record";
  auto document = core::json::parse(lines[0]);
  ASSERT_TRUE(document) << document.error().detail;
  EXPECT_EQ(core::json::get_string(*document, "level"), "info");
  EXPECT_EQ(core::json::get_string(*document, "logger"), "infra-bot");
  EXPECT_EQ(core::json::get_string(*document, "msg"),
            "quote \" backslash \\ newline \n tab \t unicode é");
  const auto time = core::json::get_string(*document, "time");
  ASSERT_TRUE(time);
  EXPECT_EQ(time->size(), 24u) << *time;  // 2026-11-25T10:00:00.123Z
  EXPECT_EQ(time->back(), 'Z');
}

TEST(Logger, LevelFilters) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::text, core::LogLevel::warn, {sink}, {});
  logger->info("hidden");
  logger->warn("shown");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("warning infra-bot: shown"));
}

}  // namespace

namespace {

TEST(Logger, JsonObjectPayloadFieldsJoinTheLineAndAreRedacted) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink},
                                  core::Redactor({kSecretKey}), core::Payload::json_object);
  logger->info(R"({"event":"command","user_id":"U1","command":"stop dev )" +
               std::string(kSecretKey) + R"(","duration_ms":41})");
  logger->info("not an object");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 2u);
  auto document = core::json::parse(lines[0]);
  ASSERT_TRUE(document) << lines[0];
  EXPECT_EQ(core::json::get_string(*document, "logger"), "audit");
  EXPECT_EQ(core::json::get_string(*document, "event"), "command");
  EXPECT_EQ(core::json::get_string(*document, "user_id"), "U1");
  EXPECT_FALSE(document->HasMember("msg"));
  EXPECT_EQ((*document)["duration_ms"].GetInt(), 41);
  EXPECT_THAT(lines[0], Not(HasSubstr(kSecretKey)));
  // Anything else is an ordinary message.
  auto plain = core::json::parse(lines[1]);
  ASSERT_TRUE(plain) << lines[1];
  EXPECT_EQ(core::json::get_string(*plain, "msg"), "not an object");
}

TEST(Logger, JsonObjectPayloadIsPrintedAsIsInTextFormat) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger = core::make_logger("audit", core::LogFormat::text, core::LogLevel::info, {sink}, {},
                                  core::Payload::json_object);
  logger->info(R"({"event":"command"})");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(R"(audit: {"event":"command"})"));
}

}  // namespace
