// The Web API's reads parsed from their replies (white-box: lib/slack/src).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "web_api_replies.hpp"

namespace {

using slack::detail::parse_auth_test;
using slack::detail::parse_conversation_info;
using slack::detail::parse_user_info;
using slack::detail::split_scopes;
using V = std::vector<std::string>;

TEST(WebApiReplies, ScopesAreSplitAndTrimmed) {
  EXPECT_EQ(split_scopes("chat:write, commands,app_mentions:read ,\tusers:read"),
            (V{"chat:write", "commands", "app_mentions:read", "users:read"}));
  EXPECT_EQ(split_scopes(""), V{});
  EXPECT_EQ(split_scopes(" , ,"), V{});
}

TEST(WebApiReplies, AuthTestNamesTheWorkspaceOrIsAnError) {
  const auto identity = parse_auth_test(
      R"({"ok":true,"team":"Acme","team_id":"T1","user":"bot","user_id":"U1","bot_id":"B1"})",
      std::string("chat:write,commands"));
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->team_id, "T1");
  EXPECT_EQ(identity->team, "Acme");
  EXPECT_EQ(identity->user_id, "U1");
  EXPECT_EQ(identity->bot_id, "B1");
  ASSERT_TRUE(identity->scopes);
  EXPECT_EQ(*identity->scopes, (V{"chat:write", "commands"}));
  // No header: the scopes are unknown, not none.
  EXPECT_FALSE(parse_auth_test(R"({"ok":true,"team_id":"T1"})", std::nullopt)->scopes);
  for (const char* reply : {R"({"ok":true})", "not json", R"({"team_id":7})"}) {
    const auto missing = parse_auth_test(reply, std::nullopt);
    ASSERT_FALSE(missing) << reply;
    EXPECT_EQ(missing.error().detail, "auth.test: reply without team_id");
  }
}

TEST(WebApiReplies, UserInfoReadsTheGatesFieldsAndTheProfileName) {
  const auto user = parse_user_info(
      R"({"ok":true,"user":{"id":"U1","name":"alice","real_name":"Top","team_id":"T1",)"
      R"("is_app_user":true,"deleted":true,"is_restricted":true,"is_ultra_restricted":true,)"
      R"("is_stranger":true,"profile":{"real_name":"Alice Liddell"}}})");
  EXPECT_EQ(user.id, "U1");
  EXPECT_EQ(user.name, "alice");
  EXPECT_EQ(user.real_name, "Alice Liddell") << "the profile's name first";
  EXPECT_EQ(user.team_id, "T1");
  EXPECT_TRUE(user.is_bot) << "an app user counts as a bot";
  EXPECT_TRUE(user.deleted);
  EXPECT_TRUE(user.is_restricted);
  EXPECT_TRUE(user.is_ultra_restricted);
  EXPECT_TRUE(user.is_stranger);
  EXPECT_EQ(parse_user_info(R"({"ok":true,"user":{"id":"U2","real_name":"Bob"}})").real_name,
            "Bob");
  const auto empty = parse_user_info("{}");
  EXPECT_TRUE(empty.id.empty());
  EXPECT_FALSE(empty.is_bot);
}

TEST(WebApiReplies, ConversationInfoKeepsTheAskedIdWhenTheReplyHasNone) {
  const auto info = parse_conversation_info(
      R"({"ok":true,"channel":{"id":"C9","name":"ops","is_private":true,"is_member":true}})", "C1");
  EXPECT_EQ(info.id, "C9");
  EXPECT_EQ(info.name, "ops");
  EXPECT_TRUE(info.is_private);
  EXPECT_TRUE(info.is_member);
  EXPECT_FALSE(info.is_archived);
  EXPECT_EQ(parse_conversation_info(R"({"ok":true})", "C1").id, "C1");
}

}  // namespace
