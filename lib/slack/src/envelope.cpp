#include "slack/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/allocators.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"

namespace slack {
namespace {

using core::json::get_array;
using core::json::get_int;
using core::json::get_object;
using core::json::get_string;

// RapidJSON parses recursively, so a frame of a million '[' would overflow the
// stack before any type check. Real Slack payloads nest about a dozen levels
// (rich_text blocks in an event); anything past core::json's own limit is
// refused before parsing.
constexpr int kMaxNestingDepth = 64;

core::Error frame_error(std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input, "malformed Socket Mode frame",
                          "socket mode frame: " + std::move(detail));
}

// ---- the parse arena ------------------------------------------------------------------------
//
// One per thread, reset for every frame, so parsing a frame allocates nothing once the
// buffers have grown to the size of the frames seen: the frame is copied into `text` and
// parsed in situ (strings are unescaped in place and point into it), the document's values
// come from `values` and the parser's stack from `stack`, both pools over fixed buffers
// that a slash command or a view submission fits in (micro_bench: no allocation but the
// Envelope's own strings). A larger frame spills into heap chunks that the next reset
// frees. Nothing of the arena outlives parse_frame: the Envelope copies what it keeps.
class ParseArena {
 public:
  using Pool = rapidjson::MemoryPoolAllocator<>;
  using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;

  // A text buffer grown past this by a large frame is given back at the next smaller one.
  static constexpr std::size_t kKeepTextCapacity = 256 * 1024;

  ParseArena()
      : values_(values_buffer_, sizeof values_buffer_),
        stack_(stack_buffer_, sizeof stack_buffer_) {}
  ParseArena(const ParseArena&) = delete;
  ParseArena& operator=(const ParseArena&) = delete;

  // The frame's text, NUL-terminated, to be checked and parsed in place.
  std::string& reset(std::string_view frame) {
    values_.Clear();
    stack_.Clear();
    if (text_.capacity() > kKeepTextCapacity && frame.size() < kKeepTextCapacity) {
      std::string().swap(text_);
    }
    text_.assign(frame);
    return text_;
  }

  Pool& values() { return values_; }
  Pool& stack() { return stack_; }

 private:
  alignas(std::max_align_t) char values_buffer_[16 * 1024];
  alignas(std::max_align_t) char stack_buffer_[8 * 1024];
  Pool values_;
  Pool stack_;
  std::string text_;
};

ParseArena& arena() {
  thread_local ParseArena instance;
  return instance;
}

// core::json's pass before RapidJSON, applied to the frame's copy in place:
// nesting bounded, lone surrogate escapes rewritten to U+FFFD. Sets `repaired`
// when it rewrote anything.
std::optional<core::Error> precheck(std::string& text, bool& repaired) {
  const auto checked = core::json::precheck(text, kMaxNestingDepth);
  if (checked.too_deep) {
    return frame_error(fmt::format("nested deeper than {} levels", kMaxNestingDepth));
  }
  for (const auto at : checked.lone_surrogates) text.replace(at, 4, "FFFD");
  repaired = !checked.lone_surrogates.empty();
  return std::nullopt;
}

// Builds the document (a SAX handler forwarding to it) and notes where the top-level
// "payload" object begins and ends in the text, so payload_json is a copy of those bytes
// rather than a re-serialisation. Offsets in the in-situ buffer are the frame's offsets:
// unescaping writes only behind the read position.
class PayloadSpanHandler {
 public:
  using Document = ParseArena::Document;
  using Stream = rapidjson::InsituStringStream;

  PayloadSpanHandler(Document& document, Stream& stream) : document_(document), stream_(stream) {}

  bool Null() { return value(), document_.Null(); }
  bool Bool(bool b) { return value(), document_.Bool(b); }
  bool Int(int i) { return value(), document_.Int(i); }
  bool Uint(unsigned i) { return value(), document_.Uint(i); }
  bool Int64(std::int64_t i) { return value(), document_.Int64(i); }
  bool Uint64(std::uint64_t i) { return value(), document_.Uint64(i); }
  bool Double(double d) { return value(), document_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return value(), document_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return value(), document_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    // Only the first top-level "payload" counts: the one FindMember finds.
    next_is_payload_ =
        depth_ == 1 && !seen_payload_ && std::string_view(s, n) == std::string_view("payload");
    if (next_is_payload_) seen_payload_ = true;
    return document_.Key(s, n, copy);
  }
  bool StartObject() {
    ++depth_;
    if (next_is_payload_ && depth_ == 2) {
      begin_ = stream_.Tell() - 1;  // the '{' was just taken
      in_payload_ = true;
    }
    next_is_payload_ = false;
    return document_.StartObject();
  }
  bool EndObject(rapidjson::SizeType members) {
    if (in_payload_ && depth_ == 2) {
      end_ = stream_.Tell();  // just past the '}'
      in_payload_ = false;
    }
    --depth_;
    return document_.EndObject(members);
  }
  bool StartArray() {
    ++depth_;
    next_is_payload_ = false;
    return document_.StartArray();
  }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return document_.EndArray(elements);
  }

  // The payload object's bytes in the frame, or npos.
  std::size_t begin() const { return end_ > begin_ ? begin_ : std::string_view::npos; }
  std::size_t size() const { return end_ - begin_; }

 private:
  void value() { next_is_payload_ = false; }

  Document& document_;
  Stream& stream_;
  int depth_ = 0;
  bool next_is_payload_ = false;
  bool seen_payload_ = false;
  bool in_payload_ = false;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

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
    event.bot_id = str(*inner, "bot_id");
    event.subtype = str(*inner, "subtype");
  }
  return event;
}

// `payload_json`: the payload object's text when the caller has it, else it is serialised.
core::Result<Frame> parse_envelope(const rapidjson::Value& frame, std::string_view type,
                                   std::string_view payload_json) {
  Envelope envelope;
  envelope.envelope_id = str(frame, "envelope_id");
  if (envelope.envelope_id.empty()) {
    return frame_error(fmt::format("'{}' frame without an envelope_id",
                                   type.empty() ? std::string_view("untyped") : type));
  }
  envelope.type = type;
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
  envelope.payload_json =
      payload_json.empty() ? core::json::to_string(*payload) : std::string(payload_json);
  if (type == "slash_commands") {
    envelope.payload = parse_slash_command(*payload);
  } else if (type == "interactive") {
    envelope.payload = parse_interaction(*payload);
  } else if (type == "events_api") {
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
  ParseArena& parse_arena = arena();
  std::string& buffer = parse_arena.reset(text);
  bool repaired = false;
  if (auto error = precheck(buffer, repaired)) {
    return std::move(*error);
  }

  ParseArena::Document document(&parse_arena.values(), 1024, &parse_arena.stack());
  rapidjson::InsituStringStream stream(buffer.data());
  PayloadSpanHandler handler(document, stream);
  rapidjson::ParseResult result;
  auto generate = [&](ParseArena::Document& /*the handler wraps it*/) {
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, ParseArena::Pool> reader(
        &parse_arena.stack());
    result = reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, handler);
    return !result.IsError();
  };
  document.Populate(generate);
  if (result.IsError()) {
    return frame_error(fmt::format("JSON parse error at offset {}: {}", result.Offset(),
                                   rapidjson::GetParseError_En(result.Code())));
  }
  if (!document.IsObject()) {
    return frame_error("not a JSON object");
  }
  const rapidjson::Value& frame = document;
  auto type = get_string(frame, "type");
  if (type == "hello") {
    return Frame{parse_hello(frame)};
  }
  if (type == "disconnect") {
    return Frame{Disconnect{str(frame, "reason")}};
  }
  // Anything else is an envelope if it has an id to ack; an unknown type
  // without one is an error the caller logs and skips. The payload's own bytes
  // serve as payload_json, unless the precheck rewrote some of them (a lone
  // surrogate): then the frame's text does not hold them as parsed.
  std::string_view payload_json;
  if (const auto begin = handler.begin(); begin != std::string_view::npos && !repaired) {
    payload_json = text.substr(begin, handler.size());
  }
  return parse_envelope(frame, type.value_or(std::string_view()), payload_json);
}

}  // namespace slack
