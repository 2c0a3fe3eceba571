// Runs the built `infra-bot console` on each script in proto-fixtures/console/
// and compares its output with the recorded transcript. Each case folder has
// input.txt (fed to stdin), expected.txt, and optionally args.txt (extra
// arguments, one line) and env.txt (VAR=value lines; the process otherwise gets
// an empty environment). UPDATE_GOLDEN=1 rewrites expected.txt.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/strings.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(FIXTURES_DIR) / "console";

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

Run run_console(const std::string& arguments, const std::vector<std::string>& env,
                const fs::path& input) {
  const auto dir = fs::path(testing::TempDir()) /
                   ("console-" + std::to_string(::getpid()) + "-" +
                    testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::create_directories(dir);
  // fmt rather than chains of operator+: g++ 12 -O2 warns falsely on those
  // (-Wrestrict, GCC bug 105329).
  std::string command = "env -i PATH=/usr/bin:/bin";
  for (const auto& variable : env) command += fmt::format(" {}", shell_quote(variable));
  command += fmt::format(" {} console {} < {} > {} 2> {}", shell_quote(INFRA_BOT_BINARY), arguments,
                         shell_quote(input.string()), shell_quote((dir / "out").string()),
                         shell_quote((dir / "err").string()));
  const int status = std::system(command.c_str());
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_file(dir / "out");
  run.err = read_file(dir / "err");
  return run;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  if (fs::is_directory(kCases)) {
    for (const auto& entry : fs::directory_iterator(kCases)) {
      if (entry.is_directory()) names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ConsoleTranscript : public testing::TestWithParam<std::string> {};

TEST_P(ConsoleTranscript, MatchesTheRecordedTranscript) {
  const auto folder = kCases / GetParam();
  std::string arguments;
  if (fs::exists(folder / "args.txt"))
    arguments = std::string(core::trim(read_file(folder / "args.txt")));
  std::vector<std::string> env;
  if (fs::exists(folder / "env.txt")) {
    env = core::split_list(read_file(folder / "env.txt"), '\n');
  }
  const auto run = run_console(arguments, env, folder / "input.txt");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto expected_path = folder / "expected.txt";
  if (const char* update = std::getenv("UPDATE_GOLDEN");
      update != nullptr && std::string_view(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << run.out;
    GTEST_SKIP() << "wrote " << expected_path;
  }
  ASSERT_TRUE(fs::exists(expected_path))
      << expected_path << " is missing (UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(run.out, read_file(expected_path)) << "stderr:\n" << run.err;
}

INSTANTIATE_TEST_SUITE_P(Cases, ConsoleTranscript, testing::ValuesIn(case_names()),
                         [](const auto& param_info) { return param_info.param; });

TEST(ConsoleTranscriptCases, Exist) { EXPECT_GE(case_names().size(), 3u); }

fs::path empty_input() {
  const auto path = fs::path(testing::TempDir()) / "empty-input.txt";
  std::ofstream(path).flush();
  return path;
}

TEST(ConsoleCommand, OneCommandExitsZeroOnSuccess) {
  const auto run = run_console("-c " + shell_quote("/infra status staging"), {}, empty_input());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, testing::StartsWith("Infrastructure Status: STAGING\n"));
}

TEST(ConsoleCommand, RefusedCommandExitsOne) {
  const auto run = run_console("-c " + shell_quote("/infra stop prod"), {}, empty_input());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, testing::HasSubstr("`prod` is protected"));
}

TEST(ConsoleCommand, JsonPrintsBlockKit) {
  const auto run = run_console("--json -c " + shell_quote("status"), {}, empty_input());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, testing::StartsWith("{\""));
  EXPECT_THAT(run.out, testing::HasSubstr("\"type\":\"header\""));
}

TEST(ConsoleCommand, BadConfigurationExitsTwoNamingTheVariable) {
  const auto run = run_console("-c status", {"INFRA_COOLDOWN_SECONDS=soon"}, empty_input());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, testing::HasSubstr("INFRA_COOLDOWN_SECONDS"));
}

TEST(ConsoleCommand, UserComesFromTheEnvironmentOrFlag) {
  const std::vector<std::string> env = {"INFRA_ALLOWED_USERS=U0ALICE"};
  EXPECT_EQ(run_console("-c status", env, empty_input()).exit_code, 1);
  EXPECT_EQ(run_console("-c status --user U0ALICE", env, empty_input()).exit_code, 0);
  auto with_env = env;
  with_env.push_back("INFRA_CONSOLE_USER=U0ALICE");
  EXPECT_EQ(run_console("-c status", with_env, empty_input()).exit_code, 0);
}

TEST(Binary, VersionAndHelp) {
  const auto version_file = fs::path(testing::TempDir()) / "version.txt";
  const std::string command =
      shell_quote(INFRA_BOT_BINARY) + " --version > " + shell_quote(version_file.string());
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_THAT(read_file(version_file), testing::StartsWith("infra-bot "));
  const std::string help =
      shell_quote(INFRA_BOT_BINARY) + " --help > " + shell_quote(version_file.string());
  ASSERT_EQ(std::system(help.c_str()), 0);
  EXPECT_THAT(read_file(version_file), testing::HasSubstr("console"));
}

// Issue 16: usage errors exit 2 as the README says (CLI11's own code is 109), with CLI11's line.
TEST(Binary, UsageErrorsExitTwo) {
  const auto out = fs::path(testing::TempDir()) / "usage.txt";
  for (const char* arguments : {"--no-such-flag", "console --bogus", "frobnicate",
                                "iam-policy --backend=nope"}) {
    const std::string command = "env -i " + shell_quote(INFRA_BOT_BINARY) + " " + arguments +
                                " > /dev/null 2> " + shell_quote(out.string());
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << arguments;
    EXPECT_EQ(WEXITSTATUS(status), 2) << arguments;
    EXPECT_FALSE(read_file(out).empty()) << arguments << ": says what is wrong";
  }
}

TEST(Binary, RunWithoutTokensExitsTwoNamingThem) {
  const auto out = fs::path(testing::TempDir()) / "run.txt";
  const std::string command =
      "env -i " + shell_quote(INFRA_BOT_BINARY) + " run 2> " + shell_quote(out.string());
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_THAT(read_file(out), testing::HasSubstr("SLACK_APP_TOKEN: required"));
}

}  // namespace
