// slack_front::App::on_envelope with `interactive` envelopes (and slash commands)
// built from the fuzz bytes, against the simulated backend and a recording
// Slack Web API. One App for the whole process, never drained: jobs the
// inputs start run on its workers while later inputs arrive, as in service.
//
// Input: byte 0 % 5 chooses how the envelope is built from the rest.
//   0  the rest is a raw Socket Mode frame (slack::parse_frame);
//   1  proto-fixtures/slack/view_submission_teardown.json with the view's
//      private_metadata, the typed confirmation and the view id replaced by
//      three strings taken from the rest;
//   2  the same as a view_closed;
//   3  the same as a block_actions click of the teardown button, its value,
//      the response_url and the view id from the strings;
//   4  proto-fixtures/slack/slash_command_status.json with the text replaced.
// Strings are read as libFuzzer's FuzzedDataProvider reads them: up to a
// backslash followed by any byte other than a backslash ("\\" is one "\").
//
// Invariants:
//  - on_envelope never throws, and acks every envelope exactly once, with
//    its own id, before it returns;
//  - an ack payload is what SocketModeClient::ack sends: a JSON object of
//    valid UTF-8, within Slack's limits, the whole ack under 20 KiB;
//  - every Web API body the App sends (messages, modals, response_url posts)
//    is valid JSON within Slack's limits — checked as the App's workers send
//    them, so such a failure may surface on a later input;
//  - every JSON log and audit line is one JSON object;
//  - a template frame whose strings are valid UTF-8 always parses.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/metadata_signer.hpp"
#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "fake_clock.hpp"
#include "fuzz_logger.hpp"
#include "fuzz_support.hpp"
#include "infra/command_runner.hpp"
#include "infra/policy.hpp"
#include "infra/simulated_backend.hpp"
#include "infra/views.hpp"
#include "recording_web_api.hpp"
#include "sequential_ids.hpp"
#include "slack/envelope.hpp"
#include "slack_front/app.hpp"

namespace {

// SocketModeClient refuses acks this large (Slack drops them).
constexpr std::size_t kMaxAckBytes = 20480;

/// Checks each body, then records the call in a test::RecordingWebApi.
class CheckingWebApi final : public slack::WebApi {
 public:
  explicit CheckingWebApi(test::RecordingWebApi& inner) : inner_(inner) {}

  core::Result<std::string> post_message(const std::string& channel, const std::string& json,
                                         const std::string& thread_ts = {}) override {
    check("chat.postMessage", json);
    return inner_.post_message(channel, json, thread_ts);
  }
  core::Status post_ephemeral(const std::string& channel, const std::string& user,
                              const std::string& json) override {
    check("chat.postEphemeral", json);
    return inner_.post_ephemeral(channel, user, json);
  }
  core::Status update_message(const std::string& channel, const std::string& ts,
                              const std::string& json) override {
    check("chat.update", json);
    return inner_.update_message(channel, ts, json);
  }
  core::Result<std::string> open_view(const std::string& trigger_id,
                                      const std::string& json) override {
    check("views.open", json);
    return inner_.open_view(trigger_id, json);
  }
  core::Status update_view(const std::string& view_id, const std::string& json) override {
    check("views.update", json);
    return inner_.update_view(view_id, json);
  }
  core::Result<slack::UserInfo> user_info(const std::string& user_id) override {
    return inner_.user_info(user_id);
  }
  core::Result<slack::AuthIdentity> auth_test() override { return inner_.auth_test(); }
  core::Status respond(const std::string& response_url, const std::string& json) override {
    check("response_url", json);
    return inner_.respond(response_url, json);
  }

 private:
  static void check(std::string_view method, const std::string& json) {
    const auto problem = fuzz::slack_json_problem(json);
    FUZZ_CHECK(problem.empty(), "{} body is unusable ({}): {:?}", method, problem, json);
  }
  test::RecordingWebApi& inner_;
};

std::string read_fixture(const char* name) {
  std::ifstream in(std::string(FIXTURES_DIR) + "/slack/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  FUZZ_CHECK(in.good() || in.eof(), "cannot read fixture {}", name);
  return out.str();
}

rapidjson::Document parse_fixture(const char* name) {
  rapidjson::Document document;
  const auto text = read_fixture(name);
  document.Parse(text.data(), text.size());
  FUZZ_CHECK(!document.HasParseError() && document.IsObject(), "fixture {} is not JSON", name);
  return document;
}

struct World {
  static constexpr const char* kSigningKey = "fuzz-signing-key";
  test::FakeClock clock;
  test::SequentialIds ids;
  core::metrics::Registry metrics;
  core::LoggerPtr logger = fuzz::make_checking_logger("infra-bot");
  core::LoggerPtr audit = fuzz::make_checking_logger("audit", core::Payload::json_object);
  infra::SimulatedBackend backend{{"dev", "staging", "prod"}, clock};
  infra::Policy policy{policy_settings(), clock};
  infra::CommandRunner runner{
      infra::RunnerSettings{infra::ParserSettings{}, {{"dev", "staging", "prod"}, {"prod"}, "dev"}},
      policy,
      backend,
      clock,
      ids,
      logger};
  test::RecordingWebApi recording;
  CheckingWebApi web{recording};
  // Never advanced: progress timers and the ack-wait fallback never fire (on_written
  // releases the replies).
  core::ManualScheduler scheduler;
  slack_front::App app{app_settings(), runner, web, scheduler, clock, metrics, logger, audit};
  rapidjson::Document view_submission = parse_fixture("view_submission_teardown.json");
  rapidjson::Document slash_command = parse_fixture("slash_command_status.json");

  World() {
    slack::UserInfo alice;
    alice.id = "U0456EFGH";
    alice.name = "alice";
    alice.real_name = "Alice Liddell";
    alice.team_id = "T0123ABCD";
    recording.set_user(alice);
  }

  static infra::PolicySettings policy_settings() {
    infra::PolicySettings settings;
    settings.cooldown = std::chrono::seconds(0);  // so repeated inputs still reach the backend
    return settings;
  }
  static slack_front::AppSettings app_settings() {
    slack_front::AppSettings settings;
    settings.audit_channel = "C0AUDIT01";
    // The fixtures' workspace; no users.info before each envelope; a known
    // key, so that template inputs get past the signature to the parser.
    settings.workspace.team_id = "T0123ABCD";
    settings.workspace.allow_guests = true;
    settings.signing_key = kSigningKey;
    return settings;
  }
};

World& world() {
  // Never destroyed: the App's workers may still be busy when the fuzzer exits.
  static World* instance = new World();
  return *instance;
}

// FuzzedDataProvider::ConsumeRandomLengthString's format.
std::string take_string(std::string_view& rest) {
  std::string out;
  while (!rest.empty()) {
    const char c = rest.front();
    rest.remove_prefix(1);
    if (c == '\\' && !rest.empty()) {
      const char next = rest.front();
      rest.remove_prefix(1);
      if (next != '\\') break;
    }
    out += c;
  }
  return out;
}

void set(rapidjson::Document& document, const char* pointer, const std::string& value) {
  rapidjson::Pointer(pointer).Set(
      document, rapidjson::Value(value.data(), static_cast<rapidjson::SizeType>(value.size()),
                                 document.GetAllocator()));
}

std::string write(const rapidjson::Document& document) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// The frame text for a template mode.
std::string from_template(int mode, std::string_view rest) {
  auto& w = world();
  // The metadata or button value, signed as the App would have (mode 0 sends
  // raw frames, signed or not, to fuzz the check itself).
  const std::string a = core::MetadataSigner(World::kSigningKey, w.clock, std::chrono::minutes(15))
                            .sign(take_string(rest));
  const std::string b = take_string(rest);
  const std::string c = take_string(rest);
  rapidjson::Document document;
  if (mode == 4) {
    document.CopyFrom(w.slash_command, document.GetAllocator());
    set(document, "/payload/text", a);
  } else {
    document.CopyFrom(w.view_submission, document.GetAllocator());
    if (mode == 3) {
      set(document, "/payload/type", "block_actions");
      rapidjson::Value actions(rapidjson::kArrayType);
      rapidjson::Value action(rapidjson::kObjectType);
      action.AddMember("action_id",
                       rapidjson::Value(infra::views::kOpenTeardownActionId.data(),
                                        static_cast<rapidjson::SizeType>(
                                            infra::views::kOpenTeardownActionId.size()),
                                        document.GetAllocator()),
                       document.GetAllocator());
      action.AddMember("value",
                       rapidjson::Value(a.data(), static_cast<rapidjson::SizeType>(a.size()),
                                        document.GetAllocator()),
                       document.GetAllocator());
      actions.PushBack(action, document.GetAllocator());
      rapidjson::Pointer("/payload/actions").Set(document, actions);
      set(document, "/payload/response_url", b);
      set(document, "/payload/view/id", c);
    } else {
      if (mode == 2) set(document, "/payload/type", "view_closed");
      set(document, "/payload/view/private_metadata", a);
      set(document, "/payload/view/state/values/teardown_confirm/confirm_text/value", b);
      set(document, "/payload/view/id", c);
    }
  }
  const std::string frame = write(document);
  const bool valid = fuzz::valid_utf8(a) && fuzz::valid_utf8(b) && fuzz::valid_utf8(c);
  if (valid) {
    const auto parsed = slack::parse_frame(frame);
    FUZZ_CHECK(parsed, "template frame does not parse: {} ({:?})",
               parsed ? "" : parsed.error().detail, frame);
  }
  return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& w = world();
  const int mode = data[0] % 5;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string frame_text = mode == 0 ? std::string(rest) : from_template(mode, rest);

  const auto frame = slack::parse_frame(frame_text);
  if (!frame || !std::holds_alternative<slack::Envelope>(*frame)) return 0;
  const auto& envelope = std::get<slack::Envelope>(*frame);

  int acks = 0;
  std::string acked_id;
  std::optional<std::string> acked_payload;
  const slack_front::AckFunction ack = [&](const std::string& envelope_id,
                                           std::optional<std::string> payload,
                                           const slack_front::AckWritten& on_written) {
    ++acks;
    acked_id = envelope_id;
    acked_payload = std::move(payload);
    if (on_written) on_written();
    return core::Status{};
  };
  try {
    w.app.on_envelope(envelope, ack);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "on_envelope threw: {} (frame {:?})", e.what(), frame_text);
  } catch (...) {
    FUZZ_CHECK(false, "on_envelope threw a non-std exception (frame {:?})", frame_text);
  }

  FUZZ_CHECK(acks == 1, "envelope {:?} acked {} times (frame {:?})", envelope.envelope_id, acks,
             frame_text);
  FUZZ_CHECK(acked_id == envelope.envelope_id, "acked {:?} for envelope {:?}", acked_id,
             envelope.envelope_id);
  if (acked_payload) {
    const auto problem = fuzz::slack_json_problem(*acked_payload);
    FUZZ_CHECK(problem.empty(), "ack payload is unusable ({}): {:?} (frame {:?})", problem,
               *acked_payload, frame_text);
    const std::string whole = "{\"envelope_id\":" + core::json::quote(envelope.envelope_id) +
                              ",\"payload\":" + *acked_payload + "}";
    FUZZ_CHECK(whole.size() < kMaxAckBytes, "ack of {} bytes would be refused (frame {:?})",
               whole.size(), frame_text);
  }
  return 0;
}
