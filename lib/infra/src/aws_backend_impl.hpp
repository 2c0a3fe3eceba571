#pragma once

// infra::AwsBackend's insides, shared by aws_backend.cpp (discovery, status),
// aws_backend_actions.cpp (stop, start, teardown, reboot) and
// aws_backend_whitelist.cpp (the allow-list). Private to lib/infra.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/aws_backend.hpp"
#include "infra/whitelist_rule_description.hpp"

namespace infra {

/// One line for a note or a problem: "ECS service api: AccessDenied — User …".
std::string failure_line(std::string_view label, const aws::CallError& failure);
/// What failed, without a label: "AccessDenied — User …".
std::string failure_reason(const aws::CallError& failure);

// Labels of resources in notes and problems ("ECS service api", "RDS
// app-dev-db", "RDS cluster app-dev-aurora", "EC2 bastion-dev (i-…)").
std::string ecs_label(std::string_view name);
std::string rds_label(std::string_view id);
std::string cluster_label(std::string_view id);
std::string ec2_label(const aws::Ec2InstanceDescription& instance);
/// An instance's Name tag ("" without one).
std::string name_of(const aws::Ec2InstanceDescription& instance);

/// A refusal about the request itself (denied, unknown, bad, wrong state):
/// splitting the batch shows which resource it was. Throttling, 5xx and
/// network trouble would only fail again for each.
bool isolatable(const aws::CallError& failure);
/// The resource is gone (deleted since it was tagged).
bool gone(const aws::CallError& failure);
/// Notes joined with "; ", cut to what one Slack message shows well.
std::string join_limited(const std::vector<std::string>& lines);

/// Calls `batch` for all of `ids`; when AWS refuses the whole batch and it
/// holds more than one id, once per id, so one refused resource does not hide
/// the others. `on_failure(ids, failure)` gets each failure that is left.
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
  std::vector<std::string> problems;       ///< ARNs that could not be read

  bool empty() const {
    return ecs_services.empty() && rds_instances.empty() && rds_clusters.empty() &&
           ec2_instances.empty();
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

/// The first failure in each security group of one allow-list change (the
/// change goes on in the other groups).
struct GroupFailures {
  std::map<std::string, aws::CallError> by_group;

  void add(const std::string& group, const aws::CallError& failure) {
    by_group.try_emplace(group, failure);
  }
  bool empty() const { return by_group.empty(); }
  bool failed(const std::string& group) const { return by_group.contains(group); }
  /// "sg-B (AccessDenied — …), sg-C (RequestLimitExceeded)".
  std::string list() const;
  /// The groups of `groups` that did not fail, joined with ", ".
  std::string succeeded(const std::vector<std::string>& groups) const;
  /// An Error for a change that failed in these groups: `partial` (some
  /// groups changed) is `unavailable`, else the first failure's code; the
  /// detail names each group's failure.
  core::Error error(std::string user_message, bool partial, std::string_view what) const;
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

  // aws_backend_actions.cpp
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
  struct Authorized {
    std::int64_t added = 0;                 ///< rules created
    std::optional<aws::CallError> failure;  ///< the first port that could not be added
  };
  /// Adds `ports` for `cidr` in `group` (all in one call; on
  /// InvalidPermission.Duplicate one by one, a duplicate counting as present,
  /// a failing port not stopping the others).
  Authorized authorize_ports(const std::string& group, const std::string& cidr, bool ipv6,
                             const std::vector<int>& ports, const std::string& description);
  struct Revoked {
    std::int64_t count = 0;                 ///< rules revoked (or already gone)
    std::vector<std::string> left;          ///< rule ids still there
    std::optional<aws::CallError> failure;  ///< why they are
  };
  /// Revokes these rules of one group (a rule already gone counts as revoked).
  Revoked revoke_rules(const std::string& group, const std::vector<std::string>& rule_ids);
  struct ExpiredRemoval {
    std::vector<WhitelistEntry> entries;  ///< CIDRs whose expired rules are all gone, none live
    std::int64_t removed = 0;             ///< rules revoked
    GroupFailures failures;               ///< groups whose expired rules (some) are left
  };
  /// Revokes the bot's rules expired at `now`, group by group (a group that
  /// fails does not stop the others).
  ExpiredRemoval remove_expired(const std::vector<BotRule>& rules, core::TimePoint now);

  /// Held around every change of `environment`'s allow-list (add, remove,
  /// refresh, expire; not list): the expiry sweep must not revoke, from an
  /// earlier read, the rules a user's renewal just extended. One process
  /// only: two replicas still race.
  std::unique_lock<std::mutex> lock_allow_list(std::string_view environment);

  AwsBackendSettings settings_;
  AwsApis apis_;
  const core::Clock& clock_;
  core::LoggerPtr logger_;
  std::mutex allow_list_locks_mutex_;  ///< guards allow_list_locks_
  /// One per environment, made on first use; never erased (a node's mutex does not move).
  std::map<std::string, std::mutex, std::less<>> allow_list_locks_;
};

}  // namespace infra
