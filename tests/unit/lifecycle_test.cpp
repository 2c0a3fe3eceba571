// infra::Lifecycle, the chat-neutral core, with no chat at all: requests in,
// Outcomes and Conversation calls out. The real parser, policy, runner and
// views; the simulated backend behind a gate; progress timers on a
// core::ManualScheduler (no sleeps: a test moves time itself). Jobs run on the
// core's worker threads, so every wait for them is bounded.
#include "infra/lifecycle.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "gated_backend.hpp"
#include "infra/command_runner.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "recording_conversation.hpp"
#include "recording_sink.hpp"
#include "sequential_ids.hpp"

namespace {

using namespace std::chrono_literals;
using core::reply::Message;
using testing::HasSubstr;
namespace views = infra::views;

constexpr auto kWait = 5s;

using test::RecordingConversation;

class LifecycleTest : public testing::Test {
 protected:
  LifecycleTest() {
    infra::PolicySettings policy;
    policy.cooldown = 0s;
    policy_ = std::make_unique<infra::Policy>(std::move(policy), clock());
    runner_ = std::make_unique<infra::CommandRunner>(
        infra::RunnerSettings{infra::ParserSettings{},
                              {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
        *policy_, backend_, clock(), ids_, logger_);
    infra::LifecycleSettings settings;
    settings.progress_after = 20s;
    settings.max_progress_updates = 3;
    lifecycle_ = std::make_unique<infra::Lifecycle>(settings, *runner_, scheduler_, clock(),
                                                    metrics_, logger_, audit_);
  }
  ~LifecycleTest() override {
    backend_.release_all();
    lifecycle_.reset();
  }

  const core::Clock& clock() const { return scheduler_.clock(); }

  static infra::Inbound request(std::string text, std::string user = "U0ALICE01") {
    return infra::Inbound{"slash_command", {user, "alice", "T1", "C1"}, std::move(text), ""};
  }

  std::pair<infra::Outcome, std::shared_ptr<RecordingConversation>> submit(
      std::string text, std::string user = "U0ALICE01") {
    auto conversation = std::make_shared<RecordingConversation>();
    auto outcome = lifecycle_->submit(request(std::move(text), std::move(user)), conversation);
    return {std::move(outcome), conversation};
  }

  static std::string answer_text(const infra::Outcome& outcome) {
    if (const auto* answer = std::get_if<infra::Answer>(&outcome)) return answer->message.text;
    return "<not an answer>";
  }

  std::vector<std::string> audit_outcomes() const {
    std::vector<std::string> out;
    for (const auto& line : audit_sink_->lines()) {
      const auto at = line.find("\"outcome\":\"");
      if (at == std::string::npos) continue;
      const auto start = at + 11;
      out.push_back(line.substr(start, line.find('"', start) - start));
    }
    return out;
  }

  core::ManualScheduler scheduler_;
  test::SequentialIds ids_;
  core::metrics::Registry metrics_;
  std::shared_ptr<test::RecordingSink> audit_sink_ = std::make_shared<test::RecordingSink>();
  std::shared_ptr<test::RecordingSink> log_sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::debug, {log_sink_}, {});
  core::LoggerPtr audit_ = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info,
                                             {audit_sink_}, {}, core::Payload::json_object);
  infra::SimulatedBackend simulated_{{"dev", "staging", "prod"}, scheduler_.clock()};
  test::GatedBackend backend_{simulated_};
  std::unique_ptr<infra::Policy> policy_;
  std::unique_ptr<infra::CommandRunner> runner_;
  std::unique_ptr<infra::Lifecycle> lifecycle_;
};

TEST_F(LifecycleTest, AnAcceptedJobStartsWithWorkingAndFinishesOnceThroughItsConversation) {
  auto [outcome, conversation] = submit("stop dev");
  const auto* accepted = std::get_if<infra::Accepted>(&outcome);
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->started.text, views::render_working(infra::Stop{"dev"}).text);
  ASSERT_TRUE(conversation->wait_finished());
  const auto said = conversation->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_THAT(said[0].message.text, HasSubstr("dev"));
  EXPECT_EQ(said[0].message.visibility, core::reply::Visibility::in_channel);
}

TEST_F(LifecycleTest, AParseErrorIsAnAnswerAndNoJob) {
  auto [outcome, conversation] = submit("stpo dev");
  EXPECT_TRUE(std::holds_alternative<infra::Answer>(outcome));
  EXPECT_EQ(lifecycle_->jobs_in_flight(), 0u);
  EXPECT_TRUE(conversation->said().empty());
}

TEST_F(LifecycleTest, ASecondStopOfOneEnvironmentIsBusyButAWhitelistChangeIsNot) {
  backend_.hold("stop");
  auto [first, first_conversation] = submit("stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));

  auto [second, unused] = submit("start dev", "U0BOB0002");
  EXPECT_THAT(answer_text(second), HasSubstr("already running")) << "the services are held";

  // The allow-list is another lock: it runs beside the stop.
  auto [whitelist, whitelist_conversation] = submit("whitelist add 203.0.113.7 --env=dev");
  EXPECT_TRUE(std::holds_alternative<infra::Accepted>(whitelist)) << answer_text(whitelist);
  ASSERT_TRUE(whitelist_conversation->wait_finished());

  // Another environment is free too; reads are never busy.
  auto [staging, staging_conversation] = submit("stop staging");
  EXPECT_TRUE(std::holds_alternative<infra::Accepted>(staging)) << answer_text(staging);
  auto [status, status_conversation] = submit("status dev");
  EXPECT_TRUE(std::holds_alternative<infra::Accepted>(status)) << answer_text(status);

  backend_.release("stop");
  ASSERT_TRUE(first_conversation->wait_finished());
  ASSERT_TRUE(staging_conversation->wait_finished());
  ASSERT_TRUE(status_conversation->wait_finished());
}

// The lock is released before the answer is queued: whoever reads the
// answer and types the next command is never told "already running".
TEST_F(LifecycleTest, TheLockIsFreeOnceTheAnswerIsGiven) {
  for (int i = 0; i < 20; ++i) {
    auto [outcome, conversation] = submit(i % 2 == 0 ? "whitelist add 203.0.113.7 --env=dev"
                                                     : "whitelist remove 203.0.113.7 --env=dev");
    ASSERT_TRUE(std::holds_alternative<infra::Accepted>(outcome))
        << "command " << i << ": " << answer_text(outcome);
    ASSERT_TRUE(conversation->wait_finished());
  }
}

TEST_F(LifecycleTest, ProgressComesAtTwentySixtyAndOneEightySecondsThenStops) {
  backend_.hold("stop");
  auto [outcome, conversation] = submit("stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(outcome));
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));

  scheduler_.advance(19s);
  EXPECT_TRUE(conversation->said().empty());
  scheduler_.advance(1s);
  ASSERT_EQ(conversation->said().size(), 1u);
  EXPECT_EQ(conversation->said()[0].message.text,
            views::render_progress(infra::Stop{"dev"}, 20s).text);
  scheduler_.advance(40s);
  ASSERT_EQ(conversation->said().size(), 2u);
  EXPECT_EQ(conversation->said()[1].message.text,
            views::render_progress(infra::Stop{"dev"}, 60s).text);
  scheduler_.advance(120s);
  ASSERT_EQ(conversation->said().size(), 3u);
  scheduler_.advance(1h);
  EXPECT_EQ(conversation->said().size(), 3u) << "at most max_progress_updates";

  backend_.release("stop");
  ASSERT_TRUE(conversation->wait_finished());
  const auto said = conversation->said();
  ASSERT_EQ(said.size(), 4u);
  EXPECT_EQ(said.back().kind, "finished");
}

TEST_F(LifecycleTest, NoProgressAfterTheAnswer) {
  auto [outcome, conversation] = submit("stop dev");
  ASSERT_TRUE(conversation->wait_finished());
  scheduler_.advance(1h);
  const auto said = conversation->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].kind, "finished");
  EXPECT_EQ(scheduler_.pending(), 0u) << "the finished job's timer was cancelled";
}

TEST_F(LifecycleTest, DrainAnswersRestartingAndInterruptsWhatIsStillRunning) {
  backend_.hold("stop");
  auto [outcome, conversation] = submit("stop dev");
  ASSERT_TRUE(backend_.wait_for_waiting(1, "stop"));
  lifecycle_->begin_drain();
  EXPECT_EQ(answer_text(submit("status dev").first), views::render_shutting_down().text);

  const auto report = lifecycle_->drain(0ms);
  EXPECT_EQ(report.interrupted, 1u);
  const auto said = conversation->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].message.text, views::render_interrupted(infra::Stop{"dev"}).text);

  backend_.release("stop");  // the job ends; it must not answer a second time
  ASSERT_TRUE(backend_.wait_for_completed(1));
  lifecycle_.reset();
  EXPECT_EQ(conversation->said().size(), 1u);
  EXPECT_THAT(audit_outcomes(), testing::Contains("interrupted"));
}

TEST_F(LifecycleTest, AConfirmedTeardownIsAnnouncedAsStartedAndADoubleSubmitIsIgnored) {
  auto [outcome, unused] = submit("teardown dev --level=full");
  const auto* confirm = std::get_if<infra::Confirm>(&outcome);
  ASSERT_NE(confirm, nullptr);
  const auto confirmation = confirm->needs.confirmation;

  auto conversation = std::make_shared<RecordingConversation>();
  const auto wrong =
      lifecycle_->confirm(confirmation, "staging", request("", "U0ALICE01"), "V1", conversation);
  EXPECT_TRUE(std::holds_alternative<infra::Mismatch>(wrong));

  const auto right =
      lifecycle_->confirm(confirmation, "dev", request("", "U0ALICE01"), "V1", conversation);
  const auto* accepted = std::get_if<infra::Accepted>(&right);
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->started.visibility, core::reply::Visibility::in_channel);
  EXPECT_THAT(accepted->started.text, HasSubstr("started by @alice"));
  const auto again =
      lifecycle_->confirm(confirmation, "dev", request("", "U0ALICE01"), "V1", conversation);
  EXPECT_TRUE(std::holds_alternative<infra::Ignored>(again));
  ASSERT_TRUE(conversation->wait_finished());
  EXPECT_EQ(backend_.count("teardown"), 1u);
}

// Issue 15: a services teardown goes through the same confirmation, with the
// level carried through to the backend and the audit.
TEST_F(LifecycleTest, AServicesTeardownAsksForConfirmationBeforeAnythingRuns) {
  auto [outcome, unused] = submit("teardown dev");
  const auto* confirm = std::get_if<infra::Confirm>(&outcome);
  ASSERT_NE(confirm, nullptr);
  EXPECT_EQ(confirm->needs.command, (infra::Teardown{"dev", infra::TeardownLevel::services}));
  const auto confirmation = confirm->needs.confirmation;
  EXPECT_EQ(confirmation.level, infra::TeardownLevel::services);
  EXPECT_EQ(backend_.count("teardown"), 0u);

  auto conversation = std::make_shared<RecordingConversation>();
  const auto right =
      lifecycle_->confirm(confirmation, "dev", request("", "U0ALICE01"), "V1", conversation);
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(right));
  ASSERT_TRUE(conversation->wait_finished());
  const auto calls = backend_.calls("teardown");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].level, infra::TeardownLevel::services);
  // The job writes its audit line after it answers: wait for it (bounded; slow under TSan).
  const auto audited = [&] {
    for (const auto& line : audit_sink_->lines()) {
      if (line.find("teardown dev --level=services (confirmed)") != std::string::npos) return true;
    }
    return false;
  };
  for (int i = 0; i < 1000 && !audited(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(audited());
}

// Every line a job logs carries its request id as a field of its own.
TEST_F(LifecycleTest, AJobsLogLinesCarryItsRequestIdAsAField) {
  auto [outcome, conversation] = submit("stop dev");
  const auto* accepted = std::get_if<infra::Accepted>(&outcome);
  ASSERT_NE(accepted, nullptr);
  ASSERT_TRUE(conversation->wait_finished());
  const std::string field = "\"request_id\":\"" + accepted->request_id + "\"";
  int done_lines = 0;
  for (const auto& line : log_sink_->lines()) {
    if (line.find("command done") == std::string::npos) continue;
    ++done_lines;
    EXPECT_THAT(line, HasSubstr(field));
  }
  EXPECT_EQ(done_lines, 1);
}

}  // namespace
