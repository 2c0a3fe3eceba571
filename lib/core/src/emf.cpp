// CloudWatch Embedded Metric Format, https://docs.aws.amazon.com/AmazonCloudWatch/latest/
// monitoring/CloudWatch_Embedded_Metric_Format_Specification.html (and the notes' §11).
//
// Choices, and why:
// - One document per label set: a document's root member holds one value per name, so two
//   series of one family (reason="timeout", reason="closed") cannot share one.
// - Counters as increases per flush: CloudWatch aggregates data points per period (Sum), it
//   does not compute rate() from a running total. A value that went down (a collector's
//   total restarting) counts from zero again.
// - Histograms as _count and _sum increases: EMF values are samples, and the buckets of a
//   Prometheus histogram are not; count and sum give CloudWatch's SampleCount, Sum and mean.
#include "core/emf.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace core::emf {
namespace {

using metrics::Labels;
using metrics::MetricKind;
using metrics::SeriesSnapshot;

struct Metric {
  std::string name;
  std::string_view unit;
  double value = 0.0;
};

struct Group {
  Labels labels;
  std::vector<Metric> metrics;
};

// The identity of a label set: pairs sorted by name, lengths before values.
std::string labels_key(const Labels& labels) {
  auto sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [name, value] : sorted) {
    key += name;
    key += '=';
    key += std::to_string(value.size());
    key += ':';
    key += value;
  }
  return key;
}

std::string_view unit_for(std::string_view name, MetricKind kind) {
  if (name.ends_with("_seconds")) return "Seconds";
  if (kind == MetricKind::counter || name.ends_with("_total")) return "Count";
  return "None";
}

// An increase since the last flush; the whole value when there was none, or it went down.
double increase(double now, const double* before) {
  if (before == nullptr || now < *before) return now;
  return now - *before;
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_number(Writer& writer, double value) {
  // Whole numbers as integers (exact below 2^53), the rest as JSON doubles.
  if (std::nearbyint(value) == value && std::fabs(value) < 9007199254740992.0) {
    writer.Int64(static_cast<std::int64_t>(value));
  } else {
    writer.Double(value);
  }
}

std::string document(const Group& group, std::size_t first, std::size_t count, TimePoint at,
                     const Settings& settings) {
  // Labels that would shadow "_aws" or a metric of this document are left out (as values and
  // as dimensions): a root member holds one thing.
  std::set<std::string_view> taken{"_aws"};
  for (std::size_t i = first; i < first + count; ++i) taken.insert(group.metrics[i].name);
  std::vector<const std::pair<std::string, std::string>*> labels;
  for (const auto& pair : group.labels) {
    if (!taken.contains(pair.first)) labels.push_back(&pair);
  }
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("_aws");
  writer.StartObject();
  writer.Key("Timestamp");
  writer.Int64(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
  writer.Key("CloudWatchMetrics");
  writer.StartArray();
  writer.StartObject();
  writer.Key("Namespace");
  write_string(writer, settings.metric_namespace);
  writer.Key("Dimensions");
  writer.StartArray();
  writer.StartArray();
  for (std::size_t i = 0; i < labels.size() && i < kMaxDimensions; ++i) {
    write_string(writer, labels[i]->first);
  }
  writer.EndArray();
  writer.EndArray();
  writer.Key("Metrics");
  writer.StartArray();
  for (std::size_t i = first; i < first + count; ++i) {
    writer.StartObject();
    writer.Key("Name");
    write_string(writer, group.metrics[i].name);
    writer.Key("Unit");
    write_string(writer, group.metrics[i].unit);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  writer.EndArray();
  writer.EndObject();
  for (const auto* pair : labels) {
    write_string(writer, pair->first);
    write_string(writer, pair->second);
  }
  for (std::size_t i = first; i < first + count; ++i) {
    write_string(writer, group.metrics[i].name);
    write_number(writer, group.metrics[i].value);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::vector<std::string> render(const metrics::Snapshot& current, const metrics::Snapshot& previous,
                                TimePoint at, const Settings& settings) {
  // The last flush's series by family and label set.
  std::map<std::string, const SeriesSnapshot*, std::less<>> before;
  for (const auto& family : previous) {
    for (const auto& series : family.series) {
      before.emplace(family.name + '\x1f' + labels_key(series.labels), &series);
    }
  }
  std::vector<Group> groups;
  std::map<std::string, std::size_t, std::less<>> group_of;
  for (const auto& family : current) {
    for (const auto& series : family.series) {
      const std::string key = labels_key(series.labels);
      const auto found = before.find(family.name + '\x1f' + key);
      const SeriesSnapshot* last = found == before.end() ? nullptr : found->second;
      std::vector<Metric> out;
      switch (family.kind) {
        case MetricKind::counter:
          out.push_back({family.name, unit_for(family.name, family.kind),
                         increase(series.value, last ? &last->value : nullptr)});
          break;
        case MetricKind::gauge:
          out.push_back({family.name, unit_for(family.name, family.kind), series.value});
          break;
        case MetricKind::histogram: {
          const double count = static_cast<double>(series.count);
          const double last_count = last ? static_cast<double>(last->count) : 0.0;
          const bool restarted = last != nullptr && count < last_count;
          out.push_back({family.name + "_count", "Count",
                         increase(count, last && !restarted ? &last_count : nullptr)});
          out.push_back({family.name + "_sum",
                         family.name.ends_with("_seconds") ? "Seconds" : "None",
                         increase(series.sum, last && !restarted ? &last->sum : nullptr)});
          break;
        }
      }
      auto [it, added] = group_of.emplace(key, groups.size());
      if (added) groups.push_back(Group{series.labels, {}});
      for (auto& metric : out) {
        if (std::isfinite(metric.value)) groups[it->second].metrics.push_back(std::move(metric));
      }
    }
  }
  std::vector<std::string> lines;
  for (const auto& group : groups) {
    for (std::size_t first = 0; first < group.metrics.size(); first += kMaxMetricsPerDocument) {
      const std::size_t count = std::min(kMaxMetricsPerDocument, group.metrics.size() - first);
      lines.push_back(document(group, first, count, at, settings));
    }
  }
  return lines;
}

Sink stdout_sink() {
  return [](const std::string& line) {
    // One fwrite per line (one JSON object per log event), flushed so it is not held back.
    std::string text = line + '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
}

Reporter::Reporter(const metrics::Registry& registry, Scheduler& scheduler, const Clock& clock,
                   std::chrono::milliseconds interval, Sink sink, Settings settings)
    : registry_(registry),
      scheduler_(scheduler),
      clock_(clock),
      interval_(interval),
      sink_(std::move(sink)),
      settings_(std::move(settings)) {}

Reporter::~Reporter() {
  std::lock_guard lock(mutex_);
  if (timer_) timer_->cancel();
}

void Reporter::start() {
  std::lock_guard lock(mutex_);
  if (stopped_ || timer_) return;
  timer_ = scheduler_.after(interval_, [this] {
    flush();
    schedule();
  });
}

void Reporter::schedule() {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  timer_ = scheduler_.after(interval_, [this] {
    flush();
    schedule();
  });
}

std::size_t Reporter::flush() {
  std::lock_guard lock(mutex_);
  auto current = registry_.snapshot();
  const auto lines = render(current, previous_, clock_.now(), settings_);
  for (const auto& line : lines) sink_(line);
  previous_ = std::move(current);
  return lines.size();
}

void Reporter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (timer_) timer_->cancel();
    timer_.reset();
  }
  flush();
}

}  // namespace core::emf
