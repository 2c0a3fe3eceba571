// What a backend reports, rendered: the status card and an action's result.
#include "infra/views.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/strings.hpp"
#include "views_format.hpp"

namespace infra::views {

using namespace detail;

namespace {

using core::reply::Divider;
using core::reply::Header;
using core::reply::Section;
using core::reply::Visibility;

std::string count_or_unknown(const std::optional<std::int64_t>& count) {
  return count ? std::to_string(*count) : std::string(kUnknown);
}

std::string ecs_line(const EcsService& service) {
  const std::string status = to_upper(service.status);
  std::string_view icon;
  if (service.status.empty()) {
    icon = kQuestion;
  } else if (status == "STOPPED" || (service.desired_count && *service.desired_count == 0)) {
    icon = kDown;
  } else if (service.running_count && service.running_count != service.desired_count) {
    icon = kBusy;
  } else if (status == "RUNNING" || status == "ACTIVE") {  // ACTIVE: ECS's own word
    icon = kOk;
  } else {
    icon = kBusy;  // PENDING, DRAINING, …: on its way somewhere
  }
  std::string counts;
  if (service.running_count && service.running_count != service.desired_count) {
    counts = fmt::format("running: {}, desired: {}", *service.running_count,
                         count_or_unknown(service.desired_count));
  } else {
    counts = fmt::format("desired: {}", count_or_unknown(service.desired_count));
  }
  return fmt::format("{} {} - {} ({})", icon, or_unknown(service.name), or_unknown(service.status),
                     counts);
}

std::string rds_line(const RdsInstance& instance) {
  const std::string status = core::to_lower(instance.status);
  std::string_view icon = kBusy;  // starting, stopping, deleting, modifying, …
  if (status.empty()) {
    icon = kQuestion;
  } else if (status == "available") {
    icon = kOk;
  } else if (status == "stopped") {
    icon = kDown;
  }
  return fmt::format("{} {} - {}", icon, or_unknown(instance.identifier),
                     or_unknown(instance.status));
}

std::string rds_cluster_line(const RdsCluster& cluster) {
  std::string line = rds_line(RdsInstance{cluster.identifier, cluster.status});
  if (!cluster.engine.empty()) line += fmt::format(" ({})", cluster.engine);
  return line;
}

// ":white_check_mark: bastion-dev (i-0abc) - running · eu-west-1a · launched 2026-12-01T10:00:00Z"
std::string ec2_line(const Ec2Instance& instance) {
  const std::string state = core::to_lower(instance.state);
  std::string_view icon = kBusy;  // pending, stopping, shutting-down, …
  if (state.empty()) {
    icon = kQuestion;
  } else if (state == "running") {
    icon = kOk;
  } else if (state == "stopped" || state == "terminated") {
    icon = kDown;
  }
  std::string line =
      instance.name.empty()
          ? fmt::format("{} {} - {}", icon, or_unknown(instance.id), or_unknown(instance.state))
          : fmt::format("{} {} ({}) - {}", icon, instance.name, or_unknown(instance.id),
                        or_unknown(instance.state));
  if (!instance.availability_zone.empty()) line += " · " + instance.availability_zone;
  if (instance.launch_time) line += " · launched " + core::format_rfc3339(*instance.launch_time);
  return line;
}

bool is_acronym(std::string_view word) {
  static constexpr std::array<std::string_view, 11> kAcronyms = {
      "ecs", "rds", "nat", "vpc", "alb", "elb", "iam", "s3", "sg", "ip", "ec2"};
  for (auto acronym : kAcronyms) {
    if (word == acronym) return true;
  }
  return false;
}

// "ecs_services_stopped" → "ECS services stopped", "elastic_ips_released" → "Elastic IPs
// released".
std::string humanise(std::string_view key) {
  std::string out;
  for (const auto& piece : core::split_list(key, '_')) {
    std::string word = core::to_lower(piece);
    if (is_acronym(word)) {
      word = to_upper(word);
    } else if (word.size() > 1 && word.back() == 's' &&
               is_acronym(std::string_view(word).substr(0, word.size() - 1))) {
      word = to_upper(word.substr(0, word.size() - 1)) + "s";  // "ips" → "IPs"
    } else if (out.empty() && word[0] >= 'a' && word[0] <= 'z') {
      word[0] = static_cast<char>(word[0] - 'a' + 'A');
    }
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out.empty() ? std::string(kUnknown) : out;
}

}  // namespace

Message render_status(const EnvironmentStatus& status) {
  std::vector<std::string> ecs;
  for (const auto& service : status.ecs_services) ecs.push_back(ecs_line(service));
  if (ecs.empty()) ecs.emplace_back("None");
  std::vector<std::string> rds;
  for (const auto& instance : status.rds_instances) rds.push_back(rds_line(instance));
  if (rds.empty()) rds.emplace_back("None");
  std::string text =
      fmt::format("Infrastructure status of {}: {}, {}", or_unknown(status.environment),
                  plural(status.ecs_services.size(), "ECS service", "ECS services"),
                  plural(status.rds_instances.size(), "RDS instance", "RDS instances"));
  std::vector<core::reply::Block> blocks = {
      Header{"Infrastructure Status: " + upper_env(status.environment)},
      Divider{},
      Section{"ECS Services:", std::move(ecs)},
      Section{"RDS Instances:", std::move(rds)},
  };
  // Clusters, EC2 and problems only where a backend reports them (the seed's
  // Lambdas do not), so the seed's card is unchanged.
  if (!status.rds_clusters.empty()) {
    std::vector<std::string> lines;
    for (const auto& cluster : status.rds_clusters) lines.push_back(rds_cluster_line(cluster));
    blocks.emplace_back(Section{"RDS Clusters:", std::move(lines)});
    text += ", " + plural(status.rds_clusters.size(), "RDS cluster", "RDS clusters");
  }
  if (!status.ec2_instances.empty()) {
    std::vector<std::string> lines;
    for (const auto& instance : status.ec2_instances) lines.push_back(ec2_line(instance));
    blocks.emplace_back(Section{"EC2 Instances:", std::move(lines)});
    text += ", " + plural(status.ec2_instances.size(), "EC2 instance", "EC2 instances");
  }
  text += '.';
  if (!status.problems.empty()) {
    std::vector<std::string> lines;
    for (const auto& problem : status.problems) lines.push_back(":warning: " + problem);
    blocks.emplace_back(Section{"Could not read:", std::move(lines)});
  }
  return message(std::move(text), std::move(blocks), Visibility::ephemeral);
}

Message render_action_result(const ActionResult& result) {
  // The seed's wording when the orchestrator gives no message.
  const std::string summary =
      result.message.empty() ? "Operation completed successfully." : result.message;
  std::vector<core::reply::Block> blocks = {
      Header{title_line(kOk, to_string(result.action), result.environment)},
      Divider{},
      Section{"", {summary}},
  };
  if (!result.details.empty()) {
    std::vector<std::string> lines;
    for (const auto& [key, value] : result.details) {
      lines.push_back(fmt::format("- {}: {}", humanise(key), value));
    }
    blocks.emplace_back(Section{"Details:", std::move(lines)});
  }
  if (!result.notes.empty()) {
    std::vector<std::string> lines;
    for (const auto& note : result.notes) lines.push_back("- " + note);
    blocks.emplace_back(Section{"Notes:", std::move(lines)});
  }
  return message(fmt::format("{} {}: {}", to_upper(to_string(result.action)),
                             or_unknown(result.environment), summary),
                 std::move(blocks), Visibility::in_channel);
}

}  // namespace infra::views
