// `infra-bot run` with INFRA_METRICS=emf and =off (the built binary against the fake Slack and
// the fake Lambda): EMF documents on stdout (checked against the specification by
// tests/fakes/emf_check.py) with the command's job counted, the last flush written at SIGTERM;
// /healthz answering in every mode, /metrics gone with off.
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "service_fixture.hpp"

namespace {

using namespace test::service;
using namespace std::chrono_literals;
using testing::HasSubstr;

class ServiceMetricsTest : public ServiceFixture {
 protected:
  /// SIGTERM, and the exit code.
  std::optional<int> stop_bot() {
    EXPECT_TRUE(bot().send_signal(SIGTERM));
    return bot().wait_exit(12s);
  }
};

TEST_F(ServiceMetricsTest, EmfDocumentsOnStdoutWithTheLastFlushAtExit) {
  start(Settings().env("INFRA_METRICS", "emf").env("INFRA_METRICS_INTERVAL_SECONDS", "3600"));
  EXPECT_TRUE(wait_health("/healthz", 200));
  EXPECT_TRUE(wait_health("/metrics", 200)) << "still there for a look from inside the task";
  const auto cmd = slash("status dev");
  ASSERT_GT(slack().push(cmd.frame), 0);
  final_reply(cmd.response_id);
  EXPECT_TRUE(bot().wait_for_log("CloudWatch EMF on stdout every 3600 s"));
  EXPECT_TRUE(bot().stdout_lines().empty()) << "nothing before the first interval";

  EXPECT_EQ(stop_bot(), 0);
  const auto lines = bot().stdout_lines();
  ASSERT_FALSE(lines.empty()) << "the final flush";
  double status_jobs = 0;
  bool acks = false;
  for (const auto& line : lines) {
    auto doc = core::json::parse(line);
    ASSERT_TRUE(doc && doc->IsObject()) << line;
    ASSERT_TRUE(doc->HasMember("_aws")) << line;
    if (str(*doc, "action") == "status" && str(*doc, "outcome") == "ok" &&
        doc->HasMember("infra_jobs_total")) {
      status_jobs += (*doc)["infra_jobs_total"].GetDouble();
    }
    acks = acks || doc->HasMember("infra_acks_total");
  }
  EXPECT_EQ(status_jobs, 1.0) << "the status job, counted once";
  EXPECT_TRUE(acks) << "the Socket Mode client's collector ran";

  if (::access("/usr/bin/python3", X_OK) != 0) return;
  const std::string file =
      testing::TempDir() + "/service_emf." + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    for (const auto& line : lines) out << line << "\n";
  }
  const std::string command =
      std::string("/usr/bin/python3 ") + FAKES_DIR + "/emf_check.py " + file + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
}

TEST_F(ServiceMetricsTest, OffMeansNoMetricsAnywhere) {
  start(Settings().env("INFRA_METRICS", "off"));
  EXPECT_TRUE(wait_health("/healthz", 200));
  EXPECT_TRUE(wait_health("/readyz", 200));
  const auto metrics = health_get("/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 404);
  EXPECT_THAT(metrics->body, HasSubstr("INFRA_METRICS=off"));
  EXPECT_EQ(stop_bot(), 0);
  EXPECT_TRUE(bot().stdout_lines().empty());
}

TEST_F(ServiceMetricsTest, ABadModeIsAConfigError) {
  start(Settings().env("INFRA_METRICS", "statsd").no_hello_wait());
  EXPECT_EQ(bot().wait_exit(10s), 2);
  EXPECT_TRUE(bot().wait_for_log("INFRA_METRICS: expected prometheus, emf or off"));
}

}  // namespace
