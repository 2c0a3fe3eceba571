// parse_interaction() over INTERACTION_CREATE payloads shaped like Discord's
// documented examples (proto-fixtures/discord/interactions): y_* must parse to
// the fields asserted here, n_* must be an invalid_input error whose detail
// never holds the token.
#include "discord/interaction.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;
using discord::CommandOption;
using discord::Interaction;
using discord::InteractionType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path fixture_dir() { return fs::path(FIXTURES_DIR) / "discord" / "interactions"; }

std::string read_fixture(const std::string& name) {
  std::ifstream in(fixture_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

Interaction parsed(const std::string& name) {
  auto result = discord::parse_interaction(read_fixture(name));
  EXPECT_TRUE(result.has_value()) << name << ": " << (result ? "" : result.error().detail);
  return result ? *result : Interaction{};
}

TEST(DiscordInteraction, GuildCommandWithSubcommandGroup) {
  const Interaction i = parsed("y_guild_whitelist_add.json");
  EXPECT_EQ(i.type, InteractionType::application_command);
  EXPECT_EQ(i.id, "1300000000000000001");
  EXPECT_EQ(i.application_id, "1109876543210987654");
  EXPECT_EQ(i.token, "SECRET-TOKEN-aW50ZXJhY3Rpb246MTMwMDAwMDAwMDAwMDAwMDAwMQ");
  EXPECT_EQ(i.guild_id, "1100000000000000001");
  EXPECT_EQ(i.channel_id, "1100000000000000010");
  EXPECT_EQ(i.user_id, "1200000000000000001");
  EXPECT_EQ(i.user_name, "Alice Ops");
  EXPECT_THAT(i.roles, ElementsAre("1100000000000000100", "1100000000000000200"));
  EXPECT_EQ(i.command_name, "infra");
  const std::vector<CommandOption> expected = {
      CommandOption{"whitelist",
                    2,
                    std::nullopt,
                    {CommandOption{"add",
                                   1,
                                   std::nullopt,
                                   {
                                       CommandOption{"ip", 3, "203.0.113.7", {}},
                                       CommandOption{"env", 3, "staging", {}},
                                       CommandOption{"ttl", 3, "7d", {}},
                                       CommandOption{"description", 3, "home vpn", {}},
                                   }}}}};
  EXPECT_EQ(i.options, expected);
  EXPECT_TRUE(i.custom_id.empty());
  EXPECT_TRUE(i.modal_values.empty());
}

TEST(DiscordInteraction, DmCommandTakesUserAndUsernameWhenNoGlobalName) {
  const Interaction i = parsed("y_dm_status.json");
  EXPECT_EQ(i.type, InteractionType::application_command);
  EXPECT_TRUE(i.guild_id.empty());
  EXPECT_EQ(i.channel_id, "1100000000000000099");
  EXPECT_EQ(i.user_id, "1200000000000000002");
  EXPECT_EQ(i.user_name, "bob");  // global_name is null
  EXPECT_TRUE(i.roles.empty());
  ASSERT_EQ(i.options.size(), 1U);
  EXPECT_EQ(i.options[0].name, "status");
  EXPECT_EQ(i.options[0].type, 1);
  EXPECT_FALSE(i.options[0].value);
  ASSERT_EQ(i.options[0].options.size(), 1U);
  EXPECT_EQ(i.options[0].options[0].value, "dev");
}

TEST(DiscordInteraction, NonStringValuesArePrintedAsText) {
  const Interaction i = parsed("y_typed_values.json");
  ASSERT_EQ(i.options.size(), 1U);
  const auto& values = i.options[0].options;
  ASSERT_EQ(values.size(), 4U);
  EXPECT_EQ(values[0].value, "3");
  EXPECT_EQ(values[1].value, "2.5");
  EXPECT_EQ(values[2].value, "true");
  EXPECT_EQ(values[3].value, "1200000000000000009");  // a USER option: the snowflake
  EXPECT_EQ(values[3].type, 6);
}

TEST(DiscordInteraction, ButtonClick) {
  const Interaction i = parsed("y_button.json");
  EXPECT_EQ(i.type, InteractionType::message_component);
  EXPECT_EQ(i.custom_id, "infra_open_teardown|dev");
  EXPECT_EQ(i.component_type, 2);
  EXPECT_EQ(i.message_id, "1400000000000000001");
  EXPECT_EQ(i.user_id, "1200000000000000001");
  EXPECT_TRUE(i.roles.empty());
  EXPECT_TRUE(i.command_name.empty());
}

TEST(DiscordInteraction, ModalSubmitLabelForm) {
  const Interaction i = parsed("y_modal_label.json");
  EXPECT_EQ(i.type, InteractionType::modal_submit);
  EXPECT_EQ(i.custom_id, "infra_teardown_confirm|dev|full");
  EXPECT_EQ(i.modal_values, (std::map<std::string, std::string>{{"confirm_text", "dev"}}));
  EXPECT_TRUE(i.message_id.empty());
  EXPECT_THAT(i.roles, ElementsAre("1100000000000000100"));
}

TEST(DiscordInteraction, ModalSubmitLegacyActionRowForm) {
  const Interaction i = parsed("y_modal_legacy.json");
  EXPECT_EQ(i.type, InteractionType::modal_submit);
  EXPECT_EQ(i.custom_id, "infra_teardown_confirm|staging|full");
  EXPECT_EQ(i.modal_values, (std::map<std::string, std::string>{{"confirm_text", "staging"}}));
  EXPECT_EQ(i.message_id, "1400000000000000002");
  EXPECT_EQ(i.user_name, "alice");
}

TEST(DiscordInteraction, EveryPositiveFixtureIsCovered) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fixture_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("y_", 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names,
              ElementsAre("y_button.json", "y_dm_status.json", "y_guild_whitelist_add.json",
                          "y_modal_label.json", "y_modal_legacy.json", "y_typed_values.json"));
}

class MalformedInteraction : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedInteraction, IsInvalidInputWithoutTheToken) {
  const auto result = discord::parse_interaction(read_fixture(GetParam()));
  ASSERT_FALSE(result.has_value()) << GetParam();
  EXPECT_EQ(result.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(result.error().detail, HasSubstr("discord interaction: "));
  EXPECT_THAT(result.error().detail, Not(HasSubstr("SECRET-TOKEN")));
  EXPECT_THAT(result.error().user_message, Not(HasSubstr("SECRET-TOKEN")));
}

std::vector<std::string> negative_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fixture_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("n_", 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MalformedInteraction, ::testing::ValuesIn(negative_fixtures()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name =
                               param_info.param.substr(0, param_info.param.size() - 5);
                           for (char& c : name) {
                             if (c == '.' || c == '-') c = '_';
                           }
                           return name;
                         });

TEST(DiscordInteraction, SpecificDetailsNameTheField) {
  auto missing_token = discord::parse_interaction(read_fixture("n_missing_token.json"));
  ASSERT_FALSE(missing_token);
  EXPECT_EQ(missing_token.error().detail, "discord interaction: missing token");
  auto no_user = discord::parse_interaction(read_fixture("n_missing_user.json"));
  ASSERT_FALSE(no_user);
  EXPECT_EQ(no_user.error().detail, "discord interaction: no member.user or user");
  auto deep = discord::parse_interaction(read_fixture("n_options_too_deep.json"));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().detail, "discord interaction: options nested too deeply");
}

TEST(DiscordInteraction, HostileBytesNeverCrash) {
  const std::string base = read_fixture("y_guild_whitelist_add.json");
  // Every prefix, and every byte flipped to a few troublesome values.
  for (std::size_t n = 0; n < base.size(); n += 7) {
    (void)discord::parse_interaction(std::string_view(base).substr(0, n));
  }
  for (std::size_t at = 0; at < base.size(); at += 5) {
    for (const char c : {'\0', '"', '{', ']', '\xFF'}) {
      std::string copy = base;
      copy[at] = c;
      const auto result = discord::parse_interaction(copy);
      if (!result) {
        EXPECT_THAT(result.error().detail, Not(HasSubstr("SECRET-TOKEN")));
      }
    }
  }
  EXPECT_FALSE(discord::parse_interaction(std::string(100000, '[')));
  EXPECT_FALSE(discord::parse_interaction(""));
}

}  // namespace
