#include "infra/views.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/overloaded.hpp"
#include "core/strings.hpp"

namespace infra::views {
namespace {

using core::reply::Context;
using core::reply::Divider;
using core::reply::Header;
using core::reply::Section;
using core::reply::TextInput;
using core::reply::Visibility;

constexpr std::string_view kUnknown = "unknown";
constexpr std::string_view kOk = ":white_check_mark:";
constexpr std::string_view kDown = ":red_circle:";
constexpr std::string_view kBusy = ":hourglass_flowing_sand:";
constexpr std::string_view kQuestion = ":grey_question:";
// Ports the whitelist Lambda opens for each entry (design §4).
constexpr std::string_view kWhitelistPorts = "80, 443, 7233";

std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string or_unknown(std::string_view text) {
  return text.empty() ? std::string(kUnknown) : std::string(text);
}

std::string upper_env(std::string_view environment) { return to_upper(or_unknown(environment)); }

// ":white_check_mark: STOP - DEV"
std::string title_line(std::string_view icon, std::string_view action,
                       std::string_view environment) {
  return fmt::format("{} {} - {}", icon, to_upper(action), upper_env(environment));
}

Message message(std::string text, std::vector<core::reply::Block> blocks, Visibility visibility) {
  Message out;
  out.text = std::move(text);
  out.blocks = std::move(blocks);
  out.visibility = visibility;
  return out;
}

// One-section ephemeral message ("… Working on `stop dev`…").
Message notice(std::string line, Visibility visibility = Visibility::ephemeral) {
  std::string text = line;
  return message(std::move(text), {Section{"", {std::move(line)}}}, visibility);
}

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

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string whitelist_entry_line(const WhitelistEntry& entry, core::TimePoint now) {
  std::string left = "no expiry";
  if (entry.expires_at) {
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(*entry.expires_at - now);
    left = remaining.count() > 0 ? format_time_left(remaining) + " left" : "expired";
  }
  std::string line = fmt::format("`{}`", or_unknown(entry.cidr));
  if (!entry.description.empty()) line += fmt::format(" — {}", entry.description);
  line += fmt::format(" (added by {}, {})", or_unknown(entry.added_by), left);
  return line;
}

core::Error metadata_error(std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input,
                          "This teardown confirmation could not be read. Run `/infra teardown "
                          "<env> --level=full` again.",
                          std::move(detail));
}

}  // namespace

Message render_help(const HelpInfo& info) {
  std::vector<std::string> infrastructure = {
      "`/infra status [env]` — ECS services and RDS instances, with their state",
      "`/infra stop [env]` — stop the ECS services and RDS instances",
      "`/infra start [env]` — start them again",
      "`/infra teardown [env] [--level=services|full]` — `services` (default) deletes the ECS "
      "services; `full` also deletes RDS, load balancers and NAT gateways, after a typed "
      "confirmation",
      "`/infra spinup [env]` — rebuild what a teardown removed",
      "`/infra reboot [env] [--name=<Name tag>]` — reboot the EC2 instances (or the one named)",
  };
  std::vector<std::string> allow_list = {
      "`/infra whitelist add <ip|cidr> [--ttl=<dur>] [--description='<text>'] [--env=<env>]` — "
      "open ports " +
          std::string(kWhitelistPorts) + " to an address",
      "TTL: `30m`, `12h`, `7d` (1m–1440m, 1h–24h or 1d–365d; default 30d)",
      "`/infra whitelist remove <ip|cidr> [--env=<env>]` — remove an entry",
      "`/infra whitelist list [env]` — entries with who added them and their time left",
      "`/infra whitelist refresh [env]` — re-apply the entries to the security groups",
  };
  std::string environments = core::join(info.environments);
  if (environments.empty()) environments = "none configured";
  std::string protection = info.protected_environments.empty()
                               ? std::string("none protected")
                               : fmt::format("protected: {} — never stopped or torn down",
                                             core::join(info.protected_environments));
  std::string context = info.default_environment.empty()
                            ? fmt::format("Environments: {} ({})", environments, protection)
                            : fmt::format("Environments: {} (default {}; {})", environments,
                                          info.default_environment, protection);
  return message(
      "infra-bot /infra commands: status, stop, start, reboot, teardown, spinup, whitelist",
      {
          Header{"infra-bot — /infra commands"},
          Divider{},
          Section{"Infrastructure:", std::move(infrastructure)},
          Section{"IP allow-list:", std::move(allow_list)},
          Context{std::move(context)},
      },
      Visibility::ephemeral);
}

Message render_parse_error(const core::Error& error) {
  return message(error.user_message,
                 {
                     Section{"", {":warning: " + error.user_message}},
                     Context{"Type `/infra help` for the full syntax."},
                 },
                 Visibility::ephemeral);
}

Message render_denied(const Command& /*command*/, const Decision& decision) {
  const std::string reason = decision.message.empty() ? "Not allowed." : decision.message;
  return notice(":no_entry: " + reason);
}

Message render_working(const Command& command) {
  return notice(fmt::format("{} Working on `{}`…", kBusy, describe(command)));
}

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
  const std::string summary = result.message.empty() ? "Operation completed." : result.message;
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

Message render_failure(const Command& command, const core::Error& error) {
  // Only the user message: error.detail is for the log and may name internals.
  const std::string reason =
      error.user_message.empty() ? "Something went wrong. Please try again." : error.user_message;
  const auto action = to_string(action_of(command));
  const auto environment = environment_of(command);
  const std::string header =
      environment ? title_line(":x:", action, *environment) : ":x: " + to_upper(action);
  const std::string text =
      environment ? fmt::format("{} {} failed: {}", to_upper(action), *environment, reason)
                  : fmt::format("{} failed: {}", to_upper(action), reason);
  return message(text,
                 {
                     Header{header},
                     Divider{},
                     Section{"", {reason}},
                 },
                 Visibility::ephemeral);
}

Message render_whitelist_added(const WhitelistAdded& added, core::TimePoint now) {
  const auto& entry = added.entry;
  std::string expires = "Expires: never";
  if (entry.expires_at) {
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(*entry.expires_at - now);
    expires = fmt::format(
        "Expires: {} ({})", core::format_rfc3339(*entry.expires_at),
        remaining.count() > 0 ? "in " + format_time_left(remaining) : std::string("expired"));
  }
  std::vector<std::string> lines = {
      fmt::format("CIDR: `{}`", or_unknown(entry.cidr)),
      "Description: " + (entry.description.empty() ? std::string("(none)") : entry.description),
      "Added by: " + or_unknown(entry.added_by),
      std::move(expires),
      fmt::format("Ports: {}", kWhitelistPorts),
  };
  if (added.replaced) {
    lines.emplace_back(":repeat: This CIDR was already listed: its expiry was renewed.");
  }
  return message(
      fmt::format("Whitelisted {} in {}.", or_unknown(entry.cidr), or_unknown(added.environment)),
      {
          Header{title_line(kOk, "whitelist add", added.environment)},
          Divider{},
          Section{"", std::move(lines)},
      },
      Visibility::in_channel);
}

Message render_whitelist_removed(const WhitelistRemoved& removed) {
  return message(fmt::format("Removed {} from the {} whitelist.", or_unknown(removed.cidr),
                             or_unknown(removed.environment)),
                 {
                     Header{title_line(kOk, "whitelist remove", removed.environment)},
                     Divider{},
                     Section{"", {fmt::format("CIDR: `{}` removed.", or_unknown(removed.cidr))}},
                 },
                 Visibility::in_channel);
}

Message render_whitelist_list(const WhitelistListing& listing, core::TimePoint now) {
  Section section;
  if (listing.entries.empty()) {
    section.lines.emplace_back("No entries.");
  } else {
    section.title = plural(listing.entries.size(), "entry:", "entries:");
    for (const auto& entry : listing.entries) {
      section.lines.push_back(whitelist_entry_line(entry, now));
    }
  }
  return message(fmt::format("IP whitelist of {}: {}.", or_unknown(listing.environment),
                             plural(listing.entries.size(), "entry", "entries")),
                 {
                     Header{"IP Whitelist: " + upper_env(listing.environment)},
                     Divider{},
                     std::move(section),
                 },
                 Visibility::ephemeral);
}

Message render_whitelist_refreshed(const WhitelistRefreshed& refreshed) {
  const std::string groups =
      refreshed.security_groups.empty() ? "none" : core::join(refreshed.security_groups);
  std::vector<core::reply::Block> blocks = {
      Header{title_line(kOk, "whitelist refresh", refreshed.environment)},
      Divider{},
      Section{"",
              {
                  "Security groups: " + groups,
                  fmt::format("Rules added: {}", refreshed.rules_added),
                  fmt::format("Rules removed: {}", refreshed.rules_removed),
              }},
  };
  // What the refresh took away: the expiry sweep will not announce these.
  if (!refreshed.expired.empty()) {
    Section expired{"Expired and removed:", {}};
    for (const auto& entry : refreshed.expired) {
      std::string line = fmt::format("`{}`", or_unknown(entry.cidr));
      if (!entry.description.empty()) line += fmt::format(" — {}", entry.description);
      line += fmt::format(" (added by {})", or_unknown(entry.added_by));
      expired.lines.push_back(std::move(line));
    }
    blocks.emplace_back(std::move(expired));
  }
  return message(fmt::format("Refreshed the {} whitelist: {} added, {} removed.",
                             or_unknown(refreshed.environment), refreshed.rules_added,
                             refreshed.rules_removed),
                 std::move(blocks), Visibility::in_channel);
}

std::string teardown_metadata_json(const TeardownConfirmation& confirmation) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto write = [&writer](std::string_view key, std::string_view value) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  writer.StartObject();
  write("channel", confirmation.channel_id);
  write("env", confirmation.environment);
  write("level", to_string(confirmation.level));
  write("response_url", confirmation.response_url);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Message render_teardown_prompt(const TeardownConfirmation& confirmation) {
  const std::string& env = confirmation.environment;
  return message(
      fmt::format("A full teardown of {} needs a typed confirmation.", env),
      {
          Section{
              "",
              {fmt::format(":warning: A full teardown of `{}` needs a typed confirmation.", env)}},
          core::reply::Actions{{core::reply::Button{fmt::format("Confirm teardown of {}…", env),
                                                    std::string(kOpenTeardownActionId),
                                                    teardown_metadata_json(confirmation), true}}},
      },
      Visibility::ephemeral);
}

Message render_busy(std::string_view running_command, std::string_view started_by,
                    std::chrono::seconds ago) {
  return notice(fmt::format("{} `{}` is already running (started by {} {} ago).", kBusy,
                            running_command, started_by, format_elapsed(ago)));
}

Message render_progress(const Command& command, std::chrono::seconds elapsed) {
  return notice(fmt::format("{} Still working on `{}`… ({} so far)", kBusy, describe(command),
                            format_elapsed(elapsed)));
}

Message render_unsupported(std::string_view why) {
  return notice(":no_entry: " + std::string(why));
}

Message render_whitelist_expired(const WhitelistEntry& entry, std::string_view environment) {
  std::string line =
      fmt::format(":hourglass: `{}` expired and was removed from the allow-list of `{}`",
                  or_unknown(entry.cidr), or_unknown(environment));
  if (!entry.description.empty()) line += fmt::format(" ({})", entry.description);
  line += fmt::format(" — added by {}", or_unknown(entry.added_by));
  if (entry.expires_at) line += ", expired " + core::format_rfc3339(*entry.expires_at);
  line += '.';
  return notice(std::move(line), Visibility::in_channel);
}

Message render_shutting_down() {
  return notice(":warning: infra-bot is restarting. Run the command again in a minute.");
}

Message render_interrupted(const Command& command) {
  const auto env = environment_of(command);
  return notice(fmt::format(":warning: `{}` was interrupted — check `/infra status{}`.",
                            describe(command), env ? " " + *env : std::string()));
}

Message for_channel(Message message, std::string_view requested_by) {
  message.blocks.emplace_back(Context{fmt::format("Requested by {}", requested_by)});
  message.visibility = Visibility::in_channel;
  return message;
}

Message render_audit_line(const Command& command, std::string_view who, std::string_view outcome,
                          std::chrono::seconds took) {
  std::string verb = std::visit(
      core::Overloaded{
          [](const Stop& c) { return "stopped " + c.env; },
          [](const Start& c) { return "started " + c.env; },
          [](const Teardown& c) {
            return fmt::format("tore down {} ({})", c.env, to_string(c.level));
          },
          [](const Spinup& c) { return "spun up " + c.env; },
          [](const Reboot& c) {
            return c.name ? fmt::format("rebooted {} in {}", *c.name, c.env) : "rebooted " + c.env;
          },
          [](const WhitelistAdd& c) {
            return fmt::format("whitelisted {} in {}", c.cidr.text, c.env);
          },
          [](const WhitelistRemove& c) {
            return fmt::format("removed {} from the {} whitelist", c.cidr.text, c.env);
          },
          [](const WhitelistRefresh& c) { return "refreshed the " + c.env + " whitelist"; },
          [](const auto& c) { return describe(Command{c}); },
      },
      command);
  std::string line = fmt::format("{} {} — {} in {}", who, verb, outcome, format_elapsed(took));
  return message(line, {Section{"", {line}}}, Visibility::in_channel);
}

std::string format_elapsed(std::chrono::seconds elapsed) {
  using namespace std::chrono;
  if (elapsed.count() < 0) elapsed = seconds{0};
  const auto h = duration_cast<hours>(elapsed);
  const auto m = duration_cast<minutes>(elapsed - h);
  const auto s = elapsed - h - m;
  if (h.count() > 0) return fmt::format("{} h {} min", h.count(), m.count());
  if (m.count() > 0) return fmt::format("{} min {} s", m.count(), s.count());
  return fmt::format("{} s", s.count());
}

Modal render_teardown_modal(const TeardownConfirmation& confirmation) {
  const std::string& env = confirmation.environment;
  Section warning;
  if (confirmation.level == TeardownLevel::full) {
    warning.title = ":warning: Full teardown of " + upper_env(env);
    warning.lines = {
        fmt::format("This destroys everything in `{}` that costs money:", env),
        "• the ECS cluster and its services",
        "• the RDS instances",
        "• the load balancers",
        "• the NAT gateways and other networking that costs money",
        "Preserved: the VPC, S3 buckets, Secrets Manager secrets and IAM roles.",
        fmt::format("`/infra spinup {}` rebuilds it afterwards.", env),
        "This cannot be undone.",
    };
  } else {
    warning.title = ":warning: Teardown of the " + upper_env(env) + " services";
    warning.lines = {
        fmt::format("This deletes the ECS services of `{}`.", env),
        "Preserved: RDS, networking, the VPC, S3 buckets, Secrets Manager secrets and IAM roles.",
        fmt::format("`/infra spinup {}` rebuilds them afterwards.", env),
        "This cannot be undone.",
    };
  }

  Modal modal;
  modal.callback_id = std::string(kTeardownCallbackId);
  modal.title = "Confirm Teardown";
  modal.submit = "Confirm Teardown";
  modal.close = "Cancel";
  modal.private_metadata = teardown_metadata_json(confirmation);
  modal.blocks = {std::move(warning)};
  modal.input = TextInput{std::string(kTeardownBlockId), std::string(kTeardownActionId),
                          fmt::format("Type `{}` to confirm", env), env};
  return modal;
}

core::Result<TeardownConfirmation> parse_teardown_metadata(std::string_view private_metadata) {
  auto document = core::json::parse(private_metadata);
  if (!document) return metadata_error("private_metadata: " + document.error().detail);
  if (!document->IsObject()) return metadata_error("private_metadata is not a JSON object");

  TeardownConfirmation out;
  const auto env = core::json::get_string(*document, "env");
  if (!env || env->empty()) return metadata_error("private_metadata: missing or empty env");
  out.environment = std::string(*env);

  const auto level = core::json::get_string(*document, "level");
  if (level && *level == "full") {
    out.level = TeardownLevel::full;
  } else if (level && *level == "services") {
    out.level = TeardownLevel::services;
  } else {
    return metadata_error("private_metadata: missing or unknown level");
  }

  // channel and response_url may be empty (a console or a shortcut has none),
  // but when present they must be strings.
  auto optional_string = [&](std::string_view key, std::string& target) -> bool {
    if (!document->HasMember(rapidjson::StringRef(key.data(), key.size()))) return true;
    const auto value = core::json::get_string(*document, key);
    if (!value) return false;
    target = std::string(*value);
    return true;
  };
  if (!optional_string("channel", out.channel_id)) {
    return metadata_error("private_metadata: channel is not a string");
  }
  if (!optional_string("response_url", out.response_url)) {
    return metadata_error("private_metadata: response_url is not a string");
  }
  return out;
}

std::string teardown_mismatch_text(std::string_view environment) {
  return fmt::format("Type `{}` exactly to confirm the teardown.", environment);
}

Message render_teardown_cancelled(std::string_view environment) {
  return notice(
      fmt::format(":information_source: Teardown of `{}` cancelled.", or_unknown(environment)));
}

std::string format_time_left(std::chrono::seconds left) {
  using namespace std::chrono;
  if (left.count() <= 0) return "expired";
  const auto d = duration_cast<days>(left);
  const auto h = duration_cast<hours>(left - d);
  const auto m = duration_cast<minutes>(left - d - h);
  const auto s = left - d - h - m;
  if (d.count() > 0) return fmt::format("{}d {}h", d.count(), h.count());
  if (h.count() > 0) return fmt::format("{}h {}m", h.count(), m.count());
  if (m.count() > 0) return fmt::format("{}m {}s", m.count(), s.count());
  return fmt::format("{}s", s.count());
}

}  // namespace infra::views
