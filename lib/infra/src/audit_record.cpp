#include "audit_record.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace infra {

AuditRecord AuditRecord::of(const Inbound& request, std::string_view backend) {
  AuditRecord record;
  record.source = request.source;
  record.who = request.who;
  record.command = request.text;
  record.backend = std::string(backend);
  return record;
}

void AuditRecord::describe(const Command& parsed) {
  action = std::string(to_string(action_of(parsed)));
  environment = environment_of(parsed).value_or("");
}

void AuditRecord::answered(const Reply& reply, std::string_view override_decision) {
  if (!override_decision.empty()) {
    decision = std::string(override_decision);
  } else if (reply.denied != DenyReason::none) {
    decision = "denied";
  } else {
    decision = reply.ok ? "allowed" : "invalid";
  }
  reason = reply.denied != DenyReason::none ? std::string(to_string(reply.denied))
           : reply.ok                       ? std::string()
                                            : reply.message.text;
  outcome = reply.ok ? "answered" : "refused";
}

std::string AuditRecord::to_json() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto field = [&w](std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("event", "command");
  field("source", source);
  field("request_id", request_id);
  field("team_id", who.team_id);
  field("user_id", who.user_id);
  field("user_name", who.user_name);
  field("channel_id", who.channel_id);
  field("command", command);
  field("action", action);
  field("environment", environment);
  field("decision", decision);
  field("reason", reason);
  field("backend", backend);
  field("outcome", outcome);
  if (!error.empty()) field("error", error);
  w.Key("duration_ms");
  w.Int64(duration_ms);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace infra
