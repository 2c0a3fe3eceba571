// core::metrics::Registry: the exact text exposition (format 0.0.4), byte for byte,
// and a cross-check with prometheus_client's own parser (Debian
// python3-prometheus-client, run by tests/fakes/prometheus_parse.py).

#include "core/metrics.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;
using core::metrics::Labels;
using core::metrics::Registry;

// Every registry starts with its own drop counter.
const std::string kPreamble =
    "# HELP infra_metrics_undeclared_total Metric updates dropped: undeclared name, wrong kind "
    "or invalid labels.\n"
    "# TYPE infra_metrics_undeclared_total counter\n"
    "infra_metrics_undeclared_total 0\n";

std::string preamble_with_drops(int dropped) {
  return "# HELP infra_metrics_undeclared_total Metric updates dropped: undeclared name, wrong "
         "kind or invalid labels.\n"
         "# TYPE infra_metrics_undeclared_total counter\n"
         "infra_metrics_undeclared_total " +
         std::to_string(dropped) + "\n";
}

TEST(Metrics, EmptyRegistryRendersItsDropCounter) {
  Registry registry;
  EXPECT_EQ(registry.render(), kPreamble);
}

TEST(Metrics, CounterWithoutLabels) {
  Registry registry;
  registry.declare_counter("infra_envelopes_total", "Envelopes received.");
  registry.increment("infra_envelopes_total");
  registry.increment("infra_envelopes_total");
  registry.increment("infra_envelopes_total", {}, 3);
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_envelopes_total Envelopes received.\n"
                                   "# TYPE infra_envelopes_total counter\n"
                                   "infra_envelopes_total 5\n");
  registry.increment("infra_envelopes_total", {}, 0.5);
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_envelopes_total Envelopes received.\n"
                                   "# TYPE infra_envelopes_total counter\n"
                                   "infra_envelopes_total 5.5\n");
}

TEST(Metrics, CounterWithLabelsKeepsFirstUpdateOrder) {
  Registry registry;
  registry.declare_counter("infra_commands_total", "Commands by action and outcome.");
  registry.increment("infra_commands_total", {{"action", "stop"}, {"outcome", "ok"}});
  registry.increment("infra_commands_total", {{"action", "start"}, {"outcome", "denied"}});
  // The same label set in another order is the same series, shown as first given.
  registry.increment("infra_commands_total", {{"outcome", "ok"}, {"action", "stop"}}, 2);
  registry.increment("infra_commands_total", {{"action", "status"}, {"outcome", "ok"}});
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_commands_total Commands by action and outcome.\n"
                                   "# TYPE infra_commands_total counter\n"
                                   "infra_commands_total{action=\"stop\",outcome=\"ok\"} 3\n"
                                   "infra_commands_total{action=\"start\",outcome=\"denied\"} 1\n"
                                   "infra_commands_total{action=\"status\",outcome=\"ok\"} 1\n");
}

TEST(Metrics, FamiliesRenderInDeclarationOrder) {
  Registry registry;
  registry.declare_gauge("b_gauge", "B.");
  registry.declare_counter("a_total", "A.");
  registry.set("b_gauge", {}, 1);
  registry.increment("a_total");
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP b_gauge B.\n"
                                   "# TYPE b_gauge gauge\n"
                                   "b_gauge 1\n"
                                   "# HELP a_total A.\n"
                                   "# TYPE a_total counter\n"
                                   "a_total 1\n");
}

TEST(Metrics, DeclaredButNeverUpdated) {
  Registry registry;
  registry.declare_counter("idle_total", "Never counted.");
  registry.declare_gauge("idle_gauge", "Never set.");
  registry.declare_histogram("idle_seconds", "Never observed.", {0.1, 1});
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP idle_total Never counted.\n"
                                   "# TYPE idle_total counter\n"
                                   "idle_total 0\n"
                                   "# HELP idle_gauge Never set.\n"
                                   "# TYPE idle_gauge gauge\n"
                                   "idle_gauge 0\n"
                                   "# HELP idle_seconds Never observed.\n"
                                   "# TYPE idle_seconds histogram\n");
}

TEST(Metrics, GaugeSetIncrementAndSpecialValues) {
  Registry registry;
  registry.declare_gauge("infra_connections", "Open Socket Mode connections.");
  registry.set("infra_connections", {{"link", "a"}}, 2);
  registry.increment("infra_connections", {{"link", "a"}}, -3);
  registry.set("infra_connections", {{"link", "b"}}, 0.25);
  registry.set("infra_connections", {{"link", "c"}}, 1e20);
  registry.set("infra_connections", {{"link", "d"}}, std::numeric_limits<double>::infinity());
  registry.set("infra_connections", {{"link", "e"}}, -std::numeric_limits<double>::infinity());
  registry.set("infra_connections", {{"link", "f"}}, std::numeric_limits<double>::quiet_NaN());
  registry.set("infra_connections", {{"link", "g"}}, -0.0);
  registry.set("infra_connections", {{"link", "h"}}, 1234567890123.0);
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_connections Open Socket Mode connections.\n"
                                   "# TYPE infra_connections gauge\n"
                                   "infra_connections{link=\"a\"} -1\n"
                                   "infra_connections{link=\"b\"} 0.25\n"
                                   "infra_connections{link=\"c\"} 1e+20\n"
                                   "infra_connections{link=\"d\"} +Inf\n"
                                   "infra_connections{link=\"e\"} -Inf\n"
                                   "infra_connections{link=\"f\"} NaN\n"
                                   "infra_connections{link=\"g\"} 0\n"
                                   "infra_connections{link=\"h\"} 1234567890123\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndInclusive) {
  Registry registry;
  // Given out of order; rendered ascending.
  registry.declare_histogram("infra_ack_seconds", "Envelope to ack.", {1, 0.25, 2.5});
  for (const double v : {0.25, 1.0, 0.5, 2.5, 10.0, 0.0}) {
    registry.observe("infra_ack_seconds", {}, v);
  }
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_ack_seconds Envelope to ack.\n"
                                   "# TYPE infra_ack_seconds histogram\n"
                                   "infra_ack_seconds_bucket{le=\"0.25\"} 2\n"
                                   "infra_ack_seconds_bucket{le=\"1\"} 4\n"
                                   "infra_ack_seconds_bucket{le=\"2.5\"} 5\n"
                                   "infra_ack_seconds_bucket{le=\"+Inf\"} 6\n"
                                   "infra_ack_seconds_sum 14.25\n"
                                   "infra_ack_seconds_count 6\n");
}

TEST(Metrics, HistogramWithLabels) {
  Registry registry;
  registry.declare_histogram("infra_lambda_seconds", "Lambda call time.", {0.001, 0.5, 3});
  registry.observe("infra_lambda_seconds", {{"function", "orchestrator"}}, 0.5);
  registry.observe("infra_lambda_seconds", {{"function", "whitelist"}}, 4);
  registry.observe("infra_lambda_seconds", {{"function", "orchestrator"}}, 0.001);
  EXPECT_EQ(registry.render(),
            kPreamble +
                "# HELP infra_lambda_seconds Lambda call time.\n"
                "# TYPE infra_lambda_seconds histogram\n"
                "infra_lambda_seconds_bucket{function=\"orchestrator\",le=\"0.001\"} 1\n"
                "infra_lambda_seconds_bucket{function=\"orchestrator\",le=\"0.5\"} 2\n"
                "infra_lambda_seconds_bucket{function=\"orchestrator\",le=\"3\"} 2\n"
                "infra_lambda_seconds_bucket{function=\"orchestrator\",le=\"+Inf\"} 2\n"
                "infra_lambda_seconds_sum{function=\"orchestrator\"} 0.501\n"
                "infra_lambda_seconds_count{function=\"orchestrator\"} 2\n"
                "infra_lambda_seconds_bucket{function=\"whitelist\",le=\"0.001\"} 0\n"
                "infra_lambda_seconds_bucket{function=\"whitelist\",le=\"0.5\"} 0\n"
                "infra_lambda_seconds_bucket{function=\"whitelist\",le=\"3\"} 0\n"
                "infra_lambda_seconds_bucket{function=\"whitelist\",le=\"+Inf\"} 1\n"
                "infra_lambda_seconds_sum{function=\"whitelist\"} 4\n"
                "infra_lambda_seconds_count{function=\"whitelist\"} 1\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry registry;
  registry.declare_counter("escapes_total", "Escapes.");
  registry.increment("escapes_total", {{"v", "back\\slash \"quoted\"\nnext line"}, {"u", "é ✓"}});
  EXPECT_EQ(registry.render(),
            kPreamble +
                "# HELP escapes_total Escapes.\n"
                "# TYPE escapes_total counter\n"
                "escapes_total{v=\"back\\\\slash \\\"quoted\\\"\\nnext line\",u=\"é ✓\"} 1\n");
}

TEST(Metrics, HelpIsEscaped) {
  Registry registry;
  // Help escapes backslash and newline only; quotes stay as they are.
  registry.declare_gauge("helpful", "First line\nsecond C:\\path \"as is\"");
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP helpful First line\\nsecond C:\\\\path \"as is\"\n"
                                   "# TYPE helpful gauge\n"
                                   "helpful 0\n");
}

TEST(Metrics, UpdatesThatCannotRenderAreDroppedAndCounted) {
  Registry registry;
  registry.declare_counter("ok_total", "Counter.");
  registry.declare_histogram("latency_seconds", "Histogram.", {1});
  registry.increment("typo_total");                          // undeclared
  registry.set("nothing", {}, 1);                            // undeclared
  registry.observe("nope_seconds", {}, 1);                   // undeclared
  registry.observe("ok_total", {}, 1);                       // observe on a counter
  registry.increment("latency_seconds");                     // increment a histogram
  registry.set("latency_seconds", {}, 1);                    // set a histogram
  registry.increment("ok_total", {{"bad-name", "x"}});       // invalid label name
  registry.increment("ok_total", {{"__reserved", "x"}});     // reserved label name
  registry.increment("ok_total", {{"a", "x"}, {"a", "y"}});  // duplicate label
  registry.observe("latency_seconds", {{"le", "1"}}, 1);     // le on a histogram
  registry.increment("ok_total", {}, -1);                    // counters only go up
  registry.increment("ok_total", {}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(registry.render(), preamble_with_drops(12) +
                                   "# HELP ok_total Counter.\n"
                                   "# TYPE ok_total counter\n"
                                   "ok_total 0\n"
                                   "# HELP latency_seconds Histogram.\n"
                                   "# TYPE latency_seconds histogram\n");
}

TEST(Metrics, BadOrRepeatedDeclarationsAreIgnored) {
  Registry registry;
  registry.declare_counter("requests", "No _total suffix.");
  registry.declare_gauge("9lives", "Starts with a digit.");
  registry.declare_gauge("has-dash", "Invalid character.");
  registry.declare_gauge("", "Empty.");
  registry.declare_gauge("ns:temperature_celsius", "Colons are allowed.");
  registry.declare_gauge("ns:temperature_celsius", "Second declaration: a no-op.");
  registry.declare_counter("ns:temperature_celsius", "Another kind: ignored.");
  registry.increment("requests");  // was never declared
  registry.set("ns:temperature_celsius", {}, 21.5);
  EXPECT_EQ(registry.render(), preamble_with_drops(1) +
                                   "# HELP ns:temperature_celsius Colons are allowed.\n"
                                   "# TYPE ns:temperature_celsius gauge\n"
                                   "ns:temperature_celsius 21.5\n");
}

TEST(Metrics, SetOnACounterCopiesAValueFromElsewhere) {
  Registry registry;
  registry.declare_counter("curl_requests_total", "Requests sent by the HTTP client.");
  registry.set("curl_requests_total", {{"host", "slack"}}, 41);
  registry.increment("curl_requests_total", {{"host", "slack"}});
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP curl_requests_total Requests sent by the HTTP client.\n"
                                   "# TYPE curl_requests_total counter\n"
                                   "curl_requests_total{host=\"slack\"} 42\n");
}

TEST(Metrics, CollectorsRunAtEveryRender) {
  Registry registry;
  registry.declare_gauge("live_connections", "Live connections.");
  registry.declare_counter("renders_total", "Renders.");
  int live = 3;
  int renders = 0;
  registry.add_collector([&](Registry& r) { r.set("live_connections", {}, live); });
  registry.add_collector([&](Registry& r) {
    ++renders;
    r.set("renders_total", {}, renders);
  });
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP live_connections Live connections.\n"
                                   "# TYPE live_connections gauge\n"
                                   "live_connections 3\n"
                                   "# HELP renders_total Renders.\n"
                                   "# TYPE renders_total counter\n"
                                   "renders_total 1\n");
  live = 1;
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP live_connections Live connections.\n"
                                   "# TYPE live_connections gauge\n"
                                   "live_connections 1\n"
                                   "# HELP renders_total Renders.\n"
                                   "# TYPE renders_total counter\n"
                                   "renders_total 2\n");
}

TEST(Metrics, ConcurrentUpdatesFromEightThreadsSumExactly) {
  Registry registry;
  registry.declare_counter("hits_total", "Hits.");
  registry.declare_histogram("sizes", "Sizes.", {1, 2});
  registry.declare_gauge("scrapes", "Renders seen by a collector.");
  registry.add_collector([](Registry& r) { r.increment("scrapes"); });
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      const Labels own = {{"thread", std::to_string(t % 2)}};
      for (int i = 0; i < kPerThread; ++i) {
        registry.increment("hits_total");
        registry.increment("hits_total", own);
        registry.observe("sizes", {}, i % 3);
      }
    });
  }
  // Renders race the updates; they must neither crash nor tear a line.
  std::thread scraper([&registry] {
    for (int i = 0; i < 50; ++i) {
      const auto text = registry.render();
      ASSERT_EQ(text.back(), '\n');
    }
  });
  for (auto& thread : threads) thread.join();
  scraper.join();
  const auto text = registry.render();
  constexpr int kTotal = kThreads * kPerThread;
  EXPECT_NE(text.find("\nhits_total " + std::to_string(kTotal) + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nhits_total{thread=\"0\"} " + std::to_string(kTotal / 2) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nhits_total{thread=\"1\"} " + std::to_string(kTotal / 2) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nsizes_count " + std::to_string(kTotal) + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsizes_bucket{le=\"+Inf\"} " + std::to_string(kTotal) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nscrapes 51\n"), std::string::npos) << text;
}

// --- handles -------------------------------------------------------------------

TEST(MetricsHandles, ResolvedSeriesRendersOnlyFromItsFirstUpdate) {
  Registry registry;
  registry.declare_counter("infra_envelopes_total", "Envelopes received.");
  registry.declare_histogram("infra_ack_seconds", "Envelope to ack.", {0.001, 0.01});
  const auto envelopes = registry.counter("infra_envelopes_total", {{"type", "slash_commands"}});
  const auto acks = registry.histogram("infra_ack_seconds");
  // Resolved, not updated: the exposition is that of an untouched registry.
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_envelopes_total Envelopes received.\n"
                                   "# TYPE infra_envelopes_total counter\n"
                                   "infra_envelopes_total 0\n"
                                   "# HELP infra_ack_seconds Envelope to ack.\n"
                                   "# TYPE infra_ack_seconds histogram\n");
  envelopes.increment();
  envelopes.increment(2);
  acks.observe(0.0005);
  acks.observe(0.02);
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_envelopes_total Envelopes received.\n"
                                   "# TYPE infra_envelopes_total counter\n"
                                   "infra_envelopes_total{type=\"slash_commands\"} 3\n"
                                   "# HELP infra_ack_seconds Envelope to ack.\n"
                                   "# TYPE infra_ack_seconds histogram\n"
                                   "infra_ack_seconds_bucket{le=\"0.001\"} 1\n"
                                   "infra_ack_seconds_bucket{le=\"0.01\"} 1\n"
                                   "infra_ack_seconds_bucket{le=\"+Inf\"} 2\n"
                                   "infra_ack_seconds_sum 0.0205\n"
                                   "infra_ack_seconds_count 2\n");
}

TEST(MetricsHandles, SeriesKeepFirstUpdateOrderNotResolutionOrder) {
  Registry registry;
  registry.declare_counter("infra_commands_total", "Commands.");
  const auto first_resolved = registry.counter("infra_commands_total", {{"action", "stop"}});
  const auto second_resolved = registry.counter("infra_commands_total", {{"action", "start"}});
  second_resolved.increment();
  registry.increment("infra_commands_total", {{"action", "status"}});
  first_resolved.increment();
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP infra_commands_total Commands.\n"
                                   "# TYPE infra_commands_total counter\n"
                                   "infra_commands_total{action=\"start\"} 1\n"
                                   "infra_commands_total{action=\"status\"} 1\n"
                                   "infra_commands_total{action=\"stop\"} 1\n");
}

TEST(MetricsHandles, HandleAndByNameShareTheSeries) {
  Registry registry;
  registry.declare_counter("hits_total", "Hits.");
  registry.declare_gauge("queue_depth", "Jobs waiting.");
  const auto hits = registry.counter("hits_total", {{"a", "1"}, {"b", "2"}});
  hits.increment();
  registry.increment("hits_total", {{"b", "2"}, {"a", "1"}});  // the same label set
  const auto depth = registry.gauge("queue_depth");
  depth.set(5);
  depth.increment(-2);
  registry.increment("queue_depth", {}, 1);
  EXPECT_EQ(registry.render(), kPreamble +
                                   "# HELP hits_total Hits.\n"
                                   "# TYPE hits_total counter\n"
                                   "hits_total{a=\"1\",b=\"2\"} 2\n"
                                   "# HELP queue_depth Jobs waiting.\n"
                                   "# TYPE queue_depth gauge\n"
                                   "queue_depth 4\n");
}

TEST(MetricsHandles, RefusedHandlesDropAndCountEveryUpdate) {
  Registry registry;
  registry.declare_counter("ok_total", "Counter.");
  registry.declare_histogram("latency_seconds", "Histogram.", {1});
  const auto undeclared = registry.counter("typo_total");
  const auto wrong_kind = registry.gauge("ok_total");
  const auto histogram_as_counter = registry.counter("latency_seconds");
  const auto bad_label = registry.counter("ok_total", {{"bad-name", "x"}});
  const auto le_label = registry.histogram("latency_seconds", {{"le", "1"}});
  const auto ok = registry.counter("ok_total");
  undeclared.increment();
  wrong_kind.set(1);
  wrong_kind.increment();
  histogram_as_counter.increment();
  bad_label.increment();
  le_label.observe(1);
  ok.increment(-1);  // counters only go up
  ok.increment(std::numeric_limits<double>::quiet_NaN());
  // A default-constructed handle belongs to no registry: its updates go nowhere.
  core::metrics::Counter detached;
  detached.increment();
  core::metrics::Histogram().observe(1);
  core::metrics::Gauge().set(1);
  EXPECT_EQ(registry.render(), preamble_with_drops(8) +
                                   "# HELP ok_total Counter.\n"
                                   "# TYPE ok_total counter\n"
                                   "ok_total 0\n"
                                   "# HELP latency_seconds Histogram.\n"
                                   "# TYPE latency_seconds histogram\n");
}

TEST(MetricsHandles, ConcurrentHandleUpdatesSumExactly) {
  Registry registry;
  registry.declare_counter("hits_total", "Hits.");
  registry.declare_histogram("sizes", "Sizes.", {1, 2});
  registry.declare_gauge("level", "Level.");
  const auto hits = registry.counter("hits_total");
  const auto sizes = registry.histogram("sizes");
  const auto level = registry.gauge("level");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads resolve their own handle: any number of handles, one series.
      const auto own = t % 2 == 0 ? hits : registry.counter("hits_total");
      for (int i = 0; i < kPerThread; ++i) {
        own.increment();
        sizes.observe(i % 3);
        level.increment(t % 2 == 0 ? 1 : -1);
      }
    });
  }
  std::thread scraper([&registry] {
    for (int i = 0; i < 50; ++i) {
      const auto text = registry.render();
      ASSERT_EQ(text.back(), '\n');
    }
  });
  for (auto& thread : threads) thread.join();
  scraper.join();
  const auto text = registry.render();
  constexpr int kTotal = kThreads * kPerThread;
  EXPECT_NE(text.find("\nhits_total " + std::to_string(kTotal) + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsizes_count " + std::to_string(kTotal) + "\n"), std::string::npos) << text;
  int at_most_one = 0;  // i % 3 ≤ 1
  for (int i = 0; i < kPerThread; ++i) at_most_one += i % 3 <= 1 ? 1 : 0;
  EXPECT_NE(text.find("\nsizes_bucket{le=\"1\"} " + std::to_string(kThreads * at_most_one) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nlevel 0\n"), std::string::npos) << text;
}

// --- prometheus_client cross-check -------------------------------------------

const std::string kPython = "/usr/bin/python3";
const std::string kScript = FAKES_DIR "/prometheus_parse.py";

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct ParseRun {
  bool module_missing = false;
  std::string output;
};

// Runs prometheus_client's parser on `text`; an assertion failure explains why it could not.
testing::AssertionResult parse_with_prometheus_client(const std::string& text, ParseRun& run) {
  if (::access(kPython.c_str(), X_OK) != 0) {
    run.module_missing = true;
    return testing::AssertionSuccess();
  }
  const fs::path dir = fs::temp_directory_path() /
                       ("metrics_test_" + std::to_string(::getpid()) + "_" +
                        std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  fs::create_directories(dir);
  const auto input = dir / "exposition.txt";
  const auto output = dir / "out.txt";
  const auto errors = dir / "err.txt";
  std::ofstream(input, std::ios::binary) << text;
  const std::string command = kPython + " '" + kScript + "' '" + input.string() + "' > '" +
                              output.string() + "' 2> '" + errors.string() + "'";
  const int status = std::system(command.c_str());
  run.output = read_all(output);
  const std::string stderr_text = read_all(errors);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  if (status == -1 || !WIFEXITED(status)) {
    return testing::AssertionFailure() << "could not run: " << command;
  }
  if (WEXITSTATUS(status) == 3) {
    run.module_missing = true;
    return testing::AssertionSuccess();
  }
  if (WEXITSTATUS(status) != 0) {
    return testing::AssertionFailure() << command << " exited " << WEXITSTATUS(status) << ":\n"
                                       << stderr_text << "\ninput:\n"
                                       << text;
  }
  return testing::AssertionSuccess();
}

TEST(Metrics, PrometheusClientParsesTheExposition) {
  Registry registry;
  registry.declare_counter("infra_commands_total", "Commands by \"action\".\nSecond line \\ end.");
  registry.declare_gauge("infra_connections", "Open connections.");
  registry.declare_gauge("infra_idle", "Never set.");
  registry.declare_histogram("infra_ack_seconds", "Ack latency.", {0.005, 0.25, 1});
  registry.increment("infra_commands_total", {{"action", "stop"}, {"env", "a\\b\"c\nd"}}, 2);
  registry.increment("infra_commands_total", {{"action", "start"}, {"env", "é"}});
  registry.set("infra_connections", {{"link", "1"}}, 2.5);
  registry.set("infra_connections", {{"link", "2"}}, std::numeric_limits<double>::infinity());
  registry.set("infra_connections", {{"link", "3"}}, std::numeric_limits<double>::quiet_NaN());
  registry.observe("infra_ack_seconds", {{"path", "/x"}}, 0.005);
  registry.observe("infra_ack_seconds", {{"path", "/x"}}, 0.75);
  registry.observe("infra_ack_seconds", {{"path", "/x"}}, 9);
  registry.increment("undeclared_total");

  ParseRun run;
  ASSERT_TRUE(parse_with_prometheus_client(registry.render(), run));
  if (run.module_missing) {
    GTEST_SKIP() << "python3-prometheus-client is not installed for " << kPython
                 << " (./dev.sh test installs it)";
  }
  EXPECT_EQ(run.output,
            "family infra_metrics_undeclared counter \"Metric updates dropped: undeclared name, "
            "wrong kind or invalid labels.\"\n"
            "sample infra_metrics_undeclared_total {} 1.0\n"
            "family infra_commands counter \"Commands by \\\"action\\\".\\nSecond line \\\\ "
            "end.\"\n"
            "sample infra_commands_total {\"action\":\"stop\",\"env\":\"a\\\\b\\\"c\\nd\"} 2.0\n"
            "sample infra_commands_total {\"action\":\"start\",\"env\":\"\\u00e9\"} 1.0\n"
            "family infra_connections gauge \"Open connections.\"\n"
            "sample infra_connections {\"link\":\"1\"} 2.5\n"
            "sample infra_connections {\"link\":\"2\"} inf\n"
            "sample infra_connections {\"link\":\"3\"} nan\n"
            "family infra_idle gauge \"Never set.\"\n"
            "sample infra_idle {} 0.0\n"
            "family infra_ack_seconds histogram \"Ack latency.\"\n"
            "sample infra_ack_seconds_bucket {\"path\":\"/x\",\"le\":\"0.005\"} 1.0\n"
            "sample infra_ack_seconds_bucket {\"path\":\"/x\",\"le\":\"0.25\"} 1.0\n"
            "sample infra_ack_seconds_bucket {\"path\":\"/x\",\"le\":\"1\"} 2.0\n"
            "sample infra_ack_seconds_bucket {\"path\":\"/x\",\"le\":\"+Inf\"} 3.0\n"
            "sample infra_ack_seconds_sum {\"path\":\"/x\"} 9.755\n"
            "sample infra_ack_seconds_count {\"path\":\"/x\"} 3.0\n");
}

}  // namespace
