#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

/// Socket Mode frames as typed values (https://api.slack.com/apis/socket-mode).
/// Parsing is lenient about extra fields and strict about what we rely on.
namespace slack {

/// `{"type":"hello",…}`: the connection is ready.
struct Hello {
  int num_connections = 0;
  int approximate_connection_time = 0;  ///< seconds, from debug_info
  std::string app_id;
};

/// `{"type":"disconnect","reason":…}`: refresh_requested, warning,
/// too_many_websockets, link_disabled, …
struct Disconnect {
  std::string reason;
};

/// A `slash_commands` payload.
struct SlashCommand {
  std::string command;  ///< "/infra"
  std::string text;     ///< still HTML-escaped, as Slack sends it
  std::string user_id, user_name, team_id, channel_id, channel_name;
  std::string response_url;
  std::string trigger_id;
};

/// An `interactive` payload: block_actions, view_submission, view_closed,
/// shortcut, message_action. Only the fields the app reads are lifted out.
struct Interaction {
  std::string type;  ///< "view_submission", "view_closed", "block_actions", …
  std::string user_id, user_name, team_id, channel_id;
  std::string trigger_id;
  std::string response_url;  ///< block_actions from messages; may be empty
  std::string view_id, view_callback_id, view_private_metadata;
  /// Plain-text input values of a submitted view: (block_id, action_id, value).
  struct InputValue {
    std::string block_id, action_id, value;
  };
  std::vector<InputValue> values;
  /// block_actions: (action_id, value) of the clicked elements.
  struct Action {
    std::string action_id, value;
  };
  std::vector<Action> actions;
};

/// An `events_api` payload (the event callback).
struct Event {
  std::string event_id;
  std::string type;  ///< the inner event's type, e.g. "app_mention"
  std::string user, text, channel, ts, thread_ts, team_id;
  /// Set when a bot or a workflow wrote the message (bot_id, subtype "bot_message").
  std::string bot_id, subtype;
};

/// An envelope that must be acked.
struct Envelope {
  std::string envelope_id;
  std::string type;  ///< "slash_commands", "interactive", "events_api", or another
  bool accepts_response_payload = false;
  int retry_attempt = 0;
  std::string retry_reason;
  std::variant<std::monostate, SlashCommand, Interaction, Event> payload;
  /// The payload object as the frame held it (its bytes, or re-serialised when they had
  /// to be repaired), for anything not lifted out.
  std::string payload_json;

  /// The key a redelivery keeps when Slack re-sends under a new envelope id:
  /// event_id for events, trigger_id for commands and interactions; empty
  /// when there is none.
  std::string natural_key() const;
};

using Frame = std::variant<Hello, Disconnect, Envelope>;

/// Parses one text frame. Empty, non-JSON, or unknown `type` without an
/// envelope_id → an invalid_input Error (the caller logs and skips it).
core::Result<Frame> parse_frame(std::string_view text);

}  // namespace slack
