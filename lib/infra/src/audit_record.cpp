#include "audit_record.hpp"

#include <charconv>

#include "core/json_escape.hpp"

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
  // Keys written as literals into one buffer sized up front (the Writer
  // escaped each key and grew its stack): the same bytes it wrote.
  std::string out;
  out.reserve(256 + source.size() + request_id.size() + who.team_id.size() + who.user_id.size() +
              who.user_name.size() + who.channel_id.size() + command.size() + action.size() +
              environment.size() + decision.size() + reason.size() + backend.size() +
              outcome.size() + error.size());
  auto field = [&out](std::string_view key_colon, std::string_view value) {
    out += key_colon;
    core::json::append_quoted(out, value);
  };
  out += R"({"event":"command")";
  field(R"(,"source":)", source);
  field(R"(,"request_id":)", request_id);
  field(R"(,"team_id":)", who.team_id);
  field(R"(,"user_id":)", who.user_id);
  field(R"(,"user_name":)", who.user_name);
  field(R"(,"channel_id":)", who.channel_id);
  field(R"(,"command":)", command);
  field(R"(,"action":)", action);
  field(R"(,"environment":)", environment);
  field(R"(,"decision":)", decision);
  field(R"(,"reason":)", reason);
  field(R"(,"backend":)", backend);
  field(R"(,"outcome":)", outcome);
  if (!error.empty()) field(R"(,"error":)", error);
  out += R"(,"duration_ms":)";
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, duration_ms).ptr;
  out.append(digits, end);
  out += '}';
  return out;
}

}  // namespace infra
