// Inputs the fuzz targets (tests/fuzz/) found breaking an invariant, fed to the
// same entry points, so each bug stays fixed. Each test names the target, the
// bug (tests/fuzz/README.md, "Known bugs") and the invariant it checks, with
// the same checks the targets use (tests/fuzz/fuzz_support.hpp).
//
// B1–B3 are fixed in core::json::parse (bounded nesting; an escaped lone
// surrogate becomes U+FFFD) and core::parse_rfc3339 (years outside
// system_clock's range are clamped, not wrapped).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "../fuzz/fuzz_support.hpp"
#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metadata_signer.hpp"
#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "fake_clock.hpp"
#include "infra/command_runner.hpp"
#include "infra/lambda_backend.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "recording_web_api.hpp"
#include "scripted_http_client.hpp"
#include "sequential_ids.hpp"
#include "slack/blockkit.hpp"
#include "slack/envelope.hpp"
#include "slack_front/app.hpp"

namespace {

using namespace std::chrono_literals;
using slack::blockkit::to_json;

// ------------------------------------------------- LambdaBackend (fuzz_lambda_response)

class NoSleep final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds) override {}
};

class LambdaResponse : public testing::Test {
 protected:
  LambdaResponse()
      : credentials_(aws::make_static_credentials(
            aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}})),
        lambda_(aws::LambdaSettings{}, http_, *credentials_, clock_, sleeper_, logger_),
        backend_(settings(), lambda_, clock_, logger_) {}

  static infra::LambdaBackendSettings settings() {
    infra::LambdaBackendSettings out;
    out.orchestrator = *aws::parse_function_ref(
        "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator", "");
    out.whitelist = *aws::parse_function_ref(
        "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist", "");
    return out;
  }
  void answer(std::string body) { http_.push(core::http::Response{200, {}, std::move(body)}); }

  const infra::RequestContext context_{"req-1", {"U012ALICE", "alice", "T0123TEAM", "C0123CHAN"}};
  test::ScriptedHttpClient http_;
  test::FakeClock clock_;
  NoSleep sleeper_;
  std::unique_ptr<aws::CredentialsProvider> credentials_;
  core::LoggerPtr logger_ = core::make_null_logger();
  aws::LambdaClient lambda_;
  infra::LambdaBackend backend_;
};

// Bug B1: core::json::parse decodes an escaped lone surrogate ("\udce9", what
// Python's json.dumps writes for a surrogateescape'd byte) into bytes that are
// not UTF-8, and the reply relays them: Slack refuses the message as invalid
// JSON and the user never hears back.
TEST_F(LambdaResponse, LoneSurrogateInMessageStillGivesAValidSlackMessage) {
  answer(R"({"ok":true,"environment":"dev","message":"caf\udce9 is up",)"
         R"("details":{"ecs_services\udc00ed":2}})");
  const auto result = backend_.run({infra::LifecycleAction::spinup, "dev", std::nullopt}, context_);
  const auto message = result ? infra::views::render_action_result(*result)
                              : infra::views::render_failure(infra::Spinup{"dev"}, result.error());
  const auto json = to_json(message);
  EXPECT_EQ(fuzz::slack_json_problem(json), "") << json;
}

TEST_F(LambdaResponse, LoneSurrogateInOkFalseReasonStillGivesAValidSlackMessage) {
  answer(R"({"ok":false,"error":"stack \udc80 is locked"})");
  const auto result = backend_.run({infra::LifecycleAction::stop, "dev", std::nullopt}, context_);
  ASSERT_FALSE(result);
  EXPECT_TRUE(fuzz::valid_utf8(result.error().user_message)) << result.error().user_message;
  const auto json = to_json(infra::views::render_failure(infra::Stop{"dev"}, result.error()));
  EXPECT_EQ(fuzz::slack_json_problem(json), "") << json;
}

// Bug B2: core::parse_rfc3339 casts seconds to system_clock's nanoseconds
// without a range check: a year past 2262 (9999-12-31, the usual "never"
// sentinel) overflows a signed 64-bit integer (undefined behaviour; UBSan
// aborts, other builds wrap to a date in 1816 and show the entry "expired").
TEST_F(LambdaResponse, FarFutureExpiryDoesNotOverflow) {
  answer(R"({"ok":true,"environment":"dev","entries":[)"
         R"({"cidr":"203.0.113.7/32","expires_at":"9999-12-31T23:59:59Z"},)"
         R"({"cidr":"203.0.113.8/32","expires_at":"9514-01-08T00:00:00Z"},)"
         R"({"cidr":"203.0.113.9/32","expires_at":"1111-01-01T00:00:00Z"}]})");
  const auto listing = backend_.whitelist_list("dev", context_);
  ASSERT_TRUE(listing) << listing.error().detail;
  ASSERT_EQ(listing->entries.size(), 3u);
  for (const auto& entry : {listing->entries[0], listing->entries[1]}) {
    // Unknown ("never") or in the future; not wrapped into the past.
    EXPECT_TRUE(!entry.expires_at || *entry.expires_at > clock_.now()) << entry.cidr;
  }
  EXPECT_TRUE(!listing->entries[2].expires_at || *listing->entries[2].expires_at < clock_.now());
}

// Bug B4 (fixed): the views subtract `now` from an entry's expiry in
// nanoseconds; an expiry centuries ago overflowed that difference. Fixed by
// parse_rfc3339 reading times before 1970 as the epoch.
TEST_F(LambdaResponse, PastExpiryRendersAsExpired) {
  answer(R"({"ok":true,"environment":"dev","entries":[)"
         R"({"cidr":"203.0.113.7/32","expires_at":"1111-01-01T00:00:00Z"},)"
         R"({"cidr":"203.0.113.8/32","expires_at":"1700-06-01T00:00:00Z"}]})");
  const auto listing = backend_.whitelist_list("dev", context_);
  ASSERT_TRUE(listing) << listing.error().detail;
  const auto list =
      slack::blockkit::to_text(infra::views::render_whitelist_list(*listing, clock_.now()));
  EXPECT_EQ(list.find(" left"), std::string::npos) << list;
  EXPECT_NE(list.find("expired"), std::string::npos) << list;

  answer(R"({"ok":true,"entry":{"cidr":"203.0.113.7/32","expires_at":"1700-06-01T00:00:00Z"}})");
  infra::WhitelistAdd add;
  add.cidr = infra::Cidr{"203.0.113.7/32", 32, false};
  add.env = "dev";
  const auto added = backend_.whitelist_add(add, context_);
  ASSERT_TRUE(added) << added.error().detail;
  const auto text =
      slack::blockkit::to_text(infra::views::render_whitelist_added(*added, clock_.now()));
  EXPECT_NE(text.find("(expired)"), std::string::npos) << text;
}

TEST(Rfc3339, YearsOutsideTheClockRangeAreNotWrapped) {
  // Refused (nullopt) or clamped to the clock's range: never wrapped around it.
  const auto latest = core::parse_rfc3339("2262-01-01T00:00:00Z");
  const auto earliest = core::parse_rfc3339("1678-01-01T00:00:00Z");
  ASSERT_TRUE(latest && earliest);
  for (const char* text :
       {"9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z", "9514-01-08T00:00:00Z"}) {
    const auto parsed = core::parse_rfc3339(text);
    EXPECT_TRUE(!parsed || *parsed >= *latest)
        << text << " read as " << core::format_rfc3339(*parsed);
  }
  for (const char* text :
       {"1677-01-01T00:00:00Z", "1111-01-01T00:00:00Z", "0000-01-01T00:00:00Z"}) {
    const auto parsed = core::parse_rfc3339(text);
    EXPECT_TRUE(!parsed || *parsed <= *earliest)
        << text << " read as " << core::format_rfc3339(*parsed);
  }
}

// Bug B3: core::json::parse is recursive with no depth limit (only
// slack::parse_frame checks nesting first): a Lambda answer of a million '['
// overflows the stack of the worker running the job and takes the process down.
TEST_F(LambdaResponse, DeeplyNestedAnswerIsAnErrorNotACrash) {
  answer(std::string(1'000'000, '['));
  const auto status = backend_.status("dev", context_);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::internal);
}

// ------------------------------------------------ App (fuzz_view_submission)

// Bug B1 again: the teardown modal's private_metadata naming an environment
// "\udc00" is refused with "Unknown environment `…`" echoing the raw bytes,
// and SocketModeClient::ack refuses that ack payload (not JSON to
// core::json::parse), so the envelope is never acked.
TEST(AppEnvelope, SubmissionWithLoneSurrogateEnvironmentGetsAnAckTheClientSends) {
  test::FakeClock clock;
  test::SequentialIds ids;
  core::metrics::Registry metrics;
  auto logger = core::make_null_logger();
  infra::SimulatedBackend backend({"dev", "staging", "prod"}, clock);
  infra::PolicySettings policy_settings;
  policy_settings.cooldown = 0s;
  infra::Policy policy(policy_settings, clock);
  infra::CommandRunner runner(
      infra::RunnerSettings{infra::ParserSettings{}, {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
      policy, backend, clock, ids, logger);
  test::RecordingWebApi web;
  core::ManualScheduler scheduler;
  slack_front::AppSettings settings;
  settings.workspace.team_id = "T0123ABCD";
  settings.workspace.allow_guests = true;
  settings.signing_key = "regression-key";
  slack_front::App app(std::move(settings), runner, web, scheduler, clock, metrics, logger, logger);

  // As parse_frame delivers it: {"env":"\udc00","level":"full"} inside the view.
  const auto frame = slack::parse_frame(
      R"({"envelope_id":"e-1","type":"interactive","accepts_response_payload":true,)"
      R"("payload":{"type":"view_submission","team":{"id":"T0123ABCD"},)"
      R"("user":{"id":"U0456EFGH","username":"alice"},)"
      R"("view":{"id":"V1","callback_id":"infra_teardown_confirm",)"
      R"("private_metadata":"{\"env\":\"\\udc00\",\"level\":\"full\"}",)"
      R"("state":{"values":{"teardown_confirm":{"confirm_text":)"
      R"({"type":"plain_text_input","value":"x"}}}}}}})");
  ASSERT_TRUE(frame) << frame.error().detail;
  auto envelope = std::get<slack::Envelope>(*frame);
  // Signed as the App signs it (the key above), so the metadata gets read.
  auto& interaction = std::get<slack::Interaction>(envelope.payload);
  interaction.view_private_metadata =
      core::MetadataSigner("regression-key", clock, std::chrono::minutes(15))
          .sign(interaction.view_private_metadata);

  int acks = 0;
  std::optional<std::string> payload;
  app.on_envelope(envelope, [&](const std::string&, std::optional<std::string> p,
                                const slack_front::AckWritten& on_written) {
    ++acks;
    payload = std::move(p);
    if (on_written) on_written();
    return core::Status{};
  });
  ASSERT_EQ(acks, 1);
  ASSERT_TRUE(payload);
  EXPECT_TRUE(core::json::parse(*payload)) << "SocketModeClient::ack would refuse " << *payload;
  EXPECT_NE(payload->find("Unknown environment"), std::string::npos) << "the metadata was read";
  EXPECT_EQ(fuzz::slack_json_problem(*payload), "") << *payload;
}

// ------------------------------------------------ parse_frame (fuzz_envelope)

// Bug B1 at the source: parse_frame hands out strings that are not UTF-8; the
// ack the client builds from such an id is not valid JSON text (and a
// WebSocket text frame must be UTF-8, RFC 6455 §8.1).
TEST(EnvelopeFrame, EscapedLoneSurrogateNeverYieldsIllFormedStrings) {
  const auto frame =
      slack::parse_frame(R"({"envelope_id":"57d6a792-4d35-\ud41d\ude001caf","type":"interactive",)"
                         R"("payload":{"type":"shortcut","trigger_id":"12\udc003.123"}})");
  if (!frame) return;  // refusing the frame is fine
  const auto& envelope = std::get<slack::Envelope>(*frame);
  EXPECT_TRUE(fuzz::valid_utf8(envelope.envelope_id));
  const auto& interaction = std::get<slack::Interaction>(envelope.payload);
  EXPECT_TRUE(fuzz::valid_utf8(interaction.trigger_id));
  const std::string ack = "{\"envelope_id\":" + core::json::quote(envelope.envelope_id) + "}";
  EXPECT_TRUE(core::json::parse(ack)) << ack;
}

}  // namespace
