// The Discord front end in process (lib/discord_front): with replicas, each
// Gateway session receives the interaction and exactly one answers; with
// Slack and Discord in one process, one lock per environment across them,
// and a drain interrupts (no other process would report the job).

#include "discord_front/front.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/ids.hpp"
#include "core/scheduler.hpp"
#include "discord/rest_client.hpp"
#include "gated_backend.hpp"
#include "infra/memory_state.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "recording_conversation.hpp"
#include "scripted_http_client.hpp"
#include "shared_memory_state.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;

constexpr const char* kGuild = "100000000000000777";
constexpr const char* kRole = "300000000000000001";

std::string stop_dev(const std::string& id) {
  return std::string(R"({"id":")") + id +
         R"(","application_id":"100000000000000001","type":2,"token":"itok-)" + id +
         R"(","version":1,"guild_id":")" + kGuild +
         R"(","channel_id":"200000000000000001","member":{"user":{"id":"400000000000000001",)"
         R"("username":"alice"},"roles":[")" +
         kRole +
         R"("]},"data":{"id":"9","name":"infra","type":1,"options":[{"name":"stop","type":1,)"
         R"("options":[{"name":"env","type":3,"value":"dev"}]}]}})";
}

// Request ids as each process makes them (UUIDs in the service): never the same twice.
class Ids final : public core::IdSource {
 public:
  explicit Ids(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string next() override { return prefix_ + "-req-" + std::to_string(++n_); }

 private:
  std::string prefix_;
  std::atomic<int> n_{0};
};

// One process's Discord side: its REST client answers from a script.
struct Side {
  Side(infra::SharedState& state, bool across, infra::Backend& backend,
       core::ManualScheduler& scheduler, const std::string& replica)
      : ids("discord-" + replica) {
    http.set_handler([](const auto&) {
      return test::ScriptedHttpClient::Answer(core::http::Response{200, {}, "{}"});
    });
    infra::PolicySettings policy_settings;
    policy_settings.discord_allowed_roles = {kRole};
    policy_settings.cooldown = 0s;
    policy = std::make_unique<infra::Policy>(policy_settings, scheduler.clock(), state);
    runner = std::make_unique<infra::CommandRunner>(
        infra::RunnerSettings{infra::ParserSettings{},
                              {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
        *policy, backend, scheduler.clock(), ids, core::make_null_logger());
    rest = std::make_unique<discord::RestClient>(
        discord::RestSettings{"https://discord.test/api/v10", "bot-token-0123456789", "1"}, http,
        scheduler.clock(), core::make_null_logger(), [](std::chrono::milliseconds) {});
    discord_front::FrontSettings settings;
    settings.guild_id = kGuild;
    settings.state = &state;
    settings.across_front_ends = across;
    settings.replica = replica;
    front = std::make_unique<discord_front::Front>(
        settings, *runner, *rest, scheduler, scheduler.clock(), metrics, core::make_null_logger(),
        core::make_null_logger());
  }
  // Callbacks sent (POST …/callback), by body.
  std::vector<std::string> callbacks() const {
    std::vector<std::string> out;
    for (const auto& request : http.requests()) {
      if (request.url.find("/callback") != std::string::npos) out.push_back(request.body);
    }
    return out;
  }
  // Edits of @original, by body.
  std::vector<std::string> edits() const {
    std::vector<std::string> out;
    for (const auto& request : http.requests()) {
      if (request.method == "PATCH") out.push_back(request.body);
    }
    return out;
  }
  bool wait_edits(std::size_t n) const {
    for (int i = 0; i < 400 && edits().size() < n; ++i) std::this_thread::sleep_for(10ms);
    return edits().size() >= n;
  }
  bool wait_callbacks(std::size_t n) const {
    for (int i = 0; i < 400 && callbacks().size() < n; ++i) std::this_thread::sleep_for(10ms);
    return callbacks().size() >= n;
  }

  Ids ids;
  test::ScriptedHttpClient http;
  core::metrics::Registry metrics;
  std::unique_ptr<infra::Policy> policy;
  std::unique_ptr<infra::CommandRunner> runner;
  std::unique_ptr<discord::RestClient> rest;
  std::unique_ptr<discord_front::Front> front;  // last: destroyed first
};

TEST(DiscordFrontReplicas, EverySessionReceivesTheInteractionAndOneAnswers) {
  core::ManualScheduler scheduler;
  test::SharedMemoryState state(scheduler.clock());
  infra::SimulatedBackend backend({"dev", "staging", "prod"}, scheduler.clock());
  Side a(state, false, backend, scheduler, "a");
  Side b(state, false, backend, scheduler, "b");
  a.front->on_interaction(stop_dev("701"));
  b.front->on_interaction(stop_dev("701"));
  ASSERT_TRUE(a.wait_callbacks(1) || b.wait_callbacks(1));
  std::this_thread::sleep_for(200ms);  // a second answer, if any, would be out by now
  EXPECT_EQ(a.callbacks().size() + b.callbacks().size(), 1u);
}

TEST(DiscordFrontReplicas, AnInteractionIsStillAnsweredWhenTheStateCannotBeReached) {
  core::ManualScheduler scheduler;
  test::SharedMemoryState state(scheduler.clock());
  infra::SimulatedBackend backend({"dev", "staging", "prod"}, scheduler.clock());
  Side a(state, false, backend, scheduler, "a");
  state.fail(true);
  a.front->on_interaction(stop_dev("702"));
  ASSERT_TRUE(a.wait_callbacks(1));
  ASSERT_TRUE(a.wait_edits(1));
  // The change is refused (fail closed) — but answered, privately.
  EXPECT_EQ(a.callbacks()[0], R"({"type":5,"data":{"flags":64}})");
  EXPECT_THAT(a.edits()[0], HasSubstr("shared state"));
}

TEST(DiscordFrontWithSlack, OneLockPerEnvironmentAcrossTheFrontEndsOfOneProcess) {
  core::ManualScheduler scheduler;
  infra::MemoryState state(scheduler.clock());
  infra::SimulatedBackend simulated({"dev", "staging", "prod"}, scheduler.clock());
  test::GatedBackend backend(simulated);
  backend.hold("stop");
  // "Slack": a lifecycle of its own on the same state, as slack_front::App builds it.
  Ids ids("slack");
  infra::PolicySettings policy_settings;
  policy_settings.cooldown = 0s;
  infra::Policy policy(policy_settings, scheduler.clock(), state);
  infra::CommandRunner runner(
      infra::RunnerSettings{infra::ParserSettings{}, {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
      policy, backend, scheduler.clock(), ids, core::make_null_logger());
  core::metrics::Registry metrics;
  infra::Replication replication;
  replication.state = &state;
  replication.replica = "one-process";
  replication.across_front_ends = true;
  infra::Lifecycle slack({}, runner, scheduler, scheduler.clock(), metrics,
                         core::make_null_logger(), core::make_null_logger(), nullptr, nullptr,
                         replication);
  Side discord(state, true, backend, scheduler, "one-process");

  infra::Inbound inbound;
  inbound.source = "slash_command";
  inbound.who = infra::Requester{"U0SLACK01", "sam", "T0TEAM", "C0CHAN"};
  inbound.text = "stop dev";
  auto conversation = std::make_shared<test::RecordingConversation>();
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(slack.submit(inbound, conversation)));
  ASSERT_TRUE(backend.wait_for_waiting(1, "stop"));

  discord.front->on_interaction(stop_dev("703"));
  ASSERT_TRUE(discord.wait_edits(1));
  EXPECT_EQ(discord.callbacks()[0], R"({"type":5,"data":{"flags":64}})");
  EXPECT_THAT(discord.edits()[0], HasSubstr("already running"));

  backend.release("stop");
  ASSERT_TRUE(conversation->wait_finished(5s));
  // Free again: Discord's stop dev runs.
  discord.front->on_interaction(stop_dev("704"));
  ASSERT_TRUE(discord.wait_callbacks(2));
  EXPECT_THAT(discord.callbacks()[1], HasSubstr(R"("type":5)"));
  backend.release_all();
}

TEST(DiscordFrontWithSlack, ADrainInterruptsItsJobsWithNoOtherProcessToReportThem) {
  core::ManualScheduler scheduler;
  infra::MemoryState state(scheduler.clock());
  infra::SimulatedBackend simulated({"dev", "staging", "prod"}, scheduler.clock());
  test::GatedBackend backend(simulated);
  backend.hold("stop");
  Side discord(state, true, backend, scheduler, "one-process");
  discord.front->on_interaction(stop_dev("705"));
  ASSERT_TRUE(backend.wait_for_waiting(1, "stop"));
  const auto report = discord.front->drain(200ms);
  EXPECT_EQ(report.interrupted, 1u);
  EXPECT_EQ(report.handed_over, 0u);
  backend.release_all();
}

}  // namespace

namespace {

// Another process of the bot (a rolling deploy) acknowledged the interaction
// first: Discord refuses this one's deferral (40060), and nothing runs here.
TEST(DiscordFrontReplicas, AnInteractionAnotherProcessTookRunsNothingHere) {
  core::ManualScheduler scheduler;
  infra::MemoryState state(scheduler.clock());
  infra::SimulatedBackend simulated({"dev", "staging", "prod"}, scheduler.clock());
  test::GatedBackend backend(simulated);
  backend.hold("stop");
  Side side(state, false, backend, scheduler, "late");
  side.http.set_handler([](const core::http::Request& request) {
    if (request.url.find("/callback") != std::string::npos) {
      return test::ScriptedHttpClient::Answer(core::http::Response{
          400, {}, R"({"message": "Interaction has already been acknowledged.", "code": 40060})"});
    }
    return test::ScriptedHttpClient::Answer(core::http::Response{200, {}, "{}"});
  });
  side.front->on_interaction(stop_dev("706"));
  ASSERT_TRUE(side.wait_callbacks(1));
  EXPECT_FALSE(backend.wait_for_waiting(1, "stop", 300ms)) << "no stop ran";
  EXPECT_TRUE(side.edits().empty());
  backend.release_all();
}

}  // namespace
