#include "core/strings.hpp"

namespace core {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length in bytes of the UTF-8 sequence starting at text[i]; 1 for a stray byte.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t want = 1;
  if (lead >= 0xF0 && lead <= 0xF4)
    want = 4;
  else if (lead >= 0xE0)
    want = 3;
  else if (lead >= 0xC2 && lead <= 0xDF)
    want = 2;
  if (want == 1 || i + want > text.size()) return 1;
  for (std::size_t k = 1; k < want; ++k) {
    if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return 1;
  }
  return want;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (true) {
    const auto at = text.find(separator);
    const auto piece = trim(text.substr(0, at));
    if (!piece.empty()) out.emplace_back(piece);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); i += sequence_length(text, i)) ++count;
  return count;
}

std::string utf8_truncate(std::string_view text, std::size_t max_chars) {
  if (utf8_length(text) <= max_chars) return std::string(text);
  if (max_chars == 0) return {};
  std::size_t i = 0;
  for (std::size_t kept = 0; kept + 1 < max_chars; ++kept) i += sequence_length(text, i);
  return std::string(text.substr(0, i)) + "…";
}

}  // namespace core
