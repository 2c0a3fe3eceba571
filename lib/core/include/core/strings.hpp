#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace core {

/// Whitespace (space, tab, CR, LF, FF, VT) removed from both ends.
std::string_view trim(std::string_view text);
/// ASCII lower-case copy.
std::string to_lower(std::string_view text);
/// Splits on `separator`, trims each piece and drops empty pieces.
std::vector<std::string> split_list(std::string_view text, char separator = ',');
/// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");
/// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong
/// forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes there are
/// not one; `code_point` receives the decoded value. `i` must be < text.size().
std::size_t utf8_decode(std::string_view text, std::size_t i, char32_t& code_point);
/// Whether all of `text` is well-formed UTF-8 (as utf8_decode reads it); ASCII
/// is checked eight bytes at a time.
bool utf8_valid(std::string_view text);
/// Number of Unicode code points in valid UTF-8 (invalid bytes count as one each).
std::size_t utf8_length(std::string_view text);
/// `text` with every byte that is not part of a well-formed UTF-8 sequence
/// replaced by U+FFFD: what a peer sent becomes text Slack and JSON accept.
std::string utf8_repair(std::string_view text);
/// At most `max_chars` code points of `text`; when cut, the last one is "…".
std::string utf8_truncate(std::string_view text, std::size_t max_chars);

}  // namespace core
