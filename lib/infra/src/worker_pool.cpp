#include "worker_pool.hpp"

#include <exception>
#include <utility>

namespace infra {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued,
                       std::function<void(const std::string&)> on_error)
    : max_queued_(max_queued), on_error_(std::move(on_error)) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  close();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::submit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

std::size_t WorkerPool::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + running_;
}

bool WorkerPool::full() const {
  std::lock_guard lock(mutex_);
  return closed_ || queue_.size() >= max_queued_;
}

bool WorkerPool::wait_idle(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, deadline, [this] { return queue_.empty() && running_ == 0; });
}

void WorkerPool::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  wake_.notify_all();
}

void WorkerPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return;  // closed and drained
    Task task = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    try {
      task();
    } catch (const std::exception& error) {
      if (on_error_) on_error_(error.what());
    } catch (...) {
      if (on_error_) on_error_("unknown exception");
    }
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_.notify_all();
  }
}

}  // namespace infra
