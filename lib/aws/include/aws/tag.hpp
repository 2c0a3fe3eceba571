#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aws {

/// A resource tag as the AWS APIs carry it.
struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
};

using Tags = std::vector<Tag>;

/// The value of the first tag named `key` (tag keys are case-sensitive).
inline std::optional<std::string_view> find_tag(const Tags& tags, std::string_view key) {
  for (const auto& tag : tags) {
    if (tag.key == key) return std::string_view(tag.value);
  }
  return std::nullopt;
}

}  // namespace aws
