// The Slack front end's own rules (issue 15), white-box: where a response_url
// may point, and who the workspace gate lets through on users.info's answer.
#include <string>

#include <gtest/gtest.h>

#include "response_url_rule.hpp"
#include "slack/web_api.hpp"
#include "workspace_gate.hpp"

namespace {

using slack_front::acceptable_response_url;
using slack_front::Verdict;
using slack_front::WorkspaceGate;
using slack_front::WorkspaceSettings;

constexpr std::string_view kSlack = "https://slack.com/api/";
constexpr std::string_view kFake = "https://127.0.0.1:8443/api/";

TEST(ResponseUrlRule, OnlySlacksHooksOrTheOverriddenApiHost) {
  const struct {
    std::string_view url;
    std::string_view api;
    bool ok;
  } cases[] = {
      {"https://hooks.slack.com/commands/T0123/1/abc", kSlack, true},
      {"https://hooks.slack.com/actions/T0123/1/abc", kFake, true},
      {"https://hooks.slack.com/", kSlack, false},  // no path: not a response_url
      {"http://hooks.slack.com/commands/T0123/1/abc", kSlack, false},
      {"https://hooks.slack.com.evil.example/commands/1", kSlack, false},
      {"https://hooks.slack.com@evil.example/commands/1", kSlack, false},
      {"https://evil.example/https://hooks.slack.com/x", kSlack, false},
      {"https://HOOKS.slack.com/commands/1", kSlack, false},
      {"https://hooks.slack.com/commands/1 https://evil", kSlack, false},
      {"https://hooks.slack.com/commands/1\n", kSlack, false},
      {"", kSlack, false},
      // Slack's own API host is not where replies go.
      {"https://slack.com/api/chat.postMessage", kSlack, false},
      // A fake (tests) or a proxy: its scheme, host and port exactly.
      {"https://127.0.0.1:8443/response/7", kFake, true},
      {"https://127.0.0.1:8443", kFake, false},
      {"https://127.0.0.1:84430/response/7", kFake, false},
      {"https://127.0.0.1:8443@evil/response/7", kFake, false},
      {"http://127.0.0.1:8443/response/7", kFake, false},
      {"https://127.0.0.2:8443/response/7", kFake, false},
      {"https://127.0.0.1:8443/response/7", "not a url", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(acceptable_response_url(c.url, c.api), c.ok) << c.url << " with " << c.api;
  }
}

slack::UserInfo user(void (*edit)(slack::UserInfo&)) {
  slack::UserInfo info;
  info.id = "U0456EFGH";
  info.name = "alice";
  info.team_id = "T0123ABCD";
  edit(info);
  return info;
}

TEST(WorkspaceGate, JudgesUsersInfo) {
  WorkspaceSettings settings;
  settings.team_id = "T0123ABCD";
  const struct {
    const char* what;
    slack::UserInfo info;
    const char* reason;  // empty = member
    const char* with_guests;
  } cases[] = {
      {"member", user([](slack::UserInfo&) {}), "", ""},
      {"multi-channel guest", user([](slack::UserInfo& u) { u.is_restricted = true; }), "guest",
       ""},
      {"single-channel guest", user([](slack::UserInfo& u) { u.is_ultra_restricted = true; }),
       "guest", ""},
      {"Slack Connect stranger", user([](slack::UserInfo& u) { u.is_stranger = true; }), "external",
       ""},
      {"another team", user([](slack::UserInfo& u) { u.team_id = "T0OTHER"; }), "external", ""},
      {"no team named", user([](slack::UserInfo& u) { u.team_id.clear(); }), "", ""},
      {"bot", user([](slack::UserInfo& u) { u.is_bot = true; }), "bot", "bot"},
      {"deactivated", user([](slack::UserInfo& u) { u.deleted = true; }), "deactivated",
       "deactivated"},
  };
  for (const auto& c : cases) {
    settings.allow_guests = false;
    auto verdict = WorkspaceGate::judge(c.info, settings);
    EXPECT_EQ(verdict.reason, c.reason) << c.what;
    EXPECT_EQ(verdict.standing == Verdict::Standing::member, std::string(c.reason).empty())
        << c.what;
    settings.allow_guests = true;
    verdict = WorkspaceGate::judge(c.info, settings);
    EXPECT_EQ(verdict.reason, c.with_guests) << c.what << " (guests allowed)";
  }
}

}  // namespace
