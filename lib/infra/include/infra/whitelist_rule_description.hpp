#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace infra {

/// What marks a security group rule as the allow-list's own: its description
/// starts with this. Rules without it are never listed, changed or removed.
inline constexpr std::string_view kWhitelistRuleMarker = "infra-bot:wl ";

/// EC2's limit on a rule description.
inline constexpr std::size_t kMaxRuleDescriptionLength = 255;

/// What the allow-list keeps in a rule's description.
struct WhitelistRuleDescription {
  std::optional<core::TimePoint> until;  ///< the expiry, whole seconds UTC
  std::string added_by;                  ///< the Slack user id
  std::string note;                      ///< the user's description
  friend bool operator==(const WhitelistRuleDescription&,
                         const WhitelistRuleDescription&) = default;
};

/// The description text, e.g.
///   "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office"
/// in EC2's alphabet only (see to_ec2_description_text) and at most 255
/// characters: the note is cut to fit. `until` is truncated to the second.
std::string encode_rule_description(const WhitelistRuleDescription& description);

/// The fields of a description written by encode_rule_description; nullopt
/// when `text` does not start with kWhitelistRuleMarker (not the bot's rule).
/// A missing or unreadable until= leaves `until` empty (the rule never expires).
std::optional<WhitelistRuleDescription> decode_rule_description(std::string_view text);

/// `text` (UTF-8) in the characters EC2 allows in a rule description
/// (a-z A-Z 0-9 space . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *): tabs and line
/// breaks become spaces, typographic dashes '-', an ellipsis "...", accented
/// Latin letters lose their accent, quotes and everything else are dropped;
/// runs of spaces become one and the ends are trimmed.
std::string to_ec2_description_text(std::string_view text);

}  // namespace infra
