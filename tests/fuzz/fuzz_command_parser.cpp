// infra::parse_command with the default ParserSettings, on any bytes.
//
// Invariants:
//  - it never throws, and the same text always gives the same result;
//  - a rejection is invalid_input with a user message that is valid UTF-8,
//    free of control characters and short enough for one Slack section;
//  - an accepted command names a configured environment, and describe() of it
//    parses back to the same command (describe leaves out a whitelist add's
//    TTL and description, which then take their defaults);
//  - the full canonical form of a whitelist add (with --ttl and, when it has
//    no quote character, --description) parses back to the same command;
//  - a CIDR is canonical (parse_cidr of its text gives it back) and within the
//    configured prefix bounds; a whitelist add's CIDR overlaps no forbidden
//    range of tests/support/address_ranges_spec.hpp; a TTL is 1 minute to 365
//    days; a description is 1-255 characters of UTF-8 text without control
//    characters.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "address_ranges_spec.hpp"
#include "core/overloaded.hpp"
#include "fuzz_support.hpp"
#include "infra/command.hpp"
#include "infra/command_parser.hpp"

namespace {

using infra::Command;

const infra::ParserSettings& settings() {
  static const infra::ParserSettings kSettings;
  return kSettings;
}

core::Result<Command> parse(std::string_view text) {
  try {
    return infra::parse_command(text, settings());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "parse_command threw: {}", e.what());
  } catch (...) {
    FUZZ_CHECK(false, "parse_command threw a non-std exception");
  }
  std::abort();
}

std::string text_of(const core::Result<Command>& result) {
  if (!result) return fmt::format("error {:?}", result.error().user_message);
  return fmt::format("command {:?}", infra::describe(*result));
}

// Slack's escaping of command text (what parse_command undoes).
std::string slack_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

bool has_quote(std::string_view text) {
  return text.find_first_of("'\"") != std::string_view::npos ||
         text.find("\xE2\x80\x98") != std::string_view::npos ||
         text.find("\xE2\x80\x99") != std::string_view::npos ||
         text.find("\xE2\x80\x9C") != std::string_view::npos ||
         text.find("\xE2\x80\x9D") != std::string_view::npos;
}

// --ttl=… in the largest unit that expresses `ttl` exactly.
std::string ttl_text(std::chrono::seconds ttl) {
  const auto s = ttl.count();
  if (s % 86400 == 0 && s / 86400 <= 365) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0 && s / 3600 <= 24) return fmt::format("{}h", s / 3600);
  return fmt::format("{}m", s / 60);
}

void check_cidr(const infra::Cidr& cidr, std::string_view input) {
  const int max = cidr.ipv6 ? 128 : 32;
  const int min = cidr.ipv6 ? settings().min_prefix_v6 : settings().min_prefix_v4;
  FUZZ_CHECK(cidr.prefix >= min && cidr.prefix <= max, "prefix /{} out of bounds for {:?}",
             cidr.prefix, input);
  FUZZ_CHECK(cidr.text.ends_with(fmt::format("/{}", cidr.prefix)), "cidr text {:?} vs prefix {}",
             cidr.text, cidr.prefix);
  auto again = infra::parse_cidr(cidr.text, settings());
  FUZZ_CHECK(again && *again == cidr, "canonical CIDR {:?} does not parse back to itself ({})",
             cidr.text, again ? again->text : again.error().user_message);
}

// The CIDR against tests/support/address_ranges_spec.hpp (its own overlap arithmetic).
bool overlaps_forbidden(const infra::Cidr& cidr) {
  namespace spec = test::address_spec;
  const std::string address = cidr.text.substr(0, cidr.text.find('/'));
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(cidr.ipv6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) return true;
  spec::Bits bits;
  for (std::size_t i = 0; i < 16; ++i) {
    std::uint64_t& word = i < 8 ? bits.hi : bits.lo;
    word = (word << 8) | bytes[i];
  }
  const spec::Prefix prefix{cidr.ipv6, bits, cidr.prefix};
  return spec::overlaps_any(prefix, spec::forbidden());
}

void check_command(const Command& command, std::string_view input) {
  if (auto env = infra::environment_of(command)) {
    bool known = false;
    for (const auto& name : settings().environments) known = known || name == *env;
    FUZZ_CHECK(known, "environment {:?} is not configured (input {:?})", *env, input);
  }

  // describe() parses back to the same command.
  const std::string canonical = infra::describe(command);
  const auto reparsed = parse(canonical);
  Command expected = command;
  if (auto* add = std::get_if<infra::WhitelistAdd>(&expected)) {
    add->ttl = std::chrono::days(30);
    add->description.reset();
  }
  FUZZ_CHECK(reparsed && *reparsed == expected,
             "describe() gives {:?} which parses to {} (input {:?})", canonical, text_of(reparsed),
             input);
  FUZZ_CHECK(infra::describe(*reparsed) == canonical, "describe() is not a fixed point: {:?}",
             canonical);

  std::visit(
      core::Overloaded{
          [&](const infra::WhitelistAdd& add) {
            check_cidr(add.cidr, input);
            FUZZ_CHECK(!overlaps_forbidden(add.cidr),
                       "whitelist add accepted {:?}, which "
                       "overlaps a forbidden range (input {:?})",
                       add.cidr.text, input);
            FUZZ_CHECK(add.ttl >= std::chrono::minutes(1) && add.ttl <= std::chrono::days(365),
                       "ttl {} s out of range (input {:?})", add.ttl.count(), input);
            if (add.description) {
              const auto& d = *add.description;
              FUZZ_CHECK(!d.empty() && fuzz::valid_utf8(d) && !fuzz::has_control(d) &&
                             fuzz::code_points(d) <= 255,
                         "bad description {:?} accepted (input {:?})", d, input);
            }
            // The full form, with the TTL and description spelled out.
            std::string full = fmt::format("whitelist add {} --ttl={} --env={}", add.cidr.text,
                                           ttl_text(add.ttl), add.env);
            if (add.description && !has_quote(*add.description)) {
              full += fmt::format(" --description='{}'", slack_escape(*add.description));
            }
            auto round = parse(full);
            infra::WhitelistAdd want = add;
            if (add.description && has_quote(*add.description)) want.description.reset();
            FUZZ_CHECK(round && *round == Command{want}, "full form {:?} parses to {} (input {:?})",
                       full, text_of(round), input);
          },
          [&](const infra::WhitelistRemove& remove) { check_cidr(remove.cidr, input); },
          [](const auto&) {},
      },
      command);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto result = parse(input);

  const auto again = parse(input);
  FUZZ_CHECK(result.has_value() == again.has_value() &&
                 (result ? *result == *again : result.error() == again.error()),
             "not deterministic: {} then {}", text_of(result), text_of(again));

  if (!result) {
    const auto& error = result.error();
    FUZZ_CHECK(error.code == core::ErrorCode::invalid_input, "code {} for input {:?}",
               core::to_string(error.code), input);
    const auto& message = error.user_message;
    FUZZ_CHECK(!message.empty(), "empty user message for input {:?}", input);
    FUZZ_CHECK(fuzz::valid_utf8(message), "user message {:?} is not UTF-8 (input {:?})", message,
               input);
    FUZZ_CHECK(!fuzz::has_control(message), "user message {:?} has a control character", message);
    // It is shown as ":warning: <message>" in one section block.
    FUZZ_CHECK(fuzz::code_points(message) <= 2000, "user message of {} characters for input {:?}",
               fuzz::code_points(message), input);
    return 0;
  }
  check_command(*result, input);
  return 0;
}
