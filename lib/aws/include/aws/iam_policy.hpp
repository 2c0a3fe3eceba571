#pragma once

// The least-privilege IAM policy of the aws backend (issue 13): what
// `infra-bot iam-policy --backend=aws` prints, and what the two Lambdas of
// deploy/terraform/modules/orchestrator are granted (that module writes the
// same statements with aws_iam_policy_document; tests/deploy checks that the
// two agree, statement by statement).
//
// Shape (every list sorted, a one-element list written as a plain string, as
// Terraform's aws_iam_policy_document and the AWS console write them):
//
//   Allow  tag:GetResources                                 on "*"
//   Allow  ec2:Describe…, rds:DescribeDB…                   on "*"   (they take no resource ARN)
//   Allow  ecs:DescribeServices                             on ECS service ARNs
//   Allow  ecs:UpdateService                                on ECS service ARNs   ┐ aws:ResourceTag/<tag_key>
//   Allow  ecs:TagResource (only infra-bot:desired-count)   on ECS service ARNs   │ ∈ environments
//   Allow  rds:Stop/StartDBInstance                         on RDS db ARNs        │
//   Allow  rds:Stop/StartDBCluster                          on RDS cluster ARNs   │
//   Allow  ec2:Start/Stop/RebootInstances                   on EC2 instance ARNs  ┘
//   Allow  ec2:Authorize/RevokeSecurityGroupIngress         on security-group ARNs, tagged with an
//                                                              environment AND infra-bot:whitelist=true
//   Deny   every ECS/RDS/EC2 instance action above          on "*" tagged with a protected environment
//
// The allow-list actions are not denied in protected environments: design §3
// allows `whitelist` there. The Deny also blocks `start` and `reboot` of a
// protected environment's ECS/RDS/EC2 resources (IAM cannot tell a scale-up
// UpdateService from a scale-down one), so in protected environments the aws
// backend can read and edit the allow-list, nothing else.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aws {

/// Whose policy: the bot with INFRA_BACKEND=aws, or one of the two Lambdas of
/// `infra-bot lambda` (INFRA_LAMBDA_ROLE).
enum class PolicyRole {
  bot,           ///< everything the aws backend does: ECS, RDS, EC2 instances and the allow-list
  orchestrator,  ///< everything but the allow-list
  whitelist,     ///< only the allow-list (security groups)
};

/// "bot", "orchestrator", "whitelist".
std::string_view to_string(PolicyRole role);
/// The inverse of to_string; nullopt for anything else.
std::optional<PolicyRole> parse_policy_role(std::string_view text);

/// Which resources are an environment's: those tagged `<tag_key>=<environment>`.
struct TagScope {
  std::string tag_key = "Environment";              ///< INFRA_TAG_KEY
  std::vector<std::string> environments;            ///< INFRA_ENVIRONMENTS, in the configured order
  std::vector<std::string> protected_environments;  ///< INFRA_PROTECTED_ENVIRONMENTS; empty = no Deny
};

/// Optional narrowing of the resource ARNs (arn:<partition>:<service>:<region>:<account>:…).
/// "*" matches any region or account.
struct ResourceScope {
  std::string partition = "aws";  ///< aws, aws-cn, aws-us-gov, …
  std::string region = "*";       ///< e.g. eu-west-1
  std::string account_id = "*";   ///< 12 digits
};

/// Whether `scope` and `where` can be written into a policy IAM accepts:
/// a tag key of 1–128 characters from AWS's tag alphabet (letters, digits,
/// space and `_ . : / = + - @`; not starting with `aws:`), environment names
/// of 1–256 characters without control characters, a partition of lower-case
/// letters and `-`, a region of lower-case letters, digits and `-` (or "*"),
/// and a 12-digit account (or "*"). invalid_input names the culprit.
/// The configuration loader already guarantees most of this; call it first
/// when the values come from elsewhere.
core::Status check_policy_scope(const TagScope& scope, const ResourceScope& where = {});

/// The policy document for `role` (pretty JSON, two-space indent, final
/// newline; Version 2012-10-17). Precondition: check_policy_scope(scope, where)
/// holds; otherwise the document is still well-formed JSON, but IAM will refuse
/// it (never a broader grant). Every environment name and tag value is
/// JSON-escaped, and a `$` in one is written `${$}` so IAM never reads it as a
/// policy variable. With no environments there are no mutating Allows; with
/// no protected environments there is no Deny.
///
/// Example:
///   aws::TagScope scope{"Environment", {"dev", "staging", "prod"}, {"prod"}};
///   std::cout << aws::tag_scoped_policy_json(scope, aws::PolicyRole::bot);
std::string tag_scoped_policy_json(const TagScope& scope, PolicyRole role,
                                   const ResourceScope& where = {});

/// The tag the aws backend writes on an ECS service to remember its desired
/// count across stop/start: the only tag key the policy lets it write.
inline constexpr std::string_view kIamDesiredCountTagKey = "infra-bot:desired-count";
/// The tag a security group needs (value "true") for the allow-list to edit it.
inline constexpr std::string_view kIamWhitelistTagKey = "infra-bot:whitelist";

}  // namespace aws
