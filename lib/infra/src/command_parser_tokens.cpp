// The /infra tokenizer (see command_parser_tokens.hpp).
#include "command_parser_tokens.hpp"

#include <fmt/format.h>

#include "command_parser_text.hpp"

namespace infra::parser_detail {
namespace {

// The scanning helpers index raw bytes rather than chaining string_view calls:
// the parser runs on every keystroke-sized input, and the fuzz-style test feeds
// it 200k inputs in a Debug build.

// Byte length of the separator at text[i], 0 if none: ASCII whitespace, the
// Unicode space separators (no-break, thin, ideographic… that pasted text and
// some clients carry), line/paragraph separators, and the invisible zero-width
// characters (U+200B-U+200D, U+2060, U+FEFF) that would otherwise make `dev`
// look right in an error message while not matching.
std::size_t space_at(std::string_view text, std::size_t i) {
  const char* data = text.data();
  const char c = data[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return 1;
  const std::size_t left = text.size() - i;
  if (c == '\xC2' && left >= 2 && data[i + 1] == '\xA0') return 2;  // U+00A0
  if (left < 3) return 0;
  const auto b1 = static_cast<unsigned char>(data[i + 1]);
  const auto b2 = static_cast<unsigned char>(data[i + 2]);
  switch (static_cast<unsigned char>(c)) {
    case 0xE1:  // U+1680
      return b1 == 0x9A && b2 == 0x80 ? 3 : 0;
    case 0xE2:
      if (b1 == 0x80 && (b2 <= 0x8D || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF)) return 3;
      if (b1 == 0x81 && (b2 == 0x9F || b2 == 0xA0)) return 3;  // U+205F, U+2060
      return 0;
    case 0xE3:  // U+3000
      return b1 == 0x80 && b2 == 0x80 ? 3 : 0;
    case 0xEF:  // U+FEFF
      return b1 == 0xBB && b2 == 0xBF ? 3 : 0;
    default:
      return 0;
  }
}

bool boundary_at(std::string_view text, std::size_t i) {
  return i >= text.size() || space_at(text, i) > 0;
}

enum class QuoteFamily { none, single, double_ };

struct QuoteMark {
  std::size_t length = 0;
  QuoteFamily family = QuoteFamily::none;
};

// ' " and the curly quotes Slack clients substitute: ‘ ’ (E2 80 98/99) and
// “ ” (E2 80 9C/9D).
QuoteMark quote_at(std::string_view text, std::size_t i) {
  if (i >= text.size()) return {};
  const char* data = text.data();
  if (data[i] == '\'') return {1, QuoteFamily::single};
  if (data[i] == '"') return {1, QuoteFamily::double_};
  if (data[i] == '\xE2' && i + 2 < text.size() && data[i + 1] == '\x80') {
    const char third = data[i + 2];
    if (third == '\x98' || third == '\x99') return {3, QuoteFamily::single};
    if (third == '\x9C' || third == '\x9D') return {3, QuoteFamily::double_};
  }
  return {};
}

// Autocorrect (macOS, iOS) turns "--" into an em dash (E2 80 94) or an en dash
// (E2 80 93); a token that starts with one is read as starting with "--".
std::size_t dash_at(std::string_view text, std::size_t i) {
  const char* data = text.data();
  if (data[i] == '\xE2' && i + 2 < text.size() && data[i + 1] == '\x80' &&
      (data[i + 2] == '\x93' || data[i + 2] == '\x94')) {
    return 3;
  }
  return 0;
}

// Reads a quoted span whose opening mark is at text[i]. It ends at the next mark
// of the same family that is followed by whitespace or the end, so an apostrophe
// inside ('Bob's laptop') does not end it. Appends the content to `out` and
// returns the index after the closing mark, or nullopt when there is none.
std::optional<std::size_t> read_quoted(std::string_view text, std::size_t i, std::string& out) {
  const QuoteMark open = quote_at(text, i);
  const std::size_t begin = i + open.length;
  for (std::size_t k = begin; k < text.size(); ++k) {
    const QuoteMark mark = quote_at(text, k);
    if (mark.family == open.family && boundary_at(text, k + mark.length)) {
      out.append(text.data() + begin, k - begin);
      return k + mark.length;
    }
  }
  return std::nullopt;
}

}  // namespace

Tokens tokenize(std::string_view text) {
  Tokens result;
  result.input = text;
  result.tokens.reserve(8);
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (true) {
    while (i < n) {
      const std::size_t space = space_at(text, i);
      if (space == 0) break;
      i += space;
    }
    if (i >= n) break;

    // Built in place; dropped again if its quote turns out to be unterminated.
    Token& token = result.tokens.emplace_back();
    token.begin = i;
    std::size_t body = i;  // first byte copied verbatim into token.text
    if (const std::size_t dash = dash_at(text, i); dash > 0) {
      token.flag = true;
      token.text = "--";
      body = i + dash;
    } else if (i + 1 < n && text[i] == '-' && text[i + 1] == '-') {
      token.flag = true;
    }

    std::optional<std::size_t> end;
    if (!token.flag && quote_at(text, i).length > 0) {
      token.quoted = true;
      end = read_quoted(text, i, token.text);
    } else {
      // A flag's value may be quoted: --description='Home office'.
      std::size_t k = body;
      while (k < n && space_at(text, k) == 0 && !(token.flag && text[k] == '=')) ++k;
      if (k < n && token.flag && text[k] == '=' && quote_at(text, k + 1).length > 0) {
        token.text.append(text.data() + body, k + 1 - body);
        token.quoted = true;
        end = read_quoted(text, k + 1, token.text);
      } else {
        while (k < n && space_at(text, k) == 0) ++k;
        token.text.append(text.data() + body, k - body);
        end = k;
      }
    }

    if (!end) {
      result.error = invalid(fmt::format("Unterminated quote in `{}`. Close it with a matching "
                                         "quote, like `{}`.",
                                         shown(text.substr(token.begin)), kDescriptionExample),
                             "unterminated quote");
      result.tokens.pop_back();
      break;
    }
    token.end = *end;
    i = *end;
  }
  return result;
}

}  // namespace infra::parser_detail
