#pragma once

// The lifecycle commands' own arguments (teardown's --level, reboot's --name);
// the words and the environment are command_parser.cpp's. Private to lib/infra.

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "infra/command.hpp"

namespace infra::parser_detail {

/// `--level=services|full` (any case).
core::Result<TeardownLevel> parse_level(std::string_view text);

/// An EC2 Name tag for `reboot --name`: up to 256 characters of one line (EC2's tag value limit).
core::Result<std::string> check_instance_name(std::string text);

}  // namespace infra::parser_detail
