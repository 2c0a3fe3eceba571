#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/reply.hpp"

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

// The model is the chat-neutral core::reply (design §9); this header adds
// Slack's limits and renderings.
using core::reply::Actions;
using core::reply::Block;
using core::reply::Button;
using core::reply::Context;
using core::reply::Divider;
using core::reply::Header;
using core::reply::Message;
using core::reply::Modal;
using core::reply::Section;
using core::reply::TextInput;
using core::reply::Visibility;

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
