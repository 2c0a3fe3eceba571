#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "infra/backend.hpp"
#include "infra/command_parser.hpp"

namespace infra {

/// What the runtime knows about one invocation.
struct LambdaInvocationContext {
  std::string aws_request_id;               ///< for logs; request_id when the payload has none
  std::optional<core::TimePoint> deadline;  ///< Lambda-Runtime-Deadline-Ms
};

/// The handler's answer to one invocation.
struct LambdaAnswer {
  /// The JSON text to post: a design §4 answer ({"ok": true, …} or
  /// {"ok": false, "error": …}) for …/response, or, when `function_error`,
  /// {"errorMessage", "errorType", "stackTrace": []} for …/error.
  std::string body;
  /// An internal failure (an exception escaped the backend): report it through
  /// /invocation/{id}/error rather than as an answer. Contract errors — bad
  /// payload, unknown environment, protected environment, a backend Error —
  /// are {"ok": false} answers, like the seed's Lambdas.
  bool function_error = false;
  std::string error_type;     ///< when function_error
  std::string error_message;  ///< when function_error
};

/// design §4's orchestrator or whitelist contract served on top of any
/// infra::Backend (production: infra::AwsBackend) — the body of
/// `infra-bot lambda`. Pure apart from the backend: payload text in, answer
/// text out. It never crashes on any payload and never starts an action it
/// cannot finish asking for: every field is checked before the backend is
/// called.
///
/// Orchestrator (role orchestrator):
///   {"action": "status"|"stop"|"start"|"teardown"|"spinup"|"reboot",
///    "environment": "dev", "level": "services"|"full" (teardown; default
///    services), "name": "<EC2 Name tag>" (reboot, optional),
///    "request_id", "requested_by": {user_id, user_name, team_id, channel_id}}
///   status → {"ok": true, "environment", "ecs_services": [{name, status,
///             desired_count, running_count}], "rds_instances": [{identifier,
///             status}], "rds_clusters": [{identifier, status, engine}],
///             "ec2_instances": [{id, name, state, availability_zone,
///             launch_time}], "problems": [text]}
///   actions → {"ok": true, "action", "environment", "message", "details":
///             {counter: n}, "notes": [text]}
///   stop, teardown and reboot of a protected environment
///   (Config::protected_environments) are refused whatever the caller sends:
///   {"ok": false, "error": "`prod` is protected: stop is refused."}
/// Whitelist (role whitelist):
///   add {cidr, ttl_seconds 60..31536000, description?, environment}
///     → {"ok": true, "environment", "entry": {cidr, description, added_by,
///        expires_at}, "replaced": bool}
///   remove {cidr, environment} → {"ok": true, "environment", "cidr"}
///   list {environment} → {"ok": true, "environment", "entries": [entry]}
///   refresh {environment} → {"ok": true, "environment", "security_groups",
///                            "rules_added", "rules_removed"}
/// Anything else → {"ok": false, "error": "<readable>"}. Thread-safe if the
/// backend is.
class LambdaHandler {
 public:
  LambdaHandler(core::LambdaRole role, const core::Config& config, Backend& backend,
                const core::Clock& clock, core::LoggerPtr logger);

  LambdaAnswer handle(std::string_view payload, const LambdaInvocationContext& context = {});

  core::LambdaRole role() const { return role_; }

 private:
  core::LambdaRole role_;
  std::vector<std::string> environments_;
  std::vector<std::string> protected_environments_;
  ParserSettings parser_settings_;
  Backend& backend_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
};

/// "orchestrator" / "whitelist"
std::string_view to_string(core::LambdaRole role);

}  // namespace infra
