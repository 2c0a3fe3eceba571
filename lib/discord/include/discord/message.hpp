#pragma once

// The chat-neutral reply model (core/reply.hpp) as Discord message and modal
// JSON (../shared/notes/discord.md §3.3, §5, §6): a title and sections become
// an embed (colour by state), buttons become components. Pure.

#include <cstdint>
#include <string>

#include "core/reply.hpp"

namespace discord {

/// The message body for an interaction callback's `data` (type 4), a PATCH of
/// @original and a follow-up: `content` (the summary), `embeds`, `components`,
/// `allowed_mentions: {"parse": []}` (no text can ping anyone), and
/// `flags: 64` when `ephemeral`. Within Discord's limits (it shortens text).
/// A button's custom_id is `action_id` + "|" + `value` (≤ 100 characters; a
/// longer one is left out).
std::string render_message(const core::reply::Message& message, bool ephemeral);

/// The embed colour for a message (0xRRGGBB), from its header.
std::uint32_t color_of(const core::reply::Message& message);

/// The `data` of a type-9 (MODAL) callback: `custom_id` (≤ 100 characters),
/// the title (≤ 45), one text input whose custom_id is modal.input.action_id.
std::string render_modal(const core::reply::Modal& modal, const std::string& custom_id);

}  // namespace discord
