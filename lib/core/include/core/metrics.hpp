#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Prometheus metrics (text exposition format 0.0.4) without a client
/// library: counters, gauges and histograms with labels, rendered for
/// GET /metrics. Thread-safe. Updates by name take one short lock (a look-up
/// of the family and the label set); updates through a handle resolved once
/// (counter(), gauge(), histogram()) are atomic operations and take no lock.
namespace core::metrics {

/// Label pairs in the order given, e.g. {{"action","stop"},{"outcome","ok"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {
struct Series;
}  // namespace detail

enum class MetricKind { counter, gauge, histogram };

/// One series' numbers at one moment (Registry::snapshot()).
struct SeriesSnapshot {
  Labels labels;                       ///< in the order of its first update
  double value = 0.0;                  ///< counter or gauge
  std::vector<std::uint64_t> buckets;  ///< histogram: per bucket (not cumulative), +Inf last
  double sum = 0.0;                    ///< histogram
  std::uint64_t count = 0;             ///< histogram: the sum of `buckets`
};

/// One family at one moment: its series updated at least once, in first-update order.
struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricKind kind = MetricKind::counter;
  std::vector<double> bounds;  ///< histogram: the finite upper bounds
  std::vector<SeriesSnapshot> series;
};

/// Every family in declaration order (what render() shows, as numbers).
using Snapshot = std::vector<FamilySnapshot>;

/// One counter series, resolved once by Registry::counter(). Copyable, cheap; valid as
/// long as its Registry. A default-constructed handle, or one whose name or labels the
/// registry refused, drops its updates (the latter counts them in
/// `infra_metrics_undeclared_total`, as the by-name API does).
class Counter {
 public:
  Counter() = default;
  /// `by` ≥ 0 (a negative or NaN step is dropped and counted). Lock-free.
  void increment(double by = 1.0) const;

 private:
  friend class Registry;
  Counter(detail::Series* series, detail::Series* rejected)
      : series_(series), rejected_(rejected) {}
  detail::Series* series_ = nullptr;
  detail::Series* rejected_ = nullptr;
};

/// One gauge series, resolved once by Registry::gauge(); as Counter.
class Gauge {
 public:
  Gauge() = default;
  void set(double value) const;
  void increment(double by = 1.0) const;  ///< by may be negative

 private:
  friend class Registry;
  Gauge(detail::Series* series, detail::Series* rejected) : series_(series), rejected_(rejected) {}
  detail::Series* series_ = nullptr;
  detail::Series* rejected_ = nullptr;
};

/// One histogram series, resolved once by Registry::histogram(); as Counter.
class Histogram {
 public:
  Histogram() = default;
  /// A binary search over the bounds and three atomic adds.
  void observe(double value) const;

 private:
  friend class Registry;
  Histogram(detail::Series* series, detail::Series* rejected)
      : series_(series), rejected_(rejected) {}
  detail::Series* series_ = nullptr;
  detail::Series* rejected_ = nullptr;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Declares a family once (name must match [a-zA-Z_:][a-zA-Z0-9_:]*; a
  /// counter's name ends in `_total`). Declaring the same name again with the
  /// same kind is a no-op; updates of an undeclared name are ignored (and
  /// counted in `infra_metrics_undeclared_total`, so a typo shows).
  void declare_counter(std::string name, std::string help);
  void declare_gauge(std::string name, std::string help);
  /// `bounds`: the upper bounds of the buckets, ascending (+Inf is added).
  void declare_histogram(std::string name, std::string help, std::vector<double> bounds);

  /// Handles: the series of a declared family for `labels`, looked up once (declare the
  /// family first). A series appears in render() at its first update, as with the
  /// by-name API, so resolving handles up front changes nothing in the exposition.
  /// A handle and the by-name API on the same name and labels update the same series.
  /// An undeclared name, another kind or invalid labels give a handle whose every
  /// update is dropped and counted in `infra_metrics_undeclared_total`.
  Counter counter(std::string_view name, const Labels& labels = {});
  Gauge gauge(std::string_view name, const Labels& labels = {});
  Histogram histogram(std::string_view name, const Labels& labels = {});

  void increment(std::string_view name, const Labels& labels = {}, double by = 1.0);
  void set(std::string_view name, const Labels& labels, double value);
  void observe(std::string_view name, const Labels& labels, double value);

  /// Called at the start of every render() (outside the registry's lock), to
  /// copy in values that live elsewhere (a client's counters, live
  /// connections). Use set() in it; for counters kept elsewhere, a gauge-like
  /// absolute value may be written with set() on a counter too.
  void add_collector(std::function<void(Registry&)> collector);

  /// The whole text exposition: families in declaration order, series of a
  /// family in first-update order, "# HELP" and "# TYPE" lines, label values
  /// escaped (\\, \", \n), histograms as cumulative _bucket{le=…}, _sum, _count.
  std::string render() const;

  /// The same numbers as render() (collectors run first), as values: for exporters other
  /// than Prometheus text (CloudWatch EMF, core/emf.hpp).
  Snapshot snapshot() const;

 private:
  void run_collectors() const;
  struct State;
  std::unique_ptr<State> state_;
  mutable std::mutex collectors_mutex_;
  std::vector<std::function<void(Registry&)>> collectors_;
};

}  // namespace core::metrics
