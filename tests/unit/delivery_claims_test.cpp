// slack_front::DeliveryClaims (issue 18), white-box: two replicas' claims on
// one SharedMemoryState (a MemoryState that says it is shared). claim_now()
// runs on the test thread; time is a core::ManualClock.
#include "delivery_claims.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "recording_sink.hpp"
#include "shared_memory_state.hpp"
#include "slack/envelope.hpp"

namespace {

using namespace std::chrono_literals;

// Every ack sent: envelope id and payload.
struct AckLog {
  struct Sent {
    std::string envelope_id;
    std::optional<std::string> payload;
  };
  std::vector<Sent> sent;

  slack_front::AckFunction function() {
    return [this](const std::string& envelope_id, std::optional<std::string> payload,
                  const slack_front::AckWritten& on_written) {
      sent.push_back({envelope_id, std::move(payload)});
      if (on_written) on_written();
      return core::Status{};
    };
  }
};

slack::Envelope slash_command(std::string envelope_id, std::string trigger_id) {
  slack::Envelope envelope;
  envelope.envelope_id = std::move(envelope_id);
  envelope.type = "slash_commands";
  envelope.accepts_response_payload = true;
  slack::SlashCommand command;
  command.command = "/infra";
  command.text = "stop dev";
  command.user_id = "U0ALICE01";
  command.trigger_id = std::move(trigger_id);
  envelope.payload = command;
  return envelope;
}

slack::Envelope event(std::string envelope_id, std::string event_id) {
  slack::Envelope envelope;
  envelope.envelope_id = std::move(envelope_id);
  envelope.type = "events_api";
  slack::Event inner;
  inner.event_id = std::move(event_id);
  inner.type = "app_mention";
  inner.text = "<@UBOT> status dev";
  envelope.payload = inner;
  return envelope;
}

class DeliveryClaimsTest : public testing::Test {
 protected:
  slack_front::DeliveryClaimSettings settings(std::string replica) {
    slack_front::DeliveryClaimSettings out;
    out.replica = std::move(replica);
    out.handling = 10s;
    out.ack_wait = 30ms;  // a loser waits this long for the winner's ack
    out.poll = 5ms;
    out.retry_after = 1ms;
    out.store_retry = 1ms;
    out.threads = 1;
    return out;
  }

  core::ManualClock clock_;
  test::SharedMemoryState state_{clock_};
  std::shared_ptr<test::RecordingSink> sink_ = std::make_shared<test::RecordingSink>();
  core::LoggerPtr logger_ =
      core::make_logger("infra-bot", core::LogFormat::json, core::LogLevel::debug, {sink_}, {});
  slack_front::DeliveryClaims a_{state_, settings("replica-a"), clock_, logger_};
  slack_front::DeliveryClaims b_{state_, settings("replica-b"), clock_, logger_};
};

TEST_F(DeliveryClaimsTest, TheWinnerHandlesItAndTheLoserAcksWithTheStoredPayload) {
  constexpr auto kPayload = R"({"text":"Working on `stop dev`…"})";
  AckLog a_acks;
  int a_handled = 0;
  a_.claim_now(slash_command("env-1", "trigger-1"), a_acks.function(),
               [&](const slack_front::AckFunction& ack) {
                 ++a_handled;
                 ASSERT_TRUE(ack);
                 EXPECT_TRUE(ack("env-1", std::string(kPayload), {}));
               });
  EXPECT_EQ(a_handled, 1);
  ASSERT_EQ(a_acks.sent.size(), 1u);
  EXPECT_EQ(a_acks.sent[0].envelope_id, "env-1");
  EXPECT_EQ(a_acks.sent[0].payload, std::optional<std::string>(kPayload));
  // Stored under the envelope's type and natural key, for the other replicas.
  auto stored = state_.stored_ack("slash_commands trigger-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, std::optional<std::string>(kPayload));

  // Slack delivers it again, to B, under a new envelope id: B runs nothing
  // and acks that envelope with A's payload.
  AckLog b_acks;
  int b_handled = 0;
  b_.claim_now(slash_command("env-2", "trigger-1"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 0);
  ASSERT_EQ(b_acks.sent.size(), 1u);
  EXPECT_EQ(b_acks.sent[0].envelope_id, "env-2");
  EXPECT_EQ(b_acks.sent[0].payload, std::optional<std::string>(kPayload));

  // Another trigger is another delivery: B wins it.
  b_.claim_now(slash_command("env-3", "trigger-2"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 1);
}

TEST_F(DeliveryClaimsTest, AnAckWithoutPayloadIsRepeatedWithoutPayload) {
  AckLog a_acks;
  a_.claim_now(
      slash_command("env-1", "trigger-1"), a_acks.function(),
      [](const slack_front::AckFunction& ack) { EXPECT_TRUE(ack("env-1", std::nullopt, {})); });
  ASSERT_EQ(a_acks.sent.size(), 1u);

  AckLog b_acks;
  int b_handled = 0;
  b_.claim_now(slash_command("env-2", "trigger-1"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 0);
  ASSERT_EQ(b_acks.sent.size(), 1u);
  EXPECT_EQ(b_acks.sent[0].envelope_id, "env-2");
  EXPECT_EQ(b_acks.sent[0].payload, std::nullopt);
}

TEST_F(DeliveryClaimsTest, ALoserWithNoStoredAckLeavesTheEnvelopeUnacked) {
  AckLog a_acks;
  int a_handled = 0;
  // A won but has not acked yet (still handling it, or died).
  a_.claim_now(slash_command("env-1", "trigger-1"), a_acks.function(),
               [&](const slack_front::AckFunction&) { ++a_handled; });
  EXPECT_EQ(a_handled, 1);
  EXPECT_TRUE(a_acks.sent.empty());

  AckLog b_acks;
  int b_handled = 0;
  b_.claim_now(slash_command("env-2", "trigger-1"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 0);
  EXPECT_TRUE(b_acks.sent.empty()) << "left for Slack to deliver again";

  // A winner that stored no ack within `handling` is presumed dead: the next
  // delivery is handled.
  clock_.advance(11s);
  b_.claim_now(slash_command("env-3", "trigger-1"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 1);
}

TEST_F(DeliveryClaimsTest, ADeliveryWhoseDeadClaimantStartedItsJobIsAckedNotRunAgain) {
  // C acks a delivery it takes over with the "working" text of the job it finds.
  slack_front::DeliveryClaims c{
      state_, settings("replica-c"), clock_, logger_,
      [](const slack::Envelope&, const infra::JobRecord& job) -> std::optional<std::string> {
        return "working on " + job.command;
      }};
  AckLog a_acks;
  a_.claim_now(
      slash_command("env-1", "trigger-1"), a_acks.function(), [&](const slack_front::AckFunction&) {
        // A starts the job (its record names the delivery), then dies before acking.
        infra::JobRecord record;
        record.job_id = "job-1";
        record.replica = "replica-a";
        record.command = "stop dev";
        record.delivery = slack_front::DeliveryClaims::key_of(slash_command("env-1", "trigger-1"));
        record.started = clock_.now();
        record.expires_at = clock_.now() + 60s;
        ASSERT_TRUE(state_.put_job(record));
      });
  ASSERT_TRUE(a_acks.sent.empty());
  clock_.advance(11s);  // past A's handling time: the delivery can be taken over

  AckLog c_acks;
  int c_handled = 0;
  c.claim_now(slash_command("env-1", "trigger-1"), c_acks.function(),
              [&](const slack_front::AckFunction&) { ++c_handled; });
  EXPECT_EQ(c_handled, 0) << "its job runs already: never a second time";
  ASSERT_EQ(c_acks.sent.size(), 1u);
  EXPECT_EQ(c_acks.sent[0].payload, std::optional<std::string>("working on stop dev"));

  // A later delivery of it finds that ack stored, like any loser.
  AckLog b_acks;
  int b_handled = 0;
  b_.claim_now(slash_command("env-2", "trigger-1"), b_acks.function(),
               [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 0);
  ASSERT_EQ(b_acks.sent.size(), 1u);
  EXPECT_EQ(b_acks.sent[0].payload, std::optional<std::string>("working on stop dev"));
}

TEST_F(DeliveryClaimsTest, ADeliveryWhoseDeadClaimantStartedNothingIsHandled) {
  slack_front::DeliveryClaims c{
      state_, settings("replica-c"), clock_, logger_,
      [](const slack::Envelope&, const infra::JobRecord&) -> std::optional<std::string> {
        return "never used";
      }};
  AckLog a_acks;
  a_.claim_now(slash_command("env-1", "trigger-1"), a_acks.function(),
               [](const slack_front::AckFunction&) {});  // died before starting anything
  clock_.advance(11s);
  AckLog c_acks;
  int c_handled = 0;
  c.claim_now(slash_command("env-1", "trigger-1"), c_acks.function(),
              [&](const slack_front::AckFunction&) { ++c_handled; });
  EXPECT_EQ(c_handled, 1);
}

TEST_F(DeliveryClaimsTest, AnEventIsHandledByOneReplicaOnly) {
  int a_handled = 0;
  bool a_had_ack = true;
  a_.claim_now(event("env-1", "Ev1"), {}, [&](const slack_front::AckFunction& ack) {
    ++a_handled;
    a_had_ack = static_cast<bool>(ack);
  });
  EXPECT_EQ(a_handled, 1);
  EXPECT_FALSE(a_had_ack) << "an event is acked before it is claimed";

  int b_handled = 0;
  b_.claim_now(event("env-2", "Ev1"), {}, [&](const slack_front::AckFunction&) { ++b_handled; });
  EXPECT_EQ(b_handled, 0);
}

TEST_F(DeliveryClaimsTest, WithTheStateDownEveryReplicaHandlesIt) {
  state_.fail(true);
  AckLog a_acks;
  AckLog b_acks;
  int handled = 0;
  const auto handler = [&](const slack_front::AckFunction& ack) {
    ++handled;
    ASSERT_TRUE(ack);
    EXPECT_TRUE(ack("env", std::string(R"({"text":"refused"})"), {}));
  };
  a_.claim_now(slash_command("env-1", "trigger-1"), a_acks.function(), handler);
  EXPECT_EQ(state_.calls(), 4) << "the claim in 4 rounds; no store of its ack: nowhere to put it";
  b_.claim_now(slash_command("env-2", "trigger-1"), b_acks.function(), handler);
  EXPECT_EQ(handled, 2) << "handled (the lifecycle refuses changes), never dropped";
  ASSERT_EQ(a_acks.sent.size(), 1u);
  ASSERT_EQ(b_acks.sent.size(), 1u);
  EXPECT_EQ(b_acks.sent[0].payload, std::optional<std::string>(R"({"text":"refused"})"));
}

}  // namespace
