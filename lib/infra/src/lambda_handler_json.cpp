// design §4's JSON, read and written (see lambda_handler_json.hpp).
#include "lambda_handler_json.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/strings.hpp"

namespace infra::lambda_detail {

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t ignored = 0;
    const std::size_t length = core::utf8_decode(text, i, ignored);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

void key(Writer& writer, std::string_view name) {
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

void string(Writer& writer, std::string_view value) {
  const std::string checked = valid_utf8(value);
  writer.String(checked.data(), static_cast<rapidjson::SizeType>(checked.size()));
}

void member(Writer& writer, std::string_view name, std::string_view value) {
  key(writer, name);
  string(writer, value);
}

void member(Writer& writer, std::string_view name, std::int64_t value) {
  key(writer, name);
  writer.Int64(value);
}

void strings_member(Writer& writer, std::string_view name, const std::vector<std::string>& items) {
  key(writer, name);
  writer.StartArray();
  for (const auto& item : items) string(writer, item);
  writer.EndArray();
}

Answer::Answer(bool ok) : writer_(buffer_) {
  writer_.StartObject();
  key(writer_, "ok");
  writer_.Bool(ok);
}

std::string Answer::text() {
  writer_.EndObject();
  return std::string(buffer_.GetString(), buffer_.GetSize());
}

std::string ok_false(std::string_view message) {
  Answer answer(false);
  member(answer.writer(), "error", message);
  return answer.text();
}

void write_entry(Writer& writer, const WhitelistEntry& entry) {
  writer.StartObject();
  member(writer, "cidr", entry.cidr);
  member(writer, "description", entry.description);
  member(writer, "added_by", entry.added_by);
  if (entry.expires_at) member(writer, "expires_at", core::format_rfc3339(*entry.expires_at));
  writer.EndObject();
}

std::string shown(std::string_view text) {
  std::string out = core::utf8_truncate(text, 64);
  std::replace(out.begin(), out.end(), '`', '\'');
  return out;
}

Checked<std::optional<std::string>> optional_string(const rapidjson::Value& object,
                                                    std::string_view name) {
  const auto it = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  if (it == object.MemberEnd() || it->value.IsNull()) return std::optional<std::string>{};
  if (!it->value.IsString()) return Refusal{fmt::format("`{}` must be a string.", name)};
  return std::optional<std::string>(
      std::string(it->value.GetString(), it->value.GetStringLength()));
}

Checked<std::string> required_string(const rapidjson::Value& object, std::string_view name) {
  auto value = optional_string(object, name);
  if (auto* refusal = std::get_if<Refusal>(&value)) return *refusal;
  auto& text = std::get<std::optional<std::string>>(value);
  if (!text || core::trim(*text).empty()) {
    return Refusal{fmt::format("The request has no `{}`.", name)};
  }
  return std::move(*text);
}

}  // namespace infra::lambda_detail
