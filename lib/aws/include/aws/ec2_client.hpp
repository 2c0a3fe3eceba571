#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aws/outcome.hpp"
#include "aws/service_client.hpp"
#include "aws/tag.hpp"
#include "core/clock.hpp"

namespace aws {

/// An EC2 instance (DescribeInstances).
struct Ec2InstanceDescription {
  std::string id;
  std::string state;  ///< pending, running, stopping, stopped, shutting-down, terminated
  std::string availability_zone;
  std::optional<core::TimePoint> launch_time;
  Tags tags;
  friend bool operator==(const Ec2InstanceDescription&, const Ec2InstanceDescription&) = default;
};

/// One instance of a Start/StopInstances answer.
struct InstanceStateChange {
  std::string id;
  std::string previous_state;
  std::string current_state;
  friend bool operator==(const InstanceStateChange&, const InstanceStateChange&) = default;
};

struct SecurityGroup {
  std::string id;
  std::string name;
  std::string vpc_id;
  Tags tags;
  friend bool operator==(const SecurityGroup&, const SecurityGroup&) = default;
};

/// A security group rule (DescribeSecurityGroupRules, AuthorizeSecurityGroupIngress).
struct SecurityGroupRule {
  std::string id;        ///< sgr-…
  std::string group_id;  ///< sg-…
  bool is_egress = false;
  std::string protocol;  ///< "tcp", "-1", …
  int from_port = 0;
  int to_port = 0;
  std::string cidr_ipv4;  ///< one of these two is set for a CIDR rule
  std::string cidr_ipv6;
  std::string description;
  friend bool operator==(const SecurityGroupRule&, const SecurityGroupRule&) = default;
};

/// An ingress rule to authorize: one CIDR, one port range.
struct IngressRule {
  std::string cidr;
  bool ipv6 = false;
  int from_port = 0;
  int to_port = 0;
  std::string protocol = "tcp";
  std::string description;
};

/// A new description for one rule (UpdateSecurityGroupRuleDescriptionsIngress).
struct RuleDescription {
  std::string rule_id;
  std::string description;
};

/// EC2 as the aws backend uses it.
class Ec2Api {
 public:
  virtual ~Ec2Api() = default;
  /// These instances (InstanceId.N), every page.
  virtual Outcome<std::vector<Ec2InstanceDescription>> describe_instances(
      const std::vector<std::string>& ids) = 0;
  virtual Outcome<std::vector<InstanceStateChange>> start_instances(
      const std::vector<std::string>& ids) = 0;
  virtual Outcome<std::vector<InstanceStateChange>> stop_instances(
      const std::vector<std::string>& ids) = 0;
  virtual Outcome<Done> reboot_instances(const std::vector<std::string>& ids) = 0;
  /// These groups (GroupId.N), every page.
  virtual Outcome<std::vector<SecurityGroup>> describe_security_groups(
      const std::vector<std::string>& group_ids) = 0;
  /// Every rule (ingress and egress) of these groups (filter group-id), every page.
  virtual Outcome<std::vector<SecurityGroupRule>> describe_security_group_rules(
      const std::vector<std::string>& group_ids) = 0;
  /// All-or-nothing: one duplicate fails the call with InvalidPermission.Duplicate.
  /// The rules created.
  virtual Outcome<std::vector<SecurityGroupRule>> authorize_ingress(
      const std::string& group_id, const std::vector<IngressRule>& rules) = 0;
  virtual Outcome<Done> revoke_ingress(const std::string& group_id,
                                       const std::vector<std::string>& rule_ids) = 0;
  virtual Outcome<Done> update_rule_descriptions(const std::string& group_id,
                                                 const std::vector<RuleDescription>& rules) = 0;
};

/// EC2 over its Query variant (XML answers). Retries: describes are reads;
/// start/stop, revoke by rule id and descriptions are idempotent; reboot is
/// sent once (a repeat would reboot again);
/// AuthorizeSecurityGroupIngress too, because a repeat that finds its rules
/// already there answers InvalidPermission.Duplicate, which the caller reads
/// as "present". Thread-safe.
class Ec2Client final : public Ec2Api {
 public:
  explicit Ec2Client(ServiceClientPtr service, int max_pages = 100);

  Outcome<std::vector<Ec2InstanceDescription>> describe_instances(
      const std::vector<std::string>& ids) override;
  Outcome<std::vector<InstanceStateChange>> start_instances(
      const std::vector<std::string>& ids) override;
  Outcome<std::vector<InstanceStateChange>> stop_instances(
      const std::vector<std::string>& ids) override;
  Outcome<Done> reboot_instances(const std::vector<std::string>& ids) override;
  Outcome<std::vector<SecurityGroup>> describe_security_groups(
      const std::vector<std::string>& group_ids) override;
  Outcome<std::vector<SecurityGroupRule>> describe_security_group_rules(
      const std::vector<std::string>& group_ids) override;
  Outcome<std::vector<SecurityGroupRule>> authorize_ingress(
      const std::string& group_id, const std::vector<IngressRule>& rules) override;
  Outcome<Done> revoke_ingress(const std::string& group_id,
                               const std::vector<std::string>& rule_ids) override;
  Outcome<Done> update_rule_descriptions(const std::string& group_id,
                                         const std::vector<RuleDescription>& rules) override;

 private:
  ServiceClientPtr service_;
  int max_pages_;
};

}  // namespace aws
