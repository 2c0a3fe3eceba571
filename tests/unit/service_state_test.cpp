// `infra-bot run` on a shared state table (issue 18), end to end: the built binary against the
// fake Slack and the fake Lambda, its state on dynalite behind the fault proxy. It creates the
// table at start; when the table stops answering, a change is refused with one line while a read
// goes on, /readyz turns unready after 30 s of failures, and everything recovers by itself once
// the table answers again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dynamodb_fakes.hpp"
#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using testing::HasSubstr;

class ServiceStateTest : public ServiceFixture {
 protected:
  void SetUp() override {
    if (!test::state_node_modules_present()) {
      GTEST_SKIP() << "no dynalite in " << test::state_node_modules()
                   << " (./dev.sh test installs it)";
    }
    dynalite_ = std::make_unique<test::Dynalite>();
    ASSERT_TRUE(dynalite_->ok());
    // Signatures are botocore's business elsewhere; here the proxy only injects faults.
    proxy_ = std::make_unique<test::FaultProxy>(dynalite_->endpoint(), "AKIDUNUSED:unused");
    ASSERT_TRUE(proxy_->ok());
  }

  Settings with_table() {
    return Settings()
        .env("INFRA_STATE_TABLE", test::unique_table_name("service"))
        .env("INFRA_STATE_CREATE_TABLE", "true")
        .env("AWS_ENDPOINT_URL_DYNAMODB", proxy_->endpoint())
        .env("INFRA_ALLOW_INSECURE_ENDPOINTS", "true");
  }

  // The ack's payload text of `/infra <text>`.
  std::string ack_text(std::string_view text) {
    auto cmd = slash(text);
    EXPECT_GT(slack().push(cmd.frame), 0);
    const auto ack = wait_ack(cmd.envelope_id, 10s);
    last_ = cmd;
    return member_json(ack, "payload");
  }

  std::unique_ptr<test::Dynalite> dynalite_;
  std::unique_ptr<test::FaultProxy> proxy_;
  Slash last_;
};

TEST_F(ServiceStateTest, ATableThatStopsAnsweringRefusesChangesKeepsReadsAndRecovers) {
  start(with_table());
  ASSERT_TRUE(wait_health("/readyz", 200, 10s));
  EXPECT_THAT(ack_text("stop dev"), HasSubstr("Working on `stop dev`"));
  ASSERT_TRUE(wait_final_replies(last_.response_id, 1, 10s));

  // No answer from the table at all (the connection closed before forwarding).
  ASSERT_TRUE(proxy_->configure(R"({"drop_before_rate": 1.0})"));
  EXPECT_THAT(ack_text("start dev"), HasSubstr("cannot reach its shared state right now"));
  EXPECT_TRUE(final_replies(last_.response_id).empty());
  EXPECT_THAT(ack_text("status dev"), HasSubstr("Working on `status dev`")) << "reads go on";
  EXPECT_TRUE(wait_final_replies(last_.response_id, 1, 10s));
  // Unready after 30 s of failures (the sweep keeps asking every 15 s).
  ASSERT_TRUE(wait_health("/readyz", 503, 60s));
  const auto unready = health_get("/readyz");
  ASSERT_TRUE(unready.has_value());
  EXPECT_THAT(unready->body, HasSubstr("the shared state (dynamodb) has failed for"));

  // The table answers again: ready at the first call that succeeds, changes taken again.
  ASSERT_TRUE(proxy_->configure(R"({"drop_before_rate": 0.0})"));
  ASSERT_TRUE(wait_health("/readyz", 200, 40s));
  EXPECT_THAT(ack_text("start dev"), HasSubstr("Working on `start dev`"));
  EXPECT_TRUE(wait_final_replies(last_.response_id, 1, 10s));
}

}  // namespace
