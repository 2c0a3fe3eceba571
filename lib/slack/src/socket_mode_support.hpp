#pragma once

// Small pieces the Socket Mode parts share (private to lib/slack): the
// counters behind SocketModeStats and the lifeline that keeps scheduled work
// from running after the client is gone.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "slack/socket_mode_client.hpp"

namespace slack::detail {

/// Counters written on the scheduler thread and read by stats() on any:
/// atomics for what moves per envelope (no lock on the ack path), a mutex only
/// for the rare keyed counts (unknown envelope types, reconnect reasons).
class StatsCounters {
 public:
  void count_envelope(const std::string& type);
  void count_reconnect(const std::string& reason);
  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  SocketModeStats snapshot() const;

  std::atomic<std::uint64_t> acks_sent{0};
  std::atomic<std::uint64_t> acks_refused{0};
  std::atomic<std::uint64_t> duplicates_dropped{0};
  std::atomic<std::uint64_t> malformed_frames{0};
  std::atomic<int> ready_connections{0};

 private:
  std::atomic<std::uint64_t> events_api_{0};
  std::atomic<std::uint64_t> slash_commands_{0};
  std::atomic<std::uint64_t> interactive_{0};
  mutable std::mutex rare_mutex_;
  std::map<std::string, std::uint64_t> other_types_;
  std::map<std::string, std::uint64_t> reconnects_;
};

/// Work scheduled by the client (tasks, timers, connection and opener
/// callbacks) holds a Lifeline and does nothing once the client is gone.
using Lifeline = std::weak_ptr<void>;

/// `fn` wrapped so that it runs only while `life` does. (The client is
/// destroyed on the scheduler's thread or once it no longer runs, so a task
/// never races the destructor.)
template <class F>
auto guarded(const Lifeline& life, F fn) {
  return [life, fn = std::move(fn)](auto&&... args) mutable {
    if (auto alive = life.lock()) fn(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace slack::detail
