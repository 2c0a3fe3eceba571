// infra::DynamoDbState through the fault proxy: 500s and throttling are
// retried, a store that is gone fails `unavailable` within the bound and
// failing_for() grows, and a claim whose success was hidden by a dropped answer
// is still won by the replica that made it.

#include <gtest/gtest.h>

#include "core/scheduler.hpp"
#include "dynamodb_fakes.hpp"
#include "infra/dynamodb_state.hpp"

namespace {

using namespace std::chrono_literals;

class DynamoDbStateFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::state_node_modules_present()) {
      GTEST_SKIP() << "no dynalite in " << test::state_node_modules()
                   << " (./dev.sh test installs it)";
    }
    ASSERT_TRUE(db_.start("faults"));
    state_ = std::make_unique<infra::DynamoDbState>(db_.stack().client(), db_.table(), clock_,
                                                    db_.stack().logger());
  }

  core::ManualClock clock_;
  test::ProxiedTable db_;
  std::unique_ptr<infra::DynamoDbState> state_;
};

TEST_F(DynamoDbStateFaults, ServerErrorsAndThrottlingAreRetried) {
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["error_500", "throttle"]})"));
  auto claim = state_->claim_delivery("ev1", "r1", 600s, 30s);
  ASSERT_TRUE(claim) << claim.error().detail;
  EXPECT_TRUE(claim->won);
  EXPECT_EQ(state_->failing_for(), 0ms);
  // Random faults at a fixed seed: every call still gets its answer.
  ASSERT_TRUE(db_.proxy().configure(R"({"error_500_rate": 0.2, "throttle_rate": 0.2, "seed": 7})"));
  for (int i = 0; i < 10; ++i) {
    auto once = state_->claim_once("k" + std::to_string(i), 60s);
    if (!once) {
      // Three faults in a row (0.4^3): allowed, but then it must say unavailable.
      EXPECT_EQ(once.error().code, core::ErrorCode::unavailable);
      continue;
    }
    EXPECT_TRUE(*once);
  }
  EXPECT_GT(db_.proxy().counter("error_500") + db_.proxy().counter("throttle"), 2);
}

TEST_F(DynamoDbStateFaults, ClaimWhoseSuccessWasHiddenIsStillWon) {
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["drop_after"]})"));
  auto claim = state_->claim_delivery("ev-hidden", "r1", 600s, 30s);
  ASSERT_TRUE(claim) << claim.error().detail;
  EXPECT_TRUE(claim->won);
  EXPECT_EQ(db_.proxy().counter("drop_after"), 1);
  // …and nobody else wins it.
  EXPECT_FALSE(state_->claim_delivery("ev-hidden", "r2", 600s, 30s)->won);
  // The same for a one-time claim and a lock.
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["drop_after"]})"));
  EXPECT_TRUE(*state_->claim_once("confirm", 60s));
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["drop_after"]})"));
  auto lock = state_->acquire_lock("dev/services",
                                   {"job-1", "r1", "stop dev", "@alice", clock_.now()}, 60s);
  ASSERT_TRUE(lock);
  EXPECT_FALSE(lock->has_value());
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["drop_before"]})"));
  EXPECT_FALSE(state_->claim_delivery("ev-hidden", "r3", 600s, 30s)->won);
}

TEST_F(DynamoDbStateFaults, AClaimWhoseEveryAnswerWasLostIsWonByTheNextRound) {
  // All three attempts reach the table and every answer is dropped: the
  // claim fails, but the first write landed.
  ASSERT_TRUE(db_.proxy().configure(R"({"script": ["drop_after", "drop_after", "drop_after"]})"));
  auto lost = state_->claim_delivery("ev-unsure", "r1", 600s, 30s);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(db_.proxy().counter("drop_after"), 3);
  // The caller's next round (once the breaker lets calls through again)
  // finds the claim its own, not another's.
  clock_.advance(3s);
  auto again = state_->claim_delivery("ev-unsure", "r1", 600s, 30s);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_TRUE(again->won);
  EXPECT_FALSE(again->taken_over);
  EXPECT_FALSE(state_->claim_delivery("ev-unsure", "r2", 600s, 30s)->won);
}

TEST_F(DynamoDbStateFaults, StoreGoneFailsUnavailableWithinTheBoundAndFailingForGrows) {
  ASSERT_TRUE(state_->claim_once("before", 60s));
  db_.dynalite().stop();
  core::SystemClock real;  // an upper-bound sanity check only
  const auto started = real.monotonic();
  auto claim = state_->claim_delivery("ev-down", "r1", 600s, 30s);
  const auto took = real.monotonic() - started;
  ASSERT_FALSE(claim);
  EXPECT_EQ(claim.error().code, core::ErrorCode::unavailable);
  EXPECT_NE(claim.error().user_message.find(db_.table()), std::string::npos);
  EXPECT_LT(took, 10s);
  EXPECT_EQ(state_->failing_for(), 0ms);  // the test clock has not moved yet
  clock_.advance(5s);
  EXPECT_FALSE(state_->count_read("U1", 10));
  EXPECT_EQ(state_->failing_for(), 5000ms);
  clock_.advance(30s);
  EXPECT_EQ(state_->failing_for(), 35000ms);
}

TEST_F(DynamoDbStateFaults, UnreachableEndpointFailsUnavailable) {
  // A port nothing listens on (the proxy's upstream once dynalite is gone is
  // tested above); here the client itself cannot connect.
  const std::string dead = db_.dynalite().endpoint();
  db_.dynalite().stop();
  test::DynamoDbStack direct(dead);
  ASSERT_TRUE(direct.ok());
  infra::DynamoDbState state(direct.client(), db_.table(), clock_, direct.logger());
  auto value = state.shared_value("signing-key", "secret-value");
  ASSERT_FALSE(value);
  EXPECT_EQ(value.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(value.error().detail.find("secret-value"), std::string::npos);
  EXPECT_EQ(value.error().user_message.find("secret-value"), std::string::npos);
}

TEST(DynamoDbStateSettings, BoundEachCallUnderFiveSeconds) {
  const auto settings = infra::DynamoDbState::settings_for("eu-west-1", "http://127.0.0.1:1");
  EXPECT_EQ(settings.region, "eu-west-1");
  EXPECT_EQ(settings.endpoint_url, "http://127.0.0.1:1");
  EXPECT_EQ(settings.connect_timeout, 1000ms);
  EXPECT_EQ(settings.timeout, 1500ms);
  EXPECT_EQ(settings.retry.max_attempts, 3);
  const auto worst = settings.timeout * settings.retry.max_attempts + settings.retry.max_delay * 2;
  EXPECT_LT(worst, 5000ms);
}

}  // namespace
