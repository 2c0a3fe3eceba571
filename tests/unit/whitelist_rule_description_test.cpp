// The allow-list's rule descriptions: encode/decode round trips and EC2's alphabet.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "infra/whitelist_rule_description.hpp"

namespace {

using infra::WhitelistRuleDescription;

core::TimePoint at(std::string_view text) { return *core::parse_rfc3339(text); }

// EC2's allowed characters for a rule description.
bool ec2_valid(const std::string& text) {
  static const std::regex allowed(R"([a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*)");
  return text.size() <= 255 && std::regex_match(text, allowed);
}

TEST(WhitelistRuleDescription, EncodesTheDocumentedFormat) {
  EXPECT_EQ(infra::encode_rule_description({at("2026-12-12T10:00:00Z"), "U0123ABC", "Home office"}),
            "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office");
  // Sub-second parts are dropped; an empty note stays "note=".
  EXPECT_EQ(infra::encode_rule_description(
                {at("2026-12-12T10:00:00Z") + std::chrono::milliseconds(900), "U1", ""}),
            "infra-bot:wl until=2026-12-12T10:00:00Z by=U1 note=");
}

struct TextCase {
  std::string input;
  std::string expected;
};

class Ec2DescriptionText : public ::testing::TestWithParam<TextCase> {};

TEST_P(Ec2DescriptionText, MapsOrDrops) {
  const std::string out = infra::to_ec2_description_text(GetParam().input);
  EXPECT_EQ(out, GetParam().expected);
  EXPECT_TRUE(ec2_valid(out)) << out;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Ec2DescriptionText,
    ::testing::Values(TextCase{"Home office", "Home office"},
                      TextCase{"a._-:/()#,@[]+=&;{}!$*z", "a._-:/()#,@[]+=&;{}!$*z"},
                      TextCase{"tab\there\nnew  line", "tab here new line"},
                      TextCase{"\xE2\x80\x9C"
                               "quoted\xE2\x80\x9D and \xE2\x80\x98single\xE2\x80\x99 'x' \"y\"",
                               "quoted and single x y"},
                      TextCase{"Z\xC3\xBCrich caf\xC3\xA9 \xC3\x85se Stra\xC3\x9F"
                               "e",
                               "Zurich cafe Ase Strasse"},
                      TextCase{"em\xE2\x80\x94"
                               "dash en\xE2\x80\x93"
                               "dash wait\xE2\x80\xA6",
                               "em-dash en-dash wait..."},
                      TextCase{"50% <b>bold</b> a|b c\\d ?", "50 (b)bold(/b) a/b c/d"},
                      TextCase{"emoji \xF0\x9F\x9A\x80 rocket", "emoji rocket"},
                      TextCase{"  padded  ", "padded"}, TextCase{"bad \xFF byte", "bad byte"},
                      TextCase{"\xE6\x9D\xB1\xE4\xBA\xAC", ""}));

TEST(WhitelistRuleDescription, TruncatesTheNoteToFit255) {
  const std::string note(400, 'n');
  const std::string text =
      infra::encode_rule_description({at("2026-12-12T10:00:00Z"), "U0123ABC", note});
  EXPECT_EQ(text.size(), 255u);
  EXPECT_TRUE(ec2_valid(text));
  auto decoded = infra::decode_rule_description(text);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(
      decoded->note,
      std::string(
          255 -
              std::string_view("infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=").size(),
          'n'));
  EXPECT_EQ(decoded->until, at("2026-12-12T10:00:00Z"));
}

TEST(WhitelistRuleDescription, SanitisesNoteAndUser) {
  const std::string text =
      infra::encode_rule_description({at("2026-12-12T10:00:00Z"), "U01 23\xE2\x80\x9C",
                                      "\xE2\x80\x9CVPN\xE2\x80\x9D\tby=me note=x"});
  EXPECT_EQ(text, "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123 note=VPN by=me note=x");
  EXPECT_TRUE(ec2_valid(text));
  // Whatever the note holds, it comes back whole.
  auto decoded = infra::decode_rule_description(text);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->added_by, "U0123");
  EXPECT_EQ(decoded->note, "VPN by=me note=x");
}

struct DecodeCase {
  std::string text;
  std::optional<WhitelistRuleDescription> expected;
};

class DecodeRuleDescription : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeRuleDescription, Reads) {
  EXPECT_EQ(infra::decode_rule_description(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DecodeRuleDescription,
    ::testing::Values(
        DecodeCase{"infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office",
                   WhitelistRuleDescription{at("2026-12-12T10:00:00Z"), "U0123ABC", "Home office"}},
        DecodeCase{"infra-bot:wl until=2026-12-12T10:00:00Z by=U1 note=",
                   WhitelistRuleDescription{at("2026-12-12T10:00:00Z"), "U1", ""}},
        // Not the bot's: never listed, changed or removed.
        DecodeCase{"office VPN", std::nullopt}, DecodeCase{"", std::nullopt},
        DecodeCase{"infra-bot:wlx until=2026-12-12T10:00:00Z", std::nullopt},
        DecodeCase{"Infra-bot:wl until=2026-12-12T10:00:00Z", std::nullopt},
        // The bot's, edited by hand: no readable until (it counts as expired: RuleExpired).
        DecodeCase{"infra-bot:wl until=soon by=U1 note=x",
                   WhitelistRuleDescription{std::nullopt, "U1", "x"}},
        DecodeCase{"infra-bot:wl note=only a note",
                   WhitelistRuleDescription{std::nullopt, "", "only a note"}},
        DecodeCase{"infra-bot:wl by=U2 until=2027-01-01T00:00:00Z",
                   WhitelistRuleDescription{at("2027-01-01T00:00:00Z"), "U2", ""}}));

TEST(WhitelistRuleDescription, RuleExpiredFailsClosed) {
  const auto now = at("2026-12-12T10:00:00Z");
  EXPECT_FALSE(infra::rule_expired({now + std::chrono::seconds(1), "U1", ""}, now));
  EXPECT_TRUE(infra::rule_expired({now, "U1", ""}, now));
  EXPECT_TRUE(infra::rule_expired({now - std::chrono::hours(1), "U1", ""}, now));
  // A rule with the bot's marker whose expiry cannot be read is expired, not kept forever.
  for (const std::string_view text :
       {"infra-bot:wl until=soon by=U1 note=x", "infra-bot:wl by=U1 note=no until",
        "infra-bot:wl until=2026-13-45T99:00:00Z by=U1 note=x", "infra-bot:wl "}) {
    auto decoded = infra::decode_rule_description(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(decoded->until, std::nullopt) << text;
    EXPECT_TRUE(infra::rule_expired(*decoded, now)) << text;
  }
}

TEST(WhitelistRuleDescription, RoundTrips) {
  const WhitelistRuleDescription original{at("2030-02-28T23:59:59Z"), "W0ABC",
                                          "Kim's laptop (home)"};
  auto decoded = infra::decode_rule_description(infra::encode_rule_description(original));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->until, original.until);
  EXPECT_EQ(decoded->added_by, original.added_by);
  EXPECT_EQ(decoded->note, "Kims laptop (home)");
}

}  // namespace
