#pragma once

// CloudWatch Embedded Metric Format (EMF): the metrics of a core::metrics::Registry written as
// JSON log lines, for a task whose /metrics no scraper can reach (Fargate). CloudWatch Logs
// turns each line into metric data points (shared/notes/aws-services.md §11).

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/scheduler.hpp"

namespace core::emf {

/// EMF limits: metrics per MetricDirective, keys per DimensionSet (aws-embedded-metrics 3.x).
inline constexpr std::size_t kMaxMetricsPerDocument = 100;
inline constexpr std::size_t kMaxDimensions = 30;

struct Settings {
  std::string metric_namespace = "InfraBot";  ///< CloudWatch namespace (1–255 characters)
};

/// The EMF documents for one flush, one JSON object per string (no newline), pure:
/// - a series' labels are its dimensions (one DimensionSet of the label names, in the
///   series' order, at most kMaxDimensions; a series without labels has the empty set), and
///   their values string members of the document. Series with the same labels and values share
///   a document; at most kMaxMetricsPerDocument metrics each, so a big group is split.
/// - counters: the increase since `previous` (the last flush's snapshot; the whole value for
///   a series it lacks, or when the value went down), Unit Count for `*_total`;
/// - gauges: the current value (Unit Seconds for `*_seconds`, else None);
/// - histograms: `<name>_count` (Count) and `<name>_sum` (Seconds for `*_seconds`) as
///   increases since `previous`; CloudWatch's Sum/SampleCount then give the mean per period.
/// - `_aws.Timestamp` is `at` in epoch milliseconds; NaN and infinite values are left out
///   (JSON has no spelling for them); a series not updated yet is absent, as in render().
std::vector<std::string> render(const metrics::Snapshot& current, const metrics::Snapshot& previous,
                                TimePoint at, const Settings& settings = {});

/// Where a flush's lines go (stdout_sink(): one write and a flush per line).
using Sink = std::function<void(const std::string& line)>;
Sink stdout_sink();

/// Writes the registry as EMF every `interval` on `scheduler` (the service's io thread), the
/// counters as increases since the previous flush.
///
/// Example:
///   core::emf::Reporter emf(metrics, *transport, clock, std::chrono::seconds(60),
///                           core::emf::stdout_sink());
///   emf.start();
///   …
///   transport->stop_and_join();   // no flush can be running after this
///   emf.stop();                   // the last flush: what changed since the previous one
class Reporter {
 public:
  Reporter(const metrics::Registry& registry, Scheduler& scheduler, const Clock& clock,
           std::chrono::milliseconds interval, Sink sink, Settings settings = {});
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  ~Reporter();

  /// Schedules the first flush one interval from now.
  void start();
  /// One flush now (thread-safe; flushes never overlap). Returns the lines written.
  std::size_t flush();
  /// Cancels the timer and writes the final flush. Call once the scheduler runs no more tasks
  /// (its thread joined), so none of this Reporter's is still running. Idempotent.
  void stop();

 private:
  void schedule();

  const metrics::Registry& registry_;
  Scheduler& scheduler_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  Sink sink_;
  Settings settings_;
  std::mutex mutex_;  // one flush at a time; guards previous_, timer_, stopped_
  metrics::Snapshot previous_;
  Timer timer_;
  bool stopped_ = false;
};

}  // namespace core::emf
