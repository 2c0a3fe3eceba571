#include "discord_front/command_set.hpp"

namespace discord_front {

// Placeholders until the command set lands (issue 17, in progress).
std::string infra_commands_json(const std::vector<std::string>& environments) {
  (void)environments;
  return "[]";
}
core::Result<std::string> command_text(const discord::Interaction& interaction) {
  (void)interaction;
  return core::make_error(core::ErrorCode::internal, "not built yet", "command_text");
}

}  // namespace discord_front
