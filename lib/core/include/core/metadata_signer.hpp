#pragma once
// What a front end hands the chat and gets back later — a button's value, a modal's
// private_metadata — comes back through the client and could be edited on
// the way. It is signed with a key only this process knows and expires, so a
// tampered or stale one is refused (issue 15).

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace core {

class MetadataSigner {
 public:
  /// `key`: the HMAC-SHA256 key (random_key() in the service).
  MetadataSigner(std::string key, const Clock& clock, std::chrono::seconds ttl);

  /// 32 random bytes from the system's CSPRNG.
  static std::string random_key();

  /// "v1.<expires, unix seconds>.<hex HMAC>.<payload>".
  std::string sign(std::string_view payload) const;

  /// The payload of a text sign() made, unchanged and not expired; else an
  /// invalid_input Error (detail says which: malformed, forged or expired).
  Result<std::string> open(std::string_view signed_text) const;

  /// How many bytes sign() adds to a payload.
  static constexpr std::size_t kOverhead = 3 + 20 + 1 + 64 + 1;

 private:
  std::string mac(std::string_view signed_part) const;

  std::string key_;
  const Clock& clock_;
  std::chrono::seconds ttl_;
};

}  // namespace core
