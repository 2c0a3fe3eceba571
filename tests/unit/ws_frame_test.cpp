// The client text frame the Socket Mode client builds itself (ws_frame.hpp),
// checked against RFC 6455's own example and a byte-at-a-time reference, and
// core::utf8_valid against utf8_decode.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/strings.hpp"
#include "ws_frame.hpp"

namespace {

using slack::detail::append_masked_text_frame;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// The frame as RFC 6455 §5.2 describes it, one byte at a time.
std::string reference_frame(const std::string& payload, std::array<unsigned char, 4> key) {
  std::string out(1, static_cast<char>(0x81));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0xFE));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0xFF));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  for (const auto k : key) out.push_back(static_cast<char>(k));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]));
  }
  return out;
}

TEST(WsFrame, MatchesTheMaskedHelloOfRfc6455) {
  // RFC 6455 §5.7: "A single-frame masked text message".
  std::string out;
  append_masked_text_frame("Hello", {0x37, 0xfa, 0x21, 0x3d}, out);
  EXPECT_EQ(out, bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(WsFrame, EveryLengthFormAndTailMatchTheReference) {
  std::mt19937 rng(7);
  for (const std::size_t n : std::vector<std::size_t>{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 124, 125,
                                                      126, 127, 345, 65535, 65536, 70001}) {
    std::string payload(n, '\0');
    for (auto& c : payload) c = static_cast<char>(rng() & 0xFF);
    const std::array<unsigned char, 4> key{0x01, 0x80, 0xFE, 0x5A};
    std::string out;
    append_masked_text_frame(payload, key, out);
    ASSERT_EQ(out, reference_frame(payload, key)) << "payload of " << n << " bytes";
  }
}

TEST(WsFrame, HeaderFormsAtTheBoundaries) {
  const std::array<unsigned char, 4> key{0, 0, 0, 0};
  std::string out;
  append_masked_text_frame(std::string(125, 'a'), key, out);
  EXPECT_EQ(out.substr(0, 2), bytes({0x81, 0x80 | 125}));
  EXPECT_EQ(out.size(), 2u + 4 + 125);
  out.clear();
  append_masked_text_frame(std::string(126, 'a'), key, out);
  EXPECT_EQ(out.substr(0, 4), bytes({0x81, 0xFE, 0x00, 0x7E}));
  out.clear();
  append_masked_text_frame(std::string(65536, 'a'), key, out);
  EXPECT_EQ(out.substr(0, 10), bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(out.size(), 10u + 4 + 65536);
}

TEST(WsFrame, AppendsAfterWhatIsThere) {
  std::string out = "kept";
  append_masked_text_frame("ab", {1, 2, 3, 4}, out);
  EXPECT_EQ(out, "kept" + bytes({0x81, 0x82, 1, 2, 3, 4, 'a' ^ 1, 'b' ^ 2}));
}

TEST(WsFrame, MaskingKeysAreFreshForEachFrame) {
  slack::detail::MaskingKeys keys;
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {  // 15 refills of the pool of 64
    const auto key = keys.next();
    seen.insert(static_cast<std::uint32_t>(key[0]) << 24 |
                static_cast<std::uint32_t>(key[1]) << 16 | static_cast<std::uint32_t>(key[2]) << 8 |
                key[3]);
  }
  // Random 32-bit keys: two of 1,000 alike with probability ~1e-4.
  EXPECT_GE(seen.size(), 998u);
}

TEST(Utf8Valid, Table) {
  EXPECT_TRUE(core::utf8_valid(""));
  EXPECT_TRUE(core::utf8_valid("{\"envelope_id\":\"5a0e4c1d\",\"payload\":{}}"));
  EXPECT_TRUE(core::utf8_valid("abcdefg\xC3\xA9"));                 // é after 7 ASCII bytes
  EXPECT_TRUE(core::utf8_valid("abcdef\xF0\x9F\x9A\xABxyz12345"));  // 🚫 across the 8-byte word
  EXPECT_FALSE(core::utf8_valid("abcdefgh\x80"));                   // a lone continuation byte
  EXPECT_FALSE(core::utf8_valid("\xC0\x80"));                       // overlong NUL
  EXPECT_FALSE(core::utf8_valid("abc\xED\xA0\x80"));                // a surrogate
  EXPECT_FALSE(core::utf8_valid("\xF4\x90\x80\x80"));               // above U+10FFFF
  EXPECT_FALSE(core::utf8_valid("abcdefgh\xE2\x82"));               // cut at the end
}

TEST(Utf8Valid, AgreesWithUtf8DecodeOnRandomBytes) {
  std::mt19937 rng(11);
  const std::string pieces[] = {"a",    "ok ",  "\xC3\xA9",     "\xE2\x82\xAC", "\xF0\x9F\x9A\xAB",
                                "\x80", "\xC3", "\xED\xA0\x80", "\xFF",         "12345678"};
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const int count = static_cast<int>(rng() % 12);
    for (int i = 0; i < count; ++i) text += pieces[rng() % std::size(pieces)];
    bool expected = true;
    for (std::size_t i = 0; i < text.size();) {
      char32_t ignored = 0;
      const auto length = core::utf8_decode(text, i, ignored);
      if (length == 0) {
        expected = false;
        break;
      }
      i += length;
    }
    ASSERT_EQ(core::utf8_valid(text), expected) << testing::PrintToString(text);
  }
}

}  // namespace
