// The aws backend's actions: stop, start, teardown --level=services and
// reboot (discovery and status are in aws_backend.cpp, the allow-list in
// aws_backend_whitelist.cpp).

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "aws/iam_policy.hpp"
#include "aws_backend_impl.hpp"
#include "core/strings.hpp"
#include "infra/aws_backend.hpp"

namespace infra {
namespace {

constexpr std::string_view kCompleted = "Operation completed successfully.";
constexpr std::string_view kFullTeardownNeedsLambda =
    "`teardown --level=full` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN (or use "
    "`--level=services`, which stops ECS and RDS).";
constexpr std::string_view kSpinupNeedsLambda =
    "`spinup` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN.";

// What one action did, resource by resource.
struct Tally {
  std::vector<std::string> notes;
  std::int64_t succeeded = 0;  ///< changed, or already as asked
  std::int64_t failed = 0;
  std::optional<core::Error> first_error;

  void already(const std::string& label, std::string_view state) {
    notes.push_back(fmt::format("{}: already {}", label, state));
    ++succeeded;
  }
  void fail(const std::string& line, const core::Error& error, std::int64_t resources = 1) {
    notes.push_back(line);
    failed += resources;
    if (!first_error) first_error = error;
  }
  void fail(const std::string& label, const aws::CallError& failure, std::int64_t resources = 1) {
    fail(failure_line(label, failure), failure.error, resources);
  }
};

}  // namespace

std::optional<std::string> AwsBackend::Impl::unsupported(const LifecycleRequest& request) const {
  if (request.action == LifecycleAction::spinup) return std::string(kSpinupNeedsLambda);
  if (request.action == LifecycleAction::teardown &&
      request.level.value_or(TeardownLevel::services) == TeardownLevel::full) {
    return std::string(kFullTeardownNeedsLambda);
  }
  return std::nullopt;
}

core::Result<ActionResult> AwsBackend::Impl::run(const LifecycleRequest& request,
                                                 const RequestContext& context) {
  if (auto why = unsupported(request)) {
    return core::make_error(core::ErrorCode::invalid_input, *why,
                            fmt::format("aws backend: {} of {} not supported natively",
                                        to_string(request.action), request.environment));
  }
  switch (request.action) {
    case LifecycleAction::stop:
      return stop_or_start(request, false, Scope{true, true, true}, context);
    case LifecycleAction::start:
      return stop_or_start(request, true, Scope{true, true, true}, context);
    case LifecycleAction::teardown:
      // --level=services: ECS and RDS stopped, EC2 left alone.
      return stop_or_start(request, false, Scope{true, true, false}, context);
    case LifecycleAction::reboot:
      return reboot(request, context);
    case LifecycleAction::spinup:
      break;
  }
  return core::make_error(core::ErrorCode::internal, "Unknown action.",
                          "aws backend: unhandled LifecycleAction");
}

namespace {

// The result (or Error) of an action from its tally.
core::Result<ActionResult> conclude(const LifecycleRequest& request, std::string_view verb,
                                    std::string_view infinitive,
                                    std::vector<std::pair<std::string, std::int64_t>> details,
                                    Tally tally) {
  if (tally.succeeded == 0 && tally.failed > 0) {
    core::Error error = tally.first_error.value_or(
        core::make_error(core::ErrorCode::unavailable, "", "aws backend: action failed"));
    error.detail = fmt::format("aws backend {} {}: every resource failed; first: {}",
                               to_string(request.action), request.environment, error.detail);
    error.user_message =
        error.code == core::ErrorCode::indeterminate
            ? fmt::format("Could not tell whether `{}` ran in `{}`: {}", to_string(request.action),
                          request.environment, join_limited(tally.notes))
            : fmt::format("Could not {} anything in `{}`: {}", infinitive, request.environment,
                          join_limited(tally.notes));
    return error;
  }
  ActionResult result;
  result.action = request.action;
  result.environment = request.environment;
  result.message = tally.failed == 0
                       ? std::string(kCompleted)
                       : fmt::format("Completed with problems: {} of {} resources could not be {}.",
                                     tally.failed, tally.failed + tally.succeeded, verb);
  result.details = std::move(details);
  result.notes = std::move(tally.notes);
  return result;
}

// The states in which a resource already is as asked.
using States = std::array<std::string_view, 2>;

bool one_of(std::string_view value, const States& states) {
  return std::find(states.begin(), states.end(), value) != states.end();
}

// The count a stopped service had (its infra-bot:desired-count tag), else 1.
std::int64_t remembered_count(const aws::Tags& tags) {
  const auto text = aws::find_tag(tags, aws::kIamDesiredCountTagKey);
  if (!text) return 1;
  std::int64_t count = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), count);
  if (ec != std::errc{} || ptr != text->data() + text->size() || count <= 0) return 1;
  return count;
}

}  // namespace

core::Result<ActionResult> AwsBackend::Impl::stop_or_start(const LifecycleRequest& request,
                                                           bool start, Scope scope,
                                                           const RequestContext& context) {
  const std::string& env = request.environment;
  const std::string_view verb = start ? "started" : "stopped";
  const std::string_view infinitive = start ? "start" : "stop";
  const std::string_view wanted = start ? "running" : "stopped";

  auto inventory = discover(env, scope);
  if (!inventory) return inventory.error();
  if (inventory->empty() && inventory->problems.empty()) {
    return core::make_error(
        core::ErrorCode::not_found,
        fmt::format("Nothing to {} in `{}`: {}", infinitive, env, nothing_tagged(env)),
        fmt::format("aws backend: no resources tagged {}={}", settings_.tag_key, env));
  }
  Described described = describe(env, *inventory, scope);

  Tally tally;
  for (const auto& line : described.problems) {
    tally.fail(line, described.first_error.value_or(core::make_error(
                         core::ErrorCode::unavailable, line, "aws backend: describe problem")));
  }
  if (scope.rds) {
    // The environment's instance in such a cluster is not stopped or started.
    for (const auto& line : described.untouched) {
      tally.fail(line, core::make_error(core::ErrorCode::conflict, line,
                                        fmt::format("aws backend: {} of {}: RDS cluster tagged for "
                                                    "another environment left alone",
                                                    to_string(request.action), env)));
    }
  }
  std::int64_t ecs_changed = 0;
  std::int64_t rds_changed = 0;
  std::int64_t clusters_changed = 0;
  std::int64_t ec2_changed = 0;

  auto run_ecs = [&] {
    for (const auto& service : described.ecs_services) {
      const std::string label = ecs_label(service.name);
      if (service.status != "ACTIVE") continue;  // DRAINING: being deleted
      if (!start) {
        if (service.desired_count == 0) {
          tally.already(label, wanted);
          continue;
        }
        // Remember the count first: without it, start could not restore it.
        auto tagged =
            apis_.ecs->tag_resource(service.arn, {aws::Tag{std::string(aws::kIamDesiredCountTagKey),
                                                           std::to_string(service.desired_count)}});
        if (!tagged) {
          tally.fail(label, tagged.failure());
          continue;
        }
        auto updated = apis_.ecs->update_service(service.cluster_arn, service.arn, 0);
        if (!updated) {
          tally.fail(label, updated.failure());
          continue;
        }
      } else {
        if (service.desired_count > 0) {
          tally.already(label, wanted);
          continue;
        }
        auto updated = apis_.ecs->update_service(service.cluster_arn, service.arn,
                                                 remembered_count(service.tags));
        if (!updated) {
          tally.fail(label, updated.failure());
          continue;
        }
      }
      ++ecs_changed;
      ++tally.succeeded;
    }
  };

  auto run_rds = [&] {
    const States already_states =
        start ? States{"available", "starting"} : States{"stopped", "stopping"};
    // One RDS resource, an instance or a cluster: act, and read an invalid-state answer as
    // "already under way or done" when describing it again says so.
    auto act_on = [&](const std::string& identifier, const std::string& status,
                      const std::string& label, auto change, auto describe,
                      std::string_view invalid_state, std::int64_t& changed_count) {
      if (one_of(status, already_states)) {
        tally.already(label, wanted);
        return;
      }
      auto changed = change(identifier);
      if (changed) {
        ++changed_count;
        ++tally.succeeded;
        return;
      }
      if (changed.failure().is(invalid_state)) {
        auto again = describe(identifier);
        if (again && !again->empty()) {
          if (one_of(again->front().status, already_states)) {
            tally.already(label, wanted);
          } else {
            tally.fail(fmt::format("{}: cannot be {} while {}", label, verb, again->front().status),
                       changed.error());
          }
          return;
        }
      }
      tally.fail(label, changed.failure());
    };
    auto& rds = *apis_.rds;
    for (const auto& cluster : described.rds_clusters) {
      act_on(
          cluster.identifier, cluster.status, cluster_label(cluster.identifier),
          [&](const std::string& id) {
            return start ? rds.start_db_cluster(id) : rds.stop_db_cluster(id);
          },
          [&](const std::string& id) { return rds.describe_db_clusters({id}); },
          "InvalidDBClusterStateFault", clusters_changed);
    }
    for (const auto& instance : described.rds_instances) {
      if (!instance.cluster_identifier.empty()) continue;  // through its cluster
      act_on(
          instance.identifier, instance.status, rds_label(instance.identifier),
          [&](const std::string& id) {
            return start ? rds.start_db_instance(id) : rds.stop_db_instance(id);
          },
          [&](const std::string& id) { return rds.describe_db_instances({id}); },
          "InvalidDBInstanceState", rds_changed);
    }
  };

  auto run_ec2 = [&] {
    const States already_states =
        start ? States{"running", "pending"} : States{"stopped", "stopping"};
    std::map<std::string, const aws::Ec2InstanceDescription*> by_id;
    std::vector<std::string> targets;
    for (const auto& instance : described.ec2_instances) {
      if (one_of(instance.state, already_states)) {
        tally.already(ec2_label(instance), wanted);
      } else if (instance.state != "shutting-down") {
        targets.push_back(instance.id);
        by_id[instance.id] = &instance;
      }
    }
    isolating(
        targets,
        [&](const std::vector<std::string>& ids) -> std::optional<aws::CallError> {
          auto changed = start ? apis_.ec2->start_instances(ids) : apis_.ec2->stop_instances(ids);
          if (!changed) return std::move(changed).failure();
          ec2_changed += static_cast<std::int64_t>(ids.size());
          tally.succeeded += static_cast<std::int64_t>(ids.size());
          return std::nullopt;
        },
        [&](const std::vector<std::string>& ids, const aws::CallError& failure) {
          if (ids.size() == 1 && failure.is("IncorrectInstanceState")) {
            const auto* instance = by_id[ids.front()];
            auto again = apis_.ec2->describe_instances(ids);
            if (again && !again->empty()) {
              if (one_of(again->front().state, already_states)) {
                tally.already(ec2_label(*instance), wanted);
              } else {
                tally.fail(fmt::format("{}: cannot be {} while {}", ec2_label(*instance), verb,
                                       again->front().state),
                           failure.error);
              }
              return;
            }
          }
          const std::string label = ids.size() == 1 ? ec2_label(*by_id[ids.front()])
                                                    : fmt::format("EC2 {}", core::join(ids, ", "));
          tally.fail(label, failure, static_cast<std::int64_t>(ids.size()));
        });
  };

  // Stop the applications before their databases; start the databases first.
  if (start) {
    if (scope.rds) run_rds();
    if (scope.ec2) run_ec2();
    if (scope.ecs) run_ecs();
  } else {
    if (scope.ecs) run_ecs();
    if (scope.ec2) run_ec2();
    if (scope.rds) run_rds();
  }

  std::vector<std::pair<std::string, std::int64_t>> details;
  if (scope.ecs) details.emplace_back(fmt::format("ecs_services_{}", verb), ecs_changed);
  if (scope.rds) {
    details.emplace_back(fmt::format("rds_instances_{}", verb), rds_changed);
    details.emplace_back(fmt::format("rds_clusters_{}", verb), clusters_changed);
  }
  if (scope.ec2) details.emplace_back(fmt::format("ec2_instances_{}", verb), ec2_changed);

  logger_->info(
      "aws backend action: request_id={} action={} environment={} ecs={} "
      "rds_instances={} rds_clusters={} ec2={} succeeded={} failed={}",
      context.request_id, to_string(request.action), env, ecs_changed, rds_changed,
      clusters_changed, ec2_changed, tally.succeeded, tally.failed);
  return conclude(request, verb, infinitive, std::move(details), std::move(tally));
}

core::Result<ActionResult> AwsBackend::Impl::reboot(const LifecycleRequest& request,
                                                    const RequestContext& context) {
  const std::string& env = request.environment;
  auto inventory = discover(env, Scope{false, false, true});
  if (!inventory) return inventory.error();
  Described described = describe(env, *inventory, Scope{false, false, true});
  if (described.ec2_instances.empty()) {
    if (described.first_error) {
      core::Error error = *described.first_error;
      error.user_message = fmt::format("Could not describe the EC2 instances of `{}`: {}", env,
                                       join_limited(described.problems));
      return error;
    }
    // "Nothing is tagged" only when nothing is: an environment of ECS and
    // RDS alone (or whose instances were terminated) has no EC2 instance.
    bool nothing = inventory->empty() && inventory->problems.empty();
    if (nothing) {
      auto everything = discover(env, Scope{true, true, true});
      nothing = everything && everything->empty() && everything->problems.empty();
    }
    if (nothing) {
      return core::make_error(
          core::ErrorCode::not_found,
          fmt::format("`{}` has no EC2 instances to reboot. {}", env, nothing_tagged(env)),
          fmt::format("aws backend: reboot of {}: nothing tagged", env));
    }
    return core::make_error(
        core::ErrorCode::not_found,
        fmt::format("No EC2 instance is tagged `{}={}` (terminated ones are not counted).",
                    settings_.tag_key, env),
        fmt::format("aws backend: reboot of {}: no EC2 instance", env));
  }

  std::vector<const aws::Ec2InstanceDescription*> chosen;
  for (const auto& instance : described.ec2_instances) {
    if (!request.instance_name || name_of(instance) == *request.instance_name) {
      chosen.push_back(&instance);
    }
  }
  if (chosen.empty()) {
    std::vector<std::string> names;
    for (const auto& instance : described.ec2_instances) {
      const std::string name = name_of(instance);
      names.push_back(name.empty() ? instance.id : fmt::format("`{}`", name));
    }
    return core::make_error(core::ErrorCode::not_found,
                            fmt::format("No EC2 instance named `{}` in `{}`. Its instances: {}.",
                                        *request.instance_name, env, core::join(names, ", ")),
                            fmt::format("aws backend: reboot of {}: no instance named {}", env,
                                        *request.instance_name));
  }

  Tally tally;
  for (const auto& line : described.problems) {
    tally.fail(line, described.first_error.value_or(core::make_error(
                         core::ErrorCode::unavailable, line, "aws backend: describe problem")));
  }
  std::map<std::string, const aws::Ec2InstanceDescription*> by_id;
  std::vector<std::string> targets;
  std::vector<std::string> not_running;
  for (const auto* instance : chosen) {
    if (instance->state == "running") {
      targets.push_back(instance->id);
      by_id[instance->id] = instance;
    } else {
      not_running.push_back(
          fmt::format("{}: not rebooted, it is {}", ec2_label(*instance), instance->state));
    }
  }
  if (targets.empty()) {
    return core::make_error(
        core::ErrorCode::conflict,
        request.instance_name
            ? fmt::format("`{}` in `{}` is not running ({}); only a running instance can be "
                          "rebooted.",
                          *request.instance_name, env, chosen.front()->state)
            : fmt::format("Nothing to reboot in `{}`: none of its EC2 instances is running.", env),
        fmt::format("aws backend: reboot of {}: nothing running", env));
  }
  tally.notes.insert(tally.notes.end(), not_running.begin(), not_running.end());

  std::int64_t rebooted = 0;
  isolating(
      targets,
      [&](const std::vector<std::string>& ids) -> std::optional<aws::CallError> {
        auto done = apis_.ec2->reboot_instances(ids);
        if (!done) return std::move(done).failure();
        rebooted += static_cast<std::int64_t>(ids.size());
        tally.succeeded += static_cast<std::int64_t>(ids.size());
        return std::nullopt;
      },
      [&](const std::vector<std::string>& ids, const aws::CallError& failure) {
        const std::string label = ids.size() == 1 ? ec2_label(*by_id[ids.front()])
                                                  : fmt::format("EC2 {}", core::join(ids, ", "));
        tally.fail(label, failure, static_cast<std::int64_t>(ids.size()));
      });

  logger_->info(
      "aws backend action: request_id={} action=reboot environment={} name={} "
      "rebooted={} failed={}",
      context.request_id, env, request.instance_name.value_or("-"), rebooted, tally.failed);
  return conclude(request, "rebooted", "reboot", {{"ec2_instances_rebooted", rebooted}},
                  std::move(tally));
}

}  // namespace infra
