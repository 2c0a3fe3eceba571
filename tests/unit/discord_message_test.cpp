// render_message / render_modal: real views from infra::views rendered as
// Discord JSON and compared with goldens in proto-fixtures/discord/messages
// (canonical JSON; UPDATE_GOLDEN=1 rewrites the ones that differ, then review
// the diff), and the rules every message keeps: Discord's limits, no pings,
// shortcodes as emoji, user text unable to format. tests/discord-types/
// typecheck.mjs compiles the same goldens against discord-api-types.
#include "discord/message.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "infra/views.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using core::reply::Actions;
using core::reply::Button;
using core::reply::Context;
using core::reply::Header;
using core::reply::Message;
using core::reply::Section;
using ::testing::HasSubstr;
using ::testing::Not;

infra::EcsService ecs(std::string name, std::string status, std::int64_t desired,
                      std::int64_t running) {
  return infra::EcsService{std::move(name), std::move(status), desired, running};
}

Message status_running() {
  return infra::views::render_status(
      infra::EnvironmentStatus{"dev",
                               {ecs("api", "RUNNING", 2, 2), ecs("worker", "RUNNING", 1, 1)},
                               {infra::RdsInstance{"docustack-dev-db", "available"}}});
}

Message status_stopped() {
  return infra::views::render_status(
      infra::EnvironmentStatus{"dev",
                               {ecs("api", "STOPPED", 0, 0), ecs("worker", "STOPPED", 0, 0)},
                               {infra::RdsInstance{"docustack-dev-db", "stopped"}}});
}

Message action_stop() {
  return infra::views::for_channel(
      infra::views::render_action_result(
          infra::ActionResult{infra::LifecycleAction::stop,
                              "dev",
                              "Operation completed successfully.",
                              {{"ecs_services_stopped", 2}, {"rds_instances_stopped", 1}}}),
      "Alice Ops");
}

Message refusal() {
  return infra::views::render_denied(
      infra::Command{infra::Stop{"prod"}},
      infra::Decision{infra::DenyReason::protected_environment,
                      "`prod` is protected: stop and teardown are refused.", 0s});
}

Message progress() {
  return infra::views::render_progress(infra::Command{infra::Stop{"dev"}}, 95s);
}

Message failure() {
  return infra::views::render_failure(
      infra::Command{infra::Start{"staging"}},
      core::make_error(core::ErrorCode::unavailable, "The orchestrator did not answer in time."));
}

Message whitelist_list_hostile() {
  const core::TimePoint now = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1);
  return infra::views::render_whitelist_list(
      infra::WhitelistListing{
          "dev",
          {infra::WhitelistEntry{"203.0.113.7/32",
                                 "*bold* _it_ ~~gone~~ ||spoiler|| > quote @everyone <@123>",
                                 "alice", now + 72h}}},
      now);
}

core::reply::Modal teardown_modal() {
  return infra::views::render_teardown_modal(
      infra::views::TeardownConfirmation{"dev", infra::TeardownLevel::full, "C1", ""});
}

// ---- goldens ----

fs::path golden_dir() { return fs::path(FIXTURES_DIR) / "discord" / "messages"; }

bool updating() {
  const char* value = std::getenv("UPDATE_GOLDEN");
  return value != nullptr && std::string_view(value) == "1";
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string canonical(const std::string& json) {
  auto out = core::json::canonicalize(json);
  EXPECT_TRUE(out.has_value()) << "invalid JSON: " << json;
  return out ? *out : json;
}

void check_golden(const std::string& name, const std::string& json) {
  const fs::path path = golden_dir() / (name + ".json");
  const std::string actual = canonical(json);
  const auto expected = read_file(path);
  if (updating()) {
    if (expected != actual) {
      fs::create_directories(path.parent_path());
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << actual;
      ASSERT_TRUE(out.good()) << "could not write " << path;
      std::cout << "UPDATE_GOLDEN: wrote " << path.string() << "\n";
    }
    return;
  }
  ASSERT_TRUE(expected) << "missing golden " << path << " (run with UPDATE_GOLDEN=1, review it)";
  EXPECT_EQ(*expected, actual) << "golden " << path << " differs (UPDATE_GOLDEN=1 rewrites it)";
}

TEST(DiscordMessageGolden, StatusRunning) {
  check_golden("status_running", discord::render_message(status_running(), true));
}
TEST(DiscordMessageGolden, StatusStopped) {
  check_golden("status_stopped", discord::render_message(status_stopped(), true));
}
TEST(DiscordMessageGolden, ActionResult) {
  check_golden("action_stop", discord::render_message(action_stop(), false));
}
TEST(DiscordMessageGolden, RefusalEphemeral) {
  check_golden("refusal", discord::render_message(refusal(), true));
}
TEST(DiscordMessageGolden, Progress) {
  check_golden("progress", discord::render_message(progress(), true));
}
TEST(DiscordMessageGolden, Failure) {
  check_golden("failure", discord::render_message(failure(), true));
}
TEST(DiscordMessageGolden, WhitelistListWithHostileDescription) {
  check_golden("whitelist_list_hostile", discord::render_message(whitelist_list_hostile(), true));
}
TEST(DiscordMessageGolden, Buttons) {
  Message m;
  m.text = "Teardown of dev needs a confirmation.";
  m.blocks = {Header{":warning: Teardown of DEV"},
              Section{"", {"A full teardown of `dev` needs a typed confirmation."}},
              Actions{{Button{"Confirm teardown of dev…", "infra_open_teardown", "dev|full", true},
                       Button{"Cancel", "infra_cancel", "dev", false}}}};
  check_golden("buttons", discord::render_message(m, true));
}
TEST(DiscordMessageGolden, TeardownModal) {
  check_golden("teardown_modal",
               discord::render_modal(teardown_modal(), "infra_teardown_confirm|dev|full"));
}

// ---- rules ----

rapidjson::Document parse(const std::string& json) {
  auto document = core::json::parse(json);
  EXPECT_TRUE(document.has_value()) << json;
  return document ? std::move(*document) : rapidjson::Document{};
}

std::string text_at(const rapidjson::Document& d, const char* pointer) {
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(d);
  if (v == nullptr || !v->IsString()) return "<missing " + std::string(pointer) + ">";
  return std::string(v->GetString(), v->GetStringLength());
}

std::size_t chars(const std::string& text) { return core::utf8_length(text); }

std::string repeated(std::string_view word, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += word;
  return out;
}

TEST(DiscordMessage, EveryReplyCannotPing) {
  for (const Message& m : {status_running(), action_stop(), refusal(), whitelist_list_hostile()}) {
    const auto d = parse(discord::render_message(m, false));
    const rapidjson::Value* parse_list = rapidjson::Pointer("/allowed_mentions/parse").Get(d);
    ASSERT_NE(parse_list, nullptr);
    ASSERT_TRUE(parse_list->IsArray());
    EXPECT_EQ(parse_list->Size(), 0U);
  }
}

TEST(DiscordMessage, EphemeralSetsFlag64AndOnlyThen) {
  const auto ephemeral = parse(discord::render_message(refusal(), true));
  ASSERT_TRUE(ephemeral.HasMember("flags"));
  EXPECT_EQ(ephemeral["flags"].GetInt(), 64);
  const auto in_channel = parse(discord::render_message(refusal(), false));
  EXPECT_FALSE(in_channel.HasMember("flags"));
}

TEST(DiscordMessage, ShortcodesBecomeEmoji) {
  const std::string json = discord::render_message(action_stop(), false);
  EXPECT_THAT(json, Not(HasSubstr(":white_check_mark:")));
  const auto d = parse(json);
  EXPECT_EQ(text_at(d, "/embeds/0/title"), "\u2705 STOP - DEV");
  const auto refused = parse(discord::render_message(refusal(), true));
  EXPECT_EQ(text_at(refused, "/content"),
            "\u26D4 `prod` is protected: stop and teardown are refused.");
  const auto busy = parse(discord::render_message(progress(), true));
  EXPECT_THAT(text_at(busy, "/content"),
              ::testing::StartsWith("\u23F3 Still working on `stop dev`"));
}

// Every shortcode the views write (a new icon in lib/infra/src/views* must be
// added to the renderer's table, or Discord shows ":icon:" as text).
TEST(DiscordMessage, EveryShortcodeTheViewsUseIsConverted) {
  std::set<std::string> codes;
  const fs::path src = fs::path(SOURCE_DIR) / "lib" / "infra" / "src";
  for (const auto& entry : fs::directory_iterator(src)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("views", 0) != 0 && name != "started_view.cpp") continue;
    const std::string text = read_file(entry.path()).value_or("");
    auto is_word = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
    for (std::size_t i = 0; i + 2 < text.size(); ++i) {
      if (text[i] != ':' || (i > 0 && (text[i - 1] == ':' || is_word(text[i - 1])))) continue;
      std::size_t j = i + 1;
      while (j < text.size() && is_word(text[j])) ++j;
      if (j == i + 1 || j >= text.size() || text[j] != ':') continue;
      if (j + 1 < text.size() && text[j + 1] == ':') continue;  // C++ scope, not an icon
      codes.insert(text.substr(i, j + 1 - i));
    }
  }
  EXPECT_THAT(codes, ::testing::IsSupersetOf({":white_check_mark:", ":x:", ":warning:",
                                              ":red_circle:", ":hourglass_flowing_sand:"}));
  for (const auto& code : codes) {
    Message m;
    m.text = "icon " + code;
    m.blocks = {Header{code + " title"}, Section{"S", {code + " line"}}, Context{code}};
    const std::string json = discord::render_message(m, false);
    EXPECT_THAT(json, Not(HasSubstr(code))) << code << " is not converted";
  }
}

TEST(DiscordMessage, MarkdownIsEscapedOutsideBackticks) {
  Message m;
  m.text = "summary *x*";
  m.blocks = {Header{"Title _t_"},
              Section{"Field *f*", {"a *b* _c_ ~~d~~ ||e|| > g \\ h `code *kept* _too_`"}}};
  const auto d = parse(discord::render_message(m, false));
  EXPECT_EQ(text_at(d, "/content"), "summary \\*x\\*");
  EXPECT_EQ(text_at(d, "/embeds/0/title"), "Title \\_t\\_");
  EXPECT_EQ(text_at(d, "/embeds/0/fields/0/name"), "Field \\*f\\*");
  EXPECT_EQ(text_at(d, "/embeds/0/fields/0/value"),
            "a \\*b\\* \\_c\\_ \\~\\~d\\~\\~ \\|\\|e\\|\\| \\> g \\\\ h `code *kept* _too_`");
  Message unpaired;
  unpaired.text = "one ` tick";
  EXPECT_EQ(text_at(parse(discord::render_message(unpaired, false)), "/content"), "one \\` tick");
}

TEST(DiscordMessage, HostileDescriptionShowsAsTyped) {
  const std::string json = discord::render_message(whitelist_list_hostile(), true);
  EXPECT_THAT(json, HasSubstr("\\\\*bold\\\\* \\\\_it\\\\_ \\\\~\\\\~gone\\\\~\\\\~ "
                              "\\\\|\\\\|spoiler\\\\|\\\\| \\\\> quote @everyone \\\\<@123\\\\>"));
}

// A masked link or a heading typed by a user stays text in an embed.
TEST(DiscordMessage, LinksAndHeadingsFromUsersStayText) {
  Message m;
  m.text = "x";
  m.blocks = {Header{"Entry"}, Section{"", {"[click me](https://evil.example) # Heading <t:0:R>"}}};
  // The JSON text: a backslash in the rendered markdown is "\\" in it.
  EXPECT_THAT(discord::render_message(m, false),
              HasSubstr("\\\\[click me\\\\](https://evil.example) \\\\# Heading \\\\<t:0:R\\\\>"));
}

TEST(DiscordMessage, LongTextIsShortenedToTheLimits) {
  Message m;
  m.text = repeated("x", 2500);
  m.blocks = {Header{repeated("t", 300)}, Section{repeated("n", 300), {repeated("v", 2000)}},
              Context{repeated("f", 3000)}};
  const auto d = parse(discord::render_message(m, false));
  const std::string content = text_at(d, "/content");
  EXPECT_EQ(chars(content), 2000U - 1U);  // 1998 + "…"
  EXPECT_THAT(content, ::testing::EndsWith("\u2026"));
  EXPECT_LE(chars(text_at(d, "/embeds/0/title")), 256U);
  EXPECT_THAT(text_at(d, "/embeds/0/title"), ::testing::EndsWith("\u2026"));
  EXPECT_LE(chars(text_at(d, "/embeds/0/fields/0/name")), 256U);
  EXPECT_THAT(text_at(d, "/embeds/0/fields/0/name"), ::testing::StartsWith("nnnn"));
  EXPECT_LE(chars(text_at(d, "/embeds/0/fields/0/value")), 1024U);
  EXPECT_THAT(text_at(d, "/embeds/0/fields/0/value"), ::testing::EndsWith("\u2026"));
  EXPECT_LE(chars(text_at(d, "/embeds/0/footer/text")), 2048U);
  EXPECT_THAT(text_at(d, "/embeds/0/footer/text"), ::testing::EndsWith("\u2026"));
}

TEST(DiscordMessage, LongDescriptionIsShortenedWithinTheTotal) {
  Message m;
  m.text = "long";
  m.blocks = {Header{repeated("t", 300)}, Section{"", {repeated("d", 5000)}},
              Context{repeated("f", 3000)}};
  const auto d = parse(discord::render_message(m, false));
  const std::string description = text_at(d, "/embeds/0/description");
  EXPECT_LE(chars(description), 4096U);
  EXPECT_THAT(description, ::testing::EndsWith("\u2026"));
  const std::size_t total = chars(text_at(d, "/embeds/0/title")) + chars(description) +
                            chars(text_at(d, "/embeds/0/footer/text"));
  EXPECT_LE(total, 6000U);
  EXPECT_GE(total, 5990U);  // shortened to fit, not emptied
}

TEST(DiscordMessage, ShortenedCodeSpanIsClosed) {
  Message m;
  m.text = "`" + repeated("c", 3000) + "`";
  const std::string content = text_at(parse(discord::render_message(m, false)), "/content");
  EXPECT_THAT(content, ::testing::EndsWith("`\u2026"));
  EXPECT_EQ(std::count(content.begin(), content.end(), '`'), 2);
}

TEST(DiscordMessage, MoreThan25FieldsAreCutWithANote) {
  Message m;
  m.text = "many";
  m.blocks.emplace_back(Header{"Many"});
  for (int i = 0; i < 30; ++i) {
    m.blocks.emplace_back(Section{"Section " + std::to_string(i), {"line"}});
  }
  const auto d = parse(discord::render_message(m, false));
  const rapidjson::Value* fields = rapidjson::Pointer("/embeds/0/fields").Get(d);
  ASSERT_NE(fields, nullptr);
  ASSERT_EQ(fields->Size(), 25U);
  EXPECT_EQ(text_at(d, "/embeds/0/fields/23/name"), "Section 23");
  EXPECT_EQ(text_at(d, "/embeds/0/fields/24/name"), "\u2026");
  EXPECT_EQ(text_at(d, "/embeds/0/fields/24/value"), "6 more sections not shown");
}

TEST(DiscordMessage, EmbedTotalStaysUnder6000) {
  Message m;
  m.text = "big";
  m.blocks.emplace_back(Header{"Big"});
  for (int i = 0; i < 20; ++i) {
    m.blocks.emplace_back(Section{"S" + std::to_string(i), {repeated("v", 1000)}});
  }
  const auto d = parse(discord::render_message(m, false));
  const rapidjson::Value& fields = *rapidjson::Pointer("/embeds/0/fields").Get(d);
  std::size_t total = chars(text_at(d, "/embeds/0/title"));
  for (const auto& f : fields.GetArray()) {
    total += chars(f["name"].GetString()) + chars(f["value"].GetString());
  }
  EXPECT_LE(total, 6000U);
  EXPECT_LT(fields.Size(), 20U);
  EXPECT_EQ(std::string(fields[fields.Size() - 1]["name"].GetString()), "\u2026");
}

TEST(DiscordMessage, ButtonsCarryActionAndValueAndLongIdsAreLeftOut) {
  Message m;
  m.text = "buttons";
  m.blocks = {Actions{{Button{repeated("L", 90), "go", "dev", false},
                       Button{"Danger", "kill", "prod", true},
                       Button{"Too long", "infra_open_teardown", repeated("m", 100), true}}}};
  const auto d = parse(discord::render_message(m, false));
  const rapidjson::Value& row = *rapidjson::Pointer("/components/0").Get(d);
  EXPECT_EQ(row["type"].GetInt(), 1);
  ASSERT_EQ(row["components"].Size(), 2U);
  EXPECT_EQ(text_at(d, "/components/0/components/0/custom_id"), "go|dev");
  EXPECT_EQ(row["components"][0]["style"].GetInt(), 1);
  EXPECT_LE(chars(text_at(d, "/components/0/components/0/label")), 80U);
  EXPECT_EQ(text_at(d, "/components/0/components/1/custom_id"), "kill|prod");
  EXPECT_EQ(row["components"][1]["style"].GetInt(), 4);
}

TEST(DiscordMessage, ColourFollowsState) {
  EXPECT_EQ(discord::color_of(status_running()), 0x57F287U);
  EXPECT_EQ(discord::color_of(status_stopped()), 0xED4245U);
  EXPECT_EQ(discord::color_of(action_stop()), 0x57F287U);
  EXPECT_EQ(discord::color_of(failure()), 0xED4245U);
  EXPECT_EQ(discord::color_of(refusal()), 0xED4245U);
  EXPECT_EQ(discord::color_of(progress()), 0xFEE75CU);
  EXPECT_EQ(discord::color_of(infra::views::render_working(infra::Command{infra::Stop{"dev"}})),
            0xFEE75CU);
  EXPECT_EQ(discord::color_of(infra::views::render_help({{"dev"}, {}, "dev"})), 0x5865F2U);
  const auto d = parse(discord::render_message(status_stopped(), true));
  EXPECT_EQ(d["embeds"][0]["color"].GetUint(), 0xED4245U);
}

TEST(DiscordMessage, NoticeIsContentOnly) {
  const auto d = parse(discord::render_message(refusal(), true));
  EXPECT_EQ(d["embeds"].Size(), 0U);
}

TEST(DiscordMessage, NoticeWithoutSummaryStillHasContent) {
  Message m;
  m.blocks = {Section{"", {":warning: only the line"}}};
  const auto d = parse(discord::render_message(m, false));
  EXPECT_EQ(text_at(d, "/content"), "\u26A0\uFE0F only the line");
}

TEST(DiscordModal, LabelWithTextInputWithinLimits) {
  auto modal = teardown_modal();
  modal.title = repeated("T", 60);
  modal.input.label = repeated("L", 60);
  modal.input.placeholder = repeated("P", 150);
  const auto d = parse(discord::render_modal(modal, repeated("c", 120)));
  EXPECT_EQ(chars(text_at(d, "/custom_id")), 100U);
  EXPECT_LE(chars(text_at(d, "/title")), 45U);
  EXPECT_EQ(d["components"].Size(), 1U);
  EXPECT_EQ(d["components"][0]["type"].GetInt(), 18);
  EXPECT_LE(chars(text_at(d, "/components/0/label")), 45U);
  EXPECT_LE(chars(text_at(d, "/components/0/description")), 100U);
  EXPECT_EQ(d["components"][0]["component"]["type"].GetInt(), 4);
  EXPECT_EQ(d["components"][0]["component"]["style"].GetInt(), 1);
  EXPECT_TRUE(d["components"][0]["component"]["required"].GetBool());
  EXPECT_EQ(text_at(d, "/components/0/component/custom_id"), "confirm_text");
  EXPECT_LE(chars(text_at(d, "/components/0/component/placeholder")), 100U);
}

TEST(DiscordModal, TeardownModalReadsPlain) {
  const auto d = parse(discord::render_modal(teardown_modal(), "infra_teardown_confirm|dev|full"));
  EXPECT_EQ(text_at(d, "/title"), "Confirm Teardown");
  EXPECT_EQ(text_at(d, "/components/0/label"), "Type 'dev' to confirm");
  EXPECT_THAT(text_at(d, "/components/0/description"),
              ::testing::StartsWith("\u26A0\uFE0F Full teardown of DEV: This will destroy:"));
}

}  // namespace
