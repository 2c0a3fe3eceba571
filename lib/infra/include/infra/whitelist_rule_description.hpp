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
  std::optional<core::TimePoint> until;  ///< the expiry, whole seconds UTC; empty = unreadable
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
/// A missing or unreadable until= leaves `until` empty: the rule carries the
/// bot's marker but no readable expiry, and it counts as expired (see
/// rule_expired) — the allow-list fails closed, so a hand-edited or damaged
/// rule is removed by the next sweep (with its notice) rather than kept forever.
std::optional<WhitelistRuleDescription> decode_rule_description(std::string_view text);

/// Whether a rule with this description has expired at `now`: its until= is
/// at or before `now`, or it has no readable until= at all (fails closed).
bool rule_expired(const WhitelistRuleDescription& description, core::TimePoint now);

/// `text` (UTF-8) in the characters EC2 allows in a rule description
/// (a-z A-Z 0-9 space . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *): tabs and line
/// breaks become spaces, typographic dashes '-', an ellipsis "...", accented
/// Latin letters lose their accent, quotes and everything else are dropped;
/// runs of spaces become one and the ends are trimmed.
std::string to_ec2_description_text(std::string_view text);

}  // namespace infra
