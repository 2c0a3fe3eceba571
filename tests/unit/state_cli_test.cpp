// `infra-bot state create-table` (issue 18), the built binary against dynalite
// on loopback: it creates the table the schema describes, says so, and a
// second run finds it there; bad or missing configuration is one line and
// exit 2, before anything is sent.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dynamodb_fakes.hpp"

namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Run infra_bot(const std::string& arguments, const std::vector<std::string>& env) {
  const auto dir = fs::path(testing::TempDir()) /
                   fmt::format("state-cli-{}-{}", ::getpid(),
                               testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::create_directories(dir);
  std::string command = "env -i PATH=/usr/bin:/bin HOME=/nonexistent";
  for (const auto& variable : env) command += fmt::format(" {}", shell_quote(variable));
  command += fmt::format(" {} {} > {} 2> {}", shell_quote(INFRA_BOT_BINARY), arguments,
                         shell_quote((dir / "out").string()), shell_quote((dir / "err").string()));
  const int status = std::system(command.c_str());
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_file(dir / "out");
  run.err = read_file(dir / "err");
  return run;
}

Run create_table(const std::vector<std::string>& env) {
  return infra_bot("state create-table", env);
}

std::vector<std::string> dynalite_env(const test::Dynalite& dynalite, const std::string& table) {
  return {"INFRA_STATE_TABLE=" + table,
          "AWS_REGION=eu-west-1",
          "AWS_ACCESS_KEY_ID=AKIDSTATECLI",
          "AWS_SECRET_ACCESS_KEY=secretSTATECLIsecret",
          "AWS_EC2_METADATA_DISABLED=true",
          "INFRA_ALLOW_INSECURE_ENDPOINTS=true",
          "AWS_ENDPOINT_URL_DYNAMODB=" + dynalite.endpoint()};
}

TEST(StateCliTest, CreatesTheTableThenFindsItThere) {
  if (!test::state_node_modules_present()) {
    GTEST_SKIP() << "no dynalite in " << test::state_node_modules()
                 << " (./dev.sh test installs it)";
  }
  test::Dynalite dynalite;
  ASSERT_TRUE(dynalite.ok());
  const auto table = test::unique_table_name("cli");
  const auto env = dynalite_env(dynalite, table);
  const auto first = create_table(env);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "table " + table + ": created; TTL on expires_at enabled\n");
  const auto second = create_table(env);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "table " + table + ": exists already; TTL on expires_at already on\n");
  EXPECT_THAT(first.err + second.err, testing::Not(HasSubstr("secretSTATECLIsecret")));
}

// `doctor` has a line for the table: missing (with the command that makes it), then there.
TEST(StateCliTest, DoctorSaysWhetherTheTableIsThere) {
  if (!test::state_node_modules_present()) {
    GTEST_SKIP() << "no dynalite in " << test::state_node_modules()
                 << " (./dev.sh test installs it)";
  }
  test::Dynalite dynalite;
  ASSERT_TRUE(dynalite.ok());
  const auto table = test::unique_table_name("doctor");
  auto env = dynalite_env(dynalite, table);
  // The rest is not under test here: Slack is nowhere (refused at once).
  env.insert(env.end(), {"INFRA_BACKEND=simulated", "INFRA_ALLOW_EVERYONE=true",
                         "SLACK_APP_TOKEN=xapp-1-A0-1-x", "SLACK_BOT_TOKEN=xoxb-1-2-x",
                         "SLACK_API_URL=http://127.0.0.1:1/api/"});
  const auto line_of = [](const std::string& out) {
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("shared state") != std::string::npos) return line;
    }
    return std::string("<no shared state line>");
  };
  const auto before = infra_bot("doctor", env);
  EXPECT_EQ(line_of(before.out),
            fmt::format("✘ shared state (DynamoDB table {}): the table does not exist — run "
                        "`infra-bot state create-table`, or set INFRA_STATE_CREATE_TABLE=true",
                        table));
  ASSERT_EQ(create_table(env).exit_code, 0);
  const auto after = infra_bot("doctor", env);
  EXPECT_EQ(line_of(after.out),
            fmt::format("✔ shared state (DynamoDB table {}): ACTIVE, TTL on expires_at", table));
}

TEST(StateCliTest, WithoutATableNameItSaysWhatToSet) {
  const auto run = create_table({"AWS_REGION=eu-west-1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "infra-bot state create-table: set INFRA_STATE_TABLE to the table's name\n");
  EXPECT_TRUE(run.out.empty());
}

TEST(StateCliTest, ABadTableNameOrNoRegionStopsIt) {
  const auto bad = create_table({"INFRA_STATE_TABLE=a b", "AWS_REGION=eu-west-1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("INFRA_STATE_TABLE must be a DynamoDB table name"));
  const auto no_region = create_table({"INFRA_STATE_TABLE=infra-bot-state"});
  EXPECT_EQ(no_region.exit_code, 2);
  EXPECT_THAT(no_region.err, HasSubstr("INFRA_STATE_TABLE needs AWS_REGION"));
}

}  // namespace
