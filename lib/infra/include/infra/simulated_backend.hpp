#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "infra/backend.hpp"

namespace infra {

/// An in-memory stand-in for the orchestrator and whitelist Lambdas, for the
/// console, demos and tests. Each known environment has ECS services api (×2)
/// and worker (×1) and an RDS instance `docustack-<env>-db`; their state really
/// changes with stop/start/teardown/spinup, and whitelist entries expire on
/// their TTL by the injected clock. Thread-safe.
///
/// Transitions:
///   stop      running services → desired 0 (STOPPED); RDS available → stopped
///   start     services back to their normal counts (RUNNING); RDS → available
///   teardown  services: ECS services deleted; full: ECS services and RDS deleted
///   spinup    whatever is missing is created again, running
/// stop/start on a torn-down environment is a conflict error that says to spin
/// it up; spinup of a complete environment reports nothing created. There are
/// no EC2 instances, so reboot is a not_found error.
class SimulatedBackend final : public Backend {
 public:
  SimulatedBackend(std::vector<std::string> environments, const core::Clock& clock);

  std::string_view name() const override { return "simulated"; }

  core::Result<EnvironmentStatus> status(std::string_view environment,
                                         const RequestContext& context) override;
  core::Result<ActionResult> run(const LifecycleRequest& request,
                                 const RequestContext& context) override;
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd& command,
                                             const RequestContext& context) override;
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& command,
                                                  const RequestContext& context) override;
  core::Result<WhitelistListing> whitelist_list(std::string_view environment,
                                                const RequestContext& context) override;
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view environment,
                                                     const RequestContext& context) override;
  core::Result<std::vector<WhitelistEntry>> whitelist_expire(
      std::string_view environment, core::TimePoint now, const RequestContext& context) override;

 private:
  struct Service {
    std::string name;
    std::int64_t normal_count = 1;
    std::int64_t desired_count = 1;
  };
  struct Database {
    std::string identifier;
    std::string status;  ///< "available" or "stopped"
  };
  struct EnvironmentState {
    std::vector<Service> services;
    std::vector<Database> databases;
    std::map<std::string, WhitelistEntry> whitelist;  ///< by CIDR
    std::vector<std::string> applied_rules;           ///< CIDRs the security groups hold
  };

  // Requires mutex_ held. A not_found error when the environment is unknown.
  core::Result<EnvironmentState*> find(std::string_view environment);
  void expire_entries(EnvironmentState& state);

  const core::Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, EnvironmentState, std::less<>> environments_;
};

}  // namespace infra
