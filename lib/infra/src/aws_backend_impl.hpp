#pragma once

// infra::AwsBackend's insides, shared by aws_backend.cpp (discovery, status,
// actions) and aws_backend_whitelist.cpp (the allow-list). Private to lib/infra.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/aws_backend.hpp"
#include "infra/whitelist_rule_description.hpp"

namespace infra {

/// One line for a note or a problem: "ECS service api: AccessDenied — User …".
std::string failure_line(std::string_view label, const aws::CallError& failure);

/// The resources of an environment as the tagging API lists them.
struct Inventory {
  struct EcsService {
    std::string arn;          ///< long ARN …:service/<cluster>/<name>
    std::string cluster_arn;  ///< …:cluster/<cluster>
    std::string name;
  };
  std::vector<EcsService> ecs_services;
  std::vector<std::string> rds_instances;  ///< identifiers
  std::vector<std::string> rds_clusters;   ///< identifiers
  std::vector<std::string> ec2_instances;  ///< ids
  std::vector<std::string> security_groups;
  std::vector<std::string> problems;  ///< ARNs that could not be read

  bool empty() const {
    return ecs_services.empty() && rds_instances.empty() && rds_clusters.empty() &&
           ec2_instances.empty() && security_groups.empty();
  }
};

/// Which services a call needs.
struct Scope {
  bool ecs = false;
  bool rds = false;
  bool ec2 = false;
};

/// The environment's resources as their services describe them now (only
/// those still tagged for the environment).
struct Described {
  std::vector<aws::EcsServiceDescription> ecs_services;    ///< not INACTIVE
  std::vector<aws::DbInstance> rds_instances;              ///< cluster members included
  std::vector<aws::DbCluster> rds_clusters;                ///< tagged for the environment
  std::vector<aws::Ec2InstanceDescription> ec2_instances;  ///< not terminated
  std::vector<std::string> problems;                       ///< one line per failure
  std::optional<core::Error> first_error;                  ///< of the problems
  /// One line per RDS cluster that holds an instance tagged for the
  /// environment but is not tagged for it itself: never stopped or started.
  std::vector<std::string> untouched;
  bool any() const {
    return !ecs_services.empty() || !rds_instances.empty() || !rds_clusters.empty() ||
           !ec2_instances.empty();
  }
};

/// An allow-list rule of the bot's, read back.
struct BotRule {
  aws::SecurityGroupRule rule;
  WhitelistRuleDescription description;
  std::string cidr;  ///< canonical text, as the command parser writes it
  bool ipv6 = false;
};

class AwsBackend::Impl {
 public:
  Impl(AwsBackendSettings settings, AwsApis apis, const core::Clock& clock, core::LoggerPtr logger);

  // aws_backend.cpp
  core::Result<Inventory> discover(std::string_view environment, Scope scope);
  Described describe(std::string_view environment, const Inventory& inventory, Scope scope);
  core::Result<EnvironmentStatus> status(std::string_view environment,
                                         const RequestContext& context);
  core::Result<ActionResult> run(const LifecycleRequest& request, const RequestContext& context);
  std::optional<std::string> unsupported(const LifecycleRequest& request) const;

  // aws_backend_whitelist.cpp
  core::Result<WhitelistAdded> whitelist_add(const WhitelistAdd& command,
                                             const RequestContext& context);
  core::Result<WhitelistRemoved> whitelist_remove(const WhitelistRemove& command,
                                                  const RequestContext& context);
  core::Result<WhitelistListing> whitelist_list(std::string_view environment,
                                                const RequestContext& context);
  core::Result<WhitelistRefreshed> whitelist_refresh(std::string_view environment,
                                                     const RequestContext& context);
  core::Result<std::vector<WhitelistEntry>> whitelist_expire(std::string_view environment,
                                                             core::TimePoint now,
                                                             const RequestContext& context);

  bool tagged_for(const aws::Tags& tags, std::string_view environment) const;
  std::string nothing_tagged(std::string_view environment) const;

 private:
  core::Result<ActionResult> stop_or_start(const LifecycleRequest& request, bool start, Scope scope,
                                           const RequestContext& context);
  core::Result<ActionResult> reboot(const LifecycleRequest& request, const RequestContext& context);

  /// The environment's allow-list groups (tagged tag_key=<env> and
  /// infra-bot:whitelist=true); an Error naming the tags when there are none.
  core::Result<std::vector<std::string>> whitelist_groups(std::string_view environment);
  /// The bot's ingress rules in these groups.
  core::Result<std::vector<BotRule>> bot_rules(const std::vector<std::string>& groups);
  /// Adds `ports` for `cidr` in `group` (all in one call; on
  /// InvalidPermission.Duplicate one by one, a duplicate counting as present).
  /// The number of rules created.
  core::Result<std::int64_t> authorize_ports(const std::string& group, const std::string& cidr,
                                             bool ipv6, const std::vector<int>& ports,
                                             const std::string& description);
  /// Revokes these rules of one group (a rule already gone counts as revoked).
  core::Status revoke_rules(const std::string& group, const std::vector<std::string>& rule_ids);
  /// Revokes the bot's rules expired at `now`; the CIDRs left with no live rule.
  core::Result<std::vector<WhitelistEntry>> remove_expired(const std::vector<BotRule>& rules,
                                                           core::TimePoint now,
                                                           std::int64_t* removed);

  AwsBackendSettings settings_;
  AwsApis apis_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
};

}  // namespace infra
