#pragma once

// What every part of the /infra grammar shares (command_parser*.cpp): the error
// a rejection is, how user text is echoed back, Slack's escaping, byte tests and
// "Did you mean" suggestions. Private to lib/infra.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace infra::parser_detail {

// User text echoed in a message is cut to this many code points.
inline constexpr std::size_t kShownChars = 60;
inline constexpr std::string_view kDescriptionExample = "--description='Home office'";

/// An invalid_input error: `user_message` for the user, "command_parser: <detail>" for the log.
core::Error invalid(std::string user_message, std::string_view detail);

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text);

/// `text` lower-cased (ASCII) equals `lower`.
bool equals_lower(std::string_view text, std::string_view lower);

inline bool is_control(char32_t code_point) { return code_point < 0x20 || code_point == 0x7F; }

/// Why a code point may not appear in text a user reads back (a description,
/// echoed input), or none.
enum class TextHazard {
  none,
  control,         ///< C0, DEL, C1 (with U+0085 NEXT LINE)
  line_separator,  ///< U+2028, U+2029
  bidi_control,    ///< U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069
  invisible,       ///< zero-width and other invisible format characters, e.g. U+200B, U+FEFF
};
TextHazard hazard_of(char32_t code_point);

/// "U+202E": how a message names a character that cannot be shown.
std::string code_point_name(char32_t code_point);

/// User text as it may appear inside a `code span` of a message: valid UTF-8 only
/// (the message ends up in JSON), nothing hazard_of() flags (each becomes U+FFFD),
/// no backtick that would end the span early, and at most kShownChars code points.
std::string shown(std::string_view text);

/// Slack escapes exactly `&amp; &lt; &gt;` in command text; one pass, so "&amp;lt;"
/// becomes "&lt;" and not "<".
std::string unescape_slack(std::string_view text);

/// " Did you mean `x`?" for the closest of `options` within edit distance 2, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> options);

}  // namespace infra::parser_detail
