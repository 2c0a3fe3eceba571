// CloudWatch Embedded Metric Format: core::emf::render (pure: snapshot + previous snapshot +
// time in, JSON lines out) against goldens in proto-fixtures/emf (UPDATE_GOLDEN=1 rewrites
// them), every line checked against the EMF specification by tests/fakes/emf_check.py, and
// core::emf::Reporter on a ManualScheduler (a flush per interval, the last one at stop()).
#include "core/emf.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/json.hpp"

namespace {

namespace fs = std::filesystem;
using core::metrics::Registry;
using testing::ElementsAre;
using testing::SizeIs;

// 2026-11-25T10:00:00Z
const core::TimePoint kAt{std::chrono::seconds(1795600800)};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// Compares with proto-fixtures/emf/<name>, or rewrites it with UPDATE_GOLDEN=1.
void expect_golden(const std::string& name, const std::vector<std::string>& lines) {
  const fs::path path = fs::path(FIXTURES_DIR) / "emf" / name;
  if (const char* update = std::getenv("UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << joined(lines);
    return;
  }
  EXPECT_EQ(joined(lines), read_file(path)) << "golden " << path << " (UPDATE_GOLDEN=1 rewrites)";
}

// emf_check.py's verdict on `lines` (written to a temp file).
std::string emf_check(const std::vector<std::string>& lines, int* status) {
  // One file per process: ctest runs the cases of this binary in parallel.
  const fs::path file =
      fs::path(testing::TempDir()) / ("emf_check_input." + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(file, std::ios::binary) << joined(lines);
  const std::string command =
      std::string("/usr/bin/python3 ") + FAKES_DIR + "/emf_check.py " + file.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int raw = pipe != nullptr ? ::pclose(pipe) : -1;
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::error_code ec;
  fs::remove(file, ec);
  return output;
}

void expect_valid_emf(const std::vector<std::string>& lines) {
  if (::access("/usr/bin/python3", X_OK) != 0) return;
  int status = -1;
  const auto output = emf_check(lines, &status);
  EXPECT_EQ(status, 0) << output;
  EXPECT_THAT(output, testing::HasSubstr(std::to_string(lines.size()) + " documents ok"));
}

// The service's metric shapes: labelled and plain counters, a gauge, a histogram.
void declare(Registry& registry) {
  registry.declare_counter("infra_jobs_total", "Jobs by action and outcome");
  registry.declare_counter("infra_acks_total", "Envelope acks sent");
  registry.declare_gauge("infra_socket_connections", "Connections");
  registry.declare_histogram("infra_ack_latency_seconds", "Envelope in to ack out",
                             {0.001, 0.01, 0.1});
}

TEST(EmfRender, TwoFlushesMatchTheGoldens) {
  Registry registry;
  declare(registry);
  registry.increment("infra_jobs_total", {{"action", "stop"}, {"outcome", "ok"}}, 3);
  registry.increment("infra_jobs_total", {{"action", "start"}, {"outcome", "failed"}});
  registry.increment("infra_acks_total", {}, 7);
  registry.set("infra_socket_connections", {}, 2);
  registry.observe("infra_ack_latency_seconds", {}, 0.0005);
  registry.observe("infra_ack_latency_seconds", {}, 0.25);
  const auto first_snapshot = registry.snapshot();
  const auto first = core::emf::render(first_snapshot, {}, kAt);
  expect_golden("first_flush.jsonl", first);
  expect_valid_emf(first);

  registry.increment("infra_jobs_total", {{"outcome", "ok"}, {"action", "stop"}}, 2);
  registry.increment("infra_acks_total", {}, 1);
  registry.set("infra_socket_connections", {}, 1);
  registry.observe("infra_ack_latency_seconds", {}, 0.5);
  const auto second =
      core::emf::render(registry.snapshot(), first_snapshot, kAt + std::chrono::seconds(60));
  expect_golden("second_flush.jsonl", second);
  expect_valid_emf(second);
}

TEST(EmfRender, CountersAreIncreasesGaugesCurrentValues) {
  Registry registry;
  declare(registry);
  registry.increment("infra_acks_total", {}, 5);
  registry.set("infra_socket_connections", {}, 2);
  const auto before = registry.snapshot();
  registry.increment("infra_acks_total", {}, 2);
  auto lines = core::emf::render(registry.snapshot(), before, kAt);
  ASSERT_THAT(lines, SizeIs(1));
  auto doc = core::json::parse(lines[0]);
  ASSERT_TRUE(doc);
  EXPECT_EQ(core::json::get_int(*doc, "infra_acks_total"), 2);
  EXPECT_EQ(core::json::get_int(*doc, "infra_socket_connections"), 2);
  EXPECT_EQ(core::json::get_int((*doc)["_aws"], "Timestamp"), 1795600800000);

  // A total that went down (a collector's source restarted) counts from zero again.
  registry.set("infra_acks_total", {}, 1);
  lines = core::emf::render(registry.snapshot(), before, kAt);
  doc = core::json::parse(lines.at(0));
  EXPECT_EQ(core::json::get_int(*doc, "infra_acks_total"), 1);
}

TEST(EmfRender, NonFiniteValuesAreLeftOutAndNothingUpdatedMeansNoLine) {
  Registry registry;
  declare(registry);
  EXPECT_THAT(core::emf::render(registry.snapshot(), {}, kAt), SizeIs(0));
  registry.set("infra_socket_connections", {}, std::numeric_limits<double>::quiet_NaN());
  registry.increment("infra_acks_total", {}, 1);
  const auto lines = core::emf::render(registry.snapshot(), {}, kAt);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0].find("infra_socket_connections"), std::string::npos);
  expect_valid_emf(lines);
}

TEST(EmfRender, MoreThanAHundredMetricsAreSplit) {
  Registry registry;
  for (int i = 0; i < 250; ++i) {
    const auto name = "g" + std::to_string(i);
    registry.declare_gauge(name, "gauge");
    registry.set(name, {}, i);
  }
  const auto lines = core::emf::render(registry.snapshot(), {}, kAt);
  ASSERT_THAT(lines, SizeIs(3));
  std::vector<std::size_t> sizes;
  for (const auto& line : lines) {
    auto doc = core::json::parse(line);
    ASSERT_TRUE(doc);
    sizes.push_back((*doc)["_aws"]["CloudWatchMetrics"][0]["Metrics"].Size());
  }
  EXPECT_THAT(sizes, ElementsAre(100, 100, 50));
  expect_valid_emf(lines);
}

TEST(EmfRender, AtMostThirtyDimensions) {
  Registry registry;
  registry.declare_gauge("wide", "many labels");
  core::metrics::Labels labels;
  for (int i = 0; i < 35; ++i) labels.emplace_back("l" + std::to_string(i), "v");
  registry.set("wide", labels, 1);
  const auto lines = core::emf::render(registry.snapshot(), {}, kAt);
  ASSERT_THAT(lines, SizeIs(1));
  auto doc = core::json::parse(lines[0]);
  ASSERT_TRUE(doc);
  EXPECT_EQ((*doc)["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].Size(), 30u);
  expect_valid_emf(lines);
}

TEST(EmfCheck, RefusesWhatTheSpecificationForbids) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  for (
      const char* bad : {
          R"({"_aws":{"Timestamp":"now","CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":1})",
          R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1,"d":2})",
          R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"m","Unit":"Parsecs"}]}]},"m":1})",
          R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":"1"})",
          R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":1})",
      }) {
    int status = -1;
    const auto output = emf_check({bad}, &status);
    EXPECT_EQ(status, 1) << bad << "\n" << output;
  }
}

// A sink that keeps the lines.
struct Lines {
  std::vector<std::string> lines;
  core::emf::Sink sink() {
    return [this](const std::string& line) { lines.push_back(line); };
  }
};

TEST(EmfReporter, FlushesEveryIntervalAndOnceMoreAtStop) {
  core::ManualScheduler scheduler(kAt);
  Registry registry;
  declare(registry);
  Lines out;
  core::emf::Reporter reporter(registry, scheduler, scheduler.clock(), std::chrono::seconds(60),
                               out.sink());
  reporter.start();
  registry.increment("infra_acks_total", {}, 4);
  scheduler.advance(std::chrono::seconds(59));
  EXPECT_THAT(out.lines, SizeIs(0));
  scheduler.advance(std::chrono::seconds(1));
  ASSERT_THAT(out.lines, SizeIs(1));
  auto doc = core::json::parse(out.lines[0]);
  EXPECT_EQ(core::json::get_int(*doc, "infra_acks_total"), 4);
  EXPECT_EQ(core::json::get_int((*doc)["_aws"], "Timestamp"), 1795600860000);

  registry.increment("infra_acks_total", {}, 1);
  scheduler.advance(std::chrono::seconds(60));
  ASSERT_THAT(out.lines, SizeIs(2));
  doc = core::json::parse(out.lines[1]);
  EXPECT_EQ(core::json::get_int(*doc, "infra_acks_total"), 1) << "the increase";

  registry.increment("infra_acks_total", {}, 2);
  scheduler.advance(std::chrono::seconds(30));
  reporter.stop();
  ASSERT_THAT(out.lines, SizeIs(3)) << "the final flush";
  doc = core::json::parse(out.lines[2]);
  EXPECT_EQ(core::json::get_int(*doc, "infra_acks_total"), 2);
  scheduler.advance(std::chrono::seconds(600));
  EXPECT_THAT(out.lines, SizeIs(3)) << "nothing after stop";
  EXPECT_EQ(scheduler.pending(), 0u);
  reporter.stop();
  EXPECT_THAT(out.lines, SizeIs(3)) << "stop is idempotent";
}

}  // namespace
