// aws::tag_scoped_policy_json: the statements, actions, resources and
// conditions of each role, the Deny of protected environments, the escaping of
// awkward tag keys and environment names, check_policy_scope, and the golden
// documents in tests/deploy/iam-policies/ (UPDATE_GOLDEN=1 rewrites them).
// Those goldens are what tests/deploy checks independently: against AWS's
// Service Authorization Reference (iam_policy_check.mjs) and against the
// orchestrator Terraform module's aws_iam_policy_document (terraform test).
#include "aws/iam_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"

namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;
using testing::UnorderedElementsAre;

using Strings = std::vector<std::string>;

// A statement read back from the JSON, lists normalised (IAM lets a
// one-element list be a plain string).
struct Parsed {
  std::string sid;
  std::string effect;
  Strings actions;
  Strings resources;
  std::map<std::string, std::map<std::string, Strings>> conditions;
  std::set<std::string> keys;  // the statement's own member names
};

Strings list_of(const rapidjson::Value& value) {
  Strings out;
  if (value.IsString()) {
    out.emplace_back(value.GetString(), value.GetStringLength());
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      EXPECT_TRUE(item.IsString());
      if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
    }
  } else {
    ADD_FAILURE() << "neither a string nor an array";
  }
  return out;
}

struct Document {
  std::string version;
  std::vector<Parsed> statements;
  std::set<std::string> keys;

  const Parsed* find(std::string_view sid) const {
    for (const auto& s : statements) {
      if (s.sid == sid) return &s;
    }
    return nullptr;
  }
  Strings sids() const {
    Strings out;
    for (const auto& s : statements) out.push_back(s.sid);
    return out;
  }
  // Every action allowed (or denied) anywhere.
  std::set<std::string> actions(std::string_view effect) const {
    std::set<std::string> out;
    for (const auto& s : statements) {
      if (s.effect == effect) out.insert(s.actions.begin(), s.actions.end());
    }
    return out;
  }
};

Document parse(const std::string& text) {
  Document doc;
  auto parsed = core::json::parse(text);
  EXPECT_TRUE(parsed) << text;
  if (!parsed) return doc;
  const auto& root = *parsed;
  EXPECT_TRUE(root.IsObject());
  for (const auto& m : root.GetObject()) doc.keys.insert(m.name.GetString());
  doc.version = std::string(core::json::get_string(root, "Version").value_or(""));
  const auto* statements = core::json::get_array(root, "Statement");
  EXPECT_NE(statements, nullptr);
  if (!statements) return doc;
  for (const auto& st : statements->GetArray()) {
    Parsed p;
    for (const auto& m : st.GetObject()) p.keys.insert(m.name.GetString());
    p.sid = std::string(core::json::get_string(st, "Sid").value_or(""));
    p.effect = std::string(core::json::get_string(st, "Effect").value_or(""));
    if (st.HasMember("Action")) p.actions = list_of(st["Action"]);
    if (st.HasMember("Resource")) p.resources = list_of(st["Resource"]);
    if (const auto* condition = core::json::get_object(st, "Condition")) {
      for (const auto& op : condition->GetObject()) {
        EXPECT_TRUE(op.value.IsObject());
        for (const auto& key : op.value.GetObject()) {
          p.conditions[op.name.GetString()][key.name.GetString()] = list_of(key.value);
        }
      }
    }
    doc.statements.push_back(std::move(p));
  }
  return doc;
}

aws::TagScope default_scope() { return {"Environment", {"dev", "staging", "prod"}, {"prod"}}; }

Document policy(aws::PolicyRole role, const aws::TagScope& scope = default_scope(),
                const aws::ResourceScope& where = {}) {
  return parse(aws::tag_scoped_policy_json(scope, role, where));
}

const std::set<std::string> kInfraChanges = {
    "ecs:TagResource",     "ecs:UpdateService",  "rds:StartDBCluster",
    "rds:StartDBInstance", "rds:StopDBCluster",  "rds:StopDBInstance",
    "ec2:RebootInstances", "ec2:StartInstances", "ec2:StopInstances"};
const std::set<std::string> kAllowListChanges = {"ec2:AuthorizeSecurityGroupIngress",
                                                 "ec2:RevokeSecurityGroupIngress",
                                                 "ec2:UpdateSecurityGroupRuleDescriptionsIngress"};

// --- Shape -------------------------------------------------------------------

TEST(IamPolicy, BotPolicyHasEveryStatementInOrder) {
  auto doc = policy(aws::PolicyRole::bot);
  EXPECT_EQ(doc.version, "2012-10-17");
  EXPECT_EQ(doc.keys, (std::set<std::string>{"Version", "Statement"}));
  EXPECT_THAT(doc.sids(), ElementsAre("FindEnvironmentResourcesByTag", "DescribeResources",
                                      "DescribeEcsServices", "ScaleEcsServices",
                                      "RememberEcsDesiredCount", "StopStartRdsInstances",
                                      "StopStartRdsClusters", "StartStopRebootEc2Instances",
                                      "EditAllowListRules", "DenyChangesInProtectedEnvironments"));
  std::set<std::string> sids;
  for (const auto& s : doc.statements) {
    EXPECT_TRUE(sids.insert(s.sid).second) << "duplicate Sid " << s.sid;
    // IAM Sids are [A-Za-z0-9] only.
    for (char c : s.sid) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << s.sid;
    EXPECT_TRUE(s.effect == "Allow" || s.effect == "Deny") << s.sid;
    EXPECT_FALSE(s.actions.empty()) << s.sid;
    EXPECT_FALSE(s.resources.empty()) << s.sid;
    for (const auto& key : s.keys) {
      EXPECT_TRUE(key == "Sid" || key == "Effect" || key == "Action" || key == "Resource" ||
                  key == "Condition")
          << s.sid << " has " << key;
    }
    // No wildcard in an action name, and lists are sorted.
    for (const auto& a : s.actions) EXPECT_EQ(a.find_first_of("*?"), std::string::npos) << a;
    EXPECT_TRUE(std::is_sorted(s.actions.begin(), s.actions.end())) << s.sid;
    EXPECT_TRUE(std::is_sorted(s.resources.begin(), s.resources.end())) << s.sid;
  }
}

TEST(IamPolicy, ReadsWithoutResourceArnAreOnStarUnconditioned) {
  auto doc = policy(aws::PolicyRole::bot);
  const auto* find = doc.find("FindEnvironmentResourcesByTag");
  ASSERT_NE(find, nullptr);
  EXPECT_EQ(find->effect, "Allow");
  EXPECT_THAT(find->actions, ElementsAre("tag:GetResources"));
  EXPECT_THAT(find->resources, ElementsAre("*"));
  EXPECT_THAT(find->conditions, IsEmpty());

  const auto* describe = doc.find("DescribeResources");
  ASSERT_NE(describe, nullptr);
  EXPECT_THAT(describe->actions,
              ElementsAre("ec2:DescribeInstances", "ec2:DescribeSecurityGroupRules",
                          "ec2:DescribeSecurityGroups", "rds:DescribeDBClusters",
                          "rds:DescribeDBInstances"));
  EXPECT_THAT(describe->resources, ElementsAre("*"));
  EXPECT_THAT(describe->conditions, IsEmpty());

  // ecs:DescribeServices takes the service ARN: not "*".
  const auto* ecs = doc.find("DescribeEcsServices");
  ASSERT_NE(ecs, nullptr);
  EXPECT_THAT(ecs->actions, ElementsAre("ecs:DescribeServices"));
  EXPECT_THAT(ecs->resources, ElementsAre("arn:aws:ecs:*:*:service/*"));
  EXPECT_THAT(ecs->conditions, IsEmpty());
}

TEST(IamPolicy, EveryAllowedChangeNeedsTheEnvironmentTag) {
  auto doc = policy(aws::PolicyRole::bot);
  struct Expect {
    const char* sid;
    Strings actions;
    const char* resource;
  };
  const std::vector<Expect> expected = {
      {"ScaleEcsServices", {"ecs:UpdateService"}, "arn:aws:ecs:*:*:service/*"},
      {"RememberEcsDesiredCount", {"ecs:TagResource"}, "arn:aws:ecs:*:*:service/*"},
      {"StopStartRdsInstances",
       {"rds:StartDBInstance", "rds:StopDBInstance"},
       "arn:aws:rds:*:*:db:*"},
      {"StopStartRdsClusters",
       {"rds:StartDBCluster", "rds:StopDBCluster"},
       "arn:aws:rds:*:*:cluster:*"},
      {"StartStopRebootEc2Instances",
       {"ec2:RebootInstances", "ec2:StartInstances", "ec2:StopInstances"},
       "arn:aws:ec2:*:*:instance/*"},
      {"EditAllowListRules",
       {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress"},
       "arn:aws:ec2:*:*:security-group/*"},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.sid);
    const auto* s = doc.find(e.sid);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->effect, "Allow");
    EXPECT_EQ(s->actions, e.actions);
    EXPECT_THAT(s->resources, ElementsAre(e.resource));
    ASSERT_TRUE(s->conditions.count("StringEquals"));
    EXPECT_THAT(s->conditions.at("StringEquals").at("aws:ResourceTag/Environment"),
                ElementsAre("dev", "staging", "prod"));
  }
  // Every mutating action is in one of these statements, and none elsewhere.
  std::set<std::string> changes;
  for (const auto& e : expected) changes.insert(e.actions.begin(), e.actions.end());
  for (const auto& s : doc.statements) {
    if (s.effect != "Allow") continue;
    for (const auto& a : s.actions) {
      if (kInfraChanges.count(a) || kAllowListChanges.count(a)) {
        EXPECT_TRUE(s.conditions.count("StringEquals"))
            << a << " in " << s.sid << " is unconditioned";
      }
    }
  }
  std::set<std::string> all(kInfraChanges);
  all.insert(kAllowListChanges.begin(), kAllowListChanges.end());
  EXPECT_EQ(changes, all);
}

TEST(IamPolicy, AllowListNeedsTheWhitelistTagToo) {
  auto doc = policy(aws::PolicyRole::bot);
  const auto* s = doc.find("EditAllowListRules");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->conditions.size(), 1u);
  const auto& equals = s->conditions.at("StringEquals");
  EXPECT_EQ(equals.size(), 2u);  // both keys in one operator block: AND
  EXPECT_THAT(equals.at("aws:ResourceTag/infra-bot:whitelist"), ElementsAre("true"));
  EXPECT_THAT(equals.at("aws:ResourceTag/Environment"), ElementsAre("dev", "staging", "prod"));
}

TEST(IamPolicy, TagResourceMayWriteOnlyTheDesiredCountTag) {
  auto doc = policy(aws::PolicyRole::orchestrator);
  const auto* s = doc.find("RememberEcsDesiredCount");
  ASSERT_NE(s, nullptr);
  EXPECT_THAT(s->conditions.at("ForAllValues:StringEquals").at("aws:TagKeys"),
              ElementsAre("infra-bot:desired-count"));
  EXPECT_THAT(s->conditions.at("Null").at("aws:TagKeys"), ElementsAre("false"));
  EXPECT_THAT(s->conditions.at("StringEquals").at("aws:ResourceTag/Environment"),
              ElementsAre("dev", "staging", "prod"));
  EXPECT_EQ(s->conditions.size(), 3u);
}

TEST(IamPolicy, ProtectedEnvironmentsAreDeniedEveryInfrastructureChange) {
  auto doc = policy(aws::PolicyRole::bot,
                    {"Environment", {"dev", "staging", "prod", "dr"}, {"prod", "dr"}});
  const auto* deny = doc.find("DenyChangesInProtectedEnvironments");
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->effect, "Deny");
  EXPECT_EQ(std::set<std::string>(deny->actions.begin(), deny->actions.end()), kInfraChanges);
  EXPECT_THAT(deny->resources, ElementsAre("*"));
  ASSERT_EQ(deny->conditions.size(), 1u);
  EXPECT_THAT(deny->conditions.at("StringEquals").at("aws:ResourceTag/Environment"),
              ElementsAre("prod", "dr"));
  // The allow-list stays allowed in protected environments (design §3).
  for (const auto& a : kAllowListChanges) EXPECT_FALSE(doc.actions("Deny").count(a)) << a;
  // It is the only Deny.
  int denies = 0;
  for (const auto& s : doc.statements) denies += s.effect == "Deny";
  EXPECT_EQ(denies, 1);
  EXPECT_EQ(doc.statements.back().sid, "DenyChangesInProtectedEnvironments");
}

TEST(IamPolicy, NoProtectedEnvironmentMeansNoDeny) {
  for (auto role :
       {aws::PolicyRole::bot, aws::PolicyRole::orchestrator, aws::PolicyRole::whitelist}) {
    auto doc = policy(role, {"Environment", {"dev", "staging"}, {}});
    EXPECT_EQ(doc.find("DenyChangesInProtectedEnvironments"), nullptr) << aws::to_string(role);
    EXPECT_THAT(doc.actions("Deny"), IsEmpty());
  }
}

TEST(IamPolicy, NoEnvironmentMeansReadOnly) {
  auto doc = policy(aws::PolicyRole::bot, {"Environment", {}, {}});
  EXPECT_THAT(doc.sids(), ElementsAre("FindEnvironmentResourcesByTag", "DescribeResources",
                                      "DescribeEcsServices"));
}

// --- Roles -------------------------------------------------------------------

TEST(IamPolicy, OrchestratorHasEverythingButTheAllowList) {
  auto orchestrator = policy(aws::PolicyRole::orchestrator);
  auto bot = policy(aws::PolicyRole::bot);
  EXPECT_EQ(orchestrator.find("EditAllowListRules"), nullptr);
  const auto allowed = orchestrator.actions("Allow");
  for (const auto& a : kAllowListChanges) EXPECT_FALSE(allowed.count(a)) << a;
  EXPECT_FALSE(allowed.count("ec2:DescribeSecurityGroups"));
  EXPECT_FALSE(allowed.count("ec2:DescribeSecurityGroupRules"));
  // Everything else is the bot's.
  auto expected = bot.actions("Allow");
  for (const auto* a : {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                        "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
                        "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"}) {
    expected.erase(a);
  }
  EXPECT_EQ(allowed, expected);
  EXPECT_EQ(orchestrator.actions("Deny"), bot.actions("Deny"));
  EXPECT_THAT(
      orchestrator.find("DescribeResources")->actions,
      ElementsAre("ec2:DescribeInstances", "rds:DescribeDBClusters", "rds:DescribeDBInstances"));
}

TEST(IamPolicy, WhitelistHasOnlyTheAllowList) {
  auto doc = policy(aws::PolicyRole::whitelist);
  EXPECT_THAT(doc.sids(), ElementsAre("FindEnvironmentResourcesByTag", "DescribeResources",
                                      "EditAllowListRules"));
  EXPECT_EQ(doc.actions("Allow"),
            (std::set<std::string>{
                "tag:GetResources", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
                "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress"}));
  // Protected environments keep their allow-list: no Deny.
  EXPECT_THAT(doc.actions("Deny"), IsEmpty());
}

TEST(IamPolicy, RoleNamesRoundTrip) {
  for (auto role :
       {aws::PolicyRole::bot, aws::PolicyRole::orchestrator, aws::PolicyRole::whitelist}) {
    EXPECT_EQ(aws::parse_policy_role(aws::to_string(role)), role);
  }
  EXPECT_EQ(aws::parse_policy_role("Bot"), std::nullopt);
  EXPECT_EQ(aws::parse_policy_role(""), std::nullopt);
}

// --- Resource scope ----------------------------------------------------------

TEST(IamPolicy, ResourceArnsTakeThePartitionRegionAndAccount) {
  auto doc = policy(aws::PolicyRole::bot, default_scope(),
                    {"aws-us-gov", "us-gov-west-1", "123456789012"});
  std::set<std::string> arns;
  for (const auto& s : doc.statements) {
    for (const auto& r : s.resources) {
      if (r != "*") arns.insert(r);
    }
  }
  EXPECT_EQ(arns, (std::set<std::string>{
                      "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/*",
                      "arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:*",
                      "arn:aws-us-gov:rds:us-gov-west-1:123456789012:cluster:*",
                      "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/*",
                      "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:security-group/*"}));
}

// --- Awkward input -----------------------------------------------------------

TEST(IamPolicy, TagKeyWithEveryAllowedPunctuationIsOneConditionKey) {
  const std::string key = "team:cost center/env+x=y.z@corp-1_2";
  aws::TagScope scope{key, {"dev", "prod"}, {"prod"}};
  EXPECT_TRUE(aws::check_policy_scope(scope));
  auto doc = policy(aws::PolicyRole::bot, scope);
  const auto* deny = doc.find("DenyChangesInProtectedEnvironments");
  ASSERT_NE(deny, nullptr);
  EXPECT_THAT(deny->conditions.at("StringEquals").at("aws:ResourceTag/" + key),
              ElementsAre("prod"));
  const auto* edit = doc.find("EditAllowListRules");
  ASSERT_NE(edit, nullptr);
  EXPECT_THAT(edit->conditions.at("StringEquals").at("aws:ResourceTag/" + key),
              ElementsAre("dev", "prod"));
  // The tag key never reaches an ARN.
  for (const auto& s : doc.statements) {
    for (const auto& r : s.resources) EXPECT_EQ(r.find("cost"), std::string::npos) << r;
  }
}

TEST(IamPolicy, QuotesBackslashesAndNonAsciiAreJsonEscapedNotBroken) {
  // Not valid configuration, but the document must stay well-formed JSON
  // whose values read back exactly.
  const std::string key = "k\"e\\y\n\tü";
  const std::string env = "d\"e}v\\ü";
  auto text = aws::tag_scoped_policy_json({key, {env}, {env}}, aws::PolicyRole::bot);
  auto doc = parse(text);
  const auto* deny = doc.find("DenyChangesInProtectedEnvironments");
  ASSERT_NE(deny, nullptr) << text;
  EXPECT_THAT(deny->conditions.at("StringEquals").at("aws:ResourceTag/" + key), ElementsAre(env));
}

TEST(IamPolicy, InvalidUtf8BecomesReplacementCharacters) {
  auto text = aws::tag_scoped_policy_json({"Env\xff", {"de\xc3v"}, {}}, aws::PolicyRole::whitelist);
  auto doc = parse(text);
  const auto* edit = doc.find("EditAllowListRules");
  ASSERT_NE(edit, nullptr) << text;
  EXPECT_THAT(edit->conditions.at("StringEquals").at("aws:ResourceTag/Env\xEF\xBF\xBD"),
              ElementsAre("de\xEF\xBF\xBDv"));
}

TEST(IamPolicy, DollarInAValueIsEscapedSoItIsNoPolicyVariable) {
  auto doc = policy(aws::PolicyRole::orchestrator, {"Environment", {"${aws:username}"}, {"a$b"}});
  const auto* scale = doc.find("ScaleEcsServices");
  ASSERT_NE(scale, nullptr);
  EXPECT_THAT(scale->conditions.at("StringEquals").at("aws:ResourceTag/Environment"),
              ElementsAre("${$}{aws:username}"));
  EXPECT_THAT(doc.find("DenyChangesInProtectedEnvironments")
                  ->conditions.at("StringEquals")
                  .at("aws:ResourceTag/Environment"),
              ElementsAre("a${$}b"));
}

TEST(IamPolicy, DuplicateEnvironmentsAreListedOnce) {
  auto doc =
      policy(aws::PolicyRole::orchestrator, {"Environment", {"dev", "dev", "qa"}, {"qa", "qa"}});
  EXPECT_THAT(
      doc.find("ScaleEcsServices")->conditions.at("StringEquals").at("aws:ResourceTag/Environment"),
      ElementsAre("dev", "qa"));
  EXPECT_THAT(doc.find("DenyChangesInProtectedEnvironments")
                  ->conditions.at("StringEquals")
                  .at("aws:ResourceTag/Environment"),
              ElementsAre("qa"));
}

TEST(IamPolicy, WrittenAsTerraformWritesIt) {
  // Two-space indent, one-element lists as strings, final newline.
  auto text = aws::tag_scoped_policy_json({"Environment", {"dev"}, {}}, aws::PolicyRole::whitelist);
  EXPECT_THAT(text, HasSubstr("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n"));
  EXPECT_THAT(text, HasSubstr("\"Action\": \"tag:GetResources\",\n      \"Resource\": \"*\"\n"));
  EXPECT_THAT(text, HasSubstr("\"aws:ResourceTag/Environment\": \"dev\",\n"));
  EXPECT_EQ(text.back(), '\n');
}

// --- check_policy_scope ------------------------------------------------------

TEST(CheckPolicyScope, AcceptsTheDefaultsAndRealisticValues) {
  EXPECT_TRUE(aws::check_policy_scope(default_scope()));
  EXPECT_TRUE(aws::check_policy_scope({"Umgebung-Größe", {"dev"}, {}},
                                      {"aws-cn", "cn-north-1", "123456789012"}));
  EXPECT_TRUE(aws::check_policy_scope({std::string(128, 'k'), {std::string(256, 'v')}, {}}));
}

TEST(CheckPolicyScope, RejectsWhatIamOrTaggingWouldRefuse) {
  struct Case {
    const char* what;
    aws::TagScope scope;
    aws::ResourceScope where;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty key", {"", {"dev"}, {}}, {}, "empty"},
      {"star in key", {"Env*", {"dev"}, {}}, {}, "'*'"},
      {"dollar in key", {"Env${x}", {"dev"}, {}}, {}, "'$'"},
      {"quote in key", {"Env\"", {"dev"}, {}}, {}, "'\"'"},
      {"newline in key", {"Env\n", {"dev"}, {}}, {}, "U+000A"},
      {"invalid UTF-8 in key", {"Env\xff", {"dev"}, {}}, {}, "invalid UTF-8"},
      {"long key", {std::string(129, 'k'), {"dev"}, {}}, {}, "128"},
      {"reserved key", {"AWS:cloudformation:stack-name", {"dev"}, {}}, {}, "reserves"},
      {"empty environment", {"Environment", {"dev", ""}, {}}, {}, "environment name"},
      {"control character in protected", {"Environment", {"dev"}, {"pr\x01od"}}, {}, "control"},
      {"long environment", {"Environment", {std::string(257, 'e')}, {}}, {}, "256"},
      {"partition", {"Environment", {"dev"}, {}}, {"AWS", "*", "*"}, "partition"},
      {"region", {"Environment", {"dev"}, {}}, {"aws", "eu-west-1*", "*"}, "region"},
      {"account", {"Environment", {"dev"}, {}}, {"aws", "*", "12345"}, "account"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto status = aws::check_policy_scope(c.scope, c.where);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, core::ErrorCode::invalid_input);
    EXPECT_THAT(status.error().user_message, HasSubstr(c.message));
  }
}

// --- Goldens: what tests/deploy validates independently ----------------------

bool updating() {
  const char* value = std::getenv("UPDATE_GOLDEN");
  return value != nullptr && std::string_view(value) == "1";
}

void expect_golden(const std::string& name, const std::string& actual) {
  const auto path = std::filesystem::path(SOURCE_DIR) / "tests" / "deploy" / "iam-policies" / name;
  std::ifstream in(path, std::ios::binary);
  std::stringstream expected;
  if (in) expected << in.rdbuf();
  if (in && expected.str() == actual) return;
  if (updating()) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    std::cout << "UPDATE_GOLDEN: wrote " << path.string() << "\n";
    return;
  }
  if (!in) {
    ADD_FAILURE() << "golden " << path.string()
                  << " is missing (UPDATE_GOLDEN=1 creates it; review it)";
  } else {
    ADD_FAILURE() << "golden " << path.string() << " differs (UPDATE_GOLDEN=1 rewrites it; review "
                  << "the diff and the orchestrator module's policy documents)\n--- actual:\n"
                  << actual;
  }
}

// The orchestrator module's configuration in tests/deploy/terraform/
// orchestrator.tftest.hcl (region eu-west-1, account 123456789012) and the
// bot's defaults (any region, any account).
TEST(IamPolicyGolden, Documents) {
  const aws::ResourceScope lambda_account{"aws", "eu-west-1", "123456789012"};
  const aws::TagScope unprotected{"team:env", {"dev", "qa"}, {}};
  expect_golden("bot.json", aws::tag_scoped_policy_json(default_scope(), aws::PolicyRole::bot));
  expect_golden(
      "orchestrator.json",
      aws::tag_scoped_policy_json(default_scope(), aws::PolicyRole::orchestrator, lambda_account));
  expect_golden("whitelist.json", aws::tag_scoped_policy_json(
                                      default_scope(), aws::PolicyRole::whitelist, lambda_account));
  expect_golden(
      "orchestrator-unprotected.json",
      aws::tag_scoped_policy_json(unprotected, aws::PolicyRole::orchestrator, lambda_account));
  expect_golden(
      "whitelist-unprotected.json",
      aws::tag_scoped_policy_json(unprotected, aws::PolicyRole::whitelist, lambda_account));
}

}  // namespace
