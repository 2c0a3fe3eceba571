// core::metrics::Registry: Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Choices, and why:
// - One mutex around all families and series. Updates are a map lookup and an add;
//   render() copies nothing out, it formats under the lock. A scrape every few seconds
//   and a few updates per command do not need sharding or atomics.
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
#include <cmath>
#include <cstddef>
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

struct Series {
  Labels labels;  // as given by the first update
  double value = 0.0;
  std::vector<std::uint64_t> buckets;  // histogram: per bucket (not cumulative), +Inf last
  double sum = 0.0;
  std::uint64_t count = 0;
};

struct Family {
  std::string name;
  std::string help;
  Kind kind = Kind::counter;
  std::vector<double> bounds;  // histogram: finite, strictly ascending
  std::vector<std::string> bound_text;
  std::vector<Series> series;
  std::map<std::string, std::size_t, std::less<>> index;  // series_key → series
};

}  // namespace

struct Registry::State {
  mutable std::mutex mutex;
  std::vector<Family> families;
  std::map<std::string, std::size_t, std::less<>> by_name;

  void declare(std::string name, std::string help, Kind kind, std::vector<double> bounds) {
    if (!valid_metric_name(name)) return;
    if (kind == Kind::counter && !name.ends_with("_total")) return;
    std::lock_guard lock(mutex);
    if (by_name.contains(name)) return;  // the first declaration wins
    Family family;
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
    by_name.emplace(std::move(name), families.size());
    families.push_back(std::move(family));
  }

  // Under the lock.
  void count_rejected() {
    const auto it = by_name.find(kUndeclared);
    if (it == by_name.end()) return;
    series_of(families[it->second], {}).value += 1.0;
  }

  // Under the lock. The series for `labels`, created on first use.
  static Series& series_of(Family& family, const Labels& labels) {
    auto key = series_key(labels);
    const auto it = family.index.find(key);
    if (it != family.index.end()) return family.series[it->second];
    Series series;
    series.labels = labels;
    if (family.kind == Kind::histogram) series.buckets.assign(family.bounds.size() + 1, 0);
    family.index.emplace(std::move(key), family.series.size());
    family.series.push_back(std::move(series));
    return family.series.back();
  }

  // Under the lock: the family an update may change (a histogram for observe(), a
  // counter or gauge otherwise) with labels that render, or null.
  Family* family_for(std::string_view name, const Labels& labels, bool histogram) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) return nullptr;
    Family& family = families[it->second];
    if ((family.kind == Kind::histogram) != histogram) return nullptr;
    if (!valid_labels(labels, family.kind)) return nullptr;
    return &family;
  }
};

Registry::Registry() : state_(std::make_unique<State>()) {
  declare_counter(std::string(kUndeclared),
                  "Metric updates dropped: undeclared name, wrong kind or invalid labels.");
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

void Registry::increment(std::string_view name, const Labels& labels, double by) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, false);
  // Counters only go up (a negative or NaN step would break rate()).
  if (family == nullptr || (family->kind == Kind::counter && !(by >= 0.0))) {
    state_->count_rejected();
    return;
  }
  State::series_of(*family, labels).value += by;
}

void Registry::set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, false);
  if (family == nullptr) {
    state_->count_rejected();
    return;
  }
  State::series_of(*family, labels).value = value;
}

void Registry::observe(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(state_->mutex);
  Family* family = state_->family_for(name, labels, true);
  if (family == nullptr) {
    state_->count_rejected();
    return;
  }
  Series& series = State::series_of(*family, labels);
  // Buckets are inclusive upper bounds (le); NaN fails every comparison and lands in
  // +Inf, as in client_golang.
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(family->bounds.begin(), family->bounds.end(), value) -
      family->bounds.begin());
  series.buckets[bucket] += 1;
  series.sum += value;
  series.count += 1;
}

void Registry::add_collector(std::function<void(Registry&)> collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() const {
  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard lock(collectors_mutex_);
    collectors = collectors_;
  }
  // Collectors write through set(): the registry's state lives behind state_, never in a
  // const object, so calling the non-const API from here is sound.
  auto& self = const_cast<Registry&>(*this);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  for (const auto& collector : collectors) collector(self);

  std::string out;
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
    if (family.kind != Kind::histogram) {
      if (family.series.empty()) {
        out += family.name;
        out += " 0\n";
      }
      for (const Series& series : family.series) {
        out += family.name;
        append_labels(out, series.labels);
        out += ' ';
        out += format_value(series.value);
        out += '\n';
      }
      continue;
    }
    for (const Series& series : family.series) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < series.buckets.size(); ++i) {
        cumulative += series.buckets[i];
        out += family.name;
        out += "_bucket";
        append_labels(out, series.labels, "le", family.bound_text[i]);
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
      }
      out += family.name;
      out += "_sum";
      append_labels(out, series.labels);
      out += ' ';
      out += format_value(series.sum);
      out += '\n';
      out += family.name;
      out += "_count";
      append_labels(out, series.labels);
      out += ' ';
      out += std::to_string(series.count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace core::metrics
