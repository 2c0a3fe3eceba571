#pragma once

// An INTERACTION_CREATE dispatch's `d`, parsed at the edge into a typed
// value (../shared/notes/discord.md §3.1–3.2). Knows no /infra.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace discord {

enum class InteractionType {
  ping = 1,
  application_command = 2,
  message_component = 3,
  autocomplete = 4,
  modal_submit = 5,
};

/// One option of an application command: a value, or (subcommand, group)
/// nested options.
struct CommandOption {
  std::string name;
  int type = 0;  ///< 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 10 number, …
  /// The value as text: strings as given, numbers and booleans printed.
  std::optional<std::string> value;
  std::vector<CommandOption> options;
  friend bool operator==(const CommandOption&, const CommandOption&) = default;
};

struct Interaction {
  std::string id;
  std::string application_id;
  std::string token;  ///< secret for 15 minutes: never logged
  InteractionType type = InteractionType::ping;
  std::string guild_id;  ///< empty in a DM
  std::string channel_id;
  std::string user_id;             ///< member.user.id in a guild, user.id in a DM
  std::string user_name;           ///< global_name, else username
  std::vector<std::string> roles;  ///< member.roles; empty in a DM
  // application_command / autocomplete
  std::string command_name;
  std::vector<CommandOption> options;
  // message_component and modal_submit: the component's / the modal's custom_id
  std::string custom_id;
  int component_type = 0;
  std::string message_id;  ///< the message a component is on; may be empty
  /// modal_submit: text input custom_id → value (both Label and legacy Action Row forms)
  std::map<std::string, std::string> modal_values;
};

/// An invalid_input error for JSON that is not an interaction object (the
/// detail says what is missing; it never holds the token).
core::Result<Interaction> parse_interaction(std::string_view json);

}  // namespace discord
