#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/result.hpp"

namespace core::json {

/// Parses UTF-8 JSON text; a syntax error is an invalid_input Error whose
/// detail names the offset.
Result<rapidjson::Document> parse(std::string_view text);

/// Deeper than any Slack or Lambda document; shallow enough for any stack.
inline constexpr int kMaxDepth = 64;

/// The pass parse() makes before RapidJSON (also used by slack's in-situ frame
/// parser): nesting of '[' and '{' outside strings bounded by `max_depth` (the
/// parser recurses), and the escaped surrogates that are not half of a pair
/// ("\\udc00", which Python writes for undecodable bytes), given as the offsets
/// of their four hex digits: writing "FFFD" there makes them U+FFFD (RapidJSON
/// would decode them to bytes that are not UTF-8).
struct Precheck {
  bool too_deep = false;
  std::vector<std::size_t> lone_surrogates;
};
Precheck precheck(std::string_view text, int max_depth = kMaxDepth);

/// Whether parse(text) would succeed, without building a document: a
/// validating pass with no allocation per value (the ack path checks every
/// payload it sends).
bool is_valid(std::string_view text);

/// `text` as a JSON string literal, quotes included.
std::string quote(std::string_view text);

/// Compact serialisation.
std::string to_string(const rapidjson::Value& value);

/// Canonical form for comparisons and golden files: object keys sorted,
/// two-space indentation, a final newline.
std::string canonical(const rapidjson::Value& value);
Result<std::string> canonicalize(std::string_view text);

/// Member look-ups that return nullopt when the member is missing, null or of
/// another type (missing fields render as "unknown", never crash).
std::optional<std::string_view> get_string(const rapidjson::Value& object, std::string_view key);
std::optional<std::int64_t> get_int(const rapidjson::Value& object, std::string_view key);
std::optional<bool> get_bool(const rapidjson::Value& object, std::string_view key);
const rapidjson::Value* get_array(const rapidjson::Value& object, std::string_view key);
const rapidjson::Value* get_object(const rapidjson::Value& object, std::string_view key);

/// null, false, [] or {}: what a JSON API leaves out as its default.
bool is_default_value(const rapidjson::Value& value);
/// Equal scalars (numbers by value: 1 and 1.0 are the same).
bool same_scalar(const rapidjson::Value& a, const rapidjson::Value& b);
/// Whether every member `desired` sets is in `actual` with an equal value
/// (recursively; a member missing from `actual` is fine when `desired` has its
/// default there: null, false, [] or {}); arrays of scalars compare as sets,
/// arrays of objects element by element. For "does what the API kept still
/// say what we sent" (Discord's command set, Slack's exported manifest).
bool is_subset(const rapidjson::Value& desired, const rapidjson::Value& actual);

}  // namespace core::json
