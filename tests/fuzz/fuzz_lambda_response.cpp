// infra::LambdaBackend's reading of a Lambda's answer: the fuzz bytes are the
// HTTP body the orchestrator or whitelist Lambda sends back, through the real
// aws::LambdaClient (signing, status and header handling) on a scripted HTTP
// client, with fixed credentials and a sleeper that does not sleep.
//
// Input: byte 0 chooses the call and the kind of answer, the rest is the body.
//   low nibble % 9   status, stop, start, teardown (full), spinup,
//                    whitelist add, remove, list, refresh
//   high nibble      0-7 HTTP 200; 8 200 + X-Amz-Function-Error: Unhandled;
//                    9 the same, Handled; 10 HTTP 202 with a request id;
//                    11-15 HTTP 400, 403, 429, 500, 502 (a service error)
//
// Invariants:
//  - nothing throws;
//  - a plain 2xx answer is a success exactly when the body is a JSON object
//    whose "ok" is not false (an unpaired surrogate escape may be read as
//    U+FFFD, a deeply nested body may be refused); a non-object is an
//    `internal` error, ok=false an `unavailable` one; a function error is
//    always an `unavailable` error naming the Lambda; a service error is
//    always an error;
//  - a mutating call is sent once, whatever the answer, unless AWS throttled
//    it (429: nothing ran); a read-only call at most max_attempts times;
//  - the request payload is a JSON object with the call's action;
//  - every error has a user message of valid UTF-8;
//  - the Slack message the command runner would post for the outcome (the
//    result's view, or the failure) is valid JSON within Slack's limits.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "aws/credentials.hpp"
#include "aws/function_ref.hpp"
#include "aws/lambda_client.hpp"
#include "core/json.hpp"
#include "fake_clock.hpp"
#include "fuzz_logger.hpp"
#include "fuzz_support.hpp"
#include "infra/lambda_backend.hpp"
#include "infra/views.hpp"
#include "scripted_http_client.hpp"
#include "slack/blockkit.hpp"

namespace {

using slack::blockkit::to_json;

class NoSleep final : public aws::Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds) override {}
};

enum class Call { status, stop, start, teardown, spinup, add, remove, list, refresh };
constexpr int kCalls = 9;

constexpr const char* kOrchestratorArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
constexpr const char* kWhitelistArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist";

struct Fixed {
  test::FakeClock clock;
  NoSleep sleeper;
  std::unique_ptr<aws::CredentialsProvider> credentials = aws::make_static_credentials(
      aws::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}});
  core::LoggerPtr logger = fuzz::make_checking_logger("infra-bot");
  infra::LambdaBackendSettings settings;
  infra::RequestContext context{"0b7c6f2e-3a1d-4c55-9e0f-5d2a8b1c9e47",
                                infra::Requester{"U012ALICE", "alice", "T0123TEAM", "C0123CHAN"}};

  Fixed() {
    settings.orchestrator = *aws::parse_function_ref(kOrchestratorArn, "");
    settings.whitelist = *aws::parse_function_ref(kWhitelistArn, "");
  }
};

Fixed& fixed() {
  static Fixed* instance = new Fixed();  // never destroyed: no exit-time order to get wrong
  return *instance;
}

infra::WhitelistAdd add_command() {
  infra::WhitelistAdd add;
  add.cidr = infra::Cidr{"203.0.113.7/32", 32, false};
  add.ttl = std::chrono::days(7);
  add.description = "Home office";
  add.env = "dev";
  return add;
}

infra::Command command_of(Call call) {
  switch (call) {
    case Call::status:
      return infra::Status{"dev"};
    case Call::stop:
      return infra::Stop{"dev"};
    case Call::start:
      return infra::Start{"dev"};
    case Call::teardown:
      return infra::Teardown{"dev", infra::TeardownLevel::full};
    case Call::spinup:
      return infra::Spinup{"dev"};
    case Call::add:
      return add_command();
    case Call::remove:
      return infra::WhitelistRemove{infra::Cidr{"203.0.113.7/32", 32, false}, "dev"};
    case Call::list:
      return infra::WhitelistList{"dev"};
    case Call::refresh:
      return infra::WhitelistRefresh{"dev"};
  }
  return infra::Help{};
}

std::string_view action_of(Call call) {
  constexpr std::string_view kActions[] = {"status", "stop",   "start", "teardown", "spinup",
                                           "add",    "remove", "list",  "refresh"};
  return kActions[static_cast<int>(call)];
}

bool read_only(Call call) { return call == Call::status || call == Call::list; }

infra::LifecycleRequest lifecycle(Call call) {
  switch (call) {
    case Call::stop:
      return {infra::LifecycleAction::stop, "dev", std::nullopt};
    case Call::start:
      return {infra::LifecycleAction::start, "dev", std::nullopt};
    case Call::teardown:
      return {infra::LifecycleAction::teardown, "dev", infra::TeardownLevel::full};
    default:
      return {infra::LifecycleAction::spinup, "dev", std::nullopt};
  }
}

// The outcome of one call: ok, or the error; and the message the runner
// would post for it (views, as in CommandRunner::run).
struct Outcome {
  bool ok = false;
  core::Error error;
  slack::blockkit::Message message;
};

template <class T, class Render>
Outcome outcome_of(const infra::Command& command, const core::Result<T>& result, Render render) {
  if (!result)
    return {false, result.error(), infra::views::render_failure(command, result.error())};
  return {true, {}, render(*result)};
}

Outcome invoke(infra::LambdaBackend& backend, Call call) {
  auto& f = fixed();
  const auto command = command_of(call);
  const auto now = f.clock.now();
  switch (call) {
    case Call::status:
      return outcome_of(command, backend.status("dev", f.context),
                        [](const auto& s) { return infra::views::render_status(s); });
    case Call::add:
      return outcome_of(
          command, backend.whitelist_add(add_command(), f.context),
          [&](const auto& a) { return infra::views::render_whitelist_added(a, now); });
    case Call::remove:
      return outcome_of(
          command, backend.whitelist_remove(std::get<infra::WhitelistRemove>(command), f.context),
          [](const auto& r) { return infra::views::render_whitelist_removed(r); });
    case Call::list:
      return outcome_of(command, backend.whitelist_list("dev", f.context),
                        [&](const auto& l) { return infra::views::render_whitelist_list(l, now); });
    case Call::refresh:
      return outcome_of(command, backend.whitelist_refresh("dev", f.context),
                        [](const auto& r) { return infra::views::render_whitelist_refreshed(r); });
    default:
      return outcome_of(command, backend.run(lifecycle(call), f.context), [](const auto& r) {
        // A mutating success is posted in the channel, naming who ran it.
        return infra::views::for_channel(infra::views::render_action_result(r), "alice");
      });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& f = fixed();
  const auto call = static_cast<Call>((data[0] & 0x0F) % kCalls);
  const int kind = data[0] >> 4;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  long status = 200;
  core::http::Headers headers = {{"x-amzn-RequestId", "7f8e9d0c-1b2a-4c3d-9e8f-0a1b2c3d4e5f"}};
  if (kind == 8) headers.emplace_back("X-Amz-Function-Error", "Unhandled");
  if (kind == 9) headers.emplace_back("X-Amz-Function-Error", "Handled");
  if (kind == 10) status = 202;
  constexpr long kErrorStatuses[] = {400, 403, 429, 500, 502};
  if (kind >= 11) status = kErrorStatuses[kind - 11];
  if (status == 429) headers.emplace_back("Retry-After", "1");
  const bool function_error = kind == 8 || kind == 9;
  const bool service_error = status >= 300;

  test::ScriptedHttpClient http;
  http.set_handler([&](const core::http::Request&) -> test::ScriptedHttpClient::Answer {
    return core::http::Response{status, headers, body};
  });
  aws::LambdaClient lambda(aws::LambdaSettings{}, http, *f.credentials, f.clock, f.sleeper,
                           f.logger);
  infra::LambdaBackend backend(f.settings, lambda, f.clock, f.logger);

  Outcome outcome;
  try {
    outcome = invoke(backend, call);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "{} threw: {}", action_of(call), e.what());
  } catch (...) {
    FUZZ_CHECK(false, "{} threw a non-std exception", action_of(call));
  }

  // What the answer should have meant, read independently.
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  // RapidJSON alone stops reading at a NUL and drops each of a byte order mark's
  // bytes at the start on its own; core::json::parse refuses both (a whole BOM
  // it skips, as RapidJSON does).
  const auto first = body.empty() ? 0 : static_cast<unsigned char>(body[0]);
  const bool not_json =
      body.find('\0') != std::string::npos || ((first == 0xEF || first == 0xBB || first == 0xBF) &&
                                               !std::string_view(body).starts_with("\xEF\xBB\xBF"));
  const bool object = !not_json && !document.HasParseError() && document.IsObject();
  // Two readings are core::json::parse's to choose: an unpaired surrogate
  // escape (RapidJSON refuses it; core reads it as U+FFFD), and nesting deep
  // enough that a bounded parser refuses it (an `internal` error like any
  // unreadable answer).
  const bool surrogate =
      document.HasParseError() &&
      document.GetParseError() == rapidjson::kParseErrorStringUnicodeSurrogateInvalid;
  const bool deep = fuzz::nesting_depth(body) > 32;
  if (deep && !outcome.ok && !function_error && !service_error) {
    FUZZ_CHECK(outcome.error.code == core::ErrorCode::internal,
               "{}: deep body refused with code {}", action_of(call),
               core::to_string(outcome.error.code));
  }
  bool ok_false = false;
  if (object) {
    const rapidjson::Value& root = document;
    const auto it = root.FindMember("ok");
    ok_false = it != root.MemberEnd() && it->value.IsBool() && !it->value.GetBool();
  }

  if (function_error) {
    FUZZ_CHECK(!outcome.ok, "{}: a function error was taken as success", action_of(call));
    FUZZ_CHECK(outcome.error.code == core::ErrorCode::unavailable, "{}: function error code {}",
               action_of(call), core::to_string(outcome.error.code));
    const std::string_view prefix = call == Call::status || call == Call::stop ||
                                            call == Call::start || call == Call::teardown ||
                                            call == Call::spinup
                                        ? "The orchestrator failed: "
                                        : "The IP whitelist Lambda failed: ";
    FUZZ_CHECK(outcome.error.user_message.starts_with(prefix), "{}: function error message {:?}",
               action_of(call), outcome.error.user_message);
  } else if (service_error) {
    FUZZ_CHECK(!outcome.ok, "{}: HTTP {} was taken as success", action_of(call), status);
  } else if (!surrogate && !(deep && !outcome.ok)) {
    FUZZ_CHECK(outcome.ok == (object && !ok_false), "{}: body {:?} gave {} ({:?})", action_of(call),
               body, outcome.ok ? "success" : "an error", outcome.error.user_message);
    if (!object) {
      FUZZ_CHECK(outcome.error.code == core::ErrorCode::internal, "{}: unreadable body code {}",
                 action_of(call), core::to_string(outcome.error.code));
    } else if (ok_false) {
      FUZZ_CHECK(outcome.error.code == core::ErrorCode::unavailable, "{}: ok=false code {}",
                 action_of(call), core::to_string(outcome.error.code));
    }
  }

  const auto requests = http.requests();
  if (read_only(call)) {
    FUZZ_CHECK(!requests.empty() && requests.size() <= 3, "{}: {} requests", action_of(call),
               requests.size());
  } else {
    FUZZ_CHECK(requests.size() == 1 || status == 429,
               "{}: mutating call sent {} times after HTTP {}", action_of(call), requests.size(),
               status);
  }
  for (const auto& request : requests) {
    const auto sent = core::json::parse(request.body);
    FUZZ_CHECK(
        sent && sent->IsObject() && core::json::get_string(*sent, "action") == action_of(call),
        "{}: request payload {:?}", action_of(call), request.body);
  }

  if (!outcome.ok) {
    FUZZ_CHECK(!outcome.error.user_message.empty(), "{}: error without a user message",
               action_of(call));
    FUZZ_CHECK(fuzz::valid_utf8(outcome.error.user_message),
               "{}: user message {:?} is not valid UTF-8 (body {:?})", action_of(call),
               outcome.error.user_message, body);
  }
  const std::string json = to_json(outcome.message);
  const std::string problem = fuzz::slack_json_problem(json);
  FUZZ_CHECK(problem.empty(), "{}: the Slack message for body {:?} is unusable: {}\n{}",
             action_of(call), body, problem, json);
  return 0;
}
