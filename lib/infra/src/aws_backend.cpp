// The aws backend: discovery by tag, status, the shared helpers, the public
// class and its factory. The actions are in aws_backend_actions.cpp, the
// allow-list in aws_backend_whitelist.cpp.

#include "infra/aws_backend.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "aws_backend_impl.hpp"
#include "core/strings.hpp"

namespace infra {
namespace {

// Longest error text built from many notes (Slack shows it in one message).
constexpr std::size_t kMaxJoinedNotes = 1500;

// "arn:partition:service:region:account:resource" (the resource may hold ':').
struct Arn {
  std::string service;
  std::string region;
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
  arn.region = std::string(text.substr(colons[2] + 1, colons[3] - colons[2] - 1));
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

}  // namespace

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

bool isolatable(const aws::CallError& failure) {
  using core::ErrorCode;
  const ErrorCode code = failure.error.code;
  return code == ErrorCode::denied || code == ErrorCode::not_found ||
         code == ErrorCode::invalid_input || code == ErrorCode::conflict;
}

bool gone(const aws::CallError& failure) {
  return failure.error.code == core::ErrorCode::not_found;
}

std::string join_limited(const std::vector<std::string>& lines) {
  std::string out = core::join(lines, "; ");
  return core::utf8_truncate(out, kMaxJoinedNotes);
}

std::string failure_reason(const aws::CallError& failure) {
  // A call that may have run (a reboot after a 5xx or a timeout) says so: the
  // code alone would read as a refusal.
  if (failure.code.empty() || failure.error.code == core::ErrorCode::indeterminate) {
    return failure.error.user_message;
  }
  if (failure.message.empty()) return short_code(failure.code);
  return fmt::format("{} — {}", short_code(failure.code),
                     core::utf8_truncate(failure.message, 200));
}

std::string failure_line(std::string_view label, const aws::CallError& failure) {
  return fmt::format("{}: {}", label, failure_reason(failure));
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
    // A resource listed with other tags is not the environment's (one listed
    // with none was once tagged: its service's current tags decide).
    if (!resource.tags.empty() && !tagged_for(resource.tags, environment)) continue;
    const auto arn = parse_arn(resource.arn);
    if (!arn) {
      logger_->warn("aws backend: unreadable ARN from GetResources: {}", resource.arn);
      continue;
    }
    // Every later call goes to the configured region and names RDS and EC2
    // resources by id: a resource of another region is not ours to touch, and
    // one id listed twice is one resource.
    if (!settings_.region.empty() && !arn->region.empty() && arn->region != settings_.region) {
      logger_->warn("aws backend: GetResources listed a resource of another region: {}",
                    resource.arn);
      continue;
    }
    if (!seen.insert(arn->service + ":" + arn->resource).second) continue;
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
    // Named, not a structured binding: clang before 16 cannot capture one in a lambda.
    for (const auto& cluster_services : by_cluster) {
      const std::string& cluster = cluster_services.first;
      isolating(
          cluster_services.second,
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
