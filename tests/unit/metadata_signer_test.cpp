// core::MetadataSigner: what a front end hands the chat (a button's value, a
// modal's private_metadata) comes back only as it was signed, and only for
// 15 minutes (issue 15).
#include "core/metadata_signer.hpp"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;

constexpr auto kTtl = std::chrono::seconds(15 * 60);
const std::string kPayload = R"({"env":"dev","level":"full","channel":"C0123","url":"https://x"})";

class MetadataSignerTest : public testing::Test {
 protected:
  core::ManualClock clock_;
  core::MetadataSigner signer_{"key-one", clock_, kTtl};

  std::string refusal(std::string_view text) const {
    auto opened = signer_.open(text);
    if (opened) return "(opened)";
    EXPECT_EQ(opened.error().code, core::ErrorCode::invalid_input);
    EXPECT_EQ(opened.error().user_message,
              "This confirmation is no longer valid. Run the command again.");
    return opened.error().detail;
  }
};

TEST_F(MetadataSignerTest, WhatItSignedOpensUnchanged) {
  const auto signed_text = signer_.sign(kPayload);
  EXPECT_THAT(signed_text, testing::StartsWith("v1."));
  EXPECT_THAT(signed_text, testing::EndsWith("." + kPayload));
  EXPECT_EQ(signed_text.size(), kPayload.size() + 3 + 10 + 1 + 64 + 1);
  ASSERT_LE(signed_text.size() - kPayload.size(), core::MetadataSigner::kOverhead);
  auto opened = signer_.open(signed_text);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(*opened, kPayload);
  // The empty payload is a payload too.
  auto empty = signer_.open(signer_.sign(""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
}

TEST_F(MetadataSignerTest, EveryEditIsRefused) {
  const auto good = signer_.sign(kPayload);
  // The payload: another environment.
  auto payload = good;
  payload.replace(payload.find("dev"), 3, "prd");
  EXPECT_THAT(refusal(payload), HasSubstr("signature does not match"));
  // The expiry, pushed a day later.
  const auto dot = good.find('.', 3);
  const long long expires = std::stoll(good.substr(3, dot - 3));
  auto later = good;
  later.replace(3, dot - 3, std::to_string(expires + 86400));
  EXPECT_THAT(refusal(later), HasSubstr("signature does not match"));
  // The MAC itself, one hex digit.
  auto mac = good;
  mac[dot + 1] = mac[dot + 1] == '0' ? '1' : '0';
  EXPECT_THAT(refusal(mac), HasSubstr("signature does not match"));
  // Signed by another process (another key).
  const core::MetadataSigner other("key-two", clock_, kTtl);
  EXPECT_THAT(refusal(other.sign(kPayload)), HasSubstr("signature does not match"));
}

TEST_F(MetadataSignerTest, MalformedTextIsRefusedNotRead) {
  const struct {
    std::string text;
    std::string detail;
  } cases[] = {
      {"", "not signed"},
      {kPayload, "not signed"},
      {"v2.1.abc." + kPayload, "not signed"},
      {"v1.", "malformed expiry"},
      {"v1..abc", "malformed expiry"},
      {"v1.12x4.abc", "malformed expiry"},
      {"v1.-5." + std::string(64, 'a') + ".x", "malformed expiry"},
      {"v1.123456789012345678901." + std::string(64, 'a') + ".x", "malformed expiry"},
      {"v1.1700000000." + std::string(63, 'a') + ".x", "malformed signature"},
      {"v1.1700000000." + std::string(64, 'a') + "x", "malformed signature"},
      {"v1.1700000000." + std::string(64, 'a') + ".x", "signature does not match"},
  };
  for (const auto& c : cases) EXPECT_THAT(refusal(c.text), HasSubstr(c.detail)) << c.text;
}

TEST_F(MetadataSignerTest, ItExpiresAfterItsTtl) {
  const auto signed_text = signer_.sign(kPayload);
  clock_.advance(kTtl);
  EXPECT_TRUE(signer_.open(signed_text)) << "valid for the whole ttl";
  clock_.advance(1s);
  EXPECT_THAT(refusal(signed_text), HasSubstr("expired 1 s ago"));
}

TEST_F(MetadataSignerTest, RandomKeysDiffer) {
  const auto a = core::MetadataSigner::random_key();
  const auto b = core::MetadataSigner::random_key();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
