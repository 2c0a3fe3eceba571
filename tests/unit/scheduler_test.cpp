// core::Scheduler (lib/core/include/core/scheduler.hpp): ManualScheduler's order (posts first in
// first out, timers by due time then by the order scheduled, a posted task and a due timer by
// the order scheduled), cancel, tasks that schedule more, advance() stopping time at each due
// time, pending()/next_due(); ManualClock's wall and monotonic time moving together; and
// ThreadScheduler running a post and a timer on its own thread, with cancel (real waits kept
// short, each bounded by a deadline).

#include "core/scheduler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// What ran, in order.
struct Trace {
  std::vector<std::string> ran;
  std::function<void()> add(std::string name) {
    return [this, name = std::move(name)] { ran.push_back(name); };
  }
};

// ---------------------------------------------------------------- ManualClock

TEST(ManualClock, StartsAtTheDefaultWallTimeAndMovesBothClocksTogether) {
  core::ManualClock clock;
  EXPECT_EQ(core::format_rfc3339(clock.now()), "2026-01-01T00:00:00Z");
  const auto wall = clock.now();
  const auto mono = clock.monotonic();
  EXPECT_EQ(clock.now(), wall) << "nothing moves by itself";
  EXPECT_EQ(clock.monotonic(), mono);

  clock.advance(1500ms);
  EXPECT_EQ(clock.now() - wall, 1500ms);
  EXPECT_EQ(clock.monotonic() - mono, 1500ms);
  clock.advance(std::chrono::hours(24));
  EXPECT_EQ(core::format_rfc3339(clock.now()), "2026-01-02T00:00:01Z");
  EXPECT_EQ(clock.monotonic() - mono, std::chrono::hours(24) + 1500ms);
}

TEST(ManualClock, NeverMovesBackwards) {
  core::ManualClock clock;
  const auto wall = clock.now();
  const auto mono = clock.monotonic();
  clock.advance(-5s);
  clock.advance(0ns);
  EXPECT_EQ(clock.now(), wall);
  EXPECT_EQ(clock.monotonic(), mono);
}

TEST(ManualClock, StartsWhereToldAndIsFarFromTheSteadyEpoch) {
  const auto start = *core::parse_rfc3339("2026-11-25T10:00:00Z");
  core::ManualClock clock(start);
  EXPECT_EQ(clock.now(), start);
  // A monotonic time minus a day stays after the epoch (deadlines computed backwards).
  EXPECT_GT(clock.monotonic() - std::chrono::hours(24), core::MonoTime());
  core::ManualScheduler scheduler(start);
  EXPECT_EQ(scheduler.clock().now(), start);
  EXPECT_EQ(scheduler.now(), scheduler.clock().monotonic());
}

// ---------------------------------------------------------------- ManualScheduler: order

TEST(ManualScheduler, NothingRunsUntilToldAndPostsRunFirstInFirstOut) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.post(trace.add("a"));
  scheduler.post(trace.add("b"));
  scheduler.post(trace.add("c"));
  EXPECT_THAT(trace.ran, IsEmpty()) << "post() never runs the task inline";
  EXPECT_EQ(scheduler.pending(), 3u);
  EXPECT_EQ(scheduler.run_ready(), 3u);
  EXPECT_THAT(trace.ran, ElementsAre("a", "b", "c"));
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_EQ(scheduler.run_ready(), 0u);
}

TEST(ManualScheduler, TimersRunByDueTimeThenInTheOrderScheduled) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.after(300ms, trace.add("300"));
  scheduler.after(100ms, trace.add("100-first"));
  scheduler.after(200ms, trace.add("200"));
  scheduler.after(100ms, trace.add("100-second"));
  EXPECT_EQ(scheduler.run_ready(), 0u) << "none is due yet";
  EXPECT_EQ(scheduler.advance(1s), 4u);
  EXPECT_THAT(trace.ran, ElementsAre("100-first", "100-second", "200", "300"));
}

TEST(ManualScheduler, APostAndADueTimerRunInTheOrderScheduled) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.post(trace.add("post-1"));
  scheduler.after(0ms, trace.add("timer-0ms"));
  scheduler.post(trace.add("post-2"));
  scheduler.after(-5ms, trace.add("timer-negative"));  // a negative delay is no delay
  EXPECT_EQ(scheduler.run_ready(), 4u);
  EXPECT_THAT(trace.ran, ElementsAre("post-1", "timer-0ms", "post-2", "timer-negative"));
}

TEST(ManualScheduler, ATimerDueLaterDoesNotHoldBackPosts) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.after(10ms, trace.add("timer"));
  scheduler.post(trace.add("post"));
  EXPECT_EQ(scheduler.run_ready(), 1u);
  EXPECT_THAT(trace.ran, ElementsAre("post"));
  scheduler.advance(10ms);
  EXPECT_THAT(trace.ran, ElementsAre("post", "timer"));
}

// ---------------------------------------------------------------- cancel

TEST(ManualScheduler, ACancelledTimerDoesNotRunAndIsNotPending) {
  core::ManualScheduler scheduler;
  Trace trace;
  auto first = scheduler.after(100ms, trace.add("first"));
  auto second = scheduler.after(200ms, trace.add("second"));
  auto third = scheduler.after(300ms, trace.add("third"));
  EXPECT_EQ(scheduler.pending(), 3u);
  second->cancel();
  second->cancel();  // idempotent
  EXPECT_EQ(scheduler.pending(), 2u);
  first->cancel();
  EXPECT_EQ(scheduler.next_due(), scheduler.now() + 300ms) << "cancelled timers have no due time";
  EXPECT_EQ(scheduler.advance(1s), 1u);
  EXPECT_THAT(trace.ran, ElementsAre("third"));
  third->cancel();  // after it ran: nothing happens
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_EQ(scheduler.next_due(), std::nullopt);
}

TEST(ManualScheduler, ATaskCanCancelATimerDueAtTheSameTime) {
  core::ManualScheduler scheduler;
  Trace trace;
  core::Timer later;
  scheduler.after(50ms, [&] {
    trace.ran.push_back("canceller");
    later->cancel();
  });
  later = scheduler.after(50ms, trace.add("cancelled"));
  scheduler.advance(50ms);
  EXPECT_THAT(trace.ran, ElementsAre("canceller"));
}

TEST(ManualScheduler, ACancelledTaskWhoseHandleIsDroppedMayPostWhenDestroyed) {
  // The task is destroyed outside the scheduler's lock: its captures may post().
  core::ManualScheduler scheduler;
  Trace trace;
  struct PostsOnDestruction {
    PostsOnDestruction(core::ManualScheduler& s, Trace& t) : scheduler(s), trace(t) {}
    ~PostsOnDestruction() { scheduler.post(trace.add("posted by a destructor")); }
    core::ManualScheduler& scheduler;
    Trace& trace;
  };
  auto guard = std::make_shared<PostsOnDestruction>(scheduler, trace);
  scheduler.after(10ms, [guard] {})->cancel();  // the handle is dropped at once
  guard.reset();
  EXPECT_EQ(scheduler.advance(20ms), 1u);
  EXPECT_THAT(trace.ran, ElementsAre("posted by a destructor"));
}

// ---------------------------------------------------------------- tasks that schedule more

TEST(ManualScheduler, TasksThatPostMoreRunInTheSameRunReady) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.post([&] {
    trace.ran.push_back("outer");
    scheduler.post(trace.add("inner-post"));
    scheduler.after(0ms, trace.add("inner-timer-0"));
    scheduler.after(1ms, trace.add("inner-timer-1ms"));
  });
  scheduler.post(trace.add("second"));
  EXPECT_EQ(scheduler.run_ready(), 4u);
  EXPECT_THAT(trace.ran, ElementsAre("outer", "second", "inner-post", "inner-timer-0"));
  EXPECT_EQ(scheduler.pending(), 1u);
  EXPECT_EQ(scheduler.advance(1ms), 1u);
  EXPECT_EQ(trace.ran.back(), "inner-timer-1ms");
}

TEST(ManualScheduler, ARepeatingTimerRunsOncePerPeriodWithinAnAdvance) {
  core::ManualScheduler scheduler;
  std::vector<milliseconds> at;
  const auto start = scheduler.now();
  std::function<void()> tick = [&] {
    at.push_back(std::chrono::duration_cast<milliseconds>(scheduler.now() - start));
    scheduler.after(100ms, tick);
  };
  scheduler.after(100ms, tick);
  EXPECT_EQ(scheduler.advance(350ms), 3u);
  EXPECT_THAT(at, ElementsAre(100ms, 200ms, 300ms));
  EXPECT_EQ(scheduler.now() - start, 350ms);
  EXPECT_EQ(scheduler.next_due(), start + 400ms);
}

// ---------------------------------------------------------------- advance

TEST(ManualScheduler, AdvanceStopsTimeAtEachDueTime) {
  core::ManualScheduler scheduler;
  const auto start = scheduler.now();
  const auto wall_start = scheduler.clock().now();
  std::vector<std::pair<milliseconds, milliseconds>> seen;  // (monotonic, wall) at each run
  auto record = [&] {
    seen.emplace_back(
        std::chrono::duration_cast<milliseconds>(scheduler.now() - start),
        std::chrono::duration_cast<milliseconds>(scheduler.clock().now() - wall_start));
  };
  scheduler.after(30ms, record);
  scheduler.after(10ms, record);
  scheduler.after(10ms, [&] {
    record();
    scheduler.post(record);  // runs at 10 ms too, before time moves on
  });
  scheduler.after(100ms, record);  // beyond this advance
  EXPECT_EQ(scheduler.advance(50ms), 4u);
  EXPECT_THAT(seen, ElementsAre(std::pair(10ms, 10ms), std::pair(10ms, 10ms), std::pair(10ms, 10ms),
                                std::pair(30ms, 30ms)));
  EXPECT_EQ(scheduler.now() - start, 50ms) << "time ends where asked";
  EXPECT_EQ(scheduler.clock().now() - wall_start, 50ms);
  EXPECT_EQ(scheduler.pending(), 1u);
  EXPECT_EQ(scheduler.next_due(), start + 100ms);

  EXPECT_EQ(scheduler.advance(50ms), 1u) << "a timer due exactly at the end runs";
  EXPECT_EQ(seen.back(), std::pair(100ms, 100ms));
}

TEST(ManualScheduler, ATimerScheduledDuringAnAdvanceRunsWithinItIfDue) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.after(10ms, [&] {
    trace.ran.push_back("10");
    scheduler.after(15ms, trace.add("25"));  // due at 25 ms, within the advance
    scheduler.after(50ms, trace.add("60"));  // beyond it
  });
  EXPECT_EQ(scheduler.advance(40ms), 2u);
  EXPECT_THAT(trace.ran, ElementsAre("10", "25"));
  EXPECT_EQ(scheduler.pending(), 1u);
}

TEST(ManualScheduler, AdvanceRunsWhatIsReadyFirstAndZeroOrNegativeDoesNotMoveTime) {
  core::ManualScheduler scheduler;
  Trace trace;
  const auto start = scheduler.now();
  scheduler.post(trace.add("ready"));
  EXPECT_EQ(scheduler.advance(0ms), 1u);
  EXPECT_EQ(scheduler.advance(-10ms), 0u);
  EXPECT_EQ(scheduler.now(), start);
  EXPECT_THAT(trace.ran, ElementsAre("ready"));
}

TEST(ManualScheduler, MovingTheClockByHandMakesTimersDueForRunReady) {
  core::ManualScheduler scheduler;
  Trace trace;
  scheduler.after(1s, trace.add("due"));
  scheduler.clock().advance(2s);
  EXPECT_EQ(scheduler.run_ready(), 1u);
  EXPECT_THAT(trace.ran, ElementsAre("due"));
}

TEST(ManualScheduler, PendingAndNextDue) {
  core::ManualScheduler scheduler;
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_EQ(scheduler.next_due(), std::nullopt);
  scheduler.post([] {});
  EXPECT_EQ(scheduler.pending(), 1u);
  EXPECT_EQ(scheduler.next_due(), std::nullopt) << "a post is not a timer";
  const auto now = scheduler.now();
  scheduler.after(500ms, [] {});
  scheduler.after(200ms, [] {});
  EXPECT_EQ(scheduler.pending(), 3u);
  EXPECT_EQ(scheduler.next_due(), now + 200ms);
  scheduler.run_ready();
  EXPECT_EQ(scheduler.pending(), 2u);
  scheduler.advance(200ms);
  EXPECT_EQ(scheduler.pending(), 1u);
  EXPECT_EQ(scheduler.next_due(), now + 500ms);
}

// ---------------------------------------------------------------- ThreadScheduler

// Waits (polling, bounded) until `done` holds.
template <class Predicate>
bool eventually(Predicate done, milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(ThreadScheduler, RunsAPostOnItsOwnThread) {
  core::SystemClock clock;
  core::ThreadScheduler scheduler(clock);
  std::atomic<bool> ran{false};
  std::thread::id ran_on;
  std::mutex mutex;
  scheduler.post([&] {
    std::lock_guard lock(mutex);
    ran_on = std::this_thread::get_id();
    ran = true;
  });
  ASSERT_TRUE(eventually([&] { return ran.load(); }));
  std::lock_guard lock(mutex);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ThreadScheduler, RunsATimerNoEarlierThanItsDelayAndInOrder) {
  core::SystemClock clock;
  core::ThreadScheduler scheduler(clock);
  std::mutex mutex;
  std::vector<std::string> ran;
  auto add = [&](std::string name) {
    return [&, name] {
      std::lock_guard lock(mutex);
      ran.push_back(name);
    };
  };
  const auto start = clock.monotonic();
  std::atomic<core::MonoTime::rep> timer_at{0};
  scheduler.after(100ms, [&] {
    timer_at = (clock.monotonic() - start).count();
    add("timer-100ms")();
  });
  scheduler.after(50ms, add("timer-50ms"));
  scheduler.post(add("post"));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return ran.size() == 3;
  }));
  std::lock_guard lock(mutex);
  EXPECT_THAT(ran, ElementsAre("post", "timer-50ms", "timer-100ms"));
  EXPECT_GE(core::MonoTime::duration(timer_at.load()), 100ms);
}

TEST(ThreadScheduler, ACancelledTimerDoesNotRun) {
  core::SystemClock clock;
  core::ThreadScheduler scheduler(clock);
  std::atomic<bool> cancelled_ran{false};
  std::atomic<bool> later_ran{false};
  auto timer = scheduler.after(20ms, [&] { cancelled_ran = true; });
  timer->cancel();
  scheduler.after(40ms, [&] { later_ran = true; });
  // Timers run in due order: once the later one ran, the cancelled one had its turn.
  ASSERT_TRUE(eventually([&] { return later_ran.load(); }));
  EXPECT_FALSE(cancelled_ran.load());
}

TEST(ThreadScheduler, ATaskMayScheduleMoreAndStopDropsWhatIsPending) {
  core::SystemClock clock;
  std::atomic<int> count{0};
  std::atomic<bool> far_ran{false};
  {
    core::ThreadScheduler scheduler(clock);
    scheduler.post([&] {
      ++count;
      scheduler.post([&] { ++count; });
    });
    ASSERT_TRUE(eventually([&] { return count.load() == 2; }));
    scheduler.after(std::chrono::hours(1), [&] { far_ran = true; });
    scheduler.stop();
    scheduler.stop();                  // idempotent
    scheduler.post([&] { ++count; });  // after stop: dropped
  }                                    // the destructor joins without waiting the hour
  EXPECT_EQ(count.load(), 2);
  EXPECT_FALSE(far_ran.load());
}

TEST(ThreadScheduler, DroppedTasksMayPostWhenDestroyed) {
  // stop() destroys the pending tasks unlocked: a capture that posts on destruction
  // does not deadlock (and what it posts is dropped).
  core::SystemClock clock;
  core::ThreadScheduler scheduler(clock);
  struct PostsOnDestruction {
    explicit PostsOnDestruction(core::ThreadScheduler& s) : scheduler(s) {}
    ~PostsOnDestruction() {
      scheduler.post([] {});
    }
    core::ThreadScheduler& scheduler;
  };
  auto guard = std::make_shared<PostsOnDestruction>(scheduler);
  scheduler.after(std::chrono::hours(1), [guard] {});
  guard.reset();
  scheduler.stop();
  SUCCEED();
}

}  // namespace
