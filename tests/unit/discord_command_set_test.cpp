// The /infra command set for Discord: its JSON against a golden
// (proto-fixtures/discord/commands/infra_commands.json; UPDATE_GOLDEN=1
// rewrites it) and Discord's limits, and command_text(): what each subcommand
// becomes is read back by infra::parse_command to the Command it stands for;
// same_commands(), the comparison `register discord` and `doctor` share.
#include "discord_front/command_set.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "infra/command.hpp"
#include "infra/command_parser.hpp"

namespace {

namespace fs = std::filesystem;
using discord::CommandOption;
using discord::Interaction;
using discord_front::command_text;
using discord_front::infra_commands_json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::vector<std::string> kEnvs = {"dev", "staging", "prod"};

// ---- golden ----

bool updating() {
  const char* value = std::getenv("UPDATE_GOLDEN");
  return value != nullptr && std::string_view(value) == "1";
}

TEST(DiscordCommandSet, MatchesGolden) {
  const fs::path path = fs::path(FIXTURES_DIR) / "discord" / "commands" / "infra_commands.json";
  auto canonical = core::json::canonicalize(infra_commands_json(kEnvs));
  ASSERT_TRUE(canonical.has_value());
  std::ifstream in(path, std::ios::binary);
  std::ostringstream expected;
  if (in) expected << in.rdbuf();
  if (updating()) {
    if (expected.str() != *canonical) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << *canonical;
      ASSERT_TRUE(out.good()) << "could not write " << path;
      std::cout << "UPDATE_GOLDEN: wrote " << path.string() << "\n";
    }
    return;
  }
  ASSERT_TRUE(in.good()) << "missing golden " << path << " (UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(expected.str(), *canonical) << "golden " << path << " differs";
}

TEST(DiscordCommandSet, DeterministicBytes) {
  EXPECT_EQ(infra_commands_json(kEnvs), infra_commands_json(kEnvs));
  // Case and repeats do not change what is registered.
  EXPECT_EQ(infra_commands_json({"DEV", "staging", "dev", "Prod"}), infra_commands_json(kEnvs));
}

// ---- limits (discord.md §4) ----

struct Walk {
  std::size_t counted = 0;
  std::vector<std::string> problems;
};

void check_option(const rapidjson::Value& o, const std::string& where, Walk& walk) {
  static const std::regex kName("^[-_a-z0-9]{1,32}$");
  const std::string name = o["name"].GetString();
  const std::string description = o["description"].GetString();
  if (!std::regex_match(name, kName)) walk.problems.push_back(where + ": name " + name);
  const std::size_t length = core::utf8_length(description);
  if (length < 1 || length > 100) walk.problems.push_back(where + ": description length");
  walk.counted += core::utf8_length(name) + length;
  if (o.HasMember("choices")) {
    if (o["choices"].Size() > 25) walk.problems.push_back(where + ": > 25 choices");
    for (const auto& c : o["choices"].GetArray()) {
      const std::string choice_name = c["name"].GetString();
      const std::string value = c["value"].GetString();
      if (choice_name.empty() || core::utf8_length(choice_name) > 100 ||
          core::utf8_length(value) > 100) {
        walk.problems.push_back(where + ": choice length");
      }
      walk.counted += core::utf8_length(choice_name) + core::utf8_length(value);
    }
  }
  if (o.HasMember("options")) {
    const auto& options = o["options"];
    if (options.Size() > 25) walk.problems.push_back(where + ": > 25 options");
    bool optional_seen = false;
    for (const auto& child : options.GetArray()) {
      const bool required = child.HasMember("required") && child["required"].GetBool();
      if (required && optional_seen) walk.problems.push_back(where + ": required after optional");
      optional_seen = optional_seen || !required;
      check_option(child, where + "/" + child["name"].GetString(), walk);
    }
  }
}

Walk walk_commands(const std::string& json) {
  Walk walk;
  auto document = core::json::parse(json);
  EXPECT_TRUE(document.has_value());
  if (!document) return walk;
  EXPECT_TRUE(document->IsArray());
  EXPECT_EQ(document->Size(), 1U);
  for (const auto& command : document->GetArray()) {
    EXPECT_EQ(command["type"].GetInt(), 1);
    EXPECT_EQ(std::string(command["name"].GetString()), "infra");
    check_option(command, "infra", walk);
  }
  return walk;
}

TEST(DiscordCommandSet, WithinDiscordsLimits) {
  const Walk walk = walk_commands(infra_commands_json(kEnvs));
  EXPECT_THAT(walk.problems, ::testing::IsEmpty());
  EXPECT_LE(walk.counted, 8000U);
}

TEST(DiscordCommandSet, SubcommandsMirrorTheGrammar) {
  auto document = core::json::parse(infra_commands_json(kEnvs));
  ASSERT_TRUE(document.has_value());
  std::vector<std::string> names;
  for (const auto& sub : (*document)[0]["options"].GetArray()) {
    std::string name = sub["name"].GetString();
    if (sub["type"].GetInt() == 2) {
      for (const auto& inner : sub["options"].GetArray()) {
        EXPECT_EQ(inner["type"].GetInt(), 1);
        names.push_back(name + " " + inner["name"].GetString());
      }
    } else {
      EXPECT_EQ(sub["type"].GetInt(), 1);
      names.push_back(name);
    }
  }
  EXPECT_THAT(names, ::testing::ElementsAre("help", "status", "stop", "start", "reboot", "teardown",
                                            "spinup", "whitelist add", "whitelist remove",
                                            "whitelist list", "whitelist refresh"));
  // The environment: a required string with the environments as choices.
  const auto& env = (*document)[0]["options"][1]["options"][0];
  EXPECT_EQ(std::string(env["name"].GetString()), "env");
  EXPECT_EQ(env["type"].GetInt(), 3);
  EXPECT_TRUE(env["required"].GetBool());
  ASSERT_EQ(env["choices"].Size(), 3U);
  EXPECT_EQ(std::string(env["choices"][2]["value"].GetString()), "prod");
}

TEST(DiscordCommandSet, MoreThan25EnvironmentsArePlainStrings) {
  std::vector<std::string> envs;
  for (int i = 0; i < 26; ++i) envs.push_back("env" + std::to_string(i));
  const std::string json = infra_commands_json(envs);
  EXPECT_THAT(json, ::testing::Not(HasSubstr("choices\":[{\"name\":\"env")));
  EXPECT_THAT(json, HasSubstr("\"choices\""));  // teardown's level keeps its two
  EXPECT_THAT(walk_commands(json).problems, ::testing::IsEmpty());
}

TEST(DiscordCommandSet, ChoicesThatBreakThe8000BudgetAreDropped) {
  std::vector<std::string> envs;
  for (int i = 0; i < 25; ++i) envs.push_back(std::string(60, 'e') + std::to_string(i));
  const std::string json = infra_commands_json(envs);
  const Walk walk = walk_commands(json);
  EXPECT_THAT(walk.problems, ::testing::IsEmpty());
  EXPECT_LE(walk.counted, 8000U);
  EXPECT_THAT(json, ::testing::Not(HasSubstr(envs[0])));
  // A few short ones still fit.
  EXPECT_THAT(infra_commands_json(kEnvs), HasSubstr("\"value\":\"staging\""));
}

// ---- command_text ----

CommandOption value(std::string name, std::string text) {
  return CommandOption{std::move(name), 3, std::move(text), {}};
}

Interaction infra_interaction(std::vector<CommandOption> options) {
  Interaction i;
  i.type = discord::InteractionType::application_command;
  i.command_name = "infra";
  i.options = std::move(options);
  return i;
}

Interaction sub(std::string name, std::vector<CommandOption> values) {
  return infra_interaction({CommandOption{std::move(name), 1, std::nullopt, std::move(values)}});
}

Interaction whitelist(std::string name, std::vector<CommandOption> values) {
  return infra_interaction({CommandOption{
      "whitelist", 2, std::nullopt, {CommandOption{std::move(name), 1, std::nullopt, values}}}});
}

infra::Cidr host(std::string text) { return infra::Cidr{std::move(text), 32, false}; }

struct TextCase {
  std::string label;
  Interaction interaction;
  std::string text;
  infra::Command command;
};

std::vector<TextCase> text_cases() {
  return {
      {"help", sub("help", {}), "help", infra::Help{}},
      {"status", sub("status", {value("env", "staging")}), "status staging",
       infra::Status{"staging"}},
      {"stop", sub("stop", {value("env", "dev")}), "stop dev", infra::Stop{"dev"}},
      {"start", sub("start", {value("env", "prod")}), "start prod", infra::Start{"prod"}},
      {"spinup", sub("spinup", {value("env", "dev")}), "spinup dev", infra::Spinup{"dev"}},
      {"teardown", sub("teardown", {value("env", "dev")}), "teardown dev",
       infra::Teardown{"dev", infra::TeardownLevel::services}},
      {"teardown full", sub("teardown", {value("env", "staging"), value("level", "full")}),
       "teardown staging --level=full", infra::Teardown{"staging", infra::TeardownLevel::full}},
      {"reboot", sub("reboot", {value("env", "dev")}), "reboot dev",
       infra::Reboot{"dev", std::nullopt}},
      {"reboot named", sub("reboot", {value("env", "dev"), value("name", "web server 1")}),
       "reboot dev --name=\"web server 1\"", infra::Reboot{"dev", "web server 1"}},
      {"whitelist add",
       whitelist("add", {value("ip", "1.2.3.4"), value("env", "dev"), value("ttl", "7d"),
                         value("description", "home vpn")}),
       "whitelist add 1.2.3.4 --ttl=7d --description=\"home vpn\" --env=dev",
       infra::WhitelistAdd{host("1.2.3.4/32"), 7 * 24h, "home vpn", "dev"}},
      {"whitelist add bare",
       whitelist("add", {value("ip", "203.0.113.0/24"), value("env", "staging")}),
       "whitelist add 203.0.113.0/24 --env=staging",
       infra::WhitelistAdd{infra::Cidr{"203.0.113.0/24", 24, false}, std::chrono::days(30),
                           std::nullopt, "staging"}},
      {"whitelist remove", whitelist("remove", {value("ip", "1.2.3.4"), value("env", "prod")}),
       "whitelist remove 1.2.3.4 --env=prod", infra::WhitelistRemove{host("1.2.3.4/32"), "prod"}},
      {"whitelist list", whitelist("list", {value("env", "dev")}), "whitelist list dev",
       infra::WhitelistList{"dev"}},
      {"whitelist refresh", whitelist("refresh", {value("env", "staging")}),
       "whitelist refresh staging", infra::WhitelistRefresh{"staging"}},
  };
}

TEST(DiscordCommandText, EverySubcommandParsesToItsCommand) {
  const infra::ParserSettings settings;
  for (const auto& c : text_cases()) {
    SCOPED_TRACE(c.label);
    auto text = command_text(c.interaction);
    ASSERT_TRUE(text.has_value()) << text.error().user_message;
    EXPECT_EQ(*text, c.text);
    auto command = infra::parse_command(*text, settings);
    ASSERT_TRUE(command.has_value()) << command.error().user_message;
    EXPECT_EQ(*command, c.command) << infra::describe(*command);
  }
}

TEST(DiscordCommandText, CoversEveryGrammarAction) {
  std::set<infra::Action> seen;
  for (const auto& c : text_cases()) seen.insert(infra::action_of(c.command));
  EXPECT_EQ(seen.size(), 11U);  // every alternative of infra::Command
}

// Descriptions users type: quotes of both kinds, apostrophes, `&` and
// entity-like text, curly quotes, markdown, Unicode.
TEST(DiscordCommandText, DescriptionsRoundTripThroughTheParser) {
  const infra::ParserSettings settings;
  const std::vector<std::string> descriptions = {
      "home vpn",
      "Bob's laptop",
      "say \"hi\" there",
      "it's \"quoted\" too",
      "a & b &amp; c &lt;x&gt;",
      "\xE2\x80\x9C"
      "curly"
      "\xE2\x80\x9D"
      " and "
      "\xE2\x80\x98"
      "single"
      "\xE2\x80\x99",
      "--not-a-flag",
      "ends with quote\"",
      "*bold* _it_ `code`",
      "Zürich office — 東京",
      "x",
  };
  for (const auto& description : descriptions) {
    SCOPED_TRACE(description);
    auto text = command_text(whitelist("add", {value("ip", "198.51.100.7"), value("env", "dev"),
                                               value("description", description)}));
    ASSERT_TRUE(text.has_value()) << text.error().user_message;
    auto command = infra::parse_command(*text, settings);
    ASSERT_TRUE(command.has_value()) << *text << ": " << command.error().user_message;
    const auto* add = std::get_if<infra::WhitelistAdd>(&*command);
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->description, description);
  }
}

TEST(DiscordCommandText, UnquotableDescriptionIsAUserError) {
  auto text = command_text(whitelist(
      "add", {value("ip", "1.2.3.4"), value("env", "dev"), value("description", "a\" b' c")}));
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(text.error().user_message, HasSubstr("quotes"));
}

TEST(DiscordCommandText, ParserErrorsStillReachTheUser) {
  // Discord lets any string through a plain option: the grammar judges it.
  const infra::ParserSettings settings;
  auto text = command_text(whitelist("add", {value("ip", "0.0.0.0/0"), value("env", "dev")}));
  ASSERT_TRUE(text.has_value());
  auto command = infra::parse_command(*text, settings);
  ASSERT_FALSE(command.has_value());
  EXPECT_THAT(command.error().user_message, HasSubstr("whole internet"));
  auto ttl = command_text(
      whitelist("add", {value("ip", "1.2.3.4"), value("env", "dev"), value("ttl", "9y")}));
  ASSERT_TRUE(ttl.has_value());
  EXPECT_THAT(infra::parse_command(*ttl, settings).error().user_message, HasSubstr("Invalid TTL"));
  auto env = command_text(sub("stop", {value("env", "qa env")}));
  ASSERT_TRUE(env.has_value());
  EXPECT_THAT(infra::parse_command(*env, settings).error().user_message,
              HasSubstr("Unknown environment"));
}

TEST(DiscordCommandText, WrongCommandOrMissingOptionsAreUserErrors) {
  auto other = infra_interaction({CommandOption{"status", 1, std::nullopt, {}}});
  other.command_name = "deploy";
  auto wrong = command_text(other);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(wrong.error().user_message, HasSubstr("/infra"));

  auto no_sub = command_text(infra_interaction({}));
  ASSERT_FALSE(no_sub.has_value());
  EXPECT_EQ(no_sub.error().code, core::ErrorCode::invalid_input);

  auto no_ip = command_text(whitelist("add", {value("env", "dev")}));
  ASSERT_FALSE(no_ip.has_value());
  EXPECT_EQ(no_ip.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(no_ip.error().user_message, HasSubstr("Missing `ip`"));

  auto no_env = command_text(sub("stop", {}));
  ASSERT_FALSE(no_env.has_value());
  EXPECT_THAT(no_env.error().user_message, HasSubstr("Missing `env`"));

  auto unknown = command_text(sub("deploy", {value("env", "dev")}));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().user_message, HasSubstr("Unknown /infra command `deploy`"));

  auto stray = command_text(sub("stop", {value("env", "dev"), value("level", "full")}));
  ASSERT_FALSE(stray.has_value());
  EXPECT_EQ(stray.error().code, core::ErrorCode::invalid_input);

  Interaction button;
  button.type = discord::InteractionType::message_component;
  button.command_name = "infra";
  EXPECT_FALSE(command_text(button).has_value());
}

// ---- same_commands: what register discord and doctor compare ----

// `text` parsed, changed by `change`, written back.
std::string edited(const std::string& text,
                   const std::function<void(rapidjson::Document&)>& change) {
  auto document = core::json::parse(text).value();
  change(document);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Discord's answer to a PUT of `commands`: each command with the fields Discord adds.
std::string as_discord_returns(const std::string& commands) {
  return edited(commands, [](rapidjson::Document& doc) {
    auto& a = doc.GetAllocator();
    for (auto& command : doc.GetArray()) {
      command.AddMember("id", "1300000000000000001", a);
      command.AddMember("application_id", "100000000000000001", a);
      command.AddMember("version", "1300000000000000002", a);
      command.AddMember("guild_id", "100000000000000777", a);
      command.AddMember("name_localizations", rapidjson::Value(rapidjson::kNullType), a);
      command.AddMember("dm_permission", true, a);
      command.AddMember("nsfw", false, a);
      if (!command.HasMember("type")) command.AddMember("type", 1, a);
    }
  });
}

TEST(DiscordSameCommands, WhatDiscordAddsIsNoChange) {
  const auto desired = infra_commands_json(kEnvs);
  EXPECT_TRUE(discord_front::same_commands(desired, desired));
  EXPECT_TRUE(discord_front::same_commands(desired, as_discord_returns(desired)));
  // An explicit default (required=false) is the default left out.
  EXPECT_TRUE(discord_front::same_commands(
      desired, edited(as_discord_returns(desired), [](rapidjson::Document& doc) {
        doc[0u]["options"][0u].AddMember("required", false, doc.GetAllocator());
      })));
}

TEST(DiscordSameCommands, AnyDifferenceInWhatIsSentIsAChange) {
  const auto desired = infra_commands_json(kEnvs);
  const auto registered = as_discord_returns(desired);
  const std::vector<std::pair<std::string, std::function<void(rapidjson::Document&)>>> changes = {
      {"another description", [](rapidjson::Document& doc) { doc[0u]["description"] = "old"; }},
      {"another subcommand description",
       [](rapidjson::Document& doc) { doc[0u]["options"][1u]["description"] = "old status"; }},
      {"a subcommand only Discord still has",
       [](rapidjson::Document& doc) {
         auto& a = doc.GetAllocator();
         rapidjson::Value old(rapidjson::kObjectType);
         old.AddMember("type", 1, a);
         old.AddMember("name", "destroy", a);
         old.AddMember("description", "gone", a);
         doc[0u]["options"].PushBack(old, a);
       }},
      {"a subcommand Discord lacks",
       [](rapidjson::Document& doc) { doc[0u]["options"].Erase(doc[0u]["options"].Begin()); }},
      {"no commands", [](rapidjson::Document& doc) { doc.SetArray(); }},
      {"another command too",
       [](rapidjson::Document& doc) {
         auto& a = doc.GetAllocator();
         rapidjson::Value old(rapidjson::kObjectType);
         old.AddMember("name", "old", a);
         old.AddMember("description", "gone", a);
         doc.PushBack(old, a);
       }},
  };
  for (const auto& [name, change] : changes) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(discord_front::same_commands(desired, edited(registered, change)));
  }
  // Other environments are other choices.
  EXPECT_FALSE(discord_front::same_commands(infra_commands_json({"dev", "prod"}), registered));
}

TEST(DiscordSameCommands, TextThatIsNotAnArrayNeverMatches) {
  const auto desired = infra_commands_json(kEnvs);
  EXPECT_FALSE(discord_front::same_commands(desired, "{}"));
  EXPECT_FALSE(discord_front::same_commands(desired, "not json"));
  EXPECT_FALSE(discord_front::same_commands("[", desired));
  EXPECT_TRUE(discord_front::same_commands("[]", "[]"));
}

TEST(DiscordSameCommands, JsonSubsetIgnoresWhatOnlyTheOtherSideHas) {
  const auto subset = [](std::string_view desired, std::string_view actual) {
    return core::json::is_subset(core::json::parse(desired).value(),
                                 core::json::parse(actual).value());
  };
  EXPECT_TRUE(subset(R"({"a":1,"b":[1,2]})", R"({"a":1.0,"b":[2,1],"c":true})"));
  EXPECT_TRUE(subset(R"({"a":false,"b":[],"c":null})", R"({})")) << "defaults may be missing";
  EXPECT_FALSE(subset(R"({"a":1})", R"({"a":2})"));
  EXPECT_FALSE(subset(R"({"a":true})", R"({})"));
  EXPECT_FALSE(subset(R"({"b":[1,2]})", R"({"b":[1]})"));
  EXPECT_FALSE(subset(R"([{"x":1}])", R"([{"x":1},{"y":2}])"));
}

}  // namespace
