#pragma once

// The /infra command as Discord application commands (../shared/notes/
// discord.md §4): one chat-input command `infra` whose subcommands (and
// groups) are the grammar's commands, one to one, with typed options — the
// environment as choices from INFRA_ENVIRONMENTS; ttl, description, ip, name
// and level as typed options — and the way back from an interaction's options
// to the grammar's text, which infra's parser then reads as if typed in Slack.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "discord/interaction.hpp"

namespace discord_front {

/// The JSON array for a bulk overwrite (PUT …/commands): [{"name":"infra",…}].
/// Deterministic (the same environments give the same bytes), so `register`
/// can tell whether it changed.
std::string infra_commands_json(const std::vector<std::string>& environments);

/// The grammar's text for an /infra application command interaction
/// ("stop dev", "whitelist add 1.2.3.4 --ttl=7d --description='vpn'"), or an
/// invalid_input error with a user-facing message.
core::Result<std::string> command_text(const discord::Interaction& interaction);

/// Whether Discord's command list (GET …/commands) equals the desired one (what
/// infra_commands_json gives) by name, type, description and options
/// (recursively), ignoring what Discord adds (id, version, application_id,
/// guild_id, localizations, defaults such as required=false). What
/// `register discord` decides a PUT by and `doctor` reports: one comparison.
/// Text that is not a JSON array on either side never matches.
bool same_commands(std::string_view desired_json, std::string_view actual_json);

}  // namespace discord_front
