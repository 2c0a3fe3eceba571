#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace infra {

/// A normalised IPv4 or IPv6 network: the host bits are zero, `text` is the
/// canonical form ("1.2.3.4/32", "2001:db8::/48").
struct Cidr {
  std::string text;
  int prefix = 0;
  bool ipv6 = false;

  bool is_single_host() const { return prefix == (ipv6 ? 128 : 32); }
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

enum class TeardownLevel { services, full };
std::string_view to_string(TeardownLevel level);

struct Help {
  friend bool operator==(const Help&, const Help&) = default;
};
struct Status {
  std::string env;
  friend bool operator==(const Status&, const Status&) = default;
};
struct Stop {
  std::string env;
  friend bool operator==(const Stop&, const Stop&) = default;
};
struct Start {
  std::string env;
  friend bool operator==(const Start&, const Start&) = default;
};
struct Teardown {
  std::string env;
  TeardownLevel level = TeardownLevel::services;
  friend bool operator==(const Teardown&, const Teardown&) = default;
};
/// Reboots the environment's EC2 instances, or only the one whose Name tag is `name`.
struct Reboot {
  std::string env;
  std::optional<std::string> name;
  friend bool operator==(const Reboot&, const Reboot&) = default;
};
struct Spinup {
  std::string env;
  friend bool operator==(const Spinup&, const Spinup&) = default;
};
struct WhitelistAdd {
  Cidr cidr;
  std::chrono::seconds ttl{std::chrono::days(30)};
  std::optional<std::string> description;
  std::string env;
  friend bool operator==(const WhitelistAdd&, const WhitelistAdd&) = default;
};
struct WhitelistRemove {
  Cidr cidr;
  std::string env;
  friend bool operator==(const WhitelistRemove&, const WhitelistRemove&) = default;
};
struct WhitelistList {
  std::string env;
  friend bool operator==(const WhitelistList&, const WhitelistList&) = default;
};
struct WhitelistRefresh {
  std::string env;
  friend bool operator==(const WhitelistRefresh&, const WhitelistRefresh&) = default;
};

/// One parsed `/infra …` command (design §2).
using Command = std::variant<Help, Status, Stop, Start, Teardown, Spinup, WhitelistAdd,
                             WhitelistRemove, WhitelistList, WhitelistRefresh, Reboot>;

enum class Action {
  help,
  status,
  stop,
  start,
  teardown,
  spinup,
  whitelist_add,
  whitelist_remove,
  whitelist_list,
  whitelist_refresh,
  reboot,
};

Action action_of(const Command& command);
/// "stop", "whitelist add", …
std::string_view to_string(Action action);
/// The environment the command acts on; nullopt for help.
std::optional<std::string> environment_of(const Command& command);
/// Changes infrastructure or the allow-list (cooldown applies).
bool is_mutating(Action action);
/// Tier-2: needs an admin when INFRA_ADMIN_USERS is set.
bool is_tier_two(Action action);
/// Short canonical text for messages and logs: "stop dev",
/// "teardown dev --level=full", "whitelist add 1.2.3.4/32 --env=dev".
std::string describe(const Command& command);

/// Who asked: Slack ids (or the console's stand-ins).
/// The chat a request came from: what its ids and roles mean to the policy.
enum class Chat { slack, discord };

struct Requester {
  std::string user_id;
  std::string user_name;
  std::string team_id;  ///< Slack: the workspace; Discord: the guild
  std::string channel_id;
  Chat chat = Chat::slack;
  /// Discord: the member's role ids (the policy's allowed and admin roles).
  std::vector<std::string> roles{};
  /// False when the front end could not confirm who this is (Slack did not
  /// answer users.info in time): reads go on, changes are refused (fail closed).
  bool verified = true;
};

}  // namespace infra
