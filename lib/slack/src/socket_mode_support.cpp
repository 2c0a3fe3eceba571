#include "socket_mode_support.hpp"

namespace slack::detail {

void StatsCounters::count_envelope(const std::string& type) {
  if (type == "events_api") {
    bump(events_api_);
  } else if (type == "slash_commands") {
    bump(slash_commands_);
  } else if (type == "interactive") {
    bump(interactive_);
  } else {
    std::lock_guard lock(rare_mutex_);
    ++other_types_[type];
  }
}

void StatsCounters::count_reconnect(const std::string& reason) {
  std::lock_guard lock(rare_mutex_);
  ++reconnects_[reason];
}

SocketModeStats StatsCounters::snapshot() const {
  SocketModeStats stats;
  const auto put = [&](const char* type, const std::atomic<std::uint64_t>& counter) {
    if (const auto n = counter.load(std::memory_order_relaxed); n != 0) {
      stats.envelopes_by_type[type] = n;
    }
  };
  put("events_api", events_api_);
  put("slash_commands", slash_commands_);
  put("interactive", interactive_);
  stats.acks_sent = acks_sent.load(std::memory_order_relaxed);
  stats.acks_refused = acks_refused.load(std::memory_order_relaxed);
  stats.duplicates_dropped = duplicates_dropped.load(std::memory_order_relaxed);
  stats.malformed_frames = malformed_frames.load(std::memory_order_relaxed);
  stats.ready_connections = ready_connections.load(std::memory_order_relaxed);
  std::lock_guard lock(rare_mutex_);
  for (const auto& [type, n] : other_types_) stats.envelopes_by_type[type] = n;
  stats.reconnects_by_reason = reconnects_;
  return stats;
}

}  // namespace slack::detail
