// JSON helpers, strings and time formatting in core.
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

namespace {

using namespace std::chrono;

TEST(Json, CanonicalSortsKeysAndIndents) {
  auto text = core::json::canonicalize(R"({"b":1,"a":{"d":[1,{"z":true,"y":null}],"c":"é"}})");
  ASSERT_TRUE(text);
  EXPECT_EQ(
      *text,
      "{\n  \"a\": {\n    \"c\": \"é\",\n    \"d\": [\n      1,\n      {\n        \"y\": null,\n"
      "        \"z\": true\n      }\n    ]\n  },\n  \"b\": 1\n}\n");
}

TEST(Json, ParseErrorsAreValuesWithTheOffset) {
  auto document = core::json::parse(R"({"a": })");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().code, core::ErrorCode::invalid_input);
  EXPECT_THAT(document.error().detail, testing::HasSubstr("offset 6"));
  EXPECT_FALSE(core::json::parse("\xff\xfe"));  // invalid UTF-8
  EXPECT_FALSE(core::json::parse(""));
}

// is_valid() answers as parse() does, for every kind of input, without a document.
TEST(Json, IsValidAgreesWithParse) {
  const std::string deep_array(1000, '[');
  const std::string cases[] = {
      R"({"a":[1,2,{"b":"c"}],"d":null})",
      R"("x")",
      "12",
      "",
      "{",
      R"({"a":1,})",
      "[1 2]",
      R"({"a":"\udc00"})",
      R"({"a":"\ud800"})",
      "{\"a\":\"\xff\"}",
      std::string(60, '[') + "1" + std::string(60, ']'),
      // UTF-8 inside and outside strings: well formed, overlong, a surrogate, cut short.
      "{\"a\":\"caf\xC3\xA9 \xF0\x9F\x9A\xAB\"}",
      "{\"a\":\"\xC0\xAF\"}",
      "{\"a\":\"\xED\xA0\x80\"}",
      "{\"a\":\"\xE2\x82\"}",
      "{\"a\":1}\xC3\xA9",
      "\xEF\xBB\xBF{}",
      // Parts of a byte order mark, and NUL bytes: RapidJSON alone would skip the
      // first and stop reading at the second.
      "\xBB[]",
      "\xEF{}",
      "\xEF\xBB[]",
      "\xEF\xBF[]",
      std::string("{}\0junk", 7),
      std::string("{}\0\xFF", 4),
      std::string("{\"a\":\"\0\"}", 9),
      // Balanced, one level past the limit; and at the limit.
      std::string(65, '[') + std::string(65, ']'),
      std::string(64, '[') + std::string(64, ']'),
  };
  for (const auto& text : cases) {
    EXPECT_EQ(core::json::is_valid(text), core::json::parse(text).has_value()) << text;
  }
  EXPECT_TRUE(core::json::is_valid(R"({"a":"\udc00"})")) << "parse() repairs a lone surrogate";
  EXPECT_TRUE(core::json::is_valid("{\"a\":\"caf\xC3\xA9\"}"));
  EXPECT_FALSE(core::json::is_valid("{\"a\":\"\xC0\xAF\"}")) << "overlong";
  EXPECT_FALSE(core::json::is_valid(deep_array));
  EXPECT_FALSE(core::json::is_valid(std::string(65, '[') + std::string(65, ']')));
  EXPECT_TRUE(core::json::is_valid(std::string(64, '[') + std::string(64, ']')));
  EXPECT_FALSE(core::json::is_valid(std::string("{}\0junk", 7))) << "a NUL is not the end";
  EXPECT_FALSE(core::json::is_valid("\xBB[]")) << "part of a byte order mark";
  EXPECT_TRUE(core::json::is_valid("\xEF\xBB\xBF{}")) << "a whole one is skipped, as parse() does";
  EXPECT_FALSE(core::json::parse(deep_array).has_value());
}

TEST(Json, GettersReturnNulloptForMissingOrMistyped) {
  auto document = core::json::parse(R"({"s":"x","n":5,"b":true,"a":[],"o":{},"null":null})");
  ASSERT_TRUE(document);
  const auto& d = *document;
  EXPECT_EQ(core::json::get_string(d, "s"), "x");
  EXPECT_EQ(core::json::get_string(d, "n"), std::nullopt);
  EXPECT_EQ(core::json::get_string(d, "missing"), std::nullopt);
  EXPECT_EQ(core::json::get_int(d, "n"), 5);
  EXPECT_EQ(core::json::get_int(d, "s"), std::nullopt);
  EXPECT_EQ(core::json::get_bool(d, "b"), true);
  EXPECT_EQ(core::json::get_bool(d, "null"), std::nullopt);
  EXPECT_NE(core::json::get_array(d, "a"), nullptr);
  EXPECT_EQ(core::json::get_array(d, "o"), nullptr);
  EXPECT_NE(core::json::get_object(d, "o"), nullptr);
  // Not an object at all: still no crash.
  auto array = core::json::parse("[1]");
  ASSERT_TRUE(array);
  EXPECT_EQ(core::json::get_string(*array, "s"), std::nullopt);
}

TEST(Json, QuoteEscapes) { EXPECT_EQ(core::json::quote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")"); }

TEST(Strings, TrimSplitJoin) {
  EXPECT_EQ(core::trim("  \t a b \r\n"), "a b");
  EXPECT_EQ(core::trim("   "), "");
  EXPECT_EQ(core::split_list(" a, ,b ,, c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(core::split_list(""), std::vector<std::string>{});
  EXPECT_EQ(core::join({"dev", "staging", "prod"}), "dev, staging, prod");
  EXPECT_EQ(core::to_lower("DeV-1"), "dev-1");
}

TEST(Strings, Utf8LengthAndTruncateNeverSplitACharacter) {
  EXPECT_EQ(core::utf8_length("héllo ✅"), 7u);
  EXPECT_EQ(core::utf8_length("\xff\xfe"), 2u);  // stray bytes count one each
  EXPECT_EQ(core::utf8_truncate("héllo", 10), "héllo");
  EXPECT_EQ(core::utf8_truncate("héllo", 3), "hé…");
  EXPECT_EQ(core::utf8_truncate("✅✅✅✅", 2), "✅…");
}

TEST(Utf8, RepairReplacesEveryStrayByteAndKeepsWellFormedText) {
  EXPECT_EQ(core::utf8_repair("héllo ✅"), "héllo ✅");
  EXPECT_EQ(core::utf8_repair("sg-0f\xd2"
                              "1"),
            "sg-0f\xEF\xBF\xBD"
            "1");
  // An encoded surrogate (what &#xD800; decodes to) and an overlong '/' are not UTF-8.
  EXPECT_EQ(core::utf8_repair("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(core::utf8_repair("a\xC0\xAF"
                              "b"),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(core::utf8_repair(std::string_view("\x99", 1)), "\xEF\xBF\xBD");
  EXPECT_EQ(core::utf8_repair(""), "");
  EXPECT_EQ(core::utf8_length(core::utf8_truncate(std::string(5000, 'x'), 3000)), 3000u);
  EXPECT_EQ(core::utf8_truncate("abc", 0), "");
}

TEST(Strings, Utf8DecodeAcceptsOnlyWellFormedSequences) {
  char32_t cp = 0;
  EXPECT_EQ(core::utf8_decode("a", 0, cp), 1u);
  EXPECT_EQ(cp, U'a');
  EXPECT_EQ(core::utf8_decode("\xC3\xA9", 0, cp), 2u);
  EXPECT_EQ(cp, U'\u00E9');
  EXPECT_EQ(core::utf8_decode("\xE2\x9C\x85", 0, cp), 3u);
  EXPECT_EQ(cp, U'\u2705');
  EXPECT_EQ(core::utf8_decode("\xF0\x9F\x98\x80", 0, cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  for (const char* bad : {"\xC0\xAF",          // overlong '/'
                          "\xE0\x80\xAF",      // overlong, 3 bytes
                          "\xED\xA0\x80",      // a surrogate
                          "\xF4\x90\x80\x80",  // above U+10FFFF
                          "\xE2\x9C",          // cut short
                          "\x80", "\xFF"}) {
    EXPECT_EQ(core::utf8_decode(bad, 0, cp), 0u) << bad;
  }
  // Ill-formed sequences count one per byte.
  EXPECT_EQ(core::utf8_length("\xED\xA0\x80"), 3u);
}

TEST(Clock, FormatsAndParsesRfc3339) {
  const auto at = sys_days(year(2026) / 11 / 25) + hours(10) + minutes(5) + seconds(9);
  EXPECT_EQ(core::format_rfc3339(at), "2026-11-25T10:05:09Z");
  EXPECT_EQ(core::parse_rfc3339("2026-11-25T10:05:09Z"), at);
  EXPECT_EQ(core::parse_rfc3339("2026-11-25T10:05:09.750Z"), at);
  EXPECT_EQ(core::parse_rfc3339("2026-11-25T11:05:09+01:00"), at);
  EXPECT_EQ(core::parse_rfc3339("2026-11-25T09:35:09-00:30"), at);
  for (const char* bad :
       {"", "2026-11-25", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T10:05:09", "2026-11-25T10:05:09Zx", "2026-11-25T10:05:09.Z",
        "2026-11-25T10:05:09+0100", "+026-11-25T10:05:09Z"}) {
    EXPECT_EQ(core::parse_rfc3339(bad), std::nullopt) << bad;
  }
}

TEST(Ids, UuidsAreUniqueVersion4) {
  core::UuidSource ids;
  const auto a = ids.next();
  const auto b = ids.next();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
}

// The shape of a random version-4 UUID: 8-4-4-4-12 lower-case hex, version 4, variant 10.
bool uuid_v4_shaped(const std::string& id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '4' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

TEST(Ids, CounterUuidsAreUuidShapedAndSequentialUnderARandomPrefix) {
  core::CounterUuidSource fixed(0x0123456789abcdefULL, 41);
  EXPECT_EQ(fixed.next(), "01234567-89ab-4def-8000-000000000029");
  EXPECT_EQ(fixed.next(), "01234567-89ab-4def-8000-00000000002a");
  core::CounterUuidSource wraps(~0ULL, ~0ULL);
  EXPECT_EQ(wraps.next(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(wraps.next(), "ffffffff-ffff-4fff-8000-000000000000");

  core::CounterUuidSource a;
  core::CounterUuidSource b;
  const auto first = a.next();
  EXPECT_TRUE(uuid_v4_shaped(first)) << first;
  EXPECT_NE(first.substr(0, 18), b.next().substr(0, 18)) << "each source draws its own prefix";
  core::UuidSource random;
  EXPECT_TRUE(uuid_v4_shaped(random.next()));
}

TEST(Ids, CounterUuidsAreUniqueAcrossThreads) {
  core::CounterUuidSource ids;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(ids.next());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& list : made) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_TRUE(uuid_v4_shaped(*all.begin()));
}

}  // namespace
