// `infra-bot run` with INFRA_BACKEND=aws end to end (issue 13): the built binary against the fake
// Slack and the fake AWS (ECS, RDS, EC2 and the tagging API on one TLS port, SigV4 and every
// request checked by botocore, real state), configured only through its environment. Every test
// asserts on the fake's state afterwards. Also: the allow-list expiry sweep in both backends (a
// notice per expired address in INFRA_NOTIFY_CHANNEL) and what needs the orchestrator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_aws.hpp"
#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using test::FakeAws;
using test::FakeSlack;
using testing::HasSubstr;

constexpr const char* kDevWhitelistGroup = "sg-0f1e2d3c4b5a61001";
constexpr const char* kDevInternalGroup = "sg-0f1e2d3c4b5a61002";
constexpr const char* kBastionDev = "i-0a1b2c3d4e5f61001";
constexpr const char* kRunnerDev = "i-0a1b2c3d4e5f61002";
constexpr const char* kNotifyChannel = "C0NOTIFY01";

// The fake AWS trusts the same keys the fixture exports for the fake Lambda.
FakeAws::Credentials shared_credentials() {
  const test::FakeLambda::Credentials lambda;
  return FakeAws::Credentials{lambda.access_key_id, lambda.secret_access_key, lambda.session_token};
}

std::string reply_text(const Document& body) {
  return body.IsObject() ? core::json::to_string(body) : std::string("<no reply>");
}

class ServiceAwsTest : public ServiceFixture {
 protected:
  ServiceAwsTest() : aws_(std::string_view{}, shared_credentials()) {}

  /// The bot on the aws backend pointed at the fake AWS (no Lambda at all).
  Settings aws_settings() {
    Settings settings;
    settings.env("INFRA_BACKEND", "aws")
        .env("ORCHESTRATOR_LAMBDA_ARN", std::nullopt)
        .env("IP_WHITELIST_LAMBDA_ARN", std::nullopt)
        .env("AWS_ENDPOINT_URL", aws_.endpoint())
        .env("INFRA_WHITELIST_SWEEP_SECONDS", "0");
    return settings;
  }

  /// Sends `/infra <text>` and returns its one final reply's body.
  Document run(std::string_view text, std::chrono::milliseconds timeout = 15s) {
    auto cmd = slash(text);
    EXPECT_GT(slack().push(cmd.frame), 0);
    return final_reply(cmd.response_id, timeout);
  }

  /// Sends `/infra <text>` for a teardown, types `env` into the modal it opens (the
  /// `n`-th views.open of the run) and returns the one final reply's body.
  Document run_confirmed(std::string_view text, std::string_view env, std::size_t n,
                         std::chrono::milliseconds timeout = 15s) {
    auto cmd = slash(text);
    EXPECT_GT(slack().push(cmd.frame), 0);
    EXPECT_EQ(member_json(wait_ack(cmd.envelope_id), "payload"), "null") << "a teardown acks empty";
    const auto view = opened_view(n);
    std::string submitted;
    EXPECT_GT(slack().push(view_submission(view, "V" + std::to_string(n), env, &submitted)), 0);
    EXPECT_EQ(member_json(wait_ack(submitted), "payload"), "null");
    return final_reply(cmd.response_id, timeout);
  }

  /// Every request the fake AWS saw was signed right (botocore) and valid for the model.
  void expect_all_verified() {
    for (const auto& request : aws_.requests()) {
      EXPECT_TRUE(FakeAws::verified(request)) << core::json::to_string(request);
    }
  }

  std::vector<std::string> bot_rule_cidrs(const rapidjson::Value& state, std::string_view group) {
    std::vector<std::string> out;
    for (const auto* rule : FakeAws::rules_of(state, group)) {
      if (str(*rule, "description").rfind("infra-bot:wl ", 0) == 0) {
        out.push_back(str(*rule, "cidrIpv4") + str(*rule, "cidrIpv6") + ":" +
                      std::to_string(core::json::get_int(*rule, "fromPort").value_or(-1)));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  /// chat.postMessage calls to `channel`, in order.
  std::vector<Document> posts_to(std::string_view channel) {
    std::vector<Document> out;
    for (auto& event : slack().events("api")) {
      const auto* body = core::json::get_object(event, "body");
      if (str(event, "method") == "chat.postMessage" && body != nullptr &&
          str(*body, "channel") == channel) {
        Document copy;
        copy.CopyFrom(*body, copy.GetAllocator());
        out.push_back(std::move(copy));
      }
    }
    return out;
  }

  FakeAws aws_;
};

TEST_F(ServiceAwsTest, StatusStopStartRebootAndTeardownServicesChangeTheFakesState) {
  ASSERT_TRUE(aws_.started());
  start(aws_settings());

  const auto status = run("status dev");
  const auto status_text = reply_text(status);
  for (const char* expected :
       {"Infrastructure Status: DEV", "api", "worker", "app-dev-db", "app-dev-aurora",
        "bastion-dev", "runner-dev", "eu-west-1a", "2026-11-20T08:00:00Z"}) {
    EXPECT_THAT(status_text, HasSubstr(expected));
  }
  EXPECT_THAT(status_text, testing::Not(HasSubstr("bastion-staging")));

  EXPECT_THAT(reply_text(run("stop dev")), HasSubstr("STOP - DEV"));
  auto state = aws_.state();
  EXPECT_EQ(FakeAws::desired_count(state, "infra-dev", "api"), 0);
  EXPECT_EQ(FakeAws::desired_count(state, "infra-dev", "worker"), 0);
  EXPECT_EQ(FakeAws::db_status(state, "app-dev-db"), "stopped");
  EXPECT_EQ(FakeAws::instance_state(state, kBastionDev), "stopped");
  EXPECT_EQ(FakeAws::instance_state(state, kRunnerDev), "stopped");
  EXPECT_EQ(FakeAws::desired_count(state, "infra-staging", "api"), 2) << "staging untouched";
  EXPECT_EQ(FakeAws::instance_state(state, "i-0a1b2c3d4e5f62001"), "running");

  EXPECT_THAT(reply_text(run("start dev")), HasSubstr("START - DEV"));
  state = aws_.state();
  EXPECT_EQ(FakeAws::desired_count(state, "infra-dev", "api"), 2) << "the remembered count";
  EXPECT_EQ(FakeAws::desired_count(state, "infra-dev", "worker"), 1);
  EXPECT_EQ(FakeAws::db_status(state, "app-dev-db"), "available");
  EXPECT_EQ(FakeAws::instance_state(state, kBastionDev), "running");

  EXPECT_THAT(reply_text(run("reboot dev --name=bastion-dev")), HasSubstr("REBOOT - DEV"));
  const auto reboots = aws_.requests(FakeAws::call("ec2", "RebootInstances"));
  ASSERT_EQ(reboots.size(), 1u);
  EXPECT_THAT(core::json::to_string(reboots[0]), HasSubstr(kBastionDev));
  EXPECT_THAT(core::json::to_string(reboots[0]), testing::Not(HasSubstr(kRunnerDev)));

  EXPECT_THAT(reply_text(run_confirmed("teardown dev", "dev", 1)), HasSubstr("TEARDOWN - DEV"));
  state = aws_.state();
  EXPECT_EQ(FakeAws::desired_count(state, "infra-dev", "api"), 0);
  EXPECT_EQ(FakeAws::db_status(state, "app-dev-db"), "stopped");
  EXPECT_EQ(FakeAws::instance_state(state, kBastionDev), "running")
      << "teardown --level=services leaves EC2 alone";

  // Protected: refused in the ack, nothing reaches AWS.
  const auto before = aws_.requests().size();
  auto stop_prod = slash("reboot prod");
  ASSERT_GT(slack().push(stop_prod.frame), 0);
  const auto ack = wait_ack(stop_prod.envelope_id);
  EXPECT_THAT(core::json::to_string(ack), HasSubstr("is protected"));
  settle();
  EXPECT_EQ(aws_.requests().size(), before);
  expect_all_verified();
}

TEST_F(ServiceAwsTest, WhitelistAddListRemoveRefreshChangeTheSecurityGroupRules) {
  ASSERT_TRUE(aws_.started());
  start(aws_settings());

  const auto added = run("whitelist add 203.0.113.7 --ttl=7d --description='Home office'");
  EXPECT_THAT(reply_text(added), HasSubstr("203.0.113.7/32"));
  auto state = aws_.state();
  EXPECT_THAT(
      bot_rule_cidrs(state, kDevWhitelistGroup),
      testing::ElementsAre("203.0.113.7/32:443", "203.0.113.7/32:7233", "203.0.113.7/32:80"));
  EXPECT_TRUE(bot_rule_cidrs(state, kDevInternalGroup).empty())
      << "a group without infra-bot:whitelist=true is never changed";
  for (const auto* rule : FakeAws::rules_of(state, kDevWhitelistGroup)) {
    const auto description = str(*rule, "description");
    if (description == "office VPN") continue;
    EXPECT_THAT(description, HasSubstr("by=" + std::string(kUser)));
    EXPECT_THAT(description, HasSubstr("note=Home office"));
  }

  const auto listed = reply_text(run("whitelist list dev"));
  EXPECT_THAT(listed, HasSubstr("203.0.113.7/32"));
  EXPECT_THAT(listed, HasSubstr("Home office"));
  EXPECT_THAT(listed, testing::Not(HasSubstr("198.51.100.0/24"))) << "not the bot's rule";

  // A port deleted behind the bot's back comes back with refresh.
  std::string port_80_rule;
  for (const auto* rule : FakeAws::rules_of(state, kDevWhitelistGroup)) {
    if (str(*rule, "cidrIpv4") == "203.0.113.7/32" &&
        core::json::get_int(*rule, "fromPort") == 80) {
      port_80_rule = str(*rule, "id");
    }
  }
  ASSERT_FALSE(port_80_rule.empty());
  ASSERT_TRUE(aws_.merge_state(R"({"ec2": {"securityGroupRules": [{"id": ")" + port_80_rule +
                               R"(", "_delete": true}]}})"));
  EXPECT_THAT(reply_text(run("whitelist refresh dev")), HasSubstr("WHITELIST REFRESH - DEV"));
  EXPECT_EQ(bot_rule_cidrs(aws_.state(), kDevWhitelistGroup).size(), 3u);

  EXPECT_THAT(reply_text(run("whitelist remove 203.0.113.7")), HasSubstr("203.0.113.7/32"));
  state = aws_.state();
  EXPECT_TRUE(bot_rule_cidrs(state, kDevWhitelistGroup).empty());
  bool office_vpn_kept = false;
  for (const auto* rule : FakeAws::rules_of(state, kDevWhitelistGroup)) {
    office_vpn_kept |= str(*rule, "description") == "office VPN";
  }
  EXPECT_TRUE(office_vpn_kept) << "rules the bot did not make are never removed";
  expect_all_verified();
}

TEST_F(ServiceAwsTest, ExpiredRulesDisappearWithinOneSweepWithOneNoticeEach) {
  ASSERT_TRUE(aws_.started());
  // Two ports of one expired address, and one address still valid.
  const std::string expired = rfc3339_from_now(-60s);
  const std::string valid = rfc3339_from_now(24h);
  auto rule = [&](std::string id, std::string cidr, int port, const std::string& until) {
    return R"({"id": ")" + id + R"(", "groupId": ")" + kDevWhitelistGroup +
           R"(", "egress": false, "protocol": "tcp", "fromPort": )" + std::to_string(port) +
           R"(, "toPort": )" + std::to_string(port) + R"(, "cidrIpv4": ")" + cidr +
           R"(", "description": "infra-bot:wl until=)" + until +
           R"( by=U0BOB0001 note=Old laptop", "tags": {}})";
  };
  ASSERT_TRUE(aws_.merge_state(R"({"ec2": {"securityGroupRules": [)" +
                               rule("sgr-0e0000000000000a1", "192.0.2.10/32", 80, expired) + "," +
                               rule("sgr-0e0000000000000a2", "192.0.2.10/32", 443, expired) + "," +
                               rule("sgr-0e0000000000000b1", "192.0.2.20/32", 80, valid) + "]}}"));
  auto settings = aws_settings();
  settings.env("INFRA_WHITELIST_SWEEP_SECONDS", "1").env("INFRA_NOTIFY_CHANNEL", kNotifyChannel);
  start(settings);

  ASSERT_TRUE(slack().wait_for(
      "the expiry notice",
      [](const FakeSlack::Event& e) {
        const auto* body =
            FakeSlack::is(e, "api") && FakeSlack::str(e, "method") == "chat.postMessage"
                ? core::json::get_object(e, "body")
                : nullptr;
        return body != nullptr && str(*body, "channel") == kNotifyChannel;
      },
      1, 10s));
  std::this_thread::sleep_for(2500ms);  // two more sweeps: no second notice
  settle();
  const auto notices = posts_to(kNotifyChannel);
  ASSERT_EQ(notices.size(), 1u) << "one notice per expired address (both ports together)";
  const auto text = str(notices[0], "text");
  EXPECT_THAT(text, HasSubstr("192.0.2.10/32"));
  EXPECT_THAT(text, HasSubstr("Old laptop"));
  EXPECT_THAT(text, HasSubstr("U0BOB0001"));
  EXPECT_THAT(text, HasSubstr("`dev`"));
  const auto state = aws_.state();
  std::vector<std::string> left;
  for (const auto* r : FakeAws::rules_of(state, kDevWhitelistGroup)) left.push_back(str(*r, "id"));
  EXPECT_THAT(left, testing::Not(testing::Contains("sgr-0e0000000000000a1")));
  EXPECT_THAT(left, testing::Not(testing::Contains("sgr-0e0000000000000a2")));
  EXPECT_THAT(left, testing::Contains("sgr-0e0000000000000b1"));
  EXPECT_THAT(left, testing::Contains("sgr-0c0ffee0000010001")) << "office VPN stays";
}

TEST_F(ServiceAwsTest, FullTeardownAndSpinupWithoutAnOrchestratorAreRefusedBeforeAnyModal) {
  ASSERT_TRUE(aws_.started());
  start(aws_settings());
  for (const char* text : {"teardown dev --level=full", "spinup dev"}) {
    SCOPED_TRACE(text);
    auto cmd = slash(text);
    ASSERT_GT(slack().push(cmd.frame), 0);
    const auto ack = wait_ack(cmd.envelope_id);
    EXPECT_THAT(core::json::to_string(ack), HasSubstr("ORCHESTRATOR_LAMBDA_ARN"));
  }
  settle();
  for (auto& event : slack().events("api")) {
    EXPECT_NE(str(event, "method"), "views.open") << "no confirmation modal";
  }
  EXPECT_EQ(lambda().count(), 0u);
}

TEST_F(ServiceAwsTest, WithAnOrchestratorFullTeardownGoesToTheLambdaAndStopStaysNative) {
  ASSERT_TRUE(aws_.started());
  auto settings = aws_settings();
  settings.env("ORCHESTRATOR_LAMBDA_ARN", kOrchestratorArn);
  start(settings);

  auto cmd = slash("spinup dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  ASSERT_TRUE(wait_final_replies(cmd.response_id, 1, 10s));
  const auto spinups = calls(kOrchestrator, "spinup");
  ASSERT_EQ(spinups.size(), 1u) << "spinup went to the orchestrator Lambda";

  EXPECT_THAT(reply_text(run("stop staging")), HasSubstr("STOP - STAGING"));
  EXPECT_EQ(calls(kOrchestrator, "stop").size(), 0u) << "stop is done natively";
  EXPECT_EQ(FakeAws::desired_count(aws_.state(), "infra-staging", "api"), 0);
}

TEST_F(ServiceAwsTest, ConsoleDrivesTheFakeToo) {
  ASSERT_TRUE(aws_.started());
  start(aws_settings());
  auto& console = run_other({"console", "-c", "/infra stop staging"});
  ASSERT_EQ(console.wait_exit(20s), 0) << console.describe_last(20);
  std::string out;
  for (const auto& line : console.stdout_lines()) out += line + "\n";
  EXPECT_THAT(out, HasSubstr("STOP - STAGING"));
  EXPECT_EQ(FakeAws::desired_count(aws_.state(), "infra-staging", "worker"), 0);
  EXPECT_EQ(FakeAws::instance_state(aws_.state(), "i-0a1b2c3d4e5f62002"), "stopped");
}

// The Lambda backend: the bot derives expiries from one list per environment per sweep and
// removes what expired through the whitelist Lambda.
TEST_F(ServiceAwsTest, LambdaBackendSweepRemovesExpiredEntriesAndNotifiesOnce) {
  const std::string expired = rfc3339_from_now(-120s);
  Settings settings;
  settings.env("INFRA_WHITELIST_SWEEP_SECONDS", "1")
      .env("INFRA_NOTIFY_CHANNEL", kNotifyChannel)
      .env("INFRA_ENVIRONMENTS", "dev")
      .env("INFRA_PROTECTED_ENVIRONMENTS", "none")
      // The first list shows the expired entry; after the removal the list is empty.
      .answer(answer(kWhitelist, R"({"action": "list"})",
                     R"("times": 1, "json": {"ok": true, "environment": "dev", "entries": [
                          {"cidr": "192.0.2.10/32", "description": "Old laptop",
                           "added_by": "U0BOB0001", "expires_at": ")" +
                         expired + R"("}]})"))
      .answer(answer(kWhitelist, R"({"action": "list"})",
                     R"("json": {"ok": true, "environment": "dev", "entries": []})"));
  start(settings);

  ASSERT_TRUE(slack().wait_for(
      "the expiry notice",
      [](const FakeSlack::Event& e) {
        const auto* body =
            FakeSlack::is(e, "api") && FakeSlack::str(e, "method") == "chat.postMessage"
                ? core::json::get_object(e, "body")
                : nullptr;
        return body != nullptr && str(*body, "channel") == kNotifyChannel;
      },
      1, 10s));
  std::this_thread::sleep_for(2500ms);
  settle();
  const auto notices = posts_to(kNotifyChannel);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_THAT(str(notices[0], "text"), HasSubstr("192.0.2.10/32"));
  const auto removals = calls(kWhitelist, "remove");
  ASSERT_EQ(removals.size(), 1u);
  EXPECT_EQ(str(removals[0]["payload"], "cidr"), "192.0.2.10/32");
  EXPECT_EQ(str(removals[0]["payload"], "environment"), "dev");
  EXPECT_GE(calls(kWhitelist, "list").size(), 2u) << "one list per environment per sweep";
}

}  // namespace
