// The Socket Mode client's dedupe window and its key set (white-box: the
// private headers of lib/slack/src), checked against std::unordered_set.

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "deduper.hpp"

namespace {

using namespace std::chrono_literals;
using slack::detail::Deduper;
using slack::detail::KeySet;

TEST(KeySet, InsertContainsErase) {
  KeySet set;
  EXPECT_FALSE(set.contains(42));
  EXPECT_FALSE(set.erase(42));
  EXPECT_TRUE(set.insert(42));
  EXPECT_FALSE(set.insert(42));
  EXPECT_TRUE(set.contains(42));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(set.erase(42));
  EXPECT_FALSE(set.contains(42));
  EXPECT_EQ(set.size(), 0u);
}

// Keys that share a home slot form one run; erasing from its middle must
// keep every later key findable (the backward shift), including a run that
// wraps past the array's end.
TEST(KeySet, EraseInsideCollidingRunsKeepsTheOthers) {
  KeySet set;
  ASSERT_TRUE(set.insert(1));
  const auto slots = set.capacity();
  // Many keys, so that runs collide and wrap in a 1,024-slot table.
  std::vector<std::uint64_t> keys;
  for (std::uint64_t k = 2; keys.size() < slots / 2 - 2; ++k) keys.push_back(k * 7919);
  for (auto k : keys) ASSERT_TRUE(set.insert(k));
  EXPECT_EQ(set.capacity(), slots) << "still at most half full";
  for (std::size_t i = 0; i < keys.size(); i += 3) ASSERT_TRUE(set.erase(keys[i]));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(set.contains(keys[i]), i % 3 != 0) << keys[i];
  }
  EXPECT_TRUE(set.contains(1));
}

// Random inserts and erases, many growths, against std::unordered_set.
TEST(KeySet, AgreesWithUnorderedSetUnderRandomChurn) {
  std::mt19937_64 random(20261206);
  KeySet set;
  std::unordered_set<std::uint64_t> reference;
  std::vector<std::uint64_t> live;
  for (int step = 0; step < 200000; ++step) {
    const bool add = live.empty() || random() % 3 != 0;
    if (add) {
      // A small key space makes repeats (insert of a present key) common.
      const std::uint64_t key = 1 + random() % 50000;
      EXPECT_EQ(set.insert(key), reference.insert(key).second);
      if (reference.size() > live.size()) live.push_back(key);
    } else {
      const std::size_t at = random() % live.size();
      const auto key = live[at];
      live[at] = live.back();
      live.pop_back();
      ASSERT_TRUE(set.erase(key));
      reference.erase(key);
    }
    ASSERT_EQ(set.size(), reference.size());
  }
  for (std::uint64_t key = 1; key <= 50000; ++key) {
    ASSERT_EQ(set.contains(key), reference.count(key) == 1) << key;
  }
  EXPECT_LE(set.size() * 2, set.capacity());
}

core::MonoTime at(std::chrono::milliseconds offset) { return core::MonoTime{} + offset; }

TEST(Deduper, SameIdThenSameNaturalKeyThenFirst) {
  Deduper deduper(10min);
  EXPECT_EQ(deduper.check("env-1", "trigger-1", at(0ms)), Deduper::Seen::first);
  EXPECT_EQ(deduper.check("env-1", "trigger-1", at(1ms)), Deduper::Seen::same_id);
  EXPECT_EQ(deduper.check("env-2", "trigger-1", at(2ms)), Deduper::Seen::same_natural_key);
  EXPECT_EQ(deduper.check("env-3", "trigger-3", at(3ms)), Deduper::Seen::first);
  EXPECT_EQ(deduper.check("env-4", "", at(4ms)), Deduper::Seen::first);
  EXPECT_EQ(deduper.check("env-4", "", at(5ms)), Deduper::Seen::same_id);
  // An envelope id is never taken for a natural key (they are salted apart).
  EXPECT_EQ(deduper.check("trigger-9", "env-9", at(6ms)), Deduper::Seen::first);
  EXPECT_EQ(deduper.check("env-9", "", at(7ms)), Deduper::Seen::first);
}

TEST(Deduper, ForgetsAfterTheWindowAndBeyondTheCap) {
  Deduper deduper(1s, /*cap=*/4);
  EXPECT_EQ(deduper.check("a", "", at(0ms)), Deduper::Seen::first);
  EXPECT_EQ(deduper.check("a", "", at(1000ms)), Deduper::Seen::same_id);  // not after yet
  EXPECT_EQ(deduper.check("a", "", at(1001ms)), Deduper::Seen::first);    // forgotten
  for (const char* id : {"b", "c", "d", "e"}) {
    EXPECT_EQ(deduper.check(id, "", at(1002ms)), Deduper::Seen::first);
  }
  EXPECT_LE(deduper.size(), 4u);
  EXPECT_EQ(deduper.check("a", "", at(1003ms)), Deduper::Seen::first) << "the oldest went first";
  EXPECT_EQ(deduper.check("e", "", at(1003ms)), Deduper::Seen::same_id);
}

}  // namespace
