#pragma once

// The Gateway's payloads (../shared/notes/discord.md §2.3–2.7), built and
// parsed apart from the client's state machine: private to lib/discord.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace discord::detail {

/// A received envelope {op, d, s, t}: `d` kept as JSON text.
struct GatewayFrame {
  int op = -1;
  std::string d_json = "null";
  std::optional<std::int64_t> s;
  std::string t;
  // Fields read from `d` for the ops that need them.
  std::int64_t heartbeat_interval_ms = 0;  ///< op 10
  bool resumable = false;                  ///< op 9
};
core::Result<GatewayFrame> parse_frame(std::string_view text);

/// What READY's `d` carries that the client keeps.
struct ReadyFields {
  std::string session_id;
  std::string resume_gateway_url;
  std::string application_id;
  std::string user_id;
};
core::Result<ReadyFields> parse_ready(std::string_view d_json);

std::string identify_payload(const std::string& token, int intents);
std::string resume_payload(const std::string& token, const std::string& session_id,
                           std::optional<std::int64_t> seq);
std::string heartbeat_payload(std::optional<std::int64_t> seq);

/// `base` (wss://host, with or without a trailing slash) + "/?v=10&encoding=json".
std::string connect_url(std::string_view base);

}  // namespace discord::detail
