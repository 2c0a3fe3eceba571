// The /infra flow end to end in-process: text → parser → policy → simulated
// backend → views, including the teardown confirmation.
#include "infra/command_runner.hpp"
#include "slack/blockkit.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_clock.hpp"
#include "infra/simulated_backend.hpp"
#include "recording_sink.hpp"
#include "sequential_ids.hpp"

namespace {

using namespace std::chrono_literals;
using slack::blockkit::Header;
using slack::blockkit::Message;
using slack::blockkit::Section;
using testing::HasSubstr;

class CommandRunnerTest : public testing::Test {
 protected:
  explicit CommandRunnerTest(infra::PolicySettings policy_settings = {})
      : policy_(std::move(policy_settings), clock_),
        runner_(
            infra::RunnerSettings{}, policy_, backend_, clock_, ids_,
            core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink_}, {})) {}

  static std::string first_text(const Message& message) {
    if (message.blocks.empty()) return "";
    if (const auto* header = std::get_if<Header>(&message.blocks.front())) return header->text;
    if (const auto* section = std::get_if<Section>(&message.blocks.front())) {
      return section->lines.empty() ? section->title : section->lines.front();
    }
    return "";
  }

  infra::Job admit_job(std::string_view text) {
    auto admission = runner_.admit(text, alice_);
    if (auto* reply = std::get_if<infra::Reply>(&admission)) {
      ADD_FAILURE() << "expected a job for '" << text << "', got: " << first_text(reply->message);
      return {};
    }
    EXPECT_TRUE(std::holds_alternative<infra::Job>(admission)) << text;
    return std::get<infra::Job>(admission);
  }

  // A teardown (either level) through its typed confirmation.
  infra::Job confirmed_job(std::string_view text) {
    auto admission = runner_.admit(text, alice_);
    if (!std::holds_alternative<infra::NeedsConfirmation>(admission)) {
      ADD_FAILURE() << "expected a confirmation for '" << text << "'";
      return {};
    }
    const auto& pending = std::get<infra::NeedsConfirmation>(admission);
    auto confirmed =
        runner_.confirm_teardown(pending.confirmation, pending.confirmation.environment, alice_);
    EXPECT_TRUE(std::holds_alternative<infra::Job>(confirmed)) << text;
    if (auto* job = std::get_if<infra::Job>(&confirmed)) return *job;
    return {};
  }

  infra::Reply admit_reply(std::string_view text, const infra::Requester& who) {
    auto admission = runner_.admit(text, who);
    EXPECT_TRUE(std::holds_alternative<infra::Reply>(admission)) << text;
    if (auto* reply = std::get_if<infra::Reply>(&admission)) return *reply;
    return {};
  }

  test::FakeClock clock_;
  test::SequentialIds ids_;
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  infra::SimulatedBackend backend_{{"dev", "staging", "prod"}, clock_};
  infra::Policy policy_;
  infra::CommandRunner runner_;
  infra::Requester alice_{"U0ALICE", "alice", "T0TEAM", "C0OPS"};
  infra::Requester bob_{"U0BOB", "bob", "T0TEAM", "C0OPS"};
};

TEST_F(CommandRunnerTest, HelpIsAnImmediateReply) {
  auto reply = admit_reply("help", alice_);
  EXPECT_TRUE(reply.ok);
  EXPECT_FALSE(reply.message.blocks.empty());
  EXPECT_EQ(admit_reply("", alice_).message.text, reply.message.text);
}

TEST_F(CommandRunnerTest, ParseErrorsAreImmediateAndNotOk) {
  auto reply = admit_reply("stop qa", alice_);
  EXPECT_FALSE(reply.ok);
  EXPECT_THAT(first_text(reply.message), HasSubstr("Unknown environment `qa`"));
}

TEST_F(CommandRunnerTest, ProtectedEnvironmentIsRefusedBeforeTheBackend) {
  auto reply = admit_reply("stop prod", alice_);
  EXPECT_FALSE(reply.ok);
  EXPECT_THAT(first_text(reply.message), HasSubstr("`prod` is protected"));
  // The backend never saw it: prod is still running.
  auto status = backend_.status("prod", {});
  ASSERT_TRUE(status);
  EXPECT_EQ(status->ecs_services.front().status, "RUNNING");
}

TEST_F(CommandRunnerTest, StopRunsOnTheBackendAndRendersTheResult) {
  auto job = admit_job("stop dev");
  EXPECT_EQ(job.request_id, "req-1");
  EXPECT_EQ(job.command, infra::Command{infra::Stop{"dev"}});
  auto reply = runner_.run(job);
  EXPECT_TRUE(reply.ok);
  EXPECT_EQ(first_text(reply.message), ":white_check_mark: STOP - DEV");
  EXPECT_EQ(reply.message.visibility, slack::blockkit::Visibility::in_channel);

  auto status = runner_.run(admit_job("status dev"));
  EXPECT_TRUE(status.ok);
  EXPECT_THAT(slack::blockkit::to_text(status.message), HasSubstr("api - STOPPED"));
}

TEST_F(CommandRunnerTest, AcceptingAMutatingCommandStartsTheCooldown) {
  admit_job("stop dev");
  auto reply = admit_reply("stop dev", alice_);
  EXPECT_FALSE(reply.ok);
  EXPECT_THAT(first_text(reply.message), HasSubstr("Wait 30 s"));
  // Someone else, another environment, or a read-only command, is not held back.
  EXPECT_TRUE(std::holds_alternative<infra::Job>(runner_.admit("stop dev", bob_)));
  admit_job("stop staging");
  admit_job("status dev");
  clock_.advance(30s);
  admit_job("stop dev");
}

TEST_F(CommandRunnerTest, BackendFailuresRenderAsFailures) {
  runner_.run(confirmed_job("teardown dev --level=services"));
  clock_.advance(1min);
  runner_.run(confirmed_job("teardown dev"));  // nothing left but the database
  clock_.advance(1min);
  auto job = confirmed_job("teardown dev");
  auto reply = runner_.run(job);
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(first_text(reply.message), ":x: TEARDOWN - DEV");
  EXPECT_THAT(slack::blockkit::to_text(reply.message), HasSubstr("already torn down"));
  bool logged = false;
  for (const auto& line : sink_->lines())
    logged |= line.find("command failed: request_id=") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(CommandRunnerTest, FullTeardownAsksForConfirmationThenRuns) {
  auto admission =
      runner_.admit("teardown dev --level=full", alice_, "https://hooks.slack.test/r/1");
  ASSERT_TRUE(std::holds_alternative<infra::NeedsConfirmation>(admission));
  const auto pending = std::get<infra::NeedsConfirmation>(admission);
  EXPECT_EQ(pending.confirmation.environment, "dev");
  EXPECT_EQ(pending.confirmation.response_url, "https://hooks.slack.test/r/1");
  EXPECT_EQ(pending.confirmation.channel_id, "C0OPS");
  auto metadata = infra::views::parse_teardown_metadata(pending.modal.private_metadata);
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->response_url, "https://hooks.slack.test/r/1");

  auto wrong = runner_.confirm_teardown(pending.confirmation, "DEV please", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::ConfirmationMismatch>(wrong));
  EXPECT_EQ(std::get<infra::ConfirmationMismatch>(wrong).error_text,
            infra::views::teardown_mismatch_text("dev"));

  auto right = runner_.confirm_teardown(pending.confirmation, "  dev ", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::Job>(right));
  auto reply = runner_.run(std::get<infra::Job>(right));
  EXPECT_TRUE(reply.ok);
  auto status = backend_.status("dev", {});
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ecs_services.empty());
  EXPECT_TRUE(status->rds_instances.empty());
}

TEST_F(CommandRunnerTest, ADoubleSubmittedConfirmationStartsOneTeardown) {
  auto admission = runner_.admit("teardown staging --level=full", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::NeedsConfirmation>(admission));
  const auto& pending = std::get<infra::NeedsConfirmation>(admission);
  auto first = runner_.confirm_teardown(pending.confirmation, "staging", alice_);
  auto second = runner_.confirm_teardown(pending.confirmation, "staging", alice_);
  EXPECT_TRUE(std::holds_alternative<infra::Job>(first));
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(second));
  EXPECT_THAT(first_text(std::get<infra::Reply>(second).message), HasSubstr("You ran `teardown`"));
}

TEST_F(CommandRunnerTest, AskingForConfirmationDoesNotStartTheCooldown) {
  ASSERT_TRUE(std::holds_alternative<infra::NeedsConfirmation>(
      runner_.admit("teardown staging --level=full", alice_)));
  EXPECT_TRUE(std::holds_alternative<infra::NeedsConfirmation>(
      runner_.admit("teardown staging --level=full", alice_)));
  // Nor at the services level.
  EXPECT_TRUE(
      std::holds_alternative<infra::NeedsConfirmation>(runner_.admit("teardown staging", alice_)));
  confirmed_job("teardown staging");
  confirmed_job("teardown dev");
}

// Issue 15: `--level=services` asks for the same typed confirmation as `full`,
// with a modal that says what that level does.
TEST_F(CommandRunnerTest, ServicesTeardownAsksForConfirmationThenRuns) {
  for (const char* text : {"teardown dev", "teardown dev --level=services"}) {
    SCOPED_TRACE(text);
    auto admission = runner_.admit(text, alice_, "https://hooks.slack.test/r/2");
    ASSERT_TRUE(std::holds_alternative<infra::NeedsConfirmation>(admission));
    const auto& pending = std::get<infra::NeedsConfirmation>(admission);
    EXPECT_EQ(pending.command, (infra::Teardown{"dev", infra::TeardownLevel::services}));
    EXPECT_EQ(pending.confirmation.level, infra::TeardownLevel::services);
    const std::string modal = slack::blockkit::to_text(pending.modal);
    EXPECT_THAT(modal, HasSubstr("Teardown of the DEV services"));
    EXPECT_THAT(modal, HasSubstr("the RDS instances are stopped; their data is kept"));
    auto metadata = infra::views::parse_teardown_metadata(pending.modal.private_metadata);
    ASSERT_TRUE(metadata);
    EXPECT_EQ(metadata->level, infra::TeardownLevel::services);
  }
  // Nothing ran before the confirmation.
  auto before = backend_.status("dev", {});
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->ecs_services.empty());

  auto admission = runner_.admit("teardown dev", alice_);
  const auto& pending = std::get<infra::NeedsConfirmation>(admission);
  auto wrong = runner_.confirm_teardown(pending.confirmation, "staging", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::ConfirmationMismatch>(wrong));
  auto right = runner_.confirm_teardown(pending.confirmation, "dev", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::Job>(right));
  EXPECT_EQ(std::get<infra::Job>(right).command,
            infra::Command{(infra::Teardown{"dev", infra::TeardownLevel::services})});
  EXPECT_TRUE(runner_.run(std::get<infra::Job>(right)).ok);
  auto after = backend_.status("dev", {});
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ecs_services.empty());
}

TEST_F(CommandRunnerTest, ConfirmationIsCheckedAgainstPolicyAndKnownEnvironments) {
  infra::views::TeardownConfirmation forged{"prod", infra::TeardownLevel::full, "C0OPS", ""};
  auto reply = runner_.confirm_teardown(forged, "prod", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(reply));
  EXPECT_FALSE(std::get<infra::Reply>(reply).ok);
  EXPECT_THAT(first_text(std::get<infra::Reply>(reply).message), HasSubstr("`prod` is protected"));

  infra::views::TeardownConfirmation unknown{"qa", infra::TeardownLevel::full, "C0OPS", ""};
  auto unknown_reply = runner_.confirm_teardown(unknown, "qa", alice_);
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(unknown_reply));
  EXPECT_THAT(first_text(std::get<infra::Reply>(unknown_reply).message),
              HasSubstr("Unknown environment `qa`"));
}

TEST_F(CommandRunnerTest, WhitelistRoundTrip) {
  auto added = runner_.run(admit_job("whitelist add 1.2.3.4 --ttl=5m --description='Quick test'"));
  EXPECT_TRUE(added.ok);
  auto listed = runner_.run(admit_job("whitelist list"));
  EXPECT_THAT(slack::blockkit::to_text(listed.message), HasSubstr("`1.2.3.4/32` — Quick test"));
  clock_.advance(5min);
  auto later = runner_.run(admit_job("whitelist list"));
  EXPECT_THAT(slack::blockkit::to_text(later.message), testing::Not(HasSubstr("1.2.3.4")));
}

class RestrictedRunnerTest : public CommandRunnerTest {
 protected:
  RestrictedRunnerTest()
      : CommandRunnerTest(infra::PolicySettings{{"prod"}, {"U0ALICE"}, {}, {}, 30s, 24, 64}) {}
};

TEST_F(RestrictedRunnerTest, ConfirmationRechecksWhoSubmits) {
  infra::views::TeardownConfirmation pending{"dev", infra::TeardownLevel::full, "C0OPS", ""};
  auto reply = runner_.confirm_teardown(pending, "dev", bob_);
  ASSERT_TRUE(std::holds_alternative<infra::Reply>(reply));
  EXPECT_THAT(first_text(std::get<infra::Reply>(reply).message),
              HasSubstr("not on the list of people allowed"));
}

}  // namespace
