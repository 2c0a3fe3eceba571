#include "infra/aws_backend.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "aws/iam_policy.hpp"
#include "aws_backend_impl.hpp"
#include "core/strings.hpp"

namespace infra {
namespace {

constexpr std::string_view kCompleted = "Operation completed successfully.";
constexpr std::string_view kFullTeardownNeedsLambda =
    "`teardown --level=full` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN (or use "
    "`--level=services`, which stops ECS and RDS).";
constexpr std::string_view kSpinupNeedsLambda =
    "`spinup` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN.";

// Longest error text built from many notes (Slack shows it in one message).
constexpr std::size_t kMaxJoinedNotes = 1500;

// "arn:partition:service:region:account:resource" (the resource may hold ':').
struct Arn {
  std::string service;
  std::string resource;
  std::string prefix;  ///< "arn:partition:service:region:account:"
};

std::optional<Arn> parse_arn(std::string_view text) {
  std::size_t at = 0;
  std::array<std::size_t, 5> colons{};
  for (auto& colon : colons) {
    colon = text.find(':', at);
    if (colon == std::string_view::npos) return std::nullopt;
    at = colon + 1;
  }
  if (text.substr(0, colons[0]) != "arn") return std::nullopt;
  Arn arn;
  arn.service = std::string(text.substr(colons[1] + 1, colons[2] - colons[1] - 1));
  arn.resource = std::string(text.substr(colons[4] + 1));
  arn.prefix = std::string(text.substr(0, colons[4] + 1));
  if (arn.resource.empty()) return std::nullopt;
  return arn;
}

std::string short_code(std::string_view code) {
  constexpr std::string_view kSuffix = "Exception";
  if (code.size() > kSuffix.size() && code.ends_with(kSuffix)) code.remove_suffix(kSuffix.size());
  return std::string(code);
}

std::string ecs_label(std::string_view name) { return fmt::format("ECS service {}", name); }
std::string rds_label(std::string_view id) { return fmt::format("RDS {}", id); }
std::string cluster_label(std::string_view id) { return fmt::format("RDS cluster {}", id); }

std::string name_of(const aws::Ec2InstanceDescription& instance) {
  return std::string(aws::find_tag(instance.tags, "Name").value_or(""));
}

std::string ec2_label(const aws::Ec2InstanceDescription& instance) {
  const std::string name = name_of(instance);
  return name.empty() ? fmt::format("EC2 {}", instance.id)
                      : fmt::format("EC2 {} ({})", name, instance.id);
}

// A refusal about the request itself (denied, unknown, bad, wrong state):
// splitting the batch shows which resource it was. Throttling, 5xx and
// network trouble would only fail again for each.
bool isolatable(const aws::CallError& failure) {
  using core::ErrorCode;
  const ErrorCode code = failure.error.code;
  return code == ErrorCode::denied || code == ErrorCode::not_found ||
         code == ErrorCode::invalid_input || code == ErrorCode::conflict;
}

bool gone(const aws::CallError& failure) {
  return failure.error.code == core::ErrorCode::not_found;
}

// Calls `batch` for all of `ids`; when AWS refuses the whole batch and it
// holds more than one id, once per id, so one refused resource does not hide
// the others. `on_failure(ids, failure)` gets each failure that is left.
template <class Batch, class OnFailure>
void isolating(const std::vector<std::string>& ids, Batch&& batch, OnFailure&& on_failure) {
  if (ids.empty()) return;
  auto failure = batch(ids);
  if (!failure) return;
  if (ids.size() == 1 || !isolatable(*failure)) {
    on_failure(ids, *failure);
    return;
  }
  for (const auto& id : ids) {
    if (auto single = batch(std::vector<std::string>{id})) on_failure({id}, *single);
  }
}

std::string join_limited(const std::vector<std::string>& lines) {
  std::string out = core::join(lines, "; ");
  return core::utf8_truncate(out, kMaxJoinedNotes);
}

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

std::string failure_line(std::string_view label, const aws::CallError& failure) {
  // A call that may have run (a reboot after a 5xx or a timeout) says so: the
  // code alone would read as a refusal.
  if (failure.code.empty() || failure.error.code == core::ErrorCode::indeterminate) {
    return fmt::format("{}: {}", label, failure.error.user_message);
  }
  if (failure.message.empty()) return fmt::format("{}: {}", label, short_code(failure.code));
  return fmt::format("{}: {} — {}", label, short_code(failure.code),
                     core::utf8_truncate(failure.message, 200));
}

AwsBackend::Impl::Impl(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock,
                       core::LoggerPtr logger)
    : settings_(std::move(settings)),
      apis_(std::move(apis)),
      clock_(clock),
      logger_(std::move(logger)) {}

bool AwsBackend::Impl::tagged_for(const aws::Tags& tags, std::string_view environment) const {
  return aws::find_tag(tags, settings_.tag_key) == environment;
}

std::string AwsBackend::Impl::nothing_tagged(std::string_view environment) const {
  return fmt::format(
      "Nothing is tagged `{}={}`{}.", settings_.tag_key, environment,
      settings_.region.empty() ? std::string() : fmt::format(" in `{}`", settings_.region));
}

core::Result<Inventory> AwsBackend::Impl::discover(std::string_view environment, Scope scope) {
  aws::GetResourcesQuery query;
  query.tag_filters.push_back(aws::TagFilter{settings_.tag_key, {std::string(environment)}});
  if (scope.ecs) query.resource_types.emplace_back("ecs:service");
  if (scope.rds) {
    query.resource_types.emplace_back("rds:db");
    query.resource_types.emplace_back("rds:cluster");
  }
  if (scope.ec2) query.resource_types.emplace_back("ec2:instance");
  auto found = apis_.tagging->get_resources(query);
  if (!found) return found.error();

  Inventory inventory;
  std::set<std::string> seen;
  for (const auto& resource : *found) {
    if (!seen.insert(resource.arn).second) continue;
    // A resource listed with other tags is not the environment's (one listed
    // with none was once tagged: its service's current tags decide).
    if (!resource.tags.empty() && !tagged_for(resource.tags, environment)) continue;
    const auto arn = parse_arn(resource.arn);
    if (!arn) {
      logger_->warn("aws backend: unreadable ARN from GetResources: {}", resource.arn);
      continue;
    }
    const std::string_view what = arn->resource;
    if (arn->service == "ecs" && what.starts_with("service/")) {
      // Long form service/<cluster>/<name>; the old short form has no cluster.
      const std::string_view rest = what.substr(8);
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos) {
        inventory.problems.push_back(
            fmt::format("{}: its ARN has no cluster (old ARN format), so it cannot be described",
                        ecs_label(rest)));
        continue;
      }
      inventory.ecs_services.push_back(Inventory::EcsService{
          resource.arn, arn->prefix + "cluster/" + std::string(rest.substr(0, slash)),
          std::string(rest.substr(slash + 1))});
    } else if (arn->service == "rds" && what.starts_with("db:")) {
      inventory.rds_instances.emplace_back(what.substr(3));
    } else if (arn->service == "rds" && what.starts_with("cluster:")) {
      inventory.rds_clusters.emplace_back(what.substr(8));
    } else if (arn->service == "ec2" && what.starts_with("instance/")) {
      inventory.ec2_instances.emplace_back(what.substr(9));
    } else if (arn->service == "ec2" && what.starts_with("security-group/")) {
      inventory.security_groups.emplace_back(what.substr(15));
    }
  }
  logger_->debug(
      "aws backend: environment={} discovered ecs={} rds_instances={} "
      "rds_clusters={} ec2={}",
      environment, inventory.ecs_services.size(), inventory.rds_instances.size(),
      inventory.rds_clusters.size(), inventory.ec2_instances.size());
  return inventory;
}

Described AwsBackend::Impl::describe(std::string_view environment, const Inventory& inventory,
                                     Scope scope) {
  Described out;
  out.problems = inventory.problems;
  auto problem = [&](std::string line, const core::Error& error) {
    out.problems.push_back(std::move(line));
    if (!out.first_error) out.first_error = error;
  };

  if (scope.ecs) {
    // DescribeServices is per cluster: group the services by theirs.
    std::map<std::string, std::vector<std::string>> by_cluster;
    std::map<std::string, std::string> names;
    for (const auto& service : inventory.ecs_services) {
      by_cluster[service.cluster_arn].push_back(service.arn);
      names[service.arn] = service.name;
    }
    for (const auto& [cluster, arns] : by_cluster) {
      isolating(
          arns,
          [&](const std::vector<std::string>& ids) -> std::optional<aws::CallError> {
            auto described = apis_.ecs->describe_services(cluster, ids);
            if (!described) return std::move(described).failure();
            for (auto& service : described->services) {
              if (service.status == "INACTIVE" || !tagged_for(service.tags, environment)) {
                continue;
              }
              out.ecs_services.push_back(std::move(service));
            }
            for (const auto& failure : described->failures) {
              // MISSING: deleted since it was tagged.
              if (failure.reason == "MISSING") continue;
              const auto name = failure.arn.substr(failure.arn.rfind('/') + 1);
              problem(fmt::format("{}: {}{}{}", ecs_label(name), failure.reason,
                                  failure.detail.empty() ? "" : " — ", failure.detail),
                      core::make_error(core::ErrorCode::unavailable,
                                       fmt::format("ECS could not describe service {}: {}", name,
                                                   failure.reason),
                                       "ecs DescribeServices failure " + failure.arn));
            }
            return std::nullopt;
          },
          [&](const std::vector<std::string>& ids, const aws::CallError& failure) {
            if (ids.size() == 1 && gone(failure)) return;
            const std::string label = ids.size() == 1
                                          ? ecs_label(names[ids.front()])
                                          : fmt::format("ECS services of cluster {}",
                                                        cluster.substr(cluster.rfind('/') + 1));
            problem(failure_line(label, failure), failure.error);
          });
    }
  }

  if (scope.rds) {
    // One describe per identifier: IAM may allow some and not others, and
    // an environment has few databases.
    std::vector<std::string> cluster_ids = inventory.rds_clusters;
    // Cluster → the environment's instances in it.
    std::map<std::string, std::vector<std::string>> members;
    for (const auto& id : inventory.rds_instances) {
      auto described = apis_.rds->describe_db_instances({id});
      if (!described) {
        if (!gone(described.failure())) {
          problem(failure_line(rds_label(id), described.failure()), described.error());
        }
        continue;
      }
      for (auto& instance : *described) {
        if (instance.identifier != id || !tagged_for(instance.tags, environment)) continue;
        if (!instance.cluster_identifier.empty()) {
          members[instance.cluster_identifier].push_back(instance.identifier);
          if (std::find(cluster_ids.begin(), cluster_ids.end(), instance.cluster_identifier) ==
              cluster_ids.end()) {
            cluster_ids.push_back(instance.cluster_identifier);
          }
        }
        out.rds_instances.push_back(std::move(instance));
      }
    }
    for (const auto& id : cluster_ids) {
      auto described = apis_.rds->describe_db_clusters({id});
      if (!described) {
        if (!gone(described.failure())) {
          problem(failure_line(cluster_label(id), described.failure()), described.error());
        }
        continue;
      }
      for (auto& cluster : *described) {
        if (cluster.identifier != id) continue;
        if (tagged_for(cluster.tags, environment)) {
          out.rds_clusters.push_back(std::move(cluster));
          continue;
        }
        // Only the cluster's own tag decides: a member tagged for this
        // environment does not make a shared (or another environment's)
        // cluster ours to stop. Said, and left alone.
        const auto held = members.find(id);
        if (held == members.end()) continue;
        const auto tag = aws::find_tag(cluster.tags, settings_.tag_key);
        out.untouched.push_back(fmt::format(
            "{} holds {}-tagged instance{} {} but is {}: not touched — tag the cluster `{}={}`",
            cluster_label(id), environment, held->second.size() == 1 ? "" : "s",
            core::join(held->second, ", "),
            tag ? fmt::format("tagged `{}={}`", settings_.tag_key, *tag)
                : fmt::format("not tagged `{}={}`", settings_.tag_key, environment),
            settings_.tag_key, environment));
      }
    }
  }

  if (scope.ec2) {
    isolating(
        inventory.ec2_instances,
        [&](const std::vector<std::string>& ids) -> std::optional<aws::CallError> {
          auto described = apis_.ec2->describe_instances(ids);
          if (!described) return std::move(described).failure();
          for (auto& instance : *described) {
            if (instance.state == "terminated" || !tagged_for(instance.tags, environment)) {
              continue;
            }
            out.ec2_instances.push_back(std::move(instance));
          }
          return std::nullopt;
        },
        [&](const std::vector<std::string>& ids, const aws::CallError& failure) {
          if (ids.size() == 1 && gone(failure)) return;
          const std::string label =
              ids.size() == 1 ? fmt::format("EC2 {}", ids.front()) : fmt::format("EC2 instances");
          problem(failure_line(label, failure), failure.error);
        });
  }

  std::sort(out.ecs_services.begin(), out.ecs_services.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(out.rds_instances.begin(), out.rds_instances.end(),
            [](const auto& a, const auto& b) { return a.identifier < b.identifier; });
  std::sort(out.rds_clusters.begin(), out.rds_clusters.end(),
            [](const auto& a, const auto& b) { return a.identifier < b.identifier; });
  std::sort(out.ec2_instances.begin(), out.ec2_instances.end(), [](const auto& a, const auto& b) {
    return std::pair(name_of(a), a.id) < std::pair(name_of(b), b.id);
  });
  return out;
}

core::Result<EnvironmentStatus> AwsBackend::Impl::status(std::string_view environment,
                                                         const RequestContext& context) {
  auto inventory = discover(environment, Scope{true, true, true});
  if (!inventory) return inventory.error();
  EnvironmentStatus status;
  status.environment = std::string(environment);
  if (inventory->empty() && inventory->problems.empty()) {
    status.problems.push_back(nothing_tagged(environment));
    return status;
  }
  Described described = describe(environment, *inventory, Scope{true, true, true});
  if (!described.any() && described.first_error) {
    core::Error error = *described.first_error;
    error.user_message = fmt::format("Could not describe anything in `{}`: {}", environment,
                                     join_limited(described.problems));
    return error;
  }
  for (const auto& service : described.ecs_services) {
    status.ecs_services.push_back(
        EcsService{service.name, service.status, service.desired_count, service.running_count});
  }
  for (const auto& instance : described.rds_instances) {
    // Cluster members are shown, stopped and started through their cluster.
    if (!instance.cluster_identifier.empty()) continue;
    status.rds_instances.push_back(RdsInstance{instance.identifier, instance.status});
  }
  for (const auto& cluster : described.rds_clusters) {
    status.rds_clusters.push_back(RdsCluster{cluster.identifier, cluster.status, cluster.engine});
  }
  for (const auto& instance : described.ec2_instances) {
    status.ec2_instances.push_back(Ec2Instance{instance.id, name_of(instance), instance.state,
                                               instance.availability_zone, instance.launch_time});
  }
  status.problems = std::move(described.problems);
  status.problems.insert(status.problems.end(), described.untouched.begin(),
                         described.untouched.end());
  logger_->info(
      "aws backend status: request_id={} environment={} ecs={} rds_instances={} "
      "rds_clusters={} ec2={} problems={}",
      context.request_id, environment, status.ecs_services.size(), status.rds_instances.size(),
      status.rds_clusters.size(), status.ec2_instances.size(), status.problems.size());
  return status;
}

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
    for (const auto& cluster : described.rds_clusters) {
      const std::string label = cluster_label(cluster.identifier);
      if (one_of(cluster.status, already_states)) {
        tally.already(label, wanted);
        continue;
      }
      auto changed = start ? apis_.rds->start_db_cluster(cluster.identifier)
                           : apis_.rds->stop_db_cluster(cluster.identifier);
      if (changed) {
        ++clusters_changed;
        ++tally.succeeded;
        continue;
      }
      // A stop or start already under way (or done) answers with an invalid
      // state: what the cluster is now tells which.
      if (changed.failure().is("InvalidDBClusterStateFault")) {
        auto again = apis_.rds->describe_db_clusters({cluster.identifier});
        if (again && !again->empty()) {
          if (one_of(again->front().status, already_states)) {
            tally.already(label, wanted);
          } else {
            tally.fail(fmt::format("{}: cannot be {} while {}", label, verb, again->front().status),
                       changed.error());
          }
          continue;
        }
      }
      tally.fail(label, changed.failure());
    }
    for (const auto& instance : described.rds_instances) {
      if (!instance.cluster_identifier.empty()) continue;  // through its cluster
      const std::string label = rds_label(instance.identifier);
      if (one_of(instance.status, already_states)) {
        tally.already(label, wanted);
        continue;
      }
      auto changed = start ? apis_.rds->start_db_instance(instance.identifier)
                           : apis_.rds->stop_db_instance(instance.identifier);
      if (changed) {
        ++rds_changed;
        ++tally.succeeded;
        continue;
      }
      if (changed.failure().is("InvalidDBInstanceState")) {
        auto again = apis_.rds->describe_db_instances({instance.identifier});
        if (again && !again->empty()) {
          if (one_of(again->front().status, already_states)) {
            tally.already(label, wanted);
          } else {
            tally.fail(fmt::format("{}: cannot be {} while {}", label, verb, again->front().status),
                       changed.error());
          }
          continue;
        }
      }
      tally.fail(label, changed.failure());
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

// ---------------------------------------------------------------------------

AwsBackend::AwsBackend(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock,
                       core::LoggerPtr logger)
    : impl_(
          std::make_unique<Impl>(std::move(settings), std::move(apis), clock, std::move(logger))) {}

AwsBackend::~AwsBackend() = default;

core::Result<EnvironmentStatus> AwsBackend::status(std::string_view environment,
                                                   const RequestContext& context) {
  return impl_->status(environment, context);
}
core::Result<ActionResult> AwsBackend::run(const LifecycleRequest& request,
                                           const RequestContext& context) {
  return impl_->run(request, context);
}
core::Result<WhitelistAdded> AwsBackend::whitelist_add(const WhitelistAdd& command,
                                                       const RequestContext& context) {
  return impl_->whitelist_add(command, context);
}
core::Result<WhitelistRemoved> AwsBackend::whitelist_remove(const WhitelistRemove& command,
                                                            const RequestContext& context) {
  return impl_->whitelist_remove(command, context);
}
core::Result<WhitelistListing> AwsBackend::whitelist_list(std::string_view environment,
                                                          const RequestContext& context) {
  return impl_->whitelist_list(environment, context);
}
core::Result<WhitelistRefreshed> AwsBackend::whitelist_refresh(std::string_view environment,
                                                               const RequestContext& context) {
  return impl_->whitelist_refresh(environment, context);
}
std::optional<std::string> AwsBackend::unsupported(const LifecycleRequest& request) const {
  return impl_->unsupported(request);
}
core::Result<std::vector<WhitelistEntry>> AwsBackend::whitelist_expire(
    std::string_view environment, core::TimePoint now, const RequestContext& context) {
  return impl_->whitelist_expire(environment, now, context);
}

core::Result<std::unique_ptr<AwsBackend>> make_aws_backend(
    const core::Config& config, core::http::Client& http, aws::CredentialsProvider& credentials,
    const core::Clock& clock, aws::Sleeper& sleeper, core::LoggerPtr logger) {
  if (config.aws_region.empty()) {
    return core::make_error(core::ErrorCode::config,
                            "INFRA_BACKEND=aws needs a region: set AWS_REGION.",
                            "make_aws_backend: no region");
  }
  auto client = [&](const aws::ServiceSpec& spec, const std::string& endpoint_url) {
    aws::ServiceSettings settings;
    settings.region = config.aws_region;
    settings.endpoint_url = endpoint_url;
    return aws::ServiceClient::create(spec, std::move(settings), http, credentials, clock, sleeper,
                                      logger);
  };
  auto tagging = client(aws::kTaggingService, config.aws_endpoints.tagging);
  if (!tagging) return tagging.error();
  auto ecs = client(aws::kEcsService, config.aws_endpoints.ecs);
  if (!ecs) return ecs.error();
  auto rds = client(aws::kRdsService, config.aws_endpoints.rds);
  if (!rds) return rds.error();
  auto ec2 = client(aws::kEc2Service, config.aws_endpoints.ec2);
  if (!ec2) return ec2.error();

  AwsApis apis;
  apis.tagging = std::make_unique<aws::TaggingClient>(std::move(*tagging));
  apis.ecs = std::make_unique<aws::EcsClient>(std::move(*ecs));
  apis.rds = std::make_unique<aws::RdsClient>(std::move(*rds));
  apis.ec2 = std::make_unique<aws::Ec2Client>(std::move(*ec2));
  AwsBackendSettings settings{config.tag_key, config.whitelist_ports, config.aws_region};
  return std::make_unique<AwsBackend>(std::move(settings), std::move(apis), clock,
                                      std::move(logger));
}

}  // namespace infra
