#pragma once

// Reading and writing design §4's JSON for infra::LambdaHandler
// (lambda_handler*.cpp). Every string written is valid UTF-8. Private to lib/infra.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "infra/backend.hpp"

namespace infra::lambda_detail {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

void key(Writer& writer, std::string_view name);
/// A string value, made valid UTF-8 first.
void string(Writer& writer, std::string_view value);
void member(Writer& writer, std::string_view name, std::string_view value);
void member(Writer& writer, std::string_view name, std::int64_t value);
void strings_member(Writer& writer, std::string_view name, const std::vector<std::string>& items);
/// {cidr, description, added_by, expires_at (RFC 3339, when it expires)}
void write_entry(Writer& writer, const WhitelistEntry& entry);

/// One answer object being written: `{"ok": <ok>` is open once constructed,
/// the caller adds members through writer(), and text() closes it.
class Answer {
 public:
  explicit Answer(bool ok);
  Answer(const Answer&) = delete;
  Answer& operator=(const Answer&) = delete;

  Writer& writer() { return writer_; }
  std::string text();

 private:
  rapidjson::StringBuffer buffer_;
  Writer writer_;
};

/// {"ok": false, "error": message}
std::string ok_false(std::string_view message);

// A contract refusal: the text for the caller (logged with the request by refuse()).
struct Refusal {
  std::string message;
};

template <class T>
using Checked = std::variant<T, Refusal>;

/// How a backticked value from the caller is shown back: bounded, no backticks.
std::string shown(std::string_view text);

/// An optional string member: absent or null → nullopt; another type → refusal.
Checked<std::optional<std::string>> optional_string(const rapidjson::Value& object,
                                                    std::string_view name);

/// A string member that is present and not blank.
Checked<std::string> required_string(const rapidjson::Value& object, std::string_view name);

}  // namespace infra::lambda_detail
