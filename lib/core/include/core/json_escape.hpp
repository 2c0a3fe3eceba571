#pragma once
// JSON string literals appended to a std::string, for serialisers whose keys
// and shape are fixed (Block Kit, the audit line): writing those pieces as
// literals costs a memcpy, where RapidJSON's Writer escapes every key and
// reserves six bytes per input byte.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace core::json {

namespace detail {

// Per byte: 0 to copy it as it is, else the character after the backslash
// ('u' for \u00XX). The table of RapidJSON's Writer (without
// kWriteValidateEncodingFlag), so output is byte for byte what it writes.
inline constexpr auto kEscape = [] {
  std::array<char, 256> table{};
  for (std::size_t c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\t'] = 't';
  table['\n'] = 'n';
  table['\f'] = 'f';
  table['\r'] = 'r';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}();

inline void append_escape(std::string& out, unsigned char c) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  const char escape = kEscape[c];
  out += '\\';
  out += escape;
  if (escape == 'u') {
    out += "00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
}

}  // namespace detail

/// `text` escaped for inside a JSON string literal, without the quotes.
inline void append_escaped(std::string& out, std::string_view text) {
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (detail::kEscape[c] == 0) continue;
    out.append(text.data() + copied, i - copied);
    detail::append_escape(out, c);
    copied = i + 1;
  }
  out.append(text.data() + copied, text.size() - copied);
}

/// `text` as a JSON string literal, quotes included: what RapidJSON's
/// Writer::String writes for it (bytes from 0x80 up copied, not validated).
inline void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text);
  out += '"';
}

}  // namespace core::json
