#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"
#include "infra/command.hpp"

namespace infra {

/// What the grammar depends on (from Config).
struct ParserSettings {
  std::vector<std::string> environments{"dev", "staging", "prod"};
  std::string default_environment = "dev";
  int min_prefix_v4 = 16;
  int min_prefix_v6 = 48;

  static ParserSettings from(const core::Config& config);
};

/// Parses the text of a slash command — what Slack sends in `text`, i.e.
/// without the leading "/infra" (a leading "/infra" is tolerated too) — into a
/// typed Command. Pure; never throws, never crashes on any byte string.
/// Slack's HTML escaping (&amp; &lt; &gt;) is undone and straight or curly
/// quotes delimit descriptions. A rejection is an invalid_input Error whose
/// user_message names the problem and the fix, e.g.
///   "Unknown environment `qa`. Known: dev, staging, prod."
core::Result<Command> parse_command(std::string_view text, const ParserSettings& settings);

/// Parses an IPv4/IPv6 address or CIDR as the whitelist accepts it: a bare
/// address becomes /32 or /128; host bits set, /0, IPv4-mapped IPv6 at /96 or
/// narrower, and prefixes broader than the minimum are refused. This is the
/// syntax both `whitelist add` and `whitelist remove` take; parse_command's
/// `whitelist add` also refuses what check_whitelist_range refuses
/// (infra/whitelist_ranges.hpp).
core::Result<Cidr> parse_cidr(std::string_view text, const ParserSettings& settings);

/// Parses a TTL: 1m..1440m, 1h..24h, 1d..365d.
core::Result<std::chrono::seconds> parse_ttl(std::string_view text);

}  // namespace infra
