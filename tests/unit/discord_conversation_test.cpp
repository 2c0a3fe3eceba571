// How one Discord interaction's answers go out (lib/discord_front/src/
// discord_conversation.*): the initial response always first, even for what
// the core queued before it; the final answer where everyone — or only the
// requester — sees it; the channel from the bot once the token has expired;
// the address another replica reopens.

#include "discord_conversation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/strand_pool.hpp"
#include "discord/rest_client.hpp"
#include "recording_sink.hpp"
#include "scripted_http_client.hpp"

namespace {

using discord_front::DiscordConversation;
using discord_front::ReplyTarget;
using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::Not;

core::reply::Message message(std::string text, core::reply::Visibility visibility) {
  core::reply::Message out;
  out.text = text;
  out.blocks.emplace_back(core::reply::Section{{}, {std::move(text)}});
  out.visibility = visibility;
  return out;
}

class DiscordConversationTest : public testing::Test {
 protected:
  DiscordConversationTest() {
    http_.set_handler([](const auto&) { return ok(); });
  }

  static test::ScriptedHttpClient::Answer ok() {
    return core::http::Response{200, {}, R"({"id":"555"})"};
  }

  ReplyTarget target(bool ephemeral = true) const {
    return ReplyTarget{"100000000000000001", "700000000000000001", "itok-SECRETINTERACTION",
                       ephemeral, "200000000000000001"};
  }

  // The requests sent, as "METHOD path-without-base".
  std::vector<std::string> sent() const {
    std::vector<std::string> out;
    for (const auto& request : http_.requests()) {
      out.push_back(request.method + " " + request.url.substr(std::string(kBase).size()));
    }
    return out;
  }
  std::string body(std::size_t i) const { return http_.requests().at(i).body; }

  static constexpr const char* kBase = "https://discord.test/api/v10";
  test::ScriptedHttpClient http_;
  core::SystemClock clock_;
  discord::RestClient rest_{discord::RestSettings{kBase, "bot-SECRETBOTTOKEN", "1.0.0"}, http_,
                            clock_, core::make_null_logger(), [](std::chrono::milliseconds) {}};
  discord_front::Sender sender_{rest_, core::Redactor(), core::make_null_logger()};
  core::StrandPool lane_{2, 100, [](const std::string&) {}};
};

TEST_F(DiscordConversationTest, WhatTheCoreQueuedBeforeTheResponseFollowsIt) {
  auto conversation = std::make_shared<DiscordConversation>(target(), sender_, lane_, 1);
  conversation->started(message("Working on `stop dev`…", core::reply::Visibility::ephemeral));
  conversation->finished(message("STOP – DEV done", core::reply::Visibility::in_channel));
  bool then_ran = false;
  conversation->then([&] { then_ran = true; });
  EXPECT_TRUE(http_.requests().empty()) << "nothing goes out before the initial response";
  conversation->open(R"({"type":5,"data":{"flags":64}})");
  ASSERT_TRUE(lane_.wait_idle(5s));
  EXPECT_THAT(sent(), testing::ElementsAre(
                          "POST /interactions/700000000000000001/itok-SECRETINTERACTION/callback",
                          "PATCH /webhooks/100000000000000001/itok-SECRETINTERACTION/messages/"
                          "@original",
                          "POST /webhooks/100000000000000001/itok-SECRETINTERACTION"));
  EXPECT_EQ(body(0), R"({"type":5,"data":{"flags":64}})");
  EXPECT_THAT(body(1), HasSubstr("Working on"));
  EXPECT_THAT(body(2), HasSubstr("STOP"));
  EXPECT_THAT(body(2), Not(HasSubstr(R"("flags":64)"))) << "a result for the whole channel";
  EXPECT_TRUE(then_ran);
}

TEST_F(DiscordConversationTest, APrivateResultReplacesAPrivateResponse) {
  auto conversation = std::make_shared<DiscordConversation>(target(true), sender_, lane_, 1);
  conversation->open(R"({"type":5,"data":{"flags":64}})");
  conversation->finished(message("dev: running", core::reply::Visibility::ephemeral));
  ASSERT_TRUE(lane_.wait_idle(5s));
  ASSERT_EQ(sent().size(), 2u);
  EXPECT_THAT(sent()[1], HasSubstr("PATCH /webhooks/"));
  EXPECT_THAT(body(1), HasSubstr("dev: running"));
}

TEST_F(DiscordConversationTest, APrivateResultAfterAPublicResponseIsAPrivateFollowUp) {
  auto conversation = std::make_shared<DiscordConversation>(target(true), sender_, lane_, 1);
  conversation->set_ephemeral_original(false);
  conversation->open(R"({"type":5})");
  conversation->finished(message("Teardown failed", core::reply::Visibility::ephemeral));
  ASSERT_TRUE(lane_.wait_idle(5s));
  ASSERT_EQ(sent().size(), 2u);
  EXPECT_EQ(sent()[1], "POST /webhooks/100000000000000001/itok-SECRETINTERACTION");
  EXPECT_THAT(body(1), HasSubstr(R"("flags":64)"));
}

TEST_F(DiscordConversationTest, AnExpiredTokenSendsAResultForEveryoneThroughTheChannel) {
  auto conversation = std::make_shared<DiscordConversation>(target(), sender_, lane_, 1);
  conversation->open(R"({"type":5,"data":{"flags":64}})");
  ASSERT_TRUE(lane_.wait_idle(5s));
  http_.push(401, R"({"message": "Invalid Webhook Token", "code": 50027})");
  conversation->finished(message("STOP – DEV done", core::reply::Visibility::in_channel));
  ASSERT_TRUE(lane_.wait_idle(5s));
  ASSERT_EQ(sent().size(), 3u);
  EXPECT_EQ(sent()[2], "POST /channels/200000000000000001/messages");
  EXPECT_THAT(body(2), HasSubstr("STOP"));
  const auto channel_post = http_.requests()[2];
  bool authorized = false;
  for (const auto& [name, value] : channel_post.headers) {
    authorized = authorized || (name == "Authorization" && value == "Bot bot-SECRETBOTTOKEN");
  }
  EXPECT_TRUE(authorized) << "a channel message is the bot's own";
}

TEST_F(DiscordConversationTest, AnExpiredTokenNeverPutsAPrivateResultInTheChannel) {
  auto conversation = std::make_shared<DiscordConversation>(target(), sender_, lane_, 1);
  conversation->set_ephemeral_original(false);
  conversation->open(R"({"type":5})");
  ASSERT_TRUE(lane_.wait_idle(5s));
  http_.push(401, R"({"message": "Invalid Webhook Token", "code": 50027})");
  conversation->finished(message("your private status", core::reply::Visibility::ephemeral));
  ASSERT_TRUE(lane_.wait_idle(5s));
  EXPECT_EQ(sent().size(), 2u) << "no channel post";
}

TEST_F(DiscordConversationTest, AStatusCardGetsItsButtonsFromTheDecorator) {
  auto conversation = std::make_shared<DiscordConversation>(
      target(), sender_, lane_, 1, [](core::reply::Message& card) {
        card.blocks.emplace_back(
            core::reply::Actions{{core::reply::Button{"Stop", "infra", "stop dev", true}}});
      });
  conversation->open(R"({"type":5,"data":{"flags":64}})");
  conversation->finished(message("dev: running", core::reply::Visibility::ephemeral));
  ASSERT_TRUE(lane_.wait_idle(5s));
  EXPECT_THAT(body(1), HasSubstr(R"("custom_id":"infra|stop dev")"));
}

TEST_F(DiscordConversationTest, AnAddressReopensTheSameTarget) {
  const auto address = discord_front::to_address(target(false));
  auto back = discord_front::target_from_address(address);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->application_id, "100000000000000001");
  EXPECT_EQ(back->interaction_id, "700000000000000001");
  EXPECT_EQ(back->token, "itok-SECRETINTERACTION");
  EXPECT_FALSE(back->ephemeral_original);
  EXPECT_EQ(back->channel_id, "200000000000000001");
  for (const char* bad : {"", "discord", "slack a b e c t", "discord a b x c t", "discord a b e c",
                          "discord  b e c t", "discord a b e c t extra"}) {
    EXPECT_FALSE(discord_front::target_from_address(bad).has_value()) << bad;
  }
}

}  // namespace
