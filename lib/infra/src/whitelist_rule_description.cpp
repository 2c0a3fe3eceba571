#include "infra/whitelist_rule_description.hpp"

#include <array>
#include <chrono>

#include "core/strings.hpp"

namespace infra {
namespace {

constexpr std::string_view kUntil = "until=";
constexpr std::string_view kBy = "by=";
constexpr std::string_view kNote = "note=";

bool allowed(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view kPunctuation = " ._-:/()#,@[]+=&;{}!$*";
  return c < 0x80 && kPunctuation.find(static_cast<char>(c)) != std::string_view::npos;
}

// Latin-1 Supplement and a few Latin Extended-A letters without their accent.
std::string_view fold_letter(char32_t c) {
  struct Fold {
    char32_t from;
    char32_t to;
    std::string_view ascii;
  };
  static constexpr std::array<Fold, 22> kFolds{{
      {0xC0, 0xC5, "A"}, {0xC6, 0xC6, "AE"}, {0xC7, 0xC7, "C"}, {0xC8, 0xCB, "E"},
      {0xCC, 0xCF, "I"}, {0xD0, 0xD0, "D"},  {0xD1, 0xD1, "N"}, {0xD2, 0xD6, "O"},
      {0xD8, 0xD8, "O"}, {0xD9, 0xDC, "U"},  {0xDD, 0xDD, "Y"}, {0xDF, 0xDF, "ss"},
      {0xE0, 0xE5, "a"}, {0xE6, 0xE6, "ae"}, {0xE7, 0xE7, "c"}, {0xE8, 0xEB, "e"},
      {0xEC, 0xEF, "i"}, {0xF1, 0xF1, "n"},  {0xF2, 0xF6, "o"}, {0xF8, 0xF8, "o"},
      {0xF9, 0xFC, "u"}, {0xFD, 0xFF, "y"},
  }};
  for (const auto& fold : kFolds) {
    if (c >= fold.from && c <= fold.to) return fold.ascii;
  }
  switch (c) {
    case 0x0141:  // Ł
      return "L";
    case 0x0142:  // ł
      return "l";
    case 0x0152:  // Œ
      return "OE";
    case 0x0153:  // œ
      return "oe";
    default:
      return {};
  }
}

// What one code point becomes ("" = dropped).
std::string_view map_code_point(char32_t c, char (&single)[2]) {
  if (allowed(c)) {
    single[0] = static_cast<char>(c);
    single[1] = '\0';
    return std::string_view(single, 1);
  }
  switch (c) {
    case '\t':
    case '\n':
    case '\r':
    case '\v':
    case '\f':
    case 0x00A0:  // no-break space
    case 0x2002:
    case 0x2003:
    case 0x2009:  // thin space
    case 0x202F:  // narrow no-break space
      return " ";
    case 0x2010:  // hyphen
    case 0x2011:  // non-breaking hyphen
    case 0x2012:  // figure dash
    case 0x2013:  // en dash
    case 0x2014:  // em dash
    case 0x2212:  // minus sign
      return "-";
    case 0x2026:  // ellipsis
      return "...";
    case '|':
    case '\\':
      return "/";
    case '<':
      return "(";
    case '>':
      return ")";
    default:
      return fold_letter(c);
  }
}

}  // namespace

std::string to_ec2_description_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = 0;
    std::size_t length = core::utf8_decode(text, i, c);
    if (length == 0) {  // an invalid byte: dropped
      ++i;
      continue;
    }
    i += length;
    char single[2] = {};
    for (const char mapped : map_code_point(c, single)) {
      // One space between words, none at the start.
      if (mapped == ' ' && (out.empty() || out.back() == ' ')) continue;
      out.push_back(mapped);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string encode_rule_description(const WhitelistRuleDescription& description) {
  std::string out(kWhitelistRuleMarker);
  if (description.until) {
    out += kUntil;
    out += core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(*description.until));
    out += ' ';
  }
  out += kBy;
  // A user id is [A-Z0-9]; anything else would break the space-separated fields.
  std::string by = to_ec2_description_text(description.added_by);
  std::erase(by, ' ');
  out += by;
  out += ' ';
  out += kNote;
  const std::string note = to_ec2_description_text(description.note);
  // Everything is ASCII now, so bytes are characters.
  const std::size_t room =
      out.size() < kMaxRuleDescriptionLength ? kMaxRuleDescriptionLength - out.size() : 0;
  std::string_view kept = std::string_view(note).substr(0, room);
  while (kept.ends_with(' ')) kept.remove_suffix(1);
  out += kept;
  if (out.size() > kMaxRuleDescriptionLength) out.resize(kMaxRuleDescriptionLength);
  return out;
}

std::optional<WhitelistRuleDescription> decode_rule_description(std::string_view text) {
  if (!text.starts_with(kWhitelistRuleMarker)) return std::nullopt;
  text.remove_prefix(kWhitelistRuleMarker.size());
  WhitelistRuleDescription description;
  // Fields before note= are single words; note= takes the rest.
  while (!text.empty()) {
    while (text.starts_with(' ')) text.remove_prefix(1);
    if (text.starts_with(kNote)) {
      description.note = std::string(core::trim(text.substr(kNote.size())));
      break;
    }
    const auto end = text.find(' ');
    const std::string_view word = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (word.starts_with(kUntil)) {
      description.until = core::parse_rfc3339(word.substr(kUntil.size()));
    } else if (word.starts_with(kBy)) {
      description.added_by = std::string(word.substr(kBy.size()));
    }
  }
  return description;
}

bool rule_expired(const WhitelistRuleDescription& description, core::TimePoint now) {
  // No readable expiry: expired (fail closed), never "kept forever".
  return !description.until || *description.until <= now;
}

}  // namespace infra
