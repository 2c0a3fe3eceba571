// Replicas of infra-bot sharing one state (issue 18), in one process: three
// infra::Lifecycle instances — each with its own policy, runner, gated view of
// one simulated backend, request ids, audit log and ConversationOpener —
// sharing one SharedMemoryState (a MemoryState that says it is shared) and
// one core::ManualScheduler, whose clock they all read. The heartbeat and
// sweep timers are set an hour apart so that only the test runs them
// (heartbeat_now, sweep_now) while it moves the clock past leases.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "gated_backend.hpp"
#include "infra/command_runner.hpp"
#include "infra/lifecycle.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "recording_conversation.hpp"
#include "recording_sink.hpp"
#include "shared_memory_state.hpp"

namespace {

using namespace std::chrono_literals;
using core::reply::Message;
using testing::Contains;
using testing::HasSubstr;
using testing::Not;
namespace views = infra::views;

constexpr auto kWait = 5s;

// Waits until `done` holds, at most `timeout` of real time.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
  const core::SystemClock real;
  const auto deadline = real.monotonic() + timeout;
  while (!done()) {
    if (real.monotonic() >= deadline) return done();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// What a front end would send, recorded in order; reopenable at `address`.
using test::RecordingConversation;

// Every reopen() with its address, and the conversation it gave.
class RecordingOpener final : public infra::ConversationOpener {
 public:
  std::shared_ptr<infra::Conversation> reopen(const std::string& address) override {
    auto conversation = std::make_shared<RecordingConversation>(address);
    std::lock_guard lock(mutex_);
    addresses_.push_back(address);
    opened_.push_back(conversation);
    return conversation;
  }
  std::vector<std::string> addresses() const {
    std::lock_guard lock(mutex_);
    return addresses_;
  }
  std::vector<std::shared_ptr<RecordingConversation>> opened() const {
    std::lock_guard lock(mutex_);
    return opened_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> addresses_;
  std::vector<std::shared_ptr<RecordingConversation>> opened_;
};

// Request ids unique across replicas ("a-req-1"): job records are keyed by them.
class PrefixedIds final : public core::IdSource {
 public:
  explicit PrefixedIds(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string next() override { return prefix_ + "-req-" + std::to_string(++count_); }

 private:
  std::string prefix_;
  std::atomic<int> count_{0};
};

// One replica: everything a process has of its own.
struct Replica {
  Replica(const std::string& replica_name, infra::SharedState& state, infra::Backend& simulated,
          core::ManualScheduler& scheduler, std::chrono::seconds cooldown)
      : name(replica_name), ids(replica_name), backend(simulated) {
    infra::PolicySettings settings;
    settings.cooldown = cooldown;
    policy = std::make_unique<infra::Policy>(std::move(settings), scheduler.clock(), state);
    runner = std::make_unique<infra::CommandRunner>(
        infra::RunnerSettings{infra::ParserSettings{},
                              {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
        *policy, backend, scheduler.clock(), ids, logger);
    infra::LifecycleSettings lifecycle_settings;
    lifecycle_settings.progress_after = 20s;
    lifecycle_settings.max_progress_updates = 0;  // only finished() reaches a conversation
    infra::Replication replication{&state, "replica-" + name, 60s, 1h, 1h, &opener};
    lifecycle = std::make_unique<infra::Lifecycle>(lifecycle_settings, *runner, scheduler,
                                                   scheduler.clock(), metrics, logger, audit,
                                                   nullptr, nullptr, std::move(replication));
  }

  // The audit lines' outcomes, in order.
  std::vector<std::string> audit_outcomes() const {
    std::vector<std::string> out;
    for (const auto& line : audit_sink->lines()) {
      const auto at = line.find("\"outcome\":\"");
      if (at == std::string::npos) continue;
      const auto start = at + 11;
      out.push_back(line.substr(start, line.find('"', start) - start));
    }
    return out;
  }

  std::string name;
  PrefixedIds ids;
  test::GatedBackend backend;
  core::metrics::Registry metrics;
  std::shared_ptr<test::RecordingSink> audit_sink = std::make_shared<test::RecordingSink>();
  std::shared_ptr<test::RecordingSink> log_sink = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::debug, {log_sink}, {});
  core::LoggerPtr audit = core::make_logger("audit", core::LogFormat::json, core::LogLevel::info,
                                            {audit_sink}, {}, core::Payload::json_object);
  std::unique_ptr<infra::Policy> policy;
  std::unique_ptr<infra::CommandRunner> runner;
  RecordingOpener opener;
  std::unique_ptr<infra::Lifecycle> lifecycle;  // last: destroyed first
};

class LifecycleReplicasTest : public testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<Replica>("a", state_, simulated_, scheduler_, cooldown());
    b_ = std::make_unique<Replica>("b", state_, simulated_, scheduler_, cooldown());
    c_ = std::make_unique<Replica>("c", state_, simulated_, scheduler_, cooldown());
  }
  void TearDown() override {
    state_.fail(false);
    for (auto* replica : {a_.get(), b_.get(), c_.get()}) replica->backend.release_all();
    c_.reset();
    b_.reset();
    a_.reset();
  }

  virtual std::chrono::seconds cooldown() const { return 0s; }

  static infra::Inbound request(std::string text, std::string user, std::string name) {
    return infra::Inbound{
        "slash_command", {std::move(user), std::move(name), "T1", "C1"}, std::move(text), ""};
  }

  std::pair<infra::Outcome, std::shared_ptr<RecordingConversation>> submit(
      Replica& replica, std::string text, std::string user = "U0ALICE01",
      std::string name = "alice") {
    auto conversation = std::make_shared<RecordingConversation>(
        "conversation-" + std::to_string(++conversations_) + "@" + replica.name);
    auto outcome = replica.lifecycle->submit(
        request(std::move(text), std::move(user), std::move(name)), conversation);
    return {std::move(outcome), conversation};
  }

  static std::string answer_text(const infra::Outcome& outcome) {
    if (const auto* answer = std::get_if<infra::Answer>(&outcome)) return answer->message.text;
    return "<not an answer>";
  }

  core::ManualScheduler scheduler_;
  test::SharedMemoryState state_{scheduler_.clock()};
  infra::SimulatedBackend simulated_{{"dev", "staging", "prod"}, scheduler_.clock()};
  int conversations_ = 0;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
  std::unique_ptr<Replica> c_;
};

class LifecycleReplicasCooldownTest : public LifecycleReplicasTest {
 protected:
  std::chrono::seconds cooldown() const override { return 300s; }
};

TEST_F(LifecycleReplicasTest, AChangeOnOneReplicaHoldsTheEnvironmentOnAnother) {
  a_->backend.hold("stop");
  auto [first, first_conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first)) << answer_text(first);
  ASSERT_TRUE(a_->backend.wait_for_waiting(1, "stop"));

  auto [second, second_conversation] = submit(*b_, "stop dev", "U0BOB0002", "bob");
  EXPECT_THAT(answer_text(second), HasSubstr("`stop dev` is already running (started by @alice"));
  EXPECT_EQ(b_->backend.count("stop"), 0u);
  EXPECT_THAT(b_->audit_outcomes(), Contains("refused"));
  // A start is a change of the same services: held too, on the third replica.
  auto [start, unused] = submit(*c_, "start dev", "U0BOB0002", "bob");
  EXPECT_THAT(answer_text(start), HasSubstr("`stop dev` is already running"));

  // The allow-list is another lock: it runs on B beside A's stop.
  auto [whitelist, whitelist_conversation] =
      submit(*b_, "whitelist add 203.0.113.7 --env=dev", "U0BOB0002", "bob");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(whitelist)) << answer_text(whitelist);
  ASSERT_TRUE(whitelist_conversation->wait_finished());
  EXPECT_EQ(b_->backend.count("whitelist add"), 1u);
  EXPECT_EQ(a_->backend.count("stop"), 1u) << "A's stop is still held at the gate";
  EXPECT_TRUE(first_conversation->said().empty());

  a_->backend.release("stop");
  ASSERT_TRUE(first_conversation->wait_finished());
  EXPECT_TRUE(second_conversation->said().empty());
}

TEST_F(LifecycleReplicasTest, WhenAJobFinishesItsLockIsFreeOnEveryReplica) {
  a_->backend.hold("stop");
  auto [first, first_conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first)) << answer_text(first);
  ASSERT_TRUE(a_->backend.wait_for_waiting(1, "stop"));
  EXPECT_THAT(answer_text(submit(*b_, "stop dev", "U0BOB0002", "bob").first),
              HasSubstr("already running"));

  a_->backend.release("stop");
  ASSERT_TRUE(first_conversation->wait_finished());
  // The answer is given after the lock is released: B takes it at once.
  auto [second, second_conversation] = submit(*b_, "stop dev", "U0BOB0002", "bob");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(second)) << answer_text(second);
  ASSERT_TRUE(second_conversation->wait_finished());
  EXPECT_EQ(b_->backend.count("stop"), 1u);
  const auto said = second_conversation->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_THAT(said[0].message.text, HasSubstr("dev"));
  EXPECT_EQ(said[0].message.visibility, core::reply::Visibility::in_channel);
}

TEST_F(LifecycleReplicasCooldownTest, TheCooldownHoldsAcrossReplicas) {
  auto [first, first_conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first)) << answer_text(first);
  ASSERT_TRUE(first_conversation->wait_finished());

  scheduler_.advance(10s);
  auto [again, again_conversation] = submit(*b_, "stop dev");
  EXPECT_EQ(answer_text(again),
            ":no_entry: You ran `stop` 10 s ago. Wait 290 s before running it again.")
      << "the cooldown A started refuses the same user's stop on B";
  EXPECT_EQ(b_->backend.count("stop"), 0u);
  EXPECT_TRUE(again_conversation->said().empty());

  // The cooldown is the user's: another user's stop runs on C.
  auto [other, other_conversation] = submit(*c_, "stop dev", "U0BOB0002", "bob");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(other)) << answer_text(other);
  ASSERT_TRUE(other_conversation->wait_finished());

  // Once it is over the user may run it again, anywhere.
  scheduler_.advance(290s);
  auto [later, later_conversation] = submit(*b_, "stop dev");
  EXPECT_TRUE(std::holds_alternative<infra::Accepted>(later)) << answer_text(later);
  ASSERT_TRUE(later_conversation->wait_finished());
}

TEST_F(LifecycleReplicasTest, ADeadReplicasJobIsReportedByASurvivorExactlyOnce) {
  a_->backend.hold("stop");
  auto [outcome, conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(outcome)) << answer_text(outcome);
  ASSERT_TRUE(a_->backend.wait_for_waiting(1, "stop"));

  // A shuts down while the job runs: it is left recorded for a survivor,
  // not told "interrupted", and A heartbeats no more.
  const auto report = a_->lifecycle->drain(50ms);
  EXPECT_EQ(report.handed_over, 1u);
  EXPECT_EQ(report.interrupted, 0u);
  EXPECT_EQ(report.finished, 0u);
  EXPECT_TRUE(conversation->said().empty());

  // Within the 60 s lease nobody reports it.
  scheduler_.advance(59s);
  b_->lifecycle->sweep_now();
  EXPECT_TRUE(b_->opener.addresses().empty());

  scheduler_.advance(2s);
  b_->lifecycle->sweep_now();
  ASSERT_EQ(b_->opener.addresses(), std::vector<std::string>{conversation->address()});
  const auto reopened = b_->opener.opened().front();
  const auto said = reopened->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].kind, "finished");
  EXPECT_THAT(
      said[0].message.text,
      HasSubstr("The bot restarted while `stop dev` ran (started by @alice 1 min 1 s ago)"));
  EXPECT_THAT(said[0].message.text, HasSubstr("Here is the state now:"));
  EXPECT_EQ(said[0].message.visibility, core::reply::Visibility::in_channel);
  EXPECT_EQ(b_->backend.count("status"), 1u) << "the state now, read by the survivor";
  EXPECT_THAT(b_->audit_outcomes(), Contains("orphaned"));

  // Reported once: later sweeps, here or on a third replica, find nothing.
  b_->lifecycle->sweep_now();
  c_->lifecycle->sweep_now();
  EXPECT_EQ(b_->opener.addresses().size(), 1u);
  EXPECT_TRUE(c_->opener.addresses().empty());
  EXPECT_EQ(reopened->said().size(), 1u);

  // A's job ends after all: it must not answer a second time.
  a_->backend.release("stop");
  ASSERT_TRUE(a_->backend.wait_for_completed(1));
  ASSERT_TRUE(eventually([&] {
    const auto outcomes = a_->audit_outcomes();
    return std::find(outcomes.begin(), outcomes.end(), "reported_elsewhere") != outcomes.end();
  })) << "A's audit line says the job was reported elsewhere";
  EXPECT_TRUE(eventually([&] { return a_->lifecycle->jobs_in_flight() == 0; }));
  EXPECT_TRUE(conversation->said().empty());
  EXPECT_THAT(a_->audit_outcomes(), Not(Contains("ok")));
  EXPECT_THAT(a_->audit_outcomes(), Not(Contains("interrupted")));
}

TEST_F(LifecycleReplicasTest, ALiveJobIsNeverReported) {
  a_->backend.hold("stop");
  auto [outcome, conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(outcome)) << answer_text(outcome);
  ASSERT_TRUE(a_->backend.wait_for_waiting(1, "stop"));

  scheduler_.advance(50s);
  a_->lifecycle->heartbeat_now();
  scheduler_.advance(50s);  // 100 s after it started: past the first lease, within the renewed one
  b_->lifecycle->sweep_now();
  c_->lifecycle->sweep_now();
  EXPECT_TRUE(b_->opener.addresses().empty());
  EXPECT_TRUE(c_->opener.addresses().empty());
  // The heartbeat renewed the lock too.
  EXPECT_THAT(answer_text(submit(*b_, "stop dev", "U0BOB0002", "bob").first),
              HasSubstr("already running"));

  // What kept it was the heartbeat: without one the renewed lease lapses too.
  scheduler_.advance(11s);
  b_->lifecycle->sweep_now();
  EXPECT_EQ(b_->opener.addresses(), std::vector<std::string>{conversation->address()});

  a_->backend.release("stop");
  ASSERT_TRUE(eventually([&] { return a_->lifecycle->jobs_in_flight() == 0; }));
  EXPECT_TRUE(conversation->said().empty()) << "reported by B already";
}

TEST_F(LifecycleReplicasTest, WithTheStateDownChangesAreRefusedAndReadsGoOn) {
  state_.fail(true);
  auto [stop, stop_conversation] = submit(*a_, "stop dev");
  EXPECT_THAT(answer_text(stop), HasSubstr("cannot reach its shared state"));
  auto [whitelist, unused] = submit(*b_, "whitelist add 203.0.113.7 --env=dev");
  EXPECT_THAT(answer_text(whitelist), HasSubstr("cannot reach its shared state"));
  EXPECT_TRUE(a_->backend.calls().empty());
  EXPECT_TRUE(b_->backend.calls().empty());
  EXPECT_TRUE(stop_conversation->said().empty());
  bool audited = false;
  for (const auto& line : a_->audit_sink->lines()) {
    audited = audited || line.find("\"reason\":\"state_unavailable\"") != std::string::npos;
  }
  EXPECT_TRUE(audited);

  auto [status, status_conversation] = submit(*a_, "status dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(status)) << answer_text(status);
  ASSERT_TRUE(status_conversation->wait_finished());
  const auto said = status_conversation->said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_THAT(said[0].message.text, HasSubstr("dev"));
  EXPECT_EQ(a_->backend.count("status"), 1u);

  // Back up: changes are made again.
  state_.fail(false);
  auto [later, later_conversation] = submit(*a_, "stop dev");
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(later)) << answer_text(later);
  ASSERT_TRUE(later_conversation->wait_finished());
  EXPECT_EQ(a_->backend.count("stop"), 1u);
}

// A confirmation dialog submitted twice (a double click) may reach two
// replicas: the first runs the teardown, the second is ignored (no answer,
// nothing run) on whichever replica it lands.
TEST_F(LifecycleReplicasTest, ATeardownConfirmedTwiceOnTwoReplicasRunsOnce) {
  auto [asked, unused] = submit(*a_, "teardown dev --level=full");
  const auto* confirm = std::get_if<infra::Confirm>(&asked);
  ASSERT_NE(confirm, nullptr) << answer_text(asked);
  const auto confirmation = confirm->needs.confirmation;

  auto on_a = std::make_shared<RecordingConversation>("dialog@a");
  const auto first =
      a_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V1", on_a);
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first)) << answer_text(first);
  ASSERT_TRUE(on_a->wait_finished());

  auto on_b = std::make_shared<RecordingConversation>("dialog@b");
  const auto second =
      b_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V1", on_b);
  EXPECT_TRUE(std::holds_alternative<infra::Ignored>(second)) << answer_text(second);
  const auto third =
      c_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V1", on_b);
  EXPECT_TRUE(std::holds_alternative<infra::Ignored>(third)) << answer_text(third);

  EXPECT_EQ(a_->backend.count("teardown"), 1u);
  EXPECT_EQ(b_->backend.count("teardown"), 0u);
  EXPECT_EQ(c_->backend.count("teardown"), 0u);
  EXPECT_TRUE(on_b->said().empty());
  // Another dialog is another confirmation: it runs (on B).
  auto on_b2 = std::make_shared<RecordingConversation>("dialog2@b");
  const auto other =
      b_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V2", on_b2);
  EXPECT_TRUE(std::holds_alternative<infra::Accepted>(other)) << answer_text(other);
  ASSERT_TRUE(on_b2->wait_finished());
  EXPECT_EQ(b_->backend.count("teardown"), 1u);
}

// KNOWN BUG (reported, not fixed): a double submit that reaches B while A's
// teardown still runs is answered "already running" (and, with a cooldown,
// "You ran `teardown` … ago" even after A finished) instead of being ignored:
// Lifecycle::confirm() asks the shared state whether the dialog was submitted
// before (ReplicaJobs::first_submit) only after the shared lock and the policy
// passed, and the state has no read of a one-time claim that would let it ask
// earlier without consuming the dialog. On one replica the same double submit
// is Ignored (the local consumed-dialog check comes first). Enable once fixed.
TEST_F(LifecycleReplicasTest, ATeardownConfirmedAgainWhileTheFirstRunsIsIgnored) {
  auto [asked, unused] = submit(*a_, "teardown dev --level=full");
  const auto* confirm = std::get_if<infra::Confirm>(&asked);
  ASSERT_NE(confirm, nullptr) << answer_text(asked);
  const auto confirmation = confirm->needs.confirmation;

  a_->backend.hold("teardown");
  auto on_a = std::make_shared<RecordingConversation>("dialog@a");
  const auto first =
      a_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V1", on_a);
  ASSERT_TRUE(std::holds_alternative<infra::Accepted>(first)) << answer_text(first);
  ASSERT_TRUE(a_->backend.wait_for_waiting(1, "teardown"));

  auto on_b = std::make_shared<RecordingConversation>("dialog@b");
  const auto second =
      b_->lifecycle->confirm(confirmation, "dev", request("", "U0ALICE01", "alice"), "V1", on_b);
  EXPECT_TRUE(std::holds_alternative<infra::Ignored>(second)) << answer_text(second);
  a_->backend.release("teardown");
  ASSERT_TRUE(on_a->wait_finished());
  EXPECT_EQ(b_->backend.count("teardown"), 0u);
}

}  // namespace
