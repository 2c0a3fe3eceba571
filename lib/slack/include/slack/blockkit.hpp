#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// A small model of the Block Kit subset infra-bot sends, with two renderings:
/// Block Kit JSON for Slack and plain text for the console. Both renderings go
/// through the same limit-fitting, so they always carry the same content and
/// Slack never rejects a message for size.
namespace slack::blockkit {

/// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
inline constexpr std::size_t kMaxHeaderChars = 150;
inline constexpr std::size_t kMaxSectionChars = 3000;
inline constexpr std::size_t kMaxBlocksPerMessage = 50;
inline constexpr std::size_t kMaxBlocksPerModal = 100;
inline constexpr std::size_t kMaxModalTitleChars = 24;  ///< title, submit and close
inline constexpr std::size_t kMaxPrivateMetadataChars = 3000;
inline constexpr std::size_t kMaxButtonTextChars = 75;
inline constexpr std::size_t kMaxButtonValueChars = 2000;
inline constexpr std::size_t kMaxActionIdChars = 255;
inline constexpr std::size_t kMaxButtonsPerBlock = 25;

/// A header block (plain_text; emoji shortcodes such as :x: are rendered).
struct Header {
  std::string text;
  friend bool operator==(const Header&, const Header&) = default;
};

/// A divider block; the console draws it as a rule.
struct Divider {
  friend bool operator==(const Divider&, const Divider&) = default;
};

/// A section block of mrkdwn text: an optional title (bold in Slack) above
/// lines. Title and lines are plain text here; the JSON renderer escapes
/// `&`, `<`, `>` so user-supplied text can never become a link or mention.
/// Backticks in lines are kept: they mark code in both renderings.
struct Section {
  std::string title;
  std::vector<std::string> lines;
  friend bool operator==(const Section&, const Section&) = default;
};

/// A context block with one mrkdwn element (small grey text).
struct Context {
  std::string text;
  friend bool operator==(const Context&, const Context&) = default;
};

/// A button (https://api.slack.com/reference/block-kit/block-elements#button):
/// clicking it sends a block_actions payload with action_id and value.
struct Button {
  std::string text;       ///< plain text, at most 75 characters
  std::string action_id;  ///< at most 255
  std::string value;      ///< at most 2000 (cut longer: the caller keeps it short)
  bool danger = false;    ///< red ("style":"danger")
  friend bool operator==(const Button&, const Button&) = default;
};

/// An actions block of buttons (at most 25).
struct Actions {
  std::vector<Button> buttons;
  friend bool operator==(const Actions&, const Actions&) = default;
};

using Block = std::variant<Header, Divider, Section, Context, Actions>;

enum class Visibility { ephemeral, in_channel };

/// A message: reply to a slash command, response_url post or chat.postMessage.
struct Message {
  std::string text;  ///< fallback for notifications and screen readers
  std::vector<Block> blocks;
  Visibility visibility = Visibility::ephemeral;
};

/// The one plain-text input of a modal.
struct TextInput {
  std::string block_id;
  std::string action_id;
  std::string label;
  std::string placeholder;
};

/// A modal view (views.open).
struct Modal {
  std::string callback_id;
  std::string title;
  std::string submit;
  std::string close;
  std::string private_metadata;
  std::vector<Block> blocks;  ///< shown above the input
  TextInput input;
};

/// `message` cut to Slack's limits: long sections split into several, an
/// over-long line or header shortened with "…", and past the block limit the
/// rest summarised as "… and N more" (N counting the lines left out).
Message fit_to_limits(Message message);

/// {"response_type":…,"text":…,"blocks":[…]} after fit_to_limits.
std::string to_json(const Message& message);
/// {"type":"modal",…} after fitting titles and metadata to their limits.
std::string to_json(const Modal& modal);

/// The console rendering after fit_to_limits: a header line, a rule for a
/// divider, a blank line between sections.
std::string to_text(const Message& message);
std::string to_text(const Modal& modal);

/// `&`, `<`, `>` escaped as Slack's mrkdwn requires.
std::string escape_mrkdwn(std::string_view text);

}  // namespace slack::blockkit
