#pragma once
// A Conversation that records what the core said, in order (tests of
// infra::Lifecycle, one replica or several).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/reply.hpp"
#include "infra/conversation.hpp"

namespace test {

class RecordingConversation final : public infra::Conversation {
 public:
  struct Said {
    std::string kind;  // "progress" or "finished"
    core::reply::Message message;
  };
  /// `address`: what address() answers (another replica reopens it).
  explicit RecordingConversation(std::string address = {}) : address_(std::move(address)) {}

  void progress(const core::reply::Message& message) override { add("progress", message); }
  void finished(const core::reply::Message& message) override { add("finished", message); }
  std::string address() const override { return address_; }

  std::vector<Said> said() const {
    std::lock_guard lock(mutex_);
    return said_;
  }
  /// Whether a finished() came within `timeout` (the jobs run on worker threads).
  bool wait_finished(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] {
      for (const auto& s : said_) {
        if (s.kind == "finished") return true;
      }
      return false;
    });
  }

 private:
  void add(std::string kind, const core::reply::Message& message) {
    {
      std::lock_guard lock(mutex_);
      said_.push_back({std::move(kind), message});
    }
    changed_.notify_all();
  }
  const std::string address_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Said> said_;
};

}  // namespace test
