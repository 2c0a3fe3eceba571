#pragma once

// The chat-neutral reply model (design §9): what the /infra core says, as a
// title, sections of lines, small print, buttons and a typed-confirmation
// dialog. Each front end renders it: Slack as Block Kit
// (slack::blockkit::to_json), the console as text, Discord as embeds. Text is
// plain: renderers escape what their markup needs; backticks mark code.

#include <string>
#include <variant>
#include <vector>

namespace core::reply {

/// The title line (emoji shortcodes such as :x: are kept for the renderer).
struct Header {
  std::string text;
  friend bool operator==(const Header&, const Header&) = default;
};

/// A rule between parts.
struct Divider {
  friend bool operator==(const Divider&, const Divider&) = default;
};

/// A section: an optional title (bold) above lines (fields read "Label: value").
/// Title and lines are plain text; renderers escape their markup (Slack:
/// `&`, `<`, `>`) so user-supplied text can never become a link or mention.
struct Section {
  std::string title;
  std::vector<std::string> lines;
  friend bool operator==(const Section&, const Section&) = default;
};

/// Small print under the rest (who asked, hints).
struct Context {
  std::string text;
  friend bool operator==(const Context&, const Context&) = default;
};

/// A button: clicking it comes back to the front end with action_id and value.
struct Button {
  std::string text;
  std::string action_id;
  std::string value;  ///< kept short (Slack allows 2000 characters)
  bool danger = false;
  friend bool operator==(const Button&, const Button&) = default;
};

/// A row of buttons.
struct Actions {
  std::vector<Button> buttons;
  friend bool operator==(const Actions&, const Actions&) = default;
};

using Block = std::variant<Header, Divider, Section, Context, Actions>;

enum class Visibility { ephemeral, in_channel };

/// One reply.
/// Who sees a message: its requester only, or everyone where it was asked.
struct Message {
  std::string text;  ///< one-line summary (notifications, screen readers)
  std::vector<Block> blocks;
  Visibility visibility = Visibility::ephemeral;
};

/// The one text input of a confirmation dialog.
struct TextInput {
  std::string block_id;
  std::string action_id;
  std::string label;
  std::string placeholder;
};

/// A typed-confirmation dialog (Slack: a modal; Discord: a modal).
struct Modal {
  std::string callback_id;
  std::string title;
  std::string submit;
  std::string close;
  std::string private_metadata;
  std::vector<Block> blocks;  ///< shown above the input
  TextInput input;
};

}  // namespace core::reply
