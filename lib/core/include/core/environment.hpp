#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace core {

/// Read access to environment variables: a seam so tests build configuration
/// from an explicit map, never from the real process environment.
class Environment {
 public:
  virtual ~Environment() = default;
  /// The variable's value, or nullopt when it is not set.
  virtual std::optional<std::string> get(std::string_view name) const = 0;
};

/// The process environment (getenv).
class ProcessEnvironment final : public Environment {
 public:
  std::optional<std::string> get(std::string_view name) const override;
};

/// An explicit map of variables, for tests and for composing overrides.
class MapEnvironment final : public Environment {
 public:
  MapEnvironment() = default;
  MapEnvironment(std::initializer_list<std::pair<const std::string, std::string>> values)
      : values_(values) {}
  void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }
  std::optional<std::string> get(std::string_view name) const override;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace core
