#pragma once

// Shared by the fuzz targets: FUZZ_CHECK (report and abort, so libFuzzer keeps
// the input), an independent UTF-8 check, and the invariants every JSON body
// infra-bot sends to Slack must hold (an ack payload, a message, a modal).

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <rapidjson/document.h>

namespace fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              const std::string& message) {
  std::fprintf(stderr, "\n==fuzz== invariant violated at %s:%d: %s\n==fuzz== %s\n", file, line,
               condition, message.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Checks an invariant; on failure prints the formatted message and aborts
/// (libFuzzer then saves the input as a crash).
#define FUZZ_CHECK(condition, ...)                                            \
  do {                                                                        \
    if (!(condition)) {                                                       \
      ::fuzz::fail(__FILE__, __LINE__, #condition, fmt::format(__VA_ARGS__)); \
    }                                                                         \
  } while (false)

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF), checked here rather than with core's decoder so the
/// targets do not trust the code they test.
inline bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + length > n) return false;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if (b1 < lo || b1 > hi) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (b < 0x80 || b > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

/// The deepest `[`/`{` nesting of JSON text (outside strings).
inline int nesting_depth(std::string_view json) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// Code points of valid UTF-8.
inline std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

/// A C0 control character or DEL.
inline bool has_control(std::string_view text) {
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

/// Every string (keys included) in `value` is well-formed UTF-8: RapidJSON
/// validates the raw bytes it reads, but decodes an escaped lone surrogate
/// (`"\udc00"`) into bytes that are not UTF-8. Empty on success, else the path.
inline std::string ill_formed_string(const rapidjson::Value& value, const std::string& path = "") {
  if (value.IsString()) {
    if (!valid_utf8(std::string_view(value.GetString(), value.GetStringLength()))) {
      return path.empty() ? "/" : path;
    }
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      const std::string_view name(member.name.GetString(), member.name.GetStringLength());
      const std::string at = path + "/" + std::string(name);
      if (!valid_utf8(name)) return at + " (key)";
      if (auto bad = ill_formed_string(member.value, at); !bad.empty()) return bad;
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      if (auto bad = ill_formed_string(value[i], path + "/" + std::to_string(i)); !bad.empty()) {
        return bad;
      }
    }
  }
  return {};
}

// Slack's limits, from https://api.slack.com/reference/block-kit/blocks and
// chat.postMessage (`msg_too_long` past 40,000 characters of text).
inline constexpr std::size_t kSlackMaxText = 40000;
inline constexpr std::size_t kSlackMaxSectionText = 3000;
inline constexpr std::size_t kSlackMaxHeaderText = 150;
inline constexpr std::size_t kSlackMaxMessageBlocks = 50;
inline constexpr std::size_t kSlackMaxModalBlocks = 100;
inline constexpr std::size_t kSlackMaxPrivateMetadata = 3000;

/// What is wrong with a JSON body bound for Slack (a message, a modal, an ack
/// payload), or empty: well-formed JSON of valid UTF-8, an object, and within
/// Slack's size limits for the parts infra-bot fills with outside text.
inline std::string slack_json_problem(std::string_view json) {
  if (!valid_utf8(json)) return "not valid UTF-8";
  rapidjson::Document document;
  // The UTF-8 check is valid_utf8's (above); RapidJSON's would also refuse surrogates.
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    return fmt::format("not JSON (RapidJSON error {} at offset {})",
                       static_cast<int>(document.GetParseError()), document.GetErrorOffset());
  }
  if (!document.IsObject()) return "not a JSON object";
  const rapidjson::Value& root = document;  // const iterators (C++20 reversed == is ambiguous)
  if (auto bad = ill_formed_string(root); !bad.empty()) {
    return "ill-formed UTF-8 in the string at " + bad;
  }
  auto text_of = [](const rapidjson::Value& object, const char* key) -> std::string_view {
    if (!object.IsObject()) return {};
    auto it = object.FindMember(key);
    if (it == object.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
  };
  if (code_points(text_of(root, "text")) > kSlackMaxText) {
    return fmt::format("text has {} characters (limit {})", code_points(text_of(root, "text")),
                       kSlackMaxText);
  }
  const bool modal = text_of(root, "type") == "modal";
  if (modal && code_points(text_of(root, "private_metadata")) > kSlackMaxPrivateMetadata) {
    return "private_metadata over 3000 characters";
  }
  const auto blocks = root.FindMember("blocks");
  if (blocks == root.MemberEnd()) return {};
  if (!blocks->value.IsArray()) return "blocks is not an array";
  const std::size_t max_blocks = modal ? kSlackMaxModalBlocks : kSlackMaxMessageBlocks;
  if (blocks->value.Size() > max_blocks) {
    return fmt::format("{} blocks (limit {})", blocks->value.Size(), max_blocks);
  }
  for (rapidjson::SizeType i = 0; i < blocks->value.Size(); ++i) {
    const auto& block = blocks->value[i];
    if (!block.IsObject()) return fmt::format("block {} is not an object", i);
    const std::string_view type = text_of(block, "type");
    const auto inner = block.FindMember("text");
    if (type == "section" && inner != block.MemberEnd()) {
      const auto n = code_points(text_of(inner->value, "text"));
      if (n > kSlackMaxSectionText) return fmt::format("block {}: section of {} characters", i, n);
    } else if (type == "header" && inner != block.MemberEnd()) {
      const auto n = code_points(text_of(inner->value, "text"));
      if (n > kSlackMaxHeaderText) return fmt::format("block {}: header of {} characters", i, n);
    } else if (type == "context") {
      auto elements = block.FindMember("elements");
      if (elements != block.MemberEnd() && elements->value.IsArray()) {
        for (const auto& element : elements->value.GetArray()) {
          const auto n = code_points(text_of(element, "text"));
          if (n > kSlackMaxSectionText) {
            return fmt::format("block {}: context element of {} characters", i, n);
          }
        }
      }
    }
  }
  return {};
}

}  // namespace fuzz
