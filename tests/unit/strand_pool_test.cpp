// core::StrandPool, the outbound lanes' engine: order within a strand,
// strands side by side, nothing lost at close.
#include "core/strand_pool.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;

TEST(StrandPoolTest, TasksOfOneStrandRunInOrderOneAtATime) {
  std::mutex mutex;
  std::vector<int> seen;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  {
    core::StrandPool pool(4, 1000, {});
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(pool.post(7, [&, i] {
        if (inside.fetch_add(1) != 0) overlapped = true;
        {
          std::lock_guard lock(mutex);
          seen.push_back(i);
        }
        inside.fetch_sub(1);
      }));
    }
    ASSERT_TRUE(pool.wait_idle(5s));
  }
  EXPECT_FALSE(overlapped);
  ASSERT_EQ(seen.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

// A strand stuck in a slow send (a rate-limited post) does not hold another.
TEST(StrandPoolTest, ABlockedStrandDoesNotDelayAnother) {
  core::StrandPool pool(2, 100, {});
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  bool other_ran = false;
  ASSERT_TRUE(pool.post(1, [&] {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 5s, [&] { return release; });
  }));
  ASSERT_TRUE(pool.post(1, [] {}));
  ASSERT_TRUE(pool.post(2, [&] {
    std::lock_guard lock(mutex);
    other_ran = true;
    cv.notify_all();
  }));
  {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return other_ran; }));
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(pool.wait_idle(5s));
}

TEST(StrandPoolTest, AFullQueueRefusesAndCloseRunsWhatWasQueued) {
  std::atomic<int> ran{0};
  std::mutex mutex;
  std::condition_variable cv;
  bool go = false;
  auto pool = std::make_unique<core::StrandPool>(1, 3, nullptr);
  ASSERT_TRUE(pool->post(1, [&] {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 5s, [&] { return go; });
    ++ran;
  }));
  // The first may already be running (not queued): fill up to the cap.
  int accepted = 0;
  for (int i = 0; i < 5; ++i) accepted += pool->post(2, [&] { ++ran; }) ? 1 : 0;
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);
  EXPECT_FALSE(pool->post(3, [] {})) << "max_queued reached";
  {
    std::lock_guard lock(mutex);
    go = true;
  }
  cv.notify_all();
  pool->close();
  EXPECT_FALSE(pool->post(4, [] {})) << "closed";
  pool.reset();  // runs what was queued before it joins
  EXPECT_EQ(ran.load(), 1 + accepted);
}

TEST(StrandPoolTest, AThrowingTaskIsReportedAndTheStrandGoesOn) {
  std::vector<std::string> errors;
  std::mutex mutex;
  std::atomic<bool> next_ran{false};
  core::StrandPool pool(1, 10, [&](const std::string& what) {
    std::lock_guard lock(mutex);
    errors.push_back(what);
  });
  ASSERT_TRUE(pool.post(1, [] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool.post(1, [&] { next_ran = true; }));
  ASSERT_TRUE(pool.wait_idle(5s));
  EXPECT_TRUE(next_ran);
  std::lock_guard lock(mutex);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "boom");
}

}  // namespace
