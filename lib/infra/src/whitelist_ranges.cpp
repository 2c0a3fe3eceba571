// Which address ranges an allow-list may hold (issue 15): the ranges no one may
// whitelist, and the private ones only an admin may.
#include "infra/whitelist_ranges.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infra {
namespace {

// An IPv4 network is held in the first 4 bytes.
struct Network {
  std::array<unsigned char, 16> bytes{};
  int prefix = 0;
  bool ipv6 = false;
};

// "a.b.c.d/n" or "x::y/n" as parse_cidr writes it; nullopt for anything else.
std::optional<Network> network_of(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 1 == text.size() || text.size() - slash > 4) {
    return std::nullopt;
  }
  const std::string address(text.substr(0, slash));
  if (address.find('\0') != std::string::npos) return std::nullopt;
  Network network;
  network.ipv6 = address.find(':') != std::string::npos;
  if (inet_pton(network.ipv6 ? AF_INET6 : AF_INET, address.c_str(), network.bytes.data()) != 1) {
    return std::nullopt;
  }
  int prefix = 0;
  for (const char c : text.substr(slash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > (network.ipv6 ? 128 : 32)) return std::nullopt;
  network.prefix = prefix;
  return network;
}

// The first `bits` bits of a and b are equal.
bool same_leading_bits(const Network& a, const Network& b, int bits) {
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<unsigned char>(bits >= 8 ? 0xFF : 0xFF << (8 - bits));
    if (((a.bytes[i] ^ b.bytes[i]) & mask) != 0) return false;
  }
  return true;
}

// `inner` lies inside `outer` (or is it).
bool contains(const Network& outer, const Network& inner) {
  return outer.ipv6 == inner.ipv6 && outer.prefix <= inner.prefix &&
         same_leading_bits(outer, inner, outer.prefix);
}

// Two prefixes overlap exactly when one contains the other.
bool overlaps(const Network& a, const Network& b) { return contains(a, b) || contains(b, a); }

struct Range {
  std::string_view text;  // canonical, as parse_cidr writes it
  std::string_view name;  // "the <name> range"
  std::string_view why;   // a sentence without its full stop
  std::string_view fix;
};

constexpr std::string_view kUsePublic = "whitelist the public address you connect from";
constexpr std::string_view kStandsForIpv4 =
    "these addresses stand for IPv4 addresses, so they would open IPv4 hosts by a back door";
constexpr std::string_view kUseIpv4 = "whitelist the IPv4 address itself";

// Never whitelisted, whoever asks. When a range contains several of these, the
// first in this order is named, so the IPv4-in-IPv6 ranges come before :: and ::1.
//
// Left out on purpose: the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) and benchmarking (198.18.0.0/15) are never
// routed, so an entry for them opens nothing, and examples and tests use them.
// Shared address space (100.64.0.0/10, carrier-grade NAT) is private below, not
// forbidden: inside a VPC or behind a VPN it can be a real peer.
constexpr std::array kForbidden = {
    // IPv4
    Range{"0.0.0.0/8", "\"this network\"",
          "these addresses are never a visitor's address (0.0.0.0 means \"any address\")",
          kUsePublic},
    Range{"127.0.0.0/8", "loopback",
          "these addresses always mean the server itself, never a visitor", kUsePublic},
    Range{"169.254.0.0/16", "link-local",
          "these addresses reach only the local network segment, and 169.254.169.254 is the "
          "cloud metadata service",
          kUsePublic},
    Range{"224.0.0.0/4", "multicast", "these addresses name groups of hosts, never one visitor",
          kUsePublic},
    // Class E: reserved since 1989, never assigned to a host; it holds the
    // limited broadcast address 255.255.255.255.
    Range{"240.0.0.0/4", "reserved",
          "no real host uses these addresses (255.255.255.255 is broadcast)", kUsePublic},
    // IPv6 that stands for IPv4 (RFC 4291, 2765, 6052, 8215, 3056, 4380): an
    // entry there reaches IPv4 hosts that the IPv4 rules are meant to guard.
    Range{"::/96", "IPv4-compatible IPv6", kStandsForIpv4, kUseIpv4},
    Range{"::ffff:0:0/96", "IPv4-mapped IPv6", kStandsForIpv4, kUseIpv4},
    Range{"::ffff:0:0:0/96", "IPv4-translated IPv6", kStandsForIpv4, kUseIpv4},
    Range{"64:ff9b::/96", "NAT64", kStandsForIpv4, kUseIpv4},
    Range{"64:ff9b:1::/48", "local NAT64", kStandsForIpv4, kUseIpv4},
    Range{"2002::/16", "6to4", kStandsForIpv4, kUseIpv4},
    Range{"2001::/32", "Teredo", kStandsForIpv4, kUseIpv4},
    // IPv6
    Range{"::/128", "unspecified", "this address means \"no address\", never a visitor",
          kUsePublic},
    Range{"::1/128", "loopback", "this address always means the server itself, never a visitor",
          kUsePublic},
    Range{"fe80::/10", "link-local", "these addresses reach only the local network segment",
          kUsePublic},
    Range{"ff00::/8", "multicast", "these addresses name groups of hosts, never one visitor",
          kUsePublic},
    // Inside the unique-local range, but no peer: AWS's IPv6 instance metadata
    // service (fd00:ec2::254), the IPv6 twin of 169.254.169.254.
    Range{"fd00:ec2::/32", "AWS metadata (IPv6)",
          "these addresses are the cloud metadata service, never a visitor", kUsePublic},
};

// Whitelisted only by an admin: addresses inside private networks.
constexpr std::array<std::string_view, 6> kPrivate = {
    "10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16",  // RFC 1918
    "100.64.0.0/10",                                     // RFC 6598, carrier-grade NAT
    "fc00::/7",                                          // RFC 4193, unique local
    "fec0::/10",  // RFC 3879, deprecated site-local: the private range before ULA
};

struct Parsed {
  const Range* range;
  Network network;
};

// Each table entry read once; a typo in a table is a bug caught by the first call.
const std::vector<Parsed>& forbidden_networks() {
  static const std::vector<Parsed> networks = [] {
    std::vector<Parsed> out;
    for (const Range& range : kForbidden) {
      const auto network = network_of(range.text);
      // Belief: every entry above is a canonical CIDR (the tests check the messages).
      if (network) out.push_back(Parsed{&range, *network});
    }
    return out;
  }();
  return networks;
}

const std::vector<std::pair<std::string_view, Network>>& private_networks() {
  static const std::vector<std::pair<std::string_view, Network>> networks = [] {
    std::vector<std::pair<std::string_view, Network>> out;
    for (const std::string_view text : kPrivate) {
      if (const auto network = network_of(text)) out.emplace_back(text, *network);
    }
    return out;
  }();
  return networks;
}

core::Error refusal(std::string message, const Cidr& cidr, std::string_view range) {
  return core::make_error(
      core::ErrorCode::invalid_input, std::move(message),
      fmt::format("command_parser: {} overlaps forbidden {}", cidr.text, range));
}

}  // namespace

core::Status check_whitelist_range(const Cidr& cidr) {
  const auto network = network_of(cidr.text);
  if (!network) {
    return core::make_error(core::ErrorCode::invalid_input,
                            fmt::format("`{}` is not an IP address or CIDR.", cidr.text),
                            "command_parser: unreadable Cidr text");
  }
  // Inside a forbidden range: name the narrowest one that holds it (`::1` is
  // loopback before it is IPv4-compatible).
  const Parsed* holder = nullptr;
  for (const Parsed& forbidden : forbidden_networks()) {
    if (contains(forbidden.network, *network) &&
        (holder == nullptr || forbidden.network.prefix > holder->network.prefix)) {
      holder = &forbidden;
    }
  }
  if (holder != nullptr) {
    const Range& range = *holder->range;
    const std::string shown =
        cidr.is_single_host() ? cidr.text.substr(0, cidr.text.find('/')) : cidr.text;
    return refusal(fmt::format("`{}` is in the {} range `{}`: {}. It cannot be whitelisted; {}.",
                               shown, range.name, range.text, range.why, range.fix),
                   cidr, range.text);
  }
  // Broader than a forbidden range.
  for (const Parsed& forbidden : forbidden_networks()) {
    if (contains(*network, forbidden.network)) {
      const Range& range = *forbidden.range;
      return refusal(fmt::format("`{}` contains the {} range `{}`: {}. Use a narrower range that "
                                 "leaves `{}` out.",
                                 cidr.text, range.name, range.text, range.why, range.text),
                     cidr, range.text);
    }
  }
  return {};
}

std::optional<std::string> private_range_of(const Cidr& cidr) {
  const auto network = network_of(cidr.text);
  if (!network) return cidr.text;  // fail closed: an admin decides
  for (const auto& [text, range] : private_networks()) {
    if (overlaps(range, *network)) return std::string(text);
  }
  return std::nullopt;
}

}  // namespace infra
