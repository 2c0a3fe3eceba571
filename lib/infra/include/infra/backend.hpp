#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "infra/command.hpp"

namespace infra {

/// Travels with every backend call (design §4 `request_id`, `requested_by`).
struct RequestContext {
  std::string request_id;
  Requester requested_by;
};

/// Fields a Lambda may leave out are optional or empty; views show "unknown".
struct EcsService {
  std::string name;
  std::string status;
  std::optional<std::int64_t> desired_count;
  std::optional<std::int64_t> running_count;
  friend bool operator==(const EcsService&, const EcsService&) = default;
};

struct RdsInstance {
  std::string identifier;
  std::string status;
  friend bool operator==(const RdsInstance&, const RdsInstance&) = default;
};

struct EnvironmentStatus {
  std::string environment;
  std::vector<EcsService> ecs_services;
  std::vector<RdsInstance> rds_instances;
  friend bool operator==(const EnvironmentStatus&, const EnvironmentStatus&) = default;
};

enum class LifecycleAction { stop, start, teardown, spinup };
std::string_view to_string(LifecycleAction action);

/// An orchestrator action as the Lambda receives it.
struct LifecycleRequest {
  LifecycleAction action = LifecycleAction::stop;
  std::string environment;
  std::optional<TeardownLevel> level;  ///< teardown only
};

/// The orchestrator's answer to an action: its message and its counters in
/// the order given ({"ecs_services_stopped", 2}, …).
struct ActionResult {
  LifecycleAction action = LifecycleAction::stop;
  std::string environment;
  std::string message;
  std::vector<std::pair<std::string, std::int64_t>> details;
  friend bool operator==(const ActionResult&, const ActionResult&) = default;
};

struct WhitelistEntry {
  std::string cidr;
  std::string description;
  std::string added_by;
  std::optional<core::TimePoint> expires_at;
  friend bool operator==(const WhitelistEntry&, const WhitelistEntry&) = default;
};

struct WhitelistAdded {
  std::string environment;
  WhitelistEntry entry;
  bool replaced = false;  ///< the CIDR was already listed; its TTL and description were renewed
};

struct WhitelistRemoved {
  std::string environment;
  std::string cidr;
};

struct WhitelistListing {
  std::string environment;
  std::vector<WhitelistEntry> entries;
};

struct WhitelistRefreshed {
  std::string environment;
  std::vector<std::string> security_groups;
  std::int64_t rules_added = 0;
  std::int64_t rules_removed = 0;
};

/// The infrastructure behind /infra: the orchestrator and whitelist Lambdas in
/// production (LambdaBackend), an in-memory model for console, demo and tests
/// (SimulatedBackend). Calls may block for minutes; never call one on the
/// Socket Mode thread. Errors carry a user message ("`dev` is torn down; run
/// `/infra spinup dev` first") and a log detail. Implementations are thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  /// "lambda" or "simulated" (for logs and audit).
  virtual std::string_view name() const = 0;

  virtual core::Result<EnvironmentStatus> status(std::string_view environment,
                                                 const RequestContext& context) = 0;
  virtual core::Result<ActionResult> run(const LifecycleRequest& request,
                                         const RequestContext& context) = 0;

  virtual core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd& command,
                                                     const RequestContext& context) = 0;
  virtual core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& command,
                                                          const RequestContext& context) = 0;
  virtual core::Result<WhitelistListing> whitelist_list(std::string_view environment,
                                                        const RequestContext& context) = 0;
  virtual core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view environment,
                                                             const RequestContext& context) = 0;
};

}  // namespace infra
