#pragma once
// Where a slash command's or a button's response_url may point (issue 15):
// the bot POSTs its answers there, so a forged one would send them — and the
// request's details — anywhere.

#include <string_view>

namespace slack_front {

/// True for https://hooks.slack.com/…, and, when SLACK_API_URL is not
/// Slack's own (a fake in tests, a proxy), for a URL on its scheme, host and
/// port. Nothing else.
bool acceptable_response_url(std::string_view url, std::string_view slack_api_url);

}  // namespace slack_front
