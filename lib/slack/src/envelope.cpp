#include "slack/envelope.hpp"

#include <cstdint>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"

namespace slack {
namespace {

using core::json::get_array;
using core::json::get_int;
using core::json::get_object;
using core::json::get_string;

// RapidJSON parses and serialises recursively, so a frame of a million '['
// would overflow the stack before any type check. Real Slack payloads nest
// about a dozen levels (rich_text blocks in an event); anything past this is
// refused before parsing.
constexpr int kMaxNestingDepth = 128;

core::Error frame_error(std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input, "malformed Socket Mode frame",
                          "socket mode frame: " + std::move(detail));
}

// Depth of `[`/`{` nesting outside string literals, stopping early once it
// passes `limit`. Malformed input is fine here: the parser rejects it later.
bool nesting_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::string str(const rapidjson::Value* object, std::string_view key) {
  if (object == nullptr) {
    return {};
  }
  auto value = get_string(*object, key);
  return value ? std::string(*value) : std::string();
}

std::string str(const rapidjson::Value& object, std::string_view key) { return str(&object, key); }

// Slack's counters are small; anything outside int (or not an integer) reads as 0.
int small_int(const rapidjson::Value* object, std::string_view key) {
  if (object == nullptr) {
    return 0;
  }
  auto value = get_int(*object, key);
  if (!value || *value < std::numeric_limits<int>::min() ||
      *value > std::numeric_limits<int>::max()) {
    return 0;
  }
  return static_cast<int>(*value);
}

Hello parse_hello(const rapidjson::Value& frame) {
  Hello hello;
  hello.num_connections = small_int(&frame, "num_connections");
  hello.approximate_connection_time =
      small_int(get_object(frame, "debug_info"), "approximate_connection_time");
  hello.app_id = str(get_object(frame, "connection_info"), "app_id");
  return hello;
}

// Slash command payloads are the HTTP-mode form fields as a JSON object
// (python-slack-sdk mock_socket_mode_server.py).
SlashCommand parse_slash_command(const rapidjson::Value& payload) {
  SlashCommand command;
  command.command = str(payload, "command");
  command.text = str(payload, "text");
  command.user_id = str(payload, "user_id");
  command.user_name = str(payload, "user_name");
  command.team_id = str(payload, "team_id");
  command.channel_id = str(payload, "channel_id");
  command.channel_name = str(payload, "channel_name");
  command.response_url = str(payload, "response_url");
  command.trigger_id = str(payload, "trigger_id");
  return command;
}

// view.state.values is {block_id: {action_id: {"type": …, "value": …}}}. An
// optional input left empty comes as "value": null; it is kept with an empty
// value so the caller sees the field was submitted.
void collect_input_values(const rapidjson::Value& view, std::vector<Interaction::InputValue>& out) {
  const auto* state = get_object(view, "state");
  const auto* values = state != nullptr ? get_object(*state, "values") : nullptr;
  if (values == nullptr) {
    return;
  }
  for (const auto& block : values->GetObject()) {
    if (!block.value.IsObject()) {
      continue;
    }
    for (const auto& action : block.value.GetObject()) {
      if (!action.value.IsObject() || get_string(action.value, "type") != "plain_text_input") {
        continue;
      }
      out.push_back({std::string(block.name.GetString(), block.name.GetStringLength()),
                     std::string(action.name.GetString(), action.name.GetStringLength()),
                     str(action.value, "value")});
    }
  }
}

Interaction parse_interaction(const rapidjson::Value& payload) {
  Interaction interaction;
  interaction.type = str(payload, "type");

  if (const auto* user = get_object(payload, "user")) {
    interaction.user_id = str(*user, "id");
    interaction.user_name = str(*user, "username");
    if (interaction.user_name.empty()) {
      interaction.user_name = str(*user, "name");
    }
  }
  interaction.team_id = str(get_object(payload, "team"), "id");
  if (interaction.team_id.empty()) {
    interaction.team_id = str(get_object(payload, "user"), "team_id");
  }
  interaction.channel_id = str(get_object(payload, "channel"), "id");
  if (interaction.channel_id.empty()) {
    interaction.channel_id = str(get_object(payload, "container"), "channel_id");
  }
  interaction.trigger_id = str(payload, "trigger_id");

  // A modal opened with response_url_enabled gets response_urls[]; messages
  // with buttons carry a single response_url.
  if (const auto* urls = get_array(payload, "response_urls"); urls != nullptr && !urls->Empty()) {
    interaction.response_url = str((*urls)[0], "response_url");
  }
  if (interaction.response_url.empty()) {
    interaction.response_url = str(payload, "response_url");
  }

  if (const auto* view = get_object(payload, "view")) {
    interaction.view_id = str(*view, "id");
    interaction.view_callback_id = str(*view, "callback_id");
    interaction.view_private_metadata = str(*view, "private_metadata");
    collect_input_values(*view, interaction.values);
  }

  if (const auto* actions = get_array(payload, "actions")) {
    for (const auto& action : actions->GetArray()) {
      if (!action.IsObject()) {
        continue;
      }
      std::string value = str(action, "value");
      if (value.empty()) {  // select menus carry the value in selected_option
        value = str(get_object(action, "selected_option"), "value");
      }
      interaction.actions.push_back({str(action, "action_id"), std::move(value)});
    }
  }
  return interaction;
}

// An events_api payload is the Events API event_callback body.
Event parse_event(const rapidjson::Value& payload) {
  Event event;
  event.event_id = str(payload, "event_id");
  event.team_id = str(payload, "team_id");
  if (const auto* inner = get_object(payload, "event")) {
    event.type = str(*inner, "type");
    event.user = str(*inner, "user");
    event.text = str(*inner, "text");
    event.channel = str(*inner, "channel");
    event.ts = str(*inner, "ts");
    event.thread_ts = str(*inner, "thread_ts");
  }
  return event;
}

core::Result<Frame> parse_envelope(const rapidjson::Value& frame, std::string type) {
  Envelope envelope;
  envelope.envelope_id = str(frame, "envelope_id");
  if (envelope.envelope_id.empty()) {
    return frame_error(fmt::format("'{}' frame without an envelope_id",
                                   type.empty() ? std::string("untyped") : type));
  }
  envelope.type = std::move(type);
  envelope.accepts_response_payload =
      core::json::get_bool(frame, "accepts_response_payload").value_or(false);
  envelope.retry_attempt = small_int(&frame, "retry_attempt");
  envelope.retry_reason = str(frame, "retry_reason");

  // A payload we cannot read still leaves an envelope that must be acked, or
  // Slack re-delivers it; the payload stays monostate and the caller skips it.
  const auto* payload = get_object(frame, "payload");
  if (payload == nullptr) {
    return Frame{std::move(envelope)};
  }
  envelope.payload_json = core::json::to_string(*payload);
  if (envelope.type == "slash_commands") {
    envelope.payload = parse_slash_command(*payload);
  } else if (envelope.type == "interactive") {
    envelope.payload = parse_interaction(*payload);
  } else if (envelope.type == "events_api") {
    envelope.payload = parse_event(*payload);
  }
  return Frame{std::move(envelope)};
}

}  // namespace

std::string Envelope::natural_key() const {
  return std::visit(core::Overloaded{
                        [](const std::monostate&) { return std::string(); },
                        [](const SlashCommand& command) { return command.trigger_id; },
                        [](const Interaction& interaction) { return interaction.trigger_id; },
                        [](const Event& event) { return event.event_id; },
                    },
                    payload);
}

core::Result<Frame> parse_frame(std::string_view text) {
  if (text.empty()) {
    return frame_error("empty text frame");
  }
  // JSON text never holds a raw NUL, and RapidJSON would stop reading at one
  // and accept whatever came before it.
  if (text.find('\0') != std::string_view::npos) {
    return frame_error("contains a NUL byte");
  }
  if (!nesting_within(text, kMaxNestingDepth)) {
    return frame_error(fmt::format("nested deeper than {} levels", kMaxNestingDepth));
  }
  auto document = core::json::parse(text);
  if (!document) {
    return frame_error(document.error().detail);
  }
  if (!document->IsObject()) {
    return frame_error("not a JSON object");
  }
  const rapidjson::Value& frame = *document;
  auto type = get_string(frame, "type");
  if (type == "hello") {
    return Frame{parse_hello(frame)};
  }
  if (type == "disconnect") {
    return Frame{Disconnect{str(frame, "reason")}};
  }
  // Anything else is an envelope if it has an id to ack; an unknown type
  // without one is an error the caller logs and skips.
  return parse_envelope(frame, type ? std::string(*type) : std::string());
}

}  // namespace slack
