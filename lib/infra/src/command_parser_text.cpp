// The /infra grammar's shared pieces: errors, echoed text, unescaping, suggestions.
#include "command_parser_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/strings.hpp"

namespace infra::parser_detail {
namespace {

// Words longer than this get no "Did you mean" (and no quadratic edit distance).
constexpr std::size_t kMaxSuggestLength = 32;

// Levenshtein distance between a typed word and a command name, exact up to
// kSuggestDistance and "more" (kSuggestDistance + 1) beyond it. The bounds keep the
// fuzz tests fast: most junk words differ in length by more than that.
constexpr std::size_t kSuggestDistance = 2;

std::size_t bounded_edit_distance(std::string_view a, std::string_view b) {
  constexpr std::size_t kMore = kSuggestDistance + 1;
  const std::size_t length_gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (length_gap > kSuggestDistance || b.size() > kMaxSuggestLength) return kMore;
  const char* pa = a.data();
  const char* pb = b.data();
  const std::size_t na = a.size();
  const std::size_t nb = b.size();
  std::size_t row[kMaxSuggestLength + 1];
  for (std::size_t j = 0; j <= nb; ++j) row[j] = j;
  for (std::size_t i = 1; i <= na; ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    std::size_t row_min = row[0];
    for (std::size_t j = 1; j <= nb; ++j) {
      const std::size_t above = row[j];
      std::size_t best = diagonal + (pa[i - 1] == pb[j - 1] ? 0 : 1);
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
      if (best < row_min) row_min = best;
    }
    if (row_min > kSuggestDistance) return kMore;  // every later row is at least as far
  }
  return row[nb];
}

}  // namespace

TextHazard hazard_of(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) return TextHazard::control;
  if (c == 0x2028 || c == 0x2029) return TextHazard::line_separator;
  if (c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
      (c >= 0x2066 && c <= 0x2069)) {
    return TextHazard::bidi_control;
  }
  // Characters that show as nothing, so two different texts look the same:
  // soft hyphen, combining grapheme joiner, Hangul and Khmer fillers, Mongolian
  // vowel separator, zero-width space, word joiner and invisible operators,
  // deprecated format controls, BOM, interlinear annotation, musical format
  // controls and tag characters (which hide ASCII). Kept: ZWNJ and ZWJ (U+200C,
  // U+200D), which Persian, Indic scripts and emoji sequences need, and the
  // variation selectors that pick an emoji's look.
  const bool invisible =
      c == 0x00AD || c == 0x034F || c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 ||
      c == 0x180E || c == 0x200B || (c >= 0x2060 && c <= 0x2064) || (c >= 0x206A && c <= 0x206F) ||
      c == 0x3164 || c == 0xFEFF || c == 0xFFA0 || (c >= 0xFFF9 && c <= 0xFFFB) ||
      (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE007F);
  return invisible ? TextHazard::invisible : TextHazard::none;
}

std::string code_point_name(char32_t code_point) {
  return fmt::format("U+{:04X}", static_cast<std::uint32_t>(code_point));
}

core::Error invalid(std::string user_message, std::string_view detail) {
  std::string log_detail = "command_parser: ";
  log_detail += detail;
  return core::make_error(core::ErrorCode::invalid_input, std::move(user_message),
                          std::move(log_detail));
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

bool equals_lower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

std::string shown(std::string_view text) {
  const char* data = text.data();
  const std::size_t n = text.size();
  // Fast path: short printable ASCII without a backtick is shown as is.
  if (n <= kShownChars) {
    std::size_t i = 0;
    while (i < n && data[i] >= 0x20 && data[i] < 0x7F && data[i] != '`') ++i;
    if (i == n) return std::string(text);
  }
  std::string out;
  out.reserve(std::min(n, 4 * kShownChars) + 3);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n;) {
    if (count == kShownChars) {
      out += "\u2026";
      break;
    }
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0) {
      out += "\uFFFD";
      i += 1;
    } else {
      if (hazard_of(code_point) != TextHazard::none) {
        out += "\uFFFD";
      } else if (code_point == '`') {
        out += '\'';
      } else {
        out.append(data + i, length);
      }
      i += length;
    }
    ++count;
  }
  return out;
}

std::string unescape_slack(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const char* data = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (true) {
    const std::size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(data + i, n - i);
      return out;
    }
    out.append(data + i, amp - i);
    const std::size_t rest = n - amp;
    if (rest >= 5 && std::memcmp(data + amp, "&amp;", 5) == 0) {
      out += '&';
      i = amp + 5;
    } else if (rest >= 4 && std::memcmp(data + amp, "&lt;", 4) == 0) {
      out += '<';
      i = amp + 4;
    } else if (rest >= 4 && std::memcmp(data + amp, "&gt;", 4) == 0) {
      out += '>';
      i = amp + 4;
    } else {
      out += '&';
      i = amp + 1;
    }
  }
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> options) {
  if (word.empty() || word.size() > kMaxSuggestLength) return {};
  std::string_view best;
  std::size_t best_distance = kSuggestDistance + 1;
  for (const std::string_view option : options) {
    const std::size_t distance = bounded_edit_distance(word, option);
    if (distance < best_distance) {
      best = option;
      best_distance = distance;
    }
  }
  if (best.empty()) return {};
  return fmt::format(" Did you mean `{}`?", best);
}

}  // namespace infra::parser_detail
