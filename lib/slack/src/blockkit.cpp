#include "slack/blockkit.hpp"
#include "core/overloaded.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/json_escape.hpp"
#include "core/strings.hpp"

namespace slack::blockkit {
namespace {

// The console's rule for a divider: 25 × U+2500.
constexpr std::string_view kRule = "─────────────────────────";

// Input block limits (https://api.slack.com/reference/block-kit/blocks#input and
// .../block-elements#input): label 2000, placeholder 150 characters.
constexpr std::size_t kMaxInputLabelChars = 2000;
constexpr std::size_t kMaxPlaceholderChars = 150;

// Code points of `text` once escaped for mrkdwn: Slack counts the text it
// receives, so `&` costs 5 (`&amp;`) and `<`, `>` cost 4 each.
std::size_t escaped_length(std::string_view text) {
  std::size_t extra = 0;
  for (char c : text) {
    if (c == '&') extra += 4;
    if (c == '<' || c == '>') extra += 3;
  }
  return core::utf8_length(text) + extra;
}

// `text` shortened with "…" so that its escaped form has at most `budget`
// code points. The cut is made on the unescaped text, so it never splits an
// entity, and through core::utf8_truncate, so it never splits a UTF-8 sequence.
std::string cut_escaped(std::string_view text, std::size_t budget) {
  if (escaped_length(text) <= budget) return std::string(text);
  // escaped_length(utf8_truncate(text, n)) grows with n: find the largest n that fits.
  std::size_t lo = 0;  // always fits (the empty string)
  std::size_t hi = core::utf8_length(text);
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (escaped_length(core::utf8_truncate(text, mid)) <= budget) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return core::utf8_truncate(text, lo);
}

// The first `max_chars` code points of `text`, without a marker: for machine
// data (private_metadata) where "…" would mean nothing. Never splits a UTF-8
// sequence (a cut only happens before a lead byte).
std::string cut_plain(std::string_view text, std::size_t max_chars) {
  std::size_t count = 0;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte
    if (count == max_chars) break;
    ++count;
  }
  return std::string(text.substr(0, i));
}

bool has_content(const Section& section) {
  return !section.title.empty() ||
         std::any_of(section.lines.begin(), section.lines.end(),
                     [](const std::string& line) { return !line.empty(); });
}

// Splits `section` into sections whose mrkdwn text fits kMaxSectionChars; the
// title stays on the first. A line that does not fit after the lines before it
// starts a new section; a line too long for any section is cut.
void split_section(const Section& section, std::vector<Block>& out) {
  constexpr std::size_t kMax = kMaxSectionChars;
  Section current;
  std::size_t used = 0;
  bool has_parts = false;
  if (!section.title.empty()) {
    current.title = cut_escaped(section.title, kMax - 2);  // 2 for the asterisks
    used = escaped_length(current.title) + 2;
    has_parts = true;
  }
  auto flush = [&] {
    if (has_parts) out.emplace_back(std::move(current));
    current = Section{};
    used = 0;
    has_parts = false;
  };
  for (const auto& line : section.lines) {
    const std::size_t cost = escaped_length(line);
    if (used + (has_parts ? 1 : 0) + cost > kMax) flush();
    if (cost > kMax) {
      current.lines.push_back(cut_escaped(line, kMax));
      used = kMax;
    } else {
      used += (has_parts ? 1 : 0) + cost;
      current.lines.push_back(line);
    }
    has_parts = true;
  }
  flush();
}

// How many lines a block stands for, for the "… and N more" summary.
std::size_t line_count(const Block& block) {
  return std::visit(
      core::Overloaded{
          [](const Header&) -> std::size_t { return 1; },
          [](const Divider&) -> std::size_t { return 0; },
          [](const Section& s) -> std::size_t { return s.lines.empty() ? 1 : s.lines.size(); },
          [](const Context&) -> std::size_t { return 1; },
          [](const Actions&) -> std::size_t { return 1; },
      },
      block);
}

std::vector<Block> fit_blocks(const std::vector<Block>& blocks, std::size_t max_blocks) {
  std::vector<Block> fitted;
  fitted.reserve(blocks.size());
  for (const auto& block : blocks) {
    std::visit(core::Overloaded{
                   [&](const Header& h) {
                     // Slack rejects empty text objects: leave the block out.
                     if (!h.text.empty()) {
                       fitted.emplace_back(Header{core::utf8_truncate(h.text, kMaxHeaderChars)});
                     }
                   },
                   [&](const Divider& d) { fitted.emplace_back(d); },
                   [&](const Section& s) {
                     if (has_content(s)) split_section(s, fitted);
                   },
                   [&](const Context& c) {
                     if (!c.text.empty()) {
                       fitted.emplace_back(Context{cut_escaped(c.text, kMaxSectionChars)});
                     }
                   },
                   [&](const Actions& a) {
                     Actions cut;
                     for (const auto& button : a.buttons) {
                       if (button.text.empty() || cut.buttons.size() == kMaxButtonsPerBlock) {
                         continue;
                       }
                       cut.buttons.push_back(Button{
                           core::utf8_truncate(button.text, kMaxButtonTextChars),
                           core::utf8_truncate(button.action_id, kMaxActionIdChars),
                           core::utf8_truncate(button.value, kMaxButtonValueChars), button.danger});
                     }
                     // Slack rejects an actions block without elements.
                     if (!cut.buttons.empty()) fitted.emplace_back(std::move(cut));
                   },
               },
               block);
  }
  if (fitted.size() > max_blocks) {
    std::size_t dropped = 0;
    for (std::size_t i = max_blocks - 1; i < fitted.size(); ++i) dropped += line_count(fitted[i]);
    if (dropped > 0) {
      fitted.resize(max_blocks - 1);
      fitted.emplace_back(Context{"… and " + std::to_string(dropped) + " more"});
    } else {
      fitted.resize(max_blocks);
    }
  }
  return fitted;
}

// Whether fit_blocks(blocks, max_blocks) would return `blocks` unchanged:
// no block left out, cut, split or summarised.
bool fits_as_is(const std::vector<Block>& blocks, std::size_t max_blocks) {
  if (blocks.size() > max_blocks) return false;
  const auto within = [](std::string_view text, std::size_t max_chars) {
    return core::utf8_length(text) <= max_chars;
  };
  return std::all_of(blocks.begin(), blocks.end(), [&](const Block& block) {
    return std::visit(
        core::Overloaded{
            [&](const Header& h) { return !h.text.empty() && within(h.text, kMaxHeaderChars); },
            [](const Divider&) { return true; },
            [](const Section& s) {
              // One section holds it all (split_section's sum): title, its
              // asterisks, the lines and the newlines between the parts.
              if (!has_content(s)) return false;
              std::size_t used = s.title.empty() ? 0 : escaped_length(s.title) + 2;
              bool has_parts = !s.title.empty();
              for (const auto& line : s.lines) {
                used += (has_parts ? 1 : 0) + escaped_length(line);
                if (used > kMaxSectionChars) return false;
                has_parts = true;
              }
              return used <= kMaxSectionChars;
            },
            [](const Context& c) {
              return !c.text.empty() && escaped_length(c.text) <= kMaxSectionChars;
            },
            [&](const Actions& a) {
              return !a.buttons.empty() && a.buttons.size() <= kMaxButtonsPerBlock &&
                     std::all_of(a.buttons.begin(), a.buttons.end(), [&](const Button& b) {
                       return !b.text.empty() && within(b.text, kMaxButtonTextChars) &&
                              within(b.action_id, kMaxActionIdChars) &&
                              within(b.value, kMaxButtonValueChars);
                     });
            },
        },
        block);
  });
}

Modal fit_modal(Modal modal) {
  modal.title = core::utf8_truncate(modal.title, kMaxModalTitleChars);
  modal.submit = core::utf8_truncate(modal.submit, kMaxModalTitleChars);
  modal.close = core::utf8_truncate(modal.close, kMaxModalTitleChars);
  modal.private_metadata = cut_plain(modal.private_metadata, kMaxPrivateMetadataChars);
  modal.input.label = core::utf8_truncate(modal.input.label, kMaxInputLabelChars);
  modal.input.placeholder = core::utf8_truncate(modal.input.placeholder, kMaxPlaceholderChars);
  // One block of the modal's budget is the input.
  modal.blocks = fit_blocks(modal.blocks, kMaxBlocksPerModal - 1);
  return modal;
}

// ---- JSON ----
//
// Written straight into one std::string: the keys and the shape are fixed, so
// they go in as literals, and only the texts are escaped (RapidJSON's Writer
// escaped every key and reserved six bytes per byte of each string). The bytes
// are the Writer's: core::json::append_quoted escapes as it does.

// Slack's escaping (escape_mrkdwn) and JSON's in one pass: per byte, 0 to copy
// it, 1 for a JSON escape, 2 for an entity.
constexpr auto kMrkdwnJson = [] {
  std::array<unsigned char, 256> table{};
  for (std::size_t c = 0; c < 256; ++c) {
    table[c] = core::json::detail::kEscape[c] != 0 ? 1 : 0;
  }
  table['&'] = 2;
  table['<'] = 2;
  table['>'] = 2;
  return table;
}();

// escape_mrkdwn(text) escaped for inside a JSON string literal, without the
// quotes: the two escapes never overlap (entities hold no JSON specials).
void append_mrkdwn_escaped(std::string& out, std::string_view text) {
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const unsigned char kind = kMrkdwnJson[c];
    if (kind == 0) continue;
    out.append(text.data() + copied, i - copied);
    if (kind == 1) {
      core::json::detail::append_escape(out, c);
    } else {
      out += c == '&' ? std::string_view("&amp;") : c == '<' ? "&lt;" : "&gt;";
    }
    copied = i + 1;
  }
  out.append(text.data() + copied, text.size() - copied);
}

void write_plain_text(std::string& out, std::string_view text) {
  out += R"({"type":"plain_text","text":)";
  core::json::append_quoted(out, text);
  out += R"(,"emoji":true})";
}

// The section's mrkdwn: "*title*" and the lines, one per line.
void write_section_text(std::string& out, const Section& section) {
  out += R"({"type":"mrkdwn","text":")";
  bool first = true;
  if (!section.title.empty()) {
    out += '*';
    append_mrkdwn_escaped(out, section.title);
    out += '*';
    first = false;
  }
  for (const auto& line : section.lines) {
    if (!first) out += R"(\n)";
    append_mrkdwn_escaped(out, line);
    first = false;
  }
  out += R"("})";
}

void write_block(std::string& out, const Block& block) {
  std::visit(core::Overloaded{
                 [&](const Header& h) {
                   out += R"({"type":"header","text":)";
                   write_plain_text(out, h.text);
                   out += '}';
                 },
                 [&](const Divider&) { out += R"({"type":"divider"})"; },
                 [&](const Section& s) {
                   out += R"({"type":"section","text":)";
                   write_section_text(out, s);
                   out += '}';
                 },
                 [&](const Context& c) {
                   out += R"({"type":"context","elements":[{"type":"mrkdwn","text":")";
                   append_mrkdwn_escaped(out, c.text);
                   out += R"("}]})";
                 },
                 [&](const Actions& a) {
                   out += R"({"type":"actions","elements":[)";
                   bool first = true;
                   for (const auto& button : a.buttons) {
                     if (!first) out += ',';
                     first = false;
                     out += R"({"type":"button","text":)";
                     write_plain_text(out, button.text);
                     out += R"(,"action_id":)";
                     core::json::append_quoted(out, button.action_id);
                     out += R"(,"value":)";
                     core::json::append_quoted(out, button.value);
                     if (button.danger) out += R"(,"style":"danger")";
                     out += '}';
                   }
                   out += "]}";
                 },
             },
             block);
}

void write_blocks(std::string& out, const std::vector<Block>& blocks) {
  bool first = true;
  for (const auto& block : blocks) {
    if (!first) out += ',';
    first = false;
    write_block(out, block);
  }
}

// Bytes of text in `blocks`: with a fixed allowance per block, a size to
// reserve that most messages fit without the string growing.
std::size_t text_size(const std::vector<Block>& blocks) {
  std::size_t size = 0;
  for (const auto& block : blocks) {
    size += 96;  // the block's keys and punctuation
    std::visit(core::Overloaded{
                   [&](const Header& h) { size += h.text.size(); },
                   [&](const Divider&) {},
                   [&](const Section& s) {
                     size += s.title.size();
                     for (const auto& line : s.lines) size += line.size() + 2;
                   },
                   [&](const Context& c) { size += c.text.size(); },
                   [&](const Actions& a) {
                     for (const auto& b : a.buttons) {
                       size += 128 + b.text.size() + b.action_id.size() + b.value.size();
                     }
                   },
               },
               block);
  }
  return size;
}

// ---- text ----

void append_text(std::string& out, const std::vector<Block>& blocks) {
  enum class Previous { none, header, divider, content };
  Previous previous = Previous::none;
  for (const auto& block : blocks) {
    std::visit(core::Overloaded{
                   [&](const Header& h) {
                     if (previous == Previous::content) out += '\n';
                     out += h.text;
                     out += '\n';
                     previous = Previous::header;
                   },
                   [&](const Divider&) {
                     out += kRule;
                     out += '\n';
                     previous = Previous::divider;
                   },
                   [&](const Section& s) {
                     if (previous == Previous::content) out += '\n';
                     if (!s.title.empty()) {
                       out += s.title;
                       out += '\n';
                     }
                     for (const auto& line : s.lines) {
                       out += line;
                       out += '\n';
                     }
                     previous = Previous::content;
                   },
                   [&](const Context& c) {
                     if (previous == Previous::content) out += '\n';
                     out += c.text;
                     out += '\n';
                     previous = Previous::content;
                   },
                   [&](const Actions& a) {
                     if (previous == Previous::content) out += '\n';
                     for (std::size_t i = 0; i < a.buttons.size(); ++i) {
                       if (i > 0) out += ' ';
                       out += "[ " + a.buttons[i].text + " ]";
                     }
                     out += '\n';
                     previous = Previous::content;
                   },
               },
               block);
  }
}

}  // namespace

std::string escape_mrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Message fit_to_limits(Message message) {
  message.blocks = fit_blocks(message.blocks, kMaxBlocksPerMessage);
  return message;
}

std::string to_json(const Message& message) {
  // Most messages are within the limits: written as they are, without the
  // copy fitting makes (fit_blocks' output equals its input then).
  std::vector<Block> fitted;
  const std::vector<Block>* blocks = &message.blocks;
  if (!fits_as_is(message.blocks, kMaxBlocksPerMessage)) {
    fitted = fit_blocks(message.blocks, kMaxBlocksPerMessage);
    blocks = &fitted;
  }
  std::string out;
  out.reserve(64 + message.text.size() + message.text.size() / 8 + text_size(*blocks));
  out += message.visibility == Visibility::in_channel ? R"({"response_type":"in_channel")"
                                                      : R"({"response_type":"ephemeral")";
  // The fallback is mrkdwn too (notifications): escaped like the blocks.
  out += R"(,"text":")";
  append_mrkdwn_escaped(out, message.text);
  out += R"(","blocks":[)";
  write_blocks(out, *blocks);
  out += "]}";
  return out;
}

std::string to_json(const Modal& modal) {
  const Modal fitted = fit_modal(modal);
  std::string out;
  out.reserve(512 + fitted.private_metadata.size() + text_size(fitted.blocks));
  out += R"({"type":"modal","callback_id":)";
  core::json::append_quoted(out, fitted.callback_id);
  out += R"(,"title":)";
  write_plain_text(out, fitted.title);
  out += R"(,"submit":)";
  write_plain_text(out, fitted.submit);
  out += R"(,"close":)";
  write_plain_text(out, fitted.close);
  out += R"(,"private_metadata":)";
  core::json::append_quoted(out, fitted.private_metadata);
  // So a cancelled teardown can be answered ("Teardown of `dev` cancelled.").
  out += R"(,"notify_on_close":true,"blocks":[)";
  write_blocks(out, fitted.blocks);
  if (!fitted.blocks.empty()) out += ',';
  out += R"({"type":"input","block_id":)";
  core::json::append_quoted(out, fitted.input.block_id);
  out += R"(,"label":)";
  write_plain_text(out, fitted.input.label);
  out += R"(,"element":{"type":"plain_text_input","action_id":)";
  core::json::append_quoted(out, fitted.input.action_id);
  if (!fitted.input.placeholder.empty()) {  // Slack refuses an empty plain_text
    out += R"(,"placeholder":)";
    write_plain_text(out, fitted.input.placeholder);
  }
  out += "}}]}";
  return out;
}

std::string to_text(const Message& message) {
  const Message fitted = fit_to_limits(message);
  std::string out;
  append_text(out, fitted.blocks);
  // A message without blocks still says something on the console.
  if (out.empty()) out = fitted.text + "\n";
  return out;
}

std::string to_text(const Modal& modal) {
  const Modal fitted = fit_modal(modal);
  std::vector<Block> blocks;
  blocks.reserve(fitted.blocks.size() + 2);
  blocks.emplace_back(Header{fitted.title});
  blocks.emplace_back(Divider{});
  blocks.insert(blocks.end(), fitted.blocks.begin(), fitted.blocks.end());
  std::string out;
  append_text(out, blocks);
  out += '\n';
  out += fitted.input.label;
  out += ":\n[";
  out += fitted.submit;
  out += "] [";
  out += fitted.close;
  out += "]\n";
  return out;
}

}  // namespace slack::blockkit
