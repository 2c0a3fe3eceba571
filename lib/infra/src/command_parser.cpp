#include "infra/command_parser.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace infra {
namespace {

using core::ErrorCode;

// Every valid command is well under 2 KiB even with a 255-character description
// written entirely as `&amp;`; anything this long is a paste accident, and refusing
// it early bounds the work done on hostile input.
constexpr std::size_t kMaxInputBytes = 8192;
constexpr std::size_t kMaxDescriptionChars = 255;
// User text echoed in a message is cut to this many code points.
constexpr std::size_t kShownChars = 60;
// Longer than any IPv6 text form with a prefix ("ffff:…:255.255.255.255/128" is 50).
constexpr std::size_t kMaxCidrBytes = 64;
// Words longer than this get no "Did you mean" (and no quadratic edit distance).
constexpr std::size_t kMaxSuggestLength = 32;

constexpr std::string_view kCommandList =
    "status, stop, start, reboot, teardown, spinup, whitelist, help";
constexpr std::string_view kTtlForms =
    "Use minutes (1m to 1440m), hours (1h to 24h) or days (1d to 365d), for example "
    "`--ttl=7d`.";
constexpr std::string_view kDescriptionExample = "--description='Home office'";

core::Error invalid(std::string user_message, std::string_view detail) {
  std::string log_detail = "command_parser: ";
  log_detail += detail;
  return core::make_error(ErrorCode::invalid_input, std::move(user_message), std::move(log_detail));
}

// ---------------------------------------------------------------------------
// Bytes and UTF-8

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

// `text` lower-cased (ASCII) equals `lower`.
bool equals_lower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool is_control(char32_t code_point) { return code_point < 0x20 || code_point == 0x7F; }

// User text as it may appear inside a `code span` of a message: valid UTF-8 only
// (the message ends up in JSON), no control characters, no backtick that would end
// the span early, and at most kShownChars code points.
std::string shown(std::string_view text) {
  const char* data = text.data();
  const std::size_t n = text.size();
  // Fast path: short printable ASCII without a backtick is shown as is.
  if (n <= kShownChars) {
    std::size_t i = 0;
    while (i < n && data[i] >= 0x20 && data[i] < 0x7F && data[i] != '`') ++i;
    if (i == n) return std::string(text);
  }
  std::string out;
  out.reserve(std::min(n, 4 * kShownChars) + 3);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n;) {
    if (count == kShownChars) {
      out += "\u2026";
      break;
    }
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0) {
      out += "\uFFFD";
      i += 1;
    } else {
      if (is_control(code_point) || (code_point >= 0x80 && code_point < 0xA0)) {
        out += "\uFFFD";
      } else if (code_point == '`') {
        out += '\'';
      } else {
        out.append(data + i, length);
      }
      i += length;
    }
    ++count;
  }
  return out;
}

// Slack escapes exactly these three in command text; one pass, so "&amp;lt;"
// becomes "&lt;" and not "<".
std::string unescape_slack(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const char* data = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (true) {
    const std::size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(data + i, n - i);
      return out;
    }
    out.append(data + i, amp - i);
    const std::size_t rest = n - amp;
    if (rest >= 5 && std::memcmp(data + amp, "&amp;", 5) == 0) {
      out += '&';
      i = amp + 5;
    } else if (rest >= 4 && std::memcmp(data + amp, "&lt;", 4) == 0) {
      out += '<';
      i = amp + 4;
    } else if (rest >= 4 && std::memcmp(data + amp, "&gt;", 4) == 0) {
      out += '>';
      i = amp + 4;
    } else {
      out += '&';
      i = amp + 1;
    }
  }
}

// ---------------------------------------------------------------------------
// Tokens
//
// The scanning helpers index raw bytes rather than chaining string_view calls:
// the parser runs on every keystroke-sized input, and the fuzz-style test feeds
// it 200k inputs in a Debug build.

// Byte length of the separator at text[i], 0 if none: ASCII whitespace, the
// Unicode space separators (no-break, thin, ideographic… that pasted text and
// some clients carry), line/paragraph separators, and the invisible zero-width
// characters (U+200B-U+200D, U+2060, U+FEFF) that would otherwise make `dev`
// look right in an error message while not matching.
std::size_t space_at(std::string_view text, std::size_t i) {
  const char* data = text.data();
  const char c = data[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return 1;
  const std::size_t left = text.size() - i;
  if (c == '\xC2' && left >= 2 && data[i + 1] == '\xA0') return 2;  // U+00A0
  if (left < 3) return 0;
  const auto b1 = static_cast<unsigned char>(data[i + 1]);
  const auto b2 = static_cast<unsigned char>(data[i + 2]);
  switch (static_cast<unsigned char>(c)) {
    case 0xE1:  // U+1680
      return b1 == 0x9A && b2 == 0x80 ? 3 : 0;
    case 0xE2:
      if (b1 == 0x80 && (b2 <= 0x8D || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF)) return 3;
      if (b1 == 0x81 && (b2 == 0x9F || b2 == 0xA0)) return 3;  // U+205F, U+2060
      return 0;
    case 0xE3:  // U+3000
      return b1 == 0x80 && b2 == 0x80 ? 3 : 0;
    case 0xEF:  // U+FEFF
      return b1 == 0xBB && b2 == 0xBF ? 3 : 0;
    default:
      return 0;
  }
}

bool boundary_at(std::string_view text, std::size_t i) {
  return i >= text.size() || space_at(text, i) > 0;
}

enum class QuoteFamily { none, single, double_ };

struct QuoteMark {
  std::size_t length = 0;
  QuoteFamily family = QuoteFamily::none;
};

// ' " and the curly quotes Slack clients substitute: ‘ ’ (E2 80 98/99) and
// “ ” (E2 80 9C/9D).
QuoteMark quote_at(std::string_view text, std::size_t i) {
  if (i >= text.size()) return {};
  const char* data = text.data();
  if (data[i] == '\'') return {1, QuoteFamily::single};
  if (data[i] == '"') return {1, QuoteFamily::double_};
  if (data[i] == '\xE2' && i + 2 < text.size() && data[i + 1] == '\x80') {
    const char third = data[i + 2];
    if (third == '\x98' || third == '\x99') return {3, QuoteFamily::single};
    if (third == '\x9C' || third == '\x9D') return {3, QuoteFamily::double_};
  }
  return {};
}

// Autocorrect (macOS, iOS) turns "--" into an em dash (E2 80 94) or an en dash
// (E2 80 93); a token that starts with one is read as starting with "--".
std::size_t dash_at(std::string_view text, std::size_t i) {
  const char* data = text.data();
  if (data[i] == '\xE2' && i + 2 < text.size() && data[i + 1] == '\x80' &&
      (data[i + 2] == '\x93' || data[i + 2] == '\x94')) {
    return 3;
  }
  return 0;
}

struct Token {
  std::string text;       ///< quotes removed, a leading dash normalised to "--"
  std::size_t begin = 0;  ///< where the token starts in the (unescaped) input
  std::size_t end = 0;    ///< one past where it ends
  bool flag = false;
  bool quoted = false;
};

struct Tokens {
  std::string_view input;            ///< the unescaped text the tokens point into
  std::vector<Token> tokens;         ///< those read before any error
  std::optional<core::Error> error;  ///< an unterminated quote

  std::string_view raw(const Token& token) const {
    return input.substr(token.begin, token.end - token.begin);
  }
};

// Reads a quoted span whose opening mark is at text[i]. It ends at the next mark
// of the same family that is followed by whitespace or the end, so an apostrophe
// inside ('Bob's laptop') does not end it. Appends the content to `out` and
// returns the index after the closing mark, or nullopt when there is none.
std::optional<std::size_t> read_quoted(std::string_view text, std::size_t i, std::string& out) {
  const QuoteMark open = quote_at(text, i);
  const std::size_t begin = i + open.length;
  for (std::size_t k = begin; k < text.size(); ++k) {
    const QuoteMark mark = quote_at(text, k);
    if (mark.family == open.family && boundary_at(text, k + mark.length)) {
      out.append(text.data() + begin, k - begin);
      return k + mark.length;
    }
  }
  return std::nullopt;
}

Tokens tokenize(std::string_view text) {
  Tokens result;
  result.input = text;
  result.tokens.reserve(8);
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (true) {
    while (i < n) {
      const std::size_t space = space_at(text, i);
      if (space == 0) break;
      i += space;
    }
    if (i >= n) break;

    // Built in place; dropped again if its quote turns out to be unterminated.
    Token& token = result.tokens.emplace_back();
    token.begin = i;
    std::size_t body = i;  // first byte copied verbatim into token.text
    if (const std::size_t dash = dash_at(text, i); dash > 0) {
      token.flag = true;
      token.text = "--";
      body = i + dash;
    } else if (i + 1 < n && text[i] == '-' && text[i + 1] == '-') {
      token.flag = true;
    }

    std::optional<std::size_t> end;
    if (!token.flag && quote_at(text, i).length > 0) {
      token.quoted = true;
      end = read_quoted(text, i, token.text);
    } else {
      // A flag's value may be quoted: --description='Home office'.
      std::size_t k = body;
      while (k < n && space_at(text, k) == 0 && !(token.flag && text[k] == '=')) ++k;
      if (k < n && token.flag && text[k] == '=' && quote_at(text, k + 1).length > 0) {
        token.text.append(text.data() + body, k + 1 - body);
        token.quoted = true;
        end = read_quoted(text, k + 1, token.text);
      } else {
        while (k < n && space_at(text, k) == 0) ++k;
        token.text.append(text.data() + body, k - body);
        end = k;
      }
    }

    if (!end) {
      result.error = invalid(fmt::format("Unterminated quote in `{}`. Close it with a matching "
                                         "quote, like `{}`.",
                                         shown(text.substr(token.begin)), kDescriptionExample),
                             "unterminated quote");
      result.tokens.pop_back();
      break;
    }
    token.end = *end;
    i = *end;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Suggestions

// Levenshtein distance between a typed word and a command name, exact up to
// kSuggestDistance and "more" (kSuggestDistance + 1) beyond it. The bounds keep the
// fuzz tests fast: most junk words differ in length by more than that.
constexpr std::size_t kSuggestDistance = 2;

std::size_t bounded_edit_distance(std::string_view a, std::string_view b) {
  constexpr std::size_t kMore = kSuggestDistance + 1;
  const std::size_t length_gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (length_gap > kSuggestDistance || b.size() > kMaxSuggestLength) return kMore;
  const char* pa = a.data();
  const char* pb = b.data();
  const std::size_t na = a.size();
  const std::size_t nb = b.size();
  std::size_t row[kMaxSuggestLength + 1];
  for (std::size_t j = 0; j <= nb; ++j) row[j] = j;
  for (std::size_t i = 1; i <= na; ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    std::size_t row_min = row[0];
    for (std::size_t j = 1; j <= nb; ++j) {
      const std::size_t above = row[j];
      std::size_t best = diagonal + (pa[i - 1] == pb[j - 1] ? 0 : 1);
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
      if (best < row_min) row_min = best;
    }
    if (row_min > kSuggestDistance) return kMore;  // every later row is at least as far
  }
  return row[nb];
}

// " Did you mean `x`?" for the closest candidate within distance 2, else "".
template <std::size_t N>
std::string did_you_mean(std::string_view word, const std::array<std::string_view, N>& options) {
  if (word.empty() || word.size() > kMaxSuggestLength) return {};
  std::string_view best;
  std::size_t best_distance = kSuggestDistance + 1;
  for (const std::string_view option : options) {
    const std::size_t distance = bounded_edit_distance(word, option);
    if (distance < best_distance) {
      best = option;
      best_distance = distance;
    }
  }
  if (best.empty()) return {};
  return fmt::format(" Did you mean `{}`?", best);
}

// ---------------------------------------------------------------------------
// Commands and flags

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

core::Result<TeardownLevel> parse_level(std::string_view text) {
  const std::string level = core::to_lower(text);
  if (level == "services") return TeardownLevel::services;
  if (level == "full") return TeardownLevel::full;
  return invalid(fmt::format("Unknown teardown level `{}`. Use `--level=services` (the default) "
                             "or `--level=full`.",
                             shown(text)),
                 "unknown teardown level");
}

// An EC2 Name tag: up to 256 characters of one line (EC2's tag value limit).
core::Result<std::string> check_instance_name(std::string text) {
  constexpr std::size_t kMaxNameChars = 256;
  for (std::size_t i = 0; i < text.size();) {
    char32_t code_point = 0;
    const std::size_t length = core::utf8_decode(text, i, code_point);
    if (length == 0 || is_control(code_point)) {
      return invalid("The instance name must be plain text on one line, like `--name=bastion`.",
                     "bad instance name");
    }
    i += length;
  }
  if (core::utf8_length(text) > kMaxNameChars) {
    return invalid(fmt::format("The instance name is longer than {} characters, the most a Name "
                               "tag holds.",
                               kMaxNameChars),
                   "instance name too long");
  }
  return text;
}

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
    if (is_control(code_point)) {
      return invalid(
          "The description contains a control character (such as a tab or line break). "
          "Use plain text on one line.",
          "control character in description");
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
      auto cidr = parse_cidr(ip->text, settings);
      if (!cidr) return cidr.error();
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

// ---------------------------------------------------------------------------
// Addresses

std::optional<std::string> address_text(const unsigned char* bytes, bool ipv6) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, buffer.data(),
                static_cast<socklen_t>(buffer.size())) == nullptr) {
    return std::nullopt;
  }
  return std::string(buffer.data());
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
