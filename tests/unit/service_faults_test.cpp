// `infra-bot run` end to end (issue 6), when things go wrong or take long: a busy environment,
// Lambda function errors, throttling, timeouts and long jobs. Every accepted command must get
// exactly one final reply, readable by the person who asked. See service_test.cpp for the
// setup (fake Slack + fake Lambda + the built binary).
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using test::FakeLambda;
using test::FakeSlack;
using testing::HasSubstr;
using testing::Not;

class ServiceFaultsTest : public ServiceFixture {
 protected:
  /// The header block's text of a reply ("" when there is none).
  static std::string header_text(const Value& reply) {
    const auto* blocks = reply.IsObject() ? core::json::get_array(reply, "blocks") : nullptr;
    if (blocks == nullptr) return "";
    for (const auto& block : blocks->GetArray()) {
      if (str(block, "type") == "header") {
        const auto* text = core::json::get_object(block, "text");
        return text != nullptr ? str(*text, "text") : "";
      }
    }
    return "";
  }

  /// A failure reply: a new ephemeral message (no replace_original), ":x: STOP - DEV".
  static void expect_failure_reply(const Value& reply, std::string_view header) {
    SCOPED_TRACE("reply: " + core::json::to_string(reply));
    EXPECT_EQ(str(reply, "response_type"), "ephemeral");
    EXPECT_FALSE(reply.IsObject() && reply.HasMember("replace_original"));
    EXPECT_EQ(header_text(reply), header);
    EXPECT_THAT(core::json::to_string(reply), Not(HasSubstr("Requested by")));
  }
};

const infra::ActionResult kStopped{infra::LifecycleAction::stop,
                                   "dev",
                                   "Operation completed successfully.",
                                   {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}};

TEST_F(ServiceFaultsTest, BusyEnvironmentRefusesASecondMutatingCommand) {
  start(Settings().answer(answer(
      kOrchestrator, R"({"action": "stop"})",
      R"("times": 1, "delay_ms": 1500, "body": )" + core::json::quote(fixture_body("stop")))));
  const auto first = slash("stop dev");
  ASSERT_GT(slack().push(first.frame), 0);
  ASSERT_TRUE(lambda().wait_for("stop call", FakeLambda::call(kOrchestrator, "stop")));

  // While it runs: the same command and another mutating one on dev, by bob.
  const SlashUser bob{"U0777BOBBY", "bob", kChannel};
  const auto again = slash("stop dev", bob);
  const auto other = slash("start dev", bob);
  ASSERT_GT(slack().push(again.frame), 0);
  ASSERT_GT(slack().push(other.frame), 0);
  for (const auto* cmd : {&again, &other}) {
    SCOPED_TRACE(cmd->text);
    const auto ack = wait_ack(cmd->envelope_id);
    const auto payload = member_json(ack, "payload");
    bool matched = false;
    for (int seconds = 0; seconds <= 2 && !matched; ++seconds) {
      matched = canonical(payload) == canonical(slack::blockkit::to_json(infra::views::render_busy(
                                          "stop dev", "@alice", std::chrono::seconds(seconds))));
    }
    EXPECT_TRUE(matched) << "expected views::render_busy(\"stop dev\", \"@alice\", 0..2 s), got "
                         << payload;
  }
  EXPECT_EQ(canonical(final_reply(first.response_id)),
            canonical(in_channel_json(infra::views::render_action_result(kStopped))));
  EXPECT_TRUE(posts(again.response_id).empty());
  EXPECT_TRUE(posts(other.response_id).empty());
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
  EXPECT_EQ(calls(kOrchestrator, "start").size(), 0u);

  // Once it is done, dev takes commands again.
  const auto later = slash("stop dev", bob);
  ASSERT_GT(slack().push(later.frame), 0);
  EXPECT_EQ(canonical(member_json(wait_ack(later.envelope_id), "payload")),
            canonical(working_json("stop dev")));
  final_reply(later.response_id);
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 2u);
}

TEST_F(ServiceFaultsTest, LambdaFunctionErrorIsAReadableFailureReply) {
  start(Settings().answer(answer(kOrchestrator, R"({"action": "stop"})",
                                 R"("function_error": "Unhandled", "json": {
          "errorMessage": "An error occurred (AccessDenied) when calling the StopDBInstance operation",
          "errorType": "ClientError",
          "stackTrace": ["  File \"/var/task/handler.py\", line 42, in handler\n"]})")));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto reply = final_reply(cmd.response_id);
  expect_failure_reply(reply, ":x: STOP - DEV");
  const auto text = core::json::to_string(reply);
  EXPECT_THAT(text, HasSubstr("An error occurred (AccessDenied) when calling the StopDBInstance "
                              "operation"));
  EXPECT_THAT(text, Not(HasSubstr("/var/task")));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u) << "a function error is not retried";
  ASSERT_TRUE(wait_audit("stop dev"));
  const auto audit = audit_lines("stop dev");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_NE(str(audit[0], "outcome"), "ok") << core::json::to_string(audit[0]);
}

TEST_F(ServiceFaultsTest, ThrottledCallIsRetriedAfterRetryAfterAndSucceeds) {
  start(Settings().answer(
      answer(kOrchestrator, R"({"action": "stop"})",
             R"("times": 1, "status": 429, "error_type": "TooManyRequestsException",
                "message": "Rate exceeded", "headers": {"Retry-After": "1"})")));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  EXPECT_EQ(canonical(final_reply(cmd.response_id, 10s)),
            canonical(in_channel_json(infra::views::render_action_result(kStopped))));
  const auto seen = calls(kOrchestrator, "stop");
  ASSERT_EQ(seen.size(), 2u) << lambda().describe_last(3);
  EXPECT_EQ(FakeSlack::num(seen[0], "answer_status"), 429);
  EXPECT_EQ(FakeSlack::num(seen[1], "answer_status"), 200);
  EXPECT_EQ(canonical(FakeLambda::payload(seen[0])), canonical(FakeLambda::payload(seen[1])))
      << "the retry carries the same payload (same request_id)";
}

TEST_F(ServiceFaultsTest, LambdaTimeoutIsAReadableFailureReply) {
  start(Settings()
            .env("INFRA_LAMBDA_TIMEOUT_SECONDS", "1")
            .answer(
                answer(kOrchestrator, R"({"action": "stop"})",
                       R"("delay_ms": 4000, "body": )" + core::json::quote(fixture_body("stop")))));
  const auto cmd = slash("stop dev");
  const auto pushed_at = std::chrono::steady_clock::now();
  ASSERT_GT(slack().push(cmd.frame), 0);
  const auto reply = final_reply(cmd.response_id, 6s);
  const auto took = std::chrono::steady_clock::now() - pushed_at;
  expect_failure_reply(reply, ":x: STOP - DEV");
  EXPECT_THAT(core::json::to_string(reply), HasSubstr("may or may not have run"));
  EXPECT_LT(took, 3500ms) << "INFRA_LAMBDA_TIMEOUT_SECONDS=1 was not applied";
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u) << "a timed-out stop is not re-sent";
}

TEST_F(ServiceFaultsTest, LongJobGetsAProgressUpdateThenTheFinalReply) {
  start(Settings()
            .env("INFRA_PROGRESS_SECONDS", "1")
            .answer(
                answer(kOrchestrator, R"({"action": "stop"})",
                       R"("delay_ms": 2500, "body": )" + core::json::quote(fixture_body("stop")))));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  EXPECT_EQ(canonical(final_reply(cmd.response_id, 8s)),
            canonical(in_channel_json(infra::views::render_action_result(kStopped))));
  const auto all = posts(cmd.response_id);
  ASSERT_GE(all.size(), 2u) << slack().describe_last(10);
  const std::size_t progress_count = all.size() - 1;
  EXPECT_LE(progress_count, 2u) << "first update after 1 s, the next 3x later";
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto* body = core::json::get_object(all[i], "body");
    ASSERT_NE(body, nullptr);
    SCOPED_TRACE("post #" + std::to_string(i + 1) + ": " + core::json::to_string(*body));
    EXPECT_EQ(FakeSlack::num(all[i], "status"), 200);
    if (i + 1 == all.size()) {
      EXPECT_FALSE(is_progress(all[i])) << "the final reply comes last";
      continue;
    }
    ASSERT_TRUE(is_progress(all[i]));
    const auto text = str(*body, "text");
    std::smatch match;
    ASSERT_TRUE(std::regex_match(
        text, match,
        std::regex(":hourglass_flowing_sand: Still working on `stop dev`… \\((\\d+) s so far\\)")))
        << text;
    const auto seconds = std::stoi(match[1].str());
    EXPECT_GE(seconds, 1);
    EXPECT_LE(seconds, 3);
    Document copy;
    copy.CopyFrom(*body, copy.GetAllocator());
    EXPECT_EQ(canonical(copy), canonical(slack::blockkit::to_json(infra::views::render_progress(
                                   command("stop dev"), std::chrono::seconds(seconds)))));
  }
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
}

TEST_F(ServiceFaultsTest, RateLimitedResponseUrlIsRetriedAfterRetryAfter) {
  start();
  ASSERT_TRUE(slack().fail_next("response_url", 1, 429, R"({"Retry-After": "1"})"));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_TRUE(slack().wait_for(
      "second post to the response_url",
      [id = cmd.response_id](const FakeSlack::Event& e) {
        return FakeSlack::is(e, "response_url") && str(e, "id") == id;
      },
      2, 8s))
      << bot().describe_last(10);
  settle();
  const auto all = posts(cmd.response_id);
  ASSERT_EQ(all.size(), 2u) << slack().describe_last(10);
  EXPECT_EQ(FakeSlack::num(all[0], "status"), 429);
  EXPECT_EQ(FakeSlack::num(all[1], "status"), 200);
  EXPECT_GE(all[1]["t"].GetDouble() - all[0]["t"].GetDouble(), 0.9) << "Retry-After: 1";
  EXPECT_EQ(canonical(with_real_name(all[1]["body"])),
            canonical(in_channel_json(infra::views::render_action_result(kStopped))));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u) << "the job is not run again";
}

TEST_F(ServiceFaultsTest, ExpiredResponseUrlFallsBackToAChannelPost) {
  start();
  ASSERT_TRUE(
      slack().fail_next("response_url", 1, 404, "{}", R"({"ok": false, "error": "expired_url"})"));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_TRUE(slack().wait_for_api("chat.postMessage", 1, 8s)) << bot().describe_last(10);
  settle();
  const auto posted = api_events("chat.postMessage");
  ASSERT_EQ(posted.size(), 1u);
  const auto* body = core::json::get_object(posted[0], "body");
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(str(*body, "channel"), kChannel);
  const auto expected = core::json::parse(slack::blockkit::to_json(
      infra::views::for_channel(infra::views::render_action_result(kStopped), kRealName)));
  ASSERT_TRUE(expected);
  EXPECT_EQ(str(*body, "text"), str(*expected, "text"));
  EXPECT_EQ(canonical(member_json(with_real_name(*body), "blocks")),
            canonical(member_json(*expected, "blocks")));
  EXPECT_EQ(posts(cmd.response_id).size(), 1u) << "an expired response_url is not retried";
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
}

}  // namespace
