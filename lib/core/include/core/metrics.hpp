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
/// GET /metrics. Thread-safe; updates take one short lock.
namespace core::metrics {

/// Label pairs in the order given, e.g. {{"action","stop"},{"outcome","ok"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

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

 private:
  struct State;
  std::unique_ptr<State> state_;
  mutable std::mutex collectors_mutex_;
  std::vector<std::function<void(Registry&)>> collectors_;
};

}  // namespace core::metrics
