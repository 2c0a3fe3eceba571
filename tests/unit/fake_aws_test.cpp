// tests/fakes/fake_aws.py driven through the real C++ signer (aws::sigv4::sign) and libcurl
// client with hand-built requests: each protocol answers in its own shape, a bad signature is
// refused with 403, a request the botocore model rejects gets 400, and a stop changes the
// fake's state. The last case runs tests/fakes/fake_aws_selftest.py, which calls every
// operation through botocore's own clients and parsers (the independent check of the shapes).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/credentials.hpp"
#include "aws/sigv4.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "fake_aws.hpp"
#include "test_tls.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

constexpr const char* kDevBastion = "i-0a1b2c3d4e5f61001";
constexpr const char* kForm = "application/x-www-form-urlencoded; charset=utf-8";
constexpr const char* kJson = "application/x-amz-json-1.1";

class FakeAwsTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    ASSERT_TRUE(fake_.started()) << fake_.describe_last(3);
  }

  aws::Credentials credentials() const {
    const auto& c = fake_.credentials();
    return {c.access_key_id, c.secret_access_key, c.session_token, std::nullopt};
  }

  /// POSTs `body` to the fake, signed with `signing_name` by aws::sigv4::sign.
  core::http::Response post(std::string_view signing_name, core::http::Headers headers,
                            const std::string& body, aws::Credentials with = {}) {
    if (with.access_key_id.empty()) with = credentials();
    headers.insert(headers.begin(), {"Host", fake_.host()});
    aws::sigv4::Options options;
    options.region = fake_.region();
    options.service = std::string(signing_name);
    const aws::sigv4::Request to_sign{"POST", "/", "", headers, body};
    auto signed_request =
        aws::sigv4::sign(to_sign, with, options, std::chrono::system_clock::now());
    for (auto& header : signed_request.headers) headers.push_back(std::move(header));
    core::http::Request request;
    request.method = "POST";
    request.url = fake_.endpoint() + "/";
    request.headers = std::move(headers);
    request.body = body;
    auto response = http_->send(request);
    EXPECT_TRUE(response) << (response ? "" : response.error().detail);
    return response ? std::move(*response) : core::http::Response{};
  }
  core::http::Response json(std::string_view signing_name, std::string_view target,
                            const std::string& body) {
    return post(signing_name, {{"Content-Type", kJson}, {"X-Amz-Target", std::string(target)}},
                body);
  }
  core::http::Response form(std::string_view signing_name, const std::string& body) {
    return post(signing_name, {{"Content-Type", kForm}}, body);
  }

  /// The last request line the fake printed.
  rapidjson::Document last_line() {
    EXPECT_TRUE(fake_.wait_for_requests(1));
    auto all = fake_.requests();
    return all.empty() ? rapidjson::Document() : std::move(all.back());
  }

  test::FakeAws fake_;
  std::unique_ptr<core::http::Client> http_ =
      core::http::make_curl_client(core::http::CurlSettings{test::test_tls().ca_file});
};

TEST_F(FakeAwsTest, GetResourcesAnswersJson11) {
  const auto response = json("tagging", "ResourceGroupsTaggingAPI_20170126.GetResources",
                             R"({"TagFilters": [{"Key": "Environment", "Values": ["dev"]}],)"
                             R"( "ResourceTypeFilters": ["ecs:service"]})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type").value_or(""), kJson);
  EXPECT_TRUE(response.header("x-amzn-RequestId").has_value());
  auto doc = core::json::parse(response.body);
  ASSERT_TRUE(doc);
  const auto* list = core::json::get_array(*doc, "ResourceTagMappingList");
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->Size(), 2u);
  EXPECT_EQ(test::FakeAws::str((*list)[0], "ResourceARN"),
            "arn:aws:ecs:eu-west-1:123456789012:service/infra-dev/api");
  EXPECT_EQ(test::FakeAws::str(*doc, "PaginationToken"), "");

  const auto line = last_line();
  EXPECT_TRUE(test::FakeAws::verified(line)) << test::FakeAws::str(line, "reason");
  EXPECT_EQ(test::FakeAws::str(line, "service"), "tagging");
  EXPECT_EQ(test::FakeAws::str(line, "signing_service"), "tagging");
  EXPECT_EQ(test::FakeAws::str(line, "operation"), "GetResources");
}

TEST_F(FakeAwsTest, DescribeServicesAnswersJson11WithTagsAndFailures) {
  const auto response =
      json("ecs", "AmazonEC2ContainerServiceV20141113.DescribeServices",
           R"({"cluster": "infra-dev", "services": ["api", "gone"], "include": ["TAGS"]})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto doc = core::json::parse(response.body);
  ASSERT_TRUE(doc);
  const auto& service = (*core::json::get_array(*doc, "services"))[0];
  EXPECT_EQ(core::json::get_int(service, "desiredCount"), 2);
  EXPECT_EQ(core::json::get_int(service, "runningCount"), 2);
  EXPECT_TRUE(service["createdAt"].IsNumber());  // JSON timestamps are epoch seconds
  EXPECT_EQ(test::FakeAws::str((*core::json::get_array(service, "tags"))[0], "key"), "Environment");
  const auto& failure = (*core::json::get_array(*doc, "failures"))[0];
  EXPECT_EQ(test::FakeAws::str(failure, "reason"), "MISSING");
  EXPECT_EQ(test::FakeAws::str(failure, "arn"),
            "arn:aws:ecs:eu-west-1:123456789012:service/infra-dev/gone");
}

TEST_F(FakeAwsTest, DescribeDBInstancesAnswersQueryXml) {
  const auto response =
      form("rds", "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=app-dev-db");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body,
              HasSubstr(R"(<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/)"
                        R"(2014-10-31/"><DescribeDBInstancesResult><DBInstances><DBInstance>)"
                        R"(<DBInstanceIdentifier>app-dev-db</DBInstanceIdentifier>)"));
  EXPECT_THAT(response.body, HasSubstr("<DBInstanceStatus>available</DBInstanceStatus>"));
  EXPECT_THAT(response.body,
              HasSubstr("<InstanceCreateTime>2026-01-05T09:00:00.000Z</InstanceCreateTime>"));
  EXPECT_THAT(response.body,
              HasSubstr("<TagList><Tag><Key>Environment</Key><Value>dev</Value></Tag></TagList>"));
  EXPECT_THAT(response.body, HasSubstr("<ResponseMetadata><RequestId>"));
}

TEST_F(FakeAwsTest, DescribeInstancesAnswersEc2Xml) {
  const auto response = form("ec2",
                             "Action=DescribeInstances&Version=2016-11-15"
                             "&Filter.1.Name=tag%3AName&Filter.1.Value.1=bastion-dev");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body,
              HasSubstr(R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/)"
                        R"(2016-11-15/"><requestId>)"));
  EXPECT_THAT(response.body, HasSubstr("<reservationSet><item><reservationId>"));
  EXPECT_THAT(response.body, HasSubstr(std::string("<instancesSet><item><instanceId>") +
                                       kDevBastion + "</instanceId>"));
  EXPECT_THAT(response.body,
              HasSubstr("<instanceState><code>16</code><name>running</name></instanceState>"));
  EXPECT_THAT(response.body,
              HasSubstr("<tagSet><item><key>Name</key><value>bastion-dev</value></item>"));
  EXPECT_THAT(response.body, Not(HasSubstr("runner-dev")));

  const auto line = last_line();
  EXPECT_EQ(test::FakeAws::str(line, "service"), "ec2");
  const auto& filter = test::FakeAws::params(line)["Filters"][0];
  EXPECT_EQ(test::FakeAws::str(filter, "Name"), "tag:Name");
}

TEST_F(FakeAwsTest, WrongSignatureIs403InEachShape) {
  auto wrong = credentials();
  wrong.secret_access_key = "not-the-secret";
  const auto ecs = post("ecs",
                        {{"Content-Type", kJson},
                         {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"}},
                        "{}", wrong);
  EXPECT_EQ(ecs.status, 403);
  EXPECT_THAT(ecs.body, HasSubstr(R"("__type": "InvalidSignatureException")"));
  const auto ec2 =
      post("ec2", {{"Content-Type", kForm}}, "Action=DescribeInstances&Version=2016-11-15", wrong);
  EXPECT_EQ(ec2.status, 403);
  EXPECT_THAT(ec2.body, HasSubstr("<Response><Errors><Error><Code>SignatureDoesNotMatch</Code>"));
  const auto rds = post("rds", {{"Content-Type", kForm}},
                        "Action=DescribeDBInstances&Version=2014-10-31", wrong);
  EXPECT_EQ(rds.status, 403);
  EXPECT_THAT(rds.body, HasSubstr("<Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"));
  // The right key, but the SDK client name instead of the signing name "tagging".
  const auto tagging =
      json("resourcegroupstaggingapi", "ResourceGroupsTaggingAPI_20170126.GetResources", "{}");
  EXPECT_EQ(tagging.status, 403);
  const auto line = last_line();
  EXPECT_FALSE(test::FakeAws::verified(line));
  EXPECT_THAT(test::FakeAws::str(line, "reason"), HasSubstr("not tagging"));
  EXPECT_EQ(fake_.count(test::FakeAws::verified), 0u);
}

TEST_F(FakeAwsTest, ModelInvalidRequestIs400) {
  const auto ecs = json("ecs", "AmazonEC2ContainerServiceV20141113.DescribeServices",
                        R"({"cluster": "infra-dev"})");
  EXPECT_EQ(ecs.status, 400);
  EXPECT_THAT(ecs.body, HasSubstr("ValidationException"));
  EXPECT_THAT(ecs.body, HasSubstr("services"));
  EXPECT_THAT(test::FakeAws::str(last_line(), "reason"), HasSubstr("model: "));

  const auto ec2 = form("ec2", "Action=StopInstances&Version=2016-11-15");
  EXPECT_EQ(ec2.status, 400);
  EXPECT_THAT(ec2.body, HasSubstr("<Code>MissingParameter</Code>"));
  // EC2's flat Filter.N is not RDS's Filters.Filter.N.
  const auto rds = form("rds",
                        "Action=DescribeDBInstances&Version=2014-10-31"
                        "&Filter.1.Name=engine&Filter.1.Value.1=postgres");
  EXPECT_EQ(rds.status, 400);
  EXPECT_THAT(rds.body, HasSubstr("<Code>UnknownParameter</Code>"));
  const auto typed = json("ecs", "AmazonEC2ContainerServiceV20141113.UpdateService",
                          R"({"cluster": "infra-dev", "service": "api", "desiredCount": "0"})");
  EXPECT_EQ(typed.status, 400);
  EXPECT_EQ(test::FakeAws::desired_count(fake_.state(), "infra-dev", "api"), 2);
}

TEST_F(FakeAwsTest, StopsChangeTheState) {
  const auto ec2 = form(
      "ec2", std::string("Action=StopInstances&Version=2016-11-15&InstanceId.1=") + kDevBastion);
  ASSERT_EQ(ec2.status, 200) << ec2.body;
  EXPECT_THAT(ec2.body, HasSubstr("<currentState><code>80</code><name>stopped</name>"));
  EXPECT_THAT(ec2.body, HasSubstr("<previousState><code>16</code><name>running</name>"));

  const auto rds =
      form("rds", "Action=StopDBInstance&Version=2014-10-31&DBInstanceIdentifier=app-dev-db");
  ASSERT_EQ(rds.status, 200) << rds.body;
  const auto again =
      form("rds", "Action=StopDBInstance&Version=2014-10-31&DBInstanceIdentifier=app-dev-db");
  EXPECT_EQ(again.status, 400);
  EXPECT_THAT(again.body, HasSubstr("<Code>InvalidDBInstanceState</Code><Message>Instance "
                                    "app-dev-db is not in available state.</Message>"));

  const auto ecs = json("ecs", "AmazonEC2ContainerServiceV20141113.UpdateService",
                        R"({"cluster": "infra-dev", "service": "api", "desiredCount": 0})");
  ASSERT_EQ(ecs.status, 200) << ecs.body;

  const auto state = fake_.state();
  EXPECT_EQ(test::FakeAws::instance_state(state, kDevBastion), "stopped");
  EXPECT_EQ(test::FakeAws::instance_state(state, "i-0a1b2c3d4e5f61002"), "running");
  EXPECT_EQ(test::FakeAws::db_status(state, "app-dev-db"), "stopped");
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-dev", "api"), 0);
  EXPECT_EQ(test::FakeAws::desired_count(state, "infra-prod", "api"), 2);

  ASSERT_TRUE(fake_.reset());
  EXPECT_EQ(test::FakeAws::instance_state(fake_.state(), kDevBastion), "running");
}

TEST_F(FakeAwsTest, ThrottleFaultThenSuccess) {
  ASSERT_TRUE(fake_.fault(
      R"({"service": "ec2", "operation": "DescribeInstances", "kind": "throttle", "times": 1})"));
  const auto first = form("ec2", "Action=DescribeInstances&Version=2016-11-15");
  EXPECT_EQ(first.status, 503);
  EXPECT_THAT(first.body, HasSubstr("<Code>RequestLimitExceeded</Code>"));
  const auto second = form("ec2", "Action=DescribeInstances&Version=2016-11-15");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(fake_.count([](const auto& r) { return test::FakeAws::str(r, "fault") == "throttle"; }),
            1u);
}

TEST_F(FakeAwsTest, BotocoreClientsParseEveryAnswer) {
  const auto& tls = test::test_tls();
  const std::string command = std::string("/usr/bin/python3 ") + FAKES_DIR +
                              "/fake_aws_selftest.py --tls " + tls.cert_file + " " + tls.key_file +
                              " --ca " + tls.ca_file + " 1>&2";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "fake_aws_selftest.py failed (its output is above)";
}

}  // namespace
