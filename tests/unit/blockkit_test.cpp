#include "slack/blockkit.hpp"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace {

using namespace slack::blockkit;
using ::testing::HasSubstr;
using ::testing::Not;

rapidjson::Document parse(const std::string& json) {
  auto parsed = core::json::parse(json);
  EXPECT_TRUE(parsed.has_value()) << json;
  if (!parsed) return rapidjson::Document{};
  return std::move(parsed).value();
}

// The value at a JSON pointer ("/blocks/0/type") as a string; "<missing>" when absent.
std::string at(const rapidjson::Value& root, const char* pointer) {
  const auto* value = rapidjson::Pointer(pointer).Get(root);
  if (value == nullptr) return "<missing>";
  if (value->IsString()) return {value->GetString(), value->GetStringLength()};
  return core::json::to_string(*value);
}

std::size_t block_count(const rapidjson::Value& root) {
  const auto* blocks = rapidjson::Pointer("/blocks").Get(root);
  return blocks != nullptr && blocks->IsArray() ? blocks->Size() : 0;
}

// Strict UTF-8 check: a cut inside a sequence leaves a stray lead or continuation byte.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    if (lead < 0x80)
      len = 1;
    else if (lead >= 0xC2 && lead <= 0xDF)
      len = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
      len = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
      len = 4;
    else
      return false;
    if (i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

std::string repeat(std::string_view piece, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

Message message_of(std::vector<Block> blocks, Visibility visibility = Visibility::ephemeral) {
  Message m;
  m.text = "fallback";
  m.blocks = std::move(blocks);
  m.visibility = visibility;
  return m;
}

Modal sample_modal() {
  Modal modal;
  modal.callback_id = "cb";
  modal.title = "Confirm Teardown";
  modal.submit = "Confirm Teardown";
  modal.close = "Cancel";
  modal.private_metadata = R"({"env":"dev"})";
  modal.blocks = {Section{"Warning", {"line one", "line two"}}};
  modal.input = TextInput{"block", "action", "Type `dev` to confirm", "dev"};
  return modal;
}

// ---- JSON shape ----

TEST(BlockkitJson, MessageEnvelope) {
  const auto doc = parse(to_json(message_of({Divider{}}, Visibility::in_channel)));
  EXPECT_EQ(at(doc, "/response_type"), "in_channel");
  EXPECT_EQ(at(doc, "/text"), "fallback");
  EXPECT_EQ(block_count(doc), 1u);
  EXPECT_EQ(doc.MemberCount(), 3u);

  const auto ephemeral = parse(to_json(message_of({Divider{}})));
  EXPECT_EQ(at(ephemeral, "/response_type"), "ephemeral");
}

TEST(BlockkitJson, Header) {
  const auto doc = parse(to_json(message_of({Header{":x: STOP - DEV"}})));
  EXPECT_EQ(
      core::json::to_string(*rapidjson::Pointer("/blocks/0").Get(doc)),
      R"({"type":"header","text":{"type":"plain_text","text":":x: STOP - DEV","emoji":true}})");
}

TEST(BlockkitJson, Divider) {
  const auto doc = parse(to_json(message_of({Divider{}})));
  EXPECT_EQ(core::json::to_string(*rapidjson::Pointer("/blocks/0").Get(doc)),
            R"({"type":"divider"})");
}

TEST(BlockkitJson, SectionWithTitle) {
  const auto doc = parse(to_json(message_of({Section{"ECS Services:", {"api", "worker"}}})));
  EXPECT_EQ(core::json::to_string(*rapidjson::Pointer("/blocks/0").Get(doc)),
            R"({"type":"section","text":{"type":"mrkdwn","text":"*ECS Services:*\napi\nworker"}})");
}

TEST(BlockkitJson, SectionWithoutTitle) {
  const auto doc = parse(to_json(message_of({Section{"", {"only", "lines"}}})));
  EXPECT_EQ(at(doc, "/blocks/0/text/text"), "only\nlines");
}

TEST(BlockkitJson, Context) {
  const auto doc = parse(to_json(message_of({Context{"Type `/infra help`."}})));
  EXPECT_EQ(core::json::to_string(*rapidjson::Pointer("/blocks/0").Get(doc)),
            R"({"type":"context","elements":[{"type":"mrkdwn","text":"Type `/infra help`."}]})");
}

TEST(BlockkitJson, ActionsWithButtons) {
  const auto doc =
      parse(to_json(message_of({Actions{{Button{"Confirm", "open", "{\"env\":\"dev\"}", true},
                                         Button{"Later", "later", "", false}}}})));
  EXPECT_EQ(
      core::json::to_string(*rapidjson::Pointer("/blocks/0").Get(doc)),
      R"({"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Confirm","emoji":true},"action_id":"open","value":"{\"env\":\"dev\"}","style":"danger"},)"
      R"({"type":"button","text":{"type":"plain_text","text":"Later","emoji":true},"action_id":"later","value":""}]})");
}

TEST(BlockkitLimits, ButtonsAreFittedAndEmptyActionsLeftOut) {
  std::vector<Button> buttons;
  for (int i = 0; i < 30; ++i) buttons.push_back(Button{repeat("é", 80), "a", repeat("v", 2100)});
  const auto fitted = fit_to_limits(message_of({Actions{buttons}, Actions{{Button{"", "x", ""}}}}));
  ASSERT_EQ(fitted.blocks.size(), 1u) << "an actions block without buttons is left out";
  const auto& kept = std::get<Actions>(fitted.blocks[0]).buttons;
  EXPECT_EQ(kept.size(), kMaxButtonsPerBlock);
  EXPECT_EQ(core::utf8_length(kept[0].text), kMaxButtonTextChars);
  EXPECT_EQ(core::utf8_length(kept[0].value), kMaxButtonValueChars);
}

TEST(BlockkitText, ButtonsAreShownInBrackets) {
  EXPECT_EQ(to_text(message_of({Section{"", {"Sure?"}},
                                Actions{{Button{"Yes", "y", ""}, Button{"No", "n", ""}}}})),
            "Sure?\n\n[ Yes ] [ No ]\n");
}

TEST(BlockkitJson, EmptyBlocksAreLeftOut) {
  // Slack rejects text objects with empty text.
  const auto doc =
      parse(to_json(message_of({Header{""}, Section{"", {}}, Section{"", {""}}, Context{""}})));
  EXPECT_EQ(block_count(doc), 0u);
}

TEST(BlockkitJson, Modal) {
  const auto doc = parse(to_json(sample_modal()));
  EXPECT_EQ(at(doc, "/type"), "modal");
  EXPECT_EQ(at(doc, "/callback_id"), "cb");
  EXPECT_EQ(at(doc, "/title/type"), "plain_text");
  EXPECT_EQ(at(doc, "/title/text"), "Confirm Teardown");
  EXPECT_EQ(at(doc, "/submit/text"), "Confirm Teardown");
  EXPECT_EQ(at(doc, "/close/text"), "Cancel");
  EXPECT_EQ(at(doc, "/private_metadata"), R"({"env":"dev"})");
  EXPECT_EQ(at(doc, "/notify_on_close"), "true");
  ASSERT_EQ(block_count(doc), 2u);
  EXPECT_EQ(at(doc, "/blocks/0/text/text"), "*Warning*\nline one\nline two");
  EXPECT_EQ(
      core::json::to_string(*rapidjson::Pointer("/blocks/1").Get(doc)),
      R"({"type":"input","block_id":"block","label":{"type":"plain_text",)"
      R"("text":"Type `dev` to confirm","emoji":true},"element":{"type":"plain_text_input",)"
      R"("action_id":"action","placeholder":{"type":"plain_text","text":"dev","emoji":true}}})");
}

// Slack refuses an empty plain_text object, so an input without a
// placeholder has no "placeholder" at all.
TEST(BlockkitJson, ModalInputWithoutPlaceholderOmitsIt) {
  auto modal = sample_modal();
  modal.input.placeholder.clear();
  const auto doc = parse(to_json(modal));
  EXPECT_EQ(core::json::to_string(*rapidjson::Pointer("/blocks/1/element").Get(doc)),
            R"({"type":"plain_text_input","action_id":"action"})");
}

// ---- escaping ----

TEST(BlockkitEscape, EscapeMrkdwn) {
  EXPECT_EQ(escape_mrkdwn("a & b <!channel> <@U123> <https://x|y>"),
            "a &amp; b &lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt;");
  EXPECT_EQ(escape_mrkdwn("`code` *bold* é"), "`code` *bold* é");
}

TEST(BlockkitEscape, UserTextNeverBecomesAMentionOrLink) {
  const std::string hostile = "<!channel> & <@U123> <https://evil.example|click>";
  Message m = message_of({Section{hostile, {hostile}}, Context{hostile}});
  m.text = hostile;
  const std::string json = to_json(m);
  EXPECT_THAT(json, Not(HasSubstr("<!channel>")));
  EXPECT_THAT(json, Not(HasSubstr("<@U123>")));
  EXPECT_THAT(json, Not(HasSubstr("<https://")));
  const auto doc = parse(json);
  const std::string escaped =
      "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil.example|click&gt;";
  EXPECT_EQ(at(doc, "/text"), escaped);
  EXPECT_EQ(at(doc, "/blocks/0/text/text"), "*" + escaped + "*\n" + escaped);
  EXPECT_EQ(at(doc, "/blocks/1/elements/0/text"), escaped);
  // The console shows the text as typed.
  EXPECT_THAT(to_text(m), HasSubstr(hostile));
}

TEST(BlockkitEscape, PlainTextIsNotEscaped) {
  // plain_text is never parsed for mentions; escaping it would show "&amp;".
  const auto doc = parse(to_json(message_of({Header{"A & B"}})));
  EXPECT_EQ(at(doc, "/blocks/0/text/text"), "A & B");
}

// ---- limits ----

TEST(BlockkitLimits, SmallMessageIsUnchanged) {
  const Message m = message_of({Header{"h"}, Divider{}, Section{"t", {"a", "b"}}, Context{"c"}});
  const Message fitted = fit_to_limits(m);
  EXPECT_EQ(fitted.blocks, m.blocks);
  EXPECT_EQ(fitted.text, m.text);
}

TEST(BlockkitLimits, LongSectionIsSplitWithTitleOnFirst) {
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) lines.push_back(fmt::format("{:03} ", i) + repeat("x", 46));
  const Message fitted = fit_to_limits(message_of({Section{"Entries:", lines}}));
  ASSERT_EQ(fitted.blocks.size(), 2u);
  const auto& first = std::get<Section>(fitted.blocks[0]);
  const auto& second = std::get<Section>(fitted.blocks[1]);
  EXPECT_EQ(first.title, "Entries:");
  EXPECT_EQ(second.title, "");
  // "*Entries:*" is 10, each line 50 + newline: 10 + 58 * 51 = 2968 fits, a 59th does not.
  EXPECT_EQ(first.lines.size(), 58u);
  EXPECT_EQ(second.lines.size(), 42u);
  std::vector<std::string> rejoined = first.lines;
  rejoined.insert(rejoined.end(), second.lines.begin(), second.lines.end());
  EXPECT_EQ(rejoined, lines);

  const auto doc = parse(to_json(message_of({Section{"Entries:", lines}})));
  ASSERT_EQ(block_count(doc), 2u);
  for (const char* p : {"/blocks/0/text/text", "/blocks/1/text/text"}) {
    EXPECT_LE(core::utf8_length(at(doc, p)), kMaxSectionChars);
  }
  EXPECT_EQ(at(doc, "/blocks/1/text/text").substr(0, 4), "058 ");
}

TEST(BlockkitLimits, SplitCountsEscapedCharacters) {
  // 1000 ampersands are 5000 characters once escaped.
  const std::vector<std::string> lines(10, repeat("&", 100));  // 500 escaped each
  const Message fitted = fit_to_limits(message_of({Section{"", lines}}));
  ASSERT_EQ(fitted.blocks.size(), 2u);
  EXPECT_EQ(std::get<Section>(fitted.blocks[0]).lines.size(), 5u);  // 5 * 500 + 4 newlines
  const auto doc = parse(to_json(message_of({Section{"", lines}})));
  EXPECT_LE(core::utf8_length(at(doc, "/blocks/0/text/text")), kMaxSectionChars);
}

TEST(BlockkitLimits, OverlongLineIsCutWithEllipsis) {
  const std::string line = repeat("y", 5000);
  const Message fitted = fit_to_limits(message_of({Section{"", {"short", line, "after"}}}));
  ASSERT_EQ(fitted.blocks.size(), 3u);
  const auto& cut = std::get<Section>(fitted.blocks[1]);
  ASSERT_EQ(cut.lines.size(), 1u);
  EXPECT_EQ(core::utf8_length(cut.lines[0]), kMaxSectionChars);
  EXPECT_EQ(cut.lines[0], repeat("y", kMaxSectionChars - 1) + "…");
  EXPECT_EQ(std::get<Section>(fitted.blocks[0]).lines, std::vector<std::string>{"short"});
  EXPECT_EQ(std::get<Section>(fitted.blocks[2]).lines, std::vector<std::string>{"after"});
}

TEST(BlockkitLimits, CutNeverSplitsAnEntity) {
  // 2998 letters then "&&&": only "…" fits after the letters, never half of "&amp;".
  const std::string line = repeat("a", 2998) + "&&&&";
  const auto doc = parse(to_json(message_of({Section{"", {line}}})));
  const std::string text = at(doc, "/blocks/0/text/text");
  EXPECT_EQ(text, repeat("a", 2998) + "…");
  EXPECT_LE(core::utf8_length(text), kMaxSectionChars);
}

TEST(BlockkitLimits, BlockCapSummarisesTheRest) {
  std::vector<Block> blocks;
  for (int i = 0; i < 60; ++i) {
    blocks.emplace_back(Section{"", {fmt::format("a{}", i), fmt::format("b{}", i)}});
  }
  const Message fitted = fit_to_limits(message_of(blocks));
  ASSERT_EQ(fitted.blocks.size(), kMaxBlocksPerMessage);
  EXPECT_EQ(std::get<Section>(fitted.blocks[48]).lines[0], "a48");
  // Sections 49..59 are left out: 11 sections of 2 lines.
  EXPECT_EQ(std::get<Context>(fitted.blocks[49]).text, "… and 22 more");

  const auto doc = parse(to_json(message_of(blocks)));
  EXPECT_EQ(block_count(doc), kMaxBlocksPerMessage);
  EXPECT_EQ(at(doc, "/blocks/49/elements/0/text"), "… and 22 more");
  EXPECT_THAT(to_text(message_of(blocks)), HasSubstr("a48\nb48\n\n… and 22 more\n"));
}

TEST(BlockkitLimits, BlockCapCountsLinesOfSplitSections) {
  // One huge section: 200 lines of 100 characters split into 7 sections
  // (29 lines each, the last with 26); plus 45 dividers first → 52 blocks.
  std::vector<Block> blocks(45, Divider{});
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) lines.push_back(fmt::format("{:03}", i) + repeat("z", 97));
  blocks.emplace_back(Section{"", lines});
  const Message fitted = fit_to_limits(message_of(blocks));
  ASSERT_EQ(fitted.blocks.size(), kMaxBlocksPerMessage);
  // Kept: 45 dividers + 4 sections of 29 lines = 116 lines; 84 left out.
  EXPECT_EQ(std::get<Context>(fitted.blocks[49]).text, "… and 84 more");
  EXPECT_EQ(std::get<Section>(fitted.blocks[48]).lines.back().substr(0, 3), "115");
}

TEST(BlockkitLimits, ExactlyFiftyBlocksAreKept) {
  const std::vector<Block> blocks(kMaxBlocksPerMessage, Section{"", {"x"}});
  const Message fitted = fit_to_limits(message_of(blocks));
  EXPECT_EQ(fitted.blocks, blocks);
}

TEST(BlockkitLimits, HeaderIsTruncated) {
  const Message fitted = fit_to_limits(message_of({Header{repeat("h", 200)}}));
  const auto& header = std::get<Header>(fitted.blocks[0]);
  EXPECT_EQ(core::utf8_length(header.text), kMaxHeaderChars);
  EXPECT_EQ(header.text, repeat("h", kMaxHeaderChars - 1) + "…");
  const auto exact = fit_to_limits(message_of({Header{repeat("h", kMaxHeaderChars)}}));
  EXPECT_EQ(std::get<Header>(exact.blocks[0]).text, repeat("h", kMaxHeaderChars));
}

TEST(BlockkitLimits, CutsAreUtf8Safe) {
  // Two-, three- and four-byte characters straddling every limit.
  for (std::string_view ch : {"é", "─", "😀"}) {
    const Message fitted = fit_to_limits(message_of({
        Header{repeat(ch, 151)},
        Section{"", {repeat(ch, 3001)}},
        Section{"", {"a" + repeat(ch, 3000)}},
        Context{repeat(ch, 3001)},
    }));
    ASSERT_EQ(fitted.blocks.size(), 4u) << ch;
    const auto& header = std::get<Header>(fitted.blocks[0]).text;
    EXPECT_TRUE(valid_utf8(header)) << ch;
    EXPECT_EQ(header, repeat(ch, 149) + "…");
    for (std::size_t i : {1u, 2u}) {
      const auto& line = std::get<Section>(fitted.blocks[i]).lines[0];
      EXPECT_TRUE(valid_utf8(line)) << ch;
      EXPECT_EQ(core::utf8_length(line), kMaxSectionChars) << ch;
      EXPECT_TRUE(line.ends_with("…")) << ch;
    }
    const auto& context = std::get<Context>(fitted.blocks[3]).text;
    EXPECT_TRUE(valid_utf8(context)) << ch;
    EXPECT_EQ(core::utf8_length(context), kMaxSectionChars) << ch;

    const std::string json = to_json(message_of({Section{"", {repeat(ch, 4000)}}}));
    EXPECT_TRUE(valid_utf8(json)) << ch;
    EXPECT_TRUE(valid_utf8(to_text(message_of({Section{"", {repeat(ch, 4000)}}})))) << ch;
  }
}

TEST(BlockkitLimits, ModalFieldsAreFitted) {
  Modal modal = sample_modal();
  modal.title = repeat("T", 30);
  modal.submit = repeat("é", 30);
  modal.close = repeat("😀", 25);
  modal.private_metadata = repeat("─", 3500);
  const auto doc = parse(to_json(modal));
  EXPECT_EQ(at(doc, "/title/text"), repeat("T", 23) + "…");
  EXPECT_EQ(at(doc, "/submit/text"), repeat("é", 23) + "…");
  EXPECT_EQ(at(doc, "/close/text"), repeat("😀", 23) + "…");
  const std::string metadata = at(doc, "/private_metadata");
  EXPECT_TRUE(valid_utf8(metadata));
  EXPECT_EQ(core::utf8_length(metadata), kMaxPrivateMetadataChars);

  // Exactly at the limits nothing changes.
  modal.title = repeat("T", kMaxModalTitleChars);
  modal.private_metadata = repeat("m", kMaxPrivateMetadataChars);
  const auto exact = parse(to_json(modal));
  EXPECT_EQ(at(exact, "/title/text"), modal.title);
  EXPECT_EQ(at(exact, "/private_metadata"), modal.private_metadata);
}

TEST(BlockkitLimits, ModalBlocksLeaveRoomForTheInput) {
  Modal modal = sample_modal();
  modal.blocks.assign(120, Section{"", {"x"}});
  const auto doc = parse(to_json(modal));
  ASSERT_EQ(block_count(doc), kMaxBlocksPerModal);
  EXPECT_EQ(at(doc, "/blocks/98/elements/0/text"), "… and 22 more");
  EXPECT_EQ(at(doc, "/blocks/99/type"), "input");
}

// ---- text ----

TEST(BlockkitText, Layout) {
  const Message m = message_of({
      Header{"Infrastructure Status: DEV"},
      Divider{},
      Section{"ECS Services:", {"api", "worker"}},
      Section{"RDS Instances:", {"db"}},
      Section{"", {"untitled"}},
      Context{"small print"},
  });
  EXPECT_EQ(to_text(m),
            "Infrastructure Status: DEV\n"
            "─────────────────────────\n"
            "ECS Services:\n"
            "api\n"
            "worker\n"
            "\n"
            "RDS Instances:\n"
            "db\n"
            "\n"
            "untitled\n"
            "\n"
            "small print\n");
}

TEST(BlockkitText, NoBlankLineAfterHeaderOrDivider) {
  EXPECT_EQ(to_text(message_of({Header{"H"}, Section{"", {"a"}}})), "H\na\n");
  EXPECT_EQ(to_text(message_of({Divider{}, Context{"c"}})), "─────────────────────────\nc\n");
  EXPECT_EQ(to_text(message_of({Section{"", {"a"}}, Divider{}, Section{"", {"b"}}})),
            "a\n─────────────────────────\nb\n");
}

TEST(BlockkitText, RuleIsTwentyFiveBoxDrawingCharacters) {
  const std::string text = to_text(message_of({Divider{}}));
  EXPECT_EQ(text, repeat("\u2500", 25) + "\n");
}

TEST(BlockkitText, SplitSectionsMatchTheJson) {
  std::vector<std::string> lines(80, repeat("w", 60));
  const Message m = message_of({Section{"Title", lines}});
  const std::string text = to_text(m);
  // Two sections → one blank line between them; the title once.
  EXPECT_EQ(text.find("Title\n"), 0u);
  EXPECT_EQ(text.find("\n\n"), text.rfind("\n\n"));
  EXPECT_NE(text.find("\n\n"), std::string::npos);
  EXPECT_EQ(block_count(parse(to_json(m))), 2u);
}

TEST(BlockkitText, EmptyMessageShowsTheFallback) {
  Message m;
  m.text = "nothing to show";
  EXPECT_EQ(to_text(m), "nothing to show\n");
}

TEST(BlockkitText, Modal) {
  EXPECT_EQ(to_text(sample_modal()),
            "Confirm Teardown\n"
            "─────────────────────────\n"
            "Warning\n"
            "line one\n"
            "line two\n"
            "\n"
            "Type `dev` to confirm:\n"
            "[Confirm Teardown] [Cancel]\n");
}

}  // namespace
