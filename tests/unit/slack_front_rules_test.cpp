// The Slack front end's own rules (issue 15), white-box: where a response_url
// may point, who the workspace gate lets through on users.info's answer, and
// a reply target as the address another replica reopens (issue 18).
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "response_url_rule.hpp"
#include "slack/web_api.hpp"
#include "slack_conversation.hpp"
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

// ---- reply targets as addresses (Conversation::address, ConversationOpener) ----

using slack_front::ReplyTarget;
using slack_front::target_from_address;
using slack_front::to_address;

void expect_same(const ReplyTarget& got, const ReplyTarget& want, const std::string& what) {
  EXPECT_EQ(got.kind, want.kind) << what;
  EXPECT_EQ(got.response_url, want.response_url) << what;
  EXPECT_EQ(got.channel, want.channel) << what;
  EXPECT_EQ(got.user, want.user) << what;
  EXPECT_EQ(got.thread_ts, want.thread_ts) << what;
}

TEST(ReplyTargetAddress, EveryKindRoundTrips) {
  const struct {
    std::string what;
    ReplyTarget target;
  } cases[] = {
      {"response_url",
       {ReplyTarget::Kind::response_url, "https://hooks.slack.com/commands/T0123/1/abc", "C0DEV",
        "U0ALICE01", ""}},
      {"thread", {ReplyTarget::Kind::thread, "", "C0DEV", "U0ALICE01", "1700000000.000100"}},
      {"channel", {ReplyTarget::Kind::channel, "", "C0DEV", "U0ALICE01", ""}},
      // What JSON must escape survives: quotes, backslashes, non-ASCII.
      {"escapes",
       {ReplyTarget::Kind::response_url, "https://hooks.slack.com/actions/T\\1/\"x\"/é", "", "",
        ""}},
  };
  for (const auto& c : cases) {
    const auto address = to_address(c.target);
    const auto back = target_from_address(address);
    ASSERT_TRUE(back.has_value()) << c.what << ": " << address;
    expect_same(*back, c.target, c.what);
    EXPECT_EQ(to_address(*back), address) << c.what;
  }
  // The kinds are told apart in the address.
  EXPECT_NE(to_address({ReplyTarget::Kind::thread, "", "C1", "U1", "1.2"}),
            to_address({ReplyTarget::Kind::channel, "", "C1", "U1", "1.2"}));
}

TEST(ReplyTargetAddress, WhatIsNotAnAddressIsRefused) {
  const char* cases[] = {
      "",
      "not json",
      "C1/1700000000.000100",  // another front end's address
      "[]",
      R"("response_url")",
      R"({"response_url":"https://hooks.slack.com/commands/T0123/1/abc"})",  // no kind
      R"({"kind":7,"channel":"C1"})",
      R"({"kind":"email","channel":"C1"})",
      R"({"kind":"RESPONSE_URL","response_url":"https://hooks.slack.com/commands/1"})",
      R"({"kind":"response_url","channel":"C1"})",  // its URL missing
      R"({"kind":"response_url","response_url":"","channel":"C1"})",
      R"({"kind":"thread","thread_ts":"1.2"})",  // no channel
      R"({"kind":"channel","channel":""})",
      R"({"kind":"channel","channel":"C1")",  // truncated
  };
  for (const char* address : cases) {
    EXPECT_EQ(target_from_address(address), std::nullopt) << address;
  }
}

}  // namespace
