// /infra as one Discord chat-input command (../shared/notes/discord.md §4) and
// back: the subcommands mirror the grammar of lib/infra/src/command_parser.cpp
// one to one, so command_text() only has to spell what Discord sent in the
// syntax infra::parse_command reads.
#include "discord_front/command_set.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace discord_front {
namespace {

// Option types (§4).
constexpr int kSubcommand = 1;
constexpr int kGroup = 2;
constexpr int kString = 3;

// Limits (§4): choices per option, characters of a choice, of the whole command.
constexpr std::size_t kMaxChoices = 25;
constexpr std::size_t kMaxChoiceChars = 100;
constexpr std::size_t kMaxCommandChars = 8000;
// The grammar's own limits (command_parser_whitelist.cpp, _lifecycle.cpp).
constexpr int kMaxDescriptionChars = 255;
constexpr int kMaxNameChars = 256;

struct Option {
  int type = kString;
  std::string name;
  std::string description;
  bool required = false;
  std::vector<std::string> choices;  ///< name and value alike
  int min_length = 0;
  int max_length = 0;
  std::vector<Option> options;
};

Option env_option(const std::vector<std::string>& choices) {
  return Option{kString, "env", "Environment", true, choices, 0, 0, {}};
}

Option ip_option(std::string description) {
  return Option{kString, "ip", std::move(description), true, {}, 0, 64, {}};
}

Option subcommand(std::string name, std::string description, std::vector<Option> options) {
  // Required options first (Discord refuses the command otherwise).
  std::stable_partition(options.begin(), options.end(), [](const Option& o) { return o.required; });
  return Option{kSubcommand, std::move(name),   std::move(description), false, {}, 0,
                0,           std::move(options)};
}

Option infra_command(const std::vector<std::string>& envs) {
  Option infra;
  infra.name = "infra";
  infra.description = "Run infra-bot: status, stop, start, reboot, teardown, spinup, whitelist";
  infra.options = {
      subcommand("help", "Show every /infra command and the environments", {}),
      subcommand("status", "ECS services and RDS instances, with their state", {env_option(envs)}),
      subcommand("stop", "Stop the ECS services and RDS instances", {env_option(envs)}),
      subcommand("start", "Start the ECS services and RDS instances again", {env_option(envs)}),
      subcommand("reboot", "Reboot the EC2 instances (or the one named)",
                 {env_option(envs), Option{kString,
                                           "name",
                                           "Name tag of the one instance to reboot",
                                           false,
                                           {},
                                           1,
                                           kMaxNameChars,
                                           {}}}),
      subcommand("teardown", "Tear down an environment (after a typed confirmation)",
                 {env_option(envs), Option{kString,
                                           "level",
                                           "services (default: stop ECS/RDS) or full (delete all)",
                                           false,
                                           {"services", "full"},
                                           0,
                                           0,
                                           {}}}),
      subcommand("spinup", "Rebuild what a teardown removed", {env_option(envs)}),
  };
  Option whitelist{kGroup, "whitelist", "The IP allow-list", false, {}, 0, 0, {}};
  whitelist.options = {
      subcommand("add", "Open the environment's ports to an address",
                 {ip_option("IPv4 or IPv6 address or CIDR, e.g. 203.0.113.7"),
                  Option{kString,
                         "ttl",
                         "How long: 30m, 12h, 7d (1m-1440m, 1h-24h, 1d-365d; "
                         "default 30d)",
                         false,
                         {},
                         2,
                         5,
                         {}},
                  Option{kString,
                         "description",
                         "What the address is, e.g. home vpn",
                         false,
                         {},
                         1,
                         kMaxDescriptionChars,
                         {}},
                  env_option(envs)}),
      subcommand("remove", "Remove an address from the allow-list",
                 {ip_option("The address or CIDR to remove"), env_option(envs)}),
      subcommand("list", "Entries with who added them and their time left", {env_option(envs)}),
      subcommand("refresh", "Re-apply the entries to the security groups", {env_option(envs)}),
  };
  infra.options.push_back(std::move(whitelist));
  return infra;
}

// What Discord counts towards the 8000: names, descriptions, choices.
std::size_t counted_chars(const Option& option) {
  std::size_t sum = core::utf8_length(option.name) + core::utf8_length(option.description);
  for (const auto& choice : option.choices) sum += 2 * core::utf8_length(choice);
  for (const auto& child : option.options) sum += counted_chars(child);
  return sum;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_option(JsonWriter& w, const Option& option, bool top) {
  w.StartObject();
  if (top) {
    w.Key("type");
    w.Int(1);  // CHAT_INPUT
  } else {
    w.Key("type");
    w.Int(option.type);
  }
  write_string(w, "name", option.name);
  write_string(w, "description", option.description);
  if (option.required) {
    w.Key("required");
    w.Bool(true);
  }
  if (!option.choices.empty()) {
    w.Key("choices");
    w.StartArray();
    for (const auto& choice : option.choices) {
      w.StartObject();
      write_string(w, "name", choice);
      write_string(w, "value", choice);
      w.EndObject();
    }
    w.EndArray();
  }
  if (option.min_length > 0) {
    w.Key("min_length");
    w.Int(option.min_length);
  }
  if (option.max_length > 0) {
    w.Key("max_length");
    w.Int(option.max_length);
  }
  if (!option.options.empty()) {
    w.Key("options");
    w.StartArray();
    for (const auto& child : option.options) write_option(w, child, false);
    w.EndArray();
  }
  w.EndObject();
}

// ---- back to the grammar's text ----

core::Error invalid(std::string user_message, std::string detail) {
  return core::make_error(core::ErrorCode::invalid_input, std::move(user_message),
                          "discord command_text: " + std::move(detail));
}

// Whether `value` can stand unquoted as one token: the tokenizer splits on
// whitespace (ASCII and Unicode), reads quotes and leading dashes.
bool is_bare(std::string_view value) {
  if (value.empty() || value[0] == '-') return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == ':' || c == '/' || c == '_' || c == '-' || c == '%';
  });
}

// 0 none, 1 single (' ‘ ’), 2 double (" “ ”): the quote families the tokenizer knows.
int quote_family_at(std::string_view text, std::size_t i, std::size_t& length) {
  length = 1;
  if (text[i] == '\'') return 1;
  if (text[i] == '"') return 2;
  if (text[i] == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80') {
    length = 3;
    const char third = text[i + 2];
    if (third == '\x98' || third == '\x99') return 1;
    if (third == '\x9C' || third == '\x9D') return 2;
  }
  return 0;
}

// Whether `value` quoted with `family` reads back whole: a quote ends at the
// first mark of its family followed by a space, so no such mark may be inside.
// Any non-ASCII byte after a mark counts as a possible (Unicode) space.
bool quotable_with(std::string_view value, int family) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::size_t length = 1;
    if (quote_family_at(value, i, length) != family) continue;
    const std::size_t next = i + length;
    if (next >= value.size()) continue;
    const auto c = static_cast<unsigned char>(value[next]);
    if (c == ' ' || (c >= '\t' && c <= '\r') || c >= 0x80) return false;
  }
  return true;
}

// `value` as one token of the grammar: bare when it can be, else quoted, and
// `&` written as Slack's `&amp;`, which the parser undoes.
core::Result<std::string> token_of(std::string_view value, std::string_view what) {
  std::string escaped;
  for (const char c : value) {
    if (c == '&') {
      escaped += "&amp;";
    } else {
      escaped += c;
    }
  }
  if (is_bare(escaped)) return escaped;
  if (quotable_with(escaped, 2)) return "\"" + escaped + "\"";
  if (quotable_with(escaped, 1)) return "'" + escaped + "'";
  return invalid(
      fmt::format("The {} has both kinds of quotes followed by a space; drop one kind.", what),
      "unquotable value");
}

struct Values {
  std::vector<std::pair<std::string, std::string>> items;
  const std::string* find(std::string_view name) const {
    for (const auto& [key, value] : items) {
      if (key == name) return &value;
    }
    return nullptr;
  }
};

core::Result<Values> values_of(const discord::CommandOption& subcommand,
                               const std::vector<std::string_view>& known) {
  Values out;
  for (const auto& option : subcommand.options) {
    if (std::find(known.begin(), known.end(), option.name) == known.end() || !option.value) {
      return invalid(fmt::format("This Discord command is out of date (unknown option `{}`). Ask "
                                 "an admin to run `infra-bot register`.",
                                 option.name),
                     "unknown option");
    }
    out.items.emplace_back(option.name, *option.value);
  }
  return out;
}

core::Result<std::string> required(const Values& values, std::string_view name,
                                   std::string_view usage) {
  const std::string* value = values.find(name);
  if (value == nullptr || value->empty()) {
    return invalid(fmt::format("Missing `{}`. Usage: `{}`", name, usage), "missing option");
  }
  return token_of(*value, name == "ip" ? "address" : std::string_view(name));
}

// "<verb> <env>" for the commands that take only an environment.
core::Result<std::string> with_env(std::string verb, const discord::CommandOption& sub,
                                   std::string_view usage) {
  auto values = values_of(sub, {"env"});
  if (!values) return values.error();
  auto env = required(*values, "env", usage);
  if (!env) return env.error();
  return verb + " " + *env;
}

core::Result<std::string> lifecycle_text(const discord::CommandOption& sub) {
  const std::string& name = sub.name;
  if (name == "help") return std::string("help");
  if (name == "status" || name == "stop" || name == "start" || name == "spinup") {
    return with_env(name, sub, fmt::format("/infra {} env", name));
  }
  if (name == "teardown" || name == "reboot") {
    const bool teardown = name == "teardown";
    const std::string_view flag = teardown ? "level" : "name";
    auto values = values_of(sub, {"env", flag});
    if (!values) return values.error();
    auto env = required(*values, "env",
                        teardown ? "/infra teardown env [level]" : "/infra reboot env [name]");
    if (!env) return env.error();
    std::string text = name + " " + *env;
    if (const std::string* value = values->find(flag)) {
      auto token = token_of(*value, flag);
      if (!token) return token.error();
      text += fmt::format(" --{}={}", flag, *token);
    }
    return text;
  }
  return invalid(fmt::format("Unknown /infra command `{}`. Type `/infra help`.", name),
                 "unknown subcommand");
}

core::Result<std::string> whitelist_text(const discord::CommandOption& group) {
  if (group.options.size() != 1 || group.options[0].type != kSubcommand) {
    return invalid("Choose a whitelist action: add, remove, list or refresh.", "no subcommand");
  }
  const discord::CommandOption& sub = group.options[0];
  const std::string& name = sub.name;
  if (name == "list" || name == "refresh") {
    return with_env("whitelist " + name, sub, fmt::format("/infra whitelist {} env", name));
  }
  if (name != "add" && name != "remove") {
    return invalid(fmt::format("Unknown whitelist action `{}`. Actions: add, remove, list, "
                               "refresh.",
                               name),
                   "unknown whitelist action");
  }
  const bool add = name == "add";
  const std::string_view usage =
      add ? "/infra whitelist add ip [ttl] [description] env" : "/infra whitelist remove ip env";
  auto values =
      add ? values_of(sub, {"ip", "env", "ttl", "description"}) : values_of(sub, {"ip", "env"});
  if (!values) return values.error();
  auto ip = required(*values, "ip", usage);
  if (!ip) return ip.error();
  auto env = required(*values, "env", usage);
  if (!env) return env.error();
  std::string text = fmt::format("whitelist {} {}", name, *ip);
  for (const std::string_view flag : {"ttl", "description"}) {
    const std::string* value = values->find(flag);
    if (value == nullptr) continue;
    auto token = token_of(*value, flag);
    if (!token) return token.error();
    text += fmt::format(" --{}={}", flag, *token);
  }
  text += " --env=" + *env;
  return text;
}

}  // namespace

std::string infra_commands_json(const std::vector<std::string>& environments) {
  // Lower-case, without repeats, in the configured order: the same settings
  // give the same bytes.
  std::vector<std::string> envs;
  bool fits_choices = environments.size() <= kMaxChoices;
  for (const auto& env : environments) {
    std::string lower = core::to_lower(env);
    if (lower.empty() || std::find(envs.begin(), envs.end(), lower) != envs.end()) continue;
    if (core::utf8_length(lower) > kMaxChoiceChars) fits_choices = false;
    envs.push_back(std::move(lower));
  }
  if (envs.size() > kMaxChoices) fits_choices = false;
  Option command = infra_command(fits_choices ? envs : std::vector<std::string>{});
  // Ten environment options repeat the choices: past the 8000-character
  // budget, the environment becomes a plain string the parser checks.
  if (counted_chars(command) > kMaxCommandChars) command = infra_command({});

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  write_option(w, command, true);
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

core::Result<std::string> command_text(const discord::Interaction& interaction) {
  if (interaction.type != discord::InteractionType::application_command ||
      interaction.command_name != "infra") {
    return invalid("This bot only knows `/infra`. Type `/infra help`.", "not /infra");
  }
  if (interaction.options.size() != 1) {
    return invalid("Choose an /infra command, like `/infra status`.", "no subcommand");
  }
  const discord::CommandOption& top = interaction.options[0];
  if (top.type == kGroup && top.name == "whitelist") return whitelist_text(top);
  if (top.type == kSubcommand) return lifecycle_text(top);
  return invalid(fmt::format("Unknown /infra command `{}`. Type `/infra help`.", top.name),
                 "unknown subcommand");
}

}  // namespace discord_front
