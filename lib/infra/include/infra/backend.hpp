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

/// An Aurora (or Multi-AZ) DB cluster; its member instances are stopped and
/// started through it.
struct RdsCluster {
  std::string identifier;
  std::string status;
  std::string engine;  ///< "aurora-postgresql"; may be empty
  friend bool operator==(const RdsCluster&, const RdsCluster&) = default;
};

/// An EC2 instance as the status card shows it (the Discord bots' fields).
struct Ec2Instance {
  std::string id;                 ///< i-0123…
  std::string name;               ///< the Name tag; may be empty
  std::string state;              ///< running, stopped, pending, …
  std::string availability_zone;  ///< may be empty
  std::optional<core::TimePoint> launch_time;
  friend bool operator==(const Ec2Instance&, const Ec2Instance&) = default;
};

struct EnvironmentStatus {
  std::string environment;
  std::vector<EcsService> ecs_services;
  std::vector<RdsInstance> rds_instances;
  std::vector<RdsCluster> rds_clusters = {};    ///< empty from the seed's Lambdas
  std::vector<Ec2Instance> ec2_instances = {};  ///< empty from the seed's Lambdas
  /// Resources that could not be described ("ECS service api: AccessDenied"):
  /// the rest is still reported.
  std::vector<std::string> problems = {};
  friend bool operator==(const EnvironmentStatus&, const EnvironmentStatus&) = default;
};

enum class LifecycleAction { stop, start, teardown, spinup, reboot };
std::string_view to_string(LifecycleAction action);

/// An orchestrator action as the Lambda receives it.
struct LifecycleRequest {
  LifecycleAction action = LifecycleAction::stop;
  std::string environment;
  std::optional<TeardownLevel> level;             ///< teardown only
  std::optional<std::string> instance_name = {};  ///< reboot only: the Name tag of one instance
};

/// The orchestrator's answer to an action: its message and its counters in
/// the order given ({"ecs_services_stopped", 2}, …).
struct ActionResult {
  LifecycleAction action = LifecycleAction::stop;
  std::string environment;
  std::string message;
  std::vector<std::pair<std::string, std::int64_t>> details;
  /// What did not go as asked, one line each ("RDS app-dev-db: already
  /// stopped", "ECS service api: AccessDenied"); empty from the seed's Lambdas.
  std::vector<std::string> notes = {};
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
  /// The entries the refresh found expired and removed (the sweep gives them
  /// no notice afterwards: they are gone); empty from the seed's Lambdas.
  std::vector<WhitelistEntry> expired = {};
};

/// The infrastructure behind /infra: the orchestrator and whitelist Lambdas in
/// production (LambdaBackend), an in-memory model for console, demo and tests
/// (SimulatedBackend). Calls may block for minutes; never call one on the
/// Socket Mode thread. Errors carry a user message ("`dev` is torn down; run
/// `/infra spinup dev` first") and a log detail. Implementations are thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  /// "lambda", "aws", "aws+lambda" or "simulated" (for logs and audit).
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

  /// Why this backend cannot run `request` at all — a configuration gap such
  /// as a full teardown with no orchestrator Lambda — as one line that says
  /// what to configure; nullopt when it can. Checked at admission, before
  /// any confirmation modal. Cheap, no I/O.
  virtual std::optional<std::string> unsupported(const LifecycleRequest& request) const;

  /// Removes the allow-list entries of `environment` that expired at or
  /// before `now` and returns them (for the expiry notices). The default
  /// lists once and removes each expired entry it sees.
  virtual core::Result<std::vector<WhitelistEntry>> whitelist_expire(std::string_view environment,
                                                                     core::TimePoint now,
                                                                     const RequestContext& context);
};

}  // namespace infra
