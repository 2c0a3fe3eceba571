#include "core/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <vector>

namespace core {

namespace {

constexpr std::size_t kSweepAbove = 1024;

// 2026-01-01T00:00:00Z, as test::FakeClock starts.
constexpr auto kDefaultWallStart = std::chrono::seconds(1767225600);
// Far from zero so that a steady time point minus a day never underflows.
constexpr auto kSteadyStart = std::chrono::hours(1000);

}  // namespace

// ---- ManualClock -------------------------------------------------------

ManualClock::ManualClock() : ManualClock(TimePoint(kDefaultWallStart)) {}

ManualClock::ManualClock(TimePoint wall_start)
    : wall_(wall_start),
      mono_(MonoTime(std::chrono::duration_cast<MonoTime::duration>(kSteadyStart))) {}

TimePoint ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

MonoTime ManualClock::monotonic() const {
  std::lock_guard lock(mutex_);
  return mono_;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  if (by.count() <= 0) return;
  std::lock_guard lock(mutex_);
  wall_ += std::chrono::duration_cast<TimePoint::duration>(by);
  mono_ += std::chrono::duration_cast<MonoTime::duration>(by);
}

// ---- ManualScheduler ---------------------------------------------------

struct ManualScheduler::Entry final : TimerHandle {
  std::function<void()> task;
  std::atomic<bool> cancelled{false};
  void cancel() override { cancelled = true; }
};

void ManualScheduler::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  posted_.emplace(sequence_++, std::move(task));
}

Timer ManualScheduler::after(std::chrono::milliseconds delay, std::function<void()> task) {
  auto entry = std::make_shared<Entry>();
  entry->task = std::move(task);
  const auto due = clock_.monotonic() + std::max(delay, std::chrono::milliseconds(0));
  std::vector<std::shared_ptr<Entry>> dropped;  // destroyed after the lock (see below)
  std::lock_guard lock(mutex_);
  timers_.emplace(std::make_pair(due, sequence_++), entry);
  // A scheduler that is rarely advanced (a fuzz target) keeps no pile of
  // cancelled timers: past a size, every cancelled one goes.
  if (timers_.size() > kSweepAbove && timers_.size() > 2 * swept_size_) {
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second->cancelled) {
        dropped.push_back(std::move(it->second));
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
    swept_size_ = timers_.size();
  }
  return entry;
}

// Moves cancelled timers at the front into `dropped` (destroyed by the caller
// once unlocked: a task's captures may post() when they go).
void ManualScheduler::drop_cancelled(std::vector<std::shared_ptr<Entry>>& dropped) {
  while (!timers_.empty() && timers_.begin()->second->cancelled) {
    dropped.push_back(std::move(timers_.begin()->second));
    timers_.erase(timers_.begin());
  }
}

// Whether this thread is inside a task a ManualScheduler runs (one flag for
// every ManualScheduler of the thread: tests run one at a time per thread).
namespace {
thread_local bool running_manual_task = false;
}  // namespace

// One posted task, or else one due timer; false when neither is waiting.
bool ManualScheduler::run_one_ready() {
  std::function<void()> task;
  std::vector<std::shared_ptr<Entry>> dropped;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.monotonic();
    drop_cancelled(dropped);
    const bool timer_due = !timers_.empty() && timers_.begin()->first.first <= now;
    // The earlier scheduled of the first posted task and the first due timer.
    if (!posted_.empty() &&
        (!timer_due || posted_.begin()->first < timers_.begin()->first.second)) {
      task = std::move(posted_.begin()->second);
      posted_.erase(posted_.begin());
    } else if (timer_due) {
      auto entry = timers_.begin()->second;
      timers_.erase(timers_.begin());
      task = std::move(entry->task);
    } else {
      return false;
    }
  }
  // Marked for in_scheduler_thread(), so that code under test takes the same
  // direct paths it takes on the io thread (restored: tasks may nest).
  const bool outer = running_manual_task;
  running_manual_task = true;
  struct Restore {
    bool value;
    ~Restore() { running_manual_task = value; }
  } restore{outer};
  task();
  return true;
}

bool ManualScheduler::in_scheduler_thread() const { return running_manual_task; }

std::size_t ManualScheduler::run_ready() {
  std::size_t ran = 0;
  while (run_one_ready()) ++ran;
  return ran;
}

std::size_t ManualScheduler::advance(std::chrono::milliseconds by) {
  std::size_t ran = run_ready();
  const auto until = clock_.monotonic() + std::max(by, std::chrono::milliseconds(0));
  for (;;) {
    std::optional<MonoTime> due;
    std::vector<std::shared_ptr<Entry>> dropped;
    {
      std::lock_guard lock(mutex_);
      drop_cancelled(dropped);
      if (!timers_.empty() && timers_.begin()->first.first <= until) {
        due = timers_.begin()->first.first;
      }
    }
    if (!due) break;
    const auto now = clock_.monotonic();
    if (*due > now) clock_.advance(*due - now);
    ran += run_ready();
  }
  const auto now = clock_.monotonic();
  if (until > now) clock_.advance(until - now);
  return ran + run_ready();
}

std::size_t ManualScheduler::pending() const {
  std::lock_guard lock(mutex_);
  std::size_t live = posted_.size();
  for (const auto& [key, entry] : timers_) live += entry->cancelled ? 0 : 1;
  return live;
}

std::optional<MonoTime> ManualScheduler::next_due() const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, entry] : timers_) {
    if (!entry->cancelled) return key.first;
  }
  return std::nullopt;
}

// ---- ThreadScheduler ---------------------------------------------------

struct ThreadScheduler::Entry final : TimerHandle {
  std::function<void()> task;
  std::atomic<bool> cancelled{false};
  void cancel() override { cancelled = true; }
};

ThreadScheduler::ThreadScheduler(const Clock& clock) : clock_(clock) {
  thread_ = std::thread([this] { loop(); });
}

ThreadScheduler::~ThreadScheduler() { stop(); }

void ThreadScheduler::post(std::function<void()> task) {
  after(std::chrono::milliseconds(0), std::move(task));
}

Timer ThreadScheduler::after(std::chrono::milliseconds delay, std::function<void()> task) {
  auto entry = std::make_shared<Entry>();
  entry->task = std::move(task);
  const auto due = clock_.monotonic() + std::max(delay, std::chrono::milliseconds(0));
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return entry;
    tasks_.emplace(std::make_pair(due, sequence_++), entry);
  }
  wake_.notify_one();
  return entry;
}

void ThreadScheduler::stop() {
  decltype(tasks_) dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  // Destroyed unlocked: a task's captures may post() when they go.
  dropped.clear();
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ThreadScheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto due = tasks_.begin()->first.first;
    const auto now = clock_.monotonic();
    if (now < due) {
      // Real time: the wait is on the steady clock the Clock reports.
      wake_.wait_for(lock, due - now);
      continue;
    }
    auto entry = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    // Run (unless cancelled) and destroy the task unlocked: it, or what it
    // captured, may post() or after() again.
    lock.unlock();
    {
      const bool cancelled = entry->cancelled;
      auto task = std::move(entry->task);
      entry.reset();
      if (!cancelled) task();
    }
    lock.lock();
  }
}

}  // namespace core
