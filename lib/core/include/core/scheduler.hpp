#pragma once

// One way to run work later (design §9: time and scheduling live in core).
// The service runs one Scheduler on its single Asio io_context (the Socket
// Mode transport); tests use ManualScheduler, which runs nothing until told
// and moves time without sleeping. Header kept C++17 (the websocketpp
// translation unit implements Scheduler).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace core {

/// A task scheduled with Scheduler::after().
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  /// The task will not run if it has not started yet. Any thread; idempotent.
  virtual void cancel() = 0;
};
using Timer = std::shared_ptr<TimerHandle>;

/// Runs tasks one at a time on the scheduler's thread, in order: posted tasks
/// first-in first-out, timed tasks when due (ties in the order scheduled).
/// post() and after() may be called from any thread, never run the task
/// inline, and a task may schedule more.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void post(std::function<void()> task) = 0;
  virtual Timer after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  /// Monotonic now, from the scheduler's time source.
  virtual MonoTime now() const = 0;
  /// True when called from one of this scheduler's own tasks: the caller may
  /// then do at once what it would otherwise post (no hop, no allocation).
  /// A scheduler that cannot tell says false, and callers post.
  virtual bool in_scheduler_thread() const { return false; }
};

/// A Clock that moves only when told to (wall and monotonic together).
class ManualClock final : public Clock {
 public:
  /// Starts at 2026-01-01T00:00:00Z (wall) and an arbitrary steady epoch.
  ManualClock();
  explicit ManualClock(TimePoint wall_start);
  TimePoint now() const override;
  MonoTime monotonic() const override;
  void advance(std::chrono::nanoseconds by);

 private:
  mutable std::mutex mutex_;
  TimePoint wall_;
  MonoTime mono_;
};

/// A Scheduler for tests: nothing runs until run_ready() or advance(), on the
/// calling thread, so a test decides exactly when each step happens.
class ManualScheduler final : public Scheduler {
 public:
  ManualScheduler() = default;
  explicit ManualScheduler(TimePoint wall_start) : clock_(wall_start) {}

  void post(std::function<void()> task) override;
  Timer after(std::chrono::milliseconds delay, std::function<void()> task) override;
  MonoTime now() const override { return clock_.monotonic(); }
  /// True inside a task that run_ready()/advance() is running (on that thread).
  bool in_scheduler_thread() const override;

  /// Runs posted and due tasks (and what they post) until none is left;
  /// returns how many ran.
  std::size_t run_ready();
  /// Moves time forward by `by`, running each timer at its due time (time
  /// stops there while it runs) and everything posted meanwhile; returns how
  /// many tasks ran.
  std::size_t advance(std::chrono::milliseconds by);
  /// Tasks waiting (posted, or timers not cancelled).
  std::size_t pending() const;
  /// The due time of the next timer, if any (monotonic).
  std::optional<MonoTime> next_due() const;

  /// The clock the scheduler moves: pass it where a Clock& is wanted.
  ManualClock& clock() { return clock_; }
  const ManualClock& clock() const { return clock_; }

 private:
  struct Entry;
  bool run_one_ready();
  void drop_cancelled(std::vector<std::shared_ptr<Entry>>& dropped);

  ManualClock clock_;
  mutable std::mutex mutex_;
  std::uint64_t sequence_ = 0;
  std::multimap<std::pair<MonoTime, std::uint64_t>, std::shared_ptr<Entry>> timers_;
  std::multimap<std::uint64_t, std::function<void()>> posted_;
  std::size_t swept_size_ = 0;  ///< timers left by the last sweep of cancelled ones
};

/// A Scheduler with its own thread (for the console and tools that run no
/// socket). Pending tasks are dropped at destruction.
class ThreadScheduler final : public Scheduler {
 public:
  explicit ThreadScheduler(const Clock& clock);
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  void post(std::function<void()> task) override;
  Timer after(std::chrono::milliseconds delay, std::function<void()> task) override;
  MonoTime now() const override { return clock_.monotonic(); }
  /// Stops the thread (running task finishes, pending ones are dropped) and
  /// joins it. Idempotent; not from the scheduler's thread.
  void stop();

 private:
  struct Entry;
  void loop();

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t sequence_ = 0;
  std::multimap<std::pair<MonoTime, std::uint64_t>, std::shared_ptr<Entry>> tasks_;
  std::thread thread_;
};

}  // namespace core
