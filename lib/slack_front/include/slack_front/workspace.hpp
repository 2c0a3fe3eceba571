#pragma once

#include <chrono>
#include <string>

namespace slack_front {

/// Whose envelopes reach the core (issue 15): see WorkspaceGate.
struct WorkspaceSettings {
  std::string team_id;                  ///< auth.test: envelopes from any other team are ignored
  std::string bot_user_id;              ///< auth.test: the bot's own messages are ignored
  bool allow_guests = false;            ///< INFRA_ALLOW_GUESTS
  std::chrono::minutes member_ttl{10};  ///< how long a users.info answer is kept
  std::chrono::milliseconds lookup_timeout{2000};  ///< the longest an envelope waits for one
};

}  // namespace slack_front
