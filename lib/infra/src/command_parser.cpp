// The /infra command grammar (design §2): the command words, the options and
// which command takes which, the environment, and parse_command(), which puts them
// together. The pieces live beside it: command_parser_text (errors, echoed text,
// suggestions), command_parser_tokens (the tokenizer), command_parser_lifecycle and
// command_parser_whitelist (each family's own arguments).
#include "infra/command_parser.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "command_parser_lifecycle.hpp"
#include "command_parser_text.hpp"
#include "command_parser_tokens.hpp"
#include "command_parser_whitelist.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "infra/whitelist_ranges.hpp"

namespace infra {

using namespace parser_detail;

namespace {

using core::ErrorCode;

// Every valid command is well under 2 KiB even with a 255-character description
// written entirely as `&amp;`; anything this long is a paste accident, and refusing
// it early bounds the work done on hostile input.
constexpr std::size_t kMaxInputBytes = 8192;

constexpr std::string_view kCommandList =
    "status, stop, start, reboot, teardown, spinup, whitelist, help";

enum class Verb { status, stop, start, teardown, spinup, add, remove, list, refresh, reboot };

struct VerbSpec {
  std::string_view name;   ///< as shown in messages
  std::string_view usage;  ///< without the surrounding backticks
  bool takes_ip = false;
  bool positional_env = false;
};

VerbSpec spec_of(Verb verb) {
  switch (verb) {
    case Verb::status:
      return {"status", "/infra status [env]", false, true};
    case Verb::stop:
      return {"stop", "/infra stop [env]", false, true};
    case Verb::start:
      return {"start", "/infra start [env]", false, true};
    case Verb::teardown:
      return {"teardown", "/infra teardown [env] [--level=services|full]", false, true};
    case Verb::spinup:
      return {"spinup", "/infra spinup [env]", false, true};
    case Verb::reboot:
      return {"reboot", "/infra reboot [env] [--name=<Name tag>]", false, true};
    case Verb::add:
      return {"whitelist add",
              "/infra whitelist add <ip|cidr> [--ttl=<dur>] [--description='<text>'] "
              "[--env=<env>]",
              true, false};
    case Verb::remove:
      return {"whitelist remove", "/infra whitelist remove <ip|cidr> [--env=<env>]", true, false};
    case Verb::list:
      return {"whitelist list", "/infra whitelist list [env]", false, true};
    case Verb::refresh:
      return {"whitelist refresh", "/infra whitelist refresh [env]", false, true};
  }
  return {"help", "/infra help", false, false};
}

constexpr std::array<std::string_view, 8> kCommands{"status",   "stop",   "start",     "reboot",
                                                    "teardown", "spinup", "whitelist", "help"};
constexpr std::array<std::string_view, 4> kWhitelistActions{"add", "remove", "list", "refresh"};

std::optional<Verb> verb_of(std::string_view word) {
  if (word == "status") return Verb::status;
  if (word == "stop") return Verb::stop;
  if (word == "start") return Verb::start;
  if (word == "teardown") return Verb::teardown;
  if (word == "spinup") return Verb::spinup;
  if (word == "reboot") return Verb::reboot;
  return std::nullopt;
}

std::optional<Verb> whitelist_verb_of(std::string_view word) {
  if (word == "add") return Verb::add;
  if (word == "remove" || word == "rm" || word == "delete") return Verb::remove;
  if (word == "list" || word == "ls") return Verb::list;
  if (word == "refresh") return Verb::refresh;
  return std::nullopt;
}

enum FlagKind : std::size_t { kTtl, kDescription, kEnv, kLevel, kName, kFlagCount };

constexpr std::array<std::string_view, kFlagCount> kFlagNames{"ttl", "description", "env", "level",
                                                              "name"};

std::optional<FlagKind> flag_kind_of(std::string_view name) {
  for (std::size_t k = 0; k < kFlagCount; ++k) {
    if (kFlagNames[k] == name) return static_cast<FlagKind>(k);
  }
  return std::nullopt;
}

bool flag_applies(FlagKind kind, Verb verb) {
  switch (kind) {
    case kTtl:
    case kDescription:
      return verb == Verb::add;
    case kLevel:
      return verb == Verb::teardown;
    case kName:
      return verb == Verb::reboot;
    case kEnv:
    case kFlagCount:
      break;
  }
  return kind == kEnv;
}

std::string flag_example(FlagKind kind, const ParserSettings& settings) {
  switch (kind) {
    case kTtl:
      return "--ttl=7d";
    case kDescription:
      return std::string(kDescriptionExample);
    case kLevel:
      return "--level=full";
    case kName:
      return "--name=bastion";
    case kEnv:
    case kFlagCount:
      break;
  }
  const std::string env =
      settings.environments.empty() ? std::string("dev") : core::to_lower(settings.environments[0]);
  return fmt::format("--env={}", shown(env));
}

struct FlagValues {
  std::array<std::optional<std::string>, kFlagCount> values;
};

// Checks every flag token against the command and collects the values.
core::Result<FlagValues> read_flags(const std::vector<const Token*>& flags, Verb verb,
                                    const ParserSettings& settings) {
  const VerbSpec spec = spec_of(verb);
  FlagValues out;
  for (const Token* token : flags) {
    const std::string_view text = token->text;  // "--name" or "--name=value"
    const std::size_t equals = text.find('=');
    const std::string_view typed_name = text.substr(0, equals);
    const std::string name = core::to_lower(typed_name.substr(2));
    const std::optional<FlagKind> kind = flag_kind_of(name);
    if (!kind) {
      return invalid(fmt::format("Unknown option `{}`. Usage: `{}`", shown(typed_name), spec.usage),
                     "unknown option");
    }
    if (!flag_applies(*kind, verb)) {
      return invalid(
          fmt::format("`--{}` does not apply to `{}`. Usage: `{}`", name, spec.name, spec.usage),
          "option does not apply");
    }
    const bool has_value = equals != std::string_view::npos &&
                           (equals + 1 < text.size() || (token->quoted && *kind == kDescription));
    if (!has_value) {
      return invalid(
          fmt::format("`--{}` needs a value, like `{}`.", name, flag_example(*kind, settings)),
          "option without value");
    }
    if (out.values[*kind]) {
      return invalid(fmt::format("`--{}` is given twice. Give it once.", name), "repeated option");
    }
    out.values[*kind] = std::string(text.substr(equals + 1));
  }
  return out;
}

core::Result<std::string> resolve_env(const std::optional<std::string>& positional,
                                      const std::optional<std::string>& flag,
                                      const ParserSettings& settings) {
  std::optional<std::string> given;
  if (positional) given = core::to_lower(*positional);
  if (flag) {
    const std::string from_flag = core::to_lower(*flag);
    if (given && *given != from_flag) {
      return invalid(fmt::format("Two environments given: `{}` and `{}`. Give one.", shown(*given),
                                 shown(from_flag)),
                     "two environments");
    }
    given = from_flag;
  }
  // The default comes from validated configuration; only what the user typed is checked.
  if (!given) return core::to_lower(settings.default_environment);

  for (const std::string& env : settings.environments) {
    if (equals_lower(env, *given)) return *given;
  }
  std::vector<std::string> known;
  known.reserve(settings.environments.size());
  for (const std::string& env : settings.environments) known.push_back(core::to_lower(env));
  return invalid(fmt::format("Unknown environment `{}`. Known: {}.", shown(*given),
                             shown(core::join(known, ", "))),
                 "unknown environment");
}

core::Result<Command> parse_tokens(const Tokens& read, const ParserSettings& settings) {
  const std::vector<Token>& tokens = read.tokens;
  std::size_t first = 0;
  if (!tokens.empty() && !tokens[0].quoted && !tokens[0].flag &&
      equals_lower(tokens[0].text, "/infra")) {
    first = 1;
  }
  // "help" ignores whatever follows, even a broken quote.
  if (first < tokens.size() && !tokens[first].flag && equals_lower(tokens[first].text, "help")) {
    return Command{Help{}};
  }
  if (read.error) return *read.error;
  if (first == tokens.size()) return Command{Help{}};

  const Token& head = tokens[first];
  if (head.flag) {
    return invalid(fmt::format("Start with a command, like `/infra status`, before `{}`. "
                               "Commands: {}.",
                               shown(read.raw(head)), kCommandList),
                   "option before command");
  }

  std::vector<const Token*> positionals;
  std::vector<const Token*> flags;
  positionals.reserve(tokens.size());
  flags.reserve(tokens.size());
  for (std::size_t i = first + 1; i < tokens.size(); ++i) {
    (tokens[i].flag ? flags : positionals).push_back(&tokens[i]);
  }

  const std::string word = core::to_lower(head.text);
  std::optional<Verb> verb = verb_of(word);
  if (!verb && word == "whitelist") {
    if (positionals.empty()) {
      return invalid(
          "Missing whitelist action. Use `add`, `remove`, `list` or `refresh`, like "
          "`/infra whitelist list`.",
          "missing whitelist action");
    }
    const std::string action = core::to_lower(positionals.front()->text);
    verb = whitelist_verb_of(action);
    if (!verb) {
      return invalid(
          fmt::format("Unknown whitelist action `{}`.{} Actions: add, remove, list, "
                      "refresh.",
                      shown(positionals.front()->text), did_you_mean(action, kWhitelistActions)),
          "unknown whitelist action");
    }
    positionals.erase(positionals.begin());
  }
  if (!verb) {
    return invalid(fmt::format("Unknown command `{}`.{} Commands: {}.", shown(head.text),
                               did_you_mean(word, kCommands), kCommandList),
                   "unknown command");
  }

  const VerbSpec spec = spec_of(*verb);
  auto flag_values = read_flags(flags, *verb, settings);
  if (!flag_values) return flag_values.error();
  auto& values = flag_values->values;

  std::size_t used = 0;
  const Token* ip = nullptr;
  std::optional<std::string> positional_env;
  if (spec.takes_ip) {
    if (positionals.empty()) {
      return invalid(fmt::format("Missing IP address. Usage: `{}`", spec.usage), "missing ip");
    }
    ip = positionals[used++];
  } else if (spec.positional_env && !positionals.empty()) {
    positional_env = positionals[used++]->text;
  }
  if (used < positionals.size()) {
    const Token& stray = *positionals[used];
    const auto index = static_cast<std::size_t>(&stray - tokens.data());
    const Token& before = tokens[index - 1];
    // `--description=Quick test`: the second word of an unquoted description.
    if (before.flag && !before.quoted &&
        equals_lower(std::string_view(before.text).substr(0, 14), "--description=")) {
      return invalid(
          fmt::format("A description with spaces needs quotes: `--description='{} {}'`.",
                      shown(std::string_view(before.text).substr(14)), shown(read.raw(stray))),
          "unquoted description");
    }
    // `-ttl=5m`: an option with one dash.
    if (!stray.quoted && stray.text.size() > 1 && stray.text[0] == '-' && stray.text[1] != '-') {
      return invalid(fmt::format("Options start with two dashes: `-{}`.", shown(stray.text)),
                     "single-dash option");
    }
    // The command as typed (without "/infra"), one space between words.
    std::string typed;
    for (std::size_t i = first; i < tokens.size(); ++i) {
      if (i > first) typed += ' ';
      typed += read.raw(tokens[i]);
    }
    return invalid(fmt::format("Unexpected `{}` in `{}`. Usage: `{}`",
                               shown(read.raw(*positionals[used])), shown(typed), spec.usage),
                   "unexpected word");
  }

  auto env = resolve_env(positional_env, values[kEnv], settings);
  if (!env) return env.error();

  switch (*verb) {
    case Verb::status:
      return Command{Status{std::move(*env)}};
    case Verb::stop:
      return Command{Stop{std::move(*env)}};
    case Verb::start:
      return Command{Start{std::move(*env)}};
    case Verb::spinup:
      return Command{Spinup{std::move(*env)}};
    case Verb::reboot: {
      Reboot reboot{std::move(*env), std::nullopt};
      if (values[kName]) {
        auto name = check_instance_name(std::move(*values[kName]));
        if (!name) return name.error();
        reboot.name = std::move(*name);
      }
      return Command{std::move(reboot)};
    }
    case Verb::list:
      return Command{WhitelistList{std::move(*env)}};
    case Verb::refresh:
      return Command{WhitelistRefresh{std::move(*env)}};
    case Verb::teardown: {
      TeardownLevel level = TeardownLevel::services;
      if (values[kLevel]) {
        auto parsed = parse_level(*values[kLevel]);
        if (!parsed) return parsed.error();
        level = *parsed;
      }
      return Command{Teardown{std::move(*env), level}};
    }
    case Verb::remove: {
      auto cidr = parse_cidr(ip->text, settings);
      if (!cidr) return cidr.error();
      return Command{WhitelistRemove{std::move(*cidr), std::move(*env)}};
    }
    case Verb::add: {
      // Adding also asks whether the range may be whitelisted at all; removing
      // does not, so an entry from before a rule can still be taken off.
      auto cidr = parse_cidr(ip->text, settings);
      if (!cidr) return cidr.error();
      if (auto allowed = check_whitelist_range(*cidr); !allowed) return allowed.error();
      WhitelistAdd add{std::move(*cidr), std::chrono::days(30), std::nullopt, std::move(*env)};
      if (values[kTtl]) {
        auto ttl = parse_ttl(*values[kTtl]);
        if (!ttl) return ttl.error();
        add.ttl = *ttl;
      }
      if (values[kDescription]) {
        auto description = check_description(std::move(*values[kDescription]));
        if (!description) return description.error();
        add.description = std::move(*description);
      }
      return Command{std::move(add)};
    }
  }
  return core::make_error(ErrorCode::internal, "Something went wrong reading that command.",
                          "command_parser: unhandled verb");
}

}  // namespace

ParserSettings ParserSettings::from(const core::Config& config) {
  ParserSettings settings;
  settings.environments = config.environments;
  settings.default_environment = config.default_environment;
  settings.min_prefix_v4 = config.min_prefix_v4;
  settings.min_prefix_v6 = config.min_prefix_v6;
  return settings;
}

core::Result<Command> parse_command(std::string_view text, const ParserSettings& settings) {
  try {
    if (text.size() > kMaxInputBytes) {
      return invalid(fmt::format("That command is too long ({} bytes). Commands are short, like "
                                 "`/infra whitelist add 203.0.113.7 --ttl=7d`.",
                                 text.size()),
                     "input too long");
    }
    const std::string unescaped = unescape_slack(core::trim(text));
    return parse_tokens(tokenize(unescaped), settings);
  } catch (const std::exception& e) {
    // Only allocation failure can get here; the parser itself does not throw.
    return core::make_error(ErrorCode::internal,
                            "Something went wrong reading that command. "
                            "Try again.",
                            fmt::format("command_parser: {}", e.what()));
  }
}

}  // namespace infra
