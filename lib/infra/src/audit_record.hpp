#pragma once
// One audit line (logger "audit"): who asked what, what policy said, what
// happened. Fields not known yet stay empty. The one place an audit line is
// shaped, whatever the front end.

#include <string>
#include <string_view>

#include "infra/command.hpp"
#include "infra/command_runner.hpp"
#include "infra/conversation.hpp"

namespace infra {

struct AuditRecord {
  std::string source;  // slash_command, mention, modal
  std::string request_id;
  Requester who;
  std::string command;  // as typed
  std::string action;
  std::string environment;
  std::string decision;  // allowed, denied, invalid, busy, confirm
  std::string reason;
  std::string backend;
  std::string outcome;  // ok, failed, refused, interrupted, cancelled, modal_opened, …
  std::string error;
  long long duration_ms = 0;

  /// A record of `request` before anything is decided.
  static AuditRecord of(const Inbound& request, std::string_view backend);
  /// Fills action and environment from the parsed command.
  void describe(const Command& parsed);
  /// The audit line of a request answered at once (help, a parse error, a
  /// refusal); `decision` overrides the one the reply implies (busy).
  void answered(const Reply& reply, std::string_view override_decision = {});
  std::string to_json() const;
};

}  // namespace infra
