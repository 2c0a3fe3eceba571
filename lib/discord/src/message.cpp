// The reply model as Discord message and modal JSON (../shared/notes/discord.md
// §3.3, §5, §6). Discord renders markdown in content, embed titles,
// descriptions and fields, but not in footers, button labels or modal text:
// the first get user text escaped, the second get it plain.
#include "discord/message.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/overloaded.hpp"
#include "core/strings.hpp"

namespace discord {
namespace {

using core::reply::Actions;
using core::reply::Block;
using core::reply::Button;
using core::reply::Context;
using core::reply::Divider;
using core::reply::Header;
using core::reply::Section;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Limits (§5, §6).
constexpr std::size_t kMaxContent = 2000;
constexpr std::size_t kMaxTitle = 256;
constexpr std::size_t kMaxDescription = 4096;
constexpr std::size_t kMaxFields = 25;
constexpr std::size_t kMaxFieldName = 256;
constexpr std::size_t kMaxFieldValue = 1024;
constexpr std::size_t kMaxFooter = 2048;
constexpr std::size_t kMaxEmbedTotal = 6000;
constexpr std::size_t kMaxCustomId = 100;
constexpr std::size_t kMaxButtonLabel = 80;
constexpr std::size_t kMaxButtonsPerRow = 5;
constexpr std::size_t kMaxModalTitle = 45;
constexpr std::size_t kMaxLabel = 45;
constexpr std::size_t kMaxLabelDescription = 100;
constexpr std::size_t kMaxPlaceholder = 100;

constexpr std::uint32_t kGreen = 0x57F287;
constexpr std::uint32_t kRed = 0xED4245;
constexpr std::uint32_t kAmber = 0xFEE75C;
constexpr std::uint32_t kBlurple = 0x5865F2;

constexpr int kEphemeral = 1 << 6;

// Discord shows Slack shortcodes in bot messages as typed, so the ones the
// views use (lib/infra/src/views*.cpp) become the emoji they name.
struct Shortcode {
  std::string_view code;
  std::string_view emoji;
};
constexpr std::array<Shortcode, 10> kShortcodes{{
    {":white_check_mark:", "\u2705"},
    {":x:", "\u274C"},
    {":red_circle:", "\U0001F534"},
    {":hourglass_flowing_sand:", "\u23F3"},
    {":hourglass:", "\u231B"},
    {":grey_question:", "\u2754"},
    {":warning:", "\u26A0\uFE0F"},
    {":no_entry:", "\u26D4"},
    {":information_source:", "\u2139\uFE0F"},
    {":repeat:", "\U0001F501"},
}};

std::string convert_shortcodes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == ':') {
      for (const auto& s : kShortcodes) {
        if (text.substr(i, s.code.size()) == s.code) {
          out += s.emoji;
          i += s.code.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// Emphasis, spoilers, quotes, escapes; and what would make text from users
// more than text in an embed: a masked link ([text](url)), a heading (#) or a
// mention, channel or timestamp tag (<@…>, <#…>, <t:…>).
bool is_markdown_special(char c) {
  return c == '*' || c == '_' || c == '~' || c == '|' || c == '>' || c == '\\' || c == '[' ||
         c == ']' || c == '#' || c == '<';
}

// Markdown text: shortcodes converted, and outside `code` spans each markdown
// special escaped, so text from users (descriptions, Lambda messages) shows
// as typed. A backtick without a partner is escaped too: it would open a span.
std::string to_markdown(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t tick = text.find('`', i);
    const std::size_t plain_end = tick == std::string_view::npos ? text.size() : tick;
    for (const char c : convert_shortcodes(text.substr(i, plain_end - i))) {
      if (is_markdown_special(c)) out += '\\';
      out += c;
    }
    if (tick == std::string_view::npos) break;
    const std::size_t close = text.find('`', tick + 1);
    if (close == std::string_view::npos) {
      out += "\\`";
      i = tick + 1;
      continue;
    }
    out.append(text.substr(tick, close + 1 - tick));
    i = close + 1;
  }
  return out;
}

// Plain text (footers, labels, modal text render no markdown): shortcodes
// converted and the backticks that would show literally dropped.
std::string to_plain(std::string_view text) {
  std::string out = convert_shortcodes(text);
  out.erase(std::remove(out.begin(), out.end(), '`'), out.end());
  return out;
}

// Length as Discord's limits count it. UTF-16 units are never fewer than
// code points, so counting them can only keep us under a limit.
std::size_t length_of(std::string_view text) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;
    units += byte >= 0xF0 ? 2 : 1;
  }
  return units;
}

// The longest prefix of `text` of at most `budget` units, cut before a lead byte.
std::string prefix_within(std::string_view text, std::size_t budget) {
  std::size_t units = 0;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;
    const std::size_t cost = byte >= 0xF0 ? 2 : 1;
    if (units + cost > budget) break;
    units += cost;
  }
  return std::string(text.substr(0, i));
}

// `text` within `max` units, shortened with "…". In markdown the cut must not
// leave a dangling escape or an open code span.
std::string shorten(std::string_view text, std::size_t max, bool markdown) {
  if (length_of(text) <= max) return std::string(text);
  if (max == 0) return {};
  std::string out = prefix_within(text, max > 2 ? max - 2 : max - 1);
  if (markdown) {
    std::size_t slashes = 0;
    for (auto it = out.rbegin(); it != out.rend() && *it == '\\'; ++it) ++slashes;
    if (slashes % 2 == 1) out.pop_back();
    if (std::count(out.begin(), out.end(), '`') % 2 == 1) out += '`';
  }
  out += "\u2026";
  return out;
}

struct Field {
  std::string name;
  std::string value;
};

struct Embed {
  std::string title;
  std::string description;
  std::vector<Field> fields;
  std::string footer;

  std::size_t total() const {
    std::size_t sum = length_of(title) + length_of(description) + length_of(footer);
    for (const auto& f : fields) sum += length_of(f.name) + length_of(f.value);
    return sum;
  }
  bool empty() const {
    return title.empty() && description.empty() && fields.empty() && footer.empty();
  }
};

// An embed field cannot be empty; a zero-width space stands for nothing.
constexpr std::string_view kBlank = "\u200B";

std::string joined_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += '\n';
    out += to_markdown(line);
  }
  return out;
}

// The "N more" field that stands in for the fields cut away.
Field more_field(std::size_t hidden) {
  return Field{"\u2026", std::to_string(hidden) + (hidden == 1 ? " more section not shown"
                                                               : " more sections not shown")};
}

// Cuts fields from the end (leaving a "more" note), then the description,
// until the embed fits Discord's 6000-unit total.
void fit_total(Embed& embed, std::size_t hidden) {
  while (embed.total() > kMaxEmbedTotal && !embed.fields.empty()) {
    if (hidden > 0) embed.fields.pop_back();  // the previous note
    embed.fields.pop_back();
    ++hidden;
    embed.fields.push_back(more_field(hidden));
    if (embed.fields.size() == 1) break;
  }
  if (embed.total() > kMaxEmbedTotal) {
    const std::size_t rest = embed.total() - length_of(embed.description);
    embed.description =
        shorten(embed.description, kMaxEmbedTotal - std::min(rest, kMaxEmbedTotal), true);
  }
}

Embed embed_of(const core::reply::Message& message) {
  Embed embed;
  std::vector<std::string> description;
  std::vector<std::string> footer;
  std::vector<Field> fields;
  for (const Block& block : message.blocks) {
    std::visit(core::Overloaded{
                   [&](const Header& h) {
                     if (embed.title.empty()) {
                       embed.title = shorten(to_markdown(h.text), kMaxTitle, true);
                     } else {
                       description.push_back(to_markdown(h.text));
                     }
                   },
                   [](const Divider&) {},
                   [&](const Section& s) {
                     if (s.title.empty()) {
                       if (!s.lines.empty()) description.push_back(joined_lines(s.lines));
                       return;
                     }
                     std::string value = joined_lines(s.lines);
                     if (value.empty()) value = kBlank;
                     // "ECS Services:" reads as a heading in Slack; a field name is one.
                     std::string_view title = s.title;
                     if (title.size() > 1 && title.back() == ':') title.remove_suffix(1);
                     fields.push_back(Field{shorten(to_markdown(title), kMaxFieldName, true),
                                            shorten(value, kMaxFieldValue, true)});
                   },
                   [&](const Context& c) { footer.push_back(to_plain(c.text)); },
                   [](const Actions&) {},
               },
               block);
  }
  embed.description = shorten(core::join(description, "\n\n"), kMaxDescription, true);
  embed.footer = shorten(core::join(footer, " \u00B7 "), kMaxFooter, false);
  std::size_t hidden = 0;
  if (fields.size() > kMaxFields) {
    hidden = fields.size() - (kMaxFields - 1);
    fields.resize(kMaxFields - 1);
    fields.push_back(more_field(hidden));
  }
  embed.fields = std::move(fields);
  fit_total(embed, hidden);
  return embed;
}

// A message that is one untitled section (a notice) says everything in its
// content; an embed would repeat it.
bool is_notice(const core::reply::Message& message) {
  return message.blocks.size() == 1 && std::holds_alternative<Section>(message.blocks[0]) &&
         std::get<Section>(message.blocks[0]).title.empty();
}

void write_string(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_embed(JsonWriter& w, const Embed& embed, std::uint32_t color) {
  w.StartObject();
  if (!embed.title.empty()) write_string(w, "title", embed.title);
  if (!embed.description.empty()) write_string(w, "description", embed.description);
  w.Key("color");
  w.Uint(color);
  if (!embed.fields.empty()) {
    w.Key("fields");
    w.StartArray();
    for (const auto& field : embed.fields) {
      w.StartObject();
      write_string(w, "name", field.name);
      write_string(w, "value", field.value);
      w.Key("inline");
      w.Bool(false);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!embed.footer.empty()) {
    w.Key("footer");
    w.StartObject();
    write_string(w, "text", embed.footer);
    w.EndObject();
  }
  w.EndObject();
}

// Buttons whose custom_id fits (one row of at most five): Discord refuses a
// longer id, and a button without one cannot come back to us.
std::vector<Button> usable_buttons(const core::reply::Message& message) {
  std::vector<Button> out;
  for (const Block& block : message.blocks) {
    const auto* actions = std::get_if<Actions>(&block);
    if (actions == nullptr) continue;
    for (const auto& button : actions->buttons) {
      if (out.size() == kMaxButtonsPerRow) return out;
      if (button.action_id.empty()) continue;
      if (length_of(button.action_id) + 1 + length_of(button.value) > kMaxCustomId) continue;
      out.push_back(button);
    }
  }
  return out;
}

void write_buttons(JsonWriter& w, const std::vector<Button>& buttons) {
  w.Key("components");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.Int(1);
  w.Key("components");
  w.StartArray();
  for (const auto& button : buttons) {
    w.StartObject();
    w.Key("type");
    w.Int(2);
    w.Key("style");
    w.Int(button.danger ? 4 : 1);
    std::string label = shorten(to_plain(button.text), kMaxButtonLabel, false);
    if (label.empty()) label = "OK";
    write_string(w, "label", label);
    write_string(w, "custom_id", button.action_id + "|" + button.value);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
}

// The words and icons a message's state shows in.
bool mentions(std::string_view text, std::initializer_list<std::string_view> needles) {
  const std::string lower = core::to_lower(text);
  return std::any_of(needles.begin(), needles.end(), [&lower](std::string_view needle) {
    return lower.find(needle) != std::string::npos;
  });
}

std::optional<std::uint32_t> color_of_text(std::string_view text) {
  if (mentions(text, {":x:", ":red_circle:", ":no_entry:", "failed", "stopped", "error"})) {
    return kRed;
  }
  if (mentions(text, {":hourglass", ":warning:", "working", "progress", "still"})) return kAmber;
  if (mentions(text, {":white_check_mark:", "running", "success", " ok", "completed"})) {
    return kGreen;
  }
  return std::nullopt;
}

}  // namespace

std::uint32_t color_of(const core::reply::Message& message) {
  // The header says the state ("✅ STOP - DEV", "❌ …"); a notice says it in
  // its one line; a status card (no icon in its header) by its worst line.
  for (const Block& block : message.blocks) {
    if (const auto* header = std::get_if<Header>(&block)) {
      if (auto color = color_of_text(header->text)) return *color;
      break;
    }
  }
  if (is_notice(message)) {
    const auto& lines = std::get<Section>(message.blocks[0]).lines;
    if (!lines.empty()) return color_of_text(lines[0]).value_or(kBlurple);
  }
  bool busy = false;
  bool ok = false;
  for (const Block& block : message.blocks) {
    const auto* section = std::get_if<Section>(&block);
    if (section == nullptr) continue;
    for (const auto& line : section->lines) {
      if (line.find(":red_circle:") != std::string::npos) return kRed;
      busy = busy || line.find(":hourglass") != std::string::npos ||
             line.find(":warning:") != std::string::npos;
      ok = ok || line.find(":white_check_mark:") != std::string::npos;
    }
  }
  if (busy) return kAmber;
  if (ok) return kGreen;
  return kBlurple;
}

std::string render_message(const core::reply::Message& message, bool ephemeral) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  // A notice without a summary still says its line: Discord refuses a
  // message with no content, embed or component (50006).
  std::string_view summary = message.text;
  if (summary.empty() && is_notice(message)) {
    const auto& lines = std::get<Section>(message.blocks[0]).lines;
    if (!lines.empty()) summary = lines.front();
  }
  const std::string content = shorten(to_markdown(summary), kMaxContent, true);
  if (!content.empty()) write_string(w, "content", content);
  const Embed embed = is_notice(message) ? Embed{} : embed_of(message);
  w.Key("embeds");
  w.StartArray();
  if (!embed.empty()) write_embed(w, embed, color_of(message));
  w.EndArray();
  const std::vector<Button> buttons = usable_buttons(message);
  if (!buttons.empty()) {
    write_buttons(w, buttons);
  } else {
    w.Key("components");
    w.StartArray();
    w.EndArray();
  }
  // Nothing in a reply may ping: user text can hold @everyone or <@id>.
  w.Key("allowed_mentions");
  w.StartObject();
  w.Key("parse");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  if (ephemeral) {
    w.Key("flags");
    w.Int(kEphemeral);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string render_modal(const core::reply::Modal& modal, const std::string& custom_id) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  // A custom_id is machine data: cut, never marked.
  write_string(w, "custom_id", prefix_within(custom_id, kMaxCustomId));
  std::string title = shorten(to_plain(modal.title), kMaxModalTitle, false);
  if (title.empty()) title = "Confirm";
  write_string(w, "title", title);
  w.Key("components");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.Int(18);
  std::string label = shorten(to_plain(modal.input.label), kMaxLabel, false);
  if (label.empty()) label = "Confirm";
  write_string(w, "label", label);
  // The first section's gist: a Label's description is all the text a modal
  // shows above its input.
  for (const Block& block : modal.blocks) {
    const auto* section = std::get_if<Section>(&block);
    if (section == nullptr) continue;
    std::string summary = to_plain(section->title);
    if (!summary.empty() && !section->lines.empty()) summary += ':';
    for (const auto& line : section->lines) {
      if (!summary.empty()) summary += ' ';
      summary += to_plain(line);
      if (length_of(summary) > kMaxLabelDescription) break;
    }
    if (!summary.empty()) {
      write_string(w, "description", shorten(summary, kMaxLabelDescription, false));
    }
    break;
  }
  w.Key("component");
  w.StartObject();
  w.Key("type");
  w.Int(4);
  write_string(w, "custom_id", prefix_within(modal.input.action_id, kMaxCustomId));
  w.Key("style");
  w.Int(1);
  w.Key("required");
  w.Bool(true);
  if (!modal.input.placeholder.empty()) {
    write_string(w, "placeholder",
                 shorten(to_plain(modal.input.placeholder), kMaxPlaceholder, false));
  }
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace discord
