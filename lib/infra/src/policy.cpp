#include "infra/policy.hpp"

#include <algorithm>
#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "infra/memory_state.hpp"
#include "infra/whitelist_ranges.hpp"

namespace infra {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

Decision deny(DenyReason reason, std::string message,
              std::chrono::seconds retry_after = std::chrono::seconds(0)) {
  return Decision{reason, std::move(message), retry_after};
}

bool is_read(Action action) { return action == Action::status || action == Action::whitelist_list; }

// In a protected environment these need an admin (issue 15): they bring the
// environment up or change who can reach it. stop, teardown and reboot are
// refused there for everyone; reads stay open.
bool needs_admin_when_protected(Action action) {
  switch (action) {
    case Action::start:
    case Action::spinup:
    case Action::whitelist_add:
    case Action::whitelist_remove:
    case Action::whitelist_refresh:
      return true;
    case Action::help:
    case Action::status:
    case Action::stop:
    case Action::teardown:
    case Action::whitelist_list:
    case Action::reboot:
      return false;
  }
  return true;  // unknown: the safe side
}

bool any_of_in(const std::vector<std::string>& values, const std::vector<std::string>& list) {
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& value) { return contains(list, value); });
}

// Who asks, as the gates see it: Slack's users or Discord's roles, and the
// words that tell the requester which setting to ask for.
struct Standing {
  bool admin = false;
  bool admins_configured = false;
  bool allowed = true;
  bool channel_allowed = true;
  std::string_view ask_an_admin;
  std::string_view no_admins;
};

Standing standing_of(const PolicySettings& settings, const Requester& who) {
  Standing standing;
  if (who.chat == Chat::discord) {
    standing.admin = any_of_in(who.roles, settings.discord_admin_roles);
    standing.admins_configured = !settings.discord_admin_roles.empty();
    standing.allowed = settings.discord_allowed_roles.empty() || standing.admin ||
                       any_of_in(who.roles, settings.discord_allowed_roles);
    standing.channel_allowed = settings.discord_allowed_channels.empty() ||
                               contains(settings.discord_allowed_channels, who.channel_id);
    standing.ask_an_admin = "Ask someone with a role listed in INFRA_DISCORD_ADMIN_ROLES";
    standing.no_admins =
        "no admin roles are configured. Set INFRA_DISCORD_ADMIN_ROLES to the Discord role IDs "
        "of the people who may do it";
    return standing;
  }
  standing.admin = contains(settings.admin_users, who.user_id);
  standing.admins_configured = !settings.admin_users.empty();
  standing.allowed = settings.allowed_users.empty() || standing.admin ||
                     contains(settings.allowed_users, who.user_id);
  standing.channel_allowed =
      settings.allowed_channels.empty() || contains(settings.allowed_channels, who.channel_id);
  standing.ask_an_admin = "Ask one of the admins listed in INFRA_ADMIN_USERS";
  standing.no_admins =
      "no admins are configured. Set INFRA_ADMIN_USERS to the Slack IDs of the people who may do "
      "it";
  return standing;
}

}  // namespace

PolicySettings PolicySettings::from(const core::Config& config) {
  PolicySettings settings;
  settings.protected_environments = config.protected_environments;
  settings.allowed_users = config.allowed_users;
  settings.allowed_channels = config.allowed_channels;
  settings.admin_users = config.admin_users;
  settings.discord_allowed_roles = config.discord_allowed_roles;
  settings.discord_allowed_channels = config.discord_allowed_channels;
  settings.discord_admin_roles = config.discord_admin_roles;
  settings.cooldown = config.cooldown;
  settings.admin_prefix_v4 = config.admin_prefix_v4;
  settings.admin_prefix_v6 = config.admin_prefix_v6;
  settings.reads_per_minute = config.reads_per_minute;
  return settings;
}

std::string_view to_string(DenyReason reason) {
  switch (reason) {
    case DenyReason::none:
      return "none";
    case DenyReason::protected_environment:
      return "protected_environment";
    case DenyReason::user_not_allowed:
      return "user_not_allowed";
    case DenyReason::channel_not_allowed:
      return "channel_not_allowed";
    case DenyReason::admin_required:
      return "admin_required";
    case DenyReason::cooldown:
      return "cooldown";
    case DenyReason::read_rate_limited:
      return "read_rate_limited";
    case DenyReason::unverified:
      return "unverified";
    case DenyReason::state_unavailable:
      return "state_unavailable";
  }
  return "unknown";
}

Policy::Policy(PolicySettings settings, const core::Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock),
      own_state_(std::make_unique<MemoryState>(clock)),
      state_(*own_state_) {}

Policy::Policy(PolicySettings settings, const core::Clock& clock, SharedState& state)
    : settings_(std::move(settings)), clock_(clock), state_(state) {}

Policy::~Policy() = default;

Decision Policy::check(const Command& command, const Requester& who) const {
  if (auto decision = check_static(command, who); !decision.allowed()) return decision;
  return check_dynamic(command, who, false);
}

Decision Policy::admit(const Command& command, const Requester& who) {
  if (auto decision = check_static(command, who); !decision.allowed()) return decision;
  return check_dynamic(command, who, true);
}

void Policy::record(const Command& command, const Requester& who) {
  (void)check_dynamic(command, who, true);
}

std::size_t Policy::read_users_for_test() const {
  const auto* own = dynamic_cast<const MemoryState*>(own_state_.get());
  return own == nullptr ? 0 : own->read_users();
}

std::string Policy::cooldown_key(const Command& command, const Requester& who) {
  std::string key = who.user_id;
  key += ' ';
  key += to_string(action_of(command));
  key += ' ';
  key += environment_of(command).value_or("");
  // Whitelist changes are per address: adding a second one is new work, not a repeat.
  // The parser has normalised the CIDR, so 1.2.3.4 and 1.2.3.4/32 are one target.
  if (const auto* add = std::get_if<WhitelistAdd>(&command)) {
    key += ' ' + add->cidr.text;
  } else if (const auto* remove = std::get_if<WhitelistRemove>(&command)) {
    key += ' ' + remove->cidr.text;
  }
  return key;
}

Decision Policy::check_dynamic(const Command& command, const Requester& who, bool record) const {
  const Action action = action_of(command);
  if (is_read(action)) {
    if (settings_.reads_per_minute <= 0) return {};
    auto limited = record ? state_.count_read(who.user_id, settings_.reads_per_minute)
                          : state_.read_limited(who.user_id, settings_.reads_per_minute);
    // Reads go on while the shared state cannot be reached: they change nothing.
    if (!limited || !*limited) return {};
    const auto left = **limited;
    return deny(DenyReason::read_rate_limited,
                fmt::format("You ran `status` or `whitelist list` {} times in the last minute; "
                            "the limit is {} a minute. Try again in {} s.",
                            settings_.reads_per_minute, settings_.reads_per_minute, left.count()),
                left);
  }
  if (!is_mutating(action)) return {};
  if (settings_.cooldown <= std::chrono::seconds(0)) return {};
  const auto key = cooldown_key(command, who);
  auto left = record ? state_.start_cooldown(key, settings_.cooldown) : state_.cooldown_left(key);
  if (!left) {
    // Fail closed: a change is never made without the state that guards it.
    return deny(DenyReason::state_unavailable,
                "infra-bot cannot reach its shared state right now, so it makes no changes. "
                "Reads still work; try again in a minute.");
  }
  if (!*left) return {};
  const auto wait = **left;
  const auto ago = std::max(settings_.cooldown - wait, std::chrono::seconds(0));
  return deny(DenyReason::cooldown,
              fmt::format("You ran `{}` {} s ago. Wait {} s before running it again.",
                          to_string(action), ago.count(), wait.count()),
              wait);
}

Decision Policy::check_static(const Command& command, const Requester& who) const {
  const Action action = action_of(command);
  if (action == Action::help) {
    return {};
  }

  // Fail closed: who could not be checked may read, not change anything.
  if (!who.verified && is_mutating(action)) {
    return deny(DenyReason::unverified,
                fmt::format("{} did not confirm your account in time, so nothing was changed. "
                            "Try again in a minute.",
                            who.chat == Chat::discord ? "Discord" : "Slack"));
  }

  const auto standing = standing_of(settings_, who);
  const bool is_admin = standing.admin;
  const bool discord = who.chat == Chat::discord;

  if (!standing.allowed) {
    return deny(DenyReason::user_not_allowed,
                discord ? std::string("None of your roles may use /infra. Ask an admin to give "
                                      "you a role listed in INFRA_DISCORD_ALLOWED_ROLES.")
                        : fmt::format("You are not on the list of people allowed to use /infra. "
                                      "Ask an admin to add your Slack ID `{}` to "
                                      "INFRA_ALLOWED_USERS.",
                                      who.user_id));
  }

  if (!standing.channel_allowed) {
    return deny(DenyReason::channel_not_allowed,
                fmt::format("/infra is not enabled in this channel. Ask an admin to add this "
                            "channel (`{}`) to {}.",
                            who.channel_id,
                            discord ? "INFRA_DISCORD_ALLOWED_CHANNELS" : "INFRA_ALLOWED_CHANNELS"));
  }

  const bool has_admins = standing.admins_configured;
  const auto kAskAnAdmin = standing.ask_an_admin;
  const auto kNoAdmins = standing.no_admins;
  const auto env = environment_of(command);
  const bool is_protected = env && contains(settings_.protected_environments, *env);

  // Protection holds for everyone, admins included: it is what the environment is, not who asks.
  if (is_protected &&
      (action == Action::stop || action == Action::teardown || action == Action::reboot)) {
    return deny(DenyReason::protected_environment,
                fmt::format("`{}` is protected: `{}` is never run there. Protected "
                            "environments: {}.",
                            *env, to_string(action), join(settings_.protected_environments)));
  }

  // A name alone must not guard prod: what brings it up or opens it is an admin's call.
  if (is_protected && needs_admin_when_protected(action) && !is_admin) {
    return deny(DenyReason::admin_required,
                has_admins ? fmt::format("`{}` is protected: `{}` there needs an admin. {} to "
                                         "run it.",
                                         *env, to_string(action), kAskAnAdmin)
                           : fmt::format("`{}` is protected: `{}` there needs an admin, and {}.",
                                         *env, to_string(action), kNoAdmins));
  }

  if (has_admins && !is_admin) {
    if (is_tier_two(action)) {
      return deny(DenyReason::admin_required, fmt::format("`{}` is an admin command. {} to run it.",
                                                          to_string(action), kAskAnAdmin));
    }
    if (const auto* add = std::get_if<WhitelistAdd>(&command)) {
      const int limit = add->cidr.ipv6 ? settings_.admin_prefix_v6 : settings_.admin_prefix_v4;
      if (add->cidr.prefix < limit) {
        return deny(DenyReason::admin_required,
                    fmt::format("Whitelisting `{}` (broader than /{}) needs an admin. {}, or "
                                "whitelist a narrower range.",
                                add->cidr.text, limit, kAskAnAdmin));
      }
    }
  }

  // A private range is someone's internal network, not a visitor on the internet.
  if (const auto* add = std::get_if<WhitelistAdd>(&command); add != nullptr && !is_admin) {
    if (const auto range = private_range_of(add->cidr)) {
      const std::string why = fmt::format(
          "Whitelisting `{}` needs an admin: it overlaps the private range `{}`, "
          "addresses inside a private network rather than on the internet",
          add->cidr.text, *range);
      return deny(DenyReason::admin_required,
                  has_admins ? fmt::format("{}. {} to add it.", why, kAskAnAdmin)
                             : fmt::format("{}, and {}.", why, kNoAdmins));
    }
  }

  return {};
}

}  // namespace infra
