#pragma once

// The allow-list's address rules written down a second time, independently of
// lib/infra/src/whitelist_ranges.cpp: ranges as numbers (no inet_pton, no
// table shared with the code under test) and overlap as 128-bit mask
// arithmetic. The property test (whitelist_ranges_test.cpp) and the command
// parser's fuzz target check the code against it.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace test::address_spec {

/// An address as 128 bits, most significant first; an IPv4 address sits in
/// the top 32 bits (so a /n prefix masks the same leading bits in both).
struct Bits {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const Bits&, const Bits&) = default;
};

inline Bits prefix_mask(int prefix) {
  const auto ones = [](int n) -> std::uint64_t {
    if (n <= 0) return 0;
    if (n >= 64) return ~std::uint64_t{0};
    return ~std::uint64_t{0} << (64 - n);
  };
  return Bits{ones(prefix), ones(prefix - 64)};
}

inline Bits masked(Bits value, int prefix) {
  const Bits mask = prefix_mask(prefix);
  return Bits{value.hi & mask.hi, value.lo & mask.lo};
}

inline void flip_bit(Bits& value, int index) {  // index 0 = most significant
  if (index < 64) {
    value.hi ^= std::uint64_t{1} << (63 - index);
  } else {
    value.lo ^= std::uint64_t{1} << (127 - index);
  }
}

struct Prefix {
  bool ipv6 = false;
  Bits value;  ///< host bits zero
  int prefix = 0;
};

inline Prefix v4(std::uint32_t value, int prefix) {
  return Prefix{false, masked(Bits{std::uint64_t{value} << 32, 0}, prefix), prefix};
}
inline Prefix v6(std::uint64_t hi, std::uint64_t lo, int prefix) {
  return Prefix{true, masked(Bits{hi, lo}, prefix), prefix};
}

/// Two prefixes of one family overlap when they agree on the shorter prefix.
inline bool overlap(const Prefix& a, const Prefix& b) {
  if (a.ipv6 != b.ipv6) return false;
  const int shorter = std::min(a.prefix, b.prefix);
  return masked(a.value, shorter) == masked(b.value, shorter);
}

/// Never whitelisted (issue 15 and its decisions in whitelist_ranges.cpp).
inline const std::array<Prefix, 17>& forbidden() {
  static const std::array<Prefix, 17> ranges = {
      v4(0x00000000, 8),              // 0.0.0.0/8 "this network"
      v4(0x7F000000, 8),              // 127.0.0.0/8 loopback
      v4(0xA9FE0000, 16),             // 169.254.0.0/16 link-local, metadata
      v4(0xE0000000, 4),              // 224.0.0.0/4 multicast
      v4(0xF0000000, 4),              // 240.0.0.0/4 reserved, broadcast
      v6(0, 0, 128),                  // ::/128 unspecified
      v6(0, 1, 128),                  // ::1/128 loopback
      v6(0, 0, 96),                   // ::/96 IPv4-compatible
      v6(0, 0x0000FFFF00000000, 96),  // ::ffff:0:0/96 IPv4-mapped
      v6(0, 0xFFFF000000000000, 96),  // ::ffff:0:0:0/96 IPv4-translated
      v6(0x0064FF9B00000000, 0, 96),  // 64:ff9b::/96 NAT64
      v6(0x0064FF9B00010000, 0, 48),  // 64:ff9b:1::/48 local NAT64
      v6(0x2002000000000000, 0, 16),  // 2002::/16 6to4
      v6(0x2001000000000000, 0, 32),  // 2001::/32 Teredo
      v6(0xFE80000000000000, 0, 10),  // fe80::/10 link-local
      v6(0xFF00000000000000, 0, 8),   // ff00::/8 multicast
      v6(0xFD000EC200000000, 0, 32),  // fd00:ec2::/32 AWS metadata (IPv6)
  };
  return ranges;
}

/// Whitelisted by admins only.
inline const std::array<Prefix, 6>& private_ranges() {
  static const std::array<Prefix, 6> ranges = {
      v4(0x0A000000, 8),              // 10.0.0.0/8
      v4(0xAC100000, 12),             // 172.16.0.0/12
      v4(0xC0A80000, 16),             // 192.168.0.0/16
      v4(0x64400000, 10),             // 100.64.0.0/10 CGNAT
      v6(0xFC00000000000000, 0, 7),   // fc00::/7 ULA
      v6(0xFEC0000000000000, 0, 10),  // fec0::/10 site-local
  };
  return ranges;
}

template <class Ranges>
bool overlaps_any(const Prefix& p, const Ranges& ranges) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const Prefix& r) { return overlap(p, r); });
}

/// "a.b.c.d/n", or the uncompressed "x:x:x:x:x:x:x:x/n" (the parser canonicalises it).
inline std::string text_of(const Prefix& p) {
  if (!p.ipv6) {
    const auto v = static_cast<std::uint32_t>(p.value.hi >> 32);
    return fmt::format("{}.{}.{}.{}/{}", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF,
                       p.prefix);
  }
  std::string out;
  for (int group = 0; group < 8; ++group) {
    const std::uint64_t word = group < 4 ? p.value.hi : p.value.lo;
    const auto shift = static_cast<unsigned>(48 - 16 * (group % 4));
    out += fmt::format("{}{:x}", group == 0 ? "" : ":", (word >> shift) & 0xFFFF);
  }
  return fmt::format("{}/{}", out, p.prefix);
}

}  // namespace test::address_spec
