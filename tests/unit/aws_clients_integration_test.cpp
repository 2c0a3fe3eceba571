// The tagging, ECS, RDS and EC2 clients against tests/fakes/fake_aws.py over TLS: every request
// signed (checked by botocore's SigV4Auth) and valid for botocore's model, answers read back,
// state changed, faults (throttling, 500, malformed bodies, token loops, access denied) turned
// into retries or readable errors. Also checks the request fixtures of aws_protocol_test against
// botocore's serialisers.

#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "fake_aws.hpp"
#include "fake_aws_clients.hpp"

namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr std::string_view kDevCluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/infra-dev";
constexpr std::string_view kDevApi = "arn:aws:ecs:eu-west-1:123456789012:service/infra-dev/api";
constexpr std::string_view kBastion = "i-0a1b2c3d4e5f61001";
constexpr std::string_view kRunner = "i-0a1b2c3d4e5f61002";
constexpr std::string_view kDevWhitelistGroup = "sg-0f1e2d3c4b5a61001";

class AwsClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    ASSERT_TRUE(fake_.started()) << fake_.describe_last(3);
  }
  void TearDown() override {
    if (!fake_.started()) return;
    // Every request the clients sent was signed correctly and valid for the model.
    for (const auto& request : fake_.requests()) {
      EXPECT_TRUE(test::FakeAws::verified(request))
          << test::FakeAws::str(request, "operation") << ": "
          << test::FakeAws::str(request, "reason");
    }
  }

  test::FakeAws fake_;
  test::FakeAwsClients clients_{fake_};
};

TEST(AwsRequestFixtures, AreWhatBotocoreSerialises) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string command = std::string("/usr/bin/python3 ") + FAKES_DIR +
                              "/aws_request_fixtures.py " + FIXTURES_DIR + "/aws/requests 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_THAT(output, HasSubstr(" 0 differ"));
}

TEST_F(AwsClientsTest, GetResourcesFindsTheEnvironmentsResources) {
  auto found = clients_.tagging()->get_resources(
      {{{"Environment", {"dev"}}}, {"ecs:service", "rds:db", "rds:cluster", "ec2:instance"}});
  ASSERT_TRUE(found) << found.error().user_message;
  std::vector<std::string> arns;
  for (const auto& resource : *found) arns.push_back(resource.arn);
  EXPECT_THAT(arns, Contains(std::string(kDevApi)));
  EXPECT_THAT(arns, Contains("arn:aws:rds:eu-west-1:123456789012:db:app-dev-db"));
  EXPECT_THAT(arns, Contains("arn:aws:rds:eu-west-1:123456789012:cluster:app-dev-aurora"));
  EXPECT_THAT(arns,
              Contains("arn:aws:ec2:eu-west-1:123456789012:instance/" + std::string(kBastion)));
  for (const auto& arn : arns) EXPECT_THAT(arn, ::testing::Not(HasSubstr("staging")));
}

TEST_F(AwsClientsTest, GetResourcesFollowsPagesOfOne) {
  auto found =
      clients_.tagging({1, 100})->get_resources({{{"Environment", {"dev"}}}, {"ec2:instance"}});
  ASSERT_TRUE(found) << found.error().user_message;
  EXPECT_THAT(*found, SizeIs(2));
  EXPECT_GE(fake_.count(test::FakeAws::call("tagging", "GetResources")), 2u);
}

TEST_F(AwsClientsTest, EcsDescribeUpdateAndTag) {
  auto ecs = clients_.ecs();
  auto described =
      ecs->describe_services(std::string(kDevCluster), {std::string(kDevApi), "worker", "nope"});
  ASSERT_TRUE(described) << described.error().user_message;
  ASSERT_THAT(described->services, SizeIs(2));
  EXPECT_EQ(described->services[0].name, "api");
  EXPECT_EQ(described->services[0].desired_count, 2);
  EXPECT_THAT(described->services[0].tags, Contains(aws::Tag{"Environment", "dev"}));
  ASSERT_THAT(described->failures, SizeIs(1));
  EXPECT_EQ(described->failures[0].reason, "MISSING");

  ASSERT_TRUE(ecs->tag_resource(std::string(kDevApi), {{"infra-bot:desired-count", "2"}}));
  auto updated = ecs->update_service(std::string(kDevCluster), std::string(kDevApi), 0);
  ASSERT_TRUE(updated) << updated.error().user_message;
  EXPECT_EQ(updated->desired_count, 0);
  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 0);
}

TEST_F(AwsClientsTest, RdsDescribeStopAndTheInvalidStateOfASecondStop) {
  auto rds = clients_.rds();
  auto instances = rds->describe_db_instances({"app-dev-db"});
  ASSERT_TRUE(instances) << instances.error().user_message;
  ASSERT_THAT(*instances, SizeIs(1));
  EXPECT_EQ(instances->front().status, "available");
  auto both = rds->describe_db_instances({"app-dev-db", "app-dev-aurora-1"});
  ASSERT_TRUE(both) << both.error().user_message;
  EXPECT_THAT(*both, SizeIs(2));

  auto clusters = rds->describe_db_clusters({"app-dev-aurora"});
  ASSERT_TRUE(clusters) << clusters.error().user_message;
  ASSERT_THAT(*clusters, SizeIs(1));
  EXPECT_THAT(clusters->front().members, ElementsAre("app-dev-aurora-1"));

  auto stopped = rds->stop_db_instance("app-dev-db");
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  auto again = rds->stop_db_instance("app-dev-db");
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.failure().is("InvalidDBInstanceState"));
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);

  auto missing = rds->describe_db_instances({"nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::not_found);
}

TEST_F(AwsClientsTest, Ec2InstancesStopStartReboot) {
  auto ec2 = clients_.ec2();
  auto described = ec2->describe_instances({std::string(kBastion), std::string(kRunner)});
  ASSERT_TRUE(described) << described.error().user_message;
  ASSERT_THAT(*described, SizeIs(2));
  EXPECT_EQ((*described)[0].availability_zone, "eu-west-1a");
  EXPECT_EQ((*described)[0].launch_time, core::parse_rfc3339("2026-11-20T08:00:00Z"));

  auto stopped = ec2->stop_instances({std::string(kBastion)});
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  ASSERT_THAT(*stopped, SizeIs(1));
  EXPECT_EQ(stopped->front().previous_state, "running");
  EXPECT_EQ(test::FakeAws::instance_state(fake_.state(), kBastion), "stopped");

  auto rebooted = ec2->reboot_instances({std::string(kBastion)});
  ASSERT_FALSE(rebooted);
  EXPECT_TRUE(rebooted.failure().is("IncorrectInstanceState")) << rebooted.failure().code;

  ASSERT_TRUE(ec2->start_instances({std::string(kBastion)}));
  EXPECT_EQ(test::FakeAws::instance_state(fake_.state(), kBastion), "running");
  EXPECT_TRUE(ec2->reboot_instances({std::string(kBastion), std::string(kRunner)}));
}

TEST_F(AwsClientsTest, SecurityGroupRulesAuthorizeDescribeRenewRevoke) {
  auto ec2 = clients_.ec2();
  auto groups = ec2->describe_security_groups({std::string(kDevWhitelistGroup)});
  ASSERT_TRUE(groups) << groups.error().user_message;
  ASSERT_THAT(*groups, SizeIs(1));
  EXPECT_THAT(groups->front().tags, Contains(aws::Tag{"infra-bot:whitelist", "true"}));

  const std::string description = "infra-bot:wl until=2026-12-12T10:00:00Z by=U1 note=x";
  auto added = ec2->authorize_ingress(
      std::string(kDevWhitelistGroup),
      {aws::IngressRule{"203.0.113.7/32", false, 80, 80, "tcp", description},
       aws::IngressRule{"2001:db8::/64", true, 443, 443, "tcp", description}});
  ASSERT_TRUE(added) << added.error().user_message;
  ASSERT_THAT(*added, SizeIs(2));

  auto duplicate = ec2->authorize_ingress(
      std::string(kDevWhitelistGroup),
      {aws::IngressRule{"203.0.113.7/32", false, 80, 80, "tcp", description}});
  ASSERT_FALSE(duplicate);
  EXPECT_TRUE(duplicate.failure().is("InvalidPermission.Duplicate"));

  const std::string renewed = "infra-bot:wl until=2027-01-01T00:00:00Z by=U1 note=x";
  ASSERT_TRUE(ec2->update_rule_descriptions(std::string(kDevWhitelistGroup),
                                            {{added->front().id, renewed}}));
  auto rules = ec2->describe_security_group_rules({std::string(kDevWhitelistGroup)});
  ASSERT_TRUE(rules) << rules.error().user_message;
  std::vector<std::string> descriptions;
  for (const auto& rule : *rules) {
    if (rule.id == added->front().id) descriptions.push_back(rule.description);
  }
  EXPECT_THAT(descriptions, ElementsAre(renewed));

  ASSERT_TRUE(
      ec2->revoke_ingress(std::string(kDevWhitelistGroup), {added->front().id, added->back().id}));
  auto gone = ec2->revoke_ingress(std::string(kDevWhitelistGroup), {added->front().id});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::ErrorCode::not_found);
  // Only the rule that was there before is left.
  auto left = ec2->describe_security_group_rules({std::string(kDevWhitelistGroup)});
  ASSERT_TRUE(left);
  std::vector<std::string> ids;
  for (const auto& rule : *left) {
    if (!rule.is_egress) ids.push_back(rule.id);
  }
  EXPECT_THAT(ids, ElementsAre("sgr-0c0ffee0000010001"));
}

// ---- faults ---------------------------------------------------------------------------------

TEST_F(AwsClientsTest, ThrottlingThenSuccessForEachService) {
  ASSERT_TRUE(fake_.fault(R"([{"service": "tagging", "kind": "throttle"},
                              {"service": "ecs", "kind": "throttle"},
                              {"service": "rds", "kind": "throttle"},
                              {"service": "ec2", "kind": "throttle"}])"));
  EXPECT_TRUE(clients_.tagging()->get_resources({{{"Environment", {"dev"}}}, {}}));
  EXPECT_TRUE(clients_.ecs()->describe_services(std::string(kDevCluster), {"api"}));
  EXPECT_TRUE(clients_.rds()->stop_db_instance("app-dev-db"));
  EXPECT_TRUE(clients_.ec2()->stop_instances({std::string(kBastion)}));
  EXPECT_EQ(clients_.sleeper().sleeps().size(), 4u);
  EXPECT_EQ(fake_.count(), 8u);
  EXPECT_EQ(test::FakeAws::db_status(fake_.state(), "app-dev-db"), "stopped");
}

TEST_F(AwsClientsTest, ServerErrorThenSuccess) {
  ASSERT_TRUE(
      fake_.fault(R"({"service": "ec2", "operation": "DescribeInstances", "kind": "internal"})"));
  auto described = clients_.ec2()->describe_instances({std::string(kBastion)});
  ASSERT_TRUE(described) << described.error().user_message;
  EXPECT_EQ(fake_.count(test::FakeAws::call("ec2", "DescribeInstances")), 2u);
}

TEST_F(AwsClientsTest, PersistentServerErrorsGiveUpAfterThreeAttempts) {
  ASSERT_TRUE(fake_.fault(R"({"service": "rds", "kind": "internal", "times": -1})"));
  auto described = clients_.rds()->describe_db_instances({"app-dev-db"});
  ASSERT_FALSE(described);
  EXPECT_EQ(described.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(described.failure().code, "InternalFailure");
  EXPECT_EQ(fake_.count(test::FakeAws::call("rds", "DescribeDBInstances")), 3u);
}

TEST_F(AwsClientsTest, MalformedBodiesAreUnavailableErrors) {
  ASSERT_TRUE(
      fake_.fault(R"([{"service": "ecs", "operation": "DescribeServices", "kind": "malformed"},
                              {"service": "ec2", "operation": "DescribeInstances", "kind": "malformed"},
                              {"service": "rds", "operation": "DescribeDBClusters", "kind": "malformed"}])"));
  auto ecs = clients_.ecs()->describe_services(std::string(kDevCluster), {"api"});
  ASSERT_FALSE(ecs);
  EXPECT_EQ(ecs.error().code, core::ErrorCode::unavailable);
  auto ec2 = clients_.ec2()->describe_instances({std::string(kBastion)});
  ASSERT_FALSE(ec2);
  EXPECT_EQ(ec2.error().code, core::ErrorCode::unavailable);
  auto rds = clients_.rds()->describe_db_clusters({"app-dev-aurora"});
  ASSERT_FALSE(rds);
  EXPECT_EQ(rds.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(rds.error().user_message, HasSubstr("could not read"));
}

TEST_F(AwsClientsTest, PageTokenLoopStops) {
  ASSERT_TRUE(fake_.fault(R"({"service": "tagging", "kind": "token_loop"})"));
  auto found = clients_.tagging({1, 100})->get_resources({{{"Environment", {"dev"}}}, {}});
  ASSERT_FALSE(found);
  EXPECT_THAT(found.error().user_message, HasSubstr("pagination token came back twice"));
  EXPECT_LE(fake_.count(test::FakeAws::call("tagging", "GetResources")), 3u);
}

TEST_F(AwsClientsTest, EmptyPagesWithATokenAreFollowed) {
  ASSERT_TRUE(fake_.fault(R"({"service": "tagging", "kind": "empty_page", "times": 2})"));
  auto found = clients_.tagging()->get_resources({{{"Environment", {"dev"}}}, {"ec2:instance"}});
  ASSERT_TRUE(found) << found.error().user_message;
  EXPECT_THAT(*found, SizeIs(2));
  EXPECT_EQ(fake_.count(test::FakeAws::call("tagging", "GetResources")), 3u);
}

TEST_F(AwsClientsTest, AccessDeniedOnOneResource) {
  ASSERT_TRUE(fake_.fault(
      R"({"service": "ecs", "operation": "UpdateService", "resource": "infra-dev/api", "kind": "access_denied", "times": -1})"));
  auto denied = clients_.ecs()->update_service(std::string(kDevCluster), "api", 0);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, core::ErrorCode::denied);
  EXPECT_THAT(denied.error().user_message,
              HasSubstr("AWS refused ECS UpdateService for service api: AccessDenied"));
  EXPECT_FALSE(denied.failure().request_id.empty());
  EXPECT_THAT(denied.error().detail, HasSubstr("request_id=" + denied.failure().request_id));
  EXPECT_TRUE(clients_.ecs()->update_service(std::string(kDevCluster), "worker", 0));
}

}  // namespace
