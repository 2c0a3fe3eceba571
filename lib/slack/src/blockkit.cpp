#include "slack/blockkit.hpp"
#include "core/overloaded.hpp"

#include <algorithm>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/strings.hpp"

namespace slack::blockkit {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

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

void write_string(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_plain_text(JsonWriter& w, std::string_view text) {
  w.StartObject();
  write_key(w, "type");
  write_string(w, "plain_text");
  write_key(w, "text");
  write_string(w, text);
  write_key(w, "emoji");
  w.Bool(true);
  w.EndObject();
}

void write_mrkdwn(JsonWriter& w, std::string_view escaped) {
  w.StartObject();
  write_key(w, "type");
  write_string(w, "mrkdwn");
  write_key(w, "text");
  write_string(w, escaped);
  w.EndObject();
}

std::string section_mrkdwn(const Section& section) {
  std::string out;
  bool first = true;
  if (!section.title.empty()) {
    out += '*';
    out += escape_mrkdwn(section.title);
    out += '*';
    first = false;
  }
  for (const auto& line : section.lines) {
    if (!first) out += '\n';
    out += escape_mrkdwn(line);
    first = false;
  }
  return out;
}

void write_block(JsonWriter& w, const Block& block) {
  w.StartObject();
  std::visit(core::Overloaded{
                 [&](const Header& h) {
                   write_key(w, "type");
                   write_string(w, "header");
                   write_key(w, "text");
                   write_plain_text(w, h.text);
                 },
                 [&](const Divider&) {
                   write_key(w, "type");
                   write_string(w, "divider");
                 },
                 [&](const Section& s) {
                   write_key(w, "type");
                   write_string(w, "section");
                   write_key(w, "text");
                   write_mrkdwn(w, section_mrkdwn(s));
                 },
                 [&](const Context& c) {
                   write_key(w, "type");
                   write_string(w, "context");
                   write_key(w, "elements");
                   w.StartArray();
                   write_mrkdwn(w, escape_mrkdwn(c.text));
                   w.EndArray();
                 },
                 [&](const Actions& a) {
                   write_key(w, "type");
                   write_string(w, "actions");
                   write_key(w, "elements");
                   w.StartArray();
                   for (const auto& button : a.buttons) {
                     w.StartObject();
                     write_key(w, "type");
                     write_string(w, "button");
                     write_key(w, "text");
                     write_plain_text(w, button.text);
                     write_key(w, "action_id");
                     write_string(w, button.action_id);
                     write_key(w, "value");
                     write_string(w, button.value);
                     if (button.danger) {
                       write_key(w, "style");
                       write_string(w, "danger");
                     }
                     w.EndObject();
                   }
                   w.EndArray();
                 },
             },
             block);
  w.EndObject();
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
  const Message fitted = fit_to_limits(message);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "response_type");
  write_string(w, fitted.visibility == Visibility::in_channel ? "in_channel" : "ephemeral");
  // The fallback is mrkdwn too (notifications): escaped like the blocks.
  write_key(w, "text");
  write_string(w, escape_mrkdwn(fitted.text));
  write_key(w, "blocks");
  w.StartArray();
  for (const auto& block : fitted.blocks) write_block(w, block);
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string to_json(const Modal& modal) {
  const Modal fitted = fit_modal(modal);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "type");
  write_string(w, "modal");
  write_key(w, "callback_id");
  write_string(w, fitted.callback_id);
  write_key(w, "title");
  write_plain_text(w, fitted.title);
  write_key(w, "submit");
  write_plain_text(w, fitted.submit);
  write_key(w, "close");
  write_plain_text(w, fitted.close);
  write_key(w, "private_metadata");
  write_string(w, fitted.private_metadata);
  // So a cancelled teardown can be answered ("Teardown of `dev` cancelled.").
  write_key(w, "notify_on_close");
  w.Bool(true);
  write_key(w, "blocks");
  w.StartArray();
  for (const auto& block : fitted.blocks) write_block(w, block);
  w.StartObject();
  write_key(w, "type");
  write_string(w, "input");
  write_key(w, "block_id");
  write_string(w, fitted.input.block_id);
  write_key(w, "label");
  write_plain_text(w, fitted.input.label);
  write_key(w, "element");
  w.StartObject();
  write_key(w, "type");
  write_string(w, "plain_text_input");
  write_key(w, "action_id");
  write_string(w, fitted.input.action_id);
  if (!fitted.input.placeholder.empty()) {  // Slack refuses an empty plain_text
    write_key(w, "placeholder");
    write_plain_text(w, fitted.input.placeholder);
  }
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
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
