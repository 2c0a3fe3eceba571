// infra::LambdaHandler: design §4's two contracts served over a Backend.
//  - every action of both roles against SimulatedBackend, and each answer read back
//    by the bot's own client (infra::LambdaBackend over the real LambdaClient and a
//    scripted HTTP client whose "Lambda" is the handler) to the same values the
//    backend gave directly;
//  - the orchestrator's own refusal of stop / teardown / reboot of a protected
//    environment;
//  - every malformed input answered with {"ok": false} and no backend call.
#include "infra/lambda_handler.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "fake_clock.hpp"
#include "infra/lambda_backend.hpp"
#include "infra/simulated_backend.hpp"
#include "lambda_fixtures.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

namespace fixtures = test::lambda_fixtures;
using testing::HasSubstr;
using testing::StartsWith;

core::Config make_config() {
  core::Config config;
  config.environments = {"dev", "staging", "prod"};
  config.protected_environments = {"prod"};
  return config;
}

class NoSleep final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds) override {}
};

// A Backend that records what reached it and answers as told.
class StubBackend final : public infra::Backend {
 public:
  std::string_view name() const override { return "stub"; }

  core::Result<infra::EnvironmentStatus> status(std::string_view environment,
                                                const infra::RequestContext& context) override {
    record("status", environment, context);
    if (error) return *error;
    auto out = status_result;
    if (out.environment.empty()) out.environment = std::string(environment);
    return out;
  }
  core::Result<infra::ActionResult> run(const infra::LifecycleRequest& request,
                                        const infra::RequestContext& context) override {
    record(std::string(infra::to_string(request.action)), request.environment, context);
    last_lifecycle = request;
    if (error) return *error;
    auto out = action_result;
    out.action = request.action;
    if (out.environment.empty()) out.environment = request.environment;
    return out;
  }
  core::Result<infra::WhitelistAdded> whitelist_add(const infra::WhitelistAdd& command,
                                                    const infra::RequestContext& context) override {
    record("add", command.env, context);
    last_add = command;
    if (error) return *error;
    return infra::WhitelistAdded{
        command.env,
        infra::WhitelistEntry{command.cidr.text, command.description.value_or(""),
                              context.requested_by.user_id, fixed_time()},
        false};
  }
  core::Result<infra::WhitelistRemoved> whitelist_remove(
      const infra::WhitelistRemove& command, const infra::RequestContext& context) override {
    record("remove", command.env, context);
    last_remove = command;
    if (error) return *error;
    return infra::WhitelistRemoved{command.env, command.cidr.text};
  }
  core::Result<infra::WhitelistListing> whitelist_list(
      std::string_view environment, const infra::RequestContext& context) override {
    record("list", environment, context);
    if (error) return *error;
    return infra::WhitelistListing{std::string(environment), {}};
  }
  core::Result<infra::WhitelistRefreshed> whitelist_refresh(
      std::string_view environment, const infra::RequestContext& context) override {
    record("refresh", environment, context);
    if (error) return *error;
    return infra::WhitelistRefreshed{std::string(environment), {"sg-1"}, 0, 0};
  }
  std::optional<std::string> unsupported(const infra::LifecycleRequest& request) const override {
    if (unsupported_text && request.action == infra::LifecycleAction::spinup) {
      return unsupported_text;
    }
    return std::nullopt;
  }

  static core::TimePoint fixed_time() {
    return std::chrono::sys_days(std::chrono::year(2026) / 1 / 8);
  }

  std::vector<std::string> calls;
  std::optional<infra::RequestContext> last_context;
  std::optional<infra::LifecycleRequest> last_lifecycle;
  std::optional<infra::WhitelistAdd> last_add;
  std::optional<infra::WhitelistRemove> last_remove;
  infra::EnvironmentStatus status_result;
  infra::ActionResult action_result;
  std::optional<core::Error> error;
  std::optional<std::string> unsupported_text;
  bool throw_on_call = false;

 private:
  void record(std::string action, std::string_view environment,
              const infra::RequestContext& context) {
    calls.push_back(std::move(action) + " " + std::string(environment));
    last_context = context;
    if (throw_on_call) throw std::runtime_error("backend exploded");
  }
};

// The parsed answer, or a failed assertion.
rapidjson::Document parse_answer(const std::string& body) {
  auto document = core::json::parse(body);
  EXPECT_TRUE(document && document->IsObject()) << body;
  if (!document || !document->IsObject()) {
    rapidjson::Document empty;
    empty.SetObject();
    return empty;
  }
  return std::move(document).value();
}

std::string canonical(const std::string& body) {
  auto out = core::json::canonicalize(body);
  EXPECT_TRUE(out) << body;
  return out ? *out : body;
}

// ------------------------------------------------------------- chain fixture

// LambdaBackend → (scripted HTTP) → LambdaHandler → SimulatedBackend `served_`,
// next to a twin SimulatedBackend `direct_` driven straight: the same calls
// must give the same values both ways.
class LambdaHandlerChain : public testing::Test {
 protected:
  LambdaHandlerChain()
      : config_(make_config()),
        credentials_(aws::make_static_credentials(
            aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}})),
        logger_(core::make_null_logger()),
        served_(config_.environments, clock_),
        direct_(config_.environments, clock_),
        orchestrator_(core::LambdaRole::orchestrator, config_, served_, clock_, logger_),
        whitelist_(core::LambdaRole::whitelist, config_, served_, clock_, logger_),
        lambda_(aws::LambdaSettings{}, http_, *credentials_, clock_, sleeper_, logger_),
        client_(settings(), lambda_, clock_, logger_) {
    http_.set_handler([this](const core::http::Request& request) {
      auto& handler =
          request.url.find("infra-ip-whitelist") != std::string::npos ? whitelist_ : orchestrator_;
      payloads_.push_back(request.body);
      auto answer = handler.handle(request.body, {"aws-req-1", std::nullopt});
      answers_.push_back(answer.body);
      core::http::Headers headers{{"Content-Type", "application/json"}};
      if (answer.function_error) headers.emplace_back("X-Amz-Function-Error", "Unhandled");
      return core::Result<core::http::Response>(
          core::http::Response{200, std::move(headers), answer.body});
    });
  }

  static infra::LambdaBackendSettings settings() {
    infra::LambdaBackendSettings out;
    out.orchestrator = *aws::parse_function_ref(fixtures::kOrchestratorArn, "");
    out.whitelist = *aws::parse_function_ref(fixtures::kWhitelistArn, "");
    return out;
  }

  template <class T>
  void expect_same(const core::Result<T>& through, const core::Result<T>& direct,
                   std::string_view what) {
    ASSERT_EQ(through.has_value(), direct.has_value())
        << what << ": " << (through ? "" : through.error().user_message)
        << (direct ? "" : direct.error().user_message) << "\nanswer: " << answers_.back();
    if (!direct) {
      EXPECT_EQ(through.error().user_message, direct.error().user_message) << what;
    }
  }

  void expect_same_status(std::string_view environment) {
    const auto context = fixtures::fixed_context();
    auto through = client_.status(environment, context);
    auto direct = direct_.status(environment, context);
    expect_same(through, direct, "status");
    if (through && direct) {
      EXPECT_EQ(*through, *direct) << answers_.back();
    }
  }

  void expect_same_run(infra::LifecycleRequest request) {
    const auto context = fixtures::fixed_context();
    auto through = client_.run(request, context);
    auto direct = direct_.run(request, context);
    expect_same(through, direct, infra::to_string(request.action));
    if (through && direct) {
      EXPECT_EQ(*through, *direct) << answers_.back();
    }
  }

  core::Config config_;
  test::FakeClock clock_;
  NoSleep sleeper_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  core::LoggerPtr logger_;
  infra::SimulatedBackend served_;
  infra::SimulatedBackend direct_;
  infra::LambdaHandler orchestrator_;
  infra::LambdaHandler whitelist_;
  test::ScriptedHttpClient http_;
  aws::LambdaClient lambda_;
  infra::LambdaBackend client_;
  std::vector<std::string> payloads_;
  std::vector<std::string> answers_;
};

TEST_F(LambdaHandlerChain, StatusRoundTrips) {
  expect_same_status("dev");
  expect_same_status("prod");
  const auto answer = parse_answer(answers_.back());
  EXPECT_EQ(core::json::get_bool(answer, "ok"), true);
}

TEST_F(LambdaHandlerChain, EveryLifecycleActionRoundTrips) {
  using infra::LifecycleAction;
  using infra::TeardownLevel;
  for (const auto& environment : {"dev", "staging"}) {
    SCOPED_TRACE(environment);
    expect_same_run({LifecycleAction::stop, environment, std::nullopt});
    expect_same_status(environment);
    expect_same_run({LifecycleAction::stop, environment, std::nullopt});  // nothing to stop
    expect_same_run({LifecycleAction::start, environment, std::nullopt});
    expect_same_status(environment);
    expect_same_run({LifecycleAction::teardown, environment, TeardownLevel::services});
    expect_same_status(environment);
    expect_same_run({LifecycleAction::stop, environment, std::nullopt});  // torn down: error
    expect_same_run({LifecycleAction::spinup, environment, std::nullopt});
    expect_same_run({LifecycleAction::teardown, environment, TeardownLevel::full});
    expect_same_status(environment);
    expect_same_run({LifecycleAction::teardown, environment, TeardownLevel::full});  // error
    expect_same_run({LifecycleAction::spinup, environment, std::nullopt});
    expect_same_run({LifecycleAction::spinup, environment, std::nullopt});  // nothing to create
    expect_same_status(environment);
    expect_same_run({LifecycleAction::reboot, environment, std::nullopt});  // simulated: none
  }
  // Start and spinup of a protected environment are not refused.
  expect_same_run({infra::LifecycleAction::start, "prod", std::nullopt});
  expect_same_run({infra::LifecycleAction::spinup, "prod", std::nullopt});
  EXPECT_EQ(answers_.size(), 2u * 16u + 2u) << "every call went through the handler";
}

TEST_F(LambdaHandlerChain, EveryWhitelistActionRoundTrips) {
  const auto context = fixtures::fixed_context();
  auto cidr = [](std::string text) {
    auto parsed = infra::parse_cidr(text, infra::ParserSettings{});
    EXPECT_TRUE(parsed) << text;
    return *parsed;
  };
  const infra::WhitelistAdd add{cidr("203.0.113.7/32"), std::chrono::seconds(604800), "Home office",
                                "dev"};
  const infra::WhitelistAdd renew{cidr("203.0.113.7/32"), std::chrono::seconds(3600), std::nullopt,
                                  "dev"};
  const infra::WhitelistAdd v6{cidr("2001:db8:1234::/48"), std::chrono::seconds(300), "VPN",
                               "prod"};

  for (const auto* command : {&add, &renew, &v6}) {
    auto through = client_.whitelist_add(*command, context);
    auto direct = direct_.whitelist_add(*command, context);
    expect_same(through, direct, "add");
    ASSERT_TRUE(through && direct);
    EXPECT_EQ(through->environment, direct->environment);
    EXPECT_EQ(through->entry, direct->entry) << answers_.back();
    EXPECT_EQ(through->replaced, direct->replaced) << answers_.back();
  }
  EXPECT_TRUE(client_.whitelist_list("dev", context)->entries.front().description == "Home office")
      << "renewed without a description keeps the old one";

  for (const auto& environment : {"dev", "prod", "staging"}) {
    auto through = client_.whitelist_list(environment, context);
    auto direct = direct_.whitelist_list(environment, context);
    expect_same(through, direct, "list");
    ASSERT_TRUE(through && direct);
    EXPECT_EQ(through->environment, direct->environment);
    EXPECT_EQ(through->entries, direct->entries) << answers_.back();

    auto refreshed = client_.whitelist_refresh(environment, context);
    auto refreshed_direct = direct_.whitelist_refresh(environment, context);
    expect_same(refreshed, refreshed_direct, "refresh");
    ASSERT_TRUE(refreshed && refreshed_direct);
    EXPECT_EQ(refreshed->security_groups, refreshed_direct->security_groups);
    EXPECT_EQ(refreshed->rules_added, refreshed_direct->rules_added);
    EXPECT_EQ(refreshed->rules_removed, refreshed_direct->rules_removed);
  }

  const infra::WhitelistRemove remove{cidr("203.0.113.7/32"), "dev"};
  for (int round = 0; round < 2; ++round) {  // the second: not listed, an error both ways
    auto through = client_.whitelist_remove(remove, context);
    auto direct = direct_.whitelist_remove(remove, context);
    expect_same(through, direct, "remove");
    if (through && direct) {
      EXPECT_EQ(through->environment, direct->environment);
      EXPECT_EQ(through->cidr, direct->cidr);
    }
  }
  EXPECT_TRUE(client_.whitelist_list("dev", context)->entries.empty());

  // The expiry sweep the bot runs (list, then remove what expired) works through it too.
  clock_.advance(std::chrono::seconds(301));
  auto expired = client_.whitelist_expire("prod", clock_.now(), context);
  ASSERT_TRUE(expired) << expired.error().user_message;
  EXPECT_TRUE(expired->empty()) << "the simulated backend drops expired entries by itself";
}

TEST_F(LambdaHandlerChain, PayloadsTheBotSendsAreTheFixtures) {
  // The chain above only works if what LambdaBackend sends is what the handler
  // reads: feed it the fixtures' request.json files verbatim too.
  test::FakeClock clock;
  StubBackend stub;
  const auto config = make_config();
  infra::LambdaHandler orchestrator(core::LambdaRole::orchestrator, config, stub, clock, logger_);
  infra::LambdaHandler whitelist(core::LambdaRole::whitelist, config, stub, clock, logger_);
  for (const auto& name : fixtures::case_names()) {
    const auto c = fixtures::load(name);
    auto& handler = c.whitelist ? whitelist : orchestrator;
    const auto answer = handler.handle(c.request);
    ASSERT_FALSE(answer.function_error) << name;
    const auto document = parse_answer(answer.body);
    EXPECT_EQ(core::json::get_bool(document, "ok"), true) << name << ": " << answer.body;
    ASSERT_TRUE(stub.last_context) << name;
    EXPECT_EQ(stub.last_context->request_id, fixtures::fixed_context().request_id);
    EXPECT_EQ(stub.last_context->requested_by.user_id, "U012ALICE");
    EXPECT_EQ(stub.last_context->requested_by.user_name, "alice");
    EXPECT_EQ(stub.last_context->requested_by.team_id, "T0123TEAM");
    EXPECT_EQ(stub.last_context->requested_by.channel_id, "C0123CHAN");
  }
  EXPECT_EQ(stub.calls.size(), fixtures::case_names().size());
}

// ------------------------------------------------------------- with a stub

class LambdaHandlerTest : public testing::Test {
 protected:
  LambdaHandlerTest()
      : config_(make_config()),
        sink_(std::make_shared<test::RecordingSink>()),
        logger_(core::make_logger("test", core::LogFormat::text, core::LogLevel::debug, {sink_},
                                  core::Redactor())),
        orchestrator_(core::LambdaRole::orchestrator, config_, stub_, clock_, logger_),
        whitelist_(core::LambdaRole::whitelist, config_, stub_, clock_, logger_) {}

  // The answer's "error" when it is {"ok": false, "error"}; a failure otherwise.
  std::string refusal(infra::LambdaHandler& handler, std::string_view payload) {
    const auto answer = handler.handle(payload, {"aws-req-1", std::nullopt});
    EXPECT_FALSE(answer.function_error) << payload;
    const auto document = parse_answer(answer.body);
    EXPECT_EQ(core::json::get_bool(document, "ok"), false) << payload << " → " << answer.body;
    EXPECT_EQ(document.MemberCount(), 2u) << answer.body;
    return std::string(core::json::get_string(document, "error").value_or("<no error>"));
  }

  std::string answer(infra::LambdaHandler& handler, std::string_view payload) {
    const auto answer = handler.handle(payload, {"aws-req-1", std::nullopt});
    EXPECT_FALSE(answer.function_error) << payload;
    return answer.body;
  }

  core::Config config_;
  test::FakeClock clock_;
  StubBackend stub_;
  std::shared_ptr<test::RecordingSink> sink_;
  core::LoggerPtr logger_;
  infra::LambdaHandler orchestrator_;
  infra::LambdaHandler whitelist_;
};

constexpr std::string_view kWho =
    R"("request_id":"r-1","requested_by":{"user_id":"U1","user_name":"alice","team_id":"T1","channel_id":"C1"})";

std::string event(std::string_view fields) { return fmt::format("{{{},{}}}", fields, kWho); }

TEST_F(LambdaHandlerTest, ProtectedEnvironmentsAreRefusedWhateverTheCallerSends) {
  struct Case {
    std::string fields;
    std::string error;
  };
  const std::vector<Case> cases{
      {R"("action":"stop","environment":"prod","source":"slack")",
       "`prod` is protected: stop is refused."},
      {R"("action":"teardown","environment":"prod","level":"services")",
       "`prod` is protected: teardown is refused."},
      {R"("action":"teardown","environment":"prod","level":"full")",
       "`prod` is protected: teardown is refused."},
      {R"("action":"teardown","environment":"prod")", "`prod` is protected: teardown is refused."},
      {R"("action":"reboot","environment":"prod","name":"web-1")",
       "`prod` is protected: reboot is refused."},
      {R"("action":"stop","environment":" PROD ")", "`prod` is protected: stop is refused."},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(refusal(orchestrator_, event(c.fields)), c.error) << c.fields;
  }
  EXPECT_TRUE(stub_.calls.empty()) << testing::PrintToString(stub_.calls);
  // Logged, with who asked.
  bool logged = false;
  for (const auto& line : sink_->lines()) {
    logged = logged || (line.find("refused") != std::string::npos &&
                        line.find("request_id=r-1") != std::string::npos);
  }
  EXPECT_TRUE(logged);

  // The rest of prod is served.
  for (const auto* fields :
       {R"("action":"status","environment":"prod")", R"("action":"start","environment":"prod")",
        R"("action":"spinup","environment":"prod")"}) {
    const auto document = parse_answer(answer(orchestrator_, event(fields)));
    EXPECT_EQ(core::json::get_bool(document, "ok"), true) << fields;
  }
  EXPECT_THAT(stub_.calls, testing::ElementsAre("status prod", "start prod", "spinup prod"));
  // The whitelist of a protected environment is the policy's business, not refused here.
  const auto document =
      parse_answer(answer(whitelist_, event(R"("action":"list","environment":"prod")")));
  EXPECT_EQ(core::json::get_bool(document, "ok"), true);
}

TEST_F(LambdaHandlerTest, MalformedPayloadsAreRefusedAndNeverReachTheBackend) {
  struct Case {
    std::string payload;
    std::string error;  ///< a substring of the answer's error
  };
  const std::vector<Case> orchestrator_cases{
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"not json", "not valid JSON"},
      {"\xff\xfe{}", "not valid JSON"},
      {R"({"action":"status","environment":"dev"} trailing)", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"("status")", "must be a JSON object"},
      {"42", "must be a JSON object"},
      {"null", "must be a JSON object"},
      {"{}", "has no `action`"},
      {R"({"environment":"dev"})", "has no `action`"},
      {R"({"action":"","environment":"dev"})", "has no `action`"},
      {R"({"action":7,"environment":"dev"})", "`action` must be a string"},
      {R"({"action":["stop"],"environment":"dev"})", "`action` must be a string"},
      {R"({"action":"destroy","environment":"dev"})", "Unknown action `destroy`"},
      {R"({"action":"STOP","environment":"dev"})", "Unknown action `STOP`"},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":600,"environment":"dev"})",
       "`add` is an action of the IP whitelist Lambda"},
      {R"({"action":"list","environment":"dev"})", "`list` is an action of the IP whitelist"},
      {R"({"action":"stop"})", "has no `environment`"},
      {R"({"action":"stop","environment":""})", "has no `environment`"},
      {R"({"action":"stop","environment":null})", "has no `environment`"},
      {R"({"action":"stop","environment":1})", "`environment` must be a string"},
      {R"({"action":"stop","environment":{"name":"dev"}})", "`environment` must be a string"},
      {R"({"action":"stop","environment":"qa"})",
       "Unknown environment `qa`. Known: dev, staging, prod."},
      {R"({"action":"status","environment":"dev`; rm"})", "Unknown environment `dev'; rm`"},
      {R"({"action":"teardown","environment":"dev","level":"everything"})",
       "`level` must be `services` or `full`, not `everything`."},
      {R"({"action":"teardown","environment":"dev","level":2})", "`level` must be a string"},
      {R"({"action":"reboot","environment":"dev","name":5})", "`name` must be a string"},
      {R"({"action":"stop","environment":"dev","request_id":5})", "`request_id` must be a string"},
      {R"({"action":"stop","environment":"dev","requested_by":"alice"})",
       "`requested_by` must be an object"},
      {R"({"action":"stop","environment":"dev","requested_by":{"user_id":42}})",
       "`requested_by.user_id` must be a string"},
  };
  for (const auto& c : orchestrator_cases) {
    EXPECT_THAT(refusal(orchestrator_, c.payload), HasSubstr(c.error)) << c.payload;
  }

  const std::vector<Case> whitelist_cases{
      {R"({"action":"status","environment":"dev"})", "`status` is an action of the orchestrator"},
      {R"({"action":"stop","environment":"prod"})", "`stop` is an action of the orchestrator"},
      {R"({"action":"reboot","environment":"dev"})", "`reboot` is an action of the orchestrator"},
      {R"({"action":"purge","environment":"dev"})",
       "Unknown action `purge`. The IP whitelist Lambda accepts add, remove, list and refresh."},
      {R"({"action":"list"})", "has no `environment`"},
      {R"({"action":"refresh","environment":"qa"})", "Unknown environment `qa`"},
      {R"({"action":"add","ttl_seconds":600,"environment":"dev"})", "has no `cidr`"},
      {R"({"action":"add","cidr":null,"ttl_seconds":600,"environment":"dev"})", "has no `cidr`"},
      {R"({"action":"add","cidr":16909060,"ttl_seconds":600,"environment":"dev"})",
       "`cidr` must be a string"},
      {R"({"action":"add","cidr":"300.1.2.3","ttl_seconds":600,"environment":"dev"})",
       "`300.1.2.3` is not an IP address or CIDR"},
      {R"({"action":"add","cidr":"0.0.0.0/0","ttl_seconds":600,"environment":"dev"})",
       "whole internet"},
      {R"({"action":"add","cidr":"10.0.0.0/8","ttl_seconds":600,"environment":"dev"})", "/8"},
      {R"({"action":"add","cidr":"1.2.3.4/24","ttl_seconds":600,"environment":"dev"})",
       "1.2.3.4/24"},
      // Issue 15: the ranges /infra refuses, refused here too, whoever calls.
      {R"({"action":"add","cidr":"169.254.169.254","ttl_seconds":600,"environment":"dev"})",
       "link-local"},
      {R"({"action":"add","cidr":"::fffe:0:0/95","ttl_seconds":600,"environment":"dev"})",
       "contains the IPv4-mapped IPv6 range `::ffff:0:0/96`"},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":600,"environment":"dev",)"
       "\"description\":\"VPN \u202egnp.exe\"}",
       "description"},
      {R"({"action":"add","cidr":"1.2.3.4/32","environment":"dev"})", "has no `ttl_seconds`"},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":"600","environment":"dev"})",
       "`ttl_seconds` must be a whole number of seconds."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":600.5,"environment":"dev"})",
       "`ttl_seconds` must be a whole number of seconds."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":1e3,"environment":"dev"})",
       "`ttl_seconds` must be a whole number of seconds."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":true,"environment":"dev"})",
       "`ttl_seconds` must be a whole number of seconds."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":18446744073709551615,"environment":"dev"})",
       "`ttl_seconds` must be a whole number of seconds."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":59,"environment":"dev"})",
       "`ttl_seconds` must be between 60 (1 minute) and 31536000 (365 days), not 59."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":31536001,"environment":"dev"})",
       "not 31536001."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":-600,"environment":"dev"})",
       "not -600."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":0,"environment":"dev"})", "not 0."},
      {R"({"action":"add","cidr":"1.2.3.4/32","ttl_seconds":600,"description":7,"environment":"dev"})",
       "`description` must be a string"},
      {R"({"action":"remove","environment":"dev"})", "has no `cidr`"},
      {R"({"action":"remove","cidr":"not-an-ip","environment":"dev"})", "not an IP address"},
  };
  for (const auto& c : whitelist_cases) {
    EXPECT_THAT(refusal(whitelist_, c.payload), HasSubstr(c.error)) << c.payload;
  }
  EXPECT_TRUE(stub_.calls.empty()) << testing::PrintToString(stub_.calls);
}

TEST_F(LambdaHandlerTest, LimitsOfTheTtlAreAccepted) {
  for (const auto* ttl : {"60", "31536000"}) {
    const auto document = parse_answer(answer(
        whitelist_,
        event(fmt::format(R"("action":"add","cidr":"1.2.3.4","ttl_seconds":{},"environment":"dev")",
                          ttl))));
    EXPECT_EQ(core::json::get_bool(document, "ok"), true) << ttl;
  }
  ASSERT_TRUE(stub_.last_add);
  EXPECT_EQ(stub_.last_add->ttl, std::chrono::seconds(31536000));
  EXPECT_EQ(stub_.last_add->cidr.text, "1.2.3.4/32") << "canonical CIDR handed to the backend";
  EXPECT_EQ(stub_.last_add->description, std::nullopt) << "no description: unchanged on renewal";
}

TEST_F(LambdaHandlerTest, ArbitraryBytesNeverCrash) {
  // A cheap fuzz on top of tests/fuzz: prefixes and byte flips of every fixture request.
  for (const auto& name : fixtures::case_names()) {
    const auto text = fixtures::load(name).request;
    for (std::size_t cut = 0; cut < text.size(); cut += 7) {
      for (auto* handler : {&orchestrator_, &whitelist_}) {
        const auto prefix = handler->handle(text.substr(0, cut));
        EXPECT_TRUE(core::json::parse(prefix.body)) << prefix.body;
        std::string flipped = text;
        flipped[cut] = static_cast<char>(flipped[cut] ^ 0x5a);
        const auto answer = handler->handle(flipped);
        EXPECT_TRUE(core::json::parse(answer.body)) << answer.body;
      }
    }
  }
}

TEST_F(LambdaHandlerTest, ArgumentsReachTheBackend) {
  ASSERT_EQ(
      core::json::get_bool(
          parse_answer(answer(orchestrator_,
                              event(R"("action":"reboot","environment":"dev","name":" web-1 ")"))),
          "ok"),
      true);
  ASSERT_TRUE(stub_.last_lifecycle);
  EXPECT_EQ(stub_.last_lifecycle->action, infra::LifecycleAction::reboot);
  EXPECT_EQ(stub_.last_lifecycle->instance_name, "web-1");

  (void)answer(orchestrator_, event(R"("action":"reboot","environment":"dev")"));
  EXPECT_EQ(stub_.last_lifecycle->instance_name, std::nullopt) << "no name: every instance";

  (void)answer(orchestrator_, event(R"("action":"teardown","environment":"dev","level":"full")"));
  EXPECT_EQ(stub_.last_lifecycle->level, infra::TeardownLevel::full);
  (void)answer(orchestrator_, event(R"("action":"teardown","environment":"dev")"));
  EXPECT_EQ(stub_.last_lifecycle->level, infra::TeardownLevel::services) << "the seed's default";

  (void)answer(whitelist_,
               event(R"("action":"remove","cidr":"2001:DB8::1","environment":"Staging")"));
  ASSERT_TRUE(stub_.last_remove);
  EXPECT_EQ(stub_.last_remove->cidr.text, "2001:db8::1/128");
  EXPECT_EQ(stub_.last_remove->env, "staging");

  // Without request_id / requested_by (a direct invoke): the AWS request id stands in.
  (void)orchestrator_.handle(R"({"action":"status","environment":"dev"})", {"aws-req-9", {}});
  EXPECT_EQ(stub_.last_context->request_id, "aws-req-9");
  EXPECT_EQ(stub_.last_context->requested_by.user_id, "");
}

TEST_F(LambdaHandlerTest, BackendErrorsAndUnsupportedActionsAreOkFalse) {
  stub_.error = core::make_error(core::ErrorCode::denied, "ECS service api: AccessDenied.",
                                 "UpdateService AccessDeniedException arn:…");
  EXPECT_EQ(refusal(orchestrator_, event(R"("action":"stop","environment":"dev")")),
            "ECS service api: AccessDenied.");
  EXPECT_EQ(refusal(whitelist_, event(R"("action":"refresh","environment":"dev")")),
            "ECS service api: AccessDenied.");
  stub_.error.reset();

  stub_.unsupported_text = "spinup needs the infrastructure as code; run it from CI.";
  stub_.calls.clear();
  EXPECT_EQ(refusal(orchestrator_, event(R"("action":"spinup","environment":"dev")")),
            "infra-bot's orchestrator Lambda does not run `spinup`: it stops, starts and reboots "
            "what is tagged with the environment. A full teardown or a spinup needs an "
            "orchestrator of your own behind ORCHESTRATOR_LAMBDA_ARN.");
  EXPECT_TRUE(stub_.calls.empty()) << "unsupported is checked before the backend runs anything";
}

TEST_F(LambdaHandlerTest, AnExceptionIsAFunctionError) {
  stub_.throw_on_call = true;
  const auto answer =
      orchestrator_.handle(event(R"("action":"stop","environment":"dev")"), {"aws-req-1", {}});
  EXPECT_TRUE(answer.function_error);
  EXPECT_EQ(answer.error_type, "Runtime.HandlerError");
  EXPECT_EQ(answer.error_message, "backend exploded");
  EXPECT_EQ(canonical(answer.body),
            canonical(R"({"errorMessage":"backend exploded","errorType":"Runtime.HandlerError",
                          "stackTrace":[]})"));
}

TEST_F(LambdaHandlerTest, AnInvocationPastItsDeadlineDoesNothing) {
  const auto answer = orchestrator_.handle(event(R"("action":"stop","environment":"dev")"),
                                           {"aws-req-1", clock_.now() - std::chrono::seconds(1)});
  const auto document = parse_answer(answer.body);
  EXPECT_EQ(core::json::get_bool(document, "ok"), false);
  EXPECT_THAT(std::string(core::json::get_string(document, "error").value_or("")),
              HasSubstr("nothing was done"));
  EXPECT_TRUE(stub_.calls.empty());
  // Time left: served.
  const auto later = orchestrator_.handle(event(R"("action":"stop","environment":"dev")"),
                                          {"aws-req-2", clock_.now() + std::chrono::seconds(1)});
  EXPECT_EQ(core::json::get_bool(parse_answer(later.body), "ok"), true);
}

// ------------------------------------------------ the exact answers (design §4)

TEST_F(LambdaHandlerTest, AnswersHaveTheContractShapes) {
  stub_.status_result.ecs_services = {{"api", "RUNNING", 2, 2}, {"worker", "", std::nullopt, 0}};
  stub_.status_result.rds_instances = {{"docustack-dev-db", "available"}};
  stub_.status_result.rds_clusters = {{"docustack-dev", "available", "aurora-postgresql"}};
  stub_.status_result.ec2_instances = {
      {"i-0123456789abcdef0", "bastion", "running", "eu-west-1a", StubBackend::fixed_time()},
      {"i-0fedcba987654321f", "", "stopped", "", std::nullopt}};
  stub_.status_result.problems = {"RDS docustack-dev-db: AccessDenied"};
  EXPECT_EQ(canonical(answer(orchestrator_, event(R"("action":"status","environment":"dev")"))),
            canonical(R"({"ok":true,"environment":"dev",
              "ecs_services":[{"name":"api","status":"RUNNING","desired_count":2,"running_count":2},
                              {"name":"worker","status":"","running_count":0}],
              "rds_instances":[{"identifier":"docustack-dev-db","status":"available"}],
              "rds_clusters":[{"identifier":"docustack-dev","status":"available",
                               "engine":"aurora-postgresql"}],
              "ec2_instances":[{"id":"i-0123456789abcdef0","name":"bastion","state":"running",
                                "availability_zone":"eu-west-1a",
                                "launch_time":"2026-01-08T00:00:00Z"},
                               {"id":"i-0fedcba987654321f","name":"","state":"stopped",
                                "availability_zone":""}],
              "problems":["RDS docustack-dev-db: AccessDenied"]})"));

  stub_.action_result.message = "Operation completed successfully.";
  stub_.action_result.details = {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}};
  stub_.action_result.notes = {"RDS docustack-dev-db: already stopped"};
  EXPECT_EQ(
      answer(orchestrator_, event(R"("action":"stop","environment":"dev","source":"slack")")),
      R"({"ok":true,"action":"stop","environment":"dev","message":"Operation completed successfully.",)"
      R"("details":{"ecs_services_stopped":2,"rds_instances_stopped":1},)"
      R"("notes":["RDS docustack-dev-db: already stopped"]})")
      << "counters in the backend's order";

  stub_.action_result = {};
  EXPECT_EQ(canonical(answer(orchestrator_, event(R"("action":"reboot","environment":"dev")"))),
            canonical(R"({"ok":true,"action":"reboot","environment":"dev",
                          "message":"Operation completed successfully.","details":{},"notes":[]})"))
      << "an empty message is the seed's default text";

  EXPECT_EQ(canonical(answer(whitelist_, event(R"("action":"add","cidr":"203.0.113.7",
                                                    "ttl_seconds":604800,"description":"Home office",
                                                    "environment":"dev")"))),
            canonical(R"({"ok":true,"environment":"dev","replaced":false,
                          "entry":{"cidr":"203.0.113.7/32","description":"Home office",
                                   "added_by":"U1","expires_at":"2026-01-08T00:00:00Z"}})"));
  EXPECT_EQ(
      canonical(answer(whitelist_,
                       event(R"("action":"remove","cidr":"203.0.113.7/32","environment":"dev")"))),
      canonical(R"({"ok":true,"environment":"dev","cidr":"203.0.113.7/32"})"));
  EXPECT_EQ(canonical(answer(whitelist_, event(R"("action":"list","environment":"dev")"))),
            canonical(R"({"ok":true,"environment":"dev","entries":[]})"));
  EXPECT_EQ(canonical(answer(whitelist_, event(R"("action":"refresh","environment":"dev")"))),
            canonical(R"({"ok":true,"environment":"dev","security_groups":["sg-1"],
                          "rules_added":0,"rules_removed":0})"));
}

TEST_F(LambdaHandlerTest, InvalidUtf8FromTheBackendStillMakesJson) {
  stub_.status_result.ecs_services = {{"api\xff\xfe", "RUN\xc3", 1, 1}};
  const auto body = answer(orchestrator_, event(R"("action":"status","environment":"dev")"));
  const auto document = parse_answer(body);
  const auto* services = core::json::get_array(document, "ecs_services");
  ASSERT_NE(services, nullptr);
  EXPECT_EQ(core::json::get_string((*services)[0], "name"), "api\xEF\xBF\xBD\xEF\xBF\xBD");
}

// The extensions (clusters, EC2, problems, notes) round-trip through LambdaBackend.
TEST_F(LambdaHandlerTest, ExtensionsRoundTripThroughLambdaBackend) {
  stub_.status_result.environment = "dev";
  stub_.status_result.ecs_services = {{"api", "RUNNING", 2, 1}, {"worker", "DRAINING", {}, {}}};
  stub_.status_result.rds_clusters = {{"docustack-dev", "stopped", "aurora-postgresql"},
                                      {"other", "available", ""}};
  stub_.status_result.ec2_instances = {
      {"i-1", "bastion", "running", "eu-west-1a", StubBackend::fixed_time()},
      {"i-2", "", "pending", "", std::nullopt}};
  stub_.status_result.problems = {"EC2: UnauthorizedOperation",
                                  "ECS service x: ThrottlingException"};
  stub_.action_result.environment = "dev";
  stub_.action_result.message = "Rebooted 2 instances.";
  stub_.action_result.details = {{"ec2_instances_rebooted", 2}};
  stub_.action_result.notes = {"i-3: not running"};

  test::ScriptedHttpClient http;
  NoSleep sleeper;
  auto credentials = aws::make_static_credentials(
      aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}});
  aws::LambdaClient lambda(aws::LambdaSettings{}, http, *credentials, clock_, sleeper,
                           core::make_null_logger());
  infra::LambdaBackendSettings settings;
  settings.orchestrator = *aws::parse_function_ref(fixtures::kOrchestratorArn, "");
  settings.whitelist = *aws::parse_function_ref(fixtures::kWhitelistArn, "");
  infra::LambdaBackend client(settings, lambda, clock_, core::make_null_logger());
  std::string last_payload;
  http.set_handler([&](const core::http::Request& request) {
    last_payload = request.body;
    return core::Result<core::http::Response>(
        core::http::Response{200, {}, orchestrator_.handle(request.body).body});
  });

  auto status = client.status("dev", fixtures::fixed_context());
  ASSERT_TRUE(status) << status.error().user_message;
  EXPECT_EQ(*status, stub_.status_result);

  infra::LifecycleRequest reboot{infra::LifecycleAction::reboot, "dev", std::nullopt, "bastion"};
  auto rebooted = client.run(reboot, fixtures::fixed_context());
  ASSERT_TRUE(rebooted) << rebooted.error().user_message;
  auto expected = stub_.action_result;
  expected.action = infra::LifecycleAction::reboot;
  EXPECT_EQ(*rebooted, expected);
  EXPECT_EQ(stub_.last_lifecycle->instance_name, "bastion") << last_payload;

  // And a refusal reads back as the bot's error with the Lambda's own text.
  auto refused =
      client.run({infra::LifecycleAction::stop, "prod", std::nullopt}, fixtures::fixed_context());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().user_message, "`prod` is protected: stop is refused.");

  // A function error reads back as one.
  stub_.throw_on_call = true;
  http.set_handler([&](const core::http::Request& request) {
    const auto answer = orchestrator_.handle(request.body);
    core::http::Headers headers;
    if (answer.function_error) headers.emplace_back("X-Amz-Function-Error", "Unhandled");
    return core::Result<core::http::Response>(core::http::Response{200, headers, answer.body});
  });
  auto failed = client.status("dev", fixtures::fixed_context());
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().user_message, StartsWith("The orchestrator failed: backend exploded"));
}

}  // namespace
