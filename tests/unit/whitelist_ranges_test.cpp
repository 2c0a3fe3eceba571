// Which ranges `whitelist add` takes (issue 15): tables of the refusals with
// their exact messages, the private ranges, and a property test over random
// IPv4/IPv6 prefixes checked against an independent statement of the rules
// (tests/support/address_ranges_spec.hpp).
#include "infra/whitelist_ranges.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "address_ranges_spec.hpp"
#include "infra/command.hpp"
#include "infra/command_parser.hpp"

namespace infra {
namespace {

namespace spec = test::address_spec;

// Minimum prefixes out of the way: the rules must hold whatever they are.
ParserSettings permissive() {
  ParserSettings settings;
  settings.min_prefix_v4 = 1;
  settings.min_prefix_v6 = 1;
  return settings;
}

template <class Case>
std::string case_name(const testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

// ---------------------------------------------------------------------------
// `whitelist add <input>` with permissive prefixes: accepted as `expected`
// (its canonical CIDR), or refused with exactly this message.

struct Accepted {
  std::string cidr;  ///< canonical
};

struct AddCase {
  std::string name;
  std::string input;
  std::variant<Accepted, std::string> expected;  // or the refusal's message
};

std::ostream& operator<<(std::ostream& os, const AddCase& c) { return os << c.name; }

constexpr const char* kUsePublic =
    "It cannot be whitelisted; whitelist the public address you "
    "connect from.";
constexpr const char* kIpv4Why =
    "these addresses stand for IPv4 addresses, so they would open IPv4 hosts by a back door";

std::string in_range(const std::string& shown, const std::string& name, const std::string& range,
                     const std::string& why, const std::string& fix = kUsePublic) {
  return "`" + shown + "` is in the " + name + " range `" + range + "`: " + why + ". " + fix;
}
std::string in_v4_range(const std::string& shown, const std::string& name,
                        const std::string& range) {
  return in_range(shown, name, range, kIpv4Why,
                  "It cannot be whitelisted; whitelist the IPv4 address itself.");
}
std::string contains(const std::string& cidr, const std::string& name, const std::string& range,
                     const std::string& why) {
  return "`" + cidr + "` contains the " + name + " range `" + range + "`: " + why +
         ". Use a narrower range that leaves `" + range + "` out.";
}

const std::string kLoopbackV4 = "these addresses always mean the server itself, never a visitor";
const std::string kLoopbackV6 = "this address always means the server itself, never a visitor";
const std::string kLinkLocalV4 =
    "these addresses reach only the local network segment, and 169.254.169.254 is the cloud "
    "metadata service";
const std::string kLinkLocalV6 = "these addresses reach only the local network segment";
const std::string kMulticast = "these addresses name groups of hosts, never one visitor";
const std::string kThisNetwork =
    "these addresses are never a visitor's address (0.0.0.0 means \"any address\")";
const std::string kReserved = "no real host uses these addresses (255.255.255.255 is broadcast)";
const std::string kUnspecified = "this address means \"no address\", never a visitor";

std::vector<AddCase> add_cases() {
  return {
      // Each finding of issue 15, tried and refused.
      {"metadata_address", "169.254.169.254",
       in_range("169.254.169.254", "link-local", "169.254.0.0/16", kLinkLocalV4)},
      {"loopback_v4", "127.0.0.1", in_range("127.0.0.1", "loopback", "127.0.0.0/8", kLoopbackV4)},
      {"loopback_v4_range", "127.1.0.0/16",
       in_range("127.1.0.0/16", "loopback", "127.0.0.0/8", kLoopbackV4)},
      {"loopback_v6", "::1", in_range("::1", "loopback", "::1/128", kLoopbackV6)},
      {"link_local_v6", "fe80::/64",
       in_range("fe80::/64", "link-local", "fe80::/10", kLinkLocalV6)},
      // AWS's IPv6 metadata address, inside the unique-local range (admin-only
      // otherwise): refused for everyone, and so is the ULA range around it.
      {"metadata_address_v6", "fd00:ec2::254",
       in_range("fd00:ec2::254", "AWS metadata (IPv6)", "fd00:ec2::/32",
                "these addresses are the cloud metadata service, never a visitor")},
      {"ula_holding_metadata_v6", "fd00::/8",
       contains("fd00::/8", "AWS metadata (IPv6)", "fd00:ec2::/32",
                "these addresses are the cloud metadata service, never a visitor")},
      {"link_local_v6_host", "fe80::1:2",
       in_range("fe80::1:2", "link-local", "fe80::/10", kLinkLocalV6)},
      {"nat64_96", "64:ff9b::/96", in_v4_range("64:ff9b::/96", "NAT64", "64:ff9b::/96")},
      {"nat64_host", "64:ff9b::203.0.113.7",
       in_v4_range("64:ff9b::cb00:7107", "NAT64", "64:ff9b::/96")},
      {"nat64_broader_95", "64:ff9b::/95",
       contains("64:ff9b::/95", "NAT64", "64:ff9b::/96", kIpv4Why)},
      {"nat64_local_use", "64:ff9b:1:2::/64",
       in_v4_range("64:ff9b:1:2::/64", "local NAT64", "64:ff9b:1::/48")},
      {"v4_mapped_95", "::fffe:0:0/95",
       contains("::fffe:0:0/95", "IPv4-mapped IPv6", "::ffff:0:0/96", kIpv4Why)},
      {"v4_mapped_96", "::ffff:0:0/96",
       "`::ffff:0:0/96` is every IPv4 address written as IPv6 and is never allowed. Whitelist "
       "your own IPv4 address instead."},
      {"v4_mapped_host_keeps_suggestion", "::ffff:203.0.113.7",
       "`::ffff:203.0.113.7` is an IPv4 address written as IPv6. Use the IPv4 form "
       "`203.0.113.7` instead."},
      {"v4_translated", "::ffff:0:cb00:7107",
       in_v4_range("::ffff:0:cb00:7107", "IPv4-translated IPv6", "::ffff:0:0:0/96")},
      {"v4_compatible", "::203.0.113.7",
       in_v4_range("::203.0.113.7", "IPv4-compatible IPv6", "::/96")},
      {"v4_compatible_96", "::/96", in_v4_range("::/96", "IPv4-compatible IPv6", "::/96")},
      {"sixtofour", "2002:cb00:7107::/48", in_v4_range("2002:cb00:7107::/48", "6to4", "2002::/16")},
      {"sixtofour_16", "2002::/16", in_v4_range("2002::/16", "6to4", "2002::/16")},
      {"teredo", "2001:0:4136:e378::/64",
       in_v4_range("2001:0:4136:e378::/64", "Teredo", "2001::/32")},
      {"multicast_v4", "224.0.0.1", in_range("224.0.0.1", "multicast", "224.0.0.0/4", kMulticast)},
      {"multicast_v4_top", "239.255.255.255",
       in_range("239.255.255.255", "multicast", "224.0.0.0/4", kMulticast)},
      {"multicast_v6", "ff02::1", in_range("ff02::1", "multicast", "ff00::/8", kMulticast)},
      {"this_network", "0.0.0.0",
       in_range("0.0.0.0", "\"this network\"", "0.0.0.0/8", kThisNetwork)},
      {"this_network_host", "0.1.2.3",
       in_range("0.1.2.3", "\"this network\"", "0.0.0.0/8", kThisNetwork)},
      {"unspecified_v6", "::", in_range("::", "unspecified", "::/128", kUnspecified)},
      {"broadcast", "255.255.255.255",
       in_range("255.255.255.255", "reserved", "240.0.0.0/4", kReserved)},
      {"reserved_class_e", "240.0.0.0/8",
       in_range("240.0.0.0/8", "reserved", "240.0.0.0/4", kReserved)},

      // Ranges that contain a forbidden range, whatever the minimum prefix.
      {"v6_slash_8", "::/8", contains("::/8", "IPv4-compatible IPv6", "::/96", kIpv4Why)},
      {"v6_fe00_7", "fe00::/7", contains("fe00::/7", "link-local", "fe80::/10", kLinkLocalV6)},
      {"v6_upper_half", "8000::/1", contains("8000::/1", "link-local", "fe80::/10", kLinkLocalV6)},
      {"v6_2000_3", "2000::/3", contains("2000::/3", "6to4", "2002::/16", kIpv4Why)},
      {"v4_upper_half", "128.0.0.0/1",
       contains("128.0.0.0/1", "link-local", "169.254.0.0/16", kLinkLocalV4)},
      {"v4_lower_half", "0.0.0.0/1",
       contains("0.0.0.0/1", "\"this network\"", "0.0.0.0/8", kThisNetwork)},
      {"v4_contains_loopback", "126.0.0.0/7",
       contains("126.0.0.0/7", "loopback", "127.0.0.0/8", kLoopbackV4)},
      {"v4_contains_link_local", "169.254.0.0/15",
       contains("169.254.0.0/15", "link-local", "169.254.0.0/16", kLinkLocalV4)},
      {"v4_contains_class_e", "192.0.0.0/2",
       contains("192.0.0.0/2", "multicast", "224.0.0.0/4", kMulticast)},

      // Neighbours that are fine.
      {"just_below_loopback", "126.255.255.255", Accepted{"126.255.255.255/32"}},
      {"just_above_loopback", "128.0.0.0", Accepted{"128.0.0.0/32"}},
      {"just_below_link_local", "169.253.255.255", Accepted{"169.253.255.255/32"}},
      {"just_above_link_local", "169.255.0.0/16", Accepted{"169.255.0.0/16"}},
      {"just_below_multicast", "223.255.255.0/24", Accepted{"223.255.255.0/24"}},
      {"first_after_this_network", "1.0.0.0/8", Accepted{"1.0.0.0/8"}},
      {"nat64_neighbour", "64:ff9b:0:1::/64", Accepted{"64:ff9b:0:1::/64"}},
      {"v4_mapped_neighbour", "::fffe:0:0/96", Accepted{"::fffe:0:0/96"}},
      {"sixtofour_neighbour", "2003::/16", Accepted{"2003::/16"}},
      {"teredo_neighbour", "2001:1::/32", Accepted{"2001:1::/32"}},
      {"global_unicast", "2600:1f18::/32", Accepted{"2600:1f18::/32"}},
      {"fe00_below_link_local", "fe00::/9", Accepted{"fe00::/9"}},
      // Documentation and benchmarking ranges are left alone (never routed).
      {"documentation_v4", "203.0.113.0/24", Accepted{"203.0.113.0/24"}},
      {"documentation_v6", "2001:db8::/32", Accepted{"2001:db8::/32"}},
      {"benchmarking", "198.18.0.0/15", Accepted{"198.18.0.0/15"}},
      // Private ranges pass the parser: the policy asks for an admin.
      {"private_v4", "10.1.2.0/24", Accepted{"10.1.2.0/24"}},
      {"private_ula", "fd00:1::/48", Accepted{"fd00:1::/48"}},
  };
}

class WhitelistAddRangeTest : public testing::TestWithParam<AddCase> {};

TEST_P(WhitelistAddRangeTest, GivesExactResult) {
  const AddCase& c = GetParam();
  const auto parsed = parse_command("whitelist add " + c.input, permissive());
  if (const auto* accepted = std::get_if<Accepted>(&c.expected)) {
    ASSERT_TRUE(parsed.has_value()) << parsed.error().user_message;
    const auto* add = std::get_if<WhitelistAdd>(&*parsed);
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->cidr.text, accepted->cidr);
  } else {
    ASSERT_FALSE(parsed.has_value()) << describe(*parsed);
    EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
    EXPECT_EQ(parsed.error().user_message, std::get<std::string>(c.expected));
    EXPECT_FALSE(parsed.error().detail.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Ranges, WhitelistAddRangeTest, testing::ValuesIn(add_cases()),
                         case_name<AddCase>);

// The minimum prefix is a separate rule: with the defaults, a broad forbidden
// range is refused as too broad, and a narrow one for what it is.
TEST(WhitelistAddRange, DefaultSettingsRefuseBothWays) {
  const ParserSettings defaults;
  const auto broad = parse_command("whitelist add fe00::/7", defaults);
  ASSERT_FALSE(broad.has_value());
  EXPECT_EQ(broad.error().user_message,
            "`fe00::/7` is too broad: the widest range allowed is /48 for IPv6. Use a narrower "
            "range.");
  const auto narrow = parse_command("whitelist add fe80::/64 --env=prod", defaults);
  ASSERT_FALSE(narrow.has_value());
  EXPECT_EQ(narrow.error().user_message,
            in_range("fe80::/64", "link-local", "fe80::/10", kLinkLocalV6));
}

// An entry added before these rules can still be removed: remove checks syntax only.
TEST(WhitelistRemoveRange, TakesAnySyntacticallyValidCidr) {
  const ParserSettings defaults;
  for (const std::string cidr :
       {"127.0.0.1/32", "169.254.169.254/32", "::1/128", "fe80::/64", "64:ff9b::/96",
        "2002:cb00:7107::/48", "224.0.0.1/32", "255.255.255.255/32", "0.0.0.0/32", "::/128"}) {
    SCOPED_TRACE(cidr);
    const auto parsed = parse_command("whitelist remove " + cidr + " --env=prod", defaults);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().user_message;
    const auto* remove = std::get_if<WhitelistRemove>(&*parsed);
    ASSERT_NE(remove, nullptr);
    EXPECT_EQ(remove->cidr.text, cidr);
    EXPECT_FALSE(check_whitelist_range(remove->cidr).has_value());  // what add would say
  }
}

// ---------------------------------------------------------------------------
// private_range_of

struct PrivateCase {
  std::string name;
  std::string cidr;
  std::optional<std::string> range;
};

std::ostream& operator<<(std::ostream& os, const PrivateCase& c) { return os << c.name; }

std::vector<PrivateCase> private_cases() {
  return {
      {"rfc1918_10_host", "10.1.2.3/32", "10.0.0.0/8"},
      {"rfc1918_10_whole", "10.0.0.0/8", "10.0.0.0/8"},
      {"rfc1918_172_16", "172.16.0.0/24", "172.16.0.0/12"},
      {"rfc1918_172_31", "172.31.255.255/32", "172.16.0.0/12"},
      {"rfc1918_192_168", "192.168.1.0/24", "192.168.0.0/16"},
      {"cgnat", "100.64.0.1/32", "100.64.0.0/10"},
      {"cgnat_top", "100.127.255.0/24", "100.64.0.0/10"},
      {"ula_fd", "fd12:3456:789a::/48", "fc00::/7"},
      {"ula_fc", "fc00::1/128", "fc00::/7"},
      {"site_local", "fec0::/64", "fec0::/10"},
      {"contains_10", "8.0.0.0/6", "10.0.0.0/8"},
      {"contains_172_16", "172.0.0.0/8", "172.16.0.0/12"},
      {"contains_192_168", "192.168.0.0/15", "192.168.0.0/16"},
      {"contains_ula", "f000::/4", "fc00::/7"},
      {"public_v4", "203.0.113.0/24", std::nullopt},
      {"just_below_172_16", "172.15.255.255/32", std::nullopt},
      {"just_above_172_31", "172.32.0.0/16", std::nullopt},
      {"just_below_cgnat", "100.63.255.255/32", std::nullopt},
      {"just_above_cgnat", "100.128.0.0/16", std::nullopt},
      {"eleven", "11.0.0.0/8", std::nullopt},
      {"192_169", "192.169.0.0/16", std::nullopt},
      {"public_v6", "2001:db8::/48", std::nullopt},
      {"below_ula", "fbff::/16", std::nullopt},
      {"unreadable_fails_closed", "not a cidr", "not a cidr"},
  };
}

class PrivateRangeTest : public testing::TestWithParam<PrivateCase> {};

TEST_P(PrivateRangeTest, NamesTheRange) {
  const PrivateCase& c = GetParam();
  const std::size_t slash = c.cidr.find('/');
  const int prefix = slash == std::string::npos ? 0 : std::stoi(c.cidr.substr(slash + 1));
  const Cidr cidr{c.cidr, prefix, c.cidr.find(':') != std::string::npos};
  EXPECT_EQ(private_range_of(cidr), c.range);
}

INSTANTIATE_TEST_SUITE_P(Ranges, PrivateRangeTest, testing::ValuesIn(private_cases()),
                         case_name<PrivateCase>);

// ---------------------------------------------------------------------------
// Property: over many random prefixes, drawn so that the neighbourhoods of the
// special ranges come up often, `whitelist add` accepts exactly the ranges
// that overlap no forbidden range (and pass the prefix rules), and
// private_range_of flags exactly those that overlap a private range.

class PrefixDraw {
 public:
  explicit PrefixDraw(std::uint64_t seed) : rng_(seed) {}

  spec::Prefix next(bool ipv6) {
    const int max = ipv6 ? 128 : 32;
    spec::Prefix out;
    out.ipv6 = ipv6;
    const int kind = uniform(0, 99);
    spec::Bits value{random64(), random64()};
    int prefix = uniform(1, max);
    if (kind < 70) {
      // Near a special range: its leading bits, sometimes with one of its last
      // few bits flipped (just outside it), at a prefix around its own.
      const spec::Prefix base = special(ipv6);
      spec::Bits bits = base.value;
      const spec::Bits rest = value;
      const spec::Bits mask = spec::prefix_mask(base.prefix);
      bits.hi |= rest.hi & ~mask.hi;
      bits.lo |= rest.lo & ~mask.lo;
      if (kind < 25 && base.prefix > 0) {
        spec::flip_bit(bits, uniform(std::max(0, base.prefix - 4), base.prefix - 1));
      }
      value = bits;
      prefix = std::clamp(base.prefix + uniform(-8, 12), 1, max);
      if (kind >= 60) prefix = uniform(1, max);  // any prefix over the neighbourhood
    }
    if (!ipv6) {
      value.hi &= 0xFFFFFFFF00000000ULL;
      value.lo = 0;
    }
    out.prefix = prefix;
    out.value = spec::masked(value, prefix);
    return out;
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::uint64_t random64() { return rng_(); }

  spec::Prefix special(bool ipv6) {
    std::vector<spec::Prefix> pool;
    for (const auto& r : spec::forbidden()) {
      if (r.ipv6 == ipv6) pool.push_back(r);
    }
    for (const auto& r : spec::private_ranges()) {
      if (r.ipv6 == ipv6) pool.push_back(r);
    }
    return pool[static_cast<std::size_t>(uniform(0, static_cast<int>(pool.size()) - 1))];
  }

  std::mt19937_64 rng_;
};

struct Tally {
  int accepted = 0;
  int refused_forbidden = 0;
  int refused_prefix = 0;
  int private_ranges = 0;
  int failures = 0;
};

void check_draws(bool ipv6, const ParserSettings& settings, int draws, std::uint64_t seed,
                 Tally& tally) {
  PrefixDraw draw(seed);
  const int min_prefix = ipv6 ? settings.min_prefix_v6 : settings.min_prefix_v4;
  for (int i = 0; i < draws && tally.failures < 20; ++i) {
    const spec::Prefix p = draw.next(ipv6);
    const std::string text = spec::text_of(p);
    const bool forbidden = spec::overlaps_any(p, spec::forbidden());
    const bool should_accept = !forbidden && p.prefix >= min_prefix;
    const auto parsed = parse_command("whitelist add " + text, settings);
    if (parsed.has_value() != should_accept) {
      ++tally.failures;
      ADD_FAILURE() << text << (parsed.has_value() ? " accepted" : " refused: ")
                    << (parsed.has_value() ? std::string() : parsed.error().user_message)
                    << "; the spec says " << (should_accept ? "accept" : "refuse")
                    << (forbidden ? " (overlaps a forbidden range)" : "");
      continue;
    }
    if (!parsed.has_value()) {
      ++(forbidden ? tally.refused_forbidden : tally.refused_prefix);
      continue;
    }
    ++tally.accepted;
    const Cidr& cidr = std::get<WhitelistAdd>(*parsed).cidr;
    const bool is_private = spec::overlaps_any(p, spec::private_ranges());
    if (private_range_of(cidr).has_value() != is_private) {
      ++tally.failures;
      ADD_FAILURE() << text << " (" << cidr.text << "): private_range_of says "
                    << private_range_of(cidr).value_or("none") << ", the spec says "
                    << (is_private ? "private" : "not private");
    }
    if (is_private) ++tally.private_ranges;
  }
}

TEST(WhitelistRangeProperty, Ipv4NoAcceptedRangeOverlapsAForbiddenOne) {
  Tally permissive_tally;
  check_draws(false, permissive(), 200'000, 15, permissive_tally);
  Tally default_tally;
  check_draws(false, ParserSettings{}, 50'000, 1515, default_tally);
  EXPECT_EQ(permissive_tally.failures + default_tally.failures, 0);
  // The draw reaches every outcome often (about twice these counts with this seed).
  EXPECT_GT(permissive_tally.accepted, 60'000);
  EXPECT_GT(permissive_tally.refused_forbidden, 40'000);
  EXPECT_GT(permissive_tally.private_ranges, 20'000);
  EXPECT_GT(default_tally.refused_prefix, 7'000);
  EXPECT_GT(default_tally.accepted, 7'000);
}

TEST(WhitelistRangeProperty, Ipv6NoAcceptedRangeOverlapsAForbiddenOne) {
  Tally permissive_tally;
  check_draws(true, permissive(), 200'000, 150, permissive_tally);
  Tally default_tally;
  check_draws(true, ParserSettings{}, 50'000, 15150, default_tally);
  EXPECT_EQ(permissive_tally.failures + default_tally.failures, 0);
  EXPECT_GT(permissive_tally.accepted, 45'000);
  EXPECT_GT(permissive_tally.refused_forbidden, 50'000);
  EXPECT_GT(permissive_tally.private_ranges, 6'000);
  EXPECT_GT(default_tally.refused_prefix, 5'000);
  EXPECT_GT(default_tally.accepted, 6'000);
}

// The spec itself is what the issue names (so a typo in it cannot make the
// property vacuous).
TEST(WhitelistRangeProperty, SpecHoldsTheIssuesExamples) {
  const auto forbidden = [](const spec::Prefix& p) {
    return spec::overlaps_any(p, spec::forbidden());
  };
  EXPECT_TRUE(forbidden(spec::v4(0xA9FEA9FE, 32)));              // 169.254.169.254
  EXPECT_TRUE(forbidden(spec::v4(0x7F000001, 32)));              // 127.0.0.1
  EXPECT_TRUE(forbidden(spec::v6(0, 1, 128)));                   // ::1
  EXPECT_TRUE(forbidden(spec::v6(0xFE80000000000000, 0, 64)));   // fe80::/64
  EXPECT_TRUE(forbidden(spec::v6(0x0064FF9B00000000, 0, 96)));   // 64:ff9b::/96
  EXPECT_TRUE(forbidden(spec::v6(0, 0x0000FFFE00000000, 95)));   // ::fffe:0:0/95
  EXPECT_TRUE(forbidden(spec::v4(0x80000000, 1)));               // 128.0.0.0/1
  EXPECT_FALSE(forbidden(spec::v4(0xCB007100, 24)));             // 203.0.113.0/24
  EXPECT_FALSE(forbidden(spec::v6(0x20010DB800000000, 0, 48)));  // 2001:db8::/48
  EXPECT_EQ(spec::text_of(spec::v6(0x0064FF9B00000000, 0, 96)), "64:ff9b:0:0:0:0:0:0/96");
  EXPECT_EQ(spec::text_of(spec::v4(0xA9FEA9FE, 32)), "169.254.169.254/32");
}

}  // namespace
}  // namespace infra
