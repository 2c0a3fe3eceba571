#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace core {

/// Removes secrets from text before it is logged: Slack tokens (xoxb-, xoxp-,
/// xapp-, …), AWS access key ids (AKIA…/ASIA…), and any exact secret value
/// registered (the AWS secret key, session token, the configured tokens).
class Redactor {
 public:
  Redactor() = default;
  explicit Redactor(std::vector<std::string> secrets);

  /// Registers an exact value to hide; values shorter than 8 bytes are ignored
  /// (they would blank out ordinary words).
  void add_secret(std::string secret);

  /// `text` with every secret replaced by "[REDACTED]".
  std::string redact(std::string_view text) const;

  /// True when `text` holds something redact() would hide.
  bool contains_secret(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace core
