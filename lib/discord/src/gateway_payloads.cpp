#include "gateway_payloads.hpp"

#include "core/json.hpp"

namespace discord::detail {

namespace json = core::json;

core::Result<GatewayFrame> parse_frame(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) return doc.error();
  if (!doc->IsObject()) {
    return core::make_error(core::ErrorCode::invalid_input, "bad gateway frame",
                            "not a JSON object");
  }
  auto op = json::get_int(*doc, "op");
  if (!op) {
    return core::make_error(core::ErrorCode::invalid_input, "bad gateway frame", "no integer op");
  }
  GatewayFrame frame;
  frame.op = static_cast<int>(*op);
  frame.s = json::get_int(*doc, "s");
  if (auto t = json::get_string(*doc, "t")) frame.t = std::string(*t);
  auto d = doc->FindMember("d");
  if (d != doc->MemberEnd()) {
    frame.d_json = json::to_string(d->value);
    if (frame.op == 10 && d->value.IsObject()) {
      frame.heartbeat_interval_ms = json::get_int(d->value, "heartbeat_interval").value_or(0);
    }
    if (frame.op == 9 && d->value.IsBool()) frame.resumable = d->value.GetBool();
  }
  return frame;
}

core::Result<ReadyFields> parse_ready(std::string_view d_json) {
  auto doc = json::parse(d_json);
  if (!doc) return doc.error();
  if (!doc->IsObject()) {
    return core::make_error(core::ErrorCode::invalid_input, "bad READY", "d is not an object");
  }
  ReadyFields ready;
  auto session = json::get_string(*doc, "session_id");
  if (!session || session->empty()) {
    return core::make_error(core::ErrorCode::invalid_input, "bad READY", "no session_id");
  }
  ready.session_id = std::string(*session);
  ready.resume_gateway_url = std::string(json::get_string(*doc, "resume_gateway_url").value_or(""));
  if (const auto* app = json::get_object(*doc, "application")) {
    ready.application_id = std::string(json::get_string(*app, "id").value_or(""));
  }
  if (const auto* user = json::get_object(*doc, "user")) {
    ready.user_id = std::string(json::get_string(*user, "id").value_or(""));
  }
  return ready;
}

std::string identify_payload(const std::string& token, int intents) {
  return R"({"op":2,"d":{"token":)" + json::quote(token) +
         ",\"intents\":" + std::to_string(intents) +
         R"(,"properties":{"os":"linux","browser":"infra-bot","device":"infra-bot"}}})";
}

std::string resume_payload(const std::string& token, const std::string& session_id,
                           std::optional<std::int64_t> seq) {
  return R"({"op":6,"d":{"token":)" + json::quote(token) +
         ",\"session_id\":" + json::quote(session_id) +
         ",\"seq\":" + (seq ? std::to_string(*seq) : std::string("null")) + "}}";
}

std::string heartbeat_payload(std::optional<std::int64_t> seq) {
  return R"({"op":1,"d":)" + (seq ? std::to_string(*seq) : std::string("null")) + "}";
}

std::string connect_url(std::string_view base) {
  std::string url(base);
  if (auto q = url.find('?'); q != std::string::npos) url.resize(q);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/?v=10&encoding=json";
}

}  // namespace discord::detail
