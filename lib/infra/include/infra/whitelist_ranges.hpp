#pragma once

#include <optional>
#include <string>

#include "core/result.hpp"
#include "infra/command.hpp"

namespace infra {

/// Whether `cidr` may be put on an allow-list at all, whoever asks: an
/// invalid_input Error whose user message says why not in plain words, else
/// success. Refused, at any prefix and with any range that contains one
/// (`::/8`, `fe00::/7`, `128.0.0.0/1`), independently of the minimum prefix:
///   - loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16 with the
///     metadata address 169.254.169.254, fe80::/10), multicast (224.0.0.0/4,
///     ff00::/8), "this network" and unspecified (0.0.0.0/8, ::), reserved
///     and broadcast (240.0.0.0/4, with 255.255.255.255);
///   - IPv6 that stands for IPv4: IPv4-compatible ::/96, IPv4-mapped
///     ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and
///     64:ff9b:1::/48, 6to4 2002::/16, Teredo 2001::/32.
/// For `whitelist add` only: `whitelist remove` takes whatever parse_cidr
/// accepts, so an entry added before these rules can still be removed.
///
/// Example:
///   check_whitelist_range(*parse_cidr("fe80::/64", settings)).error().user_message
///   // "`fe80::/64` is link-local (`fe80::/10`): …"
core::Status check_whitelist_range(const Cidr& cidr);

/// The private range `cidr` overlaps — lies inside or contains — as its CIDR
/// text: RFC 1918 (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), shared CGNAT
/// space (100.64.0.0/10), ULA (fc00::/7) or deprecated site-local (fec0::/10);
/// nullopt when it overlaps none. Whitelisting a private range needs an admin
/// (Policy). A Cidr whose text cannot be read counts as private (fail closed):
/// its own text is returned.
///
/// Example: private_range_of(Cidr{"8.0.0.0/6", 6, false}) == "10.0.0.0/8"
std::optional<std::string> private_range_of(const Cidr& cidr);

}  // namespace infra
