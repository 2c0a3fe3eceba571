// core::metrics::Registry: Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Choices, and why:
// - One mutex around the families and the index of their series: declarations, series
//   creation, look-ups by name and render(). A series' numbers are atomics in a node that
//   never moves (a deque), so a handle (Counter, Gauge, Histogram) resolved once updates
//   them with no lock: the ack path pays an atomic add, not a map look-up under a mutex.
//   render() reads the atomics under the lock; a histogram's _count is its +Inf bucket,
//   so the two always agree (_sum may trail an observe() racing the scrape by one value).
// - A series exists from its first look-up but renders from its first update, ranked by
//   a registry-wide sequence number taken then: "first-update order" and "`name 0` until
//   the first update" hold whether the series came from a handle or a by-name update.
// - A series is identified by its label *set* (the pairs sorted), so {a,b} and {b,a}
//   are one series; it is rendered with the labels in the order of its first update.
// - An update that cannot be rendered as valid exposition text is dropped rather than
//   trusted: an undeclared name, the wrong kind (observe() on a counter), a bad or
//   duplicate label name, `le` on a histogram, a counter going down. Each one is counted
//   in infra_metrics_undeclared_total, so a typo shows on the dashboard instead of
//   vanishing. A bad declaration (invalid name, counter without `_total`, a name taken by
//   another kind) is ignored, so its updates are counted the same way.
// - A counter or gauge with no series yet renders `name 0`: a label-less metric is then
//   visible (and rate()-able) from the first scrape. The registry cannot know whether a
//   family will carry labels, so a labelled one shows that zero sample until its first
//   update. A histogram with no series renders its HELP and TYPE lines only.
#include "core/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace core::metrics {
namespace {

constexpr std::string_view kUndeclared = "infra_metrics_undeclared_total";

enum class Kind { counter, gauge, histogram };

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::counter:
      return "counter";
    case Kind::gauge:
      return "gauge";
    case Kind::histogram:
      return "histogram";
  }
  return "untyped";
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved for Prometheus.
bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_alpha(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c); });
}

// Go's strconv.ParseFloat reads every form fmt writes ("3", "0.25", "1e+20"); the
// special values are spelled the way the exposition format documents them.
std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0.0) return "0";  // not "-0"
  return fmt::format("{}", value);
}

void append_escaped_help(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_escaped_label_value(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}` with an optional extra pair last (a histogram's le), or nothing at all.
void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped_label_value(out, value);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

// The identity of a label set: pairs sorted by name, joined with separators that no
// valid label name contains (values may contain anything, so the length goes first).
std::string series_key(const Labels& labels) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(labels.size());
  for (const auto& pair : labels) sorted.push_back(&pair);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string key;
  for (const auto* pair : sorted) {
    key += pair->first;
    key += '=';
    key += std::to_string(pair->second.size());
    key += ':';
    key += pair->second;
  }
  return key;
}

bool valid_labels(const Labels& labels, Kind kind) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& name = labels[i].first;
    if (!valid_label_name(name)) return false;
    if (kind == Kind::histogram && name == "le") return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].first == name) return false;
    }
  }
  return true;
}

}  // namespace

namespace detail {

struct Series {
  Labels labels;  // as given by the first look-up
  std::atomic<double> value{0.0};
  // Histogram: per bucket (not cumulative), +Inf last; the family's finite bounds.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets;
  const std::vector<double>* bounds = nullptr;
  std::atomic<double> sum{0.0};
  // 0 until the first update, then its rank among all first updates of the registry.
  std::atomic<std::uint64_t> rank{0};
  std::atomic<std::uint64_t>* next_rank = nullptr;  // the registry's

  void touch() {
    if (rank.load(std::memory_order_acquire) != 0) return;
    std::uint64_t expected = 0;
    rank.compare_exchange_strong(expected, next_rank->fetch_add(1, std::memory_order_relaxed),
                                 std::memory_order_acq_rel);
  }
  void add(double by) {
    value.fetch_add(by, std::memory_order_relaxed);
    touch();
  }
  void store(double to) {
    value.store(to, std::memory_order_relaxed);
    touch();
  }
  void observe(double x) {
    // Buckets are inclusive upper bounds (le); NaN fails every comparison and lands in
    // +Inf, as in client_golang.
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds->begin(), bounds->end(), x) - bounds->begin());
    buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(x, std::memory_order_relaxed);
    touch();
  }
};

}  // namespace detail

namespace {

using detail::Series;

struct Family {
  std::string name;
  std::string help;
  Kind kind = Kind::counter;
  std::vector<double> bounds;  // histogram: finite, strictly ascending
  std::vector<std::string> bound_text;
  std::deque<Series> series;                          // nodes never move
  std::map<std::string, Series*, std::less<>> index;  // series_key → series
};

}  // namespace

struct Registry::State {
  mutable std::mutex mutex;
  std::deque<Family> families;  // nodes never move
  std::map<std::string, Family*, std::less<>> by_name;
  std::atomic<std::uint64_t> next_rank{1};
  Series* rejected = nullptr;  // infra_metrics_undeclared_total

  void declare(std::string name, std::string help, Kind kind, std::vector<double> bounds) {
    if (!valid_metric_name(name)) return;
    if (kind == Kind::counter && !name.ends_with("_total")) return;
    std::lock_guard lock(mutex);
    if (by_name.contains(name)) return;  // the first declaration wins
    Family& family = families.emplace_back();
    family.name = name;
    family.help = std::move(help);
    family.kind = kind;
    if (kind == Kind::histogram) {
      // +Inf is the implicit last bucket; NaN and infinities cannot be bounds.
      std::erase_if(bounds, [](double b) { return !std::isfinite(b); });
      std::sort(bounds.begin(), bounds.end());
      bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
      for (const double bound : bounds) family.bound_text.push_back(format_value(bound));
      family.bound_text.emplace_back("+Inf");
      family.bounds = std::move(bounds);
    }
    by_name.emplace(std::move(name), &family);
  }

  void count_rejected() const {
    if (rejected != nullptr) rejected->add(1.0);
  }

  // Under the lock. The series for `labels`, created on first use.
  Series& series_of(Family& family, const Labels& labels) {
    auto key = series_key(labels);
    const auto it = family.index.find(key);
    if (it != family.index.end()) return *it->second;
    Series& series = family.series.emplace_back();
    series.labels = labels;
    series.next_rank = &next_rank;
    if (family.kind == Kind::histogram) {
      const std::size_t count = family.bounds.size() + 1;
      series.buckets = std::make_unique<std::atomic<std::uint64_t>[]>(count);
      for (std::size_t i = 0; i < count; ++i) series.buckets[i].store(0);
      series.bounds = &family.bounds;
    }
    family.index.emplace(std::move(key), &series);
    return series;
  }

  // Under the lock: the family an update may change (a histogram for observe(), a
  // counter or gauge otherwise) with labels that render, or null.
  Family* family_for(std::string_view name, const Labels& labels, bool histogram) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) return nullptr;
    Family& family = *it->second;
    if ((family.kind == Kind::histogram) != histogram) return nullptr;
    if (!valid_labels(labels, family.kind)) return nullptr;
    return &family;
  }

  // A handle's series: of a family of exactly `kind`, or null.
  Series* handle(std::string_view name, const Labels& labels, Kind kind) {
    std::lock_guard lock(mutex);
    Family* family = family_for(name, labels, kind == Kind::histogram);
    if (family == nullptr || family->kind != kind) return nullptr;
    return &series_of(*family, labels);
  }
};

// ---- handles ------------------------------------------------------------------------------

void Counter::increment(double by) const {
  // Counters only go up (a negative or NaN step would break rate()).
  if (series_ == nullptr || !(by >= 0.0)) {
    if (rejected_ != nullptr) rejected_->add(1.0);
    return;
  }
  series_->add(by);
}

void Gauge::set(double value) const {
  if (series_ == nullptr) {
    if (rejected_ != nullptr) rejected_->add(1.0);
    return;
  }
  series_->store(value);
}

void Gauge::increment(double by) const {
  if (series_ == nullptr) {
    if (rejected_ != nullptr) rejected_->add(1.0);
    return;
  }
  series_->add(by);
}

void Histogram::observe(double value) const {
  if (series_ == nullptr) {
    if (rejected_ != nullptr) rejected_->add(1.0);
    return;
  }
  series_->observe(value);
}

Registry::Registry() : state_(std::make_unique<State>()) {
  declare_counter(std::string(kUndeclared),
                  "Metric updates dropped: undeclared name, wrong kind or invalid labels.");
  std::lock_guard lock(state_->mutex);
  state_->rejected = &state_->series_of(*state_->by_name.find(kUndeclared)->second, {});
}

Registry::~Registry() = default;

void Registry::declare_counter(std::string name, std::string help) {
  state_->declare(std::move(name), std::move(help), Kind::counter, {});
}

void Registry::declare_gauge(std::string name, std::string help) {
  state_->declare(std::move(name), std::move(help), Kind::gauge, {});
}

void Registry::declare_histogram(std::string name, std::string help, std::vector<double> bounds) {
  state_->declare(std::move(name), std::move(help), Kind::histogram, std::move(bounds));
}

Counter Registry::counter(std::string_view name, const Labels& labels) {
  return {state_->handle(name, labels, Kind::counter), state_->rejected};
}

Gauge Registry::gauge(std::string_view name, const Labels& labels) {
  return {state_->handle(name, labels, Kind::gauge), state_->rejected};
}

Histogram Registry::histogram(std::string_view name, const Labels& labels) {
  return {state_->handle(name, labels, Kind::histogram), state_->rejected};
}

void Registry::increment(std::string_view name, const Labels& labels, double by) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, false);
  // Counters only go up (a negative or NaN step would break rate()).
  if (family == nullptr || (family->kind == Kind::counter && !(by >= 0.0))) {
    state_->count_rejected();
    return;
  }
  state_->series_of(*family, labels).add(by);
}

void Registry::set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, false);
  if (family == nullptr) {
    state_->count_rejected();
    return;
  }
  state_->series_of(*family, labels).store(value);
}

void Registry::observe(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, true);
  if (family == nullptr) {
    state_->count_rejected();
    return;
  }
  state_->series_of(*family, labels).observe(value);
}

void Registry::add_collector(std::function<void(Registry&)> collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collector));
}

void Registry::run_collectors() const {
  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard lock(collectors_mutex_);
    collectors = collectors_;
  }
  // Collectors write through set(): the registry's state lives behind state_, never in a
  // const object, so calling the non-const API from here is sound.
  auto& self = const_cast<Registry&>(*this);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  for (const auto& collector : collectors) collector(self);
}

Snapshot Registry::snapshot() const {
  run_collectors();
  Snapshot out;
  std::vector<const Series*> shown;
  std::lock_guard lock(state_->mutex);
  out.reserve(state_->families.size());
  for (const Family& family : state_->families) {
    FamilySnapshot& snap = out.emplace_back();
    snap.name = family.name;
    snap.help = family.help;
    snap.kind = family.kind == Kind::counter ? MetricKind::counter
                : family.kind == Kind::gauge ? MetricKind::gauge
                                             : MetricKind::histogram;
    snap.bounds = family.bounds;
    shown.clear();
    for (const Series& series : family.series) {
      if (series.rank.load(std::memory_order_acquire) != 0) shown.push_back(&series);
    }
    std::sort(shown.begin(), shown.end(), [](const Series* a, const Series* b) {
      return a->rank.load(std::memory_order_relaxed) < b->rank.load(std::memory_order_relaxed);
    });
    for (const Series* series : shown) {
      SeriesSnapshot& one = snap.series.emplace_back();
      one.labels = series->labels;
      if (family.kind != Kind::histogram) {
        one.value = series->value.load(std::memory_order_relaxed);
        continue;
      }
      for (std::size_t i = 0; i < family.bound_text.size(); ++i) {
        one.buckets.push_back(series->buckets[i].load(std::memory_order_relaxed));
        one.count += one.buckets.back();
      }
      one.sum = series->sum.load(std::memory_order_relaxed);
    }
  }
  return out;
}

std::string Registry::render() const {
  run_collectors();

  std::string out;
  std::vector<const Series*> shown;
  std::lock_guard lock(state_->mutex);
  for (const Family& family : state_->families) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    append_escaped_help(out, family.help);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += to_string(family.kind);
    out += '\n';
    // The series updated at least once, in first-update order.
    shown.clear();
    for (const Series& series : family.series) {
      if (series.rank.load(std::memory_order_acquire) != 0) shown.push_back(&series);
    }
    std::sort(shown.begin(), shown.end(), [](const Series* a, const Series* b) {
      return a->rank.load(std::memory_order_relaxed) < b->rank.load(std::memory_order_relaxed);
    });
    if (family.kind != Kind::histogram) {
      if (shown.empty()) {
        out += family.name;
        out += " 0\n";
      }
      for (const Series* series : shown) {
        out += family.name;
        append_labels(out, series->labels);
        out += ' ';
        out += format_value(series->value.load(std::memory_order_relaxed));
        out += '\n';
      }
      continue;
    }
    for (const Series* series : shown) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < family.bound_text.size(); ++i) {
        cumulative += series->buckets[i].load(std::memory_order_relaxed);
        out += family.name;
        out += "_bucket";
        append_labels(out, series->labels, "le", family.bound_text[i]);
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
      }
      out += family.name;
      out += "_sum";
      append_labels(out, series->labels);
      out += ' ';
      out += format_value(series->sum.load(std::memory_order_relaxed));
      out += '\n';
      out += family.name;
      out += "_count";
      append_labels(out, series->labels);
      out += ' ';
      out += std::to_string(cumulative);  // the +Inf bucket
      out += '\n';
    }
  }
  return out;
}

}  // namespace core::metrics
