// Golden files for every rendered reply and the modal (design §8): each case
// renders with fixed inputs and a fixed `now`, and both renderings are compared
// byte for byte with proto-fixtures/blockkit/<case>.json (canonical JSON) and
// <case>.txt. UPDATE_GOLDEN=1 rewrites the files that differ instead, and says
// which; review the diff. tests/blockkit-types/typecheck.mjs compiles the same
// .json files against @slack/types.

#include "infra/views.hpp"
#include "slack/blockkit.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace {

using namespace std::chrono_literals;
using infra::views::Message;
using infra::views::Modal;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// 2026-01-01T00:00:00Z, the FakeClock's start.
const core::TimePoint kNow = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1);

using Rendered = std::variant<Message, Modal>;

struct Case {
  std::string name;
  std::function<Rendered()> render;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// ---- inputs ----

infra::EcsService ecs(std::string name, std::string status, std::optional<std::int64_t> desired,
                      std::optional<std::int64_t> running) {
  return infra::EcsService{std::move(name), std::move(status), desired, running};
}

infra::WhitelistEntry entry(std::string cidr, std::string description, std::string added_by,
                            std::optional<core::TimePoint> expires_at) {
  return infra::WhitelistEntry{std::move(cidr), std::move(description), std::move(added_by),
                               expires_at};
}

infra::Cidr cidr(std::string text, int prefix) {
  return infra::Cidr{std::move(text), prefix, false};
}

const std::string kHostile = "<!channel> free pizza & <@U123> <https://evil.example|click here>";

infra::WhitelistListing listing_of(std::size_t count, bool long_descriptions) {
  infra::WhitelistListing listing{"dev", {}};
  for (std::size_t i = 0; i < count; ++i) {
    std::string description =
        i % 5 == 4 ? "" : fmt::format("Contractor laptop #{} ({})", i, i % 3 == 0 ? "VPN" : "home");
    if (long_descriptions) {
      description = fmt::format("Build agent {} — ", i);
      for (int k = 0; k < 30; ++k) description += "runs the nightly pipeline; ";
    }
    if (long_descriptions && i == 7) description += std::string(3200, 'x');  // one over-long line
    listing.entries.push_back(
        entry(fmt::format("10.{}.{}.{}/32", i / 65536, (i / 256) % 256, i % 256), description,
              fmt::format("user{}", i % 7),
              i % 11 == 10 ? std::nullopt
                           : std::optional<core::TimePoint>(
                                 kNow + std::chrono::minutes(37 * static_cast<int>(i)) - 30s)));
  }
  return listing;
}

infra::views::TeardownConfirmation confirmation() {
  return infra::views::TeardownConfirmation{
      "dev", infra::TeardownLevel::full, "C0123ABCD",
      "https://hooks.slack.com/commands/T0123/456789/abcdefABCDEF"};
}

std::vector<Case> all_cases() {
  using namespace infra;
  using namespace infra::views;
  return {
      {"help",
       [] {
         return render_help(HelpInfo{{"dev", "staging", "prod"}, {"prod"}, "dev"});
       }},
      {"parse_error",
       [] {
         return render_parse_error(core::make_error(
             core::ErrorCode::invalid_input, "Unknown environment `qa`. Known: dev, staging, prod.",
             "parser: unknown env token"));
       }},
      {"denied_protected",
       [] {
         return render_denied(Stop{"prod"},
                              Decision{DenyReason::protected_environment,
                                       "`prod` is protected: stop and teardown are refused.", 0s});
       }},
      {"denied_cooldown",
       [] {
         return render_denied(
             Start{"dev"},
             Decision{DenyReason::cooldown, "Slow down: you can run `start` again in 12s.", 12s});
       }},
      {"working", [] { return render_working(Stop{"dev"}); }},
      {"working_teardown_full",
       [] {
         return render_working(Teardown{"staging", TeardownLevel::full});
       }},
      {"status_running",
       [] {
         return render_status(
             EnvironmentStatus{"dev",
                               {ecs("api", "RUNNING", 2, 2), ecs("worker", "RUNNING", 1, 1)},
                               {RdsInstance{"docustack-dev-db", "available"}}});
       }},
      {"status_stopped",
       [] {
         return render_status(
             EnvironmentStatus{"dev",
                               {ecs("api", "STOPPED", 0, 0), ecs("worker", "STOPPED", 0, 0)},
                               {RdsInstance{"docustack-dev-db", "stopped"}}});
       }},
      {"status_mixed",
       [] {
         return render_status(EnvironmentStatus{
             "staging",
             {ecs("api", "RUNNING", 2, 1), ecs("worker", "RUNNING", 1, std::nullopt),
              ecs("scheduler", "RUNNING", 0, 0), ecs("importer", "DRAINING", 1, 1)},
             {RdsInstance{"docustack-staging-db", "available"},
              RdsInstance{"docustack-staging-replica", "starting"},
              RdsInstance{"docustack-staging-old", "deleting"}}});
       }},
      {"status_missing_fields",
       [] {
         return render_status(EnvironmentStatus{
             "",
             {ecs("", "", std::nullopt, std::nullopt), ecs("api", "", 2, std::nullopt),
              ecs("worker", "RUNNING", std::nullopt, 1)},
             {RdsInstance{"", ""}, RdsInstance{"docustack-dev-db", ""}}});
       }},
      {"status_empty",
       [] {
         return render_status(EnvironmentStatus{"dev", {}, {}});
       }},
      {"action_stop",
       [] {
         return render_action_result(
             ActionResult{LifecycleAction::stop,
                          "dev",
                          "Operation completed successfully.",
                          {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}});
       }},
      {"action_start",
       [] {
         return render_action_result(
             ActionResult{LifecycleAction::start,
                          "dev",
                          "Operation completed successfully.",
                          {{"ecs_services_started", 2}, {"rds_instances_started", 1}}});
       }},
      {"action_teardown",
       [] {
         return render_action_result(ActionResult{
             LifecycleAction::teardown,
             "staging",
             "Full teardown completed. VPC, S3, Secrets Manager and IAM were preserved.",
             {{"ecs_services_deleted", 2},
              {"rds_instances_deleted", 1},
              {"alb_deleted", 1},
              {"nat_gateways_deleted", 2},
              {"elastic_ips_released", 2}}});
       }},
      {"action_spinup",
       [] {
         return render_action_result(ActionResult{LifecycleAction::spinup,
                                                  "staging",
                                                  "Environment rebuilt.",
                                                  {{"nat_gateways_created", 2},
                                                   {"alb_created", 1},
                                                   {"rds_instances_created", 1},
                                                   {"ecs_services_created", 2},
                                                   {"sg_rules_restored", 3},
                                                   {"s3_buckets_reused", 2}}});
       }},
      {"action_no_details",
       [] {
         return render_action_result(ActionResult{LifecycleAction::start, "dev", "", {}});
       }},
      {"failure",
       [] {
         return render_failure(
             Stop{"dev"},
             core::make_error(core::ErrorCode::unavailable,
                              "The orchestrator did not answer in time. Try again in a minute.",
                              "Lambda arn:aws:lambda:eu-west-1:123456789012:function:orch "
                              "timed out after 900 s (request 5f0c)"));
       }},
      {"failure_whitelist_add",
       [] {
         return render_failure(
             WhitelistAdd{cidr("203.0.113.7/32", 32), 7 * 24h, "Home office", "dev"},
             core::make_error(core::ErrorCode::conflict,
                              "The security group rule limit is reached; remove an entry first.",
                              "RulesPerSecurityGroupLimitExceeded sg-0a1b2c3d"));
       }},
      {"whitelist_added",
       [] {
         return render_whitelist_added(
             WhitelistAdded{"dev", entry("203.0.113.7/32", "Home office", "alice", kNow + 7 * 24h),
                            false},
             kNow);
       }},
      {"whitelist_replaced",
       [] {
         return render_whitelist_added(
             WhitelistAdded{
                 "dev",
                 entry("203.0.113.7/32", "Home office (new router)", "alice", kNow + 30 * 24h),
                 true},
             kNow);
       }},
      {"whitelist_removed",
       [] {
         return render_whitelist_removed(WhitelistRemoved{"dev", "203.0.113.7/32"});
       }},
      {"whitelist_list",
       [] {
         return render_whitelist_list(
             WhitelistListing{"dev",
                              {entry("203.0.113.7/32", "Quick test", "alice", kNow + 4min + 59s),
                               entry("198.51.100.0/24", "Office VPN", "bob", kNow + 29 * 24h + 23h),
                               entry("2001:db8::/48", "", "carol", std::nullopt),
                               entry("192.0.2.10/32", "Old laptop", "dave", kNow - 1h),
                               entry("192.0.2.11/32", "Build agent", "", kNow + 5h + 7min + 3s),
                               entry("192.0.2.12/32", "Demo", "erin", kNow + 42s)}},
             kNow);
       }},
      {"whitelist_list_empty",
       [] {
         return render_whitelist_list(WhitelistListing{"staging", {}}, kNow);
       }},
      // 300 entries: several sections of at most 3000 characters.
      {"whitelist_list_300", [] { return render_whitelist_list(listing_of(300, false), kNow); }},
      // 300 long entries: past 50 blocks, summarised as "… and N more".
      {"whitelist_list_overflow",
       [] { return render_whitelist_list(listing_of(300, true), kNow); }},
      {"whitelist_refreshed",
       [] {
         return render_whitelist_refreshed(
             WhitelistRefreshed{"dev", {"sg-0a1b2c3d", "sg-4e5f6a7b"}, 1, 0});
       }},
      {"whitelist_refreshed_expired",
       [] {
         return render_whitelist_refreshed(
             WhitelistRefreshed{"dev",
                                {"sg-0a1b2c3d"},
                                0,
                                6,
                                {WhitelistEntry{"203.0.113.8/32", "Hotel wifi", "U0123ABC",
                                                core::parse_rfc3339("2026-11-25T11:00:00Z")},
                                 WhitelistEntry{"2001:db8::/64", "", "U0456DEF", std::nullopt}}});
       }},
      {"teardown_modal", [] { return render_teardown_modal(confirmation()); }},
      {"teardown_modal_services",
       [] {
         auto services = confirmation();
         services.level = TeardownLevel::services;
         return render_teardown_modal(services);
       }},
      {"teardown_cancelled", [] { return render_teardown_cancelled("dev"); }},
      {"teardown_started",
       [] {
         return render_teardown_started(infra::Teardown{"dev", infra::TeardownLevel::full},
                                        "@alice");
       }},
      {"teardown_prompt",
       [] {
         return render_teardown_prompt(
             TeardownConfirmation{"staging", TeardownLevel::full, "C0123CHAN", ""});
       }},
      {"teardown_prompt_services",
       [] {
         return render_teardown_prompt(
             TeardownConfirmation{"staging", TeardownLevel::services, "C0123CHAN", ""});
       }},
      {"busy", [] { return render_busy("stop dev", "@alice", std::chrono::seconds(40)); }},
      {"progress", [] { return render_progress(Stop{"dev"}, std::chrono::seconds(125)); }},
      {"interrupted",
       [] {
         return render_interrupted(Teardown{"dev", TeardownLevel::full});
       }},
      {"shutting_down", [] { return render_shutting_down(); }},
      {"action_result_in_channel",
       [] {
         return for_channel(render_action_result(ActionResult{LifecycleAction::start,
                                                              "staging",
                                                              "Operation completed successfully.",
                                                              {{"ecs_services_started", 3}}}),
                            "Alice Example");
       }},
      {"audit_line",
       [] { return render_audit_line(Stop{"dev"}, "@alice", "ok", std::chrono::seconds(41)); }},
      {"audit_line_reboot",
       [] {
         return render_audit_line(Reboot{"dev", "bastion-dev"}, "@alice", "ok",
                                  std::chrono::seconds(3));
       }},
      {"working_reboot",
       [] {
         return render_working(Reboot{"dev", "bastion-dev"});
       }},
      {"denied_protected_reboot",
       [] {
         return render_denied(Reboot{"prod", std::nullopt},
                              Decision{DenyReason::protected_environment,
                                       "`prod` is protected: `reboot` is never run there. "
                                       "Protected environments: prod.",
                                       0s});
       }},
      {"status_aws",
       [] {
         EnvironmentStatus status{"dev",
                                  {ecs("api", "ACTIVE", 2, 2), ecs("worker", "ACTIVE", 0, 0)},
                                  {RdsInstance{"app-dev-db", "available"}}};
         status.rds_clusters = {RdsCluster{"app-dev-aurora", "stopped", "aurora-postgresql"}};
         status.ec2_instances = {
             Ec2Instance{"i-0a1b2c3d4e5f60001", "bastion-dev", "running", "eu-west-1a", kNow - 72h},
             Ec2Instance{"i-0a1b2c3d4e5f60002", "", "stopped", "eu-west-1b", std::nullopt},
             Ec2Instance{"i-0a1b2c3d4e5f60003", "runner-dev", "pending", "", kNow - 1min}};
         status.problems = {"ECS service billing: AccessDenied"};
         return render_status(status);
       }},
      {"action_reboot",
       [] {
         ActionResult result{LifecycleAction::reboot,
                             "dev",
                             "Operation completed successfully.",
                             {{"ec2_instances_rebooted", 2}}};
         return render_action_result(result);
       }},
      {"action_stop_with_notes",
       [] {
         ActionResult result{LifecycleAction::stop,
                             "dev",
                             "Operation completed successfully.",
                             {{"ecs_services_stopped", 1},
                              {"rds_instances_stopped", 0},
                              {"ec2_instances_stopped", 2}}};
         result.notes = {"RDS app-dev-db: already stopped", "ECS service api: AccessDenied"};
         return render_action_result(result);
       }},
      {"unsupported",
       [] {
         return render_unsupported(
             "`teardown --level=full` needs the orchestrator Lambda: set ORCHESTRATOR_LAMBDA_ARN "
             "(or use `--level=services`, which stops ECS and RDS).");
       }},
      {"whitelist_expired",
       [] {
         return render_whitelist_expired(entry("203.0.113.7/32", "Home office", "U0ALICE", kNow),
                                         "dev");
       }},
      {"hostile_description",
       [] {
         return render_whitelist_added(
             WhitelistAdded{"dev", entry("203.0.113.7/32", kHostile, "<!here>", kNow + 24h), false},
             kNow);
       }},
      {"hostile_description_list",
       [] {
         return render_whitelist_list(
             WhitelistListing{"dev", {entry("203.0.113.7/32", kHostile, "mallory", kNow + 1h)}},
             kNow);
       }},
  };
}

// ---- rendering and files ----

std::string render_json(const Rendered& rendered) {
  const std::string json =
      std::visit([](const auto& r) { return slack::blockkit::to_json(r); }, rendered);
  auto canonical = core::json::canonicalize(json);
  if (!canonical) {
    ADD_FAILURE() << "renderer produced invalid JSON: " << canonical.error().detail << "\n" << json;
    return json;
  }
  return *canonical;
}

std::string render_text(const Rendered& rendered) {
  return std::visit([](const auto& r) { return slack::blockkit::to_text(r); }, rendered);
}

fs::path golden_dir() { return fs::path(FIXTURES_DIR) / "blockkit"; }

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

bool updating() {
  const char* value = std::getenv("UPDATE_GOLDEN");
  return value != nullptr && std::string_view(value) == "1";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Where two renderings part, with a little context: goldens run to 100 KB, so
// a full dump of both would bury the difference.
std::string first_difference(const std::string& expected, const std::string& actual) {
  const auto want = split_lines(expected);
  const auto got = split_lines(actual);
  std::size_t at = 0;
  while (at < want.size() && at < got.size() && want[at] == got[at]) ++at;
  // Long lines (a 3000-character section) are shown around the first
  // differing column, cut on UTF-8 boundaries.
  std::size_t column = 0;
  if (at < want.size() && at < got.size()) {
    while (column < want[at].size() && column < got[at].size() &&
           want[at][column] == got[at][column]) {
      ++column;
    }
  }
  auto clip = [column](const std::string& line) {
    if (line.size() <= 240) return line;
    auto boundary = [&line](std::size_t i) {
      while (i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) ++i;
      return std::min(i, line.size());
    };
    const std::size_t from = boundary(column > 80 ? column - 80 : 0);
    const std::size_t to = boundary(std::min(line.size(), from + 240));
    return (from > 0 ? "[...]" : "") + line.substr(from, to - from) +
           (to < line.size() ? "[...]" : "");
  };
  std::ostringstream out;
  out << "first difference at line " << at + 1 << " (expected " << want.size() << " lines, "
      << expected.size() << " bytes; actual " << got.size() << " lines, " << actual.size()
      << " bytes)\n";
  for (std::size_t i = at >= 2 ? at - 2 : 0; i < at; ++i) out << "    " << clip(want[i]) << "\n";
  for (std::size_t i = at; i < std::min(at + 3, want.size()); ++i) {
    out << "  - " << clip(want[i]) << "\n";
  }
  for (std::size_t i = at; i < std::min(at + 3, got.size()); ++i) {
    out << "  + " << clip(got[i]) << "\n";
  }
  if (want == got) out << "  (lines equal; the difference is in the final newline)\n";
  return out.str();
}

void check_golden(const fs::path& path, const std::string& actual) {
  const auto expected = read_file(path);
  if (updating()) {
    if (expected != actual) {
      fs::create_directories(path.parent_path());
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << actual;
      ASSERT_TRUE(out.good()) << "could not write " << path;
      std::cout << "UPDATE_GOLDEN: wrote " << path.string() << "\n";
      ::testing::Test::RecordProperty("golden_written", path.string());
    }
    return;
  }
  if (!expected) {
    ADD_FAILURE() << "missing golden " << path.string()
                  << "\n  (run with UPDATE_GOLDEN=1 to create it, then review it)";
    return;
  }
  if (*expected != actual) {
    ADD_FAILURE() << "golden " << path.string() << " differs (UPDATE_GOLDEN=1 rewrites it; "
                  << "review the diff)\n"
                  << first_difference(*expected, actual);
  }
}

class ViewsGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ViewsGolden, MatchesGolden) {
  const Rendered rendered = GetParam().render();
  check_golden(golden_dir() / (GetParam().name + ".json"), render_json(rendered));
  check_golden(golden_dir() / (GetParam().name + ".txt"), render_text(rendered));
}

// What Slack would reject, or what would let user text ping a channel, never
// reaches a golden.
TEST_P(ViewsGolden, RespectsSlackLimits) {
  const Rendered rendered = GetParam().render();
  const std::string json =
      std::visit([](const auto& r) { return slack::blockkit::to_json(r); }, rendered);
  auto doc = core::json::parse(json);
  ASSERT_TRUE(doc.has_value()) << json;
  const bool modal = std::holds_alternative<Modal>(rendered);
  const auto* blocks = rapidjson::Pointer("/blocks").Get(*doc);
  ASSERT_NE(blocks, nullptr);
  ASSERT_TRUE(blocks->IsArray());
  EXPECT_LE(blocks->Size(),
            modal ? slack::blockkit::kMaxBlocksPerModal : slack::blockkit::kMaxBlocksPerMessage);
  for (const auto& block : blocks->GetArray()) {
    const auto type = core::json::get_string(block, "type").value_or("");
    const auto* text = core::json::get_object(block, "text");
    if (type == "header") {
      ASSERT_NE(text, nullptr);
      EXPECT_LE(core::utf8_length(*core::json::get_string(*text, "text")),
                slack::blockkit::kMaxHeaderChars);
    } else if (type == "section") {
      ASSERT_NE(text, nullptr);
      const auto mrkdwn = core::json::get_string(*text, "text").value_or("");
      EXPECT_FALSE(mrkdwn.empty());
      EXPECT_LE(core::utf8_length(mrkdwn), slack::blockkit::kMaxSectionChars);
    }
  }
  // The only `<` in a golden is one we wrote into plain_text; mrkdwn has none.
  EXPECT_THAT(json, Not(HasSubstr("<!channel>")));
  EXPECT_THAT(json, Not(HasSubstr("<!here>")));
  EXPECT_THAT(json, Not(HasSubstr("<@U")));
}

// Named per case, so `ctest -R status_running` runs one.
std::string case_name(const ::testing::TestParamInfo<Case>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Views, ViewsGolden, ::testing::ValuesIn(all_cases()), case_name);

TEST(ViewsGoldenFiles, EveryGoldenHasACase) {
  if (updating()) GTEST_SKIP() << "UPDATE_GOLDEN=1: remove stale goldens by hand";
  std::set<std::string> names;
  for (const auto& c : all_cases()) names.insert(c.name);
  ASSERT_TRUE(fs::is_directory(golden_dir())) << golden_dir();
  for (const auto& file : fs::directory_iterator(golden_dir())) {
    const auto ext = file.path().extension().string();
    if (ext != ".json" && ext != ".txt") continue;
    EXPECT_TRUE(names.contains(file.path().stem().string()))
        << "stale golden with no case: " << file.path().string();
  }
}

// ---- specific properties the goldens show, stated outright ----

TEST(Views, StatusMatchesTheSeedFormat) {
  const auto message = infra::views::render_status(
      infra::EnvironmentStatus{"dev",
                               {ecs("api", "RUNNING", 2, 2), ecs("worker", "RUNNING", 1, 1)},
                               {infra::RdsInstance{"docustack-dev-db", "available"}}});
  EXPECT_EQ(slack::blockkit::to_text(message),
            "Infrastructure Status: DEV\n"
            "─────────────────────────\n"
            "ECS Services:\n"
            ":white_check_mark: api - RUNNING (desired: 2)\n"
            ":white_check_mark: worker - RUNNING (desired: 1)\n"
            "\n"
            "RDS Instances:\n"
            ":white_check_mark: docustack-dev-db - available\n");
  EXPECT_EQ(message.visibility, slack::blockkit::Visibility::ephemeral);
}

TEST(Views, ActionResultMatchesTheSeedFormat) {
  const auto message = infra::views::render_action_result(
      infra::ActionResult{infra::LifecycleAction::stop,
                          "dev",
                          "Operation completed successfully.",
                          {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}});
  EXPECT_EQ(slack::blockkit::to_text(message),
            ":white_check_mark: STOP - DEV\n"
            "─────────────────────────\n"
            "Operation completed successfully.\n"
            "\n"
            "Details:\n"
            "- ECS services stopped: 2\n"
            "- RDS instances stopped: 1\n");
  EXPECT_EQ(message.text, "STOP dev: Operation completed successfully.");
  EXPECT_EQ(message.visibility, slack::blockkit::Visibility::in_channel);
}

TEST(Views, DetailKeysAreHumanised) {
  const auto text = slack::blockkit::to_text(
      infra::views::render_action_result(infra::ActionResult{infra::LifecycleAction::teardown,
                                                             "dev",
                                                             "done",
                                                             {{"nat_gateways_deleted", 2},
                                                              {"vpc_endpoints_kept", 1},
                                                              {"s3_buckets_kept", 3},
                                                              {"iam_roles_kept", 4},
                                                              {"elb_deleted", 1},
                                                              {"ip_rules_removed", 5},
                                                              {"sg_deleted", 0},
                                                              {"elastic_ips_released", 2},
                                                              {"albs_deleted", 2},
                                                              {"ECS_Tasks_Stopped", 4}}}));
  EXPECT_THAT(text, HasSubstr("- NAT gateways deleted: 2\n"));
  EXPECT_THAT(text, HasSubstr("- VPC endpoints kept: 1\n"));
  EXPECT_THAT(text, HasSubstr("- S3 buckets kept: 3\n"));
  EXPECT_THAT(text, HasSubstr("- IAM roles kept: 4\n"));
  EXPECT_THAT(text, HasSubstr("- ELB deleted: 1\n"));
  EXPECT_THAT(text, HasSubstr("- IP rules removed: 5\n"));
  EXPECT_THAT(text, HasSubstr("- SG deleted: 0\n"));
  EXPECT_THAT(text, HasSubstr("- Elastic IPs released: 2\n"));
  EXPECT_THAT(text, HasSubstr("- ALBs deleted: 2\n"));
  EXPECT_THAT(text, HasSubstr("- ECS tasks stopped: 4\n"));
}

TEST(Views, FailureNeverShowsTheDetail) {
  const auto message = infra::views::render_failure(
      infra::Stop{"dev"},
      core::make_error(core::ErrorCode::internal, "It broke.", "SECRET-DETAIL"));
  EXPECT_THAT(slack::blockkit::to_json(message), Not(HasSubstr("SECRET-DETAIL")));
  EXPECT_THAT(slack::blockkit::to_text(message), Not(HasSubstr("SECRET-DETAIL")));
  EXPECT_EQ(message.visibility, slack::blockkit::Visibility::ephemeral);
}

TEST(Views, FailureHeaderNamesTheCommand) {
  const auto error = core::make_error(core::ErrorCode::unavailable, "x");
  auto header = [&](const infra::Command& command) {
    return std::get<slack::blockkit::Header>(infra::views::render_failure(command, error).blocks[0])
        .text;
  };
  EXPECT_EQ(header(infra::Stop{"dev"}), ":x: STOP - DEV");
  EXPECT_EQ(header(infra::WhitelistAdd{cidr("1.2.3.4/32", 32), 1h, std::nullopt, "dev"}),
            ":x: WHITELIST ADD - DEV");
  EXPECT_EQ(header(infra::WhitelistRefresh{"staging"}), ":x: WHITELIST REFRESH - STAGING");
  EXPECT_EQ(header(infra::Help{}), ":x: HELP");
}

TEST(Views, FormatTimeLeft) {
  using infra::views::format_time_left;
  EXPECT_EQ(format_time_left(0s), "expired");
  EXPECT_EQ(format_time_left(-5s), "expired");
  EXPECT_EQ(format_time_left(42s), "42s");
  EXPECT_EQ(format_time_left(4min + 59s), "4m 59s");
  EXPECT_EQ(format_time_left(60s), "1m 0s");
  EXPECT_EQ(format_time_left(59min + 59s), "59m 59s");
  EXPECT_EQ(format_time_left(5h + 7min + 3s), "5h 7m");
  EXPECT_EQ(format_time_left(24h - 1s), "23h 59m");
  EXPECT_EQ(format_time_left(3 * 24h + 4h + 59min), "3d 4h");
  EXPECT_EQ(format_time_left(365 * 24h), "365d 0h");
}

TEST(Views, TimeLeftRoundsPartialSecondsUp) {
  // Rendered a few microseconds after a 5-minute TTL was set: still "5m 0s",
  // and an entry a moment from expiry is not yet called expired.
  const auto added = kNow + 5min;
  const auto text = slack::blockkit::to_text(infra::views::render_whitelist_list(
      infra::WhitelistListing{"dev",
                              {entry("203.0.113.7/32", "", "alice", added),
                               entry("203.0.113.8/32", "", "alice", kNow + 1ms)}},
      kNow + 3us));
  EXPECT_THAT(text, ::testing::HasSubstr("`203.0.113.7/32` (added by alice, 5m 0s left)"));
  EXPECT_THAT(text, ::testing::HasSubstr("`203.0.113.8/32` (added by alice, 1s left)"));
}

TEST(Views, TeardownMismatchText) {
  EXPECT_EQ(infra::views::teardown_mismatch_text("dev"),
            "Type `dev` exactly to confirm the teardown.");
}

TEST(Views, TeardownModalCarriesItsIds) {
  const Modal modal = infra::views::render_teardown_modal(confirmation());
  EXPECT_EQ(modal.callback_id, infra::views::kTeardownCallbackId);
  EXPECT_EQ(modal.input.block_id, infra::views::kTeardownBlockId);
  EXPECT_EQ(modal.input.action_id, infra::views::kTeardownActionId);
  EXPECT_EQ(modal.input.label, "Type 'dev' to confirm");
  // Not the answer itself: a field showing "dev" looks filled in already.
  EXPECT_EQ(modal.input.placeholder, "Environment name");
  EXPECT_EQ(modal.private_metadata,
            R"({"channel":"C0123ABCD","env":"dev","level":"full",)"
            R"("response_url":"https://hooks.slack.com/commands/T0123/456789/abcdefABCDEF"})");
}

// ---- private_metadata ----

TEST(TeardownMetadata, RoundTrips) {
  for (const auto& original :
       {confirmation(),
        infra::views::TeardownConfirmation{"staging", infra::TeardownLevel::services, "", ""},
        infra::views::TeardownConfirmation{"dév \"quoted\" \\ env", infra::TeardownLevel::full,
                                           "C1", "https://example.test/?a=1&b=<2>"}}) {
    const Modal modal = infra::views::render_teardown_modal(original);
    const auto parsed = infra::views::parse_teardown_metadata(modal.private_metadata);
    ASSERT_TRUE(parsed.has_value()) << modal.private_metadata;
    EXPECT_EQ(parsed->environment, original.environment);
    EXPECT_EQ(parsed->level, original.level);
    EXPECT_EQ(parsed->channel_id, original.channel_id);
    EXPECT_EQ(parsed->response_url, original.response_url);
  }
}

TEST(TeardownMetadata, MissingChannelAndResponseUrlAreEmpty) {
  const auto parsed = infra::views::parse_teardown_metadata(R"({"env":"dev","level":"full"})");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->channel_id, "");
  EXPECT_EQ(parsed->response_url, "");
}

TEST(TeardownMetadata, RejectsMalformed) {
  for (const char* bad : {
           "",
           "not json",
           R"({"env":"dev","level":"full")",  // truncated
           "[]",
           R"("dev")",
           R"({"level":"full"})",
           R"({"env":"","level":"full"})",
           R"({"env":7,"level":"full"})",
           R"({"env":"dev"})",
           R"({"env":"dev","level":"everything"})",
           R"({"env":"dev","level":null})",
           R"({"env":"dev","level":"full","channel":42})",
           R"({"env":"dev","level":"full","response_url":["x"]})",
       }) {
    const auto parsed = infra::views::parse_teardown_metadata(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input) << bad;
    EXPECT_FALSE(parsed.error().user_message.empty()) << bad;
    EXPECT_FALSE(parsed.error().detail.empty()) << bad;
  }
}

}  // namespace
