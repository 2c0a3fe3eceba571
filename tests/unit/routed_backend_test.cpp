// The hybrid backend routes full teardown and spinup to the orchestrator and
// everything else to the native backend; without an orchestrator, the native
// backend's refusal reaches the user at admission, before any modal.
#include "infra/routed_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_clock.hpp"
#include "infra/command_runner.hpp"
#include "infra/simulated_backend.hpp"
#include "recording_sink.hpp"
#include "sequential_ids.hpp"

namespace {

using namespace infra;
using testing::HasSubstr;

// Answers every call with its own name, and refuses what an aws backend cannot do.
class NamedBackend final : public Backend {
 public:
  NamedBackend(std::string name, bool native) : name_(std::move(name)), native_(native) {}
  std::string_view name() const override { return name_; }
  core::Result<EnvironmentStatus> status(std::string_view env, const RequestContext&) override {
    calls.push_back("status");
    return EnvironmentStatus{std::string(env), {}, {}};
  }
  core::Result<ActionResult> run(const LifecycleRequest& request, const RequestContext&) override {
    calls.push_back(std::string(to_string(request.action)));
    return ActionResult{request.action, request.environment, name_, {}};
  }
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd& c,
                                             const RequestContext&) override {
    calls.push_back("add");
    return WhitelistAdded{c.env, {}, false};
  }
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& c,
                                                  const RequestContext&) override {
    calls.push_back("remove");
    return WhitelistRemoved{c.env, c.cidr.text};
  }
  core::Result<WhitelistListing> whitelist_list(std::string_view env,
                                                const RequestContext&) override {
    calls.push_back("list");
    return WhitelistListing{std::string(env), {}};
  }
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view env,
                                                     const RequestContext&) override {
    calls.push_back("refresh");
    return WhitelistRefreshed{std::string(env), {}, 0, 0};
  }
  std::optional<std::string> unsupported(const LifecycleRequest& request) const override {
    if (native_ && RoutedBackend::needs_orchestrator(request)) return "needs the orchestrator";
    return std::nullopt;
  }

  std::vector<std::string> calls;

 private:
  std::string name_;
  bool native_;
};

const RequestContext kContext{"req-1", Requester{"U1", "alice", "T1", "C1"}};

TEST(RoutedBackend, SendsFullTeardownAndSpinupToTheOrchestratorAndTheRestToTheNativeBackend) {
  NamedBackend aws("aws", true);
  NamedBackend lambda("lambda", false);
  RoutedBackend routed(aws, &lambda);
  EXPECT_EQ(routed.name(), "aws+lambda");

  EXPECT_EQ(routed.run({LifecycleAction::teardown, "dev", TeardownLevel::full}, kContext)->message,
            "lambda");
  EXPECT_EQ(routed.run({LifecycleAction::spinup, "dev", {}}, kContext)->message, "lambda");
  EXPECT_EQ(
      routed.run({LifecycleAction::teardown, "dev", TeardownLevel::services}, kContext)->message,
      "aws");
  EXPECT_EQ(routed.run({LifecycleAction::stop, "dev", {}}, kContext)->message, "aws");
  EXPECT_EQ(routed.run({LifecycleAction::reboot, "dev", {}, "bastion"}, kContext)->message, "aws");
  ASSERT_TRUE(routed.status("dev", kContext));
  ASSERT_TRUE(routed.whitelist_list("dev", kContext));
  EXPECT_THAT(aws.calls, testing::ElementsAre("teardown", "stop", "reboot", "status", "list"));
  EXPECT_THAT(lambda.calls, testing::ElementsAre("teardown", "spinup"));
  EXPECT_EQ(routed.unsupported({LifecycleAction::spinup, "dev", {}}), std::nullopt);
}

TEST(RoutedBackend, WithoutAnOrchestratorTheNativeRefusalStands) {
  NamedBackend aws("aws", true);
  RoutedBackend routed(aws, nullptr);
  EXPECT_EQ(routed.name(), "aws");
  EXPECT_EQ(routed.unsupported({LifecycleAction::teardown, "dev", TeardownLevel::full}),
            "needs the orchestrator");
  EXPECT_EQ(routed.unsupported({LifecycleAction::teardown, "dev", TeardownLevel::services}),
            std::nullopt);
  EXPECT_EQ(routed.unsupported({LifecycleAction::stop, "dev", {}}), std::nullopt);
}

class UnsupportedAdmission : public testing::Test {
 protected:
  UnsupportedAdmission()
      : policy_(PolicySettings{}, clock_),
        routed_(aws_, nullptr),
        runner_(RunnerSettings{}, policy_, routed_, clock_, ids_,
                core::make_logger("test", core::LogFormat::text, core::LogLevel::debug,
                                  {std::make_shared<test::RecordingSink>()}, {})) {}

  test::FakeClock clock_;
  test::SequentialIds ids_;
  Policy policy_;
  NamedBackend aws_{"aws", true};
  RoutedBackend routed_;
  CommandRunner runner_;
  Requester alice_{"U1", "alice", "T1", "C1"};
};

TEST_F(UnsupportedAdmission, FullTeardownIsRefusedBeforeAnyModalWithWhatToConfigure) {
  auto admission = runner_.admit("teardown dev --level=full", alice_);
  ASSERT_TRUE(std::holds_alternative<Reply>(admission)) << "no confirmation modal";
  const auto& reply = std::get<Reply>(admission);
  EXPECT_FALSE(reply.ok);
  EXPECT_THAT(reply.message.text, HasSubstr("needs the orchestrator"));
  // No cooldown was started: a supported command right after is admitted
  // (a services teardown, once confirmed).
  auto services = runner_.admit("teardown dev", alice_);
  ASSERT_TRUE(std::holds_alternative<NeedsConfirmation>(services));
  EXPECT_TRUE(std::holds_alternative<Job>(
      runner_.confirm_teardown(std::get<NeedsConfirmation>(services).confirmation, "dev", alice_)));
  EXPECT_TRUE(aws_.calls.empty());
}

TEST_F(UnsupportedAdmission, ThePolicyStillSpeaksFirst) {
  auto admission = runner_.admit("teardown prod --level=full", alice_);
  ASSERT_TRUE(std::holds_alternative<Reply>(admission));
  EXPECT_EQ(std::get<Reply>(admission).denied, DenyReason::protected_environment);
}

TEST_F(UnsupportedAdmission, SpinupIsRefusedToo) {
  auto admission = runner_.admit("spinup staging", alice_);
  ASSERT_TRUE(std::holds_alternative<Reply>(admission));
  EXPECT_THAT(std::get<Reply>(admission).message.text, HasSubstr("needs the orchestrator"));
}

}  // namespace
