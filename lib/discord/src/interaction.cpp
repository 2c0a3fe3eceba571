#include "discord/interaction.hpp"

namespace discord {

// Placeholder until the parser lands (issue 17, in progress).
core::Result<Interaction> parse_interaction(std::string_view json) {
  (void)json;
  return core::make_error(core::ErrorCode::internal, "not built yet", "parse_interaction");
}

}  // namespace discord
