#pragma once

// An outbound lane: a few threads that send, with no lock of the caller held.
// Tasks posted on one strand (one conversation, one user lookup) run one at a
// time in the order posted; different strands run side by side, so one slow
// or rate-limited send delays only its own strand.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace core {

class StrandPool {
 public:
  using Task = std::function<void()>;
  /// `on_error` hears of a task that threw (never propagated).
  StrandPool(std::size_t threads, std::size_t max_queued,
             std::function<void(const std::string&)> on_error);
  ~StrandPool();  ///< close(), run what is queued, join
  StrandPool(const StrandPool&) = delete;
  StrandPool& operator=(const StrandPool&) = delete;

  /// Queues `task` on `strand`; false when closed or max_queued tasks wait.
  bool post(std::uint64_t strand, Task task);
  /// Waits up to `timeout` until nothing is queued or running.
  bool wait_idle(std::chrono::milliseconds timeout) const;
  /// Takes no more tasks; queued ones still run.
  void close();
  /// Queued plus running tasks.
  std::size_t pending() const;
  /// True when post() would refuse a task now (closed, or max_queued wait).
  bool full() const;

 private:
  void work();

  std::size_t max_queued_;
  std::function<void(const std::string&)> on_error_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable idle_;
  std::unordered_map<std::uint64_t, std::deque<Task>> strands_;  ///< strands with work
  std::deque<std::uint64_t> ready_;  ///< strands with a task and none running
  std::size_t queued_ = 0;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace core
