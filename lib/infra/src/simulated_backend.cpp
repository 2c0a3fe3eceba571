#include "infra/simulated_backend.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <set>

#include <fmt/format.h>

namespace infra {
namespace {

struct ServiceTemplate {
  std::string_view name;
  std::int64_t normal_count;
};

// The model of every environment: what spinup recreates and start restores.
constexpr std::array<ServiceTemplate, 2> kServices{{{"api", 2}, {"worker", 1}}};

// The whitelist Lambda opens these ports per CIDR, so each CIDR is this many rules.
constexpr std::int64_t kRulesPerCidr = 3;  // 80, 443, 7233

// Matches the whitelist Lambda's limit; a security group holds at most a few hundred rules.
constexpr std::size_t kMaxEntries = 100;

constexpr std::string_view kCompleted = "Operation completed successfully.";

std::string database_identifier(std::string_view environment) {
  return fmt::format("docustack-{}-db", environment);
}

core::Error torn_down(std::string_view environment, LifecycleAction action) {
  return core::make_error(
      core::ErrorCode::conflict,
      fmt::format("`{}` is torn down. Run `/infra spinup {}` first.", environment, environment),
      fmt::format("simulated: {} on torn-down environment {}", to_string(action), environment));
}

}  // namespace

SimulatedBackend::SimulatedBackend(std::vector<std::string> environments, const core::Clock& clock)
    : clock_(clock) {
  for (auto& environment : environments) {
    EnvironmentState state;
    for (const auto& service : kServices) {
      state.services.push_back(
          Service{std::string(service.name), service.normal_count, service.normal_count});
    }
    state.databases.push_back(Database{database_identifier(environment), "available"});
    environments_.insert_or_assign(std::move(environment), std::move(state));
  }
}

core::Result<SimulatedBackend::EnvironmentState*> SimulatedBackend::find(
    std::string_view environment) {
  const auto it = environments_.find(environment);
  if (it == environments_.end()) {
    return core::make_error(core::ErrorCode::not_found,
                            fmt::format("Unknown environment `{}`.", environment),
                            fmt::format("simulated: unknown environment {}", environment));
  }
  return &it->second;
}

void SimulatedBackend::expire_entries(EnvironmentState& state) {
  const core::TimePoint now = clock_.now();
  std::erase_if(state.whitelist, [&](const auto& item) {
    return item.second.expires_at && now >= *item.second.expires_at;
  });
}

core::Result<EnvironmentStatus> SimulatedBackend::status(std::string_view environment,
                                                         const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(environment);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  EnvironmentStatus result;
  result.environment = std::string(environment);
  for (const auto& service : state->services) {
    result.ecs_services.push_back(EcsService{service.name,
                                             service.desired_count > 0 ? "RUNNING" : "STOPPED",
                                             service.desired_count, service.desired_count});
  }
  for (const auto& database : state->databases) {
    result.rds_instances.push_back(RdsInstance{database.identifier, database.status});
  }
  return result;
}

core::Result<ActionResult> SimulatedBackend::run(const LifecycleRequest& request,
                                                 const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(request.environment);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  const std::string& env = request.environment;
  const bool nothing_left = state->services.empty() && state->databases.empty();

  ActionResult result;
  result.action = request.action;
  result.environment = env;

  switch (request.action) {
    case LifecycleAction::stop:
    case LifecycleAction::start: {
      if (nothing_left) {
        return torn_down(env, request.action);
      }
      const bool on = request.action == LifecycleAction::start;
      std::int64_t services = 0;
      std::int64_t databases = 0;
      for (auto& service : state->services) {
        const auto wanted = on ? service.normal_count : 0;
        if (service.desired_count != wanted) {
          service.desired_count = wanted;
          ++services;
        }
      }
      for (auto& database : state->databases) {
        const char* wanted = on ? "available" : "stopped";
        if (database.status != wanted) {
          database.status = wanted;
          ++databases;
        }
      }
      const auto verb = on ? "started" : "stopped";
      result.message = services + databases > 0 ? std::string(kCompleted)
                       : on ? fmt::format("Nothing to start: `{}` is already running.", env)
                            : fmt::format("Nothing to stop: `{}` is already stopped.", env);
      result.details = {{fmt::format("ecs_services_{}", verb), services},
                        {fmt::format("rds_instances_{}", verb), databases}};
      return result;
    }

    case LifecycleAction::teardown: {
      const bool full = request.level.value_or(TeardownLevel::services) == TeardownLevel::full;
      const auto services = static_cast<std::int64_t>(state->services.size());
      const auto databases = full ? static_cast<std::int64_t>(state->databases.size()) : 0;
      if (services + databases == 0) {
        return core::make_error(
            core::ErrorCode::conflict, fmt::format("`{}` is already torn down.", env),
            fmt::format("simulated: teardown --level={} of {} with nothing left",
                        full ? "full" : "services", env));
      }
      state->services.clear();
      result.details = {{"ecs_services_deleted", services}};
      if (full) {
        state->databases.clear();
        result.details.emplace_back("rds_instances_deleted", databases);
      }
      result.message = std::string(kCompleted);
      return result;
    }

    case LifecycleAction::reboot:
      return core::make_error(
          core::ErrorCode::not_found,
          fmt::format("No EC2 instances in `{}`: the simulated backend has none to reboot.", env),
          fmt::format("simulated: reboot of {}", env));

    case LifecycleAction::spinup: {
      std::int64_t services = 0;
      std::int64_t databases = 0;
      // Rebuild in the model's order so status lists services the same way after a spinup.
      std::vector<Service> rebuilt;
      for (const auto& model : kServices) {
        const auto existing =
            std::find_if(state->services.begin(), state->services.end(),
                         [&](const Service& service) { return service.name == model.name; });
        if (existing != state->services.end()) {
          rebuilt.push_back(*existing);
        } else {
          rebuilt.push_back(
              Service{std::string(model.name), model.normal_count, model.normal_count});
          ++services;
        }
      }
      state->services = std::move(rebuilt);
      if (state->databases.empty()) {
        state->databases.push_back(Database{database_identifier(env), "available"});
        ++databases;
      }
      result.message = services + databases > 0
                           ? std::string(kCompleted)
                           : fmt::format("Nothing to create: `{}` is already up.", env);
      result.details = {{"ecs_services_created", services}, {"rds_instances_created", databases}};
      return result;
    }
  }
  return core::make_error(core::ErrorCode::internal, "Unknown action.",
                          "simulated: unhandled LifecycleAction");
}

core::Result<WhitelistAdded> SimulatedBackend::whitelist_add(const WhitelistAdd& command,
                                                             const RequestContext& context) {
  std::lock_guard lock(mutex_);
  auto found = find(command.env);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  expire_entries(*state);

  const auto existing = state->whitelist.find(command.cidr.text);
  const bool replaced = existing != state->whitelist.end();
  if (!replaced && state->whitelist.size() >= kMaxEntries) {
    return core::make_error(
        core::ErrorCode::conflict,
        fmt::format("The allow-list for `{}` is full ({} entries). Remove some first.", command.env,
                    kMaxEntries),
        fmt::format("simulated: whitelist of {} at its cap", command.env));
  }

  const auto& who = context.requested_by;
  // Renewing without --description keeps the old one: extending a TTL should
  // not silently erase why the address was let in.
  std::string description =
      command.description.value_or(replaced ? existing->second.description : "");
  WhitelistEntry entry{command.cidr.text, std::move(description),
                       who.user_name.empty() ? who.user_id : who.user_name,
                       clock_.now() + command.ttl};
  state->whitelist.insert_or_assign(command.cidr.text, entry);

  auto& rules = state->applied_rules;
  if (std::find(rules.begin(), rules.end(), command.cidr.text) == rules.end()) {
    rules.push_back(command.cidr.text);
  }
  return WhitelistAdded{command.env, std::move(entry), replaced};
}

core::Result<WhitelistRemoved> SimulatedBackend::whitelist_remove(
    const WhitelistRemove& command, const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(command.env);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  expire_entries(*state);
  if (state->whitelist.erase(command.cidr.text) == 0) {
    return core::make_error(
        core::ErrorCode::not_found,
        fmt::format("`{}` is not on the `{}` allow-list.", command.cidr.text, command.env),
        fmt::format("simulated: remove of unlisted {} from {}", command.cidr.text, command.env));
  }
  std::erase(state->applied_rules, command.cidr.text);
  return WhitelistRemoved{command.env, command.cidr.text};
}

core::Result<WhitelistListing> SimulatedBackend::whitelist_list(std::string_view environment,
                                                                const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(environment);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  expire_entries(*state);
  WhitelistListing listing;
  listing.environment = std::string(environment);
  // The map is keyed by CIDR text, so this is already sorted by it.
  for (const auto& [cidr, entry] : state->whitelist) {
    listing.entries.push_back(entry);
  }
  return listing;
}

core::Result<std::vector<WhitelistEntry>> SimulatedBackend::whitelist_expire(
    std::string_view environment, core::TimePoint now, const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(environment);
  if (!found) return found.error();
  std::vector<WhitelistEntry> expired;
  std::erase_if((*found)->whitelist, [&](const auto& item) {
    if (!item.second.expires_at || now < *item.second.expires_at) return false;
    expired.push_back(item.second);
    return true;
  });
  // The sweep takes the rules out of the security groups too.
  for (const auto& entry : expired) std::erase((*found)->applied_rules, entry.cidr);
  return expired;
}

core::Result<WhitelistRefreshed> SimulatedBackend::whitelist_refresh(
    std::string_view environment, const RequestContext& /*context*/) {
  std::lock_guard lock(mutex_);
  auto found = find(environment);
  if (!found) return found.error();
  EnvironmentState* state = *found;
  expire_entries(*state);

  const std::set<std::string> applied(state->applied_rules.begin(), state->applied_rules.end());
  std::int64_t stale = 0;
  for (const auto& cidr : applied) {
    if (!state->whitelist.contains(cidr)) {
      ++stale;
    }
  }
  std::int64_t missing = 0;
  std::vector<std::string> listed;
  for (const auto& [cidr, entry] : state->whitelist) {
    if (!applied.contains(cidr)) {
      ++missing;
    }
    listed.push_back(cidr);
  }
  state->applied_rules = std::move(listed);

  WhitelistRefreshed result;
  result.environment = std::string(environment);
  result.security_groups = {fmt::format("sg-sim-{}-web", environment)};
  result.rules_added = kRulesPerCidr * missing;
  result.rules_removed = kRulesPerCidr * stale;
  return result;
}

}  // namespace infra
