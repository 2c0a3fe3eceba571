// `infra-bot run` end to end (issue 6), as operators see it: a burst of commands across a
// Socket Mode refresh, SIGTERM with jobs in flight, /healthz /readyz /metrics, the
// `healthcheck` subcommand and configuration errors. See service_test.cpp for the setup.
#include <csignal>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using test::BotProcess;
using test::FakeLambda;
using test::FakeSlack;
using testing::HasSubstr;
using testing::Not;

class ServiceLifecycleTest : public ServiceFixture {};

const infra::ActionResult kStopped{infra::LifecycleAction::stop,
                                   "dev",
                                   "Operation completed successfully.",
                                   {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}};

// ------------------------------------------------------------------- bursts

TEST_F(ServiceLifecycleTest, BurstOf200AcrossARefreshRequestedGets200AcksAnd200Replies) {
  start(Settings().sockets(2));
  constexpr std::size_t kCommands = 200;
  std::vector<Slash> commands;
  std::vector<std::string> frames;
  // 20 users with 10 reads each: as many as the read limit lets one user run a minute.
  constexpr std::size_t kUsers = 20;
  for (std::size_t i = 0; i < kCommands; ++i) {
    const std::string n = std::to_string(1000 + i % kUsers);
    commands.push_back(slash("status dev", SlashUser{"U0READ" + n, "reader" + n, kChannel}));
    frames.push_back(commands.back().frame);
  }
  const std::vector<std::string> first(frames.begin(), frames.begin() + kCommands / 2);
  const std::vector<std::string> second(frames.begin() + kCommands / 2, frames.end());
  ASSERT_EQ(slack().push_many(first), static_cast<int>(first.size()));
  const auto live = slack().live();
  ASSERT_FALSE(live.empty());
  ASSERT_EQ(slack().disconnect("refresh_requested", live.front()), 1);
  ASSERT_EQ(slack().push_many(second), static_cast<int>(second.size()));

  ASSERT_TRUE(slack().wait_for_acks(kCommands, 20s)) << bot().describe_last(10);
  const auto waited =
      slack().wait_for("response_url post", FakeSlack::kind("response_url"), kCommands, 30s);
  ASSERT_TRUE(waited) << waited.message() << "\n" << bot().describe_last(10);
  settle(500ms);

  // Every envelope acked once, with the working message; every command one reply.
  std::map<std::string, std::vector<std::string>> acks;
  for (const auto& ack : slack().events("ack")) {
    acks[str(ack, "envelope_id")].push_back(member_json(ack, "payload"));
  }
  std::map<std::string, int> replies;
  for (const auto& post : slack().events("response_url")) ++replies[str(post, "id")];
  const auto working = canonical(working_json("status dev"));
  std::size_t missing_acks = 0;
  std::size_t wrong_replies = 0;
  for (const auto& cmd : commands) {
    const auto& got = acks[cmd.envelope_id];
    if (got.empty()) {
      ++missing_acks;
    } else {
      EXPECT_EQ(canonical(got.front()), working) << cmd.envelope_id;
    }
    if (replies[cmd.response_id] != 1) ++wrong_replies;
  }
  EXPECT_EQ(missing_acks, 0u);
  EXPECT_EQ(wrong_replies, 0u) << "commands without exactly one response_url reply";
  EXPECT_EQ(slack().count("response_url"), kCommands);
  EXPECT_EQ(calls(kOrchestrator, "status").size(), kCommands);
  EXPECT_GE(slack().count("ws_open"), 3u) << "the refreshed connection was replaced";
  EXPECT_LE(slack().api_calls("users.info"), kUsers) << "users.info answers are cached";
  EXPECT_TRUE(wait_health("/readyz", 200));
}

// ------------------------------------------------------------------ SIGTERM

TEST_F(ServiceLifecycleTest, SigtermLetsAJobInFlightFinishAndExitsZero) {
  start(Settings()
            .env("INFRA_DRAIN_SECONDS", "10")
            .answer(
                answer(kOrchestrator, R"({"action": "stop"})",
                       R"("delay_ms": 2000, "body": )" + core::json::quote(fixture_body("stop")))));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_TRUE(slack().wait_for_ack(cmd.envelope_id));
  ASSERT_TRUE(lambda().wait_for("stop call", FakeLambda::call(kOrchestrator, "stop")));
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(bot().send_signal(SIGTERM));
  const auto code = bot().wait_exit(12s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  ASSERT_TRUE(code.has_value()) << "still running 12 s after SIGTERM; " << bot().describe_last(15);
  EXPECT_EQ(*code, 0) << bot().describe_last(15);
  EXPECT_LT(took, 10s) << "exit within INFRA_DRAIN_SECONDS";
  EXPECT_GE(took, 1s) << "exited before the job could finish";

  ASSERT_TRUE(slack().sync());
  const auto replies = final_replies(cmd.response_id);
  ASSERT_EQ(replies.size(), 1u) << "the job's reply is delivered before the exit; "
                                << slack().describe_last(10);
  Document body;
  body.CopyFrom(replies[0]["body"], body.GetAllocator());
  EXPECT_EQ(canonical(with_real_name(body)),
            canonical(in_channel_json(infra::views::render_action_result(kStopped))));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 1u);
}

TEST_F(ServiceLifecycleTest, SigtermInterruptsAJobLongerThanTheDrainAndSaysSo) {
  start(Settings()
            .env("INFRA_DRAIN_SECONDS", "1")
            .answer(
                answer(kOrchestrator, R"({"action": "stop"})",
                       R"("delay_ms": 5000, "body": )" + core::json::quote(fixture_body("stop")))));
  const auto cmd = slash("stop dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_TRUE(slack().wait_for_ack(cmd.envelope_id));
  ASSERT_TRUE(lambda().wait_for("stop call", FakeLambda::call(kOrchestrator, "stop")));
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(bot().send_signal(SIGTERM));
  const auto code = bot().wait_exit(8s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  ASSERT_TRUE(code.has_value()) << "still running 8 s after SIGTERM; " << bot().describe_last(15);
  EXPECT_EQ(*code, 0) << bot().describe_last(15);
  EXPECT_LT(took, 4s) << "INFRA_DRAIN_SECONDS=1 bounds the exit";

  ASSERT_TRUE(slack().sync());
  const auto replies = final_replies(cmd.response_id);
  ASSERT_EQ(replies.size(), 1u) << slack().describe_last(10);
  Document body;
  body.CopyFrom(replies[0]["body"], body.GetAllocator());
  EXPECT_EQ(str(body, "text"), ":warning: `stop dev` was interrupted — check `/infra status dev`.");
  EXPECT_FALSE(body.HasMember("replace_original"));
  EXPECT_EQ(
      canonical(body),
      canonical(slack::blockkit::to_json(infra::views::render_interrupted(command("stop dev")))));
}

// ------------------------------------------------------------------- health

TEST_F(ServiceLifecycleTest, HealthReadyAndMetricsAndTheHealthcheckSubcommand) {
  start();
  EXPECT_TRUE(wait_health("/healthz", 200));
  EXPECT_TRUE(wait_health("/readyz", 200));

  const auto cmd = slash("status dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  final_reply(cmd.response_id);

  const auto metrics = health_get("/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(std::string(metrics->header("Content-Type").value_or("")), HasSubstr("text/plain"));
  const auto& text = metrics->body;
  for (const char* family :
       {"# TYPE infra_envelopes_total counter", "# TYPE infra_ack_latency_seconds histogram",
        "# TYPE infra_jobs_total counter", "# TYPE infra_lambda_calls_total counter",
        "# TYPE infra_reconnects_total counter", "# TYPE infra_socket_connections gauge"}) {
    EXPECT_THAT(text, HasSubstr(family)) << text;
  }
  auto has_series = [&text](const std::string& pattern) {
    return std::regex_search(text, std::regex(pattern, std::regex::multiline));
  };
  EXPECT_TRUE(has_series(R"(^infra_envelopes_total\{[^}]*type="slash_commands"[^}]*\} 1$)"))
      << text;
  EXPECT_TRUE(has_series(R"(^infra_ack_latency_seconds_count(\{[^}]*\})? [1-9])")) << text;
  EXPECT_TRUE(has_series(R"(^infra_jobs_total\{[^}]*action="status"[^}]*outcome="ok"[^}]*\} 1$)"))
      << text;
  // The function label is the Lambda's role ("orchestrator") or its name.
  EXPECT_TRUE(has_series(
      R"(^infra_lambda_calls_total\{[^}]*function="(infra-)?orchestrator"[^}]*outcome="ok"[^}]*\} 1$)"))
      << text;
  EXPECT_TRUE(has_series(R"(^infra_socket_connections(\{[^}]*\})? 1$)")) << text;

  // `infra-bot healthcheck` with the same environment: ready → 0.
  auto& ok = run_other({"healthcheck"});
  const auto ok_code = ok.wait_exit(10s);
  ASSERT_TRUE(ok_code.has_value()) << "healthcheck did not end; " << ok.describe_last(5);
  EXPECT_EQ(*ok_code, 0) << ok.describe_last(5);

  // Nothing listening on the port → non-zero.
  auto& nobody = run_other({"healthcheck"}, {{"INFRA_HEALTH_PORT", std::to_string(free_port())}});
  const auto nobody_code = nobody.wait_exit(10s);
  ASSERT_TRUE(nobody_code.has_value()) << "healthcheck did not end; " << nobody.describe_last(5);
  EXPECT_NE(*nobody_code, 0) << nobody.describe_last(5);
}

TEST_F(ServiceLifecycleTest, ReadyzAndHealthcheckFollowTheSocketModeHello) {
  start(Settings()
            .before([](FakeSlack& fake) { ASSERT_TRUE(fake.config(R"({"send_hello": false})")); })
            .no_hello_wait());
  ASSERT_TRUE(slack().wait_for_ws_open(1, 10s)) << bot().describe_last(10);
  ASSERT_TRUE(wait_health("/healthz", 200)) << "alive without a hello";
  for (int i = 0; i < 5; ++i) {
    const auto ready = health_get("/readyz");
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->status, 503) << "ready without a hello: " << ready->body;
    std::this_thread::sleep_for(50ms);
  }
  auto& not_ready = run_other({"healthcheck"});
  const auto not_ready_code = not_ready.wait_exit(10s);
  ASSERT_TRUE(not_ready_code.has_value()) << not_ready.describe_last(5);
  EXPECT_NE(*not_ready_code, 0) << "healthcheck passed without a hello";

  // Hellos again; the link is dropped and replaced.
  ASSERT_TRUE(slack().config(R"({"send_hello": true})"));
  slack().drop(FakeSlack::kAll);
  ASSERT_TRUE(slack().wait_for_hello(1, 10s)) << bot().describe_last(10);
  ASSERT_TRUE(wait_health("/readyz", 200, 10s));
  auto& ready = run_other({"healthcheck"});
  const auto ready_code = ready.wait_exit(10s);
  ASSERT_TRUE(ready_code.has_value()) << ready.describe_last(5);
  EXPECT_EQ(*ready_code, 0) << ready.describe_last(5);

  const auto metrics = health_get("/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_TRUE(std::regex_search(
      metrics->body,
      std::regex(R"(^infra_reconnects_total\{reason="[^"]+"\} [1-9])", std::regex::multiline)))
      << metrics->body;
}

TEST_F(ServiceLifecycleTest, SimulatedBackendServesSlackWithoutAws) {
  start(Settings()
            .env("INFRA_BACKEND", "simulated")
            .env("ORCHESTRATOR_LAMBDA_ARN", std::nullopt)
            .env("IP_WHITELIST_LAMBDA_ARN", std::nullopt)
            .env("AWS_ENDPOINT_URL_LAMBDA", std::nullopt)
            .env("AWS_ACCESS_KEY_ID", std::nullopt)
            .env("AWS_SECRET_ACCESS_KEY", std::nullopt)
            .env("AWS_SESSION_TOKEN", std::nullopt));
  const auto status = slash("status dev");
  ASSERT_GT(slack().push(status.frame), 0);
  EXPECT_EQ(canonical(member_json(wait_ack(status.envelope_id), "payload")),
            canonical(working_json("status dev")));
  const auto reply = final_reply(status.response_id);
  EXPECT_EQ(str(reply, "response_type"), "ephemeral");
  EXPECT_THAT(core::json::to_string(reply), HasSubstr("Infrastructure Status: DEV"));

  const auto stop = slash("stop dev");
  ASSERT_GT(slack().push(stop.frame), 0);
  const auto stopped = final_reply(stop.response_id);
  EXPECT_EQ(str(stopped, "response_type"), "in_channel");
  EXPECT_THAT(core::json::to_string(stopped), HasSubstr("STOP - DEV"));
  EXPECT_THAT(core::json::to_string(stopped), HasSubstr("Requested by Alice Example"));
  EXPECT_EQ(lambda().count(), 0u);
  ASSERT_TRUE(wait_audit("stop dev"));
  EXPECT_EQ(str(audit_lines("stop dev").front(), "backend"), "simulated");
}

// ------------------------------------------------------------ configuration

TEST_F(ServiceLifecycleTest, MissingConfigurationExitsTwoNamingEveryProblem) {
  // Nothing but PATH, a bot token with the app prefix and two bad numbers.
  BotProcess bot({"run"}, {{"SLACK_BOT_TOKEN", "xapp-1-WRONGKIND-SECRETBOTTOKEN"},
                           {"INFRA_SOCKET_CONNECTIONS", "zero"},
                           {"INFRA_HEALTH_PORT", "99999"}});
  ASSERT_TRUE(bot.started());
  const auto code = bot.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "infra-bot run kept running without configuration; "
                                << bot.describe_last(10);
  EXPECT_EQ(*code, 2) << bot.describe_last(10);
  std::string output;
  for (const auto& line : bot.all_lines()) output += line + "\n";
  for (const char* name : {"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "ORCHESTRATOR_LAMBDA_ARN",
                           "INFRA_SOCKET_CONNECTIONS", "INFRA_HEALTH_PORT"}) {
    EXPECT_THAT(output, HasSubstr(name)) << "every problem is named at once";
  }
  EXPECT_THAT(output, Not(HasSubstr("SECRETBOTTOKEN"))) << "a token value was printed";
}

}  // namespace

namespace {

// Issue 15: the workspace comes from auth.test at start; a token Slack
// refuses there stops the service with one clear line, before any socket.
TEST_F(ServiceLifecycleTest, AuthTestRefusedAtStartStopsTheService) {
  start(Settings()
            .before([](FakeSlack& fake) {
              ASSERT_TRUE(fake.fail_next("auth.test", 1, 200, "{}",
                                         R"({"ok": false, "error": "invalid_auth"})"));
            })
            .no_hello_wait());
  const auto code = bot().wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << bot().describe_last(10);
  EXPECT_EQ(*code, 1) << bot().describe_last(10);
  EXPECT_NE(bot().describe_last(20).find("Slack auth.test failed"), std::string::npos)
      << bot().describe_last(20);
  EXPECT_EQ(slack().api_calls("apps.connections.open"), 0u);
}

// Issue 15: closed unless opened — with no allow-list and no
// INFRA_ALLOW_EVERYONE, `run` exits 2 naming the variables.
TEST_F(ServiceLifecycleTest, NoAllowListAndNoAllowEveryoneIsAConfigurationError) {
  start(Settings().env("INFRA_ALLOW_EVERYONE", std::nullopt).no_hello_wait());
  const auto code = bot().wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << bot().describe_last(10);
  EXPECT_EQ(*code, 2);
  const auto printed = bot().describe_last(20);
  EXPECT_NE(printed.find("INFRA_ALLOWED_USERS or INFRA_ALLOWED_CHANNELS"), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("INFRA_ALLOW_EVERYONE=true"), std::string::npos) << printed;
  EXPECT_EQ(slack().api_calls("auth.test"), 0u);
}

}  // namespace
