#include "core/metadata_signer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace core {
namespace {

constexpr std::string_view kVersion = "v1.";
constexpr std::size_t kMacHex = 64;

Error refused(std::string detail) {
  return make_error(ErrorCode::invalid_input,
                    "This confirmation is no longer valid. Run the command again.",
                    std::move(detail));
}

}  // namespace

MetadataSigner::MetadataSigner(std::string key, const Clock& clock, std::chrono::seconds ttl)
    : key_(std::move(key)), clock_(clock), ttl_(ttl) {}

std::string MetadataSigner::random_key() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // Without randomness nothing the bot signs could be trusted: do not start.
    throw std::runtime_error("RAND_bytes failed: no key for signing Slack metadata");
  }
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string MetadataSigner::mac(std::string_view signed_part) const {
  std::array<unsigned char, 32> digest{};
  std::size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_.data(), key_.size(),
                reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
                digest.data(), digest.size(), &length) == nullptr ||
      length != digest.size()) {
    return {};  // sign() refuses to hand out an unsigned text; open() refuses everything
  }
  std::string hex;
  hex.reserve(kMacHex);
  for (std::size_t i = 0; i < length; ++i)
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  return hex;
}

std::string MetadataSigner::sign(std::string_view payload) const {
  const auto expires =
      std::chrono::duration_cast<std::chrono::seconds>((clock_.now() + ttl_).time_since_epoch())
          .count();
  // The MAC covers the version, the expiry and the payload.
  const std::string head = fmt::format("{}{}.", kVersion, expires);
  const std::string tag = mac(fmt::format("{}{}", head, payload));
  if (tag.size() != kMacHex) throw std::runtime_error("HMAC-SHA256 failed: metadata not signed");
  return fmt::format("{}{}.{}", head, tag, payload);
}

Result<std::string> MetadataSigner::open(std::string_view text) const {
  if (!text.starts_with(kVersion)) return refused("metadata: not signed");
  const std::string_view rest = text.substr(kVersion.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 20) {
    return refused("metadata: malformed expiry");
  }
  long long expires = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dot, expires);
  if (ec != std::errc{} || end != rest.data() + dot || rest[0] == '-') {
    return refused("metadata: malformed expiry");
  }
  const std::string_view after = rest.substr(dot + 1);
  if (after.size() < kMacHex + 1 || after[kMacHex] != '.') {
    return refused("metadata: malformed signature");
  }
  const std::string_view tag = after.substr(0, kMacHex);
  const std::string_view payload = after.substr(kMacHex + 1);
  const std::string_view head = text.substr(0, kVersion.size() + dot + 1);
  const std::string expected = mac(fmt::format("{}{}", head, payload));
  if (expected.size() != kMacHex || CRYPTO_memcmp(expected.data(), tag.data(), kMacHex) != 0) {
    return refused("metadata: signature does not match (forged or from another process)");
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  if (now > expires) return refused(fmt::format("metadata: expired {} s ago", now - expires));
  return std::string(payload);
}

}  // namespace core
