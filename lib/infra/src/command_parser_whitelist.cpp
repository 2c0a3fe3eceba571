// The whitelist grammar: addresses and CIDRs, TTLs and descriptions.
#include "command_parser_whitelist.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "command_parser_text.hpp"
#include "core/strings.hpp"
#include "infra/command_parser.hpp"

namespace infra {
namespace {

using core::ErrorCode;
using parser_detail::all_digits;
using parser_detail::code_point_name;
using parser_detail::hazard_of;
using parser_detail::invalid;
using parser_detail::is_digit;
using parser_detail::shown;
using parser_detail::TextHazard;

constexpr std::size_t kMaxDescriptionChars = 255;
// Longer than any IPv6 text form with a prefix ("ffff:…:255.255.255.255/128" is 50).
constexpr std::size_t kMaxCidrBytes = 64;

constexpr std::string_view kTtlForms =
    "Use minutes (1m to 1440m), hours (1h to 24h) or days (1d to 365d), for example "
    "`--ttl=7d`.";

std::optional<std::string> address_text(const unsigned char* bytes, bool ipv6) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, buffer.data(),
                static_cast<socklen_t>(buffer.size())) == nullptr) {
    return std::nullopt;
  }
  return std::string(buffer.data());
}

}  // namespace

namespace parser_detail {

core::Result<std::string> check_description(std::string text) {
  if (text.empty()) {
    return invalid(fmt::format("The description is empty. Give some text, like `{}`, or leave "
                               "out `--description`.",
                               kDescriptionExample),
                   "empty description");
  }
  for (std::size_t i = 0; i < text.size();) {
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0) {
      return invalid("The description is not valid UTF-8 text. Retype it as plain text.",
                     "description not UTF-8");
    }
    switch (hazard_of(code_point)) {
      case TextHazard::none:
        break;
      case TextHazard::control:
        return invalid(
            "The description contains a control character (such as a tab or line break). "
            "Use plain text on one line.",
            "control character in description");
      case TextHazard::line_separator:
        return invalid(fmt::format("The description contains a line or paragraph separator "
                                   "({}). Use plain text on one line.",
                                   code_point_name(code_point)),
                       "line separator in description");
      case TextHazard::bidi_control:
        return invalid(fmt::format("The description contains an invisible text-direction "
                                   "control ({}), which can make it read differently from what "
                                   "was typed. Use plain text.",
                                   code_point_name(code_point)),
                       "bidi control in description");
      case TextHazard::invisible:
        return invalid(fmt::format("The description contains an invisible character ({}). Use "
                                   "plain, visible text.",
                                   code_point_name(code_point)),
                       "invisible character in description");
    }
    i += length;
  }
  const std::size_t length = core::utf8_length(text);
  if (length > kMaxDescriptionChars) {
    return invalid(fmt::format("The description is {} characters long; the limit is {}. "
                               "Shorten it.",
                               length, kMaxDescriptionChars),
                   "description too long");
  }
  return text;
}

}  // namespace parser_detail

core::Result<Cidr> parse_cidr(std::string_view text, const ParserSettings& settings) {
  const std::string typed = shown(text);
  const auto not_address = [&typed] {
    return invalid(fmt::format("`{}` is not an IP address or CIDR. Examples: `203.0.113.7`, "
                               "`203.0.113.0/24`, `2001:db8::/48`.",
                               typed),
                   "not an address");
  };
  if (text.empty() || text.size() > kMaxCidrBytes) return not_address();

  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  // inet_pton reads a C string: an embedded NUL would hide the rest.
  if (address.find('\0') != std::string::npos) return not_address();
  const bool ipv6 = address.find(':') != std::string::npos;
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(ipv6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) {
    return not_address();
  }

  const int max_prefix = ipv6 ? 128 : 32;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (!all_digits(digits) || digits.size() > 3) return not_address();
    prefix = 0;
    for (const char c : digits) prefix = prefix * 10 + (c - '0');
    if (prefix > max_prefix) return not_address();
  }

  if (prefix == 0) {
    return invalid(fmt::format("`{}` would open the environment to the whole internet and is "
                               "never allowed. Whitelist your own address instead.",
                               typed),
                   "prefix 0");
  }

  // ::ffff:a.b.c.d is an IPv4 address in IPv6 clothing; the allow-lists hold IPv4 as IPv4.
  const bool v4_mapped =
      ipv6 && prefix >= 96 &&
      std::all_of(bytes.begin(), bytes.begin() + 10, [](unsigned char b) { return b == 0; }) &&
      bytes[10] == 0xFF && bytes[11] == 0xFF;
  if (v4_mapped) {
    // At /96 the IPv4 form would be 0.0.0.0/0: there is nothing to suggest.
    if (prefix == 96) {
      return invalid(fmt::format("`{}` is every IPv4 address written as IPv6 and is never "
                                 "allowed. Whitelist your own IPv4 address instead.",
                                 typed),
                     "IPv4-mapped IPv6 /96");
    }
    const std::string v4 = address_text(bytes.data() + 12, false).value_or("?");
    const std::string suggestion = prefix == 128 ? v4 : fmt::format("{}/{}", v4, prefix - 96);
    return invalid(fmt::format("`{}` is an IPv4 address written as IPv6. Use the IPv4 form `{}` "
                               "instead.",
                               typed, suggestion),
                   "IPv4-mapped IPv6");
  }

  const int min_prefix = ipv6 ? settings.min_prefix_v6 : settings.min_prefix_v4;
  if (prefix < min_prefix) {
    return invalid(fmt::format("`{}` is too broad: the widest range allowed is /{} for {}. Use a "
                               "narrower range.",
                               typed, min_prefix, ipv6 ? "IPv6" : "IPv4"),
                   "prefix too broad");
  }

  std::array<unsigned char, 16> network = bytes;
  const std::size_t length = ipv6 ? 16 : 4;
  for (std::size_t i = 0; i < length; ++i) {
    const int bits = prefix - static_cast<int>(8 * i);  // bits of this byte inside the prefix
    if (bits >= 8) continue;
    const auto mask = static_cast<unsigned char>(bits <= 0 ? 0 : 0xFF << (8 - bits));
    network[i] = static_cast<unsigned char>(network[i] & mask);
  }

  const std::optional<std::string> network_text = address_text(network.data(), ipv6);
  const std::optional<std::string> host_text = address_text(bytes.data(), ipv6);
  if (!network_text || !host_text) {
    return core::make_error(ErrorCode::internal, "Something went wrong reading that address.",
                            "command_parser: inet_ntop failed");
  }
  if (network != bytes) {
    return invalid(fmt::format("`{}` has host bits set. Did you mean `{}/{}`, or `{}` for one "
                               "address?",
                               typed, *network_text, prefix, *host_text),
                   "host bits set");
  }
  return Cidr{fmt::format("{}/{}", *network_text, prefix), prefix, ipv6};
}

core::Result<std::chrono::seconds> parse_ttl(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  const char unit = digits + 1 == text.size() ? core::to_lower(text.substr(digits))[0] : '\0';
  long long per_unit = 0;
  long long max = 0;
  if (unit == 'm') {
    per_unit = 60;
    max = 1440;
  } else if (unit == 'h') {
    per_unit = 3600;
    max = 24;
  } else if (unit == 'd') {
    per_unit = 86400;
    max = 365;
  }
  if (digits == 0 || per_unit == 0) {
    return invalid(fmt::format("Invalid TTL `{}`. {}", shown(text), kTtlForms), "invalid ttl");
  }
  // Saturate rather than overflow: anything past the cap is out of range anyway.
  constexpr long long kCap = 1'000'000;
  long long value = 0;
  for (std::size_t i = 0; i < digits; ++i) value = std::min(kCap, value * 10 + (text[i] - '0'));
  if (value < 1 || value > max) {
    return invalid(fmt::format("TTL `{}` is out of range. {}", shown(text), kTtlForms),
                   "ttl out of range");
  }
  return std::chrono::seconds{value * per_unit};
}

}  // namespace infra
