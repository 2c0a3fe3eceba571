#pragma once

// Liveness of the Socket Mode links (notes §6.4): a ping every ping_interval
// (only when nothing of ours is queued, so an ack never waits behind one); a
// link without a pong for pong_timeout, or without any frame for
// idle_timeout, is dead and dropped; a link that opened but sent no hello
// within hello_timeout is dropped too ("no_hello"). Scheduler thread only.

#include <cstdint>

#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "link_pool.hpp"
#include "socket_mode_support.hpp"

namespace slack::detail {

class KeepAlive {
 public:
  KeepAlive(const SocketModeSettings& settings, core::Scheduler& scheduler, LinkPool& pool,
            const core::LoggerPtr& logger, Lifeline life);

  /// Starts the periodic tick.
  void start();
  /// Stops it (links' own timers are the pool's to cancel).
  void stop();
  /// A link opened: it has hello_timeout to say hello.
  void on_open(Link& link);

 private:
  void schedule();
  void tick();

  const SocketModeSettings& settings_;
  core::Scheduler& scheduler_;
  LinkPool& pool_;
  core::LoggerPtr logger_;
  Lifeline life_;
  core::Timer timer_;
  std::uint64_t ping_counter_ = 0;
  bool stopped_ = false;
};

}  // namespace slack::detail
