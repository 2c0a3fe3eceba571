// core::json::precheck against the byte-by-byte implementation it replaced (kept
// here verbatim as the reference): the same too_deep and lone_surrogates for
// every input, the fixtures, adversarial cases and random text.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace {

core::json::Precheck reference_precheck(std::string_view text, int max_depth) {
  core::json::Precheck out;
  int depth = 0;
  bool in_string = false;
  auto hex4 = [&](std::size_t at) -> long {
    if (at + 4 > text.size()) return -1;
    long value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const char c = text[i];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    return value;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > max_depth) {
          out.too_deep = true;
          return out;
        }
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
      }
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == 'u') {
        const long unit = hex4(i + 2);
        const bool high = unit >= 0xD800 && unit <= 0xDBFF;
        const bool low = unit >= 0xDC00 && unit <= 0xDFFF;
        if (high && i + 7 < text.size() && text[i + 6] == '\\' && text[i + 7] == 'u' &&
            hex4(i + 8) >= 0xDC00 && hex4(i + 8) <= 0xDFFF) {
          i += 11;  // a pair: both escapes
          continue;
        }
        if (high || low) out.lone_surrogates.push_back(i + 2);
        i += 5;
      } else {
        ++i;
      }
    }
  }
  return out;
}

// Counts the inputs where something was found, so the generators are known to reach
// both outcomes (a differential test that only ever sees clean text proves little).
struct Seen {
  int too_deep = 0;
  int surrogates = 0;
};

void expect_same(std::string_view text, int max_depth, Seen* seen = nullptr) {
  const auto want = reference_precheck(text, max_depth);
  const auto got = core::json::precheck(text, max_depth);
  ASSERT_EQ(got.too_deep, want.too_deep) << "max_depth " << max_depth << ", text: " << text;
  ASSERT_EQ(got.lone_surrogates, want.lone_surrogates)
      << "max_depth " << max_depth << ", text: " << text;
  if (seen != nullptr) {
    seen->too_deep += want.too_deep ? 1 : 0;
    seen->surrogates += want.lone_surrogates.empty() ? 0 : 1;
  }
}

void expect_same_all_depths(std::string_view text, Seen* seen = nullptr) {
  for (const int depth : {0, 1, 2, 3, 5, core::json::kMaxDepth}) {
    expect_same(text, depth, seen);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> fixture_texts() {
  std::vector<std::string> texts;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(FIXTURES_DIR)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      texts.push_back(read(entry.path()));
    }
  }
  return texts;
}

TEST(JsonPrecheck, KnownAnswers) {
  const auto plain = core::json::precheck(R"({"a":["x\"]",{"b":"\\"}]})");
  EXPECT_FALSE(plain.too_deep);
  EXPECT_TRUE(plain.lone_surrogates.empty());

  // A lone low half, a lone high half before a non-surrogate escape, and a pair.
  const std::string text = R"({"a":"\udc00","b":"\ud800\u0041","c":"\ud83d\ude00"})";
  const auto checked = core::json::precheck(text);
  EXPECT_FALSE(checked.too_deep);
  EXPECT_EQ(checked.lone_surrogates, (std::vector<std::size_t>{8, 21}));
  EXPECT_EQ(text.substr(8, 4), "dc00");
  EXPECT_EQ(text.substr(21, 4), "d800");

  // Nesting at the limit passes, one more level is refused; brackets in strings do not count.
  const std::string at_limit = std::string(64, '[') + std::string(64, ']');
  EXPECT_FALSE(core::json::precheck(at_limit, 64).too_deep);
  EXPECT_TRUE(core::json::precheck("[" + at_limit + "]", 64).too_deep);
  EXPECT_FALSE(core::json::precheck(R"(["[[[[", "{{{{"])", 1).too_deep);
  // What was found before the refusal is kept.
  const auto deep = core::json::precheck(R"(["\udc00",[[)", 2);
  EXPECT_TRUE(deep.too_deep);
  EXPECT_EQ(deep.lone_surrogates, (std::vector<std::size_t>{4}));
}

TEST(JsonPrecheck, SameAsReferenceOnFixtures) {
  const auto texts = fixture_texts();
  ASSERT_GT(texts.size(), 20u);
  for (const auto& text : texts) {
    expect_same_all_depths(text);
    if (HasFatalFailure()) return;
    // Every prefix of the frames (up to 3 KB): strings, escapes and surrogate pairs cut at
    // each byte.
    for (std::size_t n = 0; n < text.size() && text.size() <= 3000; ++n) {
      expect_same(std::string_view(text).substr(0, n), core::json::kMaxDepth);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(JsonPrecheck, SameAsReferenceOnFuzzCorpus) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(SOURCE_DIR) /
                                                               "tests/fuzz/corpus/fuzz_envelope")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    expect_same_all_depths(read(entry.path()));
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(files, 10);
}

TEST(JsonPrecheck, SameAsReferenceOnAdversarialInputs) {
  Seen seen;
  const std::vector<std::string> pieces = {R"(\ud83d\ude00)",
                                           R"(\ud83d)",
                                           R"(\ude00)",
                                           R"(\udbff\udfff)",
                                           R"(\ud800\ud800)",
                                           R"(\ud800\u0041)",
                                           R"(\uDC00)",
                                           R"(\uD83D\uDE00)",
                                           R"(\u12)",
                                           R"(\u)",
                                           R"(\uzzzz)",
                                           R"(\\\")",
                                           R"(\\)",
                                           R"(\")",
                                           R"(\\u00dc00)",
                                           R"(\\\ud800)",
                                           "\xC3\xA9",
                                           "\xE2\x94\x80",
                                           "\xF0\x9F\x98\x80",
                                           "\xFF",
                                           "\xC3",
                                           "\xED\xA0\x80",
                                           std::string(1, '\0'),
                                           "[",
                                           "]",
                                           "{",
                                           "}",
                                           "\"",
                                           "\\",
                                           "a",
                                           " "};
  // Every piece inside a string, at each cut of the text, after a run of plain bytes of each
  // length modulo the eight-byte word.
  for (const auto& piece : pieces) {
    for (int pad = 0; pad < 17; ++pad) {
      const std::string text = R"({"k":")" + std::string(static_cast<std::size_t>(pad), 'x') +
                               piece + piece + R"(","z":[1]})";
      for (std::size_t n = 0; n <= text.size(); ++n) {
        expect_same_all_depths(std::string_view(text).substr(0, n), &seen);
        if (HasFatalFailure()) return;
      }
    }
  }
  // Nesting at and around the limit, with strings holding brackets in between.
  for (int levels = 60; levels <= 68; ++levels) {
    std::string text;
    for (int i = 0; i < levels; ++i)
      text += i % 3 == 0 ? R"({"a[":)" : i % 3 == 1 ? "[" : R"(["]",)";
    text += R"("\udc00")";
    for (int i = levels - 1; i >= 0; --i) text += i % 3 == 0 ? "}" : "]";
    expect_same_all_depths(text, &seen);
    if (HasFatalFailure()) return;
  }
  // Closers with nothing open, then openers.
  expect_same_all_depths("]]]}}}[[[{{{", &seen);
  EXPECT_GT(seen.too_deep, 0);
  EXPECT_GT(seen.surrogates, 0);
}

TEST(JsonPrecheck, SameAsReferenceOnRandomText) {
  // JSON-ish bytes, weighted towards what the two passes branch on.
  const std::vector<std::string> tokens = {"\"",    "\"",    "\"",
                                           "\\",    "\\",    "\\u",
                                           "\\u",   "\\ud8", "\\udc",
                                           "\\udb", "\\udf", "\\uD8",
                                           "\\uDC", "00",    "3d",
                                           "ff",    "FF",    "de",
                                           "zz",    "[",     "]",
                                           "{",     "}",     ":",
                                           ",",     " ",     "a",
                                           "0",     "x",     "\xC3\xA9",
                                           "\xFF",  "\x80",  std::string(1, '\0'),
                                           "\\\"",  "\\\\",  "abcdefghij"};
  std::mt19937 random(20240611);
  Seen seen;
  for (int round = 0; round < 200000; ++round) {
    std::string text;
    const auto count = random() % 40;
    for (std::uint32_t i = 0; i < count; ++i) text += tokens[random() % tokens.size()];
    const int depth = static_cast<int>(random() % 6);
    expect_same(text, depth, &seen);
    if (HasFatalFailure()) return;
  }
  // Fixtures with random bytes spliced in.
  const auto texts = fixture_texts();
  for (int round = 0; round < 20000; ++round) {
    std::string text = texts[random() % texts.size()];
    for (int edits = 0; edits < 3; ++edits) {
      const auto at = random() % (text.size() + 1);
      text.insert(at, tokens[random() % tokens.size()]);
    }
    expect_same(text, round % 2 == 0 ? core::json::kMaxDepth : 3, &seen);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(seen.too_deep, 1000);
  EXPECT_GT(seen.surrogates, 1000);
}

}  // namespace
