#include "core/strand_pool.hpp"

#include <exception>

namespace core {

StrandPool::StrandPool(std::size_t threads, std::size_t max_queued,
                       std::function<void(const std::string&)> on_error)
    : max_queued_(max_queued), on_error_(std::move(on_error)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

StrandPool::~StrandPool() {
  close();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

bool StrandPool::post(std::uint64_t strand, Task task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || queued_ >= max_queued_) return false;
    auto [it, fresh] = strands_.try_emplace(strand);
    it->second.push_back(std::move(task));
    ++queued_;
    // A strand is in ready_ or running while it has an entry that was there
    // before; only a new entry makes it ready.
    if (fresh) ready_.push_back(strand);
  }
  wake_.notify_one();
  return true;
}

bool StrandPool::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queued_ == 0 && running_ == 0; });
}

void StrandPool::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  wake_.notify_all();
}

bool StrandPool::full() const {
  std::lock_guard lock(mutex_);
  return closed_ || queued_ >= max_queued_;
}

std::size_t StrandPool::pending() const {
  std::lock_guard lock(mutex_);
  return queued_ + running_;
}

void StrandPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return !ready_.empty() || (closed_ && queued_ == 0); });
    if (ready_.empty()) return;  // closed and drained
    const auto strand = ready_.front();
    ready_.pop_front();
    auto& queue = strands_[strand];
    Task task = std::move(queue.front());
    queue.pop_front();
    --queued_;
    ++running_;
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      if (on_error_) on_error_(e.what());
    } catch (...) {
      if (on_error_) on_error_("unknown exception");
    }
    lock.lock();
    --running_;
    auto it = strands_.find(strand);
    if (it != strands_.end()) {
      if (it->second.empty()) {
        strands_.erase(it);
      } else {
        ready_.push_back(strand);
        wake_.notify_one();
      }
    }
    if (queued_ == 0 && running_ == 0) idle_.notify_all();
    if (closed_ && queued_ == 0) wake_.notify_all();
  }
}

}  // namespace core
