// The AWS protocol layer (aws::ServiceClient and the tagging, ECS, RDS and EC2 clients) against
// scripted HTTP answers: request bodies byte for byte as botocore serialises them (the fixtures
// in proto-fixtures/aws/requests/, checked against botocore itself by
// aws_clients_integration_test), the three error shapes, XML answers read by local name,
// standard-mode retries and pagination guards.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>

#include "aws/ec2_client.hpp"
#include "aws/ecs_client.hpp"
#include "aws/rds_client.hpp"
#include "aws/service_client.hpp"
#include "aws/tagging_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_clock.hpp"
#include "scripted_http_client.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Le;
using ::testing::Not;

constexpr std::string_view kEcsArn = "arn:aws:ecs:eu-west-1:123456789012";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string fixture(std::string_view name) {
  return read_file(std::string(FIXTURES_DIR) + "/aws/" + std::string(name));
}

class RecordingSleeper final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

class CountingCredentials final : public aws::CredentialsProvider {
 public:
  core::Result<aws::Credentials> get() override {
    ++calls;
    return aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token", {}};
  }
  int calls = 0;
};

core::http::Response response(long status, std::string body, core::http::Headers headers = {}) {
  return core::http::Response{status, std::move(headers), std::move(body)};
}

std::string header(const core::http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return value;
    }
  }
  return {};
}

class AwsProtocolTest : public ::testing::Test {
 public:  // the case tables below call the helpers
  aws::ServiceClientPtr service(const aws::ServiceSpec& spec, std::string endpoint = "",
                                std::string region = "eu-west-1") {
    aws::ServiceSettings settings;
    settings.region = std::move(region);
    settings.endpoint_url = std::move(endpoint);
    auto created = aws::ServiceClient::create(spec, std::move(settings), http_, credentials_,
                                              clock_, sleeper_, core::make_null_logger());
    EXPECT_TRUE(created) << (created ? "" : created.error().user_message);
    return created ? std::move(*created) : nullptr;
  }
  aws::TaggingClient tagging(aws::TaggingSettings settings = {}) {
    return aws::TaggingClient(service(aws::kTaggingService), settings);
  }
  aws::EcsClient ecs() { return aws::EcsClient(service(aws::kEcsService)); }
  aws::RdsClient rds() { return aws::RdsClient(service(aws::kRdsService)); }
  aws::Ec2Client ec2(int max_pages = 100) {
    return aws::Ec2Client(service(aws::kEc2Service), max_pages);
  }

  std::vector<core::http::Request> requests() const { return http_.requests(); }

  test::ScriptedHttpClient http_;
  CountingCredentials credentials_;
  test::FakeClock clock_;
  RecordingSleeper sleeper_;
};

// ---------------------------------------------------------------------------------------------
// Request bodies, compared with botocore's serialiser output

struct RequestCase {
  std::string name;  ///< proto-fixtures/aws/requests/<name>.json
  /// Answers to queue (for a later page), then the call; the request compared is the last.
  std::vector<std::string> answers;
  std::function<void(AwsProtocolTest&)> call;
};

class AwsRequestFixtureTest : public AwsProtocolTest,
                              public ::testing::WithParamInterface<RequestCase> {};

std::string ecs_arn(std::string_view rest) {
  return std::string(kEcsArn) + ":" + std::string(rest);
}

const std::string kDescription =
    "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office (Zurich) & co;{x}!$*";

std::vector<RequestCase> request_cases() {
  using T = AwsProtocolTest;
  return {
      {"tagging-GetResources-first-page",
       {},
       [](T& t) {
         (void)t.tagging().get_resources(
             {{{"Environment", {"dev"}}},
              {"ecs:service", "rds:db", "rds:cluster", "ec2:instance"}});
       }},
      {"tagging-GetResources-next-page",
       {R"({"PaginationToken": "tok/en+1==", "ResourceTagMappingList": []})"},
       [](T& t) {
         (void)t.tagging().get_resources(
             {{{"Environment", {"dev"}}, {"infra-bot:whitelist", {"true"}}},
              {"ec2:security-group"}});
       }},
      {"ecs-DescribeServices",
       {},
       [](T& t) {
         (void)t.ecs().describe_services(
             ecs_arn("cluster/infra-dev"),
             {ecs_arn("service/infra-dev/api"), ecs_arn("service/infra-dev/worker")});
       }},
      {"ecs-UpdateService",
       {},
       [](T& t) {
         (void)t.ecs().update_service(ecs_arn("cluster/infra-dev"),
                                      ecs_arn("service/infra-dev/api"), 0);
       }},
      {"ecs-TagResource",
       {},
       [](T& t) {
         (void)t.ecs().tag_resource(ecs_arn("service/infra-dev/api"),
                                    {{"infra-bot:desired-count", "2"}});
       }},
      {"rds-DescribeDBInstances-one",
       {},
       [](T& t) { (void)t.rds().describe_db_instances({"app-dev-db"}); }},
      {"rds-DescribeDBInstances-filter",
       {"<DescribeDBInstancesResponse><DescribeDBInstancesResult><Marker>m/1 +x</Marker>"
        "</DescribeDBInstancesResult></DescribeDBInstancesResponse>"},
       [](T& t) {
         (void)t.rds().describe_db_instances({"app-dev-db", "app-dev-aurora-1"});
       }},
      {"rds-DescribeDBClusters-one",
       {},
       [](T& t) { (void)t.rds().describe_db_clusters({"app-dev-aurora"}); }},
      {"rds-StopDBInstance", {}, [](T& t) { (void)t.rds().stop_db_instance("app-dev-db"); }},
      {"rds-StartDBInstance", {}, [](T& t) { (void)t.rds().start_db_instance("app-dev-db"); }},
      {"rds-StopDBCluster", {}, [](T& t) { (void)t.rds().stop_db_cluster("app-dev-aurora"); }},
      {"rds-StartDBCluster", {}, [](T& t) { (void)t.rds().start_db_cluster("app-dev-aurora"); }},
      {"ec2-DescribeInstances",
       {},
       [](T& t) {
         (void)t.ec2().describe_instances({"i-0a1b2c3d4e5f61001", "i-0a1b2c3d4e5f61002"});
       }},
      {"ec2-DescribeInstances-next-page",
       {"<DescribeInstancesResponse><nextToken>a/b+c=</nextToken></DescribeInstancesResponse>"},
       [](T& t) { (void)t.ec2().describe_instances({"i-0a1b2c3d4e5f61001"}); }},
      {"ec2-StopInstances",
       {},
       [](T& t) {
         (void)t.ec2().stop_instances({"i-0a1b2c3d4e5f61001", "i-0a1b2c3d4e5f61002"});
       }},
      {"ec2-StartInstances",
       {},
       [](T& t) { (void)t.ec2().start_instances({"i-0a1b2c3d4e5f61001"}); }},
      {"ec2-RebootInstances",
       {},
       [](T& t) { (void)t.ec2().reboot_instances({"i-0a1b2c3d4e5f61002"}); }},
      {"ec2-DescribeSecurityGroups",
       {},
       [](T& t) {
         (void)t.ec2().describe_security_groups({"sg-0f1e2d3c4b5a61001", "sg-0f1e2d3c4b5a61002"});
       }},
      {"ec2-DescribeSecurityGroupRules",
       {},
       [](T& t) {
         (void)t.ec2().describe_security_group_rules(
             {"sg-0f1e2d3c4b5a61001", "sg-0f1e2d3c4b5a61002"});
       }},
      {"ec2-AuthorizeSecurityGroupIngress-ipv4",
       {},
       [](T& t) {
         (void)t.ec2().authorize_ingress(
             "sg-0f1e2d3c4b5a61001",
             {aws::IngressRule{"203.0.113.7/32", false, 80, 80, "tcp", kDescription},
              aws::IngressRule{"203.0.113.7/32", false, 7233, 7233, "tcp", kDescription}});
       }},
      {"ec2-AuthorizeSecurityGroupIngress-ipv6",
       {},
       [](T& t) {
         (void)t.ec2().authorize_ingress(
             "sg-0f1e2d3c4b5a61001",
             {aws::IngressRule{"2001:db8::/64", true, 443, 443, "tcp",
                               "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note="}});
       }},
      {"ec2-RevokeSecurityGroupIngress",
       {},
       [](T& t) {
         (void)t.ec2().revoke_ingress("sg-0f1e2d3c4b5a61001",
                                      {"sgr-0fa4e000000000001", "sgr-0fa4e000000000002"});
       }},
      {"ec2-UpdateSecurityGroupRuleDescriptionsIngress",
       {},
       [](T& t) {
         const std::string renewed =
             "infra-bot:wl until=2027-01-01T00:00:00Z by=U0123ABC note=renewed";
         (void)t.ec2().update_rule_descriptions(
             "sg-0f1e2d3c4b5a61001",
             {{"sgr-0fa4e000000000001", renewed}, {"sgr-0fa4e000000000002", renewed}});
       }},
  };
}

TEST_P(AwsRequestFixtureTest, BodyIsWhatBotocoreSends) {
  const RequestCase& c = GetParam();
  auto parsed = core::json::parse(fixture("requests/" + c.name + ".json"));
  ASSERT_TRUE(parsed && parsed->IsObject()) << "missing or unreadable fixture " << c.name;
  const std::string service(core::json::get_string(*parsed, "service").value_or(""));
  const std::string operation(core::json::get_string(*parsed, "operation").value_or(""));
  const std::string expected(core::json::get_string(*parsed, "body").value_or(""));
  const bool json = service == "ecs" || service == "tagging";

  for (const auto& answer : c.answers) http_.push(200, answer);
  // Every later request gets an empty success (the body is what is compared).
  http_.set_handler([json](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return response(200, json ? "{}" : "<Response/>");
  });
  c.call(*this);
  const auto sent = requests();
  ASSERT_FALSE(sent.empty());
  const auto& request = sent.back();
  if (json) {
    auto want = core::json::canonicalize(expected);
    auto got = core::json::canonicalize(request.body);
    ASSERT_TRUE(want && got) << request.body;
    EXPECT_EQ(*got, *want);
    EXPECT_THAT(header(request, "X-Amz-Target"), HasSubstr("." + operation));
    EXPECT_EQ(header(request, "Content-Type"), "application/x-amz-json-1.1");
  } else {
    EXPECT_EQ(request.body, expected);
    EXPECT_EQ(header(request, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  }
  EXPECT_EQ(request.method, "POST");
}

INSTANTIATE_TEST_SUITE_P(Requests, AwsRequestFixtureTest, ::testing::ValuesIn(request_cases()),
                         [](const auto& param_info) {
                           std::string name = param_info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(AwsRequestFixtures, EveryFixtureHasACase) {
  std::set<std::string> cases;
  for (const auto& c : request_cases()) cases.insert(c.name);
  std::set<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(FIXTURES_DIR) + "/aws/requests")) {
    if (entry.path().extension() == ".json") files.insert(entry.path().stem().string());
  }
  EXPECT_EQ(files, cases);
}

TEST(AwsFormEncode, AsUrllibUrlencode) {
  // urllib.parse.urlencode([("a b", "x/y:z+~*'é")]) == 'a+b=x%2Fy%3Az%2B~%2A%27%C3%A9'
  EXPECT_EQ(aws::form_encode({{"a b", "x/y:z+~*'\xC3\xA9"}, {"k", ""}}),
            "a+b=x%2Fy%3Az%2B~%2A%27%C3%A9&k=");
}

// ---------------------------------------------------------------------------------------------
// Endpoints, headers, signing

TEST_F(AwsProtocolTest, RegionalEndpointsAndSigningNames) {
  EXPECT_EQ(service(aws::kTaggingService)->endpoint_url(),
            "https://tagging.eu-west-1.amazonaws.com");
  EXPECT_EQ(service(aws::kEc2Service, "", "cn-north-1")->endpoint_url(),
            "https://ec2.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(service(aws::kRdsService, "https://proxy.test:8443/aws/")->endpoint_url(),
            "https://proxy.test:8443/aws");

  http_.push(200, "{}");
  (void)tagging().get_resources({});
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].url, "https://tagging.eu-west-1.amazonaws.com/");
  EXPECT_EQ(header(sent[0], "Host"), "tagging.eu-west-1.amazonaws.com");
  EXPECT_EQ(header(sent[0], "X-Amz-Target"), "ResourceGroupsTaggingAPI_20170126.GetResources");
  // Signed as "tagging", never "resourcegroupstaggingapi".
  EXPECT_THAT(header(sent[0], "Authorization"),
              HasSubstr("Credential=AKIDEXAMPLE/20260101/eu-west-1/tagging/aws4_request"));
  EXPECT_EQ(header(sent[0], "X-Amz-Security-Token"), "token");
}

TEST_F(AwsProtocolTest, OverrideWithPathKeepsItAndSignsForTheService) {
  http_.push(
      200, "<DescribeDBClustersResponse><DescribeDBClustersResult/></DescribeDBClustersResponse>");
  aws::RdsClient client(service(aws::kRdsService, "https://proxy.test:8443/aws/"));
  ASSERT_TRUE(client.describe_db_clusters({"c"}));
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].url, "https://proxy.test:8443/aws/");
  EXPECT_EQ(header(sent[0], "Host"), "proxy.test:8443");
  EXPECT_THAT(header(sent[0], "Authorization"), HasSubstr("/eu-west-1/rds/aws4_request"));
}

TEST_F(AwsProtocolTest, UnusableEndpointOrNoRegionIsAConfigError) {
  aws::ServiceSettings settings;
  settings.region = "eu-west-1";
  settings.endpoint_url = "ftp://x";
  auto bad = aws::ServiceClient::create(aws::kEcsService, settings, http_, credentials_, clock_,
                                        sleeper_, core::make_null_logger());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::ErrorCode::config);
  EXPECT_THAT(bad.error().user_message, HasSubstr("ECS endpoint"));

  settings.endpoint_url.clear();
  settings.region.clear();
  auto no_region = aws::ServiceClient::create(aws::kEcsService, settings, http_, credentials_,
                                              clock_, sleeper_, core::make_null_logger());
  ASSERT_FALSE(no_region);
  EXPECT_EQ(no_region.error().code, core::ErrorCode::config);
  EXPECT_THAT(no_region.error().user_message, HasSubstr("AWS_REGION"));
}

TEST_F(AwsProtocolTest, AnEndpointWithUserInfoIsRefusedWithoutEchoingIt) {
  aws::ServiceSettings settings;
  settings.region = "eu-west-1";
  // A password with '/' ends the authority early; an '@' anywhere (even with no scheme) counts.
  for (const std::string url :
       {"https://user:s3cr3t-pw@proxy.test:8443/aws", "https://user:s3cr3t-pw/x@proxy.test",
        "http://s3cr3t-pw@proxy.test", "user:s3cr3t-pw@proxy.test",
        "https://proxy.test/a@s3cr3t-pw@b"}) {
    settings.endpoint_url = url;
    auto bad = aws::ServiceClient::create(aws::kEc2Service, settings, http_, credentials_, clock_,
                                          sleeper_, core::make_null_logger());
    ASSERT_FALSE(bad) << url;
    EXPECT_EQ(bad.error().code, core::ErrorCode::config) << url;
    EXPECT_THAT(bad.error().user_message, HasSubstr("EC2 endpoint")) << url;
    EXPECT_THAT(bad.error().user_message, Not(HasSubstr("s3cr3t"))) << bad.error().user_message;
    EXPECT_THAT(bad.error().detail, Not(HasSubstr("s3cr3t"))) << bad.error().detail;
  }
  settings.endpoint_url = "https://user:s3cr3t-pw@proxy.test:8443/aws";
  auto bad = aws::ServiceClient::create(aws::kEc2Service, settings, http_, credentials_, clock_,
                                        sleeper_, core::make_null_logger());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().user_message,
            "The EC2 endpoint \"https://proxy.test:8443/aws\" is not usable: no user info "
            "(`user:password@`) in the URL.");
  EXPECT_TRUE(requests().empty());
}

// ---------------------------------------------------------------------------------------------
// Error shapes

TEST_F(AwsProtocolTest, JsonErrorBecomesAReadableRefusal) {
  http_.push(
      400,
      R"({"__type": "AccessDeniedException", "message": "User: arn:aws:sts::123456789012:assumed-role/bot/x is not authorized to perform: ecs:UpdateService"})",
      {{"x-amzn-RequestId", "req-ecs-1"}, {"Content-Type", "application/x-amz-json-1.1"}});
  auto updated =
      ecs().update_service(ecs_arn("cluster/infra-dev"), ecs_arn("service/infra-dev/api"), 0);
  ASSERT_FALSE(updated);
  const aws::CallError& failure = updated.failure();
  EXPECT_EQ(failure.code, "AccessDeniedException");
  EXPECT_EQ(failure.http_status, 400);
  EXPECT_EQ(failure.request_id, "req-ecs-1");
  EXPECT_EQ(failure.error.code, core::ErrorCode::denied);
  EXPECT_EQ(failure.error.user_message,
            "AWS refused ECS UpdateService for service api: AccessDenied — User: "
            "arn:aws:sts::123456789012:assumed-role/bot/x is not authorized to perform: "
            "ecs:UpdateService");
  EXPECT_THAT(failure.error.detail,
              AllOf(HasSubstr("request_id=req-ecs-1"), HasSubstr("code=AccessDeniedException"),
                    HasSubstr("attempts=1")));
  EXPECT_EQ(requests().size(), 1u);  // a refusal is not retried
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(AwsProtocolTest, JsonErrorTypeIsNormalisedLikeBotocore) {
  http_.push(
      400,
      R"({"__type": "com.amazonaws.ecs#ClusterNotFoundException:http://internal", "Message": "Cluster not found."})");
  auto described = ecs().describe_services(ecs_arn("cluster/nope"), {"api"});
  ASSERT_FALSE(described);
  EXPECT_EQ(described.failure().code, "ClusterNotFoundException");
  EXPECT_EQ(described.failure().message, "Cluster not found.");
  EXPECT_EQ(described.error().code, core::ErrorCode::not_found);
}

TEST_F(AwsProtocolTest, QueryErrorResponse) {
  http_.push(400, fixture("rds-StopDBInstance.error.response.xml"));
  auto stopped = rds().stop_db_instance("app-dev-db");
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.failure().code, "InvalidDBInstanceState");
  EXPECT_EQ(stopped.failure().request_id, "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716");
  EXPECT_EQ(stopped.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(stopped.error().user_message,
            "AWS refused RDS StopDBInstance for instance app-dev-db: InvalidDBInstanceState — "
            "Instance app-dev-db is not in available state.");
}

TEST_F(AwsProtocolTest, Ec2ErrorResponseWithRequestID) {
  http_.push(400, fixture("ec2-AuthorizeSecurityGroupIngress.error.response.xml"));
  auto added = ec2().authorize_ingress(
      "sg-1", {aws::IngressRule{"198.51.100.0/24", false, 22, 22, "tcp", ""}});
  ASSERT_FALSE(added);
  EXPECT_TRUE(added.failure().is("InvalidPermission.Duplicate"));
  EXPECT_EQ(added.failure().request_id, "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(added.error().code, core::ErrorCode::conflict);
}

TEST_F(AwsProtocolTest, Ec2UnauthorizedOperationIsDenied) {
  http_.push(403,
             "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not "
             "authorized to perform this operation.</Message></Error></Errors>"
             "<RequestID>r-9</RequestID></Response>");
  auto stopped = ec2().stop_instances({"i-1"});
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::denied);
  EXPECT_EQ(stopped.error().user_message,
            "AWS refused EC2 StopInstances for instance i-1: UnauthorizedOperation — You are not "
            "authorized to perform this operation.");
}

TEST_F(AwsProtocolTest, UnreadableAnswersAreUnavailableNotACrash) {
  http_.push(200, R"({"services": [{"serviceName": "api")");  // cut in half
  auto described = ecs().describe_services(ecs_arn("cluster/infra-dev"), {"api"});
  ASSERT_FALSE(described);
  EXPECT_EQ(described.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(described.error().user_message, HasSubstr("could not read"));

  http_.push(200, "<DescribeInstancesResponse><reservationSet><item><instancesS");
  auto instances = ec2().describe_instances({"i-1"});
  ASSERT_FALSE(instances);
  EXPECT_EQ(instances.error().code, core::ErrorCode::unavailable);

  http_.push(200, "<StopDBInstanceResponse><Unexpected/></StopDBInstanceResponse>");
  auto stopped = rds().stop_db_instance("db");
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(stopped.error().detail, HasSubstr("StopDBInstanceResult"));

  // An error answer that is not XML at all: the status still decides.
  http_.push(403, "<html>Forbidden</html");
  auto denied = rds().start_db_instance("db");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, core::ErrorCode::denied);
  EXPECT_THAT(denied.error().user_message, HasSubstr("HTTP 403"));
}

// ---------------------------------------------------------------------------------------------
// Answers

TEST_F(AwsProtocolTest, ReadsDescribeInstances) {
  http_.push(200, fixture("ec2-DescribeInstances.response.xml"));
  auto instances = ec2().describe_instances({"i-0a1b2c3d4e5f61001"});
  ASSERT_TRUE(instances) << instances.error().detail;
  ASSERT_EQ(instances->size(), 1u);
  const auto& instance = instances->front();
  EXPECT_EQ(instance.id, "i-0a1b2c3d4e5f61001");
  EXPECT_EQ(instance.state, "running");
  EXPECT_EQ(instance.availability_zone, "eu-west-1a");
  EXPECT_EQ(instance.launch_time, core::parse_rfc3339("2026-11-20T08:00:00Z"));
  EXPECT_THAT(instance.tags,
              ElementsAre(aws::Tag{"Name", "bastion-dev"}, aws::Tag{"Environment", "dev"}));
}

TEST_F(AwsProtocolTest, ReadsElementsByLocalNameWhateverThePrefix) {
  http_.push(200,
             R"(<?xml version="1.0"?>
<ec2:DescribeSecurityGroupRulesResponse xmlns:ec2="http://ec2.amazonaws.com/doc/2016-11-15">
  <ec2:requestId>x</ec2:requestId>
  <ec2:securityGroupRuleSet>
    <ec2:item>
      <ec2:securityGroupRuleId>sgr-1</ec2:securityGroupRuleId>
      <ec2:groupId>sg-1</ec2:groupId>
      <ec2:isEgress>false</ec2:isEgress>
      <ec2:ipProtocol>tcp</ec2:ipProtocol>
      <ec2:fromPort>443</ec2:fromPort>
      <ec2:toPort>443</ec2:toPort>
      <ec2:cidrIpv6>2001:db8::/64</ec2:cidrIpv6>
      <ec2:description>infra-bot:wl until=2026-12-12T10:00:00Z by=U1 note=a &amp; b</ec2:description>
    </ec2:item>
    <ec2:item>
      <ec2:securityGroupRuleId>sgr-2</ec2:securityGroupRuleId>
      <ec2:groupId>sg-1</ec2:groupId>
      <ec2:isEgress>true</ec2:isEgress>
      <ec2:ipProtocol>-1</ec2:ipProtocol>
      <ec2:fromPort>-1</ec2:fromPort>
      <ec2:toPort>-1</ec2:toPort>
      <ec2:cidrIpv4>0.0.0.0/0</ec2:cidrIpv4>
    </ec2:item>
  </ec2:securityGroupRuleSet>
</ec2:DescribeSecurityGroupRulesResponse>)");
  auto rules = ec2().describe_security_group_rules({"sg-1"});
  ASSERT_TRUE(rules) << rules.error().detail;
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0],
            (aws::SecurityGroupRule{"sgr-1", "sg-1", false, "tcp", 443, 443, "", "2001:db8::/64",
                                    "infra-bot:wl until=2026-12-12T10:00:00Z by=U1 "
                                    "note=a & b"}));
  EXPECT_TRUE((*rules)[1].is_egress);
  EXPECT_EQ((*rules)[1].cidr_ipv4, "0.0.0.0/0");
}

TEST_F(AwsProtocolTest, ReadsRdsInstancesAndClusters) {
  http_.push(200, fixture("rds-DescribeDBInstances.response.xml"));
  auto instances = rds().describe_db_instances({"app-dev-db"});
  ASSERT_TRUE(instances) << instances.error().detail;
  ASSERT_EQ(instances->size(), 1u);
  EXPECT_EQ(instances->front(), (aws::DbInstance{"app-dev-db",
                                                 "arn:aws:rds:eu-west-1:123456789012:db:app-dev-db",
                                                 "available",
                                                 "postgres",
                                                 "",
                                                 {{"Environment", "dev"}}}));

  http_.push(200, R"(<DescribeDBClustersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBClustersResult><DBClusters><DBCluster>
    <DBClusterIdentifier>app-dev-aurora</DBClusterIdentifier>
    <DBClusterArn>arn:aws:rds:eu-west-1:123456789012:cluster:app-dev-aurora</DBClusterArn>
    <Status>stopped</Status><Engine>aurora-postgresql</Engine>
    <DBClusterMembers><DBClusterMember><DBInstanceIdentifier>app-dev-aurora-1</DBInstanceIdentifier>
      <IsClusterWriter>true</IsClusterWriter></DBClusterMember></DBClusterMembers>
    <TagList><Tag><Key>Environment</Key><Value>dev</Value></Tag></TagList>
  </DBCluster></DBClusters></DescribeDBClustersResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBClustersResponse>)");
  auto clusters = rds().describe_db_clusters({"app-dev-aurora"});
  ASSERT_TRUE(clusters) << clusters.error().detail;
  ASSERT_EQ(clusters->size(), 1u);
  EXPECT_EQ(clusters->front(),
            (aws::DbCluster{"app-dev-aurora",
                            "arn:aws:rds:eu-west-1:123456789012:cluster:app-dev-aurora",
                            "stopped",
                            "aurora-postgresql",
                            {"app-dev-aurora-1"},
                            {{"Environment", "dev"}}}));
}

TEST_F(AwsProtocolTest, ReadsStateChangesAndNewRules) {
  http_.push(200, fixture("ec2-StopInstances.response.xml"));
  auto stopped = ec2().stop_instances({"i-0a1b2c3d4e5f63002"});
  ASSERT_TRUE(stopped) << stopped.error().detail;
  EXPECT_THAT(*stopped,
              ElementsAre(aws::InstanceStateChange{"i-0a1b2c3d4e5f63002", "running", "stopping"}));

  http_.push(200, fixture("ec2-AuthorizeSecurityGroupIngress.response.xml"));
  auto added = ec2().authorize_ingress(
      "sg-0f1e2d3c4b5a63001", {aws::IngressRule{"203.0.113.25/32", false, 22, 22, "tcp", ""}});
  ASSERT_TRUE(added) << added.error().detail;
  ASSERT_EQ(added->size(), 1u);
  EXPECT_EQ(added->front().id, "sgr-0fa4e000000000001");
  EXPECT_EQ(added->front().description,
            "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office");
}

TEST_F(AwsProtocolTest, ReadsEcsServicesAndFailures) {
  http_.push(200, fixture("ecs-DescribeServices.response.json"));
  auto described = ecs().describe_services(ecs_arn("cluster/infra-dev"), {"api"});
  ASSERT_TRUE(described) << described.error().detail;
  ASSERT_EQ(described->services.size(), 1u);
  EXPECT_EQ(described->services[0], (aws::EcsServiceDescription{ecs_arn("service/infra-dev/api"),
                                                                "api",
                                                                ecs_arn("cluster/infra-dev"),
                                                                "ACTIVE",
                                                                2,
                                                                2,
                                                                {{"Environment", "dev"}}}));

  http_.push(
      200,
      R"({"services": [], "failures": [{"arn": "x:service/infra-dev/gone", "reason": "MISSING"}]})");
  auto missing = ecs().describe_services(ecs_arn("cluster/infra-dev"), {"gone"});
  ASSERT_TRUE(missing);
  EXPECT_THAT(missing->failures,
              ElementsAre(aws::EcsFailure{"x:service/infra-dev/gone", "MISSING", ""}));
}

TEST_F(AwsProtocolTest, DescribeServicesSendsTenAtATime) {
  std::vector<std::string> names;
  for (int i = 0; i < 23; ++i) names.push_back("svc" + std::to_string(i));
  http_.set_handler([](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return response(200, R"({"services": [], "failures": []})");
  });
  ASSERT_TRUE(ecs().describe_services(ecs_arn("cluster/c"), names));
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 3u);
  std::vector<std::size_t> sizes;
  for (const auto& request : sent) {
    auto body = core::json::parse(request.body);
    ASSERT_TRUE(body);
    sizes.push_back(core::json::get_array(*body, "services")->Size());
    EXPECT_EQ(core::json::get_string(*body, "cluster"), ecs_arn("cluster/c"));
  }
  EXPECT_THAT(sizes, ElementsAre(10u, 10u, 3u));
}

// ---------------------------------------------------------------------------------------------
// Pagination

TEST_F(AwsProtocolTest, GetResourcesGoesOnPastAnEmptyPageWithAToken) {
  http_.push(200, R"({"PaginationToken": "t1", "ResourceTagMappingList": []})");
  http_.push(
      200,
      R"({"PaginationToken": "t2", "ResourceTagMappingList": [{"ResourceARN": "arn:a", "Tags": [{"Key": "Environment", "Value": "dev"}]}]})");
  http_.push(
      200,
      R"({"PaginationToken": "", "ResourceTagMappingList": [{"ResourceARN": "arn:b", "Tags": []}]})");
  auto found = tagging().get_resources({});
  ASSERT_TRUE(found) << found.error().detail;
  EXPECT_THAT(*found, ElementsAre(aws::TaggedResource{"arn:a", {{"Environment", "dev"}}},
                                  aws::TaggedResource{"arn:b", {}}));
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_THAT(sent[1].body, HasSubstr(R"("PaginationToken":"t1")"));
  EXPECT_THAT(sent[2].body, HasSubstr(R"("PaginationToken":"t2")"));
}

TEST_F(AwsProtocolTest, APaginationTokenLoopIsAReadableError) {
  http_.set_handler([](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return response(200, R"({"PaginationToken": "same", "ResourceTagMappingList": []})");
  });
  auto found = tagging().get_resources({});
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(found.error().user_message, HasSubstr("pagination token came back twice"));
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(AwsProtocolTest, PageCapEndsAnEndlessListing) {
  int page = 0;
  http_.set_handler([&page](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return response(200, "<DescribeInstancesResponse><nextToken>t" + std::to_string(++page) +
                             "</nextToken></DescribeInstancesResponse>");
  });
  auto found = ec2(4).describe_instances({});
  ASSERT_FALSE(found);
  EXPECT_THAT(found.error().user_message, HasSubstr("more than 4 pages"));
  EXPECT_EQ(requests().size(), 4u);
}

// ---------------------------------------------------------------------------------------------
// Retries

TEST_F(AwsProtocolTest, ThrottlingBacksOffThenSucceedsSignedAfresh) {
  http_.push(400, R"({"__type": "ThrottlingException", "message": "Rate exceeded"})");
  http_.push(200, fixture("ecs-DescribeServices.response.json"));
  auto described = ecs().describe_services(ecs_arn("cluster/infra-dev"), {"api"});
  ASSERT_TRUE(described) << described.error().detail;
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_THAT(sleeper_.sleeps()[0].count(), Le(1000));  // rand(0,1) * 1 s
  EXPECT_EQ(credentials_.calls, 2);                     // fresh credentials each attempt
  for (const auto& request : sent) {
    EXPECT_THAT(header(request, "Authorization"), HasSubstr("AWS4-HMAC-SHA256"));
    EXPECT_FALSE(header(request, "X-Amz-Date").empty());
  }
}

TEST_F(AwsProtocolTest, EachServicesThrottlingCodeIsRetried) {
  struct Case {
    std::function<bool(AwsProtocolTest&)> call;
    long status;
    std::string body;
    std::string ok;
  };
  const std::vector<Case> cases = {
      {[](AwsProtocolTest& t) { return bool(t.tagging().get_resources({})); }, 400,
       R"({"__type": "ThrottledException", "Message": "Rate exceeded"})", "{}"},
      {[](AwsProtocolTest& t) { return bool(t.rds().describe_db_instances({"db"})); }, 400,
       "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
       "exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>",
       "<DescribeDBInstancesResponse><DescribeDBInstancesResult/></DescribeDBInstancesResponse>"},
      {[](AwsProtocolTest& t) { return bool(t.ec2().describe_instances({"i-1"})); }, 503,
       "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
       "exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>",
       "<DescribeInstancesResponse/>"},
      {[](AwsProtocolTest& t) { return bool(t.ec2().reboot_instances({"i-1"})); }, 503,
       "<Response><Errors><Error><Code>EC2ThrottledException</Code></Error></Errors></Response>",
       "<RebootInstancesResponse><return>true</return></RebootInstancesResponse>"},
  };
  std::size_t expected_requests = 0;
  for (const auto& c : cases) {
    http_.push(c.status, c.body);
    http_.push(200, c.ok);
    EXPECT_TRUE(c.call(*this)) << c.body;
    expected_requests += 2;
    EXPECT_EQ(requests().size(), expected_requests) << c.body;
  }
  EXPECT_EQ(sleeper_.sleeps().size(), cases.size());
}

TEST_F(AwsProtocolTest, GivesUpAfterThreeAttemptsWithJitteredBackoff) {
  http_.set_handler([](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return response(
        503,
        "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request "
        "limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>");
  });
  auto stopped = ec2().stop_instances({"i-1"});
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::unavailable);
  EXPECT_THAT(stopped.error().user_message, HasSubstr("throttling EC2 StopInstances"));
  EXPECT_THAT(stopped.error().detail, HasSubstr("attempts=3"));
  EXPECT_EQ(requests().size(), 3u);
  const auto sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_THAT(sleeps[0].count(), Le(1000));
  EXPECT_THAT(sleeps[1].count(), Le(2000));
}

TEST_F(AwsProtocolTest, ServerErrorsAreRetriedForReadsAndIdempotentCalls) {
  http_.push(500, R"({"__type": "ServerException", "message": "boom"})");
  http_.push(200, R"({"service": {"serviceName": "api", "desiredCount": 0}})");
  auto updated = ecs().update_service(ecs_arn("cluster/c"), "api", 0);
  ASSERT_TRUE(updated) << updated.error().detail;
  EXPECT_EQ(updated->desired_count, 0);
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(AwsProtocolTest, AOnceCallIsNotRepeatedAfterItMayHaveRun) {
  auto client = service(aws::kEc2Service);
  http_.push(500,
             "<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>");
  auto failed = client->call_query("CreateSomething", {}, aws::Retryability::once);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(failed.error().user_message, HasSubstr("may or may not have happened"));
  EXPECT_EQ(requests().size(), 1u);

  // A read timeout after sending: indeterminate, not repeated for `once`...
  http_.push(test::ScriptedHttpClient::Answer(
      core::make_error(core::ErrorCode::indeterminate, "timed out", "read timeout")));
  auto timed_out = client->call_query("CreateSomething", {}, aws::Retryability::once);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code, core::ErrorCode::indeterminate);
  EXPECT_EQ(requests().size(), 2u);

  // ... but repeated for an idempotent call, and a connect failure (nothing
  // sent) is repeated for any call.
  http_.push(test::ScriptedHttpClient::Answer(
      core::make_error(core::ErrorCode::indeterminate, "timed out", "read timeout")));
  http_.push(200, "<StopInstancesResponse/>");
  EXPECT_TRUE(client->call_query("StopInstances", {}, aws::Retryability::idempotent));
  http_.push(test::ScriptedHttpClient::Answer(
      core::make_error(core::ErrorCode::unavailable, "refused", "connect refused")));
  http_.push(200, "<X/>");
  EXPECT_TRUE(client->call_query("CreateSomething", {}, aws::Retryability::once));
  EXPECT_EQ(requests().size(), 6u);
}

TEST_F(AwsProtocolTest, RebootIsNotRepeatedAfterA5xxOrATimeout) {
  // A reboot that may have run is not sent again (a second one cuts the first boot short).
  http_.push(500,
             "<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>");
  auto failed = ec2().reboot_instances({"i-1"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(failed.error().user_message,
              AllOf(HasSubstr("EC2 RebootInstances"), HasSubstr("may or may not have happened")));
  EXPECT_EQ(requests().size(), 1u);

  http_.push(test::ScriptedHttpClient::Answer(
      core::make_error(core::ErrorCode::indeterminate, "timed out", "read timeout")));
  auto timed_out = ec2().reboot_instances({"i-1"});
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code, core::ErrorCode::indeterminate);
  EXPECT_EQ(requests().size(), 2u);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(AwsProtocolTest, ExpiredCredentialsAreFetchedAgainOnce) {
  http_.push(
      400,
      R"({"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"})");
  http_.push(200, "{}");
  EXPECT_TRUE(tagging().get_resources({}));
  EXPECT_EQ(credentials_.calls, 2);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

}  // namespace
