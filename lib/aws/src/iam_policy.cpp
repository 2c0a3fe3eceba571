#include "aws/iam_policy.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace aws {
namespace {

// Which IAM facts these statements rest on (aws-services notes §12.4, from
// the Service Authorization Reference):
//  - tag:GetResources, ec2:Describe* and rds:DescribeDB* take no resource ARN
//    that could carry a tag condition (EC2's describes none at all; RDS's
//    describes list every instance when called without an identifier), so
//    they are allowed on "*", unconditioned. They only read.
//  - ecs:DescribeServices/UpdateService/TagResource, rds:Stop/Start*,
//    ec2:Start/Stop/RebootInstances and ec2:Authorize/RevokeSecurityGroupIngress,
//    ec2:UpdateSecurityGroupRuleDescriptionsIngress
//    take the resource's ARN and support aws:ResourceTag/<key>: those carry
//    the environment condition.
//  - ecs:TagResource also supports aws:TagKeys (the keys in the request).

struct Statement {
  std::string sid;
  bool deny = false;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
  // operator → condition key → values (std::map: written sorted, as
  // Terraform's aws_iam_policy_document does).
  std::map<std::string, std::map<std::string, std::vector<std::string>>> conditions;
};

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Valid UTF-8, whatever came in: an invalid byte becomes U+FFFD, so the
// document is always well-formed JSON.
std::string well_formed(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

// A literal for a Condition value: IAM expands "${…}" in condition values
// (policy variables), and "${$}" is its escape for a literal "$".
std::string literal_value(std::string_view text) {
  std::string out;
  for (char c : well_formed(text)) {
    if (c == '$') {
      out += "${$}";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> literal_values(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    auto literal = literal_value(value);
    if (std::find(out.begin(), out.end(), literal) == out.end()) out.push_back(std::move(literal));
  }
  return out;
}

std::string arn(const ResourceScope& where, std::string_view service, std::string_view resource) {
  return fmt::format("arn:{}:{}:{}:{}:{}", well_formed(where.partition), service,
                     well_formed(where.region), well_formed(where.account_id), resource);
}

template <class Writer>
void write_string(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// A one-element list as a plain string (IAM accepts both; Terraform and the
// console write the string).
template <class Writer>
void write_list(Writer& writer, const std::vector<std::string>& items) {
  if (items.size() == 1) {
    write_string(writer, items.front());
    return;
  }
  writer.StartArray();
  for (const auto& item : items) write_string(writer, item);
  writer.EndArray();
}

std::string render(const std::vector<Statement>& statements) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  writer.StartObject();
  writer.Key("Version");
  writer.String("2012-10-17");
  writer.Key("Statement");
  writer.StartArray();
  for (const auto& statement : statements) {
    writer.StartObject();
    writer.Key("Sid");
    write_string(writer, statement.sid);
    writer.Key("Effect");
    writer.String(statement.deny ? "Deny" : "Allow");
    auto actions = statement.actions;
    std::sort(actions.begin(), actions.end());
    writer.Key("Action");
    write_list(writer, actions);
    auto resources = statement.resources;
    std::sort(resources.begin(), resources.end());
    writer.Key("Resource");
    write_list(writer, resources);
    if (!statement.conditions.empty()) {
      writer.Key("Condition");
      writer.StartObject();
      for (const auto& [op, keys] : statement.conditions) {
        write_string(writer, op);
        writer.StartObject();
        for (const auto& [key, values] : keys) {
          write_string(writer, key);
          write_list(writer, values);
        }
        writer.EndObject();
      }
      writer.EndObject();
    }
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

bool in_tag_alphabet(char32_t c) {
  if (c >= 0x80) return c != 0xFFFD;  // letters and digits of other scripts (AWS: \p{L}\p{N}\p{Z})
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view(" _.:/=+-@").find(static_cast<char>(c)) != std::string_view::npos;
}

core::Error invalid(std::string message, std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input, std::move(message),
                          "check_policy_scope: " + std::move(detail));
}

// nullopt when `text` is valid UTF-8 with every code point accepted by `ok`;
// else the offending code point (U+FFFD for an invalid byte).
template <class Predicate>
std::optional<char32_t> first_bad(std::string_view text, Predicate ok) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = 0;
    const std::size_t length = core::utf8_decode(text, i, c);
    if (length == 0) return U'\uFFFD';
    if (!ok(c)) return c;
    i += length;
  }
  return std::nullopt;
}

std::string describe(char32_t c) {
  if (c == 0xFFFD) return "an invalid UTF-8 byte";
  if (c >= 0x20 && c < 0x7F) return fmt::format("'{}'", static_cast<char>(c));
  return fmt::format("U+{:04X}", static_cast<unsigned>(c));
}

bool is_control(char32_t c) { return c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0); }

}  // namespace

std::string_view to_string(PolicyRole role) {
  switch (role) {
    case PolicyRole::bot:
      return "bot";
    case PolicyRole::orchestrator:
      return "orchestrator";
    case PolicyRole::whitelist:
      return "whitelist";
  }
  return "bot";
}

std::optional<PolicyRole> parse_policy_role(std::string_view text) {
  for (auto role : {PolicyRole::bot, PolicyRole::orchestrator, PolicyRole::whitelist}) {
    if (text == to_string(role)) return role;
  }
  return std::nullopt;
}

core::Status check_policy_scope(const TagScope& scope, const ResourceScope& where) {
  const auto& key = scope.tag_key;
  if (key.empty()) {
    return invalid(
        "The tag key (INFRA_TAG_KEY) is empty; set it to the tag that names an "
        "environment, e.g. Environment.",
        "empty tag key");
  }
  if (auto bad = first_bad(key, in_tag_alphabet)) {
    return invalid(fmt::format("The tag key (INFRA_TAG_KEY) `{}` contains {}: AWS tag keys hold "
                               "letters, digits, spaces and _ . : / = + - @ only.",
                               well_formed(key), describe(*bad)),
                   "tag key outside the tag alphabet");
  }
  if (core::utf8_length(key) > 128) {
    return invalid("The tag key (INFRA_TAG_KEY) is longer than AWS's 128 characters.",
                   "tag key too long");
  }
  if (core::to_lower(key.substr(0, 4)) == "aws:") {
    return invalid(fmt::format("The tag key (INFRA_TAG_KEY) `{}` starts with `aws:`, which AWS "
                               "reserves for its own tags.",
                               key),
                   "reserved tag key");
  }
  for (const auto* list : {&scope.environments, &scope.protected_environments}) {
    for (const auto& name : *list) {
      const bool bad_length = name.empty() || core::utf8_length(name) > 256;
      const auto bad = first_bad(name, [](char32_t c) { return !is_control(c); });
      if (bad_length || bad) {
        return invalid(fmt::format("The environment name `{}` cannot be a tag value: it must be "
                                   "1 to 256 characters without control characters.",
                                   well_formed(name)),
                       "bad environment name");
      }
    }
  }
  const auto all_of = [](std::string_view text, auto ok) {
    return !text.empty() && std::all_of(text.begin(), text.end(), ok);
  };
  if (!all_of(where.partition, [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; })) {
    return invalid(fmt::format("`{}` is not an AWS partition (aws, aws-cn, aws-us-gov, …).",
                               well_formed(where.partition)),
                   "bad partition");
  }
  if (where.region != "*" && !all_of(where.region, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      })) {
    return invalid(
        fmt::format("`{}` is not an AWS region (e.g. eu-west-1) or *.", well_formed(where.region)),
        "bad region");
  }
  if (where.account_id != "*" &&
      (where.account_id.size() != 12 ||
       !all_of(where.account_id, [](char c) { return c >= '0' && c <= '9'; }))) {
    return invalid(fmt::format("`{}` is not an AWS account id (12 digits) or *.",
                               well_formed(where.account_id)),
                   "bad account id");
  }
  return {};
}

std::string tag_scoped_policy_json(const TagScope& scope, PolicyRole role,
                                   const ResourceScope& where) {
  const bool infrastructure = role != PolicyRole::whitelist;  // ECS, RDS, EC2 instances
  const bool allow_list = role != PolicyRole::orchestrator;   // security groups
  const std::string env_key = "aws:ResourceTag/" + well_formed(scope.tag_key);
  const auto environments = literal_values(scope.environments);
  const auto protected_environments = literal_values(scope.protected_environments);

  const std::string service_arn = arn(where, "ecs", "service/*");
  const std::string db_arn = arn(where, "rds", "db:*");
  const std::string cluster_arn = arn(where, "rds", "cluster:*");
  const std::string instance_arn = arn(where, "ec2", "instance/*");
  const std::string group_arn = arn(where, "ec2", "security-group/*");

  const std::vector<std::string> ecs_changes = {"ecs:TagResource", "ecs:UpdateService"};
  const std::vector<std::string> db_changes = {"rds:StartDBInstance", "rds:StopDBInstance"};
  const std::vector<std::string> cluster_changes = {"rds:StartDBCluster", "rds:StopDBCluster"};
  const std::vector<std::string> instance_changes = {"ec2:RebootInstances", "ec2:StartInstances",
                                                     "ec2:StopInstances"};

  std::vector<Statement> statements;
  statements.push_back({"FindEnvironmentResourcesByTag", false, {"tag:GetResources"}, {"*"}, {}});

  Statement describe{"DescribeResources", false, {}, {"*"}, {}};
  if (infrastructure) {
    describe.actions.insert(
        describe.actions.end(),
        {"ec2:DescribeInstances", "rds:DescribeDBClusters", "rds:DescribeDBInstances"});
  }
  if (allow_list) {
    describe.actions.insert(describe.actions.end(),
                            {"ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"});
  }
  statements.push_back(std::move(describe));
  if (infrastructure) {
    statements.push_back(
        {"DescribeEcsServices", false, {"ecs:DescribeServices"}, {service_arn}, {}});
  }

  // Changes: only on resources tagged with a configured environment.
  if (!environments.empty()) {
    const auto tagged = [&](std::string sid, std::vector<std::string> actions,
                            std::string resource) {
      Statement statement{std::move(sid), false, std::move(actions), {std::move(resource)}, {}};
      statement.conditions["StringEquals"][env_key] = environments;
      return statement;
    };
    if (infrastructure) {
      statements.push_back(tagged("ScaleEcsServices", {"ecs:UpdateService"}, service_arn));
      auto remember = tagged("RememberEcsDesiredCount", {"ecs:TagResource"}, service_arn);
      remember.conditions["ForAllValues:StringEquals"]["aws:TagKeys"] = {
          std::string(kIamDesiredCountTagKey)};
      // ForAllValues is also true for a request without tags: require some.
      remember.conditions["Null"]["aws:TagKeys"] = {"false"};
      statements.push_back(std::move(remember));
      statements.push_back(tagged("StopStartRdsInstances", db_changes, db_arn));
      statements.push_back(tagged("StopStartRdsClusters", cluster_changes, cluster_arn));
      statements.push_back(tagged("StartStopRebootEc2Instances", instance_changes, instance_arn));
    }
    if (allow_list) {
      auto edit = tagged("EditAllowListRules",
                         {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                          // a renewed entry keeps its rules and gets a new description
                          "ec2:UpdateSecurityGroupRuleDescriptionsIngress"},
                         group_arn);
      edit.conditions["StringEquals"]["aws:ResourceTag/" + std::string(kIamWhitelistTagKey)] = {
          "true"};
      statements.push_back(std::move(edit));
    }
  }

  // Protected environments are guarded by IAM as well as by the bot. The
  // allow-list stays allowed there (design §3), so the whitelist role has
  // nothing to deny. No protected environment: no Deny statement at all.
  if (infrastructure && !protected_environments.empty()) {
    Statement deny{"DenyChangesInProtectedEnvironments", true, {}, {"*"}, {}};
    for (const auto* group : {&ecs_changes, &db_changes, &cluster_changes, &instance_changes}) {
      deny.actions.insert(deny.actions.end(), group->begin(), group->end());
    }
    deny.conditions["StringEquals"][env_key] = protected_environments;
    statements.push_back(std::move(deny));
  }
  return render(statements);
}

}  // namespace aws
