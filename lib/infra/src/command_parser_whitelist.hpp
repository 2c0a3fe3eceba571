#pragma once

// The whitelist commands' own arguments: the description. The address and TTL
// grammar is public (parse_cidr, parse_ttl in infra/command_parser.hpp) and lives
// in command_parser_whitelist.cpp too. Private to lib/infra.

#include <string>

#include "core/result.hpp"

namespace infra::parser_detail {

/// `--description`: non-empty UTF-8 text on one line, at most 255 code points,
/// with nothing hazard_of() flags (no control, separator, bidi control or
/// invisible character: `whitelist list` must show what was typed).
core::Result<std::string> check_description(std::string text);

}  // namespace infra::parser_detail
