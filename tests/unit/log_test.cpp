// Secrets never reach a log line, in either format, whatever the message.
#include "core/log.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// ---- request ids --------------------------------------------------------------------------------

namespace {

TEST(RequestScope, JsonLinesCarryTheThreadsRequestIdAsAField) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  logger->info("before");
  {
    core::RequestScope scope("5f0c2a3e-1b2c-4d5e-8f90-0123456789ab");
    EXPECT_EQ(core::RequestScope::current(), "5f0c2a3e-1b2c-4d5e-8f90-0123456789ab");
    logger->info("inside");
  }
  logger->info("after");
  EXPECT_EQ(core::RequestScope::current(), "");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 3u);
  auto before = core::json::parse(lines[0]);
  auto inside = core::json::parse(lines[1]);
  auto after = core::json::parse(lines[2]);
  ASSERT_TRUE(before && inside && after) << lines[0] << lines[1] << lines[2];
  EXPECT_FALSE(before->HasMember("request_id"));
  EXPECT_EQ(core::json::get_string(*inside, "request_id"), "5f0c2a3e-1b2c-4d5e-8f90-0123456789ab");
  EXPECT_EQ(core::json::get_string(*inside, "msg"), "inside");
  EXPECT_FALSE(after->HasMember("request_id"));
  // Its place: after "logger", before the message.
  EXPECT_THAT(
      lines[1],
      HasSubstr(
          R"("logger":"infra-bot","request_id":"5f0c2a3e-1b2c-4d5e-8f90-0123456789ab","msg":"inside"})"));
}

TEST(RequestScope, NestedScopesRestoreTheOuterId) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::text, core::LogLevel::info, {sink}, {});
  {
    core::RequestScope outer("outer-id");
    {
      // Longer than the scope's inline buffer: copied to the heap, still exact.
      const std::string long_id(100, 'x');
      core::RequestScope inner(long_id);
      EXPECT_EQ(core::RequestScope::current(), long_id);
      logger->info("inner");
    }
    EXPECT_EQ(core::RequestScope::current(), "outer-id");
    logger->info("outer");
  }
  logger->info("none");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("infra-bot: inner request_id=" + std::string(100, 'x') + "\n"));
  EXPECT_THAT(lines[1], HasSubstr("infra-bot: outer request_id=outer-id\n"));
  EXPECT_THAT(lines[2], HasSubstr("infra-bot: none\n"));
  EXPECT_THAT(lines[2], Not(HasSubstr("request_id")));
}

TEST(RequestScope, ScopesArePerThread) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  core::RequestScope scope("main-thread");
  std::thread other([&] {
    EXPECT_EQ(core::RequestScope::current(), "");
    logger->info("other thread");
  });
  other.join();
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], Not(HasSubstr("request_id")));
}

TEST(RequestScope, AuditRecordsKeepTheirOwnRequestIdAndOthersGetTheScopes) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink}, {},
                                  core::Payload::json_object);
  core::RequestScope scope("from-scope");
  logger->info(R"({"event":"command","request_id":"from-record"})");
  logger->info(R"({"event":"refused"})");
  logger->info("plain \"text\"");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) {
    auto document = core::json::parse(line);
    ASSERT_TRUE(document) << line;
  }
  // Once, the record's own.
  EXPECT_EQ(lines[0].find("request_id"), lines[0].rfind("request_id")) << lines[0];
  EXPECT_EQ(core::json::get_string(*core::json::parse(lines[0]), "request_id"), "from-record");
  EXPECT_EQ(core::json::get_string(*core::json::parse(lines[1]), "request_id"), "from-scope");
  EXPECT_EQ(core::json::get_string(*core::json::parse(lines[1]), "event"), "refused");
  EXPECT_EQ(core::json::get_string(*core::json::parse(lines[2]), "request_id"), "from-scope");
  EXPECT_EQ(core::json::get_string(*core::json::parse(lines[2]), "msg"), "plain \"text\"");
}

TEST(Logger, JsonStringsAreEscapedExactlyAsJsonQuoteDoes) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("in \"quotes\"", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  std::string every_byte;
  for (int c = 1; c < 0x80; ++c) every_byte += static_cast<char>(c);
  every_byte += "\xC3\xA9 \xE2\x9C\x93";  // é ✓
  logger->info(every_byte);
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(R"("logger":"in \"quotes\"","msg":)" +
                                  core::json::quote(every_byte) + "}\n"));
  auto document = core::json::parse(lines[0]);
  ASSERT_TRUE(document) << lines[0];
  EXPECT_EQ(core::json::get_string(*document, "msg"), every_byte);
}

TEST(RequestScope, IdsAreJsonEscaped) {
  auto sink = std::make_shared<test::RecordingSink>();
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  core::RequestScope scope("a\"b\\c");
  logger->info("x");
  auto document = core::json::parse(sink->lines().at(0));
  ASSERT_TRUE(document) << sink->lines().at(0);
  EXPECT_EQ(core::json::get_string(*document, "request_id"), "a\"b\\c");
}

// ---- BatchingSink -------------------------------------------------------------------------------

struct Batches {
  std::mutex mutex;
  std::vector<std::string> writes;
  core::BatchingSink::Writer writer() {
    return [this](std::string_view batch) {
      std::lock_guard lock(mutex);
      writes.emplace_back(batch);
    };
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return writes;
  }
};

TEST(BatchingSink, WritesEveryBufferedLineInOneCallPerFlush) {
  Batches batches;
  auto sink = std::make_shared<core::BatchingSink>(batches.writer());
  int first_pending = 0;
  sink->on_first_pending([&] { ++first_pending; });
  auto logger = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink}, {},
                                  core::Payload::json_object);
  logger->info(R"({"event":"one"})");
  logger->info(R"({"event":"two"})");
  logger->info(R"({"event":"three"})");
  EXPECT_TRUE(batches.get().empty()) << "nothing written before the flush";
  EXPECT_EQ(first_pending, 1) << "one callback per batch";
  EXPECT_GT(sink->pending_bytes(), 0u);
  sink->flush();
  auto writes = batches.get();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(std::count(writes[0].begin(), writes[0].end(), '\n'), 3);
  EXPECT_LT(writes[0].find(R"("event":"one")"), writes[0].find(R"("event":"two")"));
  EXPECT_LT(writes[0].find(R"("event":"two")"), writes[0].find(R"("event":"three")"));
  EXPECT_EQ(sink->pending_bytes(), 0u);
  // An empty flush writes nothing; the next line starts a new batch.
  sink->flush();
  EXPECT_EQ(batches.get().size(), 1u);
  logger->info(R"({"event":"four"})");
  EXPECT_EQ(first_pending, 2);
  logger->flush();  // the logger's flush reaches the sink
  writes = batches.get();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_THAT(writes[1], HasSubstr(R"("event":"four")"));
}

TEST(BatchingSink, OneFlushPostedPerLoopTurnAndTheSinkStillDies) {
  // The pattern of the header: the callback posts one flush per batch to the loop.
  Batches batches;
  std::vector<std::function<void()>> loop;  // tasks posted for the next turn
  std::weak_ptr<core::BatchingSink> watch;
  {
    auto sink = std::make_shared<core::BatchingSink>(batches.writer());
    watch = sink;
    sink->on_first_pending([&loop, weak = std::weak_ptr(sink)] {
      loop.emplace_back([weak] {
        if (auto s = weak.lock()) s->flush();
      });
    });
    auto audit = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink}, {},
                                   core::Payload::json_object);
    for (int turn = 0; turn < 3; ++turn) {
      audit->info(R"({"event":"a"})");
      audit->info(R"({"event":"b"})");
      ASSERT_EQ(loop.size(), 1u) << "one flush posted per batch";
      auto tasks = std::move(loop);
      loop.clear();
      for (auto& task : tasks) task();
    }
    audit->info(R"({"event":"left over"})");
  }  // logger and sink go; the posted flush never ran
  EXPECT_TRUE(watch.expired()) << "the callback must not keep the sink alive";
  const auto writes = batches.get();
  ASSERT_EQ(writes.size(), 4u);
  for (int turn = 0; turn < 3; ++turn) {
    EXPECT_EQ(std::count(writes[turn].begin(), writes[turn].end(), '\n'), 2);
  }
  EXPECT_THAT(writes[3], HasSubstr("left over"));
  for (auto& task : loop) task();  // a flush posted for a sink that is gone: nothing
}

TEST(BatchingSink, WarningsAreWrittenAtOnceAfterWhatCameBefore) {
  Batches batches;
  auto sink = std::make_shared<core::BatchingSink>(batches.writer());
  auto logger =
      core::make_logger("infra-bot", core::LogFormat::text, core::LogLevel::info, {sink}, {});
  logger->info("buffered");
  EXPECT_TRUE(batches.get().empty());
  logger->warn("urgent");  // make_logger flushes on warn and above
  const auto writes = batches.get();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_LT(writes[0].find("buffered"), writes[0].find("urgent"));
}

TEST(BatchingSink, LinesAreNotLostAtShutdown) {
  Batches batches;
  {
    auto sink = std::make_shared<core::BatchingSink>(batches.writer());
    auto logger =
        core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink}, {});
    logger->info("last words");
    EXPECT_TRUE(batches.get().empty());
  }  // the logger and the sink go: what was buffered is written
  const auto writes = batches.get();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_THAT(writes[0], HasSubstr("last words"));
}

TEST(BatchingSink, ABufferPastItsBoundIsWrittenWithoutAFlush) {
  Batches batches;
  auto sink = std::make_shared<core::BatchingSink>(batches.writer(), 200);
  auto logger = core::make_logger("audit", core::LogFormat::text, core::LogLevel::info, {sink}, {});
  for (int i = 0; i < 10; ++i) logger->info("line {} {}", i, std::string(40, '.'));
  const auto writes = batches.get();
  ASSERT_FALSE(writes.empty());
  for (const auto& write : writes) EXPECT_EQ(write.back(), '\n') << "whole lines only";
  sink->flush();
  const auto everything = batches.get();
  std::string joined;
  for (const auto& write : everything) joined += write;
  EXPECT_EQ(std::count(joined.begin(), joined.end(), '\n'), 10);
  EXPECT_LT(joined.find("line 0 "), joined.find("line 9 "));
}

TEST(BatchingSink, LinesFromManyThreadsAreAllWrittenWhole) {
  Batches batches;
  auto sink = std::make_shared<core::BatchingSink>(batches.writer(), 4096);
  auto logger = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info, {sink}, {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        logger->info("thread {} line {}", t, i);
        if (i % 50 == 0) sink->flush();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  sink->flush();
  std::string joined;
  for (const auto& write : batches.get()) joined += write;
  std::size_t lines = 0;
  std::size_t start = 0;
  for (std::size_t end = joined.find('\n'); end != std::string::npos;
       start = end + 1, end = joined.find('\n', start)) {
    ++lines;
    EXPECT_TRUE(core::json::parse(joined.substr(start, end - start)))
        << joined.substr(start, end - start);
  }
  EXPECT_EQ(lines, 2000u);
}

}  // namespace
