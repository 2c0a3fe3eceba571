// infra::AwsBackend against tests/fakes/fake_aws.py (proto-fixtures/aws/state_default.json:
// dev, staging and prod, each with ECS services api (2) and worker (1), an RDS instance, two EC2
// instances and an allow-list security group holding one rule the bot did not make; dev also has
// an Aurora cluster): status, stop/start/teardown/reboot and the allow-list, checked in the
// fake's state, and the faults (throttling, 500, malformed bodies, page-token loops, access
// denied on one resource).

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "core/config.hpp"
#include "fake_aws.hpp"
#include "fake_aws_clients.hpp"
#include "fake_clock.hpp"
#include "infra/aws_backend.hpp"
#include "infra/command_parser.hpp"

namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr std::string_view kBastion = "i-0a1b2c3d4e5f61001";
constexpr std::string_view kRunner = "i-0a1b2c3d4e5f61002";
constexpr std::string_view kWhitelistGroup = "sg-0f1e2d3c4b5a61001";
constexpr std::string_view kInternalGroup = "sg-0f1e2d3c4b5a61002";
constexpr std::string_view kVpnRule = "sgr-0c0ffee0000010001";
// A second allow-list group of dev (added by add_second_whitelist_group()).
constexpr std::string_view kSecondGroup = "sg-0f1e2d3c4b5a61003";
constexpr std::string_view kNotAuthorized =
    "UnauthorizedOperation — You are not authorized to perform this operation.";
constexpr std::string_view kCompleted = "Operation completed successfully.";

core::TimePoint at(std::string_view text) { return *core::parse_rfc3339(text); }

infra::Cidr cidr(std::string_view text) {
  infra::ParserSettings settings;
  auto parsed = infra::parse_cidr(text, settings);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : infra::Cidr{};
}

const rapidjson::Value& member(const rapidjson::Value& object, std::string_view key) {
  static const rapidjson::Value null;
  if (!object.IsObject()) return null;
  auto it = object.FindMember(rapidjson::StringRef(key.data(), key.size()));
  return it == object.MemberEnd() ? null : it->value;
}

const rapidjson::Value& find_in(const rapidjson::Value& list, std::string_view key,
                                std::string_view value) {
  static const rapidjson::Value null;
  if (!list.IsArray()) return null;
  for (const auto& item : list.GetArray()) {
    if (test::FakeAws::str(item, key) == value) return item;
  }
  return null;
}

// The value of an ECS service's tag in the fake's state ("" when absent).
std::string service_tag(const rapidjson::Value& state, std::string_view cluster,
                        std::string_view service, std::string_view key) {
  const auto& found = find_in(
      member(find_in(member(member(state, "ecs"), "clusters"), "name", cluster), "services"),
      "name", service);
  const auto& value = member(member(found, "tags"), key);
  return value.IsString() ? value.GetString() : "";
}

std::string cluster_status(const rapidjson::Value& state, std::string_view id) {
  return test::FakeAws::str(find_in(member(member(state, "rds"), "clusters"), "id", id), "status");
}

struct Rule {
  std::string id;
  int port = 0;
  std::string cidr;
  std::string description;
  friend bool operator==(const Rule&, const Rule&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Rule& rule) {
    return out << rule.id << " " << rule.port << " " << rule.cidr << " \"" << rule.description
               << "\"";
  }
};

// The ingress rules of a group in the fake's state, sorted by CIDR and port.
std::vector<Rule> rules(const rapidjson::Value& state, std::string_view group) {
  std::vector<Rule> out;
  for (const auto* rule : test::FakeAws::rules_of(state, group)) {
    if (core::json::get_bool(*rule, "egress").value_or(false)) continue;
    std::string range = test::FakeAws::str(*rule, "cidrIpv4");
    if (range.empty()) range = test::FakeAws::str(*rule, "cidrIpv6");
    out.push_back(Rule{test::FakeAws::str(*rule, "id"),
                       static_cast<int>(core::json::get_int(*rule, "fromPort").value_or(-1)), range,
                       test::FakeAws::str(*rule, "description")});
  }
  std::sort(out.begin(), out.end(), [](const Rule& a, const Rule& b) {
    return std::tie(a.cidr, a.port) < std::tie(b.cidr, b.port);
  });
  return out;
}

std::vector<int> ports_of(const std::vector<Rule>& all, std::string_view range) {
  std::vector<int> ports;
  for (const auto& rule : all) {
    if (rule.cidr == range) ports.push_back(rule.port);
  }
  return ports;
}

std::vector<std::string> descriptions_of(const std::vector<Rule>& all, std::string_view range) {
  std::vector<std::string> out;
  for (const auto& rule : all) {
    if (rule.cidr == range) out.push_back(rule.description);
  }
  return out;
}

class AwsBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    ASSERT_TRUE(fake_.started()) << fake_.describe_last(3);
    clock_.set(at("2026-11-25T10:00:00Z"));
    backend_ = clients_.backend(clock_);
  }
  void TearDown() override {
    if (!fake_.started()) return;
    for (const auto& request : fake_.requests()) {
      EXPECT_TRUE(test::FakeAws::verified(request))
          << test::FakeAws::str(request, "operation") << ": "
          << test::FakeAws::str(request, "reason");
    }
  }

  infra::RequestContext context() const {
    return infra::RequestContext{"req-1", infra::Requester{"U0123ABC", "alice", "T1", "C1"}};
  }
  core::Result<infra::ActionResult> run(infra::LifecycleAction action, std::string env = "dev",
                                        std::optional<infra::TeardownLevel> level = std::nullopt,
                                        std::optional<std::string> name = std::nullopt) {
    return backend_->run(infra::LifecycleRequest{action, std::move(env), level, std::move(name)},
                         context());
  }
  core::Result<infra::WhitelistAdded> add(std::string_view range, std::chrono::seconds ttl,
                                          std::optional<std::string> note,
                                          std::string env = "dev") {
    return backend_->whitelist_add(infra::WhitelistAdd{cidr(range), ttl, std::move(note), env},
                                   context());
  }
  std::size_t calls(std::string_view service, std::string_view operation) const {
    return fake_.count(test::FakeAws::call(service, operation));
  }
  testing::AssertionResult add_second_whitelist_group() const {
    return fake_.merge_state(R"({"ec2": {"securityGroups": [
        {"id": "sg-0f1e2d3c4b5a61003", "name": "dev-web-whitelist", "description": "web",
         "vpcId": "vpc-0a1b2c3d4e5f60711",
         "tags": {"Environment": "dev", "infra-bot:whitelist": "true"}}]}})");
  }
  // Every EC2 `operation` on `group` is refused (after `after` of them went through).
  testing::AssertionResult deny(std::string_view operation, std::string_view group,
                                int after = 0) const {
    return fake_.fault(fmt::format(
        R"({{"service": "ec2", "operation": "{}", "resource": "{}", "kind": "access_denied",
            "times": -1, "after": {}, "message": "You are not authorized to perform this operation."}})",
        operation, group, after));
  }

  test::FakeAws fake_;
  test::FakeAwsClients clients_{fake_};
  test::FakeClock clock_;
  std::unique_ptr<infra::AwsBackend> backend_;
};

using Details = std::vector<std::pair<std::string, std::int64_t>>;

// ---- status ---------------------------------------------------------------------------------

TEST_F(AwsBackendTest, StatusOfDev) {
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  infra::EnvironmentStatus expected;
  expected.environment = "dev";
  expected.ecs_services = {{"api", "ACTIVE", 2, 2}, {"worker", "ACTIVE", 1, 1}};
  expected.rds_instances = {{"app-dev-db", "available"}};  // the Aurora member shows as its cluster
  expected.rds_clusters = {{"app-dev-aurora", "available", "aurora-postgresql"}};
  expected.ec2_instances = {
      {std::string(kBastion), "bastion-dev", "running", "eu-west-1a", at("2026-11-20T08:00:00Z")},
      {std::string(kRunner), "runner-dev", "running", "eu-west-1b", at("2026-11-20T08:00:00Z")}};
  EXPECT_EQ(*status, expected);
  EXPECT_EQ(backend_->name(), "aws");
}

TEST_F(AwsBackendTest, StatusLeavesOutResourcesNoLongerTagged) {
  ASSERT_TRUE(fake_.merge_state(
      R"({"rds": {"instances": [{"id": "app-dev-db", "tags": {"Environment": "staging"}}]}})"));
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->rds_instances, IsEmpty());
  EXPECT_THAT(status->rds_clusters, SizeIs(1));
}

TEST_F(AwsBackendTest, AnUntaggedClusterOfATaggedInstanceIsShownAsAProblemAndNotStopped) {
  // Only a cluster's own tag makes it the environment's: a dev-tagged member does not.
  ASSERT_TRUE(fake_.merge_state(
      R"({"rds": {"clusters": [{"id": "app-dev-aurora", "tags": {"Team": "data"}}]}})"));
  const std::string line =
      "RDS cluster app-dev-aurora holds dev-tagged instance app-dev-aurora-1 but is not tagged "
      "`Environment=dev`: not touched — tag the cluster `Environment=dev`";
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->rds_clusters, IsEmpty());
  EXPECT_EQ(status->rds_instances, (std::vector<infra::RdsInstance>{{"app-dev-db", "available"}}));
  EXPECT_THAT(status->problems, ElementsAre(line));

  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_EQ(stopped->message, "Completed with problems: 1 of 6 resources could not be stopped.");
  EXPECT_THAT(stopped->notes, ElementsAre(line));
  EXPECT_EQ(stopped->details, (Details{{"ecs_services_stopped", 2},
                                       {"rds_instances_stopped", 1},
                                       {"rds_clusters_stopped", 0},
                                       {"ec2_instances_stopped", 2}}));
  EXPECT_EQ(cluster_status(fake_.state(), "app-dev-aurora"), "available");
  EXPECT_EQ(calls("rds", "StopDBCluster"), 0u);
  EXPECT_EQ(calls("rds", "StopDBInstance"), 1u);  // app-dev-db only, never the member

  auto started = run(infra::LifecycleAction::start);
  ASSERT_TRUE(started) << started.error().user_message;
  EXPECT_THAT(started->notes, Contains(line));
  EXPECT_EQ(calls("rds", "StartDBCluster"), 0u);
}

TEST_F(AwsBackendTest, AClusterOfAnotherEnvironmentHoldingATaggedInstanceIsNotStopped) {
  ASSERT_TRUE(fake_.merge_state(
      R"({"rds": {"clusters": [{"id": "app-dev-aurora", "tags": {"Environment": "staging"}}]}})"));
  const std::string line =
      "RDS cluster app-dev-aurora holds dev-tagged instance app-dev-aurora-1 but is tagged "
      "`Environment=staging`: not touched — tag the cluster `Environment=dev`";
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->rds_clusters, IsEmpty());
  EXPECT_THAT(status->problems, ElementsAre(line));

  auto stopped = run(infra::LifecycleAction::teardown, "dev", infra::TeardownLevel::services);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_THAT(stopped->notes, ElementsAre(line));
  EXPECT_EQ(calls("rds", "StopDBCluster"), 0u);
  EXPECT_EQ(cluster_status(fake_.state(), "app-dev-aurora"), "available");

  // It is staging's, by its own tag.
  auto staging = backend_->status("staging", context());
  ASSERT_TRUE(staging) << staging.error().user_message;
  EXPECT_EQ(staging->rds_clusters,
            (std::vector<infra::RdsCluster>{{"app-dev-aurora", "available", "aurora-postgresql"}}));
  EXPECT_THAT(staging->problems, IsEmpty());
}

TEST_F(AwsBackendTest, StatusOfAnEnvironmentWithNothingTagged) {
  auto status = backend_->status("qa", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->ecs_services, IsEmpty());
  EXPECT_THAT(status->problems, ElementsAre("Nothing is tagged `Environment=qa` in `eu-west-1`."));
}

// ---- stop / start ---------------------------------------------------------------------------

TEST_F(AwsBackendTest, StopStopsEverythingAndRemembersTheCounts) {
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_EQ(stopped->message, kCompleted);
  EXPECT_EQ(stopped->details, (Details{{"ecs_services_stopped", 2},
                                       {"rds_instances_stopped", 1},
                                       {"rds_clusters_stopped", 1},
                                       {"ec2_instances_stopped", 2}}));
  EXPECT_THAT(stopped->notes, IsEmpty());

  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 0);
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "worker"), 0);
  EXPECT_EQ(service_tag(state, "infra-dev", "api", "infra-bot:desired-count"), "2");
  EXPECT_EQ(service_tag(state, "infra-dev", "worker", "infra-bot:desired-count"), "1");
  EXPECT_EQ(test::FakeAws::db_status(state, "app-dev-db"), "stopped");
  EXPECT_EQ(cluster_status(state, "app-dev-aurora"), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, kBastion), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, kRunner), "stopped");
  // The member instance went through its cluster; staging was not touched.
  EXPECT_EQ(calls("rds", "StopDBInstance"), 1u);
  EXPECT_EQ(calls("rds", "StopDBCluster"), 1u);
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-staging", "api"), 2);
  EXPECT_EQ(test::FakeAws::db_status(state, "app-staging-db"), "available");
  // The ECS calls name the cluster (never the "default" one).
  for (const auto& request : fake_.requests(test::FakeAws::call("ecs", "UpdateService"))) {
    EXPECT_THAT(test::FakeAws::str(test::FakeAws::params(request), "cluster"),
                HasSubstr(":cluster/infra-dev"));
  }
}

TEST_F(AwsBackendTest, StartRestoresTheRememberedCounts) {
  ASSERT_TRUE(run(infra::LifecycleAction::stop));
  auto started = run(infra::LifecycleAction::start);
  ASSERT_TRUE(started) << started.error().user_message;
  EXPECT_EQ(started->message, kCompleted);
  EXPECT_EQ(started->details, (Details{{"ecs_services_started", 2},
                                       {"rds_instances_started", 1},
                                       {"rds_clusters_started", 1},
                                       {"ec2_instances_started", 2}}));
  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 2);
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "worker"), 1);
  EXPECT_EQ(test::FakeAws::db_status(state, "app-dev-db"), "available");
  EXPECT_EQ(cluster_status(state, "app-dev-aurora"), "available");
  EXPECT_EQ(test::FakeAws::instance_state(state, kRunner), "running");
}

TEST_F(AwsBackendTest, StartWithoutARememberedCountStartsOneTask) {
  ASSERT_TRUE(fake_.merge_state(R"({"ecs": {"clusters": [{"name": "infra-dev", "services": [
      {"name": "api", "desiredCount": 0, "runningCount": 0, "tags": {"Environment": "dev"}}]}]}})"));
  auto started = run(infra::LifecycleAction::start);
  ASSERT_TRUE(started) << started.error().user_message;
  EXPECT_EQ(test::FakeAws::desired_count(fake_.state(), "infra-dev", "api"), 1);
  EXPECT_THAT(started->notes, Contains("ECS service worker: already running"));
}

TEST_F(AwsBackendTest, StopTwiceReportsAlreadyStopped) {
  ASSERT_TRUE(run(infra::LifecycleAction::stop));
  auto again = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(again) << again.error().user_message;
  EXPECT_EQ(again->message, kCompleted);
  EXPECT_EQ(again->details, (Details{{"ecs_services_stopped", 0},
                                     {"rds_instances_stopped", 0},
                                     {"rds_clusters_stopped", 0},
                                     {"ec2_instances_stopped", 0}}));
  EXPECT_THAT(again->notes,
              ElementsAre("ECS service api: already stopped", "ECS service worker: already stopped",
                          "EC2 bastion-dev (i-0a1b2c3d4e5f61001): already stopped",
                          "EC2 runner-dev (i-0a1b2c3d4e5f61002): already stopped",
                          "RDS cluster app-dev-aurora: already stopped",
                          "RDS app-dev-db: already stopped"));
  // The count remembered by the first stop survives the second.
  EXPECT_EQ(service_tag(fake_.state(), "infra-dev", "api", "infra-bot:desired-count"), "2");
}

TEST_F(AwsBackendTest, InvalidStateFromRdsIsReadByDescribingAgain) {
  // The instance stops between our describe and our StopDBInstance (someone else stopped it):
  // RDS answers InvalidDBInstanceState, the describe that follows shows it stopped.
  ASSERT_TRUE(fake_.fault(R"({"service": "rds", "operation": "StopDBInstance",
                              "code": "InvalidDBInstanceState", "delay_ms": 2000,
                              "message": "Instance app-dev-db is not in available state."})"));
  core::Result<infra::ActionResult> stopped = core::make_error(core::ErrorCode::internal, "");
  std::thread worker([&] { stopped = run(infra::LifecycleAction::stop); });
  const bool seen = fake_.wait_for("StopDBInstance", test::FakeAws::call("rds", "StopDBInstance"));
  if (seen) {
    EXPECT_TRUE(fake_.merge_state(
        R"({"rds": {"instances": [{"id": "app-dev-db", "status": "stopped"}]}})"));
  }
  worker.join();
  ASSERT_TRUE(seen);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_THAT(stopped->notes, ElementsAre("RDS app-dev-db: already stopped"));
  EXPECT_EQ(stopped->message, kCompleted);
  EXPECT_EQ(stopped->details[1],
            (std::pair<std::string, std::int64_t>{"rds_instances_stopped", 0}));
}

TEST_F(AwsBackendTest, AResourceInAStateItCannotLeaveIsANoteNotAFailureOfTheRest) {
  ASSERT_TRUE(fake_.merge_state(
      R"({"rds": {"instances": [{"id": "app-dev-db", "status": "backing-up"}]}})"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_THAT(stopped->notes, ElementsAre("RDS app-dev-db: cannot be stopped while backing-up"));
  EXPECT_EQ(stopped->message, "Completed with problems: 1 of 6 resources could not be stopped.");
  EXPECT_EQ(test::FakeAws::instance_state(fake_.state(), kRunner), "stopped");
}

TEST_F(AwsBackendTest, IncorrectInstanceStateOnOneInstance) {
  ASSERT_TRUE(fake_.fault(R"({"service": "ec2", "operation": "StopInstances",
                              "resource": "i-0a1b2c3d4e5f61001", "code": "IncorrectInstanceState",
                              "times": -1, "message": "The instance is not in a state from which it can be stopped."})"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_THAT(
      stopped->notes,
      ElementsAre("EC2 bastion-dev (i-0a1b2c3d4e5f61001): cannot be stopped while running"));
  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::instance_state(state, kRunner), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, kBastion), "running");
}

TEST_F(AwsBackendTest, TeardownServicesStopsEcsAndRdsOnly) {
  auto torn = run(infra::LifecycleAction::teardown, "dev", infra::TeardownLevel::services);
  ASSERT_TRUE(torn) << torn.error().user_message;
  EXPECT_EQ(torn->action, infra::LifecycleAction::teardown);
  EXPECT_EQ(torn->details, (Details{{"ecs_services_stopped", 2},
                                    {"rds_instances_stopped", 1},
                                    {"rds_clusters_stopped", 1}}));
  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 0);
  EXPECT_EQ(test::FakeAws::db_status(state, "app-dev-db"), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, kBastion), "running");
  EXPECT_EQ(test::FakeAws::instance_state(state, kRunner), "running");
  EXPECT_EQ(calls("ec2", "StopInstances"), 0u);
}

TEST_F(AwsBackendTest, FullTeardownAndSpinupNeedTheLambda) {
  const infra::LifecycleRequest full{infra::LifecycleAction::teardown, "dev",
                                     infra::TeardownLevel::full};
  const infra::LifecycleRequest spinup{infra::LifecycleAction::spinup, "dev", std::nullopt};
  EXPECT_EQ(backend_->unsupported(full),
            "`teardown --level=full` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN "
            "(or use `--level=services`, which stops ECS and RDS).");
  EXPECT_EQ(backend_->unsupported(spinup),
            "`spinup` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN.");
  EXPECT_EQ(backend_->unsupported(
                {infra::LifecycleAction::teardown, "dev", infra::TeardownLevel::services}),
            std::nullopt);
  EXPECT_EQ(backend_->unsupported({infra::LifecycleAction::stop, "dev", std::nullopt}),
            std::nullopt);
  auto refused = backend_->run(full, context());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::invalid_input);
  EXPECT_EQ(refused.error().user_message, *backend_->unsupported(full));
  EXPECT_FALSE(backend_->run(spinup, context()));
  EXPECT_EQ(fake_.count(), 0u);
}

TEST_F(AwsBackendTest, NothingTaggedIsNotFound) {
  auto stopped = run(infra::LifecycleAction::stop, "qa");
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(stopped.error().user_message,
            "Nothing to stop in `qa`: Nothing is tagged `Environment=qa` in `eu-west-1`.");
}

// ---- reboot ---------------------------------------------------------------------------------

TEST_F(AwsBackendTest, RebootAllRunningInstances) {
  auto rebooted = run(infra::LifecycleAction::reboot);
  ASSERT_TRUE(rebooted) << rebooted.error().user_message;
  EXPECT_EQ(rebooted->details, (Details{{"ec2_instances_rebooted", 2}}));
  EXPECT_EQ(rebooted->message, kCompleted);
  const auto sent = fake_.requests(test::FakeAws::call("ec2", "RebootInstances"));
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(core::json::to_string(member(test::FakeAws::params(sent[0]), "InstanceIds")),
            R"(["i-0a1b2c3d4e5f61001","i-0a1b2c3d4e5f61002"])");
}

TEST_F(AwsBackendTest, RebootOneByName) {
  auto rebooted = run(infra::LifecycleAction::reboot, "dev", std::nullopt, "runner-dev");
  ASSERT_TRUE(rebooted) << rebooted.error().user_message;
  EXPECT_EQ(rebooted->details, (Details{{"ec2_instances_rebooted", 1}}));
  const auto sent = fake_.requests(test::FakeAws::call("ec2", "RebootInstances"));
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(core::json::to_string(member(test::FakeAws::params(sent[0]), "InstanceIds")),
            R"(["i-0a1b2c3d4e5f61002"])");
}

TEST_F(AwsBackendTest, RebootUnknownNameNamesTheInstances) {
  auto rebooted = run(infra::LifecycleAction::reboot, "dev", std::nullopt, "web-1");
  ASSERT_FALSE(rebooted);
  EXPECT_EQ(rebooted.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(rebooted.error().user_message,
            "No EC2 instance named `web-1` in `dev`. Its instances: `bastion-dev`, `runner-dev`.");
  EXPECT_EQ(calls("ec2", "RebootInstances"), 0u);
}

TEST_F(AwsBackendTest, RebootSkipsStoppedInstancesWithANote) {
  ASSERT_TRUE(fake_.merge_state(
      R"({"ec2": {"instances": [{"id": "i-0a1b2c3d4e5f61001", "state": "stopped"}]}})"));
  auto rebooted = run(infra::LifecycleAction::reboot);
  ASSERT_TRUE(rebooted) << rebooted.error().user_message;
  EXPECT_EQ(rebooted->details, (Details{{"ec2_instances_rebooted", 1}}));
  EXPECT_THAT(rebooted->notes,
              ElementsAre("EC2 bastion-dev (i-0a1b2c3d4e5f61001): not rebooted, it is stopped"));
  auto named = run(infra::LifecycleAction::reboot, "dev", std::nullopt, "bastion-dev");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, core::ErrorCode::conflict);
}

TEST_F(AwsBackendTest, RebootWithNoEc2InstanceSaysSoNotThatNothingIsTagged) {
  // dev still has ECS and RDS; its instances are terminated, then gone.
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"instances": [
      {"id": "i-0a1b2c3d4e5f61001", "state": "terminated"},
      {"id": "i-0a1b2c3d4e5f61002", "state": "terminated"}]}})"));
  const std::string no_ec2 =
      "No EC2 instance is tagged `Environment=dev` (terminated ones are not counted).";
  auto terminated = run(infra::LifecycleAction::reboot);
  ASSERT_FALSE(terminated);
  EXPECT_EQ(terminated.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(terminated.error().user_message, no_ec2);

  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"instances": [
      {"id": "i-0a1b2c3d4e5f61001", "_delete": true},
      {"id": "i-0a1b2c3d4e5f61002", "_delete": true}]}})"));
  auto gone = run(infra::LifecycleAction::reboot);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(gone.error().user_message, no_ec2);

  // A truly empty environment: nothing is tagged.
  auto empty = run(infra::LifecycleAction::reboot, "qa");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().user_message,
            "`qa` has no EC2 instances to reboot. Nothing is tagged `Environment=qa` in "
            "`eu-west-1`.");
  EXPECT_EQ(calls("ec2", "RebootInstances"), 0u);
}

TEST_F(AwsBackendTest, ARebootThatMayHaveRunIsNotRepeated) {
  ASSERT_TRUE(
      fake_.fault(R"({"service": "ec2", "operation": "RebootInstances", "kind": "internal"})"));
  auto rebooted = run(infra::LifecycleAction::reboot, "dev", std::nullopt, "runner-dev");
  ASSERT_FALSE(rebooted);
  EXPECT_EQ(rebooted.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(rebooted.error().user_message,
              AllOf(HasSubstr("Could not tell whether `reboot` ran in `dev`: EC2 runner-dev "
                              "(i-0a1b2c3d4e5f61002): AWS failed EC2 RebootInstances"),
                    HasSubstr("it may or may not have happened")));
  EXPECT_EQ(calls("ec2", "RebootInstances"), 1u);
}

// ---- allow-list -----------------------------------------------------------------------------

TEST_F(AwsBackendTest, WhitelistAddOpensEachPortWithTheDescription) {
  auto added =
      add("203.0.113.7/32", std::chrono::days(7), "Home office \xE2\x80\x9Cnew\xE2\x80\x9D");
  ASSERT_TRUE(added) << added.error().user_message;
  EXPECT_FALSE(added->replaced);
  EXPECT_EQ(added->entry, (infra::WhitelistEntry{"203.0.113.7/32", "Home office new", "U0123ABC",
                                                 at("2026-12-02T10:00:00Z")}));
  const auto state = fake_.state();
  const auto all = rules(state, kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(descriptions_of(all, "203.0.113.7/32"),
              Contains("infra-bot:wl until=2026-12-02T10:00:00Z by=U0123ABC note=Home office new"));
  EXPECT_THAT(descriptions_of(all, "203.0.113.7/32"), SizeIs(3));
  // The rule the bot did not make, and the group not marked for the allow-list, are untouched.
  EXPECT_THAT(all, Contains(Rule{std::string(kVpnRule), 22, "198.51.100.0/24", "office VPN"}));
  EXPECT_THAT(rules(state, kInternalGroup), IsEmpty());
}

TEST_F(AwsBackendTest, WhitelistAddIpv6) {
  auto added = add("2001:db8::/64", std::chrono::hours(1), std::nullopt);
  ASSERT_TRUE(added) << added.error().user_message;
  EXPECT_THAT(ports_of(rules(fake_.state(), kWhitelistGroup), "2001:db8::/64"),
              ElementsAre(80, 443, 7233));
}

TEST_F(AwsBackendTest, RetriedAddAfterAPartialStateEndsWithEveryPort) {
  // An earlier add left port 80 only (the bot's), and someone opened 443 by hand.
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [
      {"id": "sgr-0aaaaaaaaaaaaaaa1", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "203.0.113.7/32",
       "description": "infra-bot:wl until=2026-11-26T10:00:00Z by=U0123ABC note=first try"},
      {"id": "sgr-0aaaaaaaaaaaaaaa2", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.7/32",
       "description": "opened by hand"}]}})"));
  auto added = add("203.0.113.7/32", std::chrono::days(1), std::nullopt);
  ASSERT_TRUE(added) << added.error().user_message;
  EXPECT_TRUE(added->replaced);
  EXPECT_EQ(added->entry.description, "first try");
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  const std::string renewed = "infra-bot:wl until=2026-11-26T10:00:00Z by=U0123ABC note=first try";
  EXPECT_THAT(all, Contains(Rule{"sgr-0aaaaaaaaaaaaaaa1", 80, "203.0.113.7/32", renewed}));
  EXPECT_THAT(all,
              Contains(Rule{"sgr-0aaaaaaaaaaaaaaa2", 443, "203.0.113.7/32", "opened by hand"}));
  // The batch of 443 + 7233 was refused as a duplicate, then each port was added alone.
  EXPECT_EQ(calls("ec2", "AuthorizeSecurityGroupIngress"), 3u);
}

TEST_F(AwsBackendTest, WhitelistAddAgainRenews) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(7), "Home office"));
  clock_.advance(std::chrono::hours(1));
  auto renewed = add("203.0.113.7/32", std::chrono::days(30), std::nullopt);
  ASSERT_TRUE(renewed) << renewed.error().user_message;
  EXPECT_TRUE(renewed->replaced);
  EXPECT_EQ(renewed->entry.description, "Home office");  // kept without --description
  EXPECT_EQ(renewed->entry.expires_at, at("2026-12-25T11:00:00Z"));
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(descriptions_of(all, "203.0.113.7/32"),
              ElementsAre("infra-bot:wl until=2026-12-25T11:00:00Z by=U0123ABC note=Home office",
                          "infra-bot:wl until=2026-12-25T11:00:00Z by=U0123ABC note=Home office",
                          "infra-bot:wl until=2026-12-25T11:00:00Z by=U0123ABC note=Home office"));
  EXPECT_EQ(calls("ec2", "AuthorizeSecurityGroupIngress"), 1u);
  EXPECT_EQ(calls("ec2", "UpdateSecurityGroupRuleDescriptionsIngress"), 1u);
}

TEST_F(AwsBackendTest, WhitelistListsOneEntryPerCidrAndOnlyTheBots) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(7), "Home office"));
  ASSERT_TRUE(add("2001:db8::/64", std::chrono::hours(2), "Laptop"));
  auto listing = backend_->whitelist_list("dev", context());
  ASSERT_TRUE(listing) << listing.error().user_message;
  EXPECT_EQ(listing->environment, "dev");
  EXPECT_THAT(listing->entries,
              ElementsAre(infra::WhitelistEntry{"2001:db8::/64", "Laptop", "U0123ABC",
                                                at("2026-11-25T12:00:00Z")},
                          infra::WhitelistEntry{"203.0.113.7/32", "Home office", "U0123ABC",
                                                at("2026-12-02T10:00:00Z")}));
}

TEST_F(AwsBackendTest, WhitelistRemoveTakesOnlyTheBotsRules) {
  ASSERT_TRUE(add("198.51.100.0/24", std::chrono::days(1), "same CIDR as the VPN rule"));
  auto removed = backend_->whitelist_remove({cidr("198.51.100.0/24"), "dev"}, context());
  ASSERT_TRUE(removed) << removed.error().user_message;
  EXPECT_EQ(removed->cidr, "198.51.100.0/24");
  EXPECT_THAT(rules(fake_.state(), kWhitelistGroup),
              ElementsAre(Rule{std::string(kVpnRule), 22, "198.51.100.0/24", "office VPN"}));
  auto again = backend_->whitelist_remove({cidr("198.51.100.0/24"), "dev"}, context());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(again.error().user_message, "`198.51.100.0/24` is not on the allow-list of `dev`.");
}

TEST_F(AwsBackendTest, RefreshReaddsADeletedPortAndRemovesExpiredRules) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(1), "stays"));
  ASSERT_TRUE(add("203.0.113.8/32", std::chrono::hours(1), "expires"));
  std::string deleted;
  for (const auto& rule : rules(fake_.state(), kWhitelistGroup)) {
    if (rule.cidr == "203.0.113.7/32" && rule.port == 443) deleted = rule.id;
  }
  ASSERT_FALSE(deleted.empty());
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [{"id": ")" + deleted +
                                R"(", "_delete": true},
      {"id": "sgr-0bbbbbbbbbbbbbbb1", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.9/32",
       "description": "infra-bot:wl by=U0BAD note=no until"}]}})"));
  clock_.advance(std::chrono::hours(2));

  auto refreshed = backend_->whitelist_refresh("dev", context());
  ASSERT_TRUE(refreshed) << refreshed.error().user_message;
  EXPECT_THAT(refreshed->security_groups, ElementsAre(std::string(kWhitelistGroup)));
  EXPECT_EQ(refreshed->rules_added, 1);
  EXPECT_EQ(refreshed->rules_removed, 4);
  // What expired is removed and returned (the sweep will not see it any more).
  EXPECT_THAT(refreshed->expired,
              ElementsAre(infra::WhitelistEntry{"203.0.113.8/32", "expires", "U0123ABC",
                                                at("2026-11-25T11:00:00Z")},
                          infra::WhitelistEntry{"203.0.113.9/32", "no until (no readable expiry)",
                                                "U0BAD", std::nullopt}));
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(descriptions_of(all, "203.0.113.7/32"),
              Contains("infra-bot:wl until=2026-11-26T10:00:00Z by=U0123ABC note=stays"));
  EXPECT_THAT(ports_of(all, "203.0.113.8/32"), IsEmpty());
  EXPECT_THAT(ports_of(all, "203.0.113.9/32"), IsEmpty());
  EXPECT_THAT(all, Contains(Rule{std::string(kVpnRule), 22, "198.51.100.0/24", "office VPN"}));
}

TEST_F(AwsBackendTest, WhitelistExpireRemovesAndReturnsTheExpired) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(1), "stays"));
  ASSERT_TRUE(add("203.0.113.8/32", std::chrono::hours(1), "expires"));
  auto nothing = backend_->whitelist_expire("dev", at("2026-11-25T10:59:59Z"), context());
  ASSERT_TRUE(nothing) << nothing.error().user_message;
  EXPECT_THAT(*nothing, IsEmpty());

  auto expired = backend_->whitelist_expire("dev", at("2026-11-25T11:00:00Z"), context());
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_THAT(*expired, ElementsAre(infra::WhitelistEntry{"203.0.113.8/32", "expires", "U0123ABC",
                                                          at("2026-11-25T11:00:00Z")}));
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.8/32"), IsEmpty());
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(all, Contains(Rule{std::string(kVpnRule), 22, "198.51.100.0/24", "office VPN"}));
}

TEST_F(AwsBackendTest, ABotRuleWithNoReadableExpiryHasExpired) {
  // The bot's marker, but an until= edited by hand into something unreadable, or dropped: such a
  // rule must not stay open forever (fail closed).
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [
      {"id": "sgr-0bbbbbbbbbbbbbbb1", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.9/32",
       "description": "infra-bot:wl until=next-week by=U0BAD note=hand edited"},
      {"id": "sgr-0bbbbbbbbbbbbbbb2", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.10/32",
       "description": "infra-bot:wl by=U0BAD"}]}})"));
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(1), "stays"));

  auto listing = backend_->whitelist_list("dev", context());
  ASSERT_TRUE(listing) << listing.error().user_message;
  EXPECT_THAT(
      listing->entries,
      ElementsAre(
          infra::WhitelistEntry{"203.0.113.10/32", "no readable expiry", "U0BAD", std::nullopt},
          infra::WhitelistEntry{"203.0.113.7/32", "stays", "U0123ABC", at("2026-11-26T10:00:00Z")},
          infra::WhitelistEntry{"203.0.113.9/32", "hand edited (no readable expiry)", "U0BAD",
                                std::nullopt}));

  auto expired = backend_->whitelist_expire("dev", clock_.now(), context());
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_THAT(*expired, ElementsAre(infra::WhitelistEntry{"203.0.113.10/32", "no readable expiry",
                                                          "U0BAD", std::nullopt},
                                    infra::WhitelistEntry{"203.0.113.9/32",
                                                          "hand edited (no readable expiry)",
                                                          "U0BAD", std::nullopt}));
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.9/32"), IsEmpty());
  EXPECT_THAT(ports_of(all, "203.0.113.10/32"), IsEmpty());
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(all, Contains(Rule{std::string(kVpnRule), 22, "198.51.100.0/24", "office VPN"}));
}

TEST_F(AwsBackendTest, RenewingARuleWithNoReadableExpiryGivesItOne) {
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [
      {"id": "sgr-0bbbbbbbbbbbbbbb1", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "203.0.113.9/32",
       "description": "infra-bot:wl until=garbled by=U0BAD note=kept note"}]}})"));
  auto renewed = add("203.0.113.9/32", std::chrono::days(1), std::nullopt);
  ASSERT_TRUE(renewed) << renewed.error().user_message;
  EXPECT_TRUE(renewed->replaced);
  EXPECT_EQ(renewed->entry, (infra::WhitelistEntry{"203.0.113.9/32", "kept note", "U0123ABC",
                                                   at("2026-11-26T10:00:00Z")}));
  auto expired = backend_->whitelist_expire("dev", clock_.now(), context());
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_THAT(*expired, IsEmpty());
  EXPECT_THAT(ports_of(rules(fake_.state(), kWhitelistGroup), "203.0.113.9/32"),
              ElementsAre(80, 443, 7233));
}

TEST_F(AwsBackendTest, TheExpirySweepAndARenewalOfTheSameEnvironmentRunOneAtATime) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::hours(1), "renewed"));
  // The sweep reads the rules (expired at its `now`), then its answer is held back a second;
  // meanwhile the user renews the entry. Unserialised, the renewal would update the rules in
  // place and the sweep would then revoke them from its earlier read: the user told "renewed",
  // the address shut out. Serialised, the renewal waits for the sweep and adds the entry anew.
  ASSERT_TRUE(fake_.fault(R"({"service": "ec2", "operation": "DescribeSecurityGroupRules",
                              "kind": "delay", "delay_ms": 1000, "times": 1})"));
  const std::size_t reads = calls("ec2", "DescribeSecurityGroupRules");
  const auto sweep_now = at("2026-11-25T11:00:00Z");
  core::Result<std::vector<infra::WhitelistEntry>> swept = std::vector<infra::WhitelistEntry>{};
  std::thread sweep([&] { swept = backend_->whitelist_expire("dev", sweep_now, context()); });
  const bool read = fake_.wait_for(
      "the sweep's read", test::FakeAws::call("ec2", "DescribeSecurityGroupRules"), reads + 1);
  auto renewed = add("203.0.113.7/32", std::chrono::days(30), std::nullopt);
  sweep.join();
  ASSERT_TRUE(read);
  ASSERT_TRUE(swept) << swept.error().user_message;
  ASSERT_TRUE(renewed) << renewed.error().user_message;
  // The sweep went first: the entry expired (its notice), then the renewal added it again.
  EXPECT_THAT(*swept, ElementsAre(infra::WhitelistEntry{"203.0.113.7/32", "renewed", "U0123ABC",
                                                        sweep_now}));
  EXPECT_FALSE(renewed->replaced);
  EXPECT_EQ(renewed->entry.expires_at, at("2026-12-25T10:00:00Z"));
  const auto all = rules(fake_.state(), kWhitelistGroup);
  EXPECT_THAT(ports_of(all, "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(descriptions_of(all, "203.0.113.7/32"),
              Each("infra-bot:wl until=2026-12-25T10:00:00Z by=U0123ABC note="));
}

// ---- allow-list changes that fail in some groups ----------------------------------------------

TEST_F(AwsBackendTest, WhitelistAddGoesOnInTheOtherGroupsAndSaysWhatHappened) {
  ASSERT_TRUE(add_second_whitelist_group());
  ASSERT_TRUE(deny("AuthorizeSecurityGroupIngress", kWhitelistGroup));
  auto added = add("203.0.113.7/32", std::chrono::days(1), "Home office");
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(added.error().user_message,
            fmt::format("`203.0.113.7/32` was added to {} but not to {} ({}). Run the same "
                        "`/infra whitelist add` again to retry.",
                        kSecondGroup, kWhitelistGroup, kNotAuthorized));
  EXPECT_THAT(added.error().detail, HasSubstr(std::string(kWhitelistGroup)));
  const auto state = fake_.state();
  EXPECT_THAT(ports_of(rules(state, kSecondGroup), "203.0.113.7/32"), ElementsAre(80, 443, 7233));
  EXPECT_THAT(ports_of(rules(state, kWhitelistGroup), "203.0.113.7/32"), IsEmpty());
}

TEST_F(AwsBackendTest, WhitelistAddFailingEverywhereNamesEachGroup) {
  ASSERT_TRUE(add_second_whitelist_group());
  ASSERT_TRUE(deny("AuthorizeSecurityGroupIngress", kWhitelistGroup));
  ASSERT_TRUE(deny("AuthorizeSecurityGroupIngress", kSecondGroup));
  auto added = add("203.0.113.7/32", std::chrono::days(1), "Home office");
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, core::ErrorCode::denied);
  EXPECT_EQ(added.error().user_message,
            fmt::format("Could not add `203.0.113.7/32` to {} ({}), {} ({}).", kWhitelistGroup,
                        kNotAuthorized, kSecondGroup, kNotAuthorized));
}

TEST_F(AwsBackendTest, AFailingPortDoesNotKeepTheOtherPortsOut) {
  // 443 is open by hand, so the batch is a duplicate and the ports go one by one: 80 is
  // refused, 7233 is still added.
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [
      {"id": "sgr-0aaaaaaaaaaaaaaa2", "groupId": "sg-0f1e2d3c4b5a61001", "egress": false,
       "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.7/32",
       "description": "opened by hand"}]}})"));
  ASSERT_TRUE(fake_.fault(R"({"service": "ec2", "operation": "AuthorizeSecurityGroupIngress",
      "kind": "access_denied", "after": 1, "times": 1,
      "message": "You are not authorized to perform this operation."})"));
  auto added = add("203.0.113.7/32", std::chrono::days(1), std::nullopt);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().user_message, fmt::format("Could not add `203.0.113.7/32` to {} ({}).",
                                                    kWhitelistGroup, kNotAuthorized));
  EXPECT_THAT(ports_of(rules(fake_.state(), kWhitelistGroup), "203.0.113.7/32"),
              ElementsAre(443, 7233));
  EXPECT_EQ(calls("ec2", "AuthorizeSecurityGroupIngress"), 4u);
}

TEST_F(AwsBackendTest, WhitelistRemoveGoesOnInTheOtherGroupsAndSaysWhatHappened) {
  ASSERT_TRUE(add_second_whitelist_group());
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(1), "Home office"));
  ASSERT_TRUE(deny("RevokeSecurityGroupIngress", kWhitelistGroup));
  auto removed = backend_->whitelist_remove({cidr("203.0.113.7/32"), "dev"}, context());
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(removed.error().user_message,
            fmt::format("`203.0.113.7/32` was removed from {} but not from {} ({}). Run `/infra "
                        "whitelist remove 203.0.113.7/32 --env=dev` again to retry.",
                        kSecondGroup, kWhitelistGroup, kNotAuthorized));
  const auto state = fake_.state();
  EXPECT_THAT(ports_of(rules(state, kSecondGroup), "203.0.113.7/32"), IsEmpty());
  EXPECT_THAT(ports_of(rules(state, kWhitelistGroup), "203.0.113.7/32"),
              ElementsAre(80, 443, 7233));
}

TEST_F(AwsBackendTest, WhitelistExpireReturnsWhatIsGoneAndLeavesAFailedGroupForTheNextSweep) {
  ASSERT_TRUE(add_second_whitelist_group());
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::hours(1), "both groups"));
  // An expired entry of the bot's in the second group only.
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [
      {"id": "sgr-0ccccccccccccccc1", "groupId": "sg-0f1e2d3c4b5a61003", "egress": false,
       "protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "203.0.113.8/32",
       "description": "infra-bot:wl until=2026-11-25T10:30:00Z by=U0OTHER note=web only"}]}})"));
  ASSERT_TRUE(deny("RevokeSecurityGroupIngress", kWhitelistGroup));

  const auto later = at("2026-11-25T11:00:00Z");
  auto expired = backend_->whitelist_expire("dev", later, context());
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_THAT(*expired, ElementsAre(infra::WhitelistEntry{"203.0.113.8/32", "web only", "U0OTHER",
                                                          at("2026-11-25T10:30:00Z")}));
  auto state = fake_.state();
  EXPECT_THAT(ports_of(rules(state, kSecondGroup), "203.0.113.7/32"), IsEmpty());
  EXPECT_THAT(ports_of(rules(state, kSecondGroup), "203.0.113.8/32"), IsEmpty());
  EXPECT_THAT(ports_of(rules(state, kWhitelistGroup), "203.0.113.7/32"),
              ElementsAre(80, 443, 7233));

  // The next sweep, with the group writable again, finishes it and gives its notice.
  ASSERT_TRUE(fake_.clear_faults());
  auto next = backend_->whitelist_expire("dev", later, context());
  ASSERT_TRUE(next) << next.error().user_message;
  EXPECT_THAT(*next, ElementsAre(infra::WhitelistEntry{"203.0.113.7/32", "both groups", "U0123ABC",
                                                       later}));
  EXPECT_THAT(ports_of(rules(fake_.state(), kWhitelistGroup), "203.0.113.7/32"), IsEmpty());
}

TEST_F(AwsBackendTest, WhitelistRefreshGoesOnInTheOtherGroupsAndSaysWhatHappened) {
  ASSERT_TRUE(add("203.0.113.7/32", std::chrono::days(1), "Home office"));
  ASSERT_TRUE(add_second_whitelist_group());
  ASSERT_TRUE(deny("AuthorizeSecurityGroupIngress", kWhitelistGroup));
  // 443 is gone from the first group; the second has nothing yet.
  std::string deleted;
  for (const auto& rule : rules(fake_.state(), kWhitelistGroup)) {
    if (rule.cidr == "203.0.113.7/32" && rule.port == 443) deleted = rule.id;
  }
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroupRules": [{"id": ")" + deleted +
                                R"(", "_delete": true}]}})"));
  auto refreshed = backend_->whitelist_refresh("dev", context());
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, core::ErrorCode::unavailable);
  EXPECT_EQ(refreshed.error().user_message,
            fmt::format("The allow-list of `dev` was refreshed in {} but not in {} ({}); 3 rules "
                        "added, 0 removed. Run `/infra whitelist refresh dev` to retry.",
                        kSecondGroup, kWhitelistGroup, kNotAuthorized));
  EXPECT_THAT(ports_of(rules(fake_.state(), kSecondGroup), "203.0.113.7/32"),
              ElementsAre(80, 443, 7233));
}

TEST_F(AwsBackendTest, NoWhitelistGroupSaysWhichTagsToSet) {
  ASSERT_TRUE(fake_.merge_state(R"({"ec2": {"securityGroups": [
      {"id": "sg-0f1e2d3c4b5a62001", "tags": {"Environment": "staging"}}]}})"));
  auto listing = backend_->whitelist_list("staging", context());
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(listing.error().user_message,
            "`staging` has no security group for the allow-list: tag the group(s) that guard it "
            "`Environment=staging` and `infra-bot:whitelist=true`.");
  // The sweep finds nothing to expire there rather than failing every minute.
  auto expired = backend_->whitelist_expire("staging", clock_.now(), context());
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_THAT(*expired, IsEmpty());
}

// ---- faults ---------------------------------------------------------------------------------

TEST_F(AwsBackendTest, ThrottlingThenSuccess) {
  ASSERT_TRUE(
      fake_.fault(R"([{"service": "ecs", "operation": "DescribeServices", "kind": "throttle"},
                              {"service": "ec2", "operation": "StopInstances", "kind": "throttle"}])"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_EQ(stopped->message, kCompleted);
  EXPECT_EQ(clients_.sleeper().sleeps().size(), 2u);
  EXPECT_EQ(test::FakeAws::instance_state(fake_.state(), kBastion), "stopped");
}

TEST_F(AwsBackendTest, ServerErrorThenSuccess) {
  ASSERT_TRUE(fake_.fault(R"([{"service": "tagging", "kind": "internal"},
                              {"service": "rds", "operation": "StopDBCluster", "kind": "internal"}])"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_EQ(stopped->message, kCompleted);
  EXPECT_EQ(calls("rds", "StopDBCluster"), 2u);
  EXPECT_EQ(cluster_status(fake_.state(), "app-dev-aurora"), "stopped");
}

TEST_F(AwsBackendTest, MalformedBodyIsAProblemTheRestIsReported) {
  ASSERT_TRUE(
      fake_.fault(R"({"service": "ec2", "operation": "DescribeInstances", "kind": "malformed"})"));
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->ec2_instances, IsEmpty());
  EXPECT_THAT(status->ecs_services, SizeIs(2));
  EXPECT_THAT(status->rds_instances, SizeIs(1));
  EXPECT_THAT(status->problems, ElementsAre(AllOf(HasSubstr("EC2"), HasSubstr("could not read"))));
}

TEST_F(AwsBackendTest, PageTokenLoopIsAReadableError) {
  ASSERT_TRUE(fake_.fault(R"({"service": "tagging", "kind": "token_loop"})"));
  // Pages of one, so the listing needs a second page.
  infra::AwsApis apis{clients_.tagging({1, 100}), clients_.ecs(), clients_.rds(), clients_.ec2()};
  infra::AwsBackend backend({}, std::move(apis), clock_, core::make_null_logger());
  auto status = backend.status("dev", context());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(status.error().user_message, HasSubstr("pagination token came back twice"));
}

TEST_F(AwsBackendTest, AccessDeniedOnOneResourceInStatus) {
  ASSERT_TRUE(fake_.fault(R"({"service": "ecs", "operation": "DescribeServices",
                              "resource": "infra-dev/api", "kind": "access_denied", "times": -1})"));
  auto status = backend_->status("dev", context());
  ASSERT_TRUE(status) << status.error().user_message;
  ASSERT_THAT(status->ecs_services, SizeIs(1));
  EXPECT_EQ(status->ecs_services[0].name, "worker");
  ASSERT_THAT(status->problems, SizeIs(1));
  EXPECT_THAT(status->problems[0], HasSubstr("ECS service api: AccessDenied — "));
  EXPECT_THAT(status->rds_instances, SizeIs(1));
  EXPECT_THAT(status->ec2_instances, SizeIs(2));
}

TEST_F(AwsBackendTest, AccessDeniedOnOneResourceInStop) {
  ASSERT_TRUE(fake_.fault(R"([{"service": "ecs", "operation": "UpdateService",
                               "resource": "infra-dev/api", "kind": "access_denied", "times": -1},
                              {"service": "ec2", "operation": "StopInstances",
                               "resource": "i-0a1b2c3d4e5f61002", "kind": "access_denied", "times": -1}])"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_TRUE(stopped) << stopped.error().user_message;
  EXPECT_EQ(stopped->message, "Completed with problems: 2 of 6 resources could not be stopped.");
  ASSERT_THAT(stopped->notes, SizeIs(2));
  EXPECT_THAT(stopped->notes[0], HasSubstr("ECS service api: AccessDenied — "));
  EXPECT_THAT(stopped->notes[1],
              HasSubstr("EC2 runner-dev (i-0a1b2c3d4e5f61002): UnauthorizedOperation — "));
  EXPECT_EQ(stopped->details, (Details{{"ecs_services_stopped", 1},
                                       {"rds_instances_stopped", 1},
                                       {"rds_clusters_stopped", 1},
                                       {"ec2_instances_stopped", 1}}));
  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 2);
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "worker"), 0);
  EXPECT_EQ(test::FakeAws::instance_state(state, kBastion), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, kRunner), "running");
  EXPECT_EQ(test::FakeAws::db_status(state, "app-dev-db"), "stopped");
}

TEST_F(AwsBackendTest, WhenEverythingIsDeniedTheActionIsAnError) {
  ASSERT_TRUE(fake_.fault(
      R"([{"service": "ecs", "operation": "TagResource", "kind": "access_denied", "times": -1},
                              {"service": "rds", "operation": "StopDBInstance", "kind": "access_denied", "times": -1},
                              {"service": "rds", "operation": "StopDBCluster", "kind": "access_denied", "times": -1},
                              {"service": "ec2", "operation": "StopInstances", "kind": "access_denied", "times": -1}])"));
  auto stopped = run(infra::LifecycleAction::stop);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::denied);
  EXPECT_THAT(stopped.error().user_message, AllOf(HasSubstr("Could not stop anything in `dev`: "),
                                                  HasSubstr("ECS service api: AccessDenied"),
                                                  HasSubstr("RDS app-dev-db: AccessDenied")));
  // No service was scaled down without its count remembered.
  EXPECT_EQ(calls("ecs", "UpdateService"), 0u);
}

// ---- the factory ----------------------------------------------------------------------------

TEST_F(AwsBackendTest, MakeAwsBackendFromConfig) {
  core::Config config;
  config.aws_region = fake_.region();
  config.aws_endpoints.ecs = fake_.endpoint();
  config.aws_endpoints.rds = fake_.endpoint();
  config.aws_endpoints.ec2 = fake_.endpoint();
  config.aws_endpoints.tagging = fake_.endpoint();
  core::SystemClock clock;
  auto made = infra::make_aws_backend(config, clients_.http(), clients_.credentials(), clock,
                                      clients_.sleeper(), core::make_null_logger());
  ASSERT_TRUE(made) << made.error().user_message;
  auto status = (*made)->status("staging", context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_THAT(status->ecs_services, SizeIs(2));
  EXPECT_THAT(status->rds_clusters, IsEmpty());

  config.aws_region.clear();
  auto no_region = infra::make_aws_backend(config, clients_.http(), clients_.credentials(), clock,
                                           clients_.sleeper(), core::make_null_logger());
  ASSERT_FALSE(no_region);
  EXPECT_EQ(no_region.error().code, core::ErrorCode::config);
  config.aws_region = "eu-west-1";
  config.aws_endpoints.ec2 = "https://host/?query";
  auto bad = infra::make_aws_backend(config, clients_.http(), clients_.credentials(), clock,
                                     clients_.sleeper(), core::make_null_logger());
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().user_message, HasSubstr("EC2 endpoint"));
}

}  // namespace
