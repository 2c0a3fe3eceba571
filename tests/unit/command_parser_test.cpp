#include "infra/command_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/config.hpp"
#include "infra/command.hpp"

namespace infra {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const ParserSettings kSettings{};  // dev, staging, prod; default dev; /16 and /48

constexpr const char* kAddUsage =
    "/infra whitelist add <ip|cidr> [--ttl=<dur>] [--description='<text>'] [--env=<env>]";
constexpr const char* kRemoveUsage = "/infra whitelist remove <ip|cidr> [--env=<env>]";
constexpr const char* kTtlForms =
    "Use minutes (1m to 1440m), hours (1h to 24h) or days (1d to 365d), for example "
    "`--ttl=7d`.";
constexpr const char* kNotAddress =
    "is not an IP address or CIDR. Examples: `203.0.113.7`, `203.0.113.0/24`, "
    "`2001:db8::/48`.";
constexpr const char* kCommandList =
    "Commands: status, stop, start, reboot, teardown, spinup, whitelist, help.";

Cidr v4(std::string text) {
  const int prefix = std::stoi(text.substr(text.find('/') + 1));
  return Cidr{std::move(text), prefix, false};
}
Cidr v6(std::string text) {
  const int prefix = std::stoi(text.substr(text.find('/') + 1));
  return Cidr{std::move(text), prefix, true};
}

WhitelistAdd add(Cidr cidr, seconds ttl = days(30), std::optional<std::string> description = {},
                 std::string env = "dev") {
  return WhitelistAdd{std::move(cidr), ttl, std::move(description), std::move(env)};
}

// Names each parameterised case after its row, so `ctest -R <name>` finds it.
template <class Case>
std::string case_name(const testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

std::string show(const Command& command) {
  std::string out = describe(command);
  if (const auto* a = std::get_if<WhitelistAdd>(&command)) {
    out += " ttl=" + std::to_string(a->ttl.count()) + "s";
    out += " description=" + (a->description ? "'" + *a->description + "'" : "(none)");
  }
  return out;
}

// ---------------------------------------------------------------------------
// parse_command: one row per behaviour; the expectation is the exact Command or
// the exact user message.

struct ParseCase {
  std::string name;
  std::string input;
  std::variant<Command, std::string> expected;
};

std::ostream& operator<<(std::ostream& os, const ParseCase& c) {
  return os << c.name << " <" << c.input << ">";
}

std::vector<ParseCase> parse_cases() {
  using namespace std::string_literals;
  return {
      // Help and empty input
      {"empty", "", Help{}},
      {"only_spaces", "   \t ", Help{}},
      {"only_nbsp", "\xC2\xA0\xC2\xA0", Help{}},
      {"help", "help", Help{}},
      {"help_with_words", "help me please", Help{}},
      {"help_upper", "HELP", Help{}},
      {"help_ignores_broken_quote", "help 'unterminated", Help{}},
      {"help_ignores_flags", "help --ttl=99x", Help{}},
      {"leading_infra_only", "/infra", Help{}},
      {"leading_infra_help", "/infra help", Help{}},

      // Simple commands and env defaults
      {"status_default_env", "status", Status{"dev"}},
      {"status_env", "status staging", Status{"staging"}},
      {"stop_default_env", "stop", Stop{"dev"}},
      {"stop_env", "stop prod", Stop{"prod"}},
      {"start_default_env", "start", Start{"dev"}},
      {"start_env", "start staging", Start{"staging"}},
      {"spinup_default_env", "spinup", Spinup{"dev"}},
      {"spinup_env", "spinup prod", Spinup{"prod"}},
      {"reboot_default_env", "reboot", Reboot{"dev", std::nullopt}},
      {"reboot_env", "reboot staging", Reboot{"staging", std::nullopt}},
      {"reboot_named", "reboot dev --name=bastion-dev", Reboot{"dev", "bastion-dev"}},
      {"reboot_named_quoted", "reboot --env=prod --name='web server 1'",
       Reboot{"prod", "web server 1"}},
      {"reboot_upper_case", "REBOOT Dev", Reboot{"dev", std::nullopt}},
      {"leading_infra_token", "/infra stop dev", Stop{"dev"}},
      {"leading_infra_upper", "/INFRA status", Status{"dev"}},
      {"upper_case_command_and_env", "STOP STAGING", Stop{"staging"}},
      {"mixed_case_env", "Start Prod", Start{"prod"}},
      {"surrounding_whitespace", "  \t status   dev \n", Status{"dev"}},
      {"nbsp_separates", "stop\xC2\xA0staging", Stop{"staging"}},
      {"zero_width_space_after_env", "status dev\xE2\x80\x8B", Status{"dev"}},
      {"thin_space_separates", "stop\xE2\x80\x89staging", Stop{"staging"}},
      {"narrow_nbsp_separates", "stop\xE2\x80\xAFstaging", Stop{"staging"}},
      {"ideographic_space_separates", "status\xE3\x80\x80prod", Status{"prod"}},
      {"bom_before_command", "\xEF\xBB\xBFstatus", Status{"dev"}},
      {"env_flag", "stop --env=staging", Stop{"staging"}},
      {"env_flag_upper", "STOP --ENV=PROD", Stop{"prod"}},
      {"env_flag_and_same_positional", "stop dev --env=DEV", Stop{"dev"}},
      {"quoted_env", "status 'staging'", Status{"staging"}},

      // Teardown
      {"teardown_default", "teardown", Teardown{"dev", TeardownLevel::services}},
      {"teardown_env", "teardown staging", Teardown{"staging", TeardownLevel::services}},
      {"teardown_full", "teardown prod --level=full", Teardown{"prod", TeardownLevel::full}},
      {"teardown_services_explicit", "teardown --level=services",
       Teardown{"dev", TeardownLevel::services}},
      {"teardown_level_upper", "teardown dev --LEVEL=FULL", Teardown{"dev", TeardownLevel::full}},
      {"teardown_flag_before_env", "teardown --level=full staging",
       Teardown{"staging", TeardownLevel::full}},
      {"teardown_em_dash_level", "teardown dev \xE2\x80\x94level=full",
       Teardown{"dev", TeardownLevel::full}},
      {"teardown_unknown_level", "teardown dev --level=x",
       "Unknown teardown level `x`. Use `--level=services` (the default) or `--level=full`."s},
      {"teardown_level_without_value", "teardown --level",
       "`--level` needs a value, like `--level=full`."s},

      // whitelist list / refresh
      {"whitelist_list_default", "whitelist list", WhitelistList{"dev"}},
      {"whitelist_list_env", "whitelist list prod", WhitelistList{"prod"}},
      {"whitelist_ls_alias", "whitelist ls staging", WhitelistList{"staging"}},
      {"whitelist_list_env_flag", "whitelist list --env=prod", WhitelistList{"prod"}},
      {"whitelist_refresh_default", "whitelist refresh", WhitelistRefresh{"dev"}},
      {"whitelist_refresh_env", "WHITELIST REFRESH STAGING", WhitelistRefresh{"staging"}},

      // whitelist add
      {"add_bare_ipv4", "whitelist add 203.0.113.7", add(v4("203.0.113.7/32"))},
      {"add_cidr_v4", "whitelist add 203.0.113.0/24", add(v4("203.0.113.0/24"))},
      {"add_ipv6_normalised", "whitelist add 2001:DB8:0:0::1", add(v6("2001:db8::1/128"))},
      {"add_ipv6_cidr", "whitelist add 2001:db8::/48", add(v6("2001:db8::/48"))},
      {"add_ttl_days", "whitelist add 203.0.113.7 --ttl=7d", add(v4("203.0.113.7/32"), days(7))},
      {"add_ttl_hours", "whitelist add 203.0.113.7 --ttl=12h",
       add(v4("203.0.113.7/32"), hours(12))},
      {"add_ttl_minutes_upper", "whitelist add 203.0.113.7 --TTL=90M",
       add(v4("203.0.113.7/32"), minutes(90))},
      {"add_env_flag", "whitelist add 203.0.113.7 --env=Staging",
       add(v4("203.0.113.7/32"), days(30), std::nullopt, "staging")},
      {"add_all_flags", "whitelist add 198.51.100.0/24 --ttl=1d --description='VPN' --env=prod",
       add(v4("198.51.100.0/24"), days(1), "VPN", "prod")},
      {"add_straight_single_quotes", "whitelist add 203.0.113.7 --description='Home office'",
       add(v4("203.0.113.7/32"), days(30), "Home office")},
      {"add_straight_double_quotes", "whitelist add 203.0.113.7 --description=\"Home office\"",
       add(v4("203.0.113.7/32"), days(30), "Home office")},
      {"add_curly_single_quotes",
       "whitelist add 203.0.113.7 --description=\xE2\x80\x98Home office\xE2\x80\x99",
       add(v4("203.0.113.7/32"), days(30), "Home office")},
      {"add_curly_double_quotes",
       "whitelist add 203.0.113.7 --description=\xE2\x80\x9CHome office\xE2\x80\x9D",
       add(v4("203.0.113.7/32"), days(30), "Home office")},
      {"add_mixed_double_family",
       "whitelist add 203.0.113.7 --description=\"Home office\xE2\x80\x9D",
       add(v4("203.0.113.7/32"), days(30), "Home office")},
      {"add_apostrophe_inside_quotes", "whitelist add 203.0.113.7 --description='Bob's laptop'",
       add(v4("203.0.113.7/32"), days(30), "Bob's laptop")},
      {"add_curly_apostrophe_inside_quotes",
       "whitelist add 203.0.113.7 --description=\xE2\x80\x98"
       "Bob\xE2\x80\x99s laptop\xE2\x80\x99",
       add(v4("203.0.113.7/32"), days(30), "Bob\xE2\x80\x99s laptop")},
      {"add_unquoted_single_word_description", "whitelist add 203.0.113.7 --description=VPN",
       add(v4("203.0.113.7/32"), days(30), "VPN")},
      {"add_amp_unescaped", "whitelist add 203.0.113.7 --description='R&amp;D lab'",
       add(v4("203.0.113.7/32"), days(30), "R&D lab")},
      {"add_lt_gt_unescaped", "whitelist add 203.0.113.7 --description='&lt;3 &gt; office'",
       add(v4("203.0.113.7/32"), days(30), "<3 > office")},
      {"add_unescape_single_pass", "whitelist add 203.0.113.7 --description='&amp;lt;b&quot;'",
       add(v4("203.0.113.7/32"), days(30), "&lt;b&quot;")},
      {"add_em_dash_flags",
       "whitelist add 203.0.113.7 \xE2\x80\x94ttl=7d \xE2\x80\x94"
       "description='Home'",
       add(v4("203.0.113.7/32"), days(7), "Home")},
      {"add_en_dash_flag",
       "whitelist add 203.0.113.7 \xE2\x80\x93"
       "env=prod",
       add(v4("203.0.113.7/32"), days(30), std::nullopt, "prod")},
      {"add_description_255_chars",
       "whitelist add 203.0.113.7 --description='" + std::string(255, 'x') + "'",
       add(v4("203.0.113.7/32"), days(30), std::string(255, 'x'))},
      {"add_description_255_code_points",
       "whitelist add 203.0.113.7 --description='" +
           [] {
             std::string s;
             for (int i = 0; i < 255; ++i) s += "\xC3\xA9";
             return s;
           }() +
           "'",
       add(v4("203.0.113.7/32"), days(30),
           [] {
             std::string s;
             for (int i = 0; i < 255; ++i) s += "\xC3\xA9";
             return s;
           }())},
      {"add_flags_before_ip", "whitelist add --ttl=2h 203.0.113.7",
       add(v4("203.0.113.7/32"), hours(2))},
      {"add_description_rtl_letters",
       "whitelist add 203.0.113.7 --description='\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D office'",
       add(v4("203.0.113.7/32"), days(30), "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D office")},
      {"add_description_emoji_zwj_sequence",
       "whitelist add 203.0.113.7 --description='\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB "
       "laptop'",
       add(v4("203.0.113.7/32"), days(30), "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB laptop")},
      {"add_description_zwnj",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\x8C"
       "b'",
       add(v4("203.0.113.7/32"), days(30),
           "a\xE2\x80\x8C"
           "b")},
      // Private ranges parse; the policy asks for an admin.
      {"add_private_range", "whitelist add 10.1.2.0/24", add(v4("10.1.2.0/24"))},

      // whitelist remove
      {"remove", "whitelist remove 203.0.113.7", WhitelistRemove{v4("203.0.113.7/32"), "dev"}},
      {"remove_rm_alias", "whitelist rm 203.0.113.0/24 --env=prod",
       WhitelistRemove{v4("203.0.113.0/24"), "prod"}},
      {"remove_delete_alias", "whitelist DELETE 2001:db8::1",
       WhitelistRemove{v6("2001:db8::1/128"), "dev"}},
      // An entry add would refuse can still be removed.
      {"remove_loopback", "whitelist remove 127.0.0.1", WhitelistRemove{v4("127.0.0.1/32"), "dev"}},
      {"remove_link_local_v6", "whitelist remove fe80::/64 --env=prod",
       WhitelistRemove{v6("fe80::/64"), "prod"}},

      // Environment errors
      {"unknown_env", "stop qa", "Unknown environment `qa`. Known: dev, staging, prod."s},
      {"unknown_env_upper", "stop QA", "Unknown environment `qa`. Known: dev, staging, prod."s},
      {"unknown_env_flag", "whitelist add 203.0.113.7 --env=qa",
       "Unknown environment `qa`. Known: dev, staging, prod."s},
      {"two_envs", "stop dev --env=staging",
       "Two environments given: `dev` and `staging`. Give one."s},
      {"env_without_value", "stop --env", "`--env` needs a value, like `--env=dev`."s},

      // Command errors
      {"unknown_command_suggest", "restart dev",
       "Unknown command `restart`. Did you mean `start`? "s + kCommandList},
      {"unknown_command_typo", "stauts",
       "Unknown command `stauts`. Did you mean `status`? "s + kCommandList},
      {"unknown_command_no_suggestion", "deploy", "Unknown command `deploy`. "s + kCommandList},
      {"flag_before_command", "--env=dev stop",
       "Start with a command, like `/infra status`, before `--env=dev`. "s + kCommandList},
      {"whitelist_missing_action", "whitelist",
       "Missing whitelist action. Use `add`, `remove`, `list` or `refresh`, like "
       "`/infra whitelist list`."s},
      {"whitelist_unknown_action", "whitelist show",
       "Unknown whitelist action `show`. Actions: add, remove, list, refresh."s},
      {"whitelist_unknown_action_suggest", "whitelist ad 1.2.3.4",
       "Unknown whitelist action `ad`. Did you mean `add`? Actions: add, remove, list, refresh."s},

      // Extra words
      {"extra_word_stop", "stop dev now",
       "Unexpected `now` in `stop dev now`. Usage: `/infra stop [env]`"s},
      {"unquoted_description_with_spaces", "whitelist add 1.2.3.4 --description=Quick test",
       "A description with spaces needs quotes: `--description='Quick test'`."s},
      {"single_dash_option", "whitelist add 1.2.3.4 -ttl=5m",
       "Options start with two dashes: `--ttl=5m`."s},
      {"extra_word_with_leading_infra", "/infra status dev prod",
       "Unexpected `prod` in `status dev prod`. Usage: `/infra status [env]`"s},
      {"extra_word_teardown", "teardown dev full",
       "Unexpected `full` in `teardown dev full`. Usage: `/infra teardown [env] "
       "[--level=services|full]`"s},
      {"extra_word_add_unquoted_description", "whitelist add 203.0.113.7 Home office",
       "Unexpected `Home` in `whitelist add 203.0.113.7 Home office`. Usage: `"s + kAddUsage + "`"},
      {"extra_word_list", "whitelist list dev staging",
       "Unexpected `staging` in `whitelist list dev staging`. Usage: `/infra whitelist list "
       "[env]`"s},

      // Flag errors
      {"unknown_flag", "stop dev --foo=1", "Unknown option `--foo`. Usage: `/infra stop [env]`"s},
      {"unknown_flag_on_add", "whitelist add 203.0.113.7 --force",
       "Unknown option `--force`. Usage: `"s + kAddUsage + "`"},
      {"ttl_on_stop", "stop dev --ttl=7d",
       "`--ttl` does not apply to `stop`. Usage: `/infra stop [env]`"s},
      {"level_on_spinup", "spinup --level=full",
       "`--level` does not apply to `spinup`. Usage: `/infra spinup [env]`"s},
      {"name_on_stop", "stop dev --name=bastion",
       "`--name` does not apply to `stop`. Usage: `/infra stop [env]`"s},
      {"name_without_value", "reboot dev --name",
       "`--name` needs a value, like `--name=bastion`."s},
      {"reboot_extra_word", "reboot dev bastion",
       "Unexpected `bastion` in `reboot dev bastion`. Usage: `/infra reboot [env] [--name=<Name "
       "tag>]`"s},
      {"description_on_remove", "whitelist remove 203.0.113.7 --description='x'",
       "`--description` does not apply to `whitelist remove`. Usage: `"s + kRemoveUsage + "`"},
      {"ttl_on_whitelist_list", "whitelist list --ttl=1d",
       "`--ttl` does not apply to `whitelist list`. Usage: `/infra whitelist list [env]`"s},
      {"repeated_flag", "whitelist add 203.0.113.7 --ttl=7d --ttl=1d",
       "`--ttl` is given twice. Give it once."s},
      {"repeated_flag_mixed_case", "stop --env=dev --ENV=dev",
       "`--env` is given twice. Give it once."s},
      {"ttl_without_value", "whitelist add 203.0.113.7 --ttl",
       "`--ttl` needs a value, like `--ttl=7d`."s},
      {"ttl_with_empty_value",
       "whitelist add 203.0.113.7 --ttl=", "`--ttl` needs a value, like `--ttl=7d`."s},
      {"description_without_value", "whitelist add 203.0.113.7 --description",
       "`--description` needs a value, like `--description='Home office'`."s},

      // Missing IP
      {"add_missing_ip", "whitelist add", "Missing IP address. Usage: `"s + kAddUsage + "`"},
      {"add_missing_ip_with_flags", "whitelist add --ttl=7d",
       "Missing IP address. Usage: `"s + kAddUsage + "`"},
      {"remove_missing_ip", "whitelist remove",
       "Missing IP address. Usage: `"s + kRemoveUsage + "`"},

      // TTL errors through the command
      {"ttl_0m", "whitelist add 203.0.113.7 --ttl=0m", "TTL `0m` is out of range. "s + kTtlForms},
      {"ttl_1441m", "whitelist add 203.0.113.7 --ttl=1441m",
       "TTL `1441m` is out of range. "s + kTtlForms},
      {"ttl_25h", "whitelist add 203.0.113.7 --ttl=25h",
       "TTL `25h` is out of range. "s + kTtlForms},
      {"ttl_366d", "whitelist add 203.0.113.7 --ttl=366d",
       "TTL `366d` is out of range. "s + kTtlForms},
      {"ttl_5x", "whitelist add 203.0.113.7 --ttl=5x", "Invalid TTL `5x`. "s + kTtlForms},

      // Description errors
      {"description_empty", "whitelist add 203.0.113.7 --description=''",
       "The description is empty. Give some text, like `--description='Home office'`, or leave "
       "out `--description`."s},
      {"description_too_long",
       "whitelist add 203.0.113.7 --description='" + std::string(256, 'x') + "'",
       "The description is 256 characters long; the limit is 255. Shorten it."s},
      {"description_control_character", "whitelist add 203.0.113.7 --description='a\tb'",
       "The description contains a control character (such as a tab or line break). Use plain "
       "text on one line."s},
      {"description_del_character", "whitelist add 203.0.113.7 --description=a\x7F",
       "The description contains a control character (such as a tab or line break). Use plain "
       "text on one line."s},
      {"description_invalid_utf8", "whitelist add 203.0.113.7 --description='a\xFF'",
       "The description is not valid UTF-8 text. Retype it as plain text."s},
      // Issue 15: `whitelist list` must show what was typed, so nothing that
      // reorders, hides or breaks the line.
      {"description_next_line_c1",
       "whitelist add 203.0.113.7 --description='a\xC2\x85"
       "b'",
       "The description contains a control character (such as a tab or line break). Use plain "
       "text on one line."s},
      {"description_c1_csi",
       "whitelist add 203.0.113.7 --description='a\xC2\x9B"
       "b'",
       "The description contains a control character (such as a tab or line break). Use plain "
       "text on one line."s},
      {"description_line_separator",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\xA8"
       "b'",
       "The description contains a line or paragraph separator (U+2028). Use plain text on one "
       "line."s},
      {"description_paragraph_separator",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\xA9"
       "b'",
       "The description contains a line or paragraph separator (U+2029). Use plain text on one "
       "line."s},
      {"description_rtl_override",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\xAE"
       "b'",
       "The description contains an invisible text-direction control (U+202E), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_ltr_embedding",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\xAA"
       "b'",
       "The description contains an invisible text-direction control (U+202A), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_rtl_isolate",
       "whitelist add 203.0.113.7 --description='a\xE2\x81\xA7"
       "b'",
       "The description contains an invisible text-direction control (U+2067), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_pop_isolate",
       "whitelist add 203.0.113.7 --description='a\xE2\x81\xA9"
       "b'",
       "The description contains an invisible text-direction control (U+2069), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_rtl_mark",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\x8F"
       "b'",
       "The description contains an invisible text-direction control (U+200F), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_arabic_letter_mark",
       "whitelist add 203.0.113.7 --description='a\xD8\x9C"
       "b'",
       "The description contains an invisible text-direction control (U+061C), which can make "
       "it read differently from what was typed. Use plain text."s},
      {"description_zero_width_space",
       "whitelist add 203.0.113.7 --description='a\xE2\x80\x8B"
       "b'",
       "The description contains an invisible character (U+200B). Use plain, visible text."s},
      {"description_bom",
       "whitelist add 203.0.113.7 --description='a\xEF\xBB\xBF"
       "b'",
       "The description contains an invisible character (U+FEFF). Use plain, visible text."s},
      {"description_word_joiner",
       "whitelist add 203.0.113.7 --description='a\xE2\x81\xA0"
       "b'",
       "The description contains an invisible character (U+2060). Use plain, visible text."s},
      {"description_soft_hyphen",
       "whitelist add 203.0.113.7 --description='a\xC2\xAD"
       "b'",
       "The description contains an invisible character (U+00AD). Use plain, visible text."s},
      {"description_tag_character",
       "whitelist add 203.0.113.7 --description='a\xF3\xA0\x81\x81"
       "b'",
       "The description contains an invisible character (U+E0041). Use plain, visible text."s},
      {"description_hangul_filler",
       "whitelist add 203.0.113.7 --description='a\xE3\x85\xA4"
       "b'",
       "The description contains an invisible character (U+3164). Use plain, visible text."s},
      // Echoed input never carries a direction control either.
      {"unknown_command_bidi_shown_safely", "st\xE2\x80\xAEop",
       "Unknown command `st\xEF\xBF\xBDop`. "s + kCommandList},
      // Forbidden ranges through the command (whitelist_ranges_test has them all).
      {"add_metadata_address", "whitelist add 169.254.169.254 --env=prod",
       "`169.254.169.254` is in the link-local range `169.254.0.0/16`: these addresses reach "
       "only the local network segment, and 169.254.169.254 is the cloud metadata service. It "
       "cannot be whitelisted; whitelist the public address you connect from."s},
      {"add_loopback_v6", "whitelist add ::1",
       "`::1` is in the loopback range `::1/128`: this address always means the server itself, "
       "never a visitor. It cannot be whitelisted; whitelist the public address you connect "
       "from."s},
      {"unterminated_quote", "whitelist add 203.0.113.7 --description='Home office",
       "Unterminated quote in `--description='Home office`. Close it with a matching quote, "
       "like `--description='Home office'`."s},
      {"unterminated_curly_quote",
       "whitelist add 203.0.113.7 --description=\xE2\x80\x9CHome office",
       "Unterminated quote in `--description=\xE2\x80\x9CHome office`. Close it with a matching "
       "quote, like `--description='Home office'`."s},
      {"unterminated_wrong_family", "whitelist add 203.0.113.7 --description='Home office\"",
       "Unterminated quote in `--description='Home office\"`. Close it with a matching quote, "
       "like `--description='Home office'`."s},

      // Address errors through the command
      {"not_an_address", "whitelist add foo", "`foo` "s + kNotAddress},
      {"host_bits_set", "whitelist add 10.0.0.5/24",
       "`10.0.0.5/24` has host bits set. Did you mean `10.0.0.0/24`, or `10.0.0.5` for one "
       "address?"s},
      {"whole_internet_v4", "whitelist add 0.0.0.0/0",
       "`0.0.0.0/0` would open the environment to the whole internet and is never allowed. "
       "Whitelist your own address instead."s},
      {"whole_internet_v6", "whitelist add ::/0",
       "`::/0` would open the environment to the whole internet and is never allowed. "
       "Whitelist your own address instead."s},
      {"too_broad_v4", "whitelist add 10.0.0.0/8",
       "`10.0.0.0/8` is too broad: the widest range allowed is /16 for IPv4. Use a narrower "
       "range."s},
      {"too_broad_v6", "whitelist remove 2001:db8::/32",
       "`2001:db8::/32` is too broad: the widest range allowed is /48 for IPv6. Use a narrower "
       "range."s},
      {"input_too_long", "stop " + std::string(9000, ' ') + "dev",
       "That command is too long (9008 bytes). Commands are short, like `/infra whitelist add "
       "203.0.113.7 --ttl=7d`."s},
  };
}

class ParseCommandTest : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseCommandTest, GivesExactResult) {
  const ParseCase& c = GetParam();
  const core::Result<Command> parsed = parse_command(c.input, kSettings);
  if (const auto* expected = std::get_if<Command>(&c.expected)) {
    ASSERT_TRUE(parsed.has_value()) << "refused: " << parsed.error().user_message;
    EXPECT_TRUE(*parsed == *expected)
        << "got      " << show(*parsed) << "\nexpected " << show(*expected);
  } else {
    ASSERT_FALSE(parsed.has_value()) << "accepted as: " << show(*parsed);
    EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
    EXPECT_EQ(parsed.error().user_message, std::get<std::string>(c.expected));
    EXPECT_FALSE(parsed.error().detail.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Grammar, ParseCommandTest, testing::ValuesIn(parse_cases()),
                         case_name<ParseCase>);

TEST(ParseCommandCases, AtLeastEightyAndUniqueNames) {
  const auto cases = parse_cases();
  EXPECT_GE(cases.size(), 80u);
  std::vector<std::string> names;
  for (const auto& c : cases) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

// ---------------------------------------------------------------------------
// parse_ttl

struct TtlCase {
  std::string name;
  std::string input;
  std::variant<seconds, std::string> expected;
};

std::ostream& operator<<(std::ostream& os, const TtlCase& c) { return os << c.name; }

std::vector<TtlCase> ttl_cases() {
  using namespace std::string_literals;
  const auto out_of_range = [](const std::string& t) {
    return "TTL `" + t + "` is out of range. " + kTtlForms;
  };
  const auto bad = [](const std::string& t) { return "Invalid TTL `" + t + "`. " + kTtlForms; };
  return {
      {"m_1", "1m", seconds(60)},
      {"m_1440", "1440m", seconds(1440 * 60)},
      {"m_upper", "30M", seconds(30 * 60)},
      {"h_1", "1h", seconds(3600)},
      {"h_24", "24h", seconds(24 * 3600)},
      {"d_1", "1d", seconds(86400)},
      {"d_7", "7d", seconds(7 * 86400)},
      {"d_365", "365d", seconds(365 * 86400)},
      {"d_upper", "30D", seconds(30 * 86400)},
      {"leading_zero", "07d", seconds(7 * 86400)},
      {"m_0", "0m", out_of_range("0m")},
      {"m_1441", "1441m", out_of_range("1441m")},
      {"h_0", "0h", out_of_range("0h")},
      {"h_25", "25h", out_of_range("25h")},
      {"d_0", "0d", out_of_range("0d")},
      {"d_366", "366d", out_of_range("366d")},
      {"huge_number", "99999999999999999999999d", out_of_range("99999999999999999999999d")},
      {"unit_x", "5x", bad("5x")},
      {"no_unit", "7", bad("7")},
      {"no_digits", "d", bad("d")},
      {"word_unit", "7days", bad("7days")},
      {"negative", "-1d", bad("-1d")},
      {"plus", "+1d", bad("+1d")},
      {"fraction", "1.5h", bad("1.5h")},
      {"inner_space", "7 d", bad("7 d")},
      {"seconds_unit", "30s", bad("30s")},
      {"weeks_unit", "2w", bad("2w")},
      {"empty", "", bad("")},
  };
}

class ParseTtlTest : public testing::TestWithParam<TtlCase> {};

TEST_P(ParseTtlTest, GivesExactResult) {
  const TtlCase& c = GetParam();
  const auto parsed = parse_ttl(c.input);
  if (const auto* expected = std::get_if<seconds>(&c.expected)) {
    ASSERT_TRUE(parsed.has_value()) << parsed.error().user_message;
    EXPECT_EQ(parsed->count(), expected->count());
  } else {
    ASSERT_FALSE(parsed.has_value()) << parsed->count();
    EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
    EXPECT_EQ(parsed.error().user_message, std::get<std::string>(c.expected));
  }
}

INSTANTIATE_TEST_SUITE_P(Ttls, ParseTtlTest, testing::ValuesIn(ttl_cases()), case_name<TtlCase>);

// ---------------------------------------------------------------------------
// parse_cidr

struct CidrCase {
  std::string name;
  std::string input;
  std::variant<Cidr, std::string> expected;
};

std::ostream& operator<<(std::ostream& os, const CidrCase& c) { return os << c.name; }

std::vector<CidrCase> cidr_cases() {
  using namespace std::string_literals;
  const auto not_address = [](const std::string& t) { return "`" + t + "` " + kNotAddress; };
  const auto whole = [](const std::string& t) {
    return "`" + t +
           "` would open the environment to the whole internet and is never allowed. Whitelist "
           "your own address instead.";
  };
  return {
      {"v4_bare", "203.0.113.7", v4("203.0.113.7/32")},
      {"v4_32", "203.0.113.7/32", v4("203.0.113.7/32")},
      {"v4_24", "203.0.113.0/24", v4("203.0.113.0/24")},
      {"v4_16_min", "10.1.0.0/16", v4("10.1.0.0/16")},
      {"v4_prefix_leading_zero", "10.1.0.0/024", v4("10.1.0.0/24")},
      {"v4_31", "192.0.2.2/31", v4("192.0.2.2/31")},
      {"v6_bare", "2001:db8::1", v6("2001:db8::1/128")},
      {"v6_upper_expanded", "2001:DB8:0:0::1", v6("2001:db8::1/128")},
      {"v6_full_form", "2001:0db8:0000:0000:0000:0000:0000:0001/128", v6("2001:db8::1/128")},
      {"v6_48_min", "2001:db8:abcd::/48", v6("2001:db8:abcd::/48")},
      {"v6_64", "2001:DB8:1:2::/64", v6("2001:db8:1:2::/64")},
      {"v6_loopback", "::1", v6("::1/128")},
      {"garbage", "foo", not_address("foo")},
      {"empty", "", not_address("")},
      {"v4_too_many_octets", "1.2.3.4.5", not_address("1.2.3.4.5")},
      {"v4_octet_too_big", "256.1.1.1", not_address("256.1.1.1")},
      {"v4_short_form", "10.1", not_address("10.1")},
      {"v4_prefix_33", "1.2.3.4/33", not_address("1.2.3.4/33")},
      {"v6_prefix_129", "2001:db8::/129", not_address("2001:db8::/129")},
      {"prefix_empty", "1.2.3.4/", not_address("1.2.3.4/")},
      {"prefix_signed", "1.2.3.0/+24", not_address("1.2.3.0/+24")},
      {"prefix_hex", "1.2.3.0/0x18", not_address("1.2.3.0/0x18")},
      {"prefix_huge", "1.2.3.0/99999999999999999999", not_address("1.2.3.0/99999999999999999999")},
      {"two_slashes", "1.2.3.0/24/24", not_address("1.2.3.0/24/24")},
      {"hostname", "example.com", not_address("example.com")},
      {"embedded_nul", "1.2.3.4\0/32"s, not_address("1.2.3.4\xEF\xBF\xBD/32")},
      {"backtick_shown_safely", "1`2", not_address("1'2")},
      {"v4_zero_prefix", "0.0.0.0/0", whole("0.0.0.0/0")},
      {"v4_any_address_zero_prefix", "203.0.113.7/0", whole("203.0.113.7/0")},
      {"v6_zero_prefix", "::/0", whole("::/0")},
      {"v6_zero_prefix_upper", "2001:DB8::/0", whole("2001:DB8::/0")},
      {"v4_too_broad", "10.0.0.0/8",
       "`10.0.0.0/8` is too broad: the widest range allowed is /16 for IPv4. Use a narrower range."s},
      {"v4_too_broad_15", "10.0.0.0/15",
       "`10.0.0.0/15` is too broad: the widest range allowed is /16 for IPv4. Use a narrower "
       "range."s},
      {"v6_too_broad", "2001:db8::/32",
       "`2001:db8::/32` is too broad: the widest range allowed is /48 for IPv6. Use a narrower "
       "range."s},
      {"v4_host_bits", "10.0.0.5/24",
       "`10.0.0.5/24` has host bits set. Did you mean `10.0.0.0/24`, or `10.0.0.5` for one "
       "address?"s},
      {"v4_host_bits_odd_prefix", "192.0.2.3/31",
       "`192.0.2.3/31` has host bits set. Did you mean `192.0.2.2/31`, or `192.0.2.3` for one "
       "address?"s},
      {"v6_host_bits", "2001:DB8::1/64",
       "`2001:DB8::1/64` has host bits set. Did you mean `2001:db8::/64`, or `2001:db8::1` for "
       "one address?"s},
      {"v4_mapped", "::ffff:203.0.113.7",
       "`::ffff:203.0.113.7` is an IPv4 address written as IPv6. Use the IPv4 form "
       "`203.0.113.7` instead."s},
      {"v4_mapped_96", "::ffff:0:0/96",
       "`::ffff:0:0/96` is every IPv4 address written as IPv6 and is never allowed. Whitelist "
       "your own IPv4 address instead."s},
      {"v4_mapped_prefix", "::ffff:203.0.113.0/120",
       "`::ffff:203.0.113.0/120` is an IPv4 address written as IPv6. Use the IPv4 form "
       "`203.0.113.0/24` instead."s},
  };
}

class ParseCidrTest : public testing::TestWithParam<CidrCase> {};

TEST_P(ParseCidrTest, GivesExactResult) {
  const CidrCase& c = GetParam();
  const auto parsed = parse_cidr(c.input, kSettings);
  if (const auto* expected = std::get_if<Cidr>(&c.expected)) {
    ASSERT_TRUE(parsed.has_value()) << parsed.error().user_message;
    EXPECT_EQ(parsed->text, expected->text);
    EXPECT_EQ(parsed->prefix, expected->prefix);
    EXPECT_EQ(parsed->ipv6, expected->ipv6);
  } else {
    ASSERT_FALSE(parsed.has_value()) << parsed->text;
    EXPECT_EQ(parsed.error().code, core::ErrorCode::invalid_input);
    EXPECT_EQ(parsed.error().user_message, std::get<std::string>(c.expected));
  }
}

INSTANTIATE_TEST_SUITE_P(Cidrs, ParseCidrTest, testing::ValuesIn(cidr_cases()),
                         case_name<CidrCase>);

// ---------------------------------------------------------------------------
// Settings

TEST(ParserSettings, FromConfigCopiesGrammarFields) {
  core::Config config;
  config.environments = {"alpha", "beta"};
  config.default_environment = "beta";
  config.min_prefix_v4 = 20;
  config.min_prefix_v6 = 56;
  const ParserSettings settings = ParserSettings::from(config);
  EXPECT_EQ(settings.environments, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(settings.default_environment, "beta");
  EXPECT_EQ(settings.min_prefix_v4, 20);
  EXPECT_EQ(settings.min_prefix_v6, 56);
}

TEST(ParserSettings, CustomEnvironmentsAndPrefixesApply) {
  ParserSettings settings;
  settings.environments = {"alpha", "beta"};
  settings.default_environment = "beta";
  settings.min_prefix_v4 = 24;
  settings.min_prefix_v6 = 64;

  auto status = parse_command("status", settings);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(*status == Command{Status{"beta"}});

  auto unknown = parse_command("stop dev", settings);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().user_message, "Unknown environment `dev`. Known: alpha, beta.");

  auto broad = parse_cidr("10.1.0.0/16", settings);
  ASSERT_FALSE(broad.has_value());
  EXPECT_EQ(broad.error().user_message,
            "`10.1.0.0/16` is too broad: the widest range allowed is /24 for IPv4. Use a narrower "
            "range.");
  EXPECT_FALSE(parse_cidr("2001:db8:1::/48", settings).has_value());
  EXPECT_TRUE(parse_cidr("2001:db8:1:2::/64", settings).has_value());
}

// ---------------------------------------------------------------------------
// Robustness: ~200k deterministic mutations of valid commands and random bytes.

const std::vector<std::string> kSeeds = {
    "",
    "help",
    "status",
    "stop staging",
    "/infra start prod",
    "teardown dev --level=full",
    "spinup --env=prod",
    "whitelist add 203.0.113.7 --ttl=7d --description='Bob's laptop' --env=staging",
    "whitelist add 2001:db8::/48 \xE2\x80\x94ttl=12h \xE2\x80\x94"
    "description=\xE2\x80\x9CR&amp;D\xE2\x80\x9D",
    "whitelist remove 10.0.0.0/24 --env=dev",
    "whitelist rm ::1",
    "whitelist list prod",
    "whitelist refresh",
    "whitelist add 198.51.100.0/24 --description=\xE2\x80\x98Home office\xE2\x80\x99",
};

const std::vector<std::string> kFragments = {
    "'",
    "\"",
    "\xE2\x80\x98",
    "\xE2\x80\x99",
    "\xE2\x80\x9C",
    "\xE2\x80\x9D",
    "=",
    "--",
    "\xE2\x80\x94",
    "\xE2\x80\x93",
    " ",
    "\xC2\xA0",
    "&amp;",
    "&lt;",
    "&gt;",
    "&",
    "/",
    ":",
    "::",
    "--ttl=",
    "--env=",
    "--description=",
    "--level=",
    "/0",
    "/129",
    std::string("\0", 1),
    "\xFF",
    "\xC2",
    "\xE2\x80",
    "9999999999999999999999",
    "whitelist",
    "add",
    "help",
};

std::string mutate(std::string s, std::mt19937& rng) {
  const auto pick = [&rng](std::size_t n) {
    return n == 0 ? std::size_t{0} : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  const std::size_t steps = 1 + pick(4);
  for (std::size_t step = 0; step < steps; ++step) {
    const std::size_t at = pick(s.size() + 1);
    switch (pick(7)) {
      case 0:  // insert a random byte
        s.insert(at, 1, static_cast<char>(pick(256)));
        break;
      case 1:  // overwrite a byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(pick(256));
        break;
      case 2:  // delete a run
        if (at < s.size()) s.erase(at, 1 + pick(4));
        break;
      case 3:  // insert a meaningful fragment (quotes, '=', '--', dashes, entities)
      case 4:
        s.insert(at, kFragments[pick(kFragments.size())]);
        break;
      case 5:  // splice another seed in
        s.insert(at, kSeeds[pick(kSeeds.size())]);
        break;
      case 6:  // truncate
        s.resize(at);
        break;
    }
  }
  return s;
}

// Cheap on success (200k calls): no gtest assertion machinery unless something is wrong.
testing::AssertionResult check_result(const std::string& input,
                                      const core::Result<Command>& parsed) {
  if (!parsed.has_value()) {
    if (parsed.error().user_message.empty()) {
      return testing::AssertionFailure() << "empty user message for input: " << input;
    }
    return testing::AssertionSuccess();
  }
  // Whatever is accepted names a known environment and survives a round trip
  // through its canonical text.
  const Command& command = *parsed;
  if (const auto env = environment_of(command)) {
    const auto& known = kSettings.environments;
    if (std::find(known.begin(), known.end(), *env) == known.end()) {
      return testing::AssertionFailure() << "unknown env '" << *env << "' from input: " << input;
    }
  }
  if (std::holds_alternative<Help>(command)) return testing::AssertionSuccess();
  const auto again = parse_command(describe(command), kSettings);
  if (!again.has_value()) {
    return testing::AssertionFailure()
           << "canonical text " << describe(command) << " refused: " << again.error().user_message
           << "\ninput: " << input;
  }
  bool same = *again == command;
  if (const auto* a = std::get_if<WhitelistAdd>(&command)) {
    const auto* b = std::get_if<WhitelistAdd>(&*again);
    same = b != nullptr && a->cidr == b->cidr && a->env == b->env;
  }
  if (!same) {
    return testing::AssertionFailure() << "round trip changed " << show(command) << " into "
                                       << show(*again) << "\ninput: " << input;
  }
  return testing::AssertionSuccess();
}

TEST(ParseCommandRobustness, SurvivesMutatedAndRandomInput) {
  std::mt19937 rng(20240611);  // fixed seed: the same inputs every run
  std::size_t accepted = 0;
  constexpr int kMutations = 190'000;
  for (int i = 0; i < kMutations; ++i) {
    const std::string input = mutate(kSeeds[static_cast<std::size_t>(i) % kSeeds.size()], rng);
    const auto parsed = parse_command(input, kSettings);
    ASSERT_TRUE(check_result(input, parsed));
    if (parsed.has_value()) ++accepted;
  }
  constexpr int kRandom = 10'000;
  for (int i = 0; i < kRandom; ++i) {
    std::string input(std::uniform_int_distribution<std::size_t>(0, 64)(rng), '\0');
    for (char& c : input) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    const auto parsed = parse_command(input, kSettings);
    ASSERT_TRUE(check_result(input, parsed));
  }
  // The mutations keep enough structure that some still parse.
  EXPECT_GT(accepted, 1000u);
}

TEST(ParseCommandRobustness, HugeAndPathologicalInputReturns) {
  const std::vector<std::string> inputs = {
      std::string(1 << 20, '\''),
      std::string(1 << 20, 'a'),
      std::string(8000, '\''),
      "whitelist add 1.2.3.4 --description='" + std::string(8000, '\'') + "x",
      [] {
        std::string s = "whitelist add 1.2.3.4 --description=";
        while (s.size() < 8000) s += "\xE2\x80\x98 ";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < 8000) s += "&amp;";
        return s;
      }(),
      "x" + std::string(7000, 'y') + " --env=" + std::string(1000, 'z'),
      std::string("stop\0dev", 8),
  };
  for (const std::string& input : inputs) {
    const auto parsed = parse_command(input, kSettings);
    if (!parsed.has_value()) {
      EXPECT_FALSE(parsed.error().user_message.empty());
      // Echoed input is cut short, so a message stays one short line.
      EXPECT_LT(parsed.error().user_message.size(), 600u);
    }
  }
}

}  // namespace
}  // namespace infra
