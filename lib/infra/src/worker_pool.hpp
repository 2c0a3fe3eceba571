#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace infra {

/// A fixed set of threads running queued tasks in order. Tasks never throw
/// across it (one that does is caught and reported to `on_error`).
class WorkerPool {
 public:
  using Task = std::function<void()>;

  WorkerPool(std::size_t threads, std::size_t max_queued,
             std::function<void(const std::string&)> on_error);
  ~WorkerPool();  ///< close() and join
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// false when closed or when max_queued tasks already wait.
  bool submit(Task task);
  /// Queued plus running tasks.
  std::size_t pending() const;
  /// True when submit() would refuse a task now (closed, or max_queued tasks wait).
  bool full() const;
  /// Waits until nothing is queued or running, or until `deadline`.
  bool wait_idle(std::chrono::steady_clock::time_point deadline) const;
  /// Takes no more tasks; queued ones still run.
  void close();

 private:
  void work();

  std::size_t max_queued_;
  std::function<void(const std::string&)> on_error_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable idle_;
  std::deque<Task> queue_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace infra
