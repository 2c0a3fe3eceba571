#pragma once

// The replies of the Web API's reads, parsed once into typed values (pure:
// the JSON text in, the value out; absent fields stay empty or false).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "slack/web_api.hpp"

namespace slack::detail {

/// users.info's reply (`{"ok":true,"user":{…}}`).
UserInfo parse_user_info(std::string_view reply);

/// auth.test's reply, with the x-oauth-scopes header when Slack sent one
/// (none: the scopes are unknown, not empty). An Error when the reply names no
/// workspace.
core::Result<AuthIdentity> parse_auth_test(std::string_view reply,
                                           const std::optional<std::string>& oauth_scopes);

/// conversations.info's reply for `channel`.
ConversationInfo parse_conversation_info(std::string_view reply, const std::string& channel);

/// "chat:write, commands" → {"chat:write", "commands"}; empty items dropped.
std::vector<std::string> split_scopes(std::string_view header);

}  // namespace slack::detail
