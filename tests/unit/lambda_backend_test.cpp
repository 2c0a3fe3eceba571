// infra::LambdaBackend: the exact payloads and the lenient reading of the
// answers of design §4, one case per folder in proto-fixtures/lambda/, over
// the real LambdaClient and signer with a scripted HTTP client.
#include "infra/lambda_backend.hpp"

#include <cstdlib>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_clock.hpp"
#include "lambda_fixtures.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

namespace fixtures = test::lambda_fixtures;
using testing::AllOf;
using testing::HasSubstr;
using testing::Not;

class NoSleep final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds) override {}
};

core::http::Response response(long status, std::string body, core::http::Headers headers = {}) {
  return core::http::Response{status, std::move(headers), std::move(body)};
}

class LambdaBackendTest : public testing::Test {
 protected:
  LambdaBackendTest()
      : credentials_(aws::make_static_credentials(
            aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}})),
        sink_(std::make_shared<test::RecordingSink>()),
        logger_(core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink_},
                                  core::Redactor())),
        lambda_(aws::LambdaSettings{}, http_, *credentials_, clock_, sleeper_, logger_),
        backend_(settings(), lambda_, clock_, logger_) {}

  static infra::LambdaBackendSettings settings() {
    infra::LambdaBackendSettings out;
    out.orchestrator = *aws::parse_function_ref(fixtures::kOrchestratorArn, "");
    out.whitelist = *aws::parse_function_ref(fixtures::kWhitelistArn, "");
    return out;
  }

  std::vector<std::string> log_lines_with(std::string_view text) {
    std::vector<std::string> out;
    for (const auto& line : sink_->lines()) {
      if (line.find(text) != std::string::npos) out.push_back(line);
    }
    return out;
  }

  test::ScriptedHttpClient http_;
  test::FakeClock clock_;
  NoSleep sleeper_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  aws::LambdaClient lambda_;
  infra::LambdaBackend backend_;
};

// --------------------------------------------------------------- the fixtures

class LambdaFixture : public LambdaBackendTest, public testing::WithParamInterface<std::string> {};

TEST_P(LambdaFixture, Case) {
  const auto c = fixtures::load(GetParam());
  http_.push(response(200, c.response, c.response_headers));

  const auto got = fixtures::run_case(backend_, c, fixtures::fixed_context());

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u) << "one call, never repeated for a 200";
  EXPECT_THAT(requests[0].url,
              HasSubstr(c.whitelist ? "infra-ip-whitelist" : "infra-orchestrator"));
  const auto sent = core::json::canonicalize(requests[0].body);
  const auto expected_request = core::json::canonicalize(c.request);
  ASSERT_TRUE(sent) << requests[0].body;
  ASSERT_TRUE(expected_request) << c.request;
  EXPECT_EQ(*sent, *expected_request) << "payload differs from " << (c.dir / "request.json");

  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(c.dir / "expected.json", std::ios::binary) << got;
    GTEST_SKIP() << "rewrote " << (c.dir / "expected.json");
  }
  ASSERT_FALSE(c.expected.empty())
      << "missing " << (c.dir / "expected.json") << " (UPDATE_GOLDEN=1 writes it); got:\n"
      << got;
  EXPECT_EQ(got, c.expected) << "result differs from " << (c.dir / "expected.json");
}

INSTANTIATE_TEST_SUITE_P(Lambda, LambdaFixture, testing::ValuesIn(fixtures::case_names()),
                         [](const auto& test_info) { return test_info.param; });

TEST(LambdaFixtures, CoverEveryCallOfTheContract) {
  std::set<std::string> actions;
  for (const auto& name : fixtures::case_names()) {
    auto request = core::json::parse(fixtures::load(name).request);
    ASSERT_TRUE(request) << name;
    actions.insert(std::string(core::json::get_string(*request, "action").value_or("")));
  }
  EXPECT_THAT(actions, testing::IsSupersetOf({"status", "stop", "start", "teardown", "spinup",
                                              "add", "remove", "list", "refresh"}));
}

// ------------------------------------------------------------ the rest of it

TEST_F(LambdaBackendTest, TeardownWithoutLevelSendsServices) {
  http_.push(response(200, R"({"ok":true})"));
  infra::LifecycleRequest request{infra::LifecycleAction::teardown, "dev", std::nullopt};
  ASSERT_TRUE(backend_.run(request, fixtures::fixed_context()));
  auto sent = core::json::parse(http_.requests().at(0).body);
  ASSERT_TRUE(sent);
  EXPECT_EQ(core::json::get_string(*sent, "level"), "services");
}

// Issue 16: a deployment without an IP whitelist Lambda (the seed's module
// call has none) refuses each whitelist command with one line, calls nothing,
// and still serves the orchestrator's commands.
TEST_F(LambdaBackendTest, WithoutAWhitelistLambdaEachWhitelistCommandIsRefusedInOneLine) {
  auto no_whitelist = settings();
  no_whitelist.whitelist.reset();
  infra::LambdaBackend backend(no_whitelist, lambda_, clock_, logger_);
  const auto context = fixtures::fixed_context();
  const infra::Cidr cidr{"203.0.113.7/32", 32, false};
  std::vector<core::Error> errors;
  errors.push_back(
      backend.whitelist_add({cidr, std::chrono::hours(1), std::nullopt, "dev"}, context).error());
  errors.push_back(backend.whitelist_remove({cidr, "dev"}, context).error());
  errors.push_back(backend.whitelist_list("dev", context).error());
  errors.push_back(backend.whitelist_refresh("dev", context).error());
  for (const auto& error : errors) {
    EXPECT_EQ(error.code, core::ErrorCode::config);
    EXPECT_EQ(error.user_message,
              "IP whitelist commands are not set up for this bot: it has no IP whitelist Lambda "
              "(an operator sets IP_WHITELIST_LAMBDA_ARN).");
  }
  EXPECT_TRUE(http_.requests().empty());

  http_.push(response(200, R"({"ok":true,"action":"stop","environment":"dev"})"));
  infra::LifecycleRequest stop{infra::LifecycleAction::stop, "dev", std::nullopt};
  ASSERT_TRUE(backend.run(stop, context));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LambdaBackendTest, LevelOnlyForTeardown) {
  http_.push(response(200, R"({"ok":true})"));
  infra::LifecycleRequest request{infra::LifecycleAction::stop, "dev", infra::TeardownLevel::full};
  ASSERT_TRUE(backend_.run(request, fixtures::fixed_context()));
  auto sent = core::json::parse(http_.requests().at(0).body);
  ASSERT_TRUE(sent);
  EXPECT_FALSE(sent->HasMember("level"));
}

TEST_F(LambdaBackendTest, ReadOnlyCallsAreRetriedMutatingOnesAreNot) {
  const auto server_error = [] {
    return response(500, R"({"message":"internal"})", {{"x-amzn-ErrorType", "ServiceException"}});
  };
  const auto context = fixtures::fixed_context();

  http_.push(server_error());
  http_.push(response(200, R"({"ok":true,"environment":"dev"})"));
  ASSERT_TRUE(backend_.status("dev", context));
  EXPECT_EQ(http_.requests().size(), 2u);

  http_.push(server_error());
  http_.push(response(200, R"({"ok":true,"entries":[]})"));
  ASSERT_TRUE(backend_.whitelist_list("dev", context));
  EXPECT_EQ(http_.requests().size(), 4u);

  // Mutating: nothing else is queued, so a wrongful retry would show as a 6th request.
  http_.push(server_error());
  auto stopped = backend_.run({infra::LifecycleAction::stop, "dev", std::nullopt}, context);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::ErrorCode::indeterminate);
  EXPECT_THAT(stopped.error().user_message, HasSubstr("may or may not have run"));
  EXPECT_EQ(http_.requests().size(), 5u);

  http_.push(server_error());
  EXPECT_FALSE(backend_.whitelist_refresh("dev", context));
  EXPECT_EQ(http_.requests().size(), 6u);

  // The retried read carried the same request_id both times.
  const auto requests = http_.requests();
  EXPECT_EQ(requests[0].body, requests[1].body);
}

TEST_F(LambdaBackendTest, TimeoutsPerFunction) {
  http_.push(response(200, R"({"ok":true})"));
  http_.push(response(200, R"({"ok":true})"));
  const auto context = fixtures::fixed_context();
  ASSERT_TRUE(backend_.status("dev", context));
  ASSERT_TRUE(backend_.whitelist_list("dev", context));
  const auto requests = http_.requests();
  EXPECT_EQ(requests[0].total_timeout, std::chrono::seconds(910));
  EXPECT_EQ(requests[1].total_timeout, std::chrono::seconds(70));
}

TEST_F(LambdaBackendTest, FunctionErrorBecomesAReadableError) {
  http_.push(response(200, R"({"errorMessage":"boom","errorType":"RuntimeError"})",
                      {{"X-Amz-Function-Error", "Unhandled"}}));
  auto result = backend_.run({infra::LifecycleAction::stop, "staging", std::nullopt},
                             fixtures::fixed_context());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().user_message,
            "The orchestrator failed: boom. Check `/infra status staging` to see what changed.");
  EXPECT_THAT(result.error().detail, AllOf(HasSubstr("RuntimeError"), HasSubstr("Unhandled")));

  http_.push(response(200, "{}", {{"X-Amz-Function-Error", "Unhandled"}}));
  auto listed = backend_.whitelist_list("dev", fixtures::fixed_context());
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().user_message, "The IP whitelist Lambda failed: unknown error.");
}

TEST_F(LambdaBackendTest, ClientErrorsPassThrough) {
  http_.push(response(404, R"({"message":"Function not found"})",
                      {{"x-amzn-ErrorType", "ResourceNotFoundException"}}));
  auto result = backend_.whitelist_list("dev", fixtures::fixed_context());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, core::ErrorCode::not_found);
  EXPECT_EQ(result.error().user_message,
            "Lambda function `infra-ip-whitelist` not found in eu-west-1.");
}

TEST_F(LambdaBackendTest, OneLogLinePerCallWithoutThePayload) {
  http_.push(response(200, R"({"ok":true})"));
  http_.push(response(200, R"({"ok":false,"error":"nope"})"));
  infra::WhitelistAdd add;
  add.cidr = infra::Cidr{"203.0.113.7/32", 32, false};
  add.env = "dev";
  add.description = "Secret hideout of the team";
  const auto context = fixtures::fixed_context();
  ASSERT_TRUE(backend_.whitelist_add(add, context));
  ASSERT_FALSE(backend_.run({infra::LifecycleAction::start, "dev", std::nullopt}, context));

  const auto calls = log_lines_with("lambda call:");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0], AllOf(HasSubstr("request_id=0b7c6f2e-3a1d-4c55-9e0f-5d2a8b1c9e47"),
                              HasSubstr("user=U012ALICE"), HasSubstr("function=arn:aws:lambda:"),
                              HasSubstr("infra-ip-whitelist"), HasSubstr("action=add"),
                              HasSubstr("outcome=ok"), HasSubstr("duration_ms=")));
  EXPECT_THAT(calls[1], AllOf(HasSubstr("action=start"), HasSubstr("outcome=not_ok"),
                              HasSubstr("infra-orchestrator")));
  for (const auto& line : sink_->lines()) {
    EXPECT_THAT(line, Not(HasSubstr("Secret hideout"))) << line;
  }
}

TEST_F(LambdaBackendTest, WhitelistAddFallsBackToWhatWasAskedFor) {
  http_.push(response(200, R"({"ok":true,"expires_at":"soon"})"));
  infra::WhitelistAdd add;
  add.cidr = infra::Cidr{"2001:db8::/48", 48, true};
  add.env = "prod";
  add.ttl = std::chrono::minutes(5);
  auto context = fixtures::fixed_context();
  context.requested_by.user_name.clear();
  auto added = backend_.whitelist_add(add, context);
  ASSERT_TRUE(added);
  EXPECT_EQ(added->environment, "prod");
  EXPECT_EQ(added->entry.cidr, "2001:db8::/48");
  EXPECT_EQ(added->entry.description, "");
  EXPECT_EQ(added->entry.added_by, "U012ALICE");
  EXPECT_EQ(added->entry.expires_at, clock_.now() + std::chrono::minutes(5));
  EXPECT_FALSE(added->replaced);
}

TEST_F(LambdaBackendTest, NameIsLambda) { EXPECT_EQ(backend_.name(), "lambda"); }

}  // namespace

namespace {

TEST_F(LambdaBackendTest, RefreshReadsTheExpiredEntriesInfraBotsOwnLambdaSends) {
  http_.push(response(200, R"({"ok": true, "environment": "dev", "security_groups": ["sg-1"],
      "rules_added": 0, "rules_removed": 3, "expired": [
        {"cidr": "192.0.2.10/32", "description": "Old laptop", "added_by": "U0BOB0001",
         "expires_at": "2026-01-01T00:00:00Z"}, "not an entry"]})"));
  auto refreshed = backend_.whitelist_refresh("dev", fixtures::fixed_context());
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->rules_removed, 3);
  ASSERT_EQ(refreshed->expired.size(), 1u);
  EXPECT_EQ(refreshed->expired[0].cidr, "192.0.2.10/32");
  EXPECT_EQ(refreshed->expired[0].added_by, "U0BOB0001");
  EXPECT_EQ(refreshed->expired[0].expires_at, core::parse_rfc3339("2026-01-01T00:00:00Z"));

  http_.push(response(200, R"({"ok": true, "environment": "dev", "security_groups": [],
      "rules_added": 1, "rules_removed": 0})"));
  auto seed = backend_.whitelist_refresh("dev", fixtures::fixed_context());
  ASSERT_TRUE(seed);
  EXPECT_TRUE(seed->expired.empty()) << "the seed's answer has none";
}

}  // namespace
