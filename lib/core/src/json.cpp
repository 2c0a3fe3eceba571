#include "core/json.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_escape.hpp"
#include "core/strings.hpp"

namespace core::json {
namespace {

// is_valid()'s reader: keeps nothing, and refuses what parse() refuses as too deep.
struct DepthLimit : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthLimit> {
  bool StartObject() { return ++depth <= kMaxDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth, true; }
  bool StartArray() { return ++depth <= kMaxDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth, true; }
  int depth = 0;
};

template <class Writer>
void write_sorted(const rapidjson::Value& value, Writer& writer) {
  if (value.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (const auto& member : value.GetObject()) members.push_back(&member);
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
             std::string_view(b->name.GetString(), b->name.GetStringLength());
    });
    writer.StartObject();
    for (const auto* member : members) {
      writer.Key(member->name.GetString(), member->name.GetStringLength());
      write_sorted(member->value, writer);
    }
    writer.EndObject();
  } else if (value.IsArray()) {
    writer.StartArray();
    for (const auto& item : value.GetArray()) write_sorted(item, writer);
    writer.EndArray();
  } else {
    value.Accept(writer);
  }
}

// Bytes that matter outside strings.
constexpr auto kStructural = [] {
  std::array<bool, 256> table{};
  for (const unsigned char c : std::string_view("\"[]{}")) table[c] = true;
  return table;
}();

// Hex digit values, -1 for anything else.
constexpr auto kHexDigit = [] {
  std::array<signed char, 256> table{};
  table.fill(-1);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<signed char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<signed char>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[c] = static_cast<signed char>(c - 'A' + 10);
  return table;
}();

// The four hex digits at text[at] as a number, or -1 (too few, or not hex).
long hex4(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return -1;
  long value = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const int digit = kHexDigit[static_cast<unsigned char>(text[i])];
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The offset of the first '"' or '\\' in p[i, n), or n (or i when i >= n).
// Eight bytes at a time: a byte of x is zero where the word matched, and
// (x - 0x01…) & ~x & 0x80… sets the top bit of the lowest zero byte exactly
// (a borrow only marks bytes above it), so countr_zero finds the first match.
std::size_t find_quote_or_backslash(const char* p, std::size_t i, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    while (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      const std::uint64_t quote = word ^ (kOnes * '"');
      const std::uint64_t backslash = word ^ (kOnes * '\\');
      const std::uint64_t hits =
          (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHighs;
      if (hits != 0) return i + static_cast<std::size_t>(std::countr_zero(hits)) / 8;
      i += 8;
    }
  }
  while (i < n && p[i] != '"' && p[i] != '\\') ++i;
  return i;
}

const rapidjson::Value* member(const rapidjson::Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  if (it == object.MemberEnd()) return nullptr;
  return &it->value;
}

}  // namespace

Precheck precheck(std::string_view text, int max_depth) {
  // Two tight loops instead of one branchy one: outside strings only '"' and the
  // brackets matter (a table), inside only '"' and '\\' (eight bytes at a time).
  Precheck out;
  const char* const p = text.data();
  const std::size_t n = text.size();
  int depth = 0;
  std::size_t i = 0;
  for (;;) {
    while (i < n && !kStructural[static_cast<unsigned char>(p[i])]) ++i;
    if (i >= n) return out;
    const char c = p[i++];
    if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        out.too_deep = true;
        return out;
      }
      continue;
    }
    if (c != '"') {
      if (depth > 0) --depth;
      continue;
    }
    for (;;) {  // inside a string; i may pass n after an escape cut short
      i = find_quote_or_backslash(p, i, n);
      if (i >= n) return out;
      if (p[i] == '"') {
        ++i;
        break;
      }
      if (i + 1 >= n) return out;  // a final backslash escapes nothing
      if (p[i + 1] != 'u') {
        i += 2;
        continue;
      }
      const long unit = hex4(text, i + 2);
      const bool high = unit >= 0xD800 && unit <= 0xDBFF;
      const bool low = unit >= 0xDC00 && unit <= 0xDFFF;
      if (high && i + 7 < n && p[i + 6] == '\\' && p[i + 7] == 'u') {
        const long next = hex4(text, i + 8);
        if (next >= 0xDC00 && next <= 0xDFFF) {
          i += 12;  // a pair: both escapes
          continue;
        }
      }
      if (high || low) out.lone_surrogates.push_back(i + 2);
      // Six bytes on even when the four are not all hex digits (what the
      // parser then refuses): the offsets stay those callers have always had.
      i += 6;
    }
  }
}

Result<rapidjson::Document> parse(std::string_view text) {
  // RapidJSON takes a NUL for the end of the text ("{}\0junk" would parse),
  // and drops each of a byte order mark's three bytes at the start on its own
  // ("\xBB[]" would parse): JSON holds neither. A whole BOM is still skipped
  // (RFC 8259 §8.1 lets a parser ignore it).
  if (text.find('\0') != std::string_view::npos) {
    return make_error(ErrorCode::invalid_input, "malformed JSON", "JSON text holds a NUL byte");
  }
  const auto first = text.empty() ? 0 : static_cast<unsigned char>(text[0]);
  if ((first == 0xEF || first == 0xBB || first == 0xBF) && !text.starts_with("\xEF\xBB\xBF")) {
    return make_error(ErrorCode::invalid_input, "malformed JSON",
                      "JSON text starts with part of a byte order mark");
  }
  // One pass before RapidJSON: nesting is bounded (its parser recurses, so a
  // long run of '[' would overflow the stack), and an escaped surrogate that
  // is not half of a pair ("\udc00", which Python writes for undecodable
  // bytes) becomes U+FFFD: RapidJSON would decode it to bytes that are not
  // UTF-8, and every string we hand on must be UTF-8.
  const auto checked = precheck(text, kMaxDepth);
  if (checked.too_deep) {
    return make_error(ErrorCode::invalid_input, "malformed JSON",
                      fmt::format("JSON nested deeper than {} levels", kMaxDepth));
  }
  std::string repaired;
  if (!checked.lone_surrogates.empty()) {
    repaired.assign(text);
    for (const auto at : checked.lone_surrogates) repaired.replace(at, 4, "FFFD");
  }
  if (!repaired.empty()) text = repaired;
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (document.HasParseError()) {
    return make_error(ErrorCode::invalid_input, "malformed JSON",
                      fmt::format("JSON parse error at offset {}: {}", document.GetErrorOffset(),
                                  rapidjson::GetParseError_En(document.GetParseError())));
  }
  return document;
}

bool is_valid(std::string_view text) {
  // What parse() refuses before reading: a NUL byte, and text that is not
  // UTF-8 (it validates the encoding inside strings; outside them any byte
  // from 0x80 up is a syntax error). UTF-8 is checked eight ASCII bytes at a
  // time, where RapidJSON's validation decodes every byte of every string.
  if (text.find('\0') != std::string_view::npos || !utf8_valid(text)) return false;
  // The fast path: RapidJSON's iterative reader with a handler that keeps
  // nothing and stops at parse()'s nesting limit.
  rapidjson::MemoryStream input(text.data(), text.size());
  DepthLimit handler;
  rapidjson::Reader reader;
  if (reader.Parse<rapidjson::kParseIterativeFlag>(input, handler)) return true;
  // What parse() repairs (a lone surrogate escape), skips (a byte order mark)
  // or refuses (nesting): ask it.
  return parse(text).has_value();
}

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_quoted(out, text);
  return out;
}

std::string to_string(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string canonical(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  write_sorted(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

Result<std::string> canonicalize(std::string_view text) {
  auto document = parse(text);
  if (!document) return document.error();
  return canonical(*document);
}

std::optional<std::string_view> get_string(const rapidjson::Value& object, std::string_view key) {
  const auto* value = member(object, key);
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string_view(value->GetString(), value->GetStringLength());
}

std::optional<std::int64_t> get_int(const rapidjson::Value& object, std::string_view key) {
  const auto* value = member(object, key);
  if (value == nullptr || !value->IsInt64()) return std::nullopt;
  return value->GetInt64();
}

std::optional<bool> get_bool(const rapidjson::Value& object, std::string_view key) {
  const auto* value = member(object, key);
  if (value == nullptr || !value->IsBool()) return std::nullopt;
  return value->GetBool();
}

const rapidjson::Value* get_array(const rapidjson::Value& object, std::string_view key) {
  const auto* value = member(object, key);
  return value != nullptr && value->IsArray() ? value : nullptr;
}

const rapidjson::Value* get_object(const rapidjson::Value& object, std::string_view key) {
  const auto* value = member(object, key);
  return value != nullptr && value->IsObject() ? value : nullptr;
}

bool is_default_value(const rapidjson::Value& value) {
  return value.IsNull() || (value.IsBool() && !value.GetBool()) ||
         (value.IsArray() && value.Empty()) || (value.IsObject() && value.ObjectEmpty());
}

bool same_scalar(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsNumber() && b.IsNumber()) return a.GetDouble() == b.GetDouble();
  return a == b;
}

bool is_subset(const rapidjson::Value& desired, const rapidjson::Value& actual) {
  if (desired.IsObject()) {
    if (!actual.IsObject()) return false;
    for (const auto& member : desired.GetObject()) {
      const auto it = actual.FindMember(member.name);
      if (it == actual.MemberEnd()) {
        if (!is_default_value(member.value)) return false;
        continue;
      }
      if (!is_subset(member.value, it->value)) return false;
    }
    return true;
  }
  if (desired.IsArray()) {
    if (!actual.IsArray() || desired.Size() != actual.Size()) return false;
    const bool scalars = std::all_of(desired.Begin(), desired.End(),
                                     [](const auto& v) { return !v.IsObject() && !v.IsArray(); });
    if (scalars) {
      for (const auto& want : desired.GetArray()) {
        if (std::none_of(actual.Begin(), actual.End(),
                         [&](const auto& have) { return same_scalar(want, have); })) {
          return false;
        }
      }
      return true;
    }
    for (rapidjson::SizeType i = 0; i < desired.Size(); ++i) {
      if (!is_subset(desired[i], actual[i])) return false;
    }
    return true;
  }
  return same_scalar(desired, actual);
}

}  // namespace core::json
