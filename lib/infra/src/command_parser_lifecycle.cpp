// The lifecycle commands' arguments (see command_parser_lifecycle.hpp).
#include "command_parser_lifecycle.hpp"

#include <cstddef>
#include <utility>

#include <fmt/format.h>

#include "command_parser_text.hpp"
#include "core/strings.hpp"

namespace infra::parser_detail {

core::Result<TeardownLevel> parse_level(std::string_view text) {
  const std::string level = core::to_lower(text);
  if (level == "services") return TeardownLevel::services;
  if (level == "full") return TeardownLevel::full;
  return invalid(fmt::format("Unknown teardown level `{}`. Use `--level=services` (the default) "
                             "or `--level=full`.",
                             shown(text)),
                 "unknown teardown level");
}

core::Result<std::string> check_instance_name(std::string text) {
  constexpr std::size_t kMaxNameChars = 256;
  for (std::size_t i = 0; i < text.size();) {
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0 || is_control(code_point)) {
      return invalid("The instance name must be plain text on one line, like `--name=bastion`.",
                     "bad instance name");
    }
    i += length;
  }
  if (core::utf8_length(text) > kMaxNameChars) {
    return invalid(fmt::format("The instance name is longer than {} characters, the most a Name "
                               "tag holds.",
                               kMaxNameChars),
                   "instance name too long");
  }
  return text;
}

}  // namespace infra::parser_detail
