#include "aws/ec2_client.hpp"

#include <fmt/format.h>

#include "paging.hpp"
#include "xml.hpp"

namespace aws {
namespace {

// EC2 lists are flat: Name.1, Name.2, …
void add_list(QueryParams& params, std::string_view name, const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    params.emplace_back(fmt::format("{}.{}", name, i + 1), values[i]);
  }
}

Tags tags_of(const pugi::xml_node& node) {
  return detail::tags_of(detail::child(node, "tagSet"), "item", "key", "value");
}

Ec2InstanceDescription parse_instance(const pugi::xml_node& node) {
  Ec2InstanceDescription instance;
  instance.id = detail::text(node, "instanceId");
  instance.state = detail::text(detail::child(node, "instanceState"), "name");
  instance.availability_zone = detail::text(detail::child(node, "placement"), "availabilityZone");
  if (const std::string launch = detail::text(node, "launchTime"); !launch.empty()) {
    instance.launch_time = core::parse_rfc3339(launch);
  }
  instance.tags = tags_of(node);
  return instance;
}

SecurityGroupRule parse_rule(const pugi::xml_node& node) {
  SecurityGroupRule rule;
  rule.id = detail::text(node, "securityGroupRuleId");
  rule.group_id = detail::text(node, "groupId");
  rule.is_egress = detail::boolean(node, "isEgress").value_or(false);
  rule.protocol = detail::text(node, "ipProtocol");
  rule.from_port = static_cast<int>(detail::integer(node, "fromPort").value_or(-1));
  rule.to_port = static_cast<int>(detail::integer(node, "toPort").value_or(-1));
  rule.cidr_ipv4 = detail::text(node, "cidrIpv4");
  rule.cidr_ipv6 = detail::text(node, "cidrIpv6");
  rule.description = detail::text(node, "description");
  return rule;
}

std::string subject_for(std::string_view kind, const std::vector<std::string>& ids) {
  if (ids.size() == 1) return fmt::format("{} {}", kind, ids.front());
  return {};
}

// Calls `operation` and hands the answer's root element to `read`.
template <class Read>
auto call(ServiceClient& service, std::string_view operation, const QueryParams& params,
          Retryability retryability, const std::string& subject, Read read)
    -> decltype(read(pugi::xml_node{})) {
  auto answer = service.call_query(operation, params, retryability, subject);
  if (!answer) return std::move(answer).failure();
  detail::Parsed parsed;
  detail::parse(*answer, parsed);
  if (!parsed.error.empty()) return service.unreadable(operation, parsed.error, subject);
  return read(parsed.document.document_element());
}

// A Describe… with NextToken pagination: `read` takes each page's root.
template <class T, class Read>
Outcome<std::vector<T>> describe_all(ServiceClient& service, std::string_view operation,
                                     const QueryParams& params, const std::string& subject,
                                     int max_pages, Read read) {
  std::vector<T> out;
  detail::PageGuard guard(service.spec().display_name, operation, max_pages);
  std::string token;
  for (;;) {
    QueryParams page = params;
    if (!token.empty()) page.emplace_back("NextToken", token);
    auto next = call(service, operation, page, Retryability::read, subject,
                     [&](const pugi::xml_node& root) -> Outcome<std::string> {
                       read(root, out);
                       return detail::text(root, "nextToken");
                     });
    if (!next) return std::move(next).failure();
    token = std::move(*next);
    if (token.empty()) break;
    if (auto stop = guard.next(token, out.size())) return std::move(*stop);
  }
  return out;
}

Outcome<std::vector<InstanceStateChange>> state_changes(ServiceClient& service,
                                                        std::string_view operation,
                                                        const std::vector<std::string>& ids) {
  QueryParams params;
  add_list(params, "InstanceId", ids);
  // Idempotent: starting a running instance (or stopping a stopped one)
  // changes nothing.
  return call(service, operation, params, Retryability::idempotent, subject_for("instance", ids),
              [](const pugi::xml_node& root) -> Outcome<std::vector<InstanceStateChange>> {
                std::vector<InstanceStateChange> changes;
                detail::for_each(detail::child(root, "instancesSet"), "item",
                                 [&](const pugi::xml_node& item) {
                                   changes.push_back(InstanceStateChange{
                                       detail::text(item, "instanceId"),
                                       detail::text(detail::child(item, "previousState"), "name"),
                                       detail::text(detail::child(item, "currentState"), "name")});
                                 });
                return changes;
              });
}

}  // namespace

Ec2Client::Ec2Client(ServiceClientPtr service, int max_pages)
    : service_(std::move(service)), max_pages_(max_pages) {}

Outcome<std::vector<Ec2InstanceDescription>> Ec2Client::describe_instances(
    const std::vector<std::string>& ids) {
  QueryParams params;
  add_list(params, "InstanceId", ids);
  return describe_all<Ec2InstanceDescription>(
      *service_, "DescribeInstances", params, subject_for("instance", ids), max_pages_,
      [](const pugi::xml_node& root, std::vector<Ec2InstanceDescription>& out) {
        detail::for_each(
            detail::child(root, "reservationSet"), "item", [&](const pugi::xml_node& reservation) {
              detail::for_each(
                  detail::child(reservation, "instancesSet"), "item",
                  [&](const pugi::xml_node& instance) { out.push_back(parse_instance(instance)); });
            });
      });
}

Outcome<std::vector<InstanceStateChange>> Ec2Client::start_instances(
    const std::vector<std::string>& ids) {
  return state_changes(*service_, "StartInstances", ids);
}

Outcome<std::vector<InstanceStateChange>> Ec2Client::stop_instances(
    const std::vector<std::string>& ids) {
  return state_changes(*service_, "StopInstances", ids);
}

Outcome<Done> Ec2Client::reboot_instances(const std::vector<std::string>& ids) {
  QueryParams params;
  add_list(params, "InstanceId", ids);
  // Not repeated once it may have arrived: a second reboot of an instance
  // that is already rebooting cuts its boot short. A 5xx or a timeout after
  // sending is "may or may not have happened" (throttling, which AWS answers
  // before acting, is still retried).
  return call(*service_, "RebootInstances", params, Retryability::once,
              subject_for("instance", ids),
              [](const pugi::xml_node&) -> Outcome<Done> { return Done{}; });
}

Outcome<std::vector<SecurityGroup>> Ec2Client::describe_security_groups(
    const std::vector<std::string>& group_ids) {
  QueryParams params;
  add_list(params, "GroupId", group_ids);
  return describe_all<SecurityGroup>(
      *service_, "DescribeSecurityGroups", params, subject_for("security group", group_ids),
      max_pages_, [](const pugi::xml_node& root, std::vector<SecurityGroup>& out) {
        detail::for_each(detail::child(root, "securityGroupInfo"), "item",
                         [&](const pugi::xml_node& item) {
                           out.push_back(SecurityGroup{detail::text(item, "groupId"),
                                                       detail::text(item, "groupName"),
                                                       detail::text(item, "vpcId"), tags_of(item)});
                         });
      });
}

Outcome<std::vector<SecurityGroupRule>> Ec2Client::describe_security_group_rules(
    const std::vector<std::string>& group_ids) {
  QueryParams params;
  params.emplace_back("Filter.1.Name", "group-id");
  add_list(params, "Filter.1.Value", group_ids);
  return describe_all<SecurityGroupRule>(
      *service_, "DescribeSecurityGroupRules", params, subject_for("security group", group_ids),
      max_pages_, [](const pugi::xml_node& root, std::vector<SecurityGroupRule>& out) {
        detail::for_each(detail::child(root, "securityGroupRuleSet"), "item",
                         [&](const pugi::xml_node& item) { out.push_back(parse_rule(item)); });
      });
}

Outcome<std::vector<SecurityGroupRule>> Ec2Client::authorize_ingress(
    const std::string& group_id, const std::vector<IngressRule>& rules) {
  QueryParams params;
  params.emplace_back("GroupId", group_id);
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    const std::string prefix = fmt::format("IpPermissions.{}.", i + 1);
    params.emplace_back(prefix + "IpProtocol", rule.protocol);
    params.emplace_back(prefix + "FromPort", std::to_string(rule.from_port));
    params.emplace_back(prefix + "ToPort", std::to_string(rule.to_port));
    if (rule.ipv6) {
      params.emplace_back(prefix + "Ipv6Ranges.1.CidrIpv6", rule.cidr);
      params.emplace_back(prefix + "Ipv6Ranges.1.Description", rule.description);
    } else {
      params.emplace_back(prefix + "IpRanges.1.CidrIp", rule.cidr);
      params.emplace_back(prefix + "IpRanges.1.Description", rule.description);
    }
  }
  // Retried like an idempotent call: a repeat whose rules are already there
  // answers InvalidPermission.Duplicate, which the caller reads as "present".
  return call(*service_, "AuthorizeSecurityGroupIngress", params, Retryability::idempotent,
              fmt::format("security group {}", group_id),
              [](const pugi::xml_node& root) -> Outcome<std::vector<SecurityGroupRule>> {
                std::vector<SecurityGroupRule> created;
                detail::for_each(
                    detail::child(root, "securityGroupRuleSet"), "item",
                    [&](const pugi::xml_node& item) { created.push_back(parse_rule(item)); });
                return created;
              });
}

Outcome<Done> Ec2Client::revoke_ingress(const std::string& group_id,
                                        const std::vector<std::string>& rule_ids) {
  QueryParams params;
  params.emplace_back("GroupId", group_id);
  add_list(params, "SecurityGroupRuleId", rule_ids);
  // By rule id, so idempotent in effect: a repeat meets
  // InvalidSecurityGroupRuleId.NotFound, which the caller reads as "gone".
  return call(*service_, "RevokeSecurityGroupIngress", params, Retryability::idempotent,
              fmt::format("security group {}", group_id),
              [](const pugi::xml_node&) -> Outcome<Done> { return Done{}; });
}

Outcome<Done> Ec2Client::update_rule_descriptions(const std::string& group_id,
                                                  const std::vector<RuleDescription>& rules) {
  QueryParams params;
  params.emplace_back("GroupId", group_id);
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string prefix = fmt::format("SecurityGroupRuleDescription.{}.", i + 1);
    params.emplace_back(prefix + "SecurityGroupRuleId", rules[i].rule_id);
    params.emplace_back(prefix + "Description", rules[i].description);
  }
  // Idempotent: setting the same description twice is the same state.
  return call(*service_, "UpdateSecurityGroupRuleDescriptionsIngress", params,
              Retryability::idempotent, fmt::format("security group {}", group_id),
              [](const pugi::xml_node&) -> Outcome<Done> { return Done{}; });
}

}  // namespace aws
