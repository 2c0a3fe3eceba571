// slack::parse_frame on any bytes: a Socket Mode text frame.
//
// Invariants:
//  - it never throws, and the same text always gives the same result;
//  - a rejection is invalid_input with a user message and a log detail;
//  - a parsed frame re-serialises sanely: the fields it lifted out, written
//    back as a frame with core::json::quote (and the payload as payload_json),
//    parse to the same fields; payload_json is a JSON object of valid UTF-8;
//  - every string lifted out of a frame is valid UTF-8 (it ends up in acks,
//    logs and Slack messages);
//  - the ack the Socket Mode client would send for an envelope
//    ({"envelope_id":…}) is valid JSON naming the same id.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "fuzz_support.hpp"
#include "slack/envelope.hpp"

namespace {

using core::json::quote;

core::Result<slack::Frame> parse(std::string_view text) {
  try {
    return slack::parse_frame(text);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "parse_frame threw: {}", e.what());
  } catch (...) {
    FUZZ_CHECK(false, "parse_frame threw a non-std exception");
  }
  std::abort();
}

// ---- field-wise comparison, with a readable rendering for failures ----

auto fields(const slack::Hello& h) {
  return std::tie(h.num_connections, h.approximate_connection_time, h.app_id);
}
auto fields(const slack::Disconnect& d) { return std::tie(d.reason); }
auto fields(const slack::SlashCommand& c) {
  return std::tie(c.command, c.text, c.user_id, c.user_name, c.team_id, c.channel_id,
                  c.channel_name, c.response_url, c.trigger_id);
}
auto fields(const slack::Interaction::InputValue& v) {
  return std::tie(v.block_id, v.action_id, v.value);
}
auto fields(const slack::Interaction::Action& a) { return std::tie(a.action_id, a.value); }
auto fields(const slack::Event& e) {
  return std::tie(e.event_id, e.type, e.user, e.text, e.channel, e.ts, e.thread_ts, e.team_id);
}

template <class T>
bool same(const T& a, const T& b) {
  return fields(a) == fields(b);
}
bool same(const std::monostate&, const std::monostate&) { return true; }
bool same(const slack::Interaction& a, const slack::Interaction& b) {
  auto scalars = [](const slack::Interaction& i) {
    return std::tie(i.type, i.user_id, i.user_name, i.team_id, i.channel_id, i.trigger_id,
                    i.response_url, i.view_id, i.view_callback_id, i.view_private_metadata);
  };
  if (scalars(a) != scalars(b) || a.values.size() != b.values.size() ||
      a.actions.size() != b.actions.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    if (!same(a.values[i], b.values[i])) return false;
  }
  for (std::size_t i = 0; i < a.actions.size(); ++i) {
    if (!same(a.actions[i], b.actions[i])) return false;
  }
  return true;
}
// payload_json is compared only for being there: RapidJSON reads numbers
// faster than exactly (no kParseFullPrecisionFlag), so a long number may be
// written back differently in its last digit.
bool same(const slack::Envelope& a, const slack::Envelope& b) {
  if (std::tie(a.envelope_id, a.type, a.accepts_response_payload, a.retry_attempt,
               a.retry_reason) != std::tie(b.envelope_id, b.type, b.accepts_response_payload,
                                           b.retry_attempt, b.retry_reason) ||
      a.payload_json.empty() != b.payload_json.empty() || a.payload.index() != b.payload.index()) {
    return false;
  }
  return std::visit(
      [&](const auto& left) {
        return same(left, std::get<std::decay_t<decltype(left)>>(b.payload));
      },
      a.payload);
}
bool same(const slack::Frame& a, const slack::Frame& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& left) { return same(left, std::get<std::decay_t<decltype(left)>>(b)); }, a);
}

// Every string the frame carries, for the UTF-8 check.
template <class F>
void for_each_string(const slack::Frame& frame, F&& f) {
  std::visit(core::Overloaded{
                 [&](const slack::Hello& h) { f("app_id", h.app_id); },
                 [&](const slack::Disconnect& d) { f("reason", d.reason); },
                 [&](const slack::Envelope& e) {
                   f("envelope_id", e.envelope_id);
                   f("type", e.type);
                   f("retry_reason", e.retry_reason);
                   std::visit(
                       core::Overloaded{
                           [](const std::monostate&) {},
                           [&](const slack::SlashCommand& c) {
                             std::apply([&](const auto&... s) { (f("slash command", s), ...); },
                                        fields(c));
                           },
                           [&](const slack::Event& v) {
                             std::apply([&](const auto&... s) { (f("event", s), ...); }, fields(v));
                           },
                           [&](const slack::Interaction& i) {
                             f("interaction.type", i.type);
                             f("user_id", i.user_id);
                             f("user_name", i.user_name);
                             f("team_id", i.team_id);
                             f("channel_id", i.channel_id);
                             f("trigger_id", i.trigger_id);
                             f("response_url", i.response_url);
                             f("view_id", i.view_id);
                             f("view_callback_id", i.view_callback_id);
                             f("view_private_metadata", i.view_private_metadata);
                             for (const auto& v : i.values) {
                               std::apply([&](const auto&... s) { (f("input value", s), ...); },
                                          fields(v));
                             }
                             for (const auto& a : i.actions) {
                               std::apply([&](const auto&... s) { (f("action", s), ...); },
                                          fields(a));
                             }
                           },
                       },
                       e.payload);
                 },
             },
             frame);
}

// ---- the frame written back ----

std::string serialise(const slack::Hello& h) {
  return fmt::format(
      R"({{"type":"hello","num_connections":{},"debug_info":{{"approximate_connection_time":{}}},"connection_info":{{"app_id":{}}}}})",
      h.num_connections, h.approximate_connection_time, quote(h.app_id));
}
std::string serialise(const slack::Disconnect& d) {
  return fmt::format(R"({{"type":"disconnect","reason":{}}})", quote(d.reason));
}
std::string serialise(const slack::Envelope& e) {
  std::string out = fmt::format(
      R"({{"envelope_id":{},"type":{},"accepts_response_payload":{},"retry_attempt":{},"retry_reason":{})",
      quote(e.envelope_id), quote(e.type), e.accepts_response_payload, e.retry_attempt,
      quote(e.retry_reason));
  if (!e.payload_json.empty()) out += ",\"payload\":" + e.payload_json;
  return out + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto frame = parse(input);

  const auto again = parse(input);
  FUZZ_CHECK(frame.has_value() == again.has_value() &&
                 (frame ? same(*frame, *again) : frame.error() == again.error()),
             "not deterministic for {:?}", input);

  if (!frame) {
    const auto& error = frame.error();
    FUZZ_CHECK(error.code == core::ErrorCode::invalid_input, "code {} for {:?}",
               core::to_string(error.code), input);
    FUZZ_CHECK(!error.user_message.empty() && !error.detail.empty(),
               "rejection without a message or detail for {:?}", input);
    return 0;
  }

  for_each_string(*frame, [&](std::string_view what, const std::string& value) {
    FUZZ_CHECK(fuzz::valid_utf8(value), "{} {:?} is not valid UTF-8 (frame {:?})", what, value,
               input);
  });

  const std::string written = std::visit([](const auto& f) { return serialise(f); }, *frame);
  const auto reread = parse(written);
  FUZZ_CHECK(reread, "re-serialised frame {:?} does not parse: {} (frame {:?})", written,
             reread ? "" : reread.error().detail, input);
  FUZZ_CHECK(same(*frame, *reread), "re-serialised frame {:?} parses differently (frame {:?})",
             written, input);

  if (const auto* envelope = std::get_if<slack::Envelope>(&*frame)) {
    FUZZ_CHECK(!envelope->envelope_id.empty(), "envelope without an id from {:?}", input);
    if (!envelope->payload_json.empty()) {
      const auto payload = core::json::parse(envelope->payload_json);
      FUZZ_CHECK(payload && payload->IsObject(), "payload_json {:?} is not a JSON object",
                 envelope->payload_json);
    }
    // What SocketModeClient::ack sends for it.
    const std::string ack = "{\"envelope_id\":" + quote(envelope->envelope_id) + "}";
    const auto acked = core::json::parse(ack);
    FUZZ_CHECK(acked && core::json::get_string(*acked, "envelope_id") == envelope->envelope_id,
               "ack {:?} does not carry the envelope id back", ack);
  }
  return 0;
}
