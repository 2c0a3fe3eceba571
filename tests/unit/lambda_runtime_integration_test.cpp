// The whole chain, every link a real process over real sockets:
//
//   infra-bot console (INFRA_BACKEND=lambda)  ──HTTPS, SigV4──▶  fake_lambda_runtime.py (Invoke)
//        ──queue──▶ Runtime API ◀──HTTP── infra-bot lambda (INFRA_LAMBDA_ROLE=orchestrator |
//        whitelist) ──HTTPS, SigV4──▶ fake_aws.py (ECS, RDS, EC2, tagging; real state)
//
// It checks that what the bot shows is the fake AWS's state, that the bot's commands change that
// state, and that the orchestrator refuses a stop of prod on its own when invoked directly,
// bypassing the bot's policy. And the runtime contract from the outside: a 500 on next ends
// the process promptly; a start-up failure is posted to /runtime/init/error.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "bot_process.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_aws.hpp"
#include "fake_lambda_runtime.hpp"
#include "test_tls.hpp"

namespace {

using testing::AllOf;
using testing::HasSubstr;
using testing::Not;
using namespace std::chrono_literals;

constexpr const char* kOrchestrator = "infra-orchestrator";
constexpr const char* kWhitelist = "infra-ip-whitelist";
constexpr const char* kOrchestratorArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
constexpr const char* kWhitelistArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist";
// The security group the fake's default state marks infra-bot:whitelist=true in dev / prod.
constexpr const char* kDevWhitelistGroup = "sg-0f1e2d3c4b5a61001";

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct BinaryRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The binary with exactly `env` (env -i), stdin from /dev/null.
BinaryRun run_binary(const std::vector<std::string>& env, const std::string& arguments) {
  static int counter = 0;
  const auto base = std::filesystem::temp_directory_path() /
                    fmt::format("infra-bot-lambda-chain-{}-{}", ::getpid(), ++counter);
  const auto out_file = base.string() + ".out";
  const auto err_file = base.string() + ".err";
  std::string command = "env -i";
  for (const auto& item : env) command += " " + shell_quote(item);
  command += fmt::format(" {} {} < /dev/null > {} 2> {}", shell_quote(INFRA_BOT_BINARY), arguments,
                         shell_quote(out_file), shell_quote(err_file));
  BinaryRun run;
  const int status = std::system(command.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_text(out_file);
  run.err = read_text(err_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(err_file);
  return run;
}

class LambdaRuntimeChain : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(aws_.started()) << "fake_aws.py did not start";
    ASSERT_TRUE(lambda_.started()) << lambda_.describe_last(5);
    orchestrator_ = start_function("orchestrator", kOrchestrator);
    whitelist_ = start_function("whitelist", kWhitelist);
    for (const auto* function : {kOrchestrator, kWhitelist}) {
      ASSERT_TRUE(lambda_.wait_for("a poll of the runtime API",
                                   test::FakeLambdaRuntime::event("next", function)));
    }
  }

  void TearDown() override {
    for (auto* process : {orchestrator_.get(), whitelist_.get()}) {
      if (process != nullptr && HasFailure()) {
        ADD_FAILURE() << "infra-bot lambda log: " << process->describe_last(30);
      }
    }
  }

  // The environment of an `infra-bot lambda` process talking to the fake AWS.
  std::map<std::string, std::string> function_env(const std::string& role,
                                                  const std::string& function) const {
    return {
        {"INFRA_LAMBDA_ROLE", role},
        {"AWS_LAMBDA_RUNTIME_API", lambda_.runtime_api(function)},
        {"AWS_LAMBDA_FUNCTION_NAME", function},
        {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
        {"AWS_ENDPOINT_URL", aws_.endpoint()},
        {"AWS_REGION", aws_.region()},
        {"AWS_ACCESS_KEY_ID", aws_.credentials().access_key_id},
        {"AWS_SECRET_ACCESS_KEY", aws_.credentials().secret_access_key},
        {"AWS_SESSION_TOKEN", aws_.credentials().session_token},
        {"AWS_EC2_METADATA_DISABLED", "true"},
        {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
        {"AWS_CONFIG_FILE", "/nonexistent/config"},
        {"SSL_CERT_FILE", test::test_tls().ca_file},
        {"LOG_FORMAT", "json"},
        {"LOG_LEVEL", "debug"},
    };
  }

  std::unique_ptr<test::BotProcess> start_function(const std::string& role,
                                                   const std::string& function) {
    auto process = std::make_unique<test::BotProcess>(std::vector<std::string>{"lambda"},
                                                      function_env(role, function));
    EXPECT_TRUE(process->started());
    return process;
  }

  // The bot's environment: the Lambda backend against the fake Lambda.
  std::vector<std::string> bot_env() const {
    return {
        std::string("ORCHESTRATOR_LAMBDA_ARN=") + kOrchestratorArn,
        std::string("IP_WHITELIST_LAMBDA_ARN=") + kWhitelistArn,
        "INFRA_BACKEND=lambda",
        "AWS_ENDPOINT_URL_LAMBDA=" + lambda_.endpoint(),
        "SSL_CERT_FILE=" + test::test_tls().ca_file,
        "AWS_ACCESS_KEY_ID=" + lambda_.credentials().access_key_id,
        "AWS_SECRET_ACCESS_KEY=" + lambda_.credentials().secret_access_key,
        "AWS_SESSION_TOKEN=" + lambda_.credentials().session_token,
        "AWS_EC2_METADATA_DISABLED=true",
        "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials",
        "AWS_CONFIG_FILE=/nonexistent/config",
        "INFRA_COOLDOWN_SECONDS=0",
    };
  }

  BinaryRun console(const std::string& command) {
    return run_binary(bot_env(), "console -c " + shell_quote(command));
  }

  // Every request the fake AWS and the fake Lambda saw was signed correctly.
  void expect_all_verified() const {
    for (const auto& request : aws_.requests()) {
      EXPECT_TRUE(test::FakeAws::verified(request)) << core::json::to_string(request);
    }
    for (const auto& invoke : lambda_.events(test::FakeLambdaRuntime::event("invoke"))) {
      EXPECT_TRUE(test::FakeLambdaRuntime::verified(invoke)) << core::json::to_string(invoke);
    }
  }

  // The count of AWS calls that change something.
  std::size_t mutating_aws_calls() const {
    std::size_t count = 0;
    for (const auto* operation :
         {"UpdateService", "TagResource", "UntagResource", "StopDBInstance", "StartDBInstance",
          "StopDBCluster", "StartDBCluster", "StopInstances", "StartInstances", "RebootInstances",
          "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"}) {
      count += aws_.count([operation](const rapidjson::Value& request) {
        return test::FakeAws::str(request, "operation") == operation;
      });
    }
    return count;
  }

  // The state's parts that belong to `environment`, canonical (for "unchanged" checks).
  static std::string environment_state(const rapidjson::Value& state,
                                       std::string_view environment) {
    std::string out;
    auto tagged = [&](const rapidjson::Value& item) {
      const auto* tags = core::json::get_object(item, "tags");
      return tags != nullptr && core::json::get_string(*tags, "Environment") == environment;
    };
    auto add = [&](const rapidjson::Value* items) {
      if (items == nullptr || !items->IsArray()) return;
      for (const auto& item : items->GetArray()) {
        if (item.IsObject() && tagged(item)) out += core::json::canonical(item);
      }
    };
    if (const auto* ecs = core::json::get_object(state, "ecs"))
      add(core::json::get_array(*ecs, "clusters"));
    if (const auto* rds = core::json::get_object(state, "rds")) {
      add(core::json::get_array(*rds, "instances"));
      add(core::json::get_array(*rds, "clusters"));
    }
    if (const auto* ec2 = core::json::get_object(state, "ec2")) {
      add(core::json::get_array(*ec2, "instances"));
      add(core::json::get_array(*ec2, "securityGroups"));
    }
    return out;
  }

  test::FakeAws aws_;
  test::FakeLambdaRuntime lambda_{{kOrchestrator, kWhitelist}, 60s};
  std::unique_ptr<test::BotProcess> orchestrator_;
  std::unique_ptr<test::BotProcess> whitelist_;
};

TEST_F(LambdaRuntimeChain, StatusShowsTheFakesResources) {
  const auto run = console("/infra status dev");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("api"), HasSubstr("worker"), HasSubstr("app-dev-db"),
                             HasSubstr("app-dev-aurora"), HasSubstr("bastion-dev"),
                             HasSubstr("runner-dev"), Not(HasSubstr("prod"))))
      << run.out;

  // It went the whole way: invoke → runtime → AWS → answer.
  EXPECT_TRUE(lambda_.wait_for("the status dispatch",
                               test::FakeLambdaRuntime::with_action("dispatch", "status")));
  const auto answered = lambda_.events(test::FakeLambdaRuntime::event("answered"));
  ASSERT_EQ(answered.size(), 1u) << lambda_.describe_last(10);
  EXPECT_TRUE(core::json::get_string(answered[0], "function_error") == std::nullopt);
  const auto* body = core::json::get_object(answered[0], "body");
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(core::json::get_bool(*body, "ok"), true);
  EXPECT_EQ(core::json::get_string(*body, "environment"), "dev");
  EXPECT_GE(aws_.count(test::FakeAws::call("ecs", "DescribeServices")), 1u);
  EXPECT_EQ(mutating_aws_calls(), 0u);
  expect_all_verified();
  // The runtime set the trace id and logged the time left.
  EXPECT_TRUE(orchestrator_->wait_for_log("remaining_ms="));
}

TEST_F(LambdaRuntimeChain, StopDevChangesTheFakesState) {
  const auto before = aws_.state();
  ASSERT_EQ(test::FakeAws::desired_count(before, "infra-dev", "api"), 2);
  ASSERT_EQ(test::FakeAws::db_status(before, "app-dev-db"), "available");

  const auto run = console("/infra stop dev");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  const auto after = aws_.state();
  EXPECT_EQ(test::FakeAws::desired_count(after, "infra-dev", "api"), 0);
  EXPECT_EQ(test::FakeAws::desired_count(after, "infra-dev", "worker"), 0);
  EXPECT_EQ(test::FakeAws::db_status(after, "app-dev-db"), "stopped");
  // Nothing outside dev moved.
  EXPECT_EQ(environment_state(after, "prod"), environment_state(before, "prod"));
  EXPECT_EQ(environment_state(after, "staging"), environment_state(before, "staging"));

  // And the bot shows it.
  const auto status = console("/infra status dev");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("stopped")) << status.out;
  expect_all_verified();
}

TEST_F(LambdaRuntimeChain, WhitelistAddListRemoveChangeTheSecurityGroupRules) {
  const auto rules_for = [this](std::string_view cidr) {
    std::vector<std::string> ports;
    const auto state = aws_.state();
    for (const auto* rule : test::FakeAws::rules_of(state, kDevWhitelistGroup)) {
      if (test::FakeAws::str(*rule, "cidrIpv4") == cidr) {
        ports.push_back(std::to_string(core::json::get_int(*rule, "fromPort").value_or(-1)));
      }
    }
    std::sort(ports.begin(), ports.end());
    return ports;
  };
  ASSERT_TRUE(rules_for("203.0.113.7/32").empty());

  auto run = console("/infra whitelist add 203.0.113.7 --ttl=1h --description='Home office'");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(rules_for("203.0.113.7/32"), testing::ElementsAre("443", "7233", "80"));

  run = console("/infra whitelist list");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("203.0.113.7/32"), HasSubstr("Home office"))) << run.out;

  run = console("/infra whitelist refresh");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(rules_for("203.0.113.7/32"), testing::ElementsAre("443", "7233", "80"));

  run = console("/infra whitelist remove 203.0.113.7");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(rules_for("203.0.113.7/32").empty());

  run = console("/infra whitelist list");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("203.0.113.7"))) << run.out;

  // Every call went to the whitelist function, none to the orchestrator.
  EXPECT_EQ(lambda_.count(test::FakeLambdaRuntime::event("dispatch", kOrchestrator)), 0u);
  EXPECT_EQ(lambda_.count(test::FakeLambdaRuntime::event("dispatch", kWhitelist)), 5u);
  expect_all_verified();
}

TEST_F(LambdaRuntimeChain, TheOrchestratorRefusesStopProdOnItsOwn) {
  // Straight to the orchestrator through the fake Lambda: no bot, no policy.
  const auto before = aws_.state();
  const auto mutating_before = mutating_aws_calls();

  core::SystemClock clock;
  auto http = core::http::make_curl_client(core::http::CurlSettings{test::test_tls().ca_file});
  auto credentials =
      aws::make_static_credentials(aws::Credentials{lambda_.credentials().access_key_id,
                                                    lambda_.credentials().secret_access_key,
                                                    lambda_.credentials().session_token,
                                                    {}});
  class NoSleep final : public aws::Sleeper {
   public:
    void sleep_for(std::chrono::milliseconds) override {}
  } sleeper;
  aws::LambdaSettings settings;
  settings.endpoint_url = lambda_.endpoint();
  aws::LambdaClient client(settings, *http, *credentials, clock, sleeper, core::make_null_logger());
  auto function = aws::parse_function_ref(kOrchestratorArn, "");
  ASSERT_TRUE(function);

  for (
      const auto* payload : {
          R"({"action":"stop","environment":"prod","request_id":"r-1",)"
          R"("requested_by":{"user_id":"U1","user_name":"mallory","team_id":"T1","channel_id":"C1"},)"
          R"("source":"slack"})",
          R"({"action":"teardown","environment":"prod","level":"full"})",
          R"({"action":"reboot","environment":"prod","name":"bastion-prod"})",
      }) {
    aws::InvokeRequest request{*function, payload, aws::InvocationType::request_response,
                               aws::Idempotency::mutating, std::chrono::seconds(60)};
    auto outcome = client.invoke(request);
    ASSERT_TRUE(outcome) << outcome.error().detail;
    const auto* success = std::get_if<aws::InvokeSuccess>(&*outcome);
    ASSERT_NE(success, nullptr) << "a function error instead of ok:false";
    auto answer = core::json::parse(success->payload);
    ASSERT_TRUE(answer) << success->payload;
    EXPECT_EQ(core::json::get_bool(*answer, "ok"), false) << success->payload;
    EXPECT_THAT(std::string(core::json::get_string(*answer, "error").value_or("")),
                AllOf(HasSubstr("`prod` is protected"), HasSubstr("is refused.")))
        << success->payload;
  }

  // Nothing in AWS moved, and nothing was even attempted.
  const auto after = aws_.state();
  EXPECT_EQ(environment_state(after, "prod"), environment_state(before, "prod"));
  EXPECT_EQ(test::FakeAws::desired_count(after, "infra-prod", "api"), 2);
  EXPECT_EQ(test::FakeAws::db_status(after, "app-prod-db"), "available");
  EXPECT_EQ(test::FakeAws::instance_state(after, "i-0a1b2c3d4e5f63001"), "running");
  EXPECT_EQ(mutating_aws_calls(), mutating_before);
  expect_all_verified();

  // The whitelist function refuses the orchestrator's actions too.
  auto whitelist = aws::parse_function_ref(kWhitelistArn, "");
  ASSERT_TRUE(whitelist);
  aws::InvokeRequest request{*whitelist, R"({"action":"stop","environment":"dev"})",
                             aws::InvocationType::request_response, aws::Idempotency::mutating,
                             std::chrono::seconds(60)};
  auto outcome = client.invoke(request);
  ASSERT_TRUE(outcome) << outcome.error().detail;
  const auto* success = std::get_if<aws::InvokeSuccess>(&*outcome);
  ASSERT_NE(success, nullptr);
  EXPECT_THAT(success->payload,
              AllOf(HasSubstr(R"("ok":false)"), HasSubstr("is an action of the orchestrator")));
  EXPECT_EQ(test::FakeAws::desired_count(aws_.state(), "infra-dev", "api"), 2);
}

TEST_F(LambdaRuntimeChain, A500OnNextEndsTheProcessPromptly) {
  ASSERT_TRUE(lambda_.fail_next(kOrchestrator, 500));
  const auto exit_code = orchestrator_->wait_exit(5s);
  ASSERT_TRUE(exit_code.has_value()) << "still running after a 500 on next";
  EXPECT_EQ(*exit_code, 1);
  EXPECT_TRUE(lambda_.wait_for("the scripted 500", test::FakeLambdaRuntime::event("next_status")));
  // The other function is untouched.
  EXPECT_TRUE(whitelist_->running());
}

TEST(LambdaRuntimeInit, AStartUpFailureIsPostedToInitError) {
  test::FakeLambdaRuntime lambda({kOrchestrator});
  ASSERT_TRUE(lambda.started()) << lambda.describe_last(5);
  // No INFRA_LAMBDA_ROLE: the configuration cannot be loaded.
  test::BotProcess process({"lambda"},
                           {{"AWS_LAMBDA_RUNTIME_API", lambda.runtime_api(kOrchestrator)},
                            {"AWS_REGION", "eu-west-1"},
                            {"AWS_EC2_METADATA_DISABLED", "true"}});
  ASSERT_TRUE(process.started());
  const auto exit_code = process.wait_exit(10s);
  ASSERT_TRUE(exit_code.has_value()) << process.describe_last(20);
  EXPECT_NE(*exit_code, 0);
  ASSERT_TRUE(lambda.wait_for("the init error", test::FakeLambdaRuntime::event("init_error")));
  const auto posted = lambda.events(test::FakeLambdaRuntime::event("init_error"));
  EXPECT_EQ(test::FakeLambdaRuntime::str(posted[0], "content_type"),
            "application/vnd.aws.lambda.error+json");
  EXPECT_EQ(test::FakeLambdaRuntime::str(posted[0], "error_type"), "Runtime.InitError");
  const auto* body = core::json::get_object(posted[0], "body");
  ASSERT_NE(body, nullptr);
  EXPECT_THAT(std::string(core::json::get_string(*body, "errorMessage").value_or("")),
              HasSubstr("INFRA_LAMBDA_ROLE"));
  EXPECT_EQ(core::json::get_string(*body, "errorType"), "Runtime.InitError");
  EXPECT_EQ(lambda.count(test::FakeLambdaRuntime::event("next")), 0u) << "no poll after it";
}

}  // namespace
