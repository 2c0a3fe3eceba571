#include "core/environment.hpp"

#include <cstdlib>

namespace core {

std::optional<std::string> ProcessEnvironment::get(std::string_view name) const {
  const std::string key(name);
  if (const char* value = std::getenv(key.c_str())) return std::string(value);
  return std::nullopt;
}

std::optional<std::string> MapEnvironment::get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return std::nullopt;
}

}  // namespace core
