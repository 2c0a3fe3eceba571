// The aws backend's allow-list: ingress rules in the environment's security
// groups tagged `<tag_key>=<env>` and `infra-bot:whitelist=true`, one rule per
// CIDR and port, marked as the bot's by their description
// (whitelist_rule_description.hpp). No other rule is listed, changed or removed.

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "aws/iam_policy.hpp"
#include "aws_backend_impl.hpp"
#include "core/strings.hpp"
#include "infra/aws_backend.hpp"
#include "infra/command_parser.hpp"

namespace infra {
namespace {

// A rule's CIDR as the command parser writes it (AWS and inet_ntop agree on
// canonical forms, but a hand-made rule may not be canonical).
std::string canonical_cidr(const std::string& text) {
  ParserSettings settings;
  settings.min_prefix_v4 = 1;
  settings.min_prefix_v6 = 1;
  auto parsed = parse_cidr(text, settings);
  return parsed ? parsed->text : text;
}

bool covers(const aws::SecurityGroupRule& rule, int port) {
  return (rule.protocol == "tcp" || rule.protocol == "6") && rule.from_port <= port &&
         port <= rule.to_port;
}

// Later expiry first; no readable expiry counts as the earliest (it has expired).
bool later(const BotRule& a, const BotRule& b) {
  if (!b.description.until) return a.description.until.has_value();
  if (!a.description.until) return false;
  return *a.description.until > *b.description.until;
}

// The entry a rule stands for. A rule with the bot's marker but no readable
// until= says so in its description: it has expired and is removed by the
// next sweep or refresh.
WhitelistEntry entry_of(const BotRule& rule) {
  std::string description = rule.description.note;
  if (!rule.description.until) {
    description = description.empty() ? "no readable expiry"
                                      : fmt::format("{} (no readable expiry)", description);
  }
  return WhitelistEntry{rule.cidr, std::move(description), rule.description.added_by,
                        rule.description.until};
}

core::Error group_error(std::string_view group, const aws::CallError& failure) {
  core::Error error = failure.error;
  error.user_message = failure_line(fmt::format("Security group {}", group), failure);
  return error;
}

bool rule_gone(const aws::CallError& failure) {
  return failure.code.find("NotFound") != std::string::npos;
}

}  // namespace

core::Result<std::vector<std::string>> AwsBackend::Impl::whitelist_groups(
    std::string_view environment) {
  const std::string whitelist_key(aws::kIamWhitelistTagKey);
  auto none = [&] {
    return core::make_error(
        core::ErrorCode::not_found,
        fmt::format("`{}` has no security group for the allow-list: tag the group(s) that "
                    "guard it `{}={}` and `{}=true`.",
                    environment, settings_.tag_key, environment, whitelist_key),
        fmt::format("aws backend: no security group tagged {}={} and {}=true{}", settings_.tag_key,
                    environment, whitelist_key,
                    settings_.region.empty() ? "" : " in " + settings_.region));
  };

  aws::GetResourcesQuery query;
  query.tag_filters.push_back(aws::TagFilter{settings_.tag_key, {std::string(environment)}});
  query.tag_filters.push_back(aws::TagFilter{whitelist_key, {"true"}});
  query.resource_types.emplace_back("ec2:security-group");
  auto found = apis_.tagging->get_resources(query);
  if (!found) return found.error();
  std::vector<std::string> ids;
  for (const auto& resource : *found) {
    const auto slash = resource.arn.rfind("security-group/");
    if (slash == std::string::npos) continue;
    std::string id = resource.arn.substr(slash + 15);
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  if (ids.empty()) return none();

  // The groups' current tags decide (the tagging API also lists once-tagged ones).
  auto check = [&](const std::vector<aws::SecurityGroup>& groups, std::vector<std::string>& out) {
    for (const auto& group : groups) {
      if (tagged_for(group.tags, environment) &&
          aws::find_tag(group.tags, whitelist_key) == "true") {
        out.push_back(group.id);
      }
    }
  };
  std::vector<std::string> groups;
  auto described = apis_.ec2->describe_security_groups(ids);
  if (described) {
    check(*described, groups);
  } else if (ids.size() > 1 && rule_gone(described.failure())) {
    // One of them was deleted since it was tagged: look at each.
    for (const auto& id : ids) {
      auto single = apis_.ec2->describe_security_groups({id});
      if (single) {
        check(*single, groups);
      } else if (!rule_gone(single.failure())) {
        return group_error(id, single.failure());
      }
    }
  } else if (!rule_gone(described.failure())) {
    return described.error();
  }
  if (groups.empty()) return none();
  std::sort(groups.begin(), groups.end());
  return groups;
}

core::Result<std::vector<BotRule>> AwsBackend::Impl::bot_rules(
    const std::vector<std::string>& groups) {
  auto described = apis_.ec2->describe_security_group_rules(groups);
  if (!described) return described.error();
  std::vector<BotRule> rules;
  for (auto& rule : *described) {
    if (rule.is_egress) continue;
    auto description = decode_rule_description(rule.description);
    if (!description) continue;  // not the bot's
    const bool ipv6 = rule.cidr_ipv4.empty();
    const std::string& raw = ipv6 ? rule.cidr_ipv6 : rule.cidr_ipv4;
    if (raw.empty()) continue;                // a group or prefix-list rule
    std::string range = canonical_cidr(raw);  // before `rule` is moved from
    rules.push_back(BotRule{std::move(rule), std::move(*description), std::move(range), ipv6});
  }
  return rules;
}

std::string GroupFailures::list() const {
  std::vector<std::string> parts;
  for (const auto& [group, failure] : by_group) {
    parts.push_back(fmt::format("{} ({})", group, failure_reason(failure)));
  }
  return core::join(parts, ", ");
}

std::string GroupFailures::succeeded(const std::vector<std::string>& groups) const {
  std::vector<std::string> ok;
  for (const auto& group : groups) {
    if (!failed(group)) ok.push_back(group);
  }
  return core::join(ok, ", ");
}

core::Error GroupFailures::error(std::string user_message, bool partial,
                                 std::string_view what) const {
  std::vector<std::string> details;
  for (const auto& [group, failure] : by_group) {
    details.push_back(fmt::format("{}: {}", group, failure.error.detail));
  }
  const core::ErrorCode code = partial || by_group.empty() ? core::ErrorCode::unavailable
                                                           : by_group.begin()->second.error.code;
  return core::make_error(code, std::move(user_message),
                          fmt::format("aws backend whitelist {}: {} in {} group(s): {}", what,
                                      partial ? "partly done, failed" : "failed", by_group.size(),
                                      core::join(details, "; ")));
}

std::unique_lock<std::mutex> AwsBackend::Impl::lock_allow_list(std::string_view environment) {
  std::mutex* mutex = nullptr;
  {
    std::lock_guard guard(allow_list_locks_mutex_);
    auto found = allow_list_locks_.find(environment);
    if (found == allow_list_locks_.end()) {
      found = allow_list_locks_.try_emplace(std::string(environment)).first;
    }
    mutex = &found->second;
  }
  return std::unique_lock(*mutex);
}

AwsBackend::Impl::Authorized AwsBackend::Impl::authorize_ports(const std::string& group,
                                                               const std::string& cidr, bool ipv6,
                                                               const std::vector<int>& ports,
                                                               const std::string& description) {
  Authorized out;
  if (ports.empty()) return out;
  auto rule_for = [&](int port) {
    return aws::IngressRule{cidr, ipv6, port, port, "tcp", description};
  };
  std::vector<aws::IngressRule> rules;
  for (const int port : ports) rules.push_back(rule_for(port));
  auto all = apis_.ec2->authorize_ingress(group, rules);
  if (all) {
    out.added = static_cast<std::int64_t>(ports.size());
    return out;
  }
  // All or nothing: one rule already there (the bot's, from an earlier
  // attempt, or someone else's) fails the batch. Add them one by one; a
  // duplicate is present already.
  if (!all.failure().is("InvalidPermission.Duplicate")) {
    out.failure = std::move(all).failure();
    return out;
  }
  if (ports.size() == 1) return out;
  for (const int port : ports) {
    auto one = apis_.ec2->authorize_ingress(group, {rule_for(port)});
    if (one) {
      ++out.added;
    } else if (!one.failure().is("InvalidPermission.Duplicate") && !out.failure) {
      out.failure = std::move(one).failure();  // the other ports are still tried
    }
  }
  return out;
}

AwsBackend::Impl::Revoked AwsBackend::Impl::revoke_rules(const std::string& group,
                                                         const std::vector<std::string>& rule_ids) {
  Revoked out;
  if (rule_ids.empty()) return out;
  auto revoked = apis_.ec2->revoke_ingress(group, rule_ids);
  if (revoked || (rule_ids.size() == 1 && rule_gone(revoked.failure()))) {
    out.count = static_cast<std::int64_t>(rule_ids.size());
    return out;
  }
  if (!rule_gone(revoked.failure())) {
    out.left = rule_ids;
    out.failure = std::move(revoked).failure();
    return out;
  }
  // One of them is gone already (removed meanwhile): revoke the others alone.
  for (const auto& id : rule_ids) {
    auto one = apis_.ec2->revoke_ingress(group, {id});
    if (one || rule_gone(one.failure())) {
      ++out.count;
      continue;
    }
    out.left.push_back(id);
    if (!out.failure) out.failure = std::move(one).failure();
  }
  return out;
}

AwsBackend::Impl::ExpiredRemoval AwsBackend::Impl::remove_expired(const std::vector<BotRule>& rules,
                                                                  core::TimePoint now) {
  ExpiredRemoval out;
  std::map<std::string, std::vector<std::string>> by_group;
  std::map<std::string, std::vector<const BotRule*>> expired_by_cidr;
  std::set<std::string> live_cidrs;
  for (const auto& rule : rules) {
    if (!rule_expired(rule.description, now)) {
      live_cidrs.insert(rule.cidr);
      continue;
    }
    by_group[rule.rule.group_id].push_back(rule.rule.id);
    expired_by_cidr[rule.cidr].push_back(&rule);
  }
  std::set<std::string> left;
  for (const auto& [group, ids] : by_group) {
    auto revoked = revoke_rules(group, ids);
    out.removed += revoked.count;
    left.insert(revoked.left.begin(), revoked.left.end());
    if (revoked.failure) out.failures.add(group, *revoked.failure);
  }
  for (const auto& [cidr, expired] : expired_by_cidr) {
    // A CIDR with a live rule left (renewed in part) has not expired; one
    // with an expired rule still there is removed (and noticed) by the next
    // sweep.
    if (live_cidrs.contains(cidr)) continue;
    if (std::any_of(expired.begin(), expired.end(),
                    [&](const BotRule* rule) { return left.contains(rule->rule.id); })) {
      continue;
    }
    const BotRule* latest =
        *std::min_element(expired.begin(), expired.end(),
                          [](const BotRule* a, const BotRule* b) { return later(*a, *b); });
    out.entries.push_back(entry_of(*latest));
  }
  return out;
}

core::Result<WhitelistAdded> AwsBackend::Impl::whitelist_add(const WhitelistAdd& command,
                                                             const RequestContext& context) {
  const std::string& env = command.env;
  const auto lock = lock_allow_list(env);
  auto groups = whitelist_groups(env);
  if (!groups) return groups.error();
  auto rules = bot_rules(*groups);
  if (!rules) return rules.error();

  std::vector<const BotRule*> mine;
  const BotRule* latest = nullptr;
  for (const auto& rule : *rules) {
    if (rule.cidr != command.cidr.text) continue;
    mine.push_back(&rule);
    if (latest == nullptr || later(rule, *latest)) latest = &rule;
  }
  const bool replaced = !mine.empty();
  // Renewing without --description keeps the old one: extending a TTL should
  // not erase why the address was let in.
  WhitelistRuleDescription wanted;
  wanted.until = std::chrono::floor<std::chrono::seconds>(clock_.now() + command.ttl);
  wanted.added_by = context.requested_by.user_id;
  wanted.note = command.description.value_or(latest != nullptr ? latest->description.note : "");
  const std::string text = encode_rule_description(wanted);
  const WhitelistRuleDescription stored = decode_rule_description(text).value_or(wanted);

  // Group by group; one that fails does not keep the others from the change.
  std::int64_t added = 0;
  std::int64_t renewed = 0;
  GroupFailures failures;
  for (const auto& group : *groups) {
    std::vector<aws::RuleDescription> renew;
    std::vector<int> missing;
    for (const auto* rule : mine) {
      if (rule->rule.group_id == group) renew.push_back(aws::RuleDescription{rule->rule.id, text});
    }
    for (const auto port : settings_.whitelist_ports) {
      const bool present = std::any_of(mine.begin(), mine.end(), [&](const BotRule* rule) {
        return rule->rule.group_id == group && covers(rule->rule, port);
      });
      if (!present) missing.push_back(port);
    }
    if (!renew.empty()) {
      auto updated = apis_.ec2->update_rule_descriptions(group, renew);
      if (updated) {
        renewed += static_cast<std::int64_t>(renew.size());
      } else {
        failures.add(group, updated.failure());
      }
    }
    auto authorized = authorize_ports(group, command.cidr.text, command.cidr.ipv6, missing, text);
    added += authorized.added;
    if (authorized.failure) failures.add(group, *authorized.failure);
  }
  logger_->info(
      "aws backend whitelist add: request_id={} environment={} cidr={} groups={} "
      "rules_added={} rules_renewed={} replaced={} groups_failed={}",
      context.request_id, env, command.cidr.text, groups->size(), added, renewed, replaced,
      failures.by_group.size());
  if (!failures.empty()) {
    const bool partial = failures.by_group.size() < groups->size();
    return failures.error(
        partial ? fmt::format("`{}` was added to {} but not to {}. Run the same `/infra whitelist "
                              "add` again to retry.",
                              command.cidr.text, failures.succeeded(*groups), failures.list())
                : fmt::format("Could not add `{}` to {}.", command.cidr.text, failures.list()),
        partial, "add " + command.cidr.text);
  }
  return WhitelistAdded{
      env, WhitelistEntry{command.cidr.text, stored.note, stored.added_by, stored.until}, replaced};
}

core::Result<WhitelistRemoved> AwsBackend::Impl::whitelist_remove(const WhitelistRemove& command,
                                                                  const RequestContext& context) {
  const std::string& env = command.env;
  const auto lock = lock_allow_list(env);
  auto groups = whitelist_groups(env);
  if (!groups) return groups.error();
  auto rules = bot_rules(*groups);
  if (!rules) return rules.error();
  std::map<std::string, std::vector<std::string>> by_group;
  for (const auto& rule : *rules) {
    if (rule.cidr == command.cidr.text) by_group[rule.rule.group_id].push_back(rule.rule.id);
  }
  if (by_group.empty()) {
    return core::make_error(
        core::ErrorCode::not_found,
        fmt::format("`{}` is not on the allow-list of `{}`.", command.cidr.text, env),
        fmt::format("aws backend: remove of unlisted {} from {}", command.cidr.text, env));
  }
  std::int64_t removed = 0;
  GroupFailures failures;
  std::vector<std::string> holding;  // the groups the CIDR was in
  for (const auto& [group, ids] : by_group) {
    holding.push_back(group);
    auto revoked = revoke_rules(group, ids);
    removed += revoked.count;
    if (revoked.failure) failures.add(group, *revoked.failure);
  }
  logger_->info(
      "aws backend whitelist remove: request_id={} environment={} cidr={} "
      "rules_removed={} groups_failed={}",
      context.request_id, env, command.cidr.text, removed, failures.by_group.size());
  if (!failures.empty()) {
    const bool partial = failures.by_group.size() < holding.size();
    // Not refresh: it would put the CIDR back into the groups it left.
    return failures.error(
        partial ? fmt::format("`{0}` was removed from {1} but not from {2}. Run `/infra whitelist "
                              "remove {0} --env={3}` again to retry.",
                              command.cidr.text, failures.succeeded(holding), failures.list(), env)
                : fmt::format("Could not remove `{}` from {}.", command.cidr.text, failures.list()),
        partial, "remove " + command.cidr.text);
  }
  return WhitelistRemoved{env, command.cidr.text};
}

core::Result<WhitelistListing> AwsBackend::Impl::whitelist_list(std::string_view environment,
                                                                const RequestContext&) {
  auto groups = whitelist_groups(environment);
  if (!groups) return groups.error();
  auto rules = bot_rules(*groups);
  if (!rules) return rules.error();
  // One entry per CIDR (its ports and groups together), as its latest rule says.
  std::map<std::string, const BotRule*> by_cidr;
  for (const auto& rule : *rules) {
    auto& latest = by_cidr[rule.cidr];
    if (latest == nullptr || later(rule, *latest)) latest = &rule;
  }
  WhitelistListing listing;
  listing.environment = std::string(environment);
  for (const auto& [cidr, rule] : by_cidr) listing.entries.push_back(entry_of(*rule));
  return listing;
}

core::Result<WhitelistRefreshed> AwsBackend::Impl::whitelist_refresh(
    std::string_view environment, const RequestContext& context) {
  const auto lock = lock_allow_list(environment);
  auto groups = whitelist_groups(environment);
  if (!groups) return groups.error();
  auto rules = bot_rules(*groups);
  if (!rules) return rules.error();
  const core::TimePoint now = clock_.now();

  WhitelistRefreshed result;
  result.environment = std::string(environment);
  result.security_groups = *groups;
  auto expired = remove_expired(*rules, now);
  result.rules_removed = expired.removed;
  result.expired = std::move(expired.entries);
  GroupFailures failures = std::move(expired.failures);

  // Every live CIDR gets every port in every group, with its latest description.
  std::map<std::string, std::vector<const BotRule*>> live;
  for (const auto& rule : *rules) {
    if (rule_expired(rule.description, now)) continue;
    live[rule.cidr].push_back(&rule);
  }
  for (const auto& [cidr, cidr_rules] : live) {
    const BotRule* latest =
        *std::min_element(cidr_rules.begin(), cidr_rules.end(),
                          [](const BotRule* a, const BotRule* b) { return later(*a, *b); });
    for (const auto& group : *groups) {
      std::vector<int> missing;
      for (const auto port : settings_.whitelist_ports) {
        const bool present =
            std::any_of(cidr_rules.begin(), cidr_rules.end(), [&](const BotRule* rule) {
              return rule->rule.group_id == group && covers(rule->rule, port);
            });
        if (!present) missing.push_back(port);
      }
      // Written afresh from the fields, not copied: what AWS holds may not be a valid
      // description any more (other characters, over 255).
      auto added = authorize_ports(group, cidr, latest->ipv6, missing,
                                   encode_rule_description(latest->description));
      result.rules_added += added.added;
      if (added.failure) failures.add(group, *added.failure);
    }
  }
  logger_->info(
      "aws backend whitelist refresh: request_id={} environment={} groups={} "
      "rules_added={} rules_removed={} groups_failed={}",
      context.request_id, environment, groups->size(), result.rules_added, result.rules_removed,
      failures.by_group.size());
  if (!failures.empty()) {
    const bool partial = failures.by_group.size() < groups->size();
    return failures.error(
        partial
            ? fmt::format("The allow-list of `{0}` was refreshed in {1} but not in {2}; {3} "
                          "rules added, {4} removed. Run `/infra whitelist refresh {0}` to "
                          "retry.",
                          environment, failures.succeeded(*groups), failures.list(),
                          result.rules_added, result.rules_removed)
            : fmt::format("Could not refresh the allow-list of `{}` in {}; {} rules added, "
                          "{} removed.",
                          environment, failures.list(), result.rules_added, result.rules_removed),
        partial, fmt::format("refresh {}", environment));
  }
  return result;
}

core::Result<std::vector<WhitelistEntry>> AwsBackend::Impl::whitelist_expire(
    std::string_view environment, core::TimePoint now, const RequestContext& context) {
  const auto lock = lock_allow_list(environment);
  auto groups = whitelist_groups(environment);
  if (!groups) {
    // No allow-list groups: nothing can expire (and the sweep runs every
    // minute for every environment).
    if (groups.error().code == core::ErrorCode::not_found) return std::vector<WhitelistEntry>{};
    return groups.error();
  }
  auto rules = bot_rules(*groups);
  if (!rules) return rules.error();
  auto expired = remove_expired(*rules, now);
  // A group that failed keeps its expired rules for the next sweep; the
  // entries that are gone everywhere get their notice now.
  for (const auto& [group, failure] : expired.failures.by_group) {
    logger_->warn(
        "aws backend whitelist expire: request_id={} environment={} group={}: expired rules "
        "left for the next sweep: {}",
        context.request_id, environment, group, failure.error.detail);
  }
  if (expired.removed > 0) {
    logger_->info(
        "aws backend whitelist expire: request_id={} environment={} rules_removed={} "
        "cidrs_expired={}",
        context.request_id, environment, expired.removed, expired.entries.size());
  }
  return std::move(expired.entries);
}

}  // namespace infra
